package eval

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// SteerResult is the outcome of the steering check.
type SteerResult struct {
	Layer int `json:"layer"`
	// Phase says where the vector is added: "prompt only" (the check's
	// default, see SteerOptions.Phase), "prompt and continuation" or
	// "continuation only".
	Phase    string `json:"phase"`
	Contrast int    `json:"contrast"` // documents per side of the difference of means
	// VectorNorm is ‖v‖ of the difference-of-means vector; ActivationNorm the
	// mean ‖x‖ of the stream-averaged block_out rows it was computed from,
	// for scale.
	VectorNorm     float64      `json:"vector_norm"`
	ActivationNorm float64      `json:"activation_norm"`
	Decoding       Decoding     `json:"decoding"`
	Points         []SteerPoint `json:"points"`
	// Best is the index in Points of the smallest strength that meets the
	// targets, or −1 when none does.
	Best int `json:"best"`
}

// SteerPoint is the effect of one strength on the negative prompts.
type SteerPoint struct {
	Strength float32 `json:"strength"`
	Prompts  int     `json:"prompts"`
	// Positive counts continuations the classifier calls positive.
	PositiveN int     `json:"positive_n"`
	Positive  float64 `json:"positive"`
	// AllPositive counts continuations whose every sentiment-bearing
	// sentence is positive (see AllPositive): the check asks this of 80 %
	// too, so a continuation that starts negative and turns does not count.
	AllPositiveN int     `json:"all_positive_n"`
	AllPositive  float64 `json:"all_positive"`
	// TopicKept counts continuations the classifier gives the prompt's
	// topic (information: a strong vector can pull a review onto another
	// topic while it turns the sentiment).
	TopicKeptN int     `json:"topic_kept_n"`
	TopicKept  float64 `json:"topic_kept"`
	// Sentences of the continuations (a last piece cut at MaxTokens counts
	// as a sentence out of the grammar, see strictScore) and how many are in
	// the grammar.
	Sentences  int     `json:"sentences"`
	InGrammarN int     `json:"in_grammar_n"`
	InGrammar  float64 `json:"in_grammar"`
	// Example is the continuation of the first prompt.
	Example string `json:"example"`
}

// Meets reports whether the point meets the steering targets: at least
// MinSteerEffect of the continuations classified positive, and as many
// positive in every sentence, with MinSteerInGrammar of the sentences in the
// grammar.
func (p SteerPoint) Meets() bool {
	return p.Positive >= MinSteerEffect && p.AllPositive >= MinSteerEffect && p.InGrammar >= MinSteerInGrammar
}

// ContrastSets returns n positive and n negative reviews of the contrast
// stream of seed, in matched pairs: the i-th positive and the i-th negative
// review share a topic and a register (the combinations cycled), so the two
// sides differ in sentiment alone. Drawn independently, the sides' topic
// counts differ by chance, and at the strengths steering needs (tens of times
// the difference of means) that small topic component is enough to pull a
// continuation onto another topic.
func ContrastSets(seed uint64, n int) (pos, neg []corpus.Document, err error) {
	g, err := corpus.New(corpus.Options{Seed: seed, Stream: ContrastStream})
	if err != nil {
		return nil, nil, fmt.Errorf("eval: contrast generator: %w", err)
	}
	topics, registers := corpus.Topics(), corpus.Registers()
	for i := range n {
		a := corpus.Attributes{Topic: topics[i%len(topics)], Register: registers[(i/len(topics))%len(registers)]}
		a.Sentiment = "positive"
		p, err := g.NextWhere(corpus.KindReview, a)
		if err != nil {
			return nil, nil, fmt.Errorf("eval: positive contrast set: %w", err)
		}
		a.Sentiment = "negative"
		q, err := g.NextWhere(corpus.KindReview, a)
		if err != nil {
			return nil, nil, fmt.Errorf("eval: negative contrast set: %w", err)
		}
		pos, neg = append(pos, p), append(neg, q)
	}
	return pos, neg, nil
}

