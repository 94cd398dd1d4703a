package engine

import (
	"context"
	"fmt"
	"html"
	"strings"
)

// CaptureRequest names what to read in one batched forward.
type CaptureRequest struct {
	Sites     []Site
	Layers    []int // nil: every layer (ignored for final and logits)
	Positions Positions
	// SumOnly keeps float64 running sums and counts per (site, layer) instead
	// of the rows, so memory stays bounded whatever the number of prompts.
	SumOnly bool
}

// RowIndex says which sequence and position a captured row belongs to.
type RowIndex struct{ Seq, Pos int }

type capKey struct {
	site  Site
	layer int
}

// Capture holds captured activations. Every (site, layer) has one row per
// selected (sequence, position), in the same order, described by Index.
type Capture struct {
	req    CaptureRequest
	rows   map[capKey][][]float32
	sums   map[capKey][]float64
	counts map[capKey]int
	width  map[Site]int
	index  []RowIndex
	layers []int
	// router captures also keep the routing: experts and weights per row.
	experts map[int][][]int
	rweight map[int][][]float32
}

// Capture runs one batched prefill of seqs and records the requested sites.
// Extra options (interventions, hooks) apply as in Forward; interventions run
// before the capture, so it sees the steered values. Only the blocks up to
// the deepest requested layer are computed, and the head only when final or
// logits is requested.
func (m *Model) Capture(ctx context.Context, seqs [][]int, req CaptureRequest, opts ...RunOption) (*Capture, error) {
	if len(req.Sites) == 0 {
		return nil, fmt.Errorf("engine: capture: no sites requested")
	}
	c := &Capture{req: req, rows: map[capKey][][]float32{}, sums: map[capKey][]float64{}, counts: map[capKey]int{}, width: map[Site]int{},
		experts: map[int][][]int{}, rweight: map[int][][]float32{}}
	layers := req.Layers
	if layers == nil {
		for l := 0; l < m.NumLayers(); l++ {
			layers = append(layers, l)
		}
	}
	c.layers = layers
	deepest, head := -1, false
	for _, s := range req.Sites {
		if !validSite(s) {
			return nil, fmt.Errorf("engine: capture: unknown site %q (known: %v)", s, Sites)
		}
		if !s.PerLayer() {
			head = true
		}
	}
	for _, l := range layers {
		if l < 0 || l >= m.NumLayers() {
			return nil, fmt.Errorf("engine: capture: layer %d out of range [0,%d)", l, m.NumLayers())
		}
		deepest = max(deepest, l)
	}
	rc := newRunConfig(opts)
	rc.logits = LogitsNone
	if !head {
		rc.blocks = deepest + 1
	}
	for si, toks := range seqs {
		for p := range toks {
			if req.Positions.match(p, len(toks)) {
				c.index = append(c.index, RowIndex{si, p})
			}
		}
	}
	for _, s := range req.Sites {
		site := s
		sel := Selector{Site: site, Layers: req.Layers, Phase: Prefill}
		rc.hooks = append(rc.hooks, hookReg{sel, func(e *Event) {
			k := capKey{site, e.Layer}
			c.width[site] = e.Width
			n := len(seqs[e.Seq])
			for i, p := range e.Positions {
				if !req.Positions.match(p, n) {
					continue
				}
				row := e.Row(i)
				if req.SumOnly {
					sum := c.sums[k]
					if sum == nil {
						sum = make([]float64, e.Width)
						c.sums[k] = sum
					}
					for j, v := range row {
						sum[j] += float64(v)
					}
					c.counts[k]++
				} else {
					c.rows[k] = append(c.rows[k], append([]float32(nil), row...))
					c.counts[k]++
				}
				if site == SiteRouter && !req.SumOnly {
					c.experts[e.Layer] = append(c.experts[e.Layer], append([]int(nil), e.Experts[i*e.TopK:(i+1)*e.TopK]...))
					c.rweight[e.Layer] = append(c.rweight[e.Layer], append([]float32(nil), e.Weights[i*e.TopK:(i+1)*e.TopK]...))
				}
			}
		}})
	}
	if _, err := m.forward(ctx, seqs, &rc); err != nil {
		return nil, fmt.Errorf("engine: capture: %w", err)
	}
	return c, nil
}

func (c *Capture) key(site Site, layer int) capKey {
	if !site.PerLayer() {
		layer = -1
	}
	return capKey{site, layer}
}

// Rows returns the captured rows of (site, layer) in Index order (nil when
// SumOnly or not captured). For final and logits the layer is ignored.
func (c *Capture) Rows(site Site, layer int) [][]float32 { return c.rows[c.key(site, layer)] }

// Experts returns, for a router capture, the chosen experts and their routing
// weights of every row at layer (in Index order).
func (c *Capture) Experts(layer int) ([][]int, [][]float32) {
	return c.experts[layer], c.rweight[layer]
}

// Index gives the (sequence, position) of each row.
func (c *Capture) Index() []RowIndex { return c.index }

// Sum is the float64 sum over every captured row of (site, layer); it is
// computed from the rows when they were kept.
func (c *Capture) Sum(site Site, layer int) []float64 {
	k := c.key(site, layer)
	if s, ok := c.sums[k]; ok {
		return s
	}
	rows := c.rows[k]
	if len(rows) == 0 {
		return nil
	}
	s := make([]float64, len(rows[0]))
	for _, r := range rows {
		for j, v := range r {
			s[j] += float64(v)
		}
	}
	return s
}

// Count is the number of rows captured at (site, layer).
func (c *Capture) Count(site Site, layer int) int { return c.counts[c.key(site, layer)] }

// Mean is Sum / Count as float32.
func (c *Capture) Mean(site Site, layer int) []float32 {
	s, n := c.Sum(site, layer), c.Count(site, layer)
	if n == 0 {
		return nil
	}
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = float32(v / float64(n))
	}
	return out
}

// Width is the row length of a site (4·D for stream sites).
func (c *Capture) Width(site Site) int { return c.width[site] }

// Layers are the captured layers.
func (c *Capture) Layers() []int { return c.layers }

func (c *Capture) String() string {
	var b strings.Builder
	mode := "rows"
	if c.req.SumOnly {
		mode = "running sums"
	}
	fmt.Fprintf(&b, "Capture: %d positions (%s), %s, layers %v\n", len(c.index), c.req.Positions, mode, c.layers)
	for _, s := range c.req.Sites {
		l := 0
		if len(c.layers) > 0 {
			l = c.layers[0]
		}
		fmt.Fprintf(&b, "  %-9s width %d, %d rows per layer\n", s, c.width[s], c.Count(s, l))
	}
	return b.String()
}

// MIMEBundle renders the capture summary for notebooks.
func (c *Capture) MIMEBundle() map[string]any {
	var b strings.Builder
	b.WriteString("<table><tr><th>site</th><th>width</th><th>rows/layer</th></tr>")
	for _, s := range c.req.Sites {
		l := 0
		if len(c.layers) > 0 {
			l = c.layers[0]
		}
		fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%d</td></tr>", html.EscapeString(string(s)), c.width[s], c.Count(s, l))
	}
	b.WriteString("</table>")
	return map[string]any{"text/plain": c.String(), "text/html": fmt.Sprintf("<p>Capture of %d positions, layers %v</p>", len(c.index), c.layers) + b.String()}
}
