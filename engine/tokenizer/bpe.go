package tokenizer

// mergeBytes applies the BPE merges to one piece: start from one symbol per
// byte, then repeatedly merge the adjacent pair with the lowest merge rank,
// leftmost first among equal ranks. Symbols form a doubly linked list over an
// array and candidate pairs sit in a min-heap keyed by (rank, position);
// entries made stale by an earlier merge are detected when popped and
// dropped, so the work is O(n log n) in the piece length (Hugging Face's
// Word::merge_all does the same).
func (t *Tokenizer) mergeBytes(piece string) []int32 {
	n := len(piece)
	ids := make([]int32, n)
	prev := make([]int32, n)
	next := make([]int32, n)
	for i := 0; i < n; i++ {
		ids[i] = t.byteIDs[piece[i]]
		prev[i] = int32(i - 1)
		next[i] = int32(i + 1)
	}
	next[n-1] = -1

	var h heap[cand]
	for i := 0; i+1 < n; i++ {
		if m, ok := t.merges[pairKey(ids[i], ids[i+1])]; ok {
			h.push(cand{rank: m.rank, pos: int32(i), newID: m.newID})
		}
	}
	for len(h) > 0 {
		c := h.pop()
		p := c.pos
		if ids[p] < 0 { // merged into its left neighbour
			continue
		}
		q := next[p]
		if q < 0 {
			continue
		}
		m, ok := t.merges[pairKey(ids[p], ids[q])]
		if !ok || m.newID != c.newID || m.rank != c.rank {
			continue // the pair at p changed since this entry was pushed
		}
		ids[p] = c.newID
		ids[q] = -1
		nq := next[q]
		next[p] = nq
		if nq >= 0 {
			prev[nq] = p
		}
		if pp := prev[p]; pp >= 0 {
			if m, ok := t.merges[pairKey(ids[pp], ids[p])]; ok {
				h.push(cand{rank: m.rank, pos: pp, newID: m.newID})
			}
		}
		if nq >= 0 {
			if m, ok := t.merges[pairKey(ids[p], ids[nq])]; ok {
				h.push(cand{rank: m.rank, pos: p, newID: m.newID})
			}
		}
	}
	out := ids[:0]
	for i := int32(0); i >= 0; i = next[i] {
		out = append(out, ids[i])
	}
	return out
}

type cand struct {
	rank, pos, newID int32
}

// before orders the encoder's heap: the lowest merge rank first, then the
// leftmost position (the order of the reference BPE loop).
func (a cand) before(b cand) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.pos < b.pos
}
