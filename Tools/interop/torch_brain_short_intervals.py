#!/usr/bin/env python3
"""Writes Tests/Fixtures/torch_brain_short_intervals.json: what torch_brain's own samplers do with the
short-trial fixture's training and validation intervals, for ShortIntervalSkipTests to compare with
`short_intervals: skip`.

    python3 -m venv /tmp/tb && /tmp/tb/bin/pip install torch-brain==0.2.1 "torch~=2.0"
    /tmp/tb/bin/python Tools/interop/torch_brain_short_intervals.py

torch_brain 0.2.1 (torch_brain.samplers) with its defaults: RandomFixedWindowSampler drops intervals
shorter than the window (drop_short=True), SequentialFixedWindowSampler raises on them
(drop_short=False). Only the facts that do not depend on torch's random stream are recorded:
- training: `len(sampler)`, `len(loader)` for a few batch sizes (whole batches, drop_last=True), which
  intervals yield windows and how many each yields per epoch (checked equal over many seeds), and the
  seconds the sampler logs as skipped;
- validation (1 s windows, 0.5 s step, as our evaluator): the window starts of every interval at least
  a window long, and the ValueError torch_brain raises for each shorter one.

The intervals are those poyo's reader gives the file (Tests/Fixtures/nlb_maze_short_trials.nwb, split
rule `nlb`: the `split` column's train trials shuffled by our seeded generator, 20 % to valid). They
are recomputed here from the NWB file with that generator (SplitMix64-seeded xoshiro256**, Lemire's
bounded draw, Fisher–Yates from the end) and written into the JSON; the Swift test first checks that
the reader gives exactly these intervals, so a drift on either side fails there, not silently.
"""
import json
import logging
import math
import os
import re
import sys

import h5py
import torch
import torch_brain
from torch_brain.data import Interval
from torch_brain.samplers import RandomFixedWindowSampler, SequentialFixedWindowSampler

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
NWB = os.path.join(ROOT, "Tests", "Fixtures", "nlb_maze_short_trials.nwb")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "torch_brain_short_intervals.json")
WINDOW = 1.0
STEP = 0.5
SEEDS = range(200)
BATCH_SIZES = [1, 4, 8, 16]
MASK = (1 << 64) - 1


class SeededRNG:
    """poyo's SeededRNG (Sources/POYOData/SeededRNG.swift), only what the nlb split draws."""

    def __init__(self, seed):
        x = seed

        def splitmix():
            nonlocal x
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            return z ^ (z >> 31)

        self.s = [splitmix() for _ in range(4)]

    def next(self):
        s = self.s
        rotl = lambda v, k: ((v << k) | (v >> (64 - k))) & MASK
        result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
        return result

    def below(self, n):
        if n <= 1:
            return 0
        m = self.next() * n
        if (m & MASK) < n:
            threshold = ((1 << 64) - n) % n
            while (m & MASK) < threshold:
                m = self.next() * n
        return m >> 64

    def shuffle(self, a):
        i = len(a) - 1
        while i > 0:
            j = self.below(i + 1)
            a[i], a[j] = a[j], a[i]
            i -= 1


def nlb_split(path, valid_fraction=0.2, seed=42):
    """Training and validation trials as [start, end] pairs, as poyo's `splitDomains(.nlb)`."""
    with h5py.File(path, "r") as f:
        starts = f["intervals/trials/start_time"][:].tolist()
        ends = f["intervals/trials/stop_time"][:].tolist()
        labels = [s.decode() if isinstance(s, bytes) else str(s) for s in f["intervals/trials/split"][:]]
    train = [i for i, label in enumerate(labels) if label == "train"]
    rng = SeededRNG(seed)
    rng.shuffle(train)
    n_valid = int(math.floor(len(train) * valid_fraction + 0.5))  # Swift's .rounded(): half away from zero
    valid = sorted(train[:n_valid])
    train = sorted(train[n_valid:])
    return [[starts[i], ends[i]] for i in train], [[starts[i], ends[i]] for i in valid]


