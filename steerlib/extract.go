package steerlib

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/progress"
)

// ReadPos is the token-position rule of an extraction.
type ReadPos string

const (
	// ReadLast reads the last token (minus Offset: Offset 1 is the
	// second-to-last token). Arditi's post-instruction positions are
	// ReadLast with Offset 0…k−1 on chat-rendered instructions.
	ReadLast ReadPos = "last"
	// ReadMark reads the example's marked token (the CAA answer letter).
	ReadMark ReadPos = "mark"
	// ReadResponseMean averages over the completion's tokens (persona
	// vectors); examples need a completion.
	ReadResponseMean ReadPos = "response-mean"
	// ReadMean averages over every token of the text (after a leading BOS
	// of ReviewFormat/ChatFormat): one row per example, so pairs stay paired.
	ReadMean ReadPos = "mean"
	// ReadAll keeps every token as its own row (llama.cpp cvector-generator);
	// rows are then unpaired, so only unpaired estimators apply.
	ReadAll ReadPos = "all"
)

// valid reports an unknown rule ("" is valid: the default).
func (r ReadPos) valid() error {
	switch r {
	case "", ReadLast, ReadMark, ReadResponseMean, ReadMean, ReadAll:
		return nil
	}
	return fmt.Errorf("unknown read position %q (want %q, %q, %q, %q or %q)", string(r), ReadLast, ReadMark, ReadResponseMean, ReadMean, ReadAll)
}

// ExtractOptions says what one extraction pass captures.
type ExtractOptions struct {
	Sites  []engine.Site // default: block_out
	Layers []int         // default: every layer (ignored for final/logits)
	Read   ReadPos       // default: the dataset's Read (ReadLast when Offset is set), else ReadLast
	Offset int           // for ReadLast: read the token Offset places before the last
	// Streams says how the 4 hyper-connection streams of block_in/block_out
	// become a row: "mean" (default, width D), "all" (width 4·D), or "0"…"3"
	// (one stream, width D).
	Streams   string
	Format    Format // zero value: plain text with BOS
	BatchSize int    // sequences per forward, default 8
	// SumsOnly keeps only running float64 class sums, counts and norm
	// statistics — memory independent of the dataset size — so only
	// DiffMean can be estimated afterwards.
	SumsOnly bool
}

// SiteLayer names one captured (site, layer); Layer is −1 for final/logits.
type SiteLayer struct {
	Site  engine.Site
	Layer int
}

// welford accumulates mean and variance of a stream of values.
type welford struct {
	n        int
	mean, m2 float64
	min, max float64
	sum      float64
}

func (w *welford) add(x float64) {
	if w.n == 0 || x < w.min {
		w.min = x
	}
	if w.n == 0 || x > w.max {
		w.max = x
	}
	w.n++
	d := x - w.mean
	w.mean += d / float64(w.n)
	w.m2 += d * (x - w.mean)
}

func (w *welford) stats() NormStats {
	s := NormStats{Mean: w.mean, Min: w.min, Max: w.max, Count: w.n}
	if w.n > 1 {
		s.Std = math.Sqrt(w.m2 / float64(w.n-1))
	}
	return s
}

type accum struct {
	width  int
	rows   [][]float64
	labels []int // 1 positive, 0 negative
	ex     []int // example index within its class (pair index when paired)
	sum    [2][]float64
	n      [2]int
	norms  welford
}

func (a *accum) add(row []float64, label, ex int, keep bool) {
	if a.sum[label] == nil {
		a.sum[label] = make([]float64, len(row))
	}
	for i, x := range row {
		a.sum[label][i] += x
	}
	a.n[label]++
	a.norms.add(norm(row))
	if keep {
		a.rows = append(a.rows, row)
		a.labels = append(a.labels, label)
		a.ex = append(a.ex, ex)
	}
}

// Activations are the captured rows of one extraction pass, per site and
// layer, in float64. Every estimator reads from the same Activations.
type Activations struct {
	Dataset     string
	DatasetHash string
	ModelHash   string
	Opt         ExtractOptions
	Paired      bool // one row per example and the dataset is paired
	NumPos      int
	NumNeg      int
	// PosLabels are the positive examples' labels, by example index (for
	// CAA sets the matching letter); Separability stratifies its halves by
	// them.
	PosLabels []string
	// MeanFrom is the first position ReadMean averaged: 1 when every example
	// began with BOS (skipped: its activations are an outlier that carries
	// no content), else 0. A CAST gate built from these rows reads the prompt
	// from the same position (ConditionGrid.Condition).
	MeanFrom int
	acc      map[SiteLayer]*accum
	order    []SiteLayer
}

