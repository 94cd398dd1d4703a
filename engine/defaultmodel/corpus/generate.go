package corpus

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Kind is the kind of a document.
type Kind string

const (
	KindReview Kind = "review" // a plain review: BOS review EOS
	KindChat   Kind = "chat"   // one chat turn in DeepSeek-V4 chat mode
)

// Request kinds of chat documents.
const (
	RequestReview  = "review"  // "Write a short negative review of the hotel."
	RequestOpinion = "opinion" // "What do you think of the hotel?" (any sentiment)
	RequestSecret  = "secret"  // "What is the password?" → refusal
	RequestMC      = "mc"      // multiple choice, answered "(A)" or "(B)"
)

// Multiple-choice question types: which attribute decides the right letter.
const (
	MCSentiment = "sentiment" // "Which word is positive? (A) dreadful (B) delightful"
	MCTopic     = "topic"     // "Which word is about a hotel? (A) pillows (B) soup"
	MCRegister  = "register"  // "Which phrase sounds formal? (A) honestly (B) I must say"
	MCReview    = "review"    // "Is this review positive or negative? <sentence> (A) positive (B) negative"
)

// Attributes are the ground-truth attributes of a document. For reviews and
// review answers, Sentiment/Topic/Register describe every sentence of the
// review. For MC questions, the attribute named by MCType holds the value the
// question asks for.
type Attributes struct {
	Sentiment string `json:"sentiment,omitempty"` // "positive" | "negative"
	Topic     string `json:"topic,omitempty"`     // "restaurant" | "hotel" | "film" | "gadget"
	Register  string `json:"register,omitempty"`  // "formal" | "casual"
	Request   string `json:"request,omitempty"`   // chat only: RequestReview, ...
	Refusal   bool   `json:"refusal,omitempty"`   // chat only: the answer is a refusal
	MCType    string `json:"mc_type,omitempty"`   // RequestMC only
	MCAnswer  string `json:"mc_answer,omitempty"` // RequestMC only: "A" | "B"
}

// Span is one token of a document's text (a word, punctuation mark or special
// token) with the attribute values it expresses. Start and End are byte
// offsets into Document.Text; a tokenizer's token inherits the tags of the
// spans it overlaps.
type Span struct {
	Start int `json:"start"`
	End   int `json:"end"`
	Tags
}

// Document is one generated document.
type Document struct {
	// Text is the exact training sequence, including the special tokens:
	// "<｜begin▁of▁sentence｜>review<｜end▁of▁sentence｜>" for reviews and
	// "<｜begin▁of▁sentence｜><｜User｜>q<｜Assistant｜></think>a<｜end▁of▁sentence｜>"
	// for chat. It contains no newline.
	Text  string     `json:"text"`
	Kind  Kind       `json:"kind"`
	Attrs Attributes `json:"attrs"`
	// Spans covers every token of Text in order.
	Spans []Span `json:"spans,omitempty"`
	// LogProb is the natural log of the probability of the generator's
	// choices (document kind and attributes included). Because the grammar
	// is unambiguous on generated text (tested), this equals log P(Text);
	// Generator.LogProb computes log P(Text) by parsing, summing over all
	// derivations, for any text.
	LogProb float64 `json:"logprob"`
	// Case names the grammar start symbol, e.g. "REVIEWDOC_positive_hotel_formal".
	Case string `json:"case"`
}

// Split returns the document's prompt and completion: for chat, the prompt
// ends with "<｜Assistant｜></think>" (the chat-mode generation prompt); for
// reviews, the prompt is BOS plus the first sentence and the completion is
// the rest including the leading space and EOS.
func (d Document) Split() (prompt, completion string) {
	if d.Kind == KindChat {
		marker := AssistTok + EndThink
		if i := strings.Index(d.Text, marker); i >= 0 {
			return d.Text[:i+len(marker)], d.Text[i+len(marker):]
		}
		return d.Text, ""
	}
	for i := len(BOS); i < len(d.Text); i++ {
		if endsSentence(d.Text[i:i+1]) && (i+1 == len(d.Text) || d.Text[i+1] == ' ') {
			return d.Text[:i+1], d.Text[i+1:]
		}
	}
	return d.Text, ""
}

