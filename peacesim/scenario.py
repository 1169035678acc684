"""Scenario files: reading, validating against the registry, and applying overrides.

A scenario is a TOML file with a ``[scenario]`` table (title, description, learning points,
sources), a ``[parameters]`` table of model-wide overrides, arrays of tables for the actors:
``[[party]]``, ``[[spoiler]]``, ``[[mediator]]``, ``[[diplomat]]`` and ``[[local]]``, and optionally
``[[intervention]]`` tables planning interventions by month (:mod:`peacesim.interventions`). Every
value is checked against :mod:`peacesim.params`; an error names the file, the field, the value and
what is allowed.
"""

from __future__ import annotations

import copy
import os
import pickle
import re
import tomllib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InputError, InputNote
from .events import check_name, name_key
from .interventions import Planned, labelled, name_suggestion, override, parse_plan
from .params import ACTOR_FIELDS, REGISTRY, check, defaults, did_you_mean, parse_assignment
from .words import INVISIBLE, REORDERING, control, cut, words

__all__ = ["Scenario", "load_scenario", "scenario_dir", "list_scenarios", "resolve_scenario", "prepare", "Overlap",
           "overlap", "first_overlap", "fixed_overlap", "setting_subject"]

_META_FIELDS = {"name", "title", "description", "learning_points", "sources", "note", "seed"}


