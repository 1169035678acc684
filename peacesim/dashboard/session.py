"""One classroom session: the model a browser tab steps, the facilitator's interventions, and what
a debrief needs (the re-run file, the run without the facilitator's interventions, the spread of
the same scenario over many seeds).

Nothing here imports Solara: the page (:mod:`peacesim.dashboard.app`) is a thin layer over this
module, and the tests drive it without a browser.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..interventions import INTERVENTIONS, Planned, check_arguments
from ..model import PeaceModel
from ..records import PHASE_LABELS
from ..result import RunResult
from ..scenario import Scenario, load_scenario, scenario_from_dict
from ..simulate import run_scenario

__all__ = ["ClassroomModel", "model_kwargs", "load_upload", "facilitator_plan", "replay_scenario",
           "replay_toml", "replay_command", "counterfactual", "Spread", "spread", "SPREAD_SEEDS",
           "SPREAD_MASTER_SEED", "IN_FORCE_PHASES", "params_changed", "Exports", "Export", "export_name",
           "rerun_folder"]

#: Runs in the spread of "Where does our run stand?": enough for a fan of quantiles, few enough to
#: draw in a couple of seconds on a shared laptop (a run of the reference scenario takes ~20 ms).
SPREAD_SEEDS = 100
#: Master seed of the spread's seeds (numpy SeedSequence.spawn), fixed so every tab sees one spread.
SPREAD_MASTER_SEED = 20260
#: Phases in which an agreement is in force.
IN_FORCE_PHASES = ("implementation", "consolidated")


class ClassroomModel(PeaceModel):
    """The model a dashboard tab steps: :class:`~peacesim.model.PeaceModel` that also keeps the
    facilitator's interventions apart from those the scenario plans.

    ``intervene`` is the model's own operation (the same that scenario files, experiments, the
    command line and Python apply); this class only records each one, as the model applied it,
    in :attr:`facilitator` (month, kind and the complete, validated arguments).
    """

    def __init__(self, scenario_ref: str | Path | Scenario = "reference", *, rng: int | None = None,
                 overrides: Mapping[str, Any] | None = None, months: int | None = None):
        # Held while a month is stepped or an intervention applied, and while the page's views read
        # the run: the play loop steps in its own thread, and a view drawn meanwhile (after a click
        # elsewhere on the page) read a month half-way through and failed, blanking the page.
        self.changing = threading.RLock()
        # No **kwargs: Mesa's ModelController would then pass its own Scenario object on reset.
        super().__init__(scenario_ref, rng=rng, overrides=dict(overrides or {}), months=months)
        self.base_scenario = load_scenario(scenario_ref)
        self.overrides: dict[str, Any] = dict(overrides or {})
        self.facilitator: list[dict[str, Any]] = []

    def step(self) -> None:
        with self.changing:
            super().step()

    def result(self) -> RunResult:
        """The run so far (:meth:`RunResult.from_model`), read between two months."""
        with self.changing:
            return RunResult.from_model(self)

    def intervene(self, kind: str, /, **arguments: Any) -> None:
        """The model's intervention, refused (:class:`~peacesim.errors.InputError`) when it would
        change nothing: a facilitator's intervention that is logged, told in the story and listed
        in the debrief should be one that did something."""
        with self.changing:
            self._intervene(kind, **arguments)

    def _intervene(self, kind: str, /, **arguments: Any) -> None:
        if self.running:  # an ended run is refused by the model, with its own message
            where = f"{kind} at month {self.month + 1}"  # as the model says it
            why = self.no_effect(kind, check_arguments(kind, arguments, where=where, roster=self.roster()))
            if why:
                raise InputError(f"Not applied: {why}, so it would change nothing")
        before = len(self.applied_interventions)
        super().intervene(kind, **arguments)
        self.facilitator.extend(dict(x) for x in self.applied_interventions[before:])

    def no_effect(self, kind: str, args: Mapping[str, Any]) -> str:
        """Why the intervention ``kind`` with the checked arguments ``args`` would change nothing
        now ('' when it would change something): a parameter set to the value it has, the
        coordination strategy in force, funding restored to a core-funded actor that has its
        money, or local mechanisms linked or protected when every one already is."""
        if kind == "set":
            now = getattr(self.p, args["name"])
            if now == args["value"]:
                return f"{args['name']} is already {now!r}"
        elif kind == "coordination":
            if self.p.coordination == args["strategy"]:
                return f"the third parties already follow the {args['strategy']!r} coordination strategy"
        elif kind == "restore_funding":
            tp = self.actor(args["actor"])
            if tp.core_funded and tp.active:
                return f"{tp.name} has its core funding"
        elif kind in ("link_local", "protect_local"):
            done = self.local.linked if kind == "link_local" else self.local.protected
            if not any(not done[i] for i in self.local.members(args["group"])):
                of = f" of {args['group']}" if args["group"] else ""
                verb = "linked" if kind == "link_local" else "protected"
                return f"every local mechanism{of} is already {verb}"
        return ""


def model_kwargs(scenario: Scenario, seed: int, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The keyword arguments that build (and, in Mesa's ModelController, reset) a tab's model."""
    return {"scenario_ref": scenario, "rng": int(seed), "overrides": dict(overrides or {})}


