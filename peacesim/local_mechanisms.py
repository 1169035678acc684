"""Local conflict-resolution mechanisms (DESIGN.md section 3; docs/ODD.md 7.8; seeds 000, 001, 003).

Each mechanism is a Mesa agent for its identity (a name, a place in the trust network); its
state lives in lists owned by :class:`LocalMechanisms`, one entry per mechanism, which applies the
monthly rule to all of them and keeps the national aggregates (local strength, public support,
early warning) that the rest of the model reads. Sums are taken in numpy's order
(:func:`peacesim.rules.pairwise_sum`).
"""

from __future__ import annotations

import operator

from typing import TYPE_CHECKING, Any

from . import rules
from .streams import picklable
from .agents import CONFLICT, CONSOLIDATED, LocalMechanism, Phase

if TYPE_CHECKING:  # pragma: no cover
    from .model import PeaceModel

__all__ = ["LocalMechanisms", "SUPPORT_SATURATION", "WARNING_SATURATION", "LINKED_SUPPORT_SHARE",
           "UNLINKED_SUPPORT_SHARE", "PEACETIME_LOCAL_VIOLENCE", "EXPOSURE_FLOOR", "TARGETED_CAPACITY_KEPT"]

# Fixed constants of the local rule (docs/ODD.md 7.8).
#: Saturation rate of local strength and public support in the sum of legitimate capacity
#: (a dozen mechanisms of middling capacity make most of what they can).
SUPPORT_SATURATION = 0.5
#: Saturation rate of early warning in the capacity of linked mechanisms.
WARNING_SATURATION = 1.0
#: Weight of an unlinked mechanism's legitimacy in public support; a linked one counts fully
#: (0.3 + 0.7): linkage carries local views into the process and its results back (seed 000
#: recommendation 5; seed 003, Mali).
UNLINKED_SUPPORT_SHARE = 0.3
LINKED_SUPPORT_SHARE = 0.7
#: Share of the local violence base outside open conflict (talks, implementation, peace).
PEACETIME_LOCAL_VIOLENCE = 0.6
#: A mechanism with capacity at or below this is no longer a target.
EXPOSURE_FLOOR = 0.05
#: Share of its capacity a targeted mechanism keeps (seed 003: Colombia, Syria).
TARGETED_CAPACITY_KEPT = 0.5


#: From how many mechanisms the aggregates are added up with numpy (the same sums, in C).
ARRAY_SIZE = 64
#: The weight of a linked mechanism's legitimacy in public support (the two shares together).
_LINKED_WEIGHT = UNLINKED_SUPPORT_SHARE + LINKED_SUPPORT_SHARE


