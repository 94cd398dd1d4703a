package steerlib

import (
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/steerbook/steerbook/engine"
)

// AUROC is the area under the ROC curve for scores of positives against
// negatives (the Mann–Whitney U statistic, ties counted half): 1 means every
// positive scores above every negative, 0.5 chance.
func AUROC(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return math.NaN()
	}
	type sc struct {
		v float64
		p bool
	}
	all := make([]sc, 0, len(pos)+len(neg))
	for _, x := range pos {
		all = append(all, sc{x, true})
	}
	for _, x := range neg {
		all = append(all, sc{x, false})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	// Sum of ranks of positives, average ranks for ties.
	rs := 0.0
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		r := float64(i+j+1) / 2 // mean of ranks i+1…j
		for k := i; k < j; k++ {
			if all[k].p {
				rs += r
			}
		}
		i = j
	}
	np, nn := float64(len(pos)), float64(len(neg))
	return (rs - np*(np+1)/2) / (np * nn)
}

// CohenD is the standardised mean difference (mean(pos) − mean(neg)) /
// pooled standard deviation.
func CohenD(pos, neg []float64) float64 {
	mp, vp := meanVar(pos)
	mn, vn := meanVar(neg)
	np, nn := float64(len(pos)), float64(len(neg))
	if np+nn <= 2 {
		return math.NaN()
	}
	s := math.Sqrt(((np-1)*vp + (nn-1)*vn) / (np + nn - 2))
	if s == 0 {
		return math.Inf(int(math.Copysign(1, mp-mn)))
	}
	return (mp - mn) / s
}

func meanVar(x []float64) (float64, float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	m := 0.0
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	s := 0.0
	for _, v := range x {
		s += (v - m) * (v - m)
	}
	if len(x) > 1 {
		s /= float64(len(x) - 1)
	}
	return m, s
}

// LayerSeparability is the readability of a concept at one layer.
type LayerSeparability struct {
	Layer int
	// AUROC and CohenD are held out: the direction is estimated on one half
	// of the examples and scored on the other, both ways, and averaged.
	AUROC, CohenD float64
	// Stability is the cosine between the directions of the two halves.
	Stability float64
	// NormMean is the mean activation norm at this layer.
	NormMean float64
}

// Separability is per-layer readability at one site with one estimator.
type Separability struct {
	Site      engine.Site
	Estimator Estimator
	Dataset   string
	Layers    []LayerSeparability
}

// halfIndex assigns n rows to two halves: within each group of equal
// labels (nil: one group) by a fixed pseudo-random permutation seeded by n,
// alternating, so each half gets half of every group. A parity split would
// align with periodic structure in the data, and ignoring the labels would
// let a half hold mostly one CAA answer letter: the mark token's activation
// is dominated by the letter's identity, so the held-out AUROC would
// measure the letter (on the default model: 0.00 with a parity split, 0.29
// with an unstratified random one).
func halfIndex(n int, labels []string) (a, b []int) {
	perm := rand.New(rand.NewPCG(uint64(n), 0x5eed)).Perm(n)
	seen := map[string]int{}
	for _, i := range perm {
		g := ""
		if i < len(labels) {
			g = labels[i]
		}
		if seen[g]%2 == 0 {
			a = append(a, i)
		} else {
			b = append(b, i)
		}
		seen[g]++
	}
	sort.Ints(a)
	sort.Ints(b)
	return a, b
}

func pickRows(rows [][]float64, idx []int) [][]float64 {
	out := make([][]float64, len(idx))
	for k, i := range idx {
		out[k] = rows[i]
	}
	return out
}

func project(rows [][]float64, u []float64) []float64 {
	out := make([]float64, len(rows))
	for i, r := range rows {
		out[i] = dot(r, u)
	}
	return out
}

