package eval

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// Decoding is one way of generating: greedy (Temperature 0) or sampling.
type Decoding struct {
	Name        string  `json:"name"`
	Temperature float32 `json:"temperature"`
	// Seed is the base of the prompts' seeds: each prompt samples with its
	// own stream (PromptSeed), so the samples of a set are independent draws.
	Seed      uint64 `json:"seed"`
	MaxTokens int    `json:"max_tokens"`
}

// PromptSeed is the sampling seed of one prompt: fixed by the decoding's
// seed and the prompt's text, not by its place in a batch, so a completion
// does not depend on the batch size or on the other prompts. Before it, one
// seed served a whole batch and the k-th token of every completion was drawn
// with the same random number: 43 secret requests sampled at T 0.8 then
// opened their reply with the same word 43 times, and a sampled rate over n
// prompts behaved like a handful of draws.
func PromptSeed(seed uint64, prompt string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(prompt))
	x := seed*0x9e3779b97f4a7c15 ^ h.Sum64()
	// splitmix64's finaliser: nearby seeds and texts give unrelated streams
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// Steer is an additive steering vector: Strength·Vector added to the four
// streams at block_out of Layer, at every position of prompt and completion
// (Phase 0), or only in the prefill of the prompt or only while decoding.
type Steer struct {
	Layer    int
	Vector   []float32
	Strength float32
	Phase    engine.Phase
}

// Completer continues prompts. Prompts are the exact text given to the model
// (special tokens included, as corpus.Prompt.Text); a completion that ended
// because the model produced EOS must end with corpus.EOS, so that scoring
// can tell a finished document from one cut at MaxTokens.
type Completer interface {
	Complete(ctx context.Context, prompts []string, dec Decoding, steer *Steer) ([]string, error)
}

// EngineCompleter generates with m's GenerateBatch, batch prompts per call.
func EngineCompleter(m *engine.Model, batch int) Completer {
	if batch <= 0 {
		batch = 32
	}
	return engineCompleter{m: m, batch: batch}
}

type engineCompleter struct {
	m     *engine.Model
	batch int
}

func (c engineCompleter) Complete(ctx context.Context, prompts []string, dec Decoding, steer *Steer) ([]string, error) {
	opt := engine.GenerateOptions{MaxTokens: dec.MaxTokens, Temperature: dec.Temperature, Seed: dec.Seed}
	if steer != nil {
		if len(steer.Vector) != c.m.Dim() {
			return nil, fmt.Errorf("eval: steering vector has %d values, the model's hidden size is %d", len(steer.Vector), c.m.Dim())
		}
		iv := engine.AddVector(engine.SiteBlockOut, []int{steer.Layer}, steer.Vector, steer.Strength)
		iv.Phase = steer.Phase
		opt.Interventions = []engine.Intervention{iv}
	}
	out := make([]string, 0, len(prompts))
	for lo := 0; lo < len(prompts); lo += c.batch {
		hi := min(lo+c.batch, len(prompts))
		opt.Seeds = nil
		if dec.Temperature > 0 {
			for _, p := range prompts[lo:hi] {
				opt.Seeds = append(opt.Seeds, PromptSeed(dec.Seed, p))
			}
		}
		gens, err := c.m.GenerateBatch(ctx, prompts[lo:hi], opt)
		if err != nil {
			return nil, fmt.Errorf("eval: %s generation of prompts %d–%d: %w", dec.Name, lo, hi-1, err)
		}
		for _, g := range gens {
			t := g.Text
			if g.StopReason == "eos" {
				t += corpus.EOS
			}
			out = append(out, t)
		}
	}
	return out, nil
}

// DecodeResult holds the quality metrics of one decoding.
type DecodeResult struct {
	Decoding Decoding       `json:"decoding"`
	Metrics  corpus.Metrics `json:"metrics"`
	// Truncated counts completions cut at MaxTokens inside a sentence.
	Truncated int `json:"truncated"`
	// Examples are the first completions of each prompt kind, for the report.
	Examples []Example `json:"examples,omitempty"`
	// Failures are a few completions that missed their target, for diagnosis.
	Failures []Example `json:"failures,omitempty"`
}

