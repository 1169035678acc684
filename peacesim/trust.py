"""The trust network (DESIGN.md 4.2; docs/ODD.md 7.2): directed trust between every pair of actors.

One object owns the matrix and every change to it goes through one of its methods, so each kind
of change (a cut between the parties, a handover, the drift toward the baseline) is written once.
``T[i, j]`` is how far actor ``i`` trusts actor ``j``, in [0, 1]; the diagonal is 1. Rules read
``matrix`` directly; they never write it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import rules

__all__ = ["TrustNetwork"]


class TrustNetwork:
    """Directed trust in [0, 1] between ``n`` actors, row trusts column.

    ``pairs`` are the ordered pairs of distinct main parties (those that must be at the table),
    the pairs most rules act on; ``parties`` their indices.
    """

    __slots__ = ("matrix", "baseline", "parties", "pairs")

    def __init__(self, n: int, baseline: float, parties: Sequence[int]):
        self.baseline = float(baseline)
        self.matrix = np.full((n, n), self.baseline)
        np.fill_diagonal(self.matrix, 1.0)
        self.parties = list(parties)
        self.pairs = [(i, j) for i in self.parties for j in self.parties if i != j]

    def __len__(self) -> int:
        return self.matrix.shape[0]

    # ---------------------------------------------------------------- reading
    def __getitem__(self, ij: tuple[int, int]) -> float:
        return self.matrix[ij]

    def between_parties(self) -> float:
        """Mean trust over the main-party pairs (the series' ``trust_parties``)."""
        t = self.matrix
        return sum(t[i, j] for i, j in self.pairs) / len(self.pairs)

    def mean_from(self, i: int, others: Sequence[int]) -> float:
        """Mean trust of ``i`` in ``others`` (0 if there are none)."""
        if not others:
            return 0.0
        t = self.matrix
        return float(sum(t[i, j] for j in others) / len(others))

    def toward(self, post: int, rows: Sequence[int]) -> np.ndarray:
        """Trust of ``rows`` in ``post`` (a copy)."""
        return self.matrix[list(rows), post].copy()

    # ---------------------------------------------------------------- changes
    def set(self, i: int, j: int, value: float) -> None:
        """Set one entry (initial conditions), clipped to [0, 1]."""
        self.matrix[i, j] = min(1.0, max(0.0, value))

    def lower(self, i: int, j: int, amount: float) -> None:
        """``i`` trusts ``j`` less by ``amount`` (floored at 0)."""
        t = self.matrix
        t[i, j] = max(0.0, t[i, j] - amount)

    def raise_(self, i: int, j: int, amount: float) -> None:
        """``i`` trusts ``j`` more by ``amount`` (capped at 1)."""
        t = self.matrix
        t[i, j] = min(1.0, t[i, j] + amount)

    def cut_between_parties(self, amount: float) -> None:
        """Every main-party pair loses ``amount`` of trust (floored at 0)."""
        t = self.matrix
        for i, j in self.pairs:
            t[i, j] = max(0.0, t[i, j] - amount)

    def build(self, rows: np.ndarray, cols: np.ndarray, loss: np.ndarray, gain: np.ndarray) -> None:
        """Entries ``(rows[k], cols[k])`` first lose ``loss[k]`` (floored at 0), then close
        ``gain[k]`` of their gap to full trust."""
        t = self.matrix
        v = np.maximum(0.0, t[rows, cols] - loss)
        t[rows, cols] = v + gain * (1.0 - v)

    def close_gaps(self, block, keep: np.ndarray) -> None:
        """Entries of ``block`` (an ``np.ix_`` index) keep only ``keep`` of their gap to full trust."""
        t = self.matrix
        t[block] = 1.0 - (1.0 - t[block]) * keep

    def fade(self, cols: list[int], rate: float) -> None:
        """Trust in the actors ``cols`` decays toward the baseline at ``rate`` (nobody tends it)."""
        t = self.matrix
        c = t[:, cols]
        t[:, cols] = c + rate * (self.baseline - c)

    def drift(self, rate: float) -> None:
        """Every entry moves toward the baseline at ``rate``: relationships fade without contact."""
        rules.drift_toward(self.matrix, self.baseline, rate)

    def hand_over(self, post: int, share: float) -> None:
        """A new person takes ``post``: its row and column keep ``share`` of their distance from
        the baseline (the relationship capital that survives the change, ODD 7.3)."""
        t = self.matrix
        t[:, post] = rules.handover(t[:, post], self.baseline, share)
        t[post, :] = rules.handover(t[post, :], self.baseline, share)
        t[post, post] = 1.0

    def grow(self, k: int = 1) -> list[int]:
        """Add ``k`` actors at the baseline (they trust themselves fully); return their indices."""
        n = self.matrix.shape[0]
        new = np.full((n + k, n + k), self.baseline)
        new[:n, :n] = self.matrix
        for i in range(n, n + k):
            new[i, i] = 1.0
        self.matrix = new
        return list(range(n, n + k))
