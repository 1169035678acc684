"""The timeline's legend names only the marks the run has, and an intervention's star sits on its
line (peacesim.plotting)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex

import peacesim
from peacesim.plotting import INTERVENTION_COLOUR, plot_timeline


@pytest.fixture(scope="module")
def run():
    """A short run without an agreement, with two interventions."""
    r = peacesim.run_scenario("reference", seed=2, months=24, interventions=[
        {"month": 6, "kind": "pressure", "party": "the government"},
        {"month": 12, "kind": "cut_funding", "actor": "the UN envoy", "months": 3}])
    assert not r.outcome["agreement_reached"]
    return r


def legend_texts(fig) -> set[str]:
    (legend,) = fig.legends
    return {t.get_text() for t in legend.get_texts()}


def test_no_agreement_no_relapse_in_the_legend(run):
    texts = legend_texts(plot_timeline(run))
    assert "agreement signed" not in texts and "relapse" not in texts, texts
    assert "intervention" in texts


def episodes(relapsed: bool) -> pd.DataFrame:
    return pd.DataFrame({"episode": [1], "signed_month": [10], "relapsed": [relapsed],
                         "end_month": [15 if relapsed else np.nan]})


@pytest.mark.parametrize("relapsed", [False, True])
def test_the_legend_names_the_marks_drawn(run, relapsed, monkeypatch):
    monkeypatch.setattr(run, "episodes", episodes(relapsed), raising=False)
    texts = legend_texts(plot_timeline(run))
    assert "agreement signed" in texts
    assert ("relapse" in texts) == relapsed


def test_an_interventions_star_sits_on_its_line(run):
    fig = plot_timeline(run)
    FigureCanvasAgg(fig).draw()
    (events,) = [ax for ax in fig.axes if ax.get_label() == "events"]
    stars = sorted(float(x) for c in events.collections
                   if to_hex(c.get_facecolor()[0]) == to_hex(INTERVENTION_COLOUR) for x, _ in c.get_offsets())
    lines = sorted({float(line.get_xdata()[0]) for line in events.get_lines()
                    if to_hex(line.get_color()) == to_hex(INTERVENTION_COLOUR)})
    assert stars == lines == [5.5, 11.5]  # the start of months 6 and 12, where the phase bands change


def test_lines_of_phases_the_run_never_reached_are_not_in_the_panels_legends(run):
    fig = plot_timeline(run)
    texts = {ax.get_label(): [t.get_text() for t in ax.get_legend().get_texts()] for ax in fig.axes
             if ax.get_label() in ("violence", "trust")}
    assert texts["violence"] == ["total violence"]  # no agreement: no violence between signatories
    assert texts["trust"] == ["trust between parties"]  # no talks, no implementation
