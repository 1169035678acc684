"""Global sensitivity analysis of the model: ``peacesim sensitivity EXPERIMENT``.

A sensitivity experiment file (TOML, in ``experiments/``) is an experiment file whose design is a
sample instead of a grid::

    [experiment]                 # as for 'peacesim sweep': scenario, replicates, master seed
    title = "Morris screening"
    scenario = "reference"
    replicates = 6
    master_seed = 2027

    [sensitivity]
    method = "morris"            # morris, sobol or rbd_fast
    parameters = "numeric"       # every numeric model-wide parameter, or a list of names
    trajectories = 16            # morris; sobol and rbd_fast take samples = N
    window = 0.25                # a quarter of each registry range, around the scenario's value

    [sensitivity.bounds]         # narrower bounds than the registry's (or fewer options)
    mediators = [1, 8]

    [sensitivity.groups]         # one joint index for several factors
    tenure = ["tenure_mediator", "tenure_diplomat"]

    [parameters]                 # fixed values, as for a sweep
    coordination = "hierarchical"

The SALib problem comes from the parameter registry (names, kinds, bounds) narrowed by the file;
nothing about it is written by hand. docs/SENSITIVITY.md describes the method and its choices. The sample's points are the design points of an ordinary
experiment, run by the experiment runner (:func:`peacesim.sweep.run_experiment`): executors,
Dask, resuming, the manifest and the progress bar are the runner's. Replicate ``k`` has the same
seed at every point (common random numbers). The analysis (:mod:`peacesim.sensitivity_analysis`)
checks the stored runs against the design, aggregates the replicates per point, and computes the
indices, their convergence and the replicate noise; :mod:`peacesim.sensitivity_plots` draws the
figures and writes the report. Everything goes into the runner's results folder, beside its
manifest, and is recorded in the folder's inventory, so that ``--fresh`` removes it too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import numbers
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from . import fsutil
from .errors import InputError, StorageError
from .experiment import (Experiment, derive_seeds, experiment_dir, experiment_from_dict, read_toml,
                         refuse_results_folder)
from .params import ACTOR_FIELDS, REGISTRY, as_whole, did_you_mean
from .scenario import first_overlap, fixed_overlap
from .sensitivity_analysis import (
    METHODS,
    MIN_VARYING_POINTS,
    RESAMPLES,
    Design,
    Input,
    Outcome,
    PointOutputs,
    analysis_seed,
    convergence_table,
    indices,
    make_design,
    most_influential,
    noise_components,
    noise_table,
    point_outputs,
    replicates_needed,
    varies_at_few_points,
)
from .words import counted, words

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["OUTCOMES", "SensitivitySpec", "SensitivityResult", "SensitivityAnalysis", "load_sensitivity",
           "is_sensitivity_file", "is_sensitivity_results", "run_sensitivity", "analyse_results", "run_pilot", "PilotResult"]

#: The outcomes a sensitivity analysis of the model can study, by name.
OUTCOMES: dict[str, Outcome] = {o.name: o for o in [
    Outcome("p_agreement", "probability of reaching an agreement", "share", "share", "agreement_reached",
            short="probability of an agreement"),
    Outcome("months_to_agreement", "months to the first agreement (restricted mean within the horizon; a run "
            "without one counts as censored at the horizon)", "months", "until_horizon", "months_to_first_agreement",
            short="months to the first agreement (restricted mean)"),
    Outcome("rmst60", "months the first agreement holds within 60 months (Kaplan-Meier restricted mean)", "months",
            "rmst", horizon=60, short="months the first agreement holds, within 60 (RMST)"),
    Outcome("survival60", "share of first agreements still holding 60 months after signature (Kaplan-Meier)",
            "share", "survival", horizon=60, short="share of first agreements holding 60 months"),
    Outcome("total_violence", "total violence over the run (violence summed over the months)", "violence-months",
            "mean", "total_violence", short="total violence"),
    Outcome("consolidated", "probability of consolidated peace (an agreement that holds through its follow-up)",
            "share", "share", "consolidated", short="probability of consolidated peace"),
]}

#: Parameters that cannot be factors: they define how the outcomes are measured.
_MEASURES = {"months": "the horizon defines the outcomes (months to agreement are restricted to it); set it "
                       "with experiment.months",
             "followup_months": "the follow-up defines consolidated peace and when durability is censored; set it "
                                "in [parameters]"}
#: Registry values that are not values but a switch to something else (the registry's meanings say
#: so): a range must start above them.
_SENTINELS = {"mediators": (1, "0 keeps the scenario's list of mediators"),
              "mediator.leverage": (0.0, "a negative value takes the default of the mediator's kind")}

_SECTIONS = ("experiment", "sensitivity", "parameters", "intervention")
_FIELDS = {"method", "parameters", "exclude", "trajectories", "num_levels", "samples", "second_order", "outcomes",
           "given_data", "resamples", "bounds", "groups", "window"}
_ACTOR_NAME = re.compile(r"(\w+)(\[(\d+)\])?\.(\w+)")
#: Names other texts (SALib, the literature) give the size of the sample, lower-cased: the Morris
#: method's is ``trajectories``, the others' ``samples``.
_SIZE_NAMES = {"n", "n_samples", "nsamples", "num_samples", "sample", "sample_size", "base_samples",
               "base_sample", "base_sample_size", "n_base", "size", "r", "n_trajectories", "num_trajectories",
               "ntrajectories", "trajectory"}
#: Names other texts give the Morris grid's levels.
_LEVEL_NAMES = {"levels", "p", "num_level", "n_levels", "nlevels", "grid_levels"}


# ---------------------------------------------------------------------------------------------
# the experiment file
# ---------------------------------------------------------------------------------------------
@dataclass
class SensitivityRuns(Experiment):
    """The runner's experiment of a sensitivity analysis: one design point per sample point.

    Its digest covers the sample and the replicates besides the files, so that results of another
    sample (another SALib version, another N) are never resumed as this one's."""

    design_digest: str = ""

    def digest(self) -> str:
        h = hashlib.sha256(super().digest().encode())
        h.update(f"\0{self.design_digest}\0{self.replicates}".encode())
        return h.hexdigest()


@dataclass
class SensitivitySpec:
    """A validated sensitivity experiment: the design, the outcomes, and the runner's experiment."""

    name: str
    title: str
    question: str
    path: str
    design: Design
    outcomes: tuple[Outcome, ...]
    replicates: int
    master_seed: int
    resamples: int
    given_data: bool
    runs: SensitivityRuns | None
    replicates_source: str = "file"

    @property
    def n_runs(self) -> int:
        return self.design.n_points * self.replicates

    def summary(self) -> str:
        d = self.design
        what = {"morris": "Morris", "sobol": "Sobol'", "rbd_fast": "RBD-FAST"}[d.method]
        n_groups = len(d.group_names)
        factors = f"{len(d.inputs)} factors" + (f" in {n_groups} groups" if d.grouped else "")
        return (f"{what}, {factors}: {counted(d.n_points, 'point')} x {counted(self.replicates, 'replicate')} = "
                f"{counted(self.n_runs, 'run')}")


