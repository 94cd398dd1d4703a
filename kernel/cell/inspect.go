package cell

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"unicode/utf8"
)

// Inspect describes the identifier under (or just before) the cursor:
// signature and documentation for functions, types and values defined in
// cells, and for members of the standard library and preloaded packages
// (documentation from go/doc when the package's sources are on this
// machine, else the reflected signature).
func (s *Session) Inspect(src string, cursor int) (string, bool) {
	off := byteOffset(src, cursor)
	// Extend to the end of the identifier under the cursor.
	end := off
	for end < len(src) {
		r, size := utf8.DecodeRuneInString(src[end:])
		if !isIdentRune(r) {
			break
		}
		end += size
	}
	name, start := identBefore(src, end)
	if name == "" {
		return "", false
	}
	if start > 0 && src[start-1] == '.' {
		qual, _ := identBefore(src, start-1)
		s.defMu.Lock()
		_, isValue := s.values[qual]
		s.defMu.Unlock()
		if p, ok := s.pkgPath(qual); ok && !isValue {
			return s.inspectMember(p, name)
		}
		if doc, ok := s.inspectMethod(name); ok {
			return doc, true
		}
		if isValue {
			return s.inspectValueMember(qual, name)
		}
		return "", false
	}
	s.defMu.Lock()
	defer s.defMu.Unlock()
	if f, ok := s.funcs[name]; ok {
		return withDoc(f.header, f.doc, fmt.Sprintf("defined in cell [%d]", f.cell)), true
	}
	if t, ok := s.types[name]; ok {
		return withDoc(t.text, t.doc, fmt.Sprintf("defined in cell [%d]", t.cell)), true
	}
	if v, ok := s.values[name]; ok {
		desc := v.kind + " " + name
		if rv, err := s.evalIdle(name); err == nil && rv.IsValid() {
			desc += " " + rv.Type().String()
			if rv.CanInterface() {
				val := fmt.Sprintf("%v", rv.Interface())
				if len(val) > 200 {
					val = val[:200] + "…"
				}
				desc += " = " + val
			}
		}
		return withDoc(desc, "", fmt.Sprintf("defined in cell [%d]", v.cell)), true
	}
	if p, ok := s.imports[name]; ok {
		return withDoc("package "+name+" // import \""+p+"\"", packageDoc(p), ""), true
	}
	if name == "ctx" {
		return "var ctx context.Context\n\nThe context of the running cell: cancelled when the cell is interrupted, and carrying a progress reporter that draws a bar for engine and steerlib loops.", true
	}
	if d, ok := builtinDoc[name]; ok {
		return d, true
	}
	return "", false
}

var builtinDoc = map[string]string{
	"len":     "func len(v Type) int\n\nThe length of a string, slice, array, map or channel.",
	"cap":     "func cap(v Type) int\n\nThe capacity of a slice, array or channel.",
	"append":  "func append(slice []Type, elems ...Type) []Type",
	"make":    "func make(t Type, size ...IntegerType) Type",
	"new":     "func new(Type) *Type",
	"min":     "func min[T cmp.Ordered](x T, y ...T) T\n\nThe smallest argument (rewritten for yaegi by the cell front-end).",
	"max":     "func max[T cmp.Ordered](x T, y ...T) T\n\nThe largest argument (rewritten for yaegi by the cell front-end).",
	"clear":   "func clear[T ~[]Type | ~map[Type]Type1](t T)\n\nDeletes all map entries or zeroes all slice elements.",
	"copy":    "func copy(dst, src []Type) int",
	"delete":  "func delete(m map[Type]Type1, key Type)",
	"panic":   "func panic(v any)",
	"recover": "func recover() any",
	"print":   "func print(args ...Type)",
	"println": "func println(args ...Type)",
	"close":   "func close(c chan<- Type)",
}

func withDoc(sig, docText, where string) string {
	out := sig
	if docText != "" {
		out += "\n\n" + docText
	}
	if where != "" {
		out += "\n\n(" + where + ")"
	}
	return out
}

