package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// naiveMerge is the textbook BPE loop, written independently of mergeBytes:
// rescan the whole word for the lowest-rank pair each round, leftmost on ties.
func naiveMerge(t *Tokenizer, piece string) []int32 {
	syms := make([]int32, len(piece))
	for i := range len(piece) {
		syms[i] = t.byteIDs[piece[i]]
	}
	for {
		best, at := int32(-1), -1
		var nid int32
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.merges[pairKey(syms[i], syms[i+1])]; ok && (best < 0 || m.rank < best) {
				best, at, nid = m.rank, i, m.newID
			}
		}
		if at < 0 {
			return syms
		}
		syms = append(syms[:at+1], syms[at+2:]...)
		syms[at] = nid
	}
}

func TestMergeMatchesNaive(t *testing.T) {
	tk := deepseek(t)
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range readGolden(t, "testdata/deepseek_v3_golden.jsonl") {
		pretokenize(c.Text, func(p string) {
			if got, want := tk.mergeBytes(p), naiveMerge(tk, p); !slices.Equal(got, want) {
				t.Errorf("%q: heap %v naive %v", p, got, want)
			}
		})
	}
	// Long runs of repeated characters stress equal-rank ties.
	for i := 0; i < 200; i++ {
		p := strings.Repeat(string(rune("a0 =-\n😀é"[rng.IntN(8)])), 1+rng.IntN(40))
		if !utf8.ValidString(p) {
			continue
		}
		if got, want := tk.mergeBytes(p), naiveMerge(tk, p); !slices.Equal(got, want) {
			t.Errorf("%q: heap %v naive %v", p, got, want)
		}
	}
}

// naiveTrain recounts every pair from scratch at each step; Train must pick
// the same merges with its incremental counts.
func naiveTrain(texts []string, merges int) [][2]string {
	counts := map[string]int{}
	for _, s := range texts {
		pretokenize(s, func(p string) { counts[p]++ })
	}
	type word struct {
		syms []string
		n    int
	}
	var words []word
	for w, n := range counts {
		var syms []string
		for i := range len(w) {
			syms = append(syms, byteStr[w[i]])
		}
		words = append(words, word{syms, n})
	}
	// Ids in Train: 256 byte tokens in byte order, then new tokens in order
	// of creation; ties go to the smaller (left id, right id).
	id := map[string]int{}
	for b := range 256 {
		id[byteStr[b]] = b
	}
	var out [][2]string
	for len(out) < merges {
		pc := map[[2]string]int{}
		for _, w := range words {
			for i := 0; i+1 < len(w.syms); i++ {
				pc[[2]string{w.syms[i], w.syms[i+1]}] += w.n
			}
		}
		var best [2]string
		bc := 0
		for p, c := range pc {
			if c > bc || (c == bc && (id[p[0]] < id[best[0]] || (id[p[0]] == id[best[0]] && id[p[1]] < id[best[1]]))) {
				best, bc = p, c
			}
		}
		if bc == 0 {
			break
		}
		out = append(out, best)
		m := best[0] + best[1]
		if _, ok := id[m]; !ok {
			id[m] = len(id)
		}
		for wi := range words {
			w := words[wi].syms
			var nw []string
			for i := 0; i < len(w); i++ {
				if i+1 < len(w) && w[i] == best[0] && w[i+1] == best[1] {
					nw = append(nw, m)
					i++
				} else {
					nw = append(nw, w[i])
				}
			}
			words[wi].syms = nw
		}
	}
	return out
}

func TestTrainMatchesNaive(t *testing.T) {
	texts := trainCorpus()[:60]
	tk, err := Train(texts, 256+150, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := naiveTrain(texts, tk.Merges())
	if len(want) != tk.Merges() {
		t.Fatalf("naive made %d merges, Train %d", len(want), tk.Merges())
	}
	for i, m := range tk.mergeList {
		got := [2]string{tk.Token(int(m[0])), tk.Token(int(m[1]))}
		if got != want[i] {
			t.Fatalf("merge %d: Train %q, naive %q", i, got, want[i])
		}
	}
}

func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"Hello! 毕老师！1 + 1 = 2", "  \n\t x", "👨‍👩‍👧 e\u0301", "<｜User｜>hi</think>", "a\xffb"} {
		f.Add(s)
	}
	tk := deepseek(f)
	f.Fuzz(func(t *testing.T, s string) {
		var sb strings.Builder
		pretokenize(s, func(p string) {
			if p == "" {
				t.Fatalf("empty piece in %q", s)
			}
			sb.WriteString(p)
		})
		if sb.String() != s {
			t.Fatalf("pieces of %q concatenate to %q", s, sb.String())
		}
		ids := tk.Encode(s)
		if utf8.ValidString(s) {
			if d := tk.Decode(ids); d != s {
				t.Fatalf("Decode(Encode(%q)) = %q", s, d)
			}
		}
		d := tk.NewDecoder()
		var st strings.Builder
		for _, id := range ids {
			st.WriteString(d.Add(id))
		}
		st.WriteString(d.Flush())
		if st.String() != tk.Decode(ids) {
			t.Fatalf("stream %q != Decode %q", st.String(), tk.Decode(ids))
		}
	})
}
