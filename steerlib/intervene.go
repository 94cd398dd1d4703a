package steerlib

import (
	"fmt"
	"math"
	"sync"

	"github.com/steerbook/steerbook/engine"
)

// Op is an intervention operator. All operators act on one D-wide activation
// x at a time (each of the 4 streams separately at block_in/block_out when
// the vector is D wide; a 4·D-wide per-stream vector acts on the four
// streams as one concatenated vector), with u the unit direction and s the
// strength after relative scaling and decay:
//
//	add            x ← x + s·v          (v as stored for raw strength, unit for relative)
//	add-norm       x ← (x + s·v)·|x|/|x + s·v|     (direction changes, norm kept)
//	scale-proj     x ← x + (f−1)(x·u)u  (f = Factor: 0 ablates, −1 reflects, >1 amplifies)
//	clamp          x ← x + (t − x·u)u   (t = Strength: the projection becomes t)
//	mean-ablate    x ← x + (μ − x·u)u   (μ = the other class's mean projection)
type Op string

const (
	OpAdd        Op = "add"
	OpAddNorm    Op = "add-norm"
	OpScaleProj  Op = "scale-proj"
	OpClamp      Op = "clamp"
	OpMeanAblate Op = "mean-ablate"
)

// Strength is an amount in raw activation units or relative to the typical
// activation norm at the site and layer (the mean L2 norm recorded in the
// vector's NormStats), so one relative setting transfers across layers and
// models.
type Strength struct {
	Value    float64
	Relative bool
}

// Raw is a strength in activation units (for add: a multiple of the vector
// as stored).
func Raw(x float64) Strength { return Strength{Value: x} }

// Rel is a strength as a fraction of the typical activation norm at the
// site and layer (for add: the unit direction times x·mean norm). At stream
// sites the typical norm is that of the rows the vector was read from (by
// default the mean of the four streams).
func Rel(x float64) Strength { return Strength{Value: x, Relative: true} }

// PhaseSel chooses which tokens are steered by phase.
type PhaseSel int

const (
	// Both steers prompt (prefill) and generated (decode) tokens.
	Both PhaseSel = iota
	// Prompt steers prefill tokens only.
	Prompt
	// Generated steers decode steps only.
	Generated
)

// Steer is one vector applied with one operator. The zero values of the
// selection fields mean: the vector's site, all its layers, all four streams,
// every position, both phases, no decay.
type Steer struct {
	Vector   *Vector
	Op       Op
	Strength Strength // add/add-norm: the amount; clamp: the target projection
	Factor   float64  // scale-proj: multiplier of the projection
	// TowardPositive makes mean-ablate move to the positive class's mean
	// projection instead of the negative one's.
	TowardPositive bool

	Site    engine.Site // "" = the vector's site
	Layers  []int       // nil = every layer of the vector
	Streams []int       // stream sites, width-D vectors: which streams (nil = all 4)
	Phase   PhaseSel
	// LastK > 0 limits prompt tokens to the last LastK of the prompt.
	LastK int
	// At lists explicit positions; a negative value counts from the end of
	// the prompt (−1 = last prompt token). When set, only these positions
	// are steered (in either phase).
	At []int
	// Tokens, when set, limits steering to rows whose token id is listed
	// (EasySteer's token-id allow-list).
	Tokens []int
	// Decay multiplies the strength at generated token t (0 = the first
	// generated token); nil means 1. See ExpDecay.
	Decay func(t int) float64
	// Condition gates the steering per sequence (CAST); nil = always.
	Condition *Condition
	// Conditions adds more gates, combined with Condition by Rule: "all"
	// (default, every gate must fire) or "any" (CAST's "if C1 or C2").
	Conditions []*Condition
	Rule       string
}

// gates lists every condition of the steer.
func (st *Steer) gates() []*Condition {
	var out []*Condition
	if st.Condition != nil {
		out = append(out, st.Condition)
	}
	return append(out, st.Conditions...)
}

