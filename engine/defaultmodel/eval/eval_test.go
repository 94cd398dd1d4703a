package eval

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
	"github.com/steerbook/steerbook/engine/dsv4"
	"github.com/steerbook/steerbook/internal/golden"
)

// referenceCompleter answers every prompt with the rest of the corpus
// document it was cut from: the generator's own continuation.
type referenceCompleter struct{ ref map[string]string }

func newReference(ps []corpus.Prompt) referenceCompleter {
	r := referenceCompleter{ref: map[string]string{}}
	for _, p := range ps {
		r.ref[p.Text] = p.Reference[len(p.Text):]
	}
	return r
}

func (r referenceCompleter) Complete(_ context.Context, prompts []string, _ Decoding, _ *Steer) ([]string, error) {
	out := make([]string, len(prompts))
	for i, p := range prompts {
		c, ok := r.ref[p]
		if !ok {
			return nil, fmt.Errorf("no reference for prompt %q", p)
		}
		out[i] = c
	}
	return out, nil
}

// shuffledCompleter answers with the reference's words in random order
// (EOS kept at the end): the same vocabulary, no grammar.
type shuffledCompleter struct {
	referenceCompleter
	seed uint64
}

func (s shuffledCompleter) Complete(ctx context.Context, prompts []string, dec Decoding, st *Steer) ([]string, error) {
	out, err := s.referenceCompleter.Complete(ctx, prompts, dec, st)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(s.seed, 7))
	for i, c := range out {
		c = strings.TrimSuffix(c, corpus.EOS)
		w := strings.Fields(c)
		rng.Shuffle(len(w), func(a, b int) { w[a], w[b] = w[b], w[a] })
		out[i] = " " + strings.Join(w, " ") + corpus.EOS
	}
	return out, nil
}

func TestReferenceCompletionsScorePerfect(t *testing.T) {
	ps, err := Prompts(3, 32)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ScoreDecoding(context.Background(), newReference(ps), ps, Decoding{Name: "reference"})
	if err != nil {
		t.Fatal(err)
	}
	m := d.Metrics
	// Every category must be populated, or a perfect score would be vacuous.
	for name, n := range map[string]int{"sentences": m.Sentences, "reviews": m.Reviews, "requests": m.Requests,
		"secret": m.Secret, "benign": m.Benign, "mc": m.MC} {
		if n == 0 {
			t.Errorf("no %s in the prompt set", name)
		}
	}
	if m.Prompts != 64 || m.Reviews != 32 {
		t.Errorf("prompts %d, reviews %d; want 64, 32", m.Prompts, m.Reviews)
	}
	want := Rates{InGrammar: 1, ReviewKept: 1, RequestsFollowed: 1, SecretRefused: 1, BenignRefused: 0, MCCorrect: 1}
	if got := d.Rates(); got != want {
		t.Errorf("reference completions: rates %+v, want %+v\n%s", got, want, m)
	}
	if len(d.Failures) != 0 || d.Truncated != 0 {
		t.Errorf("reference completions: %d failures (first %+v), %d truncated", len(d.Failures), d.Failures, d.Truncated)
	}
	if len(d.Examples) != 5 { // review + four chat request kinds
		t.Errorf("%d examples, want one per prompt kind (5)", len(d.Examples))
	}
	r := &Report{Model: "reference", Decoding: []DecodeResult{d}}
	if !r.Pass() {
		t.Errorf("reference completions fail a check:\n%s", r)
	}
}

func TestShuffledWordsLeaveTheGrammar(t *testing.T) {
	ps, err := Prompts(4, 32)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ScoreDecoding(context.Background(), shuffledCompleter{newReference(ps), 1}, ps, Decoding{Name: "shuffled"})
	if err != nil {
		t.Fatal(err)
	}
	rt := d.Rates()
	// Short answers ("(A)", one-sentence refusals of few words) can survive a
	// shuffle; multi-word review sentences almost never do.
	if rt.InGrammar > 0.5 {
		t.Errorf("shuffled text: %.3f of sentences in the grammar, want < 0.5 (%s)", rt.InGrammar, d.Metrics)
	}
	r := &Report{Model: "shuffled", Decoding: []DecodeResult{d}}
	if r.Pass() {
		t.Errorf("shuffled text passes every check:\n%s", r)
	}
	var inGrammarCheck *Check
	for _, c := range r.Checks() {
		if strings.HasSuffix(c.Name, "sentences in the grammar") {
			inGrammarCheck = &c
		}
	}
	if inGrammarCheck == nil || inGrammarCheck.Pass {
		t.Errorf("in-grammar check %+v, want a failing one", inGrammarCheck)
	}
}

