package steerlib

import (
	"context"
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/progress"
)

// AblateEverywhere is Arditi et al.'s directional ablation for DeepSeek-V4:
// the unit direction u is removed from everything written into the
// hyper-connection streams — the embedding (block_in of layer 0, all four
// streams), every attention output (attn_out) and every MoE output
// (ffn_out), the latter two before hc_post mixes them into the streams.
// Because hc_post is linear per hidden coordinate (h'_k = post_k·f +
// Σ_j C_jk·h_j), streams that start orthogonal to u and only receive
// u-orthogonal writes stay orthogonal to u, so this is exactly what
// interop.Orthogonalize bakes into the weights. Ablating the streams at
// block boundaries instead would not be equivalent: attention's write would
// reach the FFN's hc_pre inside the block unablated.
func AblateEverywhere(dir []float64, numLayers int) *Steering {
	layers := make([]int, numLayers)
	for i := range layers {
		layers[i] = i
	}
	mk := func(site engine.Site, ls []int) Steer {
		v := &Vector{Name: "ablation", Dirs: map[int][]float64{}, Norms: map[int]NormStats{}, ClassProj: map[int][2]float64{}}
		v.Prov.Site = site
		for _, l := range ls {
			v.Dirs[l] = dir
		}
		return Ablate(v)
	}
	return Compose(mk(engine.SiteBlockIn, []int{0}), mk(engine.SiteAttnOut, layers), mk(engine.SiteFFNOut, layers))
}

// GridCell is one candidate direction of the Arditi selection grid.
type GridCell struct {
	Offset int // tokens before the last prompt token (0 = last)
	Layer  int
	Dir    []float64 // difference of means (raw; unit for ablation)
	// Bypass is the mean metric on the positive (should-refuse) prompts with
	// the direction ablated everywhere (lower = refusal bypassed).
	Bypass float64
	// Induce is the mean metric on the negative (benign) prompts with the
	// raw difference of means added at its layer's block_out, at every
	// position or at the position it was read from (GridOptions.InduceAtRead)
	// (higher = refusal induced).
	Induce float64
	// KL is the KL cost of the ablation on the negative prompts.
	KL float64
}

// SelectionGrid is Arditi et al.'s (position × layer) candidate grid.
type SelectionGrid struct {
	Dataset   string
	Cells     []GridCell
	Baseline  [2]float64 // unsteered mean metric on positive and negative prompts
	Offsets   []int
	Layers    []int
	Selected  *GridCell
	Rationale string
}

// GridOptions configures SelectDirection.
type GridOptions struct {
	Offsets []int // default 0…4 (last five prompt tokens)
	Layers  []int // default: all
	Format  Format
	// MaxKL filters candidates whose ablation KL on benign prompts exceeds it
	// (default 0.1, as Arditi et al.); DropLastFrac drops the last fraction
	// of layers (default 0.2).
	MaxKL        float64
	DropLastFrac float64
	// IgnoreInduce keeps candidates whose addition does not raise the
	// metric on the negative prompts above its unsteered mean (by default
	// such candidates are dropped, as Arditi et al. drop directions that do
	// not induce refusal).
	IgnoreInduce bool
	// InduceAtRead adds each candidate only at the prompt position it was
	// read from (the token Offset places before the last) instead of at
	// every position, as Arditi et al. do. A difference of means read at a
	// token with massive activations (a chat template's last token often
	// has them) can be hundreds of times larger than the residual at other
	// positions; added everywhere it destroys the text rather than inducing
	// the behaviour. On Steerbook's default model the refusal direction read
	// at </think> is such a case (notebooks/04-refusal-direction.ipynb).
	InduceAtRead bool
}

