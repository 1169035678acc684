"""One batch of runs as tables: what a worker sends back and what ``parts/`` stores.

A batch's runs come out of the model one at a time, each as an outcome row, its episodes and (if
the experiment keeps them) its monthly series as an array. :class:`PartBuilder` collects them and
builds each table once for the whole batch, as Arrow columns, never a DataFrame or a table per
run; :meth:`PartBuilder.build` encodes the tables as the part's files (Arrow IPC, uncompressed)
with their row counts and SHA-256 checksums. That work is done where the batch ran (a worker
process), so the sweep's own process only writes bytes (:meth:`peacesim.store.ResultStore.write_part`).

The types of the keys and factors are inferred from their values as ``pyarrow.Table.from_pylist``
infers them; the episodes' own columns are typed as their fields are declared
(:func:`episode_types`), so that an episodes table without rows has them too
(:func:`episode_schema`), and the runs' own columns as :func:`run_types` declares them, so that
their types do not depend on which runs failed or signed an agreement; the series are
:func:`peacesim.records.series_frame` (the phase as its label) with the run's keys in front.
Nothing here touches files.
"""

from __future__ import annotations

import hashlib
import types
import typing
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np

from .agreement import Agreement
from .records import COUNTERS, EPISODE_COLUMNS, OUTCOME_KEYS, series_frame

__all__ = ["Part", "PartFile", "PartBuilder", "AT_SIGNATURE", "episode_columns", "episode_types", "episode_own_types",
           "episode_schema", "own_episode_row", "ipc_bytes",
           "KEY_COLUMNS", "RUN_COLUMNS", "run_types", "outcome_dtypes"]

#: The columns that name a run, first in every table (the factor columns follow them).
KEY_COLUMNS = ("design_point", "replicate", "seed")
#: The runs table's columns after the keys and factors that every row has, a failed run's too.
RUN_COLUMNS = ("status", "error", "months", "followup_months")
#: The type of each value of :func:`peacesim.records.build_outcome` but the counters (whole numbers,
#: ``int``). ``months_to_first_agreement`` is a whole number or None: stored as a float, so that
#: the column is one type whether every run, some or none signed an agreement.
_OUTCOME_KINDS: dict[str, type] = {
    "agreement_reached": bool,
    "months_to_first_agreement": float,
    "n_agreements": int,
    "n_relapses": int,
    "consolidated": bool,
    "final_phase": str,
    "total_violence": float,
    "mean_violence": float,
    "months_in_conflict": int,
    "months_in_talks": int,
    "months_in_implementation": int,
    "months_in_consolidated": int,
    **{c: int for c in COUNTERS},
}


@dataclass(frozen=True)
class PartFile:
    """One file of a part: its bytes, rows and SHA-256."""

    data: bytes
    rows: int
    sha256: str


@dataclass
class Part:
    """A finished batch: its files by kind (``runs``, ``episodes``, ``series``), the keys
    (design point, replicate) of its runs in order, which of them failed, and the seconds the
    batch took where it ran (from which the sweep sizes the batches that follow)."""

    files: dict[str, PartFile]
    keys: list[tuple[int, int]]
    failed: list[bool]
    seconds: float = 0.0
    interrupted: bool = False  # Ctrl-C ended the batch early (a serial sweep); the runs before it are kept
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.keys)

    @property
    def n_failed(self) -> int:
        return sum(self.failed)


#: The suffix of an episode's own value of an attribute that is also a varied parameter.
AT_SIGNATURE = "_at_signature"


def episode_columns(keys: list[str]) -> list[str]:
    """The episodes table's columns: the run's keys, then the episode's own. A varied parameter
    that is also an episode attribute, such as ``coordination``, is among the keys with the
    design's value; the agreement's own value (an intervention may have changed it before the
    signature) is ``coordination_at_signature``, where ``coordination`` would stand."""
    return list(keys) + [c + AT_SIGNATURE if c in keys else c for c in EPISODE_COLUMNS]


