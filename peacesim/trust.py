"""The trust network (DESIGN.md 4.2; docs/ODD.md 7.2): directed trust between every pair of actors.

One object owns the trust values and every change to them goes through one of its methods, so
each kind of change (a cut between the parties, a handover, the drift toward the baseline) is
written once. ``T[i, j]`` is how far actor ``i`` trusts actor ``j``, in [0, 1]; the diagonal is 1.

Only the parties' trust is stored, and of it only their trust in parties and in third parties.
No rule reads any other entry, and no rule moves any other entry from the baseline: a third
party's, spoiler's or local mechanism's trust in others, and a party's trust in a spoiler or a
local mechanism, start at the baseline and every change that touches them (drift, a handover,
the fading of an unfunded post) leaves the baseline where it is. They read as the baseline
(:meth:`get`, :attr:`matrix`). Keeping the few stored values as Python floats makes a month's
reads and writes a few dozen float operations instead of numpy calls on tiny arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import rules

__all__ = ["TrustNetwork"]


class TrustNetwork:
    """Directed trust in [0, 1] between ``n`` actors, row trusts column.

    ``rows[q][c]`` is party ``q``'s trust in the actor whose column is ``c = col[actor]``;
    columns are kept for the parties and the third parties (``tracked``). ``parties`` are the
    main parties (those that must be at the table) and ``pairs`` their ordered pairs, the pairs
    most rules act on.
    """

    __slots__ = ("rows", "col", "n", "baseline", "parties", "pairs", "_n_parties")

    def __init__(self, n: int, baseline: float, parties: Sequence[int], *, n_parties: int,
                 tracked: Sequence[int]):
        self.n = n
        self.baseline = float(baseline)
        self._n_parties = n_parties
        self.col = {idx: k for k, idx in enumerate(tracked)}
        self.rows = [[self.baseline] * len(self.col) for _ in range(n_parties)]
        for q in range(n_parties):
            self.rows[q][self.col[q]] = 1.0
        self.parties = list(parties)
        self.pairs = [(i, j) for i in self.parties for j in self.parties if i != j]

    def __len__(self) -> int:
        return self.n

    # ---------------------------------------------------------------- reading
    def get(self, i: int, j: int) -> float:
        """How far actor ``i`` trusts actor ``j``."""
        if i < self._n_parties:
            c = self.col.get(j)
            if c is not None:
                return self.rows[i][c]
        return 1.0 if i == j else self.baseline

    def __getitem__(self, ij: tuple[int, int]) -> float:
        return self.get(*ij)

    @property
    def matrix(self) -> np.ndarray:
        """The whole N x N matrix (a copy, for drawing and inspection)."""
        m = np.full((self.n, self.n), self.baseline)
        np.fill_diagonal(m, 1.0)
        for q, row in enumerate(self.rows):
            for j, c in self.col.items():
                m[q, j] = row[c]
        return m

    def between_parties(self) -> float:
        """Mean trust over the main-party pairs (the series' ``trust_parties``)."""
        rows, col = self.rows, self.col
        total = 0
        for i, j in self.pairs:
            total += rows[i][col[j]]
        return total / len(self.pairs)

    def mean_from(self, i: int, others: Sequence[int]) -> float:
        """Mean trust of party ``i`` in the parties or third parties ``others`` (0 if none)."""
        if not others:
            return 0.0
        row, col = self.rows[i], self.col
        total = 0
        for j in others:
            total += row[col[j]]
        return total / len(others)

    def toward(self, post: int, parties: Sequence[int]) -> list[float]:
        """Trust of ``parties`` in ``post``."""
        c = self.col[post]
        return [self.rows[q][c] for q in parties]

    # ---------------------------------------------------------------- changes
    def set(self, i: int, j: int, value: float) -> None:
        """Set party ``i``'s trust in ``j`` (initial conditions), clipped to [0, 1]."""
        self.rows[i][self.col[j]] = min(1.0, max(0.0, value))

    def lower(self, i: int, j: int, amount: float) -> None:
        """Party ``i`` trusts ``j`` less by ``amount`` (floored at 0)."""
        row, c = self.rows[i], self.col[j]
        row[c] = max(0.0, row[c] - amount)

    def raise_(self, i: int, j: int, amount: float) -> None:
        """Party ``i`` trusts ``j`` more by ``amount`` (capped at 1)."""
        row, c = self.rows[i], self.col[j]
        row[c] = min(1.0, row[c] + amount)

    def cut_between_parties(self, amount: float) -> None:
        """Every main-party pair loses ``amount`` of trust (floored at 0)."""
        rows, col = self.rows, self.col
        for i, j in self.pairs:
            row = rows[i]
            c = col[j]
            row[c] = max(0.0, row[c] - amount)

    def build(self, i: int, j: int, loss: float, gain: float) -> None:
        """Party ``i``'s trust in ``j`` first loses ``loss`` (floored at 0), then closes ``gain``
        of its gap to full trust (a mediator's facilitation)."""
        row, c = self.rows[i], self.col[j]
        v = max(0.0, row[c] - loss)
        row[c] = v + gain * (1.0 - v)

    def close_gap(self, i: int, j: int, keep: float) -> None:
        """Party ``i``'s trust in ``j`` keeps only ``keep`` of its gap to full trust."""
        row, c = self.rows[i], self.col[j]
        row[c] = 1.0 - (1.0 - row[c]) * keep

    def fade(self, posts: Sequence[int], rate: float) -> None:
        """Trust in the third parties ``posts`` decays toward the baseline at ``rate`` (nobody
        tends the relationships)."""
        b = self.baseline
        cols = [self.col[j] for j in posts]
        for row in self.rows:
            for c in cols:
                v = row[c]
                row[c] = v + rate * (b - v)

    def drift(self, rate: float) -> None:
        """Every value moves toward the baseline at ``rate``: relationships fade without contact
        (``rules.drift_toward`` on each stored value; the others are at the baseline already)."""
        b = self.baseline
        for row in self.rows:
            row[:] = [v + rate * (b - v) for v in row]

    def hand_over(self, post: int, share: float) -> None:
        """A new person takes ``post``: everyone's trust in it keeps ``share`` of its distance
        from the baseline (the relationship capital that survives the change, ODD 7.3). Its own
        trust in others, at the baseline, stays there."""
        b = self.baseline
        c = self.col[post]
        for row in self.rows:
            row[c] = rules.handover(row[c], b, share)

    def grow(self, k: int = 1) -> list[int]:
        """Add ``k`` third parties at the baseline; return their actor indices."""
        new = list(range(self.n, self.n + k))
        for idx in new:
            self.col[idx] = len(self.col)
            for row in self.rows:
                row.append(self.baseline)
        self.n += k
        return new