// StreamMeans captures block_out of layer for every text (encoded with m's
// tokenizer) and returns the mean over all positions after BOS of the
// stream-averaged rows (mean over the four hyper-connection streams), and
// the mean norm of those averaged rows.
func StreamMeans(ctx context.Context, m *engine.Model, texts []string, layer, batch int) (mean []float64, norm float64, err error) {
	tk := m.Tokenizer()
	if tk == nil {
		return nil, 0, fmt.Errorf("eval: capture: %w", engine.ErrNoTokenizer)
	}
	if layer < 0 || layer >= m.NumLayers() {
		return nil, 0, fmt.Errorf("eval: layer %d out of range [0, %d)", layer, m.NumLayers())
	}
	if batch <= 0 {
		batch = 32
	}
	d := m.Dim()
	mean = make([]float64, d)
	var rows int
	avg := make([]float64, d)
	for lo := 0; lo < len(texts); lo += batch {
		hi := min(lo+batch, len(texts))
		seqs := make([][]int, 0, hi-lo)
		for _, t := range texts[lo:hi] {
			seqs = append(seqs, tk.Encode(t))
		}
		c, err := m.Capture(ctx, seqs, engine.CaptureRequest{Sites: []engine.Site{engine.SiteBlockOut},
			Layers: []int{layer}, Positions: engine.AllPositions()})
		if err != nil {
			return nil, 0, fmt.Errorf("eval: capture of block_out layer %d, texts %d–%d: %w", layer, lo, hi-1, err)
		}
		idx := c.Index()
		for i, r := range c.Rows(engine.SiteBlockOut, layer) {
			if idx[i].Pos == 0 {
				continue // BOS: the same in every document, says nothing
			}
			if len(r) != 4*d {
				return nil, 0, fmt.Errorf("eval: block_out row of %d values, want 4·%d", len(r), d)
			}
			var n2 float64
			for j := range d {
				avg[j] = (float64(r[j]) + float64(r[d+j]) + float64(r[2*d+j]) + float64(r[3*d+j])) / 4
				mean[j] += avg[j]
				n2 += avg[j] * avg[j]
			}
			norm += math.Sqrt(n2)
			rows++
		}
	}
	if rows == 0 {
		return nil, 0, fmt.Errorf("eval: no positions after BOS captured at layer %d", layer)
	}
	for j := range mean {
		mean[j] /= float64(rows)
	}
	return mean, norm / float64(rows), nil
}

// SentimentVector is the difference of means, positive minus negative
// reviews, of the stream-averaged block_out at layer; it also returns the
// mean activation norm (for scale).
func SentimentVector(ctx context.Context, m *engine.Model, pos, neg []corpus.Document, layer, batch int) ([]float32, float64, error) {
	texts := func(ds []corpus.Document) []string {
		t := make([]string, len(ds))
		for i, d := range ds {
			t[i] = d.Text
		}
		return t
	}
	mp, np, err := StreamMeans(ctx, m, texts(pos), layer, batch)
	if err != nil {
		return nil, 0, fmt.Errorf("eval: positive reviews: %w", err)
	}
	mn, nn, err := StreamMeans(ctx, m, texts(neg), layer, batch)
	if err != nil {
		return nil, 0, fmt.Errorf("eval: negative reviews: %w", err)
	}
	v := make([]float32, len(mp))
	for j := range v {
		v[j] = float32(mp[j] - mn[j])
	}
	return v, (np + nn) / 2, nil
}

