#!/usr/bin/env python3
"""The PyTorch anchor on a torch device (CUDA on the GPU machine): torch_brain's POYO training
step (zero_grad, forward, loss, backward, AdamW step) in float32, timed per batch size.

The model, the batch and the loss come from ``torch_poyo_step.py`` beside this file (the CPU anchor,
``Tools/bench/torch_poyo_step.py``, imported), so the shapes are the ones ``poyo-bench step`` times: the 1.3M
config, 1 s windows of ~100 units at ~20 Hz (~2,200 input tokens), 100 outputs. Each step ends with
``torch.cuda.synchronize()`` so wall time is device time. TF32 is off (plain float32, as ours).

Output: one JSON object per line ("kind": "model" | "note" | "timing"), the timing lines in the
CPU anchor's format plus "device".
"""

import argparse
import json
import os
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cuda", help="torch device: cuda, cuda:N or cpu")
    ap.add_argument("--batch-sizes", default="8,32,128")
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import torch
    # The CPU anchor: model, batch and loss. Importing it puts placeholders where ray is missing (the
    # bundle installs torch_brain's wheel without dependencies) and prints a "note" line saying so.
    import torch_poyo_step as ref

    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch has no CUDA device here (torch.cuda.is_available() is False)")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    def to_device(tree):
        if isinstance(tree, dict):
            return {k: to_device(v) for k, v in tree.items()}
        if isinstance(tree, (list, tuple)):
            return type(tree)(to_device(v) for v in tree)
        return tree.to(dev) if torch.is_tensor(tree) else tree

    print(json.dumps(dict(
        kind="model", impl=f"torch_brain {ref.torch_brain_version()} (imported)", torch=torch.__version__,
        device=str(dev), device_name=torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        threads=torch.get_num_threads(), dtype="float32", tf32=False, config=ref.CONFIG,
    )), flush=True)

    for B in [int(b) for b in args.batch_sizes.split(",")]:
        # As the CPU anchor: a fresh model (same seed) per batch size, the batch built on the CPU.
        model, unit_ids = ref.build_model(args.units, args.seed)
        X, Y, tok = ref.make_batch(model, unit_ids, B, args.rate, args.seed + B)
        model = model.to(dev)
        model.train()
        X, Y = to_device(X), to_device(Y)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)

        def step():
            opt.zero_grad(set_to_none=True)
            ref.compute_loss(model, X, Y).backward()
            opt.step()

        for _ in range(args.warmup):
            step()
        sync()
        times = []
        for _ in range(args.iters):
            t0 = time.perf_counter_ns()
            step()
            sync()
            times.append((time.perf_counter_ns() - t0) / 1e6)
        st = sorted(times)
        med = statistics.median(times)
        print(json.dumps(dict(
            kind="timing", mode="train", B=B, device=str(dev), dtype="float32", iters=args.iters,
            warmup=args.warmup, ms_median=round(med, 3), ms_min=round(st[0], 3), ms_max=round(st[-1], 3),
            input_tokens_real=sum(tok), input_tokens_per_s=round(sum(tok) / (med / 1e3), 1),
        )), flush=True)
        del model, opt, X, Y
        if dev.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
