"""The ``peacesim`` command: a thin layer of subcommands over the library.

``peacesim run`` is :func:`peacesim.simulate.run_scenario` followed by
:func:`peacesim.output.write_run`; ``scenarios``, ``params`` and ``show`` print what
:mod:`peacesim.scenario` and :mod:`peacesim.params` hold. Bad input (a scenario file, an option)
is reported as one line ``peacesim: error: ...`` with exit status 2 and nothing written; any other
exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import shutil
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

from .errors import InputError, InputNote, ResultsWarning, StorageError
from .words import counted as _n
from .words import words
from .params import ACTOR_FIELDS, REGISTRY, Param

__all__ = ["main", "build_parser"]

PROG = "peacesim"
KEY_EVENT_LINES = 25  # key events printed by 'peacesim run'; all of them go to narrative.txt


# ---------------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------------
def _parse_seed(text: str, high: int | None = None) -> int:
    try:
        seed = int(text.strip())
    except ValueError:
        seed = -1
    if seed < 0 or (high is not None and seed > high):
        allowed = f"from 0 to {high}" if high is not None else ">= 0"
        raise InputError(f"--seed: {words(text)} is not allowed; expected a whole number {allowed}")
    return seed


def _default_out(scenario_name: str, seed: int, *, session: bool = False) -> Path:
    """results/SCENARIO-seedN; results/SCENARIO-session-seedN for a file with its own seed (a
    dashboard session's re-run file), which would otherwise replace the scenario's own run."""
    return Path("results") / f"{_safe(scenario_name, 'scenario')}{'-session' if session else ''}-seed{seed}"


def _safe(name: str, fallback: str) -> str:
    """A name made safe as part of a folder name."""
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or fallback


def _write(result: Any, out: Path, *, figure: bool, inputs: dict[str, Any]) -> dict[str, Path]:
    """A run's files written into ``out`` (``peacesim run``'s), a file-system fault in one line."""
    from .output import write_run

    try:
        return write_run(result, out, figure=figure, inputs=inputs)
    except StorageError:
        raise
    except OSError as exc:
        from .fsutil import storage_error

        raise storage_error(exc, out, "write the results") from None


def _check_out(text: str | None, default: Path) -> Path:
    """The folder ``--out`` names (``~`` expanded; ``default`` without it), after checking, before
    anything runs, that the results can go there: a folder that holds files peacesim did not write
    is refused (peacesim never replaces them), as are '' and the root folder, a folder that cannot be
    created or written, and a file."""
    from .fsutil import check_out_path, check_writable, claim

    out = check_out_path(text) if text is not None else default
    claim(out, "run")
    if out.exists():
        if not os.access(out, os.W_OK | os.X_OK):
            raise InputError(f"--out: {out} is not writable")
    else:
        parent = out.absolute().parent
        while not parent.exists():
            parent = parent.parent
        if not parent.is_dir():
            raise InputError(f"--out: cannot create {out}: {parent} is not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(f"--out: cannot create {out}: {parent} is not writable")
    check_writable(out)  # what the permissions do not tell: a read-only file system, a root user's limits
    return out


def _preflight(out: Path, kind: str, what: str) -> None:
    """Refuse, before a command says what it is about to run, a results folder that is not
    peacesim's, is in use by another peacesim process, or cannot be created or written."""
    from .fsutil import check_writable, claim

    claim(out, kind)
    check_writable(out, what)


def cmd_run(args: argparse.Namespace) -> int:
    from .interventions import check_plan, parse_cli
    from .params import Typed
    from .scenario import check_months_once, load_scenario

    # Validate everything before running or writing anything (and before importing the model, so
    # that a mistyped option is refused at once rather than after Mesa's and pandas's imports).
    scen = load_scenario(args.scenario)
    # the file's own seed (a dashboard session's) unless --seed is given
    seed = _parse_seed(args.seed) if args.seed is not None else scen.seed if scen.seed is not None else 1
    months = Typed(args.months) if args.months is not None else None
    check_months_once(months, args.set, where="--months", where_overrides="--set")
    scen = scen.with_overrides(args.set, where="--set")
    if months is not None:
        scen = scen.with_overrides({"months": months}, where="--months")
    plan = [parse_cli(text) for text in args.intervene]
    cast = scen.cast()
    check_plan([*cast.interventions, *plan], cast.actors, cast.params["months"], where=cast.path or cast.name,
               notes=True)
    out = _check_out(args.out, _default_out(scen.name, seed, session=scen.seed is not None))

    from . import simulate
    from .narrative import render, summary

    result = simulate.run_scenario(scen, seed=seed, interventions=plan)

    inputs: dict[str, Any] = {"scenario": args.scenario, "overrides": list(args.set)}
    if args.months is not None:
        inputs["months"] = scen.params["months"]
    if args.intervene:
        inputs["intervene"] = list(args.intervene)
    files = _write(result, out, figure=not args.no_figure, inputs=inputs)

    if args.quiet:
        return 0
    print(summary(result))
    key = render(result.events, horizon=int(result.months))  # the whole run: what outlasts it is said to
    if key:
        print()
        print("Key events:")
        for line in key[:KEY_EVENT_LINES]:
            print(textwrap.fill(line, _width(), initial_indent="  ", subsequent_indent="      ",
                                break_on_hyphens=False))
        if len(key) > KEY_EVENT_LINES:
            print(f"  ... {len(key) - KEY_EVENT_LINES} more key events; all {len(result.events)} events are in "
                  f"{files['narrative.txt']}")
    print()
    print(f"Files written to {out}:")
    for path in files.values():
        print(f"  {path}")
    return 0


def cmd_rerun(args: argparse.Namespace) -> int:
    """A row of a sweep's (or sensitivity analysis's) tables run again, written as ``run`` writes a run."""
    from .experiment import experiment_as_swept
    from .scenario import user_path

    exp = experiment_as_swept(args.folder)  # the experiment as the sweep ran it; refused if it would differ
    folder = user_path(args.folder)
    folder = folder if folder.is_dir() else folder.parent  # (its manifest.json named)
    where = str(args.folder)
    point = _parse_row(args.design_point, "--design-point", len(exp.design), where)
    replicate = _parse_row(args.replicate, "--replicate", exp.replicates, where)
    name = f"{_safe(folder.absolute().name, 'results')}-point{point}-replicate{replicate}"
    default = Path("results") / name
    if default.absolute().is_relative_to(folder.absolute()):  # run from inside the sweep's folder:
        default = folder.absolute().parent / name  # beside it, not in it
    out = _check_out(args.out, default)

    from .narrative import summary

    result = exp.rerun(point, replicate)
    inputs = {"results": where, "design_point": point, "replicate": replicate,
              "values": exp.design[point], "seed": exp.seeds[replicate]}
    files = _write(result, out, figure=not args.no_figure, inputs=inputs)
    if not args.quiet:
        print(f"Design point {point} ({_point_label(exp.design[point])}), replicate {replicate} (seed "
              f"{exp.seeds[replicate]}) of {where}, run again:")
        print(summary(result))
        print()
        print(f"Files written to {out}:")
        for path in files.values():
            print(f"  {path}")
    return 0


