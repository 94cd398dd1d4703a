// Package kernel implements the Jupyter messaging protocol (5.3) for
// Steerbook's Go kernel: the connection file, the wire format and its HMAC
// signatures, the five ZeroMQ sockets, one dispatch table from message type
// to handler, the execution queue (with stop_on_error aborts), history,
// interrupts, stdin, and the parent-death watch.
//
// The kernel knows nothing about how cells are run: it drives an
// Interpreter (kernel/cell, wired in by the steerbook command), renders
// trailing values through Config.Render, and hands each cell a Publisher
// for rich display. That keeps this package testable with a fake.
package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/go-zeromq/zmq4"
)

// Interpreter runs cells. kernel/cell's Session satisfies it through a small
// adapter in the steerbook command.
type Interpreter interface {
	// Execute runs one cell. n is the execution count, for error messages.
	// A failing cell returns an error, ideally a *CellError.
	Execute(ctx context.Context, src string, n int) (value any, hasValue bool, err error)
	Complete(src string, cursor int) (matches []string, start, end int)
	Inspect(src string, cursor int) (doc string, ok bool)
	IsComplete(src string) (status, indent string)
}

// CellError is a failed cell as the kernel reports it: ename, evalue and
// traceback of the protocol's error message.
type CellError struct {
	Name, Value string
	Traceback   []string
}

func (e *CellError) Error() string { return e.Name + ": " + e.Value }

// Publisher receives rich display calls made by a cell. It has the method
// set of kernel/display's Publisher, so the kernel's publisher can be
// installed there directly.
type Publisher interface {
	Publish(data, metadata map[string]any, displayID string, update bool)
	Clear(wait bool)
}

// IO is what an interpreter is given to talk to the user.
type IO struct {
	Stdout, Stderr io.Writer
	// Stdin asks the front-end for a line of input (input_request). It fails
	// when the current request did not allow stdin, and returns early with
	// the context's error when the cell is interrupted.
	Stdin func(prompt string, password bool) (string, error)
}

// ErrStdinNotAllowed is returned by IO.Stdin when the front-end sent
// allow_stdin=false (nbconvert, papermill) or no cell is running.
var ErrStdinNotAllowed = errors.New("kernel: stdin is not available: the front-end did not allow input for this request")

// Config wires a kernel to its interpreter and environment.
type Config struct {
	// NewInterpreter creates the interpreter once, at start-up.
	NewInterpreter func(IO) (Interpreter, error)
	// Render turns a trailing value into a MIME bundle (display.Bundle).
	// Nil uses DefaultRender.
	Render func(v any) map[string]any
	// SetPublisher installs the publisher for the cell about to run
	// (display.SetPublisher). May be nil.
	SetPublisher func(Publisher)
	// CaptureFDs redirects file descriptors 1 and 2 into pipes so that
	// everything the process writes, compiled packages included, is streamed
	// to the front-end. The kernel's own log goes to a copy of the original
	// stderr. Only one kernel per process may do this.
	CaptureFDs bool
	// HandleSIGINT makes SIGINT interrupt the running cell instead of
	// killing the process.
	HandleSIGINT bool
	// Log receives the kernel's own diagnostics. Nil logs to the original
	// stderr.
	Log *log.Logger
	// HistoryFile keeps the history of every session (one JSON object per
	// stored cell, appended), so history_request also answers from earlier
	// sessions, as IPython's history database does. "" keeps the history in
	// memory for the life of the kernel.
	HistoryFile string
	// Implementation and version for kernel_info.
	Implementation, ImplementationVersion, Banner string
	HelpLinks                                     []HelpLink
}

// HelpLink is one entry of kernel_info's help_links.
type HelpLink struct {
	Text string `json:"text"`
	URL  string `json:"url"`
}

// DefaultRender renders v as text/plain, or through its MIMEBundle method.
func DefaultRender(v any) map[string]any {
	if b, ok := v.(interface{ MIMEBundle() map[string]any }); ok {
		if m := b.MIMEBundle(); len(m) > 0 {
			return m
		}
	}
	return map[string]any{"text/plain": fmt.Sprint(v)}
}

// channel names the socket a request came in on, so replies go back there.
type channel int

