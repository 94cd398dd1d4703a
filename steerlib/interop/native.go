package interop

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/steerlib"
)

// nativeMeta is the JSON stored under the "steerbook.vector" metadata key.
type nativeMeta struct {
	Format    int                        `json:"format"`
	Name      string                     `json:"name"`
	Prov      steerlib.Provenance        `json:"provenance"`
	Norms     map[int]steerlib.NormStats `json:"norms"`
	ClassProj map[int][2]float64         `json:"class_projections"`
	Hash      string                     `json:"vector_sha256"`
}

// Save writes v in Steerbook's native format: one safetensors file with an
// F64 tensor "layer.L" per layer (L the 0-based block, "layer.final" for
// final/logits vectors) and the provenance, norm statistics and class
// projections as JSON under the metadata key "steerbook.vector". Float64 all
// the way, so Load gives back exactly the same vector.
func Save(path string, v *steerlib.Vector) error {
	var ts []safetensors.WriteTensor
	for _, l := range v.Layers() {
		d := v.Dir(l)
		b := make([]byte, 8*len(d))
		for i, x := range d {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
		}
		name := "layer." + strconv.Itoa(l)
		if l < 0 {
			name = "layer.final"
		}
		ts = append(ts, safetensors.WriteTensor{Name: name, DType: safetensors.F64, Shape: []int{len(d)}, Data: b})
	}
	meta, err := json.Marshal(nativeMeta{Format: 1, Name: v.Name, Prov: v.Prov, Norms: v.Norms, ClassProj: v.ClassProj, Hash: v.Hash()})
	if err != nil {
		return fmt.Errorf("interop: save %s: %w", path, err)
	}
	if err := safetensors.Write(path, ts, map[string]string{"steerbook.vector": string(meta), "format": "steerbook-vector"}); err != nil {
		return fmt.Errorf("interop: save vector %q: %w", v.Name, err)
	}
	return nil
}

// Load reads a vector written by Save and checks its tensor hash.
func Load(path string) (*steerlib.Vector, error) {
	c, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("interop: load vector: %w", err)
	}
	defer c.Close()
	raw, ok := c.Metadata()["steerbook.vector"]
	if !ok {
		return nil, fmt.Errorf("interop: %s has no steerbook.vector metadata (not a Steerbook vector file)", path)
	}
	var m nativeMeta
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("interop: %s: metadata steerbook.vector: %w", path, err)
	}
	v := &steerlib.Vector{Name: m.Name, Prov: m.Prov, Dirs: map[int][]float64{}, Norms: map[int]steerlib.NormStats{}, ClassProj: map[int][2]float64{}}
	for l, n := range m.Norms {
		v.Norms[l] = n
	}
	for l, p := range m.ClassProj {
		v.ClassProj[l] = p
	}
	for _, name := range c.Names() {
		ls, ok := strings.CutPrefix(name, "layer.")
		if !ok {
			continue
		}
		l := -1
		if ls != "final" {
			if l, err = strconv.Atoi(ls); err != nil {
				return nil, fmt.Errorf("interop: %s: tensor %q: bad layer", path, name)
			}
		}
		t, _ := c.Tensor(name)
		if t.DType != safetensors.F64 {
			return nil, fmt.Errorf("interop: %s: tensor %s is %s, want F64", path, name, t.DType)
		}
		d := make([]float64, len(t.Data)/8)
		for i := range d {
			d[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
		v.Dirs[l] = d
	}
	if h := v.Hash(); h != m.Hash {
		return nil, fmt.Errorf("interop: %s: tensor hash %s does not match the recorded %s", path, h, m.Hash)
	}
	return v, nil
}
