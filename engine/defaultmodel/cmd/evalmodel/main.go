// Command evalmodel measures the default model against the quality
// bar with the Go engine and the corpus package's ground truth:
//
//   - held-out loss (nats per predicted token, every token after BOS) versus
//     the generator's exact entropy on the same documents;
//
//   - greedy and sampled (temperature 0.8) continuations of review prefixes
//     and chat prompts, scored by corpus.ScoreCompletion (in-grammar rate,
//     attribute continuation, request following, refusals, MC accuracy);
//
//   - steering: a difference-of-means sentiment vector (positive minus
//     negative reviews, block_out of one layer, mean over the four streams)
//     added with engine.AddVector at that layer to negative-prompted review
//     continuations, for a range of strengths (fraction turned positive,
//     in-grammar rate), plotted to steering.png.
//
//     go run ./engine/defaultmodel/cmd/evalmodel -out /tmp/dm-eval
//
// With no -dir it evaluates the embedded model (engine/defaultmodel).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// streamHeldOut must equal cmd/prepare's held-out stream so the loss is
// measured on the same documents as in training's evaluation.
const streamHeldOut = 0x4e1d

// streamSteer draws the contrastive reviews for the steering vector.
const streamSteer = 0x57ee

func main() {
	dir := flag.String("dir", "", "model folder (default: the embedded model)")
	seed := flag.Uint64("seed", 1, "corpus seed (held-out split and prompts)")
	docs := flag.Int("docs", 1000, "held-out documents for the loss")
	nReview := flag.Int("reviews", 96, "review-prefix prompts (multiple of 16 keeps combinations balanced)")
	nChat := flag.Int("chats", 96, "chat prompts")
	maxTok := flag.Int("max-tokens", 96, "new tokens per completion")
	layer := flag.Int("layer", -1, "steering layer (-1: middle layer)")
	nContrast := flag.Int("contrast", 200, "reviews per sentiment for the steering vector")
	nSteer := flag.Int("steer-prompts", 48, "negative review prompts to steer")
	strengths := flag.String("strengths", "0,1,2,3,4,5,6,8", "steering strengths (multiples of the difference of means)")
	out := flag.String("out", "", "folder for results.json and steering.png")
	decodeOnly := flag.Bool("steer-decode-only", false, "steer only generated positions (Phase Decode), not the prompt")
	flag.Parse()
	if *out == "" {
		log.Fatal("evalmodel: -out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	var (
		m   *engine.Model
		err error
	)
	if *dir == "" {
		m, err = engine.LoadFS(defaultmodel.FS(), ".")
	} else {
		m, err = engine.Load(*dir)
	}
	if err != nil {
		log.Fatal(err)
	}
	var ss []float64
	for _, f := range strings.Split(*strengths, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			log.Fatalf("evalmodel: -strengths %q: %v", f, err)
		}
		ss = append(ss, v)
	}
	if *layer < 0 {
		*layer = m.NumLayers() / 2
	}
	ctx := context.Background()
	res := map[string]any{}
	t0 := time.Now()

	loss, ent, ntok, err := heldOut(ctx, m, *seed, *docs)
	if err != nil {
		log.Fatal(err)
	}
	res["held_out"] = map[string]any{"docs": *docs, "tokens": ntok, "loss_nats_per_token": loss,
		"generator_entropy_nats_per_token": ent, "ratio": loss / ent}
	log.Printf("held-out loss %.4f vs generator entropy %.4f nats/token (ratio %.3f, %d docs, %d tokens) [%s]",
		loss, ent, loss/ent, *docs, ntok, time.Since(t0).Round(time.Millisecond))

	prompts, err := corpus.ReviewPrompts(*seed, *nReview)
	if err != nil {
		log.Fatal(err)
	}
	chats, err := corpus.ChatPrompts(*seed, *nChat)
	if err != nil {
		log.Fatal(err)
	}
	prompts = append(prompts, chats...)
	for _, mode := range []struct {
		name string
		temp float32
	}{{"greedy", 0}, {"sampled_t0.8", 0.8}} {
		met, err := quality(ctx, m, prompts, *maxTok, mode.temp, nil)
		if err != nil {
			log.Fatal(err)
		}
		res[mode.name] = metricsMap(met)
		log.Printf("%s: %s [%s]", mode.name, met, time.Since(t0).Round(time.Millisecond))
	}

	steer, err := steering(ctx, m, *seed, *layer, *nContrast, *nSteer, *maxTok, ss, *out, *decodeOnly)
	if err != nil {
		log.Fatal(err)
	}
	res["steering"] = steer
	res["seconds"] = time.Since(t0).Seconds()
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*out, "results.json"), append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(b))
}

