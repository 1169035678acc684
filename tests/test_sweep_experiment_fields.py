"""An experiment file's mistakes are refused in one line that says what to write."""

from __future__ import annotations

import pytest

from peacesim.errors import InputError
from peacesim.experiment import experiment_from_dict

HEAD = {"experiment": {"title": "t", "scenario": "reference", "replicates": 2, "master_seed": 1}}


def refusal(vary: dict) -> str:
    with pytest.raises(InputError) as info:
        experiment_from_dict({**HEAD, "vary": vary}, where="x.toml")
    msg = str(info.value)
    assert "\n" not in msg
    return msg


def test_a_range_without_steps_says_steps_is_missing():
    assert refusal({"handover_quality": {"range": [0.1, 0.8]}}) == (
        "x.toml: vary.handover_quality.steps is missing; a range needs the number of values to take from it: "
        "steps = n, a whole number from 2 to 10,000")


def test_a_range_with_one_step_says_what_is_allowed():
    assert refusal({"handover_quality": {"range": [0.1, 0.8], "steps": 1}}) == (
        "x.toml: vary.handover_quality.steps = 1 is not allowed; expected a whole number from 2 to 10,000")
