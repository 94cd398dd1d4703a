package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/steerbook/steerbook/engine/dsv4"
)

// Random builds a model of the given configuration with seeded random weights
// in the release's stored formats (FP8 attention, FP4 experts, BF16 rest),
// multiplied by the same compressed kernels as a loaded checkpoint. It has no
// tokenizer. Benchmarks and architecture experiments use it.
func Random(cfg dsv4.Config, seed uint64) (*Model, error) {
	src := &dsv4.RandomSource{Cfg: cfg, Seed: seed, Quantized: true}
	cs := &ckptSource{}
	src.NewLinear = cs.Linear
	net, err := dsv4.Load(cfg, src, dsv4.DefaultOptions())
	if err != nil {
		return nil, fmt.Errorf("engine: random model: %w", err)
	}
	b, _ := json.Marshal(cfg)
	h := sha256.Sum256(append(b, fmt.Sprintf("|random seed %d", seed)...))
	return &Model{net: net, dir: fmt.Sprintf("random(seed %d)", seed), hash: hex.EncodeToString(h[:])}, nil
}
