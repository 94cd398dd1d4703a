package cell

import (
	"fmt"
	"go/ast"
	"go/token"
	"strings"
)

// The rewrites below bring Go 1.21/1.22 language features that yaegi v0.16.1
// lacks (min, max, clear, range over int, per-iteration loop variables) and
// make goroutine panics survivable. They are source-to-source and keep every
// line where it was.

// scopeInfo is what the rewriter needs to know about names defined outside
// the cell.
type scopeInfo interface {
	// shadowed reports whether the session defines name (so a call to min
	// is the user's function, not the builtin).
	shadowed(name string) bool
	// globalIsInt reports whether the global variable or constant name
	// holds an integer.
	globalIsInt(name string) bool
	// globalIsVar reports whether name is a variable defined by an earlier
	// cell (not a constant, type or function).
	globalIsVar(name string) bool
	// funcReturnsInt reports whether the function name, defined by an
	// earlier cell, returns exactly one integer.
	funcReturnsInt(name string) bool
	// callableNames are the functions and method names earlier cells
	// defined (for the recursion guard).
	callableNames() map[string]bool
	// isCellType and typeHasMethods describe types defined by earlier
	// cells.
	isCellType(name string) bool
	typeHasMethods(name string) bool
}

type rewriter struct {
	c     *parsedCell
	es    *edits
	scope scopeInfo
	// names declared anywhere in the cell (funcs, vars, consts, types,
	// params, :=), used to tell builtins from user names.
	declared map[string]bool
	cellN    int
	// variables declared in the cell (:=, var, parameters, range), for
	// evaluating `go f(x)` arguments at the go statement.
	vars map[string]bool
	// statement lists, for the tuple-assignment rewrite that runs last
	// (it renders the other edits into its replacement).
	lists [][]ast.Stmt
	// usesShow: the cell calls display.Show/ShowID/Update (rewritten to
	// the session's helpers, which need __sbCapture up to date).
	usesShow bool
	// callables: function and method names of the session and the cell.
	callables map[string]bool
}

func (c *parsedCell) rewrite(scope scopeInfo, cellN int) (*edits, bool) {
	r := &rewriter{c: c, es: &edits{}, scope: scope, declared: map[string]bool{}, cellN: cellN, vars: map[string]bool{}}
	for _, u := range c.units {
		ast.Inspect(u.node(), func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Field:
				for _, id := range n.Names {
					r.vars[id.Name] = true
				}
			case *ast.RangeStmt:
				for _, e := range []ast.Expr{n.Key, n.Value} {
					if id, ok := e.(*ast.Ident); ok {
						r.vars[id.Name] = true
					}
				}
			case *ast.GenDecl:
				if n.Tok == token.VAR {
					for _, sp := range n.Specs {
						for _, id := range sp.(*ast.ValueSpec).Names {
							r.vars[id.Name] = true
						}
					}
				}
			case *ast.FuncDecl:
				if n.Recv == nil {
					r.declared[n.Name.Name] = true
				}
			case *ast.ValueSpec:
				for _, id := range n.Names {
					r.declared[id.Name] = true
				}
			case *ast.TypeSpec:
				r.declared[n.Name.Name] = true
			case *ast.AssignStmt:
				if n.Tok == token.DEFINE {
					for _, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							r.declared[id.Name] = true
							r.vars[id.Name] = true
						}
					}
				}
			}
			return true
		})
	}
	for i, u := range c.units {
		if u.kind == uStmt {
			// A marker before each top-level statement records the line
			// that runs: yaegi attributes runtime errors of reflect
			// operations to an enclosing node, often the first statement
			// of the chunk. (Not before a trailing expression, which is
			// evaluated inside a call.)
			if _, isExpr := u.stmt.(*ast.ExprStmt); !isExpr || i != len(c.units)-1 {
				r.es.insert(u.start, fmt.Sprintf("__sb.At(%d); ", c.line(u.start)))
			}
			r.topLevel(u.stmt)
		}
		ast.Inspect(u.node(), r.visit)
	}
	for _, l := range r.lists {
		r.tupleAssigns(l)
	}
	return r.es, r.usesShow
}