// Example is one prompt with its completion and verdict.
type Example struct {
	Kind       string       `json:"kind"`
	Prompt     string       `json:"prompt"`
	Completion string       `json:"completion"`
	Score      corpus.Score `json:"score"`
}

// Rates are the figures issue 4 sets targets for.
type Rates struct {
	InGrammar        float64 `json:"in_grammar"`
	ReviewKept       float64 `json:"review_kept"`
	RequestsFollowed float64 `json:"requests_followed"`
	SecretRefused    float64 `json:"secret_refused"`
	BenignRefused    float64 `json:"benign_refused"`
	MCCorrect        float64 `json:"mc_correct"`
}

// Rates computes the target figures from the metrics.
func (d DecodeResult) Rates() Rates {
	m := d.Metrics
	return Rates{
		InGrammar:        m.InGrammarRate(),
		ReviewKept:       frac(m.ReviewsKept, m.Reviews),
		RequestsFollowed: frac(m.RequestsFollowed, m.Requests),
		SecretRefused:    frac(m.SecretRefused, m.Secret),
		BenignRefused:    frac(m.BenignRefused, m.Benign),
		MCCorrect:        frac(m.MCCorrect, m.MC),
	}
}

func frac(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// promptKind names a prompt's kind for examples: "review" or the request.
func promptKind(p corpus.Prompt) string {
	if p.Kind == corpus.KindChat {
		return "chat/" + p.Attrs.Request
	}
	return string(p.Kind)
}

const maxFailures = 8

// ScoreDecoding completes every prompt with dec and scores each completion
// with the corpus classifier (corpus.ScoreCompletion).
func ScoreDecoding(ctx context.Context, c Completer, prompts []corpus.Prompt, dec Decoding) (DecodeResult, error) {
	texts := make([]string, len(prompts))
	for i, p := range prompts {
		texts[i] = p.Text
	}
	comps, err := c.Complete(ctx, texts, dec, nil)
	if err != nil {
		return DecodeResult{}, err
	}
	if len(comps) != len(prompts) {
		return DecodeResult{}, fmt.Errorf("eval: %s: %d completions for %d prompts", dec.Name, len(comps), len(prompts))
	}
	r := DecodeResult{Decoding: dec}
	seen := map[string]bool{}
	for i, p := range prompts {
		s := strictScore(p, comps[i])
		r.Metrics.Add(p, s)
		if s.Truncated {
			r.Truncated++
		}
		ex := Example{Kind: promptKind(p), Prompt: p.Text, Completion: comps[i], Score: s}
		if !seen[ex.Kind] {
			seen[ex.Kind] = true
			r.Examples = append(r.Examples, ex)
		}
		if missed(s) && len(r.Failures) < maxFailures {
			r.Failures = append(r.Failures, ex)
		}
	}
	return r, nil
}

// missed reports whether a completion fails one of the targets (an
// out-of-grammar sentence, or the prompt's request not followed; a refusal of
// a benign request is never "followed").
func missed(s corpus.Score) bool {
	return s.InGrammar < s.Sentences || !s.Followed
}

// strictScore is corpus.ScoreCompletion, except that a completion cut at the
// token limit inside a sentence counts that piece as one sentence out of the
// grammar. The corpus leaves it out (it may be the prefix of a good
// sentence), but then a model that rambles without ever ending a sentence —
// as an over-steered one does — would score a perfect in-grammar rate over
// zero sentences. The default limit (96 tokens) is above the longest
// completion of the grammar (79 tokens with the default tokenizer over 50 000
// documents), so a well-formed continuation is never cut.
func strictScore(p corpus.Prompt, completion string) corpus.Score {
	s := corpus.ScoreCompletion(p, completion)
	if s.Truncated {
		s.Sentences++
	}
	return s
}
