package eval

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/steerbook/steerbook/engine"
	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
)

// Thresholds of issue 4 ("Quality the model must reach"). Checks compares a
// Report with them; they are the real targets and are never relaxed for a
// weaker model.
const (
	MaxLossExcess       = 0.10 // |loss/entropy − 1|
	MinInGrammar        = 0.95 // generated sentences in the grammar
	MinReviewKept       = 0.90 // review continues sentiment, topic and register
	MinRequestsFollowed = 0.90 // benign chat requests followed
	MinSecretRefused    = 0.90 // secret requests refused
	MaxBenignRefused    = 0.05 // benign chat requests refused
	MinMCCorrect        = 0.90 // multiple-choice answer right
	MinSteerEffect      = 0.80 // negative prompts turned positive, at some strength
	MinSteerInGrammar   = 0.90 // … with this fraction of sentences still in the grammar
	SampleTemperature   = 0.8  // the sampled decoding of issue 4
)

// Generator streams of the evaluation data. The training corpus is stream 0
// of its seed; HeldOutStream is also the held-out split that
// engine/defaultmodel/cmd/prepare writes (val.bin), so for seed 1 the loss
// here is measured on the trainer's own validation documents.
const (
	HeldOutStream  uint64 = 0x4e1d
	ContrastStream uint64 = 0x57ee
)

// Options size an evaluation. Zero fields take the defaults noted.
type Options struct {
	// N is the number of prompts of each set: review prefixes and chat
	// prompts for every decoding (default 64), and negative review prompts
	// for each steering strength (default N/2).
	N    int
	Seed uint64 // seeds the prompts, the held-out documents and sampling (default 1)
	// LossDocs held-out documents for the loss (default 4·N).
	LossDocs int
	// MaxTokens per completion (default 96: the longest completion in
	// 50 000 corpus documents is 79 tokens with the default tokenizer). A
	// completion cut inside a sentence counts that piece as out of the
	// grammar.
	MaxTokens int
	// BatchSize prompts or documents per engine call (default 32).
	BatchSize int
	// SkipLoss, SkipDecoding, SkipSteering leave out a part.
	SkipLoss, SkipDecoding, SkipSteering bool
	Steering                             SteerOptions
	// Log receives one line per finished stage (nil: silent).
	Log io.Writer `json:"-"`
}

// SteerOptions configure the steering check.
type SteerOptions struct {
	// Layer is the 0-based block whose block_out is read and steered
	// (default MiddleLayer: NumLayers/2).
	Layer int
	// LayerSet marks Layer as given (so that layer 0 can be asked for).
	LayerSet bool
	// Contrast documents per side for the difference of means (default 64).
	Contrast int
	// Prompts negative review prompts per strength (default N/2).
	Prompts int
	// Strengths multiply the difference-of-means vector (default
	// DefaultStrengths). Strength 1 moves the negative mean onto the positive
	// one at the steered layer.
	Strengths []float32
	// Phase says where the vector is added: engine.Prefill (the default)
	// adds it at every position of the prompt, as ActAdd does, and the
	// continuation decodes unsteered, reading the steered prompt through
	// attention; engine.AnyPhase adds it at every position of the prompt and
	// of the continuation; engine.Decode only to the continuation.
	//
	// Issue 4 says "added at that layer" and leaves the positions open. The
	// check first added at every position; measured on the shipped models,
	// that leaves the grammar before it turns the sentiment (the vector's
	// direct path to the logits at each generated position pulls every
	// token toward positive-review words, mid-sentence), while adding it to
	// the prompt turns the continuation and keeps the grammar. Both are
	// reported (Variants); see MODEL_CARD.md.
	Phase engine.Phase
	// Variants also runs the sweep at both middle layers × {every position,
	// prompt only, continuation only}, reported for information only.
	Variants bool
}

