"""Experiment design: which runs an experiment makes (DESIGN.md section 8, first layer).

An experiment file (TOML) names a base scenario, the parameters to vary, replicates, a master
seed, the outcomes to keep and whether to keep the per-month series; ``[[intervention]]`` tables
plan interventions for every run, and a factor ``intervention.LABEL.FIELD`` varies one (its
``month``, ``enabled`` for with and without, or an argument). This module reads and
validates it against the registry, expands the design points and derives every run's seed up
front from the master seed with ``numpy.random.SeedSequence.spawn``. The same replicate index
has the same seed at every design point (common random numbers), so differences between design
points are not noise. Nothing here runs the model.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import budget
from .errors import InputError
from .interventions import Planned, check_plan, labelled, override, parse_plan
from .params import REGISTRY, as_whole, check, did_you_mean
from .records import EPISODE_COLUMNS, OUTCOME_KEYS
from .scenario import (
    Scenario,
    actor_field,
    first_overlap,
    fixed_overlap,
    is_short_name,
    load_scenario,
    mark_checked,
    read_input,
    resolve_input,
    resolve_scenario,
    user_path,
)
from .words import cut, words

if TYPE_CHECKING:  # pragma: no cover
    from .result import RunResult

__all__ = ["Experiment", "Factor", "RunSpec", "load_experiment", "experiment_dir", "list_experiments", "derive_seeds"]

_EXPERIMENT_FIELDS = {"name", "title", "question", "description", "scenario", "replicates", "master_seed", "months",
                      "keep_series", "outcomes"}


def experiment_dir() -> Path:
    """The folder of shipped experiments (``experiments/`` at the project root, or the copies an
    installed peacesim carries, as :func:`peacesim.scenario.scenario_dir` finds scenarios)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "experiments", here / "experiments"):
        if candidate.is_dir():
            return candidate
    return here.parent / "experiments"


def list_experiments() -> list[Path]:
    return sorted(experiment_dir().glob("*.toml"))


@dataclass(frozen=True)
class Factor:
    """One varied factor: one or more parameters that take the same values together.

    ``values`` holds, for each level, a tuple with one value per parameter.
    """

    name: str
    parameters: tuple[str, ...]
    values: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class RunSpec:
    """One run: its design point, replicate, seed and the parameter values that differ."""

    design_point: int
    replicate: int
    seed: int
    values: dict[str, Any]


