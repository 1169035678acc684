"""Facilitation: funded mediators in post build trust in small steps (DESIGN.md 4.2; docs/ODD.md 7.2).

:class:`Facilitation` is the model's part for the mediators' "gold digging" (seed 003): each month
every funded mediator raises the trust the main parties it reaches have in it, and the trust
between the main parties it shuttles between. What a mediator touches depends only on the cast,
so it is worked out once (:meth:`Facilitation.refresh`, when the cast or a parameter changes);
each month only the gains are computed and the trust values moved.

A small cast's values are moved one by one; a large one's (at least :data:`ARRAY_SIZE` values)
with array operations on the trust network's values. Both do the same arithmetic on each value
in the same order, so they give the same numbers to the last bit (tests/test_model.py runs the
reference scenario both ways).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .model import PeaceModel

__all__ = ["Facilitation", "SHUTTLE_SHARE", "ARRAY_SIZE"]

#: Share of a mediator's facilitation gain that goes to trust between the parties it shuttles
#: between (seed 003, "gold digging").
SHUTTLE_SHARE = 0.5
#: From how many trust values facilitation touches a month they are moved with array operations.
ARRAY_SIZE = 64


class Facilitation:
    """The mediators' facilitation of trust (ODD 7.2)."""

    def __init__(self, model: PeaceModel):
        self.model = model
        self.array_size = ARRAY_SIZE
        self._entries: list[tuple[int, list]] = []  # per mediator: its column, (row, cost) of each party it reaches
        self._groups: list[tuple[tuple[int, ...], list]] = []
        self._unreached: list = []
        self._arrays: dict[str, np.ndarray] | None = None
        self.reaches = False
        self._generation = -1  # the trust network's generation the row views below belong to

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        # row views of the trust values cannot be pickled: made again at the next step
        state.update(_entries=[], _groups=[], _unreached=[], _generation=-1)
        return state

    def refresh(self) -> None:
        """Work out what facilitation touches (the cast or a parameter changed).

        For each mediator, the main parties whose trust in it facilitation raises, with the
        monthly cost of its bias to each. For the trust between main parties, the ordered pairs
        grouped by the mediators that reach both parties of the pair (pairs reached by the same
        mediators change by the same factor), each pair as (the trusting party's row, the column
        of the party trusted), and the pairs no mediator reaches."""
        m = self.model
        trust = m.trust
        self._generation = trust.generation
        main = trust.parties
        rows, col = trust.rows, trust.col
        pos = {q: k for k, q in enumerate(main)}
        entries, reached = [], []
        for med in m.mediators:
            entries.append([(q, m.p.bias_trust_cost * med.bias * dis if med.bias_toward is not None else 0.0)
                            for q, dis in zip(med.reach_rows, med.disfavoured, strict=True)])
            reached.append({pos[q] for q in med.reach_rows})
        self.reaches = any(entries)
        groups: dict[tuple[int, ...], list] = {}
        unreached = []
        cells = []  # (row, column, mediators reaching both) of every ordered pair of main parties
        reaching = [{k for k, r in enumerate(reached) if a in r} for a in range(len(main))]
        for a in range(len(main)):
            for b in range(len(main)):
                if a != b:
                    ks = tuple(sorted(reaching[a] & reaching[b]))
                    cell = (rows[main[a]], col[main[b]])
                    if ks:
                        groups.setdefault(ks, []).append(cell)
                    else:
                        unreached.append(cell)
                    cells.append((main[a], col[main[b]], ks))
        self._entries = [(col[med.idx], [(rows[q], cost) for q, cost in es])
                         for med, es in zip(m.mediators, entries, strict=True)]
        self._groups, self._unreached = list(groups.items()), unreached
        n_entries = sum(len(e) for e in entries)
        self._arrays = None
        if n_entries + len(cells) >= self.array_size:
            order = {ks: g for g, (ks, _) in enumerate(self._groups)}
            meds = [(k, q, col[med.idx], cost) for k, (med, es) in enumerate(zip(m.mediators, entries, strict=True))
                    for q, cost in es]
            self._arrays = {
                "mediator": np.array([x[0] for x in meds], dtype=np.intp),
                "row": np.array([x[1] for x in meds], dtype=np.intp),
                "col": np.array([x[2] for x in meds], dtype=np.intp),
                "cost": np.array([x[3] for x in meds], dtype=float),
                "pair_row": np.array([x[0] for x in cells], dtype=np.intp),
                "pair_col": np.array([x[1] for x in cells], dtype=np.intp),
                "pair_group": np.array([order[x[2]] if x[2] else len(self._groups) for x in cells], dtype=np.intp),
            }

    def step(self) -> None:
        """One month of facilitation.

        Trust of each main party a mediator can reach rises by ``gain`` of its gap to 1, where
        ``gain = facilitation_gain · skill · knowledge`` (times its time share after coordinating);
        a biased mediator first loses ``bias_trust_cost · bias`` of the trust of each party it
        does not favour. Trust between two main parties closes its gap to 1 by the product of
        (1 - SHUTTLE_SHARE · gain) over the mediators reaching both, under coordination (the
        labour is divided); without coordination the mediators duplicate each other's shuttling
        (seed 003), so only the strongest effort counts.
        """
        m = self.model
        if self._generation != m.trust.generation:
            self.refresh()
        if not self.reaches:
            return
        funded = m.funding.funded
        meds = m.mediators
        fg = m.p.facilitation_gain
        share = m.coordination.time_share
        arrays = self._arrays is not None
        coordinated = m.p.coordination != "none"
        n = len(meds)
        gains = [0.0] * n  # an unfunded mediator gains nothing
        logs = [0.0] * n
        active = [False] * n
        for k, x in enumerate(meds):
            if not funded[x.stream]:
                continue
            active[k] = True
            gains[k] = g = fg * x.skill * x.knowledge * share[k]
            if coordinated:
                logs[k] = math.log1p(-SHUTTLE_SHARE * g)
            if not arrays:
                # party -> mediator trust
                c, cells = self._entries[k]
                for row, cost in cells:
                    v = row[c] - cost
                    if v < 0.0:
                        v = 0.0
                    row[c] = v + g * (1.0 - v)
        if not any(active):
            return
        # what each group of pairs keeps of its gap to full trust (an unfunded mediator's gain and
        # log are 0, which changes neither the best gain nor the sum)
        keep = []
        if coordinated:
            for ks, _ in self._groups:
                total = 0.0
                for k in ks:
                    total += logs[k]
                keep.append(math.exp(total) if total else 1.0)  # exp(0) is 1 exactly
        else:
            for ks, _ in self._groups:
                best = 0.0
                for k in ks:
                    if gains[k] > best:
                        best = gains[k]
                keep.append(1.0 - SHUTTLE_SHARE * best)
        if arrays:
            self._step_arrays(active, gains, keep)
            return
        # party <-> party trust between main parties: each pair keeps a share of its gap to full
        # trust, the same for the pairs the same mediators reach (all of it where none reaches)
        for (_, cells), x in zip(self._groups, keep, strict=True):
            for row, c in cells:
                row[c] = 1.0 - (1.0 - row[c]) * x
        for row, c in self._unreached:
            row[c] = 1.0 - (1.0 - row[c])  # keeps all of its gap, which rounds as it always has

    def _step_arrays(self, active: list[bool], gains: list[float], keep: list[float]) -> None:
        """:meth:`step`'s updates of the trust values, as array operations (the same arithmetic)."""
        a = self._arrays
        values = self.model.trust.values
        on = np.array(active, dtype=bool)[a["mediator"]]
        rows, cols = a["row"][on], a["col"][on]
        v = values[rows, cols] - a["cost"][on]
        v[v < 0.0] = 0.0
        values[rows, cols] = v + np.array(gains)[a["mediator"][on]] * (1.0 - v)
        x = np.array(keep + [1.0])[a["pair_group"]]
        pr, pc = a["pair_row"], a["pair_col"]
        values[pr, pc] = 1.0 - (1.0 - values[pr, pc]) * x
