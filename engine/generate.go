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
	// Stop ends generation when the text contains one of these strings; the
	// text is cut before it.
	Stop      []string
	IgnoreEOS bool
	// OnToken streams each new token with its text (UTF-8 safe: a character
	// split across tokens arrives whole with the token that completes it).
	// Returning an error stops generation with that error.
	OnToken       func(id int, text string) error
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

// GenerateBatch generates for several prompts; result i equals
// Generate(ctx, prompts[i], opt) (each prompt uses the same seed).
func (m *Model) GenerateBatch(ctx context.Context, prompts []string, opt GenerateOptions) ([]*Generation, error) {
	out := make([]*Generation, len(prompts))
	for i, p := range prompts {
		g, err := m.Generate(ctx, p, opt)
		out[i] = g
		if err != nil {
			return out, fmt.Errorf("engine: generate batch: prompt %d: %w", i, err)
		}
	}
	return out, nil
}

func (m *Model) eos() int {
	if m.tok != nil {
		return m.tok.EOS()
	}
	return m.net.Cfg.EOSTokenID
}

// GenerateTokens is Generate on token ids; it works without a tokenizer
// (Text then stays empty and Stop is ignored).
func (m *Model) GenerateTokens(ctx context.Context, prompt []int, opt GenerateOptions) (*Generation, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("engine: generate: empty prompt")
	}
	maxTok := opt.MaxTokens
	if maxTok <= 0 {
		maxTok = 128
	}
	g := &Generation{PromptTokens: append([]int(nil), prompt...)}
	sess := m.NewSession(WithInterventions(opt.Interventions...))
	ls, err := sess.Prefill(ctx, prompt)
	if err != nil {
		return nil, err
	}
	logits := ls[0]
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	seen := map[int]bool{}
	for _, t := range prompt {
		seen[t] = true
	}
	var dec *tokenizer.StreamDecoder
	if m.tok != nil {
		dec = m.tok.NewDecoder()
	}
	var text strings.Builder
	s := newSampler(m.VocabSize())
	eos := m.eos()
	for {
		if err := ctx.Err(); err != nil {
			g.StopReason = "cancelled"
			g.Text = text.String()
			return g, err
		}
		id := s.sample(logits, opt, seen, rng)
		if id == eos && !opt.IgnoreEOS {
			g.StopReason = "eos"
			break
		}
		g.Tokens = append(g.Tokens, id)
		seen[id] = true
		piece := ""
		if dec != nil {
			piece = dec.Add(id)
			text.WriteString(piece)
		}
		if opt.OnToken != nil {
			if err := opt.OnToken(id, piece); err != nil {
				g.StopReason = "callback"
				g.Text = text.String()
				return g, err
			}
		}
		if cut, ok := findStop(text.String(), opt.Stop); ok {
			t := text.String()[:cut]
			text.Reset()
			text.WriteString(t)
			g.StopReason = "stop"
			break
		}
		if len(g.Tokens) >= maxTok {
			g.StopReason = "length"
			break
		}
		if logits, err = sess.Decode(ctx, id); err != nil {
			g.Text = text.String()
			if ctx.Err() != nil {
				g.StopReason = "cancelled"
				return g, ctx.Err()
			}
			return g, err
		}
	}
	if dec != nil && g.StopReason != "stop" {
		text.WriteString(dec.Flush())
	}
	g.Text = text.String()
	return g, nil
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