def interval_set(pairs):
    return Interval(start=[p[0] for p in pairs], end=[p[1] for p in pairs])


def training_facts(session, train):
    sampler = RandomFixedWindowSampler(
        sampling_intervals={session: interval_set(train)}, window_length=WINDOW)
    skipped = []

    class Capture(logging.Handler):
        def emit(self, record):
            skipped.append(record.getMessage())

    handler = Capture()
    logging.getLogger().addHandler(handler)
    length = len(sampler)
    logging.getLogger().removeHandler(handler)
    # Windows per interval and epoch: constant whatever the seed (torch_brain adds a flush window
    # exactly when the random offset leaves a whole window over).
    per_interval = None
    for seed in SEEDS:
        sampler.generator = torch.Generator().manual_seed(seed)
        counts = [0] * len(train)
        for index in sampler:
            hits = [k for k, (s, e) in enumerate(train) if s <= index.start and index.end <= e]
            assert len(hits) == 1, f"window {index} not inside exactly one interval"
            counts[hits[0]] += 1
        assert per_interval is None or counts == per_interval, f"seed {seed}: {counts} vs {per_interval}"
        per_interval = counts
    assert sum(per_interval) == length, f"{sum(per_interval)} windows per epoch, len {length}"
    loader = {}
    for b in BATCH_SIZES:
        dl = torch.utils.data.DataLoader(list(range(length)), sampler=sampler, batch_size=b, drop_last=True)
        loader[str(b)] = len(dl)
    return dict(len=length, len_loader=loader, windows_per_interval=per_interval, logged=skipped)


def validation_facts(session, valid):
    out = []
    for s, e in valid:
        sampler = SequentialFixedWindowSampler(
            sampling_intervals={session: interval_set([[s, e]])}, window_length=WINDOW, step=STEP)
        try:
            starts = [index.start for index in sampler]
            out.append(dict(interval=[s, e], starts=starts))
        except ValueError as error:
            out.append(dict(interval=[s, e], error=str(error)))
    # The whole set at once raises too, on its first short interval.
    whole = SequentialFixedWindowSampler(
        sampling_intervals={session: interval_set(valid)}, window_length=WINDOW, step=STEP)
    try:
        len(whole)
        whole_error = None
    except ValueError as error:
        whole_error = str(error)
    return out, whole_error


def main():
    session = "nlb_maze_short_trials"
    train, valid = nlb_split(NWB)
    training = training_facts(session, train)
    validation, whole_error = validation_facts(session, valid)
    facts = dict(
        generator="Tools/interop/torch_brain_short_intervals.py",
        torch_brain=torch_brain.__version__,
        torch=torch.__version__.split("+")[0],
        samplers="torch_brain.samplers.RandomFixedWindowSampler (drop_short=True), "
        "SequentialFixedWindowSampler (drop_short=False)",
        fixture="Tests/Fixtures/nlb_maze_short_trials.nwb",
        split="nlb (valid_fraction 0.2, seed 42), as poyo's reader",
        window_length=WINDOW,
        step=STEP,
        seeds_checked=len(SEEDS),
        train_intervals=train,
        valid_intervals=valid,
        training=training,
        validation=validation,
        validation_whole_set_error=whole_error,
    )
    # One line per list of numbers (an interval, a list of window starts), to keep the file short.
    text = json.dumps(facts, indent=1)
    text = re.sub(r"\[\s+([-0-9.e,\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    with open(OUT, "w") as f:
        f.write(text + "\n")
    short_train = [k for k, n in enumerate(training["windows_per_interval"]) if n == 0]
    short_valid = [v for v in validation if "error" in v]
    print(f"torch_brain {torch_brain.__version__}, torch {torch.__version__}")
    print(f"train: {len(train)} intervals, {len(short_train)} shorter than {WINDOW} s yield no window; "
          f"len(sampler) {training['len']}; len(loader) {training['len_loader']}")
    print(f"train: logged {training['logged']}")
    print(f"valid: {len(valid)} intervals, {len(short_valid)} raise; whole set: {whole_error}")
    print(f"wrote {os.path.relpath(OUT, ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
