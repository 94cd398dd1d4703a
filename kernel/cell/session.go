// Package cell is Steerbook's cell front-end: it runs Go notebook cells in a
// yaegi interpreter whose state persists from cell to cell, and it papers
// over yaegi's REPL traps so that a cell behaves like Go.
//
// Each cell is parsed with go/parser, cut into declarations and statements,
// rewritten source-to-source (functions become package-level variables so that
// callers see redefinitions, methods dispatch through a variable for the same
// reason, min/max/clear/range-over-int/per-iteration loop variables are
// lowered, `go` statements recover panics), and evaluated chunk by chunk.
// Rewrites never move code to another line, so yaegi's positions are cell
// lines.
package cell

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log"
	"os"
	"path"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	"github.com/traefik/yaegi/stdlib/unrestricted"

	"github.com/steerbook/steerbook/engine/progress"
	"github.com/steerbook/steerbook/kernel/display"
	"github.com/steerbook/steerbook/kernel/symbols"
)

const displayPath = "github.com/steerbook/steerbook/kernel/display"

// Options configures a Session.
type Options struct {
	// Stdout and Stderr receive what cells print through fmt, log, print
	// and println. Nil means os.Stdout / os.Stderr.
	Stdout, Stderr io.Writer
	// Stdin reads one line from the user (Jupyter's input_request). Cells
	// reach it through os.Stdin (an io.Reader in cells), fmt.Scan*, and
	// display.Input / display.Password. Nil means cells cannot read input
	// (reads return io.EOF).
	Stdin func(prompt string, password bool) (string, error)
}

// Result is the value of a cell's trailing expression. Whether a cell has a
// value is decided from its AST: the last statement is an expression that is
// not a call to a function without results.
type Result struct {
	// Value is the value; for an expression with several results it is a
	// []any of them.
	Value any
	// HasValue is false when the cell ends in a statement, a declaration, a
	// call without results, or an expression whose value is a nil interface.
	HasValue bool
	// Bundle is the rich rendering of Value (MIME type → data). It honours
	// MIMEBundle/Error/String methods of types defined in cells, which
	// display.Bundle cannot see from compiled code; use it rather than
	// display.Bundle(Value).
	Bundle map[string]any
}

// Error is a failed cell. It implements error.
type Error struct {
	Name      string   // kind: SyntaxError, CompileError, Panic, Interrupted, RedefinitionError, Unsupported
	Message   string   // what went wrong, with the workaround when yaegi cannot do something
	Line      int      // 1-based cell line, 0 when unknown
	Traceback []string // human-readable lines: the failing cell line, then frames
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s: line %d: %s", e.Name, e.Line, e.Message)
	}
	return e.Name + ": " + e.Message
}

// Session is one notebook's interpreter and everything the front-end
// remembers about the cells run so far. Execute, Complete and Inspect may be
// called from different goroutines; Execute calls are serialised.
type Session struct {
	mu   sync.Mutex
	in   *interp.Interpreter
	opts Options
	errw *panicFilter

	exports  interp.Exports    // every symbol table given to the interpreter
	pkgNames map[string]string // import path -> package name

	ctxMu sync.Mutex
	ctx   context.Context

	capMu    sync.Mutex
	captured []captured
	kept     []any    // values of a typed definition (typedefine.go)
	deferred []func() // the cell's top-level defers, run when it ends
	keptAll  []any

	panicMu      sync.Mutex
	panicHandler func(error)

	// What the cells defined, for redefinition, completion and inspect.
	defMu   sync.Mutex
	imports map[string]string // local name -> import path
	funcs   map[string]*funcRec
	methods map[string]*methodRec // "T.M"
	types   map[string]*typeRec
	values  map[string]*valueRec // vars, consts, := globals
	cellN   int

	atLine    atomic.Int64 // last top-level statement line reached (__sb.At)
	depth     atomic.Int64 // nested guarded calls (__sb.Enter/Leave)
	overflow  atomic.Bool  // a guarded call ran past maxDepth
	capHelper string       // source of the current __sbCapture
	ctxDirty  bool         // a cell assigned the global ctx: restore it before the next cell
}

type funcRec struct {
	name    string
	sig     string // parameter and result types only, for comparison
	header  string // "func f(x int) int", for inspect
	doc     string
	generic bool
	assign  string // chunk that (re)binds the function variable, for re-binding after a dependency changes
	refs    map[string]bool
	cell    int
	lines   [2]int // first and last cell line of the declaration
	result  string // the named type of its single result, if any
}

type methodRec struct {
	recv, name string
	sig        string
	header     string
	doc        string
	dispatch   string // name of the dispatch variable; "" for methods of generic types
	text       string
	refs       map[string]bool
	assign     string // chunk that re-binds the dispatch variable
	cell       int
	lines      [2]int
}

type typeRec struct {
	text string
	doc  string
	cell int
}

type valueRec struct {
	typ  string // named type of the value when the declaration shows it
	kind string // "var", "const", "value"
	text string // declaration text
	cell int
}

// New starts a session with the standard library and every preloaded
// package available for import.
func New(opts Options) (*Session, error) {
	if opts.Stdout == nil {
		opts.Stdout = os.Stdout
	}
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	s := &Session{
		opts:     opts,
		pkgNames: map[string]string{},
		imports:  map[string]string{},
		funcs:    map[string]*funcRec{},
		methods:  map[string]*methodRec{},
		types:    map[string]*typeRec{},
		values:   map[string]*valueRec{},
		exports:  interp.Exports{},
	}
	s.errw = &panicFilter{w: opts.Stderr}
	stdin := &lineReader{read: opts.Stdin}
	iopts := interp.Options{Stdout: opts.Stdout, Stderr: s.errw, Env: os.Environ(), Stdin: stdin}
	s.in = interp.New(iopts)
	// `import "display"` is a shorthand for the display package.
	alias := interp.Exports{"display/display": symbols.Symbols[displayPath+"/display"]}
	// os.Stdin in cells reads lines from the front-end (input_request).
	// yaegi maps it to Options.Stdin only for an *os.File, so the symbol is
	// replaced by an io.Reader variable (fmt.Scan* already read Options.Stdin).
	var cellStdin io.Reader = stdin
	osStdin := interp.Exports{"os/os": {"Stdin": reflect.ValueOf(&cellStdin).Elem()}}
	// os/exec is useful in notebooks (nvidia-smi, git rev-parse); the rest
	// of yaegi's unrestricted set (os.Exit, log.Fatal) would end the kernel
	// and stays out: in cells those panic instead.
	osExec := interp.Exports{"os/exec/exec": unrestricted.Symbols["os/exec/exec"]}
	for _, tbl := range []interp.Exports{stdlib.Symbols, osStdin, osExec, symbols.Symbols, alias, s.runtimeSymbols()} {
		if err := s.in.Use(tbl); err != nil {
			return nil, fmt.Errorf("cell: loading symbol tables: %w", err)
		}
		for k, v := range tbl {
			if s.exports[k] == nil {
				s.exports[k] = map[string]reflect.Value{}
			}
			for name, sym := range v {
				s.exports[k][name] = sym
			}
			s.pkgNames[path.Dir(k)] = path.Base(k)
		}
	}
	// The prelude goes through the same file name as cells: yaegi scopes
	// imports (here __sb) by file name.
	prog, err := s.compile(&chunk{text: prelude, what: "prelude"}, 0)
	if err == nil {
		_, err = s.in.Execute(prog)
	}
	if err != nil {
		return nil, fmt.Errorf("cell: session prelude: %w", err)
	}
	return s, nil
}

// SetGoroutinePanicHandler sets the function told about panics in
// goroutines started by cells. Such panics are recovered so that the kernel
// survives; without a handler they are written to Stderr.
func (s *Session) SetGoroutinePanicHandler(h func(err error)) {
	s.panicMu.Lock()
	s.panicHandler = h
	s.panicMu.Unlock()
}

