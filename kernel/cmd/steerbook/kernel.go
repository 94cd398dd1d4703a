package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/steerbook/steerbook/kernel"
	"github.com/steerbook/steerbook/kernel/cell"
	"github.com/steerbook/steerbook/kernel/display"
)

// version is the steerbook version reported in kernel_info.
const version = "0.1.0"

// historyFile is where the kernel keeps the history of every session:
// STEERBOOK_HISTORY when set ("off" keeps each session in memory only),
// else steerbook/history.jsonl in Jupyter's user data folder.
func historyFile(getenv func(string) string) (string, error) {
	switch h := getenv("STEERBOOK_HISTORY"); h {
	case "off":
		return "", nil
	case "":
	default:
		// absolute once, at start: the kernel's working folder is the
		// notebook's, and one history should not become one per folder
		return filepath.Abs(h)
	}
	d, err := kernel.UserDataDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "steerbook", "history.jsonl"), nil
}

// cmdKernel starts the Jupyter kernel on a connection file. It is what the
// kernelspec's argv runs: steerbook kernel {connection_file}.
func cmdKernel(args []string, stdout, stderr io.Writer) int {
	if len(args) == 2 && args[0] == "-f" { // ipykernel-style spelling
		args = args[1:]
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stderr, "usage: steerbook kernel CONNECTION_FILE")
		return 2
	}
	if len(args) > 1 {
		// `jupyter run` appends the file it runs; the kernel gets the code
		// through execute_request anyway.
		fmt.Fprintf(stderr, "steerbook kernel: ignoring extra arguments %q\n", args[1:])
	}
	ci, err := kernel.ReadConnectionFile(args[0])
	if err != nil {
		fmt.Fprintln(stderr, "steerbook kernel:", err)
		return 1
	}
	ctx := context.Background()
	hist, err := historyFile(os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "steerbook kernel: history kept in memory only:", err)
	}
	k, err := kernel.Start(ctx, ci, kernel.Config{
		HistoryFile:           hist,
		NewInterpreter:        newCellInterpreter,
		Render:                render,
		SetPublisher:          func(p kernel.Publisher) { display.SetPublisher(p) },
		CaptureFDs:            true,
		HandleSIGINT:          true,
		Implementation:        "steerbook",
		ImplementationVersion: version,
		Banner: "Steerbook " + version + ": Go cells (yaegi) for activation steering.\n" +
			"Every cell sees ctx (cancelled by interrupt); display.PNG/HTML/Plot/... show rich output.",
		HelpLinks: []kernel.HelpLink{
			{Text: "Go language", URL: "https://go.dev/ref/spec"},
			{Text: "Go standard library", URL: "https://pkg.go.dev/std"},
			{Text: "gonum/plot", URL: "https://pkg.go.dev/gonum.org/v1/plot"},
		},
	})
	if err != nil {
		fmt.Fprintln(stderr, "steerbook kernel:", err)
		return 1
	}
	kernel.WatchParent(ctx, time.Second, func(reason string) {
		log.Printf("steerbook kernel: %s, shutting down", reason)
		k.Stop()
	})
	k.Wait()
	return 0
}

// cellInterpreter adapts kernel/cell's Session to kernel.Interpreter.
type cellInterpreter struct {
	s *cell.Session
}

func newCellInterpreter(kio kernel.IO) (kernel.Interpreter, error) {
	s, err := cell.New(cell.Options{Stdout: kio.Stdout, Stderr: kio.Stderr, Stdin: kio.Stdin})
	if err != nil {
		return nil, err
	}
	s.SetGoroutinePanicHandler(func(err error) {
		fmt.Fprintf(kio.Stderr, "panic in a goroutine started by a cell: %v\n", err)
	})
	return &cellInterpreter{s: s}, nil
}

func (c *cellInterpreter) Execute(ctx context.Context, src string, n int) (any, bool, error) {
	r, err := c.s.Execute(ctx, src, n)
	if err != nil {
		return nil, false, toKernelError(err)
	}
	if !r.HasValue {
		return nil, false, nil
	}
	// The session has already rendered the value, seeing methods of types
	// defined in cells that compiled code cannot.
	return rendered{value: r.Value, bundle: r.Bundle}, true, nil
}

// rendered is a cell value with its MIME bundle.
type rendered struct {
	value  any
	bundle map[string]any
}

// render is the kernel's Render: a session-rendered bundle, else
// display.Bundle.
func render(v any) map[string]any {
	if r, ok := v.(rendered); ok {
		if len(r.bundle) > 0 {
			return r.bundle
		}
		return display.Bundle(r.value)
	}
	return display.Bundle(v)
}

func toKernelError(err error) error {
	var ce *cell.Error
	if errors.As(err, &ce) {
		return &kernel.CellError{Name: ce.Name, Value: ce.Message, Traceback: ce.Traceback}
	}
	return err
}

func (c *cellInterpreter) Complete(src string, cursor int) ([]string, int, int) {
	return c.s.Complete(src, cursor)
}

// Inspect is looked up dynamically so that the kernel builds against a
// session without it (it answers found=false then).
func (c *cellInterpreter) Inspect(src string, cursor int) (string, bool) {
	if in, ok := any(c.s).(interface {
		Inspect(src string, cursor int) (string, bool)
	}); ok {
		return in.Inspect(src, cursor)
	}
	return "", false
}

func (c *cellInterpreter) IsComplete(src string) (string, string) { return cell.IsComplete(src) }
