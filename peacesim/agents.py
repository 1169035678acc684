"""The five agent types of DESIGN.md section 3, one Mesa agent class each.

Agents keep their own state and carry the rules that concern one actor. Rules that couple
actors (tables, trust between them, agreements) live in :mod:`peacesim.model`; the arithmetic is
in :mod:`peacesim.rules`.
"""

from __future__ import annotations

from enum import Enum, IntEnum
from typing import TYPE_CHECKING, Any

import mesa

from . import rules
from .params import MEDIATOR_KIND_DEFAULTS

if TYPE_CHECKING:  # pragma: no cover
    from .model import PeaceModel

__all__ = [
    "Phase",
    "CONFLICT",
    "TALKS",
    "IMPLEMENTATION",
    "CONSOLIDATED",
    "ALLOWED_TRANSITIONS",
    "SpoilerType",
    "ConflictParty",
    "Spoiler",
    "Mediator",
    "Diplomat",
    "LocalMechanism",
]


class Phase(IntEnum):
    """Phase of the peace process."""

    CONFLICT = 0
    TALKS = 1
    IMPLEMENTATION = 2
    CONSOLIDATED = 3

    @property
    def label(self) -> str:
        return self.name.lower()


#: The phases under names of their own, for the month's many tests of the phase (``phase is TALKS``).
CONFLICT, TALKS, IMPLEMENTATION, CONSOLIDATED = Phase.CONFLICT, Phase.TALKS, Phase.IMPLEMENTATION, Phase.CONSOLIDATED

# Phases move only along these transitions (tested as a property).
ALLOWED_TRANSITIONS: dict[Phase, frozenset[Phase]] = {
    Phase.CONFLICT: frozenset({Phase.TALKS}),
    Phase.TALKS: frozenset({Phase.CONFLICT, Phase.IMPLEMENTATION}),
    Phase.IMPLEMENTATION: frozenset({Phase.CONFLICT, Phase.CONSOLIDATED}),
    Phase.CONSOLIDATED: frozenset(),
}


class SpoilerType(Enum):
    """Stedman's (1997) spoiler types."""

    LIMITED = "limited"
    GREEDY = "greedy"
    TOTAL = "total"


# Fixed constants of the agents' rules (docs/ODD.md 7.1, 7.3, 7.5, 7.6, 7.9).
#: How hard a party fights: a base plus a share that grows with its belief in victory, and a
#: base plus a share that grows with its hardliners (Mason & Fett 1996).
RESOLVE_BASE, RESOLVE_BELIEF = 0.4, 0.6
HARDLINE_BASE, HARDLINE_WEIGHT = 0.7, 0.3
#: Monthly pull of strength back toward the party's base (recruitment and resupply), and the
#: floor below which no side is reduced (used by rules.battle).
STRENGTH_RECOVERY = rules.STRENGTH_RECOVERY
STRENGTH_FLOOR = rules.STRENGTH_FLOOR
#: Exposure to violence: every side bears ``war_cost_floor`` of it; of the rest the weaker side
#: suffers more, EXPOSURE_CEILING - strength.
EXPOSURE_CEILING = 1.2
#: Months over which a shock to a party's base strength reverts (battlefield shifts; ODD 7.1).
STRENGTH_SHOCK_MONTHS = 24
#: Willingness of each Stedman type to attack (total spoilers want the process dead; limited ones
#: want a seat), and the share of it a spoiler inside the process keeps.
INITIAL_RESOLVE = {SpoilerType.LIMITED: 0.5, SpoilerType.GREEDY: 0.75, SpoilerType.TOTAL: 1.0}
INSIDE_RESOLVE = 0.5
#: Weight of grievances and missing public support in a spoiler's recruitment pull.
RECRUITMENT_PULL = 0.5
#: A third party's effectiveness is skill · knowledge · (EFFECTIVENESS_BASE + the parties' trust in it).
EFFECTIVENESS_BASE = 0.5
#: How far skill and context knowledge cut a third party's errors in reading ripeness and spoilers.
SKILL_ERROR_WEIGHT = 0.6
#: A diplomat running its own initiative mediates with modest skill.
DIPLOMAT_SKILL = 0.4


