package dsv4

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// Linear is a weight matrix W [out, in] applied as y = x·Wᵀ. It has the same
// method set as engine/tensor.Linear, so the compressed FP8/FP4 kernels of that
// package plug in directly.
type Linear interface {
	Out() int
	In() int
	// MatMul writes dst[rows*Out] = x[rows*In]·Wᵀ.
	MatMul(dst, x []float32, rows int)
}

// Dense is a float32 Linear. The loader uses it for small tensors it
// dequantises itself (and for the grouped wo_a slices); benchmarks use it for
// random weights.
type Dense struct {
	W       []float32
	out, in int
}

// NewDense wraps w (row-major [out][in]).
func NewDense(w []float32, out, in int) *Dense { return &Dense{W: w, out: out, in: in} }

func (d *Dense) Out() int { return d.out }
func (d *Dense) In() int  { return d.in }

// MatMul parallelises over output rows; each worker walks a block of weight
// rows against every input row so the block stays in cache.
func (d *Dense) MatMul(dst, x []float32, rows int) {
	out, in := d.out, d.in
	parallelFor(out, rows*in, func(lo, hi int) {
		const blk = 16
		for o0 := lo; o0 < hi; o0 += blk {
			o1 := min(o0+blk, hi)
			for r := 0; r < rows; r++ {
				xr := x[r*in : (r+1)*in]
				dr := dst[r*out : (r+1)*out]
				for o := o0; o < o1; o++ {
					dr[o] = dot(xr, d.W[o*in:(o+1)*in])
				}
			}
		}
	})
}

// dot is a 4-way unrolled float32 dot product (float32 accumulation, like
// the reference's fp32 GEMMs).
func dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += float64(a[i] * b[i])
		s1 += float64(a[i+1] * b[i+1])
		s2 += float64(a[i+2] * b[i+2])
		s3 += float64(a[i+3] * b[i+3])
	}
	for ; i < n; i++ {
		s0 += float64(a[i] * b[i])
	}
	return float32((s0 + s1) + (s2 + s3))
}

var workers = runtime.GOMAXPROCS(0)

// parallelFor splits [0,n) over goroutines when the total work (n·perItem
// multiply-adds) is large enough to pay for them.
func parallelFor(n, perItem int, f func(lo, hi int)) {
	w := workers
	if w > n {
		w = n
	}
	if w <= 1 || n*perItem < 1<<15 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + w - 1) / w
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			f(lo, hi)
		}(lo, hi)
	}
	wg.Wait()
}

// ---- stored-format decoding (design §3.3) ----

func bf16ToF32(u uint16) float32 { return math.Float32frombits(uint32(u) << 16) }

func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		if man == 0 {
			return math.Float32frombits(sign)
		}
		v := float32(man) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			v = -v
		}
		return v
	case exp == 31:
		if man == 0 {
			return math.Float32frombits(sign | 0x7f800000)
		}
		return float32(math.NaN())
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | man<<13)
}

// e4m3ToF32 decodes float8_e4m3fn (no infinities, S.1111.111 is NaN).
func e4m3ToF32(b byte) float32 {
	s := float32(1)
	if b&0x80 != 0 {
		s = -1
	}
	e := int(b>>3) & 0xf
	m := int(b & 7)
	if e == 15 && m == 7 {
		return float32(math.NaN())
	}
	if e == 0 {
		return s * float32(m) / 8 * (1.0 / 64)
	}
	return s * float32(math.Ldexp(1+float64(m)/8, e-7))
}

// e8m0ToF32 decodes a UE8M0 scale byte: 2^(e−127).
func e8m0ToF32(b byte) float32 {
	if b == 255 {
		return float32(math.NaN())
	}
	return float32(math.Ldexp(1, int(b)-127))
}

var fp4Values = [8]float32{0, 0.5, 1, 1.5, 2, 3, 4, 6}

func fp4ToF32(n byte) float32 {
	v := fp4Values[n&7]
	if n&8 != 0 {
		return -v
	}
	return v
}

