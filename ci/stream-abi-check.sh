#!/usr/bin/env bash
# The streaming decoder's C ABI (issue 23; docs/streaming.md): builds libPOYOStream.so, trains a tiny
# model for a few steps, compiles Tests/Fixtures/stream_abi_test.c against the library and runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product POYOStream 2>&1 | tail -1
swift build --product poyo 2>&1 | tail -1
root="$PWD"
lib="$root/.build/debug"
swift_libs="$(dirname "$(dirname "$(command -v swift)")")/lib/swift/linux"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
cp "$root/ci/tiny.yaml" tiny.yaml
"$lib/poyo" synth --out data --sessions 2 > /dev/null 2>&1
"$lib/poyo" train --config tiny.yaml --data data --device cpu --steps 3 --out run > train.log 2>&1
cc -O1 -Wall -Werror -I "$root/Sources/POYOStream/include" -o stream_abi_test "$root/Tests/Fixtures/stream_abi_test.c" \
    -L "$lib" -lPOYOStream -lm
LD_LIBRARY_PATH="$lib:$swift_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" ./stream_abi_test run synth_s00_center_out
