"""Global sensitivity analysis without running anything: designs, outputs per sample point, indices.

This is the computational core of ``peacesim sensitivity`` (:mod:`peacesim.sensitivity` runs the
model through the experiment runner and writes the results; this module only computes). The
same functions take the outputs of the model or of an analytic test function, which is how the
tests prove the pipeline right (Ishigami, Sobol's G function).

The pipeline
------------
1. :class:`Input`: one factor, with its kind and bounds. A number with bounds ``[low, high]`` is
   sampled uniformly on them. A whole number ``low..high`` is sampled on ``[low, high + 1)`` and
   rounded down, so each value is equally likely. A choice of ``k`` options (a yes/no is the
   choice of ``false`` and ``true``) is sampled on ``[0, k)`` and rounded down to the option's
   index: its levels are the intervals ``[i/k, (i+1)/k)`` of the unit interval. (A tiny
   ``LEVEL_EPS`` is added before rounding, so that a Morris grid point that lands on a level's
   edge, 1/3 of the way say, is not moved to the level below by a rounding error.)
2. :func:`make_design`: the SALib problem (names, bounds, groups) and the sample of one method:
   Morris trajectories (``SALib.sample.morris``), a Sobol' design of Saltelli's scheme
   (``SALib.sample.sobol``, scrambled, ``N`` a power of two so that the design at ``N/2`` is the
   first half of the design at ``N``) or a Latin hypercube for RBD-FAST. The :class:`Design`
   holds every setting the analysis needs (``num_levels``, ``second_order``, ``N``): one source of
   truth, so that sampling and analysis cannot disagree.
3. :func:`point_outputs`: the runs (``design_point``, ``replicate``, outcomes) are checked
   against the design - every run of every point exactly once, finished, with the parameter
   values of the design - and aggregated per point over the replicates.
4. :func:`indices`: Morris (mu*, mu, sigma with bootstrap intervals over trajectories), Sobol'
   (S1, ST and, when sampled for it, S2, with SALib's bootstrap intervals) and RBD-FAST (S1 from
   any sample); convergence (the indices from the first half of the design against all of it);
   :func:`noise_table`: the share of each outcome's variance that is replicate noise.

SALib's traps, and what is done about them
------------------------------------------
* ``SALib.analyze.sobol`` infers ``N`` from the length of ``Y`` and the second-order setting; when
  the wrong setting still divides the length (``D + 2`` or ``2D + 2`` a power of two) it returns
  wrong indices without a word. Here the length is checked against the design's own ``N`` and
  setting first (:func:`check_outputs`).
* ``SALib.analyze.morris`` takes ``num_levels`` again; a different value scales every elementary
  effect wrongly without a word. Here it comes from the design.
* ``SALib.analyze.sobol`` seeds its bootstrap only when ``seed`` is truthy (``seed=0`` falls back to
  NumPy's global generator); the seeds here are never 0.
* ``SALib.analyze.delta`` (1.6) seeds NumPy's global generator and changes the global warning
  filters, so it is not used: the given-data method is RBD-FAST (``SALib.analyze.rbd_fast``),
  which draws from its own generator, takes seconds for ten thousand points and estimates the
  same first-order index as Sobol' S1, so the two can be compared on one design.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

from .errors import InputError
from .words import words

__all__ = [
    "METHODS",
    "Input",
    "Design",
    "Outcome",
    "PointOutputs",
    "make_design",
    "check_outputs",
    "point_outputs",
    "indices",
    "noise_table",
    "noise_components",
    "MIN_VARYING_POINTS",
    "varies_at_few_points",
    "replicates_needed",
    "km_point",
    "elementary_effects",
    "analysis_seed",
    "evaluate",
    "sorted_groups",
    "most_influential",
    "convergence_table",
    "RANK_BY",
]

METHODS = ("morris", "sobol", "rbd_fast")
#: Confidence level of every interval.
CONF_LEVEL = 0.95
#: Added to a point's position within a discrete factor's range before rounding down (see the
#: module notes).
LEVEL_EPS = 1e-9
#: Harmonics RBD-FAST sums (SALib's default M; Tarantola et al. 2006).
RBD_HARMONICS = 10
#: RBD-FAST needs many more points than harmonics: its bias correction divides by
#: 1 - 2M/n, and its bootstrap uses half of the points.
MIN_RBD_POINTS = 6 * RBD_HARMONICS
#: Bootstrap resamples for the intervals of the indices (Sobol', Morris, RBD-FAST).
RESAMPLES = 1000
#: Bootstrap resamples for the intervals of the noise shares, and of the RBD-FAST indices (normal
#: intervals from the resamples' spread: 300 estimate it to about 4%).
NOISE_RESAMPLES = 400
RBD_RESAMPLES = 300
#: Sobol' designs must have at least this many base samples (the half used for convergence has 4).
MIN_SOBOL_SAMPLES = 8
#: Differences below this are rounding, not change: a factor the outcome never reads has indices
#: of exactly 0 at N/2 and at N, up to floating-point error in SALib's sums.
ZERO = 1e-9


def analysis_seed(master_seed: int, purpose: str) -> int:
    """A seed for one purpose (``"sample"``, ``"analysis"``, ``"pilot"``) from the master seed: never
    0 (SALib treats 0 as no seed) and independent of the runs' seeds (those are spawned children of
    the master seed; these mix a purpose tag into its entropy)."""
    tag = int.from_bytes(hashlib.sha256(purpose.encode()).digest()[:4], "little")
    state = np.random.SeedSequence([int(master_seed), tag]).generate_state(1, dtype=np.uint32)[0]
    return int(state) or 1


# ---------------------------------------------------------------------------------------------
# factors and designs
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    """One factor of a sensitivity analysis.

    ``kind`` is ``float`` (uniform on ``[low, high]``), ``int`` (each whole number from ``low`` to
    ``high`` equally likely), ``choice`` (one of ``choices``) or ``bool``. ``group`` joins factors
    whose joint index is wanted (each still takes its own value); '' is a group of its own.
    """

    name: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    choices: tuple = ()
    group: str = ""
    label: str = ""
    unit: str = ""

    @property
    def group_name(self) -> str:
        return self.group or self.name

    @property
    def levels(self) -> int:
        """Number of distinct values (0 for a continuous factor)."""
        if self.kind == "int":
            return int(self.high) - int(self.low) + 1
        if self.kind == "bool":
            return 2
        if self.kind == "choice":
            return len(self.choices)
        return 0

    @property
    def options(self) -> tuple:
        """The values of a choice (``(False, True)`` for a yes/no)."""
        return (False, True) if self.kind == "bool" else tuple(self.choices)

    def bounds(self) -> list[float]:
        """Bounds in the SALib problem (see the module notes)."""
        if self.kind == "float":
            return [float(self.low), float(self.high)]
        if self.kind == "int":
            return [float(self.low), float(self.high) + 1.0]
        return [0.0, float(self.levels)]

    def values(self, x: np.ndarray) -> list:
        """Parameter values (Python scalars) of points at ``x`` in SALib's space."""
        x = np.asarray(x, dtype=float)
        if self.kind == "float":
            return [float(v) for v in np.clip(x, self.low, self.high)]
        lo, hi = self.bounds()
        n = self.levels
        idx = np.clip(np.floor((x - lo) / (hi - lo) * n + LEVEL_EPS), 0, n - 1).astype(int)
        if self.kind == "int":
            return [int(self.low) + int(i) for i in idx]
        opts = self.options
        return [opts[int(i)] for i in idx]

    def describe(self) -> str:
        """Its range in words: ``0.05 to 0.95``, ``3 to 600 (whole numbers)``, ``none, network``."""
        if self.kind == "float":
            return f"{_num(self.low)} to {_num(self.high)}"
        if self.kind == "int":
            return f"{int(self.low)} to {int(self.high)} (whole numbers)"
        return ", ".join(words(o) for o in self.options)


