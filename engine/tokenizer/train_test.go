package tokenizer

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// trainCorpus is a small mixed corpus: prose, chat-formatted turns with
// special tokens, numbers, code, CJK and emoji.
func trainCorpus() []string {
	base := []string{
		"The hotel was wonderful and the staff were friendly.",
		"The film was dreadful; the plot made no sense at all!",
		"I would not recommend this gadget to anyone.\n\nIt broke after 3 days.",
		UserToken + "Write a short positive review of the restaurant." + AssistantToken + ThinkEnd + "The food was superb." + EOSToken,
		BOSToken + "You are helpful." + UserToken + "What is the password?" + AssistantToken + ThinkStart + "A secret request." + ThinkEnd + "I'm sorry, I can't share that." + EOSToken,
		"func main() {\n\tfmt.Println(\"hello, world\")\n}\n",
		"Prices rose 12345678 percent in 2024 — a 3.14159 increase.",
		"你好，世界。推理和答案。カタカナ・テスト",
		"Emoji: 👍🏽 ❤️ 👨‍👩‍👧 done.",
		"   leading spaces and trailing   ",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("the a hotel film gadget restaurant was is very not good bad friendly rude clean dirty and but staff food plot screen battery")
	var out []string
	out = append(out, base...)
	for i := 0; i < 300; i++ {
		var sb strings.Builder
		n := 5 + rng.IntN(12)
		for j := 0; j < n; j++ {
			if j > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(words[rng.IntN(len(words))])
		}
		sb.WriteString(".")
		out = append(out, sb.String())
	}
	return out
}

func TestTrainRoundTrip(t *testing.T) {
	texts := trainCorpus()
	tk, err := Train(texts, 500, DefaultSpecialTokens)
	if err != nil {
		t.Fatal(err)
	}
	if tk.VocabSize() != 500 {
		t.Errorf("VocabSize = %d, want 500", tk.VocabSize())
	}
	if tk.BOS() != 0 || tk.EOS() != 1 || tk.Pad() != 2 {
		t.Errorf("BOS/EOS/Pad = %d/%d/%d, want 0/1/2", tk.BOS(), tk.EOS(), tk.Pad())
	}
	for i, s := range DefaultSpecialTokens {
		if id, ok := tk.TokenID(s); !ok || id != i {
			t.Errorf("TokenID(%q) = %d,%v want %d", s, id, ok, i)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "tokenizer.json")
	if err := tk.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	if err := tk.WriteConfig(filepath.Join(dir, "tokenizer_config.json"), 256); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if back.VocabSize() != tk.VocabSize() || back.Merges() != tk.Merges() {
		t.Fatalf("reloaded vocab %d merges %d, want %d %d", back.VocabSize(), back.Merges(), tk.VocabSize(), tk.Merges())
	}
	if back.BOS() != 0 || back.EOS() != 1 {
		t.Errorf("reloaded BOS/EOS = %d/%d", back.BOS(), back.EOS())
	}
	for _, s := range texts {
		ids := back.Encode(s)
		if got := back.Decode(ids); got != s {
			t.Errorf("round trip %q -> %v -> %q", s, ids, got)
		}
		if want := tk.Encode(s); !slices.Equal(ids, want) {
			t.Errorf("%q: reloaded encodes %v, trained %v", s, ids, want)
		}
	}
	// Special tokens in text come out as single ids.
	ids := back.Encode(texts[3])
	if ids[0] != 3 || ids[len(ids)-1] != 1 {
		t.Errorf("chat text encodes to %v; want <｜User｜>=3 first and EOS=1 last", ids)
	}
	// BPE must compress the training prose: fewer tokens than bytes.
	if n, b := len(back.Encode(texts[0])), len(texts[0]); n*2 > b {
		t.Errorf("%q: %d tokens for %d bytes; merges are not being applied", texts[0], n, b)
	}
	// Writing the reloaded tokenizer gives the same file.
	a, _ := tk.MarshalJSON()
	c, _ := back.MarshalJSON()
	if !bytes.Equal(a, c) {
		t.Errorf("WriteJSON after Load differs from the original")
	}
}

func TestTrainDeterministic(t *testing.T) {
	texts := trainCorpus()
	var first []byte
	for run := 0; run < 3; run++ {
		tk, err := Train(texts, 500, DefaultSpecialTokens)
		if err != nil {
			t.Fatal(err)
		}
		b, err := tk.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("run %d produced a different tokenizer.json", run)
		}
	}
}

// TestTrainMergeOrder checks the first merges against counts computed by
// hand: in "aaab aab ab" (words "aaab", " aab", " ab") the pair (a,b) occurs
// 3 times, (a,a) 3 times ("aaab" has 2, " aab" 1): tie broken by the smaller
// pair of ids; 'a' < 'b' so (a,a) comes first.
func TestTrainMergeOrder(t *testing.T) {
	tk, err := Train([]string{"aaab aab ab"}, 256+1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tk.Merges() != 1 || tk.Token(256) != "aa" {
		t.Fatalf("first merge = %q (merges %d), want \"aa\"", tk.Token(256), tk.Merges())
	}
	tk, err = Train([]string{"abab abab xy"}, 256+2, nil)
	if err != nil {
		t.Fatal(err)
	}
	// (a,b) 4, (b,a) 2, (Ġ,a) 1, then after "ab": (ab,ab) 2.
	if tk.Token(256) != "ab" || tk.Token(257) != "abab" {
		t.Fatalf("merges %q %q, want ab, abab", tk.Token(256), tk.Token(257))
	}
}

// TestTrainSpeed trains on 5 MB of varied real text (Go's own sources:
// many distinct identifiers, comments, numbers) with a vocabulary of 8192.
func TestTrainSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	var texts []string
	total := 0
	root := filepath.Join(runtime.GOROOT(), "src")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || total >= 5<<20 {
			return err
		}
		if !d.IsDir() && filepath.Ext(p) == ".go" {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			texts = append(texts, string(b))
			total += len(b)
		}
		return nil
	})
	if err != nil || total < 5<<20 {
		t.Skipf("need 5 MB of Go sources under %s: %d bytes, %v", root, total, err)
	}
	start := time.Now()
	tk, err := Train(texts, 8192, DefaultSpecialTokens)
	if err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	t.Logf("trained %.1f MB into %d tokens (%d merges) in %v", float64(total)/1e6, tk.VocabSize(), tk.Merges(), el)
	if tk.VocabSize() != 8192 {
		t.Errorf("vocab %d, want 8192", tk.VocabSize())
	}
	if el > 60*time.Second {
		t.Errorf("training took %v", el)
	}
	for _, s := range texts[:50] {
		if d := tk.Decode(tk.Encode(s)); d != s {
			t.Fatalf("round trip failed on a Go source file")
		}
	}
}

