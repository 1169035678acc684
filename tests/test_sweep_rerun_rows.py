"""experiment_as_swept(...).rerun takes a row as pandas gives it, and the experiment keeps the
sweep's name."""

from __future__ import annotations

import pandas as pd
import pytest

import peacesim
from peacesim.errors import InputError
from peacesim.sweep import run_experiment

EXPERIMENT = """
[experiment]
title = "rows"
scenario = "reference"
replicates = 3
master_seed = 7
months = 60

[vary]
handover_quality = [0.1, 0.8]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("rows")
    path = root / "rotation_rows.toml"
    path.write_text(EXPERIMENT)
    out = root / "out"
    run_experiment(path, executor="serial", out=out, progress=False)
    return out


def test_the_experiment_made_again_has_the_sweeps_name(swept):
    assert peacesim.experiment_as_swept(swept).name == "rotation_rows"


def test_a_row_of_an_all_number_table_reruns(swept):
    runs = pd.read_parquet(swept / "runs.parquet")
    exp = peacesim.experiment_as_swept(swept)
    _, row = next(runs[["design_point", "replicate", "total_violence"]].iloc[4:].iterrows())
    assert isinstance(row.design_point, float)  # what pandas gives for a table of numbers only
    again = exp.rerun(row.design_point, row.replicate)
    assert again.outcome["total_violence"] == pytest.approx(row.total_violence)


@pytest.mark.parametrize("point", [1.5, float("nan"), True, "1"])
def test_a_design_point_that_is_no_whole_number_is_refused(swept, point):
    with pytest.raises(InputError, match="design_point = .* is not allowed; expected a whole number from 0 to 1"):
        peacesim.experiment_as_swept(swept).rerun(point, 0)
