"""Interventions: what a facilitator, a scenario file, an experiment or a script can do to a
running process, declared once like the parameters.

Each :class:`Intervention` names its arguments (as registry :class:`~peacesim.params.Param`
entries: type, bounds, default, meaning), says what it does and where in the source documents
it comes from. Every entry point reads this module:

- Python: ``model.intervene(kind, **arguments)`` between steps;
- scenario and experiment files: ``[[intervention]]`` tables with ``month``, ``kind`` and the
  arguments (an experiment can vary ``intervention.LABEL.FIELD`` like any factor);
- the command line: ``peacesim run SCENARIO --intervene MONTH:KIND[:ARG=VALUE,...]``;
- ``peacesim interventions`` lists them; docs/ODD.md's table is generated from them.

An intervention planned for month *m* takes effect at the start of month *m*, before any of that
month's submodels, exactly as ``model.intervene`` called after *m* − 1 steps. The model applies
it (:meth:`peacesim.model.PeaceModel.intervene`) and logs it as an ``intervention`` event.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import InputError
from .events import check_name, name_key
from .params import (ACTOR_FIELDS, COORDINATION_STRATEGIES, REGISTRY, Param, Typed, as_whole, check, did_you_mean,
                     misspelt)
from .words import words

__all__ = [
    "Intervention",
    "INTERVENTIONS",
    "Planned",
    "parse_plan",
    "parse_cli",
    "check_plan",
    "check_arguments",
    "Roster",
    "CLI_SYNTAX",
    "MEDIATOR_ARGUMENTS",
    "mediator_spec",
    "FIXED_AT_START",
    "resolve_name",
    "labelled",
    "override",
    "as_plan",
]

#: Model-wide parameters an intervention may not change: they shape the run from its start.
FIXED_AT_START = {"months": "the horizon is fixed when the run starts",
                  "mediators": "the number of mediators is set at the start; use add_mediator or withdraw"}

CLI_SYNTAX = "MONTH:KIND[:ARG=VALUE,ARG=VALUE...]"

#: add_mediator's arguments are the fields of a [[mediator]] entry, except that the field ``kind``
#: (un, state, regional, ngo, insider) is called ``organisation``: ``kind`` names the intervention.
MEDIATOR_ARGUMENTS = {"kind": "organisation"}


def _arg(name: str, default: Any, low=None, high=None, meaning: str = "", kind: str | None = None,
         choices: tuple = (), required: bool = False, marker: tuple | None = None) -> Param:
    if kind is None:
        kind = ("bool" if isinstance(default, bool) else "int" if isinstance(default, int)
                else "float" if isinstance(default, float) else "str")
    return Param(name, default, kind, low, high, "", meaning, tuple(choices), "", required, marker)


@dataclass(frozen=True)
class Intervention:
    """One kind of intervention: its arguments, what it does, and its source.

    ``roles`` says, for each argument that names an actor, which actors it may name: ``party``,
    ``spoiler``, ``mediator``, ``diplomat`` or ``local`` (a ``[[local]]`` entry of the scenario).
    """

    kind: str
    meaning: str
    source: str
    args: dict[str, Param] = field(default_factory=dict)
    roles: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``apply(model, arguments, month) -> (actors, effect)``: carries the intervention out through
    #: the model's operations and says whom it concerned and what it changed (for the event).
    apply: Callable[[Any, dict[str, Any], int], tuple[tuple[str, ...], dict[str, Any]]] | None = None

    def usage(self) -> str:
        """``KIND:ARG=VALUE,...`` with the required arguments, for messages and help."""
        req = [f"{a}=..." for a, p in self.args.items() if p.required]
        return self.kind + (":" + ",".join(req) if req else "")


_ACTOR = "name of the actor (as in the scenario; a leading 'the' may be left out)"
_THIRD = ("mediator", "diplomat")

# ------------------------------------------------------------------------------------------ what each does
def _rotate(model, a, month):
    tp = model.actor(a["actor"])
    model.rotate(tp, month)
    return (tp.name,), {}


def _cut_funding(model, a, month):
    tp = model.actor(a["actor"])
    model.cut_funding(tp, month, a["months"])
    return (tp.name,), {}


def _restore_funding(model, a, month):
    tp = model.actor(a["actor"])
    was = tp.active
    model.restore_funding(tp, month)
    return (tp.name,), {"was_funded": was}


def _add_mediator(model, a, month):
    return (model.add_mediator(a, month).name,), {}


def _withdraw(model, a, month):
    tp = model.actor(a["actor"])
    model.withdraw(tp)
    return (tp.name,), {}


def _coordination(model, a, month):
    return (), {"was": model.set_parameter("coordination", a["strategy"])}


def _attack(model, a, month):
    s = model.actor(a["spoiler"]) if a["spoiler"] else max(model.spoilers, key=lambda x: x.capacity)
    model.stage_attack(s, month)
    return (s.name,), {}


def _campaign(kind):
    def apply(model, a, month):
        q = model.actor(a["party"])
        model.start_campaign(kind, q, a["strength"], month, a["months"])
        return (q.name,), {}
    return apply


def _local(kind):
    def apply(model, a, month):
        act = model.local.link if kind == "link_local" else model.local.protect
        return (), {"done": len(act(a["count"], a["group"]))}
    return apply


def _set(model, a, month):
    return (), {"was": model.set_parameter(a["name"], a["value"])}


#: Every intervention, by kind.
INTERVENTIONS: dict[str, Intervention] = {i.kind: i for i in [
    Intervention(
        "rotate", "the person in a mediator's or diplomat's post is replaced now, before the end of the posting; "
        "the successor keeps the share of relationship capital a rotation keeps (ODD 7.3)",
        "seed 003, Challenge 2 and note 20 (mediators and diplomats change after two, three, four years)",
        {"actor": _arg("actor", "", meaning=_ACTOR, required=True)}, {"actor": _THIRD}, apply=_rotate),
    Intervention(
        "cut_funding", "a third party's money stops now: it is inactive for `months` months (0: until "
        "restore_funding), and relationships with it fade meanwhile (ODD 7.4)",
        "seed 003, Challenge 2 (short project funding; future funds are not a given); seed 000 recommendation 3",
        {"actor": _arg("actor", "", meaning=_ACTOR, required=True),
         "months": _arg("months", 0, 0, 600, "months without money; 0 until restored")}, {"actor": _THIRD},
        apply=_cut_funding),
    Intervention(
        "restore_funding", "a third party's funding gap ends now; a project-funded actor gets a fresh grant",
        "seed 003, recommendation 8 (long-term and flexible funding)",
        {"actor": _arg("actor", "", meaning=_ACTOR, required=True)}, {"actor": _THIRD}, apply=_restore_funding),
    Intervention(
        "add_mediator", "a new mediator joins the field now, with the fields of a [[mediator]] entry; its envoy "
        "arrives with newcomer knowledge; a new lead (lead = true) takes the lead over",
        "seed 003, Challenge 1 (a competitive marketplace: more and more actors offer mediation)",
        {MEDIATOR_ARGUMENTS.get(name, name): _arg(MEDIATOR_ARGUMENTS.get(name, name), p.default, p.low, p.high,
                                                   p.meaning, p.kind, p.choices, p.required, p.marker)
         for name, p in ACTOR_FIELDS["mediator"].items()}, {}, apply=_add_mediator),
    Intervention(
        "withdraw", "a mediator or diplomat leaves the field for good: its post stays vacant and relationships "
        "with it fade",
        "seed 003, Rationale and recommendation 1 (clarity of roles; fewer, better coordinated actors)",
        {"actor": _arg("actor", "", meaning=_ACTOR, required=True)}, {"actor": _THIRD}, apply=_withdraw),
    Intervention(
        "coordination", "the third parties switch to another coordination strategy from now on (ODD 7.5)",
        "seed 003, Rationale (hierarchical versus network coordination) and the Mindanao contact group",
        {"strategy": _arg("strategy", "hierarchical", meaning="the new strategy", kind="choice",
                          choices=COORDINATION_STRATEGIES, required=True)}, {}, apply=_coordination),
    Intervention(
        "attack", "a spoiler carries out an attack now (a crisis to respond to); it may or may not be attributed "
        "(ODD 7.6)",
        "Stedman 1997 (seed 001); Kydd & Walter 2002 (attacks when trust is fragile)",
        {"spoiler": _arg("spoiler", "", meaning="name of the spoiler; '' for the one with the most capacity")},
        {"spoiler": ("spoiler",)}, apply=_attack),
    Intervention(
        "pressure", "diplomatic pressure (sanctions, public statements) on a party for some months: pain of "
        "pressure_rate · strength a month while there is war (ODD 7.7)",
        "seed 003, Opportunity 3 (diplomats maintain pressure); seed 001 (agreements signed under international pressure)",
        {"party": _arg("party", "", meaning=_ACTOR, required=True),
         "strength": _arg("strength", 0.5, 0.0, 1.0, "pressure as a share of a full-leverage diplomat's"),
         "months": _arg("months", 6, 1, 600, "months the pressure lasts")}, {"party": ("party",)},
        apply=_campaign("pressure")),
    Intervention(
        "incentives", "incentives (aid, guarantees, good offices) offered to a party for some months: they add "
        "`strength` to its incentives, part of its perceived way out (ODD 7.1, 7.7)",
        "seed 003, Opportunity 3 ((economic) incentives, good offices, venues)",
        {"party": _arg("party", "", meaning=_ACTOR, required=True),
         "strength": _arg("strength", 0.5, 0.0, 1.0, "incentives on the 0-1 scale of the way out"),
         "months": _arg("months", 6, 1, 600, "months the incentives last")}, {"party": ("party",)},
        apply=_campaign("incentives")),
    Intervention(
        "link_local", "local mechanisms not yet linked are linked to the national process now, in the order of "
        "the scenario (ODD 7.8)",
        "seed 000 recommendation 5 (links to regional and local mechanisms); seed 003, Mali",
        {"count": _arg("count", 1, 1, 100000, "how many mechanisms to link"),
         "group": _arg("group", "", meaning="name of a [[local]] entry; '' for any")}, {"group": ("local",)},
        apply=_local("link_local")),
    Intervention(
        "protect_local", "local mechanisms are given protection now (linked ones first), so spoilers no longer "
        "target them (ODD 7.8)",
        "seed 003, Challenge 4 (civil society drawn into national dialogues faced security threats: Colombia, Syria)",
        {"count": _arg("count", 0, 0, 100000, "how many mechanisms to protect; 0 for all"),
         "group": _arg("group", "", meaning="name of a [[local]] entry; '' for any")}, {"group": ("local",)},
        apply=_local("protect_local")),
    Intervention(
        "set", "a model-wide parameter takes a new value from now on (for example post_signature_support)",
        "the parameter registry (docs/ODD.md section 8); funding after signature: seed 003 recommendation 8",
        {"name": _arg("name", "", meaning="a model-wide parameter (see 'peacesim params')", required=True),
         "value": _arg("value", "", meaning="its new value, within the parameter's bounds", required=True)}, {},
        apply=_set),
]}


# ------------------------------------------------------------------------------------------ roster
class Roster:
    """The actors a plan of interventions may name, as they are at a given point of the plan."""

    def __init__(self, actors: Mapping[str, list[dict[str, Any]]]):
        self.names: dict[str, list[str]] = {k: [a["name"] for a in actors.get(k, [])] for k in
                                             ("party", "spoiler", "mediator", "diplomat")}
        self.names["local"] = list(dict.fromkeys(a["name"] for a in actors.get("local", [])))
        self.withdrawn: set[str] = set()

    def all_names(self) -> set[str]:
        return {n for k in ("party", "spoiler", "mediator", "diplomat") for n in self.names[k]}

    def candidates(self, roles: tuple[str, ...]) -> list[str]:
        return [n for r in roles for n in self.names[r]]

    def after(self, kind: str, args: dict[str, Any]) -> None:
        """Update the roster for an intervention that adds or removes an actor."""
        if kind == "add_mediator":
            self.names["mediator"].append(args["name"])
        elif kind == "withdraw":
            self.withdrawn.add(args["actor"])


def resolve_name(given: str, candidates: list[str]) -> str | None:
    """The candidate ``given`` names: exactly, ignoring case, or without a leading article."""
    if given in candidates:
        return given
    key = name_key(given)
    found = [c for c in candidates if name_key(c) == key]
    return found[0] if len(found) == 1 else None


def name_suggestion(given: Any, candidates: list[str]) -> str:
    """' (did you mean 'the government'?)' for a misspelt actor's name ('goverment'): the closest
    candidate, compared without case and leading article; '' when none is close."""
    if not isinstance(given, str):
        return ""
    keys = {name_key(c): c for c in candidates}
    close = difflib.get_close_matches(name_key(given), list(keys), n=1)
    return f" (did you mean {keys[close[0]]!r}?)" if close else ""


def check_arguments(kind: str, raw: Mapping[str, Any], *, where: str, roster: Roster | None = None,
                    params: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate one intervention's arguments; return them complete (defaults filled) and typed.

    ``roster`` (when given) checks names of actors; ``params`` (the run's parameters) checks a
    ``set`` value against the registry. Errors are one line naming ``where``, the field, the value
    and what is allowed.
    """
    spec = INTERVENTIONS.get(kind)
    if spec is None:
        raise InputError(f"{where}: kind = {words(kind)} is not an intervention{did_you_mean(str(kind), INTERVENTIONS)}; "
                         f"allowed: {', '.join(INTERVENTIONS)}")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        p = spec.args.get(name)
        if p is None:
            allowed = ", ".join(spec.args) or "none"
            raise InputError(f"{where}: {kind} has no argument {words(name)}{did_you_mean(name, spec.args)}; "
                             f"allowed: {allowed}")
        if kind == "set" and name == "value":
            out[name] = value
            continue
        out[name] = check(p, value, where=f"{where}: {kind}")
    for name, p in spec.args.items():
        if name not in out:
            if p.required:
                raise InputError(f"{where}: {kind} needs {name} = ... ({p.meaning})")
            out[name] = p.default
    if kind == "set":
        out = _check_set(out, where=where)
    if kind == "add_mediator":
        out = _check_new_mediator(out, where=where, roster=roster)
    if roster is not None:
        for name, roles in spec.roles.items():
            given = out[name]
            if given == "" and not spec.args[name].required:
                if name == "spoiler" and not roster.names["spoiler"]:
                    raise InputError(f"{where}: attack: the scenario has no spoiler")
                continue
            candidates = roster.candidates(roles)
            found = resolve_name(given, candidates)
            if found is None:
                what = " or ".join(roles) if roles != ("local",) else "[[local]] entry"
                listed = ", ".join(repr(c) for c in candidates) or "none in this scenario"
                raise InputError(f"{where}: {kind}: {name} = {words(given)} is not a {what} of the scenario"
                                 f"{name_suggestion(given, candidates)}; allowed: {listed}")
            if found in roster.withdrawn:
                raise InputError(f"{where}: {kind}: {name} = {words(given)} has withdrawn from the field earlier")
            out[name] = found
    return out


