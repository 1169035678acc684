"""What one random stream per process buys: less noisy paired comparisons (a benchmark, not a test).

Two arms are run on the same seeds (common random numbers) and the outcome's difference is taken
seed by seed. The spread of those paired differences sets how many seeds a comparison needs: the
95% interval of the mean effect is about 1.96 SD / sqrt(n). It is measured twice:

- **separate streams** (the model as it is): each process (fighting, spoilers, funding,
  negotiation, ...) draws from its own stream, a fixed block every month;
- **one shared stream** (``PeaceModel(..., shared_stream=True)``): every draw comes from one
  generator, so any extra or missing draw in one arm shifts all later draws of that run.

Comparisons: coordination strategies (a contact group, and no coordination, each against a
hierarchical lead), a funding policy (support after signature thinning or not), and a run with
and without an intervention. Outcomes per
run: agreement within 120 months, months to the first agreement (the horizon if none: restricted
to it), consolidated peace, and total violence. The ratio SD(shared) / SD(separate) is reported
with a bootstrap interval over seeds; its square is how many times more seeds one shared stream
would need for the same precision. An unpaired SD (the arms on independent seeds) is shown for
scale.

    .venv/bin/python benchmarks/bench_streams.py [--seeds N] [--workers W]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from peacesim.model import PeaceModel
from peacesim.records import build_outcome

OUTCOMES = {
    "agreement_120": "agreement within 120 months",
    "months_to_agreement": "months to first agreement (restricted to the horizon)",
    "consolidated": "consolidated peace",
    "total_violence": "total violence",
}

COMPARISONS = {
    "contact_group": ("coordination: contact_group minus hierarchical (reference)",
                      dict(overrides={"coordination": "hierarchical"}),
                      dict(overrides={"coordination": "contact_group"})),
    "uncoordinated": ("coordination: none minus hierarchical (reference)",
                      dict(overrides={"coordination": "hierarchical"}),
                      dict(overrides={"coordination": "none"})),
    "funding": ("funding after signature: post_signature_support 0.2 minus 1.0 (reference)",
                dict(overrides={"post_signature_support": 1.0}),
                dict(overrides={"post_signature_support": 0.2})),
    "intervention": ("the mediation NGO's funding cut for 24 months at month 24, minus no cut (reference)",
                     dict(),
                     dict(interventions=["24:cut_funding:actor=the mediation NGO,months=24"])),
}


def one_run(args) -> dict[str, float]:
    seed, kwargs, shared = args
    m = PeaceModel("reference", rng=seed, shared_stream=shared, **kwargs)
    m.run()
    o = build_outcome(m)
    first = o["months_to_first_agreement"]
    return {"agreement_120": float(first is not None and first <= 120),
            "months_to_agreement": float(first if first is not None else m.months),
            "consolidated": float(o["consolidated"]),
            "total_violence": o["total_violence"]}


def bootstrap_ratio(d_shared: np.ndarray, d_sep: np.ndarray, reps: int = 2000, seed: int = 1) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    n = len(d_sep)
    idx = rng.integers(0, n, size=(reps, n))
    a = d_shared[idx].std(axis=1, ddof=1)
    b = d_sep[idx].std(axis=1, ddof=1)
    ok = b > 0
    r = a[ok] / b[ok]
    return float(np.quantile(r, 0.025)), float(np.quantile(r, 0.975))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=400, help="seeds per arm (default 400)")
    ap.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    args = ap.parse_args()
    seeds = [int(s) for s in np.random.SeedSequence(20261201).generate_state(args.seeds, dtype=np.uint32)]
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        results = {}
        for key, (_, a_kw, b_kw) in COMPARISONS.items():
            for shared in (False, True):
                for arm, kw in (("a", a_kw), ("b", b_kw)):
                    results[key, shared, arm] = list(pool.map(one_run, [(s, kw, shared) for s in seeds], chunksize=20))
    seconds = time.perf_counter() - t0
    print(f"{args.seeds} seeds per arm, {4 * len(COMPARISONS) * args.seeds} runs in {seconds:.0f} s")
    for key, (title, _, _) in COMPARISONS.items():
        print()
        print(f"## {title}")
        print()
        print("| outcome | effect, separate streams [95% CI] | effect, one shared stream [95% CI] | SD of paired "
              "difference: separate | shared | unpaired | shared / separate [95% CI] | seeds needed x |")
        print("|---|---|---|---|---|---|---|---|")
        for name, label in OUTCOMES.items():
            sd, eff = {}, {}
            diffs = {}
            for shared in (False, True):
                a = np.array([r[name] for r in results[key, shared, "a"]])
                b = np.array([r[name] for r in results[key, shared, "b"]])
                d = b - a
                diffs[shared] = d
                sd[shared] = float(d.std(ddof=1))
                half = 1.96 * sd[shared] / np.sqrt(len(d))
                eff[shared] = f"{d.mean():+.3g} [{d.mean() - half:+.3g}, {d.mean() + half:+.3g}]"
            a = np.array([r[name] for r in results[key, False, "a"]])
            b = np.array([r[name] for r in results[key, False, "b"]])
            unpaired = float(np.sqrt(a.var(ddof=1) + b.var(ddof=1)))
            if sd[False] > 0:
                ratio = sd[True] / sd[False]
                lo, hi = bootstrap_ratio(diffs[True], diffs[False])
                r_text, need = f"{ratio:.2f} [{lo:.2f}, {hi:.2f}]", f"{ratio ** 2:.1f}"
            else:  # every paired difference is 0: separate streams settle it with any number of seeds
                r_text, need = "– (no paired difference at all)", "–"
            print(f"| {label} | {eff[False]} | {eff[True]} | {sd[False]:.3g} | {sd[True]:.3g} | {unpaired:.3g} | "
                  f"{r_text} | {need} |")
    print()
    print(f"seeds: {args.seeds} from SeedSequence(20261201), one run per seed and arm; "
          "intervals of effects are paired (mean +- 1.96 SD/sqrt(n)); the ratio's interval is a bootstrap over seeds")


if __name__ == "__main__":
    main()
