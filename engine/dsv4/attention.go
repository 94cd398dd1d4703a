package dsv4

import (
	"math"

	"github.com/steerbook/steerbook/engine/tensor"
)

// segment is one sequence's rows [r0, r0+n) of a batched call, at positions
// pos0… of that sequence, with its layer cache.
type segment struct {
	ls         *layerState
	r0, n, pos int
}

// attention runs one layer's attention sublayer for the rows of several
// sequences (xn: attention-normalised inputs [N][D], pos: each row's
// position), reading and updating each sequence's cache, and writes the
// sublayer output into out [N][D] (design §2.6–2.9). Projections run on all
// rows at once; compressors, indexer selection and the attention core per
// sequence.
func (m *Model) attention(L *Layer, segs []segment, xn []float32, N int, pos []int, out []float32) {
	cfg := m.Cfg
	H, hd, W, rd := cfg.NumAttentionHeads, cfg.HeadDim, cfg.SlidingWindow, cfg.QKRopeHeadDim
	eps := float32(cfg.RMSNormEps)
	rope := L.Rope

	// Query low-rank path: q_lat = RMSNorm(x·wq_aᵀ), q = q_lat·wq_bᵀ, per-head
	// unweighted RMS, RoPE on the last rd dims.
	qlat := make([]float32, N*cfg.QLoraRank)
	L.WqA.MatMul(qlat, xn, N)
	for i := 0; i < N; i++ {
		r := qlat[i*cfg.QLoraRank : (i+1)*cfg.QLoraRank]
		rmsNorm(r, r, L.QNorm, eps)
	}
	q := make([]float32, N*H*hd)
	L.WqB.MatMul(q, qlat, N)
	parallelFor(N, H*hd*4, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			for h := 0; h < H; h++ {
				v := q[(i*H+h)*hd : (i*H+h+1)*hd]
				rmsNorm(v, v, nil, eps)
				rope.Apply(v[hd-rd:], pos[i], false)
			}
		}
	})

	// Shared key/value: k = RMSNorm(x·wkvᵀ), RoPE, FP8 round trip of the nope dims.
	kv := make([]float32, N*hd)
	L.Wkv.MatMul(kv, xn, N)
	parallelFor(N, hd*16, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			k := kv[i*hd : (i+1)*hd]
			rmsNorm(k, k, L.KVNorm, eps)
			rope.Apply(k[hd-rd:], pos[i], false)
			if m.Opt.FP8KV {
				fp8RoundTrip(k[:hd-rd], 64)
			}
		}
	})

	// Indexer queries (CSA) and the compressors: projections for all rows,
	// then each sequence's windows.
	var iq, iw []float32
	if L.Idx != nil {
		iq, iw = L.Idx.queries(qlat, xn, N, pos, rope, m.Opt)
		ikv, isc := L.Idx.Comp.project(xn, N)
		iwid := L.Idx.Comp.width()
		for _, sg := range segs {
			L.Idx.Comp.absorb(sg.ls.idx, &sg.ls.idxKeys, ikv[sg.r0*iwid:], isc[sg.r0*iwid:], sg.n, sg.pos, rope, m.Opt, eps)
		}
	}
	if L.Comp != nil {
		ckv, csc := L.Comp.project(xn, N)
		cwid := L.Comp.width()
		for _, sg := range segs {
			L.Comp.absorb(sg.ls.comp, &sg.ls.entries, ckv[sg.r0*cwid:], csc[sg.r0*cwid:], sg.n, sg.pos, rope, m.Opt, eps)
		}
	}

	// Attention core, parallel over rows of all sequences.
	o := make([]float32, N*H*hd)
	scale := float32(math.Pow(float64(hd), -0.5))
	maxKeys, maxEntries, maxRow := W, 0, 0
	rowSeg := make([]int32, N)
	for si, sg := range segs {
		ne := len(sg.ls.entries) / hd
		k := W
		if L.Comp != nil {
			if L.Idx != nil {
				k += min(ne, L.Idx.TopK)
				maxEntries = max(maxEntries, len(sg.ls.idxKeys)/L.Idx.Dim)
				maxRow = max(maxRow, (sg.pos+sg.n)/L.Ratio)
			} else {
				k += ne
			}
		}
		maxKeys = max(maxKeys, k)
		for i := sg.r0; i < sg.r0+sg.n; i++ {
			rowSeg[i] = int32(si)
		}
	}
	// Phase 1, parallel over rows: each row's key list (its window, then the
	// compressed entries it sees: all of them, or the indexer's choice).
	keysOf := make([][][]float32, N)
	parallelFor(N, maxKeys*64, func(lo, hi int) {
		var ibuf []scored
		var iidx []int
		if L.Idx != nil {
			ibuf = make([]scored, max(maxEntries, maxRow))
			iidx = make([]int, 0, maxEntries)
		}
		for i := lo; i < hi; i++ {
			sg := &segs[rowSeg[i]]
			ls := sg.ls
			s := pos[i]
			keys := make([][]float32, 0, maxKeys)
			for t := max(0, s-W+1); t <= s; t++ {
				if t >= sg.pos {
					r := sg.r0 + t - sg.pos
					keys = append(keys, kv[r*hd:(r+1)*hd])
				} else {
					slot := t % W
					keys = append(keys, ls.win[slot*hd:(slot+1)*hd])
				}
			}
			if L.Comp != nil {
				visible := (s + 1) / L.Ratio
				if L.Idx != nil {
					ih := L.Idx.Heads * L.Idx.Dim
					sel := L.Idx.selectTopK(iq[i*ih:(i+1)*ih], iw[i*L.Idx.Heads:(i+1)*L.Idx.Heads], ls.idxKeys, visible, (sg.pos+sg.n)/L.Ratio, ibuf, iidx)
					for _, w := range sel {
						keys = append(keys, ls.entries[w*hd:(w+1)*hd])
					}
				} else {
					for w := 0; w < visible; w++ {
						keys = append(keys, ls.entries[w*hd:(w+1)*hd])
					}
				}
			}
			keysOf[i] = keys
		}
	})
	// Phase 2, parallel over (row, head): scores, sink softmax, weighted sum
	// of the keys, inverse RoPE. One decode row still spreads over the heads.
	parallelFor(N*H, maxKeys*hd*2, func(lo, hi int) {
		sc := make([]float32, maxKeys)
		for j := lo; j < hi; j++ {
			i, h := j/H, j%H
			keys := keysOf[i]
			oh := o[j*hd : (j+1)*hd]
			sinkAttend(oh, q[j*hd:(j+1)*hd], keys, sc[:len(keys)], scale, L.Sink[h])
			rope.Apply(oh[hd-rd:], pos[i], true)
		}
	})

	// Each sequence's new keys enter its ring only now: with a chunk longer
	// than the window, writing earlier would overwrite keys that rows of the
	// same chunk still read.
	for _, sg := range segs {
		for i := max(0, sg.n-W); i < sg.n; i++ {
			slot := (sg.pos + i) % W
			r := sg.r0 + i
			copy(sg.ls.win[slot*hd:(slot+1)*hd], kv[r*hd:(r+1)*hd])
		}
	}

	// Grouped output projection: group g maps its heads' concatenated outputs
	// to o_lora_rank values; wo_b maps the concatenation to D.
	G, rank := cfg.OGroups, cfg.OLoraRank
	gw := H / G * hd
	og := make([]float32, N*gw)
	ug := make([]float32, N*rank)
	u := make([]float32, N*G*rank)
	for g := 0; g < G; g++ {
		for i := 0; i < N; i++ {
			copy(og[i*gw:(i+1)*gw], o[i*H*hd+g*gw:i*H*hd+(g+1)*gw])
		}
		L.WoA[g].MatMul(ug, og, N)
		for i := 0; i < N; i++ {
			copy(u[i*G*rank+g*rank:i*G*rank+(g+1)*rank], ug[i*rank:(i+1)*rank])
		}
	}
	L.WoB.MatMul(out, u, N)
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
