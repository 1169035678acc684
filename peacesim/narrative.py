"""The event log as a plain-language narrative (DESIGN.md section 5: "Events: a structured log
(month, kind, actors, numbers) that renders as a plain-language narrative").

Every event kind the model emits has one entry in :data:`KIND_INFO`: a template that turns the
event's actors and numbers into a sentence, and whether the event is a *key* event (shown by
default) or a *minor*, frequent one (shown with ``minor=True`` or when asked for by kind).

Actor names carry their article ("the government"); a sentence that begins with a name gets its
first letter capitalised. Shares are written as percentages, trust and ripeness with two decimals.

Nothing here touches files or the model: :func:`render` works on the events table alone, so it
also renders an events table read back from disk (``values`` as JSON text).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import pandas as pd

from .events import parse_values, split_actors


class _Run(Protocol):
    """What :func:`summary` reads of a run's result."""

    scenario: str
    seed: int
    months: int
    outcome: dict[str, Any]
    episodes: pd.DataFrame
    events: pd.DataFrame

__all__ = ["KIND_INFO", "render", "render_event", "summary", "is_key_event", "current_leads"]

Template = Callable[[list[str], dict[str, Any]], str]

# What a template is told beside an event's own numbers, under keys no event uses: the event's
# month, the run's last month (when known) and how a funding gap ended within the run (when it did).
_MONTH, _HORIZON, _ENDED = "_month", "_horizon", "_ended"


# ----------------------------------------------------------------------------- number formats
def _pct(x: Any) -> str:
    """A share in [0, 1] as a percentage: 0.688 -> '69%'."""
    v = _num(x)
    if v is None:
        return "an unknown share"
    p = 100.0 * v
    if 0.0 < abs(p) < 0.5:
        return "under 1%"
    return f"{p:.0f}%"


def _pts(x: Any) -> str:
    """A change of a share as percentage points: 0.074 -> '7 percentage points'."""
    v = _num(x)
    if v is None:
        return "some ground"
    p = 100.0 * v
    if 0.0 < abs(p) < 1.0:
        return "less than one percentage point"
    return f"{p:.0f} percentage point{'' if round(p) == 1 else 's'}"


def _two(x: Any) -> str:
    """Trust or ripeness with two decimals."""
    v = _num(x)
    return "?" if v is None else f"{v:.2f}"


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _int(x: Any, default: int = 0) -> int:
    v = _num(x)
    return default if v is None else int(round(v))


def _plural(n: int, word: str, plural: str | None = None, *, zero: str | None = None) -> str:
    count = zero if (n == 0 and zero is not None) else str(n)
    return f"{count} {word if n == 1 else (plural or word + 's')}"


def _times(n: int) -> str:
    return {0: "never", 1: "once", 2: "twice"}.get(n, f"{n} times")


def _months(n: Any) -> str:
    return _plural(_int(n), "month")


def _poss(name: str) -> str:
    """Possessive of an actor's name: 'the UN envoy' -> "the UN envoy's"."""
    return name + ("'" if name.endswith("s") else "'s")


