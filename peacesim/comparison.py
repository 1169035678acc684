"""Comparing ways of organising international support: strategies side by side on common random numbers.

Policy staff ask which way of organising support to a peace process gives the more durable
agreement, how sure we are, and under which conditions the answer would change. A *comparison
file* (TOML, shipped ones in ``experiments/compare/``) answers that for one scenario:

* ``[comparison]``: the question, the scenario, the baseline strategy, how many seeds (and worlds),
  the master seed, and the measure that ranks the strategies;
* ``[strategy.KEY]`` tables: a named set of changes to the scenario - model-wide parameters
  (``coordination``, ``grant_length``, ``verification``, ``spoiler_strategy``, ...), fields of
  every actor of a kind (``[strategy.KEY.diplomat] role = "supportive"``) or of one actor by name
  (``[strategy.KEY.actor."the great power"] role = "supportive"``), the lead mediator by name
  (``lead = "the UN envoy"``) and timed interventions (``[[strategy.KEY.intervention]]``) - each
  with a plain-language ``description`` and the ``source`` passage it is drawn from;
* ``[uncertain]``: ranges of conditions the policy maker does not control
  (``forum_shopping = [0.1, 0.45]``), sampled by Latin hypercube into *worlds*.

Every strategy runs in every world on the same seeds (common random numbers) through the
experiment runner (:func:`peacesim.sweep.run_experiment`: executors, resume, manifest). The
design is strategies x worlds design points with one replicate per seed, so replicate k has
the same seed under every strategy and in every world. :func:`analyse` then measures, per
strategy: the share of runs reaching an agreement, months to the first agreement, the share of
runs in which an agreement held five years, five-year survival of agreements (Kaplan-Meier,
censoring passed), the restricted mean survival time (RMST) within five years and violence;
against the baseline: paired differences with bootstrap intervals over worlds and seeds
(:mod:`peacesim.paired`), Holm's correction for comparing many strategies, and Cox hazard ratios
of relapse with standard errors clustered by seed. Finally it asks where the best strategy stops
being best: PRIM (:mod:`peacesim.prim`) over the worlds, on whether the best strategy failed to do
better than the runner-up in that world. :mod:`peacesim.comparison_report` writes the report.

Degenerate cases have stated answers, never a bare NaN: a strategy under which no agreement is
signed, or under which no agreement ever relapses, is said to be so, with an exact bound where
an interval would collapse to a point.
"""

from __future__ import annotations

import errno
import math
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import fsutil
from .errors import InputError
from .experiment import experiment_dir, read_toml
from .interventions import INTERVENTIONS, Planned, check_plan, name_suggestion, parse_plan, resolve_name
from .params import ACTOR_FIELDS, REGISTRY, as_whole, did_you_mean, misspelt
from .scenario import ACTOR_SETTING, Scenario, actor_field, load_scenario, resolve_input, resolve_scenario
from .scenario import setting_subject as _normal  # mediator[2].lead -> mediator.lead
from .words import checked, control, words

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from .analysis import Results
    from .experiment import Experiment
    from .paired import Draws
    from .prim import Box

__all__ = ["Measure", "MEASURES", "Strategy", "Condition", "ComparisonSpec", "ComparisonResult",
           "load_comparison", "comparison_from_dict", "comparison_dir", "list_comparisons", "analyse", "compare",
           "write_tables", "table_files", "write_outputs", "OUTPUT_TABLES", "OUTPUT_FILES", "span_words", "excludes_zero"]

#: Five years, the horizon of the durability literature the model is calibrated to (DESIGN.md
#: section 6 pattern 1: Suhrke & Samset 2007, Collier et al. 2008 count relapse within 5 years).
HORIZON = 60
#: Bootstrap resamples by default.
BOOTSTRAP = 2000
#: Entropy added to the master seed for the Latin hypercube and for the bootstrap, so that
#: neither shares a stream with a run's seed (those are SeedSequence(master_seed).spawn children).
LHS_STREAM = 0x4C4853
BOOTSTRAP_STREAM = 0x424F4F54
#: Further draws of the Latin hypercube tried where whole-number conditions repeat a world.
LHS_REDRAWS = 100
#: Worlds drawn when [uncertain] is given and `worlds` is not.
WORLDS = 50
#: Fewest worlds for which a scenario discovery is attempted.
MIN_WORLDS_DISCOVERY = 10
#: Fewest worlds a PRIM box must hold (as well as 5% of the worlds).
MIN_BOX_WORLDS = 5
#: Fewest seeds for a hazard ratio's interval and p-value: its standard errors are clustered by
#: seed, and a sandwich variance from a handful of clusters is too small: its tests reject too
#: often (Cameron & Miller 2015, section VI).
MIN_HAZARD_SEEDS = 20
#: Fewest relapses under each of the two strategies compared for a hazard ratio to be given.
MIN_RELAPSES = 5
MAX_STRATEGIES = 20
#: Longest title (and short name) of a strategy, in characters: it names the strategy in tables,
#: beside the figures' rows and in their legends.
MAX_TITLE = 150
MAX_WORLDS = 5000
LEVEL = 0.95

_SECTIONS = ("comparison", "strategy", "uncertain")
_COMPARISON_FIELDS = ("title", "question", "description", "scenario", "baseline", "seeds", "worlds", "master_seed",
                      "months", "horizon_months", "rank_by", "bootstrap")
_STRATEGY_META = ("title", "short", "description", "source", "lead", "actor", "intervention")
_NOT_IN_STRATEGY = {"months": "the horizon is set once for the whole comparison ([comparison] months)",
                    "followup_months": "the follow-up of agreements is part of how durability is measured and the "
                                       "same for every strategy"}
_NOT_UNCERTAIN = {"months": "the horizon is set once for the whole comparison ([comparison] months)",
                  "followup_months": "the follow-up of agreements is part of how durability is measured",
                  "mediators": "the number of mediators is a choice of the strategies; set it in a strategy"}
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_ACTOR_NAME = ACTOR_SETTING  # KIND.FIELD or KIND[N].FIELD


# ------------------------------------------------------------------------------------------ measures
@dataclass(frozen=True)
class Measure:
    """One outcome a comparison reports for every strategy.

    ``per`` is ``"run"`` (one value per run, averaged over blocks) or ``"agreement"`` (a
    Kaplan-Meier quantity over agreements). ``higher_is_better`` says which way is good.
    """

    key: str
    label: str          # short, for table headers
    phrase: str         # what the number is, for sentences: "{value} of runs reach an agreement"
    unit: str           # "share", "months" or "scale" (violence, 0-1)
    higher_is_better: bool
    per: str

    def text(self, h: int) -> str:
        return self.label.format(h=span_words(h))


def span_words(months: int) -> str:
    """'five years' for 60 months, else 'N months'."""
    names = {12: "one year", 24: "two years", 36: "three years", 48: "four years", 60: "five years",
             84: "seven years", 120: "ten years"}
    return names.get(int(months), f"{int(months)} month{'' if int(months) == 1 else 's'}")


MEASURES: dict[str, Measure] = {m.key: m for m in [
    Measure("agreement", "reach an agreement", "runs that reach an agreement", "share", True, "run"),
    Measure("months_to_agreement", "months to first agreement",
            "mean months to the first agreement (a run without one counts as the whole horizon)", "months", False,
            "run"),
    Measure("durable", "agreement holds {h}", "runs in which an agreement is signed and holds {h}", "share", True,
            "run"),
    Measure("survival", "agreements surviving {h}", "agreements that survive {h} (Kaplan-Meier)", "share", True,
            "agreement"),
    Measure("rmst", "months held in first {h}", "mean months an agreement holds within its first {h} (RMST)",
            "months", True, "agreement"),
    Measure("violence", "mean monthly violence", "mean monthly violence (model scale 0-1)", "scale", False, "run"),
]}


# ------------------------------------------------------------------------------------------ the file
@dataclass
class Strategy:
    """One strategy: a named set of changes to the scenario, with its words and source."""

    key: str
    title: str
    description: str
    source: str
    overrides: dict[str, Any]
    plan: list[Planned]
    lead: str = ""
    changes: list[str] = field(default_factory=list)  # the changes in plain words
    short: str = ""   # how sentences name it ("the contact group"); the title when not given
    effect: tuple = ()  # what it runs: the scenario's parameters and actors with its changes, and its plan
    as_written: list[str] = field(default_factory=list)  # its settings that are the scenario's own values
    lead_as_written: bool = False  # its lead is the scenario's own lead

    @property
    def called(self) -> str:
        """The name used inside a sentence: the short name, or the title; either with a leading
        article in lower case ('The contact group' is 'the contact group' after 'under')."""
        name = self.short or self.title
        first, _, rest = name.partition(" ")
        return f"{first.lower()} {rest}" if first in ("The", "A", "An") and rest else name

    def design_values(self) -> dict[str, Any]:
        """The design-point values that make this strategy (its own interventions switched on)."""
        out = dict(self.overrides)
        for x in self.plan:
            out[f"intervention.{x.label}.enabled"] = True
        return out

    def signature(self) -> tuple:
        """What the strategy runs: two strategies with the same signature are the same runs."""
        return self.effect or (tuple(sorted((k, repr(v)) for k, v in self.overrides.items())),
                               tuple(sorted(repr((x.month, x.kind, sorted(x.args.items()))) for x in self.plan)))


@dataclass(frozen=True)
class Condition:
    """An uncertain condition: a parameter the policy maker does not control, with its range."""

    name: str
    low: float
    high: float
    integer: bool
    label: str

    def value(self, u: float) -> float | int:
        """The condition's value at position ``u`` in [0, 1) of its range."""
        if self.integer:
            return int(min(self.high, math.floor(self.low + u * (self.high - self.low + 1))))
        return float(self.low + u * (self.high - self.low))