def scenario_dir() -> Path:
    """The folder of shipped scenarios (``scenarios/`` at the project root, or packaged copies)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "scenarios", here / "scenarios"):
        if candidate.is_dir():
            return candidate
    return here.parent / "scenarios"


@dataclass
class Scenario:
    """A validated scenario: metadata, model-wide parameters and the actors by kind."""

    name: str
    title: str
    description: str
    params: dict[str, Any]
    actors: dict[str, list[dict[str, Any]]]
    learning_points: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    note: str = ""
    path: str = ""
    interventions: list[Planned] = field(default_factory=list)
    #: the seed ``peacesim run`` and the dashboard use for this file when none is given (a
    #: dashboard session's file carries its own, so that it re-runs the session as it is)
    seed: int | None = None

    def with_overrides(self, overrides: dict[str, Any] | list[str] | None, *, where: str = "overrides") -> Scenario:
        """A copy with overrides applied and validated (the scenario itself when there are none).

        ``overrides`` maps a parameter name to a value, or is a list of ``name=value`` texts.
        A model-wide name (``handover_quality``) sets that parameter; ``KIND.FIELD`` (``mediator.skill``)
        sets the field for every actor of that kind, and ``KIND[N].FIELD`` (``party[1].strength``) for
        the N-th actor of that kind, counting from 1 in the order of the scenario file; both for the
        same field and actor in one set of overrides are refused (:func:`overlap`), as whichever
        came later would silently replace the other. ``intervention.LABEL.FIELD`` sets the month, ``enabled`` or an argument of a planned
        intervention. ``where`` starts an error message: the place the overrides came from (the
        command line passes ``--set``).
        """
        items = override_items(overrides, where=where)
        src = _check_object(self)
        if not items:
            return src
        new = copy.deepcopy(src)
        numbered_mediators = []  # (name, N) of each mediator[N] setting
        for name, value in items:
            if not isinstance(name, str):
                raise InputError(f"{where}: {words(name)} = {words(value)}: a parameter's name must be a text")
            if name.startswith("intervention."):
                new.interventions = override(new.interventions, name, value, where=where)
                continue
            if "." in name:
                kind, _, fname = name.partition(".")
                index = None
                m = re.fullmatch(r"(\w+)\[(\d+)\]", kind)
                if m:
                    kind, index = m.group(1), int(m.group(2))
                spec = actor_field(kind, fname, name, where=where)
                v = check(spec, value, where=where)
                if not new.actors[kind]:
                    raise InputError(f"{where}: {name} = {words(value)}: the scenario has no {kind} actors to set")
                targets = new.actors[kind]
                if index is not None:
                    if not 1 <= index <= len(targets):
                        raise InputError(f"{where}: {name}: the scenario has {len(targets)} {kind} actors; "
                                         f"N must be from 1 to {len(targets)}")
                    targets = [targets[index - 1]]
                    if kind == "mediator":
                        numbered_mediators.append((name, index))
                for actor in targets:
                    actor[fname] = v
                continue
            spec = REGISTRY.get(name)
            if spec is None:
                raise InputError(f"{where}: unknown parameter {words(name)} = {words(value)}{did_you_mean(name, REGISTRY)}; "
                                 "see 'peacesim params' for the list")
            new.params[name] = check(spec, value, where=where)
        clash = first_overlap(name for name, _ in items)
        if clash is not None:
            raise InputError(f"{where}: {clash.refusal()}")
        n = new.params.get("mediators") or 0
        for name, index in numbered_mediators:
            if n and index > n:
                warnings.warn(f"{where}: {name} has no effect: mediators = {n} keeps only the first {n} of the "
                              f"scenario's {len(new.actors['mediator'])} mediators", InputNote, stacklevel=2)
        _check_consistency(new, where=where)
        return mark_checked(new)

    def cast(self) -> Scenario:
        """The scenario with its actors as the model will build them.

        The ``mediators`` parameter, when not 0, sets the number of mediators: the first n of the
        scenario's list, cycling through it with numbered copies ("the mediation NGO 2") when the
        list is shorter. Only the first copy of a designated lead keeps the lead.
        """
        src = _check_object(self)
        n = src.params.get("mediators", 0)
        base = src.actors["mediator"]
        if not n or n == len(base):
            return src
        if not base:
            raise InputError(f"{src.path or src.name}: mediators = {n}: the scenario has no mediator to copy")
        new = copy.deepcopy(src)
        out = []
        taken = {name_key(a["name"]): a["name"] for kind in ("party", "spoiler", "mediator", "diplomat", "local")
                 for a in src.actors[kind]}
        for k in range(n):
            a = dict(base[k % len(base)])
            rnd = k // len(base)
            if rnd:
                a["name"] = f"{a['name']} {rnd + 1}"
                a["lead"] = False
                other = taken.get(name_key(a["name"]))
                if other is not None:
                    same = "which" if other == a["name"] else f"too close to {other!r}, which"
                    raise InputError(f"{src.path or src.name}: mediators = {n} would name a copy {a['name']!r}, "
                                     f"{same} another actor of the scenario is called; rename that actor or set "
                                     "fewer mediators")
                taken[name_key(a["name"])] = a["name"]
            out.append(a)
        dropped_lead = [a["name"] for a in base[n:] if a.get("lead")]
        if dropped_lead:
            warnings.warn(f"{src.path or src.name}: mediators = {n} keeps the first {n} of the scenario's "
                          f"{len(base)} mediators, and its designated lead, {dropped_lead[0]!r}, is not among them: "
                          "the ablest active mediator leads instead", InputNote, stacklevel=2)
        new.actors["mediator"] = out
        return mark_checked(new)

    def counts(self) -> dict[str, int]:
        """How many actors of each kind (local mechanisms counted individually)."""
        out = {k: len(v) for k, v in self.actors.items()}
        out["local"] = sum(a["count"] for a in self.actors["local"])
        return out


def override_items(overrides: Mapping[str, Any] | list[str] | tuple[str, ...] | None, *,
                   where: str = "overrides") -> list[tuple[Any, Any]]:
    """``(name, value)`` pairs from overrides given as a mapping or as ``name=value`` texts; a name
    given twice in the texts is refused (the one given last would silently win)."""
    if isinstance(overrides, Mapping):
        return list(overrides.items())
    if overrides is not None and not isinstance(overrides, (list, tuple)):
        raise InputError(f"{where}: overrides = {words(overrides)} is not allowed; expected a mapping of names "
                         "to values or a list of 'name=value' texts")
    items = [_assignment(t, where) for t in overrides or ()]
    seen: dict[str, str] = {}
    for name, value in items:
        if name in seen:
            raise InputError(f"{where}: {name} is given twice ({name}={words(seen[name], typed=True)} and "
                             f"{name}={words(value, typed=True)}); give it once")
        seen[name] = value
    return items


#: An actor setting: ``KIND.FIELD`` (every actor of the kind) or ``KIND[N].FIELD`` (the N-th).
ACTOR_SETTING = re.compile(r"(\w+)(?:\[(\d+)\])?\.(\w+)")


def setting_subject(name: str) -> str:
    """``mediator[2].lead`` -> ``mediator.lead``: what a setting is about, whichever actor (a
    model-wide name is its own)."""
    m = ACTOR_SETTING.fullmatch(name)
    return f"{m.group(1)}.{m.group(3)}" if m else name


@dataclass(frozen=True)
class Overlap:
    """Two actor settings, as written, that set the same field of the same actor."""

    first: str
    second: str
    kind: str
    index: int
    field: str

    @property
    def what(self) -> str:
        """What both set, in words: ``party 1's strength``."""
        return f"{self.kind} {self.index}'s {self.field}"

    @property
    def hint(self) -> str:
        """How to give one actor a value of its own beside the others' (when one of the two is
        ``KIND.FIELD``), or ''."""
        if "[" in self.first and "[" in self.second:
            return ""
        return f" (or set each {self.kind} by number: {self.kind}[N].{self.field})"

    def refusal(self) -> str:
        return f"{self.first} and {self.second} both set {self.what}; give one of them{self.hint}"


