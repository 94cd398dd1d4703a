package interop

import (
	"fmt"

	"github.com/steerbook/steerbook/engine"
)

// Layer-index conventions of other tools, mapped to steerlib's (site,
// 0-based block) pairs. Each mapping is exact: the two name the same tensor.

// FromHFHiddenState maps Hugging Face's output_hidden_states index i to a
// steerlib site: hidden_states[0] is the embedding output (block_in of
// layer 0) and hidden_states[i] for i ≥ 1 is the output of block i−1
// (block_out[i−1]). For DeepSeek-V4 the tensor is the four-stream state;
// read it with Streams "mean" or "all" as the other tool does.
func FromHFHiddenState(i, numLayers int) (engine.Site, int, error) {
	switch {
	case i == 0:
		return engine.SiteBlockIn, 0, nil
	case i >= 1 && i <= numLayers:
		return engine.SiteBlockOut, i - 1, nil
	}
	return "", 0, fmt.Errorf("interop: hidden_states index %d outside [0, %d]", i, numLayers)
}

// ToHFHiddenState is the inverse of FromHFHiddenState (block_in[L] for L ≥ 1
// is the same tensor as block_out[L−1], index L).
func ToHFHiddenState(site engine.Site, layer int) (int, error) {
	switch site {
	case engine.SiteBlockIn:
		return layer, nil
	case engine.SiteBlockOut:
		return layer + 1, nil
	}
	return 0, fmt.Errorf("interop: %s is not a residual-stream state (hidden_states holds block inputs/outputs only)", site)
}

// FromLlamaCppDirection maps llama.cpp's direction.N (N ≥ 1) to steerlib:
// it is added to the output of block N (anchors §4.2).
func FromLlamaCppDirection(n int) (engine.Site, int, error) {
	if n < 1 {
		return "", 0, fmt.Errorf("interop: direction.%d: llama.cpp directions start at 1", n)
	}
	return engine.SiteBlockOut, n, nil
}

// FromIBMLayer maps IBM activation-steering's layer index (it edits the
// input of decoder layer L) to steerlib: block_in[L].
func FromIBMLayer(l int) (engine.Site, int) { return engine.SiteBlockIn, l }
