"""The merge of a sweep's parts into its final tables, streamed so that memory stays flat.

A sweep's results arrive as parts, one per batch, in the order the batches finished. The merge
writes ``runs.parquet``, ``episodes.parquet`` and ``series.parquet`` sorted by design point and
replicate (and episode or month), with exactly one run from the newest source that holds it, and
it never holds more than a part or two and one row group in memory:

1. **Plan** (keys only): which source supplies each run of the design (the newest that holds it),
   as one small integer per run; the runs, in design order, fall into segments that come from one
   source each.
2. **Schema**: the tables' columns and types are those of all the sources' files together (the
   types of a column missing from a batch, or all empty in it, come from the others), read from
   the files' headers; the runs table's own columns have the types declared for them
   (:func:`runs_schema`: the whole-number and true/false outcomes with pandas' nullable types,
   ``Int64`` and ``boolean``, whether or not a run failed).
3. **Rows**: segment by segment, the rows of each source are read (a part whole and checked
   against its checksum; a final table of an earlier merge by row groups), sorted within the
   part, filtered to the runs it supplies, given the table's types, and written to a temporary
   Parquet file in row groups of a number of rows fixed by the table's columns (about
   :data:`ROW_GROUP_BYTES`; :func:`group_rows`), so that the bytes do not depend on how the runs
   were batched, its SHA-256 computed as it is written.

The files are put in place by the store (:class:`peacesim.store.ResultStore`), after their
checksums are in the manifest. A source found damaged while it is read raises :class:`Damaged`
naming it; nothing is put in place then.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import fsutil
from .errors import StorageError

__all__ = ["ROW_GROUP_BYTES", "READ_ROWS", "ORDER", "Damaged", "MergeSource", "Plan", "plan", "StagedFile",
           "file_sha256", "read_buffer", "read_schema", "check_file", "rows_in_order", "conform",
           "write_table", "group_rows", "dictionary_columns", "runs_schema", "count_failed", "release_unused",
           "plain_os_error"]

#: Size of one row group of the merged tables in memory (about 30,000 rows of series or 25,000
#: runs): what the merge holds besides a part, whatever the number of runs.
ROW_GROUP_BYTES = 8 * 2**20
#: What a value of a column without a fixed width (text) is taken to cost in :func:`group_rows`.
VARIABLE_WIDTH_BYTES = 16
#: Rows read at a time from the final tables of an earlier merge.
READ_ROWS = 32_768
#: Chunks of a row group being filled that are copied into one (see write_table).
COMPACT_CHUNKS = 64
#: How each table is ordered within a run.
ORDER = {"runs": None, "episodes": "episode", "series": "month"}
_HASH_CHUNK = 1 << 20


class Damaged(Exception):
    """A part or table that is not what was written (the reason is the message)."""


@dataclass
class MergeSource:
    """One verified source of rows: a batch's part files, or the final tables of an earlier merge."""

    name: str  # the batch's tag, or "final"
    files: dict[str, str | Path]  # kind -> path
    hashes: dict[str, str] = field(default_factory=dict)  # kind -> sha256 of the bytes, when known
    rows: dict[str, int] = field(default_factory=dict)  # kind -> rows, when known

    def path(self, kind: str) -> Path:
        return Path(self.files[kind])


@dataclass
class Plan:
    """Which source supplies each run (``chosen[run] = index into the sources``, -1 for none)."""

    chosen: np.ndarray
    replicates: int

    @property
    def missing(self) -> np.ndarray:
        return np.flatnonzero(self.chosen < 0)

    def segments(self) -> list[tuple[int, int, int]]:
        """(source, first run, last run) of every stretch of runs that come from one source, in order."""
        c = self.chosen
        if not len(c):
            return []
        cut = np.flatnonzero(np.diff(c)) + 1
        starts = np.concatenate([[0], cut])
        ends = np.concatenate([cut, [len(c)]]) - 1
        return [(int(c[s]), int(s), int(e)) for s, e in zip(starts, ends)]


def plan(keys: list[np.ndarray], n_runs: int, replicates: int) -> Plan:
    """The newest source of every run: ``keys[i]`` are the runs (design order index) of source i,
    the sources oldest first."""
    chosen = np.full(n_runs, -1, dtype=np.int64)
    for i, k in enumerate(keys):
        chosen[k] = i
    return Plan(chosen, replicates)


# ------------------------------------------------------------------------------------ files
_ARROW_ERRNO = re.compile(r"\[errno (\d+)\]", re.I)


