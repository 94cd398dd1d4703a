package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The DeepSeek pre-tokenizer (design §4.1) is a Hugging Face Sequence of three
// "Isolated" Split steps followed by a ByteLevel step without its own regex:
//
//  1. \p{N}{1,3}
//  2. [\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+
//  3. [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
//     ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Each step runs on every piece the previous step produced, so anchors and the
// (?!\S) lookahead see the end of the piece, not the end of the text. An
// "Isolated" split keeps both the matches and the unmatched gaps between them
// as pieces. Go's regexp has no lookahead, and the alternation relies on
// backtracking order, so the three steps are hand-written scanners that
// reproduce the leftmost-first (Oniguruma) semantics exactly.
//
// These pattern strings are what tokenizer.json files carry; FromJSON checks a
// file's pre_tokenizer against them so an unsupported file is rejected rather
// than silently mis-tokenized.
const (
	patDigits = `\p{N}{1,3}`
	patCJK    = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
	patMain   = "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
)

// pretokenize splits text into the pieces the DeepSeek pre-tokenizer yields,
// calling emit for each non-empty piece in order. Pieces are substrings of text.
func pretokenize(text string, emit func(piece string)) {
	// Step 1: groups of up to three numeric runes are pieces of their own; the
	// later steps cannot split them further (no alternative of step 3 matches
	// a numeric rune that is not followed by a letter, and within a digit-only
	// piece none is), so they are emitted directly.
	start := 0 // start of the current non-numeric gap
	i := 0
	for i < len(text) {
		r, size := decode(text[i:])
		if !isNumber(r) {
			i += size
			continue
		}
		if start < i {
			splitCJK(text[start:i], emit)
		}
		j := i
		for n := 0; n < 3 && j < len(text); n++ {
			r2, s2 := decode(text[j:])
			if !isNumber(r2) {
				break
			}
			j += s2
		}
		emit(text[i:j])
		i = j
		start = j
	}
	if start < len(text) {
		splitCJK(text[start:], emit)
	}
}

func isCJK(r rune) bool {
	return (r >= 0x4e00 && r <= 0x9fa5) || (r >= 0x3040 && r <= 0x309f) || (r >= 0x30a0 && r <= 0x30ff)
}

// splitCJK is step 2: runs of CJK ideographs and kana are isolated; each run
// and each gap then goes through step 3 (a run can still split there, e.g. at
// the katakana middle dot, which is punctuation).
func splitCJK(s string, emit func(string)) {
	start := 0
	i := 0
	for i < len(s) {
		r, size := decode(s[i:])
		if !isCJK(r) {
			i += size
			continue
		}
		if start < i {
			splitMain(s[start:i], emit)
		}
		j := i + size
		for j < len(s) {
			r2, s2 := decode(s[j:])
			if !isCJK(r2) {
				break
			}
			j += s2
		}
		splitMain(s[i:j], emit)
		i = j
		start = j
	}
	if start < len(s) {
		splitMain(s[start:], emit)
	}
}

func isASCIIPunct(r rune) bool {
	return (r >= 0x21 && r <= 0x2f) || (r >= 0x3a && r <= 0x40) || (r >= 0x5b && r <= 0x60) || (r >= 0x7b && r <= 0x7e)
}

// Character classes the regexes use, as bits.
const (
	clsL  = 1 << iota // \p{L}
	clsM              // \p{M}
	clsP              // \p{P}
	clsS              // \p{S}
	clsWS             // \s
	clsN              // \p{N}
)

// latin1Cls caches classOf for U+0000–U+00FF, the common case; it is computed
// from the unicode package at start-up, so both paths agree by construction.
var latin1Cls [256]uint8

func init() {
	for r := rune(0); r < 256; r++ {
		latin1Cls[r] = classOfSlow(r)
	}
}

// classOfSlow is the reference definition. \s is Oniguruma's Unicode \s:
// U+0009–U+000D, U+0085 and the Zs, Zl, Zp categories, which is exactly Go's
// unicode.IsSpace (the White_Space property).
func classOfSlow(r rune) uint8 {
	var c uint8
	if unicode.IsLetter(r) {
		c |= clsL
	}
	if unicode.IsMark(r) {
		c |= clsM
	}
	if unicode.IsPunct(r) {
		c |= clsP
	}
	if unicode.IsSymbol(r) {
		c |= clsS
	}
	if unicode.IsSpace(r) {
		c |= clsWS
	}
	if unicode.IsNumber(r) {
		c |= clsN
	}
	return c
}