// Separability measures, for every captured layer of site, how well
// estimator e's direction separates the classes on held-out examples, and
// how stable the direction is across halves of the data. It needs rows (not
// SumsOnly) and at least two examples per class.
func (a *Activations) Separability(site engine.Site, e Estimator, opt EstimateOptions) (*Separability, error) {
	out := &Separability{Site: site, Estimator: e, Dataset: a.Dataset}
	for _, l := range a.Layers(site) {
		pos, neg, err := a.Rows(site, l)
		if err != nil {
			return nil, err
		}
		if len(pos) < 2 || len(neg) < 2 {
			return nil, fmt.Errorf("steerlib: separability of %q needs ≥ 2 examples per class", a.Dataset)
		}
		var labels []string
		if len(a.PosLabels) == len(pos) {
			labels = a.PosLabels
		}
		ia, ib := halfIndex(len(pos), labels)
		pa, pb := pickRows(pos, ia), pickRows(pos, ib)
		ja, jb := ia, ib
		if !a.Paired || len(neg) != len(pos) {
			ja, jb = halfIndex(len(neg), nil)
		}
		na, nb := pickRows(neg, ja), pickRows(neg, jb)
		ua, err := Estimate(e, pa, na, opt)
		if err != nil {
			return nil, fmt.Errorf("%s layer %d: %w", site, l, err)
		}
		ub, err := Estimate(e, pb, nb, opt)
		if err != nil {
			return nil, fmt.Errorf("%s layer %d: %w", site, l, err)
		}
		normalize(ua)
		normalize(ub)
		ls := LayerSeparability{Layer: l,
			AUROC:     (AUROC(project(pb, ua), project(nb, ua)) + AUROC(project(pa, ub), project(na, ub))) / 2,
			CohenD:    (CohenD(project(pb, ua), project(nb, ua)) + CohenD(project(pa, ub), project(na, ub))) / 2,
			Stability: cosine(ua, ub)}
		ns, _ := a.NormStats(site, l)
		ls.NormMean = ns.Mean
		out.Layers = append(out.Layers, ls)
	}
	return out, nil
}

// Best returns the layer with the highest held-out AUROC (ties: larger d).
func (s *Separability) Best() LayerSeparability {
	var b LayerSeparability
	for i, l := range s.Layers {
		if i == 0 || l.AUROC > b.AUROC || (l.AUROC == b.AUROC && l.CohenD > b.CohenD) {
			b = l
		}
	}
	return b
}

// MIMEBundle renders the per-layer table.
func (s *Separability) MIMEBundle() map[string]any {
	var h, p strings.Builder
	fmt.Fprintf(&h, "<b>Separability of %s at %s (%s, held out)</b><table><tr><th>layer</th><th>AUROC</th><th>Cohen's d</th><th>split-half cosine</th><th>mean norm</th></tr>",
		html.EscapeString(s.Dataset), s.Site, s.Estimator)
	fmt.Fprintf(&p, "Separability %s at %s (%s)\nlayer  AUROC  d  stability\n", s.Dataset, s.Site, s.Estimator)
	for _, l := range s.Layers {
		fmt.Fprintf(&h, "<tr><td>%d</td><td>%.3f</td><td>%.2f</td><td>%.3f</td><td>%.3g</td></tr>", l.Layer, l.AUROC, l.CohenD, l.Stability, l.NormMean)
		fmt.Fprintf(&p, "%5d  %.3f  %.2f  %.3f\n", l.Layer, l.AUROC, l.CohenD, l.Stability)
	}
	h.WriteString("</table>")
	return map[string]any{"text/plain": p.String(), "text/html": h.String()}
}

// Projections returns the projections of the positive and negative rows at
// layer onto v's unit direction there (for histograms and thresholds).
func (a *Activations) Projections(v *Vector, layer int) (pos, neg []float64, err error) {
	site := v.Prov.Site
	p, n, err := a.Rows(site, layer)
	if err != nil {
		return nil, nil, err
	}
	d := v.Dir(layer)
	if d == nil {
		return nil, nil, fmt.Errorf("steerlib: vector %q has no layer %d", v.Name, layer)
	}
	u := append([]float64(nil), d...)
	normalize(u)
	return project(p, u), project(n, u), nil
}