@dataclass
class Experiment:
    """A validated experiment: base scenario, fixed overrides, design points, replicates, seeds."""

    name: str
    title: str
    question: str
    scenario: Scenario
    fixed: dict[str, Any]
    factors: list[Factor]
    design: list[dict[str, Any]]
    replicates: int
    master_seed: int
    keep_series: bool = False
    outcomes: tuple[str, ...] = OUTCOME_KEYS
    months: int | None = None
    path: str = ""
    source_text: str = ""
    scenario_path: str = ""
    scenario_text: str = ""
    seeds: list[int] = field(default_factory=list)
    interventions: list[Planned] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The factor columns of the result tables: every varied parameter, in order."""
        cols: list[str] = []
        for values in self.design:
            for k in values:
                if k not in cols:
                    cols.append(k)
        return cols

    @property
    def n_runs(self) -> int:
        return len(self.design) * self.replicates

    def runs(self) -> list[RunSpec]:
        """Every run of the experiment, design point by design point."""
        return [RunSpec(i, r, self.seeds[r], values) for i, values in enumerate(self.design) for r in range(self.replicates)]

    def run(self, index: int) -> RunSpec:
        """The run at ``index`` in the order of :meth:`runs` (design point x replicates + replicate),
        made when asked: a sweep of a million runs does not hold a million of them."""
        dp, r = divmod(int(index), self.replicates)
        return RunSpec(dp, r, self.seeds[r], self.design[dp])

    def base(self) -> Scenario:
        """The base scenario with the experiment's interventions and fixed overrides applied."""
        scen = self.scenario
        if self.interventions:
            scen = copy.copy(scen)
            scen.interventions = labelled([*scen.interventions, *self.interventions], where=self.path)
            mark_checked(scen)  # the experiment's interventions were checked with it
        scen = scen.with_overrides(self.fixed, where=f"{self.path}: [parameters]")
        if self.months is not None:
            scen = scen.with_overrides({"months": self.months}, where=f"{self.path}: experiment.months")
        return scen

    def rerun(self, design_point: Any, replicate: Any) -> RunResult:
        """The run of one row of the experiment's tables, run again: the base scenario with the
        experiment's horizon, fixed parameters and interventions (:meth:`base`), the design point's
        values and the replicate's seed. It gives the row's results exactly, with the monthly
        series and the story, which the tables do not keep::

            exp = experiment_as_swept("results/staff_rotation")  # the experiment as that sweep ran it
            row = runs.iloc[0]                                   # a row of its runs.parquet
            exp.rerun(row.design_point, row.replicate).narrative()

        An experiment made from a results folder by :func:`experiment_as_swept` is refused in one
        line if the model has changed since the sweep (its digest differs from the folder's
        ``model_digest``), even after the experiment was made: the run would not be the row.
        """
        from .simulate import run_scenario

        where = self.path or self.name
        dp = _row_index(design_point, len(self.design), "design_point", where)
        rep = _row_index(replicate, self.replicates, "replicate", where)
        swept = getattr(self, "_swept", None)
        if swept is not None:
            from .sweep import model_digest

            folder, digest = swept
            here = model_digest()
            if here != digest:
                raise InputError(f"{folder}: the model has changed since the sweep (model digest {digest[:12]} then, "
                                 f"{here[:12]} now), so a run again here would not be the row's; rerun it with "
                                 "the peacesim that made the folder")
        return run_scenario(point_scenario(self.base(), dp, self.design[dp]), seed=self.seeds[rep])

    def state(self) -> bytes | None:
        """What the experiment's runs depend on, as bytes to compare (None if it cannot be)."""
        import pickle

        try:
            return pickle.dumps((self.scenario.params, self.scenario.actors, self.scenario.interventions, self.fixed,
                                 self.factors, self.design, self.replicates, self.master_seed, self.keep_series,
                                 self.outcomes, self.months, self.seeds, self.interventions), 5)
        except Exception:  # contents set by hand that are not plain data
            return None

    def checked(self) -> Experiment:
        """Note that this experiment is valid as it is now (its design was checked against its
        scenario); return it."""
        self._valid_state = self.state()
        return self

    def check_unchanged(self) -> None:
        """Refuse an Experiment object changed since it was checked: its results would be stored as
        those of its file (the folder's digest is the file's), and its runs were not checked."""
        state = self.state()
        if state is None or getattr(self, "_valid_state", None) != state:
            raise InputError(f"{self.path or self.name}: this Experiment object was changed (or made by hand) after "
                             "it was checked; make it with load_experiment or experiment_from_dict, which check it, "
                             "or change the experiment file")

    def digest(self) -> str:
        """Hash of the experiment's and scenario's file contents: what results belong to."""
        h = hashlib.sha256()
        h.update(self.source_text.encode())
        h.update(b"\0")
        h.update(self.scenario_text.encode())
        return h.hexdigest()


def point_scenario(base: Scenario, design_point: int, values: dict[str, Any]) -> Scenario:
    """The scenario a design point's runs use: the experiment's base (:meth:`Experiment.base`) with
    the point's values, cast."""
    return base.with_overrides(values, where=f"design point {design_point}").cast()


def _row_index(value: Any, n: int, name: str, where: str) -> int:
    """A design point's or replicate's number as a table holds it (a numpy integer, say), checked."""
    import numbers

    # a float that is a whole number too: a row of a table whose columns are all numbers (iterrows)
    # holds its design point and replicate as floats
    whole = (isinstance(value, numbers.Integral) or (isinstance(value, numbers.Real) and math.isfinite(value)
                                                     and float(value).is_integer()))
    if isinstance(value, bool) or not whole or not 0 <= int(value) < n:
        raise InputError(f"{where}: {name} = {words(value)} is not allowed; expected a whole number from 0 to {n - 1}")
    return int(value)