def _check_set(args: dict[str, Any], *, where: str) -> dict[str, Any]:
    name = args["name"]
    p = REGISTRY.get(name)
    if p is None:
        raise InputError(f"{where}: set: name = {words(name)} is not a model-wide parameter{did_you_mean(name, REGISTRY)}; "
                         "see 'peacesim params'")
    if name in FIXED_AT_START:
        raise InputError(f"{where}: set: name = {words(name)} cannot change during a run: {FIXED_AT_START[name]}")
    return {"name": name, "value": check(p, args["value"], where=f"{where}: set")}


def _check_new_mediator(args: dict[str, Any], *, where: str, roster: Roster | None) -> dict[str, Any]:
    if not args["name"].strip():
        raise InputError(f"{where}: add_mediator needs name = ... (a name not used by another actor)")
    check_name(args["name"], f"{where}: add_mediator")
    if roster is not None:
        taken = roster.all_names() | set(roster.names["local"])  # local mechanisms' names too, as in a file
        if args["name"] in taken:
            raise InputError(f"{where}: add_mediator: name = {words(args['name'])} is already an actor's name; "
                             "actor names must be unique")
        close = resolve_name(args["name"], sorted(taken))
        if close is not None:
            raise InputError(f"{where}: add_mediator: name = {words(args['name'])} is too close to the actor "
                             f"{close!r}: interventions find actors by name ignoring case and a leading article, "
                             "so the two could not be told apart; choose another name")
        if args["bias_toward"]:
            found = resolve_name(args["bias_toward"], roster.names["party"])
            if found is None:
                listed = ", ".join(repr(c) for c in roster.names["party"])
                raise InputError(f"{where}: add_mediator: bias_toward = {words(args['bias_toward'])} is not a party"
                                 f"{name_suggestion(args['bias_toward'], roster.names['party'])}; "
                                 f"allowed: '' or one of {listed}")
            args["bias_toward"] = found
    return args


