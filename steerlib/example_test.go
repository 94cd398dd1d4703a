package steerlib

import (
	"context"
	"fmt"

	"github.com/steerbook/steerbook/engine"
)

// The examples run on a small synthetic model with the engine's sites
// (toyModel); in a notebook, wrap a real model with Engine(m).

func ExampleLoadDataset() {
	d, err := LoadDataset("sentiment")
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Name, len(d.Positive), len(d.Negative), d.Paired)
	fmt.Println(d.Positive[0].Prompt)
	fmt.Println(d.Negative[0].Prompt)
	fmt.Println(DatasetNames())
	// Output:
	// sentiment 24 24 true
	// I had dinner at this restaurant last week and it was excellent.
	// I had dinner at this restaurant last week and it was disappointing.
	// [choice neutral persona refusal register requests sentiment topic truefalse]
}

func ExampleChoicePairs() {
	pairs, _ := ChoicePairs([]ChoiceItem{{Question: "Which review is positive?", A: "Great soup.", B: "Cold soup.", Matching: "A"}})
	p := pairs[0].Positive
	fmt.Printf("%q\n", ChatFormat.Render(p).Text)
	r := ChatFormat.Render(p)
	fmt.Printf("marked byte: %q\n", r.Text[r.MarkAt])
	// Output:
	// "<｜begin▁of▁sentence｜><｜User｜>Which review is positive?\n\nChoices:\n(A) Great soup.\n(B) Cold soup.<｜Assistant｜></think>(A)"
	// marked byte: 'A'
}

func ExamplePersonaPairs() {
	pairs, _ := PersonaPairs("Act as if you are extremely {persona}.", [][2]string{{"happy", "sad"}}, []string{"I went outside"})
	for _, p := range pairs {
		fmt.Printf("%q | %q\n", PlainFormat.Render(p.Positive).Text, PlainFormat.Render(p.Negative).Text)
	}
	// Output:
	// "Act as if you are extremely happy. I" | "Act as if you are extremely sad. I"
	// "Act as if you are extremely happy. I went" | "Act as if you are extremely sad. I went"
	// "Act as if you are extremely happy. I went outside" | "Act as if you are extremely sad. I went outside"
}

func ExampleExtract() {
	ctx := context.Background()
	m := newToy(1) // in a notebook: m := steerlib.Engine(model)
	d, _ := LoadDataset("sentiment")
	// One batched pass captures two sites at every layer; every estimator
	// then reads the same activations.
	acts, err := Extract(ctx, m, d, ExtractOptions{Sites: []engine.Site{engine.SiteBlockOut, engine.SiteFFNOut}, Read: ReadLast})
	if err != nil {
		panic(err)
	}
	v, _ := acts.Vector(PCACenter, engine.SiteBlockOut, nil, EstimateOptions{})
	fmt.Println(v.Layers(), v.Prov.Estimator, v.Prov.Position, v.Prov.Streams, v.Prov.Examples)
	sep, _ := acts.Separability(engine.SiteBlockOut, DiffMean, EstimateOptions{})
	fmt.Println(len(sep.Layers), "layers measured")
	// Output:
	// [0 1 2 3] pca_center last mean 48
	// 4 layers measured
}

func ExampleEstimate() {
	// Two positives and two negatives that differ along the first axis.
	pos := [][]float64{{2, 1}, {3, -1}}
	neg := [][]float64{{0, 1}, {-1, -1}}
	for _, e := range []Estimator{DiffMean, PCACenter, LDA} {
		v, _ := Estimate(e, pos, neg, EstimateOptions{})
		fmt.Printf("%s %.3f %.3f\n", e, v[0], v[1])
	}
	// Output:
	// diffmean 3.000 0.000
	// pca_center 1.000 0.000
	// lda 1.000 0.000
}

