package steerlib

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"math"
	"sort"
	"strings"
)

// Example is one text of a contrastive set, before chat rendering.
//
// Prompt is what the user says (or, for plain-text sets, the text itself);
// Completion is what follows it: the assistant's reply, a response prefix, or
// an answer such as "(A". System is an optional system prompt (repeng's
// persona sentence goes there). Mark is the byte offset inside Completion of
// the token that PosMarked reads — for CAA items the answer letter — or -1.
type Example struct {
	System     string `json:"system,omitempty"`
	Prompt     string `json:"prompt"`
	Completion string `json:"completion,omitempty"`
	Mark       int    `json:"mark"`
	Label      string `json:"label,omitempty"`
}

// ContrastivePair is a positive and a negative example that differ only in
// the attribute of interest.
type ContrastivePair struct {
	Positive Example `json:"positive"`
	Negative Example `json:"negative"`
}

// Dataset is a contrastive set: positive and negative examples, paired
// (Positive[i] and Negative[i] form a pair) or not (Arditi-style instruction
// sets). Hash is the sha256 of the canonical JSON of the examples, so a
// vector's provenance names exactly the data it was made from.
type Dataset struct {
	Name        string
	Description string
	Source      string // where the data came from: an embedded file, a builder, a user
	PosLabel    string
	NegLabel    string
	Positive    []Example
	Negative    []Example
	Paired      bool
	Hash        string
	// Read is the token-position rule the examples were written for, used
	// by Extract when ExtractOptions.Read is empty ("" = ReadLast). Whole
	// texts whose attribute is spread over the text (a review's sentiment,
	// a sentence's register) read ReadMean: their last token is punctuation,
	// and on the default model the difference of means there does not steer
	// (at layers 2 and 3 it even turns the sentiment the other way).
	Read ReadPos
}

// NewPairedDataset builds a paired dataset from pairs and computes its hash.
func NewPairedDataset(name string, pairs []ContrastivePair) *Dataset {
	d := &Dataset{Name: name, Source: "builder", PosLabel: "positive", NegLabel: "negative", Paired: true}
	for _, p := range pairs {
		d.Positive = append(d.Positive, p.Positive)
		d.Negative = append(d.Negative, p.Negative)
	}
	d.rehash()
	return d
}

// NewSetDataset builds an unpaired dataset from two example sets.
func NewSetDataset(name string, pos, neg []Example) *Dataset {
	d := &Dataset{Name: name, Source: "builder", PosLabel: "positive", NegLabel: "negative",
		Positive: append([]Example(nil), pos...), Negative: append([]Example(nil), neg...)}
	d.rehash()
	return d
}

// Pairs returns the pairs of a paired dataset (nil for an unpaired one).
func (d *Dataset) Pairs() []ContrastivePair {
	if !d.Paired {
		return nil
	}
	out := make([]ContrastivePair, len(d.Positive))
	for i := range d.Positive {
		out[i] = ContrastivePair{d.Positive[i], d.Negative[i]}
	}
	return out
}

// Len is the number of positive plus negative examples.
func (d *Dataset) Len() int { return len(d.Positive) + len(d.Negative) }

// Split returns two datasets: about frac of each class for the first and
// the rest for the second, keeping pairs together. The first set takes
// evenly spread examples (example i goes to it when ⌊(i+1)·frac⌋ >
// ⌊i·frac⌋), not a prefix, because the embedded sets are ordered by topic;
// it is deterministic, so a held-out split is reproducible.
func (d *Dataset) Split(frac float64) (train, test *Dataset) {
	pick := func(xs []Example) (a, b []Example) {
		for i, x := range xs {
			if math.Floor(float64(i+1)*frac) > math.Floor(float64(i)*frac) {
				a = append(a, x)
			} else {
				b = append(b, x)
			}
		}
		return
	}
	pa, pb := pick(d.Positive)
	na, nb := pick(d.Negative)
	mk := func(suffix string, p, n []Example) *Dataset {
		c := *d
		c.Name = d.Name + suffix
		c.Positive, c.Negative = p, n
		c.rehash()
		return &c
	}
	return mk("[train]", pa, na), mk("[test]", pb, nb)
}

func (d *Dataset) rehash() {
	b, _ := json.Marshal(struct {
		P, N   []Example
		Paired bool
	}{d.Positive, d.Negative, d.Paired})
	s := sha256.Sum256(b)
	d.Hash = hex.EncodeToString(s[:])
}