def load_upload(name: str, data: bytes) -> Scenario:
    """A scenario file uploaded in the page, validated like one on disk (errors name the file)."""
    where = Path(name).name or "uploaded file"
    try:
        raw = tomllib.loads(data.decode("utf-8-sig"))  # a byte-order mark (Notepad writes one) is not TOML
    except UnicodeDecodeError:
        raise InputError(f"{where}: cannot read the file: it is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML: {exc}") from None
    return scenario_from_dict(raw, where=where, default_name=Path(where).stem or "uploaded")


def params_changed(scenario: Scenario, overrides: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The overrides that change the scenario's value: name -> (scenario's value, new value)."""
    return {k: (scenario.params.get(k), v) for k, v in overrides.items() if scenario.params.get(k) != v}


# ------------------------------------------------------------------------------------------ re-running
def facilitator_plan(model: ClassroomModel) -> list[Planned]:
    """The facilitator's interventions as planned interventions (month: the one they took effect)."""
    return [Planned(x["month"], x["kind"], {k: v for k, v in x.items() if k not in ("month", "kind")})
            for x in model.facilitator]


def replay_scenario(model: ClassroomModel, *, name: str | None = None) -> Scenario:
    """A scenario that re-runs the tab's run exactly with the tab's seed: the scenario with the
    parameters as set, and the scenario's planned interventions together with the facilitator's.

    A facilitator's intervention made after month m takes effect at the start of month m + 1,
    before the interventions the scenario plans for that month; a plan applies interventions of one
    month in the order listed, so the facilitator's come first within their month."""
    scen = model.base_scenario.with_overrides(model.overrides, where="dashboard parameters")
    planned = list(scen.interventions)  # with their labels (intervention.LABEL.FIELD in an experiment)
    # the facilitator's labelled as a plan labels them (kind, kind_2, ...), skipping the scenario's labels
    taken = {x.label for x in planned}
    own = []
    for x in facilitator_plan(model):
        label, n = x.kind, 1
        while label in taken:
            n += 1
            label = f"{x.kind}_{n}"
        taken.add(label)
        own.append(Planned(x.month, x.kind, x.args, label))
    merged = sorted([(x.month, 0, i, x) for i, x in enumerate(own)] +
                    [(x.month, 1, i, x) for i, x in enumerate(planned)], key=lambda t: t[:3])
    # the tab's seed is the file's: `peacesim run FILE` re-runs the session without --seed
    out = Scenario(name=name or scen.name, title=scen.title, description=scen.description, params=dict(scen.params),
                   actors=scen.actors, learning_points=list(scen.learning_points), sources=list(scen.sources),
                   note=scen.note, path=scen.path, interventions=[t[3] for t in merged], seed=int(model.seed))
    return out