class LocalMechanisms:
    """The local mechanisms of a run: arrays of capacity, legitimacy, linkage, funding, protection."""

    def __init__(self, model: PeaceModel, specs: list[dict[str, Any]], first_idx: int):
        self.model = model
        self.agents: list[LocalMechanism] = []
        self.groups: list[str] = []  # the scenario entry each mechanism comes from
        cap, leg, linked, funded, protected = [], [], [], [], []
        idx = first_idx
        for spec in specs:
            for k in range(spec["count"]):
                name = spec["name"] if spec["count"] == 1 else f"{spec['name']} #{k + 1}"
                self.agents.append(LocalMechanism(model, {"name": name}, idx, len(cap)))
                self.groups.append(spec["name"])
                idx += 1
                cap.append(spec["capacity"])
                leg.append(spec["legitimacy"])
                linked.append(spec["linked"])
                funded.append(spec["funded"])
                protected.append(spec["protected"])
        self.capacity: list[float] = [float(x) for x in cap]
        self.legitimacy: list[float] = [float(x) for x in leg]
        self.linked: list[bool] = [bool(x) for x in linked]
        self.has_funding: list[bool] = [bool(x) for x in funded]
        self.funded_now = list(self.has_funding)
        self._n_funded = sum(self.has_funding)
        self.protected: list[bool] = [bool(x) for x in protected]
        self.stream: list[int] = [-1] * len(cap)  # funding stream of each funded mechanism
        # national aggregates, recomputed when a mechanism changed
        self.local_strength = 0.0
        self.public_support = 0.0
        self.early_warning = 0.0
        self.linked_strength = 0.0  # saturating capacity of the linked mechanisms (early warning, disputes)
        self.violence = 0.0
        self._dirty = True
        self._n_unlinked = 0
        self._exposed: list[int] = []
        self._u: list[float] = []

    def __getstate__(self) -> dict:
        return picklable(self.__dict__)  # the month's draws as lists

    def block(self) -> int:
        """How many draws a month takes: two per mediator (links one? which?) and one per
        mechanism (targeted?)."""
        return 2 * len(self.model.mediators) + len(self.agents)

    def draw(self, u) -> None:
        """This month's draws (:meth:`block` of them)."""
        self._u = u

    def __len__(self) -> int:
        return len(self.agents)

    @property
    def n_funded(self) -> int:
        """How many mechanisms have a funding stream of their own."""
        return sum(self.has_funding)

    def assign_streams(self, streams: list[int]) -> None:
        funded = [i for i, has in enumerate(self.has_funding) if has]
        for i, s in zip(funded, streams, strict=True):
            self.stream[i] = s
        # what each mechanism reads from the funding list with False added at its end: its stream's
        # value, or that False (stream -1: none of its own); and a last False, so that the getter
        # returns a tuple however many mechanisms there are
        self._read_funding = operator.itemgetter(*self.stream, -1)
        self._funding_read = (*self.funded_now, False)

    # ---------------------------------------------------------------- the monthly rule
    def funding_changed(self, funded: list[bool]) -> None:
        """A funding stream changed: which mechanisms are funded now."""
        if self._n_funded:
            now = self._read_funding(funded + [False])
            if now != self._funding_read:
                self._funding_read = now
                self.funded_now = list(now[:-1])
                self._dirty = True

    def act(self, month: int, phase: Phase) -> None:
        """Local dispute resolution, public support, early warning, linkage and exposure."""
        m = self.model
        p = m.p
        conflict_factor = 1.0 if phase is CONFLICT else PEACETIME_LOCAL_VIOLENCE
        if not self.agents:
            self.public_support = self.local_strength = self.early_warning = self.linked_strength = 0.0
            self.violence = p.local_violence_base * conflict_factor
            return
        if self._dirty:
            self._aggregate()
        self.violence = p.local_violence_base * (1.0 - self.local_strength) * conflict_factor
        u = self._u
        # Vertical linkage: multi-track mediators link one more mechanism to track I now and then.
        if phase is not CONSOLIDATED and self._n_unlinked:
            funded = m.funding.funded
            rate = p.linking_rate
            linked = self.linked
            for k, med in enumerate(m.mediators):
                if med.links_local and funded[med.stream] and u[2 * k] < rate:
                    free = [i for i, x in enumerate(linked) if not x]
                    if free:
                        li = free[int(u[2 * k + 1] * len(free))]
                        linked[li] = True
                        self._dirty = True
                        m.events.add(month, "local_linked", (med.name, self.agents[li].name))
        # Drawn into the national process without protection, a mechanism becomes a target (seed 003):
        # each exposed mechanism independently, with the same chance.
        if self._exposed and m.spoilers:
            threat = sum([s.capacity * s.resolve for s in m.spoilers if not s.inside])
            chance = p.target_risk * (threat if threat < 1.0 else 1.0)
            first = 2 * len(m.mediators)
            hit = [li for li in self._exposed if u[first + li] < chance]
            if hit:
                cap = self.capacity
                for li in hit:
                    cap[li] *= TARGETED_CAPACITY_KEPT
                self._dirty = True
                m.events.add(month, "local_targeted", (), count=len(hit))

    def _aggregate(self) -> None:
        """What the local mechanisms add up to; recomputed only when one of them changed.

        Sums are taken in numpy's pairwise order (:func:`rules.pairwise_sum`); many mechanisms
        (:data:`ARRAY_SIZE` or more) are added up with numpy itself, which gives the same sums."""
        unfunded = self.model.p.unfunded_capacity
        linked = self.linked
        if len(linked) >= ARRAY_SIZE:
            self._aggregate_arrays(unfunded)
            return
        eff = [c if f else c * unfunded for c, f in zip(self.capacity, self.funded_now)]
        legit = [e * g for e, g in zip(eff, self.legitimacy)]
        sum_ = rules.pairwise_sum
        self._set_aggregates(sum_(legit),
                             sum_([x * (_LINKED_WEIGHT if k else UNLINKED_SUPPORT_SHARE) for x, k in zip(legit, linked)]),
                             sum_([e for e, k in zip(eff, linked) if k]))
        self._n_unlinked = len(linked) - sum(linked)
        self._exposed = [i for i, (k, pr, c) in enumerate(zip(linked, self.protected, self.capacity))
                         if k and not pr and c > EXPOSURE_FLOOR]

    def _aggregate_arrays(self, unfunded: float) -> None:
        """:meth:`_aggregate` for many mechanisms, with numpy (the same arithmetic and sums)."""
        import numpy as np

        cap = np.array(self.capacity)
        linked = np.array(self.linked, dtype=bool)
        eff = np.where(np.array(self.funded_now, dtype=bool), cap, cap * unfunded)
        legit = eff * np.array(self.legitimacy)
        self._set_aggregates(float(np.add.reduce(legit)),
                             float(np.add.reduce(legit * np.where(linked, _LINKED_WEIGHT, UNLINKED_SUPPORT_SHARE))),
                             float(np.add.reduce(eff[linked])))
        self._n_unlinked = len(self.linked) - int(linked.sum())
        self._exposed = np.flatnonzero(linked & ~np.array(self.protected, dtype=bool) & (cap > EXPOSURE_FLOOR)).tolist()

    def _set_aggregates(self, legitimate: float, supporting: float, linked: float) -> None:
        """Local strength, public support, linked strength and early warning from the sums of
        legitimate capacity, of its support-weighted part and of the linked mechanisms' capacity."""
        self.local_strength = rules.saturating(legitimate, SUPPORT_SATURATION)
        self.public_support = rules.saturating(supporting, SUPPORT_SATURATION)
        self.linked_strength = rules.saturating(linked, WARNING_SATURATION)
        self.early_warning = self.model.p.early_warning * self.linked_strength
        self._dirty = False

    def refresh(self) -> None:
        """Recompute the aggregates next month (a parameter they depend on changed)."""
        self._dirty = True

    # ---------------------------------------------------------------- reading
    def inclusion(self) -> float:
        """Share of the mechanisms' current capacity that is linked to the process."""
        total = rules.pairwise_sum(self.capacity)
        linked = rules.pairwise_sum([c for c, k in zip(self.capacity, self.linked, strict=True) if k])
        return linked / total if total > 0 else 0.0

    @property
    def n_linked(self) -> int:
        if self._dirty:
            return sum(self.linked)
        return len(self.linked) - self._n_unlinked  # counted when the aggregates were

    def members(self, group: str = "") -> list[int]:
        """Indices of the mechanisms of a scenario entry (all if ``group`` is empty)."""
        if not group:
            return list(range(len(self.agents)))
        return [i for i, g in enumerate(self.groups) if g == group]

    # ---------------------------------------------------------------- interventions
    def link(self, count: int, group: str = "") -> list[int]:
        """Link up to ``count`` unlinked mechanisms (of ``group``) to the process, in scenario order."""
        free = [i for i in self.members(group) if not self.linked[i]][:count]
        for i in free:
            self.linked[i] = True
        self._dirty = True
        return free

    def protect(self, count: int, group: str = "") -> list[int]:
        """Protect up to ``count`` unprotected mechanisms (of ``group``; all if ``count`` is 0),
        linked ones first: they are the ones exposed (seed 003)."""
        idx = [i for i in self.members(group) if not self.protected[i]]
        idx.sort(key=lambda i: not self.linked[i])
        chosen = idx if count <= 0 else idx[:count]
        for i in chosen:
            self.protected[i] = True
        self._dirty = True
        return chosen
