#!/usr/bin/env python3
"""Time to accuracy over seeds: poyo-swift and torch_brain's POYO trained on the same files with the same
recipe, alternating (ours seed s, theirs seed s, ours seed s+1, ...), and the steps and seconds each took to
reach a validation R² threshold.

The recipe is `poyo train`'s default (docs/training.md): poyo_1.3M, batch 32, 500 steps, LAMB at a peak
LR of 4e-3 under OneCycle (pct_start 0.5), UnitDropout 30/100/300/4, 1 s windows. Ours runs from a config
file that states all of it plus `eval_every`; theirs is Tools/interop/train_torch_brain_on_synth.py
--recipe poyo (torch_brain 0.2.1's own model, tokenizer, samplers and UnitDropout; LAMB and OneCycle
written there from docs/spec.md §4.4, since the package does not ship SparseLamb).

Seconds are the sum of the training steps' wall times (drawing and tokenising the batch included,
validation and checkpoints excluded): `ms_per_step` in our metrics.csv, the step clock of the torch
script. A threshold is reached at the first validation at or above it, so steps have the resolution of
--eval-every.

Usage:
  python3 Tools/bench/time_to_accuracy.py --data DIR --out DIR [--seeds 42,43,44,45,46] [--threads 2]
      [--poyo .build/release/poyo] [--torch-python /tmp/torch/bin/python] [--eval-every 25]
  python3 Tools/bench/time_to_accuracy.py --out DIR --table     # the table from the runs already there

Each finished run appends one line to DIR/results.jsonl; a rerun skips (side, seed) pairs already there.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_SCRIPT = os.path.join(HERE, "..", "interop", "train_torch_brain_on_synth.py")
THRESHOLDS = (0.7, 0.9)

CONFIG = """# poyo train's default recipe (no --config), stated in full, validating every {eval_every} steps
model:
  atn_dropout: 0.2
  cross_heads: 2
  depth: 6
  dim: 64
  dim_head: 64
  dim_out: 2
  emb_init_scale: 0.02
  ffn_dropout: 0.2
  latent_step: 0.125
  lin_dropout: 0.4
  num_latents_per_step: 16
  self_heads: 8
  sequence_length: 1.0
batch_size: {batch}
steps: {steps}
eval_every: {eval_every}
optimizer: lamb
optim:
  lr: {lr}
  weight_decay: 0.0001
  lr_decay_start: 0.5
train_transforms:
  - _target_: torch_brain.transforms.UnitDropout
    min_units: 30
    mode_units: 100
    max_units: 300
    peak: 4.0
data_root: "{data}"
"""


def run_ours(args, seed):
    """Trains poyo-swift; returns [(step, train_seconds, r2)] and the median step time."""
    folder = os.path.join(args.out, f"ours-s{seed}")
    config = os.path.join(args.out, "ours.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(eval_every=args.eval_every, batch=args.batch_size, steps=args.steps, lr=args.lr,
                              data=os.path.abspath(args.data)))
    env = dict(os.environ, POYO_NUM_THREADS=str(args.threads))
    cmd = [args.poyo, "train", "--config", config, "--seed", str(seed), "--out", folder,
           "--checkpoint-every", str(args.steps), "--device", "cpu"]
    with open(folder + ".log", "w") as log:
        subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    curve, step_ms, seconds = [], [], 0.0
    with open(os.path.join(folder, "metrics.csv")) as f:
        for row in csv.DictReader(f):
            seconds += float(row["ms_per_step"]) / 1000
            step_ms.append(float(row["ms_per_step"]))
            if row["val/r2"]:
                curve.append((int(row["step"]), seconds, float(row["val/r2"])))
    return curve, statistics.median(step_ms)


def run_torch(args, seed):
    """Trains torch_brain's POYO; returns [(step, train_seconds, r2)] and the median step time."""
    log_path = os.path.join(args.out, f"torch-s{seed}.jsonl")
    cmd = [args.torch_python, TORCH_SCRIPT, os.path.abspath(args.data), "--recipe", "poyo",
           "--lr", str(args.lr), "--steps", str(args.steps), "--batch-size", str(args.batch_size),
           "--eval-every", str(args.eval_every), "--seed", str(seed), "--threads", str(args.threads),
           "--log", log_path]
    with open(os.path.join(args.out, f"torch-s{seed}.log"), "w") as log:
        subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, check=True)
    curve, step_ms = [], []
    with open(log_path) as f:
        for line in f:
            r = json.loads(line)
            if r["kind"] == "step":
                step_ms.append(r["ms"])
            elif r["kind"] == "eval":
                curve.append((r["step"], r["train_seconds"], r["r2"]))
    return curve, statistics.median(step_ms)


