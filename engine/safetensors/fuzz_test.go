package safetensors

import (
	"bytes"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the parser: it must return an error or
// a checkpoint whose tensors all decode, and never panic.
func FuzzParse(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, []WriteTensor{
		F32Tensor("a", []int{2}, []float32{1, 2}),
		BF16Tensor("b", []int{1, 3}, []float32{1, 2, 3}),
		I64Tensor("c", []int{1}, []int64{7}),
		{Name: "d", DType: F8E4M3, Shape: []int{2}, Data: []byte{0x38, 0x7f}},
	}, map[string]string{"k": "v"})
	f.Add(buf.Bytes())
	f.Add(raw(`{"q":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}}`, make([]byte, 8)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse("fuzz.safetensors", b)
		if err != nil {
			return
		}
		for _, n := range c.Names() {
			tt, _ := c.Tensor(n)
			if _, err := tt.Float32(); err != nil {
				t.Errorf("%s (%s): %v", n, tt.DType, err)
			}
			tt.Int64()
		}
	})
}
