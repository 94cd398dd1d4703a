package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/steerbook/steerbook/engine/progress"
	"github.com/steerbook/steerbook/engine/safetensors"
	"github.com/steerbook/steerbook/engine/tensor"
)

// StreamWriters matches the DeepSeek-V4 tensors whose outputs are written
// into the hyper-connection streams: the token embedding (copied into all
// four streams), each block's attention output projection wo_b (the
// attention output before hc_post), and every routed and shared expert's
// down projection w2 (summed, with routing weights, into the MoE output
// before hc_post). hc_post itself only mixes: h'_k = post_k·f + Σ_j C_jk·h_j
// acts on each hidden coordinate separately, so streams that start
// orthogonal to u and only receive u-orthogonal writes stay orthogonal to u.
// The MTP block (mtp.*) is not used for next-token inference and is left
// alone; the head and hc_* parameters read the streams and are not edited.
var StreamWriters = regexp.MustCompile(`^(embed\.weight|layers\.\d+\.attn\.wo_b\.weight|layers\.\d+\.ffn\.(experts\.\d+|shared_experts)\.w2\.weight)$`)

// OrthogonalizeOptions tunes Orthogonalize.
type OrthogonalizeOptions struct {
	// BF16 stores the edited matrices as BF16 (half the size of F32, as the
	// source dtype usually is) at the price of one more rounding, which
	// reintroduces a tiny component along the direction and can flip
	// discrete choices (expert and indexer top-k): on the golden tiny model
	// logits then differ from runtime ablation by up to 0.9, against 2e-6
	// with F32. Default F32.
	BF16 bool
}

// Orthogonalize writes a copy of the checkpoint in src to dst with the unit
// direction u projected out of every matrix that writes into the residual
// streams (StreamWriters): W ← (I − u uᵀ) W for [D, in] output matrices and
// e ← e − (e·u) u for every embedding row. Running the result equals running
// the original with steerlib.AblateEverywhere(u) (Arditi et al.'s weight
// orthogonalisation), so an ablation found here can be served by engines
// without steering. Edited matrices are dequantised (FP8/FP4 included) and
// written densely (F32, or BF16 with opt.BF16); every other tensor is copied
// byte for byte, with its scale. config.json and tokenizer files are copied.
// The output keeps the source's sharding: one output file per source file
// (with model.safetensors.index.json when the source has one), each built
// in memory, so peak memory is one shard with its edited matrices in dense
// form — for DeepSeek-V4-Flash about 8 GB per layer shard in F32 (4 GB in
// BF16) and several times the FP8/FP4 checkpoint's size on disk.
func Orthogonalize(ctx context.Context, src, dst string, u []float64, opt OrthogonalizeOptions) error {
	ck, err := safetensors.Open(src)
	if err != nil {
		return fmt.Errorf("interop: orthogonalize: %w", err)
	}
	defer ck.Close()
	unit := append([]float64(nil), u...)
	n := norm(unit)
	if n == 0 || math.IsNaN(n) {
		return fmt.Errorf("interop: orthogonalize: zero direction")
	}
	for i := range unit {
		unit[i] /= n
	}
	names := ck.Names()
	sort.Strings(names)
	edited := map[string]bool{}
	for _, name := range names {
		if StreamWriters.MatchString(name) {
			edited[name] = true
		}
	}
	if len(edited) == 0 {
		return fmt.Errorf("interop: orthogonalize: %s has no embed.weight / wo_b / w2 tensors (not a DeepSeek-V4 checkpoint?)", src)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		return fmt.Errorf("interop: orthogonalize: %w", err)
	}
	// Group tensors by the file they came from, to keep the sharding.
	byFile := map[string][]string{}
	var files []string
	for _, name := range names {
		t, err := ck.Tensor(name)
		if err != nil {
			return fmt.Errorf("interop: orthogonalize: %w", err)
		}
		f := filepath.Base(t.File)
		if _, ok := byFile[f]; !ok {
			files = append(files, f)
		}
		byFile[f] = append(byFile[f], name)
	}
	sort.Strings(files)
	sharded := len(files) > 1 || files[0] != safetensors.SingleFile
	weightMap := map[string]string{}
	meta := map[string]string{"format": "pt", "steerbook.orthogonalized": fmt.Sprintf("%d matrices edited (embed, attn.wo_b, ffn w2)", len(edited))}
	step, done := progress.Loop(ctx, "orthogonalize", len(names))
	defer done()
	for _, file := range files {
		var out []safetensors.WriteTensor
		for _, name := range byFile[file] {
			if err := ctx.Err(); err != nil {
				return err
			}
			wt, skip, err := orthoTensor(ck, name, edited, unit, opt)
			if err != nil {
				return err
			}
			step()
			if skip {
				continue
			}
			out = append(out, wt)
			weightMap[name] = file
		}
		if err := safetensors.Write(filepath.Join(dst, file), out, meta); err != nil {
			return fmt.Errorf("interop: orthogonalize: %w", err)
		}
	}
	if sharded {
		idx, _ := json.MarshalIndent(map[string]any{"metadata": map[string]string{}, "weight_map": weightMap}, "", "  ")
		if err := os.WriteFile(filepath.Join(dst, safetensors.IndexFile), idx, 0o644); err != nil {
			return fmt.Errorf("interop: orthogonalize: %w", err)
		}
	}
	for _, f := range []string{"config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"} {
		b, err := os.ReadFile(filepath.Join(ck.Dir(), f))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("interop: orthogonalize: %w", err)
		}
		if f == "config.json" {
			b = []byte(strings.Replace(string(b), `"quantization_config"`, `"steerbook_original_quantization_config"`, 1))
		}
		if err := os.WriteFile(filepath.Join(dst, f), b, 0o644); err != nil {
			return fmt.Errorf("interop: orthogonalize: %w", err)
		}
	}
	return nil
}

