#!/usr/bin/env python3
"""Trains (or just evaluates) torch_brain's own `POYO` on `poyo synth` files, with the data settings
poyo-swift uses for them, so that the two engines can be compared on the same recordings.

Data settings (docs/interop.md, docs/spec.md §4.3; what poyo-swift's defaults are for these files):
  - recordings: every *.h5 in DIR except those with the root attribute `poyo_held_out = 1`;
  - unit ids `<session id>/<unit id>` (SpikingDatasetMixin with `spiking_dataset_mixin_uniquify_unit_ids`);
  - target `cursor.vel` at `cursor.timestamps`, normalised `(v - mean) / std` with the file's
    `cursor` attributes `poyo_norm_mean` / `poyo_norm_std` (0 and 20 in synth files, Perich's values);
  - loss weights per sample: the product of `movement_phases.hold_period` 0.1, `reach_period` 5.0,
    `return_period` 1.0 (1.0 elsewhere, i.e. what brainsets calls `random_period`);
  - splits: the files' `train_domain` / `valid_domain`; validation scores samples inside
    `movement_phases.reach_period`, windows of 1 s with stride 0.5 s, predictions averaged per sample.
The model is poyo_1.3M (dim 64, depth 6, 16 latents per step, 2 cross heads), UnitDropout 30/100/300/4.
The optimiser (--recipe):
  - smoke (default): plain AdamW at a fixed learning rate, a smoke test;
  - poyo: torch_brain's POYO recipe as docs/spec.md §4.4 states it (`poyo train`'s recipe): LAMB without
    bias correction, ‖w‖ clamped at 10, weight decay on every tensor, `unit_emb` / `session_emb` sparse,
    under PyTorch's OneCycleLR (pct_start 0.5, div_factor 1, cosine, β1 cycling). torch_brain 0.2.1's
    package has no SparseLamb (it lives in its examples/poyo/optim.py), so `Lamb` below implements it.
--eval-every N validates every N steps; --log FILE writes one JSON line per step and per validation,
with the seconds spent in training steps (data included, validation excluded) — what
Tools/bench/time_to_accuracy.py reads.

--checkpoint starts from a poyo-swift checkpoint instead (vocabularies included); with --steps 0 the
script only validates it, so its R² can be set beside `poyo eval` on the same folder.

Usage: train_torch_brain_on_synth.py DIR [--steps 20] [--batch-size 32] [--lr 1e-3] [--checkpoint PATH]
       [--recipe smoke|poyo] [--eval-every N] [--log FILE] [--seed S] [--threads T]"""

import argparse
import json
import os
import sys
import time
from collections import defaultdict

import h5py
import numpy as np
import torch
from torch_brain.batching import collate, pad8, track_mask8
from torch_brain.datasets import Dataset
from torch_brain.datasets.mixins import SpikingDatasetMixin
from torch_brain.models import POYO
from torch_brain.samplers import RandomFixedWindowSampler, SequentialFixedWindowSampler
from torch_brain.transforms import UnitDropout
from torch_brain.utils import isin_interval

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from load_checkpoint_in_torch_brain import build_model, read_checkpoint  # noqa: E402

POYO_1_3M = dict(sequence_length=1.0, latent_step=0.125, num_latents_per_step=16, dim=64, depth=6,
                 dim_head=64, cross_heads=2, self_heads=8, ffn_dropout=0.2, lin_dropout=0.4, atn_dropout=0.2)
WEIGHTS = {"movement_phases.hold_period": 0.1, "movement_phases.reach_period": 5.0,
           "movement_phases.return_period": 1.0}
EVAL_INTERVAL = "movement_phases.reach_period"


class SynthRecordings(SpikingDatasetMixin, Dataset):
    """`poyo synth` output (or any brainsets folder with train/valid/test domains)."""

    def __init__(self, root, recording_ids, transform=None):
        super().__init__(dataset_dir=root, recording_ids=recording_ids, transform=transform)
        self.spiking_dataset_mixin_uniquify_unit_ids = True

    def get_sampling_intervals(self, split):
        return {rid: getattr(self.get_recording(rid), split + "_domain") for rid in self.recording_ids}


