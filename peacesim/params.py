"""The parameter registry: every model parameter and actor attribute is declared here, once.

Scenario validation, the command line's ``--set`` overrides, sweeps and sensitivity problems all
read this module; nothing else states a default or a bound. Each entry says what the number means,
its unit and where the rule that uses it comes from (see docs/ODD.md for the functional forms).
"""

from __future__ import annotations

import difflib
import math
import numbers
from dataclasses import dataclass
from typing import Any

from .errors import InputError

__all__ = [
    "Param",
    "Typed",
    "check",
    "REGISTRY",
    "ACTOR_FIELDS",
    "ACTOR_KINDS",
    "MEDIATOR_KIND_DEFAULTS",
    "COORDINATION_STRATEGIES",
    "coerce",
    "defaults",
    "parse_assignment",
    "did_you_mean",
]

COORDINATION_STRATEGIES = ("none", "hierarchical", "network", "contact_group")


class Typed(str):
    """Text typed on the command line (``--set``, ``--months``, ``--intervene``) or given as a
    ``name=value`` text: the only text that is read as a number or as true/false.

    A TOML file and Python have numbers and booleans of their own, so there a quoted number
    (``months = "120"``, ``{"handover_quality": "0.8"}``) is refused, with a hint, rather than read
    one way in one place and refused in another.
    """

    __slots__ = ()


@dataclass(frozen=True)
class Param:
    """One declared parameter: name, default, bounds, unit and meaning.

    ``kind`` is one of ``float``, ``int``, ``bool``, ``choice`` or ``str``. For numbers, ``low`` and
    ``high`` are inclusive bounds, and ``marker`` is ``(value, meaning)`` for one value outside
    them that stands for something else (a mediator's leverage of -1: its kind's default); for
    choices, ``choices`` lists the allowed values.
    """

    name: str
    default: Any
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    unit: str = ""
    meaning: str = ""
    choices: tuple = ()
    group: str = ""
    required: bool = False
    marker: tuple | None = None

    def allowed(self) -> str:
        """A short human description of the allowed values."""
        if self.kind in ("float", "int"):
            word = "a number" if self.kind == "float" else "a whole number"
            also = f"{_fmt(self.marker[0])} ({self.marker[1]}) or " if self.marker else ""
            return f"{also}{word} from {_fmt(self.low)} to {_fmt(self.high)}"
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        return "a text"


def _fmt(x: float | None) -> str:
    if x is None:
        return "?"
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _p(name, default, low=None, high=None, unit="", meaning="", group="", kind=None, choices=()):
    if kind is None:
        if isinstance(default, bool):
            kind = "bool"
        elif isinstance(default, int):
            kind = "int"
        elif isinstance(default, float):
            kind = "float"
        else:
            kind = "choice" if choices else "str"
    return Param(name, default, kind, low, high, unit, meaning, tuple(choices), group)


