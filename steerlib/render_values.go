package steerlib

import (
	"fmt"
	"html"
	"strings"
)

// MIMEBundle summarises what was captured: sites, layers, rows and norms.
func (a *Activations) MIMEBundle() map[string]any {
	var h strings.Builder
	fmt.Fprintf(&h, "<b>Activations of %s</b>: %d positive / %d negative examples, read %s, streams %s, paired=%v, sums only=%v<table><tr><th>site</th><th>layer</th><th>rows</th><th>mean norm</th></tr>",
		html.EscapeString(a.Dataset), a.NumPos, a.NumNeg, a.positionRule(), a.Opt.Streams, a.Paired, a.Opt.SumsOnly)
	for _, k := range a.order {
		ac := a.acc[k]
		fmt.Fprintf(&h, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%.4g</td></tr>", k.Site, k.Layer, ac.n[0]+ac.n[1], ac.norms.mean)
	}
	h.WriteString("</table>")
	plain := fmt.Sprintf("Activations %q: %d site×layer pairs, %d+%d examples, read %s", a.Dataset, len(a.order), a.NumPos, a.NumNeg, a.positionRule())
	return map[string]any{"text/plain": plain, "text/html": h.String()}
}

// String describes one steer.
func (st Steer) String() string {
	name := "?"
	if st.Vector != nil {
		name = st.Vector.Name
	}
	what := string(st.Op)
	switch st.Op {
	case OpAdd, OpAddNorm, OpClamp:
		u := "raw"
		if st.Strength.Relative {
			u = "× mean norm"
		}
		what += fmt.Sprintf(" %g %s", st.Strength.Value, u)
	case OpScaleProj:
		what += fmt.Sprintf(" ×%g", st.Factor)
	}
	var sel []string
	switch st.Phase {
	case Prompt:
		sel = append(sel, "prompt only")
	case Generated:
		sel = append(sel, "generated only")
	}
	if st.LastK > 0 {
		sel = append(sel, fmt.Sprintf("last %d prompt tokens", st.LastK))
	}
	if len(st.At) > 0 {
		sel = append(sel, fmt.Sprintf("positions %v", st.At))
	}
	if st.Decay != nil {
		sel = append(sel, "decaying")
	}
	if st.Streams != nil {
		sel = append(sel, fmt.Sprintf("streams %v", st.Streams))
	}
	if st.Tokens != nil {
		sel = append(sel, fmt.Sprintf("tokens %v", st.Tokens))
	}
	var gates []string
	for _, c := range st.gates() {
		cmp := c.Comparator
		if cmp == "" {
			cmp = Greater
		}
		name := "?"
		if c.Vector != nil {
			name = c.Vector.Name
		}
		gates = append(gates, fmt.Sprintf("cos(%s@%d) %s %g", name, c.Layer, cmp, c.Threshold))
	}
	if len(gates) > 0 {
		join := " and "
		if st.Rule == "any" {
			join = " or "
		}
		sel = append(sel, "if "+strings.Join(gates, join))
	}
	site := "?"
	layers := []int(nil)
	if st.Vector != nil {
		site, layers = string(st.site()), st.layers()
	}
	s := fmt.Sprintf("%s %s at %s layers %v", what, name, site, layers)
	if len(sel) > 0 {
		s += " (" + strings.Join(sel, ", ") + ")"
	}
	return s
}

// MIMEBundle lists the steers in application order.
func (s *Steering) MIMEBundle() map[string]any {
	var h, p strings.Builder
	h.WriteString("<b>Steering</b><ol>")
	for _, st := range s.Steers {
		fmt.Fprintf(&h, "<li>%s</li>", html.EscapeString(st.String()))
		fmt.Fprintf(&p, "%s\n", st.String())
	}
	h.WriteString("</ol>")
	return map[string]any{"text/plain": p.String(), "text/html": h.String()}
}
