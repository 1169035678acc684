"""Two exports of one dashboard session: each re-run file re-runs into a results folder of its
own, so that re-running the second never replaces (or mixes with) the re-run of the first; an
export whose re-run file is the same as an earlier one's keeps that one's names."""

from __future__ import annotations

import base64
import html
import re
import tomllib

import pytest

solara = pytest.importorskip("solara")
import ipyvue  # noqa: E402
import ipyvuetify as v  # noqa: E402
import solara.widgets  # noqa: E402

from peacesim import cli  # noqa: E402
from peacesim.dashboard import app  # noqa: E402
from peacesim.dashboard.session import Exports, export_name, load_upload  # noqa: E402


@pytest.fixture(autouse=True)
def fresh_exports(monkeypatch):
    """Each test its own dashboard's exports (the page's are the server's, shared by its tabs)."""
    monkeypatch.setattr(app, "_EXPORTS", Exports())


def button(rc, label):
    return rc.find(v.Btn, children=[label]).widget


def html_text(rc, cls):
    return [w.unsafe_innerHTML for w in rc.find(solara.widgets.HTML).widgets if cls in w.attributes.get("class", "")]


def saved(rc) -> dict[str, str]:
    """The files the page's links offer: name -> text."""
    links = html_text(rc, "peacesim-debrief-links")
    assert len(links) == 1, links
    return {name: base64.b64decode(data).decode("utf-8")
            for data, name in re.findall(r'href="data:[^;]+;base64,([^"]+)" download="([^"]+)"', links[0])}


def texts(rc) -> list[str]:
    return [c for w in rc.find(ipyvue.Html).widgets for c in w.children if isinstance(c, str)]