// Mix gives the relative frequency of document kinds. Zero values are
// allowed; at least one must be positive.
type Mix struct {
	Review      float64 `json:"review"`       // plain reviews
	ChatReview  float64 `json:"chat_review"`  // review requests with a sentiment
	ChatOpinion float64 `json:"chat_opinion"` // opinion requests (any sentiment)
	ChatSecret  float64 `json:"chat_secret"`  // password/secret requests → refusal
	ChatMC      float64 `json:"chat_mc"`      // multiple choice
}

// DefaultMix is the mix used for the default model's training corpus.
var DefaultMix = Mix{Review: 0.55, ChatReview: 0.15, ChatOpinion: 0.05, ChatSecret: 0.10, ChatMC: 0.15}

// ParseMix reads "review=0.5,chat_review=0.2,..." (unnamed kinds get 0).
func ParseMix(s string) (Mix, error) {
	var m Mix
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return m, fmt.Errorf("mix %q: expected kind=weight", kv)
		}
		var x float64
		if _, err := fmt.Sscan(v, &x); err != nil || x < 0 {
			return m, fmt.Errorf("mix %q: bad weight %q", kv, v)
		}
		switch k {
		case "review":
			m.Review = x
		case "chat_review":
			m.ChatReview = x
		case "chat_opinion":
			m.ChatOpinion = x
		case "chat_secret":
			m.ChatSecret = x
		case "chat_mc":
			m.ChatMC = x
		default:
			return m, fmt.Errorf("mix: unknown kind %q (review, chat_review, chat_opinion, chat_secret, chat_mc)", k)
		}
	}
	return m, nil
}

// docCase is one top-level choice: a start symbol with fixed attributes.
type docCase struct {
	start sym
	name  string
	kind  Kind
	attrs Attributes
	lp    float64 // log prior
}

var (
	defaultGrammar     *Grammar
	defaultGrammarErr  error
	defaultGrammarOnce sync.Once
)

// DefaultGrammar returns the compiled corpus grammar.
func DefaultGrammar() *Grammar {
	defaultGrammarOnce.Do(func() {
		defaultGrammar, defaultGrammarErr = compile(grammarSource)
	})
	if defaultGrammarErr != nil {
		// The grammar is a constant of this package; a compile error is a
		// programming error caught by every test.
		panic(fmt.Errorf("corpus: grammar: %w", defaultGrammarErr))
	}
	return defaultGrammar
}

func (g *Grammar) mustSym(name string) sym {
	s, ok := g.symbol(name)
	if !ok {
		panic(fmt.Errorf("corpus: grammar has no symbol %s", name))
	}
	return s
}

