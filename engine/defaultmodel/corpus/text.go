package corpus

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rendering rules (token sequence → text) and their exact inverse
// (text → token sequence). The inverse is what makes probabilities of text
// well defined: every text the grammar can produce corresponds to exactly one
// token sequence, so P(text) is the sum over derivations of that sequence.
//
//   - words are separated by one space;
//   - punctuation tokens , . ! ? attach to the previous word;
//   - special tokens (BOS, EOS, <｜User｜>, <｜Assistant｜>, <think>, </think>)
//     attach on both sides (no spaces around them, as in DeepSeek's chat
//     format);
//   - a word at the start of a sentence (text start, after a special token or
//     after . ! ?) has its first letter capitalised; every lexicon word is
//     lowercase except the "I" forms, so capitalisation carries no choice;
//   - the article terminal "a/an" renders as "an" before a vowel letter and
//     "a" otherwise.

func isSpecial(t string) bool {
	return strings.HasPrefix(t, "<｜") || t == ThinkTok || t == EndThink
}

func isPunct(t string) bool {
	return t == "," || t == "." || t == "!" || t == "?"
}

func endsSentence(t string) bool { return t == "." || t == "!" || t == "?" }

func isIForm(w string) bool { return w == "I" || strings.HasPrefix(w, "I'") }

func startsWithVowel(w string) bool {
	return w != "" && strings.IndexByte("aeiou", w[0]) >= 0
}

func capitalise(w string) string {
	r, n := utf8.DecodeRuneInString(w)
	if r == utf8.RuneError || !unicode.IsLower(r) {
		return w
	}
	return string(unicode.ToUpper(r)) + w[n:]
}

// renderedToken is one token of rendered text with its byte span.
type renderedToken struct {
	text       string // surface form in the text
	start, end int
}

// render turns terminal strings into text. words[i] == aAnTerm is resolved
// against words[i+1].
func render(words []string) (string, []renderedToken) {
	var b strings.Builder
	toks := make([]renderedToken, 0, len(words))
	prev := ""
	for i, w := range words {
		if w == aAnTerm {
			w = "a"
			if i+1 < len(words) && startsWithVowel(words[i+1]) {
				w = "an"
			}
		}
		special := isSpecial(w)
		if !special && !isPunct(w) && i > 0 && !isSpecial(prev) {
			b.WriteByte(' ')
		}
		if !special && !isPunct(w) && (prev == "" || isSpecial(prev) || endsSentence(prev)) {
			w = capitalise(w)
		}
		start := b.Len()
		b.WriteString(w)
		toks = append(toks, renderedToken{text: w, start: start, end: b.Len()})
		prev = w
	}
	return b.String(), toks
}

// textToken is a token of parsed text: norm is the lexicon form (sentence
// initial capital removed) or "" when the surface form cannot be a lexicon
// word at that position (e.g. a lowercase sentence start).
type textToken struct {
	norm       string
	start, end int
}

// tokenize is the inverse of render. It is strict: double spaces, leading or
// trailing spaces inside a segment, and wrong capitalisation produce tokens
// that match no terminal, so such text is out of grammar.
func tokenize(text string) []textToken {
	var out []textToken
	prev := "" // previous token's norm, or a marker for specials
	pos := 0
	for pos < len(text) {
		// Special token at pos?
		if sp := specialAt(text[pos:]); sp != "" {
			out = append(out, textToken{norm: sp, start: pos, end: pos + len(sp)})
			pos += len(sp)
			prev = sp
			continue
		}
		// Segment up to the next special token.
		end := len(text)
		if k := nextSpecial(text[pos:]); k >= 0 {
			end = pos + k
		}
		seg := text[pos:end]
		off := pos
		for i, chunk := range strings.Split(seg, " ") {
			if i > 0 {
				off++ // the space
			}
			cstart := off
			off += len(chunk)
			if chunk == "" {
				// A space at a segment edge or a double space: not in grammar.
				out = append(out, textToken{norm: "", start: cstart, end: cstart})
				prev = " "
				continue
			}
			// Peel trailing punctuation.
			core := chunk
			var puncts []string
			for len(core) > 0 && isPunct(core[len(core)-1:]) {
				puncts = append([]string{core[len(core)-1:]}, puncts...)
				core = core[:len(core)-1]
			}
			if core != "" {
				norm := core
				sentStart := prev == "" || isSpecial(prev) || endsSentence(prev)
				r, n := utf8.DecodeRuneInString(core)
				switch {
				case strings.ContainsAny(core, "\n\t\r"):
					norm = ""
				case sentStart && !isIForm(core) && unicode.IsLetter(r):
					if unicode.IsUpper(r) {
						norm = string(unicode.ToLower(r)) + core[n:]
					} else {
						norm = "" // lowercase sentence start
					}
				}
				out = append(out, textToken{norm: norm, start: cstart, end: cstart + len(core)})
				prev = core
			}
			p := cstart + len(core)
			for _, pu := range puncts {
				out = append(out, textToken{norm: pu, start: p, end: p + 1})
				p++
				prev = pu
			}
		}
		pos = end
	}
	return out
}

func specialAt(s string) string {
	for _, sp := range SpecialTokens {
		if strings.HasPrefix(s, sp) {
			return sp
		}
	}
	return ""
}

func nextSpecial(s string) int {
	best := -1
	for _, sp := range SpecialTokens {
		if k := strings.Index(s, sp); k >= 0 && (best < 0 || k < best) {
			best = k
		}
	}
	return best
}