func (u *unit) node() ast.Node {
	if u.decl != nil {
		return u.decl
	}
	return u.stmt
}

func (r *rewriter) isBuiltin(name string) bool {
	return !r.declared[name] && !r.scope.shadowed(name)
}

// topLevel wraps compound statements at the top of a cell in a function
// literal. yaegi keeps top-level cell variables in the global scope, and a
// block-scoped `:=` there (a loop variable, `x := x` in a loop body, an
// if-initialiser) overwrites a global of the same name or loops forever;
// inside a function body scopes behave.
func (r *rewriter) topLevel(st ast.Stmt) {
	if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE && len(as.Lhs) == 2 && len(as.Rhs) == 1 {
		r.commaOK(as)
		return
	}
	if d, ok := st.(*ast.DeferStmt); ok {
		// A defer at the top of a cell runs when the cell ends (yaegi
		// would run it when the chunk ends, and again after later cells).
		r.deferredCall(d.Defer, d.Call, "__sb.Defer(", ")")
		return
	}
	switch st.(type) {
	case *ast.ForStmt, *ast.RangeStmt, *ast.IfStmt, *ast.SwitchStmt, *ast.TypeSwitchStmt,
		*ast.SelectStmt, *ast.BlockStmt, *ast.LabeledStmt:
		r.es.insert(r.c.off(st.Pos()), "func() { ")
		r.es.insert(r.c.off(st.End()), " }()")
	}
}

// commaOK rewrites the comma-ok forms that yaegi fails on ("nil type") in
// a top-level `:=` (inside functions they work): `v, ok := m[k]` becomes
// `v, ok := m[k], func() bool { _, ok := m[k]; return ok }()` (m and k are
// evaluated twice, which is harmless for the map lookups this is used
// for), and `v, ok := x.(T)` becomes a call of a function literal that
// does the assertion. A comma-ok channel receive has no such rewrite (its
// element type is not in the source); the error explains it.
func (r *rewriter) commaOK(as *ast.AssignStmt) {
	rhs := as.Rhs[0]
	rs, re := r.c.off(rhs.Pos()), r.c.off(rhs.End())
	if r.es.within(rs, re) {
		return
	}
	x := r.c.src[rs:re]
	switch e := rhs.(type) {
	case *ast.IndexExpr:
		r.es.add(rs, re, fmt.Sprintf("%s, func() bool { _, __sbOK := %s; return __sbOK }()", x, x))
	case *ast.TypeAssertExpr:
		if e.Type == nil {
			return
		}
		t := r.c.text(e.Type)
		r.es.add(rs, re, fmt.Sprintf("func() (%s, bool) { __sbV, __sbOK := %s; return __sbV, __sbOK }()", t, x))
	}
}

func (r *rewriter) visit(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.CallExpr:
		r.call(n)
	case *ast.GoStmt:
		r.goStmt(n)
	case *ast.TypeSwitchStmt:
		r.typeSwitch(n)
	case *ast.BlockStmt:
		r.lists = append(r.lists, n.List)
	case *ast.CaseClause:
		r.lists = append(r.lists, n.Body)
	case *ast.CommClause:
		r.lists = append(r.lists, n.Body)
	case *ast.RangeStmt:
		r.rangeStmt(n)
	case *ast.ForStmt:
		r.forStmt(n)
	case *ast.FuncDecl:
		r.guardRecursion(n.Body)
	case *ast.FuncLit:
		r.guardRecursion(n.Body)
	}
	return true
}

