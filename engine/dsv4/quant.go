package dsv4

import "math"

// The reference's quantisation-aware-training simulations (design §2.6 step 5,
// §2.8 step 7, §2.9), done in float32 exactly like its CPU shims.

// ceilPow2Scale returns 2^ceil(log2(amax·(1/maxval))) with the product formed in
// float32 (UE8M0 power-of-two scale).
func ceilPow2Scale(amax, invMax float32) float32 {
	r := amax * invMax
	m, e := math.Frexp(float64(r))
	if m == 0.5 {
		e--
	}
	return float32(math.Ldexp(1, e))
}

// roundE4M3 rounds x (|x| ≤ 448) to the nearest float8_e4m3fn value, ties to even.
func roundE4M3(x float32) float32 {
	ax := math.Abs(float64(x))
	_, e := math.Frexp(ax)
	e--
	if e < -6 {
		e = -6
	}
	step := math.Ldexp(1, e-3)
	return float32(math.RoundToEven(float64(x)/step) * step)
}

// roundE2M1 rounds x (|x| ≤ 6) onto {0, .5, 1, 1.5, 2, 3, 4, 6}, ties to even.
func roundE2M1(x float32) float32 {
	ax := math.Abs(float64(x))
	step := 2.0
	if ax < 2 {
		step = 0.5
	} else if ax < 4 {
		step = 1
	}
	return float32(math.RoundToEven(float64(x)/step) * step)
}

var inv448 = float32(1.0 / 448.0)
var inv6 = float32(1.0 / 6.0)

// fp8RoundTrip quant-dequantises v in place in blocks of `block` values:
// scale = ceilPow2(max(amax,1e-4)/448), v = e4m3(clamp(v/scale, ±448))·scale.
func fp8RoundTrip(v []float32, block int) {
	for b := 0; b+block <= len(v); b += block {
		x := v[b : b+block]
		var amax float32
		for _, t := range x {
			amax = max(amax, float32(math.Abs(float64(t))))
		}
		amax = max(amax, 1e-4)
		s := ceilPow2Scale(amax, inv448)
		for i, t := range x {
			q := min(max(t/s, -448), 448)
			x[i] = roundE4M3(q) * s
		}
	}
}

// fp4RoundTrip quant-dequantises v in place in blocks of 32:
// scale = ceilPow2(max(amax, 6·2^-126)/6), v = e2m1(clamp(v/scale, ±6))·scale.
func fp4RoundTrip(v []float32) {
	const block = 32
	minAmax := float32(6 * math.Ldexp(1, -126))
	for b := 0; b+block <= len(v); b += block {
		x := v[b : b+block]
		var amax float32
		for _, t := range x {
			amax = max(amax, float32(math.Abs(float64(t))))
		}
		amax = max(amax, minAmax)
		s := ceilPow2Scale(amax, inv6)
		for i, t := range x {
			q := min(max(t/s, -6), 6)
			x[i] = roundE2M1(q) * s
		}
	}
}

// hadamard applies the orthonormal Sylvester–Walsh–Hadamard transform
// H_n·x/√n in place (natural order; len(x) a power of two).
func hadamard(x []float32) {
	n := len(x)
	for h := 1; h < n; h *= 2 {
		for i := 0; i < n; i += 2 * h {
			for j := i; j < i+h; j++ {
				a, b := x[j], x[j+h]
				x[j], x[j+h] = a+b, a-b
			}
		}
	}
	s := float32(1 / math.Sqrt(float64(n)))
	for i := range x {
		x[i] *= s
	}
}

// actQuantLinear applies the reference's FP8 activation quantisation (blocks of
// 128 along the input, UE8M0 scales; a shorter last block is its own block)
// to the input rows before the matrix product.
type actQuantLinear struct{ Linear }

func (a actQuantLinear) MatMul(dst, x []float32, rows int) {
	in := a.In()
	q := make([]float32, rows*in)
	copy(q, x[:rows*in])
	for r := 0; r < rows; r++ {
		row := q[r*in : (r+1)*in]
		for b := 0; b < in; b += 128 {
			blk := row[b:min(b+128, in)]
			fp8RoundTrip(blk, len(blk))
		}
	}
	a.Linear.MatMul(dst, q, rows)
}
