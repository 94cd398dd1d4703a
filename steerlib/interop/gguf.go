package interop

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

// GGUF value types (gguf.h).
const (
	ggufUint8   = 0
	ggufInt8    = 1
	ggufUint16  = 2
	ggufInt16   = 3
	ggufUint32  = 4
	ggufInt32   = 5
	ggufFloat32 = 6
	ggufBool    = 7
	ggufString  = 8
	ggufArray   = 9
	ggufUint64  = 10
	ggufInt64   = 11
	ggufFloat64 = 12

	ggmlTypeF32   = 0
	ggufAlignment = 32
	ggufVersion   = 3
)

// ProvenancePrefix is the GGUF key prefix of Steerbook's own metadata;
// llama.cpp ignores every key, and repeng/EasySteer ignore unknown ones.
const ProvenancePrefix = "steerbook."

// GGUFOptions tunes WriteControlVector.
type GGUFOptions struct {
	// ModelHint is controlvector.model_hint, the llama.cpp architecture name
	// (default "deepseek4"); repeng's importer requires it.
	ModelHint string
	// Strength scales the directions written (default Raw(1): the vector as
	// stored). A relative strength is converted per layer with the vector's
	// norm statistics (unit direction × value × mean norm), since llama.cpp
	// only knows raw units; the conversion is recorded in the metadata.
	Strength steerlib.Strength
	// SkipLayer0 drops layer 0 instead of failing: llama.cpp cannot steer
	// the output of block 0.
	SkipLayer0 bool
}

// ControlVectorLayers maps a steerlib vector to llama.cpp direction indices.
//
// llama.cpp adds direction.N (N ≥ 1) to the output of block N (0-based), the
// tensor steerlib calls block_out[N], broadcast to all four hyper-connection
// streams for DeepSeek-V4 (anchors §4.2). So:
//
//	block_out[L] → direction.L        (L ≥ 1)
//	block_in[L]  → direction.(L−1)    (block_in[L] is block_out[L−1]; L ≥ 2)
//
// Other sites have no exact llama.cpp equivalent and are rejected, as are
// per-stream (4·D-wide) vectors: llama.cpp only broadcasts.
func ControlVectorLayers(v *steerlib.Vector) (map[int]int, error) {
	out := map[int]int{}
	site := v.Prov.Site
	for _, l := range v.Layers() {
		var n int
		switch site {
		case engine.SiteBlockOut:
			n = l
		case engine.SiteBlockIn:
			n = l - 1
		default:
			return nil, fmt.Errorf("interop: vector %q was read at %s; a llama.cpp control vector is added at block output (block_out, or block_in of the next block) — re-extract there", v.Name, site)
		}
		out[l] = n
	}
	return out, nil
}

// WriteControlVector writes v as a llama.cpp GGUF control vector, with the
// standard keys (general.architecture = "controlvector",
// controlvector.model_hint, controlvector.layer_count) and Steerbook's
// provenance under ProvenancePrefix.
func WriteControlVector(path string, v *steerlib.Vector, opt GGUFOptions) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("interop: write control vector %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	if err := EncodeControlVector(w, v, opt); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("interop: write control vector %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("interop: write control vector %s: %w", path, err)
	}
	return f.Close()
}

type ggufKV struct {
	key string
	typ uint32
	val any
}

type ggufTensor struct {
	name string
	data []float32
}

