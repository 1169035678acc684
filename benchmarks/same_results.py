"""Does a change to the model leave its results exactly as they were? (A tool for speed work.)

Runs a fixed set of cases that between them reach every rule and branch of the monthly step:
every shipped scenario over several seeds, the reference scenario with each kind of
intervention (planned, and applied between steps), every coordination and spoiler strategy,
guarantees and verification, random parameter sets drawn from the registry's ranges, three and
ten times the reference cast, and the single shared stream. Each run's series (to the bit),
episodes, events and outcome are digested. ``--save FILE`` writes the digests; ``--against
FILE`` runs the same cases with the code as it is now and lists every case that differs, with
the largest difference in the series.

    git stash; .venv/bin/python benchmarks/same_results.py --save /tmp/before.json; git stash pop
    .venv/bin/python benchmarks/same_results.py --against /tmp/before.json

Exit status 1 if any case differs.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

# the peacesim of the checkout this file is in, whichever is installed
sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parent)]

from bench_model import scaled  # noqa: E402

from peacesim.model import PeaceModel  # noqa: E402
from peacesim.params import REGISTRY  # noqa: E402
from peacesim.result import RunResult  # noqa: E402
from peacesim.scenario import list_scenarios, load_scenario  # noqa: E402

REF_INTERVENTIONS = [
    [{"month": 20, "kind": "rotate", "actor": "the UN envoy"}],
    [{"month": 15, "kind": "cut_funding", "actor": "the mediation NGO", "months": 18},
     {"month": 60, "kind": "restore_funding", "actor": "the mediation NGO"}],
    [{"month": 10, "kind": "add_mediator", "name": "the newcomer", "organisation": "state", "lead": True}],
    [{"month": 30, "kind": "withdraw", "actor": "the donor state"}],
    [{"month": 5, "kind": "coordination", "strategy": "none"},
     {"month": 90, "kind": "coordination", "strategy": "contact_group"}],
    [{"month": 12, "kind": "attack"}, {"month": 40, "kind": "attack", "spoiler": "the militia"}],
    [{"month": 8, "kind": "pressure", "party": "the armed group", "strength": 0.8, "months": 24},
     {"month": 8, "kind": "incentives", "party": "the government", "strength": 0.6, "months": 30}],
    [{"month": 3, "kind": "link_local", "count": 6}, {"month": 4, "kind": "protect_local", "count": 0}],
    [{"month": 50, "kind": "set", "name": "post_signature_support", "value": 0.1}],
]

OVERRIDES = [
    {"coordination": "none"}, {"coordination": "network"}, {"coordination": "contact_group"},
    {"spoiler_strategy": "inducement"}, {"spoiler_strategy": "coercion"}, {"spoiler_strategy": "socialization"},
    {"guarantee": True}, {"verification": True}, {"guarantee": True, "verification": True},
    {"post_signature_support": 0.2, "gap_months": 9},
]


def digest(result: RunResult) -> dict:
    cols, data = result.series_array()
    series = np.ascontiguousarray(data, dtype=np.float64)
    text = json.dumps([result.outcome, result.episode_rows(), result.events.to_dict("records"), cols],
                      sort_keys=True, default=str)
    return {"series": hashlib.sha256(series.tobytes()).hexdigest(), "rest": hashlib.sha256(text.encode()).hexdigest(),
            "data": series.tolist()}


def random_overrides(rng: np.random.Generator, n: int) -> list[dict]:
    """``n`` parameter sets: each numeric registry parameter drawn uniformly in its range, at a
    quarter of the range around its default (like the ready sensitivity experiments)."""
    out = []
    for _ in range(n):
        values = {}
        for name, p in REGISTRY.items():
            if p.kind not in ("float", "int") or name == "months":
                continue
            lo, hi = float(p.low), float(p.high)
            w = 0.125 * (hi - lo)
            d = float(p.default)
            v = rng.uniform(max(lo, d - w), min(hi, d + w))
            values[name] = int(round(v)) if p.kind == "int" else v
        out.append(values)
    return out


def cases():
    """(name, a function returning the run's result) for every case."""
    for path in list_scenarios():
        for seed in range(8):
            yield f"{path.stem}/seed{seed}", lambda p=path, s=seed: _run(p, s)
    for k, plan in enumerate(REF_INTERVENTIONS):
        for seed in range(3):
            yield f"reference/interventions{k}/seed{seed}", lambda pl=plan, s=seed: _run("reference", s, interventions=pl)
    for k, ov in enumerate(OVERRIDES):
        for seed in range(3):
            yield f"reference/overrides{k}/seed{seed}", lambda o=ov, s=seed: _run("reference", s, overrides=o)
    for k, ov in enumerate(random_overrides(np.random.default_rng(7), 6)):
        for seed in range(2):
            for scen in ("reference", "crowded_field"):
                yield f"{scen}/random{k}/seed{seed}", lambda o=ov, s=seed, sc=scen: _run(sc, s, overrides=o)
    for factor in (3, 10):
        cast = scaled(factor)
        for strategy in ("hierarchical", "none", "network", "contact_group"):
            yield f"x{factor}/{strategy}", lambda c=cast, st=strategy: _run(c, 1, overrides={"coordination": st})
    for seed in range(3):
        yield f"reference/shared_stream/seed{seed}", lambda s=seed: _run("reference", s, shared_stream=True)
    for seed in range(3):
        yield f"reference/stepped/seed{seed}", lambda s=seed: _stepped(s)


def _run(scenario, seed, **kw) -> RunResult:
    if not isinstance(scenario, str) and not hasattr(scenario, "actors"):
        scenario = load_scenario(scenario)
    model = PeaceModel(copy.deepcopy(scenario) if hasattr(scenario, "actors") else scenario, rng=seed, **kw)
    model.run()
    return RunResult.from_model(model)


def _stepped(seed: int) -> RunResult:
    """Interventions applied between steps, as a trainer does in the dashboard."""
    model = PeaceModel("reference", rng=seed)
    for month in range(1, 241):
        if month == 25:
            model.intervene("cut_funding", actor="the UN envoy", months=6)
        if month == 70:
            model.intervene("attack")
        if month == 100:
            model.intervene("rotate", actor="the donor state")
        model.step()
    return RunResult.from_model(model)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--save", type=Path, help="write the digests of every case to FILE")
    g.add_argument("--against", type=Path, help="compare every case with the digests in FILE")
    args = ap.parse_args()
    import peacesim
    print(f"peacesim from {Path(peacesim.__file__).parent}")
    t0 = time.perf_counter()
    now = {name: digest(fn()) for name, fn in cases()}
    took = time.perf_counter() - t0
    if args.save:
        args.save.write_text(json.dumps(now))
        print(f"{len(now)} cases digested in {took:.1f} s -> {args.save}")
        return 0
    before = json.loads(args.against.read_text())
    differ = 0
    for name, d in now.items():
        b = before.get(name)
        if b is None:
            print(f"  {name}: not in {args.against}")
            differ += 1
            continue
        if d["series"] == b["series"] and d["rest"] == b["rest"]:
            continue
        differ += 1
        x, y = np.array(d["data"]), np.array(b["data"])
        gap = float(np.max(np.abs(x - y))) if x.shape == y.shape else float("nan")
        print(f"  {name}: differs (series {'same' if d['series'] == b['series'] else f'max diff {gap:.3g}'}, "
              f"outcome/episodes/events {'same' if d['rest'] == b['rest'] else 'differ'})")
    print(f"{len(now) - differ} of {len(now)} cases identical ({took:.1f} s)")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
