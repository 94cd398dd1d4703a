package eval

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// LossResult compares the model's held-out loss with the generator's exact
// entropy, both per predicted token (every token after BOS, EOS included) of
// the same documents and the same tokenization.
type LossResult struct {
	Docs   int `json:"docs"`
	Tokens int `json:"tokens"` // predicted tokens
	// Loss is the model's mean negative log-likelihood, nats per token.
	Loss float64 `json:"loss"`
	// Entropy is Σ −log P_generator(doc) / Σ tokens: what a perfect model
	// would score on these documents.
	Entropy float64 `json:"entropy"`
	// Excess is Loss/Entropy − 1 (the target is |Excess| ≤ 0.10).
	Excess float64 `json:"excess"`
	// ByKind splits the same sums by document kind ("review", and chat by
	// request: "chat/review", "chat/secret", …).
	ByKind []KindLoss `json:"by_kind"`
}

// KindLoss is the loss and entropy of one kind of held-out document.
type KindLoss struct {
	Kind    string  `json:"kind"`
	Docs    int     `json:"docs"`
	Tokens  int     `json:"tokens"`
	Loss    float64 `json:"loss"`
	Entropy float64 `json:"entropy"`
}

func (l *LossResult) String() string {
	return fmt.Sprintf("held-out loss %.4f nats/token vs generator entropy %.4f (%+.1f%%) over %d documents, %d tokens",
		l.Loss, l.Entropy, 100*l.Excess, l.Docs, l.Tokens)
}

// DocKind names a document's kind for LossResult.ByKind.
func DocKind(d corpus.Document) string {
	if d.Kind == corpus.KindChat {
		return "chat/" + d.Attrs.Request
	}
	return string(d.Kind)
}

// TokenLogProbs returns, for each sequence, the model's natural-log
// probability of every token after the first given the tokens before it
// (len(seq)−1 values), from batched prefills of batch sequences.
func TokenLogProbs(ctx context.Context, m *engine.Model, seqs [][]int, batch int) ([][]float64, error) {
	if batch <= 0 {
		batch = 32
	}
	out := make([][]float64, len(seqs))
	for lo := 0; lo < len(seqs); lo += batch {
		hi := min(lo+batch, len(seqs))
		res, err := m.Forward(ctx, seqs[lo:hi], engine.WithLogits(engine.LogitsAll))
		if err != nil {
			return nil, fmt.Errorf("eval: forward of sequences %d–%d: %w", lo, hi-1, err)
		}
		for i, logits := range res.Logits {
			seq := seqs[lo+i]
			if len(logits) != len(seq) {
				return nil, fmt.Errorf("eval: sequence %d: %d logit rows for %d tokens", lo+i, len(logits), len(seq))
			}
			lp := make([]float64, len(seq)-1)
			for p := range lp {
				lp[p] = logSoftmaxAt(logits[p], seq[p+1])
			}
			out[lo+i] = lp
		}
	}
	return out, nil
}

// logSoftmaxAt is log softmax(row)[k], accumulated in float64.
func logSoftmaxAt(row []float32, k int) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		mx = max(mx, float64(v))
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v) - mx)
	}
	return float64(row[k]) - mx - math.Log(s)
}

// HeldOutLoss measures m's loss on docs (each encoded with m's tokenizer as
// the exact training sequence, BOS … EOS) against the generator's entropy
// per token of the same documents.
func HeldOutLoss(ctx context.Context, m *engine.Model, docs []corpus.Document, batch int) (*LossResult, error) {
	tk := m.Tokenizer()
	if tk == nil {
		return nil, fmt.Errorf("eval: held-out loss: %w", engine.ErrNoTokenizer)
	}
	seqs := make([][]int, len(docs))
	for i, d := range docs {
		seqs[i] = tk.Encode(d.Text)
		if len(seqs[i]) < 2 || seqs[i][0] != tk.BOS() || seqs[i][len(seqs[i])-1] != tk.EOS() {
			return nil, fmt.Errorf("eval: held-out document %d %q does not encode as BOS … EOS", i, d.Text)
		}
	}
	lps, err := TokenLogProbs(ctx, m, seqs, batch)
	if err != nil {
		return nil, err
	}
	nll := make([]float64, len(docs))
	for i, lp := range lps {
		for _, v := range lp {
			nll[i] -= v
		}
	}
	return lossFromSums(docs, seqs, nll), nil
}

// lossFromSums aggregates per-document model NLLs (nats) against the
// documents' exact log-probabilities; tokens per document are len(seq)−1.
func lossFromSums(docs []corpus.Document, seqs [][]int, nll []float64) *LossResult {
	type acc struct {
		docs, toks int
		nll, h     float64
	}
	var all acc
	by := map[string]*acc{}
	for i, d := range docs {
		k := DocKind(d)
		if by[k] == nil {
			by[k] = &acc{}
		}
		for _, a := range []*acc{&all, by[k]} {
			a.docs++
			a.toks += len(seqs[i]) - 1
			a.nll += nll[i]
			a.h += -d.LogProb
		}
	}
	r := &LossResult{Docs: all.docs, Tokens: all.toks}
	if all.toks > 0 {
		r.Loss, r.Entropy = all.nll/float64(all.toks), all.h/float64(all.toks)
		r.Excess = r.Loss/r.Entropy - 1
	}
	kinds := make([]string, 0, len(by))
	for k := range by {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool {
		// reviews first, then chat kinds alphabetically
		if (kinds[i] == "review") != (kinds[j] == "review") {
			return kinds[i] == "review"
		}
		return strings.Compare(kinds[i], kinds[j]) < 0
	})
	for _, k := range kinds {
		a := by[k]
		r.ByKind = append(r.ByKind, KindLoss{Kind: k, Docs: a.docs, Tokens: a.toks,
			Loss: a.nll / float64(max(a.toks, 1)), Entropy: a.h / float64(max(a.toks, 1))})
	}
	return r
}
