#!/usr/bin/env bash
# The device check: every figure we want from a GPU machine, in one call, from the unpacked GPU
# bundle (this script is copied into it by ci/gpu-bundle.sh; run that copy).
#
#   bash <bundle>/gpu-check.sh OUTDIR
#
# Writes under OUTDIR: machine.txt/json (GPU, driver, CUDA, glibc, GPU runtimes found), devices.json,
# per device golden.jsonl, kernels.jsonl, step.jsonl, train/ (metrics.csv, summary.json), nccl.jsonl
# (CUDA: the gradient exchange over NCCL), the
# PyTorch anchor torch.jsonl, parts.tsv (every part: status, seconds) and summary.txt/json, printed
# at the end. A part that cannot run says so in one line and the check goes on. The whole check
# keeps within POYO_CHECK_BUDGET seconds (default 450: the device tool allows 10 minutes a call,
# and the machine's start and the transfers come on top).
#
# Devices: every GPU of `poyo devices` (CUDA devices first, then OpenCL GPUs).
# With none, the first OpenCL device stands in (PoCL on a CI machine) at reduced sizes, so the
# check itself is exercised anywhere; the summary says so.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-}
if [ -z "$out" ] || [ $# -ne 1 ]; then
    echo "usage: bash $0 OUTDIR" >&2
    exit 64
fi
if [ ! -x "$here/run" ]; then
    echo "gpu-check: $here/run not found: run the copy of this script inside the unpacked bundle" >&2
    exit 64
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
start=$(date +%s)
budget=${POYO_CHECK_BUDGET:-450}
python=${POYO_CHECK_PYTHON:-python3}
work=$(mktemp -d "${TMPDIR:-/tmp}/poyo-gpu-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Caches of this run (synthetic data, compiled kernels) live outside OUTDIR: OUTDIR travels back.
export POYO_CACHE_DIR=$work/cache POYO_KERNEL_CACHE=$work/kernels POCL_CACHE_DIR=$work/pocl
export POYO_BUNDLE_QUIET=1
printf 'part\tstatus\tseconds\tnote\n' >"$out/parts.tsv"

log() { echo "gpu-check: $*" | tee -a "$out/check.log" >&2; }
remaining() { echo $((budget - ($(date +%s) - start))); }

# part NAME LIMIT FILE CMD...: runs CMD with stdout to OUTDIR/FILE and stderr to OUTDIR/NAME.err,
# within LIMIT seconds and what is left of the budget; records the outcome in parts.tsv.
part() {
    local name=$1 limit=$2 file=$3
    shift 3
    local left
    left=$(($(remaining) - 10))
    if [ "$left" -lt 15 ]; then
        log "$name: skipped, the time budget is spent"
        printf '%s\tskipped\t0\tno time left in the %ss budget\n' "$name" "$budget" >>"$out/parts.tsv"
        return 1
    fi
    [ "$limit" -le "$left" ] || limit=$left
    log "$name (up to ${limit}s): $*"
    local t0 rc status
    t0=$(date +%s)
    timeout -k 5 "$limit" "$@" >"$out/$file" 2>"$out/$name.err"
    rc=$?
    local dt=$(($(date +%s) - t0))
    case $rc in
    0) status=ok ;;
    124 | 137) status=timeout ;;
    *) status="failed(rc=$rc)" ;;
    esac
    local last
    last=$(grep -v '^\s*$' "$out/$name.err" | tail -n1 | cut -c1-200 | tr '\t' ' ')
    printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$dt" "$last" >>"$out/parts.tsv"
    log "$name: $status in ${dt}s${last:+ ($last)}"
    [ "$status" = ok ]
}
absent() {
    log "$1: $2"
    printf '%s\tabsent\t0\t%s\n' "$1" "$2" >>"$out/parts.tsv"
}

