package kernel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	. "github.com/steerbook/steerbook/kernel"
	"github.com/steerbook/steerbook/kernel/kerneltest"
)

func TestKernelInfoAndStatusParents(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	id := c.Send("shell", "kernel_info_request", map[string]any{})
	r := c.Reply("shell", id, 5*time.Second)
	if r.Header.MsgType != "kernel_info_reply" {
		t.Fatalf("reply type %q", r.Header.MsgType)
	}
	var info struct {
		ProtocolVersion string `json:"protocol_version"`
		Implementation  string
		LanguageInfo    map[string]string `json:"language_info"`
		Banner          string
		HelpLinks       []HelpLink `json:"help_links"`
	}
	json.Unmarshal(r.Content, &info)
	cm := kerneltest.Content(r)
	if cm["status"] != "ok" || info.ProtocolVersion != ProtocolVersion || info.Implementation == "" || info.HelpLinks == nil {
		t.Errorf("kernel_info_reply: %s", r.Content)
	}
	want := map[string]string{"name": "go", "mimetype": "text/x-go", "file_extension": ".go", "pygments_lexer": "go", "codemirror_mode": "go"}
	for k, v := range want {
		if info.LanguageInfo[k] != v {
			t.Errorf("language_info.%s = %q, want %q", k, info.LanguageInfo[k], v)
		}
	}
	if info.LanguageInfo["version"] == "" {
		t.Error("language_info.version is empty")
	}
	outs := c.Outputs(id, 5*time.Second)
	if len(outs) != 2 || kerneltest.Content(outs[0])["execution_state"] != "busy" || kerneltest.Content(outs[1])["execution_state"] != "idle" {
		t.Errorf("want busy, idle with the request as parent; got %d messages", len(outs))
	}
}

func TestBadSignatureDropped(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	// A forged execute must not run: x stays undefined afterwards.
	forged := c.SendSigned("shell", "execute_request", map[string]any{"code": "set x forged", "silent": false}, false)
	// A message without any signature frame content.
	h := NewHeader(c.Session, "execute_request")
	frames, _ := c.Codec.Encode(nil, h, nil, nil, map[string]any{"code": "set x unsigned"})
	frames[1] = nil
	c.SendFrames("shell", frames)
	// Garbage without delimiter.
	c.SendFrames("shell", [][]byte{[]byte("junk")})
	select {
	case m := <-c.Replies["shell"]:
		t.Fatalf("kernel answered a badly signed message: %s %s", m.Header.MsgType, m.Content)
	case <-time.After(500 * time.Millisecond):
	}
	_ = forged
	e := c.Execute("get x", nil)
	if e.Reply["status"] != "error" {
		t.Fatalf("forged cell was executed: %v", e.Reply)
	}
	if e := c.Execute("value alive", nil); e.Reply["status"] != "ok" {
		t.Fatalf("kernel not serving after bad messages: %v", e.Reply)
	}
}

