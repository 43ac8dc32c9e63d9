#!/usr/bin/env bash
# One prepared GPU check of the pre-training step (a few minutes on any CUDA machine):
# tokens/s, peak memory, MFU of the `small` proxy (eager and torch.compile) and loader throughput.
# Needs only this checkout and a Python with numpy, torch (CUDA build), pydantic, orjson, click, xxhash.
#
#   bash benchmarks/gpu_step.sh                                # small model, seq 1024, batch 32
#   PEAK_FLOPS=989e12 bash benchmarks/gpu_step.sh --seq-len 2048 --batch-size 16
#   OUT=/tmp/gpu bash benchmarks/gpu_step.sh                   # also writes $OUT/gpu_step.json
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]] && .venv/bin/python -c 'import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    PY=.venv/bin/python
  else
    PY=python3
  fi
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
args=(--compile --peak-flops "${PEAK_FLOPS:-989e12}")
[[ -n "${OUT:-}" ]] && mkdir -p "$OUT" && args+=(--json "$OUT/gpu_step.json")
exec timeout "${TIMEOUT:-540}" "$PY" benchmarks/gpu_step.py "${args[@]}" "$@"
