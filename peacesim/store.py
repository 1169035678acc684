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

**Coverage.** The merge takes, for every run of the design, exactly one row (the newest, so that a
run retried with ``--retry-failed`` replaces its failed row) and refuses to call the sweep complete
unless every run of the design is there.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import fsutil
from .errors import InputError, ResultsWarning, StorageError
from .experiment import Experiment
from .records import EPISODE_COLUMNS

__all__ = ["ResultStore", "FORMAT", "KINDS"]

FORMAT = 2
KINDS = ("runs", "episodes", "series")
TABLES = ("runs.parquet", "episodes.parquet", "series.parquet")
_PART = re.compile(r"(runs|episodes|series)-([0-9a-f]{12})\.(arrow|parquet)")
_RECORD = re.compile(r"batch-([0-9a-f]{12})\.json")
_ASIDE_TABLE = re.compile(r"(runs|episodes|series)\.([0-9a-f]{12})\.parquet")
_PLOT_FIGURE = re.compile(r"(km_curves|km_by_.+|durability_vs_.+|agreement_vs_.+|heatmap_.+)\.png")
_PLOT_FILES = ("summary.csv", "report.md")
KEYS = ("design_point", "replicate")


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _record_checksum(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "checksum"}
    return _sha(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())


def _ipc_bytes(table) -> bytes:
    import pyarrow as pa
    import pyarrow.feather as feather

    sink = pa.BufferOutputStream()
    feather.write_feather(table, sink, compression="uncompressed")
    return sink.getvalue().to_pybytes()


def _read_table(data: bytes, suffix: str, columns: list[str] | None = None):
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    buf = pa.py_buffer(data)
    if suffix == ".parquet":
        return pq.read_table(pa.BufferReader(buf), columns=columns)
    return feather.read_table(pa.BufferReader(buf), columns=columns, memory_map=False)


class Damaged(Exception):
    """A part or table that is not what was written (the reason is the message)."""