def _join(names: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    names = [n for n in names if n]
    if not names:
        return "nobody"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _a(word: str) -> str:
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def _actor(actors: list[str], k: int, fallback: str) -> str:
    return actors[k] if len(actors) > k and actors[k] else fallback


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


# ----------------------------------------------------------------------------- templates
# Each template takes the event's actors (a list of names) and its numbers (a dict) and returns
# one sentence without the "Month N:" prefix. Keep them robust to missing numbers: an events
# table may come from an older run or from disk.

def _talks_open(a: list[str], v: dict[str, Any]) -> str:
    s = (f"{_actor(a, 0, 'a mediator')} opens talks between the parties; the least ripe party at the "
         f"table stands at a ripeness of {_two(v.get('ripeness'))}")
    tables = _int(v.get("tables"), 1)
    if tables > 1:
        s += f", while {_plural(tables - 1, 'other table')} compete{'s' if tables == 2 else ''} for the process"
    return s + "."


def _signed(a: list[str], v: dict[str, Any]) -> str:
    mediator = a[0] if a else ""
    signers = a[1:]
    scope = str(v.get("scope") or "")
    what = {"comprehensive": "a comprehensive agreement",
            "ceasefire": "a ceasefire agreement"}.get(scope, "an agreement")
    s = f"{_join(signers)} sign {what}"
    if mediator:
        s += f" brokered by {mediator}"
    left = [x for x in str(v.get("left_out") or "").split(";") if x]
    if left:
        s += f"; {_join(left)} {'is' if len(left) == 1 else 'are'} left out"
    safeguards = []
    if "verification" in v:
        safeguards.append("a verification mechanism" if v.get("verification") else "no verification")
    if "guarantee" in v:
        safeguards.append("a third-party guarantee" if v.get("guarantee") else "no third-party guarantee")
    if safeguards:
        s += f"; it has {_join(safeguards)}"
    if _num(v.get("inclusion")) is not None:
        s += f"; {_pct(v.get('inclusion'))} of local mechanisms' capacity is linked to the process"
    ps = _num(v.get("pressure_share"))
    if ps is not None and ps >= 0.005:
        s += f"; {_pct(ps)} of the signatories' readiness came from outside pressure"
    return s + "."


def _relapse(a: list[str], v: dict[str, Any]) -> str:
    cause = v.get("cause")
    s = "The agreement breaks down"
    if cause:
        s += f" ({cause})"
    s += " and the war resumes"
    if _num(v.get("implementation")) is not None:
        s += f"; implementation had reached {_pct(v.get('implementation'))}"
    return s + "."


def _consolidated(a: list[str], v: dict[str, Any]) -> str:
    s = "Peace consolidates: the agreement has held through the follow-up period"
    if _num(v.get("implementation")) is not None:
        s += f" with {_pct(v.get('implementation'))} of it implemented"
    return s + "."


def _ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suf = "th"
    else:
        suf = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suf}"


def _rotation(a: list[str], v: dict[str, Any]) -> str:
    who = _actor(a, 0, "a third party")
    s = f"{who} rotates out"
    person = _int(v.get("person"), 0)
    succ = f"the successor ({_ordinal(person)} in the post)" if person > 1 else "the successor"
    if _num(v.get("share")) is not None:
        s += f"; {succ} keeps {_pct(v.get('share'))} of the post's relationship capital"
    before, after = _num(v.get("before")), _num(v.get("after"))
    if before is not None and after is not None and len(a) > 1 and a[1]:
        b, f = round(before, 2), round(after, 2)
        if f < b:
            s += f" — trust from {a[1]} falls from {b:.2f} to {f:.2f}"
        elif f > b:
            s += f" — trust from {a[1]} moves back from {b:.2f} up to {f:.2f}, toward the baseline"
        else:
            s += f" — trust from {a[1]} stays at {b:.2f}"
    return s + "."


def _lead_setback(a: list[str], v: dict[str, Any]) -> str:
    return (f"With {_actor(a, 0, 'the lead mediator')} changing hands, the whole table waits for the new "
            f"lead: the talks lose {_pts(v.get('lost'))} of negotiation progress.")


def _premature(a: list[str], v: dict[str, Any]) -> str:
    party = _actor(a, 1, "a party")
    return (f"{_actor(a, 0, 'a mediator')} proposes talks too early: {party} is not ripe "
            f"(ripeness {_two(v.get('ripeness'))}), and the failed proposal costs trust.")


def _collapse(a: list[str], v: dict[str, Any]) -> str:
    why = v.get("why")
    return f"The talks collapse: {why}." if why else "The talks collapse."


def _leak(a: list[str], v: dict[str, Any]) -> str:
    tables = _int(v.get("tables"), 0)
    s = "Word of the confidential pre-talks leaks out"
    if tables > 1:
        s += f", with {tables} separate tables working the conflict"
    return s + "."


def _forum_shift(a: list[str], v: dict[str, Any]) -> str:
    party = _actor(a, 0, "a party")
    old = a[1] if len(a) > 1 else ""
    new = _actor(a, 2, "another mediator")
    src = f" from {_poss(old)} table" if old else ""
    return (f"At a hard moment {party} takes the process{src} to {_poss(new)} table; "
            f"part of the negotiation progress is lost.")


