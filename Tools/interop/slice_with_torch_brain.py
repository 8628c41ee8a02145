#!/usr/bin/env python3
"""Slices brainsets HDF5 files with torch_brain's own `Data.slice` and checks each window against a
count made straight from the HDF5 datasets with h5py.

For every file, windows of 1 s are taken inside the train, valid and test domains (the start of the
first interval that is at least 1 s long, and the middle of the longest one) and at both ends of
the recording's domain. Each window [a, a + 1) is sliced twice, once from a lazily loaded `Data`
(which goes through the file's `timestamp_indices_1s`) and once from a fully loaded one, and must
give:
  - the spikes with a <= t < a + 1 (count, times shifted by -a, unit indices), as h5py finds them;
  - the cursor samples in the same window (count and velocities);
  - for each `movement_phases` interval set, the intervals that overlap the window;
  - `absolute_start == a`.
A load or slice that raises counts as a failure, with the error. Prints one line per mismatch and
`interop slice: N passed, M failed`; exits 1 when anything failed. Needs numpy, h5py and torch_brain's
data module (no torch).

Usage: slice_with_torch_brain.py FILE.h5 [FILE.h5 ...]"""

import sys

import h5py
import numpy as np
from torch_brain.data import Data

WINDOW = 1.0


def read_intervals(f, name):
    if name not in f:
        return np.zeros(0), np.zeros(0)
    return f[name]["start"][:], f[name]["end"][:]


def pick_windows(f):
    """(label, start) pairs, all windows WINDOW seconds long and inside the file's domain."""
    d_start, d_end = read_intervals(f, "domain")
    lo, hi = float(d_start[0]), float(d_end[-1])
    out = [("domain start", lo), ("domain end", hi - WINDOW)]
    for split in ("train", "valid", "test"):
        starts, ends = read_intervals(f, split + "_domain")
        lengths = ends - starts
        long_enough = np.flatnonzero(lengths >= WINDOW)
        if len(long_enough) == 0:
            continue
        first = long_enough[0]
        out.append((split + " first", float(starts[first])))
        longest = int(np.argmax(lengths))
        out.append((split + " middle", float(starts[longest] + (lengths[longest] - WINDOW) / 2)))
    return [(label, a) for label, a in out if lo <= a and a + WINDOW <= hi]


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            print("interop slice: MISMATCH " + what, flush=True)


def check_file(path, checks):
    name = path.split("/")[-1]
    with h5py.File(path, "r") as f:
        spike_t = f["spikes/timestamps"][:]
        spike_u = f["spikes/unit_index"][:]
        cursor_t = f["cursor/timestamps"][:] if "cursor" in f else None
        cursor_v = f["cursor/vel"][:] if "cursor" in f else None
        phases = {k: read_intervals(f["movement_phases"], k) for k in f["movement_phases"] if k != "domain"} \
            if "movement_phases" in f else {}
        windows = pick_windows(f)
        checks.check(len(windows) > 0, f"{name}: no 1 s window inside the domain")
        for lazy in (True, False):
            how = "lazy" if lazy else "loaded"
            try:
                data = Data.from_hdf5(f, lazy=lazy)
            except Exception as e:
                checks.check(False, f"{name} {how}: torch_brain could not load it: {type(e).__name__}: {e}")
                continue
            for label, a in windows:
                b = a + WINDOW
                where = f"{name} {how} [{a:.6f}, {b:.6f}) ({label})"
                try:
                    s = data.slice(a, b)
                    got_t = np.asarray(s.spikes.timestamps)
                    got_u = np.asarray(s.spikes.unit_index)
                except Exception as e:  # a file torch_brain cannot slice: say so, then go on
                    checks.check(False, f"{where}: torch_brain could not slice it: {type(e).__name__}: {e} "
                                 "(compare the file's layout with what Data.to_hdf5 writes, docs/interop.md)")
                    continue
                i, j = np.searchsorted(spike_t, a), np.searchsorted(spike_t, b)
                checks.check(len(got_t) == j - i, f"{where}: {len(got_t)} spikes, h5py counts {j - i}")
                if len(got_t) == j - i:
                    checks.check(np.allclose(got_t + a, spike_t[i:j], rtol=0, atol=1e-9)
                                 and np.array_equal(got_u, spike_u[i:j]),
                                 f"{where}: spike times or unit indices differ")
                checks.check(abs(float(s.absolute_start) - a) <= 1e-12,
                             f"{where}: absolute_start {s.absolute_start}")
                if cursor_t is not None:
                    i, j = np.searchsorted(cursor_t, a), np.searchsorted(cursor_t, b)
                    got = np.asarray(s.cursor.vel)
                    checks.check(got.shape[0] == j - i and np.array_equal(got, cursor_v[i:j]),
                                 f"{where}: {got.shape[0]} cursor samples, h5py counts {j - i}")
                for key, (starts, ends) in phases.items():
                    want = int(np.count_nonzero((ends > a) & (starts < b)))
                    got = len(np.asarray(getattr(s.movement_phases, key).start))
                    checks.check(got == want, f"{where}: movement_phases.{key} {got} intervals, expected {want}")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    checks = Checks()
    for path in sys.argv[1:]:
        check_file(path, checks)
    print(f"interop slice: {checks.passed} passed, {checks.failed} failed")
    sys.exit(1 if checks.failed else 0)


if __name__ == "__main__":
    main()