// open reports whether the steer's gates let sequence seq through.
func (st *Steer) open(rs *runState, seq int) bool {
	gs := st.gates()
	if len(gs) == 0 {
		return true
	}
	any := st.Rule == "any"
	for _, c := range gs {
		g := rs.gate[c][seq]
		if any && g {
			return true
		}
		if !any && !g {
			return false
		}
	}
	return !any
}

// ExpDecay returns a decay schedule that halves the strength every halfLife
// generated tokens.
func ExpDecay(halfLife float64) func(int) float64 {
	return func(t int) float64 { return math.Pow(0.5, float64(t)/halfLife) }
}

// Add adds v with the given strength.
func Add(v *Vector, s Strength) Steer { return Steer{Vector: v, Op: OpAdd, Strength: s} }

// AddNormPreserving adds v and rescales each activation back to its norm.
func AddNormPreserving(v *Vector, s Strength) Steer {
	return Steer{Vector: v, Op: OpAddNorm, Strength: s}
}

// ScaleProjection multiplies the component along v by f.
func ScaleProjection(v *Vector, f float64) Steer { return Steer{Vector: v, Op: OpScaleProj, Factor: f} }

// Ablate removes the component along v (Arditi's directional ablation).
func Ablate(v *Vector) Steer { return ScaleProjection(v, 0) }

// Reflect flips the component along v.
func Reflect(v *Vector) Steer { return ScaleProjection(v, -1) }

// Clamp sets the projection on v to target.
func Clamp(v *Vector, target Strength) Steer { return Steer{Vector: v, Op: OpClamp, Strength: target} }

// MeanAblate moves the projection on v to the negative class's mean
// projection (set TowardPositive for the positive class).
func MeanAblate(v *Vector) Steer { return Steer{Vector: v, Op: OpMeanAblate} }

// Comparator decides a CAST gate.
type Comparator string

const (
	Greater Comparator = ">"
	Less    Comparator = "<"
)

// Condition is a CAST gate: at Layer of the condition vector's site, the
// prompt's activation (mean over the prompt tokens from position From, or
// the last prompt token with Last) is compared with the condition direction
// by cosine similarity; the
// steering applies to a sequence iff cosine Comparator Threshold. The
// decision is made per sequence during prefill, so sequences of one batch are
// gated independently, and it holds for that sequence's decode steps.
// Unless the steer is Generated-only, the condition layer/site must come
// before every steered site in forward order, so the decision exists when the
// first steered prompt token is reached.
type Condition struct {
	Vector     *Vector
	Layer      int
	Threshold  float64
	Comparator Comparator // default Greater
	Last       bool
	// Offset, with Last, reads the token Offset places before the last
	// prompt token instead (ExtractOptions.Offset).
	Offset int
	// From is the first prompt position of the mean (Last false): 1 skips a
	// leading BOS, as Extract's ReadMean does. A gate should read the prompt
	// the way its condition vector was read; ConditionGrid.Condition sets
	// Last, Offset and From from the activations it searched.
	From int
}

// Steering is a composition of steers applied together. Hooks builds fresh
// per-run state; not installing the hooks is exact removal.
type Steering struct {
	Steers []Steer

	mu        sync.Mutex
	decisions map[*Condition]map[int]float64 // last run's condition scores per seq
}

// Compose combines steers into one Steering; they apply in order at each
// site (so at one site an add before an ablation is ablated too).
func Compose(steers ...Steer) *Steering { return &Steering{Steers: steers} }

// forwardRank orders (site, layer) visits in forward order.
func forwardRank(site engine.Site, layer int) int {
	idx := 0
	for i, s := range engine.Sites {
		if s == site {
			idx = i
		}
	}
	if !site.PerLayer() {
		return 1<<30 + idx
	}
	return layer*len(engine.Sites) + idx
}

func (st *Steer) site() engine.Site {
	if st.Site != "" {
		return st.Site
	}
	return st.Vector.Prov.Site
}

func (st *Steer) layers() []int {
	if st.Layers != nil {
		return st.Layers
	}
	return st.Vector.Layers()
}