// EncodeControlVector writes the GGUF bytes of WriteControlVector to w.
func EncodeControlVector(w io.Writer, v *steerlib.Vector, opt GGUFOptions) error {
	idx, err := ControlVectorLayers(v)
	if err != nil {
		return err
	}
	if opt.ModelHint == "" {
		opt.ModelHint = "deepseek4"
	}
	if opt.Strength == (steerlib.Strength{}) {
		opt.Strength = steerlib.Raw(1)
	}
	var tensors []ggufTensor
	var layers []int32
	var norms []float32
	for _, l := range v.Layers() {
		n := idx[l]
		if n < 1 {
			if opt.SkipLayer0 {
				continue
			}
			return fmt.Errorf("interop: vector %q layer %d maps to direction.%d; llama.cpp directions start at 1 (block 0's output cannot be steered) — set SkipLayer0 or drop the layer", v.Name, l, n)
		}
		d := v.Dir(l)
		if v.Prov.Site.Streams() && v.Prov.Streams == "all" {
			return fmt.Errorf("interop: vector %q has per-stream (4·D) directions; llama.cpp adds one n_embd vector to all streams — extract with Streams \"mean\"", v.Name)
		}
		mult := opt.Strength.Value
		if opt.Strength.Relative {
			nm := norm(d)
			ns := v.Norms[l]
			if nm == 0 || ns.Mean == 0 {
				return fmt.Errorf("interop: vector %q layer %d: relative strength needs a nonzero direction and norm statistics", v.Name, l)
			}
			mult = opt.Strength.Value * ns.Mean / nm
		}
		data := make([]float32, len(d))
		for i, x := range d {
			data[i] = float32(x * mult)
		}
		tensors = append(tensors, ggufTensor{name: "direction." + strconv.Itoa(n), data: data})
		layers = append(layers, int32(l))
		norms = append(norms, float32(v.Norms[l].Mean))
	}
	if len(tensors) == 0 {
		return fmt.Errorf("interop: vector %q has no layer llama.cpp can apply", v.Name)
	}
	p := v.Prov
	prov, _ := json.Marshal(struct {
		Name      string
		Prov      steerlib.Provenance
		Norms     map[int]steerlib.NormStats
		ClassProj map[int][2]float64
	}{v.Name, p, v.Norms, v.ClassProj})
	strength := fmt.Sprintf("raw %g", opt.Strength.Value)
	if opt.Strength.Relative {
		strength = fmt.Sprintf("relative %g × mean activation norm", opt.Strength.Value)
	}
	kvs := []ggufKV{
		{"general.architecture", ggufString, "controlvector"},
		{"general.name", ggufString, v.Name},
		{"controlvector.model_hint", ggufString, opt.ModelHint},
		{"controlvector.layer_count", ggufInt32, int32(len(tensors))},
		{ProvenancePrefix + "layer_convention", ggufString, "direction.N is added to block N's output (0-based blocks), broadcast to all hyper-connection streams"},
		{ProvenancePrefix + "site", ggufString, string(p.Site)},
		{ProvenancePrefix + "position", ggufString, p.Position},
		{ProvenancePrefix + "streams", ggufString, p.Streams},
		{ProvenancePrefix + "estimator", ggufString, string(p.Estimator)},
		{ProvenancePrefix + "centering", ggufString, p.Centering},
		{ProvenancePrefix + "dataset", ggufString, p.Dataset},
		{ProvenancePrefix + "dataset_sha256", ggufString, p.DatasetHash},
		{ProvenancePrefix + "model_hash", ggufString, p.ModelHash},
		{ProvenancePrefix + "vector_sha256", ggufString, v.Hash()},
		{ProvenancePrefix + "strength", ggufString, strength},
		{ProvenancePrefix + "layers", ggufArray, layers},
		{ProvenancePrefix + "norm_mean", ggufArray, norms},
		{ProvenancePrefix + "provenance_json", ggufString, string(prov)},
	}
	return encodeGGUF(w, kvs, tensors)
}

func norm(a []float64) float64 {
	s := 0.0
	for _, x := range a {
		s += x * x
	}
	return math.Sqrt(s)
}

func encodeGGUF(w io.Writer, kvs []ggufKV, tensors []ggufTensor) error {
	var b []byte
	le := binary.LittleEndian
	u32 := func(x uint32) { b = le.AppendUint32(b, x) }
	u64 := func(x uint64) { b = le.AppendUint64(b, x) }
	str := func(s string) { u64(uint64(len(s))); b = append(b, s...) }
	b = append(b, "GGUF"...)
	u32(ggufVersion)
	u64(uint64(len(tensors)))
	u64(uint64(len(kvs)))
	for _, kv := range kvs {
		str(kv.key)
		u32(kv.typ)
		switch x := kv.val.(type) {
		case string:
			str(x)
		case int32:
			u32(uint32(x))
		case uint32:
			u32(x)
		case float32:
			u32(math.Float32bits(x))
		case []int32:
			u32(ggufInt32)
			u64(uint64(len(x)))
			for _, y := range x {
				u32(uint32(y))
			}
		case []float32:
			u32(ggufFloat32)
			u64(uint64(len(x)))
			for _, y := range x {
				u32(math.Float32bits(y))
			}
		default:
			return fmt.Errorf("gguf: key %s: unsupported value type %T", kv.key, kv.val)
		}
	}
	off := uint64(0)
	for _, t := range tensors {
		str(t.name)
		u32(1) // n_dims
		u64(uint64(len(t.data)))
		u32(ggmlTypeF32)
		u64(off)
		off += uint64(4 * len(t.data))
		off = (off + ggufAlignment - 1) / ggufAlignment * ggufAlignment
	}
	for len(b)%ggufAlignment != 0 {
		b = append(b, 0)
	}
	for _, t := range tensors {
		for _, x := range t.data {
			u32(math.Float32bits(x))
		}
		for len(b)%ggufAlignment != 0 {
			b = append(b, 0)
		}
	}
	_, err := w.Write(b)
	return err
}