func (s *Session) inspectMethod(name string) (string, bool) {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	var parts []string
	for _, m := range s.methods {
		if m.name == name {
			parts = append(parts, withDoc(m.header, m.doc, fmt.Sprintf("defined in cell [%d]", m.cell)))
		}
	}
	if len(parts) == 0 {
		return "", false
	}
	return strings.Join(parts, "\n\n"), true
}

// inspectValueMember describes a method or field of a compiled type, given
// a value of a cell: the reflected signature, and the method's doc from the
// type's package sources when they are on this machine.
func (s *Session) inspectValueMember(qual, name string) (string, bool) {
	v, err := s.evalIdle(qual)
	if err != nil || !v.IsValid() {
		return "", false
	}
	t := v.Type()
	m, ok := t.MethodByName(name)
	if !ok && t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		m, ok = reflect.PointerTo(t).MethodByName(name)
	}
	named := t
	if named.Kind() == reflect.Pointer {
		named = named.Elem()
	}
	if ok {
		sig := fmt.Sprintf("func (%s) %s%s", t.String(), name, strings.TrimPrefix(m.Type.String(), "func"))
		if t.Kind() != reflect.Interface {
			// Drop the receiver from the reflected parameter list.
			ft := m.Type
			var in []string
			for i := 1; i < ft.NumIn(); i++ {
				in = append(in, ft.In(i).String())
			}
			var out []string
			for i := 0; i < ft.NumOut(); i++ {
				out = append(out, ft.Out(i).String())
			}
			res := strings.Join(out, ", ")
			if len(out) > 1 {
				res = "(" + res + ")"
			}
			sig = strings.TrimSpace(fmt.Sprintf("func (%s) %s(%s) %s", t.String(), name, strings.Join(in, ", "), res))
		}
		d := methodDoc(named.PkgPath(), named.Name(), name)
		if d.sig != "" {
			sig = d.sig
		}
		return withDoc(sig, d.doc, ""), true
	}
	if named.Kind() == reflect.Struct {
		if f, ok := named.FieldByName(name); ok {
			return fmt.Sprintf("field %s %s", name, f.Type.String()), true
		}
	}
	return "", false
}

// methodDoc finds a method's declaration in its package's go/doc.
func methodDoc(pkgPath, typeName, method string) memberInfo {
	if pkgPath == "" || typeName == "" {
		return memberInfo{}
	}
	d := loadDoc(pkgPath)
	if d == nil {
		return memberInfo{}
	}
	for _, t := range d.Types {
		if t.Name != typeName {
			continue
		}
		for _, m := range t.Methods {
			if m.Name == method {
				sig := "func (" + m.Recv + ") " + m.Name + exprText(m.Decl.Type.Params, true)
				if r := m.Decl.Type.Results; r != nil {
					sig += " " + exprText(r, len(r.List) > 1 || len(r.List[0].Names) > 0)
				}
				return memberInfo{sig, strings.TrimSpace(m.Doc)}
			}
		}
	}
	return memberInfo{}
}

func (s *Session) inspectMember(pkgPath, name string) (string, bool) {
	if pkgPath == "display" {
		pkgPath = displayPath // the shorthand import
	}
	pkg := s.pkgNames[pkgPath]
	sym, ok := s.exports[pkgPath+"/"+pkg][name]
	sig := ""
	if ok {
		sig = reflectSignature(pkg, name, sym)
	}
	d := memberDoc(pkgPath, name)
	if d.sig != "" {
		sig = d.sig
	}
	if sig == "" {
		return "", false
	}
	return withDoc(sig, d.doc, ""), true
}

// reflectSignature describes a symbol-table entry when no source is at hand.
func reflectSignature(pkg, name string, v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	t := v.Type()
	switch {
	case t.Kind() == reflect.Func:
		return "func " + pkg + "." + name + strings.TrimPrefix(t.String(), "func")
	case t.Kind() == reflect.Pointer && v.IsNil():
		// Types are exported as (*T)(nil).
		return "type " + pkg + "." + name + " " + t.Elem().Kind().String()
	case v.CanAddr():
		return "var " + pkg + "." + name + " " + t.String()
	default:
		return "const " + pkg + "." + name + " " + t.String() + " = " + fmt.Sprint(v.Interface())
	}
}