def is_sensitivity_file(path: str | Path) -> bool:
    """True when the TOML file at ``path`` has a ``[sensitivity]`` table."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return False
    return isinstance(raw.get("sensitivity"), dict)


def is_sensitivity_results(folder: str | Path) -> bool:
    """True when ``folder`` holds the runs of a sensitivity experiment (its manifest's experiment
    file has a ``[sensitivity]`` table)."""
    m = _json(Path(folder) / "manifest.json")
    if not m or not isinstance(m.get("experiment_text"), str):
        return False
    try:
        return isinstance(tomllib.loads(m["experiment_text"]).get("sensitivity"), dict)
    except tomllib.TOMLDecodeError:
        return False


def _resolve(ref: str | Path) -> Path:
    from .scenario import resolve_input

    names = [p.stem for p in sorted(experiment_dir().glob("*.toml")) if is_sensitivity_file(p)]
    return resolve_input(ref, kind="sensitivity experiment", shipped=experiment_dir(), names=names,
                         listing="peacesim sensitivity --help")


def load_sensitivity(ref: str | Path, *, replicates: int | None = None, check_points: bool = True,
                     sample: bool = True) -> SensitivitySpec:
    """Read and validate a sensitivity experiment by short name or path.

    ``replicates`` replaces the file's ``experiment.replicates``. With ``check_points`` every sample
    point is checked against the scenario before anything runs, as the runner does for a sweep.
    ``sample=False`` validates the file without drawing the sample (for listings: the sizes are
    known, ``design.X`` is empty and ``runs`` is None).
    """
    refuse_results_folder(ref, "a sensitivity experiment file", "these runs came from")
    path = _resolve(ref)
    where = str(path)
    text, raw = read_toml(path)
    return sensitivity_from_dict(raw, where=where, base_dir=path.parent, default_name=path.stem, source_text=text,
                                 replicates=replicates, check_points=check_points, sample=sample)


def sensitivity_from_dict(raw: dict[str, Any], *, where: str = "<experiment>", base_dir: Path | None = None,
                          default_name: str = "sensitivity", source_text: str = "", replicates: int | None = None,
                          check_points: bool = True, sample: bool = True) -> SensitivitySpec:
    """:func:`load_sensitivity` from a parsed file."""
    if "sensitivity" not in raw and ("vary" in raw or "design" in raw):
        raise InputError(f"{where}: this is a sweep's experiment file (it has [vary] or [[design]] and no "
                         "[sensitivity] table); run it with 'peacesim sweep'")
    from .experiment import _EXPERIMENT_FIELDS

    for key in raw:
        if key not in _SECTIONS and (key in _EXPERIMENT_FIELDS or key in _FIELDS) and not isinstance(raw[key], dict):
            table = "experiment" if key in _EXPERIMENT_FIELDS and key != "outcomes" else "sensitivity"
            raise InputError(f"{where}: {key} = {words(raw[key])} stands outside any table; put it under "
                             f"{'an' if table == 'experiment' else 'a'} [{table}] header")
        if key not in _SECTIONS:
            hint = ("; the sample is the design of a sensitivity experiment" if key in ("vary", "design") else "")
            raise InputError(f"{where}: section [{key}] is not allowed in a sensitivity experiment{hint}; allowed: "
                             f"{', '.join(_SECTIONS)}")
    sens = raw.get("sensitivity")
    if not isinstance(sens, dict):
        raise InputError(f"{where}: missing [sensitivity] table (method, parameters, ...)")
    for key in sens:
        if key not in _FIELDS:
            raise InputError(f"{where}: unknown field sensitivity.{key}{_field_hint(key, sens)}; "
                             f"allowed: {', '.join(sorted(_FIELDS))}")
    meta = dict(raw.get("experiment") or {})
    for key in meta if isinstance(meta, dict) else ():
        if key in _FIELDS and key != "outcomes":
            raise InputError(f"{where}: experiment.{key} belongs in the [sensitivity] table (sensitivity.{key})")
        if isinstance(key, str) and key.lower() in _SIZE_NAMES:
            method = sens.get("method")
            raise InputError(f"{where}: unknown field experiment.{key}; {_size_field(method, meta[key])}, in the "
                             "[sensitivity] table")
    if "outcomes" in meta:
        raise InputError(f"{where}: experiment.outcomes is not used by a sensitivity experiment (every run outcome "
                         "is kept); choose the analysed outcomes with sensitivity.outcomes")
    if replicates is not None:
        if isinstance(replicates, bool) or not isinstance(replicates, int) or not 2 <= replicates <= 100_000:
            raise InputError(f"--replicates {words(replicates)} is not allowed; expected a whole number from 2 to "
                             "100000")
        meta["replicates"] = replicates
    elif isinstance(meta.get("replicates"), int) and not isinstance(meta["replicates"], bool) \
            and meta["replicates"] < 2:
        raise InputError(f"{where}: experiment.replicates = {meta['replicates']} is not allowed; a sensitivity "
                         "analysis needs at least 2 replicates per point to measure the model's noise")
    runner_raw = {k: v for k, v in raw.items() if k != "sensitivity"}
    runner_raw["experiment"] = meta
    base = experiment_from_dict(runner_raw, where=where, base_dir=base_dir, default_name=default_name,
                                source_text=source_text)
    at = f"{where}: sensitivity"

    method = sens.get("method")
    if method is None:
        raise InputError(f"{at}.method is missing; expected one of {', '.join(METHODS)}")
    if method not in METHODS:
        raise InputError(f"{at}.method = {words(method)} is not allowed; expected one of {', '.join(METHODS)}")
    names = _factor_names(sens, base, at)
    bounds = sens.get("bounds", {})
    if not isinstance(bounds, dict):
        raise InputError(f"{at}.bounds must be a table of name = [low, high]")
    for b in bounds:
        if b not in names:
            raise InputError(f"{at}.bounds.{b}: {words(b)} is not one of the factors; bounds narrow the factors only")
    groups = _groups(sens.get("groups", {}), names, at)
    if groups and method == "rbd_fast":
        # its Latin hypercube would give a group's factors one column, and its indices are each
        # factor's own: the same index twice, with no joint one
        raise InputError(f"{at}.groups: RBD-FAST gives each factor's own index, not a group's; use method = "
                         "\"morris\" or \"sobol\" for one joint index of several factors, or leave the groups out")
    window = sens.get("window", 1.0)
    if isinstance(window, bool) or not isinstance(window, (int, float)) or not 0 < window <= 1:
        raise InputError(f"{at}.window = {words(window)} is not allowed; expected a share of each registry range "
                         "above 0 and at most 1 (1: the whole range)")
    scen = base.base()
    _check_set_interventions(scen, names, sens.get("parameters") == "numeric", at, where)
    inputs = [_input(n, bounds.get(n), groups.get(n, ""), at, window=float(window),
                     centre=_scenario_value(scen, n) if n not in bounds else None) for n in names]
    outcomes = _outcomes(sens.get("outcomes"), at)
    given = sens.get("given_data", True)
    if not isinstance(given, bool):
        raise InputError(f"{at}.given_data = {words(given)} is not allowed; expected true or false")
    resamples = _whole(sens.get("resamples", RESAMPLES), f"{at}.resamples", 100, 100_000)
    samples, levels, second = _method_settings(sens, method, at)
    seed = analysis_seed(base.master_seed, "sample")
    design = make_design(inputs, method, samples, seed=seed, num_levels=levels, second_order=second, where=at,
                         sample=sample)

    from . import budget

    budget.check_design_points(design.n_points, where=f"{at} ({design.shape_rule()})")
    budget.check_runs(design.n_points, base.replicates, where=at)
    if not sample:
        return SensitivitySpec(name=base.name, title=base.title, question=base.question, path=where, design=design,
                               outcomes=outcomes, replicates=base.replicates, master_seed=base.master_seed,
                               resamples=resamples, given_data=given, runs=None)
    points = design.values()
    if check_points:
        _check_points(base, points, where)
    fields_ = {f.name: getattr(base, f.name) for f in dataclasses.fields(Experiment)}
    fields_.update(design=points, factors=[])
    runs = SensitivityRuns(**fields_, design_digest=design.digest()).checked()  # made from the checked file
    return SensitivitySpec(name=base.name, title=base.title, question=base.question, path=where, design=design,
                           outcomes=outcomes, replicates=base.replicates, master_seed=base.master_seed,
                           resamples=resamples, given_data=given, runs=runs,
                           replicates_source="--replicates" if replicates is not None else "file")


def _size_field(method: Any, value: Any = None) -> str:
    """Which field holds the size of ``method``'s sample, and how to write ``value`` there."""
    if method == "morris":
        field_, what, usual = "trajectories", "the Morris method's number of trajectories (SALib's N)", "10 to 50 is usual"
    elif method in ("sobol", "rbd_fast"):
        field_ = "samples"
        what = f"{'the base sample size N' if method == 'sobol' else 'the number of samples N'} of {method}"
        usual = "a power of two such as 256" if method == "sobol" else "at least 60"
    else:
        return ("the size of the sample is sensitivity.samples for sobol and rbd_fast, sensitivity.trajectories "
                "for morris")
    how = f": write {field_} = {words(value)}" if value is not None else ""
    return f"{what} is sensitivity.{field_}{how} ({usual})"


