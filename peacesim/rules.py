"""The model's arithmetic as plain functions, testable without a model.

Each function is one rule of docs/ODD.md section 7 and cites its source there. Inputs and outputs
are plain floats (or numpy arrays where noted); probabilities and trust stay in [0, 1].
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "pairwise_sum",
    "clip01",
    "hurting",
    "mutually_hurting_stalemate",
    "way_out",
    "ripeness",
    "acceptance",
    "talks_crisis_probability",
    "defection_probability",
    "effective_ripeness",
    "battle_win_probability",
    "battle",
    "perceived_ripeness",
    "update_win_rate",
    "victory_belief",
    "win_rate_for_belief",
    "update_pain",
    "drift_toward",
    "retained_share",
    "handover",
    "arrival_knowledge",
    "context_knowledge",
    "support_gain",
    "coordination_efficiency",
    "diluted_leverage",
    "attack_probability",
    "management_chances",
    "management_effect",
    "commitment_target",
    "violation_probability",
    "saturating",
]


# Fixed constants of the rules (docs/ODD.md section 7 lists them with each submodel).
#: Way out (Zartman): a trusted mediator with a channel weighs more than trust in the other side,
#: and a draft text on the table makes the way out concrete (ODD 7.1).
MEDIATOR_CHANNEL_WEIGHT = 0.6
OTHER_SIDE_WEIGHT = 0.4
DRAFT_TEXT_WEIGHT = 0.5
#: Belief in victory of a party that wins half its battles (a stalemate), and how steeply the
#: belief follows its win rate (Mason & Fett 1996; ODD 7.1).
STALEMATE_BELIEF = 0.3
BELIEF_SLOPE = 3.0
#: Coordination load: a contact group shares the lead's load (0.7 of it); in a network every pair
#: must agree, n/4 pairs per member (seed 003, Rationale; ODD 7.5).
CONTACT_GROUP_LOAD = 0.7
NETWORK_PAIR_DIVISOR = 4.0
#: Attack chance: even a weak group can strike (a base added to capacity), and attacks come more
#: when trust between the parties is fragile (Kydd & Walter 2002; ODD 7.6).
ATTACK_CAPACITY_BASE = 0.3
ATTACK_TRUST_CEILING = 1.5
#: A signatory's genuine commitment: trust in the other side and grievances addressed weigh
#: equally; an offset, and a drag by hardliners (Walter 2002; seed 001; ODD 7.9).
COMMITMENT_TRUST_WEIGHT = 0.5
COMMITMENT_ADDRESSED_WEIGHT = 0.5
COMMITMENT_OFFSET = 0.25
HARDLINER_DRAG = 0.3
#: Handover (ODD 7.3): share of the personal capital still at stake that a month of overlap
#: passes on by introductions, and the share of context knowledge that can be written down.
INTRODUCTION_RATE = 0.3
EXPLICIT_KNOWLEDGE_SHARE = 0.6
#: Battle (ODD 7.1): monthly pull of strength back toward the party's base (recruitment and
#: resupply), and the floor below which no side is reduced.
STRENGTH_RECOVERY = 0.05
STRENGTH_FLOOR = 0.05
#: Violations: even a party without hardliners violates at half the rate (ODD 7.9).
VIOLATION_HARDLINER_BASE = 0.5
#: Defection: even a party that expects no victory may defect, at half the rate of one sure of it (ODD 7.9).
DEFECTION_BELIEF_BASE = 0.5


def pairwise_sum(values, lo: int = 0, n: int | None = None) -> float:
    """The sum of ``values`` added in the order numpy's ``add.reduce`` adds a float64 array.

    numpy sums pairwise with an eight-way unrolled inner loop; a rule computed on Python floats
    with this sum gives the same bits as the same rule on an array, so the model can keep its
    small vectors as lists (a numpy call costs more than the arithmetic on a dozen floats).
    """
    if n is None:
        n = len(values)
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += values[i]
        return res
    if n <= 128:
        r0, r1, r2, r3, r4, r5, r6, r7 = values[lo:lo + 8]
        i = 8
        end = n - n % 8
        while i < end:
            k = lo + i
            r0 += values[k]
            r1 += values[k + 1]
            r2 += values[k + 2]
            r3 += values[k + 3]
            r4 += values[k + 4]
            r5 += values[k + 5]
            r6 += values[k + 6]
            r7 += values[k + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += values[lo + i]
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return pairwise_sum(values, lo, half) + pairwise_sum(values, lo + half, n - half)


def clip01(x: float) -> float:
    """Clip a number to [0, 1]."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def saturating(x: float, rate: float = 1.0) -> float:
    """``1 - exp(-rate * x)``: a quantity that grows with ``x`` and saturates at 1."""
    return 1.0 - math.exp(-rate * x) if x > 0 else 0.0


