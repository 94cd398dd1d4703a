package display

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

type msg struct {
	data   map[string]any
	meta   map[string]any
	id     string
	update bool
	clear  bool
	wait   bool
}

type recorder struct {
	mu   sync.Mutex
	msgs []msg
}

func (r *recorder) Publish(data, meta map[string]any, id string, update bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg{data: data, meta: meta, id: id, update: update})
}

func (r *recorder) Clear(wait bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg{clear: true, wait: wait})
}

func record(t *testing.T) *recorder {
	r := &recorder{}
	SetPublisher(r)
	t.Cleanup(func() { SetPublisher(nil) })
	return r
}

type card struct{ title string }

func (c card) MIMEBundle() map[string]any {
	return map[string]any{"text/html": "<h1>" + c.title + "</h1>"}
}

type nilCard struct{}

func (*nilCard) MIMEBundle() map[string]any { panic("boom") }

type point struct{ X, Y int }

func TestBundle(t *testing.T) {
	b := Bundle(card{"hi"})
	if b["text/html"] != "<h1>hi</h1>" || b["text/plain"] != "{title:hi}" {
		t.Errorf("MIMEBundle value: %v", b)
	}
	if b := Bundle(&nilCard{}); !strings.Contains(b["text/plain"].(string), "panicked") {
		t.Errorf("panicking MIMEBundle: %v", b)
	}
	if b := Bundle(errors.New("bad thing")); b["text/plain"] != "bad thing" {
		t.Errorf("error: %v", b)
	}
	if b := Bundle(point{1, 2}); b["text/plain"] != "{X:1 Y:2}" {
		t.Errorf("struct: %v", b)
	}
	if b := Bundle([]float64{1.5, 2}); b["text/plain"] != "[1.5 2]" {
		t.Errorf("slice: %v", b)
	}
	if b := Bundle(nil); b["text/plain"] != "<nil>" {
		t.Errorf("nil: %v", b)
	}
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(1, 1, color.RGBA{R: 255, A: 255})
	b = Bundle(img)
	raw, err := base64.StdEncoding.DecodeString(b["image/png"].(string))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if r, _, _, _ := dec.At(1, 1).RGBA(); r != 0xffff || dec.Bounds().Dx() != 3 {
		t.Errorf("decoded PNG differs: %v %v", dec.Bounds(), dec.At(1, 1))
	}
}

func TestPlotBundle(t *testing.T) {
	p := plot.New()
	p.Title.Text = "loss"
	l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 1}, {X: 1, Y: 0.5}, {X: 2, Y: 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	p.Add(l)
	b := Bundle(p)
	raw, err := base64.StdEncoding.DecodeString(b["image/png"].(string))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	// 7 x 4.5 inches at the PNG writer's 96 dpi.
	if cfg.Width != 672 || cfg.Height != 432 {
		t.Errorf("plot size %dx%d, want 672x432", cfg.Width, cfg.Height)
	}
	SetPlotSize(4*vg.Inch, 2*vg.Inch)
	defer SetPlotSize(7*vg.Inch, 4.5*vg.Inch)
	raw2, _ := base64.StdEncoding.DecodeString(Bundle(p)["image/png"].(string))
	if cfg2, err := png.DecodeConfig(bytes.NewReader(raw2)); err != nil || cfg2.Width != 384 || cfg2.Height != 192 {
		t.Errorf("after SetPlotSize(4in, 2in): %dx%d, %v", cfg2.Width, cfg2.Height, err)
	}
	if svg, _ := b["image/svg+xml"].(string); !strings.Contains(svg, "<svg") {
		t.Errorf("no SVG")
	}
	if b["text/plain"] != "<plot: loss>" {
		t.Errorf("text: %v", b["text/plain"])
	}
}

func TestHelpersPublish(t *testing.T) {
	r := record(t)
	HTML("<b>x</b>")
	Markdown("# T")
	LaTeX("$x^2$")
	SVG("<svg/>")
	PNG([]byte{1, 2, 3})
	Text("plain")
	JSON(map[string]int{"a": 1})
	Show(42)
	Rich(card{"r"})
	id := NewID()
	ShowID(id, "first")
	Update(id, "second")
	Clear()
	ClearWait()
	want := []string{"text/html", "text/markdown", "text/latex", "image/svg+xml", "image/png", "text/plain", "application/json", "text/plain", "text/html", "text/plain", "text/plain"}
	if len(r.msgs) != len(want)+2 {
		t.Fatalf("got %d messages", len(r.msgs))
	}
	for i, w := range want {
		if _, ok := r.msgs[i].data[w]; !ok {
			t.Errorf("message %d lacks %s: %v", i, w, r.msgs[i].data)
		}
	}
	if r.msgs[4].data["image/png"] != base64.StdEncoding.EncodeToString([]byte{1, 2, 3}) {
		t.Error("PNG not base64")
	}
	if j, _ := r.msgs[6].data["application/json"].(map[string]any); j["a"] != float64(1) {
		t.Errorf("JSON: %v", r.msgs[6].data)
	}
	if r.msgs[9].id != id || r.msgs[9].update || r.msgs[10].id != id || !r.msgs[10].update || r.msgs[10].data["text/plain"] != "second" {
		t.Errorf("ShowID/Update: %+v %+v", r.msgs[9], r.msgs[10])
	}
	if !r.msgs[11].clear || r.msgs[11].wait || !r.msgs[12].clear || !r.msgs[12].wait {
		t.Errorf("Clear/ClearWait: %+v %+v", r.msgs[11], r.msgs[12])
	}
	if NewID() == NewID() {
		t.Error("NewID repeats")
	}
}

