package steerlib

import (
	"context"
	"math"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/internal/golden"
)

// TestGoldenMarkerSwapAtEmbedding is the anchors' exact placement test: two
// sequences differ only in a marker token at position k; adding
// E[P] − E[N] to the streams entering block 0 (block_in[0], which holds the
// embedding in all four streams) at position k only must turn the
// N-sequence's logits into the P-sequence's, at every position.
//
// On DeepSeek-V4 that is not enough: the hash-routed MoE layers choose their
// experts from the token id, not from the activation, so "steering equals
// prompting" fails there (by ~2 logits on this checkpoint). Also giving the
// router at position k the P-sequence's expert choice makes it exact, which
// tests router edits too.
func TestGoldenMarkerSwapAtEmbedding(t *testing.T) {
	g := loadGolden(t)
	ck, err := safetensors.Open(golden.Dir(t, "bf16"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	et, err := ck.Tensor("embed.weight")
	if err != nil {
		t.Fatal(err)
	}
	emb, err := et.Float32()
	if err != nil {
		t.Fatal(err)
	}
	D := g.Dim()
	const P, N, k = 300, 17, 3
	seqP := []int{0, 40, 41, P, 42, 43, 44, 45, 46, 47}
	seqN := append([]int(nil), seqP...)
	seqN[k] = N
	dir := make([]float64, D)
	for j := range dir {
		dir[j] = float64(emb[P*D+j]) - float64(emb[N*D+j])
	}
	st := Add(NewVector("P-N", engine.SiteBlockIn, 0, dir), Raw(1))
	st.At = []int{k}
	hooks, err := Compose(st).Hooks()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Record P's routing at position k.
	type route struct {
		experts []int
		weights []float32
	}
	routes := map[int]route{}
	rec := Hook{Sel: engine.Selector{Site: engine.SiteRouter}, Fn: func(e *engine.Event) {
		for i, p := range e.Positions {
			if p == k {
				routes[e.Layer] = route{append([]int(nil), e.Experts[i*e.TopK:(i+1)*e.TopK]...), append([]float32(nil), e.Weights[i*e.TopK:(i+1)*e.TopK]...)}
			}
		}
	}}
	want, _ := g.Forward(ctx, [][]int{seqP}, []Hook{rec}, true)
	base, _ := g.Forward(ctx, [][]int{seqN}, nil, true)
	embOnly, _ := g.Forward(ctx, [][]int{seqN}, hooks, true)
	setRoute := Hook{Sel: engine.Selector{Site: engine.SiteRouter}, Fn: func(e *engine.Event) {
		for i, p := range e.Positions {
			if p == k {
				r := routes[e.Layer]
				copy(e.Experts[i*e.TopK:(i+1)*e.TopK], r.experts)
				copy(e.Weights[i*e.TopK:(i+1)*e.TopK], r.weights)
			}
		}
	}}
	got, _ := g.Forward(ctx, [][]int{seqN}, append(hooks, setRoute), true)
	hashGap := 0.0
	for p := range seqP {
		for v := range want[0][p] {
			hashGap = math.Max(hashGap, math.Abs(float64(embOnly[0][p][v]-want[0][p][v])))
		}
	}
	t.Logf("embedding swap alone: max |Δlogit| %.3g (hash-routed layers route by token id)", hashGap)
	if hashGap < 0.1 {
		t.Errorf("embedding swap alone matched P (%g): the golden model's hash layers should route by token id", hashGap)
	}
	worst, before := 0.0, 0.0
	for p := range seqP {
		for v := range want[0][p] {
			worst = math.Max(worst, math.Abs(float64(got[0][p][v]-want[0][p][v])))
			if p >= k {
				before = math.Max(before, math.Abs(float64(base[0][p][v]-want[0][p][v])))
			}
		}
	}
	t.Logf("steered N vs P: max |Δlogit| %.3g (unsteered N vs P: %.3g)", worst, before)
	if before < 0.1 {
		t.Fatalf("the marker barely matters (%g): the test would prove nothing", before)
	}
	if worst > 1e-4 {
		t.Errorf("adding E[P]−E[N] at position %d leaves logits off by %g", k, worst)
	}
	// At the wrong position it does not work: indexing is what is tested.
	st.At = []int{k + 1}
	hooks, _ = Compose(st).Hooks()
	off, _ := g.Forward(ctx, [][]int{seqN}, hooks, true)
	miss := 0.0
	for v := range want[0][k] {
		miss = math.Max(miss, math.Abs(float64(off[0][k][v]-want[0][k][v])))
	}
	if miss < 0.1 {
		t.Errorf("steering the next position also matched the P logits at position %d (%g)", k, miss)
	}
}
