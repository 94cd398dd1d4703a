package cell

import (
	"errors"
	"fmt"
	"go/ast"
	"go/scanner"
	"go/token"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/traefik/yaegi/interp"
)

// panicFilter is the interpreter's stderr. yaegi prints one "pos: panic:
// func(...)" line per interpreted frame when a panic unwinds; those lines
// are the traceback, not output, so they are kept out of the cell's stderr
// (a failing cell must produce exactly one error message) and collected.
type panicFilter struct {
	w     io.Writer
	mu    sync.Mutex
	on    bool
	lines []string
}

var panicLine = regexp.MustCompile(`^(?:([A-Za-z_.0-9-]*):)?(\d+)(?::(\d+))?: panic: (.*)\n?$`)

// cellLine splits a line number from yaegi into cell number and cell line.
func cellLine(l int) (cell, line int) { return l / cellLineBase, l % cellLineBase }

func (f *panicFilter) Write(p []byte) (int, error) {
	if panicLine.Match(p) {
		f.mu.Lock()
		if f.on {
			f.lines = append(f.lines, strings.TrimSpace(string(p)))
		}
		f.mu.Unlock()
		return len(p), nil
	}
	return f.w.Write(p)
}

func (f *panicFilter) begin() {
	f.mu.Lock()
	f.on, f.lines = true, nil
	f.mu.Unlock()
}

func (f *panicFilter) end() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.on = false
	l := f.lines
	f.lines = nil
	return l
}

func syntaxError(err error, src string, n int) error {
	var el scanner.ErrorList
	if errors.As(err, &el) && len(el) > 0 {
		e := el[0]
		msg := e.Msg
		if strings.Contains(msg, "expected declaration") || strings.Contains(msg, "non-declaration statement") {
			msg += " (the cell front-end could not tell a declaration from a statement here)"
		}
		return &Error{Name: "SyntaxError", Line: e.Pos.Line, Message: msg, Traceback: traceback(src, n, e.Pos.Line, "SyntaxError: "+msg)}
	}
	return &Error{Name: "SyntaxError", Message: err.Error()}
}

// traceback renders the failing line the way Jupyter users know from
// ipykernel: the cell, the line number, the line itself, the message.
func traceback(src string, n, line int, msg string) []string {
	tb := []string{fmt.Sprintf("Cell In[%d], line %d", n, line)}
	lines := strings.Split(src, "\n")
	if line >= 1 && line <= len(lines) {
		for l := max(1, line-1); l <= line; l++ {
			marker := "   "
			if l == line {
				marker = "-->"
			}
			tb = append(tb, fmt.Sprintf("%s %d | %s", marker, l, lines[l-1]))
		}
	}
	return append(tb, msg)
}

var posPrefix = regexp.MustCompile(`^(?:(cell|_\.go):)?(\d+)(?::(\d+))?: `)