// orthoTensor returns the tensor to write for name: copied, edited, or
// skipped (the scale of an edited weight, which is written dense).
func orthoTensor(ck *safetensors.Checkpoint, name string, edited map[string]bool, unit []float64, opt OrthogonalizeOptions) (safetensors.WriteTensor, bool, error) {
	t, err := ck.Tensor(name)
	if err != nil {
		return safetensors.WriteTensor{}, false, fmt.Errorf("interop: orthogonalize: %w", err)
	}
	if strings.HasSuffix(name, ".scale") && edited[strings.TrimSuffix(name, ".scale")+".weight"] {
		return safetensors.WriteTensor{}, true, nil
	}
	if !edited[name] {
		return safetensors.WriteTensor{Name: name, DType: t.DType, Shape: t.Shape, Data: t.Data}, false, nil
	}
	var scale *safetensors.Tensor
	if s, ok := ck.Lookup(strings.TrimSuffix(name, ".weight") + ".scale"); ok {
		scale = s
	}
	w, rows, cols, err := dense(t, scale)
	if err != nil {
		return safetensors.WriteTensor{}, false, fmt.Errorf("interop: orthogonalize: tensor %s: %w", name, err)
	}
	d := len(unit)
	if name == "embed.weight" {
		if cols != d {
			return safetensors.WriteTensor{}, false, fmt.Errorf("interop: orthogonalize: embed.weight has width %d, direction %d", cols, d)
		}
		for r := 0; r < rows; r++ {
			row := w[r*cols : (r+1)*cols]
			p := 0.0
			for j, x := range row {
				p += float64(x) * unit[j]
			}
			for j := range row {
				row[j] = float32(float64(row[j]) - p*unit[j])
			}
		}
	} else {
		if rows != d {
			return safetensors.WriteTensor{}, false, fmt.Errorf("interop: orthogonalize: %s has %d output rows, direction %d", name, rows, d)
		}
		for c := 0; c < cols; c++ {
			p := 0.0
			for r := 0; r < rows; r++ {
				p += float64(w[r*cols+c]) * unit[r]
			}
			for r := 0; r < rows; r++ {
				w[r*cols+c] = float32(float64(w[r*cols+c]) - p*unit[r])
			}
		}
	}
	if opt.BF16 {
		return safetensors.BF16Tensor(name, []int{rows, cols}, w), false, nil
	}
	return safetensors.F32Tensor(name, []int{rows, cols}, w), false, nil
}

// dense dequantises a weight matrix to float32 [rows][cols] through the
// engine's own kernels (multiplying by the identity), so every stored format
// the engine reads is handled the same way it is at inference.
func dense(t, scale *safetensors.Tensor) ([]float32, int, int, error) {
	if len(t.Shape) != 2 {
		return nil, 0, 0, fmt.Errorf("shape %v is not 2-D", t.Shape)
	}
	switch t.DType {
	case safetensors.F32, safetensors.BF16, safetensors.F16:
		v, err := t.Float32()
		return v, t.Shape[0], t.Shape[1], err
	}
	l, err := tensor.FromTensor(t, scale)
	if err != nil {
		return nil, 0, 0, err
	}
	rows, cols := l.Out(), l.In()
	w := make([]float32, rows*cols)
	const chunk = 64
	eye := make([]float32, chunk*cols)
	tmp := make([]float32, chunk*rows)
	for c0 := 0; c0 < cols; c0 += chunk {
		k := min(chunk, cols-c0)
		clear(eye)
		for i := 0; i < k; i++ {
			eye[i*cols+c0+i] = 1
		}
		l.MatMul(tmp[:k*rows], eye[:k*cols], k) // tmp[i][o] = W[o][c0+i]
		for i := 0; i < k; i++ {
			for o := 0; o < rows; o++ {
				w[o*cols+c0+i] = tmp[i*rows+o]
			}
		}
	}
	return w, rows, cols, nil
}
