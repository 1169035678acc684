"""The classroom dashboard page (Solara, on Mesa's SolaraViz parts).

Run it with ``peacesim dashboard [SCENARIO]``. Each browser tab builds its own model when its page
session starts (never at module level: a model built here would be shared by every visitor). Mesa's
``ModelController`` steps, plays, pauses and resets it; reset rebuilds the model from the tab's
scenario, parameters and seed, so the same seed replays the same run.

There is no code console: participants choose from lists and move sliders, and whatever they type
(a seed, a name) is validated by the parameter and intervention registries, never executed.
"""

from __future__ import annotations

import base64
import html
import os
from typing import Any

import reacton.ipywidgets as rw
import solara
from mesa.visualization.solara_viz import ModelController
from mesa.visualization.utils import force_update, update_counter

from ..errors import InputError
from ..interventions import FIXED_AT_START, INTERVENTIONS
from ..narrative import render
from ..params import REGISTRY, Param, coerce
from ..result import RunResult
from ..scenario import list_scenarios, load_scenario
from .debrief import REPLAY_NAME, debrief_html
from .figures import network_svg, spread_svg, timeline_svg
from .session import ClassroomModel, load_upload, model_kwargs, params_changed, replay_toml, spread

#: The scenario a new tab opens with (``peacesim dashboard SCENARIO`` sets it).
SCENARIO_ENV = "PEACESIM_DASHBOARD_SCENARIO"
FEED_LINES = 14
BIG = "font-size:3.2em;font-weight:700;line-height:1.1"
PHASE_CSS = {"conflict": "#c62828", "talks": "#b26a00", "implementation": "#1565c0", "consolidated": "#2e7d32"}


def shipped() -> list[str]:
    return [p.stem for p in list_scenarios()]


def start_scenario():
    return load_scenario(os.environ.get(SCENARIO_ENV) or "reference")


def _groups() -> list[str]:
    return list(dict.fromkeys(p.group for p in REGISTRY.values()))


# ------------------------------------------------------------------------------------------ controls
@solara.component
def Message(text: str, ok: bool):
    """A one-line confirmation (green) or error (red)."""
    colour = "#1b5e20" if ok else "#b71c1c"
    solara.HTML("div", html.escape(text), classes=["peacesim-ok" if ok else "peacesim-error"],
                style=f"color:{colour};border-left:4px solid {colour};padding:0.3em 0.6em;font-weight:600")


@solara.component
def ParamControl(p: Param, value: Any, on_value):
    label = f"{p.name}" + (f" ({p.unit})" if p.unit else "")
    if p.kind == "choice":
        solara.Select(label=label, value=value, values=list(p.choices), on_value=on_value)
    elif p.kind == "bool":
        solara.Checkbox(label=label, value=bool(value), on_value=on_value)
    elif p.kind == "int":
        if p.high is not None and p.low is not None and p.high - p.low <= 600:
            solara.SliderInt(label=label, value=int(value), min=int(p.low), max=int(p.high), on_value=on_value)
        else:
            solara.InputInt(label=label, value=int(value), on_value=on_value)
    elif p.kind == "float":
        lo, hi = float(p.low if p.low is not None else 0.0), float(p.high if p.high is not None else 1.0)
        solara.SliderFloat(label=label, value=float(value), min=lo, max=hi, step=(hi - lo) / 100, on_value=on_value)
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


@solara.component
def ScenarioCard(scenario: solara.Reactive, choose, error: solara.Reactive):
    scen = scenario.value
    names = shipped()
    with solara.Card("Scenario"):
        solara.Select(label="Shipped scenario", value=scen.name if scen.name in names else None, values=names,
                      on_value=lambda name: choose(load_scenario(name)))

        solara.FileDrop(label="...or drop a scenario file (.toml) here", on_file=upload_handler(choose, error),
                        lazy=False)


@solara.component
def ParametersCard(scenario, overrides: solara.Reactive, seed: solara.Reactive):
    group = solara.use_reactive(_groups()[0])
    problem = solara.use_reactive("")
    scen = scenario.value
    with solara.Card("Seed and parameters"):
        solara.InputInt("Seed", value=seed.value, on_value=lambda v: seed.set(max(0, int(v))))
        changed = params_changed(scen, overrides.value)
        solara.Text(f"{len(changed)} parameter(s) changed from the scenario's values; changes take effect at Reset.",
                    style="font-size:0.85em")
        solara.Select(label="Group of parameters", value=group.value, values=_groups(), on_value=group.set)
        for p in REGISTRY.values():
            if p.group != group.value:
                continue
            value = overrides.value.get(p.name, scen.params[p.name])

            def set_value(v, name=p.name, param=p):
                try:  # a value the model would refuse at Reset is refused here, where it was typed
                    v = coerce(param, v, where="parameters")
                except InputError as exc:
                    problem.value = str(exc)
                    return
                problem.value = ""
                new = dict(overrides.value)
                if v == scen.params[name]:
                    new.pop(name, None)
                else:
                    new[name] = v
                overrides.value = new
            ParamControl(p, value, set_value)
        if problem.value:
            Message(problem.value, False)
        if changed:
            solara.Button("Back to the scenario's values", on_click=lambda: overrides.set({}), text=True)