func TestExecuteStateAndMessages(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	e1 := c.Execute("set greeting hello\nprint side effect", nil)
	if e1.Reply["status"] != "ok" || e1.Reply["execution_count"] != 1.0 {
		t.Fatalf("first reply %v", e1.Reply)
	}
	if got := e1.Stream("stdout"); got != "side effect\n" {
		t.Errorf("stdout %q", got)
	}
	if len(e1.OfType("execute_result")) != 0 {
		t.Error("a cell without a trailing value sent execute_result")
	}
	// Order on iopub: busy, execute_input, ..., idle.
	if e1.Outputs[0].Header.MsgType != "status" || e1.Outputs[1].Header.MsgType != "execute_input" {
		t.Errorf("first iopub messages %s, %s", e1.Outputs[0].Header.MsgType, e1.Outputs[1].Header.MsgType)
	}
	if in := kerneltest.Content(e1.Outputs[1]); in["code"] != "set greeting hello\nprint side effect" || in["execution_count"] != 1.0 {
		t.Errorf("execute_input %v", in)
	}

	e2 := c.Execute("get greeting", nil)
	res := e2.OfType("execute_result")
	if len(res) != 1 {
		t.Fatalf("want one execute_result, got %d", len(res))
	}
	rc := kerneltest.Content(res[0])
	if rc["execution_count"] != 2.0 || rc["data"].(map[string]any)["text/plain"] != "hello" {
		t.Errorf("execute_result %v", rc)
	}

	// silent: no execute_input, no result, no count.
	e3 := c.Execute("get greeting", map[string]any{"silent": true})
	if len(e3.OfType("execute_input")) != 0 || len(e3.OfType("execute_result")) != 0 || e3.Reply["execution_count"] != 2.0 {
		t.Errorf("silent cell: reply %v, %d messages", e3.Reply, len(e3.Outputs))
	}
	// store_history=false: runs, shows, does not count.
	e4 := c.Execute("value 7", map[string]any{"store_history": false})
	if e4.Reply["execution_count"] != 2.0 || len(e4.OfType("execute_result")) != 1 {
		t.Errorf("store_history=false: reply %v", e4.Reply)
	}
	e5 := c.Execute("eprint oops", nil)
	if e5.Stream("stderr") != "oops\n" || e5.Reply["execution_count"] != 3.0 {
		t.Errorf("stderr %q, reply %v", e5.Stream("stderr"), e5.Reply)
	}
}

func TestUserExpressions(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	e := c.Execute("set a 42", map[string]any{"user_expressions": map[string]any{"ok": "get a", "bad": "get nope"}})
	ue := e.Reply["user_expressions"].(map[string]any)
	ok := ue["ok"].(map[string]any)
	if ok["status"] != "ok" || ok["data"].(map[string]any)["text/plain"] != "42" {
		t.Errorf("user expression ok: %v", ok)
	}
	if ue["bad"].(map[string]any)["status"] != "error" {
		t.Errorf("user expression bad: %v", ue["bad"])
	}
}

func TestErrorIsOneMessageNamingTheLine(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	e := c.Execute("print before\nfail boom", nil)
	if e.Reply["status"] != "error" || e.Reply["ename"] != "Failure" || e.Reply["evalue"] != "boom" {
		t.Fatalf("reply %v", e.Reply)
	}
	errs := e.OfType("error")
	if len(errs) != 1 {
		t.Fatalf("want exactly one error message, got %d", len(errs))
	}
	tb := fmt.Sprint(kerneltest.Content(errs[0])["traceback"])
	if !strings.Contains(tb, "line 2") {
		t.Errorf("traceback does not name line 2: %s", tb)
	}
}

func TestStopOnErrorAbortsQueuedCells(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	base := map[string]any{"silent": false, "store_history": true, "user_expressions": map[string]any{}, "allow_stdin": false, "stop_on_error": true}
	with := func(code string) map[string]any {
		m := map[string]any{"code": code}
		for k, v := range base {
			m[k] = v
		}
		return m
	}
	id1 := c.Send("shell", "execute_request", with("sleep 200\nfail first"))
	id2 := c.Send("shell", "execute_request", with("set y 1"))
	id3 := c.Send("shell", "execute_request", with("set z 1"))
	for i, w := range []struct{ id, status string }{{id1, "error"}, {id2, "aborted"}, {id3, "aborted"}} {
		if got := kerneltest.Content(c.Reply("shell", w.id, 5*time.Second))["status"]; got != w.status {
			t.Errorf("cell %d: status %v, want %s", i+1, got, w.status)
		}
	}
	if e := c.Execute("get y", nil); e.Reply["status"] != "error" {
		t.Error("aborted cell ran anyway")
	}
	// With stop_on_error=false the next cell runs.
	m := with("sleep 100\nfail again")
	m["stop_on_error"] = false
	idA := c.Send("shell", "execute_request", m)
	idB := c.Send("shell", "execute_request", with("set w 1"))
	c.Reply("shell", idA, 5*time.Second)
	if got := kerneltest.Content(c.Reply("shell", idB, 5*time.Second))["status"]; got != "ok" {
		t.Errorf("cell after stop_on_error=false failure: %v", got)
	}
}

