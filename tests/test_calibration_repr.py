"""A calibration's result prints as one line."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from peacesim.calibration import DEFAULT_TARGETS as TARGETS, CalibrationResult


def test_a_calibration_result_prints_as_one_line():
    wave = SimpleNamespace(number=2, points=10, nroy=7)
    r = CalibrationResult(ranges={"ripeness_threshold": (0.3, 0.55), "negotiation_rate": (0.1, 0.35)},
                          targets=tuple(TARGETS), cutoff=3.0, seed=1, waves=[wave, wave], region=pd.DataFrame(),
                          chosen={"ripeness_threshold": 0.4968661, "negotiation_rate": 0.1435291},
                          out=Path("results/calibration"))
    assert repr(r) == ("<CalibrationResult 2 parameters, 2 waves: 7 of 10 points not ruled out in wave 2; chosen "
                       "ripeness_threshold = 0.496866, negotiation_rate = 0.143529; out='results/calibration'>")
    r = CalibrationResult(ranges={"ripeness_threshold": (0.3, 0.55)}, targets=tuple(TARGETS), cutoff=3.0, seed=1,
                          waves=[SimpleNamespace(number=1, points=10, nroy=0)], region=pd.DataFrame(), chosen=None)
    assert repr(r) == ("<CalibrationResult 1 parameter, 1 wave: 0 of 10 points not ruled out in wave 1; "
                       "no point chosen>")
