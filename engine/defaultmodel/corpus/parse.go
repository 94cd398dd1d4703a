package corpus

import (
	"math"
)

// The recogniser is an inside-algorithm chart parser over the grammar. The
// grammar has no recursion, so a memoised top-down evaluation of
// inside(symbol, start) = {end: log Σ P(derivations of tokens[start:end])}
// terminates and is exact: ambiguous texts get the sum over all their
// derivations.

type edge struct {
	end int
	lp  float64
}

type chart struct {
	g    *Grammar
	toks []textToken
	ids  []int // terminal id per token, -1 if none
	memo map[int64][]edge
}

func (g *Grammar) newChart(toks []textToken) *chart {
	c := &chart{g: g, toks: toks, ids: make([]int, len(toks)), memo: make(map[int64][]edge)}
	for i, t := range toks {
		c.ids[i] = -1
		if t.norm == "" {
			continue
		}
		if id, ok := g.termIndex[t.norm]; ok {
			c.ids[i] = id
		}
	}
	return c
}

// matchTerm reports whether terminal id matches token i.
func (c *chart) matchTerm(id, i int) bool {
	if i >= len(c.toks) {
		return false
	}
	if id == c.g.aAn {
		w := c.toks[i].norm
		if w != "a" && w != "an" {
			return false
		}
		next := ""
		if i+1 < len(c.toks) {
			next = c.toks[i+1].norm
		}
		return (w == "an") == startsWithVowel(next)
	}
	return c.ids[i] == id
}

// inside returns the spans derivable from s starting at token i.
func (c *chart) inside(s sym, i int) []edge {
	key := int64(s)*int64(len(c.toks)+1) + int64(i)
	if e, ok := c.memo[key]; ok {
		return e
	}
	nt := &c.g.nts[s.ntIndex()]
	var out []edge
	if nt.lex != nil {
		if i < len(c.ids) && c.ids[i] >= 0 {
			if lp, ok := nt.lex[c.ids[i]]; ok {
				out = []edge{{i + 1, lp}}
			}
		}
		c.memo[key] = out
		return out
	}
	for _, p := range nt.prods {
		cur := []edge{{i, p.lp}}
		for _, x := range p.rhs {
			var next []edge
			for _, e := range cur {
				if x.isTerm() {
					if c.matchTerm(x.termID(), e.end) {
						next = addEdge(next, e.end+1, e.lp)
					}
					continue
				}
				for _, f := range c.inside(x, e.end) {
					next = addEdge(next, f.end, e.lp+f.lp)
				}
			}
			cur = next
			if len(cur) == 0 {
				break
			}
		}
		for _, e := range cur {
			out = addEdge(out, e.end, e.lp)
		}
	}
	c.memo[key] = out
	return out
}

func addEdge(es []edge, end int, lp float64) []edge {
	for k := range es {
		if es[k].end == end {
			es[k].lp = logAdd(es[k].lp, lp)
			return es
		}
	}
	return append(es, edge{end, lp})
}

// full returns log P(tokens[i:] derived by s), -Inf if none.
func (c *chart) span(s sym, i, j int) float64 {
	for _, e := range c.inside(s, i) {
		if e.end == j {
			return e.lp
		}
	}
	return math.Inf(-1)
}

// LogProbOf returns the log-probability that the nonterminal named sym
// derives exactly text (summing over derivations), and false if sym does not
// exist. It is -Inf when text is not derivable.
func (g *Grammar) LogProbOf(symbol, text string) (float64, bool) {
	s, ok := g.symbol(symbol)
	if !ok {
		return 0, false
	}
	toks := tokenize(text)
	c := g.newChart(toks)
	return c.span(s, 0, len(toks)), true
}

// LogProb returns the exact natural-log probability of text under the
// generator's distribution (its mix of kinds): log Σ over document cases and
// derivations. It is -Inf for text the generator cannot produce.
func (gen *Generator) LogProb(text string) float64 {
	toks := tokenize(text)
	c := gen.g.newChart(toks)
	lp := math.Inf(-1)
	for _, k := range gen.cases {
		lp = logAdd(lp, k.lp+c.span(k.start, 0, len(toks)))
	}
	return lp
}

// CasePosterior returns, for text, the posterior probability of each
// document case (start symbol name → probability); empty if the text is not
// derivable.
func (gen *Generator) CasePosterior(text string) map[string]float64 {
	toks := tokenize(text)
	c := gen.g.newChart(toks)
	lps := make([]float64, len(gen.cases))
	tot := math.Inf(-1)
	for i, k := range gen.cases {
		lps[i] = k.lp + c.span(k.start, 0, len(toks))
		tot = logAdd(tot, lps[i])
	}
	out := map[string]float64{}
	if math.IsInf(tot, -1) {
		return out
	}
	for i, k := range gen.cases {
		if !math.IsInf(lps[i], -1) {
			out[k.name] = math.Exp(lps[i] - tot)
		}
	}
	return out
}