def derive_seeds(master_seed: int, replicates: int) -> list[int]:
    """One seed per replicate, spawned from the master seed before any run starts."""
    import numpy as np

    children = np.random.SeedSequence(master_seed).spawn(replicates)
    return [int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for c in children]


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """A TOML input file's text and contents; a one-line error naming the file if it cannot be read
    or parsed."""
    where = str(path)
    text = read_input(path)
    try:
        return text, tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML: {exc}") from None


def load_experiment(ref: str | Path) -> Experiment:
    """Read and validate an experiment by short name (``staff_rotation``) or path (``~`` expanded).
    (The experiment a sweep ran, from its results folder: :func:`experiment_as_swept`.)"""
    refuse_results_folder(ref, "an experiment file", "this sweep ran")
    path = resolve_input(ref, kind="experiment", shipped=experiment_dir(), names=[p.stem for p in list_experiments()],
                         listing="peacesim experiments")
    where = str(path)
    text, raw = read_toml(path)
    return experiment_from_dict(raw, where=where, base_dir=path.parent, default_name=path.stem, source_text=text)


def refuse_results_folder(ref: Any, expected: str, whose: str) -> None:
    """Refuse in one line a sweep's results folder given where ``expected`` (a file) is: the
    experiment file ``whose`` text is in the folder's manifest.json, read by experiment_as_swept."""
    folder = _results_folder(ref)
    if folder is not None and (folder / "manifest.json").is_file():
        raise InputError(f"{cut(str(folder), 200)}: a results folder, not {expected}; give the experiment file (the "
                         f"text of the one {whose} is in its manifest.json, and peacesim.experiment_as_swept reads it)")


def _results_folder(ref: Any) -> Path | None:
    """The folder ``ref`` names, if it names one and not a shipped experiment."""
    if not isinstance(ref, (str, os.PathLike)):
        return None
    text = os.fspath(ref)
    if not isinstance(text, str) or not text.strip() or "\x00" in text:
        return None
    if is_short_name(ref) and (experiment_dir() / f"{text}.toml").is_file():
        return None
    try:
        p = user_path(text)
        return p if p.is_dir() else None
    except (OSError, RuntimeError, ValueError):  # not a readable path: resolve_input says why
        return None


