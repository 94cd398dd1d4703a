// Command prepare builds the training data of Steerbook's default model:
// it generates the corpus, trains the byte-level BPE tokenizer on it, writes
// the tokenizer files beside the model, and encodes the training and held-out
// documents into uint16 token files for engine/defaultmodel/train/train.py.
//
//	go run ./engine/defaultmodel/cmd/prepare -seed 1 -n 120000 -val 2000 \
//	    -vocab 1536 -data /tmp/dm-data -model engine/defaultmodel/model
//
// Outputs in -data: train.bin / val.bin (uint16 little-endian token ids,
// documents concatenated, each starting with BOS and ending with EOS),
// train.idx / val.idx (uint32 start offset of each document), val.jsonl (the
// held-out documents with their attributes and exact log-probabilities), and
// meta.json with the generator's entropy per token of the held-out documents
// (Σ −log P(doc) / Σ tokens after BOS, the figure the model's held-out loss is
// compared with; see engine/defaultmodel/corpus/README.md).
// Outputs in -model: tokenizer.json, tokenizer_config.json,
// generation_config.json.
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/steerbook/steerbook/engine/defaultmodel/corpus"
	"github.com/steerbook/steerbook/engine/tokenizer"
)

// streamHeldOut is the generator stream of the held-out split: independent of
// the training stream (0) and of the corpus package's evaluation streams.
const streamHeldOut = 0x4e1d

func main() {
	seed := flag.Uint64("seed", 1, "corpus seed")
	n := flag.Int("n", 120000, "training documents")
	nval := flag.Int("val", 2000, "held-out documents")
	vocab := flag.Int("vocab", 1536, "tokenizer vocabulary size (special + 256 bytes + merges)")
	tokDocs := flag.Int("tokdocs", 30000, "training documents used to learn the BPE merges")
	data := flag.String("data", "", "output folder for token files and meta.json")
	model := flag.String("model", "engine/defaultmodel/model", "output folder for the tokenizer files")
	ctx := flag.Int("ctx", 256, "model_max_length written to tokenizer_config.json")
	mixFlag := flag.String("mix", "", "training kind mix (corpus.ParseMix syntax; default corpus.DefaultMix); the held-out split always uses the default mix")
	tokPath := flag.String("tokenizer", "", "reuse this tokenizer.json instead of training one (for a second training stage)")
	flag.Parse()
	mix := corpus.DefaultMix
	if *mixFlag != "" {
		var err error
		if mix, err = corpus.ParseMix(*mixFlag); err != nil {
			log.Fatalf("prepare: -mix: %v", err)
		}
	}
	if *data == "" {
		log.Fatal("prepare: -data is required")
	}
	if err := run(*seed, *n, *nval, *vocab, *tokDocs, *data, *model, *ctx, mix, *tokPath); err != nil {
		log.Fatal(err)
	}
}

type split struct {
	docs    []corpus.Document
	tokens  []uint16
	starts  []uint32
	nllSum  float64 // Σ −log P(doc)
	predict int     // Σ tokens after BOS
}

