package tensor

import (
	"fmt"
	"math"

	"github.com/steerbook/steerbook/engine/safetensors"
)

// ---- F32 ----

type f32Linear struct {
	w       []float32
	out, in int
}

// NewF32 wraps a row-major [out, in] float32 matrix (not copied).
func NewF32(w []float32, out, in int) Linear {
	checkLen("F32 weight", len(w), out*in)
	return &f32Linear{w, out, in}
}

func (l *f32Linear) Out() int       { return l.out }
func (l *f32Linear) In() int        { return l.in }
func (l *f32Linear) format() string { return "F32" }
func (l *f32Linear) MatMul(dst, x []float32, rows int) {
	checkMatMul(l, dst, x, rows)
	gemm(l, dst, x, rows)
}
func (l *f32Linear) at(o, i int) float32 { return l.w[o*l.in+i] }
func (l *f32Linear) rowSlice(o, k0, k1 int) []float32 {
	return l.w[o*l.in+k0 : o*l.in+k1]
}
func (l *f32Linear) dequant(dst []float32, o, k0, k1 int) { copy(dst, l.rowSlice(o, k0, k1)) }
func (l *f32Linear) Row(dst []float32, o int)             { copy(dst[:l.in], l.w[o*l.in:]) }

// ---- BF16 ----

type bf16Linear struct {
	raw     []byte
	out, in int
}

// NewBF16 wraps little-endian bfloat16 data of a row-major [out, in] matrix
// (not copied; may be memory-mapped).
func NewBF16(raw []byte, out, in int) Linear {
	checkLen("BF16 weight bytes", len(raw), 2*out*in)
	return &bf16Linear{raw, out, in}
}

func (l *bf16Linear) Out() int       { return l.out }
func (l *bf16Linear) In() int        { return l.in }
func (l *bf16Linear) format() string { return "BF16" }
func (l *bf16Linear) MatMul(dst, x []float32, rows int) {
	checkMatMul(l, dst, x, rows)
	gemm(l, dst, x, rows)
}
func (l *bf16Linear) at(o, i int) float32 {
	j := 2 * (o*l.in + i)
	return safetensors.BF16ToF32(uint16(l.raw[j]) | uint16(l.raw[j+1])<<8)
}
func (l *bf16Linear) dequant(dst []float32, o, k0, k1 int) {
	b := l.raw[2*(o*l.in+k0) : 2*(o*l.in+k1)]
	dst = dst[:k1-k0]
	if n8 := len(dst) &^ 7; useSIMD && n8 > 0 {
		bf16ToF32AVX(&dst[0], &b[0], n8)
		dst, b = dst[n8:], b[2*n8:]
	}
	for j := range dst {
		dst[j] = math.Float32frombits((uint32(b[2*j]) | uint32(b[2*j+1])<<8) << 16)
	}
}
func (l *bf16Linear) Row(dst []float32, o int) { l.dequant(dst, o, 0, l.in) }

// ---- FP8 E4M3 with 128×128 block scales ----

// FP8Block is the side of the square scale blocks of FP8 weights.
const FP8Block = 128

type fp8Linear struct {
	raw     []byte
	scale   []float32 // [ceil(out/128)][ceil(in/128)], decoded (tiny)
	sc      int       // scale columns
	out, in int
	f32s    bool
}

// NewFP8 wraps an FP8 E4M3 [out, in] matrix with its UE8M0 (F8_E8M0) block
// scales, one byte per 128×128 block, laid out [ceil(out/128)][ceil(in/128)]
// (edge blocks may be partial): W[o][i] = e4m3(raw[o][i]) · 2^(scale[o/128][i/128]−127).
func NewFP8(raw []byte, scale []byte, out, in int) Linear {
	checkLen("FP8 weight bytes", len(raw), out*in)
	sr, sc := ceilDiv(out, FP8Block), ceilDiv(in, FP8Block)
	checkLen("FP8 E8M0 scale", len(scale), sr*sc)
	s := make([]float32, len(scale))
	for i, b := range scale {
		s[i] = safetensors.E8M0ToF32(b)
	}
	return &fp8Linear{raw: raw, scale: s, sc: sc, out: out, in: in}
}

// NewFP8F32Scale is NewFP8 with float32 block scales, the layout of the
// DeepSeek-V4-Flash-Base checkpoint (design §3.3).
func NewFP8F32Scale(raw []byte, scale []float32, out, in int) Linear {
	checkLen("FP8 weight bytes", len(raw), out*in)
	sr, sc := ceilDiv(out, FP8Block), ceilDiv(in, FP8Block)
	checkLen("FP8 F32 scale", len(scale), sr*sc)
	return &fp8Linear{raw: raw, scale: scale, sc: sc, out: out, in: in, f32s: true}
}

