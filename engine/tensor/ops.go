package tensor

import (
	"math"
	"sort"

	"github.com/steerbook/steerbook/engine/safetensors"
)

// Dot returns Σ a[i]·b[i] over len(a) elements (b must be at least as long),
// with four interleaved float32 accumulators.
func Dot(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	var s0, s1, s2, s3 float32
	i := 0
	if n8 := n &^ 7; useSIMD && n8 > 0 {
		s0 = dotAVX(&a[0], &b[0], n8)
		i = n8
	}
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// Axpy computes y[i] += a·x[i] over len(x) elements (fused multiply-add on
// the SIMD path, so results may differ from a·x+y in the last bit).
func Axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	i := 0
	if n8 := len(x) &^ 7; useSIMD && n8 > 0 {
		axpyAVX(a, &x[0], &y[0], n8)
		i = n8
	}
	for ; i+4 <= len(x); i += 4 {
		y[i] += a * x[i]
		y[i+1] += a * x[i+1]
		y[i+2] += a * x[i+2]
		y[i+3] += a * x[i+3]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// RMSNorm writes dst[i] = w[i]·x[i]/sqrt(mean(x²)+eps) over len(x) elements
// (design §2.4); w may be nil for an unweighted norm; dst may alias x. The
// mean of squares is accumulated in float64 so long rows lose nothing.
func RMSNorm(dst, x, w []float32, eps float32) {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	inv := float32(1 / math.Sqrt(ss/float64(len(x))+float64(eps)))
	dst = dst[:len(x)]
	if w == nil {
		for i, v := range x {
			dst[i] = v * inv
		}
		return
	}
	w = w[:len(x)]
	for i, v := range x {
		dst[i] = w[i] * (v * inv)
	}
}

// Softmax replaces x by exp(x−max)/Σexp(x−max) in place. -Inf entries get
// probability 0; an all -Inf row becomes all zeros rather than NaN, so a
// fully masked attention row contributes nothing.
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	m := float32(math.Inf(-1))
	for _, v := range x {
		if v > m {
			m = v
		}
	}
	if math.IsInf(float64(m), -1) {
		clear(x)
		return
	}
	var s float64
	for i, v := range x {
		e := float32(math.Exp(float64(v - m)))
		x[i] = e
		s += float64(e)
	}
	inv := float32(1 / s)
	for i := range x {
		x[i] *= inv
	}
}

// RoundBF16 rounds every element to the nearest bfloat16 (ties to even), in
// place; engines mirror the reference's bf16 casts with it (design §2.0).
func RoundBF16(x []float32) {
	for i, v := range x {
		x[i] = safetensors.BF16ToF32(safetensors.F32ToBF16(v))
	}
}

// e4m3Pos are the finite non-negative E4M3 values in code order 0x00–0x7e,
// which is increasing order.
var e4m3Pos [127]float32

func init() {
	for i := range e4m3Pos {
		e4m3Pos[i] = safetensors.E4M3ToF32(byte(i))
	}
}

// ToE4M3 rounds v to the nearest finite E4M3 value (ties to the even code),
// saturating at ±448. NaN stays NaN.
func ToE4M3(v float32) float32 {
	if v != v {
		return v
	}
	a := float32(math.Abs(float64(v)))
	k := sort.Search(len(e4m3Pos), func(i int) bool { return e4m3Pos[i] >= a })
	var r float32
	switch {
	case k == len(e4m3Pos):
		r = e4m3Pos[len(e4m3Pos)-1]
	case e4m3Pos[k] == a || k == 0:
		r = e4m3Pos[k]
	default:
		lo, hi := e4m3Pos[k-1], e4m3Pos[k]
		switch {
		case a-lo < hi-a:
			r = lo
		case a-lo > hi-a:
			r = hi
		case (k-1)%2 == 0:
			r = lo
		default:
			r = hi
		}
	}
	if v < 0 {
		r = -r
	}
	return r
}

// QuantDequantFP8 applies the reference's activation quantisation to one or
// more rows of length in (design §2.13): per block of 128 inputs, scale =
// 2^ceil(log2(max(amax, 1e-4)/448)) and x ← e4m3(clamp(x/scale, ±448))·scale.
// Engines use it as an optional switch for parity with FP8 GPU runs.
func QuantDequantFP8(x []float32, in int) {
	for r := 0; r+in <= len(x); r += in {
		row := x[r : r+in]
		for b0 := 0; b0 < in; b0 += FP8Block {
			blk := row[b0:min(b0+FP8Block, in)]
			var amax float32
			for _, v := range blk {
				amax = max(amax, float32(math.Abs(float64(v))))
			}
			amax = max(amax, 1e-4)
			scale := float32(math.Exp2(math.Ceil(math.Log2(float64(amax / 448)))))
			for i, v := range blk {
				q := min(max(v/scale, -448), 448)
				blk[i] = ToE4M3(q) * scale
			}
		}
	}
}