class Lamb(torch.optim.Optimizer):
    """LAMB as docs/spec.md §4.4 (torch_brain's examples/poyo SparseLamb): no bias correction, per-tensor
    trust ratio ‖w‖ (clamped at 10) / ‖s‖, weight decay on every tensor. In a `sparse` group (2-D tables) a
    row whose gradient is all zero keeps its weights and has its moments reset; ‖s‖ still covers it."""

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-6, weight_decay=1e-4, clamp=10.0):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, clamp=clamp,
                                      sparse=False))

    @torch.no_grad()
    def step(self):
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                if not state:
                    state["m"] = torch.zeros_like(p)
                    state["v"] = torch.zeros_like(p)
                m, v = state["m"], state["v"]
                m.mul_(b1).add_(g, alpha=1 - b1)
                v.mul_(b2).addcmul_(g, g, value=1 - b2)
                touched = None
                if group["sparse"]:
                    touched = (g != 0).any(dim=1, keepdim=True).to(p.dtype)  # [rows, 1]
                    m.mul_(touched)
                    v.mul_(touched)
                s = m / (v.sqrt() + group["eps"]) + group["weight_decay"] * p
                w_norm = p.norm().clamp(0, group["clamp"])
                s_norm = s.norm()
                ratio = (w_norm / s_norm).item() if w_norm > 0 and s_norm > 0 else 1.0
                if touched is not None:
                    s = s * touched
                p.add_(s, alpha=-group["lr"] * ratio)


def poyo_recipe(model, lr, steps):
    """torch_brain's examples/poyo optimiser and schedule (docs/spec.md §4.4)."""
    sparse = [p for n, p in model.named_parameters() if n.startswith(("unit_emb", "session_emb"))]
    dense = [p for n, p in model.named_parameters() if not n.startswith(("unit_emb", "session_emb"))]
    optim = Lamb([dict(params=sparse, sparse=True), dict(params=dense)], lr=lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optim, max_lr=lr, total_steps=steps, pct_start=0.5,
                                                   anneal_strategy="cos", div_factor=1, final_div_factor=1e4)
    return optim, schedule


def trained_recordings(root):
    ids = []
    for name in sorted(os.listdir(root)):
        if name.endswith(".h5"):
            with h5py.File(os.path.join(root, name), "r") as f:
                if int(f.attrs.get("poyo_held_out", 0)) != 1:
                    ids.append(name[:-3])
    return ids


def make_sample(model, data, norm):
    """Model inputs and targets for one sliced window."""
    x = model.tokenize(data)
    t = np.asarray(data.cursor.timestamps)
    mean, std = norm[str(data.session.id)]
    values = (np.asarray(data.cursor.vel) - mean) / std
    weights = np.ones(len(t), dtype=np.float32)
    for key, w in WEIGHTS.items():
        weights[isin_interval(t, data.get_nested_attribute(key))] *= w
    y = dict(values=pad8(values.astype(np.float32)), weights=pad8(weights),
             eval_mask=pad8(isin_interval(t, data.get_nested_attribute(EVAL_INTERVAL))),
             session=str(data.session.id), absolute_start=float(data.absolute_start), times=t)
    x["output_timestamps"] = pad8(t.astype(np.float32))
    x["output_mask"] = track_mask8(t)
    return x, y


