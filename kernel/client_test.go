package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
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

// freePorts asks the OS for n free loopback ports.
func freePorts(t testing.TB, n int) []int {
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

func testConn(t testing.TB) *ConnectionInfo {
	p := freePorts(t, 5)
	return &ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], ControlPort: p[1],
		StdinPort: p[2], IOPubPort: p[3], HBPort: p[4], Key: "test-key-" + NewID(), SignatureScheme: "hmac-sha256"}
}

// startTestKernel starts an in-process kernel on the fake interpreter.
func startTestKernel(t *testing.T) (*Kernel, *ConnectionInfo) {
	t.Helper()
	ci := testConn(t)
	k, err := Start(context.Background(), ci, Config{NewInterpreter: newFake, SetPublisher: setTestPublisher,
		Banner: "test", ImplementationVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Stop(); k.Wait() })
	return k, ci
}

// client is a minimal Jupyter client over zmq4, the way jupyter_client
// talks to a kernel: DEALER for shell/control/stdin (same identity), SUB for
// iopub, REQ for heartbeat.
type client struct {
	t                     testing.TB
	codec                 *Codec
	session               string
	shell, control, stdin zmq4.Socket
	iopub, hb             zmq4.Socket
	replies               map[string]chan *Message // per socket name
	iopubCh               chan *Message
	cancel                context.CancelFunc
}

func newClient(t testing.TB, ci *ConnectionInfo) *client {
	t.Helper()
	codec, _ := NewCodec(ci.SignatureScheme, ci.Key)
	ctx, cancel := context.WithCancel(context.Background())
	id := zmq4.SocketIdentity("client-" + NewID())
	c := &client{t: t, codec: codec, session: NewID(), cancel: cancel,
		shell: zmq4.NewDealer(ctx, zmq4.WithID(id)), control: zmq4.NewDealer(ctx, zmq4.WithID(id)),
		stdin: zmq4.NewDealer(ctx, zmq4.WithID(id)), iopub: zmq4.NewSub(ctx), hb: zmq4.NewReq(ctx),
		replies: map[string]chan *Message{}, iopubCh: make(chan *Message, 1000)}
	dial := func(s zmq4.Socket, port int) {
		if err := s.Dial(ci.Endpoint(port)); err != nil {
			t.Fatalf("dial %d: %v", port, err)
		}
	}
	dial(c.shell, ci.ShellPort)
	dial(c.control, ci.ControlPort)
	dial(c.stdin, ci.StdinPort)
	dial(c.iopub, ci.IOPubPort)
	dial(c.hb, ci.HBPort)
	c.iopub.SetOption(zmq4.OptionSubscribe, "")
	for name, s := range map[string]zmq4.Socket{"shell": c.shell, "control": c.control, "stdin": c.stdin, "iopub": c.iopub} {
		ch := make(chan *Message, 1000)
		if name == "iopub" {
			ch = c.iopubCh
		} else {
			c.replies[name] = ch
		}
		go func() {
			for {
				zm, err := s.Recv()
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					continue
				}
				m, err := codec.Decode(zm.Frames)
				if err != nil {
					t.Errorf("%s: client could not decode a kernel message: %v", name, err)
					continue
				}
				ch <- m
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		for _, s := range []zmq4.Socket{c.shell, c.control, c.stdin, c.iopub, c.hb} {
			s.Close()
		}
	})
	// PUB/SUB is lossy until the subscription has reached the kernel: nudge
	// with kernel_info until iopub answers, as jupyter_client does.
	deadline := time.Now().Add(10 * time.Second)
	for {
		id := c.send("shell", "kernel_info_request", map[string]any{})
		c.reply("shell", id, 5*time.Second)
		select {
		case <-c.iopubCh:
			c.drainIOPub(200 * time.Millisecond)
			return c
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("iopub never delivered a message")
		}
	}
}

func (c *client) sock(name string) zmq4.Socket {
	switch name {
	case "shell":
		return c.shell
	case "control":
		return c.control
	case "stdin":
		return c.stdin
	}
	panic(name)
}

// sendRaw sends a message with the given content; sign=false sends a wrong
// signature.
func (c *client) sendSigned(name, msgType string, content any, sign bool) string {
	h := NewHeader(c.session, msgType)
	frames, err := c.codec.Encode(nil, h, nil, nil, content)
	if err != nil {
		c.t.Fatal(err)
	}
	if !sign {
		frames[1] = []byte(strings.Repeat("0", 64)) // the signature frame
	}
	if err := c.sock(name).SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatal(err)
	}
	return h.MsgID
}

func (c *client) send(name, msgType string, content any) string {
	return c.sendSigned(name, msgType, content, true)
}

func parentID(m *Message) string {
	var h Header
	json.Unmarshal(m.ParentRaw, &h)
	return h.MsgID
}

// reply waits for the reply to msgID on a socket.
func (c *client) reply(name, msgID string, timeout time.Duration) *Message {
	c.t.Helper()
	tm := time.After(timeout)
	for {
		select {
		case m := <-c.replies[name]:
			if parentID(m) == msgID {
				return m
			}
		case <-tm:
			c.t.Fatalf("no reply on %s to %s within %v", name, msgID, timeout)
			return nil
		}
	}
}

// outputs collects iopub messages for msgID until its idle status.
func (c *client) outputs(msgID string, timeout time.Duration) []*Message {
	c.t.Helper()
	var out []*Message
	tm := time.After(timeout)
	for {
		select {
		case m := <-c.iopubCh:
			if parentID(m) != msgID {
				continue
			}
			out = append(out, m)
			if m.Header.MsgType == "status" && content(m)["execution_state"] == "idle" {
				return out
			}
		case <-tm:
			c.t.Fatalf("no idle for %s within %v (got %d messages)", msgID, timeout, len(out))
			return nil
		}
	}
}

func (c *client) drainIOPub(quiet time.Duration) {
	for {
		select {
		case <-c.iopubCh:
		case <-time.After(quiet):
			return
		}
	}
}

func content(m *Message) map[string]any {
	var v map[string]any
	json.Unmarshal(m.Content, &v)
	return v
}

type execResult struct {
	id      string
	reply   map[string]any
	outputs []*Message
}

// execute runs code and returns the reply and the iopub messages.
func (c *client) execute(code string, extra map[string]any) execResult {
	c.t.Helper()
	cont := map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{},
		"allow_stdin": false, "stop_on_error": true}
	for k, v := range extra {
		cont[k] = v
	}
	id := c.send("shell", "execute_request", cont)
	r := c.reply("shell", id, 10*time.Second)
	return execResult{id: id, reply: content(r), outputs: c.outputs(id, 10*time.Second)}
}

// streams joins the text of the stream messages with the given name.
func (e execResult) stream(name string) string {
	var b strings.Builder
	for _, m := range e.outputs {
		if m.Header.MsgType == "stream" && content(m)["name"] == name {
			b.WriteString(content(m)["text"].(string))
		}
	}
	return b.String()
}

func (e execResult) ofType(t string) []*Message {
	var out []*Message
	for _, m := range e.outputs {
		if m.Header.MsgType == t {
			out = append(out, m)
		}
	}
	return out
}

func zmqMsg(frames [][]byte) zmq4.Msg { return zmq4.NewMsgFrom(frames...) }

func contextBackground() context.Context { return context.Background() }
