package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"

	"github.com/steerbook/steerbook/engine"
)

// The engine's subcommands: model info, generate, logits.

func loadModel(dir string) (*engine.Model, error) {
	if dir == "" {
		return engine.Default()
	}
	return engine.Load(dir)
}

func cmdModel(args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || args[0] != "info" {
		fmt.Fprintln(stderr, "usage: steerbook model info [DIR] [--json]   (no DIR: the embedded default model)")
		return 2
	}
	fs := flag.NewFlagSet("model info", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the info as JSON")
	rest := args[1:]
	var dir string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		dir, rest = rest[0], rest[1:]
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if dir == "" && fs.NArg() > 0 {
		dir = fs.Arg(0)
	}
	m, err := loadModel(dir)
	if err != nil {
		fmt.Fprintln(stderr, "steerbook model info:", err)
		return 1
	}
	defer m.Close()
	in := m.Info()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(in); err != nil {
			fmt.Fprintln(stderr, "steerbook model info:", err)
			return 1
		}
		return 0
	}
	fmt.Fprint(stdout, in.String())
	return 0
}

// interruptible returns a context cancelled by Ctrl-C, so a long generation
// stops within one decode step.
func interruptible() (context.Context, func()) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

func cmdGenerate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "model folder (default: the built-in default model)")
	prompt := fs.String("prompt", "", "prompt text")
	chat := fs.Bool("chat", false, "wrap the prompt as a user turn in the DeepSeek-V4 chat format")
	thinking := fs.Bool("thinking", false, "with --chat: thinking mode (<think>)")
	seed := fs.Uint64("seed", 0, "random seed (sampling is reproducible for a given seed)")
	maxTok := fs.Int("max-tokens", 128, "maximum number of new tokens")
	temp := fs.Float64("temperature", 0, "sampling temperature (0: greedy)")
	topP := fs.Float64("top-p", 0, "nucleus sampling mass (0: off)")
	topK := fs.Int("top-k", 0, "keep the k most likely tokens (0: off)")
	rep := fs.Float64("repetition-penalty", 0, "penalty for repeated tokens (1 or 0: off)")
	var stops multiFlag
	fs.Var(&stops, "stop", "stop string (repeatable)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m, err := loadModel(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "steerbook generate:", err)
		return 1
	}
	ctx, stop := interruptible()
	defer stop()
	opt := engine.GenerateOptions{MaxTokens: *maxTok, Temperature: float32(*temp), TopP: float32(*topP), TopK: *topK,
		RepetitionPenalty: float32(*rep), Seed: *seed, Stop: stops, Chat: *chat, Thinking: *thinking,
		OnToken: func(_ int, text string) error { _, err := io.WriteString(stdout, text); return err }}
	g, err := m.Generate(ctx, *prompt, opt)
	fmt.Fprintln(stdout)
	if err != nil {
		fmt.Fprintln(stderr, "steerbook generate:", err)
		return 1
	}
	fmt.Fprintf(stderr, "[%d tokens, stop: %s]\n", len(g.Tokens), g.StopReason)
	return 0
}

type multiFlag []string

func (f *multiFlag) String() string     { return strings.Join(*f, ",") }
func (f *multiFlag) Set(s string) error { *f = append(*f, s); return nil }

func parseTokens(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("--tokens: %q is not a token id: %w", f, err)
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--tokens: no token ids")
	}
	return out, nil
}

// cmdLogits prints the logits at every position: from one prefill, or with
// --decode-from N from a prefill of the first N tokens followed by one-token
// decode steps (the path the golden decode logits test).
func cmdLogits(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("logits", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("model", "", "model folder (default: the built-in default model)")
	toks := fs.String("tokens", "", "comma-separated token ids")
	text := fs.String("text", "", "text to tokenize instead of --tokens")
	from := fs.Int("decode-from", 0, "prefill this many tokens, then decode the rest one at a time")
	asJSON := fs.Bool("json", false, `print {"logits": [[...], ...]} with one list per position`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m, err := loadModel(*dir)
	if err != nil {
		fmt.Fprintln(stderr, "steerbook logits:", err)
		return 1
	}
	var ids []int
	if *text != "" {
		ids, err = m.EncodePrompt(*text, false, false)
	} else {
		ids, err = parseTokens(*toks)
	}
	if err != nil {
		fmt.Fprintln(stderr, "steerbook logits:", err)
		return 2
	}
	if *from < 0 || *from > len(ids) {
		fmt.Fprintf(stderr, "steerbook logits: --decode-from %d outside [0,%d]\n", *from, len(ids))
		return 2
	}
	ctx, stop := interruptible()
	defer stop()
	var rows [][]float32
	if *from == 0 {
		out, err := m.Forward(ctx, [][]int{ids})
		if err != nil {
			fmt.Fprintln(stderr, "steerbook logits:", err)
			return 1
		}
		rows = out.Logits[0]
	} else {
		s := m.NewSession(engine.WithLogits(engine.LogitsAll))
		pre, err := s.Prefill(ctx, ids[:*from])
		if err != nil {
			fmt.Fprintln(stderr, "steerbook logits:", err)
			return 1
		}
		rows = pre
		for _, t := range ids[*from:] {
			l, err := s.Decode(ctx, t)
			if err != nil {
				fmt.Fprintln(stderr, "steerbook logits:", err)
				return 1
			}
			rows = append(rows, l)
		}
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(map[string]any{"logits": rows}); err != nil {
			fmt.Fprintln(stderr, "steerbook logits:", err)
			return 1
		}
		return 0
	}
	tk := m.Tokenizer()
	for p, row := range rows {
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		name := ""
		if tk != nil {
			name = fmt.Sprintf(" %q", tk.Decode([]int{best}))
		}
		fmt.Fprintf(stdout, "pos %d token %d → argmax %d%s (logit %.4f)\n", p, ids[p], best, name, row[best])
	}
	return 0
}
