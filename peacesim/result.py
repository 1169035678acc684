"""What one run returns: tidy tables and a per-run outcome, built from the model's records.

Tables are built on first use: a sweep that keeps only outcomes and episodes never builds a
DataFrame per run, while ``peacesim run`` and a notebook read ``series``, ``episodes`` and
``events`` as pandas tables.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from .events import EventLog
from .records import EPISODE_COLUMNS, build_outcome, series_frame

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from .agreement import Agreement
    from .model import PeaceModel

__all__ = ["RunResult"]


class RunResult:
    """The result of one run.

    ``series`` has one row per month, ``episodes`` one row per agreement (with censoring),
    ``events`` one row per event, and ``outcome`` the per-run summary. ``interventions`` lists
    the interventions applied (month, kind, arguments); ``params`` and ``actors`` are the
    scenario's parameters and actors as the run started (overrides applied), which with ``seed``
    and ``interventions`` make the run again. :meth:`narrative` renders the events as
    text.
    """

    def __init__(self, *, scenario: str, seed: int, months: int, params: dict[str, Any], parties: list[str],
                 outcome: dict[str, Any], series_data: np.ndarray, series_columns: list[str],
                 agreements: list[Agreement], event_log: EventLog, interventions: list[dict[str, Any]],
                 actors: dict[str, list[dict[str, Any]]] | None = None):
        self.scenario = scenario
        self.seed = seed
        self.months = months
        self.params = params
        self.parties = parties
        self.outcome = outcome
        self.interventions = interventions
        self.actors = actors if actors is not None else {}
        self._series_data = series_data
        self._series_columns = series_columns
        self._agreements = agreements
        self._event_log = event_log

    @classmethod
    def from_model(cls, model: PeaceModel) -> RunResult:
        """The result of a model that has run (to its horizon or as far as it went: an agreement
        still in force is then an episode censored at the model's month). ``months`` is the
        horizon; ``params`` the scenario's parameters and ``actors`` its actors (every field, the
        overrides applied) when the model was built."""
        rec = model.recorder
        return cls(scenario=model.scenario_spec.name, seed=model.seed, months=model.months,
                   params=dict(model.start_params), parties=[q.name for q in model.parties],
                   outcome=build_outcome(model), series_data=rec.data,
                   series_columns=list(rec.columns), agreements=model.implementation.so_far(model.month),
                   event_log=model.events,
                   interventions=[dict(x) for x in model.applied_interventions],
                   actors=model.scenario_spec.actors)

    @cached_property
    def series(self) -> pd.DataFrame:
        return series_frame(self._series_data, self._series_columns)

    def series_array(self) -> tuple[list[str], np.ndarray]:
        """The series as recorded: the column names and a float array, one row per month (the
        phase as its code, 0-3), before any table is built."""
        return list(self._series_columns), self._series_data

    def episode_rows(self) -> list[dict[str, Any]]:
        """One dict per agreement, with the columns of :data:`~peacesim.agreement.EPISODE_COLUMNS`."""
        return [a.row() for a in self._agreements]

    @cached_property
    def episodes(self) -> pd.DataFrame:
        rows = self.episode_rows()
        if rows:
            return pd.DataFrame(rows, columns=EPISODE_COLUMNS)
        # no agreement: the columns still have their types, so that runs' tables concatenate
        from .parts import episode_types

        return pd.DataFrame({c: pd.Series(dtype=t.to_pandas_dtype()) for c, t in episode_types().items()},
                            columns=EPISODE_COLUMNS)

    @cached_property
    def events(self) -> pd.DataFrame:
        return self._event_log.frame()

    def narrative(self, *, limit: int | None = None, kinds: set[str] | None = None, minor: bool = False) -> list[str]:
        """The story of the run in plain language, one line per event. Of a run that reached its
        horizon, what goes on past the last month (a funding gap, a cut, a campaign) is said to."""
        from .narrative import render

        _check_story_options(limit, kinds, minor)
        return render(self.events, limit=limit, kinds=kinds, minor=minor,
                      horizon=self.months if self.reached_horizon else None)

    @property
    def reached_horizon(self) -> bool:
        """Whether the run went to its last month (a model's result may be taken before it)."""
        return len(self._series_data) >= self.months

    def __repr__(self) -> str:
        return (f"RunResult(scenario={self.scenario!r}, seed={self.seed}, months={self.months}, "
                f"agreements={self.outcome.get('n_agreements')})")


def _check_story_options(limit: Any, kinds: Any, minor: Any = False) -> None:
    """A story's ``limit`` (a whole number >= 0 or None), ``kinds`` (event kinds) and ``minor``
    (True or False), checked."""
    import numbers

    from .errors import InputError
    from .events import EVENT_KINDS
    from .params import check_flags, did_you_mean
    from .words import words

    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 0):
        raise InputError(f"limit = {words(limit)} is not allowed; expected a whole number >= 0 or None")
    check_flags(minor=minor)
    if kinds is not None:
        if isinstance(kinds, str) or not all(isinstance(k, str) for k in kinds):
            raise InputError(f"kinds = {words(kinds)} is not allowed; expected a set of event kinds, "
                             "e.g. {'signed', 'relapse'}")
        unknown = sorted(set(kinds) - set(EVENT_KINDS))
        if unknown:
            raise InputError(f"kinds: {words(unknown[0])} is not an event kind{did_you_mean(unknown[0], EVENT_KINDS)}; "
                             f"allowed: {', '.join(EVENT_KINDS)}")
