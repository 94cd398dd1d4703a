// Package reference reads DeepSeek's reference logits for the golden tiny
// checkpoint (expected.json and expected.safetensors in
// ../shared/golden/dsv4-tiny, located by internal/golden) for the engine's
// tests. The engine and engine/dsv4 tests both compare against them; one
// reader keeps them reading the same thing.
package reference

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/internal/golden"
)

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
	d := golden.Dir(t)
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
		t.Fatalf("reference: %s: %v", filepath.Join(d, "expected.json"), err)
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
