"""What the sensitivity report, the command's summary and the pilot say, and the noise and
convergence tables they read: on analysis tables built for each case (analytic functions through
the same pipeline as the model, or index tables written by hand), without running the model except
for one tiny pilot."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from peacesim import sensitivity_analysis as sa
from peacesim import sensitivity_plots as plots
from peacesim.sensitivity import PilotResult, SensitivityAnalysis, SensitivitySpec

Y = sa.Outcome("y", "the outcome y", "", "mean", "y", short="y")
PI = np.pi


def ishigami(X, a=7.0, b=0.1):
    return np.sin(X[:, 0]) + a * np.sin(X[:, 1]) ** 2 + b * X[:, 2] ** 4 * np.sin(X[:, 0])


def analysed(design, function, *, replicates=2, sd=0.0, seed=1, outcomes=(Y,), runs=None):
    """An analytic function through the replicate layer, the indices and the noise, as a
    SensitivityAnalysis the report can read."""
    if runs is None:
        seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(replicates)]
        noise = (lambda rng, n: rng.normal(0.0, sd, n)) if sd else None
        runs = sa.evaluate(design, function, seeds, noise=noise)
    out = sa.point_outputs(design, runs, list(outcomes), replicates)
    table, notes = sa.indices(design, out.Y, seed=seed + 7, resamples=200, given_data=False)
    noise = sa.noise_table(out, list(outcomes), seed=seed + 9, resamples=200)
    spec = SensitivitySpec(name="t", title="test", question="", path="t.toml", design=design,
                           outcomes=tuple(outcomes), replicates=replicates, master_seed=1, resamples=200,
                           given_data=False, runs=None)
    return SensitivityAnalysis(spec, out, table, noise, notes, {"scenario": "analytic"})


def section(report: str, title: str) -> str:
    start = report.index(f"## {title}")
    end = report.find("\n## ", start + 3)
    return report[start:end if end >= 0 else None]


def sobol_rows(outcome: str, rows, samples: int = 16):
    """An indices table of Sobol' S1 and ST: rows of (factor, (S1, low, high), (ST, low, high))."""
    out = []
    for name, s1, st in rows:
        for index, (e, lo, hi) in (("S1", s1), ("ST", st)):
            out.append({"method": "sobol", "outcome": outcome, "parameter": name, "parameter_2": "", "index": index,
                        "estimate": e, "low": lo, "high": hi, "n": samples})
    t = pd.DataFrame(out)
    t["rank"] = sa._ranks(t)
    return t


def fake_analysis(noise_share, low, high, *, replicates=4, samples=16):
    noise = pd.DataFrame([{"outcome": "y", "noise_share": noise_share, "noise_share_low": low,
                           "noise_share_high": high}])
    return SimpleNamespace(noise=noise, spec=SimpleNamespace(replicates=replicates,
                                                              design=SimpleNamespace(samples=samples)))


# ---------------------------------------------------------------------------------------------
# Sobol' words: noise is not read as structure
# ---------------------------------------------------------------------------------------------
INTERACTING = [("a", (0.10, 0.0, 0.2), (0.80, 0.6, 1.0)), ("b", (0.20, 0.1, 0.3), (0.50, 0.4, 0.6)),
               ("c", (0.0, -0.01, 0.01), (0.0, 0.0, 0.0))]


@pytest.mark.parametrize("share, low, high", [(1.0, math.nan, math.nan), (0.3, 0.1, 0.6)])
def test_no_interaction_or_additivity_claim_when_the_noise_in_the_means_may_be_half_or_more(share, low, high):
    """ST - S1 of 70 points and S1 adding up to 30% would be read as interactions; with the noise in
    the means at 100%, or at 30% with an interval up to 60%, they are not."""
    t = sobol_rows("y", INTERACTING)
    words = "\n".join(plots._sobol_words(t, Y, fake_analysis(share, low, high)))
    assert "through interactions" not in words and "comes from interactions" not in words
    assert "close to additive" not in words and "account for between" not in words
    assert "say nothing about interactions or additivity" in words and "More replicates are needed" in words
    # the same indices with little noise are read as interactions
    quiet = "\n".join(plots._sobol_words(t, Y, fake_analysis(0.02, 0.01, 0.03)))
    assert "1. `a`: ST 80% (60 to 100%), S1 10% (0.0 to 20.0%); most of its influence is through interactions" in quiet
    assert "interactions between factors account for between 67% and 70%" in quiet  # 70% less the noise's 3%


def test_a_noise_dominated_outcome_through_the_pipeline_gets_no_interaction_claims():
    """Ishigami with noise far above its signal at 2 replicates: the per-point means are mostly noise,
    and the report says so instead of reading interactions or additivity from the indices."""
    design = sa.make_design([sa.Input(f"x{i}", "float", -PI, PI) for i in (1, 2, 3)], "sobol", 16, seed=3,
                            second_order=True)
    a = analysed(design, ishigami, replicates=2, sd=40.0, seed=2)
    assert a.noise.loc[0, "noise_share"] > 0.8
    text = section(plots.report(a, a.convergence(), []), "The outcome y")
    assert "say nothing about interactions or additivity" in text
    assert "through interactions" not in text and "comes from interactions" not in text
    assert "close to additive" not in text and "Pairwise interactions whose interval" not in text