def logistic(z: float) -> float:
    """``1 / (1 + exp(-z))``, exactly 0 or 1 beyond |z| > 40 (where it is so to double precision)."""
    if z > 40:
        return 1.0
    if z < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-z))


# --- ripeness (Zartman 2000; seed 003 note 21) ---------------------------------------------------
def hurting(pain: float, tolerance: float, width: float) -> float:
    """How much the stalemate hurts: a logistic switch as pain passes the party's tolerance."""
    return logistic((pain - tolerance) / width)


def mutually_hurting_stalemate(pain: float, tolerance: float, width: float, victory_belief: float) -> float:
    """Perceived mutually hurting stalemate: it hurts *and* the party no longer expects to win."""
    return hurting(pain, tolerance, width) * (1.0 - victory_belief)


def way_out(mediator_trust: float, other_trust: float, incentives: float, incentive_weight: float,
            option: float = 0.0) -> float:
    """Perceived way out: a trusted mediator with a channel, trust in the other side, incentives.

    The mediator channel weighs most (a credible negotiated option needs someone to carry it);
    diplomats' incentives add a share ``incentive_weight``. ``option`` is how far a negotiated
    text already exists (negotiation progress): a draft on the table makes the way out concrete.
    """
    base = MEDIATOR_CHANNEL_WEIGHT * mediator_trust + OTHER_SIDE_WEIGHT * other_trust
    w = clip01((1.0 - incentive_weight) * base + incentive_weight * incentives)
    return w + DRAFT_TEXT_WEIGHT * clip01(option) * (1.0 - w)


def ripeness(mhs: float, wayout: float) -> float:
    """Ripeness needs both a hurting stalemate and a way out: their geometric mean."""
    return math.sqrt(clip01(mhs) * clip01(wayout))


def perceived_ripeness(pain: float, tolerance: float, width: float, victory_belief: float, mediator_trust: float,
                       other_trust: float, incentives: float, incentive_weight: float,
                       option: float) -> tuple[float, float, float]:
    """A party's month of perception (Zartman 2000): ``(mhs, way_out, ripeness)``.

    The same arithmetic as :func:`mutually_hurting_stalemate`, :func:`way_out` and
    :func:`ripeness` composed, written out in one function because every party perceives every
    month (a function call costs as much as the arithmetic here)."""
    z = (pain - tolerance) / width
    hurt = 1.0 if z > 40 else 0.0 if z < -40 else 1.0 / (1.0 + math.exp(-z))
    mhs = hurt * (1.0 - victory_belief)
    w = ((1.0 - incentive_weight) * (MEDIATOR_CHANNEL_WEIGHT * mediator_trust + OTHER_SIDE_WEIGHT * other_trust)
         + incentive_weight * incentives)
    w = 0.0 if w < 0.0 else 1.0 if w > 1.0 else w
    o = 0.0 if option < 0.0 else 1.0 if option > 1.0 else option
    wo = w + DRAFT_TEXT_WEIGHT * o * (1.0 - w)
    a = 0.0 if mhs < 0.0 else 1.0 if mhs > 1.0 else mhs
    b = 0.0 if wo < 0.0 else 1.0 if wo > 1.0 else wo
    return mhs, wo, math.sqrt(a * b)


def acceptance(r: float, threshold: float, spread: float) -> float:
    """Chance that a party with perceived ripeness ``r`` says yes this month (to an invitation to
    talks, or to signing a ready text): a logistic curve, one half at ``threshold``.

    Ripeness makes the step likelier without deciding it (Zartman 2000: ripeness is necessary but
    not sufficient; parties also come to the table for other reasons, and ripe parties may still
    refuse)."""
    return logistic((r - threshold) / spread)


