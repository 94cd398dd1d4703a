package dsv4

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*(1+math.Abs(b)) }

// hc_post (§2.2): h'[k] = post[k]·f + Σ_j C[j][k]·h[j] — note the sum runs over
// the source index j.
func TestHCPostFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	n, d := 4, 8
	mix := hcMix{pre: randVec(r, n), post: randVec(r, n), comb: randVec(r, n*n)}
	f, h := randVec(r, d), randVec(r, n*d)
	out := make([]float32, n*d)
	hcPost(out, f, h, &mix, n, d)
	for k := 0; k < n; k++ {
		for c := 0; c < d; c++ {
			want := float64(mix.post[k]) * float64(f[c])
			for j := 0; j < n; j++ {
				want += float64(mix.comb[j*n+k]) * float64(h[j*d+c])
			}
			if !near(float64(out[k*d+c]), want, 1e-5) {
				t.Fatalf("h'[%d][%d] = %g, want %g", k, c, out[k*d+c], want)
			}
		}
	}
	y := make([]float32, d)
	hcCollapse(y, h, mix.pre, d)
	for c := 0; c < d; c++ {
		var want float64
		for j := 0; j < n; j++ {
			want += float64(mix.pre[j]) * float64(h[j*d+c])
		}
		if !near(float64(y[c]), want, 1e-5) {
			t.Fatalf("collapse[%d]", c)
		}
	}
}

// Attention with a sink (§2.7): the sink joins the denominator, not the max.
func TestSinkAttendFormula(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	d := 16
	q := randVec(r, d)
	var keys [][]float32
	for i := 0; i < 5; i++ {
		keys = append(keys, randVec(r, d))
	}
	sink, scale := float32(0.7), float32(0.25)
	o := make([]float32, d)
	sinkAttend(o, q, keys, make([]float32, len(keys)), scale, sink)
	var z float64
	w := make([]float64, len(keys))
	for i, k := range keys {
		var s float64
		for c := range q {
			s += float64(q[c]) * float64(k[c])
		}
		w[i] = math.Exp(s * float64(scale))
		z += w[i]
	}
	z += math.Exp(float64(sink))
	for c := 0; c < d; c++ {
		var want float64
		for i, k := range keys {
			want += w[i] * float64(k[c]) / z
		}
		if !near(float64(o[c]), want, 1e-5) {
			t.Fatalf("o[%d] = %g, want %g", c, o[c], want)
		}
	}
}

// Compressor pooling (§2.8): per channel, softmax over the window's gate
// logits (+ape) weighting the projections; the overlapping ratio-4 form takes
// the A-halves of the previous window and the B-halves of this one.
func TestCompressorPooling(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	D, d := 8, 64 // d = rope dim, so no FP8 (nope part is empty)
	rope := NewRope(64, 10000, 0, 1, 0, 0)
	for _, ratio := range []int{2, 4} {
		overlap := ratio == 4
		c := 1
		if overlap {
			c = 2
		}
		comp := &Compressor{Wkv: NewDense(randVec(r, c*d*D), c*d, D), Wgate: NewDense(randVec(r, c*d*D), c*d, D),
			Ape: randVec(r, ratio*c*d), Norm: nil, Ratio: ratio, Dim: d, Overlap: overlap}
		comp.Norm = make([]float32, d)
		for i := range comp.Norm {
			comp.Norm[i] = 1
		}
		T := 3 * ratio
		x := randVec(r, T*D)
		st := newCompState(comp)
		var entries []float32
		comp.extend(st, &entries, x, T, 0, rope, Options{}, 1e-6)
		if len(entries) != 3*d {
			t.Fatalf("ratio %d: %d entries", ratio, len(entries)/d)
		}
		kv, sc := comp.project(x, T)
		for w := 0; w < 3; w++ {
			want := make([]float32, d)
			for ch := 0; ch < d; ch++ {
				var zs, as []float64
				add := func(tok, col int) {
					zs = append(zs, float64(sc[tok*c*d+col]+comp.Ape[(tok%ratio)*c*d+col]))
					as = append(as, float64(kv[tok*c*d+col]))
				}
				if overlap {
					if w > 0 {
						for i := 0; i < ratio; i++ {
							add((w-1)*ratio+i, ch)
						}
					}
					for i := 0; i < ratio; i++ {
						add(w*ratio+i, d+ch)
					}
				} else {
					for i := 0; i < ratio; i++ {
						add(w*ratio+i, ch)
					}
				}
				mx := slices.Max(zs)
				var z, e float64
				for i := range zs {
					z += math.Exp(zs[i] - mx)
				}
				for i := range zs {
					e += math.Exp(zs[i]-mx) / z * as[i]
				}
				want[ch] = float32(e)
			}
			rmsNorm(want, want, comp.Norm, 1e-6)
			rope.Apply(want, w*ratio, false)
			for ch := 0; ch < d; ch++ {
				if !near(float64(entries[w*d+ch]), float64(want[ch]), 1e-4) {
					t.Fatalf("ratio %d entry %d ch %d: %g, want %g", ratio, w, ch, entries[w*d+ch], want[ch])
				}
			}
		}
	}
}

