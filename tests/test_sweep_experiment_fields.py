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


def test_a_field_before_any_table_header_says_where_it_belongs():
    with pytest.raises(InputError) as info:
        experiment_from_dict({"title": "t", "scenario": "reference", "vary": {"handover_quality": [0.1, 0.8]}},
                             where="x.toml")
    assert str(info.value) == ("x.toml: title = 't' stands outside any table; put it under an [experiment] header "
                               "at the top of the file")


@pytest.mark.parametrize("key, value, table", [("title", "t", "an [experiment]"), ("method", "morris", "a [sensitivity]"),
                                               ("outcomes", ["p_agreement"], "a [sensitivity]")])
def test_a_sensitivity_field_before_any_table_header_says_where_it_belongs(key, value, table):
    from peacesim.sensitivity import sensitivity_from_dict

    with pytest.raises(InputError) as info:
        sensitivity_from_dict({key: value, "sensitivity": {"method": "morris"}}, where="s.toml", sample=False)
    assert str(info.value).startswith(f"s.toml: {key} = ")
    assert str(info.value).endswith(f" stands outside any table; put it under {table} header")