def talks_crisis_probability(hazard: float, trust: float, hardliners: float, attacks: int, parties: int) -> float:
    """Monthly chance that talks break down over a crisis.

    Crises come more where the parties distrust each other and hardliners are strong, in a month
    with spoiler attacks (Kydd & Walter 2002: violence by extremists derails talks where trust is
    low), and with more parties at the table, each a veto player (Cunningham 2006)."""
    return clip01(hazard * (1.0 - clip01(trust)) * (1.0 + hardliners) * (1.0 + attacks) * max(1, parties - 1))


def defection_probability(commitment: float, hardliners: float, rate: float, deterrence: float, victory_belief: float) -> float:
    """Monthly chance that hardliners take a signatory out of the agreement.

    The commitment problem (Walter 2002): a party defects when its commitment has eroded, its
    hardliners are strong, it still believes it could win by fighting (Mason & Fett 1996), and no
    guarantor or verification deters it."""
    return clip01(rate * (1.0 - commitment) * hardliners * (DEFECTION_BELIEF_BASE + victory_belief) * (1.0 - deterrence))


def effective_ripeness(r: float, push: float) -> float:
    """Ripeness as it acts at the table once a mediator's leverage ``push`` (0..1) is added.

    Leverage closes part of the gap to full ripeness: it is artificial, and the difference between
    the result and ``r`` is the share of commitment that came from pressure (Beardsley 2008).
    """
    return r + clip01(push) * (1.0 - r)


# --- fighting ------------------------------------------------------------------------------------
def battle_win_probability(strength: float, enemy_strength: float, noise: float) -> float:
    """Chance of winning a month's fighting: the strength ratio, blurred by ``noise``."""
    total = strength + enemy_strength
    ratio = 0.5 if total <= 0 else strength / total
    return 0.5 * noise + (1.0 - noise) * ratio


def update_win_rate(win_rate: float, won: bool, learning: float) -> float:
    """The party's running estimate of how often it wins, updated by the month's battle outcome."""
    return win_rate + learning * ((1.0 if won else 0.0) - win_rate)


def victory_belief(win_rate: float) -> float:
    """Belief in military victory from the perceived win rate (Mason & Fett 1996).

    In a stalemate (winning half the time) a party has little expectation of victory (0.3); a run of
    successes raises it steeply, a run of defeats removes it.
    """
    return clip01(STALEMATE_BELIEF + BELIEF_SLOPE * (win_rate - 0.5))


def battle(strength: float, enemy_strength: float, base_strength: float, win_rate: float, u: float, noise: float,
           learning: float, shift: float) -> tuple[float, float, float]:
    """One party's month of fighting (Mason & Fett 1996): ``(strength, win_rate, victory_belief)``
    after the battle it wins when ``u`` falls below :func:`battle_win_probability`.

    The win rate learns from the outcome (:func:`update_win_rate`) and belief in victory follows it
    (:func:`victory_belief`); gains and losses shift strength by ``shift``, and recruitment and
    resupply pull it back toward ``base_strength`` (:data:`STRENGTH_RECOVERY`), never below
    :data:`STRENGTH_FLOOR` nor above 1. One function because every party fights every month."""
    total = strength + enemy_strength
    ratio = 0.5 if total <= 0 else strength / total
    won = u < 0.5 * noise + (1.0 - noise) * ratio
    win_rate = win_rate + learning * ((1.0 if won else 0.0) - win_rate)
    b = STALEMATE_BELIEF + BELIEF_SLOPE * (win_rate - 0.5)
    belief = 0.0 if b < 0.0 else 1.0 if b > 1.0 else b
    strength += (shift if won else -shift) + STRENGTH_RECOVERY * (base_strength - strength)
    strength = strength if strength > STRENGTH_FLOOR else STRENGTH_FLOOR
    return (strength if strength < 1.0 else 1.0), win_rate, belief


def win_rate_for_belief(belief: float) -> float:
    """Inverse of :func:`victory_belief` on its rising part: the win rate that gives ``belief``."""
    return 0.5 + (belief - STALEMATE_BELIEF) / BELIEF_SLOPE


