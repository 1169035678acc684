"""Paired statistics for strategies compared on common random numbers.

A comparison runs every strategy on the same seeds in the same sampled worlds (a world is one
draw of the uncertain conditions). The unit that pairs the strategies is a *block*: one world and
one seed. Runs in a block share every random draw that the strategies do not change (each process
of the model has its own random stream), so the difference between two strategies within a block
is mostly the strategies' doing, not noise. Intervals that ignore the pairing treat the two arms
as independent samples and come out several times wider than they need to be.

Resampling: the worlds and the seeds are a *crossed* design (every world is run with every seed,
and runs that share a seed are correlated across worlds as well as across strategies). The
bootstrap here resamples worlds and seeds independently, with replacement, and keeps every
combination of a drawn world with a drawn seed - the pigeonhole bootstrap (Owen 2007, "The
pigeonhole bootstrap", Annals of Applied Statistics 1(2), 386-411), which is mildly
conservative for crossed designs. With one world it is the ordinary bootstrap over seeds. Each
resample keeps the strategies of a block together, which is what makes the differences paired;
:func:`draws` with ``paired=False`` gives every strategy its own resample instead, for the
unpaired interval that shows what common random numbers buy.

A resample is stored as counts: ``cw[b, w]`` how often world ``w`` was drawn in resample ``b``
and ``cr[b, r]`` how often seed ``r`` was, so that block (w, r) has weight ``cw[b, w] * cr[b, r]``.
The same machinery computes the point estimate (all counts 1) and the per-world values (one world
at a time). Agreement durability is a survival outcome with censoring: :func:`km` computes the
Kaplan-Meier survival at a horizon and the restricted mean survival time (RMST) up to it for
every resample at once, with those weights; the estimator is the one of
:func:`peacesim.analysis.km_summary` (lifelines' conventions: an agreement censored at month t is
still at risk at t; S(t) = prod over event times t_j <= t of (1 - d_j / n_j)).

Everything here is arithmetic on arrays: no files, no model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Draws", "draws", "point", "per_world", "block_mean", "km", "interval", "p_value", "holm",
           "latin_hypercube"]

#: Resamples whose Kaplan-Meier weights are computed at once (bounds memory: chunk x episodes).
_CHUNK = 256


@dataclass(frozen=True)
class Draws:
    """Resamples of worlds and seeds as counts: ``cw`` (n x worlds) and ``cr`` (n x seeds)."""

    cw: np.ndarray
    cr: np.ndarray

    @property
    def n(self) -> int:
        return int(self.cw.shape[0])


def draws(n_worlds: int, n_seeds: int, n: int, rng: np.random.Generator) -> Draws:
    """``n`` pigeonhole resamples: worlds and seeds drawn independently with replacement."""
    cw = rng.multinomial(n_worlds, np.full(n_worlds, 1.0 / n_worlds), size=n).astype(float)
    cr = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=n).astype(float)
    return Draws(cw, cr)


def point(n_worlds: int, n_seeds: int) -> Draws:
    """The sample itself: every block once."""
    return Draws(np.ones((1, n_worlds)), np.ones((1, n_seeds)))


def per_world(n_worlds: int, n_seeds: int) -> Draws:
    """One 'resample' per world: that world's blocks only, every seed once."""
    return Draws(np.eye(n_worlds), np.ones((n_worlds, n_seeds)))


