package eval

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

// The quality gate of issue 4 on the default model. It needs the trained
// model: the one embedded in the binary (engine.Default) or, before it is
// embedded, the exported folder engine/defaultmodel/model. Without either it
// skips and says so; with one it asserts the real thresholds.
//
//	go test ./engine/defaultmodel/eval/ -run DefaultModelQuality -v
//	STEERBOOK_EVAL_N=128 STEERBOOK_EVAL_WRITE=1 go test ./engine/defaultmodel/eval/ -run DefaultModelQuality -v -timeout 30m
//
// STEERBOOK_EVAL_N sets the prompts per set (default 64); STEERBOOK_EVAL_WRITE
// writes testdata/steering.png and testdata/report.md for the model card.

func defaultModel(tb testing.TB) (*engine.Model, string) {
	tb.Helper()
	m, name, err := OpenDefault(filepath.Join("..", "model"))
	if errors.Is(err, engine.ErrNoDefaultModel) {
		tb.Skipf("default model absent, nothing to evaluate: %v", err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return m, name
}

func qualityOptions(tb testing.TB) Options {
	n := 64
	if s := os.Getenv("STEERBOOK_EVAL_N"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			tb.Fatalf("STEERBOOK_EVAL_N=%q: want a positive integer", s)
		}
		n = v
	}
	return Options{N: n, Seed: 1}
}

func TestDefaultModelQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the full evaluation generates tens of thousands of tokens")
	}
	m, name := defaultModel(t)
	opt := qualityOptions(t)
	opt.Log = testLog{t}
	r, err := Run(context.Background(), m, name, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r)
	if os.Getenv("STEERBOOK_EVAL_WRITE") != "" {
		if err := r.Steering.SavePlot(filepath.Join("testdata", "steering.png")); err != nil {
			t.Error(err)
		}
		if err := os.WriteFile(filepath.Join("testdata", "report.md"), []byte(r.Markdown()), 0o644); err != nil {
			t.Error(err)
		}
	}
	// Every target of issue 4 is asserted at its real threshold.
	for _, c := range r.Checks() {
		if !c.Pass {
			t.Errorf("issue 4 target missed: %s", c)
		}
	}
	for _, d := range r.Decoding {
		for _, f := range d.Failures {
			t.Logf("%s miss [%s]: %q → %q", d.Decoding.Name, f.Kind, f.Prompt, f.Completion)
		}
	}
}

// BenchmarkDefaultModelQuality reports the figures of the model card as
// benchmark metrics (one evaluation per iteration):
//
//	go test ./engine/defaultmodel/eval/ -run XXX -bench DefaultModelQuality -benchtime 1x
func BenchmarkDefaultModelQuality(b *testing.B) {
	m, name := defaultModel(b)
	opt := qualityOptions(b)
	var r *Report
	for b.Loop() {
		var err error
		if r, err = Run(context.Background(), m, name, opt); err != nil {
			b.Fatal(err)
		}
	}
	if l := r.Loss; l != nil {
		b.ReportMetric(l.Loss, "loss-nats/tok")
		b.ReportMetric(l.Entropy, "entropy-nats/tok")
		b.ReportMetric(100*l.Excess, "loss-excess-%")
	}
	for i, d := range r.Decoding {
		pre := []string{"greedy", "sampled"}[min(i, 1)]
		rt := d.Rates()
		b.ReportMetric(100*rt.InGrammar, pre+"-in-grammar-%")
		b.ReportMetric(100*rt.ReviewKept, pre+"-review-kept-%")
		b.ReportMetric(100*rt.RequestsFollowed, pre+"-followed-%")
		b.ReportMetric(100*rt.SecretRefused, pre+"-secret-refused-%")
		b.ReportMetric(100*rt.BenignRefused, pre+"-benign-refused-%")
		b.ReportMetric(100*rt.MCCorrect, pre+"-mc-%")
	}
	if s := r.Steering; s != nil && len(s.Points) > 0 {
		p := s.Points[s.reported()]
		b.ReportMetric(float64(p.Strength), "steer-strength")
		b.ReportMetric(100*p.Positive, "steer-positive-%")
		b.ReportMetric(100*p.InGrammar, "steer-in-grammar-%")
	}
	b.Logf("\n%s", r)
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(p[:len(p)-min(len(p), 1)]))
	return len(p), nil
}
