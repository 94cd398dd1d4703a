package kernel

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"
	"time"
)

func encodeBase64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// fdCapture redirects file descriptors 1 and 2 into pipes and pumps what
// arrives there into stream writers. Redirecting the descriptors (not just
// os.Stdout) is what makes output of compiled packages, cgo and the Go
// runtime's println reach the notebook.
type fdCapture struct {
	origStdout, origStderr *os.File
	pumps                  []*pump
	marker                 []byte
}

// pump copies one pipe into a writer and acknowledges flush markers.
type pump struct {
	fd      int
	r, w    *os.File
	orig    *os.File
	sink    io.Writer
	marker  []byte
	flushed chan struct{}
	mu      sync.Mutex // one flush at a time
	done    chan struct{}
}

func startCapture(stdout, stderr io.Writer) (*fdCapture, error) {
	var m [12]byte
	if _, err := rand.Read(m[:]); err != nil {
		return nil, err
	}
	// An escape-delimited random token: no program prints it by accident.
	marker := []byte("\x1b]steerbook-flush-" + hex.EncodeToString(m[:]) + "\x07")
	c := &fdCapture{marker: marker}
	for _, t := range []struct {
		fd   int
		sink io.Writer
	}{{1, stdout}, {2, stderr}} {
		saved, err := syscall.Dup(t.fd)
		if err != nil {
			c.stop()
			return nil, fmt.Errorf("kernel: capturing fd %d: dup: %w", t.fd, err)
		}
		syscall.CloseOnExec(saved)
		r, w, err := os.Pipe()
		if err != nil {
			syscall.Close(saved)
			c.stop()
			return nil, fmt.Errorf("kernel: capturing fd %d: %w", t.fd, err)
		}
		if err := dup2(int(w.Fd()), t.fd); err != nil {
			syscall.Close(saved)
			r.Close()
			w.Close()
			c.stop()
			return nil, fmt.Errorf("kernel: capturing fd %d: dup2: %w", t.fd, err)
		}
		orig := os.NewFile(uintptr(saved), fmt.Sprintf("original-fd%d", t.fd))
		p := &pump{fd: t.fd, r: r, w: w, orig: orig, sink: t.sink, marker: marker,
			flushed: make(chan struct{}, 1), done: make(chan struct{})}
		c.pumps = append(c.pumps, p)
		if t.fd == 1 {
			c.origStdout = orig
		} else {
			c.origStderr = orig
		}
		go p.run()
	}
	return c, nil
}

func (p *pump) run() {
	defer close(p.done)
	buf := make([]byte, 32<<10)
	var pending []byte
	for {
		n, err := p.r.Read(buf)
		if n > 0 {
			pending = append(pending, buf[:n]...)
			for {
				i := bytes.Index(pending, p.marker)
				if i < 0 {
					break
				}
				if i > 0 {
					p.sink.Write(pending[:i])
				}
				pending = append(pending[:0], pending[i+len(p.marker):]...)
				select {
				case p.flushed <- struct{}{}:
				default:
				}
			}
			// Keep back a tail that could be the start of a marker.
			keep := 0
			for k := min(len(pending), len(p.marker)-1); k > 0; k-- {
				if bytes.HasSuffix(pending, p.marker[:k]) {
					keep = k
					break
				}
			}
			if len(pending)-keep > 0 {
				p.sink.Write(pending[:len(pending)-keep])
				pending = append(pending[:0], pending[len(pending)-keep:]...)
			}
		}
		if err != nil {
			if len(pending) > 0 {
				p.sink.Write(pending)
			}
			return
		}
	}
}

// flush writes the marker through the descriptor and waits until the pump
// has passed everything before it to the sink.
func (p *pump) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select { // drop a stale acknowledgement
	case <-p.flushed:
	default:
	}
	if _, err := syscall.Write(p.fd, p.marker); err != nil {
		return
	}
	select {
	case <-p.flushed:
	case <-time.After(2 * time.Second):
	}
}

func (c *fdCapture) flush() {
	for _, p := range c.pumps {
		p.flush()
	}
}

// stop puts the original descriptors back and drains the pipes.
func (c *fdCapture) stop() {
	for _, p := range c.pumps {
		dup2(int(p.orig.Fd()), p.fd)
		p.w.Close()
		select {
		case <-p.done:
		case <-time.After(time.Second):
		}
		p.r.Close()
	}
	c.pumps = nil
}
