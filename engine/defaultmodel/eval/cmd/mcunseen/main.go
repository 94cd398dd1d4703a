// Command mcunseen measures the default model's multiple-choice accuracy
// separately on held-out questions that occur verbatim in a training stage
// and on those that occur in none. The grammar's language is finite, so some
// held-out questions are also training documents. An accuracy that holds on
// the unseen ones shows that the model answers from the attribute, not from
// memory.
//
//	go run ./engine/defaultmodel/eval/cmd/mcunseen -n 1200
//
// The training stages default to the one of engine/defaultmodel/train/run.sh:
// seed 4, 140 000 documents, 30 % multiple choice (the quantisation-aware
// polish trains on the same documents; the seed-1 corpus only trains the
// tokenizer). The questions are
// the multiple-choice prompts among the first -n chat prompts of
// corpus.ChatPrompts(seed), the ones the quality evaluation uses. Answers are
// greedy.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
	"github.com/steerbook/steerbook/engine/defaultmodel/eval"
)

func main() {
	model := flag.String("model", "", "model folder (default: the embedded default model)")
	n := flag.Int("n", 1200, "chat prompts to draw (about a third are multiple choice)")
	seed := flag.Uint64("seed", 1, "prompt seed")
	stages := flag.String("stages", "4:140000:review=0.45,chat_review=0.13,chat_opinion=0.04,chat_secret=0.08,chat_mc=0.30",
		"training stages as seed:documents:mix, separated by commas before each seed ('' mix = default)")
	flag.Parse()
	seen, err := trainingQuestions(*stages)
	if err != nil {
		log.Fatalf("mcunseen: -stages: %v", err)
	}
	var m *engine.Model
	if *model != "" {
		m, _, err = eval.Open(*model)
	} else {
		m, _, err = eval.OpenDefault("")
	}
	if err != nil {
		log.Fatalf("mcunseen: %v", err)
	}
	ps, err := corpus.ChatPrompts(*seed, *n)
	if err != nil {
		log.Fatalf("mcunseen: %v", err)
	}
	var mc []corpus.Prompt
	var texts []string
	for _, p := range ps {
		if p.Attrs.Request == corpus.RequestMC {
			mc, texts = append(mc, p), append(texts, p.Text)
		}
	}
	comps, err := eval.EngineCompleter(m, 32).Complete(context.Background(), texts, eval.Decoding{Name: "greedy", MaxTokens: 8}, nil)
	if err != nil {
		log.Fatalf("mcunseen: %v", err)
	}
	type tally struct{ n, right int }
	rows := map[string]*tally{}
	for i, p := range mc {
		for _, k := range []string{p.Attrs.MCType, "all"} {
			key := fmt.Sprintf("%-9s %s", k, map[bool]string{true: "in training", false: "unseen"}[seen[p.Text]])
			if rows[key] == nil {
				rows[key] = &tally{}
			}
			rows[key].n++
			if corpus.MCAnswer(p.Text+comps[i]) == p.Attrs.MCAnswer {
				rows[key].right++
			}
		}
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(os.Stdout, "%d multiple-choice prompts of %d chat prompts (seed %d), greedy\n", len(mc), *n, *seed)
	for _, k := range keys {
		r := rows[k]
		fmt.Printf("%-22s %4d/%-4d right  %.3f\n", k, r.right, r.n, float64(r.right)/float64(r.n))
	}
}

// trainingQuestions regenerates each stage's training documents (as
// cmd/prepare does) and returns the prompt part of every multiple-choice one.
func trainingQuestions(spec string) (map[string]bool, error) {
	seen := map[string]bool{}
	// A mix contains commas too: a new stage starts at a field "seed:docs:…".
	var parts []string
	for _, f := range strings.Split(spec, ",") {
		if len(strings.SplitN(f, ":", 3)) == 3 || len(parts) == 0 {
			parts = append(parts, f)
		} else {
			parts[len(parts)-1] += "," + f
		}
	}
	for _, st := range parts {
		f := strings.SplitN(st, ":", 3)
		if len(f) != 3 {
			return nil, fmt.Errorf("stage %q: want seed:documents:mix", st)
		}
		seed, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("stage %q: seed: %w", st, err)
		}
		docs, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("stage %q: documents: %w", st, err)
		}
		mix := corpus.DefaultMix
		if f[2] != "" {
			if mix, err = corpus.ParseMix(f[2]); err != nil {
				return nil, fmt.Errorf("stage %q: %w", st, err)
			}
		}
		g, err := corpus.New(corpus.Options{Seed: seed, Mix: mix})
		if err != nil {
			return nil, fmt.Errorf("stage %q: %w", st, err)
		}
		for range docs {
			d := g.Next()
			if d.Attrs.Request == corpus.RequestMC {
				p, _ := d.Split()
				seen[p] = true
			}
		}
	}
	return seen, nil
}
