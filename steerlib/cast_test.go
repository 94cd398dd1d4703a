package steerlib

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

func TestSearchCondition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	pos, neg, _ := plantedPairs(rng, 40, 16, 0.3)
	// Layer 1 carries the signal, layer 0 is the same rows shuffled between classes.
	mixed := append(append([][]float64{}, pos[:20]...), neg[20:]...)
	mixed2 := append(append([][]float64{}, neg[:20]...), pos[20:]...)
	a, err := ActivationsFromRows("planted", engine.SiteAttnIn, map[int][2][][]float64{0: {mixed, mixed2}, 1: {pos, neg}}, true)
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.SearchCondition(engine.SiteAttnIn, nil)
	if err != nil {
		t.Fatal(err)
	}
	if g.Best.Layer != 1 || g.Best.F1 < 0.9 {
		t.Errorf("best %+v", g.Best)
	}
	c := g.Condition()
	k, err := a.GateConfusion(c)
	if err != nil {
		t.Fatal(err)
	}
	if f1 := 2 * float64(k.TP) / float64(2*k.TP+k.FP+k.FN); f1 != g.Best.F1 {
		t.Errorf("confusion %+v gives F1 %v, grid %v", k, f1, g.Best.F1)
	}
	// The gate works as a Steer condition on a model.
	m := newToy(3)
	st := Add(NewVector("v", engine.SiteBlockOut, 2, randDir(rng, m.D)), Raw(1))
	st.Condition = &Condition{Vector: NewVector("c", engine.SiteAttnIn, 1, randDir(rng, m.D)), Layer: 1, Threshold: -2}
	hooks, err := Compose(st).Hooks()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(context.Background(), [][]int{m.Encode("abc")}, hooks, false); err != nil {
		t.Fatal(err)
	}
}

// A gate from a search reads the prompt as the search read its rows, so the
// score it records for each prompt is that prompt's searched cosine: the mean
// after BOS for ReadMean, the last token for ReadLast.
func TestConditionReadsAsSearched(t *testing.T) {
	m := loadDefault(t)
	topic, err := TopicContrast("restaurant", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		read   ReadPos
		offset int
	}{{ReadMean, 0}, {ReadLast, 0}, {ReadLast, 2}} {
		read := c.read
		a, err := Extract(ctx, m, topic, ExtractOptions{Layers: []int{2}, Format: ReviewFormat, Read: read, Offset: c.offset})
		if err != nil {
			t.Fatal(err)
		}
		if a.MeanFrom != 1 {
			t.Fatalf("ReviewFormat starts with BOS: MeanFrom %d, want 1", a.MeanFrom)
		}
		g, err := a.SearchCondition(engine.SiteBlockOut, nil)
		if err != nil {
			t.Fatal(err)
		}
		gate := g.Condition()
		if gate.Last != (read == ReadLast) || gate.Offset != c.offset || (read == ReadMean && gate.From != 1) {
			t.Fatalf("%s offset %d: gate Last %v Offset %d From %d", read, c.offset, gate.Last, gate.Offset, gate.From)
		}
		pos, neg, err := a.Rows(engine.SiteBlockOut, 2)
		if err != nil {
			t.Fatal(err)
		}
		st := Add(NewVector("v", engine.SiteBlockOut, 4, make([]float64, m.Dim())), Raw(0))
		st.Condition = gate
		s := Compose(st)
		hooks, err := s.Hooks()
		if err != nil {
			t.Fatal(err)
		}
		// Extract orders negatives first; score the same texts in that order.
		var seqs [][]int
		for _, e := range append(append([]Example{}, topic.Negative...), topic.Positive...) {
			tk, err := ReviewFormat.Tokenize(m, e)
			if err != nil {
				t.Fatal(err)
			}
			seqs = append(seqs, tk.Tokens)
		}
		if _, err := m.Forward(ctx, seqs, hooks, false); err != nil {
			t.Fatal(err)
		}
		scores := s.Scores()[gate]
		dir := gate.Vector.Dirs[gate.Layer]
		for i, r := range append(append([][]float64{}, neg...), pos...) {
			if d := math.Abs(scores[i] - cosine(r, dir)); d > 1e-6 {
				t.Errorf("%s offset %d: prompt %d: gate score %.6f, searched cosine %.6f", read, c.offset, i, scores[i], cosine(r, dir))
			}
		}
	}
}