func (st *Steer) validate(i int) error {
	if st.Vector == nil {
		return fmt.Errorf("steerlib: steer %d has no vector", i)
	}
	if st.site() == "" {
		return fmt.Errorf("steerlib: steer %d (%s): no site (the vector has none; set Steer.Site)", i, st.Vector.Name)
	}
	if st.site() == engine.SiteRouter {
		return fmt.Errorf("steerlib: steer %d: the router site holds scores, not activations", i)
	}
	for _, l := range st.layers() {
		if st.Vector.Dirs[l] == nil {
			if !st.site().PerLayer() && st.Vector.Dirs[-1] != nil {
				continue
			}
			return fmt.Errorf("steerlib: steer %d (%s): vector has no layer %d (has %v)", i, st.Vector.Name, l, st.Vector.Layers())
		}
		if st.Strength.Relative && (st.Op == OpAdd || st.Op == OpAddNorm || st.Op == OpClamp) && st.Vector.Norms[l].Mean == 0 {
			return fmt.Errorf("steerlib: steer %d (%s): relative strength needs norm statistics for layer %d (vector made by extraction has them)", i, st.Vector.Name, l)
		}
	}
	switch st.Op {
	case OpAdd, OpAddNorm, OpScaleProj, OpClamp:
	case OpMeanAblate:
		for _, l := range st.layers() {
			if _, ok := st.Vector.ClassProj[l]; !ok {
				return fmt.Errorf("steerlib: steer %d (%s): mean-ablate needs class projections for layer %d", i, st.Vector.Name, l)
			}
		}
	default:
		return fmt.Errorf("steerlib: steer %d: unknown operator %q", i, st.Op)
	}
	if st.Rule != "" && st.Rule != "all" && st.Rule != "any" {
		return fmt.Errorf("steerlib: steer %d: rule %q is not \"all\" or \"any\"", i, st.Rule)
	}
	for _, c := range st.gates() {
		if c.Vector == nil || c.Vector.Dirs[c.Layer] == nil {
			return fmt.Errorf("steerlib: steer %d: condition vector missing or has no layer %d", i, c.Layer)
		}
		if st.Phase == Generated {
			continue // decided during prefill, before any generated token
		}
		cr := forwardRank(c.Vector.Prov.Site, c.Layer)
		for _, l := range st.layers() {
			if forwardRank(st.site(), l) <= cr {
				return fmt.Errorf("steerlib: steer %d: steered %s layer %d does not come after the condition at %s layer %d", i, st.site(), l, c.Vector.Prov.Site, c.Layer)
			}
		}
	}
	return nil
}

// Check validates the steering against a model: every vector must have
// the model's hidden size D (or 4·D at the stream sites block_in/block_out,
// V at logits) and layers inside the model. Steering with a wrong width
// would otherwise silently do nothing.
func (s *Steering) Check(m Model) error {
	for i := range s.Steers {
		st := &s.Steers[i]
		if err := st.validate(i); err != nil {
			return err
		}
		site := st.site()
		for _, l := range st.layers() {
			if site.PerLayer() && (l < 0 || l >= m.NumLayers()) {
				return fmt.Errorf("steerlib: steer %d (%s): layer %d outside the model's %d blocks", i, st.Vector.Name, l, m.NumLayers())
			}
			d := len(st.Vector.Dirs[l])
			if d == 0 {
				d = len(st.Vector.Dirs[-1])
			}
			ok := d == m.Dim() || (site.Streams() && d == 4*m.Dim()) || site == engine.SiteLogits
			if !ok {
				return fmt.Errorf("steerlib: steer %d (%s): %d-wide direction at %s layer %d, the model's hidden size is %d", i, st.Vector.Name, d, site, l, m.Dim())
			}
		}
	}
	return nil
}

// runState is the per-run state shared by a Steering's hooks.
type runState struct {
	promptLen map[int]int
	gate      map[*Condition]map[int]bool
	score     map[*Condition]map[int]float64
}

