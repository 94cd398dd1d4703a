package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"

	"github.com/steerbook/steerbook/engine/dsv4"
	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/engine/tokenizer"
)

// Model is a loaded DeepSeek-V4 checkpoint with its tokenizer (when the
// folder has one). It is safe for concurrent use: every Forward, Capture,
// Session and Generate keeps its own cache.
type Model struct {
	net  *dsv4.Model
	ck   *safetensors.Checkpoint
	tok  *tokenizer.Tokenizer
	gen  GenerationConfig
	dir  string
	hash string

	hashOnce sync.Once
}

// GenerationConfig is what generation_config.json says (design §1.4).
type GenerationConfig struct {
	BOSTokenID  *int     `json:"bos_token_id"`
	EOSTokenID  any      `json:"eos_token_id"` // int or list
	DoSample    *bool    `json:"do_sample"`
	Temperature *float32 `json:"temperature"`
	TopP        *float32 `json:"top_p"`
	TopK        *int     `json:"top_k"`
}

type loadConfig struct {
	opt     dsv4.Options
	mtp     bool
	dense   bool
	noTok   bool
	tok     *tokenizer.Tokenizer
	tokFile string
}

// LoadOption configures Load.
type LoadOption func(*loadConfig)

// WithQuantSim sets the reference's quantisation simulations (design §2.14):
// FP8 round trip of the KV nope dims, Hadamard + FP4 of the indexer, and the
// shared-expert clamp. All three are on by default.
func WithQuantSim(o dsv4.Options) LoadOption { return func(c *loadConfig) { c.opt = o } }

// WithMTP also loads the multi-token-prediction block (mtp.0), which
// next-token inference does not use; Net().RunMTP computes its draft logits.
func WithMTP() LoadOption { return func(c *loadConfig) { c.mtp = true } }

// WithDenseWeights dequantises every weight to float32 at load time instead
// of keeping FP8/FP4/BF16 compressed. Uses much more memory; it is the
// reference path the golden tests check (float64-accumulated dot products).
func WithDenseWeights() LoadOption { return func(c *loadConfig) { c.dense = true } }

// WithTokenizer uses tok instead of the folder's tokenizer.json (for a
// checkpoint without one, like the golden test model).
func WithTokenizer(tok *tokenizer.Tokenizer) LoadOption { return func(c *loadConfig) { c.tok = tok } }

// WithTokenizerFile loads the tokenizer from a tokenizer.json at path (its
// sibling tokenizer_config.json is applied when present) instead of the
// folder's.
func WithTokenizerFile(path string) LoadOption { return func(c *loadConfig) { c.tokFile = path } }

// WithoutTokenizer skips tokenizer.json even when present.
func WithoutTokenizer() LoadOption { return func(c *loadConfig) { c.noTok = true } }

// Load reads a Hugging Face-style DeepSeek-V4 folder: config.json,
// model.safetensors or model.safetensors.index.json with shards (memory-mapped),
// and tokenizer.json, tokenizer_config.json and generation_config.json when
// present. Tensors use the official names; a "model." prefix is tolerated and
// the MTP block (mtp.*) is recognised and skipped.
func Load(dir string, opts ...LoadOption) (*Model, error) {
	cfgBytes, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("engine: load %s: %w", dir, err)
	}
	ck, err := safetensors.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("engine: load %s: %w", dir, err)
	}
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) }
	m, err := build(dir, cfgBytes, ck, read, opts)
	if err != nil {
		ck.Close()
		return nil, err
	}
	return m, nil
}

// LoadFS is Load for a file system (for example an embed.FS holding the
// default model); dir is the folder inside fsys. Files are read into memory.
func LoadFS(fsys fs.FS, dir string, opts ...LoadOption) (*Model, error) {
	cfgBytes, err := fs.ReadFile(fsys, path.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("engine: load %s: %w", dir, err)
	}
	ck, err := safetensors.OpenFS(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("engine: load %s: %w", dir, err)
	}
	read := func(name string) ([]byte, error) { return fs.ReadFile(fsys, path.Join(dir, name)) }
	return build(dir, cfgBytes, ck, read, opts)
}

