package defaultmodel_test

import (
	"context"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel"
	"github.com/steerbook/steerbook/engine/defaultmodel/eval"
)

func loadDefault(t *testing.T) *engine.Model {
	t.Helper()
	if !defaultmodel.Available() {
		t.Skip("model.safetensors not exported yet")
	}
	m, err := engine.LoadFS(defaultmodel.FS(), ".")
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHeldOutLossNearEntropy is the quick check of the embedded weights that
// also runs under -short: the held-out loss (nats per predicted token, every
// token after BOS) is within eval.MaxLossExcess (10 %) of the generator's
// exact entropy on the same 300 documents. The generation metrics and the
// steering sweep, and the loss on more documents, are the quality gate of
// package eval (TestDefaultModelQuality, go run
// ./engine/defaultmodel/eval/cmd/evalmodel); this test measures with the
// same eval.HeldOutDocs and eval.HeldOutLoss.
func TestHeldOutLossNearEntropy(t *testing.T) {
	m := loadDefault(t)
	docs, err := eval.HeldOutDocs(1, 300)
	if err != nil {
		t.Fatal(err)
	}
	l, err := eval.HeldOutLoss(context.Background(), m, docs, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(l)
	if l.Excess > eval.MaxLossExcess {
		t.Errorf("held-out loss %.4f is more than %.0f%% above the generator entropy %.4f", l.Loss, 100*eval.MaxLossExcess, l.Entropy)
	}
	if l.Loss < 0.95*l.Entropy {
		// a model cannot beat the true distribution by more than sampling noise
		t.Errorf("held-out loss %.4f is implausibly below the entropy %.4f", l.Loss, l.Entropy)
	}
}