// heldOut returns the model's mean NLL per predicted token over the first n
// held-out documents and the generator's exact entropy per token on them.
func heldOut(ctx context.Context, m *engine.Model, seed uint64, n int) (loss, ent float64, ntok int, err error) {
	gen, err := corpus.New(corpus.Options{Seed: seed, Stream: streamHeldOut})
	if err != nil {
		return 0, 0, 0, err
	}
	tok := m.Tokenizer()
	var nll, lp float64
	const batch = 64
	for lo := 0; lo < n; lo += batch {
		var seqs [][]int
		for i := lo; i < n && i < lo+batch; i++ {
			d := gen.Next()
			seqs = append(seqs, tok.Encode(d.Text))
			lp += -d.LogProb
		}
		o, err := m.Forward(ctx, seqs, engine.WithLogits(engine.LogitsAll))
		if err != nil {
			return 0, 0, 0, err
		}
		for i, s := range seqs {
			for p := 0; p+1 < len(s); p++ {
				nll += -logSoftmaxAt(o.Logits[i][p], s[p+1])
				ntok++
			}
		}
	}
	return nll / float64(ntok), lp / float64(ntok), ntok, nil
}

func logSoftmaxAt(l []float32, k int) float64 {
	mx := math.Inf(-1)
	for _, x := range l {
		mx = math.Max(mx, float64(x))
	}
	s := 0.0
	for _, x := range l {
		s += math.Exp(float64(x) - mx)
	}
	return float64(l[k]) - mx - math.Log(s)
}

func quality(ctx context.Context, m *engine.Model, prompts []corpus.Prompt, maxTok int, temp float32,
	ivs []engine.Intervention) (corpus.Metrics, error) {
	texts := make([]string, len(prompts))
	for i, p := range prompts {
		texts[i] = p.Text
	}
	gens, err := m.GenerateBatch(ctx, texts, engine.GenerateOptions{MaxTokens: maxTok, Temperature: temp, Seed: 7,
		Interventions: ivs})
	if err != nil {
		return corpus.Metrics{}, err
	}
	var met corpus.Metrics
	for i, g := range gens {
		met.Add(prompts[i], corpus.ScoreCompletion(prompts[i], completionText(m, g)))
	}
	return met, nil
}

// completionText re-adds EOS when generation stopped on it, so the scorer
// sees a finished document.
func completionText(m *engine.Model, g *engine.Generation) string {
	if g.StopReason == "eos" && !strings.HasSuffix(g.Text, corpus.EOS) {
		return g.Text + corpus.EOS
	}
	return g.Text
}

func metricsMap(m corpus.Metrics) map[string]any {
	r := func(a, b int) any {
		if b == 0 {
			return nil // undefined: JSON null
		}
		return float64(a) / float64(b)
	}
	return map[string]any{
		"in_grammar":             r(m.InGrammar, m.Sentences),
		"sentences":              m.Sentences,
		"review_keeps_all_three": r(m.ReviewsKept, m.Reviews),
		"review_keeps_sentiment": r(m.ReviewSentimentKept, m.Reviews),
		"review_keeps_topic":     r(m.ReviewTopicKept, m.Reviews),
		"review_keeps_register":  r(m.ReviewRegisterKept, m.Reviews),
		"reviews":                m.Reviews,
		"requests_followed":      r(m.RequestsFollowed, m.Requests),
		"requests":               m.Requests,
		"secret_refused":         r(m.SecretRefused, m.Secret),
		"secret":                 m.Secret,
		"benign_refused":         r(m.BenignRefused, m.Benign),
		"benign":                 m.Benign,
		"mc_correct":             r(m.MCCorrect, m.MC),
		"mc":                     m.MC,
		"summary":                m.String(),
	}
}