func run(seed uint64, n, nval, vocab, tokDocs int, data, model string, ctx int, mix corpus.Mix, tokPath string) error {
	t0 := time.Now()
	for _, d := range []string{data, model} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	gen, err := corpus.New(corpus.Options{Seed: seed, Mix: mix})
	if err != nil {
		return fmt.Errorf("prepare: training generator: %w", err)
	}
	held, err := corpus.New(corpus.Options{Seed: seed, Stream: streamHeldOut})
	if err != nil {
		return fmt.Errorf("prepare: held-out generator: %w", err)
	}
	train := &split{docs: make([]corpus.Document, n)}
	for i := range train.docs {
		train.docs[i] = gen.Next()
	}
	val := &split{docs: make([]corpus.Document, nval)}
	for i := range val.docs {
		val.docs[i] = held.Next()
	}
	log.Printf("generated %d + %d documents in %s", n, nval, time.Since(t0).Round(time.Millisecond))

	if tokDocs > n {
		tokDocs = n
	}
	texts := make([]string, tokDocs)
	for i := range texts {
		texts[i] = train.docs[i].Text
	}
	var tk *tokenizer.Tokenizer
	if tokPath != "" {
		if tk, err = tokenizer.Load(tokPath); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	} else if tk, err = tokenizer.Train(texts, vocab, tokenizer.DefaultSpecialTokens); err != nil {
		return fmt.Errorf("prepare: training the tokenizer: %w", err)
	}
	if tk.VocabSize() > 65535 {
		return fmt.Errorf("prepare: vocabulary %d does not fit uint16 token files", tk.VocabSize())
	}
	log.Printf("tokenizer: %d tokens (%d merges) in %s", tk.VocabSize(), tk.Merges(), time.Since(t0).Round(time.Millisecond))
	if err := tk.WriteJSON(filepath.Join(model, "tokenizer.json")); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := tk.WriteConfig(filepath.Join(model, "tokenizer_config.json"), ctx); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	gc := map[string]any{"bos_token_id": tk.BOS(), "eos_token_id": tk.EOS(), "do_sample": true,
		"temperature": 1.0, "top_p": 1.0}
	if err := writeJSON(filepath.Join(model, "generation_config.json"), gc); err != nil {
		return err
	}

	for _, s := range []*split{train, val} {
		for _, d := range s.docs {
			ids := tk.Encode(d.Text)
			if len(ids) == 0 || ids[0] != tk.BOS() || ids[len(ids)-1] != tk.EOS() {
				return fmt.Errorf("prepare: document %q does not encode as BOS … EOS", d.Text)
			}
			s.starts = append(s.starts, uint32(len(s.tokens)))
			for _, id := range ids {
				s.tokens = append(s.tokens, uint16(id))
			}
			s.nllSum += -d.LogProb
			s.predict += len(ids) - 1
		}
	}
	for name, s := range map[string]*split{"train": train, "val": val} {
		if err := writeBin(filepath.Join(data, name+".bin"), s.tokens); err != nil {
			return err
		}
		if err := writeBin(filepath.Join(data, name+".idx"), s.starts); err != nil {
			return err
		}
	}
	if err := writeJSONL(filepath.Join(data, "val.jsonl"), val.docs); err != nil {
		return err
	}
	ent, err := corpus.EstimateEntropy(corpus.DefaultMix, seed, 20000, false)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	meta := map[string]any{
		"seed": seed, "mix": mix, "vocab_size": tk.VocabSize(), "bos_token_id": tk.BOS(), "eos_token_id": tk.EOS(),
		"pad_token_id": tk.Pad(),
		"train_docs":   n, "train_tokens": len(train.tokens), "val_docs": nval, "val_tokens": len(val.tokens),
		"tokens_per_doc": float64(len(val.tokens)) / float64(nval),
		// The figure the held-out loss is compared with: nats per predicted
		// token (every token after BOS, EOS included) on the held-out docs.
		"entropy_per_token":       val.nllSum / float64(val.predict),
		"entropy_per_doc":         val.nllSum / float64(nval),
		"train_entropy_per_token": train.nllSum / float64(train.predict),
		"generator_entropy":       ent,
		"seconds":                 time.Since(t0).Seconds(),
	}
	if err := writeJSON(filepath.Join(data, "meta.json"), meta); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(meta, "", " ")
	fmt.Println(string(b))
	return nil
}

func writeBin[T uint16 | uint32](path string, v []T) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	w := bufio.NewWriter(f)
	if err := binary.Write(w, binary.LittleEndian, v); err != nil {
		f.Close()
		return fmt.Errorf("prepare: writing %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("prepare: writing %s: %w", path, err)
	}
	return f.Close()
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("prepare: %s: %w", path, err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

func writeJSONL(path string, docs []corpus.Document) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, d := range docs {
		d.Spans = nil
		if err := enc.Encode(d); err != nil {
			f.Close()
			return fmt.Errorf("prepare: writing %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("prepare: writing %s: %w", path, err)
	}
	return f.Close()
}