def test_first_order_indices_adding_up_to_more_than_one_are_called_estimator_error():
    t = sobol_rows("y", [("a", (0.99, 0.45, 1.52), (1.00, 0.48, 1.53)), ("b", (0.34, -0.17, 0.85), (0.45, 0.04, 0.86)),
                         ("c", (0.07, -0.19, 0.34), (0.22, -0.09, 0.54))])
    words = "\n".join(plots._sobol_words(t, Y, fake_analysis(0.13, 0.07, 0.2)))
    assert "add up to 140%, more than the 100% that shares of one variance can" in words
    assert "estimator error, not additivity" in words and "more samples are needed" in words
    assert "close to additive" not in words and "account for between" not in words


def test_s1_above_st_is_remarked_on_within_and_beyond_their_intervals():
    within = sobol_rows("y", [("a", (0.53, 0.03, 1.04), (0.38, 0.11, 0.64)), ("b", (0.1, 0.0, 0.2), (0.2, 0.1, 0.3))])
    words = "\n".join(plots._sobol_words(within, Y, fake_analysis(0.05, 0.02, 0.08)))
    assert "`a`: ST 38% (11 to 64%), S1 53% (3 to 104%); S1 above ST, which true indices cannot be, but within their " \
           "intervals: estimator error." in words
    assert "`b`" in words and "`b`: ST 20% (10 to 30%), S1 10% (0.0 to 20.0%)." in words
    beyond = sobol_rows("y", [("a", (0.60, 0.50, 0.70), (0.30, 0.25, 0.35)), ("b", (0.1, 0.0, 0.2), (0.2, 0.1, 0.3))])
    words = "\n".join(plots._sobol_words(beyond, Y, fake_analysis(0.05, 0.02, 0.08)))
    assert "S1 exceeds ST beyond their intervals, which true indices cannot: these estimates are unreliable" in words
    assert "Where S1 exceeds ST beyond their intervals (`a`), the estimator has not settled at N = 16: more samples " \
           "are needed." in words


def test_what_the_first_order_indices_leave_is_split_into_noise_and_interactions():
    t = sobol_rows("y", [("a", (0.45, 0.4, 0.5), (0.55, 0.5, 0.6)), ("b", (0.28, 0.25, 0.31), (0.4, 0.35, 0.45))])
    words = "\n".join(plots._sobol_words(t, Y, fake_analysis(0.10, 0.07, 0.13)))
    assert ("The first-order indices add up to 73%. Of the 27% they leave, up to 10% (7 to 13%) can be the noise left "
            "in the means, so interactions between factors account for between 14% and 27% of the variance.") in words
    # the noise may be 32%, more than the 27% left: no interactions are claimed, though its estimate is 20%
    wide = "\n".join(plots._sobol_words(t, Y, fake_analysis(0.20, 0.07, 0.32)))
    assert "can account for all of the 27% they leave: no clear sign of interactions" in wide
    assert "account for between" not in wide
    all_noise = "\n".join(plots._sobol_words(t, Y, fake_analysis(0.30, 0.2, 0.4)))
    assert "can account for all of the 27% they leave: no clear sign of interactions" in all_noise


# ---------------------------------------------------------------------------------------------
# Morris words
# ---------------------------------------------------------------------------------------------
def morris_rows(outcome, rows):
    """(factor, mu*, mu, sigma), each (estimate, low, high)."""
    out = []
    for name, star, mu, sig in rows:
        for index, (e, lo, hi) in (("mu_star", star), ("mu", mu), ("sigma", sig)):
            out.append({"method": "morris", "outcome": outcome, "parameter": name, "parameter_2": "", "index": index,
                        "estimate": e, "low": lo, "high": hi, "n": 10})
    t = pd.DataFrame(out)
    t["rank"] = sa._ranks(t)
    return t


def test_a_mu_interval_that_includes_zero_leaves_the_direction_undetermined():
    t = morris_rows("y", [("a", (0.45, 0.0, 0.9), (0.05, -0.3, 0.4), (0.72, 0.4, 1.0)),
                          ("b", (0.40, 0.2, 0.6), (0.40, 0.2, 0.6), (0.1, 0.0, 0.2))])
    design = SimpleNamespace(inputs=[sa.Input("a", "float", 0, 1), sa.Input("b", "float", 0, 1)], num_levels=4)
    words = "\n".join(plots._morris_words(t, Y, design))
    assert "changes across the range" not in words
    assert "1. `a`: mu* 0.45 (0 to 0.9); direction not determined (mu's interval includes 0); sigma 0.72, 1.6 times " \
           "mu*: non-linear, non-monotonic or interacting with other factors." in words
    assert "2. `b`: mu* 0.4 (0.2 to 0.6); raising it raises the outcome; sigma 0.1, 0.25 times mu*: monotonic." in words


