#!/usr/bin/env bash
# The one command of a session lent a GPU machine (docs/gpu.md), run there in the repository root
# with the archive carried: unpacks .gpu-bundle.tar.xz, runs the device check, and leaves
# gpu-check.tar.gz (every file of the check) plus summary.txt and summary.json in $OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
if [ ! -f .gpu-bundle.tar.xz ]; then
    echo "gpu-on-device: .gpu-bundle.tar.xz not here: build it with bash ci/gpu-bundle.sh and name it in carry" >&2
    exit 1
fi
dest=${OUT:-$PWD/gpu-check-out}
mkdir -p "$dest"
work=${TMPDIR:-/tmp}/poyo-gpu
rm -rf "$work"
mkdir -p "$work"
t0=$(date +%s)
tar -xJf .gpu-bundle.tar.xz -C "$work" || exit 1
echo "gpu-on-device: unpacked in $(($(date +%s) - t0))s"
bash "$work/poyo-gpu-bundle/gpu-check.sh" "$work/check"
rc=$?
tar -czf "$dest/gpu-check.tar.gz" -C "$work" check
cp "$work/check/summary.txt" "$work/check/summary.json" "$dest/" 2>/dev/null
exit $rc
