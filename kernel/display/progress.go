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
// context. Redraws are limited to one per Interval, so a loop that reports
// every step never floods the front-end. Tasks nest: a Start while a task
// runs opens a second bar below it (a sweep over layers that runs forward
// passes with their own progress); Finish closes the innermost.
type Progress struct {
	// Interval is the least time between two redraws of a bar (default
	// 200 ms).
	Interval time.Duration
	// Width is the number of bar cells in the text rendering (default 30).
	Width int

	mu    sync.Mutex
	now   func() time.Time
	stack []*bar
	draws int
	// slots remembers, per nesting depth, the output of the last bar, so
	// that a loop that starts many short tasks (a forward pass per batch)
	// redraws one output instead of adding one per task.
	slots []slot
}

type slot struct {
	id       string
	finished time.Time
	last     time.Time // last redraw of this output
}

// reuseWithin is how soon after a bar finished a new task at the same
// depth takes over its output instead of opening a new one.
const reuseWithin = 2 * time.Second

type bar struct {
	id       string
	depth    int
	label    string
	total    int
	done     int
	start    time.Time
	finished bool
}

var _ progress.Reporter = (*Progress)(nil)

// NewProgress returns a reporter that draws nothing until Start.
func NewProgress() *Progress {
	return &Progress{Interval: 200 * time.Millisecond, Width: 30, now: time.Now}
}

// Start begins a task of total steps (0: unknown) and shows its bar.
func (p *Progress) Start(label string, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	d := len(p.stack)
	b := &bar{label: label, total: total, start: now, depth: d}
	update := false
	if d < len(p.slots) && p.slots[d].id != "" && (d > 0 || now.Sub(p.slots[d].finished) < reuseWithin) {
		// Nested tasks always redraw their depth's output; top-level
		// tasks do when they follow each other quickly.
		b.id, update = p.slots[d].id, true
	} else {
		b.id = NewID()
	}
	for len(p.slots) <= d {
		p.slots = append(p.slots, slot{})
	}
	last := p.slots[d].last
	if !update {
		last = time.Time{}
	}
	p.slots[d] = slot{id: b.id, last: last}
	p.stack = append(p.stack, b)
	p.drawLocked(b, update, !update)
}

// Update reports that done steps of the innermost task are complete. It
// redraws at most once per Interval.
func (p *Progress) Update(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.stack) == 0 {
		return
	}
	b := p.stack[len(p.stack)-1]
	b.done = done
	p.drawLocked(b, true, false)
}

// Finish draws the final state of the innermost task and closes it.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.stack) == 0 {
		return
	}
	b := p.stack[len(p.stack)-1]
	p.stack = p.stack[:len(p.stack)-1]
	b.finished = true
	// The outermost bar always shows its final state; nested ones obey the
	// rate limit (the next redraw of their output shows the truth).
	p.drawLocked(b, true, b.depth == 0)
	p.slots[b.depth].finished = p.now()
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

// Draws reports how many times bars were published (for tests).
func (p *Progress) Draws() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.draws
}

// drawLocked publishes b unless its output was redrawn less than Interval
// ago (force skips the check).
func (p *Progress) drawLocked(b *bar, update, force bool) {
	now := p.now()
	sl := &p.slots[b.depth]
	if !force && now.Sub(sl.last) < p.Interval {
		return
	}
	sl.last = now
	p.draws++
	text, h := p.render(b)
	publish(map[string]any{"text/plain": text, "text/html": h}, nil, b.id, update)
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

// render returns the text and HTML renderings of a bar.
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
		text := fmt.Sprintf("%s%d [%s, %s]", label, b.done, fmtDur(elapsed), rateS)
		h := fmt.Sprintf(`<div><span>%s</span> <progress></progress> <code>%d [%s, %s]</code></div>`,
			html.EscapeString(label), b.done, fmtDur(elapsed), rateS)
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
	if b.finished && b.done >= b.total {
		eta = fmtDur(0)
	}
	stats := fmt.Sprintf("%d/%d [%s<%s, %s]", b.done, b.total, fmtDur(elapsed), eta, rateS)
	text := fmt.Sprintf("%s%3d%%|%s| %s", label, int(frac*100), barText, stats)
	h := fmt.Sprintf(`<div><span>%s</span> <progress value="%d" max="%d" style="width:20em"></progress> <code>%3d%% %s</code></div>`,
		html.EscapeString(label), b.done, b.total, int(frac*100), html.EscapeString(stats))
	return text, h
}
