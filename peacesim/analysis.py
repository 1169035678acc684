"""Summaries of a sweep's results folder (DESIGN.md section 5).

Agreement durability is a survival outcome with censoring: an agreement that is still holding when
its follow-up ends (consolidated peace) or when the run reaches its horizon has not relapsed *yet*,
and a plain mean of ``months_survived`` would treat it as if it had. Everything here therefore uses
Kaplan-Meier curves, restricted mean survival time (RMST) and Cox hazard ratios:

* :func:`load_results` reads a results folder written by the experiment runner.
* :func:`durability_table` gives, per design point (or per group of factor values), the share of
  runs that reach an agreement (Wilson interval), the median months to the first agreement, the
  share of agreements that relapse within a horizon, the median durability and the RMST, each with
  a 95% confidence interval.
* :func:`hazard_ratio` fits a Cox model of relapse on one factor, with standard errors clustered by
  seed (by run where runs do not share seeds).
* :func:`compare` gives the difference in a metric between two values of a factor, with a 95%
  confidence interval, paired by seed where the two values' runs share seeds.

Statistical notes
-----------------
* Runs whose ``status`` is not ``"ok"`` are counted (``n_failed``) and otherwise left out.
* Episodes (agreements) of one run are not independent: a run with a fragile setting may sign and
  break several agreements. And replicate *k* of a sweep has the same seed at every design point
  (common random numbers), so runs that share a seed are correlated across design points, which a
  ``by=`` table pools. The unit of independent information is the seed (:func:`_cluster_ids`; the
  run where the tables have no seeds): :func:`durability_table` clusters all its intervals by
  seed (below), :func:`hazard_ratio` clusters its standard errors by seed, and :func:`compare`
  pairs the two values' runs by seed (a paired t interval for the share reaching agreement, a
  paired bootstrap over seeds for the survival measures). ``first_only=True`` keeps only each
  run's first agreement.
* Clustered Kaplan-Meier intervals (:func:`km_summary` with ``clusters``, which
  :func:`durability_table` and the figures' bands use) take the variance of the curve from the
  grouped infinitesimal jackknife, the robust variance of the product-limit estimator for
  correlated survival times (Ying & Wei 1994, "The Kaplan-Meier estimate for dependent failure
  time observations", J. Multivariate Analysis 50(1), 17-29; Williams 1995, "Product-limit
  survival functions with correlated survival times", Lifetime Data Analysis 1(2), 171-186; the
  variance that R's ``survfit(..., cluster=, robust=TRUE)`` computes). The influence of an agreement i on
  log S(t) is ``sum over event times t_j <= t of (Y_ij d_j / n_j - dN_ij) / (n_j - d_j)`` (Y_ij: i
  at risk at t_j, dN_ij: i relapsed at t_j); the influences of a seed's agreements are summed, and
  the variance of log S(t) is the sum of the squared sums over the seeds. The band is log-log, as
  Greenwood's was. The RMST's influence is the integral of S's influence over ``[0, tau]``, so its
  variance is ``sum over seeds g of (sum_j xi_gj A_j)**2``, with ``xi_gj`` seed g's term at t_j
  above and ``A_j`` the area under S from t_j to ``tau``. With one agreement per seed both are
  exactly Greenwood's (the per-agreement terms at different event times are orthogonal and sum to
  ``d_j / (n_j (n_j - d_j))``), so a design point whose runs sign one agreement each gets the
  intervals it always had; runs with several agreements, and pooled design points that share
  seeds, get wider ones where their agreements are positively correlated (four identical copies of
  each seed's agreements give the band of one copy, not one half as wide). No small-sample factor
  G/(G-1) is applied (as in R), but the variance used is never less than Greenwood's: with 20 to a
  few dozen seeds the robust variance is itself noisy and tends to be too small (Cameron & Miller
  2015), and it can also fall below Greenwood's where a run's successive agreements are negatively
  correlated; an interval is not made narrower than the one that takes every agreement as
  independent, as :func:`clustered_share` is never narrower than the binomial interval. Where only one seed is still at risk, it has no
  other seed to be compared with, and its relapses add nothing to the robust variance: far in the
  tail, where few seeds are left, the band rests on few independent units (the sandwich
  variance's few-clusters problem, Cameron & Miller 2015).
* Few clusters: below :data:`MIN_CLUSTERS` seeds with an agreement, a cluster-robust (sandwich)
  variance or a bootstrap over clusters is too narrow (Cameron & Miller 2015, "A practitioner's
  guide to cluster-robust inference", J. Human Resources 50(2)), and the Greenwood intervals of a
  handful of agreements are no better. :func:`durability_table` then reports the durability
  measures as not estimable (NaN, ``durability_estimable = False``), :func:`hazard_ratio` gives
  the ratio without interval or p-value, and :func:`compare` gives no survival difference; each
  says why.
* Without clusters (:func:`km_summary`, :func:`rmst` called without ``clusters``) the RMST variance
  is the Greenwood-type estimator (Klein & Moeschberger 2003, section 4.5):
  ``sum over event times t_j <= tau of A_j**2 * d_j / (n_j * (n_j - d_j))`` with
  ``A_j = integral from t_j to tau of S(u) du``. ``lifelines.utils.restricted_mean_survival_time``
  gives the point estimate (used here), but the "variance" it returns with
  ``return_variance=True`` is the variance of the restricted lifetime ``min(T, tau)`` itself, not
  the sampling variance of the estimate, so it cannot be used for a confidence interval.
* Where the variance is degenerate the intervals use exact binomial (Clopper-Pearson) bounds
  instead: before the first relapse the lower band of S(t) is the exact bound for 0 events among
  the agreements followed past t (and the RMST's lower limit is ``tau`` times that bound at
  ``tau``, its standard error NaN); where the last agreements at risk relapse and the curve drops
  to zero, the upper band is the band before times the exact upper bound for 0 survivors among
  those at risk. With clusters, these bounds count the seeds, not the agreements: the seeds with
  an agreement followed past t, or at risk at the drop. Agreements of one seed are not
  independent trials (four copies of one agreement are one trial), and the seeds are, so the
  bound is the one for as many independent trials as there are seeds, as the share reaching an
  agreement counts seeds where it is 0 or 1 (:func:`clustered_share`). This is conservative
  where a seed's agreements are nearly independent of each other. Medians' intervals are read
  from this band (Brookmeyer & Crowley 1982).
* A Kaplan-Meier quantity at time ``tau`` is reported as NaN when no agreement was followed that
  long (the curve is not identified there). A median that is not reached is ``inf``: it is longer
  than the longest follow-up observed (``longest_followup``), not than the follow-up period.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm
from scipy.stats import t as student_t

from .errors import InputError
from .params import REGISTRY
from .words import words

__all__ = [
    "Results",
    "Comparison",
    "METRICS",
    "months_text",
    "load_results",
    "results_from_frames",
    "durability_table",
    "hazard_ratio",
    "compare",
    "wilson_interval",
    "clustered_share",
    "km_summary",
    "rmst",
    "factor_label",
    "value_label",
    "group_label",
    "MIN_CLUSTERS",
]

RUN_KEYS = ("design_point", "replicate")

#: The fewest independent clusters (seeds with an agreement) a durability measure, a clustered
#: interval or a bootstrap over seeds needs. With fewer, a cluster-robust variance or a bootstrap
#: over clusters is too narrow (Cameron & Miller 2015), and a handful of agreements gives
#: Kaplan-Meier bands that collapse to a point. The same threshold as ``validation.MIN_CLUSTERS``.
MIN_CLUSTERS = 20
#: A fitted log hazard ratio across the whole range swept beyond this (a ratio of over three million
#: between its ends) is taken for complete separation, which the fit does not always announce.
SEPARATION_LOG_HR = 15.0

#: Resamples of the paired bootstrap over seeds in :func:`compare`.
BOOTSTRAP = 2000
#: Entropy added to the master seed for :func:`compare`'s bootstrap (reproducible, and not the
#: stream of any run).
BOOTSTRAP_STREAM = 0x53574545
REQUIRED_RUN_COLUMNS = ("design_point", "replicate", "status")
REQUIRED_EPISODE_COLUMNS = ("design_point", "replicate", "months_survived", "relapsed")


@dataclass(frozen=True)
class Metric:
    """A column triple of :func:`durability_table` and how to talk about it."""

    key: str
    column: str
    low: str
    high: str
    label: str
    unit: str
    percent: bool = False

    def text(self, horizon: float, followup: float | None = None) -> str:
        """The label in words at ``horizon`` months (and a follow-up of ``followup`` months):
        "share of agreements that relapse within 1 month", "... within 60 months"."""
        return self.label.format(horizon=months_text(horizon),
                                 followup=f"{followup if followup is not None else horizon:g}")


def months_text(n: float) -> str:
    """``n`` months in words: "1 month", "60 months", "1.5 months"."""
    return f"{n:g} month" + ("" if n == 1 else "s")


#: Metrics that :func:`durability_table` reports with a confidence interval, by short key. Plots
#: and :func:`compare` take these keys. A label's ``{horizon}`` is the horizon in words ("60
#: months", "1 month") and ``{followup}`` the follow-up in months (a number): :meth:`Metric.text`
#: fills them in.
METRICS: dict[str, Metric] = {
    m.key: m
    for m in [
        Metric("rmst", "rmst", "rmst_low", "rmst_high",
               "mean months an agreement holds, within its first {horizon} (RMST)", "months"),
        Metric("rmst_followup", "rmst_followup", "rmst_followup_low", "rmst_followup_high",
               "mean months an agreement holds, within its {followup}-month follow-up (RMST)", "months"),
        Metric("median", "median_durability", "median_durability_low", "median_durability_high",
               "median months an agreement holds", "months"),
        Metric("relapse", "relapse_share", "relapse_share_low", "relapse_share_high",
               "share of agreements that relapse within {horizon}", "share", percent=True),
        Metric("p_agreement", "p_agreement", "p_agreement_low", "p_agreement_high",
               "share of runs that reach an agreement", "share", percent=True),
        Metric("months_to_agreement", "months_to_agreement", "months_to_agreement_low",
               "months_to_agreement_high", "median months to the first agreement", "months"),
    ]
}


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
@dataclass
class Results:
    """A sweep's results: one row per run, one row per agreement episode, the manifest.

    ``runs``, ``episodes`` and ``series`` carry a ``run_id`` column (one integer per design point
    and replicate) added on loading; ``factors`` lists the varied parameters in manifest order.
    """

    runs: pd.DataFrame
    episodes: pd.DataFrame
    series: pd.DataFrame | None
    manifest: dict[str, Any]
    factors: list[str]
    path: Path | None = None
    _levels: dict[str, list[Any]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        # one line: the default would print both tables and the whole manifest (scenario text included)
        failed = int((self.runs["status"] != "ok").sum())
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        series = f", {len(self.series)} series rows" if self.series is not None else ""
        return (f"<Results {self.name!r}: {len(self.runs)} runs ({failed} failed), {len(self.episodes)} agreements"
                f"{series}; factors {', '.join(self.factors) or '(none)'}{where}>")

    @property
    def name(self) -> str:
        return str(self.manifest.get("name") or (self.path.name if self.path else "results"))

    @property
    def title(self) -> str:
        return str(self.manifest.get("title") or self.name)

    @property
    def question(self) -> str:
        return str(self.manifest.get("question") or "")

    @property
    def ok_runs(self) -> pd.DataFrame:
        """Runs that finished (``status == "ok"``)."""
        return self.runs[self.runs["status"] == "ok"]

    @property
    def ok_episodes(self) -> pd.DataFrame:
        """Episodes of runs that finished."""
        ok = set(self.ok_runs["run_id"])
        return self.episodes[self.episodes["run_id"].isin(ok)]

    @property
    def followup_months(self) -> float:
        """Longest follow-up of an agreement in these results (months)."""
        if "followup_months" in self.runs and self.runs["followup_months"].notna().any():
            return float(self.runs["followup_months"].max())
        return float(_manifest_param(self.manifest, "followup_months", REGISTRY["followup_months"].default))

    def levels(self, factor: str) -> list[Any]:
        """The values a factor takes, in design order (numbers sorted)."""
        if factor not in self._levels:
            self._levels[factor] = _levels(self.runs, factor, self.manifest)
        return self._levels[factor]

    def is_numeric(self, factor: str) -> bool:
        """True for a numeric (not boolean, not text) factor."""
        return _is_numeric(self.runs[factor])

    def linked(self, factor: str) -> list[str]:
        """Other parameters the experiment varies together with ``factor`` (manifest
        ``factor_parameters``), e.g. ``tenure_diplomat`` with ``tenure_mediator``."""
        groups = self.manifest.get("factor_parameters") or {}
        for params in groups.values() if isinstance(groups, dict) else ():
            if isinstance(params, list) and params and params[0] == factor:
                return [q for q in params[1:] if isinstance(q, str)]
        return []

    def axis_label(self, factor: str) -> str:
        """:func:`factor_label` plus a note on parameters varied with it."""
        text = factor_label(factor)
        others = self.linked(factor)
        if others:
            same = all(q in self.runs and (self.runs[q] == self.runs[factor]).all() for q in others)
            names = " and ".join(q.replace("_", " ") for q in others)
            text += f"; {names} {'set to the same value' if same else 'varied with it'}"
        return text

    def factor_title(self, factor: str) -> str:
        """Short name of a factor for legends and titles: 'tenure mediator (+ tenure diplomat)'."""
        others = self.linked(factor)
        base = factor.replace("_", " ")
        return base + (" (+ " + ", ".join(q.replace("_", " ") for q in others) + ")" if others else "")

    def design_table(self) -> pd.DataFrame:
        """One row per design point with its factor values."""
        cols = ["design_point", *self.factors]
        return self.runs[cols].drop_duplicates("design_point").sort_values("design_point").reset_index(drop=True)


def load_results(path: str | Path) -> Results:
    """Read a results folder written by the experiment runner.

    The folder holds ``manifest.json``, ``runs.parquet``, ``episodes.parquet`` and optionally
    ``series.parquet``. Raises :class:`~peacesim.errors.InputError` with a one-line message when
    the folder or a file is missing or is not a peacesim results folder.
    """
    from .scenario import user_path

    if (not isinstance(path, (str, os.PathLike)) or not isinstance(os.fspath(path), str)
            or not os.fspath(path).strip() or "\x00" in os.fspath(path)):
        raise InputError(f"results folder {words(path)} is not allowed; expected the path of a sweep's results "
                         "folder, as a text or a Path")
    p = user_path(path)
    if not p.exists():
        raise InputError(f"results folder '{p}' does not exist")
    if not p.is_dir():
        raise InputError(f"'{p}' is not a folder; expected a peacesim results folder "
                         "with manifest.json, runs.parquet and episodes.parquet" + _not_a_folder_hint(p))
    mpath = p / "manifest.json"
    if not mpath.is_file():
        from .fsutil import owner

        kind = owner(p)[0]
        waves = sorted((q.name for q in p.glob("wave-*") if (q / "manifest.json").is_file()),
                       key=lambda n: int(n[5:]) if n[5:].isdigit() else 0)
        what = {"run": "holds the results of one run ('peacesim run'), not a sweep's: its tables are series.csv and "
                       "episodes.csv",
                "calibration": "holds a calibration, not a sweep's results: each wave is a sweep's results folder"
                               + (f" (the last one: '{p / waves[-1]}')" if waves else " (wave-N)"),
                "validation": "holds a validation, not a sweep's results: each pattern's folder under quick/ or full/ "
                              "is one"}.get(kind or "")
        if what is not None:
            raise InputError(f"'{p}' {what}")
        try:
            inner = sorted(q for q in p.iterdir() if q.is_dir() and (q / "manifest.json").is_file())
        except OSError:
            inner = []
        if inner:  # a folder of results folders, such as results/
            shown = ", ".join(f"'{q}'" for q in inner[:3]) + (f" and {len(inner) - 3} more" if len(inner) > 3 else "")
            raise InputError(f"'{p}' is not a results folder itself but holds {len(inner)} results folders: {shown}; "
                             "give one of them" if len(inner) > 1 else
                             f"'{p}' is not a results folder itself but holds one: {shown}; give that folder")
        raise InputError(f"'{p}' is not a peacesim results folder: manifest.json is missing")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{mpath}: not valid JSON ({_one_line(e)})") from None
    if not isinstance(manifest, dict):
        raise InputError(f"{mpath}: expected a JSON object, got {type(manifest).__name__}")
    if isinstance(manifest.get("tables_pending"), dict) and manifest["tables_pending"]:
        # the sweep stopped while it put new tables in place: some may be new and some old
        raise InputError(f"'{p}': the sweep stopped while it wrote its tables, so they may not go together; run "
                         "the same 'peacesim sweep' command again to finish them")
    frames = {}
    recorded = manifest.get("tables")
    for name in ("runs", "episodes", "series"):
        fp = p / f"{name}.parquet"
        if name == "series" and isinstance(recorded, dict) and "series.parquet" not in recorded:
            fp = p / "no-series"  # a series table the sweep did not write is not its results
        if not fp.is_file():
            if name == "series":
                frames[name] = None
                continue
            raise InputError(_incomplete(p, manifest, f"{name}.parquet"))
        try:
            frames[name] = pd.read_parquet(fp)
        except Exception as e:  # pyarrow raises several kinds
            raise InputError(f"{fp}: cannot be read as parquet ({_one_line(e)})") from None
    total = manifest.get("runs_total")
    if (manifest.get("status") in ("running", "interrupted", "stopped") and isinstance(total, int)
            and len(frames["runs"]) != total):
        # the tables of the sweep before an extension to more replicates that has not finished
        raise InputError(_incomplete(p, manifest, "runs.parquet"))
    return results_from_frames(frames["runs"], frames["episodes"], manifest, series=frames["series"], path=p)


def _incomplete(p: Path, manifest: dict[str, Any], missing: str) -> str:
    """Why a results folder has no tables: a sweep that did not finish says so, with how far it got."""
    status = manifest.get("status")
    done, total = manifest.get("runs_done"), manifest.get("runs_total")
    if manifest.get("schema") != "peacesim sweep manifest" or status not in ("running", "interrupted", "stopped"):
        return f"'{p}' is not a complete peacesim results folder: {missing} is missing"
    if status == "running":  # killed, or still running: the manifest's count is from its start
        return (f"'{p}': the sweep did not finish (its process was stopped while it ran, or it is still running; "
                f"{total if isinstance(total, int) else 'its'} runs in all); run the same 'peacesim sweep' command "
                "again to finish it")
    howfar = (f"{done} of {total} runs done" if isinstance(done, int) and isinstance(total, int)
              else "not every run done")
    what = "was interrupted" if status == "interrupted" else "stopped" + (
        f" ({_one_line(Exception(manifest['error']))})" if manifest.get("error") else "")
    from .store import unfinished_extension

    last = unfinished_extension(manifest)
    if last is not None:
        first = last["from_replicates"]
        earlier = "the first replicate" if first == 1 else f"the {first} replicates"
        what += (f" while being extended from {first} to {last['to_replicates']} replicates; the "
                 f"tables there are still those of {earlier}")
    return f"'{p}': the sweep {what} ({howfar}); run the same 'peacesim sweep' command again to finish it"


def _not_a_folder_hint(p: Path) -> str:
    """Where the results are, for a file given instead of its results folder: a table or manifest
    of a sweep (its folder), or an experiment file (the folder its sweep writes by default)."""
    if p.name in ("runs.parquet", "episodes.parquet", "series.parquet", "manifest.json", "summary.csv",
                  "report.md"):
        return f": give the folder that holds it, '{p.parent}'"
    if p.suffix.lower() == ".toml":
        try:
            from .experiment import read_toml

            _, raw = read_toml(p)
            meta = raw.get("experiment") if isinstance(raw, dict) else None
            name = meta.get("name") if isinstance(meta, dict) else None
        except Exception:  # a file that is no experiment: the hint is then the general one
            name = None
        from .fsutil import slug

        folder = Path("results") / slug(name if isinstance(name, str) and name else p.stem, "experiment")
        return (f"; '{p.name}' is an experiment file: its sweep's results are in '{folder}' unless it was run "
                "with --out")
    return ""


def results_from_frames(runs: pd.DataFrame, episodes: pd.DataFrame, manifest: dict[str, Any], *,
                        series: pd.DataFrame | None = None, path: str | Path | None = None) -> Results:
    """Build :class:`Results` from tables in memory (same checks as :func:`load_results`)."""
    where = f"{path}" if path is not None else "results"
    factors = manifest.get("factors")
    if factors is None:
        raise InputError(f"{where}: manifest.json has no 'factors' list; not a peacesim results folder")
    if isinstance(factors, str) or not isinstance(factors, list) or not all(isinstance(f, str) for f in factors):
        raise InputError(f"{where}: manifest 'factors' = {words(factors)} must be a list of parameter names")
    missing = [c for c in (*REQUIRED_RUN_COLUMNS, *factors) if c not in runs.columns]
    if missing:
        raise InputError(f"{where}: runs.parquet lacks column(s) {', '.join(missing)}")
    missing = [c for c in REQUIRED_EPISODE_COLUMNS if c not in episodes.columns]
    if missing:
        raise InputError(f"{where}: episodes.parquet lacks column(s) {', '.join(missing)}")
    runs = runs.copy()
    episodes = episodes.copy()
    if runs.duplicated(list(RUN_KEYS)).any():
        raise InputError(f"{where}: runs.parquet has more than one row for a design_point and replicate")
    runs = runs.sort_values(list(RUN_KEYS)).reset_index(drop=True)
    _fill_scenario_values(runs, factors, manifest)
    runs["status"] = runs["status"].astype(str)
    runs["run_id"] = np.arange(len(runs), dtype=np.int64)
    if "months" not in runs.columns:
        runs["months"] = _manifest_param(manifest, "months", REGISTRY["months"].default)
    if "followup_months" not in runs.columns:
        runs["followup_months"] = _manifest_param(manifest, "followup_months", REGISTRY["followup_months"].default)
    ids = runs[[*RUN_KEYS, "run_id"]]
    episodes = episodes.drop(columns=[c for c in ("run_id",) if c in episodes.columns])
    episodes = episodes.merge(ids, on=list(RUN_KEYS), how="left", validate="many_to_one")
    if episodes["run_id"].isna().any():
        n = int(episodes["run_id"].isna().sum())
        raise InputError(f"{where}: episodes.parquet has {n} episode(s) of runs not in runs.parquet")
    episodes["run_id"] = episodes["run_id"].astype(np.int64)
    # factor values of an episode come from its run (the runner may or may not copy them), and
    # stand where they stand in the runs table: after the keys, in the order the experiment
    # declares them (every parameter of a group, too), run_id last
    columns = _factor_columns(manifest, factors, runs)
    episodes = episodes.drop(columns=[f for f in columns if f in episodes.columns])
    episodes = episodes.merge(runs[["run_id", *columns]], on="run_id", how="left")
    keys = [c for c in (*RUN_KEYS, "seed") if c in episodes.columns]
    rest = [c for c in episodes.columns if c not in keys and c not in columns and c != "run_id"]
    episodes = episodes[[*keys, *columns, *rest, "run_id"]]
    episodes["relapsed"] = episodes["relapsed"].astype(bool)
    episodes["months_survived"] = episodes["months_survived"].astype(float)
    # an experiment may keep only some outcomes; what the analysis needs follows from the episodes
    ok = runs["status"] == "ok"
    if "agreement_reached" not in runs.columns:
        runs["agreement_reached"] = runs["run_id"].isin(episodes["run_id"]) & ok
    if "months_to_first_agreement" not in runs.columns:
        if "signed_month" not in episodes.columns:
            raise InputError(f"{where}: runs.parquet lacks months_to_first_agreement and episodes.parquet "
                             "lacks signed_month")
        first = episodes.groupby("run_id")["signed_month"].min()
        runs["months_to_first_agreement"] = runs["run_id"].map(first).astype(float)
    runs["months_to_first_agreement"] = pd.to_numeric(runs["months_to_first_agreement"], errors="coerce")
    _type_outcomes(runs)
    if series is not None:
        series = _series_with_run_id(series, runs, where, _factor_columns(manifest, factors, runs))
    return Results(runs=runs, episodes=episodes, series=series, manifest=dict(manifest),
                   factors=list(factors), path=Path(path) if path is not None else None)


def _fill_scenario_values(runs: pd.DataFrame, factors: list[str], manifest: dict[str, Any]) -> None:
    """A model-wide parameter's factor column is null where a ``[[design]]`` table (or a
    comparison's strategy) leaves it to the scenario: those runs get the value they ran with, the
    experiment's ``[parameters]`` value or the scenario file's (the text the sweep read), else the
    registry's default, so that they count at that value in every table and comparison."""
    import tomllib

    gaps = [f for f in factors if f in REGISTRY and f in runs.columns and runs[f].isna().any()]
    if not gaps:
        return
    fixed = manifest.get("fixed") if isinstance(manifest.get("fixed"), dict) else {}
    try:
        text = manifest.get("scenario_text")
        own = tomllib.loads(text).get("parameters", {}) if isinstance(text, str) else {}
    except tomllib.TOMLDecodeError:
        own = {}
    own = own if isinstance(own, dict) else {}
    for f in gaps:
        value = fixed[f] if f in fixed else own[f] if f in own else REGISTRY[f].default
        filled = runs[f].astype(object).where(runs[f].notna(), value)
        try:
            runs[f] = filled.infer_objects()
        except (TypeError, ValueError):  # pragma: no cover - a value pandas cannot hold with the others
            runs[f] = filled
        if REGISTRY[f].kind == "int" and pd.api.types.is_float_dtype(runs[f]) and (runs[f] % 1 == 0).all():
            runs[f] = runs[f].astype(np.int64)


