#!/usr/bin/env bash
# Fuzzes the parsers of untrusted bytes with libFuzzer (Tools/Fuzz: the safetensors reader, the YAML
# run config, and the recording readers on well-formed HDF5 files built from recipes), each for
# SECONDS (default 60), starting from the seed corpora in Tests/Fixtures/fuzz/<target>/. Fails on
# any crash, trap, leak or timeout, leaving the input that caused it in .build/fuzz/findings/<target>/
# (replay it with `.build/debug/poyo-fuzz <target> FILE`).
# Longer runs: `bash ci/fuzz.sh 1800` (30 minutes a target); docs/fuzzing.md says more.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
targets="${FUZZ_TARGETS:-safetensors config recording}"
scratch=.build/fuzz
# A separate build folder: every target instrumented (SanitizerCoverage for libFuzzer, AddressSanitizer),
# FUZZING swaps the replay main for libFuzzer's entry point.
swift build --scratch-path "$scratch" --product poyo-fuzz --sanitize fuzzer --sanitize address \
    -Xswiftc -sanitize=fuzzer -Xswiftc -DFUZZING 2>&1 | grep -v "Cannot export local symbol" | tail -3
binary="$scratch/debug/poyo-fuzz"
status=0
for t in $targets; do
    corpus="$scratch/corpus/$t"
    findings="$scratch/findings/$t"
    mkdir -p "$corpus" "$findings"
    # New inputs go to the scratch corpus (kept between runs), never into the repository's seeds.
    echo "fuzz: $t for ${seconds}s"
    if POYO_FUZZ_TARGET="$t" ASAN_OPTIONS=detect_leaks=0 "$binary" "$corpus" "Tests/Fixtures/fuzz/$t" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
        -artifact_prefix="$findings/" -print_final_stats=1 > "$scratch/$t.log" 2>&1; then
        grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov:" "$scratch/$t.log" | tail -3 || true
    else
        status=1
        tail -40 "$scratch/$t.log"
        echo "fuzz: $t FAILED; the input is in $findings/"
    fi
done
exit $status
