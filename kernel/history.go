package kernel

import (
	"bufio"
	"encoding/json"
	"io"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// maxHistory bounds the entries of earlier sessions kept in memory (the
// newest); the file itself is only ever appended to. maxInput and maxOutput
// bound what one entry stores (a cell, its text/plain result), and maxLine
// what a line of the file may hold; longer lines are skipped, not fatal.
const (
	maxHistory = 10000
	maxInput   = 1 << 20
	maxOutput  = 64 << 10
	maxLine    = 4 << 20
)

type histEntry struct {
	Session int     `json:"session"`
	Line    int     `json:"line,omitempty"`
	Input   string  `json:"input,omitempty"`
	Output  *string `json:"output,omitempty"` // text/plain of execute_result, if any
	// Started marks a session's claim record, written when the kernel
	// starts (under the file lock), so that kernels started together take
	// different numbers; it is not a cell.
	Started string `json:"started,omitempty"`
}

// history records executed cells (store_history=true), IPython-style: every
// kernel process is one session, numbered after the newest session in the
// history file, and history_request sees earlier sessions too. Without a
// file (Config.HistoryFile "") the history lives in memory for the life of
// the kernel and this is session 1.
type history struct {
	session int
	line    int         // cells stored in this session
	entries []histEntry // earlier sessions, then this one, in order
	path    string
	file    *os.File // append target; nil when memory only
	log     *log.Logger
}

// openHistory loads the earlier sessions of path, claims the next session
// number and keeps the file open for appending. A file that cannot be read
// or written leaves the history in memory (logged, never fatal: a kernel
// must start); lines that are not history entries, or longer than maxLine,
// are skipped and counted in the log, naming the file and the first such
// line.
func openHistory(path string, lg *log.Logger) *history {
	h := &history{session: 1, path: path, log: lg}
	if path == "" {
		return h
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		lg.Printf("history %s: %v (this session is kept in memory only)", path, err)
		return h
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		lg.Printf("history %s: %v (this session is kept in memory only)", path, err)
		if r, rerr := os.Open(path); rerr == nil { // earlier sessions may still be readable
			h.load(r)
			r.Close()
		}
		return h
	}
	unlock, err := lockFile(f)
	if err != nil {
		lg.Printf("history %s: lock: %v (this session's number may collide with another kernel's)", path, err)
		unlock = func() {}
	}
	defer unlock()
	last := h.load(f)
	// A torn last line (a write cut short) would swallow this session's
	// first entry: end it first.
	claim := []byte{}
	if last != 0 && last != '\n' {
		claim = append(claim, '\n')
	}
	b, _ := json.Marshal(histEntry{Session: h.session, Started: time.Now().UTC().Format(time.RFC3339)})
	if _, err := f.Write(append(append(claim, b...), '\n')); err != nil {
		lg.Printf("history %s: %v (this session is kept in memory only)", path, err)
		f.Close()
		return h
	}
	h.file = f
	return h
}

// load reads the file from its start, keeps the newest maxHistory entries,
// numbers this session after the newest one seen, and returns the file's
// last byte (0 when empty).
func (h *history) load(f *os.File) (last byte) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		h.log.Printf("history %s: %v (earlier sessions not loaded)", h.path, err)
		return 0
	}
	r := bufio.NewReaderSize(f, 64<<10)
	bad, firstBad, n := 0, 0, 0
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(chunk) > 0 {
			last = chunk[len(chunk)-1]
		}
		if len(line)+len(chunk) <= maxLine {
			line = append(line, chunk...)
		} else {
			line = append(line[:0], 0) // too long: remembered as bad, the rest discarded
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if len(line) > 0 {
			n++
			var e histEntry
			switch {
			case json.Unmarshal(line, &e) != nil || e.Session < 1 || (e.Started == "" && e.Line < 1):
				if bad++; bad == 1 {
					firstBad = n
				}
			default:
				h.session = max(h.session, e.Session+1)
				if e.Started != "" {
					break // a session's claim record, not a cell
				}
				h.entries = append(h.entries, e)
				if len(h.entries) > 2*maxHistory {
					h.entries = append(h.entries[:0], h.entries[len(h.entries)-maxHistory:]...)
				}
			}
		}
		line = line[:0]
		if err != nil {
			if err != io.EOF {
				h.log.Printf("history %s: reading stopped at line %d: %v", h.path, n+1, err)
			}
			break
		}
	}
	if bad > 0 {
		h.log.Printf("history %s: skipped %d lines that are not history entries (first: line %d)", h.path, bad, firstBad)
	}
	if len(h.entries) > maxHistory {
		h.entries = h.entries[len(h.entries)-maxHistory:]
	}
	return last
}