def overlap(a: Any, b: Any, scenario: Scenario | None = None) -> Overlap | None:
    """Whether the settings ``a`` and ``b`` set the same field of the same actor: one is
    ``KIND.FIELD`` (every actor of the kind) and the other ``KIND[N].FIELD`` (the N-th), or both
    name the same actor in two ways (``party[1]``, ``party[01]``). Applied together, the one applied
    later would silently replace the other, so wherever settings come together (``--set``, a file's
    ``[parameters]``, a design point, a sensitivity analysis's factors) such a pair is refused.

    None when they set different things or are the same name (refused where names repeat), and when
    one is not a setting of an actor field the overrides can set or, with ``scenario``, N is not one
    of its actors of the kind: those are refused, in their own words, where the settings are applied.
    """
    if not isinstance(a, str) or not isinstance(b, str) or a == b:
        return None
    ma, mb = ACTOR_SETTING.fullmatch(a), ACTOR_SETTING.fullmatch(b)
    if ma is None or mb is None or setting_subject(a) != setting_subject(b):
        return None
    kind, fname = ma.group(1), ma.group(3)
    if kind not in ACTOR_FIELDS or fname not in ACTOR_FIELDS[kind] or fname in ("name", "count"):
        return None
    ia, ib = (int(m.group(2)) if m.group(2) is not None else None for m in (ma, mb))
    if ia is not None and ib is not None and ia != ib:
        return None
    index = ia if ia is not None else ib
    if index is None:  # pragma: no cover - two different names cannot both be KIND.FIELD of one field
        return None
    if scenario is not None and not 1 <= index <= len(scenario.actors.get(kind, ())):
        return None
    return Overlap(a, b, kind, index, fname)


def fixed_overlap(fixed: Mapping[str, Any], varied: Iterable[Any],
                  scenario: Scenario | None = None) -> tuple[str, Any, str, Overlap] | None:
    """The first setting of ``varied`` that sets the same actor field as one of ``fixed`` (a file's
    ``[parameters]``), as ``(fixed name, its value, varied name, overlap)``; None when there is none."""
    for name in varied:
        for held, value in fixed.items():
            found = overlap(held, name, scenario)
            if found is not None:
                return held, value, name, found
    return None


def first_overlap(names: Iterable[Any], scenario: Scenario | None = None) -> Overlap | None:
    """The first pair of ``names`` (settings given together) that set the same field of the same
    actor (:func:`overlap`), in the order given; None when there is none."""
    seen: dict[str, list[str]] = {}
    for name in names:
        if not isinstance(name, str):
            continue
        subject = setting_subject(name)
        for earlier in seen.get(subject, ()):
            found = overlap(earlier, name, scenario)
            if found is not None:
                return found
        seen.setdefault(subject, []).append(name)
    return None


