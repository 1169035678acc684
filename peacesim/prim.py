"""Scenario discovery with PRIM: the conditions under which an outcome of interest happens.

PRIM (the Patient Rule Induction Method; Friedman & Fisher 1999, used for scenario discovery by
Bryant & Lempert 2010) peels slices off the box that holds all sampled worlds, a little at a time,
each time removing the slice whose removal raises most the share of cases of interest left inside,
and then pastes back slices that raise it further. Each step of the peeling trajectory is a box
with a *coverage* (the share of all cases of interest that lie inside it) and a *density* (the
share of the worlds inside it that are cases of interest); narrower boxes are denser and cover
less.

The peeling itself is EMA Workbench's implementation (``ema_workbench.analysis.prim.Prim``,
Kwakkel 2017), a well-kept one. Its interface leaves some checks to the caller, which this module
makes:

* it silently drops a column called ``scenario`` (EMA's own experiments carry one); here the
  columns are renamed before the call and named again after it, so any name is kept;
* its binary ``Prim`` accepts any numbers as ``y`` and then reports coverage and density that
  mean nothing; here ``y`` must be booleans or 0/1, anything else is refused;
* it needs ``x`` as a pandas DataFrame of numbers; here a DataFrame or a 2-d array is taken and
  every column must be numeric and finite.

:func:`find_boxes` returns up to ``max_boxes`` boxes. From each peeling trajectory it chooses the
densest box that still covers at least half of the cases of interest, drops the restrictions that
chance could explain (quasi-p-values) and keeps the box only if its density is above the share of
cases of interest in all worlds; then the worlds in EMA's box are set aside and the search goes on
among the others (EMA's default).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = ["Box", "Limit", "find_boxes"]


@dataclass(frozen=True)
class Limit:
    """One restricted condition of a box: ``low <= x <= high``; an end that is not restricted is
    the edge of the sampled range (``low_restricted`` / ``high_restricted`` say which ends are)."""

    name: str
    low: float
    high: float
    low_restricted: bool
    high_restricted: bool
    quasi_p: float = math.nan  # Bryant & Lempert's one-sided binomial test of this restriction


@dataclass(frozen=True)
class Box:
    """A box of conditions with its statistics over the worlds it was found in."""

    limits: tuple[Limit, ...]
    coverage: float       # share of all cases of interest inside the box
    density: float        # share of the worlds inside the box that are cases of interest
    mass: float           # share of all worlds inside the box
    n: int                # worlds inside
    k: int                # cases of interest inside
    base_rate: float      # share of cases of interest among all worlds
    inside: tuple[int, ...] = field(default=(), repr=False)  # row positions of the worlds inside

    def contains(self, x: pd.DataFrame) -> np.ndarray:
        """Which rows of ``x`` (with the condition columns) lie inside the box."""
        mask = np.ones(len(x), dtype=bool)
        for lim in self.limits:
            v = x[lim.name].to_numpy(float)
            mask &= (v >= lim.low) & (v <= lim.high)
        return mask


def _check(x: pd.DataFrame | np.ndarray, y) -> tuple[pd.DataFrame, np.ndarray]:
    if isinstance(x, np.ndarray):
        if x.ndim != 2:
            raise InputError(f"scenario discovery: x must be a table (2-d), got {x.ndim} dimension(s)")
        x = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])])
    if not isinstance(x, pd.DataFrame):
        raise InputError(f"scenario discovery: x must be a pandas DataFrame or a 2-d array, got {type(x).__name__}")
    if x.shape[1] == 0:
        raise InputError("scenario discovery: x has no columns (no uncertain conditions)")
    names = [str(c) for c in x.columns]
    if len(set(names)) != len(names):
        raise InputError("scenario discovery: x has two columns with the same name")
    for c in x.columns:
        if not pd.api.types.is_numeric_dtype(x[c]) or pd.api.types.is_bool_dtype(x[c]):
            raise InputError(f"scenario discovery: column {c!r} is not numeric; conditions must be numbers")
        if not np.isfinite(x[c].to_numpy(float)).all():
            raise InputError(f"scenario discovery: column {c!r} holds missing or infinite values")
    yy = np.asarray(y)
    if yy.ndim != 1 or len(yy) != len(x):
        raise InputError(f"scenario discovery: y must be one value per row of x ({len(x)}), got shape {yy.shape}")
    if yy.dtype == bool:
        yy = yy.astype(int)
    else:
        try:
            values = set(np.unique(yy).tolist())
        except TypeError:
            values = {None}
        if not values <= {0, 1}:
            shown = sorted(values, key=str)[:5]
            raise InputError(f"scenario discovery: y must be binary (true/false or 0/1: a case of interest or not); "
                             f"got values {shown}")
        yy = yy.astype(int)
    return x, yy


def _check_settings(**given) -> None:
    """The settings of :func:`find_boxes`, each refused in one line when out of its range."""
    import numbers

    def whole(name: str, low: int) -> None:
        v = given[name]
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < low:
            raise InputError(f"scenario discovery: {name} = {v!r} is not allowed; expected a whole number of at "
                             f"least {low}")

    def share(name: str, *, one: bool) -> None:
        v = given[name]
        ok = (not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(v)
              and 0 < v and (v <= 1 if one else v < 1))
        if not ok:
            raise InputError(f"scenario discovery: {name} = {v!r} is not allowed; expected a number above 0 and "
                             f"{'at most' if one else 'below'} 1")

    whole("max_boxes", 1)
    whole("max_dims", 1)
    share("mass_min", one=False)
    share("min_coverage", one=True)
    share("peel_alpha", one=False)
    share("paste_alpha", one=False)
    if given["significance"] is not None:
        share("significance", one=False)


def find_boxes(x: pd.DataFrame | np.ndarray, y, *, max_boxes: int = 2, mass_min: float = 0.05,
               max_dims: int = 3, min_coverage: float = 0.5, significance: float | None = 0.05,
               peel_alpha: float = 0.05, paste_alpha: float = 0.05) -> list[Box]:
    """Boxes of conditions in which the cases of interest (``y`` true) are concentrated.

    ``x`` holds one row per sampled world and one numeric column per condition (any names);
    ``y`` is True (or 1) for a case of interest. Returns at most ``max_boxes`` boxes, the first
    found first; an empty list when there is no case of interest, when every world is one, or
    when no box is denser than the worlds overall.

    From each peeling trajectory the densest box is chosen among those that still hold at least
    ``min_coverage`` of the cases of interest, restrict 1 to ``max_dims`` conditions (boxes are
    read by people) and keep at least ``mass_min`` of the worlds. With ``significance``, the
    restriction with the largest quasi-p-value is then dropped while that value is above
    ``significance``, so that a box does not name a condition that chance alone would explain;
    a box left with no restriction is not reported. (The quasi-p-value of Bryant & Lempert 2010,
    as EMA computes it: the one-sided binomial probability of finding at least as many cases of
    interest in the box if its density were only that of the box without this restriction.)
    Coverage and density are computed over all worlds.
    """
    _check_settings(max_boxes=max_boxes, mass_min=mass_min, max_dims=max_dims, min_coverage=min_coverage,
                    significance=significance, peel_alpha=peel_alpha, paste_alpha=paste_alpha)
    x, yy = _check(x, y)
    n = len(x)
    if n == 0 or yy.sum() == 0 or yy.sum() == n:
        return []
    names = [str(c) for c in x.columns]
    internal = [f"c{i}" for i in range(len(names))]
    xi = pd.DataFrame({k: x[c].to_numpy(float) for k, c in zip(internal, x.columns)})
    base_rate = float(yy.mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ema_workbench warns about optional packages when imported
        from ema_workbench.analysis import prim as ema_prim

        p = ema_prim.Prim(xi, yy.copy(), peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
        boxes: list[Box] = []
        for _ in range(max_boxes):
            box = p.find_box()
            if box is None:
                break
            chosen = _choose(box.peeling_trajectory, mass_min, max_dims, min_coverage)
            if chosen is None:
                break
            box.select(chosen)
            lims = box.box_lims[chosen]
            qp = box.p_values[chosen] if chosen < len(box.p_values) else {}
            limits = []
            for k, name in zip(internal, names):
                lo, hi = float(lims.loc[0, k]), float(lims.loc[1, k])
                lo0, hi0 = float(p.box_init.loc[0, k]), float(p.box_init.loc[1, k])
                if lo == lo0 and hi == hi0:
                    continue
                q = qp.get(k) if isinstance(qp, dict) else None
                qv = [v for v in (q or []) if isinstance(v, (int, float)) and v >= 0]
                limits.append(Limit(name, lo, hi, lo > lo0, hi < hi0, float(max(qv)) if qv else math.nan))
            if significance is not None:
                limits = _prune(x, yy, limits, significance)
            if not limits:
                break
            found = Box(tuple(limits), 0.0, 0.0, 0.0, 0, 0, base_rate)
            inside = found.contains(x)  # over all worlds, whichever box found them
            k_in, n_in = int(yy[inside].sum()), int(inside.sum())
            density = k_in / n_in if n_in else 0.0
            if density <= base_rate:
                break
            boxes.append(Box(tuple(limits), float(k_in / yy.sum()), float(density), n_in / n, n_in, k_in, base_rate,
                             tuple(int(i) for i in np.flatnonzero(inside))))
    return boxes


def _choose(trajectory: pd.DataFrame, mass_min: float, max_dims: int, min_coverage: float) -> int | None:
    """The densest step of a peeling trajectory that still covers ``min_coverage`` of the cases."""
    t = trajectory.reset_index(drop=True)
    best, key = None, (-1.0, -1.0)
    for i, row in t.iterrows():
        if not 1 <= int(row["res_dim"]) <= max_dims or float(row["mass"]) < mass_min - 1e-12:
            continue
        c, d = float(row["coverage"]), float(row["density"])
        if c < min_coverage - 1e-12:
            continue
        if (d, c) > key:
            best, key = int(i), (d, c)
    return best


def _inside(x: pd.DataFrame, limits) -> np.ndarray:
    mask = np.ones(len(x), dtype=bool)
    for lim in limits:
        v = x[lim.name].to_numpy(float)
        mask &= (v >= lim.low) & (v <= lim.high)
    return mask


def _quasi_p(x: pd.DataFrame, y: np.ndarray, limits, drop) -> float:
    """Bryant & Lempert's quasi-p-value of one restriction: P(X >= k) for X ~ Binomial(n, p),
    k of n worlds in the box being cases of interest, p the density without the restriction."""
    from scipy.stats import binomtest

    inside = _inside(x, limits)
    looser = _inside(x, [lim for lim in limits if lim is not drop])
    n, k = int(inside.sum()), int(y[inside].sum())
    if n == 0:
        return 1.0
    return float(binomtest(k, n, float(y[looser].mean()), alternative="greater").pvalue)


def _prune(x: pd.DataFrame, y: np.ndarray, limits: list, significance: float) -> list:
    """Drop, one at a time, the restriction that chance explains best, while chance explains it."""
    limits = list(limits)
    while limits:
        qp = [_quasi_p(x, y, limits, lim) for lim in limits]
        worst = int(np.argmax(qp))
        if qp[worst] <= significance:
            return [Limit(lim.name, lim.low, lim.high, lim.low_restricted, lim.high_restricted, q)
                    for lim, q in zip(limits, qp)]
        del limits[worst]
    return []
