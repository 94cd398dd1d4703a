package tensor

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// BenchmarkMatMul runs every format's fast kernel (SIMD where available, then
// the portable Go kernel as "fastgo") and its reference twin on
// GEMV (rows=1) and GEMM (rows=64) shapes and reports GFLOP/s (2 flops per
// multiply-add). Reference runs are slow; select with -bench 'MatMul/.*/.*/.*/fast'
// (both fast kernels) or '/fast$'
// to skip them.
//
//	go test ./engine/tensor -run '^$' -bench MatMul -benchtime 2x
func BenchmarkMatMul(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, f := range formats {
		for _, sz := range []struct{ out, in int }{{1024, 1024}, {512, 4096}} {
			l := randomLinear(rng, f, sz.out, sz.in)
			for _, rows := range []int{1, 64} {
				x := randomVec(rng, rows*sz.in)
				y := make([]float32, rows*sz.out)
				for _, impl := range []struct {
					name string
					l    Linear
					simd bool
				}{{"fast", l, hasAVX2}, {"fastgo", l, false}, {"ref", Reference(l), false}} {
					name := fmt.Sprintf("%s/%dx%d/rows=%d/%s", strings.ReplaceAll(f, "/", "-"), sz.out, sz.in, rows, impl.name)
					b.Run(name, func(b *testing.B) {
						defer func(old bool) { useSIMD = old }(useSIMD)
						useSIMD = impl.simd
						start := time.Now()
						for b.Loop() {
							impl.l.MatMul(y, x, rows)
						}
						flops := 2 * float64(rows*sz.out*sz.in) * float64(b.N)
						b.ReportMetric(flops/time.Since(start).Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}

// BenchmarkSmall measures per-call overhead on matrices of the size of the
// tiny default model (single-threaded below the parallel threshold).
func BenchmarkSmall(b *testing.B) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, f := range []string{"BF16", "FP8", "FP4"} {
		l := randomLinear(rng, f, 128, 128)
		x := randomVec(rng, 128)
		y := make([]float32, 128)
		b.Run(f+"/128x128/rows=1", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				l.MatMul(y, x, 1)
			}
		})
	}
}