@dataclass
class ComparisonSpec:
    """A validated comparison file: scenario, strategies, uncertain conditions, sizes and seeds."""

    name: str
    title: str
    question: str
    description: str
    scenario: Scenario
    scenario_path: str
    strategies: list[Strategy]
    baseline: str
    conditions: list[Condition]
    seeds: int
    worlds: int
    master_seed: int
    months: int | None
    horizon: int
    rank_by: str
    bootstrap: int
    path: str = ""
    text: str = ""
    ref: str = ""             # as the user named it
    sizes_given: dict[str, int] = field(default_factory=dict)  # seeds/worlds given instead of the file's

    @property
    def keys(self) -> list[str]:
        return [s.key for s in self.strategies]

    def strategy(self, key: str) -> Strategy:
        return self.strategies[self.keys.index(key)]

    @property
    def n_runs(self) -> int:
        return len(self.strategies) * self.worlds * self.seeds

    def world_values(self) -> list[dict[str, Any]]:
        """The sampled worlds: one dict of condition values per world (Latin hypercube from the
        master seed; one empty world when there are no uncertain conditions).

        Whole-number conditions can give two worlds the same values, which would be one design
        point twice; such a sample is drawn again from the next stream of the master seed
        (``SeedSequence([master_seed, LHS_STREAM, k])``, k = 1, 2, ...), up to
        :data:`LHS_REDRAWS` times, while the conditions have at least as many distinct
        combinations as worlds. A sample without repeats is the first one, as it always was. The
        sample returned may still repeat a world where none could be found: the file is refused
        then (:func:`comparison_from_dict`)."""
        if not self.conditions:
            return [{}]
        import numpy as np

        from . import paired

        draws = 1 + (LHS_REDRAWS if self.worlds <= self.combinations() else 0)
        for k in range(draws):
            seq = [self.master_seed, LHS_STREAM] + ([k] if k else [])
            rng = np.random.default_rng(np.random.SeedSequence(seq))
            u = paired.latin_hypercube(self.worlds, len(self.conditions), rng)
            worlds = [{c.name: c.value(u[w, j]) for j, c in enumerate(self.conditions)} for w in range(self.worlds)]
            if len({tuple(sorted(w.items())) for w in worlds}) == len(worlds):
                break
        return worlds

    def combinations(self) -> float:
        """How many distinct worlds the conditions allow (infinite with a condition that is not a
        whole number)."""
        n = 1.0
        for c in self.conditions:
            n *= (c.high - c.low + 1) if c.integer else math.inf
        return n

    def design_point(self, strategy: int, world: int) -> int:
        """Design points are world by world, the strategies in file order within each world."""
        return world * len(self.strategies) + strategy

    def experiment(self) -> Experiment:
        """The experiment the runner executes: strategies x worlds design points, one replicate per
        seed (common random numbers), every strategy's interventions planned and switched on only
        in its own design points."""
        from .experiment import experiment_from_dict

        meta: dict[str, Any] = {"name": f"compare_{self.name}", "title": self.title, "question": self.question,
                                "scenario": self.scenario_path, "replicates": self.seeds,
                                "master_seed": self.master_seed}
        if self.months is not None:
            meta["months"] = self.months
        rows = []
        worlds = self.world_values()
        for w in range(len(worlds)):
            for s in self.strategies:
                rows.append({**s.design_values(), **worlds[w]})
        raw: dict[str, Any] = {"experiment": meta, "design": rows}
        plan = [x.as_dict() for s in self.strategies for x in s.plan]
        if plan:
            raw["intervention"] = plan
        # What the runs belong to: what makes them (the design, the interventions, the seeds and the
        # scenario, whose text the experiment adds), not the words of the file nor the analysis's
        # options (titles, descriptions, rank_by, horizon_months, bootstrap): editing those reuses
        # the stored runs and only redoes the analysis.
        import json

        made_by = {"design": rows, "intervention": plan, "seeds": self.seeds, "worlds": self.worlds,
                   "master_seed": self.master_seed, "months": self.months}
        source = "# peacesim compare: what the runs are made of\n" + json.dumps(made_by, sort_keys=True, indent=1,
                                                                                default=str) + "\n"
        return experiment_from_dict(raw, where=self.path, default_name=meta["name"], source_text=source)


def comparison_dir() -> Path:
    """The folder of shipped comparisons (``experiments/compare/``)."""
    return experiment_dir() / "compare"


def list_comparisons() -> list[Path]:
    return sorted(comparison_dir().glob("*.toml"))


def load_comparison(ref: str | Path, *, seeds: int | None = None, worlds: int | None = None,
                    check_design: bool = True) -> ComparisonSpec:
    """Read and validate a comparison by short name (``crowded_field``) or path.

    ``seeds`` and ``worlds`` replace the file's sizes (for a quicker or a larger run). Every
    strategy, condition and design point is checked before anything runs; a bad file is refused
    with one line naming the file, the field, the value as typed and what is allowed.
    ``check_design=False`` skips building the design (its worlds and design points) and so
    imports no numerical library: for listing comparisons.
    """
    path = resolve_input(ref, kind="comparison", shipped=comparison_dir(), names=[p.stem for p in list_comparisons()],
                         listing="peacesim compare --list")
    where = str(path)
    text, raw = read_toml(path)
    return comparison_from_dict(raw, where=where, base_dir=path.parent, default_name=path.stem, text=text,
                                seeds=seeds, worlds=worlds, ref=str(ref), check_design=check_design)


def _whole(value: Any, where: str, low: int, high: int) -> int:
    """A whole number in [low, high]; ``where`` is a file's field or a command-line option (``--seeds``)."""
    whole = as_whole(value)
    if whole is None or not low <= whole <= high:
        # (a text reaches here only from Python: the command line gives numbers as typed)
        shown = (f"{where} {value}" if where.startswith("--") and not isinstance(value, str)
                 else f"{where} {words(value)}" if where.startswith("--") else f"{where} = {words(value)}")
        raise InputError(f"{shown} is not allowed; expected a whole number from {low:,} to {high:,}"
                         + (" (a number, not a text)" if isinstance(value, str) else ""))
    return whole


def _text(meta: dict[str, Any], key: str, where: str, *, required: bool = False, longest: int | None = None) -> str:
    """A text field: words on one line (a description keeps its lines). Printed on the terminal
    and in the report, it may hold no control character but line breaks and tabs (an escape
    sequence would clear or rewrite what a terminal shows); ``longest`` caps its length (a
    strategy's title names it in tables and beside the figures' rows)."""
    v = meta.get(key, "")
    if not isinstance(v, str):
        raise InputError(f"{where}.{key} = {words(v)} must be a text")
    bad = [c for c in v.replace("\r\n", "\n") if control(c) and c not in "\n\t"]
    if bad:
        shown = "".join(f"\\u{ord(c):04X}" if control(c) and c not in "\n\t" else c for c in v)
        raise InputError(f"{where}.{key} = {words(shown)} is not allowed: it holds a control character "
                         f"(U+{ord(bad[0]):04X}); expected text, line breaks and tabs")
    if required and not v.strip():
        typed = misspelt(meta, key, known={"title", "short", "description", "source", "question", "lead"})
        hint = f" ({where}.{typed} is there: a misspelling of {key}?)" if typed else ""
        raise InputError(f"{where}.{key} is missing{hint}; give a plain-language {key}")
    text = " ".join(v.split()) if key not in ("description",) else v.strip()
    if longest is not None and len(text) > longest:
        raise InputError(f"{where}.{key} = {words(text)} is too long: at most {longest} characters are "
                         f"allowed (it names the strategy in tables and figures); put the rest in the description")
    return text


def comparison_from_dict(raw: dict[str, Any], *, where: str = "<comparison>", base_dir: Path | None = None,
                         default_name: str = "comparison", text: str = "", seeds: int | None = None,
                         worlds: int | None = None, ref: str = "", check_design: bool = True) -> ComparisonSpec:
    """Validate a comparison given as a dictionary with the layout of the TOML file."""
    for key in raw:
        if key not in _SECTIONS:
            if "comparison" not in raw and key in _COMPARISON_FIELDS:
                raise InputError(f"{where}: {key} is outside any section; the file must start with a [comparison] "
                                 f"header above {key}, title, question, scenario, baseline, ...")
            raise InputError(f"{where}: unknown section [{key}]{did_you_mean(key, _SECTIONS)}; allowed: "
                             f"{', '.join(_SECTIONS)}")
    meta = raw.get("comparison")
    if not isinstance(meta, dict):
        raise InputError(f"{where}: missing [comparison] table (title, question, scenario, baseline, seeds, "
                         "master_seed, ...)")
    for key in meta:
        if key not in _COMPARISON_FIELDS:
            raise InputError(f"{where}: unknown field comparison.{key}{did_you_mean(key, _COMPARISON_FIELDS)}; "
                             f"allowed: {', '.join(_COMPARISON_FIELDS)}")
    at = f"{where}: comparison"
    title = _text(meta, "title", at, required=True)
    question = _text(meta, "question", at, required=True)
    description = _text(meta, "description", at)
    scen_ref = meta.get("scenario")
    if not isinstance(scen_ref, str) or not scen_ref:
        raise InputError(f"{at}.scenario = {words(scen_ref)} must name a scenario (short name or path)")
    try:
        scen_path = resolve_scenario(scen_ref, base_dir=base_dir)
    except InputError as exc:
        raise InputError(f"{at}.scenario = {words(meta.get('scenario'))}: {exc}") from None
    try:
        scenario = load_scenario(scen_path)
    except InputError as exc:  # the scenario's own fault, named from the field that points to it
        raise InputError(f"{at}.scenario = {words(scen_ref)}: {exc}") from None
    if "seeds" not in meta:
        raise InputError(f"{at}.seeds is missing; expected the number of seeds every strategy runs on (at least 2)")
    n_seeds = _whole(meta["seeds"], f"{at}.seeds", 2, 100_000)
    if "master_seed" not in meta:
        raise InputError(f"{at}.master_seed is missing; expected a whole number from 0 (every run's seed derives "
                         "from it)")
    master_seed = _whole(meta["master_seed"], f"{at}.master_seed", 0, 2**63 - 1)
    months = meta.get("months")
    if months is not None:
        months = checked(REGISTRY["months"], months, where=at)
        scenario = scenario.with_overrides({"months": months}, where=f"{at}.months")
    horizon = _whole(meta.get("horizon_months", HORIZON), f"{at}.horizon_months", 12, 600)
    fu, hz = scenario.params["followup_months"], scenario.params["months"]
    if horizon > fu:
        raise InputError(f"{at}.horizon_months = {horizon} is longer than the follow-up of agreements in the scenario "
                         f"(followup_months = {fu}); durability cannot be measured that far; use at most {fu}")
    if horizon >= hz and "horizon_months" not in meta and months is not None:  # the months given are too few
        raise InputError(f"{at}.months = {words(meta['months'])} is not allowed: the runs must be longer than the "
                         f"durability horizon (horizon_months, {horizon} months by default) for an agreement to be "
                         f"followed that long; expected more than {horizon}, or a shorter horizon_months")
    if horizon >= hz:
        raise InputError(f"{at}.horizon_months = {horizon} is not shorter than the horizon of the runs "
                         f"(months = {hz}); no agreement could be followed that long")
    rank_by = meta.get("rank_by", "rmst")
    if not isinstance(rank_by, str):
        raise InputError(f"{at}.rank_by = {words(rank_by)} is not allowed; expected the name of one measure, as a "
                         f"text: {', '.join(MEASURES)}")
    if rank_by not in MEASURES:
        raise InputError(f"{at}.rank_by = {words(rank_by)} is not a measure{did_you_mean(str(rank_by), MEASURES)}; "
                         f"allowed: {', '.join(MEASURES)}")
    n_boot = _whole(meta.get("bootstrap", BOOTSTRAP), f"{at}.bootstrap", 200, 100_000)

    conditions = _conditions(raw.get("uncertain"), scenario, where)
    if "worlds" in meta:
        n_worlds = _whole(meta["worlds"], f"{at}.worlds", 1, MAX_WORLDS)
        if n_worlds > 1 and not conditions:
            raise InputError(f"{at}.worlds = {n_worlds}: worlds are draws of the [uncertain] conditions, and the file "
                             "has none; add an [uncertain] table or remove worlds")
    else:
        n_worlds = WORLDS if conditions else 1
    given: dict[str, int] = {}
    if seeds is not None:
        n_seeds = _whole(seeds, "--seeds", 2, 100_000)
        given["seeds"] = n_seeds
    if worlds is not None:
        n_worlds = _whole(worlds, "--worlds", 1, MAX_WORLDS)
        if n_worlds > 1 and not conditions:
            raise InputError(f"--worlds {n_worlds}: {where} has no [uncertain] conditions to draw worlds from")
        given["worlds"] = n_worlds
    if conditions and n_worlds < 2:
        shown = f"--worlds {n_worlds}" if "worlds" in given else f"{at}.worlds = {n_worlds}"
        raise InputError(f"{shown} is not allowed: with [uncertain] conditions at least 2 worlds are needed (each is "
                         "one draw of the conditions)")

    table = raw.get("strategy")
    if not isinstance(table, dict) or not table:
        raise InputError(f"{where}: no strategies; add [strategy.NAME] tables (at least two, one of them the baseline)")
    if len(table) < 2:
        raise InputError(f"{where}: only one strategy ({', '.join(table)}); a comparison needs at least two")
    if len(table) > MAX_STRATEGIES:
        raise InputError(f"{where}: {len(table)} strategies; at most {MAX_STRATEGIES} are allowed in one comparison")
    strategies = [_strategy(key, spec, scenario, where, conditions) for key, spec in table.items()]
    seen: dict[tuple, str] = {}
    for s in strategies:
        sig = s.signature()
        if sig in seen:
            same = (f" ({', '.join(s.as_written)} {'is' if len(s.as_written) == 1 else 'are'} the scenario's own "
                    f"value{'' if len(s.as_written) == 1 else 's'})" if s.as_written else "")
            raise InputError(f"{where}: strategy.{s.key} makes the same changes as strategy.{seen[sig]}{same}; "
                             "each strategy must differ")
        seen[sig] = s.key
    names: dict[str, str] = {}
    for s in strategies:  # tables, legends and sentences tell the strategies apart by these
        for what, name in (("title", s.title), ("short", s.short)):
            if not name:
                continue
            key = name.casefold()
            if key in names and names[key] != s.key:
                raise InputError(f"{where}: strategy.{s.key}.{what} = {words(name)} is also the title or "
                                 f"short name of strategy.{names[key]}; each strategy needs names of its own, which "
                                 "the report's tables, figures and sentences tell them apart by")
            names[key] = s.key
    baseline = meta.get("baseline")
    keys = [s.key for s in strategies]
    if baseline is None:
        raise InputError(f"{at}.baseline is missing; name the strategy the others are compared with: "
                         f"{', '.join(keys)}")
    if not isinstance(baseline, str) or baseline not in keys:
        raise InputError(f"{at}.baseline = {words(baseline)} is not one of the strategies"
                         f"{did_you_mean(str(baseline), keys)}; allowed: {', '.join(keys)}")
    spec = ComparisonSpec(
        name=fsutil.slug(default_name, "comparison"), title=title, question=question, description=description,
        scenario=scenario, scenario_path=str(scen_path), strategies=strategies, baseline=baseline,
        conditions=conditions, seeds=n_seeds, worlds=n_worlds, master_seed=master_seed, months=months,
        horizon=horizon, rank_by=rank_by, bootstrap=n_boot, path=where, text=text, ref=ref or where,
        sizes_given=given)
    if not check_design:
        return spec
    worlds_list = spec.world_values()
    if len({tuple(sorted(w.items())) for w in worlds_list}) < len(worlds_list):
        shown = f"--worlds {n_worlds}" if "worlds" in given else f"{at}.worlds = {n_worlds}"
        combos = spec.combinations()
        if n_worlds > combos:
            raise InputError(f"{shown} is more than the {int(combos):,} distinct combinations of the whole-number "
                             "[uncertain] conditions; draw fewer worlds or widen the ranges")
        raise InputError(f"{shown}: no Latin hypercube sample of {n_worlds} worlds without two worlds on the same "
                         f"whole-number values was found in {1 + LHS_REDRAWS} draws (the conditions allow "
                         f"{int(combos):,} combinations); draw fewer worlds or widen the ranges")
    spec.experiment()  # every design point is checked against the scenario now, before any run
    return spec


