package cell

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"
	"unsafe"

	"github.com/traefik/yaegi/interp"

	"github.com/steerbook/steerbook/kernel/display"
)

// The session talks to interpreted code through a small compiled package,
// imported into every session as `__sb`, and a few interpreted helpers
// defined once at start (prelude). Both are per session: the symbol map
// holds closures over the Session.

const runtimePath = "steerbook.internal/sbrt"

// prelude runs once per session.
const prelude = `import __sb "steerbook.internal/sbrt"

var ctx = __sb.Ctx()

// __sbCapture receives the values of a trailing expression. It is a
// variable, re-assigned by captureHelper whenever cells define types with
// MIMEBundle, Error or String methods.
var __sbCapture func(vs ...any)

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

func __sbShow(v any)              { __sbCapture(v); __sb.Show("", false) }
func __sbShowID(id string, v any) { __sbCapture(v); __sb.Show(id, false) }
func __sbUpdate(id string, v any) { __sbCapture(v); __sb.Show(id, true) }

type __sbInteger interface {
	~int | ~int8 | ~int16 | ~int32 | ~int64 | ~uint | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uintptr
}

func __sbRange[T __sbInteger](n T) (T, T) { return 0, n }

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
			var wrapped bool
			v, wrapped = unwrapInterp(v)
			v = deepUnwrap(v, 0)
			if !wrapped {
				// A compiled value: its methods are visible to
				// display.Bundle; a match in the helper could only be an
				// interpreted type with the same underlying type.
				kind, b, str = 0, nil, ""
			}
			s.capMu.Lock()
			s.captured = append(s.captured, captured{v: v, kind: kind, b: b, s: str})
			s.capMu.Unlock()
		}),
		"GoPanic": reflect.ValueOf(func(cell, line int, r any) {
			s.goroutinePanic(cell, line, r, debug.Stack())
		}),
		"Clear": reflect.ValueOf(clearValue),
		"Show": reflect.ValueOf(func(id string, update bool) {
			r := s.result()
			if r.Bundle == nil {
				r.Bundle = display.Bundle(nil)
			}
			display.PublishBundle(r.Bundle, id, update)
		}),
		"At": reflect.ValueOf(func(line int) { s.atLine.Store(int64(line)) }),
		"Enter": reflect.ValueOf(func() {
			if s.depth.Add(1) > maxDepth {
				s.depth.Add(-1)
				s.overflow.Store(true)
				s.ctxMu.Lock()
				running := s.ctx != nil
				s.ctxMu.Unlock()
				if !running {
					s.overflow.Store(false)
					s.goroutinePanic(0, 0, fmt.Sprintf("stack overflow: more than %d nested calls of cell functions", maxDepth), nil)
				}
				runtime.Goexit()
			}
		}),
		"Leave":       reflect.ValueOf(func() { s.depth.Add(-1) }),
		"RunDeferred": reflect.ValueOf(s.runDeferredNow),
		"Defer": reflect.ValueOf(func(f func()) {
			s.capMu.Lock()
			s.deferred = append(s.deferred, f)
			s.capMu.Unlock()
		}),
		"Keep": reflect.ValueOf(func(vs ...any) {
			s.capMu.Lock()
			s.kept = append([]any(nil), vs...)
			s.keptAll = s.kept
			s.capMu.Unlock()
		}),
		"Kept": reflect.ValueOf(func(i int) any {
			s.capMu.Lock()
			defer s.capMu.Unlock()
			return s.keptAll[i]
		}),
	}}
}

// unwrapInterp returns the value inside yaegi's wrapper for values of
// interpreted types that travel as `any` (interp.valueInterface, an
// unexported struct holding a node and the reflect.Value). Compiled code
// (fmt, display.Bundle) would otherwise print the wrapper.
func unwrapInterp(v any) (any, bool) {
	wrapped := false
	for i := 0; i < 8; i++ {
		rv := reflect.ValueOf(v)
		if !rv.IsValid() || rv.Kind() != reflect.Struct || rv.Type().Name() != "valueInterface" ||
			rv.Type().PkgPath() != "github.com/traefik/yaegi/interp" {
			return v, wrapped
		}
		p := reflect.New(rv.Type()).Elem()
		p.Set(rv)
		f := p.FieldByName("value")
		if !f.IsValid() || f.Type() != reflect.TypeOf(reflect.Value{}) {
			return v, wrapped
		}
		inner := *(*reflect.Value)(unsafe.Pointer(f.UnsafeAddr()))
		wrapped = true
		if !inner.IsValid() || !inner.CanInterface() {
			return nil, true
		}
		v = inner.Interface()
	}
	return v, wrapped
}

// deepUnwrap unwraps interpreted values inside slices and maps of
// interfaces ([]any{Celsius(1)}), so that printing shows the values, not
// yaegi's wrappers. Other containers are returned as they are.
func deepUnwrap(v any, depth int) any {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() || depth > 4 {
		return v
	}
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		if rv.Type().Elem().Kind() != reflect.Interface || (rv.Kind() == reflect.Slice && rv.IsNil()) {
			return v
		}
		out := reflect.MakeSlice(reflect.SliceOf(rv.Type().Elem()), rv.Len(), rv.Len())
		for i := 0; i < rv.Len(); i++ {
			e := rv.Index(i)
			if e.IsNil() {
				continue
			}
			u, _ := unwrapInterp(e.Interface())
			if u = deepUnwrap(u, depth+1); u != nil {
				out.Index(i).Set(reflect.ValueOf(u))
			}
		}
		return out.Interface()
	case reflect.Map:
		if rv.Type().Elem().Kind() != reflect.Interface || rv.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(rv.Type(), rv.Len())
		it := rv.MapRange()
		for it.Next() {
			val := it.Value()
			if !val.IsNil() {
				u, _ := unwrapInterp(val.Interface())
				if u = deepUnwrap(u, depth+1); u != nil {
					val = reflect.ValueOf(u)
				}
			}
			if val.Type().AssignableTo(rv.Type().Elem()) {
				out.SetMapIndex(it.Key(), val)
			} else {
				out.SetMapIndex(it.Key(), reflect.Zero(rv.Type().Elem()))
			}
		}
		return out.Interface()
	}
	return v
}

// captureHelper is the source of __sbCapture for the methods cells have
// defined. yaegi's interface assertions misfire on interpreted types (a
// value with a String method matches a MIMEBundle case) and its concrete
// assertions compare underlying types (a float64 passes as a Celsius), but a
// type switch over concrete types without a binding tells them apart; so
// the helper switches over each cell type that has a rendering method.
// Capture then trusts the result only for values that arrive wrapped as
// interpreted values.
func captureHelper(methods map[string]*methodRec) string {
	var types []string
	has := map[string]map[string]bool{}
	for _, m := range methods {
		if m.dispatch == "" && m.text == "" {
			continue
		}
		if m.name == "MIMEBundle" || m.name == "String" || m.name == "Error" {
			if has[m.recv] == nil {
				has[m.recv] = map[string]bool{}
				types = append(types, m.recv)
			}
			has[m.recv][m.name] = true
		}
	}
	sort.Strings(types)
	var sb strings.Builder
	sb.WriteString("__sbCapture = func(vs ...any) { __sb.Begin(len(vs)); for i := range vs { var b map[string]any; s := \"\"; k := 0; ")
	if len(types) > 0 {
		sb.WriteString("switch vs[i].(type) { ")
		for _, t := range types {
			for _, ptr := range []string{"", "*"} {
				fmt.Fprintf(&sb, "case %s%s: x := vs[i].(%s%s); ", ptr, t, ptr, t)
				switch {
				case has[t]["MIMEBundle"]:
					sb.WriteString("b = x.MIMEBundle(); k = 1; ")
				case has[t]["Error"]:
					sb.WriteString("s = x.Error(); k = 2; ")
				default:
					sb.WriteString("s = x.String(); k = 2; ")
				}
			}
		}
		sb.WriteString("}; ")
	}
	sb.WriteString("__sb.Capture(vs[i], k, b, s) } }")
	return sb.String()
}

// maxDepth bounds nested calls of cell functions. yaegi's interpreted frames
// are large: about 300 000 of them fit in Go's 1 GB stack limit, so this
// leaves room, and unwinding 10⁵ frames with Goexit takes under a second.
const maxDepth = 100000

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
