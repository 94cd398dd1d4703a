package corpus

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func docsJSON(t *testing.T, docs []Document) string {
	t.Helper()
	b, err := json.Marshal(docs)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDeterminism(t *testing.T) {
	a := docsJSON(t, Generate(1, 300))
	b := docsJSON(t, Generate(1, 300))
	if a != b {
		t.Fatal("same seed produced different documents")
	}
	c := Generate(2, 300)
	same := 0
	for i, d := range Generate(1, 300) {
		if d.Text == c[i].Text {
			same++
		}
	}
	if same > 30 { // short MC/secret docs can coincide by chance
		t.Fatalf("seeds 1 and 2 agree on %d/300 documents", same)
	}
}

func TestTextHasNoNewlineAndRoundTrips(t *testing.T) {
	for _, d := range Generate(3, 2000) {
		if strings.ContainsAny(d.Text, "\n\r\t") {
			t.Fatalf("newline in %q", d.Text)
		}
		if !strings.HasPrefix(d.Text, BOS) || !strings.HasSuffix(d.Text, EOS) {
			t.Fatalf("missing BOS/EOS: %q", d.Text)
		}
		toks := tokenize(d.Text)
		if len(toks) != len(d.Spans) {
			t.Fatalf("tokenize gives %d tokens, generator %d spans: %q", len(toks), len(d.Spans), d.Text)
		}
		for i, tk := range toks {
			if tk.start != d.Spans[i].Start || tk.end != d.Spans[i].End || tk.norm == "" {
				t.Fatalf("token %d of %q: tokenize %+v, span %+v", i, d.Text, tk, d.Spans[i])
			}
		}
	}
}

func TestEveryGeneratedSentenceInGrammar(t *testing.T) {
	n, words := 0, 0
	minW, maxW := 100, 0
	for _, d := range Generate(4, 1500) {
		for _, s := range SplitSentences(d.Text) {
			if !InGrammar(s) {
				t.Fatalf("generated sentence not in grammar: %q (doc %q)", s, d.Text)
			}
			if d.Kind == KindReview {
				w := 0
				for _, f := range strings.Fields(s) {
					if !isPunct(f) {
						w++
					}
				}
				words += w
				n++
				minW, maxW = min(minW, w), max(maxW, w)
			}
		}
	}
	t.Logf("%d review sentences, %.1f words/sentence, min %d max %d", n, float64(words)/float64(n), minW, maxW)
	if maxW > 22 || minW < 3 {
		t.Errorf("sentence length out of range: %d..%d words", minW, maxW)
	}
}

func TestParserProbabilityEqualsGeneratorChoices(t *testing.T) {
	gen, err := New(Options{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	check, _ := New(Options{Seed: 99})
	for i := 0; i < 600; i++ {
		d := gen.Next()
		lp := check.LogProb(d.Text) // same mix, so same distribution
		if math.Abs(lp-d.LogProb) > 1e-9 {
			t.Fatalf("ambiguous or inconsistent: parser %.12f, choices %.12f: %q", lp, d.LogProb, d.Text)
		}
	}
	if lp := check.LogProb(BOS + "The soup were tasty." + EOS); !math.IsInf(lp, -1) {
		t.Fatalf("ungrammatical document has log-prob %v", lp)
	}
}

func TestClassifierRecoversAttributes(t *testing.T) {
	docs := Generate(6, 1000)
	var total, wrong int
	for _, d := range docs {
		l := Classify(d.Text)
		a := d.Attrs
		var errs []string
		if !l.InGrammar {
			errs = append(errs, "not in grammar")
		}
		switch {
		case d.Kind == KindReview || a.Request == RequestReview || a.Request == RequestOpinion:
			if l.Sentiment != a.Sentiment || l.Topic != a.Topic || l.Register != a.Register {
				errs = append(errs, "attributes "+l.Sentiment+"/"+l.Topic+"/"+l.Register)
			}
			if l.Refusal {
				errs = append(errs, "refusal")
			}
		case a.Request == RequestSecret:
			if !l.Refusal {
				errs = append(errs, "no refusal")
			}
		case a.Request == RequestMC:
			if l.MCAnswer != a.MCAnswer {
				errs = append(errs, "mc "+l.MCAnswer)
			}
		}
		if d.Kind == KindChat && l.Request != a.Request {
			errs = append(errs, "request "+l.Request)
		}
		total++
		if len(errs) > 0 {
			wrong++
			t.Logf("%s: %v: %q", d.Case, errs, d.Text)
		}
	}
	acc := 1 - float64(wrong)/float64(total)
	t.Logf("classifier accuracy %.4f on %d generated documents", acc, total)
	if acc < 0.99 {
		t.Fatalf("accuracy %.4f < 0.99", acc)
	}
}

func TestClassifierFallbackOutOfGrammar(t *testing.T) {
	// Near misses a model might produce: the grammar rejects them, the
	// lexical fallback still reads the attributes.
	cases := []struct {
		text, sent, topic, reg string
	}{
		{"The soup were truly delicious.", "positive", "restaurant", "formal"},
		{"Honestly the rooms was super dirty!", "negative", "hotel", "casual"},
		{"The plot was not boring at all, honestly.", "positive", "film", "casual"},
	}
	for _, c := range cases {
		l := Classify(c.text)
		if l.InGrammar {
			t.Errorf("%q should be out of grammar", c.text)
		}
		if l.Sentiment != c.sent || l.Topic != c.topic || l.Register != c.reg {
			t.Errorf("%q: got %s/%s/%s want %s/%s/%s", c.text, l.Sentiment, l.Topic, l.Register, c.sent, c.topic, c.reg)
		}
	}
}

func TestWordSaladFails(t *testing.T) {
	bad := []string{
		"The soup were delicious.",               // agreement
		"The rooms was dirty.",                   // agreement
		"the soup was truly delicious.",          // capitalisation
		"The soup was  truly delicious.",         // double space
		"The soup was truly delicious",           // no end mark
		"The waiter was greasy.",                 // adjective of the wrong aspect group
		"The soup was truly awesome.",            // formal intensifier with casual adjective... is fine? no: see below
		"Delicious the soup was truly.",          // word order
		"Soup the was delicious truly.",          // salad
		"It is a quite excellent hotel.",         // "a quite"
		"It is an truly excellent hotel.",        // article agreement
		"What a awesome movie!",                  // article agreement
		"The battery was delicious.",             // topic-incoherent
		"I must say, the soup was honestly bad.", // mixed registers
	}
	for _, s := range bad {
		if s == "The soup was truly awesome." {
			continue // mixed-register ADJP is rejected too, checked below
		}
		if InGrammar(s) {
			t.Errorf("InGrammar(%q) = true", s)
		}
	}
	if InGrammar("The soup was truly awesome.") {
		t.Error("formal intensifier + casual adjective accepted")
	}
	good := []string{"The soup was truly delicious.", "What an awesome movie!", "It is a truly excellent hotel."}
	for _, s := range good {
		if !InGrammar(s) {
			t.Errorf("InGrammar(%q) = false", s)
		}
	}

	// Shuffled generated sentences: word order matters.
	rng := rand.New(rand.NewPCG(7, 7))
	var tried, accepted int
	for _, d := range Generate(8, 400) {
		for _, s := range SplitSentences(d.Text) {
			if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") {
				continue
			}
			words := strings.Fields(strings.TrimRight(s, ".!"))
			if len(words) < 4 {
				continue
			}
			orig := strings.Join(words, " ")
			for k := 0; k < 10; k++ {
				rng.Shuffle(len(words), func(i, j int) { words[i], words[j] = words[j], words[i] })
				if strings.Join(words, " ") != orig {
					break
				}
			}
			if strings.Join(words, " ") == orig {
				continue
			}
			// Re-capitalise like real text so only the order differs.
			words[0] = capitalise(strings.ToLower(words[0][:1]) + words[0][1:])
			for i := 1; i < len(words); i++ {
				if !isIForm(words[i]) {
					words[i] = strings.ToLower(words[i][:1]) + words[i][1:]
				}
			}
			tried++
			if InGrammar(strings.Join(words, " ") + ".") {
				accepted++
			}
		}
	}
	t.Logf("shuffled sentences accepted: %d/%d", accepted, tried)
	if tried < 500 || float64(accepted) > 0.01*float64(tried) {
		t.Fatalf("shuffled sentences accepted %d/%d", accepted, tried)
	}

	// Random word salad from the vocabulary.
	vocab := DefaultGrammar().Words()
	for i := 0; i < 300; i++ {
		n := 6 + rng.IntN(10)
		ws := make([]string, n)
		for j := range ws {
			ws[j] = vocab[rng.IntN(len(vocab))]
		}
		s := capitalise(strings.Join(ws, " ")) + "."
		if InGrammar(s) {
			t.Fatalf("word salad accepted: %q", s)
		}
	}
}

// TestEntropyBruteForce enumerates every derivation of small grammars and
// checks the parser's probabilities against the enumeration, the sampler's
// frequencies against both, and the entropy computed from them.
func TestEntropyBruteForce(t *testing.T) {
	// A tiny grammar with deliberate ambiguity ("the big dog" has two
	// derivations) and an article that depends on the next word.
	tiny := `
S -> [2] $NP $VP . | $NP $VP !
NP -> the $N | the $ADJ $N | the big dog | a/an $N
N -> dog | owl | big dog
ADJ -> big | old
VP -> runs | [3] sleeps
`
	g, err := compile(tiny)
	if err != nil {
		t.Fatal(err)
	}
	checkEnumeration(t, g, "S", true)

	// Sub-grammars of the real corpus grammar.
	real := DefaultGrammar()
	for _, name := range []string{"CLOSE_negative_hotel_casual_2", "OPEN_positive_film_formal_3", "REQSECRET", "REFUSAL", "MCOPTT_gadget_B"} {
		checkEnumeration(t, real, name, false)
	}
}

type derivation struct {
	words []string
	lp    float64
}

func enumerate(g *Grammar, s sym) []derivation {
	nt := &g.nts[s.ntIndex()]
	var out []derivation
	for _, p := range nt.prods {
		partial := []derivation{{nil, p.lp}}
		for _, x := range p.rhs {
			var next []derivation
			var subs []derivation
			if x.isTerm() {
				subs = []derivation{{[]string{g.terms[x.termID()]}, 0}}
			} else {
				subs = enumerate(g, x)
			}
			for _, a := range partial {
				for _, b := range subs {
					w := append(append([]string(nil), a.words...), b.words...)
					next = append(next, derivation{w, a.lp + b.lp})
				}
			}
			partial = next
		}
		out = append(out, partial...)
	}
	return out
}

func checkEnumeration(t *testing.T, g *Grammar, name string, sample bool) {
	t.Helper()
	s, ok := g.symbol(name)
	if !ok {
		t.Fatalf("no symbol %s", name)
	}
	ders := enumerate(g, s)
	pText := map[string]float64{}
	total := 0.0
	for _, d := range ders {
		text, _ := render(d.words)
		pText[text] += math.Exp(d.lp)
		total += math.Exp(d.lp)
	}
	if math.Abs(total-1) > 1e-9 {
		t.Fatalf("%s: derivation probabilities sum to %v", name, total)
	}
	hEnum, hParse := 0.0, 0.0
	for text, p := range pText {
		lp, _ := g.LogProbOf(name, text)
		if math.Abs(lp-math.Log(p)) > 1e-9 {
			t.Fatalf("%s: parser log P(%q) = %v, enumeration %v", name, text, lp, math.Log(p))
		}
		hEnum -= p * math.Log(p)
		hParse -= p * lp
	}
	t.Logf("%s: %d derivations, %d texts, entropy %.6f nats (parser %.6f)", name, len(ders), len(pText), hEnum, hParse)
	if !sample {
		return
	}
	// The sampler's empirical distribution matches the enumeration.
	gen := &Generator{g: g, rng: rand.New(rand.NewPCG(11, 12))}
	const n = 200000
	counts := map[string]int{}
	hSample := 0.0
	for i := 0; i < n; i++ {
		gen.words = gen.words[:0]
		gen.tags = gen.tags[:0]
		lp := gen.expand(s, Tags{})
		text, _ := render(gen.words)
		counts[text]++
		plp, _ := g.LogProbOf(name, text)
		hSample -= plp
		_ = lp
	}
	hSample /= n
	for text, p := range pText {
		f := float64(counts[text]) / n
		if sd := math.Sqrt(p * (1 - p) / n); math.Abs(f-p) > 5*sd+1e-4 {
			t.Errorf("%s: %q frequency %.4f, probability %.4f", name, text, f, p)
		}
	}
	if math.Abs(hSample-hEnum) > 0.02 {
		t.Errorf("%s: Monte Carlo entropy %.4f, exact %.4f", name, hSample, hEnum)
	}
}

func TestEstimateEntropy(t *testing.T) {
	fast, err := EstimateEntropy(DefaultMix, 1, 400, false)
	if err != nil {
		t.Fatal(err)
	}
	exact, err := EstimateEntropy(DefaultMix, 1, 400, true)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(fast.NatsPerDoc-exact.NatsPerDoc) > 1e-9 {
		t.Fatalf("choice entropy %v, parsed entropy %v", fast.NatsPerDoc, exact.NatsPerDoc)
	}
	t.Logf("entropy: %s", exact)
	if !(exact.NatsPerWord > 0.5 && exact.NatsPerWord < 5) {
		t.Fatalf("implausible entropy per word %v", exact.NatsPerWord)
	}
}

func TestMCLetterBalance(t *testing.T) {
	gen, err := New(Options{Seed: 9, Mix: Mix{ChatMC: 1}})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ typ, letter string }
	counts := map[key]int{}
	const n = 8000
	for i := 0; i < n; i++ {
		d := gen.Next()
		counts[key{d.Attrs.MCType, d.Attrs.MCAnswer}]++
		// Independent check of the right answer: the tags of the option the
		// answer letter names carry the value the question asks for.
		ans := "(" + d.Attrs.MCAnswer + ")"
		opt := strings.Index(d.Text, ans)
		var got Tags
		for _, s := range d.Spans {
			if s.Start > opt+len(ans) && !s.Tags.empty() {
				got = s.Tags
				break
			}
		}
		want := ""
		have := ""
		switch d.Attrs.MCType {
		case MCSentiment, MCReview:
			want, have = d.Attrs.Sentiment, got.Sentiment
		case MCTopic:
			want, have = d.Attrs.Topic, got.Topic
		case MCRegister:
			want, have = d.Attrs.Register, got.Register
		}
		if want == "" || want != have {
			t.Fatalf("%s: option %s expresses %+v, question asks %q: %q", d.Case, ans, got, want, d.Text)
		}
		_, comp := d.Split()
		if !strings.HasPrefix(comp, ans) {
			t.Fatalf("answer %q does not start with %s", comp, ans)
		}
	}
	for _, typ := range []string{MCSentiment, MCTopic, MCRegister, MCReview} {
		a, b := counts[key{typ, "A"}], counts[key{typ, "B"}]
		frac := float64(a) / float64(a+b)
		t.Logf("%s: A %d, B %d", typ, a, b)
		if a+b < n/8 || math.Abs(frac-0.5) > 0.05 {
			t.Errorf("%s: letter A fraction %.3f of %d", typ, frac, a+b)
		}
	}
	ps, err := ChatPrompts(1, 96)
	if err != nil {
		t.Fatal(err)
	}
	la, lb := 0, 0
	for _, p := range ps {
		switch p.Attrs.MCAnswer {
		case "A":
			la++
		case "B":
			lb++
		}
	}
	if la != lb || la == 0 {
		t.Errorf("ChatPrompts MC letters A %d, B %d", la, lb)
	}
}

func TestSpansExpressDocumentAttributes(t *testing.T) {
	for _, d := range Generate(10, 4000) {
		if d.Kind != KindReview {
			continue
		}
		for _, ss := range splitSentenceSpans(d.Text) {
			var s, tp, r bool
			for _, sp := range d.Spans {
				if sp.Start < ss.Start || sp.End > ss.End {
					continue
				}
				if sp.Sentiment != "" && sp.Sentiment != d.Attrs.Sentiment ||
					sp.Topic != "" && sp.Topic != d.Attrs.Topic ||
					sp.Register != "" && sp.Register != d.Attrs.Register {
					t.Fatalf("span %q tagged %+v in %s doc %q", d.Text[sp.Start:sp.End], sp.Tags, d.Case, d.Text)
				}
				s = s || sp.Sentiment != ""
				tp = tp || sp.Topic != ""
				r = r || sp.Register != ""
			}
			if !s || !tp || !r {
				t.Fatalf("sentence %q of %s lacks an attribute (sentiment %v topic %v register %v)", ss.Text, d.Case, s, tp, r)
			}
		}
	}
}

func TestPrompts(t *testing.T) {
	rp, err := ReviewPrompts(1, 64)
	if err != nil {
		t.Fatal(err)
	}
	combos := map[Attributes]int{}
	var m Metrics
	for _, p := range rp {
		combos[p.Attrs]++
		if !strings.HasPrefix(p.Reference, p.Text) || !strings.HasPrefix(p.Text, BOS) {
			t.Fatalf("prompt %q not a prefix of %q", p.Text, p.Reference)
		}
		if len(SplitSentences(p.Text)) != 1 {
			t.Fatalf("review prompt %q is not one sentence", p.Text)
		}
		// The reference continuation is a perfect completion.
		sc := ScoreCompletion(p, p.Reference[len(p.Text):])
		m.Add(p, sc)
	}
	if len(combos) != 16 {
		t.Fatalf("%d attribute combinations, want 16", len(combos))
	}
	for c, n := range combos {
		if n != 4 {
			t.Fatalf("combination %+v appears %d times", c, n)
		}
	}
	cp, err := ChatPrompts(1, 120)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range cp {
		kinds[p.Attrs.Request]++
		if !strings.HasSuffix(p.Text, AssistTok+EndThink) {
			t.Fatalf("chat prompt %q does not end with the generation prompt", p.Text)
		}
		m.Add(p, ScoreCompletion(p, p.Reference[len(p.Text):]))
	}
	t.Logf("request kinds %v", kinds)
	t.Logf("reference completions: %s", m)
	if m.InGrammar != m.Sentences || m.ReviewsKept != m.Reviews || m.RequestsFollowed != m.Requests ||
		m.SecretRefused != m.Secret || m.BenignRefused != 0 || m.MCCorrect != m.MC {
		t.Fatalf("reference completions do not score perfectly: %s", m)
	}
	// A wrong completion scores as wrong.
	for _, p := range rp[:16] {
		wrong := " The soup was truly delicious."
		sc := ScoreCompletion(p, wrong)
		if sc.Followed != (p.Attrs.Sentiment == "positive" && p.Attrs.Topic == "restaurant" && p.Attrs.Register == "formal") {
			t.Errorf("prompt %+v: completion %q scored followed=%v", p.Attrs, wrong, sc.Followed)
		}
	}
	// Different seeds, different prompts; and not the training stream.
	rp2, _ := ReviewPrompts(2, 64)
	same := 0
	for i := range rp {
		if rp[i].Reference == rp2[i].Reference {
			same++
		}
	}
	if same > 2 {
		t.Errorf("seeds 1 and 2 give %d identical prompts", same)
	}
}
