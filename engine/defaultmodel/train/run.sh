#!/usr/bin/env bash
# The exact pipeline that produced engine/defaultmodel/model (see MODEL_CARD.md):
# 40 minutes of training from scratch, 10 minutes of quantisation-aware
# polish, 10 minutes of reply polish (60 in all), the storage decision, the
# export and the Go checks.
# DATA, TRAIN, RUN, RUNQ and RUNR are scratch folders outside the repository.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
DATA=${DATA:-/tmp/dm-data}
TRAIN=${TRAIN:-/tmp/dm-train}
RUN=${RUN:-/tmp/dm-run}
RUNQ=${RUNQ:-/tmp/dm-runq}
RUNR=${RUNR:-/tmp/dm-runr}
PY=".venv-train/bin/python"
# 1. the tokenizer and the held-out split: corpus seed 1 (120k training
#    documents, default mix) -> byte-level BPE (1536) trained on its first
#    30k documents -> engine/defaultmodel/model/tokenizer.json; val.bin (2k
#    documents of the held-out stream, default mix) is the split every
#    held-out loss in the card is measured on.
go run ./engine/defaultmodel/cmd/prepare -seed 1 -n 120000 -val 2000 -vocab 1536 -data "$DATA" -model engine/defaultmodel/model
# 2. the golden check of the PyTorch implementation
$PY engine/defaultmodel/train/validate_golden.py
# 3. the training data: 140k fresh documents (seed 4, the tokenizer of step
#    1) with multiple choice raised to 30 % (its answer is one token per
#    chat, so it needs the exposure).
go run ./engine/defaultmodel/cmd/prepare -seed 4 -n 140000 -val 2000 -data "$TRAIN" -model "$TRAIN/tokenizer" \
    -tokenizer engine/defaultmodel/model/tokenizer.json \
    -mix "review=0.45,chat_review=0.13,chat_opinion=0.04,chat_secret=0.08,chat_mc=0.30"
# 4. training from scratch: seed 1234, one thread (measured 3x faster than
#    two on the shared 2-core machine), lr 3e-3 cosine over a 40-minute
#    wall-time budget; the first answer token after </think> weighs 30x in
#    the loss (the assistant's whole decision: the letter, refuse or comply,
#    which review). Replay step for step: --replay-lr engine/defaultmodel/train/run/log.jsonl
OMP_WAIT_POLICY=PASSIVE $PY engine/defaultmodel/train/train.py \
    --data "$TRAIN" --config engine/defaultmodel/train/config.json --out "$RUN" \
    --steps 5000 --batch 8 --threads 1 --lr 3e-3 --warmup 50 --eval-every 100 --eval-docs 256 \
    --time-budget 2400 --seed 1234 --answer-weight 30
cp "$RUN"/{log.jsonl,summary.json,loss.png} engine/defaultmodel/train/run/
# 5. quantisation-aware polish: 10 minutes more on the same data at lr 3e-4;
#    the forward pass sees every dense linear through its FP8 round trip and
#    every routed expert through its FP4 one (straight-through gradients).
#    Replay: --replay-lr engine/defaultmodel/train/run-qat/log.jsonl
OMP_WAIT_POLICY=PASSIVE $PY engine/defaultmodel/train/train.py \
    --data "$TRAIN" --config engine/defaultmodel/train/config.json --out "$RUNQ" --init-from "$RUN/final.pt" \
    --steps 5000 --batch 8 --threads 1 --lr 3e-4 --warmup 10 --eval-every 100 --eval-docs 256 \
    --time-budget 600 --seed 5 --answer-weight 30 --qat
cp "$RUNQ"/{log.jsonl,summary.json,loss.png} engine/defaultmodel/train/run-qat/
# 5b. reply polish: 10 minutes more, lr 2e-4, every token of an assistant
#    reply weighs 4x (--reply-weight 4; the first still 30x): sampled (T 0.8)
#    replies went wrong a few tokens in, where the first-token weight does not
#    reach (stage 2's sampled request following: 89.5 % over 171 requests).
#    Still quantisation-aware. Replay: --replay-lr engine/defaultmodel/train/run-reply/log.jsonl
OMP_WAIT_POLICY=PASSIVE $PY engine/defaultmodel/train/train.py \
    --data "$TRAIN" --config engine/defaultmodel/train/config.json --out "$RUNR" --init-from "$RUNQ/final.pt" \
    --steps 5000 --batch 8 --threads 1 --lr 2e-4 --warmup 10 --eval-every 100 --eval-docs 256 \
    --time-budget 600 --seed 6 --answer-weight 30 --reply-weight 4 --qat
cp "$RUNR"/{log.jsonl,summary.json,loss.png} engine/defaultmodel/train/run-reply/
$PY engine/defaultmodel/train/plot_stages.py engine/defaultmodel/train/run engine/defaultmodel/train/run-qat \
    engine/defaultmodel/train/run-reply --labels "from scratch,QAT,reply polish" \
    --out engine/defaultmodel/train/run-reply/stages.png
# 6. the storage decision (MODEL_CARD.md, Storage): export BF16 and the
#    release's formats (FP8 dense linears, FP4 routed experts) to scratch
#    folders and evaluate both with the Go engine, same prompts; the release's
#    formats ship when no evaluation drops by more than 2 points.
for s in bf16 fp8; do
    mkdir -p "$RUNR/$s" && cp engine/defaultmodel/model/tokenizer*.json engine/defaultmodel/model/generation_config.json "$RUNR/$s/"
    $PY engine/defaultmodel/train/export.py --ckpt "$RUNR/final.pt" --data "$DATA" \
        --model "$RUNR/$s" --parity "$RUNR/$s/parity.safetensors" --storage "$s"
    cp "$RUNR/export.json" "engine/defaultmodel/train/run-reply/export_$s.json"
done
go run ./engine/defaultmodel/eval/cmd/evalmodel -model "$RUNR/bf16" -compare "$RUNR/fp8" -n 512 -steer-prompts 512 \
    -strengths 4,6,8,10,12,14,16,20 -out "$RUNR/storage"
cp "$RUNR/storage/comparison.md" engine/defaultmodel/train/run-reply/storage.md
ship=bf16
if grep -q '"holds": true' "$RUNR/storage/comparison.json"; then ship=fp8; fi
echo "storage decision: $ship"
# 7. embed the chosen export, with its parity data for the Go test
cp "$RUNR/$ship"/{model.safetensors,config.json} engine/defaultmodel/model/
cp "$RUNR/$ship/parity.safetensors" engine/defaultmodel/testdata/parity.safetensors
# 8. Go checks: parity, the quality report of the card, multiple choice on
#    questions no training document contains
go test ./engine/defaultmodel/ -run TestParityWithPyTorch -v
go run ./engine/defaultmodel/eval/cmd/evalmodel -n 128 -steer-variants -out engine/defaultmodel/eval/testdata
go run ./engine/defaultmodel/eval/cmd/mcunseen -n 1200