def experiment_as_swept(folder: str | Path) -> Experiment:
    """The experiment a sweep ran, from its results folder (a sweep's, a sensitivity analysis's or
    its pilot's), made again from the experiment file's text that ``manifest.json`` keeps
    (``experiment_text``) and the scenario file the sweep read, so a later edit of the experiment file
    changes nothing: its :meth:`Experiment.rerun` gives the folder's rows exactly.

    Refused in one line, rather than giving other runs than the folder's rows, when the folder is not
    a sweep's, when its manifest was edited, when the scenario file is not found or now differs from
    the text the sweep read (``scenario_text``), or when this peacesim's model differs from the
    sweep's (``model_digest``). The experiment made again must have the sweep's digest
    (``experiment_digest``): the same texts, and for a sensitivity analysis the same sample."""
    import json

    from .sweep import _sha, model_digest

    if (not isinstance(folder, (str, os.PathLike)) or not isinstance(os.fspath(folder), str)
            or not os.fspath(folder).strip() or "\x00" in os.fspath(folder)):
        raise InputError(f"results folder {words(folder)} is not allowed; expected the path of a sweep's results "
                         "folder, as a text or a Path")
    given = os.fspath(folder)
    folder = user_path(folder)
    if folder.name == "manifest.json" and folder.is_file():
        folder = folder.parent
    if not folder.is_dir():
        hint = Path("results") / given if "/" not in given and "\\" not in given else None
        also = f" (did you mean {hint}?)" if hint is not None and (hint / "manifest.json").is_file() else ""
        raise InputError(f"{cut(str(folder), 200)}: {'a file, not a folder' if folder.exists() else 'no such folder'}; "
                         f"give a sweep's results folder, which holds manifest.json{also}")
    mpath = folder / "manifest.json"
    if not mpath.is_file():
        from .fsutil import owner

        kind = owner(folder)[0]
        what = {"run": "the results of one run ('peacesim run')", "calibration": "a calibration's folder (its waves "
                "are in wave-N)", "validation": "a validation's folder"}.get(kind or "", "not a sweep's results folder")
        raise InputError(f"{cut(str(folder), 200)}: {what}; a sweep's results folder holds manifest.json, and this "
                         "one has none")
    try:
        manifest = json.loads(mpath.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{mpath}: cannot be read as a sweep's manifest ({cut(str(exc), 120)})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("experiment_digest"), str):
        raise InputError(f"{mpath}: not the manifest of a sweep (no experiment_digest); give a sweep's results folder")
    text = manifest.get("experiment_text")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{mpath}: the sweep ran an experiment made in Python, not read from a file, so its text is "
                         "not kept (experiment_text is empty); make it again with experiment_from_dict")
    if _sha(text) != manifest.get("experiment_sha256"):
        raise InputError(f"{mpath}: experiment_text is not the text the sweep read (its sha256 is not "
                         "experiment_sha256: the manifest was edited)")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        raise InputError(f"{mpath}: the sweep ran an experiment made in Python (a calibration's wave or a "
                         "comparison's runs, say), not an experiment file, so it cannot be made again from the "
                         "folder") from None
    swept, here = manifest.get("model_digest"), model_digest()
    if swept != here:
        commit = manifest.get("git_commit")
        made = f"peacesim at git commit {commit[:12]}" if isinstance(commit, str) and commit else "another peacesim"
        raise InputError(f"{folder}: the sweep ran another version of the model ({made}; model digest "
                         f"{swept[:12] if isinstance(swept, str) else words(swept)}, this one {here[:12]}), so runs "
                         "again here would not be its rows")
    meta = raw.get("experiment")
    file = manifest.get("experiment_file")
    file = file if isinstance(file, str) else ""
    if isinstance(meta, dict) and isinstance(meta.get("scenario"), str):
        # the scenario file the sweep read, found as the sweep found it (from the experiment file's folder)
        meta["scenario"] = str(_swept_scenario(meta["scenario"], manifest, folder))
    where = f"{mpath}: experiment_text"
    # the sweep's name (the experiment file's stem, where the file names none), not a made-up one
    name = manifest.get("name") if isinstance(manifest.get("name"), str) and manifest.get("name") else None
    if "sensitivity" in raw:  # a sensitivity analysis or its pilot: the design is the sample
        from .sensitivity import pilot_runs, sensitivity_from_dict

        reps, design = manifest.get("replicates"), manifest.get("design")
        if isinstance(reps, bool) or not isinstance(reps, int) or not isinstance(design, list):
            raise InputError(f"{mpath}: replicates or design missing or not as a sweep writes them")
        spec = sensitivity_from_dict(raw, where=where, source_text=text, replicates=max(reps, 2),
                                     **({"default_name": name} if name else {}))
        candidates = [lambda: spec.runs, lambda: pilot_runs(spec, len(design), reps)[1]]
    else:
        candidates = [lambda: experiment_from_dict(raw, where=where, source_text=text,
                                                   **({"default_name": name} if name else {}))]
    for make in candidates:
        try:
            exp = make()
        except InputError:
            continue
        if exp.digest() == manifest["experiment_digest"]:
            exp.path = file or str(folder)
            exp._swept = (str(folder), here)  # rerun checks the model again when it runs
            return exp
    raise InputError(f"{mpath}: the experiment its text makes is not the one the sweep ran (experiment_digest "
                     "differs: the manifest was edited, or the sample is drawn otherwise by this SALib), so runs "
                     "again would not be its rows")