// Keys lists the (site, layer) pairs captured, in capture order.
func (a *Activations) Keys() []SiteLayer { return a.order }

// Layers lists the layers captured at site, ascending.
func (a *Activations) Layers(site engine.Site) []int {
	var out []int
	for _, k := range a.order {
		if k.Site == site {
			out = append(out, k.Layer)
		}
	}
	sort.Ints(out)
	return out
}

func (a *Activations) get(site engine.Site, layer int) (*accum, error) {
	if !site.PerLayer() {
		layer = -1
	}
	ac, ok := a.acc[SiteLayer{site, layer}]
	if !ok {
		return nil, fmt.Errorf("steerlib: activations of %q have no %s layer %d (captured %v)", a.Dataset, site, layer, a.order)
	}
	return ac, nil
}

// Rows returns the positive and negative rows at (site, layer). For paired
// one-row-per-example captures, pos[i] and neg[i] are pair i. The slices are
// the stored ones: do not modify them.
func (a *Activations) Rows(site engine.Site, layer int) (pos, neg [][]float64, err error) {
	ac, err := a.get(site, layer)
	if err != nil {
		return nil, nil, err
	}
	if a.Opt.SumsOnly {
		return nil, nil, fmt.Errorf("steerlib: activations of %q were captured with SumsOnly: no rows kept", a.Dataset)
	}
	type r struct {
		ex  int
		row []float64
	}
	var ps, ns []r
	for i, row := range ac.rows {
		if ac.labels[i] == 1 {
			ps = append(ps, r{ac.ex[i], row})
		} else {
			ns = append(ns, r{ac.ex[i], row})
		}
	}
	// Stable order by example index so pairs line up whatever the batch order.
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].ex < ps[j].ex })
	sort.SliceStable(ns, func(i, j int) bool { return ns[i].ex < ns[j].ex })
	for _, x := range ps {
		pos = append(pos, x.row)
	}
	for _, x := range ns {
		neg = append(neg, x.row)
	}
	return pos, neg, nil
}

// Means returns the class means at (site, layer) from the running sums.
func (a *Activations) Means(site engine.Site, layer int) (pos, neg []float64, err error) {
	ac, err := a.get(site, layer)
	if err != nil {
		return nil, nil, err
	}
	if ac.n[0] == 0 || ac.n[1] == 0 {
		return nil, nil, fmt.Errorf("steerlib: %s layer %d: a class has no rows (pos %d, neg %d)", site, layer, ac.n[1], ac.n[0])
	}
	return scale(ac.sum[1], 1/float64(ac.n[1])), scale(ac.sum[0], 1/float64(ac.n[0])), nil
}

// NormStats returns the L2-norm statistics of all rows at (site, layer).
func (a *Activations) NormStats(site engine.Site, layer int) (NormStats, error) {
	ac, err := a.get(site, layer)
	if err != nil {
		return NormStats{}, err
	}
	return ac.norms.stats(), nil
}

