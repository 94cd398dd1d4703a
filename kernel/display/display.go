// Package display shows rich output in the notebook: images, plots, HTML,
// Markdown, JSON, LaTeX, text, and values that render themselves. Cells
// import it as "display" (or by its full path); the kernel installs a
// Publisher for each cell that turns calls into Jupyter display_data,
// update_display_data and clear_output messages.
//
// A value renders itself when it has a method
//
//	MIMEBundle() map[string]any
//
// returning MIME type → data (text as string, images as base64 strings,
// JSON as a JSON-marshalable value). The kernel finds the method by its
// signature, so packages need not import this one to be displayable.
package display

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Publisher sends display messages to the front-end. data maps MIME types
// to data; displayID is "" for a plain display; update asks to replace the
// output that was published earlier with the same displayID.
type Publisher interface {
	Publish(data, metadata map[string]any, displayID string, update bool)
	Clear(wait bool)
}

var (
	mu  sync.Mutex
	pub Publisher
)

// SetPublisher installs p as the destination of every display call (nil
// discards them). The kernel calls it before each cell so that messages
// carry that cell's parent header.
func SetPublisher(p Publisher) {
	mu.Lock()
	pub = p
	mu.Unlock()
}

func current() Publisher {
	mu.Lock()
	defer mu.Unlock()
	return pub
}

func publish(data, meta map[string]any, id string, update bool) {
	if p := current(); p != nil {
		p.Publish(data, meta, id, update)
	}
}

// MIMEBundler is a value that renders itself. Cells that define their own
// renderable types pass them to Rich, which sees methods of interpreted
// types (Show, which takes any, cannot).
type MIMEBundler interface {
	MIMEBundle() map[string]any
}

// PlotWidth and PlotHeight are the size at which plots are rendered: large
// enough for axis labels to be readable at the notebook's width. Cells
// change them with SetPlotSize (yaegi cannot assign to variables of
// compiled packages).
var (
	PlotWidth  = 7 * vg.Inch
	PlotHeight = 4.5 * vg.Inch
)

// SetPlotSize sets the size at which plots are rendered from now on.
func SetPlotSize(width, height vg.Length) {
	mu.Lock()
	PlotWidth, PlotHeight = width, height
	mu.Unlock()
}

// Bundle returns the rich rendering of v: its MIMEBundle method if it has
// one, PNG (and SVG) for plots, PNG for images, the message for errors,
// and text/plain (fmt's %v, %+v for structs) for everything else.
func Bundle(v any) map[string]any {
	if v == nil {
		return map[string]any{"text/plain": "<nil>"}
	}
	if brokenMethods(reflect.TypeOf(v)) {
		return map[string]any{"text/plain": capText(reflectText(reflect.ValueOf(v), 0))}
	}
	if b, ok := mimeBundle(v); ok {
		if _, has := b["text/plain"]; !has {
			b["text/plain"] = plainText(v)
		}
		return b
	}
	switch x := v.(type) {
	case *plot.Plot:
		b, err := plotBundle(x)
		if err != nil {
			return map[string]any{"text/plain": fmt.Sprintf("plot: rendering failed: %v", err)}
		}
		return b
	case image.Image:
		data, err := encodePNG(x)
		if err != nil {
			return map[string]any{"text/plain": fmt.Sprintf("image: PNG encoding failed: %v", err)}
		}
		r := x.Bounds()
		return map[string]any{"image/png": data, "text/plain": fmt.Sprintf("<image %dx%d>", r.Dx(), r.Dy())}
	case error:
		return map[string]any{"text/plain": x.Error()}
	}
	return map[string]any{"text/plain": plainText(v)}
}

var bundleType = reflect.TypeOf(map[string]any(nil))

// mimeBundle calls a MIMEBundle() map[string]any method found by signature,
// recovering from a panicking or nil-receiver implementation.
func mimeBundle(v any) (b map[string]any, ok bool) {
	m := reflect.ValueOf(v).MethodByName("MIMEBundle")
	if !m.IsValid() || m.Type().NumIn() != 0 || m.Type().NumOut() != 1 || m.Type().Out(0) != bundleType {
		return nil, false
	}
	defer func() {
		if r := recover(); r != nil {
			b, ok = map[string]any{"text/plain": fmt.Sprintf("MIMEBundle panicked: %v", r)}, true
		}
	}()
	out := m.Call(nil)[0].Interface().(map[string]any)
	if out == nil {
		return nil, false
	}
	cp := make(map[string]any, len(out)+1)
	for k, x := range out {
		cp[k] = x
	}
	return cp, true
}

