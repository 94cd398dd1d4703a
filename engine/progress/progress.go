// Package progress carries a progress reporter through a context.Context, so
// that long loops in engine and steerlib can report how far they are without
// importing the kernel that draws the bar. The default reporter does nothing.
package progress

import "context"

// Reporter receives progress for one long operation.
//
// Start announces a new task with a label and a total count of steps (0 when
// the total is unknown); Update reports that done steps are complete; Finish
// ends the task. Implementations must be safe to call from one goroutine at a
// time and cheap: callers report every step, and the reporter decides how often
// to draw.
type Reporter interface {
	Start(label string, total int)
	Update(done int)
	Finish()
}

type key struct{}

type nop struct{}

func (nop) Start(string, int) {}
func (nop) Update(int)        {}
func (nop) Finish()           {}

// WithReporter returns a context whose long operations report to r.
func WithReporter(ctx context.Context, r Reporter) context.Context {
	return context.WithValue(ctx, key{}, r)
}

// From returns the reporter installed in ctx, or one that does nothing.
func From(ctx context.Context) Reporter {
	if ctx != nil {
		if r, ok := ctx.Value(key{}).(Reporter); ok && r != nil {
			return r
		}
	}
	return nop{}
}

// Loop is a convenience for the common case: it starts a task of total steps
// and returns a function to call after each step and a function to call at
// the end.
func Loop(ctx context.Context, label string, total int) (step func(), done func()) {
	r := From(ctx)
	r.Start(label, total)
	n := 0
	return func() { n++; r.Update(n) }, r.Finish
}