const (
	shellCh channel = iota
	controlCh
)

// request is a decoded message waiting to be handled.
type request struct {
	msg *Message
	ch  channel
}

// running is the state of the cell being executed.
type running struct {
	req         *Message
	ctx         context.Context
	cancel      context.CancelFunc
	allowStdin  bool
	interrupted bool
}

// Kernel is one running kernel.
type Kernel struct {
	cfg     Config
	ci      *ConnectionInfo
	codec   *Codec
	session string
	log     *log.Logger

	ctx    context.Context
	cancel context.CancelFunc

	shell, control, stdin, iopub, hb  zmq4.Socket
	shellMu, controlMu, stdinMu, ioMu sync.Mutex

	interp  Interpreter
	queue   chan *request
	stdinCh chan *Message

	stdout, stderr *streamWriter
	capture        *fdCapture

	mu       sync.Mutex
	cur      *running
	lastReq  *Message // parent for output that arrives between cells
	count    int
	history  *history
	shutdown bool
	restart  bool
	// pendingAbort holds requests taken off the queue by stop_on_error,
	// answered after the failing cell's idle status.
	pendingAbort []*request
	handlers     map[string]handler
	closeOnce    sync.Once
}

// handler is one entry of the dispatch table.
type handler struct {
	fn func(k *Kernel, r *request)
	// queued handlers run one at a time, in arrival order, on the
	// execution goroutine; the others answer at once (so kernel_info,
	// interrupt and shutdown work while a cell runs).
	queued bool
	// concurrent handlers answer on a goroutine of their own: completion
	// and inspection keep working while a long cell runs (the session
	// allows Complete and Inspect concurrently with Execute).
	concurrent bool
}

// dispatch is the one table from msg_type to handler, for shell and control.
var dispatch = map[string]handler{
	"kernel_info_request": {fn: (*Kernel).kernelInfo},
	"execute_request":     {fn: (*Kernel).execute, queued: true},
	"complete_request":    {fn: (*Kernel).complete, concurrent: true},
	"inspect_request":     {fn: (*Kernel).inspect, concurrent: true},
	"history_request":     {fn: (*Kernel).historyRequest, queued: true},
	"is_complete_request": {fn: (*Kernel).isComplete},
	"comm_info_request":   {fn: (*Kernel).commInfo},
	"comm_open":           {fn: (*Kernel).commOpen},
	"comm_msg":            {fn: (*Kernel).commIgnore},
	"comm_close":          {fn: (*Kernel).commIgnore},
	"interrupt_request":   {fn: (*Kernel).interruptRequest},
	"shutdown_request":    {fn: (*Kernel).shutdownRequest},
}