def _series_with_run_id(series: pd.DataFrame, runs: pd.DataFrame, where: str,
                        factors: list[str] = ()) -> pd.DataFrame:
    """The series table with the ``run_id`` of each month's run added at the end, as on the
    other two tables, and its factor columns as the runs table has them (a gap the design left
    to the scenario filled): a lookup of the keys, not a merge, since a series table has a row a
    month, and no copy of its data."""
    missing = [c for c in RUN_KEYS if c not in series.columns]
    if missing:
        raise InputError(f"{where}: series.parquet lacks column(s) {', '.join(missing)}")
    keys = pd.MultiIndex.from_frame(runs[list(RUN_KEYS)])
    at = keys.get_indexer(pd.MultiIndex.from_frame(series[list(RUN_KEYS)]))
    if (at < 0).any():
        n = int((at < 0).sum())
        raise InputError(f"{where}: series.parquet has {n} row(s) of runs not in runs.parquet")
    series = series.copy(deep=False)  # (the caller's frame stays as it was; its columns are shared)
    for f in factors:
        if f in series.columns and f in runs.columns:
            series[f] = runs[f].to_numpy()[at]
    if "run_id" in series.columns:
        del series["run_id"]
    series["run_id"] = runs["run_id"].to_numpy()[at]
    return series


