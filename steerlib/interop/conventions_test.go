package interop

import (
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

func TestConventions(t *testing.T) {
	for i := 0; i <= 5; i++ {
		s, l, err := FromHFHiddenState(i, 5)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ToHFHiddenState(s, l)
		if err != nil || back != i {
			t.Errorf("hidden_states[%d] → %s[%d] → %d", i, s, l, back)
		}
	}
	if _, _, err := FromHFHiddenState(6, 5); err == nil {
		t.Error("index past the last block accepted")
	}
	// block_in[L] and block_out[L−1] are one tensor: both give index L.
	a, _ := ToHFHiddenState(engine.SiteBlockIn, 3)
	b, _ := ToHFHiddenState(engine.SiteBlockOut, 2)
	if a != b {
		t.Errorf("block_in[3] → %d, block_out[2] → %d", a, b)
	}
	// llama.cpp: FromLlamaCppDirection inverts ControlVectorLayers.
	v := steerlib.NewVector("v", engine.SiteBlockOut, 4, []float64{1})
	idx, _ := ControlVectorLayers(v)
	s, l, _ := FromLlamaCppDirection(idx[4])
	if s != engine.SiteBlockOut || l != 4 {
		t.Errorf("direction.%d → %s[%d]", idx[4], s, l)
	}
	if _, _, err := FromLlamaCppDirection(0); err == nil {
		t.Error("direction.0 accepted")
	}
}