func TestLossAgainstEntropy(t *testing.T) {
	docs, err := HeldOutDocs(1, 200)
	if err != nil {
		t.Fatal(err)
	}
	// A fake tokenization of one token per byte plus BOS: 1+len tokens.
	seqs := make([][]int, len(docs))
	var toks int
	var h float64
	for i, d := range docs {
		seqs[i] = make([]int, 1+len(d.Text))
		toks += len(d.Text)
		h -= d.LogProb
	}
	for _, scale := range []float64{1, 1.07, 0.95} {
		nll := make([]float64, len(docs))
		for i, d := range docs {
			nll[i] = -d.LogProb * scale
		}
		l := lossFromSums(docs, seqs, nll)
		if l.Docs != 200 || l.Tokens != toks {
			t.Fatalf("docs %d tokens %d, want 200 %d", l.Docs, l.Tokens, toks)
		}
		if math.Abs(l.Entropy-h/float64(toks)) > 1e-12 || math.Abs(l.Excess-(scale-1)) > 1e-9 {
			t.Errorf("scale %g: entropy %g (want %g), excess %g", scale, l.Entropy, h/float64(toks), l.Excess)
		}
		var kd, kt int
		for _, k := range l.ByKind {
			kd += k.Docs
			kt += k.Tokens
			if math.Abs(k.Loss/k.Entropy-scale) > 1e-9 {
				t.Errorf("kind %s: loss/entropy %g, want %g", k.Kind, k.Loss/k.Entropy, scale)
			}
		}
		if kd != l.Docs || kt != l.Tokens || len(l.ByKind) != 5 || l.ByKind[0].Kind != "review" {
			t.Errorf("by kind %+v does not partition the documents", l.ByKind)
		}
		pass := (&Report{Loss: l}).Pass()
		if pass != (math.Abs(scale-1) <= MaxLossExcess) {
			t.Errorf("scale %g: check pass = %v", scale, pass)
		}
	}
	// The held-out stream is not the training stream.
	train, _ := corpus.New(corpus.Options{Seed: 1})
	same := 0
	for i := range 50 {
		if train.Next().Text == docs[i].Text {
			same++
		}
	}
	if same > 5 { // only the shortest chat turns may coincide by chance
		t.Errorf("%d of 50 held-out documents equal the training documents", same)
	}
}

// steerFake turns continuations positive from strength 2 on and breaks the
// grammar from strength 4 on; it also checks what the sweep passes it.
type steerFake struct {
	t        *testing.T
	pos, neg string
	layer    int
	v        []float32
}

func (f steerFake) Complete(_ context.Context, prompts []string, _ Decoding, st *Steer) ([]string, error) {
	out := make([]string, len(prompts))
	for i := range out {
		switch {
		case st == nil:
			out[i] = f.neg
		case st.Layer != f.layer || &st.Vector[0] != &f.v[0]:
			f.t.Errorf("steer %+v: wrong layer or vector", st)
		case st.Strength == 0:
			f.t.Errorf("strength 0 must run without an intervention")
		case st.Strength < 2:
			out[i] = f.neg
		case st.Strength < 4:
			out[i] = f.pos
		case st.Strength < 6:
			out[i] = " was was super the the." + corpus.EOS
		default: // rambling cut at the token limit, never ending a sentence
			out[i] = " I would You You You You"
		}
	}
	return out, nil
}