def plain_os_error(exc: OSError) -> OSError:
    """``exc`` in the system's own words where pyarrow wrote its own around them: pyarrow raises
    ``OSError(28, 'Error writing bytes to file. Detail: [errno 28] No space left on device')``,
    which becomes ``OSError(28, 'No space left on device')``; any other error is returned as it is."""
    code = exc.errno
    if not code:
        found = _ARROW_ERRNO.search(str(exc))
        code = int(found.group(1)) if found else None
    if not code:
        return exc
    try:
        words_ = os.strerror(code)
    except ValueError:
        return exc
    if exc.strerror == words_:
        return exc
    if "Detail:" not in str(exc) and exc.strerror is not None:
        return exc  # not pyarrow's wording
    return OSError(code, words_, exc.filename)  # (the subclass of the errno: PermissionError for 13)


def file_sha256(fh) -> tuple[str, int]:
    """SHA-256 and size of an open binary file, read in chunks from its start."""
    h = hashlib.sha256()
    size = 0
    fh.seek(0)
    while True:
        chunk = fh.read(_HASH_CHUNK)
        if not chunk:
            break
        h.update(chunk)
        size += len(chunk)
    fh.seek(0)
    return h.hexdigest(), size


class StagedFile:
    """A file written under a temporary name beside ``path`` and put in place later
    (:meth:`put_in_place`); its SHA-256 and size are computed from the bytes as they are written.
    Temporary names are those of :func:`peacesim.fsutil.atomic_write`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.tmp = fsutil.temp_name(self.path)
        self._sha = hashlib.sha256()
        self.size = 0
        self.error: OSError | None = None  # the first write error (pyarrow's wrapper loses errno)
        try:
            self._fh = open(self.tmp, "xb")
        except OSError as exc:
            raise fsutil.storage_error(exc, self.path, "write") from None

    # the file-like interface pyarrow writes through
    def write(self, data) -> int:
        view = memoryview(data)
        try:
            n = self._fh.write(view)
        except OSError as exc:
            self.error = self.error or exc
            raise
        self._sha.update(view)
        self.size += view.nbytes
        return n

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self._fh.flush()

    @property
    def closed(self) -> bool:
        return self._fh.closed

    def writable(self) -> bool:
        return True

    def close(self) -> None:  # pyarrow closes its sink; the file is closed by finish()
        pass

    @property
    def sha256(self) -> str:
        return self._sha.hexdigest()

    def fault(self, exc: BaseException) -> StorageError:
        """The one-line error for a failure while writing (the original OSError where pyarrow
        wrapped it)."""
        cause = self.error if self.error is not None else exc
        if isinstance(cause, OSError):
            return fsutil.storage_error(cause, self.path, "write")
        return StorageError(f"{self.path}: cannot write: {cause}")

    def finish(self) -> None:
        """Flush the file to the disk and close it."""
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        except OSError as exc:
            self.discard()
            raise fsutil.storage_error(exc, self.path, "write") from None

    def put_in_place(self) -> None:
        try:
            os.replace(self.tmp, self.path)
        except OSError as exc:
            self.discard()
            raise fsutil.storage_error(exc, self.path, "write") from None

    def discard(self) -> None:
        try:
            if not self._fh.closed:
                self._fh.close()
        except OSError:
            pass
        try:
            self.tmp.unlink(missing_ok=True)
        except OSError:
            pass


# ------------------------------------------------------------------------------------ reading sources
def read_schema(src: MergeSource, kind: str):
    """The schema of one source's file, from its header or footer only (no check of its bytes)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = src.path(kind)
    if path.suffix == ".parquet":
        return pq.read_schema(path).remove_metadata()
    with pa.OSFile(str(path), "rb") as f:
        return pa.ipc.open_file(f).schema.remove_metadata()


def read_buffer(path: Path):
    """A file's bytes in Arrow's memory (it reuses freed memory better than Python's heap does for
    thousands of parts of a few megabytes)."""
    import pyarrow as pa

    try:
        with pa.OSFile(str(path), "rb") as f:
            return f.read_buffer()
    except FileNotFoundError:
        raise Damaged("missing") from None
    except OSError as exc:
        raise fsutil.storage_error(exc, path, "read") from None


def _checked_bytes(src: MergeSource, kind: str):
    path = src.path(kind)
    data = read_buffer(path)
    want = src.hashes.get(kind)
    if want is not None and hashlib.sha256(data).hexdigest() != want:
        raise Damaged(f"{path.name}: its checksum differs from the one recorded when it was written")
    return data


