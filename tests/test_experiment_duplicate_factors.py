"""A parameter varied twice in an experiment file is refused in one line that names where: the
group that lists it twice, or the two factors that both vary it."""

from __future__ import annotations

import pytest

from peacesim.errors import InputError
from peacesim.experiment import experiment_from_dict


def _raw(vary):
    return {"experiment": {"title": "t", "scenario": "reference", "replicates": 2, "master_seed": 1, "months": 24},
            "vary": vary}


def test_a_group_listing_a_parameter_twice_names_the_group_and_the_parameter():
    vary = {"tenure": {"parameters": ["tenure_mediator", "tenure_mediator"], "values": [6, 12]}}
    with pytest.raises(InputError) as said:
        experiment_from_dict(_raw(vary), where="e.toml")
    assert str(said.value) == ("e.toml: vary.tenure.parameters = ['tenure_mediator', 'tenure_mediator'] is not "
                               "allowed: 'tenure_mediator' is listed twice; list each parameter once")


def test_a_parameter_in_two_factors_names_both():
    vary = {"tenure": {"parameters": ["tenure_mediator", "tenure_diplomat"], "values": [6, 12]},
            "tenure_diplomat": [24, 36]}
    with pytest.raises(InputError) as said:
        experiment_from_dict(_raw(vary), where="e.toml")
    assert str(said.value) == ("e.toml: parameter 'tenure_diplomat' is varied by both vary.tenure and "
                               "vary.tenure_diplomat; vary it in one of them")
