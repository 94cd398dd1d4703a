"""Train Steerbook's default DeepSeek-V4 model on the prepared token file.

Inputs (written by `go run ./engine/defaultmodel/cmd/prepare`):
  <data>/train.bin, <data>/val.bin   uint16 token ids, documents concatenated
  <data>/train.idx, <data>/val.idx   uint32 start offset of every document
  <data>/meta.json                   vocab size, special ids, generator entropy

Training samples start at a document start (position 0 is BOS, as at inference)
and run `seq` tokens, crossing into following documents. Loss = next-token
cross-entropy + kl_weight * indexer KL (see dsv4.Attention): the indexer is
trained only by its KL term, the rest only by the LM loss. The router bias of
bias-routed MoE layers is updated after every step by the sign of the load
imbalance (noaux_tc), no auxiliary loss.

Writes <out>/ckpt.pt periodically (resumable), <out>/log.jsonl, and at the end
<out>/final.pt, <out>/loss.png and <out>/summary.json.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dsv4  # noqa: E402


def parse():
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--config", required=True, help="HF-style config.json to train")
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--min-lr-frac", type=float, default=0.05)
    p.add_argument("--warmup", type=int, default=100)
    p.add_argument("--wd", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--kl-weight", type=float, default=1.0)
    p.add_argument("--bias-gamma", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--eval-every", type=int, default=100)
    p.add_argument("--eval-docs", type=int, default=256, help="held-out docs for periodic evaluation")
    p.add_argument("--time-budget", type=float, default=0, help="seconds; stop early (0 = none)")
    p.add_argument("--bench", type=int, default=0, help="time N steps and exit")
    p.add_argument("--reply-weight", type=float, default=1.0,
                   help="loss weight of every token of an assistant reply (after </think>, up to and including "
                        "its EOS): the request's attributes must hold through the whole reply, and sampled "
                        "replies go wrong a few tokens in, where the first-token weight does not reach")
    p.add_argument("--answer-weight", type=float, default=1.0,
                   help="loss weight of the first token after </think> (the assistant's decision: the MC letter, "
                        "refuse or comply). One token per chat carries the whole decision, so at weight 1 its "
                        "gradient is lost among ~100 others per document")
    p.add_argument("--think-end-id", type=int, default=6, help="token id of </think>")
    p.add_argument("--qat", action="store_true",
                   help="quantisation-aware training: the forward pass sees every weight export.py --storage fp8 "
                        "quantises as the engine will read it (BF16, then FP8 128x128 blocks for dense linears, "
                        "FP4 per 32 for routed experts), with straight-through gradients")
    p.add_argument("--mc-ids", default="581,591", help="token ids of the MC answers \"(A\",\"(B\" (held-out accuracy)")
    p.add_argument("--init-from", default="", help="start from this checkpoint's weights (final.pt / ckpt.pt), "
                   "fresh optimizer: a second training stage")
    p.add_argument("--replay-lr", default="", help="log.jsonl of an earlier run: reuse its per-step learning "
                   "rates and step count (reproduces a --time-budget run, whose schedule depended on wall time)")
    return p.parse_args()


class Data:
    def __init__(self, d, split, seq):
        self.tok = np.fromfile(os.path.join(d, f"{split}.bin"), dtype=np.uint16)
        self.starts = np.fromfile(os.path.join(d, f"{split}.idx"), dtype=np.uint32).astype(np.int64)
        self.seq = seq
        self.all_starts = self.starts.copy()
        # a sample needs seq+1 tokens
        self.starts = self.starts[self.starts + seq + 1 <= len(self.tok)]

    def batch(self, rng, n):
        s = rng.choice(self.starts, size=n)
        x = np.stack([self.tok[i: i + self.seq + 1] for i in s]).astype(np.int64)
        x = torch.from_numpy(x)
        return x[:, :-1], x[:, 1:]

    def fixed(self, n, seed=0):
        rng = np.random.default_rng(seed)
        return [self.batch(rng, n) for _ in range(1)]


def progress(step, elapsed, a):
    """Fraction of the run done: by steps, or by wall time when a time budget
    is set (the machine is shared, so step times vary; a time-based cosine
    always finishes its decay inside the budget)."""
    p = step / a.steps
    if a.time_budget:
        p = max(p, elapsed / a.time_budget)
    return min(1.0, p)


def lr_at(step, prog, a):
    if step < a.warmup:
        return a.lr * (step + 1) / a.warmup
    t = prog
    return a.lr * (a.min_lr_frac + (1 - a.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * t)))


class ReleaseRoundTrip(torch.nn.Module):
    """Weight parametrisation for --qat: forward value = the weight after the
    release's storage round trip (the values the Go engine dequantises),
    gradient = identity (straight-through)."""

    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, w):
        with torch.no_grad():
            q = self.fn(w.detach().to(torch.bfloat16).float())
        return w + (q - w).detach()


def add_qat(model):
    """Register ReleaseRoundTrip on every linear export.py quantises; returns
    how many. The export's own quantisers are used, so training sees exactly
    the exported values."""
    from torch.nn.utils import parametrize
    import export  # noqa: E402 (same folder; is_dense_linear, fp8_block_quant, fp4_quant)
    n = 0
    for name, mod in list(model.named_modules()):
        if not isinstance(mod, torch.nn.Linear):
            continue
        wname = name + ".weight"
        if ".experts." in wname:
            fn = export.fp4_quant
        elif export.is_dense_linear(wname):
            fn = export.fp8_block_quant
        else:
            continue
        parametrize.register_parametrization(mod, "weight", ReleaseRoundTrip(fn))
        n += 1
    return n


def plain_state(model):
    """state_dict under the plain names (a parametrised weight's original
    tensor as <module>.weight), for final.pt and export.py."""
    out = {}
    for k, v in model.state_dict().items():
        out[k.replace(".parametrizations.weight.original", ".weight")] = v
    return out


def token_weights(x, y, a):
    """Per-target loss weights: a.reply_weight for every target inside an
    assistant reply (the input is </think> or a later token of the same
    document), and a.answer_weight where the input token is </think>, i.e.
    the target is the first token of the answer."""
    w = torch.ones(y.shape)
    if a.reply_weight != 1.0:
        pos = torch.arange(x.shape[-1]).expand_as(x)
        last_think = torch.where(x == a.think_end_id, pos, -1).cummax(-1).values
        last_doc = torch.where((x == 0) | (x == 1), pos, -1).cummax(-1).values  # BOS 0, EOS 1 (prepare)
        w[last_think > last_doc] = a.reply_weight
    if a.answer_weight != 1.0:
        w[x == a.think_end_id] = a.answer_weight
    return w


@torch.no_grad()
def evaluate(model, data, ndocs, batch=32, think_end=6, answer_ids=()):
    """Held-out loss in nats per predicted token, document by document: each
    document starts at position 0 (BOS) and every token after BOS, EOS
    included, is predicted - the same count as the generator's entropy per
    token in meta.json. Documents are right-padded; padding is causally
    invisible (compressed entries only exist for complete windows)."""
    model.eval()
    starts = data.all_starts[:ndocs]
    ends = np.append(data.all_starts[1:], len(data.tok))[:ndocs]
    tot, n = 0.0, 0
    ans_ok, ans_n = 0, 0
    for i in range(0, len(starts), batch):
        st, en = starts[i:i + batch], ends[i:i + batch]
        L = int((en - st).max())
        x = np.full((len(st), L), 1, dtype=np.int64)
        m = np.zeros((len(st), L - 1), dtype=bool)
        for j, (a, b) in enumerate(zip(st, en)):
            x[j, : b - a] = data.tok[a:b]
            m[j, : b - a - 1] = True
        x = torch.from_numpy(x)
        m = torch.from_numpy(m)
        logits = model(x[:, :-1])
        nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                                reduction="none").view(m.shape)
        tot += nll[m].sum().item()
        n += int(m.sum())
        if answer_ids:
            inp, tgt = x[:, :-1], x[:, 1:]
            sel = m & (inp == think_end)
            for aid in answer_ids:
                sel_a = sel & (tgt == aid)
                ans_n += int(sel_a.sum())
                ans_ok += int((logits.argmax(-1)[sel_a] == aid).sum())
    model.train()
    if answer_ids:
        return tot / n, (ans_ok / ans_n if ans_n else float("nan"))
    return tot / n


def loss_axes(ax, entropy, xlabel):
    """Log-scale loss axes with the generator's entropy and the issue's +10 % bar."""
    if entropy:
        ax.axhline(entropy, color="k", ls="--", lw=1, label=f"generator entropy {entropy:.3f}")
        ax.axhline(entropy * 1.1, color="gray", ls=":", lw=1, label="entropy + 10%")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("loss (nats/token)")
    ax.set_yscale("log")


def plot(logf, png, entropy):
    rows = [json.loads(l) for l in open(logf)]
    tr = [(r["step"], r["loss"]) for r in rows if "loss" in r]
    va = [(r["step"], r["val_loss"]) for r in rows if "val_loss" in r]
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    if tr:
        s, l = zip(*tr)
        # smooth the noisy per-step loss over 20 steps
        k = 20
        ls = np.convolve(l, np.ones(k) / k, mode="valid") if len(l) > k else l
        ax.plot(s[len(s) - len(ls):], ls, label="train (20-step mean)", lw=1)
    if va:
        s, l = zip(*va)
        ax.plot(s, l, "o-", ms=3, label="held-out")
    loss_axes(ax, entropy, "step")
    ax.legend()
    ax.grid(alpha=0.3)
    ax.set_title("Steerbook default model (DeepSeek-V4 architecture)")
    fig.tight_layout()
    fig.savefig(png)


def main():
    a = parse()
    a.mc_ids = tuple(int(t) for t in a.mc_ids.split(",") if t)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    with open(a.config) as f:
        cfg = dsv4.Config.from_hf(json.load(f))
    meta = {}
    mp = os.path.join(a.data, "meta.json")
    if os.path.exists(mp):
        meta = json.load(open(mp))
    replay = None
    if a.replay_lr:
        replay = [json.loads(l)["lr"] for l in open(a.replay_lr)]
        a.steps, a.time_budget = len(replay), 0
    model = dsv4.Transformer(cfg)
    model.init_weights(a.seed)
    if a.init_from:
        model.load_state_dict(torch.load(a.init_from)["model"])
        print(f"initialised from {a.init_from}", flush=True)
    if a.qat:
        print(f"quantisation-aware: {add_qat(model)} linears see their FP8/FP4 round trip", flush=True)
    nparam = sum(p.numel() for p in model.parameters())
    print(f"parameters: {nparam:,}", flush=True)

    decay, no_decay = [], []
    for n, p in model.named_parameters():
        (decay if p.dim() == 2 and "_fn" not in n else no_decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    train = Data(a.data, "train", a.seq)
    val = Data(a.data, "val", a.seq)
    rng = np.random.default_rng(a.seed)

    step, elapsed = 0, 0.0
    ck = os.path.join(a.out, "ckpt.pt")
    logf = os.path.join(a.out, "log.jsonl")
    if os.path.exists(ck) and not a.bench:
        st = torch.load(ck)
        model.load_state_dict(st["model"])
        opt.load_state_dict(st["opt"])
        step, elapsed = st["step"], st["elapsed"]
        rng.bit_generator.state = st["rng"]
        print(f"resumed at step {step}", flush=True)
    elif not a.bench:
        open(logf, "w").close()

    model.train()
    t_start = time.time() - elapsed
    log = open(logf, "a")
    bench_t = []
    while step < a.steps:
        t0 = time.time()
        prog = progress(step, time.time() - t_start, a)
        if prog >= 1.0:
            break
        lr = replay[step] if replay else lr_at(step, prog, a)
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = train.batch(rng, a.batch)
        aux = {}
        if a.qat:
            from torch.nn.utils import parametrize
            with parametrize.cached():  # one round trip per weight per step
                logits = model(x, aux)
        else:
            logits = model(x, aux)
        if a.answer_weight != 1.0 or a.reply_weight != 1.0:
            nll = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                                    reduction="none")
            w = token_weights(x, y, a).reshape(-1)
            loss = (nll * w).sum() / w.sum()
        else:
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        kl = torch.stack(aux["indexer_kl"]).mean() if aux.get("indexer_kl") else torch.zeros(())
        opt.zero_grad(set_to_none=True)
        (loss + a.kl_weight * kl).backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        model.update_router_bias(aux.get("loads", []), a.bias_gamma)
        step += 1
        dt = time.time() - t0
        if a.bench:
            bench_t.append(dt)
            print(f"step {step} {dt:.2f}s loss {loss.item():.3f} kl {kl.item():.3f}", flush=True)
            if step >= a.bench:
                b = sorted(bench_t[1:])
                med = b[len(b) // 2]
                print(f"BENCH median step {med:.2f}s = {a.batch * a.seq / med:.0f} tok/s")
                return
            continue
        rec = {"step": step, "loss": round(loss.item(), 5), "kl": round(kl.item(), 5), "lr": lr,
               "gnorm": round(float(gn), 3), "dt": round(dt, 3), "t": round(time.time() - t_start, 1)}
        if step % a.eval_every == 0 or step == a.steps:
            vl, mc = evaluate(model, val, a.eval_docs, think_end=a.think_end_id, answer_ids=a.mc_ids)
            rec["val_loss"], rec["val_mc_acc"] = round(vl, 5), round(mc, 4)
            loads = aux.get("loads", [])
            if loads:
                c = torch.stack([cn.float() for _, cn in loads])
                rec["load_maxmean"] = round((c.max(-1).values / c.mean(-1)).max().item(), 3)
            print(json.dumps(rec), flush=True)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "elapsed": time.time() - t_start, "rng": rng.bit_generator.state}, ck + ".tmp")
            os.replace(ck + ".tmp", ck)
        log.write(json.dumps(rec) + "\n")
        log.flush()
    train_time = time.time() - t_start
    print(f"stopped at step {step} after {train_time:.0f}s", flush=True)
    final_val, final_mc = evaluate(model, val, len(val.all_starts), think_end=a.think_end_id, answer_ids=a.mc_ids)
    torch.save({"model": plain_state(model), "config": cfg.to_hf(), "step": step}, os.path.join(a.out, "final.pt"))
    ent = meta.get("entropy_per_token")
    summary = {"steps": step, "train_seconds": round(train_time, 1), "tokens_seen": step * a.batch * a.seq,
               "final_val_loss": final_val, "final_val_mc_acc": final_mc, "generator_entropy_per_token": ent, "parameters": nparam,
               "args": vars(a)}
    json.dump(summary, open(os.path.join(a.out, "summary.json"), "w"), indent=1)
    print(json.dumps(summary), flush=True)
    try:
        plot(logf, os.path.join(a.out, "loss.png"), ent)
    except Exception as e:  # plotting must not lose a finished run
        print(f"plot failed: {e}", flush=True)


if __name__ == "__main__":
    main()