# ---------------------------------------------------------------------------------------------
# the command's summary
# ---------------------------------------------------------------------------------------------
def summary_of(table, outcomes, noise=None, conv=None):
    spec = SimpleNamespace(outcomes=outcomes, design=SimpleNamespace(method="morris"))
    noise = noise if noise is not None else pd.DataFrame({"outcome": [o.name for o in outcomes],
                                                          "noise_share": 0.1, "note": ""})
    conv = conv if conv is not None else pd.DataFrame()
    a = SimpleNamespace(spec=spec, indices=table, noise=noise, convergence=lambda: conv)
    result = SimpleNamespace(analysis=a, ran=10, run_seconds=1.0, skipped=0, retried=0, seconds=2.0,
                             out=Path("out"), files=[])
    return plots.summary_lines(result)


def test_the_summary_names_no_factor_without_an_index():
    nan = (math.nan, math.nan, math.nan)
    thin = morris_rows("rmst60", [(n, nan, nan, nan) for n in ("coordination", "fight_intensity", "local_violence_base")])
    some = morris_rows("y", [("zeta", (0.3, 0.1, 0.5), (0.3, 0.1, 0.5), (0.1, 0, 0.2)), ("alpha", nan, nan, nan)])
    rmst = sa.Outcome("rmst60", "rmst", "months", "rmst")
    lines = summary_of(pd.concat([thin, some], ignore_index=True), [rmst, Y])
    line = next(x for x in lines if x.strip().startswith("rmst60"))
    assert "no index (see the report)" in line and "coordination" not in line
    line = next(x for x in lines if x.strip().startswith("y "))
    assert "zeta 0.3" in line and "alpha" not in line


# ---------------------------------------------------------------------------------------------
# convergence verdicts
# ---------------------------------------------------------------------------------------------
def with_check(t, moved=(), half=5):
    t = t.copy()
    finite = np.isfinite(t["estimate"]) & (t["index"] == "mu_star")
    t["estimate_half"] = np.where(finite, t["estimate"], np.nan)
    t["moved"] = [bool(p in moved) if f else None for p, f in zip(t["parameter"], finite)]
    t["samples_half"] = half
    return t


def conv_case():
    nan = (math.nan, math.nan, math.nan)
    narrow = morris_rows("narrow", [("a", (0.50, 0.45, 0.55), (0.5, 0.4, 0.6), (0.1, 0, 0.2)),
                                    ("b", (0.10, 0.05, 0.15), (0.1, 0.0, 0.2), (0.1, 0, 0.2))])
    wide = morris_rows("wide", [("a", (0.45, 0.0, 0.9), (0.1, -0.3, 0.5), (0.7, 0.4, 1.0)),
                                ("b", (0.40, 0.1, 0.7), (0.4, 0.1, 0.7), (0.6, 0.3, 0.9))])
    none = morris_rows("none", [("a", nan, nan, nan), ("b", nan, nan, nan)])
    moved = morris_rows("moved", [("a", (0.50, 0.45, 0.55), (0.5, 0.4, 0.6), (0.1, 0, 0.2)),
                                  ("b", (0.10, 0.05, 0.15), (0.1, 0.0, 0.2), (0.1, 0, 0.2))])
    t = pd.concat([with_check(narrow), with_check(wide), with_check(none), with_check(moved, moved={"b"})],
                  ignore_index=True)
    outcomes = [sa.Outcome(n, n, "", "mean", n) for n in ("narrow", "wide", "none", "moved")]
    return t, outcomes


def test_convergence_needs_narrow_intervals_and_indices():
    """An index 'moves' only by more than half its interval, so wide intervals alone would pass; an
    outcome without indices is not converged either."""
    t, outcomes = conv_case()
    spec = SimpleNamespace(design=SimpleNamespace(method="morris", samples=10), outcomes=outcomes)
    conv = SensitivityAnalysis(spec, None, t, pd.DataFrame(), {}, {}).convergence().set_index("outcome")
    assert conv["verdict"].to_dict() == {"narrow": "converged", "wide": "intervals too wide", "none": "no indices",
                                         "moved": "not converged"}
    assert conv.loc["wide", "relative_width"] == pytest.approx(0.9 / 0.45)
    assert conv.loc["narrow", "relative_width"] == pytest.approx(0.1 / 0.5)
    assert conv.loc["none", "compared"] == 0 and conv.loc["moved", "moved_indices"] == "mu_star b"
    lines = summary_of(t, outcomes, conv=conv.reset_index())
    line = next(x for x in lines if x.startswith("Convergence"))
    assert "every outcome" not in line
    assert line == ("Convergence: converged for narrow; intervals too wide for wide; not converged for moved; "
                    "no indices for none (see the report).")


def test_an_outcome_whose_indices_were_not_compared_is_not_checked_not_converged():
    """Indices at N, none computed from the first half (its estimate NaN): nothing was compared."""
    t, outcomes = conv_case()
    half_missing = with_check(morris_rows("unchecked", [("a", (0.50, 0.45, 0.55), (0.5, 0.4, 0.6), (0.1, 0, 0.2)),
                                                        ("b", (0.10, 0.05, 0.15), (0.1, 0.0, 0.2), (0.1, 0, 0.2))]))
    half_missing["moved"] = None
    t = pd.concat([t, half_missing], ignore_index=True)
    conv = sa.convergence_table(t, "morris", ["narrow", "unchecked"], 10).set_index("outcome")
    assert conv.loc["unchecked", "verdict"] == "not checked" and conv.loc["unchecked", "compared"] == 0
    assert conv.loc["narrow", "verdict"] == "converged"


