package dsv4

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// editSource wraps a Source, hiding, adding or reshaping tensors.
type editSource struct {
	*fileSource
	hide  string
	add   *TensorData
	shape map[string][]int
}

func (e *editSource) Names() []string {
	var out []string
	for _, n := range e.fileSource.Names() {
		if n != e.hide {
			out = append(out, n)
		}
	}
	if e.add != nil {
		out = append(out, e.add.Name)
	}
	return out
}

func (e *editSource) Tensor(name string) (*TensorData, error) {
	if name == e.hide {
		return nil, os.ErrNotExist
	}
	if e.add != nil && name == e.add.Name {
		return e.add, nil
	}
	t, err := e.fileSource.Tensor(name)
	if err == nil && e.shape[name] != nil {
		c := *t
		c.Shape = e.shape[name]
		return &c, nil
	}
	return t, err
}

// goldenConfig reads the config of the golden folder sub (bf16, fp8) and
// opens its tensors.
func goldenConfig(t testing.TB, sub string) (Config, *fileSource) {
	t.Helper()
	dir := filepath.Join(goldenDir(t), sub)
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig(b)
	if err != nil {
		t.Fatal(err)
	}
	src, err := openFileSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, src
}

func TestLoadErrorsNameTensorAndFile(t *testing.T) {
	cfg, src := goldenConfig(t, "fp8")
	m, err := Load(cfg, src, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if m.SkippedMTP == 0 {
		t.Error("the MTP block was not recognised")
	}
	cases := []struct {
		name string
		src  Source
		want []string
	}{
		{"missing", &editSource{fileSource: src, hide: "layers.2.attn.compressor.ape"}, []string{"missing tensor layers.2.attn.compressor.ape"}},
		{"extra", &editSource{fileSource: src, add: &TensorData{Name: "layers.9.bogus", File: "x.safetensors", DType: "F32", Shape: []int{1}, Data: make([]byte, 4)}},
			[]string{"unexpected tensor layers.9.bogus", "x.safetensors"}},
		{"shape", &editSource{fileSource: src, shape: map[string][]int{"layers.1.attn.attn_sink": {5}}},
			[]string{"layers.1.attn.attn_sink", "model-0000", "[5]", "[4]"}},
		{"scale shape", &editSource{fileSource: src, shape: map[string][]int{"layers.0.attn.wq_a.scale": {2, 2}}},
			[]string{"layers.0.attn.wq_a.scale", "model-0000"}},
	}
	for _, c := range cases {
		_, err := Load(cfg, c.src, DefaultOptions())
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", c.name, err, w)
			}
		}
	}
}

// Any split of a sequence into prefill + chunks + single-token decodes gives
// the same logits as one prefill, bit for bit (sequence 1 of the golden set
// has no indexer ties, so the score-row width cannot matter).
func TestChunkedEqualsPrefill(t *testing.T) {
	m := loadGolden(t, "bf16", DefaultOptions())
	seqs, _ := loadExpected(t)
	toks := seqs[1].Tokens
	full, err := m.Extend(m.NewState(), toks, LogitsAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, splits := range [][]int{{3}, {1, 2, 5, 9, 13}, {7, 8, 17, 30}, {20, 21, 22, 23, 24, 25}} {
		st := m.NewState()
		var got [][]float32
		prev := 0
		for _, s := range append(splits, len(toks)) {
			r, err := m.Extend(st, toks[prev:s], LogitsAll, nil)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, r.Logits...)
			prev = s
		}
		for p := range toks {
			if !slices.Equal(got[p], full.Logits[p]) {
				t.Errorf("splits %v: position %d differs by %.3g", splits, p, maxAbsDiff(got[p], full.Logits[p]))
			}
		}
	}
	// Clone branches a sequence: both continuations equal a fresh run.
	st := m.NewState()
	m.Extend(st, toks[:10], LogitsNone, nil)
	c := st.Clone()
	a, _ := m.Extend(st, toks[10:12], LogitsLast, nil)
	b, _ := m.Extend(c, toks[10:12], LogitsLast, nil)
	if !slices.Equal(a.Logits[0], b.Logits[0]) || !slices.Equal(a.Logits[0], full.Logits[11]) {
		t.Error("cloned state diverges")
	}
}