func (r *rewriter) call(n *ast.CallExpr) {
	// display.Show(v) and friends receive v as `any`, which loses the
	// methods of cell-defined types; the session's own helpers see them.
	if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
		if x, ok := sel.X.(*ast.Ident); ok && x.Name == "display" && !r.declared["display"] && !r.scope.globalIsVar("display") {
			if helper, ok := map[string]string{"Show": "__sbShow", "ShowID": "__sbShowID", "Update": "__sbUpdate"}[sel.Sel.Name]; ok {
				r.es.add(r.c.off(sel.Pos()), r.c.off(sel.End()), helper)
				r.usesShow = true
			}
		}
		return
	}
	id, ok := n.Fun.(*ast.Ident)
	if !ok || !r.isBuiltin(id.Name) {
		return
	}
	switch id.Name {
	case "min", "max":
		helper := "__sbMin"
		if id.Name == "max" {
			helper = "__sbMax"
		}
		args := n.Args
		if len(args) == 0 || n.Ellipsis.IsValid() {
			return
		}
		if len(args) == 1 {
			r.es.add(r.c.off(id.Pos()), r.c.off(id.End()), "")
			return
		}
		// The generic helper infers its type from the first argument, so
		// an untyped constant first (min(0, x) with x float64) would make
		// it int. min and max are symmetric: move a typed operand first.
		r.orderArgs(args)
		r.es.add(r.c.off(id.Pos()), r.c.off(id.End()), strings.Repeat(helper+"(", len(args)-2)+helper)
		for i := 1; i < len(args)-1; i++ {
			r.es.insert(r.c.off(args[i].End()), ")")
		}
	case "clear":
		r.es.add(r.c.off(id.Pos()), r.c.off(id.End()), "__sb.Clear")
	}
}

// orderArgs swaps the first argument of min/max with the first argument
// that is not a literal, when the first one is a literal. With only
// literals, a float literal goes first so the result is a float.
func (r *rewriter) orderArgs(args []ast.Expr) {
	lit := func(e ast.Expr) (*ast.BasicLit, bool) {
		for {
			switch x := e.(type) {
			case *ast.ParenExpr:
				e = x.X
				continue
			case *ast.UnaryExpr:
				if x.Op == token.SUB || x.Op == token.ADD {
					e = x.X
					continue
				}
			case *ast.BasicLit:
				return x, true
			}
			return nil, false
		}
	}
	first, ok := lit(args[0])
	if !ok {
		return
	}
	swap := -1
	for i := 1; i < len(args); i++ {
		if _, isLit := lit(args[i]); !isLit {
			swap = i
			break
		}
	}
	if swap < 0 && first.Kind == token.INT {
		for i := 1; i < len(args); i++ {
			if l, _ := lit(args[i]); l != nil && l.Kind == token.FLOAT {
				swap = i
				break
			}
		}
	}
	if swap < 0 {
		if first.Kind == token.FLOAT {
			// Only literals, a float first: make it a typed float64,
			// since an untyped float does not satisfy the constraint.
			r.es.insert(r.c.off(args[0].Pos()), "float64(")
			r.es.insert(r.c.off(args[0].End()), ")")
		}
		return
	}
	if first.Kind == token.FLOAT && swap >= 0 {
		if _, isLit := lit(args[swap]); isLit {
			r.es.insert(r.c.off(args[swap].Pos()), "float64(")
			r.es.insert(r.c.off(args[swap].End()), ")")
			a, b := args[0], args[swap]
			as, ae := r.c.off(a.Pos()), r.c.off(a.End())
			bs, be := r.c.off(b.Pos()), r.c.off(b.End())
			r.es.add(as, ae, "float64("+r.c.src[bs:be]+")")
			r.es.add(bs, be, r.c.src[as:ae])
			return
		}
	}
	a, b := args[0], args[swap]
	as, ae := r.c.off(a.Pos()), r.c.off(a.End())
	bs, be := r.c.off(b.Pos()), r.c.off(b.End())
	if r.es.within(bs, be) {
		return
	}
	r.es.add(as, ae, r.c.src[bs:be])
	r.es.add(bs, be, r.c.src[as:ae])
}

