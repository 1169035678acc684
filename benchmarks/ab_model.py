"""How much faster is the model than in another checkout? Both timed in one process, interleaved.

On a shared machine two timings taken minutes apart differ by a quarter with the same code; the
ratio of two timings taken side by side in one process, alternating, does not. This script copies
the other checkout's ``peacesim`` package under another name (``peacesim_base``), imports both,
and times the same runs of the same scenario (the reference cast, or ``--factor`` times it) with
each, alternating the order, and reports the median per-repeat ratio with its range.

    git worktree add /tmp/before <commit>
    .venv/bin/python benchmarks/ab_model.py /tmp/before [--repeats 7] [--runs 30] [--factor 1]
"""

from __future__ import annotations

import argparse
import importlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]


def _load(root: Path, name: str):
    """The ``simulate`` and ``scenario`` modules of the package ``name`` on ``root``."""
    sys.path.insert(0, str(root))
    try:
        return importlib.import_module(f"{name}.simulate"), importlib.import_module(f"{name}.scenario")
    finally:
        sys.path.remove(str(root))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("base", type=Path, help="the other checkout (a folder with peacesim/ and scenarios/)")
    ap.add_argument("--repeats", type=int, default=7, help="alternating repeats (default 7)")
    ap.add_argument("--runs", type=int, default=30, help="runs per repeat and version (default 30)")
    ap.add_argument("--factor", type=int, default=1, help="times the reference cast (bench_model.scaled; default 1)")
    args = ap.parse_args()
    if not (args.base / "peacesim").is_dir():
        print(f"error: {args.base}: no peacesim package there", file=sys.stderr)
        return 2
    from bench_model import scaled

    tmp = Path(tempfile.mkdtemp(prefix="peacesim-ab-"))
    try:
        shutil.copytree(args.base / "peacesim", tmp / "peacesim_base")
        os.symlink((args.base / "scenarios").resolve(), tmp / "scenarios")
        base_sim, base_scen = _load(tmp, "peacesim_base")
        new_sim, new_scen = _load(HERE.parent, "peacesim")

        def cast(scen_mod):
            if args.factor == 1:
                return scen_mod.load_scenario("reference")
            s = scaled(args.factor)  # built with this checkout's loader: pass the same fields to the base
            return scen_mod.Scenario(**{k: getattr(s, k) for k in s.__dataclass_fields__}) \
                if hasattr(s, "__dataclass_fields__") else s

        versions = {"base": (base_sim, cast(base_scen)), "new": (new_sim, cast(new_scen))}

        def timed(name: str) -> float:
            sim, scen = versions[name]
            t = time.perf_counter()
            for seed in range(args.runs):
                r = sim.run_scenario(scen, seed=seed)
                r.outcome, r.episode_rows()
            return (time.perf_counter() - t) / args.runs * 1000

        timed("base"), timed("new")  # warm-up
        times = {"base": [], "new": []}
        ratios = []
        for k in range(args.repeats):
            order = ("base", "new") if k % 2 else ("new", "base")
            got = {name: timed(name) for name in order}
            for name in got:
                times[name].append(got[name])
            ratios.append(got["base"] / got["new"])
        print(f"{args.factor}x cast, {args.runs} runs x {args.repeats} repeats: base "
              f"{statistics.median(times['base']):.2f} ms a run, new {statistics.median(times['new']):.2f} ms; "
              f"new is {statistics.median(ratios):.2f}x as fast ({min(ratios):.2f} to {max(ratios):.2f}); "
              f"load average {os.getloadavg()[0]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
