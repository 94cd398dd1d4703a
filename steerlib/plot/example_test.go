package plot_test

import (
	"fmt"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
	"github.com/steerbook/steerbook/steerlib/plot"
)

func ExampleSeparability() {
	s := &steerlib.Separability{Site: engine.SiteBlockOut, Estimator: steerlib.DiffMean, Dataset: "sentiment"}
	for l := 0; l < 4; l++ {
		s.Layers = append(s.Layers, steerlib.LayerSeparability{Layer: l, AUROC: 0.6 + 0.1*float64(l), CohenD: float64(l), Stability: 0.8})
	}
	f, err := plot.Separability(s)
	if err != nil {
		panic(err)
	}
	// In a notebook the figure is the cell's value (MIMEBundle); it can also
	// be saved with f.SavePNG / f.SaveSVG.
	b := f.MIMEBundle()
	_, png := b["image/png"]
	_, svg := b["image/svg+xml"]
	fmt.Println(f.Title, png, svg)
	// Output:
	// Where the concept is readable true true
}

func ExampleProjectionHistogram() {
	f, _ := plot.ProjectionHistogram("CAST condition at layer 2", []float64{0.8, 0.9, 0.7}, []float64{0.1, 0.2, 0.3}, 0.5)
	fmt.Println(len(f.Panels))
	// Output:
	// 1
}