# ---------------------------------------------------------------------------------------------
# Model-wide parameters, grouped by topic (docs/ODD.md section 8 lists them).
# ---------------------------------------------------------------------------------------------
_GLOBALS = [
    # time
    _p("months", 240, 12, 2400, "months", "simulation horizon; one step is one month", "time"),
    _p("followup_months", 120, 12, 600, "months",
       "months an agreement is followed; one that survives them counts as consolidated peace", "time"),
    # conflict and battle
    _p("fight_intensity", 0.6, 0.0, 1.0, "share", "violence a party produces when fighting at full resolve", "conflict"),
    _p("battle_noise", 0.2, 0.0, 1.0, "share", "randomness of a month's battle outcome around the strength ratio", "conflict"),
    _p("victory_learning", 0.03, 0.0, 1.0, "1/month", "weight of a month's battle outcome in a party's belief in victory", "conflict"),
    _p("strength_shift", 0.01, 0.0, 0.1, "1/month", "strength a party gains from winning a month's fighting (and loses from losing it)", "conflict"),
    _p("pain_per_violence", 0.09, 0.0, 0.5, "1/month", "pain a party accumulates per month of full-scale violence", "conflict"),
    _p("pain_decay", 0.0283, 0.0, 0.5, "1/month", "share of accumulated pain that fades each month", "conflict"),
    _p("war_cost_floor", 0.3, 0.0, 1.0, "share", "share of the costs of fighting every side bears whatever its strength "
       "(casualties, the economy, domestic opposition); the rest falls on the weaker side", "conflict"),
    _p("battlefield_volatility", 0.02, 0.0, 0.2, "1/month", "standard deviation of the monthly shock to a party's "
       "base strength (outside support, defections, new weapons), which reverts over two years", "conflict"),
    _p("local_violence_base", 0.15, 0.0, 1.0, "share", "local violence when no local mechanism resolves disputes", "conflict"),
    # ripeness (Zartman)
    _p("ripeness_threshold", 0.459, 0.05, 0.95, "share", "perceived ripeness at which a party accepts an invitation to talks with even chance", "ripeness"),
    _p("ripeness_spread", 0.06, 0.005, 0.5, "share", "how gradually the chance of accepting talks or signing rises with ripeness (logistic scale)", "ripeness"),
    _p("hurting_width", 0.08, 0.01, 0.5, "share", "softness of the pain-above-tolerance switch in the hurting stalemate", "ripeness"),
    _p("breakdown_ripeness", 0.25, 0.0, 0.9, "share", "ripeness below which a party at the table starts to walk away", "ripeness"),
    _p("breakdown_months", 6, 1, 36, "months", "months a party stays below breakdown ripeness before talks collapse", "ripeness"),
    _p("talks_hazard", 0.0355, 0.0, 0.5, "1/month", "monthly chance that talks break down over a crisis, at no trust between the parties, "
       "no hardliners and two parties at the table; rises with distrust, hardliners, attacks and parties", "ripeness"),
    _p("proposal_cooldown", 9, 1, 36, "months", "months a mediator waits after a proposal before making another", "ripeness"),
    _p("estimate_error", 0.15, 0.0, 0.5, "share", "standard deviation of the error in estimating ripeness at zero skill and context knowledge", "ripeness"),
    # trust
    _p("trust_baseline", 0.306, 0.0, 1.0, "share", "trust level that relationships drift toward without contact", "trust"),
    _p("trust_drift", 0.02, 0.0, 0.5, "1/month", "monthly pull of trust toward the baseline", "trust"),
    _p("facilitation_gain", 0.0125, 0.0, 0.1, "1/month", "trust a skilled, funded mediator builds per month by facilitation and shuttling", "trust"),
    _p("premature_proposal_cost", 0.15, 0.0, 1.0, "share", "trust a party loses in a mediator whose proposal comes before it is ripe", "trust"),
    _p("attack_trust_cost", 0.08, 0.0, 1.0, "share", "trust between parties lost to one spoiler attack that nobody can attribute", "trust"),
    _p("violation_trust_cost", 0.08, 0.0, 1.0, "share", "trust lost in a signatory that violates the agreement", "trust"),
    _p("compliance_gain", 0.005, 0.0, 0.1, "1/month", "trust gained per month in a signatory that keeps its commitments", "trust"),
    _p("bias_trust_cost", 0.01, 0.0, 0.1, "1/month", "trust lost per month in a third party biased toward the other side, per unit bias", "trust"),
    _p("institutional_share", 0.35, 0.0, 1.0, "share", "share of a third party's relationship capital that belongs to its institution, not the person", "trust"),
    # staff rotation
    _p("tenure_mediator", 36, 3, 600, "months", "months a mediator's envoy stays in post before rotating", "rotation"),
    _p("tenure_diplomat", 36, 3, 600, "months", "months a diplomat's posting lasts before rotating", "rotation"),
    _p("handover_quality", 0.4, 0.0, 1.0, "share", "completeness of the handover notes: share of the predecessor's explicit context knowledge written down for the successor", "rotation"),
    _p("handover_overlap", 1, 0, 12, "months", "months predecessor and successor overlap in post, the predecessor introducing the successor to the parties", "rotation"),
    _p("team_continuity", 0.2, 0.0, 1.0, "share", "share of the envoy's team that stays through a rotation, keeping its own relationships with the parties", "rotation"),
    _p("newcomer_knowledge", 0.4, 0.0, 1.0, "share", "context knowledge of a newly arrived envoy or diplomat", "rotation"),
    _p("context_ramp_months", 8, 0, 48, "months", "months for a newcomer's context knowledge to grow back to full", "rotation"),
    # funding
    _p("grant_length", 12, 1, 120, "months", "length of a project grant", "funding"),
    _p("renewal_probability", 0.75, 0.0, 1.0, "probability", "chance a grant is renewed without a gap", "funding"),
    _p("gap_months", 6.0, 0.0, 36.0, "months", "mean length of a funding gap when a grant is not renewed at once", "funding"),
    _p("post_signature_support", 0.6, 0.0, 1.0, "share", "factor on the renewal chance once an agreement is signed (support thins)", "funding"),
    _p("contingency_fund", 0.0, 0.0, 1.0, "probability", "chance that a contingency fund bridges a funding gap", "funding"),
    _p("coordination_earmark", 0.0, 0.0, 1.0, "share", "share of coordination costs covered by money earmarked for coordination", "funding"),
    _p("gap_trust_decay", 0.04, 0.0, 0.5, "1/month", "extra monthly decay of an unfunded actor's relationships", "funding"),
    # coordination of parallel mediators
    _p("coordination", "hierarchical", meaning="how parallel mediators coordinate", group="coordination",
       kind="choice", choices=COORDINATION_STRATEGIES),
    _p("mediators", 0, 0, 80, "count", "number of mediators: 0 keeps the scenario's list; n takes the first n, "
       "cycling through the list with numbered copies when it is shorter", "coordination"),
    _p("coordination_cost", 0.08, 0.0, 0.5, "share", "effectiveness lost per additional coordinated mediator (meetings, consensus)", "coordination"),
    _p("coordination_exponent", 1.75, 0.5, 3.0, "exponent", "how steeply the coordination load grows with the number of mediators", "coordination"),
    _p("support_returns", 0.6, 0.0, 5.0, "1/mediator", "how fast the gain from supporting mediators saturates", "coordination"),
    _p("forum_shopping", 0.25, 0.0, 1.0, "probability", "monthly chance that a party facing a hard moment moves to another table", "coordination"),
    _p("leverage_dilution", 0.35, 0.0, 1.0, "share", "loss of a mediator's leverage per competing uncoordinated table", "coordination"),
    _p("leak_risk", 0.02, 0.0, 0.2, "probability", "monthly chance, per extra negotiating table, that talks leak in their first six months", "coordination"),
    _p("contradiction", 0.3, 0.0, 2.0, "share", "rise in the chance of implementation disputes per parallel uncoordinated table", "coordination"),
    _p("joint_analysis", 0.3, 0.0, 1.0, "share", "how far joint conflict analysis cuts errors in estimating ripeness and spoiler types", "coordination"),
    _p("lead_rotation_setback", 0.3, 0.0, 1.0, "share", "share of negotiation progress lost when a hierarchical lead rotates, before handover", "coordination"),
    # negotiation and agreements
    _p("negotiation_rate", 0.179, 0.0, 0.5, "1/month", "negotiation progress per month at full ripeness and full mediator effectiveness", "agreement"),
    _p("leverage_push", 0.35, 0.0, 1.0, "share", "share of the gap to full ripeness a leverage-heavy table closes at full leverage for a party wholly dependent on it (times 1 - strength) by pressure and inducements", "agreement"),
    _p("sign_threshold", 0.35, 0.0, 1.0, "share", "ripeness (with pressure) at which a party signs a ready text with even chance in a month", "agreement"),
    _p("pressure_backlash", 1.0, 0.0, 2.0, "ratio", "rise in a signatory's hardliner share per unit of commitment that came from pressure", "agreement"),
    _p("specificity", 0.5, 0.0, 1.0, "share", "how specific agreements are (versus constructively ambiguous)", "agreement"),
    _p("power_sharing", 0.5, 0.0, 1.0, "share", "how far agreements share power, addressing grievances of the weaker side", "agreement"),
    _p("verification", False, meaning="agreements include a verification mechanism that attributes violations and attacks", group="agreement"),
    _p("guarantee", False, meaning="a third party guarantees agreements (the strongest diplomat in post)", group="agreement"),
    # implementation and relapse
    _p("implementation_rate", 0.04, 0.0, 0.3, "1/month", "implementation progress per month at full commitment and support", "implementation"),
    _p("dispute_rate", 0.08, 0.0, 1.0, "probability", "monthly chance of an implementation dispute for a fully ambiguous agreement", "implementation"),
    _p("dispute_setback", 0.04, 0.0, 0.5, "share", "implementation lost to an unresolved dispute", "implementation"),
    _p("gap_setback", 0.01, 0.0, 0.2, "1/month", "implementation lost per month while the implementation programme is unfunded", "implementation"),
    _p("commitment_drift", 0.08, 0.0, 1.0, "1/month", "monthly pull of a signatory's genuine commitment toward what trust and support justify", "implementation"),
    _p("pressure_decay", 0.06, 0.0, 1.0, "1/month", "monthly fading of commitment that came from pressure, without follow-through", "implementation"),
    _p("violation_propensity", 0.126, 0.0, 1.0, "probability", "monthly chance an uncommitted signatory violates the agreement", "implementation"),
    _p("retaliation", 0.6, 0.0, 1.0, "share", "violence a distrustful signatory returns for a violation or a blamed attack", "implementation"),
    _p("relapse_violence", 0.3, 0.0, 1.0, "share", "violence between signatories that counts as fighting again", "implementation"),
    _p("relapse_months", 3, 1, 24, "months", "months that violence must stay above relapse level for relapse", "implementation"),
    _p("defection_rate", 0.0205, 0.0, 0.5, "1/month", "monthly chance that hardliners take a signatory out of the agreement, at no commitment, full hardliners and no deterrence", "implementation"),
    _p("violence_memory", 0.5, 0.0, 0.99, "share", "share of last month's violence between signatories carried into this month", "implementation"),
    # spoilers (Stedman 1997)
    _p("attack_rate", 0.09, 0.0, 1.0, "probability", "monthly chance of an attack by a spoiler at full capacity and resolve", "spoilers"),
    _p("milestone_boost", 2.5, 1.0, 10.0, "factor", "how much more likely attacks are at milestones: talks opening, signature, implementation steps", "spoilers"),
    _p("attack_setback", 0.05, 0.0, 0.5, "share", "implementation lost to one spoiler attack", "spoilers"),
    _p("recruitment_rate", 0.02, 0.0, 0.2, "1/month", "growth of spoiler capacity from recruiting among the excluded", "spoilers"),
    _p("coercion_effect", 0.06, 0.0, 0.5, "1/month", "capacity a spoiler loses per month of coercion at full leverage", "spoilers"),
    _p("inducement_effect", 0.08, 0.0, 0.5, "1/month", "fall in a limited spoiler's resolve per month of inducement", "spoilers"),
    _p("socialization_effect", 0.03, 0.0, 0.5, "1/month", "fall in a greedy spoiler's resolve per month of socialization", "spoilers"),
    _p("backfire", 0.05, 0.0, 0.5, "1/month", "growth of a spoiler's capacity or resolve per month of the wrong strategy", "spoilers"),
    _p("diagnosis_error", 0.4, 0.0, 1.0, "probability", "chance of misreading a spoiler's type at zero skill and knowledge and no joint analysis", "spoilers"),
    _p("spoiler_strategy", "diagnose", meaning="custodians' strategy toward spoilers: by their diagnosis of the type, or one strategy for all",
       group="spoilers", kind="choice", choices=("diagnose", "inducement", "socialization", "coercion")),
    _p("attribution_with_verification", 0.8, 0.0, 1.0, "probability", "chance a verification mechanism attributes an attack to its real author", "spoilers"),
    _p("attribution_without", 0.25, 0.0, 1.0, "probability", "chance an attack is attributed correctly without verification", "spoilers"),
    # local mechanisms
    _p("linking_rate", 0.04, 0.0, 1.0, "probability", "monthly chance a multi-track mediator links one local mechanism to track I", "local"),
    _p("early_warning", 0.5, 0.0, 1.0, "probability", "ceiling on the chance that linked local mechanisms foil an attack (saturates with their capacity)", "local"),
    _p("target_risk", 0.005, 0.0, 0.5, "probability", "monthly chance a linked but unprotected local mechanism is targeted", "local"),
    _p("public_support_weight", 0.35, 0.0, 1.0, "share", "weight of public support and inclusion in a signatory's commitment", "local"),
    _p("legitimacy_restraint", 0.5, 0.0, 1.0, "share", "how far public support for an agreement (legitimacy; constituencies that would punish reneging) cuts a signatory's chance to defect", "local"),
    _p("local_dispute_resolution", 0.3, 0.0, 1.0, "probability", "ceiling on the chance that linked local mechanisms settle an implementation dispute the mediators do not (local information and standing; saturates with their capacity)", "local"),
    _p("unfunded_capacity", 0.4, 0.0, 1.0, "share", "share of its capacity a local mechanism keeps while unfunded", "local"),
    # diplomats
    _p("pressure_rate", 0.0356, 0.0, 0.5, "1/month", "pain a diplomat's pressure adds per month at full leverage", "diplomats"),
    _p("incentive_weight", 0.25, 0.0, 1.0, "share", "weight of diplomats' incentives in a party's perceived way out", "diplomats"),
    _p("guarantee_deterrence", 0.8, 0.0, 1.0, "share", "how far a credible guarantor deters violations and retaliation", "diplomats"),
    _p("follow_through", 0.8, 0.0, 1.0, "share", "how far an engaged diplomat's implementation push stops pressure-based commitment fading", "diplomats"),
]

