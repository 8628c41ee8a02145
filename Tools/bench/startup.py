#!/usr/bin/env python3
"""Start-up, memory and data wait of `poyo train` on a data folder (issue 24, docs/scale.md).

    Tools/bench/startup.py POYO DATA [--config FILE] [--steps N] [--label TEXT]

Runs `POYO train --data DATA --steps 1000000 --out <temp>` under `/usr/bin/time -v`, with the
recording index cache as it is (clear $POYO_INDEX_CACHE first for a cold start). It notes when
the "opened" line and the first step's progress line appear, runs to step N (default 50;
progress lines come every 50 steps), then stops the run with SIGTERM (a graceful stop). Prints
one JSON line: seconds to the opening report and to step 1, the opening report itself, the
run's data-wait line, and the peak resident memory of the process (MB).
"""
import argparse, json, os, re, signal, subprocess, sys, tempfile, time

ap = argparse.ArgumentParser()
ap.add_argument("poyo")
ap.add_argument("data")
ap.add_argument("--config")
ap.add_argument("--steps", type=int, default=50)
ap.add_argument("--label", default="")
a = ap.parse_args()

out = tempfile.mkdtemp(prefix="poyo-startup-")
cmd = ["/usr/bin/time", "-v", a.poyo, "train", "--data", a.data, "--steps", "1000000", "--out", out + "/run"]
if a.config:
    cmd += ["--config", a.config]
t0 = time.monotonic()
p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, bufsize=1)
opened = first = None
report = wait = ""
peak = None
stopped = False
for line in p.stderr:
    now = time.monotonic() - t0
    if "data: opened" in line and opened is None:
        opened, report = now, line.strip()
    m = re.match(r"step (\d+)/", line.strip())
    if m:
        step = int(m.group(1))
        if first is None:
            first = now
        if step >= a.steps and not stopped:
            # To poyo itself (GNU time would die of it and leave poyo running).
            for pid in subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True).stdout.split():
                os.kill(int(pid), signal.SIGTERM)
            stopped = True
    if line.strip().startswith("data wait:"):
        wait = line.strip()
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", line)
    if m:
        peak = int(m.group(1)) / 1024
p.wait()
print(json.dumps({
    "label": a.label, "data": a.data, "seconds_to_opened": opened, "seconds_to_step_1": first,
    "opened": report, "data_wait": wait, "peak_rss_mb": peak,
}))
