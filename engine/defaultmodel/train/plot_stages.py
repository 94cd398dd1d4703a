"""Plot the training stages of the default model on one step axis: held-out
loss against the generator's entropy, and held-out multiple-choice accuracy
(the answer letter after </think>), the last skill the model learns.

  .venv-train/bin/python engine/defaultmodel/train/plot_stages.py \
      engine/defaultmodel/train/run engine/defaultmodel/train/run-qat \
      --labels "from scratch,QAT polish" --out engine/defaultmodel/train/run-qat/stages.png
"""
import argparse
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train  # noqa: E402 (loss_axes)


def rows(d):
    return [json.loads(l) for l in open(os.path.join(d, "log.jsonl"))]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("runs", nargs="+", help="run folders in training order (log.jsonl, summary.json)")
    p.add_argument("--labels", default="", help="comma-separated stage names (default: stage 1, stage 2, ...)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    labels = a.labels.split(",") if a.labels else [f"stage {i + 1}" for i in range(len(a.runs))]
    if len(labels) != len(a.runs):
        sys.exit(f"plot_stages: {len(labels)} labels for {len(a.runs)} runs")
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax2 = ax.twinx()
    offset, ent, seconds = 0, None, 0.0
    for i, d in enumerate(a.runs):
        rs = rows(d)
        s = json.load(open(os.path.join(d, "summary.json")))
        ent = s.get("generator_entropy_per_token") or ent
        va = [(offset + r["step"], r["val_loss"]) for r in rs if "val_loss" in r]
        mc = [(offset + r["step"], r["val_mc_acc"]) for r in rs if "val_mc_acc" in r]
        if va:
            ax.plot(*zip(*va), "o-", ms=3, color="C0", label="held-out loss" if i == 0 else None)
        if mc:
            ax2.plot(*zip(*mc), "s-", ms=3, color="C3", label="held-out MC accuracy" if not ax2.lines else None)
        if i > 0:
            ax.axvline(offset, color="gray", lw=1)
            ax.text(offset, 1.25, " " + labels[i], color="gray", va="top")
        offset += s["steps"]
        seconds += s["train_seconds"]
    train.loss_axes(ax, ent, "step (stages one after the other)")
    ax2.set_ylabel("held-out multiple-choice accuracy")
    ax2.set_ylim(0, 1.05)
    ax2.axhline(0.9, color="C3", ls=":", lw=1)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="center", fontsize=8)
    ax.grid(alpha=0.3)
    total = seconds / 60
    ax.set_title(f"Steerbook default model: {' + '.join(labels)} ({total:.0f} min)")
    fig.tight_layout()
    fig.savefig(a.out)


if __name__ == "__main__":
    main()
