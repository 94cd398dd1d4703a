package kernel_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/steerbook/steerbook/kernel"
	"github.com/steerbook/steerbook/kernel/kerneltest"
)

// fakeInterp is a tiny line-oriented interpreter standing in for kernel/cell,
// so that the protocol can be tested on its own. One command per line:
//
//	print TEXT      write TEXT\n to stdout (through the io.Writer given)
//	eprint TEXT     same on stderr
//	fdprint TEXT    write straight to file descriptor 1 (compiled-code output)
//	set NAME VALUE  define a variable
//	get NAME        the cell's value is the variable (error if undefined)
//	value TEXT      the cell's value is TEXT
//	fail TEXT       the cell fails with TEXT, naming the line
//	loop            spin until the context is cancelled (like `for {}`)
//	sleep MS        sleep, not interruptible
//	input PROMPT    read a line from stdin and print it
//	display TEXT    publish a display_data; update ID TEXT / show ID TEXT; clear
type fakeInterp struct {
	io   IO
	mu   sync.Mutex
	vars map[string]string
	pub  Publisher
}

func newFake(kio IO) (Interpreter, error) {
	return &fakeInterp{io: kio, vars: map[string]string{}}, nil
}

func (f *fakeInterp) Execute(ctx context.Context, src string, n int) (any, bool, error) {
	var value any
	has := false
	for i, line := range strings.Split(src, "\n") {
		cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		has = false
		switch cmd {
		case "":
		case "print":
			fmt.Fprintln(f.io.Stdout, arg)
		case "printmany":
			var k int
			fmt.Sscan(arg, &k)
			for j := range k {
				fmt.Fprintln(f.io.Stdout, j)
			}
		case "eprint":
			fmt.Fprintln(f.io.Stderr, arg)
		case "fdprint":
			syscall.Write(1, []byte(arg+"\n"))
		case "set":
			name, v, _ := strings.Cut(arg, " ")
			f.mu.Lock()
			f.vars[name] = v
			f.mu.Unlock()
		case "get":
			f.mu.Lock()
			v, ok := f.vars[arg]
			f.mu.Unlock()
			if !ok {
				return nil, false, &CellError{Name: "UndefinedError", Value: "undefined: " + arg,
					Traceback: []string{fmt.Sprintf("cell[%d] line %d: undefined: %s", n, i+1, arg)}}
			}
			value, has = v, true
		case "value":
			value, has = arg, true
		case "fail":
			return nil, false, &CellError{Name: "Failure", Value: arg,
				Traceback: []string{fmt.Sprintf("cell[%d] line %d: %s", n, i+1, arg)}}
		case "loop":
			for ctx.Err() == nil {
			}
			return nil, false, ctx.Err()
		case "sleep":
			var ms int
			fmt.Sscan(arg, &ms)
			time.Sleep(time.Duration(ms) * time.Millisecond)
		case "input":
			s, err := f.io.Stdin(arg, false)
			if err != nil {
				return nil, false, err
			}
			fmt.Fprintln(f.io.Stdout, "got "+s)
		case "display", "show", "update":
			id, text := "", arg
			if cmd != "display" {
				id, text, _ = strings.Cut(arg, " ")
			}
			testPublisher().Publish(map[string]any{"text/plain": text}, nil, id, cmd == "update")
		case "clear":
			testPublisher().Clear(false)
		default:
			return nil, false, &CellError{Name: "SyntaxError", Value: "unknown command " + cmd,
				Traceback: []string{fmt.Sprintf("cell[%d] line %d: unknown command %s", n, i+1, cmd)}}
		}
	}
	return value, has, nil
}

func (f *fakeInterp) Complete(src string, cursor int) ([]string, int, int) {
	r := []rune(src)
	start := cursor
	for start > 0 && r[start-1] != ' ' && r[start-1] != '\n' {
		start--
	}
	prefix := string(r[start:cursor])
	var m []string
	f.mu.Lock()
	for name := range f.vars {
		if strings.HasPrefix(name, prefix) {
			m = append(m, name)
		}
	}
	f.mu.Unlock()
	return m, start, cursor
}

func (f *fakeInterp) Inspect(src string, cursor int) (string, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, v := range f.vars {
		if strings.Contains(src, name) {
			return name + " = " + v, true
		}
	}
	return "", false
}

func (f *fakeInterp) IsComplete(src string) (string, string) {
	open := strings.Count(src, "{") - strings.Count(src, "}")
	switch {
	case open > 0:
		return "incomplete", "\t"
	case open < 0:
		return "invalid", ""
	}
	return "complete", ""
}

var (
	pubMu  sync.Mutex
	curPub Publisher
)

func setTestPublisher(p Publisher) { pubMu.Lock(); curPub = p; pubMu.Unlock() }
func testPublisher() Publisher     { pubMu.Lock(); defer pubMu.Unlock(); return curPub }

// startTestKernel starts an in-process kernel on the fake interpreter.
func startTestKernel(t *testing.T) (*Kernel, *ConnectionInfo) {
	t.Helper()
	return kerneltest.Start(t, Config{NewInterpreter: newFake, SetPublisher: setTestPublisher,
		Banner: "test", ImplementationVersion: "0"})
}
