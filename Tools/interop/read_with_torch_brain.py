#!/usr/bin/env python3
"""Reads brainsets HDF5 files with torch_brain's own reader (torch_brain.data, formerly temporaldata)
and prints, per file, what it found as one JSON line: spike and unit counts and every interval set
(domain, train/valid/test domains, trials, movement phases) as [start, end] pairs.

ci/interop-check.sh compares these lines with `poyo inspect --json` on the same files. torch_brain's
data module needs numpy, h5py and pandas, not torch."""

import json
import sys

import h5py
from torch_brain.data import Data


def intervals(obj):
    return [[float(s), float(e)] for s, e in zip(obj.start, obj.end)]


def main():
    for path in sys.argv[1:]:
        with h5py.File(path, "r") as f:
            data = Data.from_hdf5(f, lazy=False)
            phases = {}
            if hasattr(data, "movement_phases"):
                mp = data.movement_phases
                for key in mp.keys():
                    phases[key] = intervals(getattr(mp, key))
                phases_domain = intervals(mp.domain)
            else:
                phases_domain = []
            out = dict(
                file=path,
                session=str(data.session.id),
                spikes=int(len(data.spikes)),
                units=int(len(data.units.id)),
                domain=intervals(data.domain),
                train_domain=intervals(data.train_domain),
                valid_domain=intervals(data.valid_domain),
                test_domain=intervals(data.test_domain),
                trials=len(data.trials),
                movement_phases=phases,
                movement_phases_domain=phases_domain,
            )
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
