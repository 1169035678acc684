"""The classroom dashboard page (Solara, on Mesa's SolaraViz parts).

Run it with ``peacesim dashboard [SCENARIO]``. Each browser tab builds its own model when its page
session starts (never at module level: a model built here would be shared by every visitor).
:func:`RunController` steps, plays, pauses and resets it (Mesa's ``ModelController``, with the run's
state read from the model itself and one lock around every change of the model, so that a new
scenario can be stepped at once and a Reset during play is not followed by one more month); reset
rebuilds the model from the tab's scenario, parameters and seed, so the same seed replays the same
run.

There is no code console: participants choose from lists and move sliders, and whatever they type
(a seed, a name) is validated by the parameter and intervention registries, never executed.
"""

from __future__ import annotations

import base64
import contextlib
import html
import os
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipyvuetify
import reacton.ipywidgets as rw
import solara
import traitlets
from mesa.visualization.utils import force_update, update_counter

from ..errors import InputError
from ..interventions import FIXED_AT_START, INTERVENTIONS
from ..narrative import render
from ..params import REGISTRY, Param, coerce
from ..scenario import list_scenarios, load_scenario
from .debrief import REPLAY_NAME, debrief_html
from .figures import network_svg, spread_svg, timeline_svg
from .session import ClassroomModel, Exports, load_upload, model_kwargs, params_changed, replay_toml, spread

#: The scenario a new tab opens with (``peacesim dashboard SCENARIO`` sets it).
SCENARIO_ENV = "PEACESIM_DASHBOARD_SCENARIO"
FEED_LINES = 14
BIG = "font-size:3.2em;font-weight:700;line-height:1.1"
PHASE_CSS = {"conflict": "#c62828", "talks": "#b26a00", "implementation": "#1565c0", "consolidated": "#2e7d32"}


def shipped() -> list[str]:
    return [p.stem for p in list_scenarios()]


def start_scenario():
    return load_scenario(os.environ.get(SCENARIO_ENV) or "reference")


#: The scenario each new tab last opened with, by the reference it was read from.
_OPENED: dict[str, Any] = {}


def opening() -> tuple[Any, str]:
    """The scenario a new tab opens with, and what went wrong reading it ('' when nothing did).

    A new tab reads the scenario ``peacesim dashboard`` was given again, so that a file edited
    between two groups opens as edited. A file edited into a mistake (or moved) while the server
    runs is not a traceback on the page: the tab opens the file as a tab last read it (or, when no
    tab has, the shipped reference scenario) and says why in one line."""
    ref = os.environ.get(SCENARIO_ENV) or "reference"
    try:
        scen = start_scenario()
    except (InputError, OSError) as exc:
        kept = _OPENED.get(ref)
        if kept is not None:
            return kept, f"{exc}. This page opens the file as it was read before; correct it and reload the page."
        return (load_scenario("reference"),
                f"{exc}. This page opens the shipped scenario 'reference'; correct the file and reload the page.")
    _OPENED[ref] = scen
    return scen, ""


def file_seed(scen, default):
    """The seed a scenario file gives (``[scenario] seed``, as a session's re-run file has), or
    ``default``."""
    own = getattr(scen, "seed", None)
    return int(own) if own is not None else default


def _groups() -> list[str]:
    return list(dict.fromkeys(p.group for p in REGISTRY.values()))


# ------------------------------------------------------------------------------------------ controls
@solara.component
def Message(text: str, ok: bool):
    """A one-line confirmation (green) or error (red)."""
    colour = "#1b5e20" if ok else "#b71c1c"
    solara.HTML("div", html.escape(text), classes=["peacesim-ok" if ok else "peacesim-error"],
                style=f"color:{colour};border-left:4px solid {colour};padding:0.3em 0.6em;font-weight:600")


def _on_grid(x: float, lo: float, step: float) -> bool:
    q = (x - lo) / step
    return abs(q - round(q)) < 1e-6


def slider_step(p: Param, *values: float) -> float:
    """The step of the slider of the number parameter ``p``: whole numbers for a parameter counted
    in whole units (bounds and default whole, ten or more apart: ``gap_months``), otherwise a round
    step (1, 2 or 5 times a power of ten) of at most a hundredth of the range; in both cases the
    coarsest such step on whose grid the bounds, the default and ``values`` (the scenario's value,
    the value now) lie exactly, so that the slider shows them as they are and can return to them."""
    lo = float(p.low if p.low is not None else 0.0)
    hi = float(p.high if p.high is not None else 1.0)
    span = hi - lo
    if span <= 0:
        return 1.0
    whole = span >= 10 and all(float(x).is_integer() for x in (lo, hi, p.default))
    coarsest = 1.0 if whole else span / 100
    anchors = [lo, hi, float(p.default), *(float(v) for v in values)]
    for k in range(6, -7, -1):
        for mantissa in (5, 2, 1):
            step = float(f"{mantissa}e{k}")
            if step <= coarsest * (1 + 1e-9) and all(_on_grid(x, lo, step) for x in anchors):
                return step
    return 1e-6  # the finest step the page shows (a value off every grid keeps its own digits until moved)


#: A whole-number field whose range is wider than this is typed in a number field, not slid: on a
#: slider a hand's width long (about 130 pixels beside its label) a range of 600 cannot be set to 12.
SLIDER_SPAN = 50


#: The page's own rules: a slider's label on a line of its own above its track (beside it, a long
#: label such as "Pause between steps (ms)" left the track a few pixels long).
PAGE_CSS = """
.peacesim-slider .v-input--horizontal { grid-template-areas: "prepend" "control"; grid-template-columns: minmax(0, 1fr); }
.peacesim-slider .v-input--horizontal > .v-input__prepend { margin-inline-end: 0; margin-bottom: -2px; }
.peacesim-slider .v-label { white-space: normal; overflow: visible; }
.peacesim-run-buttons { flex-wrap: wrap; gap: 8px; }
"""


