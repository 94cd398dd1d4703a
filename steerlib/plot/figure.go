// Package plot draws steerlib's results with gonum/plot. Every plot is a
// *Figure: a value that renders itself in a notebook cell (MIMEBundle gives
// image/png as base64 and image/svg+xml) and saves to PNG or SVG files.
package plot

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/color"
	"math"
	"os"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Figure is one or more gonum plots laid out in a grid under a title.
type Figure struct {
	Title  string
	Rows   int
	Cols   int
	Panels []*plot.Plot // row-major; nil panels are left empty
	Width  vg.Length    // default 16 cm per column
	Height vg.Length    // default 11 cm per row
	DPI    int          // PNG resolution, default 96
	// Bar is an optional colour-bar plot drawn in a strip at the right.
	Bar *plot.Plot
}

func single(p *plot.Plot) *Figure { return &Figure{Rows: 1, Cols: 1, Panels: []*plot.Plot{p}} }

func (f *Figure) size() (vg.Length, vg.Length) {
	w, h := f.Width, f.Height
	if w == 0 {
		w = vg.Length(f.Cols) * 16 * vg.Centimeter
		if f.Cols > 2 {
			w = vg.Length(f.Cols) * 9 * vg.Centimeter
		}
		if f.Bar != nil {
			w += 2.5 * vg.Centimeter
		}
	}
	if h == 0 {
		h = vg.Length(f.Rows) * 11 * vg.Centimeter
		if f.Rows > 2 {
			h = vg.Length(f.Rows) * 8 * vg.Centimeter
		}
	}
	return w, h
}

func (f *Figure) draw(c vg.CanvasSizer) {
	dc := draw.New(c)
	if f.Title != "" {
		sty := plot.New().Title.TextStyle
		sty.Font.Size = vg.Points(14)
		sty.XAlign = draw.XCenter
		sty.YAlign = draw.YTop
		top := vg.Points(22)
		dc.FillText(sty, vg.Point{X: (dc.Min.X + dc.Max.X) / 2, Y: dc.Max.Y - vg.Points(4)}, f.Title)
		dc = draw.Crop(dc, 0, 0, 0, -top)
	}
	if f.Bar != nil {
		strip := vg.Points(70)
		bc := draw.Crop(dc, dc.Max.X-dc.Min.X-strip, 0, vg.Points(10), -vg.Points(24))
		f.Bar.Draw(bc)
		dc = draw.Crop(dc, 0, -strip, 0, 0)
	}
	if f.Rows*f.Cols == 1 {
		if len(f.Panels) > 0 && f.Panels[0] != nil {
			f.Panels[0].Draw(dc)
		}
		return
	}
	grid := make([][]*plot.Plot, f.Rows)
	for r := range grid {
		grid[r] = make([]*plot.Plot, f.Cols)
		for c := range grid[r] {
			if i := r*f.Cols + c; i < len(f.Panels) {
				grid[r][c] = f.Panels[i]
			}
		}
	}
	t := draw.Tiles{Rows: f.Rows, Cols: f.Cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	cs := plot.Align(grid, t, dc)
	for r := range grid {
		for c := range grid[r] {
			if grid[r][c] != nil {
				grid[r][c].Draw(cs[r][c])
			}
		}
	}
}

// PNG renders the figure as PNG bytes.
func (f *Figure) PNG() ([]byte, error) {
	w, h := f.size()
	dpi := f.DPI
	if dpi == 0 {
		dpi = 96
	}
	c := vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(color.White))}
	f.draw(c)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return nil, fmt.Errorf("plot: %q: png: %w", f.Title, err)
	}
	return b.Bytes(), nil
}

// SVG renders the figure as an SVG document.
func (f *Figure) SVG() (string, error) {
	w, h := f.size()
	c := vgsvg.New(w, h)
	f.draw(c)
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", fmt.Errorf("plot: %q: svg: %w", f.Title, err)
	}
	return b.String(), nil
}

// SavePNG writes the figure to a PNG file.
func (f *Figure) SavePNG(path string) error {
	b, err := f.PNG()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	return nil
}

// SaveSVG writes the figure to an SVG file.
func (f *Figure) SaveSVG(path string) error {
	s, err := f.SVG()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		return fmt.Errorf("plot: save %s: %w", path, err)
	}
	return nil
}

// MIMEBundle renders the figure for a notebook: PNG (base64) and SVG.
func (f *Figure) MIMEBundle() map[string]any {
	out := map[string]any{"text/plain": fmt.Sprintf("Figure %q (%d×%d panels)", f.Title, f.Rows, f.Cols)}
	if b, err := f.PNG(); err == nil {
		out["image/png"] = base64.StdEncoding.EncodeToString(b)
	} else {
		out["text/plain"] = err.Error()
	}
	if s, err := f.SVG(); err == nil {
		out["image/svg+xml"] = s
	}
	return out
}