def own_episode_row(row: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    """An episode's row (:meth:`~peacesim.agreement.Agreement.row`) with the run's keys: an
    attribute that is also a key keeps its own value as ``<name>_at_signature``."""
    out = {(c + AT_SIGNATURE if c in keys else c): v for c, v in row.items()}
    out.update(keys)
    return out


@lru_cache(maxsize=1)
def episode_types() -> dict:
    """The Arrow type of each episode column (:data:`~peacesim.records.EPISODE_COLUMNS`), from the
    type its field (or property, ``n_signatories``) of :class:`~peacesim.agreement.Agreement` is
    declared with: the type ``pyarrow`` infers from the values of an episode's row
    (:meth:`~peacesim.agreement.Agreement.row`: a tuple of names is stored joined, as text; an
    optional field has the type of its values)."""
    import pyarrow as pa

    arrow = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string(), tuple: pa.string()}
    fields = typing.get_type_hints(Agreement)
    out = {}
    for c in EPISODE_COLUMNS:
        hint = fields[c] if c in fields else typing.get_type_hints(getattr(Agreement, c).fget)["return"]
        if isinstance(hint, types.UnionType):  # int | None
            hint = next(t for t in typing.get_args(hint) if t is not type(None))
        out[c] = arrow[typing.get_origin(hint) or hint]  # tuple[str, ...] -> tuple
    return out


@lru_cache(maxsize=1)
def run_types() -> dict:
    """The Arrow type of each of the runs table's own columns (:data:`RUN_COLUMNS` and the outcomes,
    :data:`~peacesim.records.OUTCOME_KEYS`), declared so that the table's types never depend on its
    rows: not on whether a run failed (its outcomes are missing), nor on whether any run signed an
    agreement."""
    import pyarrow as pa

    arrow = {bool: pa.bool_(), int: pa.int64(), float: pa.float64(), str: pa.string()}
    kinds = {"status": str, "error": str, "months": int, "followup_months": int}
    missing = [k for k in OUTCOME_KEYS if k not in _OUTCOME_KINDS]
    if missing:  # pragma: no cover - an outcome added to records without its type here
        raise TypeError(f"peacesim.parts: no type declared for the outcome(s) {', '.join(missing)}")
    return {c: arrow[t] for c, t in {**kinds, **_OUTCOME_KINDS}.items()}


def outcome_dtypes() -> dict[str, str]:
    """The pandas type of each outcome column of the runs table (:func:`run_types` but
    :data:`RUN_COLUMNS` and the text ones): ``boolean``, ``Int64`` or ``float64``, the nullable
    types because a failed run's outcomes are missing."""
    import pyarrow as pa

    return {name: "boolean" if pa.types.is_boolean(t) else "Int64" if pa.types.is_integer(t) else "float64"
            for name, t in run_types().items()
            if name not in RUN_COLUMNS and (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t))}


def episode_schema(keys: list[str], key_schema=None):
    """The episodes table's schema (:func:`episode_columns`) for runs with these key columns: each
    key of the type it has in ``key_schema`` (the runs table's, whose rows hold the same keys; null
    where it has none), then the episode's own columns (:func:`episode_types`). It is the schema
    of the table with rows, so that a table without rows is typed alike."""
    import pyarrow as pa

    known = {f.name: f.type for f in key_schema} if key_schema is not None else {}
    own = episode_own_types(keys)
    return pa.schema([pa.field(c, known.get(c, pa.null()) if c in keys else own[c]) for c in episode_columns(keys)])


def episode_own_types(keys: list[str]) -> dict:
    """The Arrow type of each of the episodes table's own columns for runs with these keys."""
    return {(c + AT_SIGNATURE if c in keys else c): t for c, t in episode_types().items()}


def ipc_bytes(table) -> bytes:
    """``table`` as an uncompressed Arrow IPC file (Feather V2)."""
    import pyarrow as pa
    import pyarrow.feather as feather

    sink = pa.BufferOutputStream()
    feather.write_feather(table, sink, compression="uncompressed")
    return sink.getvalue().to_pybytes()


def _file(table) -> PartFile:
    data = ipc_bytes(table)
    return PartFile(data, table.num_rows, hashlib.sha256(data).hexdigest())


def _columns(names: list[str], rows: list[dict[str, Any]], typed: dict | None = None):
    """A table of ``rows`` (dicts) with the given columns, each of its type in ``typed`` or typed
    from its values the way ``pyarrow.Table.from_pylist`` types it (a missing key is a missing value)."""
    import pyarrow as pa

    typed = typed or {}
    return pa.table({n: pa.array([r.get(n) for r in rows], type=typed.get(n)) for n in names})


