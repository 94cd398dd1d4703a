package tokenizer

import (
	"slices"
	"testing"
)

func TestDesignVector(t *testing.T) {
	tk := deepseek(t)
	got := tk.Encode("Hello! 毕老师！1 + 1 = 2 ĠÑĤÐ²ÑĬÑĢ")
	want := []int{19923, 3, 223, 5464, 5008, 1175, 19, 940, 223, 19, 438, 223, 20, 6113, 257, 76589, 131, 100, 76032, 1628, 76589, 131, 108, 76589, 131, 98}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	for s, id := range map[string]int{"你好": 30594, "推理": 36101, "答案": 7624} {
		if g := tk.Encode(s); !slices.Equal(g, []int{id}) {
			t.Errorf("%q: got %v want [%d]", s, g, id)
		}
	}
}