def _swept_scenario(ref: str, manifest: dict[str, Any], folder: Path) -> Path:
    """The scenario file a sweep read, with the text it read (``scenario_text``): ``ref`` found from
    the experiment file's folder (as recorded, resolved, or with the results folder beside it), or the
    recorded scenario path. Refused in one line when none is found or none has that text."""
    stored = manifest.get("scenario_text")
    bases: list[Path | None] = []
    for key in ("experiment_file_resolved", "experiment_file"):
        value = manifest.get(key)
        if isinstance(value, str) and value:
            bases.append(Path(value).parent)
    bases.append(None)
    seen: list[Path] = []
    for base in bases:
        try:
            seen.append(resolve_scenario(ref, base_dir=base))
        except InputError:
            pass
    recorded = manifest.get("scenario_file")
    if isinstance(recorded, str) and recorded:
        seen.append(Path(recorded))
    found = []
    for p in dict.fromkeys(q.absolute() for q in seen):
        try:
            if p.read_text(encoding="utf-8") == stored:
                return p
            found.append(p)
        except (OSError, UnicodeDecodeError):
            pass
    if found:
        raise InputError(f"{folder}: the scenario file {cut(str(found[0]), 200)} has changed since the sweep read it "
                         "(manifest.json keeps the text it read as scenario_text), so runs again would not be its "
                         "rows")
    raise InputError(f"{folder}: the scenario {words(ref)} the sweep read is not found (looked beside the experiment "
                     f"file {words(manifest.get('experiment_file'))} and at {words(recorded)})")


