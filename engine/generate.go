package engine

import (
	"context"
	"errors"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/steerbook/steerbook/engine/dsv4"
	"github.com/steerbook/steerbook/engine/tokenizer"
)

// GenerateOptions control sampling. The zero value is greedy decoding of up
// to 128 tokens, stopping at EOS.
type GenerateOptions struct {
	MaxTokens int // new tokens at most (0: 128)
	// Temperature 0 means greedy (argmax, lowest id on ties); otherwise the
	// logits are divided by it before top-k / top-p sampling.
	Temperature float32
	TopP        float32 // nucleus mass in (0,1); 0 or ≥1 disables
	TopK        int     // keep the k most likely tokens; 0 disables
	// RepetitionPenalty > 1 discourages tokens already in the prompt or the
	// output (a positive logit is divided by it, a negative one multiplied);
	// 0 or 1 disables.
	RepetitionPenalty float32
	// Seed makes sampling reproducible: the same model, prompt, options and
	// seed give the same tokens.
	Seed uint64
	// Seeds, for GenerateBatch, gives each prompt its own seed (one per
	// prompt); nil gives every prompt Seed. With one seed for all, the k-th
	// token of every sequence is drawn with the same random number, so the
	// samples of a batch are not independent: an evaluation that samples
	// many prompts wants one seed each.
	Seeds []uint64
	// Stop ends generation when the text contains one of these strings; the
	// text is cut before it.
	Stop      []string
	IgnoreEOS bool
	// OnToken streams each new token with its text (UTF-8 safe: a character
	// split across tokens arrives whole with the token that completes it).
	// Returning an error stops generation with that error.
	OnToken func(id int, text string) error
	// OnBatchToken is OnToken with the index of the sequence (GenerateBatch).
	OnBatchToken  func(seq, id int, text string) error
	Interventions []Intervention
	// Chat wraps the prompt as one user turn in the DeepSeek-V4 chat format
	// (chat mode: "<｜Assistant｜></think>"); Thinking selects thinking mode.
	Chat     bool
	Thinking bool
}

// Generation is one completed generation.
type Generation struct {
	Prompt       string
	PromptTokens []int
	Text         string
	Tokens       []int
	// StopReason is "eos", "stop" (a stop string), "length" (MaxTokens) or
	// "cancelled" (context cancelled; Generate also returns the error).
	StopReason string
}

func (g *Generation) String() string { return g.Text }

// MIMEBundle shows the prompt and the generated text.
func (g *Generation) MIMEBundle() map[string]any {
	h := fmt.Sprintf("<div><span style=\"color:#888\">%s</span><b>%s</b> <small>(%d tokens, %s)</small></div>",
		html.EscapeString(g.Prompt), html.EscapeString(g.Text), len(g.Tokens), g.StopReason)
	return map[string]any{"text/plain": g.Prompt + g.Text, "text/html": h}
}

// ErrNoTokenizer is returned by text generation on a model folder without
// tokenizer.json (use GenerateTokens).
var ErrNoTokenizer = errors.New("engine: the model has no tokenizer.json; use token ids (GenerateTokens, Forward)")

// EncodePrompt turns a prompt into tokens: as a chat turn when chat is set,
// else as plain text (no BOS is added, as DeepSeek's add_bos_token is false;
// an empty prompt becomes BOS alone).
func (m *Model) EncodePrompt(prompt string, chat, thinking bool) ([]int, error) {
	if m.tok == nil {
		return nil, ErrNoTokenizer
	}
	if chat {
		return m.tok.EncodeChat([]tokenizer.Message{{Role: "user", Content: prompt}},
			tokenizer.ChatOptions{AddGenerationPrompt: true, Thinking: thinking}), nil
	}
	ids := m.tok.Encode(prompt)
	if len(ids) == 0 {
		ids = []int{m.tok.BOS()}
	}
	return ids, nil
}

// Generate continues prompt. The context cancels it within one decode step.
func (m *Model) Generate(ctx context.Context, prompt string, opt GenerateOptions) (*Generation, error) {
	ids, err := m.EncodePrompt(prompt, opt.Chat, opt.Thinking)
	if err != nil {
		return nil, err
	}
	g, err := m.GenerateTokens(ctx, ids, opt)
	if g != nil {
		g.Prompt = prompt
	}
	return g, err
}

