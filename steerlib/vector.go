package steerlib

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"html"
	"math"
	"sort"
	"strings"

	"github.com/steerbook/steerbook/engine"
)

// NormStats summarises the L2 norms of the activations a vector was read
// from, at one site and layer. Relative strengths are multiples of Mean.
type NormStats struct {
	Mean, Std, Min, Max float64
	Count               int
}

// Provenance records where a vector came from, so a file or a plot can say
// exactly what it holds.
type Provenance struct {
	ModelHash   string // engine.Model.Hash() of the model the activations came from
	Model       string // human-readable model name/architecture
	Site        engine.Site
	Position    string    // token-position rule, e.g. "last", "mark", "response-mean", "all"
	Streams     string    // for stream sites: "mean" (of the 4 streams) or "all"
	Estimator   Estimator // or a description of the arithmetic that made it
	Centering   string    // what was subtracted before PCA / probe fitting
	Dataset     string
	DatasetHash string
	Examples    int      // positive + negative examples used
	Ops         []string // arithmetic applied after estimation, in order
}

// Vector is a steering direction per layer at one site. Dirs[L] has the
// site's width: D for single-vector sites, D (broadcast to the 4 streams) or
// 4·D (per stream) for block_in/block_out. Layer −1 is used for final/logits.
type Vector struct {
	Name  string
	Dirs  map[int][]float64
	Norms map[int]NormStats
	// ClassProj[L] holds the mean projections (on the unit direction) of the
	// positive and the negative class at layer L, in activation units; the
	// mean-ablation operator moves activations to one of them.
	ClassProj map[int][2]float64
	Prov      Provenance
}

// NewVector makes a one-layer vector with no provenance beyond its site.
func NewVector(name string, site engine.Site, layer int, dir []float64) *Vector {
	return &Vector{Name: name, Dirs: map[int][]float64{layer: append([]float64(nil), dir...)},
		Norms: map[int]NormStats{}, ClassProj: map[int][2]float64{}, Prov: Provenance{Site: site}}
}

// Site is the site the vector was read at.
func (v *Vector) Site() engine.Site { return v.Prov.Site }

// Layers lists the layers the vector has, ascending.
func (v *Vector) Layers() []int {
	out := make([]int, 0, len(v.Dirs))
	for l := range v.Dirs {
		out = append(out, l)
	}
	sort.Ints(out)
	return out
}

// Dir returns the direction at layer (nil when absent). It is the stored
// slice: copy before modifying.
func (v *Vector) Dir(layer int) []float64 { return v.Dirs[layer] }

// Dim is the width of the directions (0 for an empty vector).
func (v *Vector) Dim() int {
	for _, d := range v.Dirs {
		return len(d)
	}
	return 0
}

// At returns a copy of the vector restricted to one layer.
func (v *Vector) At(layer int) *Vector {
	c := v.clone()
	for l := range c.Dirs {
		if l != layer {
			delete(c.Dirs, l)
			delete(c.Norms, l)
			delete(c.ClassProj, l)
		}
	}
	return c
}

// Norm is the L2 norm of the direction at layer.
func (v *Vector) Norm(layer int) float64 { return norm(v.Dirs[layer]) }

func (v *Vector) clone() *Vector {
	c := &Vector{Name: v.Name, Dirs: map[int][]float64{}, Norms: map[int]NormStats{}, ClassProj: map[int][2]float64{}, Prov: v.Prov}
	for l, p := range v.ClassProj {
		c.ClassProj[l] = p
	}
	c.Prov.Ops = append([]string(nil), v.Prov.Ops...)
	for l, d := range v.Dirs {
		c.Dirs[l] = append([]float64(nil), d...)
	}
	for l, n := range v.Norms {
		c.Norms[l] = n
	}
	return c
}

func (v *Vector) combine(w *Vector, op string, f func(a, b float64) float64) *Vector {
	c := v.clone()
	c.Name = "(" + v.Name + op + w.Name + ")"
	for l, d := range w.Dirs {
		a, ok := c.Dirs[l]
		if !ok {
			a = make([]float64, len(d))
		}
		if len(a) != len(d) {
			panic(fmt.Sprintf("steerlib: %s%s%s: layer %d widths differ (%d vs %d)", v.Name, op, w.Name, l, len(a), len(d)))
		}
		for i := range a {
			a[i] = f(a[i], d[i])
		}
		c.Dirs[l] = a
		if _, ok := c.Norms[l]; !ok {
			c.Norms[l] = w.Norms[l]
		}
	}
	c.Prov.Ops = append(c.Prov.Ops, op+w.Name)
	return c
}

// Add returns v + w layer by layer (a layer missing on one side counts as 0).
// Provenance is v's, with the operation appended to Ops.
func (v *Vector) Add(w *Vector) *Vector {
	return v.combine(w, "+", func(a, b float64) float64 { return a + b })
}

// Sub returns v − w layer by layer.
func (v *Vector) Sub(w *Vector) *Vector {
	return v.combine(w, "-", func(a, b float64) float64 { return a - b })
}

