package tokenizer

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestStreamDecoderEmojiSplit(t *testing.T) {
	tk := deepseek(t)
	text := "Party 🎉👨‍👩‍👧 time 😀!"
	ids := tk.Encode(text)
	// The byte-level tokens must actually split some emoji for this test to
	// mean anything: some token on its own must not be valid UTF-8.
	split := false
	for _, id := range ids {
		if !utf8.Valid(tk.TokenBytes(id)) {
			split = true
		}
	}
	if !split {
		t.Fatalf("no token of %v splits a UTF-8 sequence; pick another text", ids)
	}
	d := tk.NewDecoder()
	var sb strings.Builder
	for _, id := range ids {
		s := d.Add(id)
		if strings.ContainsRune(s, utf8.RuneError) {
			t.Errorf("Add(%d) emitted a replacement character: %q", id, s)
		}
		sb.WriteString(s)
	}
	sb.WriteString(d.Flush())
	if sb.String() != text {
		t.Errorf("stream %q, want %q", sb.String(), text)
	}
}

func TestStreamDecoderMatchesDecode(t *testing.T) {
	tk := deepseek(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 300; trial++ {
		// Random ids, biased to byte tokens so broken and unfinished
		// sequences are common.
		n := 1 + rng.IntN(12)
		ids := make([]int, n)
		for i := range ids {
			if rng.IntN(2) == 0 {
				ids[i] = int(tk.byteIDs[rng.IntN(256)])
			} else {
				ids[i] = rng.IntN(tk.VocabSize())
			}
		}
		d := tk.NewDecoder()
		var sb strings.Builder
		for _, id := range ids {
			sb.WriteString(d.Add(id))
		}
		sb.WriteString(d.Flush())
		if want := tk.Decode(ids); sb.String() != want {
			t.Fatalf("ids %v: stream %q, Decode %q", ids, sb.String(), want)
		}
	}
}

func TestStreamDecoderHoldsBack(t *testing.T) {
	tk := deepseek(t)
	euro := "€" // E2 82 AC
	d := tk.NewDecoder()
	for i := 0; i < 2; i++ {
		if s := d.Add(int(tk.byteIDs[euro[i]])); s != "" {
			t.Fatalf("byte %d of € emitted %q", i, s)
		}
	}
	if !d.Pending() {
		t.Fatal("nothing pending after two bytes of €")
	}
	if s := d.Add(int(tk.byteIDs[euro[2]])); s != euro {
		t.Fatalf("third byte emitted %q", s)
	}
	// An unfinished sequence left at the end flushes as one U+FFFD.
	d.Add(int(tk.byteIDs[0xF0]))
	d.Add(int(tk.byteIDs[0x9F]))
	if s := d.Flush(); s != "\uFFFD" {
		t.Fatalf("Flush = %q", s)
	}
	// SkipSpecial drops BOS/EOS.
	d.SkipSpecial = true
	if s := d.Add(tk.BOS()) + d.Add(tk.Encode("hi")[0]) + d.Add(tk.EOS()); s != "hi" {
		t.Fatalf("SkipSpecial stream %q", s)
	}
}

func TestDecodeLossy(t *testing.T) {
	// Rust's from_utf8_lossy: one U+FFFD per maximal invalid prefix.
	cases := map[string]string{
		"a\xe4\xbdb":     "a\uFFFDb",     // truncated 3-byte sequence
		"\xff\xfe":       "\uFFFD\uFFFD", // two invalid bytes
		"\xf0\x9f\x98":   "\uFFFD",       // truncated emoji
		"\xed\xa0\x80":   "\uFFFD\uFFFD\uFFFD",
		"ok \xc3\xa9 ok": "ok é ok",
	}
	for in, want := range cases {
		if got := lossyString([]byte(in)); got != want {
			t.Errorf("lossyString(%q) = %q, want %q", in, got, want)
		}
	}
}
