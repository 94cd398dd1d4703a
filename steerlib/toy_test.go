package steerlib

import (
	"context"
	"math"
	"math/rand/v2"

	"github.com/steerbook/steerbook/engine"
)

// toyModel is a small deterministic model with the engine's sites, used to
// test extraction and interventions without the real engine. Tokens are
// bytes (id 256 is BOS); the residual is four streams of width D; each block
// has a causal "attention" (running mean of previous sublayer inputs), a
// two-expert-of-four "MoE", per-stream post weights, and a cache of the
// attention inputs so decode steps see steered prefill values, as the engine
// does.
type toyModel struct {
	L, D, V, E int
	emb        [][]float64
	wa, wf     [][][]float64   // [L][D][D]
	wr         [][][]float64   // [L][E][D]
	we         [][][][]float64 // [L][E][D][D]
	out        [][]float64     // [V][D]
}

func newToy(seed uint64) *toyModel {
	rng := rand.New(rand.NewPCG(seed, 99))
	m := &toyModel{L: 4, D: 16, V: 257, E: 4}
	mat := func(r, c int, s float64) [][]float64 {
		x := make([][]float64, r)
		for i := range x {
			x[i] = make([]float64, c)
			for j := range x[i] {
				x[i][j] = s * rng.NormFloat64()
			}
		}
		return x
	}
	m.emb = mat(m.V, m.D, 1)
	for l := 0; l < m.L; l++ {
		m.wa = append(m.wa, mat(m.D, m.D, 0.5/math.Sqrt(float64(m.D))))
		m.wf = append(m.wf, mat(m.D, m.D, 0.5/math.Sqrt(float64(m.D))))
		m.wr = append(m.wr, mat(m.E, m.D, 1))
		var ex [][][]float64
		for e := 0; e < m.E; e++ {
			ex = append(ex, mat(m.D, m.D, 0.5/math.Sqrt(float64(m.D))))
		}
		m.we = append(m.we, ex)
	}
	m.out = mat(m.V, m.D, 1)
	return m
}

func (m *toyModel) Encode(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}
func (m *toyModel) Decode(ids []int) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 256 {
			b = append(b, byte(id))
		}
	}
	return string(b)
}
func (m *toyModel) BOS() int       { return 256 }
func (m *toyModel) NumLayers() int { return m.L }
func (m *toyModel) Dim() int       { return m.D }
func (m *toyModel) Hash() string   { return "toy" }
func (m *toyModel) VocabSize() int { return m.V }

type toyCache struct {
	ysum [][]float64 // per layer: running sum of attention inputs
	n    int
}

func mv(w [][]float64, x []float64) []float64 {
	o := make([]float64, len(w))
	for i, r := range w {
		o[i] = dot(r, x)
	}
	return o
}