func (s *Session) goroutinePanic(cell, line int, r any, stack []byte) {
	err := &goroutineError{line: line, value: r, cell: cell}
	s.panicMu.Lock()
	h := s.panicHandler
	s.panicMu.Unlock()
	if h != nil {
		h(err)
		return
	}
	fmt.Fprintln(s.opts.Stderr, err.Error())
}

func (s *Session) setCtx(ctx context.Context) {
	s.ctxMu.Lock()
	s.ctx = ctx
	s.ctxMu.Unlock()
}

// Execute runs one cell. n is the execution count, used in messages and
// tracebacks. ctx cancels the cell (interrupt); cells see it as `ctx`, with a
// progress reporter installed that draws a bar through the display package.
func (s *Session) Execute(ctx context.Context, src string, n int) (Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cellN = n
	if s.ctxDirty {
		// A cell replaced ctx (ctx, cancel := context.WithTimeout(ctx, …));
		// every cell starts again from the cell context.
		s.ctxDirty = false
		if prog, err := s.compile(&chunk{text: "ctx = __sb.Ctx()", stmt: true, what: "ctx"}, 0); err == nil {
			_, _ = s.in.Execute(prog)
		}
	}
	c, err := parseCell(src)
	if err != nil {
		return Result{}, syntaxError(err, src, n)
	}
	if len(c.units) == 0 {
		return Result{}, nil
	}
	es, usesShow := c.rewrite(s, n)
	p, err := s.plan(c, es, n)
	if err != nil {
		return Result{}, err
	}
	if s.opts.Stdin != nil {
		display.SetInput(s.opts.Stdin)
	}
	bar := display.NewProgress()
	defer bar.Close()
	defer s.runDeferred(ctx, n)
	s.setCtx(progress.WithReporter(ctx, bar))
	defer s.setCtx(nil)
	for _, ch := range p.chunks {
		if usesShow && ch.stmt {
			// The chunks before may have defined rendering methods.
			if err := s.ensureCaptureHelper(c.methodKeys()...); err != nil {
				return Result{}, err
			}
		}
		if err := s.run(ctx, ch, c, n); err != nil {
			return Result{}, err
		}
		if ch.after != nil {
			ch.after()
		}
	}
	if p.trailing == nil {
		return Result{}, nil
	}
	return s.trailing(ctx, p.trailing, c, n)
}

// chunk is one yaegi evaluation.
type chunk struct {
	text  string
	stmt  bool   // statements (wrapped in func main by the parser) or declarations
	what  string // for internal error messages
	after func() // runs when the chunk succeeded: records definitions
	soft  bool   // failure is a note on stderr, not a cell error (re-binding callers)
	cell  int    // cell the text comes from, when not the running one
	// pieces are the top-level items of a statements chunk, for running
	// them one by one when yaegi cannot type the chunk (see runPieces).
	pieces []piece
}

// piece is one top-level item of a statements chunk.
type piece struct {
	start, end int
	text       string
	// For a top-level `a, b := x, y`: the names and the rendered right side.
	lhs []string
	rhs string
}

type cellPlan struct {
	chunks   []*chunk
	trailing *trailingExpr
}

type trailingExpr struct {
	capture, plain string
	void           bool
	line           int
}

// atTrailing gives a runtime error of the trailing expression its line when
// yaegi's positions gave none inside this cell.
func (s *Session) atTrailing(err error, line int) error {
	var e *Error
	if errors.As(err, &e) && e.Name == "Panic" && e.Line == 0 {
		e.Line = line
	}
	return err
}

// cellLineBase folds the cell number into yaegi's line numbers: line L of
// cell N is reported as N*cellLineBase+L.
const cellLineBase = 100000

// compile parses a chunk in the interpreter's file set, with a //line
// directive that puts the cell number into yaegi's line numbers, and
// compiles it. yaegi's compiler panics on some inputs (log.Panic "nil
// type", "nil reflect type"); that becomes an error, not a dead kernel.
func (s *Session) compile(ch *chunk, n int) (prog *interp.Program, err error) {
	// yaegi logs the message of such panics through the standard logger
	// before panicking; it would land in the cell's stderr as noise.
	prevLog := log.Writer()
	log.SetOutput(io.Discard)
	defer log.SetOutput(prevLog)
	defer func() {
		if r := recover(); r != nil {
			prog, err = nil, fmt.Errorf("%v", r)
		}
	}()
	// One file name for every chunk: yaegi keys imports by it. The cell
	// number is folded into the line numbers instead (see cellLine).
	const name = "cell"
	dir := fmt.Sprintf("\n//line cell:%d\n", n*cellLineBase+1)
	var node ast.Node
	if ch.stmt {
		f, err := parser.ParseFile(s.in.FileSet(), name, stmtPrefix+dir+ch.text+"\n}", parser.DeclarationErrors)
		if err != nil {
			return nil, &Error{Name: "InternalError", Message: fmt.Sprintf("rewritten %s does not parse: %v", ch.what, err), Traceback: strings.Split(ch.text, "\n")}
		}
		node = f.Decls[0].(*ast.FuncDecl).Body
	} else {
		f, err := parser.ParseFile(s.in.FileSet(), name, declPrefix+dir+ch.text, parser.DeclarationErrors)
		if err != nil {
			return nil, &Error{Name: "InternalError", Message: fmt.Sprintf("rewritten %s does not parse: %v", ch.what, err), Traceback: strings.Split(ch.text, "\n")}
		}
		node = f
	}
	return s.in.CompileAST(node)
}

func (s *Session) run(ctx context.Context, ch *chunk, c *parsedCell, n int) error {
	cn := n
	if ch.cell != 0 {
		cn = ch.cell
	}
	prog, err := s.compile(ch, cn)
	if err != nil && strings.Contains(err.Error(), "definition loop") && len(ch.pieces) > 0 {
		return s.runPieces(ctx, ch, c, n)
	}
	if err != nil {
		if ch.soft {
			fmt.Fprintf(s.opts.Stderr, "note: %s: %v\n", ch.what, err)
			return nil
		}
		var e *Error
		if errors.As(err, &e) {
			return e
		}
		return s.translate(err, nil, c, n)
	}
	return s.execute(ctx, prog, c, n)
}

func (s *Session) execute(ctx context.Context, prog *interp.Program, c *parsedCell, n int) error {
	s.errw.begin()
	s.atLine.Store(0)
	g0 := runtime.NumGoroutine()
	_, err := s.in.ExecuteWithContext(ctx, prog)
	trace := s.errw.end()
	if s.overflow.Swap(false) {
		return &Error{Name: "StackOverflow", Message: fmt.Sprintf("more than %d nested calls of cell functions (runaway recursion?); the cell was stopped to keep the kernel and its state alive", maxDepth),
			Traceback: []string{fmt.Sprintf("StackOverflow: more than %d nested calls of cell functions in cell [%d]", maxDepth, n)}}
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// yaegi returns at once but its goroutines see the stop only at
		// their next step; give them a moment to unwind before the
		// interpreter is used again (bounded: compiled calls may run on).
		for deadline := time.Now().Add(400 * time.Millisecond); runtime.NumGoroutine() > g0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		s.rebindAll()
		return &Error{Name: "Interrupted", Message: fmt.Sprintf("cell [%d] interrupted (%v); the session keeps its state", n, ctx.Err()),
			Traceback: []string{fmt.Sprintf("Interrupted: cell [%d] was stopped", n)}}
	}
	return s.translate(err, trace, c, n)
}

