"""Negotiating tables and the coordination of parallel third parties (DESIGN.md 4.5; docs/ODD.md 7.5).

:class:`Coordination` groups the active mediators and diplomats into tables under the coordination
strategy, says how much each table moves talks, and how much of a coordinated mediator's time is
left for the parties. Tables change only when funding or staff change; their effectiveness
depends on this month's trust and context knowledge and is computed when talks need it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import rules

if TYPE_CHECKING:  # pragma: no cover
    from .agents import Mediator, ThirdParty
    from .model import PeaceModel

__all__ = ["Table", "Coordination", "SECONDARY_LEVERAGE", "DIPLOMAT_SUPPORT"]

#: Weight of every member's leverage after the strongest one in a coordinated table's pooled
#: leverage: partners add carrots and sticks, with diminishing weight (seed 003, contact groups).
SECONDARY_LEVERAGE = 0.25
#: Weight of a supporting diplomat's leverage times knowledge in a coordinated table's support
#: (venues, resources, information for the lead; seed 003 Opportunity 3).
DIPLOMAT_SUPPORT = 0.5


class Table:
    """One negotiating table: the mediators (and diplomats) working it together this month."""

    __slots__ = ("leader", "members", "diplomats", "leverage", "channels", "style", "coordinated")

    def __init__(self, leader, members, diplomats, leverage, channels, style, coordinated):
        self.leader = leader
        self.members = members
        self.diplomats = diplomats
        self.leverage = leverage
        self.channels = channels  # set of party indices it can talk to
        self.style = style
        self.coordinated = coordinated

    @property
    def joint_analysis(self) -> bool:
        """A coordinated table with more than one mediator analyses the conflict jointly."""
        return self.coordinated and len(self.members) > 1


class Coordination:
    """This month's tables and what coordination costs (ODD 7.5)."""

    def __init__(self, model: PeaceModel):
        self.model = model
        self.tables: list[Table] = []
        self.time_share: list[float] = [1.0] * len(model.mediators)
        self._dirty = True
        self._check = False
        self._key: tuple | None = None

    def refresh(self) -> None:
        """Re-form the tables at the next :meth:`form` (staff, the cast or a parameter changed)."""
        self._dirty = True

    def check(self) -> None:
        """A third party's funding or context knowledge changed: at the next :meth:`form`,
        re-form the tables if that changed who is active or who leads."""
        self._check = True

    def form(self) -> None:
        """Group the active third parties into negotiating tables under the coordination strategy.

        Tables are rebuilt only when a post rotated, the cast or a parameter changed, or a change
        of a third party's funding or context knowledge changed who is active or who leads: the
        tables depend on nothing else.
        """
        if not (self._dirty or self._check):
            return
        m = self.model
        strategy = m.p.coordination
        funded = m.funding.funded
        active = tuple([funded[x.stream] for x in m.third_parties])
        active_m = [x for x in m.mediators if funded[x.stream]]
        lead = self.lead(active_m, strategy) if strategy != "none" and active_m else None
        key = (active, lead)
        if not self._dirty and key == self._key:
            self._check = False
            return
        self._dirty = self._check = False
        self._key = key
        quasi = [d for d in m.diplomats if d.quasi and d.active]
        support_d = [d for d in m.diplomats if d.active and not d.quasi]
        # Each table: (leader, members, supporting diplomats, coordinated).
        specs: list[tuple] = []
        if strategy == "none":
            specs = [(x, [x], [], False) for x in active_m]
        elif active_m:
            if strategy == "contact_group":
                support_d = support_d + quasi
                quasi = []
            if lead is not None:
                specs.append((lead, active_m, support_d, True))
        specs += [(d, [d], [], False) for d in quasi]
        # Every other table is a forum the parties can play against this one (leverage dilution).
        competing = len(specs) - 1
        self.tables = [self._table(*s, competing=competing) for s in specs]
        # Coordinated mediators spend part of their time coordinating: less is left for the parties.
        share = [1.0] * len(m.mediators)
        pos = {x.idx: k for k, x in enumerate(m.mediators)}
        for _leader, members, diplomats, coordinated in specs:
            if coordinated:
                s = self.efficiency(self._size(members, diplomats))
                for mm in members:
                    share[pos[mm.idx]] = s
        self.time_share = share

    def lead(self, active: list[Mediator], strategy: str) -> Mediator | None:
        """The mediator leading a coordinated table, or None under a hierarchical strategy whose
        designated lead is out (a single point of failure)."""
        designated = [x for x in self.model.mediators if x.lead and not x.withdrawn]
        if strategy == "hierarchical" and designated:
            # Under a hierarchical lead, no one else can step in while the lead is out.
            return designated[0] if designated[0].active else None
        if designated and designated[0].active:
            return designated[0]
        return max(active, key=lambda x: x.skill * x.knowledge + x.leverage)

    def _table(self, leader, members, diplomats, coordinated: bool, *, competing: int) -> Table:
        p = self.model.p
        channels = set().union(*(x.reach for x in members))
        if coordinated:
            levs = sorted((x.leverage for x in members + diplomats), reverse=True)
            lev = rules.clip01(levs[0] + SECONDARY_LEVERAGE * sum(levs[1:]))
            for d in diplomats:
                channels |= d.reach
        else:
            lev = leader.leverage
        lev = rules.diluted_leverage(lev, competing, p.leverage_dilution)
        return Table(leader, members, diplomats, lev, channels, leader.style, coordinated)

    def _size(self, members: list, diplomats: list) -> int:
        """How many coordinate at a table: its mediators, and its diplomats in a contact group."""
        return len(members) + (len(diplomats) if self.model.p.coordination == "contact_group" else 0)

    def efficiency(self, n: int) -> float:
        """Share of a coordinated mediator's time left for the parties at a table of ``n``."""
        p = self.model.p
        return rules.coordination_efficiency(n, p.coordination_cost * (1.0 - p.coordination_earmark), p.coordination,
                                             p.coordination_exponent)

    def effectiveness(self, tb: Table) -> float:
        """How much a table moves the talks this month.

        A member's effectiveness is its skill and context knowledge scaled by the main parties'
        trust in it; supporting mediators and diplomats add with diminishing returns, and
        coordination costs grow with the number of members.
        """
        m = self.model
        p = m.p
        trust = m.trust
        rows, col = trust.rows, trust.col
        main = trust.parties

        def party_trust(tp: ThirdParty) -> float:
            c = col[tp.idx]
            return sum(rows[i][c] for i in main) / len(main)

        e_lead = tb.leader.effectiveness(party_trust(tb.leader))
        if not tb.coordinated:
            return e_lead
        support = sum(x.effectiveness(party_trust(x)) for x in tb.members if x is not tb.leader)
        support += sum(DIPLOMAT_SUPPORT * d.leverage * d.knowledge for d in tb.diplomats)
        eff = rules.support_gain(e_lead, support, p.support_returns)
        return eff * self.efficiency(self._size(tb.members, tb.diplomats))

    def led_by(self, leader: ThirdParty | None) -> Table | None:
        """This month's table led by ``leader`` (None if it leads none)."""
        if leader is None:
            return None
        for tb in self.tables:
            if tb.leader is leader:
                return tb
        return None

    def __len__(self) -> int:
        return len(self.tables)