// GenerateBatch generates for several prompts at once: the prompts are
// prefilled together and every decode step runs all unfinished sequences in
// one batched pass. Result i equals Generate(ctx, prompts[i], opt) with
// Seed = opt.Seeds[i] (or opt.Seed when Seeds is nil). OnToken receives the
// tokens of all sequences interleaved; OnBatchToken says which sequence each
// belongs to.
func (m *Model) GenerateBatch(ctx context.Context, prompts []string, opt GenerateOptions) ([]*Generation, error) {
	ids := make([][]int, len(prompts))
	for i, p := range prompts {
		var err error
		if ids[i], err = m.EncodePrompt(p, opt.Chat, opt.Thinking); err != nil {
			return nil, err
		}
	}
	gens, err := m.generate(ctx, ids, opt)
	for i, g := range gens {
		if g != nil {
			g.Prompt = prompts[i]
		}
	}
	return gens, err
}

// eosSet is every id that ends generation: the tokenizer's EOS, config.json's
// eos_token_id and generation_config.json's eos_token_id (an id or a list).
func (m *Model) eosSet() map[int]bool {
	set := map[int]bool{m.net.Cfg.EOSTokenID: true}
	if m.tok != nil {
		set[m.tok.EOS()] = true
	}
	switch v := m.gen.EOSTokenID.(type) {
	case float64:
		set[int(v)] = true
	case []any:
		for _, x := range v {
			if f, ok := x.(float64); ok {
				set[int(f)] = true
			}
		}
	}
	return set
}

// GenerateTokens is Generate on token ids; it works without a tokenizer
// (Text then stays empty and Stop is ignored).
func (m *Model) GenerateTokens(ctx context.Context, prompt []int, opt GenerateOptions) (*Generation, error) {
	gens, err := m.generate(ctx, [][]int{prompt}, opt)
	if len(gens) == 0 {
		return nil, err
	}
	return gens[0], err
}

// genSeq is the per-sequence state of a (batched) generation.
type genSeq struct {
	g      *Generation
	st     *dsv4.State
	rng    *rand.Rand
	seen   map[int]bool
	dec    *tokenizer.StreamDecoder
	text   strings.Builder
	logits []float32
	done   bool
}

func (m *Model) generate(ctx context.Context, prompts [][]int, opt GenerateOptions) ([]*Generation, error) {
	rc := runConfig{ivs: opt.Interventions}
	if err := checkInterventions(rc.ivs, m); err != nil {
		return nil, err
	}
	maxTok := opt.MaxTokens
	if maxTok <= 0 {
		maxTok = 128
	}
	B := len(prompts)
	if opt.Seeds != nil && len(opt.Seeds) != B {
		return nil, fmt.Errorf("engine: generate: GenerateOptions.Seeds has %d seeds for %d prompts", len(opt.Seeds), B)
	}
	seqs := make([]*genSeq, B)
	gens := make([]*Generation, B)
	batch := make([]dsv4.Seq, 0, B)
	for b, p := range prompts {
		if len(p) == 0 {
			return nil, fmt.Errorf("engine: generate: prompt %d is empty", b)
		}
		seed := opt.Seed
		if opt.Seeds != nil {
			seed = opt.Seeds[b]
		}
		s := &genSeq{g: &Generation{PromptTokens: append([]int(nil), p...)}, st: m.net.NewState(),
			rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), seen: map[int]bool{}}
		for _, t := range p {
			s.seen[t] = true
		}
		if m.tok != nil {
			s.dec = m.tok.NewDecoder()
		}
		seqs[b], gens[b] = s, s.g
		batch = append(batch, dsv4.Seq{State: s.st, Tokens: p, Want: dsv4.LogitsLast,
			Obs: &observer{cfg: &rc, seq: b, phase: Prefill, seqLen: len(p)}})
	}
	res, err := m.net.RunBatch(ctx, batch, 0)
	if err != nil {
		return nil, fmt.Errorf("engine: generate: prefill: %w", err)
	}
	for b, r := range res {
		seqs[b].logits = r.Logits[0]
	}
	sm := newSampler(m.VocabSize())
	eos := m.eosSet()
	finish := func() {
		for _, s := range seqs {
			if s.dec != nil && s.g.StopReason != "stop" {
				s.text.WriteString(s.dec.Flush())
			}
			s.g.Text = s.text.String()
		}
	}
	for {
		if err := ctx.Err(); err != nil {
			for _, s := range seqs {
				if !s.done {
					s.g.StopReason = "cancelled"
				}
			}
			finish()
			return gens, err
		}
		batch = batch[:0]
		for b, s := range seqs {
			if s.done {
				continue
			}
			id := sm.sample(s.logits, opt, s.seen, s.rng)
			if eos[id] && !opt.IgnoreEOS {
				s.g.StopReason, s.done = "eos", true
				continue
			}
			s.g.Tokens = append(s.g.Tokens, id)
			s.seen[id] = true
			piece := ""
			if s.dec != nil {
				piece = s.dec.Add(id)
				s.text.WriteString(piece)
			}
			for _, cb := range []func() error{
				func() error {
					if opt.OnToken == nil {
						return nil
					}
					return opt.OnToken(id, piece)
				},
				func() error {
					if opt.OnBatchToken == nil {
						return nil
					}
					return opt.OnBatchToken(b, id, piece)
				},
			} {
				if err := cb(); err != nil {
					s.g.StopReason = "callback"
					finish()
					return gens, err
				}
			}
			if cut, ok := findStop(s.text.String(), opt.Stop); ok {
				t := s.text.String()[:cut]
				s.text.Reset()
				s.text.WriteString(t)
				s.g.StopReason, s.done = "stop", true
				continue
			}
			if len(s.g.Tokens) >= maxTok {
				s.g.StopReason, s.done = "length", true
				continue
			}
			batch = append(batch, dsv4.Seq{State: s.st, Tokens: []int{id}, Want: dsv4.LogitsLast,
				Obs: &observer{cfg: &rc, seq: b, phase: Decode, seqLen: s.st.Pos + 1}})
		}
		if len(batch) == 0 {
			break
		}
		res, err := m.net.RunBatch(ctx, batch, 0)
		if err != nil {
			if ctx.Err() != nil {
				continue // reported as cancelled at the top of the loop
			}
			finish()
			return gens, fmt.Errorf("engine: generate: %w", err)
		}
		j := 0
		for _, s := range seqs {
			if !s.done {
				s.logits = res[j].Logits[0]
				j++
			}
		}
	}
	finish()
	return gens, nil
}

