"""validate() from Python refuses bad arguments in one line before anything is written or run: a
bad seed or override made every pattern 'not applicable in this scenario', a pattern number that
does not exist gave no check, and only='1' ended in a TypeError."""

from __future__ import annotations

import pytest

import peacesim.validation as v
from peacesim.errors import InputError


@pytest.fixture
def no_runs(monkeypatch):
    def run(*args, **kw):
        raise AssertionError("a run was started")

    monkeypatch.setattr(v, "run_experiment", run)


@pytest.mark.parametrize("kw, message", [
    ({"only": [10]}, "validate: only = [10] is not allowed; expected a list of pattern numbers from 1 to 9, such as "
                     "[2, 6]"),
    ({"only": "1"}, "validate: only = '1' is not allowed; expected a list of pattern numbers from 1 to 9"),
    ({"only": []}, "validate: only = [] is not allowed; expected a list of pattern numbers from 1 to 9"),
    ({"seed": -1}, "validate: seed = -1 is not allowed; expected a whole number from 0 to "),
    ({"seed": 2.5}, "validate: seed = 2.5 is not allowed; expected a whole number from 0 to "),
    ({"seed": 2**62}, "validate: seed = 4611686018427387904 is not allowed; expected a whole number from 0 to "),
    ({"fraction": 0}, "validate: fraction = 0 is not allowed; expected a number above 0"),
    ({"overrides": {"nope": 1}}, "validate: overrides: unknown parameter 'nope'"),
    ({"overrides": {"handover_quality": 2}}, "validate: overrides: handover_quality = 2 is not allowed; expected a "
                                             "number from 0 to 1"),
    ({"workers": 0}, "--workers 0 is not allowed; expected a whole number of at least 1"),
])
def test_bad_arguments_are_refused_before_anything_is_written(tmp_path, no_runs, kw, message):
    out = tmp_path / "v"
    with pytest.raises(InputError) as info:
        v.validate(out=out, progress=False, **kw)
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert not out.exists()


@pytest.mark.parametrize("kw, message", [
    ({"only": [10]}, "validate: only = [10] is not allowed"),
    ({"seed": -1}, "validate: seed = -1 is not allowed"),
    ({"fraction": -0.5}, "validate: fraction = -0.5 is not allowed"),
    ({"progress": "no"}, "progress = 'no' is not allowed; expected True or False"),
])
def test_ablate_refuses_bad_arguments_before_anything_is_written(tmp_path, no_runs, kw, message):
    out = tmp_path / "v"
    with pytest.raises(InputError) as info:
        v.ablate(out=out, **kw)
    assert str(info.value).startswith(message)
    assert not out.exists()


def test_the_table_cuts_a_long_cell_at_a_word_and_says_so():
    """The table cut text mid-word and without a sign: 'fewer than 20 runs with an agreement in an a'."""
    from peacesim.validation import _fit

    cell = "fewer than 20 runs with an agreement in an arm of the check, so no effect is measured"
    assert _fit(cell, 60) == "fewer than 20 runs with an agreement in an arm of the...".ljust(60)
    assert _fit("short", 10) == "short     " and len(_fit("x" * 80, 60)) == 60
