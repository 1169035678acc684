"""The classroom dashboard without a browser: the session logic, the re-run file, and the page's
components rendered with Solara's own testing helpers (``solara.render`` and ``rc.find``)."""

from __future__ import annotations

import html
import math
import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

solara = pytest.importorskip("solara")
import ipyvuetify as v  # noqa: E402
import ipywidgets  # noqa: E402
import solara.widgets  # noqa: E402

from peacesim.cli import main  # noqa: E402
from peacesim.dashboard import app  # noqa: E402
from peacesim.dashboard.debrief import debrief_html  # noqa: E402
from peacesim.dashboard.session import (  # noqa: E402
    ClassroomModel,
    counterfactual,
    load_upload,
    model_kwargs,
    replay_toml,
    spread,
)
from peacesim.errors import InputError  # noqa: E402
from peacesim.params import REGISTRY  # noqa: E402
from peacesim.result import RunResult  # noqa: E402
from peacesim.scenario import load_scenario  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_exports(monkeypatch):
    """Each test its own dashboard's exports (the page's are the server's, shared by its tabs)."""
    from peacesim.dashboard.session import Exports

    monkeypatch.setattr(app, "_EXPORTS", Exports())


def session(seed=7, scenario="reference", overrides=None):
    return ClassroomModel(**model_kwargs(load_scenario(scenario), seed, overrides))


def steps(m, n):
    for _ in range(n):
        m.step()


def class_run(seed=7):
    """A session with several kinds of intervention, one of them in a month the scenario plans one."""
    m = session(seed, overrides={"handover_quality": 0.8})
    steps(m, 20)
    m.intervene("cut_funding", actor="the mediation NGO", months=12)
    steps(m, 15)
    m.intervene("attack")
    m.intervene("pressure", party="armed group", strength=0.7)
    steps(m, 10)
    m.intervene("add_mediator", name="the Norwegian envoy", organisation="state")
    m.intervene("coordination", strategy="network")
    steps(m, 15)
    return m


