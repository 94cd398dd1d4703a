package steerlib

import (
	"fmt"
	"html"
	"strings"

	"github.com/steerbook/steerbook/engine"
)

// ConditionGrid is IBM CAST's condition-point search: for every layer, the
// F1 score of gating by cos(activation, condition direction) > threshold,
// positives being the examples that should be steered.
type ConditionGrid struct {
	Site       engine.Site
	Layers     []int
	Thresholds []float64
	F1         [][]float64 // [layer index][threshold index]
	Best       struct {
		Layer     int
		Threshold float64
		F1        float64
	}
	dirs map[int][]float64
	// how the searched rows were read, for the gate: Condition reads the
	// prompt the same way
	read     ReadPos
	offset   int
	meanFrom int
}

// SearchCondition evaluates CAST gates on captured activations (for example
// Extract with ReadResponseMean or ReadLast on prompts): the condition
// direction at each layer is the class-mean difference, the score of an
// example its cosine with that direction, and thresholds (nil: 21 evenly
// spaced between −1 and 1) are compared by F1 on the whole set. Use
// Condition() to turn the best cell into a gate.
func (a *Activations) SearchCondition(site engine.Site, thresholds []float64) (*ConditionGrid, error) {
	if thresholds == nil {
		for i := 0; i <= 20; i++ {
			thresholds = append(thresholds, -1+0.1*float64(i))
		}
	}
	g := &ConditionGrid{Site: site, Layers: a.Layers(site), Thresholds: thresholds, dirs: map[int][]float64{}, read: a.Opt.Read, offset: a.Opt.Offset, meanFrom: a.MeanFrom}
	g.Best.F1 = -1
	for _, l := range g.Layers {
		pos, neg, err := a.Rows(site, l)
		if err != nil {
			return nil, err
		}
		mp, mn := meanRows(pos), meanRows(neg)
		dir := sub(mp, mn)
		g.dirs[l] = dir
		cp, cn := make([]float64, len(pos)), make([]float64, len(neg))
		for i, r := range pos {
			cp[i] = cosine(r, dir)
		}
		for i, r := range neg {
			cn[i] = cosine(r, dir)
		}
		row := make([]float64, len(thresholds))
		for j, th := range thresholds {
			tp, fp := 0, 0
			for _, c := range cp {
				if c > th {
					tp++
				}
			}
			for _, c := range cn {
				if c > th {
					fp++
				}
			}
			fn := len(cp) - tp
			if tp > 0 {
				row[j] = 2 * float64(tp) / float64(2*tp+fp+fn)
			}
			if row[j] > g.Best.F1 {
				g.Best.Layer, g.Best.Threshold, g.Best.F1 = l, th, row[j]
			}
		}
		g.F1 = append(g.F1, row)
	}
	if len(g.Layers) == 0 {
		return nil, fmt.Errorf("steerlib: no layers captured at %s", site)
	}
	return g, nil
}

// Condition returns the CAST gate of the best cell (cosine > threshold at
// that layer), ready for Steer.Condition. It reads the prompt as the search
// read its rows: the same token after ReadLast (Offset included), the mean
// from the same first position otherwise (so a leading BOS is skipped as
// Extract skips it; a response-mean or mark search gates on the whole
// prompt, which has no response yet). A threshold found on one reading does
// not transfer to another: on the default model a restaurant-topic gate
// searched on means reaches F1 1.0 at every layer, and on last tokens at
// most 0.83.
func (g *ConditionGrid) Condition() *Condition {
	v := NewVector("condition", g.Site, g.Best.Layer, g.dirs[g.Best.Layer])
	c := &Condition{Vector: v, Layer: g.Best.Layer, Threshold: g.Best.Threshold, Comparator: Greater}
	if g.read == ReadLast {
		c.Last, c.Offset = true, g.offset
	} else {
		c.From = g.meanFrom
	}
	return c
}

// MIMEBundle renders the F1 grid.
func (g *ConditionGrid) MIMEBundle() map[string]any {
	var h strings.Builder
	fmt.Fprintf(&h, "<b>CAST condition search at %s</b>: best layer %d, threshold %.2f, F1 %.3f<table><tr><th>layer</th>", g.Site, g.Best.Layer, g.Best.Threshold, g.Best.F1)
	for _, th := range g.Thresholds {
		fmt.Fprintf(&h, "<th>%.2f</th>", th)
	}
	h.WriteString("</tr>")
	for i, l := range g.Layers {
		fmt.Fprintf(&h, "<tr><td>%d</td>", l)
		for _, f := range g.F1[i] {
			fmt.Fprintf(&h, "<td>%.2f</td>", f)
		}
		h.WriteString("</tr>")
	}
	h.WriteString("</table>")
	return map[string]any{"text/plain": html.UnescapeString(fmt.Sprintf("ConditionGrid: best layer %d threshold %.2f F1 %.3f", g.Best.Layer, g.Best.Threshold, g.Best.F1)), "text/html": h.String()}
}

// Confusion counts a gate's decisions against labels: the gate fired on
// TP positives and FP negatives.
type Confusion struct{ TP, FP, TN, FN int }

// GateConfusion applies a condition to captured rows (same site and layer)
// and counts its decisions.
func (a *Activations) GateConfusion(c *Condition) (Confusion, error) {
	pos, neg, err := a.Rows(c.Vector.Prov.Site, c.Layer)
	if err != nil {
		return Confusion{}, err
	}
	u := c.Vector.Dir(c.Layer)
	fire := func(r []float64) bool {
		cs := cosine(r, u)
		if c.Comparator == Less {
			return cs < c.Threshold
		}
		return cs > c.Threshold
	}
	var k Confusion
	for _, r := range pos {
		if fire(r) {
			k.TP++
		} else {
			k.FN++
		}
	}
	for _, r := range neg {
		if fire(r) {
			k.FP++
		} else {
			k.TN++
		}
	}
	return k, nil
}
