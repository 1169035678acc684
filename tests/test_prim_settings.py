"""Scenario discovery's settings out of their ranges are refused in one line (they were taken
silently, or ended in a TypeError from EMA Workbench)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from peacesim.errors import InputError
from peacesim.prim import find_boxes


@pytest.fixture(scope="module")
def worlds():
    rng = np.random.default_rng(1)
    x = pd.DataFrame({"a": rng.random(200), "b": rng.random(200)})
    return x, (x["a"] > 0.6) & (x["b"] < 0.5)


@pytest.mark.parametrize("setting, message", [
    ({"max_boxes": 1.5}, "max_boxes = 1.5 is not allowed; expected a whole number of at least 1"),
    ({"max_boxes": 0}, "max_boxes = 0 is not allowed; expected a whole number of at least 1"),
    ({"max_dims": True}, "max_dims = True is not allowed; expected a whole number of at least 1"),
    ({"mass_min": 2}, "mass_min = 2 is not allowed; expected a number above 0 and below 1"),
    ({"mass_min": -0.1}, "mass_min = -0.1 is not allowed; expected a number above 0 and below 1"),
    ({"min_coverage": 1.5}, "min_coverage = 1.5 is not allowed; expected a number above 0 and at most 1"),
    ({"significance": 0}, "significance = 0 is not allowed; expected a number above 0 and below 1"),
    ({"peel_alpha": float("nan")}, "peel_alpha = nan is not allowed; expected a number above 0 and below 1"),
])
def test_a_setting_out_of_range_is_refused_in_one_line(worlds, setting, message):
    x, y = worlds
    with pytest.raises(InputError) as info:
        find_boxes(x, y, **setting)
    assert str(info.value) == f"scenario discovery: {message}"


def test_the_settings_in_range_find_the_box(worlds):
    x, y = worlds
    [box] = find_boxes(x, y, max_boxes=1, min_coverage=1, significance=None)
    assert {lim.name for lim in box.limits} == {"a", "b"}