REGISTRY: dict[str, Param] = {p.name: p for p in _GLOBALS}


# ---------------------------------------------------------------------------------------------
# Actor attributes, one table per agent kind. The scenario file lists actors under these kinds.
# ---------------------------------------------------------------------------------------------
def _a(name, default, low=None, high=None, meaning="", kind=None, choices=(), required=False, marker=None):
    p = _p(name, default, low, high, "", meaning, "", kind, choices)
    return Param(p.name, p.default, p.kind, p.low, p.high, p.unit, p.meaning, p.choices, p.group, required, marker)


MEDIATOR_KINDS = ("un", "state", "regional", "ngo", "insider")

ACTOR_FIELDS: dict[str, dict[str, Param]] = {
    "party": {f.name: f for f in [
        _a("name", "", meaning="name used in the narrative", kind="str", required=True),
        _a("strength", 0.5, 0.01, 1.0, "military strength"),
        _a("pain", 0.2, 0.0, 1.0, "accumulated pain of fighting at the start"),
        _a("pain_tolerance", 0.45, 0.0, 1.0, "pain above which the stalemate hurts"),
        _a("victory_belief", 0.5, 0.0, 1.0, "belief in military victory at the start"),
        _a("hardliners", 0.3, 0.0, 1.0, "share of hardliners inside the party"),
        _a("grievances", 0.5, 0.0, 1.0, "grievances not yet addressed"),
        _a("trust", 0.2, 0.0, 1.0, "initial trust toward the other parties"),
        _a("proscribed", False, meaning="listed as a proscribed group: some states may not talk to it"),
        _a("at_table", True, meaning="a main party that must be at the table for talks"),
    ]},
    "spoiler": {f.name: f for f in [
        _a("name", "", meaning="name used in the narrative", kind="str", required=True),
        _a("type", "greedy", meaning="Stedman type", kind="choice", choices=("limited", "greedy", "total")),
        _a("position", "outside", meaning="inside or outside the process", kind="choice", choices=("inside", "outside")),
        _a("capacity", 0.3, 0.0, 1.0, "capacity for violence"),
        _a("proscribed", True, meaning="listed as a proscribed group"),
    ]},
    "mediator": {f.name: f for f in [
        _a("name", "", meaning="name used in the narrative", kind="str", required=True),
        _a("kind", "un", meaning="kind of organisation", kind="choice", choices=MEDIATOR_KINDS),
        _a("skill", 0.6, 0.0, 1.0, "mediation skill"),
        _a("leverage", -1.0, 0.0, 1.0, "leverage (carrots and sticks); -1 takes the default of its kind",
           marker=(-1.0, "the default of its kind")),
        _a("bias_toward", "", meaning="name of the party it leans toward ('' for impartial)", kind="str"),
        _a("bias", 0.0, 0.0, 1.0, "strength of that lean"),
        _a("track", 1, 1, 3, "track of diplomacy (1 official, 2 unofficial, 3 grassroots)"),
        _a("style", "facilitative", meaning="facilitative or leverage-heavy (manipulative)", kind="choice",
           choices=("facilitative", "leverage")),
        _a("talks_to_proscribed", "default", meaning="may talk to proscribed groups; 'default' takes its kind's rule",
           kind="choice", choices=("default", "yes", "no")),
        _a("funding", "default", meaning="'core' (always funded), 'project' (grants), or its kind's default",
           kind="choice", choices=("default", "core", "project")),
        _a("links_local", False, meaning="works multi-track: links local mechanisms to track I"),
        _a("lead", False, meaning="designated lead under hierarchical or contact-group coordination"),
    ]},
    "diplomat": {f.name: f for f in [
        _a("name", "", meaning="name used in the narrative", kind="str", required=True),
        _a("leverage", 0.5, 0.0, 1.0, "leverage: incentives, sanctions, good offices, venues"),
        _a("bias_toward", "", meaning="name of the party its national interest favours ('' for none)", kind="str"),
        _a("bias", 0.0, 0.0, 1.0, "strength of that national-interest bias"),
        _a("role", "supportive", meaning="works through the lead mediator, or runs its own initiative",
           kind="choice", choices=("supportive", "quasi_mediator")),
        _a("talks_to_proscribed", False, meaning="may talk to proscribed groups"),
        _a("pressure", 0.5, 0.0, 1.0, "share of its leverage used as pressure (the rest as incentives)"),
    ]},
    "local": {f.name: f for f in [
        _a("name", "", meaning="name used in the narrative", kind="str", required=True),
        _a("count", 1, 1, 1000, "how many mechanisms of this description"),
        _a("capacity", 0.4, 0.0, 1.0, "capacity to resolve local disputes"),
        _a("legitimacy", 0.5, 0.0, 1.0, "legitimacy in its community"),
        _a("linked", False, meaning="linked to the track I process at the start"),
        _a("funded", True, meaning="receives project funding"),
        _a("protected", False, meaning="protected when drawn into the national process"),
    ]},
}
ACTOR_KINDS = tuple(ACTOR_FIELDS)

