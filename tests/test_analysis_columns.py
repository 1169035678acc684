"""load_results gives the runs and episodes tables their factor columns in the same order: the
experiment's, after the keys (design_point, replicate, seed), with run_id last in both."""

from __future__ import annotations

import pandas as pd
import pytest

from peacesim.analysis import load_results
from peacesim.sweep import run_experiment

EXPERIMENT = """
[experiment]
title = "column order"
scenario = "reference"
replicates = 4
master_seed = 7
months = 120

[vary.tenure]
parameters = ["tenure_mediator", "tenure_diplomat"]
values = [6, 48]

[vary]
coordination = ["none", "hierarchical"]
handover_quality = [0.1, 0.8]
"""

DECLARED = ["tenure_mediator", "tenure_diplomat", "coordination", "handover_quality"]


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("columns")
    path = root / "columns.toml"
    path.write_text(EXPERIMENT)
    out = root / "out"
    run_experiment(path, executor="serial", out=out, progress=False)
    return out


def test_episodes_have_the_factor_columns_of_runs_in_the_experiments_order(swept):
    res = load_results(swept)
    assert len(res.episodes) > 0
    head = ["design_point", "replicate", "seed", *DECLARED]
    assert list(res.runs.columns[:len(head)]) == head
    assert list(res.episodes.columns[:len(head)]) == head
    assert res.runs.columns[-1] == res.episodes.columns[-1] == "run_id"
    # the rest is the episodes' own columns, as stored
    stored = pd.read_parquet(swept / "episodes.parquet")
    assert list(res.episodes.columns[len(head):-1]) == [c for c in stored.columns if c not in head]


def test_episodes_factor_values_are_their_runs(swept):
    res = load_results(swept)
    merged = res.episodes.merge(res.runs[["run_id", *DECLARED]], on="run_id", suffixes=("", "_run"))
    for f in DECLARED:
        assert (merged[f] == merged[f"{f}_run"]).all()


def test_results_print_as_one_line(swept):
    res = load_results(swept)
    text = repr(res)
    assert "\n" not in text and len(text) < 300
    assert text.startswith(f"<Results {res.name!r}: 32 runs (0 failed), ")
    assert "factors tenure_mediator, coordination, handover_quality" in text and str(swept) in text


def test_a_table_given_for_its_folder_names_the_folder(swept):
    from peacesim.errors import InputError

    with pytest.raises(InputError) as info:
        load_results(swept / "runs.parquet")
    assert str(info.value).endswith(f": give the folder that holds it, '{swept}'")


def test_an_experiment_file_given_for_its_results_names_the_folder_its_sweep_writes(tmp_path):
    from peacesim.errors import InputError

    path = tmp_path / "rotation.toml"
    path.write_text(EXPERIMENT.replace('title = "column order"', 'title = "column order"\nname = "my rotation"'))
    with pytest.raises(InputError) as info:
        load_results(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.endswith("; 'rotation.toml' is an experiment file: its sweep's results are in "
                        "'results/my_rotation' unless it was run with --out")


def test_a_folder_of_results_folders_names_them(swept, tmp_path):
    import shutil

    from peacesim.errors import InputError

    parent = tmp_path / "results"
    parent.mkdir()
    shutil.copytree(swept, parent / "a")
    with pytest.raises(InputError) as info:
        load_results(parent)
    assert str(info.value) == (f"'{parent}' is not a results folder itself but holds one: '{parent / 'a'}'; give that "
                               "folder")
    shutil.copytree(swept, parent / "b")
    with pytest.raises(InputError) as info:
        load_results(parent)
    assert str(info.value) == (f"'{parent}' is not a results folder itself but holds 2 results folders: "
                               f"'{parent / 'a'}', '{parent / 'b'}'; give one of them")