// trainedPath is a tokenizer trained by Train on trainCorpus (vocab 500),
// checked in so that (1) the JavaScript tokenizer can read it and produce
// trained_golden.jsonl independently, and (2) changes to the trainer's output
// are noticed. Regenerate with STEERBOOK_WRITE_TRAINED=1 go test -run TestTrainedFile.
const trainedPath = "testdata/trained_tokenizer.json"

func TestTrainedFile(t *testing.T) {
	tk, err := Train(trainCorpus(), 500, DefaultSpecialTokens)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("STEERBOOK_WRITE_TRAINED") == "1" {
		if err := os.WriteFile(trainedPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(trainedPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("Train output differs from %s", trainedPath)
	}
	// The JavaScript tokenizer, reading the same file, encodes the golden
	// corpus (which mixes scripts, emoji, digits and special tokens) alike.
	back, err := Load(trainedPath)
	if err != nil {
		t.Fatal(err)
	}
	cases := readGolden(t, "testdata/trained_golden.jsonl")
	bad := 0
	for _, c := range cases {
		if got := back.Encode(c.Text); !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 5 {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
		}
		if d := back.Decode(c.IDs); d != c.Text {
			t.Errorf("Decode(%v) = %q, want %q", c.IDs, d, c.Text)
		}
	}
	t.Logf("%d/%d strings encode exactly as the JavaScript tokenizer does with the trained file", len(cases)-bad, len(cases))
}
