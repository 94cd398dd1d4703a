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
// every step never floods the front-end.
type Progress struct {
	// Interval is the least time between two redraws (default 200 ms).
	Interval time.Duration
	// Width is the number of bar cells in the text rendering (default 30).
	Width int

	mu       sync.Mutex
	now      func() time.Time
	id       string
	label    string
	total    int
	done     int
	start    time.Time
	last     time.Time
	active   bool
	finished bool
	draws    int
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
	p.id = NewID()
	p.label, p.total, p.done = label, total, 0
	p.start = p.now()
	p.active, p.finished = true, false
	p.drawLocked(false)
}

// Update reports that done steps are complete. It redraws at most once per
// Interval.
func (p *Progress) Update(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active {
		return
	}
	p.done = done
	if p.now().Sub(p.last) >= p.Interval {
		p.drawLocked(true)
	}
}

// Finish draws the final state of the task.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.active {
		return
	}
	p.finished = true
	p.drawLocked(true)
	p.active = false
}

// Close finishes a task that was started and never finished (a cell that
// failed or was interrupted), so the bar does not stay half drawn.
func (p *Progress) Close() {
	p.mu.Lock()
	active := p.active
	p.mu.Unlock()
	if active {
		p.Finish()
	}
}

// Draws reports how many times the bar was published (for tests).
func (p *Progress) Draws() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.draws
}

func (p *Progress) drawLocked(update bool) {
	p.last = p.now()
	p.draws++
	text, h := p.renderLocked()
	publish(map[string]any{"text/plain": text, "text/html": h}, nil, p.id, update)
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

// renderLocked returns the text and HTML renderings of the current state.
func (p *Progress) renderLocked() (string, string) {
	elapsed := p.now().Sub(p.start)
	rate := 0.0
	if elapsed > 0 {
		rate = float64(p.done) / elapsed.Seconds()
	}
	rateS := "? it/s"
	if p.done > 0 && elapsed > 0 {
		if rate >= 1 {
			rateS = fmt.Sprintf("%.2f it/s", rate)
		} else {
			rateS = fmt.Sprintf("%.2f s/it", 1/rate)
		}
	}
	label := p.label
	if label != "" {
		label += ": "
	}
	width := p.Width
	if width <= 0 {
		width = 30
	}
	if p.total <= 0 {
		text := fmt.Sprintf("%s%d [%s, %s]", label, p.done, fmtDur(elapsed), rateS)
		h := fmt.Sprintf(`<div><span>%s</span> <progress></progress> <code>%d [%s, %s]</code></div>`,
			html.EscapeString(label), p.done, fmtDur(elapsed), rateS)
		return text, h
	}
	frac := float64(p.done) / float64(p.total)
	frac = min(max(frac, 0), 1)
	fill := int(frac * float64(width))
	bar := strings.Repeat("█", fill) + strings.Repeat(" ", width-fill)
	eta := "?"
	if rate > 0 {
		eta = fmtDur(time.Duration(float64(p.total-p.done) / rate * float64(time.Second)))
	}
	if p.finished && p.done >= p.total {
		eta = fmtDur(0)
	}
	stats := fmt.Sprintf("%d/%d [%s<%s, %s]", p.done, p.total, fmtDur(elapsed), eta, rateS)
	text := fmt.Sprintf("%s%3d%%|%s| %s", label, int(frac*100), bar, stats)
	h := fmt.Sprintf(`<div><span>%s</span> <progress value="%d" max="%d" style="width:20em"></progress> <code>%3d%% %s</code></div>`,
		html.EscapeString(label), p.done, p.total, int(frac*100), html.EscapeString(stats))
	return text, h
}
