package interop_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
	"github.com/steerbook/steerbook/steerlib/interop"
)

func ExampleWriteControlVector() {
	v := steerlib.NewVector("sentiment", engine.SiteBlockOut, 3, []float64{0.5, -0.25, 1})
	dir, _ := os.MkdirTemp("", "cv")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "sentiment.gguf")
	// block_out[3] becomes direction.3, which llama.cpp adds to block 3's
	// output (all four streams for DeepSeek-V4).
	if err := interop.WriteControlVector(path, v, interop.GGUFOptions{Strength: steerlib.Raw(2)}); err != nil {
		panic(err)
	}
	r, _ := interop.ReadControlVector(path)
	fmt.Println(r.Layers(), r.Dir(3), r.Prov.Site)
	// Output:
	// [3] [1 -0.5 2] block_out
}

func ExampleSave() {
	v := steerlib.NewVector("register", engine.SiteFFNOut, 7, []float64{1.0 / 3, 2})
	dir, _ := os.MkdirTemp("", "vec")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "register.safetensors")
	if err := interop.Save(path, v); err != nil {
		panic(err)
	}
	r, _ := interop.Load(path)
	fmt.Println(r.Dir(7)[0] == 1.0/3, r.Prov.Site, r.Hash() == v.Hash())
	// Output:
	// true ffn_out true
}

func ExampleToVLLM() {
	v := steerlib.NewVector("sentiment", engine.SiteFFNOut, 5, []float64{1, 2})
	doc, _ := interop.ToVLLM(v, interop.VLLMOptions{Strength: steerlib.Raw(0.5)})
	fmt.Println(doc.HookPoints(), doc.Vectors["mlp_out"]["5"])
	// Output:
	// [mlp_out] [0.5 1]
}
