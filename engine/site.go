package engine

// This file is the one vocabulary of sites: the named places in the
// DeepSeek-V4 forward pass where capture reads and interventions write.
// DeepSeek-V4 has no single "residual stream" (design §8, steering anchors
// §4.3): each block carries four hyper-connection streams, collapses them into
// one sublayer input twice per block, and expands the sublayer outputs back.
// Every intermediate that steering cares about passes through exactly one
// named site hook, in this order within block L:
//
//	block_in[L]   h        [4][D]  streams entering the block
//	attn_in[L]    y        [D]     hc_pre output, before attn_norm
//	attn_out[L]   a        [D]     attention output, before hc_post
//	ffn_in[L]     y        [D]     hc_pre output, before ffn_norm
//	router[L]     scores   [E]     router scores (sqrt-softplus; hash layers too);
//	                               the chosen experts are in Event.Experts
//	ffn_out[L]    f        [D]     MoE output (routed + shared), before hc_post
//	block_out[L]  h'       [4][D]  streams leaving the block
//
// and once per token after the last block:
//
//	final         [D]      hc_head output, before the final norm (Layer = -1)
//	logits        [V]      output logits (Layer = -1)
//
// Layers are 0-based block indices everywhere. block_in[L+1] is the same
// tensor as block_out[L]; both are offered so a hook can say which side of the
// boundary it means, and an edit at block_out[L] is seen by block_in[L+1].
//
// Editing (what the forward pass does with a changed Data):
//
//	block_in/block_out  the edited streams are the residual state from then on
//	attn_in/ffn_in      the edit is normalised with the sublayer input; the
//	                    streams themselves are untouched (hc_post adds only the
//	                    sublayer output)
//	attn_out/ffn_out    the edited output is mixed back into the four streams
//	router              edit Experts/Weights to change the routing directly;
//	                    edited scores re-derive the choice (top-k of score+bias,
//	                    or tid2eid in hash layers) and the weights
//	final               edits reach the final norm and the head
//	logits              edits change the returned logits and sampling
//
// An edit during prefill changes the keys, values and compressed entries
// computed from the edited tokens, and those stay in the session's cache; an
// edit during decode changes only the new token (see engine.Session).

// Site names a place in the forward pass.
type Site string

// The sites, in forward order.
const (
	SiteBlockIn  Site = "block_in"
	SiteAttnIn   Site = "attn_in"
	SiteAttnOut  Site = "attn_out"
	SiteFFNIn    Site = "ffn_in"
	SiteRouter   Site = "router"
	SiteFFNOut   Site = "ffn_out"
	SiteBlockOut Site = "block_out"
	SiteFinal    Site = "final"
	SiteLogits   Site = "logits"
)

// Sites lists every site in forward order.
var Sites = []Site{SiteBlockIn, SiteAttnIn, SiteAttnOut, SiteFFNIn, SiteRouter, SiteFFNOut, SiteBlockOut, SiteFinal, SiteLogits}

// Streams reports whether the site holds the four hyper-connection streams
// ([4][D] per token, stream-major) rather than one vector per token.
func (s Site) Streams() bool { return s == SiteBlockIn || s == SiteBlockOut }

// PerLayer reports whether the site exists once per block (false for final
// and logits, which use Layer = -1).
func (s Site) PerLayer() bool { return s != SiteFinal && s != SiteLogits }

// Phase says whether a forward call is a prefill (many tokens of a prompt) or
// one decode step of generation.
type Phase int

const (
	Prefill Phase = 1 << iota
	Decode
	// AnyPhase matches both.
	AnyPhase = Prefill | Decode
)

func (p Phase) String() string {
	switch p {
	case Prefill:
		return "prefill"
	case Decode:
		return "decode"
	case AnyPhase:
		return "any"
	}
	return "none"
}

// Event is one visit of the forward pass to a site, for one sequence of the
// batch and a contiguous run of its tokens.
//
// Data holds Rows×Width float32 values, row-major, one row per token;
// Positions[i] is the absolute position (0-based, in the sequence) of row i,
// and Tokens[i] its token id. For stream sites Width = 4·D and a row is the
// four streams one after the other. Hooks may modify Data in place: that is
// how interventions write. Data is only valid during the hook call.
type Event struct {
	Site  Site
	Layer int // 0-based block index; -1 for final and logits
	Seq   int // index of the sequence in the batch
	Phase Phase

	Positions []int
	Tokens    []int
	// End is the length of the sequence once the current call completes: the
	// whole prompt's length in a prefill, also when a long prompt runs in
	// chunks (each chunk an event of its own), and the new token's position
	// + 1 in a decode step. Positions counted from the end use it.
	End   int
	Rows  int
	Width int
	Data  []float32

	// Router only: Experts holds Rows×TopK chosen expert ids and Weights
	// their routing weights (after renormalisation and scaling).
	Experts []int
	Weights []float32
	TopK    int
}

// Row returns row i of Data.
func (e *Event) Row(i int) []float32 { return e.Data[i*e.Width : (i+1)*e.Width] }

// Hook observes (and may edit) a site. Hooks run on the goroutine of the
// forward pass, in registration order.
type Hook func(e *Event)

// Selector says which site visits a hook wants, so the forward pass can skip
// the work of building events no one reads.
type Selector struct {
	Site   Site
	Layers []int // nil: every layer (ignored for final and logits)
	Phase  Phase // 0 means AnyPhase
}

// Matches reports whether the selector wants visit (site, layer, phase).
func (s Selector) Matches(site Site, layer int, phase Phase) bool {
	if s.Site != site {
		return false
	}
	if s.Phase != 0 && s.Phase&phase == 0 {
		return false
	}
	if s.Layers == nil || !site.PerLayer() {
		return true
	}
	for _, l := range s.Layers {
		if l == layer {
			return true
		}
	}
	return false
}
