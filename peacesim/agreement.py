"""Agreements and their implementation (DESIGN.md 4.6; docs/ODD.md 7.9).

:class:`Agreement` is the record of one agreement episode: what was signed, by whom, with which
safeguards, and how it ended; its fields are the columns of the episodes table.
:class:`Implementation` is the model's part that owns the agreement in force: implementation
progress, violence between signatories, milestones, the guarantor, and the finished episodes. Its
monthly rule returns a verdict (the agreement holds, relapses or has consolidated); the model
makes the phase change.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import rules
from .events import ACTOR_SEPARATOR

if TYPE_CHECKING:  # pragma: no cover
    from .agents import ConflictParty, Diplomat
    from .model import PeaceModel

__all__ = ["Agreement", "Implementation", "EPISODE_COLUMNS", "MILESTONES"]

#: Implementation levels that count as milestones (spoilers strike around them, ODD 7.6).
MILESTONES = (0.25, 0.5, 0.75, 1.0)
#: Why an agreement still in force ends its episode when a run is read before its horizon.
IN_FORCE = "still in force"

# Fixed constants of the implementation rule (docs/ODD.md 7.9).
#: Share of what implementation addresses that reaches the weakest signatory without power
#: sharing; power sharing brings the rest (seed 001: power- and resource-sharing).
WEAKER_SIDE_SHARE = 0.5
#: How much of the grievances a ceasefire addresses, relative to a comprehensive agreement.
CEASEFIRE_SCOPE = 0.4
#: Deterrence that a verification mechanism adds on its own (attribution deters; Fortna 2008).
VERIFICATION_DETERRENCE = 0.3
#: Violence of one violation: a base and a share growing with the violator's hardliners.
VIOLATION_VIOLENCE = 0.15
VIOLATION_HARDLINER_VIOLENCE = 0.2
#: Scale of the violence a distrustful signatory returns (a violation or a blamed attack).
RETALIATION_SCALE = 0.3
#: Share of retaliation that verification prevents (it tells who did what).
VERIFICATION_RESTRAINT = 0.5
#: Chance a mediator in post resolves a dispute: skill·knowledge · (base + verified share).
DISPUTE_RESOLUTION_BASE = 0.6
DISPUTE_RESOLUTION_VERIFIED = 0.4
#: Trust between the parties lost to an unresolved dispute.
DISPUTE_TRUST_COST = 0.02
#: Speed of implementation while the programme is unfunded, relative to funded.
UNFUNDED_SPEED = 0.3
#: Security for the risky steps of implementation (Walter 2002): parties disarm and hand over
#: territory as far as they trust each other or a guarantor and verification deter the other side;
#: implementation speed is SECURITY_BASE + (1 - SECURITY_BASE) * security. The weight of diplomats'
#: push in implementation speed.
SECURITY_BASE = 0.5
PUSH_SPEED_BASE = 0.7
PUSH_SPEED_WEIGHT = 0.3
#: Monthly fall in a signatory's grievances per unit of (scope x implementation).
GRIEVANCE_RELIEF = 0.01
#: Blamed attacks a month whose retaliation draws are part of the month's fixed block of draws.
BLAMED_ATTACKS_DRAWN = 3


@dataclass(slots=True)
class Agreement:
    """One agreement episode: what was signed and how it ended (a row of the episodes table)."""

    episode: int
    signed_month: int
    scope: str
    signatories: tuple[str, ...]
    left_out: tuple[str, ...]
    inclusion: float
    verification: bool
    guarantee: bool
    guarantor: str
    specificity: float
    power_sharing: float
    pressure_share: float
    mediator: str
    mediators_active: int
    coordination: str
    talks_months: int
    end_month: int | None = None
    months_survived: int | None = None
    relapsed: bool = False
    censored: bool = False
    end_cause: str = ""
    implementation_reached: float = 0.0
    consolidated: bool = False

    @property
    def n_signatories(self) -> int:
        return len(self.signatories)

    @property
    def comprehensive(self) -> bool:
        return self.scope == "comprehensive"

    def end(self, month: int, *, relapsed: bool, cause: str, consolidated: bool, implementation: float) -> None:
        self.end_month = month
        self.months_survived = month - self.signed_month
        self.relapsed = relapsed
        self.censored = not relapsed
        self.end_cause = cause
        self.implementation_reached = implementation
        self.consolidated = consolidated

    def row(self) -> dict[str, Any]:
        """The episode as a row of the episodes table (names joined with the actor separator)."""
        out = {}
        for c in EPISODE_COLUMNS:
            v = self.n_signatories if c == "n_signatories" else getattr(self, c)
            out[c] = ACTOR_SEPARATOR.join(v) if isinstance(v, tuple) else v
        return out


#: Columns of the episodes table, in order.
EPISODE_COLUMNS = [
    "episode", "signed_month", "end_month", "months_survived", "relapsed", "censored", "end_cause",
    "consolidated", "scope", "signatories", "left_out", "n_signatories", "inclusion", "verification",
    "guarantee", "guarantor", "specificity", "power_sharing", "pressure_share", "mediator",
    "mediators_active", "coordination", "talks_months", "implementation_reached",
]


class Implementation:
    """The agreement in force and the episodes that ended (ODD 7.9)."""

    def __init__(self, model: PeaceModel):
        self.model = model
        self.agreement: Agreement | None = None
        self.episodes: list[Agreement] = []
        self.progress = 0.0
        self.signatory_violence = 0.0
        self.high_violence_months = 0
        self.next_milestone = 0
        self.last_milestone_month = -999
        self.signed_month = -1
        self.guarantor: Diplomat | None = None
        self.blamed_attacks = 0  # unattributed attacks this month, which signatories may avenge
        self._u: list[float] = []
        self._extra: list[float] = []  # draws after the month's block (more blamed attacks than it foresaw)
        self._stream = None

    def __getstate__(self) -> dict:
        from .streams import picklable  # numpy; records imports this module for its columns only

        return picklable(self.__dict__)  # the month's draws as lists

    def block(self) -> int:
        """How many draws a month takes: one per party (violation), two for a dispute (arises?
        resolved?), one per party (defection), and one per party for each of up to
        :data:`BLAMED_ATTACKS_DRAWN` blamed attacks (retaliation; a month with more draws the rest
        from the retaliation stream, so that no later month's block moves)."""
        n = len(self.model.parties)
        return 2 * n + 2 + n * BLAMED_ATTACKS_DRAWN

    def draw(self, u, stream) -> None:
        """This month's draws (:meth:`block` of them), and the stream any further ones come from (the
        retaliation stream: never the block's own, whose later months would then move)."""
        self._stream = stream
        self._u = u
        if self._extra:
            self._extra = []

    def _retaliation_draw(self, attack: int, q: ConflictParty) -> float:
        n = len(self.model.parties)
        k = 2 * n + 2 + attack * n + q.idx
        if k < len(self._u):
            return self._u[k]
        k -= len(self._u)
        while k >= len(self._extra):  # more blamed attacks than the block foresaw (staged ones)
            self._extra.append(self._stream.random())
        return self._extra[k]

    @property
    def verified(self) -> bool:
        return self.agreement is not None and self.agreement.verification

    def start(self, agreement: Agreement, guarantor: Diplomat | None) -> None:
        self.agreement = agreement
        self.guarantor = guarantor
        self.signed_month = agreement.signed_month
        self.progress = 0.0
        self.signatory_violence = 0.0
        self.high_violence_months = 0
        self.next_milestone = 0

    def set_back(self, amount: float) -> float:
        """Implementation loses up to ``amount``; returns what it lost."""
        lost = min(self.progress, amount)
        self.progress -= lost
        return lost

    def so_far(self, month: int) -> list[Agreement]:
        """The episodes as they stand at ``month``: those that ended, and the agreement still in
        force as a copy censored there (a run read before its horizon, as the dashboard does)."""
        if self.agreement is None:
            return list(self.episodes)
        now = copy.copy(self.agreement)
        now.end(month, relapsed=False, cause=IN_FORCE, consolidated=False, implementation=self.progress)
        return [*self.episodes, now]

    def end(self, month: int, *, relapsed: bool, cause: str, consolidated: bool) -> None:
        ag = self.agreement
        ag.end(month, relapsed=relapsed, cause=cause, consolidated=consolidated, implementation=self.progress)
        self.episodes.append(ag)
        self.agreement = None
        if relapsed:
            self.signatory_violence = 0.0

    def advance(self, month: int) -> tuple[str, str] | None:
        """One month of implementation. Returns ``("relapse", cause)``, ``("consolidated", "")``
        or None while the agreement holds."""
        m = self.model
        p = m.p
        u = self._u
        n = len(m.parties)
        trust = m.trust
        ag = self.agreement
        signers: list[ConflictParty] = [q for q in m.parties if q.signatory]
        verified = 1.0 if ag.verification else 0.0
        # Diplomatic follow-through: the strongest active diplomat's push (the guarantor, a diplomat,
        # is among them); the guarantee deters violations (Walter 2002).
        push = max((d.leverage * d.knowledge for d in m.diplomats if d.active), default=0.0)
        guarantor = self.guarantor
        credibility = guarantor.leverage * guarantor.knowledge if guarantor is not None and guarantor.active else 0.0
        follow = p.follow_through * push
        deterrence = rules.clip01(p.guarantee_deterrence * credibility + VERIFICATION_DETERRENCE * verified)
        comp = 1.0 if ag.comprehensive else CEASEFIRE_SCOPE
        weakest = min(signers, key=lambda q: q.strength)
        trusts = []
        for q in signers:
            trust_other = trust.mean_from(q.idx, [r.idx for r in signers if r is not q])
            trusts.append(trust_other)
            addressed = self.progress * comp
            if q is weakest:
                addressed *= WEAKER_SIDE_SHARE + (1.0 - WEAKER_SIDE_SHARE) * p.power_sharing
            target = rules.commitment_target(trust_other, addressed, m.public_support, q.hardliners,
                                             p.public_support_weight)
            q.update_commitment(target, follow)
        # Violations and retaliation between signatories.
        new_violence = 0.0
        for q in signers:
            if u[q.idx] < rules.violation_probability(q.commitment, q.hardliners, p.violation_propensity, deterrence):
                m.count("violations")
                new_violence += VIOLATION_VIOLENCE + VIOLATION_HARDLINER_VIOLENCE * q.hardliners
                for r in signers:
                    if r is not q:
                        trust.lower(r.idx, q.idx, p.violation_trust_cost)
                        new_violence += (RETALIATION_SCALE * p.retaliation * (1.0 - trust.get(r.idx, q.idx))
                                         * (1.0 - VERIFICATION_RESTRAINT * verified) * (1.0 - deterrence))
                m.events.add(month, "violation", (q.name,), commitment=q.commitment)
            else:
                for r in signers:
                    if r is not q:
                        trust.raise_(r.idx, q.idx, p.compliance_gain)
        for attack in range(self.blamed_attacks):
            for q in signers:
                suspicion = 1.0 - trust.mean_from(q.idx, [r.idx for r in signers if r is not q])
                if self._retaliation_draw(attack, q) < suspicion:
                    new_violence += RETALIATION_SCALE * p.retaliation * suspicion * (1.0 - deterrence)
        self.signatory_violence = rules.clip01(p.violence_memory * self.signatory_violence + new_violence)
        # Implementation disputes: likelier under ambiguity, and where parallel uncoordinated tables
        # push their own readings of the text (seed 003: duplicated, contradictory proposals);
        # a mediator in post may resolve them.
        contradicting = max(0, len(m.coordination) - 1)
        if u[n] < p.dispute_rate * (1.0 - p.specificity) * (1.0 + p.contradiction * contradicting):
            resolver = max((x.skill * x.knowledge for x in m.mediators if x.active), default=0.0)
            # Linked local mechanisms know who is behind a local quarrel and can settle what the
            # mediators cannot (seed 000 recommendation 5; seed 003, insider mediators).
            settled = rules.clip01(resolver * (DISPUTE_RESOLUTION_BASE + DISPUTE_RESOLUTION_VERIFIED * verified))
            settled += (1.0 - settled) * p.local_dispute_resolution * m.local.linked_strength
            if u[n + 1] < settled:
                m.events.add(month, "dispute_resolved", ())
            else:
                self.progress = max(0.0, self.progress - p.dispute_setback)
                trust.cut_between_parties(DISPUTE_TRUST_COST)
                m.events.add(month, "dispute_unresolved", ())
        programme = m.funding.programme_funded
        funded = 1.0 if programme else UNFUNDED_SPEED
        mean_c = sum(q.commitment for q in signers) / len(signers)
        tau = sum(trusts) / len(trusts)  # at the start of the month
        security = tau + (1.0 - tau) * deterrence
        self.progress = min(1.0, self.progress + p.implementation_rate * mean_c * funded
                            * (SECURITY_BASE + (1.0 - SECURITY_BASE) * security)
                            * (PUSH_SPEED_BASE + PUSH_SPEED_WEIGHT * push))
        if not programme:
            # Without money, programmes stall and slide back (cantonment, reintegration; DESIGN 4.6).
            self.progress = max(0.0, self.progress - p.gap_setback)
        while self.next_milestone < len(MILESTONES) and self.progress >= MILESTONES[self.next_milestone]:
            self.last_milestone_month = month
            m.events.add(month, "milestone", (), level=MILESTONES[self.next_milestone])
            self.next_milestone += 1
        for q in signers:
            q.grievances = max(0.0, q.grievances - GRIEVANCE_RELIEF * comp * self.progress)
        # Relapse: sustained violence between signatories, or a signatory defects.
        if self.signatory_violence > p.relapse_violence:
            self.high_violence_months += 1
        else:
            self.high_violence_months = 0
        # Defection: hardliners take a signatory out of the agreement (Walter 2002); public support
        # for the agreement makes reneging costly at home (Nilsson 2012: inclusion lends legitimacy).
        restraint = 1.0 - p.legitimacy_restraint * m.public_support
        defector = next((q for q in signers
                         if u[n + 2 + q.idx] < restraint * rules.defection_probability(
                             q.commitment, q.hardliners, p.defection_rate, deterrence, q.victory_belief)), None)
        if defector is not None:
            return "relapse", f"{defector.name} defected"
        if self.high_violence_months >= p.relapse_months:
            return "relapse", "sustained violence between signatories"
        if month - self.signed_month >= p.followup_months:
            return "consolidated", ""
        return None
