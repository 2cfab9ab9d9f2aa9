#!/usr/bin/env bash
# One short GPU check for issue 14 (NOT yet run: no GPU was lent to the session that wrote it).
#
#   bash bench/gpu_check.sh            # on a machine with CUDA and the project's virtualenv
#
# What it does (bench/gpu_check.py, about 5-8 minutes on one H200 with 16 CPU cores):
#   1. one 30 m tile-day on CUDA (fp32 and fp16) against the CPU path: max |diff| and RMSE
#      (fp16 is kept only if engine.half_precision_ok: RMSE <= 0.01 gC m-2 d-1, no overflow);
#   2. one 30 x 30 km region-year of daily S2 (1 member, the cube's DDIM steps) on CUDA, timed (target 60 s);
#   3. a Korea-wide 30 m day: a sample of land tiles timed on CUDA (inputs and sampling apart)
#      and extrapolated to all land tiles (target 5 min), labelled as extrapolated.
# Writes bench/reports/gpu_check.json (and copies it to $OUT when that is set).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export UNIQUE_CACHE_DIR=${UNIQUE_CACHE_DIR:-$(mktemp -d /tmp/unique-gpu-cache-XXXX)}
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
timeout "${GPU_CHECK_TIMEOUT:-540}" "$PY" bench/gpu_check.py
if [ -n "${OUT:-}" ]; then cp bench/reports/gpu_check.json "$OUT/"; fi
