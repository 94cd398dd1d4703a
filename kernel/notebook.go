package kernel

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Notebook is an nbformat 4 notebook kept as generic JSON, so that fields
// this package does not know (metadata of any tool, attachments) are
// written back unchanged.
type Notebook struct {
	doc   map[string]any
	cells []map[string]any
}

// ReadNotebook reads and checks a notebook file. Errors name the file and the
// offending field.
func ReadNotebook(path string) (*Notebook, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notebook: %w", err)
	}
	nb, err := ParseNotebook(b)
	if err != nil {
		return nil, fmt.Errorf("notebook %s: %w", path, err)
	}
	return nb, nil
}

// ParseNotebook decodes an nbformat 4 notebook.
func ParseNotebook(b []byte) (*Notebook, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber() // keep numbers in metadata exactly as written
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("not valid JSON: %w", err)
	}
	if doc == nil {
		return nil, errors.New("top level: want a JSON object")
	}
	v, ok := doc["nbformat"].(json.Number)
	if !ok {
		return nil, errors.New("field nbformat: missing or not a number")
	}
	if v.String() != "4" {
		return nil, fmt.Errorf("field nbformat: version %s not supported (want 4)", v)
	}
	if m, ok := doc["metadata"]; ok {
		if _, ok := m.(map[string]any); !ok {
			return nil, errors.New("field metadata: want an object")
		}
	} else {
		doc["metadata"] = map[string]any{}
	}
	raw, ok := doc["cells"].([]any)
	if !ok {
		return nil, errors.New("field cells: missing or not a list")
	}
	nb := &Notebook{doc: doc}
	ids := map[string]bool{}
	for i, c := range raw {
		cell, ok := c.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("field cells[%d]: want an object", i)
		}
		t, _ := cell["cell_type"].(string)
		switch t {
		case "code", "markdown", "raw":
		default:
			return nil, fmt.Errorf("field cells[%d].cell_type: %q is not code, markdown or raw", i, cell["cell_type"])
		}
		if _, err := sourceText(cell["source"]); err != nil {
			return nil, fmt.Errorf("field cells[%d].source: %w", i, err)
		}
		if m, ok := cell["metadata"]; ok {
			if _, ok := m.(map[string]any); !ok {
				return nil, fmt.Errorf("field cells[%d].metadata: want an object", i)
			}
		} else {
			cell["metadata"] = map[string]any{}
		}
		if id, ok := cell["id"].(string); ok {
			if ids[id] {
				return nil, fmt.Errorf("field cells[%d].id: %q is used by an earlier cell", i, id)
			}
			ids[id] = true
		}
		nb.cells = append(nb.cells, cell)
	}
	// nbformat 4.5 requires cell ids; give missing ones stable names.
	for i, cell := range nb.cells {
		if _, ok := cell["id"].(string); !ok {
			id := fmt.Sprintf("cell-%d", i)
			for n := 1; ids[id]; n++ {
				id = fmt.Sprintf("cell-%d-%d", i, n)
			}
			ids[id] = true
			cell["id"] = id
		}
	}
	minor, _ := doc["nbformat_minor"].(json.Number)
	if m, err := minor.Int64(); err != nil || m < 5 {
		doc["nbformat_minor"] = 5
	}
	return nb, nil
}

func sourceText(v any) (string, error) {
	switch s := v.(type) {
	case string:
		return s, nil
	case []any:
		var b strings.Builder
		for i, line := range s {
			l, ok := line.(string)
			if !ok {
				return "", fmt.Errorf("line %d is not a string", i)
			}
			b.WriteString(l)
		}
		return b.String(), nil
	case nil:
		return "", errors.New("missing")
	}
	return "", errors.New("want a string or a list of strings")
}