def test_an_outcome_with_every_index_zero_is_no_effect_measured_not_converged():
    """All mu* are 0 with zero-width intervals (the outcome never changed): 0/0 is not a narrow
    interval, and nothing could have moved."""
    t, outcomes = conv_case()
    flat = with_check(morris_rows("flat", [("a", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
                                           ("b", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))]))
    t = pd.concat([t, flat], ignore_index=True)
    conv = sa.convergence_table(t, "morris", ["narrow", "flat"], 10).set_index("outcome")
    assert conv.loc["flat", "verdict"] == "no effect measured" and math.isnan(conv.loc["flat", "relative_width"])
    assert conv.loc["narrow", "verdict"] == "converged"
    from peacesim.sensitivity_plots import _verdict_words

    spec = SimpleNamespace(outcomes=[sa.Outcome(n, n, "", "mean", n) for n in ("narrow", "flat")])
    words = _verdict_words(conv.reset_index(), SimpleNamespace(samples=10), spec)
    assert "**no effect measured** for flat" in words and "converged for every outcome" not in words


def test_convergence_at_the_edge_of_the_width_rule():
    """The widest interval of the ranking index may be as wide as the largest index, not wider; a
    factor without an index does not count."""
    nan = (math.nan, math.nan, math.nan)
    for high, verdict in ((1.5, "converged"), (1.5001, "intervals too wide")):
        t = with_check(morris_rows("y", [("a", (1.0, 0.5, high), (1.0, 0.5, 1.5), (0.1, 0, 0.2)),
                                         ("b", (0.2, 0.0, 0.4), (0.2, 0.0, 0.4), (0.1, 0, 0.2)),
                                         ("c", nan, nan, nan)]))
        assert sa.convergence_table(t, "morris", ["y"], 10).loc[0, "verdict"] == verdict, high


def test_the_report_states_the_width_rule_and_the_verdicts():
    design = sa.make_design([sa.Input(f"x{i}", "float", -PI, PI) for i in (1, 2, 3)], "sobol", 16, seed=3)
    a = analysed(design, ishigami, replicates=3, sd=0.1, seed=4)
    conv = a.convergence()
    assert conv.loc[0, "relative_width"] == pytest.approx(
        max(r.high - r.low for r in a.indices[a.indices["index"] == "ST"].itertuples())
        / a.indices[a.indices["index"] == "ST"]["estimate"].max())
    text = section(plots.report(a, conv, []), "Convergence")
    assert "widest interval / largest ST" in text and f"**{conv.loc[0, 'verdict']}**" in text
    if conv.loc[0, "verdict"] != "converged":
        assert "Verdict: **converged** for every outcome" not in text


