"""Speed of the model (a benchmark, not a test).

Reports, as medians over repeats:
- runs per second for the reference scenario at the default horizon with all outputs collected
  (``run_scenario``: series, episodes, events and outcome as tables);
- the model alone (``PeaceModel.run``) for comparison;
- model steps per second at ten times the reference actor counts.

Target: 100 runs per second per core for the reference scenario (10 ms a run).

    .venv/bin/python benchmarks/bench_model.py [--runs N] [--repeats K]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import peacesim
from peacesim.model import PeaceModel
from peacesim.scenario import load_scenario


def scaled(factor: int):
    scen = copy.deepcopy(load_scenario("reference"))
    for kind in ("party", "spoiler", "mediator", "diplomat"):
        base = scen.actors[kind]
        out = []
        for k in range(factor):
            for a in base:
                b = dict(a, name=f"{a['name']} {k + 1}")
                if kind == "mediator":
                    b["lead"] = a["lead"] and k == 0
                if kind in ("mediator", "diplomat") and a["bias_toward"]:
                    b["bias_toward"] = f"{a['bias_toward']} 1"
                out.append(b)
        scen.actors[kind] = out
    for a in scen.actors["local"]:
        a["count"] *= factor
    return scen


def timed(fn, n: int) -> float:
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100, help="runs per repeat (default 100)")
    ap.add_argument("--repeats", type=int, default=5, help="repeats; medians are reported (default 5)")
    args = ap.parse_args()

    ref = load_scenario("reference")
    big = scaled(10)
    months = ref.params["months"]
    counts = ref.counts()
    big_counts = big.counts()

    def full(i):
        peacesim.run_scenario(ref, seed=i)

    def model_only(i):
        PeaceModel(ref, rng=i).run()

    def big_run(i):
        PeaceModel(big, rng=i).run()

    full(0)  # warm-up (imports, caches)
    n_big = max(3, args.runs // 20)
    t_full = statistics.median(timed(full, args.runs) for _ in range(args.repeats))
    t_model = statistics.median(timed(model_only, args.runs) for _ in range(args.repeats))
    t_big = statistics.median(timed(big_run, n_big) for _ in range(args.repeats))

    print(f"reference scenario: {counts}, {months} months")
    print(f"  run_scenario (all outputs as tables): {args.runs / t_full:8.1f} runs/s  "
          f"({1000 * t_full / args.runs:.2f} ms a run; target 100 runs/s = 10 ms)")
    print(f"  model only (PeaceModel.run):          {args.runs / t_model:8.1f} runs/s  "
          f"({1000 * t_model / args.runs:.2f} ms a run; {1e6 * t_model / args.runs / months:.1f} µs a step)")
    print(f"10x actors: {big_counts}")
    print(f"  model steps per second:               {n_big * months / t_big:8.0f} steps/s  "
          f"({1000 * t_big / n_big:.1f} ms a {months}-month run)")
    print(f"medians of {args.repeats} repeats, one core")


if __name__ == "__main__":
    main()
