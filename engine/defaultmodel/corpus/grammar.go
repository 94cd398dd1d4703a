package corpus

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The corpus is described by a small probabilistic context-free grammar
// (PCFG) written in a tiny text DSL (see grammarSource in lexicon.go). The
// grammar is finite (no recursion), so every document is a finite derivation.
// The same compiled grammar drives three things, which is why it is a data
// structure rather than hand-written generator code:
//
//   - sampling (generate.go): each nonterminal picks one production;
//   - exact probabilities and recognition (parse.go): an inside-algorithm
//     chart parser sums over every derivation of a token string;
//   - labels (classify.go): placeholder bindings ({s} sentiment, {t} topic,
//     {r} register) of the instantiated nonterminals are the attributes.
//
// DSL syntax, one rule per line (a line starting with "|" continues the
// previous rule):
//
//	NAME -> alt | alt | ...        alternatives; "[w] alt" gives weight w (default 1)
//	$NAME                          a nonterminal reference inside an alternative
//	~                              the empty alternative
//	{s} {o} {t} {r} {q} {g} {h} {p} placeholders: sentiment, opposite sentiment,
//	                               topic, register, opposite register, aspect
//	                               group, other group, place noun {p}
//	@tag NAME key=value ...        labels carried by the words NAME derives
//	@sentence NAME                 NAME derives exactly one sentence
//
// Placeholders in a rule's name instantiate one rule per value combination.
// A placeholder that appears in an alternative but not in the rule's name is
// enumerated inside the alternative: the alternative is split into one copy
// per value, sharing its weight equally.

// placeholder domains. {o} and {h} are derived from {s} and {g}.
var domains = map[string][]string{
	"s": {"positive", "negative"},
	"t": {"restaurant", "hotel", "film", "gadget"},
	"r": {"formal", "casual"},
	"g": {"1", "2"},
	"p": {"1", "2", "3", "4"},
}

var derived = map[string]struct {
	base string
	f    func(string) string
}{
	"o": {"s", func(v string) string {
		if v == "positive" {
			return "negative"
		}
		return "positive"
	}},
	"h": {"g", func(v string) string {
		if v == "1" {
			return "2"
		}
		return "1"
	}},
	"q": {"r", func(v string) string {
		if v == "formal" {
			return "casual"
		}
		return "formal"
	}},
}

// Tags are the attribute values a word expresses, as recorded in Spans.
// Empty fields mean the word expresses nothing for that attribute.
type Tags struct {
	Sentiment string `json:"sentiment,omitempty"`
	Topic     string `json:"topic,omitempty"`
	Register  string `json:"register,omitempty"`
	// Role marks chat-specific functions: "secret" (the secret being
	// requested), "refusal", "answer" (an MC answer letter), "negated"
	// (an adjective whose polarity is flipped by "not ... at all").
	Role string `json:"role,omitempty"`
}

func (t Tags) empty() bool { return t == Tags{} }

// over returns t with the non-empty fields of outer taking precedence: a
// context (e.g. "not ... at all") decides what the words inside express.
// The value "-" clears a field.
func (t Tags) over(outer Tags) Tags {
	set := func(dst *string, v string) {
		switch v {
		case "":
		case "-":
			*dst = ""
		default:
			*dst = v
		}
	}
	set(&t.Sentiment, outer.Sentiment)
	set(&t.Topic, outer.Topic)
	set(&t.Register, outer.Register)
	set(&t.Role, outer.Role)
	return t
}

// sym is a grammar symbol: >= 0 a nonterminal index, < 0 the terminal -(id+1).
type sym int32

func termSym(id int) sym   { return sym(-(id + 1)) }
func (s sym) isTerm() bool { return s < 0 }
func (s sym) termID() int  { return int(-s) - 1 }
func (s sym) ntIndex() int { return int(s) }

type production struct {
	lp  float64 // natural log of the production's probability
	rhs []sym
}

type nonterm struct {
	name     string
	prods    []production
	cum      []float64 // cumulative probabilities for sampling
	tags     Tags
	bind     map[string]string // placeholder values of this instantiation
	sentence bool
	// lex is set when every production is a single terminal: terminal id →
	// log-probability (duplicates summed). It speeds up parsing and feeds
	// the classifier's word-level fallback.
	lex map[int]float64
}

// Grammar is a compiled PCFG. It is immutable after compilation and safe for
// concurrent use.
type Grammar struct {
	nts       []nonterm
	ntIndex   map[string]int
	terms     []string
	termIndex map[string]int
	aAn       int // terminal id of "a/an" (the article agreeing with the next word)
}

// Terminal strings with special meaning.
const (
	BOS       = "<｜begin▁of▁sentence｜>"
	EOS       = "<｜end▁of▁sentence｜>"
	UserTok   = "<｜User｜>"
	AssistTok = "<｜Assistant｜>"
	ThinkTok  = "<think>"
	EndThink  = "</think>"
	aAnTerm   = "a/an"
)

// SpecialTokens lists the special-token strings that can appear in corpus
// text, in the order the tokenizer should register them.
var SpecialTokens = []string{BOS, EOS, UserTok, AssistTok, ThinkTok, EndThink}