// NegativePrompts returns n negative review prompts (BOS + a negative first
// sentence; topics and registers cycled) of seed.
func NegativePrompts(seed uint64, n int) ([]corpus.Prompt, error) {
	// ReviewPrompts cycles through the 16 attribute combinations, positive
	// ones first: 16 prompts hold 8 negative ones.
	all, err := corpus.ReviewPrompts(seed, 16*((n+7)/8))
	if err != nil {
		return nil, fmt.Errorf("eval: steering prompts: %w", err)
	}
	var out []corpus.Prompt
	for _, p := range all {
		if p.Attrs.Sentiment == "negative" && len(out) < n {
			out = append(out, p)
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("eval: only %d negative review prompts of %d", len(out), n)
	}
	return out, nil
}

// SteerSweep adds strength·v at block_out of layer for each strength and
// continues the prompts with dec, counting continuations classified positive
// and sentences in the grammar. Strength 0 runs without any intervention.
func SteerSweep(ctx context.Context, c Completer, prompts []corpus.Prompt, layer int, v []float32, strengths []float32, phase engine.Phase, dec Decoding) ([]SteerPoint, error) {
	texts := make([]string, len(prompts))
	for i, p := range prompts {
		texts[i] = p.Text
	}
	var pts []SteerPoint
	for _, s := range strengths {
		var st *Steer
		if s != 0 {
			st = &Steer{Layer: layer, Vector: v, Strength: s, Phase: phase}
		}
		comps, err := c.Complete(ctx, texts, dec, st)
		if err != nil {
			return nil, fmt.Errorf("eval: steering strength %g: %w", s, err)
		}
		if len(comps) != len(prompts) {
			return nil, fmt.Errorf("eval: steering strength %g: %d completions for %d prompts", s, len(comps), len(prompts))
		}
		pt := SteerPoint{Strength: s, Prompts: len(prompts)}
		for i, p := range prompts {
			sc := strictScore(p, comps[i])
			pt.Sentences += sc.Sentences
			pt.InGrammarN += sc.InGrammar
			if Positive(comps[i]) {
				pt.PositiveN++
			}
			if AllPositive(comps[i]) {
				pt.AllPositiveN++
			}
			if t, _ := corpus.Topic(beforeEOS(comps[i])); t == p.Attrs.Topic {
				pt.TopicKeptN++
			}
		}
		pt.Positive = frac(pt.PositiveN, pt.Prompts)
		pt.AllPositive = frac(pt.AllPositiveN, pt.Prompts)
		pt.TopicKept = frac(pt.TopicKeptN, pt.Prompts)
		pt.InGrammar = frac(pt.InGrammarN, pt.Sentences)
		if len(comps) > 0 {
			pt.Example = comps[0]
		}
		pts = append(pts, pt)
	}
	return pts, nil
}

// Positive reports whether the classifier calls a completion (up to EOS)
// positive.
func Positive(completion string) bool {
	s, _ := corpus.Sentiment(beforeEOS(completion))
	return s == "positive"
}

// AllPositive is the stricter reading: every sentence of the completion (up
// to EOS) that says anything about sentiment is positive, and one does. A
// continuation that starts negative and turns positive is Positive (the
// classifier weighs the whole text) but not AllPositive.
func AllPositive(completion string) bool {
	n := 0
	for _, s := range corpus.Classify(beforeEOS(completion)).Sentences {
		if !s.HasSentiment {
			continue
		}
		if s.PPositive <= 0.5 {
			return false
		}
		n++
	}
	return n > 0
}

func beforeEOS(completion string) string {
	if k := strings.Index(completion, corpus.EOS); k >= 0 {
		return completion[:k]
	}
	return completion
}

// bestPoint is the first point (in sweep order) meeting the targets, or −1.
func bestPoint(pts []SteerPoint) int {
	for i, p := range pts {
		if p.Meets() {
			return i
		}
	}
	return -1
}

// SteeringCheck runs the steering check of issue 4 on m: the sentiment
// vector from opt.Steering.Contrast reviews per side at the middle layer (or
// opt.Steering.Layer), then a greedy sweep of opt.Steering.Strengths on
// opt.Steering.Prompts negative review prompts, generating through c.
func SteeringCheck(ctx context.Context, m *engine.Model, c Completer, opt Options) (*SteerResult, error) {
	opt = opt.withDefaults()
	layer := MiddleLayer(m.NumLayers())
	if opt.Steering.LayerSet {
		layer = opt.Steering.Layer
	}
	pos, neg, err := ContrastSets(opt.Seed, opt.Steering.Contrast)
	if err != nil {
		return nil, err
	}
	v, actNorm, err := SentimentVector(ctx, m, pos, neg, layer, opt.BatchSize)
	if err != nil {
		return nil, err
	}
	prompts, err := NegativePrompts(opt.Seed, opt.Steering.Prompts)
	if err != nil {
		return nil, err
	}
	dec := Decoding{Name: "greedy", MaxTokens: opt.MaxTokens}
	pts, err := SteerSweep(ctx, c, prompts, layer, v, opt.Steering.Strengths, opt.Steering.Phase, dec)
	if err != nil {
		return nil, err
	}
	var n2 float64
	for _, x := range v {
		n2 += float64(x) * float64(x)
	}
	phase := "prompt and continuation"
	switch opt.Steering.Phase {
	case engine.Prefill:
		phase = "prompt only"
	case engine.Decode:
		phase = "continuation only"
	}
	return &SteerResult{Layer: layer, Phase: phase, Contrast: opt.Steering.Contrast, VectorNorm: math.Sqrt(n2),
		ActivationNorm: actNorm, Decoding: dec, Points: pts, Best: bestPoint(pts)}, nil
}

// Plot draws the fraction of negative prompts turned positive and the
// fraction of sentences in the grammar against strength, with the targets
// as dashed lines.
func (s *SteerResult) Plot() (*plot.Plot, error) {
	p := plot.New()
	where := s.Phase
	if where == "" {
		where = "prompt and continuation"
	}
	p.Title.Text = fmt.Sprintf("Sentiment steering: diff-of-means at block_out of layer %d, added to %s (%d negative prompts)", s.Layer, where, s.prompts())
	p.X.Label.Text = "strength (× difference of means)"
	p.Y.Label.Text = "fraction"
	p.Y.Min, p.Y.Max = 0, 1.02
	eff := make(plotter.XYs, len(s.Points))
	all := make(plotter.XYs, len(s.Points))
	gram := make(plotter.XYs, len(s.Points))
	topic := make(plotter.XYs, len(s.Points))
	for i, pt := range s.Points {
		topic[i] = plotter.XY{X: float64(pt.Strength), Y: pt.TopicKept}
		eff[i] = plotter.XY{X: float64(pt.Strength), Y: pt.Positive}
		all[i] = plotter.XY{X: float64(pt.Strength), Y: pt.AllPositive}
		gram[i] = plotter.XY{X: float64(pt.Strength), Y: pt.InGrammar}
	}
	colAll := color.RGBA{R: 0xff, G: 0x99, B: 0x66, A: 0xff}
	colEff := color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colGram := color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colTopic := color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
	for _, l := range []struct {
		name string
		xys  plotter.XYs
		col  color.Color
	}{{"continuations classified positive", eff, colEff}, {"… every sentence positive", all, colAll},
		{"sentences in the grammar", gram, colGram}, {"continuations keeping the prompt's topic", topic, colTopic}} {
		line, pts, err := plotter.NewLinePoints(l.xys)
		if err != nil {
			return nil, fmt.Errorf("eval: plot %s: %w", l.name, err)
		}
		line.Color, pts.Color = l.col, l.col
		line.Width = vg.Points(1.5)
		p.Add(line, pts)
		p.Legend.Add(l.name, line, pts)
	}
	if len(s.Points) > 0 {
		x0, x1 := float64(s.Points[0].Strength), float64(s.Points[len(s.Points)-1].Strength)
		for _, t := range []struct {
			y   float64
			col color.Color
		}{{MinSteerInGrammar, colGram}, {MinSteerEffect, colEff}} {
			ref, err := plotter.NewLine(plotter.XYs{{X: x0, Y: t.y}, {X: x1, Y: t.y}})
			if err != nil {
				return nil, fmt.Errorf("eval: plot target: %w", err)
			}
			ref.Color = t.col
			ref.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(ref)
			p.Legend.Add(fmt.Sprintf("target %.2f", t.y), ref)
		}
	}
	// Legend in the middle of the right side: the curves live near 0 and 1.
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.YOffs = 1.3 * vg.Inch
	p.Legend.XOffs = -0.1 * vg.Inch
	p.Add(plotter.NewGrid())
	return p, nil
}

func (s *SteerResult) prompts() int {
	if len(s.Points) == 0 {
		return 0
	}
	return s.Points[0].Prompts
}

// SavePlot writes the plot as a PNG (or SVG/PDF by extension) to path,
// creating its folder.
func (s *SteerResult) SavePlot(path string) error {
	p, err := s.Plot()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("eval: plot: %w", err)
	}
	if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
		return fmt.Errorf("eval: saving plot %s: %w", path, err)
	}
	return nil
}

