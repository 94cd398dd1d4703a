// Command evalmodel measures the quality of Steerbook's default model (or
// any DeepSeek-V4 folder with a tokenizer) against the ground truth of its
// corpus: held-out loss vs the generator's exact entropy, greedy and sampled
// generation on held-out prompts, and the steering check (see package eval).
//
//	go run ./engine/defaultmodel/eval/cmd/evalmodel [-model DIR] [-n N] [-seed S] [-json] [-plot PATH] [-md PATH] [-out DIR]
//
// Without -model it evaluates the embedded default model (engine.Default);
// when none is embedded in the binary it falls back to the exported folder
// -fallback (default engine/defaultmodel/model). The text report goes to
// stdout (JSON with -json), progress to stderr; the steering plot is written
// as a PNG. With -out DIR every result is also kept in DIR (created if
// needed): results.json (the -json report, checks included), report.md (the
// -md report) and steering.png, which then replaces -plot's default path
// (an explicit -plot or -md still wins). The exit status is 1 when a check
// misses its target and -strict is set.
//
// With -compare DIR it also evaluates the folder DIR with the same options
// and sets the two side by side (eval.Compare): the storage decision of
// issue 4, where the base is the BF16 export and DIR the same weights in
// the release's FP8/FP4 formats. -out then keeps each evaluation in its own
// subfolder (base/, candidate/) and the comparison in comparison.md and
// comparison.json; -strict also fails when the comparison does not hold.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/eval"
)

func main() {
	model := flag.String("model", "", "model folder (default: the embedded default model)")
	fallback := flag.String("fallback", "engine/defaultmodel/model", "folder to load when no default model is embedded")
	n := flag.Int("n", 64, "prompts per set (review prefixes, chat prompts); steering uses n/2 negative prompts")
	seed := flag.Uint64("seed", 1, "seed of prompts, held-out documents and sampling")
	lossDocs := flag.Int("loss-docs", 0, "held-out documents for the loss (default 4·n)")
	maxTok := flag.Int("max-tokens", 96, "new tokens per completion at most")
	batch := flag.Int("batch", 32, "prompts per engine call")
	layer := flag.Int("layer", -1, "layer of the steering vector (default: NumLayers/2, eval.MiddleLayer)")
	contrast := flag.Int("contrast", 64, "reviews per side of the difference of means")
	steerPrompts := flag.Int("steer-prompts", 0, "negative prompts per strength (default n/2)")
	strengths := flag.String("strengths", "", "comma-separated steering strengths (default "+fmtStrengths(eval.DefaultStrengths)+")")
	phase := flag.String("steer-phase", "prefill", "where the steering vector is added: prefill (every prompt position, the check's default), all (prompt and continuation), decode (continuation only)")
	variants := flag.Bool("steer-variants", false, "also sweep both middle layers × {all, prefill, decode}, for information")
	skip := flag.String("skip", "", "comma-separated parts to skip: loss, decoding, steering")
	asJSON := flag.Bool("json", false, "print the report as JSON")
	plotPath := flag.String("plot", "engine/defaultmodel/eval/testdata/steering.png", "PNG of the steering sweep ('' to skip)")
	mdPath := flag.String("md", "", "also write the report as Markdown to this file")
	outDir := flag.String("out", "", "also write results.json, report.md and steering.png to this folder (created if needed)")
	strict := flag.Bool("strict", false, "exit with status 1 when a check misses its target")
	compare := flag.String("compare", "", "also evaluate this folder with the same options and compare it with the first (the storage decision)")
	maxDrop := flag.Float64("max-drop", eval.MaxStorageDrop, "with -compare: largest drop, in points, that still holds")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("evalmodel: ")
	set := map[string]bool{} // the flags given explicitly
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *compare != "" {
		for _, f := range []string{"json", "plot", "md"} {
			if set[f] {
				log.Fatalf("-%s applies to one evaluation; with -compare, -out DIR keeps both reports (base/, candidate/) and the comparison", f)
			}
		}
		if *maxDrop <= 0 {
			log.Fatalf("-max-drop %g: the largest drop that still holds must be positive (points)", *maxDrop)
		}
	}
	if *outDir != "" {
		if !set["plot"] {
			*plotPath = filepath.Join(*outDir, "steering.png")
		}
		if !set["md"] {
			*mdPath = filepath.Join(*outDir, "report.md")
		}
		if err := os.MkdirAll(*outDir, 0o755); err != nil {
			log.Fatal(err)
		}
	}

	opt := eval.Options{N: *n, Seed: *seed, LossDocs: *lossDocs, MaxTokens: *maxTok, BatchSize: *batch, Log: os.Stderr}
	opt.Steering.Contrast, opt.Steering.Prompts = *contrast, *steerPrompts
	if *layer >= 0 {
		opt.Steering.Layer, opt.Steering.LayerSet = *layer, true
	}
	if *strengths != "" {
		for _, f := range strings.Split(*strengths, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(f), 32)
			if err != nil {
				log.Fatalf("-strengths: %q: %v", f, err)
			}
			opt.Steering.Strengths = append(opt.Steering.Strengths, float32(v))
		}
	}
	opt.Steering.Variants = *variants
	switch *phase {
	case "all":
		opt.Steering.Phase = engine.AnyPhase
	case "prefill":
		opt.Steering.Phase = engine.Prefill
	case "decode":
		opt.Steering.Phase = engine.Decode
	default:
		log.Fatalf("-steer-phase: %q is not all, prefill or decode", *phase)
	}
	for _, s := range strings.Split(*skip, ",") {
		switch strings.TrimSpace(s) {
		case "":
		case "loss":
			opt.SkipLoss = true
		case "decoding":
			opt.SkipDecoding = true
		case "steering":
			opt.SkipSteering = true
		default:
			log.Fatalf("-skip: unknown part %q (loss, decoding, steering)", s)
		}
	}

	var (
		m    *engine.Model
		name string
		err  error
	)
	if *model != "" {
		m, name, err = eval.Open(*model)
	} else {
		m, name, err = eval.OpenDefault(*fallback)
	}
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *compare == "" {
		rep, err := evaluate(ctx, m, name, opt, *outDir, *plotPath, *mdPath, *asJSON)
		if err != nil {
			log.Fatal(err)
		}
		if *strict && !rep.Pass() {
			os.Exit(1)
		}
		return
	}
	sub := func(d string) (dir, plot, md string) {
		if *outDir == "" {
			return "", "", ""
		}
		dir = filepath.Join(*outDir, d)
		return dir, filepath.Join(dir, "steering.png"), filepath.Join(dir, "report.md")
	}
	dir, plot, md := sub("base")
	base, err := evaluate(ctx, m, name, opt, dir, plot, md, false)
	if err != nil {
		log.Fatal(err)
	}
	cm, cname, err := eval.Open(*compare)
	if err != nil {
		log.Fatal(err)
	}
	dir, plot, md = sub("candidate")
	cand, err := evaluate(ctx, cm, cname, opt, dir, plot, md, false)
	if err != nil {
		log.Fatal(err)
	}
	c, err := eval.Compare(base, cand, *maxDrop)
	if err != nil {
		log.Fatal(err)
	}
	if *outDir != "" {
		b, err := json.MarshalIndent(struct {
			*eval.Comparison
			Holds bool `json:"holds"`
		}{c, c.Holds()}, "", "  ")
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*outDir, "comparison.json"), append(b, '\n'), 0o644); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*outDir, "comparison.md"), []byte(c.Markdown()), 0o644); err != nil {
			log.Fatal(err)
		}
		log.Printf("comparison written to %s", filepath.Join(*outDir, "comparison.md"))
	}
	fmt.Print("\n" + c.String())
	if *strict && (!base.Pass() || !cand.Pass() || !c.Holds()) {
		os.Exit(1)
	}
}