// rebindAll re-assigns every function and method variable. yaegi's
// interrupt bumps a run id that closures created before it keep: their loops
// would exit at once and return zero values. Fresh assignments get the new
// run id.
func (s *Session) rebindAll() {
	s.defMu.Lock()
	type rb struct {
		cell, line int
		text, what string
	}
	var all []rb
	for _, f := range s.funcs {
		if !f.generic && f.assign != "" {
			all = append(all, rb{f.cell, f.lines[0], f.assign, "function " + f.name})
		}
	}
	for _, m := range s.methods {
		if m.assign != "" {
			all = append(all, rb{m.cell, m.lines[0], m.assign, "method " + m.recv + "." + m.name})
		}
	}
	s.capHelper = ""
	s.defMu.Unlock()
	sort.Slice(all, func(i, j int) bool {
		if all[i].cell != all[j].cell {
			return all[i].cell < all[j].cell
		}
		return all[i].line < all[j].line
	})
	for _, r := range all {
		prog, err := s.compile(&chunk{text: r.text, stmt: true, what: r.what}, r.cell)
		if err == nil {
			_, err = s.in.Execute(prog)
		}
		if err != nil {
			fmt.Fprintf(s.opts.Stderr, "note: after the interrupt, %s (cell [%d]) could not be restored: %v; re-run its cell\n", r.what, r.cell, err)
		}
	}
}

// ensureCaptureHelper (re)defines __sbCapture when the set of rendering
// methods changed. pending are methods of the running cell ("T.M"), whose
// records are written only after their bodies are assigned.
func (s *Session) ensureCaptureHelper(pending ...string) error {
	s.defMu.Lock()
	all := make(map[string]*methodRec, len(s.methods)+len(pending))
	for k, m := range s.methods {
		all[k] = m
	}
	for _, k := range pending {
		if _, ok := all[k]; !ok {
			t, m, _ := strings.Cut(k, ".")
			all[k] = &methodRec{recv: t, name: m, text: k}
		}
	}
	text := captureHelper(all)
	same := text == s.capHelper
	s.defMu.Unlock()
	if same {
		return nil
	}
	prog, err := s.compile(&chunk{text: text, stmt: true, what: "capture helper"}, 0)
	if err == nil {
		_, err = s.in.Execute(prog)
	}
	if err != nil {
		return &Error{Name: "InternalError", Message: fmt.Sprintf("capture helper: %v", err)}
	}
	s.defMu.Lock()
	s.capHelper = text
	s.defMu.Unlock()
	return nil
}

func (s *Session) trailing(ctx context.Context, t *trailingExpr, c *parsedCell, n int) (Result, error) {
	if err := s.ensureCaptureHelper(); err != nil {
		return Result{}, err
	}
	var captureErr error
	if !t.void {
		prog, err := s.compile(&chunk{text: t.capture, stmt: true, what: "trailing expression"}, n)
		if err == nil {
			s.capMu.Lock()
			s.captured = nil
			s.capMu.Unlock()
			if err := s.execute(ctx, prog, c, n); err != nil {
				return Result{}, s.atTrailing(err, t.line)
			}
			return s.result(), nil
		}
		captureErr = err
	}
	// No value (a call without results) or the capture did not compile:
	// run the expression as a plain statement and report its own errors.
	if err := s.run(ctx, &chunk{text: t.plain, stmt: true, what: "trailing statement"}, c, n); err != nil {
		return Result{}, s.atTrailing(err, t.line)
	}
	if captureErr != nil && !strings.Contains(captureErr.Error(), "as type (...any)") {
		// It had a value that yaegi could not hand over: say so rather
		// than show nothing.
		fmt.Fprintf(s.opts.Stderr, "note: the value of the last expression could not be captured: %v\n", captureErr)
	}
	return Result{}, nil
}

func (s *Session) result() Result {
	s.capMu.Lock()
	caps := s.captured
	s.captured = nil
	s.capMu.Unlock()
	switch len(caps) {
	case 0:
		return Result{}
	case 1:
		c := caps[0]
		if c.v == nil {
			return Result{}
		}
		return Result{Value: c.v, HasValue: true, Bundle: bundleOf(c)}
	}
	vals := make([]any, len(caps))
	texts := make([]string, len(caps))
	for i, c := range caps {
		vals[i] = c.v
		b := bundleOf(c)
		t, _ := b["text/plain"].(string)
		texts[i] = t
	}
	return Result{Value: vals, HasValue: true, Bundle: map[string]any{"text/plain": "(" + strings.Join(texts, ", ") + ")"}}
}

func bundleOf(c captured) map[string]any {
	switch c.kind {
	case 1:
		if c.b != nil {
			if _, ok := c.b["text/plain"]; !ok {
				c.b["text/plain"] = display.Bundle(c.v)["text/plain"]
			}
			return c.b
		}
	case 2:
		return map[string]any{"text/plain": c.s}
	}
	return display.Bundle(c.v)
}

// ---- planning: from units to chunks ----

// recvType returns the receiver's type name and whether the type is generic.
func recvType(fd *ast.FuncDecl) (string, bool) {
	t := fd.Recv.List[0].Type
	if st, ok := t.(*ast.StarExpr); ok {
		t = st.X
	}
	switch x := t.(type) {
	case *ast.Ident:
		return x.Name, false
	case *ast.IndexExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			return id.Name, true
		}
	case *ast.IndexListExpr:
		if id, ok := x.X.(*ast.Ident); ok {
			return id.Name, true
		}
	}
	return "", false
}

// sigOf is a function type's parameter and result types, without names:
// two functions with the same sigOf can share a function variable.
func sigOf(c *parsedCell, ft *ast.FuncType) string {
	var sb strings.Builder
	list := func(fl *ast.FieldList) {
		sb.WriteString("(")
		if fl != nil {
			for _, f := range fl.List {
				n := len(f.Names)
				if n == 0 {
					n = 1
				}
				for i := 0; i < n; i++ {
					sb.WriteString(strings.Join(strings.Fields(c.text(f.Type)), " "))
					sb.WriteString(",")
				}
			}
		}
		sb.WriteString(")")
	}
	list(ft.Params)
	list(ft.Results)
	return sb.String()
}

func docOf(c *parsedCell, fd *ast.FuncDecl) string {
	if fd.Doc != nil {
		return strings.TrimSpace(fd.Doc.Text())
	}
	return ""
}

func identsIn(n ast.Node) map[string]bool {
	m := map[string]bool{}
	ast.Inspect(n, func(x ast.Node) bool {
		if id, ok := x.(*ast.Ident); ok {
			m[id.Name] = true
		}
		return true
	})
	return m
}

