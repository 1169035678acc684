"""Outputs of a run (DESIGN.md section 5): what is recorded each month and what a run adds up to.

Everything the model reports is declared here once: the per-month series (:data:`SERIES`, each
column read from a public reporter of the model), the per-party series, the per-run outcomes
(:data:`OUTCOMES`, with the run counters :data:`COUNTERS`) and the episodes' columns (from
:mod:`peacesim.agreement`). The model records one row per month; arrays and tables are built only when
asked. Nothing here touches files.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import lru_cache
from itertools import chain, count
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from .agreement import EPISODE_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pandas as pd

    from .model import PeaceModel

__all__ = ["Recorder", "SERIES", "PARTY_SERIES", "OUTCOMES", "COUNTERS", "OUTCOME_KEYS", "PHASE_LABELS",
           "EPISODE_COLUMNS", "build_outcome", "slug", "unique_slugs"]

PHASE_LABELS = ("conflict", "talks", "implementation", "consolidated")

#: Per-month series: column -> (the model's reporter that gives it, meaning).
SERIES: dict[str, tuple[str, str]] = {
    "phase": ("phase_code", "phase of the process: conflict, talks, implementation, consolidated"),
    "violence": ("violence", "total violence this month, 0-1"),
    "war_violence": ("war_violence", "violence from fighting between parties, with violence between signatories during implementation"),
    "signatory_violence": ("signatory_violence", "violence between signatories (0 outside implementation)"),
    "local_violence": ("local_violence", "local violence not resolved by local mechanisms"),
    "trust_parties": ("trust_parties", "mean trust between the main parties"),
    "negotiation_progress": ("negotiation_progress", "progress of the text during talks (0 outside talks)"),
    "implementation": ("implementation_progress", "implementation progress (0 outside implementation)"),
    "spoiler_capacity": ("spoiler_capacity", "spoilers' summed capacity for violence"),
    "attacks": ("attacks", "attacks carried out this month"),
    "mediators_active": ("mediators_active", "mediators in post and funded"),
    "diplomats_active": ("diplomats_active", "diplomats in post and funded"),
    "project_funded": ("project_funded", "share of project-funded streams funded (1 if none)"),
    "locals_linked": ("locals_linked", "local mechanisms linked to the process"),
    "public_support": ("public_support", "public support and sense of inclusion, 0-1"),
}
#: Per-party series, one column ``<name>_<party slug>`` per party: the party's attribute.
PARTY_SERIES: dict[str, str] = {
    "ripeness": "the party's own perceived ripeness (without a mediator's push)",
    "commitment": "commitment to the agreement in force (0 if none)",
    "pain": "accumulated pain",
    "victory_belief": "belief in military victory",
}
_INT_SERIES = ("attacks", "mediators_active", "diplomats_active", "locals_linked")

#: Run totals the model counts as it goes.
COUNTERS: dict[str, str] = {
    "talks_opened": "times talks opened",
    "premature_proposals": "proposals made before the parties were ripe",
    "breakdowns": "times talks collapsed",
    "attacks": "attacks carried out",
    "foiled": "attacks foiled by early warning",
    "rotations": "staff rotations of mediators and diplomats",
    "funding_gaps": "funding gaps of mediators and diplomats",
    "local_funding_gaps": "funding gaps of local mechanisms",
    "forum_shifts": "times a party took the process to another table",
    "leaks": "leaks of confidential talks",
    "violations": "violations of an agreement by a signatory",
    "interventions": "interventions applied",
}
#: Per-run outcomes (DESIGN.md section 5): name -> meaning.
OUTCOMES: dict[str, str] = {
    "agreement_reached": "at least one agreement was signed",
    "months_to_first_agreement": "month of the first signature (empty if none)",
    "n_agreements": "agreements signed",
    "n_relapses": "agreements that ended in relapse",
    "consolidated": "an agreement held through the follow-up period",
    "final_phase": "phase at the horizon",
    "total_violence": "violence summed over the months",
    "mean_violence": "mean monthly violence",
    "months_in_conflict": "months in open conflict",
    "months_in_talks": "months in talks",
    "months_in_implementation": "months implementing an agreement",
    "months_in_consolidated": "months after peace was consolidated (the four phases add up to the months run)",
    **COUNTERS,
}
OUTCOME_KEYS = tuple(OUTCOMES)


@lru_cache(maxsize=4096)
def slug(name: str) -> str:
    """A column-safe version of an actor's name, in ASCII letters, digits and underscores: 'the
    armed group' -> 'armed_group', 'Ejército del Pueblo' -> 'ejercito_del_pueblo' (accents
    dropped); '' for a name with no Latin letter or digit (see :func:`unique_slugs`)."""
    s = re.sub(r"^(the|a|an)\s+", "", name.strip(), flags=re.I)
    s = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-zA-Z]+", "_", s).strip("_").lower()


def unique_slugs(names: list[str], kind: str = "party") -> list[str]:
    """Slugs of ``names``, all different: where two would be the same, the later is numbered with
    the first number that no other name's slug takes ('armed_group_3' when a party is called
    'armed group 2'). A name with no Latin letter or digit (a name in Burmese, Arabic or Thai
    script) is called by its place in the list, ``party2`` for the second."""
    bases = [slug(x) or f"{kind}{i}" for i, x in enumerate(names, 1)]
    reserved = set(bases)
    used: set[str] = set()
    out = []
    for n in bases:
        numbered = (f"{n}_{k}" for k in count(2) if f"{n}_{k}" not in reserved)  # not another name's own slug
        name = next(c for c in chain([n], numbered) if c not in used)
        used.add(name)
        out.append(name)
    return out


class Recorder:
    """Per-month series, one row per month, read from the model's reporters (:data:`SERIES`) and
    its parties (:data:`PARTY_SERIES`). Rows are kept as Python lists while the model runs and
    become a float array only when read (:attr:`data`)."""

    def __init__(self, model: PeaceModel, months: int):
        self.model = model
        self.party_slugs = unique_slugs([q.name for q in model.parties])
        self.columns = list(SERIES) + [f"{v}_{s}" for s in self.party_slugs for v in PARTY_SERIES]
        self._report = attrgetter(*(r for r, _ in SERIES.values()))
        self._party = attrgetter(*PARTY_SERIES)
        self._rows: list[list[float]] = []

    @property
    def rows(self) -> int:
        """Months recorded so far."""
        return len(self._rows)

    @property
    def data(self) -> np.ndarray:
        """The months recorded so far as a float array (one row per month, :attr:`columns`)."""
        import numpy as np

        return np.array(self._rows, dtype=float).reshape(len(self._rows), len(self.columns))

    def record(self) -> None:
        """Write this month's row."""
        m = self.model
        values = list(self._report(m))
        party = self._party
        for q in m.parties:
            values.extend(party(q))
        self._rows.append(values)

    def column(self, name: str) -> np.ndarray:
        """The recorded months of one column."""
        import numpy as np

        i = self.columns.index(name)
        return np.array([row[i] for row in self._rows], dtype=float)

    def frame(self) -> pd.DataFrame:
        return series_frame(self.data, self.columns)


