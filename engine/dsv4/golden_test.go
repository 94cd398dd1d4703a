package dsv4

import (
	"math"
	"testing"
)

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// The golden logits come from DeepSeek's own inference/model.py in float32
// (see ../shared/golden/dsv4-tiny/README.md). prefill.S[t] is the last-position
// logits of a separate prefill of tokens[:t+1], so the test does the same: the
// indexer's tie-breaking depends on the width of the score matrix of the call
// (topk.go), and one long prefill can break a tie differently from the prefix
// prefill the reference ran.
//
// Why the tolerance can be tight everywhere: the indexer's FP4-rounded scores
// tie exactly (often at 0), and the engine reproduces torch.topk's choice
// among ties; and dot products and norms accumulate in float64 so that
// values that land within a few ulps of an FP8 rounding midpoint round the way
// the reference's (more accurate than naive float32) reductions do. Before
// both measures, sequence 0 differed by up to 1.5 from position 32 on (ties
// at 0 in layer 1's indexer) and sequence 1 by up to 0.44 from position 11 on
// (one KV element at 10.499992 vs the midpoint 10.5 in FP8 units).
func checkPrefill(t *testing.T, sub string) {
	m := loadGolden(t, sub, DefaultOptions())
	seqs, _ := loadExpected(t)
	var total, within4 int
	worst := 0.0
	for si, s := range seqs {
		for p := range s.Tokens {
			r, err := m.Extend(m.NewState(), s.Tokens[:p+1], LogitsLast, nil)
			if err != nil {
				t.Fatal(err)
			}
			d := maxAbsDiff(r.Logits[0], s.Prefill[p])
			worst = math.Max(worst, d)
			total++
			if d <= 1e-4 {
				within4++
			}
			if d > 1e-3 {
				t.Errorf("%s seq %d pos %d: max|Δlogit| %.3g > 1e-3", sub, si, p, d)
			}
		}
	}
	frac := float64(within4) / float64(total)
	t.Logf("%s prefill: %d positions, max|Δ| %.2e, %.1f%% within 1e-4, 100%% within 1e-3 required", sub, total, worst, 100*frac)
	if frac < 0.95 {
		t.Errorf("%s prefill: only %.1f%% of positions within 1e-4 (want ≥ 95%%)", sub, 100*frac)
	}
}

func TestGoldenPrefillBF16(t *testing.T) { checkPrefill(t, "bf16") }
func TestGoldenPrefillFP8(t *testing.T)  { checkPrefill(t, "fp8") }

// One long prefill must agree with the prefix prefills except where an
// indexer tie is broken differently because of the score-row width.
func TestGoldenOneLongPrefill(t *testing.T) {
	m := loadGolden(t, "bf16", DefaultOptions())
	seqs, _ := loadExpected(t)
	for si, s := range seqs {
		r, err := m.Extend(m.NewState(), s.Tokens, LogitsAll, nil)
		if err != nil {
			t.Fatal(err)
		}
		var off []int
		for p := range s.Tokens {
			if maxAbsDiff(r.Logits[p], s.Prefill[p]) > 1e-3 {
				off = append(off, p)
			}
		}
		t.Logf("seq %d: one long prefill differs from the prefix prefills (> 1e-3) at %v", si, off)
		if len(off) == 0 {
			continue
		}
		// The first differing position must have a top-k tie at or before it
		// in one of the two computations (the reference's prefix prefill is
		// reproduced by the engine's prefix prefill).
		ties := 0
		onIndexerTie = func() { ties++ }
		m.Extend(m.NewState(), s.Tokens[:off[0]+1], LogitsNone, nil)
		onIndexerTie = nil
		if ties == 0 {
			t.Errorf("seq %d: position %d differs with no indexer tie to explain it", si, off[0])
		}
	}
}

// Prefill 13 tokens, then decode one token at a time. The reference's decode
// logits disagree with its own prefill at positions 35–38 and 47 of sequence 0
// (indexer ties broken over a score row of a different width); the engine
// follows the same rule, so it must match the reference's decode everywhere.
// Separately, the engine's decode must match its own prefix prefill at every
// position where no tie decides the outcome.
func checkDecode(t *testing.T, sub string) {
	m := loadGolden(t, sub, DefaultOptions())
	seqs, from := loadExpected(t)
	var total, ok3 int
	worst := 0.0
	for si, s := range seqs {
		st := m.NewState()
		if _, err := m.Extend(st, s.Tokens[:from], LogitsNone, nil); err != nil {
			t.Fatal(err)
		}
		for k := range s.Decode {
			p := from + k
			r, err := m.Extend(st, s.Tokens[p:p+1], LogitsLast, nil)
			if err != nil {
				t.Fatal(err)
			}
			dDec := maxAbsDiff(r.Logits[0], s.Decode[k])
			dPre := maxAbsDiff(r.Logits[0], s.Prefill[p])
			worst = math.Max(worst, dDec)
			total++
			if math.Min(dDec, dPre) <= 1e-3 {
				ok3++
			}
			if dDec > 1e-3 {
				t.Errorf("%s seq %d pos %d: decode differs from the reference's decode by %.3g (from its prefill by %.3g)", sub, si, p, dDec, dPre)
			}
			if dPre > 1e-3 {
				// The engine's decode may differ from its own prefill only
				// where an indexer tie was broken (in either computation).
				ties := 0
				onIndexerTie = func() { ties++ }
				st2 := m.NewState()
				m.Extend(st2, s.Tokens[:from], LogitsNone, nil)
				for q := from; q <= p; q++ {
					m.Extend(st2, s.Tokens[q:q+1], LogitsNone, nil)
				}
				m.Extend(m.NewState(), s.Tokens[:p+1], LogitsNone, nil)
				onIndexerTie = nil
				if ties == 0 {
					t.Errorf("%s seq %d pos %d: decode differs from the engine's prefill by %.3g with no indexer tie involved", sub, si, p, dPre)
				}
			}
			if refGap := maxAbsDiff(s.Decode[k], s.Prefill[p]); dPre > 1e-3 && refGap <= 1e-3 {
				t.Errorf("%s seq %d pos %d: decode differs from the engine's prefill by %.3g where the reference's decode and prefill agree", sub, si, p, dPre)
			} else if dPre > 1e-3 {
				t.Logf("%s seq %d pos %d: decode differs from the prefill logits by %.3g (the reference's own decode differs from its prefill by %.3g: indexer tie)",
					sub, si, p, dPre, maxAbsDiff(s.Decode[k], s.Prefill[p]))
			}
		}
	}
	t.Logf("%s decode: %d positions, max|Δ| vs reference decode %.2e, %d within 1e-3 of decode or prefill", sub, total, worst, ok3)
	if float64(ok3) < 0.95*float64(total) {
		t.Errorf("%s decode: %d/%d within 1e-3", sub, ok3, total)
	}
}

func TestGoldenDecodeBF16(t *testing.T) { checkDecode(t, "bf16") }
func TestGoldenDecodeFP8(t *testing.T)  { checkDecode(t, "fp8") }
