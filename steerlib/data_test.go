package steerlib

import (
	"context"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// The default-model sets should speak the default model's language: check
// them against the corpus grammar's own recogniser and classifier.
func TestDefaultModelSetsAreInGrammar(t *testing.T) {
	for _, name := range []string{"sentiment", "register"} {
		d, err := LoadDataset(name)
		if err != nil {
			t.Fatal(err)
		}
		in, n := 0, 0
		for i := range d.Positive {
			for _, e := range []Example{d.Positive[i], d.Negative[i]} {
				n++
				if corpus.InGrammar(e.Prompt) {
					in++
				} else {
					t.Logf("%s: not in grammar: %q", name, e.Prompt)
				}
			}
			if name == "sentiment" {
				ps, _ := corpus.Sentiment(d.Positive[i].Prompt)
				ns, _ := corpus.Sentiment(d.Negative[i].Prompt)
				if ps != "positive" || ns != "negative" {
					t.Errorf("sentiment pair %d labelled %s/%s by the corpus classifier", i, ps, ns)
				}
			}
			if name == "register" {
				pr, _ := corpus.Register(d.Positive[i].Prompt)
				nr, _ := corpus.Register(d.Negative[i].Prompt)
				if pr != "formal" || nr != "casual" {
					t.Errorf("register pair %d labelled %s/%s by the corpus classifier", i, pr, nr)
				}
			}
		}
		t.Logf("%s: %d/%d sentences in the default model's grammar", name, in, n)
		if in*10 < n*8 {
			t.Errorf("%s: only %d/%d sentences in grammar", name, in, n)
		}
	}
}

func TestDatasetsLoadAndHash(t *testing.T) {
	seen := map[string]string{}
	for _, name := range DatasetNames() {
		if name == "topic" || name == "neutral" {
			continue
		}
		d, err := LoadDataset(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Positive) == 0 || len(d.Negative) == 0 || len(d.Hash) != 64 {
			t.Errorf("%s: %d/%d examples, hash %q", name, len(d.Positive), len(d.Negative), d.Hash)
		}
		if other, ok := seen[d.Hash]; ok {
			t.Errorf("%s and %s share a hash", name, other)
		}
		seen[d.Hash] = name
		again, _ := LoadDataset(name)
		if again.Hash != d.Hash {
			t.Errorf("%s: hash not deterministic", name)
		}
	}
	if _, err := TopicContrast("hotel", ""); err != nil {
		t.Error(err)
	}
	if len(NeutralTexts()) == 0 {
		t.Error("no neutral texts")
	}
}

func TestDefaultModelRequestsAndTopics(t *testing.T) {
	d, _ := LoadDataset("refusal")
	in := 0
	for _, e := range append(append([]Example{}, d.Positive...), d.Negative...) {
		if corpus.InGrammar(e.Prompt) {
			in++
		} else {
			t.Logf("refusal: not in grammar: %q", e.Prompt)
		}
	}
	t.Logf("refusal: %d/%d requests in grammar", in, d.Len())
	if in*10 < d.Len()*8 {
		t.Errorf("refusal: only %d/%d requests in grammar", in, d.Len())
	}
	for _, topic := range []string{"restaurant", "hotel", "film", "gadget"} {
		c, err := TopicContrast(topic, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range c.Positive {
			if got, _ := corpus.Topic(e.Prompt); got != topic {
				t.Errorf("%q: corpus topic %q, want %q", e.Prompt, got, topic)
			}
		}
	}
}

func TestSplitSpreadsAndKeepsPairs(t *testing.T) {
	d, _ := LoadDataset("sentiment")
	a, b := d.Split(0.25)
	if len(a.Positive) != 6 || len(b.Positive) != 18 || len(a.Negative) != 6 {
		t.Fatalf("split sizes %d/%d/%d", len(a.Positive), len(b.Positive), len(a.Negative))
	}
	for i := range a.Positive {
		// Pair i of the train half is pair 4i+3 of the original.
		if a.Positive[i] != d.Positive[4*i+3] || a.Negative[i] != d.Negative[4*i+3] {
			t.Errorf("train pair %d is not original pair %d", i, 4*i+3)
		}
	}
	if a.Hash == b.Hash || a.Hash == d.Hash {
		t.Error("split halves share a hash")
	}
}

// The neutral texts are the default text set of every cost measurement, so
// on the default model they must be text it knows and that says nothing
// about the attributes being steered: every text is in the corpus grammar,
// carries no sentiment or register evidence, is neither a refusal nor a
// secret request, rendered as a chat turn (ChatFormat, how they are meant to
// be measured on the default model) it is a request the grammar recognises,
// and the four topics are cycled so that every prefix of four is balanced.
func TestNeutralTextsInDefaultGrammar(t *testing.T) {
	texts := NeutralTexts()
	if len(texts) < 8 || len(texts)%4 != 0 {
		t.Fatalf("%d neutral texts, want a positive multiple of 4 (topics cycled), at least 8", len(texts))
	}
	topics := []string{"restaurant", "hotel", "film", "gadget"}
	seen := map[string]bool{}
	for i, text := range texts {
		if seen[text] {
			t.Errorf("text %d %q repeated", i, text)
		}
		seen[text] = true
		l := corpus.Classify(text)
		if !l.InGrammar || len(l.Sentences) == 0 {
			t.Errorf("text %d %q is not in the default model's grammar (%.0f%% of its sentences)", i, text, 100*l.InGrammarFraction)
		}
		if l.Sentiment != "" || l.Register != "" || l.Refusal {
			t.Errorf("text %d %q is labelled sentiment %q, register %q, refusal %v; want none", i, text, l.Sentiment, l.Register, l.Refusal)
		}
		for _, s := range l.Sentences {
			if s.HasSentiment || s.HasRegister {
				t.Errorf("text %d %q: sentence %q carries sentiment (%v) or register (%v) evidence", i, text, s.Text, s.HasSentiment, s.HasRegister)
			}
			for _, sym := range s.Symbols {
				if sym == "REQSECRET" {
					t.Errorf("text %d %q is a secret request", i, text)
				}
			}
		}
		chat := ChatFormat.Render(Example{Prompt: text, Mark: -1}).Text
		if req := corpus.Classify(chat).Request; req == "" || req == corpus.RequestSecret {
			t.Errorf("text %d %q as a chat turn is recognised as request %q, want a non-secret request of the grammar", i, text, req)
		}
		if want := topics[i%len(topics)]; l.Topic != want {
			t.Errorf("text %d %q has topic %q, want %q (topics cycled %v)", i, text, l.Topic, want, topics)
		}
	}
}

// A dataset carries the read position its examples were written for; Extract
// uses it when the options leave Read empty, and explicit options win.
func TestDatasetReadPosition(t *testing.T) {
	want := map[string]ReadPos{"sentiment": ReadMean, "register": ReadMean, "refusal": "", "choice": "", "truefalse": ""}
	for name, r := range want {
		d, err := LoadDataset(name)
		if err != nil {
			t.Fatal(err)
		}
		if d.Read != r {
			t.Errorf("%s: Read %q, want %q", name, d.Read, r)
		}
	}
	d, err := LoadDataset("sentiment")
	if err != nil {
		t.Fatal(err)
	}
	train, _ := d.Split(0.5)
	if train.Read != ReadMean {
		t.Errorf("Split dropped the read position: %q", train.Read)
	}
	m := loadDefault(t)
	ctx := context.Background()
	extract := func(r ReadPos) *Activations {
		t.Helper()
		a, err := Extract(ctx, m, train, ExtractOptions{Layers: []int{3}, Format: ReviewFormat, Read: r})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	dflt, mean, last := extract(""), extract(ReadMean), extract(ReadLast)
	if dflt.Opt.Read != ReadMean || last.Opt.Read != ReadLast {
		t.Fatalf("resolved reads: default %q, explicit last %q", dflt.Opt.Read, last.Opt.Read)
	}
	vec := func(a *Activations) []float64 {
		t.Helper()
		v, err := a.Vector(DiffMean, engine.SiteBlockOut, nil, EstimateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return v.Dirs[3]
	}
	vd, vm, vl := vec(dflt), vec(mean), vec(last)
	for i := range vd {
		if vd[i] != vm[i] {
			t.Fatalf("default read differs from ReadMean at component %d: %g vs %g", i, vd[i], vm[i])
		}
	}
	same := true
	for i := range vd {
		same = same && vd[i] == vl[i]
	}
	if same {
		t.Error("ReadLast gave the same vector as ReadMean: the option was ignored")
	}
	if _, err := Extract(ctx, m, train, ExtractOptions{Read: "middle"}); err == nil || !strings.Contains(err.Error(), `unknown read position "middle"`) {
		t.Errorf("bad read position: err %v", err)
	}
	// An Offset names a token before the last: with Read empty it reads
	// there, whatever the dataset's default; with another read it is an error.
	off, err := Extract(ctx, m, train, ExtractOptions{Layers: []int{3}, Format: ReviewFormat, Offset: 1})
	if err != nil {
		t.Fatal(err)
	}
	if off.Opt.Read != ReadLast {
		t.Errorf("Offset with Read empty: read %q, want last", off.Opt.Read)
	}
	if _, err := Extract(ctx, m, train, ExtractOptions{Read: ReadMean, Offset: 1}); err == nil || !strings.Contains(err.Error(), "applies to ReadLast only") {
		t.Errorf("Offset with ReadMean: err %v", err)
	}
}