// SteeringVariants runs the steering check for each layer × phase, for
// information: issue 4's check is the single configuration of SteeringCheck
// (see the package documentation for how it was chosen), and variants never
// count as passing it. The report lists, per variant, the first strength meeting both
// targets, which tells whether a different, declared protocol would.
func SteeringVariants(ctx context.Context, m *engine.Model, c Completer, opt Options, layers []int, phases []engine.Phase) ([]*SteerResult, error) {
	var out []*SteerResult
	for _, l := range layers {
		for _, ph := range phases {
			o := opt
			o.Steering.Layer, o.Steering.LayerSet, o.Steering.Phase = l, true, ph
			r, err := SteeringCheck(ctx, m, c, o)
			if err != nil {
				return nil, fmt.Errorf("eval: steering variant layer %d, phase %s: %w", l, ph, err)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// MiddleLayer is the check's default layer, L/2: block 3 of 6, the first of
// the second half. (Block 2, the last of the first half, is the other middle
// layer; the variants report both. On the session-2 model block 2 also
// turned the sentiment but pulled most reviews onto another topic; on the
// shipped model both keep the topic and block 2 turns from strength 8.)
func MiddleLayer(numLayers int) int { return numLayers / 2 }

// VariantLayers are the layers the variants try: the two middle blocks
// ((L−1)/2 and L/2; one when L is odd).
func VariantLayers(numLayers int) []int {
	a, b := (numLayers-1)/2, numLayers/2
	if a == b {
		return []int{a}
	}
	return []int{a, b}
}