def _parse_row(text: str, option: str, n: int, where: str) -> int:
    """A design point's or replicate's number as typed: a whole number from 0 to n - 1."""
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not 0 <= int(value) < n:  # ('²' is a digit to isdigit)
        raise InputError(f"{option} {words(text)} is not allowed; {where} has "
                         f"{'design points' if option == '--design-point' else 'replicates'} 0 to {n - 1}: expected "
                         f"a whole number from 0 to {n - 1}")
    return int(value)


def _point_label(values: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {words(v)}" for k, v in values.items()) or "the base scenario"


# ---------------------------------------------------------------------------------------------
# scenarios, show
# ---------------------------------------------------------------------------------------------
def cmd_scenarios(args: argparse.Namespace) -> int:
    from .scenario import list_scenarios, load_scenario

    paths = list_scenarios()
    width = max((len(p.stem) for p in paths), default=0)
    for path in paths:
        print(f"{path.stem:<{width}}  {load_scenario(path).title}")
    return 0


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size((100, 24)).columns) - 1)


def _wrap(text: str, indent: str = "  ") -> str:
    width = _width()
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    return "\n\n".join(textwrap.fill(p, width, initial_indent=indent, subsequent_indent=indent) for p in paras)


def _bullets(items: list[str]) -> str:
    return "\n".join(textwrap.fill(" ".join(s.split()), _width(), initial_indent="  - ", subsequent_indent="    ")
                     for s in items)


def cmd_show(args: argparse.Namespace) -> int:
    from .params import defaults
    from .scenario import load_scenario

    scen = load_scenario(args.scenario)
    print(scen.title)
    print(f"  ({scen.name}: {scen.path})")
    if scen.description:
        print()
        print(_wrap(scen.description))
    if scen.learning_points:
        print()
        print("Learning points:")
        print(_bullets(scen.learning_points))
    if scen.sources:
        print()
        print("Sources:")
        print(_bullets(scen.sources))
    if scen.note:
        print()
        print(_wrap(f"Note: {scen.note}"))
    print()
    print("Actors:")
    counts = scen.counts()
    width = max(len(k) for k in counts)
    for kind, entries in scen.actors.items():
        names = ", ".join(a["name"] if a.get("count", 1) == 1 else f"{a['name']} ({a['count']})" for a in entries)
        head = f"  {kind:<{width}}  {counts[kind]:>3}  "
        print(textwrap.fill(names, _width(), initial_indent=head, subsequent_indent=" " * len(head),
                            break_on_hyphens=False) if names
              else head.rstrip())
    if scen.interventions:
        print()
        print("Interventions planned (see 'peacesim interventions'; the label in brackets names one in "
              "--set intervention.LABEL.FIELD=VALUE):")
        for x in sorted(scen.interventions, key=lambda x: x.month):
            state = "" if x.enabled else "   (disabled)"
            print(f"  month {x.month:>4}  [{x.label or x.kind}]  {x.cli().split(':', 1)[1]}{state}")
    base = defaults()
    changed = {k: v for k, v in scen.params.items() if v != base[k]}
    print()
    if changed:
        print("Parameters set by the scenario (others at their defaults, see 'peacesim params'):")
        w = max(len(k) for k in changed)
        for k, v in changed.items():
            print(f"  {k:<{w}} = {_value(v)}   (default {_value(base[k])})")
    else:
        print("All model-wide parameters at their defaults (see 'peacesim params').")
    return 0


# ---------------------------------------------------------------------------------------------
# params
# ---------------------------------------------------------------------------------------------
def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return repr(v) if v == "" else v
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


def _allowed(p: Param) -> str:
    if p.kind in ("float", "int"):
        lo = "?" if p.low is None else _value(p.low if p.kind == "float" else int(p.low))
        hi = "?" if p.high is None else _value(p.high if p.kind == "float" else int(p.high))
        return (f"{_value(p.marker[0])} or " if p.marker else "") + f"{lo} .. {hi}"
    if p.kind == "bool":
        return "true/false"
    if p.kind == "choice":
        return ", ".join(p.choices)
    return "text"


def _param_sections() -> list[tuple[str, str, list[tuple[str, Param]]]]:
    """(group key, header, [(name, Param)]): model-wide parameters by group, then actor fields by kind.

    An actor kind may share its key with a model-wide group ('local'); ``--group local`` shows both.
    """
    groups: dict[str, list[tuple[str, Param]]] = {}
    for name, p in REGISTRY.items():
        groups.setdefault(p.group or "other", []).append((name, p))
    sections = [(g, f"[{g}]", entries) for g, entries in groups.items()]
    for kind, fields in ACTOR_FIELDS.items():
        sections.append((kind, f"[[{kind}]]", [(f"{kind}.{name}", p) for name, p in fields.items()]))
    return sections


def _group_names() -> list[str]:
    return list(dict.fromkeys(key for key, _, _ in _param_sections()))


def cmd_params(args: argparse.Namespace) -> int:
    sections = _param_sections()
    if args.group is not None:
        if args.group not in _group_names():
            from .params import did_you_mean

            raise InputError(f"--group: {words(args.group)} is not a group{did_you_mean(args.group, _group_names())}; "
                             f"allowed: {', '.join(_group_names())}")
        sections = [s for s in sections if s[0] == args.group]

    def row(name: str, p: Param) -> tuple[str, ...]:
        return (name, _value(p.default) + (" (required)" if p.required else ""), _allowed(p), p.unit, p.meaning)

    head = ("name", "default", "allowed", "unit", "meaning")
    rows = [row(name, p) for _, _, entries in sections for name, p in entries]
    w = [max(len(r[i]) for r in [*rows, head]) for i in range(4)]
    w[2] = min(w[2], 24)  # long lists of choices wrap inside their column
    indent = sum(w) + 8
    w.append(max(30, shutil.get_terminal_size((120, 24)).columns - 1 - indent))

    def line(r: tuple[str, ...]) -> str:
        cells = [[c] if i in (0, 1, 3) else (textwrap.wrap(c, w[i]) or [""]) for i, c in enumerate(r)]
        out = []
        for parts in itertools.zip_longest(*cells, fillvalue=""):
            out.append("  ".join(f"{c:<{w[i]}}" for i, c in enumerate(parts)).rstrip())
        return "\n".join(out)

    print(line(head))
    actor_note = False
    for key, header, entries in sections:
        print()
        if key in ACTOR_FIELDS and header.startswith("[[") and not actor_note:
            print("# Actor fields: set per actor in a scenario's [[KIND]] tables, or for every actor of")
            print("# that kind with --set KIND.FIELD=value (name and count only in the file).")
            actor_note = True
        print(header)
        for name, p in entries:
            print(line(row(name, p)))
    return 0