def check_months_once(months: Any, overrides: Mapping[str, Any] | list[str] | tuple[str, ...] | None, *,
                      where: str = "months", where_overrides: str = "overrides") -> None:
    """Refuse a horizon given both on its own (``months=``, ``--months``) and among the overrides with
    another value: one of them would silently be ignored."""
    if months is None:
        return
    given = dict(override_items(overrides, where=where_overrides)).get("months")
    if given is None:
        return
    try:
        same = check(REGISTRY["months"], given, where=where_overrides) == check(REGISTRY["months"], months,
                                                                                where=where)
    except InputError:
        return  # a value that is not allowed is refused, in its own words, where it is applied
    if not same:
        alone = (f"{where} {words(months, typed=True)}" if where.startswith("--")
                 else f"{where} = {words(months)}")
        among = (f"{where_overrides} months={words(given, typed=True)}" if where_overrides.startswith("--")
                 else f"{where_overrides} months = {words(given)}")
        raise InputError(f"months is given twice: {alone} and {among}; give it once")


def _assignment(text: str, where: str) -> tuple[str, str]:
    """``name=value`` from the command line; a refusal quotes the text as typed, cut short."""
    if not isinstance(text, str):
        raise InputError(f"{where}: {words(text)} is not of the form name=value (a text)")
    try:
        return parse_assignment(text, where=where)
    except InputError:
        raise InputError(f"{where}: {words(text)} is not of the form name=value") from None


def list_scenarios() -> list[Path]:
    """The shipped scenario files, sorted by name."""
    return sorted(scenario_dir().glob("*.toml"))


def user_path(text: str | os.PathLike) -> Path:
    """A path the user gave (on the command line, in a file or from Python), with ``~`` and
    ``~user`` expanded to the home folder as a shell would: a folder named ``~`` is never made."""
    return Path(os.path.expanduser(os.fspath(text)))


def resolve_input(ref: str | os.PathLike, *, kind: str, shipped: Path, names: list[str], listing: str,
                  base_dir: Path | None = None) -> Path:
    """The file named by ``ref``: a shipped ``kind`` (scenario, experiment, comparison) by its short
    name, the ``.toml`` of that name in ``shipped``, or a path (``~`` expanded; with ``base_dir``,
    the folder of the file that names it, a relative path that does not exist from the current
    folder is taken from there). ``names`` are the shipped short names and ``listing`` the command
    that lists them. Anything else is refused in one line: not a text or a Path, an empty name, an
    unknown short name (with the likely one), a folder, a missing file."""
    if not isinstance(ref, (str, os.PathLike)) or isinstance(os.fspath(ref), bytes):
        raise InputError(f"{kind.split()[-1]} = {words(ref)} is not allowed; expected a shipped {kind}'s short name "
                         f"(see '{listing}') or the path of a TOML file, as a text or a Path")
    text = os.fspath(ref)
    if "\x00" in text:
        raise InputError(f"{kind} {words(text)}: a path cannot hold a NUL character (\\x00); give the path of a "
                         "TOML file")
    if not text.strip():
        raise InputError(f"{kind} {words(text)}: an empty name is not allowed; shipped {kind}s are: "
                         f"{', '.join(names) or 'none'} (or give the path of a TOML file)")
    if is_short_name(ref):
        candidate = shipped / f"{text}.toml"
        if candidate.is_file():
            local = Path(f"{text}.toml")
            if local.is_file() and local.resolve() != candidate.resolve():
                warnings.warn(f"'{text}' is the shipped {kind}; the file {text}.toml in this folder was not read "
                              f"(give its path, ./{text}.toml, to use it)", InputNote, stacklevel=2)
            return candidate
        shown = cut(text, 200) if text == text.strip() else words(text)  # spaces around it: quoted, to be seen
        here = Path(text)
        if text.strip() in names and text != text.strip():
            hint = f"; without the spaces around it, {text.strip()!r} is a shipped {kind}"
        elif here.is_dir():
            hint = f"; {text} in this folder is a folder, not a {kind} file"
        elif here.is_file():
            hint = f"; to read the file {text} in this folder, give its path, ./{text}"
        else:
            hint = did_you_mean(text, names)
        raise InputError(f"{shown}: no such {kind}{hint}; shipped {kind}s are: "
                         f"{', '.join(names) or 'none'} (or give the path of a TOML file)")
    p = user_path(text)
    if base_dir is not None and not p.is_absolute():
        beside = (Path(base_dir) / p).resolve()
        if not p.exists():
            p = beside
        elif beside.is_file() and p.is_file() and beside != p.resolve() and _differ(p, beside):
            # the same command would read another file from another folder, without a word
            raise InputError(f"{cut(text, 200)}: two different {kind} files have this name, {p.resolve()} (from the "
                             f"current folder) and {beside} (beside the file that names it); write the absolute path "
                             "of the one to use")
    shown = cut(text, 200) + (f" ({p})" if str(p) != text else "")
    if p.is_dir():
        article = "an" if kind[0] in "aeiou" else "a"
        raise InputError(f"{shown}: is a folder, not {article} {kind} file; give the path of a .toml file")
    if not p.is_file():
        if p.exists():  # through a link too (/dev/stdin leads to a pipe)
            raise InputError(f"{shown}: is not a plain file (a device or a pipe, say); give the path of a .toml file")
        if p.is_symlink():
            raise InputError(f"{shown}: is a link that leads to no file (or to itself); give the path of a .toml file")
        raise InputError(f"{shown}: {kind} file not found")
    return p


