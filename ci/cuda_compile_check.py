#!/usr/bin/env python3
"""Compiles every kernel family of Kernels/cl/ as CUDA C++ (prelude_cuda.h + common.cl + family.cl)
through NVRTC for compute_90, assembles the PTX for sm_90 with `ptxas -v`, and prints registers,
stack, spills and shared memory per kernel. Exits 1 on a compile error or a spill in attention.cl.

NVRTC and ptxas come from NVIDIA's PyPI wheels, downloaded once into .build/cuda-tools/ (no GPU and
no driver needed). Standard library only; run through ci/cuda-compile-check.sh.
"""

import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ROOT / "Kernels" / "cl"
TOOLS = ROOT / ".build" / "cuda-tools"

CUDA_VERSION = "12.9.86"
# (pip requirement, {member in the wheel: path under the tools folder})
WHEELS = [
    (f"nvidia-cuda-nvrtc-cu12=={CUDA_VERSION}", {
        "nvidia/cuda_nvrtc/lib/libnvrtc.so.12": "lib/libnvrtc.so.12",
        "nvidia/cuda_nvrtc/lib/libnvrtc-builtins.so.12.9": "lib/libnvrtc-builtins.so.12.9",
    }),
    (f"nvidia-cuda-nvcc-cu12=={CUDA_VERSION}", {
        "nvidia/cuda_nvcc/bin/ptxas": "bin/ptxas",
    }),
]

ARCH = "90"
# Head dims built for the check: dim_head is any multiple of 4 (POYOConfig.validate); the default
# is 64, the tests also use 8, 16 and 32. Override with CUDA_CHECK_HEAD_DIMS="64 128".
HEAD_DIMS = [int(x) for x in os.environ.get("CUDA_CHECK_HEAD_DIMS", "8 16 32 64").split()]


def fail(message):
    print(f"cuda-compile-check: {message}", file=sys.stderr)
    sys.exit(2)


def group_size():
    """KernelDevice.groupSize, the -D WG=... every program is built with (OpenCL and CUDA alike)."""
    swift = ROOT / "Sources" / "Compute" / "GPU" / "KernelDevice.swift"
    if not swift.is_file():
        fail(f"{swift} not found: where does `static let groupSize` live now? Update group_size() here")
    match = re.search(r"static let groupSize = (\d+)", swift.read_text())
    if not match:
        fail(f"could not find `static let groupSize = N` in {swift}")
    return int(match.group(1))


def ensure_tools():
    """The tools folder for CUDA_VERSION, downloading and unpacking the wheels on first use."""
    folder = TOOLS / CUDA_VERSION
    targets = [target for _, members in WHEELS for target in members.values()]
    if (folder / "complete").is_file() and all((folder / t).is_file() for t in targets):
        return folder
    TOOLS.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="staging-", dir=TOOLS))
    try:
        for requirement, members in WHEELS:
            download = staging / "wheels"
            print(f"cuda-compile-check: downloading {requirement} (once; cached in {folder})", flush=True)
            result = subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                 "--disable-pip-version-check", "--quiet", "--dest", str(download), requirement],
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if result.returncode != 0:
                fail(f"`{sys.executable} -m pip download {requirement}` failed (exit {result.returncode}):\n"
                     f"{result.stdout.strip()}\n"
                     "Needs pip (`python3 -m pip --version`; Debian: apt-get install python3-pip) and "
                     "access to PyPI.")
            name = requirement.split("==")[0].replace("-", "_")
            wheels = sorted(download.glob(f"{name}-*.whl"))
            if len(wheels) != 1:
                fail(f"expected one {name} wheel in {download}, found {[w.name for w in wheels]}")
            with zipfile.ZipFile(wheels[0]) as wheel:
                names = set(wheel.namelist())
                for member, target in members.items():
                    if member not in names:
                        fail(f"{wheels[0].name} has no {member}")
                    destination = staging / target
                    destination.parent.mkdir(parents=True, exist_ok=True)
                    with wheel.open(member) as src, open(destination, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            shutil.rmtree(download)
        (staging / "bin" / "ptxas").chmod(0o755)
        (staging / "complete").write_text("\n".join(r for r, _ in WHEELS) + "\n")
        if folder.exists():
            shutil.rmtree(folder)
        staging.rename(folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return folder


class NVRTC:
    def __init__(self, path):
        self.lib = ctypes.CDLL(str(path))
        self.lib.nvrtcGetErrorString.restype = ctypes.c_char_p

    def check(self, status, call):
        if status != 0:
            raise RuntimeError(f"{call}: {self.lib.nvrtcGetErrorString(status).decode()} ({status})")

    def version(self):
        major, minor = ctypes.c_int(), ctypes.c_int()
        self.check(self.lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor)), "nvrtcVersion")
        return f"{major.value}.{minor.value}"

    def compile(self, source, name, options):
        """(ptx or None, log)."""
        program = ctypes.c_void_p()
        self.check(self.lib.nvrtcCreateProgram(ctypes.byref(program), source.encode(), name.encode(),
                                               0, None, None), "nvrtcCreateProgram")
        try:
            opts = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
            status = self.lib.nvrtcCompileProgram(program, len(options), opts)
            size = ctypes.c_size_t()
            self.check(self.lib.nvrtcGetProgramLogSize(program, ctypes.byref(size)), "nvrtcGetProgramLogSize")
            log = ctypes.create_string_buffer(size.value)
            self.check(self.lib.nvrtcGetProgramLog(program, log), "nvrtcGetProgramLog")
            log = log.value.decode(errors="replace").strip()
            if status != 0:
                return None, log
            self.check(self.lib.nvrtcGetPTXSize(program, ctypes.byref(size)), "nvrtcGetPTXSize")
            ptx = ctypes.create_string_buffer(size.value)
            self.check(self.lib.nvrtcGetPTX(program, ptx), "nvrtcGetPTX")
            return ptx.value.decode(), log
        finally:
            self.lib.nvrtcDestroyProgram(ctypes.byref(program))


