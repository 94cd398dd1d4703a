package steerlib

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// loadDefault returns the default model: the folder in
// STEERBOOK_DEFAULT_MODEL, else engine.Default(); it skips when neither is
// available (the model is trained separately).
func loadDefault(t *testing.T) *EngineModel {
	t.Helper()
	if dir := os.Getenv("STEERBOOK_DEFAULT_MODEL"); dir != "" {
		m, err := engine.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return Engine(m)
	}
	m, err := engine.Default()
	if err != nil {
		t.Skipf("default model not available: %v", err)
	}
	return Engine(m)
}

// TestDefaultModelSentimentFlip reproduces the headline: a difference-of-
// means sentiment vector (stream mean at block_out of the middle layer,
// from the embedded sentiment pairs) added at that layer turns the
// continuations of negative review openings positive, judged by the default
// model's ground-truth classifier, and reports the coherence cost (fraction
// of sentences in the grammar, KL on neutral text).
func TestDefaultModelSentimentFlip(t *testing.T) {
	if testing.Short() {
		t.Skip("generation sweep on the default model")
	}
	m := loadDefault(t)
	ctx := context.Background()
	d, err := LoadDataset("sentiment")
	if err != nil {
		t.Fatal(err)
	}
	layer := m.NumLayers() / 2
	acts, err := Extract(ctx, m, d, ExtractOptions{Layers: []int{layer}, Format: ReviewFormat})
	if err != nil {
		t.Fatal(err)
	}
	v, err := acts.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sep, _ := acts.Separability(engine.SiteBlockOut, DiffMean, EstimateOptions{})
	t.Logf("layer %d: held-out AUROC %.3f, |v| = %.3g, mean activation norm %.3g", layer, sep.Layers[0].AUROC, v.Norm(layer), v.Norms[layer].Mean)
	ps, err := corpus.ReviewPrompts(7, 64)
	if err != nil {
		t.Fatal(err)
	}
	var prompts []string
	for _, p := range ps {
		if p.Attrs.Sentiment == "negative" && len(prompts) < 16 {
			prompts = append(prompts, p.Text)
		}
	}
	best := 0.0
	for _, s := range []float64{0, 0.5, 1, 2, 4, 8} {
		var st *Steering
		if s != 0 {
			st = Compose(Add(v, Raw(s)))
		}
		conts, err := Continuations(ctx, m, prompts, Format{}, st, 48)
		if err != nil {
			t.Fatal(err)
		}
		pos, gram, sents := 0, 0.0, 0
		for _, c := range conts {
			c = strings.SplitN(c, corpus.EOS, 2)[0]
			if lab, _ := corpus.Sentiment(c); lab == "positive" {
				pos++
			}
			for _, sen := range corpus.SplitSentences(c) {
				sents++
				if corpus.InGrammar(sen) {
					gram++
				}
			}
		}
		cost, err := CostOf(ctx, m, NeutralTexts(), ReviewFormat, st, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		flip := float64(pos) / float64(len(conts))
		inG := gram / float64(max(sents, 1))
		t.Logf("strength %.2f × v: %2.0f%% of negative openings continue positive, %3.0f%% of sentences in grammar, KL %.3g nats, perplexity %.3g (base %.3g); e.g. %q",
			s, 100*flip, 100*inG, cost.KL, cost.Perplexity, cost.BasePerplexity, conts[0])
		if inG >= 0.9 && flip > best {
			best = flip
		}
	}
	if best < 0.8 {
		t.Errorf("no strength turned ≥ 80%% of negative openings positive with ≥ 90%% of sentences in grammar (best %.0f%%)", 100*best)
	}
}