# 1. Machine facts.
machine_facts() {
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "host: $(uname -srm)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores"
    echo "memory: $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "glibc: $(getconf GNU_LIBC_VERSION 2>/dev/null || echo unknown)"
    echo "os: $( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || echo unknown)"
    echo "bundle: $(sed -n 2p "$here/MANIFEST.txt")"
    if command -v nvidia-smi >/dev/null; then
        local gpus
        gpus=$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader 2>&1)
        echo "nvidia-smi: $(echo "$gpus" | head -n4 | tr '\n' ';')"
        echo "cuda (driver): $(nvidia-smi 2>/dev/null | grep -o 'CUDA Version: [0-9.]*' | head -n1 | cut -d' ' -f3)"
        echo
        nvidia-smi 2>&1
    else
        echo "nvidia-smi: not found"
    fi
    echo
    echo "python: $("$python" --version 2>&1) at $(command -v "$python" || echo none)"
    "$python" -c 'import torch; print("torch:", torch.__version__, "cuda", torch.version.cuda,
                                      "available", torch.cuda.is_available())' 2>&1 | tail -n1
}
# GPU runtimes: NVIDIA's OpenCL, the CUDA driver, NVRTC and cuBLAS, in the system folders and in
# python's site-packages (nvidia/*/lib). Prints "name<TAB>path<TAB>version" lines.
gpu_runtimes() {
    local dirs=(/usr/lib/x86_64-linux-gnu /usr/lib64 /lib/x86_64-linux-gnu /lib64 /usr/local/nvidia/lib64
        /usr/local/nvidia/lib /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/wsl/lib)
    local site
    site=$("$python" -c 'import site; print("\n".join(site.getsitepackages() + [site.getusersitepackages()]))' \
        2>/dev/null)
    local d
    for d in $site; do
        [ -d "$d/nvidia" ] && for l in "$d"/nvidia/*/lib "$d"/nvidia/cu*/lib; do [ -d "$l" ] && dirs+=("$l"); done
    done
    for d in /usr/local/cuda-*/lib64; do [ -d "$d" ] && dirs+=("$d"); done
    local lib found path real version
    for lib in libnvidia-opencl libcuda libnvrtc libnvrtc-builtins libcublas libcublasLt; do
        found=0
        for d in "${dirs[@]}"; do
            for path in "$d/$lib".so*; do
                [ -e "$path" ] || continue
                real=$(readlink -f "$path")
                version=$(basename "$real" | sed -n "s/^$lib\.so\.//p")
                printf '%s\t%s\t%s\n' "$lib" "$path" "${version:-?}"
                found=1
            done
        done
        [ $found = 1 ] || printf '%s\t%s\t%s\n' "$lib" "absent" "-"
    done | sort -u
}
log "bundle $here, output $out, budget ${budget}s"
machine_facts >"$out/machine.txt" 2>&1
gpu_runtimes >"$out/runtimes.tsv"
printf 'machine\tok\t0\t\n' >>"$out/parts.tsv"
log "GPU runtimes: $(awk -F'\t' '{ printf "%s=%s ", $1, ($2 == "absent" ? "absent" : $3) }' "$out/runtimes.tsv")"

# 2. Devices.
part devices 60 devices.json "$here/run" poyo devices --json
"$here/run" poyo devices >"$out/devices.txt" 2>&1
targets=$("$python" - "$out/devices.json" <<'EOF' 2>>"$out/check.log"
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    d = {}
# CUDA first: when the time budget runs short, the backend NVIDIA machines use is measured.
gpus = [f"cuda:{x['index']}" for x in d.get("cuda", [])]
gpus += [f"opencl:{x['index']}" for x in d.get("opencl", []) if "GPU" in str(x.get("type", "")).upper()]
if gpus:
    print("gpu " + " ".join(gpus))
elif d.get("opencl"):
    print(f"standin opencl:{d['opencl'][0]['index']}")
else:
    print("none")
EOF
)
mode=${targets%% *}
devices=${targets#* }
case "$mode" in
gpu) log "GPU devices: $devices" ;;
standin)
    log "no GPU device found: $devices stands in (reduced sizes)"
    absent "gpu" "no GPU device in poyo devices; $devices (not a GPU) stands in at reduced sizes"
    ;;
*)
    devices=""
    absent "gpu" "no GPU and no OpenCL device: only the CPU parts run"
    ;;
esac
grep -q $'^libnvidia-opencl\tabsent' "$out/runtimes.tsv" &&
    absent "nvidia-opencl" "libnvidia-opencl.so.1 not found on this machine"
