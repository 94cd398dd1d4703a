package cell

import (
	"go/ast"
	"go/parser"
	"go/scanner"
	"go/token"
	"strings"
)

// This file splits a cell into units. yaegi parses a cell whose first token
// is a declaration keyword as a file and anything else as a function body, so
// a cell that mixes `import`, `func` and statements fails there. We scan the
// top level ourselves, cut the cell into runs of declarations and runs of
// statements, and parse each run with padding so that every AST position is
// the cell's own byte offset (plus a fixed prefix we subtract).

type unitKind int

const (
	uImport unitKind = iota
	uType
	uConst
	uVar
	uFunc
	uStmt
)

// unit is one top-level item of a cell: a declaration or a statement.
type unit struct {
	kind       unitKind
	start, end int // byte offsets in the cell
	decl       ast.Decl
	stmt       ast.Stmt
}

// parsedCell is a cell cut into units, with a way to turn AST positions back
// into cell offsets.
type parsedCell struct {
	src   string
	fset  *token.FileSet
	units []*unit
	// prefix length of each parsed file, keyed by the file's base.
	prefix map[int]int
}

// off converts an AST position into a byte offset of the cell.
func (c *parsedCell) off(p token.Pos) int {
	f := c.fset.File(p)
	return f.Offset(p) - c.prefix[f.Base()]
}

// line returns the 1-based cell line of a byte offset.
func (c *parsedCell) line(off int) int {
	if off > len(c.src) {
		off = len(c.src)
	}
	return strings.Count(c.src[:off], "\n") + 1
}

// text returns the cell source of a node.
func (c *parsedCell) text(n ast.Node) string {
	return c.src[c.off(n.Pos()):c.off(n.End())]
}

const (
	declPrefix = "package main;"
	stmtPrefix = "package main; func main() {"
)

type segment struct {
	decl       bool
	start, end int
}

type tok struct {
	off int
	end int
	tok token.Token
	lit string
}

// splitTopLevel finds the top-level items of src (separated by semicolons,
// explicit or automatic, at bracket depth 0) and groups consecutive items of
// the same class into segments.
func splitTopLevel(src string) []segment {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var s scanner.Scanner
	s.Init(file, []byte(src), func(token.Position, string) {}, 0)
	var items [][]tok
	var cur []tok
	depth := 0
	for {
		pos, t, lit := s.Scan()
		if t == token.EOF {
			break
		}
		off := file.Offset(pos)
		if t == token.SEMICOLON && depth <= 0 {
			if len(cur) > 0 {
				items = append(items, cur)
				cur = nil
			}
			continue
		}
		switch t {
		case token.LPAREN, token.LBRACK, token.LBRACE:
			depth++
		case token.RPAREN, token.RBRACK, token.RBRACE:
			depth--
		}
		n := len(lit)
		if lit == "" {
			n = len(t.String())
		}
		if t == token.SEMICOLON {
			n = 1
		}
		cur = append(cur, tok{off: off, end: off + n, tok: t, lit: lit})
	}
	if len(cur) > 0 {
		items = append(items, cur)
	}
	var segs []segment
	for _, it := range items {
		if it[0].tok == token.PACKAGE {
			continue // a pasted file's package clause
		}
		d := isDeclItem(it)
		st, en := it[0].off, it[len(it)-1].end
		if en > len(src) {
			en = len(src)
		}
		if n := len(segs); n > 0 && segs[n-1].decl == d {
			segs[n-1].end = en
			continue
		}
		segs = append(segs, segment{decl: d, start: st, end: en})
	}
	return segs
}

// isDeclItem reports whether a top-level item is a package-level
// declaration. `func` starts a declaration when a name follows, or a
// receiver followed by a method name; otherwise it is a function literal
// used in a statement.
func isDeclItem(it []tok) bool {
	switch it[0].tok {
	case token.IMPORT, token.TYPE, token.CONST, token.VAR:
		return true
	case token.FUNC:
		if len(it) < 2 {
			return false
		}
		if it[1].tok == token.IDENT {
			return true
		}
		if it[1].tok != token.LPAREN {
			return false
		}
		depth := 0
		for i := 1; i < len(it); i++ {
			switch it[i].tok {
			case token.LPAREN:
				depth++
			case token.RPAREN:
				depth--
				if depth == 0 {
					return i+2 < len(it) && it[i+1].tok == token.IDENT &&
						(it[i+2].tok == token.LPAREN || it[i+2].tok == token.LBRACK)
				}
			}
		}
	}
	return false
}

// blankBefore returns src[:n] with every character but newlines replaced by
// spaces, so that a parse of the padded text keeps the cell's offsets.
func blankBefore(src string, n int) string {
	b := []byte(src[:n])
	for i, c := range b {
		if c != '\n' {
			b[i] = ' '
		}
	}
	return string(b)
}

// parseCell cuts src into units. A syntax error is returned as a
// scanner.ErrorList whose positions are cell positions (see errorFromParse).
func parseCell(src string) (*parsedCell, error) {
	c := &parsedCell{src: src, fset: token.NewFileSet(), prefix: map[int]int{}}
	for _, seg := range splitTopLevel(src) {
		pad := blankBefore(src, seg.start)
		body := src[seg.start:seg.end]
		if seg.decl {
			text := declPrefix + pad + body
			base := c.fset.Base()
			f, err := parser.ParseFile(c.fset, "", text, parser.ParseComments)
			c.prefix[base] = len(declPrefix)
			if err != nil {
				return c, err
			}
			for _, d := range f.Decls {
				u := &unit{decl: d, start: c.off(d.Pos()), end: c.off(d.End())}
				switch d := d.(type) {
				case *ast.FuncDecl:
					u.kind = uFunc
				case *ast.GenDecl:
					switch d.Tok {
					case token.IMPORT:
						u.kind = uImport
					case token.TYPE:
						u.kind = uType
					case token.CONST:
						u.kind = uConst
					default:
						u.kind = uVar
					}
				}
				c.units = append(c.units, u)
			}
			continue
		}
		text := stmtPrefix + pad + body + "\n}"
		base := c.fset.Base()
		f, err := parser.ParseFile(c.fset, "", text, 0)
		c.prefix[base] = len(stmtPrefix)
		if err != nil {
			return c, err
		}
		fn := f.Decls[0].(*ast.FuncDecl)
		for _, st := range fn.Body.List {
			if _, ok := st.(*ast.EmptyStmt); ok {
				continue
			}
			c.units = append(c.units, &unit{kind: uStmt, stmt: st, start: c.off(st.Pos()), end: c.off(st.End())})
		}
	}
	return c, nil
}