def update_pain(pain: float, violence: float, per_violence: float, decay: float, exposure: float, pressure: float) -> float:
    """Accumulated pain: fades by ``decay``, grows with violence (weighted by ``exposure``) and pressure."""
    x = pain * (1.0 - decay) + per_violence * violence * exposure + pressure
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


# --- trust ---------------------------------------------------------------------------------------
def drift_toward(trust: np.ndarray, baseline: float, rate: float) -> None:
    """Pull a trust matrix toward ``baseline`` in place: relationships fade without contact."""
    trust += rate * (baseline - trust)


def retained_share(institutional_share: float, team_continuity: float, overlap_months: int) -> float:
    """Share of a third party's relationship capital that survives a change of person.

    Relationships are personal and cannot be written into handover notes (seed 003, challenge 2:
    "trust may need to be built all over again"). The institution's share always stays; of the
    personal share, the team members who stay keep theirs (``team_continuity``), and each month
    the predecessor and successor overlap, the predecessor introduces the successor and passes on
    :data:`INTRODUCTION_RATE` of what is still at stake (vouching: trust in a newcomer follows
    trust in whoever introduces them).
    """
    lost = (1.0 - team_continuity) * (1.0 - INTRODUCTION_RATE) ** max(0, overlap_months)
    return institutional_share + (1.0 - institutional_share) * (1.0 - lost)


def handover(trust: np.ndarray, baseline: float, share: float) -> np.ndarray:
    """Trust toward (or from) a rotated post: only ``share`` of the capital above baseline remains."""
    return baseline + share * (trust - baseline)


def arrival_knowledge(newcomer: float, notes: float, overlap_months: int, ramp_months: int) -> float:
    """Context knowledge a successor has when taking over.

    Handover notes pass on the explicit part of what the predecessor knew, as far as they are
    complete (``notes``); tacit knowledge (:data:`EXPLICIT_KNOWLEDGE_SHARE` is the explicit part)
    comes only with time in the context, and the months of overlap count as such time (seed 003,
    challenge 2: institutional memory lost with staff turnover)."""
    briefed = newcomer + (1.0 - newcomer) * EXPLICIT_KNOWLEDGE_SHARE * notes
    return context_knowledge(max(0, overlap_months), briefed, ramp_months)


def context_knowledge(months_in_post: int, newcomer: float, ramp_months: int) -> float:
    """Context knowledge grows linearly from ``newcomer`` to 1 over ``ramp_months``."""
    if ramp_months <= 0 or months_in_post >= ramp_months:
        return 1.0
    return newcomer + (1.0 - newcomer) * months_in_post / ramp_months


# --- coordination (seed 003; Böhmelt 2011; Menninga 2020) ------------------------------------------
def support_gain(lead: float, supporters: float, returns: float) -> float:
    """Effectiveness of a process led at ``lead`` with supporting effort ``supporters``.

    Supporting mediators close part of the lead's gap to full effectiveness with diminishing returns.
    """
    return lead + (1.0 - lead) * saturating(supporters, returns)


def coordination_efficiency(n: int, cost: float, strategy: str, exponent: float = 1.0) -> float:
    """Share of effort left after the cost of coordinating ``n`` mediators.

    The load grows as ``(n - 1) ** exponent`` under a hierarchical lead; a contact group shares it
    (0.7 of that); network coordination needs every pair to agree, so its load is multiplied by
    ``n / 4`` (the pairs per member). No coordination costs nothing here (its costs are forum
    shopping, leaks and diluted leverage).
    """
    if n <= 1 or strategy == "none":
        return 1.0
    load = float(n - 1) ** exponent
    if strategy == "network":
        load *= n / NETWORK_PAIR_DIVISOR
    elif strategy == "contact_group":
        load *= CONTACT_GROUP_LOAD
    return 1.0 / (1.0 + cost * load)


def diluted_leverage(leverage: float, competing_tables: int, dilution: float) -> float:
    """Leverage left to a mediator when parties can play ``competing_tables`` other tables against it."""
    return leverage / (1.0 + dilution * max(0, competing_tables))