def _past_end(v: dict[str, Any], n: Any) -> bool:
    """Whether ``n`` months from the event's month (itself one of them) run past the run's last month."""
    month, horizon, k = _num(v.get(_MONTH)), _num(v.get(_HORIZON)), _num(n)
    return None not in (month, horizon, k) and month + k - 1 > horizon


def _for(v: dict[str, Any], n: Any) -> str:
    """'for 15 months', and ', past the end of the run' when they go on after the run's last month."""
    return f"for {_months(n)}" + (", past the end of the run" if _past_end(v, n) else "")


def _funding_lapse(a: list[str], v: dict[str, Any]) -> str:
    """A gap's length is drawn when the grant runs out; what the run shows of it is said: how long
    it lasted when it closed within the run, what ended it (an intervention), that it runs past the
    end of the run, or, with neither known, when new money is due."""
    s = f"{_poss(_actor(a, 0, 'a third party'))} grant runs out without renewal"
    n = _num(v.get("months"))
    ended = v.get(_ENDED)
    month = _num(v.get(_MONTH))
    if ended is not None and month is not None:
        how, when = ended
        if how == "resumed":
            return s + f"; it stands idle for {_months(when - month)} while its relationships fade."
        until = {"restore_funding": "its funding is restored",
                 "cut_funding": "an intervention cuts its funding anew",
                 "withdraw": "it withdraws from the field"}[how]
        return s + f"; it stands idle while its relationships fade, until month {when}, when {until}."
    if n is None:
        return s + "; it stands idle while its relationships fade."
    if _num(v.get(_HORIZON)) is not None and _past_end(v, n):
        return s + f"; it stands idle {_for(v, n)}, while its relationships fade."
    if _num(v.get(_HORIZON)) is not None:  # (its end within the run is not in the table given)
        return s + f"; it stands idle for {_months(n)} while its relationships fade."
    return s + f"; it stands idle while its relationships fade, and no new money is due for {_months(n)}."


def _funding_resumed(a: list[str], v: dict[str, Any]) -> str:
    return f"{_actor(a, 0, 'a third party')} is funded again and goes back to work."


def _local_funding_lapse(a: list[str], v: dict[str, Any]) -> str:
    n = _int(v.get("count"), 1)
    return f"Funding lapses for {_plural(n, 'local mechanism')}."


def _programme_lapse(a: list[str], v: dict[str, Any]) -> str:
    s = "The implementation programme's funding lapses"
    n = _num(v.get("months"))
    if n is not None:
        s += f" {_for(v, n)}" if _num(v.get(_HORIZON)) is not None else f", with no new money due for {_months(n)}"
    return s + "; implementation slows down."


def _local_linked(a: list[str], v: dict[str, Any]) -> str:
    return f"{_actor(a, 0, 'a mediator')} links {_actor(a, 1, 'a local mechanism')} to the national process."


def _local_targeted(a: list[str], v: dict[str, Any]) -> str:
    n = _int(v.get("count"), 1)
    lose = "it loses much of its" if n == 1 else "they lose much of their"
    return (f"Spoilers target {_plural(n, 'local mechanism')} drawn into the national process "
            f"without protection; {lose} capacity.")


def _milestone(a: list[str], v: dict[str, Any]) -> str:
    level = _num(v.get("level"))
    if level is not None and level >= 1.0:
        return "Implementation of the agreement is complete (milestone)."
    return f"Implementation passes {_pct(level)} (milestone)."


def _violation(a: list[str], v: dict[str, Any]) -> str:
    s = f"{_actor(a, 0, 'a signatory')} violates the agreement"
    if _num(v.get("commitment")) is not None:
        s += f" (its commitment is down to {_two(v.get('commitment'))})"
    return s + "; the other signatories trust it less."


_PHASE_WORDS = {
    "conflict": " amid the fighting",
    "talks": " during the talks",
    "implementation": " against the agreement",
    "consolidated": " against the consolidated peace",
}


def _attack(a: list[str], v: dict[str, Any]) -> str:
    phase = str(v.get("phase") or "")
    s = f"{_actor(a, 0, 'a spoiler')} carries out an attack{_PHASE_WORDS.get(phase, '')}"
    notes = []
    if phase in ("talks", "implementation", "consolidated") and "attributed" in v:
        notes.append("it is attributed to its authors" if v.get("attributed")
                     else "nobody can say who did it, so the parties suspect each other")
    setback = _num(v.get("setback"))
    if setback is not None and setback > 0:
        notes.append(f"implementation is set back by {_pts(setback)}")
    if notes:
        s += "; " + "; ".join(notes)
    return s + "."


