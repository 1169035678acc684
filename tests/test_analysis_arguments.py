"""Arguments of the analysis and figure functions that are no true/false, or name a factor twice,
are refused in one line (a text such as 'no' counted as true; a factor named twice was taken)."""

from __future__ import annotations

import pytest

from peacesim.analysis import compare, durability_table, hazard_ratio, load_results
from peacesim.errors import InputError
from peacesim.sweep import run_experiment
from peacesim.sweep_plots import km_curves, plot_results

EXPERIMENT = """
[experiment]
title = "arguments"
scenario = "reference"
replicates = 3
master_seed = 3
months = 120

[vary]
handover_quality = [0.1, 0.9]
coordination = ["none", "hierarchical"]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    root = tmp_path_factory.mktemp("arguments")
    (root / "arguments.toml").write_text(EXPERIMENT)
    run_experiment(root / "arguments.toml", executor="serial", out=root / "out", progress=False)
    return root / "out"


@pytest.mark.parametrize("call, message", [
    (lambda r: durability_table(r, first_only="yes"), "first_only = 'yes' is not allowed; expected True or False"),
    (lambda r: compare(r, "coordination", "none", "hierarchical", first_only=1),
     "first_only = 1 is not allowed; expected True or False"),
    (lambda r: hazard_ratio(r, "coordination", stratify="no"), "stratify = 'no' is not allowed; expected True or False"),
    (lambda r: km_curves(r, first_only="no"), "first_only = 'no' is not allowed; expected True or False"),
    (lambda r: durability_table(r, by=["coordination", "coordination"]),
     "by = ['coordination', 'coordination'] names 'coordination' twice; name each factor once"),
    (lambda r: km_curves(r, by=["coordination", "coordination"]),
     "by = ['coordination', 'coordination'] names 'coordination' twice; name each factor once"),
    (lambda r: plot_results(r.path, first_only="no"), "first_only = 'no' is not allowed; expected True or False"),
])
def test_bad_arguments_are_refused_in_one_line(swept, call, message):
    res = load_results(swept)
    with pytest.raises(InputError) as info:
        call(res)
    assert str(info.value) == message


def test_plot_results_checks_its_arguments_before_it_writes_anything(swept):
    before = sorted(p.name for p in swept.iterdir())
    with pytest.raises(InputError, match="horizon = '60' is not allowed"):
        plot_results(swept, horizon="60")
    assert sorted(p.name for p in swept.iterdir()) == before


def test_true_and_false_still_work(swept):
    res = load_results(swept)
    assert len(durability_table(res, first_only=True)) == 4
    assert len(durability_table(res, by=["coordination"], first_only=False)) == 2


def test_a_median_time_to_agreement_not_reached_is_longer_than_the_longest_run(swept):
    from peacesim.sweep_plots import metric_vs_parameter

    res = load_results(swept)
    assert (durability_table(res)["months_to_agreement"] == float("inf")).any()
    ax = metric_vs_parameter(res, "handover_quality", metric="months_to_agreement", hue="coordination").axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "median not reached: longer than the\nlongest run (> months shown)" in texts
    assert not any("follow-up" in t for t in texts)
