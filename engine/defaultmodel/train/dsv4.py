"""A trainable float32 PyTorch implementation of the DeepSeek-V4 architecture.

Written from /work/shared/design/deepseek-v4.md (§2 forward pass, §3.2 tensor
names). Module attribute names are chosen so that ``state_dict()`` keys are the
official checkpoint tensor names (no ``model.`` prefix), which makes loading the
golden checkpoint and exporting the trained model a plain name-for-name copy.

Everything is computed in float32 (the reference's bf16 rounding points are not
mirrored: the Go engine also computes in f32). The quantisation simulations that
are part of the model (FP8 round-trip of the KV "nope" dims, Hadamard + FP4
round-trip of indexer queries/keys) are kept, with straight-through gradients so
training sees the same forward function as inference.

Training-only extras (not part of the checkpoint semantics):
  * the Lightning indexer is trained with a KL loss toward the main attention's
    distribution over compressed entries (DeepSeek sparse attention's scheme),
    on detached inputs, so its top-k never receives gradients from the LM loss;
  * the router bias of bias-routed MoE layers is updated outside autograd by
    the sign of the load imbalance (auxiliary-loss-free balancing, noaux_tc).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn
import torch.nn.functional as F


# ----------------------------------------------------------------------------
# Configuration


@dataclass
class Config:
    vocab_size: int = 512
    hidden_size: int = 128
    num_hidden_layers: int = 5
    num_hash_layers: int = 2
    num_attention_heads: int = 4
    head_dim: int = 128
    qk_rope_head_dim: int = 64
    q_lora_rank: int = 64
    o_groups: int = 2
    o_lora_rank: int = 32
    sliding_window: int = 8
    compress_ratios: list = field(default_factory=lambda: [0, 4, 8, 4, 0])
    compress_rope_theta: float = 160000.0
    rope_theta: float = 10000.0
    rope_factor: float = 4.0
    original_max_position_embeddings: int = 16
    beta_fast: float = 32.0
    beta_slow: float = 1.0
    index_n_heads: int = 4
    index_head_dim: int = 128
    index_topk: int = 3
    n_routed_experts: int = 8
    n_shared_experts: int = 1
    num_experts_per_tok: int = 2
    moe_intermediate_size: int = 64
    routed_scaling_factor: float = 1.5
    swiglu_limit: float = 1.0
    hc_mult: int = 4
    hc_sinkhorn_iters: int = 20
    hc_eps: float = 1e-6
    rms_norm_eps: float = 1e-6
    max_position_embeddings: int = 256
    bos_token_id: int = 0
    eos_token_id: int = 1

    @classmethod
    def from_hf(cls, d: dict) -> "Config":
        rs = d.get("rope_scaling") or {}
        c = cls()
        for k in list(c.__dataclass_fields__):
            if k in d:
                setattr(c, k, d[k])
        c.compress_ratios = list(d["compress_ratios"])[: d["num_hidden_layers"]]
        c.rope_factor = float(rs.get("factor", c.rope_factor))
        c.original_max_position_embeddings = int(
            rs.get("original_max_position_embeddings", c.original_max_position_embeddings))
        c.beta_fast = float(rs.get("beta_fast", c.beta_fast))
        c.beta_slow = float(rs.get("beta_slow", c.beta_slow))
        return c

    def to_hf(self) -> dict:
        """The Hugging Face style config.json (design §1.1 keys)."""
        return {
            "architectures": ["DeepseekV4ForCausalLM"],
            "model_type": "deepseek_v4",
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers,
            "num_hash_layers": self.num_hash_layers,
            "num_nextn_predict_layers": 0,
            "num_attention_heads": self.num_attention_heads,
            "num_key_value_heads": 1,
            "head_dim": self.head_dim,
            "qk_rope_head_dim": self.qk_rope_head_dim,
            "q_lora_rank": self.q_lora_rank,
            "o_groups": self.o_groups,
            "o_lora_rank": self.o_lora_rank,
            "sliding_window": self.sliding_window,
            # one entry per block; no MTP block is trained (num_nextn_predict_layers 0)
            "compress_ratios": list(self.compress_ratios),
            "compress_rope_theta": float(self.compress_rope_theta),
            "rope_theta": float(self.rope_theta),
            "rope_scaling": {
                "type": "yarn",
                "factor": float(self.rope_factor),
                "original_max_position_embeddings": self.original_max_position_embeddings,
                "beta_fast": int(self.beta_fast),
                "beta_slow": int(self.beta_slow),
            },
            "index_n_heads": self.index_n_heads,
            "index_head_dim": self.index_head_dim,
            "index_topk": self.index_topk,
            "n_routed_experts": self.n_routed_experts,
            "n_shared_experts": self.n_shared_experts,
            "num_experts_per_tok": self.num_experts_per_tok,
            "moe_intermediate_size": self.moe_intermediate_size,
            "scoring_func": "sqrtsoftplus",
            "topk_method": "noaux_tc",
            "norm_topk_prob": True,
            "routed_scaling_factor": self.routed_scaling_factor,
            "swiglu_limit": self.swiglu_limit,
            "hidden_act": "silu",
            "hc_mult": self.hc_mult,
            "hc_sinkhorn_iters": self.hc_sinkhorn_iters,
            "hc_eps": self.hc_eps,
            "rms_norm_eps": self.rms_norm_eps,
            "tie_word_embeddings": False,
            "bos_token_id": self.bos_token_id,
            "eos_token_id": self.eos_token_id,
            "max_position_embeddings": self.max_position_embeddings,
            "torch_dtype": "bfloat16",
            "attention_bias": False,
        }


# ----------------------------------------------------------------------------
# Quantisation simulations (design §2.6 step 5, §2.9), straight-through


def _ceil_pow2(r: torch.Tensor) -> torch.Tensor:
    """2**ceil(log2(r)) for positive r, exact (UE8M0 scale)."""
    m, e = torch.frexp(r)
    e = torch.where(m == 0.5, e - 1, e)
    return torch.ldexp(torch.ones_like(r), e)


def _round_e4m3(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    _, e = torch.frexp(ax)
    e = torch.clamp(e - 1, min=-6)
    step = torch.ldexp(torch.ones_like(ax), e - 3)
    return torch.round(x / step) * step


def _round_e2m1(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    step = torch.where(ax < 2, torch.full_like(ax, 0.5),
                       torch.where(ax < 4, torch.ones_like(ax), torch.full_like(ax, 2.0)))
    return torch.round(x / step) * step


def fp8_roundtrip(x: torch.Tensor, block: int = 64) -> torch.Tensor:
    """E4M3 round-trip with one UE8M0 scale per `block` values of the last dim."""
    n = x.shape[-1]
    xf = x.unflatten(-1, (n // block, block))
    amax = xf.abs().amax(-1, keepdim=True).clamp(min=1e-4)
    s = _ceil_pow2(amax * (1.0 / 448.0))
    q = _round_e4m3(torch.clamp(xf / s, -448.0, 448.0)) * s
    return q.flatten(-2)


def fp4_roundtrip(x: torch.Tensor, block: int = 32) -> torch.Tensor:
    """E2M1 round-trip with one UE8M0 scale per `block` values of the last dim."""
    n = x.shape[-1]
    xf = x.unflatten(-1, (n // block, block))
    amax = xf.abs().amax(-1, keepdim=True).clamp(min=6 * 2.0 ** -126)
    s = _ceil_pow2(amax * (1.0 / 6.0))
    q = _round_e2m1(torch.clamp(xf / s, -6.0, 6.0)) * s
    return q.flatten(-2)


def ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Forward value q, gradient of identity (straight-through estimator)."""
    if not x.requires_grad:
        return q
    return x + (q - x).detach()