def check_file(src: MergeSource, kind: str) -> None:
    """Check one file of a source whole: its checksum, and that it parses."""
    path = src.path(kind)
    if path.suffix == ".parquet" and src.name == "final":
        with open_source(path) as fh:
            _check_stream(src, kind, fh)
            import pyarrow.parquet as pq

            pq.ParquetFile(fh).metadata  # noqa: B018  (parses the footer)
        return
    _parse(_checked_bytes(src, kind), path.suffix)


def open_source(path: Path):
    """A results file opened for reading: a missing one is :class:`Damaged`, any other fault of
    the file system a :class:`~peacesim.errors.StorageError` naming the file."""
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise Damaged("missing") from None
    except OSError as exc:
        raise fsutil.storage_error(exc, path, "read") from None


def _check_stream(src: MergeSource, kind: str, fh) -> None:
    want = src.hashes.get(kind)
    if want is None:
        return
    try:
        digest, _ = file_sha256(fh)
    except OSError as exc:
        raise fsutil.storage_error(exc, src.path(kind), "read") from None
    if digest != want:
        raise Damaged(f"{src.path(kind).name}: its checksum differs from the one recorded when it was written")


def _parse(data, suffix: str):
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    buf = pa.BufferReader(data if isinstance(data, pa.Buffer) else pa.py_buffer(data))
    if suffix == ".parquet":
        return pq.read_table(buf, use_threads=False)
    return feather.read_table(buf, memory_map=False, use_threads=False)


class _Cursor:
    """The rows of one source's file for one table, read forward in the order of the merged table.

    A part is read whole (it is one batch) and checked against its checksum; the final table of an
    earlier merge is checked by streaming it through SHA-256 and then read by row groups."""

    def __init__(self, src: MergeSource, kind: str, replicates: int):
        self.src, self.kind, self.replicates = src, kind, replicates
        self._batches: Iterator | None = None
        self._fh = None
        self.table = None  # the rows not consumed yet
        self.run = np.empty(0, dtype=np.int64)  # their runs (index in design order)
        self.done = False
        self._last_run = -1
        self._last_sub = None

    def _open_source(self) -> None:
        path = self.src.path(self.kind)
        if path.suffix == ".parquet" and self.src.name == "final":
            import pyarrow.parquet as pq

            self._fh = open_source(path)
            _check_stream(self.src, self.kind, self._fh)
            self._batches = iter(pq.ParquetFile(self._fh).iter_batches(batch_size=READ_ROWS, use_threads=False))
            return
        table = _parse(_checked_bytes(self.src, self.kind), path.suffix)
        self._batches = iter([table])

    def _next(self) -> bool:
        import pyarrow as pa

        if self._batches is None:
            self._open_source()
        try:
            batch = next(self._batches)
        except StopIteration:
            self.close()
            return False
        table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
        run = _run_index(table, self.replicates)
        sub_col = ORDER[self.kind]
        sub = _ints(table, sub_col) if sub_col and sub_col in table.schema.names else None
        if self.src.name == "final":
            self._check_order(run, sub)
        elif not _in_order(run, sub):  # a part's rows are written in order; sorted if they are not
            order = np.lexsort((sub, run)) if sub is not None else np.argsort(run, kind="stable")
            table, run = table.take(pa.array(order)), run[order]
        self.table, self.run = table, run
        return True

    def _check_order(self, run: np.ndarray, sub: np.ndarray | None) -> None:
        """A final table read by row groups must be in the merged order (it was written so)."""
        if not len(run):
            return
        ok = _in_order(run, sub) and run[0] >= self._last_run
        if ok and sub is not None and run[0] == self._last_run and self._last_sub is not None:
            ok = sub[0] > self._last_sub
        if not ok:
            raise Damaged(f"{self.src.path(self.kind).name}: its rows are not in the order they were written in")
        self._last_run = int(run[-1])
        self._last_sub = int(sub[-1]) if sub is not None else None

    def take(self, first: int, last: int, source: int, chosen: np.ndarray) -> Iterator:
        """The rows of runs ``first``..``last`` (design order) that this source supplies."""
        while not self.done:
            if self.table is None or not len(self.run):
                if not self._next():
                    return
                continue
            start = int(np.searchsorted(self.run, first, side="left"))
            stop = int(np.searchsorted(self.run, last, side="right"))
            if stop > start:
                run = self.run[start:stop]
                mask = chosen[run] == source
                rows = self.table.slice(start, stop - start)
                if not mask.all():
                    import pyarrow as pa

                    rows = rows.filter(pa.array(mask))
                if rows.num_rows:
                    yield rows
            if stop < len(self.run):  # the rest belongs to later segments
                self.table, self.run = self.table.slice(stop), self.run[stop:]
                return
            self.table, self.run = None, self.run[:0]

    def close(self) -> None:
        self.done = True
        self.table, self._batches = None, None
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        release_unused()


