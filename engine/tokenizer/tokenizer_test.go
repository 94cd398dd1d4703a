package tokenizer

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

func TestConcurrentEncode(t *testing.T) {
	tk := deepseek(t)
	cases := readGolden(t, "testdata/deepseek_v3_golden.jsonl")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < len(cases); i += 2 {
				if got := tk.Encode(cases[i].Text); !slices.Equal(got, cases[i].IDs) {
					t.Errorf("goroutine %d: %q mismatch", g, cases[i].Text)
					return
				}
			}
		}(g)
	}
	wg.Wait()
}

func TestTrainSeqEqualsTrain(t *testing.T) {
	texts := trainCorpus()
	a, err := Train(texts, 400, DefaultSpecialTokens)
	if err != nil {
		t.Fatal(err)
	}
	b, err := TrainSeq(slices.Values(texts), 400, DefaultSpecialTokens)
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := a.MarshalJSON()
	jb, _ := b.MarshalJSON()
	if !bytes.Equal(ja, jb) {
		t.Fatal("TrainSeq and Train differ")
	}
}

func TestTrainErrors(t *testing.T) {
	if _, err := Train([]string{"x"}, 100, nil); err == nil || !strings.Contains(err.Error(), "vocabSize 100") {
		t.Errorf("small vocab: %v", err)
	}
	if _, err := Train([]string{"x"}, 300, []string{"<a>", "<a>"}); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("duplicate special: %v", err)
	}
	if _, err := Train([]string{"x"}, 300, []string{"Ġ"}); err == nil || !strings.Contains(err.Error(), "byte 0x20") {
		t.Errorf("special equal to a byte token: %v", err)
	}
}

// mutate loads the trained file as generic JSON, applies f, and returns the
// FromJSON error.
func mutate(t *testing.T, f func(m map[string]any)) error {
	t.Helper()
	b, err := os.ReadFile(trainedPath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = FromJSON(b)
	return err
}

func TestFromJSONRejects(t *testing.T) {
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	cases := []struct {
		name, want string
		f          func(m map[string]any)
	}{
		{"not BPE", "model.type", func(m map[string]any) { model(m)["type"] = "WordPiece" }},
		{"GPT-2 pre-tokenizer", "pre_tokenizer", func(m map[string]any) {
			m["pre_tokenizer"] = map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}
		}},
		{"changed split regex", "pretokenizers[2]", func(m map[string]any) {
			p := m["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)
			p[2].(map[string]any)["pattern"] = map[string]any{"Regex": `\s+`}
		}},
		{"missing byte", "byte 0x41", func(m map[string]any) { delete(model(m)["vocab"].(map[string]any), "A") }},
		{"bad merge", "model.merges[0]", func(m map[string]any) { model(m)["merges"].([]any)[0] = "nosuch token" }},
		{"normalizer", "normalizer", func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFC"} }},
	}
	for _, c := range cases {
		err := mutate(t, c.f)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	// Merges as ["a","b"] pairs (newer Hugging Face files) load the same.
	if err := mutate(t, func(m map[string]any) {
		ms := model(m)["merges"].([]any)
		for i, s := range ms {
			l, r, _ := strings.Cut(s.(string), " ")
			ms[i] = []any{l, r}
		}
	}); err != nil {
		t.Errorf("pair merges: %v", err)
	}
}

func TestLoadErrorsNameFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: %v", err)
	}
	dir := t.TempDir()
	b, _ := os.ReadFile(trainedPath)
	os.WriteFile(filepath.Join(dir, "tokenizer.json"), b, 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"bos_token": "<nope>"}`), 0o644)
	_, err = Load(filepath.Join(dir, "tokenizer.json"))
	if err == nil || !strings.Contains(err.Error(), "tokenizer_config.json") || !strings.Contains(err.Error(), "<nope>") {
		t.Errorf("bad config: %v", err)
	}
}

func TestDeepSeekBasics(t *testing.T) {
	tk := deepseek(t)
	if tk.VocabSize() != 128815 { // 128 000 BPE + added tokens up to id 128 814
		t.Errorf("VocabSize %d", tk.VocabSize())
	}
	if tk.BOS() != 0 || tk.EOS() != 1 || tk.Pad() != 2 {
		t.Errorf("BOS/EOS/Pad %d/%d/%d", tk.BOS(), tk.EOS(), tk.Pad())
	}
	if id, ok := tk.TokenID(UserToken); !ok || id != 128803 {
		t.Errorf("User id %d %v", id, ok)
	}
	if id, ok := tk.TokenID("ĠHello"); !ok || tk.Token(id) != "ĠHello" {
		t.Errorf("TokenID(ĠHello) = %d %v", id, ok)
	}
	// EncodeOrdinary does not turn the text "<｜User｜>" into the role token.
	if ids := tk.EncodeOrdinary(UserToken); slices.Contains(ids, 128803) || tk.Decode(ids) != UserToken {
		t.Errorf("EncodeOrdinary(%q) = %v", UserToken, ids)
	}
	if s := tk.DecodeSkipSpecial([]int{0, 19923, 1}); s != "Hello" {
		t.Errorf("DecodeSkipSpecial = %q", s)
	}
	if s := tk.Decode([]int{-1, 19923, 1 << 30}); s != "Hello" {
		t.Errorf("Decode with unknown ids = %q", s)
	}
}

func TestApplyConfig(t *testing.T) {
	tk, err := Train([]string{"<s> hello </s>"}, 300, []string{"<s>", "</s>", "<pad>"})
	if err != nil {
		t.Fatal(err)
	}
	if tk.BOS() != -1 || tk.EOS() != -1 {
		t.Fatalf("BOS/EOS %d/%d before config; want -1 (no DeepSeek names)", tk.BOS(), tk.EOS())
	}
	cfg := `{"bos_token": "<s>", "eos_token": {"__type": "AddedToken", "content": "</s>"}, "pad_token": "<pad>"}`
	if err := tk.ApplyConfig([]byte(cfg)); err != nil {
		t.Fatal(err)
	}
	if tk.BOS() != 0 || tk.EOS() != 1 || tk.Pad() != 2 {
		t.Errorf("BOS/EOS/Pad %d/%d/%d want 0/1/2", tk.BOS(), tk.EOS(), tk.Pad())
	}
	if err := tk.ApplyConfig([]byte(`{"eos_token": "<missing>"}`)); err == nil || !strings.Contains(err.Error(), "eos_token") {
		t.Errorf("unknown eos: %v", err)
	}
}

func TestTokenLabels(t *testing.T) {
	tk := deepseek(t)
	ids := tk.Encode("<｜User｜>Hi 🎉")
	labels := tk.TokenLabels(append(ids, -5))
	if labels[0] != UserToken || labels[1] != "Hi" || labels[len(labels)-1] != "<id -5>" {
		t.Errorf("labels %q", labels)
	}
	// DeepSeek splits " 🎉" (20 F0 9F 8E 89) into " \xF0\x9F", "\x8E", "\x89"
	// (see the golden ids); each fragment is shown as escapes.
	if joined := strings.Join(labels[2:len(labels)-1], ""); joined != ` \xF0\x9F\x8E\x89` {
		t.Errorf("emoji labels %q", labels[2:])
	}
	for _, l := range labels {
		if !utf8.ValidString(l) {
			t.Errorf("label %q is not valid UTF-8", l)
		}
	}
	b := tk.MIMEBundle()
	if !strings.Contains(b["text/plain"].(string), "128815 ids") || !strings.Contains(b["text/html"].(string), "&lt;｜User｜&gt;") {
		t.Errorf("MIMEBundle %v", b)
	}
}
