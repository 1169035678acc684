"""Writing one run's results to a folder: tables as CSV, events and outcome as JSON, the story, a figure.

Files are built in a temporary folder beside the destination (same filesystem) and only then moved
in, so a failure part-way (a plotting error, a full disk, an interrupt) leaves no half-written set
of files behind. Nothing written here carries a timestamp: the same run gives byte-identical files.
"""

from __future__ import annotations

import enum
import json
import math
import os
import secrets
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .errors import InputError, StorageError
from .fsutil import ESCAPE as _ESCAPE  # the error handler every text file is written with

if TYPE_CHECKING:  # pragma: no cover
    from .result import RunResult

__all__ = ["write_run", "to_jsonable", "escape_undecodable", "OUTPUT_FILES"]

#: Every file :func:`write_run` may write, in the order it writes them.
OUTPUT_FILES = (
    "series.csv",
    "episodes.csv",
    "events.csv",
    "events.json",
    "outcome.json",
    "narrative.txt",
    "timeline.png",
)
#: The figure, the one output file a run may leave out (``figure=False``).
FIGURE_FILE = "timeline.png"


def escape_undecodable(text: str) -> str:
    """``text`` as a file can hold it: the bytes of a name that were not UTF-8 (a file name
    b'bad\\xff.toml' reads as 'bad\\udcff.toml') are shown as escapes ('bad\\\\xff.toml');
    any other text is returned as it is."""
    if text.isascii():
        return text
    return text.encode("utf-8", _ESCAPE).decode("utf-8")


def to_jsonable(x: Any) -> Any:
    """``x`` as plain JSON data: numpy scalars and arrays become Python numbers and lists, NaN and
    infinities become ``None`` (JSON has neither), sets become sorted lists, enums their names.

    Text is written as a file can hold it: bytes of a file name that are not UTF-8 are shown as
    escapes (:func:`escape_undecodable`).

    Raises :class:`TypeError` for anything else, rather than writing an unreadable ``repr``.
    """
    if x is None:
        return x
    if isinstance(x, str):
        return escape_undecodable(x)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        f = float(x)
        return f if math.isfinite(f) else None
    if isinstance(x, enum.Enum):
        return x.name
    if isinstance(x, Mapping):
        return {escape_undecodable(str(k)): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, (set, frozenset)):
        # sorted, so that files do not depend on string hashing
        return sorted((to_jsonable(v) for v in x), key=lambda v: (type(v).__name__, str(v)))
    if isinstance(x, Path):
        return escape_undecodable(str(x))
    if x is pd.NA or x is pd.NaT:
        return None
    raise TypeError(f"cannot write a value of type {type(x).__name__} as JSON: {x!r}")


def _dumps(obj: Any, *, indent: int | None = None) -> str:
    return json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)


def _split_actors(text: Any) -> list[str]:
    if not isinstance(text, str) or not text:
        return []
    return text.split(";")


def _event_records(result: RunResult) -> list[dict[str, Any]]:
    ev = result.events
    return [
        {"month": int(m), "kind": str(k), "actors": _split_actors(a), "values": to_jsonable(v or {})}
        for m, k, a, v in zip(ev["month"], ev["kind"], ev["actors"], ev["values"], strict=True)
    ]


def _outcome_document(result: RunResult, inputs: Mapping[str, Any] | None) -> dict[str, Any]:
    from . import __version__

    doc: dict[str, Any] = {
        "peacesim_version": __version__,
        "scenario": result.scenario,
        "seed": result.seed,
        "months": result.months,
        "parties": list(result.parties),
        "outcome": result.outcome,
        "params": result.params,
        "actors": to_jsonable(result.actors),
        "interventions": to_jsonable(result.interventions),
    }
    if inputs:
        doc["inputs"] = dict(inputs)
    return doc