// clip bounds what one entry stores.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n… [cut: " + strconv.Itoa(len(s)) + " bytes in all]"
}

func (h *history) add(input string, output *string) {
	h.line++
	e := histEntry{Session: h.session, Line: h.line, Input: clip(input, maxInput)}
	if output != nil {
		o := clip(*output, maxOutput)
		e.Output = &o
	}
	h.entries = append(h.entries, e)
	if h.file == nil {
		return
	}
	b, err := json.Marshal(e)
	if err == nil {
		// One write per entry: with O_APPEND, kernels sharing the file
		// do not interleave inside a line.
		_, err = h.file.Write(append(b, '\n'))
	}
	if err != nil {
		h.log.Printf("history %s: %v (the rest of this session is kept in memory only)", h.path, err)
		h.file.Close()
		h.file = nil
	}
}

func (h *history) close() {
	if h != nil && h.file != nil {
		h.file.Close()
		h.file = nil
	}
}

// historyQuery is the content of history_request.
type historyQuery struct {
	Output         bool   `json:"output"`
	Raw            bool   `json:"raw"`
	HistAccessType string `json:"hist_access_type"`
	Session        int    `json:"session"`
	Start          int    `json:"start"`
	Stop           int    `json:"stop"`
	N              int    `json:"n"`
	Pattern        string `json:"pattern"`
	Unique         bool   `json:"unique"`
}

// query answers a history request with [session, line, input] triples, or
// [session, line, [input, output]] when output is requested.
func (h *history) query(q historyQuery) []any {
	var sel []histEntry
	switch q.HistAccessType {
	case "tail":
		sel = tail(h.entries, q.N)
	case "range":
		// Session 0 (or absent) is the current session, a negative one
		// counts back from it (IPython's convention: -1 is the previous
		// session), a positive one is absolute. Lines [start, stop); stop
		// 0 means to the end.
		session := q.Session
		if session <= 0 {
			session += h.session
		}
		for _, e := range h.entries {
			if e.Session == session && e.Line >= q.Start && (q.Stop <= 0 || e.Line < q.Stop) {
				sel = append(sel, e)
			}
		}
	case "search":
		pattern := q.Pattern
		if pattern == "" {
			pattern = "*"
		}
		re := globRegexp(pattern)
		seen := map[string]bool{}
		// Walk newest first so unique keeps the latest occurrence.
		var found []histEntry
		for i := len(h.entries) - 1; i >= 0; i-- {
			e := h.entries[i]
			if !re.MatchString(e.Input) {
				continue
			}
			if q.Unique {
				if seen[e.Input] {
					continue
				}
				seen[e.Input] = true
			}
			found = append(found, e)
		}
		for i, j := 0, len(found)-1; i < j; i, j = i+1, j-1 {
			found[i], found[j] = found[j], found[i]
		}
		sel = tail(found, q.N)
	}
	out := make([]any, 0, len(sel))
	for _, e := range sel {
		if q.Output {
			var o any
			if e.Output != nil {
				o = *e.Output
			}
			out = append(out, []any{e.Session, e.Line, []any{e.Input, o}})
		} else {
			out = append(out, []any{e.Session, e.Line, e.Input})
		}
	}
	return out
}

func tail(e []histEntry, n int) []histEntry {
	if n > 0 && n < len(e) {
		return e[len(e)-n:]
	}
	return e
}

func (k *Kernel) historyRequest(r *request) {
	var q historyQuery
	if err := json.Unmarshal(r.msg.Content, &q); err != nil {
		k.reply(r, map[string]any{"status": "error", "ename": "BadRequest", "evalue": err.Error(), "traceback": []string{}})
		return
	}
	k.mu.Lock()
	h := k.history.query(q)
	k.mu.Unlock()
	k.reply(r, map[string]any{"status": "ok", "history": h})
}

// globRegexp compiles a history search pattern the way IPython's sqlite
// GLOB reads it: the whole input must match, * and ? cross newlines and
// slashes, [...] is a character class.
func globRegexp(glob string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?s)^")
	for i := 0; i < len(glob); i++ {
		switch c := glob[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '[':
			j := strings.IndexByte(glob[i+1:], ']')
			if j < 0 {
				b.WriteString(regexp.QuoteMeta("["))
				continue
			}
			class := glob[i+1 : i+1+j]
			if strings.HasPrefix(class, "^") {
				class = "\\^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j + 1
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return regexp.MustCompile(`^\b$`) // matches nothing
	}
	return re
}
