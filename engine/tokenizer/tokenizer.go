// Package tokenizer implements the DeepSeek byte-level BPE tokenizer: it reads
// and writes Hugging Face tokenizer.json files (the format DeepSeek-V3/V4
// ship), encodes text with added tokens matched first and the DeepSeek
// pre-tokenizer, decodes ids back to text (also incrementally, holding back
// partial UTF-8), renders the DeepSeek-V4 chat format (encoding_dsv4), and
// trains small byte-level BPE vocabularies for Steerbook's default model.
//
// A Tokenizer is immutable after construction and safe for concurrent use.
package tokenizer

import (
	"fmt"
	"sort"
	"sync"
	"unicode/utf8"
)

// Well-known DeepSeek token strings (design §4.1). Note the full-width bar
// U+FF5C and the lower one-eighth block U+2581 used as a space.
const (
	BOSToken       = "<｜begin▁of▁sentence｜>"
	EOSToken       = "<｜end▁of▁sentence｜>"
	PadToken       = "<｜▁pad▁｜>"
	UserToken      = "<｜User｜>"
	AssistantToken = "<｜Assistant｜>"
	ThinkStart     = "<think>"
	ThinkEnd       = "</think>"
)

// DefaultSpecialTokens are the special tokens of Steerbook's default model, in
// the order Train assigns them ids 0, 1, 2, …: BOS and EOS get ids 0 and 1 as
// in DeepSeek-V4 (generation_config bos 0, eos 1), and the pad token 2.
var DefaultSpecialTokens = []string{BOSToken, EOSToken, PadToken, UserToken, AssistantToken, ThinkStart, ThinkEnd}

type mergeVal struct {
	rank  int32
	newID int32
}

// Tokenizer is a byte-level BPE tokenizer with added tokens.
type Tokenizer struct {
	tokens  []string // id → token string as in tokenizer.json ("" for unused ids)
	inModel []bool   // id is in model.vocab (as opposed to only in added_tokens)
	special []bool   // id is an added token flagged special
	vocab   map[string]int

	added      []AddedToken // by id
	addedByStr map[string]int
	trie       *trieNode
	firstByte  [256]bool

	merges    map[uint64]mergeVal
	mergeList [][2]int32 // by rank: left and right ids
	byteIDs   [256]int32

	bos, eos, pad int

	cacheMu sync.RWMutex
	cache   map[string][]int32
}

const cacheLimit = 1 << 16 // pieces kept in the BPE cache before it is reset

type trieNode struct {
	next map[byte]*trieNode
	id   int // added token ending here, or -1
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// build assembles a Tokenizer from a model vocabulary, ordered merges and
// added tokens, validating that every piece refers to known tokens.
func build(vocab map[string]int, merges [][2]string, added []AddedToken) (*Tokenizer, error) {
	size := 0
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("model.vocab: token %q has negative id %d", tok, id)
		}
		size = max(size, id+1)
	}
	for _, a := range added {
		if a.ID < 0 {
			return nil, fmt.Errorf("added_tokens: %q has negative id %d", a.Content, a.ID)
		}
		size = max(size, a.ID+1)
	}
	t := &Tokenizer{
		tokens:     make([]string, size),
		inModel:    make([]bool, size),
		special:    make([]bool, size),
		vocab:      make(map[string]int, len(vocab)),
		addedByStr: make(map[string]int, len(added)),
		trie:       &trieNode{id: -1},
		merges:     make(map[uint64]mergeVal, len(merges)),
		mergeList:  make([][2]int32, len(merges)),
		bos:        -1, eos: -1, pad: -1,
		cache: make(map[string][]int32),
	}
	for tok, id := range vocab {
		if t.inModel[id] {
			return nil, fmt.Errorf("model.vocab: id %d used by both %q and %q", id, t.tokens[id], tok)
		}
		t.tokens[id] = tok
		t.inModel[id] = true
		t.vocab[tok] = id
	}
	for b := 0; b < 256; b++ {
		id, ok := vocab[byteStr[b]]
		if !ok {
			return nil, fmt.Errorf("model.vocab: no token for byte 0x%02x (%q); not a byte-level vocabulary", b, byteStr[b])
		}
		t.byteIDs[b] = int32(id)
	}
	for rank, m := range merges {
		l, ok1 := vocab[m[0]]
		r, ok2 := vocab[m[1]]
		n, ok3 := vocab[m[0]+m[1]]
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("model.merges[%d] %q %q: token missing from model.vocab", rank, m[0], m[1])
		}
		// Later duplicates overwrite earlier ones, as in Hugging Face's loader.
		t.merges[pairKey(int32(l), int32(r))] = mergeVal{rank: int32(rank), newID: int32(n)}
		t.mergeList[rank] = [2]int32{int32(l), int32(r)}
	}
	t.added = append([]AddedToken(nil), added...)
	sort.SliceStable(t.added, func(i, j int) bool { return t.added[i].ID < t.added[j].ID })
	for _, a := range t.added {
		if a.Content == "" {
			return nil, fmt.Errorf("added_tokens: id %d has empty content", a.ID)
		}
		if t.inModel[a.ID] && t.tokens[a.ID] != a.Content {
			return nil, fmt.Errorf("added_tokens: id %d is %q but model.vocab has %q", a.ID, a.Content, t.tokens[a.ID])
		}
		t.tokens[a.ID] = a.Content
		t.special[a.ID] = a.Special
		t.addedByStr[a.Content] = a.ID
		node := t.trie
		for i := 0; i < len(a.Content); i++ {
			c := a.Content[i]
			if node.next == nil {
				node.next = map[byte]*trieNode{}
			}
			child := node.next[c]
			if child == nil {
				child = &trieNode{id: -1}
				node.next[c] = child
			}
			node = child
		}
		node.id = a.ID
		t.firstByte[a.Content[0]] = true
	}
	if id, ok := t.TokenID(BOSToken); ok {
		t.bos = id
	}
	if id, ok := t.TokenID(EOSToken); ok {
		t.eos = id
	}
	if id, ok := t.TokenID(PadToken); ok {
		t.pad = id
	}
	return t, nil
}