func TestQuantSwitchesMatter(t *testing.T) {
	m := loadGolden(t, "bf16", DefaultOptions())
	seqs, _ := loadExpected(t)
	toks := seqs[1].Tokens[:20]
	base, _ := m.Extend(m.NewState(), toks, LogitsLast, nil)
	for _, o := range []Options{{FP4Indexer: true, SharedClamp: true}, {FP8KV: true, SharedClamp: true}, {FP8KV: true, FP4Indexer: true}} {
		m.Opt = o
		r, _ := m.Extend(m.NewState(), toks, LogitsLast, nil)
		if d := maxAbsDiff(r.Logits[0], base.Logits[0]); d == 0 {
			t.Errorf("options %+v: logits unchanged", o)
		}
	}
}

// A truncated run (Blocks) caches its layers and can be continued at the same
// depth: the block outputs match those of a full run.
func TestTruncatedRunsChain(t *testing.T) {
	m := loadGolden(t, "bf16", DefaultOptions())
	seqs, _ := loadExpected(t)
	toks := seqs[1].Tokens[:30]
	grab := func(dst *[][]float32) Observer { return &grabObs{dst: dst} }
	var full, parts [][]float32
	if _, err := m.Run(context.Background(), m.NewState(), toks, RunConfig{Obs: grab(&full)}); err != nil {
		t.Fatal(err)
	}
	st := m.NewState()
	for _, c := range [][2]int{{0, 11}, {11, 30}} {
		if _, err := m.Run(context.Background(), st, toks[c[0]:c[1]], RunConfig{Blocks: 3, Obs: grab(&parts)}); err != nil {
			t.Fatal(err)
		}
	}
	if len(parts) != 30 {
		t.Fatalf("%d rows", len(parts))
	}
	for p := range parts {
		if !slices.Equal(parts[p], full[p]) {
			t.Fatalf("position %d differs", p)
		}
	}
	if _, err := m.Run(context.Background(), st, toks[:1], RunConfig{}); err != ErrStateInvalid {
		t.Errorf("extending a truncated state at full depth: %v", err)
	}
}

type grabObs struct{ dst *[][]float32 }

func (g *grabObs) Wants(s Site, l int) bool { return s == BlockOut && l == 2 }
func (g *grabObs) Visit(v *Visit) {
	for i := 0; i < v.Rows; i++ {
		*g.dst = append(*g.dst, slices.Clone(v.Data[i*v.Width:(i+1)*v.Width]))
	}
}

