#!/usr/bin/env bash
# The few-shot table of docs/finetune.md: synth_s04 (the built-in data's held-out new animal) decoded
# after training on 5, 10, 20 or all of its training trials, by
#   scratch  poyo train on s04 alone (the 1.3M model from random initialisation),
#   unit-id  poyo finetune --mode unit-id from a model pretrained on s00-s03,
#   full     poyo finetune --mode full from the same model,
#   Wiener   poyo baseline, causal and acausal (history, horizon and λ chosen on the valid split),
# each scored on s04's test split (poyo eval --split test); wall time of each training command.
#
#   Tools/bench/fewshot.sh [OUT_DIR]      # default /tmp/poyo-fewshot; about 20 minutes on 2 cores
#
# POYO=path/to/poyo (default .build/release/poyo), PRETRAINED=a run folder to reuse instead of
# pretraining with `poyo train` (no arguments: the defaults of docs/training.md), DATA=the synthetic
# folder that run trained on (default: the cache folder's), TRIALS="5 10 20 all", METHODS (default
# "scratch unit-id full wiener-causal wiener-acausal"). Each cell is kept in OUT/cells/ and reused by
# a later call (delete it to measure again), so the table can be filled in several calls.
set -euo pipefail
cd "$(dirname "$0")/../.."
POYO=${POYO:-.build/release/poyo}
OUT=${1:-/tmp/poyo-fewshot}
TRIALS=${TRIALS:-"5 10 20 all"}
METHODS=${METHODS:-"scratch unit-id full wiener-causal wiener-acausal"}
[ -x "$POYO" ] || { echo "fewshot: $POYO not found; build it with: swift build -c release --product poyo" >&2; exit 1; }
mkdir -p "$OUT"
log() { echo "fewshot: $*" >&2; }
# seconds T0 T1 [DECIMALS]
seconds() {
    python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.{sys.argv[3]}f}')" "$1" "$2" "${3:-0}"
}
now() { date +%s.%N; }

# Pretraining: the built-in run (also writes the synthetic data to the cache folder).
if [ -n "${PRETRAINED:-}" ]; then
    pre=$PRETRAINED
else
    pre=$OUT/pre
    [ -f "$pre/checkpoint.safetensors" ] || "$POYO" train --out "$pre" >"$OUT/pre.log" 2>&1
fi
data=${DATA:-${POYO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/poyo}/synthetic-v2-seed42}
s04=$(ls "$data" | grep -m1 'synth_s04')
only=$OUT/s04-only
mkdir -p "$only"
ln -sf "$data/$s04" "$only/$s04"
session=${s04%.h5}
log "pretrained $pre; data $data; new session $session"

# r2 JSON-FILE: the test R² of the new session from a --json output.
r2() {
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"{d['r2'][sys.argv[2]]:.3f}\")" "$1" "$session"
}

mkdir -p "$OUT/cells"
for n in $TRIALS; do
    few=(); [ "$n" = all ] || few=(--train-trials "$n")
    for method in $METHODS; do
        cell=$OUT/cells/$method-$n
        [ -s "$cell" ] && continue
        run=$OUT/$method-$n
        rm -rf "$run"
        t0=$(now)
        case $method in
            scratch)
                "$POYO" train --data "$only" "${few[@]}" --steps 200 --batch-size 16 --out "$run" >"$run.log" 2>&1 ;;
            unit-id | full)
                "$POYO" finetune --checkpoint "$pre" --data "$only" --mode "$method" "${few[@]}" --out "$run" \
                    >"$run.log" 2>&1 ;;
            wiener-causal|wiener-acausal)
                "$POYO" baseline --data "$only" "${few[@]}" --split test --"${method#wiener-}" --json >"$run.json" \
                    2>"$run.log" ;;
            *) echo "fewshot: unknown method $method" >&2; exit 1 ;;
        esac
        case $method in
            wiener-*) echo "$(r2 "$run.json") ($(seconds "$t0" "$(now)" 1) s)" >"$cell" ;;
            *)
                t=$(seconds "$t0" "$(now)")
                "$POYO" eval --checkpoint "$run" --data "$only" --split test --json >"$run.eval.json" 2>"$run.eval.log"
                echo "$(r2 "$run.eval.json") (${t} s)" >"$cell" ;;
        esac
        log "$method $n: $(cat "$cell")"
    done
done
echo "| method | $(for n in $TRIALS; do printf '%s trials | ' "$n"; done)"
echo "|---|$(for n in $TRIALS; do printf -- '---|'; done)"
for method in scratch unit-id full wiener-causal wiener-acausal; do
    printf '| %s |' "$method"
    for n in $TRIALS; do printf ' %s |' "$(cat "$OUT/cells/$method-$n" 2>/dev/null || echo -)"; done
    echo
done
