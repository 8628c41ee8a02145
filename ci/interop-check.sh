#!/usr/bin/env bash
# Files torch_brain reads unchanged: `poyo synth` output read by torch_brain's own reader
# (torch_brain.data, installed with pip into a throwaway venv; numpy, h5py and pandas, no torch)
# must give the counts and intervals `poyo inspect` reports, and torch_brain's `Data.slice` (lazy and
# loaded) must give, for 1 s windows in every split, the spikes h5py counts in the same windows
# (Tools/interop/slice_with_torch_brain.py). Skips, loudly, only when the package index cannot be reached.
set -euo pipefail
cd "$(dirname "$0")/.."
poyo=${POYO_BIN:-.build/debug/poyo}
[ -x "$poyo" ] || { echo "interop: $poyo not built (run ci/test.sh first)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/poyo-interop.XXXXXX")
trap 'rm -rf "$work"' EXIT
venv=${POYO_INTEROP_VENV:-${TMPDIR:-/tmp}/poyo-interop-venv}
if ! "$venv/bin/python" -c 'import torch_brain.data, h5py' >/dev/null 2>&1; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    if ! "$venv/bin/pip" install -q numpy h5py pandas >"$work/pip.log" 2>&1 ||
        ! "$venv/bin/pip" install -q --no-deps torch-brain==0.2.1 >>"$work/pip.log" 2>&1; then
        if grep -qiE "connection|resolve|network|unreachable|timed out" "$work/pip.log"; then
            echo "interop: SKIPPED — the package index is unreachable, torch_brain could not be installed:" >&2
            tail -n 3 "$work/pip.log" >&2
            exit 0
        fi
        cat "$work/pip.log" >&2
        echo "interop: installing torch_brain failed" >&2
        exit 1
    fi
fi
"$poyo" synth --out "$work/syn" --sessions 2 --seed 7 >/dev/null
files=("$work"/syn/*.h5)
"$poyo" inspect --json "${files[@]}" >"$work/ours.json"
"$venv/bin/python" Tools/interop/read_with_torch_brain.py "${files[@]}" >"$work/theirs.jsonl"
status=0
python3 - "$work/ours.json" "$work/theirs.jsonl" <<'PY' || status=1
import json, sys
ours = {f["path"]: f["summary"] for f in json.load(open(sys.argv[1]))["files"]}
passed = failed = 0
def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("interop: MISMATCH " + what)
def close(a, b):
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
for line in open(sys.argv[2]):
    t = json.loads(line)
    s = ours[t["file"]]
    name = t["file"].split("/")[-1]
    check(t["session"] == s["sessionID"], f"{name} session {t['session']} vs {s['sessionID']}")
    check(t["spikes"] == s["spikes"], f"{name} spikes {t['spikes']} vs {s['spikes']}")
    check(t["units"] == s["units"], f"{name} units {t['units']} vs {s['units']}")
    check(t["trials"] == s["trials"], f"{name} trials {t['trials']} vs {s['trials']}")
    check(len(t["domain"]) == len(s["domain"]) and all(close(a, b) for x, y in zip(t["domain"], s["domain"])
          for a, b in zip(x, y)), f"{name} domain {t['domain']} vs {s['domain']}")
    for split in ("train", "valid", "test"):
        iv = t[split + "_domain"]
        secs = sum(e - b for b, e in iv)
        check(len(iv) == s[split]["intervals"] and close(secs, s[split]["seconds"]),
              f"{name} {split}: {len(iv)} intervals {secs:.9f} s vs "
              f"{s[split]['intervals']} {s[split]['seconds']:.9f} s")
    phases = t["movement_phases"]
    check(set(phases) >= {"hold_period", "reach_period", "return_period"} and "domain" not in phases,
          f"{name} movement phases {sorted(phases)}")
    spans = sorted(iv for v in phases.values() for iv in v)
    merged = []
    for b, e in spans:
        if merged and b <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([b, e])
    check(len(merged) == len(t["movement_phases_domain"]) and all(close(a, b) for x, y in
          zip(merged, t["movement_phases_domain"]) for a, b in zip(x, y)), f"{name} movement_phases domain")
print(f"interop: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
"$venv/bin/python" Tools/interop/slice_with_torch_brain.py "${files[@]}" || status=1
exit $status
