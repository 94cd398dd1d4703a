package steerlib

import (
	"math"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

func TestVectorArithmetic(t *testing.T) {
	a := NewVector("a", engine.SiteBlockOut, 2, []float64{3, 4, 0})
	b := NewVector("b", engine.SiteBlockOut, 2, []float64{1, 0, 0})
	b.Dirs[3] = []float64{0, 0, 2}
	s := a.Add(b)
	if got := s.Dir(2); got[0] != 4 || got[1] != 4 || got[2] != 0 {
		t.Errorf("Add layer 2 = %v", got)
	}
	if got := s.Dir(3); got[2] != 2 {
		t.Errorf("Add missing layer = %v", got)
	}
	if got := a.Sub(b).Dir(2); got[0] != 2 {
		t.Errorf("Sub = %v", got)
	}
	if a.Dir(2)[0] != 3 {
		t.Error("Add modified its receiver")
	}
	if n := a.Normalize().Norm(2); math.Abs(n-1) > 1e-15 {
		t.Errorf("Normalize norm %v", n)
	}
	if n := a.Scale(2).Norm(2); n != 10 {
		t.Errorf("Scale norm %v", n)
	}
	if c := a.Cosine(b); math.Abs(c-0.6) > 1e-15 {
		t.Errorf("Cosine %v want 0.6", c)
	}
	if o := a.Orthogonalize(b); math.Abs(dot(o.Dir(2), b.Dir(2))) > 1e-15 || o.Dir(2)[1] != 4 {
		t.Errorf("Orthogonalize = %v", o.Dir(2))
	}
	if a.Hash() == a.Scale(2).Hash() || a.Hash() != a.At(2).Hash() {
		t.Error("hash does not follow the data")
	}
	if len(a.Add(b).Prov.Ops) != 1 {
		t.Error("ops not recorded")
	}
	if _, ok := a.MIMEBundle()["text/html"]; !ok {
		t.Error("no html")
	}
}

func TestSteerString(t *testing.T) {
	v := NewVector("sent", engine.SiteBlockOut, 2, []float64{1, 0})
	st := Add(v, Rel(0.5))
	st.Phase, st.LastK, st.Tokens = Prompt, 3, []int{7}
	st.Condition = &Condition{Vector: NewVector("topic", engine.SiteAttnIn, 1, []float64{0, 1}), Layer: 1, Threshold: 0.2}
	st.Conditions = []*Condition{{Vector: v, Layer: 1, Threshold: 0.1, Comparator: Less}}
	st.Rule = "any"
	want := "add 0.5 × mean norm sent at block_out layers [2] (prompt only, last 3 prompt tokens, tokens [7], if cos(topic@1) > 0.2 or cos(sent@1) < 0.1)"
	if got := st.String(); got != want {
		t.Errorf("String() =\n%s\nwant\n%s", got, want)
	}
}