def _field_hint(key: str, sens: dict[str, Any]) -> str:
    """What follows 'unknown field sensitivity.KEY': the field meant, where the name is one that
    other texts use (SALib's N, Morris's r), else the closest field's name, or nothing."""
    low = key.lower()
    if low in _SIZE_NAMES:
        return f"; {_size_field(sens.get('method'), sens[key])}"
    if low in _LEVEL_NAMES:
        return f"; the Morris method's number of grid levels is sensitivity.num_levels (4 is usual)"
    return did_you_mean(key, _FIELDS)


def _whole(value: Any, where: str, low: int, high: int) -> int:
    whole = as_whole(value)
    if whole is None or not low <= whole <= high:
        raise InputError(f"{where} = {words(value)} is not allowed; expected a whole number from {low} to {high:,}")
    return whole


def _method_settings(sens: dict[str, Any], method: str, at: str) -> tuple[int, int, bool]:
    if method == "morris":
        if "samples" in sens:
            raise InputError(f"{at}.samples does not apply to the Morris method; "
                             + _size_field(method, sens["samples"]))
        if "second_order" in sens:
            raise InputError(f"{at}.second_order does not apply to the Morris method; it takes trajectories and "
                             "num_levels")
        if "trajectories" not in sens:
            raise InputError(f"{at}.trajectories is missing; the Morris method needs the number of trajectories "
                             "(10 to 50 is usual)")
        r = _whole(sens["trajectories"], f"{at}.trajectories", 2, 100_000)
        levels = sens.get("num_levels", 4)
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
            raise InputError(f"{at}.num_levels = {words(levels)} is not allowed; expected an even whole number of "
                             "at least 2 (4 is usual)")
        return r, levels, False
    for k in ("trajectories", "num_levels"):
        if k in sens:
            raise InputError(f"{at}.{k} applies to the Morris method only; "
                             + (_size_field(method, sens[k]) if k == "trajectories" else f"{method} takes samples"))
    if "samples" not in sens:
        hint = "a power of two such as 256" if method == "sobol" else "at least 60"
        raise InputError(f"{at}.samples is missing; {method} needs the number of samples N ({hint})")
    n = sens["samples"]
    if isinstance(n, bool) or not isinstance(n, int):
        raise InputError(f"{at}.samples = {words(n)} is not allowed; expected a whole number")
    second = sens.get("second_order", False)
    if not isinstance(second, bool):
        raise InputError(f"{at}.second_order = {words(second)} is not allowed; expected true or false")
    if second and method != "sobol":
        raise InputError(f"{at}.second_order applies to the Sobol' method only")
    return n, 4, second


def _numeric(base: Experiment) -> list[str]:
    """Every numeric model-wide parameter that may be a factor and is not fixed by the file."""
    return [n for n, p in REGISTRY.items() if p.kind in ("float", "int") and n not in _MEASURES
            and n not in base.fixed]


def _factor_names(sens: dict[str, Any], base: Experiment, at: str) -> list[str]:
    spec = sens.get("parameters")
    exclude = sens.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(x, str) for x in exclude):
        raise InputError(f"{at}.exclude must be a list of parameter names")
    if spec == "numeric":
        names = _numeric(base)
        for x in exclude:
            if x not in REGISTRY:
                raise InputError(f"{at}.exclude: unknown parameter {words(x)}{did_you_mean(x, REGISTRY)}")
        names = [n for n in names if n not in exclude]
    elif isinstance(spec, list) and spec and all(isinstance(x, str) for x in spec):
        if exclude:
            raise InputError(f"{at}.exclude applies to parameters = \"numeric\" only; list the factors instead")
        names = list(spec)
        seen = set()
        for n in names:
            if n in seen:
                raise InputError(f"{at}.parameters: {words(n)} is listed twice")
            seen.add(n)
            if n in base.fixed:
                raise InputError(f"{at}.parameters: {n} is also fixed in [parameters] ({n} = {words(base.fixed[n])}); "
                                 "a factor varies, so remove it from one of them")
        clash = first_overlap(names, base.scenario)
        if clash is not None:
            raise InputError(f"{at}.parameters: {clash.refusal()}")
        found = fixed_overlap(base.fixed, names, base.scenario)
        if found is not None:
            fixed, value, n, clash = found
            raise InputError(f"{at}.parameters: {n} and {fixed}, fixed in [parameters] ({fixed} = {words(value)}), "
                             f"both set {clash.what}; a factor varies, so remove one of them{clash.hint}")
    else:
        raise InputError(f"{at}.parameters = {words(spec)} is not allowed; expected \"numeric\" (every numeric "
                         "model-wide parameter) or a list of names (model-wide or KIND.FIELD)")
    if len(names) < 2:
        left = (f"only {names[0]} is left" if names and spec == "numeric" else f"only {names[0]} is listed"
                if names else "no factor is left")
        raise InputError(f"{at}.parameters: {left}; a sensitivity analysis needs at least two factors")
    return names