func TestNoPublisherIsSilent(t *testing.T) {
	SetPublisher(nil)
	HTML("x") // must not panic
	Clear()
}

// fakeClock drives Progress without sleeping.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestProgressRateLimitAndText(t *testing.T) {
	r := record(t)
	clk := &fakeClock{t: time.Unix(1000, 0)}
	p := NewProgress()
	p.now = clk.now
	p.Start("sweep", 100)
	for i := 1; i <= 100; i++ {
		clk.t = clk.t.Add(10 * time.Millisecond) // 100 it/s
		p.Update(i)
	}
	p.Finish()
	// 1 s of updates at one redraw per 200 ms: start + 5 + finish.
	if n := len(r.msgs); n < 5 || n > 8 {
		t.Errorf("%d redraws for 100 updates over 1s", n)
	}
	id := r.msgs[0].id
	for i, m := range r.msgs {
		if m.id != id {
			t.Fatalf("message %d id %q != %q", i, m.id, id)
		}
		if (i == 0) == m.update {
			t.Errorf("message %d update=%v", i, m.update)
		}
	}
	mid := r.msgs[2].data["text/plain"].(string)
	for _, w := range []string{"sweep", "/100", "<00:0", "100.00 it/s"} {
		if !strings.Contains(mid, w) {
			t.Errorf("running bar %q lacks %q", mid, w)
		}
	}
	// The final drawing has no timing, so saved notebooks are stable; the
	// timing is in the metadata.
	last := r.msgs[len(r.msgs)-1]
	want := "sweep: 100%|" + strings.Repeat("█", 30) + "| 100/100"
	if got := last.data["text/plain"]; got != want {
		t.Errorf("final bar %q, want %q", got, want)
	}
	sb := last.meta["steerbook"].(map[string]any)
	if e := sb["elapsed_s"].(float64); e < 0.99 || e > 1.01 || sb["done"] != 100 {
		t.Errorf("metadata %v", sb)
	}
	if h := last.data["text/html"].(string); !strings.Contains(h, `<progress value="100" max="100"`) {
		t.Errorf("html %q", h)
	}
}

func TestProgressUnknownTotalAndClose(t *testing.T) {
	r := record(t)
	p := NewProgress()
	p.Start("tokens", 0)
	p.Update(7)
	p.Close() // a cell that ended without Finish
	last := r.msgs[len(r.msgs)-1].data["text/plain"].(string)
	if last != "tokens: 7 done" {
		t.Errorf("bar %q", last)
	}
	n := len(r.msgs)
	p.Close()
	p.Update(9)
	if len(r.msgs) != n {
		t.Error("a finished bar redrew")
	}
}

// A task started inside another is a second line of the same output, and
// the outer bar keeps advancing.
func TestProgressNested(t *testing.T) {
	r := record(t)
	clk := &fakeClock{t: time.Unix(0, 0)}
	p := NewProgress()
	p.now = clk.now
	p.Start("extract", 2)
	for i := 1; i <= 2; i++ {
		p.Start("forward", 3)
		for j := 1; j <= 3; j++ {
			clk.t = clk.t.Add(time.Second)
			p.Update(j)
		}
		p.Finish()
		p.Update(i)
	}
	p.Finish()
	for i, m := range r.msgs {
		if m.id != r.msgs[0].id {
			t.Fatalf("message %d went to another output", i)
		}
	}
	sawTwoLines := false
	for _, m := range r.msgs {
		text := m.data["text/plain"].(string)
		if strings.Count(text, "\n") == 1 && strings.HasPrefix(text, "extract:") && strings.Contains(text, "\nforward:") {
			sawTwoLines = true
		}
	}
	if !sawTwoLines {
		t.Error("the nested task was never drawn under the outer one")
	}
	if got := r.msgs[len(r.msgs)-1].data["text/plain"]; got != "extract: 100%|"+strings.Repeat("█", 30)+"| 2/2" {
		t.Errorf("final %q", got)
	}
}