func TestInterruptKeepsState(t *testing.T) {
	for _, ch := range []string{"control", "shell"} {
		t.Run(ch, func(t *testing.T) {
			_, ci := startTestKernel(t)
			c := kerneltest.Dial(t, ci)
			c.Execute("set kept yes", nil)
			id := c.Send("shell", "execute_request", map[string]any{"code": "loop", "silent": false})
			time.Sleep(200 * time.Millisecond)
			start := time.Now()
			ir := c.Send(ch, "interrupt_request", map[string]any{})
			if got := kerneltest.Content(c.Reply(ch, ir, 2*time.Second))["status"]; got != "ok" {
				t.Errorf("interrupt_reply status %v", got)
			}
			r := kerneltest.Content(c.Reply("shell", id, 2*time.Second))
			if d := time.Since(start); d > time.Second {
				t.Errorf("interrupt took %v", d)
			}
			if r["status"] != "error" || r["ename"] != "Interrupted" {
				t.Errorf("interrupted cell reply %v", r)
			}
			if e := c.Execute("get kept", nil); e.Reply["status"] != "ok" {
				t.Errorf("state lost after interrupt: %v", e.Reply)
			}
		})
	}
}

func TestStdinRoundTrip(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	id := c.Send("shell", "execute_request", map[string]any{"code": "input your name?", "allow_stdin": true})
	var req *Message
	select {
	case req = <-c.Replies["stdin"]:
	case <-time.After(5 * time.Second):
		t.Fatal("no input_request")
	}
	if req.Header.MsgType != "input_request" || kerneltest.Content(req)["prompt"] != "your name?" || kerneltest.ParentID(req) != id {
		t.Fatalf("input_request %s %s", req.Header.MsgType, req.Content)
	}
	c.Send("stdin", "input_reply", map[string]any{"value": "Ada", "status": "ok"})
	if r := kerneltest.Content(c.Reply("shell", id, 5*time.Second)); r["status"] != "ok" {
		t.Fatalf("reply %v", r)
	}
	if got := (kerneltest.Exec{Outputs: c.Outputs(id, 5*time.Second)}).Stream("stdout"); got != "got Ada\n" {
		t.Errorf("stdout %q", got)
	}
	// allow_stdin=false: the cell gets an error instead of hanging.
	e := c.Execute("input nope", map[string]any{"allow_stdin": false})
	if e.Reply["status"] != "error" || !strings.Contains(fmt.Sprint(e.Reply["evalue"]), "stdin") {
		t.Errorf("stdin without allow_stdin: %v", e.Reply)
	}
}

func TestDisplayUpdateClear(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	e := c.Execute("print first\nshow bar 10%\nupdate bar 90%\ndisplay plain\nclear", nil)
	var kinds []string
	for _, m := range e.Outputs {
		if m.Header.MsgType != "status" && m.Header.MsgType != "execute_input" {
			kinds = append(kinds, m.Header.MsgType)
		}
	}
	want := "stream display_data update_display_data display_data clear_output"
	if strings.Join(kinds, " ") != want {
		t.Fatalf("iopub order %v, want %s", kinds, want)
	}
	upd := kerneltest.Content(e.OfType("update_display_data")[0])
	if upd["transient"].(map[string]any)["display_id"] != "bar" || upd["data"].(map[string]any)["text/plain"] != "90%" {
		t.Errorf("update_display_data %v", upd)
	}
}

