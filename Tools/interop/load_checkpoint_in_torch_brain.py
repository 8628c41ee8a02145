#!/usr/bin/env python3
"""Loads a poyo-swift checkpoint into torch_brain's `POYO` model.

A poyo-swift checkpoint (`checkpoint.safetensors`, `best.safetensors`, or a run folder, whose
`checkpoint.safetensors` is taken) holds float32 tensors under torch_brain's state-dict names and, in the
safetensors metadata, the model config (`config`, JSON: POYO's keyword arguments) and both vocabularies
(`unit_vocab`, `session_vocab`, JSON lists; position = embedding row, row 0 = "NA"). torch_brain's
`InfiniteVocabEmbedding` expects each vocabulary in the state dict itself, as `<prefix>vocab`: an
OrderedDict word -> row. This script builds `POYO(**config)`, adds those two entries, loads with
`strict=True` and prints the parameter count.

With --data DIR --predictions CSV it also decodes the split's windows (1 s, stride 0.5 s, torch_brain's
SequentialFixedWindowSampler) of every recording in DIR whose session is in the checkpoint, through
torch_brain's `Data.slice` and `POYO.tokenize`, averages the predictions per behaviour sample (as
torch_brain's stitcher does) and compares them with the CSV of `poyo eval --predictions` for the same
checkpoint, data and split. Unit ids are prefixed with the session id (`<session>/<unit>`), as
torch_brain's SpikingDatasetMixin does when `spiking_dataset_mixin_uniquify_unit_ids` is set; targets are
`(cursor.vel - mean) / std`, with the session's `normalizeMean`/`normalizeStd` from the checkpoint's
`data_settings` metadata when it has them (poyo-swift from commit 22d0324 on), else the file's `cursor`
attributes `poyo_norm_mean`/`poyo_norm_std`. Only `cursor.vel` is handled. Needs torch, torch_brain and
safetensors.

Usage: load_checkpoint_in_torch_brain.py CHECKPOINT_OR_RUN_FOLDER [--data DIR --predictions CSV]
                                         [--split valid|test] [--tolerance 1e-4]"""

import argparse
import csv
import json
import os
import sys
import textwrap
from collections import OrderedDict, defaultdict

import h5py
import numpy as np
import torch
from safetensors import safe_open
from torch_brain.batching import collate, pad8, track_mask8
from torch_brain.data import Data
from torch_brain.models import POYO
from torch_brain.samplers import SequentialFixedWindowSampler


def read_checkpoint(path):
    if os.path.isdir(path):
        path = os.path.join(path, "checkpoint.safetensors")
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    for key in ("config", "unit_vocab", "session_vocab"):
        if key not in meta:
            sys.exit(f"{path}: metadata has no '{key}' (not a poyo-swift checkpoint?)")
    return path, tensors, meta


def build_model(tensors, meta):
    config = json.loads(meta["config"])
    for key in ("sequence_length", "latent_step", "t_min", "t_max"):  # POYO insists on floats
        if key in config:
            config[key] = float(config[key])
    model = POYO(**config)
    state = dict(tensors)
    for prefix, key in (("unit_emb.", "unit_vocab"), ("session_emb.", "session_vocab")):
        words = json.loads(meta[key])
        if words[:1] != ["NA"]:
            sys.exit(f"{key} does not start with 'NA' (row 0 is torch_brain's padding row)")
        rows = state[prefix + "weight"].shape[0]
        if rows != len(words):
            sys.exit(f"{key}: {len(words)} words for {rows} rows of {prefix}weight")
        state[prefix + "vocab"] = OrderedDict((w, i) for i, w in enumerate(words))
    model.load_state_dict(state, strict=True)  # raises on any missing or unexpected tensor
    loaded = model.state_dict()
    same = all(torch.equal(loaded[k], v) for k, v in tensors.items())
    return model, config, same


def window_batch(model, sample):
    x = model.tokenize(sample)
    t = np.asarray(sample.cursor.timestamps).astype(np.float32)
    x["output_timestamps"] = pad8(t)
    x["output_mask"] = track_mask8(t)
    return x