func (s *Session) plan(c *parsedCell, es *edits, n int) (*cellPlan, error) {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	p := &cellPlan{}
	src := c.src
	render := func(start, end int) string { return es.render(src, start, end) }

	importsCh := newChunk(src)
	typesCh := newChunk(src)
	varsEarly := newChunk(src)
	funcVars := newChunk(src)   // var f func(...) declarations
	funcRedecl := newChunk(src) // f := (func(...))(nil) for a changed signature
	wrappers := newChunk(src)
	var assigns []placed
	var calls []string // main and init functions of a pasted program
	var afterImports, afterTypes, afterFuncs []func()
	var changedSig []string

	// Names that cell statements define or assign: vars that depend on
	// them cannot be hoisted above the statements.
	cellFuncs := map[string]bool{}
	stmtNames := map[string]bool{}
	for _, u := range c.units {
		switch u.kind {
		case uFunc:
			if fd := u.decl.(*ast.FuncDecl); fd.Recv == nil {
				cellFuncs[fd.Name.Name] = true
			}
		case uStmt:
			if as, ok := u.stmt.(*ast.AssignStmt); ok {
				for _, l := range as.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						stmtNames[id.Name] = true
					}
				}
			}
		}
	}
	// Globals this cell declares again: yaegi gives them a new slot, and
	// functions compiled earlier keep reading the old one, so they are
	// re-bound right after the redeclaration.
	existed := func(name string) bool {
		if _, ok := s.values[name]; ok {
			return true
		}
		f, ok := s.funcs[name]
		return ok && !f.generic
	}
	cellMethods := map[string]bool{}
	for _, u := range c.units {
		if fd, ok := u.decl.(*ast.FuncDecl); ok && fd.Recv != nil {
			if typ, _ := recvType(fd); typ != "" {
				cellMethods[typ+"."+fd.Name.Name] = true
			}
		}
	}
	redeclared := func(u *unit) map[string]bool {
		out := map[string]bool{}
		switch u.kind {
		case uVar, uConst:
			for _, sp := range u.decl.(*ast.GenDecl).Specs {
				for _, id := range sp.(*ast.ValueSpec).Names {
					if existed(id.Name) {
						out[id.Name] = true
					}
				}
			}
		case uStmt:
			if as, ok := u.stmt.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
				for _, l := range as.Lhs {
					if id, ok := l.(*ast.Ident); ok && existed(id.Name) {
						out[id.Name] = true
					}
				}
			}
		}
		return out
	}
	earlyRedeclared := map[string]bool{}

	methodNames := map[string]bool{}
	for key := range cellMethods {
		methodNames[key[strings.Index(key, ".")+1:]] = true
	}
	late := map[*unit]bool{} // var declarations that must run in source order
	for _, u := range c.units {
		if u.kind != uVar {
			continue
		}
		for id := range identsIn(u.decl) {
			if cellFuncs[id] || stmtNames[id] || methodNames[id] {
				late[u] = true
			}
		}
	}
	// Later vars that depend on a late var are late too.
	for changed := true; changed; {
		changed = false
		for _, u := range c.units {
			if u.kind != uVar || late[u] {
				continue
			}
			ids := identsIn(u.decl)
			for _, v := range c.units {
				if v.kind == uVar && late[v] {
					for _, sp := range v.decl.(*ast.GenDecl).Specs {
						for _, nm := range sp.(*ast.ValueSpec).Names {
							if ids[nm.Name] {
								late[u], changed = true, true
							}
						}
					}
				}
			}
		}
	}

	var rest []*unit
	cellImports := map[string]string{}
	auto := s.autoImports(c)
	autoNames := make([]string, 0, len(auto))
	for name := range auto {
		autoNames = append(autoNames, name)
	}
	sort.Strings(autoNames)
	for _, name := range autoNames {
		nm, ip := name, auto[name]
		importsCh.put(0, 0, fmt.Sprintf("import %s %q", nm, ip))
		cellImports[nm] = ip
		afterImports = append(afterImports, func() { s.imports[nm] = ip })
	}
	for _, u := range c.units {
		switch u.kind {
		case uImport:
			gd := u.decl.(*ast.GenDecl)
			for _, sp := range gd.Specs {
				is := sp.(*ast.ImportSpec)
				ipath := strings.Trim(is.Path.Value, "\"`")
				name := s.pkgNames[ipath]
				if name == "" {
					name = path.Base(ipath)
				}
				if is.Name != nil {
					name = is.Name.Name
				}
				if name == "_" {
					if _, ok := s.pkgNames[ipath]; !ok {
						importsCh.put(c.off(is.Pos()), c.off(is.End()), "import "+c.text(is))
					}
					continue
				}
				if old, ok := s.imports[name]; ok {
					if old == ipath {
						continue // re-running an import cell
					}
					return nil, &Error{Name: "RedefinitionError", Line: c.line(c.off(is.Pos())),
						Message: fmt.Sprintf("%s already names the imported package %q; import %q under another name, e.g. `import %s2 %q`", name, old, ipath, name, ipath)}
				}
				importsCh.put(c.off(is.Pos()), c.off(is.End()), "import "+c.text(is))
				nm, ip := name, ipath
				cellImports[nm] = ip
				afterImports = append(afterImports, func() { s.imports[nm] = ip })
			}
		case uType:
			gd := u.decl.(*ast.GenDecl)
			for _, sp := range gd.Specs {
				ts := sp.(*ast.TypeSpec)
				text := "type " + render(c.off(ts.Pos()), c.off(ts.End()))
				norm := strings.Join(strings.Fields(text), " ")
				if old, ok := s.types[ts.Name.Name]; ok {
					if old.text == norm {
						continue
					}
					return nil, &Error{Name: "RedefinitionError", Line: c.line(c.off(ts.Pos())),
						Message: fmt.Sprintf("type %s was defined in cell [%d] as `%s`; yaegi cannot change a type in a running session (the old definition would silently stay). Give the new type another name (e.g. %s2), or restart the kernel and run the cells again", ts.Name.Name, old.cell, old.text, ts.Name.Name)}
				}
				typesCh.put(c.off(ts.Pos()), c.off(ts.End()), text)
				nm := ts.Name.Name
				doc := ""
				if gd.Doc != nil {
					doc = strings.TrimSpace(gd.Doc.Text())
				}
				afterTypes = append(afterTypes, func() { s.types[nm] = &typeRec{text: norm, doc: doc, cell: n} })
			}
		case uConst:
			typesCh.put(u.start, u.end, render(u.start, u.end))
			s.noteValues(u, "const", n, &afterTypes)
		case uVar:
			if late[u] {
				rest = append(rest, u)
				continue
			}
			varsEarly.put(u.start, u.end, render(u.start, u.end))
			s.noteValues(u, "var", n, &afterTypes)
			for name := range redeclared(u) {
				earlyRedeclared[name] = true
			}
		case uFunc:
			fd := u.decl.(*ast.FuncDecl)
			if err := s.planFunc(c, es, u, fd, n, typesCh, funcVars, funcRedecl, wrappers, &assigns, &afterFuncs, &changedSig, &calls); err != nil {
				return nil, err
			}
		case uStmt:
			rest = append(rest, u)
		}
	}

	add := func(b *chunkBuilder, stmt bool, what string, after []func()) {
		if b.empty() {
			if len(after) > 0 {
				// Nothing to run, but still record (e.g. a re-run import).
				for _, f := range after {
					f()
				}
			}
			return
		}
		fs := after
		p.chunks = append(p.chunks, &chunk{text: b.String(), stmt: stmt, what: what, after: func() {
			s.defMu.Lock()
			defer s.defMu.Unlock()
			for _, f := range fs {
				f()
			}
		}})
	}
	add(importsCh, false, "imports", afterImports)
	add(typesCh, false, "type and constant declarations", afterTypes)
	// Methods before variables: `var s Shape = &Sq{}` needs Sq's methods.
	add(funcVars, false, "function variables", nil)
	add(funcRedecl, true, "function variables with a new signature", nil)
	add(wrappers, false, "methods", afterFuncs)
	add(varsEarly, false, "variable declarations", nil)
	p.chunks = append(p.chunks, s.rebindChunks(earlyRedeclared, cellFuncs, cellMethods)...)

	// The rest runs in source order: function bodies, late var
	// declarations (as statements: yaegi keeps top-level statement
	// variables global, and a package-level var cannot see them) and
	// statements. A function body moves up to just before the first unit
	// that uses it. A trailing expression statement is evaluated on its
	// own so that its value can be captured.
	var last *unit
	if k := len(rest); k > 0 && rest[k-1].kind == uStmt {
		if _, ok := rest[k-1].stmt.(*ast.ExprStmt); ok {
			last = rest[k-1]
			rest = rest[:k-1]
		}
	}
	type item struct {
		start, end int
		text       string
		after      []func()
		cut        bool     // start a new chunk at this item
		rebind     []*chunk // chunks to run right after this item
		u          *unit    // the top-level statement, if the item is one
	}
	var items []item
	emitted := map[int]bool{}
	emitAssign := func(i int) {
		if emitted[i] {
			return
		}
		emitted[i] = true
		a := assigns[i]
		items = append(items, item{start: a.u.start, end: a.u.end, text: a.text, after: []func(){a.after}})
	}
	needs := func(u *unit) {
		ids := identsIn(u.node())
		for i, a := range assigns {
			if ids[a.name] || (a.u.decl.(*ast.FuncDecl).Recv == nil && ids[a.u.decl.(*ast.FuncDecl).Name.Name]) {
				emitAssign(i)
			}
		}
	}
	ai := 0
	usedBefore := map[string]bool{}
	for _, u := range rest {
		for ai < len(assigns) && assigns[ai].u.start < u.start {
			emitAssign(ai)
			ai++
		}
		needs(u)
		var after []func()
		if u.kind == uStmt {
			s.noteAssigned(c, u, n, &after)
		} else {
			s.noteValues(u, "var", n, &after)
		}
		if tmp, decl, ok := splitRedeclare(c, u, es, usedBefore); ok {
			// yaegi gives a top-level `:=` that redeclares a global a new
			// slot for the whole chunk, so every use of the name in that
			// chunk (its own right side included) reads the new, zero
			// value: `ctx, cancel := context.WithTimeout(ctx, d)` would get
			// a nil parent. Evaluate the right side into temporaries in
			// one chunk and declare the names in the next.
			items = append(items, item{start: u.start, end: u.end, text: tmp})
			items = append(items, item{start: u.start, end: u.end, text: decl, after: after, cut: true})
		} else {
			items = append(items, item{start: u.start, end: u.end, text: render(u.start, u.end), after: after, u: u})
		}
		if rd := redeclared(u); len(rd) > 0 {
			items[len(items)-1].rebind = s.rebindChunks(rd, cellFuncs, cellMethods)
		}
		for id := range identsIn(u.node()) {
			usedBefore[id] = true
		}
	}
	if last != nil {
		needs(last)
	}
	for ; ai < len(assigns); ai++ {
		emitAssign(ai)
	}
	// Pieces of a chunk must be in offset order: cut a new chunk when an
	// item starts before the previous one.
	var cur *chunkBuilder
	var curAfter []func()
	var curPieces []piece
	flushStmts := func() {
		if cur != nil {
			add(cur, true, "statements", curAfter)
			if !cur.empty() {
				p.chunks[len(p.chunks)-1].pieces = curPieces
			}
		}
		cur, curAfter, curPieces = nil, nil, nil
	}
	prevEnd := -1
	for _, it := range items {
		if cur == nil || it.start < prevEnd || it.cut {
			flushStmts()
			cur = newChunk(src)
		}
		cur.put(it.start, it.end, it.text)
		curAfter = append(curAfter, it.after...)
		pc := piece{start: it.start, end: it.end, text: it.text}
		if it.u != nil {
			if as, ok := it.u.stmt.(*ast.AssignStmt); ok && as.Tok == token.DEFINE && !it.cut {
				for _, l := range as.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						pc.lhs = append(pc.lhs, id.Name)
					}
				}
				if len(pc.lhs) == len(as.Lhs) {
					pc.rhs = render(c.off(as.Rhs[0].Pos()), c.off(as.Rhs[len(as.Rhs)-1].End()))
				}
			}
		}
		curPieces = append(curPieces, pc)
		prevEnd = it.end
		if len(it.rebind) > 0 {
			flushStmts()
			p.chunks = append(p.chunks, it.rebind...)
		}
	}
	flushStmts()
	if len(calls) > 0 {
		sort.SliceStable(calls, func(i, j int) bool { return calls[i] != "__sbMain" && calls[j] == "__sbMain" })
		call := newChunk(src)
		call.put(len(src), len(src), strings.Join(calls, "(); ")+"()")
		add(call, true, "main", nil)
	}

	// Callers of a function whose signature changed still point at the old
	// variable: re-bind them so they see the new one (or say why not).
	seen := map[string]bool{}
	for _, name := range changedSig {
		var callers []*funcRec
		for _, f := range s.funcs {
			if f.refs[name] && f.name != name && !cellFuncs[f.name] && !seen[f.name] && f.assign != "" {
				callers = append(callers, f)
				seen[f.name] = true
			}
		}
		sort.Slice(callers, func(i, j int) bool { return callers[i].name < callers[j].name })
		for _, f := range callers {
			p.chunks = append(p.chunks, &chunk{text: f.assign, stmt: true, soft: true, cell: f.cell,
				what: fmt.Sprintf("%s (cell [%d]) calls %s, whose signature changed, and no longer compiles; redefine it", f.name, f.cell, name)})
		}
	}

	if last != nil {
		es := last.stmt.(*ast.ExprStmt)
		text := render(last.start, last.end)
		capB := newChunk(src)
		capB.put(last.start, last.end, "__sbCapture("+text+")")
		plainB := newChunk(src)
		plainB.put(last.start, last.end, text)
		p.trailing = &trailingExpr{capture: capB.String(), plain: plainB.String(), void: s.isVoidCall(es.X, cellImports), line: c.line(last.start)}
	}
	return p, nil
}

