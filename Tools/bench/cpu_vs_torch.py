#!/usr/bin/env python3
"""Our CPU training step against torch_brain's POYO on PyTorch, side by side (issue 12).

Runs `poyo-bench step` and Tools/bench/torch_poyo_step.py (the real torch_brain 0.2.1 POYO,
1.3M config, or with `--model 11.8M` the anchor run with torch_brain's 11.8M values; AdamW,
dropout 0) alternately, `--pairs` times per batch size, same window shape
(100 units, ~2,000 spikes, 100 outputs per 1 s window) and the same thread count, and prints
each pair's times, its ratio (torch / ours) and the median ratio per batch size. A shared
machine is noisy: only ratios from one run mean anything. torch_poyo_step.py's `sgemm_check`
lines (torch.mm 1024³ before and after each of its runs) are printed as the SGEMM ceiling seen
during the run.

    python3 -m venv /tmp/torch && /tmp/torch/bin/pip install torch torch-brain==0.2.1
    swift build -c release --product poyo-bench
    python3 Tools/bench/cpu_vs_torch.py --python /tmp/torch/bin/python --batches 8,32 --pairs 3
    python3 Tools/bench/cpu_vs_torch.py --python /tmp/torch/bin/python --model 11.8M --batches 8
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


def run_json(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr[-2000:]}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


# torch_brain's examples/poyo/configs/model/poyo_11.8M.yaml, dropout 0 as the anchor sets it for 1.3M.
CONFIG_11_8M = dict(num_latents_per_step=32, dim=128, dim_head=64, depth=24, cross_heads=4, self_heads=8)


def ours(args, batch):
    rows = run_json([args.poyo_bench, "step", "--device", "cpu", "--model", args.model, "--batch", str(batch),
                     "--steps", str(args.steps), "--threads", str(args.threads), "--json"])
    return rows[-1]["ms_per_step"]


def torch(args, batch):
    argv = ["--batch-sizes", str(batch), "--iters", str(args.iters), "--warmup", str(args.warmup),
            "--threads", str(args.threads), "--modes", "train"]
    if args.model == "1.3M":
        rows = run_json([args.python, args.anchor] + argv)
    else:
        # The anchor builds the model from its module-level CONFIG (1.3M): run it with the 11.8M values.
        code = ("import sys; sys.path.insert(0, sys.argv[1]); import torch_poyo_step as t; "
                f"t.CONFIG.update({CONFIG_11_8M!r}); sys.argv = ['torch_poyo_step'] + sys.argv[2:]; t.main()")
        rows = run_json([args.python, "-c", code, os.path.dirname(os.path.abspath(args.anchor))] + argv)
    timing = [r for r in rows if r.get("kind") == "timing"][-1]
    sgemm = [r.get("torch_mm_1024_gflops_median") for r in rows if r.get("kind") == "sgemm_check"]
    return timing["ms_median"], sgemm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--poyo-bench", default=os.path.join(ROOT, ".build", "release", "poyo-bench"))
    ap.add_argument("--python", default="/tmp/torch/bin/python", help="a Python with torch and torch-brain")
    ap.add_argument("--anchor", default=os.path.join(ROOT, "Tools", "bench", "torch_poyo_step.py"))
    ap.add_argument("--model", default="1.3M", choices=["1.3M", "11.8M"])
    ap.add_argument("--batches", default="8,32")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5, help="our timed steps per run (median)")
    ap.add_argument("--iters", type=int, default=5, help="torch timed iterations per run (median)")
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    for path in (args.poyo_bench, args.python, args.anchor):
        if not os.path.exists(path):
            sys.exit(f"not found: {path}")
    print(f"{args.model} training step, {args.threads} threads; ratio = torch ms / ours ms (higher is better for us)")
    for batch in [int(b) for b in args.batches.split(",")]:
        ratios = []
        for i in range(args.pairs):
            # Alternate which side runs first, so drift in the machine's speed hits both.
            if i % 2 == 0:
                a = ours(args, batch)
                t, sgemm = torch(args, batch)
            else:
                t, sgemm = torch(args, batch)
                a = ours(args, batch)
            ratios.append(t / a)
            ceiling = ", ".join(f"{g:.0f}" for g in sgemm if g)
            print(f"batch {batch:3d} pair {i + 1}: ours {a:8.1f} ms  torch {t:8.1f} ms  ratio {t / a:5.2f}"
                  f"  (torch.mm 1024³: {ceiling} GFLOP/s)")
        print(f"batch {batch:3d}: median ratio {statistics.median(ratios):.2f} over {len(ratios)} pairs")


if __name__ == "__main__":
    main()
