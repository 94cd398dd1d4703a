package kernel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// executeContent is the part of execute_request the kernel reads. Pointers
// tell "absent" (protocol default) from false.
type executeContent struct {
	Code            string            `json:"code"`
	Silent          bool              `json:"silent"`
	StoreHistory    *bool             `json:"store_history"`
	UserExpressions map[string]string `json:"user_expressions"`
	AllowStdin      *bool             `json:"allow_stdin"`
	StopOnError     *bool             `json:"stop_on_error"`
}

func (k *Kernel) execute(r *request) {
	var c executeContent
	if err := json.Unmarshal(r.msg.Content, &c); err != nil {
		k.reply(r, map[string]any{"status": "error", "ename": "BadRequest",
			"evalue": fmt.Sprintf("execute_request content: %v", err), "traceback": []string{}})
		return
	}
	storeHistory := !c.Silent && (c.StoreHistory == nil || *c.StoreHistory)
	allowStdin := c.AllowStdin == nil || *c.AllowStdin
	stopOnError := c.StopOnError == nil || *c.StopOnError

	k.mu.Lock()
	if storeHistory {
		k.count++
	}
	n := k.count
	k.mu.Unlock()

	if !c.Silent {
		k.publish(r.msg, "execute_input", map[string]any{"code": c.Code, "execution_count": n})
	}
	if expr, ok := helpRequest(c.Code); ok {
		k.help(r, expr, n, storeHistory)
		return
	}

	value, hasValue, err := k.runCell(r.msg, c.Code, n, allowStdin)

	var output *string
	if err == nil && hasValue && !c.Silent {
		data := k.render(value)
		k.publish(r.msg, "execute_result", map[string]any{"execution_count": n, "data": data, "metadata": map[string]any{}})
		if t, ok := data["text/plain"].(string); ok {
			output = &t
		}
	}
	if storeHistory {
		k.mu.Lock()
		k.history.add(c.Code, output)
		k.mu.Unlock()
	}
	if err != nil {
		ce := toCellError(err)
		k.publish(r.msg, "error", map[string]any{"ename": ce.Name, "evalue": ce.Value, "traceback": ce.Traceback})
		// Take the queued cells before replying, so that a request the
		// client sends after seeing this error is never aborted.
		var queued []*request
		if stopOnError {
			queued = k.takeQueued()
		}
		k.reply(r, map[string]any{"status": "error", "execution_count": n, "ename": ce.Name,
			"evalue": ce.Value, "traceback": ce.Traceback})
		// The aborted replies follow this cell's idle status.
		if len(queued) > 0 {
			k.mu.Lock()
			k.pendingAbort = queued
			k.mu.Unlock()
		}
		return
	}
	k.reply(r, map[string]any{"status": "ok", "execution_count": n, "payload": []any{},
		"user_expressions": k.userExpressions(r.msg, c.UserExpressions, n)})
}

// runCell executes code as the current cell: its own cancellable context,
// its publisher, stdin if allowed, and every byte of its output flushed
// before it returns.
func (k *Kernel) runCell(parent *Message, code string, n int, allowStdin bool) (value any, hasValue bool, err error) {
	ctx, cancel := context.WithCancel(k.ctx)
	cur := &running{req: parent, ctx: ctx, cancel: cancel, allowStdin: allowStdin}
	k.mu.Lock()
	k.cur = cur
	k.lastReq = parent
	k.mu.Unlock()
	if k.cfg.SetPublisher != nil {
		k.cfg.SetPublisher(&publisher{k: k, parent: parent})
	}
	defer func() {
		if p := recover(); p != nil {
			err = &CellError{Name: "panic", Value: fmt.Sprint(p), Traceback: []string{fmt.Sprintf("panic: %v", p), string(debug.Stack())}}
		}
		k.flushOutput()
		k.mu.Lock()
		interrupted := cur.interrupted
		k.cur = nil
		k.mu.Unlock()
		cancel()
		if err != nil && interrupted {
			var ce *CellError
			if !errors.As(err, &ce) {
				err = &CellError{Name: "Interrupted", Value: "the cell was interrupted", Traceback: []string{"Interrupted: the cell was interrupted (" + err.Error() + ")"}}
			}
		}
	}()
	return k.interp.Execute(ctx, code, n)
}