// translate turns a yaegi error into an Error with the cell line and, for
// yaegi's known gaps, a message that names the construct and the workaround.
func (s *Session) translate(err error, trace []string, c *parsedCell, n int) error {
	var p interp.Panic
	if errors.As(err, &p) {
		msg := fmt.Sprint(p.Value)
		if e, ok := p.Value.(error); ok {
			msg = e.Error()
		}
		msg = explainRuntime(msg)
		line := 0
		inFunc := false // the innermost frame in this cell is inside a function of the cell
		var frames []string
		for _, t := range trace {
			m := panicLine.FindStringSubmatch(t)
			if m == nil {
				continue
			}
			raw, _ := strconv.Atoi(m[2])
			cn, l := cellLine(raw)
			where := fmt.Sprintf("cell [%d]", cn)
			fn := s.funcAt(cn, l)
			if fn == "" && cn == n {
				fn = c.funcAt(l) // defined by this cell, not recorded yet
			}
			if cn == n && line == 0 {
				line, inFunc = l, fn != ""
			}
			if fn == "" {
				fn = "<cell>"
			}
			frames = append(frames, fmt.Sprintf("  at %s, line %d, in %s", where, l, fn))
		}
		if isNilType(msg) {
			return s.nilType(c, n, line)
		}
		if at := int(s.atLine.Load()); at > 0 && !inFunc {
			// yaegi's position for a failure in the cell's own statements
			// is often an enclosing node; the statement marker is exact.
			line = at
		}
		tb := traceback(c.src, n, line, "panic: "+msg)
		if line == 0 {
			tb = []string{"panic: " + msg}
		}
		tb = append(tb, frames...)
		return &Error{Name: "Panic", Message: msg, Line: line, Traceback: tb}
	}
	msg := err.Error()
	line := 0
	if m := posPrefix.FindStringSubmatch(msg); m != nil {
		raw, _ := strconv.Atoi(m[2])
		var cn int
		cn, line = cellLine(raw)
		if cn != n && m[1] == "cell" {
			// yaegi points at code from an earlier cell: the definition of
			// something this cell uses (a generic function it could not
			// instantiate, a re-bound caller). Point at the use.
			msg = fmt.Sprintf("%s (at the definition in cell [%d], line %d)", msg[len(m[0]):], cn, line)
			line = s.lineUsing(c, cn)
		} else {
			msg = msg[len(m[0]):]
		}
	}
	if rest, ok := strings.CutPrefix(msg, "CFG post-order panic: "); ok {
		msg = rest
		if m := posPrefix.FindStringSubmatch(msg); m != nil {
			msg = msg[len(m[0]):]
		}
	}
	if isNilType(msg) {
		return s.nilType(c, n, line)
	}
	name := "CompileError"
	if strings.Contains(msg, "definition loop") || strings.HasPrefix(msg, "incomplete type ") {
		// yaegi says this when a declaration uses a name it cannot
		// resolve; name the culprit when the cell shows one.
		if u := s.undefinedIn(c); len(u) > 0 {
			msg = "undefined: " + strings.Join(u, ", ")
		} else if !strings.Contains(c.src, "[") {
			msg += " (yaegi reports this when a name in a declaration, such as a parameter in a func type, is also a global of the cell session; rename one of them)"
		}
	}
	if expl, ok := explainCompile(msg, c, line); ok {
		msg = expl
		name = "Unsupported"
	}
	return &Error{Name: name, Message: msg, Line: line, Traceback: traceback(c.src, n, line, name+": "+msg)}
}

func isNilType(msg string) bool {
	return msg == "nil type" || strings.HasSuffix(msg, ": nil type") || msg == "nil reflect type"
}

// nilType explains yaegi's "nil type" failure, which it reports for
// language features it does not know. We look at the cell for the usual
// culprits.
func (s *Session) nilType(c *parsedCell, n, line int) error {
	generic := map[string]bool{}
	s.defMu.Lock()
	for name, f := range s.funcs {
		if f.generic {
			generic[name] = true
		}
	}
	s.defMu.Unlock()
	for _, u := range c.units {
		if fd, ok := u.decl.(*ast.FuncDecl); ok && fd.Type.TypeParams != nil {
			generic[fd.Name.Name] = true
		}
	}
	callLine, callName, rangeLine, funcRange := 0, "", 0, false
	recvLine := 0
	for _, u := range c.units {
		if as, ok := u.stmt.(*ast.AssignStmt); ok && len(as.Lhs) == 2 && len(as.Rhs) == 1 {
			if ue, ok := as.Rhs[0].(*ast.UnaryExpr); ok && ue.Op == token.ARROW && recvLine == 0 {
				recvLine = c.line(u.start)
			}
		}
	}
	for _, u := range c.units {
		ast.Inspect(u.node(), func(nd ast.Node) bool {
			switch x := nd.(type) {
			case *ast.CallExpr:
				if id, ok := x.Fun.(*ast.Ident); ok && generic[id.Name] && callLine == 0 {
					callLine, callName = c.line(c.off(x.Pos())), id.Name
				}
			case *ast.RangeStmt:
				if rangeLine == 0 {
					rangeLine = c.line(c.off(x.Pos()))
					if _, ok := x.X.(*ast.FuncLit); ok || rangeOverFunc.MatchString(c.text(x.X)) {
						funcRange = true
					}
				}
			}
			return true
		})
	}
	msg := "yaegi failed on a construct it does not support (it reported \"nil type\")"
	switch {
	case recvLine > 0:
		line = recvLine
		msg = "`v, ok := <-ch` at the top level of a cell is not supported by yaegi v0.16.1; do the receive inside a function, e.g. `func() { v, ok = <-ch }()` with v and ok declared before, or `for v := range ch`"
	case callLine > 0:
		line = callLine
		msg = fmt.Sprintf("yaegi v0.16.1 could not infer the type arguments of the generic call %s(...) (it reported \"nil type\"); instantiate it explicitly, e.g. %s[float64](...)", callName, callName)
	case rangeLine > 0 && funcRange:
		line = rangeLine
		msg = "range over a function (iterator) is not supported by yaegi v0.16.1; call the function with a callback, or collect the values into a slice and range over that"
	case rangeLine > 0:
		line = rangeLine
		msg = "`for ... range` over this value is not supported by yaegi v0.16.1: ranging over an integer whose type the cell front-end could not see, or over a function. Write `for i := 0; i < n; i++`, or range over a slice"
	}
	return &Error{Name: "Unsupported", Message: msg, Line: line, Traceback: traceback(c.src, n, line, "Unsupported: "+msg)}
}