# ------------------------------------------------------------------------------------------ the session
def test_the_re_run_file_gives_the_sessions_series_through_the_command_line(tmp_path):
    m = class_run()
    path = tmp_path / "session.toml"
    path.write_text(replay_toml(m, filename=str(path)), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--seed", str(m.seed), "--out", str(out), "--no-figure", "--quiet"]) == 0
    cli = pd.read_csv(out / "series.csv", float_precision="round_trip")
    ours = RunResult.from_model(m).series
    assert len(ours) == 60 and len(cli) == m.months
    for col in ours.columns:
        if col == "phase":
            assert list(cli[col][:60]) == list(ours[col].astype(str)), col
        else:
            assert np.array_equal(cli[col].to_numpy(dtype=float)[:60], ours[col].to_numpy(dtype=float)), col
    # the interventions are in the file with the months they took effect
    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    kinds = [(x["month"], x["kind"]) for x in doc["intervention"]]
    assert (21, "cut_funding") in kinds and (36, "attack") in kinds and (46, "add_mediator") in kinds
    assert doc["parameters"]["handover_quality"] == 0.8


def test_the_re_run_file_keeps_the_labels_of_the_scenarios_interventions(tmp_path):
    """An experiment varies a planned intervention by its label (``intervention.LABEL.month``): the
    session's file keeps the scenario's labels, and labels the facilitator's without taking one of
    them, so the file loads and re-runs the session exactly."""
    text = Path(load_scenario("reference").path).read_text(encoding="utf-8")
    text += ('\n[[intervention]]\nmonth = 30\nkind = "cut_funding"\nactor = "the mediation NGO"\nlabel = "early_cut"\n'
             '\n[[intervention]]\nmonth = 40\nkind = "rotate"\nactor = "the UN envoy"\n')
    own = tmp_path / "labelled.toml"
    own.write_text(text, encoding="utf-8")
    m = ClassroomModel(**model_kwargs(load_scenario(own), 7))
    steps(m, 10)
    m.intervene("cut_funding", actor="the mediation NGO", months=6)
    m.intervene("rotate", actor="the UN envoy")
    steps(m, 40)
    path = tmp_path / "session.toml"
    path.write_text(replay_toml(m, filename=str(path)), encoding="utf-8")
    again = load_scenario(path)
    assert [(x.month, x.kind, x.label) for x in again.interventions] == [
        (11, "cut_funding", "cut_funding"), (11, "rotate", "rotate_2"), (30, "cut_funding", "early_cut"),
        (40, "rotate", "rotate")]
    out = tmp_path / "out"
    assert main(["run", str(path), "--months", "50", "--out", str(out), "--no-figure", "--quiet"]) == 0
    cli = pd.read_csv(out / "series.csv", float_precision="round_trip")
    ours = RunResult.from_model(m).series
    assert np.array_equal(cli["violence"].to_numpy(dtype=float), ours["violence"].to_numpy(dtype=float))


def test_the_re_run_file_without_the_interventions_would_differ(tmp_path):
    """The comparison above can fail: the run without the facilitator's interventions is another run."""
    m = class_run()
    other = counterfactual(m)
    a, b = RunResult.from_model(m).series_array()[1], other.series_array()[1]
    assert a.shape == b.shape
    assert not np.array_equal(a, b)
    plain = session(7, overrides={"handover_quality": 0.8})
    steps(plain, 60)
    assert np.array_equal(RunResult.from_model(plain).series_array()[1], b)


def test_the_facilitators_interventions_are_kept_apart_from_the_scenarios_plan():
    m = class_run()
    assert [x["kind"] for x in m.facilitator] == ["cut_funding", "attack", "pressure", "add_mediator", "coordination"]
    assert [x["month"] for x in m.facilitator] == [21, 36, 36, 46, 46]
    assert m.facilitator[2]["party"] == "the armed group"  # names resolved as the model resolved them
    assert len(m.applied_interventions) >= len(m.facilitator)


def test_a_bad_intervention_is_one_line_and_changes_nothing():
    m = session()
    with pytest.raises(InputError, match="not a mediator or diplomat of the scenario; allowed"):
        m.intervene("rotate", actor="nobody")
    assert m.facilitator == []


def test_an_uploaded_scenario_with_a_bad_field_names_the_file_the_field_and_the_value():
    text = Path(load_scenario("reference").path).read_text(encoding="utf-8")
    bad = text.replace("strength = 0.6", "strength = 7.5", 1)
    with pytest.raises(InputError) as exc:
        load_upload("my_case.toml", bad.encode())
    msg = str(exc.value)
    assert "my_case.toml" in msg and "strength" in msg and "7.5" in msg and "\n" not in msg
    with pytest.raises(InputError, match="my_case.toml: not valid TOML"):
        load_upload("my_case.toml", b"[scenario\n")
    good = load_upload("my_case.toml", text.encode())
    assert good.name == "my_case" and good.actors["party"][0]["strength"] == 0.6


def test_the_spread_is_many_different_seeds_and_says_where_a_run_stands():
    scen = load_scenario("reference")
    sp = spread(scen, n=12)
    assert sp.violence.shape == (5, scen.params["months"])
    assert np.all(np.diff(sp.violence, axis=0) >= -1e-12)  # quantiles in order
    assert 0.0 < sp.in_force.max() <= 1.0
    assert len({tuple(r) for r in sp.total_violence[:, :60].round(9)}) == 12  # twelve different runs
    m = session()
    steps(m, 60)
    st = sp.standing(RunResult.from_model(m))
    assert st["month"] == 60 and 0.0 <= st["less_violent_share"] <= 1.0
    assert st["less_violent_share"] == float((sp.total_violence[:, 59] < st["total_violence"]).mean())
    assert spread(scen, n=12) is sp  # computed once for every tab


def test_the_debrief_is_self_contained_and_tells_the_session():
    m = class_run()
    text = debrief_html(m)
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", text)
    assert "<link" not in text and "<script" not in text
    assert text.count('src="data:image/svg+xml;base64,') == 4  # ours, without us, the spread, the network
    assert text.count("<img") == 4
    assert "Norwegian envoy" in text and "cut_funding" in text
    assert f"peacesim run peacesim-session.toml --seed {m.seed}" in text
    assert "What if we had not intervened?" in text
    # exported partway, it tells the run so far, not the horizon
    assert f"month {m.month} of 240 (" in text and "240 months (20 years)" not in text
    assert "the run ends" not in text and "never signed" not in text


def test_one_intervention_is_one_intervention_in_the_debrief_and_the_re_run_file():
    import base64

    m = session()
    steps(m, 3)
    m.intervene("attack")
    steps(m, 2)
    assert replay_toml(m).splitlines()[1] == "# Scenario 'reference', seed 7, 1 facilitator intervention."
    figures = [base64.b64decode(x).decode("utf-8")
               for x in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', debrief_html(m))]
    assert any("Our run (seed 7, 1 intervention)" in f for f in figures)
    assert not any("1 interventions" in f for f in figures)
    m.intervene("pressure", party="armed group", strength=0.7)
    assert replay_toml(m).splitlines()[1] == "# Scenario 'reference', seed 7, 2 facilitator interventions."


# ------------------------------------------------------------------------------------------ the page
def html_text(rc, cls):
    return [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets if cls in w.attributes.get("class", "")]


def button(rc, label):
    return rc.find(v.Btn, children=[label]).widget


def test_the_page_steps_its_own_model_and_two_pages_do_not_share_one():
    box1, rc1 = solara.render(app.Page(), handle_error=False)
    box2, rc2 = solara.render(app.Page(), handle_error=False)
    assert html_text(rc1, "peacesim-month") == ["Month 0 / 240"]
    button(rc1, "Step").click()
    button(rc1, "Step").click()
    assert html_text(rc1, "peacesim-month") == ["Month 2 / 240"]
    assert html_text(rc2, "peacesim-month") == ["Month 0 / 240"]
    button(rc2, "Step").click()
    assert html_text(rc1, "peacesim-month") == ["Month 2 / 240"]
    assert html_text(rc2, "peacesim-month") == ["Month 1 / 240"]
    rc1.close()
    rc2.close()


def test_an_intervention_from_the_page_is_the_models_and_is_told_in_the_narrative():
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "cut_funding"
    rc.find(v.Select, label="actor").widget.v_model = "the mediation NGO"
    button(rc, "Apply intervention").click()
    assert ["cut_funding applied: it takes effect at the start of month 2."] == html_text(rc, "peacesim-ok")
    button(rc, "Step").click()
    feed = [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets
            if "Intervention" in (w.unsafe_innerHTML or "")]
    assert any("mediation NGO" in line and line.startswith("Month 2") for line in feed), feed
    rc.close()


def test_reset_with_the_same_seed_replays_the_same_run():
    box, rc = solara.render(app.Page(), handle_error=False)
    for _ in range(5):
        button(rc, "Step").click()
    first = html_text(rc, "peacesim-agreement"), [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets]
    pictures = [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets]
    assert len(pictures) == 2 and all(b"<svg" in p for p in pictures)  # the timeline and the network
    button(rc, "Reset").click()
    assert html_text(rc, "peacesim-month") == ["Month 0 / 240"]
    for _ in range(5):
        button(rc, "Step").click()
    again = html_text(rc, "peacesim-agreement"), [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets]
    assert first == again
    assert [bytes(w.value) for w in rc.find(ipywidgets.Image).widgets] == pictures
    rc.close()


@pytest.mark.parametrize("scenario", ["reference", "crowded_field"])
def test_the_parameter_controls_start_at_the_values_the_command_line_uses(scenario, monkeypatch):
    monkeypatch.setenv(app.SCENARIO_ENV, scenario)
    scen = load_scenario(scenario)
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Group of parameters").widget.v_model = "coordination"
    got = rc.find(v.Select, label="coordination").widget.v_model
    assert got == scen.params["coordination"]
    checked = 0
    for p in REGISTRY.values():
        if p.group == "coordination" and p.kind == "float":
            slider = rc.find(v.Slider, label=p.name + (f" ({p.unit})" if p.unit else "")).widget
            assert slider.v_model == pytest.approx(scen.params[p.name]), p.name
            checked += 1
    assert checked >= 3
    rc.close()


def test_choosing_a_scenario_builds_a_new_model_and_shows_its_learning_points():
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    rc.find(v.Select, label="Shipped scenario").widget.v_model = "contact_group"
    button(rc, "Load").click()  # the run at month 1 is discarded once confirmed
    scen = load_scenario("contact_group")
    assert html_text(rc, "peacesim-month") == [f"Month 0 / {scen.params['months']}"]
    learning = " ".join(html_text(rc, "peacesim-learning"))
    assert scen.learning_points[0].split()[0] in learning
    rc.close()


def test_the_page_has_no_code_console():
    box, rc = solara.render(app.Page(), handle_error=False)
    assert not rc.find(v.Textarea).widgets
    assert "CommandConsole" not in open(app.__file__, encoding="utf-8").read().replace('"CommandConsole"', "")
    rc.close()


# ------------------------------------------------------------------------------------------ the command
@pytest.mark.parametrize(("argv", "needle"), [
    (["dashboard", "nosuch"], "nosuch: no such scenario"),
    (["dashboard", "--port", "70000"], "--port '70000' is not allowed"),
    (["dashboard", "--port", "eighty"], "--port 'eighty' is not allowed"),
    (["dashboard", "--host", "no.such.host.invalid"], "--host no.such.host.invalid"),
])
def test_bad_dashboard_input_is_one_line_and_exit_2(argv, needle, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_the_dashboard_help_imports_nothing_heavy(tmp_path):
    from test_architecture import probe

    got = probe(["dashboard", "--help"], tmp_path)
    assert got["status"] == 0 and got["imported"] == []
    got = probe(["dashboard", "--port", "x"], tmp_path)
    assert got["status"] == 2 and got["imported"] == []


def test_the_debrief_is_exported_from_the_page_as_links_that_need_no_server():
    import base64

    box, rc = solara.render(app.Page(), handle_error=False)
    for _ in range(3):
        button(rc, "Step").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"
    button(rc, "Apply intervention").click()
    button(rc, "Step").click()
    button(rc, "Export the debrief").click()
    links = html_text(rc, "peacesim-debrief-links")
    assert len(links) == 1
    found = dict(re.findall(r'href="data:[^;]+;base64,([^"]+)" download="([^"]+)"', links[0])[i][::-1] for i in range(2))
    page = base64.b64decode(found["peacesim-debrief.html"]).decode()
    toml_text = base64.b64decode(found["peacesim-session.toml"]).decode()
    assert "<h1>Debrief:" in page and "attack" in page
    doc = tomllib.loads(toml_text)
    assert [(x["month"], x["kind"]) for x in doc["intervention"]] == [(4, "attack")]
    button(rc, "Step").click()  # the run moves on: the links are for month 4 only
    assert html_text(rc, "peacesim-debrief-links") == []
    rc.close()


def test_a_dropped_scenario_file_is_chosen_and_a_bad_one_is_refused_in_one_line():
    text = open(load_scenario("contact_group").path, encoding="utf-8").read()
    chosen = []
    error = solara.reactive("")
    handler = app.upload_handler(chosen.append, error)
    handler({"name": "our_case.toml", "data": text.encode()})
    assert [s.name for s in chosen] == ["our_case"] and error.value == ""
    handler({"name": "our_case.toml", "data": text.replace('type = "', 'type = "x', 1).encode()})
    assert len(chosen) == 1
    assert error.value.startswith("our_case.toml: ") and "type" in error.value and "\n" not in error.value


def test_the_server_is_local_offline_and_without_telemetry(monkeypatch):
    from peacesim import dashboard

    env = dashboard.server_environment("reference", dashboard.DEFAULT_HOST, 8765)
    assert dashboard.DEFAULT_HOST == "127.0.0.1"
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False" and env["SOLARA_ASSETS_PROXY"] == "True"
    assert (dashboard.assets_dir() / "requirejs@2.3.6").is_dir()  # solara-assets is installed where Solara looks
    from solara.server import cdn_helper

    monkeypatch.setattr(cdn_helper, "get_cdn_url", cdn_helper.get_cdn_url)
    dashboard._refuse_cdn()
    with pytest.raises(RuntimeError, match="never fetches it from a CDN"):
        cdn_helper.get_path(dashboard.assets_dir(), "nosuch-package@1.0.0/x.js")


def test_names_in_the_narrative_feed_are_text_not_markup():
    text = open(load_scenario("reference").path, encoding="utf-8").read()
    text = text.replace("the UN envoy", "<img src=x onerror=alert(1)> envoy")
    m = ClassroomModel(**model_kwargs(load_upload("odd.toml", text.encode()), 7))
    steps(m, 60)
    box, rc = solara.render(app.NarrativeFeed(solara.reactive(m)), handle_error=False)
    shown = [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets]
    assert any("&lt;img src=x" in s for s in shown), shown
    assert not any("<img" in s for s in shown)
    rc.close()


@pytest.mark.parametrize("seed,expect", [(2, "Peace consolidated in month"), (1, "still held when the run ended")])
def test_the_status_line_says_how_the_last_agreement_ended(seed, expect):
    """A consolidated peace, or an agreement still holding at the horizon, is not 'no agreement'."""
    m = session(seed)
    m.run()
    assert not m.episodes[-1].relapsed
    box, rc = solara.render(app.StatusBanner(solara.Reactive(m)), handle_error=False)
    [line] = html_text(rc, "peacesim-agreement")
    assert expect in line and "No agreement" not in line, line
    rc.close()


def _stepped_page_with_the_months_field():
    """A page stepped once, showing the 'time' group of parameters: the page and its months field."""
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    rc.find(v.Select, label="Group of parameters").widget.v_model = "time"
    return rc, rc.find(v.TextField, label="months (months)").widget


def test_a_parameter_the_model_would_refuse_is_refused_where_it_is_typed_and_reset_waits_for_it():
    rc, field = _stepped_page_with_the_months_field()
    field.v_model = "-5"
    [error] = html_text(rc, "peacesim-error")
    assert "months = -5 is not allowed" in error and "Not applied: months stays 240" in error
    assert field.error and "not applied" in field.error_messages[0]
    button(rc, "Reset").click()  # no traceback, and no reset with a value the field does not show
    assert html_text(rc, "peacesim-month") == ["Month 1 / 240"]
    errors = html_text(rc, "peacesim-error")
    assert any(e.startswith("Not reset: parameters: months = -5 is not allowed") for e in errors), errors
    button(rc, "Back to the scenario's values").click()
    assert rc.find(v.TextField, label="months (months)").widget.v_model == "240"
    button(rc, "Reset").click()
    assert html_text(rc, "peacesim-month") == ["Month 0 / 240"]
    assert html_text(rc, "peacesim-error") == []
    rc.close()


def test_choosing_another_parameter_to_set_forgets_the_value_typed_for_the_last():
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Intervention").widget.v_model = "set"
    rc.find(v.Select, label="parameter").widget.v_model = "coordination"
    rc.find(v.Select, label="coordination").widget.v_model = "network"
    rc.find(v.Select, label="parameter").widget.v_model = "gap_months"  # a number now: no crash, no 'network'
    slider = rc.find(v.Slider, label="gap_months (months)").widget
    assert slider.v_model == 6.0
    slider.v_model = 12.0
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["set applied: it takes effect at the start of month 1."]
    m = rc.find(v.Btn, children=["Step"]).widget  # the page is alive
    assert m is not None
    rc.close()


# ------------------------------------------------------------------------------------------ the run's controls
def wait_for(predicate, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def month_shown(rc) -> int:
    [text] = html_text(rc, "peacesim-month")
    return int(text.split()[1])


def test_a_scenario_chosen_after_a_run_ended_can_be_stepped_and_played_at_once():
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Slider, label="Months per step").widget.v_model = 24
    for _ in range(10):
        button(rc, "Step").click()
    assert html_text(rc, "peacesim-month") == ["Month 240 / 240"]
    assert button(rc, "Step").disabled and button(rc, "▶").disabled  # the run has ended
    rc.find(v.Select, label="Shipped scenario").widget.v_model = "contact_group"
    button(rc, "Load").click()
    assert html_text(rc, "peacesim-month") == ["Month 0 / 240"]
    assert not button(rc, "Step").disabled and not button(rc, "▶").disabled
    button(rc, "Step").click()
    assert html_text(rc, "peacesim-month") == ["Month 24 / 240"]
    rc.close()


def test_reset_during_play_leaves_the_new_run_at_month_0():
    import time

    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Slider, label="Pause between steps (ms)").widget.v_model = 1000
    button(rc, "▶").click()
    wait_for(lambda: month_shown(rc) >= 1)
    time.sleep(0.2)  # a month was just stepped and drawn: the play loop sleeps now
    button(rc, "Reset").click()
    time.sleep(1.6)  # more than the pause: a loop that woke up would have stepped by now
    assert html_text(rc, "peacesim-month") == ["Month 0 / 240"]
    assert not button(rc, "Step").disabled and rc.find(v.Btn, children=["❚❚"]).widgets == []
    button(rc, "Step").click()
    assert html_text(rc, "peacesim-month") == ["Month 1 / 240"]
    rc.close()


def test_play_pressed_again_during_the_pause_plays_at_the_pace_set():
    """Pause and ▶ again while the loop sleeps: one loop plays on, not two (each a month a pause).

    One loop sleeps a whole pause before each month, so it cannot have stepped more months than
    pauses have passed, however slow the machine; four loops would step about four months a pause."""
    import time

    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Slider, label="Pause between steps (ms)").widget.v_model = 400
    start = time.monotonic()
    for _ in range(3):
        button(rc, "▶").click()
        button(rc, "❚❚").click()
    button(rc, "▶").click()
    wait_for(lambda: month_shown(rc) >= 4)
    button(rc, "❚❚").click()
    pauses = (time.monotonic() - start) / 0.4
    assert month_shown(rc) <= pauses + 1, (month_shown(rc), pauses)
    rc.close()


def vuetify_rounded(value: float, lo: float, step: float) -> float:
    """Where Vuetify's slider puts ``value`` (VSlider.roundValue): on the grid lo + k * step, shown
    with the step's decimals."""
    text = repr(step)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 0
    offset = math.fmod(lo, step)
    return round(round((value - offset) / step) * step + offset, decimals)


def test_float_sliders_show_the_parameters_own_values():
    """gap_months 6 showed as 6.12 (a step of 1/100 of the range, 0.36): every slider of the page
    now steps through values on which the scenario's own lie, whole months for gap_months."""
    box, rc = solara.render(app.Page(), handle_error=False)
    scen = load_scenario("reference")
    checked = 0
    for group in dict.fromkeys(p.group for p in REGISTRY.values()):
        rc.find(v.Select, label="Group of parameters").widget.v_model = group
        for p in REGISTRY.values():
            if p.group != group or p.kind != "float":
                continue
            slider = rc.find(v.Slider, label=p.name + (f" ({p.unit})" if p.unit else "")).widget
            assert slider.v_model == scen.params[p.name]
            assert vuetify_rounded(slider.v_model, slider.min, slider.step) == scen.params[p.name], p.name
            assert slider.step <= (slider.max - slider.min) / 100 or slider.step == 1, p.name
            checked += 1
    assert checked == sum(p.kind == "float" for p in REGISTRY.values())
    rc.find(v.Select, label="Group of parameters").widget.v_model = "funding"
    assert rc.find(v.Slider, label="gap_months (months)").widget.step == 1  # whole months
    rc.close()


def test_the_slider_step_reaches_every_shipped_value_and_a_value_set_later():
    from peacesim.scenario import list_scenarios

    for path in list_scenarios():
        scen = load_scenario(path.stem)
        for p in REGISTRY.values():
            if p.kind == "float":
                step = app.slider_step(p, scen.params[p.name])
                assert vuetify_rounded(scen.params[p.name], p.low, step) == scen.params[p.name], (path.stem, p.name)
    gap = REGISTRY["gap_months"]
    assert app.slider_step(gap) == 1 and app.slider_step(gap, 7.5) == 0.5
    assert app.slider_step(REGISTRY["post_signature_support"]) == 0.01
    assert app.slider_step(REGISTRY["pain_decay"]) == 0.0001  # its default is 0.0283


# ------------------------------------------------------------------------------------------ refused entries
def test_an_empty_count_field_is_not_applied_and_says_so():
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Intervention").widget.v_model = "link_local"
    field = rc.find(v.TextField, label="count").widget
    field.v_model = "3"
    field.v_model = ""
    assert field.error and "count cannot be empty" in field.error_messages[0]
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == []
    [error] = html_text(rc, "peacesim-error")
    assert error.startswith("Not applied: link_local: count cannot be empty"), error
    button(rc, "Step").click()
    assert not any("Intervention" in (w.unsafe_innerHTML or "") for w in rc.find(solara.widgets.HTML).widgets)
    field.v_model = "2"  # corrected: applied with the value shown
    assert not field.error
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["link_local applied: it takes effect at the start of month 2."]
    button(rc, "Step").click()
    feed = [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets
            if "Intervention" in (w.unsafe_innerHTML or "")]
    assert any("2 local mechanisms" in line for line in feed), feed
    rc.close()


def test_an_empty_seed_is_not_used_by_reset_and_says_so():
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    seed = rc.find(v.TextField, label="Seed").widget
    seed.v_model = ""
    assert seed.error
    button(rc, "Reset").click()
    assert html_text(rc, "peacesim-month") == ["Month 1 / 240"]  # not reset with the last seed
    errors = html_text(rc, "peacesim-error")
    assert any(e.startswith("Not reset: Seed cannot be empty") for e in errors), errors
    assert any("Not applied: the seed stays 1" in e for e in errors), errors
    seed.v_model = "-3"
    assert "Seed = '-3' is not allowed" in seed.error_messages[0]
    seed.v_model = "5"
    button(rc, "Reset").click()
    assert html_text(rc, "peacesim-month") == ["Month 0 / 240"] and html_text(rc, "peacesim-error") == []
    assert "Re-run: peacesim run peacesim-session.toml --seed 5" in [c for w in rc.find(v.Html).widgets
                                                                    for c in w.children]
    rc.close()


# ------------------------------------------------------------------------------------------ no-op interventions
def test_an_intervention_that_would_change_nothing_is_refused_and_not_logged():
    m = session()
    steps(m, 3)
    events = len(m.events)
    for kind, args, why in [
        ("set", {"name": "post_signature_support", "value": 0.6}, "post_signature_support is already 0.6"),
        ("coordination", {"strategy": "hierarchical"}, "already follow the 'hierarchical' coordination strategy"),
        ("restore_funding", {"actor": "UN envoy"}, "the UN envoy has its core funding"),
    ]:
        with pytest.raises(InputError, match=re.escape(why)):
            m.intervene(kind, **args)
    m.intervene("link_local", count=100000)
    with pytest.raises(InputError, match="every local mechanism is already linked"):
        m.intervene("link_local")
    assert [x["kind"] for x in m.facilitator] == ["link_local"]
    assert len(m.events) == events + 1
    # a value that does change something is applied, and so is the same strategy once another is in force
    m.intervene("set", name="post_signature_support", value=0.61)
    m.intervene("coordination", strategy="network")
    with pytest.raises(InputError, match="already follow the 'network'"):
        m.intervene("coordination", strategy="network")
    assert [x["kind"] for x in m.facilitator] == ["link_local", "set", "coordination"]


def test_the_page_says_an_intervention_would_change_nothing():
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Intervention").widget.v_model = "set"
    button(rc, "Apply intervention").click()  # post_signature_support at the value it has
    assert html_text(rc, "peacesim-ok") == []
    assert html_text(rc, "peacesim-error") == [
        "Not applied: post_signature_support is already 0.6, so it would change nothing"]
    rc.find(v.Slider, label="post_signature_support (share)").widget.v_model = 0.3
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["set applied: it takes effect at the start of month 1."]
    # the slider now starts at the value in force, and applying it again changes nothing
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"
    rc.find(v.Select, label="Intervention").widget.v_model = "set"
    assert rc.find(v.Slider, label="post_signature_support (share)").widget.v_model == 0.3
    button(rc, "Apply intervention").click()
    assert "post_signature_support is already 0.3" in html_text(rc, "peacesim-error")[0]
    rc.close()


# ------------------------------------------------------------------------------------------ leaving the page
def test_the_page_asks_before_it_is_left_once_a_session_is_in_progress():
    box, rc = solara.render(app.Page(), handle_error=False)
    guard = rc.find(app.LeaveGuardWidget).widget
    assert guard.armed is False  # nothing to lose yet
    assert "beforeunload" in guard.template and "http" not in guard.template
    button(rc, "Step").click()
    assert rc.find(app.LeaveGuardWidget).widget.armed is True
    button(rc, "Reset").click()
    assert rc.find(app.LeaveGuardWidget).widget.armed is False
    rc.find(v.Select, label="Group of parameters").widget.v_model = "funding"
    rc.find(v.Slider, label="gap_months (months)").widget.v_model = 9.0
    assert rc.find(app.LeaveGuardWidget).widget.armed is True  # a parameter changed is work too
    rc.close()


def test_a_seed_from_a_sweep_is_taken_exactly():
    """Seeds derived by the runner have 19 digits, beyond a float's exact integers: a row's seed
    typed into the page replays its run."""
    from peacesim.dashboard.app import seed_check
    from peacesim.experiment import derive_seeds

    for seed in derive_seeds(2024, 5):
        assert seed_check(str(seed)) == seed
    assert seed_check(" 7 ") == 7
    from peacesim.errors import InputError

    with pytest.raises(InputError):
        seed_check("-3")


@pytest.mark.parametrize("typed", ["1e3", "1E3", "7.0", "2.5e1", "0x10", "seven", "-1"])
def test_a_seed_the_command_line_refuses_is_refused_in_the_page(typed, capsys):
    """'1e3' was taken as seed 1000 by the page, while ``peacesim run --seed 1e3`` refuses it: a
    session's seed must be one the command line takes, as typed."""
    assert main(["run", "reference", "--seed", typed, "--months", "1", "--quiet", "--no-figure"]) != 0
    assert "--seed" in capsys.readouterr().err
    box, rc = solara.render(app.Page(), handle_error=False)
    seed = rc.find(v.TextField, label="Seed").widget
    seed.v_model = typed
    assert seed.error and seed.error_messages == [
        f"Seed = {typed!r} is not allowed; expected a whole number >= 0 (not applied)"]
    button(rc, "Reset").click()
    errors = [html.unescape(e) for e in html_text(rc, "peacesim-error")]
    assert any(e.startswith(f"Not reset: Seed = {typed!r} is not allowed") for e in errors), errors
    assert "Re-run: peacesim run peacesim-session.toml --seed 1" in [c for w in rc.find(v.Html).widgets
                                                                    for c in w.children]
    rc.close()


def test_a_seed_the_command_line_takes_is_taken_in_the_page_as_the_same_number():
    from peacesim.cli import _parse_seed

    for typed in ["0", " 12 ", "+5", "1_000", "9223372036854775807123"]:
        assert app.seed_check(typed) == _parse_seed(typed), typed


def test_the_debrief_is_exported_from_one_month_while_play_steps():
    """An export waits for a month being stepped (Play holds the tab's lock while it steps): the
    file is of one month, not of a run that moved while it was read."""
    import threading
    import time

    from peacesim.dashboard.session import ClassroomModel, model_kwargs

    m = ClassroomModel(**model_kwargs(app.load_scenario("reference"), 1))
    lock = threading.RLock()
    tick = solara.reactive(0)

    @solara.component
    def Card():  # drawn again when the tick moves, as the page draws it after every step
        app.DebriefCard(solara.reactive(m), tick.value, lock)

    box, rc = solara.render(Card(), handle_error=False)
    held = threading.Event()

    def play():  # as the play loop does: under the lock, a month is stepped
        with lock:
            held.set()
            time.sleep(0.3)
            m.step()

    t = threading.Thread(target=play)
    t.start()
    held.wait(5)
    button(rc, "Export the debrief").click()
    t.join()
    tick.value = 1  # the page is drawn again after the step
    links = html_text(rc, "peacesim-debrief-links")
    assert len(links) == 1  # exported at month 1, after the step: not "the run has moved on"
    assert m.month == 1
    rc.close()


# ------------------------------------------------------------------------------------------ the server's terminal
def test_the_server_terminal_does_not_print_solaras_cookie_warning_for_each_page(tmp_path):
    """Solara warns, in a dozen lines, for every page opened over http that it falls back to
    samesite=lax cookies: a trainer took it for errors. Exactly that warning is filtered."""
    import subprocess
    import sys
    import time
    import urllib.request
    import warnings

    from peacesim import dashboard
    from test_browser import free_port

    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "peacesim", "dashboard", "reference", "--port", str(port)],
                                cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        opened = 0
        while opened < 2:  # two pages: the warning came for each
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    opened += r.status == 200
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
                time.sleep(0.5)
        time.sleep(0.5)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = log.read_text()
    assert "peacesim dashboard: open http://127.0.0.1" in text
    assert "samesite" not in text and "Warning" not in text, text
    # nothing else is filtered: another warning, even from Solara's server, is still shown
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dashboard.quiet_cookie_warning()
        warnings.warn("Cookies with samesite=none require https, but according to the asgi framework", UserWarning)
        warnings.warn("Cookies could not be set", UserWarning)
        warnings.warn("Cookies with samesite=none require https", DeprecationWarning)
    assert [str(w.message) for w in caught] == ["Cookies could not be set", "Cookies with samesite=none require https"]