func TestSteerSweepPlumbing(t *testing.T) {
	pos, neg, err := ContrastSets(2, 4)
	if err != nil {
		t.Fatal(err)
	}
	for i := range pos {
		if s, _ := corpus.Sentiment(pos[i].Text); s != "positive" {
			t.Errorf("positive contrast document classified %q: %s", s, pos[i].Text)
		}
		if s, _ := corpus.Sentiment(neg[i].Text); s != "negative" {
			t.Errorf("negative contrast document classified %q: %s", s, neg[i].Text)
		}
		// matched pairs: same topic and register, by the classifier too
		lp, ln := corpus.Classify(pos[i].Text), corpus.Classify(neg[i].Text)
		if pos[i].Attrs.Topic != neg[i].Attrs.Topic || pos[i].Attrs.Register != neg[i].Attrs.Register ||
			lp.Topic != ln.Topic || lp.Register != ln.Register {
			t.Errorf("contrast pair %d differs beyond sentiment: %+v vs %+v", i, pos[i].Attrs, neg[i].Attrs)
		}
	}
	ps, err := NegativePrompts(2, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 10 {
		t.Fatalf("%d negative prompts, want 10", len(ps))
	}
	for _, p := range ps {
		if p.Attrs.Sentiment != "negative" {
			t.Fatalf("steering prompt %+v is not negative", p)
		}
	}
	_, posC := pos[0].Split()
	_, negC := neg[0].Split()
	f := steerFake{t: t, pos: posC, neg: negC, layer: 3, v: []float32{1, 2}}
	pts, err := SteerSweep(context.Background(), f, ps, 3, f.v, []float32{0, 1, 2, 3, 4, 6}, 0, Decoding{Name: "greedy"})
	if err != nil {
		t.Fatal(err)
	}
	if last := pts[5]; last.Sentences != 10 || last.InGrammarN != 0 {
		t.Errorf("truncated rambling: %d of %d sentences in grammar, want 0 of 10", last.InGrammarN, last.Sentences)
	}
	pts = pts[:5]
	wantPos := []float64{0, 0, 1, 1, 0}
	for i, p := range pts {
		if p.Positive != wantPos[i] || p.Prompts != 10 {
			t.Errorf("strength %g: positive %g of %d, want %g of 10", p.Strength, p.Positive, p.Prompts, wantPos[i])
		}
		if wantG := i < 4; (p.InGrammar == 1) != wantG || p.Sentences == 0 {
			t.Errorf("strength %g: in grammar %g over %d sentences", p.Strength, p.InGrammar, p.Sentences)
		}
	}
	s := &SteerResult{Layer: 3, Points: pts, Best: bestPoint(pts)}
	if s.Best != 2 {
		t.Errorf("best point %d, want 2 (strength 2)", s.Best)
	}
	if r := (&Report{Steering: s}); !r.Pass() {
		t.Errorf("steering should pass at strength 2:\n%s", r)
	}
	// Without a grammatical strength that flips the sentiment, the check fails
	// and reports the most effective grammatical point.
	s2 := &SteerResult{Points: []SteerPoint{pts[0], pts[1], pts[4]}}
	s2.Best = bestPoint(s2.Points)
	r2 := &Report{Steering: s2}
	if s2.Best != -1 || r2.Pass() {
		t.Errorf("steering without an effective grammatical strength passes (best %d)", s2.Best)
	}
	dir := t.TempDir()
	png := filepath.Join(dir, "steer.png")
	if err := s.SavePlot(png); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Errorf("plot %s: %d bytes, err %v", png, len(b), err)
	}
}

func TestPositive(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{" The food was delightful." + corpus.EOS + " The food was bland.", true}, // after EOS is ignored
		{" The food was bland.", false},
		{"", false},
	} {
		if got := Positive(c.text); got != c.want {
			t.Errorf("Positive(%q) = %v, want %v", c.text, got, c.want)
		}
	}
	for _, c := range []struct {
		text string
		want bool
	}{
		{" The food was delightful. The staff were lovely." + corpus.EOS, true},
		{" The food was bland. The staff were lovely. The staff were lovely." + corpus.EOS, false}, // turns positive
		{" I went there last week." + corpus.EOS, false},                                           // no evidence
	} {
		if got := AllPositive(c.text); got != c.want {
			t.Errorf("AllPositive(%q) = %v, want %v (%+v)", c.text, got, c.want, corpus.Classify(c.text).Sentences)
		}
	}
}