#: Largest input file (scenario, experiment, comparison) read, in bytes.
MAX_INPUT_BYTES = 4 * 2**20


def _differ(a: Path, b: Path) -> bool:
    try:
        return a.read_bytes() != b.read_bytes()
    except OSError:  # one of them cannot be read: the read that follows says so
        return False


def read_input(path: Path) -> str:
    """The text of an input file (a scenario, an experiment), read as UTF-8 (a byte-order mark, which
    Notepad writes, is dropped); a one-line :class:`InputError` naming the file when it cannot be read
    or is not UTF-8 text."""
    try:
        size = Path(path).stat().st_size
        if size > MAX_INPUT_BYTES:  # a text of tens of megabytes is no scenario; wrapping it took minutes
            raise InputError(f"{path}: a file of {size / 2**20:,.1f} MiB is not allowed; an input file is at most "
                             f"{MAX_INPUT_BYTES // 2**20} MiB (the shipped ones are about 10 KiB)")
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise InputError(f"{path}: is a folder, not a file; give the path of a .toml file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}: is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); save the file as "
                         "UTF-8") from None


def is_short_name(ref: str | os.PathLike) -> bool:
    """Whether ``ref`` names a shipped file by its short name (``reference``) rather than a path: no
    ``.toml``, no folder separator, no ``~``, and not a Path to a file that exists."""
    text = os.fspath(ref)
    if Path(text).suffix == ".toml" or "/" in text or "\\" in text or text.startswith("~"):
        return False
    return not (isinstance(ref, os.PathLike) and Path(text).is_file())


def resolve_scenario(ref: str | Path, *, base_dir: Path | None = None) -> Path:
    """Turn a short name (``reference``) or a path into the scenario file's path.

    ``~`` is expanded; with ``base_dir`` (the folder of the file that names the scenario), a relative
    path that does not exist from the current folder is taken from there.
    """
    return resolve_input(ref, kind="scenario", shipped=scenario_dir(), names=[q.stem for q in list_scenarios()],
                         listing="peacesim scenarios", base_dir=base_dir)