// splitLines is nbformat's multiline-string form: lines keeping their "\n".
func splitLines(s string) []string {
	out := []string{}
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

func anyLines(s string) []any {
	var out []any
	for _, l := range splitLines(s) {
		out = append(out, l)
	}
	return out
}

// Marshal encodes the notebook the way Jupyter writes it: sorted keys, one
// space of indent, a final newline.
func (nb *Notebook) Marshal() ([]byte, error) {
	cells := make([]any, len(nb.cells))
	for i, c := range nb.cells {
		cells[i] = c
	}
	nb.doc["cells"] = cells
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	if err := enc.Encode(nb.doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NumCells is the number of cells.
func (nb *Notebook) NumCells() int { return len(nb.cells) }

// CellSource returns the source of cell i.
func (nb *Notebook) CellSource(i int) string {
	s, _ := sourceText(nb.cells[i]["source"])
	return s
}

// CellType returns "code", "markdown" or "raw" for cell i.
func (nb *Notebook) CellType(i int) string { t, _ := nb.cells[i]["cell_type"].(string); return t }

// SetCellSource replaces the source of cell i.
func (nb *Notebook) SetCellSource(i int, src string) { nb.cells[i]["source"] = anyLines(src) }

// CellTags returns the tags in cell i's metadata.
func (nb *Notebook) CellTags(i int) []string { return cellTags(nb.cells[i]) }

// CellOutputs returns the outputs of code cell i.
func (nb *Notebook) CellOutputs(i int) []map[string]any {
	outs, _ := nb.cells[i]["outputs"].([]any)
	var res []map[string]any
	for _, o := range outs {
		if m, ok := o.(map[string]any); ok {
			res = append(res, m)
		}
	}
	return res
}

func cellTags(cell map[string]any) []string {
	md, _ := cell["metadata"].(map[string]any)
	raw, _ := md["tags"].([]any)
	var tags []string
	for _, t := range raw {
		if s, ok := t.(string); ok {
			tags = append(tags, s)
		}
	}
	return tags
}

func hasTag(cell map[string]any, tag string) bool {
	for _, t := range cellTags(cell) {
		if t == tag {
			return true
		}
	}
	return false
}

var paramName = regexp.MustCompile(`^[\pL_][\pL\pN_]*$`)

// InjectParameters does what papermill does for Go: it removes an earlier
// "injected-parameters" cell and inserts a new one, after the cell tagged
// "parameters" (or first), assigning each name=value. A value is written as
// a Go string literal when the parameters cell declares the name with a
// string, or when it is not a number or boolean.
func (nb *Notebook) InjectParameters(params []string) error {
	if len(params) == 0 {
		return nil
	}
	kept := nb.cells[:0]
	for _, c := range nb.cells {
		if !hasTag(c, "injected-parameters") {
			kept = append(kept, c)
		}
	}
	nb.cells = kept
	at := 0
	decl := map[string]string{}
	for i, c := range nb.cells {
		if c["cell_type"] == "code" && hasTag(c, "parameters") {
			at = i + 1
			decl = declaredKinds(nb.CellSource(i))
			break
		}
	}
	var b strings.Builder
	b.WriteString("// Parameters injected by steerbook run\n")
	for _, p := range params {
		name, value, ok := strings.Cut(p, "=")
		name = strings.TrimSpace(name)
		if !ok || !paramName.MatchString(name) {
			return fmt.Errorf("parameter %q: want name=value with a Go identifier as name", p)
		}
		kind, declared := decl[name]
		lit := goLiteral(value, kind)
		switch {
		case kind == "const":
			fmt.Fprintf(&b, "const %s = %s\n", name, goLiteral(value, ""))
		case declared:
			fmt.Fprintf(&b, "%s = %s\n", name, lit)
		default:
			fmt.Fprintf(&b, "var %s = %s\n", name, lit)
		}
	}
	cell := map[string]any{
		"cell_type":       "code",
		"execution_count": nil,
		"id":              "injected-parameters",
		"metadata":        map[string]any{"tags": []any{"injected-parameters"}},
		"outputs":         []any{},
		"source":          anyLines(strings.TrimSuffix(b.String(), "\n")),
	}
	for _, c := range nb.cells {
		if c["id"] == "injected-parameters" {
			cell["id"] = "injected-parameters-" + NewID()[:8]
		}
	}
	nb.cells = append(nb.cells[:at], append([]map[string]any{cell}, nb.cells[at:]...)...)
	return nil
}

// declaredKinds finds the names a parameters cell declares and whether each
// holds a string ("string"), is a constant ("const") or something else ("").
func declaredKinds(src string) map[string]string {
	out := map[string]string{}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "parameters.go", "package p\nfunc _() {\n"+src+"\n}", 0)
	if err != nil {
		return out
	}
	kindOf := func(typ ast.Expr, val ast.Expr) string {
		if id, ok := typ.(*ast.Ident); ok && id.Name == "string" {
			return "string"
		}
		if lit, ok := val.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			return "string"
		}
		return ""
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok {
						var v ast.Expr
						if i < len(n.Rhs) {
							v = n.Rhs[i]
						}
						out[id.Name] = kindOf(nil, v)
					}
				}
			}
		case *ast.GenDecl:
			for _, s := range n.Specs {
				vs, ok := s.(*ast.ValueSpec)
				if !ok {
					continue
				}
				for i, id := range vs.Names {
					var v ast.Expr
					if i < len(vs.Values) {
						v = vs.Values[i]
					}
					if n.Tok == token.CONST {
						out[id.Name] = "const"
					} else {
						out[id.Name] = kindOf(vs.Type, v)
					}
				}
			}
		}
		return true
	})
	return out
}

