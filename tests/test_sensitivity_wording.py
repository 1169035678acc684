"""Plain English in a sensitivity analysis's report."""

from __future__ import annotations

import pytest

from peacesim.sensitivity import run_sensitivity

MORRIS = """
[experiment]
title = "Small Morris screen"
scenario = "reference"
replicates = 2
master_seed = 11
months = 60

[sensitivity]
method = "morris"
parameters = ["ripeness_threshold", "pain_per_violence", "handover_quality", "mediator.skill"]
trajectories = 3
outcomes = ["total_violence", "months_to_agreement"]
resamples = 100
"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("wording")
    (root / "morris.toml").write_text(MORRIS)
    result = run_sensitivity(root / "morris.toml", executor="serial", out=root / "out", progress=False, figures=False)
    return (result.out / "sensitivity.md").read_text(encoding="utf-8")


def test_one_factor_below_a_tenth_is_the_other_factor(report):
    assert "The other factor has mu* below a tenth of the largest: `handover_quality`." in report
    assert "The other 1 factors" not in report