@dataclass
class Source:
    """One verified batch of runs (or the final tables of an earlier merge)."""

    name: str  # the batch's tag, or "final"
    seq: int  # order of writing; the final tables come first
    files: dict[str, Path]  # kind -> path
    keys: list[tuple[int, int]]
    failed: set[tuple[int, int]] = field(default_factory=set)
    hashes: dict[str, str] = field(default_factory=dict)  # kind -> sha256 of the bytes, when known


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
        self._design_keys = {(dp, r): self.exp.seeds[r] for dp in range(len(exp.design)) for r in range(exp.replicates)}

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
                self.clear()
                old = None
                self.legacy = False
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
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            if not fresh and self._holds_results():
                raise InputError(f"--out {self.out}: manifest.json is missing, so peacesim cannot tell which experiment "
                                 "the results there belong to; use --fresh to start over (it removes only peacesim's "
                                 "files) or --out to choose another folder") from None
            return None
        except OSError as exc:
            raise fsutil.storage_error(exc, path, "read") from None
        try:
            data = json.loads(text)
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
        if old.get("experiment_digest") != self.exp.digest():
            name = old.get("name")
            raise InputError(
                f"--out {self.out}: the results there belong to a different experiment "
                f"({fsutil.cut(str(name), 40) if isinstance(name, str) else '?'}, or its experiment or scenario file "
                "has changed); use --fresh to replace them or --out to choose another folder")
        if old.get("model_digest") != _model_digest():
            commit = str(old.get("git_commit", "?"))[:10]
            raise InputError(
                f"--out {self.out}: the results there were made by a different version of the model "
                f"(peacesim {fsutil.cut(str(old.get('peacesim_version', '?')), 20)}, commit {commit}); "
                "use --fresh to rerun them or --out to choose another folder")

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
    def clear(self) -> None:
        """Remove peacesim's own files from the folder (``--fresh``); anything else stays."""
        out = self.out
        marker = fsutil.read_marker(out) or {}
        plot = [p for p in marker.get("plot_files", []) if isinstance(p, str)] + self._legacy_plot_files()
        targets = [out / "manifest.json", *(out / t for t in TABLES)]
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
    def scan(self) -> dict[tuple[int, int], bool]:
        """Check every stored batch and the final tables; return {(design point, replicate): ok} of
        the runs stored. Damaged batches are set aside; leftovers of a write that was cut short are
        removed."""
        self.sources = []
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
        self.sources.sort(key=lambda s: s.seq)
        self._seq = max([self._seq, *(s.seq for s in self.sources)])
        return self.stored()

    def stored(self) -> dict[tuple[int, int], bool]:
        """{key: ok} over the verified sources, the newest row of each run deciding."""
        out: dict[tuple[int, int], bool] = {}
        for s in self.sources:  # oldest first
            for k in s.keys:
                out[k] = k not in s.failed
        return out

    def _read(self, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise Damaged("missing") from None
        except OSError as exc:
            raise fsutil.storage_error(exc, path, "read") from None

    def _scan_final(self) -> Source | None:
        present = {t: self.out / t for t in TABLES if (self.out / t).is_file()}
        if not present:
            return None
        # a table whose checksum is the manifest's, or (merge cut short) the one the merge recorded
        # before it put the new tables in place
        try:
            if "runs.parquet" not in present:
                raise Damaged("runs.parquet is missing")
            hashes = {}
            for name, path in present.items():
                data = self._read(path)
                digest = _sha(data)
                ok = [r for r in (self.tables.get(name), self.pending_tables.get(name)) if r]
                if not ok and self.legacy:
                    ok = [{"sha256": digest, "bytes": len(data)}]  # written before checksums existed
                if not ok:
                    raise Damaged(f"{name} is not recorded in the manifest")
                if not any(r.get("sha256") == digest and r.get("bytes") == len(data) for r in ok):
                    raise Damaged(f"{name}: its checksum differs from the one recorded when it was written")
                hashes[name] = digest
                if name == "runs.parquet":
                    runs = _read_table(data, ".parquet", ["design_point", "replicate", "seed", "status"])
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
        return Source("final", -1, files, keys, failed, {n.split(".")[0]: h for n, h in hashes.items()})

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
            if record.get("experiment_digest") != self.exp.digest() or record.get("model_digest") != _model_digest():
                raise Damaged("it was made by another experiment or model version")
            listed = record.get("files") or {}
            if set(listed) != {p.name for k, p in files.items() if k != "record"}:
                raise Damaged("its files are not the ones its record lists")
            runs = None
            for name, info in listed.items():
                data = self._read(self.parts / name)
                if len(data) != info.get("bytes") or _sha(data) != info.get("sha256"):
                    raise Damaged(f"{name}: its checksum differs from the one recorded when it was written")
                if name.startswith("runs-"):
                    runs = _read_table(data, Path(name).suffix, ["design_point", "replicate", "seed", "status"])
            keys, failed = self._check_keys(runs, runs_path.name)
            if [list(k) for k in keys] != [list(k[:2]) for k in record.get("keys", [])]:
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
                      {n.split("-")[0]: i["sha256"] for n, i in listed.items()})

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
        self._write_record(tag, self._seq, keys, listed)
        kinds = {k: p for k, p in files.items()}
        return Source(tag, self._seq, kinds, keys, failed)

    def _check_keys(self, runs, name: str, final: bool = False) -> tuple[list[tuple[int, int]], set]:
        """The (design point, replicate) keys of a runs table, refusing keys that are not the
        design's, a seed that is not the run's, a run listed twice, or a status that is not known."""
        if runs is None:
            raise Damaged("its runs file is missing")
        cols = runs.column_names
        for c in ("design_point", "replicate", "seed", "status"):
            if c not in cols:
                raise Damaged(f"{name} has no {c} column")
        dps = runs.column("design_point").to_pylist()
        reps = runs.column("replicate").to_pylist()
        seeds = runs.column("seed").to_pylist()
        status = runs.column("status").to_pylist()
        keys = list(zip(dps, reps))
        if len(set(keys)) != len(keys):
            raise Damaged(f"{name} holds a run twice")
        for k, seed, st in zip(keys, seeds, status):
            want = self._design_keys.get(k)
            if want is None:
                raise Damaged(f"{name} holds design point {k[0]}, replicate {k[1]}, which the experiment does not have")
            if seed != want:
                raise Damaged(f"{name}: the seed of design point {k[0]}, replicate {k[1]} is not the run's seed")
            if st not in ("ok", "failed"):
                raise Damaged(f"{name}: status {fsutil.cut(str(st), 20)!s} is neither ok nor failed")
        if final and set(keys) != set(self._design_keys):
            raise Damaged(f"{name} does not hold every run of the design exactly once")
        failed = {k for k, st in zip(keys, status) if st != "ok"}
        return keys, failed

    # -------------------------------------------------------------------------------- setting aside
    def _set_aside_batch(self, tag: str, files: dict[str, Path], why: str) -> None:
        self._mkdir(self.aside)
        first = files.get("runs") or files.get("runs.parquet") or next(iter(files.values()))
        for p in files.values():
            try:
                p.replace(self.aside / p.name)
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise fsutil.storage_error(exc, p, "move aside") from None
        warnings.warn(f"{first}: damaged or unreadable ({why}); its batch was moved to {self.aside} "
                      "and its runs will be run again", ResultsWarning, stacklevel=4)

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
    def write_part(self, batch: dict[str, Any]) -> None:
        """Store one finished batch: episodes and series, then its record, then the runs file (which
        marks it done). Each file is written atomically; the record holds their checksums."""
        import pyarrow as pa

        tag = uuid.uuid4().hex[:12]
        cols = ["design_point", "replicate", "seed", *self.exp.columns]
        blobs: dict[str, tuple[bytes, int]] = {}
        if batch["episodes"]:
            names = _episode_columns(cols)
            t = pa.Table.from_pylist([{c: e.get(c) for c in names} for e in batch["episodes"]])
            blobs[f"episodes-{tag}.arrow"] = (_ipc_bytes(t), t.num_rows)
        if batch["series"] is not None:
            t = pa.Table.from_pandas(batch["series"], preserve_index=False)
            blobs[f"series-{tag}.arrow"] = (_ipc_bytes(t), t.num_rows)
        runs = pa.Table.from_pylist(batch["runs"])
        blobs[f"runs-{tag}.arrow"] = (_ipc_bytes(runs), runs.num_rows)
        listed = {n: {"sha256": _sha(b), "bytes": len(b), "rows": rows} for n, (b, rows) in blobs.items()}
        keys = [(r["design_point"], r["replicate"]) for r in batch["runs"]]
        self._seq = max(self._seq + 1, time.time_ns())
        for name, (data, _) in blobs.items():
            if not name.startswith("runs-"):
                fsutil.atomic_write(self.parts / name, data, sync=False)
        self._write_record(tag, self._seq, keys, listed)
        fsutil.atomic_write(self.parts / f"runs-{tag}.arrow", blobs[f"runs-{tag}.arrow"][0], sync=False)
        files = {n.split("-")[0]: self.parts / n for n in blobs}
        failed = {(r["design_point"], r["replicate"]) for r in batch["runs"] if r["status"] != "ok"}
        self.sources.append(Source(tag, self._seq, files, keys, failed, {n.split("-")[0]: i["sha256"]
                                                                          for n, i in listed.items()}))

    def _write_record(self, tag: str, seq: int, keys: list[tuple[int, int]], listed: dict[str, Any]) -> None:
        record = {"format": FORMAT, "tag": tag, "seq": seq, "experiment_digest": self.exp.digest(),
                  "model_digest": _model_digest(),
                  "keys": [[int(dp), int(r), int(self.exp.seeds[r])] for dp, r in keys], "files": listed}
        record["checksum"] = _record_checksum(record)
        fsutil.atomic_write(self.parts / f"batch-{tag}.json", json.dumps(record, separators=(",", ":")), sync=False)

    def write_manifest(self, data: dict[str, Any]) -> None:
        data["format"] = FORMAT
        data["tables"] = self.tables
        if self.pending_tables:
            data["tables_pending"] = self.pending_tables
        else:
            data.pop("tables_pending", None)
        fsutil.atomic_write(self.out / "manifest.json", json.dumps(data, indent=1, default=_json_default) + "\n")

    # -------------------------------------------------------------------------------- merging
    def merge(self, manifest: dict[str, Any]) -> tuple[dict[str, int], set[tuple[int, int]]]:
        """Merge the verified sources into the final tables, sorted; remove the parts.

        Every file is read and checked again. Returns ({kind: rows}, missing): if a part turns out
        damaged now it is set aside and nothing is merged; ``missing`` then holds the runs to run
        again. The manifest gets the checksums of the new tables before they are put in place."""
        import pyarrow as pa
        import pyarrow.compute as pc

        loaded: dict[str, list] = {k: [] for k in KINDS}
        bad = []
        for i, src in enumerate(self.sources):
            try:
                for kind, path in src.files.items():
                    kind = kind.split(".")[0]
                    data = self._read(path)
                    want = src.hashes.get(kind)
                    if want is not None and _sha(data) != want:
                        raise Damaged(f"{path.name}: its checksum differs from the one recorded when it was written")
                    t = _read_table(data, path.suffix)
                    loaded[kind].append(t.append_column("_source", pa.array([i] * t.num_rows, pa.int64())))
            except Damaged as why:
                bad.append((src, str(why)))
            except Exception as exc:
                if isinstance(exc, StorageError):
                    raise
                bad.append((src, f"unreadable: {_first_line(exc)}"))
        if bad:
            for src, why in bad:
                if src.name == "final":
                    self._set_aside_tables({f"{k}.parquet": p for k, p in src.files.items()}, why)
                else:
                    self._set_aside_batch(src.name, {**src.files, "record": self.parts / f"batch-{src.name}.json"}, why)
            self.sources = [s for s in self.sources if all(s is not b for b, _ in bad)]
            return {}, set(self._design_keys) - set(self.stored())

        runs = _concat(loaded["runs"])
        if runs is None:
            return {}, set(self._design_keys)
        source = runs.column("_source").to_numpy()
        key_cols = pd.DataFrame({"design_point": runs.column("design_point").to_numpy(),
                                 "replicate": runs.column("replicate").to_numpy(),
                                 "_source": source,
                                 "_seq": np.array([s.seq for s in self.sources], dtype=np.int64)[source]})
        # the newest row of each run: a retried run replaces its failed row
        chosen = key_cols.sort_values(["design_point", "replicate", "_seq"], kind="stable").drop_duplicates(
            ["design_point", "replicate"], keep="last")
        missing = set(self._design_keys) - set(zip(chosen["design_point"].tolist(), chosen["replicate"].tolist()))
        if missing or len(chosen) != len(self._design_keys):
            return {}, missing
        one_each = len(chosen) == len(key_cols)
        pick = pd.MultiIndex.from_frame(chosen[["design_point", "replicate", "_source"]])
        out_tables: dict[str, bytes] = {}
        counts: dict[str, int] = {}
        order = {"runs": ["design_point", "replicate"], "episodes": ["design_point", "replicate", "episode"],
                 "series": ["design_point", "replicate", "month"]}
        for kind in KINDS:
            t = runs if kind == "runs" else _concat(loaded[kind])
            if t is None:
                if kind == "episodes":
                    cols = _episode_columns(["design_point", "replicate", "seed", *self.exp.columns])
                    t = pa.Table.from_pandas(pd.DataFrame(columns=cols), preserve_index=False)
                    out_tables["episodes.parquet"] = _parquet_bytes(t)
                    counts[kind] = 0
                continue
            if not one_each:
                rows = pd.MultiIndex.from_arrays([t.column(c).to_numpy() for c in ("design_point", "replicate",
                                                                                    "_source")])
                t = t.filter(pa.array(rows.isin(pick)))
            t = t.drop_columns(["_source"]).sort_by([(c, "ascending") for c in order[kind]])
            failed = pc.not_equal(t.column("status"), "ok") if kind == "runs" else None
            out_tables[f"{kind}.parquet"] = _parquet_bytes(t, failed)
            counts[kind] = t.num_rows
            if kind == "runs":
                counts["failed"] = sum(1 for st in t.column("status").to_pylist() if st != "ok")
        record = {name: {"sha256": _sha(b), "bytes": len(b), "rows": counts.get(name.split(".")[0], 0)}
                  for name, b in out_tables.items()}
        # The new tables' checksums go into the manifest before the tables are put in place, so that
        # a merge cut short leaves tables the next start can check.
        self.pending_tables = record
        self.write_manifest(manifest)
        for name, b in out_tables.items():
            fsutil.atomic_write(self.out / name, b)
        for name in TABLES:
            if name not in out_tables and (self.out / name).is_file():
                fsutil.remove_files([self.out / name])
        self.tables, self.pending_tables = record, {}
        return counts, set()

    def remove_parts(self) -> None:
        """After the manifest records the new tables: the parts are no longer needed."""
        fsutil.remove_files([p for p in _listdir(self.parts) if _ours_in_parts(p.name)])
        fsutil.remove_empty_dir(self.parts)
        self.sources = []


