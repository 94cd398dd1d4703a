package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/engine/tokenizer"
	"github.com/steerbook/steerbook/internal/golden"
)

func goldenDir(t *testing.T) string { return golden.Dir(t) }

func TestModelInfoCommand(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cmdModel([]string{"info", filepath.Join(goldenDir(t), "fp8")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	for _, w := range []string{"blocks 5", "CSA(r=4)", "HCA(r=8)", "hash-routed", "F8_E4M3", "active per token"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	out.Reset()
	if code := cmdModel([]string{"info", filepath.Join(goldenDir(t), "bf16"), "--json"}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	var in map[string]any
	if err := json.Unmarshal(out.Bytes(), &in); err != nil || in["ParamsTotal"] == nil {
		t.Errorf("json: %v %v", err, in)
	}
	if code := cmdModel([]string{"info", t.TempDir()}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "config.json") {
		t.Errorf("missing folder: exit %d, %s", code, errb.String())
	}
}

// logits --json reproduces the golden reference logits (prefill and the
// prefill-13-then-decode path).
func TestLogitsCommand(t *testing.T) {
	d := goldenDir(t)
	var ej struct {
		DecodeFrom int `json:"decode_from"`
		Sequences  []struct {
			Tokens []int `json:"tokens"`
		} `json:"sequences"`
	}
	b, _ := os.ReadFile(filepath.Join(d, "expected.json"))
	if err := json.Unmarshal(b, &ej); err != nil {
		t.Fatal(err)
	}
	ck, err := safetensors.Open(filepath.Join(d, "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	tt, _ := ck.Tensor("decode.1")
	want, _ := tt.Float32()
	V := tt.Shape[1]
	toks := ej.Sequences[1].Tokens[:20]
	var sb strings.Builder
	for i, x := range toks {
		if i > 0 {
			sb.WriteString(",")
		}
		sb.WriteString(strings.TrimSpace(strings.Repeat(" ", 0) + itoa(x)))
	}
	var out, errb bytes.Buffer
	code := cmdLogits([]string{"--model", filepath.Join(d, "fp8"), "--tokens", sb.String(), "--decode-from", "13", "--json"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var got struct{ Logits [][]float32 }
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Logits) != 20 {
		t.Fatalf("%d rows", len(got.Logits))
	}
	for k := 0; k < 7; k++ {
		for i := 0; i < V; i++ {
			if d := math.Abs(float64(got.Logits[13+k][i] - want[k*V+i])); d > 1e-3 {
				t.Fatalf("position %d logit %d differs by %g", 13+k, i, d)
			}
		}
	}
	if code := cmdLogits([]string{"--model", filepath.Join(d, "bf16"), "--tokens", "1,x"}, &out, &errb); code != 2 {
		t.Errorf("bad token list: exit %d", code)
	}
}

func itoa(x int) string { b, _ := json.Marshal(x); return string(b) }

func TestGenerateCommandNeedsTokenizer(t *testing.T) {
	var out, errb bytes.Buffer
	code := cmdGenerate([]string{"--model", filepath.Join(goldenDir(t), "bf16"), "--prompt", "hi"}, &out, &errb)
	if code != 1 || !strings.Contains(errb.String(), "tokenizer") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
}

// generate with a tokenizer: a folder linking the golden weights plus a
// tokenizer trained here; the same seed gives the same text.
func TestGenerateCommand(t *testing.T) {
	src := filepath.Join(goldenDir(t), "bf16")
	dir := t.TempDir()
	for _, f := range []string{"config.json", "model.safetensors"} {
		if err := os.Symlink(filepath.Join(src, f), filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := tokenizer.Train([]string{"the cat sat on the mat", "hello world"}, 300, tokenizer.DefaultSpecialTokens)
	if err != nil {
		t.Fatal(err)
	}
	if err := tok.WriteJSON(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatal(err)
	}
	run := func(seed string) string {
		var out, errb bytes.Buffer
		code := cmdGenerate([]string{"--model", dir, "--prompt", "the cat", "--seed", seed, "--temperature", "1", "--max-tokens", "8"}, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		if !strings.Contains(errb.String(), "tokens, stop:") {
			t.Errorf("stderr %q", errb.String())
		}
		return out.String()
	}
	if a, b := run("3"), run("3"); a != b || strings.TrimSpace(a) == "" {
		t.Errorf("seeded runs differ or are empty: %q vs %q", a, b)
	}
}

// Without a folder, model info describes the embedded default model.
func TestModelInfoDefault(t *testing.T) {
	var out, errb bytes.Buffer
	if code := cmdModel([]string{"info"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "DeepSeek-V4 model "+engine.DefaultDir+"\n") || !strings.Contains(out.String(), "blocks 6") {
		t.Errorf("model info of the default model:\n%s", out.String())
	}
}
