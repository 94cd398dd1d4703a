package engine

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/steerbook/steerbook/engine/dsv4"
)

// Throughput benchmarks. Figures are in README (engine section); run with
//
//	go test ./engine/ -run XXX -bench . -benchtime 3x
//
// tok/s is reported as a custom metric. Figures measured 2026-12-04 on the
// shared 2-core AMD EPYC build machine under a load average of about 7 (seven
// sessions compiling and testing), so they understate an idle machine by 2–3×:
//
//	TinyPrefill48          ≈ 1 800–3 700 tok/s
//	TinyDecode             ≈ 1 200–1 800 tok/s
//	TinyForwardBatch32x24  ≈ 2 200–4 600 tok/s
//	MidPrefill128          ≈ 57–74 tok/s   (D 1024, 8 blocks, 32 experts, vocab 129 280; FP8/FP4/BF16 random weights)
//	MidDecode              ≈ 3.6–8 tok/s   (context 128; the BF16 head, 132 M MACs, dominates a step)

func benchPrefill(b *testing.B, m *Model, n int) {
	toks := make([]int, n)
	for i := range toks {
		toks[i] = (i*7919 + 13) % m.VocabSize()
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(ctx, [][]int{toks}, WithLogits(LogitsLast)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tok/s")
}

func benchDecode(b *testing.B, m *Model, ctxLen int) {
	toks := make([]int, ctxLen)
	for i := range toks {
		toks[i] = (i*7919 + 13) % m.VocabSize()
	}
	ctx := context.Background()
	s := m.NewSession()
	if _, err := s.Prefill(ctx, toks); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Decode(ctx, (i*31+7)%m.VocabSize()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

func BenchmarkTinyPrefill48(b *testing.B) { benchPrefill(b, loadTiny(b, "fp8"), 48) }
func BenchmarkTinyDecode(b *testing.B)    { benchDecode(b, loadTiny(b, "fp8"), 48) }

var (
	midOnce sync.Once
	midM    *Model
	midErr  error
)

// midModel is /work/shared/bench/dsv4-mid (D 1024, 8 blocks, 32 experts,
// vocab 129 280) with seeded random weights in the release formats.
func midModel(b *testing.B) *Model {
	p, _ := filepath.Abs("../../shared/bench/dsv4-mid/config.json")
	cb, err := os.ReadFile(p)
	if err != nil {
		b.Skipf("mid-size config not found at %s: %v", p, err)
	}
	midOnce.Do(func() {
		cfg, err := dsv4.ParseConfig(cb)
		if err != nil {
			midErr = err
			return
		}
		midM, midErr = Random(cfg, 1)
	})
	if midErr != nil {
		b.Fatal(midErr)
	}
	return midM
}

func BenchmarkMidPrefill128(b *testing.B) { benchPrefill(b, midModel(b), 128) }
func BenchmarkMidDecode(b *testing.B)     { benchDecode(b, midModel(b), 128) }

// Many short prompts in one Forward (the steerlib extraction workload).
func BenchmarkTinyForwardBatch32x24(b *testing.B) {
	m := loadTiny(b, "bf16") // BF16 like the default model
	seqs := make([][]int, 32)
	for i := range seqs {
		seqs[i] = make([]int, 24)
		for j := range seqs[i] {
			seqs[i][j] = (i*131 + j*7919 + 13) % m.VocabSize()
		}
	}
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Forward(ctx, seqs, WithLogits(LogitsLast)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(32*24*b.N)/b.Elapsed().Seconds(), "tok/s")
}
