package plot

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

var saved int

// check renders f both ways and verifies the PNG decodes at the expected
// size, the SVG holds the given texts, and saving works.
func check(t *testing.T, f *Figure, texts ...string) {
	t.Helper()
	b, err := f.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if w := img.Bounds().Dx(); w < 300 {
		t.Errorf("png only %d px wide", w)
	}
	s, err := f.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range texts {
		if !strings.Contains(s, x) {
			t.Errorf("svg lacks %q", x)
		}
	}
	mb := f.MIMEBundle()
	raw, err := base64.StdEncoding.DecodeString(mb["image/png"].(string))
	if err != nil || !bytes.Equal(raw, b) {
		t.Error("MIME bundle PNG differs from PNG()")
	}
	dir := t.TempDir()
	if err := f.SavePNG(filepath.Join(dir, "f.png")); err != nil {
		t.Fatal(err)
	}
	if err := f.SaveSVG(filepath.Join(dir, "f.svg")); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("STEERLIB_PLOT_DIR") != "" { // for looking at them
		saved++
		name := strings.NewReplacer(" ", "_", "/", "_").Replace(t.Name())
		f.SavePNG(filepath.Join(os.Getenv("STEERLIB_PLOT_DIR"), fmt.Sprintf("%s-%d.png", name, saved)))
	}
}

func TestSeparabilityPlot(t *testing.T) {
	s := &steerlib.Separability{Site: engine.SiteBlockOut, Estimator: steerlib.DiffMean, Dataset: "sentiment"}
	for l := 0; l < 6; l++ {
		s.Layers = append(s.Layers, steerlib.LayerSeparability{Layer: l, AUROC: 0.5 + 0.08*float64(l), CohenD: float64(l), Stability: 0.9})
	}
	f, err := Separability(s)
	if err != nil {
		t.Fatal(err)
	}
	check(t, f, "Held-out separability", "layer", "Cohen", "sentiment diffmean@block_out AUROC")
}

func TestPCAGridAndHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	rows := map[int][2][][]float64{}
	for l := 0; l < 4; l++ {
		var p, n [][]float64
		for i := 0; i < 20; i++ {
			a, b := make([]float64, 8), make([]float64, 8)
			for j := range a {
				a[j], b[j] = rng.NormFloat64(), rng.NormFloat64()
			}
			a[0] += float64(l)
			p, n = append(p, a), append(n, b)
		}
		rows[l] = [2][][]float64{p, n}
	}
	a, err := steerlib.ActivationsFromRows("synthetic", engine.SiteBlockOut, rows, true)
	if err != nil {
		t.Fatal(err)
	}
	f, err := PCAGrid(a, engine.SiteBlockOut, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Rows*f.Cols < 4 {
		t.Errorf("grid %dx%d for 4 layers", f.Rows, f.Cols)
	}
	check(t, f, "PCA of synthetic", "layer 3", "PC1", "positive")
	v, _ := a.Vector(steerlib.DiffMean, engine.SiteBlockOut, []int{3}, steerlib.EstimateOptions{})
	pos, neg, _ := a.Projections(v, 3)
	h, err := ProjectionHistogram("Projections at layer 3", pos, neg, 1.5)
	if err != nil {
		t.Fatal(err)
	}
	check(t, h, "threshold 1.5", "negative")
}