class Actor(mesa.Agent):
    """Common part of all actors: a name and a row and column in the trust matrix."""

    kind = "actor"

    def __init__(self, model: PeaceModel, spec: dict[str, Any], idx: int):
        super().__init__(model)
        self.name: str = spec["name"]
        self.idx = idx

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class ConflictParty(Actor):
    """A government or armed group: fights, feels pain, ripens, negotiates, signs, complies or defects."""

    kind = "party"

    def __init__(self, model: PeaceModel, spec: dict[str, Any], idx: int):
        super().__init__(model, spec, idx)
        self.strength: float = spec["strength"]
        self.pain: float = spec["pain"]
        self.pain_tolerance: float = spec["pain_tolerance"]
        self.victory_belief: float = spec["victory_belief"]
        self.win_rate = rules.win_rate_for_belief(self.victory_belief)
        self.base_strength = self.strength
        self.start_strength = self.strength
        self.base_shift = 0.0
        self.hardliners: float = spec["hardliners"]
        self.grievances: float = spec["grievances"]
        self.proscribed: bool = spec["proscribed"]
        self.at_table: bool = spec["at_table"]
        # derived each month
        self.mhs = 0.0
        self.way_out = 0.0
        self.ripeness = 0.0
        self.eff_ripeness = 0.0
        self.low_months = 0
        # during an agreement
        self.signatory = False
        self.excluded = False
        self.genuine = 0.0
        self.pressured = 0.0
        self.commitment = 0.0

    def resolve(self, p) -> float:
        """How hard the party fights: more when it expects to win and hardliners dominate."""
        return (p.fight_intensity * (RESOLVE_BASE + RESOLVE_BELIEF * self.victory_belief)
                * (HARDLINE_BASE + HARDLINE_WEIGHT * self.hardliners))

    def shift_base(self, shock: float, volatility: float) -> None:
        """The battlefield shifts: outside support, defections or new weapons move the party's base
        strength, which reverts to its starting level over :data:`STRENGTH_SHOCK_MONTHS` (a strong
        side's dominance can erode; Zartman's precipice, Mason & Fett 1996)."""
        self.base_shift += volatility * shock - self.base_shift / STRENGTH_SHOCK_MONTHS
        b = self.start_strength + self.base_shift
        b = b if b > STRENGTH_FLOOR else STRENGTH_FLOOR
        self.base_strength = b if b < 1.0 else 1.0

    def fight(self, enemy_strength: float, u: float, p) -> None:
        """One month of battle (:func:`rules.battle`): belief in victory and strength follow the outcome."""
        self.strength, self.win_rate, self.victory_belief = rules.battle(
            self.strength, enemy_strength, self.base_strength, self.win_rate, u, p.battle_noise, p.victory_learning,
            p.strength_shift)

    def feel_pain(self, violence: float, pressure: float, p) -> None:
        exposure = p.war_cost_floor + (1.0 - p.war_cost_floor) * (EXPOSURE_CEILING - self.strength)
        self.pain = rules.update_pain(self.pain, violence, p.pain_per_violence, p.pain_decay, exposure, pressure)

    def perceive(self, mediator_trust: float, other_trust: float, incentives: float, option: float, p) -> None:
        """Ripeness as the party perceives it (Zartman): hurting stalemate and a way out
        (:func:`rules.perceived_ripeness`)."""
        self.mhs, self.way_out, r = rules.perceived_ripeness(
            self.pain, self.pain_tolerance, p.hurting_width, self.victory_belief, mediator_trust, other_trust,
            incentives, p.incentive_weight, option)
        self.ripeness = self.eff_ripeness = r

    def update_commitment(self, target: float, follow: float) -> None:
        """Genuine commitment drifts toward what its situation justifies; pressure fades without follow-through."""
        p = self.model.p
        self.genuine += p.commitment_drift * (target - self.genuine)
        self.pressured *= 1.0 - p.pressure_decay * (1.0 - follow)
        self.commitment = rules.clip01(self.genuine + self.pressured)

    def sign(self) -> None:
        """The party signs: its commitment is its ripeness, part of it genuine and part pressure.

        Concessions extracted by pressure strengthen the party's hardliners (seed 001: agreements
        signed under international pressure; Beardsley 2008)."""
        self.signatory, self.excluded = True, False
        self.genuine = self.ripeness
        self.pressured = self.eff_ripeness - self.ripeness
        self.commitment = self.eff_ripeness
        self.hardliners = min(1.0, self.hardliners + self.model.p.pressure_backlash * self.pressured)

    def stay_out(self) -> None:
        """The party is left out of an agreement: it may fight on as an armed spoiler (seed 001)."""
        self.signatory, self.excluded = False, True
        self.genuine = self.pressured = self.commitment = 0.0

    def agreement_ended(self) -> None:
        """The agreement broke down: no one is bound by it or excluded from it any more."""
        self.signatory = self.excluded = False
        self.commitment = self.genuine = self.pressured = 0.0
        self.eff_ripeness = self.ripeness


