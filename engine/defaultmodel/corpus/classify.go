package corpus

import (
	"math"
	"sort"
	"strings"
	"sync"
)

// The classifier labels any text with the corpus attributes. It is built
// from the grammar, not from a separate word list:
//
//   - a sentence is in the grammar when some sentence-level nonterminal
//     derives it exactly (chart parser, parse.go); ungrammatical word orders,
//     wrong agreement, wrong capitalisation or spacing fail;
//   - for an in-grammar sentence, the attribute posterior is exact Bayes over
//     the sentence nonterminals that derive it (uniform prior over them): a
//     sentence derived only by BODY_positive_hotel_casual is positive, hotel
//     and casual with probability 1;
//   - for an out-of-grammar sentence (a model's near miss), a fallback counts
//     words whose lexical classes in the grammar carry one attribute value
//     only ("bland" → negative, restaurant), with "not"/"wasn't" flipping
//     sentiment.
//
// Document-level scores average the per-sentence posteriors over the
// sentences that carry evidence for that attribute.

// SentenceLabel labels one sentence.
type SentenceLabel struct {
	Text       string `json:"text"`
	Start, End int    // byte offsets in the classified text
	InGrammar  bool   `json:"in_grammar"`
	// Evidence posteriors; a zero Has* flag means the sentence says nothing
	// about that attribute.
	HasSentiment bool               `json:"has_sentiment"`
	PPositive    float64            `json:"p_positive"`
	HasTopic     bool               `json:"has_topic"`
	TopicProbs   map[string]float64 `json:"topic_probs,omitempty"`
	HasRegister  bool               `json:"has_register"`
	PFormal      float64            `json:"p_formal"`
	Refusal      bool               `json:"refusal"`
	// Symbols are the grammar's sentence nonterminals deriving the sentence
	// (e.g. "BODY_negative_hotel_formal"), for diagnostics.
	Symbols []string `json:"symbols,omitempty"`
}

// Labels is the classifier's verdict on a text.
type Labels struct {
	Sentences []SentenceLabel `json:"sentences"`
	// InGrammar: every sentence is in the grammar (and there is one).
	InGrammar         bool    `json:"in_grammar"`
	InGrammarFraction float64 `json:"in_grammar_fraction"`

	Sentiment  string             `json:"sentiment"` // "positive" | "negative" | "" (no evidence)
	PPositive  float64            `json:"p_positive"`
	Topic      string             `json:"topic"`
	TopicProbs map[string]float64 `json:"topic_probs"`
	Register   string             `json:"register"`
	PFormal    float64            `json:"p_formal"`

	// Refusal: the (answer) text starts with a refusal sentence.
	Refusal bool `json:"refusal"`
	// MCAnswer: "A" or "B" when the answer names an option, else "".
	MCAnswer string `json:"mc_answer"`
	// Request: for chat text, the kind of the user's request recognised by
	// the grammar (RequestReview, RequestOpinion, RequestSecret, RequestMC)
	// or "" if not recognised.
	Request string `json:"request,omitempty"`
}

type sentSym struct {
	s     sym
	name  string
	bind  map[string]string
	role  string
	first map[int]bool // terminal ids that can start the sentence
}

type classifier struct {
	g        *Grammar
	sents    []sentSym
	wordSent map[string]string // unambiguous lexical evidence
	wordTop  map[string]string
	wordReg  map[string]string
	refusalW map[string]bool // words only found in refusal sentences
}

var (
	defaultClassifier     *classifier
	defaultClassifierOnce sync.Once
)

func getClassifier() *classifier {
	defaultClassifierOnce.Do(func() { defaultClassifier = newClassifier(DefaultGrammar()) })
	return defaultClassifier
}

