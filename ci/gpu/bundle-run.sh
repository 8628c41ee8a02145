#!/usr/bin/env bash
# The GPU bundle's `run` wrapper: `run poyo ARGS...` or `run poyo-bench ARGS...`.
# Starts the bundled binary on a machine without Swift, from the bundle's own libraries:
#  - lib/        OpenBLAS, CLBlast, HDF5 and their dependencies, the ocl-icd OpenCL loader;
#  - lib/cxx/    libstdc++ and libgcc_s, used only when the machine's are missing or too old (a GPU
#                driver loaded later may need the machine's newer libstdc++, so ours must not shadow it);
#  - lib/glibc/  the dynamic loader and glibc of the build machine, used only when the machine's glibc
#                is older than the one the binaries were linked against (or POYO_BUNDLE_LOADER=bundled).
# OpenCL: ocl-icd reads the vendor files of /etc/OpenCL/vendors; container images often mount NVIDIA's
# libnvidia-opencl.so.1 without its .icd file, so the wrapper looks for the library and writes one.
# What it chose is printed on stderr as one "bundle:" line (POYO_BUNDLE_QUIET=1 silences it).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tool=${1:-}
case "$tool" in
poyo | poyo-bench) shift ;;
# The reader process poyo starts for each data file (POYO_READER, set below for the carried loader).
__read-recording) tool=poyo ;;
*)
    echo "usage: $here/run poyo|poyo-bench [ARGS...]" >&2
    exit 64
    ;;
esac
PATH=${PATH:-/usr/bin:/bin}:/usr/sbin:/sbin
libdirs=(/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib64 /usr/lib)

# Finds a shared library by name: the loader cache first, then the usual folders.
find_system_lib() {
    local name=$1 path d
    path=$(ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n && /x86-64/ { print $NF; exit }')
    if [ -n "$path" ] && [ -e "$path" ]; then
        echo "$path"
        return
    fi
    for d in "${libdirs[@]}" "${@:2}"; do
        if [ -e "$d/$name" ]; then
            echo "$d/$name"
            return
        fi
    done
}

# "2.36" <= "2.39"?
version_le() { [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | head -n1)" = "$1" ]; }

# glibc: the machine's when it has the newest symbol version the bundle uses, else the carried one.
built_glibc=$(cat "$here/lib/glibc/REQUIRES")
sys_glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }' || true)
mode=${POYO_BUNDLE_LOADER:-auto}
case "$mode" in
auto)
    if [ -n "$sys_glibc" ] && version_le "$built_glibc" "$sys_glibc"; then mode=system; else mode=bundled; fi
    ;;
system | bundled) ;;
*)
    echo "run: POYO_BUNDLE_LOADER must be auto, system or bundled (got '$mode')" >&2
    exit 64
    ;;
esac

# libstdc++: the machine's when it has every symbol version the binaries need, else ours.
libpath="$here/lib"
needed_cxx=$(cat "$here/lib/cxx/REQUIRES")
sys_cxx=$(find_system_lib libstdc++.so.6)
if [ "$mode" = bundled ]; then
    # The machine's libstdc++ may need the machine's (newer) glibc: with our glibc, our libstdc++.
    libpath="$libpath:$here/lib/cxx"
    cxx="bundled (goes with the carried glibc)"
elif [ -z "$sys_cxx" ] || ! grep -qa "$needed_cxx" "$sys_cxx"; then
    libpath="$libpath:$here/lib/cxx"
    cxx="bundled (machine's: ${sys_cxx:-none}, lacks $needed_cxx)"
else
    cxx="machine's ($sys_cxx)"
fi

# OpenCL vendors: the machine's .icd files plus, when found, NVIDIA's library by full path.
icd_note="OCL_ICD_VENDORS=${OCL_ICD_VENDORS:-} (kept)"
if [ -z "${OCL_ICD_VENDORS:-}" ]; then
    vendors="${TMPDIR:-/tmp}/poyo-bundle-icd-$(id -u)"
    mkdir -p "$vendors"
    rm -f "$vendors"/*.icd
    nv=$(find_system_lib libnvidia-opencl.so.1 /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib)
    for f in /etc/OpenCL/vendors/*.icd; do
        [ -e "$f" ] || continue
        # NVIDIA's own file names the library without a path, which fails where it is not in the
        # loader cache; ours names the full path instead.
        if [ -n "$nv" ] && grep -q libnvidia-opencl "$f"; then continue; fi
        cp "$f" "$vendors/"
    done
    if [ -n "$nv" ]; then
        echo "$nv" >"$vendors/.nvidia-poyo.icd.tmp.$$"
        mv -f "$vendors/.nvidia-poyo.icd.tmp.$$" "$vendors/nvidia-poyo.icd"
    fi
    export OCL_ICD_VENDORS="$vendors"
    icd_note="OpenCL vendors: $(cd "$vendors" && ls 2>/dev/null | tr '\n' ' ')(NVIDIA OpenCL: ${nv:-not found})"
fi

export POYO_KERNELS_DIR="$here/bin/poyo-swift_POYOKernels.resources/cl"
export POYO_GOLDEN_DIR="${POYO_GOLDEN_DIR:-$here/golden}"
if [ -z "${POYO_BUNDLE_QUIET:-}" ]; then
    echo "bundle: $tool; glibc ${sys_glibc:-unknown} here, bundle needs $built_glibc:" \
        "$([ "$mode" = system ] && echo "machine's loader" || echo "carried loader and glibc")" \
        "| libstdc++ $cxx | $icd_note" >&2
fi
if [ "$mode" = system ]; then
    export LD_LIBRARY_PATH="$libpath${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    exec "$here/bin/$tool" "$@"
fi
# poyo reads each data file in a child process, normally `poyo` beside the running binary; under the
# carried loader the running binary is the loader itself, so the child is started through this wrapper.
export POYO_READER="${POYO_READER:-$here/run}"
# The carried loader runs the binary with the carried glibc; --argv0 keeps the program's own path in
# argv[0] (poyo-bench finds golden/ from it).
exec "$here/lib/glibc/ld-linux-x86-64.so.2" --library-path "$libpath:$here/lib/cxx:$here/lib/glibc" \
    --argv0 "$here/bin/$tool" "$here/bin/$tool" "$@"