def _decimals(step: float) -> int:
    """The decimals a value on the grid of ``step`` needs (0.01: 2; 1: 0)."""
    text = f"{step:.10f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


@solara.component
def ValueSlider(label: str, value: float, on_value, min: float, max: float, step: float = 1, integer: bool = True):
    """A slider with its value written beside it at all times (a thumb label shows it only while
    the slider is being moved, over the line above)."""
    with solara.Row(style="align-items:center;gap:0.6em;flex-wrap:nowrap", classes=["peacesim-slider"]):
        if integer:
            solara.SliderInt(label, value=int(value), min=int(min), max=int(max), step=int(step), on_value=on_value,
                             thumb_label=False)
            shown = str(int(value))
        else:
            solara.SliderFloat(label, value=float(value), min=min, max=max, step=step, on_value=on_value,
                               thumb_label=False)
            shown = f"{float(value):.{_decimals(step)}f}"
        solara.HTML("span", shown, classes=["peacesim-slider-value"],
                    style="min-width:3.2em;text-align:right;font-weight:600;font-variant-numeric:tabular-nums")


def _as_number(text: str) -> Any:
    t = text.strip()
    try:
        return int(t)  # exactly, however long (a sweep's seeds have 19 digits)
    except ValueError:
        pass
    try:
        x = float(t)
    except ValueError:
        return t  # refused by coerce, in its own words
    return int(x) if x.is_integer() and abs(x) < 2 ** 53 else x


def number_check(p: Param, where: str) -> Callable[[str], Any]:
    """What a number field of ``p`` accepts: the typed text as ``p``'s value, or InputError."""
    def check(text: str) -> Any:
        if not text.strip():
            raise InputError(f"{where}: {p.name} cannot be empty; expected {p.allowed()}")
        return coerce(p, _as_number(text), where=where)
    return check


def seed_check(text: str) -> int:
    """The seed typed in the page, read as ``peacesim run --seed`` reads it: whole numbers written
    out in digits only, so that a seed the page runs with is one the command line takes too
    (``1e3`` or ``7.0`` are refused by both)."""
    if not text.strip():
        raise InputError("Seed cannot be empty; expected a whole number >= 0")
    try:
        value = int(text.strip())  # exactly, however long (a sweep's seeds have 19 digits)
    except ValueError:
        value = -1
    if value < 0:
        raise InputError(f"Seed = {text.strip()!r} is not allowed; expected a whole number >= 0")
    return value


@solara.component
def NumberField(label: str, value: Any, check: Callable[[str], Any], on_value, draft: tuple[str, str] | None,
                on_draft):
    """A number typed in a text field. An entry that ``check`` accepts goes to ``on_value``. One it
    refuses (empty, not a number, out of bounds) is not applied: it stays in the field, in red with
    the reason, and the caller is told with ``on_draft((text, reason))`` so that it can refuse to
    act on the last valid value while the field shows another; ``on_draft(None)`` once it is
    corrected. The caller keeps the draft, so a field drawn again shows it still."""
    text = draft[0] if draft else str(value)

    def typed(t):
        t = "" if t is None else str(t)
        try:
            v = check(t)
        except InputError as exc:
            on_draft((t, str(exc)))
            return
        if draft:
            on_draft(None)
        on_value(v)

    ipyvuetify.TextField.element(v_model=text, on_v_model=typed, label=label, error=bool(draft),
                                 error_messages=[f"{draft[1]} (not applied)"] if draft else [],
                                 hide_details="auto")


def set_draft(drafts: solara.Reactive, key: str, draft: tuple[str, str] | None) -> None:
    """Keep (or, with None, forget) the entry a field refused, under the field's ``key``."""
    new = {k: x for k, x in drafts.value.items() if k != key}
    if draft is not None:
        new[key] = draft
    drafts.value = new


def drafts_problem(drafts: dict[str, tuple[str, str]]) -> str:
    """The fields holding an entry that was not applied, in one line ('' when none)."""
    return "; ".join(problem for _, problem in drafts.values())


@solara.component
def ParamControl(p: Param, value: Any, on_value, anchors: tuple = (), draft: tuple[str, str] | None = None,
                 on_draft=None, where: str = "parameters"):
    label = f"{p.name}" + (f" ({p.unit})" if p.unit else "")
    if p.kind == "choice":
        solara.Select(label=label, value=value, values=list(p.choices), on_value=on_value)
    elif p.kind == "bool":
        # ipyvuetify's own: Solara's Checkbox passes the label also as a child, drawn a second time
        ipyvuetify.Checkbox.element(label=label, v_model=bool(value), on_v_model=on_value, hide_details=True)
    elif p.kind == "int":
        if p.high is not None and p.low is not None and p.high - p.low <= SLIDER_SPAN:
            ValueSlider(label, int(value), on_value, int(p.low), int(p.high))
        else:
            NumberField(label, value, number_check(p, where), on_value, draft, on_draft or (lambda d: None))
    elif p.kind == "float":
        lo, hi = float(p.low if p.low is not None else 0.0), float(p.high if p.high is not None else 1.0)
        ValueSlider(label, float(value), on_value, lo, hi, slider_step(p, value, *anchors), integer=False)
    else:
        solara.InputText(label=label, value=str(value), on_value=on_value)
    solara.Text(p.meaning, style="font-size:0.8em;color:#616161")


def upload_handler(choose, error: solara.Reactive):
    """What a dropped scenario file does: validated like a file on disk, then chosen; a bad one
    leaves the run as it is and shows one line naming the file, the field and the value."""
    def on_file(info):
        try:
            choose(load_upload(info["name"], info["data"]))
        except InputError as exc:
            error.value = str(exc)
    return on_file


def shipped_name(scen) -> str | None:
    """The shipped scenario whose file ``scen`` was read from, or None (a dropped file, or a file
    given by its path): a dropped file may carry a shipped scenario's name (the dashboard's own
    re-run file does), and is still not that scenario."""
    if not scen.path or not Path(scen.path).is_absolute():
        return None
    here = Path(scen.path).resolve()
    return next((p.stem for p in list_scenarios() if p.resolve() == here), None)


