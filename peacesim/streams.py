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

Each stream is a Mersenne Twister seeded from its ``SeedSequence`` child as ``random.Random``
seeds one. The processes that draw a block every month (:data:`BLOCK_PROCESSES`) read them from a
:class:`BlockStream`, which makes the same numbers as ``random.Random`` would, in the same order,
but many at a time with numpy's MT19937, and hands out each month's block as a view: a run needs
thousands of uniforms of which it uses a few, and making them one at a time was a tenth of a
run's time. The others are a :class:`Stream`, a ``random.Random`` (setup draws ``randrange``,
funding three numbers at a grant's end).
"""

from __future__ import annotations

import math
import random
import threading
from statistics import NormalDist

import numpy as np

__all__ = ["PROCESSES", "BLOCK_PROCESSES", "Stream", "BlockStream", "RandomStreams", "stream_seed", "normal_from",
           "geometric_from", "picklable"]

#: The model's random processes, in spawn order, with what each draws (docs/ODD.md 4.9).
#: New processes go at the end: spawn children are indexed, so earlier streams keep their draws.
PROCESSES: dict[str, str] = {
    "setup": "staggered months in post and grant cycles at the start (ODD 5)",
    "funding": "grant renewal, contingency bridging and gap lengths (ODD 7.4)",
    "fighting": "battle outcomes and shifts of the battlefield, two uniforms per party per month (ODD 7.1)",
    "local": "which local mechanism a mediator links, which exposed ones are targeted (ODD 7.8)",
    "spoilers": "attacks, early warning and attribution, three uniforms per attacker per month (ODD 7.6)",
    "custody": "custodians' diagnoses of spoiler types (ODD 7.6)",
    "negotiation": "ripeness estimates, proposals, acceptance, signing, crises, pace, leaks, forum shopping and the "
                   "scope of an agreement (ODD 7.5, 7.9)",
    "implementation": "violations, retaliation for blamed attacks, disputes and their resolution (ODD 7.9)",
    "interventions": "what an intervention leaves to chance (whether a staged attack is attributed)",
    "retaliation": "retaliation for blamed attacks beyond the implementation block's three a month (ODD 7.9), "
                   "so that they shift no later month's draws",
}


#: The processes that draw a fixed block of uniforms every month (:meth:`PeaceModel.draw_month`).
BLOCK_PROCESSES = frozenset({"fighting", "local", "spoilers", "custody", "negotiation", "implementation"})


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


#: The most numbers a block stream makes at its first fill (8 MiB): a very large cast over a long
#: horizon fills in steps that double instead of all at once.
FIRST_FILL_MAX = 1 << 20


class BlockStream:
    """A process's uniforms made many at a time: the numbers ``random.Random(seed).random()``
    would give, in the same order, generated in bulk by numpy's MT19937 seeded the same way
    (``init_by_array`` on the seed's 32-bit words) and handed out as views.

    ``uniforms(k)`` returns the next ``k`` as a read-only sequence of floats (a memoryview);
    ``random()`` the next one. The first fill makes enough for ``months`` blocks of the first
    block's size (a process draws the same block every month of a run); a later fill starts the
    generator again from its seed and makes twice as many, which costs less than saving and
    restoring the generator's state. Where numpy cannot seed this way, the numbers come from
    ``random.Random(seed)`` itself: the same numbers, made one at a time.
    """

    __slots__ = ("_key", "_seed", "_view", "_n", "_pos", "months")

    def __init__(self, seed: int, months: int = 0):
        self._seed = int(seed)
        key, x = [], self._seed
        while x:
            key.append(x & 0xFFFFFFFF)
            x >>= 32
        self._key = key or [0]
        self._view: memoryview | list[float] = []
        self._n = 0
        self._pos = 0
        self.months = months

    def _fill(self, need: int) -> None:
        first = min(need * self.months + 16, FIRST_FILL_MAX) if self._n == 0 else 0
        n = max(self._pos + need, 2 * self._n, first, 64)
        self._view = _bulk_uniforms(self._key, self._seed, n)
        self._n = n

    def __getstate__(self) -> dict:
        # the numbers themselves are not kept: the next draw makes them again from the seed
        return {"_key": self._key, "_seed": self._seed, "_pos": self._pos, "months": self.months}

    def __setstate__(self, state: dict) -> None:
        self._key, self._seed, self._pos, self.months = state["_key"], state["_seed"], state["_pos"], state["months"]
        self._view, self._n = [], 0

    def uniforms(self, k: int):
        """The next ``k`` uniform draws on [0, 1), as a sequence of floats."""
        p = self._pos
        e = p + k
        if e > self._n:
            self._fill(k)
        self._pos = e
        return self._view[p:e]

    def random(self) -> float:
        """The next uniform draw on [0, 1)."""
        p = self._pos
        if p >= self._n:
            self._fill(1)
        self._pos = p + 1
        return self._view[p]

    def getstate(self) -> tuple:
        """Where the stream stands: its seed and the draws made so far."""
        return (self._seed, self._pos)


_ENGINE = threading.local()


def _bulk_uniforms(key: list[int], seed: int, n: int):
    """The first ``n`` numbers of ``random.Random(seed).random()``, as a memoryview of doubles.

    Both generators are MT19937 seeded by ``init_by_array`` on the seed's 32-bit words, and both
    make a double from two 32-bit outputs as ``((a >> 5) * 2**26 + (b >> 6)) / 2**53``; a test
    checks that the numbers are the same. One bit generator per thread is seeded again for each
    fill (threads of a Dask worker may run models at once)."""
    engine = getattr(_ENGINE, "bits", None)
    if engine is None:
        try:
            bits = np.random.MT19937(0)
            bits._legacy_seeding(key)
            _ENGINE.bits = engine = (bits, np.random.Generator(bits))
        except (AttributeError, TypeError, ValueError):  # a numpy without legacy seeding
            _ENGINE.bits = engine = False
    if engine is False:
        draw = random.Random(seed).random
        return [draw() for _ in range(n)]
    bits, gen = engine
    bits._legacy_seeding(key)
    return memoryview(gen.random(n))


def picklable(state: dict) -> dict:
    """An object's state with the month's blocks of draws (views of a block stream's numbers,
    which cannot be pickled) as lists of the same numbers."""
    return {k: (list(v) if isinstance(v, memoryview) else v) for k, v in state.items()}


def geometric_from(u: float, p: float) -> int:
    """A geometric draw (trials up to the first success, mean 1/p) made from a uniform ``u``."""
    if p >= 1.0:
        return 1
    # inversion: P(G > k) = (1 - p)^k
    return 1 + int(math.log(1.0 - u) / math.log(1.0 - p))


def normal_from(u: float) -> float:
    """The standard normal quantile of a uniform draw (a normal draw made from ``u``)."""
    u = u if u > 1e-300 else 1e-300
    return _inv_cdf(u if u < _BELOW_ONE else _BELOW_ONE, 0.0, 1.0)


_BELOW_ONE = 1.0 - 1e-16
# statistics.NormalDist().inv_cdf(p) is _normal_dist_inv_cdf(p, 0.0, 1.0) after checking 0 < p < 1
try:
    from statistics import _normal_dist_inv_cdf as _inv_cdf
except ImportError:  # pragma: no cover - an interpreter without it
    def _inv_cdf(p: float, mu: float, sigma: float) -> float:
        return NormalDist(mu, sigma).inv_cdf(p)


def stream_seed(seq: np.random.SeedSequence) -> int:
    """A 256-bit integer seed for ``random.Random`` from a ``SeedSequence``."""
    return int.from_bytes(seq.generate_state(8, dtype=np.uint32).tobytes(), "little")


class RandomStreams:
    """The generators of one run, one attribute per process of :data:`PROCESSES`.

    ``months`` is the run's horizon: the block streams make enough numbers for it at once.
    ``shared=True`` gives every process the same single generator (seeded from the run's seed as
    the first stream would be otherwise): the model as it would be with one stream for all draws.
    It exists to measure what separate streams buy (benchmarks/bench_streams.py) and changes no
    rule.
    """

    __slots__ = ("seed", "shared", *PROCESSES)

    def __init__(self, seed: int, *, shared: bool = False, months: int = 0):
        self.seed = int(seed)
        self.shared = bool(shared)
        root = np.random.SeedSequence(self.seed)
        if shared:
            one = Stream(stream_seed(root))
            for name in PROCESSES:
                setattr(self, name, one)
        else:
            for name, child in zip(PROCESSES, root.spawn(len(PROCESSES)), strict=True):
                seed_n = stream_seed(child)
                setattr(self, name, BlockStream(seed_n, months) if name in BLOCK_PROCESSES else Stream(seed_n))

    def __getitem__(self, name: str) -> Stream:
        return getattr(self, name)
