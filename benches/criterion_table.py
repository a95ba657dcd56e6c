#!/usr/bin/env python3
"""Medians of the two quiet runs (criterion baselines `quiet1`, `quiet2`) as a Markdown table.

    python3 benches/criterion_table.py [CRITERION_DIR] [PREFIX]
    python3 benches/criterion_table.py [CRITERION_DIR] [PREFIX] --baselines=p1,p2,p3,...

One row per benchmark id (group/function/parameter) whose id starts with PREFIX (default: all),
with both medians, their spread, and with --ratio-to=NAME the ratio of the two runs' mean to the
row whose id has NAME in place of one component (`floor`, `apdu-core`, `bare`, ...).

With --baselines (three or more runs, e.g. from `benches/processes.sh`), each row is the median
over the runs of each run's median, with the lowest and highest, and the ratio is of the
medians over the runs: for rows of a few nanoseconds, whose time depends on the process (its
memory layout), not only on the code. Standard library only.
"""

import json
import os
import sys

ROOT = "target/criterion"
args = [a for a in sys.argv[1:] if not a.startswith("--")]
ratio_to = None
baselines = None
for a in sys.argv[1:]:
    if a.startswith("--ratio-to="):
        ratio_to = a.split("=", 1)[1]
    if a.startswith("--baselines="):
        baselines = a.split("=", 1)[1].split(",")
if args:
    ROOT = args[0]
prefix = args[1] if len(args) > 1 else ""


def median(path):
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"]


def fmt(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.1f} ns"




def many_runs(names):
    """Per id: the medians of the runs `names` that it has."""
    runs = {}
    for dirpath, dirnames, filenames in os.walk(ROOT):
        if os.path.basename(dirpath) != names[0] or "estimates.json" not in filenames:
            continue
        bench_dir = os.path.dirname(dirpath)
        with open(os.path.join(bench_dir, names[0], "benchmark.json")) as f:
            full_id = json.load(f)["full_id"]
        if not full_id.startswith(prefix):
            continue
        paths = [os.path.join(bench_dir, n, "estimates.json") for n in names]
        runs[full_id] = [median(p) for p in paths if os.path.exists(p)]
    return runs


def reference(full_id, known):
    """The id of the row FULL_ID is compared with: the same id with one component replaced by
    RATIO_TO (the last for `tlv/x509/cardwire-tlv` → `tlv/x509/floor`, the one before for
    `sm/aes/engine/64`), if KNOWN has it."""
    parts = full_id.split("/")
    for i in range(len(parts) - 1, 0, -1):
        ref_id = "/".join(parts[:i] + [ratio_to] + parts[i + 1:])
        if ref_id in known and ref_id != full_id:
            return ref_id
    return None


def middle(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


if baselines:
    runs = many_runs(baselines)
    mid = {k: middle(v) for k, v in runs.items()}
    print(f"| benchmark | median of {len(baselines)} runs | lowest – highest | ratio |")
    print("|---|---|---|---|")
    for full_id in sorted(runs):
        v = runs[full_id]
        ref_id = reference(full_id, mid) if ratio_to else None
        ratio = f"{mid[full_id] / mid[ref_id]:.2f}× {ratio_to}" if ref_id else ""
        print(f"| {full_id} | {fmt(mid[full_id])} | {fmt(min(v))} – {fmt(max(v))} | {ratio} |")
    sys.exit(0)

rows = many_runs(["quiet1", "quiet2"])
mean = {k: sum(v) / len(v) for k, v in rows.items()}
print("| benchmark | run 1 median | run 2 median | runs differ by | ratio |")
print("|---|---|---|---|---|")
for full_id in sorted(rows):
    m1, m2 = (rows[full_id] + [None])[:2]
    spread = f"{abs(m1 - m2) / min(m1, m2) * 100:.1f} %" if m2 else "–"
    ref_id = reference(full_id, mean) if ratio_to else None
    ratio = f"{mean[full_id] / mean[ref_id]:.2f}× {ratio_to}" if ref_id else ""
    print(f"| {full_id} | {fmt(m1)} | {fmt(m2) if m2 else '–'} | {spread} | {ratio} |")
