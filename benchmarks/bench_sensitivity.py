"""Time a sensitivity experiment end to end: the runs (through the experiment runner) and the analysis.

    .venv/bin/python benchmarks/bench_sensitivity.py                      # the two ready experiments
    .venv/bin/python benchmarks/bench_sensitivity.py sensitivity_morris --workers 2

Each experiment is run from scratch into a temporary folder (nothing under results/ is touched),
with the default executor (local worker processes). Printed, as a Markdown table: the runs, the
seconds the runner took and its runs per second, the seconds of the analysis (checks, indices,
bootstrap intervals, noise, convergence, figures and report) and the total. The machine's load
average is printed too: on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def bench(name: str, workers: int | None) -> dict:
    from peacesim.sensitivity import load_sensitivity, run_sensitivity

    spec = load_sensitivity(name)
    with tempfile.TemporaryDirectory(prefix="bench-sens-") as tmp:
        out = Path(tmp) / name
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        res = run_sensitivity(spec, workers=workers, out=out, progress=False)
        total = time.perf_counter() - t0
        manifest = json.loads((out / "manifest.json").read_text())
        runner = res.run_seconds  # the runner, from the first run to the merged tables
        conv = res.analysis.convergence()
        top = res.analysis.indices
    method = spec.design.method
    return {"experiment": name, "method": method, "factors": len(spec.design.inputs), "points": spec.design.n_points,
            "replicates": spec.replicates, "runs": spec.n_runs, "runner_s": runner,
            "runs_per_s": spec.n_runs / runner if runner else float("nan"), "analysis_s": total - runner,
            "total_s": total, "workers": manifest.get("workers"), "load_before": load0,
            "load_after": os.getloadavg()[0],
            "converged": f"{int((conv['verdict'] == 'converged').sum())} of {len(conv)}" if len(conv) else "-",
            "indices": len(top)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiments", nargs="*", default=["sensitivity_morris", "sensitivity_sobol"])
    ap.add_argument("--workers", type=int, default=None)
    args = ap.parse_args(argv)
    rows = [bench(name, args.workers) for name in args.experiments]
    print("| experiment | method | factors | points x replicates = runs | runner s | runs/s | analysis s | total s "
          "| load avg before/after | converged outcomes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['experiment']} | {r['method']} | {r['factors']} | {r['points']:,} x {r['replicates']} = "
              f"{r['runs']:,} | {r['runner_s']:.1f} | {r['runs_per_s']:.1f} | {r['analysis_s']:.1f} | "
              f"{r['total_s']:.1f} | {r['load_before']:.1f} / {r['load_after']:.1f} | {r['converged']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
