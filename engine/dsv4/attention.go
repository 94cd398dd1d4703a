package dsv4

import (
	"math"

	"github.com/steerbook/steerbook/engine/tensor"
)

// attention runs one layer's attention sublayer for the n tokens at
// positions pos0… of one sequence (xn: attention-normalised inputs [n][D]),
// reading and updating the layer's cache, and writes the sublayer output
// into out [n][D] (design §2.6–2.9).
func (m *Model) attention(L *Layer, ls *layerState, xn []float32, n, pos0 int, out []float32) {
	cfg := m.Cfg
	H, hd, W, rd := cfg.NumAttentionHeads, cfg.HeadDim, cfg.SlidingWindow, cfg.QKRopeHeadDim
	eps := float32(cfg.RMSNormEps)
	rope := L.Rope

	// Query low-rank path: q_lat = RMSNorm(x·wq_aᵀ), q = q_lat·wq_bᵀ, per-head
	// unweighted RMS, RoPE on the last rd dims.
	qlat := make([]float32, n*cfg.QLoraRank)
	L.WqA.MatMul(qlat, xn, n)
	for i := 0; i < n; i++ {
		r := qlat[i*cfg.QLoraRank : (i+1)*cfg.QLoraRank]
		rmsNorm(r, r, L.QNorm, eps)
	}
	q := make([]float32, n*H*hd)
	L.WqB.MatMul(q, qlat, n)
	for i := 0; i < n; i++ {
		for h := 0; h < H; h++ {
			v := q[(i*H+h)*hd : (i*H+h+1)*hd]
			rmsNorm(v, v, nil, eps)
			rope.Apply(v[hd-rd:], pos0+i, false)
		}
	}

	// Shared key/value: k = RMSNorm(x·wkvᵀ), RoPE, FP8 round trip of the nope dims.
	kv := make([]float32, n*hd)
	L.Wkv.MatMul(kv, xn, n)
	for i := 0; i < n; i++ {
		k := kv[i*hd : (i+1)*hd]
		rmsNorm(k, k, L.KVNorm, eps)
		rope.Apply(k[hd-rd:], pos0+i, false)
		if m.Opt.FP8KV {
			fp8RoundTrip(k[:hd-rd], 64)
		}
	}

	// Indexer (CSA): queries now, keys from its compressor.
	var iq, iw []float32
	if L.Idx != nil {
		iq, iw = L.Idx.queries(qlat, xn, n, pos0, rope, m.Opt)
		L.Idx.Comp.extend(ls.idx, &ls.idxKeys, xn, n, pos0, rope, m.Opt, eps)
	}
	if L.Comp != nil {
		L.Comp.extend(ls.comp, &ls.entries, xn, n, pos0, rope, m.Opt, eps)
	}

	// Attention core, parallel over (row, head).
	o := make([]float32, n*H*hd)
	scale := float32(math.Pow(float64(hd), -0.5))
	maxKeys := W
	if L.Comp != nil {
		ne := len(ls.entries) / hd
		if L.Idx != nil {
			maxKeys += min(ne, L.Idx.TopK)
		} else {
			maxKeys += ne
		}
	}
	keyAt := func(t int) []float32 {
		if t >= pos0 {
			return kv[(t-pos0)*hd : (t-pos0+1)*hd]
		}
		s := t % W
		return ls.win[s*hd : (s+1)*hd]
	}
	parallelFor(n, H*maxKeys*hd*2, func(lo, hi int) {
		keys := make([][]float32, 0, maxKeys)
		sc := make([]float32, maxKeys)
		var ibuf []scored
		var iidx []int
		if L.Idx != nil {
			ne := len(ls.idxKeys) / L.Idx.Dim
			ibuf = make([]scored, max(ne, (pos0+n)/L.Ratio))
			iidx = make([]int, 0, ne)
		}
		for i := lo; i < hi; i++ {
			s := pos0 + i
			keys = keys[:0]
			for t := max(0, s-W+1); t <= s; t++ {
				keys = append(keys, keyAt(t))
			}
			if L.Comp != nil {
				visible := (s + 1) / L.Ratio
				if L.Idx != nil {
					ih := L.Idx.Heads * L.Idx.Dim
					sel := L.Idx.selectTopK(iq[i*ih:(i+1)*ih], iw[i*L.Idx.Heads:(i+1)*L.Idx.Heads], ls.idxKeys, visible, (pos0+n)/L.Ratio, ibuf, iidx)
					for _, w := range sel {
						keys = append(keys, ls.entries[w*hd:(w+1)*hd])
					}
				} else {
					for w := 0; w < visible; w++ {
						keys = append(keys, ls.entries[w*hd:(w+1)*hd])
					}
				}
			}
			for h := 0; h < H; h++ {
				qh := q[(i*H+h)*hd : (i*H+h+1)*hd]
				oh := o[(i*H+h)*hd : (i*H+h+1)*hd]
				sinkAttend(oh, qh, keys, sc[:len(keys)], scale, L.Sink[h])
				rope.Apply(oh[hd-rd:], s, true)
			}
		}
	})

	// The chunk's keys enter the ring only now: with a chunk longer than the
	// window, writing earlier would overwrite keys that rows of this chunk
	// still read.
	for i := max(0, n-W); i < n; i++ {
		s := (pos0 + i) % W
		copy(ls.win[s*hd:(s+1)*hd], kv[i*hd:(i+1)*hd])
	}

	// Grouped output projection: group g maps its heads' concatenated outputs
	// to o_lora_rank values; wo_b maps the concatenation to D.
	G, rank := cfg.OGroups, cfg.OLoraRank
	gw := H / G * hd
	og := make([]float32, n*gw)
	ug := make([]float32, n*rank)
	u := make([]float32, n*G*rank)
	for g := 0; g < G; g++ {
		for i := 0; i < n; i++ {
			copy(og[i*gw:(i+1)*gw], o[i*H*hd+g*gw:i*H*hd+(g+1)*gw])
		}
		L.WoA[g].MatMul(ug, og, n)
		for i := 0; i < n; i++ {
			copy(u[i*G*rank+g*rank:i*G*rank+(g+1)*rank], ug[i*rank:(i+1)*rank])
		}
	}
	L.WoB.MatMul(out, u, n)
}

// sinkAttend computes o = Σ_t exp(s_t − m)·k_t / (Σ_t exp(s_t − m) + exp(sink − m))
// with s_t = (q·k_t)·scale and m = max_t s_t (the sink is not part of the max).
func sinkAttend(o, q []float32, keys [][]float32, sc []float32, scale, sink float32) {
	mx := float32(math.Inf(-1))
	for t, k := range keys {
		sc[t] = tensor.Dot(q, k) * scale
		mx = max(mx, sc[t])
	}
	var z float32
	for t := range sc {
		sc[t] = float32(math.Exp(float64(sc[t] - mx)))
		z += sc[t]
	}
	z += float32(math.Exp(float64(sink - mx)))
	for c := range o {
		o[c] = 0
	}
	for t, k := range keys {
		tensor.Axpy(sc[t], k, o)
	}
	for c := range o {
		o[c] /= z
	}
}
