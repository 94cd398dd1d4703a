package steerlib

import (
	"context"
	"math"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

func TestAUROCAndCohenD(t *testing.T) {
	if a := AUROC([]float64{3, 4, 5}, []float64{0, 1, 2}); a != 1 {
		t.Errorf("separated AUROC %v", a)
	}
	if a := AUROC([]float64{0, 1, 2}, []float64{3, 4, 5}); a != 0 {
		t.Errorf("reversed AUROC %v", a)
	}
	// One tie between a positive and a negative counts half: 8.5/9.
	if a := AUROC([]float64{2, 4, 5}, []float64{0, 1, 2}); math.Abs(a-8.5/9) > 1e-15 {
		t.Errorf("tied AUROC %v", a)
	}
	// Brute force over all pairs on irregular data.
	p := []float64{0.3, 1.2, -0.5, 0.3, 2}
	n := []float64{0.3, -1, 0.1, 0.8}
	s := 0.0
	for _, x := range p {
		for _, y := range n {
			switch {
			case x > y:
				s++
			case x == y:
				s += 0.5
			}
		}
	}
	if a := AUROC(p, n); math.Abs(a-s/20) > 1e-15 {
		t.Errorf("AUROC %v, pairwise %v", a, s/20)
	}
	if d := CohenD([]float64{1, 3}, []float64{-1, 1}); math.Abs(d-math.Sqrt2) > 1e-12 {
		t.Errorf("d = %v want √2", d) // means 2 and 0, pooled variance 2
	}
}

func TestSeparabilityOnToy(t *testing.T) {
	m := newToy(8)
	d, _ := LoadDataset("sentiment")
	a, err := Extract(context.Background(), m, d, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.Separability(engine.SiteBlockOut, DiffMean, EstimateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Layers) != m.L {
		t.Fatalf("%d layers", len(s.Layers))
	}
	for _, l := range s.Layers {
		if l.AUROC < 0 || l.AUROC > 1 || math.IsNaN(l.Stability) {
			t.Errorf("layer %+v out of range", l)
		}
	}
	if _, ok := s.MIMEBundle()["text/html"]; !ok {
		t.Error("no html")
	}
}

func TestHalfIndexStratifies(t *testing.T) {
	labels := []string{"A", "B", "A", "B", "A", "B", "A", "B", "A", "B"}
	a, b := halfIndex(len(labels), labels)
	count := func(idx []int, l string) int {
		n := 0
		for _, i := range idx {
			if labels[i] == l {
				n++
			}
		}
		return n
	}
	for _, l := range []string{"A", "B"} {
		if d := count(a, l) - count(b, l); d < -1 || d > 1 {
			t.Errorf("label %s: %d vs %d", l, count(a, l), count(b, l))
		}
	}
	if len(a)+len(b) != len(labels) {
		t.Error("rows lost")
	}
	// Not a parity split: some half holds indices of both parities.
	odd, even := 0, 0
	for _, i := range a {
		if i%2 == 0 {
			even++
		} else {
			odd++
		}
	}
	if odd == 0 || even == 0 {
		t.Errorf("half %v is a parity class", a)
	}
	x, y := halfIndex(10, nil)
	x2, y2 := halfIndex(10, nil)
	if len(x) != 5 || len(y) != 5 || x[0] != x2[0] || y[0] != y2[0] {
		t.Error("unlabelled halves not even or not deterministic")
	}
}
