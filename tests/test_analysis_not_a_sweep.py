"""load_results (and peacesim plot) given a folder that peacesim wrote but that is not a sweep's
results, a calibration's or one run's, says what it is and where the sweep's results are."""

from __future__ import annotations

import pytest

from peacesim.analysis import load_results
from peacesim.calibration import DEFAULT_TARGETS, calibrate
from peacesim.cli import main
from peacesim.errors import InputError


def test_a_calibration_folder_names_its_waves(tmp_path, capsys):
    calibrate(ranges={"ripeness_threshold": (0.3, 0.55)}, targets=[DEFAULT_TARGETS[2]], waves=2, points=2,
              replicates=2, cutoff=100, months=36, executor="serial", out=tmp_path / "cal")
    with pytest.raises(InputError) as said:
        load_results(tmp_path / "cal")
    assert str(said.value) == (f"'{tmp_path / 'cal'}' holds a calibration, not a sweep's results: each wave is a "
                               f"sweep's results folder (the last one: '{tmp_path / 'cal' / 'wave-2'}')")
    assert len(load_results(tmp_path / "cal" / "wave-2").runs) == 8  # as it says
    assert main(["plot", str(tmp_path / "cal")]) == 2
    assert "holds a calibration, not a sweep's results" in capsys.readouterr().err


def test_one_run_s_folder_says_so(tmp_path):
    assert main(["run", "reference", "--months", "24", "--no-figure", "--quiet", "--out", str(tmp_path / "r")]) == 0
    with pytest.raises(InputError, match=r"holds the results of one run \('peacesim run'\), not a sweep's"):
        load_results(tmp_path / "r")
