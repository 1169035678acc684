"""The trust network (DESIGN.md 4.2; docs/ODD.md 7.2): directed trust between every pair of actors.

One object owns the trust values and every change to them goes through one of its methods, so
each kind of change (a cut between the parties, a handover, the drift toward the baseline) is
written once. ``T[i, j]`` is how far actor ``i`` trusts actor ``j``, in [0, 1]; the diagonal is 1.

Only the parties' trust is stored, and of it only their trust in parties and in third parties.
No rule reads any other entry, and no rule moves any other entry from the baseline: a third
party's, spoiler's or local mechanism's trust in others, and a party's trust in a spoiler or a
local mechanism, start at the baseline and every change that touches them (drift, a handover,
the fading of an unfunded post) leaves the baseline where it is. They read as the baseline
(:meth:`get`, :attr:`matrix`).

The stored values are one float array, the parties' rows over the tracked columns, and each row is
also a memoryview of that array: a rule reads and writes single values through the row views as
Python floats, at the cost of a list's, and the monthly drift of every value is three array
operations whatever the size of the cast.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import rules

__all__ = ["TrustNetwork", "ARRAY_SIZE"]

#: From this many main-party pairs, the mean trust between the parties is added up with one array
#: operation (a cumulative sum, which adds in the same order as the loop and gives the same value).
ARRAY_SIZE = 64


class TrustNetwork:
    """Directed trust in [0, 1] between ``n`` actors, row trusts column.

    ``rows[q][c]`` is party ``q``'s trust in the actor whose column is ``c = col[actor]``;
    columns are kept for the parties and the third parties (``tracked``). ``parties`` are the
    main parties (those that must be at the table) and ``pairs`` their ordered pairs, the pairs
    most rules act on.
    """

    __slots__ = ("values", "rows", "col", "n", "baseline", "parties", "pairs", "_n_parties", "_pair_cols", "_tmp",
                 "generation", "_pair_index")

    def __init__(self, n: int, baseline: float, parties: Sequence[int], *, n_parties: int,
                 tracked: Sequence[int]):
        self.n = n
        self.baseline = float(baseline)
        self._n_parties = n_parties
        self.col = {idx: k for k, idx in enumerate(tracked)}
        self.generation = 0
        self._store(np.full((n_parties, len(self.col)), self.baseline))
        for q in range(n_parties):
            self.rows[q][self.col[q]] = 1.0
        self.parties = list(parties)
        self.pairs = [(i, j) for i in self.parties for j in self.parties if i != j]
        # for each main party, its row and the columns of the other main parties (the pairs, row by row)
        self._pair_cols = [(i, [self.col[j] for j in self.parties if j != i]) for i in self.parties]
        self._index_pairs()

    def _index_pairs(self) -> None:
        """A large cast's main-party pairs as flat indices into the values, in the loop's order
        (None for a small cast, which loops)."""
        self._pair_index = None
        if len(self.pairs) >= ARRAY_SIZE:
            width = self.values.shape[1]
            self._pair_index = np.array([i * width + c for i, cols in self._pair_cols for c in cols], dtype=np.intp)

    def _store(self, values: np.ndarray) -> None:
        """Keep ``values`` and make new row views of it. ``generation`` counts the stores: a part
        that keeps row views checks it and makes its own again when it changed (a third party
        joined, or the network was unpickled)."""
        self.values = values
        self.rows = [memoryview(values[q]) for q in range(values.shape[0])]
        self._tmp = np.empty_like(values)
        self.generation += 1

    def __getstate__(self) -> dict:
        # the row views cannot be pickled: they are made again from the values
        return {k: getattr(self, k) for k in self.__slots__ if k not in ("rows", "_tmp")}

    def __setstate__(self, state: dict) -> None:
        for k, v in state.items():
            setattr(self, k, v)
        self._store(self.values)

    def __len__(self) -> int:
        return self.n

    # ---------------------------------------------------------------- reading
    def get(self, i: int, j: int) -> float:
        """How far actor ``i`` trusts actor ``j``."""
        if i == j:
            return 1.0
        if i < self._n_parties:
            c = self.col.get(j)
            if c is not None:
                return self.rows[i][c]
        return self.baseline

    def __getitem__(self, ij: tuple[int, int]) -> float:
        return self.get(*ij)

    @property
    def matrix(self) -> np.ndarray:
        """The whole N x N matrix (a copy, for drawing and inspection)."""
        m = np.full((self.n, self.n), self.baseline)
        for j, c in self.col.items():
            m[: self._n_parties, j] = self.values[:, c]
        np.fill_diagonal(m, 1.0)
        return m

    def between_parties(self) -> float:
        """Mean trust over the main-party pairs (the series' ``trust_parties``)."""
        index = self._pair_index
        if index is not None:  # summed in the same order as below, in one array operation
            return float(np.cumsum(self.values.ravel().take(index))[-1]) / len(self.pairs)
        total = 0.0
        rows = self.rows
        for i, cols in self._pair_cols:  # summed in order, pair by pair
            row = rows[i]
            for c in cols:
                total += row[c]
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
        (``rules.drift_toward`` on the stored values; the others are at the baseline already)."""
        t = self._tmp
        np.subtract(self.baseline, self.values, out=t)
        t *= rate
        self.values += t

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
        grown = np.full((self._n_parties, len(self.col)), self.baseline)
        grown[:, : self.values.shape[1]] = self.values
        self._store(grown)  # new row views: the parts that keep some make theirs again (generation)
        self._index_pairs()
        self.n += k
        return new