def _num(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True, eq=False)
class Design:
    """A method's sample of the factors, with every setting its analysis needs.

    ``X`` is in SALib's space (the bounds of :meth:`Input.bounds`), one row per sample point;
    ``samples`` is SALib's ``N``: Morris trajectories, Sobol' base samples, or Latin hypercube
    points for RBD-FAST.
    """

    method: str
    inputs: tuple[Input, ...]
    samples: int
    seed: int
    X: np.ndarray
    num_levels: int = 4
    second_order: bool = False

    @property
    def names(self) -> list[str]:
        return [i.name for i in self.inputs]

    @property
    def groups(self) -> list[str]:
        """The group of each factor (its own name when it has none)."""
        return [i.group_name for i in self.inputs]

    @property
    def group_names(self) -> list[str]:
        """The groups in order of first appearance (SALib's order)."""
        return list(dict.fromkeys(self.groups))

    @property
    def grouped(self) -> bool:
        return len(self.group_names) < len(self.inputs)

    def members(self, group: str) -> list[str]:
        return [i.name for i in self.inputs if i.group_name == group]

    def problem(self) -> dict[str, Any]:
        """A fresh SALib problem (SALib writes into the dict it is given)."""
        p: dict[str, Any] = {"num_vars": len(self.inputs), "names": self.names,
                             "bounds": [i.bounds() for i in self.inputs]}
        if self.grouped:
            p["groups"] = self.groups
        return p

    @property
    def rows_per_block(self) -> int:
        """Points per trajectory (Morris), per base sample (Sobol'), or 1 (RBD-FAST)."""
        g = len(self.group_names)
        if self.method == "morris":
            return g + 1
        if self.method == "sobol":
            return 2 * g + 2 if self.second_order else g + 2
        return 1

    @property
    def n_points(self) -> int:
        return self.samples * self.rows_per_block

    def shape_rule(self) -> str:
        """How the number of points follows from the settings, in words."""
        g = len(self.group_names)
        what = "groups" if self.grouped else "factors"
        if self.method == "morris":
            return f"{self.samples} trajectories x ({g} {what} + 1) = {self.n_points}"
        if self.method == "sobol":
            k = f"2 x {g} {what} + 2" if self.second_order else f"{g} {what} + 2"
            order = "with" if self.second_order else "without"
            return f"N = {self.samples} x ({k}) = {self.n_points} ({order} second order)"
        return f"{self.n_points} Latin hypercube points"

    def unit(self) -> np.ndarray:
        """The sample on the unit hypercube."""
        b = np.array([i.bounds() for i in self.inputs], dtype=float)
        return (self.X - b[:, 0]) / (b[:, 1] - b[:, 0])

    def columns(self) -> dict[str, list]:
        """Each factor's parameter values, point by point."""
        return {inp.name: inp.values(self.X[:, j]) for j, inp in enumerate(self.inputs)}

    def values(self) -> list[dict[str, Any]]:
        """The parameter values of every point, as the runner's design rows."""
        cols = self.columns()
        return [{name: cols[name][p] for name in self.names} for p in range(self.n_points)]

    def settings(self) -> dict[str, Any]:
        """Everything the sample is a function of (JSON)."""
        return {"method": self.method, "samples": self.samples, "seed": self.seed,
                "num_levels": self.num_levels if self.method == "morris" else None,
                "second_order": self.second_order if self.method == "sobol" else None,
                "inputs": [{"name": i.name, "kind": i.kind, "low": i.low, "high": i.high,
                            "choices": list(i.options), "group": i.group_name} for i in self.inputs],
                "n_points": self.n_points}

    def digest(self) -> str:
        """Hash of the settings and of the sample itself (a SALib version that samples differently
        gives another digest)."""
        h = hashlib.sha256(json.dumps(self.settings(), sort_keys=True, default=str).encode())
        h.update(np.ascontiguousarray(self.X, dtype="<f8").tobytes())
        return h.hexdigest()

    def first(self, samples: int) -> Design:
        """The design of the first ``samples`` trajectories or base samples. Sobol' designs nest:
        the first half of the design at ``N`` is the design at ``N/2`` (tests check it)."""
        return Design(self.method, self.inputs, samples, self.seed, self.X[: samples * self.rows_per_block],
                      self.num_levels, self.second_order)


def _power_of_two(n: int) -> bool:
    return n > 0 and n & (n - 1) == 0


def make_design(inputs: Sequence[Input], method: str, samples: int, *, seed: int, num_levels: int = 4,
                second_order: bool = False, where: str = "sensitivity", sample: bool = True) -> Design:
    """The sample of ``method`` over ``inputs``; bad settings are refused with one line. With
    ``sample=False`` the settings are checked and the design's sizes known, but nothing is drawn.

    ``samples`` is SALib's ``N``: trajectories for ``morris``, base samples for ``sobol`` (a power
    of two, at least 8), Latin hypercube points for ``rbd_fast`` (at least 60).
    """
    inputs = tuple(inputs)
    if method not in METHODS:
        raise InputError(f"{where}: method = {words(method)} is not allowed; expected one of "
                         f"{', '.join(METHODS)}")
    names = [i.name for i in inputs]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise InputError(f"{where}: factor {words(dup)} is listed twice")
    n_groups = len(dict.fromkeys(i.group_name for i in inputs))
    if n_groups < 2:
        raise InputError(f"{where}: a sensitivity analysis needs at least two factors or groups; found "
                         f"{n_groups}")
    for i in inputs:
        if i.kind in ("float", "int") and not (i.low is not None and i.high is not None and i.low < i.high):
            raise InputError(f"{where}: {i.name}: bounds [{words(i.low)}, {words(i.high)}] are not a range; "
                             "fix the parameter in [parameters] instead")
        if i.kind in ("choice", "bool") and i.levels < 2:
            raise InputError(f"{where}: {i.name}: needs at least two options to vary")
    if isinstance(samples, bool) or not isinstance(samples, int):
        raise InputError(f"{where}: samples = {words(samples)} must be a whole number")
    if method == "sobol":
        if not _power_of_two(samples) or samples < MIN_SOBOL_SAMPLES:
            raise InputError(f"{where}: samples = {samples} is not allowed for Sobol'; expected a power of two "
                             f"of at least {MIN_SOBOL_SAMPLES} (8, 16, ..., 256, 512), so that the design at N/2 "
                             "is the first half of the design at N")
    elif method == "morris":
        if samples < 2:
            raise InputError(f"{where}: trajectories = {samples} is not allowed; expected at least 2")
        if isinstance(num_levels, bool) or not isinstance(num_levels, int) or num_levels < 2 or num_levels % 2:
            raise InputError(f"{where}: num_levels = {words(num_levels)} is not allowed; expected an even whole "
                             "number of at least 2 (4 is usual)")
    elif samples < MIN_RBD_POINTS:
        raise InputError(f"{where}: samples = {samples} is not allowed for RBD-FAST; expected at least "
                         f"{MIN_RBD_POINTS}")
    if second_order and method != "sobol":
        raise InputError(f"{where}: second_order = true applies to the Sobol' method only")
    design = Design(method, inputs, samples, seed, np.zeros((0, len(inputs))), num_levels, bool(second_order))
    if not sample:
        return design
    X = _sample(design)
    return Design(method, inputs, samples, seed, X, num_levels, bool(second_order))


