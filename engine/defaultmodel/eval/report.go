package eval

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"strings"
	"unicode/utf8"
)

// Check is one figure compared with its issue-4 target.
type Check struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Op     string  `json:"op"` // ">=" or "<="
	Target float64 `json:"target"`
	Pass   bool    `json:"pass"`
	Detail string  `json:"detail,omitempty"` // counts
}

func (c Check) String() string {
	mark := "PASS"
	if !c.Pass {
		mark = "FAIL"
	}
	return fmt.Sprintf("%s %-52s %.4f %s %.2f  %s", mark, c.Name, c.Value, c.Op, c.Target, c.Detail)
}

func check(name string, v float64, op string, target float64, detail string) Check {
	pass := v >= target
	if op == "<=" {
		pass = v <= target
	}
	return Check{Name: name, Value: v, Op: op, Target: target, Pass: pass, Detail: detail}
}

// Checks compares every measured figure with its target (parts that were
// skipped have no checks).
func (r *Report) Checks() []Check {
	var cs []Check
	if l := r.Loss; l != nil {
		cs = append(cs, check("held-out loss: |loss/entropy − 1|", math.Abs(l.Excess), "<=", MaxLossExcess,
			fmt.Sprintf("loss %.4f vs entropy %.4f nats/token", l.Loss, l.Entropy)))
	}
	for _, d := range r.Decoding {
		m, rt, n := d.Metrics, d.Rates(), d.Decoding.Name
		cs = append(cs,
			check(n+": sentences in the grammar", rt.InGrammar, ">=", MinInGrammar, counts(m.InGrammar, m.Sentences)),
			check(n+": review keeps sentiment+topic+register", rt.ReviewKept, ">=", MinReviewKept, counts(m.ReviewsKept, m.Reviews)),
			check(n+": chat requests followed", rt.RequestsFollowed, ">=", MinRequestsFollowed, counts(m.RequestsFollowed, m.Requests)),
			check(n+": secret requests refused", rt.SecretRefused, ">=", MinSecretRefused, counts(m.SecretRefused, m.Secret)),
			check(n+": benign requests refused", rt.BenignRefused, "<=", MaxBenignRefused, counts(m.BenignRefused, m.Benign)),
			check(n+": multiple-choice answer right", rt.MCCorrect, ">=", MinMCCorrect, counts(m.MCCorrect, m.MC)),
		)
	}
	if s := r.Steering; s != nil && len(s.Points) > 0 {
		pt := s.Points[s.reported()]
		cs = append(cs,
			check(fmt.Sprintf("steering: negative → positive (strength %g)", pt.Strength), pt.Positive, ">=", MinSteerEffect, counts(pt.PositiveN, pt.Prompts)),
			check(fmt.Sprintf("steering: every sentence positive (strength %g)", pt.Strength), pt.AllPositive, ">=", MinSteerEffect, counts(pt.AllPositiveN, pt.Prompts)),
			check(fmt.Sprintf("steering: sentences in the grammar (strength %g)", pt.Strength), pt.InGrammar, ">=", MinSteerInGrammar, counts(pt.InGrammarN, pt.Sentences)),
		)
	}
	return cs
}

// reported is the point the checks use: the first that meets the targets,
// else the one closest to meeting them (the largest min(positive/0.80,
// every-sentence/0.80, in-grammar/0.90); the smaller strength on ties), so a failing check shows
// the best trade-off the sweep found.
func (s *SteerResult) reported() int {
	if s.Best >= 0 {
		return s.Best
	}
	best, bestScore := 0, -1.0
	for i, p := range s.Points {
		sc := min(p.Positive/MinSteerEffect, p.AllPositive/MinSteerEffect, p.InGrammar/MinSteerInGrammar)
		if sc > bestScore {
			best, bestScore = i, sc
		}
	}
	return best
}

func counts(a, b int) string { return fmt.Sprintf("%d/%d", a, b) }

// Pass reports whether every check passes.
func (r *Report) Pass() bool {
	for _, c := range r.Checks() {
		if !c.Pass {
			return false
		}
	}
	return true
}

// table is a titled grid rendered as text, Markdown or HTML.
type table struct {
	Title string
	Head  []string
	Rows  [][]string
}

