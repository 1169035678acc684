"""Funding continuity: grants of limited length, uncertain renewal and gaps (DESIGN 4.4; seed 003
challenge 2 and recommendation 8; seed 000 recommendation 3).

All funded actors share one vectorised set of streams so that a month costs a handful of numpy
operations whatever the number of actors.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FundingStreams"]


class FundingStreams:
    """Grant state of every funded actor.

    Core-funded actors (UN, states, regional organisations) are always funded. A project-funded
    actor holds a grant of ``grant_length`` months; when it ends it is renewed at once with the
    renewal probability (thinned by ``post_signature_support`` once an agreement is signed) or
    else falls into a gap of geometric length with mean ``gap_months``, unless a contingency
    fund bridges it. In a gap the actor is inactive.
    """

    def __init__(self, core: list[bool], rng: np.random.Generator, grant_length: int):
        self.rng = rng
        self.core = np.asarray(core, dtype=bool)
        n = len(self.core)
        # Grants start at staggered points of their cycle so that they do not all end together.
        self.grant_left = rng.integers(1, grant_length + 1, size=n) if n else np.zeros(0, dtype=np.int64)
        self.gap_left = np.zeros(n, dtype=np.int64)
        self.funded = np.ones(n, dtype=bool)

    def __len__(self) -> int:
        return len(self.core)

    def step(self, grant_length: int, renewal: float, gap_months: float, contingency: float) -> tuple[np.ndarray, np.ndarray]:
        """Advance one month. Returns the indices of streams that lapsed and that resumed."""
        if not len(self.core):
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        in_gap = self.gap_left > 0
        self.gap_left[in_gap] -= 1
        resumed = np.flatnonzero(in_gap & (self.gap_left == 0) & ~self.core)
        self.grant_left[resumed] = grant_length
        running = ~in_gap & ~self.core
        self.grant_left[running] -= 1
        ending = np.flatnonzero(running & (self.grant_left <= 0))
        lapsed = ending[:0]
        if ending.size:
            u = self.rng.random(ending.size)
            bridged = self.rng.random(ending.size) < contingency
            renewed = (u < renewal) | bridged | (gap_months <= 0)
            self.grant_left[ending[renewed]] = grant_length
            lapsed = ending[~renewed]
            if lapsed.size:
                # Geometric gap with mean gap_months (at least one month once a gap opens).
                p = 1.0 / max(gap_months, 1.0)
                self.gap_left[lapsed] = self.rng.geometric(p, size=lapsed.size)
        self.funded = self.core | (self.gap_left == 0)
        return lapsed, resumed
