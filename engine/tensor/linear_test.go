package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/internal/golden"
)

// randomLinear builds a Linear of the given format with random weights.
// FP8 codes avoid the two NaN codes; scale exponents stay near 1 so products
// are well inside float32 range.
func randomLinear(rng *rand.Rand, format string, out, in int) Linear {
	switch format {
	case "F32":
		w := make([]float32, out*in)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		return NewF32(w, out, in)
	case "BF16":
		raw := make([]byte, 2*out*in)
		for i := 0; i < out*in; i++ {
			h := safetensors.F32ToBF16(float32(rng.NormFloat64()))
			raw[2*i], raw[2*i+1] = byte(h), byte(h>>8)
		}
		return NewBF16(raw, out, in)
	case "FP8", "FP8/F32-scale":
		raw := make([]byte, out*in)
		for i := range raw {
			for {
				raw[i] = byte(rng.IntN(256))
				if raw[i]&0x7f != 0x7f {
					break
				}
			}
		}
		n := ceilDiv(out, 128) * ceilDiv(in, 128)
		if format == "FP8" {
			s := make([]byte, n)
			for i := range s {
				s[i] = byte(120 + rng.IntN(10))
			}
			return NewFP8(raw, s, out, in)
		}
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.Float64() + 0.01)
		}
		return NewFP8F32Scale(raw, s, out, in)
	case "FP4":
		raw := make([]byte, out*ceilDiv(in, 2))
		for i := range raw {
			raw[i] = byte(rng.IntN(256))
		}
		s := make([]byte, out*ceilDiv(in, 32))
		for i := range s {
			s[i] = byte(122 + rng.IntN(8))
		}
		return NewFP4(raw, s, out, in)
	}
	panic(format)
}

var formats = []string{"F32", "BF16", "FP8", "FP8/F32-scale", "FP4"}

func randomVec(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	return x
}

// TestFastMatchesReference compares every fast kernel with its reference twin
// on random data, including shapes that are not multiples of the tile, scale
// block or group sizes, and with more goroutines than cores.
func TestFastMatchesReference(t *testing.T) {
	forEachKernelSet(t, testFastMatchesReference)
}

// forEachKernelSet runs a test with the portable Go kernels and, where the
// CPU has them, with the SIMD kernels.
func forEachKernelSet(t *testing.T, f func(t *testing.T)) {
	defer func(old bool) { useSIMD = old }(useSIMD)
	for _, simd := range []bool{false, true} {
		name := "go"
		if simd {
			if !hasAVX2 {
				t.Log("no AVX2+FMA on this CPU: SIMD kernels not tested")
				continue
			}
			name = "avx2"
		}
		useSIMD = simd
		t.Run(name, f)
	}
}

func testFastMatchesReference(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(5))
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := []struct{ out, in, rows int }{
		{1, 1, 1}, {3, 7, 2}, {5, 32, 1}, {4, 128, 3}, {129, 130, 2}, {130, 33, 4},
		{257, 300, 5}, {63, 513, 9}, {200, 1024, 1}, {8, 2, 0}, {6, 264, 2}, {9, 40, 3}, {5, 16, 1},
	}
	for _, f := range formats {
		for _, s := range shapes {
			t.Run(fmt.Sprintf("%s/%dx%d/rows%d", f, s.out, s.in, s.rows), func(t *testing.T) {
				l := randomLinear(rng, f, s.out, s.in)
				if Format(l) != f {
					t.Fatalf("Format = %s", Format(l))
				}
				x := randomVec(rng, s.rows*s.in)
				got := make([]float32, s.rows*s.out)
				for i := range got {
					got[i] = float32(math.NaN()) // MatMul must overwrite
				}
				want := make([]float32, s.rows*s.out)
				l.MatMul(got, x, s.rows)
				Reference(l).MatMul(want, x, s.rows)
				e := l.(elementer)
				for r := range s.rows {
					for o := range s.out {
						// Error bound for float32 accumulation: a few ulps of Σ|x·w|.
						var mag float64
						for i := range s.in {
							mag += math.Abs(float64(x[r*s.in+i]) * float64(e.at(o, i)))
						}
						g, w := got[r*s.out+o], want[r*s.out+o]
						if math.Abs(float64(g-w)) > 1e-6*mag+1e-30 || g != g {
							t.Fatalf("row %d out %d: fast %g, reference %g (Σ|xw| = %g)", r, o, g, w, mag)
						}
					}
				}
				// Row dequantises exactly what at() defines.
				row := make([]float32, s.in)
				for _, o := range []int{0, s.out / 2, s.out - 1} {
					l.(Rower).Row(row, o)
					for i := range s.in {
						if math.Float32bits(row[i]) != math.Float32bits(e.at(o, i)) {
							t.Fatalf("Row(%d)[%d] = %g, at = %g", o, i, row[i], e.at(o, i))
						}
					}
				}
			})
		}
	}
}