def rerun(tmp_path, monkeypatch, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", name, "--quiet", "--no-figure", "--months", "12"]) == 0


def test_a_second_export_with_more_interventions_re_runs_beside_the_first(tmp_path, monkeypatch):
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"
    button(rc, "Apply intervention").click()
    button(rc, "Step").click()
    button(rc, "Export the debrief").click()
    first = saved(rc)
    assert sorted(first) == ["peacesim-debrief.html", "peacesim-session.toml"]
    note = [html.unescape(x) for x in html_text(rc, "peacesim-export-note")]
    assert note == ["Export 1: peacesim run peacesim-session.toml writes the re-run into "
                    "results/reference-session-seed1."]

    button(rc, "Step").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "pressure"
    button(rc, "Apply intervention").click()
    button(rc, "Step").click()
    button(rc, "Export the debrief").click()
    second = saved(rc)
    assert sorted(second) == ["peacesim-debrief-2.html", "peacesim-session-2.toml"]
    assert tomllib.loads(second["peacesim-session-2.toml"])["scenario"]["name"] == "reference-export2"
    note = [html.unescape(x) for x in html_text(rc, "peacesim-export-note")]
    assert note[0].startswith("Export 2 (of this scenario from this dashboard), with its own file names: peacesim run "
                              "peacesim-session-2.toml writes the re-run into results/reference-export2-session-seed1")
    assert "Re-run: peacesim run peacesim-session-2.toml --seed 1" in texts(rc)
    assert "results/reference-export2-session-seed1" in second["peacesim-debrief-2.html"]
    rc.close()

    # both re-run, each into the folder the page named, the first kept as it was written
    rerun(tmp_path, monkeypatch, "peacesim-session.toml", first["peacesim-session.toml"])
    one = tmp_path / "results" / "reference-session-seed1"
    before = {p.name: p.read_bytes() for p in one.iterdir()}
    rerun(tmp_path, monkeypatch, "peacesim-session-2.toml", second["peacesim-session-2.toml"])
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [
        "reference-export2-session-seed1", "reference-session-seed1"]
    assert {p.name: p.read_bytes() for p in one.iterdir()} == before
    events = (tmp_path / "results" / "reference-export2-session-seed1" / "events.csv").read_text()
    assert "pressure" in events and "pressure" not in before["events.csv"].decode()


def test_an_export_whose_re_run_file_is_unchanged_keeps_its_names():
    """A later month without a new intervention or parameter: the same re-run, the same folder."""
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    button(rc, "Export the debrief").click()
    first = saved(rc)
    button(rc, "Step").click()
    button(rc, "Export the debrief").click()
    again = saved(rc)
    assert sorted(again) == ["peacesim-debrief.html", "peacesim-session.toml"]
    assert again["peacesim-session.toml"] == first["peacesim-session.toml"]
    assert "Month 2 " not in first["peacesim-debrief.html"] and "month 2 of 240" in again["peacesim-debrief.html"]
    note = [html.unescape(x) for x in html_text(rc, "peacesim-export-note")]
    assert note[0].startswith("Export 1 again: ") and "results/reference-session-seed1" in note[0]
    # Reset with another seed: a new run of the same tab, a new export number
    rc.find(v.TextField, label="Seed").widget.v_model = "4"
    button(rc, "Reset").click()
    button(rc, "Export the debrief").click()
    assert sorted(saved(rc)) == ["peacesim-debrief-2.html", "peacesim-session-2.toml"]
    rc.close()


def test_a_session_opened_from_an_exports_file_numbers_its_exports_on():
    from peacesim.dashboard.session import ClassroomModel, replay_toml
    from peacesim.scenario import load_scenario

    assert export_name("reference", 1) == "reference" and export_name("reference", 3) == "reference-export3"
    assert export_name("reference-export2", 4) == "reference-export4"
    m = ClassroomModel(load_scenario("reference"), rng=5)
    m.step()
    m.intervene("attack")
    text = replay_toml(m, filename="peacesim-session-2.toml", name=export_name("reference", 2))
    opened = ClassroomModel(load_upload("peacesim-session-2.toml", text.encode()), rng=5)
    opened.step()
    done = Exports().export(opened)
    assert (done.number, done.scenario_name, done.replay_name, done.folder) == (
        3, "reference-export3", "peacesim-session-3.toml", "results/reference-export3-session-seed5")


def test_the_re_run_line_names_the_file_of_the_runs_last_export_after_the_run_moves_on():
    box, rc = solara.render(app.Page(), handle_error=False)
    button(rc, "Step").click()
    button(rc, "Export the debrief").click()
    rc.find(v.Select, label="Intervention").widget.v_model = "attack"
    button(rc, "Apply intervention").click()
    button(rc, "Export the debrief").click()
    assert "peacesim-session-2.toml" in saved(rc)
    button(rc, "Step").click()  # the links go; the command still names the file saved last
    assert html_text(rc, "peacesim-debrief-links") == []
    assert "Re-run: peacesim run peacesim-session-2.toml --seed 1" in texts(rc)
    button(rc, "Reset").click()  # a new run: no export of it yet
    assert "Re-run: peacesim run peacesim-session.toml --seed 1" in texts(rc)
    rc.close()


def test_a_second_exports_file_re_runs_the_session_exactly(tmp_path, monkeypatch):
    """Its scenario's name is its own (NAME-export2); the run is the session's, month for month."""
    import numpy as np
    import pandas as pd

    from peacesim.dashboard.session import ClassroomModel, replay_toml
    from peacesim.result import RunResult
    from peacesim.scenario import load_scenario

    m = ClassroomModel(load_scenario("reference"), rng=9)
    for _ in range(10):
        m.step()
    m.intervene("cut_funding", actor="the mediation NGO", months=6)
    exports = Exports()
    assert exports.export(m).number == 1
    for _ in range(10):
        m.step()
    m.intervene("attack")
    for _ in range(5):
        m.step()
    done = exports.export(m)
    assert (done.number, done.replay_name) == (2, "peacesim-session-2.toml")
    (tmp_path / done.replay_name).write_text(replay_toml(m, filename=done.replay_name, name=done.scenario_name),
                                             encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", done.replay_name, "--quiet", "--no-figure"]) == 0
    series = pd.read_csv(tmp_path / done.folder / "series.csv", float_precision="round_trip")
    ours = RunResult.from_model(m).series
    for col in ours.columns:
        if col == "phase":
            assert list(series[col][:25]) == list(ours[col].astype(str)), col
        else:
            assert np.array_equal(series[col].to_numpy(dtype=float)[:25], ours[col].to_numpy(dtype=float)), col


def test_two_tabs_exporting_different_runs_of_one_scenario_and_seed_get_different_names():
    """Two groups of a class, each on seed 1: the trainer re-runs both files in one folder."""
    box1, rc1 = solara.render(app.Page(), handle_error=False)
    box2, rc2 = solara.render(app.Page(), handle_error=False)
    button(rc1, "Step").click()
    button(rc1, "Export the debrief").click()
    button(rc2, "Step").click()
    rc2.find(v.Select, label="Intervention").widget.v_model = "attack"
    button(rc2, "Apply intervention").click()
    button(rc2, "Export the debrief").click()
    assert sorted(saved(rc1)) == ["peacesim-debrief.html", "peacesim-session.toml"]
    assert sorted(saved(rc2)) == ["peacesim-debrief-2.html", "peacesim-session-2.toml"]
    rc1.close()
    rc2.close()