var intTypes = map[string]bool{"int": true, "int8": true, "int16": true, "int32": true, "int64": true,
	"uint": true, "uint8": true, "uint16": true, "uint32": true, "uint64": true, "uintptr": true, "byte": true, "rune": true}

// isInt guesses from the cell's AST and the session's globals whether e is
// an integer. Only integers are rewritten for range-over-int; anything else
// is left for yaegi (and a failure is explained by the error translator).
func (r *rewriter) isInt(e ast.Expr, depth int) bool {
	if depth > 4 {
		return false
	}
	switch x := e.(type) {
	case *ast.BasicLit:
		return x.Kind == token.INT
	case *ast.ParenExpr:
		return r.isInt(x.X, depth+1)
	case *ast.BinaryExpr:
		switch x.Op {
		case token.ADD, token.SUB, token.MUL, token.QUO, token.REM, token.SHL, token.SHR, token.AND, token.OR, token.XOR:
			return r.isInt(x.X, depth+1) || (x.Op != token.SHL && x.Op != token.SHR && r.isInt(x.Y, depth+1))
		}
	case *ast.UnaryExpr:
		return x.Op != token.NOT && x.Op != token.AND && x.Op != token.ARROW && r.isInt(x.X, depth+1)
	case *ast.CallExpr:
		if id, ok := x.Fun.(*ast.Ident); ok {
			if (id.Name == "len" || id.Name == "cap") && r.isBuiltin(id.Name) {
				return true
			}
			if intTypes[id.Name] && len(x.Args) == 1 {
				return true
			}
			for _, u := range r.c.units {
				if fd, ok := u.decl.(*ast.FuncDecl); ok && fd.Recv == nil && fd.Name.Name == id.Name {
					res := fd.Type.Results
					if res == nil || len(res.List) != 1 || len(res.List[0].Names) > 1 {
						return false
					}
					t, ok := res.List[0].Type.(*ast.Ident)
					return ok && intTypes[t.Name]
				}
			}
			return r.scope.funcReturnsInt(id.Name)
		}
	case *ast.Ident:
		return r.identIsInt(x.Name, depth)
	}
	return false
}

// identIsInt looks for a declaration of name in the cell that makes it an
// integer, then asks the session about globals.
func (r *rewriter) identIsInt(name string, depth int) bool {
	found, isInt := false, false
	for _, u := range r.c.units {
		ast.Inspect(u.node(), func(n ast.Node) bool {
			if found {
				return false
			}
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok != token.DEFINE || len(n.Lhs) != len(n.Rhs) {
					return true
				}
				for i, l := range n.Lhs {
					if id, ok := l.(*ast.Ident); ok && id.Name == name {
						found, isInt = true, r.isInt(n.Rhs[i], depth+1)
					}
				}
			case *ast.ValueSpec:
				for i, id := range n.Names {
					if id.Name != name {
						continue
					}
					found = true
					if t, ok := n.Type.(*ast.Ident); ok {
						isInt = intTypes[t.Name]
					} else if n.Type == nil && i < len(n.Values) {
						isInt = r.isInt(n.Values[i], depth+1)
					} else if n.Type == nil && len(n.Values) == 0 {
						isInt = true // iota in a const group
					}
				}
			case *ast.Field:
				for _, id := range n.Names {
					if id.Name == name {
						found = true
						t, ok := n.Type.(*ast.Ident)
						isInt = ok && intTypes[t.Name]
					}
				}
			}
			return true
		})
		if found {
			return isInt
		}
	}
	return r.scope.globalIsInt(name)
}

