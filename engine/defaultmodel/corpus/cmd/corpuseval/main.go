// Command corpuseval exposes the corpus evaluation tools to scripts (for
// example the offline PyTorch training script, which cannot call Go):
//
//	corpuseval prompts -kind review|prefix|chat -seed 1 -n 200 [-words 4]   > prompts.jsonl
//	corpuseval score   [-v] < completions.jsonl     # lines {"prompt": <prompt object>, "completion": "..."}
//	corpuseval classify < texts.jsonl                # lines {"text": "..."} → Labels JSON per line
//	corpuseval logprob [-mix ...] < texts.jsonl       # lines {"text": "..."} → {"logprob": ln P(text)}
//
// score prints the aggregated metrics (corpus.Metrics) on stdout, and with
// -v one Score per input line first.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: corpuseval prompts|score|classify|logprob [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "prompts":
		err = prompts(os.Args[2:], os.Stdout)
	case "score":
		err = score(os.Args[2:], os.Stdin, os.Stdout)
	case "classify":
		err = classify(os.Stdin, os.Stdout)
	case "logprob":
		err = logprob(os.Args[2:], os.Stdin, os.Stdout)
	default:
		err = fmt.Errorf("unknown subcommand %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "corpuseval:", err)
		os.Exit(1)
	}
}

func prompts(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("prompts", flag.ContinueOnError)
	kind := fs.String("kind", "review", "review (BOS + first sentence), prefix (BOS + first -words words) or chat")
	seed := fs.Uint64("seed", 1, "seed (prompt sets use their own PCG streams, distinct from training)")
	n := fs.Int("n", 200, "number of prompts")
	words := fs.Int("words", 4, "prefix: number of words")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var ps []corpus.Prompt
	var err error
	switch *kind {
	case "review":
		ps, err = corpus.ReviewPrompts(*seed, *n)
	case "prefix":
		ps, err = corpus.ReviewPrefixPrompts(*seed, *n, *words)
	case "chat":
		ps, err = corpus.ChatPrompts(*seed, *n)
	default:
		err = fmt.Errorf("-kind %q: want review, prefix or chat", *kind)
	}
	if err != nil {
		return err
	}
	return writeJSONL(w, len(ps), func(i int) any { return ps[i] })
}

func writeJSONL(w io.Writer, n int, item func(int) any) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for i := 0; i < n; i++ {
		if err := enc.Encode(item(i)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// eachLine decodes one JSON object per input line into v and calls f.
func eachLine(r io.Reader, v func() any, f func(line int, x any) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		x := v()
		if err := json.Unmarshal(sc.Bytes(), x); err != nil {
			return fmt.Errorf("input line %d: %w", line, err)
		}
		if err := f(line, x); err != nil {
			return fmt.Errorf("input line %d: %w", line, err)
		}
	}
	return sc.Err()
}

type scoreIn struct {
	Prompt     corpus.Prompt `json:"prompt"`
	Completion string        `json:"completion"`
}

func score(args []string, r io.Reader, w io.Writer) error {
	fs := flag.NewFlagSet("score", flag.ContinueOnError)
	verbose := fs.Bool("v", false, "print one Score per line before the metrics")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var m corpus.Metrics
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	err := eachLine(r, func() any { return new(scoreIn) }, func(_ int, x any) error {
		in := x.(*scoreIn)
		if in.Prompt.Kind == "" {
			return fmt.Errorf("missing prompt (want {\"prompt\": {...}, \"completion\": \"...\"})")
		}
		s := corpus.ScoreCompletion(in.Prompt, in.Completion)
		m.Add(in.Prompt, s)
		if *verbose {
			return enc.Encode(s)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := enc.Encode(map[string]any{"metrics": m, "in_grammar_rate": m.InGrammarRate()}); err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, m.String())
	return err
}

type textIn struct {
	Text string `json:"text"`
}

func classify(r io.Reader, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	err := eachLine(r, func() any { return new(textIn) }, func(_ int, x any) error {
		return enc.Encode(corpus.Classify(x.(*textIn).Text))
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}

func logprob(args []string, r io.Reader, w io.Writer) error {
	fs := flag.NewFlagSet("logprob", flag.ContinueOnError)
	mixFlag := fs.String("mix", "", "kind mix the texts were generated with (default corpus.DefaultMix)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	opt := corpus.Options{}
	if *mixFlag != "" {
		m, err := corpus.ParseMix(*mixFlag)
		if err != nil {
			return err
		}
		opt.Mix = m
	}
	gen, err := corpus.New(opt)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	err = eachLine(r, func() any { return new(textIn) }, func(_ int, x any) error {
		lp := gen.LogProb(x.(*textIn).Text)
		if math.IsInf(lp, -1) {
			_, err := fmt.Fprintln(bw, `{"logprob": null}`)
			return err
		}
		_, err := fmt.Fprintf(bw, "{\"logprob\": %.17g}\n", lp)
		return err
	})
	if err != nil {
		return err
	}
	return bw.Flush()
}