// ---- shared helpers ----

// Colours: a colour-blind-safe qualitative set (Okabe–Ito).
var palette8 = []color.Color{
	color.RGBA{0, 114, 178, 255},   // blue
	color.RGBA{213, 94, 0, 255},    // vermillion
	color.RGBA{0, 158, 115, 255},   // green
	color.RGBA{204, 121, 167, 255}, // purple
	color.RGBA{230, 159, 0, 255},   // orange
	color.RGBA{86, 180, 233, 255},  // sky
	color.RGBA{240, 228, 66, 255},  // yellow
	color.RGBA{0, 0, 0, 255},       // black
}

func colorN(i int) color.Color { return palette8[i%len(palette8)] }

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(13)
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.X.Label.TextStyle.Font.Size = vg.Points(11)
	p.Y.Label.TextStyle.Font.Size = vg.Points(11)
	p.X.Tick.Label.Font.Size = vg.Points(9)
	p.Y.Tick.Label.Font.Size = vg.Points(9)
	p.Legend.TextStyle.Font.Size = vg.Points(10)
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	return p
}

func line(p *plot.Plot, name string, xs, ys []float64, c color.Color, width vg.Length, dashed bool) error {
	pts := make(plotter.XYs, 0, len(xs))
	for i := range xs {
		if !math.IsNaN(ys[i]) && !math.IsInf(ys[i], 0) {
			pts = append(pts, plotter.XY{X: xs[i], Y: ys[i]})
		}
	}
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = width
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	if name != "" {
		p.Legend.Add(name, l)
	}
	return nil
}

func linePoints(p *plot.Plot, name string, xs, ys []float64, c color.Color) error {
	if err := line(p, name, xs, ys, c, vg.Points(1.8), false); err != nil {
		return err
	}
	pts := make(plotter.XYs, 0, len(xs))
	for i := range xs {
		if !math.IsNaN(ys[i]) && !math.IsInf(ys[i], 0) {
			pts = append(pts, plotter.XY{X: xs[i], Y: ys[i]})
		}
	}
	s, err := plotter.NewScatter(pts)
	if err != nil {
		return err
	}
	s.GlyphStyle.Color = c
	s.GlyphStyle.Radius = vg.Points(2.5)
	p.Add(s)
	return nil
}

// grid is a heat-map grid: Z[r][c], columns on X, rows on Y.
type grid struct {
	z        [][]float64
	min, max float64
}

func newGrid(z [][]float64, symmetric bool) *grid {
	g := &grid{z: z, min: math.Inf(1), max: math.Inf(-1)}
	for _, r := range z {
		for _, v := range r {
			if math.IsNaN(v) {
				continue
			}
			g.min, g.max = math.Min(g.min, v), math.Max(g.max, v)
		}
	}
	if math.IsInf(g.min, 0) {
		g.min, g.max = 0, 1
	}
	if symmetric {
		m := math.Max(math.Abs(g.min), math.Abs(g.max))
		g.min, g.max = -m, m
	}
	if g.min == g.max {
		g.min, g.max = g.min-1, g.max+1
	}
	return g
}

func (g *grid) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g *grid) Z(c, r int) float64 { return g.z[r][c] }
func (g *grid) X(c int) float64    { return float64(c) }
func (g *grid) Y(r int) float64    { return float64(r) }
func (g *grid) Min() float64       { return g.min }
func (g *grid) Max() float64       { return g.max }

// nameTicks labels integer positions with the given names.
type nameTicks []string

func (n nameTicks) Ticks(min, max float64) []plot.Tick {
	var t []plot.Tick
	step := 1
	if len(n) > 40 {
		step = (len(n) + 39) / 40
	}
	for i := 0; i < len(n); i += step {
		t = append(t, plot.Tick{Value: float64(i), Label: n[i]})
	}
	return t
}

var _ = font.Font{}

// intTicks labels integer positions (layers), thinning to about ten labels.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	lo, hi := int(math.Ceil(min)), int(math.Floor(max))
	step := 1
	for (hi-lo)/step > 10 {
		step *= 2
	}
	var t []plot.Tick
	for i := lo; i <= hi; i++ {
		if (i-lo)%step == 0 {
			t = append(t, plot.Tick{Value: float64(i), Label: fmt.Sprint(i)})
		} else {
			t = append(t, plot.Tick{Value: float64(i)})
		}
	}
	return t
}
