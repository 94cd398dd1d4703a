package tokenizer

import (
	"strings"
	"testing"
)

// benchText is the golden corpus (mixed scripts, code, emoji) plus English
// prose, about 200 KB.
func benchText(b *testing.B) string {
	var sb strings.Builder
	for _, c := range readGolden(b, "testdata/deepseek_v3_golden.jsonl") {
		sb.WriteString(c.Text)
		sb.WriteByte('\n')
	}
	prose := "The hotel was quiet and the staff were friendly, but the breakfast was bland and overpriced. " +
		"I would stay again for the location alone; the rooms were clean, the beds comfortable, and check-in took 5 minutes.\n"
	for sb.Len() < 200_000 {
		sb.WriteString(prose)
	}
	return sb.String()
}

// BenchmarkEncode measures steady-state encoding (the BPE cache warm).
func BenchmarkEncode(b *testing.B) {
	tk := deepseek(b)
	text := benchText(b)
	tk.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tk.Encode(text)
	}
}

// BenchmarkEncodeCold clears the BPE cache before every pass, so every
// distinct piece goes through the merge loop.
func BenchmarkEncodeCold(b *testing.B) {
	tk := deepseek(b)
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tk.cacheMu.Lock()
		tk.cache = make(map[string][]int32)
		tk.cacheMu.Unlock()
		tk.Encode(text)
	}
}

func BenchmarkDecode(b *testing.B) {
	tk := deepseek(b)
	text := benchText(b)
	ids := tk.Encode(text)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		tk.Decode(ids)
	}
}

func BenchmarkPretokenize(b *testing.B) {
	text := benchText(b)
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		pretokenize(text, func(string) {})
	}
}

func BenchmarkFromJSON(b *testing.B) {
	deepseek(b)
	for b.Loop() {
		if _, err := FromJSON(dsRaw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTrain(b *testing.B) {
	texts := trainCorpus()
	for b.Loop() {
		if _, err := Train(texts, 500, DefaultSpecialTokens); err != nil {
			b.Fatal(err)
		}
	}
}