# ------------------------------------------------------------------------------------------ the end of a run
def test_at_the_horizon_without_an_agreement_the_status_says_none_was_reached():
    m = session(7, overrides={"months": 12})
    m.run()
    assert not m.running and m.episodes == []
    box, rc = solara.render(app.StatusBanner(solara.Reactive(m)), handle_error=False)
    [line] = html_text(rc, "peacesim-agreement")
    assert line == "No agreement was reached in the 12 months of the run", line
    rc.close()
    partway = session(7)
    partway.step()
    box, rc = solara.render(app.StatusBanner(solara.Reactive(partway)), handle_error=False)
    assert html_text(rc, "peacesim-agreement") == ["No agreement yet"]
    rc.close()


def test_apply_intervention_is_disabled_once_the_run_has_ended():
    box, rc = solara.render(app.Page(), handle_error=False)
    assert not button(rc, "Apply intervention").disabled
    rc.find(v.Slider, label="Months per step").widget.v_model = 24
    for _ in range(9):
        button(rc, "Step").click()
    assert not button(rc, "Apply intervention").disabled  # month 216: still running
    button(rc, "Step").click()
    assert html_text(rc, "peacesim-month") == ["Month 240 / 240"]
    assert button(rc, "Apply intervention").disabled
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"  # drawn again: still disabled
    assert button(rc, "Apply intervention").disabled
    button(rc, "Reset").click()
    assert not button(rc, "Apply intervention").disabled
    rc.close()


