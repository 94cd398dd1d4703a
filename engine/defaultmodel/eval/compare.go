package eval

import (
	"fmt"
	"math"
	"strings"

	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// MaxStorageDrop is issue 4's storage rule, in points (percentage points of
// a rate; for the held-out loss, of its excess over the entropy): the
// release's formats (FP8 dense linears, FP4 routed experts) ship when no
// evaluation drops by more than this against BF16 of the same weights.
const MaxStorageDrop = 2.0

// Comparison sets two evaluations run with the same options side by side: a
// baseline (for the storage decision, the BF16 weights) and a candidate (the
// same weights in the release's formats).
type Comparison struct {
	Base      string       `json:"base"`
	Candidate string       `json:"candidate"`
	MaxDrop   float64      `json:"max_drop"` // points
	Rows      []CompareRow `json:"rows"`
}

// CompareRow is one figure of both evaluations.
type CompareRow struct {
	Metric     string  `json:"metric"`
	Base       float64 `json:"base"`
	Candidate  float64 `json:"candidate"`
	BaseN      string  `json:"base_n,omitempty"` // counts, "a/b"
	CandidateN string  `json:"candidate_n,omitempty"`
	// Drop is how much worse the candidate is, in points: positive when it
	// is worse, whichever direction is better for the metric.
	Drop float64 `json:"drop"`
	// Decides is false for rows shown for information only: the strengths of
	// the steering sweep other than the check's. On the steep part of the
	// curve a shift of a fraction of a strength unit moves a point by many
	// points, so the rule looks at the check's strength and the plateau.
	Decides bool `json:"decides"`
}

// Holds reports whether no deciding row drops by more than MaxDrop.
func (c *Comparison) Holds() bool {
	for _, r := range c.Rows {
		if r.Decides && r.Drop > c.MaxDrop+1e-9 {
			return false
		}
	}
	return true
}

// Worst is the deciding row with the largest drop.
func (c *Comparison) Worst() CompareRow {
	w := CompareRow{Drop: math.Inf(-1)}
	for _, r := range c.Rows {
		if r.Decides && r.Drop > w.Drop {
			w = r
		}
	}
	return w
}

// Compare lines up base and cand, which must have been run with the same
// options (prompt sets, seed, decodings, steering layer, placement and
// strengths). maxDrop ≤ 0 means MaxStorageDrop.
func Compare(base, cand *Report, maxDrop float64) (*Comparison, error) {
	if maxDrop <= 0 {
		maxDrop = MaxStorageDrop
	}
	bo, co := base.Options, cand.Options
	if bo.Seed != co.Seed || bo.N != co.N || bo.MaxTokens != co.MaxTokens || bo.LossDocs != co.LossDocs ||
		bo.Steering.Prompts != co.Steering.Prompts || bo.Steering.Contrast != co.Steering.Contrast {
		return nil, fmt.Errorf("eval: compare %s with %s: different options (seed %d/%d, n %d/%d, max tokens %d/%d, loss documents %d/%d, steering prompts %d/%d, contrast %d/%d)",
			base.Model, cand.Model, bo.Seed, co.Seed, bo.N, co.N, bo.MaxTokens, co.MaxTokens, bo.LossDocs, co.LossDocs,
			bo.Steering.Prompts, co.Steering.Prompts, bo.Steering.Contrast, co.Steering.Contrast)
	}
	c := &Comparison{Base: base.Model, Candidate: cand.Model, MaxDrop: maxDrop}
	if (base.Loss == nil) != (cand.Loss == nil) || len(base.Decoding) != len(cand.Decoding) || (base.Steering == nil) != (cand.Steering == nil) {
		return nil, fmt.Errorf("eval: compare %s with %s: the reports measured different parts", base.Model, cand.Model)
	}
	if base.Loss != nil {
		c.Rows = append(c.Rows, CompareRow{
			Metric: "held-out loss over entropy (%)", Base: 100 * base.Loss.Excess, Candidate: 100 * cand.Loss.Excess,
			Drop: 100 * (cand.Loss.Excess - base.Loss.Excess), Decides: true,
		})
	}
	for i := range base.Decoding {
		bd, cd := base.Decoding[i], cand.Decoding[i]
		if bd.Decoding != cd.Decoding {
			return nil, fmt.Errorf("eval: compare %s with %s: decoding %d is %+v vs %+v", base.Model, cand.Model, i, bd.Decoding, cd.Decoding)
		}
		bm, cm := bd.Metrics, cd.Metrics
		for _, f := range []struct {
			name         string
			higherBetter bool
			n            func(m corpus.Metrics) (int, int)
		}{
			{"sentences in the grammar", true, func(m corpus.Metrics) (int, int) { return m.InGrammar, m.Sentences }},
			{"review keeps sentiment, topic, register", true, func(m corpus.Metrics) (int, int) { return m.ReviewsKept, m.Reviews }},
			{"chat requests followed", true, func(m corpus.Metrics) (int, int) { return m.RequestsFollowed, m.Requests }},
			{"secret requests refused", true, func(m corpus.Metrics) (int, int) { return m.SecretRefused, m.Secret }},
			{"benign requests refused", false, func(m corpus.Metrics) (int, int) { return m.BenignRefused, m.Benign }},
			{"multiple-choice answer right", true, func(m corpus.Metrics) (int, int) { return m.MCCorrect, m.MC }},
		} {
			ba, bb := f.n(bm)
			ca, cb := f.n(cm)
			c.Rows = append(c.Rows, rateRow(bd.Decoding.Name+": "+f.name, ba, bb, ca, cb, f.higherBetter, true))
		}
	}
	if bs, cs := base.Steering, cand.Steering; bs != nil {
		if bs.Layer != cs.Layer || bs.Phase != cs.Phase || len(bs.Points) != len(cs.Points) {
			return nil, fmt.Errorf("eval: compare %s with %s: steering sweeps differ (layer %d/%d, %s/%s, %d/%d strengths)",
				base.Model, cand.Model, bs.Layer, cs.Layer, bs.Phase, cs.Phase, len(bs.Points), len(cs.Points))
		}
		// The check's strength is the one its Checks report: the base's
		// first strength that meets the targets, else the closest to them.
		at := bs.reported()
		for i := range bs.Points {
			bp, cp := bs.Points[i], cs.Points[i]
			if bp.Strength != cp.Strength {
				return nil, fmt.Errorf("eval: compare %s with %s: steering point %d is strength %g vs %g", base.Model, cand.Model, i, bp.Strength, cp.Strength)
			}
			name := fmt.Sprintf("steering strength %g: ", bp.Strength)
			if i == at {
				name = fmt.Sprintf("steering strength %g (the check's): ", bp.Strength)
			}
			c.Rows = append(c.Rows,
				rateRow(name+"turned positive", bp.PositiveN, bp.Prompts, cp.PositiveN, cp.Prompts, true, i == at),
				rateRow(name+"every sentence positive", bp.AllPositiveN, bp.Prompts, cp.AllPositiveN, cp.Prompts, true, i == at),
				rateRow(name+"sentences in the grammar", bp.InGrammarN, bp.Sentences, cp.InGrammarN, cp.Sentences, true, i == at))
		}
		b, bi := plateau(bs)
		p, pi := plateau(cs)
		row := CompareRow{Metric: "steering plateau: most turned positive with ≥ 90 % in grammar", Base: 100 * b, Candidate: 100 * p, Drop: 100 * (b - p), Decides: true}
		if bi >= 0 {
			row.BaseN = fmt.Sprintf("at %g", bs.Points[bi].Strength)
		}
		if pi >= 0 {
			row.CandidateN = fmt.Sprintf("at %g", cs.Points[pi].Strength)
		}
		c.Rows = append(c.Rows, row)
	}
	return c, nil
}

func rateRow(name string, ba, bb, ca, cb int, higherBetter, decides bool) CompareRow {
	b, c := frac(ba, bb), frac(ca, cb)
	drop := 100 * (b - c)
	if !higherBetter {
		drop = -drop
	}
	return CompareRow{Metric: name, Base: 100 * b, Candidate: 100 * c, BaseN: counts(ba, bb), CandidateN: counts(ca, cb), Drop: drop, Decides: decides}
}

// plateau is the most positive point with at least MinSteerInGrammar of its
// sentences in the grammar (0, −1 when there is none).
func plateau(s *SteerResult) (float64, int) {
	best, at := 0.0, -1
	for i, p := range s.Points {
		if p.InGrammar >= MinSteerInGrammar && (at < 0 || p.Positive > best) {
			best, at = p.Positive, i
		}
	}
	return best, at
}

// Verdict says in one line what the rule decides.
func (c *Comparison) Verdict() string {
	w := c.Worst()
	if math.IsInf(w.Drop, -1) {
		return "has no deciding evaluation to compare (the reports measured nothing the rule reads)"
	}
	if c.Holds() {
		return fmt.Sprintf("holds: no evaluation drops by more than %.3g points (largest drop %.2f, %s)", c.MaxDrop, w.Drop, w.Metric)
	}
	return fmt.Sprintf("does not hold: %s drops by %.2f points (> %.3g)", w.Metric, w.Drop, c.MaxDrop)
}

// Markdown renders the comparison as a table, deciding rows first.
func (c *Comparison) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Base %s, candidate %s: the candidate %s.\n\n", c.Base, c.Candidate, c.Verdict())
	b.WriteString("| evaluation | base | candidate | drop (points) |\n|---|---|---|---|\n")
	cell := func(v float64, n string) string {
		if n == "" {
			return fmt.Sprintf("%.2f", v)
		}
		return fmt.Sprintf("%.2f (%s)", v, n)
	}
	for _, pass := range []bool{true, false} {
		for _, r := range c.Rows {
			if r.Decides != pass {
				continue
			}
			name := r.Metric
			if !r.Decides {
				name += " (information)"
			}
			drop := fmt.Sprintf("%+.2f", r.Drop)
			if r.Decides && r.Drop > c.MaxDrop+1e-9 {
				drop = "**" + drop + "**"
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", strings.ReplaceAll(name, "|", "\\|"), cell(r.Base, r.BaseN), cell(r.Candidate, r.CandidateN), drop)
		}
	}
	return b.String()
}

// String is the plain-text comparison.
func (c *Comparison) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "base %s, candidate %s\n", c.Base, c.Candidate)
	for _, r := range c.Rows {
		mark := " "
		if r.Decides {
			mark = "*"
		}
		fmt.Fprintf(&b, "%s %-72s %7.2f %7.2f  drop %+6.2f\n", mark, r.Metric, r.Base, r.Candidate, r.Drop)
	}
	b.WriteString("(* decides) the candidate " + c.Verdict() + "\n")
	return b.String()
}
