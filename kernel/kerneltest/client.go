// Package kerneltest is a minimal Jupyter client over zmq4 for tests that
// drive a kernel through its sockets, the way jupyter_client does: DEALER
// sockets for shell, control and stdin (sharing one identity, so that an
// input_request reaches the client), SUB for iopub, REQ for heartbeat.
package kerneltest

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"
	"github.com/steerbook/steerbook/kernel"
)

// FreePorts asks the OS for n free loopback ports.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
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

// Connection returns connection info on free loopback ports, with a random key.
func Connection(t testing.TB) *kernel.ConnectionInfo {
	p := FreePorts(t, 5)
	return &kernel.ConnectionInfo{Transport: "tcp", IP: "127.0.0.1", ShellPort: p[0], ControlPort: p[1],
		StdinPort: p[2], IOPubPort: p[3], HBPort: p[4], Key: "test-key-" + kernel.NewID(), SignatureScheme: "hmac-sha256"}
}

// Client talks to one kernel. Replies arrive on Replies[socket name], iopub
// messages on IOPub; every message received is signature-checked.
type Client struct {
	t                     testing.TB
	Codec                 *kernel.Codec
	Session               string
	Shell, Control, Stdin zmq4.Socket
	IOPubSock, HB         zmq4.Socket
	Replies               map[string]chan *kernel.Message // "shell", "control", "stdin"
	IOPub                 chan *kernel.Message
}