func plainText(v any) string {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Struct || (rv.Kind() == reflect.Pointer && !rv.IsNil() && rv.Elem().Kind() == reflect.Struct) {
		if _, ok := v.(fmt.Stringer); !ok {
			return capText(fmt.Sprintf("%+v", v))
		}
	}
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		if brokenMethods(rv.Type().Elem()) || !implementsFormatting(v) {
			var sb strings.Builder
			summarize(&sb, rv, 0)
			return capText(sb.String())
		}
	}
	return capText(fmt.Sprintf("%v", v))
}

// brokenMethods reports struct types built by reflect.StructOf (as yaegi
// builds the struct types of cells) that embed a type with methods: their
// method tables are unusable, and a type switch or interface assertion on
// such a value is a fatal runtime error, not a panic. They are rendered by
// reflection only.
func brokenMethods(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.Name() != "" {
		return false
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.Anonymous {
			continue
		}
		ft := f.Type
		if ft.NumMethod() > 0 || (ft.Kind() != reflect.Pointer && ft.Kind() != reflect.Interface && reflect.PointerTo(ft).NumMethod() > 0) {
			return true
		}
	}
	return false
}

// reflectText formats a value like %+v without interface conversions of
// values whose type has a broken method table.
func reflectText(rv reflect.Value, depth int) string {
	if !rv.IsValid() {
		return "<nil>"
	}
	if depth > 6 {
		return "..."
	}
	if !brokenMethods(rv.Type()) && rv.CanInterface() {
		return fmt.Sprintf("%+v", rv.Interface())
	}
	switch rv.Kind() {
	case reflect.Pointer:
		if rv.IsNil() {
			return "<nil>"
		}
		return "&" + reflectText(rv.Elem(), depth+1)
	case reflect.Interface:
		if rv.IsNil() {
			return "<nil>"
		}
		return reflectText(rv.Elem(), depth+1)
	case reflect.Struct:
		var parts []string
		for i := 0; i < rv.NumField(); i++ {
			parts = append(parts, rv.Type().Field(i).Name+":"+reflectText(rv.Field(i), depth+1))
		}
		return "{" + strings.Join(parts, " ") + "}"
	case reflect.Slice, reflect.Array:
		var parts []string
		for i := 0; i < rv.Len() && i < summaryThreshold; i++ {
			parts = append(parts, reflectText(rv.Index(i), depth+1))
		}
		return "[" + strings.Join(parts, " ") + "]"
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return fmt.Sprint(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprint(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprint(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return fmt.Sprint(rv.Float())
	}
	return "?"
}

func implementsFormatting(v any) bool {
	switch v.(type) {
	case fmt.Stringer, fmt.Formatter, error:
		return true
	}
	return false
}

// Long slices (activations, token lists) are summarised like numpy does:
// the first and last SummaryEdge elements and the length, so that a
// trailing 512×4096 matrix does not become 40 MB of text on the wire.
const (
	summaryThreshold = 200
	summaryEdge      = 10
	maxPlainText     = 100000
)

func summarize(sb *strings.Builder, rv reflect.Value, depth int) {
	if rv.IsValid() && brokenMethods(rv.Type()) {
		sb.WriteString(reflectText(rv, depth))
		return
	}
	if (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || depth > 8 || (rv.Kind() == reflect.Slice && rv.IsNil()) {
		if rv.IsValid() && rv.CanInterface() {
			fmt.Fprintf(sb, "%v", rv.Interface())
		} else {
			sb.WriteString("<nil>")
		}
		return
	}
	if rv.Type().Elem().Kind() == reflect.Uint8 && rv.Len() <= summaryThreshold {
		fmt.Fprintf(sb, "%v", rv.Interface())
		return
	}
	n := rv.Len()
	sb.WriteString("[")
	write := func(i int) {
		if i > 0 {
			sb.WriteString(" ")
		}
		summarize(sb, rv.Index(i), depth+1)
	}
	if n <= summaryThreshold {
		for i := 0; i < n; i++ {
			write(i)
		}
		sb.WriteString("]")
		return
	}
	for i := 0; i < summaryEdge; i++ {
		write(i)
	}
	sb.WriteString(" ...")
	for i := n - summaryEdge; i < n; i++ {
		write(i)
	}
	fmt.Fprintf(sb, "] (len %d)", n)
}

// capText bounds any text rendering.
func capText(s string) string {
	if len(s) <= maxPlainText {
		return s
	}
	cut := maxPlainText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}

func encodePNG(img image.Image) (string, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

func plotBundle(p *plot.Plot) (map[string]any, error) {
	b := map[string]any{"text/plain": "<plot>"}
	mu.Lock()
	width, height := PlotWidth, PlotHeight
	mu.Unlock()
	for _, format := range []string{"png", "svg"} {
		w, err := p.WriterTo(width, height, format)
		if err != nil {
			return nil, fmt.Errorf("plot as %s: %w", format, err)
		}
		var buf bytes.Buffer
		if _, err := w.WriteTo(&buf); err != nil {
			return nil, fmt.Errorf("plot as %s: %w", format, err)
		}
		if format == "png" {
			b["image/png"] = base64.StdEncoding.EncodeToString(buf.Bytes())
		} else {
			b["image/svg+xml"] = buf.String()
		}
	}
	if t := p.Title.Text; t != "" {
		b["text/plain"] = "<plot: " + t + ">"
	}
	return b, nil
}

// Show displays v richly (see Bundle).
func Show(v any) { publish(Bundle(v), nil, "", false) }

// Rich displays a value that renders itself, including types defined in
// cells.
func Rich(v MIMEBundler) { publish(richBundle(v), nil, "", false) }

func richBundle(v MIMEBundler) map[string]any {
	b := v.MIMEBundle()
	if b == nil {
		return map[string]any{"text/plain": "<nil bundle>"}
	}
	cp := make(map[string]any, len(b))
	for k, x := range b {
		cp[k] = x
	}
	return cp
}

// Bytes displays raw data of the given MIME type (binary data is base64
// encoded as Jupyter expects).
func Bytes(mime string, data []byte) {
	publish(map[string]any{mime: base64.StdEncoding.EncodeToString(data)}, nil, "", false)
}

// PNG displays PNG-encoded bytes.
func PNG(b []byte) {
	publish(map[string]any{"image/png": base64.StdEncoding.EncodeToString(b), "text/plain": "<image/png>"}, nil, "", false)
}

// SVG displays an SVG document.
func SVG(s string) {
	publish(map[string]any{"image/svg+xml": s, "text/plain": "<image/svg+xml>"}, nil, "", false)
}

// HTML displays HTML.
func HTML(s string) {
	publish(map[string]any{"text/html": s, "text/plain": "<text/html>"}, nil, "", false)
}

// Markdown displays Markdown.
func Markdown(s string) { publish(map[string]any{"text/markdown": s, "text/plain": s}, nil, "", false) }

// LaTeX displays LaTeX (math in $…$ or $$…$$).
func LaTeX(s string) { publish(map[string]any{"text/latex": s, "text/plain": s}, nil, "", false) }

// Text displays plain text as a display (not a stream).
func Text(s string) { publish(map[string]any{"text/plain": s}, nil, "", false) }

// JSON displays v as JSON (front-ends show an expandable tree).
func JSON(v any) { publish(jsonBundle(v), nil, "", false) }

func jsonBundle(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		return map[string]any{"text/plain": fmt.Sprintf("JSON: %v", err)}
	}
	var generic any
	_ = json.Unmarshal(b, &generic)
	indented, _ := json.MarshalIndent(generic, "", "  ")
	return map[string]any{"application/json": generic, "text/plain": string(indented)}
}

// Plot displays a gonum plot (PNG and SVG at PlotWidth × PlotHeight).
func Plot(p *plot.Plot) { Show(p) }

// Image displays an image as PNG.
func Image(img image.Image) { Show(img) }

// NewID returns a fresh display ID for ShowID and Update.
func NewID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ShowID displays v under a display ID, so that Update can replace it.
func ShowID(id string, v any) { publish(Bundle(v), nil, id, false) }

// Update replaces the output shown under id (update_display_data).
func Update(id string, v any) { publish(Bundle(v), nil, id, true) }

// Clear clears the cell's output now (clear_output).
func Clear() {
	if p := current(); p != nil {
		p.Clear(false)
	}
}

// ClearWait clears the cell's output when the next output arrives, which
// avoids flicker in loops that redraw.
func ClearWait() {
	if p := current(); p != nil {
		p.Clear(true)
	}
}

var (
	inputMu sync.Mutex
	inputFn func(prompt string, password bool) (string, error)
)

// SetInput installs the function that reads a line from the user (the
// kernel's stdin channel, input_request). Nil means there is no user to ask.
func SetInput(f func(prompt string, password bool) (string, error)) {
	inputMu.Lock()
	inputFn = f
	inputMu.Unlock()
}

// ErrNoInput is returned by Input when the front-end does not accept input
// (allow_stdin is false, or no kernel is attached).
var ErrNoInput = errors.New("display: this front-end does not accept input")

// Input asks the user for a line of text, showing prompt.
func Input(prompt string) (string, error) { return readInput(prompt, false) }

// Password asks the user for a line of text without echoing it.
func Password(prompt string) (string, error) { return readInput(prompt, true) }

func readInput(prompt string, password bool) (string, error) {
	inputMu.Lock()
	f := inputFn
	inputMu.Unlock()
	if f == nil {
		return "", ErrNoInput
	}
	return f(prompt, password)
}

// PublishBundle publishes a ready MIME bundle: as a new output (id "" or a
// fresh ID) or, with update, in place of the output shown under id. The
// cell session uses it for values whose rendering it computed itself.
func PublishBundle(b map[string]any, id string, update bool) { publish(b, nil, id, update) }