// TestFormatDefinitions checks hand-computed elements against design §3.3.
func TestFormatDefinitions(t *testing.T) {
	// FP4: byte 0x9A = high nibble 1001 (−0.5), low nibble 1010 (−1); byte 0x37 =
	// high 0011 (1.5), low 0111 (6). Scale bytes 128 (×2) then 126 (×0.5).
	packed := make([]byte, 2*20) // out=2, in=40 → 20 bytes per row
	packed[0], packed[1] = 0x9A, 0x37
	packed[16] = 0x07 // elements 32, 33 of row 0: 6, 0
	scale := []byte{128, 126, 127, 127}
	l := NewFP4(packed, scale, 2, 40).(*fp4Linear)
	for _, c := range []struct {
		o, i int
		want float32
	}{{0, 0, -2}, {0, 1, -1}, {0, 2, 12}, {0, 3, 3}, {0, 32, 3}, {0, 33, 0}, {1, 0, 0}} {
		if got := l.at(c.o, c.i); got != c.want {
			t.Errorf("FP4 W[%d][%d] = %g, want %g", c.o, c.i, got, c.want)
		}
	}
	// FP8: 0x38 = 1.0, 0xC4 = −3.0 (1.1000 · 2^(8−7) with sign); blocks of 128.
	raw := make([]byte, 130*130)
	raw[0] = 0x38
	raw[129*130+129] = 0xC4
	sc := []byte{129, 127, 127, 126} // [2][2]
	f := NewFP8(raw, sc, 130, 130).(*fp8Linear)
	if f.at(0, 0) != 4 || f.at(129, 129) != -1.5 {
		t.Errorf("FP8 W[0][0] = %g (want 4), W[129][129] = %g (want -1.5)", f.at(0, 0), f.at(129, 129))
	}
}

// TestGoldenFP8EqualsBF16: the README of the golden checkpoint says every
// dequantised FP8/FP4 weight equals the BF16 copy exactly; check each linear
// row by row, and that the products through both formats agree bit for bit
// (same tile values, same summation order).
func TestGoldenFP8EqualsBF16(t *testing.T) {
	fp8, err := safetensors.Open(golden.Dir(t, "fp8"))
	if err != nil {
		t.Fatal(err)
	}
	defer fp8.Close()
	bf, err := safetensors.Open(golden.Dir(t, "bf16"))
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	counts := map[string]int{}
	for _, name := range fp8.Names() {
		w, _ := fp8.Tensor(name)
		if w.DType != safetensors.F8E4M3 && w.DType != safetensors.I8 {
			continue
		}
		scaleName := name[:len(name)-len(".weight")] + ".scale"
		s, err := fp8.Tensor(scaleName)
		if err != nil {
			t.Fatal(err)
		}
		q, err := FromTensor(w, s)
		if err != nil {
			t.Fatal(err)
		}
		rt, err := bf.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		ref, err := FromTensor(rt, nil)
		if err != nil {
			t.Fatal(err)
		}
		if q.Out() != ref.Out() || q.In() != ref.In() {
			t.Fatalf("%s: %s is %d×%d, bf16 is %d×%d", name, Format(q), q.Out(), q.In(), ref.Out(), ref.In())
		}
		counts[Format(q)]++
		a, b := make([]float32, q.In()), make([]float32, q.In())
		for o := range q.Out() {
			q.(Rower).Row(a, o)
			ref.(Rower).Row(b, o)
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("%s [%d][%d]: %s dequantises to %g, bf16 has %g", name, o, i, Format(q), a[i], b[i])
				}
			}
		}
		const rows = 3
		x := randomVec(rng, rows*q.In())
		y1, y2 := make([]float32, rows*q.Out()), make([]float32, rows*q.Out())
		q.MatMul(y1, x, rows)
		ref.MatMul(y2, x, rows)
		for i := range y1 {
			if math.Float32bits(y1[i]) != math.Float32bits(y2[i]) {
				t.Fatalf("%s: MatMul output %d: %g vs bf16 %g", name, i, y1[i], y2[i])
			}
		}
	}
	if counts["FP8"] != 52 || counts["FP4"] != 144 {
		t.Errorf("checked %v, want 52 FP8 and 144 FP4 linears", counts)
	}
}

