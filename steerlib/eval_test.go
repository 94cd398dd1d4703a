package steerlib

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

func TestLogitDiffLinearAtFinal(t *testing.T) {
	// Adding s·(W_out[a] − W_out[b]) to the final hidden state raises the
	// logit difference a−b by exactly s·|W_out[a] − W_out[b]|² (the toy's
	// head is linear with no final norm).
	m := newToy(9)
	a, b := int('x'), int('y')
	dir := sub(m.out[a], m.out[b])
	v := NewVector("xy", engine.SiteFinal, -1, dir)
	prompts := []string{"the food", "a film was"}
	metric := LogitDiffMetric(m, prompts, PlainFormat, []int{a}, []int{b})
	base, err := metric(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []float64{-1, 0.5, 2} {
		got, err := metric(context.Background(), Compose(Add(v, Raw(s))))
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			want := base[i] + s*dot(dir, dir)
			if math.Abs(got[i]-want) > 1e-3*math.Max(1, math.Abs(want)) {
				t.Errorf("s=%g prompt %d: logit diff %v want %v", s, i, got[i], want)
			}
		}
	}
}

func TestABMetricAndCost(t *testing.T) {
	m := newToy(10)
	items, _ := ChoiceItems()
	ab := ABMetric(m, items[:4], ChatFormat)
	p, err := ab(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range p {
		if x <= 0 || x >= 1 {
			t.Errorf("probability %v", x)
		}
	}
	// Independent check of item 0: softmax over the two letter logits.
	it := items[0]
	tk, _ := ChatFormat.Tokenize(m, Example{Prompt: it.Prompt(), Completion: "(", Mark: -1})
	lg, _ := m.Forward(context.Background(), [][]int{tk.Tokens}, nil, false)
	la, lb := float64(lg[0][0]['A']), float64(lg[0][0]['B'])
	want := 1 / (1 + math.Exp(lb-la)) // matching is A
	if it.Matching != "A" || math.Abs(p[0]-want) > 1e-9 {
		t.Errorf("P(match) %v, want %v", p[0], want)
	}
	c0, err := CostOf(context.Background(), m, NeutralTexts()[:3], PlainFormat, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if c0.KL != 0 || c0.Perplexity != c0.BasePerplexity {
		t.Errorf("unsteered cost %+v", c0)
	}
	v := NewVector("v", engine.SiteBlockOut, 1, randDir(randFor(10), m.D))
	c1, err := CostOf(context.Background(), m, NeutralTexts()[:3], PlainFormat, Compose(Add(v, Raw(3))), []string{"the"}, 8)
	if err != nil {
		t.Fatal(err)
	}
	if c1.KL <= 0 || c1.Perplexity == c1.BasePerplexity || math.IsNaN(c1.Repetition) {
		t.Errorf("steered cost %+v", c1)
	}
}

func TestRepetition(t *testing.T) {
	m := newToy(1)
	if r := Repetition(m, []string{"abcdef"}); r != 0 {
		t.Errorf("no repeats: %v", r)
	}
	// "abababab": 6 trigrams, distinct aba/bab → 4 repeats.
	if r := Repetition(m, []string{"abababab"}); math.Abs(r-4.0/6) > 1e-15 {
		t.Errorf("loop: %v", r)
	}
}

func TestSweepAndWrongWay(t *testing.T) {
	m := newToy(11)
	a, b := int('x'), int('y')
	v := NewVector("xy", engine.SiteFinal, -1, sub(m.out[a], m.out[b]))
	v.Norms[-1] = NormStats{Mean: 1, Count: 1}
	prompts := []string{"one", "two", "three"}
	r, err := Sweep(context.Background(), m, v, LogitDiffMetric(m, prompts, PlainFormat, []int{a}, []int{b}),
		DoseOptions{Strengths: []float64{-1, 0, 1}, Neutral: NeutralTexts()[:2]})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Effect) != 1 || len(r.Effect[0]) != 3 || len(r.PerPrompt[0][2]) != 3 {
		t.Fatalf("shape %v", r.Effect)
	}
	if !(r.Effect[0][0] < 0 && math.Abs(r.Effect[0][1]) < 1e-9 && r.Effect[0][2] > 0) {
		t.Errorf("effect not monotone: %v", r.Effect[0])
	}
	if r.WrongWay[0][0] != 0 || r.WrongWay[0][2] != 0 {
		t.Errorf("wrong-way fraction %v for an exactly linear effect", r.WrongWay[0])
	}
	if r.Cost[0][1].KL != 0 || r.Cost[0][2].KL <= 0 {
		t.Errorf("costs %+v", r.Cost[0])
	}

	// The default neutral texts are user requests: with the zero Format the
	// sweep renders them as chat turns, an explicit Format is kept.
	for _, c := range []struct {
		opt  DoseOptions
		want Format
	}{{DoseOptions{Strengths: []float64{0}}, ChatFormat}, {DoseOptions{Strengths: []float64{0}, Format: ReviewFormat}, ReviewFormat}} {
		r, err := Sweep(context.Background(), m, v, LogitDiffMetric(m, prompts, PlainFormat, []int{a}, []int{b}), c.opt)
		if err != nil {
			t.Fatal(err)
		}
		want, err := CostOf(context.Background(), m, NeutralTexts(), c.want, nil, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Cost[0][0].BasePerplexity; got != want.Perplexity {
			t.Errorf("format %+v: neutral base perplexity %g, want %g (CostOf in that format)", c.want, got, want.Perplexity)
		}
	}
}

func TestExpertShiftAndGrid(t *testing.T) {
	m := newToy(12)
	texts := NeutralTexts()[:3]
	v := NewVector("v", engine.SiteBlockOut, 0, randDir(randFor(12), m.D))
	x, err := ExpertShiftOf(context.Background(), m, texts, PlainFormat, Compose(Add(v, Raw(4))))
	if err != nil {
		t.Fatal(err)
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
	if x.Changed[0] != 0 {
		t.Errorf("layer 0 routing changed (%v) though steering starts at its output", x.Changed[0])
	}
	total := 0.0
	for _, c := range x.Changed[1:] {
		total += c
	}
	if total == 0 {
		t.Error("steering changed no routing downstream")
	}
	d, pp, np := refusalSubset(t)
	refuse := []int{int('I'), int('S')}
	g, err := SelectDirection(context.Background(), m, d, LogOddsMetric(m, pp, PlainFormat, refuse), LogOddsMetric(m, np, PlainFormat, refuse),
		GridOptions{Offsets: []int{0, 1}, MaxKL: 10, IgnoreInduce: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Cells) != 2*m.L || g.Selected == nil || g.Selected.Layer >= 4 {
		t.Fatalf("grid: %d cells, selected %+v", len(g.Cells), g.Selected)
	}
	for _, c := range g.Cells { // the selection is the lowest bypass among admissible cells
		if c.KL <= 10 && c.Layer < 4 && c.Bypass < g.Selected.Bypass {
			t.Errorf("cell %+v has lower bypass than the selected %+v", c, *g.Selected)
		}
	}
	g2, err := SelectDirection(context.Background(), m, d, LogOddsMetric(m, pp, PlainFormat, refuse), LogOddsMetric(m, np, PlainFormat, refuse),
		GridOptions{Offsets: []int{0, 1}, MaxKL: 10})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Selected != nil && g2.Selected.Induce <= g2.Baseline[1] {
		t.Errorf("selected a candidate that does not induce: %+v (baseline %v)", *g2.Selected, g2.Baseline[1])
	}
}

func TestStreamAnalysis(t *testing.T) {
	m := newToy(13)
	d, _ := LoadDataset("sentiment")
	d, _ = d.Split(0.5)
	// The sign property below was derived for last-token rows on this toy
	// (the dataset's own default is the mean over tokens).
	d.Read = ReadLast
	a, b := int('g'), int('b')
	metric := LogitDiffMetric(m, []string{"it was"}, PlainFormat, []int{a}, []int{b})
	r, err := StreamAnalysis(context.Background(), m, d, []int{1, 2}, PlainFormat, metric, Rel(0.5))
	if err != nil {
		t.Fatal(err)
	}
	for s := 0; s < 5; s++ {
		if len(r.AUROC[s]) != 2 || len(r.Effect[s]) != 2 {
			t.Fatalf("stream %d: %v %v", s, r.AUROC[s], r.Effect[s])
		}
	}
	// The toy's collapse is linear, so steering all streams equals the sum
	// of steering each — up to the nonlinearity of the later layers, the
	// signs must agree.
	for i := range r.Layers {
		sum := 0.0
		for s := 0; s < 4; s++ {
			sum += r.Effect[s][i]
		}
		if sum*r.Effect[4][i] < 0 {
			t.Errorf("layer %d: all-stream effect %v vs per-stream sum %v", r.Layers[i], r.Effect[4][i], sum)
		}
	}
}

func TestSingleTokens(t *testing.T) {
	m := newToy(1)
	if got := SingleTokens(m, "a", "bc", "d"); len(got) != 2 || got[0] != 'a' || got[1] != 'd' {
		t.Errorf("SingleTokens = %v", got)
	}
}

// refusalSubset is the first four prompts of each side of the refusal
// dataset, and their texts.
func refusalSubset(t *testing.T) (d *Dataset, pos, neg []string) {
	t.Helper()
	d, err := LoadDataset("refusal")
	if err != nil {
		t.Fatal(err)
	}
	d.Positive, d.Negative = d.Positive[:4], d.Negative[:4]
	for _, e := range d.Positive {
		pos = append(pos, e.Prompt)
	}
	for _, e := range d.Negative {
		neg = append(neg, e.Prompt)
	}
	return d, pos, neg
}

// With InduceAtRead every induce measurement adds the candidate at the prompt
// position it was read from, and the recorded Induce is that measurement.
func TestSelectDirectionInduceAtRead(t *testing.T) {
	m := newToy(7)
	d, pp, np := refusalSubset(t)
	refuse := []int{int('I'), int('S')}
	neg := LogOddsMetric(m, np, PlainFormat, refuse)
	for _, atRead := range []bool{false, true} {
		var seen [][]int // At of every steered induce call, in grid order
		rec := func(ctx context.Context, s *Steering) ([]float64, error) {
			if s != nil {
				seen = append(seen, s.Steers[0].At)
			}
			return neg(ctx, s)
		}
		g, err := SelectDirection(context.Background(), m, d, LogOddsMetric(m, pp, PlainFormat, refuse), rec,
			GridOptions{Offsets: []int{0, 2}, Layers: []int{1}, MaxKL: 10, IgnoreInduce: true, InduceAtRead: atRead})
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != len(g.Cells) {
			t.Fatalf("InduceAtRead %v: %d induce calls for %d cells", atRead, len(seen), len(g.Cells))
		}
		for i, c := range g.Cells {
			if !atRead {
				if seen[i] != nil {
					t.Errorf("every-position induce of cell %d carried At %v", i, seen[i])
				}
				continue
			}
			if len(seen[i]) != 1 || seen[i][0] != -1-c.Offset {
				t.Errorf("cell offset %d: induce added at %v, want [%d]", c.Offset, seen[i], -1-c.Offset)
			}
			// The recorded Induce is the metric with the candidate added there.
			st := Add(NewVector("c", engine.SiteBlockOut, c.Layer, c.Dir), Raw(1))
			st.At = []int{-1 - c.Offset}
			v, err := neg(context.Background(), Compose(st))
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(mean(v)-c.Induce) > 1e-12 {
				t.Errorf("cell offset %d: Induce %v, independent measurement %v", c.Offset, c.Induce, mean(v))
			}
		}
		if !strings.Contains(g.Rationale, map[bool]string{false: "every position", true: "read from"}[atRead]) {
			t.Errorf("rationale does not say where induce was added: %s", g.Rationale)
		}
	}
}
