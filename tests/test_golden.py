"""Golden regression: seeded reference runs compared with stored summaries.

Integers, phases, causes and event counts must match exactly; floats within 1e-7 absolute (room
for floating-point differences between platforms, none for a changed rule). Regenerate with
``tests/regenerate_golden.py`` and explain the change in the commit.
"""

import json

import pytest

from golden_cases import CASES, path_for, summarise


def _compare(actual, expected, where=""):
    if isinstance(expected, dict):
        assert set(actual) == set(expected), where
        for k in expected:
            _compare(actual[k], expected[k], f"{where}.{k}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), where
        for i, (a, e) in enumerate(zip(actual, expected)):
            _compare(a, e, f"{where}[{i}]")
    elif isinstance(expected, float) and not isinstance(expected, bool):
        assert actual == pytest.approx(expected, abs=1e-7), where
    else:
        assert actual == expected, where


@pytest.mark.parametrize("scenario,seed", CASES)
def test_golden_run_matches(scenario, seed):
    expected = json.loads(path_for(scenario, seed).read_text())
    actual = json.loads(json.dumps(summarise(scenario, seed), sort_keys=True))
    _compare(actual, expected)
