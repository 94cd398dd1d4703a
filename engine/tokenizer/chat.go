package tokenizer

import (
	"fmt"
	"strings"
)

// Chat roles understood by EncodeChat.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
	// RoleDeveloper is rendered like a user turn; in thinking mode a developer
	// message before the last user turn is dropped, as DeepSeek's encoder does.
	RoleDeveloper = "developer"
	// RoleLatestReminder renders as "<｜latest_reminder｜>{content}".
	RoleLatestReminder = "latest_reminder"
)

// LatestReminderToken introduces a latest_reminder message (design §4.1).
const LatestReminderToken = "<｜latest_reminder｜>"

// Message is one chat turn.
type Message struct {
	Role    string
	Content string
	// Reasoning is an assistant turn's reasoning (reasoning_content). It is
	// rendered only in thinking mode, and only for assistant turns after the
	// last user turn unless ChatOptions.KeepReasoning is set.
	Reasoning string
}

// ChatOptions selects the variant of the DeepSeek-V4 chat format.
type ChatOptions struct {
	// Thinking selects thinking mode: the reply to the last user turn opens
	// with "<think>". Otherwise (chat mode) every reply opens with "</think>",
	// an empty reasoning.
	Thinking bool
	// AddGenerationPrompt appends "<｜Assistant｜>" and "</think>" (chat) or
	// "<think>" (thinking) when the conversation ends with a user turn, so the
	// model's reply comes next. DeepSeek's encoding_dsv4 always does this; set
	// it false only to get the bare conversation (e.g. to read activations at
	// the end of the user text).
	AddGenerationPrompt bool
	// NoBOS leaves out the leading "<｜begin▁of▁sentence｜>" (for a
	// continuation of an already encoded conversation).
	NoBOS bool
	// KeepReasoning keeps the reasoning of earlier assistant turns in thinking
	// mode (encoding_dsv4's drop_thinking=False): every user turn is then
	// followed by "<think>".
	KeepReasoning bool
	// Continue leaves the EOS off a final assistant turn, so generation
	// continues its content (a prefilled answer such as "(A").
	Continue bool
}

// EncodeChat renders messages in the DeepSeek-V4 chat format (design §4.2,
// DeepSeek's encoding/encoding_dsv4.py without tools): BOS, system text with
// no role token, "<｜User｜>{content}", and after a user turn that is followed
// by the assistant (or ends the prompt, see AddGenerationPrompt)
// "<｜Assistant｜>" plus "</think>" in chat mode or "<think>" in thinking mode.
// An assistant turn is "[reasoning</think>]{content}<｜end▁of▁sentence｜>".
// In thinking mode only the turns after the last user message keep their
// reasoning; earlier user turns are followed by "</think>".
//
// The result is text; Tokenizer.Encode turns it into ids (the role tokens are
// added tokens and come out as single ids). EncodeChat panics on a role it
// does not know, which is a programming error.
func EncodeChat(msgs []Message, opt ChatOptions) string {
	drop := opt.Thinking && !opt.KeepReasoning
	lastUser := -1
	for i, m := range msgs {
		if m.Role == RoleUser || m.Role == RoleDeveloper {
			lastUser = i
		}
	}
	if drop {
		// As encoding_dsv4's _drop_thinking_messages: before the last user
		// turn, developer messages disappear and assistant turns lose their
		// reasoning (the latter is implied by the rendering rule below).
		kept := make([]Message, 0, len(msgs))
		newLast := -1
		for i, m := range msgs {
			if i < lastUser && m.Role == RoleDeveloper {
				continue
			}
			if i == lastUser {
				newLast = len(kept)
			}
			kept = append(kept, m)
		}
		msgs, lastUser = kept, newLast
	}

	var sb strings.Builder
	if !opt.NoBOS {
		sb.WriteString(BOSToken)
	}
	for i, m := range msgs {
		switch m.Role {
		case RoleSystem:
			sb.WriteString(m.Content)
		case RoleUser, RoleDeveloper:
			sb.WriteString(UserToken)
			sb.WriteString(m.Content)
		case RoleLatestReminder:
			sb.WriteString(LatestReminderToken)
			sb.WriteString(m.Content)
		case RoleAssistant:
			if opt.Thinking && (!drop || i > lastUser) {
				sb.WriteString(m.Reasoning)
				sb.WriteString(ThinkEnd)
			}
			sb.WriteString(m.Content)
			if !(opt.Continue && i == len(msgs)-1) {
				sb.WriteString(EOSToken)
			}
		default:
			panic(fmt.Sprintf("tokenizer: EncodeChat: message %d has unknown role %q", i, m.Role))
		}
		// The assistant header follows a user turn when the assistant (or a
		// reminder) comes next, or at the end when a reply is wanted.
		if m.Role != RoleUser && m.Role != RoleDeveloper {
			continue
		}
		if i+1 < len(msgs) {
			if r := msgs[i+1].Role; r != RoleAssistant && r != RoleLatestReminder {
				continue
			}
		} else if !opt.AddGenerationPrompt {
			continue
		}
		sb.WriteString(AssistantToken)
		if opt.Thinking && (!drop || i >= lastUser) {
			sb.WriteString(ThinkStart)
		} else {
			sb.WriteString(ThinkEnd)
		}
	}
	return sb.String()
}

// EncodeChat renders msgs with the package-level EncodeChat and encodes the
// result, so role tokens become their single ids.
func (t *Tokenizer) EncodeChat(msgs []Message, opt ChatOptions) []int {
	return t.Encode(EncodeChat(msgs, opt))
}