func (s *Session) planFunc(c *parsedCell, es *edits, u *unit, fd *ast.FuncDecl, n int,
	typesCh, funcVars, funcRedecl, wrappers *chunkBuilder, assigns *[]placed, after *[]func(), changedSig *[]string, calls *[]string) error {
	src := c.src
	render := func(start, end int) string { return es.render(src, start, end) }
	name := fd.Name.Name
	line := c.line(u.start)
	lines := [2]int{line, c.line(u.end)}
	if fd.Body == nil {
		return &Error{Name: "Unsupported", Line: line, Message: fmt.Sprintf("func %s has no body; declarations of external functions are not supported", name)}
	}
	sig := sigOf(c, fd.Type)
	header := strings.Join(strings.Fields(src[u.start:c.off(fd.Body.Lbrace)]), " ")
	doc := docOf(c, fd)
	full := render(u.start, u.end)

	if fd.Recv == nil && (name == "main" || name == "init") {
		// A pasted program: yaegi would run a func main again after every
		// later cell, so main and init are renamed and called once, at the
		// end of this cell (init first, as Go does).
		if fd.Type.Params.NumFields() > 0 || fd.Type.Results != nil {
			return &Error{Name: "CompileError", Line: line, Message: fmt.Sprintf("func %s must have no arguments and no return values", name)}
		}
		if name == "main" {
			name = "__sbMain"
		} else {
			name = fmt.Sprintf("__sbInit%d", u.start)
		}
		*calls = append(*calls, name)
	}

	if fd.Recv == nil && fd.Type.TypeParams != nil {
		// Generic functions cannot live in variables; they are declared
		// as is. Redefining one works for direct calls, but functions
		// compiled against the old body keep it (yaegi#1673).
		if old, ok := s.funcs[name]; ok && !old.generic {
			return &Error{Name: "RedefinitionError", Line: line,
				Message: fmt.Sprintf("%s was defined in cell [%d] as a non-generic function; a generic function cannot replace it in a running session. Use another name or restart the kernel", name, old.cell)}
		}
		if old, ok := s.funcs[name]; ok && old.generic && old.assign != full {
			fmt.Fprintf(s.opts.Stderr, "note: generic function %s redefined; functions defined earlier that call it keep the old body (yaegi limitation) — re-run their cells to update them\n", name)
		}
		typesCh.put(u.start, u.end, full)
		refs := identsIn(fd.Body)
		*after = append(*after, func() {
			s.funcs[name] = &funcRec{name: name, sig: sig, header: header, doc: doc, generic: true, assign: full, refs: refs, cell: n, lines: lines}
		})
		return nil
	}

	if fd.Recv != nil {
		typ, generic := recvType(fd)
		key := typ + "." + name
		old, exists := s.methods[key]
		if generic {
			if exists {
				if old.text == full {
					return nil
				}
				return &Error{Name: "RedefinitionError", Line: line,
					Message: fmt.Sprintf("method %s of generic type %s was defined in cell [%d]; yaegi cannot replace methods of generic types in a running session. Restart the kernel, or define a new type", name, typ, old.cell)}
			}
			typesCh.put(u.start, u.end, full)
			*after = append(*after, func() {
				s.methods[key] = &methodRec{recv: typ, name: name, sig: sig, header: header, doc: doc, text: full, cell: n, lines: lines}
			})
			return nil
		}
		if exists && old.sig != sig {
			return &Error{Name: "RedefinitionError", Line: line,
				Message: fmt.Sprintf("method %s.%s was defined in cell [%d] with signature %s; yaegi cannot change a method's signature in a running session. Keep the signature (the body can change), use another method name, or restart the kernel", typ, name, old.cell, old.header)}
		}
		if exists && old.dispatch == "" {
			return &Error{Name: "RedefinitionError", Line: line, Message: fmt.Sprintf("method %s.%s cannot be redefined", typ, name)}
		}
		// The method is a thin wrapper around a function variable, so a
		// new body takes effect by assigning the variable.
		dispatch := "__sbm_" + typ + "_" + name
		recv := fd.Recv.List[0]
		recvName := "__sbRecv"
		if len(recv.Names) > 0 && recv.Names[0].Name != "_" {
			recvName = recv.Names[0].Name
		}
		recvType := c.text(recv.Type)
		params, args, variadic := paramList(c, fd.Type.Params)
		results := ""
		if fd.Type.Results != nil {
			results = " " + c.text(fd.Type.Results)
		}
		fnType := "func(" + recvType + strings.TrimPrefix(funcTypeText(c, fd.Type), "func(")
		if len(fd.Type.Params.List) > 0 {
			fnType = "func(" + recvType + ", " + strings.TrimPrefix(funcTypeText(c, fd.Type), "func(")
		}
		if !exists {
			funcVars.put(u.start, u.end, "var "+dispatch+" "+fnType)
			call := dispatch + "(" + strings.Join(append([]string{recvName}, args...), ", ")
			if variadic {
				call += "..."
			}
			call += ")"
			if results != "" {
				call = "return " + call
			}
			wrappers.put(u.start, u.end, fmt.Sprintf("func (%s %s) %s(%s)%s { %s }", recvName, recvType, name, strings.Join(params, ", "), results, call))
		}
		// The body keeps its lines: the new header goes on the line of
		// `func`, padded down to the line of the opening brace.
		// (The newlines go before the header: a newline between ")" and
		// "{" would end the statement.)
		hdr := strings.Repeat("\n", strings.Count(src[u.start:c.off(fd.Body.Lbrace)], "\n"))
		hdr += fmt.Sprintf("%s = func(%s %s%s)%s ", dispatch, recvName, recvType, joinParams(paramsWithBlanks(c, fd.Type.Params)), results)
		body := render(c.off(fd.Body.Lbrace), u.end)
		standalone := newChunk(src)
		standalone.put(u.start, u.end, hdr+body)
		assignText := standalone.String()
		mrefs := identsIn(fd.Body)
		*assigns = append(*assigns, placed{u: u, text: hdr + body, name: dispatch, after: func() {
			s.methods[key] = &methodRec{recv: typ, name: name, sig: sig, header: header, doc: doc, dispatch: dispatch, text: full, assign: assignText, refs: mrefs, cell: n, lines: lines}
		}})
		return nil
	}

	// A plain function is a package-level variable holding a function
	// literal: callers look the variable up at each call, so a redefinition
	// reaches them (yaegi binds direct calls at compile time, yaegi#1673).
	ftText := funcTypeText(c, fd.Type)
	result := ""
	if r := fd.Type.Results; r != nil && len(r.List) == 1 && len(r.List[0].Names) <= 1 {
		result = typeName(r.List[0].Type)
	}
	old, exists := s.funcs[name]
	_, isValue := s.values[name]
	switch {
	case exists && old.generic:
		return &Error{Name: "RedefinitionError", Line: line,
			Message: fmt.Sprintf("%s was defined in cell [%d] as a generic function; a non-generic function cannot replace it in a running session. Use another name or restart the kernel", name, old.cell)}
	case exists && old.sig == sig:
		// Same signature: assigning the variable is enough.
	case exists || isValue:
		funcRedecl.put(u.start, u.end, fmt.Sprintf("%s := (%s)(nil)", name, ftText))
		if exists {
			*changedSig = append(*changedSig, name)
		}
	default:
		funcVars.put(u.start, u.end, "var "+name+" "+ftText)
	}
	assign := name + " = " + render(c.off(fd.Type.Func)+len("func"), c.off(fd.Name.Pos())) + "func" + render(c.off(fd.Name.End()), u.end)
	standalone := newChunk(src)
	standalone.put(u.start, u.end, assign)
	refs := identsIn(fd.Body)
	assignText := standalone.String()
	*assigns = append(*assigns, placed{u: u, text: assign, name: name, after: func() {
		s.funcs[name] = &funcRec{name: name, sig: sig, header: header, doc: doc, assign: assignText, refs: refs, cell: n, lines: lines, result: result}
		delete(s.values, name)
	}})
	return nil
}

