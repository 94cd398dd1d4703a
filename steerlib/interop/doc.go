// Package interop moves steerlib vectors in and out of other tools' formats:
// llama.cpp GGUF control vectors (also written and read by repeng and
// EasySteer), vLLM steering JSON, Steerbook's native safetensors format, and
// weight-orthogonalised checkpoints for ablation directions (Arditi et al.)
// that engines without steering can run.
//
// Every converter states its layer convention. steerlib layers are 0-based
// block indices and vectors carry the site they were read at.
package interop
