package cell

import (
	"context"
	"fmt"
	"reflect"
	"runtime/debug"
	"sync"
	"time"

	"github.com/traefik/yaegi/interp"
)

// The session talks to interpreted code through a small compiled package,
// imported into every session as `__sb`, and a few interpreted helpers
// defined once at start (prelude). Both are per session: the symbol map
// holds closures over the Session.

const runtimePath = "steerbook.internal/sbrt"

// prelude runs once per session. The helpers are interpreted so that type
// assertions see methods of types defined in cells, which compiled code
// cannot (yaegi hands compiled code the bare struct).
const prelude = `import __sb "steerbook.internal/sbrt"

var ctx = __sb.Ctx()

func __sbCapture(vs ...any) {
	__sb.Begin(len(vs))
	for _, v := range vs {
		var b map[string]any
		var s string
		kind := 0
		func() {
			defer func() {
				if r := recover(); r != nil {
					kind = 0
				}
			}()
			if r, ok := v.(interface{ MIMEBundle() map[string]any }); ok {
				b, kind = r.MIMEBundle(), 1
			} else if e, ok := v.(interface{ Error() string }); ok {
				s, kind = e.Error(), 2
			} else if st, ok := v.(interface{ String() string }); ok {
				s, kind = st.String(), 2
			}
		}()
		__sb.Capture(v, kind, b, s)
	}
}

func __sbGo(cell, line int, f func()) {
	go func() {
		defer func() {
			if r := recover(); r != nil {
				__sb.GoPanic(cell, line, r)
			}
		}()
		f()
	}()
}

type __sbOrdered interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr | ~float32 | ~float64 | ~string
}

func __sbMin[T __sbOrdered](a, b T) T {
	if a != a || b < a {
		return b
	}
	return a
}

func __sbMax[T __sbOrdered](a, b T) T {
	if a != a || b > a {
		return b
	}
	return a
}
`

// cellContext is the value of `ctx` in cells. It stays the same object for
// the whole session and delegates to the context of the cell that is running,
// so code defined in an earlier cell sees the current cell's cancellation.
type cellContext struct{ s *Session }

func (c cellContext) cur() context.Context {
	c.s.ctxMu.Lock()
	defer c.s.ctxMu.Unlock()
	if c.s.ctx == nil {
		return context.Background()
	}
	return c.s.ctx
}

func (c cellContext) Deadline() (time.Time, bool) { return c.cur().Deadline() }
func (c cellContext) Done() <-chan struct{}       { return c.cur().Done() }
func (c cellContext) Err() error                  { return c.cur().Err() }
func (c cellContext) Value(k any) any             { return c.cur().Value(k) }
func (c cellContext) String() string              { return "cell context" }

// captured is one value of a trailing expression.
type captured struct {
	v    any
	kind int // 0 plain, 1 MIMEBundle, 2 text from Error/String
	b    map[string]any
	s    string
}

func (s *Session) runtimeSymbols() interp.Exports {
	return interp.Exports{runtimePath + "/sbrt": {
		"Ctx": reflect.ValueOf(func() context.Context { return cellContext{s} }),
		"Begin": reflect.ValueOf(func(n int) {
			s.capMu.Lock()
			s.captured = make([]captured, 0, n)
			s.capMu.Unlock()
		}),
		"Capture": reflect.ValueOf(func(v any, kind int, b map[string]any, str string) {
			s.capMu.Lock()
			s.captured = append(s.captured, captured{v: v, kind: kind, b: b, s: str})
			s.capMu.Unlock()
		}),
		"GoPanic": reflect.ValueOf(func(cell, line int, r any) {
			s.goroutinePanic(cell, line, r, debug.Stack())
		}),
		"Clear": reflect.ValueOf(clearValue),
	}}
}

// clearValue implements the clear builtin for maps and slices.
func clearValue(v any) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice:
		rv.Clear()
	case reflect.Pointer:
		if e := rv.Elem(); e.Kind() == reflect.Map || e.Kind() == reflect.Slice {
			e.Clear()
			return
		}
		panic(fmt.Sprintf("clear: invalid argument of type %T", v))
	case reflect.Invalid:
	default:
		panic(fmt.Sprintf("clear: invalid argument of type %T (want a map or a slice)", v))
	}
}

// goroutineError is what SetGoroutinePanicHandler's function receives.
type goroutineError struct {
	line  int
	value any
	cell  int
}

func (e *goroutineError) Error() string {
	return fmt.Sprintf("panic in goroutine started at cell [%d] line %d: %v", e.cell, e.line, e.value)
}

var _ sync.Locker = (*sync.Mutex)(nil)