def _sample(design: Design) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if design.method == "morris":
            from SALib.sample import morris

            X = morris.sample(design.problem(), design.samples, num_levels=design.num_levels, seed=design.seed)
        elif design.method == "sobol":
            from SALib.sample import sobol

            X = sobol.sample(design.problem(), design.samples, calc_second_order=design.second_order,
                             scramble=True, seed=design.seed)
        else:
            from SALib.sample import latin

            X = latin.sample(design.problem(), design.samples, seed=design.seed)
    X = np.asarray(X, dtype=float)
    if X.shape != (design.n_points, len(design.inputs)):  # pragma: no cover - SALib changed its scheme
        raise RuntimeError(f"SALib returned a sample of shape {X.shape}; expected ({design.n_points}, "
                           f"{len(design.inputs)}) ({design.shape_rule()})")
    return X


# ---------------------------------------------------------------------------------------------
# outcomes and their values per sample point
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """An output analysed: how one run's value is read, and how the replicates of a point combine.

    ``kind``:

    * ``"share"``: a yes/no column; the point's value is the share of its runs with yes;
    * ``"mean"``: a number column; the mean over its runs;
    * ``"until_horizon"``: months to an event, empty when it did not happen; the run counts as
      censored at its horizon (column ``months``), and the point's value is the restricted mean
      ``mean(min(T, horizon))``: the Kaplan-Meier restricted mean when, as here, every censoring
      is at the horizon;
    * ``"rmst"`` / ``"survival"``: durability of each run's first agreement (episodes table); the
      point's value is the Kaplan-Meier restricted mean months held within ``horizon`` months, or
      the share still holding at ``horizon`` months, of the first agreements of its runs (empty
      when none was signed, or when none was followed that long and the Kaplan-Meier curve did not
      fall to zero before: the curve is not known up to the horizon).
    """

    name: str
    label: str
    unit: str
    kind: str
    column: str = ""
    horizon: float = 60.0
    short: str = ""

    @property
    def title(self) -> str:
        """A short label for figures."""
        return self.short or self.label

    @property
    def durability(self) -> bool:
        return self.kind in ("rmst", "survival")


def km_point(durations: np.ndarray, events: np.ndarray, tau: float) -> tuple[float, float]:
    """Kaplan-Meier restricted mean survival up to ``tau`` and survival at ``tau`` of one sample.

    The same estimator as :func:`peacesim.analysis.km_summary` (a test compares them): NaNs when
    the curve is not identified up to ``tau`` (nobody was followed that long and it did not reach
    zero)."""
    d = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    if len(d) == 0:
        return math.nan, math.nan
    times = np.unique(d[e])
    s, t_prev, area, s_tau = 1.0, 0.0, 0.0, None
    for t in times:
        at_risk = np.count_nonzero(d >= t)
        dead = np.count_nonzero((d == t) & e)
        if t > tau and s_tau is None:
            s_tau = s
        if t <= tau:
            area += s * (t - t_prev)
            t_prev = t
        s *= 1.0 - dead / at_risk
    if s_tau is None:
        s_tau = s
    if not (d.max() >= tau or s == 0.0):
        return math.nan, math.nan
    area += s_tau * (tau - t_prev)
    return float(area), float(s_tau)


@dataclass
class PointOutputs:
    """Outputs of every sample point: ``Y[outcome]`` (one value per point, NaN where undefined),
    ``runs[outcome]`` (points x replicates; NaN where a run's value is undefined: for durability, a
    first agreement censored before the horizon, a run without one, and every run of a point whose
    ``Y`` is NaN, so that the points with a value are the same in both) and ``n[outcome]`` (runs
    that informed each point)."""

    Y: dict[str, np.ndarray]
    runs: dict[str, np.ndarray]
    n: dict[str, np.ndarray]
    replicates: int


def check_outputs(design: Design, runs: pd.DataFrame, replicates: int, *, where: str = "results") -> pd.DataFrame:
    """Check the runs against the design before anything is analysed, and return them sorted.

    Refused, with one line naming the run: a point that is not the design's (outputs of another
    design, another ``N``, another second-order or ``num_levels`` setting), a run missing or
    listed twice (rows dropped or duplicated), a run that failed, a parameter value that is not
    the design's at that point (rows reordered, or another sample). Matching is by
    ``design_point`` and ``replicate``, never by row position."""
    import pandas as pd
    for c in ("design_point", "replicate", "status"):
        if c not in runs.columns:
            raise InputError(f"{where}: the runs table has no {c} column")
    n, r = design.n_points, replicates
    dp = runs["design_point"].to_numpy()
    rep = runs["replicate"].to_numpy()
    keys = pd.MultiIndex.from_arrays([dp, rep])
    if keys.has_duplicates:
        d, k = keys[keys.duplicated()][0]
        raise InputError(f"{where}: design point {d}, replicate {k} appears more than once; the outputs must hold "
                         "each run exactly once")
    n_found = int(dp.max()) + 1 if len(dp) else 0
    if len(dp) and (dp.min() < 0 or n_found > n or rep.min() < 0 or rep.max() >= r):
        bad = (dp < 0) | (dp >= n) | (rep < 0) | (rep >= r)
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"{where}: the outputs hold design point {dp[i]}, replicate {rep[i]}, which this design "
                         f"does not have: it has {design.shape_rule()} points x {r} replicates; the outputs are "
                         "not this design's (another N, second-order or num_levels setting, or another sample)")
    if len(runs) != n * r:
        full = pd.MultiIndex.from_product([range(n), range(r)])
        d, k = full.difference(keys)[0]
        raise InputError(f"{where}: design point {d}, replicate {k} is missing ({len(runs)} of {n * r} runs: "
                         f"{design.shape_rule()} points x {r} replicates); every run is needed")
    runs = runs.sort_values(["design_point", "replicate"], kind="stable").reset_index(drop=True)
    bad = runs["status"].astype(str) != "ok"
    if bad.any():
        row = runs[bad].iloc[0]
        seed = f" (seed {row['seed']})" if "seed" in runs.columns else ""
        err = f": {str(row['error'])[:120]}" if "error" in runs.columns and str(row["error"]) else ""
        raise InputError(f"{where}: the run of design point {row['design_point']}, replicate {row['replicate']}"
                         f"{seed} failed{err}; {int(bad.sum())} run(s) failed in all; the analysis needs every run "
                         "(narrow the bounds that lead there, or fix the cause, and run again)")
    cols = design.columns()
    kinds = {i.name: i.kind for i in design.inputs}
    for name, want in cols.items():
        if name not in runs.columns:
            continue
        have = runs[name].to_numpy()
        wanted = np.repeat(np.array(want, dtype=object), r)  # rows are sorted by point, then replicate
        if kinds[name] in ("float", "int"):
            ok = ~pd.Series(have).map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy()
            ok &= pd.to_numeric(pd.Series(have), errors="coerce").to_numpy(dtype=float) == wanted.astype(float)
        else:
            ok = np.fromiter((_same(a, b) for a, b in zip(have, wanted)), dtype=bool, count=len(have))
        if not ok.all():
            i = int(np.flatnonzero(~ok)[0])
            raise InputError(f"{where}: design point {i // r}: {name} = {words(_py(have[i]))} in the outputs but "
                             f"{words(want[i // r])} in the design; the outputs are not this design's (rows reordered, "
                             "or another sample or num_levels setting)")
    return runs


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _same(a: Any, b: Any) -> bool:
    a, b = _py(a), _py(b)
    if isinstance(b, bool) or isinstance(a, bool):
        return bool(a) == bool(b) and type(a) is type(b)
    if isinstance(b, (int, float)) and isinstance(a, (int, float)):
        return float(a) == float(b)
    return a == b


