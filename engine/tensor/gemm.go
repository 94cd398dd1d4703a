package tensor

import (
	"runtime"
	"sync"
)

// The fast kernels share one driver. For a tile of 4 output rows × blockK
// input columns the format's dequantiser fills a small f32 scratch buffer
// (the only place the weights exist in f32), and that tile is then dotted
// with every input row: the dequantisation cost is paid once per call
// however many rows are batched (prefill), and each x element loaded feeds
// 4 independent accumulators. Output rows are split across goroutines.

// blockK is the tile width: a multiple of the FP8 (128) and FP4 (32) scale
// blocks, and small enough that 4 rows of scratch (4 KiB) stay in L1.
const blockK = 256

// tileRows is the number of output rows computed together.
const tileRows = 4

// useSIMD selects the AVX2 kernels where the CPU has them; tests switch it
// off to exercise the portable path too.
var useSIMD = hasAVX2

// minParallelMACs is the work below which goroutines cost more than they
// save (the tiny default model's matrices are mostly under it).
const minParallelMACs = 1 << 16

// dequantizer is what a format provides to the driver.
type dequantizer interface {
	Out() int
	In() int
	// dequant writes W[o][k0:k1] to dst[0:k1-k0]; k0 is a multiple of blockK.
	dequant(dst []float32, o, k0, k1 int)
}

// direct is implemented by F32 weights: the tile is the stored row itself.
type direct interface {
	rowSlice(o, k0, k1 int) []float32
}

func gemm(d dequantizer, dst, x []float32, rows int) {
	out, in := d.Out(), d.In()
	if rows == 0 || out == 0 {
		return
	}
	workers := runtime.GOMAXPROCS(0)
	if macs := rows * out * in; macs < minParallelMACs*workers {
		workers = max(1, macs/minParallelMACs)
	}
	tiles := ceilDiv(out, tileRows)
	workers = min(workers, tiles)
	if workers <= 1 {
		gemmRange(d, dst, x, rows, 0, out)
		return
	}
	var wg sync.WaitGroup
	per := ceilDiv(tiles, workers)
	for w := range workers {
		o0 := w * per * tileRows
		o1 := min(out, o0+per*tileRows)
		if o0 >= o1 {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			gemmRange(d, dst, x, rows, o0, o1)
		}()
	}
	wg.Wait()
}

// workspace is a worker's scratch memory, pooled because the decode loop
// calls MatMul thousands of times per token.
type workspace struct {
	scratch [tileRows * blockK]float32
	acc     []float32 // SIMD partial sums of one tile, [rows][4]
	acc64   []float64 // running sums of one tile across k blocks, [rows][4]
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// gemmRange computes output columns [o0, o1) for every row. Partial sums of
// each 256-input block are float32; they are combined in float64, so the
// rounding error does not grow with In. (Downstream FP8 rounding of the KV
// cache makes the model sensitive to last-bit differences: with float32
// accumulation across blocks the portable kernel missed the golden logits by
// up to 6e-3 at a third of the positions.)
func gemmRange(d dequantizer, dst, x []float32, rows, o0, o1 int) {
	out, in := d.Out(), d.In()
	dr, isDirect := d.(direct)
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	scratch := ws.scratch[:]
	if cap(ws.acc64) < tileRows*rows {
		ws.acc = make([]float32, tileRows*rows)
		ws.acc64 = make([]float64, tileRows*rows)
	}
	acc, acc64 := ws.acc[:tileRows*rows], ws.acc64[:tileRows*rows]
	var w [tileRows][]float32
	for o := o0; o < o1; o += tileRows {
		nr := min(tileRows, o1-o)
		clear(acc64)
		for k0 := 0; k0 < in; k0 += blockK {
			k1 := min(k0+blockK, in)
			n := k1 - k0
			for t := range tileRows {
				if t >= nr {
					w[t] = w[0] // padding rows: computed, then discarded
					continue
				}
				if isDirect {
					w[t] = dr.rowSlice(o+t, k0, k1)
				} else {
					s := scratch[t*blockK : t*blockK+n]
					d.dequant(s, o+t, k0, k1)
					w[t] = s
				}
			}
			n8 := 0
			if useSIMD && n >= 8 {
				n8 = n &^ 7
				dot4RowsAVX(&w[0][0], &w[1][0], &w[2][0], &w[3][0], &x[k0], n8, rows, in, &acc[0])
				for i, v := range acc {
					acc64[i] += float64(v)
				}
			}
			if n8 < n { // the portable kernel, or the SIMD kernel's ≤7 leftovers
				for r := range rows {
					s0, s1, s2, s3 := dot4(w[0][n8:], w[1][n8:], w[2][n8:], w[3][n8:], x[r*in+k0+n8:r*in+k1])
					a := acc64[tileRows*r : tileRows*r+tileRows]
					a[0], a[1], a[2], a[3] = a[0]+s0, a[1]+s1, a[2]+s2, a[3]+s3
				}
			}
		}
		for r := range rows {
			a := acc64[tileRows*r : tileRows*r+nr]
			dd := dst[r*out+o : r*out+o+nr]
			for t, v := range a {
				dd[t] = float32(v)
			}
		}
	}
}

// dot4 returns the dot products of x with four weight rows in float64
// (products of two float32 are exact in float64), two interleaved chains per
// row to hide the add latency.
func dot4(w0, w1, w2, w3, x []float32) (float64, float64, float64, float64) {
	n := len(x)
	w0, w1, w2, w3 = w0[:n], w1[:n], w2[:n], w3[:n]
	var a0, a1, a2, a3, b0, b1, b2, b3 float64
	i := 0
	for ; i+2 <= n; i += 2 {
		x0, x1 := float64(x[i]), float64(x[i+1])
		a0 += float64(w0[i]) * x0
		a1 += float64(w1[i]) * x0
		a2 += float64(w2[i]) * x0
		a3 += float64(w3[i]) * x0
		b0 += float64(w0[i+1]) * x1
		b1 += float64(w1[i+1]) * x1
		b2 += float64(w2[i+1]) * x1
		b3 += float64(w3[i+1]) * x1
	}
	if i < n {
		x0 := float64(x[i])
		a0 += float64(w0[i]) * x0
		a1 += float64(w1[i]) * x0
		a2 += float64(w2[i]) * x0
		a3 += float64(w3[i]) * x0
	}
	return a0 + b0, a1 + b1, a2 + b2, a3 + b3
}
