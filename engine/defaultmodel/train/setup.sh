#!/usr/bin/env bash
# Offline training environment for the default model (CPU, Debian bookworm).
# The PyTorch CPU wheel index is not reachable from the project's machines and
# PyPI's torch is the CUDA build, so Debian's CPU PyTorch 1.13.1 is used (the
# version the design's reference run used, design §7). The default BLAS
# alternative (netlib reference BLAS) makes it ~12x slower: OpenBLAS (OpenMP
# flavour, matching torch's OpenMP runtime) replaces it.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y python3-torch python3-venv libopenblas0-openmp
/usr/bin/python3 -m venv --system-site-packages .venv-train
# numpy<2: Debian's torch 1.13 is built against numpy 1.x
.venv-train/bin/pip install safetensors matplotlib "numpy<2"
grep -qx '.venv-train/' .git/info/exclude || echo '.venv-train/' >> .git/info/exclude
.venv-train/bin/python -c "import torch; print('torch', torch.__version__)"
