package dsv4

import (
	"math"
	"sort"

	"github.com/steerbook/steerbook/engine/tensor"
)

// indexerQueries computes the indexer's per-head queries for n rows of q_lat
// (design §2.9 step 1): qI = q_lat·wq_bᵀ, RoPE on each head's last rope dims,
// then Hadamard + FP4 round trip; and the head weights
// wI = (xn·weights_projᵀ)·(headDim^-½·heads^-½).
func (ix *Indexer) queries(qlat, xn []float32, n int, pos []int, rope *Rope, opt Options) (q, wts []float32) {
	hd := ix.Dim
	q = make([]float32, n*ix.Heads*hd)
	ix.WqB.MatMul(q, qlat, n)
	parallelFor(n, ix.Heads*hd*16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for h := 0; h < ix.Heads; h++ {
				v := q[(i*ix.Heads+h)*hd : (i*ix.Heads+h+1)*hd]
				rope.Apply(v[hd-rope.Dim:], pos[i], false)
				if opt.FP4Indexer {
					hadamard(v)
					fp4RoundTrip(v)
				}
			}
		}
	})
	wts = make([]float32, n*ix.Heads)
	ix.WeightsProj.MatMul(wts, xn, n)
	scale := float32(math.Pow(float64(hd), -0.5) * math.Pow(float64(ix.Heads), -0.5))
	for i := range wts {
		wts[i] *= scale
	}
	return q, wts
}

// selectTopK scores the visible indexer keys for one query row,
// I(w) = Σ_h wI_h·relu(qI_h·kI_w), and returns the entries to attend: all
// visible ones when there are at most TopK, else the TopK best. The score row
// is padded with −∞ to rowLen entries, the width the reference's score matrix
// has in the same call ((pos0+n)/ratio), and the choice among exact ties follows
// the reference's torch.topk (see topk.go). buf is scratch of at least rowLen.
func (ix *Indexer) selectTopK(q, wts, keys []float32, visible, rowLen int, buf []scored, out []int) []int {
	hd := ix.Dim
	out = out[:0]
	if visible <= ix.TopK {
		for w := 0; w < visible; w++ {
			out = append(out, w)
		}
		return out
	}
	rowLen = max(rowLen, visible)
	a := buf[:rowLen]
	for w := visible; w < rowLen; w++ {
		a[w] = scored{v: float32(math.Inf(-1)), i: w}
	}
	// Scoring is the one cost linear in the context (design §5.3); long
	// contexts spread it over the cores even for a single decode row.
	parallelFor(visible, ix.Heads*hd, func(lo, hi int) {
		for w := lo; w < hi; w++ {
			k := keys[w*hd : (w+1)*hd]
			var s float32
			for h := 0; h < ix.Heads; h++ {
				d := tensor.Dot(q[h*hd:(h+1)*hd], k)
				if d > 0 {
					s += d * wts[h]
				}
			}
			a[w] = scored{v: s, i: w}
		}
	})
	k := min(ix.TopK, rowLen)
	topKRef(a, k)
	if onIndexerTie != nil && tieAtCut(a, k) {
		onIndexerTie()
	}
	for _, e := range a[:k] {
		if e.i < visible {
			out = append(out, e.i)
		}
	}
	sort.Ints(out)
	return out
}

// onIndexerTie, when set (by tests), is called whenever a top-k selection had
// an exact tie across the cut, i.e. the chosen set depended on tie order.
var onIndexerTie func()

func tieAtCut(a []scored, k int) bool {
	kth := a[0].v
	for _, e := range a[:k] {
		kth = min(kth, e.v)
	}
	for _, e := range a[k:] {
		if e.v == kth {
			return true
		}
	}
	return false
}