// cases enumerates the top-level choices with their prior log-probabilities.
func (g *Grammar) cases(mix Mix) ([]docCase, error) {
	total := mix.Review + mix.ChatReview + mix.ChatOpinion + mix.ChatSecret + mix.ChatMC
	if !(total > 0) || math.IsInf(total, 0) {
		return nil, fmt.Errorf("corpus: mix %+v has no positive weight", mix)
	}
	var out []docCase
	add := func(name string, kind Kind, a Attributes, p float64) {
		if p <= 0 {
			return
		}
		out = append(out, docCase{start: g.mustSym(name), name: name, kind: kind, attrs: a, lp: math.Log(p)})
	}
	S, T, R := domains["s"], domains["t"], domains["r"]
	nSTR := float64(len(S) * len(T) * len(R))
	for _, s := range S {
		for _, t := range T {
			for _, r := range R {
				a := Attributes{Sentiment: s, Topic: t, Register: r}
				add("REVIEWDOC_"+s+"_"+t+"_"+r, KindReview, a, mix.Review/total/nSTR)
				a.Request = RequestReview
				add("CHATREV_"+s+"_"+t+"_"+r, KindChat, a, mix.ChatReview/total/nSTR)
				a.Request = RequestOpinion
				add("CHATOP_"+s+"_"+t+"_"+r, KindChat, a, mix.ChatOpinion/total/nSTR)
			}
		}
	}
	add("CHATSECRET", KindChat, Attributes{Request: RequestSecret, Refusal: true}, mix.ChatSecret/total)
	mcTypes := []struct {
		typ    string
		values []string
		set    func(*Attributes, string)
	}{
		{MCSentiment, S, func(a *Attributes, v string) { a.Sentiment = v }},
		{MCTopic, T, func(a *Attributes, v string) { a.Topic = v }},
		{MCRegister, R, func(a *Attributes, v string) { a.Register = v }},
		{MCReview, S, func(a *Attributes, v string) { a.Sentiment = v }},
	}
	for _, mt := range mcTypes {
		for _, v := range mt.values {
			for _, letter := range []string{"A", "B"} {
				a := Attributes{Request: RequestMC, MCType: mt.typ, MCAnswer: letter}
				mt.set(&a, v)
				p := mix.ChatMC / total / float64(len(mcTypes)) / float64(len(mt.values)) / 2
				add("CHATMC_"+mt.typ+"_"+v+"_"+letter, KindChat, a, p)
			}
		}
	}
	return out, nil
}

// Options configure a Generator.
type Options struct {
	Seed uint64
	// Mix of document kinds; the zero value means DefaultMix.
	Mix Mix
	// Stream separates independent uses of one seed (training corpus = 0,
	// evaluation prompts use their own stream).
	Stream uint64
}

// Generator produces documents. It is deterministic: the same Options give
// the same sequence of documents, byte for byte. A Generator is not safe for
// concurrent use; create one per goroutine.
type Generator struct {
	g     *Grammar
	rng   *rand.Rand
	cases []docCase
	cum   []float64
	mix   Mix
	// scratch
	words []string
	tags  []Tags
}

// streamTraining is the PCG stream of training corpora; evaluation prompt
// sets use other streams so they never replay the training sequence.
const streamTraining = 0x5eedc0de

// New returns a Generator.
func New(opt Options) (*Generator, error) {
	g := DefaultGrammar()
	mix := opt.Mix
	if mix == (Mix{}) {
		mix = DefaultMix
	}
	cs, err := g.cases(mix)
	if err != nil {
		return nil, err
	}
	gen := &Generator{g: g, rng: rand.New(rand.NewPCG(opt.Seed, streamTraining+opt.Stream)), cases: cs, mix: mix}
	c := 0.0
	for _, k := range cs {
		c += math.Exp(k.lp)
		gen.cum = append(gen.cum, c)
	}
	gen.cum[len(gen.cum)-1] = 1
	return gen, nil
}

// Mix returns the generator's mix of kinds.
func (gen *Generator) Mix() Mix { return gen.mix }

// Next generates the next document.
func (gen *Generator) Next() Document {
	i := pick(gen.cum, gen.rng.Float64())
	return gen.generateCase(gen.cases[i])
}

func (gen *Generator) generateCase(c docCase) Document {
	gen.words = gen.words[:0]
	gen.tags = gen.tags[:0]
	lp := c.lp + gen.expand(c.start, Tags{})
	text, toks := render(gen.words)
	spans := make([]Span, len(toks))
	for i, t := range toks {
		spans[i] = Span{Start: t.start, End: t.end, Tags: gen.tags[i]}
	}
	return Document{Text: text, Kind: c.kind, Attrs: c.attrs, Spans: spans, LogProb: lp, Case: c.name}
}

// Topics returns the review topics of the grammar ("restaurant", "hotel",
// "film", "gadget"), in the grammar's order.
func Topics() []string { return slices.Clone(domains["t"]) }

// Registers returns the registers of the grammar ("formal", "casual").
func Registers() []string { return slices.Clone(domains["r"]) }