def _check_set_interventions(scen, names: list[str], numeric: bool, at: str, where: str) -> None:
    """A factor that a planned ``set`` intervention sets would take the intervention's value from its
    month on at every sample point: its indices would measure only the months before."""
    for x in scen.interventions:
        if not x.enabled or x.kind != "set" or x.args.get("name") not in names:
            continue
        name = x.args["name"]
        planned = "" if x.origin in ("", where) else f" (planned in {x.origin})"
        factor = (f'leave the factor out (sensitivity.exclude = ["{name}"])' if numeric
                  else "remove the factor from sensitivity.parameters")
        raise InputError(f"{at}.parameters: {name} is a factor, and the intervention {x.label!r}{planned} sets it to "
                         f"{words(x.args['value'])} from month {x.month} on, the same at every sample point; {factor}, "
                         "or remove the intervention or switch it off in [parameters] "
                         f"(\"intervention.{x.label}.enabled\" = false)")


def _registry_entry(name: str, at: str):
    """The registry's declaration of a factor: a model-wide parameter or ``KIND.FIELD``."""
    if name in _MEASURES:
        raise InputError(f"{at}.parameters: {name} cannot be a factor: {_MEASURES[name]}")
    if name.startswith("intervention."):
        raise InputError(f"{at}.parameters: {words(name)}: interventions cannot be factors of a sensitivity "
                         "analysis; plan them in [[intervention]] tables, which apply to every run")
    if "." in name:
        m = _ACTOR_NAME.fullmatch(name)
        kind = m.group(1) if m else name.split(".")[0]
        if m is None or kind not in ACTOR_FIELDS:
            raise InputError(f"{at}.parameters: unknown actor kind in {words(name)}; use KIND.FIELD with KIND one of "
                             f"{', '.join(ACTOR_FIELDS)}")
        fname = m.group(4)
        spec = ACTOR_FIELDS[kind].get(fname)
        if spec is None or fname in ("name", "count"):
            allowed = ", ".join(f for f, p in ACTOR_FIELDS[kind].items() if f not in ("name", "count")
                                and p.kind != "str")
            raise InputError(f"{at}.parameters: unknown field {words(fname)} for {kind}; allowed: {allowed}")
        return spec
    spec = REGISTRY.get(name)
    if spec is None:
        raise InputError(f"{at}.parameters: unknown parameter {words(name)}{did_you_mean(name, REGISTRY)}; see "
                         "'peacesim params' for the list")
    return spec


def _scenario_value(scen, name: str) -> float | None:
    """The base scenario's value of a factor: the model-wide parameter, or the mean over the actors of
    ``KIND`` (the one actor of ``KIND[N]``) of ``FIELD``; None when it is not a number."""
    m = _ACTOR_NAME.fullmatch(name)
    if m is None:
        v = scen.params.get(name)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None
    actors = scen.actors.get(m.group(1)) or []
    if m.group(3):
        k = int(m.group(3))
        actors = actors[k - 1:k]
    vals = [a.get(m.group(4)) for a in actors]
    vals = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return float(np.mean(vals)) if vals else None


def _windowed(spec, centre: float | None, window: float) -> tuple[float, float]:
    """The share ``window`` of the registry range, centred on ``centre`` and moved inside the
    registry's bounds where it would cross them (whole numbers: widened to whole numbers)."""
    low, high = float(spec.low), float(spec.high)
    if window >= 1 or centre is None:
        return low, high
    width = window * (high - low)
    lo = min(max(centre - width / 2, low), high - width)
    hi = lo + width
    if spec.kind == "int":
        lo, hi = math.floor(lo + 1e-9), math.ceil(hi - 1e-9)
        if hi <= lo:
            hi = min(lo + 1, int(high))
            lo = hi - 1
    return lo, hi


def _input(name: str, bounds: Any, group: str, at: str, *, window: float = 1.0, centre: float | None = None) -> Input:
    spec = _registry_entry(name, at)
    kind = spec.kind
    label = spec.meaning
    if kind == "str":
        raise InputError(f"{at}.parameters: {name} is a text (a name), not something that can vary")
    where = f"{at}.bounds.{name}"
    if kind in ("float", "int"):
        low, high = _windowed(spec, centre, window) if bounds is None else (spec.low, spec.high)
        if bounds is not None:
            if (not isinstance(bounds, list) or len(bounds) != 2
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in bounds)):
                raise InputError(f"{where} = {words(bounds)} is not allowed; expected [low, high] within "
                                 f"{_range(spec)}")
            lo, hi = bounds
            if not (spec.low <= lo < hi <= spec.high):
                raise InputError(f"{where} = {words(bounds)} is not allowed; expected [low, high] with low below high, "
                                 f"within the registry's {_range(spec)}")
            if kind == "int" and (float(lo) != int(lo) or float(hi) != int(hi)):
                raise InputError(f"{where} = {words(bounds)} is not allowed; {name} is a whole number: give whole "
                                 "numbers")
            low, high = lo, hi
        sentinel = _SENTINELS.get(name) or _SENTINELS.get(_generic(name))
        if sentinel is not None and low < sentinel[0]:
            raise InputError(f"{at}.parameters: {name} would range over {_fmt(low)} to {_fmt(high)}, but {sentinel[1]}; "
                             f"give bounds from {_fmt(sentinel[0])} up in [sensitivity.bounds] (for example "
                             f"{name} = [{_fmt(sentinel[0])}, {_fmt(high)}])")
        if sentinel is not None and bounds is None and window < 1 and centre is not None and centre < sentinel[0]:
            # a window is centred on the scenario's value, and this one stands for something else
            raise InputError(f"{at}.parameters: {name}'s window ({_fmt(window)} of its range) would be centred on the "
                             f"scenario's value, {_fmt(centre)}, but {sentinel[1]}; give its bounds in "
                             f"[sensitivity.bounds] (for example {name} = [{_fmt(max(sentinel[0], spec.low))}, "
                             f"{_fmt(spec.high)}])")
        if kind == "int":
            return Input(name, "int", int(low), int(high), group=group, label=label, unit=spec.unit)
        return Input(name, "float", float(low), float(high), group=group, label=label, unit=spec.unit)
    options = (False, True) if kind == "bool" else tuple(spec.choices)
    if bounds is not None:
        if not isinstance(bounds, list) or len(bounds) < 2 or any(b not in options or isinstance(b, bool) != (kind == "bool")
                                                                  for b in bounds) or len(set(bounds)) != len(bounds):
            raise InputError(f"{where} = {words(bounds)} is not allowed; expected a list of at least two different "
                             f"values from {words(list(options))}")
        options = tuple(o for o in options if o in bounds)
    if kind == "bool" and options == (False, True):
        return Input(name, "bool", group=group, label=label)
    return Input(name, "choice", choices=options, group=group, label=label)


def _generic(name: str) -> str:
    return re.sub(r"\[\d+\]", "", name)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _range(spec) -> str:
    return f"{_fmt(spec.low)} to {_fmt(spec.high)}"


def _groups(raw: Any, names: list[str], at: str) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise InputError(f"{at}.groups must be a table of group = [factor, ...]")
    member_of: dict[str, str] = {}
    for g, members in raw.items():
        if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, str) for m in members):
            raise InputError(f"{at}.groups.{g} = {words(members)} is not allowed; expected a list of two or more "
                             "factor names")
        if g in names and g not in members:
            raise InputError(f"{at}.groups.{g}: the group's name is a factor outside it; choose another name")
        for m in members:
            if m not in names:
                raise InputError(f"{at}.groups.{g}: {words(m)} is not one of the factors")
            if m in member_of:
                raise InputError(f"{at}.groups: {m} is in two groups ({member_of[m]} and {g})")
            member_of[m] = g
    return member_of