def _foiled(a: list[str], v: dict[str, Any]) -> str:
    return f"Early warning from local mechanisms foils an attack by {_actor(a, 0, 'a spoiler')}."


def _diagnosis(a: list[str], v: dict[str, Any]) -> str:
    who = _actor(a, 0, "the custodian")
    spoiler = _actor(a, 1, "a spoiler")
    read, true = str(v.get("read_as") or ""), str(v.get("true_type") or "")
    if read and true and read != true:
        return (f"{who} misreads {spoiler} as {_a(read)} spoiler (it is {_a(true)} one); "
                f"the wrong strategy may backfire.")
    if read:
        return f"{who} reads {spoiler} correctly as {_a(read)} spoiler."
    return f"{who} reassesses {spoiler}."


def _dispute_resolved(a: list[str], v: dict[str, Any]) -> str:
    return "A mediator resolves an implementation dispute before it does harm."


def _dispute_unresolved(a: list[str], v: dict[str, Any]) -> str:
    return "An implementation dispute goes unresolved; implementation slips back and trust between the parties suffers."


_ORGANISATION = {"un": "a UN", "state": "a state", "regional": "a regional organisation's", "ngo": "an NGO",
                 "insider": "an insider"}
_STRATEGY = {"none": "no coordination", "hierarchical": "a hierarchical lead", "network": "a network division of labour",
             "contact_group": "a contact group"}


def _fmt_setting(x: Any) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def _intervention(a: list[str], v: dict[str, Any]) -> str:
    """An intervention by a facilitator (or planned in a scenario): what was decided."""
    kind = str(v.get("intervention") or "")
    who = _actor(a, 0, "a third party")
    if kind == "rotate":
        s = f"{who} is rotated out now, before the end of the posting"
    elif kind == "cut_funding":
        n = _int(v.get("months"), 0)
        s = (f"{_poss(who)} funding is cut " + (_for(v, n) if n > 0 else "until it is restored")
             + "; it stands idle while its relationships fade")
    elif kind == "restore_funding":
        s = f"{_poss(who)} funding is restored" + ("" if not v.get("was_funded") else " (it had not been cut)")
    elif kind == "add_mediator":
        org = _ORGANISATION.get(str(v.get("organisation") or ""), "a")
        s = f"{who} joins the field as {org} mediator"
        if v.get("lead"):
            s += " and takes the lead"
        s += "; its envoy is new to the conflict"
    elif kind == "withdraw":
        s = f"{who} withdraws from the field; its post stays vacant"
    elif kind == "coordination":
        new = _STRATEGY.get(str(v.get("strategy") or ""), "another strategy")
        was = _STRATEGY.get(str(v.get("was") or ""))
        if was and v.get("was") == v.get("strategy"):
            s = f"the third parties are to work with {new}, as they already do: nothing changes"
        else:
            s = f"the third parties switch {'from ' + was + ' ' if was else ''}to {new}"
    elif kind == "attack":
        s = f"{_actor(a, 0, 'a spoiler')} stages an attack"
    elif kind in ("pressure", "incentives"):
        party = _actor(a, 0, "a party")
        what = "diplomatic pressure is put on" if kind == "pressure" else "incentives are offered to"
        s = f"{what} {party} {_for(v, v.get('months'))}, at {_pct(v.get('strength'))} of full leverage"
    elif kind in ("link_local", "protect_local"):
        n = _int(v.get("done", v.get("count")), 0)
        group = str(v.get("group") or "")
        of = f" ({group})" if group else ""
        # (none done: the event does not say whether the scenario has no such mechanism or every
        # one already was linked or protected, so the sentence holds for both)
        if kind == "link_local":
            s = (f"{_plural(n, 'local mechanism')}{of} {'is' if n == 1 else 'are'} linked to the national process"
                 if n else f"no local mechanism{of} is linked, as there is no unlinked one")
        else:
            s = (f"{_plural(n, 'local mechanism')}{of} {'is' if n == 1 else 'are'} given protection"
                 if n else f"no local mechanism{of} is given protection, as there is no unprotected one")
    elif kind == "set":
        name = str(v.get("name") or "a parameter")
        if "was" in v and _fmt_setting(v.get("was")) == _fmt_setting(v.get("value")):
            s = f"{name} is set to {_fmt_setting(v.get('value'))}, as it already was: nothing changes"
        else:
            s = f"{name} is set to {_fmt_setting(v.get('value'))} from now on"
            if "was" in v:
                s += f" (it was {_fmt_setting(v.get('was'))})"
    else:
        s = (kind.replace("_", " ") or "a change") + (f" ({_join(a)})" if a else "")
    return f"Intervention: {s}."