class Spoiler(Actor):
    """An actor who uses violence to obstruct the process (Stedman 1997)."""

    kind = "spoiler"

    def __init__(self, model: PeaceModel, spec: dict[str, Any], idx: int):
        super().__init__(model, spec, idx)
        self.type = SpoilerType(spec["type"])
        self.type_name: str = self.type.value
        self.inside: bool = spec["position"] == "inside"
        self.capacity: float = spec["capacity"]
        self.proscribed: bool = spec["proscribed"]
        # Willingness to attack: total spoilers want the process dead; limited ones want a seat.
        self.resolve = INITIAL_RESOLVE[self.type]
        self.diagnosed: SpoilerType | None = None
        self.diagnosed_by: tuple[int, int] | None = None
        self.diagnosed_month = -999

    def recruit(self, pull: float, local_strength: float, rate: float) -> None:
        """Capacity grows by recruiting among the excluded and shrinks where local mechanisms are
        strong. ``pull`` is RECRUITMENT_PULL · (grievance + 1 − public support), the same for every
        spoiler in a month."""
        if self.inside:
            return
        c = self.capacity
        c = c + rate * (pull * (1.0 - c) - local_strength * c)
        self.capacity = 0.0 if c < 0.0 else 1.0 if c > 1.0 else c

    def attack_chance(self, rate: float, fragility: float, boost: float) -> float:
        """Chance of an attack this month (:func:`rules.attack_probability` written out):
        ``fragility`` is ATTACK_TRUST_CEILING minus trust between the parties, ``boost`` the
        milestone boost at a milestone and 1 otherwise."""
        resolve = self.resolve * (INSIDE_RESOLVE if self.inside else 1.0)
        x = rate * resolve * (rules.ATTACK_CAPACITY_BASE + self.capacity) * fragility
        if boost != 1.0:
            x *= boost
        return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x

    def be_managed(self, strategy: str, leverage: float, effects: dict[str, float], u: float) -> str:
        """One month of a custodian's strategy: whether it works, backfires or does nothing depends
        on the true type and the spoiler's state (``u`` is the draw that decides). Returns the outcome."""
        works, misfire = rules.management_chances(strategy, self.type_name, self.capacity, leverage)
        outcome = "worked" if u < works else "backfired" if u < works + misfire else "no effect"
        dr, dc = rules.management_effect(strategy, outcome, effects)
        self.resolve = rules.clip01(self.resolve + dr)
        self.capacity = rules.clip01(self.capacity + dc)
        return outcome