def _write_text(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", errors=_ESCAPE, newline="\n") as fh:
        fh.write(text)


def _write_all(result: RunResult, folder: Path, *, figure: bool, inputs: Mapping[str, Any] | None) -> list[str]:
    """Write every output file into ``folder``; return the names written, in order."""
    csv = {"index": False, "lineterminator": "\n", "encoding": "utf-8", "errors": _ESCAPE}
    result.series.to_csv(folder / "series.csv", **csv)
    result.episodes.to_csv(folder / "episodes.csv", **csv)

    events = _event_records(result)
    events_table = result.events.copy()
    events_table["values"] = [_dumps(e["values"]) for e in events]
    events_table.to_csv(folder / "events.csv", **csv)
    # one event per line: valid JSON that still reads (and greps, and diffs) line by line
    _write_text(folder / "events.json", "[\n" + ",\n".join(_dumps(e) for e in events) + ("\n]\n" if events else "]\n"))

    _write_text(folder / "outcome.json", _dumps(_outcome_document(result, inputs), indent=2) + "\n")

    from .narrative import render

    lines = render(result.events, minor=True, horizon=int(result.months))
    _write_text(folder / "narrative.txt", "".join(line + "\n" for line in lines))

    names = ["series.csv", "episodes.csv", "events.csv", "events.json", "outcome.json", "narrative.txt"]
    if figure:
        from .plotting import save_timeline

        save_timeline(result, folder / FIGURE_FILE)
        names.append(FIGURE_FILE)
    return names


#: A name's first characters kept in its staging folder's name (a name of 255 bytes is legal).
_STAGING_NAME = 100


def _staging_prefix(out: Path, what: str = "partial") -> str:
    """The start of the name of a run's staging folder beside ``out`` (then the pid and a token);
    ``what`` = "previous" names where an earlier run's files are kept when they cannot be put back."""
    return f".{out.name[:_STAGING_NAME]}.{what}-"


def _remove_stale_staging(out: Path) -> None:
    """Remove the staging folders of runs into ``out`` whose process is gone (killed outright: no
    code of theirs ran to remove them). Only folders of that exact name whose files are all a
    run's files are removed."""
    import re

    from .fsutil import MARKER, _alive, is_temp

    pattern = re.compile(re.escape(_staging_prefix(out)) + r"([0-9]+)-[0-9a-f]{8}")
    try:
        candidates = [p for p in out.parent.iterdir() if pattern.fullmatch(p.name)]
    except OSError:
        return
    for p in candidates:
        pid = int(pattern.fullmatch(p.name).group(1))
        try:
            if pid == os.getpid() or _alive(pid) or p.is_symlink() or not p.is_dir():
                continue
            if all(c.name in (MARKER, *OUTPUT_FILES, _ASIDE) or is_temp(c.name) for c in p.iterdir()):
                shutil.rmtree(p)
        except OSError:
            continue  # left for another time: it is not in the way


#: Inside the staging folder: the previous run's files while the new ones are moved in.
_ASIDE = ".previous"


class _NotPutBack(Exception):
    """The previous run's files could not all be put back: what is left of them is kept (``kept``)."""

    def __init__(self, error: Exception, kept: Path):
        super().__init__(str(error))
        self.error, self.kept = error, kept


def _swap_in(out: Path, staging: Path, names: list[str], gone: list[str], storage_error) -> None:
    """Replace ``out``'s files ``names`` with the staging folder's and remove ``gone``, all or
    nothing. The previous run's files are first linked (or copied) into the staging folder, so that
    every name stays in ``out`` at every moment (the marker is replaced first, as it always was),
    and they are put back if any step fails: the folder never holds files of two runs."""
    aside = staging / _ASIDE
    aside.mkdir()
    backed: list[str] = []  # previous files with a copy aside
    placed: list[str] = []  # new files moved in
    try:
        for name in dict.fromkeys([*names, *gone]):
            if (out / name).is_file():
                try:
                    try:
                        os.link(out / name, aside / name)
                    except OSError:  # a file system without hard links
                        shutil.copy2(out / name, aside / name)
                except OSError as exc:
                    raise storage_error(exc, out / name, "keep the previous run's file") from None
                backed.append(name)
        for name in names:
            try:
                os.replace(staging / name, out / name)
            except OSError as exc:
                raise storage_error(exc, out / name, "write the results") from None
            placed.append(name)
        for name in gone:
            if (out / name).is_file():
                (out / name).unlink()
    except BaseException as exc:
        undone = True
        for name in placed:  # new files that replaced none are removed; the others are replaced back
            if name not in backed:
                try:
                    (out / name).unlink()
                except OSError:
                    undone = False
        for name in backed:
            try:
                os.replace(aside / name, out / name)
            except OSError:
                undone = False
        if not undone:  # (a second fault while undoing the first: keep what is left and say where)
            kept = out.parent / f"{_staging_prefix(out, 'previous')}{os.getpid()}-{secrets.token_hex(4)}"
            try:
                os.rename(aside, kept)
            except OSError:
                kept = aside
            raise _NotPutBack(exc, kept) from None
        raise


def write_run(result: RunResult, out_dir: str | os.PathLike, *, figure: bool = True,
              inputs: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Write a run's results into ``out_dir`` (created if needed) and return ``{file name: path}``.

    Writes ``series.csv``, ``episodes.csv``, ``events.csv`` (the ``values`` column as JSON text),
    ``events.json``, ``outcome.json`` (the outcome with the scenario, seed, horizon, parties,
    parameters and peacesim version), ``narrative.txt`` (every event, minor ones included) and,
    unless ``figure`` is false, ``timeline.png``. ``inputs`` (for example the command-line
    overrides) is stored in ``outcome.json`` as given.

    All files are first written to a temporary folder beside ``out_dir`` and then moved in; if
    anything fails, ``out_dir`` is left as it was. The folder is marked as one run's results
    (a ``.peacesim`` file). Only a new folder, an empty one or one that peacesim wrote a run into
    is written: a folder holding anything else is refused with
    :class:`~peacesim.errors.InputError`, so that no file of the user's is ever replaced. Files of a
    previous run in ``out_dir`` are replaced, and an output file this run does not write
    (``timeline.png`` with ``figure=False``) is removed so the folder never mixes two runs. Other
    files that were added to a results folder of peacesim's are left alone.
    """
    from .fsutil import MARKER, FolderLock, check_out_path, claim, read_marker, storage_error, write_marker

    out = check_out_path(out_dir, "out_dir")
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder")
    claim(out, "run", option="out_dir")
    before = (read_marker(out) or {}) if out.exists() else {}
    written = before.get("files") if isinstance(before.get("files"), list) else None
    for name in (MARKER, *OUTPUT_FILES):  # what would be replaced or removed must be a file of ours
        p = out / name
        if p.is_symlink() or (p.exists() and not p.is_file()):
            what = "a link" if p.is_symlink() else "a folder" if p.is_dir() else "not a plain file"
            raise InputError(f"{p}: is not a file peacesim wrote ({what}); "
                             "peacesim does not replace it: remove it or choose another folder")
        if written is not None and name in OUTPUT_FILES and name not in written and p.is_file() and (
                figure or name != FIGURE_FILE):
            # (the run in this folder did not write it: a figure of the user's beside a run without one)
            raise InputError(f"{p}: exists and was not written by peacesim (the run in this folder did not write "
                             "it); peacesim does not replace it: move it away or choose another folder")
    created = [p for p in (out.parent, *out.parent.parents) if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(out)
    staging = out.parent / f"{_staging_prefix(out)}{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()  # honours the umask, unlike tempfile.mkdtemp's private 0o700
    try:
        names = _write_all(result, staging, figure=figure, inputs=inputs)
        write_marker(staging, "run", format=1, files=sorted(names))
        if not out.exists():
            # one rename: the folder appears complete or not at all
            os.rename(staging, out)
        else:
            # an output file of the previous run that this one does not write (its figure) goes, if
            # the previous run's marker lists it as written (a marker from before the list: all are)
            gone = [n for n in OUTPUT_FILES if n not in names and (written is None or n in written)]
            with FolderLock(out, "run"):  # another run into this folder waits its turn: one line
                _swap_in(out, staging, [MARKER, *names], gone, storage_error)
    except _NotPutBack as failed:
        if failed.kept.parent != staging:  # (else the staging folder holds them: it stays)
            shutil.rmtree(staging, ignore_errors=True)
        raise StorageError(f"{out}: {failed.error}; the previous run's files could not all be put back: what was not "
                           f"is in {failed.kept}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for folder in created:  # innermost first; only the ones this call made, and only if empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    if staging.exists():
        shutil.rmtree(staging, ignore_errors=True)
    return {name: out / name for name in names}
