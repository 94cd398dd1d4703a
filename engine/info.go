package engine

import (
	"fmt"
	"html"
	"runtime"
	"sort"
	"strings"
)

// LayerInfo describes one block.
type LayerInfo struct {
	Index   int
	Kind    string // SWA, CSA or HCA
	Ratio   int    // compress ratio (0 for SWA)
	Routing string // "hash" (tid2eid) or "bias" (top-k of score + bias)
}

// Info summarises a loaded model.
type Info struct {
	Dir          string
	Layers       []LayerInfo
	Hidden       int
	Vocab        int
	Heads        int
	Experts      int
	TopK         int
	ParamsTotal  int64            // every loaded parameter (MTP excluded)
	ParamsActive int64            // parameters one token touches: non-expert weights, its embedding row, top-k + shared experts
	BytesByDType map[string]int64 // stored bytes of the loaded tensors, by dtype
	Tensors      int
	SkippedMTP   int
	MappedBytes  int64 // checkpoint bytes referenced (memory-mapped or read)
	HeapBytes    uint64
	Tokenizer    bool
	// Per-sequence decode cache of this engine (float32 storage, design §5.1):
	// a fixed part (windows and compressor states) plus a part growing with
	// the context (compressed entries and indexer keys).
	CacheFixedBytes    int64
	CacheBytesPerToken float64
}

