package kernel

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sync"
	"time"
)

// ProtocolVersion is the Jupyter messaging protocol version the kernel speaks.
const ProtocolVersion = "5.3"

// delimiter separates the ZeroMQ routing identities from the signed part of
// a Jupyter message on the wire.
var delimiter = []byte("<IDS|MSG>")

// Header is a Jupyter message header.
type Header struct {
	MsgID    string `json:"msg_id"`
	Session  string `json:"session"`
	Username string `json:"username"`
	Date     string `json:"date"`
	MsgType  string `json:"msg_type"`
	Version  string `json:"version"`
}

// Message is one decoded Jupyter message. Parent is kept as raw JSON so that
// it is echoed back byte for byte as the parent of replies; Content is kept
// raw so that each handler decodes only the fields it needs.
type Message struct {
	Identities [][]byte
	Header     Header
	// HeaderRaw is the header frame as received; replies echo it as their
	// parent so that fields this kernel does not know survive.
	HeaderRaw json.RawMessage
	// ParentRaw is the parent header exactly as received ("{}" when none).
	ParentRaw json.RawMessage
	Metadata  map[string]any
	Content   json.RawMessage
	Buffers   [][]byte
}

// ErrBadSignature is returned by a Codec when a message's HMAC does not match.
var ErrBadSignature = errors.New("kernel: bad message signature")

// Codec signs and verifies messages with the connection file's key. With an
// empty key, messages are neither signed nor checked (the protocol's rule).
type Codec struct {
	key []byte
	mu  sync.Mutex
	mac hash.Hash
}

// NewCodec returns a codec for the given signature scheme and key. Only
// hmac-sha256 (and an empty scheme, meaning the same) is supported.
func NewCodec(scheme, key string) (*Codec, error) {
	if scheme != "" && scheme != "hmac-sha256" {
		return nil, fmt.Errorf("kernel: signature_scheme %q not supported (want hmac-sha256)", scheme)
	}
	c := &Codec{key: []byte(key)}
	if len(c.key) > 0 {
		c.mac = hmac.New(sha256.New, c.key)
	}
	return c, nil
}

// Sign returns the hex HMAC of the four signed frames ("" without a key).
func (c *Codec) Sign(frames ...[]byte) []byte {
	if c.mac == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mac.Reset()
	for _, f := range frames {
		c.mac.Write(f)
	}
	sum := c.mac.Sum(nil)
	out := make([]byte, hex.EncodedLen(len(sum)))
	hex.Encode(out, sum)
	return out
}

// Decode parses the frames of a message received on a ROUTER or SUB socket,
// verifying its signature. A message with a missing or wrong signature gives
// ErrBadSignature and must be dropped.
func (c *Codec) Decode(frames [][]byte) (*Message, error) {
	i := -1
	for k, f := range frames {
		if bytes.Equal(f, delimiter) {
			i = k
			break
		}
	}
	if i < 0 {
		return nil, errors.New("kernel: message has no <IDS|MSG> delimiter")
	}
	if len(frames) < i+6 {
		return nil, fmt.Errorf("kernel: message has %d frames after the delimiter, want at least 5", len(frames)-i-1)
	}
	sig, header, parent, meta, content := frames[i+1], frames[i+2], frames[i+3], frames[i+4], frames[i+5]
	if c.mac != nil {
		want := c.Sign(header, parent, meta, content)
		if len(sig) == 0 || !hmac.Equal(want, sig) {
			return nil, ErrBadSignature
		}
	}
	m := &Message{Identities: frames[:i], Buffers: frames[i+6:], HeaderRaw: json.RawMessage(header)}
	if err := json.Unmarshal(header, &m.Header); err != nil {
		return nil, fmt.Errorf("kernel: header: %w", err)
	}
	if len(bytes.TrimSpace(parent)) == 0 {
		parent = []byte("{}")
	}
	m.ParentRaw = json.RawMessage(parent)
	if len(bytes.TrimSpace(meta)) > 0 {
		if err := json.Unmarshal(meta, &m.Metadata); err != nil {
			return nil, fmt.Errorf("kernel: metadata of %s: %w", m.Header.MsgType, err)
		}
	}
	if len(bytes.TrimSpace(content)) == 0 {
		content = []byte("{}")
	}
	m.Content = json.RawMessage(content)
	return m, nil
}

// Encode builds the wire frames of a message: identities (or the iopub
// topic), delimiter, signature, header, parent, metadata, content, buffers.
func (c *Codec) Encode(idents [][]byte, h Header, parent json.RawMessage, metadata map[string]any, content any) ([][]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(parent) == 0 {
		parent = json.RawMessage("{}")
	}
	if metadata == nil {
		metadata = map[string]any{}
	}
	mb, err := json.Marshal(metadata)
	if err != nil {
		return nil, fmt.Errorf("kernel: metadata of %s: %w", h.MsgType, err)
	}
	if content == nil {
		content = map[string]any{}
	}
	cb, err := json.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("kernel: content of %s: %w", h.MsgType, err)
	}
	frames := make([][]byte, 0, len(idents)+6)
	frames = append(frames, idents...)
	frames = append(frames, delimiter, c.Sign(hb, parent, mb, cb), hb, parent, mb, cb)
	return frames, nil
}

// NewHeader returns a fresh header for a message of the given type.
func NewHeader(session, msgType string) Header {
	return Header{
		MsgID:    NewID(),
		Session:  session,
		Username: "steerbook",
		Date:     time.Now().UTC().Format("2006-01-02T15:04:05.000000Z"),
		MsgType:  msgType,
		Version:  ProtocolVersion,
	}
}

// NewID returns a random UUID (version 4) string.
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
