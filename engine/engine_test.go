package engine

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/steerbook/steerbook/engine/internal/reference"
	"github.com/steerbook/steerbook/internal/golden"
)

func goldenDir(t testing.TB) string { return golden.Dir(t) }

type goldenLogits struct {
	tokens  [][]int
	prefill [][][]float32
	decode  [][][]float32
	from    int
}

func loadGoldenExpected(t testing.TB) goldenLogits {
	seqs, from := reference.Expected(t)
	g := goldenLogits{from: from}
	for _, s := range seqs {
		g.tokens = append(g.tokens, s.Tokens)
		g.prefill = append(g.prefill, s.Prefill)
		g.decode = append(g.decode, s.Decode)
	}
	return g
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func loadTiny(t testing.TB, sub string, opts ...LoadOption) *Model {
	m, err := Load(filepath.Join(goldenDir(t), sub), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// The public Load path (memory-mapped, weights kept compressed in the
// engine/tensor kernels) against the reference logits: per-prefix prefills and
// the prefill-13-then-decode path, for both folders.
func TestLoadGoldenParity(t *testing.T) {
	g := loadGoldenExpected(t)
	ctx := context.Background()
	for _, sub := range []string{"bf16", "fp8"} {
		for _, dense := range []bool{false, true} {
			var opts []LoadOption
			if dense {
				opts = append(opts, WithDenseWeights())
			}
			m := loadTiny(t, sub, opts...)
			var n, in4, in3 int
			worst := 0.0
			var off []string
			for si, toks := range g.tokens {
				for p := range toks {
					out, err := m.Forward(ctx, [][]int{toks[:p+1]}, WithLogits(LogitsLast))
					if err != nil {
						t.Fatal(err)
					}
					d := maxDiff(out.Logits[0][0], g.prefill[si][p])
					worst = math.Max(worst, d)
					n++
					if d <= 1e-4 {
						in4++
					}
					if d <= 1e-3 {
						in3++
					} else {
						off = append(off, fmtPos(si, p, d))
					}
				}
				s := m.NewSession()
				if _, err := s.Prefill(ctx, toks[:g.from]); err != nil {
					t.Fatal(err)
				}
				for k := range g.decode[si] {
					l, err := s.Decode(ctx, toks[g.from+k])
					if err != nil {
						t.Fatal(err)
					}
					if d := maxDiff(l, g.decode[si][k]); d > 1e-3 {
						t.Errorf("%s dense=%v seq %d decode pos %d: |Δ| %.3g", sub, dense, si, g.from+k, d)
					}
				}
			}
			t.Logf("%s dense=%v: prefill max|Δ| %.2e, %d/%d within 1e-4, %d within 1e-3; outside: %v", sub, dense, worst, in4, n, in3, off)
			if in3 != n {
				t.Errorf("%s dense=%v: positions outside 1e-3: %v", sub, dense, off)
			}
			if float64(in4) < 0.95*float64(n) {
				t.Errorf("%s dense=%v: only %d/%d within 1e-4", sub, dense, in4, n)
			}
		}
	}
}

func fmtPos(si, p int, d float64) string {
	b, _ := json.Marshal([]any{si, p, math.Round(d*1e4) / 1e4})
	return string(b)
}

var _ = slices.Equal[[]int]

// Broken checkpoints are errors that name the file or tensor, never panics.
func TestLoadBrokenCheckpoints(t *testing.T) {
	src := filepath.Join(goldenDir(t), "fp8")
	copyDir := func() string {
		d := t.TempDir()
		ents, _ := os.ReadDir(src)
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(src, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, e.Name()), b, 0o644)
		}
		return d
	}
	shard := "model-00002-of-00002.safetensors"
	cases := map[string]func(d string) string{
		"missing shard": func(d string) string { os.Remove(filepath.Join(d, shard)); return shard },
		"truncated shard": func(d string) string {
			p := filepath.Join(d, shard)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)/2], 0o644)
			return shard
		},
		"bad config": func(d string) string {
			p := filepath.Join(d, "config.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"o_groups": 2`, `"o_groups": 3`, 1)), 0o644)
			return "o_groups"
		},
		"shape disagrees with config": func(d string) string {
			p := filepath.Join(d, "config.json")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, []byte(strings.Replace(string(b), `"q_lora_rank": 64`, `"q_lora_rank": 32`, 1)), 0o644)
			return "wq_a"
		},
	}
	for name, breakIt := range cases {
		d := copyDir()
		want := breakIt(d)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic %v", name, r)
				}
			}()
			_, err := Load(d)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v does not name %q", name, err, want)
			}
		}()
	}
}