def replay_command(filename: str, seed: int) -> str:
    return f"peacesim run {filename} --seed {int(seed)}"


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v:
            return "nan"
        if v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def replay_toml(model: ClassroomModel, *, filename: str = "replay.toml", name: str | None = None) -> str:
    """The re-run file: a complete scenario file (parameters, actors, interventions with their
    months, and the tab's seed in ``[scenario]``). ``peacesim run FILE`` gives the tab's run,
    month for month, as does ``peacesim run FILE --seed SEED`` (the command its first line gives).
    ``name``: the scenario's name in the file (see :func:`export_name`)."""
    scen = replay_scenario(model, name=name)
    cmd = replay_command(filename, model.seed)
    lines = [f"# Re-runs a peacesim dashboard session exactly: {cmd}",
             f"# Scenario {scen.name!r}, seed {model.seed}, {len(model.facilitator)} facilitator "
             f"intervention{'' if len(model.facilitator) == 1 else 's'}.",
             "", "[scenario]"]
    for key in ("name", "title", "description", "note"):
        lines.append(f"{key} = {_toml_value(getattr(scen, key))}")
    lines.append(f"seed = {int(model.seed)}")
    lines.append(f"learning_points = {_toml_value(scen.learning_points)}")
    lines.append(f"sources = {_toml_value(scen.sources)}")
    lines += ["", "[parameters]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in scen.params.items()]
    for kind, entries in scen.actors.items():
        for a in entries:
            lines += ["", f"[[{kind}]]"] + [f"{k} = {_toml_value(v)}" for k, v in a.items()]
    for x in scen.interventions:
        lines += ["", "[[intervention]]", f"month = {x.month}", f"kind = {_toml_value(x.kind)}"]
        lines += [f"{k} = {_toml_value(v)}" for k, v in x.args.items()]
        if x.label:
            lines.append(f"label = {_toml_value(x.label)}")
        if not x.enabled:
            lines.append("enabled = false")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------ exports
#: A scenario name that an export numbered 2 or more gave its re-run file: "reference-export2".
_EXPORTED = re.compile(r"(?s)(.+)-export([0-9]{1,6})")


def export_name(scenario_name: str, number: int) -> str:
    """The scenario's name in the re-run file of export ``number`` of a session: the scenario's own
    for the first, ``NAME-exportN`` for the others, so that ``peacesim run`` writes each export's
    re-run into a folder of its own (results/NAME-exportN-session-seedS) and never over an earlier
    export's. A name that already ends in ``-exportN`` (a session opened from such a file) is
    numbered again, not extended."""
    m = _EXPORTED.fullmatch(scenario_name)
    base = m.group(1) if m else scenario_name
    return base if number == 1 else f"{base}-export{number}"


def rerun_folder(scenario_name: str, seed: int) -> str:
    """The folder ``peacesim run FILE`` writes the re-run of a session's file into (the file carries
    its seed), as the command line names it."""
    from ..cli import _default_out

    return str(_default_out(scenario_name, int(seed), session=True))


@dataclass(frozen=True)
class Export:
    """One export of a session: its number, and the names of its files and of its re-run's folder."""

    number: int
    scenario_name: str
    replay_name: str
    debrief_name: str
    folder: str
    again: bool  # the re-run file of an earlier export of this session, unchanged


class Exports:
    """Exports of sessions (the dashboard keeps one for all its tabs), numbered by scenario so that
    two exports whose re-run files differ never share a file name or a results folder: the first
    is ``peacesim-session.toml`` (re-run into results/NAME-session-seedS), the second
    ``peacesim-session-2.toml`` (results/NAME-export2-session-seedS), and so on. An export whose
    re-run file would be the same as an earlier one's (the same scenario, parameters,
    interventions and seed: the debrief may be of a later month, the re-run is the same run)
    keeps that export's number: its re-run is the same, in the same folder.

    A session opened from an export's file (``NAME-export2``) numbers its exports on from that
    export's number (3, 4, ...)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._numbers: dict[str, int] = {}  # digest of the re-run file (the scenario's own name) -> number
        self._last: dict[str, int] = {}     # scenario name without -exportN -> the last number given

    def export(self, model: ClassroomModel) -> Export:
        """The export of ``model`` as it stands (call it where the run does not move meanwhile)."""
        key = hashlib.sha256(replay_toml(model).encode("utf-8")).hexdigest()  # a server keeps them all
        name = model.base_scenario.name
        m = _EXPORTED.fullmatch(name)
        base, first = (m.group(1), int(m.group(2)) + 1) if m else (name, 1)
        with self._lock:
            number = self._numbers.get(key)
            again = number is not None
            if number is None:
                number = max(first, self._last.get(base, 0) + 1)
                self._numbers[key] = number
                self._last[base] = number
        suffix = "" if number == 1 else f"-{number}"
        scenario_name = export_name(name, number)
        return Export(number=number, scenario_name=scenario_name, replay_name=f"peacesim-session{suffix}.toml",
                      debrief_name=f"peacesim-debrief{suffix}.html", folder=rerun_folder(scenario_name, model.seed),
                      again=again)


def counterfactual(model: ClassroomModel) -> RunResult:
    """The same scenario, parameters and seed without the facilitator's interventions, run to the
    tab's month: "what if we had not intervened"."""
    other = PeaceModel(model.base_scenario, rng=model.seed, overrides=dict(model.overrides))
    for _ in range(model.month):
        other.step()
    return RunResult.from_model(other)


# ------------------------------------------------------------------------------------------ the spread
@dataclass(frozen=True)
class Spread:
    """Many seeds of one scenario, month by month: violence quantiles and the share of runs with an
    agreement in force."""

    months: np.ndarray            # 1..horizon
    quantiles: tuple[float, ...]  # e.g. (0.1, 0.25, 0.5, 0.75, 0.9)
    violence: np.ndarray          # (len(quantiles), months)
    in_force: np.ndarray          # share of runs with an agreement in force, per month
    total_violence: np.ndarray    # per run, cumulative violence per month: (runs, months)
    n: int

    def standing(self, result: RunResult) -> dict[str, Any]:
        """Where a run stands at its last month: the share of the spread's runs with less violence
        so far, and the share with an agreement in force then (and whether the run has one)."""
        s = result.series
        m = len(s)
        if m == 0:
            return {"month": 0, "less_violent_share": float("nan"), "in_force_share": float("nan"),
                    "in_force": False}
        total = float(s["violence"].to_numpy(dtype=float).sum())
        others = self.total_violence[:, m - 1]
        return {"month": m, "total_violence": total,
                "less_violent_share": float((others < total).mean()),
                "in_force_share": float(self.in_force[m - 1]),
                "in_force": str(s["phase"].iloc[-1]) in IN_FORCE_PHASES}


_SPREADS: dict[str, Spread] = {}
_SPREAD_LOCK = threading.Lock()


def spread(scenario: Scenario, overrides: Mapping[str, Any] | None = None, *, n: int = SPREAD_SEEDS,
           quantiles: tuple[float, ...] = (0.1, 0.25, 0.5, 0.75, 0.9)) -> Spread:
    """The spread of ``scenario`` (with ``overrides``, with its own planned interventions, without a
    facilitator's) over ``n`` seeds derived from :data:`SPREAD_MASTER_SEED`. Results are kept per
    scenario and parameters, so thirty tabs on one scenario compute it once."""
    scen = scenario.with_overrides(dict(overrides or {}), where="dashboard parameters")
    key = json.dumps([scen.name, scen.path, scen.params, scen.actors, [x.as_dict() for x in scen.interventions],
                      n, quantiles], sort_keys=True, default=str)
    with _SPREAD_LOCK:
        got = _SPREADS.get(key)
        if got is not None:
            return got
        seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(SPREAD_MASTER_SEED).spawn(n)]
        violence, in_force = [], []
        for seed in seeds:
            cols, data = run_scenario(scen, seed=seed).series_array()
            violence.append(data[:, cols.index("violence")])
            phase = data[:, cols.index("phase")].astype(int)
            in_force.append(np.isin(phase, [PHASE_LABELS.index(p) for p in IN_FORCE_PHASES]))
        v = np.vstack(violence)
        out = Spread(months=np.arange(1, v.shape[1] + 1), quantiles=tuple(quantiles),
                     violence=np.quantile(v, quantiles, axis=0), in_force=np.vstack(in_force).mean(axis=0),
                     total_violence=np.cumsum(v, axis=1), n=n)
        if len(_SPREADS) > 32:
            _SPREADS.clear()
        _SPREADS[key] = out
        return out


def intervention_kinds() -> list[str]:
    return list(INTERVENTIONS)
