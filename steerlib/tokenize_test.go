package steerlib

import (
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine/tokenizer"
)

// TestTokenizeDeepSeekBPE checks the answer-letter mark and the response
// start with DeepSeek's real BPE (the tokenizer package's test data).
func TestTokenizeDeepSeekBPE(t *testing.T) {
	f, err := os.Open("../engine/tokenizer/testdata/deepseek_v3_tokenizer.json.gz")
	if err != nil {
		t.Skipf("DeepSeek tokenizer test data not available: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := tokenizer.FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	items, _ := ChoiceItems()
	pairs, _ := ChoicePairs(items[:4])
	for i, p := range pairs {
		for _, e := range []Example{p.Positive, p.Negative} {
			r, err := ChatFormat.Tokenize(tk, e)
			if err != nil {
				t.Fatal(err)
			}
			if got := tk.Decode(r.Tokens[r.Mark : r.Mark+1]); got != e.Label {
				t.Errorf("pair %d: mark token %q, want the letter %q", i, got, e.Label)
			}
			if tail := tk.Decode(r.Tokens[r.RespStart:]); !strings.HasSuffix(tail, e.Completion) || len(tail) > len(e.Completion)+8 {
				t.Errorf("pair %d: response tokens decode to %q", i, tail)
			}
			if !strings.HasPrefix(tk.Decode(r.Tokens), "<｜begin▁of▁sentence｜>") {
				t.Error("chat rendering lacks BOS")
			}
		}
	}
	r, err := ReviewFormat.Tokenize(tk, Example{Prompt: "The soup was quite delicious.", Mark: -1})
	if err != nil {
		t.Fatal(err)
	}
	if r.Tokens[0] != tk.BOS() || tk.Decode(r.Tokens[1:]) != "The soup was quite delicious." {
		t.Errorf("ReviewFormat tokens %v", r.Tokens)
	}
	if _, a, b, err := choiceTokens(tk, ChatFormat, items[0].Prompt()); err != nil || tk.Decode([]int{a}) == tk.Decode([]int{b}) {
		t.Errorf("A/B answers do not part at one token: %v", err)
	}
}
