"""Random streams: one generator per process of the model, spawned from the run's seed.

Every draw of a run comes from one of the streams named in :data:`PROCESSES`. They are spawned
from the run's seed with ``numpy.random.SeedSequence(seed).spawn``, in the order of
:data:`PROCESSES`, so each process has its own independent sequence of draws. A change that touches
one process (a strategy, an intervention) then changes only that process's draws: battles,
attacks and grant renewals happen under the same random conditions in both arms of a comparison
(common random numbers carried down to the processes, not only to the run's seed).

Most processes draw a fixed block of uniforms every month, whatever the phase, and use the ones
they need (:meth:`PeaceModel.draw_month`): battle outcomes, attacks, diagnoses, linkage and
targeting of local mechanisms, ripeness estimates and other chances of the talks, and the chances
of implementation. So month *m* uses the same numbers in two runs of the same seed even when who
fights, who attacks or which phase the process is in differs between them. Funding draws three
numbers at every grant's end; the setup draws once at the start; interventions draw from a stream
of their own, so applying one does not shift the draws of any process.

Each stream is a :class:`Stream`, a ``random.Random`` (Mersenne Twister) seeded from its
``SeedSequence`` child: the model draws scalars one at a time, which ``random.Random`` does in
tens of nanoseconds.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist

import numpy as np

__all__ = ["PROCESSES", "Stream", "RandomStreams", "stream_seed", "normal_from", "geometric_from"]

#: The model's random processes, in spawn order, with what each draws (docs/ODD.md 4.9).
#: New processes go at the end: spawn children are indexed, so earlier streams keep their draws.
PROCESSES: dict[str, str] = {
    "setup": "staggered months in post and grant cycles at the start (ODD 5)",
    "funding": "grant renewal, contingency bridging and gap lengths (ODD 7.4)",
    "fighting": "battle outcomes, one uniform per party per month (ODD 7.1)",
    "local": "which local mechanism a mediator links, which exposed ones are targeted (ODD 7.8)",
    "spoilers": "attacks, early warning and attribution, three uniforms per attacker per month (ODD 7.6)",
    "custody": "custodians' diagnoses of spoiler types (ODD 7.6)",
    "negotiation": "ripeness estimates, leaks, forum shopping and the scope of an agreement (ODD 7.5, 7.9)",
    "implementation": "violations, retaliation for blamed attacks, disputes and their resolution (ODD 7.9)",
    "interventions": "what an intervention leaves to chance (whether a staged attack is attributed)",
}


class Stream(random.Random):
    """One process's generator: ``random.Random`` with the few distributions the model uses."""

    def geometric(self, p: float) -> int:
        """Number of trials up to and including the first success (support 1, 2, ...; mean 1/p)."""
        return geometric_from(self.random(), p)

    def binomial(self, n: int, p: float) -> int:
        """Successes in ``n`` trials of probability ``p``."""
        if n <= 0 or p <= 0.0:
            return 0
        return self.binomialvariate(n, min(1.0, p))

    def uniforms(self, k: int) -> list[float]:
        """``k`` uniform draws on [0, 1)."""
        r = self.random
        return [r() for _ in range(k)]


def geometric_from(u: float, p: float) -> int:
    """A geometric draw (trials up to the first success, mean 1/p) made from a uniform ``u``."""
    if p >= 1.0:
        return 1
    # inversion: P(G > k) = (1 - p)^k
    return 1 + int(math.log(1.0 - u) / math.log(1.0 - p))


def normal_from(u: float) -> float:
    """The standard normal quantile of a uniform draw (a normal draw made from ``u``)."""
    return _STANDARD_NORMAL.inv_cdf(min(max(u, 1e-300), 1.0 - 1e-16))


_STANDARD_NORMAL = NormalDist()


def stream_seed(seq: np.random.SeedSequence) -> int:
    """A 256-bit integer seed for ``random.Random`` from a ``SeedSequence``."""
    return int.from_bytes(seq.generate_state(8, dtype=np.uint32).tobytes(), "little")


class RandomStreams:
    """The generators of one run, one attribute per process of :data:`PROCESSES`.

    ``shared=True`` gives every process the same single generator (seeded from the run's seed as
    the first stream would be otherwise): the model as it would be with one stream for all draws.
    It exists to measure what separate streams buy (benchmarks/bench_streams.py) and changes no
    rule.
    """

    __slots__ = ("seed", "shared", *PROCESSES)

    def __init__(self, seed: int, *, shared: bool = False):
        self.seed = int(seed)
        self.shared = bool(shared)
        root = np.random.SeedSequence(self.seed)
        if shared:
            one = Stream(stream_seed(root))
            for name in PROCESSES:
                setattr(self, name, one)
        else:
            for name, child in zip(PROCESSES, root.spawn(len(PROCESSES)), strict=True):
                setattr(self, name, Stream(stream_seed(child)))

    def __getitem__(self, name: str) -> Stream:
        return getattr(self, name)