func (k *Kernel) render(v any) (data map[string]any) {
	defer func() {
		if p := recover(); p != nil {
			data = map[string]any{"text/plain": fmt.Sprintf("%v (rendering panicked: %v)", v, p)}
		}
	}()
	data = k.cfg.Render(v)
	if data == nil {
		data = map[string]any{"text/plain": fmt.Sprint(v)}
	}
	return normalizeBundle(data)
}

// normalizeBundle makes a MIME bundle JSON-ready: binary payloads become
// base64 strings, as the protocol carries them.
func normalizeBundle(data map[string]any) map[string]any {
	for mime, v := range data {
		if b, ok := v.([]byte); ok {
			if strings.HasPrefix(mime, "text/") || strings.HasSuffix(mime, "+xml") {
				data[mime] = string(b)
			} else {
				data[mime] = encodeBase64(b)
			}
		}
	}
	return data
}

// userExpressions evaluates each expression after a successful cell, as
// silent cells, and answers with a MIME bundle or an error per name.
func (k *Kernel) userExpressions(parent *Message, exprs map[string]string, n int) map[string]any {
	out := map[string]any{}
	for name, src := range exprs {
		v, has, err := k.runCell(parent, src, n, false)
		switch {
		case err != nil:
			ce := toCellError(err)
			out[name] = map[string]any{"status": "error", "ename": ce.Name, "evalue": ce.Value, "traceback": ce.Traceback}
		case !has:
			out[name] = map[string]any{"status": "error", "ename": "NoValue",
				"evalue": fmt.Sprintf("user expression %q has no value", src), "traceback": []string{}}
		default:
			out[name] = map[string]any{"status": "ok", "data": k.render(v), "metadata": map[string]any{}}
		}
	}
	return out
}

func toCellError(err error) *CellError {
	var ce *CellError
	if errors.As(err, &ce) {
		if ce.Traceback == nil {
			ce.Traceback = []string{ce.Name + ": " + ce.Value}
		}
		return ce
	}
	name := "Error"
	if errors.Is(err, context.Canceled) {
		name = "Interrupted"
	}
	return &CellError{Name: name, Value: err.Error(), Traceback: []string{name + ": " + err.Error()}}
}

// flushOutput makes sure everything written so far, through the fds or the
// writers, has been sent on iopub.
func (k *Kernel) flushOutput() {
	if k.capture != nil {
		k.capture.flush()
	}
	k.stdout.Flush()
	k.stderr.Flush()
}

// parentForOutput is the request that output belongs to: the running cell,
// or the last one for output from goroutines that outlive their cell.
func (k *Kernel) parentForOutput() *Message {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != nil {
		return k.cur.req
	}
	return k.lastReq
}

// readInput implements IO.Stdin with input_request/input_reply.
func (k *Kernel) readInput(prompt string, password bool) (string, error) {
	k.mu.Lock()
	cur := k.cur
	k.mu.Unlock()
	if cur == nil || !cur.allowStdin {
		return "", ErrStdinNotAllowed
	}
	k.flushOutput()
	// Drop a stale reply left over from an interrupted request.
	select {
	case <-k.stdinCh:
	default:
	}
	// Sent from a goroutine: a ROUTER write waits for a connected peer, and
	// a client without a stdin socket must not make the cell uninterruptible.
	go k.send(k.stdin, &k.stdinMu, cur.req.Identities, "input_request", cur.req, nil,
		map[string]any{"prompt": prompt, "password": password})
	select {
	case m := <-k.stdinCh:
		var c struct {
			Value string `json:"value"`
		}
		if err := json.Unmarshal(m.Content, &c); err != nil {
			return "", fmt.Errorf("kernel: input_reply content: %w", err)
		}
		return c.Value, nil
	case <-cur.ctx.Done():
		return "", cur.ctx.Err()
	}
}

// publisher sends a cell's rich display calls with that cell as parent.
type publisher struct {
	k      *Kernel
	parent *Message
}