#: kind -> (template, is_key). Key events are shown by default; minor, frequent ones with
#: ``minor=True`` or when their kind is asked for explicitly. A rotation is minor unless the
#: post leads a negotiating table (see :func:`is_key_event`). tests/test_narrative.py checks
#: that every kind emitted in peacesim/model.py has an entry here.
KIND_INFO: dict[str, tuple[Template, bool]] = {
    # interventions
    "intervention": (_intervention, True),
    # the process
    "talks_open": (_talks_open, True),
    "premature_proposal": (_premature, True),
    "talks_collapse": (_collapse, True),
    "leak": (_leak, True),
    "forum_shift": (_forum_shift, True),
    "signed": (_signed, True),
    "milestone": (_milestone, True),
    "violation": (_violation, True),
    "dispute_unresolved": (_dispute_unresolved, True),
    "dispute_resolved": (_dispute_resolved, False),
    "relapse": (_relapse, True),
    "consolidated": (_consolidated, True),
    # spoilers
    "attack": (_attack, True),
    "attack_foiled": (_foiled, False),
    "diagnosis": (_diagnosis, False),
    "local_targeted": (_local_targeted, True),
    # third parties: rotation and funding
    "rotation": (_rotation, False),
    "lead_rotation_setback": (_lead_setback, True),
    "funding_lapse": (_funding_lapse, True),
    "funding_resumed": (_funding_resumed, False),
    "programme_lapse": (_programme_lapse, True),
    "local_funding_lapse": (_local_funding_lapse, False),
    "local_linked": (_local_linked, False),
}

#: A rotation is key when the post rotating out leads the process at that moment: the current lead
#: is the mediator named when talks open or an agreement is signed (position 0 of the actors) or
#: the table the process moves to in a forum shift (position 2); the lead is cleared when talks
#: collapse or an agreement ends. Rotations outside a process, or of supporting posts, are minor.
LEAD_ROTATION_KIND = "rotation"
_LEAD_SET: dict[str, int] = {"talks_open": 0, "signed": 0, "forum_shift": 2}
_LEAD_CLEAR = frozenset({"talks_collapse", "relapse", "consolidated"})


# ----------------------------------------------------------------------------- rendering
def _generic(kind: str, a: list[str], v: dict[str, Any]) -> str:
    """Fallback for a kind without a template (should not happen: a test guards it)."""
    who = _join([x for x in a if x]) if a else ""
    nums = ", ".join(f"{k} {_fmt_value(x)}" for k, x in v.items())
    s = kind.replace("_", " ")
    if who:
        s += f" ({who})"
    if nums:
        s += f": {nums}"
    return _capitalise(s) + "."


def _fmt_value(x: Any) -> str:
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.2f}"
    return str(x)


def render_event(month: Any, kind: str, actors: Any, values: Any, *, horizon: int | None = None,
                 _ended: tuple[str, int] | None = None) -> str:
    """One event as one line: 'Month 37: The UN envoy rotates out; ...'.

    ``horizon``: the run's last month, when known; what goes on past it (a funding gap, a cut, a
    campaign) is said to. Without it, a funding gap is told by when new money is due."""
    a = split_actors(actors)
    v = parse_values(values)
    info = KIND_INFO.get(kind)
    if info is None:
        return f"Month {_int(month)}: {_capitalise(_generic(kind, a, v))}"
    v = {**v, _MONTH: _num(month)}  # (a copy: the table's own dicts stay as they are)
    if horizon is not None:
        v[_HORIZON] = horizon
    if _ended is not None:
        v[_ENDED] = _ended
    return f"Month {_int(month)}: {_capitalise(info[0](a, v))}"