func TestHistory(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	c.Execute("value one", nil)
	c.Execute("set two 2", nil)
	c.Execute("value three", nil)
	c.Execute("value hidden", map[string]any{"store_history": false})
	hist := func(q map[string]any) []any {
		id := c.Send("shell", "history_request", q)
		r := kerneltest.Content(c.Reply("shell", id, 5*time.Second))
		return r["history"].([]any)
	}
	tail := hist(map[string]any{"hist_access_type": "tail", "n": 2, "output": false, "raw": true})
	if fmt.Sprint(tail) != "[[1 2 set two 2] [1 3 value three]]" {
		t.Errorf("tail %v", tail)
	}
	out := hist(map[string]any{"hist_access_type": "tail", "n": 3, "output": true, "raw": true})
	if fmt.Sprint(out) != "[[1 1 [value one one]] [1 2 [set two 2 <nil>]] [1 3 [value three three]]]" {
		t.Errorf("tail with output %v", out)
	}
	rng := hist(map[string]any{"hist_access_type": "range", "session": 1, "start": 2, "stop": 3, "output": false, "raw": true})
	if fmt.Sprint(rng) != "[[1 2 set two 2]]" {
		t.Errorf("range %v", rng)
	}
	srch := hist(map[string]any{"hist_access_type": "search", "pattern": "value t*", "n": 10, "output": false, "raw": true})
	if fmt.Sprint(srch) != "[[1 3 value three]]" {
		t.Errorf("search %v", srch)
	}
	c.Execute("value a/b\nvalue three", nil)
	c.Execute("value three", nil)
	srch = hist(map[string]any{"hist_access_type": "search", "pattern": "*thr?e", "n": 10, "output": false, "raw": true})
	if fmt.Sprint(srch) != "[[1 3 value three] [1 4 value a/b\nvalue three] [1 5 value three]]" {
		t.Errorf("search across lines and slashes %v", srch)
	}
	srch = hist(map[string]any{"hist_access_type": "search", "pattern": "value th*", "unique": true, "n": 10, "output": false, "raw": true})
	if fmt.Sprint(srch) != "[[1 5 value three]]" {
		t.Errorf("unique search %v", srch)
	}
}

func TestCompleteInspectIsComplete(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	c.Execute("set héllo 1\nset help 2", nil)
	code := "print hé"
	id := c.Send("shell", "complete_request", map[string]any{"code": code, "cursor_pos": len([]rune(code))})
	r := kerneltest.Content(c.Reply("shell", id, 5*time.Second))
	if fmt.Sprint(r["matches"]) != "[héllo]" || r["cursor_start"] != 6.0 || r["cursor_end"] != 8.0 || r["status"] != "ok" {
		t.Errorf("complete_reply %v", r)
	}
	id = c.Send("shell", "inspect_request", map[string]any{"code": "get help", "cursor_pos": 6, "detail_level": 0})
	r = kerneltest.Content(c.Reply("shell", id, 5*time.Second))
	if r["found"] != true || r["data"].(map[string]any)["text/plain"] != "help = 2" {
		t.Errorf("inspect_reply %v", r)
	}
	for code, want := range map[string]string{"x {": "incomplete", "x {}": "complete", "}": "invalid"} {
		id := c.Send("shell", "is_complete_request", map[string]any{"code": code})
		r := kerneltest.Content(c.Reply("shell", id, 5*time.Second))
		if r["status"] != want {
			t.Errorf("is_complete(%q) = %v, want %s", code, r["status"], want)
		}
		if want == "incomplete" && r["indent"] != "\t" {
			t.Errorf("indent %q", r["indent"])
		}
	}
}

func TestCommsAndUnknown(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	id := c.Send("shell", "comm_info_request", map[string]any{})
	if r := kerneltest.Content(c.Reply("shell", id, 5*time.Second)); r["status"] != "ok" || fmt.Sprint(r["comms"]) != "map[]" {
		t.Errorf("comm_info_reply %v", r)
	}
	id = c.Send("shell", "comm_open", map[string]any{"comm_id": "c1", "target_name": "jupyter.widget", "data": map[string]any{}})
	var closed bool
	for _, m := range c.Outputs(id, 5*time.Second) {
		closed = closed || (m.Header.MsgType == "comm_close" && kerneltest.Content(m)["comm_id"] == "c1")
	}
	if !closed {
		t.Error("comm_open for an unknown target was not closed")
	}
	c.Send("shell", "no_such_request", map[string]any{})
	if e := c.Execute("value fine", nil); e.Reply["status"] != "ok" {
		t.Error("kernel broken by an unknown message type")
	}
}

