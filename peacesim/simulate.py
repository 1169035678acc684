"""Run one scenario with one seed: the model as a function of (parameters, seed)."""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

from .errors import InputError
from .model import PeaceModel
from .result import RunResult
from .scenario import Scenario, load_scenario

__all__ = ["run_scenario", "prepare"]


def prepare(scenario: str | Path | Scenario, *, months: int | None = None,
            overrides: dict[str, Any] | list[str] | None = None) -> Scenario:
    """Load a scenario (name, path or object) and apply ``months`` and ``overrides``, validated."""
    scen = load_scenario(scenario)
    extra: dict[str, Any] = {}
    if months is not None:
        extra["months"] = months
    if overrides:
        scen = scen.with_overrides(overrides)
    if extra:
        scen = scen.with_overrides(extra, where="run_scenario(months=...)")
    return scen.cast()


def run_scenario(scenario: str | Path | Scenario, *, seed: int, months: int | None = None,
                 overrides: dict[str, Any] | list[str] | None = None) -> RunResult:
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

    Returns
    -------
    RunResult
        ``series``, ``episodes`` and ``events`` (pandas DataFrames) and ``outcome`` (a dict).
        ``result.narrative()`` renders the story only when asked.
    """
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise InputError(f"seed = {seed!r} is not allowed; expected a whole number >= 0")
    seed = int(seed)
    scen = prepare(scenario, months=months, overrides=overrides)
    model = PeaceModel(scen, rng=seed)
    model.run()
    return RunResult.from_model(model)