func (r *rewriter) rangeStmt(n *ast.RangeStmt) {
	body := r.c.off(n.Body.Lbrace) + 1
	if n.Value == nil && r.isInt(n.X, 0) {
		x := r.c.src[r.c.off(n.X.Pos()):r.c.off(n.X.End())]
		if r.es.within(r.c.off(n.X.Pos()), r.c.off(n.X.End())) {
			x = r.es.render(r.c.src, r.c.off(n.X.Pos()), r.c.off(n.X.End()))
		}
		key, tok := "__sbI", ":="
		if id, ok := n.Key.(*ast.Ident); ok && id.Name != "_" {
			key = id.Name
			tok = n.Tok.String()
		} else if n.Key != nil {
			if _, ok := n.Key.(*ast.Ident); !ok {
				key, tok = r.c.text(n.Key), "="
			}
		}
		// __sbRange evaluates X once and gives the loop variable X's own
		// integer type, as Go does.
		bound := fmt.Sprintf("__sbN%d", r.c.off(n.For))
		header := fmt.Sprintf("for %s, %s := __sbRange(%s); %s < %s; %s++ ", key, bound, x, key, bound, key)
		if tok != ":=" {
			// `for i = range n` assigns an existing variable: X is
			// evaluated at each test here (a rare form).
			header = fmt.Sprintf("for %s = (%s) - (%s); %s < (%s); %s++ ", key, x, x, key, x, key)
		}
		r.es.add(r.c.off(n.For), r.c.off(n.Body.Lbrace), header)
	}
	if n.Tok != token.DEFINE {
		return
	}
	var names []string
	for _, e := range []ast.Expr{n.Key, n.Value} {
		if id, ok := e.(*ast.Ident); ok && id.Name != "_" {
			names = append(names, id.Name)
		}
	}
	if len(names) > 0 && captures(n.Body, names) {
		r.es.insert(body, fmt.Sprintf(" %s := %s;", strings.Join(names, ", "), strings.Join(names, ", ")))
	}
}

// forStmt gives `for i := ...; ...; ...` loops Go 1.22 per-iteration
// variables when the body captures them (a closure, a go or defer statement,
// or &i). A body that also assigns the variable keeps the old semantics: the
// copy would hide its writes from the loop's post statement.
func (r *rewriter) forStmt(n *ast.ForStmt) {
	as, ok := n.Init.(*ast.AssignStmt)
	if !ok || as.Tok != token.DEFINE {
		return
	}
	var names []string
	for _, l := range as.Lhs {
		if id, ok := l.(*ast.Ident); ok && id.Name != "_" {
			names = append(names, id.Name)
		}
	}
	if len(names) == 0 || !captures(n.Body, names) || assigns(n.Body, names) {
		return
	}
	r.es.insert(r.c.off(n.Body.Lbrace)+1, fmt.Sprintf(" %s := %s;", strings.Join(names, ", "), strings.Join(names, ", ")))
}

func captures(body ast.Node, names []string) bool {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	uses := func(n ast.Node) bool {
		hit := false
		ast.Inspect(n, func(m ast.Node) bool {
			if id, ok := m.(*ast.Ident); ok && want[id.Name] {
				hit = true
			}
			return !hit
		})
		return hit
	}
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if found {
			return false
		}
		switch n := n.(type) {
		case *ast.FuncLit, *ast.GoStmt, *ast.DeferStmt:
			found = uses(n)
			return false
		case *ast.UnaryExpr:
			if n.Op == token.AND && uses(n.X) {
				found = true
			}
		}
		return true
	})
	return found
}

func assigns(body ast.Node, names []string) bool {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if n.Tok == token.DEFINE {
				return true
			}
			for _, l := range n.Lhs {
				if id, ok := l.(*ast.Ident); ok && want[id.Name] {
					found = true
				}
			}
		case *ast.IncDecStmt:
			if id, ok := n.X.(*ast.Ident); ok && want[id.Name] {
				found = true
			}
		}
		return !found
	})
	return found
}

