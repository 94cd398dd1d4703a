package dsv4

import (
	"context"
	"errors"
	"fmt"
)

// MTPState is the multi-token-prediction block's cache for one sequence (its
// attention window, and compressed state if the block has any).
type MTPState struct {
	Pos int
	ls  layerState
}

// NewMTPState returns an empty MTP cache (the model must have been loaded
// with Options.MTP).
func (m *Model) NewMTPState() *MTPState {
	if m.MTP == nil {
		return nil
	}
	tmp := &State{layers: make([]layerState, 1)}
	W, hd := m.Cfg.SlidingWindow, m.Cfg.HeadDim
	tmp.layers[0].win = make([]float32, W*hd)
	if c := m.MTP.Block.Comp; c != nil {
		tmp.layers[0].comp = newCompState(c)
	}
	if ix := m.MTP.Block.Idx; ix != nil {
		tmp.layers[0].idx = newCompState(ix.Comp)
	}
	return &MTPState{ls: tmp.layers[0]}
}

// ErrNoMTP is returned by RunMTP when the model was loaded without the MTP block.
var ErrNoMTP = errors.New("dsv4: the MTP block is not loaded (Options.MTP)")

// RunMTP runs the MTP block (design §2.12) on n rows at positions st.Pos…:
// streams holds the main model's last block output at those positions
// ([n][hc_mult·D], the block_out of the deepest block) and next the token that
// follows each position. It returns draft logits [n][V] for the token after
// next. e = enorm(embed(next)); x = e_proj(e) + h_proj(hnorm(h)) per stream;
// then the block; then the MTP's own hc_head, norm, and the shared head.
func (m *Model) RunMTP(ctx context.Context, st *MTPState, streams []float32, next []int) ([][]float32, error) {
	mt := m.MTP
	if mt == nil || st == nil {
		return nil, ErrNoMTP
	}
	cfg := m.Cfg
	D, nS := cfg.HiddenSize, cfg.HCMult
	hw := nS * D
	n := len(next)
	if len(streams) != n*hw {
		return nil, fmt.Errorf("dsv4: RunMTP: %d stream values for %d rows, want %d", len(streams), n, n*hw)
	}
	for i, t := range next {
		if t < 0 || t >= cfg.VocabSize {
			return nil, fmt.Errorf("dsv4: RunMTP: token %d at row %d outside the vocabulary", t, i)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	eps := float32(cfg.RMSNormEps)
	e := make([]float32, n*D)
	for i, t := range next {
		m.embedRow(e[i*D:(i+1)*D], t)
		rmsNorm(e[i*D:(i+1)*D], e[i*D:(i+1)*D], mt.ENorm, eps)
	}
	ep := make([]float32, n*D)
	mt.EProj.MatMul(ep, e, n)
	hn := make([]float32, n*hw)
	for r := 0; r < n*nS; r++ {
		rmsNorm(hn[r*D:(r+1)*D], streams[r*D:(r+1)*D], mt.HNorm, eps)
	}
	h := make([]float32, n*hw)
	mt.HProj.MatMul(h, hn, n*nS)
	for i := 0; i < n; i++ {
		for j := 0; j < nS; j++ {
			row := h[i*hw+j*D : i*hw+(j+1)*D]
			for c := range row {
				row[c] += ep[i*D+c]
			}
		}
	}
	h = m.blockForward(mt.Block, &st.ls, h, next, st.Pos)
	// The MTP head: its own hc_head and norm, the shared head.weight.
	z := hcHead(&mt.hcHead, h, n, nS, D, cfg.RMSNormEps, cfg.HCEps)
	for i := 0; i < n; i++ {
		rmsNorm(z[i*D:(i+1)*D], z[i*D:(i+1)*D], mt.Norm, eps)
	}
	V := cfg.VocabSize
	logits := make([]float32, n*V)
	m.Head.MatMul(logits, z, n)
	out := make([][]float32, n)
	for i := range out {
		out[i] = logits[i*V : (i+1)*V : (i+1)*V]
	}
	st.Pos += n
	return out, nil
}

// blockForward runs one block (design §2.3) on streams h [n][hc_mult·D] of one
// sequence at positions pos0…, without observers, and returns the new streams.
func (m *Model) blockForward(L *Layer, ls *layerState, h []float32, tokens []int, pos0 int) []float32 {
	cfg := m.Cfg
	D, nS := cfg.HiddenSize, cfg.HCMult
	hw := nS * D
	n := len(tokens)
	eps := float32(cfg.RMSNormEps)
	mixW := (2 + nS) * nS
	mixes := make([]float32, n*mixW)
	mix := make([]hcMix, n)
	for i := range mix {
		mix[i] = hcMix{pre: make([]float32, nS), post: make([]float32, nS), comb: make([]float32, nS*nS)}
	}
	y := make([]float32, n*D)
	xn := make([]float32, n*D)
	sub := make([]float32, n*D)
	h2 := make([]float32, n*hw)
	pos := make([]int, n)
	for i := range pos {
		pos[i] = pos0 + i
	}
	sublayer := func(p *hcParams, normW []float32, f func()) {
		hcMixes(p, h, n, cfg.RMSNormEps, mixes)
		for i := 0; i < n; i++ {
			splitSinkhorn(mixes[i*mixW:(i+1)*mixW], p, nS, cfg.HCSinkhornIters, float32(cfg.HCEps), &mix[i])
			hcCollapse(y[i*D:(i+1)*D], h[i*hw:(i+1)*hw], mix[i].pre, D)
			rmsNorm(xn[i*D:(i+1)*D], y[i*D:(i+1)*D], normW, eps)
		}
		f()
		for i := 0; i < n; i++ {
			hcPost(h2[i*hw:(i+1)*hw], sub[i*D:(i+1)*D], h[i*hw:(i+1)*hw], &mix[i], nS, D)
		}
		h, h2 = h2, h
	}
	sublayer(&L.hcAttn, L.AttnNorm, func() {
		m.attention(L, []segment{{ls: ls, r0: 0, n: n, pos: pos0}}, xn, n, pos, sub)
	})
	sublayer(&L.hcFFN, L.FFNNorm, func() {
		_, experts, weights := m.route(L, xn, tokens, n)
		m.moe(L, xn, n, experts, weights, sub)
	})
	return h
}