# --- spoilers (Stedman 1997; Kydd & Walter 2002) ---------------------------------------------------
def attack_probability(rate: float, capacity: float, resolve: float, milestone: bool, boost: float, trust: float) -> float:
    """Monthly chance of a spoiler attack.

    Attacks need capacity and resolve, cluster around milestones, and come more when trust between
    the parties is fragile (Kydd & Walter 2002).
    """
    p = rate * resolve * (ATTACK_CAPACITY_BASE + capacity) * (ATTACK_TRUST_CEILING - trust)
    if milestone:
        p *= boost
    return clip01(p)


# How each Stedman (1997) type responds to each strategy: (chance the strategy works, chance it
# misfires when it does not work), before the spoiler's state and the custodian's leverage.
# Inducement works on limited spoilers, partly on greedy ones, and emboldens total spoilers, who
# read it as weakness and turn the resources against the process; socialization works on greedy
# ones; coercion is for total spoilers and alienates limited ones.
_RESPONSE = {
    ("inducement", "limited"): (0.9, 0.0),
    ("inducement", "greedy"): (0.6, 0.1),
    ("inducement", "total"): (0.05, 0.7),
    ("socialization", "limited"): (0.6, 0.0),
    ("socialization", "greedy"): (0.8, 0.0),
    ("socialization", "total"): (0.05, 0.2),
    ("coercion", "limited"): (0.3, 0.5),
    ("coercion", "greedy"): (0.6, 0.2),
    ("coercion", "total"): (0.8, 0.1),
}
STRATEGY_FOR_TYPE = {"limited": "inducement", "greedy": "socialization", "total": "coercion"}
#: A spoiler that feels strong is less receptive: the chance of success falls by this share at full capacity.
CAPACITY_DEFIANCE = 0.5


def management_chances(strategy: str, true_type: str, capacity: float, leverage: float) -> tuple[float, float]:
    """Chances that one month of a custodian's strategy works and that it backfires.

    The response depends on the spoiler's true type (Stedman 1997), on its state (a spoiler with
    much capacity expects to get more by violence and is less receptive) and, for coercion, on
    the custodian's leverage (coercion needs the means to coerce)."""
    works, misfire = _RESPONSE[(strategy, true_type)]
    works *= 1.0 - CAPACITY_DEFIANCE * clip01(capacity)
    if strategy == "coercion":
        works *= clip01(leverage)
    return works, (1.0 - works) * misfire


def management_effect(strategy: str, outcome: str, effects: dict[str, float]) -> tuple[float, float]:
    """Change in a spoiler's (resolve, capacity) after a month of ``strategy`` that ``worked``,
    ``backfired`` or did nothing.

    ``effects`` holds the registry's sizes: inducement, socialization, coercion and backfire.
    Coercion that works cuts capacity, the other strategies resolve; a misfire stiffens resolve,
    and a misfired inducement also hands the spoiler resources (capacity)."""
    if outcome == "worked":
        return (0.0, -effects["coercion"]) if strategy == "coercion" else (-effects[strategy], 0.0)
    if outcome == "backfired":
        b = effects["backfire"]
        return (b, b) if strategy == "inducement" else (b, 0.0)
    return 0.0, 0.0


# --- implementation (Walter 2002; Fortna 2008; seed 001) -------------------------------------------
def commitment_target(trust_other: float, addressed: float, public_support: float, hardliners: float, support_weight: float) -> float:
    """Genuine commitment a signatory's situation justifies.

    Trust in the other side and grievances addressed by implementation carry it; public support
    and a sense of inclusion (civil society, local mechanisms) buffer it; hardliners pull it down.
    """
    core = COMMITMENT_TRUST_WEIGHT * trust_other + COMMITMENT_ADDRESSED_WEIGHT * addressed
    return clip01((1.0 - support_weight) * core + support_weight * public_support + COMMITMENT_OFFSET
                  - HARDLINER_DRAG * hardliners)


def violation_probability(commitment: float, hardliners: float, propensity: float, deterrence: float) -> float:
    """Monthly chance a signatory violates: low commitment, hardliners, and no one to deter it."""
    return clip01(propensity * (1.0 - commitment) * (VIOLATION_HARDLINER_BASE + hardliners) * (1.0 - deterrence))