func (p *publisher) Publish(data, metadata map[string]any, displayID string, update bool) {
	p.k.flushOutput() // text printed before the display shows before it
	if metadata == nil {
		metadata = map[string]any{}
	}
	content := map[string]any{"data": normalizeBundle(data), "metadata": metadata, "transient": map[string]any{}}
	if displayID != "" {
		content["transient"] = map[string]any{"display_id": displayID}
	}
	t := "display_data"
	if update {
		t = "update_display_data"
	}
	p.k.publish(p.parent, t, content)
}

func (p *publisher) Clear(wait bool) {
	p.k.flushOutput()
	p.k.publish(p.parent, "clear_output", map[string]any{"wait": wait})
}

// streamWriter turns writes into stream messages. It coalesces small writes
// for a few milliseconds so a print loop does not flood iopub, and never
// splits a UTF-8 sequence across messages.
type streamWriter struct {
	k     *Kernel
	name  string
	mu    sync.Mutex
	buf   []byte
	timer *time.Timer
}

const (
	streamDelay = 20 * time.Millisecond
	streamMax   = 64 << 10
)

func newStreamWriter(k *Kernel, name string) *streamWriter { return &streamWriter{k: k, name: name} }

func (w *streamWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf = append(w.buf, p...)
	if len(w.buf) >= streamMax {
		w.flushLocked(false)
	} else if w.timer == nil {
		w.timer = time.AfterFunc(streamDelay, func() {
			w.mu.Lock()
			w.timer = nil
			w.flushLocked(false)
			w.mu.Unlock()
		})
	}
	w.mu.Unlock()
	return len(p), nil
}

// Flush sends everything buffered, including an incomplete UTF-8 tail.
func (w *streamWriter) Flush() {
	w.mu.Lock()
	if w.timer != nil {
		w.timer.Stop()
		w.timer = nil
	}
	w.flushLocked(true)
	w.mu.Unlock()
}

func (w *streamWriter) flushLocked(all bool) {
	n := len(w.buf)
	if !all {
		n = completeUTF8(w.buf)
	}
	if n == 0 {
		return
	}
	text := string(w.buf[:n])
	w.buf = append(w.buf[:0], w.buf[n:]...)
	w.k.publish(w.k.parentForOutput(), "stream", map[string]any{"name": w.name, "text": text})
}

// completeUTF8 returns the length of the longest prefix of b that does not
// end inside a UTF-8 sequence.
func completeUTF8(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return len(b)
			}
			return i
		}
	}
	return len(b)
}

// helpRequest recognises IPython's help syntax, `name?` or `?name` alone in
// a cell (Go has no such operator, so it cannot clash with real code).
func helpRequest(code string) (string, bool) {
	t := strings.TrimSpace(code)
	if strings.Contains(t, "\n") || len(t) < 2 {
		return "", false
	}
	var expr string
	switch {
	case strings.HasSuffix(t, "?"):
		expr = strings.TrimSpace(strings.TrimRight(t, "?"))
	case strings.HasPrefix(t, "?"):
		expr = strings.TrimSpace(strings.TrimLeft(t, "?"))
	default:
		return "", false
	}
	for _, r := range expr {
		if r != '.' && r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			return "", false
		}
	}
	return expr, expr != ""
}

// help answers `name?` with the pager payload front-ends show in their
// help panel, using the interpreter's Inspect.
func (k *Kernel) help(r *request, expr string, n int, storeHistory bool) {
	doc, ok := k.interp.Inspect(expr, utf8.RuneCountInString(expr))
	if storeHistory {
		k.mu.Lock()
		k.history.add(expr+"?", nil)
		k.mu.Unlock()
	}
	if !ok {
		ce := &CellError{Name: "NotFound", Value: "no documentation found for " + expr,
			Traceback: []string{"NotFound: no documentation found for " + expr}}
		k.publish(r.msg, "error", map[string]any{"ename": ce.Name, "evalue": ce.Value, "traceback": ce.Traceback})
		k.reply(r, map[string]any{"status": "error", "execution_count": n, "ename": ce.Name, "evalue": ce.Value, "traceback": ce.Traceback})
		return
	}
	k.reply(r, map[string]any{"status": "ok", "execution_count": n, "user_expressions": map[string]any{},
		"payload": []any{map[string]any{"source": "page", "data": map[string]any{"text/plain": doc}, "start": 0}}})
}
