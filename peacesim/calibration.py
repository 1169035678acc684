"""Calibration by iterated history matching (docs/VALIDATION.md, "Calibration").

History matching (Craig et al. 1997; Vernon, Goldstein & Bower 2010; Andrianakis et al. 2015 for
agent-based epidemic models) rules out the parts of parameter space where the model cannot match
what is known, and keeps the rest. For a target k with observed value z_k, the *implausibility* of
a parameter set x is

    I_k(x) = |f_k(x) - z_k| / sqrt(obs_sd_k^2 + disc_sd_k^2 + ens_sd_k(x)^2)

where f_k(x) is the model's estimate of the target from the runs at x, obs_sd_k the uncertainty of
the observed value, disc_sd_k the model's discrepancy (how far even the best parameter set may be
from reality, since the model is a simplification) and ens_sd_k(x) the standard error of f_k(x)
from the model's own randomness (a bootstrap over the replicates). A point is *not ruled out yet*
(NROY) when I_max(x) = max_k I_k(x) <= 3, Pukelsheim's three-sigma rule: for any unimodal
distribution, at least 95% of its mass lies within three standard deviations of the mean.

Why history matching rather than ABC-SMC: the targets are literature estimates and plausibility
ranges, not data with a likelihood. The implausibility measure has an explicit term for each
source of uncertainty (the observation's, the model's discrepancy, the model's stochastic
variance), and the answer is the region of parameter space that is not ruled out, not a posterior
conditional on an arbitrary distance and tolerance schedule.

The calibration goes in waves. Wave 1 runs a Latin hypercube of points over the ranges; each later
wave draws new points from the NROY points of the wave before (half by jittering them with a
Gaussian whose covariance is a shrunken covariance of those points, half uniformly in their
bounding box) and runs them with twice the replicates, so the final region is judged with less
noise. Every wave is an experiment run by the experiment runner (:func:`peacesim.sweep.run_experiment`)
into ``out/wave-N``: the replicates of a wave share their seeds at every point (common random
numbers), and calling :func:`calibrate` again with the same settings reuses every stored run. The
folder's ``calibration.json`` records the settings, and the marker (``.peacesim``) lists what the
calibration wrote there: a calibration with other settings is refused in one line (as a sweep of
another experiment is), and ``fresh`` removes everything listed, never a file peacesim did not write.
"""

from __future__ import annotations

import dataclasses
import math
import re
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from .figtext import as_written
from . import analysis, fsutil
from .errors import InputError, StorageError
from .experiment import experiment_from_dict
from .params import REGISTRY, did_you_mean
from .sweep import run_experiment
from .validation import Estimate, _arm, _ceasefire_share, median_of_episodes, proportion, relapse_share, stale_reason
from .words import checked, words

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["DEFAULT_RANGES", "DEFAULT_TARGETS", "CUTOFF", "REPLICATE_GROWTH", "CalibrationTarget", "Wave", "CalibrationResult",
           "calibrate", "check_calibration", "check_folder", "settings", "RECORD", "check_range", "check_patterns", "pick_by_patterns", "pointing_the_stated_way", "implausibility", "not_ruled_out", "share_floor", "first_wave", "next_wave",
           "evaluate", "region", "nroy_figure", "pair_scatter", "write_report"]

#: The parameters calibrated and the ranges searched: ten that a Morris screening of the model
#: (before its calibration; docs/SENSITIVITY.md) ranked among the most influential on what the
#: targets measure (reaching an agreement, its timing and its durability), each over a range
#: around its earlier default inside the registry's bounds.
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "pain_decay": (0.02, 0.07),
    "pressure_rate": (0.01, 0.06),
    "talks_hazard": (0.005, 0.05),
    "trust_baseline": (0.15, 0.35),
    "ripeness_threshold": (0.32, 0.52),
    "defection_rate": (0.01, 0.06),
    "violation_propensity": (0.05, 0.18),
    "facilitation_gain": (0.006, 0.02),
    "compliance_gain": (0.002, 0.012),
    "negotiation_rate": (0.1, 0.3),
}

#: Pukelsheim's (1994) three-sigma rule: at least 95% of any unimodal distribution lies within
#: three standard deviations of its mean, so I_max above 3 rules a point out.
CUTOFF = 3.0
#: Each wave after the first runs this many times the replicates of the wave before.
REPLICATE_GROWTH = 2
#: Shrinkage of the NROY points' covariance towards its diagonal before jittering: a covariance from
#: a few points is noisy, and its off-diagonal terms the noisiest.
SHRINKAGE = 0.5
#: Smallest spread of the jitter and smallest width of the bounding box, as a share of each range:
#: one NROY point, or points on a line, still give new points around them.
MIN_SPREAD = 0.02
#: Significant digits a float parameter keeps in a design (integer parameters are rounded).
DIGITS = 6
#: Parameters that set the horizon of the runs: they are columns of the results, not factors.
_NOT_FACTORS = ("months", "followup_months")


# ------------------------------------------------------------------------------------ targets
@dataclass(frozen=True)
class CalibrationTarget:
    """A quantity the model should reproduce, with the uncertainties history matching needs.

    ``measure(results, where)`` estimates it from the runs selected by ``where`` (a dict of column
    values, ``{"design_point": k}`` for one point); the estimators of :mod:`peacesim.validation`
    have this form. ``key`` names its columns in the tables.
    """

    key: str
    name: str
    source: str
    z: float
    obs_sd: float
    disc_sd: float
    measure: Callable[[analysis.Results, dict[str, Any]], Estimate] = field(repr=False, compare=False)
    unit: str = ""
    #: For a share: how many runs or agreements it is a share of, at one point. With it the
    #: ensemble sd is at least a binomial standard error (see :func:`share_floor`), so a share
    #: that came out at 0 or 1 over few replicates still counts as uncertain.
    count: Callable[[analysis.Results, dict[str, Any]], int] | None = field(default=None, repr=False, compare=False)

    def fmt(self, value: float) -> str:
        if not math.isfinite(value):
            return "none (no agreement)"
        return f"{value:.3g}{self.unit}"


# History matching weighs each estimate by its own noise (with a binomial floor for few
# agreements, :func:`share_floor`), so a point's relapse share is used from its first agreement on;
# the validation's minimum of runs with an agreement (for a verdict's interval) does not apply.
def _relapse_60(results: analysis.Results, where: dict[str, Any]) -> Estimate:
    return relapse_share(results, where, 60, min_clusters=1)


def _relapse_120(results: analysis.Results, where: dict[str, Any]) -> Estimate:
    return relapse_share(results, where, 120, min_clusters=1)


def _n_runs(results: analysis.Results, where: dict[str, Any]) -> int:
    return len(_arm(results, where)[0])


def _n_agreements(results: analysis.Results, where: dict[str, Any]) -> int:
    return len(_arm(results, where)[1])


def share_floor(value: float, n: int) -> float:
    """The least ensemble sd of a share ``value`` measured over ``n`` runs or agreements: the
    binomial standard error at (value·n + 1/2) / (n + 1), which is not 0 when every replicate gave
    the same answer (a bootstrap over them then says 0)."""
    if n <= 0 or not math.isfinite(value):
        return math.nan
    p = (value * n + 0.5) / (n + 1)
    return math.sqrt(p * (1.0 - p) / n)


def _agreement(results: analysis.Results, where: dict[str, Any]) -> Estimate:
    return proportion(results, where, "agreement_reached")


def _talks_months(results: analysis.Results, where: dict[str, Any]) -> Estimate:
    return median_of_episodes(results, where, "talks_months")


def _ceasefires(results: analysis.Results, where: dict[str, Any]) -> Estimate:
    runs, episodes = _arm(results, where)
    only = dataclasses.replace(results, runs=runs, episodes=episodes, series=None, _levels={})
    return _ceasefire_share(only)


