package interop

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/steerlib"
)

func TestNativeRoundTripIsLossless(t *testing.T) {
	v := testVector()
	v.Dirs[2][0] = 1.0 / 3 // not representable in float32
	v.Prov.Ops = []string{"*2", "normalize"}
	path := filepath.Join(t.TempDir(), "v.safetensors")
	if err := Save(path, v); err != nil {
		t.Fatal(err)
	}
	r, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r, v) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", r, v)
	}
}

func TestVLLMExport(t *testing.T) {
	v := testVector()
	path := filepath.Join(t.TempDir(), "v.json")
	if err := WriteVLLM(path, v, VLLMOptions{NumLayers: 5, Strength: steerlib.Raw(2)}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	sv := doc["steering_vectors"].(map[string]any)
	pre := sv["mhc_streams_pre_attn"].(map[string]any)
	// block_out[1] → pre-attention streams of block 2; block_out[4] (last) → final.
	got := pre["2"].([]any)
	if got[0].(float64) != 2*v.Dir(1)[0] {
		t.Errorf("block_out[1] at pre_attn 2 = %v", got[0])
	}
	if _, ok := sv["mhc_streams_final"].(map[string]any)["4"]; !ok {
		t.Errorf("last block output not at mhc_streams_final: %v", sv)
	}
	x := testVector()
	x.Prov.Site = engine.SiteAttnOut
	if _, err := ToVLLM(x, VLLMOptions{NumLayers: 5}); err == nil {
		t.Error("attn_out accepted")
	}
}
