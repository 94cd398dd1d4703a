// Package engine is Steerbook's in-process CPU inference engine for the
// DeepSeek-V4 architecture: it loads checkpoints, tokenizes, runs batched
// prefill and incremental decode, generates, and exposes the named capture and
// intervention sites of site.go.
package engine
