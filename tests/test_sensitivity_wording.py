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


def test_a_pilot_never_recommends_fewer_replicates_than_an_analysis_takes(tmp_path):
    import math
    from types import SimpleNamespace

    import pandas as pd

    from peacesim.sensitivity import PilotResult
    from peacesim.sensitivity_plots import _recommendation

    table = pd.DataFrame({"outcome": ["total_violence", "p_agreement"], "replicates_needed": [1.0, math.nan]})
    pilot = PilotResult(tmp_path, table, target=0.1, points=8, replicates=4)
    assert pilot.recommended() == 2
    text = _recommendation(pilot, SimpleNamespace(replicates=2))
    assert text.startswith("2 replicates per point bring total_violence to the target (the analysis is set to 2).")
    assert "1 replicates" not in text


def test_a_sensitivity_result_prints_as_one_line(tmp_path):
    (tmp_path / "morris.toml").write_text(MORRIS)
    result = run_sensitivity(tmp_path / "morris.toml", executor="serial", out=tmp_path / "out", progress=False,
                             figures=False)
    text = repr(result)
    assert "\n" not in text and len(text) < 300
    assert text.startswith("<SensitivityResult 'morris': Morris, 4 factors: 15 points x 2 replicates = 30 runs; "
                           "30 ran, 0 already done; ")


def test_a_pilot_of_another_size_in_the_folder_says_the_sizes(tmp_path):
    from peacesim.errors import InputError
    from peacesim.sensitivity import run_pilot

    (tmp_path / "morris.toml").write_text(MORRIS)
    out = tmp_path / "pilot"
    run_pilot(tmp_path / "morris.toml", points=8, replicates=4, executor="serial", out=out, progress=False)
    with pytest.raises(InputError) as info:
        run_pilot(tmp_path / "morris.toml", points=9, replicates=4, executor="serial", out=out, progress=False)
    assert str(info.value) == (f"--out {out}: the pilot there has 8 points x 4 replicates and this one asks for 9 x 4; "
                               "its runs are not dropped: give --pilot-points 8 and --pilot-replicates 4 (or more "
                               "replicates) to reuse them, --fresh to start over or --out to choose another folder")
    more = run_pilot(tmp_path / "morris.toml", points=8, replicates=5, executor="serial", out=out, progress=False)
    assert more.replicates == 5  # more replicates extend the pilot
    with pytest.raises(InputError, match="the pilot there has 8 points x 5 replicates and this one asks for 8 x 4"):
        run_pilot(tmp_path / "morris.toml", points=8, replicates=4, executor="serial", out=out, progress=False)


RBD = """
[experiment]
title = "RBD"
scenario = "reference"
replicates = 2
master_seed = 5
months = 60

[sensitivity]
method = "rbd_fast"
parameters = ["ripeness_threshold", "pain_per_violence", "mediator.skill"]
samples = 60
outcomes = ["p_agreement", "total_violence"]
resamples = 100
"""


def test_an_rbd_fast_analysis_says_how_much_of_its_variance_is_noise(tmp_path):
    (tmp_path / "rbd.toml").write_text(RBD)
    result = run_sensitivity(tmp_path / "rbd.toml", executor="serial", out=tmp_path / "out", progress=False,
                             figures=False)
    noise = result.analysis.noise.set_index("outcome")["noise_share"]
    report = (result.out / "sensitivity.md").read_text(encoding="utf-8")
    section = report.split("## Probability of reaching an agreement", 1)[1].split("\n## ", 1)[0]
    assert noise["p_agreement"] >= 0.5
    assert "of the variance of the per-point means is noise at 2 replicates: these indices rest mostly on noise" \
        in section
    section = report.split("## Total violence", 1)[1].split("\n## ", 1)[0]
    assert 0.1 < noise["total_violence"] < 0.5
    assert "is noise at 2 replicates; more replicates would sharpen these indices." in section
