package steerlib

import (
	"context"
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/steerbook/steerbook/engine/progress"
)

// Metric measures a behaviour under a steering (nil = unsteered) and returns
// one value per prompt. Metrics are what dose–response sweeps and selection
// grids evaluate.
type Metric func(ctx context.Context, s *Steering) ([]float64, error)

func steeringHooks(m Model, s *Steering) ([]Hook, error) {
	if s == nil {
		return nil, nil
	}
	if err := s.Check(m); err != nil {
		return nil, err
	}
	return s.Hooks()
}

// logSoftmax returns log-probabilities of logits in float64.
func logSoftmax(l []float32) []float64 {
	mx := math.Inf(-1)
	for _, x := range l {
		mx = math.Max(mx, float64(x))
	}
	s := 0.0
	for _, x := range l {
		s += math.Exp(float64(x) - mx)
	}
	ls := math.Log(s) + mx
	out := make([]float64, len(l))
	for i, x := range l {
		out[i] = float64(x) - ls
	}
	return out
}

// choiceTokens finds where the answers "(A)" and "(B)" to a question part
// ways: the tokens before the first difference (the shared prefix, ending
// with "(" or the assistant marker when the tokenizer merges "(A") and the
// two differing tokens. The probability of each answer is the model's
// probability of its token after the shared prefix.
func choiceTokens(enc Encoder, f Format, prompt string) (prefix []int, ta, tb int, err error) {
	a, err := f.Tokenize(enc, Example{Prompt: prompt, Completion: "(A)", Mark: -1})
	if err != nil {
		return nil, 0, 0, err
	}
	b, err := f.Tokenize(enc, Example{Prompt: prompt, Completion: "(B)", Mark: -1})
	if err != nil {
		return nil, 0, 0, err
	}
	i := 0
	for i < len(a.Tokens) && i < len(b.Tokens) && a.Tokens[i] == b.Tokens[i] {
		i++
	}
	if i == 0 || i >= len(a.Tokens) || i >= len(b.Tokens) {
		return nil, 0, 0, fmt.Errorf("steerlib: answers (A) and (B) do not part at one token after a shared prefix")
	}
	return a.Tokens[:i], a.Tokens[i], b.Tokens[i], nil
}

// ABMetric is CAA's behaviour measure: for each item, the probability of the
// matching answer normalised over the two answers, P(match)/(P(A)+P(B)),
// read at the first token where "(A)" and "(B)" differ (the letter, or a
// merged "(A" token, depending on the tokenizer).
func ABMetric(m Model, items []ChoiceItem, f Format) Metric {
	return func(ctx context.Context, s *Steering) ([]float64, error) {
		var seqs [][]int
		var ta, tb []int
		for i, it := range items {
			p, a, b, err := choiceTokens(m, f, it.Prompt())
			if err != nil {
				return nil, fmt.Errorf("steerlib: A/B item %d: %w", i, err)
			}
			seqs, ta, tb = append(seqs, p), append(ta, a), append(tb, b)
		}
		lg, err := lastLogits(ctx, m, seqs, s)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(items))
		for i, it := range items {
			lp := logSoftmax(lg[i])
			pa, pb := math.Exp(lp[ta[i]]), math.Exp(lp[tb[i]])
			if strings.EqualFold(it.Matching, "A") {
				out[i] = pa / (pa + pb)
			} else {
				out[i] = pb / (pa + pb)
			}
		}
		return out, nil
	}
}

// LogitDiffMetric measures, at the last position of each prompt, the mean
// logit of the positive token set minus the mean logit of the negative set.
func LogitDiffMetric(m Model, prompts []string, f Format, posTokens, negTokens []int) Metric {
	return lastTokenMetric(m, prompts, f, func(l []float32) float64 {
		return meanAt(l, posTokens) - meanAt(l, negTokens)
	})
}

// LogOddsMetric measures log(p/(1−p)) where p is the probability mass of
// tokens at the last position (Arditi's refusal score with refusal tokens).
func LogOddsMetric(m Model, prompts []string, f Format, tokens []int) Metric {
	return lastTokenMetric(m, prompts, f, func(l []float32) float64 {
		lp := logSoftmax(l)
		p := 0.0
		for _, t := range tokens {
			p += math.Exp(lp[t])
		}
		p = math.Min(math.Max(p, 1e-12), 1-1e-12)
		return math.Log(p) - math.Log(1-p)
	})
}

