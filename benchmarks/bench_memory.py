"""Memory of the experiment runner against the number of runs (a benchmark, not a test).

For each size, a sweep of the reference scenario (``handover_quality`` at 10 levels x N/10
replicates) runs in a fresh Python process with ``run_experiment(executor="processes")``, writing
into a temporary folder that is removed afterwards. Reported per sweep:

* the sweep's own process (the parent): its resident memory after the imports, its peak while the
  runs are handed out and written as parts, its peak during the merge (sampled every 0.2 s with
  psutil from this script), and the kernel's high-water mark (``ru_maxrss``) at the end;
* the worker processes (children): the largest peak of any one of them (``ru_maxrss`` of the
  children) and the largest sum over the workers seen at one time (sampled);
* the sizes of the merged tables and the seconds of each phase (``SweepResult.timings``).

Memory is flat when the parent's peaks stay the same from the smallest size to the largest.

    .venv/bin/python benchmarks/bench_memory.py [--runs 10000 20000 50000 100000] [--series]
        [--months M] [--workers 2]

The defaults are the full figures of benchmarks/README.md without series (100,000 runs take about
25 minutes on 2 cores at ~30 ms a run); ``--series --runs 5000 10000 20000`` gives those with
series. ``--months`` shortens the horizon (cheaper runs and, with series, smaller tables).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LEVELS = 10
MASTER_SEED = 20260517


def child(runs: int, series: bool, months: int | None, workers: int, out: Path) -> None:
    """One sweep in this (fresh) process; prints one JSON line."""
    import resource

    from peacesim.experiment import experiment_from_dict
    from peacesim.sweep import run_experiment

    meta = {"name": "bench_memory", "scenario": "reference", "replicates": runs // LEVELS,
            "master_seed": MASTER_SEED, "keep_series": series}
    if months is not None:
        meta["months"] = months
    exp = experiment_from_dict({"experiment": meta, "vary": {"handover_quality": [round(0.1 * i, 1)
                                                                                  for i in range(1, LEVELS + 1)]}},
                               where="<bench_memory>")
    import psutil

    start_rss = psutil.Process().memory_info().rss
    t_start = time.time()
    res = run_experiment(exp, executor="processes", workers=workers, out=out, progress=False)
    sizes = {p.name: p.stat().st_size for p in sorted(out.glob("*.parquet"))}
    print(json.dumps({
        "runs": exp.n_runs, "failed": res.failed, "seconds": res.seconds, "t_start": t_start,
        "timings": getattr(res, "timings", {}), "start_rss": start_rss,
        "maxrss_self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "maxrss_children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        "sizes": sizes}), flush=True)


def measure(runs: int, series: bool, months: int | None, workers: int) -> dict:
    """Run one sweep in a fresh process and sample the memory of it and its workers."""
    import psutil

    tmp = Path(tempfile.mkdtemp(prefix="bench_memory_"))
    cmd = [sys.executable, os.path.abspath(__file__), "--child", "--runs", str(runs), "--workers", str(workers),
           "--out", str(tmp / "out")] + (["--series"] if series else []) + (["--months", str(months)] if months else [])
    samples = []  # (time, parent rss, sum of the workers' rss)
    try:
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
            ps = psutil.Process(proc.pid)
            while proc.poll() is None:
                try:
                    rss = ps.memory_info().rss
                    kids = sum(c.memory_info().rss for c in ps.children(recursive=True))
                    samples.append((time.time(), rss, kids))
                except psutil.Error:
                    pass
                time.sleep(0.2)
            out.seek(0)
            err.seek(0)
            lines = [ln for ln in out.read().splitlines() if ln.startswith("{")]
            if proc.returncode or not lines:
                raise RuntimeError(f"the sweep failed (exit {proc.returncode}): {err.read()[-2000:]}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r = json.loads(lines[-1])
    t = r["timings"]
    t_merge = r["t_start"] + sum(v for k, v in t.items() if k in ("pool start", "open", "runs"))
    during_runs = [s for s in samples if s[0] < t_merge]
    during_merge = [s for s in samples if s[0] >= t_merge]
    r["peak_runs"] = max((s[1] for s in during_runs), default=0)
    r["peak_merge"] = max((s[1] for s in during_merge), default=0)
    r["peak_workers_sum"] = max((s[2] for s in samples), default=0)
    return r


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f}"


def main() -> None:
    doc = __doc__ or "Memory of the experiment runner."
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[10_000, 20_000, 50_000, 100_000],
                    help=f"sizes of the sweeps (multiples of {LEVELS}; default 10000 20000 50000 100000)")
    ap.add_argument("--series", action="store_true", help="keep the monthly series (keep_series = true)")
    ap.add_argument("--months", type=int, default=None, help="horizon in months (default: the scenario's, 240)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if any(n < LEVELS or n % LEVELS for n in args.runs):
        ap.error(f"--runs must be multiples of {LEVELS}")
    if args.child:
        child(args.runs[0], args.series, args.months, args.workers, args.out)
        return
    from importlib import metadata

    print(f"machine: {os.cpu_count()} cores; Python {sys.version.split()[0]}; peacesim {metadata.version('peacesim')}, "
          f"pyarrow {metadata.version('pyarrow')}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"sweeps: reference scenario, handover_quality at {LEVELS} levels, keep_series = "
          f"{'true' if args.series else 'false'}, months = {args.months or 'the scenario’s (240)'}, "
          f"{args.workers} worker processes")
    head = (f"{'runs':>8} {'seconds':>8} {'parent MiB: start':>17} {'runs':>6} {'merge':>6} {'maxrss':>7} "
            f"{'worker max':>10} {'workers sum':>11}  {'tables MiB':>10}  phases (s)")
    print(head)
    print("-" * len(head))
    for n in args.runs:
        r = measure(n, args.series, args.months, args.workers)
        phases = ", ".join(f"{k} {v:.1f}" for k, v in r["timings"].items() if v >= 0.05)
        print(f"{r['runs']:>8,} {r['seconds']:>8.1f} {mib(r['start_rss']):>17} {mib(r['peak_runs']):>6} "
              f"{mib(r['peak_merge']):>6} {mib(r['maxrss_self']):>7} {mib(r['maxrss_children']):>10} "
              f"{mib(r['peak_workers_sum']):>11}  {mib(sum(r['sizes'].values())):>10}  {phases}", flush=True)
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("parent MiB: resident memory of the sweep's own process after its imports ('start'), its peak while the "
          "runs were handed out and written ('runs'), during the merge ('merge'), both sampled every 0.2 s, and its "
          "high-water mark from the kernel ('maxrss'); 'worker max' is the largest peak of one worker process, "
          "'workers sum' the largest sum over them at one time (sampled; forked workers share pages with the "
          "parent, so the sum counts those pages more than once).")


if __name__ == "__main__":
    main()