// MIMEBundle renders the dataset as a small table of its first examples.
func (d *Dataset) MIMEBundle() map[string]any {
	var b strings.Builder
	fmt.Fprintf(&b, "<b>%s</b>: %d %s / %d %s examples, paired=%v, sha256 %s…<br>",
		html.EscapeString(d.Name), len(d.Positive), html.EscapeString(d.PosLabel), len(d.Negative),
		html.EscapeString(d.NegLabel), d.Paired, d.Hash[:12])
	b.WriteString("<table><tr><th>#</th><th>" + html.EscapeString(d.PosLabel) + "</th><th>" + html.EscapeString(d.NegLabel) + "</th></tr>")
	n := max(len(d.Positive), len(d.Negative))
	for i := 0; i < n && i < 8; i++ {
		cell := func(xs []Example) string {
			if i >= len(xs) {
				return ""
			}
			return html.EscapeString(xs[i].System + " " + xs[i].Prompt + " ⟨" + xs[i].Completion + "⟩")
		}
		fmt.Fprintf(&b, "<tr><td>%d</td><td>%s</td><td>%s</td></tr>", i, cell(d.Positive), cell(d.Negative))
	}
	b.WriteString("</table>")
	return map[string]any{
		"text/plain": fmt.Sprintf("Dataset %q: %d+%d examples, paired=%v, sha256 %s", d.Name, len(d.Positive), len(d.Negative), d.Paired, d.Hash),
		"text/html":  b.String(),
	}
}

// PersonaPairs builds repeng-shape pairs: for every pair of opposite traits
// and every output snippet, each word prefix of the snippet becomes the
// completion after a system prompt made from template (which must contain
// "{persona}") filled with the positive or the negative trait. Reading the last
// token then samples many positions inside responses.
func PersonaPairs(template string, traits [][2]string, outputs []string) ([]ContrastivePair, error) {
	if !strings.Contains(template, "{persona}") {
		return nil, fmt.Errorf("steerlib: persona template %q has no {persona} placeholder", template)
	}
	var out []ContrastivePair
	for _, tr := range traits {
		for _, o := range outputs {
			words := strings.Fields(o)
			for k := 1; k <= len(words); k++ {
				prefix := strings.Join(words[:k], " ")
				mk := func(trait string) Example {
					return Example{System: strings.ReplaceAll(template, "{persona}", trait), Prompt: "", Completion: prefix, Mark: -1, Label: trait}
				}
				out = append(out, ContrastivePair{mk(tr[0]), mk(tr[1])})
			}
		}
	}
	return out, nil
}

// ChoiceItem is one CAA-style A/B question; Matching is "A" or "B", the
// answer that shows the behaviour.
type ChoiceItem struct {
	Question string `json:"question"`
	A        string `json:"a"`
	B        string `json:"b"`
	Matching string `json:"matching"`
	// Inline puts the options on the question's line ("Q (A) a (B) b", the
	// default model's format) instead of CAA's "Q\n\nChoices:\n(A) a\n(B) b".
	Inline bool `json:"inline,omitempty"`
}

// Prompt formats the question with its two options.
func (c ChoiceItem) Prompt() string {
	if c.Inline {
		return c.Question + " (A) " + c.A + " (B) " + c.B
	}
	return c.Question + "\n\nChoices:\n(A) " + c.A + "\n(B) " + c.B
}

// ChoicePairs builds CAA pairs: the same question answered "(A" and "(B",
// the matching answer positive. Mark records the byte offset of the answer
// letter in the completion, so PosMarked reads the letter token (CAA reads
// the second-to-last token of "(A)", which is the letter).
func ChoicePairs(items []ChoiceItem) ([]ContrastivePair, error) {
	out := make([]ContrastivePair, 0, len(items))
	for i, it := range items {
		m := strings.ToUpper(strings.TrimSpace(it.Matching))
		if m != "A" && m != "B" {
			return nil, fmt.Errorf("steerlib: choice item %d: matching answer %q is not A or B", i, it.Matching)
		}
		other := "B"
		if m == "B" {
			other = "A"
		}
		mk := func(letter string) Example {
			return Example{Prompt: it.Prompt(), Completion: "(" + letter + ")", Mark: 1, Label: letter}
		}
		out = append(out, ContrastivePair{mk(m), mk(other)})
	}
	return out, nil
}