def scenario_label(scen) -> str:
    name = shipped_name(scen)
    if name is not None:
        return f"the shipped scenario {name!r}"
    return f"the file {Path(scen.path).name or 'dropped'}"


@solara.component
def ConfirmLoad(model: solara.Reactive, overrides: solara.Reactive, pending: solara.Reactive, load):
    """Loading another scenario discards the run: said, with what is lost, and done only on Load."""
    update_counter.get()  # the month it names follows the run
    m, scen = model.value, pending.value
    if scen is None:
        return  # answered: the card draws it no more
    lost = [f"the run at month {m.month}"]
    if m.facilitator:
        k = len(m.facilitator)
        lost.append(f"its {k} intervention{'s' if k != 1 else ''}")
    if overrides.value:
        k = len(overrides.value)
        lost.append(f"{k} changed parameter{'s' if k != 1 else ''}")
    text = f"Loading {scenario_label(scen)} discards {', '.join(lost[:-1]) + ' and ' if len(lost) > 1 else ''}{lost[-1]}."
    with solara.Column(style="gap:0.3em"):
        solara.HTML("div", html.escape(text), classes=["peacesim-confirm"],
                    style="color:#8a4b00;border-left:4px solid #b26a00;padding:0.3em 0.6em;font-weight:600")
        with solara.Row():
            solara.Button("Load", color="primary", on_click=lambda: load(scen))
            solara.Button("Cancel", text=True, on_click=lambda: pending.set(None))


@solara.component
def ScenarioCard(scenario: solara.Reactive, choose, error: solara.Reactive, pending: solara.Reactive | None = None,
                 confirm=None):
    """The shipped scenarios and the drop zone. The list shows the scenario running, or none when
    it is a dropped file (named below it), so that choosing any shipped scenario loads it; while a
    choice waits for confirmation (``pending``), the list shows that one and ``confirm`` (a
    component) asks."""
    scen = scenario.value
    waiting = pending.value if pending is not None else None
    names = shipped()
    with solara.Card("Scenario"):
        solara.Select(label="Shipped scenario", value=shipped_name(waiting or scen), values=names,
                      on_value=lambda name: choose(load_scenario(name)) if name else None)
        if shipped_name(scen) is None:
            solara.HTML("div", html.escape(f"Running {scenario_label(scen)} (scenario {scen.name!r}), not a shipped "
                                           "scenario: choose one above to load it."),
                        classes=["peacesim-running-file"], style="font-size:0.85em;margin:-0.5em 0 0.5em 0")
        if waiting is not None and confirm is not None:
            confirm()
        # Keyed: the lines above it come and go (the file running, a choice to confirm), and by its
        # position it would be a new drop zone each time. The file it was given is loaded in its
        # own thread, which Solara stops when the zone goes: loading a dropped file at month 0
        # shows the line above, which stopped the load half-way (the file named, the old run kept).
        solara.FileDrop(label="...or drop a scenario file (.toml) here", on_file=upload_handler(choose, error),
                        lazy=False).key("scenario-file-drop")


def changed_words(n: int) -> str:
    """'No parameter changed', '1 parameter changed', '3 parameters changed'."""
    return "No parameter changed" if n == 0 else f"{n} parameter{'' if n == 1 else 's'} changed"


def not_in_run(m, scen, seed: int, overrides: dict) -> list[str]:
    """What the page shows that the run ``m`` does not use yet (the seed, the value of each
    parameter), as 'name value (the run has value)'; [] when the run is the one shown."""
    out = [f"seed {seed} (the run has {m.seed})"] if seed != m.seed else []
    shown = {**scen.params, **overrides}
    ran = {**m.base_scenario.params, **m.overrides}
    out += [f"{k} {shown[k]} (the run has {ran.get(k)})" for k in shown if shown[k] != ran.get(k)]
    return out


@solara.component
def ParametersCard(scenario, overrides: solara.Reactive, seed: solara.Reactive, drafts: solara.Reactive,
                   model: solara.Reactive | None = None):
    """The seed and the parameters, taking effect at Reset. An entry a field refuses is kept in
    ``drafts`` (field -> (text, reason)) until corrected, and Reset is refused meanwhile. What the
    fields show and the run (``model``) does not use yet is said, until Reset."""
    group = solara.use_reactive(_groups()[0])
    scen = scenario.value

    def draft_setter(key: str):
        return lambda d: set_draft(drafts, key, d)

    def back():
        drafts.value = {}
        overrides.value = {}

    with solara.Card("Seed and parameters"):
        NumberField("Seed", seed.value, seed_check, seed.set, drafts.value.get("seed"), draft_setter("seed"))
        changed = params_changed(scen, overrides.value)
        solara.Text(f"{changed_words(len(changed))} from the scenario's values; changes take effect at Reset.",
                    style="font-size:0.85em", classes=["peacesim-changed"])
        waiting = not_in_run(model.value, scen, seed.value, overrides.value) if model is not None else []
        # always drawn (empty when the run is the one shown): a line that came and went above the
        # fields would make each of them a new one, and a slider being dragged would be dropped
        solara.HTML("div", html.escape(f"Not in the run yet: {'; '.join(waiting)}. Reset starts a run with "
                                       "the values shown.") if waiting else "",
                    classes=["peacesim-not-in-run"] if waiting else [],
                    style="color:#8a4b00;border-left:4px solid #b26a00;padding:0.2em 0.6em;font-size:0.85em"
                    if waiting else "display:none")
        solara.Select(label="Group of parameters", value=group.value, values=_groups(), on_value=group.set)
        for p in REGISTRY.values():
            if p.group != group.value:
                continue
            value = overrides.value.get(p.name, scen.params[p.name])

            def set_value(v, name=p.name, param=p):
                try:  # a value the model would refuse at Reset is refused here, where it was given
                    v = coerce(param, v, where="parameters")
                except InputError as exc:
                    draft_setter(name)((str(v), str(exc)))
                    return
                new = dict(overrides.value)
                if v == scen.params[name]:
                    new.pop(name, None)
                else:
                    new[name] = v
                overrides.value = new
            ParamControl(p, value, set_value, anchors=(scen.params[p.name],), draft=drafts.value.get(p.name),
                         on_draft=draft_setter(p.name))
        for key, (_, problem) in drafts.value.items():
            kept = seed.value if key == "seed" else overrides.value.get(key, scen.params.get(key))
            Message(f"{problem}. Not applied: {'the seed' if key == 'seed' else key} stays {kept}, and Reset waits "
                    f"until the field is corrected.", False)
        if changed or drafts.value:
            solara.Button("Back to the scenario's values", on_click=back, text=True)