type memberInfo struct{ sig, doc string }

var (
	docMu    sync.Mutex
	docCache = map[string]*doc.Package{}
)

// packageSource finds the source directory of an import path: GOROOT for
// the standard library, the module cache for dependencies (at the version
// this binary was built with), the repository for the project's packages.
func packageSource(importPath string) string {
	if !strings.Contains(strings.SplitN(importPath, "/", 2)[0], ".") {
		return filepath.Join(runtime.GOROOT(), "src", importPath)
	}
	if strings.HasPrefix(importPath, modulePath+"/") {
		if _, file, _, ok := runtime.Caller(0); ok {
			root := filepath.Dir(filepath.Dir(filepath.Dir(file))) // kernel/cell/inspect.go
			return filepath.Join(root, strings.TrimPrefix(importPath, modulePath+"/"))
		}
		return ""
	}
	modcache := os.Getenv("GOMODCACHE")
	if modcache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, _ := os.UserHomeDir()
			gopath = filepath.Join(home, "go")
		}
		modcache = filepath.Join(gopath, "pkg", "mod")
	}
	for mod, version := range moduleVersions() {
		if importPath == mod || strings.HasPrefix(importPath, mod+"/") {
			return filepath.Join(modcache, escapeModPath(mod)+"@"+version, strings.TrimPrefix(importPath, mod))
		}
	}
	return ""
}

// moduleVersions lists the modules this binary was built with: from the
// build info, or (test binaries carry none) from the repository's go.mod.
func moduleVersions() map[string]string {
	out := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			out[d.Path] = d.Version
		}
	}
	if len(out) > 0 {
		return out
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return out
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(file))), "go.mod"))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "require "))
		if len(f) >= 2 && strings.Contains(f[0], ".") && strings.HasPrefix(f[1], "v") {
			out[f[0]] = f[1]
		}
	}
	return out
}

const modulePath = "github.com/steerbook/steerbook"