# ---------------------------------------------------------------------------------------------
# the noise shares and their marks
# ---------------------------------------------------------------------------------------------
def outputs_of(**runs):
    m = next(iter(runs.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a point without a value has no mean
        means = {k: np.nanmean(v, axis=1) for k, v in runs.items()}
    return sa.PointOutputs(means, runs, {k: np.sum(~np.isnan(v), axis=1) for k, v in runs.items()}, m.shape[1])


def test_missing_values_make_the_noise_share_an_upper_bound_even_where_the_kept_points_are_complete():
    """Durability: 14 points with both replicates, 10 with one, the rest none. The two-way analysis of
    the 14 is not the noise of the means the indices see (a point with one value is as noisy as a run)."""
    rng = np.random.default_rng(1)
    m = np.full((100, 2), np.nan)
    m[:14] = rng.normal(0, 1, (14, 1)) + rng.normal(0, 1, (14, 2))
    m[14:24, 0] = rng.normal(0, 1.4, 10)
    est = sa.noise_components(m)
    assert not est["common"] and est["points"] == 14 and est["points_with_value"] == 24
    noise = sa.noise_table(outputs_of(y=m), [Y], seed=3, resamples=100).iloc[0]
    assert not noise.common_random_numbers_removed
    assert noise.note.startswith("upper bound: values missing (a value in at least one replicate at 24 of 100 "
                                 "points, the points the indices use; in two replicates or more at 14)")
    assert noise.points_with_value == 24


def test_the_noise_table_and_the_indices_count_the_same_points_with_a_durability_value():
    """A point whose one agreement relapsed (its run's own value is known) while the other, the longest
    followed, was censored before 60 months has no Kaplan-Meier estimate: the indices leave it out, and
    the noise table counted it as a point with a value (a reviewer's run: "a value at 12 of 100 points"
    in the noise table, "89 of 100 points have no value" and "11 have one" in the sections)."""
    rmst = sa.Outcome("rmst60", "months the first agreement holds", "months", "rmst", horizon=60)
    design = sa.make_design([sa.Input(f"x{i}", "float", 0, 1) for i in (1, 2, 3)], "morris", 10, seed=5)
    n = design.n_points
    runs = pd.DataFrame({"design_point": np.repeat(np.arange(n), 2), "replicate": np.tile([0, 1], n),
                         "seed": np.tile([11, 12], n), "status": "ok"})
    ep = []
    for p in range(6):  # both agreements relapsed: a value in both replicates
        ep += [(p, 0, 5.0 + 3 * p, True), (p, 1, 12.0 + 7 * p, True)]
    for p in range(6, 9):  # one relapsed, the longest followed censored at 30 months: no estimate
        ep += [(p, 0, 10.0 + p, True), (p, 1, 30.0, False)]
    for p in (9, 10):  # one censored at 20 months, the other followed 70: an estimate, one run's own value
        ep += [(p, 0, 20.0, False), (p, 1, 70.0, False)]
    episodes = pd.DataFrame(ep, columns=["design_point", "replicate", "months_survived", "relapsed"])
    episodes["episode"], episodes["signed_month"] = 0, 1
    out = sa.point_outputs(design, runs, [rmst], 2, episodes=episodes)
    with_value = int(np.isfinite(out.Y["rmst60"]).sum())
    assert with_value == 8  # points 0-5, 9 and 10
    table, notes = sa.indices(design, out.Y, seed=3, resamples=100)
    noise = sa.noise_table(out, [rmst], seed=3, resamples=100)
    row = noise.iloc[0]
    assert (row.points_with_value, row.points) == (8, 6)
    assert ("a value in at least one replicate at 8 of 40 points, the points the indices use; in two replicates "
            "or more at 6") in row.note
    assert any(x.startswith(f"{n - with_value} of {n} points have no value") for x in notes["rmst60"])
    assert f"{with_value} have one" in " ".join(notes["rmst60"])
    spec = SensitivitySpec(name="t", title="test", question="", path="t.toml", design=design, outcomes=(rmst,),
                           replicates=2, master_seed=1, resamples=100, given_data=True, runs=None)
    analysis = SensitivityAnalysis(spec, out, table, noise, notes, {"scenario": "analytic"})
    text = plots.report(analysis, analysis.convergence(), [])
    assert "at 8 of 40 points" in text and f"{n - with_value} of {n} points have no value" in text
    assert "at 11 of 40 points" not in text


def test_a_share_that_is_one_whatever_the_data_has_no_interval():
    """Two replicates, one of which never saw the event: the share of the means is exactly 1 at every
    resample of the points, which says nothing about its precision."""
    rng = np.random.default_rng(2)
    m = np.zeros((160, 2))
    m[:, 1] = rng.random(160) < 0.1
    noise = sa.noise_table(outputs_of(y=m), [Y], seed=3, resamples=100).iloc[0]
    assert noise.noise_share == pytest.approx(1.0)
    assert math.isnan(noise.noise_share_low) and math.isnan(noise.noise_share_high)
    assert noise.interval == "not estimable" and "interval not estimable" in noise.note
    assert "no signal detected" in noise.note


def test_with_two_replicates_the_interval_is_marked_as_over_the_points_only():
    rng = np.random.default_rng(3)
    signal = rng.normal(0, 2, (200, 1))
    two = sa.noise_table(outputs_of(y=signal + rng.normal(0, 1, (200, 2))), [Y], seed=1, resamples=100).iloc[0]
    assert two.interval == "points only" and two.note == "interval over the points only (2 replicates)"
    assert 0 < two.noise_share_low < two.noise_share < two.noise_share_high < 1
    four = sa.noise_table(outputs_of(y=signal + rng.normal(0, 1, (200, 4))), [Y], seed=1, resamples=100).iloc[0]
    assert four.interval == "points and replicates" and four.note == ""


def test_a_noise_share_from_replicates_that_differ_at_few_points_says_so_in_the_main_table():
    """A rare event seen to vary at 2 of 40 points: the share is those points' noise (as the pilot reads it)."""
    rng = np.random.default_rng(6)
    m = np.repeat(rng.normal(0, 1, (40, 1)), 3, axis=1)
    m[[3, 17], 1] += 5.0
    few = sa.noise_table(outputs_of(y=m), [Y], seed=3, resamples=100).iloc[0]
    assert np.isfinite(few.noise_share)
    assert (f"the replicates differ at 2 of 40 points only: the share is the noise of those points, not the "
            f"model's (at least {sa.MIN_VARYING_POINTS} needed)") in few.note
    m[[5, 9, 21, 30, 33], 2] -= 1.0  # now 7 points vary
    assert "not the model's" not in sa.noise_table(outputs_of(y=m), [Y], seed=3, resamples=100).iloc[0].note


def test_the_report_shows_the_marks_of_the_noise_shares():
    design = sa.make_design([sa.Input(f"x{i}", "float", -PI, PI) for i in (1, 2, 3)], "morris", 10, seed=5)
    n = design.n_points
    rng = np.random.default_rng(4)
    y = ishigami(design.X)
    frames = []
    for k in range(2):
        v = y + rng.normal(0, 0.5, n)
        if k == 0:
            v[rng.random(n) < 0.5] = np.nan  # half the points: one value only
        frames.append(pd.DataFrame({"design_point": np.arange(n), "replicate": k, "seed": 11 + k, "status": "ok",
                                    "y": v}))
    runs = pd.concat(frames, ignore_index=True)
    # the runs table has no missing values for a 'mean' outcome: put the holes in the analysis' input
    a = analysed(design, ishigami, replicates=2, runs=runs.fillna(0.0))
    held = runs["y"].to_numpy().reshape(2, n).T
    a.outputs.runs["y"] = held
    a.noise = sa.noise_table(a.outputs, [Y], seed=2, resamples=100)
    text = section(plots.report(a, a.convergence(), []), "How much is noise")
    assert "| the outcome y |" in text and "upper bound: values missing" in text
    assert "interval over the points only (2 replicates)" in text and "*Upper bound*" in text


# ---------------------------------------------------------------------------------------------
# the pilot
# ---------------------------------------------------------------------------------------------
def test_replicates_needed_when_there_is_neither_noise_nor_signal_cannot_be_estimated():
    assert math.isnan(sa.replicates_needed(0.0, 0.0, 0.1))
    assert sa.replicates_needed(0.0, 2.0, 0.1) == 1 and sa.replicates_needed(1.0, 0.0, 0.1) == math.inf


def pilot_of(rows):
    cols = ["outcome", "label", "noise_share_runs", "noise_share_runs_low", "noise_share_runs_high",
            "noise_share_at_file_replicates", "replicates_needed", "replicates_needed_low", "replicates_needed_high",
            "note"]
    return PilotResult(Path("pilot"), pd.DataFrame([dict(zip(cols, r)) for r in rows]), 0.1, 10, 4)


def test_the_pilot_recommends_replicates_only_for_the_outcomes_it_measured():
    nan = math.nan
    result = pilot_of([
        ("p_agreement", "agreement", 0.2, 0.0, 1.0, 0.1, 3.0, 1.0, math.inf, ""),
        ("total_violence", "violence", 0.08, 0.03, 0.15, 0.03, 1.0, 1.0, 2.0, ""),
        ("rmst60", "rmst", nan, nan, nan, nan, nan, nan, nan, "not measured: two values or more at 1 of 10 points, "
                                                              "at least 3 needed"),
        ("consolidated", "consolidated", nan, nan, nan, nan, nan, nan, nan, "not measured: the same value in every run"),
        ("survival60", "survival", 0.9, 0.8, 1.0, 0.9, math.inf, 40.0, math.inf, "no number of replicates reaches "
                                                                               "the target"),
    ])
    assert result.recommended() == 3
    assert result.unmeasured() == ["rmst60", "consolidated"] and result.unreachable() == ["survival60"]
    spec = SimpleNamespace(replicates=2, title="t", design=SimpleNamespace(inputs=[1, 2]))
    lines = plots.pilot_lines(result, spec)
    text = "\n".join(lines)
    assert "every outcome" not in text
    assert ("3 replicates per point bring p_agreement, total_violence to the target (the analysis is set to 2). Not "
            "measured, so not covered: rmst60, consolidated. No number of replicates reaches the target for "
            "survival60") in text
    agreement = next(x for x in lines if x.strip().startswith("p_agreement"))
    assert agreement.endswith("replicates needed 3 (1 to unbounded)")
    rmst = next(x for x in lines if x.strip().startswith("rmst60"))
    assert "replicates needed – (not measured" in rmst
    survival = next(x for x in lines if x.strip().startswith("survival60"))
    assert "replicates needed no number (40 to unbounded)" in survival
    md = plots.pilot_report(result, spec)
    assert "for every outcome" not in md and "Not measured, so not covered: rmst60, consolidated." in md
    complete = pilot_of([("p_agreement", "agreement", 0.2, 0.0, 1.0, 0.1, 3.0, 1.0, 5.0, "")])
    assert "3 replicates per point bring every outcome to the target" in "\n".join(plots.pilot_lines(complete, spec))


def test_a_pilot_gives_no_interval_where_it_could_not_measure(tmp_path, monkeypatch):
    """The pilot runs (a tiny one) and its outputs are replaced by tables built for the cases: an
    outcome with two values at two points only, one that never occurred, one with signal."""
    import peacesim.sensitivity as sens
    from peacesim.sensitivity import run_pilot

    p = tmp_path / "s.toml"
    p.write_text('[experiment]\ntitle = "t"\nscenario = "reference"\nreplicates = 2\nmaster_seed = 5\nmonths = 24\n'
                 '[sensitivity]\nmethod = "morris"\nparameters = ["ripeness_threshold", "pain_decay"]\n'
                 'trajectories = 2\noutcomes = ["p_agreement", "rmst60", "consolidated"]\n', encoding="utf-8")
    thin = np.full((8, 4), np.nan)
    thin[:2, :2] = [[10.0, 60.0], [5.0, 20.0]]
    thin[2:5, 0] = [30.0, 60.0, 12.0]
    # runs that differ at 6 of the 8 points (at least sa.MIN_VARYING_POINTS), with signal between them
    agreement = np.array([[0, 1, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1], [0, 1, 0, 0],
                          [1, 0, 1, 1], [0, 0, 0, 0]], dtype=float)
    real = sens.point_outputs

    def built(design, runs, outcomes, replicates, **kw):
        out = real(design, runs, outcomes, replicates, **kw)
        out.runs.update(p_agreement=agreement, rmst60=thin, consolidated=np.zeros((8, 4)))
        return out

    monkeypatch.setattr(sens, "point_outputs", built)
    pilot = run_pilot(p, points=8, replicates=4, executor="serial", out=tmp_path / "pilot", progress=False)
    t = pilot.table.set_index("outcome")
    for name in ("rmst60", "consolidated"):
        assert t.loc[name, ["replicates_needed", "replicates_needed_low", "replicates_needed_high"]].isna().all(), name
    assert t.loc["consolidated", "note"] == "not measured: the same value in every run"
    assert t.loc["rmst60", "note"] == "not measured: two values or more at 2 of 8 points, at least 3 needed"
    assert np.isfinite(t.loc["p_agreement", "replicates_needed"])
    csv = pd.read_csv(tmp_path / "pilot" / "pilot.csv").set_index("outcome")
    assert csv.loc["rmst60", ["replicates_needed_low", "replicates_needed_high"]].isna().all()
    assert pilot.unmeasured() == ["rmst60", "consolidated"]


def test_the_pilot_does_not_say_noise_was_unmeasured_when_it_was_measured_but_unreachable():
    from peacesim.sensitivity_plots import _recommendation

    result = SimpleNamespace(recommended=lambda: None, unmeasured=lambda: [], unreachable=lambda: ["p_agreement"],
                             table=pd.DataFrame({"outcome": ["p_agreement"]}))
    text = _recommendation(result, SimpleNamespace(replicates=4), "Recommended: ")
    assert "could be measured" not in text
    assert text.startswith("Recommended: none: no outcome can be brought to the target by replicates.")
    assert "No number of replicates reaches the target for p_agreement" in text


def test_morris_figures_say_not_measured_and_no_effect_instead_of_drawing_zeros():
    from peacesim.sensitivity_plots import index_bars, morris_plane

    nan = (math.nan, math.nan, math.nan)
    t = morris_rows("mixed", [("a", (0.5, 0.4, 0.6), (0.2, 0.1, 0.3), (0.1, 0, 0.2)), ("b", nan, nan, nan)])
    texts = [x.get_text() for x in index_bars(t, "morris", "mixed").axes[0].texts]
    assert texts == [" not measured"]
    flat = morris_rows("flat", [("a", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
                                ("b", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))])
    ax = morris_plane(flat, "flat").axes[0]
    assert [x.get_text() for x in ax.texts] == ["no effect measured: every mu* is 0"] and ax.get_xlim() == (0, 1)


def _rendered(fig):
    """Draw ``fig`` as it is saved, and return its renderer."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_a_morris_plane_of_indices_not_measured_says_not_measured_not_zero():
    from peacesim.sensitivity_plots import morris_plane

    nan = (math.nan, math.nan, math.nan)
    thin = morris_rows("thin", [("a", nan, nan, nan), ("b", nan, nan, nan)])
    texts = [x.get_text() for x in morris_plane(thin, "thin").axes[0].texts]
    assert len(texts) == 1 and texts[0].startswith("not measured") and "every mu* is 0" not in texts[0]
    assert f"fewer than {sa.MORRIS_MIN_EFFECTS} elementary effects" in texts[0].replace("\n", " ")


def test_index_bars_draw_no_error_bar_where_the_interval_is_missing_and_say_so():
    from matplotlib.collections import LineCollection
    from peacesim.sensitivity_plots import index_bars

    rows = [{"method": "rbd_fast", "outcome": "y", "parameter": p, "parameter_2": "", "index": "S1", "estimate": e,
             "low": lo, "high": hi, "n": 100} for p, e, lo, hi in
            (("a", 0.5, 0.3, 0.7), ("b", 0.3, math.nan, math.nan), ("c", 0.1, 0.0, 0.2))]
    t = pd.DataFrame(rows)
    t["rank"] = sa._ranks(t)
    ax = index_bars(t, "rbd_fast", "y").axes[0]
    segments = [s for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments()]
    assert len(segments) == 2  # a and c; no zero-width bar for b
    assert [x.get_text().strip() for x in ax.texts] == ["no interval"]


def test_a_morris_bar_panel_not_measured_hides_its_axis_and_shows_the_words_inside():
    from peacesim.sensitivity_plots import index_bars

    nan = (math.nan, math.nan, math.nan)
    t = morris_rows("thin", [(f"f{i}", nan, nan, nan) for i in range(10)])
    fig = index_bars(t, "morris", "thin")
    ax = fig.axes[0]
    renderer = _rendered(fig)
    frame = ax.get_window_extent(renderer)
    assert ax.texts and all(x.get_text().strip().startswith("not measured") for x in ax.texts)
    for x in ax.texts:
        box = x.get_window_extent(renderer)
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, x.get_text()
    assert not [lab for lab in ax.get_xticklabels() if lab.get_text()] and not ax.get_xlabel()


def test_labels_of_factors_at_the_same_point_of_the_morris_plane_do_not_overprint():
    from peacesim.sensitivity_plots import morris_plane

    same = ((0.05, 0.0, 0.15), (0.0, -0.05, 0.05), (0.158, 0.0, 0.24))
    t = morris_rows("y", [("fight_intensity", *same[:2], same[2]), ("pressure_rate", *same[:2], same[2]),
                          ("talks_hazard", *same[:2], same[2]),
                          ("pain_decay", (0.051, 0.0, 0.1), (0.0, -0.05, 0.05), (0.157, 0.0, 0.2)),
                          ("coordination", (0.03, 0.0, 0.06), (0.0, -0.05, 0.05), (0.05, 0.0, 0.1)),
                          ("verification", (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), (0.0, 0.0, 0.0))])
    fig = morris_plane(t, "y")
    ax = fig.axes[0]
    renderer = _rendered(fig)
    labels = [x for x in ax.texts if x.get_text()]
    shown = " ".join(x.get_text() for x in labels).replace("\n", " ")
    for name in ("fight intensity", "pressure rate", "talks hazard", "pain decay", "coordination"):
        assert name in shown
    from matplotlib.text import Text

    boxes = [Text.get_window_extent(x, renderer) for x in labels]  # the words, not the line to the point
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not boxes[i].overlaps(boxes[j]), (labels[i].get_text(), labels[j].get_text())


def rbd_rows(outcome, rows, n=119):
    """(factor, (S1, low, high)) of RBD-FAST."""
    t = pd.DataFrame([{"method": "rbd_fast", "outcome": outcome, "parameter": p, "parameter_2": "", "index": "S1",
                       "estimate": e, "low": lo, "high": hi, "n": n} for p, (e, lo, hi) in rows])
    t["rank"] = sa._ranks(t)
    return t


def test_given_data_first_order_indices_above_one_are_estimator_error_and_no_signal_is_said():
    """RBD-FAST S1 of 71%, 51% and 13% add up to 135%; with the noise of the means at 100% (no signal),
    the report says neither is an effect to read, as it does for Sobol'."""
    t = rbd_rows("y", [("pain_decay", (0.71, 0.57, 0.85)), ("talks_hazard", (0.51, 0.27, 0.74)),
                       ("fight_intensity", (0.13, -0.16, 0.42)), ("local_violence_base", (-0.02, -0.33, 0.29))])
    noise = fake_analysis(1.0, math.nan, math.nan)
    noise.noise["note"] = "upper bound: values missing; no signal detected"
    words = "\n".join(plots._rbd_words(t, Y, "sobol", noise))
    assert "add up to 135%, more than the 100% that shares of one variance can" in words
    assert "estimator error" in words and "on 119 points" in words
    assert "no signal" in words and "cannot be read as effects of the factors" in words
    # within 100% and with signal, neither is said
    fine = rbd_rows("y", [("a", (0.5, 0.4, 0.6)), ("b", (0.3, 0.2, 0.4))], n=320)
    words = "\n".join(plots._rbd_words(fine, Y, "morris", fake_analysis(0.1, 0.05, 0.15)))
    assert "more than the 100%" not in words and "cannot be read as effects" not in words
    # the Sobol' section keeps its words on the same sum
    s = sobol_rows("y", [("a", (0.99, 0.45, 1.52), (1.00, 0.48, 1.53)), ("b", (0.45, 0.3, 0.6), (0.5, 0.3, 0.7))])
    assert "add up to 144%, more than the 100% that shares of one variance can" in "\n".join(
        plots._sobol_words(s, Y, fake_analysis(0.13, 0.07, 0.2)))


def test_a_pilot_noise_share_from_too_few_points_whose_replicates_differ_is_not_measured(tmp_path, monkeypatch):
    """Consolidated peace at 1 of 8 points, in 2 of its 4 runs: the replicates differ at that point
    only, too few to estimate a noise share. It is not measured (no share, no interval) and does not
    drive the recommendation."""
    import peacesim.sensitivity as sens
    from peacesim.sensitivity import run_pilot

    p = tmp_path / "s.toml"
    p.write_text('[experiment]\ntitle = "t"\nscenario = "reference"\nreplicates = 2\nmaster_seed = 5\nmonths = 24\n'
                 '[sensitivity]\nmethod = "morris"\nparameters = ["ripeness_threshold", "pain_decay"]\n'
                 'trajectories = 2\noutcomes = ["p_agreement", "consolidated"]\n', encoding="utf-8")
    rare = np.zeros((8, 4))
    rare[5] = [1.0, 0.0, 1.0, 0.0]
    agreement = np.array([[0, 1, 1, 1], [0, 0, 1, 0], [1, 1, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1], [0, 1, 0, 0],
                          [1, 0, 1, 1], [0, 0, 0, 0]], dtype=float)
    real = sens.point_outputs

    def built(design, runs, outcomes, replicates, **kw):
        out = real(design, runs, outcomes, replicates, **kw)
        out.runs.update(p_agreement=agreement, consolidated=rare)
        return out

    monkeypatch.setattr(sens, "point_outputs", built)
    pilot = run_pilot(p, points=8, replicates=4, executor="serial", out=tmp_path / "pilot", progress=False)
    t = pilot.table.set_index("outcome")
    c = t.loc["consolidated"]
    assert c[["noise_share_runs", "noise_share_runs_low", "noise_share_runs_high", "replicates_needed",
              "replicates_needed_low", "replicates_needed_high", "noise_share_at_file_replicates"]].isna().all()
    assert c.note == (f"not measured: the replicates differ at 1 of 8 points, at least {sa.MIN_VARYING_POINTS} "
                      "needed")
    assert np.isfinite(t.loc["p_agreement", "replicates_needed"])
    assert pilot.unmeasured() == ["consolidated"]
    assert pilot.recommended() == int(t.loc["p_agreement", "replicates_needed"])
    md = (tmp_path / "pilot" / "pilot.md").read_text()
    assert "Not measured, so not covered: consolidated." in md