def point_outputs(design: Design, runs: pd.DataFrame, outcomes: Sequence[Outcome], replicates: int, *,
                  episodes: pd.DataFrame | None = None, where: str = "results") -> PointOutputs:
    """Check the runs (:func:`check_outputs`) and aggregate each outcome per sample point."""
    import pandas as pd
    runs = check_outputs(design, runs, replicates, where=where)
    n, r = design.n_points, replicates
    Y, per_run, counts = {}, {}, {}
    first = None
    for o in outcomes:
        if o.durability:
            if first is None:
                first = _first_agreements(episodes, n, r, where)
            dur, ev, ok = first
            Y[o.name] = np.full(n, np.nan)
            counts[o.name] = ok.sum(axis=1)
            for p in range(n):
                m = ok[p]
                rm, sv = km_point(dur[p, m], ev[p, m], o.horizon)
                Y[o.name][p] = rm if o.kind == "rmst" else sv
            # one run's own value, where it is known: months held within the horizon, or held or not
            # (it relapsed, or was followed the whole horizon); only at the points that have a value
            # (a Kaplan-Meier estimate), so that the noise is counted and measured on the points the
            # indices use: a point whose one relapsed run is known but whose other agreement was
            # censored before the horizon has no estimate, and is no point with a value anywhere
            known = ok & (ev | (dur >= o.horizon)) & np.isfinite(Y[o.name])[:, None]
            if o.kind == "rmst":
                v = np.minimum(dur, o.horizon)
            else:
                v = (~(ev & (dur <= o.horizon))).astype(float)
            per_run[o.name] = np.where(known, v, np.nan)
            continue
        if o.column not in runs.columns:
            raise InputError(f"{where}: the runs table has no {o.column} column for the outcome {o.name}")
        col = runs[o.column]
        if o.kind == "share":
            v = col.astype(float).to_numpy()
        elif o.kind == "mean":
            v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
        elif o.kind == "until_horizon":
            h = runs["months"].to_numpy(dtype=float)
            t = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
            v = np.minimum(np.where(np.isnan(t), h, t), h)
        else:  # pragma: no cover - outcomes are declared in code
            raise ValueError(f"unknown outcome kind {o.kind}")
        m = v.reshape(n, r)
        if np.isnan(m).any():
            p = int(np.flatnonzero(np.isnan(m).any(axis=1))[0])
            raise InputError(f"{where}: {o.column} is empty for a finished run of design point {p}")
        per_run[o.name] = m
        Y[o.name] = m.mean(axis=1)
        counts[o.name] = np.full(n, r)
    return PointOutputs(Y, per_run, counts, r)


def _first_agreements(episodes: pd.DataFrame | None, n: int, r: int, where: str):
    """Durations, relapse flags and presence of each run's first agreement: arrays points x replicates."""
    dur = np.zeros((n, r))
    ev = np.zeros((n, r), dtype=bool)
    ok = np.zeros((n, r), dtype=bool)
    if episodes is None:
        raise InputError(f"{where}: durability outcomes need the episodes table")
    if len(episodes) == 0:
        return dur, ev, ok
    need = ("design_point", "replicate", "months_survived", "relapsed")
    missing = [c for c in need if c not in episodes.columns]
    if missing:
        raise InputError(f"{where}: the episodes table lacks {', '.join(missing)}")
    order = [c for c in ("design_point", "replicate", "episode", "signed_month") if c in episodes.columns]
    first = episodes.sort_values(order, kind="stable").drop_duplicates(["design_point", "replicate"])
    p = first["design_point"].to_numpy(dtype=int)
    k = first["replicate"].to_numpy(dtype=int)
    if len(p) and (p.min() < 0 or p.max() >= n or k.min() < 0 or k.max() >= r):
        raise InputError(f"{where}: the episodes table holds runs that are not in the design")
    dur[p, k] = first["months_survived"].to_numpy(dtype=float)
    ev[p, k] = first["relapsed"].astype(bool).to_numpy()
    ok[p, k] = True
    return dur, ev, ok