def actor_field(kind: str, fname: str, name: str, *, where: str):
    """The registry's spec of actor field ``KIND.FIELD`` that an override may set (``name`` as
    typed, for the error); a one-line error for an unknown kind or field."""
    if kind not in ACTOR_FIELDS:
        indexed = re.fullmatch(r"\s*(\w+)\s*\[(.*)\]\s*\.(.*)", str(name))
        if indexed and indexed.group(1) in ACTOR_FIELDS:  # KIND[N] with an N that is not a whole number
            k, n, f = indexed.groups()
            raise InputError(f"{where}: {words(name)}: {words(n)} is not allowed as the number of a {k}; expected "
                             f"{k}[N].{f} with N a whole number from 1, counting the scenario's [[{k}]] entries in order")
        raise InputError(f"{where}: unknown actor kind {words(kind)} in {words(name)}{did_you_mean(kind, ACTOR_FIELDS)}; "
                         f"allowed: {', '.join(ACTOR_FIELDS)}")
    spec = ACTOR_FIELDS[kind].get(fname)
    if spec is None or fname in ("name", "count"):
        settable = [f for f in ACTOR_FIELDS[kind] if f not in ("name", "count")]
        why = (f" ({fname} is set only in the scenario file)" if fname in ACTOR_FIELDS[kind]
               else did_you_mean(fname, settable))
        raise InputError(f"{where}: unknown field {words(fname)} for {kind}{why}; allowed: {', '.join(settable)}")
    return spec


def load_scenario(ref: str | Path | Scenario) -> Scenario:
    """Read and validate a scenario by short name, path or (passed through) Scenario object."""
    if isinstance(ref, Scenario):
        return _check_object(ref)
    path = resolve_scenario(ref)
    where = str(path)
    try:
        raw = _parsed(path)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML: {exc}") from None
    return scenario_from_dict(raw, where=where, default_name=path.stem)


#: Parsed scenario files (pickled), by their text: a loop of runs that names its scenario parses
#: the file once; a file whose text changed is parsed again.
_PARSED: dict[str, bytes] = {}
_PARSED_MAX = 64


def _parsed(path: Path) -> dict[str, Any]:
    """The TOML file's contents, a fresh copy each call."""
    text = read_input(path)
    data = _PARSED.get(text)
    if data is None:
        data = pickle.dumps(tomllib.loads(text))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[text] = data
    return pickle.loads(data)