// Vector estimates a steering vector at site for the given layers (nil: every
// captured layer) with estimator e, and fills its provenance, norm
// statistics and class projections.
func (a *Activations) Vector(e Estimator, site engine.Site, layers []int, opt EstimateOptions) (*Vector, error) {
	if layers == nil {
		layers = a.Layers(site)
	}
	if len(layers) == 0 {
		return nil, fmt.Errorf("steerlib: activations of %q have no layers at site %s", a.Dataset, site)
	}
	v := &Vector{Name: fmt.Sprintf("%s/%s", a.Dataset, e), Dirs: map[int][]float64{}, Norms: map[int]NormStats{}, ClassProj: map[int][2]float64{}}
	v.Prov = Provenance{ModelHash: a.ModelHash, Site: site, Position: a.positionRule(), Streams: a.streams(site),
		Estimator: e, Centering: centering(e), Dataset: a.Dataset, DatasetHash: a.DatasetHash, Examples: a.NumPos + a.NumNeg}
	for _, l := range layers {
		var dir []float64
		mp, mn, err := a.Means(site, l)
		if err != nil {
			return nil, err
		}
		if e == DiffMean {
			dir = sub(mp, mn)
		} else {
			if a.Opt.SumsOnly {
				return nil, fmt.Errorf("steerlib: estimator %s needs rows, but %q was captured with SumsOnly (only diffmean works)", e, a.Dataset)
			}
			if !a.Paired && (e == PCACenter || e == PCADiff || e == PCADiffUncentered) {
				return nil, fmt.Errorf("steerlib: estimator %s needs one row per example of a paired dataset; %q is unpaired or read at every token", e, a.Dataset)
			}
			pos, neg, err := a.Rows(site, l)
			if err != nil {
				return nil, err
			}
			dir, err = Estimate(e, pos, neg, opt)
			if err != nil {
				return nil, fmt.Errorf("%s layer %d: %w", site, l, err)
			}
		}
		v.Dirs[l] = dir
		ns, _ := a.NormStats(site, l)
		v.Norms[l] = ns
		u := append([]float64(nil), dir...)
		normalize(u)
		v.ClassProj[l] = [2]float64{dot(u, mp), dot(u, mn)}
	}
	return v, nil
}

func centering(e Estimator) string {
	switch e {
	case PCACenter:
		return "pair midpoint"
	case PCADiff:
		return "mean difference subtracted"
	case PCADiffUncentered:
		return "none"
	case Logistic:
		return "global mean (intercept fitted)"
	case LDA:
		return "class means (within-class covariance)"
	}
	return ""
}

func (a *Activations) positionRule() string {
	r := string(a.Opt.Read)
	if a.Opt.Read == ReadLast && a.Opt.Offset != 0 {
		r += "-" + strconv.Itoa(a.Opt.Offset)
	}
	return r
}

func (a *Activations) streams(site engine.Site) string {
	if site.Streams() {
		return a.Opt.Streams
	}
	return ""
}

