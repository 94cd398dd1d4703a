package cell

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/steerbook/steerbook/kernel/kerneltest"
)

// A scenario is a sequence of cells run in one session, each followed by
// what it must produce. Files in testdata/scenarios look like:
//
//	# free text
//	-- cell --
//	x := 1
//	-- stdout --
//	exact stdout of the cell
//	-- value --
//	exact text/plain of the trailing value
//	-- novalue --
//	-- error --
//	name: CompileError
//	line: 3
//	contains: undefined: y
//	-- stderr --
//	a substring of stderr (one per line)
//	-- goroutine-panic --
//	a substring of the message given to the goroutine panic handler
//
// A cell without -- error -- must succeed. A cell without -- value -- or
// -- novalue -- is not checked for a value.

type expect struct {
	section string
	body    string
}

type scenarioCell struct {
	src    string
	line   int
	expect []expect
}

func parseScenario(t *testing.T, data string) []*scenarioCell {
	var cells []*scenarioCell
	var cur *scenarioCell
	var sec string
	var buf []string
	lineNo := 0
	flush := func() {
		body := strings.TrimRight(strings.Join(buf, "\n"), "\n")
		buf = nil
		if sec == "" {
			return
		}
		if sec == "cell" {
			cur.src = body
			return
		}
		cur.expect = append(cur.expect, expect{section: sec, body: body})
	}
	for _, l := range strings.Split(data, "\n") {
		lineNo++
		if strings.HasPrefix(l, "-- ") && strings.HasSuffix(l, " --") {
			flush()
			sec = strings.TrimSuffix(strings.TrimPrefix(l, "-- "), " --")
			if sec == "cell" {
				cur = &scenarioCell{line: lineNo}
				cells = append(cells, cur)
			} else if cur == nil {
				t.Fatalf("line %d: section %q before the first cell", lineNo, sec)
			}
			continue
		}
		if sec == "" {
			continue // header comment
		}
		buf = append(buf, l)
	}
	flush()
	return cells
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob("testdata/scenarios/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenarios: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			runScenario(t, file, parseScenario(t, string(data)))
		})
	}
}

func runScenario(t *testing.T, file string, cells []*scenarioCell) {
	var stdout, stderr kerneltest.Buffer
	s, err := New(Options{Stdout: &stdout, Stderr: &stderr})
	if err != nil {
		t.Fatal(err)
	}
	var panics kerneltest.Buffer
	s.SetGoroutinePanicHandler(func(err error) { fmt.Fprintln(&panics, err.Error()) })
	for i, c := range cells {
		n := i + 1
		where := fmt.Sprintf("%s:%d (cell [%d])", file, c.line, n)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := s.Execute(ctx, c.src, n)
		cancel()
		// Let goroutines started by the cell report.
		for _, e := range c.expect {
			if e.section == "goroutine-panic" {
				deadline := time.Now().Add(2 * time.Second)
				for time.Now().Before(deadline) && !strings.Contains(panics.String(), strings.TrimSpace(e.body)) {
					time.Sleep(10 * time.Millisecond)
				}
			}
		}
		out, errOut := stdout.Take(), stderr.Take()
		wantErr := false
		for _, e := range c.expect {
			switch e.section {
			case "stdout":
				if strings.TrimRight(out, " \n") != strings.TrimRight(e.body, " \n") {
					t.Errorf("%s: stdout\n got: %q\nwant: %q", where, out, e.body)
				}
			case "value":
				if !res.HasValue {
					t.Errorf("%s: no value, want %q (err %v)", where, e.body, err)
					continue
				}
				if got, _ := res.Bundle["text/plain"].(string); got != e.body {
					t.Errorf("%s: value\n got: %q\nwant: %q", where, got, e.body)
				}
			case "novalue":
				if res.HasValue {
					t.Errorf("%s: unexpected value %v", where, res.Value)
				}
			case "stderr":
				for _, l := range strings.Split(e.body, "\n") {
					if l != "" && !strings.Contains(errOut, l) {
						t.Errorf("%s: stderr %q does not contain %q", where, errOut, l)
					}
				}
			case "goroutine-panic":
				if got := panics.Take(); !strings.Contains(got, strings.TrimSpace(e.body)) {
					t.Errorf("%s: goroutine panic report %q does not contain %q", where, got, e.body)
				}
			case "error":
				wantErr = true
				ce, ok := err.(*Error)
				if !ok {
					t.Errorf("%s: want an error, got %v (%T)", where, err, err)
					continue
				}
				for _, l := range strings.Split(e.body, "\n") {
					k, v, ok := strings.Cut(l, ":")
					if !ok {
						continue
					}
					v = strings.TrimSpace(v)
					switch strings.TrimSpace(k) {
					case "name":
						if ce.Name != v {
							t.Errorf("%s: error name %q, want %q (%v)", where, ce.Name, v, ce)
						}
					case "line":
						if strconv.Itoa(ce.Line) != v {
							t.Errorf("%s: error line %d, want %s (%v)", where, ce.Line, v, ce)
						}
					case "contains":
						if !strings.Contains(ce.Message, v) {
							t.Errorf("%s: error %q does not contain %q", where, ce.Message, v)
						}
					case "traceback":
						if !strings.Contains(strings.Join(ce.Traceback, "\n"), v) {
							t.Errorf("%s: traceback %q does not contain %q", where, ce.Traceback, v)
						}
					}
				}
			}
		}
		if !wantErr && err != nil {
			t.Errorf("%s: unexpected error: %v\ntraceback: %s\nstderr: %s", where, err, tracebackOf(err), errOut)
		}
	}
}

func tracebackOf(err error) string {
	if ce, ok := err.(*Error); ok {
		return strings.Join(ce.Traceback, "\n")
	}
	return ""
}
