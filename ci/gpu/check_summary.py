#!/usr/bin/env python3
"""Summary of a gpu-check.sh output folder: prints the table (summary.txt) and writes summary.json.

Reads what the check's parts wrote (parts.tsv, machine.txt, runtimes.tsv, golden-*.jsonl,
step-*.jsonl, kernels-*.jsonl, train-*/summary.json and metrics.csv, torch-*.jsonl); a part that
is missing or failed shows as such rather than stopping the summary. Standard library only.
"""

import csv
import glob
import json
import os
import statistics
import sys


def jsonl(path):
    rows = []
    if not os.path.exists(path):
        return rows
    for line in open(path, errors="replace"):
        line = line.strip()
        if line.startswith("{"):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return rows


def tsv(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def machine_facts(out):
    facts = {}
    path = os.path.join(out, "machine.txt")
    if os.path.exists(path):
        for line in open(path, errors="replace"):
            if ": " in line and not line.startswith(" "):
                key, value = line.rstrip("\n").split(": ", 1)
                if key in ("date", "host", "cpu", "memory", "glibc", "os", "bundle", "nvidia-smi", "cuda (driver)",
                           "python", "torch"):
                    facts.setdefault(key, value)
    return facts


def table(headers, rows):
    widths = [max(len(str(x)) for x in [h] + [r[i] for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(str(h).ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    for r in rows:
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(r, widths)))
    return "\n".join(lines)


def main():
    out = sys.argv[1]
    parts = tsv(os.path.join(out, "parts.tsv"))
    status = {p["part"]: p for p in parts}
    facts = machine_facts(out)
    runtimes = [r.rstrip("\n").split("\t") for r in open(os.path.join(out, "runtimes.tsv"))] \
        if os.path.exists(os.path.join(out, "runtimes.tsv")) else []
    summary = {"machine": facts, "runtimes": [], "golden": [], "step": [], "train": [], "kernels": [],
               "torch": [], "parts": parts}
    lines = [f"poyo-swift GPU check, {facts.get('date', '?')}"]
    for key in ("host", "cpu", "memory", "os", "glibc", "nvidia-smi", "cuda (driver)", "python", "torch", "bundle"):
        if key in facts:
            lines.append(f"  {key}: {facts[key]}")

    lines.append("\nGPU runtimes (system folders and python site-packages):")
    seen = {}
    for r in runtimes:
        if len(r) == 3:
            seen.setdefault(r[0], []).append(r)
            summary["runtimes"].append({"library": r[0], "path": r[1], "version": r[2]})
    for lib, rs in seen.items():
        found = [f"{v} ({p})" for _, p, v in rs if p != "absent"]
        lines.append(f"  {lib:18} " + ("; ".join(found) if found else "absent"))

    absent = [p for p in parts if p["status"] == "absent"]
    if absent:
        lines.append("\nAbsent here:")
        lines += [f"  {p['part']}: {p['note']}" for p in absent]

    # Golden parity, one row per device and fixture.
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "golden-*.jsonl"))):
        tag = os.path.basename(path)[len("golden-"):-len(".jsonl")]
        per = {}
        for o in jsonl(path):
            if o.get("kind") == "golden":
                per.setdefault(o["fixture"], {})[o["group"]] = o
        for fixture, groups in per.items():
            cells = []
            for g in ("output", "latents", "loss", "grads", "zero rows", "train.losses"):
                o = groups.get(g)
                cells.append("-" if o is None else (f"{o['worst']:.0f}" if g == "zero rows" else f"{o['worst']:.1e}"))
            verdict = "PASS" if all(o["result"] == "PASS" for o in groups.values()) else "FAIL"
            rows.append([tag, fixture.replace(".safetensors", "")] + cells + [verdict])
            summary["golden"].append({"device": tag, "fixture": fixture, "result": verdict,
                                      "groups": {g: o["worst"] for g, o in groups.items()}})
        if not per:
            rows.append([tag, "(no result: " + status.get(f"golden-{tag}", {}).get("status", "not run") + ")"]
                        + [""] * 7)
    lines.append("\nGolden parity with torch_brain (worst normwise error; bounds 1e-5 out/latents, 1e-6 loss, "
                 "2e-5 grads/train, zero rows exactly 0):")
    lines.append(table(["device", "fixture", "output", "latents", "loss", "grads", "zero rows", "train", "result"],
                       rows) if rows else "  no golden results")

    # Training steps against the PyTorch anchor: our GPU devices against torch on CUDA, our CPU
    # backend and a CPU stand-in (PoCL) against torch on the CPU.
    torch_ms = {}
    for path in sorted(glob.glob(os.path.join(out, "torch-*.jsonl"))):
        for o in jsonl(path):
            if o.get("kind") == "timing":
                kind = "cuda" if str(o.get("device", "")).startswith("cuda") else "cpu"
                torch_ms[(kind, int(o["B"]))] = float(o["ms_median"])
                summary["torch"].append(o)
            if o.get("kind") == "model":
                summary.setdefault("torch_models", []).append(o)
    has_cuda = any(k == "cuda" for k, _ in torch_ms)
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "step-*.jsonl"))):
        tag = os.path.basename(path)[len("step-"):-len(".jsonl")]
        got = [o for o in jsonl(path) if "ms_per_step" in o]
        for o in got:
            b = int(o["batch"])
            name = str(o.get("device", ""))
            on_cpu = tag == "cpu" or "Portable Computing Language" in name or not has_cuda
            kind = "cpu" if on_cpu else "cuda"
            t = torch_ms.get((kind, b))
            ratio = f"{t / o['ms_per_step']:.2f}x" if t else "-"
            rows.append([tag, name[:60], b, f"{o['ms_per_step']:.1f}", kind, f"{t:.1f}" if t else "-", ratio])
            summary["step"].append({"device": tag, "name": name, "batch": b, "ms": o["ms_per_step"],
                                    "torch_device": kind, "torch_ms": t,
                                    "torch_over_ours": (t / o["ms_per_step"]) if t else None})
        if not got:
            rows.append([tag, "(no result: " + status.get(f"step-{tag}", {}).get("status", "not run") + ")",
                         "", "", "", "", ""])
    lines.append("\nTraining step, 1.3M config, ~2,200 input tokens per window, median ms/step, against torch_brain's "
                 "POYO in fp32 (torch/ours > 1: we are faster):")
    lines.append(table(["device", "name", "batch", "ours ms", "torch on", "torch ms", "torch/ours"], rows)
                 if rows else "  no step results")

    # Training runs.
    rows = []
    for d in sorted(glob.glob(os.path.join(out, "train-*"))):
        if not os.path.isdir(d):
            continue
        tag = os.path.basename(d)[len("train-"):]
        s = {}
        try:
            s = json.load(open(os.path.join(d, "summary.json")))
        except (OSError, json.JSONDecodeError):
            pass
        ms = []
        mpath = os.path.join(d, "metrics.csv")
        if os.path.exists(mpath):
            for r in csv.DictReader(open(mpath)):
                try:
                    ms.append(float(r.get("ms_per_step") or "nan"))
                except ValueError:
                    pass
        ms = [m for m in ms[1:] if m == m]  # the first step compiles kernels
        r2 = s.get("val_r2_mean")
        rows.append([tag, s.get("steps", "-"), f"{statistics.median(ms):.1f}" if ms else "-",
                     f"{r2:.4f}" if isinstance(r2, (int, float)) else "-",
                     f"{s['seconds']:.0f}" if isinstance(s.get("seconds"), (int, float)) else "-",
                     status.get(f"train-{tag}", {}).get("status", "?")])
        summary["train"].append({"device": tag, "steps": s.get("steps"), "ms_per_step_median": statistics.median(ms)
                                 if ms else None, "val_r2_mean": r2, "seconds": s.get("seconds")})
    lines.append("\npoyo train on the built-in synthetic data:")
    lines.append(table(["device", "steps", "ms/step", "val R2 mean", "seconds", "status"], rows)
                 if rows else "  no training runs")

    # Kernels: validity and the five slowest ops by share of peak.
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "kernels-*.jsonl"))):
        tag = os.path.basename(path)[len("kernels-"):-len(".jsonl")]
        objs = jsonl(path)
        peak = next((o for o in objs if o.get("kind") == "peak"), {})
        ops = [o for o in objs if o.get("kind") == "op"]
        bad = [o for o in ops if not o.get("valid")]
        total_ms = sum(o["median_ms"] for o in ops)
        rows.append([tag, f"{peak.get('gemm_gflops', 0):.0f}", f"{peak.get('copy_gbs', 0):.0f}",
                     f"{len(ops) - len(bad)}/{len(ops)}", f"{total_ms:.1f}",
                     ", ".join(f"{o['op']} {o['config']} {o['fraction_of_peak'] * 100:.0f}%"
                               for o in sorted(ops, key=lambda o: -o["median_ms"])[:3])])
        summary["kernels"].append({"device": tag, "peak": peak, "ops": len(ops), "invalid": len(bad),
                                   "total_ms": total_ms})
    lines.append("\npoyo-bench kernels (peak SGEMM GFLOP/s, copy GB/s; ops valid against the CPU backend; "
                 "the three slowest ops with their share of peak):")
    lines.append(table(["device", "GFLOP/s", "GB/s", "valid", "sum ms", "slowest"], rows) if rows
                 else "  no kernel results")

    lines.append("\nParts:")
    lines.append(table(["part", "status", "s", "note"],
                       [[p["part"], p["status"], p["seconds"], p["note"][:90]] for p in parts]))
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