// lastTokenMetric scores each prompt, rendered with f, from the logits at
// its last position.
func lastTokenMetric(m Model, prompts []string, f Format, score func(logits []float32) float64) Metric {
	return func(ctx context.Context, s *Steering) ([]float64, error) {
		seqs, err := tokenizeTexts(m, f, prompts)
		if err != nil {
			return nil, err
		}
		lg, err := lastLogits(ctx, m, seqs, s)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(lg))
		for i, l := range lg {
			out[i] = score(l)
		}
		return out, nil
	}
}

// lastLogits runs seqs through m with s installed (nil: unsteered) and
// returns each sequence's logits at its last position.
func lastLogits(ctx context.Context, m Model, seqs [][]int, s *Steering) ([][]float32, error) {
	hooks, err := steeringHooks(m, s)
	if err != nil {
		return nil, err
	}
	lg, err := m.Forward(ctx, seqs, hooks, false)
	if err != nil {
		return nil, err
	}
	out := make([][]float32, len(lg))
	for i := range lg {
		out[i] = lg[i][0]
	}
	return out, nil
}

func meanAt(l []float32, ids []int) float64 {
	s := 0.0
	for _, t := range ids {
		s += float64(l[t])
	}
	return s / float64(len(ids))
}

func tokenizeTexts(enc Encoder, f Format, texts []string) ([][]int, error) {
	out := make([][]int, len(texts))
	for i, t := range texts {
		tk, err := f.Tokenize(enc, Example{Prompt: t, Mark: -1})
		if err != nil {
			return nil, fmt.Errorf("steerlib: text %d: %w", i, err)
		}
		out[i] = tk.Tokens
	}
	return out, nil
}

// Classifier scores a text for an attribute (for example the default
// model's ground-truth sentiment classifier): higher means more of the
// attribute.
type Classifier interface {
	Score(text string) float64
}

// ClassifierFunc adapts a function to Classifier.
type ClassifierFunc func(text string) float64

// Score calls f.
func (f ClassifierFunc) Score(text string) float64 { return f(text) }

// AttributeMetric generates maxNew tokens (greedy) after each prompt under
// the steering and scores the continuation with clf. m must implement
// Generator and Decoder.
func AttributeMetric(m Model, prompts []string, f Format, clf Classifier, maxNew int) Metric {
	return func(ctx context.Context, s *Steering) ([]float64, error) {
		conts, err := Continuations(ctx, m, prompts, f, s, maxNew)
		if err != nil {
			return nil, err
		}
		out := make([]float64, len(conts))
		for i, c := range conts {
			out[i] = clf.Score(c)
		}
		return out, nil
	}
}

// Continuations generates maxNew tokens after each prompt under the steering
// (nil: unsteered) and returns the decoded continuations.
func Continuations(ctx context.Context, m Model, prompts []string, f Format, s *Steering, maxNew int) ([]string, error) {
	g, ok := m.(Generator)
	if !ok {
		return nil, fmt.Errorf("steerlib: model does not implement Generator")
	}
	dec, ok := m.(Decoder)
	if !ok {
		return nil, fmt.Errorf("steerlib: model does not implement Decoder")
	}
	seqs, err := tokenizeTexts(m, f, prompts)
	if err != nil {
		return nil, err
	}
	step, done := progress.Loop(ctx, "generate", len(seqs))
	defer done()
	out := make([]string, len(seqs))
	for i, p := range seqs {
		hooks, err := steeringHooks(m, s) // fresh state per sequence
		if err != nil {
			return nil, err
		}
		ids, err := g.Generate(quiet(ctx), p, maxNew, hooks)
		if err != nil {
			return nil, fmt.Errorf("steerlib: generate prompt %d: %w", i, err)
		}
		out[i] = dec.Decode(ids)
		step()
	}
	return out, nil
}

// Cost is the price of a steering on neutral text.
type Cost struct {
	// KL is the mean over all positions of KL(unsteered ‖ steered) of the
	// next-token distributions, in nats.
	KL float64
	// Perplexity of the neutral texts under the steered model (tokens after
	// the first), and BasePerplexity unsteered.
	Perplexity, BasePerplexity float64
	// Repetition is the fraction of repeated 3-grams (1 − distinct/total) of
	// greedy continuations, when measured (NaN otherwise).
	Repetition float64
}