def test_a_refused_reset_is_no_longer_shown_once_the_field_is_corrected():
    rc, field = _stepped_page_with_the_months_field()
    field.v_model = "abc"
    button(rc, "Reset").click()
    assert any(e.startswith("Not reset: ") for e in html_text(rc, "peacesim-error"))
    field.v_model = "120"  # corrected: the refusal no longer applies
    assert html_text(rc, "peacesim-error") == []
    assert html_text(rc, "peacesim-month") == ["Month 1 / 240"]
    button(rc, "Reset").click()
    assert html_text(rc, "peacesim-month") == ["Month 0 / 120"] and html_text(rc, "peacesim-error") == []
    rc.close()


def test_a_checkbox_label_is_drawn_once():
    """Solara's Checkbox gives its label both as the label and as a child: drawn twice, clipped."""
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Intervention").widget.v_model = "add_mediator"
    for name in ("links_local", "lead"):
        box_ = rc.find(v.Checkbox, label=name).widget
        assert box_.children == [] and box_.label == name
    rc.find(v.Checkbox, label="lead").widget.v_model = True
    rc.find(v.Checkbox, label="lead").widget.v_model = False  # it still sets the value
    rc.close()


# ------------------------------------------------------------------------------------------ sliders
def walk(widgets):
    for w in widgets:
        yield w
        yield from walk(c for c in getattr(w, "children", None) or () if isinstance(c, ipywidgets.Widget))