def actor_options(roster, roles, required: bool, current: str) -> tuple[list[str], str]:
    """The actors an argument may name (of ``roles``, not withdrawn; '' first where the argument
    may be left to the model) and the one shown: ``current`` if it is among them, else the first."""
    options = [n for n in roster.candidates(roles) if n not in roster.withdrawn]
    if not required:
        options = [""] + options
    return options, (current if current in options else options[0] if options else "")


def arguments_for(kind: str, values: dict[str, Any], m) -> dict[str, Any]:
    """The arguments of intervention ``kind`` as the card shows them: the values given
    (``values``), else each argument's default, an actor the run has, the value in force."""
    spec = INTERVENTIONS[kind]
    roster = m.roster()
    args: dict[str, Any] = {}
    for name, p in spec.args.items():
        current = values.get(name, p.default)
        if name in spec.roles:
            options, current = actor_options(roster, spec.roles[name], p.required, current)
        elif kind == "set" and name == "name":
            current = current if current in REGISTRY and current not in FIXED_AT_START else "post_signature_support"
        elif kind == "set" and name == "value":
            current = values.get("value", getattr(m.p, values.get("name", "post_signature_support")))
        elif current == "" and p.kind in ("float", "int"):
            current = p.low or 0
        args[name] = current
    return args


@solara.component
def InterventionCard(model: solara.Reactive, lock):
    m = model.value
    kind = solara.use_reactive("rotate")
    values = solara.use_reactive({})
    drafts = solara.use_reactive({})  # argument -> (text, reason) of an entry that was not applied
    message = solara.use_reactive(("", "", None))  # (ok or error, text, id of the model it was about)
    # The lists of actors and the value in force of a parameter change when an intervention is
    # applied, the scenario's planned ones too (a session's re-run file adds and withdraws actors
    # at their months): the card, not drawn again every month, is drawn again when one is.
    applied = solara.use_reactive(len(m.applied_interventions))
    applied.get()
    spec = INTERVENTIONS[kind.value]
    roster = m.roster()

    def choose_kind(k):
        kind.set(k)
        values.set({})
        drafts.set({})
        message.set(("", "", None))

    with solara.Card("Intervene now"):
        solara.Select(label="Intervention", value=kind.value, values=list(INTERVENTIONS), on_value=choose_kind)
        solara.Text(spec.meaning, style="font-size:0.85em")
        args: dict[str, Any] = {}
        for name, p in spec.args.items():
            current = values.value.get(name, p.default)

            def set_arg(v, name=name):
                values.value = {**values.value, name: v}

            def on_draft(d, name=name):
                set_draft(drafts, name, d)
            if name in spec.roles:
                options, current = actor_options(roster, spec.roles[name], p.required, current)
                solara.Select(label=name + ("" if p.required else " ('' = any)"), value=current, values=options,
                              on_value=set_arg)
            elif kind.value == "set" and name == "name":
                options = [n for n in REGISTRY if n not in FIXED_AT_START]
                current = current if current in options else "post_signature_support"

                def choose_parameter(v):  # another parameter: the value typed for the last one goes
                    values.value = {**{k: x for k, x in values.value.items() if k != "value"}, "name": v}
                    drafts.value = {}
                solara.Select(label="parameter", value=current, values=options, on_value=choose_parameter)
            elif kind.value == "set" and name == "value":
                pname = values.value.get("name", "post_signature_support")
                target = REGISTRY[pname]
                now = getattr(m.p, pname)  # the value in force now (an earlier 'set' may have changed it)
                current = values.value.get("value", now)
                ParamControl(target, current, set_arg, anchors=(now, m.scenario_spec.params[pname]),
                             draft=drafts.value.get(name), on_draft=on_draft, where=f"set {pname}")
            else:
                if current == "" and p.kind in ("float", "int"):
                    current = p.low or 0
                ParamControl(p, current, set_arg, draft=drafts.value.get(name), on_draft=on_draft, where=kind.value)
            args[name] = current
        if kind.value == "set" and args.get("name") not in REGISTRY:
            args["name"] = "post_signature_support"

        shown_kind = kind.value

        def apply():
            if drafts.value:  # a field shows an entry that was refused: its last valid value is not used
                message.set(("error", f"Not applied: {drafts_problem(drafts.value)}. Correct the field first.", id(m)))
                return
            # the intervention chosen now: a click can come before the card is drawn again for it
            # (the page drawn meanwhile in another thread), and these are the arguments of the last
            chosen = kind.value
            try:
                with lock:
                    if model.value is not m:
                        return  # the card is being drawn again for another model
                    given = args if chosen == shown_kind else arguments_for(chosen, values.value, m)
                    required = INTERVENTIONS[chosen].args
                    empty = empty_text(chosen, given)
                    if empty:
                        raise InputError(empty)
                    m.intervene(chosen, **{k: v for k, v in given.items() if v != "" or required[k].required})
                    when = m.facilitator[-1]["month"]  # as recorded: ▶ may step on before the line is written
            except InputError as exc:
                said = str(exc)
                message.set(("error", said if said.startswith("Not applied") else f"Not applied: {said}", id(m)))
                return
            message.set(("ok", f"{chosen} applied: it takes effect at the start of month {when}.", id(m)))
            force_update()
        # Keyed: the arguments above it are as many as the intervention has, so by its position it
        # would be a new button for each intervention chosen, and the old one (still on the page
        # until the browser has drawn the new one, after the new description) drops a click.
        # Kept, it calls the handler of the last render.
        ApplyButton(model, apply, applied).key("apply-intervention")
        # about this run only: after a Reset or another scenario, "applied" would name an
        # intervention the new run does not have
        if message.value[0] and message.value[2] == id(m):
            Message(message.value[1], ok=message.value[0] == "ok")