// Dial connects to the kernel and waits until iopub delivers (PUB/SUB drops
// messages until the subscription has arrived, so it nudges with
// kernel_info_request as jupyter_client does).
func Dial(t testing.TB, ci *kernel.ConnectionInfo) *Client {
	t.Helper()
	codec, err := kernel.NewCodec(ci.SignatureScheme, ci.Key)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	id := zmq4.SocketIdentity("client-" + kernel.NewID())
	c := &Client{t: t, Codec: codec, Session: kernel.NewID(),
		Shell: zmq4.NewDealer(ctx, zmq4.WithID(id)), Control: zmq4.NewDealer(ctx, zmq4.WithID(id)),
		Stdin: zmq4.NewDealer(ctx, zmq4.WithID(id)), IOPubSock: zmq4.NewSub(ctx), HB: zmq4.NewReq(ctx),
		Replies: map[string]chan *kernel.Message{}, IOPub: make(chan *kernel.Message, 1000)}
	for _, d := range []struct {
		s    zmq4.Socket
		port int
	}{{c.Shell, ci.ShellPort}, {c.Control, ci.ControlPort}, {c.Stdin, ci.StdinPort}, {c.IOPubSock, ci.IOPubPort}, {c.HB, ci.HBPort}} {
		if err := d.s.Dial(ci.Endpoint(d.port)); err != nil {
			t.Fatalf("dial %d: %v", d.port, err)
		}
	}
	c.IOPubSock.SetOption(zmq4.OptionSubscribe, "")
	for name, s := range map[string]zmq4.Socket{"shell": c.Shell, "control": c.Control, "stdin": c.Stdin, "iopub": c.IOPubSock} {
		ch := c.IOPub
		if name != "iopub" {
			ch = make(chan *kernel.Message, 1000)
			c.Replies[name] = ch
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
					t.Errorf("%s: could not decode a kernel message: %v", name, err)
					continue
				}
				ch <- m
			}
		}()
	}
	t.Cleanup(func() {
		cancel()
		for _, s := range []zmq4.Socket{c.Shell, c.Control, c.Stdin, c.IOPubSock, c.HB} {
			s.Close()
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		id := c.Send("shell", "kernel_info_request", map[string]any{})
		c.Reply("shell", id, 5*time.Second)
		select {
		case <-c.IOPub:
			c.DrainIOPub(200 * time.Millisecond)
			return c
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("iopub never delivered a message")
		}
	}
}

func (c *Client) sock(name string) zmq4.Socket {
	switch name {
	case "shell":
		return c.Shell
	case "control":
		return c.Control
	case "stdin":
		return c.Stdin
	}
	panic("kerneltest: no socket " + name)
}

// SendSigned sends a message on shell, control or stdin and returns its
// msg_id; sign=false sends a wrong signature.
func (c *Client) SendSigned(name, msgType string, content any, sign bool) string {
	h := kernel.NewHeader(c.Session, msgType)
	frames, err := c.Codec.Encode(nil, h, nil, nil, content)
	if err != nil {
		c.t.Fatal(err)
	}
	if !sign {
		frames[1] = []byte(strings.Repeat("0", 64)) // the signature frame
	}
	c.SendFrames(name, frames)
	return h.MsgID
}

// SendFrames sends raw frames (for malformed-message tests).
func (c *Client) SendFrames(name string, frames [][]byte) {
	if err := c.sock(name).SendMulti(zmq4.NewMsgFrom(frames...)); err != nil {
		c.t.Fatal(err)
	}
}

// Send sends a correctly signed message and returns its msg_id.
func (c *Client) Send(name, msgType string, content any) string {
	return c.SendSigned(name, msgType, content, true)
}

// ParentID is the msg_id of a message's parent header.
func ParentID(m *kernel.Message) string {
	var h kernel.Header
	json.Unmarshal(m.ParentRaw, &h)
	return h.MsgID
}

// Content decodes a message's content.
func Content(m *kernel.Message) map[string]any {
	var v map[string]any
	json.Unmarshal(m.Content, &v)
	return v
}

// Reply waits for the reply to msgID on a socket.
func (c *Client) Reply(name, msgID string, timeout time.Duration) *kernel.Message {
	c.t.Helper()
	tm := time.After(timeout)
	for {
		select {
		case m := <-c.Replies[name]:
			if ParentID(m) == msgID {
				return m
			}
		case <-tm:
			c.t.Fatalf("no reply on %s to %s within %v", name, msgID, timeout)
			return nil
		}
	}
}

// Outputs collects the iopub messages of msgID up to its idle status.
func (c *Client) Outputs(msgID string, timeout time.Duration) []*kernel.Message {
	c.t.Helper()
	var out []*kernel.Message
	tm := time.After(timeout)
	for {
		select {
		case m := <-c.IOPub:
			if ParentID(m) != msgID {
				continue
			}
			out = append(out, m)
			if m.Header.MsgType == "status" && Content(m)["execution_state"] == "idle" {
				return out
			}
		case <-tm:
			c.t.Fatalf("no idle for %s within %v (got %d messages)", msgID, timeout, len(out))
			return nil
		}
	}
}

// DrainIOPub discards iopub messages until none arrives for quiet.
func (c *Client) DrainIOPub(quiet time.Duration) {
	for {
		select {
		case <-c.IOPub:
		case <-time.After(quiet):
			return
		}
	}
}

// Exec is one executed request: its id, reply content and iopub messages.
type Exec struct {
	ID      string
	Reply   map[string]any
	Outputs []*kernel.Message
}

// Execute runs code (store_history, stop_on_error, no stdin unless extra
// says otherwise) and waits for its reply and idle status.
func (c *Client) Execute(code string, extra map[string]any) Exec {
	c.t.Helper()
	cont := map[string]any{"code": code, "silent": false, "store_history": true, "user_expressions": map[string]any{},
		"allow_stdin": false, "stop_on_error": true}
	for k, v := range extra {
		cont[k] = v
	}
	id := c.Send("shell", "execute_request", cont)
	r := c.Reply("shell", id, 30*time.Second)
	return Exec{ID: id, Reply: Content(r), Outputs: c.Outputs(id, 30*time.Second)}
}

// Stream joins the text of the stream messages with the given name.
func (e Exec) Stream(name string) string {
	var b strings.Builder
	for _, m := range e.Outputs {
		if m.Header.MsgType == "stream" && Content(m)["name"] == name {
			b.WriteString(Content(m)["text"].(string))
		}
	}
	return b.String()
}

// OfType returns the iopub messages of one type.
func (e Exec) OfType(t string) []*kernel.Message {
	var out []*kernel.Message
	for _, m := range e.Outputs {
		if m.Header.MsgType == t {
			out = append(out, m)
		}
	}
	return out
}

// Start starts a kernel on free loopback ports and stops it when the test
// ends. It retries with new ports when another process took one between the
// probe and the bind (tests of several packages run at once).
func Start(t testing.TB, cfg kernel.Config) (*kernel.Kernel, *kernel.ConnectionInfo) {
	t.Helper()
	var err error
	for range 5 {
		ci := Connection(t)
		var k *kernel.Kernel
		if k, err = kernel.Start(context.Background(), ci, cfg); err == nil {
			t.Cleanup(func() { k.Stop(); k.Wait() })
			return k, ci
		}
		if !strings.Contains(err.Error(), "binding") {
			break
		}
	}
	t.Fatal(err)
	return nil, nil
}