def validate(model, ds, norm, batch_size):
    sampler = SequentialFixedWindowSampler(sampling_intervals=ds.get_sampling_intervals("valid"),
                                           window_length=model.sequence_length, step=model.sequence_length / 2)
    windows = list(sampler)
    sums = defaultdict(dict)
    model.eval()
    with torch.no_grad():
        for at in range(0, len(windows), batch_size):
            items = [make_sample(model, ds[w], norm) for w in windows[at:at + batch_size]]
            xs = collate([x for x, _ in items])
            preds = model(**xs, unpack_output=True)
            for (x, y), p in zip(items, preds):
                # stitch on float64 recording times (torch_brain's example adds the float32 window times
                # to absolute_start in float32, so ~10% of the samples seen by two windows stay apart)
                t = np.round(y["times"] + y["absolute_start"], 9)
                keep = y["eval_mask"].obj
                for ti, pi, vi in zip(t[keep], p.numpy()[keep], y["values"].obj[keep]):
                    acc = sums[y["session"]].setdefault(ti, [0.0, 0, vi])
                    acc[0] = acc[0] + pi
                    acc[1] += 1
    r2 = {}
    for session, by_time in sorted(sums.items()):
        pred = np.array([s / n for s, n, _ in by_time.values()])
        true = np.array([v for _, _, v in by_time.values()])
        ss_res = ((true - pred) ** 2).sum(0)
        ss_tot = ((true - true.mean(0)) ** 2).sum(0)
        r2[session] = float(np.mean(1 - ss_res / ss_tot))
    return r2, len(windows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--checkpoint", help="start from this poyo-swift checkpoint (file or run folder)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--recipe", choices=["smoke", "poyo"], default="smoke")
    ap.add_argument("--eval-every", type=int, default=0, help="validate every N steps (0: only at the end)")
    ap.add_argument("--log", help="write JSON lines (steps, validations) to this file")
    args = ap.parse_args()
    log = open(args.log, "w") if args.log else None

    def emit(**record):
        if log:
            log.write(json.dumps(record) + "\n")
            log.flush()
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.set_num_threads(args.threads)

    ids = trained_recordings(args.data)
    dropout = UnitDropout(min_units=30, mode_units=100, max_units=300, peak=4, seed=args.seed)
    train_ds = SynthRecordings(args.data, ids, transform=dropout)
    val_ds = SynthRecordings(args.data, ids)
    norm = {}
    for rid in ids:
        with h5py.File(os.path.join(args.data, rid + ".h5"), "r") as f:
            session = f["session"].attrs["id"]
            session = session.decode() if isinstance(session, bytes) else str(session)
            if session != rid:  # init_vocabs takes recording ids, the tokenizer looks up session.id
                sys.exit(f"{rid}.h5 holds session {session}: torch_brain needs the file named after it")
            a = f["cursor"].attrs
            norm[session] = (np.asarray(a.get("poyo_norm_mean", 0.0)), np.asarray(a.get("poyo_norm_std", 20.0)))

    if args.checkpoint:
        path, tensors, meta = read_checkpoint(args.checkpoint)
        model, _, _ = build_model(tensors, meta)
        print(f"model: {path}")
    else:
        model = POYO(**POYO_1_3M, dim_out=2)
        model.init_vocabs(train_ds)
    print(f"recordings: {', '.join(ids)}")
    print(f"{len(train_ds.get_unit_ids())} units; {sum(p.numel() for p in model.parameters()):,} parameters")

    if args.steps > 0:
        sampler = RandomFixedWindowSampler(sampling_intervals=train_ds.get_sampling_intervals("train"),
                                           window_length=model.sequence_length,
                                           generator=torch.Generator().manual_seed(args.seed + 1))
        loader = torch.utils.data.DataLoader(
            train_ds, sampler=sampler, batch_size=args.batch_size, drop_last=True,
            collate_fn=lambda samples: [make_sample(model, s, norm) for s in samples])
        if args.recipe == "poyo":
            optim, schedule = poyo_recipe(model, args.lr, args.steps)
        else:
            optim, schedule = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4), None
        step = 0
        train_seconds = 0.0
        started = time.perf_counter()  # the step's clock includes drawing its batch from the loader
        while step < args.steps:
            for items in loader:
                model.train()
                xs = collate([x for x, _ in items])
                ys = collate([{k: v for k, v in y.items() if k != "times"} for _, y in items])
                pred = model(**xs)
                mask = xs["output_mask"]
                err = ((pred[mask] - ys["values"][mask]) ** 2).mean(-1)
                w = ys["weights"][mask]
                loss = (w * err).sum() / w.sum()
                optim.zero_grad()
                loss.backward()
                lr = optim.param_groups[0]["lr"]
                optim.step()
                if schedule:
                    schedule.step()
                step += 1
                now = time.perf_counter()
                train_seconds += now - started
                emit(kind="step", step=step, loss=loss.item(), lr=lr, ms=1000 * (now - started))
                print(f"step {step}/{args.steps} | loss {loss.item():.4f} | lr {lr:.1e} | "
                      f"{1000 * (now - started):.0f} ms/step", flush=True)
                if args.eval_every and step % args.eval_every == 0 and step < args.steps:
                    t0 = time.perf_counter()
                    r2, _ = validate(model, val_ds, norm, args.batch_size)
                    mean = float(np.mean(list(r2.values())))
                    emit(kind="eval", step=step, train_seconds=train_seconds, r2=mean, r2_sessions=r2,
                         eval_seconds=time.perf_counter() - t0)
                    print(f"step {step}: valid R² {mean:.4f}", flush=True)
                if step == args.steps:
                    break
                started = time.perf_counter()
    t0 = time.perf_counter()
    r2, windows = validate(model, val_ds, norm, args.batch_size)
    if args.steps > 0:
        emit(kind="eval", step=args.steps, train_seconds=train_seconds, r2=float(np.mean(list(r2.values()))),
             r2_sessions=r2, eval_seconds=time.perf_counter() - t0)
    for session, v in r2.items():
        print(f"  {session}  {v:.4f}")
    print(f"mean valid R² {np.mean(list(r2.values())):.4f} ({windows} windows)")


if __name__ == "__main__":
    main()