// SelectDirection runs the Arditi selection grid on an unpaired
// instruction dataset: for every (position offset, layer) it takes the
// difference of means at block_out, scores bypass (metric on positives with
// the direction ablated everywhere), induce (metric on negatives with it
// added) and KL (ablation cost on negatives), and selects the candidate with
// the lowest bypass among those with KL ≤ MaxKL outside the last layers.
// metricPos and metricNeg measure the behaviour (e.g. LogOddsMetric with
// refusal tokens) on the positive and negative prompts.
func SelectDirection(ctx context.Context, m Model, d *Dataset, metricPos, metricNeg Metric, opt GridOptions) (*SelectionGrid, error) {
	if opt.Offsets == nil {
		opt.Offsets = []int{0, 1, 2, 3, 4}
	}
	if opt.Layers == nil {
		for l := 0; l < m.NumLayers(); l++ {
			opt.Layers = append(opt.Layers, l)
		}
	}
	if opt.MaxKL == 0 {
		opt.MaxKL = 0.1
	}
	if opt.DropLastFrac == 0 {
		opt.DropLastFrac = 0.2
	}
	g := &SelectionGrid{Dataset: d.Name, Offsets: opt.Offsets, Layers: opt.Layers}
	bp, err := metricPos(ctx, nil)
	if err != nil {
		return nil, err
	}
	bn, err := metricNeg(ctx, nil)
	if err != nil {
		return nil, err
	}
	g.Baseline = [2]float64{mean(bp), mean(bn)}
	// The KL cost is measured on the negative instructions (their prompts,
	// rendered with opt.Format).
	var negTexts []string
	for _, e := range d.Negative {
		negTexts = append(negTexts, e.Prompt)
	}
	cb, err := newCostBase(quiet(ctx), m, negTexts, opt.Format)
	if err != nil {
		return nil, err
	}
	step, done := progress.Loop(ctx, "selection grid", len(opt.Offsets)*len(opt.Layers))
	defer done()
	for _, off := range opt.Offsets {
		a, err := Extract(quiet(ctx), m, d, ExtractOptions{Layers: opt.Layers, Read: ReadLast, Offset: off, Format: opt.Format, SumsOnly: true})
		if err != nil {
			return nil, err
		}
		for _, l := range opt.Layers {
			mp, mn, err := a.Means(engine.SiteBlockOut, l)
			if err != nil {
				return nil, err
			}
			dir := sub(mp, mn)
			c := GridCell{Offset: off, Layer: l, Dir: dir}
			abl := AblateEverywhere(dir, m.NumLayers())
			v := NewVector("cand", engine.SiteBlockOut, l, dir)
			st := Add(v, Raw(1))
			if opt.InduceAtRead {
				st.At = []int{-1 - off}
			}
			add := Compose(st)
			q := quiet(ctx)
			pv, err := metricPos(q, abl)
			if err != nil {
				return nil, err
			}
			nv, err := metricNeg(q, add)
			if err != nil {
				return nil, err
			}
			cost, err := cb.cost(q, abl, nil, 0)
			if err != nil {
				return nil, err
			}
			c.Bypass, c.Induce, c.KL = mean(pv), mean(nv), cost.KL
			g.Cells = append(g.Cells, c)
			step()
		}
	}
	maxLayer := int(math.Ceil(float64(m.NumLayers()) * (1 - opt.DropLastFrac)))
	for i := range g.Cells {
		c := &g.Cells[i]
		if c.KL > opt.MaxKL || c.Layer >= maxLayer || (!opt.IgnoreInduce && c.Induce <= g.Baseline[1]) {
			continue
		}
		if g.Selected == nil || c.Bypass < g.Selected.Bypass {
			g.Selected = c
		}
	}
	where := "added at every position"
	if opt.InduceAtRead {
		where = "added at the position it was read from"
	}
	if g.Selected != nil {
		g.Rationale = fmt.Sprintf("lowest bypass score among candidates with ablation KL ≤ %g, layer < %d and induce (%s) above the unsteered %.3g", opt.MaxKL, maxLayer, where, g.Baseline[1])
	} else {
		g.Rationale = fmt.Sprintf("no candidate has ablation KL ≤ %g below layer %d with induce (%s) above the unsteered %.3g", opt.MaxKL, maxLayer, where, g.Baseline[1])
	}
	return g, nil
}