// goStmt rewrites `go f(a, b)` into a call of the interpreted __sbGo, which
// starts the goroutine under a deferred recover (a panic in an interpreted
// goroutine kills the process otherwise). Go evaluates the arguments at the
// go statement; arguments that are variables (or selectors and index
// expressions on variables) are copied there, so a later change of the
// variable does not reach the goroutine. Other arguments (constants, calls)
// are evaluated in the goroutine: copying a constant would fix its type, and
// a call may return several values.
func (r *rewriter) goStmt(n *ast.GoStmt) {
	line := r.c.line(r.c.off(n.Go))
	r.deferredCall(n.Go, n.Call, fmt.Sprintf("__sbGo(%d, %d, ", r.cellN, line), ")")
}

// deferredCall replaces `kw CALL` (kw at pos: go or defer) with
// open + func() { CALL } + close, copying variable arguments first so that
// they are evaluated at the statement, as Go does.
func (r *rewriter) deferredCall(kw token.Pos, call *ast.CallExpr, open, close string) {
	var names, vals []string
	for i, a := range call.Args {
		if !r.isVarExpr(a) {
			continue
		}
		as, ae := r.c.off(a.Pos()), r.c.off(a.End())
		if r.es.within(as, ae) {
			continue
		}
		name := fmt.Sprintf("__sbA%d", i)
		names = append(names, name)
		vals = append(vals, r.c.src[as:ae])
		r.es.add(as, ae, name)
	}
	if len(names) == 0 {
		r.es.add(r.c.off(kw), r.c.off(call.Pos()), open+"func() { ")
		r.es.insert(r.c.off(call.End()), " }"+close)
		return
	}
	r.es.add(r.c.off(kw), r.c.off(call.Pos()), fmt.Sprintf("%sfunc() func() { %s := %s; return func() { ",
		open, strings.Join(names, ", "), strings.Join(vals, ", ")))
	r.es.insert(r.c.off(call.End()), " } }()"+close)
}

// isVarExpr reports whether e is a variable, or a field or element of one.
func (r *rewriter) isVarExpr(e ast.Expr) bool {
	switch x := e.(type) {
	case *ast.Ident:
		return r.vars[x.Name] || (!r.declared[x.Name] && r.scope.globalIsVar(x.Name))
	case *ast.SelectorExpr:
		return r.isVarExpr(x.X)
	case *ast.IndexExpr:
		return r.isVarExpr(x.X) && r.isVarExpr(x.Index)
	case *ast.ParenExpr:
		return r.isVarExpr(x.X)
	}
	return false
}

