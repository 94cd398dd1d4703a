package corpus

import "testing"

func BenchmarkGenerate(b *testing.B) {
	gen, err := New(Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		gen.Next()
	}
}

func BenchmarkClassify(b *testing.B) {
	docs := Generate(2, 256)
	i := 0
	for b.Loop() {
		Classify(docs[i%len(docs)].Text)
		i++
	}
}

func BenchmarkLogProb(b *testing.B) {
	docs := Generate(3, 256)
	gen, err := New(Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		gen.LogProb(docs[i%len(docs)].Text)
		i++
	}
}
