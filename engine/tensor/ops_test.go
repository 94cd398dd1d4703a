package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/steerbook/steerbook/engine/safetensors"
)

func TestDotAxpy(t *testing.T) { forEachKernelSet(t, testDotAxpy) }

func testDotAxpy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := range 70 {
		a, b := randomVec(rng, n), randomVec(rng, n+3)
		var want, mag float64
		for i := range n {
			want += float64(a[i]) * float64(b[i])
			mag += math.Abs(float64(a[i]) * float64(b[i]))
		}
		if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-6*mag+1e-30 {
			t.Errorf("Dot n=%d: %g, want %g", n, got, want)
		}
		y := randomVec(rng, n+2)
		ref := append([]float32(nil), y...)
		alpha := float32(rng.NormFloat64())
		Axpy(alpha, a, y)
		for i := range n {
			ref[i] += alpha * a[i]
		}
		for i := range y {
			// FMA rounds once where a·x+y rounds twice: allow an ulp or so;
			// elements past len(x) must be untouched.
			tol := 0.0
			if i < n {
				tol = 1e-6 * (math.Abs(float64(ref[i])) + math.Abs(float64(alpha*a[i])))
			}
			if math.Abs(float64(y[i]-ref[i])) > tol {
				t.Fatalf("Axpy n=%d [%d]: %g, want %g", n, i, y[i], ref[i])
			}
		}
	}
}

func TestRMSNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{1, 7, 128, 4099} {
		x, w := randomVec(rng, n), randomVec(rng, n)
		var ss float64
		for _, v := range x {
			ss += float64(v) * float64(v)
		}
		r := 1 / math.Sqrt(ss/float64(n)+1e-6)
		got := make([]float32, n)
		RMSNorm(got, x, w, 1e-6)
		for i := range n {
			want := float64(w[i]) * float64(x[i]) * r
			if math.Abs(float64(got[i])-want) > 1e-6*math.Abs(want)+1e-12 {
				t.Fatalf("n=%d [%d]: %g, want %g", n, i, got[i], want)
			}
		}
		// In place and unweighted.
		RMSNorm(x, x, nil, 1e-6)
		if math.Abs(float64(x[0])*float64(w[0])-float64(got[0])) > 1e-5*math.Abs(float64(got[0]))+1e-12 {
			t.Errorf("in-place unweighted norm disagrees: %g·%g vs %g", x[0], w[0], got[0])
		}
	}
}

func TestSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, n := range []int{1, 2, 5, 100} {
		x := randomVec(rng, n)
		for i := range x {
			x[i] *= 10
		}
		want := make([]float64, n)
		var z float64
		for i, v := range x {
			want[i] = math.Exp(float64(v))
			z += want[i]
		}
		Softmax(x)
		var sum float64
		for i := range x {
			if math.Abs(float64(x[i])-want[i]/z) > 1e-6 {
				t.Fatalf("n=%d [%d]: %g, want %g", n, i, x[i], want[i]/z)
			}
			sum += float64(x[i])
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("n=%d sums to %g", n, sum)
		}
	}
	inf := float32(math.Inf(-1))
	x := []float32{1000, 1000 + float32(math.Log(3)), inf}
	p0 := 1 / (1 + math.Exp(float64(x[1]-x[0]))) // ≈ 0.25 from the stored float32s
	Softmax(x)
	if math.Abs(float64(x[0])-p0) > 1e-6 || math.Abs(float64(x[1])-(1-p0)) > 1e-6 || x[2] != 0 {
		t.Errorf("large/masked softmax = %v, want [%g %g 0]", x, p0, 1-p0)
	}
	x = []float32{inf, inf}
	Softmax(x)
	if x[0] != 0 || x[1] != 0 {
		t.Errorf("fully masked softmax = %v", x)
	}
}

func TestRoundBF16(t *testing.T) {
	x := []float32{1 + 1.0/256, 1 + 3.0/256, 1 + 1.0/128, -3.0000001}
	RoundBF16(x)
	want := []float32{1, 1 + 1.0/64, 1 + 1.0/128, -3}
	for i := range x {
		if x[i] != want[i] {
			t.Errorf("[%d] = %g, want %g", i, x[i], want[i])
		}
	}
}

// TestToE4M3 compares the encoder with a brute-force nearest search over all
// finite codes (ties to the even code).
func TestToE4M3(t *testing.T) {
	brute := func(v float32) float32 {
		c := min(max(float64(v), -448), 448)
		best, bestCode := math.Inf(1), -1
		for code := range 256 {
			f := safetensors.E4M3ToF32(byte(code))
			if f != f {
				continue
			}
			d := math.Abs(float64(f) - c)
			if d < best || (d == best && code&1 == 0 && bestCode&1 == 1) {
				best, bestCode = d, code
			}
		}
		return safetensors.E4M3ToF32(byte(bestCode))
	}
	rng := rand.New(rand.NewPCG(11, 12))
	var vals []float32
	for code := range 0x7e { // exact midpoints are the tie cases
		a, b := safetensors.E4M3ToF32(byte(code)), safetensors.E4M3ToF32(byte(code+1))
		vals = append(vals, a, (a+b)/2, -(a+b)/2, a+(b-a)*0.49, a+(b-a)*0.51)
	}
	for range 2000 {
		vals = append(vals, float32(rng.NormFloat64()*math.Exp2(float64(rng.IntN(24)-12))))
	}
	vals = append(vals, 448, 449, 464, 1e9, -1e9, 0)
	for _, v := range vals {
		if got, want := ToE4M3(v), brute(v); got != want && !(got == 0 && want == 0) {
			t.Fatalf("ToE4M3(%g) = %g, want %g", v, got, want)
		}
	}
}

func TestQuantDequantFP8(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	in := 200 // one full block of 128 and a partial block of 72
	x := randomVec(rng, 2*in)
	for i := range in { // row 0: amax ≤ 1 → scale 2^-8 in block 0
		x[i] = float32(math.Tanh(float64(x[i])))
	}
	x[0] = 1
	for i := 128; i < in; i++ { // row 0 block 1: all zero → stays zero
		x[i] = 0
	}
	orig := append([]float32(nil), x...)
	QuantDequantFP8(x, in)
	for i := range 128 {
		if want := ToE4M3(orig[i]*256) / 256; x[i] != want {
			t.Fatalf("[%d] %g → %g, want %g", i, orig[i], x[i], want)
		}
	}
	for i := 128; i < in; i++ {
		if x[i] != 0 {
			t.Fatalf("zero block changed: [%d] = %g", i, x[i])
		}
	}
	// Row 1, block 0: scale from its own amax.
	var amax float32
	for _, v := range orig[in : in+128] {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	scale := float32(math.Exp2(math.Ceil(math.Log2(float64(amax / 448)))))
	for i := in; i < in+128; i++ {
		if want := ToE4M3(orig[i]/scale) * scale; x[i] != want {
			t.Fatalf("row 1 [%d]: %g, want %g", i-in, x[i], want)
		}
	}
}
