// Package safetensors reads and writes the safetensors checkpoint format.
//
// A checkpoint directory holds either one model.safetensors or several shards
// listed by model.safetensors.index.json. Open memory-maps the files
// read-only, so opening the 160 GB DeepSeek-V4-Flash release costs no RAM
// until pages are touched; tensors keep their stored dtype (FP8, FP4-in-I8,
// BF16 …) and engine/tensor computes on them compressed.
//
// Every inconsistency in a file (truncation, bad header, offsets outside the
// data or overlapping, a size that does not match shape×dtype, an unknown
// dtype, duplicate names, an index that names a missing shard or tensor) is
// reported as an error wrapping ErrInvalid and naming the file and tensor;
// the reader never panics on bad input.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// ErrInvalid is wrapped by every error about a malformed file or index.
var ErrInvalid = errors.New("invalid safetensors data")

// ErrNotFound is wrapped by the error Tensor returns for an unknown name.
var ErrNotFound = errors.New("tensor not found")

// IndexFile and SingleFile are the file names Open looks for.
const (
	IndexFile  = "model.safetensors.index.json"
	SingleFile = "model.safetensors"
)

// maxHeader bounds the JSON header; the real 46-shard release has headers of
// a few hundred KB, and the reference implementation uses the same 100 MB cap.
const maxHeader = 100 << 20

// Tensor is one stored tensor. Data aliases the (possibly memory-mapped,
// read-only) file contents: do not write to it, and do not use it after the
// Checkpoint is closed.
type Tensor struct {
	Name  string
	File  string // the file it came from (path as opened)
	DType DType
	Shape []int
	Data  []byte
}

// NumElements is the product of the shape (1 for a scalar).
func (t *Tensor) NumElements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Float32 decodes the tensor to float32: BF16, F16, F32, F64 and the integer
// types convert by value, F8_E4M3 and F8_E8M0 decode element-wise (an FP8
// weight's block scale is not applied here; see engine/tensor for that).
func (t *Tensor) Float32() ([]float32, error) {
	if err := t.checkSize(); err != nil {
		return nil, err
	}
	v, err := decodeFloat32(t.DType, t.Data, t.NumElements())
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", t.File, t.Name, err)
	}
	return v, nil
}

// Int64 decodes an integer tensor (I64, I32, I16, I8, U64, U32, U16, U8, BOOL).
func (t *Tensor) Int64() ([]int64, error) {
	if err := t.checkSize(); err != nil {
		return nil, err
	}
	v, err := decodeInt64(t.DType, t.Data, t.NumElements())
	if err != nil {
		return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", t.File, t.Name, err)
	}
	return v, nil
}

// checkSize guards decoding of hand-built Tensors; ones read from a file are
// validated when it is opened.
func (t *Tensor) checkSize() error {
	n := t.NumElements()
	if n < 0 || len(t.Data) != n*t.DType.Size() || !t.DType.Valid() {
		return fmt.Errorf("safetensors: %s: tensor %q: %w: %d data bytes for shape %v × %s",
			t.File, t.Name, ErrInvalid, len(t.Data), t.Shape, t.DType)
	}
	return nil
}

// Checkpoint is an opened set of safetensors files.
type Checkpoint struct {
	dir      string
	tensors  map[string]*Tensor
	names    []string
	metadata map[string]string
	unmap    []func() error
}

// Open opens a checkpoint directory: model.safetensors.index.json plus the
// shards it lists if present, otherwise model.safetensors. dir may also name
// a single .safetensors file. Files are memory-mapped read-only where the
// platform allows it.
func Open(dir string) (*Checkpoint, error) {
	c := &Checkpoint{dir: dir, tensors: map[string]*Tensor{}, metadata: map[string]string{}}
	load := func(name string) ([]byte, string, error) {
		p := filepath.Join(dir, name)
		b, closer, err := mapFile(p)
		if err != nil {
			return nil, p, err
		}
		c.unmap = append(c.unmap, closer)
		return b, p, nil
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		c.dir = filepath.Dir(dir)
		b, closer, err := mapFile(dir)
		if err != nil {
			return nil, err
		}
		c.unmap = append(c.unmap, closer)
		if err := c.addFile(dir, b, nil); err != nil {
			c.Close()
			return nil, err
		}
		c.finish()
		return c, nil
	}
	idx, err := os.ReadFile(filepath.Join(dir, IndexFile))
	switch {
	case err == nil:
		err = c.loadIndex(filepath.Join(dir, IndexFile), idx, load)
	case errors.Is(err, fs.ErrNotExist):
		err = c.loadSingle(load)
	default:
		err = fmt.Errorf("safetensors: %w", err)
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.finish()
	return c, nil
}

// OpenFS is Open for a file system (such as an embed.FS holding the default
// model): the files are read into memory instead of mapped.
func OpenFS(fsys fs.FS, dir string) (*Checkpoint, error) {
	c := &Checkpoint{dir: dir, tensors: map[string]*Tensor{}, metadata: map[string]string{}}
	load := func(name string) ([]byte, string, error) {
		p := path.Join(dir, name)
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return nil, p, fmt.Errorf("safetensors: %w", err)
		}
		return b, p, nil
	}
	idxPath := path.Join(dir, IndexFile)
	idx, err := fs.ReadFile(fsys, idxPath)
	switch {
	case err == nil:
		err = c.loadIndex(idxPath, idx, load)
	case errors.Is(err, fs.ErrNotExist):
		err = c.loadSingle(load)
	default:
		err = fmt.Errorf("safetensors: %w", err)
	}
	if err != nil {
		return nil, err
	}
	c.finish()
	return c, nil
}