#: The default targets, all measured on runs of the reference scenario (docs/VALIDATION.md,
#: "Quantitative targets"). The observation sd of a plausibility range is about a quarter of its
#: width, so that z +- 2 sd spans most of it.
DEFAULT_TARGETS: tuple[CalibrationTarget, ...] = (
    CalibrationTarget("relapse_60", "share of agreements relapsing within 5 years",
                      "Suhrke & Samset 2007 (about 26%); Mack 2012 (about a third)",
                      0.30, 0.05, 0.03, _relapse_60, count=_n_agreements),
    CalibrationTarget("relapse_120", "share of agreements relapsing within 10 years",
                      "Collier, Hoeffler & Söderbom 2008 (about 40% in the first post-conflict decade)",
                      0.40, 0.05, 0.03, _relapse_120, count=_n_agreements),
    CalibrationTarget("agreement", "share of runs reaching any agreement within the horizon",
                      "plausible range 40-90%: UCDP peace agreement and termination data (Harbom et al. 2006; "
                      "Kreutz 2010)", 0.65, 0.10, 0.05, _agreement, count=_n_runs),
    CalibrationTarget("talks_months", "median months of talks before signature",
                      "plausible range 6-48 months (no single estimate)", 18.0, 8.0, 4.0, _talks_months, " months"),
    CalibrationTarget("ceasefire_share", "share of agreements that are ceasefires",
                      "plausible range 20-70%: UCDP peace agreement data (Harbom et al. 2006)", 0.45, 0.10, 0.05,
                      _ceasefires, count=_n_agreements),
)


# ------------------------------------------------------------------------------------ the arithmetic
def implausibility(value: float, z: float, obs_sd: float, disc_sd: float, ens_sd: float) -> float:
    """|value - z| / sqrt(obs_sd^2 + disc_sd^2 + ens_sd^2); infinite when ``value`` cannot be
    computed (no agreement at the point). An ensemble sd that cannot be computed counts as 0."""
    if not math.isfinite(value):
        return math.inf
    ens = ens_sd if math.isfinite(ens_sd) else 0.0
    return abs(value - z) / math.sqrt(obs_sd ** 2 + disc_sd ** 2 + ens ** 2)


def not_ruled_out(i_max: float, cutoff: float = CUTOFF) -> bool:
    """A point is not ruled out yet when its largest implausibility is at most ``cutoff``."""
    return i_max <= cutoff


# ------------------------------------------------------------------------------------ checks
def check_range(name: str, low: Any, high: Any, *, where: str) -> tuple[float, float]:
    """One parameter's range, checked against the registry; returns (low, high) as numbers.

    ``low`` and ``high`` may be numbers or text typed on the command line (``where`` starting
    with ``--``). Refused with one line naming the place, the parameter, the value and what is
    allowed."""
    numeric = [n for n, p in REGISTRY.items() if p.kind in ("float", "int") and n not in _NOT_FACTORS]
    p = REGISTRY.get(name)
    if name in _NOT_FACTORS:
        raise InputError(f"{where}: {words(name)} sets the horizon of the runs and cannot be calibrated; "
                         "choose a numeric model parameter ('peacesim params' lists them)")
    if p is None or p.kind not in ("float", "int"):
        raise InputError(f"{where}: {words(name)} is not a numeric model parameter{did_you_mean(str(name), numeric)}; "
                         "'peacesim params' lists them")
    lo = checked(p, low, where=where)
    hi = checked(p, high, where=where)
    if lo >= hi:
        raise InputError(f"{where}: {name} from {words(low, typed=True)} to {words(high, typed=True)} is not allowed; "
                         "the low end must be below the high end")
    return lo, hi


def _check_ranges(ranges: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    if not isinstance(ranges, dict) or not ranges:
        raise InputError("calibrate: ranges must name at least one parameter with its (low, high)")
    out = {}
    for name, pair in ranges.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InputError(f"calibration range {name} = {words(pair)} is not allowed; expected (low, high)")
        out[name] = check_range(name, pair[0], pair[1], where=f"calibration range {name}")
    return out


def _check_targets(targets: Sequence[CalibrationTarget]) -> tuple[CalibrationTarget, ...]:
    targets = tuple(targets)
    if not targets:
        raise InputError("calibrate: targets must hold at least one target")
    seen = set()
    for t in targets:
        if t.key in seen:
            raise InputError(f"calibration target {t.key!r}: two targets have this key; each needs its own")
        seen.add(t.key)
        for what in ("z", "obs_sd", "disc_sd"):
            if not math.isfinite(getattr(t, what)):
                raise InputError(f"calibration target {t.key}: {what} = {words(getattr(t, what))} is not allowed; "
                                 "expected a finite number")
        if t.obs_sd < 0 or t.disc_sd < 0 or t.obs_sd + t.disc_sd <= 0:
            raise InputError(f"calibration target {t.key}: obs_sd = {words(t.obs_sd)}, disc_sd = {words(t.disc_sd)} "
                             "are not allowed; expected numbers >= 0, not both 0")
    return targets


def _check_sizes(waves: Any, points: Any, replicates: Any, seed: Any, cutoff: Any) -> None:
    for name, v in (("waves", waves), ("points", points), ("replicates", replicates)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise InputError(f"calibrate: {name} = {words(v)} is not allowed; expected a whole number of at least 1")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"calibrate: seed = {words(seed)} is not allowed; expected a whole number >= 0")
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) or not math.isfinite(cutoff) or cutoff <= 0:
        raise InputError(f"calibrate: cutoff = {words(cutoff)} is not allowed; expected a number above 0")


def check_calibration(*, ranges: dict[str, tuple[float, float]] | None = None, waves: int = 3, points: int = 80,
                      replicates: int = 40, seed: int = 2026, cutoff: float = CUTOFF,
                      patterns: int = 0) -> dict[str, tuple[float, float]]:
    """Everything about a calibration that can be refused before it starts: the ranges against the
    registry, the sizes, every wave's number of runs against the budget, and, with ``patterns``,
    a calibrated parameter that a pattern's experiment sets or varies (the check could not judge a
    point on it). Returns the checked ranges; raises :class:`~peacesim.errors.InputError`."""
    from . import budget

    if ranges is not None and not isinstance(ranges, Mapping):
        raise InputError(f"calibrate: ranges = {words(ranges)} is not allowed; expected a mapping of parameter names "
                         "to (low, high), e.g. {'negotiation_rate': (0.02, 0.08)}")
    ranges = _check_ranges(dict(DEFAULT_RANGES if ranges is None else ranges))
    _check_sizes(waves, points, replicates, seed, cutoff)
    if isinstance(patterns, bool) or not isinstance(patterns, (int, np.integer)) or patterns < 0:
        raise InputError(f"calibrate: patterns = {words(patterns)} is not allowed; expected a whole number >= 0")
    for number in range(1, waves + 1):
        budget.check_runs(points, replicates * REPLICATE_GROWTH ** (number - 1), where=f"calibrate: wave {number}")
    if patterns:
        taken = sorted(set(ranges) & _set_by_patterns())
        if taken:
            raise InputError(f"calibrate: --patterns cannot judge points that set {', '.join(taken)}: the pattern "
                             "checks set or vary it themselves; calibrate it without --patterns")
    return ranges


def _set_by_patterns() -> set[str]:
    """The parameters the pattern checks' experiments set or vary (the women's-participation one too)."""
    from .validation import PATTERNS, _women_experiment

    names: set[str] = set()
    for raw in [p.build(20) for p in PATTERNS] + [_women_experiment(20, [1], 1, "reference")]:
        names |= set(raw.get("parameters", {})) | set(raw.get("vary", {}))
        for row in raw.get("design", []):
            names |= set(row)
    return names


# ------------------------------------------------------------------------------------ the designs
def _unit(points: np.ndarray, ranges: dict[str, tuple[float, float]]) -> np.ndarray:
    lo, hi = _bounds(ranges)
    return (np.asarray(points, dtype=float) - lo) / (hi - lo)


