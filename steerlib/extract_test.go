package steerlib

import (
	"context"
	"math"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/progress"
)

// record runs one sequence through m and returns the rows seen at (site,
// layer), reduced to the stream mean — an independent path to compare
// Extract against.
func record(t *testing.T, m Model, toks []int, site engine.Site, layer int) [][]float64 {
	t.Helper()
	var rows [][]float64
	h := Hook{Sel: engine.Selector{Site: site, Layers: []int{layer}}, Fn: func(e *engine.Event) {
		for i := 0; i < e.Rows; i++ {
			r := e.Row(i)
			d := e.Width
			if site.Streams() {
				d /= 4
			}
			row := make([]float64, d)
			for j := 0; j < e.Width; j++ {
				row[j%d] += float64(r[j])
			}
			if site.Streams() {
				for j := range row {
					row[j] /= 4
				}
			}
			rows = append(rows, row)
		}
	}}
	if _, err := m.Forward(context.Background(), [][]int{toks}, []Hook{h}, false); err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestExtractMatchesIndependentCapture(t *testing.T) {
	m := newToy(1)
	d, err := LoadDataset("sentiment")
	if err != nil {
		t.Fatal(err)
	}
	d, _ = d.Split(0.25)
	a, err := Extract(context.Background(), m, d, ExtractOptions{Sites: []engine.Site{engine.SiteBlockOut, engine.SiteAttnOut}, BatchSize: 3, Read: ReadLast})
	if err != nil {
		t.Fatal(err)
	}
	for _, site := range []engine.Site{engine.SiteBlockOut, engine.SiteAttnOut} {
		for _, l := range []int{0, 3} {
			pos, neg, err := a.Rows(site, l)
			if err != nil {
				t.Fatal(err)
			}
			if len(pos) != len(d.Positive) || len(neg) != len(d.Negative) {
				t.Fatalf("rows %d/%d, want %d/%d", len(pos), len(neg), len(d.Positive), len(d.Negative))
			}
			for i, e := range d.Positive {
				tk, _ := PlainFormat.Tokenize(m, e)
				want := record(t, m, tk.Tokens, site, l)
				if got := pos[i]; maxAbsDiff(got, want[len(want)-1]) != 0 {
					t.Fatalf("%s layer %d example %d differs from an independent capture", site, l, i)
				}
			}
		}
	}
	// Streaming sums give the same DiffMean as stored rows.
	s, err := Extract(context.Background(), m, d, ExtractOptions{SumsOnly: true, BatchSize: 5, Read: ReadLast})
	if err != nil {
		t.Fatal(err)
	}
	v1, _ := a.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
	v2, err := s.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range v1.Layers() {
		if diff := maxAbsDiff(v1.Dir(l), v2.Dir(l)); diff > 1e-12 {
			t.Errorf("layer %d: sums-only diffmean differs by %g", l, diff)
		}
	}
	if _, err := s.Vector(PCACenter, engine.SiteBlockOut, nil, EstimateOptions{}); err == nil {
		t.Error("PCA on a sums-only capture accepted")
	}
	if vs, err := a.Vectors(engine.SiteBlockOut, []int{1}, EstimateOptions{}); err != nil || len(vs) != len(Estimators) {
		t.Errorf("Vectors: %d vectors, %v", len(vs), err)
	}
	if vs, _ := s.Vectors(engine.SiteBlockOut, []int{1}, EstimateOptions{}); len(vs) != 1 {
		t.Errorf("sums-only Vectors: %d, want diffmean only", len(vs))
	}
	if v1.Prov.DatasetHash != d.Hash || v1.Norms[0].Count != d.Len() || v1.Prov.Position != "last" {
		t.Errorf("provenance not filled: %+v norms %+v", v1.Prov, v1.Norms[0])
	}
}

func TestExtractMarkAndResponseMean(t *testing.T) {
	m := newToy(2)
	items, _ := ChoiceItems()
	pairs, _ := ChoicePairs(items[:3])
	d := NewPairedDataset("ab", pairs)
	a, err := Extract(context.Background(), m, d, ExtractOptions{Read: ReadMark, Layers: []int{1}, Format: ChatFormat})
	if err != nil {
		t.Fatal(err)
	}
	pos, _, _ := a.Rows(engine.SiteBlockOut, 1)
	tk, _ := ChatFormat.Tokenize(m, d.Positive[0])
	if m.Decode(tk.Tokens[tk.Mark:tk.Mark+1]) != d.Positive[0].Completion[1:2] {
		t.Fatalf("mark token %q is not the answer letter", m.Decode(tk.Tokens[tk.Mark:tk.Mark+1]))
	}
	all := record(t, m, tk.Tokens, engine.SiteBlockOut, 1)
	if maxAbsDiff(pos[0], all[tk.Mark]) != 0 {
		t.Error("ReadMark row is not the answer-letter row")
	}
	// Response mean = mean of the completion rows.
	pp, _ := PersonaPairs("You are {persona}.", [][2]string{{"happy", "sad"}}, []string{"I feel fine today"})
	d2 := NewPairedDataset("persona", pp)
	b, err := Extract(context.Background(), m, d2, ExtractOptions{Read: ReadResponseMean, Layers: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	pos2, _, _ := b.Rows(engine.SiteBlockOut, 2)
	e := d2.Positive[len(d2.Positive)-1]
	tk2, _ := PlainFormat.Tokenize(m, e)
	rows := record(t, m, tk2.Tokens, engine.SiteBlockOut, 2)
	want := meanRows(rows[tk2.RespStart:])
	if diff := maxAbsDiff(pos2[len(pos2)-1], want); diff > 1e-9 {
		t.Errorf("response mean differs by %g", diff)
	}
	// ReadMean: mean of every row (no BOS here).
	c, err := Extract(context.Background(), m, d2, ExtractOptions{Read: ReadMean, Layers: []int{2}})
	if err != nil {
		t.Fatal(err)
	}
	pos3, _, _ := c.Rows(engine.SiteBlockOut, 2)
	if diff := maxAbsDiff(pos3[len(pos3)-1], meanRows(rows)); diff > 1e-9 || !c.Paired {
		t.Errorf("ReadMean differs by %g (paired %v)", diff, c.Paired)
	}
}

func maxAbsDiff(a, b []float64) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(a[i]-b[i]))
	}
	return m
}

// recorder counts progress calls.
type recorder struct{ starts, updates, finishes int }

func (r *recorder) Start(string, int) { r.starts++ }
func (r *recorder) Update(int)        { r.updates++ }
func (r *recorder) Finish()           { r.finishes++ }

func TestExtractProgressAndCancel(t *testing.T) {
	m := newToy(1)
	d, _ := LoadDataset("sentiment")
	rec := &recorder{}
	ctx := progress.WithReporter(context.Background(), rec)
	if _, err := Extract(ctx, m, d, ExtractOptions{BatchSize: 8}); err != nil {
		t.Fatal(err)
	}
	if rec.starts != 1 || rec.finishes != 1 || rec.updates != 6 {
		t.Errorf("progress: %+v, want one task with 6 batch updates", rec)
	}
	cctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Extract(cctx, m, d, ExtractOptions{}); err == nil {
		t.Error("cancelled context did not stop the extraction")
	}
	if _, err := Sweep(cctx, m, NewVector("v", engine.SiteBlockOut, 0, make([]float64, m.D)), func(ctx context.Context, s *Steering) ([]float64, error) {
		return []float64{0}, ctx.Err()
	}, DoseOptions{Strengths: []float64{1}}); err == nil {
		t.Error("cancelled context did not stop the sweep")
	}
}
