package cell

import (
	"context"
	"fmt"
	"reflect"
	"strings"
)

// yaegi types a top-level `x := e` while it scans the chunk's globals, and
// it fails ("constant definition loop") when e indexes a global whose value
// came from a compiled function: `fs := strings.Fields(s)` in one statement,
// `first := fs[0]` in the next. Inside a function the same code compiles. So
// when a statements chunk fails that way, its items run one by one, and an
// item that still fails is run in three steps: its right side is evaluated
// once into the session (__sb.Keep), the names are declared with the types
// of the values (reflect knows them for compiled types), and assigned.

func (s *Session) runPieces(ctx context.Context, ch *chunk, c *parsedCell, n int) error {
	for _, pc := range ch.pieces {
		b := newChunk(c.src)
		b.put(pc.start, pc.end, pc.text)
		one := &chunk{text: b.String(), stmt: true, what: ch.what}
		prog, err := s.compile(one, n)
		if err == nil {
			if err := s.execute(ctx, prog, c, n); err != nil {
				return err
			}
			continue
		}
		if strings.Contains(err.Error(), "definition loop") && pc.rhs != "" {
			if terr := s.typedDefine(ctx, c, pc, n); terr == nil {
				continue
			} else if _, isCell := terr.(*Error); isCell {
				return terr
			}
		}
		return s.translate(err, nil, c, n)
	}
	return nil
}

func (s *Session) typedDefine(ctx context.Context, c *parsedCell, pc piece, n int) error {
	keep := newChunk(c.src)
	keep.put(pc.start, pc.end, "__sb.Keep("+pc.rhs+")")
	prog, err := s.compile(&chunk{text: keep.String(), stmt: true, what: "typed definition"}, n)
	if err != nil {
		return err
	}
	if err := s.execute(ctx, prog, c, n); err != nil {
		return err
	}
	s.capMu.Lock()
	kept := s.kept
	s.kept = nil
	s.capMu.Unlock()
	if len(kept) != len(pc.lhs) {
		return fmt.Errorf("typed definition: %d values for %d names", len(kept), len(pc.lhs))
	}
	var decls, assigns []string
	imports := map[string]string{}
	for i, name := range pc.lhs {
		if name == "_" {
			continue
		}
		v := kept[i]
		var typ string
		switch {
		case v == nil && name == "err":
			typ = "error"
		case v == nil:
			return fmt.Errorf("typed definition: %s is nil", name)
		default:
			if _, wrapped := unwrapInterp(v); wrapped {
				return fmt.Errorf("typed definition: %s has a cell-defined type", name)
			}
			t, ok := s.typeText(reflect.TypeOf(v), imports)
			if !ok {
				return fmt.Errorf("typed definition: cannot name the type %s", reflect.TypeOf(v))
			}
			typ = t
			assigns = append(assigns, fmt.Sprintf("%s = __sb.Kept(%d).(%s)", name, i, typ))
		}
		decls = append(decls, fmt.Sprintf("var %s %s", name, typ))
	}
	var text []string
	for name, path := range imports {
		text = append(text, fmt.Sprintf("import %s %q", name, path))
	}
	text = append(text, decls...)
	declB := newChunk(c.src)
	declB.put(pc.start, pc.end, strings.Join(text, "; "))
	if err := s.run(ctx, &chunk{text: declB.String(), what: "typed definition"}, c, n); err != nil {
		return err
	}
	s.defMu.Lock()
	for name, path := range imports {
		s.imports[name] = path
	}
	s.defMu.Unlock()
	if len(assigns) > 0 {
		asB := newChunk(c.src)
		asB.put(pc.start, pc.end, strings.Join(assigns, "; "))
		if err := s.run(ctx, &chunk{text: asB.String(), stmt: true, what: "typed definition"}, c, n); err != nil {
			return err
		}
	}
	s.capMu.Lock()
	s.keptAll = nil
	s.capMu.Unlock()
	return nil
}

// typeText spells a reflected compiled type in cell syntax, adding to
// imports the packages it needs that the cells have not imported (under
// their own names). It fails for types it cannot name: unnamed structs,
// types of packages whose name a cell uses for something else.
func (s *Session) typeText(t reflect.Type, imports map[string]string) (string, bool) {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name(), true // predeclared
		}
		name, ok := s.pkgNames[t.PkgPath()]
		if !ok {
			return "", false
		}
		s.defMu.Lock()
		bound, isImport := s.imports[name]
		_, isValue := s.values[name]
		s.defMu.Unlock()
		switch {
		case isImport && bound == t.PkgPath():
		case isImport || isValue:
			return "", false
		default:
			imports[name] = t.PkgPath()
		}
		return name + "." + t.Name(), true
	}
	switch t.Kind() {
	case reflect.Pointer:
		e, ok := s.typeText(t.Elem(), imports)
		return "*" + e, ok
	case reflect.Slice:
		e, ok := s.typeText(t.Elem(), imports)
		return "[]" + e, ok
	case reflect.Array:
		e, ok := s.typeText(t.Elem(), imports)
		return fmt.Sprintf("[%d]%s", t.Len(), e), ok
	case reflect.Map:
		k, ok1 := s.typeText(t.Key(), imports)
		v, ok2 := s.typeText(t.Elem(), imports)
		return "map[" + k + "]" + v, ok1 && ok2
	case reflect.Chan:
		e, ok := s.typeText(t.Elem(), imports)
		switch t.ChanDir() {
		case reflect.RecvDir:
			return "<-chan " + e, ok
		case reflect.SendDir:
			return "chan<- " + e, ok
		}
		return "chan " + e, ok
	case reflect.Interface:
		if t.NumMethod() == 0 {
			return "any", true
		}
	case reflect.Func:
		var in, out []string
		for i := 0; i < t.NumIn(); i++ {
			x, ok := s.typeText(t.In(i), imports)
			if !ok {
				return "", false
			}
			if t.IsVariadic() && i == t.NumIn()-1 {
				x = "..." + strings.TrimPrefix(x, "[]")
			}
			in = append(in, x)
		}
		for i := 0; i < t.NumOut(); i++ {
			x, ok := s.typeText(t.Out(i), imports)
			if !ok {
				return "", false
			}
			out = append(out, x)
		}
		res := strings.Join(out, ", ")
		if len(out) > 1 {
			res = "(" + res + ")"
		}
		return strings.TrimSpace("func(" + strings.Join(in, ", ") + ") " + res), true
	}
	return "", false
}
