// Package eval measures the quality of Steerbook's default model against the
// ground truth of its corpus (engine/defaultmodel/corpus), with the Go engine
// only — the figures of issue 4's "Quality the model must reach" and of the
// model card:
//
//   - held-out loss (nats per predicted token) against the generator's exact
//     entropy per token for the model's own tokenizer (target: within 10 %);
//   - with greedy and with sampled (temperature 0.8, seeded) decoding of
//     held-out prompts: the fraction of generated sentences in the grammar
//     (≥ 95 %), review continuations that keep the prefix's sentiment, topic
//     and register (≥ 90 %), chat requests followed (≥ 90 %), refusals of
//     secret requests (≥ 90 %) and of benign ones (≤ 5 %), multiple-choice
//     answers right (≥ 90 %);
//   - the steering check: a difference-of-means sentiment vector (positive
//     minus negative reviews, mean over the four hyper-connection streams at
//     block_out of a middle layer), added back at that layer with
//     engine.AddVector for a sweep of strengths; per strength, the fraction of
//     negative-prompted continuations the classifier calls positive (≥ 80 % at
//     some strength) and the fraction of their sentences in the grammar
//     (≥ 90 % at that strength).
//
// The steering check uses only the engine's Capture and Intervention API, so
// it is independent of steerlib and can vouch for it. Its protocol: the
// difference of means of 64 topic- and register-matched pairs of reviews at
// layer L/2 (MiddleLayer), added to every position of the prompt during
// prefill (as ActAdd does; the continuation decodes unsteered and reads the
// steered prompt through attention). Per strength it counts continuations the
// classifier calls positive, continuations positive in every
// sentiment-bearing sentence (both must reach 80 %), sentences in the
// grammar (90 %) and, for information, continuations that keep the prompt's
// topic.
//
// Session 1 fixed a different protocol before any model was measured: the
// vector added at every position, prompt and continuation, of the same
// layer, with unmatched contrast sets. Measured on every model trained so far (three), that leaves
// the grammar before it turns the sentiment: the vector reaches the logits
// directly at every generated position and pulls each token toward
// positive-review words mid-sentence. Session 2 changed the protocol after
// those measurements, and made the check stricter at the same time (every
// sentence positive, not only the classifier's verdict). Options.Steering
// can still add the vector at every position or to the continuation only,
// and SteeringVariants sweeps both middle layers × those three placements;
// variants are reported for information and never count as passing.
//
// Scoring is corpus.ScoreCompletion, with one stricter rule: a completion
// cut at the token limit inside a sentence counts that piece as a sentence
// out of the grammar, so degenerate rambling cannot score well by never
// finishing a sentence.
//
// Generation goes through the Completer interface: EngineCompleter wraps an
// *engine.Model, and tests substitute model-free fakes (the corpus's own
// reference completions must score 100 %). Run evaluates a model end to end
// and returns a Report with a text form, an HTML table (MIMEBundle, for
// notebooks), Markdown for the model card, JSON, and Checks against the
// thresholds. The command eval/cmd/evalmodel runs it from a shell (-out DIR
// keeps results.json, report.md and steering.png in DIR):
//
//	go run ./engine/defaultmodel/eval/cmd/evalmodel [-model DIR] [-n N] [-seed S] [-json] [-plot PATH] [-md PATH] [-out DIR]
//
// Compare sets two reports of the same options side by side and applies
// issue 4's storage rule (no deciding evaluation may drop by more than
// MaxStorageDrop points); evalmodel -compare DIR runs both evaluations and
// writes the comparison, which is how train/run.sh decides between BF16 and
// the release's FP8/FP4 formats.
package eval