def _actor_param(name: str, scenario: Scenario, where: str):
    """The registry entry of ``name``: a model-wide parameter, KIND.FIELD or KIND[N].FIELD."""
    m = _ACTOR_NAME.fullmatch(name)
    if m is None:
        p = REGISTRY.get(name)
        if p is None:
            raise InputError(f"{where}: unknown parameter {words(name)}{did_you_mean(name, REGISTRY)}; see "
                             "'peacesim params' for the list (or KIND.FIELD for actors)")
        return p
    kind, fname = m.group(1), m.group(3)  # (the index is checked against the cast where it is applied)
    return actor_field(kind, fname, name, where=where)


def _conditions(raw: Any, scenario: Scenario, where: str) -> list[Condition]:
    if raw is None:
        return []
    if not isinstance(raw, dict):
        raise InputError(f"{where}: [uncertain] must be a table of name = [low, high]")
    flat: list[tuple[str, Any]] = []
    for k, v in raw.items():
        if k in ACTOR_FIELDS and isinstance(v, dict):
            flat += [(f"{k}.{f}", fv) for f, fv in v.items()]
        else:
            flat.append((k, v))
    out = []
    for name, rng in flat:
        at = f"{where}: uncertain.{name}"
        if name in _NOT_UNCERTAIN:
            raise InputError(f"{at} cannot be an uncertain condition: {_NOT_UNCERTAIN[name]}")
        if name.startswith("intervention."):
            raise InputError(f"{at}: interventions belong to strategies, not to the uncertain conditions")
        spec = _actor_param(name, scenario, f"{where}: uncertain")
        if spec.kind not in ("float", "int"):
            raise InputError(f"{at}: {spec.name} is {spec.allowed()}; only numbers can be uncertain conditions "
                             "(sampled from a range)")
        if (not isinstance(rng, list) or len(rng) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in rng)):
            raise InputError(f"{at} = {words(rng)} is not allowed; expected [low, high], each {spec.allowed()}")
        lo = checked(spec, rng[0], where=at)
        hi = checked(spec, rng[1], where=at)
        if not lo < hi:
            raise InputError(f"{at} = {words(rng)} is not allowed; the low end must be below the high end")
        scenario.with_overrides({name: lo}, where=at)  # the scenario has such actors (and the index exists)
        out.append(Condition(name, float(lo), float(hi), spec.kind == "int", condition_label(name, scenario)))
    names = [_normal(c.name) for c in out]
    for c, n in zip(out, names):
        if names.count(n) > 1:
            raise InputError(f"{where}: uncertain.{c.name}: {n} is listed more than once among the uncertain "
                             "conditions")
    return out


def condition_label(name: str, scenario: Scenario) -> str:
    """A condition or setting in plain words: the registry's meaning, with the actor it is about."""
    m = _ACTOR_NAME.fullmatch(name)
    if m is None:
        p = REGISTRY.get(name)
        return p.meaning.split(";")[0] if p is not None else name.replace("_", " ")
    kind, index, fname = m.group(1), m.group(2), m.group(3)
    meaning = ACTOR_FIELDS[kind][fname].meaning.split(";")[0]
    if index is not None:
        who = scenario.actors[kind][int(index) - 1]["name"]
        return f"{who}: {meaning}"
    plural = {"party": "parties", "spoiler": "spoilers", "mediator": "mediators", "diplomat": "diplomats",
              "local": "local mechanisms"}[kind]
    return f"{meaning} (all {plural})"


def _find_actor(given: str, scenario: Scenario) -> tuple[str, int] | None:
    """(kind, 1-based index) of the actor named ``given`` (a leading article may be left out)."""
    for kind, entries in scenario.actors.items():
        names = [a["name"] for a in entries]
        found = resolve_name(given, names)
        if found is not None:
            return kind, names.index(found) + 1
    return None


def _strategy(key: str, raw: Any, scenario: Scenario, where: str, conditions: list[Condition]) -> Strategy:
    at = f"{where}: strategy.{key}"
    if not _KEY.fullmatch(key):
        raise InputError(f"{where}: strategy name {words(key)} is not allowed; expected a word of the "
                         "letters a-z and A-Z without accents, digits and '_', starting with a letter (the "
                         "title can be in any script)")
    if not isinstance(raw, dict):
        raise InputError(f"{at} must be a table ([strategy.{key}]) with title, description, source and the changes")
    title = _text(raw, "title", at, required=True, longest=MAX_TITLE)
    short = _text(raw, "short", at, longest=MAX_TITLE)
    description = _text(raw, "description", at, required=True)
    source = _text(raw, "source", at, required=True)
    changes: dict[str, Any] = {}
    for k, v in raw.items():
        if k in _STRATEGY_META:
            continue
        if k in ACTOR_FIELDS:
            if not isinstance(v, dict):
                raise InputError(f"{at}.{k} = {words(v)} is not allowed; expected a table of {k} fields "
                                 f"([strategy.{key}.{k}]) that apply to every {k}")
            changes.update({f"{k}.{f}": fv for f, fv in v.items()})
        elif isinstance(v, dict):
            raise InputError(f"{at}.{k} is a table, but {words(k)} is neither an actor kind ({', '.join(ACTOR_FIELDS)}) "
                             f"nor actor; allowed fields: {', '.join(_STRATEGY_META)} and parameters")
        else:
            changes[k] = v
    actor_tables = raw.get("actor", {})
    if not isinstance(actor_tables, dict) or not all(isinstance(v, dict) for v in actor_tables.values()):
        raise InputError(f"{at}.actor must hold one table per actor: [strategy.{key}.actor.\"NAME\"] with its fields")
    for name, fields in actor_tables.items():
        found = _find_actor(name, scenario)
        if found is None:
            names = [a["name"] for entries in scenario.actors.values() for a in entries]
            listed = ", ".join(repr(n) for n in names)  # in full: a name cut short cannot be copied
            raise InputError(f"{at}.actor: {words(name)} is not an actor of the scenario"
                             f"{did_you_mean(str(name), names)}; allowed: {listed}")
        kind, index = found
        changes.update({f"{kind}[{index}].{f}": fv for f, fv in fields.items()})
    cond = {_normal(c.name): c.name for c in conditions}
    for name in changes:
        if name in _NOT_IN_STRATEGY:
            raise InputError(f"{at}: {name} cannot be set by a strategy: {_NOT_IN_STRATEGY[name]}")
        if name.startswith("intervention."):
            raise InputError(f"{at}: {words(name)}: plan a strategy's interventions as "
                             f"[[strategy.{key}.intervention]] tables")
        _actor_param(name, scenario, at)
        if _normal(name) in cond:
            raise InputError(f"{at}: {name} is also an uncertain condition ([uncertain] {cond[_normal(name)]}), which "
                             "the policy maker does not control; a strategy cannot set it; remove it from one of them")
    scen = scenario.with_overrides(changes, where=at)
    lead = raw.get("lead", "")
    if not isinstance(lead, str):
        raise InputError(f"{at}.lead = {words(lead)} must be the name of a mediator")
    if lead:
        mediators = scen.actors["mediator"]
        names = [m["name"] for m in mediators]
        found = resolve_name(lead, names)
        if found is None:
            raise InputError(f"{at}.lead = {words(lead)} is not a mediator of the scenario{name_suggestion(lead, names)}; "
                             f"allowed: {', '.join(repr(n) for n in names) or 'none (the scenario has no mediator)'}")
        i = names.index(found)
        n = scen.params.get("mediators", 0)
        if n and i >= n:
            raise InputError(f"{at}.lead = {words(lead)}: with mediators = {n} only the first {n} of the scenario's "
                             "mediators take part; choose one of them or more mediators")
        for j, m in enumerate(mediators):
            if j == i:
                changes[f"mediator[{j + 1}].lead"] = True
            elif m["lead"]:
                changes[f"mediator[{j + 1}].lead"] = False
        scen = scenario.with_overrides(changes, where=at)
        lead = found
    cast = scen.cast()
    plan = parse_plan(raw.get("intervention", []), where=at)
    relabelled: list[Planned] = []
    used: dict[str, int] = {}
    for x in plan:
        base = f"{key}-{x.label or x.kind}"
        used[base] = used.get(base, 0) + 1
        label = base if used[base] == 1 else f"{base}_{used[base]}"
        if not x.enabled:
            raise InputError(f"{at}: intervention {x.label or x.kind!r} (month {x.month}): enabled = false is not "
                             "allowed in a strategy; leave the intervention out instead")
        relabelled.append(Planned(x.month, x.kind, x.args, label, False, at))
    on = [Planned(x.month, x.kind, x.args, x.label, True, at) for x in plan]  # as the file names them
    check_plan([*cast.interventions, *on], cast.actors, cast.params["months"], where=at, notes=True)
    s = Strategy(key, title, description, source, changes, relabelled, lead, short=short)
    own = _effect(scenario)
    leads = {name: v for name, v in changes.items() if name.endswith(".lead")}
    s.lead_as_written = bool(leads) and _effect(scenario.with_overrides(leads, where=at)) == own
    s.changes = _describe(s, scenario)
    s.effect = (_effect(scen), tuple(sorted(repr((x.month, x.kind, sorted(x.args.items()))) for x in plan)))
    s.as_written = [f"{name} = {words(v)}" for name, v in changes.items() if not name.endswith(".lead")
                    and _effect(scenario.with_overrides({name: v}, where=at)) == own]
    if s.lead_as_written:
        s.as_written.insert(0, f"lead = {words(raw['lead'])}")
    return s


