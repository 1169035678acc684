"""Calibration by Latin hypercube filtering (docs/VALIDATION.md).

Candidate parameter sets are drawn by Latin hypercube sampling inside chosen ranges (the ranges
must lie inside the registry's bounds). Each candidate is run through the quick validation, and a
candidate is *accepted* when every pattern's point estimate lies on the stated side of zero (for
pattern 1, inside 20-45%); the table also counts how many patterns hold with intervals that
exclude zero at the quick size. Accepted candidates outline the region in which the nine patterns
hold together; the defaults are then confirmed with the full validation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from .errors import InputError
from .params import REGISTRY, coerce
from .validation import validate

__all__ = ["DEFAULT_RANGES", "calibrate", "directional"]

# The parameters calibrated and the ranges searched.
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "violation_propensity": (0.10, 0.25),
    "gap_months": (3.0, 9.0),
    "coordination_cost": (0.04, 0.15),
    "coordination_exponent": (1.0, 2.25),
    "leverage_push": (0.2, 0.5),
    "guarantee_deterrence": (0.4, 1.0),
}


def directional(check) -> bool:
    """The point estimate is on the stated side (pattern 1: inside the stated range)."""
    e = check.estimate.value
    if check.expected == "inside":
        return 0.20 <= e <= 0.45
    return e < 0 if check.expected == "negative" else e > 0


def calibrate(*, ranges: dict[str, tuple[float, float]] | None = None, n: int = 16, seed: int = 2026,
              out: str | Path = "results/calibration", executor: str = "processes", workers: int | None = None,
              progress: bool = False) -> pd.DataFrame:
    """Evaluate ``n`` Latin-hypercube candidates with the quick validation; return one row each."""
    ranges = dict(ranges or DEFAULT_RANGES)
    for name, (lo, hi) in ranges.items():
        p = REGISTRY.get(name)
        if p is None or p.kind not in ("float", "int"):
            raise InputError(f"calibration range {name!r}: not a numeric parameter of the registry")
        coerce(p, lo, where=f"calibration range {name}")
        coerce(p, hi, where=f"calibration range {name}")
        if lo >= hi:
            raise InputError(f"calibration range {name} = ({lo}, {hi}): the low end must be below the high end")
    names = list(ranges)
    sample = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng(seed)).random(n)
    lows = np.array([ranges[k][0] for k in names])
    highs = np.array([ranges[k][1] for k in names])
    points = lows + sample * (highs - lows)
    out = Path(out)
    from .fsutil import claim_and_mark

    claim_and_mark(out, "calibration")  # a folder of peacesim's, or new: no file of the user's is replaced
    rows = []
    for i, x in enumerate(points):
        overrides: dict[str, Any] = {}
        for k, v in zip(names, x):
            overrides[k] = int(round(v)) if REGISTRY[k].kind == "int" else round(float(v), 4)
        checks = validate(quick=True, out=out / f"candidate_{i:03d}", executor=executor, workers=workers,
                          progress=progress, overrides=overrides)
        row = {"candidate": i, **overrides}
        for c in checks:
            row[f"p{c.number}_effect"] = c.estimate.value
            row[f"p{c.number}_holds"] = c.passed
            row[f"p{c.number}_direction"] = directional(c)
        row["n_hold"] = sum(c.passed for c in checks)
        row["n_direction"] = sum(directional(c) for c in checks)
        row["accepted"] = row["n_direction"] == len(checks)
        rows.append(row)
        pd.DataFrame(rows).to_csv(out / "candidates.csv", index=False)
    return pd.DataFrame(rows)
