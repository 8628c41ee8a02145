#!/usr/bin/env bash
# Builds the GPU bundle: release `poyo` and `poyo-bench` (Swift runtime linked statically) with every
# shared library they load that a bare CUDA machine may lack, the kernel sources, the golden
# fixtures, the PyTorch anchor and the device check, in .gpu-bundle/, and one archive of it,
# .gpu-bundle.tar.xz (under 60 MB: the device tool carries at most 64 MiB in all). docs/gpu.md says
# how to carry and run it.
#
#   bash ci/gpu-bundle.sh             build the folder and the archive
#   bash ci/gpu-bundle.sh --selftest  unpack the archive into a temporary folder and run it there in a
#                                     clean environment (env -i): poyo devices, poyo-bench golden on
#                                     cpu and opencl (PoCL stands in for the GPU), a 20-step poyo train
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
bundle=$repo/.gpu-bundle
archive=$repo/.gpu-bundle.tar.xz
scratch=$repo/.build-gpu
limit_mb=60
say() { echo "gpu-bundle: $*"; }
die() {
    echo "gpu-bundle: error: $*" >&2
    exit 1
}

selftest() {
    [ -f "$archive" ] || die "$archive not found: run bash ci/gpu-bundle.sh first"
    # Not local: the EXIT trap reads it after the function returns.
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/poyo-bundle-selftest.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    tar -xJf "$archive" -C "$tmp"
    local b=$tmp/poyo-gpu-bundle
    # No toolchain, no build folder, no repository: only the bundle and the base system. HOME and the
    # caches point into the temporary folder; PoCL keeps its own cache there too.
    local clean=(env -i "HOME=$tmp/home" "PATH=/usr/bin:/bin" "TMPDIR=$tmp" "POCL_CACHE_DIR=$tmp/pocl"
        "POYO_KERNEL_CACHE=$tmp/kernels" "POYO_CACHE_DIR=$tmp/cache")
    # The machine's OpenBLAS settings stay: some of these machines set the core type because
    # OpenBLAS's own detection picks a kernel that is wrong or crashes on their processors.
    local v
    for v in OPENBLAS_CORETYPE OPENBLAS_L2_SIZE; do
        [ -n "${!v:-}" ] && clean+=("$v=${!v}")
    done
    mkdir -p "$tmp/home"
    say "selftest in $b (clean environment: ${clean[*]:1})"
    local passed=0
    check() {
        local what=$1
        shift
        say "selftest: $what"
        (cd "$tmp" && "${clean[@]}" "$@") || die "selftest failed: $what"
        passed=$((passed + 1))
    }
    check "poyo devices" "$b/run" poyo devices
    check "poyo devices through the carried loader and glibc" \
        POYO_BUNDLE_LOADER=bundled "$b/run" poyo devices --json
    check "poyo synth" "$b/run" poyo synth --out "$tmp/syn" --sessions 1 --seed 3
    check "poyo inspect through the carried loader (the reader child too)" \
        POYO_BUNDLE_LOADER=bundled "$b/run" poyo inspect "$tmp/syn/"synth_s00_*.h5
    check "poyo-bench golden on the CPU backend" "$b/run" poyo-bench golden --device cpu
    check "poyo-bench golden on OpenCL (PoCL)" "$b/run" poyo-bench golden --device opencl
    # The release build's streaming update allocates nothing (issue 23; the debug tests cannot see
    # this: unoptimised Swift allocates for generic calls).
    check "streaming updates allocate nothing (release)" "$b/run" poyo-bench stream --model 1.3M --units 100 \
        --rates 10 --updates 50 --threads 1 --max-allocations 0
    check "poyo train, 20 steps" "$b/run" poyo train --steps 20 --batch-size 8 --out "$tmp/run20" --device cpu
    grep -q '"val_r2_mean"' "$tmp/run20/summary.json" || die "poyo train wrote no summary.json with val_r2_mean"
    check "the wrapper refuses an unknown program" bash -c "! '$b/run' sh -c true 2>/dev/null"
    # The device check itself, with PoCL standing in for the GPU: every part ends ok or absent.
    check "gpu-check.sh (PoCL stands in)" bash "$b/gpu-check.sh" "$tmp/check"
    grep -q '^Golden parity' "$tmp/check/summary.txt" || die "gpu-check wrote no summary table"
    if awk -F'\t' 'NR > 1 && $2 != "ok" && $2 != "absent"' "$tmp/check/parts.tsv" | grep -q .; then
        cat "$tmp/check/parts.tsv" >&2
        die "gpu-check: a part did not finish (parts.tsv above)"
    fi
    say "selftest passed"
    echo "gpu-bundle selftest: $passed passed, 0 failed"
}

if [ "${1:-}" = "--selftest" ]; then
    selftest
    exit 0