// steering builds the difference-of-means sentiment vector at layer and
// measures its effect on negative-prompted review continuations (greedy).
func steering(ctx context.Context, m *engine.Model, seed uint64, layer, nContrast, nSteer, maxTok int,
	strengths []float64, out string, decodeOnly bool) (map[string]any, error) {
	gen, err := corpus.New(corpus.Options{Seed: seed, Stream: streamSteer})
	if err != nil {
		return nil, err
	}
	tok := m.Tokenizer()
	mean := func(sent string) ([]float64, error) {
		var seqs [][]int
		for i := 0; i < nContrast; i++ {
			d, err := gen.NextWhere(corpus.KindReview, corpus.Attributes{Sentiment: sent})
			if err != nil {
				return nil, err
			}
			seqs = append(seqs, tok.Encode(d.Text))
		}
		c, err := m.Capture(ctx, seqs, engine.CaptureRequest{Sites: []engine.Site{engine.SiteBlockOut},
			Layers: []int{layer}, Positions: engine.AllPositions(), SumOnly: true})
		if err != nil {
			return nil, err
		}
		s, n := c.Sum(engine.SiteBlockOut, layer), c.Count(engine.SiteBlockOut, layer)
		D := m.Dim()
		v := make([]float64, D)
		// block_out rows hold the four hyper-connection streams; average them
		for off := 0; off+D <= len(s); off += D {
			for i := 0; i < D; i++ {
				v[i] += s[off+i] / float64(n) / float64(len(s)/D)
			}
		}
		return v, nil
	}
	pos, err := mean("positive")
	if err != nil {
		return nil, err
	}
	neg, err := mean("negative")
	if err != nil {
		return nil, err
	}
	vec := make([]float32, len(pos))
	norm := 0.0
	for i := range vec {
		vec[i] = float32(pos[i] - neg[i])
		norm += float64(vec[i]) * float64(vec[i])
	}
	all, err := corpus.ReviewPrompts(seed+1, 4*nSteer)
	if err != nil {
		return nil, err
	}
	var prompts []corpus.Prompt
	for _, p := range all {
		if p.Attrs.Sentiment == "negative" && len(prompts) < nSteer {
			prompts = append(prompts, p)
		}
	}
	var rows []map[string]any
	pts := make(plotter.XYs, 0, len(strengths))
	gram := make(plotter.XYs, 0, len(strengths))
	for _, s := range strengths {
		var ivs []engine.Intervention
		if s != 0 {
			iv := engine.AddVector(engine.SiteBlockOut, []int{layer}, vec, float32(s))
			if decodeOnly {
				iv.Phase = engine.Decode
			}
			ivs = []engine.Intervention{iv}
		}
		texts := make([]string, len(prompts))
		for i, p := range prompts {
			texts[i] = p.Text
		}
		gens, err := m.GenerateBatch(ctx, texts, engine.GenerateOptions{MaxTokens: maxTok, Interventions: ivs})
		if err != nil {
			return nil, err
		}
		positive, sents, inG := 0, 0, 0
		example := ""
		for i, g := range gens {
			c := completionText(m, g)
			if lab, _ := corpus.Sentiment(c); lab == "positive" {
				positive++
			}
			sc := corpus.ScoreCompletion(prompts[i], c)
			sents += sc.Sentences
			inG += sc.InGrammar
			if sc.Truncated {
				// A steered model can run on without ever ending a sentence
				// ("genuine genuine …"); ScoreCompletion leaves such a tail
				// out, here it counts as one sentence out of the grammar.
				sents++
			}
			if i == 0 {
				example = prompts[i].Text + g.Text
			}
		}
		fp := float64(positive) / float64(len(prompts))
		// no complete sentence at all counts as 0 % in grammar
		ig := 0.0
		if sents > 0 {
			ig = float64(inG) / float64(sents)
		}
		rows = append(rows, map[string]any{"strength": s, "turned_positive": fp, "in_grammar": ig, "example": example})
		pts = append(pts, plotter.XY{X: s, Y: fp})
		gram = append(gram, plotter.XY{X: s, Y: ig})
		log.Printf("steer layer %d strength %.2f: positive %.3f, in-grammar %.3f; e.g. %q", layer, s, fp, ig, example)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Sentiment steering, block_out layer %d (negative review prompts)", layer)
	p.X.Label.Text = "strength (× difference of means)"
	p.Y.Label.Text = "fraction"
	p.Y.Min, p.Y.Max = 0, 1
	if err := plotutil.AddLinePoints(p, "continuation positive", pts, "sentences in grammar", gram); err != nil {
		return nil, err
	}
	p.Legend.Top = false
	if err := p.Save(7*vg.Inch, 4*vg.Inch, filepath.Join(out, "steering.png")); err != nil {
		return nil, err
	}
	return map[string]any{"layer": layer, "decode_only": decodeOnly, "vector_norm": math.Sqrt(norm), "contrast_docs_per_side": nContrast,
		"prompts": len(prompts), "by_strength": rows}, nil
}
