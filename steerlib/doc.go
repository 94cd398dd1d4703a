// Package steerlib is Steerbook's activation-steering toolkit: contrastive
// datasets and pair builders, one-pass extraction through the engine's capture
// sites, estimators that turn activations into steering vectors, vectors with
// provenance, intervention operators, and evaluation. Plots live in
// steerlib/plot and file formats (GGUF control vectors, vLLM JSON, the native
// format, orthogonalised weights) in steerlib/interop.
//
// # Conventions
//
// Sites and layers are the engine's (engine/site.go): layers are 0-based block
// indices. A vector records the site it was read at; operators apply it at a
// site the caller names (by default the one it was read at).
//
// Sign: every estimator returns a direction that points from the negative
// class to the positive class, in the sense that the mean projection of the
// positive examples is larger than the mean projection of the negative ones.
// PCA and probe solutions, whose sign is otherwise arbitrary, are flipped to
// satisfy this, so adding a vector with positive strength moves activations
// towards the positive class.
//
// Units: DiffMean keeps its natural length (the distance between the class
// means); every other estimator returns a unit vector. Strength can be given
// raw (a multiple of the vector as stored) or relative (a multiple of the
// typical activation norm at that site and layer, recorded in the vector's
// provenance), see Strength.
//
// Streams: block_in and block_out hold the four hyper-connection streams. A
// vector read there is by default the mean over the four streams (width D) and
// is broadcast to all four streams when applied, which is what llama.cpp does
// for DeepSeek-V4 control vectors; StreamsAll keeps all 4·D values.
//
// KV-cache semantics: an intervention changes the activations of the tokens
// it touches; keys and values computed from steered activations are cached as
// they are. So a prompt prefilled with steering active stays steered in the
// cache after the intervention is removed, and removing steering restores
// bit-identical logits only for forwards that start from an unsteered cache
// (a fresh Forward, or a Session whose prefill ran without steering).
// Phase selection (Prompt / Generated / Both) decides which tokens are touched,
// and therefore which cache entries are steered: a Generated-only steering
// leaves the prompt's cache entries exactly as unsteered, and every decode
// step still attends to them; a Prompt-only steering changes the first
// generated token and, through the cache, every later one, although no
// decode step is edited (both tested on the golden model). Model.Forward
// (Extract, metrics, costs) is all prefill, so Generated-only steers do
// nothing there. CAST gates are decided during prefill and hold for the
// sequence's decode steps.
package steerlib
