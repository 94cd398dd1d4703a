package dsv4

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/steerbook/steerbook/engine/internal/reference"
	"github.com/steerbook/steerbook/internal/golden"
)

// fileSource is a test-only safetensors reader (the engine uses
// engine/safetensors): it reads whole files and dequantises every weight to
// float32 with DequantLinear, so the forward pass is checked independently of
// the compressed kernels.
type fileSource struct {
	tensors map[string]*TensorData
}

func openFileSource(dir string) (*fileSource, error) {
	fs := &fileSource{tensors: map[string]*TensorData{}}
	files := []string{"model.safetensors"}
	if b, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json")); err == nil {
		var idx struct {
			WeightMap map[string]string `json:"weight_map"`
		}
		if err := json.Unmarshal(b, &idx); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		files = nil
		for _, f := range idx.WeightMap {
			if !seen[f] {
				seen[f] = true
				files = append(files, f)
			}
		}
		sort.Strings(files)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return nil, err
		}
		n := binary.LittleEndian.Uint64(b)
		var hdr map[string]json.RawMessage
		if err := json.Unmarshal(b[8:8+n], &hdr); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		data := b[8+n:]
		for name, raw := range hdr {
			if name == "__metadata__" {
				continue
			}
			var h struct {
				DType   string `json:"dtype"`
				Shape   []int  `json:"shape"`
				Offsets [2]int `json:"data_offsets"`
			}
			if err := json.Unmarshal(raw, &h); err != nil {
				return nil, err
			}
			fs.tensors[name] = &TensorData{Name: name, File: f, DType: h.DType, Shape: h.Shape, Data: data[h.Offsets[0]:h.Offsets[1]]}
		}
	}
	return fs, nil
}

func (fs *fileSource) Names() []string {
	var out []string
	for n := range fs.tensors {
		out = append(out, n)
	}
	return out
}

func (fs *fileSource) Tensor(name string) (*TensorData, error) {
	if t, ok := fs.tensors[name]; ok {
		return t, nil
	}
	if t, ok := fs.tensors["model."+name]; ok {
		return t, nil
	}
	return nil, fmt.Errorf("tensor %s: not in checkpoint", name)
}

func (fs *fileSource) Linear(w, s *TensorData, out, in int) (Linear, error) {
	return DequantLinear(w, s, out, in)
}

// goldenDir is ../shared/golden/dsv4-tiny beside the repository root.
func goldenDir(t testing.TB) string { return golden.Dir(t) }

func loadGolden(t testing.TB, sub string, opt Options) *Model {
	cfg, src := goldenConfig(t, sub)
	m, err := Load(cfg, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// goldenSeq is one sequence of DeepSeek's reference logits.
type goldenSeq = reference.Seq

func loadExpected(t testing.TB) (seqs []goldenSeq, decodeFrom int) { return reference.Expected(t) }
