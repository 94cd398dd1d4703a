"""Write the release-format variant of an exported model folder (design §3.3):
FP8 e4m3 dense linears with 128x128 UE8M0 block scales, FP4 e2m1 routed
experts packed two per byte (low nibble first) with one UE8M0 scale per 32
inputs; everything else as in the BF16 folder. export.py --storage fp8 uses
release_tensors/release_config to write the embedded model this way; run as a
script, this converts an exported BF16 folder.

  .venv-train/bin/python engine/defaultmodel/train/export_fp8.py \
      --src engine/defaultmodel/model --dst /tmp/dm-fp8
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import torch
from safetensors.torch import load_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsv4  # noqa: E402
from export import is_dense_linear  # noqa: E402

E2M1 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6], dtype=np.float32)


def pow2_byte(s):
    """UE8M0 byte of an exact power of two."""
    m, e = np.frexp(s)  # s = 0.5 * 2**e
    assert np.all(m == 0.5), "scale not a power of two"
    return (e - 1 + 127).astype(np.uint8)


def e4m3_bits(q):
    """Bits of values already on the e4m3fn grid (|q| <= 448)."""
    q = np.asarray(q, dtype=np.float32)
    sign = (q < 0).astype(np.uint8) << 7
    a = np.abs(q)
    out = np.zeros(a.shape, dtype=np.uint8)
    nz = a > 0
    e = np.floor(np.log2(np.where(nz, a, 1))).astype(np.int32)
    sub = nz & (e < -6)
    nor = nz & ~sub
    m_sub = np.round(a / 2.0 ** -9).astype(np.int32)
    m_nor = np.round((a / np.ldexp(1.0, e) - 1) * 8).astype(np.int32)
    out[sub] = m_sub[sub].astype(np.uint8)
    out[nor] = (((e[nor] + 7) << 3) | m_nor[nor]).astype(np.uint8)
    dec = np.where(sub, m_sub * 2.0 ** -9, np.ldexp(1 + m_nor / 8.0, e))
    assert np.allclose(np.where(nz, dec, 0), a), "value not on the e4m3 grid"
    return out | sign


def fp8_encode(w):
    o, i = w.shape
    B = 128
    so, si = (o + B - 1) // B, (i + B - 1) // B
    scales = np.zeros((so, si), dtype=np.float32)
    q = np.zeros_like(w)
    for a in range(so):
        for b in range(si):
            t = w[a * B:(a + 1) * B, b * B:(b + 1) * B]
            amax = max(float(np.abs(t).max()), 1e-4)
            s = float(dsv4._ceil_pow2(torch.tensor(amax * (1.0 / 448.0), dtype=torch.float32)))
            scales[a, b] = s
            q[a * B:(a + 1) * B, b * B:(b + 1) * B] = dsv4._round_e4m3(
                torch.clamp(torch.from_numpy(t / s), -448, 448)).numpy()
    return e4m3_bits(q), pow2_byte(scales)


def fp4_encode(w):
    o, i = w.shape
    x = torch.from_numpy(w).unflatten(-1, (i // 32, 32))
    amax = x.abs().amax(-1, keepdim=True).clamp(min=6 * 2.0 ** -126)
    s = dsv4._ceil_pow2(amax * (1.0 / 6.0))
    q = dsv4._round_e2m1(torch.clamp(x / s, -6.0, 6.0)).flatten(-2).numpy()
    idx = np.abs(q)[..., None] == E2M1
    assert idx.any(-1).all()
    nib = idx.argmax(-1).astype(np.uint8) | ((q < 0).astype(np.uint8) << 3)
    packed = nib[:, 0::2] | (nib[:, 1::2] << 4)
    return packed.view(np.int8), pow2_byte(s.squeeze(-1).numpy())


def write_safetensors(path, tensors):
    """tensors: name -> (dtype string, shape, bytes)."""
    hdr, off = {}, 0
    for name, (dt, shape, b) in tensors.items():
        hdr[name] = {"dtype": dt, "shape": list(shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for _, (_, _, b) in tensors.items():
            f.write(b)


def release_tensors(src):
    """The release's storage formats for a BF16 state dict: name -> (safetensors
    dtype, shape, raw bytes), with a .scale tensor beside every quantised
    weight."""
    out = {}
    npdt = {torch.bfloat16: "BF16", torch.float32: "F32", torch.int64: "I64"}
    for name, t in src.items():
        if name.endswith(".weight") and (".experts." in name):
            q, s = fp4_encode(t.float().numpy())
            out[name] = ("I8", q.shape, q.tobytes())
            out[name[:-len("weight")] + "scale"] = ("F8_E8M0", s.shape, s.tobytes())
        elif is_dense_linear(name):
            q, s = fp8_encode(t.float().numpy())
            out[name] = ("F8_E4M3", q.shape, q.tobytes())
            out[name[:-len("weight")] + "scale"] = ("F8_E8M0", s.shape, s.tobytes())
        else:
            raw = t.contiguous().view(torch.int16).numpy().tobytes() if t.dtype == torch.bfloat16 \
                else t.contiguous().numpy().tobytes()
            out[name] = (npdt[t.dtype], tuple(t.shape), raw)
    return out


def release_config(cfg):
    """config.json fields that declare the release's storage formats."""
    cfg = dict(cfg)
    cfg["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                  "scale_fmt": "ue8m0", "weight_block_size": [128, 128]}
    cfg["expert_dtype"] = "fp4"
    return cfg


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--src", default="engine/defaultmodel/model")
    p.add_argument("--dst", required=True)
    a = p.parse_args()
    os.makedirs(a.dst, exist_ok=True)
    src = load_file(os.path.join(a.src, "model.safetensors"))
    out = release_tensors(src)
    write_safetensors(os.path.join(a.dst, "model.safetensors"), out)
    cfg = release_config(json.load(open(os.path.join(a.src, "config.json"))))
    json.dump(cfg, open(os.path.join(a.dst, "config.json"), "w"), indent=2)
    for f in ("tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        shutil.copy(os.path.join(a.src, f), a.dst)
    print(f"wrote {len(out)} tensors, {os.path.getsize(os.path.join(a.dst, 'model.safetensors')) / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