// Info reports parameter counts, bytes by dtype, layer kinds and memory.
func (m *Model) Info() Info {
	c := m.net.Cfg
	in := Info{Dir: m.dir, Hidden: c.HiddenSize, Vocab: c.VocabSize, Heads: c.NumAttentionHeads, Experts: c.NRoutedExperts,
		TopK: c.NumExpertsPerTok, ParamsTotal: m.net.ParamsTotal, ParamsActive: m.net.ParamsActive,
		BytesByDType: map[string]int64{}, Tensors: m.net.Tensors, SkippedMTP: m.net.SkippedMTP, Tokenizer: m.tok != nil}
	for k, v := range m.net.BytesByDType {
		in.BytesByDType[k] = v
		in.MappedBytes += v
	}
	for l := 0; l < c.NumHiddenLayers; l++ {
		r := "bias"
		if c.HashLayer(l) {
			r = "hash"
		}
		in.Layers = append(in.Layers, LayerInfo{Index: l, Kind: c.LayerKind(l), Ratio: c.Ratio(l), Routing: r})
	}
	hd := int64(c.HeadDim)
	for l := 0; l < c.NumHiddenLayers; l++ {
		in.CacheFixedBytes += int64(c.SlidingWindow) * hd * 4
		r := c.Ratio(l)
		if r == 0 {
			continue
		}
		width, arrays := hd, int64(2) // kv, score
		if r == 4 {
			width, arrays = 2*hd, 4 // + the previous window's kv and score
		}
		in.CacheFixedBytes += arrays * int64(r) * width * 4
		in.CacheBytesPerToken += float64(hd*4) / float64(r)
		if r == 4 {
			id := int64(c.IndexHeadDim)
			in.CacheFixedBytes += 4 * 4 * 2 * id * 4
			in.CacheBytesPerToken += float64(id*4) / 4
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	in.HeapBytes = ms.HeapAlloc
	return in
}

func human(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f B", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2f M", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f K", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (in Info) dtypes() []string {
	var ks []string
	for k := range in.BytesByDType {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// layerSummary groups consecutive layers of the same kind and routing.
func (in Info) layerSummary() []string {
	var out []string
	for i := 0; i < len(in.Layers); {
		j := i
		for j+1 < len(in.Layers) && in.Layers[j+1].Kind == in.Layers[i].Kind && in.Layers[j+1].Ratio == in.Layers[i].Ratio && in.Layers[j+1].Routing == in.Layers[i].Routing {
			j++
		}
		L := in.Layers[i]
		kind := L.Kind
		if L.Ratio != 0 {
			kind = fmt.Sprintf("%s(r=%d)", L.Kind, L.Ratio)
		}
		rng := fmt.Sprint(i)
		if j > i {
			rng = fmt.Sprintf("%d–%d", i, j)
		}
		out = append(out, fmt.Sprintf("%s %s %s-routed", rng, kind, L.Routing))
		i = j + 1
	}
	return out
}

func (in Info) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DeepSeek-V4 model %s\n", in.Dir)
	fmt.Fprintf(&b, "  blocks %d, hidden %d, heads %d, vocab %d, experts %d (top-%d)\n", len(in.Layers), in.Hidden, in.Heads, in.Vocab, in.Experts, in.TopK)
	fmt.Fprintf(&b, "  parameters: %s total, %s active per token\n", human(in.ParamsTotal), human(in.ParamsActive))
	fmt.Fprintf(&b, "  layers: %s\n", strings.Join(in.layerSummary(), "; "))
	var parts []string
	for _, k := range in.dtypes() {
		parts = append(parts, fmt.Sprintf("%s %s", k, humanBytes(in.BytesByDType[k])))
	}
	fmt.Fprintf(&b, "  weights: %s (%d tensors; %d MTP tensors skipped)\n", strings.Join(parts, ", "), in.Tensors, in.SkippedMTP)
	fmt.Fprintf(&b, "  memory: %s of checkpoint mapped, Go heap %s\n", humanBytes(in.MappedBytes), humanBytes(int64(in.HeapBytes)))
	fmt.Fprintf(&b, "  decode cache per sequence: %s + %.0f B per token of context\n", humanBytes(in.CacheFixedBytes), in.CacheBytesPerToken)
	tok := "none (token ids only)"
	if in.Tokenizer {
		tok = "tokenizer.json"
	}
	fmt.Fprintf(&b, "  tokenizer: %s\n", tok)
	return b.String()
}

// MIMEBundle renders Info for notebooks (text/plain and an HTML table).
func (in Info) MIMEBundle() map[string]any {
	var b strings.Builder
	row := func(k, v string) {
		fmt.Fprintf(&b, "<tr><th style=\"text-align:left\">%s</th><td style=\"text-align:left\">%s</td></tr>", html.EscapeString(k), html.EscapeString(v))
	}
	b.WriteString("<table>")
	row("model", in.Dir)
	row("shape", fmt.Sprintf("%d blocks × hidden %d, %d heads, vocab %d", len(in.Layers), in.Hidden, in.Heads, in.Vocab))
	row("experts", fmt.Sprintf("%d routed, top-%d", in.Experts, in.TopK))
	row("parameters", fmt.Sprintf("%s total, %s active per token", human(in.ParamsTotal), human(in.ParamsActive)))
	for _, k := range in.dtypes() {
		row("bytes "+k, humanBytes(in.BytesByDType[k]))
	}
	row("memory", fmt.Sprintf("%s mapped, Go heap %s", humanBytes(in.MappedBytes), humanBytes(int64(in.HeapBytes))))
	row("decode cache", fmt.Sprintf("%s + %.0f B per token (per sequence)", humanBytes(in.CacheFixedBytes), in.CacheBytesPerToken))
	b.WriteString("</table><table><tr><th>layer</th><th>attention</th><th>ratio</th><th>routing</th></tr>")
	for _, L := range in.Layers {
		fmt.Fprintf(&b, "<tr><td>%d</td><td>%s</td><td>%d</td><td>%s</td></tr>", L.Index, L.Kind, L.Ratio, L.Routing)
	}
	b.WriteString("</table>")
	return map[string]any{"text/plain": in.String(), "text/html": b.String()}
}

// String summarises the model (its Info).
func (m *Model) String() string { return m.Info().String() }

// MIMEBundle renders the model in a notebook as its Info.
func (m *Model) MIMEBundle() map[string]any { return m.Info().MIMEBundle() }