def _outcomes(raw: Any, at: str) -> tuple[Outcome, ...]:
    if raw is None:
        return tuple(OUTCOMES.values())
    if isinstance(raw, str) and raw in OUTCOMES:
        raise InputError(f"{at}.outcomes = {words(raw)} is not allowed; expected a list of outcome names: write "
                         f"outcomes = [{words(raw)}]")
    if not isinstance(raw, list) or not raw or not all(isinstance(o, str) for o in raw):
        raise InputError(f"{at}.outcomes = {words(raw)} is not allowed; expected a list of outcome names from: "
                         f"{', '.join(OUTCOMES)}")
    for o in raw:
        if o not in OUTCOMES:
            raise InputError(f"{at}.outcomes: unknown outcome {words(o)}{did_you_mean(o, OUTCOMES)}; allowed: "
                             f"{', '.join(OUTCOMES)}")
    if len(set(raw)) != len(raw):
        raise InputError(f"{at}.outcomes lists an outcome twice")
    return tuple(OUTCOMES[o] for o in raw)


def _check_points(base: Experiment, points: list[dict[str, Any]], where: str) -> None:
    """Every sample point against the scenario, before anything runs (as the runner checks a design)."""
    from .interventions import check_plan

    scen = base.base()
    seen: set[tuple] = set()
    for i, point in enumerate(points):
        key = tuple(point.values())
        if key in seen:
            continue
        seen.add(key)
        s = scen.with_overrides(point, where=f"{where}: sample point {i}").cast()
        check_plan(s.interventions, s.actors, s.params["months"], where=f"{where}: sample point {i}")


# ---------------------------------------------------------------------------------------------
# running and analysing
# ---------------------------------------------------------------------------------------------
@dataclass
class SensitivityAnalysis:
    """What the analysis of a results folder found."""

    spec: SensitivitySpec
    outputs: PointOutputs
    indices: pd.DataFrame
    noise: pd.DataFrame
    notes: dict[str, list[str]]
    manifest: dict[str, Any]

    def convergence(self) -> pd.DataFrame:
        """Per outcome of the design's method: indices compared at N/2 and N, how many moved more than
        their interval, the widest interval relative to the largest index, and the verdict
        (:func:`~peacesim.sensitivity_analysis.convergence_table`)."""
        d = self.spec.design
        return convergence_table(self.indices, d.method, [o.name for o in self.spec.outcomes], d.samples)

    def points(self) -> pd.DataFrame:
        """One row per sample point: its position in SALib's space, its parameter values and outputs."""
        import pandas as pd
        d = self.spec.design
        cols: dict[str, Any] = {"design_point": np.arange(d.n_points)}
        cols.update({f"x:{name}": d.X[:, j] for j, name in enumerate(d.names)})
        cols.update(d.columns())
        for o in self.spec.outcomes:
            cols[o.name] = self.outputs.Y[o.name]
            cols[f"n:{o.name}"] = self.outputs.n[o.name]
        return pd.DataFrame(cols)


@dataclass
class SensitivityResult:
    """What ``run_sensitivity`` did: the folder, the files written, the analysis and the runs."""

    out: Path
    files: list[Path]
    analysis: SensitivityAnalysis
    ran: int
    skipped: int
    retried: int
    seconds: float
    run_seconds: float = 0.0

    def __repr__(self) -> str:
        # one line: the default would print every table of the analysis and the whole manifest
        spec = self.analysis.spec
        return (f"<SensitivityResult {spec.name!r}: {spec.summary()}; {self.ran} ran, {self.skipped} already done; "
                f"{len(self.analysis.indices)} indices; out={str(self.out)!r}>")


def run_sensitivity(experiment: str | Path | SensitivitySpec, *, executor: str = "processes",
                    workers: int | None = None, scheduler: str | None = None, out: str | Path | None = None,
                    fresh: bool = False, replicates: int | None = None, progress: bool = True,
                    figures: bool = True, announce: Callable[[], None] | None = None) -> SensitivityResult:
    """Run a sensitivity experiment through the experiment runner and analyse it.

    Parameters
    ----------
    experiment:
        A shipped sensitivity experiment's short name (``"sensitivity_morris"``), a path to its TOML
        file, or a :class:`SensitivitySpec`.
    executor, workers, scheduler, fresh, progress:
        As for :func:`peacesim.run_experiment`: the runs go through it, so an interrupted analysis
        resumes where it stopped.
    out:
        Results folder (default ``results/<experiment name>``).
    replicates:
        Replicates per sample point, instead of the file's ``experiment.replicates``.
    figures:
        Draw the figures (the tables and the report are written in any case).
    announce:
        Called once the results folder is known to hold nothing of another experiment, before any
        run starts (the command line says there what it is about to run).

    A run that fails is run again once (``retry_failed``); if it fails again the analysis is
    refused with one line naming it. Writes, beside the runner's manifest: ``indices.csv`` and
    ``indices.parquet``, ``noise.csv`` and ``noise.parquet``, ``convergence.csv``,
    ``points.parquet``, ``sensitivity.json``, ``sensitivity.md`` and ``figures/sensitivity_*.png``.
    """
    from .sweep import run_experiment

    t0 = time.perf_counter()
    from .params import check_flags

    check_flags(fresh=fresh, progress=progress, figures=figures)
    spec = experiment if isinstance(experiment, SensitivitySpec) else load_sensitivity(experiment, replicates=replicates)
    if isinstance(experiment, SensitivitySpec) and replicates is not None and replicates != spec.replicates:
        raise InputError("replicates: give them to load_sensitivity(..., replicates=N) with a SensitivitySpec")
    out_dir = fsutil.check_out_path(out) if out is not None else Path("results") / fsutil.slug(spec.name, "experiment")
    _check_previous(out_dir, spec, fresh)
    t_runs = time.perf_counter()
    res = run_experiment(spec.runs, executor=executor, workers=workers, scheduler=scheduler, out=out_dir,
                         fresh=fresh, progress=progress, announce=announce)
    ran, skipped, retried = res.ran, res.skipped, 0
    failed = _failed_runs(out_dir)
    if failed:
        # a failed run is run again once before the analysis refuses it
        again = run_experiment(spec.runs, executor=executor, workers=workers, scheduler=scheduler, out=out_dir,
                               retry_failed=True, progress=progress)
        ran += again.ran
        retried = failed
    run_seconds = time.perf_counter() - t_runs
    try:
        analysis = analyse_results(out_dir, spec)
        files = write_outputs(out_dir, analysis, figures=figures, seconds=time.perf_counter() - t0)
    except StorageError as exc:
        raise _runs_kept(exc, out_dir, spec.runs.n_runs, "tables, figures and report") from None
    except KeyboardInterrupt:
        raise _interrupted_analysis(out_dir, spec.runs.n_runs) from None
    return SensitivityResult(out_dir, files, analysis, ran, skipped, retried, time.perf_counter() - t0, run_seconds)