// ReadControlVector reads a GGUF control vector written by llama.cpp's
// cvector-generator, repeng, EasySteer or WriteControlVector. direction.N
// becomes layer N at site block_out (the inverse of ControlVectorLayers);
// duplicated N are summed, as llama.cpp does. Steerbook provenance keys are
// restored when present; other files get Estimator "imported" and their
// model hint in Prov.Model. Directions are in raw units (any strength was
// multiplied in when the file was written).
func ReadControlVector(path string) (*steerlib.Vector, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("interop: read control vector: %w", err)
	}
	v, err := DecodeControlVector(b)
	if err != nil {
		return nil, fmt.Errorf("interop: control vector %s: %w", path, err)
	}
	return v, nil
}

// DecodeControlVector parses the bytes of a GGUF control vector.
func DecodeControlVector(b []byte) (*steerlib.Vector, error) {
	g, err := parseGGUF(b)
	if err != nil {
		return nil, err
	}
	v := &steerlib.Vector{Dirs: map[int][]float64{}, Norms: map[int]steerlib.NormStats{}, ClassProj: map[int][2]float64{}}
	v.Prov.Site = engine.SiteBlockOut
	v.Prov.Estimator = "imported"
	if s, ok := g.kv["controlvector.model_hint"].(string); ok {
		v.Prov.Model = s
	}
	if s, ok := g.kv["general.name"].(string); ok {
		v.Name = s
	}
	if s, ok := g.kv[ProvenancePrefix+"provenance_json"].(string); ok {
		var p struct {
			Name      string
			Prov      steerlib.Provenance
			Norms     map[int]steerlib.NormStats
			ClassProj map[int][2]float64
		}
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			return nil, fmt.Errorf("key %sprovenance_json: %w", ProvenancePrefix, err)
		}
		v.Name, v.Prov = p.Name, p.Prov
		for l, n := range p.Norms {
			v.Norms[l] = n
		}
		for l, c := range p.ClassProj {
			v.ClassProj[l] = c
		}
		if v.Prov.Site == engine.SiteBlockIn {
			// Stored directions are indexed by block output; express them
			// back at the site the vector was read at.
			defer func() {
				moved := map[int][]float64{}
				for n, d := range v.Dirs {
					moved[n+1] = d
				}
				v.Dirs = moved
			}()
		}
	}
	if len(g.tensors) == 0 {
		return nil, fmt.Errorf("no direction.N tensors")
	}
	width := -1
	for _, t := range g.tensors {
		ns, ok := strings.CutPrefix(t.name, "direction.")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n < 1 {
			return nil, fmt.Errorf("tensor %q is not direction.N with N ≥ 1 (llama.cpp rejects such files)", t.name)
		}
		if t.typ != ggmlTypeF32 {
			return nil, fmt.Errorf("tensor %s has ggml type %d, want F32 (0)", t.name, t.typ)
		}
		if len(t.dims) != 1 {
			return nil, fmt.Errorf("tensor %s has %d dimensions, want 1", t.name, len(t.dims))
		}
		if width >= 0 && int(t.dims[0]) != width {
			return nil, fmt.Errorf("tensor %s has length %d, others %d", t.name, t.dims[0], width)
		}
		width = int(t.dims[0])
		d := v.Dirs[n]
		if d == nil {
			d = make([]float64, width)
		}
		for i, x := range t.f32 {
			d[i] += float64(x)
		}
		v.Dirs[n] = d
	}
	if v.Name == "" {
		v.Name = "control-vector"
	}
	return v, nil
}

type ggufFile struct {
	version uint32
	kv      map[string]any
	tensors []ggufTensorInfo
}

type ggufTensorInfo struct {
	name string
	dims []uint64
	typ  uint32
	off  uint64
	f32  []float32
}

