package tokenizer

import (
	"fmt"
	"html"
	"strings"
	"unicode/utf8"
)

// TokenLabels returns a readable label per id, for tables and plots of
// per-token values: the token's text when its bytes are valid UTF-8 (added
// tokens as written), otherwise its bytes as \xNN escapes, since a byte-level
// token can hold part of a character. Unknown ids are labelled "<id N>".
func (t *Tokenizer) TokenLabels(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			out[i] = fmt.Sprintf("<id %d>", id)
			continue
		}
		b := appendTokenBytes(nil, t.tokens[id])
		if utf8.Valid(b) {
			out[i] = string(b)
			continue
		}
		var sb strings.Builder
		for len(b) > 0 {
			r, size := utf8.DecodeRune(b)
			if r == utf8.RuneError && size <= 1 {
				fmt.Fprintf(&sb, "\\x%02X", b[0])
				b = b[1:]
				continue
			}
			sb.Write(b[:size])
			b = b[size:]
		}
		out[i] = sb.String()
	}
	return out
}

// String summarises the tokenizer in one line.
func (t *Tokenizer) String() string {
	return fmt.Sprintf("tokenizer: byte-level BPE, %d ids, %d merges, %d added tokens, BOS %d, EOS %d",
		len(t.tokens), len(t.mergeList), len(t.added), t.bos, t.eos)
}

// MIMEBundle renders the summary and the special tokens for a notebook.
func (t *Tokenizer) MIMEBundle() map[string]any {
	var sb strings.Builder
	sb.WriteString("<div><b>Byte-level BPE tokenizer</b> (DeepSeek pre-tokenizer)<table>")
	fmt.Fprintf(&sb, "<tr><td>ids</td><td>%d</td></tr><tr><td>merges</td><td>%d</td></tr>", len(t.tokens), len(t.mergeList))
	fmt.Fprintf(&sb, "<tr><td>BOS / EOS / pad</td><td>%d / %d / %d</td></tr>", t.bos, t.eos, t.pad)
	n := 0
	for _, a := range t.added {
		if !a.Special && !strings.HasPrefix(a.Content, "<") {
			continue
		}
		if strings.Contains(a.Content, "place▁holder") {
			continue // DeepSeek's hundreds of unused slots
		}
		if n == 0 {
			sb.WriteString("<tr><td>added tokens</td><td>")
		} else {
			sb.WriteString(", ")
		}
		if n == 40 {
			sb.WriteString("…")
			break
		}
		fmt.Fprintf(&sb, "<code>%s</code>&nbsp;%d", html.EscapeString(a.Content), a.ID)
		n++
	}
	if n > 0 {
		sb.WriteString("</td></tr>")
	}
	sb.WriteString("</table></div>")
	return map[string]any{"text/plain": t.String(), "text/html": sb.String()}
}
