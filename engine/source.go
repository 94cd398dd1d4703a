package engine

import (
	"fmt"
	"strings"

	"github.com/steerbook/steerbook/engine/dsv4"
	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/engine/tensor"
)

// ckptSource adapts a safetensors checkpoint to dsv4.Source: tensors are the
// mapped bytes, and weight matrices stay in their stored format through
// tensor.FromTensor (FP8 and FP4 are dequantised tile by tile inside the
// matrix kernels).
type ckptSource struct {
	ck *safetensors.Checkpoint
	// dense dequantises every weight to float32 (Options.Dense).
	dense bool
}

func (s *ckptSource) Names() []string { return s.ck.Names() }

func (s *ckptSource) Tensor(name string) (*dsv4.TensorData, error) {
	t, err := s.ck.Tensor(name)
	if err != nil {
		return nil, err
	}
	return &dsv4.TensorData{Name: strings.TrimPrefix(t.Name, "model."), File: t.File, DType: string(t.DType), Shape: t.Shape, Data: t.Data}, nil
}

func toST(t *dsv4.TensorData) *safetensors.Tensor {
	if t == nil {
		return nil
	}
	return &safetensors.Tensor{Name: t.Name, File: t.File, DType: safetensors.DType(t.DType), Shape: t.Shape, Data: t.Data}
}

func (s *ckptSource) Linear(w, scale *dsv4.TensorData, out, in int) (dsv4.Linear, error) {
	if s.dense {
		return dsv4.DequantLinear(w, scale, out, in)
	}
	l, err := tensor.FromTensor(toST(w), toST(scale))
	if err != nil {
		return nil, err
	}
	if l.Out() != out || l.In() != in {
		return nil, fmt.Errorf("weight %s in %s: logical shape [%d %d], config implies [%d %d]", w.Name, w.File, l.Out(), l.In(), out, in)
	}
	return l, nil
}
