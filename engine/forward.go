package engine

import (
	"context"
	"fmt"

	"github.com/steerbook/steerbook/engine/dsv4"
	"github.com/steerbook/steerbook/engine/progress"
)

// LogitsMode says which positions' logits a forward call returns.
type LogitsMode int

const (
	// LogitsAll keeps the logits of every position (the default of Forward).
	LogitsAll LogitsMode = iota
	// LogitsLast keeps only the last position of each sequence.
	LogitsLast
	// LogitsNone skips the head entirely (captures of inner sites).
	LogitsNone
)

type hookReg struct {
	sel Selector
	h   Hook
}

type runConfig struct {
	hooks  []hookReg
	ivs    []Intervention
	logits LogitsMode
	blocks int
}

// RunOption configures Forward, Capture and NewSession.
type RunOption func(*runConfig)

// WithHook registers a hook for the visits sel matches. Hooks run in
// registration order, after the interventions at the same site, so they see
// the edited values.
func WithHook(sel Selector, h Hook) RunOption {
	return func(c *runConfig) { c.hooks = append(c.hooks, hookReg{sel, h}) }
}

// WithInterventions applies interventions (in the given order, after any
// registered earlier).
func WithInterventions(iv ...Intervention) RunOption {
	return func(c *runConfig) { c.ivs = append(c.ivs, iv...) }
}

// WithLogits selects which logits are returned.
func WithLogits(mode LogitsMode) RunOption { return func(c *runConfig) { c.logits = mode } }

func newRunConfig(opts []RunOption) runConfig {
	var c runConfig
	for _, o := range opts {
		o(&c)
	}
	return c
}

var siteNames = [dsv4.NumSites]Site{
	dsv4.BlockIn: SiteBlockIn, dsv4.AttnIn: SiteAttnIn, dsv4.AttnOut: SiteAttnOut, dsv4.FFNIn: SiteFFNIn,
	dsv4.Router: SiteRouter, dsv4.FFNOut: SiteFFNOut, dsv4.BlockOut: SiteBlockOut, dsv4.Final: SiteFinal, dsv4.Logits: SiteLogits,
}

// observer bridges dsv4 visits to Events for one sequence and one call.
type observer struct {
	cfg    *runConfig
	seq    int
	phase  Phase
	seqLen int // length of the sequence once this call completes (for Positions)
	pos    []int
	err    error
}

func (o *observer) Wants(s dsv4.Site, layer int) bool {
	site := siteNames[s]
	for _, iv := range o.cfg.ivs {
		if iv.selector().Matches(site, layer, o.phase) {
			return true
		}
	}
	for _, h := range o.cfg.hooks {
		if h.sel.Matches(site, layer, o.phase) {
			return true
		}
	}
	return false
}

func (o *observer) Visit(v *dsv4.Visit) {
	site := siteNames[v.Site]
	if cap(o.pos) < v.Rows {
		o.pos = make([]int, v.Rows)
	}
	pos := o.pos[:v.Rows]
	for i := range pos {
		pos[i] = v.Pos0 + i
	}
	e := &Event{Site: site, Layer: v.Layer, Seq: o.seq, Phase: o.phase, Positions: pos, Tokens: v.Tokens, End: o.seqLen,
		Rows: v.Rows, Width: v.Width, Data: v.Data, Experts: v.Experts, Weights: v.Weights, TopK: v.TopK}
	for _, iv := range o.cfg.ivs {
		if !iv.selector().Matches(site, v.Layer, o.phase) || iv.Apply == nil {
			continue
		}
		for i, p := range pos {
			if iv.Positions.match(p, o.seqLen) {
				iv.Apply(e, i)
			}
		}
	}
	for _, h := range o.cfg.hooks {
		if h.sel.Matches(site, v.Layer, o.phase) {
			h.h(e)
		}
	}
}

// Output is the result of Forward.
type Output struct {
	// Logits[seq][i] is the logits row of the i-th kept position of sequence
	// seq: every position (LogitsAll), only the last (LogitsLast), or none.
	Logits [][][]float32
}

// Forward runs a batched prefill of several sequences of possibly different
// lengths, each from position 0 with a fresh cache. Hooks and interventions
// see every site (Event.Seq tells the sequences apart; Phase is Prefill).
// Sequences are grouped into batches of bounded size, and a sequence longer
// than the batch budget runs in chunks; ctx is checked between blocks.
func (m *Model) Forward(ctx context.Context, seqs [][]int, opts ...RunOption) (*Output, error) {
	rc := newRunConfig(opts)
	return m.forward(ctx, seqs, &rc)
}