def experiment_from_dict(raw: dict[str, Any], *, where: str = "<experiment>", base_dir: Path | None = None,
                         default_name: str = "experiment", source_text: str = "") -> Experiment:
    sections = ("experiment", "parameters", "vary", "design", "intervention")
    for key in raw:
        if key == "sensitivity":
            raise InputError(f"{where}: this is a sensitivity experiment; run it with 'peacesim sensitivity'")
        if key not in sections:
            if key in _EXPERIMENT_FIELDS and not isinstance(raw[key], dict):
                # a field written before any table header: TOML reads it as a key of the file itself
                raise InputError(f"{where}: {key} = {words(raw[key])} stands outside any table; put it under "
                                 "an [experiment] header at the top of the file")
            raise InputError(f"{where}: unknown section [{key}]{did_you_mean(key, sections)}; allowed: "
                             f"{', '.join(sections)}")
    meta = raw.get("experiment")
    if not isinstance(meta, dict):
        raise InputError(f"{where}: missing [experiment] table (scenario, replicates, master_seed, ...)")
    for key in meta:
        if key not in _EXPERIMENT_FIELDS:
            raise InputError(f"{where}: unknown field experiment.{key}{did_you_mean(key, _EXPERIMENT_FIELDS)}; "
                             f"allowed: {', '.join(sorted(_EXPERIMENT_FIELDS))}")
    scen_ref = meta.get("scenario")
    if scen_ref is None:
        raise InputError(f"{where}: experiment.scenario is missing; it must name a scenario (short name or path)")
    if not isinstance(scen_ref, str) or not scen_ref:
        raise InputError(f"{where}: experiment.scenario = {words(scen_ref)} must name a scenario (short name or path)")
    try:
        scen_path = resolve_scenario(scen_ref, base_dir=base_dir)
    except InputError as exc:
        raise InputError(f"{where}: experiment.scenario = {words(meta.get('scenario'))}: {exc}") from None
    scenario = load_scenario(scen_path)
    replicates = _whole(meta.get("replicates"), f"{where}: experiment.replicates", 1, 1_000_000)
    master_seed = _whole(meta.get("master_seed"), f"{where}: experiment.master_seed", 0, 2**63 - 1)
    months = meta.get("months")
    if months is not None:
        months = check(REGISTRY["months"], months, where=f"{where}: experiment")
    keep_series = meta.get("keep_series", False)
    if not isinstance(keep_series, bool):
        hint = (f" (write it without quotes: keep_series = {keep_series.strip().lower()})"
                if isinstance(keep_series, str) and keep_series.strip().lower() in ("true", "false") else "")
        raise InputError(f"{where}: experiment.keep_series = {words(keep_series)} is not allowed; expected true or "
                         f"false{hint}")
    outcomes = meta.get("outcomes", list(OUTCOME_KEYS))
    if not isinstance(outcomes, list) or not all(isinstance(o, str) for o in outcomes):
        raise InputError(f"{where}: experiment.outcomes must be a list of outcome names")
    for o in outcomes:
        if o not in OUTCOME_KEYS:
            raise InputError(f"{where}: experiment.outcomes: unknown outcome {words(o)}{did_you_mean(o, OUTCOME_KEYS)}; "
                             f"allowed: {', '.join(OUTCOME_KEYS)}")
    for k in ("title", "question", "description", "name"):
        if not isinstance(meta.get(k, ""), str):
            raise InputError(f"{where}: experiment.{k} = {words(meta.get(k))} must be a text")

    interventions = parse_plan(raw.get("intervention", []), where=where)
    plan = labelled([*scenario.interventions, *interventions], where=where)

    def _check_param(name: str, value: Any, at: str) -> Any:
        return _check_value(name, value, at, plan)

    fixed_raw = raw.get("parameters", {})
    if not isinstance(fixed_raw, dict):
        raise InputError(f"{where}: [parameters] must be a table")
    fixed = {name: _check_param(name, value, f"{where}: parameters") for name, value in fixed_raw.items()}

    factors: list[Factor] = []
    design: list[dict[str, Any]]
    if "vary" in raw and "design" in raw:
        raise InputError(f"{where}: give either [vary] (a full factorial) or [[design]] rows, not both")
    if "design" in raw:
        rows = raw["design"]
        if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
            raise InputError(f"{where}: [[design]] must be one or more tables of parameter = value")
        budget.check_design_points(len(rows), where=f"{where}: [[design]]")
        design = []
        for i, row in enumerate(rows):
            design.append({n: _check_param(n, v, f"{where}: design row {i + 1}") for n, v in row.items()})
        _check_distinct_rows(design, where)
    else:
        vary = raw.get("vary", {})
        if not isinstance(vary, dict):
            raise InputError(f"{where}: [vary] must be a table")
        for fname, spec in vary.items():
            factors.append(_factor(fname, spec, f"{where}: vary.{fname}", _check_param))
        seen: dict[str, str] = {}
        for f in factors:
            for p in f.parameters:
                if p in seen:
                    raise InputError(f"{where}: parameter {words(p)} is varied by both vary.{seen[p]} and "
                                     f"vary.{f.name}; vary it in one of them")
                seen[p] = f.name
        budget.check_design_points(math.prod(len(f.values) for f in factors), where=f"{where}: [vary]")
        design = []
        for combo in itertools.product(*(f.values for f in factors)):
            point: dict[str, Any] = {}
            for f, v in zip(factors, combo):
                for p, pv in zip(f.parameters, v):
                    point[p] = pv
            design.append(point)
    exp = Experiment(
        name=meta.get("name") or default_name,
        title=meta.get("title") or default_name,
        question=meta.get("question", ""),
        scenario=scenario,
        fixed=fixed,
        factors=factors,
        design=design,
        replicates=replicates,
        master_seed=master_seed,
        keep_series=keep_series,
        outcomes=tuple(outcomes),
        months=months,
        path=where,
        source_text=source_text,
        scenario_path=str(scen_path),
        scenario_text=Path(scen_path).read_text(encoding="utf-8"),
        interventions=plan[len(scenario.interventions):],
    )
    clash = [c for c in exp.columns if c in OUTCOME_KEYS or c in ("design_point", "replicate", "seed", "status",
                                                                    "error", "months", "followup_months")]
    if clash:
        raise InputError(f"{where}: {words(clash[0])} cannot be varied: it is also the name of a result column")
    _check_overlap(exp, where)
    budget.check_runs(len(design), replicates, where=where)
    # Validate every design point against the scenario now, before any run starts.
    base = exp.base()
    for i, point in enumerate(design):
        scen = base.with_overrides(point, where=f"{where}: design point {i}").cast()
        check_plan(scen.interventions, scen.actors, scen.params["months"], where=f"{where}: design point {i}",
                   notes=True)
    exp.seeds = derive_seeds(master_seed, replicates)
    return exp.checked()


def _check_distinct_rows(design: list[dict[str, Any]], where: str) -> None:
    """Two [[design]] rows that set the same values would be the same design point twice."""
    seen: dict[tuple, int] = {}
    for i, row in enumerate(design):
        key = tuple(sorted((k, repr(v)) for k, v in row.items()))
        if key in seen:
            shown = ", ".join(f"{k} = {words(v)}" for k, v in row.items()) or "no values"
            raise InputError(f"{where}: design rows {seen[key] + 1} and {i + 1} are the same ({cut(shown, 120)}); "
                             "each design point must differ")
        seen[key] = i