@solara.component
def InterventionCard(model: solara.Reactive):
    m = model.value
    kind = solara.use_reactive("rotate")
    values = solara.use_reactive({})
    message = solara.use_reactive(("", ""))
    spec = INTERVENTIONS[kind.value]
    roster = m.roster()
    with solara.Card("Intervene now"):
        solara.Select(label="Intervention", value=kind.value, values=list(INTERVENTIONS),
                      on_value=lambda k: (kind.set(k), values.set({}), message.set(("", ""))))
        solara.Text(spec.meaning, style="font-size:0.85em")
        args: dict[str, Any] = {}
        for name, p in spec.args.items():
            current = values.value.get(name, p.default)

            def set_arg(v, name=name):
                values.value = {**values.value, name: v}
            if name in spec.roles:
                options = [n for n in roster.candidates(spec.roles[name]) if n not in roster.withdrawn]
                if not p.required:
                    options = [""] + options
                if current not in options:
                    current = options[0] if options else ""
                solara.Select(label=name + ("" if p.required else " ('' = any)"), value=current, values=options,
                              on_value=set_arg)
            elif kind.value == "set" and name == "name":
                options = [n for n in REGISTRY if n not in FIXED_AT_START]
                current = current if current in options else "post_signature_support"

                def choose_parameter(v):  # another parameter: the value typed for the last one goes
                    values.value = {**{k: x for k, x in values.value.items() if k != "value"}, "name": v}
                solara.Select(label="parameter", value=current, values=options, on_value=choose_parameter)
            elif kind.value == "set" and name == "value":
                pname = values.value.get("name", "post_signature_support")
                target = REGISTRY[pname]
                current = values.value.get("value", m.scenario_spec.params[pname])
                ParamControl(target, current, set_arg)
            else:
                if current == "" and p.kind in ("float", "int"):
                    current = p.low or 0
                ParamControl(p, current, set_arg)
            args[name] = current
        if kind.value == "set" and args.get("name") not in REGISTRY:
            args["name"] = "post_signature_support"

        def apply():
            try:
                m.intervene(kind.value, **{k: v for k, v in args.items() if v != "" or spec.args[k].required})
            except InputError as exc:
                message.set(("error", str(exc)))
                return
            message.set(("ok", f"{kind.value} applied: it takes effect at the start of month {m.month + 1}."))
            force_update()
        solara.Button("Apply intervention", color="secondary", on_click=apply, disabled=not m.running)
        if message.value[0]:
            Message(message.value[1], ok=message.value[0] == "ok")


# ------------------------------------------------------------------------------------------ views
@solara.component
def StatusBanner(model: solara.Reactive, tick: int = 0):
    m = model.value
    phase = m.phase.label
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
    else:
        status = "No agreement yet"
    with solara.Row(style="align-items:baseline;gap:1.5em;flex-wrap:wrap"):
        solara.HTML("div", f"Month {m.month} / {m.months}", style=BIG, classes=["peacesim-month"])
        solara.HTML("div", phase.upper(), style=f"{BIG};color:{PHASE_CSS.get(phase, '#212121')}",
                    classes=["peacesim-phase"])
    solara.HTML("div", status, style="font-size:1.9em;font-weight:600", classes=["peacesim-agreement"])


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
    Picture(lambda: timeline_svg(RunResult.from_model(m), title=f"{m.scenario_spec.name}, seed {m.seed}"), _deps(m))


@solara.component
def NetworkView(model: solara.Reactive, tick: int = 0):
    m = model.value
    Picture(lambda: network_svg(m.network(), title=f"The actors at month {m.month}"), _deps(m))


@solara.component
def NarrativeFeed(model: solara.Reactive, tick: int = 0):
    m = model.value
    lines = render(m.events.frame()) if len(m.events) else []
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
    with solara.Card("Where does our run stand?"):
        solara.Button("Show the spread over many seeds", on_click=lambda: shown.set(True), disabled=shown.value)
        if shown.value:
            sp = spread(m.base_scenario, m.overrides)
            if m.month:
                st = sp.standing(RunResult.from_model(m))
                solara.Text(f"By month {st['month']}, {st['less_violent_share']:.0%} of {sp.n} runs of the same "
                            f"scenario had seen less violence than ours; {st['in_force_share']:.0%} had an agreement "
                            f"in force, and ours {'does' if st['in_force'] else 'does not'}.",
                            style="font-size:1.15em", classes=["peacesim-standing"])
            Picture(lambda: spread_svg(sp, RunResult.from_model(m)), [*_deps(m), id(sp)])