func (m *Model) forward(ctx context.Context, seqs [][]int, rc *runConfig) (*Output, error) {
	if err := checkInterventions(rc.ivs, m); err != nil {
		return nil, err
	}
	out := &Output{Logits: make([][][]float32, len(seqs))}
	want := dsv4.LogitsAll
	switch rc.logits {
	case LogitsLast:
		want = dsv4.LogitsLast
	case LogitsNone:
		want = dsv4.LogitsNone
	}
	step, done := progress.Loop(ctx, "forward", len(seqs))
	defer done()
	for i, toks := range seqs {
		if len(toks) == 0 {
			return nil, fmt.Errorf("engine: forward: sequence %d is empty", i)
		}
	}
	// Sequences go through the model in batches: row-wise work (projections,
	// MoE, head) runs on all rows of a batch at once, attention per sequence.
	for lo := 0; lo < len(seqs); {
		if len(seqs[lo]) > maxBatchRows {
			// A long sequence runs alone, in chunks that extend its cache, so
			// activations stay bounded (the chunks give the same logits as
			// one pass, up to indexer ties; see the package documentation).
			obs := &observer{cfg: rc, seq: lo, phase: Prefill, seqLen: len(seqs[lo])}
			logits, err := m.chunked(ctx, m.net.NewState(), seqs[lo], obs, want, rc.blocks)
			if err != nil {
				return nil, fmt.Errorf("engine: forward: sequence %d: %w", lo, err)
			}
			out.Logits[lo] = logits
			step()
			lo++
			continue
		}
		hi, rows := lo, 0
		for hi < len(seqs) && (hi == lo || (hi-lo < maxBatchSeqs && rows+len(seqs[hi]) <= maxBatchRows)) {
			rows += len(seqs[hi])
			hi++
		}
		batch := make([]dsv4.Seq, 0, hi-lo)
		for i := lo; i < hi; i++ {
			obs := &observer{cfg: rc, seq: i, phase: Prefill, seqLen: len(seqs[i])}
			batch = append(batch, dsv4.Seq{State: m.net.NewState(), Tokens: seqs[i], Obs: obs, Want: want})
		}
		res, err := m.net.RunBatch(ctx, batch, rc.blocks)
		if err != nil {
			return nil, fmt.Errorf("engine: forward: sequences %d–%d: %w", lo, hi-1, err)
		}
		for i := lo; i < hi; i++ {
			out.Logits[i] = res[i-lo].Logits
			step()
		}
		lo = hi
	}
	return out, nil
}

// Batch limits of Forward and Capture: enough rows to keep the matrix
// kernels busy, few enough that activations stay small.
var (
	maxBatchSeqs = 64
	maxBatchRows = 2048
)

// chunked extends st with toks in pieces of at most maxBatchRows tokens.
func (m *Model) chunked(ctx context.Context, st *dsv4.State, toks []int, obs *observer, want dsv4.LogitRows, blocks int) ([][]float32, error) {
	var logits [][]float32
	for c := 0; c < len(toks); c += maxBatchRows {
		end := min(c+maxBatchRows, len(toks))
		w := want
		if want == dsv4.LogitsLast && end < len(toks) {
			w = dsv4.LogitsNone
		}
		res, err := m.net.Run(ctx, st, toks[c:end], dsv4.RunConfig{Want: w, Obs: obs, Blocks: blocks})
		if err != nil {
			return nil, err
		}
		logits = append(logits, res.Logits...)
	}
	return logits, nil
}

// Session is one sequence being decoded incrementally with its cache (design
// §5): Prefill the prompt, then Decode one token at a time.
//
// Interventions given to NewSession apply to every call whose phase they
// select. KV-cache semantics: an edit during prefill changes the keys, values
// and compressed entries computed from the edited positions, and those stay in
// the cache, so every later token attends to the steered past. An edit during
// decode changes only the new token's computation (and what it adds to the
// cache); it never rewrites positions already cached.
type Session struct {
	m   *Model
	rc  runConfig
	st  *dsv4.State
	err error
}

// NewSession starts an empty sequence. Prefill returns logits according to
// WithLogits (default: last position only).
func (m *Model) NewSession(opts ...RunOption) *Session {
	rc := runConfig{logits: LogitsLast}
	for _, o := range opts {
		o(&rc)
	}
	s := &Session{m: m, rc: rc, st: m.net.NewState()}
	s.err = checkInterventions(rc.ivs, m)
	return s
}

// Len is the number of tokens in the cache.
func (s *Session) Len() int { return s.st.Pos }

// Tokens are the tokens processed so far.
func (s *Session) Tokens() []int { return append([]int(nil), s.st.Tokens...) }

// Clone branches the session: the copy has its own cache.
func (s *Session) Clone() *Session { c := *s; c.st = s.st.Clone(); return &c }

// CacheBytes is the memory the session's cache holds.
func (s *Session) CacheBytes() int64 { return s.st.Bytes() }

func (s *Session) run(ctx context.Context, toks []int, phase Phase, want dsv4.LogitRows) ([][]float32, error) {
	if s.err != nil {
		return nil, s.err
	}
	obs := &observer{cfg: &s.rc, seq: 0, phase: phase, seqLen: s.st.Pos + len(toks)}
	res, err := s.m.net.Run(ctx, s.st, toks, dsv4.RunConfig{Want: want, Obs: obs})
	if err != nil {
		return nil, fmt.Errorf("engine: session at position %d: %w", s.st.Pos, err)
	}
	return res.Logits, nil
}

// Prefill appends the prompt tokens (phase Prefill) and returns their logits
// (see NewSession).
func (s *Session) Prefill(ctx context.Context, tokens []int) ([][]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("engine: prefill: no tokens")
	}
	want := dsv4.LogitsLast
	switch s.rc.logits {
	case LogitsAll:
		want = dsv4.LogitsAll
	case LogitsNone:
		want = dsv4.LogitsNone
	}
	if s.err != nil {
		return nil, s.err
	}
	obs := &observer{cfg: &s.rc, seq: 0, phase: Prefill, seqLen: s.st.Pos + len(tokens)}
	l, err := s.m.chunked(ctx, s.st, tokens, obs, want, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: session prefill at position %d: %w", s.st.Pos, err)
	}
	return l, nil
}

// Decode appends one token (phase Decode) and returns the logits that predict
// the next one. If ctx is cancelled during a call, the cache is left
// incomplete and every later call returns an error wrapping
// dsv4.ErrStateInvalid; start a new session (or Clone one beforehand).
func (s *Session) Decode(ctx context.Context, tok int) ([]float32, error) {
	l, err := s.run(ctx, []int{tok}, Decode, dsv4.LogitsLast)
	if err != nil {
		return nil, err
	}
	return l[0], nil
}
