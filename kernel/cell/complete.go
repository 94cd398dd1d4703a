package cell

import (
	"errors"
	"go/ast"
	"go/scanner"
	"go/token"
	"reflect"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

var keywords = []string{"break", "case", "chan", "const", "continue", "default", "defer", "else",
	"fallthrough", "for", "func", "go", "goto", "if", "import", "interface", "map", "package",
	"range", "return", "select", "struct", "switch", "type", "var"}

var builtins = []string{"append", "cap", "clear", "close", "complex", "copy", "delete", "imag", "len",
	"make", "max", "min", "new", "panic", "print", "println", "real", "recover",
	"any", "bool", "byte", "comparable", "complex128", "complex64", "error", "false", "float32",
	"float64", "int", "int16", "int32", "int64", "int8", "iota", "nil", "rune", "string", "true",
	"uint", "uint16", "uint32", "uint64", "uint8", "uintptr", "ctx"}

// byteOffset converts a cursor in Unicode code points to a byte offset.
func byteOffset(src string, cursor int) int {
	if cursor <= 0 {
		return 0
	}
	i := 0
	for off := range src {
		if i == cursor {
			return off
		}
		i++
	}
	return len(src)
}

func isIdentRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

// identBefore returns the identifier that ends at byte offset off and where
// it starts.
func identBefore(src string, off int) (string, int) {
	start := off
	for start > 0 {
		r, size := utf8.DecodeLastRuneInString(src[:start])
		if !isIdentRune(r) {
			break
		}
		start -= size
	}
	return src[start:off], start
}

// Complete returns the names that can complete the identifier before the
// cursor, and the range [start, end) in code points that they replace:
// members after "pkg." or "value.", otherwise keywords, builtins, imported
// packages, names defined in earlier cells and names in this cell.
func (s *Session) Complete(src string, cursor int) (matches []string, start, end int) {
	off := byteOffset(src, cursor)
	prefix, pstart := identBefore(src, off)
	start = cursor - utf8.RuneCountInString(prefix)
	end = cursor
	var cands []string
	if pstart > 0 && src[pstart-1] == '.' {
		qual, _ := identBefore(src, pstart-1)
		if qual == "" {
			return nil, start, end
		}
		cands = s.members(qual)
	} else {
		cands = append(cands, keywords...)
		cands = append(cands, builtins...)
		s.defMu.Lock()
		for n := range s.imports {
			cands = append(cands, n)
		}
		for n := range s.funcs {
			cands = append(cands, n)
		}
		for n := range s.types {
			cands = append(cands, n)
		}
		for n := range s.values {
			cands = append(cands, n)
		}
		s.defMu.Unlock()
		cands = append(cands, cellIdents(src)...)
		// Packages not imported yet, by their short name.
		for _, n := range s.pkgNames {
			cands = append(cands, n)
		}
	}
	seen := map[string]bool{}
	for _, c := range cands {
		if seen[c] || !strings.HasPrefix(c, prefix) || strings.HasPrefix(c, "__sb") || c == prefix {
			continue
		}
		seen[c] = true
		matches = append(matches, c)
	}
	sort.Strings(matches)
	return matches, start, end
}

func cellIdents(src string) []string {
	fset := token.NewFileSet()
	file := fset.AddFile("", -1, len(src))
	var sc scanner.Scanner
	sc.Init(file, []byte(src), func(token.Position, string) {}, 0)
	var out []string
	for {
		_, t, lit := sc.Scan()
		if t == token.EOF {
			return out
		}
		if t == token.IDENT {
			out = append(out, lit)
		}
	}
}

// pkgPath resolves a package name used in a cell: an import, else a known
// package with that short name.
func (s *Session) pkgPath(name string) (string, bool) {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	return s.pkgPathLocked(name)
}

// pkgPathLocked is pkgPath for callers holding defMu.
func (s *Session) pkgPathLocked(name string) (string, bool) {
	if p, ok := s.imports[name]; ok {
		return p, true
	}
	var found []string
	for path, n := range s.pkgNames {
		if n == name && !strings.HasPrefix(path, "steerbook.internal") {
			found = append(found, path)
		}
	}
	if len(found) == 0 {
		return "", false
	}
	sort.Strings(found) // prefer the shortest (stdlib "math/rand" over "math/rand/v2")
	sort.SliceStable(found, func(i, j int) bool { return len(found[i]) < len(found[j]) })
	return found[0], true
}

// members lists what can follow "qual.": package members, or the fields and
// methods of a value defined in an earlier cell.
func (s *Session) members(qual string) []string {
	if p, ok := s.pkgPath(qual); ok {
		s.defMu.Lock()
		_, isValue := s.values[qual]
		s.defMu.Unlock()
		if !isValue {
			var out []string
			for name := range s.exports[p+"/"+s.pkgNames[p]] {
				if ast.IsExported(name) {
					out = append(out, name)
				}
			}
			return out
		}
	}
	s.defMu.Lock()
	vr, ok := s.values[qual]
	s.defMu.Unlock()
	if !ok {
		return nil
	}
	var out []string
	if vr.typ != "" {
		s.defMu.Lock()
		for _, m := range s.methods {
			if m.recv == vr.typ {
				out = append(out, m.name)
			}
		}
		s.defMu.Unlock()
	}
	v, err := s.evalIdle(qual)
	if err != nil || !v.IsValid() {
		return out
	}
	t := v.Type()
	for i := 0; i < t.NumMethod(); i++ {
		out = append(out, t.Method(i).Name)
	}
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		pt := reflect.PointerTo(t)
		for i := 0; i < pt.NumMethod(); i++ {
			out = append(out, pt.Method(i).Name)
		}
	}
	st := t
	if st.Kind() == reflect.Pointer {
		st = st.Elem()
	}
	if st.Kind() == reflect.Struct {
		for i := 0; i < st.NumField(); i++ {
			if f := st.Field(i); f.IsExported() || !strings.HasPrefix(f.Name, "X") {
				out = append(out, f.Name)
			}
		}
	}
	return out
}

// evalIdle evaluates an identifier when no cell is running (the
// interpreter is not safe for concurrent use); while a cell runs, completion
// and inspect do without values.
func (s *Session) evalIdle(name string) (reflect.Value, error) {
	if !s.mu.TryLock() {
		return reflect.Value{}, errBusy
	}
	defer s.mu.Unlock()
	return s.in.Eval(name)
}

var errBusy = errors.New("a cell is running")