def save_link(data: bytes, filename: str, mime: str, label: str, cls: str) -> str:
    """A link that saves ``data`` as ``filename``: a data URI, so nothing more is fetched from the server."""
    uri = f"data:{mime};base64," + base64.b64encode(data).decode("ascii")
    return (f'<a href="{uri}" download="{html.escape(filename)}" class="{cls}" '
            f'style="font-size:1.1em;font-weight:600;margin-right:1.5em">{html.escape(label)}</a>')


@solara.component
def DebriefCard(model: solara.Reactive, tick: int = 0):
    m = model.value
    ready = solara.use_reactive(None)  # (month, links) of the last export

    def export():
        links = (save_link(debrief_html(m).encode("utf-8"), "peacesim-debrief.html", "text/html",
                           "Save the debrief (HTML)", "peacesim-save-debrief")
                 + save_link(replay_toml(m, filename=REPLAY_NAME).encode("utf-8"), REPLAY_NAME, "application/toml",
                             "Save the re-run file", "peacesim-save-replay"))
        ready.set((id(m), m.month, len(m.facilitator), links))

    with solara.Card("Debrief"):
        solara.Text("One HTML file with the settings, the interventions, the story and the figures, beside the same "
                    "seed without our interventions; and the scenario file that re-runs the session exactly.")
        solara.Button("Export the debrief", on_click=export, color="primary")
        if ready.value is not None and ready.value[:3] == (id(m), m.month, len(m.facilitator)):
            solara.HTML("div", ready.value[3], classes=["peacesim-debrief-links"])
        elif ready.value is not None:
            solara.Text("The run has moved on since the last export: export again for the current month.")
        solara.Text(f"Re-run: peacesim run {REPLAY_NAME} --seed {m.seed}", style="font-family:monospace")


@solara.component
def ScenarioInfo(scenario):
    scen = scenario.value
    with solara.Card(scen.title):
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
    first = solara.use_memo(start_scenario, [])
    scenario = solara.use_reactive(first)
    seed = solara.use_reactive(1)
    overrides = solara.use_reactive({})
    error = solara.use_reactive("")
    # The tab's own model, built when its page session starts.
    initial = solara.use_memo(lambda: ClassroomModel(**model_kwargs(first, 1)), [])
    model = solara.use_reactive(initial)
    params = solara.use_reactive(model_kwargs(first, 1))
    play_interval = solara.use_reactive(400)
    render_interval = solara.use_reactive(1)
    use_threads = solara.use_reactive(False)

    def sync(scen=None):
        params.value = model_kwargs(scen or scenario.value, seed.value, overrides.value)

    solara.use_effect(lambda: sync(), [seed.value, repr(overrides.value)])

    def choose(scen):
        error.value = ""
        scenario.value = scen
        overrides.value = {}
        params.value = model_kwargs(scen, seed.value, {})
        model.value = ClassroomModel(**params.value)
        force_update()

    solara.Title("peacesim classroom")
    with solara.Columns([1, 3], style="padding:0.5em"):
        with solara.Column():
            solara.HTML("div", "peacesim: a peace process in class", style="font-size:1.5em;font-weight:700")
            with solara.Card("Run"):
                ModelController(model, model_parameters=params, play_interval=play_interval,
                                render_interval=render_interval, use_threads=use_threads)
                solara.SliderInt("Pause between months (ms)", value=play_interval, min=50, max=2000, step=50)
                solara.SliderInt("Months per step", value=render_interval, min=1, max=24)
            # Beside the run's controls, above the fold. It is drawn again when the model is replaced
            # or when an intervention is applied, not every month (its lists change only then).
            InterventionCard(model)
            ScenarioCard(scenario, choose, error)
            if error.value:
                Message(error.value, ok=False)
            ParametersCard(scenario, overrides, seed)
        RunViews(model, scenario)


@solara.component
def RunViews(model: solara.Reactive, scenario: solara.Reactive):
    """Everything that shows the run: redrawn, in one pass, whenever the model moves (a step, a
    reset, an intervention: Mesa's ``force_update``). Only this component reads the update counter,
    so a month stepped costs one render of this part of the page, not one per view. The views take
    the counter as ``tick``: a prop that changes, so that each of them is drawn again."""
    tick = update_counter.get()
    with solara.Column():
        StatusBanner(model, tick)
        TimelineView(model, tick)  # the full width, so its type can be read on a projector
        with solara.Columns([1, 1]):
            with solara.Column():
                NetworkView(model, tick)
                StandingView(model, tick)
                ScenarioInfo(scenario)
            with solara.Column():
                NarrativeFeed(model, tick)
                DebriefCard(model, tick)