def reached(curve, threshold):
    """(steps, seconds) at the first validation at or above the threshold, or None."""
    for step, seconds, r2 in curve:
        if r2 >= threshold:
            return step, seconds
    return None


def spread(values, fmt):
    if not values:
        return "—"
    text = fmt(statistics.median(values))
    return text if len(values) == 1 else f"{text} ({fmt(min(values))}–{fmt(max(values))})"


def table(records):
    sides = [s for s in ("poyo-swift", "torch_brain") if any(r["side"] == s for r in records)]
    head = ["", "runs", "ms/step"]
    for t in THRESHOLDS:
        head += [f"steps to {t}", f"seconds to {t}"]  # median (range)
    head.append("final R²")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    medians = {}
    for side in sides:
        runs = [r for r in records if r["side"] == side]
        row = [side, str(len(runs)), spread([r["median_step_ms"] for r in runs], lambda v: f"{v:.0f}")]
        for t in THRESHOLDS:
            hits = [reached(r["curve"], t) for r in runs]
            got = [h for h in hits if h]
            missing = len(hits) - len(got)
            note = f"; {missing} of {len(hits)} never" if missing else ""
            row.append(spread([h[0] for h in got], lambda v: f"{v:.0f}") + note)
            row.append(spread([h[1] for h in got], lambda v: f"{v:.0f}") + note)
            medians[(side, t)] = statistics.median([h[1] for h in got]) if got else None
        row.append(spread([r["curve"][-1][2] for r in runs], lambda v: f"{v:.4f}"))
        lines.append("| " + " | ".join(row) + " |")
    # Per seed: steps / seconds to the first threshold, and the final R².
    seeds = sorted({r["seed"] for r in records})
    lines += ["", "| seed | " + " | ".join(f"{s}: steps, s to {THRESHOLDS[0]}; final" for s in sides) + " |",
              "|---|" + "---|" * len(sides)]
    for seed in seeds:
        cells = []
        for side in sides:
            run = next((r for r in records if r["side"] == side and r["seed"] == seed), None)
            hit = reached(run["curve"], THRESHOLDS[0]) if run else None
            cells.append("—" if not run else
                         (f"{hit[0]}, {hit[1]:.0f}" if hit else "never") + f"; {run['curve'][-1][2]:.4f}")
        lines.append(f"| {seed} | " + " | ".join(cells) + " |")
    lines.append("")
    for t in THRESHOLDS:
        ours, theirs = medians.get(("poyo-swift", t)), medians.get(("torch_brain", t))
        if ours and theirs:
            lines.append(f"median seconds to R² {t}: torch_brain / poyo-swift = {theirs / ours:.2f}×")
    finals = {s: statistics.median([r["curve"][-1][2] for r in records if r["side"] == s]) for s in sides}
    if len(finals) == 2:
        gap = finals["poyo-swift"] - finals["torch_brain"]
        lines.append(f"median final R²: poyo-swift − torch_brain = {gap:+.4f}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", help="folder of recordings (e.g. the built-in dataset's cache folder)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", default="42,43,44,45,46")
    ap.add_argument("--sides", default="ours,torch")
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=4e-3)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--poyo", default=os.path.join(HERE, "..", "..", ".build", "release", "poyo"))
    ap.add_argument("--torch-python", default="/tmp/torch/bin/python")
    ap.add_argument("--table", action="store_true", help="only print the table of the runs in --out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    results = os.path.join(args.out, "results.jsonl")
    records = []
    if os.path.exists(results):
        with open(results) as f:
            records = [json.loads(line) for line in f if line.strip()]
    if not args.table:
        if not args.data:
            sys.exit("time_to_accuracy: --data DIR is required to train")
        done = {(r["side"], r["seed"]) for r in records}
        runners = {"ours": ("poyo-swift", run_ours), "torch": ("torch_brain", run_torch)}
        for seed in [int(s) for s in args.seeds.split(",")]:
            for key in args.sides.split(","):
                side, runner = runners[key]
                if (side, seed) in done:
                    continue
                started = time.time()
                curve, step_ms = runner(args, seed)
                record = dict(side=side, seed=seed, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                              threads=args.threads, eval_every=args.eval_every, median_step_ms=step_ms,
                              curve=curve, wall_seconds=time.time() - started)
                records.append(record)
                with open(results, "a") as f:
                    f.write(json.dumps(record) + "\n")
                hit = reached(curve, 0.7)
                print(f"{side} seed {seed}: final R² {curve[-1][2]:.4f}, R² 0.7 at "
                      f"{f'step {hit[0]} ({hit[1]:.0f} s)' if hit else 'never'}, {step_ms:.0f} ms/step", flush=True)
    print(table(records))


if __name__ == "__main__":
    main()
