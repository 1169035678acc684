"""Diplomats' pressure, incentives and partial statements (DESIGN.md section 3; docs/ODD.md 7.7).

:class:`Diplomacy` is the model's part for what diplomats do each month: funded diplomats press
the parties while there is war (pain, which ripens), offer incentives to the parties they reach
(part of the perceived way out), and a diplomat leaning toward one party pays for its partial
public statements in the other parties' trust. Pressure and incentive campaigns started by
interventions add to the diplomats' for their months. Whom each diplomat presses, offers and
loses is worked out once per cast (:meth:`Diplomacy.refresh`).

A small cast is worked value by value; a large one (at least :data:`ARRAY_SIZE` diplomat-party
pairs) with array operations that add the diplomats' contributions in the same order, so both
give the same numbers to the last bit (tests/test_model.py runs the reference both ways).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .agents import CONFLICT, TALKS

if TYPE_CHECKING:  # pragma: no cover
    from .agents import Diplomat
    from .model import PeaceModel

__all__ = ["Diplomacy", "ARRAY_SIZE"]

#: From how many diplomat-party pairs the month is worked with array operations.
ARRAY_SIZE = 64


class Diplomacy:
    """The diplomats' month (ODD 7.7); :attr:`pressure` and :attr:`incentives` per party are what
    the parties' pain and perception read."""

    def __init__(self, model: PeaceModel):
        self.model = model
        n = len(model.parties)
        self.pressure: list[float] = [0.0] * n
        self.incentives: list[float] = [0.0] * n
        #: campaigns of interventions: (pressure|incentives, party index, strength, last month)
        self.campaigns: list[tuple[str, int, float, int]] = []
        self.array_size = ARRAY_SIZE
        self._index: list[tuple] = []
        self._arrays: dict[str, np.ndarray] | None = None
        self._generation = -1  # the trust network's generation the row views in _index belong to

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.update(_index=[], _generation=-1)  # row views cannot be pickled: made again at the next step
        return state

    def refresh(self) -> None:
        """Work out whom each diplomat presses and offers to, and whose trust its statements cost
        (the cast or a parameter changed)."""
        m = self.model
        self._generation = m.trust.generation
        self._index = [self._of(d) for d in m.diplomats]
        parties = m.parties
        self._arrays = None
        if len(m.diplomats) * len(parties) >= self.array_size:
            n = len(parties)
            col = m.trust.col
            pressed = np.zeros((len(m.diplomats), n))
            offered = np.zeros((len(m.diplomats), n))
            for k, (_, pr, of, _, _) in enumerate(self._index):
                for i, f in pr:
                    pressed[k, i] = f
                for i, f in of:
                    offered[k, i] = f
            stated = [[q.idx for q in parties if d.bias_toward is not None and d.bias_toward != q.idx]
                      for d in m.diplomats]
            self._arrays = {
                "pressed": pressed, "offered": offered,
                "leverage": np.array([d.leverage for d in m.diplomats]),
                "share": np.array([d.pressure_share for d in m.diplomats]),
                "bias": np.array([d.bias for d in m.diplomats]),
                "col": np.array([col[d.idx] for d in m.diplomats], dtype=np.intp),
                # (diplomat, party) of every statement in war, and whether it is also made in peace
                "stated_k": np.array([k for k, rows in enumerate(stated) for _ in rows], dtype=np.intp),
                "stated_q": np.array([i for rows in stated for i in rows], dtype=np.intp),
                "stated_in_peace": np.array([i in d.reach for d, rows in zip(m.diplomats, stated, strict=True)
                                             for i in rows], dtype=bool),
            }

    def _of(self, d: Diplomat) -> tuple:
        """Whom a diplomat presses in war and with what weight, to whom it offers incentives
        (the parties it reaches), and whose trust in it its partial statements cost, outside war
        (the parties it reaches) and in war (every party)."""
        m = self.model
        rows, col = m.trust.rows, m.trust.col
        biased = d.bias_toward is not None
        c = col[d.idx]
        pressed = [(q.idx, 1.0 if d.bias_toward != q.idx else 1.0 - d.bias) for q in m.parties]
        offered = [(q.idx, (1.0 - d.bias) if (biased and d.bias_toward != q.idx) else 1.0)
                   for q in m.parties if q.idx in d.reach]
        disfavoured = [q for q in m.parties if biased and d.bias_toward != q.idx]
        return (d, pressed, offered, [(rows[q.idx], c) for q in disfavoured if q.idx in d.reach],
                [(rows[q.idx], c) for q in disfavoured])

    def step(self, month: int) -> None:
        """Pressure (pain) lands hardest on the side a diplomat does not favour; incentives (a way
        out) go to the parties it reaches; a partial public statement costs the diplomat the
        other side's trust. Campaigns of interventions add to the diplomats' for their months."""
        m = self.model
        if self._generation != m.trust.generation:
            self.refresh()
        war = m.phase is CONFLICT or m.phase is TALKS
        if self._arrays is not None:
            pressure, inc = self._step_arrays(war)
        else:
            pressure, inc = self._step_values(war)
        if self.campaigns:
            self.campaigns = [c for c in self.campaigns if c[3] >= month]
            rate = m.p.pressure_rate
            for kind, i, strength, _ in self.campaigns:
                if kind == "incentives":
                    inc[i] += strength
                elif war:
                    pressure[i] += rate * strength
        self.pressure = pressure
        self.incentives = [x if x < 1.0 else 1.0 for x in inc]

    def _step_values(self, war: bool) -> tuple[list[float], list[float]]:
        m = self.model
        p = m.p
        n = len(m.parties)
        inc = [0.0] * n
        pressure = [0.0] * n
        funded = m.funding.funded
        rate = p.pressure_rate
        for d, pressed, offered, stated, stated_in_war in self._index:
            if not funded[d.stream]:
                continue
            lev = d.leverage * d.knowledge
            if war:
                push = rate * lev * d.pressure_share
                for i, f in pressed:
                    pressure[i] += push * f
            carrot = lev * (1.0 - d.pressure_share)
            for i, f in offered:
                inc[i] += carrot * f
            cells = stated_in_war if war else stated
            if cells:
                cost = p.bias_trust_cost * d.bias
                for row, c in cells:
                    v = row[c] - cost
                    row[c] = v if v > 0.0 else 0.0
        return pressure, inc

    def _step_arrays(self, war: bool) -> tuple[list[float], list[float]]:
        """:meth:`_step_values` as array operations: each party's sums are added diplomat by
        diplomat in the same order (a cumulative sum down the diplomats)."""
        m = self.model
        p = m.p
        a = self._arrays
        n = len(m.parties)
        funded = m.funding.funded
        on = np.array([funded[d.stream] for d in m.diplomats], dtype=bool)
        if not on.any():
            return [0.0] * n, [0.0] * n
        lev = a["leverage"][on] * np.array([d.knowledge for d in m.diplomats])[on]
        share = a["share"][on]
        if war:
            push = p.pressure_rate * lev * share
            pressure = np.add.accumulate(push[:, None] * a["pressed"][on], axis=0)[-1].tolist()
        else:
            pressure = [0.0] * n
        carrot = lev * (1.0 - share)
        inc = np.add.accumulate(carrot[:, None] * a["offered"][on], axis=0)[-1].tolist()
        sel = on[a["stated_k"]] if war else on[a["stated_k"]] & a["stated_in_peace"]
        if sel.any():
            k = a["stated_k"][sel]
            rows, cols = a["stated_q"][sel], a["col"][k]
            values = m.trust.values
            v = values[rows, cols] - p.bias_trust_cost * a["bias"][k]
            values[rows, cols] = np.where(v > 0.0, v, 0.0)
        return pressure, inc
