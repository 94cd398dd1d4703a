package eval

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// compareReports builds a base and a candidate report by hand: counts chosen
// so every drop is known in advance.
func compareReports() (*Report, *Report) {
	opt := Options{N: 512, Seed: 1, MaxTokens: 96}
	m := corpus.Metrics{Sentences: 1000, InGrammar: 990, Reviews: 100, ReviewsKept: 100,
		Requests: 200, RequestsFollowed: 190, Secret: 100, SecretRefused: 100, Benign: 400, BenignRefused: 4, MC: 50, MCCorrect: 50}
	steer := func(pos ...int) *SteerResult {
		s := &SteerResult{Layer: 3, Phase: "prompt only", Best: -1}
		for i, p := range pos {
			s.Points = append(s.Points, SteerPoint{Strength: float32(4 * i), Prompts: 100, PositiveN: p, Positive: float64(p) / 100,
				AllPositiveN: p, AllPositive: float64(p) / 100, Sentences: 300, InGrammarN: 297, InGrammar: 0.99})
		}
		return s
	}
	base := &Report{Model: "bf16", Options: opt, Loss: &LossResult{Excess: 0.010},
		Decoding: []DecodeResult{{Decoding: Decoding{Name: "greedy"}, Metrics: m}}, Steering: steer(0, 40, 85, 95)}
	base.Steering.Best = 2
	cm := m
	cm.RequestsFollowed = 186 // −2 points: within the rule
	cm.BenignRefused = 16     // 1 % → 4 %: 3 points worse although the rate rose
	cand := &Report{Model: "fp8", Options: opt, Loss: &LossResult{Excess: 0.012},
		Decoding: []DecodeResult{{Decoding: Decoding{Name: "greedy"}, Metrics: cm}}, Steering: steer(0, 10, 84, 96)}
	return base, cand
}

func TestCompareDrops(t *testing.T) {
	base, cand := compareReports()
	c, err := Compare(base, cand, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		drop    float64
		decides bool
	}{
		"held-out loss over entropy (%)":                                {0.2, true},
		"greedy: chat requests followed":                                {2, true},
		"greedy: benign requests refused":                               {3, true},
		"greedy: sentences in the grammar":                              {0, true},
		"steering strength 4: turned positive":                          {30, false}, // steep part: information only
		"steering strength 8 (the check's): turned positive":            {1, true},
		"steering plateau: most turned positive with ≥ 90 % in grammar": {-1, true},
	}
	seen := 0
	for _, r := range c.Rows {
		w, ok := want[r.Metric]
		if !ok {
			continue
		}
		seen++
		if math.Abs(r.Drop-w.drop) > 1e-9 || r.Decides != w.decides {
			t.Errorf("%s: drop %.4f decides %v, want %.4f %v", r.Metric, r.Drop, r.Decides, w.drop, w.decides)
		}
	}
	if seen != len(want) {
		t.Fatalf("found %d of %d rows; rows: %+v", seen, len(want), c.Rows)
	}
	if c.Holds() {
		t.Error("a 3-point rise in benign refusals must break the 2-point rule")
	}
	if w := c.Worst(); w.Metric != "greedy: benign requests refused" {
		t.Errorf("worst row %q, want the benign refusals", w.Metric)
	}
	if md := c.Markdown(); !strings.Contains(md, "**+3.00**") || !strings.Contains(md, "does not hold") {
		t.Errorf("markdown does not flag the failing row:\n%s", md)
	}

	// Within the rule once benign refusals are back: the 30-point gap on the
	// steep part of the sweep does not decide.
	cand.Decoding[0].Metrics.BenignRefused = 4
	c, err = Compare(base, cand, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Holds() {
		t.Errorf("should hold: %s", c.Verdict())
	}
}

func TestCompareRefusesMismatchedReports(t *testing.T) {
	base, cand := compareReports()
	cand.Options.Seed = 2
	if _, err := Compare(base, cand, 0); err == nil || !strings.Contains(err.Error(), "seed 1/2") {
		t.Errorf("different seeds: err %v", err)
	}
	base, cand = compareReports()
	cand.Steering.Points[1].Strength = 5
	if _, err := Compare(base, cand, 0); err == nil || !strings.Contains(err.Error(), "strength 4 vs 5") {
		t.Errorf("different strengths: err %v", err)
	}
	base, cand = compareReports()
	cand.Options.Steering.Prompts = 256
	if _, err := Compare(base, cand, 0); err == nil || !strings.Contains(err.Error(), "steering prompts 0/256") {
		t.Errorf("different steering prompt counts: err %v", err)
	}
	base, cand = compareReports()
	cand.Decoding[0].Decoding.Temperature = 0.8
	if _, err := Compare(base, cand, 0); err == nil || !strings.Contains(err.Error(), "decoding 0") {
		t.Errorf("different decodings: err %v", err)
	}
	base, cand = compareReports()
	cand.Loss = nil
	if _, err := Compare(base, cand, 0); err == nil || !strings.Contains(err.Error(), "different parts") {
		t.Errorf("loss on one side only: err %v", err)
	}
}

// A sweep given out of order is read in ascending order: "the smallest
// strength that meets the targets" and Compare's rows rely on it.
func TestStrengthsSorted(t *testing.T) {
	o := Options{}
	o.Steering.Strengths = []float32{8, 2, 4}
	if got := fmt.Sprint(o.withDefaults().Steering.Strengths); got != "[2 4 8]" {
		t.Errorf("strengths %s", got)
	}
	if fmt.Sprint(o.Steering.Strengths) != "[8 2 4]" {
		t.Error("withDefaults sorted the caller's slice in place")
	}
}