def _factor_columns(manifest: dict[str, Any], factors: list[str], runs: pd.DataFrame) -> list[str]:
    """The factor columns of the runs table in the experiment's order: the keys of the design
    points' values (each parameter of a group, each key of a ``[[design]]`` table), as the sweep
    wrote them, else the manifest's ``factors``."""
    cols: list[str] = []
    for d in manifest.get("design") or []:
        values = d.get("values") if isinstance(d, dict) else None
        for k in values if isinstance(values, dict) else ():
            if isinstance(k, str) and k not in cols and k in runs.columns:
                cols.append(k)
    return cols + [f for f in factors if f not in cols]


def _type_outcomes(runs: pd.DataFrame) -> None:
    """Give the outcome columns of ``runs`` the types a sweep stores them with
    (:func:`peacesim.parts.run_types`; docs/RESULTS.md): ``boolean``, ``Int64`` or ``float64``,
    whether or not a run failed. Tables of earlier versions (``bool`` and ``int64`` where no run
    failed, ``object`` where a column was missing in every row) and tables made by hand read alike.
    A column whose values do not fit its type (not whole numbers, say) is left as it is."""
    from .parts import outcome_dtypes

    for name, want in outcome_dtypes().items():
        if name not in runs.columns or str(runs[name].dtype) == want:
            continue
        try:
            runs[name] = runs[name].astype(want)
        except (TypeError, ValueError):
            pass


def _manifest_param(manifest: dict[str, Any], name: str, default: Any) -> Any:
    scen = manifest.get("scenario")
    for src in (manifest, manifest.get("params") or {}, scen if isinstance(scen, dict) else {}):
        if isinstance(src, dict) and name in src and isinstance(src[name], (int, float)):
            return src[name]
    return default


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split())[:200]


def _is_numeric(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)


def _levels(runs: pd.DataFrame, factor: str, manifest: dict[str, Any]) -> list[Any]:
    vals = runs[factor].dropna()
    if _is_numeric(vals):
        return sorted(vals.unique().tolist())
    order: list[Any] = []
    for d in manifest.get("design") or []:
        v = (d.get("values") or {}).get(factor) if isinstance(d, dict) else None
        if v is not None and v not in order and v in set(vals):
            order.append(v)
    for v in vals:  # values in run order for anything the manifest did not list
        if v not in order:
            order.append(v)
    return order


# ---------------------------------------------------------------------------------------------
# Words for factors and values (registry meanings and units)
# ---------------------------------------------------------------------------------------------
def factor_label(factor: str, *, unit: bool = True) -> str:
    """A factor's meaning in plain words, with its unit: for axis labels."""
    p = REGISTRY.get(factor)
    if p is None:
        return factor.replace("_", " ")
    text = p.meaning or factor.replace("_", " ")
    # the first clause names the quantity; what follows a colon or semicolon explains it
    text = text.split(":")[0].split(";")[0].strip()
    text = text[0].upper() + text[1:]
    if unit and p.unit and p.unit not in ("share", "probability", "factor"):
        text += f" ({p.unit})"
    elif unit and p.unit in ("share", "probability"):
        text += f" ({p.unit}, 0 to 1)"
    return text


def value_label(factor: str, value: Any) -> str:
    """``'tenure mediator = 12 months'``: a factor's value in short words for legends and tables.
    A missing value (a ``[[design]]`` row that does not set the factor) is the scenario's value."""
    p = REGISTRY.get(factor)
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return f"{factor.replace('_', ' ')} = the scenario's value"
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        v = str(int(value))
    elif isinstance(value, (float, np.floating)):
        v = f"{float(value):g}"
    elif isinstance(value, (bool, np.bool_)):
        v = "yes" if value else "no"
    else:
        v = str(value).replace("_", " ")
    if p is not None and p.unit == "months":
        v += " months" if v != "1" else " month"
    return f"{factor.replace('_', ' ')} = {v}"


def group_label(values: dict[str, Any]) -> str:
    """Label of a design point or group from its factor values."""
    if not values:
        return "all runs"
    return ", ".join(value_label(k, v) for k, v in values.items())


# ---------------------------------------------------------------------------------------------
# Estimators
# ---------------------------------------------------------------------------------------------
def wilson_interval(k: int, n: int, *, alpha: float = 0.05) -> tuple[float, float, float]:
    """Share ``k/n`` with its Wilson score interval: ``(p, low, high)``; NaNs when ``n == 0``.
    ``k`` and ``n`` may be effective (not whole) counts, as :func:`clustered_share` gives them."""
    n = _check_number(n, "wilson_interval: n", low=0)
    k = _check_number(k, "wilson_interval: k", low=0, high=n)
    if n <= 0:
        return (math.nan, math.nan, math.nan)
    z = float(norm.ppf(1 - alpha / 2))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if k <= 0 else max(0.0, centre - half)
    high = 1.0 if k >= n else min(1.0, centre + half)
    return (p, low, high)


def clustered_share(reached: Sequence[bool], clusters: Sequence[Any], *,
                    alpha: float = 0.05) -> tuple[float, float, float]:
    """Share of runs with its Wilson interval, runs of one cluster (one seed) counted as correlated.

    Where every cluster holds one run this is :func:`wilson_interval`. Where clusters hold several
    (design points pooled in a ``by=`` table share their seeds), the Wilson interval is taken at the
    effective sample size n / deff, with Kish's design effect deff from the cluster-robust variance
    of the share, G/(G-1) sum_g (y_g - p m_g)^2 / n^2 over the G clusters (never more than n: the
    interval is never narrower than the binomial one); a share of 0 or 1 has no variance to read
    a design effect from and counts the G clusters as its cases (Korn & Graubard 1998)."""
    r = np.asarray(reached, dtype=bool)
    n = len(r)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    codes, uniques = pd.factorize(np.asarray(clusters))
    G = len(uniques)
    k = int(r.sum())
    if G >= n or G < 2:
        return wilson_interval(k, n, alpha=alpha)
    p = k / n
    if k in (0, n):
        n_eff = float(G)
    else:
        y = np.bincount(codes, weights=r.astype(float), minlength=G)
        m = np.bincount(codes, minlength=G).astype(float)
        var = G / (G - 1) * float(np.sum((y - p * m) ** 2)) / (n * n)
        deff = var / (p * (1 - p) / n)
        n_eff = float(n) if deff <= 1 else n / deff
    _, low, high = wilson_interval(p * n_eff, n_eff, alpha=alpha)
    return (p, low, high)