func classOf(r rune) uint8 {
	if r >= 0 && r < 256 {
		return latin1Cls[r]
	}
	return classOfSlow(r)
}

// decode is utf8.DecodeRuneInString with an inlined ASCII fast path.
func decode(s string) (rune, int) {
	if s[0] < utf8.RuneSelf {
		return rune(s[0]), 1
	}
	return utf8.DecodeRuneInString(s)
}

func isASCIIAlpha(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func isCRLF(r rune) bool       { return r == '\r' || r == '\n' }
func isLM(r rune) bool         { return classOf(r)&(clsL|clsM) != 0 }
func isPS(r rune) bool         { return classOf(r)&(clsP|clsS) != 0 }
func isSpace(r rune) bool      { return classOf(r)&clsWS != 0 }
func isNumber(r rune) bool     { return classOf(r)&clsN != 0 }

// splitMain is step 3. At each position it tries the six alternatives in
// order, as a backtracking engine would; a rune that starts no match joins the
// current gap, and a gap is emitted as one piece.
func splitMain(s string, emit func(string)) {
	gap := -1 // start of the pending unmatched gap, or -1
	i := 0
	for i < len(s) {
		end := matchMain(s, i)
		if end < 0 {
			if gap < 0 {
				gap = i
			}
			_, size := decode(s[i:])
			i += size
			continue
		}
		if gap >= 0 {
			emit(s[gap:i])
			gap = -1
		}
		emit(s[i:end])
		i = end
	}
	if gap >= 0 {
		emit(s[gap:])
	}
}

// matchMain returns the end of the step-3 match starting at byte offset i of
// s, or -1 when no alternative matches there.
func matchMain(s string, i int) int {
	c, cs := decode(s[i:])
	next := i + cs
	var n rune = -1 // the rune after c, -1 at the end of the piece
	ns := 0
	if next < len(s) {
		n, ns = decode(s[next:])
	}

	// A1: [ASCII punctuation][A-Za-z]+
	if isASCIIPunct(c) && n >= 0 && isASCIIAlpha(n) {
		j := next + ns
		for j < len(s) && isASCIIAlpha(rune(s[j])) {
			j++
		}
		return j
	}

	// A2: [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+
	// With an optional leading rune: it must be none of CR, LF, letter,
	// punctuation, symbol, and be followed by a letter or mark. When c is a
	// mark it is both the optional rune and a run rune; either reading gives
	// the same match end, the maximal letter/mark run.
	optOK := !isCRLF(c) && classOf(c)&(clsL|clsP|clsS) == 0
	if (optOK && n >= 0 && isLM(n)) || isLM(c) {
		j := next
		for j < len(s) {
			r, size := decode(s[j:])
			if !isLM(r) {
				break
			}
			j += size
		}
		return j
	}

	// A3: ' '?[\p{P}\p{S}]+[\r\n]*
	{
		j := i
		if c == ' ' && n >= 0 && isPS(n) {
			j = next
		}
		r, size := decode(s[j:])
		if isPS(r) {
			k := j + size
			for k < len(s) {
				r2, s2 := decode(s[k:])
				if !isPS(r2) {
					break
				}
				k += s2
			}
			for k < len(s) && (s[k] == '\r' || s[k] == '\n') {
				k++
			}
			return k
		}
	}

	if !isSpace(c) {
		return -1
	}
	// The maximal whitespace run starting at i, and the end of its last CR/LF.
	e := i
	lastNL := -1
	prev := i // start of the last rune of the run
	for e < len(s) {
		r, size := decode(s[e:])
		if !isSpace(r) {
			break
		}
		if isCRLF(r) {
			lastNL = e + 1
		}
		prev = e
		e += size
	}
	// A4: \s*[\r\n]+ — \s* backtracks until [\r\n]+ can match, so the match
	// ends just after the last CR/LF of the run.
	if lastNL >= 0 {
		return lastNL
	}
	// A5: \s+(?!\S) — the whole run at the end of the piece, else the run
	// minus its last rune (which is followed by whitespace, so (?!\S) holds).
	if e == len(s) {
		return e
	}
	if prev > i {
		return prev
	}
	// A6: \s+ — a single whitespace rune before a non-space.
	return e
}
