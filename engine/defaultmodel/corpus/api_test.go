package corpus

import (
	"slices"
	"strings"
	"testing"
)

func TestNextWhereAndTagsAt(t *testing.T) {
	gen, err := New(Options{Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		want := Attributes{Sentiment: domains["s"][i%2], Topic: domains["t"][i%4]}
		d, err := gen.NextWhere(KindReview, want)
		if err != nil {
			t.Fatal(err)
		}
		if d.Kind != KindReview || d.Attrs.Sentiment != want.Sentiment || d.Attrs.Topic != want.Topic {
			t.Fatalf("NextWhere(%+v) gave %s %+v", want, d.Kind, d.Attrs)
		}
		l := Classify(d.Text)
		if l.Sentiment != want.Sentiment || l.Topic != want.Topic {
			t.Fatalf("classifier disagrees with NextWhere: %+v vs %q", want, d.Text)
		}
		// TagsAt over a whole span equals the span's tags; over a range
		// covering a sentiment word it reports that word's sentiment.
		for _, sp := range d.Spans {
			if got := d.TagsAt(sp.Start, sp.End); got != sp.Tags {
				t.Fatalf("TagsAt(%d,%d) = %+v, span %+v", sp.Start, sp.End, got, sp.Tags)
			}
		}
	}
	if _, err := gen.NextWhere(KindReview, Attributes{Request: RequestSecret}); err == nil {
		t.Fatal("impossible request did not fail")
	}
	d, err := gen.NextWhere(KindChat, Attributes{Request: RequestMC, MCType: MCTopic, MCAnswer: "B"})
	if err != nil || MCAnswer(d.Text) != "B" || d.Attrs.MCType != MCTopic {
		t.Fatalf("MC NextWhere: %v %+v %q", err, d.Attrs, d.Text)
	}
}

// Every generated review names a topic and register that Topics and
// Registers list, and every listed value is generated.
func TestTopicsRegisters(t *testing.T) {
	g, err := New(Options{Seed: 3, Mix: Mix{Review: 1}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for range 400 {
		d := g.Next()
		if !slices.Contains(Topics(), d.Attrs.Topic) || !slices.Contains(Registers(), d.Attrs.Register) {
			t.Fatalf("review of topic %q, register %q: not in Topics %v / Registers %v", d.Attrs.Topic, d.Attrs.Register, Topics(), Registers())
		}
		seen[d.Attrs.Topic], seen[d.Attrs.Register] = true, true
	}
	for _, v := range append(Topics(), Registers()...) {
		if !seen[v] {
			t.Errorf("%q listed but never generated in 400 reviews", v)
		}
	}
	Topics()[0] = "x" // a copy: callers cannot change the grammar
	if Topics()[0] == "x" {
		t.Error("Topics returned the grammar's own slice")
	}
}

func TestParseMix(t *testing.T) {
	m, err := ParseMix("review=1, chat_secret=0.5")
	if err != nil || m != (Mix{Review: 1, ChatSecret: 0.5}) {
		t.Fatalf("ParseMix: %+v %v", m, err)
	}
	for _, bad := range []string{"review", "review=-1", "poems=1", "review=x"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q) accepted", bad)
		}
	}
	if _, err := New(Options{Mix: Mix{ChatMC: 0}, Seed: 1}); err != nil {
		t.Fatal("zero mix should mean DefaultMix:", err)
	}
	gen, err := New(Options{Seed: 1, Mix: Mix{ChatSecret: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if d := gen.Next(); d.Attrs.Request != RequestSecret {
			t.Fatalf("mix ignored: %+v", d.Attrs)
		}
	}
}

func TestReviewPrefixPrompts(t *testing.T) {
	ps, err := ReviewPrefixPrompts(3, 32, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		body := strings.TrimPrefix(p.Text, BOS)
		if len(strings.Fields(body)) != 4 || !strings.HasPrefix(p.Reference, p.Text) {
			t.Fatalf("prefix %q of %q", p.Text, p.Reference)
		}
	}
}

func TestDocumentSplit(t *testing.T) {
	for _, d := range Generate(13, 300) {
		p, c := d.Split()
		if p+c != d.Text || c == "" {
			t.Fatalf("Split(%q) = %q + %q", d.Text, p, c)
		}
		if d.Kind == KindChat && !strings.HasSuffix(p, AssistTok+EndThink) {
			t.Fatalf("chat prompt %q", p)
		}
		if d.Kind == KindReview && (!strings.HasPrefix(c, " ") || len(SplitSentences(p)) != 1) {
			t.Fatalf("review split %q | %q", p, c)
		}
	}
}

func TestScoreCompletionTruncation(t *testing.T) {
	ps, err := ReviewPrompts(1, 16)
	if err != nil {
		t.Fatal(err)
	}
	var p Prompt
	for _, q := range ps {
		if q.Attrs == (Attributes{Sentiment: "negative", Topic: "hotel", Register: "casual"}) {
			p = q
		}
	}
	sc := ScoreCompletion(p, " The room was super dirty. The towels were")
	if !sc.Truncated || sc.Sentences != 1 || sc.InGrammar != 1 || !sc.Followed {
		t.Fatalf("truncated completion: %+v", sc)
	}
	sc = ScoreCompletion(p, " The room was super dirty. The towels were"+EOS)
	if sc.Truncated || sc.Sentences != 2 || sc.InGrammar != 1 {
		t.Fatalf("ended completion: %+v", sc)
	}
	sc = ScoreCompletion(p, " The room was super clean! Wow, the staff were so welcoming."+EOS+"ignored")
	if sc.SentimentOK || !sc.TopicOK || !sc.RegisterOK || sc.Followed || sc.InGrammar != 2 {
		t.Fatalf("wrong-sentiment completion: %+v", sc)
	}
}
