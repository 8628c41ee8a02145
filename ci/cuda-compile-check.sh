#!/usr/bin/env bash
# Compiles every kernel family of Kernels/cl/ as CUDA C++ through NVRTC (compute_90) and ptxas (sm_90),
# without a GPU, and prints registers, spills and shared memory per kernel. Fails on a compile error or
# on a spill in attention.cl. NVRTC and ptxas come from NVIDIA's PyPI wheels, downloaded once into
# .build/cuda-tools/. Needs python3 (with pip for that first download). See ci/cuda_compile_check.py.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if ! command -v python3 >/dev/null 2>&1; then
    echo "cuda-compile-check: python3 not found (Debian: apt-get install python3 python3-pip)" >&2
    exit 2
fi
exec python3 "$here/cuda_compile_check.py" "$@"