def _ints(table, name: str) -> np.ndarray:
    col = table.column(name)
    if col.null_count:
        raise Damaged(f"its column {name} has missing values")
    return np.asarray(col.to_numpy(), dtype=np.int64)


def _run_index(table, replicates: int) -> np.ndarray:
    """The run of each row (its index in design order); -1 for a row of no run of the design."""
    dp = _ints(table, "design_point")
    rep = _ints(table, "replicate")
    run = dp * replicates + rep
    run[(dp < 0) | (rep < 0) | (rep >= replicates)] = -1
    return run


def _in_order(run: np.ndarray, sub: np.ndarray | None) -> bool:
    """Are rows in the merged order: by run, and within a run by episode or month?"""
    if len(run) < 2:
        return True
    step = np.diff(run)
    if np.any(step < 0):
        return False
    return sub is None or bool(np.all(np.diff(sub)[step == 0] > 0))


# ------------------------------------------------------------------------------------ writing
def conform(table, schema):
    """``table`` with exactly the columns and types of ``schema`` (missing columns empty)."""
    import pyarrow as pa

    if table.schema.equals(schema, check_metadata=False):
        return table
    cols = []
    for f in schema:
        if f.name in table.column_names:
            col = table.column(f.name)
            cols.append(col if col.type == f.type else col.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.Table.from_arrays(cols, schema=schema)


def rows_in_order(sources: list[MergeSource], kind: str, schema, the_plan: Plan) -> Iterator:
    """Every row the merged ``kind`` table holds, in its order, as tables of ``schema``."""
    cursors: dict[int, _Cursor] = {}
    last_run: dict[int, int] = {}
    segs = the_plan.segments()
    for i, (_, _, last) in enumerate(segs):
        last_run[segs[i][0]] = last
    try:
        for source, first, last in segs:
            src = sources[source]
            if kind not in src.files:
                continue
            cur = cursors.get(source)
            if cur is None:
                cur = cursors[source] = _Cursor(src, kind, the_plan.replicates)
            for rows in cur.take(first, last, source, the_plan.chosen):
                yield conform(rows.replace_schema_metadata(None), schema)
            if last >= last_run[source]:  # the source supplies nothing after this segment
                cur.close()
                del cursors[source]
    finally:
        for cur in cursors.values():
            cur.close()


def dictionary_columns(schema, also: list[str] = ()) -> list[str]:
    """The columns worth dictionary-encoding: all but floating-point ones, and ``also`` (the
    factors, a few values each). A measured float (violence, trust) takes nearly as many values as
    a row group has rows, and its dictionary costs more than it saves: with row groups of 30,000
    rows, dictionaries on every column made a series table 21% larger than one row group of a
    million rows did; without them on floats, 7%."""
    import pyarrow as pa

    return [f.name for f in schema if not pa.types.is_floating(f.type) or f.name in also]


def group_rows(schema) -> int:
    """Rows in one row group of a table of ``schema``: about :data:`ROW_GROUP_BYTES`, estimated
    from the schema alone (a fixed-width column by its width, any other at
    :data:`VARIABLE_WIDTH_BYTES`), so that the same rows are grouped alike however the runs were
    batched, and two sweeps with the same results write the same bytes."""
    width = 0
    for column in schema:
        try:
            width += max(1, column.type.bit_width // 8)
        except ValueError:  # not of fixed width (text, say)
            width += VARIABLE_WIDTH_BYTES
    return max(1, ROW_GROUP_BYTES // max(1, width))


def write_table(path: Path, schema, chunks: Iterator, convert: Callable | None = None,
                dictionary: list[str] | None = None) -> tuple[StagedFile, int]:
    """Write ``chunks`` (tables of ``schema``) to a staged Parquet file at ``path`` in row groups of
    :func:`group_rows` rows each (the last may have fewer), whatever the sizes of the chunks;
    ``convert`` turns a row group's table into the one stored; ``dictionary`` names the columns to
    dictionary-encode (default: :func:`dictionary_columns`). Returns the staged file (not in place
    yet) and the rows written."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    staged = StagedFile(path)
    rows = 0
    per_group = group_rows(schema)
    try:
        names = dictionary_columns(schema) if dictionary is None else dictionary
        writer = pq.ParquetWriter(staged, schema, use_dictionary=[n for n in names if n in schema.names] or False)
        try:
            buffer: list = []  # the row group so far: compacted pieces, then recent chunks
            recent = 0
            held = 0  # rows in the buffer
            for chunk in chunks:
                if not chunk.num_rows:  # (it would end a row group early)
                    continue
                buffer.append(chunk)
                recent += 1
                held += chunk.num_rows
                if recent >= COMPACT_CHUNKS:
                    # every chunk is a slice of its part with its own column objects: held by the
                    # thousand (small batches), they would cost more than their rows
                    buffer[-recent:] = [pa.concat_tables(buffer[-recent:]).combine_chunks()]
                    recent = 0
                while held >= per_group:
                    whole = pa.concat_tables(buffer) if len(buffer) > 1 else buffer[0]
                    rows += _write_group(writer, [whole.slice(0, per_group)], convert)
                    held -= per_group
                    buffer, recent = ([whole.slice(per_group)] if held else []), 0
            if buffer or not rows:  # (a table without rows still gets its schema written)
                rows += _write_group(writer, buffer or [schema.empty_table()], convert)
        finally:
            writer.close()
    except (OSError, pa.ArrowException) as exc:
        staged.discard()
        if isinstance(exc, StorageError) or (staged.error is None and not isinstance(exc, OSError)):
            raise
        raise staged.fault(exc) from None
    except BaseException:
        staged.discard()
        raise
    staged.finish()
    return staged, rows


def _write_group(writer, buffer: list, convert: Callable | None) -> int:
    import pyarrow as pa

    table = pa.concat_tables(buffer) if len(buffer) > 1 else buffer[0]
    if convert is not None:
        table = convert(table)
    writer.write_table(table, row_group_size=max(1, table.num_rows))
    release_unused()
    return table.num_rows


def release_unused() -> None:
    """Give the memory Arrow's allocator keeps for reuse back to the system (mimalloc keeps what
    thousands of parts and row groups were read and written with; given back after each, the
    merge's memory stays that of one part and one row group). A call with nothing to give back
    costs about a microsecond."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


# ------------------------------------------------------------------------------------ the runs table
def runs_schema(schema) -> tuple[Any, Callable]:
    """The stored schema of the runs table and the conversion of its row groups.

    The runs table's own columns have the types :func:`peacesim.parts.run_types` declares, whatever
    the rows (the parts of an earlier version inferred them from the values: an outcome missing
    in every run of a part was of Arrow's null type, ``months_to_first_agreement`` a whole number
    where every run signed an agreement). Every outcome may be missing (a failed run has none), so
    the whole-number and true/false outcomes are stored with pandas' nullable types (``Int64``,
    ``boolean``) always, not only when a run failed: a table's types do not depend on whether some
    run failed. The keys, factors, ``status``, ``error``, ``months`` and ``followup_months``, never
    missing where they are the runner's, keep their NumPy types. The conversion gives a row group
    (of ``schema``) those types and pandas' metadata; its values are not changed."""
    import pyarrow as pa

    from .parts import outcome_dtypes, run_types

    declared = run_types()
    names = set(schema.names)
    own = {n: t for n, t in declared.items() if n in names}
    target = pa.schema([pa.field(f.name, own.get(f.name, f.type)) for f in schema])
    frame = target.empty_table().to_pandas()
    for name, dtype in outcome_dtypes().items():
        if name in names:
            frame[name] = frame[name].astype(dtype)
    stored = pa.Table.from_pandas(frame, schema=target, preserve_index=False).schema

    def convert(table):
        return conform(table, target).replace_schema_metadata(stored.metadata)

    return stored, convert


def count_failed(chunks: Iterator, failed: list[int]) -> Iterator:
    """``chunks`` of the runs table as they are, adding their failed runs to ``failed[0]``."""
    import pyarrow.compute as pc

    for chunk in chunks:
        failed[0] += int(pc.sum(pc.not_equal(chunk.column("status"), "ok")).as_py() or 0)
        yield chunk
