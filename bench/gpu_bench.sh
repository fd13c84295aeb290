#!/usr/bin/env bash
# One SD 1.5 UNet denoising step at 512x512 on an NVIDIA GPU: torch fp16 vs ONNX Runtime fp16 (CUDA EP).
#
# Same UNet (SD 1.5 config, random weights) and same export as bench/unet_bench.py; the ONNX graph is
# converted to fp16 the way `photogen models export --precision fp16` does. Needs torch with CUDA and
# onnxruntime-gpu in place of onnxruntime (`make run GPU=1`) and nvidia-smi; the machine needs no network. Finishes
# in well under 10 minutes on an A100/H100 class GPU (most of it is the export, on the CPU).
#
#   bash bench/gpu_bench.sh [--reps 20]
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${VIRTUAL_ENV:-}" && -f .venv/bin/activate ]]; then
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi
PY="${PYTHON:-python3}"

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$PY" - <<'PYCHECK'
import sys
import onnxruntime as ort
import torch

problems = []
if not torch.cuda.is_available():
    problems.append(f"torch {torch.__version__} sees no CUDA device (install a CUDA build of torch)")
if "CUDAExecutionProvider" not in ort.get_available_providers():
    problems.append(f"onnxruntime {ort.__version__} has no CUDAExecutionProvider (pip install onnxruntime-gpu)")
if problems:
    sys.exit("gpu_bench: " + "; ".join(problems))
print(f"torch {torch.__version__} (CUDA {torch.version.cuda}), onnxruntime {ort.__version__}: {torch.cuda.get_device_name(0)}")
PYCHECK

# 570 s leaves room inside a 10-minute slot; --reps defaults to 20 in GPU mode
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" timeout 570 "$PY" bench/unet_bench.py --gpu "$@"