def empty_text(kind: str, args: dict[str, Any]) -> str:
    """Why the intervention ``kind`` cannot be applied with a text field left empty ('' when
    none is): a new mediator's name, typed in the card."""
    spec = INTERVENTIONS[kind]
    for name, p in spec.args.items():
        value = args.get(name)
        if p.required and p.kind == "str" and name not in spec.roles and isinstance(value, str) and not value.strip():
            if name == "name":
                return f"Not applied: {kind}: name cannot be empty; type the name the story will use, one no other actor has"
            return f"Not applied: {kind}: {name} cannot be empty; expected {p.meaning}"
    return ""


@solara.component
def ApplyButton(model: solara.Reactive, apply, applied: solara.Reactive | None = None):
    """The intervention card's button, drawn again every month (the card is not): disabled, with a
    line saying why, once the run has reached its horizon. It tells the card (``applied``) how many
    interventions the run has applied, so that the card is drawn again when that changes."""
    update_counter.get()
    ended = not model.value.running
    count = len(model.value.applied_interventions)

    def follow():
        if applied is not None and applied.value != count:
            applied.value = count
    solara.use_effect(follow, [count, id(model.value)])
    with solara.Column(style="align-items:flex-start;gap:0.3em"):  # the button keeps its width either way
        solara.Button("Apply intervention", color="secondary", on_click=apply, disabled=ended)
        if ended:
            solara.Text("The run has ended: Reset or choose a scenario to intervene again.", style="font-size:0.85em")


# ------------------------------------------------------------------------------------------ the run
class Shown:
    """The last update of the run (Mesa's ``update_counter``) that the page's views have drawn:
    the play loop waits for it before the next month."""

    def __init__(self):
        self.tick = -1
        self._changed = threading.Condition()

    def mark(self, tick: int) -> None:
        with self._changed:
            self.tick = max(self.tick, tick)
            self._changed.notify_all()

    def wait(self, tick: int, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self.tick >= tick, timeout)


@solara.component
def RunController(model: solara.Reactive, params: solara.Reactive, playing: solara.Reactive, lock,
                  play_interval: solara.Reactive, render_interval: solara.Reactive, blocked: Callable[[], str],
                  shown: Shown | None = None):
    """Reset, play/pause (▶) and Step, as Mesa's ``ModelController`` has them, with two differences.

    - Whether the run can go on is the model's own ``running``, read when the buttons are drawn:
      a model built for another scenario (or by Reset) can be stepped and played at once, whatever
      the last one did.
    - Every change of the model (a month, a reset, a new scenario, an intervention) is made under
      ``lock``, and the play loop checks, under it, that it is still playing this model before it
      steps: a Reset or a new scenario during play stops the loop, and the new model stays at month 0.

    ``blocked()`` says why Reset must wait ('' when it need not): a field shows an entry that was
    not applied, so the run would not be the one the page shows.

    ▶ steps a month only once the views show the last one (``shown``): a click draws the page in
    its own thread, and a month stepped every pause meanwhile made that pass start again and again,
    until Solara gave up on it ('Too many renders triggered') and the click was lost.
    """
    m = model.value
    error = solara.use_reactive("")
    # what a refused Reset was refused for: the refusal is shown while that still holds (a field
    # corrected, or other parameters given, and it goes)
    refused_for = solara.use_reactive(None)
    ended = solara.use_reactive(0)  # counts runs that reached their horizon: the buttons are drawn again
    loop = solara.use_memo(lambda: {"token": None}, [])  # the one play loop that may step

    def advance(current) -> None:
        """The months of one step (the "Months per step" slider) of ``current``; under ``lock``."""
        for _ in range(max(1, int(render_interval.value))):
            current.step()
            if not current.running:
                ended.value = ended.value + 1
                break

    def play():
        current, me = model.value, object()
        loop["token"] = me  # a loop still asleep from an earlier ▶ stops when it wakes
        while playing.value:
            time.sleep(play_interval.value / 1000)
            try:
                with lock:
                    if not playing.value or model.value is not current or loop["token"] is not me:
                        return  # paused, reset, another scenario chosen, or ▶ pressed again meanwhile
                    advance(current)
                    if not current.running:
                        playing.value = False
            except Exception as exc:  # shown on the page, as Mesa's controller does
                traceback.print_exc()
                playing.value = False
                error.value = f"error in step: {exc}"
                return
            force_update()
            if shown is not None:
                shown.wait(update_counter.value, timeout=30)

    solara.lab.use_task(play, dependencies=[playing.value, id(m)], prefer_threaded=True)

    def step():
        with lock:
            current = model.value
            if playing.value or not current.running:
                return
            advance(current)
        force_update()

    def refusal_state():
        return blocked(), repr(params.value)

    def reset():
        why = blocked()
        if why:
            error.value = f"Not reset: {why}. Correct the field first, or go back to the scenario's values."
            refused_for.value = refusal_state()
            return
        try:
            new = type(m)(**params.value)
        except InputError as exc:
            error.value = f"Not reset: {exc}"
            refused_for.value = refusal_state()
            return
        with lock:
            playing.value = False
            model.value = new
        error.value = ""
        force_update()

    ended.get()  # read, so that the end of a run draws the buttons again
    # wrapped onto two lines where the column is narrow (a 1024-pixel projector): on one line they
    # ran out of the card, Reset half cut off
    with solara.Row(justify="space-between", classes=["peacesim-run-buttons"]):
        solara.Button(label="Reset", color="primary", on_click=reset)
        solara.Button(label="❚❚" if playing.value else "▶", color="primary",
                      on_click=lambda: playing.set(not playing.value), disabled=not m.running)
        solara.Button(label="Step", color="primary", on_click=step, disabled=playing.value or not m.running)
    stale = refused_for.value is not None and refused_for.value != refusal_state()
    if error.value and error.value.startswith("Not reset: ") and stale:
        pass  # the fields a Reset was refused for have changed since: the refusal no longer applies
    elif error.value:
        Message(error.value, ok=False)