func goLiteral(v, kind string) string {
	if kind == "string" {
		return strconv.Quote(v)
	}
	t := strings.TrimSpace(v)
	if t == "true" || t == "false" {
		return t
	}
	if _, err := strconv.ParseInt(t, 0, 64); err == nil {
		return t
	}
	if _, err := strconv.ParseFloat(t, 64); err == nil && !strings.ContainsAny(t, "xXpP_") {
		return t
	}
	return strconv.Quote(v)
}

// RunError is the failure of one notebook cell.
type RunError struct {
	Index     int    // 0-based index in the notebook's cells
	Count     int    // execution count
	FirstLine string // first non-blank line of the cell
	Err       *CellError
}

func (e *RunError) Error() string {
	return fmt.Sprintf("cell %d (execution count %d, %q): %s: %s", e.Index, e.Count, e.FirstLine, e.Err.Name, e.Err.Value)
}

// Runner executes a notebook's code cells in one interpreter, in order.
type Runner struct {
	NewInterpreter func(IO) (Interpreter, error)
	Render         func(v any) map[string]any
	SetPublisher   func(Publisher)
	// CaptureFDs sends everything written to file descriptors 1 and 2 while
	// a cell runs into that cell's outputs (see Config.CaptureFDs).
	CaptureFDs bool
	// Timing records start and end times in each code cell's
	// metadata.execution, the only place timestamps are written.
	Timing bool
	// Progress, if set, gets one line per cell executed.
	Progress io.Writer
	// Now is the clock for Timing (time.Now if nil).
	Now func() time.Time
}

// Run executes every code cell, writing outputs and execution counts into
// nb. It stops at the first failing cell and returns a *RunError; outputs
// of the cells run so far, the error included, are kept in nb.
func (r *Runner) Run(ctx context.Context, nb *Notebook) error {
	render := r.Render
	if render == nil {
		render = DefaultRender
	}
	now := r.Now
	if now == nil {
		now = time.Now
	}
	col := &collector{}
	kio := IO{Stdout: col.stream("stdout"), Stderr: col.stream("stderr"),
		Stdin: func(string, bool) (string, error) { return "", ErrStdinNotAllowed }}
	var capture *fdCapture
	if r.CaptureFDs {
		c, err := startCapture(kio.Stdout, kio.Stderr)
		if err != nil {
			return err
		}
		capture = c
		defer c.stop()
		kio.Stdout, kio.Stderr = os.Stdout, os.Stderr
		if r.Progress == os.Stderr {
			r.Progress = c.origStderr
		}
	}
	flush := func() {
		if capture != nil {
			capture.flush()
		}
	}
	col.flush = flush
	interp, err := r.NewInterpreter(kio)
	if err != nil {
		return fmt.Errorf("starting the interpreter: %w", err)
	}
	if r.SetPublisher != nil {
		r.SetPublisher(col)
	}
	// Outputs of an earlier run would be stale: start from a clean slate.
	for _, c := range nb.cells {
		if c["cell_type"] == "code" {
			c["outputs"] = []any{}
			c["execution_count"] = nil
			if md, ok := c["metadata"].(map[string]any); ok {
				delete(md, "execution")
			}
		}
	}
	count := 0
	for i, c := range nb.cells {
		if c["cell_type"] != "code" {
			continue
		}
		src := nb.CellSource(i)
		count++
		c["execution_count"] = count
		col.begin(c)
		start := now()
		value, has, err := runGuarded(ctx, interp, src, count)
		flush()
		col.end()
		end := now()
		if r.Progress != nil {
			status := "ok"
			if err != nil {
				status = "failed"
			}
			fmt.Fprintf(r.Progress, "steerbook run: [%d] cell %d %q: %s in %.2fs\n", count, i, firstLine(src), status, end.Sub(start).Seconds())
		}
		if r.Timing {
			md := c["metadata"].(map[string]any)
			md["execution"] = map[string]any{
				"shell.execute_reply.started": start.UTC().Format(time.RFC3339Nano),
				"shell.execute_reply":         end.UTC().Format(time.RFC3339Nano),
			}
		}
		if err != nil {
			ce := toCellError(err)
			col.add(c, map[string]any{"output_type": "error", "ename": ce.Name, "evalue": ce.Value, "traceback": ce.Traceback})
			return &RunError{Index: i, Count: count, FirstLine: firstLine(src), Err: ce}
		}
		if has {
			col.add(c, map[string]any{"output_type": "execute_result", "execution_count": count,
				"data": notebookBundle(normalizeBundle(render(value))), "metadata": map[string]any{}})
		}
	}
	return nil
}