// placed is a function body assignment, run where the function appears in
// the cell (so it sees variables that statements above it defined), or
// earlier when a statement above uses the function.
type placed struct {
	u     *unit
	text  string
	name  string
	after func()
}

// paramList names every parameter (unnamed and blank ones get __sbP<i>) and
// returns the declarations, the argument expressions and whether the last
// one is variadic.
func paramList(c *parsedCell, fl *ast.FieldList) (params, args []string, variadic bool) {
	i := 0
	for _, f := range fl.List {
		typ := c.text(f.Type)
		if _, ok := f.Type.(*ast.Ellipsis); ok {
			variadic = true
		}
		names := f.Names
		if len(names) == 0 {
			names = []*ast.Ident{{Name: "_"}}
		}
		for _, nm := range names {
			name := nm.Name
			if name == "_" {
				name = fmt.Sprintf("__sbP%d", i)
			}
			params = append(params, name+" "+typ)
			args = append(args, name)
			i++
		}
	}
	return params, args, variadic
}

// paramsWithBlanks is the parameter list for the body's function literal:
// unnamed parameters get names, since a literal cannot mix named and
// unnamed parameters.
func paramsWithBlanks(c *parsedCell, fl *ast.FieldList) []string {
	var out []string
	for _, f := range fl.List {
		typ := c.text(f.Type)
		if len(f.Names) == 0 {
			out = append(out, "_ "+typ)
			continue
		}
		for _, nm := range f.Names {
			out = append(out, nm.Name+" "+typ)
		}
	}
	return out
}

func joinParams(ps []string) string {
	if len(ps) == 0 {
		return ""
	}
	return ", " + strings.Join(ps, ", ")
}

func (s *Session) noteValues(u *unit, kind string, n int, after *[]func()) {
	gd := u.decl.(*ast.GenDecl)
	for _, sp := range gd.Specs {
		vs := sp.(*ast.ValueSpec)
		for i, id := range vs.Names {
			if id.Name == "_" {
				continue
			}
			name := id.Name
			typ := typeName(vs.Type)
			if typ == "" && i < len(vs.Values) {
				typ = typeOfExpr(vs.Values[i])
			}
			*after = append(*after, func() {
				s.values[name] = &valueRec{kind: kind, typ: typ, cell: n}
			})
		}
	}
}

func (s *Session) noteAssigned(c *parsedCell, u *unit, n int, after *[]func()) {
	as, ok := u.stmt.(*ast.AssignStmt)
	if !ok {
		return
	}
	for _, l := range as.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name == "ctx" {
			s.ctxDirty = true
		}
	}
	if as.Tok != token.DEFINE {
		return
	}
	for i, l := range as.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
			name := id.Name
			typ := ""
			if len(as.Lhs) == len(as.Rhs) {
				typ = typeOfExpr(as.Rhs[i])
				if typ == "" {
					typ = s.resultTypeOf(c, as.Rhs[i])
				}
			}
			*after = append(*after, func() {
				s.values[name] = &valueRec{kind: "var", typ: typ, cell: n}
				if f, ok := s.funcs[name]; ok && !f.generic {
					delete(s.funcs, name)
				}
			})
		}
	}
}