class LeaveGuardWidget(ipyvuetify.VuetifyTemplate):
    """Asks the browser to confirm before the page is left (reloaded, closed, navigated away)
    while ``armed``: the tab's run lives in the server's session of this page, and a reload starts
    a new one. Nothing is loaded: the page's own Vue runs the script.

    Solara's page ends its session in its own ``beforeunload`` listener, which runs before this
    one, so a participant who chose to stay would find a page that no longer answers. While armed,
    the two things that listener does during ``beforeunload`` (closing the connection to the
    server, and the request that frees the session there) are held back, and done when the page is
    really left (``pagehide``). The connection is found through ``solara.debug.kernel()``; without
    it the browser still asks, but staying keeps a page without its session."""

    armed = traitlets.Bool(False).tag(sync=True)
    template = traitlets.Unicode("""
<template><span class="peacesim-leave-guard" :data-armed="armed ? 'yes' : 'no'" style="display:none"></span></template>
<script>
module.exports = {
  mounted() {
    const guard = this;
    guard.held = {};
    guard.leaving = false;
    const holding = () => guard.armed && !guard.leaving && window.event && window.event.type === 'beforeunload';
    const debug = window.solara && window.solara.debug;
    const kernel = debug && typeof debug.kernel === 'function' ? debug.kernel() : null;
    if (kernel && typeof kernel.dispose === 'function') {
      const dispose = kernel.dispose;
      kernel.dispose = function (...args) {
        if (holding()) {
          guard.held.dispose = () => dispose.apply(kernel, args);
          return undefined;
        }
        return dispose.apply(kernel, args);
      };
      guard.restoreKernel = () => { kernel.dispose = dispose; };
    }
    const beacon = navigator.sendBeacon;
    navigator.sendBeacon = function (url, data) {
      if (holding() && String(url).includes('/_solara/api/close/')) {
        guard.held.beacon = () => beacon.call(navigator, url, data);
        return true;
      }
      return beacon.call(navigator, url, data);
    };
    guard.restoreBeacon = () => { navigator.sendBeacon = beacon; };
    guard.onLeave = (event) => {
      if (!guard.armed) {
        guard.held = {};  // Solara's listener has just done its work itself
        return undefined;
      }
      event.preventDefault();
      event.returnValue = '';  // older browsers ask for this to show their dialog
      return '';
    };
    guard.onHide = () => {  // left after all: what Solara would have done
      guard.leaving = true;
      const held = [guard.held.beacon, guard.held.dispose];
      guard.held = {};
      held.forEach((f) => {
        try {
          if (f) f();
        } catch (err) {
          console.warn('peacesim: closing the session', err);
        }
      });
    };
    window.addEventListener('beforeunload', guard.onLeave);
    window.addEventListener('pagehide', guard.onHide);
  },
  beforeDestroy() {
    window.removeEventListener('beforeunload', this.onLeave);
    window.removeEventListener('pagehide', this.onHide);
    if (this.restoreKernel) this.restoreKernel();
    this.restoreBeacon();
  },
};
</script>
""").tag(sync=True)


def session_in_progress(m, overrides: dict) -> bool:
    """Whether leaving the page would lose something: a month stepped, an intervention, a parameter
    changed."""
    return bool(m.month or m.facilitator or overrides)


@solara.component
def LeaveGuard(model: solara.Reactive, overrides: solara.Reactive):
    update_counter.get()  # drawn again as the run moves; it only sends its flag when that changes
    LeaveGuardWidget.element(armed=session_in_progress(model.value, overrides.value))


# ------------------------------------------------------------------------------------------ views
@solara.component
def StatusBanner(model: solara.Reactive, tick: int = 0):
    m = model.value
    with m.changing:  # not a month half-way through its step by the play loop
        month, phase, status = m.month, m.phase.label, _status(m)
    with solara.Row(style="align-items:baseline;gap:1.5em;flex-wrap:wrap"):
        solara.HTML("div", f"Month {month} / {m.months}", style=BIG, classes=["peacesim-month"])
        solara.HTML("div", phase.upper(), style=f"{BIG};color:{PHASE_CSS.get(phase, '#212121')}",
                    classes=["peacesim-phase"])
    solara.HTML("div", status, style="font-size:1.9em;font-weight:600", classes=["peacesim-agreement"])


def _status(m) -> str:
    """The agreement's status in a line."""
    ag = m.agreement
    if ag is not None:
        status = f"Agreement in force since month {ag.signed_month}: {m.implementation_progress:.0%} implemented"
    elif m.episodes:
        last = m.episodes[-1]
        if last.consolidated:
            status = f"Peace consolidated in month {last.end_month} (the agreement of month {last.signed_month})"
        elif not last.relapsed:  # censored: the run ended with the agreement still holding
            status = (f"The agreement of month {last.signed_month} still held when the run ended "
                      f"(month {last.end_month}): {last.implementation_reached:.0%} implemented")
        else:
            status = (f"No agreement in force (the last one, of month {last.signed_month}, relapsed in month "
                      f"{last.end_month})")
    elif not m.running:
        status = f"No agreement was reached in the {m.month} months of the run"
    else:
        status = "No agreement yet"
    return status