// escapeModPath applies the module cache's case encoding (!x for X).
func escapeModPath(p string) string {
	var sb strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			sb.WriteByte('!')
			sb.WriteRune(r + 'a' - 'A')
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func loadDoc(importPath string) *doc.Package {
	docMu.Lock()
	defer docMu.Unlock()
	if d, ok := docCache[importPath]; ok {
		return d
	}
	docCache[importPath] = nil
	dir := packageSource(importPath)
	if dir == "" {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	fset := token.NewFileSet()
	var files []*ast.File
	for _, e := range entries {
		n := e.Name()
		if !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.ParseComments)
		if err != nil {
			continue
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil
	}
	d, err := doc.NewFromFiles(fset, files, importPath)
	if err != nil {
		return nil
	}
	d.Filter(ast.IsExported)
	docCache[importPath] = d
	return d
}

func packageDoc(importPath string) string {
	if d := loadDoc(importPath); d != nil {
		return strings.TrimSpace(d.Doc)
	}
	return ""
}

func memberDoc(importPath, name string) memberInfo {
	d := loadDoc(importPath)
	if d == nil {
		return memberInfo{}
	}
	pkg := d.Name
	funcSig := func(f *doc.Func) string {
		var sb strings.Builder
		sb.WriteString("func ")
		if f.Recv != "" {
			sb.WriteString("(" + f.Recv + ") ")
		} else {
			sb.WriteString(pkg + ".")
		}
		sb.WriteString(f.Name)
		sb.WriteString(exprText(f.Decl.Type.Params, true))
		if r := f.Decl.Type.Results; r != nil {
			sb.WriteString(" " + exprText(r, len(r.List) > 1 || len(r.List[0].Names) > 0))
		}
		return sb.String()
	}
	for _, f := range d.Funcs {
		if f.Name == name {
			return memberInfo{funcSig(f), strings.TrimSpace(f.Doc)}
		}
	}
	for _, t := range d.Types {
		if t.Name == name {
			sig := "type " + pkg + "." + name
			if len(t.Decl.Specs) > 0 {
				if ts, ok := t.Decl.Specs[0].(*ast.TypeSpec); ok {
					sig += " " + shortType(ts.Type)
				}
			}
			var methods []string
			for _, m := range t.Methods {
				methods = append(methods, "  "+funcSig(m))
			}
			text := strings.TrimSpace(t.Doc)
			if len(methods) > 0 {
				text += "\n\nMethods:\n" + strings.Join(methods, "\n")
			}
			return memberInfo{sig, text}
		}
		for _, f := range t.Funcs {
			if f.Name == name {
				return memberInfo{funcSig(f), strings.TrimSpace(f.Doc)}
			}
		}
	}
	for _, group := range [][]*doc.Value{d.Vars, d.Consts} {
		for _, v := range group {
			for _, n := range v.Names {
				if n == name {
					kw := "var"
					if v.Decl.Tok == token.CONST {
						kw = "const"
					}
					return memberInfo{kw + " " + pkg + "." + name, strings.TrimSpace(v.Doc)}
				}
			}
		}
	}
	return memberInfo{}
}

func shortType(e ast.Expr) string {
	switch e.(type) {
	case *ast.StructType:
		return "struct{...}"
	case *ast.InterfaceType:
		return "interface{...}"
	}
	return typeString(e)
}

// exprText prints a field list as Go source: "(a, b int, c string)".
func exprText(fl *ast.FieldList, parens bool) string {
	var parts []string
	for _, f := range fl.List {
		t := typeString(f.Type)
		if len(f.Names) == 0 {
			parts = append(parts, t)
			continue
		}
		var names []string
		for _, n := range f.Names {
			names = append(names, n.Name)
		}
		parts = append(parts, strings.Join(names, ", ")+" "+t)
	}
	s := strings.Join(parts, ", ")
	if parens {
		return "(" + s + ")"
	}
	return s
}

func typeString(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.StarExpr:
		return "*" + typeString(x.X)
	case *ast.SelectorExpr:
		return typeString(x.X) + "." + x.Sel.Name
	case *ast.ArrayType:
		if x.Len == nil {
			return "[]" + typeString(x.Elt)
		}
		return "[" + typeString(x.Len) + "]" + typeString(x.Elt)
	case *ast.BasicLit:
		return x.Value
	case *ast.Ellipsis:
		return "..." + typeString(x.Elt)
	case *ast.MapType:
		return "map[" + typeString(x.Key) + "]" + typeString(x.Value)
	case *ast.ChanType:
		switch x.Dir {
		case ast.SEND:
			return "chan<- " + typeString(x.Value)
		case ast.RECV:
			return "<-chan " + typeString(x.Value)
		}
		return "chan " + typeString(x.Value)
	case *ast.FuncType:
		s := "func" + exprText(x.Params, true)
		if x.Results != nil {
			s += " " + exprText(x.Results, len(x.Results.List) > 1 || len(x.Results.List[0].Names) > 0)
		}
		return s
	case *ast.InterfaceType:
		if x.Methods == nil || len(x.Methods.List) == 0 {
			return "interface{}"
		}
		return "interface{...}"
	case *ast.StructType:
		return "struct{...}"
	case *ast.IndexExpr:
		return typeString(x.X) + "[" + typeString(x.Index) + "]"
	case *ast.IndexListExpr:
		var ps []string
		for _, i := range x.Indices {
			ps = append(ps, typeString(i))
		}
		return typeString(x.X) + "[" + strings.Join(ps, ", ") + "]"
	case *ast.ParenExpr:
		return "(" + typeString(x.X) + ")"
	case *ast.UnaryExpr:
		return x.Op.String() + typeString(x.X)
	case *ast.BinaryExpr:
		return typeString(x.X) + " " + x.Op.String() + " " + typeString(x.Y)
	}
	return "?"
}