// VocabSize is one more than the largest id in the model vocabulary or the
// added tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sentence id, or -1 if the tokenizer has none.
func (t *Tokenizer) BOS() int { return t.bos }

// EOS returns the end-of-sentence id, or -1 if the tokenizer has none.
func (t *Tokenizer) EOS() int { return t.eos }

// Pad returns the padding id, or -1 if the tokenizer has none.
func (t *Tokenizer) Pad() int { return t.pad }

// TokenID looks a token up by its string as written in tokenizer.json: added
// tokens by their content, BPE tokens in byte-level form (a leading space is
// "Ġ").
func (t *Tokenizer) TokenID(s string) (int, bool) {
	if id, ok := t.addedByStr[s]; ok {
		return id, true
	}
	id, ok := t.vocab[s]
	return id, ok
}

// Token returns the token string of id as written in tokenizer.json, or ""
// for an unknown id.
func (t *Tokenizer) Token(id int) string { return t.tokenString(id) }

func (t *Tokenizer) tokenString(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// IsSpecial reports whether id is an added token flagged special.
func (t *Tokenizer) IsSpecial(id int) bool { return id >= 0 && id < len(t.special) && t.special[id] }

// AddedTokens returns a copy of the added-token table, ordered by id.
func (t *Tokenizer) AddedTokens() []AddedToken { return append([]AddedToken(nil), t.added...) }

// Merges returns the number of BPE merges.
func (t *Tokenizer) Merges() int { return len(t.mergeList) }

// Encode converts text to token ids. Added tokens (special or not, e.g.
// "<｜User｜>") are found first, leftmost and longest; the text between them
// is pre-tokenized and BPE-encoded. No BOS is prepended (DeepSeek's
// add_bos_token is false; the chat encoder writes BOS as text).
func (t *Tokenizer) Encode(text string) []int {
	out := make([]int, 0, len(text)/3+1)
	start := 0
	for i := 0; i < len(text); i++ {
		if !t.firstByte[text[i]] {
			continue
		}
		id, n := t.matchAdded(text[i:])
		if n == 0 {
			continue
		}
		out = t.appendOrdinary(out, text[start:i])
		out = append(out, id)
		i += n - 1
		start = i + 1
	}
	return t.appendOrdinary(out, text[start:])
}

// EncodeOrdinary encodes text treating added-token strings as plain text, so
// untrusted content cannot inject control tokens.
func (t *Tokenizer) EncodeOrdinary(text string) []int {
	return t.appendOrdinary(make([]int, 0, len(text)/3+1), text)
}

// matchAdded returns the longest added token that prefixes s and its length
// in bytes, or n == 0.
func (t *Tokenizer) matchAdded(s string) (id, n int) {
	node := t.trie
	for i := 0; i < len(s); i++ {
		node = node.next[s[i]]
		if node == nil {
			break
		}
		if node.id >= 0 {
			id, n = node.id, i+1
		}
	}
	return id, n
}

func (t *Tokenizer) appendOrdinary(out []int, s string) []int {
	if s == "" {
		return out
	}
	pretokenize(s, func(piece string) {
		for _, id := range t.bpePiece(piece) {
			out = append(out, int(id))
		}
	})
	return out
}

// bpePiece encodes one pre-tokenized piece, using the cache.
func (t *Tokenizer) bpePiece(piece string) []int32 {
	if len(piece) == 1 {
		b := int(piece[0]) // int: piece[0]+1 would wrap to 0 for byte 0xFF
		return t.byteIDs[b : b+1 : b+1]
	}
	t.cacheMu.RLock()
	ids, ok := t.cache[piece]
	t.cacheMu.RUnlock()
	if ok {
		return ids
	}
	ids = t.mergeBytes(piece)
	t.cacheMu.Lock()
	if len(t.cache) >= cacheLimit {
		t.cache = make(map[string][]int32)
	}
	t.cache[piece] = ids
	t.cacheMu.Unlock()
	return ids
}

// Decode converts ids back to text, added tokens included. Ids outside the
// vocabulary are skipped (as Hugging Face does); byte sequences that are not
// valid UTF-8 become U+FFFD.
func (t *Tokenizer) Decode(ids []int) string {
	var b []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) {
			continue
		}
		b = appendTokenBytes(b, t.tokens[id])
	}
	return lossyString(b)
}