// InstructionSets builds an Arditi-style unpaired dataset: each instruction
// becomes a user turn with an empty completion, read at the post-instruction
// positions (PosLast, or PosLastK over the template tokens after the
// instruction).
func InstructionSets(name string, positive, negative []string) *Dataset {
	mk := func(xs []string, label string) []Example {
		out := make([]Example, len(xs))
		for i, s := range xs {
			out[i] = Example{Prompt: s, Mark: -1, Label: label}
		}
		return out
	}
	d := NewSetDataset(name, mk(positive, "positive"), mk(negative, "negative"))
	return d
}

// FreeFormPairs builds a paired dataset of plain texts (no chat template):
// positive[i] against negative[i].
func FreeFormPairs(name string, positive, negative []string) (*Dataset, error) {
	if len(positive) != len(negative) {
		return nil, fmt.Errorf("steerlib: free-form pairs %q: %d positive vs %d negative texts", name, len(positive), len(negative))
	}
	pairs := make([]ContrastivePair, len(positive))
	for i := range positive {
		pairs[i] = ContrastivePair{Example{Prompt: positive[i], Mark: -1}, Example{Prompt: negative[i], Mark: -1}}
	}
	return NewPairedDataset(name, pairs), nil
}

//go:embed data/*.json
var dataFS embed.FS

type datasetFile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	License     string `json:"license"`
	Kind        string `json:"kind"`
	PosLabel    string `json:"positive_label"`
	NegLabel    string `json:"negative_label"`
	Pairs       []struct {
		Prompt   string `json:"prompt"`
		Positive string `json:"positive"`
		Negative string `json:"negative"`
	} `json:"pairs"`
	Positive []string `json:"positive"`
	Negative []string `json:"negative"`
	Items    json.RawMessage
	Template string      `json:"template"`
	Traits   [][2]string `json:"traits"`
	Outputs  []string    `json:"outputs"`
	Texts    []string    `json:"texts"`
	Read     ReadPos     `json:"read"`
}

func readDatasetFile(name string) (*datasetFile, error) {
	b, err := dataFS.ReadFile("data/" + name + ".json")
	if err != nil {
		return nil, fmt.Errorf("steerlib: no embedded dataset %q (have %v): %w", name, DatasetNames(), err)
	}
	var f datasetFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("steerlib: embedded data/%s.json: %w", name, err)
	}
	if err := f.Read.valid(); err != nil {
		return nil, fmt.Errorf("steerlib: embedded data/%s.json: field read: %w", name, err)
	}
	return &f, nil
}

// DatasetNames lists the embedded datasets.
func DatasetNames() []string {
	ents, _ := dataFS.ReadDir("data")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
}