func TestHeartbeat(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	done := make(chan string, 1)
	go func() {
		c.HB.Send(zmq4.NewMsgString("ping"))
		m, err := c.HB.Recv()
		if err != nil {
			done <- err.Error()
			return
		}
		done <- string(m.Frames[0])
	}()
	select {
	case got := <-done:
		if got != "ping" {
			t.Errorf("heartbeat echoed %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat")
	}
}

func TestShutdown(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprint("restart=", restart), func(t *testing.T) {
			k, ci := startTestKernel(t)
			c := kerneltest.Dial(t, ci)
			id := c.Send("control", "shutdown_request", map[string]any{"restart": restart})
			r := c.Reply("control", id, 5*time.Second)
			if r.Header.MsgType != "shutdown_reply" || kerneltest.Content(r)["restart"] != restart {
				t.Errorf("shutdown_reply %s %s", r.Header.MsgType, r.Content)
			}
			done := make(chan bool)
			go func() { done <- k.Wait() }()
			select {
			case got := <-done:
				if got != restart {
					t.Errorf("Wait() = %v, want %v", got, restart)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("kernel did not stop")
			}
		})
	}
}

// The tests below run the kernel in a child process (this test binary,
// re-executed), because fd capture and signals act on the whole process.

func TestMain(m *testing.M) {
	if path := os.Getenv("STEERBOOK_TEST_CHILD_KERNEL"); path != "" {
		os.Exit(childKernel(path))
	}
	os.Exit(m.Run())
}

func childKernel(path string) int {
	ci, err := ReadConnectionFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	k, err := Start(context.Background(), ci, Config{NewInterpreter: newFake, SetPublisher: setTestPublisher,
		CaptureFDs: true, HandleSIGINT: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	WatchParent(context.Background(), 100*time.Millisecond, func(reason string) { k.Stop() })
	k.Wait()
	return 0
}

func startChild(t *testing.T, env ...string) (*exec.Cmd, *ConnectionInfo) {
	ci := kerneltest.Connection(t)
	path := filepath.Join(t.TempDir(), "conn.json")
	b, _ := json.Marshal(ci)
	os.WriteFile(path, b, 0o600)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "STEERBOOK_TEST_CHILD_KERNEL="+path), env...)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("child kernel log:\n%s", logs.String())
		}
	})
	return cmd, ci
}

func TestChildFDCaptureAndSIGINT(t *testing.T) {
	cmd, ci := startChild(t)
	c := kerneltest.Dial(t, ci)
	e := c.Execute("fdprint from compiled code\nprint from interp", nil)
	if got := e.Stream("stdout"); got != "from compiled code\nfrom interp\n" {
		t.Errorf("fd-level stdout %q", got)
	}
	c.Execute("set kept 1", nil)
	id := c.Send("shell", "execute_request", map[string]any{"code": "loop"})
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	r := kerneltest.Content(c.Reply("shell", id, 2*time.Second))
	if r["ename"] != "Interrupted" || time.Since(start) > time.Second {
		t.Errorf("SIGINT: reply %v after %v", r, time.Since(start))
	}
	if e := c.Execute("get kept", nil); e.Reply["status"] != "ok" {
		t.Errorf("state lost after SIGINT")
	}
}

func TestChildExitsWhenParentDies(t *testing.T) {
	parent := exec.Command("sleep", "60")
	if err := parent.Start(); err != nil {
		t.Skip("no sleep binary:", err)
	}
	cmd, _ := startChild(t, fmt.Sprintf("JPY_PARENT_PID=%d", parent.Process.Pid))
	exited := make(chan struct{})
	go func() { cmd.Process.Wait(); close(exited) }()
	select {
	case <-exited:
		t.Fatal("kernel exited while its parent lived")
	case <-time.After(500 * time.Millisecond):
	}
	parent.Process.Kill()
	parent.Wait()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("kernel outlived its parent")
	}
}

