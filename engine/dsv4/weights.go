package dsv4

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/steerbook/steerbook/engine/tensor"
)

// TensorData is one stored tensor as the Source hands it over: the raw bytes
// (typically memory-mapped) in its stored dtype.
type TensorData struct {
	Name, File string
	DType      string // safetensors dtype: BF16, F16, F32, I64, I32, I8, U8, F8_E4M3, F8_E8M0
	Shape      []int
	Data       []byte
}

// NumElements is the product of Shape.
func (t *TensorData) NumElements() int {
	n := 1
	for _, s := range t.Shape {
		n *= s
	}
	return n
}

// Source supplies a checkpoint's tensors under their official names.
type Source interface {
	// Names lists every stored tensor name (a "model." prefix is stripped by
	// the loader).
	Names() []string
	// Tensor returns the named tensor or an error naming it.
	Tensor(name string) (*TensorData, error)
	// Linear builds a weight matrix of logical shape [out, in] from w and its
	// block scale (nil if none), keeping FP8/FP4 data compressed when it can.
	Linear(w, scale *TensorData, out, in int) (Linear, error)
}

// Expert is one SwiGLU expert: w1 (gate), w3 (up), w2 (down).
type Expert struct{ W1, W2, W3 Linear }

// Compressor is the gated pooling of a CSA/HCA layer (design §2.8); the
// indexer has its own with Dim = index_head_dim and Rotate set.
type Compressor struct {
	Wkv, Wgate Linear    // [c·Dim, D]
	Ape        []float32 // [Ratio][c·Dim]
	Norm       []float32 // [Dim]
	Ratio, Dim int
	Overlap    bool // ratio 4: overlapping windows, c = 2
	Rotate     bool // indexer: Hadamard + FP4 instead of FP8 on the nope dims
}

// Indexer is the Lightning indexer of a CSA layer (design §2.9).
type Indexer struct {
	WqB         Linear // [heads·headDim, q_lora]
	WeightsProj Linear // [heads, D]
	Comp        *Compressor
	Heads, Dim  int
	TopK        int
}

// Layer is one transformer block's weights.
type Layer struct {
	Index int
	Ratio int // compress ratio: 0 SWA, 4 CSA, else HCA

	AttnNorm, FFNNorm []float32
	hcAttn, hcFFN     hcParams

	WqA    Linear
	QNorm  []float32
	WqB    Linear
	Wkv    Linear
	KVNorm []float32
	WoA    []Linear // one [o_lora, heads/groups·head_dim] per group
	WoB    Linear
	Sink   []float32
	Comp   *Compressor
	Idx    *Indexer
	Rope   *Rope

	Gate    Linear    // [E, D]
	Bias    []float32 // [E], bias-routed layers
	Tid2Eid []int32   // [V·topk], hash layers
	Experts []Expert
	Shared  *Expert
}

// Model is a loaded DeepSeek-V4 checkpoint.
type Model struct {
	Cfg    Config
	Opt    Options
	Layers []*Layer

	embed   *TensorData // [V, D] stored dtype, rows decoded on demand
	embedF  []float32   // decoded table when the stored dtype is F32 or small
	Norm    []float32
	hcHead  hcParams
	Head    Linear
	swaRope *Rope
	cmpRope *Rope

	// MTP is the multi-token-prediction block (nil unless Options.MTP).
	MTP *MTP

	// Stats for Info.
	ParamsTotal, ParamsActive int64
	BytesByDType              map[string]int64
	Tensors                   int
	SkippedMTP                int
}

// Options switch the reference's quantisation simulations (design §2.14).
type Options struct {
	FP8KV       bool // FP8 round trip of the KV nope dims (later revision); default on
	FP4Indexer  bool // Hadamard + FP4 round trip of indexer q/k; default on
	SharedClamp bool // SwiGLU clamp on the shared expert (later revision); default on
	// ActQuant quant-dequantises the input rows of every FP8/FP4-stored
	// linear to FP8 in blocks of 128 (design §2.13, the GPU kernels'
	// activation quantisation); default off.
	ActQuant bool
	// MTP loads the multi-token-prediction block mtp.0 (design §2.12), used
	// only by RunMTP; by default it is recognised and skipped.
	MTP bool
}

