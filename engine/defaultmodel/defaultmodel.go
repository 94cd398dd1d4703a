// Package defaultmodel embeds Steerbook's default model: a small model with
// the DeepSeek-V4 architecture (hyper-connections, sliding-window, CSA and
// HCA attention, hash- and bias-routed MoE) trained by the project on the
// generated corpus of engine/defaultmodel/corpus. See MODEL_CARD.md.
//
// The package only carries the files; it does not import the engine, so the
// engine (engine.Default) can import it and load the model from FS with no
// file on disk. The files are produced by engine/defaultmodel/cmd/prepare
// (tokenizer) and engine/defaultmodel/train/export.py (weights, config).
package defaultmodel

import (
	"embed"
	"io/fs"
)

// The model folder is embedded whole: config.json, model.safetensors and the
// tokenizer files. Parity data for tests lives in testdata/, not here, so it
// does not grow every binary.
//
//go:embed model
var files embed.FS

// FS returns the model folder: config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json and generation_config.json at its root, in the
// Hugging Face layout that engine.LoadFS(FS(), ".") reads.
func FS() fs.FS {
	sub, err := fs.Sub(files, "model")
	if err != nil {
		// fs.Sub only fails on an invalid path; "model" is a constant.
		panic(err)
	}
	return sub
}

// Available reports whether the weights are embedded (model.safetensors and
// config.json present). It is false only in a checkout where the trained
// model has not been exported yet.
func Available() bool {
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json"} {
		if _, err := fs.Stat(FS(), name); err != nil {
			return false
		}
	}
	return true
}
