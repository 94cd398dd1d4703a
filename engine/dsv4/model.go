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
	// evaluated and the state cannot be extended afterwards.
	Blocks int
}

// ErrStateInvalid is returned when extending a cache that an earlier call left
// incomplete (cancelled, failed, or truncated with RunConfig.Blocks).
var ErrStateInvalid = errors.New("dsv4: the sequence cache is incomplete (an earlier call was cancelled, failed or stopped early); start a new state")

// Run is Extend with a context (checked between blocks; on cancellation the
// state is left invalid) and the options of RunConfig.
func (m *Model) Run(ctx context.Context, st *State, tokens []int, rc RunConfig) (*Result, error) {
	if st.invalid {
		return nil, ErrStateInvalid
	}
	want, obs := rc.Want, rc.Obs
	cfg := m.Cfg
	n := len(tokens)
	if n == 0 {
		return &Result{}, nil
	}
	for i, t := range tokens {
		if t < 0 || t >= cfg.VocabSize {
			return nil, fmt.Errorf("token %d at position %d: outside the vocabulary [0,%d)", t, st.Pos+i, cfg.VocabSize)
		}
	}
	D, nS := cfg.HiddenSize, cfg.HCMult
	hw := nS * D
	pos0 := st.Pos
	eps := float32(cfg.RMSNormEps)
	visit := func(s Site, layer int, data []float32, rows, width int, row0 int) *Visit {
		if obs == nil || !obs.Wants(s, layer) {
			return nil
		}
		v := &Visit{Site: s, Layer: layer, Pos0: pos0 + row0, Tokens: tokens[row0 : row0+rows], Rows: rows, Width: width, Data: data}
		obs.Visit(v)
		return v
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
		for i := 0; i < n; i++ {
			splitSinkhorn(mixes[i*mixW:(i+1)*mixW], p, nS, cfg.HCSinkhornIters, float32(cfg.HCEps), &mix[i])
			hcCollapse(y[i*D:(i+1)*D], h[i*hw:(i+1)*hw], mix[i].pre, D)
		}
	}
	hcPostAll := func() {
		for i := 0; i < n; i++ {
			hcPost(h2[i*hw:(i+1)*hw], sub[i*D:(i+1)*D], h[i*hw:(i+1)*hw], &mix[i], nS, D)
		}
		h, h2 = h2, h
	}
	norm := func(w []float32) {
		for i := 0; i < n; i++ {
			rmsNorm(xn[i*D:(i+1)*D], y[i*D:(i+1)*D], w, eps)
		}
	}

	// §2.3 blocks.
	st.invalid = true // until the call completes
	for l, L := range m.Layers {
		if rc.Blocks > 0 && l >= rc.Blocks {
			return &Result{}, nil
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ls := &st.layers[l]
		visit(BlockIn, l, h, n, hw, 0)

		hcPre(&L.hcAttn)
		visit(AttnIn, l, y, n, D, 0)
		norm(L.AttnNorm)
		m.attention(L, ls, xn, n, pos0, sub)
		visit(AttnOut, l, sub, n, D, 0)
		hcPostAll()

		hcPre(&L.hcFFN)
		visit(FFNIn, l, y, n, D, 0)
		norm(L.FFNNorm)
		scores, experts, weights := m.route(L, xn, tokens, n)
		if obs != nil && obs.Wants(Router, l) {
			// The observer sees scores and the choice made from them. Editing
			// Experts/Weights changes the routing directly; editing the scores
			// re-derives the choice from the edited scores.
			before := append([]float32(nil), scores...)
			v := &Visit{Site: Router, Layer: l, Pos0: pos0, Tokens: tokens, Rows: n, Width: cfg.NRoutedExperts,
				Data: scores, Experts: experts, Weights: weights, TopK: cfg.NumExpertsPerTok}
			obs.Visit(v)
			if !slices.Equal(before, scores) {
				m.selectExperts(L, scores, tokens, n, experts, weights)
			}
			for _, e := range experts {
				if e < 0 || e >= cfg.NRoutedExperts {
					return nil, fmt.Errorf("router hook at layer %d: expert id %d out of range [0,%d)", l, e, cfg.NRoutedExperts)
				}
			}
		}
		m.moe(L, xn, n, experts, weights, sub)
		visit(FFNOut, l, sub, n, D, 0)
		hcPostAll()
		visit(BlockOut, l, h, n, hw, 0)
	}

	// §2.11 head, only for the rows that are wanted.
	r0, rows := 0, 0
	switch {
	case want == LogitsAll || (obs != nil && (obs.Wants(Final, -1) || obs.Wants(Logits, -1))):
		r0, rows = 0, n
	case want == LogitsLast:
		r0, rows = n-1, 1
	}
	res := &Result{}
	if rows > 0 {
		mx := make([]float32, rows*nS)
		hcMixes(&m.hcHead, h[r0*hw:], rows, cfg.RMSNormEps, mx)
		z := y[:rows*D]
		pre := make([]float32, nS)
		for i := 0; i < rows; i++ {
			for j := 0; j < nS; j++ {
				pre[j] = sigmoid(mx[i*nS+j]*m.hcHead.scale[0]+m.hcHead.base[j]) + float32(cfg.HCEps)
			}
			hcCollapse(z[i*D:(i+1)*D], h[(r0+i)*hw:(r0+i+1)*hw], pre, D)
		}
		visit(Final, -1, z, rows, D, r0)
		for i := 0; i < rows; i++ {
			rmsNorm(z[i*D:(i+1)*D], z[i*D:(i+1)*D], m.Norm, eps)
		}
		V := cfg.VocabSize
		logits := make([]float32, rows*V)
		m.Head.MatMul(logits, z, rows)
		visit(Logits, -1, logits, rows, V, r0)
		keep := func(i int) { res.Logits = append(res.Logits, logits[i*V:(i+1)*V:(i+1)*V]) }
		switch want {
		case LogitsAll:
			for i := 0; i < rows; i++ {
				keep(i)
			}
		case LogitsLast:
			keep(rows - 1)
		}
	}
	st.Pos += n
	st.Tokens = append(st.Tokens, tokens...)
	st.invalid = false
	return res, nil
}
