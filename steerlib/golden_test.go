package steerlib

import (
	"context"
	"math"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/internal/golden"
)

// goldenModel is the golden tiny DeepSeek-V4 checkpoint (random weights, no
// tokenizer) with a byte-level stand-in tokenizer, so text datasets run
// through the real engine.
type goldenModel struct{ *EngineModel }

func (g goldenModel) Encode(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = 2 + int(s[i]) // skip BOS 0 and EOS 1
	}
	return out
}

func loadGolden(t *testing.T) goldenModel {
	t.Helper()
	m, err := engine.Load(golden.Dir(t, "bf16"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return goldenModel{Engine(m)}
}

func TestGoldenExtractMatchesEngineCapture(t *testing.T) {
	g := loadGolden(t)
	ctx := context.Background()
	d, _ := LoadDataset("sentiment")
	d, _ = d.Split(0.25)
	a, err := Extract(ctx, g, d, ExtractOptions{Sites: []engine.Site{engine.SiteBlockOut, engine.SiteAttnOut}, BatchSize: 4, Read: ReadLast})
	if err != nil {
		t.Fatal(err)
	}
	var seqs [][]int
	for _, e := range d.Positive {
		tk, _ := PlainFormat.Tokenize(g, e)
		seqs = append(seqs, tk.Tokens)
	}
	c, err := g.M.Capture(ctx, seqs, engine.CaptureRequest{Sites: []engine.Site{engine.SiteBlockOut, engine.SiteAttnOut}, Positions: engine.LastPosition()})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []int{0, 2, 4} {
		pos, _, _ := a.Rows(engine.SiteBlockOut, l)
		want := c.Rows(engine.SiteBlockOut, l)
		for i := range pos {
			D := g.Dim()
			for j := 0; j < D; j++ {
				m := 0.0
				for k := 0; k < 4; k++ {
					m += float64(want[i][k*D+j])
				}
				if math.Abs(pos[i][j]-m/4) > 1e-9 {
					t.Fatalf("block_out layer %d example %d dim %d: %v vs engine capture %v", l, i, j, pos[i][j], m/4)
				}
			}
		}
		posA, _, _ := a.Rows(engine.SiteAttnOut, l)
		wantA := c.Rows(engine.SiteAttnOut, l)
		for i := range posA {
			for j := range posA[i] {
				if posA[i][j] != float64(wantA[i][j]) {
					t.Fatalf("attn_out layer %d differs from engine capture", l)
				}
			}
		}
	}
	// One pass, many estimators.
	for _, e := range Estimators {
		v, err := a.Vector(e, engine.SiteBlockOut, nil, EstimateOptions{})
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if v.Prov.ModelHash != g.Hash() || len(v.Layers()) != g.NumLayers() {
			t.Errorf("%s: provenance %+v", e, v.Prov)
		}
	}
}

func TestGoldenOperatorsAndRemoval(t *testing.T) {
	g := loadGolden(t)
	ctx := context.Background()
	d, _ := LoadDataset("sentiment")
	d, _ = d.Split(0.25)
	a, err := Extract(ctx, g, d, ExtractOptions{Sites: []engine.Site{engine.SiteFFNOut, engine.SiteBlockOut}})
	if err != nil {
		t.Fatal(err)
	}
	vf, _ := a.Vector(DiffMean, engine.SiteFFNOut, []int{2}, EstimateOptions{})
	vb, _ := a.Vector(DiffMean, engine.SiteBlockOut, []int{1, 3}, EstimateOptions{})
	seqs, _ := tokenizeTexts(g, PlainFormat, []string{"The food was", "A hotel room with a view of the"})
	base, _ := g.Forward(ctx, seqs, nil, true)
	u := append([]float64(nil), vf.Dir(2)...)
	normalize(u)
	// Clamp then probe: the projection equals the target.
	var worst float64
	probeFn := Hook{Sel: engine.Selector{Site: engine.SiteFFNOut, Layers: []int{2}}, Fn: func(e *engine.Event) {
		for i := 0; i < e.Rows; i++ {
			p := 0.0
			for j, x := range e.Row(i) {
				p += float64(x) * u[j]
			}
			worst = math.Max(worst, math.Abs(p-0.75))
		}
	}}
	s := Compose(Clamp(vf, Raw(0.75)), Add(vb, Rel(0.3)))
	hooks, err := s.Hooks()
	if err != nil {
		t.Fatal(err)
	}
	steered, err := g.Forward(ctx, seqs, append(hooks, probeFn), true)
	if err != nil {
		t.Fatal(err)
	}
	if worst > 1e-5 {
		t.Errorf("after clamp the projection is off the target by %g", worst)
	}
	// Ablation (at the four streams of block_out) leaves a zero projection
	// in every stream.
	ub := append([]float64(nil), vb.Dir(3)...)
	normalize(ub)
	worstAbl := 0.0
	probeB := Hook{Sel: engine.Selector{Site: engine.SiteBlockOut, Layers: []int{3}}, Fn: func(e *engine.Event) {
		D := len(ub)
		for i := 0; i < e.Rows; i++ {
			r := e.Row(i)
			for k := 0; k < 4; k++ {
				p := 0.0
				for j := 0; j < D; j++ {
					p += float64(r[k*D+j]) * ub[j]
				}
				worstAbl = math.Max(worstAbl, math.Abs(p))
			}
		}
	}}
	ah, _ := Compose(Ablate(vb.At(3))).Hooks()
	if _, err := g.Forward(ctx, seqs, append(ah, probeB), true); err != nil {
		t.Fatal(err)
	}
	if worstAbl > 1e-5 {
		t.Errorf("after ablation a stream's projection is %g", worstAbl)
	}
	after, _ := g.Forward(ctx, seqs, nil, true)
	differs := false
	for i := range base {
		for p := range base[i] {
			for v := range base[i][p] {
				if math.Float32bits(base[i][p][v]) != math.Float32bits(after[i][p][v]) {
					t.Fatalf("logits after removal differ at seq %d pos %d", i, p)
				}
				differs = differs || base[i][p][v] != steered[i][p][v]
			}
		}
	}
	if !differs {
		t.Error("steering had no effect on the golden model")
	}
}

func TestGoldenGenerationAndKVSemantics(t *testing.T) {
	g := loadGolden(t)
	ctx := context.Background()
	prompt := []int{0, 40, 41, 42, 43, 44, 45}
	v := NewVector("v", engine.SiteBlockOut, 1, make([]float64, g.Dim()))
	for i := range v.Dirs[1] {
		v.Dirs[1][i] = math.Sin(float64(i))
	}
	gen := func(st *Steering) []int {
		var hooks []Hook
		if st != nil {
			var err error
			if hooks, err = st.Hooks(); err != nil {
				t.Fatal(err)
			}
		}
		out, err := g.Generate(ctx, prompt, 8, hooks)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	base := gen(nil)
	steer := Add(v, Raw(8))
	all := gen(Compose(steer))
	steer.Phase = Prompt
	promptOnly := gen(Compose(steer))
	if equalInts(base, all) {
		t.Fatal("steering did not change the generation")
	}
	if !equalInts(base, gen(nil)) {
		t.Error("generation after removal differs")
	}
	steer.Phase = Generated
	genOnly := gen(Compose(steer))
	if genOnly[0] != base[0] || equalInts(genOnly, base) {
		t.Errorf("generated-only steering: first token must be the unsteered one, later ones changed: %v vs %v", genOnly, base)
	}
	t.Logf("unsteered %v, steered %v, prompt-only %v, generated-only %v", base, all, promptOnly, genOnly)
	// Interventions() gives the engine's own Generate the same steering.
	ivs, err := Compose(Add(v, Raw(8))).Interventions()
	if err != nil {
		t.Fatal(err)
	}
	eg, err := g.M.GenerateTokens(ctx, prompt, engine.GenerateOptions{MaxTokens: 8, Interventions: ivs, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	n := min(len(eg.Tokens), len(all))
	if !equalInts(eg.Tokens[:n], all[:n]) {
		t.Errorf("engine.Generate with Interventions %v vs steerlib hooks %v", eg.Tokens, all)
	}
	// Sample with the engine's sampler: seeded, so repeatable, and greedy
	// sampling equals Generate.
	gs1, err := Sample(ctx, g, []string{"abc"}, PlainFormat, Compose(Add(v, Raw(8))), engine.GenerateOptions{MaxTokens: 6, Temperature: 0.8, Seed: 3, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	gs2, _ := Sample(ctx, g, []string{"abc"}, PlainFormat, Compose(Add(v, Raw(8))), engine.GenerateOptions{MaxTokens: 6, Temperature: 0.8, Seed: 3, IgnoreEOS: true})
	if !equalInts(gs1[0].Tokens, gs2[0].Tokens) {
		t.Errorf("seeded sampling not repeatable: %v vs %v", gs1[0].Tokens, gs2[0].Tokens)
	}
	// Prompt i samples with Seed+i: the second copy of a prompt is the
	// first copy sampled with the next seed, not the same draws again.
	pair, err := Sample(ctx, g, []string{"abc", "abc"}, PlainFormat, nil, engine.GenerateOptions{MaxTokens: 6, Temperature: 0.8, Seed: 3, IgnoreEOS: true})
	if err != nil {
		t.Fatal(err)
	}
	next, _ := Sample(ctx, g, []string{"abc"}, PlainFormat, nil, engine.GenerateOptions{MaxTokens: 6, Temperature: 0.8, Seed: 4, IgnoreEOS: true})
	if !equalInts(pair[1].Tokens, next[0].Tokens) {
		t.Errorf("prompt 1 with seed 3: %v, prompt 0 with seed 4: %v", pair[1].Tokens, next[0].Tokens)
	}
	// KV semantics: a prompt-only steering changes the first token's
	// distribution; the decode steps that follow are unsteered themselves
	// but attend to the steered cache, so they differ from a run whose
	// prefill was unsteered even when fed the same tokens.
	sess := g.M.NewSession()
	l0, _ := sess.Prefill(ctx, prompt)
	steer = Add(v, Raw(8))
	steer.Phase = Prompt
	hooks, _ := Compose(steer).Hooks()
	var opts []engine.RunOption
	for _, h := range hooks {
		opts = append(opts, engine.WithHook(h.Sel, h.Fn))
	}
	ss := g.M.NewSession(opts...)
	l1, _ := ss.Prefill(ctx, prompt)
	d0, _ := sess.Decode(ctx, 50)
	d1, _ := ss.Decode(ctx, 50)
	if maxAbsDiff32(l0[len(l0)-1], l1[len(l1)-1]) == 0 || maxAbsDiff32(d0, d1) == 0 {
		t.Error("a steered prefill should leave its mark on later unsteered decode steps")
	}
}

func TestGoldenConditionalBatch(t *testing.T) {
	g := loadGolden(t)
	ctx := context.Background()
	seqs := [][]int{{0, 70, 71, 72, 73}, {0, 300, 200, 100, 9}}
	// Condition direction: the mean attn_in of sequence 0 at layer 1.
	var acc []float64
	h := Hook{Sel: engine.Selector{Site: engine.SiteAttnIn, Layers: []int{1}}, Fn: func(e *engine.Event) {
		if e.Seq != 0 {
			return
		}
		acc = make([]float64, e.Width)
		for i := 0; i < e.Rows; i++ {
			for j, x := range e.Row(i) {
				acc[j] += float64(x)
			}
		}
	}}
	g.Forward(ctx, seqs, []Hook{h}, false)
	cond := &Condition{Vector: NewVector("c", engine.SiteAttnIn, 1, acc), Layer: 1, Threshold: 0.99}
	v := NewVector("v", engine.SiteBlockOut, 3, acc)
	st := Add(v, Raw(0.05))
	st.Condition = cond
	s := Compose(st)
	hooks, err := s.Hooks()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := g.Forward(ctx, seqs, nil, false)
	got, _ := g.Forward(ctx, seqs, hooks, false)
	if maxAbsDiff32(base[0][0], got[0][0]) == 0 {
		t.Error("sequence meeting the condition was not steered")
	}
	if maxAbsDiff32(base[1][0], got[1][0]) != 0 {
		t.Error("sequence failing the condition was steered")
	}
	t.Logf("condition cosines per sequence: %v", s.Scores()[cond])
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