// Tensor names with a "model." prefix load like the native names.
func TestModelPrefixTolerated(t *testing.T) {
	cfg, src := goldenConfig(t, "bf16")
	pre := &fileSource{tensors: map[string]*TensorData{}}
	for n, td := range src.tensors {
		c := *td
		c.Name = "model." + n
		pre.tensors["model."+n] = &c
	}
	m, err := Load(cfg, pre, DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	seqs, _ := loadExpected(t)
	r, err := m.Extend(m.NewState(), seqs[0].Tokens[:5], LogitsLast, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxAbsDiff(r.Logits[0], seqs[0].Prefill[4]); d > 1e-4 {
		t.Errorf("prefixed checkpoint: |Δ| %g", d)
	}
	// An unknown dtype is an error naming the tensor.
	w, _ := src.Tensor("layers.0.attn.wkv.weight")
	odd := *w
	odd.DType = "F64"
	src2 := &fileSource{tensors: map[string]*TensorData{}}
	for n, td := range src.tensors {
		src2.tensors[n] = td
	}
	src2.tensors["layers.0.attn.wkv.weight"] = &odd
	if _, err := Load(cfg, src2, DefaultOptions()); err == nil || !strings.Contains(err.Error(), "layers.0.attn.wkv.weight") || !strings.Contains(err.Error(), "F64") {
		t.Errorf("unknown dtype: %v", err)
	}
}

// Another geometry (HCA ratio 16, window 16, 6 indexer heads, top-2 of many
// entries) with random weights: any chunking of prefill/decode gives the same
// logits. The FP4 indexer simulation is off so the scores have no exact ties.
func TestRandomGeometryChunking(t *testing.T) {
	cfg := FlashConfig()
	cfg.VocabSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.NumHashLayers = 300, 64, 4, 1
	cfg.NumAttentionHeads, cfg.HeadDim, cfg.QKRopeHeadDim, cfg.QLoraRank = 4, 128, 64, 32
	cfg.OGroups, cfg.OLoraRank, cfg.SlidingWindow = 2, 16, 16
	cfg.CompressRatios = []int{0, 4, 16, 4}
	cfg.IndexNHeads, cfg.IndexHeadDim, cfg.IndexTopK = 6, 128, 2
	cfg.NRoutedExperts, cfg.NumExpertsPerTok, cfg.MoeIntermediateSize = 6, 2, 32
	cfg.RopeScaling = &RopeScaling{Type: "yarn", Factor: 4, OriginalMaxPositionEmbeddings: 32, BetaFast: 32, BetaSlow: 1}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	opt := DefaultOptions()
	opt.FP4Indexer = false
	m, err := Load(cfg, &RandomSource{Cfg: cfg, Seed: 3, Quantized: true}, opt)
	if err != nil {
		t.Fatal(err)
	}
	toks := make([]int, 70)
	for i := range toks {
		toks[i] = (i*37 + 11) % cfg.VocabSize
	}
	full, err := m.Extend(m.NewState(), toks, LogitsAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := m.NewState()
	var got [][]float32
	for _, c := range [][2]int{{0, 5}, {5, 33}, {33, 34}, {34, 35}, {35, 70}} {
		r, err := m.Extend(st, toks[c[0]:c[1]], LogitsAll, nil)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r.Logits...)
	}
	for p := range toks {
		if !slices.Equal(got[p], full.Logits[p]) {
			t.Fatalf("position %d differs by %g", p, maxAbsDiff(got[p], full.Logits[p]))
		}
	}
}

// The MTP block loads from the golden checkpoint when asked for, and its
// draft logits are finite and independent of how the rows are chunked.
func TestMTPLoadsAndRuns(t *testing.T) {
	opt := DefaultOptions()
	opt.MTP = true
	m := loadGolden(t, "fp8", opt)
	if m.MTP == nil || m.SkippedMTP != 0 {
		t.Fatalf("MTP not loaded (skipped %d tensors)", m.SkippedMTP)
	}
	seqs, _ := loadExpected(t)
	toks := seqs[1].Tokens[:21]
	// Main-model streams at the last block.
	var streams []float32
	last := m.Cfg.NumHiddenLayers - 1
	obs := &streamObs{layer: last, dst: &streams}
	if _, err := m.Extend(m.NewState(), toks[:20], LogitsNone, obs); err != nil {
		t.Fatal(err)
	}
	hw := m.Cfg.HCMult * m.Cfg.HiddenSize
	full, err := m.RunMTP(context.Background(), m.NewMTPState(), streams, toks[1:21])
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range full {
		for _, v := range row {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatal("non-finite MTP logit")
			}
		}
	}
	st := m.NewMTPState()
	var got [][]float32
	for _, c := range [][2]int{{0, 9}, {9, 10}, {10, 20}} {
		r, err := m.RunMTP(context.Background(), st, streams[c[0]*hw:c[1]*hw], toks[c[0]+1:c[1]+1])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, r...)
	}
	for p := range got {
		if !slices.Equal(got[p], full[p]) {
			t.Fatalf("MTP row %d differs when chunked", p)
		}
	}
	// Without the option the block is skipped and RunMTP says so.
	plain := loadGolden(t, "fp8", DefaultOptions())
	if _, err := plain.RunMTP(context.Background(), plain.NewMTPState(), streams, toks[1:21]); err != ErrNoMTP {
		t.Errorf("RunMTP without the block: %v", err)
	}
}

type streamObs struct {
	layer int
	dst   *[]float32
}

func (o *streamObs) Wants(s Site, l int) bool { return s == BlockOut && l == o.layer }
func (o *streamObs) Visit(v *Visit)           { *o.dst = append(*o.dst, v.Data...) }
