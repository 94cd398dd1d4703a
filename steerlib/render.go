package steerlib

import (
	"fmt"
	"strings"

	"github.com/steerbook/steerbook/engine/tokenizer"
)

// ChatTemplate renders a system prompt and one user turn into the text that
// precedes the assistant's reply (the generation prompt).
type ChatTemplate func(system, user string, thinking bool) string

// DSV4Chat renders one (optional system and) user turn with the engine's
// DeepSeek-V4 chat encoding (tokenizer.EncodeChat, design §4.2) and the
// generation prompt: BOS, the system text with no role token, <｜User｜>, the
// user text, <｜Assistant｜>, then </think> in chat mode or <think> in
// thinking mode.
func DSV4Chat(system, user string, thinking bool) string {
	var msgs []tokenizer.Message
	if system != "" {
		msgs = append(msgs, tokenizer.Message{Role: tokenizer.RoleSystem, Content: system})
	}
	msgs = append(msgs, tokenizer.Message{Role: tokenizer.RoleUser, Content: user})
	return tokenizer.EncodeChat(msgs, tokenizer.ChatOptions{Thinking: thinking, AddGenerationPrompt: true})
}

// Format says how an Example becomes model input.
//
// With Chat, System and Prompt are rendered by Template (DSV4Chat when nil)
// and Completion follows as the start of the assistant's reply. Without Chat,
// the text is System, Prompt and Completion concatenated (a space between
// non-empty parts where neither side has whitespace), preceded by the BOS
// token text "<｜begin▁of▁sentence｜>" when AddBOS is set (the tokenizer
// matches it as the special token, so the rendered text can also be given
// to engine.Model.Generate). The zero Format is plain text without BOS,
// which is what engine.Model.EncodePrompt does for plain prompts
// (DeepSeek's add_bos_token is false).
type Format struct {
	Chat     bool
	Thinking bool
	AddBOS   bool
	Template ChatTemplate
}

// PlainFormat is plain text as the engine encodes plain prompts (no BOS).
var PlainFormat = Format{}

// ReviewFormat is plain text after BOS: how the default model's reviews are
// trained ("<｜begin▁of▁sentence｜>review<｜end▁of▁sentence｜>").
var ReviewFormat = Format{AddBOS: true}

// ChatFormat is the DeepSeek-V4 chat encoding in chat (non-thinking) mode.
var ChatFormat = Format{Chat: true}

// Rendered is an example as text, with the byte offsets extraction needs.
type Rendered struct {
	Text      string
	RespStart int // byte offset where the completion starts (= len(Text) when empty)
	MarkAt    int // byte offset of the marked token, -1 when none
}

// Render turns an example into text.
func (f Format) Render(e Example) Rendered {
	var prefix string
	if f.Chat {
		t := f.Template
		if t == nil {
			t = DSV4Chat
		}
		prefix = t(e.System, e.Prompt, f.Thinking)
	} else {
		prefix = joinSpace(e.System, e.Prompt)
		if e.Completion != "" && prefix != "" && !endsSpace(prefix) && !startsSpace(e.Completion) {
			prefix += " "
		}
		if f.AddBOS {
			prefix = tokenizer.BOSToken + prefix
		}
	}
	r := Rendered{Text: prefix + e.Completion, RespStart: len(prefix), MarkAt: -1}
	if e.Mark >= 0 && e.Mark < len(e.Completion) {
		r.MarkAt = len(prefix) + e.Mark
	}
	return r
}

func joinSpace(a, b string) string {
	if a == "" {
		return b
	}
	if b == "" {
		return a
	}
	if endsSpace(a) || startsSpace(b) {
		return a + b
	}
	return a + " " + b
}

func endsSpace(s string) bool   { return s != "" && strings.ContainsAny(s[len(s)-1:], " \n\t") }
func startsSpace(s string) bool { return s != "" && strings.ContainsAny(s[:1], " \n\t") }

// Encoder is the part of a tokenizer extraction needs; the engine's
// tokenizer implements it.
type Encoder interface {
	Encode(text string) []int
}

// Tokenized is a rendered example as token ids with token positions.
type Tokenized struct {
	Tokens    []int
	Start     int // index of the first token after a leading BOS (0 or 1)
	RespStart int // index of the first completion token (len(Tokens) if none)
	Mark      int // index of the marked token, -1 when none
}

// Tokenize renders and encodes an example. Token positions of the completion
// and the mark are found by encoding the text up to that byte offset: the
// tokens of a prefix are a prefix of the tokens of the text except possibly
// the last one, which a BPE merge across the boundary can change, so the
// boundary token is the one containing the offset.
func (f Format) Tokenize(enc Encoder, e Example) (Tokenized, error) {
	r := f.Render(e)
	var bos []int // BOS, when wanted, is part of the rendered text
	toks := enc.Encode(r.Text)
	if len(toks) == 0 {
		return Tokenized{}, fmt.Errorf("steerlib: example %q encodes to no tokens", r.Text)
	}
	t := Tokenized{Tokens: toks, RespStart: len(toks), Mark: -1}
	if b, ok := enc.(interface{ BOS() int }); ok && len(toks) > 1 && toks[0] == b.BOS() {
		t.Start = 1
	}
	if r.RespStart < len(r.Text) {
		pre := len(bos) + len(enc.Encode(r.Text[:r.RespStart]))
		t.RespStart = boundary(toks, bos, enc, r.Text[:r.RespStart], pre)
	}
	if r.MarkAt >= 0 {
		// The marked token is the last token of the text up to and including the marked byte.
		n := len(bos) + len(enc.Encode(r.Text[:r.MarkAt+1]))
		if n-1 < 0 || n-1 >= len(toks) {
			return t, fmt.Errorf("steerlib: mark at byte %d of %q falls outside its %d tokens", r.MarkAt, r.Text, len(toks))
		}
		t.Mark = n - 1
	}
	return t, nil
}

// boundary returns the index of the first token that belongs to the text
// after prefix: n when the prefix's tokens are exactly a prefix of toks,
// n-1 when the last prefix token was merged with what follows.
func boundary(toks, bos []int, enc Encoder, prefix string, n int) int {
	pt := append(append([]int(nil), bos...), enc.Encode(prefix)...)
	if n > len(toks) {
		n = len(toks)
	}
	for i := 0; i < n; i++ {
		if pt[i] != toks[i] {
			return i
		}
	}
	return n
}