def _check_previous(out: Path, spec: SensitivitySpec, fresh: bool) -> None:
    """Say in the analysis' own words why earlier results in ``out`` cannot be resumed when they have
    more replicates per point than asked for (more are asked for: the runner extends them)."""
    if fresh:
        return
    m = _json(out / "manifest.json")
    if not m or m.get("experiment_digest") == spec.runs.digest():
        return
    stored = m.get("replicates")
    if (m.get("experiment_text") == spec.runs.source_text and isinstance(stored, int)
            and not isinstance(stored, bool) and stored > spec.replicates):
        raise InputError(f"--out {out}: the results there have {stored} replicates per point and this analysis asks "
                         f"for {spec.replicates}; stored runs are not dropped: ask for {stored} or more (--replicates "
                         f"{stored}, or replicates = {stored} in the file), use --fresh to start over or --out to "
                         "choose another folder")


def _check_previous_pilot(out: Path, runs_exp: SensitivityRuns, points: int, replicates: int) -> None:
    """Say in the pilot's own words why an earlier pilot of the same file in ``out`` cannot be
    resumed: it has another number of points, or more replicates than asked for (more are asked
    for: the runner extends it)."""
    m = _json(out / "manifest.json")
    if not m or m.get("experiment_digest") == runs_exp.digest() or m.get("experiment_text") != runs_exp.source_text:
        return
    design, stored = m.get("design"), m.get("replicates")
    if not isinstance(design, list) or isinstance(stored, bool) or not isinstance(stored, int):
        return
    if len(design) != points or stored > replicates:
        raise InputError(f"--out {out}: the pilot there has {len(design)} points x {stored} replicates and this one "
                         f"asks for {points} x {replicates}; its runs are not dropped: give --pilot-points "
                         f"{len(design)} and --pilot-replicates {max(stored, replicates)} (or more replicates) to "
                         "reuse them, --fresh to start over or --out to choose another folder")


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _failed_runs(out: Path) -> int:
    import pandas as pd
    try:
        st = pd.read_parquet(out / "runs.parquet", columns=["status"])["status"]
    except Exception:  # the analysis reports a missing or unreadable table
        return 0
    return int((st.astype(str) != "ok").sum())


