package kernel

import (
	"encoding/json"
	"regexp"
	"strings"
)

// historySession is the session number this kernel reports. History lives in
// memory for the life of the kernel process, so there is only ever one.
const historySession = 1

type histEntry struct {
	line   int
	input  string
	output *string // text/plain of execute_result, if any
}

// history is the in-memory record of executed cells (store_history=true).
type history struct {
	entries []histEntry
}

func (h *history) add(input string, output *string) {
	h.entries = append(h.entries, histEntry{line: len(h.entries) + 1, input: input, output: output})
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
		// Session 0 is the current session, negative counts back from it
		// (IPython's convention); we only keep the current one.
		if q.Session != 0 && q.Session != historySession && q.Session != -0 {
			return []any{}
		}
		start, stop := q.Start, q.Stop
		if start < 1 {
			start = 1
		}
		if stop <= 0 || stop > len(h.entries)+1 {
			stop = len(h.entries) + 1
		}
		for _, e := range h.entries {
			if e.line >= start && e.line < stop {
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
			if !re.MatchString(e.input) {
				continue
			}
			if q.Unique {
				if seen[e.input] {
					continue
				}
				seen[e.input] = true
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
			if e.output != nil {
				o = *e.output
			}
			out = append(out, []any{historySession, e.line, []any{e.input, o}})
		} else {
			out = append(out, []any{historySession, e.line, e.input})
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
