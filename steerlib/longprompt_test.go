package steerlib

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

// A prompt longer than the engine's batch (2 048 rows) is prefilled in
// chunks, one event per chunk. Positions counted from the prompt's end must
// still mean the prompt's end, and a CAST gate must read the whole prompt.
func TestLongPromptChunks(t *testing.T) {
	m := loadDefault(t)
	ctx := context.Background()
	text := strings.Repeat("I had dinner at this restaurant last week and it was excellent. ", 200)
	toks := m.M.Tokenizer().Encode(text)
	if len(toks) <= 2100 {
		t.Fatalf("the prompt has %d tokens; the test needs more than 2 048", len(toks))
	}
	toks = toks[:2100]
	dir := make([]float64, m.Dim())
	dir32 := make([]float32, m.Dim())
	for i := range dir {
		dir[i] = math.Sin(float64(i) + 1)
		dir32[i] = float32(dir[i])
	}
	// steerlib's At -1 against the engine's own At(-1): the same logits.
	st := Add(NewVector("v", engine.SiteBlockOut, 3, dir), Raw(20))
	st.At = []int{-1}
	hooks, err := Compose(st).Hooks()
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Forward(ctx, [][]int{toks}, hooks, true)
	if err != nil {
		t.Fatal(err)
	}
	iv := engine.AddVector(engine.SiteBlockOut, []int{3}, dir32, 20)
	iv.Positions = engine.At(-1)
	want, err := m.M.Forward(ctx, [][]int{toks}, engine.WithLogits(engine.LogitsAll), engine.WithInterventions(iv))
	if err != nil {
		t.Fatal(err)
	}
	for p := range want.Logits[0] {
		if d := maxAbsDiff32(got[0][p], want.Logits[0][p]); d > 1e-4 {
			t.Fatalf("position %d of %d: steerlib At -1 and engine At(-1) differ by %g (a chunk's end taken for the prompt's?)", p, len(toks), d)
		}
	}
	// A mean gate scores the whole prompt: its cosine is that of the mean
	// block_out row of every position after the first.
	cond := &Condition{Vector: NewVector("c", engine.SiteBlockOut, 2, dir), Layer: 2, Threshold: 2, From: 1}
	gst := Add(NewVector("v", engine.SiteBlockOut, 4, dir), Raw(1))
	gst.Condition = cond
	s := Compose(gst)
	if hooks, err = s.Hooks(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Forward(ctx, [][]int{toks}, hooks, false); err != nil {
		t.Fatal(err)
	}
	c, err := m.M.Capture(ctx, [][]int{toks}, engine.CaptureRequest{Sites: []engine.Site{engine.SiteBlockOut}, Layers: []int{2}, Positions: engine.AllPositions()})
	if err != nil {
		t.Fatal(err)
	}
	rows := c.Rows(engine.SiteBlockOut, 2)
	D := m.Dim()
	mean := make([]float64, D)
	for _, r := range rows[1:] {
		for j := 0; j < D; j++ {
			for k := 0; k < 4; k++ {
				mean[j] += float64(r[k*D+j]) / 4
			}
		}
	}
	if score := s.Scores()[cond][0]; math.Abs(score-cosine(mean, dir)) > 1e-6 {
		t.Errorf("gate score %.6f, cosine of the whole prompt's mean %.6f", score, cosine(mean, dir))
	}
}
