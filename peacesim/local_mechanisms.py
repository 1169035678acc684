"""Local conflict-resolution mechanisms (DESIGN.md section 3; docs/ODD.md 7.8; seeds 000, 001, 003).

Each mechanism is a Mesa agent for its identity (a name, a place in the trust network); its
state lives in arrays owned by :class:`LocalMechanisms`, which applies the monthly rule to all of
them at once and keeps the national aggregates (local strength, public support, early warning)
that the rest of the model reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from . import rules
from .agents import LocalMechanism, Phase

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
        self.capacity = np.array(cap, dtype=float)
        self.legitimacy = np.array(leg, dtype=float)
        self.linked = np.array(linked, dtype=bool)
        self.has_funding = np.array(funded, dtype=bool)
        self.funded_now = self.has_funding.copy()
        self.protected = np.array(protected, dtype=bool)
        self.stream = np.full(len(cap), -1, dtype=np.int64)  # funding stream of each funded mechanism
        # national aggregates, recomputed when a mechanism changed
        self.local_strength = 0.0
        self.public_support = 0.0
        self.early_warning = 0.0
        self.violence = 0.0
        self._dirty = True
        self._n_unlinked = 0
        self._exposed = np.zeros(0, dtype=np.int64)
        self._u: list[float] = []

    def draw(self, stream) -> None:
        """This month's draws: two per mediator (links one? which?) and one per mechanism (targeted?)."""
        self._u = stream.uniforms(2 * len(self.model.mediators) + len(self.agents))

    def __len__(self) -> int:
        return len(self.agents)

    @property
    def n_funded(self) -> int:
        """How many mechanisms have a funding stream of their own."""
        return int(self.has_funding.sum())

    def assign_streams(self, streams: list[int]) -> None:
        self.stream[np.flatnonzero(self.has_funding)] = streams

    # ---------------------------------------------------------------- the monthly rule
    def funding_changed(self, funded: np.ndarray) -> None:
        has = self.has_funding
        if has.any():
            self.funded_now = has.copy()
            self.funded_now[has] = funded[self.stream[has]]
            self._dirty = True

    def act(self, month: int, phase: Phase) -> None:
        """Local dispute resolution, public support, early warning, linkage and exposure."""
        m = self.model
        p = m.p
        conflict_factor = 1.0 if phase is Phase.CONFLICT else PEACETIME_LOCAL_VIOLENCE
        if not self.agents:
            self.public_support = self.local_strength = self.early_warning = 0.0
            self.violence = p.local_violence_base * conflict_factor
            return
        if self._dirty:
            self._aggregate()
        self.violence = p.local_violence_base * (1.0 - self.local_strength) * conflict_factor
        u = self._u
        # Vertical linkage: multi-track mediators link one more mechanism to track I now and then.
        if phase is not Phase.CONSOLIDATED and self._n_unlinked:
            for k, med in enumerate(m.mediators):
                if med.links_local and med.active and u[2 * k] < p.linking_rate:
                    free = np.flatnonzero(~self.linked)
                    if free.size:
                        li = int(free[int(u[2 * k + 1] * free.size)])
                        self.linked[li] = True
                        self._dirty = True
                        m.events.add(month, "local_linked", (med.name, self.agents[li].name))
        # Drawn into the national process without protection, a mechanism becomes a target (seed 003):
        # each exposed mechanism independently, with the same chance.
        if self._exposed.size and m.spoilers:
            threat = min(1.0, sum(s.capacity * s.resolve for s in m.spoilers if not s.inside))
            chance = p.target_risk * threat
            first = 2 * len(m.mediators)
            hit = [li for li in self._exposed.tolist() if u[first + li] < chance]
            if hit:
                self.capacity[hit] *= TARGETED_CAPACITY_KEPT
                self._dirty = True
                m.events.add(month, "local_targeted", (), count=len(hit))

    def _aggregate(self) -> None:
        """What the local mechanisms add up to; recomputed only when one of them changed."""
        p = self.model.p
        eff = self.capacity * np.where(self.funded_now, 1.0, p.unfunded_capacity)
        legit = eff * self.legitimacy
        linked = self.linked
        self.local_strength = rules.saturating(float(legit.sum()), SUPPORT_SATURATION)
        self.public_support = rules.saturating(
            float((legit * (UNLINKED_SUPPORT_SHARE + LINKED_SUPPORT_SHARE * linked)).sum()), SUPPORT_SATURATION)
        self.early_warning = p.early_warning * rules.saturating(float(eff[linked].sum()), WARNING_SATURATION)
        self._n_unlinked = int((~linked).sum())
        self._exposed = np.flatnonzero(linked & ~self.protected & (self.capacity > EXPOSURE_FLOOR))
        self._dirty = False

    def refresh(self) -> None:
        """Recompute the aggregates next month (a parameter they depend on changed)."""
        self._dirty = True

    # ---------------------------------------------------------------- reading
    def inclusion(self) -> float:
        """Share of the mechanisms' current capacity that is linked to the process."""
        total = float(self.capacity.sum())
        return float(self.capacity[self.linked].sum()) / total if total > 0 else 0.0

    @property
    def n_linked(self) -> int:
        return int(self.linked.sum())

    def members(self, group: str = "") -> np.ndarray:
        """Indices of the mechanisms of a scenario entry (all if ``group`` is empty)."""
        if not group:
            return np.arange(len(self.agents))
        return np.array([i for i, g in enumerate(self.groups) if g == group], dtype=np.int64)

    # ---------------------------------------------------------------- interventions
    def link(self, count: int, group: str = "") -> list[int]:
        """Link up to ``count`` unlinked mechanisms (of ``group``) to the process, in scenario order."""
        free = [int(i) for i in self.members(group) if not self.linked[i]][:count]
        self.linked[free] = True
        self._dirty = True
        return free

    def protect(self, count: int, group: str = "") -> list[int]:
        """Protect up to ``count`` unprotected mechanisms (of ``group``; all if ``count`` is 0),
        linked ones first: they are the ones exposed (seed 003)."""
        idx = [int(i) for i in self.members(group) if not self.protected[i]]
        idx.sort(key=lambda i: not self.linked[i])
        chosen = idx if count <= 0 else idx[:count]
        self.protected[chosen] = True
        self._dirty = True
        return chosen