var rangeOverFunc = regexp.MustCompile(`^(func|\w+\.All\(|\w+\.Seq|maps\.Keys|maps\.Values|slices\.Values|strings\.(Lines|SplitSeq|FieldsSeq))`)

// explainCompile recognises yaegi's messages for features it lacks.
func explainCompile(msg string, c *parsedCell, line int) (string, bool) {
	switch {
	case strings.HasPrefix(msg, "cannot assign to ") && strings.HasSuffix(msg, " constant)"):
		return msg + ": yaegi v0.16.1 cannot assign to variables of compiled packages; use the package's setter if it has one (display.SetPlotSize for display.PlotWidth/PlotHeight)", true
	case strings.Contains(msg, "undefined type for"):
		return msg + ": yaegi v0.16.1 cannot infer the type arguments of this generic call (variadic generic functions and some nested calls are not inferred). Instantiate it explicitly, e.g. `Sum[float64](1.5, 2.5)`", true
	case (strings.Contains(msg, "constant definition loop") || strings.Contains(msg, "variable definition loop")) && usesGenerics(c):
		return msg + ": yaegi v0.16.1 mis-handles this generic declaration or call. Instantiate generic functions and types explicitly (`NewMatrix[float64](2, 3)`), or use a non-generic version", true
	case strings.Contains(msg, "constant definition loop") || strings.Contains(msg, "variable definition loop"):
		return msg + ": yaegi v0.16.1 could not type this top-level declaration. Give the variable its type (`var x T = ...`), or compute it inside a function", true
	case strings.Contains(msg, "unable to find source related to"):
		if m := regexp.MustCompile(`related to: "([^"]*)"`).FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("package %q is not available in this kernel", m[1])
		}
		return msg + ": the package is neither in the standard library tables (Go 1.22 API) nor among the preloaded packages (gonum mat/stat/floats, gonum plot, display, engine, steerlib). yaegi cannot load modules at run time", true
	case strings.Contains(msg, "undefined selector") && (strings.Contains(msg, "slices") || strings.Contains(msg, "maps")):
		return msg + ": generic functions of slices and maps are mostly missing in yaegi v0.16.1; use sort.Slice / sort.Float64s or a loop", true
	}
	return msg, false
}

// explainRuntime rewords reflect-flavoured runtime errors from yaegi.
func explainRuntime(msg string) string {
	switch {
	case strings.Contains(msg, "reflect: call of reflect.Value.") && strings.Contains(msg, "zero Value"):
		return msg + " (probably a nil pointer dereference or a nil map/func)"
	case strings.Contains(msg, "call of nil function"):
		return msg + " (a nil func value, or a function whose defining cell failed: re-run that cell)"
	case strings.Contains(msg, "reflect: slice index out of range"), strings.Contains(msg, "index out of range"):
		return msg + " (index out of range)"
	}
	return msg
}

// usesGenerics reports whether the cell declares generic functions or
// types, or instantiates something explicitly.
func usesGenerics(c *parsedCell) bool {
	found := false
	for _, u := range c.units {
		ast.Inspect(u.node(), func(n ast.Node) bool {
			switch x := n.(type) {
			case *ast.FuncDecl:
				if x.Type.TypeParams != nil {
					found = true
				}
			case *ast.TypeSpec:
				if x.TypeParams != nil {
					found = true
				}
			case *ast.IndexListExpr:
				found = true
			}
			return !found
		})
	}
	return found
}

// funcAt names the function or method the cell declares at line.
func (c *parsedCell) funcAt(line int) string {
	for _, u := range c.units {
		fd, ok := u.decl.(*ast.FuncDecl)
		if !ok || line < c.line(u.start) || line > c.line(u.end) {
			continue
		}
		if fd.Recv != nil {
			if t, _ := recvType(fd); t != "" {
				return t + "." + fd.Name.Name
			}
		}
		return fd.Name.Name
	}
	return ""
}