# ---------------------------------------------------------------------------------------------
# noise: how much of an outcome's variance is the model's own
# ---------------------------------------------------------------------------------------------
def noise_components(m: np.ndarray) -> dict[str, float]:
    """Variance components of outcomes at points x replicates (NaN: a run's value is unknown).

    Returns ``noise_share_runs``: the share of the variance of one run's outcome that is replicate
    noise (one-way analysis of variance: within-point variance over within plus between);
    ``noise_share``: the share of the variance of the per-point means (what the indices are computed
    from) that is noise left after averaging the replicates; ``noise_var`` (of one run, net of
    what common random numbers cancel), ``signal_var`` (between points) and ``common``: True when
    every run's value is known, so that the replicate's common part could be removed (two-way
    analysis of variance without interaction replicates: replicate ``k`` has the same seed at every
    point, so its common shift is the same at every point and cancels in the indices); False when
    values are missing at some point and the one-way within-point variance is used (an upper bound
    on that noise). The per-point means are then those of every point with a value, as the indices
    see them, and the noise in them is the within-point variance over each point's number of values.

    ``noise_ratio`` and ``noise_share_runs_raw`` are the two shares before they are clipped to 1
    (a ratio above 1: the means vary less than their noise alone would make them), for intervals;
    ``points`` and ``points_with_value`` count the points with a value in two replicates or more,
    and in at least one (a row of ``m`` that is not all NaN: in :func:`point_outputs`' runs, exactly
    the points whose ``Y`` has a value, which the indices use); ``points_varying`` the points whose values differ between replicates (the only ones that
    show the noise). Everything else is NaN when fewer than three points have two values.
    """
    m = np.asarray(m, dtype=float)
    cnt = np.sum(~np.isnan(m), axis=1)
    keep = cnt >= 2
    have = cnt >= 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        varying = int(np.sum(keep & (np.nanmax(m, axis=1) > np.nanmin(m, axis=1)))) if m.size else 0
    nan = dict(noise_share_runs=math.nan, noise_share=math.nan, noise_var=math.nan, signal_var=math.nan,
               noise_ratio=math.nan, noise_share_runs_raw=math.nan, common=False, points=int(keep.sum()),
               points_with_value=int(have.sum()), points_varying=varying)
    if keep.sum() < 3:
        return nan
    # complete means every run of every point, not only of the points kept: a point with one value
    # has a mean as noisy as one run, which the two-way analysis of the others does not see
    complete = bool(np.all(cnt == m.shape[1]))
    mk, ck = m[keep], cnt[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(mk, axis=1)
        within = np.nansum((mk - means[:, None]) ** 2, axis=1)
    n_pts, total_runs = len(mk), int(ck.sum())
    msw = within.sum() / (total_runs - n_pts)
    grand = np.nansum(mk) / total_runs
    msb = float(np.sum(ck * (means - grand) ** 2) / (n_pts - 1))
    n0 = (total_runs - np.sum(ck ** 2) / total_runs) / (n_pts - 1)
    between_raw = (msb - msw) / n0
    if complete:
        r = m.shape[1]
        resid = mk - means[:, None] - mk.mean(axis=0)[None, :] + grand
        noise = float(np.sum(resid ** 2) / ((n_pts - 1) * (r - 1)))
        noise_mean = noise / r
        var_means = float(np.var(means, ddof=1))
    else:
        noise = float(msw)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            all_means = np.nanmean(m[have], axis=1)
        var_means = float(np.var(all_means, ddof=1))
        noise_mean = float(msw * np.mean(1.0 / cnt[have]))
    ratio = noise_mean / var_means if var_means > 0 else math.nan  # a constant outcome has no share
    share = min(ratio, 1.0) if np.isfinite(ratio) else math.nan
    signal = max(var_means - noise_mean, 0.0)
    if complete:
        # the seed's common part is in every point's within-point variance but not in the spread of
        # the point means: the one-way estimate of the spread between points would take it off twice
        denom_raw = msw + var_means - noise_mean
        share_runs = msw / (msw + signal) if msw + signal > 0 else math.nan
    else:
        denom_raw = msw + between_raw
        between = max(between_raw, 0.0)
        share_runs = msw / (msw + between) if msw + between > 0 else math.nan
    runs_raw = msw / denom_raw if denom_raw > 0 else math.nan
    return dict(noise_share_runs=float(share_runs), noise_share=float(share), noise_var=float(noise),
                signal_var=float(signal), noise_ratio=float(ratio), noise_share_runs_raw=float(runs_raw),
                common=complete, points=int(keep.sum()), points_with_value=int(have.sum()), points_varying=varying)


#: Points whose replicates differ from which a pilot estimates a noise share and the replicates it
#: calls for: the noise of a rare event seen to vary at one to four points is that of those few
#: points (one point's two outcomes in six runs gave a noise share of 80% and 36 replicates), not
#: the model's, so it is not measured.
MIN_VARYING_POINTS = 5


def varies_at_few_points(est: dict[str, Any]) -> bool:
    """Whether the replicates of :func:`noise_components`' estimate ``est`` differ at one to
    :data:`MIN_VARYING_POINTS` - 1 points only: its noise is those points', not the model's."""
    return 0 < est["points_varying"] < MIN_VARYING_POINTS


#: Replicates from which a delete-one jackknife over them adds their part to a noise share's interval.
MIN_JACKKNIFE_REPLICATES = 3
#: A variance of a share's resamples below this (a standard deviation of 1e-6) is no variation: the
#: floating-point spread of a share that is the same in every resample.
DEGENERATE_VAR = 1e-12


def noise_table(outputs: PointOutputs, outcomes: Sequence[Outcome], *, seed: int,
                resamples: int = NOISE_RESAMPLES) -> pd.DataFrame:
    """The noise of each outcome (:func:`noise_components`) with 95% intervals and what limits them.

    Points and replicates are crossed (every replicate's seed at every point), so a share's
    uncertainty comes from both. Its variance is taken as the sum of the two parts: a bootstrap over
    the points (with all their replicates) and a delete-one jackknife over the replicates (from 3
    replicates up), and the interval is normal around the share before clipping, then clipped to
    [0, 1]. With few replicates the seed's common part of one run's noise is known poorly, and the
    interval of ``noise_share_runs`` says so. The points of a Morris trajectory or a Sobol' block are
    treated as independent draws, which they are not quite.

    ``interval`` says what the intervals cover: ``"points and replicates"``; ``"points only"`` (2
    replicates: no jackknife, so the part of the uncertainty that comes from the few seeds is
    missing and the interval is too narrow); ``"not estimable"`` (the resamples do not vary, which a
    share estimated from random runs cannot justify: one replicate takes the same value at every
    point, say; the interval is NaN). ``note`` gives these marks in words, with ``upper bound`` when
    values are missing (``common_random_numbers_removed`` False) and ``no signal detected`` when the
    share of the means is clipped at 1 (the point means vary no more than their noise would make them)."""
    import pandas as pd
    from scipy.stats import norm

    z = float(norm.ppf(0.5 + CONF_LEVEL / 2))
    rng = np.random.default_rng(seed)
    keys = ("noise_share_runs", "noise_share")
    raw_key = {"noise_share_runs": "noise_share_runs_raw", "noise_share": "noise_ratio"}
    rows = []
    for o in outcomes:
        m = np.asarray(outputs.runs[o.name], dtype=float)
        # the points with a value are those the indices use (a point value, Y): a run's value at a
        # point without one (:func:`point_outputs` already leaves it out) is neither counted nor used
        m = np.where(np.isfinite(np.asarray(outputs.Y[o.name], dtype=float))[:, None], m, np.nan)
        est = noise_components(m)
        n, r = m.shape
        measured = np.isfinite(est["noise_share"])
        boot = {k: [] for k in keys}
        for _ in range(resamples if n >= 3 and measured else 0):
            b = noise_components(m[rng.integers(0, n, n)])
            for k in keys:
                boot[k].append(b[raw_key[k]])
        jack = {k: [] for k in keys}
        for j in range(r if r >= MIN_JACKKNIFE_REPLICATES and measured else 0):
            b = noise_components(np.delete(m, j, axis=1))
            for k in keys:
                jack[k].append(b[raw_key[k]])
        row: dict[str, Any] = {"outcome": o.name, "label": o.label, "replicates": outputs.replicates,
                               "points": est["points"], "points_with_value": est["points_with_value"],
                               "common_random_numbers_removed": est["common"]}
        degenerate = False
        for k in keys:
            row[k] = est[k]
            centre = est[raw_key[k]]
            b = np.array(boot[k], dtype=float)
            b = b[np.isfinite(b)]
            jk = np.array(jack[k], dtype=float)
            jk = jk[np.isfinite(jk)]
            var = float(np.var(b, ddof=1)) if len(b) > 1 else math.nan
            if len(jk) >= MIN_JACKKNIFE_REPLICATES:
                var += (len(jk) - 1) / len(jk) * float(np.sum((jk - jk.mean()) ** 2))
            if np.isfinite(centre) and np.isfinite(var) and var > DEGENERATE_VAR:
                half = z * math.sqrt(var)
                row[f"{k}_low"] = min(1.0, max(0.0, centre - half))
                row[f"{k}_high"] = min(1.0, max(0.0, centre + half))
            else:
                # a share of random runs whose resamples do not vary at all is not known to that precision
                degenerate |= bool(np.isfinite(centre) and np.isfinite(var) and est["noise_var"] > 0)
                row[f"{k}_low"] = row[f"{k}_high"] = math.nan
        row["noise_var"], row["signal_var"] = est["noise_var"], est["signal_var"]
        notes = []
        if not measured:
            row["interval"] = ""
            notes.append(f"not measured: two values or more at {est['points']} of {n} points, at least 3 needed"
                         if est["points"] < 3 else
                         "not measured: the same value at every point")
        else:
            row["interval"] = ("not estimable" if degenerate else
                               "points and replicates" if r >= MIN_JACKKNIFE_REPLICATES else "points only")
            if not est["common"]:
                notes.append(f"upper bound: values missing (a value in at least one replicate at "
                             f"{est['points_with_value']} of {n} points, the points the indices use; in two "
                             f"replicates or more at {est['points']})")
            if est["noise_ratio"] >= 1 - 1e-9:
                notes.append("no signal detected")
            if varies_at_few_points(est):
                # as the pilot reads it (it does not size the replicates on such a share)
                notes.append(f"the replicates differ at {est['points_varying']} of {n} points only: the share is "
                             f"the noise of those points, not the model's (at least {MIN_VARYING_POINTS} needed)")
            if degenerate:
                notes.append("interval not estimable")
            elif r < MIN_JACKKNIFE_REPLICATES:
                notes.append(f"interval over the points only ({r} replicates)")
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows)


