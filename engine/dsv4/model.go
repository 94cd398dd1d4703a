package dsv4

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Site identifies a hook point of the forward pass (the engine package gives
// them their public names; see engine/site.go).
type Site uint8

const (
	BlockIn  Site = iota // [hc_mult·D] streams entering block L
	AttnIn               // [D] hc_pre output, before attn_norm
	AttnOut              // [D] attention output, before hc_post
	FFNIn                // [D] hc_pre output, before ffn_norm
	Router               // [E] router scores; Experts/Weights hold the choice
	FFNOut               // [D] MoE output, before hc_post
	BlockOut             // [hc_mult·D] streams leaving block L
	Final                // [D] hc_head output, before the final norm
	Logits               // [V]
	NumSites
)

// Visit is one call of the forward pass at a site for a contiguous run of a
// sequence's tokens. Data is Rows×Width, row-major; row i is the token at
// position Pos0+i (Tokens[i]). Observers may edit Data in place (and, at the
// router, Experts and Weights); the forward pass continues with the edited
// values.
type Visit struct {
	Site   Site
	Layer  int // -1 for Final and Logits
	Pos0   int
	Tokens []int
	Rows   int
	Width  int
	Data   []float32

	Experts []int     // Router: Rows×TopK chosen experts
	Weights []float32 // Router: their routing weights
	TopK    int
}

// Observer receives visits. Wants is asked first so that the forward pass
// can skip building visits nobody reads.
type Observer interface {
	Wants(s Site, layer int) bool
	Visit(v *Visit)
}

// LogitRows says for which rows of a call the head is evaluated.
type LogitRows int

const (
	LogitsNone LogitRows = iota
	LogitsLast
	LogitsAll
)

// Result is the output of one Extend call.
type Result struct {
	// Logits holds one [V] row per evaluated position (all rows, the last row,
	// or none).
	Logits [][]float32
}

func (m *Model) embedRow(dst []float32, tok int) {
	D := m.Cfg.HiddenSize
	if m.embedF != nil {
		copy(dst, m.embedF[tok*D:(tok+1)*D])
		return
	}
	raw := m.embed.Data[tok*D*2 : (tok+1)*D*2]
	if m.embed.DType == "BF16" {
		for i := range dst[:D] {
			dst[i] = bf16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return
	}
	for i := range dst[:D] {
		dst[i] = f16ToF32(binary.LittleEndian.Uint16(raw[2*i:]))
	}
}

// Extend runs tokens through the model at positions st.Pos… of the sequence
// whose cache is st, updating the cache. One call with the whole prompt is a
// prefill; one call per token is decode; any split gives the same result
// (design §5.2), except where an exact tie in the indexer's top-k is broken
// differently (topk.go). obs may be nil.
func (m *Model) Extend(st *State, tokens []int, want LogitRows, obs Observer) (*Result, error) {
	return m.Run(context.Background(), st, tokens, RunConfig{Want: want, Obs: obs})
}

// RunConfig configures one Run call.
type RunConfig struct {
	Want LogitRows
	Obs  Observer
	// Blocks, when positive and below the depth, stops after that many
	// blocks (a capture that only reads early layers). The head is not
	// evaluated, and the state can afterwards only be extended by runs of at
	// most the same depth.
	Blocks int
}

// ErrStateInvalid is returned when extending a cache that an earlier call left
// incomplete (cancelled, failed, or truncated with RunConfig.Blocks).
var ErrStateInvalid = errors.New("dsv4: the sequence cache is incomplete (an earlier call was cancelled or failed, or stopped at a shallower block); start a new state")

// Run is Extend with a context (checked between blocks; on cancellation the
// state is left invalid) and the options of RunConfig.
func (m *Model) Run(ctx context.Context, st *State, tokens []int, rc RunConfig) (*Result, error) {
	res, err := m.RunBatch(ctx, []Seq{{State: st, Tokens: tokens, Obs: rc.Obs, Want: rc.Want}}, rc.Blocks)
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// Seq is one sequence of a batched call: its cache, the tokens to append,
// its observer (may be nil) and which logits it wants.
type Seq struct {
	State  *State
	Tokens []int
	Obs    Observer
	Want   LogitRows
}

// RunBatch extends several sequences in one pass: every row-wise part
// (embedding, hyper-connections, norms, projections inside the MoE, the head)
// runs on the rows of all sequences together, attention runs per sequence on
// its own cache. Each sequence's result equals a Run of it alone. Observers
// are visited sequence by sequence, in batch order, at every site. blocks > 0
// stops after that many blocks (see RunConfig.Blocks).
func (m *Model) RunBatch(ctx context.Context, seqs []Seq, blocks int) ([]*Result, error) {
	cfg := m.Cfg
	B := len(seqs)
	off := make([]int, B+1)
	if blocks >= len(m.Layers) {
		blocks = 0
	}
	for b, sq := range seqs {
		if sq.State.invalid || (sq.State.blocks > 0 && (blocks == 0 || blocks > sq.State.blocks)) {
			return nil, ErrStateInvalid
		}
		for i, t := range sq.Tokens {
			if t < 0 || t >= cfg.VocabSize {
				return nil, fmt.Errorf("sequence %d: token %d at position %d: outside the vocabulary [0,%d)", b, t, sq.State.Pos+i, cfg.VocabSize)
			}
		}
		off[b+1] = off[b] + len(sq.Tokens)
	}
	n := off[B]
	results := make([]*Result, B)
	for b := range results {
		results[b] = &Result{}
	}
	if n == 0 {
		return results, nil
	}
	tokens := make([]int, 0, n)
	for _, sq := range seqs {
		tokens = append(tokens, sq.Tokens...)
	}
	D, nS := cfg.HiddenSize, cfg.HCMult
	hw := nS * D
	eps := float32(cfg.RMSNormEps)
	// visit offers the rows of every sequence to its observer.
	visit := func(s Site, layer int, data []float32, width int) {
		for b, sq := range seqs {
			if sq.Obs == nil || len(sq.Tokens) == 0 || !sq.Obs.Wants(s, layer) {
				continue
			}
			sq.Obs.Visit(&Visit{Site: s, Layer: layer, Pos0: sq.State.Pos, Tokens: sq.Tokens, Rows: off[b+1] - off[b],
				Width: width, Data: data[off[b]*width : off[b+1]*width]})
		}
	}

	// §2.1 embedding, expanded to the hc_mult streams.
	h := make([]float32, n*hw)
	for i, t := range tokens {
		m.embedRow(h[i*hw:i*hw+D], t)
		for j := 1; j < nS; j++ {
			copy(h[i*hw+j*D:i*hw+(j+1)*D], h[i*hw:i*hw+D])
		}
	}
	h2 := make([]float32, n*hw)
	y := make([]float32, n*D)
	xn := make([]float32, n*D)
	sub := make([]float32, n*D)
	mixW := (2 + nS) * nS
	mixes := make([]float32, n*mixW)
	mix := make([]hcMix, n)
	for i := range mix {
		mix[i] = hcMix{pre: make([]float32, nS), post: make([]float32, nS), comb: make([]float32, nS*nS)}
	}
	hcPre := func(p *hcParams) {
		hcMixes(p, h, n, cfg.RMSNormEps, mixes)
		parallelFor(n, hw+cfg.HCSinkhornIters*nS*nS*4, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				splitSinkhorn(mixes[i*mixW:(i+1)*mixW], p, nS, cfg.HCSinkhornIters, float32(cfg.HCEps), &mix[i])
				hcCollapse(y[i*D:(i+1)*D], h[i*hw:(i+1)*hw], mix[i].pre, D)
			}
		})
	}
	hcPostAll := func() {
		parallelFor(n, hw*(nS+1), func(lo, hi int) {
			for i := lo; i < hi; i++ {
				hcPost(h2[i*hw:(i+1)*hw], sub[i*D:(i+1)*D], h[i*hw:(i+1)*hw], &mix[i], nS, D)
			}
		})
		h, h2 = h2, h
	}
	norm := func(w []float32) {
		for i := 0; i < n; i++ {
			rmsNorm(xn[i*D:(i+1)*D], y[i*D:(i+1)*D], w, eps)
		}
	}

	// §2.3 blocks.
	for _, sq := range seqs {
		sq.State.invalid = true // until the call completes
	}
	rowPos := make([]int, 0, n)
	for _, sq := range seqs {
		for i := range sq.Tokens {
			rowPos = append(rowPos, sq.State.Pos+i)
		}
	}
	segs := make([]segment, 0, B)
	for l, L := range m.Layers {
		if blocks > 0 && l >= blocks {
			// Truncated run: the first blocks layers are cached and the
			// sequence may be extended by runs of at most this depth.
			for _, sq := range seqs {
				sq.State.Pos += len(sq.Tokens)
				sq.State.Tokens = append(sq.State.Tokens, sq.Tokens...)
				sq.State.invalid = false
				sq.State.blocks = blocks
			}
			return results, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		visit(BlockIn, l, h, hw)

		hcPre(&L.hcAttn)
		visit(AttnIn, l, y, D)
		norm(L.AttnNorm)
		segs = segs[:0]
		for b, sq := range seqs {
			if nb := off[b+1] - off[b]; nb > 0 {
				segs = append(segs, segment{ls: &sq.State.layers[l], r0: off[b], n: nb, pos: sq.State.Pos})
			}
		}
		m.attention(L, segs, xn, n, rowPos, sub)
		visit(AttnOut, l, sub, D)
		hcPostAll()

		hcPre(&L.hcFFN)
		visit(FFNIn, l, y, D)
		norm(L.FFNNorm)
		scores, experts, weights := m.route(L, xn, tokens, n)
		if err := m.visitRouter(L, seqs, off, scores, experts, weights); err != nil {
			return nil, err
		}
		m.moe(L, xn, n, experts, weights, sub)
		visit(FFNOut, l, sub, D)
		hcPostAll()
		visit(BlockOut, l, h, hw)
	}

	// §2.11 head, only for the rows that are wanted.
	type span struct{ r0, rows, at int }
	spans := make([]span, B)
	R := 0
	for b, sq := range seqs {
		nb := off[b+1] - off[b]
		sp := span{at: R}
		switch {
		case nb == 0:
		case sq.Want == LogitsAll || (sq.Obs != nil && (sq.Obs.Wants(Final, -1) || sq.Obs.Wants(Logits, -1))):
			sp.r0, sp.rows = off[b], nb
		case sq.Want == LogitsLast:
			sp.r0, sp.rows = off[b+1]-1, 1
		}
		spans[b] = sp
		R += sp.rows
	}
	if R > 0 {
		hh := make([]float32, R*hw)
		for _, sp := range spans {
			copy(hh[sp.at*hw:], h[sp.r0*hw:(sp.r0+sp.rows)*hw])
		}
		z := hcHead(&m.hcHead, hh, R, nS, D, cfg.RMSNormEps, cfg.HCEps)
		headVisit := func(s Site, data []float32, width int) {
			for b, sq := range seqs {
				sp := spans[b]
				if sp.rows == 0 || sq.Obs == nil || !sq.Obs.Wants(s, -1) {
					continue
				}
				r0 := sp.r0 - off[b]
				sq.Obs.Visit(&Visit{Site: s, Layer: -1, Pos0: sq.State.Pos + r0, Tokens: sq.Tokens[r0 : r0+sp.rows], Rows: sp.rows,
					Width: width, Data: data[sp.at*width : (sp.at+sp.rows)*width]})
			}
		}
		headVisit(Final, z, D)
		for i := 0; i < R; i++ {
			rmsNorm(z[i*D:(i+1)*D], z[i*D:(i+1)*D], m.Norm, eps)
		}
		V := cfg.VocabSize
		logits := make([]float32, R*V)
		m.Head.MatMul(logits, z, R)
		headVisit(Logits, logits, V)
		for b, sq := range seqs {
			sp := spans[b]
			keep := func(i int) { results[b].Logits = append(results[b].Logits, logits[i*V:(i+1)*V:(i+1)*V]) }
			switch {
			case sp.rows == 0:
			case sq.Want == LogitsAll:
				for i := 0; i < sp.rows; i++ {
					keep(sp.at + i)
				}
			case sq.Want == LogitsLast:
				keep(sp.at + sp.rows - 1)
			}
		}
	}
	for _, sq := range seqs {
		sq.State.Pos += len(sq.Tokens)
		sq.State.Tokens = append(sq.State.Tokens, sq.Tokens...)
		sq.State.invalid = false
	}
	return results, nil
}

// visitRouter offers each sequence's router scores and routing to its
// observer. Editing Experts/Weights changes the routing directly; editing the
// scores re-derives the choice from the edited scores.
func (m *Model) visitRouter(L *Layer, seqs []Seq, off []int, scores []float32, experts []int, weights []float32) error {
	E, K := m.Cfg.NRoutedExperts, m.Cfg.NumExpertsPerTok
	for b, sq := range seqs {
		nb := off[b+1] - off[b]
		if sq.Obs == nil || nb == 0 || !sq.Obs.Wants(Router, L.Index) {
			continue
		}
		sc := scores[off[b]*E : off[b+1]*E]
		ex := experts[off[b]*K : off[b+1]*K]
		wt := weights[off[b]*K : off[b+1]*K]
		before := append([]float32(nil), sc...)
		sq.Obs.Visit(&Visit{Site: Router, Layer: L.Index, Pos0: sq.State.Pos, Tokens: sq.Tokens, Rows: nb, Width: E,
			Data: sc, Experts: ex, Weights: wt, TopK: K})
		if !slices.Equal(before, sc) {
			m.selectExperts(L, sc, sq.Tokens, nb, ex, wt)
		}
		for _, e := range ex {
			if e < 0 || e >= E {
				return fmt.Errorf("router hook at layer %d: expert id %d out of range [0,%d)", L.Index, e, E)
			}
		}
	}
	return nil
}
