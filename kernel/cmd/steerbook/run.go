package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/steerbook/steerbook/kernel"
	"github.com/steerbook/steerbook/kernel/display"
)

const runUsage = `usage: steerbook run NOTEBOOK.ipynb [-o OUT.ipynb] [-p name=value ...] [--no-timing]

Executes every code cell of the notebook in one Go session, in order, and
writes the outputs (nbformat 4.5) to OUT.ipynb, or back into NOTEBOOK.ipynb
without -o. Stops at the first failing cell: the notebook is still written
(with the error output) and the exit status is 1.

  -o FILE        write the executed notebook to FILE
  -p NAME=VALUE  set a parameter: a cell tagged "injected-parameters" is
                 inserted after the cell tagged "parameters" (papermill-style)
  --no-timing    do not record start/end times in cell metadata
`

// cmdRun executes a notebook headlessly (no Jupyter, no Python).
func cmdRun(args []string, stdout, stderr io.Writer) int {
	var in, out string
	var params []string
	timing := true
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func() (string, bool) {
			if i+1 >= len(args) {
				fmt.Fprintf(stderr, "steerbook run: %s needs a value\n%s", a, runUsage)
				return "", false
			}
			i++
			return args[i], true
		}
		switch {
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, runUsage)
			return 0
		case a == "-o" || a == "--output":
			v, ok := next()
			if !ok {
				return 2
			}
			out = v
		case a == "-p" || a == "--parameter":
			v, ok := next()
			if !ok {
				return 2
			}
			params = append(params, v)
		case strings.HasPrefix(a, "-o="), strings.HasPrefix(a, "--output="):
			out = a[strings.Index(a, "=")+1:]
		case strings.HasPrefix(a, "-p="):
			params = append(params, a[3:])
		case a == "--no-timing":
			timing = false
		case strings.HasPrefix(a, "-") && a != "-":
			fmt.Fprintf(stderr, "steerbook run: unknown flag %s\n%s", a, runUsage)
			return 2
		case in == "":
			in = a
		default:
			fmt.Fprintf(stderr, "steerbook run: more than one notebook (%s, %s)\n%s", in, a, runUsage)
			return 2
		}
	}
	if in == "" {
		fmt.Fprint(stderr, runUsage)
		return 2
	}
	if out == "" {
		out = in
	}
	nb, err := kernel.ReadNotebook(in)
	if err != nil {
		fmt.Fprintln(stderr, "steerbook run:", err)
		return 2
	}
	if err := nb.InjectParameters(params); err != nil {
		fmt.Fprintln(stderr, "steerbook run:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r := &kernel.Runner{
		NewInterpreter: newCellInterpreter,
		Render:         render,
		SetPublisher:   func(p kernel.Publisher) { display.SetPublisher(p) },
		CaptureFDs:     stdout == os.Stdout,
		Timing:         timing,
		Progress:       stderr,
	}
	runErr := r.Run(ctx, nb)
	b, err := nb.Marshal()
	if err == nil {
		err = os.WriteFile(out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintf(stderr, "steerbook run: writing %s: %v\n", out, err)
		return 1
	}
	var re *kernel.RunError
	switch {
	case errors.As(runErr, &re):
		fmt.Fprintf(stderr, "steerbook run: %s: %v\n", in, re)
		for _, l := range re.Err.Traceback {
			fmt.Fprintln(stderr, "    "+l)
		}
		fmt.Fprintf(stderr, "steerbook run: outputs up to the failure written to %s\n", out)
		return 1
	case runErr != nil:
		fmt.Fprintf(stderr, "steerbook run: %s: %v\n", in, runErr)
		return 1
	}
	code := 0
	for i := range nb.NumCells() {
		if nb.CellType(i) == "code" {
			code++
		}
	}
	fmt.Fprintf(stderr, "steerbook run: %s: %d code cells executed, written to %s\n", in, code, out)
	return 0
}