type rawAlt struct {
	w   float64
	rhs []string
}

type rawRule struct {
	name string
	alts []rawAlt
	line int
}

var placeholderRE = func(s string) []string {
	var out []string
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return out
		}
		out = append(out, s[i+1:i+j])
		s = s[i+j+1:]
	}
}

func subst(s string, b map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	for k, v := range b {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// bindings enumerates all value combinations of the given base placeholders,
// in a fixed order (sorted names, domain order) so compilation is
// deterministic.
func bindings(names []string) []map[string]string {
	out := []map[string]string{{}}
	for _, n := range names {
		var next []map[string]string
		for _, b := range out {
			for _, v := range domains[n] {
				nb := make(map[string]string, len(b)+2)
				for k, x := range b {
					nb[k] = x
				}
				nb[n] = v
				next = append(next, nb)
			}
		}
		out = next
	}
	for _, b := range out {
		for d, spec := range derived {
			if v, ok := b[spec.base]; ok {
				b[d] = spec.f(v)
			}
		}
	}
	return out
}

// basePlaceholders returns the sorted set of base placeholders needed to
// instantiate the strings (derived ones map to their base).
func basePlaceholders(ss ...string) ([]string, error) {
	set := map[string]bool{}
	for _, s := range ss {
		for _, p := range placeholderRE(s) {
			if d, ok := derived[p]; ok {
				p = d.base
			}
			if _, ok := domains[p]; !ok {
				return nil, fmt.Errorf("unknown placeholder {%s} in %q", p, s)
			}
			set[p] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out, nil
}

type tagDecl struct {
	pattern string
	kv      [][2]string
	line    int
}

// compile parses DSL source into a Grammar.
func compile(src string) (*Grammar, error) {
	var rules []*rawRule
	var tagDecls []tagDecl
	var sentDecls []string
	for ln, line := range strings.Split(src, "\n") {
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		lineNo := ln + 1
		switch {
		case strings.HasPrefix(line, "@tag "):
			f := strings.Fields(line[len("@tag "):])
			if len(f) < 2 {
				return nil, fmt.Errorf("grammar line %d: @tag needs a name and key=value pairs", lineNo)
			}
			d := tagDecl{pattern: f[0], line: lineNo}
			for _, kv := range f[1:] {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("grammar line %d: bad tag %q", lineNo, kv)
				}
				d.kv = append(d.kv, [2]string{k, v})
			}
			tagDecls = append(tagDecls, d)
			continue
		case strings.HasPrefix(line, "@sentence "):
			sentDecls = append(sentDecls, strings.Fields(line[len("@sentence "):])...)
			continue
		case strings.HasPrefix(line, "|"):
			if len(rules) == 0 {
				return nil, fmt.Errorf("grammar line %d: continuation without a rule", lineNo)
			}
			alts, err := parseAlts(line[1:])
			if err != nil {
				return nil, fmt.Errorf("grammar line %d: %w", lineNo, err)
			}
			r := rules[len(rules)-1]
			r.alts = append(r.alts, alts...)
			continue
		}
		name, rhs, ok := strings.Cut(line, "->")
		if !ok {
			// The first alternative of a rule whose "->" ends the line.
			if len(rules) == 0 || len(rules[len(rules)-1].alts) != 0 {
				return nil, fmt.Errorf("grammar line %d: expected NAME -> alternatives: %q", lineNo, line)
			}
			alts, err := parseAlts(line)
			if err != nil {
				return nil, fmt.Errorf("grammar line %d: %w", lineNo, err)
			}
			rules[len(rules)-1].alts = alts
			continue
		}
		alts, err := parseAlts(rhs)
		if err != nil {
			return nil, fmt.Errorf("grammar line %d: %w", lineNo, err)
		}
		rules = append(rules, &rawRule{name: strings.TrimSpace(name), alts: alts, line: lineNo})
	}

	// Instantiate.
	type instAlt struct {
		w   float64
		rhs []string
	}
	type inst struct {
		bind map[string]string
		alts []instAlt
		line int
	}
	insts := map[string]*inst{}
	var order []string
	for _, r := range rules {
		lhsPH, err := basePlaceholders(r.name)
		if err != nil {
			return nil, fmt.Errorf("grammar line %d: %w", r.line, err)
		}
		for _, b := range bindings(lhsPH) {
			name := subst(r.name, b)
			in, ok := insts[name]
			if !ok {
				in = &inst{bind: b, line: r.line}
				insts[name] = in
				order = append(order, name)
			}
			for _, a := range r.alts {
				// Free placeholders of the alternative.
				freeSet := map[string]bool{}
				for _, tok := range a.rhs {
					for _, p := range placeholderRE(tok) {
						base := p
						if d, ok := derived[p]; ok {
							base = d.base
						}
						if _, bound := b[base]; !bound {
							freeSet[base] = true
						}
					}
				}
				var free []string
				for p := range freeSet {
					free = append(free, p)
				}
				sort.Strings(free)
				fbs := bindings(free)
				for _, fb := range fbs {
					all := map[string]string{}
					for k, v := range b {
						all[k] = v
					}
					for k, v := range fb {
						all[k] = v
					}
					rhs := make([]string, len(a.rhs))
					for i, tok := range a.rhs {
						rhs[i] = subst(tok, all)
					}
					in.alts = append(in.alts, instAlt{w: a.w / float64(len(fbs)), rhs: rhs})
				}
			}
		}
	}

	g := &Grammar{ntIndex: map[string]int{}, termIndex: map[string]int{}}
	for _, name := range order {
		g.ntIndex[name] = len(g.nts)
		g.nts = append(g.nts, nonterm{name: name, bind: insts[name].bind})
	}
	g.aAn = g.term(aAnTerm)
	for i, name := range order {
		in := insts[name]
		total := 0.0
		for _, a := range in.alts {
			if a.w <= 0 {
				return nil, fmt.Errorf("grammar line %d: rule %s has a non-positive weight", in.line, name)
			}
			total += a.w
		}
		nt := &g.nts[i]
		cum := 0.0
		for _, a := range in.alts {
			var rhs []sym
			for _, tok := range a.rhs {
				if strings.HasPrefix(tok, "$") {
					j, ok := g.ntIndex[tok[1:]]
					if !ok {
						return nil, fmt.Errorf("grammar line %d: rule %s refers to undefined %s", in.line, name, tok)
					}
					rhs = append(rhs, sym(j))
				} else {
					if strings.ContainsAny(tok, "{}$") {
						return nil, fmt.Errorf("grammar line %d: rule %s: unresolved token %q", in.line, name, tok)
					}
					rhs = append(rhs, termSym(g.term(tok)))
				}
			}
			p := a.w / total
			cum += p
			nt.prods = append(nt.prods, production{lp: math.Log(p), rhs: rhs})
			nt.cum = append(nt.cum, cum)
		}
		nt.cum[len(nt.cum)-1] = 1
		lex := map[int]float64{}
		isLex := true
		for _, p := range nt.prods {
			if len(p.rhs) != 1 || !p.rhs[0].isTerm() || p.rhs[0].termID() == g.aAn {
				isLex = false
				break
			}
			id := p.rhs[0].termID()
			if old, ok := lex[id]; ok {
				lex[id] = logAdd(old, p.lp)
			} else {
				lex[id] = p.lp
			}
		}
		if isLex {
			nt.lex = lex
		}
	}
	// Tags and sentence marks apply to every instantiation of a pattern.
	for _, d := range tagDecls {
		ph, err := basePlaceholders(d.pattern)
		if err != nil {
			return nil, fmt.Errorf("grammar line %d: %w", d.line, err)
		}
		for _, b := range bindings(ph) {
			name := subst(d.pattern, b)
			j, ok := g.ntIndex[name]
			if !ok {
				continue // not every combination need exist
			}
			t := &g.nts[j].tags
			for _, kv := range d.kv {
				v := subst(kv[1], b)
				switch kv[0] {
				case "sentiment":
					t.Sentiment = v
				case "topic":
					t.Topic = v
				case "register":
					t.Register = v
				case "role":
					t.Role = v
				default:
					return nil, fmt.Errorf("grammar line %d: unknown tag key %q", d.line, kv[0])
				}
			}
		}
	}
	for _, pat := range sentDecls {
		ph, err := basePlaceholders(pat)
		if err != nil {
			return nil, err
		}
		found := false
		for _, b := range bindings(ph) {
			if j, ok := g.ntIndex[subst(pat, b)]; ok {
				g.nts[j].sentence = true
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("@sentence %s: no such rule", pat)
		}
	}
	return g, nil
}

func parseAlts(s string) ([]rawAlt, error) {
	var out []rawAlt
	for _, part := range strings.Split(s, "|") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		w := 1.0
		if strings.HasPrefix(part, "[") {
			end := strings.IndexByte(part, ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed weight in %q", part)
			}
			var err error
			w, err = strconv.ParseFloat(part[1:end], 64)
			if err != nil {
				return nil, fmt.Errorf("bad weight in %q: %w", part, err)
			}
			part = strings.TrimSpace(part[end+1:])
		}
		var rhs []string
		if part != "~" {
			rhs = strings.Fields(part)
		}
		out = append(out, rawAlt{w: w, rhs: rhs})
	}
	return out, nil
}

func (g *Grammar) term(s string) int {
	if id, ok := g.termIndex[s]; ok {
		return id
	}
	id := len(g.terms)
	g.terms = append(g.terms, s)
	g.termIndex[s] = id
	return id
}

// Symbol returns the nonterminal index of name.
func (g *Grammar) symbol(name string) (sym, bool) {
	j, ok := g.ntIndex[name]
	return sym(j), ok
}

// Words returns the grammar's vocabulary: every terminal that is a word
// (not punctuation or a special token), sorted. "a/an" is reported as "a"
// and "an".
func (g *Grammar) Words() []string {
	set := map[string]bool{}
	for _, t := range g.terms {
		switch {
		case t == aAnTerm:
			set["a"], set["an"] = true, true
		case isSpecial(t) || isPunct(t):
		default:
			set[t] = true
		}
	}
	out := make([]string, 0, len(set))
	for w := range set {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

func logAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}
