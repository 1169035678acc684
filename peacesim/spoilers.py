"""Spoiler violence and its management (DESIGN.md section 3; docs/ODD.md 7.6; Stedman 1997;
Kydd & Walter 2002).

:class:`SpoilerActivity` is the model's part for the month's attacks: spoilers recruit and strike
(excluded parties too, during implementation), early warning foils some attacks, verification
attributes them, and the process's custodian diagnoses and manages each spoiler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import rules
from .streams import picklable
from .agents import CONFLICT, CONSOLIDATED, IMPLEMENTATION, RECRUITMENT_PULL, SKILL_ERROR_WEIGHT, TALKS, SpoilerType
from .rules import ATTACK_TRUST_CEILING

if TYPE_CHECKING:  # pragma: no cover
    from .model import PeaceModel

__all__ = ["SpoilerActivity", "ATTACK_VIOLENCE", "ATTACK_CAPACITY_VIOLENCE", "WARTIME_ATTACK_SHARE",
           "DEFAULT_GRIEVANCE", "TALKS_MILESTONE_MONTHS", "SIGNING_MILESTONE_MONTHS",
           "IMPLEMENTATION_MILESTONE_MONTHS", "ATTACK_HARDLINER_RISE", "SETBACK_BASE",
           "REDIAGNOSIS_MONTHS"]

# Fixed constants of the spoiler rules (docs/ODD.md 7.6).
#: Violence of one attack: a base and a share of the attacker's capacity.
ATTACK_VIOLENCE = 0.1
ATTACK_CAPACITY_VIOLENCE = 0.3
#: In open war attacks are part of the fighting, not a strategy against a process: half as likely.
WARTIME_ATTACK_SHARE = 0.5
#: Grievance that drives recruitment when no party is excluded or outside the table.
DEFAULT_GRIEVANCE = 0.3
#: Milestone windows (Kydd & Walter 2002): the first months of talks, the months after signing,
#: and the months after an implementation milestone.
TALKS_MILESTONE_MONTHS = 3
SIGNING_MILESTONE_MONTHS = 6
IMPLEMENTATION_MILESTONE_MONTHS = 2
#: Rise of the hardliner share of every main party per attack during talks.
ATTACK_HARDLINER_RISE = 0.02
#: Implementation lost to an attack: attack_setback · (SETBACK_BASE + capacity).
SETBACK_BASE = 0.5
#: Months after which a custodian diagnoses a spoiler again.
REDIAGNOSIS_MONTHS = 12


#: The strategy for each spoiler type as read (rules.STRATEGY_FOR_TYPE, by type).
_STRATEGY_FOR = {t: rules.STRATEGY_FOR_TYPE[t.value] for t in SpoilerType}


class SpoilerActivity:
    """This month's attacks and the management of spoilers."""

    def __init__(self, model: PeaceModel):
        self.model = model
        self.attacks = 0  # attacks carried out this month
        self.violence = 0.0  # violence from this month's attacks
        self._u: list[float] = []  # this month's draws: (attack, foiled, attributed) per possible attacker
        self._u_custody: list[float] = []  # (wrong, which) per spoiler

    def __getstate__(self) -> dict:
        return picklable(self.__dict__)  # the month's draws as lists

    def block(self) -> tuple[int, int]:
        """How many draws a month takes from the spoilers' and the custodians' streams: three per
        spoiler and per party (which may attack when excluded); two per spoiler for its diagnosis
        and one for its response to management."""
        m = self.model
        return 3 * (len(m.spoilers) + len(m.parties)), 3 * len(m.spoilers)

    def draw(self, attacks, custody) -> None:
        """This month's draws (:meth:`block` of them from each stream)."""
        self._u = attacks
        self._u_custody = custody

    def new_month(self) -> None:
        self.attacks = 0
        self.violence = 0.0

    def effects(self) -> dict[str, float]:
        p = self.model.p
        return {"inducement": p.inducement_effect, "socialization": p.socialization_effect,
                "coercion": p.coercion_effect, "backfire": p.backfire}

    def milestone(self, month: int) -> bool:
        """Whether the process is at a milestone, when spoilers are likeliest to strike."""
        m = self.model
        phase = m.phase
        if phase is TALKS:
            return m.negotiation.months <= TALKS_MILESTONE_MONTHS
        if phase is IMPLEMENTATION:
            imp = m.implementation
            return (month - imp.signed_month <= SIGNING_MILESTONE_MONTHS
                    or month - imp.last_milestone_month <= IMPLEMENTATION_MILESTONE_MONTHS)
        return False

    def act(self, month: int) -> None:
        m = self.model
        p = m.p
        phase = m.phase
        if phase is CONSOLIDATED and not m.spoilers:
            return
        grievances = [q.grievances for q in m.parties if q.excluded or not q.at_table]
        grievance = sum(grievances) / len(grievances) if grievances else DEFAULT_GRIEVANCE
        trust = m.trust.between_parties()
        milestone = self.milestone(month)
        local = m.local
        support, local_strength = local.public_support, local.local_strength
        u = self._u
        # In open war attacks are part of the fighting: half as likely (WARTIME_ATTACK_SHARE).
        war = WARTIME_ATTACK_SHARE if phase is CONFLICT else 1.0
        boost = p.milestone_boost if milestone else 1.0
        fragility = ATTACK_TRUST_CEILING - trust
        rate = p.attack_rate
        recruitment = p.recruitment_rate
        pull = RECRUITMENT_PULL * (grievance + 1.0 - support)
        for k, s in enumerate(m.spoilers):
            s.recruit(pull, local_strength, recruitment)
            if u[3 * k] < s.attack_chance(rate, fragility, boost) * war:
                self._attack(month, s, s.capacity, 3 * k)
        if phase is IMPLEMENTATION:
            first = 3 * len(m.spoilers)
            for q in m.parties:
                if q.excluded:
                    chance = rules.attack_probability(rate, q.strength, q.hardliners, milestone,
                                                      p.milestone_boost, trust)
                    if u[first + 3 * q.idx] < chance:
                        self._attack(month, q, q.strength, first + 3 * q.idx)
        if phase is TALKS or phase is IMPLEMENTATION:
            self.manage(month)

    def _attack(self, month: int, actor, capacity: float, slot: int) -> None:
        """``actor`` moves to attack (its draw ``_u[slot]`` fell below its chance): early warning
        may foil it (``_u[slot + 1]``), or it strikes (``_u[slot + 2]`` decides attribution)."""
        m = self.model
        u = self._u
        if (m.phase is TALKS or m.phase is IMPLEMENTATION) and u[slot + 1] < m.local.early_warning:
            m.count("foiled")
            m.events.add(month, "attack_foiled", (actor.name,))
            return
        self.strike(month, actor, capacity, u[slot + 2])

    def strike(self, month: int, actor, capacity: float, u: float) -> None:
        """An attack is carried out: violence, a setback to implementation, and, if nobody can
        attribute it (``u`` is the draw that decides), suspicion between the parties (Kydd &
        Walter 2002)."""
        m = self.model
        p = m.p
        phase = m.phase
        self.attacks += 1
        m.count("attacks")
        self.violence += ATTACK_VIOLENCE + ATTACK_CAPACITY_VIOLENCE * capacity
        imp = m.implementation
        attributed = u < (p.attribution_with_verification if imp.verified else p.attribution_without)
        setback = 0.0
        if phase is IMPLEMENTATION:
            setback = imp.set_back(p.attack_setback * (SETBACK_BASE + capacity))
        if not attributed and phase in (TALKS, IMPLEMENTATION):
            # Nobody can say who did it: the parties suspect each other.
            m.trust.cut_between_parties(p.attack_trust_cost)
            if phase is IMPLEMENTATION:
                imp.blamed_attacks += 1
        if phase is TALKS:
            for q in m.at_table:
                q.hardliners = min(1.0, q.hardliners + ATTACK_HARDLINER_RISE)
        m.events.add(month, "attack", (actor.name,), attributed=attributed, setback=setback, phase=phase.label)

    def manage(self, month: int) -> None:
        """The process's custodian diagnoses each spoiler and manages it (Stedman 1997)."""
        m = self.model
        p = m.p
        coordination = m.coordination
        tb = coordination.led_by(m.negotiation.table.leader if m.negotiation.table is not None else None)
        if tb is None:
            tb = coordination.tables[0] if coordination.tables else None
        if tb is None or not m.spoilers:
            return
        custodian = tb.leader
        joint = p.joint_analysis if tb.joint_analysis else 0.0
        effects = self.effects()
        u = self._u_custody
        for k, s in enumerate(m.spoilers):
            who = (custodian.idx, custodian.person)
            if s.diagnosed is None or s.diagnosed_by != who or month - s.diagnosed_month >= REDIAGNOSIS_MONTHS:
                wrong = u[3 * k] < (p.diagnosis_error * (1.0 - SKILL_ERROR_WEIGHT * custodian.skill * custodian.knowledge)
                                    * (1.0 - joint))
                if wrong:
                    others = [x for x in SpoilerType if x is not s.type]
                    diag = others[int(u[3 * k + 1] * len(others))]
                else:
                    diag = s.type
                if diag is not s.diagnosed:
                    m.events.add(month, "diagnosis", (custodian.name, s.name), read_as=diag.value,
                                 true_type=s.type.value)
                s.diagnosed, s.diagnosed_by, s.diagnosed_month = diag, who, month
            strategy = p.spoiler_strategy if p.spoiler_strategy != "diagnose" else _STRATEGY_FOR[s.diagnosed]
            # a member that can talk to the group (ThirdParty.can_talk_to)
            talks = not s.proscribed or any(x.talks_to_proscribed for x in tb.members)
            if strategy != "coercion" and not talks:
                continue  # inducement and socialization need a channel to the group
            if s.be_managed(strategy, tb.leverage, effects, u[3 * k + 2]) == "backfired":
                # The custodian sees the strategy fail and reads the spoiler again next month.
                s.diagnosed_month = month - REDIAGNOSIS_MONTHS
