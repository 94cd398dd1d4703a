package engine

import (
	"fmt"
)

// PosKind selects how Positions picks token positions.
type PosKind int

const (
	// PosAll: every position.
	PosAll PosKind = iota
	// PosLast: the last position of the sequence. In decode every new token
	// is the last one when it is computed.
	PosLast
	// PosLastK: the last K positions.
	PosLastK
	// PosExplicit: the positions in At; a negative entry counts from the end
	// (−1 is the last).
	PosExplicit
)

// Positions picks token positions of a sequence. "The end" is the length of
// the sequence once the current call completes: the prompt length in a
// prefill, the position of the new token + 1 in a decode step.
type Positions struct {
	Kind PosKind
	K    int
	At   []int
}

// AllPositions selects every position.
func AllPositions() Positions { return Positions{Kind: PosAll} }

// LastPosition selects the last position.
func LastPosition() Positions { return Positions{Kind: PosLast} }

// LastK selects the last k positions.
func LastK(k int) Positions { return Positions{Kind: PosLastK, K: k} }

// At selects explicit positions (negative: from the end).
func At(pos ...int) Positions { return Positions{Kind: PosExplicit, At: pos} }

func (p Positions) match(pos, n int) bool {
	switch p.Kind {
	case PosAll:
		return true
	case PosLast:
		return pos == n-1
	case PosLastK:
		return pos >= n-p.K
	case PosExplicit:
		for _, a := range p.At {
			if a < 0 {
				a += n
			}
			if a == pos {
				return true
			}
		}
	}
	return false
}

func (p Positions) String() string {
	switch p.Kind {
	case PosAll:
		return "all"
	case PosLast:
		return "last"
	case PosLastK:
		return fmt.Sprintf("last %d", p.K)
	case PosExplicit:
		return fmt.Sprintf("at %v", p.At)
	}
	return "?"
}

// Intervention is a declarative edit at a site: for every visit of Site in
// Layers (nil: all) during Phase (0: both), Apply is called once for each row
// whose position Positions selects, and may change e.Row(row) in place (at the
// router also e.Experts / e.Weights for that row). Interventions compose: they
// run in the order given. They live only in the call or session they are
// passed to, so running without them gives bit-identical unsteered logits.
// For the KV-cache semantics of prefill and decode edits, see Session.
type Intervention struct {
	Name      string
	Site      Site // "" means block_out
	Layers    []int
	Phase     Phase
	Positions Positions
	Apply     func(e *Event, row int)

	width int // expected row length for vector interventions (0: unchecked)
}

func (iv Intervention) site() Site {
	if iv.Site == "" {
		return SiteBlockOut
	}
	return iv.Site
}

func (iv Intervention) selector() Selector {
	return Selector{Site: iv.site(), Layers: iv.Layers, Phase: iv.Phase}
}

func (iv Intervention) String() string {
	name := iv.Name
	if name == "" {
		name = "intervention"
	}
	return fmt.Sprintf("%s at %s layers %v, positions %s, phase %s", name, iv.site(), iv.Layers, iv.Positions, iv.Phase)
}

// AddVector adds strength·v to the site's rows at the given layers (nil: all),
// at every position and in both phases (set Positions/Phase on the result to
// narrow it). The site defaults to block_out, where v is added to all four
// hyper-connection streams — the analogue of llama.cpp's control vectors for
// DeepSeek-V4. At other stream sites (block_in) v is likewise broadcast to
// the four streams; at single-vector sites (attn_in, attn_out, ffn_in,
// ffn_out, final) it is added once. len(v) must be D.
func AddVector(site Site, layers []int, v []float32, strength float32) Intervention {
	if site == "" {
		site = SiteBlockOut
	}
	vec := append([]float32(nil), v...)
	return Intervention{
		Name: fmt.Sprintf("add %d-vector ×%g", len(v), strength), Site: site, Layers: layers, Positions: AllPositions(), width: len(v),
		Apply: func(e *Event, row int) {
			r := e.Row(row)
			for off := 0; off+len(vec) <= len(r); off += len(vec) {
				seg := r[off : off+len(vec)]
				for i, x := range vec {
					seg[i] += strength * x
				}
			}
		},
	}
}

// checkInterventions validates site names, layers and vector sizes before a
// forward pass starts.
func checkInterventions(ivs []Intervention, m *Model) error {
	for _, iv := range ivs {
		s := iv.site()
		if !validSite(s) {
			return fmt.Errorf("engine: %s: unknown site %q", iv, s)
		}
		for _, l := range iv.Layers {
			if s.PerLayer() && (l < 0 || l >= m.NumLayers()) {
				return fmt.Errorf("engine: %s: layer %d out of range [0,%d)", iv, l, m.NumLayers())
			}
		}
		if iv.width != 0 {
			switch s {
			case SiteRouter, SiteLogits:
				return fmt.Errorf("engine: %s: a D-vector cannot be added at %s", iv, s)
			}
			if iv.width != m.Dim() {
				return fmt.Errorf("engine: %s: vector has %d values, the model's hidden size is %d", iv, iv.width, m.Dim())
			}
		}
	}
	return nil
}

func validSite(s Site) bool {
	for _, x := range Sites {
		if x == s {
			return true
		}
	}
	return false
}