def replicates_needed(noise_var: float, signal_var: float, target: float) -> float:
    """Replicates per point that bring the noise share of the per-point means down to ``target``:
    the smallest R with (noise/R) / (signal + noise/R) <= target. NaN when it cannot be estimated
    (an outcome with neither noise nor signal: the same value in every run); inf when no number
    reaches it (noise without signal)."""
    if not (noise_var >= 0 and signal_var >= 0) or not 0 < target < 1:
        return math.nan
    if noise_var == 0:
        return 1.0 if signal_var > 0 else math.nan
    if signal_var == 0:
        return math.inf
    return float(max(1, math.ceil(noise_var * (1 - target) / (target * signal_var) - 1e-12)))


# ---------------------------------------------------------------------------------------------
# indices
# ---------------------------------------------------------------------------------------------
def elementary_effects(design: Design, y: np.ndarray) -> np.ndarray:
    """Morris elementary effects of every factor: an array trajectories x factors.

    Each is ``(y after the step - y before) / delta``, signed by the direction the factor moved,
    with ``delta = num_levels / (2 (num_levels - 1))`` on the unit scale (as SALib computes them;
    a test checks that mu, mu* and sigma agree with ``SALib.analyze.morris``). An effect whose
    points have no value (NaN) is NaN."""
    u = design.unit()
    r, k, d = design.samples, design.rows_per_block, len(design.inputs)
    delta = design.num_levels / (2.0 * (design.num_levels - 1))
    steps = np.diff(u.reshape(r, k, d), axis=1)  # r x (k-1) x d
    moved = np.abs(steps) > 1e-12
    if not np.all(moved.sum(axis=1) == 1):  # pragma: no cover - a Morris design moves each factor once
        raise RuntimeError("the Morris design does not move every factor exactly once per trajectory")
    at = moved.argmax(axis=1)  # r x d: the step at which each factor moves
    dy = np.diff(np.asarray(y, dtype=float).reshape(r, k), axis=1)  # r x (k-1)
    rows = np.arange(r)[:, None]
    sign = np.sign(steps[rows, at, np.arange(d)[None, :]])
    return dy[rows, at] * sign / delta


def _morris_stats(ee: np.ndarray, design: Design) -> dict[str, np.ndarray]:
    """mu, mu*, sigma of each group (SALib's grouping: the mean over a group's members; sigma only for
    a group of one)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mu_v = np.nanmean(ee, axis=-2)
        star_v = np.nanmean(np.abs(ee), axis=-2)
        sig_v = np.nanstd(ee, axis=-2, ddof=1)
    out = {"mu": [], "mu_star": [], "sigma": []}
    groups = design.groups
    for g in design.group_names:
        idx = [j for j, gg in enumerate(groups) if gg == g]
        out["mu"].append(mu_v[..., idx].mean(axis=-1))
        out["mu_star"].append(star_v[..., idx].mean(axis=-1))
        out["sigma"].append(sig_v[..., idx[0]] if len(idx) == 1 else np.full(mu_v.shape[:-1], np.nan))
    return {k: np.stack(v, axis=-1) for k, v in out.items()}


#: The fewest elementary effects a Morris index is given from where points have no value (an
#: outcome measured only where an agreement was signed): a mean of one to four effects, with a
#: bootstrap over them, is not an estimate of mu* (from one effect its interval has no width).
MORRIS_MIN_EFFECTS = 5


def _morris(design: Design, y: np.ndarray, seed: int, resamples: int) -> list[dict[str, Any]]:
    ee = elementary_effects(design, y)
    est = _morris_stats(ee, design)
    finite = np.isfinite(y).all()
    if finite:
        # The published numbers are SALib's; they must be what the effects above give.
        from SALib.analyze import morris

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            si = morris.analyze(design.problem(), design.X, np.asarray(y, dtype=float), num_resamples=resamples,
                                conf_level=CONF_LEVEL, num_levels=design.num_levels, seed=seed)
        for key in ("mu", "mu_star", "sigma"):
            theirs = np.asarray(si[key], dtype=float)
            if not np.allclose(theirs, est[key], rtol=1e-9, atol=1e-12, equal_nan=True):  # pragma: no cover
                raise RuntimeError(f"Morris {key}: SALib and the elementary effects disagree")
            est[key] = theirs
    rng = np.random.default_rng(seed)
    r = design.samples
    boot = {k: [] for k in est}
    for start in range(0, resamples, 200):
        b = min(200, resamples - start)
        stats = _morris_stats(ee[rng.integers(0, r, (b, r))], design)
        for k in boot:
            boot[k].append(stats[k])
    boot = {k: np.concatenate(v, axis=0) for k, v in boot.items()}
    n_eff = [int(np.isfinite(ee[:, [j for j, gg in enumerate(design.groups) if gg == g]]).all(axis=1).sum())
             for g in design.group_names]
    rows = []
    for key in ("mu_star", "mu", "sigma"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanquantile(boot[key], (1 - CONF_LEVEL) / 2, axis=0)
            hi = np.nanquantile(boot[key], (1 + CONF_LEVEL) / 2, axis=0)
        for j, g in enumerate(design.group_names):
            if n_eff[j] < min(MORRIS_MIN_EFFECTS, r):
                rows.append(_row("morris", g, key, math.nan, math.nan, math.nan, n_eff[j]))
            else:
                rows.append(_row("morris", g, key, est[key][j], lo[j], hi[j], n_eff[j]))
    return rows


def _row(method: str, parameter: str, index: str, est: float, low: float, high: float, n: int,
         parameter_2: str = "") -> dict[str, Any]:
    return {"method": method, "parameter": parameter, "parameter_2": parameter_2, "index": index,
            "estimate": float(est), "low": float(low), "high": float(high), "n": int(n)}


def _sobol(design: Design, y: np.ndarray, seed: int, resamples: int) -> list[dict[str, Any]]:
    from SALib.analyze import sobol

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = sobol.analyze(design.problem(), np.asarray(y, dtype=float), calc_second_order=design.second_order,
                           num_resamples=resamples, conf_level=CONF_LEVEL, seed=seed)
    rows = []
    names = design.group_names
    for key in ("S1", "ST"):
        for j, g in enumerate(names):
            e, c = float(si[key][j]), float(si[f"{key}_conf"][j])
            rows.append(_row("sobol", g, key, e, e - c, e + c, design.samples))
    if design.second_order:
        for j in range(len(names)):
            for k in range(j + 1, len(names)):
                e, c = float(si["S2"][j, k]), float(si["S2_conf"][j, k])
                rows.append(_row("sobol", names[j], "S2", e, e - c, e + c, design.samples, names[k]))
    return rows


def _rbd_first_order(ranks: np.ndarray, y: np.ndarray) -> np.ndarray:
    """RBD-FAST first-order index of one factor, for many samples at once.

    ``ranks`` and ``y`` are ``(..., n)``: each row a sample of one factor's ranks and the outputs.
    The outputs are put in the factor's order, folded as in EASI (Plischke 2010: the even places up,
    the odd ones down), and the power of the first ``RBD_HARMONICS`` harmonics is taken over the
    power of all (``scipy.signal.periodogram``'s one-sided spectrum, as SALib computes it; a test
    compares them), with Tissot & Prieur's (2012) bias correction."""
    n = y.shape[-1]
    if ranks.dtype.kind != "i" and ranks.size and ranks.max() < 2 ** 15:
        ranks = ranks.astype(np.int16)  # whole ranks: NumPy's stable sort of small integers is a radix sort
    order = np.argsort(ranks, axis=-1, kind="stable")
    fold = np.concatenate([order[..., ::2], order[..., 1::2][..., ::-1]], axis=-1)
    yy = np.take_along_axis(y, fold, axis=-1)
    power = np.abs(np.fft.rfft(yy - yy.mean(axis=-1, keepdims=True), axis=-1)) ** 2
    weight = np.full(power.shape[-1], 2.0)
    weight[0] = 1.0
    if n % 2 == 0:
        weight[-1] = 1.0
    power = power * weight
    with np.errstate(invalid="ignore", divide="ignore"):
        s1 = power[..., 1:RBD_HARMONICS + 1].sum(axis=-1) / power[..., 1:].sum(axis=-1)
    lamb = 2 * RBD_HARMONICS / n
    return s1 - lamb / (1 - lamb) * (1 - s1)


