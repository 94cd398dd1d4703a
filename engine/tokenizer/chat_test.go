package tokenizer

import (
	"encoding/json"
	"slices"
	"testing"
)

// The expected strings below are the design's §4.2 examples (taken from
// DeepSeek's official encoding tests) and the rules it states, written out
// by hand.
func TestEncodeChatDesignExample(t *testing.T) {
	msgs := []Message{
		{Role: RoleSystem, Content: "You are a helpful assistant."},
		{Role: RoleUser, Content: "Hello"},
		{Role: RoleAssistant, Content: "Hi there! How can I help you?", Reasoning: "Greeting; reply politely."},
		{Role: RoleUser, Content: "What is the capital of France?"},
		{Role: RoleAssistant, Content: "The capital of France is Paris.", Reasoning: "The user asks about the capital of France. It is Paris."},
	}
	want := "<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hello<｜Assistant｜></think>Hi there! How can I help you?<｜end▁of▁sentence｜><｜User｜>What is the capital of France?<｜Assistant｜><think>The user asks about the capital of France. It is Paris.</think>The capital of France is Paris.<｜end▁of▁sentence｜>"
	if got := EncodeChat(msgs, ChatOptions{Thinking: true, AddGenerationPrompt: true}); got != want {
		t.Errorf("thinking mode:\n got %q\nwant %q", got, want)
	}
	// Chat mode: every reply opens with </think>, reasoning never rendered.
	wantChat := "<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hello<｜Assistant｜></think>Hi there! How can I help you?<｜end▁of▁sentence｜><｜User｜>What is the capital of France?<｜Assistant｜></think>The capital of France is Paris.<｜end▁of▁sentence｜>"
	if got := EncodeChat(msgs, ChatOptions{AddGenerationPrompt: true}); got != wantChat {
		t.Errorf("chat mode:\n got %q\nwant %q", got, wantChat)
	}
	// KeepReasoning (drop_thinking=False): history keeps <think>…</think>.
	wantKeep := "<｜begin▁of▁sentence｜>You are a helpful assistant.<｜User｜>Hello<｜Assistant｜><think>Greeting; reply politely.</think>Hi there! How can I help you?<｜end▁of▁sentence｜><｜User｜>What is the capital of France?<｜Assistant｜><think>The user asks about the capital of France. It is Paris.</think>The capital of France is Paris.<｜end▁of▁sentence｜>"
	if got := EncodeChat(msgs, ChatOptions{Thinking: true, KeepReasoning: true}); got != wantKeep {
		t.Errorf("keep reasoning:\n got %q\nwant %q", got, wantKeep)
	}
}

func TestEncodeChatGenerationPrompt(t *testing.T) {
	msgs := []Message{{Role: RoleUser, Content: "Write a short review."}}
	cases := []struct {
		opt  ChatOptions
		want string
	}{
		{ChatOptions{AddGenerationPrompt: true}, "<｜begin▁of▁sentence｜><｜User｜>Write a short review.<｜Assistant｜></think>"},
		{ChatOptions{AddGenerationPrompt: true, Thinking: true}, "<｜begin▁of▁sentence｜><｜User｜>Write a short review.<｜Assistant｜><think>"},
		{ChatOptions{}, "<｜begin▁of▁sentence｜><｜User｜>Write a short review."},
		{ChatOptions{AddGenerationPrompt: true, NoBOS: true}, "<｜User｜>Write a short review.<｜Assistant｜></think>"},
	}
	for _, c := range cases {
		if got := EncodeChat(msgs, c.opt); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.opt, got, c.want)
		}
	}
	// A prefilled answer continues without EOS.
	pre := append(msgs, Message{Role: RoleAssistant, Content: "(A"})
	if got, want := EncodeChat(pre, ChatOptions{Continue: true}), "<｜begin▁of▁sentence｜><｜User｜>Write a short review.<｜Assistant｜></think>(A"; got != want {
		t.Errorf("continue:\n got %q\nwant %q", got, want)
	}
	// Consecutive user turns: the header only follows the last one.
	two := []Message{{Role: RoleUser, Content: "a"}, {Role: RoleUser, Content: "b"}}
	if got, want := EncodeChat(two, ChatOptions{AddGenerationPrompt: true}), "<｜begin▁of▁sentence｜><｜User｜>a<｜User｜>b<｜Assistant｜></think>"; got != want {
		t.Errorf("two users:\n got %q\nwant %q", got, want)
	}
}

func TestEncodeChatUnknownRolePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for role \"tool\"")
		}
	}()
	EncodeChat([]Message{{Role: "tool", Content: "x"}}, ChatOptions{})
}

// v4Tokenizer is the DeepSeek-V3 file with the V4 added tokens whose ids the
// design lists (§4.1) layered on top, enough to check V4 token ids.
func v4Tokenizer(t *testing.T) *Tokenizer {
	deepseek(t) // loads dsRaw
	var f map[string]any
	if err := json.Unmarshal(dsRaw, &f); err != nil {
		t.Fatal(err)
	}
	added := f["added_tokens"].([]any)
	for content, id := range map[string]int{ThinkStart: 128821, ThinkEnd: 128822, LatestReminderToken: 128828} {
		added = append(added, map[string]any{"id": id, "content": content, "special": false,
			"single_word": false, "lstrip": false, "rstrip": false, "normalized": false})
	}
	f["added_tokens"] = added
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func TestV4ChatTokenIDs(t *testing.T) {
	tk := v4Tokenizer(t)
	// Design §4.1 test vector.
	got := tk.Encode("<｜User｜>你好<｜Assistant｜><think>推理</think>答案<｜end▁of▁sentence｜>")
	want := []int{128803, 30594, 128804, 128821, 36101, 128822, 7624, 1}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	// The same sequence from EncodeChat (without BOS).
	ids := tk.EncodeChat([]Message{
		{Role: RoleUser, Content: "你好"},
		{Role: RoleAssistant, Content: "答案", Reasoning: "推理"},
	}, ChatOptions{Thinking: true, NoBOS: true})
	if !slices.Equal(ids, want) {
		t.Errorf("EncodeChat ids %v want %v", ids, want)
	}
	if tk.BOS() != 0 || tk.EOS() != 1 {
		t.Errorf("BOS/EOS %d/%d want 0/1", tk.BOS(), tk.EOS())
	}
}
