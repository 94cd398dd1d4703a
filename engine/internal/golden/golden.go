// Package golden reads the golden parity data of ../shared/golden/dsv4-tiny
// (DeepSeek's reference logits for a tiny checkpoint) for the engine's tests.
// The engine and engine/dsv4 tests both compare against it; one reader keeps
// them reading the same thing.
package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/steerbook/steerbook/engine/safetensors"
)

// Dir returns the golden folder, ../shared/golden/dsv4-tiny beside the
// repository root, and skips the test when it is absent (CI lays shared/
// beside the clone; a bare checkout has none). The path is found from this
// file's location, so every test package gets the same folder whatever its
// depth.
func Dir(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("golden: cannot locate the source file")
	}
	// file is <repo>/engine/internal/golden/golden.go.
	d, err := filepath.Abs(filepath.Join(filepath.Dir(file), "../../../../shared/golden/dsv4-tiny"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "expected.json")); err != nil {
		t.Skipf("golden checkpoint not found at %s (expected ../shared/golden/dsv4-tiny beside the repository): %v", d, err)
	}
	return d
}

// Seq is one golden sequence: its tokens, the reference logits of a prefill
// of every prefix (Prefill[t] for tokens[:t+1]), and the logits of the
// prefill-then-decode path for positions DecodeFrom onwards.
type Seq struct {
	Tokens  []int
	Prefill [][]float32 // [pos][V]
	Decode  [][]float32 // positions decodeFrom…
}

// Expected reads expected.json and expected.safetensors.
func Expected(t testing.TB) (seqs []Seq, decodeFrom int) {
	d := Dir(t)
	b, err := os.ReadFile(filepath.Join(d, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ej struct {
		DecodeFrom int `json:"decode_from"`
		Sequences  []struct {
			Tokens  []int  `json:"tokens"`
			Prefill string `json:"prefill_logits"`
			Decode  string `json:"decode_logits"`
		} `json:"sequences"`
	}
	if err := json.Unmarshal(b, &ej); err != nil {
		t.Fatalf("golden: expected.json: %v", err)
	}
	ck, err := safetensors.Open(filepath.Join(d, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	get := func(name string) [][]float32 {
		tt, err := ck.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		v, err := tt.Float32() // a copy: valid after Close
		if err != nil {
			t.Fatal(err)
		}
		rows := make([][]float32, tt.Shape[0])
		for i := range rows {
			rows[i] = v[i*tt.Shape[1] : (i+1)*tt.Shape[1]]
		}
		return rows
	}
	for _, s := range ej.Sequences {
		seqs = append(seqs, Seq{Tokens: s.Tokens, Prefill: get(s.Prefill), Decode: get(s.Decode)})
	}
	return seqs, ej.DecodeFrom
}