grep -q $'^libcuda\tabsent' "$out/runtimes.tsv" && absent "cuda-driver" "libcuda.so not found on this machine"

# 3. Per device: golden parity, kernels, steps, a training run.
if [ "$mode" = gpu ]; then
    k_args=(--model 1.3M,11.8M --batch 8,32)
    s_args=(--batch 8,32,128 --steps 5)
    t_args=(--steps 300)
else
    k_args=(--model 1.3M --batch 8 --repeats 2)
    s_args=(--batch 8 --steps 2)
    t_args=(--steps 20 --batch-size 8)
fi
for dev in $devices; do
    tag=${dev/:/}
    part "golden-$tag" 150 "golden-$tag.jsonl" "$here/run" poyo-bench golden --device "$dev" --json
    part "step-$tag" 150 "step-$tag.jsonl" "$here/run" poyo-bench step --device "$dev" --json "${s_args[@]}"
    part "train-$tag" 200 "train-$tag.txt" "$here/run" poyo train --device "$dev" --out "$out/train-$tag" "${t_args[@]}"
    part "kernels-$tag" 150 "kernels-$tag.jsonl" "$here/run" poyo-bench kernels --device "$dev" --json "${k_args[@]}"
    # Data-parallel training's gradient exchange over NCCL, one rank, at the models' gradient sizes
    # (docs/distributed.md): NCCL from the system or Python's nvidia/nccl/lib.
    case $dev in cuda*)
        part "nccl-$tag" 60 "nccl-$tag.jsonl" "$here/run" poyo-bench reduce --device "$dev" --json --reps 20
        ;;
    esac
done
# The CPU backend on the same machine: proves the bundle runs there and gives a CPU figure (more of
# one on a machine with many cores, and a training run when there is no other device).
if [ "$(nproc)" -ge 8 ]; then
    c_args=(--batch 8,32 --steps 3)
    ct_args=(--steps 100)
    tc_args=(--batch-sizes 8,32 --iters 5 --warmup 2 --threads "$(nproc)")
else
    c_args=(--batch 8 --steps 2)
    ct_args=(--steps 20 --batch-size 8)
    tc_args=(--batch-sizes 8 --iters 3 --warmup 1 --threads "$(nproc)")
fi
part golden-cpu 60 golden-cpu.jsonl "$here/run" poyo-bench golden --device cpu --json
part step-cpu 90 step-cpu.jsonl "$here/run" poyo-bench step --device cpu --json "${c_args[@]}"
if [ -z "$devices" ]; then
    part train-cpu 200 train-cpu.txt "$here/run" poyo train --device cpu --out "$out/train-cpu" "${ct_args[@]}"
fi

# 4. The PyTorch anchor on the same machine and shapes (torch_brain's own POYO): on CUDA when torch
#    has it, and on the CPU with all cores.
if ! "$python" -c 'import torch' >/dev/null 2>&1; then
    absent "torch" "torch not installed for $python (set POYO_CHECK_PYTHON to another interpreter)"
else
    site=$work/site
    if "$python" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$here"/bench/wheels/*.whl \
        >"$out/torch-install.log" 2>&1; then
        tpath=$site
    else
        # A pure-Python wheel is a zip that Python can import from directly.
        tpath=$(ls "$here"/bench/wheels/*.whl | head -n1)
        log "pip could not install the torch-brain wheel (see torch-install.log): importing it from the zip"
    fi
    torch_run=(env PYTHONPATH="$tpath${PYTHONPATH:+:$PYTHONPATH}" "$python" "$here/bench/torch_step.py")
    if "$python" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
        part torch-cuda 150 torch-cuda.jsonl "${torch_run[@]}" --device cuda --batch-sizes 8,32,128
    else
        absent "torch-cuda" "torch has no CUDA device here"
    fi
    part torch-cpu 120 torch-cpu.jsonl "${torch_run[@]}" --device cpu "${tc_args[@]}"
fi

# 5. The summary table.
log "done in $(($(date +%s) - start))s"
"$python" "$here/check_summary.py" "$out" >"$out/summary.txt" 2>>"$out/check.log" ||
    echo "gpu-check: the summary could not be written (see check.log)" >>"$out/summary.txt"
cat "$out/summary.txt"
