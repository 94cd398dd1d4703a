package steerlib

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

func randDir(rng *rand.Rand, d int) []float64 {
	v := make([]float64, d)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// probe returns a hook that records, per (seq, position), the stream-0 row
// at (site, layer) after the hooks registered before it ran.
func probe(site engine.Site, layer int, into map[[2]int][]float64) Hook {
	return Hook{Sel: engine.Selector{Site: site, Layers: []int{layer}}, Fn: func(e *engine.Event) {
		for i := 0; i < e.Rows; i++ {
			r := e.Row(i)
			row := make([]float64, len(r))
			for j, x := range r {
				row[j] = float64(x)
			}
			into[[2]int{e.Seq, e.Positions[i]}] = row
		}
	}}
}

func TestOperatorAlgebra(t *testing.T) {
	m := newToy(3)
	rng := rand.New(rand.NewPCG(3, 3))
	dir := randDir(rng, m.D)
	u := append([]float64(nil), dir...)
	normalize(u)
	v := NewVector("v", engine.SiteAttnOut, 1, dir)
	v.Norms[1] = NormStats{Mean: 2, Count: 1}
	v.ClassProj[1] = [2]float64{0.7, -0.4}
	toks := [][]int{m.Encode("hello world"), m.Encode("steering")}
	base := map[[2]int][]float64{}
	_, _ = m.Forward(context.Background(), toks, []Hook{probe(engine.SiteAttnOut, 1, base)}, false)
	run := func(st Steer) map[[2]int][]float64 {
		hooks, err := Compose(st).Hooks()
		if err != nil {
			t.Fatal(err)
		}
		got := map[[2]int][]float64{}
		_, _ = m.Forward(context.Background(), toks, append(hooks, probe(engine.SiteAttnOut, 1, got)), false)
		return got
	}
	const tol = 1e-5
	for k, x := range run(Clamp(v, Raw(1.5))) {
		if p := dot(x, u); math.Abs(p-1.5) > tol {
			t.Fatalf("clamp: projection %v at %v, want 1.5", p, k)
		}
		// The orthogonal part is untouched.
		if r := sub(sub(x, scale(u, dot(x, u))), sub(base[k], scale(u, dot(base[k], u)))); norm(r) > tol {
			t.Fatalf("clamp changed the orthogonal complement by %g", norm(r))
		}
	}
	for _, x := range run(Clamp(v, Rel(0.5))) { // 0.5 × mean norm 2 = 1
		if p := dot(x, u); math.Abs(p-1) > tol {
			t.Fatalf("relative clamp: projection %v, want 1", p)
		}
	}
	for _, x := range run(Ablate(v)) {
		if p := dot(x, u); math.Abs(p) > tol {
			t.Fatalf("ablate: projection %v, want 0", p)
		}
	}
	for k, x := range run(Reflect(v)) {
		if p, p0 := dot(x, u), dot(base[k], u); math.Abs(p+p0) > tol {
			t.Fatalf("reflect: projection %v, want %v", p, -p0)
		}
	}
	for k, x := range run(ScaleProjection(v, 3)) {
		if p, p0 := dot(x, u), dot(base[k], u); math.Abs(p-3*p0) > tol {
			t.Fatalf("amplify: projection %v, want %v", p, 3*p0)
		}
	}
	for _, x := range run(MeanAblate(v)) {
		if p := dot(x, u); math.Abs(p+0.4) > tol {
			t.Fatalf("mean-ablate: projection %v, want −0.4", p)
		}
	}
	for k, x := range run(Add(v, Raw(2))) {
		if diff := maxAbsDiff(x, addv(base[k], scale(dir, 2))); diff > tol {
			t.Fatalf("add: off by %g", diff)
		}
	}
	for k, x := range run(Add(v, Rel(0.25))) { // unit dir × 0.25 × 2
		if diff := maxAbsDiff(x, addv(base[k], scale(u, 0.5))); diff > tol {
			t.Fatalf("relative add: off by %g", diff)
		}
	}
	for k, x := range run(AddNormPreserving(v, Raw(1))) {
		if math.Abs(norm(x)-norm(base[k])) > tol {
			t.Fatalf("add-norm changed the norm %v → %v", norm(base[k]), norm(x))
		}
		if dot(x, u) <= dot(base[k], u) {
			t.Fatal("add-norm did not move along the vector")
		}
	}
}

func TestStreamSitesAndComposition(t *testing.T) {
	m := newToy(4)
	rng := rand.New(rand.NewPCG(4, 4))
	v := NewVector("v", engine.SiteBlockOut, 2, randDir(rng, m.D))
	w := NewVector("w", engine.SiteBlockOut, 2, randDir(rng, m.D))
	toks := [][]int{m.Encode("abc")}
	got := map[[2]int][]float64{}
	hooks, _ := Compose(Add(v, Raw(1)), Ablate(w)).Hooks()
	m.Forward(context.Background(), toks, append(hooks, probe(engine.SiteBlockOut, 2, got)), false)
	u := append([]float64(nil), w.Dir(2)...)
	normalize(u)
	for _, x := range got {
		for k := 0; k < 4; k++ { // every stream was ablated after the add
			if p := dot(x[k*m.D:(k+1)*m.D], u); math.Abs(p) > 1e-5 {
				t.Fatalf("stream %d projection %v after add then ablate", k, p)
			}
		}
	}
	// Only stream 2.
	base, one := map[[2]int][]float64{}, map[[2]int][]float64{}
	m.Forward(context.Background(), toks, []Hook{probe(engine.SiteBlockOut, 2, base)}, false)
	st := Add(v, Raw(1))
	st.Streams = []int{2}
	hooks, _ = Compose(st).Hooks()
	m.Forward(context.Background(), toks, append(hooks, probe(engine.SiteBlockOut, 2, one)), false)
	for key, x := range one {
		for k := 0; k < 4; k++ {
			d := maxAbsDiff(x[k*m.D:(k+1)*m.D], base[key][k*m.D:(k+1)*m.D])
			if (k == 2) != (d > 1e-3) {
				t.Fatalf("stream %d changed by %g", k, d)
			}
		}
	}
}

func TestRemovalIsExact(t *testing.T) {
	m := newToy(5)
	rng := rand.New(rand.NewPCG(5, 5))
	v := NewVector("v", engine.SiteBlockOut, 1, randDir(rng, m.D))
	seqs := [][]int{m.Encode("the food was"), m.Encode("ok")}
	l0, _ := m.Forward(context.Background(), seqs, nil, true)
	s := Compose(Add(v, Raw(3)))
	hooks, _ := s.Hooks()
	l1, _ := m.Forward(context.Background(), seqs, hooks, true)
	l2, _ := m.Forward(context.Background(), seqs, nil, true)
	same := func(a, b [][][]float32) bool {
		for i := range a {
			for j := range a[i] {
				for k := range a[i][j] {
					if math.Float32bits(a[i][j][k]) != math.Float32bits(b[i][j][k]) {
						return false
					}
				}
			}
		}
		return true
	}
	if same(l0, l1) {
		t.Fatal("steering had no effect")
	}
	if !same(l0, l2) {
		t.Fatal("logits after removal are not bit-identical")
	}
}

func TestPositionAndPhaseSelection(t *testing.T) {
	m := newToy(6)
	rng := rand.New(rand.NewPCG(6, 6))
	v := NewVector("v", engine.SiteAttnOut, 0, randDir(rng, m.D))
	prompt := m.Encode("abcdef") // 6 prompt tokens
	changed := func(st Steer) map[int]bool {
		base, got := map[[2]int][]float64{}, map[[2]int][]float64{}
		// Record the hook's input and output on the same run: compare rows
		// before (probe first) and after (probe last) the steer.
		hooks, err := Compose(st).Hooks()
		if err != nil {
			t.Fatal(err)
		}
		all := append([]Hook{probe(engine.SiteAttnOut, 0, base)}, hooks...)
		all = append(all, probe(engine.SiteAttnOut, 0, got))
		if _, err := m.Generate(context.Background(), prompt, 3, all); err != nil {
			t.Fatal(err)
		}
		out := map[int]bool{}
		for k, x := range got {
			if maxAbsDiff(x, base[k]) > 0 {
				out[k[1]] = true
			}
		}
		return out
	}
	eq := func(name string, got map[int]bool, want ...int) {
		if len(got) != len(want) {
			t.Errorf("%s: steered positions %v, want %v", name, got, want)
			return
		}
		for _, p := range want {
			if !got[p] {
				t.Errorf("%s: steered positions %v, want %v", name, got, want)
			}
		}
	}
	st := Add(v, Raw(1))
	eq("both", changed(st), 0, 1, 2, 3, 4, 5, 6, 7, 8)
	st.Phase = Prompt
	eq("prompt", changed(st), 0, 1, 2, 3, 4, 5)
	st.Phase = Generated
	eq("generated", changed(st), 6, 7, 8)
	st.Phase, st.LastK = Both, 2
	eq("last 2 + generated", changed(st), 4, 5, 6, 7, 8)
	st.LastK, st.At = 0, []int{0, -1}
	eq("explicit", changed(st), 0, 5)
	st.At, st.Tokens = nil, []int{'c', 'e'} // prompt "abcdef": positions 2 and 4
	st.Phase = Prompt
	eq("token ids", changed(st), 2, 4)
	// Decay: the change at generated token t shrinks as 0.5^t.
	st = Add(v, Raw(1))
	st.Phase, st.Decay = Generated, ExpDecay(1)
	var deltas []float64
	base, got := map[[2]int][]float64{}, map[[2]int][]float64{}
	hooks, _ := Compose(st).Hooks()
	m.Generate(context.Background(), prompt, 3, append(append([]Hook{probe(engine.SiteAttnOut, 0, base)}, hooks...), probe(engine.SiteAttnOut, 0, got)))
	for p := 6; p <= 7; p++ {
		deltas = append(deltas, norm(sub(got[[2]int{0, p}], base[[2]int{0, p}])))
	}
	if r := deltas[1] / deltas[0]; math.Abs(r-0.5) > 1e-4 {
		t.Errorf("decay ratio %v, want 0.5", r)
	}
}

func TestConditionalPerSequence(t *testing.T) {
	m := newToy(7)
	// The condition direction is the layer-0 attn_in activation of sequence
	// A's prompt, so A's cosine is 1 and B's is lower.
	seqs := [][]int{m.Encode("aaaa"), m.Encode("zq!?")}
	rows := map[[2]int][]float64{}
	m.Forward(context.Background(), seqs[:1], []Hook{probe(engine.SiteAttnIn, 0, rows)}, false)
	var acc []float64
	for p := 0; p < 4; p++ {
		if acc == nil {
			acc = make([]float64, m.D)
		}
		acc = addv(acc, rows[[2]int{0, p}])
	}
	cond := &Condition{Vector: NewVector("c", engine.SiteAttnIn, 0, acc), Layer: 0, Threshold: 0.999}
	rng := rand.New(rand.NewPCG(7, 7))
	st := Add(NewVector("v", engine.SiteBlockOut, 2, randDir(rng, m.D)), Raw(2))
	st.Condition = cond
	s := Compose(st)
	hooks, err := s.Hooks()
	if err != nil {
		t.Fatal(err)
	}
	l0, _ := m.Forward(context.Background(), seqs, nil, false)
	l1, _ := m.Forward(context.Background(), seqs, hooks, false)
	if maxAbsDiff32(l0[0][0], l1[0][0]) == 0 {
		t.Error("matching sequence not steered")
	}
	if maxAbsDiff32(l0[1][0], l1[1][0]) != 0 {
		t.Error("non-matching sequence steered")
	}
	sc := s.Scores()[cond]
	if sc[0] < 0.999 || sc[1] >= 0.999 {
		t.Errorf("scores %v", sc)
	}
	// Flipping the comparator steers the complement.
	cond.Comparator = Less
	hooks, _ = s.Hooks()
	l2, _ := m.Forward(context.Background(), seqs, hooks, false)
	if maxAbsDiff32(l0[0][0], l2[0][0]) != 0 || maxAbsDiff32(l0[1][0], l2[1][0]) == 0 {
		t.Error("comparator < does not steer the complement")
	}
	// Two gates: "all" needs both (never, with an impossible second gate),
	// "any" needs one.
	never := &Condition{Vector: cond.Vector, Layer: 0, Threshold: 2}
	cond.Comparator = Greater
	st2 := st
	st2.Conditions = []*Condition{never}
	hooks, _ = Compose(st2).Hooks()
	l3, _ := m.Forward(context.Background(), seqs, hooks, false)
	if maxAbsDiff32(l0[0][0], l3[0][0]) != 0 {
		t.Error("rule all: steered although one gate never fires")
	}
	st2.Rule = "any"
	hooks, _ = Compose(st2).Hooks()
	l4, _ := m.Forward(context.Background(), seqs, hooks, false)
	if maxAbsDiff32(l0[0][0], l4[0][0]) == 0 || maxAbsDiff32(l0[1][0], l4[1][0]) != 0 {
		t.Error("rule any: wrong sequences steered")
	}
	// A steered layer before the condition is rejected.
	bad := Add(NewVector("v", engine.SiteAttnIn, 0, acc), Raw(1))
	bad.Condition = &Condition{Vector: NewVector("c", engine.SiteBlockOut, 1, acc), Layer: 1}
	if _, err := Compose(bad).Hooks(); err == nil {
		t.Error("condition after the steered site accepted")
	}
	bad.Phase = Generated // decided at prefill, applied later: fine
	if _, err := Compose(bad).Hooks(); err != nil {
		t.Errorf("generated-only steer before its condition layer rejected: %v", err)
	}
}

func maxAbsDiff32(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func TestCheckRejectsWrongWidth(t *testing.T) {
	m := newToy(1)
	bad := Compose(Add(NewVector("v", engine.SiteAttnOut, 1, make([]float64, m.D+1)), Raw(1)))
	if err := bad.Check(m); err == nil {
		t.Error("wrong width accepted")
	}
	if _, err := LogitDiffMetric(m, []string{"a"}, PlainFormat, []int{1}, []int{2})(context.Background(), bad); err == nil {
		t.Error("metric ran a steering of the wrong width")
	}
	out := Compose(Add(NewVector("v", engine.SiteAttnOut, 9, make([]float64, m.D)), Raw(1)))
	if err := out.Check(m); err == nil {
		t.Error("layer outside the model accepted")
	}
	per := Compose(Add(NewVector("v", engine.SiteBlockOut, 1, make([]float64, 4*m.D)), Raw(1)))
	if err := per.Check(m); err != nil {
		t.Errorf("per-stream vector rejected: %v", err)
	}
}
