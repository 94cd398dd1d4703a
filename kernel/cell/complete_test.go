package cell

import (
	"slices"
	"strings"
	"testing"
)

func TestIsComplete(t *testing.T) {
	for _, c := range []struct{ src, status, indent string }{
		{"x := 1", "complete", ""},
		{"import \"fmt\"\nfmt.Println(1)", "complete", ""},
		{"func f() {", "incomplete", "    "},
		{"for i := 0; i < 3; i++ {\n\tif i > 1 {", "incomplete", "        "},
		{"x := []int{\n1,", "incomplete", "    "},
		{"s := `raw\nstring", "incomplete", ""},
		{"x := 1 +", "incomplete", ""},
		{"x := )", "invalid", ""},
		{"func f() { return 1 }}", "invalid", ""},
		{"", "complete", ""},
	} {
		st, ind := IsComplete(c.src)
		if st != c.status || ind != c.indent {
			t.Errorf("IsComplete(%q) = %q, %q; want %q, %q", c.src, st, ind, c.status, c.indent)
		}
	}
}

func TestComplete(t *testing.T) {
	s, _, _ := newTestSession(t)
	mustRun(t, s, "import \"strings\"\nimport \"gonum.org/v1/gonum/mat\"\nfunc helperFunc() int { return 1 }\nhelperValue := 3\ntype Thing struct{ Field int }\nfunc (t Thing) Method() int { return t.Field }\nthing := Thing{1}", 1)

	check := func(src string, cursor int, want []string, wantStart int) {
		t.Helper()
		m, start, end := s.Complete(src, cursor)
		for _, w := range want {
			if !slices.Contains(m, w) {
				t.Errorf("Complete(%q, %d): %q missing from %v", src, cursor, w, m)
			}
		}
		if start != wantStart || end != cursor {
			t.Errorf("Complete(%q, %d): range [%d,%d), want [%d,%d)", src, cursor, start, end, wantStart, cursor)
		}
	}
	check("strings.ToUp", 12, []string{"ToUpper", "ToUpperSpecial"}, 8)
	check("helper", 6, []string{"helperFunc", "helperValue"}, 0)
	check("fo", 2, []string{"for"}, 0)
	check("x := mat.NewD", 13, []string{"NewDense", "NewDiagDense"}, 9)
	check("thing.Me", 8, []string{"Method"}, 6)
	check("thing.Fi", 8, []string{"Field"}, 6)
	mustRun(t, s, "func NewThing() *Thing { return &Thing{2} }\nmade := NewThing()", 2)
	check("made.Me", 7, []string{"Method"}, 5)
	// Cursor in code points: "é" is two bytes, one code point.
	check("s := \"é\"; strings.Spl", 21, []string{"Split", "SplitN"}, 18)
	// Names from the cell being typed.
	check("myLocalName := 1\nmyLo", 21, []string{"myLocalName"}, 17)
	// Packages not imported yet complete by short name.
	check("strconv.Ato", 11, []string{"Atoi"}, 8)
	if m, _, _ := s.Complete("strings.", 8); len(m) < 20 {
		t.Errorf("strings. gives only %d members", len(m))
	}
	for _, m := range func() []string { m, _, _ := s.Complete("__", 2); return m }() {
		if strings.HasPrefix(m, "__sb") {
			t.Errorf("internal name %q offered", m)
		}
	}
}

func TestInspect(t *testing.T) {
	s, _, _ := newTestSession(t)
	mustRun(t, s, "import \"strings\"\nimport \"gonum.org/v1/gonum/mat\"\n// Double returns twice x.\nfunc Double(x int) int { return 2 * x }\nv := Double(21)\nm := mat.NewDense(1, 1, nil)\nvar sb strings.Builder", 1)
	for _, c := range []struct {
		src    string
		cursor int
		want   []string
	}{
		{"Double(3)", 2, []string{"func Double(x int) int", "Double returns twice x.", "cell [1]"}},
		{"strings.ToUpper", 12, []string{"func strings.ToUpper(s string) string", "upper case"}},
		{"mat.NewDense", 10, []string{"func mat.NewDense(r, c int, data []float64) *Dense", "NewDense creates"}},
		{"v", 1, []string{"var v int = 42"}},
		{"ctx", 2, []string{"context.Context", "interrupted"}},
		{"len(x)", 1, []string{"func len"}},
		{"display.Plot(p)", 10, []string{"func display.Plot(p *plot.Plot)", "gonum plot"}},
		{"m.Dims()", 4, []string{"func (*Dense) Dims() (r, c int)", "Dims returns"}},
		{"sb.WriteString", 6, []string{"WriteString(s string) (int, error)", "appends the contents"}},
	} {
		doc, ok := s.Inspect(c.src, c.cursor)
		if !ok {
			t.Errorf("Inspect(%q): not found", c.src)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(doc, w) {
				t.Errorf("Inspect(%q) = %q; missing %q", c.src, doc, w)
			}
		}
	}
	if _, ok := s.Inspect("nothingHere", 3); ok {
		t.Error("Inspect of an unknown name succeeded")
	}
}