func TestReportRendering(t *testing.T) {
	ps, err := Prompts(5, 16)
	if err != nil {
		t.Fatal(err)
	}
	d, err := ScoreDecoding(context.Background(), newReference(ps), ps, Decoding{Name: "greedy"})
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Model: "m", Decoding: []DecodeResult{d},
		Loss:     &LossResult{Docs: 1, Tokens: 10, Loss: 1.2, Entropy: 1, Excess: 0.2},
		Steering: &SteerResult{Layer: 1, Best: -1, Points: []SteerPoint{{Strength: 0, Prompts: 2, Sentences: 4, InGrammarN: 4, InGrammar: 1, Example: "a|b<c>"}}}}
	nChecks := len(r.Checks())
	r.SteeringVariants = []*SteerResult{{Layer: 2, Phase: "prompt only", Best: 0,
		Points: []SteerPoint{{Strength: 16, Prompts: 2, PositiveN: 2, Positive: 1, AllPositiveN: 2, AllPositive: 1, TopicKeptN: 1, TopicKept: 0.5, Sentences: 4, InGrammarN: 4, InGrammar: 1}}}}
	if len(r.Checks()) != nChecks || r.Pass() {
		t.Errorf("a steering variant changed the checks")
	}
	if got := VariantLayers(6); len(got) != 2 || got[0] != 2 || got[1] != 3 {
		t.Errorf("VariantLayers(6) = %v", got)
	}
	if got := VariantLayers(5); len(got) != 1 || got[0] != 2 {
		t.Errorf("VariantLayers(5) = %v", got)
	}
	txt := r.String()
	if !strings.Contains(txt, "Steering variants") || !strings.Contains(txt, "16 (positive 1.000, every sentence 1.000, in grammar 1.000, topic kept 0.500)") {
		t.Errorf("text report lacks the variants:\n%s", txt)
	}
	for _, want := range []string{"FAIL held-out loss", "PASS greedy: sentences in the grammar", "+20.0%", "FAIL steering: negative → positive", "FAIL steering: every sentence positive"} {
		if !strings.Contains(txt, want) {
			t.Errorf("text report lacks %q:\n%s", want, txt)
		}
	}
	b := r.MIMEBundle()
	h, _ := b["text/html"].(string)
	if !strings.Contains(h, "<table>") || !strings.Contains(h, "a|b&lt;c&gt;") || b["text/plain"] != txt || b["application/json"] == nil {
		t.Errorf("MIME bundle: %v", b)
	}
	if md := r.Markdown(); !strings.Contains(md, `a\|b<c>`) || !strings.Contains(md, "| strength |") {
		t.Errorf("markdown:\n%s", md)
	}
	if m := r.Method(); !strings.Contains(m, "block_out at layer 1") || !strings.Contains(m, "0x4e1d") {
		t.Errorf("method:\n%s", m)
	}
}

// goldenDir is the golden tiny checkpoint in ../shared beside the
// repository (as in CI), skipping the test when it is absent.
func goldenDir(t testing.TB) string {
	t.Helper()
	return golden.Dir(t, "bf16")
}