@solara.component
def Picture(draw, dependencies: list, classes: str = ""):
    """An SVG image drawn by ``draw()`` (bytes), redrawn only when ``dependencies`` change."""
    data = solara.use_memo(draw, dependencies)
    return rw.Image(value=data, format="svg+xml", layout={"width": "100%"})


def _deps(m) -> list:
    return [id(m), m.month, len(m.applied_interventions)]


@solara.component
def TimelineView(model: solara.Reactive, tick: int = 0):
    m = model.value
    Picture(lambda: timeline_svg(m.result(), title=f"{m.scenario_spec.name}, seed {m.seed}"), _deps(m))


@solara.component
def NetworkView(model: solara.Reactive, tick: int = 0):
    m = model.value
    def draw():
        with m.changing:
            graph, month = m.network(), m.month
        return network_svg(graph, title=f"The actors at month {month}")

    Picture(draw, _deps(m))


@solara.component
def NarrativeFeed(model: solara.Reactive, tick: int = 0):
    m = model.value
    with m.changing:
        events = m.events.frame() if len(m.events) else None
        horizon = m.months if m.month >= m.months else None  # played to its end: what outlasts it is said to
    lines = render(events, horizon=horizon) if events is not None else []
    with solara.Card("What happened (newest first)"):
        if not lines:
            solara.Text("Nothing yet: step the model.")
        with solara.Column(classes=["peacesim-narrative"], style="gap:0.2em"):
            for line in reversed(lines[-FEED_LINES:]):
                iv = "Intervention" in line
                solara.HTML("div", html.escape(line), style="font-size:1.15em;" + ("color:#ad1457;font-weight:600" if iv else ""))


@solara.component
def StandingView(model: solara.Reactive, tick: int = 0):
    m = model.value
    shown = solara.use_reactive(False)
    # a column: inline, the sentence ran on beside the button
    with solara.Card("Where does our run stand?"), solara.Column(style="gap:0.6em"):
        with solara.Row():
            solara.Button("Show the spread over many seeds", on_click=lambda: shown.set(True), disabled=shown.value)
        if shown.value:
            sp = spread(m.base_scenario, m.overrides)
            if m.month:
                st = sp.standing(m.result())
                solara.Text(f"By month {st['month']}, {st['less_violent_share']:.0%} of {sp.n} runs of the same "
                            f"scenario had seen less violence than ours; {st['in_force_share']:.0%} had an agreement "
                            f"in force, and ours {'does' if st['in_force'] else 'does not'}.",
                            style="font-size:1.15em", classes=["peacesim-standing"])
            Picture(lambda: spread_svg(sp, m.result()), [*_deps(m), id(sp)])


def save_link(data: bytes, filename: str, mime: str, label: str, cls: str) -> str:
    """A link that saves ``data`` as ``filename``: a data URI, so nothing more is fetched from the server."""
    uri = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    return (f'<a href="{uri}" download="{html.escape(filename)}" class="{cls}" '
            f'style="font-size:1.1em;font-weight:600;margin-right:1.5em">{html.escape(label)}</a>')


#: The exports of every tab of this server (see DebriefCard).
_EXPORTS = Exports()


def server_exports() -> Exports:
    return _EXPORTS


@solara.component
def DebriefCard(model: solara.Reactive, tick: int = 0, lock=None, exports: Exports | None = None):
    """The debrief's export. ``exports`` numbers the exports (the page passes the server's, shared
    by every tab: the groups of a class, each on seed 1, export different runs of one scenario): an
    export whose re-run file differs from the earlier ones' gets files and a results folder of its
    own, so that re-running the second export never replaces (or mixes with) the re-run of the
    first."""
    m = model.value
    own = solara.use_memo(Exports, [])
    exports = exports if exports is not None else own
    ready = solara.use_reactive(None)  # (model id, month, interventions, export, links) of the last export

    def export():
        # under the tab's lock: a month stepped by Play while the debrief reads the run would mix
        # two months in one file (Play waits for the export)
        with lock if lock is not None else contextlib.nullcontext():
            done = exports.export(m)
            debrief = debrief_html(m, export=done).encode("utf-8")
            replay = replay_toml(m, filename=done.replay_name, name=done.scenario_name).encode("utf-8")
            state = (id(m), m.month, len(m.facilitator))
        links = (save_link(debrief, done.debrief_name, "text/html", "Save the debrief (HTML)", "peacesim-save-debrief")
                 + save_link(replay, done.replay_name, "application/toml", "Save the re-run file", "peacesim-save-replay"))
        ready.set((*state, done, links))

    # a column: as inline text, the button sat in the middle of the lines around it
    with solara.Card("Debrief"), solara.Column(style="gap:0.6em;align-items:flex-start"):
        solara.Text("One HTML file with the settings, the interventions, the story and the figures, beside the same "
                    "seed without our interventions; and the scenario file that re-runs the session exactly.")
        solara.Button("Export the debrief", on_click=export, color="primary")
        current = ready.value is not None and ready.value[:3] == (id(m), m.month, len(m.facilitator))
        if current:
            done = ready.value[3]
            solara.HTML("div", ready.value[4], classes=["peacesim-debrief-links"])
            solara.HTML("div", html.escape(export_note(done)), classes=["peacesim-export-note"],
                        style="font-size:0.9em")
        elif ready.value is not None:
            solara.Text("The run has moved on since the last export: export again for the current month.")
        # the file of this run's last export (the run may have moved on since): the one saved last
        replay_name = ready.value[3].replay_name if ready.value is not None and ready.value[0] == id(m) else REPLAY_NAME
        solara.Text(f"Re-run: peacesim run {replay_name} --seed {m.seed}", style="font-family:monospace")


