package dsv4

import (
	"math"
	"sync"
)

// Rope holds the per-pair rotation frequencies of one RoPE variant (design
// §2.5): plain θ for sliding-window layers, θ' with YaRN for compressed ones.
type Rope struct {
	Freq []float32 // ω_i, i = 0…rope/2−1, float32 like the reference
	Dim  int       // rotated dims (qk_rope_head_dim)

	// A table of cos/sin per position, grown on demand up to ropeCacheMax
	// positions (the values are exactly those cosSin computes).
	mu  sync.RWMutex
	tab [][]float32 // [pos] → cos_0, sin_0, cos_1, sin_1, …
}

const ropeCacheMax = 1 << 16

// row returns the cos/sin table row of position p, or nil beyond the cache.
func (r *Rope) row(p int) []float32 {
	if p >= ropeCacheMax {
		return nil
	}
	r.mu.RLock()
	if p < len(r.tab) {
		t := r.tab[p]
		r.mu.RUnlock()
		return t
	}
	r.mu.RUnlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	for q := len(r.tab); q <= p; q++ {
		t := make([]float32, r.Dim)
		for i := 0; i < r.Dim/2; i++ {
			t[2*i], t[2*i+1] = r.cosSin(q, i)
		}
		r.tab = append(r.tab, t)
	}
	return r.tab[p]
}

// NewRope builds the frequencies for a rope slice of dim values with base
// theta; origLen > 0 switches on YaRN with factor and the β correction range.
func NewRope(dim int, theta float64, origLen int, factor, betaFast, betaSlow float64) *Rope {
	half := dim / 2
	f := make([]float32, half)
	for i := range f {
		// fp32 like torch: 1 / base^(2i/dim)
		f[i] = float32(1) / float32(math.Pow(theta, float64(float32(2*i)/float32(dim))))
	}
	if origLen > 0 {
		corr := func(rot float64) float64 {
			return float64(dim) * math.Log(float64(origLen)/(rot*2*math.Pi)) / (2 * math.Log(theta))
		}
		low := max(math.Floor(corr(betaFast)), 0)
		high := min(math.Ceil(corr(betaSlow)), float64(dim-1))
		if low == high {
			high += 0.001
		}
		for i := range f {
			ramp := (float32(i) - float32(low)) / (float32(high) - float32(low))
			ramp = min(max(ramp, 0), 1)
			smooth := 1 - ramp
			f[i] = f[i]/float32(factor)*(1-smooth) + f[i]*smooth
		}
	}
	return &Rope{Freq: f, Dim: dim}
}

// cosSin returns cos and sin of the angle p·ω_i (angle formed in float32).
func (r *Rope) cosSin(p, i int) (float32, float32) {
	a := float32(p) * r.Freq[i]
	s, c := math.Sincos(float64(a))
	return float32(c), float32(s)
}

// Apply rotates v (exactly Dim values: the rope slice) to position p, treating
// (v[2i], v[2i+1]) as a complex number; inverse rotates by −p·ω.
func (r *Rope) Apply(v []float32, p int, inverse bool) {
	t := r.row(p)
	for i := 0; i < r.Dim/2; i++ {
		var c, s float32
		if t != nil {
			c, s = t[2*i], t[2*i+1]
		} else {
			c, s = r.cosSin(p, i)
		}
		if inverse {
			s = -s
		}
		a, b := v[2*i], v[2*i+1]
		v[2*i] = a*c - b*s
		v[2*i+1] = a*s + b*c
	}
}