class PartBuilder:
    """Collects the runs of one batch and builds its tables once (see the module's description).

    ``columns`` are the experiment's factor columns; every table starts with
    :data:`KEY_COLUMNS` and them."""

    def __init__(self, columns: list[str]):
        self.keys = [*KEY_COLUMNS, *columns]
        self.rows: list[dict[str, Any]] = []
        self.episodes: list[dict[str, Any]] = []
        self.series: list[tuple[int, np.ndarray, tuple[str, ...]]] = []  # (index in rows, data, columns)
        self.frames: list[tuple[int, Any]] = []  # series given as DataFrames (callers from before)

    def add(self, row: dict[str, Any], episodes: list[dict[str, Any]], series: Any = None) -> None:
        """One run: its outcome row, its episode rows (its keys included) and its series, as
        ``(data, columns)`` (the model's array of months x columns and their names), a DataFrame
        that already holds the run's keys, or None."""
        self.rows.append(row)
        self.episodes.extend(episodes)
        if series is None:
            return
        if isinstance(series, tuple):
            data, cols = series
            self.series.append((len(self.rows) - 1, data, tuple(cols)))
        else:
            self.frames.append((len(self.rows) - 1, series))

    def build(self, seconds: float = 0.0, interrupted: bool = False) -> Part:
        """The batch's tables encoded as the files of a part."""
        files: dict[str, PartFile] = {}
        if self.episodes:
            own = episode_own_types(self.keys)
            files["episodes"] = _file(_columns(episode_columns(self.keys), self.episodes, own))
        series = self._series_table()
        if series is not None:
            files["series"] = _file(series)
        names = list(dict.fromkeys(k for r in self.rows for k in r))
        own = {c: t for c, t in run_types().items() if c not in self.keys}
        files["runs"] = _file(_columns(names, self.rows, own))
        keys = [(r["design_point"], r["replicate"]) for r in self.rows]
        failed = [r["status"] != "ok" for r in self.rows]
        return Part(files, keys, failed, seconds, interrupted)

    # ------------------------------------------------------------------------------ series
    def _series_table(self):
        """The batch's series: the runs' arrays stacked and made a table once per batch (once per
        set of columns, should runs differ in their parties), the run's keys in front."""
        import pyarrow as pa

        tables = []
        groups: list[list[tuple[int, np.ndarray]]] = []
        group_cols: list[tuple[str, ...]] = []
        for i, data, cols in self.series:
            if not group_cols or group_cols[-1] != cols:
                groups.append([])
                group_cols.append(cols)
            groups[-1].append((i, data))
        for cols, runs in zip(group_cols, groups):
            tables.append(self._stacked(list(cols), runs))
        for _, frame in self.frames:
            tables.append(pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None))
        if not tables:
            return None
        if len(tables) == 1:
            return tables[0]
        return pa.concat_tables(tables, promote_options="permissive")

    def _stacked(self, cols: list[str], runs: list[tuple[int, np.ndarray]]):
        import pyarrow as pa

        lengths = np.array([len(d) for _, d in runs], dtype=np.int64)
        frame = series_frame(np.concatenate([d for _, d in runs]) if runs else np.empty((0, len(cols))), cols)
        # series_frame numbers the months of one run; here they restart with every run
        frame["month"] = np.concatenate([np.arange(1, n + 1) for n in lengths]) if len(lengths) else []
        owner = pa.array(np.repeat(np.arange(len(runs)), lengths))
        table = {k: pa.array([self.rows[i].get(k) for i, _ in runs]).take(owner) for k in self.keys}
        for name in frame.columns:
            table[name] = _arrow(frame[name])
        return pa.table(table)


def _arrow(column):
    """One column of a DataFrame as pyarrow.Table.from_pandas makes it (a missing float is null, a
    category its label), without pandas' conversion machinery and its threads."""
    import pandas as pd
    import pyarrow as pa

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype):  # as its labels (text)
        codes = np.asarray(column.cat.codes)
        labels = pa.array([str(c) for c in dtype.categories], type=pa.string())
        return labels.take(pa.array(codes, mask=codes < 0))
    if dtype.kind in "fiub":
        return pa.array(column.to_numpy(), from_pandas=True)
    return pa.array(column.to_numpy(dtype=object), from_pandas=True)