func build(dir string, cfgBytes []byte, ck *safetensors.Checkpoint, read func(string) ([]byte, error), opts []LoadOption) (*Model, error) {
	lc := loadConfig{opt: dsv4.DefaultOptions()}
	for _, o := range opts {
		o(&lc)
	}
	lc.opt.MTP = lc.opt.MTP || lc.mtp
	cfg, err := dsv4.ParseConfig(cfgBytes)
	if err != nil {
		return nil, fmt.Errorf("engine: %s: %w", dir, err)
	}
	net, err := dsv4.Load(cfg, &ckptSource{ck: ck, dense: lc.dense}, lc.opt)
	if err != nil {
		return nil, fmt.Errorf("engine: %s: %w", dir, err)
	}
	m := &Model{net: net, ck: ck, dir: dir}
	if b, err := read("generation_config.json"); err == nil {
		if err := json.Unmarshal(b, &m.gen); err != nil {
			return nil, fmt.Errorf("engine: %s/generation_config.json: %w", dir, err)
		}
	}
	switch {
	case lc.noTok:
	case lc.tok != nil:
		m.tok = lc.tok
	case lc.tokFile != "":
		if m.tok, err = tokenizer.Load(lc.tokFile); err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
	default:
		b, err := read("tokenizer.json")
		switch {
		case err == nil:
			if m.tok, err = tokenizer.FromJSON(b); err != nil {
				return nil, fmt.Errorf("engine: %s/tokenizer.json: %w", dir, err)
			}
			if cb, err := read("tokenizer_config.json"); err == nil {
				if err := m.tok.ApplyConfig(cb); err != nil {
					return nil, fmt.Errorf("engine: %s: %w", dir, err)
				}
			}
			if m.tok.VocabSize() > cfg.VocabSize {
				return nil, fmt.Errorf("engine: %s/tokenizer.json: %d tokens, more than vocab_size %d in config.json", dir, m.tok.VocabSize(), cfg.VocabSize)
			}
		case errors.Is(err, fs.ErrNotExist):
			// A checkpoint without a tokenizer (like the golden test model)
			// still runs on token ids.
		default:
			return nil, fmt.Errorf("engine: %s/tokenizer.json: %w", dir, err)
		}
	}
	if m.tok != nil && m.tok.VocabSize() > cfg.VocabSize {
		return nil, fmt.Errorf("engine: %s: tokenizer has %d tokens, more than vocab_size %d in config.json", dir, m.tok.VocabSize(), cfg.VocabSize)
	}
	return m, nil
}

// Close releases the memory-mapped files. The model must not be used after.
func (m *Model) Close() error {
	if m.ck == nil {
		return nil
	}
	return m.ck.Close()
}

// Config is the parsed config.json.
func (m *Model) Config() dsv4.Config { return m.net.Cfg }

// Net exposes the underlying forward pass (for tools that drive dsv4 directly).
func (m *Model) Net() *dsv4.Model { return m.net }

// Tokenizer is the model's tokenizer, or nil when the folder has none.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// NumLayers is the number of transformer blocks.
func (m *Model) NumLayers() int { return m.net.Cfg.NumHiddenLayers }

// Dim is the hidden size D (the width of one stream).
func (m *Model) Dim() int { return m.net.Cfg.HiddenSize }

// VocabSize is the number of logits per position.
func (m *Model) VocabSize() int { return m.net.Cfg.VocabSize }

// Dir is the folder the model was loaded from, or DefaultDir for the
// embedded default model.
func (m *Model) Dir() string { return m.dir }

// DefaultDir is what Dir and Info report for the model engine.Default loads
// from the binary, which has no folder on disk.
const DefaultDir = "(embedded default model)"

// Hash is a content hash of the model (SHA-256 over every tensor's name,
// dtype, shape and bytes, in name order), recorded in steering-vector
// metadata so a vector names the model it was extracted from. It is computed
// once, on first use.
func (m *Model) Hash() string {
	m.hashOnce.Do(func() {
		if m.ck == nil {
			return
		}
		h := sha256.New()
		names := m.ck.Names()
		sort.Strings(names)
		for _, n := range names {
			t, err := m.ck.Tensor(n)
			if err != nil {
				continue
			}
			fmt.Fprintf(h, "%s|%s|%v|%d\n", n, t.DType, t.Shape, len(t.Data))
			h.Write(t.Data)
		}
		m.hash = hex.EncodeToString(h.Sum(nil))
	})
	return m.hash
}

var (
	defaultMu  sync.Mutex
	defaultFS  fs.FS
	defaultDir string
	defaultM   *Model
)

// ErrNoDefaultModel is returned by Default when no default model is embedded
// in the binary.
var ErrNoDefaultModel = errors.New("engine: no default model in this build (engine/defaultmodel has no exported weights yet); load a checkpoint folder with engine.Load(dir)")

// RegisterDefault installs the default model: fsys holds its folder dir
// (config.json, model.safetensors, tokenizer.json). default.go registers the
// model embedded in engine/defaultmodel; a program may register another.
func RegisterDefault(fsys fs.FS, dir string) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	defaultFS, defaultDir, defaultM = fsys, dir, nil
}

// Default returns the embedded default model, loading it on first use.
func Default() (*Model, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultM != nil {
		return defaultM, nil
	}
	if defaultFS == nil {
		return nil, ErrNoDefaultModel
	}
	m, err := LoadFS(defaultFS, defaultDir)
	if err != nil {
		return nil, fmt.Errorf("engine: default model: %w", err)
	}
	m.dir = DefaultDir
	defaultM = m
	return m, nil
}