// isVoidCall reports calls known to have no result worth showing: builtins
// without results, functions declared in cells without results, and
// package functions without results (or fmt's print functions, whose byte
// count nobody wants to see). The caller holds defMu.
func (s *Session) isVoidCall(e ast.Expr, cellImports map[string]string) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	switch f := call.Fun.(type) {
	case *ast.Ident:
		switch f.Name {
		case "print", "println", "panic", "clear", "delete", "close":
			if _, shadow := s.funcs[f.Name]; !shadow {
				return true
			}
		}
		if fr, ok := s.funcs[f.Name]; ok {
			return strings.HasSuffix(fr.sig, ")()")
		}
	case *ast.SelectorExpr:
		pkg, ok := f.X.(*ast.Ident)
		if !ok {
			return false
		}
		ipath, ok := s.imports[pkg.Name]
		if !ok {
			ipath, ok = cellImports[pkg.Name]
		}
		if !ok {
			return false
		}
		if ipath == "fmt" || ipath == "log" {
			if strings.HasPrefix(f.Sel.Name, "Print") || strings.HasPrefix(f.Sel.Name, "Fprint") {
				return true
			}
		}
		sym, ok := s.exports[ipath+"/"+s.pkgNames[ipath]][f.Sel.Name]
		if ok && sym.Kind() == reflect.Func {
			return sym.Type().NumOut() == 0
		}
	}
	return false
}

// shadowed implements scopeInfo.
func (s *Session) shadowed(name string) bool {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	if _, ok := s.funcs[name]; ok {
		return true
	}
	_, ok := s.values[name]
	return ok
}

// isCellType implements scopeInfo.
func (s *Session) isCellType(name string) bool {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	_, ok := s.types[name]
	return ok
}

// typeHasMethods implements scopeInfo.
func (s *Session) typeHasMethods(name string) bool {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	for _, m := range s.methods {
		if m.recv == name {
			return true
		}
	}
	return false
}

// funcReturnsInt implements scopeInfo.
func (s *Session) funcReturnsInt(name string) bool {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	f, ok := s.funcs[name]
	if !ok {
		return false
	}
	i := strings.LastIndex(f.sig, ")(")
	return i >= 0 && intTypes[strings.TrimSuffix(f.sig[i+2:], ",)")] && strings.Count(f.sig[i:], ",") == 1
}

// callableNames implements scopeInfo.
func (s *Session) callableNames() map[string]bool {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	out := map[string]bool{}
	for n := range s.funcs {
		out[n] = true
	}
	for _, m := range s.methods {
		out[m.name] = true
	}
	return out
}

// globalIsVar implements scopeInfo.
func (s *Session) globalIsVar(name string) bool {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	v, ok := s.values[name]
	return ok && v.kind == "var"
}

// globalIsInt implements scopeInfo by asking the interpreter for the value
// of a global the cells defined.
func (s *Session) globalIsInt(name string) bool {
	s.defMu.Lock()
	_, ok := s.values[name]
	s.defMu.Unlock()
	if !ok {
		return false
	}
	v, err := s.in.Eval(name)
	if err != nil || !v.IsValid() {
		return false
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return true
	}
	return false
}

// typeName is the name of a named type expression (T or *T), else "".
func typeName(e ast.Expr) string {
	if st, ok := e.(*ast.StarExpr); ok {
		e = st.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// typeOfExpr recognises T{...} and &T{...}, enough for completing methods
// of values of types defined in cells.
func typeOfExpr(e ast.Expr) string {
	if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
		e = u.X
	}
	if cl, ok := e.(*ast.CompositeLit); ok {
		return typeName(cl.Type)
	}
	return ""
}

// undefinedIn lists identifiers the cell uses that nothing defines: not the
// cell, not an earlier cell, not an import, not a builtin.
func (s *Session) undefinedIn(c *parsedCell) []string {
	declared := s.cellDeclared(c)
	s.defMu.Lock()
	defer s.defMu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, u := range c.units {
		ast.Inspect(u.node(), func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				ast.Inspect(n.X, func(m ast.Node) bool {
					if id, ok := m.(*ast.Ident); ok {
						s.checkUndefined(id.Name, declared, seen, &out)
					}
					return true
				})
				return false
			case *ast.KeyValueExpr:
				ast.Inspect(n.Value, func(m ast.Node) bool {
					if id, ok := m.(*ast.Ident); ok {
						s.checkUndefined(id.Name, declared, seen, &out)
					}
					return true
				})
				return false
			case *ast.BranchStmt:
				return false
			case *ast.Ident:
				s.checkUndefined(n.Name, declared, seen, &out)
			}
			return true
		})
	}
	return out
}

func (s *Session) checkUndefined(name string, declared, seen map[string]bool, out *[]string) {
	if declared[name] || seen[name] || name == "_" {
		return
	}
	seen[name] = true
	if _, ok := s.funcs[name]; ok {
		return
	}
	if _, ok := s.types[name]; ok {
		return
	}
	if _, ok := s.values[name]; ok {
		return
	}
	if _, ok := s.imports[name]; ok {
		return
	}
	*out = append(*out, name)
}

// funcAt names the function or method whose declaration covers line of
// cell, for tracebacks.
func (s *Session) funcAt(cell, line int) string {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	for _, f := range s.funcs {
		if f.cell == cell && f.lines[0] <= line && line <= f.lines[1] {
			return f.name
		}
	}
	for _, m := range s.methods {
		if m.cell == cell && m.lines[0] <= line && line <= m.lines[1] {
			return m.recv + "." + m.name
		}
	}
	return ""
}

// lineUsing returns the first line of the cell that mentions a function,
// method or type defined in cell cn (0 if none): where to point when yaegi
// reports an error at the definition of something this cell uses.
func (s *Session) lineUsing(c *parsedCell, cn int) int {
	s.defMu.Lock()
	names := map[string]bool{}
	for _, f := range s.funcs {
		if f.cell == cn {
			names[f.name] = true
		}
	}
	for _, m := range s.methods {
		if m.cell == cn {
			names[m.name] = true
		}
	}
	for n, t := range s.types {
		if t.cell == cn {
			names[n] = true
		}
	}
	s.defMu.Unlock()
	best := 0
	for _, u := range c.units {
		ast.Inspect(u.node(), func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && names[id.Name] {
				if l := c.line(c.off(id.Pos())); best == 0 || l < best {
					best = l
				}
			}
			return true
		})
	}
	return best
}

// splitRedeclare recognises a top-level `a, b := rhs` that redeclares a name
// used earlier in the cell or in rhs, and returns the two halves:
// `__sbT…0, __sbT…1 := rhs` and `a, b := __sbT…0, __sbT…1`.
func splitRedeclare(c *parsedCell, u *unit, es *edits, usedBefore map[string]bool) (tmp, decl string, ok bool) {
	as, isAssign := u.stmt.(*ast.AssignStmt)
	if u.kind != uStmt || !isAssign || as.Tok != token.DEFINE {
		return "", "", false
	}
	inRHS := map[string]bool{}
	for _, e := range as.Rhs {
		for id := range identsIn(e) {
			inRHS[id] = true
		}
	}
	clash := false
	var names, tmps []string
	for i, l := range as.Lhs {
		id, isIdent := l.(*ast.Ident)
		if !isIdent {
			return "", "", false
		}
		if id.Name == "_" {
			tmps = append(tmps, "_")
			continue
		}
		t := fmt.Sprintf("__sbT%d_%d", u.start, i)
		tmps = append(tmps, t)
		names = append(names, id.Name)
		if inRHS[id.Name] || usedBefore[id.Name] {
			clash = true
		}
	}
	if !clash || len(names) == 0 {
		return "", "", false
	}
	rhs := es.render(c.src, c.off(as.Rhs[0].Pos()), c.off(as.Rhs[len(as.Rhs)-1].End()))
	var keepT []string
	for _, t := range tmps {
		if t != "_" {
			keepT = append(keepT, t)
		}
	}
	return strings.Join(tmps, ", ") + " := " + rhs, strings.Join(names, ", ") + " := " + strings.Join(keepT, ", "), true
}