// Start binds the sockets named in the connection file and starts serving.
// Wait blocks until the kernel shuts down.
func Start(ctx context.Context, ci *ConnectionInfo, cfg Config) (*Kernel, error) {
	codec, err := NewCodec(ci.SignatureScheme, ci.Key)
	if err != nil {
		return nil, err
	}
	if cfg.Render == nil {
		cfg.Render = DefaultRender
	}
	if cfg.Implementation == "" {
		cfg.Implementation = "steerbook"
	}
	k := &Kernel{
		cfg:      cfg,
		ci:       ci,
		codec:    codec,
		session:  NewID(),
		queue:    make(chan *request, 1024),
		stdinCh:  make(chan *Message, 1),
		handlers: dispatch,
	}
	k.ctx, k.cancel = context.WithCancel(ctx)
	k.stdout = newStreamWriter(k, "stdout")
	k.stderr = newStreamWriter(k, "stderr")

	k.log = cfg.Log
	if cfg.CaptureFDs {
		c, err := startCapture(k.stdout, k.stderr)
		if err != nil {
			return nil, err
		}
		k.capture = c
		// Crashes (fatal errors) must still reach the real stderr, not a
		// pipe that dies with the process.
		debug.SetCrashOutput(c.origStderr, debug.CrashOptions{})
		if k.log == nil {
			k.log = log.New(c.origStderr, "steerbook kernel: ", log.LstdFlags)
		}
	}
	if k.log == nil {
		k.log = log.New(os.Stderr, "steerbook kernel: ", log.LstdFlags)
	}

	kio := IO{Stdout: k.stdout, Stderr: k.stderr, Stdin: k.readInput}
	if k.capture != nil {
		// The interpreter writes to the (redirected) process streams so
		// that interpreted and compiled output interleave in order.
		kio.Stdout, kio.Stderr = os.Stdout, os.Stderr
	}
	if cfg.NewInterpreter == nil {
		k.stopCapture()
		return nil, errors.New("kernel: Config.NewInterpreter is nil")
	}
	if k.interp, err = cfg.NewInterpreter(kio); err != nil {
		k.stopCapture()
		return nil, fmt.Errorf("kernel: starting the interpreter: %w", err)
	}
	k.history = openHistory(cfg.HistoryFile, k.log)

	zopt := zmq4.WithLogger(k.log)
	k.shell = zmq4.NewRouter(k.ctx, zopt)
	k.control = zmq4.NewRouter(k.ctx, zopt)
	k.stdin = zmq4.NewRouter(k.ctx, zopt)
	k.iopub = zmq4.NewPub(k.ctx, zopt)
	k.hb = zmq4.NewRep(k.ctx, zopt)
	for _, s := range []struct {
		sock zmq4.Socket
		port int
		name string
	}{{k.shell, ci.ShellPort, "shell"}, {k.control, ci.ControlPort, "control"}, {k.stdin, ci.StdinPort, "stdin"},
		{k.iopub, ci.IOPubPort, "iopub"}, {k.hb, ci.HBPort, "hb"}} {
		if err := s.sock.Listen(ci.Endpoint(s.port)); err != nil {
			k.close()
			return nil, fmt.Errorf("kernel: binding %s socket: %w", s.name, err)
		}
	}

	k.publish(nil, "status", map[string]any{"execution_state": "starting"})
	go k.recvLoop(k.shell, shellCh, "shell")
	go k.recvLoop(k.control, controlCh, "control")
	go k.stdinLoop()
	go k.hbLoop()
	go k.worker()
	if cfg.HandleSIGINT {
		go k.sigintLoop()
	}
	return k, nil
}

// Wait blocks until the kernel has shut down and reports whether the client
// asked for a restart.
func (k *Kernel) Wait() (restart bool) {
	<-k.ctx.Done()
	k.close()
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.restart
}

// Stop shuts the kernel down without a client request.
func (k *Kernel) Stop() { k.cancel() }

// Interrupt cancels the running cell's context, as SIGINT does.
func (k *Kernel) Interrupt() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != nil {
		k.cur.interrupted = true
		k.cur.cancel()
	}
}

func (k *Kernel) close() {
	k.closeOnce.Do(func() {
		k.cancel()
		for _, s := range []zmq4.Socket{k.shell, k.control, k.stdin, k.iopub, k.hb} {
			if s != nil {
				s.Close()
			}
		}
		k.stopCapture()
		k.mu.Lock()
		k.history.close()
		k.mu.Unlock()
	})
}

func (k *Kernel) stopCapture() {
	if k.capture != nil {
		k.capture.stop()
	}
}

func (k *Kernel) sigintLoop() {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, os.Interrupt)
	defer signal.Stop(ch)
	for {
		select {
		case <-k.ctx.Done():
			return
		case <-ch:
			k.log.Printf("SIGINT: interrupting the running cell")
			k.Interrupt()
		}
	}
}