def slider_values(rc) -> dict[str, str]:
    """Each slider's label -> the value shown beside it (the text of the value, not a bubble)."""
    rows = [w for w in walk(rc.find(v.Sheet).widgets) if isinstance(w, v.Sheet)
            and "peacesim-slider" in (w.class_ or "").split()]
    out = {}
    for row in rows:
        [slider] = [c for c in row.children if isinstance(c, v.Slider)]
        [shown] = [c for c in row.children if isinstance(c, solara.widgets.HTML)]
        assert slider.thumb_label is False  # no bubble over the label above
        out[slider.label] = shown.unsafe_innerHTML
    return out


def test_every_slider_shows_its_value_beside_it():
    box, rc = solara.render(app.Page(), handle_error=False)
    shown = slider_values(rc)
    assert shown["Pause between steps (ms)"] == "400" and shown["Months per step"] == "1"
    rc.find(v.Slider, label="Months per step").widget.v_model = 6
    assert slider_values(rc)["Months per step"] == "6"
    rc.find(v.Select, label="Group of parameters").widget.v_model = "funding"
    assert slider_values(rc)["gap_months (months)"] == "6"
    assert slider_values(rc)["post_signature_support (share)"] == "0.60"
    rc.find(v.Slider, label="gap_months (months)").widget.v_model = 9.0
    assert slider_values(rc)["gap_months (months)"] == "9"
    rc.find(v.Select, label="Intervention").widget.v_model = "pressure"
    assert slider_values(rc)["strength"] == "0.50"
    # every slider of the page has its value beside it
    assert len(rc.find(v.Slider).widgets) == len(slider_values(rc))
    rc.close()


