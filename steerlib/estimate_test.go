package steerlib

import (
	"math"
	"math/rand/v2"
	"testing"
)

// plantedPairs builds paired activations x± = c_i ± (a_i/2)·u + ε: c_i is
// pair content from a random rank-5 subspace orthogonal to u (large
// variance, shared by both sides of a pair), a_i ∈ [2,4] varies so the
// centred differences still spread along u, ε is small isotropic noise.
func plantedPairs(rng *rand.Rand, n, d int, noise float64) (pos, neg [][]float64, u []float64) {
	randVec := func() []float64 {
		v := make([]float64, d)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	u = randVec()
	normalize(u)
	var basis [][]float64
	for len(basis) < 5 {
		b := randVec()
		b = sub(b, scale(u, dot(b, u)))
		for _, q := range basis {
			b = sub(b, scale(q, dot(b, q)))
		}
		normalize(b)
		basis = append(basis, b)
	}
	for i := 0; i < n; i++ {
		c := make([]float64, d)
		for _, q := range basis {
			c = addv(c, scale(q, 5*rng.NormFloat64()))
		}
		a := 2 + 2*rng.Float64()
		p, m := addv(c, scale(u, a/2)), addv(c, scale(u, -a/2))
		for j := 0; j < d; j++ {
			p[j] += noise * rng.NormFloat64()
			m[j] += noise * rng.NormFloat64()
		}
		pos, neg = append(pos, p), append(neg, m)
	}
	return pos, neg, u
}

func addv(a, b []float64) []float64 {
	o := make([]float64, len(a))
	for i := range a {
		o[i] = a[i] + b[i]
	}
	return o
}

func TestPlantedDirectionRecovered(t *testing.T) {
	for _, tc := range []struct{ n, d int }{{200, 64}, {60, 512}} { // n>D and n<D take different SVD paths
		rng := rand.New(rand.NewPCG(1, uint64(tc.d)))
		pos, neg, u := plantedPairs(rng, tc.n, tc.d, 0.01)
		for _, e := range Estimators {
			v, err := Estimate(e, pos, neg, EstimateOptions{})
			if err != nil {
				t.Fatalf("%s: %v", e, err)
			}
			c := cosine(v, u)
			if c < 0.99 {
				t.Errorf("n=%d D=%d %s: cosine with planted direction %.4f < 0.99", tc.n, tc.d, e, c)
			}
			if e != DiffMean && math.Abs(norm(v)-1) > 1e-9 {
				t.Errorf("%s: norm %v, want unit", e, norm(v))
			}
		}
	}
}

func TestSignConvention(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	pos, neg, _ := plantedPairs(rng, 50, 32, 0.05)
	for _, e := range Estimators {
		// Swapping the classes must flip the vector.
		v, _ := Estimate(e, pos, neg, EstimateOptions{})
		w, _ := Estimate(e, neg, pos, EstimateOptions{})
		if dot(v, meanRows(pos)) <= dot(v, meanRows(neg)) {
			t.Errorf("%s: positives do not project higher", e)
		}
		if c := cosine(v, w); c > -0.99 {
			t.Errorf("%s: swapping classes gives cosine %.3f, want ≈ −1", e, c)
		}
	}
}

func TestPCADiffCentringDiffers(t *testing.T) {
	// Differences = a large constant offset along u plus spread along w ⊥ u:
	// uncentred PCA finds u (the mean), centred PCA finds w (the spread).
	d := 16
	u := make([]float64, d)
	w := make([]float64, d)
	u[0], w[1] = 1, 1
	var pos, neg [][]float64
	for i := 0; i < 40; i++ {
		s := float64(i%5) - 2
		p := addv(scale(u, 10), scale(w, s))
		pos, neg = append(pos, p), append(neg, make([]float64, d))
	}
	c, _ := Estimate(PCADiff, pos, neg, EstimateOptions{})
	un, _ := Estimate(PCADiffUncentered, pos, neg, EstimateOptions{})
	if math.Abs(cosine(c, w)) < 0.99 {
		t.Errorf("centred pca_diff cosine with spread direction %.3f", cosine(c, w))
	}
	if cosine(un, u) < 0.99 {
		t.Errorf("uncentred pca_diff cosine with mean direction %.3f", cosine(un, u))
	}
}

func TestEstimateErrors(t *testing.T) {
	if _, err := Estimate(PCACenter, [][]float64{{1, 2}}, [][]float64{{1, 2}, {3, 4}}, EstimateOptions{}); err == nil {
		t.Error("unpaired pca_center accepted")
	}
	if _, err := Estimate(DiffMean, [][]float64{{1, 2}}, [][]float64{{1}}, EstimateOptions{}); err == nil {
		t.Error("ragged rows accepted")
	}
}

// TestEstimatorsAtFlashWidth runs every estimator at DeepSeek-V4-Flash's
// hidden size: PCA and the probe work on the n×D rows (n×n Gram systems),
// never on a 4096×4096 covariance.
func TestEstimatorsAtFlashWidth(t *testing.T) {
	if testing.Short() {
		t.Skip("D = 4096")
	}
	rng := rand.New(rand.NewPCG(11, 4096))
	pos, neg, u := plantedPairs(rng, 48, 4096, 0.002)
	for _, e := range Estimators {
		v, err := Estimate(e, pos, neg, EstimateOptions{})
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if c := cosine(v, u); c < 0.99 {
			t.Errorf("%s at D=4096: cosine %.4f", e, c)
		}
	}
}
