package tokenizer

import "unicode/utf8"

// Byte-level BPE works on bytes, but tokenizer.json stores tokens as strings.
// GPT-2's convention, used by Hugging Face's ByteLevel pre-tokenizer and
// decoder, maps every byte to a printable rune: printable Latin-1 bytes map to
// themselves and the rest (controls, space, DEL, NBSP, soft hyphen) to
// U+0100 onwards in byte order. So the space byte becomes 'Ġ' (U+0120).
var (
	byteToRune [256]rune
	runeToByte = map[rune]byte{}
	// byteStr[b] is string(byteToRune[b]), precomputed for building token strings.
	byteStr [256]string
)

func init() {
	n := 0
	for b := 0; b < 256; b++ {
		printable := (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
		if printable {
			byteToRune[b] = rune(b)
		} else {
			byteToRune[b] = rune(256 + n)
			n++
		}
		runeToByte[byteToRune[b]] = byte(b)
		byteStr[b] = string(byteToRune[b])
	}
}

// byteLevelString maps raw bytes to their byte-level token-string form.
func byteLevelString(b string) string {
	out := make([]byte, 0, 2*len(b))
	for i := 0; i < len(b); i++ {
		out = utf8.AppendRune(out, byteToRune[b[i]])
	}
	return string(out)
}

// appendTokenBytes appends the bytes a token string stands for, following the
// Hugging Face ByteLevel decoder: if every rune of the token is in the
// byte-level alphabet the runes are mapped back to bytes; otherwise (added
// tokens such as "<｜User｜>") the token's own UTF-8 is used unchanged.
func appendTokenBytes(dst []byte, tok string) []byte {
	start := len(dst)
	for _, r := range tok {
		b, ok := runeToByte[r]
		if !ok {
			return append(dst[:start], tok...)
		}
		dst = append(dst, b)
	}
	return dst
}