// parseGGUF reads GGUF v2/v3 metadata and F32 tensors.
func parseGGUF(b []byte) (*ggufFile, error) {
	r := &ggufReader{b: b}
	if string(r.bytes(4)) != "GGUF" {
		return nil, fmt.Errorf("not a GGUF file (bad magic)")
	}
	g := &ggufFile{version: r.u32(), kv: map[string]any{}}
	if r.err == nil && (g.version < 2 || g.version > 3) {
		return nil, fmt.Errorf("GGUF version %d not supported (2 or 3)", g.version)
	}
	nt, nkv := r.u64(), r.u64()
	if r.err != nil || nt > 1<<20 || nkv > 1<<20 {
		return nil, fmt.Errorf("corrupt GGUF header")
	}
	for i := uint64(0); i < nkv && r.err == nil; i++ {
		k := r.str()
		t := r.u32()
		g.kv[k] = r.value(t)
	}
	align := uint64(ggufAlignment)
	if a, ok := g.kv["general.alignment"].(uint32); ok && a > 0 {
		align = uint64(a)
	}
	for i := uint64(0); i < nt && r.err == nil; i++ {
		t := ggufTensorInfo{name: r.str()}
		nd := r.u32()
		if nd > 4 {
			return nil, fmt.Errorf("tensor %s: %d dimensions", t.name, nd)
		}
		for j := uint32(0); j < nd; j++ {
			t.dims = append(t.dims, r.u64())
		}
		t.typ = r.u32()
		t.off = r.u64()
		g.tensors = append(g.tensors, t)
	}
	if r.err != nil {
		return nil, r.err
	}
	base := (uint64(r.pos) + align - 1) / align * align
	for i := range g.tensors {
		t := &g.tensors[i]
		if t.typ != ggmlTypeF32 {
			continue
		}
		n := uint64(1)
		for _, d := range t.dims {
			n *= d
		}
		start := base + t.off
		if start+4*n > uint64(len(b)) {
			return nil, fmt.Errorf("tensor %s: data [%d, %d) beyond end of file (%d bytes)", t.name, start, start+4*n, len(b))
		}
		t.f32 = make([]float32, n)
		for j := range t.f32 {
			t.f32[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[start+4*uint64(j):]))
		}
	}
	sort.SliceStable(g.tensors, func(i, j int) bool { return g.tensors[i].name < g.tensors[j].name })
	return g, nil
}

type ggufReader struct {
	b   []byte
	pos int
	err error
}

func (r *ggufReader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || r.pos+n > len(r.b) {
		r.err = fmt.Errorf("truncated GGUF at byte %d", r.pos)
		return nil
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s
}

func (r *ggufReader) u32() uint32 {
	s := r.bytes(4)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint32(s)
}

func (r *ggufReader) u64() uint64 {
	s := r.bytes(8)
	if s == nil {
		return 0
	}
	return binary.LittleEndian.Uint64(s)
}

func (r *ggufReader) str() string {
	n := r.u64()
	if n > uint64(len(r.b)) {
		r.err = fmt.Errorf("GGUF string length %d beyond file", n)
		return ""
	}
	return string(r.bytes(int(n)))
}

func (r *ggufReader) value(t uint32) any {
	switch t {
	case ggufUint8, ggufInt8, ggufBool:
		s := r.bytes(1)
		if s == nil {
			return nil
		}
		return s[0]
	case ggufUint16, ggufInt16:
		s := r.bytes(2)
		if s == nil {
			return nil
		}
		return binary.LittleEndian.Uint16(s)
	case ggufUint32:
		return r.u32()
	case ggufInt32:
		return int32(r.u32())
	case ggufFloat32:
		return math.Float32frombits(r.u32())
	case ggufUint64:
		return r.u64()
	case ggufInt64:
		return int64(r.u64())
	case ggufFloat64:
		return math.Float64frombits(r.u64())
	case ggufString:
		return r.str()
	case ggufArray:
		et := r.u32()
		n := r.u64()
		if n > uint64(len(r.b)) {
			r.err = fmt.Errorf("GGUF array length %d beyond file", n)
			return nil
		}
		out := make([]any, 0, n)
		for i := uint64(0); i < n && r.err == nil; i++ {
			out = append(out, r.value(et))
		}
		return out
	}
	r.err = fmt.Errorf("unknown GGUF value type %d at byte %d", t, r.pos)
	return nil
}