// DecodeSkipSpecial is Decode without the added tokens flagged special.
func (t *Tokenizer) DecodeSkipSpecial(ids []int) string {
	var b []byte
	for _, id := range ids {
		if id < 0 || id >= len(t.tokens) || t.special[id] {
			continue
		}
		b = appendTokenBytes(b, t.tokens[id])
	}
	return lossyString(b)
}

// TokenBytes returns the raw bytes token id stands for (possibly a fragment of
// a UTF-8 sequence), or nil for an unknown id.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.tokens) {
		return nil
	}
	return appendTokenBytes(nil, t.tokens[id])
}

// lossyString converts bytes to a string replacing each maximal invalid
// UTF-8 prefix with one U+FFFD, like Rust's String::from_utf8_lossy.
func lossyString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	out := make([]byte, 0, len(b)+8)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			out = append(out, "\uFFFD"...)
			b = b[prefixLen(b):]
			continue
		}
		out = append(out, b[:size]...)
		b = b[size:]
	}
	return string(out)
}

// prefixLen returns the length (≥ 1) of the longest prefix of b that is the
// start of some valid UTF-8 sequence, for b that does not begin with a
// complete one.
func prefixLen(b []byte) int {
	lo, hi, need := contRange(b[0])
	if need == 0 {
		return 1
	}
	n := 1
	for k := 0; k < need && n < len(b); k++ {
		c := b[n]
		l, h := byte(0x80), byte(0xBF)
		if k == 0 {
			l, h = lo, hi
		}
		if c < l || c > h {
			break
		}
		n++
	}
	return n
}

// contRange gives, for a UTF-8 lead byte, the allowed range of the first
// continuation byte and the number of continuation bytes; need == 0 for a byte
// that cannot start a multi-byte sequence.
func contRange(lead byte) (lo, hi byte, need int) {
	switch {
	case lead >= 0xC2 && lead <= 0xDF:
		return 0x80, 0xBF, 1
	case lead == 0xE0:
		return 0xA0, 0xBF, 2
	case lead == 0xED:
		return 0x80, 0x9F, 2
	case lead >= 0xE1 && lead <= 0xEF:
		return 0x80, 0xBF, 2
	case lead == 0xF0:
		return 0x90, 0xBF, 3
	case lead >= 0xF1 && lead <= 0xF3:
		return 0x80, 0xBF, 3
	case lead == 0xF4:
		return 0x80, 0x8F, 3
	}
	return 0, 0, 0
}