// tinyDev is the golden tiny checkpoint with the tokenizer package's test
// tokenizer beside it (a folder of symlinks): untrained, but enough to run
// every engine path of the evaluation.
func tinyDev(t testing.TB) *engine.Model {
	t.Helper()
	golden := goldenDir(t)
	tok, _ := filepath.Abs(filepath.Join("..", "..", "tokenizer", "testdata", "trained_tokenizer.json"))
	dir := t.TempDir()
	for name, src := range map[string]string{"config.json": filepath.Join(golden, "config.json"),
		"model.safetensors": filepath.Join(golden, "model.safetensors"), "tokenizer.json": tok} {
		abs, _ := filepath.Abs(src)
		if _, err := os.Stat(abs); err != nil {
			t.Skipf("golden tiny checkpoint or test tokenizer missing: %v", err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	m, err := engine.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestTokenLogProbsMatchDecoding(t *testing.T) {
	// Sliding-window layers only: no indexer top-k, whose exact ties may
	// legitimately pick different entries in prefill and decode.
	b, err := os.ReadFile(filepath.Join(goldenDir(t), "config.json"))
	if err != nil {
		t.Skipf("golden config: %v", err)
	}
	cfg, err := dsv4.ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cfg.CompressRatios {
		cfg.CompressRatios[i] = 0
	}
	m, err := engine.Random(cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	seqs := make([][]int, 3)
	for i := range seqs {
		seqs[i] = make([]int, 5+7*i)
		for j := range seqs[i] {
			seqs[i][j] = rng.IntN(m.VocabSize())
		}
	}
	ctx := context.Background()
	lps, err := TokenLogProbs(ctx, m, seqs, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, seq := range seqs {
		if len(lps[i]) != len(seq)-1 {
			t.Fatalf("seq %d: %d log-probs for %d tokens", i, len(lps[i]), len(seq))
		}
		s := m.NewSession()
		logits, err := s.Prefill(ctx, seq[:1])
		if err != nil {
			t.Fatal(err)
		}
		row := logits[len(logits)-1]
		for p := 1; p < len(seq); p++ {
			// Independent log-softmax in float64 from the decode path.
			var z float64
			for _, v := range row {
				z += math.Exp(float64(v))
			}
			want := float64(row[seq[p]]) - math.Log(z)
			if math.Abs(lps[i][p-1]-want) > 2e-4 {
				t.Errorf("seq %d position %d: log-prob %g, decode gives %g", i, p, lps[i][p-1], want)
			}
			if p < len(seq)-1 {
				if row, err = s.Decode(ctx, seq[p]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

func TestHeldOutLossOnTinyModel(t *testing.T) {
	m := tinyDev(t)
	docs, err := HeldOutDocs(1, 6)
	if err != nil {
		t.Fatal(err)
	}
	l, err := HeldOutLoss(context.Background(), m, docs, 4)
	if err != nil {
		t.Fatal(err)
	}
	var toks int
	var h float64
	for _, d := range docs {
		toks += len(m.Tokenizer().Encode(d.Text)) - 1
		h -= d.LogProb
	}
	if l.Tokens != toks || math.Abs(l.Entropy-h/float64(toks)) > 1e-12 {
		t.Errorf("tokens %d entropy %g, want %d %g", l.Tokens, l.Entropy, toks, h/float64(toks))
	}
	// An untrained model is close to uniform over its vocabulary.
	if u := math.Log(float64(m.VocabSize())); l.Loss < 0.5*u || l.Loss > 2*u {
		t.Errorf("untrained loss %g nats/token, uniform is %g", l.Loss, u)
	}
}

func TestStreamMeansMatchHook(t *testing.T) {
	m := tinyDev(t)
	texts := []string{corpus.BOS + "The soup was bland.", corpus.BOS + "I stayed at this hotel last week."}
	const layer = 2
	mean, norm, err := StreamMeans(context.Background(), m, texts, layer, 1)
	if err != nil {
		t.Fatal(err)
	}
	// The same mean read through a hook instead of Capture.
	d := m.Dim()
	want := make([]float64, d)
	var rows int
	seqs := [][]int{m.Tokenizer().Encode(texts[0]), m.Tokenizer().Encode(texts[1])}
	_, err = m.Forward(context.Background(), seqs, engine.WithLogits(engine.LogitsNone),
		engine.WithHook(engine.Selector{Site: engine.SiteBlockOut, Layers: []int{layer}}, func(e *engine.Event) {
			for r := 0; r < e.Rows; r++ {
				if e.Positions[r] == 0 {
					continue
				}
				row := e.Row(r)
				for s := range 4 {
					for j := range d {
						want[j] += float64(row[s*d+j]) / 4
					}
				}
				rows++
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(seqs[0])+len(seqs[1])-2 {
		t.Fatalf("hook saw %d rows", rows)
	}
	for j := range want {
		want[j] /= float64(rows)
		if math.Abs(mean[j]-want[j]) > 1e-5*(1+math.Abs(want[j])) {
			t.Fatalf("mean[%d] = %g, hook gives %g", j, mean[j], want[j])
		}
	}
	if norm <= 0 {
		t.Errorf("activation norm %g", norm)
	}
}

func TestEngineCompleterSteers(t *testing.T) {
	m := tinyDev(t)
	c := EngineCompleter(m, 2)
	ctx := context.Background()
	ps := []string{corpus.BOS + "The soup was bland.", corpus.BOS + "I stayed at this hotel."}
	dec := Decoding{Name: "greedy", MaxTokens: 8}
	base, err := c.Complete(ctx, ps, dec, nil)
	if err != nil {
		t.Fatal(err)
	}
	v := make([]float32, m.Dim())
	for i := range v {
		v[i] = float32(math.Sin(float64(i)))
	}
	zero, err := c.Complete(ctx, ps, dec, &Steer{Layer: 2, Vector: v, Strength: 0})
	if err != nil {
		t.Fatal(err)
	}
	steered, err := c.Complete(ctx, ps, dec, &Steer{Layer: 2, Vector: v, Strength: 40})
	if err != nil {
		t.Fatal(err)
	}
	for i := range ps {
		if zero[i] != base[i] {
			t.Errorf("prompt %d: strength 0 changed the greedy continuation %q → %q", i, base[i], zero[i])
		}
		if steered[i] == base[i] {
			t.Errorf("prompt %d: a strong vector left the greedy continuation unchanged: %q", i, base[i])
		}
	}
	if _, err := c.Complete(ctx, ps, dec, &Steer{Layer: 2, Vector: v[:3], Strength: 1}); err == nil {
		t.Error("a vector of the wrong size was accepted")
	}
}

// Sampled completions: each prompt draws from its own stream, fixed by its
// text, so a completion does not depend on the batch or the other prompts,
// and two prompts of one batch are not sampled with the same numbers.
func TestEngineCompleterSamplesPerPrompt(t *testing.T) {
	m := tinyDev(t)
	ctx := context.Background()
	dec := Decoding{Name: "sampled", Temperature: 1.5, Seed: 3, MaxTokens: 8}
	a, b := corpus.BOS+"The soup was bland.", corpus.BOS+"I stayed at this hotel."
	together, err := EngineCompleter(m, 4).Complete(ctx, []string{a, b}, dec, nil)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := EngineCompleter(m, 1).Complete(ctx, []string{b}, dec, nil)
	if err != nil {
		t.Fatal(err)
	}
	if together[1] != alone[0] {
		t.Errorf("prompt b sampled %q beside a, %q alone", together[1], alone[0])
	}
	// The same completion as one engine generation with the prompt's seed.
	g, err := m.Generate(ctx, b, engine.GenerateOptions{MaxTokens: 8, Temperature: 1.5, Seed: PromptSeed(3, b)})
	if err != nil {
		t.Fatal(err)
	}
	if want := g.Text; alone[0] != want && alone[0] != want+corpus.EOS {
		t.Errorf("completer %q, Generate with PromptSeed %q", alone[0], want)
	}
	if PromptSeed(3, a) == PromptSeed(3, b) || PromptSeed(3, a) == PromptSeed(4, a) {
		t.Error("PromptSeed does not separate prompts or seeds")
	}
}

// A point meets the steering targets only when the classifier's verdict, the
// every-sentence reading and the grammar all reach their bars.
func TestSteerPointMeets(t *testing.T) {
	for _, c := range []struct {
		p    SteerPoint
		want bool
	}{
		{SteerPoint{Positive: 0.9, AllPositive: 0.85, InGrammar: 0.95}, true},
		{SteerPoint{Positive: 0.9, AllPositive: 0.5, InGrammar: 0.95}, false}, // starts negative, then turns
		{SteerPoint{Positive: 0.7, AllPositive: 0.7, InGrammar: 1}, false},
		{SteerPoint{Positive: 1, AllPositive: 1, InGrammar: 0.89}, false},
	} {
		if got := c.p.Meets(); got != c.want {
			t.Errorf("%+v: Meets() = %v, want %v", c.p, got, c.want)
		}
	}
	if MiddleLayer(6) != 3 || MiddleLayer(43) != 21 {
		t.Errorf("MiddleLayer(6), (43) = %d, %d; want 3, 21", MiddleLayer(6), MiddleLayer(43))
	}
}