# Defaults that differ by kind of mediating organisation (seed 003: states have leverage but may be
# barred from proscribed groups; NGOs and insiders have little leverage, talk to anyone and live
# on project grants; insiders do not rotate).
MEDIATOR_KIND_DEFAULTS: dict[str, dict[str, Any]] = {
    "un": {"leverage": 0.5, "talks_to_proscribed": True, "funding": "core", "rotates": True},
    "state": {"leverage": 0.7, "talks_to_proscribed": False, "funding": "core", "rotates": True},
    "regional": {"leverage": 0.5, "talks_to_proscribed": True, "funding": "core", "rotates": True},
    "ngo": {"leverage": 0.1, "talks_to_proscribed": True, "funding": "project", "rotates": True},
    "insider": {"leverage": 0.05, "talks_to_proscribed": True, "funding": "project", "rotates": False},
}


def defaults() -> dict[str, Any]:
    """The default value of every model-wide parameter."""
    return {name: p.default for name, p in REGISTRY.items()}


def coerce(param: Param, value: Any, *, where: str) -> Any:
    """Check ``value`` against ``param`` and return it in the declared type.

    Text is read as a number or as true/false only when it was typed as text (:class:`Typed`: the
    command line, ``name=value`` texts); elsewhere a number must be a number and true/false a boolean.
    ``where`` names the place the value came from (a file, ``--set``); it starts the error message.
    Raises :class:`InputError` with one line naming the place, the field, the value and what is
    allowed.
    """

    def bad() -> InputError:
        return InputError(f"{where}: {param.name} = {value!r} is not allowed; expected {param.allowed()}")

    k = param.kind
    if k == "bool":
        if isinstance(value, bool) or _is_bool(value):
            return bool(value)
        if isinstance(value, Typed) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.strip().lower() in ("true", "yes", "1")
        raise bad()
    if k in ("float", "int"):
        if isinstance(value, bool) or _is_bool(value):
            raise bad()
        if isinstance(value, Typed):
            try:
                value = float(value)
            except ValueError:
                raise bad() from None
        if isinstance(value, numbers.Number) and not isinstance(value, numbers.Complex):
            try:
                value = float(value)  # a decimal.Decimal (a number, though not a numbers.Real)
            except (ValueError, OverflowError):  # a signalling NaN
                raise bad() from None
        if not isinstance(value, numbers.Real):  # Python's and numpy's numbers
            raise bad()
        try:
            if not math.isfinite(value):
                raise bad()
        except OverflowError:  # a whole number too large for a float
            raise bad() from None
        if k == "int":
            if float(value) != int(value):
                raise bad()
            value = int(value)
        else:
            value = float(value) + 0.0  # -0 is 0 ('-0.0' was recorded in outcome.json)
        if param.marker is not None and value == param.marker[0]:
            return value
        if (param.low is not None and value < param.low) or (param.high is not None and value > param.high):
            raise bad()
        return value
    if k == "choice":
        if isinstance(value, str) and value in param.choices:
            return str(value)
        raise bad()
    if not isinstance(value, str):
        raise bad()
    return str(value)


