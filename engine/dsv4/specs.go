package dsv4

import "fmt"

// TensorKind says how a checkpoint tensor is used.
type TensorKind int

const (
	// KindMatrix is a weight matrix [out, in] (stored BF16/F32, FP8 + scale, or
	// packed FP4 + scale for routed experts).
	KindMatrix TensorKind = iota
	// KindVector is a norm weight or similar (BF16 or F32).
	KindVector
	// KindF32 is a tensor the reference keeps in float32 (hc_*, attn_sink,
	// ape, gate.bias).
	KindF32
	// KindIndex is tid2eid (I64).
	KindIndex
)

// TensorSpec is one tensor a config implies, with its logical shape (a matrix
// is [out, in] before any packing).
type TensorSpec struct {
	Name   string
	Shape  []int
	Kind   TensorKind
	Expert bool // a routed expert matrix (FP4 in the release)
}

// TensorSpecs lists every tensor of the main model (no MTP block) that Load
// expects for this config, in checkpoint order.
func (c Config) TensorSpecs() []TensorSpec {
	D, V, n := c.HiddenSize, c.VocabSize, c.HCMult
	H, hd := c.NumAttentionHeads, c.HeadDim
	var out []TensorSpec
	add := func(name string, k TensorKind, shape ...int) {
		out = append(out, TensorSpec{Name: name, Shape: shape, Kind: k})
	}
	add("embed.weight", KindMatrix, V, D)
	add("head.weight", KindMatrix, V, D)
	add("norm.weight", KindVector, D)
	add("hc_head_fn", KindF32, n, n*D)
	add("hc_head_base", KindF32, n)
	add("hc_head_scale", KindF32, 1)
	mix := (2 + n) * n
	for l := 0; l < c.NumHiddenLayers; l++ {
		p := fmt.Sprintf("layers.%d.", l)
		add(p+"attn_norm.weight", KindVector, D)
		add(p+"ffn_norm.weight", KindVector, D)
		for _, s := range []string{"attn", "ffn"} {
			add(p+"hc_"+s+"_fn", KindF32, mix, n*D)
			add(p+"hc_"+s+"_base", KindF32, mix)
			add(p+"hc_"+s+"_scale", KindF32, 3)
		}
		a := p + "attn."
		add(a+"wq_a.weight", KindMatrix, c.QLoraRank, D)
		add(a+"q_norm.weight", KindVector, c.QLoraRank)
		add(a+"wq_b.weight", KindMatrix, H*hd, c.QLoraRank)
		add(a+"wkv.weight", KindMatrix, hd, D)
		add(a+"kv_norm.weight", KindVector, hd)
		add(a+"wo_a.weight", KindMatrix, c.OGroups*c.OLoraRank, H*hd/c.OGroups)
		add(a+"wo_b.weight", KindMatrix, D, c.OGroups*c.OLoraRank)
		add(a+"attn_sink", KindF32, H)
		if r := c.Ratio(l); r != 0 {
			co := 1
			if r == 4 {
				co = 2
			}
			add(a+"compressor.wkv.weight", KindMatrix, co*hd, D)
			add(a+"compressor.wgate.weight", KindMatrix, co*hd, D)
			add(a+"compressor.ape", KindF32, r, co*hd)
			add(a+"compressor.norm.weight", KindVector, hd)
			if r == 4 {
				id := c.IndexHeadDim
				add(a+"indexer.wq_b.weight", KindMatrix, c.IndexNHeads*id, c.QLoraRank)
				add(a+"indexer.weights_proj.weight", KindMatrix, c.IndexNHeads, D)
				add(a+"indexer.compressor.wkv.weight", KindMatrix, 2*id, D)
				add(a+"indexer.compressor.wgate.weight", KindMatrix, 2*id, D)
				add(a+"indexer.compressor.ape", KindF32, 4, 2*id)
				add(a+"indexer.compressor.norm.weight", KindVector, id)
			}
		}
		f := p + "ffn."
		E, I := c.NRoutedExperts, c.MoeIntermediateSize
		add(f+"gate.weight", KindMatrix, E, D)
		if c.HashLayer(l) {
			add(f+"gate.tid2eid", KindIndex, V, c.NumExpertsPerTok)
		} else {
			add(f+"gate.bias", KindF32, E)
		}
		for e := 0; e < E; e++ {
			q := fmt.Sprintf("%sexperts.%d.", f, e)
			for _, w := range []struct {
				n       string
				out, in int
			}{{"w1", I, D}, {"w2", D, I}, {"w3", I, D}} {
				out = append(out, TensorSpec{Name: q + w.n + ".weight", Shape: []int{w.out, w.in}, Kind: KindMatrix, Expert: true})
			}
		}
		if c.NSharedExperts == 1 {
			add(f+"shared_experts.w1.weight", KindMatrix, I, D)
			add(f+"shared_experts.w2.weight", KindMatrix, D, I)
			add(f+"shared_experts.w3.weight", KindMatrix, I, D)
		}
	}
	return out
}