func findStop(text string, stops []string) (int, bool) {
	best := -1
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text, s); i >= 0 && (best < 0 || i < best) {
			best = i
		}
	}
	return best, best >= 0
}

type sampler struct {
	buf  []float64
	idx  []int
	prob []float64
}

func newSampler(v int) *sampler {
	return &sampler{buf: make([]float64, v), idx: make([]int, v), prob: make([]float64, v)}
}

// sample picks the next token from logits under opt.
func (s *sampler) sample(logits []float32, opt GenerateOptions, seen map[int]bool, rng *rand.Rand) int {
	x := s.buf[:len(logits)]
	for i, v := range logits {
		x[i] = float64(v)
	}
	if p := float64(opt.RepetitionPenalty); p > 0 && p != 1 {
		for t := range seen {
			if t < len(x) {
				if x[t] > 0 {
					x[t] /= p
				} else {
					x[t] *= p
				}
			}
		}
	}
	if opt.Temperature <= 0 {
		best := 0
		for i, v := range x {
			if v > x[best] {
				best = i
			}
		}
		return best
	}
	idx := s.idx[:len(x)]
	for i := range idx {
		idx[i] = i
	}
	t := float64(opt.Temperature)
	n := len(idx)
	if opt.TopK > 0 || (opt.TopP > 0 && opt.TopP < 1) {
		sort.Slice(idx, func(a, b int) bool {
			if x[idx[a]] != x[idx[b]] {
				return x[idx[a]] > x[idx[b]]
			}
			return idx[a] < idx[b]
		})
		if opt.TopK > 0 && opt.TopK < n {
			n = opt.TopK
		}
	}
	mx := math.Inf(-1)
	for _, i := range idx[:n] {
		mx = math.Max(mx, x[i]/t)
	}
	prob := s.prob[:n]
	var z float64
	for j, i := range idx[:n] {
		prob[j] = math.Exp(x[i]/t - mx)
		z += prob[j]
	}
	for j := range prob {
		prob[j] /= z
	}
	if opt.TopP > 0 && opt.TopP < 1 {
		var c float64
		for j := range prob {
			c += prob[j]
			if c >= float64(opt.TopP) {
				n = j + 1
				break
			}
		}
		z = 0
		for _, p := range prob[:n] {
			z += p
		}
		for j := range prob[:n] {
			prob[j] /= z
		}
	}
	r := rng.Float64()
	for j, p := range prob[:n] {
		r -= p
		if r < 0 {
			return idx[j]
		}
	}
	return idx[n-1]
}
