// Command steerbook is the one binary a Steerbook user runs: the Jupyter
// kernel itself, the headless notebook runner, and the engine's command-line
// tools.
//
//	steerbook kernel CONNECTION_FILE
//	steerbook run NOTEBOOK.ipynb [-o OUT.ipynb]
//	steerbook model info [DIR]
//	steerbook generate --model DIR --prompt TEXT [--chat] [--seed N]
//	steerbook logits --model DIR --tokens 1,2,3 [--decode-from N] --json
package main

import (
	"fmt"
	"io"
	"os"
	"sort"
)

// command is one subcommand: it gets the arguments after its name and the
// process's standard streams, and returns the exit code.
type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands is the dispatch table. Each entry lives in the file named after it.
var commands = map[string]command{
	"kernel":   {"run the Jupyter kernel on a connection file", cmdKernel},
	"run":      {"execute a notebook headlessly and write its outputs", cmdRun},
	"model":    {"inspect a model folder (model info [DIR]; none: the default model)", cmdModel},
	"generate": {"generate text from a model", cmdGenerate},
	"logits":   {"print a model's logits for given tokens as JSON", cmdLogits},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: steerbook COMMAND [ARGS]")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage(os.Stderr)
		os.Exit(2)
	}
	name := os.Args[1]
	if name == "-h" || name == "--help" || name == "help" {
		usage(os.Stdout)
		return
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "steerbook: unknown command %q\n", name)
		usage(os.Stderr)
		os.Exit(2)
	}
	os.Exit(c.run(os.Args[2:], os.Stdout, os.Stderr))
}
