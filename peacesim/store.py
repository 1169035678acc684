"""The results folder of a sweep: checked parts written as batches finish, merged when all are there.

Layout of a results folder::

    .peacesim            marker: the folder holds a sweep's results (fsutil)
    .peacesim.lock       advisory lock of the sweep writing into it, with the holder's process id
    manifest.json        provenance, status, and the checksums of the final tables
    runs.parquet  episodes.parquet  [series.parquet]     the final tables, once the sweep is complete
    parts/               one batch = episodes-TAG.arrow, series-TAG.arrow, batch-TAG.json, runs-TAG.arrow
    unreadable-parts/    parts and tables found damaged, moved here and never read again

**What proves a batch whole.** Its ``batch-TAG.json`` records, for each of its files, the SHA-256
of its bytes, its size and its rows, and the keys (design point, replicate, seed) of its runs; the
record carries a checksum of itself. The files are written in the order episodes, series, record,
runs, each atomically, so a batch is done exactly when its runs file exists, its record is intact
and every checksum matches. A batch is checked when a sweep starts and again when the merge reads
it: any damage (a cut file, changed bytes that still parse, a lost or edited record, keys that are
not the design's, a seed that is not the run's) moves the whole batch to ``unreadable-parts/``,
and its runs are run again. The final tables are checked against the checksums in the manifest
in the same way.

**More replicates.** An experiment that differs from the stored one only by a larger
``replicates`` (the same file otherwise, the same scenario, design, master seed and model)
extends the stored sweep: replicate k has the same seed whatever the number of replicates, so the
stored runs are the new experiment's first replicates and only the new ones are run. The manifest
lists each extension (``extended``: from and to how many replicates, and the earlier experiment's
digest), so that a resumed extension still accepts the earlier sweep's tables and parts. A smaller
``replicates`` is refused: stored runs are never dropped.

**Coverage.** The merge takes, for every run of the design, exactly one row (the newest, so that a
run retried with ``--retry-failed`` replaces its failed row) and refuses to call the sweep complete
unless every run of the design is there.

**Memory.** Runs are known by their index in design order (design point x replicates +
replicate), a few bytes each; the parts are built where their batch ran (:mod:`peacesim.parts`)
and merged as a stream, a part at a time, into row groups (:mod:`peacesim.merge`); final tables
are checked by streaming them through SHA-256. A sweep's own process holds no table of all runs.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import fsutil
from . import merge as streamed
from .errors import InputError, ResultsWarning, StorageError
from .experiment import Experiment
from .merge import Damaged
from .parts import KEY_COLUMNS, Part, PartBuilder, episode_schema

__all__ = ["ResultStore", "FORMAT", "KINDS"]

FORMAT = 2
KINDS = ("runs", "episodes", "series")
TABLES = ("runs.parquet", "episodes.parquet", "series.parquet")
_PART = re.compile(r"(runs|episodes|series)-([0-9a-f]{12})\.(arrow|parquet)")
_RECORD = re.compile(r"batch-([0-9a-f]{12})\.json")
_ASIDE_TABLE = re.compile(r"(runs|episodes|series)\.([0-9a-f]{12})\.parquet")
_PLOT_FIGURE = re.compile(r"(km_curves|km_by_.+|durability_vs_.+|agreement_vs_.+|heatmap_.+)\.png")
_PLOT_FILES = ("summary.csv", "report.md")
#: how a report of the earlier replicates begins while an extension is unfinished
_OUTDATED = "> **Not up to date:**"
KEYS = ("design_point", "replicate")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_checksum(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "checksum"}
    return _sha(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _read_table(data, suffix: str, columns: list[str] | None = None):
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    buf = data if isinstance(data, pa.Buffer) else pa.py_buffer(data)
    if suffix == ".parquet":
        return pq.read_table(pa.BufferReader(buf), columns=columns, use_threads=False)
    return feather.read_table(pa.BufferReader(buf), columns=columns, memory_map=False, use_threads=False)


@dataclass
class Source:
    """One verified batch of runs (or the final tables of an earlier merge).

    A sweep of 100,000 runs has thousands of batches, so a source is kept small: its files as
    text (a Path object costs about a kilobyte) and its runs as arrays."""

    name: str  # the batch's tag, or "final"
    seq: int  # order of writing; the final tables come first
    paths: dict[str, str]  # kind -> path of its file
    keys: np.ndarray  # its runs (index in design order), in the order of its runs file
    failed: np.ndarray = field(default_factory=lambda: _NO_RUNS)  # those that failed
    hashes: dict[str, str] = field(default_factory=dict)  # kind -> sha256 of the bytes, when known
    rows: dict[str, int] = field(default_factory=dict)  # kind -> rows, when known

    def __post_init__(self) -> None:
        self.paths = {k: str(p) for k, p in self.paths.items()}
        if not len(self.failed):
            self.failed = _NO_RUNS

    @property
    def files(self) -> dict[str, Path]:
        return {k: Path(p) for k, p in self.paths.items()}


_NO_RUNS = np.empty(0, dtype=np.int64)
_NO_RUNS.flags.writeable = False


class ResultStore:
    """The results folder of one experiment (see the module's description)."""

    def __init__(self, out: Path, exp: Experiment):
        self.out = Path(out)
        self.exp = exp
        self.parts = self.out / "parts"
        self.aside = self.out / "unreadable-parts"
        self.lock = fsutil.FolderLock(self.out, "sweep")
        self.legacy = False
        self.tables: dict[str, dict[str, Any]] = {}  # final table name -> {sha256, bytes, rows}
        self.pending_tables: dict[str, dict[str, Any]] = {}
        self.sources: list[Source] = []
        self._seq = 0
        self.n_runs = exp.n_runs
        self._seeds = np.array(exp.seeds, dtype=np.int64)
        self._experiment_digest = exp.digest()
        self._model_digest = _model_digest()  # once per sweep: the code its runs are made by
        #: the extensions of this folder's sweep (see the module's description), oldest first, and
        #: the one this session makes (None when it resumes or continues the stored sweep as it is)
        self.extensions: list[dict[str, Any]] = []
        self.extension: dict[str, Any] | None = None
        self._digests = {self._experiment_digest}  # the experiments whose parts are this sweep's
        self._earlier_replicates: set[int] = set()  # replicates of the final tables of an earlier merge

    # -------------------------------------------------------------------------------- opening
    def open(self, fresh: bool) -> dict[str, Any] | None:
        """Lock the folder, check it belongs to this experiment (or clear it with ``fresh``).

        Returns the previous manifest, if any. Refuses, with one line and without writing, a folder
        that is not peacesim's, that another process is using, or that belongs to another experiment
        or model version (unless ``fresh``)."""
        out = self.out
        fsutil.claim(out, "sweep")  # before anything is created
        created = not out.exists()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise fsutil.storage_error(exc, out, "create the folder") from None
        try:
            self.lock.acquire()
        except BaseException:
            if created:
                fsutil.remove_files([out / fsutil.LOCK])
                fsutil.remove_empty_dir(out)
            raise
        try:
            _, self.legacy = fsutil.claim(out, "sweep")  # again, now that nobody else can write
            self._check_links()
            old = self._old_manifest(fresh)
            if fresh:
                self.clear(old)
                old = None
                self.legacy = False
                self._extended([], None)
            elif old is not None:
                self._check_belongs(old)
                self.tables = _table_record(old.get("tables"))
                self.pending_tables = _table_record(old.get("tables_pending"))
            marker = fsutil.read_marker(out)
            if marker is None:
                fsutil.write_marker(out, "sweep", format=FORMAT, plot_files=self._legacy_plot_files())
            self._mkdir(self.parts)
        except BaseException:
            self.lock.release()
            raise
        return old

    def close(self) -> None:
        self.lock.release()

    def _mkdir(self, path: Path) -> None:
        try:
            path.mkdir(exist_ok=True)
        except FileExistsError:
            raise StorageError(f"{path}: exists and is not a folder; peacesim needs it as a folder") from None
        except OSError as exc:
            raise fsutil.storage_error(exc, path, "create the folder") from None

    def _check_links(self) -> None:
        for p in (self.parts, self.aside, self.out / "figures", *(self.out / t for t in TABLES)):
            if p.is_symlink():
                raise StorageError(f"{p}: is a symbolic link; peacesim does not follow links inside a results folder "
                                   "(it would write outside it); remove the link")

    def _old_manifest(self, fresh: bool) -> dict[str, Any] | None:
        path = self.out / "manifest.json"
        try:
            raw = path.read_bytes()  # (decoded below: a damaged file that is not UTF-8 is unreadable)
        except FileNotFoundError:
            if not fresh and self._holds_results():
                raise InputError(f"--out {self.out}: manifest.json is missing, so peacesim cannot tell which experiment "
                                 "the results there belong to; use --fresh to start over (it removes only peacesim's "
                                 "files) or --out to choose another folder") from None
            return None
        except OSError as exc:
            raise fsutil.storage_error(exc, path, "read") from None
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"a JSON {type(data).__name__}, not an object")
        except (ValueError, UnicodeDecodeError) as exc:
            if fresh:
                return None
            raise InputError(f"{path}: unreadable ({fsutil.cut(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 80)}), "
                             "so peacesim cannot tell which experiment the results belong to; use --fresh to start "
                             "over (it removes only peacesim's files) or --out to choose another folder") from None
        return data

    def _holds_results(self) -> bool:
        if any((self.out / t).exists() for t in TABLES):
            return True
        try:
            return self.parts.is_dir() and any(_PART.fullmatch(p.name) for p in self.parts.iterdir())
        except OSError:
            return False

    def _check_belongs(self, old: dict[str, Any]) -> None:
        extension = None
        if old.get("experiment_digest") != self.exp.digest():
            name = old.get("name")
            if not _only_replicates_differ(old, self.exp):
                raise InputError(
                    f"--out {self.out}: the results there belong to a different experiment "
                    f"({fsutil.cut(str(name), 40) if isinstance(name, str) else '?'}, or its experiment or scenario "
                    "file has changed); use --fresh to replace them or --out to choose another folder")
            stored = old["replicates"]
            if stored > self.exp.replicates:
                have = f"have {stored} replicates"
                last = unfinished_extension(old)
                if last is not None:
                    done, total = old.get("runs_done"), old.get("runs_total")
                    have = (f"are being extended from {last['from_replicates']} to {stored} replicates (not finished"
                            + (f": {done} of {total} runs done" if isinstance(done, int) and isinstance(total, int)
                               else "") + ")")
                raise InputError(
                    f"--out {self.out}: the results there {have} and the experiment now asks for "
                    f"{self.exp.replicates}; stored runs are not dropped: set replicates = {stored} (or more, to "
                    "extend the sweep), or use --fresh to start over or --out to choose another folder")
            extension = {"from_replicates": stored, "to_replicates": self.exp.replicates,
                         "extended": fsutil.now(),
                         "experiment_digest_before": old.get("experiment_digest"),
                         "status_before": old.get("status") if isinstance(old.get("status"), str) else "unknown"}
        if old.get("model_digest") != self._model_digest:
            commit = str(old.get("git_commit", "?"))[:10]
            raise InputError(
                f"--out {self.out}: the results there were made by a different version of the model "
                f"(peacesim {fsutil.cut(str(old.get('peacesim_version', '?')), 20)}, commit {commit}); "
                "use --fresh to rerun them or --out to choose another folder")
        self._extended(_extensions(old.get("extended")), extension)

    def _extended(self, history: list[dict[str, Any]], extension: dict[str, Any] | None) -> None:
        """Note the extensions of the stored sweep and the one this session makes: the parts and
        final tables of the earlier experiments they name are this sweep's too."""
        self.extension = extension
        self.extensions = [*history, extension] if extension is not None else history
        self._digests = {self._experiment_digest, *(e["experiment_digest_before"] for e in self.extensions)}
        self._earlier_replicates = {e["from_replicates"] for e in self.extensions}

    def _legacy_plot_files(self) -> list[str]:
        """Figures and report of a folder written before the marker existed: peacesim's by their names."""
        if not self.legacy:
            return []
        found = [n for n in _PLOT_FILES if (self.out / n).is_file()]
        figs = self.out / "figures"
        if figs.is_dir() and not figs.is_symlink():
            found += [f"figures/{p.name}" for p in sorted(figs.iterdir()) if p.is_file() and _PLOT_FIGURE.fullmatch(p.name)]
        return found

    # -------------------------------------------------------------------------------- clearing
    def clear(self, old: dict[str, Any] | None = None) -> None:
        """Remove peacesim's own files from the folder (``--fresh``); anything else stays. A table
        is peacesim's when the previous manifest ``old`` records it (written, or being put in
        place), in a folder from before the tables were recorded, or when no manifest can be read
        (then every file with a table's name is taken for peacesim's, as it cannot be told apart)."""
        out = self.out
        marker = fsutil.read_marker(out) or {}
        plot = [p for p in marker.get("plot_files", []) if isinstance(p, str)] + self._legacy_plot_files()
        if isinstance(old, dict):
            recorded = {**_table_record(old.get("tables")), **_table_record(old.get("tables_pending"))}
            tables = [t for t in TABLES if self.legacy or t in recorded]
        else:  # no readable manifest says which tables were written: all with the tables' names go
            tables = list(TABLES)
        targets = [out / "manifest.json", *(out / t for t in tables)]
        targets += [out / p for p in plot if _safe_relative(p)]
        targets += [p for p in _listdir(out) if fsutil.is_temp(p.name)]
        for folder in (self.parts, self.aside):
            targets += [p for p in _listdir(folder) if _ours_in_parts(p.name)]
        figs = out / "figures"
        targets += [p for p in _listdir(figs) if fsutil.is_temp(p.name)]
        fsutil.remove_files(targets)
        for folder in (self.parts, self.aside, figs):
            if folder.is_dir() and not folder.is_symlink():
                fsutil.remove_empty_dir(folder)
        self.tables, self.pending_tables, self.sources = {}, {}, []
        fsutil.write_marker(out, "sweep", format=FORMAT, plot_files=[])

    # -------------------------------------------------------------------------------- checking
    def scan(self) -> np.ndarray:
        """Check every stored batch and the final tables; return the state of every run (see
        :meth:`status`). Damaged batches are set aside; leftovers of a write that was cut short are
        removed."""
        self.sources = []
        for p in _listdir(self.out):
            if fsutil.is_temp(p.name) and _ours_table_tmp(p.name):
                fsutil.remove_files([p])  # a merge cut short (the process was killed)
        final = self._scan_final()
        if final is not None:
            self.sources.append(final)
        by_tag: dict[str, dict[str, Path]] = {}
        for p in _listdir(self.parts):
            name = p.name
            if fsutil.is_temp(name) and _ours_tmp(name):
                fsutil.remove_files([p])  # a write cut short (the process was killed)
                continue
            m = _PART.fullmatch(name)
            if m:
                by_tag.setdefault(m.group(2), {})[m.group(1) + ("" if m.group(3) == "arrow" else ".parquet")] = p
                continue
            m = _RECORD.fullmatch(name)
            if m:
                by_tag.setdefault(m.group(1), {})["record"] = p
        for tag in sorted(by_tag):
            src = self._scan_batch(tag, by_tag[tag])
            if src is not None:
                self.sources.append(src)
            streamed.release_unused()
        self.sources.sort(key=lambda s: s.seq)
        self._seq = max([self._seq, *(s.seq for s in self.sources)])
        return self.status()

    #: :meth:`status` of a run: not stored, stored and finished, stored as failed.
    MISSING, OK, FAILED = 0, 1, 2

    def status(self) -> np.ndarray:
        """The state of every run of the design (index in design order: design point x replicates +
        replicate) over the verified sources, the newest row of each run deciding."""
        out = np.zeros(self.n_runs, dtype=np.int8)
        for s in self.sources:  # oldest first
            out[s.keys] = self.OK
            out[s.failed] = self.FAILED
        return out

    def n_stored(self) -> int:
        """How many runs of the design are stored (finished or failed)."""
        return int(np.count_nonzero(self.status()))

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise Damaged("missing") from None
        except OSError as exc:
            raise fsutil.storage_error(exc, path, "read") from None

    def _scan_final(self) -> Source | None:
        present = {t: self.out / t for t in TABLES if (self.out / t).is_file()}
        if not self.exp.keep_series and "series.parquet" not in {**self.tables, **self.pending_tables}:
            present.pop("series.parquet", None)  # not this sweep's (it keeps no series): left alone
        if not present:
            return None
        # a table whose checksum is the manifest's, or (merge cut short) the one the merge recorded
        # before it put the new tables in place
        try:
            if "runs.parquet" not in present:
                raise Damaged("runs.parquet is missing")
            hashes = {}
            rows = {}
            for name, path in present.items():
                with streamed.open_source(path) as fh:  # streamed: a final table may be larger than memory
                    try:
                        digest, size = streamed.file_sha256(fh)
                    except OSError as exc:
                        raise fsutil.storage_error(exc, path, "read") from None
                    ok = [r for r in (self.tables.get(name), self.pending_tables.get(name)) if r]
                    if not ok and self.legacy:
                        ok = [{"sha256": digest, "bytes": size}]  # written before checksums existed
                    if not ok:
                        raise Damaged(f"{name} is not recorded in the manifest")
                    if not any(r.get("sha256") == digest and r.get("bytes") == size for r in ok):
                        raise Damaged(f"{name}: its checksum differs from the one recorded when it was written")
                    hashes[name] = digest
                    import pyarrow.parquet as pq

                    meta = pq.ParquetFile(fh)
                    rows[name.split(".")[0]] = meta.metadata.num_rows
                    if name == "runs.parquet":
                        runs = meta.read(columns=["design_point", "replicate", "seed", "status"], use_threads=False)
            for name in ("runs.parquet", "episodes.parquet") + (("series.parquet",) if self.exp.keep_series else ()):
                if name not in present and (name != "series.parquet" or self.tables.get(name)):
                    raise Damaged(f"{name} is missing")
            keys, failed = self._check_keys(runs, "runs.parquet", final=True)
        except Damaged as why:
            self._set_aside_tables(present, str(why))
            return None
        except Exception as exc:  # pyarrow's errors for a file that does not parse
            if isinstance(exc, StorageError):
                raise
            self._set_aside_tables(present, f"unreadable: {_first_line(exc)}")
            return None
        files = {name.split(".")[0]: path for name, path in present.items()}
        if self.legacy:
            self.tables = {name: {"sha256": h, "bytes": present[name].stat().st_size} for name, h in hashes.items()}
        return Source("final", -1, files, keys, failed, {n.split(".")[0]: h for n, h in hashes.items()}, rows)

    def _scan_batch(self, tag: str, files: dict[str, Path]) -> Source | None:
        record_path = files.get("record")
        runs_path = files.get("runs") or files.get("runs.parquet")
        if record_path is None and runs_path is None:
            fsutil.remove_files(files.values())  # a batch cut short before its record: nothing to keep
            return None
        if record_path is not None and runs_path is None:
            fsutil.remove_files(files.values())  # cut short after its record, before its runs file
            return None
        try:
            if record_path is None:
                if not self.legacy:
                    raise Damaged("its record batch-*.json is missing")
                return self._adopt_legacy_batch(tag, files)
            try:
                record = json.loads(self._read(record_path))
            except (ValueError, UnicodeDecodeError):
                raise Damaged("its record batch-*.json is not valid JSON") from None
            if not isinstance(record, dict) or record.get("checksum") != _record_checksum(record):
                raise Damaged("its record batch-*.json was changed after it was written")
            if (record.get("experiment_digest") not in self._digests
                    or record.get("model_digest") != self._model_digest):
                raise Damaged("it was made by another experiment or model version")
            listed = record.get("files") or {}
            if set(listed) != {p.name for k, p in files.items() if k != "record"}:
                raise Damaged("its files are not the ones its record lists")
            runs = None
            for name, info in listed.items():
                data = streamed.read_buffer(self.parts / name)
                if data.size != info.get("bytes") or _sha(data) != info.get("sha256"):
                    raise Damaged(f"{name}: its checksum differs from the one recorded when it was written")
                if name.startswith("runs-"):
                    runs = _read_table(data, Path(name).suffix, ["design_point", "replicate", "seed", "status"])
            keys, failed = self._check_keys(runs, runs_path.name)
            if not self._same_keys(keys, record.get("keys")):
                raise Damaged("its runs are not the ones its record lists")
        except Damaged as why:
            self._set_aside_batch(tag, files, str(why))
            return None
        except Exception as exc:
            if isinstance(exc, StorageError):
                raise
            self._set_aside_batch(tag, files, f"unreadable: {_first_line(exc)}")
            return None
        kinds = {k: p for k, p in files.items() if k != "record"}
        return Source(tag, int(record.get("seq", 0)), kinds, keys, failed,
                      {n.split("-")[0]: i["sha256"] for n, i in listed.items()},
                      {n.split("-")[0]: int(i.get("rows", -1)) for n, i in listed.items()})

    def _adopt_legacy_batch(self, tag: str, files: dict[str, Path]) -> Source:
        """A batch written before records existed (its folder has no marker): its keys are checked,
        each file must parse, and a record is written for it, so that it is checked from now on."""
        listed = {}
        runs = None
        for kind, path in files.items():
            data = self._read(path)
            table = _read_table(data, path.suffix)
            if kind.startswith("runs"):
                runs = table
            listed[path.name] = {"sha256": _sha(data), "bytes": len(data), "rows": table.num_rows}
        keys, failed = self._check_keys(runs, files.get("runs", files.get("runs.parquet")).name)
        self._seq += 1
        self._write_record(tag, self._seq, self._pairs(keys), listed)
        kinds = {k: p for k, p in files.items()}
        return Source(tag, self._seq, kinds, keys, failed,
                      rows={p.name.split("-")[0]: i["rows"] for p in files.values() for i in [listed[p.name]]})

    def _check_keys(self, runs, name: str, final: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """The runs (index in design order) of a runs table and those of them that failed, refusing
        keys that are not the design's, a seed that is not the run's, a run listed twice, or a status
        that is not known (the first such row is named)."""
        import pyarrow.compute as pc

        if runs is None:
            raise Damaged("its runs file is missing")
        cols = runs.column_names
        for c in ("design_point", "replicate", "seed", "status"):
            if c not in cols:
                raise Damaged(f"{name} has no {c} column")
        n = runs.num_rows
        dp, rep, seed = (_whole_numbers(runs.column(c)) for c in ("design_point", "replicate", "seed"))
        if n and len(np.unique(np.stack([dp, rep], axis=1), axis=0)) != n:
            raise Damaged(f"{name} holds a run twice")
        known = (dp >= 0) & (dp < len(self.exp.design)) & (rep >= 0) & (rep < self.exp.replicates)
        rep0 = np.where(known, rep, 0)
        run = np.where(known, dp * self.exp.replicates + rep0, -1)
        ok_seed = known & (seed == self._seeds[rep0])
        status = runs.column("status")
        is_ok = pc.fill_null(pc.equal(status, "ok"), False).to_numpy(zero_copy_only=False)
        is_failed = pc.fill_null(pc.equal(status, "failed"), False).to_numpy(zero_copy_only=False)
        bad = ~(known & ok_seed & (is_ok | is_failed))
        if bad.any():
            i = int(np.argmax(bad))
            k = (runs.column("design_point")[i].as_py(), runs.column("replicate")[i].as_py())
            if not known[i]:
                raise Damaged(f"{name} holds design point {k[0]}, replicate {k[1]}, which the experiment does not have")
            if not ok_seed[i]:
                raise Damaged(f"{name}: the seed of design point {k[0]}, replicate {k[1]} is not the run's seed")
            raise Damaged(f"{name}: status {fsutil.cut(str(status[i].as_py()), 20)!s} is neither ok nor failed")
        if final and n != self.n_runs:
            # the tables of a sweep this one extends hold its runs of the first replicates, each once
            points = len(self.exp.design)
            earlier = n // points if points else 0
            if not (earlier in self._earlier_replicates and n == earlier * points and bool(np.all(rep < earlier))):
                raise Damaged(f"{name} does not hold every run of the design exactly once")
        return run.astype(np.int64), run[is_failed].astype(np.int64)

    def _pairs(self, runs: np.ndarray) -> list[tuple[int, int]]:
        reps = self.exp.replicates
        return [(int(r) // reps, int(r) % reps) for r in runs]

    def _same_keys(self, runs: np.ndarray, listed: Any) -> bool:
        """Do a batch's runs match the keys its record lists, in order?"""
        if not isinstance(listed, list) or len(listed) != len(runs):
            return False
        try:
            pairs = [(int(k[0]), int(k[1])) for k in listed]
        except (TypeError, ValueError, IndexError):
            return False
        return pairs == self._pairs(runs)

    # -------------------------------------------------------------------------------- setting aside
    def _set_aside_batch(self, tag: str, files: dict[str, Path], why: str) -> None:
        self._mkdir(self.aside)
        for p in files.values():
            try:
                p.replace(self.aside / p.name)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise fsutil.storage_error(exc, p, "move aside") from None
        names = ", ".join(sorted(p.name for p in files.values()))
        warnings.warn(f"{self.parts}: a batch of runs is damaged or unreadable ({why}); its files ({names}) were "
                      f"moved to {self.aside} and its runs will be run again", ResultsWarning, stacklevel=4)

    def _set_aside_tables(self, present: dict[str, Path], why: str) -> None:
        self._mkdir(self.aside)
        stamp = uuid.uuid4().hex[:12]
        for name, p in present.items():
            try:
                p.replace(self.aside / f"{name.split('.')[0]}.{stamp}.parquet")
            except OSError as exc:
                raise fsutil.storage_error(exc, p, "move aside") from None
        self.tables = {}
        self.pending_tables = {}
        warnings.warn(f"{self.out}: final tables damaged or unreadable ({why}); they were moved to {self.aside} "
                      "and their runs will be run again", ResultsWarning, stacklevel=4)

    # -------------------------------------------------------------------------------- writing
    def write_part(self, batch: Part | dict[str, Any]) -> None:
        """Store one finished batch: episodes and series, then its record, then the runs file (which
        marks it done). Each file is written atomically; the record holds their checksums.

        ``batch`` is a :class:`~peacesim.parts.Part` (what :func:`peacesim.sweep.run_batch` returns,
        its files encoded where the batch ran) or a dict of ``runs`` (outcome rows), ``episodes``
        (episode rows) and ``series`` (a DataFrame or None)."""
        part = batch if isinstance(batch, Part) else self._encode(batch)
        tag = uuid.uuid4().hex[:12]
        names = {kind: f"{kind}-{tag}.arrow" for kind in part.files}
        listed = {names[k]: {"sha256": f.sha256, "bytes": len(f.data), "rows": f.rows} for k, f in part.files.items()}
        self._seq = max(self._seq + 1, time.time_ns())
        for kind, f in part.files.items():
            if kind != "runs":
                fsutil.atomic_write(self.parts / names[kind], f.data, sync=False)
        self._write_record(tag, self._seq, part.keys, listed)
        fsutil.atomic_write(self.parts / names["runs"], part.files["runs"].data, sync=False)
        # (a run that is not the design's is not counted as stored; the next start sets its part aside)
        reps, points = self.exp.replicates, len(self.exp.design)
        known = [(0 <= dp < points and 0 <= r < reps, dp * reps + r, bad)
                 for (dp, r), bad in zip(part.keys, part.failed)]
        runs = np.array([run for ok, run, _ in known if ok], dtype=np.int64)
        failed = np.array([run for ok, run, bad in known if ok and bad], dtype=np.int64)
        self.sources.append(Source(tag, self._seq, {k: self.parts / n for k, n in names.items()}, runs, failed,
                                   {k: f.sha256 for k, f in part.files.items()},
                                   {k: f.rows for k, f in part.files.items()}))

    def _encode(self, batch: dict[str, Any]) -> Part:
        builder = PartBuilder(self.exp.columns)
        builder.rows = list(batch["runs"])
        builder.episodes = list(batch["episodes"])
        if batch.get("series") is not None:
            builder.frames = [(0, batch["series"])]
        return builder.build(batch.get("seconds", 0.0))

    def _write_record(self, tag: str, seq: int, keys: list[tuple[int, int]], listed: dict[str, Any]) -> None:
        seeds = self.exp.seeds
        record = {"format": FORMAT, "tag": tag, "seq": seq, "experiment_digest": self._experiment_digest,
                  "model_digest": self._model_digest,
                  "keys": [[int(dp), int(r), int(seeds[r])] for dp, r in keys], "files": listed}
        record["checksum"] = _record_checksum(record)
        fsutil.atomic_write(self.parts / f"batch-{tag}.json", json.dumps(record, separators=(",", ":")), sync=False)

    def mark_report_outdated(self, *, finished: bool = False) -> bool:
        """Say at the top of the folder's ``report.md`` (when peacesim wrote it) that it,
        ``summary.csv`` and the figures are of the earlier replicates: while this session extends
        the sweep (an extension cut short leaves them in place, and they would otherwise read as
        current) and, with ``finished``, once an extension is complete and they have not been
        drawn again. ``peacesim plot`` rewrites the report without it. Returns whether it was marked."""
        path = self.out / "report.md"
        ours = (fsutil.read_marker(self.out) or {}).get("plot_files", [])
        if "report.md" not in ours or path.is_symlink() or not path.is_file():
            return False
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return False  # not readable as peacesim wrote it: left as it is
        marked = text.startswith(_OUTDATED)
        if (finished and not marked) or (not finished and self.extension is None) or not self.extensions:
            return False
        last = self.extensions[-1]
        first = last["from_replicates"]
        if marked:  # by an earlier session: the report is still of the replicates that note names
            note, _, text = text.partition("\n\n")
            named = re.search(r"describe the first (?:(\d+) replicates|replicate)\b", note)
            first = (int(named.group(1)) if named.group(1) else 1) if named else first
        which = "the first replicate" if first == 1 else f"the first {first} replicates"
        said = f"{_OUTDATED} this report, summary.csv and the figures describe {which}. "
        if finished:
            said += (f"The sweep has since been extended to {self.exp.replicates} replicates; to draw them again, run "
                     f"`peacesim plot {shlex.quote(str(self.out))}`.")
        else:
            said += (f"The sweep is being extended to {last['to_replicates']} replicates (started {last['extended']}); "
                     "they are written again when the extension finishes. To finish it, run the same "
                     "`peacesim sweep` command again.")
        fsutil.atomic_write(path, said + "\n\n" + text)
        return True

    def write_manifest(self, data: dict[str, Any]) -> None:
        data["format"] = FORMAT
        data["tables"] = self.tables
        if self.pending_tables:
            data["tables_pending"] = self.pending_tables
        else:
            data.pop("tables_pending", None)
        fsutil.atomic_write(self.out / "manifest.json", json.dumps(data, indent=1, default=json_default) + "\n")

    # -------------------------------------------------------------------------------- merging
    def merge(self, manifest: dict[str, Any]) -> tuple[dict[str, int], np.ndarray]:
        """Merge the verified sources into the final tables, sorted (see :mod:`peacesim.merge`).

        Every file is read and checked again. Returns ({kind: rows, "failed": n}, missing): if a
        source turns out damaged now, every damaged one is set aside and nothing is merged;
        ``missing`` then holds the runs (index in design order) to run again. The manifest gets the
        checksums of the new tables before they are put in place."""
        the_plan = streamed.plan([s.keys for s in self.sources], self.n_runs, self.exp.replicates)
        missing = the_plan.missing
        if len(missing):
            return {}, missing
        sources = [streamed.MergeSource(s.name, {k.split(".")[0]: p for k, p in s.paths.items()}, s.hashes, s.rows)
                   for s in self.sources]
        staged: dict[str, streamed.StagedFile] = {}
        counts: dict[str, int] = {}
        schemas: dict[str, Any] = {}  # kind -> the schema of its sources, as each is merged
        try:
            for kind in KINDS:
                result = self._merge_kind(kind, sources, the_plan, schemas)
                if result is None:
                    continue
                name = f"{kind}.parquet"
                staged[name], counts[kind], failed = result
                if kind == "runs":
                    counts["failed"] = failed
        except streamed.Damaged as why:
            for f in staged.values():
                f.discard()
            bad = self._damaged_sources(sources)
            if not bad:  # every file is whole, yet they do not go together (parts of another version)
                raise StorageError(f"{self.out}: cannot merge the parts: {why}") from None
            return {}, self._set_aside_sources(bad)
        except BaseException:
            for f in staged.values():
                f.discard()
            raise
        record = {name: {"sha256": f.sha256, "bytes": f.size, "rows": counts.get(name.split(".")[0], 0)}
                  for name, f in staged.items()}
        # The new tables' checksums go into the manifest before the tables are put in place, so that
        # a merge cut short leaves tables the next start can check.
        before = {**self.tables, **self.pending_tables}  # the tables this folder recorded as peacesim's
        self.pending_tables = record
        try:
            self.write_manifest(manifest)
            names = list(staged)
            for i, name in enumerate(names):
                try:
                    staged[name].put_in_place()
                except BaseException:
                    for rest in names[i + 1:]:
                        staged[rest].discard()
                    raise
        except BaseException:
            for f in staged.values():
                f.discard()
            raise
        for name in TABLES:  # a table of an earlier version of the results that this one has not
            if name not in staged and (name in before or self.legacy) and (self.out / name).is_file():
                fsutil.remove_files([self.out / name])
        self.tables, self.pending_tables = record, {}
        return counts, np.empty(0, dtype=np.int64)

    def _merge_kind(self, kind: str, sources: list, the_plan, schemas: dict[str, Any]) -> tuple | None:
        """Write one merged table to a staged file: (file, rows, failed runs), or None when no
        source holds rows of it (then there is no such table, but for an empty episodes table,
        typed as one with rows: its keys as in the runs table, whose schema is ``schemas["runs"]``
        once the runs are merged). The schema of the table's sources goes into ``schemas``."""
        import pyarrow as pa

        # The table's schema: those of all its sources together, unified one by one as they are read
        # (thousands of parts' schemas held at once would take megabytes; most are the same).
        schema = None
        for src in (s for s in sources if kind in s.files and s.rows.get(kind, 1) != 0):
            try:
                one = streamed.read_schema(src, kind)
                if schema is None:
                    schema = one
                elif not one.equals(schema):
                    schema = pa.unify_schemas([schema, one], promote_options="permissive")
            except StorageError:
                raise
            except Exception as exc:  # unreadable or not unifiable: which source and why is found by checking all
                raise streamed.Damaged(f"unreadable: {_first_line(exc)}") from None
        schemas[kind] = schema
        if schema is None:
            if kind != "episodes":
                return None
            empty = episode_schema([*KEY_COLUMNS, *self.exp.columns], schemas.get("runs")).empty_table()
            staged, rows = streamed.write_table(self.out / "episodes.parquet", empty.schema, iter([empty]))
            return staged, 0, 0
        path = self.out / f"{kind}.parquet"
        if kind != "runs":
            dictionary = streamed.dictionary_columns(schema, also=[*KEY_COLUMNS, *self.exp.columns])
            rows_in_order = streamed.rows_in_order(sources, kind, schema, the_plan)
            staged, rows = streamed.write_table(path, schema, rows_in_order, dictionary=dictionary)
            return staged, rows, 0
        stored, convert = streamed.runs_schema(schema)
        schemas[kind] = stored.remove_metadata()
        dictionary = streamed.dictionary_columns(stored, also=[*KEY_COLUMNS, *self.exp.columns])
        failed = [0]
        chunks = streamed.count_failed(streamed.rows_in_order(sources, kind, schema, the_plan), failed)
        staged, rows = streamed.write_table(path, stored, chunks, convert, dictionary=dictionary)
        return staged, rows, failed[0]

    def _damaged_sources(self, sources: list) -> list[tuple[Source, str]]:
        """Check every file of every source whole; the damaged ones with why."""
        bad = []
        for src, msrc in zip(self.sources, sources):
            try:
                for kind in msrc.files:
                    streamed.check_file(msrc, kind)
            except streamed.Damaged as why:
                bad.append((src, str(why)))
            except Exception as exc:
                if isinstance(exc, StorageError):
                    raise
                bad.append((src, f"unreadable: {_first_line(exc)}"))
        return bad

    def _set_aside_sources(self, bad: list[tuple[Source, str]]) -> np.ndarray:
        for src, why in bad:
            if src.name == "final":
                self._set_aside_tables({f"{k}.parquet": p for k, p in src.files.items()}, why)
            else:
                self._set_aside_batch(src.name, {**src.files, "record": self.parts / f"batch-{src.name}.json"}, why)
        self.sources = [s for s in self.sources if all(s is not b for b, _ in bad)]
        return np.flatnonzero(self.status() == self.MISSING)

    def remove_parts(self) -> None:
        """After the manifest records the new tables: the parts are no longer needed."""
        fsutil.remove_files([p for p in _listdir(self.parts) if _ours_in_parts(p.name)])
        fsutil.remove_empty_dir(self.parts)
        self.sources = []


# ------------------------------------------------------------------------------------ helpers
def _model_digest() -> str:
    from .sweep import model_digest

    return model_digest()


def _without_replicates(text: Any) -> dict[str, Any] | None:
    """An experiment file's contents but its ``replicates`` (None if it is not an experiment file)."""
    import tomllib

    if not isinstance(text, str) or not text:
        return None
    try:
        raw = tomllib.loads(text.removeprefix("\ufeff"))
    except (tomllib.TOMLDecodeError, ValueError):
        return None
    meta = raw.get("experiment")
    if not isinstance(meta, dict):
        return None
    raw["experiment"] = {k: v for k, v in meta.items() if k != "replicates"}
    return raw


def _as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, default=json_default))


def _only_replicates_differ(old: dict[str, Any], exp: Experiment) -> bool:
    """Does the experiment of the manifest ``old`` make the same runs as ``exp`` but for the
    number of replicates? The experiment file must be the same but for ``replicates``; the
    scenario file, master seed, design, fixed parameters, outcomes and series the same; and the
    stored seeds those of ``exp``'s first replicates (seeds do not depend on how many there are)."""
    reps = old.get("replicates")
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1 or reps == exp.replicates:
        return False
    if not isinstance(old.get("experiment_digest"), str):
        return False
    seeds, n = old.get("seeds"), min(reps, exp.replicates)
    if not isinstance(seeds, list) or len(seeds) != reps or seeds[:n] != list(exp.seeds[:n]):
        return False
    if (old.get("scenario_text") != exp.scenario_text or old.get("master_seed") != exp.master_seed
            or old.get("keep_series") != exp.keep_series or old.get("outcomes") != _as_json(list(exp.outcomes))
            or old.get("fixed") != _as_json(exp.fixed)):
        return False
    design = old.get("design")
    if not isinstance(design, list) or [d.get("values") if isinstance(d, dict) else None for d in design] \
            != _as_json(exp.design):
        return False
    before = _without_replicates(old.get("experiment_text"))
    if before is None or before != _without_replicates(exp.source_text):
        return False
    # and the text itself the same but for the number: a file edited elsewhere (a comment, say) is
    # another experiment file, as it is when replicates stay the same (the digest is of the text)
    return _replicates_blanked(old["experiment_text"]) == _replicates_blanked(exp.source_text)


def _replicates_blanked(text: str) -> str:
    """An experiment file's text with the number of every ``replicates = N`` line taken out."""
    return re.sub(r"(?m)^(\s*replicates\s*=\s*)[0-9_]+", r"\1N", text.removeprefix("\ufeff"))


def unfinished_extension(manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The extension a manifest's sweep is in the middle of (its last, to the manifest's number of
    replicates, while the sweep is not complete), or None."""
    history = _extensions(manifest.get("extended"))
    if manifest.get("status") == "complete" or not history:
        return None
    return history[-1] if history[-1].get("to_replicates") == manifest.get("replicates") else None


def _extensions(value: Any) -> list[dict[str, Any]]:
    """The extensions a manifest records (entries that do not say from how many replicates and
    from which experiment are left out: their parts and tables are then not accepted)."""
    if not isinstance(value, list):
        return []
    return [e for e in value if isinstance(e, dict) and isinstance(e.get("experiment_digest_before"), str)
            and isinstance(e.get("from_replicates"), int) and not isinstance(e.get("from_replicates"), bool)
            and e["from_replicates"] >= 1]


def _table_record(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k in TABLES and isinstance(v, dict)}


_NOT_A_KEY = -(2**62)


def _whole_numbers(col) -> np.ndarray:
    """A key column as whole numbers; a missing value or one that is not a whole number becomes a
    number no run has."""
    import pyarrow as pa

    if pa.types.is_integer(col.type) and not col.null_count:
        return np.asarray(col.to_numpy(), dtype=np.int64)
    out = []
    for v in col.to_pylist():
        if isinstance(v, float) and v.is_integer() and abs(v) < 2**62:
            v = int(v)
        out.append(v if isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**63 else _NOT_A_KEY)
    return np.array(out, dtype=np.int64)


def _listdir(folder: Path) -> list[Path]:
    try:
        if folder.is_symlink() or not folder.is_dir():
            return []
        return sorted(folder.iterdir())
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise fsutil.storage_error(exc, folder, "read the folder") from None


def _ours_in_parts(name: str) -> bool:
    return bool(_PART.fullmatch(name) or _RECORD.fullmatch(name) or _ASIDE_TABLE.fullmatch(name)
                or (fsutil.is_temp(name) and _ours_tmp(name)))


def _ours_tmp(name: str) -> bool:
    inner = name[1:].rsplit(".", 2)[0]
    return bool(_PART.fullmatch(inner) or _RECORD.fullmatch(inner))


def _ours_table_tmp(name: str) -> bool:
    """A final table's temporary file, left by a merge that was cut short."""
    return name[1:].rsplit(".", 2)[0] in TABLES


def _safe_relative(p: str) -> bool:
    parts = Path(p).parts
    return bool(parts) and not Path(p).is_absolute() and ".." not in parts


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return fsutil.cut(text[0] if text else type(exc).__name__, 100)


def json_default(x):
    """JSON for numpy scalars, NaN (as null) and paths: the manifest's and the analyses' records."""
    import math

    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
