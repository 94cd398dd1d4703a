package cell

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/steerbook/steerbook/kernel/display"
	"github.com/steerbook/steerbook/kernel/kerneltest"
)

func newTestSession(t *testing.T) (*Session, *kerneltest.Buffer, *kerneltest.Buffer) {
	t.Helper()
	var out, errb kerneltest.Buffer
	s, err := New(Options{Stdout: &out, Stderr: &errb})
	if err != nil {
		t.Fatal(err)
	}
	return s, &out, &errb
}

func mustRun(t *testing.T, s *Session, src string, n int) Result {
	t.Helper()
	r, err := s.Execute(context.Background(), src, n)
	if err != nil {
		t.Fatalf("cell [%d] %q: %v\n%s", n, src, err, tracebackOf(err))
	}
	return r
}

// Interrupting `for {}` must stop the interpreted goroutine within a second,
// report Interrupted, and keep the session's state.
func TestInterruptStopsBusyLoop(t *testing.T) {
	s, _, _ := newTestSession(t)
	mustRun(t, s, "kept := 41", 1)
	mustRun(t, s, "func spin() int { n := 0; for { n++ }; return n }\nfunc count(k int) int { n := 0; for i := 0; i < k; i++ { n++ }; return n }", 2)
	base := runtime.NumGoroutine()
	for i, src := range []string{"for {}", "spin()", "import \"time\"\nfor { time.Sleep(time.Millisecond) }", "ch := make(chan int)\n<-ch"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.Execute(ctx, src, 3+i)
			done <- err
		}()
		time.Sleep(200 * time.Millisecond)
		start := time.Now()
		cancel()
		var err error
		select {
		case err = <-done:
		case <-time.After(time.Second):
			t.Fatalf("%q: Execute did not return within 1s of the interrupt", src)
		}
		var ce *Error
		if !errors.As(err, &ce) || ce.Name != "Interrupted" {
			t.Fatalf("%q: got %v, want Interrupted", src, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%q: took %v to stop", src, d)
		}
	}
	// The interpreted goroutines are gone, not just abandoned: the count
	// settles back near where it was.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base+2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g := runtime.NumGoroutine(); g > base+2 {
		t.Errorf("goroutines: %d after interrupts, %d before", g, base)
	}
	r := mustRun(t, s, "kept + 1", 10)
	if r.Value != 42 {
		t.Errorf("state after interrupt: got %v, want 42", r.Value)
	}
	// Functions defined before the interrupt still run their loops (yaegi's
	// stale run id would make them return 0 at once).
	if r := mustRun(t, s, "count(1000)", 11); r.Value != 1000 {
		t.Errorf("count(1000) after interrupt = %v", r.Value)
	}
}

// Cells see ctx; it is cancelled by the interrupt, so a cell loop polling it
// ends cleanly.
func TestCtxVisibleAndCancelled(t *testing.T) {
	s, out, _ := newTestSession(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Execute(ctx, "import \"fmt\"\nfor ctx.Err() == nil {\n}\nfmt.Println(\"saw cancel\")", 1)
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("cell did not stop")
	}
	_ = out
	r := mustRun(t, s, "ctx.Err() == nil", 2)
	if r.Value != true {
		t.Errorf("a new cell's ctx must not be cancelled, got %v", r.Value)
	}
}

type recPub struct {
	mu   sync.Mutex
	msgs []map[string]any
	ids  []string
	upd  []bool
}

func (p *recPub) Publish(data, meta map[string]any, id string, update bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, data)
	p.ids = append(p.ids, id)
	p.upd = append(p.upd, update)
}
func (p *recPub) Clear(bool) {}

// engine/steerlib loops report through progress.From(ctx): the cell's ctx
// carries a reporter that draws one bar, updated in place.
func TestProgressThroughCellContext(t *testing.T) {
	s, _, _ := newTestSession(t)
	pub := &recPub{}
	display.SetPublisher(pub)
	defer display.SetPublisher(nil)
	mustRun(t, s, `import "github.com/steerbook/steerbook/engine/progress"
step, done := progress.Loop(ctx, "layers", 50)
for i := 0; i < 50; i++ {
	step()
}
done()`, 1)
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.msgs) < 2 {
		t.Fatalf("want a bar drawn and finished, got %d messages", len(pub.msgs))
	}
	if len(pub.msgs) > 10 {
		t.Errorf("50 fast steps drew %d times: the rate limit does not hold", len(pub.msgs))
	}
	id := pub.ids[0]
	for i, x := range pub.ids {
		if x != id || x == "" {
			t.Fatalf("message %d has display id %q, want %q for all", i, x, id)
		}
		if i > 0 && !pub.upd[i] {
			t.Errorf("message %d is not an update", i)
		}
	}
	last := pub.msgs[len(pub.msgs)-1]["text/plain"].(string)
	if !strings.Contains(last, "50/50") || !strings.Contains(last, "layers") {
		t.Errorf("final bar %q", last)
	}
}

