"""The streamed merge of a sweep's parts (peacesim.merge) and the parts built once per batch
(peacesim.parts): the same tables as the merge always wrote (columns, types, pandas metadata, row
order), from many parts in any order, with a bounded number of parts and rows in memory, and with
damaged parts still set aside and rerun."""

from __future__ import annotations

import errno
import hashlib
import json
import random

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from merge_reference import reference_tables

import peacesim.merge as merge
import peacesim.sweep as sweep
from peacesim.errors import StorageError
from peacesim.experiment import experiment_from_dict, load_experiment
from peacesim.parts import Part, run_types
from peacesim.store import ResultStore
from peacesim.sweep import run_experiment

SERIES = {"experiment": {"name": "m", "scenario": "reference", "replicates": 7, "master_seed": 3, "months": 36,
                         "keep_series": True},
          "vary": {"handover_quality": [0.1, 0.5, 0.9]}}
# design rows that set different parameters (a column missing at some points), a text factor, and
# a varied parameter that is also an episode column (coordination)
DESIGN = {"experiment": {"name": "d", "scenario": "reference", "replicates": 4, "master_seed": 5, "months": 60,
                         "keep_series": True},
          "design": [{"coordination": "none", "mediators": 3}, {"coordination": "contact_group"},
                     {"mediators": 2, "handover_quality": 0.3}]}


@pytest.fixture
def small_groups(monkeypatch):
    """Row groups of a few kilobytes and reads of a few rows: every table is written and read in
    many pieces."""
    monkeypatch.setattr(merge, "ROW_GROUP_BYTES", 1024)
    monkeypatch.setattr(merge, "READ_ROWS", 7)


@pytest.fixture
def many_parts(monkeypatch):
    monkeypatch.setattr(sweep, "BATCH_SECONDS", 0.001)  # a run or two per batch


def _flaky(monkeypatch, bad: set[tuple[int, int]]):
    real = sweep.run_one

    def run_one(base, spec, columns, outcomes, keep_series):
        if (spec.design_point, spec.replicate) in bad:
            return sweep._failed_row(base, spec, columns, outcomes, "ValueError: boom"), [], None
        return real(base, spec, columns, outcomes, keep_series)

    monkeypatch.setattr(sweep, "run_one", run_one)


def _capture_reference(monkeypatch) -> list[dict]:
    """Wrap the merge: before it runs, the tables the old merge would write from the same sources."""
    refs: list[dict] = []
    real = ResultStore.merge

    def merge_and_remember(self, manifest):
        refs.append(reference_tables(self))
        return real(self, manifest)

    monkeypatch.setattr(ResultStore, "merge", merge_and_remember)
    return refs


def _assert_same(out, ref: dict) -> None:
    kinds = {p.stem for p in out.glob("*.parquet")}
    assert kinds == set(ref)
    for kind, want in ref.items():
        got = pq.read_table(out / f"{kind}.parquet")
        # (pandas' metadata may differ for a whole-number factor with gaps, which reads as float64
        # either way: the frames compared below hold the types pandas reads)
        assert got.schema.equals(want.schema, check_metadata=False), (kind, got.schema, want.schema)
        assert got.equals(want), kind
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"), want.to_pandas())


@pytest.mark.parametrize("case", ["series", "design rows", "failed runs"])
def test_the_streamed_merge_writes_the_tables_the_merge_always_wrote(tmp_path, monkeypatch, small_groups,
                                                                     many_parts, case):
    exp = experiment_from_dict(DESIGN if case == "design rows" else SERIES, where="<test>")
    if case == "failed runs":  # whole-number and true/false columns then become nullable (Int64, boolean)
        _flaky(monkeypatch, {(0, 1), (2, 6)})
    refs = _capture_reference(monkeypatch)
    out = tmp_path / "o"
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.ran == exp.n_runs and len(refs) == 1
    _assert_same(out, refs[0])
    for kind in ("runs", "series"):  # in many row groups
        assert pq.ParquetFile(out / f"{kind}.parquet").metadata.num_row_groups > 1
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(zip(runs.design_point, runs.replicate)) == [(d, r) for d in range(len(exp.design))
                                                           for r in range(exp.replicates)]
    if case == "failed runs":
        assert runs["n_agreements"].dtype == "Int64" and runs["agreement_reached"].dtype == "boolean"
        assert runs.loc[runs.status == "failed", "n_agreements"].isna().all()