def _read_tables(out: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The runner's manifest and tables, checked against the checksums it recorded."""
    import pandas as pd
    where = str(out)
    manifest = _json(out / "manifest.json")
    if manifest is None:
        raise InputError(f"{where}: manifest.json is missing or unreadable; not a finished results folder")
    if manifest.get("status") != "complete":
        raise InputError(f"{where}: the runs are not complete (manifest status {words(manifest.get('status'))}); run "
                         "the same command again to finish them")
    tables = manifest.get("tables") or {}
    frames = {}
    for name in ("runs.parquet", "episodes.parquet"):
        p = out / name
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{p}: missing; run the same command again to repair the results") from None
        except OSError as exc:
            raise fsutil.storage_error(exc, p, "read") from None
        info = tables.get(name)
        if isinstance(info, dict) and hashlib.sha256(data).hexdigest() != info.get("sha256"):
            raise InputError(f"{p}: damaged (its checksum differs from the one in manifest.json); run the same command "
                             "again to repair it")
        import io

        frames[name] = pd.read_parquet(io.BytesIO(data))
    return manifest, frames["runs.parquet"], frames["episodes.parquet"]


def analyse_results(out: str | Path, spec: SensitivitySpec) -> SensitivityAnalysis:
    """The analysis of a finished results folder of ``spec``: runs checked against the design,
    aggregated per point, indices with intervals and convergence, and the replicate noise."""
    out = Path(out)
    manifest, runs, episodes = _read_tables(out)
    if manifest.get("experiment_digest") != spec.runs.digest():
        raise InputError(f"{out}: the results there are not this experiment's (another sample, replicates or file); "
                         "run it with --fresh or choose another --out")
    outputs = point_outputs(spec.design, runs, spec.outcomes, spec.replicates, episodes=episodes, where=str(out))
    seed = analysis_seed(spec.master_seed, "analysis")
    table, notes = indices(spec.design, outputs.Y, seed=seed, resamples=spec.resamples, given_data=spec.given_data,
                           where=str(out))
    noise = noise_table(outputs, spec.outcomes, seed=seed)
    return SensitivityAnalysis(spec, outputs, table, noise, notes, manifest)


#: Files the analysis writes into the results folder (figures are added by the plots module).
TABLE_FILES = ("sensitivity.json", "indices.csv", "indices.parquet", "noise.csv", "noise.parquet", "convergence.csv",
               "points.parquet", "sensitivity.md")


def write_outputs(out: str | Path, analysis: SensitivityAnalysis, *, figures: bool = True,
                  seconds: float | None = None) -> list[Path]:
    """Write the tables, figures and report of ``analysis`` into the results folder ``out``.

    Only a folder the runner wrote is written into, while no other peacesim process uses it; a file
    at one of these names that peacesim did not write is not replaced (the call is refused before
    anything is written); every file is written atomically and recorded in the folder's inventory
    first, so that ``--fresh`` removes it."""
    from . import sensitivity_plots as plots

    root = Path(out)
    if fsutil.owner(root)[0] != "sweep":
        raise InputError(f"{root}: not a results folder written by the experiment runner")
    figdir = root / "figures"
    if figdir.is_symlink() or (figdir.exists() and not figdir.is_dir()):
        raise InputError(f"{figdir}: is not a plain folder (a link or a file); peacesim writes figures only into a "
                         "folder of its own inside the results folder")
    with fsutil.FolderLock(root, "sensitivity"):
        planned: list[tuple[str, Any]] = []
        if figures:
            for name, make in plots.planned_figures(analysis):
                planned.append((f"figures/{name}", make))
        rel = [*TABLE_FILES, *(n for n, _ in planned)]
        marker = fsutil.read_marker(root) or {}
        ours = {p for p in marker.get("plot_files", []) if isinstance(p, str)}
        for r in rel:
            target = fsutil.inside(root, root / r)
            if (target.exists() or target.is_symlink()) and r not in ours:
                raise InputError(f"{target}: exists and was not written by peacesim; move it away and run the same "
                                 "command again")
        stale = [p for p in ours if re.fullmatch(r"figures/sensitivity_.+\.png", p) and p not in rel]
        try:
            if planned:  # no figures asked for (--no-figures): no folder for them either
                figdir.mkdir(exist_ok=True)
            # the inventory first: an analysis cut short leaves files that are known to be peacesim's
            fsutil.write_marker(root, "sweep", **{k: v for k, v in marker.items() if k not in ("peacesim", "plot_files")},
                                plot_files=sorted((ours - set(stale)) | set(rel)))
            fsutil.remove_files([root / p for p in stale])
            written: list[Path] = []
            for name, make in planned:
                fig = make()
                p = root / name
                fsutil.atomic_write(p, lambda tmp, fig=fig: fig.savefig(tmp, dpi=plots.DPI, format="png"))
                written.append(p)
            conv = analysis.convergence()
            tables = {"indices": analysis.indices, "noise": analysis.noise}
            for stem, df in tables.items():
                fsutil.atomic_write(root / f"{stem}.csv", lambda tmp, df=df: df.to_csv(tmp, index=False))
                fsutil.atomic_write(root / f"{stem}.parquet", _parquet(df))
                written += [root / f"{stem}.csv", root / f"{stem}.parquet"]
            fsutil.atomic_write(root / "convergence.csv", lambda tmp: conv.to_csv(tmp, index=False))
            pts = analysis.points()
            fsutil.atomic_write(root / "points.parquet", _parquet(pts))
            record = _record(analysis, conv, seconds)
            from .store import json_default

            fsutil.atomic_write(root / "sensitivity.json", json.dumps(record, indent=1, default=json_default) + "\n")
            report = plots.report(analysis, conv, [p.relative_to(root) for p in written if p.suffix == ".png"],
                                  seconds=seconds)
            fsutil.atomic_write(root / "sensitivity.md", report)
            written += [root / "convergence.csv", root / "points.parquet", root / "sensitivity.json",
                        root / "sensitivity.md"]
        except StorageError:
            raise
        except OSError as exc:
            raise fsutil.storage_error(exc) from None
    return written


def _parquet(df: pd.DataFrame) -> Callable[[Path], None]:
    """A writer of ``df`` as Parquet for :func:`fsutil.atomic_write`, whose fault is in the system's
    words ('No space left on device'), not pyarrow's ('Error writing bytes to file. Detail: ...')."""
    from .merge import plain_os_error

    def write(tmp: Path) -> None:
        try:
            df.to_parquet(tmp, index=False)
        except OSError as exc:
            raise plain_os_error(exc) from None

    return write


def _record(analysis: SensitivityAnalysis, conv: pd.DataFrame, seconds: float | None) -> dict[str, Any]:
    from importlib import metadata

    spec = analysis.spec
    d = spec.design
    m = analysis.manifest
    return {
        "schema": "peacesim sensitivity",
        "name": spec.name,
        "title": spec.title,
        "question": spec.question,
        "experiment_file": spec.path,
        "design": d.settings(),
        "design_sha256": d.digest(),
        "problem": d.problem(),
        "shape": d.shape_rule(),
        "replicates": spec.replicates,
        "replicates_from": spec.replicates_source,
        "runs": spec.n_runs,
        "outcomes": {o.name: o.label for o in spec.outcomes},
        "resamples": spec.resamples,
        "conf_level": 0.95,
        "given_data": "rbd_fast" if spec.given_data or d.method == "rbd_fast" else None,
        "convergence": conv.to_dict(orient="records"),
        "most_influential": most_influential(analysis.indices, d.method, 12).to_dict(orient="records"),
        "notes": analysis.notes,
        "salib_version": _version("SALib", metadata),
        "runner_manifest": {k: m.get(k) for k in ("started", "finished", "executor", "workers", "git_commit",
                                                  "peacesim_version", "experiment_digest", "runs_failed")},
        "seconds": None if seconds is None else round(seconds, 2),
    }


def _version(pkg: str, metadata) -> str | None:
    try:
        return metadata.version(pkg)
    except metadata.PackageNotFoundError:  # pragma: no cover
        return None




# ---------------------------------------------------------------------------------------------
# the pilot: how many replicates?
# ---------------------------------------------------------------------------------------------
@dataclass
class PilotResult:
    """The replicate noise of each outcome measured by a pilot, and the replicates it calls for."""

    out: Path
    table: pd.DataFrame
    target: float
    points: int
    replicates: int
    files: list[Path] = field(default_factory=list)

    def _need(self, outcomes: Sequence[str] | None) -> pd.DataFrame:
        return self.table if outcomes is None else self.table[self.table["outcome"].isin(outcomes)]

    def recommended(self, outcomes: Sequence[str] | None = None) -> int | None:
        """The largest number of replicates that any of ``outcomes`` (default all) whose need could
        be estimated needs, and at least 2 (a sensitivity analysis needs two to measure the noise),
        or None when no outcome's could. Outcomes whose need could not be estimated
        (:meth:`unmeasured`) or that no number of replicates brings to the target
        (:meth:`unreachable`) are not covered by it."""
        vals = self._need(outcomes)["replicates_needed"].to_numpy(dtype=float)
        vals = vals[np.isfinite(vals)]
        return max(2, int(vals.max())) if len(vals) else None

    def unmeasured(self, outcomes: Sequence[str] | None = None) -> list[str]:
        """The outcomes whose noise, and so the replicates they need, could not be estimated (too few
        points with two values, or the same value in every run)."""
        t = self._need(outcomes)
        return t.loc[t["replicates_needed"].isna(), "outcome"].tolist()

    def unreachable(self, outcomes: Sequence[str] | None = None) -> list[str]:
        """The outcomes that no number of replicates brings to the target: noise, and no variance
        between the points beyond it."""
        t = self._need(outcomes)
        return t.loc[np.isinf(t["replicates_needed"].to_numpy(dtype=float)), "outcome"].tolist()


#: The pilot's size by default, and the sizes it accepts (points, replicates), and its target share of
#: noise in the per-point means: the command line's defaults and bounds too.
PILOT_POINTS, PILOT_REPLICATES, TARGET_NOISE = 32, 16, 0.1
PILOT_POINTS_RANGE, PILOT_REPLICATES_RANGE = (8, 10_000), (4, 10_000)


def pilot_runs(spec: SensitivitySpec, points: int, replicates: int) -> tuple[Any, SensitivityRuns]:
    """The pilot's design (``points`` points of a Latin hypercube over the factors' ranges, drawn
    from the master seed) and the runner's experiment of it (``replicates`` replicates a point)."""
    from SALib.sample import latin

    from .sensitivity_analysis import Design as _Design

    seed = analysis_seed(spec.master_seed, "pilot")
    d0 = spec.design
    probe = _Design("rbd_fast", d0.inputs, points, seed, np.zeros((0, len(d0.inputs))))
    X = np.asarray(latin.sample(probe.problem(), points, seed=seed), dtype=float)
    design = _Design("rbd_fast", d0.inputs, points, seed, X)
    pts = design.values()
    _check_points(spec.runs, pts, spec.path)
    fields_ = {f.name: getattr(spec.runs, f.name) for f in dataclasses.fields(Experiment)}
    fields_.update(design=pts, replicates=replicates, seeds=derive_seeds(spec.master_seed, replicates),
                   name=f"{spec.name}-pilot", title=f"{spec.title} (pilot)")
    return design, SensitivityRuns(**fields_, design_digest=design.digest()).checked()


def run_pilot(experiment: str | Path | SensitivitySpec, *, points: int = PILOT_POINTS,
              replicates: int = PILOT_REPLICATES, target: float = TARGET_NOISE, executor: str = "processes", workers: int | None = None,
              scheduler: str | None = None, out: str | Path | None = None, fresh: bool = False,
              progress: bool = True, announce: Callable[[], None] | None = None) -> PilotResult:
    """Measure the model's replicate noise at ``points`` points of a Latin hypercube over the
    experiment's factors, ``replicates`` runs each (common random numbers), and say how many
    replicates per point bring each outcome's noise down to ``target`` of the variance of the
    per-point means that the indices see (:func:`~peacesim.sensitivity_analysis.replicates_needed`,
    with a 95% bootstrap interval over the points).

    The pilot is an experiment of its own (``results/<name>-pilot``), run by the runner."""
    from .params import check_flags
    from .sweep import run_experiment

    check_flags(fresh=fresh, progress=progress)
    spec = experiment if isinstance(experiment, SensitivitySpec) else load_sensitivity(experiment)
    points = _whole(points, "--pilot-points", *PILOT_POINTS_RANGE)
    replicates = _whole(replicates, "--pilot-replicates", *PILOT_REPLICATES_RANGE)
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not 0 < target < 1:
        raise InputError(f"--target-noise {words(target)} is not allowed; expected a share between 0 and 1")
    seed = analysis_seed(spec.master_seed, "pilot")
    design, runs_exp = pilot_runs(spec, points, replicates)
    out_dir = fsutil.check_out_path(out) if out is not None else Path("results") / fsutil.slug(f"{spec.name}-pilot",
                                                                                            "pilot")
    if not fresh:
        _check_previous_pilot(out_dir, runs_exp, points, replicates)
    run_experiment(runs_exp, executor=executor, workers=workers, scheduler=scheduler, out=out_dir, fresh=fresh,
                   progress=progress, announce=announce)
    if _failed_runs(out_dir):
        run_experiment(runs_exp, executor=executor, workers=workers, scheduler=scheduler, out=out_dir,
                       retry_failed=True, progress=progress)
    try:
        return _pilot_analysis(spec, design, runs_exp, out_dir, seed, target, points, replicates)
    except KeyboardInterrupt:
        raise _interrupted_analysis(out_dir, runs_exp.n_runs) from None


def _pilot_analysis(spec: SensitivitySpec, design: Any, runs_exp: SensitivityRuns, out_dir: Path, seed: int,
                    target: float, points: int, replicates: int) -> PilotResult:
    """The pilot's noise and replicates needed, from its stored runs, written into ``out_dir``."""
    import pandas as pd

    manifest, runs, episodes = _read_tables(out_dir)
    outputs = point_outputs(design, runs, spec.outcomes, replicates, episodes=episodes, where=str(out_dir))
    rng = np.random.default_rng(seed)
    rows = []
    for o in spec.outcomes:
        m = outputs.runs[o.name]
        est = noise_components(m)
        # replicates that differ at one to four points only: a noise share of those few points
        few = varies_at_few_points(est) and est["points"] >= 3
        need = math.nan if few else replicates_needed(est["noise_var"], est["signal_var"], target)
        boot_need, boot_share = [], []
        # no interval around a need that could not be estimated: resamples that repeat a few points
        # would give one that looks like an estimate
        for _ in range(400 if not math.isnan(need) else 0):
            b = noise_components(m[rng.integers(0, len(m), len(m))])
            boot_need.append(replicates_needed(b["noise_var"], b["signal_var"], target))
            boot_share.append(b["noise_share_runs"])
        bn = np.array(boot_need, dtype=float)
        bn = bn[~np.isnan(bn)]  # inf (no signal in a resample) stays: it is the upper end
        bs = np.array(boot_share, dtype=float)
        bs = bs[np.isfinite(bs)]
        rows.append({"outcome": o.name, "label": o.label,
                     "noise_share_runs": math.nan if few else est["noise_share_runs"],
                     "noise_share_runs_low": float(np.quantile(bs, 0.025)) if len(bs) else math.nan,
                     "noise_share_runs_high": float(np.quantile(bs, 0.975)) if len(bs) else math.nan,
                     "noise_var": est["noise_var"], "signal_var": est["signal_var"],
                     "common_random_numbers_removed": est["common"],
                     "points": est["points"], "points_with_value": est["points_with_value"],
                     "noise_share_at_file_replicates": math.nan if few else _share_at(est, spec.replicates),
                     "replicates_needed": need,
                     "replicates_needed_low": _quantile(bn, 0.025), "replicates_needed_high": _quantile(bn, 0.975),
                     "note": _pilot_note(est, need, len(m))})
    table = pd.DataFrame(rows)
    result = PilotResult(out_dir, table, target, points, replicates)
    try:
        result.files = _write_pilot(out_dir, result, spec)
    except StorageError as exc:
        raise _runs_kept(exc, out_dir, runs_exp.n_runs, "table and report") from None
    return result


def _interrupted_analysis(out: Path, n_runs: int) -> Exception:
    """Ctrl-C after every run was stored, while the analysis was computed or written: the runner's
    interruption, saying that the runs are kept and what running the same command again does."""
    from .sweep import SweepInterrupted

    exc = SweepInterrupted(n_runs, n_runs, out)
    exc.args = (f"interrupted during the analysis: all {n_runs} runs are saved in {out}; run the same command again "
                "to analyse them (the runs are not run again)",)
    return exc


def _runs_kept(err: StorageError, out: Path, n_runs: int, what: str) -> StorageError:
    """A file-system fault while writing the analysis, after every run was stored: one line that
    says the runs are kept and what running the same command again does."""
    from .sweep import _HINTS

    if err.advised:
        return err
    hint = _HINTS.get(err.errno or 0, "fix the cause")
    return StorageError(f"{err}; all {n_runs} runs are saved in {out}, only the analysis's {what} could not be written: "
                        f"{hint} and run the same command again (the runs are not run again)", err.errno)


def _pilot_note(est: dict[str, Any], need: float, n: int) -> str:
    """Why a pilot's need is missing, infinite or an upper bound, in words ('' when it is none of these)."""
    if math.isnan(need):
        if est["points"] < 3:
            return f"not measured: two values or more at {est['points']} of {n} points, at least 3 needed"
        if varies_at_few_points(est):
            return (f"not measured: the replicates differ at {est['points_varying']} of {n} points, at least "
                    f"{MIN_VARYING_POINTS} needed")
        return "not measured: the same value in every run"
    if math.isinf(need):
        return "no number of replicates reaches the target: no variance between the points beyond the noise"
    if not est["common"]:
        return (f"upper bound: values missing (a value at {est['points_with_value']} of {n} points, two or more at "
                f"{est['points']})")
    return ""


def _quantile(x: np.ndarray, q: float) -> float:
    """A quantile of values that may include inf (sorted, not interpolated across inf)."""
    if not len(x):
        return math.nan
    return float(np.sort(x)[min(len(x) - 1, max(0, int(math.ceil(q * len(x))) - 1))])


def _share_at(est: dict[str, float], r: int) -> float:
    n, s = est["noise_var"], est["signal_var"]
    if not (np.isfinite(n) and np.isfinite(s)) or n + s == 0:
        return math.nan
    return (n / r) / (s + n / r)


def _write_pilot(root: Path, result: PilotResult, spec: SensitivitySpec) -> list[Path]:
    from . import sensitivity_plots as plots

    with fsutil.FolderLock(root, "sensitivity pilot"):
        marker = fsutil.read_marker(root) or {}
        ours = {p for p in marker.get("plot_files", []) if isinstance(p, str)}
        rel = ["pilot.csv", "pilot.md"]
        for r in rel:
            target = fsutil.inside(root, root / r)
            if (target.exists() or target.is_symlink()) and r not in ours:
                raise InputError(f"{target}: exists and was not written by peacesim; move it away and run the same "
                                 "command again")
        fsutil.write_marker(root, "sweep", **{k: v for k, v in marker.items() if k not in ("peacesim", "plot_files")},
                            plot_files=sorted(ours | set(rel)))
        fsutil.atomic_write(root / "pilot.csv", lambda tmp: result.table.to_csv(tmp, index=False))
        fsutil.atomic_write(root / "pilot.md", plots.pilot_report(result, spec))
    return [root / r for r in rel]