// evaluate runs one evaluation, prints it to stdout and keeps what outDir,
// plotPath and mdPath ask for (” skips each).
func evaluate(ctx context.Context, m *engine.Model, name string, opt eval.Options, outDir, plotPath, mdPath string, asJSON bool) (*eval.Report, error) {
	if outDir != "" {
		if err := os.MkdirAll(outDir, 0o755); err != nil {
			return nil, err
		}
	}
	rep, err := eval.Run(ctx, m, name, opt)
	if err != nil {
		return nil, err
	}
	if rep.Steering != nil && plotPath != "" {
		if err := rep.Steering.SavePlot(plotPath); err != nil {
			return nil, err
		}
		log.Printf("steering plot written to %s", plotPath)
	}
	if mdPath != "" {
		md := "## Quality (issue 4 targets)\n\n" + rep.Method() + "\n" + rep.Markdown()
		if rep.Steering != nil && plotPath != "" {
			md += fmt.Sprintf("\nSteering plot: `%s`.\n", plotPath)
		}
		if err := os.WriteFile(mdPath, []byte(md), 0o644); err != nil {
			return nil, err
		}
	}
	out := struct {
		*eval.Report
		Checks []eval.Check `json:"checks"`
		Pass   bool         `json:"pass"`
	}{rep, rep.Checks(), rep.Pass()}
	if outDir != "" {
		b, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return nil, err
		}
		path := filepath.Join(outDir, "results.json")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
		log.Printf("results written to %s", path)
	}
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return rep, enc.Encode(out)
	}
	fmt.Print(rep.String())
	return rep, nil
}

func fmtStrengths(v []float32) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(float64(x), 'g', -1, 32)
	}
	return strings.Join(s, ",")
}