class ThirdParty(Actor):
    """What mediators and diplomats share: a post held by a person with a tenure, and funding."""

    rotates = True

    def __init__(self, model: PeaceModel, spec: dict[str, Any], idx: int, tenure: int, *, arriving: bool = False):
        super().__init__(model, spec, idx)
        self.tenure = tenure
        if arriving:
            # A third party that joins a running process arrives new to the context.
            self.months_in_post = 0
            self.start_knowledge = model.p.newcomer_knowledge
        else:
            # Incumbents are at staggered points of their posting when the run starts.
            self.months_in_post = model.streams.setup.randrange(tenure) if self.rotates else 0
            self.start_knowledge = 1.0  # context knowledge the person in post arrived with
        self.knowledge = self.start_knowledge
        self.person = 1
        self.withdrawn = False  # left the field for good (an intervention)
        self.stream = -1  # index in the model's funding streams
        self.leverage = 0.0
        self.bias_toward: int | None = None  # index of a party
        self.bias = 0.0
        self.talks_to_proscribed = False
        self.skill = 0.0
        self.cooldown = 0  # months before this third party may propose talks again

    @property
    def active(self) -> bool:
        """Funded (not in a funding gap) and therefore able to act this month."""
        return bool(self.model.funding.funded[self.stream])

    def can_talk_to(self, actor: Actor) -> bool:
        return self.talks_to_proscribed or not getattr(actor, "proscribed", False)

    def serve(self, ramp_months: int) -> bool:
        """Advance a month in post: context knowledge grows from what the person arrived with to 1
        over ``ramp_months`` (:func:`rules.context_knowledge`). Returns True when the tenure is
        over and the person rotates."""
        n = self.months_in_post = self.months_in_post + 1
        if ramp_months <= 0 or n >= ramp_months:
            self.knowledge = 1.0
        else:
            self.knowledge = self.start_knowledge + (1.0 - self.start_knowledge) * n / ramp_months
        return self.rotates and n >= self.tenure

    def effectiveness(self, party_trust: float) -> float:
        """How much the third party moves a process: skill, context knowledge and the parties' trust."""
        return rules.clip01(self.skill * self.knowledge * (EFFECTIVENESS_BASE + party_trust))

    def estimate_error(self, joint: float) -> float:
        """Standard deviation of its ripeness estimates; joint analysis shares information."""
        p = self.model.p
        return p.estimate_error * (1.0 - SKILL_ERROR_WEIGHT * self.skill * self.knowledge) * (1.0 - joint)

    def rotate(self) -> None:
        """A successor takes the post with reduced context knowledge; a good handover briefs them
        (relationships: model.rotate)."""
        p = self.model.p
        self.months_in_post = 0
        self.person += 1
        self.start_knowledge = rules.arrival_knowledge(p.newcomer_knowledge, p.handover_quality, p.handover_overlap,
                                                       p.context_ramp_months)
        self.knowledge = self.start_knowledge


class Mediator(ThirdParty):
    """A mediating organisation (UN, state, regional, NGO, insider) represented by an envoy."""

    kind = "mediator"
    tenure_param = "tenure_mediator"

    def __init__(self, model: PeaceModel, spec: dict[str, Any], idx: int, *, arriving: bool = False):
        d = MEDIATOR_KIND_DEFAULTS[spec["kind"]]
        self.rotates = d["rotates"]
        super().__init__(model, spec, idx, model.p.tenure_mediator, arriving=arriving)
        self.org_kind: str = spec["kind"]
        self.skill: float = spec["skill"]
        self.leverage = d["leverage"] if spec["leverage"] < 0 else spec["leverage"]
        self.bias = spec["bias"]
        self.track: int = spec["track"]
        self.style: str = spec["style"]
        ttp = spec["talks_to_proscribed"]
        self.talks_to_proscribed = d["talks_to_proscribed"] if ttp == "default" else ttp == "yes"
        funding = spec["funding"]
        self.core_funded = (d["funding"] if funding == "default" else funding) == "core"
        self.links_local: bool = spec["links_local"] or self.track >= 2
        self.lead: bool = spec["lead"]


class Diplomat(ThirdParty):
    """A state's representative not mandated to mediate: pressure, incentives, support, guarantees."""

    kind = "diplomat"
    tenure_param = "tenure_diplomat"

    def __init__(self, model: PeaceModel, spec: dict[str, Any], idx: int, *, arriving: bool = False):
        super().__init__(model, spec, idx, model.p.tenure_diplomat, arriving=arriving)
        self.leverage = spec["leverage"]
        self.bias = spec["bias"]
        self.quasi: bool = spec["role"] == "quasi_mediator"
        self.talks_to_proscribed = spec["talks_to_proscribed"]
        self.pressure_share: float = spec["pressure"]
        self.core_funded = True
        self.skill = DIPLOMAT_SKILL  # a diplomat running its own initiative mediates with modest skill
        self.style = "leverage"
        self.lead = False


class LocalMechanism(Actor):
    """A local conflict-resolution mechanism. Its state lives in the model's arrays (vectorised)."""

    kind = "local"

    def __init__(self, model: PeaceModel, spec: dict[str, Any], idx: int, li: int):
        super().__init__(model, spec, idx)
        self.li = li  # index in the model's local arrays

    @property
    def capacity(self) -> float:
        return float(self.model.local.capacity[self.li])

    @property
    def linked(self) -> bool:
        return bool(self.model.local.linked[self.li])

    @property
    def funded(self) -> bool:
        return bool(self.model.local.funded_now[self.li])

    @property
    def protected(self) -> bool:
        return bool(self.model.local.protected[self.li])