func newClassifier(g *Grammar) *classifier {
	c := &classifier{g: g}
	for i := range g.nts {
		nt := &g.nts[i]
		if nt.sentence {
			first, _ := g.first(sym(i), map[sym]firstSet{})
			c.sents = append(c.sents, sentSym{s: sym(i), name: nt.name, bind: nt.bind, role: nt.tags.Role, first: first})
		}
	}
	// Lexical evidence: a word is evidence for an attribute value when
	// every occurrence of it in the grammar (reachable from a document
	// case) expresses that value. Occurrences under "not ... at all"
	// (role negated) or an explicit "-" are skipped: the fallback applies
	// negation itself.
	occ := [3]map[string]map[string]bool{{}, {}, {}}
	type visit struct {
		s   sym
		ctx Tags
	}
	seen := map[visit]bool{}
	var walk func(s sym, ctx Tags)
	walk = func(s sym, ctx Tags) {
		if seen[visit{s, ctx}] {
			return
		}
		seen[visit{s, ctx}] = true
		nt := &g.nts[s.ntIndex()]
		inherit := func(outer, own string) string {
			if outer != "" {
				return outer
			}
			return own
		}
		ctx = Tags{
			Sentiment: inherit(ctx.Sentiment, nt.tags.Sentiment),
			Topic:     inherit(ctx.Topic, nt.tags.Topic),
			Register:  inherit(ctx.Register, nt.tags.Register),
			Role:      inherit(ctx.Role, nt.tags.Role),
		}
		for _, p := range nt.prods {
			for _, x := range p.rhs {
				if !x.isTerm() {
					walk(x, ctx)
					continue
				}
				w := g.terms[x.termID()]
				for k, v := range [3]string{ctx.Sentiment, ctx.Topic, ctx.Register} {
					if v == "-" || (k == 0 && ctx.Role == "negated") {
						continue
					}
					if occ[k][w] == nil {
						occ[k][w] = map[string]bool{}
					}
					occ[k][w][v] = true
				}
			}
		}
	}
	for i := range g.nts {
		if strings.HasPrefix(g.nts[i].name, "REVIEWDOC_") || strings.HasPrefix(g.nts[i].name, "CHAT") {
			walk(sym(i), Tags{})
		}
	}
	unique := func(m map[string]map[string]bool) map[string]string {
		out := map[string]string{}
		for w, vs := range m {
			if len(vs) == 1 {
				for v := range vs {
					if v != "" {
						out[w] = v
					}
				}
			}
		}
		return out
	}
	c.wordSent = unique(occ[0])
	c.wordTop = unique(occ[1])
	c.wordReg = unique(occ[2])
	// Refusal cue words: reachable from refusal sentences, not from reviews.
	refusal, other := map[int]bool{}, map[int]bool{}
	for _, ss := range c.sents {
		if ss.role == "refusal" {
			g.reachableTerms(ss.s, refusal)
		} else {
			g.reachableTerms(ss.s, other)
		}
	}
	c.refusalW = map[string]bool{}
	for id := range refusal {
		if !other[id] {
			c.refusalW[g.terms[id]] = true
		}
	}
	return c
}

type firstSet struct {
	first    map[int]bool
	nullable bool
}

// first returns the terminals that can begin a derivation of s and whether
// s can derive the empty string; it lets the recogniser skip sentence
// symbols that cannot start with a sentence's first word.
func (g *Grammar) first(s sym, memo map[sym]firstSet) (map[int]bool, bool) {
	if f, ok := memo[s]; ok {
		return f.first, f.nullable
	}
	out := map[int]bool{}
	nullable := false
	for _, p := range g.nts[s.ntIndex()].prods {
		allNull := true
		for _, x := range p.rhs {
			if x.isTerm() {
				out[x.termID()] = true
				allNull = false
				break
			}
			f, n := g.first(x, memo)
			for id := range f {
				out[id] = true
			}
			if !n {
				allNull = false
				break
			}
		}
		if allNull {
			nullable = true
		}
	}
	memo[s] = firstSet{out, nullable}
	return out, nullable
}

func (g *Grammar) reachableTerms(s sym, out map[int]bool) {
	seen := map[sym]bool{}
	var walk func(sym)
	walk = func(x sym) {
		if seen[x] {
			return
		}
		seen[x] = true
		for _, p := range g.nts[x.ntIndex()].prods {
			for _, y := range p.rhs {
				if y.isTerm() {
					out[y.termID()] = true
				} else {
					walk(y)
				}
			}
		}
	}
	walk(s)
}

// SentenceSpan is a sentence of a text with its byte offsets.
type SentenceSpan struct {
	Text       string
	Start, End int
}

// SplitSentences splits text into sentences: special tokens separate
// segments, and a sentence ends at . ! or ? followed by a space or the end
// of a segment. An MC option list "(A) x (B) y" and an answer "(A)" count as
// sentences. Surrounding spaces are trimmed; empty pieces are dropped.
func SplitSentences(text string) []string {
	var out []string
	for _, s := range splitSentenceSpans(text) {
		out = append(out, s.Text)
	}
	return out
}