// CostOf measures the cost of s on texts: KL from the unsteered model and
// perplexity; with genPrompts and a Generator model, also the repetition of
// maxNew-token continuations.
func CostOf(ctx context.Context, m Model, texts []string, f Format, s *Steering, genPrompts []string, maxNew int) (Cost, error) {
	b, err := newCostBase(ctx, m, texts, f)
	if err != nil {
		return Cost{}, err
	}
	return b.cost(ctx, s, genPrompts, maxNew)
}

// costBase holds the unsteered logits of the neutral texts, so a sweep runs
// them once.
type costBase struct {
	m    Model
	f    Format
	seqs [][]int
	base [][][]float32
}

func newCostBase(ctx context.Context, m Model, texts []string, f Format) (*costBase, error) {
	seqs, err := tokenizeTexts(m, f, texts)
	if err != nil {
		return nil, err
	}
	base, err := m.Forward(ctx, seqs, nil, true)
	if err != nil {
		return nil, err
	}
	return &costBase{m: m, f: f, seqs: seqs, base: base}, nil
}

func (b *costBase) cost(ctx context.Context, s *Steering, genPrompts []string, maxNew int) (Cost, error) {
	hooks, err := steeringHooks(b.m, s)
	if err != nil {
		return Cost{}, err
	}
	st, err := b.m.Forward(ctx, b.seqs, hooks, true)
	if err != nil {
		return Cost{}, err
	}
	c := Cost{Repetition: math.NaN()}
	kl, n, nll, nll0, nt := 0.0, 0, 0.0, 0.0, 0
	for i, seq := range b.seqs {
		for p := range seq {
			lp0, lp1 := logSoftmax(b.base[i][p]), logSoftmax(st[i][p])
			k := 0.0
			for v := range lp0 {
				if pv := math.Exp(lp0[v]); pv > 0 {
					k += pv * (lp0[v] - lp1[v])
				}
			}
			kl += k
			n++
			if p+1 < len(seq) {
				nll -= lp1[seq[p+1]]
				nll0 -= lp0[seq[p+1]]
				nt++
			}
		}
	}
	c.KL = kl / float64(n)
	if nt > 0 {
		c.Perplexity, c.BasePerplexity = math.Exp(nll/float64(nt)), math.Exp(nll0/float64(nt))
	}
	if len(genPrompts) > 0 && maxNew > 0 {
		if _, ok := b.m.(Generator); ok {
			conts, err := Continuations(ctx, b.m, genPrompts, b.f, s, maxNew)
			if err != nil {
				return c, err
			}
			c.Repetition = Repetition(b.m, conts)
		}
	}
	return c, nil
}