def test_a_number_of_months_is_typed_with_its_bounds_checked():
    """cut_funding's months run from 0 to 600: on a slider a hand's width long, 12 could not be set."""
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Intervention").widget.v_model = "cut_funding"
    assert not rc.find(v.Slider, label="months").widgets
    field = rc.find(v.TextField, label="months").widget
    field.v_model = "700"
    assert field.error and "months = 700 is not allowed; expected a whole number from 0 to 600" in field.error_messages[0]
    button(rc, "Apply intervention").click()
    [error] = html_text(rc, "peacesim-error")
    assert error.startswith("Not applied: cut_funding: months = 700 is not allowed") and "\n" not in error, error
    field.v_model = "12"
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["cut_funding applied: it takes effect at the start of month 1."]
    rc.close()
    # every whole-number field with a wide range is typed, a narrow one is a slider
    for p in REGISTRY.values():
        if p.kind == "int" and p.low is not None and p.high is not None:
            box, rc = solara.render(app.ParamControl(p, p.default, lambda v: None), handle_error=False)
            assert bool(rc.find(v.Slider).widgets) == (p.high - p.low <= app.SLIDER_SPAN), p.name
            rc.close()


# ------------------------------------------------------------------------------------------ choosing a scenario
def test_a_dropped_file_named_as_a_shipped_scenario_is_not_shown_as_that_scenario(monkeypatch):
    """The dashboard's own re-run file is named after its scenario: dropped, it is a file, and
    choosing the shipped scenario of that name loads the shipped one."""
    text = replay_toml(session(3, overrides={"handover_quality": 0.8}), filename="peacesim-session.toml")
    dropped = load_upload("peacesim-session.toml", text.encode())
    assert dropped.name == "reference"
    monkeypatch.setattr(app, "start_scenario", lambda: dropped)
    box, rc = solara.render(app.Page(), handle_error=False)
    assert rc.find(v.Select, label="Shipped scenario").widget.v_model is None
    [running] = html_text(rc, "peacesim-running-file")
    assert "peacesim-session.toml" in running and "not a shipped scenario" in running
    rc.find(v.Select, label="Group of parameters").widget.v_model = "coordination"  # the file's 0.8 is in force
    rc.find(v.Select, label="Group of parameters").widget.v_model = "rotation"
    assert rc.find(v.Slider, label="handover_quality (share)").widget.v_model == 0.8
    rc.find(v.Select, label="Shipped scenario").widget.v_model = "reference"  # nothing to lose: loaded at once
    assert rc.find(v.Select, label="Shipped scenario").widget.v_model == "reference"
    assert html_text(rc, "peacesim-running-file") == []
    shipped_value = load_scenario("reference").params["handover_quality"]
    assert rc.find(v.Slider, label="handover_quality (share)").widget.v_model == shipped_value != 0.8
    rc.close()


def test_choosing_another_scenario_asks_before_it_discards_the_run():
    box, rc = solara.render(app.Page(), handle_error=False)
    select = lambda: rc.find(v.Select, label="Shipped scenario").widget  # noqa: E731
    assert select().v_model == "reference"
    select().v_model = "contact_group"  # nothing done yet: loaded at once
    assert html_text(rc, "peacesim-confirm") == [] and select().v_model == "contact_group"
    button(rc, "Step").click()
    button(rc, "Step").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"
    button(rc, "Apply intervention").click()
    select().v_model = "crowded_field"
    assert html_text(rc, "peacesim-confirm") == [
        "Loading the shipped scenario &#x27;crowded_field&#x27; discards the run at month 2 and its 1 intervention."]
    assert html_text(rc, "peacesim-month") == ["Month 2 / 240"]  # nothing lost yet
    button(rc, "Step").click()  # the question follows the run
    assert "the run at month 3 and its 1 intervention" in html_text(rc, "peacesim-confirm")[0]
    button(rc, "Cancel").click()
    assert html_text(rc, "peacesim-confirm") == [] and select().v_model == "contact_group"
    assert html_text(rc, "peacesim-month") == ["Month 3 / 240"]
    select().v_model = "crowded_field"
    button(rc, "Load").click()
    assert html_text(rc, "peacesim-confirm") == [] and select().v_model == "crowded_field"
    assert html_text(rc, "peacesim-month") == ["Month 0 / 240"]
    assert rc.find(v.Btn, children=["Load"]).widgets == []
    rc.close()


# ------------------------------------------------------------------------------------------ the session's seed
def test_the_re_run_file_carries_its_seed_and_re_runs_without_seed(tmp_path):
    m = class_run(seed=11)
    path = tmp_path / "peacesim-session.toml"
    text = replay_toml(m, filename=path.name)
    path.write_text(text, encoding="utf-8")
    assert text.startswith(f"# Re-runs a peacesim dashboard session exactly: peacesim run {path.name} --seed 11\n")
    assert tomllib.loads(text)["scenario"]["seed"] == 11
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--no-figure", "--quiet"]) == 0  # no --seed
    cli = pd.read_csv(out / "series.csv", float_precision="round_trip")
    ours = RunResult.from_model(m).series
    assert np.array_equal(cli["violence"].to_numpy(dtype=float)[:60], ours["violence"].to_numpy(dtype=float))
    assert getattr(load_upload(path.name, text.encode()), "seed", None) == 11


def test_a_scenario_file_with_a_seed_runs_with_it_and_shows_it(monkeypatch):
    text = replay_toml(session(23), filename="peacesim-session.toml")
    dropped = load_upload("peacesim-session.toml", text.encode())
    monkeypatch.setattr(app, "start_scenario", lambda: dropped)
    box, rc = solara.render(app.Page(), handle_error=False)
    assert rc.find(v.TextField, label="Seed").widget.v_model == "23"
    assert "Re-run: peacesim run peacesim-session.toml --seed 23" in [c for w in rc.find(v.Html).widgets
                                                                     for c in w.children]
    button(rc, "Step").click()
    rc.find(v.Select, label="Shipped scenario").widget.v_model = "contact_group"  # no seed: the seed stays
    button(rc, "Load").click()
    assert rc.find(v.TextField, label="Seed").widget.v_model == "23"
    rc.close()


# ------------------------------------------------------------------------------------------ the intervention card
def test_the_intervention_card_follows_the_actors_a_planned_intervention_adds_or_withdraws(monkeypatch):
    """A session's re-run file adds and withdraws actors at their months: once the run has passed
    them, the card offers the new mediator and no longer the withdrawn one, without being touched."""
    m = session(7)
    steps(m, 2)
    m.intervene("add_mediator", name="the Norwegian envoy", organisation="state")
    m.intervene("withdraw", actor="the mediation NGO")
    m.intervene("set", name="post_signature_support", value=0.3)
    dropped = load_upload("peacesim-session.toml", replay_toml(m, filename="peacesim-session.toml").encode())
    monkeypatch.setattr(app, "start_scenario", lambda: dropped)
    box, rc = solara.render(app.Page(), handle_error=False)
    before = rc.find(v.Select, label="actor").widget.items
    assert "the mediation NGO" in before and "the Norwegian envoy" not in before
    for _ in range(4):
        button(rc, "Step").click()
    after = rc.find(v.Select, label="actor").widget.items
    assert "the Norwegian envoy" in after and "the mediation NGO" not in after
    rc.find(v.Select, label="actor").widget.v_model = "the Norwegian envoy"
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["rotate applied: it takes effect at the start of month 5."]
    rc.close()


def test_the_answer_to_an_intervention_is_not_shown_for_a_new_run():
    """After Reset (or another scenario) the new run has none of the last run's interventions: the
    card no longer says one was applied."""
    box, rc = solara.render(app.Page(), handle_error=False)
    for _ in range(3):
        button(rc, "Step").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["attack applied: it takes effect at the start of month 4."]
    button(rc, "Reset").click()
    assert html_text(rc, "peacesim-month") == ["Month 0 / 240"]
    assert html_text(rc, "peacesim-ok") == []
    rc.find(v.Select, label="Intervention").widget.v_model = "set"
    button(rc, "Apply intervention").click()  # a refusal is about this run...
    assert len(html_text(rc, "peacesim-error")) == 1
    rc.find(v.Select, label="Shipped scenario").widget.v_model = "contact_group"  # ...and goes with it
    assert html_text(rc, "peacesim-error") == []
    rc.close()