def _rbd_fast(design: Design, y: np.ndarray, seed: int, resamples: int) -> tuple[list[dict[str, Any]], str]:
    """RBD-FAST first-order indices from the points where ``y`` has a value.

    RBD-FAST uses only the order of each factor's values, so ties (a Morris grid, a discrete factor)
    are broken at random (seeded) by ranking. The estimates are SALib's; the intervals follow
    SALib's bootstrap (half-size resamples with replacement, a normal interval from their spread),
    computed for all resamples at once."""
    from SALib.analyze import rbd_fast
    from scipy.stats import norm

    keep = np.isfinite(y)
    n = int(keep.sum())
    if n < MIN_RBD_POINTS:
        return [], f"needs at least {MIN_RBD_POINTS} points with a value; {n} have one"
    yk = np.asarray(y[keep], dtype=float)
    rng = np.random.default_rng(seed)
    X = design.X[keep]
    ranks = np.empty(X.shape, dtype=np.int16 if n < 2 ** 15 else np.int64)
    for j in range(X.shape[1]):
        order = np.lexsort((rng.random(n), X[:, j]))
        ranks[order, j] = np.arange(n)
    problem = {"num_vars": len(design.inputs), "names": design.names, "bounds": [[0.0, float(n)]] * len(design.inputs)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        si = rbd_fast.analyze(problem, ranks, yk, M=RBD_HARMONICS, num_resamples=2, conf_level=CONF_LEVEL, seed=seed)
    mine = _rbd_first_order(ranks.T, np.broadcast_to(yk, ranks.T.shape))
    if not np.allclose(mine, np.asarray(si["S1"], dtype=float), rtol=1e-9, atol=1e-12):  # pragma: no cover
        raise RuntimeError("RBD-FAST: SALib and the vectorised estimator disagree")
    z = float(norm.ppf(0.5 + CONF_LEVEL / 2))
    half = n // 2
    rows = []
    for j, name in enumerate(design.names):
        idx = rng.integers(0, n, (min(resamples, RBD_RESAMPLES), half))
        boot = _rbd_first_order(ranks[idx, j], yk[idx])
        c = z * float(np.std(boot, ddof=1))
        e = float(si["S1"][j])
        rows.append(_row("rbd_fast", name, "S1", e, e - c, e + c, n))
    return rows, ""


def _convergence(design: Design, y: np.ndarray, rows: list[dict[str, Any]], seed: int, resamples: int) -> None:
    """Indices of the first half of the design beside those of all of it: ``estimate_half`` and
    ``moved`` (the change is larger than the half-width of the full design's interval)."""
    half = design.samples // 2
    if design.method == "rbd_fast" or half < (4 if design.method == "sobol" else 2):
        return
    sub = design.first(half)
    y_half = np.asarray(y)[: sub.n_points]
    if design.method == "sobol":
        if np.ptp(y_half) == 0:
            return
        half_rows = _sobol(sub, y_half, seed, resamples)
    else:
        half_rows = _morris(sub, y_half, seed, resamples)
    lookup = {(h["method"], h["parameter"], h["parameter_2"], h["index"]): h["estimate"] for h in half_rows}
    for row in rows:
        key = (row["method"], row["parameter"], row["parameter_2"], row["index"])
        if key in lookup and row["index"] != "sigma" and row["index"] != "mu":
            row["estimate_half"] = lookup[key]
            hw = (row["high"] - row["low"]) / 2
            half_est = lookup[key]
            # no verdict where either estimate or the interval is missing (NaN would compare as "not moved")
            row["moved"] = (bool(abs(row["estimate"] - half_est) > hw + ZERO)
                            if np.isfinite(hw) and np.isfinite(half_est) and np.isfinite(row["estimate"]) else None)
        row["samples_half"] = half


def indices(design: Design, Y: Mapping[str, np.ndarray] | np.ndarray, *, seed: int, resamples: int = RESAMPLES,
            given_data: bool = True, where: str = "outputs") -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Sensitivity indices of each outcome in ``Y`` (one value per sample point), as a tidy table.

    ``Y`` is a mapping of outcome name to values, or one array. Its length is checked against the
    design's points (:meth:`Design.shape_rule`) before SALib sees it. Points without a value (NaN,
    e.g. the durability of agreements at a point where none was signed) leave the Sobol' estimator
    undefined for that outcome (it needs every point); Morris then uses the elementary effects whose
    two points both have values, and RBD-FAST the points that have one.

    Returns the table (columns ``method``, ``outcome``, ``parameter``, ``parameter_2``, ``index``,
    ``estimate``, ``low``, ``high``, ``n``, ``rank``, ``estimate_half``, ``moved``, ``samples_half``)
    and, per outcome, notes on what could not be computed and why.
    """
    import pandas as pd
    if not isinstance(Y, Mapping):
        Y = {"y": Y}
    tables, notes = [], {}
    for name, y in Y.items():
        y = np.asarray(y, dtype=float)
        if y.ndim != 1 or y.shape[0] != design.n_points:
            raise InputError(f"{where}: {name}: {y.shape[0] if y.ndim else 1} values for a design of "
                             f"{design.shape_rule()} points; the outputs must have one value per point of this "
                             "design, in its order (a different N, second-order or num_levels setting gives a "
                             "different design)")
        rows, note = [], []
        finite = np.isfinite(y)
        n_missing = int((~finite).sum())
        constant = not finite.any() or np.ptp(y[finite]) == 0
        if constant:
            if not finite.any():
                note.append("it has no value at any point: no index")
            elif n_missing:
                note.append(f"it has a value at {int(finite.sum())} of {design.n_points} points only, the same at each: "
                            "no index")
            else:
                note.append("it takes the same value at every point: no index")
        elif design.method == "morris":
            rows += _morris(design, y, seed, resamples)
            if n_missing:
                note.append(f"{n_missing} of {design.n_points} points have no value; each index uses the "
                            "elementary effects whose two points have one (n)")
        elif design.method == "sobol":
            if n_missing:
                note.append(f"{n_missing} of {design.n_points} points have no value, so the Sobol' indices are not "
                            "defined (they need every point); the given-data (RBD-FAST) indices use the points that "
                            "have one")
            else:
                rows += _sobol(design, y, seed, resamples)
        if rows:
            _convergence(design, y, rows, seed, resamples)
        if (given_data or design.method == "rbd_fast") and not constant:
            extra, why = _rbd_fast(design, y, seed, resamples)
            rows += extra
            if why:
                note.append(f"RBD-FAST: {why}")
        for row in rows:
            row["outcome"] = name
        tables.append(pd.DataFrame(rows))
        notes[name] = note
    cols = ["method", "outcome", "parameter", "parameter_2", "index", "estimate", "low", "high", "n",
            "estimate_half", "moved", "samples_half"]
    table = pd.concat([t for t in tables if len(t)], ignore_index=True) if any(len(t) for t in tables) else \
        pd.DataFrame(columns=cols)
    for c in cols:
        if c not in table.columns:
            table[c] = np.nan if c != "moved" else None
    table["members"] = table["parameter"].map(lambda g: ";".join(design.members(g)) if g in design.group_names
                                              and design.grouped else g)
    table["rank"] = _ranks(table)
    table = table[[*cols[:5], "members", "estimate", "low", "high", "n", "rank", *cols[9:]]]
    return table.astype(INDEX_TYPES), notes


#: The types of the indices table's columns that are not text, whatever its rows: ``moved`` and
#: ``samples_half`` are missing where no convergence check was made (RBD-FAST's rows, and the
#: intervals' bounds), so they have pandas' nullable types.
INDEX_TYPES = {"estimate": "float64", "low": "float64", "high": "float64", "n": "int64", "rank": "float64",
               "estimate_half": "float64", "moved": "boolean", "samples_half": "Int64"}


#: The index that ranks the factors, per method.
RANK_BY = {"morris": "mu_star", "sobol": "ST", "rbd_fast": "S1"}


def _ranks(table: pd.DataFrame) -> pd.Series:
    import pandas as pd
    rank = pd.Series(np.nan, index=table.index)
    for (method, outcome), part in table.groupby(["method", "outcome"], sort=False):
        sel = part[(part["index"] == RANK_BY[method]) & (part["parameter_2"] == "")]
        order = sel["estimate"].rank(ascending=False, method="min")
        rank.loc[sel.index] = order
    return rank


def sorted_groups(table: pd.DataFrame, method: str, outcome: str) -> list[str]:
    """The factors (or groups) of one method and outcome, most influential first."""
    sel = table[(table["method"] == method) & (table["outcome"] == outcome) & (table["index"] == RANK_BY[method])
                & (table["parameter_2"] == "")]
    return sel.sort_values(["rank", "parameter"])["parameter"].tolist()


def most_influential(table: pd.DataFrame, method: str, k: int = 10) -> pd.DataFrame:
    """The ``k`` factors (or groups) that matter most over all outcomes: each factor's ranking index
    relative to the largest at that outcome, its best over the outcomes (and where). Only indices
    whose interval excludes zero count: an effect the analysis cannot tell from none does not make
    a factor influential. The screening of a Morris run this way chooses the factors of a Sobol'
    analysis."""
    import pandas as pd
    sel = table[(table["method"] == method) & (table["index"] == RANK_BY[method]) & (table["parameter_2"].fillna("")
                                                                                      == "")]
    sel = sel[sel["low"] > ZERO]
    rows = []
    for outcome, part in sel.groupby("outcome", sort=False):
        top = part["estimate"].max()
        if not np.isfinite(top) or top <= 0:
            continue
        for r in part.itertuples():
            rows.append({"parameter": r.parameter, "outcome": outcome, "relative": r.estimate / top})
    if not rows:
        return pd.DataFrame(columns=["parameter", "relative", "outcome"])
    df = pd.DataFrame(rows).sort_values("relative", ascending=False)
    best = df.drop_duplicates("parameter").head(k)
    return best[["parameter", "relative", "outcome"]].reset_index(drop=True)


#: An outcome's intervals are too wide to rank its factors when the widest 95% interval of the
#: ranking index (mu* or ST) among its factors is wider than this share of the largest index: a
#: factor's interval then reaches from well below the leader to above it, so any order of the
#: factors is consistent with the data.
MAX_RELATIVE_WIDTH = 1.0
#: Convergence verdicts, in the order of concern.
VERDICTS = ("converged", "intervals too wide", "not converged", "not checked", "no effect measured", "no indices")


def convergence_table(table: pd.DataFrame, method: str, outcomes: Sequence[str], samples: int) -> pd.DataFrame:
    """The convergence verdict of each outcome from an indices table (:func:`indices`).

    Per outcome: how many indices were compared between the first half of the design and all of
    it (``compared``), how many moved more than half their interval (``moved``, named in
    ``moved_indices``), and ``relative_width``, the widest interval of the ranking index over the
    largest such index. The verdict is ``not converged`` when an index moved, ``intervals too wide``
    when none moved but ``relative_width`` exceeds :data:`MAX_RELATIVE_WIDTH` (an index "moves"
    only by more than half its interval, so wide intervals alone would pass), ``not checked`` when
    the outcome has indices but none could be compared with the first half, ``no effect measured``
    when every ranking index is zero (the outcome did not change with any factor in these runs:
    nothing to rank, and nothing that could have moved), ``no indices`` when the outcome has none
    (no value at enough points, or the same everywhere), and ``converged`` otherwise. Empty when no check was possible (a design too small to be halved)."""
    import pandas as pd
    cols = ["method", "outcome", "samples_half", "samples", "compared", "moved", "relative_width", "verdict",
            "moved_indices"]
    mine = table[table["method"] == method]
    checked = mine[mine["moved"].notna()]
    if not len(checked):
        return pd.DataFrame(columns=cols)
    half = int(checked["samples_half"].dropna().iloc[0])
    rows = []
    for outcome in outcomes:
        part = checked[checked["outcome"] == outcome]
        rank = mine[(mine["outcome"] == outcome) & (mine["index"] == RANK_BY[method])
                    & (mine["parameter_2"].fillna("") == "") & np.isfinite(mine["estimate"].astype(float))]
        moved = part[part["moved"].astype(bool)]
        names = "; ".join(f"{r.index} {r.parameter}" + (f" x {r.parameter_2}" if r.parameter_2 else "")
                          for r in moved.itertuples())
        if not len(rank):
            rows.append({"method": method, "outcome": outcome, "samples_half": half, "samples": samples,
                         "compared": 0, "moved": 0, "relative_width": math.nan, "verdict": "no indices",
                         "moved_indices": ""})
            continue
        widest = float((rank["high"] - rank["low"]).max())
        largest = float(rank["estimate"].max())
        if widest <= ZERO:
            rel = 0.0
        else:
            rel = widest / largest if largest > ZERO else math.inf
        if len(moved):
            verdict = "not converged"
        elif largest <= ZERO:  # every factor's index is zero: the 0/0 of relative_width says nothing
            verdict, rel = "no effect measured", math.nan
        elif not len(part):  # indices at N, none of them compared with the first half of the design
            verdict = "not checked"
        elif not rel <= MAX_RELATIVE_WIDTH:  # NaN (an interval not given) counts as too wide
            verdict = "intervals too wide"
        else:
            verdict = "converged"
        rows.append({"method": method, "outcome": outcome, "samples_half": half, "samples": samples,
                     "compared": len(part), "moved": len(moved), "relative_width": rel, "verdict": verdict,
                     "moved_indices": names})
    return pd.DataFrame(rows, columns=cols)


def evaluate(design: Design, function: Callable[[np.ndarray], np.ndarray], seeds: Sequence[int], *,
             noise: Callable[[np.random.Generator, int], np.ndarray] | None = None) -> pd.DataFrame:
    """Runs of an analytic function at every point of ``design``, one per seed (replicate), as the
    experiment runner would store them: ``design_point``, ``replicate``, ``seed``, ``status`` and
    ``y``. ``noise(rng, n_points)`` adds replicate noise drawn from the replicate's own generator,
    which is the same generator at every point (common random numbers)."""
    import pandas as pd
    f = np.asarray(function(design.X), dtype=float)
    frames = []
    for k, s in enumerate(seeds):
        y = f + (noise(np.random.default_rng(s), design.n_points) if noise is not None else 0.0)
        frames.append(pd.DataFrame({"design_point": np.arange(design.n_points), "replicate": k, "seed": s,
                                    "status": "ok", "y": y}))
    return pd.concat(frames, ignore_index=True)

