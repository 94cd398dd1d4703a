package steerlib

import (
	"context"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/progress"
)

// Hook is one engine hook with the selector that says which site visits it
// wants.
type Hook struct {
	Sel engine.Selector
	Fn  engine.Hook
}

// Model is what steerlib needs from a model: tokenization, shapes, and a
// batched forward pass with hooks. Engine adapts an *engine.Model to it;
// tests use small synthetic models with the same sites.
type Model interface {
	Encoder
	NumLayers() int
	Dim() int
	Hash() string
	// Forward runs one batched prefill of seqs with hooks installed (in
	// order) and returns logits per sequence: every position when all is
	// true, else only the last position (a slice of length 1 per sequence).
	Forward(ctx context.Context, seqs [][]int, hooks []Hook, all bool) ([][][]float32, error)
}

// Generator is implemented by models that can decode incrementally with
// hooks active (prefill events have Phase Prefill, decode steps Phase Decode).
// Generation is greedy unless the model says otherwise; it returns the new
// token ids (EOS excluded).
type Generator interface {
	Generate(ctx context.Context, prompt []int, maxNew int, hooks []Hook) ([]int, error)
}

// shallowForwarder is implemented by models that can stop after a given
// block and skip the head (the engine's Capture does this), which makes
// extracting shallow layers cheaper.
type shallowForwarder interface {
	ForwardHooksUpTo(ctx context.Context, seqs [][]int, hooks []Hook, deepest int) error
}

// quietReporter swallows progress, so inner model calls inside a steerlib
// loop do not fight the loop's own progress bar.
type quietReporter struct{}

func (quietReporter) Start(string, int) {}
func (quietReporter) Update(int)        {}
func (quietReporter) Finish()           {}

func quiet(ctx context.Context) context.Context { return progress.WithReporter(ctx, quietReporter{}) }

// Decoder turns token ids back into text; the engine's tokenizer implements it.
type Decoder interface {
	Decode(ids []int) string
}