// DecodeFloat32 decodes a tensor stored as F32, BF16, F16, F8_E4M3 or F8_E8M0
// into float32 (no block scales applied).
func DecodeFloat32(t *TensorData) ([]float32, error) {
	n := t.NumElements()
	out := make([]float32, n)
	need := func(sz int) error {
		if len(t.Data) != n*sz {
			return fmt.Errorf("tensor %s in %s: %s data has %d bytes, want %d", t.Name, t.File, t.DType, len(t.Data), n*sz)
		}
		return nil
	}
	switch t.DType {
	case "F32":
		if err := need(4); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
	case "BF16":
		if err := need(2); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = bf16ToF32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	case "F16":
		if err := need(2); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = f16ToF32(binary.LittleEndian.Uint16(t.Data[2*i:]))
		}
	case "F8_E4M3":
		if err := need(1); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = e4m3ToF32(t.Data[i])
		}
	case "F8_E8M0":
		if err := need(1); err != nil {
			return nil, err
		}
		for i := range out {
			out[i] = e8m0ToF32(t.Data[i])
		}
	default:
		return nil, fmt.Errorf("tensor %s in %s: dtype %s is not a float format", t.Name, t.File, t.DType)
	}
	return out, nil
}

// DecodeInt64 decodes an I64 (or I32) tensor.
func DecodeInt64(t *TensorData) ([]int64, error) {
	n := t.NumElements()
	out := make([]int64, n)
	switch t.DType {
	case "I64":
		if len(t.Data) != 8*n {
			return nil, fmt.Errorf("tensor %s in %s: I64 data has %d bytes, want %d", t.Name, t.File, len(t.Data), 8*n)
		}
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(t.Data[8*i:]))
		}
	case "I32":
		if len(t.Data) != 4*n {
			return nil, fmt.Errorf("tensor %s in %s: I32 data has %d bytes, want %d", t.Name, t.File, len(t.Data), 4*n)
		}
		for i := range out {
			out[i] = int64(int32(binary.LittleEndian.Uint32(t.Data[4*i:])))
		}
	default:
		return nil, fmt.Errorf("tensor %s in %s: dtype %s is not an integer format", t.Name, t.File, t.DType)
	}
	return out, nil
}

// DequantLinear decodes a weight (and optional block scale) fully into a Dense
// float32 Linear of logical shape [out, in]. It understands BF16/F16/F32,
// FP8 E4M3 with 128×128 block scales (E8M0 or F32) and FP4 E2M1 packed two per
// byte (low nibble first) with one scale per 32 inputs. The engine's default
// source keeps large weights compressed instead; this is the reference path
// and the path for small tensors.
func DequantLinear(w, scale *TensorData, out, in int) (*Dense, error) {
	where := fmt.Sprintf("tensor %s in %s", w.Name, w.File)
	var sc []float32
	if scale != nil {
		var err error
		if sc, err = DecodeFloat32(scale); err != nil {
			return nil, err
		}
	}
	switch w.DType {
	case "BF16", "F16", "F32":
		if w.NumElements() != out*in {
			return nil, fmt.Errorf("%s: shape %v, want [%d %d]", where, w.Shape, out, in)
		}
		v, err := DecodeFloat32(w)
		if err != nil {
			return nil, err
		}
		return NewDense(v, out, in), nil
	case "F8_E4M3":
		if w.NumElements() != out*in {
			return nil, fmt.Errorf("%s: shape %v, want [%d %d]", where, w.Shape, out, in)
		}
		so, si := (out+127)/128, (in+127)/128
		if sc == nil || len(sc) != so*si {
			return nil, fmt.Errorf("%s: FP8 weight needs a [%d %d] block scale", where, so, si)
		}
		v := make([]float32, out*in)
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				v[o*in+i] = e4m3ToF32(w.Data[o*in+i]) * sc[(o/128)*si+i/128]
			}
		}
		return NewDense(v, out, in), nil
	case "I8", "U8", "F4_E2M1", "F4":
		if in%32 != 0 || len(w.Data) != out*in/2 {
			return nil, fmt.Errorf("%s: packed FP4 data has %d bytes, want %d for [%d %d]", where, len(w.Data), out*in/2, out, in)
		}
		if sc == nil || len(sc) != out*in/32 {
			return nil, fmt.Errorf("%s: FP4 weight needs a [%d %d] scale", where, out, in/32)
		}
		v := make([]float32, out*in)
		for o := 0; o < out; o++ {
			for j := 0; j < in/2; j++ {
				b := w.Data[o*in/2+j]
				s := sc[o*(in/32)+(2*j)/32]
				v[o*in+2*j] = fp4ToF32(b&0xf) * s
				v[o*in+2*j+1] = fp4ToF32(b>>4) * s
			}
		}
		return NewDense(v, out, in), nil
	}
	return nil, fmt.Errorf("%s: unsupported weight dtype %s", where, w.DType)
}