fi
[ $# -eq 0 ] || die "unknown argument '$1' (use no argument, or --selftest)"
ls Tests/Fixtures/golden/*.safetensors >/dev/null 2>&1 ||
    die "no golden fixtures (*.safetensors) in Tests/Fixtures/golden: they go into the bundle;" \
        "Tools/golden/make_golden.py makes them"
[ -f Tools/bench/torch_poyo_step.py ] || die "Tools/bench/torch_poyo_step.py not found"
bash ci/bootstrap.sh

# 1. Release binaries. A scratch folder of their own: --static-swift-stdlib changes every link.
for product in poyo poyo-bench; do
    say "building $product (release, static Swift runtime)"
    swift build -c release --static-swift-stdlib --scratch-path "$scratch" --product "$product"
done
bin=$(swift build -c release --static-swift-stdlib --scratch-path "$scratch" --show-bin-path)

# 2. The folder, from scratch.
rm -rf "$bundle" "$archive"
mkdir -p "$bundle/bin" "$bundle/lib/cxx" "$bundle/lib/glibc" "$bundle/golden" "$bundle/bench/wheels"
for product in poyo poyo-bench; do
    # Symbols stripped: 82 MB → 61 MB per binary; Swift's crash reports still name the frames it can.
    strip -o "$bundle/bin/$product" "$bin/$product"
done
cp -R "$bin/poyo-swift_POYOKernels.resources" "$bundle/bin/"

# 3. Shared libraries: the closure ldd reports, sorted into glibc (used only through the carried
#    loader), libstdc++/libgcc_s (used only where the machine's are too old) and the rest.
glibc_names=" ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libpthread.so.0 libdl.so.2 librt.so.1 libresolv.so.2 "
glibc_names+="libutil.so.1 libanl.so.1 libnss_files.so.2 libnss_dns.so.2 libmvec.so.1 "
cxx_names=" libstdc++.so.6 libgcc_s.so.1 "
libs=$(for f in "$bundle/bin/poyo" "$bundle/bin/poyo-bench"; do
    ldd "$f" | awk '/=> \// { print $3 }'
    # The dynamic loader the binaries name (PT_INTERP): ldd lists it without "=>".
    readelf -l "$f" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p'
done | sort -u)
for path in $libs; do
    name=$(basename "$path")
    if [[ "$glibc_names" == *" $name "* ]]; then
        dest=$bundle/lib/glibc
    elif [[ "$cxx_names" == *" $name "* ]]; then
        dest=$bundle/lib/cxx
    else
        dest=$bundle/lib
    fi
    cp -L "$path" "$dest/$name"
done
# glibc pieces that are loaded by name at run time rather than linked (name service, libmvec).
for name in libnss_files.so.2 libnss_dns.so.2 libmvec.so.1 libutil.so.1; do
    p=/lib/x86_64-linux-gnu/$name
    [ -e "$p" ] && [ ! -e "$bundle/lib/glibc/$name" ] && cp -L "$p" "$bundle/lib/glibc/$name"
done
# The newest symbol versions the bundle needs of glibc and libstdc++: the wrapper compares them
# with the machine's to decide whether to use its own copies.
newest() { find "$bundle/bin" "$bundle/lib" -maxdepth 1 -type f \( -name 'poyo*' -o -name '*.so*' \) -print0 |
    xargs -0 objdump -T 2>/dev/null | grep -o "$1[0-9.]*" | sort -Vu | tail -n1; }
newest 'GLIBC_2\.' | sed 's/^GLIBC_//' >"$bundle/lib/glibc/REQUIRES"
newest 'GLIBCXX_3\.' >"$bundle/lib/cxx/REQUIRES"
[ -s "$bundle/lib/glibc/REQUIRES" ] && [ -s "$bundle/lib/cxx/REQUIRES" ] || die "could not read symbol versions"

# 4. Golden fixtures, the PyTorch anchor (Tools/bench/torch_poyo_step.py, our CUDA runner around it, and
#    torch_brain's wheel: the GPU machine has torch but no network), the check and the wrapper.
cp Tests/Fixtures/golden/*.safetensors "$bundle/golden/"
cp Tools/bench/torch_poyo_step.py ci/gpu/torch_step.py "$bundle/bench/"
wheel_cache=$scratch/wheels
if ! ls "$wheel_cache"/torch_brain-0.2.1-*.whl >/dev/null 2>&1; then
    say "downloading the torch-brain 0.2.1 wheel (pure Python)"
    python3 -m pip download -q --no-deps --only-binary=:all: -d "$wheel_cache" torch-brain==0.2.1 ||
        say "WARNING: cannot download torch-brain==0.2.1 from PyPI: the bundle has no PyTorch anchor" \
            "(gpu-check will report it absent); rebuild with PyPI reachable before carrying it to a GPU"
fi
cp "$wheel_cache"/torch_brain-0.2.1-*.whl "$bundle/bench/wheels/" 2>/dev/null || true
cp ci/gpu/bundle-run.sh "$bundle/run"
cp ci/gpu-check.sh ci/gpu/check_summary.py "$bundle/"
chmod +x "$bundle/run" "$bundle/gpu-check.sh"
{
    echo "poyo-swift GPU bundle"
    dirty=$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')
    echo "commit: $(git rev-parse HEAD 2>/dev/null || echo unknown)$dirty"
    os=$(. /etc/os-release && echo "$PRETTY_NAME")
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $os, $(swift --version 2>&1 | head -n1)"
    echo "needs: glibc >= $(cat "$bundle/lib/glibc/REQUIRES") (else the carried one)," \
        "$(cat "$bundle/lib/cxx/REQUIRES") (else the carried one)"
    echo
    (cd "$bundle" && find . -type f -printf '%10s  %p\n' | sort -k2)
} >"$bundle/MANIFEST.txt"

# 5. The archive: one tar.xz whose top folder is poyo-gpu-bundle/. A dictionary larger than one
#    binary lets xz store the second binary's shared runtime as references to the first.
say "compressing"
tar -C "$repo" --transform 's,^\.gpu-bundle,poyo-gpu-bundle,' -cf - .gpu-bundle |
    xz -T0 --lzma2=preset=9,dict=192MiB >"$archive.tmp"
mv "$archive.tmp" "$archive"
bytes=$(stat -c %s "$archive")
mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
say "folder $(du -sh "$bundle" | cut -f1), archive $archive: $mb MB ($bytes bytes), limit $limit_mb MB"
[ "$bytes" -lt $((limit_mb * 1000 * 1000)) ] || die "archive is $mb MB, over the $limit_mb MB limit"
