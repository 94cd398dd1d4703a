package dsv4

import "math"

// route computes the router scores of n rows (design §2.10 steps 1–4):
// logits = xn·gateᵀ, score = sqrt(softplus(logit)) (or the configured
// function), selection by tid2eid in hash layers or top-k of score + bias,
// weights = selected scores renormalised and scaled. scores is [n][E];
// experts and weights are [n][k].
func (m *Model) route(L *Layer, xn []float32, tokens []int, n int) (scores []float32, experts []int, weights []float32) {
	cfg := m.Cfg
	E, k := cfg.NRoutedExperts, cfg.NumExpertsPerTok
	scores = make([]float32, n*E)
	L.Gate.MatMul(scores, xn, n)
	for i := 0; i < n; i++ {
		row := scores[i*E : (i+1)*E]
		switch cfg.ScoringFunc {
		case "softmax":
			mx := float32(math.Inf(-1))
			for _, v := range row {
				mx = max(mx, v)
			}
			var s float32
			for j, v := range row {
				row[j] = float32(math.Exp(float64(v - mx)))
				s += row[j]
			}
			for j := range row {
				row[j] /= s
			}
		case "sigmoid":
			for j, v := range row {
				row[j] = sigmoid(v)
			}
		default:
			for j, v := range row {
				row[j] = float32(math.Sqrt(float64(softplus(v))))
			}
		}
	}
	experts = make([]int, n*k)
	weights = make([]float32, n*k)
	m.selectExperts(L, scores, tokens, n, experts, weights)
	return scores, experts, weights
}

// selectExperts fills experts and weights from scores (also used again when a
// router hook edited the scores).
func (m *Model) selectExperts(L *Layer, scores []float32, tokens []int, n int, experts []int, weights []float32) {
	cfg := m.Cfg
	E, k := cfg.NRoutedExperts, cfg.NumExpertsPerTok
	buf := make([]scored, E)
	for i := 0; i < n; i++ {
		row := scores[i*E : (i+1)*E]
		sel := experts[i*k : (i+1)*k]
		if L.Tid2Eid != nil {
			for j := range sel {
				sel[j] = int(L.Tid2Eid[tokens[i]*k+j])
			}
		} else {
			// top-k of score + bias, with the reference's choice among exact
			// ties (topk.go), listed best first.
			for j := range buf {
				buf[j] = scored{v: row[j], i: j}
				if L.Bias != nil {
					buf[j].v += L.Bias[j]
				}
			}
			topKRef(buf, k)
			top := buf[:k]
			for a := 1; a < k; a++ { // insertion sort: k is small
				for b := a; b > 0 && (top[b].v > top[b-1].v || (top[b].v == top[b-1].v && top[b].i < top[b-1].i)); b-- {
					top[b], top[b-1] = top[b-1], top[b]
				}
			}
			for j := range sel {
				sel[j] = top[j].i
			}
		}
		w := weights[i*k : (i+1)*k]
		var s float32
		for j, e := range sel {
			w[j] = row[e]
			s += w[j]
		}
		rs := float32(cfg.RoutedScalingFactor)
		for j := range w {
			if cfg.ScoringFunc != "softmax" {
				w[j] /= s
			}
			w[j] *= rs
		}
	}
}

// softplus matches PyTorch: x for x > 20, else log1p(exp(x)).
func softplus(x float32) float32 {
	if x > 20 {
		return x
	}
	return float32(math.Log1p(math.Exp(float64(x))))
}

// moe computes the routed experts and the shared expert for n rows given the
// routing (design §2.10 steps 5–7), writing y [n][D]. Expert outputs are
// accumulated in increasing expert id, then the shared expert is added.
func (m *Model) moe(L *Layer, xn []float32, n int, experts []int, weights []float32, y []float32) {
	cfg := m.Cfg
	D, I, k := cfg.HiddenSize, cfg.MoeIntermediateSize, cfg.NumExpertsPerTok
	limit := float32(cfg.SwigluLimit)
	for i := range y[:n*D] {
		y[i] = 0
	}
	// Group rows by expert.
	rowsOf := make([][]int, cfg.NRoutedExperts)
	wOf := make([][]float32, cfg.NRoutedExperts)
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			e := experts[i*k+j]
			rowsOf[e] = append(rowsOf[e], i)
			wOf[e] = append(wOf[e], weights[i*k+j])
		}
	}
	xg := make([]float32, n*k*D)
	g := make([]float32, n*k*I)
	u := make([]float32, n*k*I)
	og := make([]float32, n*k*D)
	for e, rows := range rowsOf {
		if len(rows) == 0 {
			continue
		}
		r := len(rows)
		for a, i := range rows {
			copy(xg[a*D:(a+1)*D], xn[i*D:(i+1)*D])
		}
		m.expert(&L.Experts[e], xg, r, wOf[e], limit, g, u, og)
		for a, i := range rows {
			yr := y[i*D : (i+1)*D]
			or := og[a*D : (a+1)*D]
			for c := range yr {
				yr[c] += or[c]
			}
		}
	}
	if L.Shared != nil {
		sl := float32(0)
		if m.Opt.SharedClamp {
			sl = limit
		}
		m.expert(L.Shared, xn, n, nil, sl, g, u, og)
		for i := range y[:n*D] {
			y[i] += og[i]
		}
	}
}

// expert runs SwiGLU with clamp for r rows: g = x·w1ᵀ, u = x·w3ᵀ,
// u = clamp(u, ±λ), g = min(g, λ), act = silu(g)·u·w (routing weight applied
// before w2), out = act·w2ᵀ. limit 0 disables the clamp.
func (m *Model) expert(ex *Expert, x []float32, r int, w []float32, limit float32, g, u, out []float32) {
	I := ex.W1.Out()
	ex.W1.MatMul(g[:r*I], x, r)
	ex.W3.MatMul(u[:r*I], x, r)
	for a := 0; a < r; a++ {
		gr, ur := g[a*I:(a+1)*I], u[a*I:(a+1)*I]
		for c := range gr {
			gv, uv := gr[c], ur[c]
			if limit > 0 {
				uv = min(max(uv, -limit), limit)
				gv = min(gv, limit)
			}
			act := gv / (1 + float32(math.Exp(-float64(gv)))) * uv
			if w != nil {
				act *= w[a]
			}
			gr[c] = act
		}
	}
	ex.W2.MatMul(out[:r*ex.W2.Out()], g[:r*I], r)
}
