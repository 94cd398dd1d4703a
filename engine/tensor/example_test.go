package tensor_test

import (
	"fmt"

	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/engine/tensor"
)

// Build a Linear from an FP8 weight and its UE8M0 block scale as they come
// out of a checkpoint, and apply it to two input rows at once.
func ExampleFromTensor() {
	// W is 2×3, all codes 0x38 (= 1.0 in E4M3); the single 128×128 block has
	// scale byte 128 (= 2^1), so every dequantised weight is 2.
	w := &safetensors.Tensor{Name: "layers.0.attn.wkv.weight", DType: safetensors.F8E4M3,
		Shape: []int{2, 3}, Data: []byte{0x38, 0x38, 0x38, 0x38, 0x38, 0x38}}
	s := &safetensors.Tensor{Name: "layers.0.attn.wkv.scale", DType: safetensors.F8E8M0,
		Shape: []int{1, 1}, Data: []byte{128}}
	lin, err := tensor.FromTensor(w, s)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{1, 2, 3, 0.5, 0, 0} // rows=2, In=3
	y := make([]float32, 2*lin.Out())
	lin.MatMul(y, x, 2)
	fmt.Println(tensor.Format(lin), lin.Out(), lin.In(), y)

	// A scale whose shape does not fit the weight is an error naming both.
	s.Shape = []int{1, 2}
	_, err = tensor.FromTensor(w, s)
	fmt.Println(err)
	// Output:
	// FP8 2 3 [12 12 1 1]
	// tensor: scale "layers.0.attn.wkv.scale" of weight "layers.0.attn.wkv.weight" [2 3]: shape [1 2], want [1 1]
}
