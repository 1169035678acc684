"""Outputs of a run (DESIGN.md section 5): per-month series, agreement episodes, events, outcome.

The model writes into a preallocated array and a list of event tuples; tables are built once at
the end. Nothing here touches files.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from .model import PeaceModel

__all__ = ["EventLog", "Recorder", "RunResult", "slug", "EPISODE_COLUMNS"]

PHASE_LABELS = ("conflict", "talks", "implementation", "consolidated")

EPISODE_COLUMNS = [
    "episode", "signed_month", "end_month", "months_survived", "relapsed", "censored", "end_cause",
    "consolidated", "scope", "signatories", "left_out", "n_signatories", "inclusion", "verification",
    "guarantee", "guarantor", "specificity", "power_sharing", "pressure_share", "mediator",
    "mediators_active", "coordination", "talks_months", "implementation_reached",
]


def slug(name: str) -> str:
    """A column-safe version of an actor's name: 'the armed group' -> 'armed_group'."""
    s = re.sub(r"^(the|a|an)\s+", "", name.strip(), flags=re.I)
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower() or "actor"


class EventLog:
    """A structured log of what happened: (month, kind, actors, numbers)."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, str, tuple[str, ...], dict[str, Any]]] = []

    def add(self, month: int, kind: str, actors: tuple[str, ...], **values: Any) -> None:
        self.items.append((month, kind, actors, values))

    def __len__(self) -> int:
        return len(self.items)

    def frame(self) -> pd.DataFrame:
        """Events as a table: month, kind, actors (';'-joined) and the numbers as JSON-able dicts."""
        return pd.DataFrame(
            {
                "month": [e[0] for e in self.items],
                "kind": [e[1] for e in self.items],
                "actors": [";".join(e[2]) for e in self.items],
                "values": [e[3] for e in self.items],
            },
            columns=["month", "kind", "actors", "values"],
        )


class Recorder:
    """Per-month series in a preallocated float array, one row per month."""

    BASE = [
        "phase", "violence", "war_violence", "signatory_violence", "local_violence", "trust_parties",
        "negotiation_progress", "implementation", "spoiler_capacity", "attacks", "mediators_active",
        "diplomats_active", "project_funded", "locals_linked", "public_support",
    ]
    PER_PARTY = ["ripeness", "commitment", "pain", "victory_belief"]

    def __init__(self, model: PeaceModel, months: int):
        self.model = model
        self.party_slugs = _unique([slug(q.name) for q in model.parties])
        self.columns = list(self.BASE) + [f"{v}_{s}" for s in self.party_slugs for v in self.PER_PARTY]
        self.data = np.full((months, len(self.columns)), np.nan)
        self.rows = 0
        core = model.funding.core
        self._project = ~core

    def record(self, row: int) -> None:
        m = self.model
        f = m.funding.funded
        proj = self._project
        values = [
            int(m.phase), m.violence, m.war_violence, m.signatory_violence if m.phase == 2 else 0.0,
            m.local_violence, m.mean_party_trust(), m.progress if m.phase == 1 else 0.0,
            m.implementation if m.phase == 2 else 0.0,
            sum(s.capacity for s in m.spoilers), m.attacks,
            sum(1 for x in m.mediators if f[x.stream]), sum(1 for x in m.diplomats if f[x.stream]),
            float(f[proj].mean()) if proj.any() else 1.0, int(m.local_linked.sum()), m.public_support,
        ]
        for q in m.parties:
            values += [q.ripeness, q.commitment, q.pain, q.victory_belief]
        self.data[row] = values
        self.rows = row + 1

    def frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.data[: self.rows], columns=self.columns)
        df.insert(0, "month", np.arange(1, self.rows + 1))
        for c in ("attacks", "mediators_active", "diplomats_active", "locals_linked"):
            df[c] = df[c].astype(int)
        df["phase"] = pd.Categorical.from_codes(df["phase"].astype(int), categories=list(PHASE_LABELS))
        return df


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n}_{k + 1}")
    return out


@dataclass
class RunResult:
    """What one run returns: tidy tables and a per-run outcome.

    ``series`` has one row per month, ``episodes`` one row per agreement, ``events`` one row per
    event, and ``outcome`` the per-run summary. :meth:`narrative` renders the events as text.
    """

    scenario: str
    seed: int
    months: int
    series: pd.DataFrame
    episodes: pd.DataFrame
    events: pd.DataFrame
    outcome: dict[str, Any]
    parties: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def narrative(self, *, limit: int | None = None, kinds: set[str] | None = None) -> list[str]:
        """The story of the run in plain language, one line per event."""
        from .narrative import render

        return render(self.events, limit=limit, kinds=kinds)


def build_outcome(model: PeaceModel) -> dict[str, Any]:
    """Per-run outcome (DESIGN.md section 5)."""
    eps = model.episodes
    first = eps[0]["signed_month"] if eps else None
    v = model.recorder.data[: model.recorder.rows, 1]
    phase = model.recorder.data[: model.recorder.rows, 0]
    relapses = sum(1 for e in eps if e["relapsed"])
    return {
        "agreement_reached": bool(eps),
        "months_to_first_agreement": first,
        "n_agreements": len(eps),
        "n_relapses": relapses,
        "consolidated": any(e["consolidated"] for e in eps),
        "final_phase": PHASE_LABELS[int(model.phase)],
        "total_violence": float(v.sum()),
        "mean_violence": float(v.mean()) if len(v) else math.nan,
        "months_in_conflict": int((phase == 0).sum()),
        "months_in_talks": int((phase == 1).sum()),
        "months_in_implementation": int((phase == 2).sum()),
        **{k: int(x) for k, x in model.counters.items()},
    }


def episodes_frame(model: PeaceModel) -> pd.DataFrame:
    return pd.DataFrame(model.episodes, columns=EPISODE_COLUMNS)