# ------------------------------------------------------------------------------------------ plans
@dataclass(frozen=True)
class Planned:
    """An intervention planned for a month: ``label`` names it for an experiment's factors
    (``intervention.LABEL.month``), ``enabled = false`` leaves it out."""

    month: int
    kind: str
    args: dict[str, Any]
    label: str = ""
    enabled: bool = True
    origin: str = ""  # where it was planned (a file, an --intervene text), for messages

    def as_dict(self) -> dict[str, Any]:
        """As a ``[[intervention]]`` table (and in outcome.json)."""
        out: dict[str, Any] = {"month": self.month, "kind": self.kind, **self.args}
        if self.label and self.label != self.kind:
            out["label"] = self.label
        if not self.enabled:
            out["enabled"] = False
        return out

    def cli(self) -> str:
        """The ``--intervene`` text that plans the same intervention."""
        args = ",".join(f"{k}={_cli_value(v)}" for k, v in self.args.items()
                        if v != INTERVENTIONS[self.kind].args[k].default or INTERVENTIONS[self.kind].args[k].required)
        return f"{self.month}:{self.kind}" + (f":{args}" if args else "")


def _cli_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return f"{v:g}" if isinstance(v, float) else str(v)


_MONTH = Param("month", 1, "int", 1, REGISTRY["months"].high, "month", "the month at the start of which it takes effect")
_META = {"month", "kind", "label", "enabled"}