// Repetition is the fraction of repeated token 3-grams over texts:
// 1 − distinct/total (0 = no repeats; degenerate loops approach 1).
func Repetition(enc Encoder, texts []string) float64 {
	total, rep := 0, 0
	for _, t := range texts {
		ids := enc.Encode(t)
		seen := map[[3]int]bool{}
		for i := 0; i+3 <= len(ids); i++ {
			k := [3]int{ids[i], ids[i+1], ids[i+2]}
			if seen[k] {
				rep++
			}
			seen[k] = true
			total++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(rep) / float64(total)
}

// DoseOptions configures a dose–response sweep.
type DoseOptions struct {
	Strengths []float64
	Layers    []int // default: the vector's layers
	// Make builds the steering for one layer and strength; default
	// Add(v.At(layer), Rel(strength)).
	Make func(layer int, strength float64) Steer
	// Neutral texts for the KL/perplexity cost (default NeutralTexts()).
	Neutral []string
	// RepetitionPrompts and MaxNew: prompts whose continuations measure
	// repetition (skipped when empty).
	RepetitionPrompts []string
	MaxNew            int
	// Format renders the Neutral texts. With the default NeutralTexts(),
	// which are user requests, the zero value means ChatFormat.
	Format Format
}

// DoseResponse is the result of a sweep over strength × layer.
type DoseResponse struct {
	Vector    string
	Layers    []int
	Strengths []float64
	Base      []float64     // unsteered metric per prompt
	PerPrompt [][][]float64 // [layer][strength][prompt]
	Effect    [][]float64   // [layer][strength] mean change from Base
	WrongWay  [][]float64   // fraction of prompts moving against the strength's sign
	Cost      [][]Cost      // [layer][strength]
}

// Sweep runs a dose–response sweep of v: for every layer and strength it
// measures metric per prompt and the cost on neutral text.
func Sweep(ctx context.Context, m Model, v *Vector, metric Metric, opt DoseOptions) (*DoseResponse, error) {
	if len(opt.Strengths) == 0 {
		return nil, fmt.Errorf("steerlib: sweep needs strengths")
	}
	if opt.Layers == nil {
		opt.Layers = v.Layers()
	}
	if opt.Make == nil {
		opt.Make = func(l int, s float64) Steer { return Add(v.At(l), Rel(s)) }
	}
	if opt.Neutral == nil {
		opt.Neutral = NeutralTexts()
		if !opt.Format.Chat && !opt.Format.Thinking && !opt.Format.AddBOS && opt.Format.Template == nil {
			opt.Format = ChatFormat
		}
	}
	base, err := metric(quiet(ctx), nil)
	if err != nil {
		return nil, err
	}
	cb, err := newCostBase(quiet(ctx), m, opt.Neutral, opt.Format)
	if err != nil {
		return nil, err
	}
	r := &DoseResponse{Vector: v.Name, Layers: opt.Layers, Strengths: opt.Strengths, Base: base}
	step, done := progress.Loop(ctx, "dose-response "+v.Name, len(opt.Layers)*len(opt.Strengths))
	defer done()
	for _, l := range opt.Layers {
		var pp [][]float64
		var eff, wrong []float64
		var costs []Cost
		for _, s := range opt.Strengths {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			st := Compose(opt.Make(l, s))
			vals, err := metric(quiet(ctx), st)
			if err != nil {
				return nil, fmt.Errorf("steerlib: sweep layer %d strength %g: %w", l, s, err)
			}
			c, err := cb.cost(quiet(ctx), st, opt.RepetitionPrompts, opt.MaxNew)
			if err != nil {
				return nil, fmt.Errorf("steerlib: sweep cost layer %d strength %g: %w", l, s, err)
			}
			e, w := 0.0, 0
			for i := range vals {
				d := vals[i] - base[i]
				e += d
				if s != 0 && d*s < 0 {
					w++
				}
			}
			pp = append(pp, vals)
			eff = append(eff, e/float64(len(vals)))
			wrong = append(wrong, float64(w)/float64(len(vals)))
			costs = append(costs, c)
			step()
		}
		r.PerPrompt, r.Effect, r.WrongWay, r.Cost = append(r.PerPrompt, pp), append(r.Effect, eff), append(r.WrongWay, wrong), append(r.Cost, costs)
	}
	return r, nil
}

// MIMEBundle renders effect, wrong-way fraction and cost per layer and strength.
func (r *DoseResponse) MIMEBundle() map[string]any {
	var h, p strings.Builder
	fmt.Fprintf(&h, "<b>Dose–response of %s</b><table><tr><th>layer</th><th>strength</th><th>effect (mean Δ)</th><th>wrong way</th><th>KL (nats)</th><th>perplexity</th><th>repetition</th></tr>", html.EscapeString(r.Vector))
	fmt.Fprintf(&p, "Dose–response of %s\nlayer strength effect wrong KL ppl rep\n", r.Vector)
	for i, l := range r.Layers {
		for j, s := range r.Strengths {
			c := r.Cost[i][j]
			fmt.Fprintf(&h, "<tr><td>%d</td><td>%g</td><td>%.4g</td><td>%.0f%%</td><td>%.4g</td><td>%.4g</td><td>%.3g</td></tr>", l, s, r.Effect[i][j], 100*r.WrongWay[i][j], c.KL, c.Perplexity, c.Repetition)
			fmt.Fprintf(&p, "%d %g %.4g %.2f %.4g %.4g %.3g\n", l, s, r.Effect[i][j], r.WrongWay[i][j], c.KL, c.Perplexity, c.Repetition)
		}
	}
	h.WriteString("</table>")
	return map[string]any{"text/plain": p.String(), "text/html": h.String()}
}

// SingleTokens returns the ids of the words that encode to exactly one
// token (others are skipped), for LogitDiffMetric and LogOddsMetric token
// sets. Include the leading space for words that follow a space.
func SingleTokens(enc Encoder, words ...string) []int {
	var ids []int
	for _, w := range words {
		if t := enc.Encode(w); len(t) == 1 {
			ids = append(ids, t[0])
		}
	}
	return ids
}