def _bounds(ranges: dict[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    return (np.array([float(ranges[k][0]) for k in ranges]), np.array([float(ranges[k][1]) for k in ranges]))


def _rounded(x: np.ndarray, names: list[str]) -> tuple:
    """A point as the design will hold it: integer parameters rounded, floats to :data:`DIGITS`."""
    return tuple(int(round(v)) if REGISTRY[k].kind == "int" else float(f"{v:.{DIGITS}g}") for k, v in zip(names, x))


def _distinct(candidates: np.ndarray, names: list[str], n: int) -> np.ndarray:
    """The first ``n`` candidates that differ once rounded (a design point may not repeat)."""
    kept, seen = [], set()
    for x in candidates:
        key = _rounded(x, names)
        if key not in seen:
            seen.add(key)
            kept.append(key)
        if len(kept) == n:
            break
    return np.array(kept, dtype=float).reshape(len(kept), len(names))


def first_wave(ranges: dict[str, tuple[float, float]], points: int, seed: int) -> np.ndarray:
    """``points`` Latin-hypercube points over ``ranges`` (rows in parameter units, rounded;
    points that coincide once rounded are kept once)."""
    names = list(ranges)
    lo, hi = _bounds(ranges)
    sample = qmc.LatinHypercube(d=len(names), seed=np.random.default_rng([seed, 1])).random(points)
    return _distinct(lo + sample * (hi - lo), names, points)


def next_wave(nroy: np.ndarray, ranges: dict[str, tuple[float, float]], points: int, seed: int,
              wave: int) -> np.ndarray:
    """``points`` new points drawn from the NROY points of the wave before (rows in parameter units).

    Half jitter NROY points chosen at random with a Gaussian whose covariance is the NROY points'
    covariance shrunk towards its diagonal (:data:`SHRINKAGE`) and scaled by Silverman's rule; half
    are uniform in the NROY points' bounding box. Points outside the ranges, or equal to one
    already drawn once rounded, are rejected. Deterministic for a ``seed`` and ``wave``."""
    names = list(ranges)
    lo, hi = _bounds(ranges)
    u = _unit(np.atleast_2d(nroy), ranges)
    n, d = u.shape
    if n == 0:
        raise ValueError("next_wave needs at least one NROY point")
    rng = np.random.default_rng([seed, wave])
    cov = np.cov(u, rowvar=False).reshape(d, d) if n > 1 else np.zeros((d, d))
    cov = (1 - SHRINKAGE) * cov + SHRINKAGE * np.diag(np.diag(cov))
    bandwidth = (4 / (n * (d + 2))) ** (1 / (d + 4))  # Silverman's rule of thumb
    cov = bandwidth ** 2 * cov + np.eye(d) * MIN_SPREAD ** 2
    box_lo, box_hi = u.min(axis=0), u.max(axis=0)
    narrow = box_hi - box_lo < 2 * MIN_SPREAD
    mid = (box_lo + box_hi) / 2
    box_lo = np.where(narrow, np.maximum(mid - MIN_SPREAD, 0.0), box_lo)
    box_hi = np.where(narrow, np.minimum(mid + MIN_SPREAD, 1.0), box_hi)
    n_jitter = (points + 1) // 2
    kept: list[tuple] = []
    seen: set[tuple] = set()
    for part, want in (("jitter", n_jitter), ("box", points - n_jitter)):
        got, tries = 0, 0
        while got < want and tries < 200 * max(want, 1):
            batch = 4 * (want - got)
            tries += batch
            if part == "jitter":
                centres = u[rng.integers(0, n, size=batch)]
                draws = centres + rng.multivariate_normal(np.zeros(d), cov, size=batch)
            else:
                draws = box_lo + rng.random((batch, d)) * (box_hi - box_lo)
            for x in draws:
                if got == want:
                    break
                if np.any(x < 0) or np.any(x > 1):
                    continue
                key = _rounded(lo + x * (hi - lo), names)
                if key in seen:
                    continue
                seen.add(key)
                kept.append(key)
                got += 1
    return np.array(kept, dtype=float).reshape(len(kept), d)


# ------------------------------------------------------------------------------------ one wave
@dataclass
class Wave:
    """One wave: its design run with ``replicates`` seeds at every point, and what it found."""

    number: int
    replicates: int
    master_seed: int
    folder: Path
    table: pd.DataFrame
    ran: int = 0
    skipped: int = 0
    #: the estimates behind the table, keyed by (design point, target key)
    estimates: dict[tuple[int, str], Estimate] = field(default_factory=dict, repr=False)

    @property
    def points(self) -> int:
        return len(self.table)

    @property
    def nroy(self) -> int:
        return int(self.table["nroy"].sum())

    @property
    def best(self) -> pd.Series:
        """The point with the smallest I_max (the lowest design point among equals)."""
        return self.table.sort_values(["I_max", "design_point"], kind="stable").iloc[0]


def evaluate(results: analysis.Results, names: list[str], targets: Sequence[CalibrationTarget], cutoff: float,
             wave: int = 1) -> tuple[pd.DataFrame, dict[tuple[int, str], Estimate]]:
    """Each design point's target estimates, ensemble sds, implausibilities, I_max and NROY
    verdict (one row a point), and the estimates themselves keyed by (design point, target key)."""
    runs = results.runs.drop_duplicates("design_point").sort_values("design_point")
    rows, estimates = [], {}
    for _, r in runs.iterrows():
        k = int(r["design_point"])
        row: dict[str, Any] = {"wave": wave, "design_point": k}
        row.update({n: r[n] for n in names})
        i_max = 0.0
        for t in targets:
            with np.errstate(invalid="ignore", divide="ignore"):  # resamples without an agreement give nan
                e = t.measure(results, {"design_point": k})
            estimates[k, t.key] = e
            ens = e.se
            if t.count is not None:
                floor = share_floor(e.value, t.count(results, {"design_point": k}))
                if math.isfinite(floor) and not (ens >= floor):
                    ens = floor
            i = implausibility(e.value, t.z, t.obs_sd, t.disc_sd, ens)
            row[t.key], row[f"{t.key}_sd"], row[f"I_{t.key}"] = e.value, ens, i
            i_max = max(i_max, i)
        row["I_max"] = i_max
        row["nroy"] = not_ruled_out(i_max, cutoff)
        rows.append(row)
    return pd.DataFrame(rows), estimates


def _master_seed(seed: int, wave: int) -> int:
    """Each wave's master seed, derived from the calibration seed (waves do not share seeds)."""
    return int(np.random.SeedSequence([seed, wave]).generate_state(1, dtype=np.uint64)[0] >> 1)


def _experiment(design: np.ndarray, names: list[str], wave: int, replicates: int, seed: int, months: int | None):
    rows = [dict(zip(names, _rounded(x, names))) for x in design]
    meta: dict[str, Any] = {"title": f"calibration wave {wave}", "scenario": "reference", "replicates": replicates,
                            "master_seed": _master_seed(seed, wave),
                            "question": "Which parameter values does history matching against the calibration "
                                        "targets not rule out?"}
    if months is not None:
        meta["months"] = months
    raw = {"experiment": meta, "design": rows}
    return experiment_from_dict(raw, where=f"calibration wave {wave}", default_name=f"calibration-wave-{wave}",
                                source_text=repr(sorted(raw.items(), key=str)))


# ------------------------------------------------------------------------------------ the result
@dataclass
class CalibrationResult:
    """What a calibration found: every wave's table, the final NROY region and the chosen point.

    ``chosen`` is None and ``message`` says why when a wave left no point standing."""

    ranges: dict[str, tuple[float, float]]
    targets: tuple[CalibrationTarget, ...]
    cutoff: float
    seed: int
    waves: list[Wave]
    region: pd.DataFrame
    chosen: dict[str, Any] | None
    chosen_estimates: dict[str, Estimate] = field(default_factory=dict)
    chosen_implausibility: dict[str, float] = field(default_factory=dict)
    message: str = ""
    out: Path | None = None
    months: int | None = None
    #: the best NROY points checked against the nine patterns (quick validation), one row each;
    #: empty when ``patterns`` was 0
    patterns: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: how the chosen point was chosen: "I_max" (the smallest) or "patterns" (of the best points
    #: whose nine effects point the stated way, the one with the most patterns holding)
    chosen_by: str = "I_max"

    @property
    def table(self) -> pd.DataFrame:
        """All points of all waves, one row each."""
        return pd.concat([w.table for w in self.waves], ignore_index=True)

    @property
    def report(self) -> Path | None:
        return self.out / "calibration.md" if self.out is not None else None

    def __repr__(self) -> str:
        # one line: the default would print every target, wave and table
        last = self.waves[-1] if self.waves else None
        where = f"; out={str(self.out)!r}" if self.out is not None else ""
        if self.chosen is None:
            found = "no point chosen"
        else:
            found = "chosen " + ", ".join(f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v!r}"
                                          for k, v in self.chosen.items())
        nroy = f"{last.nroy} of {last.points} points not ruled out in wave {last.number}" if last else "no wave"
        return (f"<CalibrationResult {len(self.ranges)} parameter{'s' if len(self.ranges) != 1 else ''}, "
                f"{len(self.waves)} wave{'s' if len(self.waves) != 1 else ''}: {nroy}; {found}{where}>")


def region(table: pd.DataFrame, ranges: dict[str, tuple[float, float]]) -> pd.DataFrame:
    """The NROY points of ``table`` summarised per parameter: min, 5%, median, 95%, max, and the
    share of the searched range between the 5% and 95% percentiles (``share_of_range``: the span
    of the middle 90% of the NROY values, the columns printed beside it; one row a parameter)."""
    nroy = table[table["nroy"].astype(bool)]
    rows = []
    for name, (lo, hi) in ranges.items():
        x = nroy[name].astype(float).to_numpy()
        if not len(x):
            rows.append({"parameter": name, "low": lo, "high": hi, "min": math.nan, "q05": math.nan,
                         "median": math.nan, "q95": math.nan, "max": math.nan, "share_of_range": 0.0})
            continue
        q05, med, q95 = np.percentile(x, [5, 50, 95])
        rows.append({"parameter": name, "low": lo, "high": hi, "min": x.min(), "q05": q05, "median": med, "q95": q95,
                     "max": x.max(), "share_of_range": (q95 - q05) / (hi - lo)})
    return pd.DataFrame(rows)


#: Points a wave needs, per parameter calibrated, before a wave without an NROY point suggests that the
#: ranges hold none: the rule of thumb of ten points a dimension for a space-filling design
#: (Loeppky, Sacks & Welch 2009). With fewer, the message asks for more points before wider ranges.
POINTS_PER_PARAMETER = 10


def _no_point_message(wave: Wave, targets: Sequence[CalibrationTarget], cutoff: float, parameters: int) -> str:
    """What a wave without an NROY point says: about the points sampled, never about every point of
    the ranges, and with few points for the parameters, to sample more before widening the ranges."""
    t = wave.table
    best = wave.best
    binding = max(targets, key=lambda g: best[f"I_{g.key}"])
    lowest = {g.key: float(t[f"I_{g.key}"].min()) for g in targets}
    head = (f"The only point sampled in wave {wave.number} does not meet the targets: its I_max is above {cutoff:g}"
            if wave.points == 1 else
            f"None of the {wave.points} points sampled in wave {wave.number} meets the targets: none has "
            f"I_max <= {cutoff:g}")
    text = (f"{head} ({wave.replicates} replicates a point). The closest, design point "
            f"{int(best['design_point'])}, has I_max = {best['I_max']:.2f}, set by the {binding.name} "
            f"({binding.fmt(best[binding.key])} against {binding.fmt(binding.z)}). ")
    alone = [g for g in targets if lowest[g.key] > cutoff]
    if not alone:
        hardest = max(targets, key=lambda g: lowest[g.key])
        return text + (f"Every target is met at some point, but not all at one; the hardest is the {hardest.name} "
                       f"(smallest implausibility {lowest[hardest.key]:.2f}).")
    text += "No sampled point comes within the cutoff on " + "; ".join(
        f"the {g.name} (smallest implausibility {lowest[g.key]:.2f})" for g in alone) + ". "
    flat = [g for g in alone if (t[f"{g.key}_sd"].fillna(0) == 0).all()]
    if flat:
        text += ("Its estimate did not vary over the replicates at any point (every replicate gave the same), so the "
                 "model's own noise is missing from its implausibility: run more replicates before concluding; if it "
                 "still holds, widen the ranges or calibrate other parameters for it.") if len(flat) == 1 else (
                 "Their estimates did not vary over the replicates at any point, so the model's own noise is missing "
                 "from their implausibility: run more replicates before concluding.")
    elif wave.points < POINTS_PER_PARAMETER * parameters:
        text += (f"{wave.points} {'point is' if wave.points == 1 else 'points are'} few for {parameters} "
                 f"{'parameter' if parameters == 1 else 'parameters'} (a space-filling design needs about "
                 f"{POINTS_PER_PARAMETER} a parameter, {POINTS_PER_PARAMETER * parameters} here; Loeppky, Sacks & "
                 "Welch 2009): sample more points (--points) before concluding that the ranges hold none; if none "
                 "still meets it, widen the ranges or calibrate other parameters for it.")
    else:
        text += "Widen the ranges or calibrate other parameters for it."
    return text


# ------------------------------------------------------------------------------------ the folder
#: The record of a calibration's settings and outputs, beside its report: a calibration in the same
#: folder with other settings is refused (:func:`check_folder`).
RECORD = "calibration.json"
#: The tables, report and figure every calibration writes into its folder.
OUTPUT_FILES = ("calibration.md", "nroy.png", "waves.csv")
#: The pattern checks' table and the folder of their runs (``--patterns``).
PATTERNS_TABLE = "patterns.csv"
PATTERNS_FOLDER = "patterns"
_WAVE = re.compile(r"wave-([1-9][0-9]*)")
#: What a calibration by Latin-hypercube filtering (an earlier version of ``peacesim calibrate``) wrote.
_CANDIDATE = re.compile(r"candidates\.csv|candidate_[0-9]{3,}")
_FOLDERS = (_WAVE, re.compile(PATTERNS_FOLDER), re.compile(r"candidate_[0-9]{3,}"))
#: The order in which settings are compared, so that a refusal names the one a user most likely changed.
_ORDER = ("scenario", "range ", "parameters", "waves", "points", "replicates", "seed", "cutoff", "months", "target ")
_FRESH = "use --fresh to start over (it removes only peacesim's files) or --out to choose another folder"


def _known(name: str) -> bool:
    """A name a calibration writes at the top of its folder."""
    return name in (RECORD, *OUTPUT_FILES, PATTERNS_TABLE, PATTERNS_FOLDER) or bool(
        _WAVE.fullmatch(name) or _CANDIDATE.fullmatch(name))


def _is_folder_name(name: str) -> bool:
    return any(p.fullmatch(name) for p in _FOLDERS)


def _function_name(fn: Callable | None) -> str | None:
    if fn is None:
        return None
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', type(fn).__name__)}"


def settings(*, ranges: dict[str, tuple[float, float]], given: Mapping[str, Any] | None,
             targets: Sequence[CalibrationTarget], waves: int, points: int, replicates: int, seed: int,
             cutoff: float, months: int | None, typed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Everything that decides a calibration's results, checked (``ranges``, ``targets``, ``months``)
    and as given (``given``: the ranges as the caller gave them, None for the defaults), in the form
    the folder's record keeps: ``settings`` (one entry a setting, compared) and ``typed`` (how each
    was given, for messages; ``typed`` replaces them where the command line knows what was typed,
    e.g. ``{"waves": "--waves 2", "range pain_decay": "--param pain_decay:0.02:0.07"}``)."""
    import json

    values: dict[str, Any] = {"scenario": "reference"}
    texts: dict[str, str] = {"scenario": "the reference scenario"}
    for name, (lo, hi) in ranges.items():
        values[f"range {name}"] = [lo, hi]
        if given is None:
            texts[f"range {name}"] = f"the default range of {name} ({lo:g} to {hi:g})"
        else:
            raw = given[name]
            texts[f"range {name}"] = f"ranges[{name!r}] = ({words(raw[0])}, {words(raw[1])})"
    values["parameters"] = list(ranges)
    texts["parameters"] = f"the parameters in the order {', '.join(ranges)}"
    for key, v in (("waves", waves), ("points", points), ("replicates", replicates), ("seed", seed)):
        values[key] = int(v)
        texts[key] = f"{key} = {words(v)}"
    values["cutoff"] = float(cutoff)
    texts["cutoff"] = f"cutoff = {words(cutoff)}"
    # no months is the scenario's horizon: the same runs as that horizon given
    from .scenario import load_scenario

    horizon = int(load_scenario("reference").params["months"])
    values["months"] = horizon if months is None else int(months)
    texts["months"] = (f"the scenario's horizon ({horizon} months)" if months is None
                       else f"months = {words(months)}")
    for t in targets:
        values[f"target {t.key}"] = {"z": float(t.z), "obs_sd": float(t.obs_sd), "disc_sd": float(t.disc_sd),
                                     "measure": _function_name(t.measure), "count": _function_name(t.count)}
        texts[f"target {t.key}"] = (f"target {t.key} (z = {t.z:g}, obs_sd = {t.obs_sd:g}, disc_sd = {t.disc_sd:g}, "
                                    f"measured by {_function_name(t.measure)})")
    texts.update({k: str(v) for k, v in (typed or {}).items() if k in values})
    return {"settings": json.loads(json.dumps(values)), "typed": texts}


def _rank(key: str) -> int:
    return next((i for i, p in enumerate(_ORDER) if key == p or (p.endswith(" ") and key.startswith(p))), len(_ORDER))


def _absent(key: str) -> str:
    kind, _, name = key.partition(" ")
    return f"no {kind} for {name}" if kind == "range" else f"no {key}" if name else f"no {key} recorded"


def _read_record(out: Path) -> dict[str, Any] | None:
    """The folder's record of an earlier calibration, or None when there is none; refused in one
    line when it cannot be read."""
    import json

    path = out / RECORD
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise fsutil.storage_error(exc, path, "read") from None
    try:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("settings"), dict):
            raise ValueError("not a record of a calibration's settings")
    except (ValueError, UnicodeDecodeError) as exc:
        said = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: unreadable ({fsutil.cut(said, 80)}), so peacesim cannot tell which settings made "
                         f"the calibration there; {_FRESH}") from None
    return data


def _ours(out: Path, *, temporary: bool = True) -> list[str]:
    """The names at the top of ``out`` that a calibration by peacesim wrote: those the marker lists,
    or, in a folder from before the list, every name a calibration writes. Folders are never links.
    With ``temporary``, the temporary files of a write cut short are listed too."""
    marker = fsutil.read_marker(out) or {}
    listed = marker.get("files")
    present = fsutil.entries(out)
    if isinstance(listed, list):
        names = {n for n in listed if isinstance(n, str) and _known(n)}
    else:
        names = {n for n in present if _known(n)}
    ours = []
    for n in present:
        p = out / n
        if n in names and not (_is_folder_name(n) and (_linked(p) or not p.is_dir())):
            ours.append(n)
        elif temporary and fsutil.is_temp(n) and (_known(n[1:].rsplit(".", 2)[0])
                                                  or n[1:].rsplit(".", 2)[0] == fsutil.MARKER):
            ours.append(n)
    return ours


def _note(out: Path, *names: str, gone: Sequence[str] = ()) -> None:
    """Add ``names`` to the inventory in the folder's marker (before they are written: a calibration
    cut short leaves files known to be peacesim's) and take ``gone`` off it."""
    marker = fsutil.read_marker(out) or {}
    now = sorted((set(_ours(out, temporary=False)) | set(names)) - set(gone))
    if marker.get("files") != now:
        fsutil.write_marker(out, "calibration", **{k: v for k, v in marker.items() if k not in ("peacesim", "files")},
                            files=now)


def _remove_folder(folder: Path, exp) -> None:
    """Remove a folder a calibration wrote (a wave's runs, the pattern checks' runs): each sweep in it
    is cleared as ``peacesim sweep --fresh`` clears it, then the folders left empty go. A file peacesim
    did not write stays, with the folders (and their markers) that hold it."""
    from .store import ResultStore

    if _linked(folder) or not folder.is_dir():
        return
    kind, _ = fsutil.owner(folder)
    if kind == "sweep":
        store = ResultStore(folder, exp)  # (clearing reads no experiment: any will do)
        store.open(fresh=True)
        store.close()
        fsutil.remove_empty_dir(folder / "parts")
    else:
        for child in sorted(folder.iterdir()):
            if child.is_dir() and not _linked(child):
                _remove_folder(child, exp)
    if kind is not None and fsutil.entries(folder) == [fsutil.MARKER]:
        fsutil.remove_files([folder / fsutil.MARKER, folder / fsutil.LOCK])
    fsutil.remove_empty_dir(folder)


def _remove(out: Path, names: Sequence[str], exp) -> None:
    """Remove what a calibration wrote under ``names`` at the top of ``out``, and take them off the
    inventory."""
    if not names:
        return
    # the record of the settings goes last: a removal cut short leaves it, with what it describes
    fsutil.remove_files([out / n for n in names if not _is_folder_name(n) and n != RECORD])
    for n in names:
        if _is_folder_name(n):
            _remove_folder(out / n, exp)
    if RECORD in names:
        fsutil.remove_files([out / RECORD])
    _note(out, gone=[n for n in names if not (out / n).exists()])


def _linked(path: Path) -> bool:
    """A link or (on Windows) a junction: a folder elsewhere, never cleared as this folder's."""
    return path.is_symlink() or path.is_junction()


def check_folder(out: str | Path, record: dict[str, Any], *, fresh: bool = False, waves: int = 1,
                 patterns: int = 0) -> None:
    """Refuse, in one line and before anything is written, a folder whose calibration was made with
    other settings than ``record`` (:func:`settings`), one that holds a calibration whose settings
    were not recorded, or one where a file peacesim did not write has a name the calibration writes.
    With ``fresh`` only the last is refused: everything peacesim wrote there is about to go."""
    out = Path(out)
    if not out.is_dir():
        return
    ours = set(_ours(out, temporary=False))
    if not fresh:
        old = _read_record(out)
        if old is None:
            if ours - {RECORD}:
                raise InputError(f"--out {out}: holds a calibration whose settings were not recorded ({RECORD} is "
                                 "missing: made by an earlier version of peacesim, or the file was removed), so "
                                 f"peacesim cannot tell whether it was made with these; {_FRESH}")
        else:
            was, now = old["settings"], record["settings"]
            said = old.get("typed") if isinstance(old.get("typed"), dict) else {}
            for key in sorted(dict.fromkeys([*was, *now]), key=_rank):
                if key in was and key in now and was[key] == now[key]:
                    continue
                if key == "waves" and isinstance(was.get(key), int) and isinstance(now.get(key), int) \
                        and now[key] > was[key]:
                    continue  # more waves: the stored ones are this calibration's first waves, reused
                before = str(said.get(key, words(was[key]))) if key in was else _absent(key)
                after = record["typed"].get(key, words(now[key])) if key in now else _absent(key)
                raise InputError(f"--out {out}: holds a calibration made with {fsutil.cut(before, 120)}; this one "
                                 f"asks for {fsutil.cut(after, 120)}; use --fresh to replace it (only peacesim's "
                                 "files are removed) or --out to choose another folder")
    writes = [RECORD, *OUTPUT_FILES, *(f"wave-{n}" for n in range(1, waves + 1))]
    if patterns:
        writes += [PATTERNS_TABLE, PATTERNS_FOLDER]
    for name in writes:
        p = out / name
        if (p.exists() or p.is_symlink()) and name not in ours:
            raise InputError(f"{p}: exists and was not written by peacesim; move it away and run the same command "
                             "again")


def _write_record(out: Path, data: dict[str, Any]) -> None:
    import json

    from .store import json_default

    fsutil.atomic_write(out / RECORD, json.dumps(data, indent=1, default=json_default) + "\n")


# ------------------------------------------------------------------------------------ calibrate
def calibrate(*, ranges: dict[str, tuple[float, float]] | None = None,
              targets: Sequence[CalibrationTarget] | None = None, waves: int = 3, points: int = 80,
              replicates: int = 40, seed: int = 2026, cutoff: float = CUTOFF, out: str | Path = "results/calibration",
              executor: str = "processes", workers: int | None = None, progress: bool = False,
              fresh: bool = False, months: int | None = None, patterns: int = 0,
              typed: Mapping[str, str] | None = None, announce: Callable[[], None] | None = None) -> CalibrationResult:
    """Iterated history matching of the reference scenario against ``targets``.

    With ``patterns`` > 0, the last wave's ``patterns`` NROY points of smallest I_max are then run
    through the quick validation of the nine patterns (:func:`peacesim.validation.validate`, the
    same seeds at every point), and the chosen point is, of those whose nine effects all point the
    stated way, the one with the most patterns holding at that size, the smaller I_max among equals
    (:func:`pick_by_patterns`; pattern-oriented modelling uses qualitative patterns to filter
    parameter sets: Grimm et al. 2005; Railsback & Grimm 2019). Without ``patterns``, or if none
    of them has all nine pointing the stated way, it is the NROY point of smallest I_max.

    Wave 1 runs ``points`` Latin-hypercube points over ``ranges`` with ``replicates`` seeds each
    (the same seeds at every point); each later wave draws ``points`` new points from the NROY
    points of the wave before and runs them with :data:`REPLICATE_GROWTH` times the replicates.
    A wave without an NROY point stops the calibration (``message`` says which target could not
    be met). ``months`` shortens the runs' horizon (default: the scenario's), which changes what
    the share reaching agreement means.

    The folder ``out``: waves are stored in ``out/wave-N`` by the experiment runner, the pattern
    checks' runs in ``out/patterns``; the call writes ``out/calibration.json`` (the settings, what
    was written, the chosen point), ``out/waves.csv``, ``out/calibration.md`` and ``out/nroy.png``
    (and ``out/patterns.csv`` with ``patterns``; a call without them removes an earlier one). A
    second call with the same settings (ranges, targets, waves, points, replicates, seed, cutoff,
    months) reuses every stored run (a wave the model has changed for since is run again, said in one
    line on standard error with the reason); a call
    with other settings is refused, and ``fresh=True`` first removes everything a calibration by
    peacesim wrote in the folder (nothing else) and runs every wave again. ``typed`` says how the
    settings were given (:func:`settings`), for the refusal; ``announce`` is called once the folder
    is checked, before any run starts.

    Raises :class:`~peacesim.errors.InputError` for a range outside the registry's bounds, an
    unknown or non-numeric parameter, sizes below 1, or a folder holding a calibration with other
    settings, before anything is written.
    """
    import peacesim
    from .params import check_flags

    check_flags(fresh=fresh, progress=progress)
    given = ranges
    ranges = check_calibration(ranges=ranges, waves=waves, points=points, replicates=replicates, seed=seed,
                               cutoff=cutoff, patterns=patterns)
    targets = _check_targets(DEFAULT_TARGETS if targets is None else targets)
    if months is not None:
        months = checked(REGISTRY["months"], months, where="calibrate")
        from .scenario import load_scenario

        if months == load_scenario("reference").params["months"]:
            months = None  # the scenario's own horizon: the same runs (and waves) as none given
    names = list(ranges)
    design = first_wave(ranges, points, seed)
    exp = _experiment(design, names, 1, replicates, seed, months)  # refuses a bad design before writing
    out = fsutil.check_out_path(out)
    record = settings(ranges=ranges, given=None if given is None else dict(given), targets=targets, waves=waves,
                      points=points, replicates=replicates, seed=seed, cutoff=cutoff, months=months, typed=typed)
    fsutil.claim(out, "calibration")  # a folder of peacesim's, or new: no file of the user's is replaced
    check_folder(out, record, fresh=fresh, waves=waves, patterns=patterns)  # before anything is written
    fsutil.claim_and_mark(out, "calibration")
    done: list[Wave] = []
    message = ""
    with fsutil.FolderLock(out, "calibration"), _StopRecorded(out) as stop:
        if fresh:
            _remove(out, _ours(out), exp)
        check_folder(out, record, fresh=fresh, waves=waves, patterns=patterns)  # again, now nobody else writes
        data: dict[str, Any] = {"schema": "peacesim calibration", "peacesim_version": peacesim.__version__,
                                **record, "patterns": int(patterns), "status": "running",
                                "started": fsutil.now()}
        _note(out, RECORD)
        _write_record(out, data)
        stop.data = data
        if announce is not None:
            announce()
        redone = False  # a wave's stored runs were run again: the waves after it have other points
        for number in range(1, waves + 1):
            reps = replicates * REPLICATE_GROWTH ** (number - 1)
            if number > 1:
                nroy = done[-1].table.loc[done[-1].table["nroy"], names].to_numpy(dtype=float)
                exp = _experiment(next_wave(nroy, ranges, points, seed, number), names, number, reps, seed, months)
            folder = out / f"wave-{number}"
            _note(out, folder.name)
            # Stored runs are reused only if the same model made them for the same wave; the user is
            # told why a wave's stored runs are run again
            why = None if fresh else stale_reason(folder, exp)
            if why is not None:
                if number > 1 and redone and "model has changed" not in why:
                    why = f"its points are drawn from wave {number - 1}'s results, which were made again"
                print(f"calibration: wave {number} in {folder} is run again: {why}", file=sys.stderr, flush=True)
                redone = True
            res = run_experiment(exp, executor=executor, workers=workers, out=folder, progress=progress,
                                 fresh=fresh or why is not None)
            results = analysis.load_results(folder)
            table, estimates = evaluate(results, names, targets, cutoff, number)
            wave = Wave(number, reps, exp.master_seed, folder, table, res.ran, res.skipped, estimates)
            done.append(wave)
            if not wave.nroy:
                message = _no_point_message(wave, targets, cutoff, len(names))
                break
        last = done[-1]
        result = CalibrationResult(ranges, targets, float(cutoff), int(seed), done, region(last.table, ranges), None,
                                   message=message, out=out, months=months)
        outputs = list(OUTPUT_FILES)
        if last.nroy:
            best = last.best
            if patterns:
                _note(out, PATTERNS_FOLDER, PATTERNS_TABLE)
                result.patterns = check_patterns(last, names, patterns, out / PATTERNS_FOLDER, executor=executor,
                                                 workers=workers, progress=progress)
                try:
                    fsutil.atomic_write(out / PATTERNS_TABLE, result.patterns.to_csv(index=False))
                except StorageError as exc:
                    raise _runs_kept(exc, out) from None
                outputs.append(PATTERNS_TABLE)
                k = pick_by_patterns(result.patterns)
                if k is not None:
                    best = last.table.set_index("design_point").loc[k].copy()
                    best["design_point"] = k
                    result.chosen_by = "patterns"
            k = int(best["design_point"])
            result.chosen = {n: _plain(best[n]) for n in names}
            result.chosen_estimates = {t.key: last.estimates[k, t.key] for t in targets}
            result.chosen_implausibility = {t.key: float(best[f"I_{t.key}"]) for t in targets}
            result.chosen_implausibility["I_max"] = float(best["I_max"])
        # what an earlier calibration wrote and this one did not is not left to be read as this one's:
        # the waves it did not reach, and a pattern table it did not make (the pattern checks' runs
        # stay in patterns/, to be reused)
        try:
            ours = _ours(out, temporary=False)
            _remove(out, [n for n in ours if (_WAVE.fullmatch(n) and int(n.split("-")[1]) > len(done))
                          or (n == PATTERNS_TABLE and n not in outputs)], exp)
            _note(out, *OUTPUT_FILES)
            fsutil.atomic_write(out / "waves.csv", result.table.to_csv(index=False))
            fig = nroy_figure(last.table, ranges, chosen=result.chosen)
            fsutil.atomic_write(out / "nroy.png", lambda p: fig.savefig(p, dpi=110, format="png"))
            write_report(result)
            data.update(status="complete", finished=fsutil.now(), waves=[w.folder.name for w in done],
                        outputs=sorted(outputs), chosen=result.chosen,
                        chosen_by=result.chosen_by if result.chosen is not None else None, message=message)
            _write_record(out, data)
        except StorageError as exc:
            raise _runs_kept(exc, out) from None
    return result


class _StopRecorded:
    """Records in calibration.json that a calibration stopped before the end (Ctrl-C: "interrupted";
    anything else: "stopped", with the error), so that it does not say "running" for ever."""

    def __init__(self, out: Path) -> None:
        self.out, self.data = out, None

    def __enter__(self) -> _StopRecorded:
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        from .sweep import SweepInterrupted

        if kind is None or self.data is None or self.data.get("status") != "running":
            return False
        interrupted = issubclass(kind, (KeyboardInterrupt, SweepInterrupted))
        self.data.update(status="interrupted" if interrupted else "stopped", stopped=fsutil.now())
        if not interrupted:
            self.data["error"] = " ".join(str(exc).split()) or kind.__name__
        try:
            _write_record(self.out, self.data)
        except Exception:  # a full disk, say: the error being raised says why
            pass
        return False


def _runs_kept(err: StorageError, out: Path) -> StorageError:
    """A file-system fault while the tables, figure and report are written, after every run was
    stored: one line that says the runs are kept and what running the same command again does."""
    from .sweep import _HINTS

    if err.advised:
        return err
    hint = _HINTS.get(err.errno or 0, "fix the cause")
    return StorageError(f"{err}; every run of the calibration is saved in {out}, only its tables, figure and report "
                        f"could not be written: {hint} and run the same command again (the runs are not run again)",
                        err.errno)


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def pointing_the_stated_way(check) -> bool:
    """Whether the point estimates of every contrast a pattern requires lie on the stated side
    (pattern 1: inside 20-45%; ``Check.pointing``). A check the scenario cannot carry does not
    count: the filter cannot judge a point on a pattern it did not measure."""
    if check.expected == "n/a":
        return False
    return bool(check.pointing)


def pick_by_patterns(checked: pd.DataFrame) -> int | None:
    """The design point to choose among points checked against the patterns (:func:`check_patterns`):
    of those whose every effect points the stated way, the one with the most patterns holding, the
    smaller I_max among equals; None if no point has every effect pointing the stated way."""
    if not len(checked):
        return None
    passing = checked[checked["directions"] == checked["checked"]]
    if not len(passing):
        return None
    return int(passing.sort_values(["held", "I_max"], ascending=[False, True], kind="stable").iloc[0]["design_point"])


def check_patterns(wave: Wave, names: list[str], n: int, out: Path, *, executor: str = "processes",
                   workers: int | None = None, progress: bool = False) -> pd.DataFrame:
    """The quick validation of the nine patterns at the ``n`` NROY points of ``wave`` with the
    smallest I_max: one row a point, with its parameters, I_max, each pattern's effect and
    whether it points the stated way and holds, and the counts."""
    from .validation import validate

    nroy = wave.table[wave.table["nroy"].astype(bool)].sort_values(["I_max", "design_point"], kind="stable").head(n)
    rows = []
    for _, r in nroy.iterrows():
        k = int(r["design_point"])
        overrides = {m: _plain(r[m]) for m in names}
        checks = validate(quick=True, out=out / f"point-{k}", executor=executor, workers=workers, progress=progress,
                          overrides=overrides, figures=False)
        row: dict[str, Any] = {"design_point": k, **overrides, "I_max": float(r["I_max"])}
        for c in checks:
            row[f"p{c.number}_effect"] = c.estimate.value
            row[f"p{c.number}_direction"] = pointing_the_stated_way(c)
            row[f"p{c.number}_holds"] = bool(c.passed)
        row["checked"] = len(checks)
        row["directions"] = sum(pointing_the_stated_way(c) for c in checks)
        row["held"] = sum(bool(c.passed) for c in checks)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ the figure
_NROY_COLOUR = "tab:blue"
_OUT_COLOUR = "0.7"


@as_written
def pair_scatter(table: pd.DataFrame, x: str, y: str, *, ranges: dict[str, tuple[float, float]] | None = None,
                 chosen: dict[str, Any] | None = None, ax: Axes | None = None) -> Axes:
    """Points of one wave on two parameters (or a parameter and ``I_max``): ruled out in grey,
    NROY in blue, the chosen point as a star. Returns the axes."""
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(4, 4), layout="constrained").add_subplot()
    keep = table["nroy"].astype(bool)
    ax.scatter(table.loc[~keep, x], table.loc[~keep, y], s=12, c=_OUT_COLOUR, label="ruled out")
    ax.scatter(table.loc[keep, x], table.loc[keep, y], s=14, c=_NROY_COLOUR, label="not ruled out yet")
    if chosen is not None and x in chosen and y in chosen:
        ax.scatter([chosen[x]], [chosen[y]], s=120, marker="*", c="tab:red", edgecolors="k", linewidths=0.5,
                   label="chosen point", zorder=3)
    for name, setter in ((x, ax.set_xlim), (y, ax.set_ylim)):
        if ranges and name in ranges:
            lo, hi = ranges[name]
            setter(lo - 0.02 * (hi - lo), hi + 0.02 * (hi - lo))
    return ax


@as_written
def nroy_figure(table: pd.DataFrame, ranges: dict[str, tuple[float, float]], *, chosen: dict[str, Any] | None = None,
                cutoff: float = CUTOFF) -> Figure:
    """A scatter matrix of one wave's points over the calibrated parameters (the lower triangle),
    NROY in blue and ruled out in grey; on the diagonal each parameter against I_max with the
    cutoff. Returns the figure."""
    from matplotlib.figure import Figure

    names = list(ranges)
    d = len(names)
    size = max(2.2 * d, 4.5)
    fig = Figure(figsize=(size, size), layout="constrained")
    axes = np.atleast_2d(fig.subplots(d, d, squeeze=False))
    finite = table["I_max"].replace(np.inf, np.nan)
    top = max(float(finite.max()) if finite.notna().any() else cutoff, cutoff) * 1.1
    shown = table.assign(I_max=table["I_max"].clip(upper=top))
    for i, y in enumerate(names):
        for j, x in enumerate(names):
            ax = axes[i, j]
            if j > i:
                ax.set_axis_off()
                continue
            if i == j:
                pair_scatter(shown, x, "I_max", ranges=ranges, ax=ax)
                ax.axhline(cutoff, color="k", lw=0.8, ls="--")
                ax.set_ylim(0, top)
                ax.set_ylabel("I_max")
                ax.set_xlabel(x)
            else:
                pair_scatter(table, x, y, ranges=ranges, chosen=chosen, ax=ax)
                ax.set_ylabel(y if j == 0 else "")
                ax.set_xlabel(x if i == d - 1 else "")
            ax.tick_params(labelsize=7)
            ax.xaxis.label.set_size(8)
            ax.yaxis.label.set_size(8)
    handles, labels = axes[1 if d > 1 else 0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=3, fontsize=8)
    wave = int(table["wave"].iloc[0]) if len(table) else 0
    fig.suptitle(f"Wave {wave}: {int(table['nroy'].sum())} of {len(table)} points not ruled out "
                 f"(I_max <= {cutoff:g})", fontsize=10)
    return fig


# ------------------------------------------------------------------------------------ the report
def num_text(v: float) -> str:
    """A number to four significant digits, or '-' where there is none."""
    return "-" if not math.isfinite(v) else f"{v:.4g}"


def write_report(result: CalibrationResult) -> Path:
    """``calibration.md``: the method and why, the targets, the waves, the final region, the chosen
    point and how to make it the defaults."""
    out = Path(result.out or ".")
    names = list(result.ranges)
    horizon = f"{result.months} months (shortened)" if result.months else "the scenario's horizon"
    lines = ["# peacesim calibration: iterated history matching", "",
             "## Method", "",
             textwrap.fill(
                 f"The reference scenario is run at points of the parameter ranges below, each point with the same "
                 f"seeds (common random numbers), for {horizon}. For each target k, the implausibility of a point x "
                 "is I_k(x) = |f_k(x) - z_k| / sqrt(obs_sd_k² + disc_sd_k² + ens_sd_k(x)²): the distance between the "
                 "model's estimate f_k(x) and the observed value z_k, in units of the uncertainty of the observation "
                 "(obs_sd), the model's discrepancy (disc_sd: how far even the best parameters may be from reality) "
                 "and the model's own randomness at x (ens_sd: the bootstrap standard error of f_k(x) over the "
                 f"replicates). A point is not ruled out yet (NROY) when I_max = max_k I_k <= {result.cutoff:g} "
                 "(Pukelsheim's three-sigma rule). A target that cannot be computed at a point (no agreement) "
                 "rules it out.", 100), "",
             textwrap.fill(
                 "Wave 1 is a Latin hypercube over the ranges. Each later wave draws new points from the NROY points "
                 "of the wave before (half by jittering them with a Gaussian of their shrunken covariance, half "
                 f"uniformly in their bounding box) and runs them with {REPLICATE_GROWTH} times the replicates, so "
                 "the final region is judged with less noise (Craig et al. 1997; Vernon, Goldstein & Bower 2010; "
                 "Andrianakis et al. 2015).", 100), "",
             textwrap.fill(
                 "Why history matching and not ABC-SMC: the targets are literature estimates and plausibility "
                 "ranges, not data with a likelihood. The implausibility measure has explicit terms for the "
                 "observation's uncertainty, the model's discrepancy and the model's stochastic variance, and the "
                 "answer is the region of parameter space that is not ruled out, not a posterior conditional on "
                 "an arbitrary distance and tolerance schedule. The region is what the targets cannot exclude; "
                 "it is not a probability distribution over the parameters.", 100), "",
             "## Targets", "",
             "| target | z | obs sd | discrepancy sd | source |", "|---|---|---|---|---|"]
    for t in result.targets:
        lines.append(f"| {t.name} | {t.z:g}{t.unit} | {t.obs_sd:g} | {t.disc_sd:g} | {t.source} |")
    lines += ["", "## Waves", "",
              "| wave | points | replicates a point | runs (run now, reused) | master seed | NROY | smallest I_max |",
              "|---|---|---|---|---|---|---|"]
    for w in result.waves:
        lines.append(f"| {w.number} | {w.points} | {w.replicates} | {w.points * w.replicates} ({w.ran}, {w.skipped}) | "
                     f"{w.master_seed} | {w.nroy} | {w.best['I_max']:.2f} |")
    last = result.waves[-1]
    lines += ["", "Every point with its estimates, ensemble sds and implausibilities: `waves.csv`; the runs of wave N: "
              "`wave-N/` (a sweep's results folder, readable with `peacesim.analysis.load_results`); the settings "
              f"and what was written: `{RECORD}`.", ""]
    if result.message:
        lines += ["## No sampled point meets the targets", "", textwrap.fill(result.message, 100), ""]
    lines += [f"## Region not ruled out (wave {last.number}: {last.nroy} of {last.points} points)", "",
              "| parameter | range searched | min | 5% | median | 95% | max | share of the range, 5-95% |",
              "|---|---|---|---|---|---|---|---|"]
    for _, r in result.region.iterrows():
        cells = " | ".join(num_text(r[k]) for k in ("min", "q05", "median", "q95", "max"))
        lines.append(f"| `{r['parameter']}` | {num_text(r['low'])}-{num_text(r['high'])} | {cells} | "
                     f"{r['share_of_range']:.0%} |")
    lines += ["", textwrap.fill(
        "The share of the range is the span from the 5% to the 95% percentile of the NROY values (the middle 90% "
        "of them) over the range searched: a parameter that keeps most of its range is not pinned down by these "
        "targets.", 100), ""]
    if result.chosen is not None:
        best = last.best
        if len(result.patterns):
            pt = result.patterns
            lines += ["## The nine patterns at the best points", "",
                      textwrap.fill(f"The {len(pt)} NROY points of wave {last.number} with the smallest I_max, each run "
                                    "through the quick validation of the nine patterns on the same seeds: how many "
                                    "effects point the stated way and how many hold at that size (95% interval on "
                                    "the stated side). The chosen point is, of those whose nine effects all point the "
                                    "stated way, the one with the most patterns holding (the smaller I_max among "
                                    "equals): patterns as filters of parameter sets, Grimm et al. 2005.", 100), "",
                      "| design point | I_max | pointing the stated way | holding at quick size |", "|---|---|---|---|"]
            for _, r in pt.iterrows():
                lines.append(f"| {int(r['design_point'])} | {r['I_max']:.2f} | {int(r['directions'])} of "
                             f"{int(r['checked'])} | {int(r['held'])} |")
            lines += ["", "Each point's effects: `patterns.csv`.", ""]
        how = ("of the points above whose nine effects point the stated way, the one with the most patterns holding"
               if result.chosen_by == "patterns"
               else "the one with the smallest I_max" + (" (none of the points above has all nine effects pointing the "
                                                          "stated way)" if len(result.patterns) else ""))
        lines += ["## Chosen point", "",
                  textwrap.fill(f"Among the NROY points of wave {last.number}, {how} (I_max "
                                f"{result.chosen_implausibility.get('I_max', best['I_max']):.2f}), on "
                                f"{last.replicates} replicates:", 100), "",
                  "| parameter | value | default now |", "|---|---|---|"]
        for n in names:
            lines.append(f"| `{n}` | {result.chosen[n]:g} | {REGISTRY[n].default:g} |")
        lines += ["", "| target | estimate [95% interval] | z | implausibility |", "|---|---|---|---|"]
        for t in result.targets:
            e = result.chosen_estimates[t.key]
            lines.append(f"| {t.name} | {t.fmt(e.value)} [{e.low:.3g}, {e.high:.3g}] | {t.z:g}{t.unit} | "
                         f"{result.chosen_implausibility[t.key]:.2f} |")
        sets = " ".join(f"--set {n}={result.chosen[n]:g}" for n in names)
        lines += ["", "### Making it the defaults", "",
                  "One run at this point, to see it:", "", "```console", f"$ .venv/bin/peacesim run reference --seed 1 {sets}",
                  "```", "",
                  textwrap.fill(
                      "Each parameter's default is declared once, in the registry in `peacesim/params.py` (the "
                      "reference scenario takes the registry's defaults). Change the default of each parameter "
                      "above there, regenerate the golden regression (`.venv/bin/python tests/regenerate_golden.py`), "
                      "and run the full validation (`make validate`) to check that the nine patterns still hold "
                      "and the quantitative targets lie in their ranges at the new defaults.", 100), ""]
    lines += ["## Figure", "", f"![Wave {last.number}: points not ruled out and ruled out](nroy.png)", "",
              textwrap.fill("Below the diagonal, each panel shows two parameters: points not ruled out in blue, "
                            "ruled out in grey, the chosen point as a red star. On the diagonal, each parameter "
                            "against I_max, with the cutoff dashed.", 100), ""]
    path = out / "calibration.md"
    fsutil.atomic_write(path, "\n".join(lines))
    return path