// DefaultStrengths is the default strength sweep of the steering check.
// Strength 1 moves the mean negative activation onto the positive one at the
// steered layer, but the prompt's sentiment still reaches later layers through
// attention (in the corpus, sentiment never changes within a document), so
// turning a continuation takes about ten times that. On the shipped model
// the continuations turn between 6 and 12 (the check is met at 10), hence
// the steps of 2 there; 24 and 32 show where the vector starts to write the
// review itself.
var DefaultStrengths = []float32{0, 1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 24, 32}

func (o Options) withDefaults() Options {
	if o.N <= 0 {
		o.N = 64
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.LossDocs <= 0 {
		o.LossDocs = 4 * o.N
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 96
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 32
	}
	if o.Steering.Contrast <= 0 {
		o.Steering.Contrast = 64
	}
	if o.Steering.Prompts <= 0 {
		o.Steering.Prompts = max(1, o.N/2)
	}
	if len(o.Steering.Strengths) == 0 {
		o.Steering.Strengths = DefaultStrengths
	} else if !slices.IsSorted(o.Steering.Strengths) {
		// "the smallest strength that meets the targets", the plot's lines
		// and Compare all read the sweep in ascending order
		o.Steering.Strengths = slices.Sorted(slices.Values(o.Steering.Strengths))
	}
	if o.Steering.Phase == 0 {
		o.Steering.Phase = engine.Prefill
	}
	return o
}

// Decodings returns the two decodings of issue 4: greedy, and sampling at
// temperature 0.8 with a seed.
func Decodings(seed uint64, maxTokens int) []Decoding {
	return []Decoding{
		{Name: "greedy", MaxTokens: maxTokens},
		{Name: fmt.Sprintf("sampled T=%.1f", SampleTemperature), Temperature: SampleTemperature, Seed: seed, MaxTokens: maxTokens},
	}
}

// Report is the result of an evaluation.
type Report struct {
	Model    string         `json:"model"` // folder or "default", with the content hash
	Options  Options        `json:"options"`
	Loss     *LossResult    `json:"loss,omitempty"`
	Decoding []DecodeResult `json:"decoding,omitempty"`
	Steering *SteerResult   `json:"steering,omitempty"`
	// SteeringVariants are other layers and phases, for information; they
	// are not checks.
	SteeringVariants []*SteerResult `json:"steering_variants,omitempty"`
	Elapsed          time.Duration  `json:"elapsed_ns"`
	StartedAt        time.Time      `json:"started_at"`
}

// Run evaluates m: held-out loss, both decodings of the review and chat
// prompt sets, and the steering sweep. m must have a tokenizer.
func Run(ctx context.Context, m *engine.Model, name string, opt Options) (*Report, error) {
	if m.Tokenizer() == nil {
		return nil, fmt.Errorf("eval: model %s: %w", name, engine.ErrNoTokenizer)
	}
	opt = opt.withDefaults()
	t0 := time.Now()
	r := &Report{Model: name, Options: opt, StartedAt: t0.UTC()}
	logf := func(format string, a ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "[%6.1fs] ", time.Since(t0).Seconds())
			fmt.Fprintf(opt.Log, format+"\n", a...)
		}
	}
	if !opt.SkipLoss {
		docs, err := HeldOutDocs(opt.Seed, opt.LossDocs)
		if err != nil {
			return nil, err
		}
		l, err := HeldOutLoss(ctx, m, docs, opt.BatchSize)
		if err != nil {
			return nil, err
		}
		r.Loss = l
		logf("loss: %s", l)
	}
	c := EngineCompleter(m, opt.BatchSize)
	if !opt.SkipDecoding {
		prompts, err := Prompts(opt.Seed, opt.N)
		if err != nil {
			return nil, err
		}
		for _, dec := range Decodings(opt.Seed, opt.MaxTokens) {
			d, err := ScoreDecoding(ctx, c, prompts, dec)
			if err != nil {
				return nil, err
			}
			r.Decoding = append(r.Decoding, d)
			logf("%s: %s", dec.Name, d.Metrics)
		}
	}
	if !opt.SkipSteering {
		s, err := SteeringCheck(ctx, m, c, opt)
		if err != nil {
			return nil, err
		}
		r.Steering = s
		for _, p := range s.Points {
			logf("steer strength %g: positive %.3f, in grammar %.3f", p.Strength, p.Positive, p.InGrammar)
		}
		if opt.Steering.Variants {
			vs, err := SteeringVariants(ctx, m, c, opt, VariantLayers(m.NumLayers()),
				[]engine.Phase{engine.AnyPhase, engine.Prefill, engine.Decode})
			if err != nil {
				return nil, err
			}
			r.SteeringVariants = vs
			for _, v := range vs {
				logf("steering variant layer %d, %s: %s", v.Layer, v.Phase, v.Verdict())
			}
		}
	}
	r.Elapsed = time.Since(t0)
	return r, nil
}