func TestCompleteWhileACellRuns(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	c.Execute("set answer 42", nil)
	id := c.Send("shell", "execute_request", map[string]any{"code": "sleep 1500", "silent": false})
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	cid := c.Send("shell", "complete_request", map[string]any{"code": "ans", "cursor_pos": 3})
	r := kerneltest.Content(c.Reply("shell", cid, 5*time.Second))
	if d := time.Since(start); d > time.Second {
		t.Errorf("complete waited %v for the running cell", d)
	}
	if fmt.Sprint(r["matches"]) != "[answer]" {
		t.Errorf("matches %v", r["matches"])
	}
	c.Reply("shell", id, 5*time.Second)
}

func TestHelpSyntaxPagesTheDoc(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	c.Execute("set alpha 0.5", nil)
	e := c.Execute("alpha?", nil)
	pl, _ := e.Reply["payload"].([]any)
	if e.Reply["status"] != "ok" || len(pl) != 1 {
		t.Fatalf("reply %v", e.Reply)
	}
	page := pl[0].(map[string]any)
	if page["source"] != "page" || page["data"].(map[string]any)["text/plain"] != "alpha = 0.5" {
		t.Errorf("payload %v", page)
	}
	if e := c.Execute("?nothing", nil); e.Reply["status"] != "error" || len(e.OfType("error")) != 1 {
		t.Errorf("help for an unknown name: %v", e.Reply)
	}
	// A question mark inside real code is not a help request.
	if e := c.Execute("value a?b", nil); e.Reply["status"] != "ok" || len(e.OfType("execute_result")) != 1 {
		t.Errorf("code with ? treated as help: %v", e.Reply)
	}
}

func TestPrintLoopIsCoalesced(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	e := c.Execute("printmany 20000", nil)
	var want strings.Builder
	for j := range 20000 {
		fmt.Fprintln(&want, j)
	}
	if e.Stream("stdout") != want.String() {
		t.Fatalf("stdout lost or reordered lines (%d bytes, want %d)", len(e.Stream("stdout")), want.Len())
	}
	if n := len(e.OfType("stream")); n > 200 {
		t.Errorf("20000 prints became %d stream messages; iopub should get coalesced chunks", n)
	}
}

