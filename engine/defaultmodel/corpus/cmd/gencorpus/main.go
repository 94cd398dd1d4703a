// Command gencorpus writes a generated corpus for training the default model.
//
//	go run ./engine/defaultmodel/corpus/cmd/gencorpus -seed 1 -n 100000 -o out.jsonl [-format text|jsonl]
//
// jsonl (default): one JSON object per line with text, kind, attrs, case and
// logprob (the exact natural-log probability of the text under the
// generator); -spans adds the labelled word spans (byte offsets into text).
// text: one document text per line. Document texts already contain BOS and
// EOS (and the chat special tokens) and never contain a newline.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

type record struct {
	Text    string            `json:"text"`
	Kind    corpus.Kind       `json:"kind"`
	Attrs   corpus.Attributes `json:"attrs"`
	Case    string            `json:"case"`
	LogProb float64           `json:"logprob"`
	Spans   []corpus.Span     `json:"spans,omitempty"`
}

func main() {
	seed := flag.Uint64("seed", 1, "PCG seed; the same seed gives the same bytes")
	n := flag.Int("n", 1000, "number of documents")
	out := flag.String("o", "-", "output file (- for stdout)")
	format := flag.String("format", "jsonl", "jsonl or text")
	mixFlag := flag.String("mix", "", "kind mix, e.g. review=0.55,chat_review=0.15,chat_opinion=0.05,chat_secret=0.1,chat_mc=0.15 (default: corpus.DefaultMix)")
	spans := flag.Bool("spans", false, "jsonl: include labelled spans (only spans that express an attribute)")
	stats := flag.Bool("stats", false, "print corpus statistics (vocabulary, words/doc, entropy) to stderr")
	flag.Parse()
	if err := run(*seed, *n, *out, *format, *mixFlag, *spans, *stats); err != nil {
		fmt.Fprintln(os.Stderr, "gencorpus:", err)
		os.Exit(1)
	}
}

func run(seed uint64, n int, out, format, mixFlag string, spans, stats bool) error {
	if format != "jsonl" && format != "text" {
		return fmt.Errorf("-format %q: want jsonl or text", format)
	}
	opt := corpus.Options{Seed: seed}
	if mixFlag != "" {
		m, err := corpus.ParseMix(mixFlag)
		if err != nil {
			return err
		}
		opt.Mix = m
	}
	gen, err := corpus.New(opt)
	if err != nil {
		return err
	}
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return fmt.Errorf("create %s: %w", out, err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var st statistics
	for i := 0; i < n; i++ {
		d := gen.Next()
		if stats {
			st.add(d)
		}
		if format == "text" {
			bw.WriteString(d.Text)
			bw.WriteByte('\n')
			continue
		}
		r := record{Text: d.Text, Kind: d.Kind, Attrs: d.Attrs, Case: d.Case, LogProb: d.LogProb}
		if spans {
			for _, s := range d.Spans {
				if s.Tags != (corpus.Tags{}) {
					r.Spans = append(r.Spans, s)
				}
			}
		}
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("document %d: %w", i, err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", out, err)
	}
	if stats {
		st.print(os.Stderr)
	}
	return nil
}

// statistics of the generated documents; the entropy figures are exact
// per-document log-probabilities averaged over this sample.
type statistics struct {
	docs, words, chars, sentences int
	nats                          float64
	kinds                         map[string]int
	vocab                         map[string]bool
}

func (s *statistics) add(d corpus.Document) {
	if s.kinds == nil {
		s.kinds, s.vocab = map[string]int{}, map[string]bool{}
	}
	s.docs++
	s.nats -= d.LogProb
	k := string(d.Kind)
	if d.Attrs.Request != "" {
		k += "/" + d.Attrs.Request
	}
	s.kinds[k]++
	s.sentences += len(corpus.SplitSentences(d.Text))
	for _, sp := range d.Spans {
		t := d.Text[sp.Start:sp.End]
		switch {
		case strings.HasPrefix(t, "<"):
			continue
		case t == "," || t == "." || t == "!" || t == "?":
		default:
			s.words++
			s.vocab[strings.ToLower(t[:1])+t[1:]] = true
		}
		s.chars += len([]rune(t))
	}
	s.chars += strings.Count(d.Text, " ")
}

func (s *statistics) print(w io.Writer) {
	if s.docs == 0 {
		return
	}
	n := float64(s.docs)
	fmt.Fprintf(w, "documents %d, kinds %v\n", s.docs, s.kinds)
	fmt.Fprintf(w, "grammar vocabulary %d words; %d distinct words in this sample\n", len(corpus.DefaultGrammar().Words()), len(s.vocab))
	fmt.Fprintf(w, "%.2f sentences/doc, %.2f words/doc, %.1f chars/doc\n", float64(s.sentences)/n, float64(s.words)/n, float64(s.chars)/n)
	fmt.Fprintf(w, "entropy (exact log-probs, sample mean): %.3f nats/doc, %.4f nats/word, %.4f nats/char\n",
		s.nats/n, s.nats/float64(s.words), s.nats/float64(s.chars))
}
