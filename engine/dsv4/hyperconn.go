package dsv4

import (
	"math"

	"github.com/steerbook/steerbook/engine/tensor"
)

// Manifold-constrained hyper-connections (design §2.2). The residual state of
// a token is hc_mult streams of D values, stream-major.

// hcParams are one mHC site's parameters: fn [(2+n)·n, n·D], base, scale [3].
type hcParams struct {
	fn    Linear // f32 [(2+n)·n, n·D]; a Dense (float64-accumulated dot), see hc below
	base  []float32
	scale []float32
}

// hcMix is the per-token result of hc_pre: the pre weights, the post weights
// and the Sinkhorn-normalised mixing matrix C[j][k] (source j, destination k).
type hcMix struct {
	pre, post []float32 // [n]
	comb      []float32 // [n·n]
}

// hcMixes computes m = (fn·X)·rsqrt(mean(X²)+eps) for every row of h
// ([rows][n·D]) into mixes [rows][fn.Out()].
func hcMixes(p *hcParams, h []float32, rows int, eps float64, mixes []float32) {
	w := p.fn.In()
	p.fn.MatMul(mixes, h, rows)
	k := p.fn.Out()
	for r := 0; r < rows; r++ {
		x := h[r*w : (r+1)*w]
		var ss float64
		for _, v := range x {
			ss += float64(v * v)
		}
		rs := float32(1 / math.Sqrt(float64(float32(ss)/float32(w)+float32(eps))))
		for i := 0; i < k; i++ {
			mixes[r*k+i] *= rs
		}
	}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }

// splitSinkhorn turns one row of mixes into pre, post and the doubly
// stochastic comb (softmax over k, + eps, column normalise, then iters−1
// rounds of row then column normalisation).
func splitSinkhorn(m []float32, p *hcParams, n, iters int, eps float32, out *hcMix) {
	a, b := p.scale, p.base
	for j := 0; j < n; j++ {
		out.pre[j] = sigmoid(m[j]*a[0]+b[j]) + eps
		out.post[j] = 2 * sigmoid(m[n+j]*a[1]+b[n+j])
	}
	c := out.comb
	for j := 0; j < n; j++ {
		row := c[j*n : (j+1)*n]
		mx := float32(math.Inf(-1))
		for k := 0; k < n; k++ {
			row[k] = m[2*n+j*n+k]*a[2] + b[2*n+j*n+k]
			mx = max(mx, row[k])
		}
		var s float32
		for k := range row {
			row[k] = float32(math.Exp(float64(row[k] - mx)))
			s += row[k]
		}
		for k := range row {
			row[k] = row[k]/s + eps
		}
	}
	colNorm := func() {
		for k := 0; k < n; k++ {
			var s float32
			for j := 0; j < n; j++ {
				s += c[j*n+k]
			}
			s += eps
			for j := 0; j < n; j++ {
				c[j*n+k] /= s
			}
		}
	}
	colNorm()
	for it := 0; it < iters-1; it++ {
		for j := 0; j < n; j++ {
			var s float32
			for k := 0; k < n; k++ {
				s += c[j*n+k]
			}
			s += eps
			for k := 0; k < n; k++ {
				c[j*n+k] /= s
			}
		}
		colNorm()
	}
}

// hcCollapse writes y = Σ_j pre[j]·h[j] for one token.
func hcCollapse(y, h, pre []float32, d int) {
	for c := range y[:d] {
		y[c] = 0
	}
	for j := range pre {
		tensor.Axpy(pre[j], h[j*d:(j+1)*d], y[:d])
	}
}

// hcHead is the head's collapse of the streams (design §2.11): for each of
// the rows of h ([rows][n·D]), pre = sigmoid(mix·scale[0] + base) + hc_eps
// weights the n streams into one D-vector of the result ([rows][D]). Unlike
// the blocks' hc_pre it has no post weights and no Sinkhorn matrix. The main
// head and the MTP head share it, each with its own parameters.
func hcHead(p *hcParams, h []float32, rows, n, d int, rmsEps, hcEps float64) []float32 {
	mx := make([]float32, rows*n)
	hcMixes(p, h, rows, rmsEps, mx)
	z := make([]float32, rows*d)
	pre := make([]float32, n)
	for i := 0; i < rows; i++ {
		for j := 0; j < n; j++ {
			pre[j] = sigmoid(mx[i*n+j]*p.scale[0]+p.base[j]) + float32(hcEps)
		}
		hcCollapse(z[i*d:(i+1)*d], h[i*n*d:(i+1)*n*d], pre, d)
	}
	return z
}

// hcPost writes out[k] = post[k]·f + Σ_j C[j][k]·h[j] for one token
// (out and h must not alias).
func hcPost(out, f, h []float32, mix *hcMix, n, d int) {
	for k := 0; k < n; k++ {
		o := out[k*d : (k+1)*d]
		pk := mix.post[k]
		for c := range o {
			o[c] = pk * f[c]
		}
		for j := 0; j < n; j++ {
			tensor.Axpy(mix.comb[j*n+k], h[j*d:(j+1)*d], o)
		}
	}
}