// typeSwitch rewrites type switches whose cases name types defined in
// cells. yaegi v0.16.1 gets those wrong: a binding switch (`switch x :=
// v.(type)`) misses cell types, and even without a binding a case of a cell
// struct type without methods never matches. Concrete type assertions do
// work for method-less types (they compare underlying types, which for a
// type without methods is what a switch would decide in practice), and a
// binding-less switch works for types with methods. So the switch becomes
// an expression switch on the index of the first matching case, computed
// case by case with whichever test works, and bindings are assigned in
// each case. `break` keeps its meaning.
func (r *rewriter) typeSwitch(n *ast.TypeSwitchStmt) {
	var bind string
	var ta *ast.TypeAssertExpr
	var assignNode ast.Node
	switch a := n.Assign.(type) {
	case *ast.AssignStmt:
		if len(a.Lhs) != 1 || len(a.Rhs) != 1 {
			return
		}
		id, ok := a.Lhs[0].(*ast.Ident)
		if !ok {
			return
		}
		bind = id.Name
		ta, _ = a.Rhs[0].(*ast.TypeAssertExpr)
		assignNode = a
	case *ast.ExprStmt:
		ta, _ = a.X.(*ast.TypeAssertExpr)
		assignNode = a
	}
	if ta == nil || n.Init != nil {
		return
	}
	involved := false
	for _, st := range n.Body.List {
		if cc, ok := st.(*ast.CaseClause); ok {
			for _, t := range cc.List {
				if name := typeName(t); name != "" && r.isCellType(name) {
					involved = true
				}
			}
		}
	}
	if !involved {
		return
	}
	xs, xe := r.c.off(ta.X.Pos()), r.c.off(ta.X.End())
	if r.es.within(xs, xe) {
		return
	}
	subj := r.c.src[xs:xe]
	init := ""
	if _, isIdent := ta.X.(*ast.Ident); !isIdent {
		subj = fmt.Sprintf("__sbTS%d", xs)
		init = fmt.Sprintf("%s := %s; ", subj, r.c.src[xs:xe])
	}
	var idx strings.Builder
	idx.WriteString("func() int { ")
	ci := 0
	for _, st := range n.Body.List {
		cc, ok := st.(*ast.CaseClause)
		if !ok || cc.List == nil {
			continue
		}
		for _, t := range cc.List {
			tt := r.c.text(t)
			switch {
			case tt == "nil":
				fmt.Fprintf(&idx, "if %s == nil { return %d }; ", subj, ci)
			case typeName(t) != "" && r.isCellType(typeName(t)) && (!r.hasMethods(typeName(t)) || isPtr(t)):
				fmt.Fprintf(&idx, "if _, ok := %s.(%s); ok { return %d }; ", subj, tt, ci)
			default:
				fmt.Fprintf(&idx, "switch %s.(type) { case %s: return %d }; ", subj, tt, ci)
			}
		}
		// The case list becomes the case's index.
		r.es.add(r.c.off(cc.List[0].Pos()), r.c.off(cc.List[len(cc.List)-1].End()), fmt.Sprint(ci))
		if bind != "" && bind != "_" {
			val := subj
			if len(cc.List) == 1 && r.c.text(cc.List[0]) != "nil" {
				val = fmt.Sprintf("%s.(%s)", subj, r.c.text(cc.List[0]))
			}
			r.es.insert(r.c.off(cc.Colon)+1, fmt.Sprintf(" %s := %s; _ = %s;", bind, val, bind))
		}
		ci++
	}
	idx.WriteString("return -1 }()")
	for _, st := range n.Body.List {
		if cc, ok := st.(*ast.CaseClause); ok && cc.List == nil && bind != "" && bind != "_" {
			r.es.insert(r.c.off(cc.Colon)+1, fmt.Sprintf(" %s := %s; _ = %s;", bind, subj, bind))
		}
	}
	r.es.add(r.c.off(assignNode.Pos()), r.c.off(ta.End()), init+idx.String())
}

func isPtr(e ast.Expr) bool { _, ok := e.(*ast.StarExpr); return ok }

// isCellType reports whether name is a type defined in this cell or an
// earlier one.
func (r *rewriter) isCellType(name string) bool {
	for _, u := range r.c.units {
		if u.kind != uType {
			continue
		}
		for _, sp := range u.decl.(*ast.GenDecl).Specs {
			if sp.(*ast.TypeSpec).Name.Name == name {
				return true
			}
		}
	}
	return r.scope.isCellType(name)
}

// hasMethods reports whether a cell type has methods (in this cell or an
// earlier one).
func (r *rewriter) hasMethods(name string) bool {
	for _, u := range r.c.units {
		if fd, ok := u.decl.(*ast.FuncDecl); ok && fd.Recv != nil {
			if t, _ := recvType(fd); t == name {
				return true
			}
		}
	}
	return r.scope.typeHasMethods(name)
}

