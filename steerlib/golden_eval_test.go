package steerlib

import (
	"context"
	"math"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

// The evaluation layer end to end on the golden checkpoint: real router
// events, real hyper-connection streams, real sessions.
func TestGoldenEvaluations(t *testing.T) {
	g := loadGolden(t)
	ctx := context.Background()
	d, _ := LoadDataset("sentiment")
	d, _ = d.Split(0.5)
	acts, err := Extract(ctx, g, d, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v, err := acts.Vector(DiffMean, engine.SiteBlockOut, []int{1, 2}, EstimateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	texts := NeutralTexts()[:4]

	// Expert routing: every layer's rates sum to one, unsteered shift is zero,
	// a strong steer at block_out[1] leaves layers 0–1 untouched and changes
	// some routing downstream.
	x, err := ExpertShiftOf(ctx, g, texts, PlainFormat, Compose(Add(v.At(1), Rel(2))))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.Base.Layers) != g.NumLayers() || len(x.Base.Rate[0]) != 8 {
		t.Fatalf("usage shape: layers %v, experts %d", x.Base.Layers, len(x.Base.Rate[0]))
	}
	for i, row := range x.Base.Rate {
		s := 0.0
		for _, r := range row {
			s += r
		}
		if math.Abs(s-1) > 1e-12 {
			t.Errorf("layer %d rates sum to %v", i, s)
		}
	}
	if x.Changed[0] != 0 || x.Changed[1] != 0 {
		t.Errorf("routing changed upstream of the steer: %v", x.Changed)
	}
	down := 0.0
	for _, c := range x.Changed[2:] {
		down += c
	}
	if down == 0 {
		t.Error("a 2×-norm steer changed no downstream routing")
	}
	t.Logf("expert routing total variation per layer: %v", x.Changed)

	// Dose–response with cost on the real model: zero strength costs
	// nothing, cost grows with |strength|.
	metric := LogitDiffMetric(g, []string{"The soup was", "The story was"}, PlainFormat, g.Encode("g"), g.Encode("b"))
	r, err := Sweep(ctx, g, v, metric, DoseOptions{Strengths: []float64{0, 0.5, 2}, Layers: []int{2}, Neutral: texts})
	if err != nil {
		t.Fatal(err)
	}
	kl := []float64{r.Cost[0][0].KL, r.Cost[0][1].KL, r.Cost[0][2].KL}
	if kl[0] != 0 || !(kl[1] > 0 && kl[2] > kl[1]) {
		t.Errorf("KL by strength %v", kl)
	}
	if r.Effect[0][0] != 0 {
		t.Errorf("zero strength has effect %v", r.Effect[0][0])
	}

	// Per-stream analysis: all five columns filled.
	sr, err := StreamAnalysis(ctx, g, d, []int{1, 3}, PlainFormat, metric, Rel(0.5))
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < 5; s++ {
		if len(sr.AUROC[s]) != 2 || len(sr.Effect[s]) != 2 {
			t.Fatalf("stream %d: %v %v", s, sr.AUROC[s], sr.Effect[s])
		}
	}
	t.Logf("per-stream effect at layer 1: %v", []float64{sr.Effect[0][0], sr.Effect[1][0], sr.Effect[2][0], sr.Effect[3][0], sr.Effect[4][0]})

	// The Arditi grid runs on chat-rendered instructions.
	ref, _ := LoadDataset("refusal")
	ref.Positive, ref.Negative = ref.Positive[:4], ref.Negative[:4]
	var pp, np []string
	for _, e := range ref.Positive {
		pp = append(pp, e.Prompt)
	}
	for _, e := range ref.Negative {
		np = append(np, e.Prompt)
	}
	tok := g.Encode("I")
	grid, err := SelectDirection(ctx, g, ref, LogOddsMetric(g, pp, ChatFormat, tok), LogOddsMetric(g, np, ChatFormat, tok),
		GridOptions{Offsets: []int{0, 1}, Format: ChatFormat, MaxKL: 100, IgnoreInduce: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(grid.Cells) != 2*g.NumLayers() || grid.Selected == nil {
		t.Errorf("grid: %d cells, selected %v", len(grid.Cells), grid.Selected)
	}
}