def labelled(plan: Iterable[Planned], *, where: str = "interventions") -> list[Planned]:
    """The plan with every intervention labelled: its own label, else its kind, numbered when a
    kind repeats ('cut_funding', 'cut_funding_2')."""
    out: list[Planned] = []
    seen: dict[str, int] = {}
    for x in plan:
        label = x.label or x.kind
        n = seen.get(label, 0) + 1
        seen[label] = n
        if n > 1 and not x.label:
            label = f"{label}_{n}"
        out.append(Planned(x.month, x.kind, x.args, label, x.enabled, x.origin))
    labels = [x.label for x in out]
    for lab in labels:
        if labels.count(lab) > 1:
            raise InputError(f"{where}: intervention label {lab!r} is used twice; labels must be unique")
    return out


def parse_plan(entries: Any, *, where: str) -> list[Planned]:
    """``[[intervention]]`` tables from a scenario or experiment file, checked for kind,
    arguments and types (actor names and the horizon are checked against the run: :func:`check_plan`)."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise InputError(f"{where}: intervention must be written as [[intervention]] tables")
    plan = []
    for i, e in enumerate(entries):
        label = f"{where}: intervention #{i + 1}"
        for key, what in (("kind", f"; allowed: {', '.join(INTERVENTIONS)}"),
                          ("month", " (the month at the start of which it takes effect)")):
            if key not in e:
                spec = INTERVENTIONS.get(e.get("kind")) if isinstance(e.get("kind"), str) else None
                near = misspelt(e, key, known={*_META, *(spec.args if spec else ())})  # real arguments are no typos
                typed = f" ({near} = {words(e[near])} is there: a misspelling of {key}?)" if near else ""
                raise InputError(f"{label}: missing {key} = ...{typed}{what}")
        month = check(_MONTH, e["month"], where=label)
        kind = e["kind"]
        if not isinstance(kind, str):
            raise InputError(f"{label}: kind = {words(kind)} must be a text; allowed: {', '.join(INTERVENTIONS)}")
        tag = e.get("label", "")
        if not isinstance(tag, str) or (tag and not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", tag)):
            raise InputError(f"{label}: label = {words(tag)} must be a word of letters, digits, '_' or '-'")
        enabled = e.get("enabled", True)
        if not isinstance(enabled, bool):
            raise InputError(f"{label}: enabled = {words(enabled)} is not allowed; expected true or false")
        args = {k: v for k, v in e.items() if k not in _META}
        spec = INTERVENTIONS.get(kind)
        for k in args if spec is not None else ():
            if k not in spec.args:  # a misspelt month, label or enabled is suggested too
                allowed = [*spec.args, *sorted(_META)]
                raise InputError(f"{label} (month {month}): {kind} has no argument {words(k)}{did_you_mean(k, allowed)}; "
                                 f"allowed: {', '.join(allowed)}")
        plan.append(Planned(month, kind, check_arguments(kind, args, where=f"{label} (month {month})"), tag, enabled,
                            where))
    return plan


def override(plan: list[Planned], name: str, value: Any, *, where: str) -> list[Planned]:
    """The plan with ``intervention.LABEL.FIELD = value`` applied: FIELD is ``month``,
    ``enabled`` or one of the intervention's arguments."""
    parts = name.split(".")
    labels = [x.label for x in plan]
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise InputError(f"{where}: {name!r} is not of the form intervention.LABEL.FIELD")
    _, label, fname = parts
    if label not in labels:
        listed = ", ".join(repr(x) for x in labels) or "none (the scenario plans no intervention)"
        raise InputError(f"{where}: {name}: no intervention is labelled {label!r}; labels: {listed}")
    k = labels.index(label)
    x = plan[k]
    if fname == "month":
        new = Planned(check(_MONTH, value, where=f"{where}: {name}"), x.kind, x.args, x.label, x.enabled, where)
    elif fname == "enabled":
        p = Param("enabled", True, "bool", meaning="whether the intervention is applied")
        new = Planned(x.month, x.kind, x.args, x.label, check(p, value, where=f"{where}: {name}"), where)
    else:
        args = check_arguments(x.kind, {**x.args, fname: value}, where=f"{where}: {name}")
        new = Planned(x.month, x.kind, args, x.label, x.enabled, where)
    return [*plan[:k], new, *plan[k + 1:]]


