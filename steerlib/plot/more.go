package plot

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/steerbook/steerbook/steerlib"
)

// ReadVsSteer puts reading and steering on one figure: held-out AUROC and
// split-half stability of sep (left axis scale 0…1) and the causal effect of
// dr at strength index si, scaled to its largest magnitude, against layer —
// the gap between readable and steerable layers. dr must sweep the layers
// of interest.
func ReadVsSteer(sep *steerlib.Separability, dr *steerlib.DoseResponse, si int) (*Figure, error) {
	if si < 0 || si >= len(dr.Strengths) {
		return nil, fmt.Errorf("plot: ReadVsSteer: strength index %d out of range", si)
	}
	p := newPlot("Reading vs steering", "layer", "AUROC, stability, effect / max |effect|")
	var xs, au, st []float64
	for _, l := range sep.Layers {
		xs, au, st = append(xs, float64(l.Layer)), append(au, l.AUROC), append(st, l.Stability)
	}
	if err := linePoints(p, "held-out AUROC", xs, au, colorN(0)); err != nil {
		return nil, err
	}
	if err := line(p, "split-half stability", xs, st, colorN(0), vg.Points(1.2), true); err != nil {
		return nil, err
	}
	mx := 0.0
	for i := range dr.Layers {
		mx = math.Max(mx, math.Abs(dr.Effect[i][si]))
	}
	if mx == 0 {
		mx = 1
	}
	var ex, ey []float64
	for i, l := range dr.Layers {
		ex, ey = append(ex, float64(l)), append(ey, dr.Effect[i][si]/mx)
	}
	if err := linePoints(p, fmt.Sprintf("steering effect at strength %g (max %.3g)", dr.Strengths[si], mx), ex, ey, colorN(1)); err != nil {
		return nil, err
	}
	p.X.Tick.Marker = intTicks{}
	p.Legend.Top, p.Legend.Left = false, false
	return single(p), nil
}

// DoseHeatmap draws the mean effect of a sweep as a layer × strength heatmap.
func DoseHeatmap(dr *steerlib.DoseResponse) (*Figure, error) {
	cols := make([]string, len(dr.Strengths))
	for i, s := range dr.Strengths {
		cols[i] = fmt.Sprintf("%g", s)
	}
	rows := make([]string, len(dr.Layers))
	for i, l := range dr.Layers {
		rows[i] = fmt.Sprint(l)
	}
	return Heatmap("Mean effect of "+dr.Vector, "strength", "layer", cols, rows, dr.Effect, true)
}

// Pareto draws effect against KL cost, one curve per sweep (for example one
// per estimator or operator), at layer index li of each; points follow the
// strengths in order.
func Pareto(li int, drs ...*steerlib.DoseResponse) (*Figure, error) {
	p := newPlot("Effect against cost", "KL from unsteered on neutral text (nats)", "mean effect")
	for i, dr := range drs {
		if li >= len(dr.Layers) {
			return nil, fmt.Errorf("plot: Pareto: %s has no layer index %d", dr.Vector, li)
		}
		var xs, ys []float64
		for si := range dr.Strengths {
			xs, ys = append(xs, dr.Cost[li][si].KL), append(ys, dr.Effect[li][si])
		}
		if err := linePoints(p, fmt.Sprintf("%s (layer %d)", dr.Vector, dr.Layers[li]), xs, ys, colorN(i)); err != nil {
			return nil, err
		}
	}
	return single(p), nil
}

// Streams draws a StreamReport: per-stream held-out AUROC against layer
// (left) and, when measured, the effect of steering one stream versus all
// four (right).
func Streams(r *steerlib.StreamReport) (*Figure, error) {
	names := []string{"stream 0", "stream 1", "stream 2", "stream 3", "mean of streams"}
	a := newPlot("Separability per hyper-connection stream", "layer", "held-out AUROC")
	xs := make([]float64, len(r.Layers))
	for i, l := range r.Layers {
		xs[i] = float64(l)
	}
	for s := 0; s < 5; s++ {
		if err := linePoints(a, names[s], xs, r.AUROC[s], colorN(s)); err != nil {
			return nil, err
		}
	}
	a.X.Tick.Marker = intTicks{}
	panels := []*plot.Plot{a}
	if r.Effect[0] != nil {
		e := newPlot("Steering one stream vs all four", "layer", "mean effect")
		for s := 0; s < 5; s++ {
			name := names[s]
			if s == 4 {
				name = "all four streams"
			}
			if err := linePoints(e, name, xs, r.Effect[s], colorN(s)); err != nil {
				return nil, err
			}
		}
		e.X.Tick.Marker = intTicks{}
		panels = append(panels, e)
	}
	return &Figure{Title: "Inside the hyper-connections", Rows: 1, Cols: len(panels), Panels: panels}, nil
}
