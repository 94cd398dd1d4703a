package corpus

import (
	"fmt"
	"math"
	"unicode/utf8"
)

// EntropyEstimate is the generator's entropy, estimated by Monte Carlo over
// Docs documents whose log-probabilities are exact (see the package doc).
type EntropyEstimate struct {
	Docs int `json:"docs"`
	// NatsPerDoc is E[-ln P(text)], with the standard error of the mean.
	NatsPerDoc       float64 `json:"nats_per_doc"`
	NatsPerDocStdErr float64 `json:"nats_per_doc_stderr"`
	// Per-unit rates are ratios of totals (Σ nats / Σ units), the form that
	// matches a model's token-averaged loss. Special tokens count as neither
	// words nor characters; punctuation marks and spaces are characters but
	// not words.
	WordsPerDoc float64 `json:"words_per_doc"` // word tokens (not punctuation, not special tokens)
	CharsPerDoc float64 `json:"chars_per_doc"` // characters of Text without special tokens
	NatsPerWord float64 `json:"nats_per_word"`
	NatsPerChar float64 `json:"nats_per_char"`
	// Exact reports whether each document's log-probability was recomputed
	// by the parser (sum over derivations) rather than taken from the
	// generator's choices.
	Exact bool `json:"exact"`
}

func (e EntropyEstimate) String() string {
	return fmt.Sprintf("%.3f ± %.3f nats/doc over %d docs; %.2f words/doc, %.4f nats/word, %.1f chars/doc, %.4f nats/char",
		e.NatsPerDoc, e.NatsPerDocStdErr, e.Docs, e.WordsPerDoc, e.NatsPerWord, e.CharsPerDoc, e.NatsPerChar)
}

// streamEntropy is the PCG stream for entropy estimates.
const streamEntropy = 0xe7

// EstimateEntropy samples n documents from the mix (seeded, on its own
// stream) and averages their exact negative log-probabilities. With exact
// true, each log-probability is recomputed by parsing the text (slower,
// valid even for ambiguous text); otherwise the generator's choice
// log-probability is used, which the tests show is identical on generated
// text.
func EstimateEntropy(mix Mix, seed uint64, n int, exact bool) (EntropyEstimate, error) {
	gen, err := New(Options{Seed: seed, Mix: mix, Stream: streamEntropy})
	if err != nil {
		return EntropyEstimate{}, err
	}
	if n <= 0 {
		return EntropyEstimate{}, fmt.Errorf("corpus: EstimateEntropy needs n > 0, got %d", n)
	}
	var sum, sum2, words, chars float64
	for i := 0; i < n; i++ {
		d := gen.Next()
		lp := d.LogProb
		if exact {
			lp = gen.LogProb(d.Text)
		}
		sum += -lp
		sum2 += lp * lp
		for _, s := range d.Spans {
			t := d.Text[s.Start:s.End]
			if isSpecial(t) {
				continue
			}
			chars += float64(utf8.RuneCountInString(t))
			if !isPunct(t) {
				words++
			}
		}
		// Spaces between tokens count as characters.
		chars += float64(countSpaces(d.Text))
	}
	fn := float64(n)
	mean := sum / fn
	variance := sum2/fn - mean*mean
	se := 0.0
	if n > 1 && variance > 0 {
		se = math.Sqrt(variance * fn / (fn - 1) / fn)
	}
	return EntropyEstimate{
		Docs: n, NatsPerDoc: mean, NatsPerDocStdErr: se,
		WordsPerDoc: words / fn, CharsPerDoc: chars / fn,
		NatsPerWord: sum / words, NatsPerChar: sum / chars, Exact: exact,
	}, nil
}

func countSpaces(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			n++
		}
	}
	return n
}