def _check_overlap(exp: Experiment, where: str) -> None:
    """A parameter set in two places would silently take only one of the values; so would an actor
    field set for every actor of a kind (``party.strength``) and for one of them
    (``party[1].strength``) in the same run: in [parameters], in one [[design]] row, among the
    factors of [vary], or fixed in [parameters] and varied."""
    varied = "[[design]]" if not exp.factors else "[vary]"
    for name in exp.columns:
        if name in exp.fixed:
            raise InputError(f"{where}: {name} is set in [parameters] ({name} = {words(exp.fixed[name])}) and varied "
                             f"in {varied}; the varied values would replace it; remove it from one of them")
    scen = exp.scenario
    clash = first_overlap(exp.fixed, scen)
    if clash is not None:
        raise InputError(f"{where}: [parameters]: {clash.refusal()}")
    if exp.factors:
        clash = first_overlap(exp.columns, scen)
        if clash is not None:
            raise InputError(f"{where}: [vary]: {clash.refusal()}")
    else:
        for i, row in enumerate(exp.design):
            clash = first_overlap(row, scen)
            if clash is not None:
                raise InputError(f"{where}: design row {i + 1}: {clash.refusal()}")
    found = fixed_overlap(exp.fixed, exp.columns, scen)
    if found is not None:
        fixed, value, name, clash = found
        raise InputError(f"{where}: {fixed} is set in [parameters] ({fixed} = {words(value)}) and {name} is "
                         f"varied in {varied}; both set {clash.what}, and the varied values would replace "
                         f"the fixed one; remove one of them{clash.hint}")
    if exp.months is not None:
        if "months" in exp.fixed:
            raise InputError(f"{where}: months is set both as experiment.months = {words(exp.months)} and in "
                             f"[parameters] (months = {words(exp.fixed['months'])}); keep one")
        if "months" in exp.columns:
            raise InputError(f"{where}: months is set as experiment.months = {words(exp.months)} and varied in "
                             f"{varied}; the varied values would replace it; remove experiment.months")


def _number_text(text: str) -> bool:
    """Whether ``text`` spells a finite number (a number quoted in a file)."""
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if value is None:
        raise InputError(f"{where} is missing; expected a whole number from {low} to {high}")
    whole = as_whole(value)
    if whole is None or not low <= whole <= high:
        hint = ""
        if isinstance(value, str) and re.fullmatch(r"\s*[+]?\d+\s*", value) and low <= int(value) <= high:
            hint = f" (write it without quotes: {where.rpartition('.')[2]} = {value.strip()})"
        raise InputError(f"{where} = {words(value)} is not allowed; expected a whole number from {low} to {high}{hint}")
    return whole


def _check_value(name: str, value: Any, where: str, plan: list[Planned]) -> Any:
    """A factor's or fixed parameter's value, checked: a model-wide parameter, ``KIND.FIELD`` of
    the actors, or ``intervention.LABEL.FIELD`` of a planned intervention."""
    if name.startswith("intervention."):
        new = override(plan, name, value, where=where)  # raises for an unknown label or field
        _, label, fname = name.split(".")
        x = next(x for x in new if x.label == label)
        return x.month if fname == "month" else x.enabled if fname == "enabled" else x.args[fname]
    if "." in name:
        kind, _, fname = name.partition(".")
        spec = actor_field(kind.split("[")[0], fname, name, where=where)
        return check(spec, value, where=where)
    spec = REGISTRY.get(name)
    if spec is None:
        raise InputError(f"{where}: unknown parameter {words(name)}{did_you_mean(name, REGISTRY)}; "
                         "see 'peacesim params' for the list")
    return check(spec, value, where=where)


def _finite(x: float) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # a whole number too large for a float
        return False