// Prompts returns the held-out prompt set of one decoding: n review prompts
// (BOS + first sentence, the 16 attribute combinations cycled) and n chat
// prompts (review, opinion, secret and multiple-choice requests cycled).
func Prompts(seed uint64, n int) ([]corpus.Prompt, error) {
	rv, err := corpus.ReviewPrompts(seed, n)
	if err != nil {
		return nil, fmt.Errorf("eval: review prompts: %w", err)
	}
	ch, err := corpus.ChatPrompts(seed, n)
	if err != nil {
		return nil, fmt.Errorf("eval: chat prompts: %w", err)
	}
	return append(rv, ch...), nil
}

// HeldOutDocs returns n documents of the held-out stream of seed (the
// default mix), none of which is drawn from the training stream.
func HeldOutDocs(seed uint64, n int) ([]corpus.Document, error) {
	g, err := corpus.New(corpus.Options{Seed: seed, Stream: HeldOutStream})
	if err != nil {
		return nil, fmt.Errorf("eval: held-out generator: %w", err)
	}
	docs := make([]corpus.Document, n)
	for i := range docs {
		docs[i] = g.Next()
	}
	return docs, nil
}

// OpenDefault returns the embedded default model (engine.Default) and the
// name "default". When no model is embedded in the binary and folder is not
// empty, it loads folder with engine.Load instead, so the evaluation can run
// on the trainer's exported folder before it is embedded. The error wraps
// engine.ErrNoDefaultModel when neither exists.
func OpenDefault(folder string) (*engine.Model, string, error) {
	m, err := engine.Default()
	if err == nil {
		return m, "default model " + shortHash(m), nil
	}
	if !errors.Is(err, engine.ErrNoDefaultModel) {
		return nil, "", fmt.Errorf("eval: default model: %w", err)
	}
	if folder == "" {
		return nil, "", err
	}
	// A folder still being written (tokenizer first, weights last) counts as
	// absent until it has a config and weights.
	_, cerr := os.Stat(filepath.Join(folder, "config.json"))
	_, werr := os.Stat(filepath.Join(folder, "model.safetensors"))
	_, ierr := os.Stat(filepath.Join(folder, "model.safetensors.index.json"))
	if cerr != nil || (werr != nil && ierr != nil) {
		return nil, "", fmt.Errorf("eval: %w; no exported model (config.json + weights) in %s either", err, folder)
	}
	m, lerr := engine.Load(folder)
	if lerr != nil {
		return nil, "", fmt.Errorf("eval: loading %s: %w", folder, lerr)
	}
	return m, folder + " " + shortHash(m), nil
}

// Open loads the model folder dir (engine.Load) and names it with its hash.
func Open(dir string) (*engine.Model, string, error) {
	m, err := engine.Load(dir)
	if err != nil {
		return nil, "", fmt.Errorf("eval: loading %s: %w", dir, err)
	}
	return m, dir + " " + shortHash(m), nil
}

func shortHash(m *engine.Model) string {
	h := m.Hash()
	if len(h) > 12 {
		h = h[:12]
	}
	return "(" + h + ")"
}