#: Longest ``--intervene`` text quoted whole in a message, in characters.
_ECHO = 120


def parse_cli(text: str, *, where: str = "--intervene") -> Planned:
    """One ``--intervene MONTH:KIND[:ARG=VALUE,...]`` text (actor names may contain spaces)."""
    parts = text.split(":", 2)
    # the text as typed, its start only when it is longer than any intervention needs
    show = f"{where} {text!r}" if len(text) <= _ECHO else f"{where} {text[:_ECHO]!r}... ({len(text):,} characters)"
    if len(parts) < 2 or not parts[0].strip() or not parts[1].strip():
        raise InputError(f"{show} is not of the form {CLI_SYNTAX}, e.g. 24:rotate:actor=the UN envoy")
    first = parts[0].strip()
    if re.fullmatch(r"-?[0-9]+", first) and int(first) < 1:  # the horizon is not known here: no upper bound to quote
        raise InputError(f"{show}: month = {first} is not allowed; months count from 1, the run's first month, to "
                         "its horizon")
    month = check(_MONTH, Typed(first), where=show)
    kind = parts[1].strip()
    args: dict[str, Any] = {}
    if len(parts) == 3 and parts[2].strip():
        for item in parts[2].split(","):
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                hint = ""
                if not sep and args:  # a value that held a comma, as in an actor's name 'the NGO, Inc'
                    last = next(reversed(args))
                    hint = (f" (commas separate the arguments, so {last} = {f'{args[last]},{item}'.strip()!r} cannot "
                            "be given here: name such an actor in an [[intervention]] table of the scenario file "
                            "or from Python)")
                raise InputError(f"{show}: {words(item.strip())} is not of the form ARG=VALUE{hint}")
            if name.strip() in args:
                raise InputError(f"{show}: {name.strip()} is given twice; give each argument once")
            args[name.strip()] = Typed(value.strip())
    return Planned(month, kind, check_arguments(kind, args, where=f"{show} (month {month})"), origin=show)


