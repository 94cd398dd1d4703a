//go:build insitu

// The in-situ check runs the golden checkpoints through engine/dsv4 with
// these kernels and compares with the reference logits. It depends on the
// ENGINE package, so it builds only with -tags insitu:
//
//	go test -tags insitu ./engine/tensor -run InSitu -v
//	go test -tags insitu,purego ./engine/tensor -run InSitu -v
package tensor_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine/dsv4"
	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/engine/tensor"
	"github.com/steerbook/steerbook/internal/golden"
)

// src is a dsv4.Source over a safetensors checkpoint using FromTensor
// (DENSE=1 uses dsv4's own dequantise-to-f32 path instead, for comparison).
type src struct{ ck *safetensors.Checkpoint }

func (s src) Names() []string { return s.ck.Names() }
func (s src) Tensor(name string) (*dsv4.TensorData, error) {
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
func (s src) Linear(w, scale *dsv4.TensorData, out, in int) (dsv4.Linear, error) {
	if os.Getenv("DENSE") != "" {
		return dsv4.DequantLinear(w, scale, out, in)
	}
	return tensor.FromTensor(toST(w), toST(scale))
}

// TestInSituGolden demands every prefill position within 1e-3 of the
// reference and reports the worst.
func TestInSituGolden(t *testing.T) {
	g := golden.Dir(t)
	var exp struct {
		Sequences []struct {
			Tokens  []int  `json:"tokens"`
			Prefill string `json:"prefill_logits"`
		} `json:"sequences"`
	}
	b, _ := os.ReadFile(filepath.Join(g, "expected.json"))
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	ex, err := safetensors.Open(filepath.Join(g, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range []string{"bf16", "fp8"} {
		cb, _ := os.ReadFile(filepath.Join(g, sub, "config.json"))
		cfg, err := dsv4.ParseConfig(cb)
		if err != nil {
			t.Fatal(err)
		}
		ck, err := safetensors.Open(filepath.Join(g, sub))
		if err != nil {
			t.Fatal(err)
		}
		m, err := dsv4.Load(cfg, src{ck}, dsv4.DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		V := cfg.VocabSize
		var worst float64
		over3, over4, total := 0, 0, 0
		for si, s := range exp.Sequences {
			et, _ := ex.Tensor(s.Prefill)
			v, _ := et.Float32()
			for p := range s.Tokens {
				r, err := m.Extend(m.NewState(), s.Tokens[:p+1], dsv4.LogitsLast, nil)
				if err != nil {
					t.Fatal(err)
				}
				var d float64
				for i := 0; i < V; i++ {
					d = math.Max(d, math.Abs(float64(r.Logits[0][i]-v[p*V+i])))
				}
				total++
				if d > 1e-3 {
					over3++
					t.Errorf("%s seq %d pos %d: %g", sub, si, p, d)
				}
				if d > 1e-4 {
					over4++
				}
				worst = math.Max(worst, d)
			}
		}
		t.Logf("%s: %d positions, %d > 1e-4, %d > 1e-3, worst %g", sub, total, over4, over3, worst)
	}
}