def scenario_from_dict(raw: dict[str, Any], *, where: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Validate a scenario given as a dictionary with the layout of the TOML file."""
    allowed_top = {"scenario", "parameters", *ACTOR_FIELDS, "intervention"}
    for key, value in raw.items():
        if key not in allowed_top and not isinstance(value, (dict, list)):
            # a key written above the first [section] of the file
            where_it_goes = ("under [parameters]" if key in REGISTRY else
                             "under [scenario]" if key in ("name", "title", "description", "note", "seed",
                                                           "learning_points", "sources")
                             else "under the [section] it belongs to")
            raise InputError(f"{where}: {key} = {words(value)} is outside every section (it is written above the "
                             f"first [section] heading); write it {where_it_goes}")
        if key not in allowed_top:
            raise InputError(f"{where}: unknown section [{key}]{did_you_mean(key, allowed_top)}; allowed: "
                             f"{', '.join(sorted(allowed_top))}")
    meta = raw.get("scenario", {})
    if not isinstance(meta, dict):
        raise InputError(f"{where}: [scenario] must be a table")
    for key in meta:
        if key not in _META_FIELDS:
            raise InputError(f"{where}: unknown field scenario.{key}{did_you_mean(key, _META_FIELDS)}; allowed: "
                             f"{', '.join(sorted(_META_FIELDS))}")
    params = defaults()
    given = raw.get("parameters", {})
    if not isinstance(given, dict):
        raise InputError(f"{where}: [parameters] must be a table")
    for name, value in given.items():
        spec = REGISTRY.get(name)
        if spec is None:
            raise InputError(f"{where}: unknown parameter parameters.{name} = {words(value)}{did_you_mean(name, REGISTRY)}; "
                             "see 'peacesim params' for the list")
        params[name] = check(spec, value, where=f"{where}: parameters")
    actors: dict[str, list[dict[str, Any]]] = {}
    for kind, fields in ACTOR_FIELDS.items():
        entries = raw.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise InputError(f"{where}: {kind} must be written as [[{kind}]] tables")
        actors[kind] = []
        for i, entry in enumerate(entries):
            label = f"{where}: {kind} #{i + 1}"
            record = {}
            for fname, value in entry.items():
                spec = fields.get(fname)
                if spec is None:
                    who = entry.get("name", "?")
                    raise InputError(f"{label} ({words(who)}): unknown field {words(fname)} = {words(value)}"
                                     f"{did_you_mean(fname, fields)}; allowed: {', '.join(fields)}")
                record[fname] = check(spec, value, where=label)
            for fname, spec in fields.items():
                if fname not in record:
                    if spec.required:
                        raise InputError(f"{label}: missing field {words(fname)} ({spec.meaning})")
                    record[fname] = spec.default
            check_name(record["name"], label)
            actors[kind].append(record)
    text = lambda k, d="": meta.get(k, d)  # noqa: E731
    for k in ("title", "description", "note", "name"):
        if not isinstance(text(k), str):
            raise InputError(f"{where}: scenario.{k} = {words(text(k))} must be a text")
    for k in ("learning_points", "sources"):
        v = meta.get(k, [])
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise InputError(f"{where}: scenario.{k} must be a list of texts")
    # printed by 'peacesim show' and on the dashboard: no escape sequences or carriage returns
    # that would rewrite what a terminal shows (line breaks and tabs are fine where text runs on)
    for k in ("name", "title", "description", "note", "learning_points", "sources"):
        v = meta.get(k, "")
        for t in (v if isinstance(v, list) else [v]):
            flat = t.replace("\r\n", "\n")
            one_line = k in ("name", "title")
            bad = [c for c in flat if (control(c) and (one_line or c not in "\n\t"))
                   or c in (INVISIBLE if one_line else REORDERING)]
            if bad:
                what = "a control character" if control(bad[0]) else "an invisible formatting character"
                raise InputError(f"{where}: scenario.{k} = {words(cut(t, 80))} is not allowed: it holds {what} "
                                 f"({words(bad[0])}); expected "
                                 + ("a text on one line" if one_line else "text, line breaks and tabs"))
    seed = meta.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        hint = " (written without quotes: seed = 7)" if isinstance(seed, str) and seed.strip().isdigit() else ""
        raise InputError(f"{where}: scenario.seed = {words(seed)} is not allowed; expected a whole number >= 0{hint}")
    scen = Scenario(
        name=text("name") or default_name,
        title=text("title") or default_name,
        description=text("description").strip(),
        params=params,
        actors=actors,
        learning_points=list(meta.get("learning_points", [])),
        sources=list(meta.get("sources", [])),
        note=text("note").strip(),
        path=where,
        interventions=labelled(parse_plan(raw.get("intervention", []), where=where), where=where),
        seed=seed,
    )
    _check_consistency(scen, where=where)
    return mark_checked(scen)


def _state(scen: Scenario) -> bytes | None:
    """What a scenario's runs depend on, as bytes to compare (not where each intervention was
    planned, which only names it in messages); None for contents that cannot be compared."""
    try:
        plan = [(x.month, x.kind, x.args, x.label, x.enabled) for x in scen.interventions]
        return pickle.dumps((scen.params, scen.actors, plan), 5)
    except Exception:  # anything but plain data (a function, an object set by hand): check it again
        return None


def mark_checked(scen: Scenario) -> Scenario:
    """Note that ``scen`` is valid as it is now."""
    scen._valid_state = _state(scen)
    return scen


def _check_object(scen: Scenario) -> Scenario:
    """A Scenario object given to be run: as it was validated, or checked again as a scenario file
    would be if it was changed since (its parameters or actors set by hand)."""
    state = _state(scen)
    if state is not None and getattr(scen, "_valid_state", None) == state:
        return scen
    where = f"{scen.path or scen.name} (as changed after loading)"
    if not isinstance(scen.params, dict) or not isinstance(scen.actors, dict):
        raise InputError(f"{where}: params and actors must be dicts, as load_scenario makes them")
    if not isinstance(scen.interventions, list):
        raise InputError(f"{where}: interventions = {words(scen.interventions)} must be a list of planned "
                         "interventions")
    interventions = []
    for x in scen.interventions:
        if not isinstance(x, Planned):
            raise InputError(f"{where}: interventions: {words(x)} is not a planned intervention; add interventions "
                             "with PeaceModel(interventions=...) or a scenario file's [[intervention]] tables")
        interventions.append({**x.as_dict(), "label": x.label} if x.label else x.as_dict())
    raw = {"scenario": {"name": scen.name, "title": scen.title, "description": scen.description, "note": scen.note,
                        "learning_points": scen.learning_points, "sources": scen.sources,
                        **({} if scen.seed is None else {"seed": scen.seed})},
           "parameters": scen.params, **{k: v for k, v in scen.actors.items()}, "intervention": interventions}
    new = scenario_from_dict(copy.deepcopy(raw), where=where, default_name=scen.name)
    new.path = scen.path
    new.interventions = [replace(x, origin=y.origin) for x, y in zip(new.interventions, scen.interventions,
                                                                     strict=True)]
    if state is not None and _state(new) == state:  # valid as it is: nothing needed converting
        return mark_checked(scen)
    return mark_checked(new)


def _check_consistency(scen: Scenario, *, where: str) -> None:
    """Rules that involve more than one field: names, references between actors, minimum cast, size."""
    from .budget import check_scenario

    check_scenario(scen, where=where)
    parties = scen.actors["party"]
    at_table = [p for p in parties if p["at_table"]]
    if len(at_table) < 2:
        raise InputError(f"{where}: party: at least two parties with at_table = true are needed, found {len(at_table)}")
    seen: dict[str, str] = {}
    for kind, entries in scen.actors.items():
        for a in entries:
            if a["name"] in seen.values():
                raise InputError(f"{where}: {kind}: name {words(a['name'])} is used twice; actor names must be unique")
            other = seen.get(name_key(a["name"]))
            if other is not None:
                raise InputError(f"{where}: {kind}: name {words(a['name'])} is too close to the actor {words(other)}: "
                                 "interventions find actors by name ignoring case, a leading article and the "
                                 "spaces around it, so the two could not be told apart; choose another name")
            seen[name_key(a["name"])] = a["name"]
    for a in scen.actors["local"]:  # a spec of count > 1 names its mechanisms 'NAME #1', 'NAME #2', ...
        count = a.get("count", 1)
        for k in range(count if isinstance(count, int) and count > 1 else 0):
            other = seen.get(name_key(f"{a['name']} #{k + 1}"))
            if other is not None:
                raise InputError(f"{where}: local: {words(a['name'])} with count = {count} calls its mechanisms "
                                 f"'{a['name']} #1' to '{a['name']} #{count}', and {words(other)} is another actor's "
                                 "name among them; choose another name")
    party_names = {p["name"] for p in parties}
    unaimed = []
    for kind in ("mediator", "diplomat"):
        for a in scen.actors[kind]:
            if a["bias_toward"] and a["bias_toward"] not in party_names:
                raise InputError(
                    f"{where}: {kind} {words(a['name'])}: bias_toward = {words(a['bias_toward'])} is not a party"
                    f"{name_suggestion(a['bias_toward'], sorted(party_names))}; "
                    f"allowed: '' or one of {', '.join(words(n) for n in sorted(party_names))}"
                )
            if a.get("bias") and not a["bias_toward"]:
                unaimed.append(a["name"])
    if unaimed:
        warnings.warn(f"{scen.path or scen.name}: bias has no effect for {', '.join(words(n) for n in unaimed)}: a bias leans toward "
                      "the party named by bias_toward, and none is named", InputNote, stacklevel=2)
    leads = [m for m in scen.actors["mediator"] if m["lead"]]
    if len(leads) > 1:
        names = ", ".join(repr(m["name"]) for m in leads)
        raise InputError(f"{where}: mediator: lead = true is set for {len(leads)} mediators ({names}); at most one may lead")


def prepare(scenario: str | Path | Scenario, *, months: int | None = None,
            overrides: dict[str, Any] | list[str] | None = None) -> Scenario:
    """Load a scenario (name, path or object) and apply ``months`` and ``overrides``, validated."""
    scen = load_scenario(scenario)
    extra: dict[str, Any] = {}
    if months is not None:
        check_months_once(months, overrides)
        extra["months"] = months
    if overrides:
        scen = scen.with_overrides(overrides)
    if extra:
        scen = scen.with_overrides(extra, where="the horizon")
    return scen.cast()