def check(param: Param, value: Any, *, where: str) -> Any:
    """:func:`coerce`, with a refusal that quotes the value as typed (text typed on the command line
    as typed, without quotes for a number) and, for a number or true/false written as a text in a
    file or from Python, says to write it without quotes."""
    try:
        return coerce(param, value, where=where)
    except InputError:
        from .words import words

        shown = words(value, typed=isinstance(value, Typed) or where.startswith("--"))
        # typed on a command line or in a form, true/false is also taken as yes/no or 1/0: say so
        spellings = " (yes or no, 1 or 0 also do)" if param.kind == "bool" and isinstance(value, Typed) else ""
        raise InputError(f"{where}: {param.name} = {shown} is not allowed; expected {param.allowed()}{spellings}"
                         f"{_quoted_hint(param, value)}") from None


def _quoted_hint(param: Param, value: Any) -> str:
    """For a number or true/false given as a text where it has a type of its own: how to write it."""
    if not isinstance(value, str) or isinstance(value, Typed) or param.kind not in ("float", "int", "bool"):
        return ""
    try:
        v = coerce(param, Typed(value), where="")
    except InputError:
        return ""
    plain = ("true" if v else "false") if param.kind == "bool" else value.strip()
    return f" (write it without quotes: {param.name} = {plain})"