def test_a_scenario_file_edited_into_a_mistake_while_the_server_runs_is_one_line_on_the_page(tmp_path, monkeypatch):
    """``peacesim dashboard my_case.toml``: each new tab reads the file again. Edited into a mistake
    (or moved) meanwhile, a new tab says so in one line and opens the file as read before, not a
    traceback; corrected, the next tab opens it as corrected."""
    case = tmp_path / "my_case.toml"
    text = open(load_scenario("reference").path, encoding="utf-8").read()
    case.write_text(text.replace(load_scenario("reference").title, "Our case", 1), encoding="utf-8")
    monkeypatch.setenv(app.SCENARIO_ENV, str(case))
    monkeypatch.setattr(app, "_OPENED", {}, raising=False)
    box, rc = solara.render(app.Page(), handle_error=False)
    assert html_text(rc, "peacesim-error") == []
    rc.close()
    case.write_text(text.replace("Our case", "Our edited case").replace("strength = 0.6", "strength = 7.5", 1),
                    encoding="utf-8")
    box, rc = solara.render(app.Page(), handle_error=False)
    [msg] = html_text(rc, "peacesim-error")
    assert msg.startswith(f"{case}: ") and "strength = 7.5 is not allowed" in msg and "\n" not in msg
    assert "opens the file as it was read before" in msg
    assert html_text(rc, "peacesim-title") == ["Our case"]  # the file as it was read before
    button(rc, "Step").click()
    assert html_text(rc, "peacesim-month") == ["Month 1 / 240"]
    rc.close()
    case.unlink()  # moved away, and no tab has read it in this server: the reference scenario
    monkeypatch.setattr(app, "_OPENED", {}, raising=False)
    box, rc = solara.render(app.Page(), handle_error=False)
    [msg] = html_text(rc, "peacesim-error")
    assert str(case) in msg and "opens the shipped scenario &#x27;reference&#x27;" in msg and "\n" not in msg
    rc.close()


def test_the_page_says_which_seed_and_parameters_the_run_does_not_use_yet():
    """A seed typed or a parameter moved takes effect at Reset: until then the card says that the
    run shown has other values, so the class does not read the run as one with the new values."""
    box, rc = solara.render(app.Page(), handle_error=False)
    assert html_text(rc, "peacesim-not-in-run") == []
    rc.find(v.TextField, label="Seed").widget.v_model = "42"
    rc.find(v.Select, label="Group of parameters").widget.v_model = "rotation"
    rc.find(v.Slider, label="handover_quality (share)").widget.v_model = 0.55
    [line] = html_text(rc, "peacesim-not-in-run")
    assert "seed 42 (the run has 1)" in line and "handover_quality 0.55 (the run has 0.4)" in line
    button(rc, "Step").click()  # the run goes on with its own values
    assert len(html_text(rc, "peacesim-not-in-run")) == 1
    button(rc, "Reset").click()
    assert html_text(rc, "peacesim-not-in-run") == []
    rc.find(v.Slider, label="handover_quality (share)").widget.v_model = 0.6
    assert "handover_quality 0.6 (the run has 0.55)" in html_text(rc, "peacesim-not-in-run")[0]
    button(rc, "Back to the scenario's values").click()
    assert "handover_quality 0.4 (the run has 0.55)" in html_text(rc, "peacesim-not-in-run")[0]
    rc.close()


def test_play_steps_as_many_months_as_a_step_and_the_pause_is_said_to_be_between_steps():
    """▶ plays step after step, each of *Months per step* months: the pause slider says it waits
    between steps (a pause "between months" of 200 ms with 6 months a step ran six times as fast)."""
    box, rc = solara.render(app.Page(), handle_error=False)
    assert rc.find(v.Slider, label="Pause between months (ms)").widgets == []
    rc.find(v.Slider, label="Pause between steps (ms)").widget.v_model = 2000
    rc.find(v.Slider, label="Months per step").widget.v_model = 6
    button(rc, "▶").click()
    wait_for(lambda: month_shown(rc) >= 1)
    button(rc, "❚❚").click()
    assert month_shown(rc) == 6  # one step of six months in the first pause
    rc.close()


def test_the_debriefs_summaries_keep_their_lines():
    """The summary of our run and of the run without our interventions are several lines (one an
    agreement): in the debrief each is a line of its own, not one run-on paragraph."""
    from peacesim.narrative import summary

    m = class_run()
    text = debrief_html(m, with_spread=False)
    for result in (RunResult.from_model(m), counterfactual(m)):
        lines = [ln.strip() for ln in summary(result).splitlines() if ln.strip()]
        assert len(lines) >= 5
        assert "<br>".join(html.escape(ln, quote=True) for ln in lines) in text


def test_the_debriefs_spread_is_said_to_be_without_our_interventions_only():
    """A session's re-run file plans the last session's interventions, and the spread of its 100
    seeds has them: the debrief says its runs are without *our* interventions, not without any."""
    m = session(7)
    steps(m, 2)
    m.intervene("attack")
    dropped = load_upload("peacesim-session.toml", replay_toml(m, filename="peacesim-session.toml").encode())
    again = ClassroomModel(**model_kwargs(dropped, 7))
    steps(again, 5)
    text = debrief_html(again)
    assert "of the same scenario (without our interventions) had seen less violence" in text
    assert "(without interventions)" not in text


def test_a_parameter_slider_is_the_same_widget_while_it_is_moved():
    """Moving a slider makes the card say the run does not use the value yet; the slider stays the
    one being dragged (a line appearing above it would make it a new widget in the browser)."""
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Group of parameters").widget.v_model = "rotation"
    before = rc.find(v.Slider, label="handover_quality (share)").widget
    before.v_model = 0.55
    assert html_text(rc, "peacesim-not-in-run")
    after = rc.find(v.Slider, label="handover_quality (share)").widget
    assert after is before and after.model_id == before.model_id
    after.v_model = 0.4  # back to the run's value: the line goes, the slider stays
    assert html_text(rc, "peacesim-not-in-run") == []
    assert rc.find(v.Slider, label="handover_quality (share)").widget is before
    rc.close()


def test_the_group_of_parameters_shown_stays_when_an_error_line_comes_or_goes(monkeypatch):
    """The line of a refused file sits between the scenario and the parameters: when it came or
    went, the parameters card was a new one and showed its first group again."""
    problem = "my_case.toml: party #1: strength = 7.5 is not allowed; expected a number from 0.01 to 1"
    monkeypatch.setattr(app, "opening", lambda: (load_scenario("reference"), problem))
    box, rc = solara.render(app.Page(), handle_error=False)
    assert len(html_text(rc, "peacesim-error")) == 1
    rc.find(v.Select, label="Group of parameters").widget.v_model = "rotation"
    rc.find(v.Select, label="Shipped scenario").widget.v_model = "contact_group"  # nothing in progress: loaded
    assert html_text(rc, "peacesim-error") == []
    assert rc.find(v.Select, label="Group of parameters").widget.v_model == "rotation"
    rc.close()