def _effect(scen: Scenario) -> bytes:
    """A scenario's parameters and actors, as bytes to compare."""
    import pickle

    return pickle.dumps((sorted(scen.params.items()), scen.actors), 5)


def _value_words(v: Any, unit: str = "") -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, str):
        return v.replace("_", " ")
    text = f"{v:g}" if isinstance(v, float) else str(v)
    return f"{text} month{'' if text == '1' else 's'}" if unit == "months" else text


def _describe(s: Strategy, scenario: Scenario) -> list[str]:
    """The strategy's changes to the scenario in plain words, each with the scenario's own value."""
    out = []
    if s.lead:
        out.append(f"{s.lead} leads the coordinated process{' (as in the scenario)' if s.lead_as_written else ''}")
    for name, v in s.overrides.items():
        if name.endswith(".lead") and s.lead:
            continue
        label = condition_label(name, scenario)
        m = _ACTOR_NAME.fullmatch(name)
        unit = REGISTRY[name].unit if name in REGISTRY else ""
        if m is None:
            was = scenario.params.get(name)
            note = (f" (scenario: {_value_words(was, unit)})" if was is not None and was != v
                    else " (as in the scenario)" if was == v else "")
        elif m.group(2) is not None:
            was = scenario.actors[m.group(1)][int(m.group(2)) - 1].get(m.group(3))
            note = f" (scenario: {_value_words(was)})" if was != v else " (as in the scenario)"
        else:
            note = ""
        out.append(f"{label}: {_value_words(v, unit)}{note}")
    for x in s.plan:
        spec = INTERVENTIONS[x.kind]
        args = x.cli().split(":", 2)[2] if x.cli().count(":") >= 2 else ""
        out.append(f"month {x.month}: {x.kind.replace('_', ' ')}{f' ({args})' if args else ''}: "
                   f"{spec.meaning.split(';')[0].split(' (')[0]}")
    if not out:
        out.append("no change: the scenario as written")
    return out


# ------------------------------------------------------------------------------------------ analysis
@dataclass
class ComparisonResult:
    """What a comparison found. Tables are pandas DataFrames; every number that cannot be given
    has a ``note`` saying why, in words."""

    spec: ComparisonSpec
    table: pd.DataFrame          # one row per strategy and measure
    differences: pd.DataFrame    # one row per strategy (not the baseline) and measure: paired, vs baseline
    best_vs_runner: pd.DataFrame  # one row per measure: best minus runner-up
    hazard: pd.DataFrame         # Cox hazard ratios of relapse vs the baseline
    worlds: pd.DataFrame         # one row per world: conditions, best and runner-up, whether best did better
    boxes: list[Box]
    discovery_note: str
    trends: pd.DataFrame         # per condition: rank correlation with the best's lead over the runner-up
    best: str | None             # the first of ``measured``; None where no strategy could be measured
    runner_up: str | None        # the second of ``measured``; None where fewer than two could be
    rank_probability: dict[str, float]
    episodes: pd.DataFrame       # agreements: strategy, world, seed (the seed's number in the world), months_survived,
    #                              relapsed (for the figures), and design_point and replicate, the keys of runs/
    n_blocks: int
    n_failed: int
    out: Path | None = None
    seconds: float = 0.0
    command: str = ""
    provenance: dict[str, Any] = field(default_factory=dict)
    pairwise: pd.DataFrame | None = None  # every pair of strategies and measure: paired, Holm over the pairs
    rank_resamples: int = 0  # resamples in which two strategies could be measured (rank_probability's denominator)

    def value(self, strategy: str, measure: str) -> pd.Series:
        t = self.table
        return t[(t["strategy"] == strategy) & (t["measure"] == measure)].iloc[0]

    def difference(self, strategy: str, measure: str) -> pd.Series:
        t = self.differences
        return t[(t["strategy"] == strategy) & (t["measure"] == measure)].iloc[0]

    @property
    def ranked(self) -> bool:
        """Could the ranking measure be measured under any strategy?"""
        return bool(self.measured)

    @property
    def measured(self) -> list[str]:
        """The strategies whose ranking measure could be measured, best first."""
        return _measured(self.spec, self.table)

    @property
    def leaders(self) -> list[str]:
        """The strategies that share the best value of the ranking measure (one unless tied)."""
        if not self.ranked:
            return []
        from . import paired

        top = float(self.value(self.best, self.spec.rank_by)["estimate"])
        return [k for k in self.ranking
                if paired.difference(float(self.value(k, self.spec.rank_by)["estimate"]), top) == 0.0]

    @property
    def ranking(self) -> list[str]:
        """Strategies from best to worst by the ranking measure (unmeasurable ones last)."""
        return _rank(self.spec, self.table)


def _strategy_arrays(spec: ComparisonSpec, results: Results):
    """Per strategy, world and seed: run outcomes and whether the run finished; and the agreements."""
    import numpy as np
    import pandas as pd

    S, W, R = len(spec.strategies), spec.worlds, spec.seeds
    runs = results.runs
    dp = runs["design_point"].to_numpy(int)
    s_of, w_of, r_of = dp % S, dp // S, runs["replicate"].to_numpy(int)
    shape = (S, W, R)
    ok = np.zeros(shape, dtype=bool)
    ok[s_of, w_of, r_of] = (runs["status"] == "ok").to_numpy()
    horizon_run = runs["months"].to_numpy(float)
    first = pd.to_numeric(runs["months_to_first_agreement"], errors="coerce").to_numpy(float)
    reached = runs["agreement_reached"].fillna(False).astype(bool).to_numpy()
    viol = pd.to_numeric(runs["mean_violence"], errors="coerce").to_numpy(float) if "mean_violence" in runs \
        else np.zeros(len(runs))
    arr = {k: np.zeros(shape) for k in ("agreement", "months_to_agreement", "durable", "violence")}
    arr["agreement"][s_of, w_of, r_of] = reached
    arr["months_to_agreement"][s_of, w_of, r_of] = np.where(reached & np.isfinite(first),
                                                            np.minimum(first, horizon_run), horizon_run)
    arr["violence"][s_of, w_of, r_of] = np.nan_to_num(viol)
    eps = results.ok_episodes
    e_dp = eps["design_point"].to_numpy(int)
    # ('seed' here is the seed's number within the world, the replicate, which indexes the arrays;
    # the stored runs' keys are kept for a join with runs/)
    e = pd.DataFrame({"strategy": e_dp % S, "world": e_dp // S, "seed": eps["replicate"].to_numpy(int),
                      "months_survived": eps["months_survived"].to_numpy(float),
                      "relapsed": eps["relapsed"].astype(bool).to_numpy(),
                      "design_point": e_dp, "replicate": eps["replicate"].to_numpy(int)})
    # holding the horizon, as the Kaplan-Meier share counts it (survival beyond it): an agreement
    # that relapsed in its horizon-th month did not hold; one still holding then did
    held = e[(e["months_survived"] > spec.horizon) | ((e["months_survived"] >= spec.horizon) & ~e["relapsed"])]
    arr["durable"][held["strategy"].to_numpy(), held["world"].to_numpy(), held["seed"].to_numpy()] = 1.0
    return arr, ok, e


def _evaluate(arr, e: pd.DataFrame, usable: np.ndarray, d: Draws, strategies: list[int],
              horizon: int) -> dict[str, np.ndarray]:
    """Every measure for the given strategies under resamples ``d``: arrays (strategies x n)."""
    import numpy as np

    from . import paired

    out = {m: np.full((len(strategies), d.n), np.nan) for m in MEASURES}
    for i, s in enumerate(strategies):
        for m in ("agreement", "months_to_agreement", "durable", "violence"):
            out[m][i] = paired.block_mean(arr[m][s], usable, d)
        es = e[e["strategy"] == s]
        keep = usable[es["world"].to_numpy(int), es["seed"].to_numpy(int)] if len(es) else np.zeros(0, bool)
        es = es[keep]
        surv, rm = paired.km(es["months_survived"].to_numpy(), es["relapsed"].to_numpy(), es["world"].to_numpy(),
                             es["seed"].to_numpy(), d, horizon)
        out["survival"][i], out["rmst"][i] = surv, rm
    return out


def _alpha() -> float:
    return 1 - LEVEL


def _exact_share_bound(n: int) -> float:
    """The exact 95% bound for a share observed as 0 (or 1) in n independent cases: 1 - (alpha/2)^(1/n)
    away from it (Clopper-Pearson: analysis._exact_low, which analysis.km_summary uses at zero events)."""
    from .analysis import _exact_low

    return 1 - _exact_low(n, _alpha()) if n > 0 else 1.0


def _independent(worlds: int, seeds: int, design_worlds: int) -> int:
    """How many independent cases runs in ``worlds`` worlds x ``seeds`` seeds count as for an exact
    bound (``design_worlds``: the worlds of the comparison). Runs that share a seed share their
    random numbers (in every world), and runs in one world share its conditions, so with several
    worlds neither the runs nor the world-seed blocks are independent: an outcome can be all but
    settled by the seed (an agreement in every world of some seeds and in none of the others), or
    by the world. The bound counts the smaller of the two as its independent cases, which is
    exact where the outcome is settled by whichever of the two has fewer, and conservative
    otherwise. With one world in the design the seeds are the independent cases."""
    return min(worlds, seeds) if design_worlds > 1 else seeds