def export_note(done) -> str:
    """What the page says of an export: which one it is, and where its re-run goes."""
    where = f"peacesim run {done.replay_name} writes the re-run into {done.folder}"
    if done.again:
        return (f"Export {done.number} again: the run's seed, parameters and interventions are those of export "
                f"{done.number}, so its re-run is the same run; {where}.")
    if done.number == 1:
        return f"Export 1: {where}."
    return (f"Export {done.number} (of this scenario from this dashboard), with its own file names: {where}, beside "
            "the re-runs of the earlier exports (none is replaced).")


@solara.component
def ScenarioInfo(scenario):
    scen = scenario.value
    with solara.Card():
        # the title in full, on as many lines as it takes (a card's own title is one line, cut
        # with an ellipsis: "Crowded field: six mediators, two quasi-mediating pow...")
        solara.HTML("div", html.escape(scen.title), classes=["peacesim-title"],
                    style="font-size:1.25rem;font-weight:500;line-height:1.35;margin-bottom:0.5em")
        # plain HTML, not Markdown: Solara's Markdown loads KaTeX, which solara-assets does not ship
        solara.HTML("p", html.escape(scen.description), classes=["peacesim-description"])
        if scen.learning_points:
            solara.HTML("div", "<b>Learning points</b><ul>" + "".join(f"<li>{html.escape(p)}</li>"
                                                                     for p in scen.learning_points) + "</ul>",
                        classes=["peacesim-learning"])
        if scen.note:
            solara.Text(scen.note, style="font-style:italic")


# ------------------------------------------------------------------------------------------ the page
@solara.component
def Page():
    first, problem = solara.use_memo(opening, [])
    scenario = solara.use_reactive(first)
    first_seed = file_seed(first, 1)
    seed = solara.use_reactive(first_seed)
    overrides = solara.use_reactive({})
    drafts = solara.use_reactive({})  # fields showing an entry that was not applied: field -> (text, reason)
    error = solara.use_reactive(problem)
    # The tab's own model, built when its page session starts.
    initial = solara.use_memo(lambda: ClassroomModel(**model_kwargs(first, first_seed)), [])
    model = solara.use_reactive(initial)
    params = solara.use_reactive(model_kwargs(first, first_seed))
    playing = solara.use_reactive(False)
    lock = solara.use_memo(threading.RLock, [])  # around every change of the tab's model
    play_interval = solara.use_reactive(400)
    shown = solara.use_memo(Shown, [])  # the update the views last drew, which ▶ waits for
    exports = server_exports()  # numbered for every tab of this server
    render_interval = solara.use_reactive(1)

    def sync(scen=None):
        params.value = model_kwargs(scen or scenario.value, seed.value, overrides.value)

    solara.use_effect(lambda: sync(), [seed.value, repr(overrides.value)])

    pending = solara.use_reactive(None)  # a scenario chosen while a run is in progress: Load or Cancel

    def load(scen):
        error.value = ""
        pending.value = None
        own = file_seed(scen, None)  # a file with a seed (a session's re-run file) runs with it
        use = own if own is not None else seed.value
        new = ClassroomModel(**model_kwargs(scen, use, {}))
        with lock:  # as Reset does: a play loop stops, and the new run starts at month 0
            playing.value = False
            scenario.value = scen
            overrides.value = {}
            drafts.value = {k: x for k, x in drafts.value.items() if k == "seed" and own is None}
            seed.value = use
            params.value = model_kwargs(scen, use, {})
            model.value = new
        force_update()

    def choose(scen):
        """A scenario chosen or dropped: loaded at once when nothing would be lost, otherwise once
        the participant confirms that the run (and its interventions) may go."""
        error.value = ""
        if session_in_progress(model.value, overrides.value):
            pending.value = scen
        else:
            load(scen)

    solara.Title("peacesim classroom")
    solara.Style(PAGE_CSS)
    LeaveGuard(model, overrides)
    with solara.Columns([1, 3], style="padding:0.5em"):
        with solara.Column():
            solara.HTML("div", "peacesim: a peace process in class", style="font-size:1.5em;font-weight:700")
            with solara.Card("Run"):
                RunController(model, params, playing, lock, play_interval, render_interval,
                              blocked=lambda: drafts_problem(drafts.value), shown=shown)
                ValueSlider("Pause between steps (ms)", play_interval.value, play_interval.set, 50, 2000, 50)
                ValueSlider("Months per step", render_interval.value, render_interval.set, 1, 24)
            # Beside the run's controls, above the fold. It is drawn again when the model is replaced
            # or when an intervention is applied, not every month (its lists change only then).
            InterventionCard(model, lock)
            ScenarioCard(scenario, choose, error, pending, lambda: ConfirmLoad(model, overrides, pending, load))
            if error.value:
                Message(error.value, ok=False)
            # keyed: the line above comes and goes, and by its position the card would be a new one
            # (the group of parameters it shows back at the first)
            ParametersCard(scenario, overrides, seed, drafts, model).key("parameters-card")
        RunViews(model, scenario, lock, shown, exports)


@solara.component
def RunViews(model: solara.Reactive, scenario: solara.Reactive, lock=None, shown: Shown | None = None,
             exports: Exports | None = None):
    """Everything that shows the run: redrawn, in one pass, whenever the model moves (a step, a
    reset, an intervention: Mesa's ``force_update``). Only this component reads the update counter,
    so a month stepped costs one render of this part of the page, not one per view. The views take
    the counter as ``tick``: a prop that changes, so that each of them is drawn again."""
    tick = update_counter.get()
    # drawn (the effect runs once the pass that drew this update is done): ▶ may step on
    solara.use_effect(lambda: shown.mark(tick) if shown is not None else None, [tick])
    with solara.Column():
        StatusBanner(model, tick)
        TimelineView(model, tick)  # the full width, so its type can be read on a projector
        with solara.Columns([1, 1]):
            with solara.Column():
                NetworkView(model, tick)
                ScenarioInfo(scenario)
            with solara.Column():
                NarrativeFeed(model, tick)
                DebriefCard(model, tick, lock, exports)
        # the full width, as the timeline: in half of it, the figure's type was a few pixels high
        StandingView(model, tick)
