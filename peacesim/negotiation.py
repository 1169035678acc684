"""Proposals, talks and signing (DESIGN.md 4.1, 4.5, 4.6; docs/ODD.md 7.5, 7.9).

:class:`Negotiation` is the model's part that owns the talks: which table holds them, how far the
text has come, how long they have run. Its rules return what happened (talks may open at a
table, collapse, or reach a text to sign); the model makes the phase change.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import rules
from .agreement import Agreement
from .streams import normal_from, picklable

if TYPE_CHECKING:  # pragma: no cover
    from .agents import Diplomat
    from .model import PeaceModel
    from .tables import Table

__all__ = ["Negotiation", "LEAK_WINDOW", "FORUM_SHIFT_KEEPS", "PREMATURE_PAIR_SHARE", "COLLAPSE_TRUST_COST",
           "SPECIFICITY_SLOWDOWN", "READY_TEXT", "TRUST_PACE_BASE"]

# Fixed constants of the talks (docs/ODD.md 7.5, 7.9).
#: Months of talks during which they are confidential pre-talks that can leak (seed 003 note 5).
LEAK_WINDOW = 6
#: Share of negotiation progress kept when a party takes the process to another table.
FORUM_SHIFT_KEEPS = 0.6
#: Share of a premature proposal's trust cost that falls on trust between the parties.
PREMATURE_PAIR_SHARE = 1.0 / 3.0
#: Trust between the parties lost when talks collapse.
COLLAPSE_TRUST_COST = 0.05
#: How much a fully specific text slows negotiation (seed 001: specificity versus ambiguity).
SPECIFICITY_SLOWDOWN = 0.4
#: Negotiation progress kept when the text is ready but fewer than two parties will sign.
READY_TEXT = 0.8
#: Pace of the talks: base + trust between the parties (distrustful parties haggle over every
#: clause; Kydd 2000 on trust and cooperation). A month's pace also varies at random (a good
#: month, a bad one): an exponential factor of mean one.
TRUST_PACE_BASE = 0.5
#: The month's draws after the per-table and per-party blocks: leak, forum shift, scope, crisis, pace.
_LEAK, _FORUM, _SCOPE, _CRISIS, _PACE = range(5)
_TAIL = 5


class Negotiation:
    """The talks: the table that holds them, progress of the text and months of talks."""

    def __init__(self, model: PeaceModel):
        self.model = model
        self.table: Table | None = None  # the table that holds the process (kept through implementation)
        self.progress = 0.0
        self.months = 0
        self._u: list[float] = []
        self._leaders = 0

    def __getstate__(self) -> dict:
        return picklable(self.__dict__)  # the month's draws as lists

    def block(self) -> int:
        """How many draws a month takes: one per possible table (every mediator and
        quasi-mediating diplomat may lead one) and main party, for the ripeness estimates; one per
        possible table (does its leader propose?); one per main party for accepting talks and one
        for signing; then one each for a leak, a forum shift, the scope of an agreement, a crisis
        and the month's pace.

        It also records how many possible tables there are this month (``_leaders``), which
        :meth:`_party_draw` and the proposal draws use to find their place in the block: the
        block's layout and its size are worked out together, so they cannot disagree."""
        m = self.model
        leaders = len(m.mediators) + sum(1 for d in m.diplomats if d.quasi)
        a = len(m.at_table)
        self._leaders = leaders
        return leaders * a + leaders + 2 * a + _TAIL

    def draw(self, u) -> None:
        """This month's draws (:meth:`block` of them)."""
        self._u = u

    def _chance(self, k: int) -> float:
        """The month's draw for a leak, a forum shift, the scope, a crisis or the pace."""
        return self._u[-_TAIL + k]

    def _party_draw(self, block: int, k: int) -> float:
        """Main party ``k``'s draw for accepting talks (block 0) or signing (block 1)."""
        a = len(self.model.at_table)
        return self._u[self._leaders * (a + 1) + block * a + k]

    def _push(self, tb: Table | None) -> float:
        """Ripeness a leverage-heavy table adds with carrots and sticks (Beardsley 2008), for a
        party wholly dependent on what the table can give or withhold; see :meth:`_pushed`."""
        if tb is not None and tb.style == "leverage":
            return self.model.p.leverage_push * tb.leverage
        return 0.0

    @staticmethod
    def _pushed(q, push: float) -> float:
        """A party's ripeness with the table's push. Leverage works as far as the party depends on
        what the mediator can give or withhold: a strong side, which can do without its carrots and
        bear its sticks, is moved less (Touval & Zartman 1985; Beardsley 2011)."""
        if push == 0.0:
            return q.ripeness
        return rules.effective_ripeness(q.ripeness, push * (1.0 - q.strength))

    def propose(self, month: int) -> Table | None:
        """Mediators estimate ripeness and propose talks; a premature proposal costs trust.

        Returns the table at which talks open, or None."""
        m = self.model
        p = m.p
        u = self._u
        trust = m.trust
        main = m.at_table
        table_ids = {q.idx for q in main}
        for tp in m.third_parties:
            if tp.cooldown > 0:
                tp.cooldown -= 1
        for t_k, tb in enumerate(m.coordination.tables):
            lead = tb.leader
            if lead.cooldown > 0:
                continue
            if not table_ids <= tb.channels:
                continue  # no channel to every main party: no proposal possible
            joint = p.joint_analysis if tb.joint_analysis else 0.0
            sd = lead.estimate_error(joint)
            # A leverage-heavy table brings parties to the table with carrots and sticks: what
            # counts is their ripeness with that push (Beardsley 2008), not only their own.
            push = self._push(tb)
            first = t_k * len(main)
            # The leader reads each party's ripeness with an error and judges the chance that all
            # will accept; it tests the waters with that chance (a promising moment is seized
            # more often, a hopeless one rarely, neither for sure).
            judged = 1.0
            for k, q in enumerate(main):
                judged *= rules.acceptance(self._pushed(q, push) + sd * normal_from(u[first + k]),
                                           p.ripeness_threshold, p.ripeness_spread)
            if u[self._leaders * len(main) + t_k] >= judged:
                continue
            lead.cooldown = p.proposal_cooldown
            # Each party accepts with a chance that rises with its ripeness (with the push).
            refusing = [q for k, q in enumerate(main)
                        if self._party_draw(0, k) >= rules.acceptance(self._pushed(q, push),
                                                                      p.ripeness_threshold, p.ripeness_spread)]
            if refusing:
                m.count("premature_proposals")
                for q in refusing:
                    trust.lower(q.idx, lead.idx, p.premature_proposal_cost)
                trust.cut_between_parties(p.premature_proposal_cost * PREMATURE_PAIR_SHARE)
                m.events.add(month, "premature_proposal", (lead.name, refusing[0].name), ripeness=refusing[0].ripeness)
                continue
            return tb
        return None

    def open(self, tb: Table) -> None:
        self.table = tb
        self.progress = 0.0
        self.months = 0

    def advance(self, month: int) -> tuple[str, str] | None:
        """One month of talks. Returns ``("collapse", why)``, ``("sign", "")`` or None.

        Talks advance with ripeness and the table's effectiveness; they can leak, shift or collapse."""
        m = self.model
        p = m.p
        self.months += 1
        tb = m.coordination.led_by(self.table.leader if self.table is not None else None)
        n_tables = len(m.coordination)
        # Confidential pre-talks leak more easily the more uncoordinated actors are around.
        if self.months <= LEAK_WINDOW and n_tables > 1 and self._chance(_LEAK) < p.leak_risk * (n_tables - 1):
            m.count("leaks")
            m.events.add(month, "leak", (), tables=n_tables)
            return "collapse", "confidential pre-talks leaked"
        if tb is not None:
            self.table = tb
        push = self._push(tb)
        hard = None
        for q in m.at_table:
            q.eff_ripeness = self._pushed(q, push)
            if q.eff_ripeness < p.breakdown_ripeness:
                q.low_months += 1
            else:
                q.low_months = 0
            if q.eff_ripeness < p.ripeness_threshold and (hard is None or q.eff_ripeness < hard.eff_ripeness):
                hard = q
        trust = m.trust.between_parties()
        if tb is not None:
            r_min = min(q.eff_ripeness for q in m.at_table)
            pace = -math.log(1.0 - self._chance(_PACE))
            self.progress += (p.negotiation_rate * m.coordination.effectiveness(tb) * r_min
                              * (1.0 - SPECIFICITY_SLOWDOWN * p.specificity) * (TRUST_PACE_BASE + trust) * pace)
        # Forum shopping: at a hard moment a party takes the process to another table.
        if hard is not None and n_tables > 1 and self._chance(_FORUM) < p.forum_shopping:
            alternatives = [x for x in m.coordination.tables if x is not tb and hard.idx in x.channels]
            if alternatives:
                get = m.trust.get
                new = max(alternatives, key=lambda x: get(hard.idx, x.leader.idx))
                old = self.table.leader.name if self.table is not None else ""
                self.progress *= FORUM_SHIFT_KEEPS
                self.table = new
                m.count("forum_shifts")
                m.events.add(month, "forum_shift", (hard.name, old, new.leader.name))
        if any(q.low_months >= p.breakdown_months for q in m.at_table):
            quitter = max(m.at_table, key=lambda q: q.low_months)
            return "collapse", f"{quitter.name} walked away"
        hardliners = sum(q.hardliners for q in m.at_table) / len(m.at_table)
        if self._chance(_CRISIS) < rules.talks_crisis_probability(p.talks_hazard, trust, hardliners,
                                                                   m.spoiler_activity.attacks, len(m.at_table)):
            return "collapse", "a crisis broke the talks"
        if self.progress >= 1.0:
            return "sign", ""
        return None

    def collapse(self) -> None:
        """Talks collapse: the parties trust each other less and the mediator waits before trying again."""
        m = self.model
        m.trust.cut_between_parties(COLLAPSE_TRUST_COST)
        if self.table is not None:
            self.table.leader.cooldown = m.p.proposal_cooldown
        self.table = None
        self.progress = 0.0

    def draft(self, month: int, episode: int) -> tuple[Agreement, Diplomat | None] | None:
        """The agreement the parties that are ripe enough will sign now, and its guarantor; None
        if fewer than two will sign (the text is ready and waits)."""
        m = self.model
        p = m.p
        signers = [q for k, q in enumerate(m.at_table)
                   if self._party_draw(1, k) < rules.acceptance(q.eff_ripeness, p.sign_threshold, p.ripeness_spread)]
        if len(signers) < 2:
            self.progress = READY_TEXT  # the text is ready but a party will not sign yet
            return None
        tb = self.table
        ripe = sum(q.ripeness for q in signers) / len(signers)
        scope = "comprehensive" if self._chance(_SCOPE) < ripe else "ceasefire"
        pressure_share = sum((q.eff_ripeness - q.ripeness) / max(q.eff_ripeness, 1e-9) for q in signers) / len(signers)
        guarantor = self.guarantor()
        agreement = Agreement(
            episode=episode,
            signed_month=month,
            scope=scope,
            signatories=tuple(q.name for q in signers),
            left_out=tuple(q.name for q in m.parties if q not in signers),
            inclusion=m.local.inclusion(),
            verification=bool(p.verification),
            guarantee=guarantor is not None,
            guarantor=guarantor.name if guarantor is not None else "",
            specificity=p.specificity,
            power_sharing=p.power_sharing,
            pressure_share=pressure_share,
            mediator=tb.leader.name if tb is not None else "",
            mediators_active=sum(1 for x in m.mediators if x.active),
            coordination=p.coordination,
            talks_months=self.months,
        )
        return agreement, guarantor

    def guarantor(self) -> Diplomat | None:
        """Under ``guarantee``, the active diplomat with the most leverage guarantees the agreement."""
        if not self.model.p.guarantee:
            return None
        active = [d for d in self.model.diplomats if d.active]
        return max(active, key=lambda d: d.leverage) if active else None
