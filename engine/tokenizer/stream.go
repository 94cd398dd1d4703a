package tokenizer

// StreamDecoder turns ids into text one token at a time, for printing a
// generation as it happens. A byte-level token can end in the middle of a
// UTF-8 sequence (an emoji is often two or three tokens), so bytes that could
// still become a valid character are held back until the next token completes
// them. The concatenation of everything Add and Flush return equals Decode of
// all the ids.
type StreamDecoder struct {
	t *Tokenizer
	// SkipSpecial drops added tokens flagged special (BOS, EOS, …).
	SkipSpecial bool
	pending     []byte
}

// NewDecoder returns a StreamDecoder for t.
func (t *Tokenizer) NewDecoder() *StreamDecoder { return &StreamDecoder{t: t} }

// Add appends token id and returns the text it completes, possibly "".
// Unknown ids are ignored, as in Decode.
func (d *StreamDecoder) Add(id int) string {
	t := d.t
	if id < 0 || id >= len(t.tokens) || (d.SkipSpecial && t.special[id]) {
		return ""
	}
	d.pending = appendTokenBytes(d.pending, t.tokens[id])
	cut := completeLen(d.pending)
	if cut == 0 {
		return ""
	}
	s := lossyString(d.pending[:cut])
	d.pending = append(d.pending[:0], d.pending[cut:]...)
	return s
}

// Flush returns the held-back bytes (an unfinished character becomes U+FFFD)
// and empties the decoder.
func (d *StreamDecoder) Flush() string {
	s := lossyString(d.pending)
	d.pending = d.pending[:0]
	return s
}

// Pending reports whether bytes are held back.
func (d *StreamDecoder) Pending() bool { return len(d.pending) > 0 }

// completeLen returns how many leading bytes of b can be emitted: all of b
// unless it ends in an unfinished but so far valid UTF-8 sequence, which is
// held back.
func completeLen(b []byte) int {
	// The unfinished sequence, if any, starts at the last non-continuation
	// byte among the final three.
	for k := 1; k <= 3 && k <= len(b); k++ {
		p := len(b) - k
		c := b[p]
		if c&0xC0 == 0x80 {
			continue // continuation byte: keep looking for its lead
		}
		_, _, need := contRange(c)
		if need >= k && prefixLen(b[p:]) == k {
			return p
		}
		return len(b)
	}
	return len(b)
}
