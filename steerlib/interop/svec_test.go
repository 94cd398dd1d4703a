package interop

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/steerbook/steerbook/engine"
)

func TestSVecRoundTripAndLayerConvention(t *testing.T) {
	v := testVector() // block_out layers 1, 2, 4
	path := filepath.Join(t.TempDir(), "v.svec")
	if err := WriteSVec(path, v, "deepseek_v4"); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	dirs := raw["directions"].(map[string]any)
	// block_out[L] is the input of layer L+1.
	if _, ok := dirs["5"]; !ok || len(dirs) != 3 {
		t.Errorf("layers %v, want 2, 3, 5", dirs)
	}
	r, err := ReadSVec(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Prov.Site != engine.SiteBlockIn || r.Prov.Model != "deepseek_v4" || r.Dir(5)[2] != v.Dir(4)[2] {
		t.Errorf("read back %v %v", r.Prov, r.Layers())
	}
	x := testVector()
	x.Prov.Site = engine.SiteAttnOut
	if err := WriteSVec(path, x, "m"); err == nil {
		t.Error("attn_out accepted")
	}
}