#: Kinds whose second intervention in one month on the same target replaces the first's effect:
#: kind -> the argument that names the target ('' for the whole model).
_LAST_WINS = {"cut_funding": "actor", "coordination": "", "set": "name"}


def check_plan(plan: Iterable[Planned], actors: Mapping[str, list[dict[str, Any]]], months: int, *,
               where: str, notes: bool = False) -> list[Planned]:
    """Check a plan against the run: every month within the horizon, every actor named exists at
    that point of the plan (mediators added earlier count, withdrawn ones do not). Returns the
    enabled interventions in the order they take effect (by month, then as listed).

    ``notes``: say (an :class:`~peacesim.errors.InputNote`) where two interventions in one month
    set the same thing (a funding cut of one actor, the coordination strategy, one parameter), so
    that only the last listed counts."""
    dated = []
    for x in plan:
        if not x.enabled:
            continue
        label = f"{x.origin or where}: intervention {x.label or x.kind!r} (month {words(x.month)}, {x.kind})"
        month = as_whole(x.month)
        if month is None or month < 1:
            raise InputError(f"{label}: month = {words(x.month)} is not allowed; expected a whole number from 1 to "
                             f"{months}")
        if month > months:
            raise InputError(f"{label}: month = {month} is past the horizon; allowed: 1 to {months}")
        dated.append((month, label, x))
    dated.sort(key=lambda d: d[0])  # stable: as listed within a month
    roster = Roster(actors)
    out = []
    labels = []
    for month, label, x in dated:
        args = check_arguments(x.kind, x.args, where=label, roster=roster)
        roster.after(x.kind, args)
        out.append(Planned(month, x.kind, args, x.label, x.enabled, x.origin))
        labels.append(label)
    if notes:
        _note_replaced(out, labels)
    return out