func mean(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// MIMEBundle renders the grid as bypass/induce/KL tables.
func (g *SelectionGrid) MIMEBundle() map[string]any {
	var h strings.Builder
	fmt.Fprintf(&h, "<b>Direction selection for %s</b> (baseline: positives %.3g, negatives %.3g)<br>", html.EscapeString(g.Dataset), g.Baseline[0], g.Baseline[1])
	if g.Selected != nil {
		fmt.Fprintf(&h, "Selected: offset %d, layer %d (bypass %.3g, induce %.3g, KL %.3g) — %s<br>", g.Selected.Offset, g.Selected.Layer, g.Selected.Bypass, g.Selected.Induce, g.Selected.KL, html.EscapeString(g.Rationale))
	} else {
		h.WriteString(html.EscapeString(g.Rationale) + "<br>")
	}
	h.WriteString("<table><tr><th>offset</th><th>layer</th><th>bypass</th><th>induce</th><th>KL</th></tr>")
	for _, c := range g.Cells {
		fmt.Fprintf(&h, "<tr><td>%d</td><td>%d</td><td>%.3g</td><td>%.3g</td><td>%.3g</td></tr>", c.Offset, c.Layer, c.Bypass, c.Induce, c.KL)
	}
	h.WriteString("</table>")
	plain := fmt.Sprintf("SelectionGrid %s: %d candidates; %s", g.Dataset, len(g.Cells), g.Rationale)
	return map[string]any{"text/plain": plain, "text/html": h.String()}
}

// ExpertUsage is how often each routed expert is selected per layer.
type ExpertUsage struct {
	Layers []int
	// Rate[i][e] is the fraction of token selections at Layers[i] that chose
	// expert e (top-k selections, so rows sum to 1).
	Rate [][]float64
}

// ExpertUsageOf counts routed-expert selections over all tokens of texts
// under steering s (nil: unsteered), from the router site.
func ExpertUsageOf(ctx context.Context, m Model, texts []string, f Format, s *Steering) (*ExpertUsage, error) {
	seqs, err := tokenizeTexts(m, f, texts)
	if err != nil {
		return nil, err
	}
	hooks, err := steeringHooks(m, s)
	if err != nil {
		return nil, err
	}
	counts := map[int]map[int]int{}
	nExp := 0
	hooks = append(hooks, Hook{Sel: engine.Selector{Site: engine.SiteRouter}, Fn: func(e *engine.Event) {
		c := counts[e.Layer]
		if c == nil {
			c = map[int]int{}
			counts[e.Layer] = c
		}
		nExp = max(nExp, e.Width)
		for _, x := range e.Experts {
			c[x]++
		}
	}})
	if _, err := m.Forward(ctx, seqs, hooks, false); err != nil {
		return nil, err
	}
	u := &ExpertUsage{}
	for l := 0; l < m.NumLayers(); l++ {
		c, ok := counts[l]
		if !ok {
			continue
		}
		tot := 0
		for _, n := range c {
			tot += n
		}
		row := make([]float64, nExp)
		for e, n := range c {
			if e < nExp {
				row[e] = float64(n) / float64(tot)
			}
		}
		u.Layers, u.Rate = append(u.Layers, l), append(u.Rate, row)
	}
	if len(u.Layers) == 0 {
		return nil, fmt.Errorf("steerlib: the model produced no router events")
	}
	return u, nil
}

// ExpertShift is the change of expert selection rates under a steering.
type ExpertShift struct {
	Base, Steered *ExpertUsage
	// Delta[i][e] = Steered.Rate − Base.Rate (experts × layers heatmap data).
	Delta [][]float64
	// Changed[i] is the total variation distance of layer i's rates (0…1).
	Changed []float64
}

// ExpertShiftOf measures how a steering changes routed-expert selection.
func ExpertShiftOf(ctx context.Context, m Model, texts []string, f Format, s *Steering) (*ExpertShift, error) {
	b, err := ExpertUsageOf(ctx, m, texts, f, nil)
	if err != nil {
		return nil, err
	}
	st, err := ExpertUsageOf(ctx, m, texts, f, s)
	if err != nil {
		return nil, err
	}
	x := &ExpertShift{Base: b, Steered: st}
	for i := range b.Rate {
		row := make([]float64, len(b.Rate[i]))
		tv := 0.0
		for e := range row {
			row[e] = st.Rate[i][e] - b.Rate[i][e]
			tv += math.Abs(row[e]) / 2
		}
		x.Delta, x.Changed = append(x.Delta, row), append(x.Changed, tv)
	}
	return x, nil
}

// MIMEBundle renders the per-layer total variation and the largest shifts.
func (x *ExpertShift) MIMEBundle() map[string]any {
	var h strings.Builder
	h.WriteString("<b>Routed-expert selection under steering</b><table><tr><th>layer</th><th>total variation</th><th>most gained</th><th>most lost</th></tr>")
	for i, l := range x.Base.Layers {
		up, dn := 0, 0
		for e, d := range x.Delta[i] {
			if d > x.Delta[i][up] {
				up = e
			}
			if d < x.Delta[i][dn] {
				dn = e
			}
		}
		fmt.Fprintf(&h, "<tr><td>%d</td><td>%.3f</td><td>expert %d (%+.3f)</td><td>expert %d (%+.3f)</td></tr>", l, x.Changed[i], up, x.Delta[i][up], dn, x.Delta[i][dn])
	}
	h.WriteString("</table>")
	return map[string]any{"text/plain": fmt.Sprintf("ExpertShift over %d layers", len(x.Base.Layers)), "text/html": h.String()}
}

// StreamReport compares the four hyper-connection streams: how separable the
// concept is in each stream (and in their mean), and the effect of steering
// each stream alone versus all four.
type StreamReport struct {
	Layers []int
	// AUROC[s][i]: held-out AUROC at Layers[i] for stream s (0…3) and, at
	// s = 4, the stream mean.
	AUROC [5][]float64
	// Effect[s][i]: mean metric change when adding the vector to stream s
	// only (s = 4: all streams) at Layers[i]; nil when no metric was given.
	Effect [5][]float64
}

// StreamAnalysis measures per-stream separability of d at block_out and,
// with a metric, the effect of adding the stream-mean DiffMean vector at
// relative strength to one stream at a time.
func StreamAnalysis(ctx context.Context, m Model, d *Dataset, layers []int, f Format, metric Metric, strength Strength) (*StreamReport, error) {
	r := &StreamReport{Layers: layers}
	// One pass with all four streams; per-stream and mean rows are derived.
	all, err := Extract(ctx, m, d, ExtractOptions{Layers: layers, Streams: "all", Format: f})
	if err != nil {
		return nil, err
	}
	D := m.Dim()
	var meanAct *Activations
	for s := 0; s < 5; s++ {
		rows := map[int][2][][]float64{}
		for _, l := range layers {
			pos, neg, err := all.Rows(engine.SiteBlockOut, l)
			if err != nil {
				return nil, err
			}
			pick := func(xs [][]float64) [][]float64 {
				out := make([][]float64, len(xs))
				for i, x := range xs {
					if s < 4 {
						out[i] = x[s*D : (s+1)*D]
						continue
					}
					y := make([]float64, D)
					for k := 0; k < 4; k++ {
						for j := 0; j < D; j++ {
							y[j] += x[k*D+j] / 4
						}
					}
					out[i] = y
				}
				return out
			}
			rows[l] = [2][][]float64{pick(pos), pick(neg)}
		}
		a, err := ActivationsFromRows(d.Name, engine.SiteBlockOut, rows, all.Paired)
		if err != nil {
			return nil, err
		}
		sep, err := a.Separability(engine.SiteBlockOut, DiffMean, EstimateOptions{})
		if err != nil {
			return nil, err
		}
		for _, ls := range sep.Layers {
			r.AUROC[s] = append(r.AUROC[s], ls.AUROC)
		}
		if s == 4 {
			meanAct = a
		}
	}
	if metric == nil {
		return r, nil
	}
	v, err := meanAct.Vector(DiffMean, engine.SiteBlockOut, layers, EstimateOptions{})
	if err != nil {
		return nil, err
	}
	v.Prov.ModelHash, v.Prov.DatasetHash, v.Prov.Streams = m.Hash(), d.Hash, "mean"
	base, err := metric(ctx, nil)
	if err != nil {
		return nil, err
	}
	for s := 0; s < 5; s++ {
		for _, l := range layers {
			st := Add(v.At(l), strength)
			if s < 4 {
				st.Streams = []int{s}
			}
			vals, err := metric(ctx, Compose(st))
			if err != nil {
				return nil, err
			}
			e := 0.0
			for i := range vals {
				e += vals[i] - base[i]
			}
			r.Effect[s] = append(r.Effect[s], e/float64(len(vals)))
		}
	}
	return r, nil
}

// MIMEBundle renders the stream comparison.
func (r *StreamReport) MIMEBundle() map[string]any {
	var h strings.Builder
	h.WriteString("<b>Hyper-connection streams at block_out</b><table><tr><th>layer</th>")
	names := []string{"stream 0", "stream 1", "stream 2", "stream 3", "mean / all"}
	for _, n := range names {
		fmt.Fprintf(&h, "<th>AUROC %s</th>", n)
	}
	if r.Effect[0] != nil {
		for _, n := range names {
			fmt.Fprintf(&h, "<th>effect %s</th>", n)
		}
	}
	h.WriteString("</tr>")
	for i, l := range r.Layers {
		fmt.Fprintf(&h, "<tr><td>%d</td>", l)
		for s := 0; s < 5; s++ {
			fmt.Fprintf(&h, "<td>%.3f</td>", r.AUROC[s][i])
		}
		if r.Effect[0] != nil {
			for s := 0; s < 5; s++ {
				fmt.Fprintf(&h, "<td>%.4g</td>", r.Effect[s][i])
			}
		}
		h.WriteString("</tr>")
	}
	h.WriteString("</table>")
	return map[string]any{"text/plain": fmt.Sprintf("StreamReport over layers %v", r.Layers), "text/html": h.String()}
}