func TestFromTensorErrors(t *testing.T) {
	mk := func(name string, dt safetensors.DType, shape ...int) *safetensors.Tensor {
		n := dt.Size()
		for _, d := range shape {
			n *= d
		}
		return &safetensors.Tensor{Name: name, File: "f.safetensors", DType: dt, Shape: shape, Data: make([]byte, n)}
	}
	for _, c := range []struct {
		name  string
		w, s  *safetensors.Tensor
		want  string
		nilOK bool
	}{
		{"fp8 ok", mk("a.weight", safetensors.F8E4M3, 130, 257), mk("a.scale", safetensors.F8E8M0, 2, 3), "FP8", true},
		{"fp8 f32 scale ok", mk("a.weight", safetensors.F8E4M3, 128, 128), mk("a.scale", safetensors.F32, 1, 1), "FP8/F32-scale", true},
		{"fp4 ok", mk("e.weight", safetensors.I8, 64, 32), mk("e.scale", safetensors.F8E8M0, 64, 2), "FP4", true},
		{"bf16 ok", mk("b.weight", safetensors.BF16, 3, 5), nil, "BF16", true},
		{"f32 ok", mk("b.weight", safetensors.F32, 3, 5), nil, "F32", true},
		{"f16 ok", mk("b.weight", safetensors.F16, 3, 5), nil, "F32", true},
		{"1-D", mk("n.weight", safetensors.BF16, 5), nil, `"n.weight"`, false},
		{"fp8 without scale", mk("a.weight", safetensors.F8E4M3, 4, 4), nil, `"a.weight" (f.safetensors) has no scale`, false},
		{"fp8 scale shape", mk("a.weight", safetensors.F8E4M3, 130, 257), mk("a.scale", safetensors.F8E8M0, 2, 2), `scale "a.scale" of weight "a.weight" [130 257]: shape [2 2], want [2 3]`, false},
		{"fp8 scale dtype", mk("a.weight", safetensors.F8E4M3, 4, 4), mk("a.scale", safetensors.BF16, 1, 1), `dtype BF16`, false},
		{"fp4 scale shape", mk("e.weight", safetensors.I8, 64, 32), mk("e.scale", safetensors.F8E8M0, 64, 1), `"e.scale"`, false},
		{"fp4 no scale", mk("e.weight", safetensors.I8, 64, 32), nil, `"e.weight"`, false},
		{"bf16 with scale", mk("b.weight", safetensors.BF16, 3, 5), mk("b.scale", safetensors.F8E8M0, 1, 1), `"b.weight" is BF16 but has a scale`, false},
		{"int dtype", mk("t", safetensors.I64, 3, 5), nil, `"t"`, false},
		{"short data", &safetensors.Tensor{Name: "s", DType: safetensors.BF16, Shape: []int{2, 2}, Data: make([]byte, 3)}, nil, `"s"`, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := FromTensor(c.w, c.s)
			if c.nilOK {
				if err != nil {
					t.Fatal(err)
				}
				if Format(l) != c.want {
					t.Fatalf("format %s, want %s", Format(l), c.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, got %s", Format(l))
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q lacks %q", err, c.want)
			}
		})
	}
}

// TestDequantAllCodes decodes every byte code (every BF16 bit pattern) through
// Row and compares it with the format definition, NaN codes included.
func TestDequantAllCodes(t *testing.T) {
	forEachKernelSet(t, func(t *testing.T) {
		codes := make([]byte, 256)
		for i := range codes {
			codes[i] = byte(i)
		}
		bf := make([]byte, 2*65536)
		for i := range 65536 {
			bf[2*i], bf[2*i+1] = byte(i), byte(i>>8)
		}
		for _, l := range []Linear{
			NewFP8(codes, []byte{127, 127}, 1, 256),
			NewFP8(codes, []byte{131}, 2, 128),
			NewFP4(codes, []byte{126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141}, 1, 512),
			NewBF16(bf, 1, 65536),
		} {
			e := l.(elementer)
			row := make([]float32, l.In())
			for o := range l.Out() {
				l.(Rower).Row(row, o)
				for i, v := range row {
					want := e.at(o, i)
					if math.Float32bits(v) != math.Float32bits(want) && !(v != v && want != want) {
						t.Fatalf("%s [%d][%d]: %g (%#x), want %g (%#x)", Format(l), o, i, v, math.Float32bits(v), want, math.Float32bits(want))
					}
				}
			}
		}
	})
}

// TestConcurrentMatMul: one Linear used from several goroutines at once (as
// batched generation does) gives every caller the sequential result.
func TestConcurrentMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, f := range formats {
		l := randomLinear(rng, f, 300, 520)
		const rows = 3
		xs := make([][]float32, 6)
		want := make([][]float32, len(xs))
		for i := range xs {
			xs[i] = randomVec(rng, rows*l.In())
			want[i] = make([]float32, rows*l.Out())
			l.MatMul(want[i], xs[i], rows)
		}
		errs := make(chan string, len(xs))
		for i := range xs {
			go func() {
				got := make([]float32, rows*l.Out())
				for range 5 {
					l.MatMul(got, xs[i], rows)
					for j := range got {
						if got[j] != want[i][j] {
							errs <- fmt.Sprintf("%s caller %d: element %d %g != %g", f, i, j, got[j], want[i][j])
							return
						}
					}
				}
				errs <- ""
			}()
		}
		for range xs {
			if e := <-errs; e != "" {
				t.Error(e)
			}
		}
	}
}
