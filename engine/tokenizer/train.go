package tokenizer

import (
	"fmt"
	"iter"
	"slices"
	"sort"
)

// Train learns a byte-level BPE tokenizer from texts with the DeepSeek
// pre-tokenizer, so the result encodes exactly like DeepSeek's own files do
// (FromJSON reads its WriteJSON output back unchanged).
//
// Ids are laid out as Hugging Face's trainer does: the special tokens first,
// in the given order (so with DefaultSpecialTokens BOS is 0 and EOS is 1, as
// in DeepSeek-V4), then the 256 byte tokens in byte order, then one token per
// merge. vocabSize counts all three; training stops early if no pair is left.
// Occurrences of the special strings in texts are cut out before counting.
//
// Each step merges the most frequent adjacent pair; ties go to the pair with
// the smaller (left id, right id), so the result depends only on the inputs.
// Pair counts are kept over distinct pre-tokenized words weighted by
// frequency and updated incrementally: a merge only revisits the words that
// contain the merged pair.
func Train(texts []string, vocabSize int, special []string) (*Tokenizer, error) {
	return TrainSeq(slices.Values(texts), vocabSize, special)
}

// TrainSeq is Train over a sequence of texts, so a corpus can be streamed
// from a generator or a file without holding it in memory (only the distinct
// pre-tokenized words and their counts are kept).
func TrainSeq(texts iter.Seq[string], vocabSize int, special []string) (*Tokenizer, error) {
	if vocabSize < len(special)+256 {
		return nil, fmt.Errorf("tokenizer: train: vocabSize %d is below %d special + 256 byte tokens", vocabSize, len(special))
	}
	var tokens []string
	strID := map[string]int32{}
	root := &trieNode{id: -1}
	for i, s := range special {
		if s == "" {
			return nil, fmt.Errorf("tokenizer: train: special token %d is empty", i)
		}
		if _, dup := strID[s]; dup {
			return nil, fmt.Errorf("tokenizer: train: special token %q listed twice", s)
		}
		strID[s] = int32(len(tokens))
		tokens = append(tokens, s)
		node := root
		for j := 0; j < len(s); j++ {
			if node.next == nil {
				node.next = map[byte]*trieNode{}
			}
			if node.next[s[j]] == nil {
				node.next[s[j]] = &trieNode{id: -1}
			}
			node = node.next[s[j]]
		}
		node.id = i
	}
	var byteID [256]int32
	for b := 0; b < 256; b++ {
		if _, clash := strID[byteStr[b]]; clash {
			return nil, fmt.Errorf("tokenizer: train: special token %q equals the token of byte 0x%02x", byteStr[b], b)
		}
		byteID[b] = int32(len(tokens))
		strID[byteStr[b]] = byteID[b]
		tokens = append(tokens, byteStr[b])
	}

	// Count pre-tokenized words, skipping special-token occurrences.
	counts := map[string]int64{}
	count := func(seg string) {
		pretokenize(seg, func(p string) { counts[p]++ })
	}
	for text := range texts {
		start := 0
		for i := 0; i < len(text); i++ {
			node, end := root, 0
			for j := i; j < len(text); j++ {
				node = node.next[text[j]]
				if node == nil {
					break
				}
				if node.id >= 0 {
					end = j + 1
				}
			}
			if end > 0 {
				count(text[start:i])
				start, i = end, end-1
			}
		}
		count(text[start:])
	}
	uniq := make([]string, 0, len(counts))
	for w := range counts {
		uniq = append(uniq, w)
	}
	sort.Strings(uniq) // map order is random; word order fixes where-list order

	type word struct {
		syms  []int32
		count int64
	}
	words := make([]word, len(uniq))
	pc := map[uint64]int64{}
	where := map[uint64][]int32{}
	for wi, w := range uniq {
		syms := make([]int32, len(w))
		for i := 0; i < len(w); i++ {
			syms[i] = byteID[w[i]]
		}
		words[wi] = word{syms: syms, count: counts[w]}
		for i := 0; i+1 < len(syms); i++ {
			k := pairKey(syms[i], syms[i+1])
			pc[k] += counts[w]
			if l := where[k]; len(l) == 0 || l[len(l)-1] != int32(wi) {
				where[k] = append(l, int32(wi))
			}
		}
	}
	var h heap[pairEntry]
	for k, c := range pc {
		h.push(pairEntry{key: k, count: c})
	}

	var merges [][2]string
	lastSeen := make([]int, len(words)) // merge step that last visited each word
	for i := range lastSeen {
		lastSeen[i] = -1
	}
	var touched []uint64
	for step := 0; len(tokens) < vocabSize && len(h) > 0; step++ {
		e := h.pop()
		cur := pc[e.key]
		if cur != e.count {
			// Stale: the count fell (or rose and a fresher entry exists).
			if cur > 0 {
				h.push(pairEntry{key: e.key, count: cur})
			}
			step--
			continue
		}
		if cur <= 0 {
			step--
			continue
		}
		a, b := int32(e.key>>32), int32(uint32(e.key))
		merged := tokens[a] + tokens[b]
		nid, exists := strID[merged]
		if !exists {
			nid = int32(len(tokens))
			strID[merged] = nid
			tokens = append(tokens, merged)
		}
		merges = append(merges, [2]string{tokens[a], tokens[b]})

		touched = touched[:0]
		for _, wi := range where[e.key] {
			if lastSeen[wi] == step {
				continue
			}
			lastSeen[wi] = step
			w := &words[wi]
			has := false
			for i := 0; i+1 < len(w.syms); i++ {
				if w.syms[i] == a && w.syms[i+1] == b {
					has = true
					break
				}
			}
			if !has {
				continue
			}
			for i := 0; i+1 < len(w.syms); i++ {
				k := pairKey(w.syms[i], w.syms[i+1])
				if pc[k] -= w.count; pc[k] == 0 {
					delete(pc, k)
				}
			}
			out := w.syms[:0]
			for i := 0; i < len(w.syms); i++ {
				if i+1 < len(w.syms) && w.syms[i] == a && w.syms[i+1] == b {
					out = append(out, nid)
					i++
				} else {
					out = append(out, w.syms[i])
				}
			}
			w.syms = out
			for i := 0; i+1 < len(w.syms); i++ {
				x, y := w.syms[i], w.syms[i+1]
				k := pairKey(x, y)
				pc[k] += w.count
				if x == nid || y == nid {
					if l := where[k]; len(l) == 0 || l[len(l)-1] != int32(wi) {
						where[k] = append(l, int32(wi))
					}
					touched = append(touched, k)
				}
			}
		}
		delete(where, e.key)
		// Counts only rise for pairs containing the new token; give each a
		// fresh heap entry (duplicates are harmless, see the stale check).
		sort.Slice(touched, func(i, j int) bool { return touched[i] < touched[j] })
		for i, k := range touched {
			if i > 0 && touched[i-1] == k {
				continue
			}
			if c := pc[k]; c > 0 {
				h.push(pairEntry{key: k, count: c})
			}
		}
	}

	vocab := make(map[string]int, len(tokens))
	for id, s := range tokens {
		vocab[s] = id
	}
	added := make([]AddedToken, len(special))
	for i, s := range special {
		added[i] = AddedToken{ID: i, Content: s, Special: true}
	}
	t, err := build(vocab, merges, added)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: train: %w", err)
	}
	return t, nil
}

type pairEntry struct {
	key   uint64
	count int64
}

// before orders the heap: higher count first, then the smaller pair.
func (a pairEntry) before(b pairEntry) bool {
	if a.count != b.count {
		return a.count > b.count
	}
	return a.key < b.key
}