func (l *fp8Linear) Out() int { return l.out }
func (l *fp8Linear) In() int  { return l.in }
func (l *fp8Linear) format() string {
	if l.f32s {
		return "FP8/F32-scale"
	}
	return "FP8"
}
func (l *fp8Linear) MatMul(dst, x []float32, rows int) {
	checkMatMul(l, dst, x, rows)
	gemm(l, dst, x, rows)
}
func (l *fp8Linear) at(o, i int) float32 {
	return safetensors.E4M3ToF32(l.raw[o*l.in+i]) * l.scale[(o/FP8Block)*l.sc+i/FP8Block]
}
func (l *fp8Linear) dequant(dst []float32, o, k0, k1 int) {
	srow := l.scale[(o/FP8Block)*l.sc:]
	row := l.raw[o*l.in:]
	for b0 := k0; b0 < k1; b0 += FP8Block {
		b1 := min(b0+FP8Block, k1)
		s := srow[b0/FP8Block]
		src := row[b0:b1]
		d := dst[b0-k0 : b1-k0]
		if n8 := len(src) &^ 7; useSIMD && n8 > 0 {
			e4m3ToF32AVX(&d[0], &src[0], n8, s)
			d, src = d[n8:], src[n8:]
		}
		for j, c := range src {
			d[j] = e4m3[c] * s
		}
	}
}
func (l *fp8Linear) Row(dst []float32, o int) { rowByTiles(l, dst, o) }

// Decode tables (the FP4 SIMD kernel reads e8m0 directly).
var e4m3, e8m0 [256]float32

func init() {
	for i := range e4m3 {
		e4m3[i] = safetensors.E4M3ToF32(byte(i))
		e8m0[i] = safetensors.E8M0ToF32(byte(i))
	}
}

// ---- FP4 E2M1, two per byte, one UE8M0 scale per 32 inputs ----

// FP4Group is the number of inputs sharing one FP4 scale.
const FP4Group = 32

type fp4Linear struct {
	packed  []byte // [out][ceil(in/2)]
	scale   []byte // [out][ceil(in/32)] E8M0, kept as bytes (1/16 of the weight)
	rb, sc  int
	out, in int
}

// NewFP4 wraps an FP4 E2M1 [out, in] matrix packed two per byte along the
// input dimension (low nibble = even element), with one UE8M0 scale byte per
// 32 inputs laid out [out][ceil(in/32)]:
// W[o][i] = fp4(nibble) · 2^(scale[o][i/32]−127) (design §3.3).
func NewFP4(packed []byte, scale []byte, out, in int) Linear {
	rb, sc := ceilDiv(in, 2), ceilDiv(in, FP4Group)
	checkLen("FP4 packed weight bytes", len(packed), out*rb)
	checkLen("FP4 E8M0 scale", len(scale), out*sc)
	return &fp4Linear{packed, scale, rb, sc, out, in}
}

func (l *fp4Linear) Out() int       { return l.out }
func (l *fp4Linear) In() int        { return l.in }
func (l *fp4Linear) format() string { return "FP4" }
func (l *fp4Linear) MatMul(dst, x []float32, rows int) {
	checkMatMul(l, dst, x, rows)
	gemm(l, dst, x, rows)
}
func (l *fp4Linear) at(o, i int) float32 {
	b := l.packed[o*l.rb+i/2]
	n := b & 0xf
	if i%2 == 1 {
		n = b >> 4
	}
	return fp4Decode(n) * safetensors.E8M0ToF32(l.scale[o*l.sc+i/FP4Group])
}

// fp4Pairs[b] is the (low, high) element pair of byte b, unscaled.
var fp4Pairs [256][2]float32

func init() {
	for b := range fp4Pairs {
		fp4Pairs[b] = [2]float32{fp4Decode(byte(b) & 0xf), fp4Decode(byte(b) >> 4)}
	}
}

func (l *fp4Linear) dequant(dst []float32, o, k0, k1 int) {
	prow := l.packed[o*l.rb:]
	srow := l.scale[o*l.sc:]
	g0 := k0
	if groups := (k1 - k0) / FP4Group; useSIMD && groups > 0 {
		fp4GroupsAVX(&dst[0], &prow[k0/2], &srow[k0/FP4Group], groups, &e8m0[0])
		g0 += groups * FP4Group
	}
	for ; g0 < k1; g0 += FP4Group {
		g1 := min(g0+FP4Group, k1)
		s := e8m0[srow[g0/FP4Group]]
		d := dst[g0-k0 : g1-k0]
		src := prow[g0/2 : (g1+1)/2] // g0 is even: groups start at multiples of 32
		n := g1 - g0
		j := 0
		for ; j+2 <= n; j += 2 {
			p := &fp4Pairs[src[j/2]]
			d[j] = p[0] * s
			d[j+1] = p[1] * s
		}
		if j < n { // odd in: the last byte's high nibble is padding
			d[j] = fp4Pairs[src[j/2]][0] * s
		}
	}
}
func (l *fp4Linear) Row(dst []float32, o int) { rowByTiles(l, dst, o) }