// DefaultOptions are the design's recommendations: all simulations on.
func DefaultOptions() Options { return Options{FP8KV: true, FP4Indexer: true, SharedClamp: true} }

// loader collects tensors and reports every inconsistency with the tensor and
// file named.
type loader struct {
	src  Source
	used map[string]bool
	m    *Model
}

func (ld *loader) get(name string, shape ...int) (*TensorData, error) {
	t, err := ld.src.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("missing tensor %s: %w", name, err)
	}
	ld.used[name] = true
	if shape != nil && !slices.Equal(t.Shape, shape) {
		return nil, fmt.Errorf("tensor %s in %s: shape %v, config implies %v", name, t.File, t.Shape, shape)
	}
	ld.m.BytesByDType[t.DType] += int64(len(t.Data))
	ld.m.Tensors++
	return t, nil
}

func (ld *loader) floats(name string, shape ...int) ([]float32, error) {
	t, err := ld.get(name, shape...)
	if err != nil {
		return nil, err
	}
	ld.m.ParamsTotal += int64(t.NumElements())
	return DecodeFloat32(t)
}

// linear loads name.weight (+ name.scale when present) as [out, in].
func (ld *loader) linear(name string, out, in int) (Linear, error) {
	w, s, err := ld.weightAndScale(name, out, in)
	if err != nil {
		return nil, err
	}
	l, err := ld.src.Linear(w, s, out, in)
	if err != nil {
		return nil, fmt.Errorf("tensor %s in %s: %w", w.Name, w.File, err)
	}
	if ld.m.Opt.ActQuant && s != nil {
		l = actQuantLinear{l}
	}
	return l, nil
}

func (ld *loader) weightAndScale(name string, out, in int) (w, s *TensorData, err error) {
	w, err = ld.get(name + ".weight")
	if err != nil {
		return nil, nil, err
	}
	ld.m.ParamsTotal += int64(out) * int64(in)
	packed := w.DType == "I8" || w.DType == "U8"
	want := []int{out, in}
	if packed {
		want = []int{out, in / 2}
	}
	if !slices.Equal(w.Shape, want) {
		return nil, nil, fmt.Errorf("tensor %s in %s: shape %v (%s), config implies %v", w.Name, w.File, w.Shape, w.DType, want)
	}
	switch w.DType {
	case "BF16", "F16", "F32":
		return w, nil, nil
	case "F8_E4M3":
		s, err = ld.get(name+".scale", (out+127)/128, (in+127)/128)
	case "I8", "U8":
		s, err = ld.get(name+".scale", out, in/32)
	default:
		return nil, nil, fmt.Errorf("tensor %s in %s: unsupported dtype %s for a weight matrix", w.Name, w.File, w.DType)
	}
	if err != nil {
		return nil, nil, err
	}
	return w, s, nil
}

func (ld *loader) hc(prefix string, n, d int) (hcParams, error) {
	mix := (2 + n) * n
	if strings.HasSuffix(prefix, "hc_head") {
		mix = n
	}
	fn, err := ld.floats(prefix+"_fn", mix, n*d)
	if err != nil {
		return hcParams{}, err
	}
	base, err := ld.floats(prefix+"_base", mix)
	if err != nil {
		return hcParams{}, err
	}
	ns := 3
	if strings.HasSuffix(prefix, "hc_head") {
		ns = 1
	}
	scale, err := ld.floats(prefix+"_scale", ns)
	if err != nil {
		return hcParams{}, err
	}
	// The mixes decide the stream weights of every sublayer input; they are
	// accumulated in float64 (Dense) because one golden KV element lands
	// within 1e-6 of an FP8 rounding midpoint and float32 SIMD sums tip it
	// the other way than the reference (see golden_test.go).
	return hcParams{fn: NewDense(fn, mix, n*d), base: base, scale: scale}, nil
}

