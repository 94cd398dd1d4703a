package dsv4

// Per-sequence decode cache (design §5.1): for every layer a ring of the last
// sliding_window keys (slot t mod W), and for compressed layers the
// compressed entries plus the compressor's open-window state; CSA layers also
// keep the indexer's keys and its own compressor state. MoE and mHC keep
// nothing.

// compState is a compressor's incremental state: the projections a_t and the
// gate logits z_t + ape[t mod r] of the tokens of the open window, and (for
// the overlapping CSA compressor) the previous complete window's rows, whose
// A-halves take part in the next entry.
type compState struct {
	kv, score         []float32 // [ratio][c·d], slot t mod ratio
	prevKV, prevScore []float32 // [ratio][c·d] (overlap only)
	hasPrev           bool
}

func newCompState(c *Compressor) *compState {
	w := c.width()
	s := &compState{kv: make([]float32, c.Ratio*w), score: make([]float32, c.Ratio*w)}
	if c.Overlap {
		s.prevKV = make([]float32, c.Ratio*w)
		s.prevScore = make([]float32, c.Ratio*w)
	}
	return s
}

func (s *compState) clone() *compState {
	if s == nil {
		return nil
	}
	c := *s
	c.kv = append([]float32(nil), s.kv...)
	c.score = append([]float32(nil), s.score...)
	c.prevKV = append([]float32(nil), s.prevKV...)
	c.prevScore = append([]float32(nil), s.prevScore...)
	return &c
}

type layerState struct {
	win     []float32 // [W][head_dim] ring of keys (= values)
	comp    *compState
	entries []float32 // [n][head_dim] compressed entries, entry w covers tokens w·r … w·r+r−1
	idx     *compState
	idxKeys []float32 // [n][index_head_dim]
}

// State is one sequence's cache. The zero position is the start of the
// sequence; Extend appends tokens.
type State struct {
	Pos    int   // number of tokens processed
	Tokens []int // the tokens processed so far
	layers []layerState
	// invalid marks a cache that a call left half-updated.
	invalid bool
	// blocks > 0: only the first blocks layers are cached (a truncated run);
	// such a state can only be extended by runs of at most that depth.
	blocks int
}

// NewState returns an empty cache for one sequence.
func (m *Model) NewState() *State {
	st := &State{layers: make([]layerState, len(m.Layers))}
	W, hd := m.Cfg.SlidingWindow, m.Cfg.HeadDim
	for i, L := range m.Layers {
		ls := &st.layers[i]
		ls.win = make([]float32, W*hd)
		if L.Comp != nil {
			ls.comp = newCompState(L.Comp)
		}
		if L.Idx != nil {
			ls.idx = newCompState(L.Idx.Comp)
		}
	}
	return st
}

// Clone deep-copies the cache (to branch a sequence, e.g. for sampling
// several continuations of one prompt).
func (st *State) Clone() *State {
	c := &State{invalid: st.invalid, blocks: st.blocks, Pos: st.Pos, Tokens: append([]int(nil), st.Tokens...), layers: make([]layerState, len(st.layers))}
	for i, ls := range st.layers {
		c.layers[i] = layerState{
			win:     append([]float32(nil), ls.win...),
			comp:    ls.comp.clone(),
			entries: append([]float32(nil), ls.entries...),
			idx:     ls.idx.clone(),
			idxKeys: append([]float32(nil), ls.idxKeys...),
		}
	}
	return c
}

// Bytes is the memory the cache holds.
func (st *State) Bytes() int64 {
	var n int64
	for _, ls := range st.layers {
		n += int64(len(ls.win)+len(ls.entries)+len(ls.idxKeys)) * 4
		for _, c := range []*compState{ls.comp, ls.idx} {
			if c != nil {
				n += int64(len(c.kv)+len(c.score)+len(c.prevKV)+len(c.prevScore)) * 4
			}
		}
	}
	return n
}
