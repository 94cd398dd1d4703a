package steerlib

import (
	"context"
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