// Load builds a Model from src. Every tensor the config implies must be present
// with the implied shape; any other tensor is an error, except the MTP block
// (mtp.*), which is recognised and skipped.
func Load(cfg Config, src Source, opt Options) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := cfg.checkOptions(opt); err != nil {
		return nil, err
	}
	m := &Model{Cfg: cfg, Opt: opt, BytesByDType: map[string]int64{}}
	ld := &loader{src: src, used: map[string]bool{}, m: m}
	D, V, n := cfg.HiddenSize, cfg.VocabSize, cfg.HCMult
	var err error
	if m.embed, err = ld.get("embed.weight", V, D); err != nil {
		return nil, err
	}
	m.ParamsTotal += int64(V) * int64(D)
	if m.embed.DType != "BF16" && m.embed.DType != "F16" && m.embed.DType != "F32" {
		return nil, fmt.Errorf("tensor embed.weight in %s: unsupported dtype %s", m.embed.File, m.embed.DType)
	}
	if m.embed.DType == "F32" {
		if m.embedF, err = DecodeFloat32(m.embed); err != nil {
			return nil, err
		}
	}
	if m.Norm, err = ld.floats("norm.weight", D); err != nil {
		return nil, err
	}
	if m.hcHead, err = ld.hc("hc_head", n, D); err != nil {
		return nil, err
	}
	if m.Head, err = ld.linear("head", V, D); err != nil {
		return nil, err
	}
	rd := cfg.QKRopeHeadDim
	m.swaRope = NewRope(rd, cfg.RopeTheta, 0, 1, 0, 0)
	if rs := cfg.RopeScaling; rs != nil && rs.OriginalMaxPositionEmbeddings > 0 && rs.Factor > 0 {
		m.cmpRope = NewRope(rd, cfg.CompressRopeTheta, rs.OriginalMaxPositionEmbeddings, rs.Factor, rs.BetaFast, rs.BetaSlow)
	} else {
		m.cmpRope = NewRope(rd, cfg.CompressRopeTheta, 0, 1, 0, 0)
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		L, err := ld.layer(l)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, L)
	}
	if opt.MTP && cfg.NumNextnPredictLayers > 0 {
		if m.MTP, err = ld.mtp(); err != nil {
			return nil, err
		}
	}
	// Extra tensors.
	var extra []string
	for _, raw := range src.Names() {
		name := strings.TrimPrefix(raw, "model.")
		if ld.used[name] {
			continue
		}
		if strings.HasPrefix(name, "mtp.") {
			m.SkippedMTP++
			continue
		}
		extra = append(extra, name)
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		t, terr := src.Tensor(extra[0])
		file := "?"
		if terr == nil {
			file = t.File
		}
		return nil, fmt.Errorf("unexpected tensor %s in %s (%d extra tensors the config does not imply)", extra[0], file, len(extra))
	}
	m.ParamsActive = m.activeParams()
	return m, nil
}

func (ld *loader) layer(l int) (*Layer, error) {
	return ld.block(fmt.Sprintf("layers.%d.", l), l, ld.m.Cfg.Ratio(l))
}

