package dsv4

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
)

// RandomSource is a Source of seeded random weights for a config, generated
// on demand in the release's stored formats (for benchmarks and tests of
// configurations no checkpoint exists for). Matrices are fan-in scaled; with
// Quantized set, attention/shared-expert matrices are FP8 E4M3 with UE8M0
// 128×128 block scales and routed experts packed FP4 with per-32 scales (as in
// DeepSeek-V4-Flash), the rest BF16/F32.
type RandomSource struct {
	Cfg       Config
	Seed      uint64
	Quantized bool
	// NewLinear builds weight matrices (DequantLinear when nil).
	NewLinear func(w, scale *TensorData, out, in int) (Linear, error)

	once  sync.Once
	specs map[string]TensorSpec
	mu    sync.Mutex
	cache map[string]*TensorData
}

func (r *RandomSource) init() {
	r.once.Do(func() {
		r.specs = map[string]TensorSpec{}
		r.cache = map[string]*TensorData{}
		for _, s := range r.Cfg.TensorSpecs() {
			r.specs[s.Name] = s
		}
	})
}

// Names lists the tensors (weights and their scales).
func (r *RandomSource) Names() []string {
	r.init()
	var out []string
	for _, s := range r.Cfg.TensorSpecs() {
		out = append(out, s.Name)
		if r.format(s) != "BF16" && s.Kind == KindMatrix {
			out = append(out, strings.TrimSuffix(s.Name, ".weight")+".scale")
		}
	}
	return out
}

func (r *RandomSource) format(s TensorSpec) string {
	if !r.Quantized || s.Kind != KindMatrix {
		return "BF16"
	}
	if s.Expert {
		return "FP4"
	}
	for _, bf := range []string{"embed.", "head.", "compressor.", "gate.weight", "weights_proj"} {
		if strings.Contains(s.Name, bf) {
			return "BF16"
		}
	}
	return "FP8"
}

func (r *RandomSource) rng(name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(r.Seed, h.Sum64()))
}

// Tensor generates (once) and returns the named tensor.
func (r *RandomSource) Tensor(name string) (*TensorData, error) {
	r.init()
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.cache[name]; ok {
		return t, nil
	}
	scale := strings.HasSuffix(name, ".scale")
	wname := name
	if scale {
		wname = strings.TrimSuffix(name, ".scale") + ".weight"
	}
	s, ok := r.specs[wname]
	if !ok || (scale && r.format(s) == "BF16") {
		return nil, fmt.Errorf("tensor %s: not in the random checkpoint", name)
	}
	t := r.generate(s, scale)
	r.cache[name] = t
	return t, nil
}

// Linear builds a weight matrix with NewLinear.
func (r *RandomSource) Linear(w, scale *TensorData, out, in int) (Linear, error) {
	if r.NewLinear != nil {
		return r.NewLinear(w, scale, out, in)
	}
	return DequantLinear(w, scale, out, in)
}

func (r *RandomSource) generate(s TensorSpec, scale bool) *TensorData {
	g := r.rng(s.Name + map[bool]string{true: "#scale"}[scale])
	t := &TensorData{Name: s.Name, File: "random", Shape: s.Shape}
	n := 1
	for _, d := range s.Shape {
		n *= d
	}
	in := s.Shape[len(s.Shape)-1]
	ue8m0 := func(v float64) byte { return byte(127 + int(math.Round(math.Log2(v)))) }
	switch {
	case scale && r.format(s) == "FP8":
		t.Name = strings.TrimSuffix(s.Name, ".weight") + ".scale"
		t.DType, t.Shape = "F8_E8M0", []int{(s.Shape[0] + 127) / 128, (in + 127) / 128}
		t.Data = make([]byte, t.NumElements())
		for i := range t.Data {
			t.Data[i] = ue8m0(1 / math.Sqrt(float64(in)))
		}
	case scale: // FP4
		t.Name = strings.TrimSuffix(s.Name, ".weight") + ".scale"
		t.DType, t.Shape = "F8_E8M0", []int{s.Shape[0], in / 32}
		t.Data = make([]byte, t.NumElements())
		for i := range t.Data {
			t.Data[i] = ue8m0(0.5 / math.Sqrt(float64(in)))
		}
	case s.Kind == KindMatrix && r.format(s) == "FP8":
		// |w| in [1/8, 2) before the scale: exponent field 4…7, any mantissa.
		t.DType = "F8_E4M3"
		t.Data = make([]byte, n)
		for i := range t.Data {
			b := g.Uint32()
			t.Data[i] = byte(b&0x80) | byte(4+(b>>8)%4)<<3 | byte(b>>16)&7
		}
	case s.Kind == KindMatrix && r.format(s) == "FP4":
		t.DType, t.Shape = "I8", []int{s.Shape[0], in / 2}
		t.Data = make([]byte, n/2)
		for i := range t.Data {
			t.Data[i] = byte(g.Uint32())
		}
	case s.Kind == KindMatrix || s.Kind == KindVector:
		t.DType = "BF16"
		t.Data = make([]byte, 2*n)
		sd := 1 / math.Sqrt(float64(in))
		for i := 0; i < n; i++ {
			v := float32(g.NormFloat64() * sd)
			if s.Kind == KindVector {
				v = 1 + float32(g.NormFloat64()*0.1)
			}
			binary.LittleEndian.PutUint16(t.Data[2*i:], uint16(math.Float32bits(v)>>16))
		}
	case s.Kind == KindF32:
		t.DType = "F32"
		t.Data = make([]byte, 4*n)
		for i := 0; i < n; i++ {
			var v float64
			switch {
			case strings.HasSuffix(s.Name, "_fn"):
				v = g.NormFloat64() * 0.02
			case strings.HasSuffix(s.Name, "_scale"):
				v = 1 + g.NormFloat64()*0.1
			default:
				v = g.NormFloat64() * 0.5
			}
			binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(float32(v)))
		}
	case s.Kind == KindIndex:
		t.DType = "I64"
		t.Data = make([]byte, 8*n)
		k, E := s.Shape[1], r.Cfg.NRoutedExperts
		for row := 0; row < s.Shape[0]; row++ {
			perm := g.Perm(E)
			for j := 0; j < k; j++ {
				binary.LittleEndian.PutUint64(t.Data[8*(row*k+j):], uint64(perm[j]))
			}
		}
	}
	return t
}
