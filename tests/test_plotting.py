"""The timeline figure of one run (peacesim.plotting)."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
from matplotlib import _pylab_helpers
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

import peacesim
from peacesim.plotting import PHASE_COLOURS, RELAPSE_COLOUR, SIGNED_COLOUR, plot_timeline, save_timeline

SEEDS = range(0, 41)


@pytest.fixture(scope="module")
def runs():
    return [peacesim.run_scenario("reference", seed=s) for s in SEEDS]


@pytest.fixture(scope="module")
def agreement_run(runs):
    """A run with an agreement, preferably one that also relapsed."""
    with_agreement = [r for r in runs if r.outcome["agreement_reached"]]
    if not with_agreement:
        pytest.skip("no reference run in seeds 0..40 reached an agreement")
    relapsed = [r for r in with_agreement if r.outcome["n_relapses"] > 0]
    return (relapsed or with_agreement)[0]


@pytest.fixture(scope="module")
def figure(agreement_run):
    fig = plot_timeline(agreement_run)
    FigureCanvasAgg(fig).draw()
    return fig


def axis(fig: Figure, label: str):
    found = [ax for ax in fig.axes if ax.get_label() == label]
    assert len(found) == 1, [ax.get_label() for ax in fig.axes]
    return found[0]


def main_axes(fig: Figure):
    return [axis(fig, name) for name in ("violence", "trust", "ripeness", "third parties", "events")]


def vlines_at(ax, colour: str) -> list[float]:
    """x of the full-height vertical lines of one colour."""
    xs = []
    for line in ax.get_lines():
        x = np.asarray(line.get_xdata(), dtype=float)
        if len(x) == 2 and x[0] == x[1] and to_hex(line.get_color()) == to_hex(colour):
            xs.append(float(x[0]))
    return sorted(xs)


def test_panels(figure):
    assert len(figure.axes) >= 3
    labels = {ax.get_label() for ax in figure.axes}
    assert {"violence", "trust", "ripeness", "third parties", "events"} <= labels
    shared = axis(figure, "violence").get_shared_x_axes()
    assert all(shared.joined(axis(figure, "violence"), ax) for ax in main_axes(figure))


def test_violence_and_trust_lines_follow_the_series(figure, agreement_run):
    s = agreement_run.series
    (total,) = [ln for ln in axis(figure, "violence").get_lines() if ln.get_label() == "total violence"]
    np.testing.assert_allclose(total.get_ydata(), s["violence"].to_numpy())
    np.testing.assert_allclose(total.get_xdata(), s["month"].to_numpy())
    (trust,) = [ln for ln in axis(figure, "trust").get_lines() if ln.get_label() == "trust between parties"]
    np.testing.assert_allclose(trust.get_ydata(), s["trust_parties"].to_numpy())
    (impl,) = [ln for ln in axis(figure, "trust").get_lines() if ln.get_label() == "implementation"]
    in_impl = (s["phase"].astype(str) == "implementation").to_numpy()
    y = np.asarray(impl.get_ydata(), dtype=float)
    assert np.isnan(y[~in_impl]).all() and not np.isnan(y[in_impl]).any()


def test_one_ripeness_line_per_party_and_the_threshold(figure, agreement_run):
    ax = axis(figure, "ripeness")
    gids = [ln.get_gid() for ln in ax.get_lines()]
    ripeness_gids = sorted(g for g in gids if g and g.startswith("ripeness:"))
    assert ripeness_gids == sorted(f"ripeness:{p}" for p in agreement_run.parties)
    labels = [ln.get_label() for ln in ax.get_lines()]
    for party in agreement_run.parties:
        assert party in labels
    (thr,) = [ln for ln in ax.get_lines() if ln.get_gid() == "ripeness_threshold"]
    assert np.allclose(thr.get_ydata(), agreement_run.params["ripeness_threshold"])


def test_agreement_and_relapse_markers_in_every_panel(figure, agreement_run):
    ep = agreement_run.episodes
    signed = sorted(float(m) for m in ep["signed_month"])
    relapses = sorted(float(m) for m in ep.loc[ep["relapsed"].astype(bool), "end_month"])
    assert signed
    for ax in main_axes(figure):
        assert vlines_at(ax, SIGNED_COLOUR) == signed, ax.get_label()
        assert vlines_at(ax, RELAPSE_COLOUR) == relapses, ax.get_label()


def test_phase_bands_cover_the_run(figure, agreement_run):
    s = agreement_run.series
    phases = s["phase"].astype(str).to_numpy()
    n_runs = 1 + int((phases[1:] != phases[:-1]).sum())
    band_colours = {to_hex(c) for c in PHASE_COLOURS.values()}
    for ax in main_axes(figure):
        bands = [p for p in ax.patches if to_hex(p.get_facecolor()) in band_colours]
        assert len(bands) == n_runs, ax.get_label()
        assert {to_hex(p.get_facecolor()) for p in bands} == {to_hex(PHASE_COLOURS[x]) for x in set(phases)}
    # the phase legend appears once, at figure level
    (legend,) = figure.legends
    texts = {t.get_text() for t in legend.get_texts()}
    assert set(phases) <= texts and "agreement signed" in texts
    assert ("relapse" in texts) == bool(agreement_run.outcome["n_relapses"])


def test_event_ticks_match_the_event_log(figure, agreement_run):
    ev = agreement_run.events
    ax = axis(figure, "events")
    n_points = sum(len(c.get_offsets()) for c in ax.collections)
    shown = ev["kind"].isin(["attack", "attack_foiled", "rotation", "premature_proposal", "funding_lapse"]).sum()
    assert n_points == shown
    xs = sorted(float(x) for c in ax.collections for x, _ in c.get_offsets())
    assert xs == sorted(float(m) for m in ev.loc[ev["kind"].isin(
        ["attack", "attack_foiled", "rotation", "premature_proposal", "funding_lapse"]), "month"])


def test_title_names_scenario_and_seed(figure, agreement_run):
    title = figure._suptitle.get_text()
    assert agreement_run.scenario in title and f"seed {agreement_run.seed}" in title
    fig = plot_timeline(agreement_run, title="My class run")
    assert fig._suptitle.get_text() == "My class run"


def test_legends_sit_outside_the_data_and_inside_the_figure(figure):
    renderer = figure.canvas.get_renderer()
    fig_box = figure.bbox
    for ax in main_axes(figure)[:4]:
        legend = ax.get_legend()
        assert legend is not None, ax.get_label()
        lb = legend.get_window_extent(renderer)
        assert lb.x0 >= ax.get_window_extent(renderer).x1 - 1, ax.get_label()
        assert lb.x1 <= fig_box.x1 + 1 and lb.y0 >= fig_box.y0 - 1, f"{ax.get_label()} legend is cut off"
    for ax in figure.axes:  # axis labels and tick labels are not cut off at the edges
        tb = ax.get_tightbbox(renderer)
        assert tb.x0 >= fig_box.x0 - 1 and tb.x1 <= fig_box.x1 + 1, ax.get_label()


def test_no_pyplot_state_and_reuse_of_a_figure(agreement_run):
    before = _pylab_helpers.Gcf.get_num_fig_managers()
    fig = Figure()
    out = plot_timeline(agreement_run, fig=fig)
    assert out is fig and len(fig.axes) >= 3
    again = plot_timeline(agreement_run, fig=fig, third_parties=False)
    assert again is fig
    assert "third parties" not in {ax.get_label() for ax in fig.axes}
    assert _pylab_helpers.Gcf.get_num_fig_managers() == before


def test_run_without_agreement_has_no_markers():
    # No mediator can open talks when ripeness must be near-total: a run with no agreement.
    r = peacesim.run_scenario("reference", seed=1, overrides={"ripeness_threshold": 0.95})
    assert not r.outcome["agreement_reached"]
    fig = plot_timeline(r)
    for ax in fig.axes:
        assert vlines_at(ax, SIGNED_COLOUR) == [] and vlines_at(ax, RELAPSE_COLOUR) == []


def test_short_run_plots(agreement_run):
    r = peacesim.run_scenario("reference", seed=1, months=12)
    fig = plot_timeline(r)
    FigureCanvasAgg(fig).draw()
    assert len(fig.axes) >= 3


def test_save_timeline_writes_a_png(tmp_path, agreement_run):
    path = save_timeline(agreement_run, tmp_path / "timeline.png")
    assert path.exists()
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 50_000
    img = matplotlib.image.imread(path)
    h, w = img.shape[:2]
    assert 1400 <= w <= 1800 and 900 <= h <= 1200
    # not a blank image: many distinct colours
    assert len(np.unique(img.reshape(-1, img.shape[2]), axis=0)) > 50


def test_a_months_intervention_label_counts_every_intervention():
    from peacesim.plotting import _month_label

    assert _month_label(["attack: cell"] * 3 + ["withdraw: envoy"], 300, 7) == "4 interventions: attack: cell, withdraw: envoy"
    assert _month_label(["attack: cell"] * 2, 300, 7) == "2 interventions: attack: cell"
    assert _month_label(["rotate: envoy", "withdraw: NGO"], 300, 7) == "rotate: envoy, withdraw: NGO"
    cut = _month_label(["rotate: a very long name of a mediating organisation"] * 2, 80, 7)
    assert cut.startswith("2 interventions: ") and cut.endswith("…")


def test_the_threshold_line_follows_a_set_intervention():
    """`set ripeness_threshold` moves the threshold from its month on: the dashed line and its
    legend show the value in force, not the start value over the whole run."""
    r = peacesim.run_scenario("reference", seed=3, interventions=["25:set:name=ripeness_threshold,value=0.3"])
    fig = plot_timeline(r)
    ax = axis(fig, "ripeness")
    (thr,) = [ln for ln in ax.get_lines() if ln.get_gid() == "ripeness_threshold"]
    x, y = np.asarray(thr.get_xdata(), float), np.asarray(thr.get_ydata(), float)
    start = r.params["ripeness_threshold"]
    assert np.allclose(y[x < 24.5], start) and np.allclose(y[x > 24.5], 0.3)
    assert x.max() == r.months + 0.5
    assert thr.get_label() == f"ripeness threshold\n({start:.2f}, 0.30 from month 25)"
    # the legend stays inside the figure, with two changes as with one (a long label ran off its edge)
    twice = peacesim.run_scenario("reference", seed=3, interventions=["25:set:name=ripeness_threshold,value=0.3",
                                                                      "125:set:name=ripeness_threshold,value=0.55"])
    for f in (fig, plot_timeline(twice)):
        f.canvas.draw()
        legend = axis(f, "ripeness").get_legend()
        assert legend.get_window_extent().x1 <= f.bbox.x1, [t.get_text() for t in legend.get_texts()]
    labels = [t.get_text() for t in axis(f, "ripeness").get_legend().get_texts()]
    assert f"ripeness threshold\n({start:.2f}, …, 0.55 from month 125)" in labels


def test_labels_of_interventions_in_near_months_are_not_written_over_each_other():
    """Four interventions in months 24 to 29 of a 240-month run: their lines are a few points
    apart, and a label beside each was written over the next; they share one, beside the last."""
    from peacesim.interventions import parse_cli

    plan = ["24:rotate:actor=UN envoy", "25:attack", "27:withdraw:actor=the mediation NGO",
            "29:pressure:party=government,strength=0.7", "120:attack"]

    r = peacesim.run_scenario("reference", seed=3, interventions=[parse_cli(x) for x in plan])
    fig = plot_timeline(r)
    FigureCanvasAgg(fig)
    renderer = fig.canvas.get_renderer()
    texts = fig.findobj(lambda a: str(a.get_gid() or "").startswith("intervention-label:"))
    boxes = [t.get_window_extent(renderer) for t in texts]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), [t.get_text() for t in texts]
    assert sorted(t.get_gid() for t in texts) == ["intervention-label:120", "intervention-label:29"]
    [near] = [t.get_text() for t in texts if t.get_gid() == "intervention-label:29"]
    assert near.startswith("4 interventions: rotate")


@pytest.mark.parametrize("name", ["the $$ group", "the $\\frac{$ front", "the $5m and $10m donors"])
def test_names_with_dollar_signs_are_drawn_as_written(tmp_path, name):
    """A '$' in a name from the user's file is text, not the start of mathematical notation: two of
    them made the figure fail after the whole run, or drew the name in italics without its spaces."""
    import subprocess
    import sys

    from peacesim.scenario import resolve_scenario

    text = resolve_scenario("reference").read_text(encoding="utf-8")
    assert text.count('"the armed group"') >= 1
    scen = tmp_path / "dollars.toml"
    scen.write_text(text.replace('"the armed group"', f'"{name.replace(chr(92), chr(92) * 2)}"'), encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "peacesim", "run", str(scen), "--months", "24", "--out",
                        str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "timeline.png").stat().st_size > 0
    run = peacesim.run_scenario(scen, seed=1, months=24)
    fig = plot_timeline(run)
    FigureCanvasAgg(fig).draw()
    texts = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
    assert any(name in t for t in texts)
    assert not any(t.get_parse_math() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts())
    assert matplotlib.rcParams["text.parse_math"]  # a notebook's own figures keep their notation


@pytest.mark.parametrize("scenario", ["myanmar_support_org", "long names"])
def test_long_party_names_stay_inside_the_figure(tmp_path, scenario):
    """A long party's name (the shipped myanmar_support_org's 'the southern ethnic armed
    organisation'; names may be 200 characters) goes on several lines of the legend, which stays
    inside the figure: it ran off the right edge."""
    from peacesim.scenario import resolve_scenario

    if scenario == "long names":
        text = resolve_scenario("reference").read_text(encoding="utf-8")
        long = "the " + " ".join(["armed"] * 32)  # 195 characters
        scenario = tmp_path / "long.toml"
        scenario.write_text(text.replace('"the armed group"', f'"{long}"'), encoding="utf-8")
    run = peacesim.run_scenario(scenario, seed=1, months=36)
    fig = plot_timeline(run)
    FigureCanvasAgg(fig).draw()
    renderer = fig.canvas.get_renderer()
    ax = next(a for a in fig.axes if a.get_label() == "ripeness")
    legend = ax.get_legend()
    assert legend.get_window_extent(renderer).x1 <= fig.bbox.x1 + 1
    assert legend.get_window_extent(renderer).y0 >= fig.bbox.y0 - 1
    texts = [t.get_text() for t in legend.get_texts()]
    assert any("\n" in t for t in texts)
    assert all(len(line) <= 32 for t in texts[:-1] for line in t.splitlines())
