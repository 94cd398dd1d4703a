package interop

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

// miniGGUF is an independent minimal GGUF reader, written from the format
// description (magic, version, counts, typed key/values, tensor infos,
// aligned data) and sharing no code with the package's parser.
type miniGGUF struct {
	version uint32
	kv      map[string]any
	tensors map[string][]float32
	types   map[string]uint32
	dims    map[string][]uint64
}

func readMini(t *testing.T, b []byte) *miniGGUF {
	t.Helper()
	rd := bytes.NewReader(b)
	var magic [4]byte
	rd.Read(magic[:])
	if string(magic[:]) != "GGUF" {
		t.Fatalf("magic %q", magic)
	}
	le := binary.LittleEndian
	g := &miniGGUF{kv: map[string]any{}, tensors: map[string][]float32{}, types: map[string]uint32{}, dims: map[string][]uint64{}}
	binary.Read(rd, le, &g.version)
	var nt, nkv uint64
	binary.Read(rd, le, &nt)
	binary.Read(rd, le, &nkv)
	rstr := func() string {
		var n uint64
		binary.Read(rd, le, &n)
		s := make([]byte, n)
		rd.Read(s)
		return string(s)
	}
	var rval func(typ uint32) any
	rval = func(typ uint32) any {
		switch typ {
		case 4:
			var x uint32
			binary.Read(rd, le, &x)
			return x
		case 5:
			var x int32
			binary.Read(rd, le, &x)
			return x
		case 6:
			var x float32
			binary.Read(rd, le, &x)
			return x
		case 8:
			return rstr()
		case 9:
			var et uint32
			var n uint64
			binary.Read(rd, le, &et)
			binary.Read(rd, le, &n)
			var out []any
			for i := uint64(0); i < n; i++ {
				out = append(out, rval(et))
			}
			return out
		}
		t.Fatalf("mini parser: value type %d not expected in a control vector", typ)
		return nil
	}
	for i := uint64(0); i < nkv; i++ {
		k := rstr()
		var typ uint32
		binary.Read(rd, le, &typ)
		g.kv[k] = rval(typ)
	}
	type info struct {
		name string
		n    uint64
		off  uint64
	}
	var infos []info
	for i := uint64(0); i < nt; i++ {
		name := rstr()
		var nd uint32
		binary.Read(rd, le, &nd)
		dims := make([]uint64, nd)
		n := uint64(1)
		for j := range dims {
			binary.Read(rd, le, &dims[j])
			n *= dims[j]
		}
		var typ uint32
		var off uint64
		binary.Read(rd, le, &typ)
		binary.Read(rd, le, &off)
		g.types[name], g.dims[name] = typ, dims
		infos = append(infos, info{name, n, off})
	}
	pos := len(b) - rd.Len()
	data := (pos + 31) / 32 * 32
	for _, in := range infos {
		if in.off%32 != 0 {
			t.Errorf("tensor %s offset %d not 32-aligned", in.name, in.off)
		}
		v := make([]float32, in.n)
		for j := range v {
			v[j] = math.Float32frombits(le.Uint32(b[data+int(in.off)+4*j:]))
		}
		g.tensors[in.name] = v
	}
	return g
}

func testVector() *steerlib.Vector {
	v := &steerlib.Vector{Name: "sentiment/diffmean", Dirs: map[int][]float64{}, Norms: map[int]steerlib.NormStats{}, ClassProj: map[int][2]float64{}}
	v.Prov = steerlib.Provenance{ModelHash: "abc123", Site: engine.SiteBlockOut, Position: "last", Streams: "mean",
		Estimator: steerlib.DiffMean, Dataset: "sentiment", DatasetHash: "feed", Examples: 48}
	for _, l := range []int{1, 2, 4} {
		d := make([]float64, 5) // odd length exercises alignment padding
		for i := range d {
			d[i] = float64(l) + 0.125*float64(i) - 0.3
		}
		v.Dirs[l] = d
		v.Norms[l] = steerlib.NormStats{Mean: 10 * float64(l), Std: 1, Count: 48}
		v.ClassProj[l] = [2]float64{1, -1}
	}
	return v
}