#: What ends a third party's funding gap before its drawn length, as an intervention naming it.
_GAP_ENDERS = ("restore_funding", "cut_funding", "withdraw")


def _gaps_ended(events: pd.DataFrame) -> dict[int, tuple[str, int]]:
    """For the row (by position) of every funding lapse whose gap ends later in the table: how
    ('resumed', or the intervention that ended it) and in which month."""
    open_gaps: dict[str, int] = {}  # third party -> row of its lapse
    out: dict[int, tuple[str, int]] = {}
    for i, (month, kind, actors, values) in enumerate(
            zip(events["month"], events["kind"], events["actors"], events["values"])):
        if kind not in ("funding_lapse", "funding_resumed", "intervention"):
            continue
        a = split_actors(actors)
        who = a[0] if a else ""
        if kind == "funding_lapse":
            open_gaps[who] = i
            continue
        how = "resumed" if kind == "funding_resumed" else str(parse_values(values).get("intervention") or "")
        if (how == "resumed" or how in _GAP_ENDERS) and who in open_gaps:
            out[open_gaps.pop(who)] = (how, _int(month))
    return out


def current_leads(events: pd.DataFrame) -> list[str]:
    """For every event, the name of the third party leading the process at that moment ('' if none)."""
    lead = ""
    out = []
    for kind, actors in zip(events["kind"], events["actors"]):
        k = _LEAD_SET.get(kind)
        if k is not None:
            a = split_actors(actors)
            if len(a) > k and a[k]:
                lead = a[k]
        out.append(lead)
        if kind in _LEAD_CLEAR:
            lead = ""
    return out


def is_key_event(kind: str, actors: Any, lead: str = "") -> bool:
    """Whether an event is shown by default.

    KIND_INFO's flag decides, except that the rotation of the post currently leading the process
    (``lead``) is key, and a kind without a template is shown rather than silently dropped.
    """
    info = KIND_INFO.get(kind)
    if info is None:
        return True
    if info[1]:
        return True
    if kind == LEAD_ROTATION_KIND and lead:
        a = split_actors(actors)
        return bool(a) and a[0] == lead
    return False


def render(events: pd.DataFrame, *, limit: int | None = None, kinds: set[str] | None = None,
           minor: bool = False, horizon: int | None = None) -> list[str]:
    """The events as plain-language lines, one per event, in the order they happened.

    Parameters
    ----------
    events:
        The events table of a run (columns ``month``, ``kind``, ``actors`` as ';'-joined names,
        ``values`` as dicts or JSON text).
    limit:
        At most this many lines (the first ones); ``None`` for all.
    kinds:
        Only these kinds. Kinds named here are shown even when they are minor.
    minor:
        Also show minor, frequent events (funding renewals, local linkage, diagnoses, resolved
        disputes, foiled attacks, rotations of posts that do not lead a table).
    horizon:
        The run's last month, when the table is a whole run's: a funding gap, a cut or a campaign
        that goes on past it is said to. Without it (a run still going on), a funding gap that
        has not closed is told by when new money is due.

    A funding gap that closes within the table is told by how long it lasted, or by what ended it.
    """
    if limit is not None and limit <= 0:
        return []
    if events is None or len(events) == 0:
        return []
    leads = current_leads(events)
    ended = _gaps_ended(events)
    lines: list[str] = []
    rows = zip(events["month"], events["kind"], events["actors"], events["values"], leads)
    for i, (month, kind, actors, values, lead) in enumerate(rows):
        if kinds is not None:
            if kind not in kinds:
                continue
        elif not minor and not is_key_event(kind, actors, lead):
            continue
        lines.append(render_event(month, kind, actors, values, horizon=horizon, _ended=ended.get(i)))
        if limit is not None and len(lines) >= limit:
            break
    return lines


# ----------------------------------------------------------------------------- run summary
def _years(months: int) -> str:
    if months < 12:
        return _months(months)
    y = months / 12.0
    if abs(y - round(y)) < 0.05:
        return "1 year" if round(y) == 1 else f"{y:.0f} years"
    return f"{y:.1f} years"


