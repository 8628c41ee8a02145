#!/usr/bin/env python3
"""The PyTorch anchor: one torch_brain POYO training step (1.3M config, float32), timed on the CPU.

What `poyo-bench step` times, done by the reference itself: the model is `torch_brain.models.POYO`
from the installed package (`pip install torch torch-brain==0.2.1`), never a re-typed copy; windows
go through `POYO.tokenize` and `torch_brain.batching.collate` (padded to multiples of 8, as the
reference trains); the loss is the weighted MSE of torch_brain's POYO example, summed over every
query of the batch and divided by the summed weights. AdamW, dropout 0.

Each window: 1 s, `--units` units spiking Poisson(`--rate` Hz) at uniform times (about 2,000 spikes
at the defaults), plus a start and an end token per unit; 100 queries at 100 Hz with N(0, 1)
targets and weight 1. A fresh model (same seed) per batch size, the same batch every iteration.

Modes, each the median of `--iters` after `--warmup` (batch building excluded, gc off while timed):
  fwd      eval mode, no autograd, forward only
  fwd_bwd  zero_grad + forward + loss + backward
  train    zero_grad + forward + loss + backward + AdamW step

Output, one JSON object per line: "model" (software, config, parameter counts), "sgemm_check"
(torch.mm 1024³ GFLOP/s before and after: a shared machine that slowed down shows here),
"timing" (mode, B, ms_median, p10/p90, tokens per second) and, only where ray is not installed,
"note" (placeholder modules stand in for it: torch_brain imports ray, POYO never uses it).
Tools/bench/cpu_vs_torch.py runs this script (for 11.8M it imports it and updates CONFIG);
ci/gpu/torch_step.py imports it (CONFIG, build_model, make_batch, compute_loss, torch_brain_version).

    python3 Tools/bench/torch_poyo_step.py --batch-sizes 1,8,32 --iters 30 --warmup 5 --threads 2
"""

import argparse
import gc
import json
import platform
import statistics
import sys
import time
import types

import numpy as np
import torch


def emit(**fields):
    print(json.dumps(fields), flush=True)


class _Placeholder(types.ModuleType):
    """A module whose every attribute is an empty class: enough for annotations such as ray.actor.ActorHandle."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        value = type(name, (), {})
        setattr(self, name, value)
        return value


def _stub_missing_ray():
    """Placeholder `ray` modules when ray is not installed, with a "note" line saying so.

    torch_brain.models imports torch_brain.datasets, which imports torch_brain.pipeline (the brainsets
    download pipeline), which imports ray at module level. Neither the model nor this script calls it,
    and where torch_brain was installed without its dependencies (the GPU bundle's wheel, `--no-deps`,
    no network) ray is absent: without placeholders the import of POYO would fail for nothing.
    """
    try:
        import ray  # noqa: F401

        return
    except ImportError:
        pass
    for name in ("ray", "ray.actor", "ray.util", "ray.util.actor_pool"):
        sys.modules[name] = _Placeholder(name)
    sys.modules["ray"].actor = sys.modules["ray.actor"]
    sys.modules["ray"].util = sys.modules["ray.util"]
    sys.modules["ray.util"].actor_pool = sys.modules["ray.util.actor_pool"]
    emit(kind="note", note="ray is not installed: placeholder modules stand in (only torch_brain's data pipeline "
         "uses ray)")


_stub_missing_ray()
try:
    import torch_brain
    from torch_brain.batching import collate, pad8
    from torch_brain.data import ArrayDict, Data, IrregularTimeSeries
    from torch_brain.models import POYO
except ImportError as error:  # the anchor is the real package or nothing
    sys.exit(f"torch_brain is not importable ({error}); install it with `pip install torch torch-brain==0.2.1`")

# torch_brain's examples/poyo/configs/model/poyo_1.3M.yaml with every dropout at 0 (ours is off too
# when timing). Callers may update it before build_model (cpu_vs_torch.py does, for 11.8M).
CONFIG = dict(
    sequence_length=1.0, latent_step=0.125, num_latents_per_step=16, dim=64, depth=6, dim_head=64,
    cross_heads=2, self_heads=8, dim_out=2, ffn_dropout=0.0, lin_dropout=0.0, atn_dropout=0.0,
)
QUERY_HZ = 100


def torch_brain_version():
    try:
        from importlib.metadata import version

        return version("torch-brain")
    except Exception:
        return getattr(torch_brain, "__version__", "unknown")


def build_model(units, seed):
    """POYO with one session of `units` units in its vocabularies; returns (model, unit ids)."""
    torch.manual_seed(seed)
    model = POYO(**CONFIG)
    ids = [f"rec/unit{i:03d}" for i in range(units)]
    model.unit_emb.initialize_vocab(ids)
    model.session_emb.initialize_vocab(["rec"])
    return model, ids


def _window(model, ids, rate, rng):
    """One window as the reference's dataset wrapper hands it over: (inputs, targets, input tokens)."""
    length = model.sequence_length
    counts = rng.poisson(rate * length, size=len(ids))
    unit = np.repeat(np.arange(len(ids), dtype=np.int64), counts)
    times = np.sort(rng.uniform(0.0, length, size=unit.size))
    unit = unit[rng.permutation(unit.size)]  # spikes in time order, units in random order
    sample = Data(
        spikes=IrregularTimeSeries(timestamps=times, unit_index=unit, domain="auto"),
        units=ArrayDict(id=np.array(ids)),
        session=Data(id="rec"),
        domain="auto",
    )
    queries = int(round(length * QUERY_HZ))
    target = dict(
        timestamps=pad8(((np.arange(queries) + 0.5) / QUERY_HZ).astype(np.float32)),
        values=pad8(rng.standard_normal((queries, CONFIG["dim_out"])).astype(np.float32)),
        weights=pad8(np.ones(queries, dtype=np.float32)),
        output_mask=pad8(np.ones(queries, dtype=bool)),
    )
    return model.tokenize(sample), target, int(unit.size + 2 * len(ids))