def _km_sample(durations: Sequence[float], events: Sequence[bool], where: str) -> tuple[np.ndarray, np.ndarray]:
    """``durations`` and ``events`` as float and bool arrays of one length, or a one-line
    :class:`InputError`: a duration must be a number of at least 0 (months), an event true or false
    (or 1 or 0), and neither may be missing (a failed run's outcomes are: keep the finished runs)."""
    def values(x: Any, name: str) -> np.ndarray:
        try:
            frame = pd.Series(list(x) if not isinstance(x, (pd.Series, np.ndarray, pd.api.extensions.ExtensionArray))
                              else x)
        except TypeError:
            raise InputError(f"{where}: {name} = {words(x)} is not allowed; expected a sequence of values") from None
        if frame.isna().any():
            raise InputError(f"{where}: {name} has {int(frame.isna().sum())} missing value(s) of {len(frame)}; "
                             "keep the finished runs (status 'ok') or the rows with a value")
        try:
            return frame.to_numpy(dtype=float)
        except (TypeError, ValueError):
            bad = next((v for v in frame if not isinstance(v, (int, float, np.number, bool, np.bool_))), frame.iloc[0])
            raise InputError(f"{where}: {name} holds {words(bad)}; expected numbers") from None
    d = values(durations, "durations")
    ev = values(events, "events")
    if len(d) != len(ev):
        raise InputError(f"{where}: {len(d)} durations but {len(ev)} events; give one event (true or false) per "
                         "duration")
    if len(d) and (not np.isfinite(d).all() or (d < 0).any()):
        bad = d[~np.isfinite(d) | (d < 0)][0]
        raise InputError(f"{where}: durations holds {words(float(bad))}; expected months of at least 0")
    if len(ev) and not np.isin(ev, (0.0, 1.0)).all():
        bad = ev[~np.isin(ev, (0.0, 1.0))][0]
        raise InputError(f"{where}: events holds {words(float(bad))}; expected true or false (1 or 0)")
    return d, ev.astype(bool)


def _fit_km(durations: Sequence[float], events: Sequence[bool], *, alpha: float = 0.05, label: str = "KM"):
    from lifelines import KaplanMeierFitter

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return KaplanMeierFitter(alpha=alpha, label=label).fit(
            np.asarray(durations, dtype=float), np.asarray(events, dtype=bool))


