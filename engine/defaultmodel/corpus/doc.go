// Package corpus generates the training corpus of Steerbook's default model
// and provides the ground truth to evaluate it: a seeded generator of short
// English reviews and DeepSeek-V4 chat turns with known attributes
// (sentiment, topic, register, request kind, refusal, multiple-choice
// answer), word-level attribute spans, the exact probability of any text
// under the generator, and a classifier/recogniser built from the same
// grammar.
//
// # Grammar
//
// Everything derives from one finite probabilistic grammar (lexicon.go,
// written in the small DSL described in grammar.go): 534 words, 16
// attribute combinations of reviews (2 sentiments × 4 topics × 2 registers,
// plus a place noun chosen once per document), 7 opening, 18 body and 3
// closing sentence shapes (several with register-specific variants), review
// requests, opinion requests, secret requests with refusals, and four kinds
// of (A)/(B) questions. Word classes with different attribute values are
// disjoint, so every review sentence reveals the document's sentiment, topic
// and register (tested on the spans).
//
// # Document text
//
// Document.Text is the exact training sequence with DeepSeek-V4 special
// tokens: "<｜begin▁of▁sentence｜>review<｜end▁of▁sentence｜>" or
// "<｜begin▁of▁sentence｜><｜User｜>request<｜Assistant｜></think>answer<｜end▁of▁sentence｜>"
// (chat mode, design §4.2). Trainers must not add BOS/EOS again.
//
// # Exact entropy
//
// Generation samples a derivation; Document.LogProb is the sum of the
// log-probabilities of its choices, starting with the document case
// (kind × attributes, from the Mix). Generator.LogProb(text) parses the text
// with an inside-algorithm chart parser and sums over every derivation and
// every case, so it is log P(text) exactly even where the grammar is
// ambiguous; on generated documents the two agree (tested), i.e. the grammar
// is unambiguous in practice. Rendering tokens to text is invertible
// (tokenize(render(x)) == x), so P(text) = P(token sequence).
//
// The generator's entropy is H = E[-log P(text)]; EstimateEntropy estimates it by
// Monte Carlo over n documents with its standard error (the per-document
// values are exact, only the average is sampled). To compare with a model:
// the model's held-out loss summed over a document's predicted tokens (every
// token after BOS, EOS included) is -log P_model(text) ≥ -log P(text) on
// average, so
//
//	loss_nats_per_token × tokens_per_doc  vs  H (nats per document)
//
// or, per token, H / mean(tokens after BOS per document) for the trainer's
// tokenizer. Any deterministic tokenizer gives the same H per document.
//
// The method is checked by brute force: for a tiny ambiguous grammar and for
// several real sentence symbols, every derivation is enumerated, texts are
// grouped, and the parser's log-probabilities, the enumerated entropy and
// (for the tiny grammar) the sampler's frequencies agree.
//
// # Classifier
//
// Classify, InGrammar, SplitSentences, Sentiment, Topic, Register, IsRefusal
// and MCAnswer label any text (classify.go): in-grammar sentences get exact
// Bayes posteriors over the grammar's sentence symbols, out-of-grammar ones a
// lexical fallback derived from the same grammar. ReviewPrompts,
// ChatPrompts, ScoreCompletion and Metrics turn that into the quality
// metrics of the default model (issue 4).
package corpus
