package plot

import (
	"context"
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

// Separability plots held-out AUROC and split-half stability (left) and
// Cohen's d (right) against layer, one line per result (for comparing
// estimators, sites or datasets).
func Separability(results ...*steerlib.Separability) (*Figure, error) {
	if len(results) == 0 {
		return nil, fmt.Errorf("plot: Separability needs at least one result")
	}
	a := newPlot("Held-out separability", "layer", "AUROC / split-half cosine")
	a.Y.Min, a.Y.Max = 0, 1
	d := newPlot("Effect size", "layer", "Cohen's d")
	for i, r := range results {
		var xs, au, st, cd []float64
		for _, l := range r.Layers {
			xs, au, st, cd = append(xs, float64(l.Layer)), append(au, l.AUROC), append(st, l.Stability), append(cd, l.CohenD)
		}
		name := fmt.Sprintf("%s %s@%s", r.Dataset, r.Estimator, r.Site)
		if err := linePoints(a, name+" AUROC", xs, au, colorN(i)); err != nil {
			return nil, err
		}
		if err := line(a, name+" stability", xs, st, colorN(i), vg.Points(1.2), true); err != nil {
			return nil, err
		}
		if err := linePoints(d, name, xs, cd, colorN(i)); err != nil {
			return nil, err
		}
	}
	a.Legend.Top, a.Legend.Left = false, false
	a.X.Tick.Marker, d.X.Tick.Marker = intTicks{}, intTicks{}
	return &Figure{Title: "Where the concept is readable", Rows: 1, Cols: 2, Panels: []*plot.Plot{a, d}}, nil
}

// pca2 returns the 2-D PCA coordinates of rows (centred on their mean).
func pca2(rows [][]float64) ([][2]float64, error) {
	n, d := len(rows), len(rows[0])
	x := mat.NewDense(n, d, nil)
	mu := make([]float64, d)
	for _, r := range rows {
		for j, v := range r {
			mu[j] += v / float64(n)
		}
	}
	for i, r := range rows {
		for j, v := range r {
			x.Set(i, j, v-mu[j])
		}
	}
	var svd mat.SVD
	if !svd.Factorize(x, mat.SVDThin) {
		return nil, fmt.Errorf("plot: PCA did not converge")
	}
	var u mat.Dense
	svd.UTo(&u)
	s := svd.Values(nil)
	out := make([][2]float64, n)
	for i := range out {
		for k := 0; k < 2 && k < len(s); k++ {
			out[i][k] = u.At(i, k) * s[k]
		}
	}
	return out, nil
}

// PCAGrid draws, for each layer, the positive and negative rows of a at
// site projected on their first two principal components — IBM/CAA's view
// of whether the classes separate.
func PCAGrid(a *steerlib.Activations, site engine.Site, layers []int) (*Figure, error) {
	if layers == nil {
		layers = a.Layers(site)
	}
	cols := int(math.Ceil(math.Sqrt(float64(len(layers)))))
	rows := (len(layers) + cols - 1) / cols
	f := &Figure{Title: fmt.Sprintf("PCA of %s at %s (first two components)", a.Dataset, site), Rows: rows, Cols: cols}
	for i, l := range layers {
		pos, neg, err := a.Rows(site, l)
		if err != nil {
			return nil, err
		}
		all := append(append([][]float64{}, pos...), neg...)
		xy, err := pca2(all)
		if err != nil {
			return nil, err
		}
		p := newPlot(fmt.Sprintf("layer %d", l), "PC1", "PC2")
		for c, part := range [][][2]float64{xy[:len(pos)], xy[len(pos):]} {
			pts := make(plotter.XYs, len(part))
			for j, q := range part {
				pts[j] = plotter.XY{X: q[0], Y: q[1]}
			}
			s, err := plotter.NewScatter(pts)
			if err != nil {
				return nil, err
			}
			s.GlyphStyle.Color = colorN(c)
			s.GlyphStyle.Radius = vg.Points(2.5)
			p.Add(s)
			if i == 0 {
				p.Legend.Add([]string{"positive", "negative"}[c], s)
			}
		}
		f.Panels = append(f.Panels, p)
	}
	return f, nil
}

// ProjectionHistogram overlays histograms of positive and negative
// projections with a vertical threshold line (NaN: none), e.g. a CAST
// condition's threshold or a monitoring cut-off.
func ProjectionHistogram(title string, pos, neg []float64, threshold float64) (*Figure, error) {
	p := newPlot(title, "projection on the direction", "count")
	all := append(append([]float64{}, pos...), neg...)
	if len(all) == 0 {
		return nil, fmt.Errorf("plot: ProjectionHistogram needs values")
	}
	lo, hi := all[0], all[0]
	for _, v := range all {
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	if lo == hi {
		lo, hi = lo-1, hi+1
	}
	bins := int(math.Max(8, math.Min(40, math.Sqrt(float64(len(all)))*2)))
	w := (hi - lo) / float64(bins)
	for c, vals := range [][]float64{pos, neg} {
		counts := make(plotter.XYs, bins)
		for i := range counts {
			counts[i].X = lo + (float64(i)+0.5)*w
		}
		for _, v := range vals {
			k := min(int((v-lo)/w), bins-1)
			counts[k].Y++
		}
		h, err := plotter.NewHistogram(counts, bins)
		if err != nil {
			return nil, err
		}
		col := colorN(c)
		r, g, b, _ := col.RGBA()
		h.FillColor = colorRGBA(r, g, b, 110)
		h.LineStyle.Color = col
		p.Add(h)
		p.Legend.Add([]string{"positive", "negative"}[c], h)
	}
	if !math.IsNaN(threshold) {
		l, err := plotter.NewLine(plotter.XYs{{X: threshold, Y: 0}, {X: threshold, Y: float64(len(all)) / 3}})
		if err != nil {
			return nil, err
		}
		l.Color = colorN(7)
		l.Width = vg.Points(2)
		l.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("threshold %.3g", threshold), l)
	}
	return single(p), nil
}

// Heatmap draws a matrix z[row][col] with named rows and columns and a
// colour bar. Symmetric colour scales (centred on 0) suit signed data.
func Heatmap(title, xLabel, yLabel string, cols, rows []string, z [][]float64, symmetric bool) (*Figure, error) {
	if len(z) == 0 || len(z[0]) == 0 {
		return nil, fmt.Errorf("plot: Heatmap %q has no data", title)
	}
	g := newGrid(z, symmetric)
	var cm palette.ColorMap
	if symmetric {
		cm = moreland.SmoothBlueRed()
	} else {
		cm = moreland.ExtendedKindlmann()
	}
	cm.SetMin(g.min)
	cm.SetMax(g.max)
	p := newPlot(title, xLabel, yLabel)
	p.Add(plotter.NewHeatMap(g, cm.Palette(255)))
	if cols != nil {
		p.X.Tick.Marker = nameTicks(cols)
	}
	if rows != nil {
		p.Y.Tick.Marker = nameTicks(rows)
	}
	if len(cols) > 12 {
		p.X.Tick.Label.Rotation = math.Pi / 3
		p.X.Tick.Label.XAlign = -1
		p.X.Tick.Label.YAlign = 0
	}
	bar := plot.New()
	bar.HideX()
	bar.Y.Padding = 0
	bar.Add(&plotter.ColorBar{ColorMap: cm, Vertical: true})
	bar.Y.Tick.Label.Font.Size = vg.Points(9)
	return &Figure{Rows: 1, Cols: 1, Panels: []*plot.Plot{p}, Bar: bar}, nil
}

// LayerCosines is the layer × layer cosine-similarity heatmap of one vector.
func LayerCosines(v *steerlib.Vector) (*Figure, error) {
	ls := v.Layers()
	names := make([]string, len(ls))
	z := make([][]float64, len(ls))
	for i, a := range ls {
		names[i] = fmt.Sprint(a)
		z[i] = make([]float64, len(ls))
		for j, b := range ls {
			z[i][j] = v.At(a).Cosine(&steerlib.Vector{Dirs: map[int][]float64{a: v.Dir(b)}})
		}
	}
	return Heatmap("Cosine similarity between layers of "+v.Name, "layer", "layer", names, names, z, true)
}

// VectorCosines is the vector × vector cosine-similarity heatmap at one
// layer (e.g. different estimators or concepts).
func VectorCosines(layer int, vs ...*steerlib.Vector) (*Figure, error) {
	names := make([]string, len(vs))
	z := make([][]float64, len(vs))
	for i, a := range vs {
		names[i] = a.Name
		z[i] = make([]float64, len(vs))
		for j, b := range vs {
			z[i][j] = a.At(layer).Cosine(b.At(layer))
		}
	}
	return Heatmap(fmt.Sprintf("Cosine similarity at layer %d", layer), "", "", names, names, z, true)
}

// DoseResponse draws, for layer index li of r, the effect against strength
// with one thin line per prompt and the mean in bold (left; the legend gives
// the fraction moving the wrong way), and the cost (KL on neutral text, and
// perplexity on a second axis scale) against strength (right).
func DoseResponse(r *steerlib.DoseResponse, li int) (*Figure, error) {
	if li < 0 || li >= len(r.Layers) {
		return nil, fmt.Errorf("plot: DoseResponse: layer index %d out of range (%d layers)", li, len(r.Layers))
	}
	xs := r.Strengths
	e := newPlot(fmt.Sprintf("Effect of %s at layer %d", r.Vector, r.Layers[li]), "strength", "metric")
	for pi := range r.Base {
		ys := make([]float64, len(xs))
		for si := range xs {
			ys[si] = r.PerPrompt[li][si][pi]
		}
		name := ""
		if pi == 0 {
			name = "each prompt"
		}
		if err := line(e, name, xs, ys, colorRGBA(0x8888, 0x8888, 0x8888, 120), vg.Points(0.7), false); err != nil {
			return nil, err
		}
	}
	mean := make([]float64, len(xs))
	wrong := 0.0
	for si := range xs {
		mean[si] = r.Effect[li][si] + avg(r.Base)
		wrong = math.Max(wrong, r.WrongWay[li][si])
	}
	if err := linePoints(e, fmt.Sprintf("mean (max %.0f%% of prompts move the wrong way)", 100*wrong), xs, mean, colorN(0)); err != nil {
		return nil, err
	}
	c := newPlot("Cost on neutral text", "strength", "KL from unsteered (nats) / log perplexity")
	kl := make([]float64, len(xs))
	ppl := make([]float64, len(xs))
	rep := make([]float64, len(xs))
	for si := range xs {
		kl[si] = r.Cost[li][si].KL
		ppl[si] = math.Log(r.Cost[li][si].Perplexity)
		rep[si] = r.Cost[li][si].Repetition
	}
	if err := linePoints(c, "KL", xs, kl, colorN(1)); err != nil {
		return nil, err
	}
	if err := linePoints(c, "log perplexity", xs, ppl, colorN(2)); err != nil {
		return nil, err
	}
	if !math.IsNaN(rep[0]) {
		if err := linePoints(c, "repetition (3-gram)", xs, rep, colorN(3)); err != nil {
			return nil, err
		}
	}
	return &Figure{Title: "Dose–response", Rows: 1, Cols: 2, Panels: []*plot.Plot{e, c}}, nil
}

func avg(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Reading is a token × layer map of projections of one text's activations
// on a vector (RepE's "reading" view).
type Reading struct {
	Tokens []string
	Layers []int
	Proj   [][]float64 // [layer index][token], raw projections on the unit direction
	// Scaled[i][t] puts layers on one scale: with the vector's class
	// projections, 0 is the midpoint of the class means, +1 the positive
	// and −1 the negative class mean; without them, a per-layer z-score.
	Scaled [][]float64
	Unit   string
}

// Read runs text through m once and projects the activation at every token
// and every layer of v (at v's site, stream mean) on v's unit direction.
func Read(ctx context.Context, m steerlib.Model, dec steerlib.Decoder, text string, f steerlib.Format, v *steerlib.Vector) (*Reading, error) {
	tk, err := f.Tokenize(m, steerlib.Example{Prompt: text, Mark: -1})
	if err != nil {
		return nil, err
	}
	site := v.Prov.Site
	ls := v.Layers()
	idx := map[int]int{}
	r := &Reading{Layers: ls, Proj: make([][]float64, len(ls))}
	for i, l := range ls {
		idx[l] = i
		r.Proj[i] = make([]float64, len(tk.Tokens))
	}
	for _, t := range tk.Tokens {
		r.Tokens = append(r.Tokens, dec.Decode([]int{t}))
	}
	h := steerlib.Hook{Sel: engine.Selector{Site: site, Layers: ls}, Fn: func(e *engine.Event) {
		i, ok := idx[e.Layer]
		if !ok {
			return
		}
		d := v.Dir(e.Layer)
		n := 0.0
		for _, x := range d {
			n += x * x
		}
		n = math.Sqrt(n)
		for row := 0; row < e.Rows; row++ {
			x := e.Row(row)
			p := 0.0
			if len(d) == len(x) {
				for j := range d {
					p += float64(x[j]) * d[j]
				}
			} else { // stream site, D-wide vector: mean of the 4 streams
				D := len(d)
				for k := 0; k < 4; k++ {
					for j := range d {
						p += float64(x[k*D+j]) * d[j] / 4
					}
				}
			}
			r.Proj[i][e.Positions[row]] = p / n
		}
	}}
	if _, err := m.Forward(ctx, [][]int{tk.Tokens}, []steerlib.Hook{h}, false); err != nil {
		return nil, err
	}
	r.Unit = "+1 = positive class mean, −1 = negative class mean"
	for i, l := range ls {
		row := make([]float64, len(r.Proj[i]))
		cp, ok := v.ClassProj[l]
		half := (cp[0] - cp[1]) / 2
		if ok && half != 0 {
			mid := (cp[0] + cp[1]) / 2
			for t, p := range r.Proj[i] {
				row[t] = (p - mid) / half
			}
		} else {
			r.Unit = "z-score per layer"
			mu, sd := 0.0, 0.0
			for _, p := range r.Proj[i] {
				mu += p / float64(len(row))
			}
			for _, p := range r.Proj[i] {
				sd += (p - mu) * (p - mu) / float64(len(row))
			}
			sd = math.Sqrt(sd)
			for t, p := range r.Proj[i] {
				if sd > 0 {
					row[t] = (p - mu) / sd
				}
			}
		}
		r.Scaled = append(r.Scaled, row)
	}
	return r, nil
}

// TokenLayer draws a Reading as a token × layer heatmap of its scaled
// projections (see Reading.Scaled), so every layer uses the same colours.
func TokenLayer(title string, r *Reading) (*Figure, error) {
	names := make([]string, len(r.Layers))
	for i, l := range r.Layers {
		names[i] = fmt.Sprint(l)
	}
	z := r.Scaled
	if z == nil {
		z = r.Proj
	}
	if r.Scaled != nil {
		// Saturate beyond ±3 so one extreme token (often BOS) does not wash
		// out the rest.
		c := make([][]float64, len(z))
		for i, row := range z {
			c[i] = make([]float64, len(row))
			for j, x := range row {
				c[i][j] = math.Max(-3, math.Min(3, x))
			}
		}
		z = c
	}
	toks := make([]string, len(r.Tokens))
	for i, t := range r.Tokens {
		if len([]rune(t)) > 12 {
			t = string([]rune(t)[:11]) + "…"
		}
		toks[i] = t
	}
	return Heatmap(title, "token (colour: "+r.Unit+", saturated beyond ±3)", "layer", toks, names, z, true)
}

// ExpertShift draws the change in routed-expert selection rate under
// steering as an experts × layers heatmap.
func ExpertShift(x *steerlib.ExpertShift) (*Figure, error) {
	names := make([]string, len(x.Base.Layers))
	for i, l := range x.Base.Layers {
		names[i] = fmt.Sprint(l)
	}
	var ex []string
	for e := range x.Delta[0] {
		ex = append(ex, fmt.Sprint(e))
	}
	return Heatmap("Change in expert selection rate under steering", "expert", "layer", ex, names, x.Delta, true)
}

// ExpertUsage draws selection rates as an experts × layers heatmap.
func ExpertUsage(u *steerlib.ExpertUsage) (*Figure, error) {
	names := make([]string, len(u.Layers))
	for i, l := range u.Layers {
		names[i] = fmt.Sprint(l)
	}
	var ex []string
	for e := range u.Rate[0] {
		ex = append(ex, fmt.Sprint(e))
	}
	return Heatmap("Routed-expert selection rate", "expert", "layer", ex, names, u.Rate, false)
}

// SelectionGrid draws the Arditi grid: bypass score against layer, one line
// per position offset, and the ablation KL against layer.
func SelectionGrid(g *steerlib.SelectionGrid) (*Figure, error) {
	b := newPlot("Bypass score (ablation, should-refuse prompts)", "layer", "metric")
	k := newPlot("Ablation KL on benign prompts", "layer", "KL (nats)")
	offs := append([]int(nil), g.Offsets...)
	sort.Ints(offs)
	for i, o := range offs {
		var xs, by, kl []float64
		for _, c := range g.Cells {
			if c.Offset == o {
				xs, by, kl = append(xs, float64(c.Layer)), append(by, c.Bypass), append(kl, c.KL)
			}
		}
		name := fmt.Sprintf("position −%d", o+1)
		if err := linePoints(b, name, xs, by, colorN(i)); err != nil {
			return nil, err
		}
		if err := linePoints(k, name, xs, kl, colorN(i)); err != nil {
			return nil, err
		}
	}
	b.X.Tick.Marker, k.X.Tick.Marker = intTicks{}, intTicks{}
	return &Figure{Title: "Direction selection grid: " + g.Dataset, Rows: 1, Cols: 2, Panels: []*plot.Plot{b, k}}, nil
}

// ConditionGrid draws a CAST condition search as a layer × threshold F1
// heatmap.
func ConditionGrid(g *steerlib.ConditionGrid) (*Figure, error) {
	cols := make([]string, len(g.Thresholds))
	for i, th := range g.Thresholds {
		cols[i] = fmt.Sprintf("%.2f", th)
	}
	rows := make([]string, len(g.Layers))
	for i, l := range g.Layers {
		rows[i] = fmt.Sprint(l)
	}
	f, err := Heatmap(fmt.Sprintf("CAST gate F1 (best: layer %d, cos > %.2f, F1 %.2f)", g.Best.Layer, g.Best.Threshold, g.Best.F1),
		"cosine threshold", "layer", cols, rows, g.F1, false)
	return f, err
}
