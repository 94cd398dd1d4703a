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
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsNumber(r) {
			i += size
			continue
		}
		if start < i {
			splitCJK(text[start:i], emit)
		}
		j := i
		for n := 0; n < 3 && j < len(text); n++ {
			r2, s2 := utf8.DecodeRuneInString(text[j:])
			if !unicode.IsNumber(r2) {
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
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isCJK(r) {
			i += size
			continue
		}
		if start < i {
			splitMain(s[start:i], emit)
		}
		j := i + size
		for j < len(s) {
			r2, s2 := utf8.DecodeRuneInString(s[j:])
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

func isASCIIAlpha(r rune) bool { return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') }
func isCRLF(r rune) bool       { return r == '\r' || r == '\n' }
func isLM(r rune) bool         { return unicode.IsLetter(r) || unicode.IsMark(r) }
func isPS(r rune) bool         { return unicode.IsPunct(r) || unicode.IsSymbol(r) }

// isSpace is Oniguruma's Unicode \s: U+0009–U+000D, U+0085 and the Zs, Zl, Zp
// categories, which is exactly Go's unicode.IsSpace (the White_Space property).
func isSpace(r rune) bool { return unicode.IsSpace(r) }

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
			_, size := utf8.DecodeRuneInString(s[i:])
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
	c, cs := utf8.DecodeRuneInString(s[i:])
	next := i + cs
	var n rune = -1 // the rune after c, -1 at the end of the piece
	ns := 0
	if next < len(s) {
		n, ns = utf8.DecodeRuneInString(s[next:])
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
	optOK := !isCRLF(c) && !unicode.IsLetter(c) && !isPS(c)
	if (optOK && n >= 0 && isLM(n)) || isLM(c) {
		j := next
		for j < len(s) {
			r, size := utf8.DecodeRuneInString(s[j:])
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
		r, size := utf8.DecodeRuneInString(s[j:])
		if isPS(r) {
			k := j + size
			for k < len(s) {
				r2, s2 := utf8.DecodeRuneInString(s[k:])
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
		r, size := utf8.DecodeRuneInString(s[e:])
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
