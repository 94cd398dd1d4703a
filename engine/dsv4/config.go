// Package dsv4 is the DeepSeek-V4 forward pass: configuration, weights under
// the official tensor names, and an exact float32 implementation of the
// design document ../../../shared/design/deepseek-v4.md (§2), with the
// per-sequence cache of §5 so that prefill followed by decode gives the same
// logits as one long prefill.
//
// The package knows nothing about files: a Source hands it tensors by name
// (the engine package adapts engine/safetensors and engine/tensor to it).
package dsv4

import (
	"encoding/json"
	"fmt"
	"math"
)

// RopeScaling is the YaRN block of config.json (rope_scaling). It applies only
// to compressed (CSA/HCA) layers, with CompressRopeTheta.
type RopeScaling struct {
	Type                          string  `json:"type"`
	Factor                        float64 `json:"factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
	BetaFast                      float64 `json:"beta_fast"`
	BetaSlow                      float64 `json:"beta_slow"`
}

// QuantizationConfig is config.json's quantization_config (informational: the
// loader decides per tensor from its stored dtype).
type QuantizationConfig struct {
	ActivationScheme string `json:"activation_scheme"`
	Fmt              string `json:"fmt"`
	QuantMethod      string `json:"quant_method"`
	ScaleFmt         string `json:"scale_fmt"`
	WeightBlockSize  []int  `json:"weight_block_size"`
}

// Config holds every field of a DeepSeek-V4 config.json (design §1.1). Absent
// keys take the DeepSeek-V4-Flash values.
type Config struct {
	Architectures         []string            `json:"architectures"`
	ModelType             string              `json:"model_type"`
	VocabSize             int                 `json:"vocab_size"`
	HiddenSize            int                 `json:"hidden_size"`
	NumHiddenLayers       int                 `json:"num_hidden_layers"`
	NumHashLayers         int                 `json:"num_hash_layers"`
	NumNextnPredictLayers int                 `json:"num_nextn_predict_layers"`
	NumAttentionHeads     int                 `json:"num_attention_heads"`
	NumKeyValueHeads      int                 `json:"num_key_value_heads"`
	HeadDim               int                 `json:"head_dim"`
	QKRopeHeadDim         int                 `json:"qk_rope_head_dim"`
	QLoraRank             int                 `json:"q_lora_rank"`
	OGroups               int                 `json:"o_groups"`
	OLoraRank             int                 `json:"o_lora_rank"`
	SlidingWindow         int                 `json:"sliding_window"`
	CompressRatios        []int               `json:"compress_ratios"`
	CompressRopeTheta     float64             `json:"compress_rope_theta"`
	RopeTheta             float64             `json:"rope_theta"`
	RopeScaling           *RopeScaling        `json:"rope_scaling"`
	IndexNHeads           int                 `json:"index_n_heads"`
	IndexHeadDim          int                 `json:"index_head_dim"`
	IndexTopK             int                 `json:"index_topk"`
	NRoutedExperts        int                 `json:"n_routed_experts"`
	NSharedExperts        int                 `json:"n_shared_experts"`
	NumExpertsPerTok      int                 `json:"num_experts_per_tok"`
	MoeIntermediateSize   int                 `json:"moe_intermediate_size"`
	ScoringFunc           string              `json:"scoring_func"`
	TopKMethod            string              `json:"topk_method"`
	NormTopKProb          bool                `json:"norm_topk_prob"`
	RoutedScalingFactor   float64             `json:"routed_scaling_factor"`
	SwigluLimit           float64             `json:"swiglu_limit"`
	HiddenAct             string              `json:"hidden_act"`
	HCMult                int                 `json:"hc_mult"`
	HCSinkhornIters       int                 `json:"hc_sinkhorn_iters"`
	HCEps                 float64             `json:"hc_eps"`
	RMSNormEps            float64             `json:"rms_norm_eps"`
	TieWordEmbeddings     bool                `json:"tie_word_embeddings"`
	BOSTokenID            int                 `json:"bos_token_id"`
	EOSTokenID            int                 `json:"eos_token_id"`
	MaxPositionEmbeddings int                 `json:"max_position_embeddings"`
	TorchDtype            string              `json:"torch_dtype"`
	AttentionBias         bool                `json:"attention_bias"`
	AttentionDropout      float64             `json:"attention_dropout"`
	InitializerRange      float64             `json:"initializer_range"`
	UseCache              bool                `json:"use_cache"`
	TransformersVersion   string              `json:"transformers_version"`
	ExpertDtype           string              `json:"expert_dtype"`
	QuantizationConfig    *QuantizationConfig `json:"quantization_config"`
}

// FlashConfig returns the DeepSeek-V4-Flash configuration (design §1.1); it
// is also the source of defaults for keys absent from a config.json.
func FlashConfig() Config {
	c := Config{
		Architectures: []string{"DeepseekV4ForCausalLM"}, ModelType: "deepseek_v4",
		VocabSize: 129280, HiddenSize: 4096, NumHiddenLayers: 43, NumHashLayers: 3, NumNextnPredictLayers: 1,
		NumAttentionHeads: 64, NumKeyValueHeads: 1, HeadDim: 512, QKRopeHeadDim: 64, QLoraRank: 1024,
		OGroups: 8, OLoraRank: 1024, SlidingWindow: 128, CompressRopeTheta: 160000, RopeTheta: 10000,
		RopeScaling: &RopeScaling{Type: "yarn", Factor: 16, OriginalMaxPositionEmbeddings: 65536, BetaFast: 32, BetaSlow: 1},
		IndexNHeads: 64, IndexHeadDim: 128, IndexTopK: 512,
		NRoutedExperts: 256, NSharedExperts: 1, NumExpertsPerTok: 6, MoeIntermediateSize: 2048,
		ScoringFunc: "sqrtsoftplus", TopKMethod: "noaux_tc", NormTopKProb: true, RoutedScalingFactor: 1.5,
		SwigluLimit: 10, HiddenAct: "silu", HCMult: 4, HCSinkhornIters: 20, HCEps: 1e-6, RMSNormEps: 1e-6,
		BOSTokenID: 0, EOSTokenID: 1, MaxPositionEmbeddings: 1048576, TorchDtype: "bfloat16",
		InitializerRange: 0.02, UseCache: true,
	}
	c.CompressRatios = DefaultCompressRatios(c.NumHiddenLayers, c.NumNextnPredictLayers)
	return c
}

// DefaultCompressRatios is the Flash layer pattern generalised to n layers:
// blocks 0 and 1 sliding-window only, then CSA (4) on even and HCA (128) on odd
// blocks, and sliding-window MTP blocks. Used when compress_ratios is absent.
func DefaultCompressRatios(layers, mtp int) []int {
	r := make([]int, layers+mtp)
	for i := 2; i < layers; i++ {
		if i%2 == 0 {
			r[i] = 4
		} else {
			r[i] = 128
		}
	}
	return r
}

// ParseConfig decodes config.json. Keys that are absent keep the Flash value,
// except compress_ratios, which defaults to the Flash pattern for the
// configured depth. The result is validated.
func ParseConfig(b []byte) (Config, error) {
	c := FlashConfig()
	c.CompressRatios = nil
	c.RopeScaling = nil
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(b, &probe); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("config.json: %w", err)
	}
	if _, ok := probe["rope_scaling"]; !ok {
		c.RopeScaling = FlashConfig().RopeScaling
	}
	if c.CompressRatios == nil {
		c.CompressRatios = DefaultCompressRatios(c.NumHiddenLayers, c.NumNextnPredictLayers)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Ratio returns the compress ratio of block l (0 = SWA, 4 = CSA, other = HCA).
func (c Config) Ratio(l int) int { return c.CompressRatios[l] }

// LayerKind names the attention type of block l: "SWA", "CSA" or "HCA".
func (c Config) LayerKind(l int) string {
	switch r := c.Ratio(l); {
	case r == 0:
		return "SWA"
	case r == 4:
		return "CSA"
	default:
		return "HCA"
	}
}

// HashLayer reports whether block l routes by tid2eid.
func (c Config) HashLayer(l int) bool { return l < c.NumHashLayers }

// NopeDim is head_dim − qk_rope_head_dim.
func (c Config) NopeDim() int { return c.HeadDim - c.QKRopeHeadDim }

// Validate checks the structural constraints the forward pass relies on. Each
// error names the config.json field.
func (c Config) Validate() error {
	pos := func(name string, v int) error {
		if v <= 0 {
			return fmt.Errorf("config.json: field %s = %d: must be positive", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		n string
		v int
	}{{"vocab_size", c.VocabSize}, {"hidden_size", c.HiddenSize}, {"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads}, {"head_dim", c.HeadDim}, {"qk_rope_head_dim", c.QKRopeHeadDim},
		{"q_lora_rank", c.QLoraRank}, {"o_groups", c.OGroups}, {"o_lora_rank", c.OLoraRank},
		{"sliding_window", c.SlidingWindow}, {"n_routed_experts", c.NRoutedExperts},
		{"num_experts_per_tok", c.NumExpertsPerTok}, {"moe_intermediate_size", c.MoeIntermediateSize},
		{"hc_mult", c.HCMult}, {"hc_sinkhorn_iters", c.HCSinkhornIters}} {
		if err := pos(f.n, f.v); err != nil {
			return err
		}
	}
	if c.ModelType != "" && c.ModelType != "deepseek_v4" {
		return fmt.Errorf("config.json: field model_type = %q: want deepseek_v4", c.ModelType)
	}
	if c.NumKeyValueHeads != 1 {
		return fmt.Errorf("config.json: field num_key_value_heads = %d: DeepSeek-V4 shares one K=V vector (want 1)", c.NumKeyValueHeads)
	}
	if c.QKRopeHeadDim%2 != 0 || c.QKRopeHeadDim > c.HeadDim {
		return fmt.Errorf("config.json: field qk_rope_head_dim = %d: must be even and at most head_dim %d", c.QKRopeHeadDim, c.HeadDim)
	}
	if c.NumAttentionHeads%c.OGroups != 0 {
		return fmt.Errorf("config.json: field o_groups = %d: must divide num_attention_heads %d", c.OGroups, c.NumAttentionHeads)
	}
	if c.NumExpertsPerTok > c.NRoutedExperts {
		return fmt.Errorf("config.json: field num_experts_per_tok = %d: more than n_routed_experts %d", c.NumExpertsPerTok, c.NRoutedExperts)
	}
	if c.NSharedExperts < 0 || c.NSharedExperts > 1 {
		return fmt.Errorf("config.json: field n_shared_experts = %d: DeepSeek-V4 has 0 or 1", c.NSharedExperts)
	}
	if c.NumHashLayers < 0 || c.NumHashLayers > c.NumHiddenLayers {
		return fmt.Errorf("config.json: field num_hash_layers = %d: out of range [0, %d]", c.NumHashLayers, c.NumHiddenLayers)
	}
	switch c.ScoringFunc {
	case "sqrtsoftplus", "softmax", "sigmoid":
	default:
		return fmt.Errorf("config.json: field scoring_func = %q: want sqrtsoftplus, softmax or sigmoid", c.ScoringFunc)
	}
	if c.HiddenAct != "" && c.HiddenAct != "silu" {
		return fmt.Errorf("config.json: field hidden_act = %q: only silu is defined for DeepSeek-V4", c.HiddenAct)
	}
	if n := len(c.CompressRatios); n != c.NumHiddenLayers && n != c.NumHiddenLayers+c.NumNextnPredictLayers {
		return fmt.Errorf("config.json: field compress_ratios has %d entries, want num_hidden_layers (%d) or num_hidden_layers+num_nextn_predict_layers (%d)",
			n, c.NumHiddenLayers, c.NumHiddenLayers+c.NumNextnPredictLayers)
	}
	csa := false
	for i, r := range c.CompressRatios {
		if r < 0 {
			return fmt.Errorf("config.json: field compress_ratios[%d] = %d: negative", i, r)
		}
		if r == 4 && i < c.NumHiddenLayers {
			csa = true
		}
	}
	if csa {
		if err := pos("index_n_heads", c.IndexNHeads); err != nil {
			return err
		}
		if err := pos("index_topk", c.IndexTopK); err != nil {
			return err
		}
		if c.IndexHeadDim < c.QKRopeHeadDim {
			return fmt.Errorf("config.json: field index_head_dim = %d: smaller than qk_rope_head_dim %d", c.IndexHeadDim, c.QKRopeHeadDim)
		}
	}
	if c.RMSNormEps <= 0 || math.IsNaN(c.RMSNormEps) {
		return fmt.Errorf("config.json: field rms_norm_eps = %g: must be positive", c.RMSNormEps)
	}
	if rs := c.RopeScaling; rs != nil && rs.Type != "" && rs.Type != "yarn" {
		return fmt.Errorf("config.json: field rope_scaling.type = %q: only yarn is defined", rs.Type)
	}
	return nil
}

// checkOptions validates the constraints that only the quantisation
// simulations impose (FP8 blocks of 64 on the nope dims; a power-of-two,
// multiple-of-32 indexer head for Hadamard + FP4).
func (c Config) checkOptions(o Options) error {
	if o.FP8KV && c.NopeDim()%64 != 0 {
		return fmt.Errorf("config.json: head_dim − qk_rope_head_dim = %d must be a multiple of 64 for the FP8 KV simulation (Options.FP8KV)", c.NopeDim())
	}
	hasCSA := false
	for l := 0; l < c.NumHiddenLayers; l++ {
		hasCSA = hasCSA || c.Ratio(l) == 4
	}
	if hasCSA && o.FP4Indexer {
		d := c.IndexHeadDim
		if d&(d-1) != 0 || d%32 != 0 {
			return fmt.Errorf("config.json: field index_head_dim = %d must be a power of two and a multiple of 32 for the Hadamard + FP4 indexer simulation (Options.FP4Indexer)", d)
		}
	}
	return nil
}