// Router (§2.10): sqrt-softplus scores, selection on score+bias, weights are
// the uncorrected scores renormalised and scaled; hash layers take tid2eid.
func TestRouterFormula(t *testing.T) {
	cfg := FlashConfig()
	cfg.NRoutedExperts, cfg.NumExpertsPerTok, cfg.RoutedScalingFactor = 6, 2, 1.5
	m := &Model{Cfg: cfg}
	scores := []float32{0.9, 0.2, 0.8, 0.1, 0.5, 0.3}
	bias := []float32{0, 0, -1, 0, 0.5, 0}
	L := &Layer{Bias: bias}
	experts, weights := make([]int, 2), make([]float32, 2)
	m.selectExperts(L, scores, []int{0}, 1, experts, weights)
	// biased: 0.9, 0.2, -0.2, 0.1, 1.0, 0.3 → experts 4 then 0
	if !slices.Equal(experts, []int{4, 0}) {
		t.Fatalf("experts %v", experts)
	}
	if !near(float64(weights[0]), 0.5/1.4*1.5, 1e-6) || !near(float64(weights[1]), 0.9/1.4*1.5, 1e-6) {
		t.Errorf("weights %v", weights)
	}
	H := &Layer{Tid2Eid: []int32{5, 1, 3, 2}}
	m.selectExperts(H, scores, []int{1}, 1, experts, weights)
	if !slices.Equal(experts, []int{3, 2}) || !near(float64(weights[0]), 0.1/0.9*1.5, 1e-6) {
		t.Errorf("hash: experts %v weights %v", experts, weights)
	}
	if softplus(30) != 30 || !near(float64(softplus(0)), math.Log(2), 1e-7) {
		t.Error("softplus")
	}
}

// SwiGLU with clamp (§2.10 step 5): u clamped to ±λ, g only from above, the
// routing weight multiplies the activation before w2.
func TestExpertClamp(t *testing.T) {
	eye := func(n int) *Dense {
		w := make([]float32, n*n)
		for i := 0; i < n; i++ {
			w[i*n+i] = 1
		}
		return NewDense(w, n, n)
	}
	m := &Model{}
	ex := &Expert{W1: eye(4), W2: eye(4), W3: eye(4)}
	x := []float32{3, -3, 0.5, -20}
	g, u, out := make([]float32, 4), make([]float32, 4), make([]float32, 4)
	m.expert(ex, x, 1, []float32{2}, 1, g, u, out)
	silu := func(v float64) float64 { return v / (1 + math.Exp(-v)) }
	for i, v := range x {
		gv := math.Min(float64(v), 1)
		uv := math.Max(math.Min(float64(v), 1), -1)
		want := 2 * silu(gv) * uv
		if !near(float64(out[i]), want, 1e-6) {
			t.Errorf("x=%g: %g, want %g", v, out[i], want)
		}
	}
}

// Lightning indexer score (§2.9): I(w) = Σ_h wI_h·relu(qI_h·kI_w); the top-k
// of the visible entries are kept; with at most TopK visible, all of them.
func TestIndexerSelection(t *testing.T) {
	ix := &Indexer{Heads: 2, Dim: 2, TopK: 2}
	q := []float32{1, 0, 0, 1}                        // head 0 reads dim 0, head 1 dim 1
	wts := []float32{1, -2}                           // head 1 counts negatively
	keys := []float32{1, 0, 0, 1, 3, 1, -1, -1, 2, 0} // scores: 1, -2, 3-2=1, 0, 2
	buf := make([]scored, 8)
	got := ix.selectTopK(q, wts, keys, 5, 5, buf, nil)
	if !slices.Equal(got, []int{2, 4}) && !slices.Equal(got, []int{0, 4}) {
		t.Errorf("selected %v, want entry 4 and one of the tied entries 0/2", got)
	}
	if got := ix.selectTopK(q, wts, keys, 2, 5, buf, nil); !slices.Equal(got, []int{0, 1}) {
		t.Errorf("two visible entries: %v", got)
	}
	// Entries beyond the visible count are never chosen even when the score
	// row is wider (padded with −∞ like the reference's).
	if got := ix.selectTopK(q, wts, keys, 3, 5, buf, nil); !slices.Equal(got, []int{0, 2}) {
		t.Errorf("three visible: %v", got)
	}
}
