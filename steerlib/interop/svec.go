package interop

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

// IBM activation-steering (CAST) stores vectors as ".svec" JSON:
// {"model_type": …, "directions": {"L": [floats]}, "explained_variances":
// {"L": float}}. Its MalleableModel adds direction L to the input of decoder
// layer L, which is steerlib's block_in[L] (= block_out[L−1]).

type svecFile struct {
	ModelType          string               `json:"model_type"`
	Directions         map[string][]float64 `json:"directions"`
	ExplainedVariances map[string]float64   `json:"explained_variances"`
}

// WriteSVec writes v as an IBM .svec file for modelType (e.g.
// "deepseek_v4"). block_in[L] is written as layer L and block_out[L] as
// layer L+1 (the next layer's input); other sites are refused. IBM stores an
// explained variance per layer; steerlib has none for most estimators, so
// 1.0 is written (IBM's own placeholder for mean_diff).
func WriteSVec(path string, v *steerlib.Vector, modelType string) error {
	f := svecFile{ModelType: modelType, Directions: map[string][]float64{}, ExplainedVariances: map[string]float64{}}
	for _, l := range v.Layers() {
		var n int
		switch v.Prov.Site {
		case engine.SiteBlockIn:
			n = l
		case engine.SiteBlockOut:
			n = l + 1
		default:
			return fmt.Errorf("interop: vector %q was read at %s; IBM .svec vectors are added to a layer's input (block_in) — re-extract there", v.Name, v.Prov.Site)
		}
		if v.Prov.Site.Streams() && v.Prov.Streams == "all" {
			return fmt.Errorf("interop: vector %q has per-stream directions; .svec holds one hidden-size vector per layer", v.Name)
		}
		k := strconv.Itoa(n)
		f.Directions[k] = append([]float64(nil), v.Dir(l)...)
		f.ExplainedVariances[k] = 1
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("interop: svec %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("interop: svec: %w", err)
	}
	return nil
}

// ReadSVec reads an IBM .svec file as a vector at block_in (layer L of the
// file is block_in[L]); the model type goes to Prov.Model.
func ReadSVec(path string) (*steerlib.Vector, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("interop: read svec: %w", err)
	}
	var f svecFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("interop: svec %s: %w", path, err)
	}
	if len(f.Directions) == 0 {
		return nil, fmt.Errorf("interop: svec %s: no directions", path)
	}
	v := &steerlib.Vector{Name: "svec", Dirs: map[int][]float64{}, Norms: map[int]steerlib.NormStats{}, ClassProj: map[int][2]float64{}}
	v.Prov.Site, v.Prov.Model, v.Prov.Estimator = engine.SiteBlockIn, f.ModelType, "imported"
	for k, d := range f.Directions {
		l, err := strconv.Atoi(k)
		if err != nil || l < 0 {
			return nil, fmt.Errorf("interop: svec %s: layer key %q is not a non-negative integer", path, k)
		}
		v.Dirs[l] = d
	}
	return v, nil
}
