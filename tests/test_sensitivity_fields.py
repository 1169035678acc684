"""A sample size written under another text's name (SALib's N, Morris's r, 'base_samples') or
under the other method's field is refused with one line naming the field to use and how."""

from __future__ import annotations

import pytest

from peacesim.errors import InputError
from peacesim.sensitivity import sensitivity_from_dict


def raw(method: str, **fields) -> dict:
    meta = {"title": "s", "scenario": "reference", "replicates": 2, "master_seed": 5, "months": 24}
    meta.update(fields.pop("experiment", {}))
    return {"experiment": meta,
            "sensitivity": {"method": method, "parameters": ["ripeness_threshold", "pain_per_violence"], **fields}}


def refusal(data: dict) -> str:
    with pytest.raises(InputError) as info:
        sensitivity_from_dict(data, where="s.toml", sample=False)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("s.toml: ")
    return msg


@pytest.mark.parametrize("name", ["N", "n", "base_samples", "sample_size"])
def test_sobols_sample_size_under_another_name_points_to_samples(name):
    msg = refusal(raw("sobol", **{name: 64}))
    assert f"unknown field sensitivity.{name};" in msg
    assert "the base sample size N of sobol is sensitivity.samples: write samples = 64" in msg
    assert "resamples" not in msg.split("; allowed")[0]  # not the closest name, the meant one


@pytest.mark.parametrize("name", ["N", "r", "num_trajectories"])
def test_morris_trajectories_under_another_name_points_to_trajectories(name):
    msg = refusal(raw("morris", **{name: 10}))
    assert f"unknown field sensitivity.{name};" in msg
    assert "number of trajectories (SALib's N) is sensitivity.trajectories: write trajectories = 10" in msg


def test_samples_for_morris_points_to_trajectories():
    msg = refusal(raw("morris", samples=10))
    assert msg == ("s.toml: sensitivity.samples does not apply to the Morris method; the Morris method's number of "
                   "trajectories (SALib's N) is sensitivity.trajectories: write trajectories = 10 (10 to 50 is usual)")


def test_trajectories_for_sobol_points_to_samples():
    msg = refusal(raw("sobol", trajectories=16))
    assert msg == ("s.toml: sensitivity.trajectories applies to the Morris method only; the base sample size N of "
                   "sobol is sensitivity.samples: write samples = 16 (a power of two such as 256)")


def test_rbd_fast_sample_size_under_another_name_points_to_samples():
    msg = refusal(raw("rbd_fast", N=100))
    assert "the number of samples N of rbd_fast is sensitivity.samples: write samples = 100 (at least 60)" in msg


def test_the_sample_size_in_the_experiment_table_points_to_the_sensitivity_table():
    assert refusal(raw("sobol", samples=64, experiment={"N": 64})).endswith(
        "unknown field experiment.N; the base sample size N of sobol is sensitivity.samples: write samples = 64 "
        "(a power of two such as 256), in the [sensitivity] table")
    assert refusal(raw("sobol", experiment={"samples": 64})) == (
        "s.toml: experiment.samples belongs in the [sensitivity] table (sensitivity.samples)")


def test_levels_under_another_name_points_to_num_levels():
    msg = refusal(raw("morris", trajectories=4, levels=6))
    assert "unknown field sensitivity.levels; the Morris method's number of grid levels is sensitivity.num_levels" in msg


def test_one_factor_is_said_in_words():
    data = raw("morris", trajectories=4)
    data["sensitivity"]["parameters"] = ["ripeness_threshold"]
    assert refusal(data) == ("s.toml: sensitivity.parameters: only ripeness_threshold is listed; a sensitivity "
                             "analysis needs at least two factors")


def test_an_outcome_given_as_a_text_says_how_to_write_the_list():
    assert refusal(raw("sobol", samples=8, outcomes="p_agreement")) == (
        "s.toml: sensitivity.outcomes = 'p_agreement' is not allowed; expected a list of outcome names: write "
        "outcomes = ['p_agreement']")
    assert refusal(raw("sobol", samples=8, outcomes=[])).startswith(
        "s.toml: sensitivity.outcomes = [] is not allowed; expected a list of outcome names from: p_agreement, ")