def _step_area(kmf) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Breakpoints, survival after each breakpoint, and the area under S from 0 to each breakpoint."""
    sf = kmf.survival_function_
    t = sf.index.to_numpy(dtype=float)
    s = sf.iloc[:, 0].to_numpy(dtype=float)
    if t[0] > 0:
        t = np.r_[0.0, t]
        s = np.r_[1.0, s]
    cum = np.r_[0.0, np.cumsum(s[:-1] * np.diff(t))]
    return t, s, cum


def _area(t: np.ndarray, s: np.ndarray, cum: np.ndarray, x: np.ndarray | float) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    i = np.clip(np.searchsorted(t, x, side="right") - 1, 0, len(t) - 1)
    return cum[i] + s[i] * (x - t[i])


def _identified_at(kmf, tau: float) -> bool:
    """The KM curve is known up to ``tau``: someone was followed that long, or it reached zero."""
    d = np.asarray(kmf.durations, dtype=float)
    return bool(len(d)) and (d.max() >= tau or float(kmf.survival_function_.iloc[-1, 0]) == 0.0)


def rmst(kmf, tau: float, *, alpha: float = 0.05,
         clusters: Sequence[Any] | None = None) -> tuple[float, float, float, float]:
    """Restricted mean survival time of a fitted Kaplan-Meier curve up to ``tau``.

    Returns ``(rmst, se, low, high)``: the point estimate from
    :func:`lifelines.utils.restricted_mean_survival_time`, its standard error and a normal
    ``1 - alpha`` interval clipped to ``[0, tau]``. The standard error is the Greenwood-type one,
    or with ``clusters`` (one label per duration the curve was fitted to, in the same order) the
    cluster-robust one: the influence of each cluster on S integrated over ``[0, tau]`` (see the
    module notes). With no relapse by ``tau`` the standard error is NaN and the interval runs from
    ``tau`` times the exact lower bound of S(tau) (0 events among those followed to ``tau``,
    counted as clusters where ``clusters`` is given) to ``tau``. NaNs when the curve is not
    identified up to ``tau``.
    """
    from lifelines.utils import restricted_mean_survival_time

    if kmf is None or not _identified_at(kmf, tau):
        return (math.nan,) * 4
    codes = _cluster_codes(clusters, len(kmf.durations))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = float(restricted_mean_survival_time(kmf, t=tau))
    t, s, cum = _step_area(kmf)
    et = kmf.event_table
    tj = et.index.to_numpy(dtype=float)
    d = et["observed"].to_numpy(dtype=float)
    n = et["at_risk"].to_numpy(dtype=float)
    if not ((d > 0) & (tj <= tau)).any():
        # No relapse by tau: the RMST is tau and its variance is 0, which says nothing about the
        # sampling error. S is at least its exact lower bound on [0, tau] (0 events among those, or
        # the clusters, followed to tau), so the RMST is at least tau times that bound.
        n_tau = int(_followed_clusters(kmf.durations, codes, [tau])[0])
        return (est, math.nan, float(tau) * _exact_low(n_tau, alpha), float(tau))
    if ((d > 0) & (d >= n) & (tj <= tau)).any():
        # The curve falls to zero by tau (the last agreements at risk all relapsed): the variance
        # leaves out that drop and can be 0. The interval is the area under the band of the curve,
        # whose bounds are exact where the variance is degenerate (_band).
        band = _band(kmf, alpha, clusters=codes)
        bt = band.index.to_numpy(dtype=float)
        if bt[0] > 0:  # the curve is 1 before its first time
            bt = np.r_[0.0, bt]
            band = pd.concat([pd.DataFrame({"lower": [1.0], "upper": [1.0]}), band], ignore_index=True)
        return (est, math.nan, _step_integral(bt, band["lower"].to_numpy(float), tau),
                _step_integral(bt, band["upper"].to_numpy(float), tau))
    keep = (d > 0) & (tj <= tau) & (n > d)
    a = float(_area(t, s, cum, tau)) - _area(t, s, cum, tj[keep])
    var = float(np.sum(a * a * d[keep] / (n[keep] * (n[keep] - d[keep]))))
    if codes is not None:
        # the RMST's influence is the integral of S's over [0, tau]; never less than Greenwood's
        var = max(var, _rmst_variance(kmf, codes, tau, lambda x: _area(t, s, cum, x)))
    se = math.sqrt(max(var, 0.0))
    z = float(norm.ppf(1 - alpha / 2))
    return (est, se, max(0.0, est - z * se), min(float(tau), est + z * se))


def _followed(durations, t) -> np.ndarray:
    """How many of ``durations`` were followed at least until each time in ``t`` (at risk at t, the
    count lifelines' event table and every exact bound here use)."""
    d = np.sort(np.asarray(durations, dtype=float))
    return len(d) - np.searchsorted(d, np.asarray(t, dtype=float), side="left")


def _cluster_codes(clusters: Sequence[Any] | None, n: int) -> np.ndarray | None:
    """Integer codes 0..G-1 of ``clusters`` (one label per duration; a missing label is a cluster
    of its own), or None where there are no clusters (each duration independent)."""
    if clusters is None:
        return None
    codes = pd.factorize(pd.Series(np.asarray(clusters)).to_numpy())[0].astype(np.int64)
    if len(codes) != n:
        raise ValueError(f"clusters has {len(codes)} labels for {n} durations")
    missing = codes < 0
    if missing.any():
        codes[missing] = codes.max(initial=-1) + 1 + np.arange(int(missing.sum()))
    return codes


def _followed_clusters(durations, codes: np.ndarray | None, t) -> np.ndarray:
    """How many clusters have an agreement followed at least until each time in ``t`` (the
    independent units at risk at t); :func:`_followed` where there are no clusters."""
    if codes is None:
        return _followed(durations, t)
    d = np.asarray(durations, dtype=float)
    longest = np.full(int(codes.max(initial=-1)) + 1, -np.inf)
    np.maximum.at(longest, codes, d)
    return _followed(longest, t)


#: Cells (clusters x event times) of the influence computed at once: bounds the memory a curve with
#: many clusters and many distinct event times needs.
_INFLUENCE_BLOCK = 1 << 20


def _influence(durations, events, codes: np.ndarray):
    """The influence of each cluster on log S at each event time, in blocks of event times.

    Yields ``(times, xi)`` for consecutive blocks of the event times t_j, with
    ``xi[g, j] = (h_j R_gj - D_gj) / (n_j - d_j)``: the derivative of log(1 - d_j / n_j) with respect
    to the weights of cluster g's agreements (``R_gj`` of them at risk at t_j, ``D_gj`` relapsing
    there; ``h_j = d_j / n_j``). The influence of cluster g on S(t) is
    ``S(t) * sum_{t_j <= t} xi[g, j]`` (the infinitesimal jackknife of the product-limit
    estimator); it is 0 where the curve drops to zero (n_j = d_j), whose band is exact instead."""
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=bool)
    times = np.unique(t[e])
    m = len(times)
    g = int(codes.max(initial=-1)) + 1
    n = _followed(t, times).astype(float)
    j_dead = np.searchsorted(times, t[e])
    g_dead = codes[e]
    d = np.bincount(j_dead, minlength=m).astype(float)
    # an agreement is at risk at the event times before index k (those up to its own time)
    k = np.searchsorted(times, t, side="right")
    width = max(1, _INFLUENCE_BLOCK // max(g, 1))
    for j0 in range(0, m, width):
        j1 = min(m, j0 + width)
        w = j1 - j0
        throughout = np.bincount(codes[k >= j1], minlength=g)
        inside = (k > j0) & (k < j1)  # at risk at the block's times before k only
        exits = np.bincount(codes[inside] * (w + 1) + (k[inside] - j0), minlength=g * (w + 1)).reshape(g, w + 1)
        at_risk = throughout[:, None] + np.cumsum(exits[:, ::-1], axis=1)[:, ::-1][:, 1:]
        sel = (j_dead >= j0) & (j_dead < j1)
        dead = np.bincount(g_dead[sel] * w + (j_dead[sel] - j0), minlength=g * w).reshape(g, w)
        nb, db = n[j0:j1], d[j0:j1]
        alive = nb > db
        xi = np.zeros((g, w))
        xi[:, alive] = (db[alive] / nb[alive] * at_risk[:, alive] - dead[:, alive]) / (nb[alive] - db[alive])
        yield times[j0:j1], xi


def _log_variance(kmf, codes: np.ndarray) -> np.ndarray:
    """The variance of log S the clustered band uses, at each time of the curve's timeline: the
    cluster-robust one (:func:`_robust_log_variance`), never less than Greenwood's
    ``sum d_j / (n_j (n_j - d_j))`` (see the module notes)."""
    at = kmf.timeline.astype(float)
    et = kmf.event_table
    d = et["observed"].to_numpy(dtype=float)
    n = et["at_risk"].to_numpy(dtype=float)
    live = n > d
    step = np.zeros_like(d)
    step[live] = d[live] / (n[live] * (n[live] - d[live]))
    greenwood = np.r_[0.0, np.cumsum(step)][np.searchsorted(et.index.to_numpy(dtype=float), at, side="right")]
    return np.maximum(_robust_log_variance(kmf, codes), greenwood)


def _robust_log_variance(kmf, codes: np.ndarray) -> np.ndarray:
    """Cluster-robust variance of log S at each time of the curve's timeline: the sum over clusters
    of the squared influence. With one agreement per cluster it equals Greenwood's."""
    times, v = [np.empty(0)], [np.zeros(1)]
    total = np.zeros(int(codes.max(initial=-1)) + 1)
    for tb, xi in _influence(kmf.durations, kmf.event_observed, codes):
        running = total[:, None] + np.cumsum(xi, axis=1)
        times.append(tb)
        v.append(np.sum(running ** 2, axis=0))
        total = running[:, -1]
    tj, vj = np.concatenate(times), np.concatenate(v)
    return vj[np.searchsorted(tj, kmf.timeline.astype(float), side="right")]


def _rmst_variance(kmf, codes: np.ndarray, tau: float, area) -> float:
    """Cluster-robust variance of the RMST up to ``tau``: the influence of cluster g is
    ``sum_j xi[g, j] * A_j`` with ``A_j = area(tau) - area(t_j)`` the area under S from t_j to tau."""
    infl = np.zeros(int(codes.max(initial=-1)) + 1)
    for tb, xi in _influence(kmf.durations, kmf.event_observed, codes):
        keep = tb <= tau
        if keep.any():
            infl += xi[:, keep] @ (area(tau) - area(tb[keep]))
    return float(np.sum(infl ** 2))


def _step_integral(times: np.ndarray, values: np.ndarray, tau: float) -> float:
    """Area from 0 to ``tau`` under a right-continuous step function that takes ``values[i]`` from
    ``times[i]`` (the first time is 0) until the next time."""
    edges = np.minimum(np.r_[np.asarray(times, dtype=float), np.inf], tau)
    return float(np.sum(np.asarray(values, dtype=float) * np.diff(edges)))


def _exact_low(n: int, alpha: float) -> float:
    """Exact (Clopper-Pearson) lower bound of a share when all of ``n`` succeeded; 0 when n is 0."""
    return float((alpha / 2) ** (1 / n)) if n > 0 else 0.0


def _band(kmf, alpha: float, clusters: Sequence[Any] | None = None) -> pd.DataFrame:
    """Pointwise ``1 - alpha`` band of a Kaplan-Meier curve (columns ``lower``, ``upper``, indexed by
    the curve's times): the log-log band, with lifelines' Greenwood variance or, with ``clusters``
    (one label per duration the curve was fitted to, in the same order), the cluster-robust
    variance of :func:`_log_variance`; exact bounds where that variance is degenerate (see the
    module notes): before the first relapse the lower band is the exact bound for 0 events among
    those followed past t; from a drop to zero (the last agreements at risk relapsed) the upper band
    is the band before it times the exact upper bound for 0 survivors among those at risk. With
    ``clusters``, those exact bounds count clusters, not agreements."""
    codes = _cluster_codes(clusters, len(kmf.durations))
    ci = kmf.confidence_interval_survival_function_
    t = ci.index.to_numpy(dtype=float)
    if codes is None:
        lo = ci.iloc[:, 0].to_numpy(dtype=float).copy()
        hi = ci.iloc[:, 1].to_numpy(dtype=float).copy()
    else:
        lo, hi = _log_log(kmf.survival_function_.iloc[:, 0].to_numpy(dtype=float), _log_variance(kmf, codes), alpha)
    et = kmf.event_table.reindex(ci.index, fill_value=0)
    obs = et["observed"].to_numpy(dtype=float)
    at_risk = et["at_risk"].to_numpy(dtype=float)
    followed = _followed_clusters(kmf.durations, codes, t)
    none_yet = np.cumsum(obs) == 0
    lo[none_yet] = [_exact_low(int(k), alpha) for k in followed[none_yet]]
    zero = np.flatnonzero((obs > 0) & (obs >= at_risk))
    if len(zero):
        j = int(zero[0])
        before = hi[j - 1] if j > 0 else 1.0
        hi[j:] = before * (1 - _exact_low(int(followed[j]), alpha))
    return pd.DataFrame({"lower": lo, "upper": hi}, index=ci.index)


def _log_log(s: np.ndarray, var_log: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Log-log band of S from the variance of log S (lifelines' formula: 1 where S is 1)."""
    z = float(norm.ppf(1 - alpha / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.log(s)
        half = z * np.sqrt(var_log) / v
        lo = np.exp(-np.exp(np.log(-v) - half))
        hi = np.exp(-np.exp(np.log(-v) + half))
    return np.nan_to_num(lo, nan=1.0), np.nan_to_num(hi, nan=1.0)


def _first_at_or_below(band: pd.Series, q: float = 0.5) -> float:
    """First time a step function is at or below ``q`` (lifelines' rule for medians); inf if never."""
    hit = np.flatnonzero(band.to_numpy(dtype=float) <= q)
    return float(band.index[hit[0]]) if len(hit) else math.inf


def _at(frame: pd.DataFrame, tau: float) -> pd.Series:
    """Row of a step-function frame (indexed by time) in force at ``tau``."""
    return frame.loc[:tau].iloc[-1]


def km_summary(durations: Sequence[float], events: Sequence[bool], *, horizon: float | None = None,
               rmst_to: Iterable[float] = (), alpha: float = 0.05,
               clusters: Sequence[Any] | None = None) -> dict[str, float]:
    """Kaplan-Meier summary of one sample.

    Keys: ``n``, ``events``, ``median``, ``median_low``, ``median_high`` (``inf`` when the curve, or
    its band, does not fall to one half within the longest follow-up: the median is then "not
    reached"; the interval is read from :func:`_band`), ``survival_at``/``_low``/``_high`` at
    ``horizon`` (with no event by ``horizon`` the lower limit is the exact Clopper-Pearson bound for
    0 events among those followed that long, as the variance is degenerate) and
    ``rmst_<tau>``/``_se``/``_low``/``_high`` for each ``tau`` in ``rmst_to`` (with no event by
    ``tau`` the RMST is ``tau``, its standard error NaN and its lower limit ``tau`` times that exact
    bound at ``tau``).

    Without ``clusters`` the durations are independent and the intervals use Greenwood's variance.
    ``clusters`` (one label per duration, e.g. its seed) makes them cluster-robust: the variance of
    the curve and of the RMST is the sum over clusters of their squared influence (see the module
    notes), and the exact bounds count the clusters followed, not the durations. With one duration
    per cluster the two are the same.
    """
    d, e = _km_sample(durations, events, "km_summary")
    codes = _cluster_codes(clusters, len(d))
    out: dict[str, float] = {"n": float(len(d)), "events": float(e.sum())}
    keys = ["median", "median_low", "median_high"]
    if horizon is not None:
        keys += ["survival_at", "survival_at_low", "survival_at_high"]
    for tau in rmst_to:
        keys += [f"rmst_{tau:g}", f"rmst_{tau:g}_se", f"rmst_{tau:g}_low", f"rmst_{tau:g}_high"]
    if len(d) == 0:
        return {**out, **{k: math.nan for k in keys}}
    kmf = _fit_km(d, e, alpha=alpha)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out["median"] = float(kmf.median_survival_time_)
    band = _band(kmf, alpha, clusters=codes)
    out["median_low"] = _first_at_or_below(band["lower"])
    out["median_high"] = _first_at_or_below(band["upper"])
    if horizon is not None:
        if _identified_at(kmf, horizon):
            out["survival_at"] = float(_at(kmf.survival_function_, horizon).iloc[0])
            b = _at(band, horizon)
            out["survival_at_low"], out["survival_at_high"] = float(b.iloc[0]), float(b.iloc[1])
            if not e[d <= horizon].any():
                # No event by the horizon: the band collapses to a point. Use the exact
                # (Clopper-Pearson) bound for 0 events among those followed that long instead
                # (clusters followed that long, where there are clusters).
                out["survival_at_low"] = _exact_low(int(_followed_clusters(d, codes, [horizon])[0]), alpha)
        else:
            out["survival_at"] = out["survival_at_low"] = out["survival_at_high"] = math.nan
    for tau in rmst_to:
        est, se, lo, hi = rmst(kmf, tau, alpha=alpha, clusters=codes)
        out[f"rmst_{tau:g}"], out[f"rmst_{tau:g}_se"] = est, se
        out[f"rmst_{tau:g}_low"], out[f"rmst_{tau:g}_high"] = lo, hi
    return out


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------
def _by_list(results: Results, by: str | Sequence[str] | None) -> list[str] | None:
    if by is None:
        return None
    cols = [by] if isinstance(by, str) else list(by)
    twice = next((c for i, c in enumerate(cols) if c in cols[:i]), None)
    if twice is not None:
        raise InputError(f"by = {cols!r} names {twice!r} twice; name each factor once")
    for c in cols:
        if c not in results.factors:
            raise InputError(f"by = {c!r} is not a factor of {results.name}; factors are "
                             + (", ".join(results.factors) or "(none)"))
    return cols


def _first_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    sort = "signed_month" if "signed_month" in episodes.columns else None
    e = episodes.sort_values(["run_id", sort]) if sort else episodes
    return e.drop_duplicates("run_id", keep="first")


def _groups(results: Results, by: list[str] | None):
    """Yield (keys dict, runs, episodes) per design point or per group of ``by`` values."""
    runs_all = results.runs
    eps = results.ok_episodes
    if by is None:
        for dp, r in runs_all.groupby("design_point", sort=True):
            first = r.iloc[0]
            keys = {"design_point": int(dp), **{f: _py(first[f]) for f in results.factors}}
            yield keys, r, eps[eps["design_point"] == dp]
        return
    if not by:
        yield {}, runs_all, eps
        return
    ordered = _ordered_groups(results, by)
    for combo in ordered:
        mask = np.ones(len(runs_all), dtype=bool)
        emask = np.ones(len(eps), dtype=bool)
        for f, v in zip(by, combo):
            mask &= (runs_all[f] == v).to_numpy()
            emask &= (eps[f] == v).to_numpy()
        if mask.any():
            yield {f: _py(v) for f, v in zip(by, combo)}, runs_all[mask], eps[emask]


def _with_linked(results: Results, keys: dict[str, Any], runs: pd.DataFrame) -> dict[str, Any]:
    """``keys`` with, after each factor, the parameters the experiment moves together with it
    (``tenure_diplomat`` after ``tenure_mediator``) and their value in the group, where the group's
    runs have one."""
    out: dict[str, Any] = {}
    for k, v in keys.items():
        out[k] = v
        for q in results.linked(k) if k != "design_point" else ():
            if q in runs and q not in keys and runs[q].nunique(dropna=False) == 1:
                out[q] = _py(runs[q].iloc[0])
    return out


def _ordered_groups(results: Results, by: list[str]) -> list[tuple]:
    present = set(map(tuple, results.runs[by].drop_duplicates().itertuples(index=False, name=None)))
    combos: list[tuple] = [()]
    for f in by:
        combos = [c + (v,) for c in combos for v in results.levels(f)]
    return [c for c in combos if c in present]


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _cluster_ids(frame: pd.DataFrame) -> pd.Series:
    """The independent unit of each row: its seed (runs that share a seed are correlated through
    common random numbers), or its run where the tables have no seeds."""
    if "seed" in frame.columns and frame["seed"].notna().all():
        return frame["seed"]
    return frame["run_id"]


#: Durability columns of :func:`durability_table` that are NaN when not estimable.
_DURABILITY_COLUMNS = ("relapse_share", "relapse_share_low", "relapse_share_high", "median_durability",
                       "median_durability_low", "median_durability_high", "rmst", "rmst_se", "rmst_low",
                       "rmst_high", "rmst_followup", "rmst_followup_se", "rmst_followup_low", "rmst_followup_high")


def durability_table(results: Results, *, horizon: float = 60, by: str | Sequence[str] | None = None,
                     first_only: bool = False, alpha: float = 0.05, min_clusters: int = MIN_CLUSTERS) -> pd.DataFrame:
    """Durability of agreements and reaching them, per design point or per group.

    Parameters
    ----------
    results:
        From :func:`load_results`.
    horizon:
        Months after signature at which the share relapsed and the RMST are read.
    by:
        ``None`` gives one row per design point. A factor name (or a list of them) pools the
        design points that share those values, e.g. ``by="coordination"`` over all tenures.
    first_only:
        Use only each run's first agreement. Episodes from the same run are *not* independent
        (a fragile run signs and breaks several agreements); the intervals below are clustered by
        seed, so they count a run's several agreements as one independent unit either way.
    alpha:
        ``1 - alpha`` is the confidence level of all intervals (default 95%).
    min_clusters:
        The durability measures are given only for groups whose agreements come from at least
        this many seeds (:data:`MIN_CLUSTERS`); below it they are NaN and
        ``durability_estimable`` is False.

    Returns
    -------
    DataFrame, one row per group, with columns

    * the group keys (``design_point`` and the factor values, or the ``by`` factors), ``label``;
    * ``n_runs`` (finished runs), ``n_failed``;
    * ``n_agreement``, ``p_agreement`` with Wilson ``p_agreement_low``/``_high`` (at the effective
      sample size where pooled design points share seeds: :func:`clustered_share`);
    * ``months_to_agreement`` (Kaplan-Meier median months to the first agreement; runs without
      one are censored at their horizon) with ``_low``/``_high`` (read from the band clustered by
      seed); ``inf`` when fewer than half of the runs reach agreement (the median is then longer
      than ``longest_run``);
    * ``longest_run``: months of the longest finished run of the group;
    * ``n_episodes``, ``n_relapses``, ``n_consolidated``;
    * ``n_seeds_with_agreement`` (seeds, or runs where there are no seeds, among the episodes
      used), ``durability_estimable`` (at least ``min_clusters`` of them);
    * ``longest_followup``: months the longest-followed agreement was followed (the last time the
      Kaplan-Meier curve is known);
    * ``relapse_share`` = 1 - KM survival at ``horizon`` with ``_low``/``_high``;
    * ``median_durability`` with ``_low``/``_high`` (KM median months an agreement holds; ``inf``
      means *not reached*: more than half the agreements were still holding at the longest
      follow-up, so the median is longer than ``longest_followup``), ``median_reached`` (missing
      when not estimable);
    * ``rmst`` (mean months held within the first ``horizon`` months) with ``rmst_se``,
      ``rmst_low``/``_high``, and the same up to the follow-up: ``rmst_followup``... ;
    * ``horizon``, ``followup_months``.

    The intervals of the Kaplan-Meier measures (months to agreement, relapse share, median, RMST)
    are clustered by seed (by run where there are no seeds): the robust (grouped infinitesimal
    jackknife) variance of the curve and of the RMST, and exact bounds that count seeds where that
    variance is degenerate (see the module notes). For a design point whose runs sign one
    agreement each they are Greenwood's intervals; for runs with several agreements and for groups
    that pool design points sharing seeds they count the seeds, not the agreements, as the
    independent units.

    The durability measures (relapse share, median, RMST) are NaN when not estimable, and a
    measure read at a time (``horizon``, the follow-up) is NaN when no agreement was followed
    that long. docs/RESULTS.md describes every column.
    """
    first_only = _check_flag(first_only, "first_only")
    horizon = _check_number(horizon, "horizon", low=0, open_low=True)
    alpha = _check_number(alpha, "alpha", low=0, high=1, open_low=True)
    by_cols = _by_list(results, by)
    fu = results.followup_months
    rows = []
    for keys, runs, eps in _groups(results, by_cols):
        ok = runs[runs["status"] == "ok"]
        keys = _with_linked(results, keys, runs)
        row: dict[str, Any] = dict(keys)
        row["label"] = group_label({k: v for k, v in keys.items() if k != "design_point"})
        row["n_runs"] = int(len(ok))
        row["n_failed"] = int(len(runs) - len(ok))
        reached = ok["agreement_reached"].astype(bool)
        k = int(reached.sum())
        row["n_agreement"] = k
        row["p_agreement"], row["p_agreement_low"], row["p_agreement_high"] = (
            clustered_share(reached.to_numpy(), ok["seed"].to_numpy(), alpha=alpha) if "seed" in ok
            else wilson_interval(k, len(ok), alpha=alpha))
        t_first = np.where(reached, ok["months_to_first_agreement"].astype(float), ok["months"].astype(float))
        s = km_summary(t_first, reached.to_numpy(), alpha=alpha, clusters=_cluster_ids(ok).to_numpy())
        row["months_to_agreement"] = s["median"]
        row["months_to_agreement_low"] = s["median_low"]
        row["months_to_agreement_high"] = s["median_high"]
        row["longest_run"] = float(ok["months"].max()) if len(ok) else math.nan
        if first_only:
            eps = _first_episodes(eps)
        row["n_episodes"] = int(len(eps))
        row["n_relapses"] = int(eps["relapsed"].sum())
        row["n_consolidated"] = int(eps["consolidated"].astype(bool).sum()) if "consolidated" in eps else 0
        ids = _cluster_ids(eps)
        n_clusters = int(ids.nunique()) if len(eps) else 0
        estimable = n_clusters >= max(min_clusters, 1)
        row["n_seeds_with_agreement"] = n_clusters
        row["durability_estimable"] = estimable
        row["longest_followup"] = float(eps["months_survived"].max()) if len(eps) else math.nan
        s = km_summary(eps["months_survived"], eps["relapsed"], horizon=horizon, rmst_to=(horizon, fu), alpha=alpha,
                       clusters=ids.to_numpy())
        row["relapse_share"] = 1 - s["survival_at"]
        row["relapse_share_low"] = 1 - s["survival_at_high"]
        row["relapse_share_high"] = 1 - s["survival_at_low"]
        row["median_durability"] = s["median"]
        row["median_durability_low"] = s["median_low"]
        row["median_durability_high"] = s["median_high"]
        row["median_reached"] = bool(np.isfinite(s["median"])) if estimable else pd.NA
        for name, tau in (("rmst", horizon), ("rmst_followup", fu)):
            row[name] = s[f"rmst_{tau:g}"]
            row[f"{name}_se"] = s[f"rmst_{tau:g}_se"]
            row[f"{name}_low"] = s[f"rmst_{tau:g}_low"]
            row[f"{name}_high"] = s[f"rmst_{tau:g}_high"]
        if not estimable:
            row.update(dict.fromkeys(_DURABILITY_COLUMNS, math.nan))
        row["horizon"] = float(horizon)
        row["followup_months"] = fu
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["median_reached"] = table["median_reached"].astype("boolean")
    table.attrs.update(horizon=float(horizon), followup_months=fu, first_only=first_only, alpha=alpha,
                       by=by_cols, min_clusters=min_clusters)
    return table


# ---------------------------------------------------------------------------------------------
# Hazard ratios
# ---------------------------------------------------------------------------------------------
def _check_number(value: Any, name: str, *, low: float, high: float = math.inf, whole: bool = False,
                  open_low: bool = False) -> float:
    """``value`` as a number within bounds, or a one-line :class:`InputError` naming the argument
    and the value as given."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating))
    x = math.nan if bad else float(value)
    if bad or not math.isfinite(x) or (x <= low if open_low else x < low) or x > high or (whole and x != int(x)):
        kind = "a whole number" if whole else "a number"
        top = "" if high == math.inf else (f" and at most {high:g}" if open_low else f" to {high:g}")
        rng = (f"above {low:g}" if open_low else f"from {low:g}") + top
        hint = " (without quotes)" if isinstance(value, str) else ""
        raise InputError(f"{name} = {value!r} is not allowed; expected {kind} {rng}{hint}")
    return x


def _check_flag(value: Any, name: str) -> bool:
    """``value`` as true or false, or a one-line :class:`InputError` (a text such as ``"no"`` would
    otherwise count as true)."""
    from .params import check_flags

    check_flags(**{name: value})
    return bool(value)


def _check_factor(results: Results, factor: str) -> None:
    if factor not in results.factors:
        raise InputError(f"factor {factor!r} was not varied in {results.name}; factors are "
                         + (", ".join(results.factors) or "(none)"))


def _match_level(results: Results, factor: str, value: Any, what: str) -> Any:
    levels = results.levels(factor)
    for lv in levels:
        if lv == value or str(lv) == str(value):
            return lv
        try:
            if float(lv) == float(value):
                return lv
        except (TypeError, ValueError):
            pass
    raise InputError(f"{what} = {value!r} is not a value of {factor}; its values are "
                     + ", ".join(map(str, levels)))


def hazard_ratio(results: Results, factor: str, *, reference: Any = None, per: float = 1.0,
                 stratify: bool = True, first_only: bool = False, alpha: float = 0.05,
                 min_clusters: int = MIN_CLUSTERS) -> pd.DataFrame:
    """Cox hazard ratio of relapse for one factor, with standard errors clustered by seed.

    A hazard ratio below 1 means agreements relapse more slowly (last longer).

    * A numeric factor enters as is; the ratio is per ``per`` units (e.g. ``per=12`` months).
    * A text or yes/no factor is one-hot coded against ``reference`` (default: its first value in
      the design); there is one row per other value.
    * With ``stratify=True`` and other factors in the sweep, each combination of the other
      factors gets its own baseline hazard (Cox strata), so the ratio compares like with like.
    * Episodes of one run are correlated, and so are runs that share a seed (replicate *k* has
      the same seed at every design point), so the robust (sandwich) variance is clustered by
      seed (lifelines ``cluster_col``); where the tables have no seeds, by run.
    * With fewer than ``min_clusters`` seeds (:data:`MIN_CLUSTERS`) a sandwich variance is too
      small (Cameron & Miller 2015): the ratio is given without ``hr_low``, ``hr_high``, ``p`` and
      ``se`` (NaN), and ``note`` says why. For a text or yes/no factor the seeds are counted at
      each of the two values a row compares: the agreements at each must come from that many.

    Returns a DataFrame with ``factor``, ``term``, ``level``, ``reference``, ``hr``, ``hr_low``,
    ``hr_high``, ``p``, ``coef``, ``se``, ``n_episodes``, ``n_relapses``, ``n_runs``, ``cluster``
    (``"seed"`` or ``"run"``), ``n_clusters`` and ``note`` (empty when the interval is given).
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    _check_factor(results, factor)
    first_only = _check_flag(first_only, "first_only")
    stratify = _check_flag(stratify, "stratify")
    per = _check_number(per, "per", low=0, open_low=True)
    eps = results.ok_episodes
    if first_only:
        eps = _first_episodes(eps)
    if len(eps) == 0:
        raise InputError(f"no hazard ratio for {factor}: no agreement was signed in {results.name}")
    if not eps["relapsed"].any():
        raise InputError(f"no hazard ratio for {factor}: no agreement relapsed in {results.name}")
    ids = _cluster_ids(eps)
    df = pd.DataFrame({"T": eps["months_survived"].to_numpy(float), "E": eps["relapsed"].to_numpy(bool),
                       "run": eps["run_id"].to_numpy(), "cluster": pd.factorize(ids)[0]})
    n_clusters = int(df["cluster"].nunique())
    few = n_clusters < min_clusters
    unit = "seed" if ids.name == "seed" else "run"
    note = (f"no interval or p-value: the agreements come from {n_clusters} {unit}s; standard errors clustered by "
            f"{unit} need at least {min_clusters} (Cameron & Miller 2015)") if few else ""
    # lifelines drops zero-length durations' information poorly; a relapse in the signing month
    # counts as half a month.
    df.loc[df["T"] <= 0, "T"] = 0.5
    numeric = results.is_numeric(factor)
    if numeric:
        if reference is not None:
            raise InputError(f"reference = {reference!r} only applies to a text or yes/no factor; "
                             f"{factor} is numeric (use per=...)")
        if not (per > 0):
            raise InputError(f"per = {per!r} must be a number above 0")
        x = eps[factor].to_numpy(float)
        if np.nanstd(x) == 0:
            raise InputError(f"no hazard ratio for {factor}: it takes one value only among the agreements")
        df["x"] = x / per
        terms = [("x", factor, None)]
    else:
        levels = results.levels(factor)
        ref = levels[0] if reference is None else _match_level(results, factor, reference, "reference")
        terms = []
        for i, lv in enumerate(lv for lv in levels if lv != ref):
            col = f"x{i}"
            df[col] = (eps[factor] == lv).to_numpy(float)
            if df[col].sum() == 0:
                df.drop(columns=col, inplace=True)
                continue
            terms.append((col, lv, ref))
        if (eps[factor] == ref).sum() == 0:
            raise InputError(f"no hazard ratio for {factor}: no agreement was signed at its reference value, "
                             f"{value_label(factor, ref)}")
        if not terms:
            raise InputError(f"no hazard ratio for {factor}: agreements were signed at its reference value, "
                             f"{value_label(factor, ref)}, only")
    strata = None
    others = [f for f in results.factors if f != factor]
    if stratify and others:
        df["stratum"] = pd.factorize(pd.MultiIndex.from_frame(eps[others].astype(str)))[0]
        if df["stratum"].nunique() > 1:
            strata = ["stratum"]
        else:
            df = df.drop(columns="stratum")
    # What the data cannot give (the fit would return a number all the same): a contrast that never
    # occurs within a stratum (the factor moves together with the others in this design), and one
    # where every relapse falls on one side (complete separation: the ratio runs to infinity).
    values = df["x"].to_numpy() if numeric else eps[factor].astype(str).to_numpy()
    why: dict[str, str] = {}
    for col, level, ref in terms:
        inside = df.index if numeric else df.index[(df[col] == 1) | (eps[factor] == ref).to_numpy()]
        groups = df.loc[inside, "stratum"] if strata else pd.Series(0, index=inside)
        if pd.Series(values[inside], index=inside).groupby(groups).nunique().max() < 2:
            why[col] = (f"not estimable: {factor} never varies while the other factors ({', '.join(others)}) stay "
                        "the same; in this design it moves together with them, so its effect on relapse cannot be "
                        "told apart from theirs")
            continue
        quiet = [v for v, e in df.loc[inside, "E"].groupby(values[inside]).sum().items() if e == 0]
        if not numeric and quiet:
            shown = [level if str(v) == str(level) else ref for v in quiet]
            why[col] = (f"not estimable: no agreement relapsed with {factor} = {', '.join(map(str, dict.fromkeys(shown)))}"
                        ", so the ratio runs to zero or infinity (complete separation)")
    if all(col in why for col, _, _ in terms):  # nothing left to fit
        summ = pd.DataFrame(math.nan, index=[col for col, _, _ in terms],
                            columns=["exp(coef)", f"exp(coef) lower {100 * (1 - alpha):g}%",
                                     f"exp(coef) upper {100 * (1 - alpha):g}%", "p", "coef", "se(coef)"])
        separated = False
    else:
        cph = CoxPHFitter(alpha=alpha)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cph.fit(df.drop(columns="run"), duration_col="T", event_col="E", cluster_col="cluster",
                        strata=strata)
        except (ConvergenceError, ValueError, np.linalg.LinAlgError) as e:
            raise InputError(f"the Cox model of relapse on {factor} could not be fitted: {_one_line(e)}") from None
        separated = any("separation" in str(w.message).lower() for w in caught)
        summ = cph.summary
    if numeric and "x" not in why:
        span = float(np.nanmax(df["x"]) - np.nanmin(df["x"]))
        if separated or abs(float(summ.loc["x", "coef"])) * span > SEPARATION_LOG_HR:
            why.setdefault("x", f"not estimable: the relapses fall at one end of the values of {factor} swept "
                                "(complete separation), so the ratio runs to zero or infinity")
    ci = f"{100 * (1 - alpha):g}%"
    rows = []
    for col, level, ref in terms:
        r = summ.loc[col]
        rows.append({
            "factor": factor,
            "term": f"{factor} per {per:g}" if numeric else f"{factor} = {level} vs {ref}",
            "level": None if numeric else _py(level),
            "reference": None if numeric else _py(ref),
            "per": per if numeric else None,
            "hr": float(r["exp(coef)"]),
            "hr_low": float(r[f"exp(coef) lower {ci}"]),
            "hr_high": float(r[f"exp(coef) upper {ci}"]),
            "p": float(r["p"]),
            "coef": float(r["coef"]),
            "se": float(r["se(coef)"]),
            "n_episodes": int(len(df)),
            "n_relapses": int(df["E"].sum()),
            "n_runs": int(df["run"].nunique()),
            "cluster": unit,
            "n_clusters": n_clusters,
            "note": note,
        })
        if col in why:
            rows[-1].update(hr=math.nan, hr_low=math.nan, hr_high=math.nan, p=math.nan, se=math.nan, coef=math.nan,
                            note=why[col])
        elif few:
            rows[-1].update(hr_low=math.nan, hr_high=math.nan, p=math.nan, se=math.nan)
        elif not numeric:
            # the contrast rests on the agreements at its two values: each side's own clusters count
            side = min(int(df.loc[(eps[factor] == v).to_numpy(), "cluster"].nunique()) for v in (level, ref))
            if side < min_clusters:
                rows[-1].update(hr_low=math.nan, hr_high=math.nan, p=math.nan, se=math.nan,
                                note=f"no interval or p-value: the agreements at one of the two values come from "
                                     f"{side} {unit}s; standard errors clustered by {unit} need at least "
                                     f"{min_clusters} at each (Cameron & Miller 2015)")
    out = pd.DataFrame(rows)
    out.attrs.update(robust=True, cluster=unit, stratified_by=others if strata else [], alpha=alpha)
    return out


# ---------------------------------------------------------------------------------------------
# Two-value comparison
# ---------------------------------------------------------------------------------------------
@dataclass
class Comparison:
    """Difference ``a - b`` in one metric between two values of a factor, with its interval.

    ``paired`` says whether the runs were paired by seed (``n_seeds`` seeds pair them); ``note``
    names the method, or says why there is no estimate or interval (then they are NaN)."""

    factor: str
    a: Any
    b: Any
    metric: str
    estimate_a: float
    estimate_b: float
    difference: float
    low: float
    high: float
    p: float
    n_a: int
    n_b: int
    horizon: float
    note: str = ""
    paired: bool = False
    n_seeds: int = 0
    level: float = 0.95  # the confidence level of the interval

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly on one side of zero."""
        return bool(self.low > 0 or self.high < 0)

    @property
    def estimable(self) -> bool:
        """There is a difference with an interval."""
        return bool(math.isfinite(self.difference) and math.isfinite(self.low) and math.isfinite(self.high))

    def __str__(self) -> str:
        m = METRICS[self.metric]
        scale, unit = (100, " percentage points") if m.percent else (1, " months")
        what = m.text(self.horizon)
        head = f"{what}: {value_label(self.factor, self.a)} minus {value_label(self.factor, self.b)}"
        if not self.estimable:
            return f"{head}: {self.note}"
        return (f"{head} = {scale * self.difference:+.1f}{unit} ({100 * self.level:g}% CI {scale * self.low:+.1f} "
                f"to {scale * self.high:+.1f}; {self.note})")


def compare(results: Results, factor: str, a: Any, b: Any, *, metric: str = "rmst", horizon: float = 60,
            where: dict[str, Any] | None = None, first_only: bool = False, alpha: float = 0.05,
            min_clusters: int = MIN_CLUSTERS, bootstrap: int = BOOTSTRAP,
            rng: np.random.Generator | int | None = None) -> Comparison:
    """Difference in ``metric`` between runs with ``factor == a`` and ``factor == b`` (a - b).

    ``metric`` is ``"rmst"`` (months held within ``horizon``), ``"rmst_followup"``, ``"relapse"``
    (share relapsed within ``horizon``) or ``"p_agreement"`` (share of runs reaching agreement).
    Other factors are pooled unless fixed by ``where`` (``{"coordination": "network"}``).

    **Paired by seed** where the two values' runs share seeds (a sweep: replicate *k* has the same
    seed at every design point), using the seeds present at both values:

    * ``p_agreement``: the mean over seeds of the per-seed difference in the share of runs
      reaching agreement, with a paired t interval and p-value (standard error of the per-seed
      differences, ``n_seeds - 1`` degrees of freedom), which stays honest with few seeds.
    * survival metrics: the Kaplan-Meier measures of the two values' agreements, with a paired
      percentile bootstrap over seeds (``bootstrap`` resamples; a resample keeps a seed's runs at
      both values together: :func:`peacesim.paired.km`) and its p-value
      (:func:`peacesim.paired.p_value`). Not given (NaN) with fewer than ``min_clusters`` seeds,
      or agreements at either value from fewer than ``min_clusters`` seeds (Cameron & Miller
      2015), when more than 2.5% of the resamples have no value at either side, or when no
      agreement relapsed within ``horizon`` at either value.

    **Unpaired** otherwise: Newcombe's hybrid score interval for ``p_agreement``; for the survival
    metrics, standard errors clustered by seed within each value (the variance of
    :func:`durability_table`'s intervals), not given with agreements from fewer than
    ``min_clusters`` seeds. ``note`` says which method was used.

    The bootstrap draws from ``rng`` (a numpy Generator, or a whole number >= 0 that seeds one), by
    default a generator seeded from the results' master seed, so that the same results give the
    same interval.
    """
    _check_factor(results, factor)
    if rng is not None and not isinstance(rng, np.random.Generator):
        if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)) or rng < 0:
            raise InputError(f"rng = {words(rng)} is not allowed; expected a numpy Generator, a whole number >= 0 "
                             "that seeds one, or None (seeded from the results' master seed)")
        rng = np.random.default_rng(int(rng))
    if metric not in ("rmst", "rmst_followup", "relapse", "p_agreement"):
        raise InputError(f"metric = {metric!r} cannot be compared; use 'rmst', 'rmst_followup', 'relapse' "
                         "or 'p_agreement'")
    first_only = _check_flag(first_only, "first_only")
    horizon = _check_number(horizon, "horizon", low=0, open_low=True)
    alpha = _check_number(alpha, "alpha", low=0, high=1, open_low=True)
    bootstrap = int(_check_number(bootstrap, "bootstrap", low=100, whole=True))
    a = _match_level(results, factor, a, "a")
    b = _match_level(results, factor, b, "b")
    if a == b:
        raise InputError(f"a = {a!r} and b = {b!r} are the same value of {factor}; compare two different values")
    runs = results.runs
    for f, v in (where or {}).items():
        _check_factor(results, f)
        if f == factor:
            raise InputError(f"where[{f!r}]: {f} is the factor compared; where fixes the other factors (leave "
                             f"{f} out of it)")
        runs = runs[runs[f] == _match_level(results, f, v, f"where[{f!r}]")]
    tau = results.followup_months if metric == "rmst_followup" else float(horizon)

    def side(value):
        r = runs[(runs[factor] == value) & (runs["status"] == "ok")]
        e = results.ok_episodes
        e = e[e["run_id"].isin(r["run_id"])]
        return r, (_first_episodes(e) if first_only else e)

    (ra, ea), (rb, eb) = side(a), side(b)
    shared: list[Any] = []
    if "seed" in runs.columns and ra["seed"].notna().all() and rb["seed"].notna().all():
        shared = sorted(set(ra["seed"]) & set(rb["seed"]))
    base = dict(factor=factor, a=_py(a), b=_py(b), metric=metric, horizon=float(tau), level=1 - alpha)
    if shared:
        keep_a, keep_b = ra["seed"].isin(shared), rb["seed"].isin(shared)
        left = int((~keep_a).sum() + (~keep_b).sum())
        ra, rb = ra[keep_a], rb[keep_b]
        # an episode's seed is its run's
        ea = ea.assign(seed=ea["run_id"].map(ra.set_index("run_id")["seed"]))
        eb = eb.assign(seed=eb["run_id"].map(rb.set_index("run_id")["seed"]))
        ea, eb = ea[ea["seed"].notna()], eb[eb["seed"].notna()]
        dropped = f"; {left} run{'s' if left != 1 else ''} whose seed is not at both values left out" if left else ""
        if metric == "p_agreement":
            return _paired_share(ra, rb, shared, base, alpha, dropped)
        if rng is None:
            master = results.manifest.get("master_seed")
            master = master if isinstance(master, int) and master >= 0 else 0
            rng = np.random.default_rng(np.random.SeedSequence([master, BOOTSTRAP_STREAM]))
        return _paired_survival(ea, eb, shared, base, metric, tau, alpha, min_clusters, bootstrap, rng, dropped)
    return _unpaired(ra, rb, ea, eb, base, metric, tau, alpha, min_clusters, first_only)


def _paired_share(ra: pd.DataFrame, rb: pd.DataFrame, seeds: list[Any], base: dict[str, Any], alpha: float,
                  dropped: str) -> Comparison:
    """Share of runs reaching agreement, paired by seed: mean per-seed difference, paired t."""
    sa = ra.groupby("seed")["agreement_reached"].mean().reindex(seeds).to_numpy(float)
    sb = rb.groupby("seed")["agreement_reached"].mean().reindex(seeds).to_numpy(float)
    diff = sa - sb
    n = len(seeds)
    d = float(diff.mean())
    out = dict(**base, estimate_a=float(sa.mean()), estimate_b=float(sb.mean()), difference=d,
               n_a=int(len(ra)), n_b=int(len(rb)), paired=True, n_seeds=n)
    method = f"paired by seed: paired t interval of the per-seed differences over {n} seeds{dropped}"
    if n < 2:
        return Comparison(**out, low=math.nan, high=math.nan, p=math.nan,
                          note=f"no interval: only {n} seed pairs the two values")
    se = float(diff.std(ddof=1)) / math.sqrt(n)
    if se == 0:
        # Every seed gave the same difference: a t interval would have no width, which says nothing
        # about the sampling error. No interval; the sign test's p (all n differences on one side,
        # or none different from 0).
        if d == 0:
            return Comparison(**out, low=math.nan, high=math.nan, p=1.0,
                              note=f"no interval: the share was the same at both values on each of the {n} seeds"
                                   f"{dropped}")
        return Comparison(**out, low=math.nan, high=math.nan, p=float(min(1.0, 2 * 0.5 ** n)),
                          note=f"no interval: the per-seed difference is {d:+.3g} on every one of the {n} seeds "
                               f"(sign test p){dropped}")
    tq = float(student_t.ppf(1 - alpha / 2, n - 1))
    p = float(2 * student_t.sf(abs(d) / se, n - 1))
    return Comparison(**out, low=d - tq * se, high=d + tq * se, p=p, note=method)


def _paired_survival(ea: pd.DataFrame, eb: pd.DataFrame, seeds: list[Any], base: dict[str, Any], metric: str,
                     tau: float, alpha: float, min_clusters: int, n_boot: int, rng: np.random.Generator,
                     dropped: str) -> Comparison:
    """A survival measure at both values, paired bootstrap over seeds (peacesim.paired)."""
    from . import paired

    n = len(seeds)
    index = {s: i for i, s in enumerate(seeds)}

    def measure(e: pd.DataFrame, draws) -> np.ndarray:
        surv, area = paired.km(e["months_survived"].to_numpy(float), e["relapsed"].to_numpy(bool),
                               np.zeros(len(e), dtype=int), e["seed"].map(index).to_numpy(int), draws, tau)
        return 1 - surv if metric == "relapse" else area

    pt = paired.point(1, n)
    xa, xb = float(measure(ea, pt)[0]), float(measure(eb, pt)[0])
    out = dict(**base, estimate_a=xa, estimate_b=xb, difference=xa - xb, n_a=int(len(ea)), n_b=int(len(eb)),
               paired=True, n_seeds=n)
    nan = dict(low=math.nan, high=math.nan, p=math.nan)
    with_agreement = min(ea["seed"].nunique(), eb["seed"].nunique())
    if n < min_clusters or with_agreement < min_clusters:
        what = (f"{n} seeds pair the two values" if n < min_clusters else
                f"the agreements at one of the values come from {with_agreement} seeds")
        return Comparison(**nan, **out, note=f"not estimable: {what}; a paired bootstrap over seeds needs at least "
                                             f"{min_clusters} (Cameron & Miller 2015)")
    if not (math.isfinite(xa) and math.isfinite(xb)):
        return Comparison(**nan, **out, note=f"not estimable: no agreement at one of the values was followed "
                                             f"{months_text(tau)}")
    if not (ea["relapsed"] & (ea["months_survived"] <= tau)).any() and \
            not (eb["relapsed"] & (eb["months_survived"] <= tau)).any():
        return Comparison(**nan, **out, note=f"not estimable: no agreement relapsed within {months_text(tau)} at either "
                                             "value, so the bootstrap has no variation to measure")
    draws = paired.Draws(np.ones((n_boot, 1)), rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float))
    boot = measure(ea, draws) - measure(eb, draws)
    if np.mean(~np.isfinite(boot)) > 0.025:
        return Comparison(**nan, **out, note=f"not estimable: more than 2.5% of the resamples of seeds have no "
                                             f"agreement followed {months_text(tau)} at one of the values")
    low, high = paired.interval(boot, 1 - alpha)
    return Comparison(**out, low=low, high=high, p=paired.p_value(xa - xb, boot),
                      note=f"paired by seed: percentile bootstrap over {n} seeds ({n_boot} resamples){dropped}")


def _unpaired(ra: pd.DataFrame, rb: pd.DataFrame, ea: pd.DataFrame, eb: pd.DataFrame, base: dict[str, Any],
              metric: str, tau: float, alpha: float, min_clusters: int, first_only: bool) -> Comparison:
    """The two values' runs share no seed: independent samples."""
    z = float(norm.ppf(1 - alpha / 2))
    if metric == "p_agreement":
        ka, kb = int(ra["agreement_reached"].sum()), int(rb["agreement_reached"].sum())
        pa, la, ua = wilson_interval(ka, len(ra), alpha=alpha)
        pb, lb, ub = wilson_interval(kb, len(rb), alpha=alpha)
        d = pa - pb
        low = d - math.sqrt((pa - la) ** 2 + (ub - pb) ** 2)
        high = d + math.sqrt((ua - pa) ** 2 + (pb - lb) ** 2)
        pooled = (ka + kb) / max(len(ra) + len(rb), 1)
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / max(len(ra), 1) + 1 / max(len(rb), 1)))
        p = float(2 * norm.sf(abs(d) / se0)) if se0 > 0 else (1.0 if d == 0 else 0.0)
        return Comparison(**base, estimate_a=pa, estimate_b=pb, difference=d, low=low, high=high, p=p,
                          n_a=len(ra), n_b=len(rb), note="unpaired (no seed is shared): Newcombe hybrid score interval")
    ests = []
    for e in (ea, eb):
        if len(e) == 0:
            ests.append((math.nan, math.nan))
            continue
        kmf = _fit_km(e["months_survived"], e["relapsed"], alpha=alpha)
        codes = _cluster_codes(_cluster_ids(e).to_numpy(), len(e))  # a value's runs may share seeds
        if metric == "relapse":
            if not _identified_at(kmf, tau):
                ests.append((math.nan, math.nan))
                continue
            s = float(_at(kmf.survival_function_, tau).iloc[0])
            et = kmf.event_table
            relapses = et["observed"].to_numpy(float)[et.index.to_numpy(float) <= tau].sum()
            var_log = float(_log_variance(kmf, codes)[np.searchsorted(kmf.timeline, tau, side="right") - 1])
            ests.append((1 - s, s * math.sqrt(var_log) if relapses > 0 else math.nan))
        else:
            est, se, _, _ = rmst(kmf, tau, alpha=alpha, clusters=codes)
            ests.append((est, se))
    (xa, sa), (xb, sb) = ests
    d = xa - xb
    out = dict(**base, estimate_a=xa, estimate_b=xb, difference=d, n_a=len(ea), n_b=len(eb))
    few = min((_cluster_ids(e).nunique() if len(e) else 0) for e in (ea, eb))
    if few < min_clusters:
        return Comparison(**out, low=math.nan, high=math.nan, p=math.nan,
                          note=f"not estimable: the agreements at one value come from {few} seeds; at least "
                               f"{min_clusters} are needed")
    se = math.sqrt(sa * sa + sb * sb)
    if not (se > 0):  # NaN: no relapse within tau at one value (Greenwood's variance is degenerate)
        return Comparison(**out, low=math.nan, high=math.nan, p=math.nan,
                          note=f"no interval: no agreement relapsed within {months_text(tau)} at one of the values")
    p = float(2 * norm.sf(abs(d) / se))
    note = ("unpaired (no seed is shared): standard errors clustered by seed"
            + ("" if not first_only else ", first agreement of each run"))
    return Comparison(**out, low=d - z * se, high=d + z * se, p=p, note=note)