// A cell-defined type's MIMEBundle method renders the trailing value.
func TestTrailingMIMEBundleOfCellType(t *testing.T) {
	s, _, _ := newTestSession(t)
	r := mustRun(t, s, `type Card struct{ Title string }
func (c Card) MIMEBundle() map[string]any {
	return map[string]any{"text/html": "<b>" + c.Title + "</b>", "text/plain": c.Title}
}
Card{"hi"}`, 1)
	if got := r.Bundle["text/html"]; got != "<b>hi</b>" {
		t.Errorf("bundle %v", r.Bundle)
	}
	r = mustRun(t, s, `type Named struct{ N int }
func (n Named) String() string { return "named!" }
Named{1}`, 2)
	if got := r.Bundle["text/plain"]; got != "named!" {
		t.Errorf("String method ignored: %v", r.Bundle)
	}
}

func TestDisplayFromCell(t *testing.T) {
	s, _, _ := newTestSession(t)
	pub := &recPub{}
	display.SetPublisher(pub)
	defer display.SetPublisher(nil)
	mustRun(t, s, `import "display"
import "gonum.org/v1/plot"
import "gonum.org/v1/plot/plotter"
display.HTML("<i>x</i>")
p := plot.New()
p.Title.Text = "line"
l, _ := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 2}})
p.Add(l)
display.Plot(p)
id := display.NewID()
display.ShowID(id, "v1")
display.Update(id, "v2")`, 1)
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.msgs) != 4 {
		t.Fatalf("got %d messages", len(pub.msgs))
	}
	if pub.msgs[0]["text/html"] != "<i>x</i>" {
		t.Errorf("html: %v", pub.msgs[0])
	}
	if png, _ := pub.msgs[1]["image/png"].(string); len(png) < 1000 {
		t.Errorf("plot PNG missing or tiny: %d bytes", len(png))
	}
	if !pub.upd[3] || pub.ids[3] != pub.ids[2] || pub.msgs[3]["text/plain"] != "v2" {
		t.Errorf("update: ids %v upd %v msgs %v", pub.ids, pub.upd, pub.msgs[3])
	}
}

func TestStdinReadsLine(t *testing.T) {
	var out kerneltest.Buffer
	var prompts []string
	s, err := New(Options{Stdout: &out, Stdin: func(prompt string, pw bool) (string, error) {
		prompts = append(prompts, prompt)
		return "Ada", nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, s, `import "display"
import "fmt"
name, err := display.Input("name? ")
name + fmt.Sprint(err)`, 1)
	if r.Value != "Ada<nil>" || len(prompts) != 1 || prompts[0] != "name? " {
		t.Errorf("got %q, prompts %q", r.Value, prompts)
	}
	r = mustRun(t, s, `import "bufio"
import "os"
line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
line`, 2)
	if r.Value != "Ada\n" || len(prompts) != 2 {
		t.Errorf("os.Stdin: got %q, prompts %q", r.Value, prompts)
	}
	r = mustRun(t, s, `var who string
fmt.Scanln(&who)
who`, 3)
	if r.Value != "Ada" || len(prompts) != 3 {
		t.Errorf("fmt.Scanln: got %q, prompts %q", r.Value, prompts)
	}
}

func TestDisplayOfCellTypes(t *testing.T) {
	s, _, _ := newTestSession(t)
	pub := &recPub{}
	display.SetPublisher(pub)
	defer display.SetPublisher(nil)
	mustRun(t, s, `import "display"
type Card struct{ Title string }
func (c Card) MIMEBundle() map[string]any { return map[string]any{"text/html": "<b>" + c.Title + "</b>"} }
type Pt struct{ X, Y int }
display.Rich(Card{"rich"})
display.Show(Pt{1, 2})
display.Show([]any{Pt{3, 4}})
display.Show(Card{"shown"})
id := display.NewID()
display.ShowID(id, Card{"v1"})
display.Update(id, Card{"v2"})`, 1)
	pub.mu.Lock()
	defer pub.mu.Unlock()
	if len(pub.msgs) != 6 {
		t.Fatalf("got %d messages", len(pub.msgs))
	}
	if pub.msgs[0]["text/html"] != "<b>rich</b>" {
		t.Errorf("Rich: %v", pub.msgs[0])
	}
	if pub.msgs[1]["text/plain"] != "{X:1 Y:2}" {
		t.Errorf("Show of a cell struct: %v", pub.msgs[1])
	}
	if pub.msgs[2]["text/plain"] != "[{3 4}]" {
		t.Errorf("Show of []any with a cell struct: %v", pub.msgs[2])
	}
	if pub.msgs[3]["text/html"] != "<b>shown</b>" {
		t.Errorf("Show of a cell type with MIMEBundle: %v", pub.msgs[3])
	}
	if pub.msgs[5]["text/html"] != "<b>v2</b>" || !pub.upd[5] || pub.ids[5] != pub.ids[4] || pub.upd[4] {
		t.Errorf("ShowID/Update of a cell type: %v %v %v", pub.msgs[4:], pub.ids[4:], pub.upd[4:])
	}
}
