"""Speed of the model (a benchmark, not a test).

Reports medians over repeats, with the range over the repeats in brackets:

- runs per second for the reference scenario at its horizon (240 months) with what the
  experiment runner stores: the outcome and the episodes; then with the series as well; then
  with every output as a pandas table (series, episodes, events), as ``peacesim run`` and a
  notebook read them;
- the model alone (``PeaceModel.run``);
- how the cost grows with the actors and the months: the reference cast at 1x, 3x and 10x its
  actor counts, over 120, 240 and 480 months (milliseconds a run and microseconds a month).

Target: 100 runs per second per core for the reference scenario with every output the runner
stores (10 ms a run). Every measurement uses the same seeds, so the runs compared are the same.
The machine's load average is printed before and after: on a shared machine, compare figures
measured in one invocation.

    .venv/bin/python benchmarks/bench_model.py [--runs N] [--repeats K] [--no-table]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import peacesim
from peacesim.model import PeaceModel
from peacesim.scenario import load_scenario


def scaled(factor: int):
    """The reference scenario with ``factor`` times as many parties, spoilers, mediators,
    diplomats and local mechanisms (copies named "... 2", "... 3"; one lead; biases toward the
    first copy of the party)."""
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
    """Seconds for ``fn(0) ... fn(n - 1)``."""
    t0 = time.perf_counter()
    for i in range(n):
        fn(i)
    return time.perf_counter() - t0


def spread(times: list[float], n: int) -> tuple[float, float, float]:
    """Median, fastest and slowest seconds per run over the repeats."""
    per = [t / n for t in times]
    return statistics.median(per), min(per), max(per)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100, help="runs of the reference scenario per repeat (default 100)")
    ap.add_argument("--repeats", type=int, default=5, help="repeats; medians are reported (default 5)")
    ap.add_argument("--no-table", action="store_true", help="skip the table of cost by actors and months")
    args = ap.parse_args()

    ref = load_scenario("reference")
    months = ref.params["months"]

    def stored(i):  # what the experiment runner keeps of a run
        r = peacesim.run_scenario(ref, seed=i)
        r.outcome, r.episode_rows()

    def stored_with_series(i):
        r = peacesim.run_scenario(ref, seed=i)
        r.outcome, r.episode_rows(), r.series_array()

    def tables(i):
        r = peacesim.run_scenario(ref, seed=i)
        r.outcome, r.series, r.episodes, r.events

    def model_only(i):
        PeaceModel(ref, rng=i).run()

    print(load())
    stored(0)  # warm-up (imports, caches)
    cases = [("outcome and episodes (what the runner stores)", stored),
             ("with the series as well", stored_with_series),
             ("every output as a pandas table", tables),
             ("the model alone (PeaceModel.run)", model_only)]
    times: dict[str, list[float]] = {name: [] for name, _ in cases}
    for rep in range(args.repeats):  # interleaved, the order rotated each repeat
        order = cases[rep % len(cases):] + cases[: rep % len(cases)]
        for name, fn in order:
            times[name].append(timed(fn, args.runs))
    print(f"reference scenario: {ref.counts()}, {months} months; {args.runs} runs x {args.repeats} repeats, one core")
    for name, _ in cases:
        med, lo, hi = spread(times[name], args.runs)
        print(f"  {name:48s} {1 / med:7.1f} runs/s  {1000 * med:6.2f} ms a run [{1000 * lo:.2f} to {1000 * hi:.2f}]"
              f"  {1e6 * med / months:6.1f} µs a month")
    print("  target: 100 runs/s (10 ms a run) for what the runner stores")

    if not args.no_table:
        print()
        print("cost by actors and months: ms a run (µs a month), median [range] of the repeats")
        casts = {f: (ref if f == 1 else scaled(f)) for f in (1, 3, 10)}
        horizons = (120, 240, 480)
        print(f"  {'actors':24s}" + "".join(f"{str(h) + ' months':>30s}" for h in horizons))
        for f, scen in casts.items():
            cells = []
            for h in horizons:
                n = max(2, int(args.runs * 240 / h / (f * f if f > 1 else 1)))
                PeaceModel(scen, rng=0, months=h).run()
                ts = [timed(lambda i, s=scen, h=h: PeaceModel(s, rng=i, months=h).run(), n) for _ in range(args.repeats)]
                med, lo, hi = spread(ts, n)
                cells.append(f"{1000 * med:8.2f} ({1e6 * med / h:6.1f}) [{1000 * lo:.1f}-{1000 * hi:.1f}]")
            label = f"{f}x ({sum(scen.counts().values())} actors)"
            print(f"  {label:24s}" + "".join(f"{c:>30s}" for c in cells))
    print(load())


if __name__ == "__main__":
    main()
