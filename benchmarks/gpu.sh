#!/usr/bin/env bash
# GPU training throughput: a BERT-base-sized random model, sequence length 128, bf16,
# the tuned Trainer against `weighted-bert train`; tokens/s and MFU against the card's
# measured bf16 matmul peak. Writes benchmarks/results/gpu.md. A few minutes.
#
#   bash benchmarks/gpu.sh                 # on a machine with a CUDA GPU
#   bash benchmarks/gpu.sh --smoke         # a 2-layer model for 4 steps, to check the script anywhere
#
# Needs torch (a CUDA build), transformers and accelerate already installed; installs
# the rest of the project's pure-Python requirements from PyPI when it can reach it.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 - <<'PY' || { echo "gpu.sh: needs torch, transformers and accelerate installed" >&2; exit 2; }
import torch, transformers, accelerate
print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
      f"CUDA {'available: ' + torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available'}")
PY
for module in sklearn matplotlib google_crc32c; do
  python3 -c "import $module" 2>/dev/null || python3 -m pip install -q scikit-learn matplotlib google-crc32c || true
done
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" python3 benchmarks/gpu_throughput.py "$@"