func runGuarded(ctx context.Context, interp Interpreter, src string, n int) (v any, has bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &CellError{Name: "panic", Value: fmt.Sprint(p), Traceback: []string{fmt.Sprintf("panic: %v", p)}}
		}
	}()
	return interp.Execute(ctx, src, n)
}

func firstLine(src string) string {
	for _, l := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}

// notebookBundle writes text values in nbformat's multiline form.
func notebookBundle(data map[string]any) map[string]any {
	out := make(map[string]any, len(data))
	for mime, v := range data {
		if s, ok := v.(string); ok && (strings.HasPrefix(mime, "text/") || strings.HasSuffix(mime, "+xml")) {
			out[mime] = splitLines(s)
		} else {
			out[mime] = v
		}
	}
	return out
}

// collector turns a cell's output into nbformat outputs. It is also the
// runner's display Publisher.
type collector struct {
	mu         sync.Mutex
	cur        map[string]any
	clearWait  bool
	displayIDs map[string][]map[string]any // display_id → outputs showing it
	flush      func()
}

type streamSink struct {
	c    *collector
	name string
}

func (c *collector) stream(name string) io.Writer { return &streamSink{c, name} }

func (s *streamSink) Write(p []byte) (int, error) {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	cell := s.c.cur
	if cell == nil {
		return len(p), nil // output between cells has nowhere to go
	}
	s.c.applyClearLocked(cell)
	outs := cell["outputs"].([]any)
	if n := len(outs); n > 0 {
		if last := outs[n-1].(map[string]any); last["output_type"] == "stream" && last["name"] == s.name {
			last["text"] = last["text"].(string) + string(p)
			return len(p), nil
		}
	}
	cell["outputs"] = append(outs, map[string]any{"output_type": "stream", "name": s.name, "text": string(p)})
	return len(p), nil
}

func (c *collector) begin(cell map[string]any) {
	c.mu.Lock()
	c.cur, c.clearWait = cell, false
	c.mu.Unlock()
}

func (c *collector) end() {
	c.mu.Lock()
	c.cur = nil
	c.mu.Unlock()
}

func (c *collector) add(cell, out map[string]any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.applyClearLocked(cell)
	cell["outputs"] = append(cell["outputs"].([]any), out)
}

func (c *collector) applyClearLocked(cell map[string]any) {
	if c.clearWait {
		cell["outputs"] = []any{}
		c.clearWait = false
	}
}

func (c *collector) Publish(data, metadata map[string]any, displayID string, update bool) {
	if c.flush != nil {
		c.flush()
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	data = notebookBundle(normalizeBundle(data))
	c.mu.Lock()
	defer c.mu.Unlock()
	if update {
		for _, o := range c.displayIDs[displayID] {
			o["data"], o["metadata"] = data, metadata
		}
		return
	}
	if c.cur == nil {
		return
	}
	c.applyClearLocked(c.cur)
	out := map[string]any{"output_type": "display_data", "data": data, "metadata": metadata}
	c.cur["outputs"] = append(c.cur["outputs"].([]any), out)
	if displayID != "" {
		if c.displayIDs == nil {
			c.displayIDs = map[string][]map[string]any{}
		}
		c.displayIDs[displayID] = append(c.displayIDs[displayID], out)
	}
}

func (c *collector) Clear(wait bool) {
	if c.flush != nil {
		c.flush()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return
	}
	if wait {
		c.clearWait = true
		return
	}
	c.cur["outputs"] = []any{}
}