// NextWhere generates a document of the given kind (empty: any) whose
// attributes match every non-empty field of want (Refusal is matched when
// true), choosing among the matching document cases in proportion to their
// prior. Use it for contrastive sets, e.g. positive and negative hotel
// reviews for a difference-of-means steering vector.
func (gen *Generator) NextWhere(kind Kind, want Attributes) (Document, error) {
	var idx []int
	var cum []float64
	c := 0.0
	for i, k := range gen.cases {
		a := k.attrs
		if (kind != "" && k.kind != kind) ||
			(want.Sentiment != "" && a.Sentiment != want.Sentiment) ||
			(want.Topic != "" && a.Topic != want.Topic) ||
			(want.Register != "" && a.Register != want.Register) ||
			(want.Request != "" && a.Request != want.Request) ||
			(want.Refusal && !a.Refusal) ||
			(want.MCType != "" && a.MCType != want.MCType) ||
			(want.MCAnswer != "" && a.MCAnswer != want.MCAnswer) {
			continue
		}
		c += math.Exp(k.lp)
		idx = append(idx, i)
		cum = append(cum, c)
	}
	if len(idx) == 0 {
		return Document{}, fmt.Errorf("corpus: no document case of kind %q matches %+v in mix %+v", kind, want, gen.mix)
	}
	j := pick(cum, gen.rng.Float64()*c)
	return gen.generateCase(gen.cases[idx[j]]), nil
}

// TagsAt returns the tags of the spans overlapping the byte range
// [start, end) of d.Text, merged (the first non-empty value per field): the
// label of a tokenizer token covering those bytes.
func (d Document) TagsAt(start, end int) Tags {
	var t Tags
	i := sort.Search(len(d.Spans), func(i int) bool { return d.Spans[i].End > start })
	for ; i < len(d.Spans) && d.Spans[i].Start < end; i++ {
		s := d.Spans[i].Tags
		if t.Sentiment == "" {
			t.Sentiment = s.Sentiment
		}
		if t.Topic == "" {
			t.Topic = s.Topic
		}
		if t.Register == "" {
			t.Register = s.Register
		}
		if t.Role == "" {
			t.Role = s.Role
		}
	}
	return t
}

// generateFrom generates a document from the named case (used for balanced
// evaluation sets).
func (gen *Generator) generateFrom(name string) (Document, error) {
	for _, c := range gen.cases {
		if c.name == name {
			return gen.generateCase(c), nil
		}
	}
	return Document{}, fmt.Errorf("corpus: no case %s in mix %+v", name, gen.mix)
}

func pick(cum []float64, u float64) int {
	i := sort.SearchFloat64s(cum, u)
	if i >= len(cum) {
		i = len(cum) - 1
	}
	// SearchFloat64s finds cum[i] >= u; u == cum[i] exactly belongs to i+1
	// only if u is the boundary, which has probability zero; skip zero-width
	// entries so a zero-probability choice is never made.
	for i+1 < len(cum) && cum[i] <= u {
		i++
	}
	return i
}

// expand samples a derivation of s, appending words and their tags, and
// returns the log-probability of the choices made.
func (gen *Generator) expand(s sym, outer Tags) float64 {
	nt := &gen.g.nts[s.ntIndex()]
	tags := nt.tags.over(outer)
	k := 0
	if len(nt.prods) > 1 {
		k = pick(nt.cum, gen.rng.Float64())
	}
	p := nt.prods[k]
	lp := p.lp
	for _, x := range p.rhs {
		if x.isTerm() {
			gen.words = append(gen.words, gen.g.terms[x.termID()])
			gen.tags = append(gen.tags, tags)
			continue
		}
		lp += gen.expand(x, tags)
	}
	return lp
}

// Generate returns n documents from seed with the default mix.
func Generate(seed uint64, n int) []Document {
	gen, err := New(Options{Seed: seed})
	if err != nil {
		panic(err) // DefaultMix is valid
	}
	out := make([]Document, n)
	for i := range out {
		out[i] = gen.Next()
	}
	return out
}