# ---------------------------------------------------------------------------------------------
# interventions
# ---------------------------------------------------------------------------------------------
def cmd_interventions(args: argparse.Namespace) -> int:
    from .interventions import CLI_SYNTAX, INTERVENTIONS

    kinds = INTERVENTIONS
    if args.kind is not None:
        if args.kind not in kinds:
            from .params import did_you_mean

            raise InputError(f"{args.kind!r} is not an intervention{did_you_mean(args.kind, kinds)}; "
                             f"allowed: {', '.join(kinds)}")
        kinds = {args.kind: kinds[args.kind]}
    width = _width()
    print(f"Plan interventions with --intervene {CLI_SYNTAX} (peacesim run), [[intervention]] tables with")
    print("month, kind and the arguments (scenario and experiment files), or model.intervene(kind, ...) in Python.")
    for spec in kinds.values():
        print()
        print(spec.kind)
        print(textwrap.fill(spec.meaning, width, initial_indent="  ", subsequent_indent="  "))
        print(textwrap.fill(f"Source: {spec.source}", width, initial_indent="  ", subsequent_indent="    "))
        if spec.args:
            w = max(len(a) for a in spec.args)
            for name, p in spec.args.items():
                default = "required" if p.required else f"default {_value(p.default)}"
                line = f"{name:<{w}}  {_allowed(p)}; {default}: {p.meaning}"
                print(textwrap.fill(line, width, initial_indent="    ", subsequent_indent=" " * (w + 6)))
    return 0


# ---------------------------------------------------------------------------------------------
# experiments
# ---------------------------------------------------------------------------------------------
def cmd_experiments(args: argparse.Namespace) -> int:
    from .experiment import list_experiments, load_experiment

    for path in list_experiments():
        from .sensitivity import is_sensitivity_file, load_sensitivity

        if is_sensitivity_file(path):  # run with 'peacesim sensitivity'
            spec = load_sensitivity(path, sample=False)
            print(f"{path.stem:22s}  {spec.title} (sensitivity: {spec.summary()})")
            continue
        exp = load_experiment(path)
        print(f"{path.stem:22s}  {exp.title} ({_n(len(exp.design), 'design point')} x "
              f"{_n(exp.replicates, 'replicate')} = {_n(exp.n_runs, 'run')})")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .budget import check_memory
    from .experiment import load_experiment
    from .sweep import check_executor

    from .fsutil import check_out_path, slug

    exp = load_experiment(args.experiment)
    workers = _parse_workers(args.workers)
    n_workers = check_executor(args.executor, workers, args.scheduler)
    check_memory(exp, n_workers, local_workers=not (args.executor == "dask" and args.scheduler), where=exp.path)
    # a name from the experiment file becomes a safe folder name, never a path
    out = check_out_path(args.out) if args.out is not None else Path("results") / slug(exp.name, "experiment")
    _preflight(out, "sweep", "sweep")  # refuse a folder that is not peacesim's or in use before saying anything
    from .words import cut

    def header() -> None:  # said once the folder's stored runs are known to be this experiment's
        print(f"{cut(exp.title, 80)}: {_n(len(exp.design), 'design point')} x {_n(exp.replicates, 'replicate')} = "
              f"{_n(exp.n_runs, 'run')} ({args.executor}) -> {out}", flush=True)

    from .fsutil import kept_locks

    with kept_locks():  # the folder stays this command's from its runs to its figures
        return _sweep_and_plot(args, exp, out, workers, header)


def _sweep_and_plot(args: argparse.Namespace, exp: Any, out: Path, workers: int | None,
                    header: Any) -> int:
    from .sweep import run_experiment

    res, stopped = _until_stopped(lambda: run_experiment(
        exp, executor=args.executor, workers=workers, scheduler=args.scheduler, out=out, fresh=args.fresh,
        retry_failed=args.retry_failed, progress=not args.quiet, announce=header))
    if stopped is not None:
        return stopped
    print(f"{_n(res.ran, 'run')} done in {res.seconds:.1f} s, {res.skipped:,} {'was' if res.skipped == 1 else 'were'} "
          f"already done, {res.failed:,} failed."
          + (" Run the same command with --retry-failed to run the failed ones again." if res.failed else ""))
    if not args.no_figures:
        try:
            _plot(out)
        except KeyboardInterrupt:
            print(f"{PROG}: interrupted while drawing the figures; the sweep is complete in {out}: draw them with "
                  f"'peacesim plot {out}'", file=sys.stderr)
            return 130
        except StorageError as exc:
            raise _figures_fault(exc, f"the sweep is complete in {out}",
                                 f"draw the figures with 'peacesim plot {out}'") from None
    return 0


def _figures_fault(err: StorageError, done: str, then: str) -> StorageError:
    """A file-system fault while figures or a report are drawn: what is kept and what to do next."""
    from .sweep import _HINTS

    if err.advised:
        return err
    return StorageError(f"{err}; {done}: {_HINTS.get(err.errno or 0, 'fix the cause')} and {then}", err.errno)


def cmd_plot(args: argparse.Namespace) -> int:
    from .scenario import user_path
    from .sensitivity import is_sensitivity_results

    results = user_path(args.results)
    if is_sensitivity_results(results):
        raise InputError(f"{args.results}: holds a sensitivity analysis; its figures and report are drawn by "
                         "'peacesim sensitivity' (run the same command again to redraw them)")
    try:
        _plot(results)
    except StorageError as exc:
        raise _figures_fault(exc, f"the sweep's runs in {args.results} are unchanged", "run the same command again") from None
    return 0


def _plot(path: Path) -> None:
    from .sweep_plots import plot_results

    written = plot_results(path)
    print(f"Figures and report in {path}:")
    for p in written:
        print(f"  {p}")


