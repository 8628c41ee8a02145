#!/usr/bin/env bash
# The test command of the README: installs system packages if missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
# Formatting and lint (.swift-format: 120 columns): a diff from the formatter fails the run.
swift format lint --strict --recursive --parallel Sources Tests Tools Kernels Package.swift
echo "lint: swift-format clean"
# PoCL compiles kernels once and caches them; keep that cache inside the build folder.
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/.build/pocl-cache}"
# Our own OpenCL program-binary cache, also kept with the build.
export POYO_KERNEL_CACHE="${POYO_KERNEL_CACHE:-$PWD/.build/kernel-cache}"
# The recording index cache (RecordingIndexCache): the tests' many temporary files are indexed in
# the build folder, not in the user's cache.
export POYO_INDEX_CACHE="${POYO_INDEX_CACHE:-$PWD/.build/index-cache}"
mkdir -p "$POCL_CACHE_DIR" "$POYO_KERNEL_CACHE" "$POYO_INDEX_CACHE"
# NVRTC from NVIDIA's wheel, where ci/cuda-compile-check.sh fetched it (.ci/run does so first): the
# CUDA tests then compile every kernel family through the backend's own NVRTC code path.
if [ -z "${POYO_LIBNVRTC:-}" ]; then
    for f in .build/cuda-tools/*/lib/libnvrtc.so.*; do
        case $f in *builtins*) continue ;; esac
        [ -f "$f" ] && export POYO_LIBNVRTC="$PWD/$f"
    done
fi
swift build --build-tests
swift test --skip-build "$@"
# The fuzzers' seed corpora (and any input a fuzzer once crashed on, kept there) replay through the
# same targets in this ordinary build: a regression check that needs no fuzzer.
for t in safetensors config recording; do .build/debug/poyo-fuzz "$t" "Tests/Fixtures/fuzz/$t"; done