func (r *Report) tables() []table {
	var ts []table
	if l := r.Loss; l != nil {
		t := table{Title: "Held-out loss vs the generator's exact entropy (nats per predicted token)",
			Head: []string{"documents", "docs", "tokens", "model loss", "entropy", "excess"}}
		t.Rows = append(t.Rows, []string{"all", fmt.Sprint(l.Docs), fmt.Sprint(l.Tokens),
			fmt.Sprintf("%.4f", l.Loss), fmt.Sprintf("%.4f", l.Entropy), fmt.Sprintf("%+.1f%%", 100*l.Excess)})
		for _, k := range l.ByKind {
			t.Rows = append(t.Rows, []string{k.Kind, fmt.Sprint(k.Docs), fmt.Sprint(k.Tokens),
				fmt.Sprintf("%.4f", k.Loss), fmt.Sprintf("%.4f", k.Entropy), fmt.Sprintf("%+.1f%%", 100*(k.Loss/k.Entropy-1))})
		}
		ts = append(ts, t)
	}
	if len(r.Decoding) > 0 {
		t := table{Title: "Generation on held-out prompts (corpus classifier)", Head: []string{"metric"}}
		for _, d := range r.Decoding {
			t.Head = append(t.Head, d.Decoding.Name)
		}
		t.Head = append(t.Head, "target")
		type row struct {
			name   string
			get    func(DecodeResult) (float64, string)
			target string
			ok     func(float64) bool
		}
		rows := []row{
			{"sentences in the grammar", func(d DecodeResult) (float64, string) {
				return d.Rates().InGrammar, counts(d.Metrics.InGrammar, d.Metrics.Sentences)
			}, fmt.Sprintf("≥ %.2f", MinInGrammar), func(v float64) bool { return v >= MinInGrammar }},
			{"review keeps sentiment, topic, register", func(d DecodeResult) (float64, string) {
				return d.Rates().ReviewKept, counts(d.Metrics.ReviewsKept, d.Metrics.Reviews)
			}, fmt.Sprintf("≥ %.2f", MinReviewKept), func(v float64) bool { return v >= MinReviewKept }},
			{"… sentiment", func(d DecodeResult) (float64, string) {
				return frac(d.Metrics.ReviewSentimentKept, d.Metrics.Reviews), counts(d.Metrics.ReviewSentimentKept, d.Metrics.Reviews)
			}, "", nil},
			{"… topic", func(d DecodeResult) (float64, string) {
				return frac(d.Metrics.ReviewTopicKept, d.Metrics.Reviews), counts(d.Metrics.ReviewTopicKept, d.Metrics.Reviews)
			}, "", nil},
			{"… register", func(d DecodeResult) (float64, string) {
				return frac(d.Metrics.ReviewRegisterKept, d.Metrics.Reviews), counts(d.Metrics.ReviewRegisterKept, d.Metrics.Reviews)
			}, "", nil},
			{"chat requests followed", func(d DecodeResult) (float64, string) {
				return d.Rates().RequestsFollowed, counts(d.Metrics.RequestsFollowed, d.Metrics.Requests)
			}, fmt.Sprintf("≥ %.2f", MinRequestsFollowed), func(v float64) bool { return v >= MinRequestsFollowed }},
			{"secret requests refused", func(d DecodeResult) (float64, string) {
				return d.Rates().SecretRefused, counts(d.Metrics.SecretRefused, d.Metrics.Secret)
			}, fmt.Sprintf("≥ %.2f", MinSecretRefused), func(v float64) bool { return v >= MinSecretRefused }},
			{"benign requests refused", func(d DecodeResult) (float64, string) {
				return d.Rates().BenignRefused, counts(d.Metrics.BenignRefused, d.Metrics.Benign)
			}, fmt.Sprintf("≤ %.2f", MaxBenignRefused), func(v float64) bool { return v <= MaxBenignRefused }},
			{"multiple-choice answer right", func(d DecodeResult) (float64, string) {
				return d.Rates().MCCorrect, counts(d.Metrics.MCCorrect, d.Metrics.MC)
			}, fmt.Sprintf("≥ %.2f", MinMCCorrect), func(v float64) bool { return v >= MinMCCorrect }},
			{"completions cut at max tokens", func(d DecodeResult) (float64, string) {
				return frac(d.Truncated, d.Metrics.Prompts), counts(d.Truncated, d.Metrics.Prompts)
			}, "", nil},
		}
		for _, rw := range rows {
			cells := []string{rw.name}
			for _, d := range r.Decoding {
				v, c := rw.get(d)
				cell := fmt.Sprintf("%.3f (%s)", v, c)
				if rw.ok != nil {
					cell += mark(rw.ok(v))
				}
				cells = append(cells, cell)
			}
			t.Rows = append(t.Rows, append(cells, rw.target))
		}
		ts = append(ts, t)
	}
	if s := r.Steering; s != nil {
		t := table{Title: fmt.Sprintf("Steering: difference-of-means sentiment vector at block_out of layer %d "+
			"(‖v‖ = %.3f, mean ‖x‖ = %.3f, %d reviews per side), added to %s, %s decoding of negative review prompts",
			s.Layer, s.VectorNorm, s.ActivationNorm, s.Contrast, s.Phase, s.Decoding.Name),
			Head: []string{"strength", "classified positive", "every sentence positive", "sentences in grammar", "targets met", "topic kept", "first continuation"}}
		for _, p := range s.Points {
			t.Rows = append(t.Rows, []string{fmt.Sprint(p.Strength),
				fmt.Sprintf("%.3f (%s)", p.Positive, counts(p.PositiveN, p.Prompts)),
				fmt.Sprintf("%.3f (%s)", p.AllPositive, counts(p.AllPositiveN, p.Prompts)),
				fmt.Sprintf("%.3f (%s)", p.InGrammar, counts(p.InGrammarN, p.Sentences)),
				strings.TrimSpace(mark(p.Meets())), fmt.Sprintf("%.3f", p.TopicKept), clip(p.Example, 90)})
		}
		ts = append(ts, t)
	}
	if len(r.SteeringVariants) > 0 {
		t := table{Title: "Steering variants (information only, not checks): the same vector and sweep at other layers and positions",
			Head: []string{"layer", "added to", "first strength meeting the targets", "most positive with ≥ 0.90 in grammar"}}
		for _, v := range r.SteeringVariants {
			first := "none"
			if v.Best >= 0 {
				p := v.Points[v.Best]
				first = fmt.Sprintf("%g (positive %.3f, every sentence %.3f, in grammar %.3f, topic kept %.3f)", p.Strength, p.Positive, p.AllPositive, p.InGrammar, p.TopicKept)
			}
			t.Rows = append(t.Rows, []string{fmt.Sprint(v.Layer), v.Phase, first, v.bestGrammatical()})
		}
		ts = append(ts, t)
	}
	return ts
}

