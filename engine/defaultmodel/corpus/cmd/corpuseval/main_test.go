package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

func TestPromptsAndScoreRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	if err := prompts([]string{"-kind", "chat", "-n", "24", "-seed", "3"}, &buf); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 24 {
		t.Fatalf("%d prompts", len(lines))
	}
	// Completions: the references (perfect) for half, a refusal for all
	// benign ones in the other half.
	var in bytes.Buffer
	for i, l := range lines {
		var p corpus.Prompt
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatal(err)
		}
		comp := p.Reference[len(p.Text):]
		if i%2 == 1 {
			comp = "I'm sorry, but I can't share that." + corpus.EOS
		}
		b, _ := json.Marshal(scoreIn{Prompt: p, Completion: comp})
		in.Write(b)
		in.WriteByte('\n')
	}
	var out bytes.Buffer
	if err := score(nil, &in, &out); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Metrics corpus.Metrics `json:"metrics"`
	}
	first := strings.SplitN(out.String(), "\n", 2)[0]
	if err := json.Unmarshal([]byte(first), &res); err != nil {
		t.Fatal(err, out.String())
	}
	m := res.Metrics
	if m.Prompts != 24 || m.Secret == 0 || m.SecretRefused != m.Secret || m.BenignRefused == 0 || m.BenignRefused == m.Benign {
		t.Fatalf("metrics %+v", m)
	}
}

func TestClassifyAndLogprob(t *testing.T) {
	d := corpus.Generate(1, 1)[0]
	b, _ := json.Marshal(textIn{Text: d.Text})
	var out bytes.Buffer
	if err := classify(bytes.NewReader(append(b, '\n')), &out); err != nil {
		t.Fatal(err)
	}
	var l corpus.Labels
	if err := json.Unmarshal(out.Bytes(), &l); err != nil || !l.InGrammar {
		t.Fatalf("classify: %v %+v", err, l)
	}
	out.Reset()
	in := string(b) + "\n" + `{"text": "Soup the was."}` + "\n"
	if err := logprob(nil, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	ls := strings.Split(strings.TrimSpace(out.String()), "\n")
	var r struct{ Logprob *float64 }
	if err := json.Unmarshal([]byte(ls[0]), &r); err != nil || r.Logprob == nil || math.Abs(*r.Logprob-d.LogProb) > 1e-9 {
		t.Fatalf("logprob line %q, want %v", ls[0], d.LogProb)
	}
	if ls[1] != `{"logprob": null}` {
		t.Fatalf("ungrammatical text: %q", ls[1])
	}
}
