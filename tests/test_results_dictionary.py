"""docs/RESULTS.md's dictionary of the run tables (runs, episodes, series) stays true to the
tables a sweep writes: every column is described, nothing is described that the tables lack, and
the documented pandas types are those ``pandas.read_parquet`` gives."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import peacesim
import peacesim.sweep as sweep

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## The columns of the run tables"
TABLES = ("runs", "episodes", "series")
SHARED = "every table"  # the heading of the columns every table starts with

# 2 design points x 2 replicates of 240 months: some runs sign agreements and some do not
#: Columns a table has only when the experiment varies a parameter that is also an episode column
#: (test_sweep.py checks them on such a sweep).
ONLY_WITH_SUCH_A_FACTOR = {"<name>_at_signature"}

EXPERIMENT = """
[experiment]
title = "dictionary"
scenario = "reference"
replicates = 2
master_seed = 2
keep_series = true

[vary]
handover_quality = [0.1, 0.8]
"""


# ------------------------------------------------------------------------------------ the document
def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _section() -> str:
    text = (ROOT / "docs" / "RESULTS.md").read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end >= 0 else len(text)]


def dictionary() -> dict[str, dict[str, dict[str, str]]]:
    """{table: {column or pattern: {header: cell}}} from the section's tables under the headings
    ``### Columns of every table`` and ``### `runs.parquet```, etc. Rows whose first cell names no
    column in backticks (the factors) are left out."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    table = header = None
    for line in _section().splitlines():
        if line.startswith("### "):
            heading = line[4:]
            named = re.search(r"`(\w+)\.parquet`", heading)
            table = named.group(1) if named else (SHARED if SHARED in heading else None)
            header = None
            continue
        if table is None or not line.lstrip().startswith("|"):
            header = None
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue
        assert len(cells) == len(header), f"a row of the {table} dictionary has {len(cells)} cells: {line}"
        row = dict(zip(header, cells))
        for name in re.findall(r"`([^`]+)`", cells[0]):
            assert name not in out.get(table, {}), f"{name} is described twice for {table}"
            out.setdefault(table, {})[name] = row
    return out


def row_keys() -> dict[str, list[str]]:
    """{table: key columns} from the section's first table (one row per table)."""
    keys = {}
    header = None
    for line in _section().split("\n### ")[0].splitlines():
        if not line.lstrip().startswith("|"):
            continue
        cells = _cells(line)
        if header is None:
            header = cells
            continue
        named = re.search(r"`(\w+)\.parquet`", cells[0])
        if named:
            keys[named.group(1)] = re.findall(r"`(\w+)`", cells[-1])
    return keys


def _pattern(name: str) -> re.Pattern:
    """A documented name as a pattern: ``<party>`` stands for any part of a column's name."""
    parts = re.split(r"<[^>]+>", name)
    return re.compile("[a-z0-9_]+".join(re.escape(p) for p in parts))


def _documented_type(row: dict[str, str]) -> str:
    """The first type named in the row's type cell: the type of a sweep without failed runs."""
    cell = next(v for k, v in row.items() if "type" in k)
    found = re.search(r"`([^`]+)`", cell)
    assert found, f"no type in {row}"
    return found.group(1)


def _same_type(documented: str, dtype) -> bool:
    if documented == "object":  # text: object with pandas 2, str with pandas 3
        return dtype == object or pd.api.types.is_string_dtype(dtype)
    return str(dtype) == documented