func TestOutputStreamsWhileTheCellRuns(t *testing.T) {
	_, ci := startTestKernel(t)
	c := kerneltest.Dial(t, ci)
	id := c.Send("shell", "execute_request", map[string]any{"code": "print early\nsleep 1500\nprint late"})
	start := time.Now()
	var early time.Duration
	for early == 0 {
		select {
		case m := <-c.IOPub:
			if kerneltest.ParentID(m) == id && m.Header.MsgType == "stream" {
				if txt := kerneltest.Content(m)["text"]; txt != "early\n" {
					t.Fatalf("first stream %q", txt)
				}
				early = time.Since(start)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no stream output")
		}
	}
	c.Reply("shell", id, 5*time.Second)
	if done := time.Since(start); early > 700*time.Millisecond || done-early < 700*time.Millisecond {
		t.Errorf("first line after %v, cell done after %v: output was not streamed", early, done)
	}
}

// With a history file, each kernel is the next session (also when two start
// together) and its history requests see earlier sessions' cells; a torn or
// foreign line is skipped and logged, and nothing else is lost.
func TestHistoryAcrossSessions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "steerbook", "history.jsonl")
	var logs kerneltest.Buffer
	start := func() *kerneltest.Client {
		_, ci := kerneltest.Start(t, Config{NewInterpreter: newFake, SetPublisher: setTestPublisher,
			HistoryFile: path, Log: log.New(&logs, "", 0)})
		return kerneltest.Dial(t, ci)
	}
	hist := func(c *kerneltest.Client, q map[string]any) string {
		id := c.Send("shell", "history_request", q)
		r := kerneltest.Content(c.Reply("shell", id, 5*time.Second))
		return fmt.Sprint(r["history"])
	}
	k1 := start()
	k1.Execute("value one", nil)
	k1.Execute("set two 2", nil)
	if got := hist(k1, map[string]any{"hist_access_type": "tail", "n": 5, "output": true}); got != "[[1 1 [value one one]] [1 2 [set two 2 <nil>]]]" {
		t.Errorf("first session tail %v", got)
	}
	// A write cut short (no newline) must not swallow the next entry.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"session": 1, "li`)
	f.Close()

	// Two kernels started before either stores a cell take different numbers.
	k2, k3 := start(), start()
	k2.Execute("value three", nil)
	k3.Execute("value four", nil)
	if got := hist(k3, map[string]any{"hist_access_type": "tail", "n": 3}); got != "[[1 1 value one] [1 2 set two 2] [3 1 value four]]" {
		t.Errorf("third session tail %v", got)
	}
	k4 := start()
	for _, c := range []struct {
		q    map[string]any
		want string
	}{
		{map[string]any{"hist_access_type": "tail", "n": 3}, "[[1 2 set two 2] [2 1 value three] [3 1 value four]]"},
		{map[string]any{"hist_access_type": "range", "session": -1, "start": 1, "stop": 0}, "[[3 1 value four]]"},
		{map[string]any{"hist_access_type": "range", "session": -3, "start": 1, "stop": 2}, "[[1 1 value one]]"},
		{map[string]any{"hist_access_type": "range", "session": 2, "start": 1, "stop": 0}, "[[2 1 value three]]"},
		{map[string]any{"hist_access_type": "range", "session": 0, "start": 1, "stop": 0}, "[]"},
		{map[string]any{"hist_access_type": "search", "pattern": "value *", "n": 10}, "[[1 1 value one] [2 1 value three] [3 1 value four]]"},
	} {
		if got := hist(k4, c.q); got != c.want {
			t.Errorf("%v: %v, want %v", c.q, got, c.want)
		}
	}
	if !strings.Contains(logs.String(), path+": skipped 1 lines that are not history entries (first: line 4)") {
		t.Errorf("the torn line is not logged with its file and line: %q", logs.String())
	}

	// An unwritable location keeps the session in memory, and says so.
	logs.Take()
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	path = filepath.Join(blocker, "history.jsonl") // a file where a folder should be
	k5 := start()
	k5.Execute("value five", nil)
	if got := hist(k5, map[string]any{"hist_access_type": "tail", "n": 1}); got != "[[1 1 value five]]" {
		t.Errorf("memory-only tail %v", got)
	}
	if !strings.Contains(logs.String(), "kept in memory only") {
		t.Errorf("no log for the unwritable history: %q", logs.String())
	}
}

// A line longer than the reader takes (here 5 MiB) is skipped, not the end
// of the file: the sessions after it still load and number the next one.
func TestHistorySkipsOverlongLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	body := `{"session":1,"line":1,"input":"value a"}` + "\n" +
		`{"session":1,"line":2,"input":"` + strings.Repeat("x", 5<<20) + `"}` + "\n" +
		`{"session":2,"line":1,"input":"value b"}` + "\n"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs kerneltest.Buffer
	_, ci := kerneltest.Start(t, Config{NewInterpreter: newFake, SetPublisher: setTestPublisher,
		HistoryFile: path, Log: log.New(&logs, "", 0)})
	c := kerneltest.Dial(t, ci)
	c.Execute("value c", nil)
	id := c.Send("shell", "history_request", map[string]any{"hist_access_type": "tail", "n": 5})
	r := kerneltest.Content(c.Reply("shell", id, 5*time.Second))
	if got := fmt.Sprint(r["history"]); got != "[[1 1 value a] [2 1 value b] [3 1 value c]]" {
		t.Errorf("tail %v", got)
	}
	if !strings.Contains(logs.String(), "skipped 1 lines that are not history entries (first: line 2)") {
		t.Errorf("log %q", logs.String())
	}
}