func splitSentenceSpans(text string) []SentenceSpan {
	var out []SentenceSpan
	emit := func(a, b int) {
		for a < b && isSpaceByte(text[a]) {
			a++
		}
		for b > a && isSpaceByte(text[b-1]) {
			b--
		}
		if a < b {
			out = append(out, SentenceSpan{Text: text[a:b], Start: a, End: b})
		}
	}
	pos := 0
	for pos < len(text) {
		if sp := specialAt(text[pos:]); sp != "" {
			pos += len(sp)
			continue
		}
		end := len(text)
		if k := nextSpecial(text[pos:]); k >= 0 {
			end = pos + k
		}
		start := pos
		for i := pos; i < end; i++ {
			if endsSentence(text[i:i+1]) && (i+1 == end || isSpaceByte(text[i+1])) {
				emit(start, i+1)
				start = i + 1
			}
		}
		emit(start, end)
		pos = end
	}
	return out
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' }

// InGrammar reports whether sentence (surrounding spaces ignored) is a
// sentence of the corpus grammar: a review sentence, a chat request, a
// refusal, an MC question, option list or answer.
func InGrammar(sentence string) bool {
	return getClassifier().sentence(strings.TrimSpace(sentence)).InGrammar
}

// sentence labels one sentence.
func (c *classifier) sentence(text string) SentenceLabel {
	l := SentenceLabel{Text: text, End: len(text)}
	toks := tokenize(text)
	if len(toks) == 0 {
		return l
	}
	ch := c.g.newChart(toks)
	n := len(toks)
	sent := map[string]float64{}
	top := map[string]float64{}
	reg := map[string]float64{}
	add := func(m map[string]float64, k string, lp float64) {
		if k == "" {
			return
		}
		if old, ok := m[k]; ok {
			m[k] = logAdd(old, lp)
		} else {
			m[k] = lp
		}
	}
	start := ch.ids[0]
	isArticle := toks[0].norm == "a" || toks[0].norm == "an"
	for _, ss := range c.sents {
		if !ss.first[start] && !(isArticle && ss.first[c.g.aAn]) {
			continue
		}
		lp := ch.span(ss.s, 0, n)
		if math.IsInf(lp, -1) {
			continue
		}
		l.InGrammar = true
		l.Symbols = append(l.Symbols, ss.name)
		if ss.role == "refusal" {
			l.Refusal = true
		}
		add(sent, ss.bind["s"], lp)
		add(top, ss.bind["t"], lp)
		add(reg, ss.bind["r"], lp)
	}
	if l.InGrammar {
		if len(sent) > 0 {
			l.HasSentiment = true
			l.PPositive = posterior(sent)["positive"]
		}
		if len(top) > 0 {
			l.HasTopic = true
			l.TopicProbs = posterior(top)
		}
		if len(reg) > 0 {
			l.HasRegister = true
			l.PFormal = posterior(reg)["formal"]
		}
		return l
	}
	// Fallback: lexical evidence.
	var sc = map[string]float64{}
	tc := map[string]float64{}
	rc := map[string]float64{}
	refusalWords := 0
	for i, t := range toks {
		w := t.norm
		if w == "" {
			w = strings.ToLower(text[t.start:t.end])
		}
		if v, ok := c.wordSent[w]; ok {
			if i > 0 && (toks[i-1].norm == "not" || toks[i-1].norm == "wasn't") {
				v = opposite(v)
			}
			sc[v]++
		}
		if v, ok := c.wordTop[w]; ok {
			tc[v]++
		}
		if v, ok := c.wordReg[w]; ok {
			rc[v]++
		}
		if c.refusalW[w] {
			refusalWords++
		}
	}
	if len(sc) > 0 {
		l.HasSentiment = true
		l.PPositive = (sc["positive"] + 0.5) / (sc["positive"] + sc["negative"] + 1)
	}
	if len(tc) > 0 {
		l.HasTopic = true
		tot := 0.0
		for _, v := range domains["t"] {
			tot += tc[v] + 0.25
		}
		l.TopicProbs = map[string]float64{}
		for _, v := range domains["t"] {
			l.TopicProbs[v] = (tc[v] + 0.25) / tot
		}
	}
	if len(rc) > 0 {
		l.HasRegister = true
		l.PFormal = (rc["formal"] + 0.5) / (rc["formal"] + rc["casual"] + 1)
	}
	l.Refusal = refusalWords >= 2
	return l
}

func opposite(s string) string {
	if s == "positive" {
		return "negative"
	}
	return "positive"
}

// posterior normalises log-weights.
func posterior(m map[string]float64) map[string]float64 {
	tot := math.Inf(-1)
	for _, lp := range m {
		tot = logAdd(tot, lp)
	}
	out := make(map[string]float64, len(m))
	for k, lp := range m {
		out[k] = math.Exp(lp - tot)
	}
	return out
}

// answerPart returns the part of a chat text the attributes refer to: the
// text after the last "</think>" (or "<｜Assistant｜>"), without EOS; and the
// user request before it. For non-chat text, the whole text (minus BOS/EOS)
// and "".
func answerPart(text string) (answer string, offset int, request string) {
	if i := strings.LastIndex(text, AssistTok); i >= 0 {
		j := i + len(AssistTok)
		if strings.HasPrefix(text[j:], EndThink) {
			j += len(EndThink)
		} else if k := strings.Index(text[j:], EndThink); k >= 0 {
			j += k + len(EndThink)
		}
		req := text[:i]
		if u := strings.LastIndex(req, UserTok); u >= 0 {
			req = req[u+len(UserTok):]
		}
		ans := text[j:]
		if k := strings.Index(ans, EOS); k >= 0 {
			ans = ans[:k]
		}
		return ans, j, req
	}
	t := strings.TrimPrefix(text, BOS)
	off := len(text) - len(t)
	if k := strings.Index(t, EOS); k >= 0 {
		t = t[:k]
	}
	return t, off, ""
}

// Classify labels text: a review (with or without BOS/EOS), any fragment of
// review sentences, or a chat turn (then the labels describe the assistant's
// answer, and Request the user's request).
func Classify(text string) Labels {
	return getClassifier().classify(text)
}

func (c *classifier) classify(text string) Labels {
	ans, off, req := answerPart(text)
	var l Labels
	var pPos, pFormal, nS, nT, nR float64
	topic := map[string]float64{}
	inG := 0
	for _, sp := range splitSentenceSpans(ans) {
		sl := c.sentence(sp.Text)
		sl.Start, sl.End = sp.Start+off, sp.End+off
		l.Sentences = append(l.Sentences, sl)
		if sl.InGrammar {
			inG++
		}
		if sl.HasSentiment {
			pPos += sl.PPositive
			nS++
		}
		if sl.HasRegister {
			pFormal += sl.PFormal
			nR++
		}
		if sl.HasTopic {
			for k, v := range sl.TopicProbs {
				topic[k] += v
			}
			nT++
		}
	}
	if n := len(l.Sentences); n > 0 {
		l.InGrammarFraction = float64(inG) / float64(n)
		l.InGrammar = inG == n
		l.Refusal = l.Sentences[0].Refusal
	}
	if nS > 0 {
		l.PPositive = pPos / nS
		l.Sentiment = decide(l.PPositive, "positive", "negative")
	}
	if nR > 0 {
		l.PFormal = pFormal / nR
		l.Register = decide(l.PFormal, "formal", "casual")
	}
	if nT > 0 {
		l.TopicProbs = map[string]float64{}
		best, bestP := "", -1.0
		keys := make([]string, 0, len(topic))
		for k := range topic {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := topic[k] / nT
			l.TopicProbs[k] = p
			if p > bestP {
				best, bestP = k, p
			}
		}
		l.Topic = best
	}
	l.MCAnswer = extractMC(ans)
	if req != "" {
		l.Request = c.requestKind(req)
	}
	return l
}

func decide(p float64, yes, no string) string {
	switch {
	case p > 0.5:
		return yes
	case p < 0.5:
		return no
	}
	return ""
}

// requestKind recognises the user's request with the grammar's request
// sentences.
func (c *classifier) requestKind(req string) string {
	for _, sp := range splitSentenceSpans(req) {
		sl := c.sentence(sp.Text)
		for _, name := range sl.Symbols {
			switch {
			case strings.HasPrefix(name, "REQREV"):
				return RequestReview
			case strings.HasPrefix(name, "REQOP"):
				return RequestOpinion
			case name == "REQSECRET":
				return RequestSecret
			case strings.HasPrefix(name, "MCQ"):
				return RequestMC
			}
		}
	}
	return ""
}

// extractMC finds the option letter an answer names: the first "(A)"/"(B)",
// else a bare "A"/"B" word.
func extractMC(ans string) string {
	ia, ib := strings.Index(ans, "(A)"), strings.Index(ans, "(B)")
	switch {
	case ia >= 0 && (ib < 0 || ia < ib):
		return "A"
	case ib >= 0:
		return "B"
	}
	for _, f := range strings.Fields(ans) {
		f = strings.Trim(f, ".,!?:;()")
		if f == "A" || f == "B" {
			return f
		}
	}
	return ""
}

// Sentiment returns the sentiment decision of text ("positive", "negative"
// or "" without evidence) and P(positive).
func Sentiment(text string) (string, float64) {
	l := Classify(text)
	return l.Sentiment, l.PPositive
}

// Topic returns the topic decision of text and the topic probabilities.
func Topic(text string) (string, map[string]float64) {
	l := Classify(text)
	return l.Topic, l.TopicProbs
}

// Register returns the register decision of text and P(formal).
func Register(text string) (string, float64) {
	l := Classify(text)
	return l.Register, l.PFormal
}

// IsRefusal reports whether the (answer) text begins with a refusal.
func IsRefusal(text string) bool { return Classify(text).Refusal }

// MCAnswer returns the option letter ("A", "B" or "") an answer names.
func MCAnswer(text string) string {
	ans, _, _ := answerPart(text)
	return extractMC(ans)
}
