package cell

import (
	"sort"
	"strings"
)

// Rewrites never add or remove newlines: every edit replaces text on the
// lines it came from. That keeps yaegi's line numbers equal to the cell's
// line numbers without a position map.

type edit struct {
	pos, end int // cell byte offsets; pos == end is an insertion
	text     string
	seq      int
}

type edits struct {
	list []edit
}

func (es *edits) add(pos, end int, text string) {
	es.list = append(es.list, edit{pos: pos, end: end, text: text, seq: len(es.list)})
}

func (es *edits) insert(pos int, text string) { es.add(pos, pos, text) }

// within reports whether any edit touches [start, end).
func (es *edits) within(start, end int) bool {
	for _, e := range es.list {
		if e.pos >= start && e.end <= end && (e.pos < end || e.pos == e.end) {
			return true
		}
	}
	return false
}

// render returns src[start:end] with the edits inside that range applied.
// At one offset, insertions come before a replacement, each in the order
// they were added.
func (es *edits) render(src string, start, end int) string {
	var in []edit
	for _, e := range es.list {
		if e.pos >= start && e.end <= end {
			in = append(in, e)
		}
	}
	sort.SliceStable(in, func(i, j int) bool {
		a, b := in[i], in[j]
		if a.pos != b.pos {
			return a.pos < b.pos
		}
		ai, bi := a.pos == a.end, b.pos == b.end
		if ai != bi {
			return ai
		}
		return a.seq < b.seq
	})
	var sb strings.Builder
	cur := start
	for _, e := range in {
		if e.pos < cur {
			continue // overlapping edit: keep the first one
		}
		sb.WriteString(src[cur:e.pos])
		sb.WriteString(e.text)
		cur = e.end
	}
	sb.WriteString(src[cur:end])
	return sb.String()
}

// chunkBuilder assembles the source of one yaegi evaluation from pieces
// placed at cell offsets. Gaps between pieces keep only their newlines, and
// each piece is followed by the newlines its original range held, so line L
// of the chunk is line L of the cell.
type chunkBuilder struct {
	src  string
	sb   strings.Builder
	cur  int
	used bool
}

func newChunk(src string) *chunkBuilder { return &chunkBuilder{src: src} }

// put writes text in place of src[start:end]. Pieces must come in
// increasing offset order.
func (b *chunkBuilder) put(start, end int, text string) {
	if start < b.cur {
		start = b.cur
	}
	if end < start {
		end = start
	}
	b.sb.WriteString(strings.Repeat("\n", strings.Count(b.src[b.cur:start], "\n")))
	b.sb.WriteString(text)
	b.sb.WriteString(";")
	if pad := strings.Count(b.src[start:end], "\n") - strings.Count(text, "\n"); pad > 0 {
		b.sb.WriteString(strings.Repeat("\n", pad))
	}
	b.cur = end
	b.used = true
}

func (b *chunkBuilder) String() string { return b.sb.String() }
func (b *chunkBuilder) empty() bool    { return !b.used }