def decode(model, data_dir, split, session_words, settings, batch_size=32):
    """Stitched predictions and targets per (session, behaviour sample index)."""
    seq = model.sequence_length
    out = {}
    for name in sorted(os.listdir(data_dir)):
        if not name.endswith(".h5"):
            continue
        f = h5py.File(os.path.join(data_dir, name), "r")
        data = Data.from_hdf5(f, lazy=True)
        session = str(data.session.id)
        if session not in session_words:
            print(f"  {session}: not in the checkpoint's session vocabulary, skipped")
            continue
        data.units.id = np.array([f"{session}/{u}" for u in np.asarray(data.units.id).astype(str)])
        times = f["cursor/timestamps"][:]
        mean = np.asarray(f["cursor"].attrs.get("poyo_norm_mean", 0.0))
        std = np.asarray(f["cursor"].attrs.get("poyo_norm_std", 1.0))
        if session in settings:
            mean = np.asarray(settings[session].get("normalizeMean", mean), dtype=np.float64)
            std = np.asarray(settings[session].get("normalizeStd", std), dtype=np.float64)
        targets = (f["cursor/vel"][:] - mean) / std
        domain = getattr(data, split + "_domain")
        sampler = SequentialFixedWindowSampler(
            sampling_intervals={session: domain}, window_length=seq, step=seq / 2)
        windows = [(w.start, w.end) for w in sampler]
        sums = defaultdict(lambda: 0.0)
        counts = defaultdict(int)
        for at in range(0, len(windows), batch_size):
            chunk = windows[at:at + batch_size]
            samples = [data.slice(a, b) for a, b in chunk]
            batch = collate([window_batch(model, s) for s in samples])
            with torch.no_grad():
                preds = model(**batch, unpack_output=True)
            for (a, _), pred in zip(chunk, preds):
                first = int(np.searchsorted(times, a))
                for k, row in enumerate(pred.double().numpy()):
                    sums[first + k] = sums[first + k] + row
                    counts[first + k] += 1
        out[session] = {i: (times[i], targets[i], sums[i] / counts[i]) for i in sums}
        print(f"  {session}: {len(windows)} windows, {len(out[session])} samples")
    return out


def compare(stitched, csv_path, tolerance):
    worst_pred = worst_target = 0.0
    matched = missing = 0
    seen = defaultdict(set)
    by_time = {s: {round(float(t), 6): (i, y, p) for i, (t, y, p) in d.items()} for s, d in stitched.items()}
    with open(csv_path) as fh:
        for row in csv.DictReader(fh):
            s = row["session"]
            hit = by_time.get(s, {}).get(round(float(row["time"]), 6))
            if hit is None:
                missing += 1
                continue
            i, y, p = hit
            seen[s].add(i)
            ours_p = np.array([float(row[k]) for k in row if k.startswith("prediction_")])
            ours_y = np.array([float(row[k]) for k in row if k.startswith("target_")])
            worst_pred = max(worst_pred, float(np.max(np.abs(ours_p - p))))
            worst_target = max(worst_target, float(np.max(np.abs(ours_y - y))))
            matched += 1
    extra = sum(len(d) - len(seen[s]) for s, d in stitched.items())
    print(f"compared {matched} samples with {csv_path}")
    print(f"  {missing} CSV rows without a torch_brain sample, {extra} torch_brain samples not in the CSV")
    print(f"  max |prediction difference| {worst_pred:.3g}, max |target difference| {worst_target:.3g} "
          f"(tolerance {tolerance:g})")
    return matched > 0 and missing == 0 and extra == 0 and worst_pred <= tolerance and worst_target <= tolerance


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--data", help="folder of brainsets .h5 recordings (the ones the CSV was made from)")
    ap.add_argument("--predictions", help="CSV from `poyo eval --predictions` for the same checkpoint")
    ap.add_argument("--split", default="valid", choices=["valid", "test"])
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    if bool(args.data) != bool(args.predictions):
        ap.error("--data and --predictions go together")

    path, tensors, meta = read_checkpoint(args.checkpoint)
    model, config, same = build_model(tensors, meta)
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    print(f"checkpoint: {path} ({meta.get('format', '?')}, step {meta.get('step', '?')})")
    print(textwrap.fill("POYO(" + ", ".join(f"{k}={v}" for k, v in sorted(config.items())) + ")", 100,
                        subsequent_indent="     "))
    print(f"loaded {len(tensors)} tensors + 2 vocabularies with strict=True; "
          f"state dict equals the file: {same}")
    print(f"parameters: {params:,} ({len(model.unit_emb.vocab)} unit rows, "
          f"{len(model.session_emb.vocab)} session rows, incl. 'NA')")
    if not same:
        sys.exit(1)
    if args.data:
        torch.set_num_threads(1)
        settings = json.loads(meta.get("data_settings", "{}"))
        stitched = decode(model, args.data, args.split, model.session_emb.vocab, settings)
        sys.exit(0 if compare(stitched, args.predictions, args.tolerance) else 1)


if __name__ == "__main__":
    main()