def test_rerun_failed_runs_merge_with_the_final_tables_read_by_row_groups(tmp_path, monkeypatch, small_groups,
                                                                         many_parts):
    # a complete sweep's tables (the oldest source, read a few rows at a time) and the new parts of
    # the runs retried, whose rows replace the failed ones
    exp = experiment_from_dict(SERIES, where="<test>")
    out = tmp_path / "o"
    with monkeypatch.context() as m:
        _flaky(m, {(0, 2), (1, 0), (1, 6), (2, 3)})
        run_experiment(exp, executor="serial", out=out, progress=False)
    refs = _capture_reference(monkeypatch)
    res = run_experiment(exp, executor="serial", out=out, progress=False, retry_failed=True)
    assert res.ran == 4 and res.failed == 0
    assert refs[0]["runs"].num_rows == exp.n_runs  # the reference dropped the failed rows too
    _assert_same(out, refs[0])
    clean = tmp_path / "clean"
    run_experiment(exp, executor="serial", out=clean, progress=False)
    for kind in ("runs", "episodes", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(clean / f"{kind}.parquet"))


def test_parts_written_in_any_order_are_merged_in_design_order_a_part_at_a_time(tmp_path, monkeypatch, small_groups):
    exp = experiment_from_dict(SERIES, where="<test>")
    clean = tmp_path / "clean"
    run_experiment(exp, executor="serial", out=clean, progress=False)
    # batches of 1 to 4 runs, written in a shuffled order
    specs = exp.runs()
    rng = random.Random(4)
    batches, i = [], 0
    while i < len(specs):
        k = rng.randint(1, 4)
        batches.append(specs[i:i + k])
        i += k
    rng.shuffle(batches)
    out = tmp_path / "shuffled"
    store = ResultStore(out, exp)
    store.open(False)
    try:
        store.scan()
        base = exp.base()
        for b in batches:
            part = sweep.run_batch(base, b, exp.columns, exp.outcomes, exp.keep_series)
            assert isinstance(part, Part) and part.keys == [(s.design_point, s.replicate) for s in b]
            for f in part.files.values():  # encoded where the batch ran, with its checksum
                assert hashlib.sha256(f.data).hexdigest() == f.sha256
            store.write_part(part)
        ref = reference_tables(store)
        held, most = [0], [0]
        real_init, real_close = merge._Cursor.__init__, merge._Cursor.close

        def init(self, *a, **k):
            real_init(self, *a, **k)
            held[0] += 1
            most[0] = max(most[0], held[0])

        def close(self):
            if not self.done:
                held[0] -= 1
            real_close(self)

        monkeypatch.setattr(merge._Cursor, "__init__", init)
        monkeypatch.setattr(merge._Cursor, "close", close)
        counts, missing = store.merge({"name": "m"})
    finally:
        store.close()
    assert not len(missing) and counts["runs"] == exp.n_runs and counts["failed"] == 0
    assert most[0] == 1 and held[0] == 0  # one part read at a time, none left open
    _assert_same(out, ref)
    for kind in ("runs", "episodes", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(clean / f"{kind}.parquet"))