// run processes tokens at positions start… of one sequence with the cache.
func (m *toyModel) run(seq int, toks []int, start int, c *toyCache, hooks []Hook, phase engine.Phase) [][]float32 {
	n, D := len(toks), m.D
	pos := make([]int, n)
	for i := range pos {
		pos[i] = start + i
	}
	fire := func(site engine.Site, layer int, width int, data []float32) {
		for _, h := range hooks {
			if h.Sel.Matches(site, layer, phase) {
				h.Fn(&engine.Event{Site: site, Layer: layer, Seq: seq, Phase: phase, Positions: pos, Tokens: toks, Rows: n, Width: width, Data: data})
			}
		}
	}
	h := make([]float32, n*4*D)
	for i, t := range toks {
		for k := 0; k < 4; k++ {
			for j := 0; j < D; j++ {
				h[i*4*D+k*D+j] = float32(m.emb[t][j])
			}
		}
	}
	collapse := func() []float32 {
		y := make([]float32, n*D)
		for i := 0; i < n; i++ {
			for k := 0; k < 4; k++ {
				for j := 0; j < D; j++ {
					y[i*D+j] += h[i*4*D+k*D+j] * float32(0.25+0.05*float64(k))
				}
			}
		}
		return y
	}
	row64 := func(x []float32, i int) []float64 {
		o := make([]float64, D)
		for j := range o {
			o[j] = float64(x[i*D+j])
		}
		return o
	}
	for l := 0; l < m.L; l++ {
		fire(engine.SiteBlockIn, l, 4*D, h)
		y := collapse()
		fire(engine.SiteAttnIn, l, D, y)
		a := make([]float32, n*D)
		for i := 0; i < n; i++ {
			yi := row64(y, i)
			for j := range yi {
				c.ysum[l][j] += yi[j]
			}
			ctx := scale(c.ysum[l], 1/float64(c.n+i+1))
			o := mv(m.wa[l], ctx)
			for j := range o {
				a[i*D+j] = float32(math.Tanh(o[j]))
			}
		}
		fire(engine.SiteAttnOut, l, D, a)
		for i := 0; i < n; i++ {
			for k := 0; k < 4; k++ {
				for j := 0; j < D; j++ {
					h[i*4*D+k*D+j] += a[i*D+j]
				}
			}
		}
		y = collapse()
		fire(engine.SiteFFNIn, l, D, y)
		scores := make([]float32, n*m.E)
		experts := make([]int, n*2)
		weights := make([]float32, n*2)
		f := make([]float32, n*D)
		for i := 0; i < n; i++ {
			yi := row64(y, i)
			sc := mv(m.wr[l], yi)
			b1, b2 := 0, 1
			if sc[b2] > sc[b1] {
				b1, b2 = b2, b1
			}
			for e := 2; e < m.E; e++ {
				if sc[e] > sc[b1] {
					b1, b2 = e, b1
				} else if sc[e] > sc[b2] {
					b2 = e
				}
			}
			for e := range sc {
				scores[i*m.E+e] = float32(sc[e])
			}
			experts[2*i], experts[2*i+1] = b1, b2
			weights[2*i], weights[2*i+1] = 0.5, 0.5
			for _, e := range []int{b1, b2} {
				o := mv(m.we[l][e], yi)
				for j := range o {
					f[i*D+j] += float32(0.5 * math.Tanh(o[j]))
				}
			}
		}
		for _, hk := range hooks {
			if hk.Sel.Matches(engine.SiteRouter, l, phase) {
				hk.Fn(&engine.Event{Site: engine.SiteRouter, Layer: l, Seq: seq, Phase: phase, Positions: pos, Tokens: toks, Rows: n, Width: m.E, Data: scores, Experts: experts, Weights: weights, TopK: 2})
			}
		}
		fire(engine.SiteFFNOut, l, D, f)
		for i := 0; i < n; i++ {
			for k := 0; k < 4; k++ {
				for j := 0; j < D; j++ {
					h[i*4*D+k*D+j] += f[i*D+j] * float32(1+0.1*float64(k))
				}
			}
		}
		fire(engine.SiteBlockOut, l, 4*D, h)
	}
	c.n += n
	fin := collapse()
	fire(engine.SiteFinal, -1, D, fin)
	logits := make([]float32, n*m.V)
	for i := 0; i < n; i++ {
		o := mv(m.out, row64(fin, i))
		for v := range o {
			logits[i*m.V+v] = float32(o[v])
		}
	}
	fire(engine.SiteLogits, -1, m.V, logits)
	out := make([][]float32, n)
	for i := range out {
		out[i] = logits[i*m.V : (i+1)*m.V]
	}
	return out
}

func (m *toyModel) newCache() *toyCache {
	c := &toyCache{}
	for l := 0; l < m.L; l++ {
		c.ysum = append(c.ysum, make([]float64, m.D))
	}
	return c
}

func (m *toyModel) Forward(ctx context.Context, seqs [][]int, hooks []Hook, all bool) ([][][]float32, error) {
	out := make([][][]float32, len(seqs))
	for s, toks := range seqs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		lg := m.run(s, toks, 0, m.newCache(), hooks, engine.Prefill)
		if !all {
			lg = lg[len(lg)-1:]
		}
		out[s] = lg
	}
	return out, nil
}

func (m *toyModel) Generate(ctx context.Context, prompt []int, maxNew int, hooks []Hook) ([]int, error) {
	c := m.newCache()
	lg := m.run(0, prompt, 0, c, hooks, engine.Prefill)
	last := lg[len(lg)-1]
	var out []int
	for t := 0; t < maxNew; t++ {
		best := 0
		for v := range last {
			if last[v] > last[best] {
				best = v
			}
		}
		out = append(out, best)
		last = m.run(0, []int{best}, len(prompt)+t, c, hooks, engine.Decode)[0]
	}
	return out, nil
}

func randFor(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed)) }