def test_started_for_the_room_the_server_says_which_address_participants_open(monkeypatch, capsys):
    """``--host 0.0.0.0`` listens on every address; http://0.0.0.0 is not one a participant's
    browser can open: the server names 127.0.0.1 here and this machine's address for the room."""
    import os
    import socket

    import uvicorn
    from solara.server import cdn_helper

    from peacesim import dashboard

    monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.setattr(cdn_helper, "get_cdn_url", cdn_helper.get_cdn_url)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr(dashboard, "room_addresses", lambda: ["192.168.1.20"], raising=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dashboard.serve("reference", host="0.0.0.0", port=port)
    out = capsys.readouterr().out
    assert "http://0.0.0.0" not in out
    assert f"open http://127.0.0.1:{port} in a browser on this machine" in out
    assert f"participants on the room's network open http://192.168.1.20:{port}" in out
    dashboard.serve("reference", host="127.0.0.1", port=port)  # the default: as before
    assert capsys.readouterr().out == f"peacesim dashboard: open http://127.0.0.1:{port} in a browser (Ctrl-C stops it)\n"


@pytest.mark.parametrize("view", ["StatusBanner", "TimelineView", "NetworkView", "NarrativeFeed"])
def test_a_view_drawn_while_play_steps_a_month_waits_for_the_month(view):
    """▶ steps the model in its own thread; a click elsewhere on the page draws the views in
    another. A view drawn half-way through a month read the run as it was being written (the
    timeline failed with 'cannot reshape array', which blanked the page): it waits for the month."""
    import threading

    m = session()
    steps(m, 5)
    halfway, release = threading.Event(), threading.Event()
    record = m.recorder.record

    def slow_record():  # the month's row is written, the month not finished
        record()
        halfway.set()
        release.wait(30)

    m.recorder.record = slow_record
    stepper = threading.Thread(target=m.step)
    stepper.start()
    assert halfway.wait(30)
    got: dict = {}

    def draw():
        try:
            solara.render(getattr(app, view)(solara.Reactive(m)), handle_error=False)
            got["drawn_at"] = m.month
        except Exception as exc:  # noqa: BLE001 (reported below)
            got["error"] = exc

    reader = threading.Thread(target=draw)
    reader.start()
    reader.join(1.5)
    drawn_early = not reader.is_alive()
    release.set()
    stepper.join(30)
    reader.join(60)
    assert not drawn_early, f"{view} was drawn from a month half-way through its step: {got}"
    assert "error" not in got and got["drawn_at"] == 6



def test_play_at_the_shortest_pause_waits_for_the_page_to_show_each_month(monkeypatch):
    """A click (an intervention chosen, a slider moved) draws the page in its own thread. ▶ at the
    shortest pause stepped on meanwhile, a month every 50 ms, each a change that drawing pass had
    to start again for: a pass slower than that never finished, Solara gave up ('Too many renders
    triggered') and the click was lost, ❚❚ and Export too. The loop now steps a month only once
    the page shows the last one."""
    import threading
    import time

    main = threading.current_thread()
    held: dict = {"armed": False}
    stepped: list[float] = []
    draw, step = app.timeline_svg, ClassroomModel.step

    def counted_step(self):
        step(self)
        stepped.append(time.monotonic())

    def slow_in_the_click_s_thread(*args, **kwargs):
        if held["armed"] and threading.current_thread() is main and "start" not in held:
            held["start"] = time.monotonic()
            time.sleep(1.0)  # one slow drawing pass (a loaded server)
            held["end"] = time.monotonic()
        return draw(*args, **kwargs)

    monkeypatch.setattr(ClassroomModel, "step", counted_step)
    monkeypatch.setattr(app, "timeline_svg", slow_in_the_click_s_thread)
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Slider, label="Pause between steps (ms)").widget.v_model = 50
    button(rc, "▶").click()
    wait_for(lambda: month_shown(rc) >= 2)
    held["armed"] = True
    slider = rc.find(v.Slider, label="Months per step").widget
    deadline = time.monotonic() + 60
    while "end" not in held and time.monotonic() < deadline:  # clicks, until one's pass draws a month
        slider.v_model = 2 if slider.v_model == 1 else 1
        time.sleep(0.02)
    rc.find(v.Btn, children=["❚❚"]).widget.click()
    rc.close()
    assert "end" in held
    during = [t for t in stepped if held["start"] <= t <= held["end"]]
    assert len(during) <= 4, f"{len(during)} months stepped during one drawing pass of the page"


def test_an_intervention_applied_during_play_is_said_to_take_effect_in_the_month_it_does(monkeypatch):
    """The line under Apply named the month after the one the page showed when it was written:
    ▶ stepping on in between made it a month (or more) late."""
    intervene = ClassroomModel.intervene

    def and_play_steps_on(self, kind, /, **arguments):  # ▶ steps as soon as Apply lets go of the run
        intervene(self, kind, **arguments)
        self.step()

    monkeypatch.setattr(ClassroomModel, "intervene", and_play_steps_on)
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["attack applied: it takes effect at the start of month 2."]
    rc.close()


def test_apply_clicked_before_the_card_is_drawn_for_the_intervention_chosen_applies_that_one():
    """The card is drawn again for a newly chosen intervention in the thread drawing the page (▶'s,
    say) while the click on Apply is already handled: it applied the new kind with the arguments of
    the one shown before ('attack has no argument strategy')."""
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Intervention").widget.v_model = "coordination"
    rc.find(v.Select, label="strategy").widget.v_model = "network"
    apply = button(rc, "Apply intervention")
    with rc:  # the page is not drawn again until the block ends
        rc.find(v.Select, label="Intervention").widget.v_model = "attack"
        apply.click()
    assert html_text(rc, "peacesim-error") == []
    assert html_text(rc, "peacesim-ok") == ["attack applied: it takes effect at the start of month 1."]
    rc.close()


def test_the_parameters_card_counts_changed_parameters_in_plain_words():
    """It said '0 parameter(s) changed'."""
    box, rc = solara.render(app.Page(), handle_error=False)

    def said():
        return [w.children[0] for w in rc.find(v.Html, class_="peacesim-changed").widgets]
    assert said() == ["No parameter changed from the scenario's values; changes take effect at Reset."]
    rc.find(v.Select, label="Group of parameters").widget.v_model = "funding"
    rc.find(v.Slider, label="gap_months (months)").widget.v_model = 9.0
    assert said() == ["1 parameter changed from the scenario's values; changes take effect at Reset."]
    rc.find(v.Slider, label="post_signature_support (share)").widget.v_model = 0.3
    assert said() == ["2 parameters changed from the scenario's values; changes take effect at Reset."]
    rc.close()


def test_a_new_mediator_without_a_name_or_with_a_taken_one_is_refused_in_the_pages_words():
    """It said "intervene('add_mediator') at month 1: add_mediator needs name = ... (a name not used
    by another actor)": a Python call, and a file's notation."""
    box, rc = solara.render(app.Page(), handle_error=False)
    rc.find(v.Select, label="Intervention").widget.v_model = "add_mediator"
    button(rc, "Apply intervention").click()
    assert [html.unescape(e) for e in html_text(rc, "peacesim-error")] == [
        "Not applied: add_mediator: name cannot be empty; type the name the story will use, one no other actor has"]
    name = rc.find(v.TextField, label="name").widget
    name.v_model = "the UN envoy"
    name.fire_event("focusout", None)  # as the browser does when the button is clicked
    button(rc, "Apply intervention").click()
    errors = [html.unescape(e) for e in html_text(rc, "peacesim-error")]
    assert len(errors) == 1 and errors[0].startswith("Not applied: add_mediator at month 1: "), errors
    assert "intervene(" not in errors[0] and "already an actor's name" in errors[0]
    name.v_model = "the Oslo envoy"
    name.fire_event("focusout", None)
    button(rc, "Apply intervention").click()
    assert html_text(rc, "peacesim-ok") == ["add_mediator applied: it takes effect at the start of month 1."]
    rc.close()


def test_a_session_played_to_its_end_tells_what_outlasts_it():
    """The debrief of a session that reached its last month says a funding gap runs past the end
    of the run; before the end, it says when new money is due (true at any month)."""
    m = session(seed=5, overrides={"months": 80})  # the mediation NGO's grant runs out in month 60
    steps(m, 60)
    text = debrief_html(m)
    assert "no new money is due for 12 months" in text and "past the end" not in text
    m = session(seed=5, overrides={"months": 60})
    steps(m, 60)
    text = debrief_html(m)
    assert "idle for 12 months, past the end of the run" in text and "no new money is due" not in text