def _correct(rows: list[dict[str, Any]], family: str) -> list[dict[str, Any]]:
    """Holm's correction over ``rows`` (one family of comparisons of one measure); a difference is
    clear after it, with its interval on one side of zero (at the edge a percentile interval and
    its bootstrap p-value can disagree: both must say so)."""
    from . import paired

    adj = paired.holm([r["p"] for r in rows])
    compared = sum(math.isfinite(r["p"]) for r in rows)  # the members of the family Holm's method counts
    for r, a in zip(rows, adj):
        r["p_holm"] = float(a)
        r["clear"] = bool(math.isfinite(a) and a < _alpha() and excludes_zero(r))
        r["n_compared"] = compared
        r["family"] = family
    return rows


def analyse(spec: ComparisonSpec, results: Results, *, rng: np.random.Generator | None = None) -> ComparisonResult:
    """Measure every strategy and compare it with the baseline (paired), rank the strategies,
    fit Cox hazard ratios and search the worlds for where the best one stops being best."""
    import numpy as np
    import pandas as pd

    from . import paired

    S, W, R = len(spec.strategies), spec.worlds, spec.seeds
    keys = spec.keys
    base = keys.index(spec.baseline)
    arr, ok, e = _strategy_arrays(spec, results)
    usable = ok.all(axis=0)  # a block counts only where every strategy's run finished (pairing)
    n_blocks = int(usable.sum())
    n_failed = int((~ok).sum())
    if n_blocks == 0:
        raise InputError(f"{spec.path}: no world and seed has a finished run for every strategy ({n_failed} runs "
                         "failed); see the runs' errors in runs.parquet")
    rng = rng or np.random.default_rng(np.random.SeedSequence([spec.master_seed, BOOTSTRAP_STREAM]))
    idx = list(range(S))
    est = _evaluate(arr, e, usable, paired.point(W, R), idx, spec.horizon)
    d = paired.draws(W, R, spec.bootstrap, rng)
    boot = _evaluate(arr, e, usable, d, idx, spec.horizon)
    unpaired = {m: np.full((S, spec.bootstrap), np.nan) for m in MEASURES}
    for s in idx:  # every strategy on a resample of its own: what independent runs would give
        one = _evaluate(arr, e, usable, paired.draws(W, R, spec.bootstrap, rng), [s], spec.horizon)
        for m in MEASURES:
            unpaired[m][s] = one[m][0]
    eu = e[usable[e["world"].to_numpy(int), e["seed"].to_numpy(int)]] if len(e) else e
    counts = {s: _counts(eu[eu["strategy"] == s], spec.horizon, W) for s in idx}
    # A measure over agreements has no value in a resample that leaves out every world or seed in
    # which they were signed. Its interval over the other resamples is conditional on keeping
    # them: where that happens in more than the interval's tail share (agreements in one or two
    # seeds, say), the measure is not given rather than given an interval too narrow to be true.
    for m, meas in MEASURES.items():
        if meas.per != "agreement":
            continue
        for s in idx:
            if not math.isfinite(est[m][s, 0]):
                continue
            missing = float(np.mean(~np.isfinite(boot[m][s])))
            if missing > _alpha() / 2:
                est[m][s, 0] = math.nan
                boot[m][s] = math.nan
                unpaired[m][s] = math.nan
                counts[s][f"thin_{m}"] = missing

    table = pd.DataFrame([_table_row(spec, m, s, est[m][s, 0], boot[m][s], counts[s], n_blocks, arr, usable)
                          for s in idx for m in MEASURES])
    # the best and the runner-up are the first two strategies whose ranking measure could be
    # measured: no best without one, no runner-up without two (never an unmeasured strategy, nor
    # whichever the file lists first)
    measured = _measured(spec, table)
    best = measured[0] if measured else None
    runner = measured[1] if len(measured) >= 2 else None
    # a value that no resample varies (a share of 0% or 100%, agreements none of which relapsed):
    # its table row has an exact bound instead, and the resamples of a difference with it carry
    # none of its uncertainty
    fixed = {(keys[s], m) for s in idx for m in MEASURES
             if np.isfinite(boot[m][s]).any() and np.nanmin(boot[m][s]) == np.nanmax(boot[m][s])}
    # the agreements each strategy signed (world, seed, months held, relapse), to tell two
    # strategies with the same agreements from two whose values no resample varies
    signed = {keys[s]: sorted(map(tuple, eu.loc[eu["strategy"] == s, ["world", "seed", "months_survived",
                                                                      "relapsed"]].to_numpy().tolist()))
              for s in idx}

    def alike(a: str, b: str) -> bool:
        return signed[a] == signed[b]

    floor = least_p(n_blocks)

    diffs = []
    for m in MEASURES:
        diffs += _correct([_diff_row(spec, m, keys[s], keys[base], est[m][s, 0], est[m][base, 0],
                                     paired.difference(boot[m][s], boot[m][base]),
                                     paired.difference(unpaired[m][s], unpaired[m][base]), table, fixed, alike, floor)
                           for s in idx if s != base], "baseline")
    differences = pd.DataFrame(diffs)
    bi = keys.index(best) if best is not None else None
    ri = keys.index(runner) if runner is not None else None
    # every pair, in the order of the file (a against b, b listed later), Holm over the pairs; the
    # best against the runner-up is one of them, read with the same correction
    pairs, bvr_rows = [], []
    for m in MEASURES:
        rows = _correct([_diff_row(spec, m, keys[a], keys[b], est[m][a, 0], est[m][b, 0],
                                   paired.difference(boot[m][a], boot[m][b]),
                                   paired.difference(unpaired[m][a], unpaired[m][b]), table, fixed, alike, floor)
                         for a in idx for b in idx if a < b],
                        "pairs")
        pairs += rows
        if ri is None:  # no runner-up: no row of the best against it
            continue
        row = _diff_row(spec, m, best, runner, est[m][bi, 0], est[m][ri, 0],
                        paired.difference(boot[m][bi], boot[m][ri]),
                        paired.difference(unpaired[m][bi], unpaired[m][ri]), table, fixed, alike, floor)
        same = next(r for r in rows if {r["strategy"], r["versus"]} == {best, runner})
        row.update(p_holm=same["p_holm"], clear=bool(same["clear"]), n_compared=same["n_compared"], family="pairs")
        bvr_rows.append(row)
    pairwise = pd.DataFrame(pairs)
    bvr = pd.DataFrame(bvr_rows, columns=pairwise.columns)  # empty, with its columns, without a runner-up
    rank_m = MEASURES[spec.rank_by]
    rb = boot[rank_m.key]
    sign = 1 if rank_m.higher_is_better else -1
    # Only the strategies measurable in the runs themselves take part (one that is not could come
    # first only in resamples that leave out what made it unmeasurable); a strategy not measurable
    # in a resample ranks last in it, and a resample ranks only where two of them can be measured.
    measurable = np.array([math.isfinite(float(est[rank_m.key][i, 0])) for i in range(len(keys))])
    rb = np.where(measurable[:, None], rb, np.nan)
    scored = np.where(np.isfinite(rb), sign * rb, -np.inf)
    valid = np.isfinite(rb).sum(axis=0) >= 2
    if measurable.sum() >= 2 and valid.any():
        # strategies tied for first in a resample share it (the order of the file decides nothing)
        sv = scored[:, valid]
        top = paired.difference(sv, sv.max(axis=0)) == 0.0  # equal up to rounding (-inf, unmeasured, never)
        share = top / top.sum(axis=0)
        rank_probability = {k: float(np.mean(share[i])) if measurable[i] else math.nan for i, k in enumerate(keys)}
        rank_resamples = int(valid.sum())
    else:
        rank_resamples = 0
        rank_probability = {k: math.nan for k in keys}
    worlds, boxes, note = _discovery(spec, arr, e, usable, bi, ri)
    trends = _trends(spec, worlds)
    hazard = _hazard(spec, eu)
    return ComparisonResult(spec, table, differences, bvr, hazard, worlds, boxes, note, trends, best, runner,
                            rank_probability, eu.assign(strategy=[keys[i] for i in eu["strategy"]]), n_blocks,
                            n_failed, pairwise=pairwise, rank_resamples=rank_resamples)


def _counts(es: pd.DataFrame, horizon: int, n_worlds: int) -> dict[str, int]:
    """Agreements, their relapses within the horizon, those followed that long, and in how many
    seeds and worlds they were signed (the independent cases for an exact bound: _independent)."""
    t = es["months_survived"].to_numpy(float)
    ev = es["relapsed"].to_numpy(bool)
    followed = es[t >= horizon]

    def units(e: pd.DataFrame) -> int:
        return _independent(int(e["world"].nunique()), int(e["seed"].nunique()), n_worlds)

    return {"agreements": int(len(es)), "relapses_in_horizon": int((ev & (t <= horizon)).sum()),
            "followed": int(len(followed)), "seeds": int(es["seed"].nunique()),
            "worlds": int(es["world"].nunique()), "units": units(es), "followed_units": units(followed)}


def _table_row(spec: ComparisonSpec, m: str, s: int, estimate: float, boot: np.ndarray, counts: dict[str, int],
               n_blocks: int, arr, usable) -> dict[str, Any]:
    import numpy as np

    from . import paired

    meas = MEASURES[m]
    low, high = paired.interval(boot, LEVEL)
    note = ""
    runs_reached = int(np.asarray(arr["agreement"][s])[usable].sum())
    n_ind = _independent(int(usable.any(axis=1).sum()), int(usable.any(axis=0).sum()), spec.worlds)
    hz = int(spec.scenario.params["months"])
    span = span_words(spec.horizon)
    if m == "agreement":
        if runs_reached == 0:
            low, high, note = 0.0, _exact_share_bound(n_ind), f"no run reached an agreement within {hz} months"
        elif runs_reached == n_blocks:
            low, high, note = 1 - _exact_share_bound(n_ind), 1.0, "every run reached an agreement"
    elif m == "durable":
        k = int(np.asarray(arr["durable"][s])[usable].sum())
        if k == 0:
            low, high, note = 0.0, _exact_share_bound(n_ind), f"in no run did an agreement hold {span}"
        elif k == n_blocks:
            low, high, note = 1 - _exact_share_bound(n_ind), 1.0, f"in every run an agreement held {span}"
    elif m == "months_to_agreement":
        if runs_reached == 0:
            note = f"no run reached an agreement within {hz} months"
    elif meas.per == "agreement":
        if counts["agreements"] == 0:
            estimate, low, high = math.nan, math.nan, math.nan
            note = "no agreement was signed in any run, so durability cannot be measured"
        elif f"thin_{m}" in counts:
            low = high = math.nan
            n, f = counts["agreements"], counts["followed"]
            of = ("of the resamples of worlds and seeds" if spec.worlds > 1 else "of the resamples of the seeds")
            where = (f" and {counts['worlds']} of the {spec.worlds} worlds" if spec.worlds > 1 else "")
            note = (f"too few agreements to measure: in {counts[f'thin_{m}']:.0%} {of} none was signed or none was "
                    f"followed for {span} ({n} agreement{'' if n == 1 else 's'} in {counts['seeds']} of the "
                    f"{spec.seeds} seeds{where}, {f} of them followed for {span})")
        elif not math.isfinite(estimate):
            low = high = math.nan
            note = (f"no agreement was followed for {span}: those still holding when their runs ended had been "
                    f"signed less recently, so the survival curve is not known that far")
        elif counts["relapses_in_horizon"] == 0:
            note = f"no agreement relapsed within {span}"
            # every re-draw gives 100% and the whole horizon: the exact bound of the share instead, and
            # for the months held the bound that follows from it (the curve never falls below its value
            # at the horizon, so the months held are at least the horizon times that share)
            share_low = 1 - _exact_share_bound(min(counts["followed"], counts["followed_units"]))
            if m == "survival":
                low, high = share_low, 1.0
            else:
                low, high = spec.horizon * share_low, float(spec.horizon)
        elif m == "survival" and estimate == 0.0:
            note = f"every agreement relapsed within {span}"
            low, high = 0.0, _exact_share_bound(min(counts["agreements"], counts["units"]))
    return {"strategy": spec.keys[s], "title": spec.strategies[s].title, "measure": m, "estimate": estimate,
            "low": low, "high": high, "n_runs": n_blocks, "n_agreements": counts["agreements"],
            "runs_with_agreement": runs_reached, "note": note}


