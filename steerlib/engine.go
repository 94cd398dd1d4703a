package steerlib

import (
	"context"
	"fmt"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/progress"
)

// EngineModel adapts an *engine.Model to steerlib's Model, Generator and
// Decoder interfaces: hooks become engine.WithHook options, generation runs
// an engine.Session greedily with the hooks installed for prefill and decode.
type EngineModel struct {
	M *engine.Model
}

// Engine wraps m for steerlib. m must have a tokenizer for text datasets.
func Engine(m *engine.Model) *EngineModel { return &EngineModel{M: m} }

// Encode tokenizes text with the model's tokenizer (special tokens matched
// first, no BOS added).
func (e *EngineModel) Encode(text string) []int {
	if t := e.M.Tokenizer(); t != nil {
		return t.Encode(text)
	}
	return nil
}

// BOS is the beginning-of-sequence id (used by Format.AddBOS).
func (e *EngineModel) BOS() int {
	if t := e.M.Tokenizer(); t != nil {
		return t.BOS()
	}
	return e.M.Config().BOSTokenID
}

// Decode turns ids back into text.
func (e *EngineModel) Decode(ids []int) string {
	if t := e.M.Tokenizer(); t != nil {
		return t.Decode(ids)
	}
	return fmt.Sprint(ids)
}

// NumLayers is the model's block count.
func (e *EngineModel) NumLayers() int { return e.M.NumLayers() }

// Dim is the hidden size D.
func (e *EngineModel) Dim() int { return e.M.Dim() }

// Hash identifies the model's weights (recorded in vector provenance).
func (e *EngineModel) Hash() string { return e.M.Hash() }

func hookOpts(hooks []Hook) []engine.RunOption {
	opts := make([]engine.RunOption, 0, len(hooks)+1)
	for _, h := range hooks {
		opts = append(opts, engine.WithHook(h.Sel, h.Fn))
	}
	return opts
}

// Forward runs m.Forward with the hooks.
func (e *EngineModel) Forward(ctx context.Context, seqs [][]int, hooks []Hook, all bool) ([][][]float32, error) {
	if e.M.Tokenizer() == nil {
		for i, s := range seqs {
			if len(s) == 0 {
				return nil, fmt.Errorf("steerlib: sequence %d is empty (the model has no tokenizer)", i)
			}
		}
	}
	mode := engine.LogitsLast
	if all {
		mode = engine.LogitsAll
	}
	out, err := e.M.Forward(ctx, seqs, append(hookOpts(hooks), engine.WithLogits(mode))...)
	if err != nil {
		return nil, err
	}
	return out.Logits, nil
}

// ForwardHooksUpTo runs the hooks through block deepest only, without the
// head, using the engine's Capture (which computes only the blocks it
// needs); the capture itself records one last-position row of that block.
func (e *EngineModel) ForwardHooksUpTo(ctx context.Context, seqs [][]int, hooks []Hook, deepest int) error {
	_, err := e.M.Capture(ctx, seqs, engine.CaptureRequest{Sites: []engine.Site{engine.SiteBlockOut}, Layers: []int{deepest},
		Positions: engine.LastPosition(), SumOnly: true}, hookOpts(hooks)...)
	return err
}

// Generate decodes greedily (argmax, lowest id on ties, as the engine's
// greedy sampler) up to maxNew tokens or EOS, with the hooks active in
// prefill and decode.
func (e *EngineModel) Generate(ctx context.Context, prompt []int, maxNew int, hooks []Hook) ([]int, error) {
	s := e.M.NewSession(hookOpts(hooks)...)
	ls, err := s.Prefill(ctx, prompt)
	if err != nil {
		return nil, err
	}
	logits := ls[len(ls)-1]
	eos := e.M.Config().EOSTokenID
	if t := e.M.Tokenizer(); t != nil {
		eos = t.EOS()
	}
	var out []int
	for len(out) < maxNew {
		best := 0
		for i, x := range logits {
			if x > logits[best] {
				best = i
			}
		}
		if best == eos {
			break
		}
		out = append(out, best)
		if len(out) == maxNew {
			break
		}
		if logits, err = s.Decode(ctx, best); err != nil {
			return out, err
		}
	}
	return out, nil
}

// Interventions converts the steering into engine interventions, for
// engine.GenerateOptions.Interventions (sampling, stop strings, streaming)
// or engine.WithInterventions. Each call builds fresh per-run state; use the
// result for one generation or session.
func (s *Steering) Interventions() ([]engine.Intervention, error) {
	hooks, err := s.Hooks()
	if err != nil {
		return nil, err
	}
	out := make([]engine.Intervention, len(hooks))
	for i, h := range hooks {
		h := h
		out[i] = engine.Intervention{
			Name: "steerlib", Site: h.Sel.Site, Layers: h.Sel.Layers, Phase: h.Sel.Phase, Positions: engine.AllPositions(),
			// The engine calls Apply per selected row; steerlib's hooks
			// work per event (they need every row of a prefill to know the
			// prompt end), so the whole event is handled at its first row.
			Apply: func(e *engine.Event, row int) {
				if row == 0 {
					h.Fn(e)
				}
			},
		}
	}
	return out, nil
}

// InterventionsFor is Interventions after checking the steering against m
// (vector widths and layers), so a mismatch is an error instead of a
// steering that silently does nothing.
func (s *Steering) InterventionsFor(m *engine.Model) ([]engine.Intervention, error) {
	if err := s.Check(Engine(m)); err != nil {
		return nil, err
	}
	return s.Interventions()
}

// Engine returns the wrapped engine model.
func (e *EngineModel) Engine() *engine.Model { return e.M }

// Sample generates a continuation of each prompt (rendered with f and
// tokenized by m) through the engine's own sampler — temperature, top-k/p,
// repetition penalty, stop strings as in opt; prompt i samples with seed
// opt.Seed+i, so the prompts are independent draws (one seed for all would
// draw the k-th token of every prompt with the same number) — with the steering s
// (nil: unsteered) installed as fresh interventions for every prompt. m must
// be backed by an engine model (Engine(model)). The steering is checked
// against the model first. It reports progress per prompt.
func Sample(ctx context.Context, m Model, prompts []string, f Format, s *Steering, opt engine.GenerateOptions) ([]*engine.Generation, error) {
	eb, ok := m.(interface{ Engine() *engine.Model })
	if !ok {
		return nil, fmt.Errorf("steerlib: Sample needs an engine-backed model (steerlib.Engine(m))")
	}
	em := eb.Engine()
	if s != nil {
		if err := s.Check(m); err != nil {
			return nil, err
		}
	}
	step, done := progress.Loop(ctx, "sample", len(prompts))
	defer done()
	out := make([]*engine.Generation, len(prompts))
	for i, p := range prompts {
		tk, err := f.Tokenize(m, Example{Prompt: p, Mark: -1})
		if err != nil {
			return nil, fmt.Errorf("steerlib: sample prompt %d: %w", i, err)
		}
		o := opt
		o.Seed = opt.Seed + uint64(i)
		if s != nil {
			ivs, err := s.Interventions()
			if err != nil {
				return nil, err
			}
			o.Interventions = append(append([]engine.Intervention(nil), opt.Interventions...), ivs...)
		}
		g, err := em.GenerateTokens(quiet(ctx), tk.Tokens, o)
		if err != nil {
			return out, fmt.Errorf("steerlib: sample prompt %d: %w", i, err)
		}
		g.Prompt = p
		out[i] = g
		step()
	}
	return out, nil
}