// block loads one transformer block under prefix p ("layers.L." or the MTP
// block's "mtp.0.") with block index l and compress ratio.
func (ld *loader) block(p string, l, ratio int) (*Layer, error) {
	cfg := ld.m.Cfg
	D, n, H, hd := cfg.HiddenSize, cfg.HCMult, cfg.NumAttentionHeads, cfg.HeadDim
	L := &Layer{Index: l, Ratio: ratio}
	var err error
	if L.AttnNorm, err = ld.floats(p+"attn_norm.weight", D); err != nil {
		return nil, err
	}
	if L.FFNNorm, err = ld.floats(p+"ffn_norm.weight", D); err != nil {
		return nil, err
	}
	if L.hcAttn, err = ld.hc(p+"hc_attn", n, D); err != nil {
		return nil, err
	}
	if L.hcFFN, err = ld.hc(p+"hc_ffn", n, D); err != nil {
		return nil, err
	}
	a := p + "attn."
	if L.WqA, err = ld.linear(a+"wq_a", cfg.QLoraRank, D); err != nil {
		return nil, err
	}
	if L.QNorm, err = ld.floats(a+"q_norm.weight", cfg.QLoraRank); err != nil {
		return nil, err
	}
	if L.WqB, err = ld.linear(a+"wq_b", H*hd, cfg.QLoraRank); err != nil {
		return nil, err
	}
	if L.Wkv, err = ld.linear(a+"wkv", hd, D); err != nil {
		return nil, err
	}
	if L.KVNorm, err = ld.floats(a+"kv_norm.weight", hd); err != nil {
		return nil, err
	}
	if L.WoA, err = ld.groupedWoA(a+"wo_a", cfg.OGroups, cfg.OLoraRank, H*hd/cfg.OGroups); err != nil {
		return nil, err
	}
	if L.WoB, err = ld.linear(a+"wo_b", D, cfg.OGroups*cfg.OLoraRank); err != nil {
		return nil, err
	}
	if L.Sink, err = ld.floats(a+"attn_sink", H); err != nil {
		return nil, err
	}
	if L.Ratio == 0 {
		L.Rope = ld.m.swaRope
	} else {
		L.Rope = ld.m.cmpRope
		if L.Comp, err = ld.compressor(a+"compressor.", L.Ratio, hd, false); err != nil {
			return nil, err
		}
		if L.Ratio == 4 {
			ix := &Indexer{Heads: cfg.IndexNHeads, Dim: cfg.IndexHeadDim, TopK: cfg.IndexTopK}
			if ix.WqB, err = ld.linear(a+"indexer.wq_b", ix.Heads*ix.Dim, cfg.QLoraRank); err != nil {
				return nil, err
			}
			if ix.WeightsProj, err = ld.linear(a+"indexer.weights_proj", ix.Heads, D); err != nil {
				return nil, err
			}
			if ix.Comp, err = ld.compressor(a+"indexer.compressor.", 4, ix.Dim, true); err != nil {
				return nil, err
			}
			L.Idx = ix
		}
	}
	f := p + "ffn."
	E, k, I := cfg.NRoutedExperts, cfg.NumExpertsPerTok, cfg.MoeIntermediateSize
	if L.Gate, err = ld.linear(f+"gate", E, D); err != nil {
		return nil, err
	}
	if cfg.HashLayer(l) {
		t, err := ld.get(f+"gate.tid2eid", cfg.VocabSize, k)
		if err != nil {
			return nil, err
		}
		ids, err := DecodeInt64(t)
		if err != nil {
			return nil, err
		}
		L.Tid2Eid = make([]int32, len(ids))
		for i, id := range ids {
			if id < 0 || int(id) >= E {
				return nil, fmt.Errorf("tensor %s in %s: element %d = %d is not an expert id in [0,%d)", t.Name, t.File, i, id, E)
			}
			L.Tid2Eid[i] = int32(id)
		}
	} else if L.Bias, err = ld.floats(f+"gate.bias", E); err != nil {
		return nil, err
	}
	for e := 0; e < E; e++ {
		ex, err := ld.expert(fmt.Sprintf("%sexperts.%d.", f, e), D, I)
		if err != nil {
			return nil, err
		}
		L.Experts = append(L.Experts, ex)
	}
	if cfg.NSharedExperts == 1 {
		ex, err := ld.expert(f+"shared_experts.", D, I)
		if err != nil {
			return nil, err
		}
		L.Shared = &ex
	}
	return L, nil
}

func (ld *loader) expert(p string, D, I int) (Expert, error) {
	var ex Expert
	var err error
	if ex.W1, err = ld.linear(p+"w1", I, D); err != nil {
		return ex, err
	}
	if ex.W2, err = ld.linear(p+"w2", D, I); err != nil {
		return ex, err
	}
	if ex.W3, err = ld.linear(p+"w3", I, D); err != nil {
		return ex, err
	}
	return ex, nil
}

func (ld *loader) compressor(p string, ratio, dim int, rotate bool) (*Compressor, error) {
	D := ld.m.Cfg.HiddenSize
	c := &Compressor{Ratio: ratio, Dim: dim, Overlap: ratio == 4, Rotate: rotate}
	co := 1
	if c.Overlap {
		co = 2
	}
	var err error
	if c.Wkv, err = ld.linear(p+"wkv", co*dim, D); err != nil {
		return nil, err
	}
	if c.Wgate, err = ld.linear(p+"wgate", co*dim, D); err != nil {
		return nil, err
	}
	if c.Ape, err = ld.floats(p+"ape", ratio, co*dim); err != nil {
		return nil, err
	}
	if c.Norm, err = ld.floats(p+"norm.weight", dim); err != nil {
		return nil, err
	}
	return c, nil
}

