"""The Kaplan-Meier figures name a linked factor (one factor that moves several parameters, such as
``[vary.tenure]`` moving tenure_mediator and tenure_diplomat) as summary.csv and the report do:
every parameter with its value, not the first parameter alone."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from peacesim.analysis import durability_table, results_from_frames
from peacesim.sweep_plots import km_curves, metric_vs_parameter

TENURES = [12, 48]  # tenure_mediator; tenure_diplomat is twice as long (varied with it, not the same)


def _results(handover: list[float]):
    """Runs of a design tenure x handover quality, each signing one agreement of a known duration."""
    rng = np.random.default_rng(4)
    design = [{"tenure_mediator": t, "tenure_diplomat": 2 * t, "handover_quality": h} for t in TENURES for h in handover]
    runs, eps = [], []
    for dp, values in enumerate(design):
        for rep in range(25):
            held = float(min(120, rng.exponential(values["tenure_mediator"])))
            keys = {"design_point": dp, "replicate": rep, "seed": 100 + rep, **values}
            runs.append({**keys, "status": "ok", "error": "", "months": 240, "followup_months": 120,
                         "agreement_reached": True, "months_to_first_agreement": 10.0, "n_agreements": 1})
            eps.append({**keys, "episode": 1, "signed_month": 10, "months_survived": held, "relapsed": held < 120})
    manifest = {"name": "linked", "title": "Linked", "factors": ["tenure_mediator", "handover_quality"],
                "factor_parameters": {"tenure": ["tenure_mediator", "tenure_diplomat"]},
                "design": [{"design_point": i, "values": v} for i, v in enumerate(design)], "replicates": 25}
    return results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), manifest)


def _legend(fig) -> list[str]:
    texts = [t.get_text().replace("\n", " ") for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    return texts


def _curves(texts: list[str]) -> list[str]:
    """The curves' entries without their counts: 'label (n=25)' -> 'label'."""
    return [t.split(" (n=")[0] for t in texts if " (n=" in t]


@pytest.mark.parametrize("by", [None, "tenure_mediator"], ids=["every setting", "by the linked factor"])
def test_the_curves_are_labelled_as_summary_csv_labels_their_settings(by):
    # five handover levels: too many for line styles, so every curve has a label of its own
    res = _results([0.1, 0.3, 0.5, 0.7, 0.9])
    want = durability_table(res, by=by)["label"].tolist()
    assert all("tenure diplomat = 24 months" in w or "tenure diplomat = 96 months" in w for w in want)
    assert _curves(_legend(km_curves(res, by=by))) == want


def test_the_key_of_colours_names_every_parameter_of_a_linked_factor():
    # two handover levels: colour shows the tenure and line style the handover, each with a key
    res = _results([0.2, 0.8])
    texts = _legend(km_curves(res))
    for label in durability_table(res, by="tenure_mediator")["label"]:
        assert label in texts  # 'tenure mediator = 12 months, tenure diplomat = 24 months'
    assert "0.2" in texts and "0.8" in texts  # a factor that moves nothing else: its values alone


def test_a_linked_factor_as_the_hue_of_a_metric_figure_is_named_alike():
    res = _results([0.2, 0.8])
    texts = _legend(metric_vs_parameter(res, "handover_quality", hue="tenure_mediator"))
    assert texts == durability_table(res, by="tenure_mediator")["label"].tolist()