def test_a_part_damaged_in_the_middle_of_the_merge_is_set_aside_and_rerun(tmp_path, monkeypatch, small_groups,
                                                                          many_parts):
    exp = experiment_from_dict(SERIES, where="<test>")
    clean = tmp_path / "clean"
    run_experiment(exp, executor="serial", out=clean, progress=False)
    out = tmp_path / "o"
    series_opened = []
    real_open = merge._Cursor._open_source

    def open_source(self):
        if self.kind == "series":
            series_opened.append(self.src.name)
            if len(series_opened) == 5:  # goes bad after it was checked, while the merge has begun writing
                path = self.src.path("series")
                path.write_bytes(path.read_bytes()[:-9] + b"damaged!!")
        real_open(self)

    monkeypatch.setattr(merge._Cursor, "_open_source", open_source)
    with pytest.warns(RuntimeWarning, match="checksum differs") as caught:
        res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert len([w for w in caught if "unreadable-parts" in str(w.message)]) == 1
    assert res.ran > exp.n_runs  # the damaged batch's runs ran again
    assert len(list((out / "unreadable-parts").glob("series-*.arrow"))) == 1
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")], "a staged table was left behind"
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    for kind in ("runs", "episodes", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(clean / f"{kind}.parquet"))


def test_a_merge_cut_short_leaves_its_staged_tables_to_the_next_start_only(tmp_path, monkeypatch):
    exp_dict = {**SERIES, "experiment": {**SERIES["experiment"], "replicates": 2}}
    exp = experiment_from_dict(exp_dict, where="<test>")
    out = tmp_path / "o"
    with monkeypatch.context() as m:  # killed during the merge: a staged table stays behind
        def killed(self, kind, sources, the_plan, *rest):
            (self.out / ".series.parquet.0123abcd.tmp").write_bytes(b"half a table")
            raise KeyboardInterrupt
        m.setattr(ResultStore, "_merge_kind", killed)
        with pytest.raises(sweep.SweepInterrupted):
            run_experiment(exp, executor="serial", out=out, progress=False)
    mine = out / ".notes.txt.0123abcd.tmp"  # named like a temporary file, but not one of peacesim's tables
    mine.write_text("keep me")
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.ran == 0 and res.skipped == exp.n_runs
    assert not (out / ".series.parquet.0123abcd.tmp").exists()
    assert mine.read_text() == "keep me"
    assert len(pd.read_parquet(out / "series.parquet")) == exp.n_runs * 36


