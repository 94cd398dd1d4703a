package safetensors

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// WriteTensor is one tensor to write: Data holds the little-endian elements
// and must be exactly product(Shape)·DType.Size() bytes.
type WriteTensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// F32Tensor packs float32 values as an F32 WriteTensor.
func F32Tensor(name string, shape []int, v []float32) WriteTensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return WriteTensor{Name: name, DType: F32, Shape: shape, Data: b}
}

// BF16Tensor rounds float32 values to BF16 (nearest, ties to even).
func BF16Tensor(name string, shape []int, v []float32) WriteTensor {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], F32ToBF16(x))
	}
	return WriteTensor{Name: name, DType: BF16, Shape: shape, Data: b}
}

// I64Tensor packs int64 values as an I64 WriteTensor.
func I64Tensor(name string, shape []int, v []int64) WriteTensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return WriteTensor{Name: name, DType: I64, Shape: shape, Data: b}
}

// Write writes tensors to path as one safetensors file, atomically (a
// temporary file in the same directory is renamed into place).
func Write(path string, tensors []WriteTensor, metadata map[string]string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = Encode(bw, tensors, metadata); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("safetensors: write %s: %w", path, err)
	}
	return nil
}

// Encode streams a safetensors file to w. Tensors are stored sorted by name
// (so output is deterministic), the header is space-padded to a multiple of 8
// bytes so every tensor's data starts 8-byte aligned relative to the file
// start, and __metadata__ is written only if non-empty.
func Encode(w io.Writer, tensors []WriteTensor, metadata map[string]string) error {
	ts := append([]WriteTensor(nil), tensors...)
	sort.Slice(ts, func(i, j int) bool { return ts[i].Name < ts[j].Name })
	type entry struct {
		DType   DType    `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	// Build the header by hand to keep key order = data order.
	hdr := []byte{'{'}
	if len(metadata) > 0 {
		m, err := json.Marshal(metadata)
		if err != nil {
			return fmt.Errorf("metadata: %w", err)
		}
		hdr = append(hdr, `"__metadata__":`...)
		hdr = append(hdr, m...)
	}
	var off int64
	for i, t := range ts {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("tensor %d: invalid name %q", i, t.Name)
		}
		if i > 0 && ts[i-1].Name == t.Name {
			return fmt.Errorf("tensor %q: duplicate name", t.Name)
		}
		if !t.DType.Valid() {
			return fmt.Errorf("tensor %q: unknown dtype %q", t.Name, t.DType)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %q: negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if want := n * t.DType.Size(); len(t.Data) != want {
			return fmt.Errorf("tensor %q: %d data bytes but shape %v × %s needs %d", t.Name, len(t.Data), t.Shape, t.DType, want)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		name, _ := json.Marshal(t.Name)
		e, _ := json.Marshal(entry{t.DType, shape, [2]int64{off, off + int64(len(t.Data))}})
		if len(hdr) > 1 {
			hdr = append(hdr, ',')
		}
		hdr = append(hdr, name...)
		hdr = append(hdr, ':')
		hdr = append(hdr, e...)
		off += int64(len(t.Data))
	}
	hdr = append(hdr, '}')
	for len(hdr)%8 != 0 {
		hdr = append(hdr, ' ')
	}
	var lenb [8]byte
	binary.LittleEndian.PutUint64(lenb[:], uint64(len(hdr)))
	if _, err := w.Write(lenb[:]); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	for _, t := range ts {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("tensor %q: %w", t.Name, err)
		}
	}
	return nil
}