// groupedWoA splits wo_a [groups·rank, in] into one Linear per group. Row
// slices of the stored bytes are handed to the Source when the format allows
// (dense dtypes; FP8 when rank is a multiple of the 128-row scale block);
// otherwise the matrix is dequantised here.
func (ld *loader) groupedWoA(name string, groups, rank, in int) ([]Linear, error) {
	w, s, err := ld.weightAndScale(name, groups*rank, in)
	if err != nil {
		return nil, err
	}
	out := make([]Linear, groups)
	bpe := map[string]int{"BF16": 2, "F16": 2, "F32": 4, "F8_E4M3": 1}[w.DType]
	if bpe > 0 && (w.DType != "F8_E4M3" || rank%128 == 0) {
		for g := range out {
			wg := *w
			wg.Shape = []int{rank, in}
			wg.Data = w.Data[g*rank*in*bpe : (g+1)*rank*in*bpe]
			var sg *TensorData
			if s != nil {
				c := *s
				sc := s.Shape[1]
				sb := len(s.Data) / s.NumElements()
				r0, r1 := g*rank/128, (g+1)*rank/128
				c.Shape = []int{r1 - r0, sc}
				c.Data = s.Data[r0*sc*sb : r1*sc*sb]
				sg = &c
			}
			if out[g], err = ld.src.Linear(&wg, sg, rank, in); err != nil {
				return nil, fmt.Errorf("tensor %s in %s: group %d: %w", w.Name, w.File, g, err)
			}
		}
		return out, nil
	}
	full, err := DequantLinear(w, s, groups*rank, in)
	if err != nil {
		return nil, err
	}
	for g := range out {
		out[g] = tensor.NewF32(full.W[g*rank*in:(g+1)*rank*in], rank, in)
	}
	return out, nil
}

// activeParams counts the parameters one token touches: everything except the
// routed experts it does not use and the embedding rows other than its own.
func (m *Model) activeParams() int64 {
	c := m.Cfg
	perExpert := int64(3) * int64(c.HiddenSize) * int64(c.MoeIntermediateSize)
	inactive := int64(c.NumHiddenLayers) * int64(c.NRoutedExperts-c.NumExpertsPerTok) * perExpert
	embedRest := int64(c.VocabSize-1) * int64(c.HiddenSize)
	return m.ParamsTotal - inactive - embedRest
}

// MTP is the multi-token-prediction block (design §2.12): a full block (SWA
// unless compress_ratios says otherwise, bias routing) fed with the main
// model's last block output and the next token's embedding, with its own
// hyper-connection head and final norm, sharing embed and head.
type MTP struct {
	Block              *Layer
	EProj, HProj       Linear
	ENorm, HNorm, Norm []float32
	hcHead             hcParams
}

func (ld *loader) mtp() (*MTP, error) {
	cfg := ld.m.Cfg
	D, n := cfg.HiddenSize, cfg.HCMult
	l := cfg.NumHiddenLayers
	ratio := 0
	if len(cfg.CompressRatios) > l {
		ratio = cfg.CompressRatios[l]
	}
	const p = "mtp.0."
	b, err := ld.block(p, l, ratio)
	if err != nil {
		return nil, err
	}
	mt := &MTP{Block: b}
	if mt.EProj, err = ld.linear(p+"e_proj", D, D); err != nil {
		return nil, err
	}
	if mt.HProj, err = ld.linear(p+"h_proj", D, D); err != nil {
		return nil, err
	}
	if mt.ENorm, err = ld.floats(p+"enorm.weight", D); err != nil {
		return nil, err
	}
	if mt.HNorm, err = ld.floats(p+"hnorm.weight", D); err != nil {
		return nil, err
	}
	if mt.Norm, err = ld.floats(p+"norm.weight", D); err != nil {
		return nil, err
	}
	if mt.hcHead, err = ld.hc(p+"hc_head", n, D); err != nil {
		return nil, err
	}
	return mt, nil
}