def _diff_row(spec: ComparisonSpec, m: str, a: str, b: str, ea: float, eb: float, boot: np.ndarray,
              unpaired: np.ndarray, table: pd.DataFrame, fixed: set[tuple[str, str]] = frozenset(),
              alike: Callable[[str, str], bool] | None = None, least_p: float = 0.0) -> dict[str, Any]:
    """One difference, ``a`` minus ``b`` on measure ``m``, paired. Where the value of one of them
    is the same in every resample (``fixed``: a share of 0% or 100%, no agreement relapsing), the
    resamples of the difference carry none of that value's uncertainty, and its percentile
    interval would be too narrow (zero relapses among a few seeds' agreements, say, read as a
    certain 100%). The interval then reaches at least from one strategy's interval in the table
    (the exact bound, for the fixed one) to the other's: ``bound`` names the fixed strategies.
    ``alike(a, b)`` says whether the two strategies signed the same agreements, held as long: a
    measure over agreements that no resample tells apart (none of either's relapsed, say) is the
    same in every run only then. ``least_p`` is the smallest p-value the blocks can support
    (:func:`least_p`): the bootstrap's is raised to it."""
    import numpy as np

    from . import paired

    diff = float(paired.difference(ea, eb)) if math.isfinite(ea) and math.isfinite(eb) else math.nan
    low, high = paired.interval(boot, LEVEL)
    ulow, uhigh = paired.interval(unpaired, LEVEL)
    p = paired.p_value(diff, boot)
    if math.isfinite(p):
        p = max(p, least_p)
    note = ""
    if not math.isfinite(diff):
        why = [f"under {spec.strategy(r['strategy']).called}, {r['note']}" for _, r in table[(table["measure"] == m)
                                                              & table["strategy"].isin([a, b])].iterrows()
               if not math.isfinite(float(r["estimate"]))]
        note = "cannot be compared: " + "; ".join(why) if why else "cannot be compared"
        low = high = ulow = uhigh = p = math.nan
    else:
        fin = boot[np.isfinite(boot)]
        same_runs = MEASURES[m].per != "agreement" or alike is None or alike(a, b)
        if len(fin) and np.all(fin == 0.0) and diff == 0.0 and same_runs:
            note = "no difference in any resample: the two strategies gave the same value in every run"
    bound = [k for k in (a, b) if (k, m) in fixed] if not note else []
    if bound:
        ra, rb = (table[(table["strategy"] == k) & (table["measure"] == m)].iloc[0] for k in (a, b))
        wide_low = float(ra["low"]) - float(rb["high"])
        wide_high = float(ra["high"]) - float(rb["low"])
        if math.isfinite(wide_low) and math.isfinite(wide_high):
            low, high = min(low, wide_low), max(high, wide_high)
            # the unpaired resamples carry none of the fixed value's uncertainty either
            ulow, uhigh = min(ulow, wide_low), max(uhigh, wide_high)
    return {"strategy": a, "versus": b, "measure": m, "difference": diff, "low": low, "high": high,
            "unpaired_low": ulow, "unpaired_high": uhigh, "p": p, "note": note, "bound": " ".join(bound),
            "least_p": least_p}


def least_p(blocks: int) -> float:
    """The smallest two-sided p-value that a paired comparison over ``blocks`` world-and-seed
    blocks can support, even taking every block as independent: that of the sign-flip
    (randomisation) test, 2 / 2^blocks, reached when every block's difference has the same sign.
    The bootstrap over a handful of blocks cannot see how few they are: with two seeds in one
    world whose differences share a sign, every resample has that sign and its p-value is 1 / 1000
    where two random courses of events can say no more than 1 / 2. From eleven blocks on the bound
    is below the bootstrap's own smallest p-value with 2,000 resamples."""
    return min(1.0, 2.0 / 2.0 ** blocks) if blocks > 0 else 1.0


def excludes_zero(row: Mapping[str, Any]) -> bool:
    """Is a difference's interval entirely on one side of zero?"""
    lo, hi = float(row["low"]), float(row["high"])
    return math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)


def _rank(spec: ComparisonSpec, table: pd.DataFrame) -> list[str]:
    m = MEASURES[spec.rank_by]
    est = table[table["measure"] == m.key].set_index("strategy")["estimate"].astype(float)
    order = []
    for i, k in enumerate(spec.keys):
        v = float(est[k])
        order.append((not math.isfinite(v), -v if (m.higher_is_better and math.isfinite(v)) else
                      (v if math.isfinite(v) else 0.0), i, k))
    return [k for *_, k in sorted(order)]


def _measured(spec: ComparisonSpec, table: pd.DataFrame) -> list[str]:
    """The strategies whose ranking measure could be measured, best first: the best strategy is the
    first of them and the runner-up the second (none without them, whatever the order of the file)."""
    est = table[table["measure"] == spec.rank_by].set_index("strategy")["estimate"].astype(float)
    return [k for k in _rank(spec, table) if math.isfinite(float(est[k]))]


def _discovery(spec: ComparisonSpec, arr, e, usable, bi: int | None, ri: int | None) -> tuple[pd.DataFrame, list, str]:
    """Per world: the ranking measure under the best strategy and the runner-up; PRIM on the
    worlds where the best did not do better. Without a runner-up (``ri`` None: fewer than two
    strategies could be measured) no world is compared and nothing is searched: the best's values
    are given where there is one, the runner-up's column is empty."""
    import numpy as np
    import pandas as pd

    from . import paired
    from .prim import find_boxes

    m = MEASURES[spec.rank_by]
    worlds = spec.world_values()
    frame = pd.DataFrame(worlds) if spec.conditions else pd.DataFrame(index=range(1))
    frame.insert(0, "world", np.arange(len(frame)))
    which = [i for i in (bi, ri) if i is not None]
    pw = (_evaluate(arr, e, usable, paired.per_world(spec.worlds, spec.seeds), which, spec.horizon)[m.key]
          if which else np.zeros((0, len(frame))))
    none = np.full(len(frame), np.nan)
    frame["best"] = pw[0] if bi is not None else none
    frame["runner_up"] = pw[1] if ri is not None else none
    frame["difference"] = frame["best"] - frame["runner_up"]
    sign = 1 if m.higher_is_better else -1
    measured = np.isfinite(frame["difference"].to_numpy(float))
    frame["best_does_better"] = np.where(measured, sign * frame["difference"] > 0, False)
    frame["measured"] = measured
    if ri is None:
        if bi is None:
            return frame, [], ("the ranking measure could not be measured under any strategy, so there is no ranking "
                               "to explain")
        return frame, [], (f"the ranking measure could be measured only under {spec.strategy(spec.keys[bi]).called}, "
                           "so there is no runner-up and no ranking to explain")
    tb, tr = spec.strategy(spec.keys[bi]).called, spec.strategy(spec.keys[ri]).called
    if not spec.conditions:
        return frame, [], ("no uncertain conditions were sampled: the comparison holds for the scenario as written, "
                           "and which conditions would change the answer was not explored")
    if spec.worlds < MIN_WORLDS_DISCOVERY:
        return frame, [], (f"only {spec.worlds} worlds were sampled; at least {MIN_WORLDS_DISCOVERY} are needed to "
                           "search for the conditions under which the ranking changes")
    x = frame.loc[measured, [c.name for c in spec.conditions]]
    loses = ~frame.loc[measured, "best_does_better"].to_numpy(bool)
    n = int(measured.sum())
    if n == 0:
        return frame, [], "the ranking measure could not be computed in any world, so there is no ranking to explain"
    if n < MIN_WORLDS_DISCOVERY:
        return frame, [], (f"the ranking measure could be computed in only {n} of the {spec.worlds} worlds; too few "
                           f"to search for conditions (at least {MIN_WORLDS_DISCOVERY} are needed)")
    if np.all(frame.loc[measured, "difference"].to_numpy(float) == 0.0):
        return frame, [], (f"{tb} and {tr} gave the same result in every one of the {n} worlds: there is no lead "
                           "to explain")
    if loses.sum() == 0:
        return frame, [], (f"{tb} did better than {tr} in every one of the {n} worlds sampled: no conditions were "
                           "found, within the ranges explored, under which it loses its advantage")
    if loses.all():
        return frame, [], (f"{tb} did not do better than {tr} in any single world; its overall lead comes from a "
                           "few worlds where it does much better, not from doing better in most")
    k = int(loses.sum())
    if k < MIN_BOX_WORLDS:
        which = "the one world" if k == 1 else f"the {k} worlds"
        return frame, [], (f"{tb} did better than {tr} in {n - k} of the {n} worlds sampled; {which} where it did not "
                           f"{'is' if k == 1 else 'are'} too few to look for conditions in common (PRIM needs at least "
                           f"{MIN_BOX_WORLDS})")
    mass_min = max(0.05, MIN_BOX_WORLDS / n)
    boxes = find_boxes(x.reset_index(drop=True), loses, max_boxes=2, mass_min=mass_min)
    if not boxes:
        note = (f"{tb} did not do better than {tr} in {int(loses.sum())} of {n} worlds, but these worlds share no "
                "range of conditions that PRIM could find: they are scattered across the ranges explored")
    else:
        note = ""
    return frame, boxes, note


def _trends(spec: ComparisonSpec, worlds: pd.DataFrame) -> pd.DataFrame:
    """How the best strategy's lead over the runner-up changes with each condition across the
    worlds: Spearman's rank correlation with its p-value, Holm-corrected over the conditions.

    The lead is the best strategy's advantage, positive where it does better: the ``difference``
    (best minus runner-up) for a measure where higher is better, minus it where lower is better
    (violence, months to agreement), so that a positive correlation always means a lead that
    grows as the condition rises."""
    import numpy as np
    import pandas as pd

    from . import paired
    from scipy.stats import spearmanr

    cols = ["condition", "meaning", "rank_correlation", "p", "p_holm", "worlds"]
    w = worlds[worlds["measured"]] if "measured" in worlds else worlds
    sign = 1.0 if MEASURES[spec.rank_by].higher_is_better else -1.0
    rows = []
    for c in spec.conditions:
        x, y = w[c.name].to_numpy(float), sign * w["difference"].to_numpy(float)
        if len(w) < 4 or np.ptp(x) == 0 or np.ptp(y) == 0:
            rho, pv = math.nan, math.nan
        else:
            res = spearmanr(x, y)
            rho, pv = float(res.statistic), _spearman_p(x, y, float(res.statistic), float(res.pvalue))
        rows.append({"condition": c.name, "meaning": c.label, "rank_correlation": rho, "p": pv, "worlds": len(w)})
    frame = pd.DataFrame(rows, columns=[c for c in cols if c != "p_holm"])
    frame["p_holm"] = paired.holm(frame["p"].to_numpy(float)) if len(frame) else []
    return frame[cols]