def _factor(name: str, spec: Any, where: str, _check_param) -> Factor:
    """A factor from ``name = [values]``, ``name = {range = [lo, hi], steps = n}`` or a table with
    ``parameters = [...]`` and ``values``/``range``."""
    params: list[str] = [name]
    if isinstance(spec, dict):
        extra = set(spec) - {"parameters", "values", "range", "steps", "log"}
        if extra:
            key = sorted(extra)[0]
            raise InputError(f"{where}: unknown key {words(key)}"
                             f"{did_you_mean(key, ('parameters', 'values', 'range', 'steps', 'log'))}; allowed: "
                             "parameters, values, range, steps, log")
        if "values" in spec and {"range", "steps", "log"} & set(spec):
            raise InputError(f"{where}: give values = [...] or range = [low, high] with steps = n, not both")
        if "parameters" in spec:
            params = spec["parameters"]
            if not isinstance(params, list) or not params or not all(isinstance(p, str) for p in params):
                raise InputError(f"{where}.parameters must be a list of parameter names")
            twice = next((p for i, p in enumerate(params) if p in params[:i]), None)
            if twice is not None:
                raise InputError(f"{where}.parameters = {words(params)} is not allowed: {words(twice)} is listed "
                                 "twice; list each parameter once")
        if "values" in spec:
            raw_values = spec["values"]
        elif "range" in spec:
            rng = spec["range"]
            steps = spec.get("steps")
            if (not isinstance(rng, list) or len(rng) != 2
                    or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and _finite(x) for x in rng)):
                quoted = isinstance(rng, list) and any(isinstance(x, str) and _number_text(x) for x in rng)
                raise InputError(f"{where}.range = {words(rng)} is not allowed; expected [low, high], two finite "
                                 "numbers" + (" (write the numbers without quotes)" if quoted else ""))
            if not rng[0] < rng[1]:
                raise InputError(f"{where}.range = {words(rng)} is not allowed: the low end must be below the high "
                                 "end")
            if steps is None:
                raise InputError(f"{where}.steps is missing; a range needs the number of values to take from it: "
                                 f"steps = n, a whole number from 2 to {budget.MAX_LEVELS:,}")
            if isinstance(steps, bool) or not isinstance(steps, int) or not 2 <= steps <= budget.MAX_LEVELS:
                hint = (f" (write it without quotes: steps = {steps.strip()})"
                        if isinstance(steps, str) and re.fullmatch(r"\s*\d+\s*", steps) else "")
                raise InputError(f"{where}.steps = {words(steps)} is not allowed; expected a whole number from 2 "
                                 f"to {budget.MAX_LEVELS:,}{hint}")
            log = spec.get("log", False)
            if not isinstance(log, bool):
                raise InputError(f"{where}.log = {words(log)} is not allowed; expected true or false")
            import numpy as np

            if log:
                if rng[0] <= 0:
                    raise InputError(f"{where}.range = {words(rng)}: a log range needs a positive low end")
                raw_values = np.geomspace(rng[0], rng[1], steps).tolist()
            else:
                raw_values = np.linspace(rng[0], rng[1], steps).tolist()
            # as a person would write them: 0.3, not linspace's 0.30000000000000004, so that the value
            # shown in tables and figures is the one stored, and the one a comparison or a join names
            raw_values = [float(f"{v:.12g}") for v in raw_values]
            kinds = {REGISTRY[p].kind for p in params if p in REGISTRY}
            if kinds == {"int"}:
                whole = sorted({int(round(v)) for v in raw_values})
                if len(whole) < steps:
                    raise InputError(
                        f"{where}.range = {words(rng)} with steps = {steps} gives only {len(whole)} distinct whole "
                        f"numbers ({words(whole)}) for a whole-number parameter; use steps = {len(whole)} or less, "
                        "or a wider range, or list the values")
                raw_values = whole
        else:
            raise InputError(f"{where}: give values = [...] or range = [low, high] with steps = n")
    else:
        raw_values = spec
    if not isinstance(raw_values, list) or not raw_values:
        raise InputError(f"{where} = {words(raw_values)} must be a non-empty list of values")
    budget.check_levels(len(raw_values), where=where)
    values = []
    for v in raw_values:
        # one value per linked parameter, each in its declared type
        values.append(tuple(_check_param(p, v, where) for p in params))
    if len(set(map(repr, values))) != len(values):
        raise InputError(f"{where}: values {words(raw_values)} repeat; each design point must differ")
    return Factor(name, tuple(params), tuple(values))


EPISODE_KEYS = tuple(EPISODE_COLUMNS)