func TestHeatmapsAndDose(t *testing.T) {
	v := steerlib.NewVector("v", engine.SiteBlockOut, 0, []float64{1, 0, 0})
	v.Dirs[1] = []float64{1, 1, 0}
	v.Dirs[2] = []float64{0, 0, 1}
	f, err := LayerCosines(v)
	if err != nil {
		t.Fatal(err)
	}
	check(t, f, "Cosine similarity between layers")
	w := steerlib.NewVector("w", engine.SiteBlockOut, 1, []float64{0, 1, 0})
	g, err := VectorCosines(1, v, w)
	if err != nil {
		t.Fatal(err)
	}
	check(t, g, "layer 1")
	r := &steerlib.DoseResponse{Vector: "v", Layers: []int{3}, Strengths: []float64{-1, 0, 1, 2}, Base: []float64{0, 1, 2}}
	var pp [][]float64
	var eff, wrong []float64
	var cost []steerlib.Cost
	for _, s := range r.Strengths {
		pp = append(pp, []float64{s, 1 + 2*s, 2 + 0.5*s})
		eff = append(eff, (3.5*s)/3)
		wrong = append(wrong, 0)
		cost = append(cost, steerlib.Cost{KL: s * s / 10, Perplexity: math.Exp(2 + s*s/5), Repetition: math.NaN()})
	}
	r.PerPrompt, r.Effect, r.WrongWay, r.Cost = [][][]float64{pp}, [][]float64{eff}, [][]float64{wrong}, [][]steerlib.Cost{cost}
	d, err := DoseResponse(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	check(t, d, "Effect of v at layer 3", "KL", "wrong way")
	x := &steerlib.ExpertShift{Base: &steerlib.ExpertUsage{Layers: []int{0, 1}, Rate: [][]float64{{0.5, 0.5}, {0.25, 0.75}}},
		Delta: [][]float64{{0.1, -0.1}, {0, 0}}, Changed: []float64{0.1, 0}}
	e, err := ExpertShift(x)
	if err != nil {
		t.Fatal(err)
	}
	check(t, e, "expert")
	u, err := ExpertUsage(x.Base)
	if err != nil {
		t.Fatal(err)
	}
	check(t, u, "selection rate")
}

// lin is a one-layer fake model whose block_out activation is the token's
// fixed embedding, for testing Read.
type lin struct{}

func (lin) Encode(s string) []int { return []int{int(s[0]), int(s[1])} }
func (lin) Decode(ids []int) string {
	return string(rune(ids[0]))
}
func (lin) NumLayers() int { return 2 }
func (lin) Dim() int       { return 2 }
func (lin) Hash() string   { return "lin" }
func (lin) Forward(ctx context.Context, seqs [][]int, hooks []steerlib.Hook, all bool) ([][][]float32, error) {
	for s, toks := range seqs {
		for l := 0; l < 2; l++ {
			data := make([]float32, 0, 8*len(toks))
			pos := make([]int, len(toks))
			for i, t := range toks {
				pos[i] = i
				for k := 0; k < 4; k++ {
					data = append(data, float32(t), float32(l))
				}
			}
			for _, h := range hooks {
				if h.Sel.Matches(engine.SiteBlockOut, l, engine.Prefill) {
					h.Fn(&engine.Event{Site: engine.SiteBlockOut, Layer: l, Seq: s, Phase: engine.Prefill, Positions: pos, Tokens: toks, Rows: len(toks), Width: 8, Data: data})
				}
			}
		}
	}
	return nil, nil
}

func TestReadingHeatmap(t *testing.T) {
	v := steerlib.NewVector("v", engine.SiteBlockOut, 0, []float64{1, 0})
	v.Dirs[1] = []float64{0, 2}
	r, err := Read(context.Background(), lin{}, lin{}, "ab", steerlib.Format{}, v)
	if err != nil {
		t.Fatal(err)
	}
	// Layer 0 reads the token id, layer 1 the layer index.
	if r.Proj[0][0] != 'a' || r.Proj[0][1] != 'b' || r.Proj[1][1] != 1 {
		t.Errorf("projections %v", r.Proj)
	}
	// No class projections: per-layer z-scores, ±1 for two tokens.
	if math.Abs(r.Scaled[0][0]+1) > 1e-12 || math.Abs(r.Scaled[0][1]-1) > 1e-12 {
		t.Errorf("scaled %v", r.Scaled)
	}
	v.ClassProj[0] = [2]float64{'b', 'a'} // positive mean at 'b', negative at 'a'
	r2, _ := Read(context.Background(), lin{}, lin{}, "ab", steerlib.Format{}, v)
	if r2.Scaled[0][0] != -1 || r2.Scaled[0][1] != 1 {
		t.Errorf("class-scaled %v", r2.Scaled[0])
	}
	f, err := TokenLayer("Reading", r)
	if err != nil {
		t.Fatal(err)
	}
	check(t, f, "Reading", "token")
}

func TestMorePlots(t *testing.T) {
	sep := &steerlib.Separability{Site: engine.SiteBlockOut, Estimator: steerlib.DiffMean, Dataset: "s"}
	dr := &steerlib.DoseResponse{Vector: "v", Strengths: []float64{0, 1}}
	for l := 0; l < 4; l++ {
		sep.Layers = append(sep.Layers, steerlib.LayerSeparability{Layer: l, AUROC: 0.5 + 0.1*float64(l), Stability: 0.7})
		dr.Layers = append(dr.Layers, l)
		dr.Effect = append(dr.Effect, []float64{0, float64(4 - l)})
		dr.Cost = append(dr.Cost, []steerlib.Cost{{KL: 0}, {KL: 0.1 * float64(l+1)}})
	}
	f, err := ReadVsSteer(sep, dr, 1)
	if err != nil {
		t.Fatal(err)
	}
	check(t, f, "Reading vs steering", "steering effect at strength 1")
	h, err := DoseHeatmap(dr)
	if err != nil {
		t.Fatal(err)
	}
	check(t, h, "Mean effect of v")
	p, err := Pareto(0, dr, dr)
	if err != nil {
		t.Fatal(err)
	}
	check(t, p, "Effect against cost", "KL")
	sr := &steerlib.StreamReport{Layers: []int{1, 2}}
	for s := 0; s < 5; s++ {
		sr.AUROC[s] = []float64{0.6, 0.7}
		sr.Effect[s] = []float64{0.1 * float64(s), 0.2}
	}
	st, err := Streams(sr)
	if err != nil {
		t.Fatal(err)
	}
	check(t, st, "stream 3", "all four streams")
}