def test_a_full_disk_while_a_table_is_staged_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    real = merge.StagedFile.write
    calls = []

    def write(self, data):
        calls.append(1)
        if len(calls) > 3:
            self._fh.close()  # the next write fails as on a full disk
            err = OSError(errno.ENOSPC, "No space left on device")
            self.error = err
            raise err
        return real(self, data)

    monkeypatch.setattr(merge.StagedFile, "write", write)
    monkeypatch.setattr(merge, "ROW_GROUP_BYTES", 64)
    table = pa.table({"design_point": list(range(1000)), "x": [float(i) for i in range(1000)]})
    with pytest.raises(StorageError) as info:
        merge.write_table(tmp_path / "t.parquet", table.schema, iter([table.slice(i, 10) for i in range(0, 1000, 10)]))
    assert info.value.errno == errno.ENOSPC
    assert str(info.value).startswith(f"{tmp_path / 't.parquet'}: cannot write: No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_the_same_rows_make_the_same_bytes_however_they_come_in_chunks(tmp_path, monkeypatch):
    """Row groups have a fixed number of rows: two sweeps with the same results write the same file
    (and checksum) whatever sizes their batches had."""
    monkeypatch.setattr(merge, "ROW_GROUP_BYTES", 2048)
    n = 1000
    table = pa.table({"design_point": list(range(n)), "x": [i / 7 for i in range(n)],
                      "phase": [("talks", "conflict", "implementation")[i % 3] for i in range(n)]})
    per_group = merge.group_rows(table.schema)
    assert 1 < per_group < n
    digests = set()
    for k, sizes in enumerate(([n], [1] * n, [3, 700, 297], [per_group - 1, 2, n - per_group - 1],
                               [per_group, 0, n - per_group, 0])):  # (empty chunks, one at a group's end)
        starts = np.cumsum([0, *sizes[:-1]])
        staged, rows = merge.write_table(tmp_path / f"t{k}.parquet", table.schema,
                                         iter([table.slice(a, b) for a, b in zip(starts, sizes)]))
        staged.put_in_place()
        meta = pq.ParquetFile(tmp_path / f"t{k}.parquet").metadata
        assert rows == n and pq.read_table(tmp_path / f"t{k}.parquet").equals(table)
        assert [meta.row_group(g).num_rows for g in range(meta.num_row_groups)] == (
            [per_group] * (n // per_group) + ([n % per_group] if n % per_group else []))
        digests.add(staged.sha256)
    assert len(digests) == 1


def test_a_staged_file_knows_its_checksum_and_is_in_place_only_when_put_there(tmp_path):
    table = pa.table({"a": list(range(5000)), "b": [str(i) for i in range(5000)]})
    staged, rows = merge.write_table(tmp_path / "t.parquet", table.schema, iter([table]))
    assert rows == 5000 and not (tmp_path / "t.parquet").exists() and staged.tmp.exists()
    staged.put_in_place()
    data = (tmp_path / "t.parquet").read_bytes()
    assert hashlib.sha256(data).hexdigest() == staged.sha256 and len(data) == staged.size
    assert pq.read_table(tmp_path / "t.parquet").equals(table)
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_the_plan_takes_each_run_from_its_newest_source():
    # sources oldest first: runs 0-3, then 2-3 again (retried), then 6; 4 and 5 are in none
    p = merge.plan([np.array([0, 1, 2, 3]), np.array([3, 2]), np.array([6])], n_runs=7, replicates=7)
    assert p.chosen.tolist() == [0, 0, 1, 1, -1, -1, 2]
    assert p.missing.tolist() == [4, 5]
    assert p.segments() == [(0, 0, 1), (1, 2, 3), (-1, 4, 5), (2, 6, 6)]


def test_a_run_index_names_design_point_and_replicate(tmp_path):
    exp = experiment_from_dict(SERIES, where="<test>")
    runs = exp.runs()
    assert [exp.run(i) for i in range(exp.n_runs)] == runs
    assert exp.run(8) == runs[8] and (runs[8].design_point, runs[8].replicate) == (1, 1)


def test_shipped_experiment_columns_are_typed_as_before(tmp_path):
    # a shipped experiment's varied parameters (numbers of whole units, fractions) keep their types;
    # the runs' own columns have their declared types (months_to_first_agreement a float, also where
    # every run signed one)
    exp = load_experiment("staff_rotation")
    part = sweep.run_batch(exp.base(), exp.runs()[:2], exp.columns, exp.outcomes, False)
    runs = pa.ipc.open_file(pa.BufferReader(part.files["runs"].data)).read_all()
    want = pa.Table.from_pylist([sweep.run_one(exp.base(), s, exp.columns, exp.outcomes, False)[0]
                                 for s in exp.runs()[:2]])
    declared = run_types()
    assert runs.schema.equals(pa.schema([pa.field(f.name, declared.get(f.name, f.type)) for f in want.schema]))
    assert runs.schema.field("months_to_first_agreement").type == pa.float64()


def test_a_part_whose_rows_are_not_in_order_is_merged_in_order(tmp_path, small_groups):
    exp = experiment_from_dict({**SERIES, "experiment": {**SERIES["experiment"], "replicates": 3}}, where="<test>")
    clean = tmp_path / "clean"
    run_experiment(exp, executor="serial", out=clean, progress=False)
    out = tmp_path / "o"
    store = ResultStore(out, exp)
    store.open(False)
    try:
        store.scan()
        base = exp.base()
        results = [sweep.run_one(base, s, exp.columns, exp.outcomes, False) for s in exp.runs()]
        # one batch of every run, rows and episodes in the reverse order
        store.write_part({"runs": [r for r, _, _ in results][::-1],
                          "episodes": [e for _, eps, _ in results for e in eps][::-1], "series": None})
        counts, missing = store.merge({"name": "m"})
    finally:
        store.close()
    assert not len(missing) and counts["runs"] == exp.n_runs
    for kind in ("runs", "episodes"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(clean / f"{kind}.parquet"))