def _count_kind(events: pd.DataFrame, kind: str) -> int:
    if events is None or len(events) == 0:
        return 0
    return int((events["kind"] == kind).sum())


def summary(result: _Run) -> str:
    """A short plain-language summary of one run, for a trainer's debrief."""
    o = result.outcome
    ev = result.events
    horizon = int(result.months)
    series = getattr(result, "series", None)
    so_far = len(series) if series is not None else horizon
    partway = so_far < horizon  # a run still being stepped (the dashboard's debrief)
    if so_far == 0:
        return (f"Scenario '{result.scenario}', seed {result.seed}: month 0 of {horizon}.\n"
                "No month has been run yet.")
    if partway:
        lines = [f"Scenario '{result.scenario}', seed {result.seed}: month {so_far} of {horizon} "
                 f"({_years(so_far)} so far)."]
    else:
        lines = [f"Scenario '{result.scenario}', seed {result.seed}: {horizon} months ({_years(horizon)})."]

    n_ag = int(o.get("n_agreements", len(result.episodes)))
    n_rel = int(o.get("n_relapses", 0))
    if o.get("agreement_reached", n_ag > 0):
        first = o.get("months_to_first_agreement")
        s = f"Agreement reached: yes, first signed in month {_int(first)} (after {_years(_int(first))})"
        s += f"; {_plural(n_ag, 'agreement')} in all, {_plural(n_rel, 'relapse', zero='no')} into war."
        lines.append(s)
        for _, e in result.episodes.iterrows():
            lines.append("  " + _episode_line(e, so_far if partway else None))
    else:
        lines.append("Agreement reached: not yet." if partway else "Agreement reached: no, the parties never signed.")

    final = o.get("final_phase", "")
    if o.get("consolidated"):
        lines.append("Peace consolidated: yes.")
    else:
        ends = {"conflict": "in open conflict", "talks": "during talks",
                "implementation": "with an agreement still being implemented"}.get(str(final), "")
        if partway:
            ends = {"conflict": "in open conflict", "talks": "in talks",
                    "implementation": "implementing an agreement"}.get(str(final), "")
            lines.append(f"Peace consolidated: not yet; at month {so_far} the run is {ends or 'in an open phase'}.")
        else:
            lines.append(f"Peace consolidated: no; the run ends {ends or 'in an open phase'}.")

    mv = _num(o.get("mean_violence"))
    s = f"Violence: mean {mv:.2f} on a 0-1 scale" if mv is not None else "Violence: unknown"
    split = [(o.get("months_in_conflict"), "in conflict"), (o.get("months_in_talks"), "in talks"),
             (o.get("months_in_implementation"), "implementing an agreement"),
             (o.get("months_in_consolidated"), "after consolidation")]
    counts = [(_int(n), w) for n, w in split if n is not None and (w != "after consolidation" or _int(n))]
    # '24 months in conflict, none in talks, 3 implementing an agreement'
    parts = [_plural(k, "month") + f" {w}" if i == 0 else f"{k or 'none'} {w}" for i, (k, w) in enumerate(counts)]
    if parts:
        s += "; " + ", ".join(parts)
    lines.append(s + ".")

    talks = _int(o.get("talks_opened", _count_kind(ev, "talks_open")))
    prem = _int(o.get("premature_proposals", _count_kind(ev, "premature_proposal")))
    brk = _int(o.get("breakdowns", _count_kind(ev, "talks_collapse")))
    opened = (f"opened {_times(talks)}, {_plural(brk, 'collapse', zero='no')}" if talks or brk
              else "not opened yet" if partway else "never opened")
    why = "" if talks or brk else _never_ripe_together(result, series)
    lines.append(f"Talks: {opened}; {_plural(prem, 'premature proposal', zero='no')} cost trust{why}.")

    att = _int(o.get("attacks", _count_kind(ev, "attack")))
    foiled = _int(o.get("foiled", _count_kind(ev, "attack_foiled")))
    viol = _int(o.get("violations", _count_kind(ev, "violation")))
    lines.append(f"Spoilers and violations: {_plural(att, 'attack', zero='no')} carried out and "
                 f"{f'{foiled} more' if foiled else 'none'} foiled by early warning; "
                 f"{_plural(viol, 'violation', zero='no')} of an agreement by a signatory party.")

    rot = _int(o.get("rotations", _count_kind(ev, "rotation")))
    tp_gaps = _int(o.get("funding_gaps", _count_kind(ev, "funding_lapse")))
    local_gaps = _int(o.get("local_funding_gaps", 0))
    prog = _count_kind(ev, "programme_lapse")
    s = (f"Third parties: {_plural(rot, 'staff rotation', zero='no')}; {_plural(tp_gaps, 'funding gap', zero='no')} "
         f"for mediators and diplomats, {local_gaps or 'none'} for local mechanisms, {prog or 'none'} for the "
         f"implementation programme after signature.")
    lines.append(s)
    iv = ev[ev["kind"] == "intervention"] if ev is not None and len(ev) else None
    if iv is not None and len(iv):
        said = [f"month {_int(m)}: {str(parse_values(v).get('intervention') or '').replace('_', ' ')}"
                for m, v in zip(iv["month"], iv["values"], strict=True)]
        lines.append(f"Interventions: {len(said)} ({'; '.join(said)}).")
    extra = []
    if _int(o.get("forum_shifts")):
        extra.append(_plural(_int(o.get("forum_shifts")), "forum shift"))
    if _int(o.get("leaks")):
        extra.append(_plural(_int(o.get("leaks")), "leak") + " of confidential talks")
    if extra:
        lines.append("Parallel processes: " + ", ".join(extra) + ".")
    return "\n".join(lines)