// recvLoop reads one ROUTER socket. Bad messages are logged and dropped;
// a panic in a handler is logged and never takes the loop down.
func (k *Kernel) recvLoop(sock zmq4.Socket, ch channel, name string) {
	for {
		zm, err := sock.Recv()
		if err != nil {
			if k.ctx.Err() != nil {
				return
			}
			k.log.Printf("%s: receive: %v", name, err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		m, err := k.codec.Decode(zm.Frames)
		if err != nil {
			k.log.Printf("%s: dropped message: %v", name, err)
			continue
		}
		h, ok := k.handlers[m.Header.MsgType]
		if !ok {
			k.log.Printf("%s: no handler for message type %q, ignored", name, m.Header.MsgType)
			continue
		}
		r := &request{msg: m, ch: ch}
		if h.queued {
			select {
			case k.queue <- r:
			case <-k.ctx.Done():
				return
			}
			continue
		}
		if h.concurrent {
			go k.handle(h, r)
			continue
		}
		k.handle(h, r)
	}
}

// handle runs one handler wrapped in busy/idle status messages.
func (k *Kernel) handle(h handler, r *request) {
	k.publish(r.msg, "status", map[string]any{"execution_state": "busy"})
	func() {
		defer func() {
			if p := recover(); p != nil {
				k.log.Printf("handler for %s panicked: %v\n%s", r.msg.Header.MsgType, p, debug.Stack())
			}
		}()
		h.fn(k, r)
	}()
	k.publish(r.msg, "status", map[string]any{"execution_state": "idle"})
}

// worker runs queued requests in order.
func (k *Kernel) worker() {
	for {
		select {
		case <-k.ctx.Done():
			return
		case r := <-k.queue:
			k.handle(k.handlers[r.msg.Header.MsgType], r)
			k.mu.Lock()
			rs := k.pendingAbort
			k.pendingAbort = nil
			k.mu.Unlock()
			k.abort(rs)
		}
	}
}

// takeQueued removes the requests already waiting in the queue. Requests
// sent back to back may still be in the socket; a short grace period
// catches those too.
func (k *Kernel) takeQueued() []*request {
	var out []*request
	grace := time.NewTimer(5 * time.Millisecond)
	defer grace.Stop()
	for {
		select {
		case r := <-k.queue:
			out = append(out, r)
		case <-grace.C:
			return out
		case <-k.ctx.Done():
			return out
		}
	}
}

// abort answers the execute requests among rs with status "aborted"
// (stop_on_error) and serves the others normally, in order.
func (k *Kernel) abort(rs []*request) {
	for _, r := range rs {
		if r.msg.Header.MsgType != "execute_request" {
			k.handle(k.handlers[r.msg.Header.MsgType], r)
			continue
		}
		k.publish(r.msg, "status", map[string]any{"execution_state": "busy"})
		k.reply(r, map[string]any{"status": "aborted"})
		k.publish(r.msg, "status", map[string]any{"execution_state": "idle"})
	}
}

func (k *Kernel) hbLoop() {
	for {
		m, err := k.hb.Recv()
		if err != nil {
			if k.ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err := k.hb.Send(m); err != nil && k.ctx.Err() == nil {
			k.log.Printf("heartbeat: %v", err)
		}
	}
}

func (k *Kernel) stdinLoop() {
	for {
		zm, err := k.stdin.Recv()
		if err != nil {
			if k.ctx.Err() != nil {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		m, err := k.codec.Decode(zm.Frames)
		if err != nil {
			k.log.Printf("stdin: dropped message: %v", err)
			continue
		}
		if m.Header.MsgType != "input_reply" {
			k.log.Printf("stdin: unexpected %q, ignored", m.Header.MsgType)
			continue
		}
		select {
		case k.stdinCh <- m:
		default:
			k.log.Printf("stdin: input_reply nobody asked for, ignored")
		}
	}
}

// send writes a message to a socket under that socket's lock.
func (k *Kernel) send(sock zmq4.Socket, mu *sync.Mutex, idents [][]byte, msgType string, parent *Message, metadata map[string]any, content any) {
	var praw json.RawMessage
	if parent != nil {
		praw = parent.HeaderRaw
	}
	frames, err := k.codec.Encode(idents, NewHeader(k.session, msgType), praw, metadata, content)
	if err != nil {
		k.log.Printf("encoding %s: %v", msgType, err)
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if err := sock.SendMulti(zmq4.NewMsgFrom(frames...)); err != nil && k.ctx.Err() == nil {
		k.log.Printf("sending %s: %v", msgType, err)
	}
}

// publish broadcasts on iopub with the given parent.
func (k *Kernel) publish(parent *Message, msgType string, content any) {
	topic := []byte("kernel." + k.session + "." + msgType)
	if msgType == "stream" {
		if c, ok := content.(map[string]any); ok {
			topic = []byte("stream." + fmt.Sprint(c["name"]))
		}
	}
	k.send(k.iopub, &k.ioMu, [][]byte{topic}, msgType, parent, nil, content)
}

// reply answers a request on the socket it came from, as <type>_reply.
func (k *Kernel) reply(r *request, content map[string]any) {
	t := strings.TrimSuffix(r.msg.Header.MsgType, "_request") + "_reply"
	meta := map[string]any{}
	if s, ok := content["status"]; ok {
		meta["status"] = s
	}
	sock, mu := k.shell, &k.shellMu
	if r.ch == controlCh {
		sock, mu = k.control, &k.controlMu
	}
	k.send(sock, mu, r.msg.Identities, t, r.msg, meta, content)
}

func (k *Kernel) kernelInfo(r *request) {
	links := k.cfg.HelpLinks
	if links == nil {
		links = []HelpLink{}
	}
	k.reply(r, map[string]any{
		"status":                 "ok",
		"protocol_version":       ProtocolVersion,
		"implementation":         k.cfg.Implementation,
		"implementation_version": k.cfg.ImplementationVersion,
		"language_info": map[string]any{
			"name":               "go",
			"version":            strings.TrimPrefix(runtime.Version(), "go"),
			"mimetype":           "text/x-go",
			"file_extension":     ".go",
			"pygments_lexer":     "go",
			"codemirror_mode":    "go",
			"nbconvert_exporter": "script",
		},
		"banner":     k.cfg.Banner,
		"help_links": links,
		"debugger":   false,
	})
}

func (k *Kernel) commInfo(r *request) {
	k.reply(r, map[string]any{"status": "ok", "comms": map[string]any{}})
}

// commOpen tells the front-end that no comm target exists here by closing
// the comm at once, which is what ipykernel does for unknown targets.
func (k *Kernel) commOpen(r *request) {
	var c struct {
		CommID     string `json:"comm_id"`
		TargetName string `json:"target_name"`
	}
	_ = json.Unmarshal(r.msg.Content, &c)
	k.log.Printf("comm_open for unknown target %q, closing it", c.TargetName)
	k.publish(r.msg, "comm_close", map[string]any{"comm_id": c.CommID, "data": map[string]any{}})
}

func (k *Kernel) commIgnore(r *request) {}

func (k *Kernel) interruptRequest(r *request) {
	k.Interrupt()
	k.reply(r, map[string]any{"status": "ok"})
}

func (k *Kernel) shutdownRequest(r *request) {
	var c struct {
		Restart bool `json:"restart"`
	}
	_ = json.Unmarshal(r.msg.Content, &c)
	k.mu.Lock()
	k.shutdown, k.restart = true, c.Restart
	k.mu.Unlock()
	k.Interrupt()
	content := map[string]any{"status": "ok", "restart": c.Restart}
	k.reply(r, content)
	k.publish(r.msg, "shutdown_reply", content)
	// Let the idle status and the replies leave before the sockets close.
	go func() {
		time.Sleep(100 * time.Millisecond)
		k.cancel()
	}()
}

func (k *Kernel) isComplete(r *request) {
	var c struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.msg.Content, &c)
	status, indent := k.interp.IsComplete(c.Code)
	content := map[string]any{"status": status}
	if status == "incomplete" {
		content["indent"] = indent
	}
	k.reply(r, content)
}

func (k *Kernel) complete(r *request) {
	var c struct {
		Code      string `json:"code"`
		CursorPos int    `json:"cursor_pos"`
	}
	_ = json.Unmarshal(r.msg.Content, &c)
	matches, start, end := k.interp.Complete(c.Code, c.CursorPos)
	if matches == nil {
		matches = []string{}
	}
	k.reply(r, map[string]any{"status": "ok", "matches": matches, "cursor_start": start,
		"cursor_end": end, "metadata": map[string]any{}})
}

func (k *Kernel) inspect(r *request) {
	var c struct {
		Code      string `json:"code"`
		CursorPos int    `json:"cursor_pos"`
	}
	_ = json.Unmarshal(r.msg.Content, &c)
	doc, ok := k.interp.Inspect(c.Code, c.CursorPos)
	data := map[string]any{}
	if ok {
		data["text/plain"] = doc
	}
	k.reply(r, map[string]any{"status": "ok", "found": ok, "data": data, "metadata": map[string]any{}})
}
