"""The merge as it was before it was streamed (peacesim up to commit 99f4066), kept as the reference
the streamed merge must agree with: every part read at once and concatenated, the newest row of
each run kept, the tables sorted. Two changes since: an episodes table without rows has the types of
one with rows, not Arrow's null type (the keys as in the runs table, the episode's own columns as
declared); and the runs table's own columns have their declared types
(:func:`peacesim.parts.run_types`), the whole-number and true/false outcomes pandas' nullable types
(``Int64``, ``boolean``), whether or not a run failed, where the old merge inferred them from the
values and made them nullable only when a run failed."""

from __future__ import annotations

import io

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq

from peacesim.agreement import EPISODE_COLUMNS
from peacesim.parts import RUN_COLUMNS, episode_types, run_types

ORDER = {"runs": ["design_point", "replicate"], "episodes": ["design_point", "replicate", "episode"],
         "series": ["design_point", "replicate", "month"]}


def _read(path):
    return pq.read_table(path) if path.suffix == ".parquet" else feather.read_table(path)


def _concat(tables):
    tables = [t.replace_schema_metadata(None) for t in tables if t.num_rows]
    if not tables:
        return None
    return pa.concat_tables(tables, promote_options="permissive")


def _as_stored(table, runs: bool = False):
    """What reading back the parquet file the old merge wrote gives (with the runs table's
    declared types)."""
    if runs:
        declared = run_types()
        target = pa.schema([pa.field(f.name, declared.get(f.name, f.type)) for f in table.schema])
        table = table.cast(target)
        df = table.to_pandas()
        for name in declared:
            if name in RUN_COLUMNS or name not in df.columns:
                continue
            t = target.field(name).type
            if pa.types.is_integer(t) or pa.types.is_boolean(t):
                dtype = "Int64" if pa.types.is_integer(t) else "boolean"
                df[name] = pd.array(table.column(name).to_pylist(), dtype=dtype)
        table = pa.Table.from_pandas(df, schema=target, preserve_index=False)
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return pq.read_table(io.BytesIO(sink.getvalue()))


def reference_tables(store) -> dict[str, pa.Table]:
    """{kind: table} the old merge would have written from ``store``'s verified sources."""
    loaded = {k: [] for k in ORDER}
    for i, src in enumerate(store.sources):
        for kind, path in src.files.items():
            t = _read(path)
            loaded[kind.split(".")[0]].append(t.append_column("_source", pa.array([i] * t.num_rows, pa.int64())))
    runs = _concat(loaded["runs"])
    source = runs.column("_source").to_numpy()
    seqs = pd.Series([s.seq for s in store.sources]).to_numpy()
    keys = pd.DataFrame({"design_point": runs.column("design_point").to_numpy(),
                         "replicate": runs.column("replicate").to_numpy(), "_source": source, "_seq": seqs[source]})
    chosen = keys.sort_values(["design_point", "replicate", "_seq"], kind="stable").drop_duplicates(
        ["design_point", "replicate"], keep="last")
    one_each = len(chosen) == len(keys)
    pick = pd.MultiIndex.from_frame(chosen[["design_point", "replicate", "_source"]])
    out = {}
    for kind in ORDER:
        t = runs if kind == "runs" else _concat(loaded[kind])
        if t is None:
            if kind == "episodes":  # (since the old merge: typed as a table with rows, not as nulls)
                keys = ["design_point", "replicate", "seed", *store.exp.columns]
                types = {**episode_types(), **{c: runs.schema.field(c).type for c in keys}}
                cols = keys + [c for c in EPISODE_COLUMNS if c not in keys]
                out[kind] = _as_stored(pa.schema([(c, types[c]) for c in cols]).empty_table())
            continue
        if not one_each:
            rows = pd.MultiIndex.from_arrays([t.column(c).to_numpy() for c in ("design_point", "replicate", "_source")])
            t = t.filter(pa.array(rows.isin(pick)))
        t = t.drop_columns(["_source"]).sort_by([(c, "ascending") for c in ORDER[kind]])
        out[kind] = _as_stored(t, runs=kind == "runs")
    return out
