// Package tensor holds the engine's numeric kernels.
//
// Weight matrices stay in their stored format (F32, BF16, FP8 E4M3 with block
// scales, FP4 E2M1 with per-32 scales): the 284B-parameter release only fits
// in memory compressed, so dequantisation happens one small tile at a time
// inside the matrix product, never for a whole matrix.
//
// MatMul tiles the weights (4 output rows × 256 inputs), dequantises a tile
// into an f32 scratch buffer and dots it with every input row, so batched
// prefill pays for dequantisation once; output rows are split across
// runtime.GOMAXPROCS goroutines. On amd64 CPUs with AVX2+FMA the tile dot
// and the BF16/FP8/FP4 dequantisers run as assembly (simd_amd64.s); elsewhere,
// or with -tags purego, as portable Go with unrolled accumulators.
//
// Every fast kernel has a pure-Go reference twin (Reference) written for
// obviousness rather than speed; tests compare both fast kernel sets with it
// on random data and odd shapes.
package tensor

import (
	"fmt"
	"math"
)

// Linear is a weight matrix W of shape [out, in] applied as y = x·Wᵀ, kept in
// its stored format.
type Linear interface {
	Out() int
	In() int
	// MatMul computes dst[r*Out()+o] = Σ_i x[r*In()+i]·W[o][i] for r < rows.
	// dst is overwritten. Output rows are split across goroutines.
	MatMul(dst, x []float32, rows int)
}

// Rower is implemented by every Linear of this package: it dequantises one
// weight row, which is how an embedding table stored as a Linear is looked
// up and how tests inspect weights.
type Rower interface {
	// Row writes the dequantised W[o][0:In()] to dst[0:In()].
	Row(dst []float32, o int)
}

// At returns the dequantised element W[o][i] by the format's definition; the
// reference kernels are built on it.
type elementer interface {
	at(o, i int) float32
}

// Format names the storage format of a Linear made by this package
// ("F32", "BF16", "FP8", "FP8/F32-scale", "FP4").
func Format(l Linear) string {
	if f, ok := l.(interface{ format() string }); ok {
		return f.format()
	}
	return fmt.Sprintf("%T", l)
}

// Reference returns the pure-Go reference twin of a Linear made by this
// package: the same weights, multiplied element by element from the format's
// definition with float64 accumulation, single-threaded. It is slow and meant
// for tests and for checking a new kernel.
func Reference(l Linear) Linear {
	e, ok := l.(elementer)
	if !ok {
		panic(fmt.Sprintf("tensor.Reference: %T has no reference twin", l))
	}
	return reference{l, e}
}

type reference struct {
	Linear
	e elementer
}

func (r reference) MatMul(dst, x []float32, rows int) {
	out, in := r.Out(), r.In()
	checkMatMul(r.Linear, dst, x, rows)
	for row := range rows {
		for o := range out {
			var s float64
			for i := range in {
				s += float64(x[row*in+i]) * float64(r.e.at(o, i))
			}
			dst[row*out+o] = float32(s)
		}
	}
}

func (r reference) Row(dst []float32, o int) {
	for i := range r.In() {
		dst[i] = r.e.at(o, i)
	}
}

func (r reference) format() string { return "reference " + Format(r.Linear) }

// checkMatMul panics with a descriptive message on mis-sized buffers: a
// programming error in the caller, not a data error.
func checkMatMul(l Linear, dst, x []float32, rows int) {
	if rows < 0 || len(x) < rows*l.In() || len(dst) < rows*l.Out() {
		panic(fmt.Sprintf("tensor: %s [%d×%d] MatMul with rows=%d, len(x)=%d (need %d), len(dst)=%d (need %d)",
			Format(l), l.Out(), l.In(), rows, len(x), rows*l.In(), len(dst), rows*l.Out()))
	}
}

func checkLen(what string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("tensor: %s has %d elements, want %d", what, got, want))
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// fp4Values are the magnitudes of FP4 E2M1 codes 0–7 (design §3.3).
var fp4Values = [8]float32{0, 0.5, 1, 1.5, 2, 3, 4, 6}

// fp4Decode is the definition of one FP4 nibble: bit 3 sign, bits 0–2 index.
func fp4Decode(n byte) float32 {
	v := fp4Values[n&7]
	if n&8 != 0 {
		v = -v
	}
	return v
}

var nan32 = float32(math.NaN())
