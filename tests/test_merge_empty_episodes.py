"""An episodes table without rows (no run signed an agreement: a short horizon, or every run
failed) has the schema of one with rows for the same experiment: the same columns in the same
order with the same Arrow types, so that two sweeps' tables concatenate and filter alike."""

from __future__ import annotations

import copy

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import peacesim.sweep as sweep
from peacesim.experiment import experiment_from_dict
from peacesim.parts import episode_types
from peacesim.sweep import run_experiment

# a float factor
VARY = {"experiment": {"name": "e", "scenario": "reference", "replicates": 2, "master_seed": 2},
        "vary": {"handover_quality": [0.1, 0.8]}}
# a text factor that is also an episode column (coordination, stored once among the keys) and a
# whole-number factor that some design points do not set
DESIGN = {"experiment": {"name": "d", "scenario": "reference", "replicates": 2, "master_seed": 5},
          "design": [{"coordination": "none", "mediators": 3}, {"coordination": "contact_group"}]}
SHORT = 12  # months: too few for talks to end in an agreement


def _sweep(folder, spec, months=None, fail=False, monkeypatch=None):
    spec = copy.deepcopy(spec)
    if months is not None:
        spec["experiment"]["months"] = months
    exp = experiment_from_dict(spec, where="<test>")
    if fail:
        def run_one(base, s, columns, outcomes, keep_series):
            return sweep._failed_row(base, s, columns, outcomes, "ValueError: boom"), [], None

        monkeypatch.setattr(sweep, "run_one", run_one)
    run_experiment(exp, executor="serial", out=folder, progress=False)
    return folder / "episodes.parquet"


@pytest.mark.parametrize("spec", [VARY, DESIGN], ids=["vary", "design"])
@pytest.mark.parametrize("why", ["short horizon", "every run failed"])
def test_an_empty_episodes_table_has_the_schema_of_one_with_episodes(tmp_path, monkeypatch, spec, why):
    full = _sweep(tmp_path / "full", spec)
    empty = _sweep(tmp_path / "empty", spec, months=SHORT, fail=why == "every run failed", monkeypatch=monkeypatch)
    assert pq.read_metadata(full).num_rows > 0 and pq.read_metadata(empty).num_rows == 0
    got, want = pq.read_schema(empty), pq.read_schema(full)
    assert got.equals(want, check_metadata=True), f"\n{got}\n---\n{want}"
    assert not any(pa.types.is_null(f.type) for f in got)
    # pandas reads the same types, and the two tables concatenate without turning numbers into objects
    a, b = pd.read_parquet(empty), pd.read_parquet(full)
    assert a.dtypes.equals(b.dtypes)
    both = pd.concat([a, b], ignore_index=True)
    assert both.dtypes.equals(b.dtypes)
    assert both["months_survived"].dtype == "int64" and both["relapsed"].dtype == bool


def test_the_declared_episode_types_are_those_of_the_values():
    # the parts store an episode's own columns with the types declared with Agreement's fields: the
    # types pyarrow infers from a run's episode rows, so nothing is cast
    exp = experiment_from_dict(VARY, where="<test>")
    rows = sweep.run_scenario(exp.base(), seed=exp.seeds[0]).episode_rows()
    assert rows
    inferred = pa.Table.from_pylist(rows).schema
    assert {f.name: f.type for f in inferred} == episode_types()