// Hooks returns the engine hooks that apply the steering, with fresh state
// (prompt lengths and CAST decisions per sequence). Install them for one
// Forward or one generation; build new ones for the next.
func (s *Steering) Hooks() ([]Hook, error) {
	for i := range s.Steers {
		if err := s.Steers[i].validate(i); err != nil {
			return nil, err
		}
	}
	rs := &runState{promptLen: map[int]int{}, gate: map[*Condition]map[int]bool{}, score: map[*Condition]map[int]float64{}}
	s.mu.Lock()
	s.decisions = rs.score
	s.mu.Unlock()
	var hooks []Hook
	// Condition hooks first: a condition at the same site as a steer must
	// decide before that steer reads the gate.
	seen := map[*Condition]bool{}
	for i := range s.Steers {
		for _, c := range s.Steers[i].gates() {
			if seen[c] {
				continue
			}
			seen[c] = true
			hooks = append(hooks, conditionHook(c, rs))
		}
	}
	// One hook per steer; each records the prompt length of its sequences
	// from prefill events (shared state), which positions and decay use.
	for i := range s.Steers {
		st := s.Steers[i]
		hooks = append(hooks, Hook{
			Sel: engine.Selector{Site: st.site(), Layers: st.layers(), Phase: engine.AnyPhase},
			Fn:  steerHook(&s.Steers[i], rs),
		})
	}
	return hooks, nil
}

// Scores returns the CAST condition scores (cosine per sequence of the
// batch) of the hooks built by the last Hooks call, for each condition.
// Helpers that build fresh hooks per sequence (Continuations) leave only
// the last sequence's scores here.
func (s *Steering) Scores() map[*Condition]map[int]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.decisions
}

// promptEnd is the length of the prompt a prefill event belongs to: e.End,
// known from the first chunk of a long prompt (each chunk is an event), so
// positions counted from the prompt's end are right in every chunk; a model
// that does not set End gives whole prompts, whose end is the last row's.
func promptEnd(e *engine.Event) int {
	end := e.End
	if e.Rows > 0 {
		end = max(end, e.Positions[e.Rows-1]+1)
	}
	return end
}

func conditionHook(c *Condition, rs *runState) Hook {
	u := append([]float64(nil), c.Vector.Dirs[c.Layer]...)
	normalize(u)
	rs.gate[c], rs.score[c] = map[int]bool{}, map[int]float64{}
	site := c.Vector.Prov.Site
	// Per sequence: the sum so far over the chunks of one prompt, and the
	// end of that prompt (a new prefill call on a session has another end
	// and starts a new sum).
	sums, ends := map[int][]float64{}, map[int]int{}
	return Hook{Sel: engine.Selector{Site: site, Layers: []int{c.Layer}, Phase: engine.Prefill}, Fn: func(e *engine.Event) {
		d := len(u)
		end := promptEnd(e)
		acc := sums[e.Seq]
		if acc == nil || ends[e.Seq] != end {
			acc = make([]float64, d)
			sums[e.Seq], ends[e.Seq] = acc, end
		}
		for i := 0; i < e.Rows; i++ {
			p := e.Positions[i]
			if (c.Last && p != end-1-c.Offset) || (!c.Last && p < c.From) {
				continue
			}
			r := reduceRow(e.Row(i), site.Streams(), d == e.Width && site.Streams(), -1)
			for j := range acc {
				acc[j] += r[j]
			}
		}
		if e.Rows == 0 || e.Positions[e.Rows-1] != end-1 {
			return // more of the prompt to come: decide at its last chunk
		}
		cs := cosine(acc, u)
		rs.score[c][e.Seq] = cs
		if c.Comparator == Less {
			rs.gate[c][e.Seq] = cs < c.Threshold
		} else {
			rs.gate[c][e.Seq] = cs > c.Threshold
		}
	}}
}