def _is_bool(value: Any) -> bool:
    """A numpy boolean (numpy is not imported here: it is recognised by its dtype)."""
    return getattr(getattr(value, "dtype", None), "kind", "") == "b" and not hasattr(value, "__len__")


def as_whole(value: Any) -> int | None:
    """``value`` as an int if it is a whole number given as one (a Python or numpy integer, not a
    boolean), else None."""
    if isinstance(value, bool) or _is_bool(value) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def check_flags(**flags: Any) -> None:
    """Each of ``flags`` True or False (a numpy bool too), or a one-line :class:`InputError` naming
    it: a text such as ``fresh="no"`` would count as true (and remove the stored results)."""
    for name, value in flags.items():
        numpy_bool = getattr(value, "ndim", None) == 0 and str(getattr(value, "dtype", "")) == "bool"
        if not (isinstance(value, bool) or numpy_bool):
            raise InputError(f"{name} = {value!r} is not allowed; expected True or False")


def did_you_mean(name: str, options) -> str:
    """' (did you mean X?)' for the closest known name, or ''."""
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def misspelt(present, key: str, *, known=()) -> str | None:
    """Of the keys ``present`` in a table that lacks ``key``, the first that looks like a
    misspelling of it (close to it, and not one of the ``known`` real fields), or None."""
    if key in present:
        return None
    return next((k for k in present if isinstance(k, str) and k not in known and did_you_mean(k, [key])), None)


def parse_assignment(text: str, *, where: str = "--set") -> tuple[str, str]:
    """Split ``name=value`` from the command line; the value stays text (:class:`Typed`) until
    coerced."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InputError(f"{where}: {text!r} is not of the form name=value")
    return name, Typed(value.strip())