func TestGGUFControlVectorIndependentRead(t *testing.T) {
	v := testVector()
	path := filepath.Join(t.TempDir(), "cv.gguf")
	if err := WriteControlVector(path, v, GGUFOptions{}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	g := readMini(t, b)
	if g.version != 3 {
		t.Errorf("version %d", g.version)
	}
	if g.kv["general.architecture"] != "controlvector" || g.kv["controlvector.model_hint"] != "deepseek4" {
		t.Errorf("standard keys: %v %v", g.kv["general.architecture"], g.kv["controlvector.model_hint"])
	}
	if g.kv["controlvector.layer_count"] != int32(3) {
		t.Errorf("layer_count %v (%T)", g.kv["controlvector.layer_count"], g.kv["controlvector.layer_count"])
	}
	if g.kv["steerbook.dataset_sha256"] != "feed" || g.kv["steerbook.site"] != "block_out" {
		t.Errorf("provenance keys missing: %v", g.kv)
	}
	// block_out[L] is direction.L, F32, 1-D, n_embd long.
	for _, l := range []int{1, 2, 4} {
		name := "direction." + string(rune('0'+l))
		got := g.tensors[name]
		if g.types[name] != 0 || len(g.dims[name]) != 1 || g.dims[name][0] != 5 {
			t.Fatalf("%s: type %d dims %v", name, g.types[name], g.dims[name])
		}
		for i, x := range v.Dir(l) {
			if got[i] != float32(x) {
				t.Fatalf("%s[%d] = %v want %v", name, i, got[i], x)
			}
		}
	}
	if len(g.tensors) != 3 {
		t.Errorf("%d tensors", len(g.tensors))
	}
	// And the package's reader restores the vector and its provenance.
	r, err := ReadControlVector(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Prov.DatasetHash != "feed" || r.Prov.Site != engine.SiteBlockOut || r.Name != v.Name || r.Norms[4].Mean != 40 {
		t.Errorf("provenance not restored: %+v", r.Prov)
	}
	for _, l := range v.Layers() {
		for i, x := range v.Dir(l) {
			if r.Dir(l)[i] != float64(float32(x)) {
				t.Fatalf("layer %d differs after round trip", l)
			}
		}
	}
}

func TestGGUFLayerConventionAndErrors(t *testing.T) {
	v := testVector()
	v.Dirs[0] = []float64{1, 2, 3, 4, 5}
	var buf bytes.Buffer
	if err := EncodeControlVector(&buf, v, GGUFOptions{}); err == nil {
		t.Error("layer 0 accepted: llama.cpp cannot steer block 0's output")
	}
	buf.Reset()
	if err := EncodeControlVector(&buf, v, GGUFOptions{SkipLayer0: true}); err != nil {
		t.Fatal(err)
	}
	// block_in[L] is block_out[L−1]: direction.(L−1).
	w := testVector()
	w.Prov.Site = engine.SiteBlockIn
	buf.Reset()
	EncodeControlVector(&buf, w, GGUFOptions{SkipLayer0: true})
	g := readMini(t, buf.Bytes())
	if _, ok := g.tensors["direction.3"]; !ok || g.tensors["direction.3"][0] != float32(w.Dir(4)[0]) {
		t.Errorf("block_in[4] should be direction.3; have %v", g.tensors)
	}
	r, err := DecodeControlVector(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if r.Prov.Site != engine.SiteBlockIn || r.Dir(4) == nil || r.Dir(3) != nil {
		t.Errorf("block_in layers not restored: %v", r.Layers())
	}
	// Other sites have no llama.cpp equivalent.
	x := testVector()
	x.Prov.Site = engine.SiteFFNOut
	if err := EncodeControlVector(&buf, x, GGUFOptions{}); err == nil {
		t.Error("ffn_out vector accepted")
	}
	// Relative strength: unit direction × value × mean norm.
	buf.Reset()
	EncodeControlVector(&buf, testVector(), GGUFOptions{Strength: steerlib.Rel(0.5)})
	g = readMini(t, buf.Bytes())
	n := 0.0
	for _, f := range g.tensors["direction.2"] {
		n += float64(f) * float64(f)
	}
	if math.Abs(math.Sqrt(n)-10) > 1e-4 { // 0.5 × mean norm 20
		t.Errorf("relative strength: norm %v want 10", math.Sqrt(n))
	}
}

func TestReadForeignControlVector(t *testing.T) {
	// A repeng-style file: model_hint, uint32 layer_count, duplicate
	// direction.N (summed by llama.cpp), no Steerbook keys.
	kvs := []ggufKV{
		{"general.architecture", ggufString, "controlvector"},
		{"controlvector.model_hint", ggufString, "llama"},
		{"controlvector.layer_count", ggufUint32, uint32(2)},
	}
	tensors := []ggufTensor{{"direction.3", []float32{1, 2}}, {"direction.3", []float32{10, 20}}, {"direction.7", []float32{0, 1}}}
	var buf bytes.Buffer
	if err := encodeGGUF(&buf, kvs, tensors); err != nil {
		t.Fatal(err)
	}
	v, err := DecodeControlVector(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if v.Prov.Model != "llama" || v.Dir(3)[1] != 22 || v.Dir(7)[1] != 1 || v.Prov.Site != engine.SiteBlockOut {
		t.Errorf("foreign file read wrong: %v %v", v.Prov, v.Dirs)
	}
	bad := []ggufTensor{{"direction.0", []float32{1}}}
	buf.Reset()
	encodeGGUF(&buf, kvs, bad)
	if _, err := DecodeControlVector(buf.Bytes()); err == nil {
		t.Error("direction.0 accepted (llama.cpp rejects the file)")
	}
}
