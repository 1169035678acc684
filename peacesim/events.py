"""The event log (DESIGN.md section 5): what happened, as (month, kind, actors, numbers).

Every kind the model may emit is declared once in :data:`EVENT_KINDS`; :class:`EventLog` refuses
any other, and :mod:`peacesim.narrative` has one template per declared kind (a test checks both).
Actors are stored as a tuple of names; in tables and files they are joined with
:data:`ACTOR_SEPARATOR`, and :func:`split_actors` reads them back.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from .errors import InputError
from .words import control, unseen, words

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["EVENT_KINDS", "ACTOR_SEPARATOR", "MAX_NAME_LENGTH", "EventLog", "check_name", "split_actors",
           "parse_values"]

ACTOR_SEPARATOR = ";"
#: The longest actor name allowed.
MAX_NAME_LENGTH = 200

#: kind -> what it records. The order is the order of the ODD's submodels.
EVENT_KINDS: dict[str, str] = {
    # interventions (applied by a facilitator, a scenario file, an experiment or Python)
    "intervention": "an intervention was applied: its kind and arguments, and what it changed",
    # funding (ODD 7.4)
    "funding_lapse": "a third party's grant ran out without renewal: a gap of some months",
    "funding_resumed": "a third party is funded again after a gap",
    "programme_lapse": "the implementation programme's funding lapsed",
    "local_funding_lapse": "funding lapsed for some local mechanisms",
    # rotation (ODD 7.3)
    "rotation": "a post changed hands; the share of relationship capital kept, trust before and after",
    "lead_rotation_setback": "the lead of a hierarchical table rotated during talks: progress lost",
    # local mechanisms (ODD 7.8)
    "local_linked": "a mediator linked a local mechanism to the national process",
    "local_targeted": "spoilers targeted local mechanisms drawn into the process without protection",
    # spoilers (ODD 7.6)
    "attack": "an attack by a spoiler or an excluded party: attributed or not, implementation set back",
    "attack_foiled": "early warning from local mechanisms foiled an attack",
    "diagnosis": "a custodian (re)diagnosed a spoiler's type, rightly or wrongly",
    # the process (ODD 7.5, 7.9)
    "premature_proposal": "a mediator proposed talks before a party was ripe",
    "talks_open": "talks opened at a table",
    "leak": "confidential pre-talks leaked",
    "forum_shift": "a party took the process to another table",
    "talks_collapse": "talks collapsed",
    "signed": "an agreement was signed: signatories, scope, safeguards",
    "violation": "a signatory violated the agreement",
    "dispute_resolved": "a mediator resolved an implementation dispute",
    "dispute_unresolved": "an implementation dispute went unresolved",
    "milestone": "implementation passed a milestone",
    "relapse": "the agreement broke down and the war resumed",
    "consolidated": "the agreement held through the follow-up period",
}


class EventLog:
    """A structured log of what happened: ``(month, kind, actors, values)`` tuples, in order."""

    __slots__ = ("items",)

    def __init__(self) -> None:
        self.items: list[tuple[int, str, tuple[str, ...], dict[str, Any]]] = []

    def add(self, month: int, kind: str, actors: tuple[str, ...], /, **values: Any) -> None:
        if kind not in EVENT_KINDS:
            raise KeyError(f"event kind {kind!r} is not declared in peacesim.events.EVENT_KINDS")
        self.items.append((month, kind, actors, values))

    def insert(self, index: int, month: int, kind: str, actors: tuple[str, ...], /, **values: Any) -> None:
        """Log an event before those from ``index`` on (a decision logged before its consequences)."""
        self.add(month, kind, actors, **values)
        self.items.insert(index, self.items.pop())

    def __len__(self) -> int:
        return len(self.items)

    def frame(self) -> pd.DataFrame:
        """Events as a table: month, kind, actors (joined) and the numbers as JSON-able dicts."""
        import pandas as pd

        return pd.DataFrame(
            {
                "month": [e[0] for e in self.items],
                "kind": [e[1] for e in self.items],
                "actors": [ACTOR_SEPARATOR.join(e[2]) for e in self.items],
                "values": [e[3] for e in self.items],
            },
            columns=["month", "kind", "actors", "values"],
        )


def split_actors(x: Any) -> list[str]:
    """The actors of an event as a list of names, from a list or a joined text (or nothing)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return []
    if isinstance(x, (list, tuple)):
        return [str(s) for s in x]
    return str(x).split(ACTOR_SEPARATOR) if str(x) else []


def parse_values(x: Any) -> dict[str, Any]:
    """The numbers of an event as a dict, from a dict or JSON text (or nothing)."""
    if isinstance(x, dict):
        return x
    if isinstance(x, str) and x.strip():
        try:
            v = json.loads(x)
        except ValueError:
            return {}
        return v if isinstance(v, dict) else {}
    return {}


def name_key(name: str) -> str:
    """What tells actors' names apart where users name them (interventions): case, a
    leading article and the spaces around a name are ignored."""
    return re.sub(r"^(the|a|an)\s+", "", name.strip().lower())


def check_name(name: str, label: str) -> None:
    """An actor's name appears in the narrative, in column names and in the event log's actor list
    (a scenario's actors and mediators added by an intervention alike)."""
    if not name.strip():
        raise InputError(f"{label}: name = {words(name)} is not allowed; expected a non-empty text")
    if ACTOR_SEPARATOR in name:
        raise InputError(f"{label}: name = {words(name)} is not allowed: '{ACTOR_SEPARATOR}' separates actor names "
                         "in the event log (events.csv); choose a name without it")
    bad = unseen(name)
    if bad is not None:
        what = "a line break or another control character" if control(bad) else "an invisible formatting character"
        raise InputError(f"{label}: name = {words(name)} is not allowed: it holds {what} ({words(bad)}); expected a "
                         "name on one line of characters that are shown")
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(f"{label}: name = {words(name)} is not allowed; expected at most {MAX_NAME_LENGTH} characters")
