"""Where a parallel sweep's time goes: how busy each worker was, and what the parent spent.

Runs the experiment of ``bench_sweep.py`` (the reference scenario, ``handover_quality`` at 4
levels x N replicates) once with the runner's worker processes, and records when each batch
started and ended in the worker that ran it. Prints the sweep's wall time, the parent's CPU
time, the runner's own phases, and per worker: its batches, their sizes, the seconds it was busy
running them and its idle share of the runs phase. A benchmark, not a test.

    .venv/bin/python benchmarks/trace_sweep.py [--replicates N] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_sweep  # noqa: E402

import peacesim.sweep as sweep  # noqa: E402

_run_batch = sweep.run_batch
_LOG: list[str] = [""]


def traced_run_batch(*args, **kwargs):
    """``run_batch``, with the batch's start, end and size appended to the trace file."""
    t0 = time.time()
    part = _run_batch(*args, **kwargs)
    t1 = time.time()
    with open(_LOG[0], "a") as f:
        f.write(f"{os.getpid()} {t0:.6f} {t1:.6f} {len(args[1])}\n")
    return part


# Workers unpickle the function by its module and name: they find this one.
traced_run_batch.__module__, traced_run_batch.__qualname__ = "peacesim.sweep", "run_batch"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=150, help="replicates per design point (default 150 = 600 runs)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args()
    exp = bench_sweep.make_experiment(args.replicates)
    with tempfile.TemporaryDirectory() as tmp:
        _LOG[0] = os.path.join(tmp, "trace.txt")
        sweep.run_batch = traced_run_batch
        c0, t0 = time.process_time(), time.time()
        res = sweep.run_experiment(exp, executor="processes", workers=args.workers, out=Path(tmp) / "out",
                                   progress=False, fresh=True)
        wall, cpu = time.time() - t0, time.process_time() - c0
        sweep.run_batch = _run_batch
        rows = [line.split() for line in Path(_LOG[0]).read_text().splitlines()]
    print(f"{exp.n_runs} runs, {args.workers} workers: wall {wall:.2f} s, parent CPU {cpu:.2f} s; load average "
          f"{os.getloadavg()[0]:.2f}")
    print("runner's phases (s): " + ", ".join(f"{k} {v:.3f}" for k, v in res.timings.items()))
    runs_phase = res.timings.get("runs", wall)
    workers: dict[str, list[tuple[float, float, int]]] = {}
    for pid, a, b, n in rows:
        workers.setdefault(pid, []).append((float(a), float(b), int(n)))
    for k, (pid, batches) in enumerate(sorted(workers.items()), 1):
        batches.sort()
        busy = sum(b - a for a, b, _ in batches)
        print(f"worker {k}: {len(batches)} batches, busy {busy:.2f} s ({1 - busy / runs_phase:.1%} idle of the "
              f"runs phase), first start +{batches[0][0] - t0:.2f} s, last end +{batches[-1][1] - t0:.2f} s; "
              f"sizes {[n for *_, n in batches]}")


if __name__ == "__main__":
    main()