func steerHook(st *Steer, rs *runState) engine.Hook {
	site := st.site()
	// Precompute per layer: the direction as float64, its unit version and
	// the effective base amount.
	type lay struct {
		v, u   []float64
		amount float64 // add: multiplier of v; clamp/mean: target projection
	}
	per := map[int]*lay{}
	for _, l := range st.layers() {
		key := l
		if !site.PerLayer() {
			key = -1
		}
		dir := st.Vector.Dirs[l]
		if dir == nil {
			dir = st.Vector.Dirs[-1]
		}
		L := &lay{v: append([]float64(nil), dir...), u: append([]float64(nil), dir...)}
		normalize(L.u)
		switch st.Op {
		case OpAdd, OpAddNorm:
			L.amount = st.Strength.Value
			if st.Strength.Relative {
				L.v = append([]float64(nil), L.u...)
				L.amount *= st.Vector.Norms[l].Mean
			}
		case OpClamp:
			L.amount = st.Strength.Value
			if st.Strength.Relative {
				L.amount *= st.Vector.Norms[l].Mean
			}
		case OpMeanAblate:
			cp := st.Vector.ClassProj[l]
			L.amount = cp[1]
			if st.TowardPositive {
				L.amount = cp[0]
			}
		}
		per[key] = L
	}
	atSet := len(st.At) > 0
	return func(e *engine.Event) {
		layer := e.Layer
		if !site.PerLayer() {
			layer = -1
		}
		L := per[layer]
		if L == nil {
			return
		}
		if e.Phase == engine.Prefill {
			rs.promptLen[e.Seq] = max(rs.promptLen[e.Seq], promptEnd(e))
		}
		switch {
		case st.Phase == Prompt && e.Phase != engine.Prefill,
			st.Phase == Generated && e.Phase != engine.Decode:
			return
		}
		if !st.open(rs, e.Seq) {
			return
		}
		plen := rs.promptLen[e.Seq]
		d := len(L.v)
		for i := 0; i < e.Rows; i++ {
			p := e.Positions[i]
			if atSet {
				ok := false
				for _, a := range st.At {
					if a == p || (a < 0 && plen+a == p) {
						ok = true
					}
				}
				if !ok {
					continue
				}
			} else if st.LastK > 0 && e.Phase == engine.Prefill && p < plen-st.LastK {
				continue
			}
			if st.Tokens != nil && (i >= len(e.Tokens) || !containsInt(st.Tokens, e.Tokens[i])) {
				continue
			}
			w := 1.0
			if st.Decay != nil && e.Phase == engine.Decode {
				w = st.Decay(p - plen)
			}
			row := e.Row(i)
			if d == len(row) {
				applyOp(st, row, L.v, L.u, L.amount, w)
				continue
			}
			if d*4 != len(row) {
				continue // width mismatch: validated for engine sites; ignore unknown widths
			}
			for k := 0; k < 4; k++ {
				if st.Streams != nil && !containsInt(st.Streams, k) {
					continue
				}
				applyOp(st, row[k*d:(k+1)*d], L.v, L.u, L.amount, w)
			}
		}
	}
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// applyOp applies the operator to x in float64 and stores the result in x.
func applyOp(st *Steer, x []float32, v, u []float64, amount, w float64) {
	switch st.Op {
	case OpAdd:
		for j := range x {
			x[j] = float32(float64(x[j]) + w*amount*v[j])
		}
	case OpAddNorm:
		n0, n1 := 0.0, 0.0
		y := make([]float64, len(x))
		for j := range x {
			n0 += float64(x[j]) * float64(x[j])
			y[j] = float64(x[j]) + w*amount*v[j]
			n1 += y[j] * y[j]
		}
		r := 1.0
		if n1 > 0 {
			r = math.Sqrt(n0 / n1)
		}
		for j := range x {
			x[j] = float32(y[j] * r)
		}
	case OpScaleProj, OpClamp, OpMeanAblate:
		p := 0.0
		for j := range x {
			p += float64(x[j]) * u[j]
		}
		var delta float64 // change of the projection
		if st.Op == OpScaleProj {
			delta = (st.Factor - 1) * p * w
		} else {
			delta = (amount - p) * w
		}
		for j := range x {
			x[j] = float32(float64(x[j]) + delta*u[j])
		}
	}
}