// bestGrammatical describes the most effective point that keeps ≥ 90 % of
// sentences in the grammar.
func (s *SteerResult) bestGrammatical() string {
	_, best := plateau(s)
	if best < 0 {
		return "none"
	}
	p := s.Points[best]
	return fmt.Sprintf("%.3f at strength %g (in grammar %.3f)", p.Positive, p.Strength, p.InGrammar)
}

// Verdict summarises a sweep in one line.
func (s *SteerResult) Verdict() string {
	if s.Best >= 0 {
		p := s.Points[s.Best]
		return fmt.Sprintf("meets the targets at strength %g (positive %.3f, every sentence %.3f, in grammar %.3f)", p.Strength, p.Positive, p.AllPositive, p.InGrammar)
	}
	return "no strength meets the targets; most positive with ≥ 0.90 in grammar: " + s.bestGrammatical()
}

func mark(ok bool) string {
	if ok {
		return " ✓"
	}
	return " ✗"
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func (r *Report) summary() string {
	cs := r.Checks()
	pass := 0
	for _, c := range cs {
		if c.Pass {
			pass++
		}
	}
	return fmt.Sprintf("Quality of %s: %d of %d checks pass (seed %d, %d prompts per set, %s)",
		r.Model, pass, len(cs), r.Options.Seed, r.Options.N, r.Elapsed.Round(1e9))
}

// String is the plain-text report: the tables, then every check.
func (r *Report) String() string {
	var b strings.Builder
	b.WriteString(r.summary() + "\n")
	for _, t := range r.tables() {
		b.WriteString("\n" + t.Title + "\n")
		w := make([]int, len(t.Head))
		for _, row := range append([][]string{t.Head}, t.Rows...) {
			for i, c := range row {
				w[i] = max(w[i], utf8.RuneCountInString(c))
			}
		}
		for k, row := range append([][]string{t.Head}, t.Rows...) {
			for i, c := range row {
				if i == len(row)-1 {
					b.WriteString(c)
					continue
				}
				b.WriteString(c + strings.Repeat(" ", w[i]-utf8.RuneCountInString(c)+2))
			}
			b.WriteString("\n")
			if k == 0 {
				b.WriteString(strings.Repeat("-", min(120, sum(w)+2*len(w))) + "\n")
			}
		}
	}
	b.WriteString("\nChecks (issue 4 targets)\n")
	for _, c := range r.Checks() {
		b.WriteString(c.String() + "\n")
	}
	return b.String()
}

func sum(v []int) int {
	s := 0
	for _, x := range v {
		s += x
	}
	return s
}

// Markdown renders the report for the model card.
func (r *Report) Markdown() string {
	var b strings.Builder
	b.WriteString(r.summary() + ".\n")
	esc := func(s string) string { return strings.ReplaceAll(s, "|", "\\|") }
	for _, t := range r.tables() {
		b.WriteString("\n**" + t.Title + "**\n\n|")
		for _, h := range t.Head {
			b.WriteString(" " + esc(h) + " |")
		}
		b.WriteString("\n|" + strings.Repeat("---|", len(t.Head)) + "\n")
		for _, row := range t.Rows {
			b.WriteString("|")
			for _, c := range row {
				b.WriteString(" " + esc(c) + " |")
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\n**Checks**\n\n")
	for _, c := range r.Checks() {
		m := "✓"
		if !c.Pass {
			m = "✗"
		}
		fmt.Fprintf(&b, "- %s %s: %.4f (target %s %.2f; %s)\n", m, c.Name, c.Value, c.Op, c.Target, c.Detail)
	}
	return b.String()
}

// HTML renders the report as HTML tables.
func (r *Report) HTML() string {
	var b strings.Builder
	b.WriteString("<div class=\"steerbook-eval\"><p><b>" + html.EscapeString(r.summary()) + "</b></p>")
	for _, t := range r.tables() {
		b.WriteString("<table><caption>" + html.EscapeString(t.Title) + "</caption><tr>")
		for _, h := range t.Head {
			b.WriteString("<th>" + html.EscapeString(h) + "</th>")
		}
		b.WriteString("</tr>")
		for _, row := range t.Rows {
			b.WriteString("<tr>")
			for _, c := range row {
				b.WriteString("<td>" + html.EscapeString(c) + "</td>")
			}
			b.WriteString("</tr>")
		}
		b.WriteString("</table>")
	}
	b.WriteString("<table><caption>Checks (issue 4 targets)</caption><tr><th>check</th><th>value</th><th>target</th><th>counts</th><th></th></tr>")
	for _, c := range r.Checks() {
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%.4f</td><td>%s %.2f</td><td>%s</td><td>%s</td></tr>",
			html.EscapeString(c.Name), c.Value, html.EscapeString(c.Op), c.Target, html.EscapeString(c.Detail), strings.TrimSpace(mark(c.Pass)))
	}
	b.WriteString("</table></div>")
	return b.String()
}

// MIMEBundle renders the report for notebooks: text/plain, text/html and
// application/json.
func (r *Report) MIMEBundle() map[string]any {
	bundle := map[string]any{"text/plain": r.String(), "text/html": r.HTML()}
	if b, err := json.Marshal(r); err == nil {
		var v any
		if json.Unmarshal(b, &v) == nil {
			bundle["application/json"] = v
		}
	}
	return bundle
}

// Method describes in Markdown how the figures are measured, for the model
// card.
func (r *Report) Method() string {
	o := r.Options
	var b strings.Builder
	b.WriteString("Measured with the Go engine by `engine/defaultmodel/eval` (`go run ./engine/defaultmodel/eval/cmd/evalmodel")
	fmt.Fprintf(&b, " -n %d -seed %d`; the gate is `go test ./engine/defaultmodel/eval/ -run DefaultModelQuality`), ", o.N, o.Seed)
	b.WriteString("with the corpus's ground-truth classifier (`corpus.ScoreCompletion`):\n\n")
	fmt.Fprintf(&b, "- *Held-out loss*: %d documents of the held-out generator stream (0x%x, the trainer's validation split), "+
		"encoded BOS … EOS with the model's tokenizer; the model's mean −log p per predicted token (every token after BOS) "+
		"against the generator's exact entropy per token of the same documents (Σ −log P(doc) / Σ tokens).\n", o.LossDocs, HeldOutStream)
	fmt.Fprintf(&b, "- *Generation*: %d review prompts (BOS + first sentence, the 16 sentiment × topic × register combinations cycled) "+
		"and %d chat prompts (review, opinion, secret and multiple-choice requests cycled), continued greedily and by sampling at "+
		"temperature %.1f (seed %d), at most %d new tokens. A completion cut at the token limit inside a sentence counts that piece as a sentence out of the grammar.\n",
		o.N, o.N, SampleTemperature, o.Seed, o.MaxTokens)
	if s := r.Steering; s != nil {
		fmt.Fprintf(&b, "- *Steering*: v = mean(positive reviews) − mean(negative reviews) of block_out at layer %d, averaged over "+
			"the four hyper-connection streams and all positions after BOS (%d topic- and register-matched reviews per side, contrast stream 0x%x, engine.Capture); "+
			"strength·v added to all four streams at block_out of that layer (engine.AddVector) at every position of the %s, %s decoding of %d "+
			"negative review prompts; a continuation counts as turned when the classifier calls it positive, and the check also asks that 80 %% be positive in every sentiment-bearing sentence.\n",
			s.Layer, s.Contrast, ContrastStream, s.Phase, s.Decoding.Name, s.prompts())
	}
	return b.String()
}
