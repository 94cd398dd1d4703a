package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

// VLLMHookPoint maps a steerlib site and layer to a vLLM steering hook point
// and layer. The DeepSeek-V4 hook names are those of vLLM's 2026 steering
// subsystem as summarised in the anchors (§4, §4.3); check them against the
// release you deploy. Only exact correspondences are mapped:
//
//	block_in[L]   → mhc_streams_pre_attn, layer L   (the 4 streams entering block L)
//	block_out[L]  → mhc_streams_pre_attn, layer L+1 (same tensor); the last
//	                block's output → mhc_streams_final
//	ffn_in[L]     → mlp_in, layer L                 (collapsed FFN input)
//	ffn_out[L]    → mlp_out, layer L                (MoE output before the post-mix)
//
// attn_in / attn_out have no vLLM hook and are rejected.
func VLLMHookPoint(site engine.Site, layer, numLayers int) (string, int, error) {
	switch site {
	case engine.SiteBlockIn:
		return "mhc_streams_pre_attn", layer, nil
	case engine.SiteBlockOut:
		if layer == numLayers-1 {
			return "mhc_streams_final", layer, nil
		}
		return "mhc_streams_pre_attn", layer + 1, nil
	case engine.SiteFFNIn:
		return "mlp_in", layer, nil
	case engine.SiteFFNOut:
		return "mlp_out", layer, nil
	}
	return "", 0, fmt.Errorf("interop: site %s has no exact vLLM steering hook point", site)
}

// VLLMSteering is the JSON document WriteVLLM produces: per hook point, per
// layer (decimal string keys), a float list already multiplied by the
// strength, plus Steerbook provenance.
type VLLMSteering struct {
	Vectors  map[string]map[string][]float64 `json:"steering_vectors"`
	Phase    string                          `json:"phase"` // "prefill", "decode" or "both"
	Metadata map[string]string               `json:"metadata"`
}

// VLLMOptions tunes WriteVLLM.
type VLLMOptions struct {
	NumLayers int               // the model's block count (43 for DeepSeek-V4-Flash); required for block_out
	Strength  steerlib.Strength // default Raw(1)
	Phase     string            // default "both"
}

// ToVLLM converts v to the vLLM steering document. Stream-site vectors of
// width D are broadcast to the four streams by vLLM's mHC hooks, as in
// steerlib; 4·D-wide vectors are written as the concatenated streams.
func ToVLLM(v *steerlib.Vector, opt VLLMOptions) (*VLLMSteering, error) {
	if opt.Strength == (steerlib.Strength{}) {
		opt.Strength = steerlib.Raw(1)
	}
	if opt.Phase == "" {
		opt.Phase = "both"
	}
	if v.Prov.Site == engine.SiteBlockOut && opt.NumLayers <= 0 {
		return nil, fmt.Errorf("interop: vLLM export of a block_out vector needs VLLMOptions.NumLayers")
	}
	doc := &VLLMSteering{Vectors: map[string]map[string][]float64{}, Phase: opt.Phase, Metadata: map[string]string{
		"producer": "steerbook", "name": v.Name, "site": string(v.Prov.Site), "estimator": string(v.Prov.Estimator),
		"dataset": v.Prov.Dataset, "dataset_sha256": v.Prov.DatasetHash, "model_hash": v.Prov.ModelHash,
		"position": v.Prov.Position, "vector_sha256": v.Hash(),
	}}
	for _, l := range v.Layers() {
		hp, hl, err := VLLMHookPoint(v.Prov.Site, l, opt.NumLayers)
		if err != nil {
			return nil, fmt.Errorf("interop: vector %q: %w", v.Name, err)
		}
		d := v.Dir(l)
		mult := opt.Strength.Value
		if opt.Strength.Relative {
			if v.Norms[l].Mean == 0 || norm(d) == 0 {
				return nil, fmt.Errorf("interop: vector %q layer %d: relative strength needs norm statistics", v.Name, l)
			}
			mult *= v.Norms[l].Mean / norm(d)
		}
		out := make([]float64, len(d))
		for i, x := range d {
			out[i] = x * mult
		}
		if doc.Vectors[hp] == nil {
			doc.Vectors[hp] = map[string][]float64{}
		}
		doc.Vectors[hp][strconv.Itoa(hl)] = out
	}
	return doc, nil
}

// WriteVLLM writes the vLLM steering JSON for v to path.
func WriteVLLM(path string, v *steerlib.Vector, opt VLLMOptions) error {
	doc, err := ToVLLM(v, opt)
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return fmt.Errorf("interop: vLLM JSON %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("interop: vLLM JSON: %w", err)
	}
	return nil
}

// HookPoints lists the hook points of a document, sorted.
func (d *VLLMSteering) HookPoints() []string {
	var out []string
	for k := range d.Vectors {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