def block_mean(x: np.ndarray, ok: np.ndarray, d: Draws) -> np.ndarray:
    """Weighted mean of a per-block quantity ``x`` (worlds x seeds) for every resample.

    Blocks where ``ok`` is False (a run failed) carry no weight. NaN where a resample holds no
    usable block."""
    x = np.where(ok, np.nan_to_num(np.asarray(x, dtype=float)), 0.0)
    okf = np.asarray(ok, dtype=float)
    num = np.einsum("bw,wr,br->b", d.cw, x, d.cr)
    den = np.einsum("bw,wr,br->b", d.cw, okf, d.cr)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def km(durations: np.ndarray, events: np.ndarray, world: np.ndarray, seed: np.ndarray, d: Draws,
       horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival at ``horizon`` and RMST up to ``horizon``, for every resample.

    ``durations`` and ``events`` describe agreements (months held; True for a relapse, False for
    an agreement still holding when its follow-up or the run ended, i.e. censored); ``world`` and
    ``seed`` give each agreement's block. An agreement's weight in resample b is
    ``cw[b, world] * cr[b, seed]``. Returns two arrays of length ``d.n``; NaN where the curve is
    not identified up to ``horizon`` (no agreement of the resample was followed that long and the
    curve had not reached zero) or the resample holds no agreement.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    wi = np.asarray(world, dtype=int)
    si = np.asarray(seed, dtype=int)
    s_out = np.full(d.n, np.nan)
    r_out = np.full(d.n, np.nan)
    if len(t) == 0:
        return s_out, r_out
    times = np.unique(t[e & (t <= horizon)])
    at_risk = (t[:, None] >= times[None, :]).astype(float)          # agreements x event times
    dead = (e[:, None] & (t[:, None] == times[None, :])).astype(float)
    followed = (t >= horizon).astype(float)
    lengths = np.diff(np.concatenate([[0.0], times, [float(horizon)]]))  # S is constant on each piece
    for lo in range(0, d.n, _CHUNK):
        hi = min(d.n, lo + _CHUNK)
        w = d.cw[lo:hi][:, wi] * d.cr[lo:hi][:, si]                     # resamples x agreements
        n_risk = w @ at_risk
        n_dead = w @ dead
        hazard = np.divide(n_dead, n_risk, out=np.zeros_like(n_dead), where=n_risk > 0)
        surv = np.cumprod(1.0 - hazard, axis=1)
        s_h = surv[:, -1] if len(times) else np.ones(hi - lo)
        before = np.concatenate([np.ones((hi - lo, 1)), surv], axis=1)
        rmst = before @ lengths
        identified = (w.sum(axis=1) > 0) & (((w @ followed) > 0) | (s_h <= 0.0))
        s_out[lo:hi] = np.where(identified, s_h, np.nan)
        r_out[lo:hi] = np.where(identified, rmst, np.nan)
    return s_out, r_out


#: Differences smaller than this share of the values compared are rounding, not a difference:
#: two strategies with the same survival can give values that differ in the last bits when the
#: products are taken in another order, and the sign of that noise must not decide anything.
ROUNDING = 1e-12


def difference(a: np.ndarray | float, b: np.ndarray | float) -> np.ndarray:
    """``a - b``, with differences within rounding of zero (:data:`ROUNDING` of the larger value)
    made exactly zero. NaNs stay NaN."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    d = a - b
    with np.errstate(invalid="ignore"):
        tiny = np.isfinite(d) & (np.abs(d) <= ROUNDING * np.maximum(np.abs(a), np.abs(b)))
    return np.where(tiny, 0.0, d)


def interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of bootstrap values (NaN resamples left out); NaNs when none is left."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (math.nan, math.nan)
    a = (1 - level) / 2
    lo, hi = np.quantile(v, [a, 1 - a])
    return (float(lo), float(hi))


def p_value(estimate: float, values: np.ndarray) -> float:
    """Two-sided bootstrap p-value of a difference against 0, consistent with :func:`interval`:
    twice the smaller share of resamples on either side of 0 (counting resamples at 0 on both
    sides), with the usual +1 correction so that it is never exactly 0: 2 min(k + 1) / (n + 1)
    for k resamples on the rarer side out of n (Davison & Hinkley 1997, section 4.4). A 95%
    percentile interval that excludes 0 goes with a p-value below 0.05. NaN when nothing can be
    said (no estimate, fewer than two usable resamples)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not math.isfinite(estimate) or len(v) < 2:
        return math.nan
    if np.all(v == 0.0):
        return 1.0
    below = int(np.sum(v <= 0.0))
    above = int(np.sum(v >= 0.0))
    return float(min(1.0, 2 * (min(below, above) + 1) / (len(v) + 1)))


def holm(pvalues: list[float] | np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (Holm 1979); NaNs stay NaN and do not
    count as members of the family."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = len(idx)
    if m == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out


def latin_hypercube(n: int, dims: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` points in [0, 1)^dims, one in each of n equal slices of every axis (McKay, Beckman &
    Conover 1979): each column is a random permutation of the slices, jittered within its slice."""
    u = np.empty((n, dims))
    for j in range(dims):
        u[:, j] = (rng.permutation(n) + rng.random(n)) / n
    return u
