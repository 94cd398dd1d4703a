package cell

import (
	"context"
	"testing"
)

func BenchmarkNewSession(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := New(Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSmallCell(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Execute(ctx, "x := 1\nfunc f(v int) int { return v + x }", 1); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		if _, err := s.Execute(ctx, "y := f(2)\ny * 3", i+2); err != nil {
			b.Fatal(err)
		}
	}
}
