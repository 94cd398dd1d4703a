package dsv4

import "math"

// width is the per-token projection width c·Dim (c = 2 for the overlapping
// ratio-4 compressor).
func (c *Compressor) width() int {
	if c.Overlap {
		return 2 * c.Dim
	}
	return c.Dim
}

// extend feeds the tokens at positions pos0… (normalised block inputs xn
// [n][D]) into the compressor state and appends every entry that a complete
// window produces to *entries (design §2.8, §5.2): gated softmax pooling per
// channel, RMSNorm, RoPE at the window's first position, then the
// quantisation simulation. rope is the compressed-layer RoPE.
func (c *Compressor) extend(st *compState, entries *[]float32, xn []float32, n, pos0 int, rope *Rope, opt Options, eps float32) {
	kv, sc := c.project(xn, n)
	c.absorb(st, entries, kv, sc, n, pos0, rope, opt, eps)
}

// project computes the per-token projections a = x·wkvᵀ and z = x·wgateᵀ
// ([n][c·Dim] each) for any rows, so a batch shares the matrix products.
func (c *Compressor) project(xn []float32, n int) (kv, sc []float32) {
	w := c.width()
	kv = make([]float32, n*w)
	sc = make([]float32, n*w)
	c.Wkv.MatMul(kv, xn, n)
	c.Wgate.MatMul(sc, xn, n)
	return kv, sc
}

// absorb feeds one sequence's projected tokens (positions pos0…) into its
// state, appending the entries of every window they complete.
func (c *Compressor) absorb(st *compState, entries *[]float32, kv, sc []float32, n, pos0 int, rope *Rope, opt Options, eps float32) {
	w := c.width()
	r, d := c.Ratio, c.Dim
	entry := make([]float32, d)
	wts := make([]float32, 2*r)
	vals := make([]float32, 2*r)
	for i := 0; i < n; i++ {
		t := pos0 + i
		slot := t % r
		copy(st.kv[slot*w:(slot+1)*w], kv[i*w:(i+1)*w])
		z := st.score[slot*w : (slot+1)*w]
		ape := c.Ape[slot*w : (slot+1)*w]
		for j := range z {
			z[j] = sc[i*w+j] + ape[j]
		}
		if (t+1)%r != 0 {
			continue
		}
		// Pool the window that ends at t.
		for ch := 0; ch < d; ch++ {
			k := 0
			if c.Overlap {
				if st.hasPrev {
					for s := 0; s < r; s++ {
						wts[k], vals[k] = st.prevScore[s*w+ch], st.prevKV[s*w+ch]
						k++
					}
				}
				for s := 0; s < r; s++ {
					wts[k], vals[k] = st.score[s*w+d+ch], st.kv[s*w+d+ch]
					k++
				}
			} else {
				for s := 0; s < r; s++ {
					wts[k], vals[k] = st.score[s*w+ch], st.kv[s*w+ch]
					k++
				}
			}
			entry[ch] = softmaxPool(wts[:k], vals[:k])
		}
		rmsNorm(entry, entry, c.Norm, eps)
		rd := rope.Dim
		rope.Apply(entry[d-rd:], t+1-r, false)
		if c.Rotate {
			if opt.FP4Indexer {
				hadamard(entry)
				fp4RoundTrip(entry)
			}
		} else if opt.FP8KV {
			fp8RoundTrip(entry[:d-rd], 64)
		}
		*entries = append(*entries, entry...)
		if c.Overlap {
			copy(st.prevKV, st.kv)
			copy(st.prevScore, st.score)
			st.hasPrev = true
		}
	}
}

// softmaxPool returns Σ softmax(z)_i · a_i.
func softmaxPool(z, a []float32) float32 {
	mx := float32(math.Inf(-1))
	for _, v := range z {
		mx = max(mx, v)
	}
	var s float32
	for i, v := range z {
		e := float32(math.Exp(float64(v - mx)))
		z[i] = e
		s += e
	}
	var out float32
	for i := range z {
		out += a[i] * (z[i] / s)
	}
	return out
}

// rmsNorm writes dst = w ⊙ x / sqrt(mean(x²) + eps) (dst may alias x).
func rmsNorm(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v * v)
	}
	r := float32(1 / math.Sqrt(float64(float32(ss)/float32(len(x))+eps)))
	if w == nil {
		for i, v := range x {
			dst[i] = v * r
		}
		return
	}
	for i, v := range x {
		dst[i] = w[i] * (v * r)
	}
}