// Many short tasks (one per batch) and tasks that follow each other redraw
// one output, a handful of times.
func TestProgressManyShortTasksReuseOutputs(t *testing.T) {
	r := record(t)
	clk := &fakeClock{t: time.Unix(0, 0)}
	p := NewProgress()
	p.now = clk.now
	p.Start("batches", 50)
	for i := 1; i <= 50; i++ {
		p.Start("forward", 3)
		for j := 1; j <= 3; j++ {
			clk.t = clk.t.Add(time.Millisecond)
			p.Update(j)
		}
		p.Finish()
		p.Update(i)
	}
	p.Finish()
	fresh := 0
	for _, m := range r.msgs {
		if m.id != r.msgs[0].id {
			t.Fatalf("a second output was opened: %+v", m)
		}
		if !m.update {
			fresh++
		}
	}
	if fresh != 1 || len(r.msgs) > 6 {
		t.Errorf("%d messages, %d new displays for 150 ms of work", len(r.msgs), fresh)
	}
	// Another task right after gets its own output (its final state must
	// survive in a saved notebook); the same task repeated reuses one.
	p.Start("second pass", 1)
	p.Finish()
	second := r.msgs[len(r.msgs)-1].id
	if second == r.msgs[0].id {
		t.Error("a different task reused the previous output")
	}
	for i := 0; i < 30; i++ {
		clk.t = clk.t.Add(time.Millisecond)
		p.Start("per item", 1)
		p.Update(1)
		p.Finish()
	}
	ids := map[string]bool{}
	for _, m := range r.msgs {
		ids[m.id] = true
	}
	if len(ids) != 3 {
		t.Errorf("%d outputs, want 3 (batches, second pass, per item)", len(ids))
	}
	// A task a minute later opens a new output.
	clk.t = clk.t.Add(time.Minute)
	p.Start("again", 1)
	if last := r.msgs[len(r.msgs)-1]; last.update || last.id == r.msgs[0].id {
		t.Errorf("a task a minute later reused the old output: %+v", last)
	}
}

func ExampleBundle() {
	b := Bundle(card{"Steering vector"})
	keys := make([]string, 0, len(b))
	for k := range b {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Println(keys, b["text/html"])
	// Output: [text/html text/plain] <h1>Steering vector</h1>
}

// printer is a Publisher that prints what a front-end would show.
type printer struct{}

func (printer) Publish(data, _ map[string]any, id string, update bool) {
	verb := "display"
	if update {
		verb = "update"
	}
	fmt.Printf("%s: %v\n", verb, data["text/plain"])
}
func (printer) Clear(bool) { fmt.Println("clear") }

func ExampleUpdate() {
	SetPublisher(printer{})
	defer SetPublisher(nil)
	id := NewID()
	ShowID(id, "epoch 1: loss 0.9")
	Update(id, "epoch 2: loss 0.4")
	// Output:
	// display: epoch 1: loss 0.9
	// update: epoch 2: loss 0.4
}

func ExampleNewProgress() {
	SetPublisher(printer{})
	defer SetPublisher(nil)
	p := NewProgress()
	p.Width = 10
	p.Start("layers", 4)
	for i := 1; i <= 4; i++ {
		p.Update(i) // redrawn at most every 200 ms
	}
	p.Finish()
	// The bar is drawn at Start and Finish; the rate depends on the clock,
	// so this example prints only the first line.
	// Output is not checked.
}

func ExampleMarkdown() {
	SetPublisher(printer{})
	defer SetPublisher(nil)
	Markdown("**cosine** similarity: 0.93")
	// Output: display: **cosine** similarity: 0.93
}

func TestLongSlicesAreSummarised(t *testing.T) {
	big := make([]float32, 100000)
	for i := range big {
		big[i] = float32(i)
	}
	got := Bundle(big)["text/plain"].(string)
	want := "[0 1 2 3 4 5 6 7 8 9 ... 99990 99991 99992 99993 99994 99995 99996 99997 99998 99999] (len 100000)"
	if got != want {
		t.Errorf("got %q", got)
	}
	rows := make([][]float64, 300)
	for i := range rows {
		rows[i] = make([]float64, 300)
	}
	if got := Bundle(rows)["text/plain"].(string); len(got) > 2000 || !strings.HasSuffix(got, "(len 300)") {
		t.Errorf("matrix text %d bytes: %.100q", len(got), got)
	}
	if got := Bundle([]int{1, 2, 3})["text/plain"]; got != "[1 2 3]" {
		t.Errorf("short slice %q", got)
	}
	if got := Bundle(strings.Repeat("é", 100000))["text/plain"].(string); len(got) > maxPlainText+40 || !strings.Contains(got, "more bytes") {
		t.Errorf("long string not capped: %d bytes", len(got))
	}
}

func TestProgressOutputsPerCellAreBounded(t *testing.T) {
	r := record(t)
	p := NewProgress()
	for i := 0; i < 100; i++ {
		p.Start(fmt.Sprint("task ", i), 1)
		p.Finish()
	}
	ids := map[string]bool{}
	for _, m := range r.msgs {
		ids[m.id] = true
	}
	if len(ids) != maxOutputs {
		t.Errorf("%d outputs for 100 distinct tasks, want %d", len(ids), maxOutputs)
	}
}
