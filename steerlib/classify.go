package steerlib

import "github.com/steerbook/steerbook/engine/defaultmodel/corpus"

// The default model's ground-truth classifiers (engine/defaultmodel/corpus,
// built from the grammar the model was trained on), as Classifiers for
// AttributeMetric. Texts outside the grammar get the corpus's lexical
// fallback.

// SentimentClassifier scores P(positive) of a text.
func SentimentClassifier() Classifier {
	return ClassifierFunc(func(text string) float64 { _, p := corpus.Sentiment(text); return p })
}

// RegisterClassifier scores P(formal) of a text.
func RegisterClassifier() Classifier {
	return ClassifierFunc(func(text string) float64 { _, p := corpus.Register(text); return p })
}

// RefusalClassifier scores 1 for a text that begins with a refusal, else 0.
func RefusalClassifier() Classifier {
	return ClassifierFunc(func(text string) float64 {
		if corpus.IsRefusal(text) {
			return 1
		}
		return 0
	})
}

// InGrammarRate is the fraction of a text's sentences that the default
// model's grammar generates: a coherence measure for steered continuations.
func InGrammarRate(text string) float64 {
	ss := corpus.SplitSentences(text)
	if len(ss) == 0 {
		return 0
	}
	n := 0
	for _, s := range ss {
		if corpus.InGrammar(s) {
			n++
		}
	}
	return float64(n) / float64(len(ss))
}
