// Package engine is Steerbook's in-process CPU inference engine for the
// DeepSeek-V4 architecture: it loads checkpoints, tokenizes, runs batched
// prefill and incremental decode, generates, and exposes the named capture and
// intervention sites of site.go.
//
// # Loading
//
// Load reads a Hugging Face-style folder (config.json, model.safetensors or an
// index with shards, tokenizer.json, tokenizer_config.json,
// generation_config.json). Files are memory-mapped and weight matrices stay in
// their stored format (FP8 E4M3 with 128×128 UE8M0 scales, FP4 E2M1 experts,
// BF16, F32; Flash-Base F32 scales): engine/tensor dequantises tile by tile
// inside the matrix kernels. LoadFS does the same from an fs.FS; Random builds
// a model of any configuration with seeded random weights; Default loads the
// embedded default model once one is registered (RegisterDefault).
//
// # Numerics and parity
//
// The forward pass (engine/dsv4) is the design document's §2 in float32, with
// the reference's quantisation simulations switched on by default (FP8 round
// trip of the KV nope dims, Hadamard + FP4 of the indexer, clamped shared
// expert; WithQuantSim changes them). Two details make it agree with
// DeepSeek's own inference/model.py run in float32 to about 1.5e-5 on the
// golden checkpoint at every position, prefill and decode:
//
//   - norms and the hyper-connection RMS accumulate in float64, so values that
//     land within a few ulps of an FP8 rounding midpoint round the same way;
//   - the Lightning indexer's top-k breaks exact ties (FP4 scores tie often,
//     typically at 0) in the order torch.topk on CPU does (libstdc++
//     nth_element over the score row, whose width is (start+len)/4 in a call).
//     One consequence, shared with the reference: a long prefill and a
//     token-by-token decode can pick different entries at a tie, so they agree
//     everywhere except at positions a tie decides.
//
// # Batching, sessions and the cache
//
// Forward and Capture run many sequences of different lengths in batches: the
// row-wise work (projections, MoE, head) runs on all rows together, attention
// on each sequence's own cache. A Session keeps one sequence's cache (design
// §5): the sliding-window ring, the compressed entries and the compressor and
// indexer states. Prefill then Decode gives the same logits as one prefill.
//
// # Sites, capture and interventions
//
// site.go names the sites. Capture reads sites × layers × positions in one
// batched forward (SumOnly keeps float64 running sums). An Intervention edits
// a site at chosen layers, positions and phases; AddVector at block_out adds a
// vector to all four hyper-connection streams, like llama.cpp's control
// vectors. Interventions compose in order and live only in the call or
// session they are given to, so dropping them restores bit-identical logits.
//
// KV-cache semantics: an edit during prefill changes the keys/values and
// compressed entries computed from the edited tokens, and they stay in the
// cache, so later tokens attend to the steered past. An edit during decode
// changes only the new token; positions already cached are never rewritten.
// To steer only generation, set Phase: Decode; to steer only the prompt,
// Phase: Prefill.
package engine
