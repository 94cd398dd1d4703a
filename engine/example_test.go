package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/tokenizer"
)

// tinyModel is the golden test checkpoint beside the repository (the examples
// print nothing when it is absent).
func tinyModel() string {
	d, _ := filepath.Abs("../../shared/golden/dsv4-tiny/fp8")
	return d
}

func ExampleLoad() {
	m, err := engine.Load(tinyModel())
	if err != nil {
		fmt.Println("no model:", err != nil)
		return
	}
	defer m.Close()
	in := m.Info()
	fmt.Println(m.NumLayers(), m.Dim(), m.VocabSize())
	for _, L := range in.Layers {
		fmt.Print(L.Kind, "/", L.Routing, " ")
	}
	fmt.Println()
	// Output:
	// 5 128 512
	// SWA/hash CSA/hash HCA/bias CSA/bias SWA/bias
}

func ExampleModel_Forward() {
	m, err := engine.Load(tinyModel())
	if err != nil {
		return
	}
	defer m.Close()
	// Two sequences of different lengths in one call; keep the last logits.
	out, err := m.Forward(context.Background(), [][]int{{395, 78, 308, 45}, {320, 287}}, engine.WithLogits(engine.LogitsLast))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(out.Logits), len(out.Logits[0]), len(out.Logits[1][0]))
	// Output: 2 1 512
}

func ExampleModel_Capture() {
	m, err := engine.Load(tinyModel())
	if err != nil {
		return
	}
	defer m.Close()
	c, err := m.Capture(context.Background(), [][]int{{395, 78, 308, 45, 397}, {320, 287, 40}}, engine.CaptureRequest{
		Sites:     []engine.Site{engine.SiteBlockOut, engine.SiteFFNIn},
		Layers:    []int{1, 2},
		Positions: engine.LastPosition(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Index())
	fmt.Println(len(c.Rows(engine.SiteBlockOut, 2)), c.Width(engine.SiteBlockOut), c.Width(engine.SiteFFNIn))
	// Output:
	// [{0 4} {1 2}]
	// 2 512 128
}

func ExampleAddVector() {
	m, err := engine.Load(tinyModel())
	if err != nil {
		return
	}
	defer m.Close()
	ctx := context.Background()
	v := make([]float32, m.Dim())
	v[0] = 1
	steer := engine.AddVector(engine.SiteBlockOut, []int{2}, v, 4) // all four streams of block 2
	seq := [][]int{{395, 78, 308, 45, 397}}
	a, _ := m.Forward(ctx, seq, engine.WithLogits(engine.LogitsLast), engine.WithInterventions(steer))
	b, _ := m.Forward(ctx, seq, engine.WithLogits(engine.LogitsLast))
	c, _ := m.Forward(ctx, seq, engine.WithLogits(engine.LogitsLast))
	fmt.Println("steered differs:", a.Logits[0][0][0] != b.Logits[0][0][0])
	fmt.Println("removal is exact:", b.Logits[0][0][0] == c.Logits[0][0][0])
	// Output:
	// steered differs: true
	// removal is exact: true
}

func ExampleModel_GenerateTokens() {
	m, err := engine.Load(tinyModel())
	if err != nil {
		return
	}
	defer m.Close()
	g, err := m.GenerateTokens(context.Background(), []int{395, 78, 308}, engine.GenerateOptions{MaxTokens: 4, IgnoreEOS: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(g.Tokens), g.StopReason)
	// Output: 4 length
}

func ExampleModel_Generate() {
	// A folder with the golden weights and a small tokenizer trained on the
	// spot stands in for a real model folder here.
	dir, err := os.MkdirTemp("", "steerbook-example")
	if err != nil {
		return
	}
	defer os.RemoveAll(dir)
	for _, f := range []string{"config.json", "model.safetensors"} {
		if os.Symlink(filepath.Join(tinyModel(), "..", "bf16", f), filepath.Join(dir, f)) != nil {
			return
		}
	}
	tok, err := tokenizer.Train([]string{"the cat sat on the mat", "a dog ran in the park"}, 300, tokenizer.DefaultSpecialTokens)
	if err != nil || tok.WriteJSON(filepath.Join(dir, "tokenizer.json")) != nil {
		return
	}
	m, err := engine.Load(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	n := 0
	g, err := m.Generate(context.Background(), "the cat", engine.GenerateOptions{
		MaxTokens: 5, Temperature: 0.7, TopP: 0.9, Seed: 42, IgnoreEOS: true,
		OnToken: func(id int, text string) error { n++; return nil }, // stream tokens as they come
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(g.Tokens), n, g.StopReason)
	// Output: 5 5 length
}
