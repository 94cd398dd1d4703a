package safetensors_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/steerbook/steerbook/engine/safetensors"
)

// Write a one-file checkpoint, then open its directory (memory-mapped) and
// read a tensor back; the "model." prefix is optional on lookup.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "st-example")
	defer os.RemoveAll(dir)
	err := safetensors.Write(filepath.Join(dir, safetensors.SingleFile), []safetensors.WriteTensor{
		safetensors.BF16Tensor("norm.weight", []int{4}, []float32{1, 0.5, -2, 3}),
	}, map[string]string{"format": "pt"})
	if err != nil {
		fmt.Println(err)
		return
	}
	ckpt, err := safetensors.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ckpt.Close()
	t, err := ckpt.Tensor("model.norm.weight")
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := t.Float32()
	fmt.Println(ckpt.Names(), t.DType, t.Shape, v)
	// Output: [norm.weight] BF16 [4] [1 0.5 -2 3]
}
