"""Run one scenario with one seed: the model as a function of (scenario, seed, interventions).

:func:`run_scenario` is the one function that turns them into a result; the command line, the
experiment runner and the validation all call it.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import InputError
from .model import PeaceModel
from .result import RunResult
from .scenario import Scenario, prepare
from .words import words

__all__ = ["run_scenario", "prepare"]


def run_scenario(scenario: str | Path | Scenario, *, seed: int, months: int | None = None,
                 overrides: dict[str, Any] | list[str] | None = None,
                 interventions: Iterable[Any] | None = None) -> RunResult:
    """Run one scenario to its horizon and return tidy results.

    Parameters
    ----------
    scenario:
        A shipped scenario's short name (``"reference"``), a path to a TOML file, or a
        :class:`~peacesim.scenario.Scenario`.
    seed:
        The run's seed; the same seed gives the same run.
    months:
        Horizon in months (defaults to the scenario's ``months``).
    overrides:
        Parameter overrides, as a mapping or a list of ``name=value`` texts.
    interventions:
        Interventions at given months, besides those the scenario plans: dicts like a scenario
        file's ``[[intervention]]`` tables (``{"month": 24, "kind": "rotate", "actor": "the UN
        envoy"}``) or ``--intervene`` texts (``"24:rotate:actor=the UN envoy"``).

    Returns
    -------
    RunResult
        ``series``, ``episodes`` and ``events`` (pandas DataFrames) and ``outcome`` (a dict).
        ``result.narrative()`` renders the story only when asked.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed = {words(seed)} is not allowed; expected a whole number >= 0")
    model = PeaceModel(scenario, rng=int(seed), months=months, overrides=overrides, interventions=interventions)
    model.run()
    return RunResult.from_model(model)