func rowByTiles(d dequantizer, dst []float32, o int) {
	in := d.In()
	for k0 := 0; k0 < in; k0 += blockK {
		k1 := min(k0+blockK, in)
		d.dequant(dst[k0:k1], o, k0, k1)
	}
}

// ---- from checkpoint tensors ----

// FromTensor builds the Linear for a stored weight and its optional scale
// tensor (nil if none), checking dtypes and shapes:
//
//   - F32 / BF16 [out, in], no scale: NewF32 (copied) / NewBF16 (zero-copy);
//     F16 is widened to F32.
//   - F8_E4M3 [out, in] with F8_E8M0 or F32 scale [ceil(out/128), ceil(in/128)]:
//     NewFP8 / NewFP8F32Scale.
//   - I8 or U8 [out, in/2] (packed FP4) with F8_E8M0 scale [out, in/32]:
//     NewFP4 with in = 2·columns.
//
// Errors name the tensors.
func FromTensor(w *safetensors.Tensor, scale *safetensors.Tensor) (Linear, error) {
	if w == nil {
		return nil, fmt.Errorf("tensor: FromTensor: nil weight")
	}
	if len(w.Shape) != 2 {
		return nil, fmt.Errorf("tensor: weight %q (%s): shape %v is not 2-D", w.Name, w.File, w.Shape)
	}
	out, cols := w.Shape[0], w.Shape[1]
	if len(w.Data) != out*cols*w.DType.Size() {
		return nil, fmt.Errorf("tensor: weight %q (%s): %d bytes for shape %v %s", w.Name, w.File, len(w.Data), w.Shape, w.DType)
	}
	scaleShape := func(dt safetensors.DType, rows, cols int) error {
		if scale.DType != dt {
			return fmt.Errorf("tensor: scale %q of weight %q: dtype %s, want %s", scale.Name, w.Name, scale.DType, dt)
		}
		if len(scale.Shape) != 2 || scale.Shape[0] != rows || scale.Shape[1] != cols {
			return fmt.Errorf("tensor: scale %q of weight %q %v: shape %v, want [%d %d]",
				scale.Name, w.Name, w.Shape, scale.Shape, rows, cols)
		}
		if len(scale.Data) != rows*cols*dt.Size() {
			return fmt.Errorf("tensor: scale %q: %d bytes for shape %v", scale.Name, len(scale.Data), scale.Shape)
		}
		return nil
	}
	switch w.DType {
	case safetensors.F32, safetensors.BF16, safetensors.F16:
		if scale != nil {
			return nil, fmt.Errorf("tensor: weight %q is %s but has a scale tensor %q", w.Name, w.DType, scale.Name)
		}
		if w.DType == safetensors.BF16 {
			return NewBF16(w.Data, out, cols), nil
		}
		v, err := w.Float32()
		if err != nil {
			return nil, fmt.Errorf("tensor: weight %q: %w", w.Name, err)
		}
		return NewF32(v, out, cols), nil
	case safetensors.F8E4M3:
		if scale == nil {
			return nil, fmt.Errorf("tensor: FP8 weight %q (%s) has no scale tensor", w.Name, w.File)
		}
		sr, sc := ceilDiv(out, FP8Block), ceilDiv(cols, FP8Block)
		switch scale.DType {
		case safetensors.F8E8M0:
			if err := scaleShape(safetensors.F8E8M0, sr, sc); err != nil {
				return nil, err
			}
			return NewFP8(w.Data, scale.Data, out, cols), nil
		case safetensors.F32:
			if err := scaleShape(safetensors.F32, sr, sc); err != nil {
				return nil, err
			}
			s, err := scale.Float32()
			if err != nil {
				return nil, fmt.Errorf("tensor: scale %q: %w", scale.Name, err)
			}
			return NewFP8F32Scale(w.Data, s, out, cols), nil
		default:
			return nil, fmt.Errorf("tensor: scale %q of FP8 weight %q: dtype %s, want F8_E8M0 or F32", scale.Name, w.Name, scale.DType)
		}
	case safetensors.I8, safetensors.U8:
		if scale == nil {
			return nil, fmt.Errorf("tensor: packed FP4 weight %q (%s %v) has no scale tensor", w.Name, w.DType, w.Shape)
		}
		in := 2 * cols
		if err := scaleShape(safetensors.F8E8M0, out, ceilDiv(in, FP4Group)); err != nil {
			return nil, err
		}
		return NewFP4(w.Data, scale.Data, out, in), nil
	}
	return nil, fmt.Errorf("tensor: weight %q (%s): dtype %s is not a supported linear format", w.Name, w.File, w.DType)
}
