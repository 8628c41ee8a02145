#!/usr/bin/env bash
# The test command of the README: installs system packages if missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/bootstrap.sh
# PoCL compiles kernels once and caches them; keep that cache inside the build folder.
export POCL_CACHE_DIR="${POCL_CACHE_DIR:-$PWD/.build/pocl-cache}"
mkdir -p "$POCL_CACHE_DIR"
swift build --build-tests
swift test --skip-build "$@"
