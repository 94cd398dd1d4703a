package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"github.com/steerbook/steerbook/internal/golden"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func encode(t *testing.T, ts []WriteTensor, meta map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Encode(&buf, ts, meta); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// raw builds a file from a literal header and data, bypassing the writer's checks.
func raw(header string, data []byte) []byte {
	b := make([]byte, 8, 8+len(header)+len(data))
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f16 := WriteTensor{Name: "h", DType: F16, Shape: []int{3}, Data: []byte{0x00, 0x3c, 0x00, 0xc0, 0x01, 0x00}}
	ts := []WriteTensor{
		F32Tensor("model.b", []int{2, 3}, []float32{1, -2, 3.5, 0, 1e-30, 7}),
		BF16Tensor("a", []int{4}, []float32{1, -0.5, 3, 1.0 / 3}),
		I64Tensor("ids", []int{2}, []int64{-1, 1 << 40}),
		{Name: "scalar", DType: F32, Shape: nil, Data: []byte{0, 0, 0x80, 0x3f}},
		{Name: "empty", DType: BF16, Shape: []int{0, 5}, Data: nil},
		{Name: "e8", DType: F8E8M0, Shape: []int{3}, Data: []byte{127, 0, 130}},
		{Name: "e5", DType: F8E5M2, Shape: []int{3}, Data: []byte{0x3c, 0xc2, 0x01}},
		f16,
	}
	p := filepath.Join(dir, SingleFile)
	if err := Write(p, ts, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	fileBytes, _ := os.ReadFile(p)
	if n := binary.LittleEndian.Uint64(fileBytes); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	for _, open := range []struct {
		name string
		fn   func() (*Checkpoint, error)
	}{
		{"Open(dir)", func() (*Checkpoint, error) { return Open(dir) }},
		{"Open(file)", func() (*Checkpoint, error) { return Open(p) }},
		{"OpenFS", func() (*Checkpoint, error) {
			return OpenFS(fstest.MapFS{"m/" + SingleFile: {Data: fileBytes}}, "m")
		}},
		{"Parse", func() (*Checkpoint, error) { return Parse(p, fileBytes) }},
	} {
		t.Run(open.name, func(t *testing.T) {
			c, err := open.fn()
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if got := strings.Join(c.Names(), ","); got != "a,e5,e8,empty,h,ids,model.b,scalar" {
				t.Errorf("Names = %s", got)
			}
			if c.Metadata()["format"] != "pt" {
				t.Errorf("metadata = %v", c.Metadata())
			}
			b, err := c.Tensor("b") // stored as model.b
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Tensor("model.a"); err != nil {
				t.Errorf("model. prefix not tolerated: %v", err)
			}
			v, _ := b.Float32()
			if !equalF32(v, []float32{1, -2, 3.5, 0, 1e-30, 7}) || b.Shape[0] != 2 || b.Shape[1] != 3 {
				t.Errorf("b = %v %v", b.Shape, v)
			}
			a, _ := c.Tensor("a")
			v, _ = a.Float32()
			// 1/3 rounds to the nearest bf16, 0x3eab.
			if !equalF32(v, []float32{1, -0.5, 3, math.Float32frombits(0x3eab0000)}) {
				t.Errorf("a = %v", v)
			}
			ids, _ := c.Tensor("ids")
			iv, err := ids.Int64()
			if err != nil || iv[0] != -1 || iv[1] != 1<<40 {
				t.Errorf("ids = %v %v", iv, err)
			}
			if _, err := b.Int64(); err == nil || !strings.Contains(err.Error(), `"model.b"`) {
				t.Errorf("Int64 of F32 should fail naming the tensor, got %v", err)
			}
			s, _ := c.Tensor("scalar")
			if v, _ := s.Float32(); len(v) != 1 || v[0] != 1 || len(s.Shape) != 0 {
				t.Errorf("scalar = %v %v", s.Shape, v)
			}
			e, _ := c.Tensor("empty")
			if e.NumElements() != 0 || len(e.Data) != 0 {
				t.Errorf("empty = %+v", e)
			}
			e8, _ := c.Tensor("e8")
			if v, _ := e8.Float32(); !equalF32(v, []float32{1, float32(math.Ldexp(1, -127)), 8}) {
				t.Errorf("e8 = %v", v)
			}
			e5, _ := c.Tensor("e5")
			if v, _ := e5.Float32(); !equalF32(v, []float32{1, -3, float32(math.Ldexp(1, -16))}) {
				t.Errorf("e5m2 = %v", v)
			}
			h, _ := c.Tensor("h")
			if v, _ := h.Float32(); !equalF32(v, []float32{1, -2, float32(math.Ldexp(1, -24))}) {
				t.Errorf("f16 = %v", v)
			}
			if _, err := c.Tensor("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
				t.Errorf("missing tensor error = %v", err)
			}
		})
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestWriterRejects(t *testing.T) {
	for _, tc := range []struct {
		name string
		ts   []WriteTensor
		want string
	}{
		{"duplicate", []WriteTensor{F32Tensor("x", []int{1}, []float32{1}), F32Tensor("x", []int{1}, []float32{2})}, `"x": duplicate`},
		{"size", []WriteTensor{{Name: "y", DType: F32, Shape: []int{2}, Data: make([]byte, 4)}}, `"y": 4 data bytes`},
		{"dtype", []WriteTensor{{Name: "z", DType: "Q4", Shape: []int{1}, Data: make([]byte, 1)}}, `"z": unknown dtype`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(filepath.Join(t.TempDir(), "x.safetensors"), tc.ts, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func TestMalformedFile(t *testing.T) {
	good := encode(t, []WriteTensor{
		F32Tensor("alpha", []int{2}, []float32{1, 2}),
		F32Tensor("beta", []int{3}, []float32{3, 4, 5}),
	}, nil)
	data20 := make([]byte, 20)
	for _, tc := range []struct {
		name string
		file []byte
		want []string // substrings the error must contain (besides the file name)
	}{
		{"empty file", nil, []string{"truncated"}},
		{"truncated length", []byte{1, 2, 3}, []string{"truncated"}},
		{"header beyond file", good[:20], []string{"beyond the end of the file"}},
		{"data truncated", good[:len(good)-4], []string{`"beta"`, "beyond the end of the data"}},
		{"malformed json", raw(`{"alpha":{"dtype":"F32",`, nil), []string{"malformed header"}},
		{"not an object", raw(`[1,2]`, nil), []string{"not a JSON object"}},
		{"trailing garbage", raw(`{} xx`, nil), []string{"trailing"}},
		{"unknown dtype", raw(`{"q":{"dtype":"Q4_K","shape":[2],"data_offsets":[0,2]}}`, data20), []string{`"q"`, `unknown dtype "Q4_K"`}},
		{"size mismatch", raw(`{"q":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}`, data20), []string{`"q"`, "needs 16"}},
		{"offsets out of order", raw(`{"q":{"dtype":"U8","shape":[0],"data_offsets":[8,4]}}`, data20), []string{`"q"`, "out of order"}},
		{"negative offset", raw(`{"q":{"dtype":"U8","shape":[4],"data_offsets":[-4,0]}}`, data20), []string{`"q"`, "out of order"}},
		{"offsets beyond data", raw(`{"q":{"dtype":"U8","shape":[8],"data_offsets":[16,24]}}`, data20), []string{`"q"`, "beyond the end of the data"}},
		{"overlap", raw(`{"q":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},"r":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}}`, data20), []string{`"q"`, `"r"`, "overlap"}},
		{"duplicate name", raw(`{"q":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"q":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, data20), []string{`"q"`, "duplicated"}},
		{"bad offsets arity", raw(`{"q":{"dtype":"U8","shape":[1],"data_offsets":[0]}}`, data20), []string{`"q"`, "2 entries"}},
		{"negative dim", raw(`{"q":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, data20), []string{`"q"`, "negative"}},
		{"huge shape", raw(`{"q":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}}`, data20), []string{`"q"`, "too large"}},
		{"bad shape type", raw(`{"q":{"dtype":"U8","shape":"x","data_offsets":[0,0]}}`, data20), []string{`"q"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.safetensors")
			if err := os.WriteFile(p, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Open(p)
			if err == nil {
				c.Close()
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error does not wrap ErrInvalid: %v", err)
			}
			for _, w := range append(tc.want, p) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			// The in-memory path must agree.
			if _, err2 := Parse(p, tc.file); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Parse error %v differs from Open error %v", err2, err)
			}
		})
	}
}

// writeSharded writes a two-shard checkpoint and an index, letting the
// caller edit the weight map first.
func writeSharded(t *testing.T, edit func(wm map[string]string)) string {
	t.Helper()
	dir := t.TempDir()
	s1 := []WriteTensor{F32Tensor("a", []int{1}, []float32{1}), F32Tensor("b", []int{1}, []float32{2})}
	s2 := []WriteTensor{F32Tensor("c", []int{2}, []float32{3, 4})}
	if err := Write(filepath.Join(dir, "s1.safetensors"), s1, nil); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(dir, "s2.safetensors"), s2, nil); err != nil {
		t.Fatal(err)
	}
	wm := map[string]string{"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}
	if edit != nil {
		edit(wm)
	}
	idx, _ := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 16}, "weight_map": wm})
	if err := os.WriteFile(filepath.Join(dir, IndexFile), idx, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSharded(t *testing.T) {
	dir := writeSharded(t, nil)
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Len() != 3 || c.Metadata()["total_size"] != "16" {
		t.Errorf("len %d metadata %v", c.Len(), c.Metadata())
	}
	ct, _ := c.Tensor("c")
	if v, _ := ct.Float32(); !equalF32(v, []float32{3, 4}) || filepath.Base(ct.File) != "s2.safetensors" {
		t.Errorf("c = %v from %s", v, ct.File)
	}
}

func TestMalformedIndex(t *testing.T) {
	for _, tc := range []struct {
		name string
		dir  func(t *testing.T) string
		want []string
	}{
		{"missing shard", func(t *testing.T) string {
			return writeSharded(t, func(wm map[string]string) { wm["d"] = "s3.safetensors" })
		}, []string{IndexFile, `"s3.safetensors"`, "cannot be opened"}},
		{"tensor missing in shard", func(t *testing.T) string {
			return writeSharded(t, func(wm map[string]string) { wm["zz"] = "s2.safetensors" })
		}, []string{IndexFile, `"zz"`, "missing from shard s2.safetensors"}},
		{"tensor in shard not in index", func(t *testing.T) string {
			return writeSharded(t, func(wm map[string]string) { delete(wm, "b") })
		}, []string{"s1.safetensors", `"b"`, "not mapped"}},
		{"duplicate across shards", func(t *testing.T) string {
			dir := writeSharded(t, func(wm map[string]string) { wm["c"] = "s1.safetensors" })
			// s1 gets c too, and the index keeps listing s2 via another tensor.
			Write(filepath.Join(dir, "s1.safetensors"), []WriteTensor{F32Tensor("a", []int{1}, []float32{1}),
				F32Tensor("b", []int{1}, []float32{2}), F32Tensor("c", []int{1}, []float32{9})}, nil)
			idx, _ := json.Marshal(map[string]any{"weight_map": map[string]string{"a": "s1.safetensors", "b": "s1.safetensors", "c": "s2.safetensors"}})
			os.WriteFile(filepath.Join(dir, IndexFile), idx, 0o644)
			return dir
		}, []string{`"c"`}},
		{"malformed index", func(t *testing.T) string {
			dir := writeSharded(t, nil)
			os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"weight_map": {"a": `), 0o644)
			return dir
		}, []string{IndexFile, "malformed index JSON"}},
		{"empty weight map", func(t *testing.T) string {
			dir := writeSharded(t, nil)
			os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"metadata":{}}`), 0o644)
			return dir
		}, []string{IndexFile, "weight_map"}},
		{"path in shard name", func(t *testing.T) string {
			return writeSharded(t, func(wm map[string]string) { wm["a"] = "../s1.safetensors" })
		}, []string{`"a"`, "bad shard name"}},
		{"corrupt shard", func(t *testing.T) string {
			dir := writeSharded(t, nil)
			os.WriteFile(filepath.Join(dir, "s2.safetensors"), []byte{9, 0, 0, 0, 0, 0, 0, 0, '{'}, 0o644)
			return dir
		}, []string{"s2.safetensors", "beyond the end of the file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := tc.dir(t)
			c, err := Open(dir)
			if err == nil {
				c.Close()
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	if _, err := Open(t.TempDir()); err == nil || !strings.Contains(err.Error(), SingleFile) {
		t.Errorf("empty dir: %v", err)
	}
}

func TestScalarDecoders(t *testing.T) {
	for _, tc := range []struct {
		b    byte
		want float64
	}{
		{0x38, 1}, {0xb8, -1}, {0x7e, 448}, {0xfe, -448}, {0x08, 1.0 / 64}, {0x01, 1.0 / 512},
		{0x07, 7.0 / 512}, {0x00, 0}, {0x40, 2}, {0x3c, 1.5}, {0x34, 0.75},
	} {
		if got := E4M3ToF32(tc.b); float64(got) != tc.want {
			t.Errorf("E4M3(%#x) = %v, want %v", tc.b, got, tc.want)
		}
	}
	if !math.IsNaN(float64(E4M3ToF32(0x7f))) || !math.IsNaN(float64(E4M3ToF32(0xff))) {
		t.Error("E4M3 NaN")
	}
	if E8M0ToF32(127) != 1 || E8M0ToF32(120) != 1.0/128 || E8M0ToF32(134) != 128 || !math.IsNaN(float64(E8M0ToF32(255))) {
		t.Error("E8M0")
	}
	for _, tc := range []struct {
		h    uint16
		want float64
	}{{0x3c00, 1}, {0xc000, -2}, {0x7bff, 65504}, {0x0400, math.Ldexp(1, -14)}, {0x0001, math.Ldexp(1, -24)}, {0x3555, 0.333251953125}} {
		if got := F16ToF32(tc.h); float64(got) != tc.want {
			t.Errorf("F16(%#x) = %v, want %v", tc.h, got, tc.want)
		}
	}
	if !math.IsInf(float64(F16ToF32(0x7c00)), 1) || !math.IsNaN(float64(F16ToF32(0x7e00))) {
		t.Error("F16 inf/nan")
	}
	// BF16 rounding: ties go to even.
	if F32ToBF16(math.Float32frombits(0x3f808000)) != 0x3f80 || F32ToBF16(math.Float32frombits(0x3f818000)) != 0x3f82 ||
		F32ToBF16(math.Float32frombits(0x3f808001)) != 0x3f81 {
		t.Error("BF16 ties-to-even")
	}
	if !math.IsNaN(float64(BF16ToF32(F32ToBF16(float32(math.NaN()))))) {
		t.Error("BF16 NaN")
	}
}

func TestGoldenBF16(t *testing.T) {
	dir := golden.Dir(t, "bf16")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.Len() != 308 {
		t.Errorf("bf16 golden has %d tensors, want 308", c.Len())
	}
	e, err := c.Tensor("model.embed.weight")
	if err != nil {
		t.Fatal(err)
	}
	if e.DType != BF16 || len(e.Shape) != 2 || e.Shape[0] != 512 || e.Shape[1] != 128 {
		t.Errorf("embed.weight %s %v", e.DType, e.Shape)
	}
	tid, err := c.Tensor("layers.0.ffn.gate.tid2eid")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tid.Int64()
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		if id < 0 || id >= 8 {
			t.Fatalf("tid2eid[%d] = %d outside the 8 experts", i, id)
		}
	}
	for _, n := range c.Names() {
		tt, _ := c.Tensor(n)
		if tt.DType != BF16 && tt.DType != F32 && tt.DType != I64 {
			t.Errorf("%s: unexpected dtype %s", n, tt.DType)
		}
	}
}

func TestGoldenFP8(t *testing.T) {
	dir := golden.Dir(t, "fp8")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var idx indexJSON
	b, _ := os.ReadFile(filepath.Join(dir, IndexFile))
	if err := json.Unmarshal(b, &idx); err != nil {
		t.Fatal(err)
	}
	if c.Len() != len(idx.WeightMap) || c.Len() != 504 {
		t.Errorf("fp8 golden: %d tensors, index lists %d, want 504", c.Len(), len(idx.WeightMap))
	}
	var total int
	for name, shard := range idx.WeightMap {
		tt, err := c.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(tt.File) != shard {
			t.Errorf("%s resolved to %s, index says %s", name, tt.File, shard)
		}
		total += len(tt.Data)
	}
	if c.Metadata()["total_size"] != "2882666" || total != 2882666 {
		t.Errorf("total_size metadata %q, summed %d", c.Metadata()["total_size"], total)
	}
	// Every BF16-folder tensor exists here; the unquantised ones are byte-identical.
	bf, err := Open(golden.Dir(t, "bf16"))
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	quant := 0
	for _, n := range bf.Names() {
		ref, _ := bf.Tensor(n)
		got, err := c.Tensor(n)
		if err != nil {
			t.Errorf("%s missing in fp8 folder", n)
			continue
		}
		if got.DType == F8E4M3 || got.DType == I8 {
			quant++
			if !c.Has(strings.TrimSuffix(n, ".weight") + ".scale") {
				t.Errorf("%s (%s) has no .scale", n, got.DType)
			}
			continue
		}
		if got.DType != ref.DType || !bytes.Equal(got.Data, ref.Data) {
			t.Errorf("%s differs between the bf16 and fp8 folders", n)
		}
	}
	if quant != 196 {
		t.Errorf("%d quantised weights, want 196 (52 FP8 + 144 packed FP4, from the shard headers)", quant)
	}
}
