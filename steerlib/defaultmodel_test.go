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

// TestDefaultModelSentimentFlip is the headline check on the default model:
// a difference-of-means sentiment vector (embedded sentiment pairs, last
// token, stream mean at block_out) added at a middle layer should turn the
// greedy continuations of negative review openings positive, judged by the
// default model's ground-truth classifier, at a coherence cost reported as
// the fraction of sentences in the grammar and the KL on the neutral texts
// (NeutralTexts, as chat user turns).
//
// It asserts what must hold for any working steering (the vector moves
// continuations toward positive at some strength; the KL cost grows with
// strength) and reports whether issue 4's target (≥ 80 % positive with
// ≥ 90 % of sentences in grammar) is met; STEERBOOK_HEADLINE=strict makes
// missing that target a failure. Measured on the first trained default
// model (2026-12-04): it is not met — best 8/16 positive at 100 % in
// grammar (layer 4, 0.25 × mean norm, KL 0.15 nats on the neutral texts,
// perplexity 2.45 against 2.07 unsteered); 13/16 at layer 3, 0.75 × mean
// norm, but with no sentence left in grammar; stronger pushes break the
// grammar before they flip more prompts.
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
	mid := m.NumLayers() / 2
	layers := []int{mid, min(mid+1, m.NumLayers()-1)}
	acts, err := Extract(ctx, m, d, ExtractOptions{Layers: layers, Format: ReviewFormat})
	if err != nil {
		t.Fatal(err)
	}
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
	// All in the default model's grammar and sentiment-free; they are chat
	// requests, so the cost is measured on them as user turns.
	neutral := NeutralTexts()
	sep, _ := acts.Separability(engine.SiteBlockOut, DiffMean, EstimateOptions{})
	met, moved := false, false
	for li, layer := range layers {
		v, err := acts.Vector(DiffMean, engine.SiteBlockOut, []int{layer}, EstimateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("layer %d: held-out AUROC %.3f, |v| = %.3g, mean activation norm %.3g", layer, sep.Layers[li].AUROC, v.Norm(layer), v.Norms[layer].Mean)
		base, lastKL := 0.0, -1.0
		for _, s := range []float64{0, 0.25, 0.5, 0.75, 1} {
			var st *Steering
			if s != 0 {
				st = Compose(Add(v, Rel(s)))
			}
			conts, err := Continuations(ctx, m, prompts, Format{}, st, 40)
			if err != nil {
				t.Fatal(err)
			}
			pos, gram, sents := 0, 0, 0
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
			cost, err := CostOf(ctx, m, neutral, ChatFormat, st, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			flip := float64(pos) / float64(len(conts))
			inG := float64(gram) / float64(max(sents, 1))
			t.Logf("  %.2f × mean norm: %2d/%d negative openings continue positive, %3.0f%% of sentences in grammar, KL %.3g nats, perplexity %.3g (base %.3g); e.g. %q",
				s, pos, len(conts), 100*inG, cost.KL, cost.Perplexity, cost.BasePerplexity, conts[0])
			if s == 0 {
				base = flip
			} else if flip > base {
				moved = true
			}
			if cost.KL < lastKL {
				t.Errorf("layer %d: KL fell from %.3g to %.3g as strength grew to %g", layer, lastKL, cost.KL, s)
			}
			lastKL = cost.KL
			if flip >= 0.8 && inG >= 0.9 {
				met = true
			}
		}
	}
	if !moved {
		t.Error("no strength moved any negative opening toward positive")
	}
	t.Logf("issue 4 headline target (≥ 80%% positive with ≥ 90%% in grammar) met: %v", met)
	if !met && os.Getenv("STEERBOOK_HEADLINE") == "strict" {
		t.Error("headline target not met")
	}
}