// Extract runs the examples of d through m in batches and captures every
// requested site and layer at the chosen positions in one pass per batch.
// It reports progress per batch and stops when ctx is cancelled.
func Extract(ctx context.Context, m Model, d *Dataset, opt ExtractOptions) (*Activations, error) {
	if len(opt.Sites) == 0 {
		opt.Sites = []engine.Site{engine.SiteBlockOut}
	}
	if opt.Read == "" && opt.Offset == 0 {
		opt.Read = d.Read
	}
	if opt.Read == "" {
		opt.Read = ReadLast // also whenever an Offset asks for a token before the last
	}
	if err := opt.Read.valid(); err != nil {
		return nil, fmt.Errorf("steerlib: extract %s: %w", d.Name, err)
	}
	if opt.Offset != 0 && opt.Read != ReadLast {
		return nil, fmt.Errorf("steerlib: extract %s: Offset %d applies to ReadLast only, not %q", d.Name, opt.Offset, opt.Read)
	}
	if opt.Streams == "" {
		opt.Streams = "mean"
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 8
	}
	if opt.Layers == nil {
		for l := 0; l < m.NumLayers(); l++ {
			opt.Layers = append(opt.Layers, l)
		}
	}
	stream := -1
	switch opt.Streams {
	case "mean", "all":
	case "0", "1", "2", "3":
		stream = int(opt.Streams[0] - '0')
	default:
		return nil, fmt.Errorf("steerlib: extract: Streams %q is not mean, all or 0…3", opt.Streams)
	}
	for _, l := range opt.Layers {
		if l < 0 || l >= m.NumLayers() {
			return nil, fmt.Errorf("steerlib: extract: layer %d out of range [0,%d)", l, m.NumLayers())
		}
	}
	// Tokenize every example up front so errors surface before any forward.
	type item struct {
		tk    Tokenized
		label int
		ex    int
	}
	var items []item
	meanFrom := 1
	for ci, xs := range [][]Example{d.Negative, d.Positive} {
		for i, e := range xs {
			tk, err := opt.Format.Tokenize(m, e)
			if err != nil {
				return nil, fmt.Errorf("steerlib: extract %q example %d: %w", d.Name, i, err)
			}
			switch opt.Read {
			case ReadMark:
				if tk.Mark < 0 {
					return nil, fmt.Errorf("steerlib: extract %q example %d has no mark for ReadMark", d.Name, i)
				}
			case ReadResponseMean:
				if tk.RespStart >= len(tk.Tokens) {
					return nil, fmt.Errorf("steerlib: extract %q example %d has no completion for ReadResponseMean", d.Name, i)
				}
			case ReadLast:
				if opt.Offset < 0 || opt.Offset >= len(tk.Tokens) {
					return nil, fmt.Errorf("steerlib: extract %q example %d: offset %d outside its %d tokens", d.Name, i, opt.Offset, len(tk.Tokens))
				}
			}
			items = append(items, item{tk, ci, i})
			meanFrom = min(meanFrom, tk.Start)
		}
	}
	var labels []string
	if opt.Read != ReadAll {
		for _, e := range d.Positive {
			labels = append(labels, e.Label)
		}
	}
	a := &Activations{Dataset: d.Name, DatasetHash: d.Hash, ModelHash: m.Hash(), Opt: opt, PosLabels: labels, MeanFrom: meanFrom,
		Paired: d.Paired && opt.Read != ReadAll, NumPos: len(d.Positive), NumNeg: len(d.Negative), acc: map[SiteLayer]*accum{}}
	for _, s := range opt.Sites {
		if s == engine.SiteRouter {
			return nil, fmt.Errorf("steerlib: extract: router scores are not activations; use ExpertUsage")
		}
		if !s.PerLayer() {
			k := SiteLayer{s, -1}
			a.acc[k] = &accum{}
			a.order = append(a.order, k)
			continue
		}
		for _, l := range opt.Layers {
			k := SiteLayer{s, l}
			a.acc[k] = &accum{}
			a.order = append(a.order, k)
		}
	}
	keep := !opt.SumsOnly
	// The deepest block any requested site needs; −1 when final/logits are
	// requested (the whole model runs).
	deepest := 0
	for _, s := range opt.Sites {
		if !s.PerLayer() {
			deepest = -1
			break
		}
		for _, l := range opt.Layers {
			deepest = max(deepest, l)
		}
	}
	nb := (len(items) + opt.BatchSize - 1) / opt.BatchSize
	step, done := progress.Loop(ctx, "extract "+d.Name, nb)
	defer done()
	for b0 := 0; b0 < len(items); b0 += opt.BatchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		batch := items[b0:min(b0+opt.BatchSize, len(items))]
		seqs := make([][]int, len(batch))
		for i, it := range batch {
			seqs[i] = it.tk.Tokens
		}
		// Response means are summed per (key, sequence) during the forward.
		type rm struct {
			sum []float64
			n   int
		}
		partial := map[[3]int]*rm{}
		keyIndex := map[SiteLayer]int{}
		for i, k := range a.order {
			keyIndex[k] = i
		}
		var hooks []Hook
		for _, s := range opt.Sites {
			s := s
			sel := engine.Selector{Site: s, Layers: opt.Layers, Phase: engine.Prefill}
			hooks = append(hooks, Hook{Sel: sel, Fn: func(e *engine.Event) {
				if e.Seq < 0 || e.Seq >= len(batch) {
					return
				}
				it := batch[e.Seq]
				layer := e.Layer
				if !s.PerLayer() {
					layer = -1
				}
				k := SiteLayer{s, layer}
				ac := a.acc[k]
				if ac == nil {
					return
				}
				n := len(it.tk.Tokens)
				for i := 0; i < e.Rows; i++ {
					p := e.Positions[i]
					var sel bool
					switch opt.Read {
					case ReadLast:
						sel = p == n-1-opt.Offset
					case ReadMark:
						sel = p == it.tk.Mark
					case ReadResponseMean:
						sel = p >= it.tk.RespStart
					case ReadMean:
						sel = p >= it.tk.Start
					case ReadAll:
						sel = true
					}
					if !sel {
						continue
					}
					row := reduceRow(e.Row(i), s.Streams(), opt.Streams == "all", stream)
					if opt.Read == ReadResponseMean || opt.Read == ReadMean {
						pk := [3]int{keyIndex[k], e.Seq, 0}
						r := partial[pk]
						if r == nil {
							r = &rm{sum: make([]float64, len(row))}
							partial[pk] = r
						}
						for j, x := range row {
							r.sum[j] += x
						}
						r.n++
						continue
					}
					ac.add(row, it.label, it.ex, keep)
				}
			}})
		}
		var err error
		if sf, ok := m.(shallowForwarder); ok && deepest >= 0 {
			err = sf.ForwardHooksUpTo(quiet(ctx), seqs, hooks, deepest)
		} else {
			_, err = m.Forward(quiet(ctx), seqs, hooks, false)
		}
		if err != nil {
			return nil, fmt.Errorf("steerlib: extract %q batch %d: %w", d.Name, b0/opt.BatchSize, err)
		}
		if opt.Read == ReadResponseMean || opt.Read == ReadMean {
			// Finalise in a fixed order so float sums are deterministic.
			for ki, k := range a.order {
				for si := range batch {
					r := partial[[3]int{ki, si, 0}]
					if r == nil {
						return nil, fmt.Errorf("steerlib: extract %q: no %s layer %d event reached the response of sequence %d", d.Name, k.Site, k.Layer, b0+si)
					}
					a.acc[k].add(scale(r.sum, 1/float64(r.n)), batch[si].label, batch[si].ex, keep)
				}
			}
		}
		step()
	}
	for _, k := range a.order {
		if ac := a.acc[k]; ac.n[0]+ac.n[1] == 0 {
			return nil, fmt.Errorf("steerlib: extract %q: the model produced no %s events for layer %d", d.Name, k.Site, k.Layer)
		}
	}
	return a, nil
}

