"""Export a trained checkpoint to the embedded model folder, plus parity data.

  .venv-train/bin/python engine/defaultmodel/train/export.py \
      --ckpt /tmp/dm-run/final.pt --data /tmp/dm-data \
      --model engine/defaultmodel/model --parity engine/defaultmodel/testdata/parity.safetensors

Writes <model>/model.safetensors under the official DeepSeek-V4 tensor names
(design §3.2). --storage fp8 writes the release's formats: FP8 e4m3 with
128x128 UE8M0 block scales for the dense linears, FP4 e2m1 with one UE8M0
scale per 32 inputs for the routed experts (export_fp8.py), BF16 for the
other weights. --storage bf16 (the default) writes every weight in BF16.
train/run.sh step 6 exports both and ships the one the storage rule picks
(MODEL_CARD.md, Storage). Both keep F32 for hc_*, attn_sink, compressor ape and
gate.bias, and I64 for tid2eid. <model>/config.json is the deepseek_v4 config
(with the release's quantization_config for fp8). The tokenizer files are already there
(prepare).

Parity: the exported weights (BF16-rounded, and with --storage fp8 FP8/FP4 round-tripped: the
values the Go engine dequantises) are loaded back into the float32
PyTorch model, which runs one prefill of each of a few held-out token windows
(each starting at a document start); the token ids and the logits at every
position are stored with, per position, a flag: 1 = a tie or near-tie
(relative gap <= 1e-5) at the cut of a CSA indexer's top-k (order
unspecified, float32 noise can make the Go engine pick the other entry), 2 =
rounding-sensitive (an input of an FP8 KV round trip - a token's KV row or a
compressed entry - lies within 1e-4 of a step of a rounding midpoint or scale
boundary at that position, or, for a compressed entry, at the first position
that sees it; or this model's float64 and float32 runs differ by more than
1e-4 there), 0 = neither.

Also reports the held-out loss with the BF16 weights and with the FP8/FP4
weights, so the card can show what the storage formats cost.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsv4  # noqa: E402
import train as T  # noqa: E402


def dtype_for(name):
    if name.endswith("tid2eid"):
        return torch.int64
    if name.split(".")[-1].startswith("hc_") or name.endswith("attn_sink") or name.endswith(".ape") or name.endswith("gate.bias"):
        return torch.float32
    return torch.bfloat16


def is_dense_linear(name):
    # linears the release stores as FP8 (design §2.13 / §3.2)
    return any(name.endswith(s) for s in (
        "attn.wq_a.weight", "attn.wq_b.weight", "attn.wkv.weight", "attn.wo_a.weight", "attn.wo_b.weight",
        "indexer.wq_b.weight")) or ".shared_experts." in name


def fp8_block_quant(w, block=128):
    o, i = w.shape
    out = torch.empty_like(w)
    for a in range(0, o, block):
        for b in range(0, i, block):
            t = w[a:a + block, b:b + block]
            amax = t.abs().amax().clamp(min=1e-4)
            s = dsv4._ceil_pow2(amax * (1.0 / 448.0))
            out[a:a + block, b:b + block] = dsv4._round_e4m3(torch.clamp(t / s, -448, 448)) * s
    return out


def fp4_quant(w):
    return dsv4.fp4_roundtrip(w, 32)


MIDPOINT_TOL = 1e-4  # in rounding steps: ~1e-5 relative, ten times the float32 noise of six blocks
NEAR_TIE = 1e-5  # relative gap between the k-th and (k+1)-th index scores


def near_midpoints(x, block, fp4):
    """Per row of x's dim 1: does any value of this FP8 (block scales of
    `block`) or FP4 round trip lie within MIDPOINT_TOL of a rounding midpoint,
    or its block's amax within 1e-6 of a scale boundary? There float32 noise
    between two implementations picks a different grid value."""
    n = x.shape[-1]
    xf = x.detach().float().unflatten(-1, (n // block, block))
    amax = xf.abs().amax(-1, keepdim=True)
    if fp4:
        amax = amax.clamp(min=6 * 2.0 ** -126)
        r = amax / 6.0
        y = torch.clamp(xf / dsv4._ceil_pow2(r), -6.0, 6.0).abs()
        step = torch.where(y < 2, torch.full_like(y, 0.5), torch.where(y < 4, torch.ones_like(y), torch.full_like(y, 2.0)))
    else:
        amax = amax.clamp(min=1e-4)
        r = amax / 448.0
        y = torch.clamp(xf / dsv4._ceil_pow2(r), -448.0, 448.0).abs()
        _, e = torch.frexp(y)
        step = torch.ldexp(torch.ones_like(y), torch.clamp(e - 1, min=-6) - 3)
    q = y / step
    mid = ((q - q.floor() - 0.5).abs() < MIDPOINT_TOL) & (y > 0)
    m, _ = torch.frexp(r)
    scale_edge = ((m - 0.5).abs() < 1e-6) | ((m - 1.0).abs() < 1e-6)
    bad = mid.any(-1) | scale_edge.squeeze(-1)
    return bad.flatten(2).any(-1) if bad.dim() > 2 else bad  # [B, dim1]


def detect(model, cfg, tok):
    """Per-position flags (see module doc) for one sequence [1, S]."""
    S = tok.shape[1]
    flags = torch.zeros(S, dtype=torch.int64)
    ties = set()
    sensitive = set()

    def record(x, block, fp4):
        rows = near_midpoints(x, block, fp4)[0]  # [dim1]
        L = x.shape[1]
        if L == S:
            ratio = 1  # a token's own KV row or indexer query
        else:
            ratio = S // L if L else 0  # compressed entries: first position that sees entry w
        for w in rows.nonzero().flatten().tolist():
            sensitive.add(min(S - 1, (w + 1) * ratio - 1))

    f8, f4 = dsv4.fp8_roundtrip, dsv4.fp4_roundtrip

    def fp8_rec(x, block=64):
        record(x, block, False)
        return f8(x, block)

    def fp4_rec(x, block=32):
        # The indexer's FP4 round trips matter only through its top-k, which
        # the near-tie check below covers.
        return f4(x, block)

    def wrap(ix):
        orig = ix.scores

        def scores(*a, **kw):
            res = orig(*a, **kw)
            I = res[0].float()  # [S, NW]
            nw = I.shape[1]
            k = min(cfg.index_topk, nw)
            for s in range(S):
                vis = min((s + 1) // 4, nw)
                if vis <= k:
                    continue
                top = I[s, :vis].topk(k + 1).values
                if top[k - 1] - top[k] <= NEAR_TIE * top.abs().max().clamp(min=1e-30):
                    ties.add(s)
            return res
        ix.scores = scores
        return orig

    origs = []
    for blk in model.layers:
        if blk.attn.ratio == 4:
            origs.append((blk.attn.indexer, wrap(blk.attn.indexer)))
    dsv4.fp8_roundtrip, dsv4.fp4_roundtrip = fp8_rec, fp4_rec
    try:
        with torch.no_grad():
            l32 = model(tok)[0]
    finally:
        dsv4.fp8_roundtrip, dsv4.fp4_roundtrip = f8, f4
    for ix, o in origs:
        ix.scores = o
    model.double()
    with torch.no_grad():
        l64 = model(tok)[0].float()
    model.float()
    # A tie or midpoint at position s can also change later positions (their
    # keys/entries see s through later layers): the Go test treats every
    # position after the first flagged one of a sequence as explained when it
    # differs, and caps how many may.
    for s in ties:
        flags[s] = 1
    sens = (l32 - l64).abs().amax(-1) > 1e-4
    for s in sensitive:
        sens[s] = True
    flags[(flags == 0) & sens] = 2
    return l32, flags


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--ckpt", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--model", default="engine/defaultmodel/model")
    p.add_argument("--parity", default="engine/defaultmodel/testdata/parity.safetensors")
    p.add_argument("--parity-seqs", type=int, default=4)
    p.add_argument("--parity-len", type=int, default=128)
    p.add_argument("--eval-docs", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--storage", choices=("bf16", "fp8"), default="bf16",
                   help="fp8: the release's formats (FP8 dense linears, FP4 routed experts; MODEL_CARD.md), "
                        "bf16: every weight in BF16")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    st = torch.load(a.ckpt)
    cfg_hf = st.get("config")
    if cfg_hf is None:
        cfg_hf = json.load(open(os.path.join(os.path.dirname(__file__), "config.json")))
    cfg = dsv4.Config.from_hf(cfg_hf)
    model = dsv4.Transformer(cfg)
    model.load_state_dict(st["model"])
    model.eval()
    sd = model.state_dict()

    out = {}
    for name, t in sd.items():
        out[name] = t.detach().to(dtype_for(name)).contiguous()
    os.makedirs(a.model, exist_ok=True)
    hf = cfg.to_hf()
    val = T.Data(a.data, "val", 0)

    # the weights the Go engine computes with: BF16 values, and for the
    # release formats their FP8/FP4 round trip (the engine dequantises
    # exactly these values; it does not quantise activations by default)
    deq = {k: (v.float() if v.is_floating_point() else v) for k, v in out.items()}
    dsv4.load_state(model, deq)
    loss_bf16 = T.evaluate(model, val, a.eval_docs)
    print(f"held-out loss with BF16 weights: {loss_bf16:.5f}")
    loss_q = None
    if a.storage == "fp8":
        import export_fp8  # noqa: E402 (imports this module's is_dense_linear)
        for name in deq:
            if ".experts." in name and name.endswith(".weight"):
                deq[name] = fp4_quant(deq[name])
            elif is_dense_linear(name):
                deq[name] = fp8_block_quant(deq[name])
        rel = export_fp8.release_tensors(out)
        export_fp8.write_safetensors(os.path.join(a.model, "model.safetensors"), rel)
        hf = export_fp8.release_config(hf)
        dsv4.load_state(model, deq)
        loss_q = T.evaluate(model, val, a.eval_docs)
        print(f"held-out loss with FP8 dense / FP4 expert weights: {loss_q:.5f} (BF16 {loss_bf16:.5f})")
        ntensors = len(rel)
    else:
        meta = {"format": "pt", "producer": "steerbook engine/defaultmodel/train/export.py"}
        save_file(out, os.path.join(a.model, "model.safetensors"), metadata=meta)
        ntensors = len(out)
    with open(os.path.join(a.model, "config.json"), "w") as f:
        json.dump(hf, f, indent=2)
        f.write("\n")
    nbytes = os.path.getsize(os.path.join(a.model, "model.safetensors"))
    print(f"wrote {ntensors} tensors ({a.storage}), {nbytes / 1e6:.2f} MB")

    toks, logits, flags = [], [], []
    starts = val.all_starts
    rng = np.random.default_rng(7)
    cand = starts[starts + a.parity_len <= len(val.tok)]
    pick = sorted(rng.choice(cand, a.parity_seqs, replace=False))
    for s0 in pick:
        tok = torch.from_numpy(val.tok[s0:s0 + a.parity_len].astype(np.int64))[None]
        l, f = detect(model, cfg, tok)
        toks.append(tok[0])
        logits.append(l)
        flags.append(f)
    par = {"tokens": torch.stack(toks), "logits": torch.stack(logits).contiguous(),
           "flags": torch.stack(flags)}
    os.makedirs(os.path.dirname(a.parity), exist_ok=True)
    save_file(par, a.parity, metadata={
        "doc": "tokens [N,S] I64 held-out windows starting at a document start; logits [N,S,V] F32 "
               "PyTorch float32 prefill logits at every position with the exported weights (" + a.storage + ", dequantised); flags [N,S] I64: "
               "1 indexer top-k tie or near-tie at the cut, 2 rounding-sensitive (FP8 KV midpoint, or f32 vs f64 differ > 1e-4), 0 neither"})
    nf = {k: int((par['flags'] == k).sum()) for k in (1, 2)}
    print(f"parity: {par['tokens'].shape} tokens, flags tie={nf[1]} sensitive={nf[2]} -> {a.parity}")

    summ = {"storage": a.storage, "tensors": ntensors, "bytes": nbytes, "val_loss_bf16": loss_bf16,
            "val_loss_fp8_fp4": loss_q, "eval_docs": a.eval_docs, "parity_flags": nf}
    with open(os.path.join(os.path.dirname(a.ckpt), "export.json"), "w") as f:
        json.dump(summ, f, indent=1)
    print(json.dumps(summ))


if __name__ == "__main__":
    main()