# ------------------------------------------------------------------------------------ helpers
def _model_digest() -> str:
    from .sweep import model_digest

    return model_digest()


def _table_record(value: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        return {}
    return {k: v for k, v in value.items() if k in TABLES and isinstance(v, dict)}


def _concat(tables: list):
    import pyarrow as pa

    # (without the pandas metadata of earlier tables: the types are decided afresh, see _parquet_bytes)
    tables = [t.replace_schema_metadata(None) for t in tables if t.num_rows]
    if not tables:
        return None
    # A part whose optional outcomes are all missing (no agreement in a batch, or only failed runs)
    # has null columns; they take the type of the other parts.
    return pa.concat_tables(tables, promote_options="permissive")


def _parquet_bytes(table, failed=None) -> bytes:
    """The table as parquet. In the runs table (``failed`` marks its failed rows), a whole-number or
    true/false column whose only missing values are those of failed runs is stored with pandas'
    nullable types, so that it reads back as whole numbers or true/false, not as floats or objects:
    failed rows do not change the type of the others. (A column that is missing in finished runs
    too, such as the months to a first agreement that never came, keeps the types it always had.)"""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    nullable = {}
    if failed is not None:
        for name, col in zip(table.column_names, table.columns):
            if not col.null_count or not (pa.types.is_integer(col.type) or pa.types.is_boolean(col.type)):
                continue
            if pc.any(pc.and_(pc.is_null(col), pc.invert(failed))).as_py():
                continue
            nullable[name] = "Int64" if pa.types.is_integer(col.type) else "boolean"
    if nullable:
        df = table.to_pandas()
        for name, dtype in nullable.items():
            df[name] = pd.array(table.column(name).to_pylist(), dtype=dtype)
        table = pa.Table.from_pandas(df, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _episode_columns(keys: list[str]) -> list[str]:
    return keys + [c for c in EPISODE_COLUMNS if c not in keys]


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


def _safe_relative(p: str) -> bool:
    parts = Path(p).parts
    return bool(parts) and not Path(p).is_absolute() and ".." not in parts


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return fsutil.cut(text[0] if text else type(exc).__name__, 100)


def _json_default(x):
    import math

    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} to JSON")