// LoadDataset returns an embedded contrastive dataset by name:
//
//	sentiment  paired reviews, positive vs negative (default-model grammar; ReviewFormat; read: mean)
//	register   paired sentences, formal vs casual (default-model grammar; ReviewFormat; read: mean)
//	refusal    password/secret requests vs opinion requests (default model; ChatFormat)
//	choice     CAA A/B items, positive option matching (default model; ChatFormat)
//	persona    repeng persona pairs, first trait of each pair positive (generic English)
//	truefalse  true vs false statements (generic English)
//	requests   should-refuse vs benign chat requests (generic English)
//
// "read: mean" marks the datasets whose Read is ReadMean: Extract averages
// their tokens unless the options say otherwise (the others read the last
// token). "topic" is labelled, not contrastive: use TopicContrast. "neutral" is a
// text list (default-model grammar, sentiment-free; ChatFormat): use
// NeutralTexts.
func LoadDataset(name string) (*Dataset, error) {
	f, err := readDatasetFile(name)
	if err != nil {
		return nil, err
	}
	var d *Dataset
	switch f.Kind {
	case "pairs":
		pairs := make([]ContrastivePair, len(f.Pairs))
		for i, p := range f.Pairs {
			pairs[i] = ContrastivePair{
				Example{Prompt: p.Prompt + p.Positive, Mark: -1, Label: f.PosLabel},
				Example{Prompt: p.Prompt + p.Negative, Mark: -1, Label: f.NegLabel}}
		}
		d = NewPairedDataset(f.Name, pairs)
	case "sets":
		d = InstructionSets(f.Name, f.Positive, f.Negative)
	case "choice":
		var items []ChoiceItem
		if err := json.Unmarshal(f.Items, &items); err != nil {
			return nil, fmt.Errorf("steerlib: embedded data/%s.json: items: %w", name, err)
		}
		pairs, err := ChoicePairs(items)
		if err != nil {
			return nil, fmt.Errorf("steerlib: embedded data/%s.json: %w", name, err)
		}
		d = NewPairedDataset(f.Name, pairs)
		f.PosLabel, f.NegLabel = "matching", "not matching"
	case "persona":
		pairs, err := PersonaPairs(f.Template, f.Traits, f.Outputs)
		if err != nil {
			return nil, fmt.Errorf("steerlib: embedded data/%s.json: %w", name, err)
		}
		d = NewPairedDataset(f.Name, pairs)
		f.PosLabel, f.NegLabel = "first trait", "opposite trait"
	default:
		return nil, fmt.Errorf("steerlib: embedded dataset %q is of kind %q, not contrastive (use TopicContrast or NeutralTexts)", name, f.Kind)
	}
	d.Description, d.Source, d.Read = f.Description, "embedded data/"+name+".json ("+f.License+")", f.Read
	if f.PosLabel != "" {
		d.PosLabel, d.NegLabel = f.PosLabel, f.NegLabel
	}
	return d, nil
}

// ChoiceItems returns the embedded CAA items (for A/B evaluation).
func ChoiceItems() ([]ChoiceItem, error) {
	f, err := readDatasetFile("choice")
	if err != nil {
		return nil, err
	}
	var items []ChoiceItem
	if err := json.Unmarshal(f.Items, &items); err != nil {
		return nil, fmt.Errorf("steerlib: embedded data/choice.json: items: %w", err)
	}
	return items, nil
}

// TopicContrast returns an unpaired dataset of the embedded topic reviews:
// topic pos (e.g. "restaurant") against topic neg, or against every other
// topic when neg is "".
func TopicContrast(pos, neg string) (*Dataset, error) {
	f, err := readDatasetFile("topic")
	if err != nil {
		return nil, err
	}
	var items []struct{ Label, Text string }
	if err := json.Unmarshal(f.Items, &items); err != nil {
		return nil, fmt.Errorf("steerlib: embedded data/topic.json: %w", err)
	}
	var p, n []Example
	for _, it := range items {
		switch {
		case it.Label == pos:
			p = append(p, Example{Prompt: it.Text, Mark: -1, Label: it.Label})
		case neg == "" || it.Label == neg:
			n = append(n, Example{Prompt: it.Text, Mark: -1, Label: it.Label})
		}
	}
	if len(p) == 0 || len(n) == 0 {
		return nil, fmt.Errorf("steerlib: topic contrast %q vs %q: no examples (topics: restaurant, hotel, film, gadget)", pos, neg)
	}
	d := NewSetDataset("topic:"+pos+"-vs-"+neg, p, n)
	d.PosLabel, d.NegLabel, d.Source = pos, neg, "embedded data/topic.json"
	d.Read = ReadMean // whole reviews: the topic is spread over the text, like sentiment
	if neg == "" {
		d.NegLabel = "other topics"
	}
	return d, nil
}

// NeutralTexts returns the embedded neutral texts, the default text set of
// the cost measurements (KL from the unsteered model, perplexity, expert
// routing; DoseOptions.Neutral). Every text is a sentence of the default
// model's grammar (engine/defaultmodel/corpus): an opinion request such as
// "How was the movie?", with no sentiment, no register and no refusal or
// secret request, so a cost measured on the default model reflects the
// steering and not text the model never saw; a test checks each with
// corpus.Classify. On the default model, measure with ChatFormat: it was
// trained on these requests as user turns, while after a bare BOS
// (ReviewFormat) it only ever saw reviews. The topics restaurant, hotel, film
// and gadget are cycled in that order, so every prefix of four texts is
// balanced. They are plain English and serve DeepSeek-V4-Flash as well.
func NeutralTexts() []string {
	f, err := readDatasetFile("neutral")
	if err != nil {
		panic(err) // embedded at build time; cannot fail
	}
	return f.Texts
}
