package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/steerbook/steerbook/kernel"
	"github.com/steerbook/steerbook/kernel/display"
	"github.com/steerbook/steerbook/kernel/kerneltest"
)

// startCellKernel runs the kernel in-process on the real cell session, as
// cmdKernel wires it (without fd capture, which would swallow test output).
func startCellKernel(t *testing.T) *kerneltest.Client {
	t.Helper()
	_, ci := kerneltest.Start(t, kernel.Config{NewInterpreter: newCellInterpreter, Render: render,
		SetPublisher: func(p kernel.Publisher) { display.SetPublisher(p) }})
	return kerneltest.Dial(t, ci)
}

func result(t *testing.T, e kerneltest.Exec) string {
	t.Helper()
	rs := e.OfType("execute_result")
	if len(rs) != 1 {
		t.Fatalf("want one execute_result, got %d (reply %v)", len(rs), e.Reply)
	}
	return kerneltest.Content(rs[0])["data"].(map[string]any)["text/plain"].(string)
}

func TestGoCellsThroughSockets(t *testing.T) {
	c := startCellKernel(t)
	if e := c.Execute("x := 20", nil); e.Reply["status"] != "ok" {
		t.Fatalf("x := 20: %v", e.Reply)
	}
	if got := result(t, c.Execute("x + 22", nil)); got != "42" {
		t.Errorf("x + 22 = %s", got)
	}
	e := c.Execute("import \"fmt\"\nfmt.Println(\"hi\", x)\nvar y []int\n_ = y[3]", nil)
	if e.Reply["status"] != "error" || len(e.OfType("error")) != 1 || e.Stream("stdout") != "hi 20\n" {
		t.Fatalf("failing cell: reply %v, stdout %q, %d error messages", e.Reply, e.Stream("stdout"), len(e.OfType("error")))
	}
	tb, _ := json.Marshal(kerneltest.Content(e.OfType("error")[0])["traceback"])
	if !strings.Contains(string(tb), "line 4") {
		t.Errorf("traceback does not name line 4: %s", tb)
	}
}

func TestGoForLoopInterruptedWithinASecond(t *testing.T) {
	for _, ch := range []string{"control", "shell"} {
		t.Run(ch, func(t *testing.T) {
			c := startCellKernel(t)
			c.Execute("kept := 41", nil)
			id := c.Send("shell", "execute_request", map[string]any{"code": "for {\n}", "silent": false, "stop_on_error": true})
			time.Sleep(300 * time.Millisecond)
			// Completion still answers while the loop spins.
			cid := c.Send("shell", "complete_request", map[string]any{"code": "ke", "cursor_pos": 2})
			if m, _ := json.Marshal(kerneltest.Content(c.Reply("shell", cid, 3*time.Second))["matches"]); string(m) != `["kept"]` {
				t.Errorf("completion during the loop: %s", m)
			}
			start := time.Now()
			c.Send(ch, "interrupt_request", map[string]any{})
			r := kerneltest.Content(c.Reply("shell", id, 5*time.Second))
			if d := time.Since(start); d > time.Second {
				t.Errorf("for {} stopped after %v", d)
			}
			if r["status"] != "error" {
				t.Errorf("interrupted cell: %v", r)
			}
			if got := result(t, c.Execute("kept + 1", nil)); got != "42" {
				t.Errorf("state after interrupt: kept + 1 = %s", got)
			}
		})
	}
}

func TestCompleteAndIsCompleteThroughSockets(t *testing.T) {
	c := startCellKernel(t)
	c.Execute("steeringStrength := 4", nil)
	code := "x := steeringStr"
	id := c.Send("shell", "complete_request", map[string]any{"code": code, "cursor_pos": len(code)})
	r := kerneltest.Content(c.Reply("shell", id, 5*time.Second))
	if m, _ := json.Marshal(r["matches"]); string(m) != `["steeringStrength"]` || r["cursor_start"] != 5.0 || r["cursor_end"] != float64(len(code)) {
		t.Errorf("complete_reply %v", r)
	}
	for src, want := range map[string]string{"func f() {": "incomplete", "x := 1": "complete", "x := )": "invalid"} {
		id := c.Send("shell", "is_complete_request", map[string]any{"code": src})
		if got := kerneltest.Content(c.Reply("shell", id, 5*time.Second))["status"]; got != want {
			t.Errorf("is_complete(%q) = %v, want %s", src, got, want)
		}
	}
}

func TestRunCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "nb.ipynb")
	nb := `{"nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": {"name": "steerbook", "display_name": "Go (Steerbook)", "language": "go"}},
 "cells": [
  {"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]}, "execution_count": null, "outputs": [], "source": "var who = \"world\""},
  {"cell_type": "code", "id": "a", "metadata": {}, "execution_count": null, "outputs": [], "source": "import \"fmt\"\nfmt.Println(\"hello\", who)"},
  {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": null, "outputs": [], "source": "len(who)"},
  {"cell_type": "code", "id": "c", "metadata": {}, "execution_count": null, "outputs": [], "source": "panic(\"stop here\")"},
  {"cell_type": "code", "id": "d", "metadata": {}, "execution_count": null, "outputs": [], "source": "who"}
 ]}`
	os.WriteFile(in, []byte(nb), 0o644)
	out := filepath.Join(dir, "out.ipynb")
	var stdout, stderr bytes.Buffer
	code := cmdRun([]string{in, "-o", out, "-p", "who=Go", "--no-timing"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (a cell panics); stderr:\n%s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "cell 4") || !strings.Contains(stderr.String(), `panic(\"stop here\")`) {
		t.Errorf("failing cell not named:\n%s", stderr.String())
	}
	got, err := kernel.ReadNotebook(out)
	if err != nil {
		t.Fatal(err)
	}
	if got.CellSource(1) != "// Parameters injected by steerbook run\nwho = \"Go\"" {
		t.Errorf("injected cell %q", got.CellSource(1))
	}
	outs := got.CellOutputs(2)
	if len(outs) != 1 || outs[0]["text"] != "hello Go\n" {
		t.Errorf("stream output %v", outs)
	}
	if res := got.CellOutputs(3); len(res) != 1 || res[0]["output_type"] != "execute_result" {
		t.Errorf("execute_result %v", res)
	}
	if e := got.CellOutputs(4); len(e) != 1 || e[0]["output_type"] != "error" {
		t.Errorf("error output %v", e)
	}
	if len(got.CellOutputs(5)) != 0 {
		t.Error("a cell after the failure ran")
	}
	if code := cmdRun([]string{filepath.Join(dir, "missing.ipynb")}, &stdout, &stderr); code != 2 {
		t.Errorf("missing notebook: exit %d", code)
	}
}

func TestInputRequestFromCell(t *testing.T) {
	c := startCellKernel(t)
	code := "import \"github.com/steerbook/steerbook/kernel/display\"\nname, _ := display.Input(\"who? \")\nname + \"!\""
	id := c.Send("shell", "execute_request", map[string]any{"code": code, "allow_stdin": true})
	var req *kernel.Message
	select {
	case req = <-c.Replies["stdin"]:
	case <-time.After(10 * time.Second):
		t.Fatal("no input_request")
	}
	if req.Header.MsgType != "input_request" || kerneltest.Content(req)["prompt"] != "who? " {
		t.Fatalf("got %s %s", req.Header.MsgType, req.Content)
	}
	c.Send("stdin", "input_reply", map[string]any{"value": "Ada"})
	c.Reply("shell", id, 10*time.Second)
	e := kerneltest.Exec{Outputs: c.Outputs(id, 10*time.Second)}
	if got := result(t, e); got != `"Ada!"` && got != "Ada!" {
		t.Errorf("result %s", got)
	}
}

func TestHistoryFileLocation(t *testing.T) {
	if runtime.GOOS == "darwin" || runtime.GOOS == "windows" {
		t.Skip("the expected paths are jupyter_core's Linux ones")
	}
	cwd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	for _, c := range []struct {
		env  func(string) string
		want string
	}{
		{env("STEERBOOK_HISTORY", "off", "HOME", "/h"), ""},
		{env("STEERBOOK_HISTORY", "/tmp/h.jsonl", "HOME", "/h"), "/tmp/h.jsonl"},
		{env("STEERBOOK_HISTORY", "rel/h.jsonl", "HOME", "/h"), filepath.Join(cwd, "rel", "h.jsonl")},
		{env("JUPYTER_DATA_DIR", "/data", "HOME", "/h"), "/data/steerbook/history.jsonl"},
		{env("XDG_DATA_HOME", "/xdg", "HOME", "/h"), "/xdg/jupyter/steerbook/history.jsonl"},
		{env("HOME", "/h"), "/h/.local/share/jupyter/steerbook/history.jsonl"},
	} {
		got, err := historyFile(c.env)
		if err != nil || got != c.want {
			t.Errorf("historyFile = %q, %v; want %q", got, err, c.want)
		}
	}
	if _, err := historyFile(env()); err == nil {
		t.Error("no HOME and no JUPYTER_DATA_DIR: want an error")
	}
}