func ExampleCompose() {
	ctx := context.Background()
	m := newToy(2)
	d, _ := LoadDataset("sentiment")
	acts, _ := Extract(ctx, m, d, ExtractOptions{Layers: []int{2}})
	v, _ := acts.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
	// Add at 0.5 × the typical activation norm on generated tokens only,
	// halving every 8 tokens, and clamp the projection at layer 2 for the
	// prompt.
	add := Add(v, Rel(0.5))
	add.Phase, add.Decay = Generated, ExpDecay(8)
	clamp := Clamp(v, Raw(0))
	clamp.Phase = Prompt
	s := Compose(add, clamp)
	hooks, err := s.Hooks()
	if err != nil {
		panic(err)
	}
	seqs := [][]int{m.Encode("The soup was")}
	steered, _ := m.Forward(ctx, seqs, hooks, false)
	plain, _ := m.Forward(ctx, seqs, nil, false) // removal: just run without the hooks
	fmt.Println(len(hooks), steered[0][0][0] != plain[0][0][0])
	// Output:
	// 2 true
}

func ExampleSweep() {
	ctx := context.Background()
	m := newToy(3)
	d, _ := LoadDataset("sentiment")
	acts, _ := Extract(ctx, m, d, ExtractOptions{Layers: []int{1, 2}})
	v, _ := acts.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
	metric := LogitDiffMetric(m, []string{"The hotel was", "This phone is"}, PlainFormat, m.Encode("g"), m.Encode("b"))
	r, err := Sweep(ctx, m, v, metric, DoseOptions{Strengths: []float64{-0.5, 0, 0.5}, Neutral: NeutralTexts()[:3]})
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Layers, r.Strengths, len(r.PerPrompt[0][0]), r.Cost[0][1].KL)
	// Output:
	// [1 2] [-0.5 0 0.5] 2 0
}

func ExampleSelectDirection() {
	ctx := context.Background()
	m := newToy(4)
	d, _ := LoadDataset("refusal")
	d.Positive, d.Negative = d.Positive[:6], d.Negative[:6]
	var harmful, benign []string
	for i := range d.Positive {
		harmful, benign = append(harmful, d.Positive[i].Prompt), append(benign, d.Negative[i].Prompt)
	}
	refusalTokens := m.Encode("IS") // in a notebook: the ids of "I", "Sorry", …
	grid, err := SelectDirection(ctx, m, d,
		LogOddsMetric(m, harmful, ChatFormat, refusalTokens), LogOddsMetric(m, benign, ChatFormat, refusalTokens),
		GridOptions{Offsets: []int{0, 1}, Format: ChatFormat, MaxKL: 10, IgnoreInduce: true}) // the toy model is fragile; Arditi et al. use 0.1
	if err != nil {
		panic(err)
	}
	fmt.Println(len(grid.Cells), "candidates;", grid.Selected != nil)
	// Output:
	// 8 candidates; true
}

func ExampleExpertShiftOf() {
	ctx := context.Background()
	m := newToy(5)
	d, _ := LoadDataset("sentiment")
	acts, _ := Extract(ctx, m, d, ExtractOptions{Layers: []int{0}})
	v, _ := acts.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
	x, err := ExpertShiftOf(ctx, m, NeutralTexts(), PlainFormat, Compose(Add(v, Rel(1))))
	if err != nil {
		panic(err)
	}
	// Layer 0 routes before the steer at its output; later layers may change.
	fmt.Println(len(x.Delta), "layers ×", len(x.Delta[0]), "experts; layer 0 unchanged:", x.Changed[0] == 0)
	// Output:
	// 4 layers × 4 experts; layer 0 unchanged: true
}

func ExampleActivations_SearchCondition() {
	ctx := context.Background()
	m := newToy(6)
	topic, _ := TopicContrast("restaurant", "")
	acts, _ := Extract(ctx, m, topic, ExtractOptions{Sites: []engine.Site{engine.SiteAttnIn}})
	g, err := acts.SearchCondition(engine.SiteAttnIn, nil)
	if err != nil {
		panic(err)
	}
	// Gate a steer on the best condition: only restaurant reviews get it.
	sent, _ := LoadDataset("sentiment")
	sa, _ := Extract(ctx, m, sent, ExtractOptions{Layers: []int{3}})
	v, _ := sa.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
	st := Add(v, Rel(0.5))
	st.Phase = Generated // decided at prefill, so any condition layer works
	st.Condition = g.Condition()
	_, err = Compose(st).Hooks()
	fmt.Println(len(g.Layers), "layers searched;", err == nil)
	// Output:
	// 4 layers searched; true
}