// tupleAssigns rewrites `a[i].X, a[i].Y = f(), g()` into temporaries and
// single assignments: yaegi v0.16.1 loses the first target of a tuple
// assignment to fields or elements when the right side has calls. Only
// statements of a statement list are rewritten (not a for loop's post
// statement), and only when no plain variable assigned in the tuple is
// used by another target (whose operands Go evaluates before assigning).
func (r *rewriter) tupleAssigns(list []ast.Stmt) {
	for _, st := range list {
		as, ok := st.(*ast.AssignStmt)
		if !ok || as.Tok != token.ASSIGN || len(as.Lhs) < 2 || len(as.Lhs) != len(as.Rhs) {
			continue
		}
		plain := map[string]bool{}
		complexTarget := false
		for _, l := range as.Lhs {
			if id, ok := l.(*ast.Ident); ok {
				plain[id.Name] = true
			} else {
				complexTarget = true
			}
		}
		if !complexTarget {
			continue
		}
		clash := false
		for _, l := range as.Lhs {
			if _, ok := l.(*ast.Ident); ok {
				continue
			}
			for id := range identsIn(l) {
				if plain[id] {
					clash = true
				}
			}
		}
		start, end := r.c.off(as.Pos()), r.c.off(as.End())
		if clash {
			continue
		}
		render := func(e ast.Expr) string { return r.es.render(r.c.src, r.c.off(e.Pos()), r.c.off(e.End())) }
		// Constants are assigned directly (a temporary would give them
		// their default type); everything else goes through temporaries.
		var tmps, vals, sets, consts []string
		for i, l := range as.Lhs {
			if id, ok := l.(*ast.Ident); ok && id.Name == "_" {
				if !isConstLit(as.Rhs[i]) {
					tmps, vals = append(tmps, "_"), append(vals, render(as.Rhs[i]))
				}
				continue
			}
			if isConstLit(as.Rhs[i]) {
				consts = append(consts, fmt.Sprintf("%s = %s", render(l), render(as.Rhs[i])))
				continue
			}
			t := fmt.Sprintf("__sbA%d_%d", start, i)
			tmps, vals = append(tmps, t), append(vals, render(as.Rhs[i]))
			sets = append(sets, fmt.Sprintf("%s = %s", render(l), t))
		}
		var parts []string
		if len(sets) > 0 {
			parts = append(parts, fmt.Sprintf("%s := %s", strings.Join(tmps, ", "), strings.Join(vals, ", ")))
		} else if len(vals) > 0 {
			parts = append(parts, fmt.Sprintf("%s = %s", strings.Join(tmps, ", "), strings.Join(vals, ", ")))
		}
		parts = append(parts, sets...)
		parts = append(parts, consts...)
		text := strings.Join(parts, "; ")
		r.es.add(start, end, text)
	}
}

// isConstLit reports a literal (possibly signed or parenthesised).
func isConstLit(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.BasicLit:
			return true
		case *ast.ParenExpr:
			e = x.X
		case *ast.UnaryExpr:
			if x.Op != token.SUB && x.Op != token.ADD {
				return false
			}
			e = x.X
		default:
			return false
		}
	}
}

// guardRecursion counts nested calls of cell functions that call cell
// functions (only those can recurse): unbounded recursion in yaegi grows
// the Go stack until the process dies, taking the notebook's state with it.
// Past the limit the runtime ends the goroutine (runtime.Goexit, which
// unwinds in linear time; a panic through 10⁵ interpreted frames takes
// yaegi minutes) and the cell fails with StackOverflow.
func (r *rewriter) guardRecursion(body *ast.BlockStmt) {
	if body == nil {
		return
	}
	if r.callables == nil {
		r.callables = r.scope.callableNames()
		for _, u := range r.c.units {
			if d, ok := u.decl.(*ast.FuncDecl); ok {
				r.callables[d.Name.Name] = true
			}
		}
	}
	calls := false
	ast.Inspect(body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			switch f := c.Fun.(type) {
			case *ast.Ident:
				// A cell function, or a variable that may hold a closure
				// that calls back (var walk func(*Node); walk = func…).
				calls = calls || r.callables[f.Name] || r.vars[f.Name] || r.scope.globalIsVar(f.Name)
			case *ast.SelectorExpr:
				calls = calls || r.callables[f.Sel.Name]
			}
		}
		return !calls
	})
	if calls {
		r.es.insert(r.c.off(body.Lbrace)+1, " __sb.Enter(); defer __sb.Leave();")
	}
}