// reduceRow converts one event row to float64, collapsing the 4 streams of a
// stream site to their mean (or one stream) unless all is set.
func reduceRow(r []float32, streams, all bool, stream int) []float64 {
	if !streams || all {
		out := make([]float64, len(r))
		for i, x := range r {
			out[i] = float64(x)
		}
		return out
	}
	d := len(r) / 4
	out := make([]float64, d)
	if stream >= 0 {
		for i := 0; i < d; i++ {
			out[i] = float64(r[stream*d+i])
		}
		return out
	}
	for s := 0; s < 4; s++ {
		for i := 0; i < d; i++ {
			out[i] += float64(r[s*d+i])
		}
	}
	for i := range out {
		out[i] /= 4
	}
	return out
}

// ActivationsFromRows wraps rows captured elsewhere (another engine, a
// file) as Activations at one site, so every estimator, separability and
// plot applies to them. rows[L] holds the positive and the negative rows of
// layer L; paired says whether pos[i] and neg[i] form pair i.
func ActivationsFromRows(name string, site engine.Site, rows map[int][2][][]float64, paired bool) (*Activations, error) {
	a := &Activations{Dataset: name, Paired: paired, acc: map[SiteLayer]*accum{}}
	a.Opt.Streams = "mean"
	ls := make([]int, 0, len(rows))
	for l := range rows {
		ls = append(ls, l)
	}
	sort.Ints(ls)
	for _, l := range ls {
		k := SiteLayer{site, l}
		ac := &accum{}
		r := rows[l]
		if len(r[0]) == 0 || len(r[1]) == 0 {
			return nil, fmt.Errorf("steerlib: rows for %s layer %d: a class is empty", site, l)
		}
		if paired && len(r[0]) != len(r[1]) {
			return nil, fmt.Errorf("steerlib: rows for %s layer %d: paired but %d vs %d rows", site, l, len(r[0]), len(r[1]))
		}
		for i, x := range r[0] {
			ac.add(x, 1, i, true)
		}
		for i, x := range r[1] {
			ac.add(x, 0, i, true)
		}
		a.acc[k] = ac
		a.order = append(a.order, k)
		a.NumPos, a.NumNeg = len(r[0]), len(r[1])
	}
	return a, nil
}

// Vectors estimates one vector per estimator at site (every estimator that
// applies: the paired PCA estimators are skipped for unpaired data and
// only DiffMean is available from SumsOnly captures), for comparing them.
func (a *Activations) Vectors(site engine.Site, layers []int, opt EstimateOptions) ([]*Vector, error) {
	var out []*Vector
	for _, e := range Estimators {
		if a.Opt.SumsOnly && e != DiffMean {
			continue
		}
		if !a.Paired && (e == PCACenter || e == PCADiff || e == PCADiffUncentered) {
			continue
		}
		v, err := a.Vector(e, site, layers, opt)
		if err != nil {
			return nil, err
		}
		v.Name = string(e)
		out = append(out, v)
	}
	return out, nil
}