def _never_ripe_together(result: _Run, series: Any) -> str:
    """Why talks never opened, where the series show it: '; the main parties were never ripe
    together: by its own ripeness the least ripe of the 2 reached at most 0.31 (month 9), below
    0.46, the ripeness at which a party accepts talks with even chance' (a mediator's leverage may
    push a party's readiness higher; its own ripeness is what the series hold). Empty where they
    were (then the mediators' judgement and the draws kept talks shut), or where the run's actors
    or series are not at hand."""
    actors = getattr(result, "actors", None) or {}
    parties = actors.get("party") or []
    params = getattr(result, "params", None) or {}
    threshold = _num(params.get("ripeness_threshold"))
    if series is None or not len(series) or threshold is None or not parties:
        return ""
    columns = [c for c in series.columns if c.startswith("ripeness_")]  # in the order of the parties
    main = [c for c, q in zip(columns, parties) if q.get("at_table", True)]
    if len(columns) != len(parties) or len(main) < 2:
        return ""
    least = series[main].min(axis=1)
    k = int(least.to_numpy().argmax())
    peak = float(least.iloc[k])
    if peak >= threshold:
        return ""
    # (to as many digits as tell the two apart: 0.458 is below 0.459, where both read 0.46)
    digits = next((d for d in (2, 3, 4) if round(peak, d) < round(threshold, d)), 6)
    return (f"; the main parties were never ripe together: by its own ripeness the least ripe of the {len(main)} "
            f"reached at most {peak:.{digits}f} (month {_int(series['month'].iloc[k])}), below {threshold:.{digits}f}, "
            "the ripeness at which a party accepts talks with even chance")


def _episode_line(e: pd.Series, month: int | None = None) -> str:
    """One agreement in a sentence; ``month``: the run is partway, at that month."""
    signers = [x for x in str(e.get("signatories") or "").split(";") if x]
    scope = e.get("scope") or "agreement"
    s = f"Agreement {_int(e.get('episode'))} ({scope}, month {_int(e.get('signed_month'))}"
    if signers:
        s += f", signed by {_join(signers)}"
    s += "): "
    survived = _int(e.get("months_survived"))
    if bool(e.get("relapsed")):
        s += f"relapsed after {_months(survived)} ({e.get('end_cause')})"
    elif bool(e.get("consolidated")):
        s += f"consolidated after {_months(survived)}"
    elif month is not None:
        s += f"in force at month {month}, after {_months(survived)}"
    else:
        s += f"still holding at the horizon after {_months(survived)}"
    impl = _num(e.get("implementation_reached"))
    if impl is not None:
        s += f"; {_pct(impl)} implemented"
    return s + "."
