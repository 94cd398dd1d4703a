package defaultmodel_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel"
	"github.com/steerbook/steerbook/engine/safetensors"
)

// parityTol is float32 noise for logits of magnitude ~10 after six blocks
// (the golden tiny checkpoint agrees with DeepSeek's reference to ~5e-6).
const parityTol = 1e-3

// Flags stored per position by export.py.
const (
	flagTie       = 1 // tie or near-tie (relative gap ≤ 1e-5) at the cut of a CSA indexer's top-k
	flagSensitive = 2 // an FP8 KV round-trip input within 1e-4 step of a rounding midpoint, or f32 and f64 PyTorch runs differ
)

// TestParityWithPyTorch checks that the Go engine, loading the embedded
// checkpoint, reproduces the PyTorch training implementation's logits at
// every position of held-out token windows (testdata/parity.safetensors,
// written by train/export.py from the same exported weights).
//
// Every position must agree within parityTol, except where the divergence is
// explained: a position flagged by export.py (indexer top-k tie or near-tie,
// where float32 noise can pick the other entry, or an FP8 KV rounding
// midpoint hit up to float32 noise) may differ, and so may every later
// position of the same sequence, because later positions read the changed
// keys and compressed entries. Such explained positions must stay a small
// minority. (On the shipped model: 45 of 512 positions flagged, 4
// explained differences, all in one sequence after a KV midpoint at its
// position 5.)
func TestParityWithPyTorch(t *testing.T) {
	if !defaultmodel.Available() {
		t.Skip("model.safetensors not exported yet (engine/defaultmodel/train/export.py)")
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "parity.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.Parse("parity.safetensors", raw)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string) *safetensors.Tensor {
		tt, err := ck.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		return tt
	}
	tokT, logT, flagT := get("tokens"), get("logits"), get("flags")
	toks, err := tokT.Int64()
	if err != nil {
		t.Fatal(err)
	}
	want, err := logT.Float32()
	if err != nil {
		t.Fatal(err)
	}
	flags, err := flagT.Int64()
	if err != nil {
		t.Fatal(err)
	}
	n, s, v := logT.Shape[0], logT.Shape[1], logT.Shape[2]

	m, err := engine.LoadFS(defaultmodel.FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	if m.VocabSize() != v {
		t.Fatalf("vocab: engine %d, parity file %d", m.VocabSize(), v)
	}
	seqs := make([][]int, n)
	for i := range seqs {
		seqs[i] = make([]int, s)
		for j := range seqs[i] {
			seqs[i][j] = int(toks[i*s+j])
		}
	}
	out, err := m.Forward(context.Background(), seqs, engine.WithLogits(engine.LogitsAll))
	if err != nil {
		t.Fatal(err)
	}
	worst, clean, explained, flagged := 0.0, 0.0, 0, 0
	for i := 0; i < n; i++ {
		// The first flagged position of a sequence: from there on a
		// difference is explained (later positions read its keys and
		// compressed entries), whether or not the flagged position itself
		// differs beyond the tolerance.
		firstFlag := -1
		for p := 0; p < s; p++ {
			got := out.Logits[i][p]
			d := 0.0
			for k := 0; k < v; k++ {
				d = math.Max(d, math.Abs(float64(got[k]-want[(i*s+p)*v+k])))
			}
			f := flags[i*s+p]
			if f != 0 {
				flagged++
				if firstFlag < 0 {
					firstFlag = p
				}
			}
			switch {
			case d <= parityTol:
				worst = math.Max(worst, d)
				if firstFlag < 0 {
					// no rounding-sensitive input upstream: pure float32 noise
					clean = math.Max(clean, d)
				}
			case f != 0:
				explained++
				t.Logf("seq %d pos %d: max|Δ| %.3g explained (flag %d: %s)", i, p, d, f, flagName(f))
			case firstFlag >= 0:
				explained++
				t.Logf("seq %d pos %d: max|Δ| %.3g after flagged pos %d (flag %d: %s)", i, p, d, firstFlag, flags[i*s+firstFlag], flagName(flags[i*s+firstFlag]))
			default:
				t.Errorf("seq %d pos %d: max|Δ| %.3g > %g with no tie or rounding midpoint to explain it", i, p, d, parityTol)
			}
		}
	}
	t.Logf("%d sequences × %d positions: max|Δ| %.3g before any flagged position, %.3g at all agreeing positions; %d flagged by export.py; %d explained divergences",
		n, s, clean, worst, flagged, explained)
	if explained > n*s/5 {
		t.Errorf("%d of %d positions diverge (explained), more than a fifth", explained, n*s)
	}
}

func flagName(f int64) string {
	switch f {
	case flagTie:
		return "indexer top-k tie"
	case flagSensitive:
		return "FP8/FP4 rounding midpoint"
	}
	return "unknown"
}