// rebindChunks re-binds the functions and methods of earlier cells that use
// one of names (excluding those this cell defines anew), so they see the
// variables' new slots. Failures are notes: a function written for the old
// type of a variable no longer compiles, as in Go.
func (s *Session) rebindChunks(names, cellFuncs, cellMethods map[string]bool) []*chunk {
	type rb struct {
		cell, line int
		ch         *chunk
	}
	var all []rb
	uses := func(refs map[string]bool) string {
		var hit []string
		for n := range names {
			if refs[n] {
				hit = append(hit, n)
			}
		}
		sort.Strings(hit)
		return strings.Join(hit, ", ")
	}
	for _, f := range s.funcs {
		if cellFuncs[f.name] || f.assign == "" || names[f.name] {
			continue
		}
		if u := uses(f.refs); u != "" {
			all = append(all, rb{f.cell, f.lines[0], &chunk{text: f.assign, stmt: !f.generic, soft: true, cell: f.cell,
				what: fmt.Sprintf("%s (cell [%d]) uses %s, which this cell declared again, and no longer compiles with it; redefine %s", f.name, f.cell, u, f.name)}})
		}
	}
	for key, m := range s.methods {
		if cellMethods[key] || m.assign == "" {
			continue
		}
		if u := uses(m.refs); u != "" {
			all = append(all, rb{m.cell, m.lines[0], &chunk{text: m.assign, stmt: true, soft: true, cell: m.cell,
				what: fmt.Sprintf("method %s (cell [%d]) uses %s, which this cell declared again, and no longer compiles with it; redefine it", key, m.cell, u)}})
		}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].cell != all[j].cell {
			return all[i].cell < all[j].cell
		}
		return all[i].line < all[j].line
	})
	out := make([]*chunk, len(all))
	for i, r := range all {
		out[i] = r.ch
	}
	return out
}

// cellDeclared is every name the cell declares (functions, types, values,
// parameters, range variables, labels, import names) plus the builtins.
func (s *Session) cellDeclared(c *parsedCell) map[string]bool {
	declared := map[string]bool{}
	for _, b := range builtins {
		declared[b] = true
	}
	for _, u := range c.units {
		ast.Inspect(u.node(), func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				for _, id := range n.Names {
					declared[id.Name] = true
				}
			case *ast.FuncDecl:
				declared[n.Name.Name] = true
			case *ast.ValueSpec:
				for _, id := range n.Names {
					declared[id.Name] = true
				}
			case *ast.TypeSpec:
				declared[n.Name.Name] = true
			case *ast.ImportSpec:
				if n.Name != nil {
					declared[n.Name.Name] = true
				} else {
					p := strings.Trim(n.Path.Value, "\"`")
					declared[s.pkgNames[p]] = true
					declared[path.Base(p)] = true
				}
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					for _, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							declared[id.Name] = true
						}
					}
				}
			case *ast.RangeStmt:
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						declared[id.Name] = true
					}
				}
			case *ast.LabeledStmt:
				declared[n.Label.Name] = true
			}
			return true
		})
	}
	return declared
}

// autoImports finds package names the cell uses as `pkg.Name` without
// importing them and without anything else of that name in scope, and
// returns the import paths to add (goimports' convenience).
func (s *Session) autoImports(c *parsedCell) map[string]string {
	declared := s.cellDeclared(c)
	out := map[string]string{}
	for _, u := range c.units {
		ast.Inspect(u.node(), func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			id, ok := sel.X.(*ast.Ident)
			if !ok || declared[id.Name] || out[id.Name] != "" {
				return true
			}
			if _, ok := s.imports[id.Name]; ok {
				return true
			}
			if _, ok := s.values[id.Name]; ok {
				return true
			}
			if _, ok := s.funcs[id.Name]; ok {
				return true
			}
			if _, ok := s.types[id.Name]; ok {
				return true
			}
			if p, ok := s.pkgPathLocked(id.Name); ok {
				if _, has := s.exports[p+"/"+s.pkgNames[p]][sel.Sel.Name]; has {
					out[id.Name] = p
				}
			}
			return true
		})
	}
	return out
}

// funcTypeText is a function type without parameter and result names, on
// one line. The names must go: yaegi fails with "variable definition loop"
// on `var f func(v any)` when a global v exists.
func funcTypeText(c *parsedCell, ft *ast.FuncType) string {
	list := func(fl *ast.FieldList) []string {
		var out []string
		if fl == nil {
			return out
		}
		for _, f := range fl.List {
			n := len(f.Names)
			if n == 0 {
				n = 1
			}
			t := strings.Join(strings.Fields(c.text(f.Type)), " ")
			for i := 0; i < n; i++ {
				out = append(out, t)
			}
		}
		return out
	}
	text := "func(" + strings.Join(list(ft.Params), ", ") + ")"
	res := list(ft.Results)
	switch len(res) {
	case 0:
	case 1:
		text += " " + res[0]
	default:
		text += " (" + strings.Join(res, ", ") + ")"
	}
	return text
}

// lineReader turns the Stdin callback into the io.Reader that cells see as
// os.Stdin: each time its buffer is empty it asks for one line.
type lineReader struct {
	mu   sync.Mutex
	read func(prompt string, password bool) (string, error)
	buf  []byte
}

func (r *lineReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.buf) == 0 {
		if r.read == nil {
			return 0, io.EOF
		}
		line, err := r.read("", false)
		if err != nil {
			return 0, err
		}
		r.buf = []byte(line + "\n")
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

// methodKeys lists the "T.M" keys of the methods the cell declares on
// non-generic types.
func (c *parsedCell) methodKeys() []string {
	var out []string
	for _, u := range c.units {
		if fd, ok := u.decl.(*ast.FuncDecl); ok && fd.Recv != nil {
			if t, generic := recvType(fd); t != "" && !generic {
				out = append(out, t+"."+fd.Name.Name)
			}
		}
	}
	return out
}

// resultTypeOf names the type a call of a cell function returns, when it
// returns exactly one value of a named (or pointer to named) type: enough to
// complete methods of `v := NewThing()`. The caller holds defMu.
func (s *Session) resultTypeOf(c *parsedCell, e ast.Expr) string {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return ""
	}
	id, ok := call.Fun.(*ast.Ident)
	if !ok {
		return ""
	}
	for _, u := range c.units {
		if fd, ok := u.decl.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == id.Name {
			if r := fd.Type.Results; r != nil && len(r.List) == 1 && len(r.List[0].Names) <= 1 {
				return typeName(r.List[0].Type)
			}
			return ""
		}
	}
	if f, ok := s.funcs[id.Name]; ok {
		return f.result
	}
	return ""
}

// runDeferred runs the cell's top-level defers, last first, reporting a
// panic in one of them on stderr. They run inside the interpreter under the
// cell's context, so an interrupt stops them too.
func (s *Session) runDeferred(ctx context.Context, n int) {
	s.capMu.Lock()
	pending := len(s.deferred)
	s.capMu.Unlock()
	if pending == 0 {
		return
	}
	prog, err := s.compile(&chunk{text: "__sb.RunDeferred()", stmt: true, what: "deferred calls"}, 0)
	if err == nil {
		s.errw.begin()
		_, err = s.in.ExecuteWithContext(ctx, prog)
		s.errw.end()
	}
	if err != nil {
		fmt.Fprintf(s.opts.Stderr, "deferred calls of cell [%d]: %v\n", n, err)
	}
	s.capMu.Lock()
	s.deferred = nil
	s.capMu.Unlock()
}

// runDeferredNow is __sb.RunDeferred: it pops and runs the deferred calls.
func (s *Session) runDeferredNow() {
	for {
		s.capMu.Lock()
		if len(s.deferred) == 0 {
			s.capMu.Unlock()
			return
		}
		f := s.deferred[len(s.deferred)-1]
		s.deferred = s.deferred[:len(s.deferred)-1]
		s.capMu.Unlock()
		func() {
			defer func() {
				if r := recover(); r != nil {
					fmt.Fprintf(s.opts.Stderr, "panic in a deferred call: %v\n", r)
				}
			}()
			f()
		}()
	}
}