#: Up to this many worlds a rank correlation's p-value is exact (every order of the values, 9! in all).
EXACT_RANK_WORLDS = 9


def _spearman_p(x: Any, y: Any, rho: float, approx: float) -> float:
    """Two-sided p-value of Spearman's rank correlation ``rho`` of ``x`` and ``y``: exact, from
    every order of ``y``'s ranks, for up to :data:`EXACT_RANK_WORLDS` values (scipy's t
    approximation gives 0 for a perfect correlation of four, where the exact value is 1/12);
    above, the approximation ``approx``, never below the exact least p-value, 2/n!."""
    import itertools

    import numpy as np
    from scipy.stats import rankdata

    n = len(x)
    if n > EXACT_RANK_WORLDS:
        return max(approx, 2.0 / math.factorial(n))
    rx, ry = rankdata(x), rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    orders = np.array(list(itertools.permutations(range(n))), dtype=np.intp)
    every = (ry[orders] @ rx) / math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(np.mean(np.abs(every) >= abs(rho) - 1e-12))


def _hazard(spec: ComparisonSpec, eps: pd.DataFrame) -> pd.DataFrame:
    """Cox hazard ratios of relapse for every strategy against the baseline, standard errors
    clustered by seed (the runs that share a seed are correlated: common random numbers), a
    baseline hazard of its own for every world (strata) when there are several."""
    import numpy as np
    import pandas as pd

    from . import paired
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    keys = spec.keys
    base = keys.index(spec.baseline)
    rows: dict[int, dict[str, Any]] = {}
    empty = {"hr": math.nan, "low": math.nan, "high": math.nan, "se": math.nan, "p": math.nan}
    e = eps.copy()
    n_ev = e.groupby("strategy")["relapsed"].sum() if len(e) else pd.Series(dtype=float)
    n_ep = e.groupby("strategy").size() if len(e) else pd.Series(dtype=float)
    title = {i: spec.strategies[i].called for i in range(len(keys))}
    base_note = ""
    if n_ep.get(base, 0) == 0:
        base_note = f"no agreement under the baseline ({title[base]}), so there is no hazard to compare with"
    elif n_ev.get(base, 0) == 0:
        base_note = f"no agreement relapsed under the baseline ({title[base]}), so its hazard of relapse is zero"
    elif n_ev.get(base, 0) < MIN_RELAPSES:
        base_note = (f"only {int(n_ev.get(base, 0))} agreement{'s' if n_ev.get(base, 0) != 1 else ''} relapsed under "
                     f"the baseline ({title[base]}); a hazard ratio needs at least {MIN_RELAPSES} relapses under "
                     "each of the two strategies")
    include = [base]
    for s in range(len(keys)):
        if s == base:
            continue
        if base_note:
            rows[s] = {**empty, "note": "not estimable: " + base_note}
        elif n_ep.get(s, 0) == 0:
            rows[s] = {**empty, "note": "not estimable: no agreement was signed under this strategy"}
        elif n_ev.get(s, 0) == 0:
            rows[s] = {**empty, "hr": 0.0, "note": "no agreement relapsed under this strategy: its hazard of relapse "
                                                    "is zero, with no interval"}
        elif n_ev.get(s, 0) < MIN_RELAPSES:
            k = int(n_ev.get(s, 0))
            rows[s] = {**empty, "note": f"not estimable: only {k} agreement{'s' if k != 1 else ''} relapsed under this "
                                        f"strategy; a hazard ratio needs at least {MIN_RELAPSES} relapses under each "
                                        "of the two strategies"}
        else:
            include.append(s)
    seeds_of = {s: set(e.loc[e["strategy"] == s, "seed"]) for s in range(len(keys))} if len(e) else {}
    fitted = [s for s in include if s != base]
    if fitted:
        df = e[e["strategy"].isin(include)]
        data = pd.DataFrame({"T": df["months_survived"].to_numpy(float), "E": df["relapsed"].to_numpy(bool),
                             "seed": df["seed"].to_numpy(int)})
        data.loc[data["T"] <= 0, "T"] = 0.5  # a relapse in the month of signing counts as half a month
        for s in fitted:
            data[f"s{s}"] = (df["strategy"].to_numpy(int) == s).astype(float)
        strata = None
        if spec.worlds > 1:
            data["world"] = df["world"].to_numpy(int)
            strata = ["world"]
        cph = CoxPHFitter(alpha=_alpha())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cph.fit(data, duration_col="T", event_col="E", cluster_col="seed", strata=strata)
            summ = cph.summary
            ci = f"{100 * LEVEL:g}%"
            for s in fitted:
                r = summ.loc[f"s{s}"]
                rows[s] = {"hr": float(r["exp(coef)"]), "low": float(r[f"exp(coef) lower {ci}"]),
                           "high": float(r[f"exp(coef) upper {ci}"]), "se": float(r["se(coef)"]),
                           "p": float(r["p"]), "note": ""}
                shared = len(seeds_of[s] & seeds_of[base])
                if shared < MIN_HAZARD_SEEDS:
                    rows[s].update(low=math.nan, high=math.nan, se=math.nan, p=math.nan,
                                   note=f"no interval or p-value: agreements were signed under both this strategy "
                                        f"and the baseline in {shared} of the {spec.seeds} seeds, and standard errors "
                                        f"clustered by seed need at least {MIN_HAZARD_SEEDS} such seeds (fewer give "
                                        "intervals that are too narrow)")
        except (ConvergenceError, ValueError, np.linalg.LinAlgError) as exc:
            why = " ".join(str(exc).split())[:160]
            for s in fitted:
                rows[s] = {**empty, "note": f"the Cox model could not be fitted ({why})"}
    out = []
    for s in range(len(keys)):
        if s == base:
            continue
        r = rows[s]
        out.append({"strategy": keys[s], "versus": spec.baseline, **r,
                    "n_agreements": int(n_ep.get(s, 0)), "n_relapses": int(n_ev.get(s, 0))})
    frame = pd.DataFrame(out)
    if len(frame):
        frame["p_holm"] = paired.holm(frame["p"].to_numpy(float))
        frame.attrs.update(cluster="seed", strata="world" if spec.worlds > 1 else "")
    return frame


# ------------------------------------------------------------------------------------------ writing
#: Tables :func:`write_tables` writes into a comparison's folder.
OUTPUT_TABLES = ("summary.csv", "differences.csv", "hazard_ratios.csv", "worlds.csv", "boxes.csv", "trends.csv",
                 "pairwise.csv", "comparison.json")


