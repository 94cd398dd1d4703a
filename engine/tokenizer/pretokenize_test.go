package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"testing"
)

func pieces(s string) []string {
	var out []string
	pretokenize(s, func(p string) { out = append(out, byteLevelString(p)) })
	return out
}

// TestPretokenizerGolden compares the pre-tokenizer's split with the
// JavaScript implementation's (testdata/gen_golden.js) on the golden corpus.
func TestPretokenizerGolden(t *testing.T) {
	f, err := os.Open("testdata/pretokenizer_golden.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n, bad := 0, 0
	for sc.Scan() {
		var c struct {
			Text   string   `json:"text"`
			Pieces []string `json:"pieces"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		n++
		if got := pieces(c.Text); !slices.Equal(got, c.Pieces) && !(len(got) == 0 && len(c.Pieces) == 0) {
			bad++
			if bad <= 5 {
				t.Errorf("%q:\n got %q\nwant %q", c.Text, got, c.Pieces)
			}
		}
	}
	if n < 600 {
		t.Fatalf("only %d cases", n)
	}
	t.Logf("%d/%d splits agree", n-bad, n)
}

// Hand-derived splits for the regex's backtracking corners.
func TestPretokenizerCorners(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"hello  world", []string{"hello", " ", " world"}}, // \s+(?!\S) leaves one space for the word
		{"hello  123", []string{"hello", "  ", "123"}},     // the digit split ends the piece, so both spaces go together
		{"a \n\n b", []string{"a", " \n\n", " b"}},         // \s*[\r\n]+ stops after the last newline
		{"x.y", []string{"x", ".y"}},                       // ASCII punctuation + letters
		{"!!!\n\nx", []string{"!!!\n\n", "x"}},             // punctuation takes trailing newlines
		{"1234567", []string{"123", "456", "7"}},           // digits in threes
		{"a\u200db", []string{"a", "\u200db"}},             // a format char may prefix letters
		{"😀\u200d😀", []string{"😀", "\u200d", "😀"}},         // before a symbol it matches nothing: a gap piece
		{"ア・イ", []string{"ア", "・", "イ"}},                   // katakana middle dot is punctuation
		{"e\u0301x", []string{"e\u0301x"}},                 // marks join letters
		{" \u0301", []string{" \u0301"}},                   // optional prefix + mark
		{"   ", []string{"   "}},                           // whitespace at the end of the piece
		{"\t x", []string{"\t", " x"}},                     // the last space stays with the word
		{"😀😀 x", []string{"😀😀", " x"}},                     // symbols run together
		{"don't", []string{"don", "'t"}},                   // no contractions rule: ' + letters
	}
	for _, c := range cases {
		var got []string
		pretokenize(c.in, func(p string) { got = append(got, p) })
		if !slices.Equal(got, c.want) {
			t.Errorf("%q: got %q want %q", c.in, got, c.want)
		}
	}
}