def _note_replaced(plan: list[Planned], labels: list[str]) -> None:
    """An InputNote for each set of interventions in one month of which only the last counts."""
    import warnings

    from .errors import InputNote

    same: dict[tuple, list[int]] = {}
    for i, x in enumerate(plan):
        if x.kind in _LAST_WINS:
            # what it sets: a 'set' of the coordination parameter sets what 'coordination' does
            what = ("coordination", "") if x.kind == "set" and x.args.get("name") == "coordination" else (
                x.kind, x.args.get(_LAST_WINS[x.kind], ""))
            same.setdefault((x.month, *what), []).append(i)
    for (month, kind, target), at in same.items():
        if len(at) > 1:
            what = (f"funding cuts of {target!r}" if kind == "cut_funding" else f"settings of {target}" if kind == "set"
                    else "changes of the coordination strategy")
            warnings.warn(f"{labels[at[-1]]}: {len(at)} {what} in month {month}; only the last listed takes effect "
                          "(give one, or put them in different months)", InputNote, stacklevel=3)


def as_plan(items: Iterable[Planned | Mapping[str, Any] | str] | None, *, where: str = "interventions") -> list[Planned]:
    """Interventions given from Python: :class:`Planned` objects, ``[[intervention]]``-like dicts
    (``{"month": 24, "kind": "rotate", "actor": "the UN envoy"}``) or ``--intervene`` texts."""
    out: list[Planned] = []
    if isinstance(items, (str, Mapping, Planned)):  # one intervention given on its own
        items = [items]
    elif items is not None and (isinstance(items, (bytes, bytearray)) or not isinstance(items, Iterable)):
        raise InputError(f"{where} = {words(items)} is not allowed; expected a list of interventions: dicts with "
                         f"month and kind, or texts {CLI_SYNTAX}")
    for item in items or ():
        if isinstance(item, Planned):
            out.append(item if item.origin else replace(item, origin=where))
        elif isinstance(item, str):
            out.append(parse_cli(item, where=where))
        elif isinstance(item, Mapping):
            out += parse_plan([dict(item)], where=where)
        else:
            raise InputError(f"{where}: {item!r} is not an intervention; give a dict with month and kind, "
                             f"or a text {CLI_SYNTAX}")
    return out


def mediator_spec(args: Mapping[str, Any]) -> dict[str, Any]:
    """A [[mediator]] entry from add_mediator's arguments."""
    back = {v: k for k, v in MEDIATOR_ARGUMENTS.items()}
    return {back.get(k, k): v for k, v in args.items()}