def series_frame(data: np.ndarray, columns: list[str]) -> pd.DataFrame:
    """The series table: a ``month`` column (1, 2, ...), the phase as a category, counts as integers."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame(data, columns=columns)
    df.insert(0, "month", np.arange(1, len(data) + 1))
    for c in _INT_SERIES:
        df[c] = df[c].astype(int)
    df["phase"] = pd.Categorical.from_codes(df["phase"].astype(int), categories=list(PHASE_LABELS))
    return df


def build_outcome(model: PeaceModel) -> dict[str, Any]:
    """Per-run outcome (DESIGN.md section 5) from the model's episodes, series and counters; for
    a run read before its horizon, as it stands at its month (an agreement in force counts, censored
    there)."""
    eps = model.implementation.so_far(model.month)
    rec = model.recorder
    v = rec.column("violence")
    phase = rec.column("phase")
    out = {
        "agreement_reached": bool(eps),
        "months_to_first_agreement": eps[0].signed_month if eps else None,
        "n_agreements": len(eps),
        "n_relapses": sum(1 for e in eps if e.relapsed),
        "consolidated": any(e.consolidated for e in eps),
        "final_phase": PHASE_LABELS[int(model.phase)],
        "total_violence": float(v.sum()),
        "mean_violence": float(v.mean()) if len(v) else math.nan,
        "months_in_conflict": int((phase == 0).sum()),
        "months_in_talks": int((phase == 1).sum()),
        "months_in_implementation": int((phase == 2).sum()),
        "months_in_consolidated": int((phase == 3).sum()),
        **{k: int(x) for k, x in model.counters.items()},
    }
    return out