def hadamard(x: torch.Tensor) -> torch.Tensor:
    """Orthonormal Sylvester Walsh-Hadamard transform on the last dim (natural order)."""
    n = x.shape[-1]
    shape = x.shape
    y = x.reshape(-1, n)
    h = 1
    while h < n:
        y = y.view(-1, n // (2 * h), 2, h)
        a, b = y[:, :, 0, :], y[:, :, 1, :]
        y = torch.stack([a + b, a - b], dim=2).reshape(-1, n)
        h *= 2
    return (y * (1.0 / math.sqrt(n))).view(shape)


# ----------------------------------------------------------------------------
# RoPE (design §2.5): partial (last rd dims), interleaved pairs


def rope_freqs(cfg: Config, compressed: bool) -> torch.Tensor:
    rd = cfg.qk_rope_head_dim
    theta = cfg.compress_rope_theta if compressed else cfg.rope_theta
    i = torch.arange(0, rd, 2, dtype=torch.float32)
    w = 1.0 / (theta ** (i / rd))
    if compressed:
        def corr(n):
            return rd * math.log(cfg.original_max_position_embeddings / (2 * math.pi * n)) / (2 * math.log(theta))
        low = max(math.floor(corr(cfg.beta_fast)), 0)
        high = min(math.ceil(corr(cfg.beta_slow)), rd - 1)
        if low == high:
            high += 0.001
        ramp = torch.clamp((torch.arange(rd // 2, dtype=torch.float32) - low) / (high - low), 0, 1)
        w = w / cfg.rope_factor * ramp + w * (1 - ramp)
    return w


def rope_cos_sin(freqs: torch.Tensor, pos: torch.Tensor):
    ang = torch.outer(pos.to(torch.float32), freqs)
    return torch.cos(ang), torch.sin(ang)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, inverse: bool = False) -> torch.Tensor:
    """Rotate the last 2*cos.shape[-1] dims of x (interleaved pairs).

    cos/sin are [S, rd/2]; x is [..., S, (heads,) d] - cos/sin are broadcast
    over a head dim when x has one more dim than expected (caller reshapes)."""
    rd = cos.shape[-1] * 2
    nope, r = x[..., :-rd], x[..., -rd:]
    r = r.unflatten(-1, (rd // 2, 2))
    x0, x1 = r[..., 0], r[..., 1]
    if inverse:
        sin = -sin
    y0 = x0 * cos - x1 * sin
    y1 = x0 * sin + x1 * cos
    r = torch.stack([y0, y1], -1).flatten(-2)
    return torch.cat([nope, r], -1)


# ----------------------------------------------------------------------------
# Building blocks


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def _linear(i: int, o: int) -> nn.Linear:
    return nn.Linear(i, o, bias=False)


class Compressor(nn.Module):
    """Design §2.8: gated softmax pooling of r tokens (overlapping 2r for r == 4)."""

    def __init__(self, cfg: Config, ratio: int, d: int, in_dim: int):
        super().__init__()
        self.ratio, self.d = ratio, d
        self.overlap = ratio == 4
        c = 2 if self.overlap else 1
        self.wkv = _linear(in_dim, c * d)
        self.wgate = _linear(in_dim, c * d)
        self.ape = nn.Parameter(torch.zeros(ratio, c * d))
        self.norm = RMSNorm(d, cfg.rms_norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B,S,in] -> un-roped, normalised entries [B, S//r, d]."""
        B, S, _ = x.shape
        r, d = self.ratio, self.d
        nw = S // r
        if nw == 0:
            return x.new_zeros(B, 0, d)
        xs = x[:, : nw * r]
        a = self.wkv(xs).view(B, nw, r, -1)
        z = self.wgate(xs).view(B, nw, r, -1) + self.ape
        if self.overlap:
            aA, aB = a[..., :d], a[..., d:]
            zA, zB = z[..., :d], z[..., d:]
            # A-halves of the previous window (none for w = 0)
            pa = torch.cat([aA.new_zeros(B, 1, r, d), aA[:, :-1]], 1)
            pz = torch.cat([zA.new_full((B, 1, r, d), float("-inf")), zA[:, :-1]], 1)
            a = torch.cat([pa, aB], 2)
            z = torch.cat([pz, zB], 2)
        e = (torch.softmax(z, dim=2) * a).sum(2)
        return self.norm(e)


class Indexer(nn.Module):
    """Lightning indexer of CSA layers (design §2.9)."""

    def __init__(self, cfg: Config):
        super().__init__()
        self.nh, self.hd = cfg.index_n_heads, cfg.index_head_dim
        self.wq_b = _linear(cfg.q_lora_rank, self.nh * self.hd)
        self.weights_proj = _linear(cfg.hidden_size, self.nh)
        self.compressor = Compressor(cfg, 4, self.hd, cfg.hidden_size)

    def scores(self, x, q_lat, cos_s, sin_s, cos_w, sin_w):
        """Index scores I [B,S,NW] (unmasked)."""
        B, S, _ = x.shape
        q = self.wq_b(q_lat).view(B, S, self.nh, self.hd)
        q = apply_rope(q, cos_s[:, None], sin_s[:, None])
        q = hadamard(q)
        q = ste(q, fp4_roundtrip(q))
        k = self.compressor(x)
        k = apply_rope(k, cos_w, sin_w)
        k = hadamard(k)
        k = ste(k, fp4_roundtrip(k))
        w = self.weights_proj(x) * (self.hd ** -0.5 * self.nh ** -0.5)
        dots = torch.relu(torch.einsum("bshd,bwd->bshw", q, k))
        return torch.einsum("bshw,bsh->bsw", dots, w)


class Attention(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        self.cfg = cfg
        self.ratio = cfg.compress_ratios[layer]
        H, hd = cfg.num_attention_heads, cfg.head_dim
        self.H, self.hd, self.rd = H, hd, cfg.qk_rope_head_dim
        self.wq_a = _linear(cfg.hidden_size, cfg.q_lora_rank)
        self.q_norm = RMSNorm(cfg.q_lora_rank, cfg.rms_norm_eps)
        self.wq_b = _linear(cfg.q_lora_rank, H * hd)
        self.wkv = _linear(cfg.hidden_size, hd)
        self.kv_norm = RMSNorm(hd, cfg.rms_norm_eps)
        G = cfg.o_groups
        self.G = G
        self.wo_a = _linear(H // G * hd, G * cfg.o_lora_rank)  # weight [G*o_lora, H/G*hd]
        self.wo_b = _linear(G * cfg.o_lora_rank, cfg.hidden_size)
        self.attn_sink = nn.Parameter(torch.zeros(H))
        if self.ratio:
            self.compressor = Compressor(cfg, self.ratio, hd, cfg.hidden_size)
            if self.ratio == 4:
                self.indexer = Indexer(cfg)
        self.register_buffer("freqs", rope_freqs(cfg, self.ratio != 0), persistent=False)

    def _quant_kv(self, k):
        nope = self.hd - self.rd
        kn = k[..., :nope]
        kn = ste(kn, fp8_roundtrip(kn))
        return torch.cat([kn, k[..., nope:]], -1)

    def forward(self, x: torch.Tensor, aux: dict | None = None) -> torch.Tensor:
        B, S, _ = x.shape
        H, hd, cfg = self.H, self.hd, self.cfg
        pos = torch.arange(S)
        cos, sin = rope_cos_sin(self.freqs, pos)
        q_lat = self.q_norm(self.wq_a(x))
        q = self.wq_b(q_lat).view(B, S, H, hd)
        q = q * torch.rsqrt(q.pow(2).mean(-1, keepdim=True) + cfg.rms_norm_eps)
        q = apply_rope(q, cos[:, None], sin[:, None])  # [B,S,H,hd]
        k = self.kv_norm(self.wkv(x))
        k = apply_rope(k, cos, sin)
        k = self._quant_kv(k)  # [B,S,hd]
        scale = hd ** -0.5
        t = pos[None, :]
        s = pos[:, None]
        win = (t <= s) & (t > s - cfg.sliding_window)  # [S,S]
        keys, mask = k, win[None]
        if self.ratio:
            r = self.ratio
            e = self.compressor(x)  # [B,NW,hd]
            nw = e.shape[1]
            wpos = torch.arange(nw) * r
            cw, sw = rope_cos_sin(self.freqs, wpos)
            e = apply_rope(e, cw, sw)
            e = self._quant_kv(e)
            visible = (torch.arange(nw)[None, :] + 1) * r <= (pos[:, None] + 1)  # [S,NW]
            cmask = visible[None]
            if r == 4 and nw > 0:
                # The indexer sees detached inputs: the LM loss does not train it,
                # its own KL loss (below) does.
                I = self.indexer.scores(x.detach(), q_lat.detach(), cos, sin, cw, sw)  # [B,S,NW]
                I = I.masked_fill(~visible, float("-inf"))
                kk = min(cfg.index_topk, nw)
                idx = I.topk(kk, dim=-1).indices
                sel = torch.zeros(B, S, nw, dtype=torch.bool).scatter_(-1, idx, True)
                cmask = sel & visible  # drop invisible picks (fewer than topk visible)
                if aux is not None and self.training:
                    # KL(target || softmax(I)) over visible entries; target = the main
                    # attention's distribution over all visible compressed entries
                    # (mean over heads), detached.
                    with torch.no_grad():
                        qd = q.detach().reshape(B, S * H, hd)
                        scd = torch.bmm(qd, e.detach().transpose(1, 2)).view(B, S, H, nw) * scale
                        tgt = torch.softmax(scd.masked_fill(~visible[:, None], float("-inf")), -1).mean(2)
                        rows = visible.any(-1)  # [S]
                    logp = torch.log_softmax(I[:, rows], -1)
                    tg = tgt[:, rows]
                    kl = (tg * (torch.log(tg.clamp_min(1e-12)) - logp.clamp_min(-1e4))).masked_fill(
                        ~visible[rows][None], 0).sum(-1).mean()
                    aux.setdefault("indexer_kl", []).append(kl)
            keys = torch.cat([k, e], 1)
            mask = torch.cat([win[None].expand(cmask.shape[0], S, S), cmask], -1)
        # scores [B, S*H, T] with q kept in [B,S,H,hd] order (no transposes)
        sc = torch.bmm(q.reshape(B, S * H, hd), keys.transpose(1, 2)).view(B, S, H, -1) * scale
        sc = sc.masked_fill(~mask[:, :, None, :], float("-inf"))
        # sink: an extra logit in the softmax denominator with no value
        sink = self.attn_sink.view(1, 1, H, 1).expand(B, S, H, 1)
        p = torch.softmax(torch.cat([sc, sink], -1), -1)[..., :-1]
        o = torch.bmm(p.view(B, S * H, -1), keys).view(B, S, H, hd)
        o = apply_rope(o, cos[:, None], sin[:, None], inverse=True)  # [B,S,H,hd]
        o = o.reshape(B, S, self.G, H // self.G * hd)
        wa = self.wo_a.weight.view(self.G, -1, H // self.G * hd)
        u = torch.einsum("bsgi,goi->bsgo", o, wa).reshape(B, S, -1)
        return self.wo_b(u)


class Expert(nn.Module):
    def __init__(self, d: int, inter: int, limit: float):
        super().__init__()
        self.w1 = _linear(d, inter)
        self.w2 = _linear(inter, d)
        self.w3 = _linear(d, inter)
        self.limit = limit

    def forward(self, x, weight=None):
        g = self.w1(x)
        u = self.w3(x)
        if self.limit and self.limit > 0:
            u = torch.clamp(u, -self.limit, self.limit)
            g = torch.clamp(g, max=self.limit)
        act = F.silu(g) * u
        if weight is not None:
            act = act * weight
        return self.w2(act)


class Gate(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        self.hash = layer < cfg.num_hash_layers
        self.topk = cfg.num_experts_per_tok
        self.weight = nn.Parameter(torch.empty(cfg.n_routed_experts, cfg.hidden_size))
        if self.hash:
            self.register_buffer("tid2eid", torch.zeros(cfg.vocab_size, self.topk, dtype=torch.int64))
        else:
            self.register_buffer("bias", torch.zeros(cfg.n_routed_experts))
        self.scale = cfg.routed_scaling_factor

    def forward(self, x, tok):
        sc = torch.sqrt(F.softplus(x @ self.weight.t()))
        if self.hash:
            idx = self.tid2eid[tok]
        else:
            idx = (sc + self.bias).topk(self.topk, dim=-1).indices
        w = sc.gather(-1, idx)
        w = w / w.sum(-1, keepdim=True) * self.scale
        return w, idx


class MoE(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        self.E = cfg.n_routed_experts
        self.gate = Gate(cfg, layer)
        self.experts = nn.ModuleList(
            [Expert(cfg.hidden_size, cfg.moe_intermediate_size, cfg.swiglu_limit) for _ in range(self.E)])
        # the later official revision clamps the shared expert too (design §2.14)
        self.shared_experts = Expert(cfg.hidden_size, cfg.n_shared_experts * cfg.moe_intermediate_size,
                                     cfg.swiglu_limit)

    def forward(self, x, tok, aux: dict | None = None):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        tok = tok.reshape(-1)
        w, idx = self.gate(x, tok)
        y = torch.zeros_like(x)
        counts = torch.bincount(idx.flatten(), minlength=self.E)
        for e in range(self.E):
            if counts[e] == 0:
                continue
            rows, slot = (idx == e).nonzero(as_tuple=True)
            out = self.experts[e](x[rows], w[rows, slot, None])
            y = y.index_add(0, rows, out)
        y = y + self.shared_experts(x)
        if aux is not None and not self.gate.hash:
            aux.setdefault("loads", []).append((self.gate, counts.detach()))
        return y.view(shape)


class Block(nn.Module):
    def __init__(self, cfg: Config, layer: int):
        super().__init__()
        D, hc = cfg.hidden_size, cfg.hc_mult
        self.cfg = cfg
        self.attn_norm = RMSNorm(D, cfg.rms_norm_eps)
        self.ffn_norm = RMSNorm(D, cfg.rms_norm_eps)
        self.attn = Attention(cfg, layer)
        self.ffn = MoE(cfg, layer)
        mix = (2 + hc) * hc
        self.hc_attn_fn = nn.Parameter(torch.empty(mix, hc * D))
        self.hc_attn_base = nn.Parameter(torch.zeros(mix))
        self.hc_attn_scale = nn.Parameter(torch.ones(3))
        self.hc_ffn_fn = nn.Parameter(torch.empty(mix, hc * D))
        self.hc_ffn_base = nn.Parameter(torch.zeros(mix))
        self.hc_ffn_scale = nn.Parameter(torch.ones(3))

    def hc_pre(self, h, fn, base, scale):
        cfg = self.cfg
        hc, eps = cfg.hc_mult, cfg.hc_eps
        X = h.flatten(-2)  # [B,S,hc*D] stream-major
        r = torch.rsqrt(X.pow(2).mean(-1, keepdim=True) + cfg.rms_norm_eps)
        m = (X @ fn.t()) * r
        pre = torch.sigmoid(m[..., :hc] * scale[0] + base[:hc]) + eps
        post = 2 * torch.sigmoid(m[..., hc:2 * hc] * scale[1] + base[hc:2 * hc])
        L = (m[..., 2 * hc:] * scale[2] + base[2 * hc:]).unflatten(-1, (hc, hc))
        # Sinkhorn in a token-last layout [j, k, tokens]: the row/column sums
        # become adds of contiguous slabs (4x faster on CPU than [..., j, k]).
        Lt = L.permute(-2, -1, *range(L.dim() - 2))
        C = torch.softmax(Lt, 1) + eps
        C = C / (C.sum(0, keepdim=True) + eps)
        for _ in range(cfg.hc_sinkhorn_iters - 1):
            C = C / (C.sum(1, keepdim=True) + eps)
            C = C / (C.sum(0, keepdim=True) + eps)
        C = C.permute(*range(2, C.dim()), 0, 1)
        y = (pre.unsqueeze(-1) * h).sum(-2)
        return y, post, C

    @staticmethod
    def hc_post(f, h, post, C):
        # h'[k] = post[k] f + sum_j C[j][k] h[j]  (explicit sum over j: faster
        # than a batched 4x4 matmul per token on CPU)
        out = post.unsqueeze(-1) * f.unsqueeze(-2)
        for j in range(h.shape[-2]):
            out = out + C[..., j, :, None] * h[..., j, None, :]
        return out

    def forward(self, h, tok, aux=None):
        y, post, C = self.hc_pre(h, self.hc_attn_fn, self.hc_attn_base, self.hc_attn_scale)
        h = self.hc_post(self.attn(self.attn_norm(y), aux), h, post, C)
        y, post, C = self.hc_pre(h, self.hc_ffn_fn, self.hc_ffn_base, self.hc_ffn_scale)
        h = self.hc_post(self.ffn(self.ffn_norm(y), tok, aux), h, post, C)
        return h


class Transformer(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.cfg = cfg
        D, hc = cfg.hidden_size, cfg.hc_mult
        self.embed = nn.Embedding(cfg.vocab_size, D)
        self.layers = nn.ModuleList([Block(cfg, i) for i in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(D, cfg.rms_norm_eps)
        self.head = _linear(D, cfg.vocab_size)
        self.hc_head_fn = nn.Parameter(torch.empty(hc, hc * D))
        self.hc_head_base = nn.Parameter(torch.zeros(hc))
        self.hc_head_scale = nn.Parameter(torch.ones(1))

    def hidden(self, tok, aux=None):
        cfg = self.cfg
        e = self.embed(tok)
        h = e.unsqueeze(-2).expand(*e.shape[:-1], cfg.hc_mult, e.shape[-1])
        for blk in self.layers:
            h = blk(h, tok, aux)
        X = h.flatten(-2)
        r = torch.rsqrt(X.pow(2).mean(-1, keepdim=True) + cfg.rms_norm_eps)
        m = (X @ self.hc_head_fn.t()) * r
        pre = torch.sigmoid(m * self.hc_head_scale[0] + self.hc_head_base) + cfg.hc_eps
        y = (pre.unsqueeze(-1) * h).sum(-2)
        return self.norm(y)

    def forward(self, tok, aux=None):
        return self.head(self.hidden(tok, aux))

    # -------------------------------------------------------------- training

    @torch.no_grad()
    def init_weights(self, seed: int):
        """Fan-in scaled init; residual-output projections scaled by 1/sqrt(2L)."""
        cfg = self.cfg
        g = torch.Generator().manual_seed(seed)
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name.endswith("_fn"):
                p.normal_(0.0, 0.02, generator=g)
            elif name.endswith("_scale"):
                p.fill_(1.0)
            elif name.endswith("_base") or name.endswith("attn_sink") or name.endswith("ape"):
                p.zero_()
            elif name == "embed.weight":
                p.normal_(0.0, 1.0, generator=g)
            elif p.dim() == 2:
                std = p.shape[1] ** -0.5
                if name.endswith("wo_b.weight") or name.endswith("w2.weight"):
                    std /= math.sqrt(2 * cfg.num_hidden_layers)
                p.normal_(0.0, std, generator=g)
        for L, blk in enumerate(self.layers):
            if blk.ffn.gate.hash:
                # each token id gets k distinct experts, assigned round-robin over a
                # seeded permutation so expert loads start balanced
                V, k, E = cfg.vocab_size, cfg.num_experts_per_tok, cfg.n_routed_experts
                t = torch.empty(V, k, dtype=torch.int64)
                for v in range(V):
                    t[v] = torch.randperm(E, generator=g)[:k]
                blk.ffn.gate.tid2eid.copy_(t)

    @torch.no_grad()
    def update_router_bias(self, loads, gamma: float):
        """noaux_tc balancing: raise the bias of under-loaded experts, lower the rest."""
        for gate, counts in loads:
            c = counts.float()
            gate.bias.add_(gamma * torch.sign(c.mean() - c))


def load_state(model: Transformer, tensors: dict) -> list:
    """Load float tensors by official name; returns names that were ignored (MTP)."""
    sd = model.state_dict()
    ignored = []
    for name, t in tensors.items():
        if name not in sd:
            ignored.append(name)
            continue
        if sd[name].shape != t.shape:
            raise ValueError(f"tensor {name}: shape {tuple(t.shape)} != model {tuple(sd[name].shape)}")
        sd[name].copy_(t.to(sd[name].dtype))
    missing = [n for n in sd if n not in tensors]
    if missing:
        raise ValueError(f"checkpoint lacks tensors: {missing[:10]}")
    return ignored