// Scale returns s·v.
func (v *Vector) Scale(s float64) *Vector {
	c := v.clone()
	for _, d := range c.Dirs {
		for i := range d {
			d[i] *= s
		}
	}
	c.Name = fmt.Sprintf("%g·%s", s, v.Name)
	c.Prov.Ops = append(c.Prov.Ops, fmt.Sprintf("*%g", s))
	return c
}

// Normalize returns v with every layer's direction scaled to unit length.
func (v *Vector) Normalize() *Vector {
	c := v.clone()
	for _, d := range c.Dirs {
		normalize(d)
	}
	c.Prov.Ops = append(c.Prov.Ops, "normalize")
	return c
}

// Orthogonalize returns v with its component along w removed at every layer
// both have (Gram–Schmidt), for composing vectors without interference.
func (v *Vector) Orthogonalize(w *Vector) *Vector {
	c := v.clone()
	for l, d := range c.Dirs {
		u := w.Dirs[l]
		if len(u) != len(d) || norm(u) == 0 {
			continue
		}
		k := dot(d, u) / dot(u, u)
		for i := range d {
			d[i] -= k * u[i]
		}
	}
	c.Prov.Ops = append(c.Prov.Ops, "orth:"+w.Name)
	return c
}

// Cosine is the cosine similarity of v and w over the layers both have,
// treating those layers' directions as one concatenated vector; for
// one-layer vectors it is the usual cosine. NaN when no layer is shared.
func (v *Vector) Cosine(w *Vector) float64 {
	var s, a, b float64
	any := false
	for l, d := range v.Dirs {
		e, ok := w.Dirs[l]
		if !ok || len(e) != len(d) {
			continue
		}
		any = true
		s += dot(d, e)
		a += dot(d, d)
		b += dot(e, e)
	}
	if !any || a == 0 || b == 0 {
		return math.NaN()
	}
	return s / math.Sqrt(a*b)
}

// LayerCosines returns the per-layer cosine similarity of v and w.
func (v *Vector) LayerCosines(w *Vector) map[int]float64 {
	out := map[int]float64{}
	for l, d := range v.Dirs {
		if e, ok := w.Dirs[l]; ok && len(e) == len(d) {
			out[l] = cosine(d, e)
		}
	}
	return out
}

// Project returns the projection of an activation x on the direction at
// layer, x·v/|v|, in the units of x.
func (v *Vector) Project(layer int, x []float64) float64 {
	d := v.Dirs[layer]
	n := norm(d)
	if n == 0 {
		return 0
	}
	return dot(d, x) / n
}

// Hash is the sha256 of the vector's directions (layer order, float64 little
// endian), the tensor hash recorded in exported files.
func (v *Vector) Hash() string {
	h := sha256.New()
	var b [8]byte
	for _, l := range v.Layers() {
		binary.LittleEndian.PutUint64(b[:], uint64(int64(l)))
		h.Write(b[:])
		for _, x := range v.Dirs[l] {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// String is a one-line summary.
func (v *Vector) String() string {
	ls := v.Layers()
	return fmt.Sprintf("Vector %q: site %s, %d layers %v, width %d, estimator %s, dataset %s", v.Name, v.Prov.Site, len(ls), ls, v.Dim(), v.Prov.Estimator, v.Prov.Dataset)
}

// MIMEBundle renders the vector's provenance and per-layer norms as a table.
func (v *Vector) MIMEBundle() map[string]any {
	var b strings.Builder
	p := v.Prov
	fmt.Fprintf(&b, "<b>Vector %s</b><table>", html.EscapeString(v.Name))
	row := func(k, val string) {
		if val != "" {
			fmt.Fprintf(&b, "<tr><th style='text-align:left'>%s</th><td>%s</td></tr>", k, html.EscapeString(val))
		}
	}
	row("site", string(p.Site))
	row("streams", p.Streams)
	row("position", p.Position)
	row("estimator", string(p.Estimator))
	row("centering", p.Centering)
	row("dataset", p.Dataset)
	if len(p.DatasetHash) >= 12 {
		row("dataset sha256", p.DatasetHash[:12]+"…")
	}
	row("model", p.Model)
	if len(p.ModelHash) >= 12 {
		row("model hash", p.ModelHash[:12]+"…")
	}
	if p.Examples > 0 {
		row("examples", fmt.Sprint(p.Examples))
	}
	row("ops", strings.Join(p.Ops, " "))
	row("width", fmt.Sprint(v.Dim()))
	b.WriteString("</table><table><tr><th>layer</th><th>|v|</th><th>activation norm (mean ± std)</th><th>|v| / mean norm</th></tr>")
	for _, l := range v.Layers() {
		n := v.Norm(l)
		ns, ok := v.Norms[l]
		if ok && ns.Count > 0 {
			fmt.Fprintf(&b, "<tr><td>%d</td><td>%.4g</td><td>%.4g ± %.3g</td><td>%.3g</td></tr>", l, n, ns.Mean, ns.Std, n/ns.Mean)
		} else {
			fmt.Fprintf(&b, "<tr><td>%d</td><td>%.4g</td><td></td><td></td></tr>", l, n)
		}
	}
	b.WriteString("</table>")
	return map[string]any{"text/plain": v.String(), "text/html": b.String()}
}