def table_files(result: ComparisonResult) -> dict[str, str]:
    """The comparison's tables and ``comparison.json`` as texts, by file name."""
    import json

    from .output import to_jsonable

    files = {}
    boxes = boxes_frame(result)
    for name, frame in (("summary.csv", result.table), ("differences.csv", result.differences),
                        ("hazard_ratios.csv", result.hazard), ("worlds.csv", result.worlds),
                        ("boxes.csv", boxes), ("trends.csv", result.trends), ("pairwise.csv", result.pairwise)):
        files[name] = frame.to_csv(index=False)
    spec = result.spec
    data = {
        "schema": "peacesim comparison",
        "title": spec.title, "question": spec.question, "file": spec.path, "scenario": spec.scenario.name,
        "baseline": spec.baseline, "rank_by": spec.rank_by, "horizon_months": spec.horizon,
        "seeds": spec.seeds, "worlds": spec.worlds, "master_seed": spec.master_seed, "bootstrap": spec.bootstrap,
        "best": result.best, "runner_up": result.runner_up,  # None without one (two) measured strategies
        "rank_probability": result.rank_probability,
        "rank_resamples": result.rank_resamples,
        "strategies": [{"key": s.key, "title": s.title, "description": s.description, "source": s.source,
                        "changes": s.changes, "overrides": s.overrides,
                        "interventions": [x.as_dict() for x in s.plan]} for s in spec.strategies],
        "conditions": [{"name": c.name, "low": c.low, "high": c.high, "meaning": c.label} for c in spec.conditions],
        "summary": result.table.to_dict(orient="records"),
        "differences": result.differences.to_dict(orient="records"),
        "best_vs_runner_up": result.best_vs_runner.to_dict(orient="records"),
        "pairwise": result.pairwise.to_dict(orient="records"),
        "hazard_ratios": result.hazard.to_dict(orient="records"),
        "boxes": boxes.to_dict(orient="records"),
        "discovery_note": result.discovery_note,
        "trends": result.trends.to_dict(orient="records"),
        "runs": spec.n_runs, "blocks_used": result.n_blocks, "runs_failed": result.n_failed,
        "command": result.command, "seconds": round(result.seconds, 1), **result.provenance,
    }
    files["comparison.json"] = json.dumps(to_jsonable(data), indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    return files


def write_tables(result: ComparisonResult, out: Path) -> list[Path]:
    """Write the comparison's tables and ``comparison.json`` into ``out`` (each file atomically)."""
    return write_outputs(Path(out), table_files(result), replace=False)


#: Every file a comparison may write into its folder besides ``runs/`` (the figures by name):
#: what a newer analysis replaces, and what ``--fresh`` removes.
OUTPUT_FILES = (*OUTPUT_TABLES, "report.md", "report.html",
                *(f"figures/{n}.png" for n in ("km", "differences", "measures", "worlds")))


def _same_tables(out: Path, files: dict[str, str | bytes]) -> bool:
    """Whether the CSV tables in ``out`` are those in ``files``, byte for byte (every number of
    the report is in them)."""
    for name, text in files.items():
        if name.endswith(".csv"):
            try:
                if (out / name).read_text(encoding="utf-8") != text:
                    return False
            except (OSError, UnicodeDecodeError):
                return False
    return True


def write_outputs(out: Path, files: dict[str, str | bytes], *, replace: bool = True,
                  keep: set[str] = frozenset()) -> list[Path]:
    """Write ``files`` (relative name -> contents) into ``out``, each atomically, one after the
    other with nothing computed in between, so that an interruption can hardly leave a mix of two
    analyses. With ``replace``, the outputs of an earlier analysis that this one does not write
    (:data:`OUTPUT_FILES`: a figure this one has no data for) are removed, so that none is left
    behind as if it were current; those named in ``keep`` stay."""
    written = []
    _check_figures_folder(out)
    if any("/" in name for name in files):
        figs = out / "figures"
        try:
            figs.mkdir(exist_ok=True)
        except OSError as exc:
            raise fsutil.storage_error(exc, figs, "create the folder") from None
    paths = {name: fsutil.inside(out, out / name) for name in files}
    for path in paths.values():  # a folder in a file's place would stop the writing half-way through
        if path.is_dir() and not path.is_symlink():
            raise fsutil.storage_error(IsADirectoryError(errno.EISDIR, "Is a directory"), path, "write")
    # every file is written beside its place first and only then put in place, so that a full disk
    # or a read-only folder leaves the earlier analysis whole, not new tables beside an old report
    staged: dict[str, Path] = {}
    name = ""
    try:
        for name, data in files.items():
            staged[name] = fsutil.temp_name(paths[name])
            _stage(staged[name], data)
        for name, tmp in staged.items():
            os.replace(tmp, paths[name])
            written.append(paths[name])
    except BaseException as exc:
        for tmp in staged.values():
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
        if isinstance(exc, OSError):
            raise fsutil.storage_error(exc, paths.get(name), "write") from None
        raise
    if replace:
        remove_outputs(out, keep=set(files) | set(keep))
    return written


def _stage(path: Path, data: str | bytes) -> None:
    """Write ``data`` to a new file ``path``, flushed to the disk."""
    raw = data.encode("utf-8", fsutil.ESCAPE) if isinstance(data, str) else data  # a non-UTF-8 name escaped
    with open(path, "xb") as fh:
        fh.write(raw)
        fh.flush()
        os.fsync(fh.fileno())


def remove_outputs(out: Path, *, keep: set[str] = frozenset()) -> None:
    """Remove the comparison outputs (:data:`OUTPUT_FILES`) in ``out`` but those in ``keep``;
    never through a link that leads out of ``out``."""
    _check_figures_folder(out)
    fsutil.remove_files([fsutil.inside(out, out / name) for name in OUTPUT_FILES if name not in keep])


def _check_figures_folder(out: Path) -> None:
    figs = out / "figures"
    if figs.is_symlink() or (figs.exists() and not figs.is_dir()):
        raise InputError(f"{figs}: is not a plain folder (a link or a file); peacesim writes and removes figures "
                         "only in a folder of its own inside the comparison's folder; move it away")


def boxes_frame(result: ComparisonResult) -> pd.DataFrame:
    """The PRIM boxes as a table: one row per restricted condition of each box."""
    import pandas as pd

    rows = []
    for i, b in enumerate(result.boxes, start=1):
        for lim in b.limits:
            rows.append({"box": i, "condition": lim.name, "low": lim.low, "high": lim.high,
                         "low_restricted": lim.low_restricted, "high_restricted": lim.high_restricted,
                         "quasi_p": lim.quasi_p, "coverage": b.coverage, "density": b.density, "mass": b.mass,
                         "worlds_inside": b.n, "worlds_lost_inside": b.k, "share_lost_overall": b.base_rate})
    return pd.DataFrame(rows, columns=["box", "condition", "low", "high", "low_restricted", "high_restricted",
                                       "quasi_p", "coverage", "density", "mass", "worlds_inside",
                                       "worlds_lost_inside", "share_lost_overall"])


# ------------------------------------------------------------------------------------------ the call
def command_line(spec: ComparisonSpec, out: Path | None) -> str:
    """The command that reproduces a comparison, from any folder: a shipped comparison by its
    short name, a user's file and the output folder by their absolute paths."""
    import shlex

    ref = spec.ref
    if (spec.path and Path(spec.path).is_file()  # not a comparison built in Python ('<comparison>')
            and not (Path(spec.path).resolve().parent == comparison_dir().resolve() and ref == Path(spec.path).stem)):
        ref = str(Path(spec.path).resolve())
    parts = ["peacesim", "compare", shlex.quote(ref)]
    for k in ("seeds", "worlds"):
        if k in spec.sizes_given:
            parts += [f"--{k}", str(spec.sizes_given[k])]
    parts += ["--out", shlex.quote(str(Path(out if out is not None else default_out(spec)).resolve()))]
    return " ".join(parts)


def default_out(spec: ComparisonSpec) -> Path:
    return Path("results") / fsutil.slug(f"compare_{spec.name}", "comparison")


def compare(comparison: str | Path | ComparisonSpec, *, seeds: int | None = None, worlds: int | None = None,
            out: str | Path | None = None, fresh: bool = False, executor: str = "processes",
            workers: int | None = None, scheduler: str | None = None, progress: bool = True,
            report: bool = True, announce: Callable[[], None] | None = None) -> ComparisonResult:
    """Compare the strategies of a comparison file on common random numbers; write tables and a report.

    Parameters
    ----------
    comparison:
        A shipped comparison's short name (``"crowded_field"``, see ``experiments/compare/``), a
        path to a comparison file, or a :class:`ComparisonSpec`.
    seeds, worlds:
        Replace the file's number of seeds per world, and of sampled worlds (with a
        :class:`ComparisonSpec`, refused: give them to :func:`load_comparison`).
    out:
        The comparison's folder (default ``results/compare_<name>``). Its runs go to ``out/runs``
        (a sweep folder: resumable, with a manifest); the tables, ``report.html`` and
        ``report.md`` go to ``out``.
    fresh:
        Run every run again instead of resuming (only peacesim's files are removed).
    executor, workers, scheduler:
        Where the runs execute, as for :func:`peacesim.run_experiment`.
    report:
        Also write the figures, ``report.md`` and ``report.html``.
    announce:
        Called once the runs' folder and the executor have been checked, just before the runs
        start (the command line prints its header there, so that a refusal comes alone).

    Returns
    -------
    ComparisonResult
        Per-strategy measures with intervals, paired differences against the baseline with Holm's
        correction, hazard ratios, the ranking with how often each strategy came first in the
        bootstrap, per-world results and the PRIM boxes.
    """
    from .analysis import load_results
    from .params import check_flags
    from .sweep import run_experiment

    check_flags(fresh=fresh, progress=progress, report=report)  # fresh='no' would count as true and remove the outputs
    if isinstance(comparison, ComparisonSpec) and (seeds is not None or worlds is not None):
        given = " and ".join(f"{k}={v!r}" for k, v in (("seeds", seeds), ("worlds", worlds)) if v is not None)
        raise InputError(f"{given} given with a comparison already loaded ({comparison.seeds} seeds, "
                         f"{comparison.worlds} world{'s' if comparison.worlds != 1 else ''}), which would ignore {'it' if ' and ' not in given else 'them'}; "
                         "give the sizes to load_comparison, or the file's name or path to compare")
    spec = comparison if isinstance(comparison, ComparisonSpec) else load_comparison(comparison, seeds=seeds,
                                                                                   worlds=worlds)
    out_dir = fsutil.check_out_path(out) if out is not None else default_out(spec)
    fsutil.claim(out_dir, "comparison")
    exp = spec.experiment()
    if not fresh:
        check_stored(out_dir, spec, exp)
    t0 = time.perf_counter()
    created = not out_dir.exists()
    fsutil.claim_and_mark(out_dir, "comparison")
    try:
        with fsutil.FolderLock(out_dir, "comparison"):
            if fresh:  # the runs they describe are about to go
                remove_outputs(out_dir)
            runs = out_dir / "runs"
            try:
                sweep = run_experiment(exp, executor=executor, workers=workers, scheduler=scheduler, out=runs,
                                       fresh=fresh, progress=progress, announce=announce)
            except InputError as exc:  # the runs' folder is this comparison's: name the folder the user gave
                said = str(exc)
                if said.startswith(f"--out {runs}: the results there"):
                    raise InputError(said.replace(f"--out {runs}: the results there",
                                                  f"--out {out_dir}: the runs there ({runs})", 1)) from None
                raise
            results = load_results(out_dir / "runs")
            result = analyse(spec, results)
            result.out = out_dir
            result.seconds = time.perf_counter() - t0
            result.command = command_line(spec, Path(out) if out is not None else None)
            result.provenance = _provenance(spec, results, sweep)
            # everything is worked out before anything is written: cut short, the folder keeps
            # the earlier analysis whole
            files = table_files(result)
            keep: set[str] = set()
            if report:
                from .comparison_report import report_files

                files.update(report_files(result))
            elif _same_tables(out_dir, files):  # the report there is still of these numbers
                keep = set(OUTPUT_FILES)
            try:
                write_outputs(out_dir, files, keep=keep)
            except fsutil.StorageError as exc:
                raise _runs_kept(exc, out_dir, spec.n_runs) from None
    except InputError:
        if created and not (out_dir / "runs").exists():  # refused before any run: leave nothing behind
            fsutil.remove_files([out_dir / fsutil.MARKER, out_dir / fsutil.LOCK])
            fsutil.remove_empty_dir(out_dir)
        raise
    return result


def _runs_kept(err: fsutil.StorageError, out: Path, n_runs: int) -> fsutil.StorageError:
    """A file-system fault while writing the analysis, after every run was stored: one line that
    says the runs and the earlier analysis are kept and what running the same command again does."""
    from .sweep import _HINTS

    if err.advised:
        return err
    hint = _HINTS.get(err.errno or 0, "fix the cause")
    return fsutil.StorageError(f"{err}; all {n_runs:,} runs are saved in {out / 'runs'} and the folder's earlier tables "
                               f"and report, if any, are unchanged: {hint} and run the same command again (the runs "
                               "are not run again)", err.errno)


def check_stored(out_dir: Path, spec: ComparisonSpec, exp: Experiment) -> None:
    """Refuse, before anything runs, runs stored for another version of this comparison (other
    sizes, or the file changed since): resuming would mix them. ``--fresh`` runs it again."""
    import json

    path = out_dir / "runs" / "manifest.json"
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # nothing stored (or the runner will say what is wrong with it)
    if not isinstance(old, dict) or old.get("experiment_digest") in (None, exp.digest()):
        return
    # the sizes they were run for, as the experiment made from the comparison recorded them
    # (:meth:`ComparisonSpec.experiment`): its design points cannot say how many strategies there were
    text = old.get("experiment_text")
    try:
        made = json.loads(text.split("\n", 1)[1]) if isinstance(text, str) and "\n" in text else None
    except ValueError:
        made = None
    sizes = ""
    if isinstance(made, dict) and all(isinstance(made.get(k), int) and not isinstance(made.get(k), bool)
                                      for k in ("worlds", "seeds")):
        def n(k: int, noun: str) -> str:
            return f"{k:,} {noun}{'' if k == 1 else 's'}"

        sizes = (f" ({n(made['worlds'], 'world')} x {n(made['seeds'], 'seed')}; now "
                 f"{n(spec.worlds, 'world')} x {n(spec.seeds, 'seed')})")
    raise InputError(f"{out_dir}: holds the runs of another version of this comparison{sizes}: other sizes, its "
                     "strategies, conditions, seeds or scenario changed since, or an earlier version of peacesim stored "
                     "them; use --fresh to run it again, or --out to choose another folder")


def _where_file(path: str) -> str:
    """A comparison file as the report names it: a shipped one by its place in the project, a
    user's by its absolute path (the folder it was run from is not in the report)."""
    if not path:
        return ""
    p = Path(path).resolve()
    shipped = comparison_dir().resolve()
    if p.parent == shipped:
        return f"experiments/compare/{p.name} (shipped with peacesim)"
    return str(p)


def _provenance(spec: ComparisonSpec, results: Results, sweep) -> dict[str, Any]:
    import hashlib

    m = results.manifest
    return {"peacesim_version": m.get("peacesim_version"), "git_commit": m.get("git_commit"),
            "git_dirty": m.get("git_dirty"),
            "comparison_file": _where_file(spec.path),
            "comparison_sha256": hashlib.sha256(spec.text.encode()).hexdigest() if spec.text else "",
            "scenario": spec.scenario.name, "scenario_file": spec.scenario_path,
            "model_digest": m.get("model_digest"), "experiment_digest": m.get("experiment_digest"),
            "runs_folder": str(results.path), "runs_this_session": getattr(sweep, "ran", None),
            "run_seconds_this_session": round(float(getattr(sweep, "seconds", 0.0)), 1)}