def make_batch(model, ids, batch, rate, seed):
    """`batch` windows collated as the reference trains: (inputs, targets, input tokens per window)."""
    rng = np.random.default_rng(seed)
    windows = [_window(model, ids, rate, rng) for _ in range(batch)]
    return collate([w[0] for w in windows]), collate([w[1] for w in windows]), [w[2] for w in windows]


def compute_loss(model, inputs, target):
    """Weighted MSE over the real (unpadded) queries: Σ w·mean_d (pred − y)² / Σ w."""
    mask = target["output_mask"]
    pred = model(**inputs, output_timestamps=target["timestamps"])[mask]
    per_query = ((pred - target["values"][mask]) ** 2).mean(dim=1)
    weights = target["weights"][mask]
    return (per_query * weights).sum() / weights.sum()


def _step_function(mode, model, optimizer, inputs, target):
    if mode == "fwd":
        model.eval()

        def step():
            with torch.no_grad():
                model(**inputs, output_timestamps=target["timestamps"])

        return step
    model.train()
    if mode == "fwd_bwd":

        def step():
            model.zero_grad(set_to_none=True)
            compute_loss(model, inputs, target).backward()

        return step
    if mode == "train":

        def step():
            optimizer.zero_grad(set_to_none=True)
            compute_loss(model, inputs, target).backward()
            optimizer.step()

        return step
    raise SystemExit(f"unknown mode {mode!r}: fwd, fwd_bwd or train")


def timed(step, iters, warmup):
    """Milliseconds of each of `iters` calls after `warmup` untimed ones, with gc off."""
    for _ in range(warmup):
        step()
    gc.collect()
    gc.disable()
    try:
        out = []
        for _ in range(iters):
            start = time.perf_counter_ns()
            step()
            out.append((time.perf_counter_ns() - start) / 1e6)
        return out
    finally:
        gc.enable()


def sgemm_check(when):
    """torch.mm at 1024³ with the current threads, median of 10: the machine's state at that moment."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    ms = timed(lambda: torch.mm(a, b), iters=10, warmup=2)
    gflops = 2 * 1024**3 / (statistics.median(ms) / 1e3) / 1e9
    emit(kind="sgemm_check", when=when, threads=torch.get_num_threads(), torch_mm_1024_gflops_median=round(gflops, 1))


def quantile(sorted_ms, q):
    at = (len(sorted_ms) - 1) * q
    lo = int(at)
    hi = min(lo + 1, len(sorted_ms) - 1)
    return sorted_ms[lo] + (sorted_ms[hi] - sorted_ms[lo]) * (at - lo)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch-sizes", default="1,8,32")
    ap.add_argument("--units", type=int, default=100)
    ap.add_argument("--rate", type=float, default=20.0, help="Poisson rate of every unit, Hz")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--modes", default="fwd,fwd_bwd,train")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    model, _ = build_model(args.units, args.seed)
    total = sum(p.numel() for p in model.parameters())
    tables = model.unit_emb.weight.numel() + model.session_emb.weight.numel()
    emit(kind="model", impl=f"torch_brain {torch_brain_version()} (imported, not re-typed)",
         torch=torch.__version__, python=platform.python_version(), threads=torch.get_num_threads(),
         dtype="float32", config=CONFIG, units=args.units, sessions=1, params_total=total,
         params_non_embedding=total - tables, params_unit_session_emb=tables)
    sgemm_check("start")
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        model, ids = build_model(args.units, args.seed)  # the same weights and a fresh AdamW for every B
        inputs, target, tokens = make_batch(model, ids, batch, args.rate, args.seed + batch)
        optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
        for mode in args.modes.split(","):
            ms = timed(_step_function(mode, model, optimizer, inputs, target), args.iters, args.warmup)
            med = statistics.median(ms)
            ordered = sorted(ms)
            emit(kind="timing", mode=mode, B=batch, dtype="float32", threads=torch.get_num_threads(),
                 iters=args.iters, warmup=args.warmup, ms_median=round(med, 3),
                 ms_p10=round(quantile(ordered, 0.1), 3), ms_p90=round(quantile(ordered, 0.9), 3),
                 ms_min=round(ordered[0], 3), input_tokens_real=sum(tokens),
                 input_tokens_padded=batch * inputs["input_unit_index"].shape[1],
                 input_tokens_per_s=round(sum(tokens) / (med / 1e3), 1), windows_per_s=round(batch / (med / 1e3), 2))
    sgemm_check("end")


if __name__ == "__main__":
    main()