def ptxas_report(ptxas, ptx, workdir, stem):
    """({kernel: {regs, stack, spill_st, spill_ld, smem}}, error text or None)."""
    path = workdir / f"{stem}.ptx"
    path.write_text(ptx)
    result = subprocess.run([str(ptxas), f"-arch=sm_{ARCH}", "-v", str(path), "-o", os.devnull],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        return {}, result.stdout.strip()
    kernels, current = {}, None
    for line in result.stdout.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            current = kernels.setdefault(m.group(1), {"regs": 0, "stack": 0, "spill_st": 0, "spill_ld": 0,
                                                      "smem": 0})
            continue
        if current is None:
            continue
        m = re.search(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line)
        if m:
            current["stack"], current["spill_st"], current["spill_ld"] = map(int, m.groups())
        m = re.search(r"Used (\d+) registers", line)
        if m:
            current["regs"] = int(m.group(1))
            s = re.search(r"(\d+) bytes smem", line)
            current["smem"] = int(s.group(1)) if s else 0
    return kernels, None


def main():
    wg = group_size()
    tools = ensure_tools()
    nvrtc = NVRTC(tools / "lib" / "libnvrtc.so.12")
    ptxas = tools / "bin" / "ptxas"
    version = subprocess.run([str(ptxas), "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True).stdout
    match = re.search(r"release [\d.]+, V[\d.]+", version)
    ptxas_version = match.group(0) if match else version.strip().replace("\n", " ")
    print(f"NVRTC {nvrtc.version()} (nvidia-cuda-nvrtc-cu12 {CUDA_VERSION}), ptxas {ptxas_version} "
          f"(nvidia-cuda-nvcc-cu12): compute_{ARCH} -> sm_{ARCH}, WG={wg}")

    prelude = (KERNELS / "prelude_cuda.h").read_text()
    common = (KERNELS / "common.cl").read_text()
    families = sorted(p.stem for p in KERNELS.glob("*.cl") if p.stem != "common")
    builds = []
    for family in families:
        for head_dim in (HEAD_DIMS if family == "attention" else [None]):
            builds.append((family, head_dim))

    rows, errors = [], []
    with tempfile.TemporaryDirectory(prefix="cuda-check-") as tmp:
        for family, head_dim in builds:
            label = family if head_dim is None else f"{family} HEAD_DIM={head_dim}"
            source = (prelude + '\n#line 1 "common.cl"\n' + common
                      + f'\n#line 1 "{family}.cl"\n' + (KERNELS / f"{family}.cl").read_text())
            options = [f"--gpu-architecture=compute_{ARCH}", f"-DWG={wg}"]
            if head_dim is not None:
                options.append(f"-DHEAD_DIM={head_dim}")
            ptx, log = nvrtc.compile(source, "prelude_cuda.h", options)
            if ptx is None:
                errors.append(f"{label}: NVRTC failed\n{log}")
                continue
            if log:
                print(f"{label}: NVRTC warnings\n{log}")
            kernels, error = ptxas_report(ptxas, ptx, Path(tmp), f"{family}{head_dim or ''}")
            if error:
                errors.append(f"{label}: ptxas failed\n{error}")
                continue
            if not kernels:
                errors.append(f"{label}: ptxas reported no kernels")
            for name, k in kernels.items():
                rows.append((family, head_dim, name, k))
                if family == "attention" and (k["spill_st"] or k["spill_ld"]):
                    errors.append(f"{label}: {name} spills ({k['spill_st']} bytes stores, "
                                  f"{k['spill_ld']} bytes loads)")

    header = ("family", "HEAD_DIM", "kernel", "regs", "stack", "spill st", "spill ld", "smem")
    table = [header] + [(f, str(h) if h else "", n, str(k["regs"]), str(k["stack"]), str(k["spill_st"]),
                         str(k["spill_ld"]), str(k["smem"])) for f, h, n, k in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print("(regs per thread; stack, spills and smem in bytes)")
    if errors:
        print("\n" + "\n\n".join(errors), file=sys.stderr)
        print(f"cuda-compile-check: FAILED ({len(errors)} problem{'s' if len(errors) > 1 else ''})",
              file=sys.stderr)
        return 1
    print(f"cuda-compile-check: OK, {len(builds)} programs, {len(rows)} kernels")
    return 0


if __name__ == "__main__":
    sys.exit(main())