# ------------------------------------------------------------------------------------ the sweep
def _sweep(folder: Path, fail_replicate: int | str | None = None) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The tables of the tiny sweep (with the runs of one replicate failing, if asked) and its
    factor columns."""
    path = folder / "dictionary.toml"
    path.write_text(EXPERIMENT)
    exp = peacesim.load_experiment(str(path))
    fail_seeds = (set(exp.seeds) if fail_replicate == "all" else
                  {exp.seeds[fail_replicate]} if fail_replicate is not None else set())
    real = sweep.run_scenario

    def run(scen, seed, **kw):
        if seed in fail_seeds:
            raise RuntimeError("a failure for the test")
        return real(scen, seed=seed, **kw)

    sweep.run_scenario = run
    try:
        peacesim.run_experiment(str(path), executor="serial", out=str(folder / "out"), progress=False)
    finally:
        sweep.run_scenario = real
    frames = {t: pd.read_parquet(folder / "out" / f"{t}.parquet") for t in TABLES
              if (folder / "out" / f"{t}.parquet").exists()}  # (no series when every run failed)
    return frames, list(exp.columns)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    frames, factors = _sweep(tmp_path_factory.mktemp("dictionary"))
    runs = frames["runs"]
    # the sweep holds what the types depend on: no failure, runs with and without an agreement
    assert (runs["status"] == "ok").all()
    assert runs["agreement_reached"].any() and not runs["agreement_reached"].all()
    assert len(frames["episodes"]) and len(frames["series"])
    return frames, factors


# ------------------------------------------------------------------------------------ the tests
def test_the_dictionary_has_a_table_for_every_run_table():
    doc = dictionary()
    assert set(doc) == {SHARED, *TABLES}, sorted(doc)
    assert set(row_keys()) == set(TABLES)


@pytest.mark.parametrize("table", TABLES)
def test_every_column_is_described_and_nothing_else(tables, table):
    frames, factors = tables
    doc = dictionary()
    described = {**doc[SHARED], **doc[table]}
    columns = [c for c in frames[table].columns if c not in factors]
    patterns = {name: _pattern(name) for name in described}
    missing = [c for c in columns if not any(p.fullmatch(c) for p in patterns.values())]
    assert not missing, f"columns of {table}.parquet not described in docs/RESULTS.md: {missing}"
    extra = [name for name, p in patterns.items() if not any(p.fullmatch(c) for c in columns)
             and name not in ONLY_WITH_SUCH_A_FACTOR]
    assert not extra, f"docs/RESULTS.md describes columns that {table}.parquet lacks: {extra}"


@pytest.mark.parametrize("table", TABLES)
def test_documented_types_are_those_pandas_reads(tables, table):
    frames, factors = tables
    doc = dictionary()
    described = {**doc[SHARED], **doc[table]}
    df = frames[table]
    wrong = []
    for c in df.columns:
        if c in factors:
            continue
        row = next(r for name, r in described.items() if _pattern(name).fullmatch(c))
        if not _same_type(_documented_type(row), df[c].dtype):
            wrong.append(f"{c}: documented {_documented_type(row)}, read {df[c].dtype}")
    assert not wrong, f"{table}.parquet: {wrong}"


@pytest.mark.parametrize("table", TABLES)
def test_the_documented_key_is_unique_and_the_rows_sorted_by_it(tables, table):
    frames, _ = tables
    key = row_keys()[table]
    df = frames[table]
    assert not df.duplicated(key).any()
    assert df[key].equals(df[key].sort_values(key).reset_index(drop=True))


@pytest.mark.parametrize("fail_replicate", [0, 1, "all"])
def test_the_runs_table_has_the_same_types_whether_or_not_runs_failed(tables, tmp_path, fail_replicate):
    """As the section says: a failed run's outcomes are missing, and the runs table's types are
    those of a sweep without failures. Replicate 0 signs agreements and replicate 1 does not, so
    when replicate 1 fails every finished run signed one, and when replicate 0 fails none did
    (months_to_first_agreement was int64 or object then); with every run failing, every outcome is
    missing (they were all object)."""
    frames, factors = _sweep(tmp_path, fail_replicate=fail_replicate)
    runs, clean = frames["runs"], tables[0]["runs"]
    failed = runs["status"] == "failed"
    assert failed.sum() == (4 if fail_replicate == "all" else 2)
    assert (runs.loc[~failed, "error"] == "").all() and runs.loc[failed, "error"].str.startswith("RuntimeError").all()
    assert runs.loc[failed, [c for c in runs.columns if c in dictionary()["runs"] and not
                             dictionary()["runs"][c]["missing"].startswith("never")]].isna().all().all()
    assert dict(runs.dtypes) == dict(clean.dtypes)
    if fail_replicate != "all":
        signed = runs.loc[~failed, "agreement_reached"]
        assert signed.all() if fail_replicate == 1 else not signed.any()
    # the advice of the section works
    ok = runs[~failed]
    assert ok["agreement_reached"].astype(bool).dtype == bool
    assert ok["n_agreements"].to_numpy(dtype=int).dtype == int
