"""Where a month's work goes, counted rather than timed: Python bytecode instructions per month.

Counts every bytecode instruction the interpreter executes while models run (``sys.monitoring``
INSTRUCTION events, Python 3.12+), by function, and the Python calls. A count does not move with
the machine's load, so two versions of the model can be compared on a shared machine; it weighs
every instruction alike and does not see time spent inside C functions (numpy, ``math``,
builtins), so it guides work on the interpreted part and complements ``ab_model.py``'s timings.

    .venv/bin/python benchmarks/count_bytecodes.py [--runs 5] [--factor 1] [--top 30]
"""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from bench_model import scaled  # noqa: E402

from peacesim.model import PeaceModel  # noqa: E402
from peacesim.scenario import load_scenario  # noqa: E402

TOOL = 3  # a sys.monitoring tool id nobody else here uses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="runs (seeds 0, 1, ...; default 5)")
    ap.add_argument("--factor", type=int, default=1, help="times the reference cast (default 1)")
    ap.add_argument("--top", type=int, default=30, help="functions listed (default 30)")
    args = ap.parse_args()
    scen = load_scenario("reference") if args.factor == 1 else scaled(args.factor)
    models = [PeaceModel(scen, rng=s) for s in range(args.runs)]
    ops: collections.Counter = collections.Counter()
    calls: collections.Counter = collections.Counter()
    mon = sys.monitoring
    mon.use_tool_id(TOOL, "count_bytecodes")
    mon.register_callback(TOOL, mon.events.INSTRUCTION, lambda code, offset: ops.update((code,)))
    mon.register_callback(TOOL, mon.events.PY_START, lambda code, offset: calls.update((code,)))
    mon.set_events(TOOL, mon.events.INSTRUCTION | mon.events.PY_START)
    try:
        for m in models:
            m.run()
    finally:
        mon.set_events(TOOL, 0)
        mon.free_tool_id(TOOL)
    months = args.runs * models[0].months
    print(f"{args.factor}x cast, {args.runs} runs: {sum(ops.values()) / months:.0f} bytecode instructions and "
          f"{sum(calls.values()) / months:.0f} Python calls a month")
    print(f"  {'instructions':>12s} {'calls':>7s}  a month, by function")
    for code, n in ops.most_common(args.top):
        where = f"{Path(code.co_filename).name}:{code.co_firstlineno} {code.co_qualname}"
        print(f"  {n / months:12.1f} {calls[code] / months:7.2f}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
