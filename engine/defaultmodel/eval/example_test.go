package eval_test

import (
	"context"
	"fmt"
	"log"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
	"github.com/steerbook/steerbook/engine/defaultmodel/eval"
)

// corpusAnswers is a model-free Completer: it continues each prompt with the
// rest of the corpus document the prompt was cut from.
type corpusAnswers map[string]string

func (c corpusAnswers) Complete(_ context.Context, prompts []string, _ eval.Decoding, _ *eval.Steer) ([]string, error) {
	out := make([]string, len(prompts))
	for i, p := range prompts {
		out[i] = c[p]
	}
	return out, nil
}

// The metric plumbing on the generator's own continuations: every target is
// met exactly.
func ExampleScoreDecoding() {
	prompts, err := eval.Prompts(1, 32)
	if err != nil {
		log.Fatal(err)
	}
	ref := corpusAnswers{}
	for _, p := range prompts {
		ref[p.Text] = p.Reference[len(p.Text):]
	}
	d, err := eval.ScoreDecoding(context.Background(), ref, prompts, eval.Decoding{Name: "reference"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%+v\n", d.Rates())
	// Output:
	// {InGrammar:1 ReviewKept:1 RequestsFollowed:1 SecretRefused:1 BenignRefused:0 MCCorrect:1}
}

// Evaluating a model folder end to end (the evalmodel command does this).
func ExampleRun() {
	m, err := engine.Load("engine/defaultmodel/model")
	if err != nil {
		log.Fatal(err)
	}
	r, err := eval.Run(context.Background(), m, "default", eval.Options{N: 64, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r) // tables and checks; r.MIMEBundle() renders them in a notebook
	if err := r.Steering.SavePlot("steering.png"); err != nil {
		log.Fatal(err)
	}
}

// The storage rule of issue 4 on two hand-made reports: the candidate (say,
// the FP8/FP4 export) follows 6 fewer of 171 chat requests than the base
// (the BF16 export), a drop of 3.5 points, so BF16 would ship.
func ExampleCompare() {
	opt := eval.Options{N: 512, Seed: 1, MaxTokens: 96}
	greedy := func(followed int) []eval.DecodeResult {
		return []eval.DecodeResult{{Decoding: eval.Decoding{Name: "greedy"},
			Metrics: corpus.Metrics{Requests: 171, RequestsFollowed: followed, Sentences: 2500, InGrammar: 2500}}}
	}
	base := &eval.Report{Model: "bf16", Options: opt, Decoding: greedy(166)}
	cand := &eval.Report{Model: "fp8", Options: opt, Decoding: greedy(160)}
	c, err := eval.Compare(base, cand, eval.MaxStorageDrop)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Holds())
	fmt.Println(c.Verdict())
	// Output:
	// false
	// does not hold: greedy: chat requests followed drops by 3.51 points (> 2)
}
