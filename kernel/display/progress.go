package display

import (
	"fmt"
	"html"
	"strings"
	"sync"
	"time"

	"github.com/steerbook/steerbook/engine/progress"
)

// Progress is a progress bar that updates one output in place: a label, a
// bar, the count, the rate and the remaining time. It implements
// progress.Reporter, so engine and steerlib loops draw it through the cell's
// context.
//
// One output per outermost task: a task started while another runs (a
// forward pass inside an extraction) is drawn as a second line of the same
// output and disappears when it finishes; the same task repeated at once
// (one per loop iteration) reuses the output, and a cell opens at most
// maxOutputs of them. Redraws are limited to one per Interval, so a
// loop that reports every step never floods the front-end. The final
// drawing of a task holds no timing ("extract: 100%|███| 5/5"), so a
// notebook's saved outputs do not change from run to run; the elapsed time
// and rate go to the output's metadata under "steerbook".
type Progress struct {
	// Interval is the least time between two redraws (default 200 ms).
	Interval time.Duration
	// Width is the number of bar cells in the text rendering (default 30).
	Width int

	mu        sync.Mutex
	now       func() time.Time
	stack     []*bar
	draws     int
	id        string    // the current output
	last      time.Time // its last redraw
	finished  time.Time // when its outermost task finished
	lastLabel string    // label of the last outermost task
	outputs   int       // outputs opened so far
}

type bar struct {
	label    string
	total    int
	done     int
	start    time.Time
	finished bool
}

var _ progress.Reporter = (*Progress)(nil)

// reuseWithin is how soon after a task finished the next outermost task
// of the same label takes over its output instead of opening a new one.
const reuseWithin = 2 * time.Second

// NewProgress returns a reporter that draws nothing until Start.
func NewProgress() *Progress {
	return &Progress{Interval: 200 * time.Millisecond, Width: 30, now: time.Now}
}

// Start begins a task of total steps (0: unknown).
func (p *Progress) Start(label string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	p.stack = append(p.stack, &bar{label: label, total: total, start: now})
	if len(p.stack) > 1 {
		p.drawLocked(false, false)
		return
	}
	// The same task again right away (a loop that calls a reporting
	// function per item) redraws the same output, and so does every task
	// once a cell has opened maxOutputs of them.
	again := label == p.lastLabel && now.Sub(p.finished) < reuseWithin
	p.lastLabel = label
	if p.id != "" && (again || p.outputs >= maxOutputs) {
		p.drawLocked(true, false)
		return
	}
	p.id = NewID()
	p.outputs++
	p.drawLocked(false, true)
}

// maxOutputs bounds the progress outputs one cell opens.
const maxOutputs = 20

// Update reports that done steps of the innermost task are complete.
func (p *Progress) Update(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.stack) == 0 {
		return
	}
	p.stack[len(p.stack)-1].done = done
	p.drawLocked(true, false)
}

// Finish ends the innermost task. The end of the outermost task is always
// drawn, without timing.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.stack) == 0 {
		return
	}
	b := p.stack[len(p.stack)-1]
	b.finished = true
	if len(p.stack) > 1 {
		p.stack = p.stack[:len(p.stack)-1]
		p.drawLocked(true, false)
		return
	}
	p.drawLocked(true, true)
	p.stack = nil
	p.finished = p.now()
}

// Close finishes every task that was started and not finished (a cell that
// failed or was interrupted), so no bar stays half drawn.
func (p *Progress) Close() {
	for {
		p.mu.Lock()
		n := len(p.stack)
		p.mu.Unlock()
		if n == 0 {
			return
		}
		p.Finish()
	}
}

// Draws reports how many times the output was published (for tests).
func (p *Progress) Draws() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.draws
}

// drawLocked publishes the stack unless the output was redrawn less than
// Interval ago (force skips the check).
func (p *Progress) drawLocked(update, force bool) {
	now := p.now()
	if !force && now.Sub(p.last) < p.Interval {
		return
	}
	p.last = now
	p.draws++
	var texts, htmls []string
	for _, b := range p.stack {
		t, h := p.render(b)
		texts = append(texts, t)
		htmls = append(htmls, h)
	}
	outer := p.stack[0]
	elapsed := now.Sub(outer.start).Seconds()
	meta := map[string]any{"steerbook": map[string]any{
		"progress":  outer.label,
		"done":      outer.done,
		"total":     outer.total,
		"elapsed_s": elapsed,
	}}
	publish(map[string]any{"text/plain": strings.Join(texts, "\n"), "text/html": strings.Join(htmls, "")}, meta, p.id, update)
}

func fmtDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// render returns the text and HTML renderings of a bar: with elapsed time,
// rate and ETA while it runs, without them once it finished.
func (p *Progress) render(b *bar) (string, string) {
	elapsed := p.now().Sub(b.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(b.done) / elapsed.Seconds()
	}
	rateS := "? it/s"
	if b.done > 0 && elapsed > 0 {
		if rate >= 1 {
			rateS = fmt.Sprintf("%.2f it/s", rate)
		} else {
			rateS = fmt.Sprintf("%.2f s/it", 1/rate)
		}
	}
	label := b.label
	if label != "" {
		label += ": "
	}
	width := p.Width
	if width <= 0 {
		width = 30
	}
	if b.total <= 0 {
		stats := fmt.Sprintf("%d [%s, %s]", b.done, fmtDur(elapsed), rateS)
		if b.finished {
			stats = fmt.Sprintf("%d done", b.done)
		}
		text := label + stats
		h := fmt.Sprintf(`<div><span>%s</span> <progress></progress> <code>%s</code></div>`, html.EscapeString(label), html.EscapeString(stats))
		return text, h
	}
	frac := float64(b.done) / float64(b.total)
	frac = min(max(frac, 0), 1)
	fill := int(frac * float64(width))
	barText := strings.Repeat("█", fill) + strings.Repeat(" ", width-fill)
	eta := "?"
	if rate > 0 {
		eta = fmtDur(time.Duration(float64(b.total-b.done) / rate * float64(time.Second)))
	}
	stats := fmt.Sprintf("%d/%d [%s<%s, %s]", b.done, b.total, fmtDur(elapsed), eta, rateS)
	if b.finished {
		stats = fmt.Sprintf("%d/%d", b.done, b.total)
	}
	text := fmt.Sprintf("%s%3d%%|%s| %s", label, int(frac*100), barText, stats)
	h := fmt.Sprintf(`<div><span>%s</span> <progress value="%d" max="%d" style="width:20em"></progress> <code>%3d%% %s</code></div>`,
		html.EscapeString(label), b.done, b.total, int(frac*100), html.EscapeString(stats))
	return text, h
}