def _parse_workers(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise InputError(f"--workers {words(text)} is not allowed; expected a whole number of at least 1")
    return n


def _until_stopped(call):
    """``(call(), None)``, or ``(None, status)`` when the runs stopped: Ctrl-C (130, what finished is
    saved) or a sweep that could not go on (1), said in one line."""
    from .sweep import SweepFailed, SweepInterrupted

    try:
        return call(), None
    except SweepInterrupted as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return None, 130
    except SweepFailed as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return None, 1


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from .fsutil import check_out_path, slug
    from .sensitivity import (PILOT_POINTS, PILOT_POINTS_RANGE, PILOT_REPLICATES, PILOT_REPLICATES_RANGE,
                              TARGET_NOISE, load_sensitivity, run_pilot, run_sensitivity)
    from .sensitivity_plots import pilot_lines, summary_lines
    from .sweep import check_executor

    replicates = _parse_whole(args.replicates, "--replicates", 2)
    if not args.pilot:  # (they would be ignored)
        given = [o for o, v in (("--pilot-points", args.pilot_points), ("--pilot-replicates", args.pilot_replicates),
                                ("--target-noise", args.target_noise)) if v is not None]
        if given:
            one = len(given) == 1
            raise InputError(f"{' and '.join(given)} {'is' if one else 'are'} used only with --pilot: add --pilot or "
                             f"leave {'it' if one else 'them'} out")
    target = TARGET_NOISE if args.target_noise is None else _parse_share(args.target_noise, "--target-noise")
    points = _parse_whole(args.pilot_points, "--pilot-points", *PILOT_POINTS_RANGE) or PILOT_POINTS
    reps = _parse_whole(args.pilot_replicates, "--pilot-replicates", *PILOT_REPLICATES_RANGE) or PILOT_REPLICATES
    spec = load_sensitivity(args.experiment, replicates=replicates)
    workers = _parse_workers(args.workers)
    check_executor(args.executor, workers, args.scheduler)
    name = f"{spec.name}-pilot" if args.pilot else spec.name
    out = check_out_path(args.out) if args.out is not None else Path("results") / slug(name, "experiment")
    _preflight(out, "sweep", "sensitivity analysis")
    # said once the folder is known to hold no other experiment's runs (as 'peacesim sweep' does)
    if args.pilot:
        def pilot_header() -> None:
            print(f"Pilot for {spec.title}: {_n(points, 'point')} x {_n(reps, 'replicate')} = {_n(points * reps, 'run')} "
                  f"({args.executor}) -> {out}", flush=True)

        pilot, stopped = _until_stopped(lambda: run_pilot(
            spec, points=points, replicates=reps, target=target, executor=args.executor, workers=workers,
            scheduler=args.scheduler, out=out, fresh=args.fresh, progress=not args.quiet, announce=pilot_header))
        if stopped is not None:
            return stopped
        print("\n".join(pilot_lines(pilot, spec)))
        return 0
    def header() -> None:
        print(f"{spec.title}: {spec.summary()} ({args.executor}) -> {out}", flush=True)

    res, stopped = _until_stopped(lambda: run_sensitivity(
        spec, executor=args.executor, workers=workers, scheduler=args.scheduler, out=out, fresh=args.fresh,
        progress=not args.quiet, figures=not args.no_figures, announce=header))
    if stopped is not None:
        return stopped
    print("\n".join(summary_lines(res)))
    return 0


def _parse_share(text: str, option: str) -> float:
    """A share above 0 and below 1, typed on the command line."""
    import math

    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0 < share < 1:
        raise InputError(f"{option} {words(text, typed=True)} is not allowed; expected a share between 0 and 1")
    return share


def _parse_whole(text: str | None, option: str, low: int, high: int | None = None) -> int | None:
    if text is None:
        return None
    try:
        n = int(text)
    except ValueError:
        n = low - 1
    if n < low or (high is not None and n > high):
        allowed = f"of at least {low}" if high is None else f"from {low} to {high:,}"
        raise InputError(f"{option} {words(text, typed=True)} is not allowed; expected a whole number {allowed}")
    return n


def cmd_compare(args: argparse.Namespace) -> int:
    """``peacesim compare FILE``: strategies side by side on common random numbers, with a report."""
    import math

    from . import comparison as cmp
    from .fsutil import check_out_path

    if args.list and args.comparison is not None:
        raise InputError(f"--list takes no comparison (given {words(args.comparison)}); use 'peacesim compare --list' "
                         "or 'peacesim compare NAME'")
    if args.comparison is None and not args.list:
        given = [f"--{k.replace('_', '-')}" for k in ("out", "seeds", "worlds", "fresh") if getattr(args, k, None)]
        if given:  # options for a comparison, but none named: refused rather than ignored
            names = ", ".join(q.stem for q in cmp.list_comparisons())
            raise InputError(f"{' and '.join(given)} given but no comparison named; name one (shipped: {names}) or a "
                             "comparison file: peacesim compare NAME")
    if args.list or args.comparison is None:
        paths = cmp.list_comparisons()
        width = max((len(q.stem) for q in paths), default=0)
        for path in paths:
            spec = cmp.load_comparison(path, check_design=False)
            print(f"{path.stem:<{width}}  {spec.title} ({len(spec.strategies)} strategies, {spec.n_runs:,} runs)")
        if args.comparison is None and not args.list:
            print("\nRun one with: peacesim compare NAME (or a path to a comparison file)")
        return 0
    sizes = {k: _parse_count(getattr(args, k), f"--{k}") for k in ("seeds", "worlds")}
    spec = cmp.load_comparison(args.comparison, **sizes)
    workers = _parse_workers(args.workers)
    from .sweep import check_executor

    check_executor(args.executor, workers, args.scheduler)
    out = check_out_path(args.out) if args.out is not None else cmp.default_out(spec)
    _preflight(out, "comparison", "comparison")  # a folder not peacesim's, or in use: refused before anything is said
    if not args.fresh:
        cmp.check_stored(out, spec, spec.experiment())
    from .words import cut

    def header() -> None:  # said once the runs' folder and the executor are known to be usable
        print(textwrap.fill(cut(spec.title, 300), _width()))
        print(f"{len(spec.strategies)} strategies x {_n(spec.worlds, 'world')} x {_n(spec.seeds, 'seed')} = "
              f"{spec.n_runs:,} runs ({args.executor}) -> {out}", flush=True)

    res, stopped = _until_stopped(lambda: cmp.compare(spec, out=out, fresh=args.fresh, executor=args.executor,
                                                      workers=workers, scheduler=args.scheduler,
                                                      progress=not args.quiet, announce=header))
    if stopped is not None:
        return stopped
    from .comparison_report import answer_lines, fmt_interval, fmt_value, plain_measure, plain_note, rank_labels

    print(f"\nRanked by {plain_measure(spec.rank_by, spec.horizon)}:")
    places = rank_labels(res)
    for k in res.ranking:
        r = res.value(k, spec.rank_by)
        shown = fmt_value(spec.rank_by, r["estimate"])
        if r["note"] and not math.isfinite(float(r["estimate"])):
            shown += f" ({plain_note(r['note'])})"
        else:
            shown += f" (95% interval {fmt_interval(spec.rank_by, r['low'], r['high'])})"
        base = "  [baseline]" if k == spec.baseline else ""
        place = places[k] if places[k] == "-" or places[k].endswith("=") else places[k] + "."
        print(textwrap.fill(f"{place} {spec.strategy(k).title}: {shown}{base}", _width(), subsequent_indent="   "))
    print()
    for line in answer_lines(res):
        print(textwrap.fill(line, _width()))
        print()
    print(f"Report: {res.out / 'report.html'} (and report.md); tables and comparison.json in {res.out}")
    return 0


def _parse_count(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError(f"{option} {words(text)} is not allowed; expected a whole number") from None


def cmd_validate(args: argparse.Namespace) -> int:
    from .validation import PATTERNS, summary, table, validate, write_report

    only = None
    if args.only is not None:
        try:
            only = sorted({int(x) for x in args.only.split(",")})
        except ValueError:
            only = [0]
        known = {p.number for p in PATTERNS}
        bad = [n for n in only if n not in known]
        if bad:
            raise InputError(f"--only {words(args.only)} is not allowed; expected pattern numbers from 1 to {len(PATTERNS)}, "
                             "comma-separated")
    from .fsutil import check_out_path
    from .scenario import load_scenario
    from .sweep import check_executor

    load_scenario(args.scenario)  # an unknown or invalid scenario is an input error before any run
    # pattern k's master seed is 100 * N + k, a seed of at most 2**63 - 1 (experiment.master_seed)
    scenario, seed = args.scenario, _parse_seed(args.seed, high=(2**63 - 1 - 99) // 100)
    workers = _parse_workers(args.workers)
    check_executor(args.executor, workers, None)
    out = check_out_path(args.out)
    _preflight(out, "validation", "validation")
    checks = validate(quick=args.quick, only=only, out=out, executor=args.executor,
                      workers=workers, progress=not args.quiet, scenario=scenario, seed=seed)
    print(table(checks, quick=args.quick))
    report = write_report(checks, out, quick=args.quick, scenario=scenario, seed=seed)
    written = f"Report: {report}"
    if args.ablate:
        from .validation import ablate, ablation_table, write_ablation

        # the ablations and their intact rows on the scenario and seed of the checks above
        frac = 0.25 if args.quick else 0.5
        rows = ablate(fraction=frac, only=only, out=out, executor=args.executor, workers=workers,
                      progress=not args.quiet, scenario=scenario, seed=seed)
        intact = {c.number: c for c in validate(fraction=frac, only=only, out=out, executor=args.executor,
                                                workers=workers, progress=False, scenario=scenario, seed=seed)}
        print("\n" + ablation_table(rows, intact, quick=args.quick))
        written += f"; ablations: {write_ablation(rows, intact, out, quick=args.quick, scenario=scenario, seed=seed)}"
    held = sum(c.passed for c in checks)
    print(f"\n{summary(checks, quick=args.quick)} {written}")
    return 0 if held == len(checks) or not args.strict else 1


def _parse_ranges(texts: list[str]) -> dict[str, tuple[float, float]] | None:
    """``--param NAME:LOW:HIGH`` options as ranges, each checked against the registry."""
    if not texts:
        return None
    from .calibration import check_range
    from .params import Typed

    ranges: dict[str, tuple[float, float]] = {}
    for text in texts:
        where = f"--param {words(text)}"
        parts = text.split(":")
        if len(parts) != 3 or not parts[0].strip():
            raise InputError(f"{where} is not of the form NAME:LOW:HIGH (e.g. defection_rate:0.01:0.06)")
        name = parts[0].strip()
        if name in ranges:
            raise InputError(f"{where}: {name} is given twice; give each parameter one range")
        ranges[name] = check_range(name, Typed(parts[1].strip()), Typed(parts[2].strip()), where=where)
    return ranges


def _parse_cutoff(text: str) -> float:
    import math

    try:
        cutoff = float(text)
    except ValueError:
        cutoff = math.nan
    if not math.isfinite(cutoff) or cutoff <= 0:
        raise InputError(f"--cutoff {words(text, typed=True)} is not allowed; expected a number above 0 (default 3)")
    return cutoff


def cmd_calibrate(args: argparse.Namespace) -> int:
    from .fsutil import check_out_path

    sizes = {k: _parse_whole(getattr(args, k), f"--{k}", 1) for k in ("waves", "points", "replicates")}
    seed = _parse_seed(args.seed)
    cutoff = _parse_cutoff(args.cutoff)
    workers = _parse_workers(args.workers)
    ranges = _parse_ranges(args.param)
    patterns = _parse_whole(args.patterns, "--patterns", 0)
    from .sweep import check_executor

    check_executor(args.executor, workers, None)
    out = check_out_path(args.out)
    from .calibration import REPLICATE_GROWTH, calibrate, check_calibration

    names = list(check_calibration(ranges=ranges, seed=seed, cutoff=cutoff, patterns=patterns, **sizes))
    _preflight(out, "calibration", "calibration")  # refused before anything is said
    reps = [sizes["replicates"] * REPLICATE_GROWTH ** k for k in range(sizes["waves"])]
    # the settings as typed, for a refusal of a folder that holds a calibration made with others
    typed = {f"range {text.split(':')[0].strip()}": f"--param {text}" for text in args.param}
    if args.param:
        typed["parameters"] = " ".join(f"--param {text}" for text in args.param)
    typed.update({k: f"--{k} {getattr(args, k)}" for k in ("waves", "points", "replicates", "seed", "cutoff")})

    def header() -> None:  # said once the folder is known to hold no calibration with other settings
        print(f"History matching of the reference scenario: {_n(len(names), 'parameter')}, up to "
              f"{_n(sizes['waves'], 'wave')} of {_n(sizes['points'], 'point')} ({', '.join(map(str, reps))} "
              f"replicate{'' if reps == [1] else 's'} a point) ({args.executor}) -> {out}",
              flush=True)

    res, stopped = _until_stopped(lambda: calibrate(ranges=ranges, seed=seed, cutoff=cutoff, out=out,
                                                    executor=args.executor, workers=workers, progress=not args.quiet,
                                                    fresh=args.fresh, patterns=patterns, typed=typed,
                                                    announce=header, **sizes))
    if stopped is not None:
        return stopped
    print("\n".join(_calibration_lines(res)))
    return 0


def _calibration_lines(res) -> list[str]:
    """The waves, the region not ruled out and the chosen point, as printed by 'peacesim calibrate'."""
    from .calibration import num_text as num

    lines = ["", f"{'wave':>4}  {'points':>6}  {'replicates':>10}  {'runs':>6}  {'NROY':>4}  smallest I_max"]
    for w in res.waves:
        lines.append(f"{w.number:>4}  {w.points:>6}  {w.replicates:>10}  {w.points * w.replicates:>6}  {w.nroy:>4}  "
                     f"{w.best['I_max']:.2f}")
    if res.message:
        lines += [""] + textwrap.wrap(res.message, _width())
    last = res.waves[-1]
    if res.chosen is not None:
        width = max(len(n) for n in res.ranges)
        lines += ["", f"Not ruled out (I_max <= {res.cutoff:g}) in wave {last.number}: {last.nroy} of {last.points} "
                      "points", f"{'parameter':<{width}}  {'searched':>17}  {'5%':>8}  {'median':>8}  {'95%':>8}  "
                                 "share of range"]
        for _, r in res.region.iterrows():
            searched = f"{num(r['low'])}-{num(r['high'])}"
            lines.append(f"{r['parameter']:<{width}}  {searched:>17}  {num(r['q05']):>8}  {num(r['median']):>8}  "
                         f"{num(r['q95']):>8}  {r['share_of_range']:>14.0%}")
        if len(res.patterns):
            lines += ["", f"The nine patterns (quick validation) at the {len(res.patterns)} best points:",
                      f"{'design point':>12}  {'I_max':>5}  pointing the stated way  holding"]
            for _, r in res.patterns.iterrows():
                lines.append(f"{int(r['design_point']):>12}  {r['I_max']:>5.2f}  {int(r['directions']):>10} of "
                             f"{int(r['checked']):<10}  {int(r['held']):>7}")
        i_max = res.chosen_implausibility["I_max"]
        how = (f"of these with all nine pointing the stated way, the most holding; I_max {i_max:.2f}"
               if res.chosen_by == "patterns" else f"smallest I_max, {i_max:.2f}")
        lines += ["", f"Chosen point ({how}): "
                  + ", ".join(f"{n} = {v:g}" for n, v in res.chosen.items())]
        for t in res.targets:
            e = res.chosen_estimates[t.key]
            lines.append(f"  {t.name}: {t.fmt(e.value)} [{e.low:.3g}, {e.high:.3g}], target {t.z:g}{t.unit}, "
                         f"I = {res.chosen_implausibility[t.key]:.2f}")
    lines += ["", f"Report: {res.report} (waves.csv and nroy.png beside it)"]
    return lines


# ---------------------------------------------------------------------------------------------
# dashboard
# ---------------------------------------------------------------------------------------------
def cmd_dashboard(args: argparse.Namespace) -> int:
    from .scenario import load_scenario, resolve_scenario

    try:
        port = int(args.port)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise InputError(f"--port {words(args.port)} is not allowed; expected a whole number from 1 to 65535")
    load_scenario(args.scenario)  # a bad scenario is refused before the server starts
    ref = str(resolve_scenario(args.scenario).resolve())
    from .dashboard import serve  # Solara and Mesa only now

    serve(ref, host=args.host, port=port)
    return 0


# ---------------------------------------------------------------------------------------------
# parser and entry point
# ---------------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """An argument parser whose refusals are one line, like every other error of the command."""

    def error(self, message: str):
        if message.endswith("required: COMMAND"):  # 'peacesim' alone: show how it is used
            super().error(message)
        self._refuse(message, self.prog)

    def _refuse(self, message: str, prog: str):
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see '{prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``peacesim``, with one subparser per subcommand."""
    parser = _Parser(
        prog=PROG,
        description="Agent-based simulation of peace-process dynamics.",
        epilog="Run 'peacesim COMMAND --help' for a command's options.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    run = sub.add_parser(
        "run", help="run a scenario and write its results",
        description="Run a scenario once and write series.csv, episodes.csv, events.csv, events.json, "
                    "outcome.json, narrative.txt and timeline.png into the output folder.",
    )
    run.add_argument("scenario", metavar="SCENARIO",
                     help="a shipped scenario's short name (see 'peacesim scenarios') or a path to a TOML file")
    run.add_argument("--seed", default=None, metavar="N",
                     help="random seed, a whole number >= 0 (default: the scenario file's seed, if it has one, else 1)")
    run.add_argument("--months", default=None, metavar="N",
                     help=f"simulation horizon in months (default: the scenario's, normally {REGISTRY['months'].default})")
    run.add_argument("--out", default=None, metavar="DIR",
                     help="output folder (default: results/SCENARIO-seedN; for a file with its own seed, "
                          "such as a dashboard session's, results/SCENARIO-session-seedN)")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                     help="override a model-wide parameter (handover_quality=0.8) or a field of every actor "
                          "of a kind (mediator.skill=0.9); may repeat; see 'peacesim params'")
    run.add_argument("--intervene", action="append", default=[], metavar="MONTH:KIND[:ARG=VALUE,...]",
                     help="apply an intervention at the start of MONTH, e.g. '24:rotate:actor=the UN envoy' or "
                          "'36:cut_funding:actor=the mediation NGO,months=12'; may repeat; see "
                          "'peacesim interventions'")
    run.add_argument("--no-figure", action="store_true", help="do not draw timeline.png")
    run.add_argument("--quiet", action="store_true", help="print nothing on success")
    run.set_defaults(func=cmd_run)

    rr = sub.add_parser(
        "rerun", help="run a row of a sweep's results again, with its series and story",
        description="Run one row of a results folder's runs.parquet again (a sweep's, a sensitivity analysis's "
                    "or its pilot's), exactly as the sweep ran it: the experiment file's text kept in the folder's "
                    "manifest.json, the design point's values and the replicate's seed. Writes what 'peacesim run' "
                    "writes. Refused if the scenario file or the model has changed since the sweep.",
    )
    rr.add_argument("folder", metavar="FOLDER", help="a sweep's results folder (with manifest.json)")
    rr.add_argument("--design-point", required=True, metavar="N", help="the row's design_point")
    rr.add_argument("--replicate", required=True, metavar="N", help="the row's replicate")
    rr.add_argument("--out", default=None, metavar="DIR",
                    help="output folder (default: results/FOLDER-pointN-replicateR)")
    rr.add_argument("--no-figure", action="store_true", help="do not draw timeline.png")
    rr.add_argument("--quiet", action="store_true", help="print nothing on success")
    rr.set_defaults(func=cmd_rerun)

    iv = sub.add_parser("interventions", help="list the interventions and their arguments",
                        description="List what can be done to a running process: each intervention's arguments "
                                    "(with defaults and bounds), what it does and its source.")
    iv.add_argument("kind", metavar="KIND", nargs="?", default=None, help="only this intervention")
    iv.set_defaults(func=cmd_interventions)

    scen = sub.add_parser("scenarios", help="list the shipped scenarios",
                          description="List the shipped scenarios: short name and title.")
    scen.set_defaults(func=cmd_scenarios)

    par = sub.add_parser("params", help="list the parameters with defaults, bounds and meaning",
                         description="List the parameter registry: name, default, allowed values, unit and "
                                     "meaning; model-wide parameters by group, then actor fields by kind.")
    par.add_argument("--group", metavar="G", default=None,
                     help="only this group: " + ", ".join(_group_names()))
    par.set_defaults(func=cmd_params)

    show = sub.add_parser("show", help="describe a scenario",
                          description="Print a scenario's title, description, learning points, sources and actors.")
    show.add_argument("scenario", metavar="SCENARIO", help="a shipped scenario's short name or a path to a TOML file")
    show.set_defaults(func=cmd_show)

    exps = sub.add_parser("experiments", help="list the shipped experiments",
                          description="List the shipped experiments: short name, title and size.")
    exps.set_defaults(func=cmd_experiments)

    sw = sub.add_parser(
        "sweep", help="run an experiment: many runs over a design, resumable",
        description="Run every run of an experiment that is not stored yet (an interrupted sweep resumes "
                    "where it stopped), write runs.parquet, episodes.parquet (and series.parquet) with a "
                    "manifest.json into the results folder, then its figures and report.",
    )
    sw.add_argument("experiment", metavar="EXPERIMENT",
                    help="a shipped experiment's short name (see 'peacesim experiments') or a path to a TOML file")
    _add_executor_args(sw)
    sw.add_argument("--scheduler", metavar="ADDR", default=None,
                    help="address of an existing Dask scheduler, e.g. tcp://10.0.0.5:8786 (with --executor dask)")
    sw.add_argument("--out", metavar="DIR", default=None, help="results folder (default: results/EXPERIMENT)")
    sw.add_argument("--fresh", action="store_true",
                    help="remove peacesim's results from the folder and start over instead of resuming "
                         "(files peacesim did not write are left alone)")
    sw.add_argument("--retry-failed", action="store_true",
                    help="run again the runs stored as failed (their rows are replaced)")
    sw.add_argument("--no-figures", action="store_true", help="do not draw figures after the sweep")
    sw.add_argument("--quiet", action="store_true", help="no progress bar")
    sw.set_defaults(func=cmd_sweep)

    pl = sub.add_parser("plot", help="draw the figures and report of a results folder",
                        description="Draw Kaplan-Meier curves of agreement durability, durability and agreement "
                                    "against the swept parameters, heat maps, a summary table and a report.")
    pl.add_argument("results", metavar="RESULTS_DIR", help="a folder written by 'peacesim sweep'")
    pl.set_defaults(func=cmd_plot)

    se = sub.add_parser(
        "sensitivity", help="global sensitivity analysis of an experiment (Morris, Sobol', RBD-FAST)",
        description="Run a sensitivity experiment (a file with a [sensitivity] table) through the experiment runner "
                    "(resumable), then compute its indices with 95% intervals, the share of each outcome's variance "
                    "that is replicate noise and a convergence verdict, and write them with figures and a report "
                    "into the results folder. --pilot measures the noise first and says how many replicates are "
                    "needed.",
    )
    se.add_argument("experiment", metavar="EXPERIMENT",
                    help="a shipped sensitivity experiment's short name (see 'peacesim experiments') or a path")
    _add_executor_args(se)
    se.add_argument("--scheduler", metavar="ADDR", default=None,
                    help="address of an existing Dask scheduler (with --executor dask)")
    se.add_argument("--out", metavar="DIR", default=None,
                    help="results folder (default: results/EXPERIMENT, or results/EXPERIMENT-pilot)")
    se.add_argument("--fresh", action="store_true", help="remove peacesim's results from the folder and start over")
    se.add_argument("--replicates", metavar="N", default=None,
                    help="replicates per sample point (default: the file's experiment.replicates)")
    se.add_argument("--pilot", action="store_true",
                    help="instead of the analysis, measure the replicate noise on a small Latin hypercube and say how "
                         "many replicates each outcome needs")
    se.add_argument("--pilot-points", metavar="N", help="points of the pilot (default 32; with --pilot)")
    se.add_argument("--pilot-replicates", metavar="N",
                    help="replicates per pilot point (default 16; with --pilot)")
    se.add_argument("--target-noise", metavar="SHARE",
                    help="share of the per-point means' variance that may be noise (default 0.1; with --pilot)")
    se.add_argument("--no-figures", action="store_true", help="write the tables and the report, no figures")
    se.add_argument("--quiet", action="store_true", help="no progress bar")
    se.set_defaults(func=cmd_sensitivity)

    cm = sub.add_parser(
        "compare", help="compare coordination and funding strategies side by side, with a report",
        description="Run every strategy of a comparison file on the same seeds (common random numbers), in every "
                    "sampled world of its uncertain conditions; measure agreement, durability and violence with "
                    "paired 95% intervals against the baseline; find where the best strategy stops being best "
                    "(PRIM); write report.html, report.md and the tables into the results folder.",
    )
    cm.add_argument("comparison", metavar="COMPARISON", nargs="?", default=None,
                    help="a shipped comparison's short name (see 'peacesim compare --list') or a path to a TOML file")
    cm.add_argument("--list", action="store_true", help="list the shipped comparisons")
    cm.add_argument("--seeds", metavar="N", default=None, help="seeds per world (default: the file's)")
    cm.add_argument("--worlds", metavar="N", default=None, help="sampled worlds (default: the file's)")
    cm.add_argument("--out", metavar="DIR", default=None, help="results folder (default: results/compare_NAME)")
    _add_executor_args(cm)
    cm.add_argument("--scheduler", metavar="ADDR", default=None,
                    help="address of an existing Dask scheduler (with --executor dask)")
    cm.add_argument("--fresh", action="store_true", help="run every run again instead of resuming")
    cm.add_argument("--quiet", action="store_true", help="no progress bar")
    cm.set_defaults(func=cmd_compare)

    va = sub.add_parser(
        "validate", help="check the nine patterns from the literature",
        description="Run the experiments behind the nine patterns of docs/ODD.md section 1, measure each "
                    "effect with a 95% confidence interval, print a table (pattern, source, effect, interval, "
                    "verdict) and write a report with figures to results/validation/.",
    )
    va.add_argument("--quick", action="store_true", help="a quarter of the replicates (2-3 minutes on 2 cores; longer on a busy or slower machine)")
    va.add_argument("--only", metavar="N[,N...]", default=None, help="only these patterns, e.g. 4 or 2,6")
    va.add_argument("--out", metavar="DIR", default="results/validation", help="folder for runs and the report")
    va.add_argument("--scenario", metavar="NAME", default="reference",
                    help="base scenario of every check: a shipped scenario's name or a TOML file (default: reference)")
    va.add_argument("--seed", metavar="N", default="1",
                    help="master seed: pattern k derives its runs' seeds from 100*N + k (default: 1)")
    _add_executor_args(va)
    va.add_argument("--strict", action="store_true", help="exit with status 1 unless every pattern holds")
    va.add_argument("--ablate", action="store_true",
                    help="also rerun each check with each of its mechanisms switched off, on the same scenario "
                         "and seed (half the replicates, a quarter with --quick), and write "
                         "ablation[-<scenario>-seed<N>][-quick].md beside the report")
    va.add_argument("--quiet", action="store_true", help="no progress bars")
    va.set_defaults(func=cmd_validate)

    ca = sub.add_parser(
        "calibrate", help="calibrate parameters by history matching against the targets from the literature",
        description="Iterated history matching of the reference scenario: run a Latin hypercube of points over the "
                    "given ranges, rule out the points whose implausibility against the calibration targets (relapse "
                    "within 5 and 10 years, agreement reached, months of talks, share of ceasefires) exceeds the "
                    "cutoff, "
                    "and draw each next wave from the points not ruled out, with twice the replicates. Resumable; "
                    "writes calibration.json (the settings), waves.csv, calibration.md and nroy.png (see "
                    "docs/VALIDATION.md). A folder holding a calibration made with other settings is refused "
                    "unless --fresh.",
    )
    ca.add_argument("--param", action="append", metavar="NAME:LOW:HIGH", default=[],
                    help="a parameter and the range searched, inside its bounds in 'peacesim params' (may repeat; "
                         "default: the ranges of peacesim.calibration.DEFAULT_RANGES)")
    ca.add_argument("--waves", metavar="N", default="3", help="waves at most (default 3)")
    ca.add_argument("--points", metavar="N", default="80", help="points a wave (default 80)")
    ca.add_argument("--replicates", metavar="N", default="40",
                    help="replicates a point in wave 1, doubled each wave (default 40)")
    ca.add_argument("--seed", metavar="N", default="2026", help="seed of the design and of the runs (default 2026)")
    ca.add_argument("--cutoff", metavar="I", default="3",
                    help="largest implausibility of a point not ruled out (default 3, the three-sigma rule)")
    ca.add_argument("--patterns", metavar="N", default="0",
                    help="then run the quick validation of the nine patterns at the N best points not ruled out "
                         "and choose, of those whose nine effects point the stated way, the one with the most "
                         "patterns holding (default 0: the point of smallest implausibility)")
    ca.add_argument("--out", metavar="DIR", default="results/calibration", help="output folder "
                    "(default results/calibration)")
    _add_executor_args(ca)
    ca.add_argument("--fresh", action="store_true",
                    help="remove everything an earlier calibration wrote in the folder (its waves, pattern checks, "
                         "tables and report; nothing else) and run every wave again, instead of reusing stored runs")
    ca.add_argument("--quiet", action="store_true", help="no progress bars")
    ca.set_defaults(func=cmd_calibrate)

    db = sub.add_parser(
        "dashboard", help="the classroom dashboard in a browser",
        description="Serve the classroom dashboard (Solara): pick a scenario, step it, intervene, see where the run "
                    "stands among many seeds, export a debrief. Each browser tab has its own model. Works without "
                    "internet access.")
    db.add_argument("scenario", metavar="SCENARIO", nargs="?", default="reference",
                    help="the scenario a new tab opens with (default: reference)")
    db.add_argument("--port", metavar="N", default="8765", help="port to listen on (default 8765)")
    db.add_argument("--host", metavar="H", default="127.0.0.1",
                    help="address to listen on (default 127.0.0.1, this machine only; 0.0.0.0 for the room's network)")
    db.set_defaults(func=cmd_dashboard)
    return parser


def _add_executor_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=("serial", "processes", "dask"), default="processes",
                        help="where the runs execute: in this process, on local worker processes (default), or "
                             "on a Dask cluster")
    parser.add_argument("--workers", metavar="N", default=None, help="worker processes (default: all cores)")


def _one_line(message: str) -> str:
    return " ".join(part.strip() for part in str(message).splitlines() if part.strip())


_QUIET = [False]  # the command was given --quiet
_GLYPHS_NOTED = [False]
_NOTES_SHOWN: set[str] = set()  # notes said in this command


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    # matplotlib's warning for each character its font cannot draw (a name in Burmese or Thai): one
    # note for the whole command, none with --quiet
    text = str(message)
    if issubclass(category, UserWarning) and text.startswith("Glyph ") and "missing from font" in text:
        if not (_QUIET[0] or _GLYPHS_NOTED[0]):
            _GLYPHS_NOTED[0] = True
            code = text.split()[1]
            shown = f"{chr(int(code))!r}, " if code.isdigit() and int(code) < 0x110000 else ""
            print(f"{PROG}: note: the figures' font cannot draw some characters of the names or titles "
                  f"({shown}{_one_line(text.split('(', 1)[-1].split(')', 1)[0])}, and maybe others); they are "
                  "drawn as empty boxes", file=sys.stderr)
        return
    # peacesim's own warnings (a damaged part set aside) as one line, without Python's source line
    if issubclass(category, ResultsWarning):
        print(f"{PROG}: warning: {_one_line(str(message))}", file=sys.stderr)
    elif issubclass(category, InputNote):
        if not _QUIET[0] and text not in _NOTES_SHOWN:  # said once (a scenario is cast twice); not with --quiet
            _NOTES_SHOWN.add(text)
            print(f"{PROG}: note: {_one_line(text)}", file=sys.stderr)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


_default_showwarning = warnings.showwarning


def _showable_output() -> None:
    """Output and messages whose characters the terminal's encoding cannot show (a scenario's
    'ö' or '—' under LANG=C) are written with those characters escaped, not stopped with a
    traceback."""
    for stream in (sys.stdout, sys.stderr):
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
        if encoding not in ("utf8", "utf8sig") and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a stream that cannot be reconfigured
                pass


def main(argv: list[str] | None = None) -> int:
    """Run the ``peacesim`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit status.

    Exit status: 0 done; 2 bad input (one line); 1 a file-system fault, a folder in use or a sweep
    that could not go on (one line); 130 interrupted."""
    _showable_output()
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # 'peacesim run reference extra': the command's own help, which lists its options
        parser._refuse(f"unrecognized arguments: {' '.join(extra)}", f"{PROG} {args.command}")
    _QUIET[0], _GLYPHS_NOTED[0] = bool(getattr(args, "quiet", False)), False
    _NOTES_SHOWN.clear()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            status = args.func(args)
            sys.stdout.flush()  # a fault writing the output is met here, where it can be named
            return status
    except InputError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 2
    except StorageError as exc:
        print(f"{PROG}: error: {_one_line(str(exc))}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # output piped into 'head' and the like: stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a fault of the file system met where no step expected one: still one line
        from .fsutil import storage_error

        where = None
        if exc.filename is None:  # a write to an open file: the command's output, if it cannot be flushed
            try:
                sys.stdout.flush()
            except OSError:
                where = "standard output"
                try:  # nothing more to it at exit, where the same fault would print a traceback
                    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                except (OSError, ValueError):  # pragma: no cover - an output without a file descriptor
                    pass
        print(f"{PROG}: error: {_one_line(str(storage_error(exc, where, 'write' if where else '')))}", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        if not str(exc).startswith("Symlink loop"):  # pathlib's way of saying ELOOP before Python 3.13
            raise
        print(f"{PROG}: error: {_one_line(str(exc))}: a symbolic link leads back to itself", file=sys.stderr)
        return 1