// Parse reads one in-memory safetensors file; name is used in error messages
// and Tensor.File.
func Parse(name string, b []byte) (*Checkpoint, error) {
	c := &Checkpoint{dir: path.Dir(name), tensors: map[string]*Tensor{}, metadata: map[string]string{}}
	if err := c.addFile(name, b, nil); err != nil {
		return nil, err
	}
	c.finish()
	return c, nil
}

type loader func(name string) (data []byte, fullPath string, err error)

func (c *Checkpoint) loadSingle(load loader) error {
	b, p, err := load(SingleFile)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("safetensors: %s: neither %s nor %s found: %w", c.dir, IndexFile, SingleFile, err)
		}
		return err
	}
	return c.addFile(p, b, nil)
}

type indexJSON struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

func (c *Checkpoint) loadIndex(idxPath string, raw []byte, load loader) error {
	var idx indexJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep total_size as written, not as a float
	if err := dec.Decode(&idx); err != nil {
		return fmt.Errorf("safetensors: %s: malformed index JSON: %w (%w)", idxPath, ErrInvalid, err)
	}
	if len(idx.WeightMap) == 0 {
		return fmt.Errorf("safetensors: %s: %w: empty or missing weight_map", idxPath, ErrInvalid)
	}
	// Group tensors by shard; load shards in sorted order for stable errors.
	want := map[string]map[string]bool{}
	for name, shard := range idx.WeightMap {
		if shard == "" || strings.Contains(shard, "/") || strings.Contains(shard, `\`) || shard == ".." {
			return fmt.Errorf("safetensors: %s: %w: tensor %q maps to bad shard name %q", idxPath, ErrInvalid, name, shard)
		}
		if want[shard] == nil {
			want[shard] = map[string]bool{}
		}
		want[shard][name] = true
	}
	shards := make([]string, 0, len(want))
	for s := range want {
		shards = append(shards, s)
	}
	sort.Strings(shards)
	for _, s := range shards {
		b, p, err := load(s)
		if err != nil {
			return fmt.Errorf("safetensors: %s: shard %q listed in the index cannot be opened: %w", idxPath, s, err)
		}
		if err := c.addFile(p, b, want[s]); err != nil {
			return err
		}
	}
	for _, s := range shards {
		for name := range want[s] {
			if _, ok := c.tensors[name]; !ok {
				return fmt.Errorf("safetensors: %s: %w: tensor %q listed in the index is missing from shard %s", idxPath, ErrInvalid, name, s)
			}
		}
	}
	for k, v := range idx.Metadata {
		c.metadata[k] = fmt.Sprint(v)
	}
	return nil
}

type headerEntry struct {
	DType   DType   `json:"dtype"`
	Shape   []int64 `json:"shape"`
	Offsets []int64 `json:"data_offsets"`
}

// addFile parses one file's header and registers its tensors. If expect is
// non-nil (an index is in use) a tensor the index assigns to another shard
// is an error.
func (c *Checkpoint) addFile(file string, b []byte, expect map[string]bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("safetensors: %s: %w: %s", file, ErrInvalid, fmt.Sprintf(format, args...))
	}
	if len(b) < 8 {
		return bad("truncated file: %d bytes, need at least 8 for the header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return bad("header length %d is beyond the end of the file (%d bytes)", n, len(b))
	}
	if n > maxHeader {
		return bad("header length %d exceeds the %d byte limit", n, maxHeader)
	}
	hdr := b[8 : 8+n]
	data := b[8+n:]
	entries, order, meta, err := parseHeader(hdr)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w: malformed header: %w", file, ErrInvalid, err)
	}
	for k, v := range meta {
		c.metadata[k] = v
	}
	type span struct {
		name       string
		begin, end int64
	}
	spans := make([]span, 0, len(order))
	for _, name := range order {
		e := entries[name]
		if !e.DType.Valid() {
			return bad("tensor %q: unknown dtype %q", name, e.DType)
		}
		if len(e.Offsets) != 2 {
			return bad("tensor %q: data_offsets must have 2 entries, got %d", name, len(e.Offsets))
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return bad("tensor %q: negative dimension in shape %v", name, e.Shape)
			}
			if d != 0 && numel > math.MaxInt32*int64(256)/d {
				return bad("tensor %q: shape %v is too large", name, e.Shape)
			}
			numel *= d
		}
		begin, end := e.Offsets[0], e.Offsets[1]
		if begin < 0 || end < begin {
			return bad("tensor %q: data_offsets [%d, %d] are out of order", name, begin, end)
		}
		if end > int64(len(data)) {
			return bad("tensor %q: data_offsets [%d, %d] are beyond the end of the data (%d bytes; file truncated?)", name, begin, end, len(data))
		}
		if want := numel * int64(e.DType.Size()); end-begin != want {
			return bad("tensor %q: %d data bytes but shape %v × %s needs %d", name, end-begin, e.Shape, e.DType, want)
		}
		if expect != nil && !expect[name] {
			if _, other := c.tensors[name]; !other {
				// Present in this shard but the index puts it elsewhere or nowhere.
				return bad("tensor %q is not mapped to this shard by the index", name)
			}
		}
		if prev, dup := c.tensors[name]; dup {
			return bad("tensor %q is duplicated (also in %s)", name, prev.File)
		}
		shape := make([]int, len(e.Shape))
		for i, d := range e.Shape {
			shape[i] = int(d)
		}
		c.tensors[name] = &Tensor{Name: name, File: file, DType: e.DType, Shape: shape,
			Data: data[begin:end:end]}
		spans = append(spans, span{name, begin, end})
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].begin != spans[j].begin {
			return spans[i].begin < spans[j].begin
		}
		return spans[i].end < spans[j].end
	})
	for i := 1; i < len(spans); i++ {
		if spans[i].begin < spans[i-1].end {
			return bad("tensors %q [%d, %d] and %q [%d, %d] overlap", spans[i-1].name, spans[i-1].begin, spans[i-1].end,
				spans[i].name, spans[i].begin, spans[i].end)
		}
	}
	return nil
}

// parseHeader decodes the JSON header token by token so that duplicate keys,
// which encoding/json would silently merge, are detected.
func parseHeader(hdr []byte) (map[string]headerEntry, []string, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(hdr))
	tok, err := dec.Token()
	if err != nil {
		return nil, nil, nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, nil, nil, fmt.Errorf("header is not a JSON object")
	}
	entries := map[string]headerEntry{}
	var order []string
	var meta map[string]string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, nil, nil, fmt.Errorf("unexpected token %v", tok)
		}
		if key == "__metadata__" {
			if meta != nil {
				return nil, nil, nil, fmt.Errorf("duplicate __metadata__")
			}
			meta = map[string]string{}
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, nil, fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		if _, dup := entries[key]; dup {
			return nil, nil, nil, fmt.Errorf("tensor %q is duplicated in the header", key)
		}
		var e headerEntry
		if err := dec.Decode(&e); err != nil {
			return nil, nil, nil, fmt.Errorf("tensor %q: %w", key, err)
		}
		entries[key] = e
		order = append(order, key)
	}
	if _, err := dec.Token(); err != nil { // closing brace
		return nil, nil, nil, err
	}
	// Only padding may follow the object.
	rest, _ := io.ReadAll(dec.Buffered())
	if len(bytes.TrimRight(rest, " \t\r\n\x00")) != 0 {
		return nil, nil, nil, fmt.Errorf("trailing bytes after the header object")
	}
	return entries, order, meta, nil
}

func (c *Checkpoint) finish() {
	c.names = make([]string, 0, len(c.tensors))
	for n := range c.tensors {
		c.names = append(c.names, n)
	}
	sort.Strings(c.names)
}

// Tensor returns the named tensor. A "model." prefix is tolerated in either
// direction, because HF-style and native checkpoints differ only in it.
// The error for an unknown name wraps ErrNotFound.
func (c *Checkpoint) Tensor(name string) (*Tensor, error) {
	if t, ok := c.Lookup(name); ok {
		return t, nil
	}
	return nil, fmt.Errorf("safetensors: %s: tensor %q: %w", c.dir, name, ErrNotFound)
}

// Lookup is Tensor without the error: ok is false for an unknown name.
func (c *Checkpoint) Lookup(name string) (*Tensor, bool) {
	if t, ok := c.tensors[name]; ok {
		return t, true
	}
	if s, ok := strings.CutPrefix(name, "model."); ok {
		if t, ok := c.tensors[s]; ok {
			return t, true
		}
	} else if t, ok := c.tensors["model."+name]; ok {
		return t, true
	}
	return nil, false
}

// Has reports whether Lookup would find name.
func (c *Checkpoint) Has(name string) bool { _, ok := c.Lookup(name); return ok }

// Names lists every tensor name, sorted.
func (c *Checkpoint) Names() []string { return append([]string(nil), c.names...) }

// Len is the number of tensors.
func (c *Checkpoint) Len() int { return len(c.names) }

// Dir is the directory the checkpoint was opened from.
func (c *Checkpoint) Dir() string { return c.dir }

// Metadata merges the files' __metadata__ maps and the index metadata.
func (c *Checkpoint) Metadata() map[string]string {
	m := make(map[string]string, len(c.metadata))
	for k, v := range c.metadata {
		m[k] = v
	}
	return m
}

// Close unmaps the files. Tensor data must not be used afterwards.
func (c *Checkpoint) Close() error {
	var first error
	for _, f := range c.unmap {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	c.unmap = nil
	return first
}
