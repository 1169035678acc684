"""Tests of peacesim.analysis (durability estimators) and peacesim.sweep_plots (figures, report).

Estimators are checked on synthetic survival data with a known effect (exponential durations with
known hazards), against hand-checked values and against lifelines itself. A small sweep of the real
model checks that the data contract of the experiment runner (runs, episodes, manifest) is read.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times, restricted_mean_survival_time
from matplotlib.figure import Figure

import peacesim
from peacesim.analysis import (
    METRICS,
    _fit_km,
    compare,
    durability_table,
    group_label,
    hazard_ratio,
    km_summary,
    load_results,
    results_from_frames,
    rmst,
    value_label,
    wilson_interval,
)
from peacesim.errors import InputError
from peacesim.sweep_plots import heatmap, km_curves, metric_vs_parameter, plot_results

FOLLOWUP = 120
MONTHS = 240


# ---------------------------------------------------------------------------------------------
# builders
# ---------------------------------------------------------------------------------------------
def write_results(path: Path, runs: pd.DataFrame, episodes: pd.DataFrame, manifest: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    runs.to_parquet(path / "runs.parquet")
    episodes.to_parquet(path / "episodes.parquet")
    (path / "manifest.json").write_text(json.dumps(manifest))
    # the marker the experiment runner leaves in its results folders ('peacesim plot' writes only there)
    (path / ".peacesim").write_text(json.dumps({"peacesim": "sweep results", "format": 2, "plot_files": []}))
    return path


def synthetic(path: Path, factors: dict[str, list], hazard, *, reps: int = 150, p_agree: float = 0.8,
              episodes_per_run: int = 1, seed: int = 11, duplicate: int = 1, design: list[dict] | None = None) -> Path:
    """A results folder with known survival: agreement durations ~ Exponential(hazard(values)).

    Each run reaches agreement with probability ``p_agree``; its agreements are censored at the
    follow-up (consolidated) or at the run's horizon. ``duplicate`` copies each episode within its
    run (perfectly correlated episodes, to test clustering). ``design`` replaces the full factorial
    of ``factors`` by the points given.
    """
    rng = np.random.default_rng(seed)
    names = list(factors)
    design = design or [dict(zip(names, v)) for v in itertools.product(*factors.values())]
    runs, eps = [], []
    for dp, values in enumerate(design):
        lam = hazard(values)
        for rep in range(reps):
            reached = rng.random() < p_agree
            first = float(rng.integers(1, 80)) if reached else math.nan
            row = {"design_point": dp, "replicate": rep, "seed": 1000 * dp + rep, **values, "status": "ok",
                   "error": "", "months": MONTHS, "followup_months": FOLLOWUP, "agreement_reached": reached,
                   "months_to_first_agreement": first, "n_agreements": 0, "n_relapses": 0, "consolidated": False}
            signed = first
            k = 0
            while reached and k < episodes_per_run and signed < MONTHS:
                dur = rng.exponential(1 / lam)
                limit = min(FOLLOWUP, MONTHS - signed)
                relapsed = dur < limit
                t = dur if relapsed else limit
                for _ in range(duplicate):
                    eps.append({"design_point": dp, "replicate": rep, "seed": row["seed"], **values,
                                "episode": k, "signed_month": signed, "end_month": signed + t,
                                "months_survived": t, "relapsed": relapsed, "censored": not relapsed,
                                "end_cause": "relapse" if relapsed else "censored",
                                "consolidated": (not relapsed) and limit == FOLLOWUP})
                row["n_agreements"] += 1
                row["n_relapses"] += int(relapsed)
                k += 1
                signed = signed + t + 6
                if not relapsed:
                    break
            runs.append(row)
    manifest = {"name": path.name, "title": "Synthetic", "question": "Does the factor make agreements last?",
                "factors": names, "design": [{"design_point": i, "values": v} for i, v in enumerate(design)],
                "replicates": reps, "master_seed": seed, "scenario": "synthetic"}
    return write_results(path, pd.DataFrame(runs), pd.DataFrame(eps), manifest)


def rmst_exp(lam: float, tau: float) -> float:
    return (1 - math.exp(-lam * tau)) / lam


HANDOVER = {"handover_quality": [0.2, 0.8]}


def handover_hazard(v):
    return 1 / 20 if v["handover_quality"] == 0.2 else 1 / 60


@pytest.fixture(scope="module")
def two_hazards(tmp_path_factory) -> Path:
    return synthetic(tmp_path_factory.mktemp("syn") / "two", HANDOVER, handover_hazard, reps=200)


@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory) -> Path:
    """A small sweep of the real model, assembled like the experiment runner does."""
    path = tmp_path_factory.mktemp("real") / "rotation"
    factors = {"tenure_mediator": [12, 72], "coordination": ["hierarchical", "none"]}
    design = [dict(zip(factors, v)) for v in itertools.product(*factors.values())]
    runs, eps = [], []
    for dp, values in enumerate(design):
        for rep in range(8):
            seed = 500 + 100 * dp + rep
            r = peacesim.run_scenario("reference", seed=seed, months=150, overrides=values)
            runs.append({"design_point": dp, "replicate": rep, "seed": seed, **values, "status": "ok", "error": "",
                         "months": r.months, "followup_months": r.params["followup_months"], **r.outcome})
            if len(r.episodes):
                e = r.episodes.copy()
                for k, v in {"design_point": dp, "replicate": rep, "seed": seed, **values}.items():
                    e[k] = v
                eps.append(e)
    runs_df = pd.DataFrame(runs)
    runs_df["months_to_first_agreement"] = runs_df["months_to_first_agreement"].astype(float)
    # one failed run, as the runner records it
    runs_df = pd.concat([runs_df, pd.DataFrame([{"design_point": 0, "replicate": 8, "seed": 9, "tenure_mediator": 12,
                                                 "coordination": "hierarchical", "status": "failed",
                                                 "error": "ValueError: boom", "months": 150,
                                                 "followup_months": 120}])], ignore_index=True)
    manifest = {"name": "rotation", "title": "Rotation and coordination",
                "question": "Do longer postings and coordination make agreements last?",
                "factors": list(factors), "design": [{"design_point": i, "values": v} for i, v in enumerate(design)],
                "replicates": 8, "master_seed": 5, "scenario": "reference"}
    return write_results(path, runs_df, pd.concat(eps, ignore_index=True), manifest)


# ---------------------------------------------------------------------------------------------
# Wilson interval
# ---------------------------------------------------------------------------------------------
def test_wilson_interval_hand_checked():
    p, lo, hi = wilson_interval(7, 10)
    assert p == 0.7
    assert lo == pytest.approx(0.3968, abs=1e-4)
    assert hi == pytest.approx(0.8922, abs=1e-4)
    p, lo, hi = wilson_interval(0, 10)
    assert (p, lo) == (0.0, 0.0) and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(10, 10)[2] == 1.0
    assert all(math.isnan(x) for x in wilson_interval(0, 0))


# ---------------------------------------------------------------------------------------------
# Kaplan-Meier and RMST against lifelines
# ---------------------------------------------------------------------------------------------
def test_km_median_and_ci_match_lifelines(two_hazards):
    res = load_results(two_hazards)
    table = durability_table(res)
    for dp, row in table.set_index("design_point").iterrows():
        e = res.episodes[res.episodes["design_point"] == dp]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kmf = KaplanMeierFitter().fit(e["months_survived"], e["relapsed"])
            ci = median_survival_times(kmf.confidence_interval_survival_function_)
            assert row["median_durability"] == pytest.approx(kmf.median_survival_time_)
        assert row["median_durability_low"] == pytest.approx(ci.iloc[0, 0])
        assert row["median_durability_high"] == pytest.approx(ci.iloc[0, 1])
        surv60 = float(kmf.survival_function_.loc[:60].iloc[-1, 0])
        assert row["relapse_share"] == pytest.approx(1 - surv60)
        assert row["relapse_share_low"] <= row["relapse_share"] <= row["relapse_share_high"]
        assert row["rmst"] == pytest.approx(restricted_mean_survival_time(kmf, t=60))


def test_rmst_variance_equals_lifelines_restricted_variance_over_n_without_censoring():
    rng = np.random.default_rng(3)
    t = rng.exponential(30, 150)
    kmf = _fit_km(t, np.ones(len(t), dtype=bool))
    est, se, lo, hi = rmst(kmf, 60)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifelines integrates the step function with quad
        mean, var = restricted_mean_survival_time(kmf, t=60, return_variance=True)
    assert est == pytest.approx(mean)
    # lifelines' "variance" is Var[min(T, tau)]; the estimate's variance is that over n
    assert se ** 2 == pytest.approx(var / len(t), rel=1e-2)
    assert se ** 2 == pytest.approx(np.minimum(t, 60).var() / len(t), rel=1e-9)
    assert lo < est < hi


def test_rmst_and_relapse_recover_known_exponential_truth(two_hazards):
    table = durability_table(load_results(two_hazards)).set_index("handover_quality")
    for q, lam in ((0.2, 1 / 20), (0.8, 1 / 60)):
        row = table.loc[q]
        assert abs(row["rmst"] - rmst_exp(lam, 60)) < 4 * row["rmst_se"]
        assert row["rmst_low"] < rmst_exp(lam, 60) + 2 * row["rmst_se"]
        assert row["relapse_share"] == pytest.approx(1 - math.exp(-60 * lam), abs=0.08)
        assert row["median_durability"] == pytest.approx(math.log(2) / lam, rel=0.25)
    assert table.loc[0.8, "rmst"] > table.loc[0.2, "rmst"]
    assert table.loc[0.8, "rmst_low"] > table.loc[0.2, "rmst_high"]


def test_median_not_reached_is_inf_and_horizon_beyond_followup_is_nan(tmp_path):
    path = synthetic(tmp_path / "long", {"handover_quality": [0.5]}, lambda v: 1 / 1000, reps=60)
    res = load_results(path)
    row = durability_table(res).iloc[0]
    assert math.isinf(row["median_durability"]) and not row["median_reached"]
    zero = km_summary([70.0] * 30 + [20.0] * 10, [False] * 40, horizon=60)
    assert zero["survival_at"] == 1.0
    assert zero["survival_at_low"] == pytest.approx(0.025 ** (1 / 30))  # exact bound, 0 events in 30
    row = durability_table(res, horizon=FOLLOWUP + 50).iloc[0]
    assert math.isnan(row["rmst"]) and math.isnan(row["relapse_share"])
    assert not math.isnan(row["rmst_followup"])


def test_time_to_first_agreement_censors_runs_without_agreement(two_hazards):
    res = load_results(two_hazards)
    row = durability_table(res).iloc[0]
    r = res.runs[res.runs["design_point"] == 0]
    t = np.where(r["agreement_reached"], r["months_to_first_agreement"], r["months"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kmf = KaplanMeierFitter().fit(t, r["agreement_reached"])
        assert row["months_to_agreement"] == pytest.approx(kmf.median_survival_time_)
    p, lo, hi = wilson_interval(int(r["agreement_reached"].sum()), len(r))
    assert (row["p_agreement"], row["p_agreement_low"], row["p_agreement_high"]) == pytest.approx((p, lo, hi))
    assert row["p_agreement_low"] < 0.8 < row["p_agreement_high"]


def test_first_only_and_grouping(tmp_path):
    path = synthetic(tmp_path / "multi", {"handover_quality": [0.2, 0.8], "coordination": ["hierarchical", "none"]},
                     handover_hazard, reps=40, episodes_per_run=4)
    res = load_results(path)
    all_eps = durability_table(res)
    first = durability_table(res, first_only=True)
    assert (all_eps["n_episodes"] >= first["n_episodes"]).all()
    assert (all_eps["n_episodes"] > first["n_episodes"]).any()
    assert (first["n_episodes"] == first["n_agreement"]).all()
    pooled = durability_table(res, by="handover_quality")
    assert list(pooled["handover_quality"]) == [0.2, 0.8]
    assert pooled["n_runs"].sum() == all_eps["n_runs"].sum() == 160
    assert durability_table(res, by=[])["n_runs"].tolist() == [160]
    with pytest.raises(InputError, match="not a factor"):
        durability_table(res, by="mediators")


def test_copies_of_a_runs_agreement_leave_the_durability_intervals_as_they_are(tmp_path):
    # each agreement three times in its run: three perfectly correlated agreements are one
    once = durability_table(load_results(synthetic(tmp_path / "once", HANDOVER, handover_hazard, reps=80)))
    thrice = durability_table(load_results(synthetic(tmp_path / "thrice", HANDOVER, handover_hazard, reps=80,
                                                     duplicate=3)))
    assert (thrice["n_episodes"] == 3 * once["n_episodes"]).all()
    for col in ("relapse_share", "relapse_share_low", "relapse_share_high", "rmst", "rmst_se", "rmst_low", "rmst_high",
                "rmst_followup_se", "median_durability_low", "median_durability_high"):
        assert thrice[col].to_numpy() == pytest.approx(once[col].to_numpy(), rel=1e-9, nan_ok=True), col


def _weighted_km(t, e, w, tau):
    """S(tau) and the RMST up to tau of a Kaplan-Meier curve with case weights, from scratch."""
    times = np.unique(t[e])
    n = np.array([w[t >= u].sum() for u in times])
    d = np.array([w[e & (t == u)].sum() for u in times])
    s = np.cumprod(1 - d / n)
    keep = times <= tau
    edges = np.r_[0.0, times[keep], tau]
    area = float(np.sum(np.r_[1.0, s[keep]] * np.diff(edges)))
    return (float(s[keep][-1]) if keep.any() else 1.0), area


def test_clustered_variance_is_the_grouped_infinitesimal_jackknife(tmp_path):
    """The clustered variance of S(60) and of the RMST is the sum over seeds of the squared
    derivative of the estimate with respect to the weight of the seed's agreements (numerically)."""
    from peacesim.analysis import _robust_log_variance, _rmst_variance, _area, _step_area

    res = load_results(synthetic(tmp_path / "multi", {"handover_quality": [0.2]}, handover_hazard, reps=60,
                                 episodes_per_run=4))
    e = res.ok_episodes
    t, ev = e["months_survived"].to_numpy(float), e["relapsed"].to_numpy(bool)
    seeds = e["seed"].to_numpy()
    assert e.groupby("seed").size().max() > 1  # runs that sign several agreements
    w0, h = np.ones(len(t)), 1e-6
    grads = []
    for g in np.unique(seeds):
        up, down = w0 + h * (seeds == g), w0 - h * (seeds == g)
        grads.append((np.array(_weighted_km(t, ev, up, 60)) - np.array(_weighted_km(t, ev, down, 60))) / (2 * h))
    var_s, var_rmst = np.sum(np.array(grads) ** 2, axis=0)
    kmf = _fit_km(t, ev)
    codes = pd.factorize(seeds)[0]
    s60 = float(kmf.survival_function_.loc[:60].iloc[-1, 0])
    var_log = float(_robust_log_variance(kmf, codes)[np.searchsorted(kmf.timeline, 60, side="right") - 1])
    assert s60 ** 2 * var_log == pytest.approx(var_s, rel=1e-5)
    tt, ss, cum = _step_area(kmf)
    assert _rmst_variance(kmf, codes, 60, lambda x: _area(tt, ss, cum, x)) == pytest.approx(var_rmst, rel=1e-5)
    # and it is not Greenwood's: these runs' agreements are not independent of each other
    greenwood = km_summary(t, ev, rmst_to=(60,))["rmst_60_se"] ** 2
    assert greenwood != pytest.approx(var_rmst, rel=0.01)
    # the intervals use the larger of the two
    clustered = km_summary(t, ev, rmst_to=(60,), clusters=seeds)["rmst_60_se"] ** 2
    assert clustered == pytest.approx(max(var_rmst, greenwood), rel=1e-9)


def test_a_clustered_band_is_never_narrower_than_greenwoods(tmp_path):
    """With few seeds the robust variance is noisy and can fall below Greenwood's: the band and the
    RMST interval then keep Greenwood's width (never narrower than taking agreements as independent)."""
    from peacesim.analysis import _band, _log_variance, _robust_log_variance

    res = load_results(synthetic(tmp_path / "few", {"handover_quality": [0.2]}, handover_hazard, reps=25,
                                 episodes_per_run=4))
    e = res.ok_episodes
    t, ev = e["months_survived"].to_numpy(float), e["relapsed"].to_numpy(bool)
    seeds = e["seed"].to_numpy()
    kmf = _fit_km(t, ev)
    codes = pd.factorize(seeds)[0]
    robust, used = _robust_log_variance(kmf, codes), _log_variance(kmf, codes)
    assert (used >= robust).all()
    clustered, plain = _band(kmf, 0.05, clusters=seeds), _band(kmf, 0.05)
    assert (clustered["lower"] <= plain["lower"] + 1e-12).all() and (clustered["upper"] >= plain["upper"] - 1e-12).all()
    with_clusters = km_summary(t, ev, horizon=60, rmst_to=(60,), clusters=seeds)
    without = km_summary(t, ev, horizon=60, rmst_to=(60,))
    assert with_clusters["rmst_60_se"] >= without["rmst_60_se"] - 1e-12


def test_an_rmst_whose_robust_variance_is_below_greenwoods_keeps_greenwoods():
    """Each seed's two agreements are one short and one long (negatively correlated): the robust
    variance of the RMST is far below Greenwood's, and the interval keeps Greenwood's width."""
    from peacesim.analysis import _area, _rmst_variance, _step_area

    rng = np.random.default_rng(5)
    short = rng.uniform(1, 20, 40)
    t = np.r_[short, 60 - short]  # seed g's agreements: g and g + 40
    ev = np.ones(80, dtype=bool)
    seeds = np.r_[np.arange(40), np.arange(40)]
    kmf = _fit_km(t, ev)
    tt, ss, cum = _step_area(kmf)
    robust = _rmst_variance(kmf, pd.factorize(seeds)[0], 50, lambda x: _area(tt, ss, cum, x))
    greenwood = km_summary(t, ev, rmst_to=(50,))["rmst_50_se"] ** 2
    assert robust < 0.5 * greenwood
    assert km_summary(t, ev, rmst_to=(50,), clusters=seeds)["rmst_50_se"] ** 2 == pytest.approx(greenwood)


# ---------------------------------------------------------------------------------------------
# hazard ratios and comparisons
# ---------------------------------------------------------------------------------------------
def test_hazard_ratio_numeric_recovers_known_effect(two_hazards):
    res = load_results(two_hazards)
    hr = hazard_ratio(res, "handover_quality", per=0.6).iloc[0]
    # true ratio of hazards between 0.8 and 0.2 (0.6 apart): (1/60) / (1/20)
    assert hr["hr_low"] < 1 / 3 < hr["hr_high"]
    assert hr["hr_high"] < 1 and hr["p"] < 0.001
    unit = hazard_ratio(res, "handover_quality").iloc[0]
    assert unit["coef"] == pytest.approx(hr["coef"] / 0.6, rel=1e-6)


def test_hazard_ratio_categorical_against_reference(tmp_path):
    rates = {"hierarchical": 1 / 40, "network": 1 / 80, "none": 1 / 20}
    path = synthetic(tmp_path / "coord", {"coordination": list(rates)}, lambda v: rates[v["coordination"]], reps=200)
    res = load_results(path)
    hr = hazard_ratio(res, "coordination").set_index("level")
    assert set(hr.index) == {"network", "none"} and (hr["reference"] == "hierarchical").all()
    assert hr.loc["network", "hr_high"] < 1 and hr.loc["network", "hr_low"] < 0.5 < hr.loc["network", "hr_high"]
    assert hr.loc["none", "hr_low"] > 1 and hr.loc["none", "hr_low"] < 2 < hr.loc["none", "hr_high"]
    flipped = hazard_ratio(res, "coordination", reference="none").set_index("level")
    assert flipped.loc["hierarchical", "hr_high"] < 1
    with pytest.raises(InputError, match="not a value of coordination"):
        hazard_ratio(res, "coordination", reference="anarchy")
    with pytest.raises(InputError, match="was not varied"):
        hazard_ratio(res, "tenure_mediator")


def test_hazard_ratio_is_not_estimable_under_complete_separation(tmp_path):
    """No relapse at one value: the fit would give an enormous ratio with a tiny p-value; it is
    reported as not estimable, saying why."""
    cat = load_results(synthetic(tmp_path / "cat", {"coordination": ["hierarchical", "none"]},
                                 lambda v: 1e-9 if v["coordination"] == "hierarchical" else 1 / 20, reps=80))
    [row] = hazard_ratio(cat, "coordination").to_dict("records")
    assert math.isnan(row["hr"]) and math.isnan(row["p"])
    assert "no agreement relapsed with coordination = hierarchical" in row["note"]
    num = load_results(synthetic(tmp_path / "num", {"handover_quality": [0.2, 0.8]},
                                 lambda v: 1e-9 if v["handover_quality"] == 0.8 else 1 / 20, reps=80))
    [row] = hazard_ratio(num, "handover_quality", per=0.6).to_dict("records")
    assert math.isnan(row["hr"]) and "complete separation" in row["note"]
    report = (Path(plot_results(num.path)[-1])).read_text(encoding="utf-8")
    assert "Hazard ratio of relapse per 0.1 share: not estimable: the relapses fall at one end" in report


def test_a_factor_that_moves_with_another_gets_no_hazard_ratio_and_the_report_says_so(tmp_path):
    design = [{"handover_quality": 0.2, "tenure_mediator": 12}, {"handover_quality": 0.8, "tenure_mediator": 48}]
    res = load_results(synthetic(tmp_path / "aliased", {"handover_quality": [], "tenure_mediator": []},
                                 lambda v: 1 / 20 if v["handover_quality"] == 0.2 else 1 / 40, reps=80,
                                 design=design))
    [row] = hazard_ratio(res, "handover_quality").to_dict("records")
    assert math.isnan(row["hr"]) and "moves together with them" in row["note"]
    assert hazard_ratio(res, "handover_quality", stratify=False)["hr"].iloc[0] < 1  # pooled, it is there
    report = (Path(plot_results(res.path)[-1])).read_text(encoding="utf-8")
    assert "**handover quality** moves together with **tenure mediator** in this design" in report
    assert report.count("moves together with") == 1 + 1  # the note, and the hazard ratio's reason, once each


def test_hazard_ratio_standard_errors_are_clustered_by_run(tmp_path):
    once = load_results(synthetic(tmp_path / "once", HANDOVER, handover_hazard, reps=120))
    thrice = load_results(synthetic(tmp_path / "thrice", HANDOVER, handover_hazard, reps=120, duplicate=3))
    a = hazard_ratio(once, "handover_quality").iloc[0]
    b = hazard_ratio(thrice, "handover_quality").iloc[0]
    assert b["n_episodes"] == 3 * a["n_episodes"] and b["n_runs"] == a["n_runs"]
    assert b["coef"] == pytest.approx(a["coef"], rel=0.05)
    # copies of an episode add no information: clustered SEs stay put (naive ones would shrink by 1/sqrt(3))
    assert b["se"] == pytest.approx(a["se"], rel=0.15)


def test_compare_rmst_difference_has_ci_excluding_zero(two_hazards):
    res = load_results(two_hazards)
    c = compare(res, "handover_quality", 0.8, 0.2)
    truth = rmst_exp(1 / 60, 60) - rmst_exp(1 / 20, 60)
    assert c.difference > 0 and c.low > 0 and c.excludes_zero
    assert c.low < truth < c.high
    assert "months" in str(c)
    rev = compare(res, "handover_quality", 0.2, 0.8)
    assert rev.difference == pytest.approx(-c.difference)
    rel = compare(res, "handover_quality", 0.8, 0.2, metric="relapse")
    assert rel.high < 0
    pa = compare(res, "handover_quality", "0.8", "0.2", metric="p_agreement")
    assert pa.low < 0 < pa.high  # both settings reach agreement with probability 0.8
    with pytest.raises(InputError, match="cannot be compared"):
        compare(res, "handover_quality", 0.8, 0.2, metric="median")


# ---------------------------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------------------------
def _assert_one_line(excinfo, *words):
    msg = str(excinfo.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg


@pytest.mark.parametrize("folder", [5, None, b"results/x", "", "  ", "results/a\x00b"])
def test_load_results_refuses_a_folder_that_is_no_path_in_one_line(tmp_path, monkeypatch, two_hazards, folder):
    # an empty text was the current folder (read as results when it held a sweep's files)
    for p in two_hazards.iterdir():
        if p.is_file():
            (tmp_path / p.name).write_bytes(p.read_bytes())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as e:
        load_results(folder)
    _assert_one_line(e, "results folder", "is not allowed", "expected the path of a sweep's results folder")


def test_load_errors_are_one_line_input_errors(tmp_path, two_hazards):
    with pytest.raises(InputError) as e:
        load_results(tmp_path / "nope")
    _assert_one_line(e, "does not exist")
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(InputError) as e:
        load_results(f)
    _assert_one_line(e, "is not a folder")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError) as e:
        load_results(empty)
    _assert_one_line(e, "manifest.json is missing")

    def copy(name):
        d = tmp_path / name
        d.mkdir()
        for p in two_hazards.iterdir():
            if p.is_file():
                (d / p.name).write_bytes(p.read_bytes())
        return d

    d = copy("badjson")
    (d / "manifest.json").write_text("{not json")
    with pytest.raises(InputError) as e:
        load_results(d)
    _assert_one_line(e, "manifest.json", "not valid JSON")
    d = copy("noruns")
    (d / "runs.parquet").unlink()
    with pytest.raises(InputError) as e:
        load_results(d)
    _assert_one_line(e, "runs.parquet is missing")
    d = copy("noeps")
    (d / "episodes.parquet").unlink()
    with pytest.raises(InputError) as e:
        load_results(d)
    _assert_one_line(e, "episodes.parquet is missing")
    d = copy("corrupt")
    (d / "runs.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError) as e:
        load_results(d)
    _assert_one_line(e, "runs.parquet", "cannot be read")
    d = copy("nofactors")
    (d / "manifest.json").write_text(json.dumps({"name": "x"}))
    with pytest.raises(InputError) as e:
        load_results(d)
    _assert_one_line(e, "no 'factors'")
    d = copy("missingcol")
    m = json.loads((d / "manifest.json").read_text())
    m["factors"] = ["handover_quality", "tenure_mediator"]
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(InputError) as e:
        load_results(d)
    _assert_one_line(e, "runs.parquet lacks", "tenure_mediator")


def test_load_results_reads_real_model_sweep_and_skips_failed_runs(real_sweep):
    res = load_results(real_sweep)
    assert res.factors == ["tenure_mediator", "coordination"]
    assert res.levels("coordination") == ["hierarchical", "none"]
    assert res.is_numeric("tenure_mediator") and not res.is_numeric("coordination")
    assert res.series is None
    table = durability_table(res)
    assert len(table) == 4
    assert table.loc[table["design_point"] == 0, "n_failed"].item() == 1
    assert table["n_runs"].tolist() == [8, 8, 8, 8]
    assert table["n_episodes"].sum() == len(res.ok_episodes)
    for m in METRICS.values():
        assert {m.column, m.low, m.high} <= set(table.columns)


@pytest.mark.parametrize("first", [[None, None], [12, 30]])
def test_load_results_gives_tables_of_earlier_versions_the_types_a_sweep_stores(tmp_path, real_sweep, first):
    # tables written before the runs table's types were declared: bool and int64 where no run
    # failed, months_to_first_agreement object (no run signed) or int64 (every run did)
    runs = pd.DataFrame({"design_point": [0, 0], "replicate": [0, 1], "seed": [5, 6], "x": [1.0, 1.0],
                         "status": ["ok", "ok"], "error": ["", ""], "months": [60, 60],
                         "followup_months": [120, 120], "agreement_reached": [first[0] is not None] * 2,
                         "months_to_first_agreement": first, "n_agreements": [0, 0], "final_phase": ["talks"] * 2,
                         "mean_violence": [0.1, 0.2]})
    episodes = pd.read_parquet(real_sweep / "episodes.parquet").iloc[:0][["design_point", "replicate", "seed",
                                                                       "episode", "months_survived", "relapsed"]]
    d = write_results(tmp_path / "old", runs, episodes, {"factors": ["x"]})
    got = load_results(d).runs
    want = {"agreement_reached": "boolean", "months_to_first_agreement": "float64", "n_agreements": "Int64",
            "final_phase": "object", "mean_violence": "float64", "months": "int64"}  # (docs/RESULTS.md)
    assert {c: str(got[c].dtype) for c in want} == want
    if first[1] is not None:
        assert got["months_to_first_agreement"].tolist() == [12.0, 30.0]


def test_results_from_frames_checks_episodes_belong_to_runs(two_hazards):
    runs = pd.read_parquet(two_hazards / "runs.parquet")
    eps = pd.read_parquet(two_hazards / "episodes.parquet")
    manifest = json.loads((two_hazards / "manifest.json").read_text())
    eps.loc[0, "replicate"] = 9999
    with pytest.raises(InputError, match="runs not in runs.parquet"):
        results_from_frames(runs, eps, manifest)


# ---------------------------------------------------------------------------------------------
# plots and report
# ---------------------------------------------------------------------------------------------
def test_km_curves_one_curve_per_design_point(two_hazards):
    before = plt.get_fignums()
    res = load_results(two_hazards)
    fig = km_curves(res)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum(lab.startswith("0.2") or lab.startswith("0.8") for lab in labels) == 2
    assert ax.get_xlim() == (0, FOLLOWUP)
    assert "Months since" in ax.get_xlabel() and "holding" in ax.get_ylabel()
    assert len(ax.collections) == 2  # confidence bands
    assert plt.get_fignums() == before  # no pyplot state


def test_km_curves_draws_on_given_axes_and_groups_by_factor(real_sweep):
    res = load_results(real_sweep)
    fig = Figure()
    ax = fig.add_subplot()
    assert km_curves(res, by="coordination", ax=ax) is fig
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(lab.startswith("hierarchical") for lab in labels) and any(lab.startswith("none") for lab in labels)
    four = km_curves(res).axes[0]
    texts = [t.get_text() for t in four.get_legend().get_texts()]
    assert "tenure mediator" in texts and "coordination" in texts  # colour and line-style keys


def test_metric_vs_parameter_lines_and_labels(real_sweep):
    res = load_results(real_sweep)
    ax = metric_vs_parameter(res, "tenure_mediator", metric="rmst", hue="coordination").axes[0]
    labelled = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in labelled] == ["hierarchical", "none"]
    assert list(labelled[0].get_xdata()) == [12, 72]
    assert "envoy" in ax.get_xlabel() and "(months)" in ax.get_xlabel()
    ax = metric_vs_parameter(res, "coordination", metric="p_agreement").axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["hierarchical", "none"]
    with pytest.raises(InputError, match="metric"):
        metric_vs_parameter(res, "coordination", metric="mean")


def test_heatmap_annotates_every_cell(tmp_path):
    path = synthetic(tmp_path / "grid", {"tenure_mediator": [12, 36, 72], "handover_quality": [0.2, 0.8]},
                     handover_hazard, reps=30)
    res = load_results(path)
    ax = heatmap(res, "tenure_mediator", "handover_quality", metric="relapse").axes[0]
    assert len(ax.texts) == 6 and all("%" in t.get_text() for t in ax.texts)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["12 months", "36 months", "72 months"]


@pytest.fixture
def low_dpi(monkeypatch):
    """Render test PNGs at low resolution: the content is checked, not the pixels."""
    import peacesim.sweep_plots as sp

    monkeypatch.setattr(sp, "_DPI", 40)


def test_plot_results_writes_figures_summary_and_report(real_sweep, low_dpi):
    written = plot_results(real_sweep)
    names = {p.name for p in written}
    assert {"km_curves.png", "km_by_coordination.png", "durability_vs_tenure_mediator.png",
            "agreement_vs_coordination.png", "summary.csv", "report.md"} <= names
    assert not any(n.startswith("heatmap") for n in names)  # only one numeric factor
    for p in written:
        assert p.exists() and p.stat().st_size > 0
        if p.suffix == ".png":
            assert p.read_bytes()[:4] == b"\x89PNG" and p.parent.name == "figures"
    summary = pd.read_csv(real_sweep / "summary.csv")
    assert len(summary) == 4 and "rmst_low" in summary
    report = (real_sweep / "report.md").read_text()
    assert "Do longer postings and coordination make agreements last?" in report
    assert "Kaplan-Meier" in report and "(1 failed)" in report
    for p in written:
        if p.suffix == ".png":
            assert f"(figures/{p.name})" in report


def test_plot_results_two_numeric_factors_adds_heatmaps(tmp_path, low_dpi):
    path = synthetic(tmp_path / "grid2", {"tenure_mediator": [12, 72], "handover_quality": [0.2, 0.8]},
                     handover_hazard, reps=25)
    names = {p.name for p in plot_results(path)}
    assert {"heatmap_rmst.png", "heatmap_relapse.png", "heatmap_p_agreement.png"} <= names
    # points scattered over the plane (a Latin hypercube, a calibration wave) are no grid: no heat map,
    # the figures against each factor say it
    rng = np.random.default_rng(3)
    design = [{"tenure_mediator": int(t), "handover_quality": round(float(q), 3)}
              for t, q in zip(rng.permutation(np.arange(12, 72, 3)), rng.uniform(0.1, 0.9, 20))]
    scattered = synthetic(tmp_path / "lhs", {"tenure_mediator": [], "handover_quality": []}, handover_hazard,
                          reps=3, design=design)
    names = {p.name for p in plot_results(scattered)}
    assert not any(n.startswith("heatmap") for n in names) and "durability_vs_tenure_mediator.png" in names


def test_km_summary_empty_sample_is_nan():
    s = km_summary([], [], horizon=60, rmst_to=(60,))
    assert s["n"] == 0 and math.isnan(s["median"]) and math.isnan(s["rmst_60"])


@pytest.mark.parametrize("durations, events, message", [
    ([-1, 2], [True, False], "durations holds -1.0; expected months of at least 0"),  # was a median of -1
    ([float("nan"), 2], [True, False], "durations has 1 missing value(s) of 2"),
    ([1, 2], [2, 0], "events holds 2.0; expected true or false"),  # was read as an event
    # a failed run's agreement_reached (missing) was read as no event
    ([5, 6], pd.Series([True, None], dtype="object"), "events has 1 missing value(s) of 2; keep the finished runs"),
    ([5, 6], pd.array([True, None], dtype="boolean"), "events has 1 missing value(s) of 2"),
    ([1, 2], [True], "2 durations but 1 events"),  # was a ValueError from numpy
    (["a", "b"], [1, 0], "durations holds 'a'; expected numbers"),
])
def test_km_summary_refuses_a_sample_it_cannot_summarise_in_one_line(durations, events, message):
    with pytest.raises(InputError) as e:
        km_summary(durations, events, horizon=60)
    _assert_one_line(e, "km_summary: ", message)


@pytest.mark.parametrize("k, n", [(5, 3), (-1, 3), ("1", 3), (1, -2)])
def test_wilson_interval_refuses_counts_that_are_no_share_in_one_line(k, n):
    with pytest.raises(InputError) as e:  # (5, 3) was a math domain error
        wilson_interval(k, n)
    _assert_one_line(e, "wilson_interval: ", "is not allowed; expected a number from 0")


@pytest.mark.parametrize("missing", [None, float("nan"), np.nan, pd.NA])
def test_a_factor_a_design_row_does_not_set_is_labelled_the_scenario_s_value(missing):
    # a [[design]] row without the factor runs with the scenario's value; its label said
    # 'grant length = nan months' or 'verification = None' in report.md and summary.csv
    assert value_label("grant_length", missing) == "grant length = the scenario's value"
    assert group_label({"grant_length": 6.0, "verification": missing}) == \
        "grant length = 6 months, verification = the scenario's value"


def test_linked_factors_and_outcomes_derived_from_episodes(tmp_path):
    """The runner may link parameters (manifest factor_parameters) and keep only some outcomes."""
    path = synthetic(tmp_path / "linked", {"tenure_mediator": [12, 48]}, lambda v: 1 / v["tenure_mediator"], reps=60)
    full = durability_table(load_results(path))
    runs = pd.read_parquet(path / "runs.parquet")
    runs["tenure_diplomat"] = runs["tenure_mediator"]
    runs.drop(columns=["agreement_reached", "months_to_first_agreement"]).to_parquet(path / "runs.parquet")
    m = json.loads((path / "manifest.json").read_text())
    m["factor_parameters"] = {"tenure": ["tenure_mediator", "tenure_diplomat"]}
    (path / "manifest.json").write_text(json.dumps(m))
    res = load_results(path)
    assert res.linked("tenure_mediator") == ["tenure_diplomat"]
    assert "tenure diplomat set to the same value" in res.axis_label("tenure_mediator")
    assert res.factor_title("tenure_mediator") == "tenure mediator (+ tenure diplomat)"
    derived = durability_table(res)
    cols = ["p_agreement", "p_agreement_low", "months_to_agreement", "rmst", "relapse_share"]
    pd.testing.assert_frame_equal(derived[cols], full[cols])
    ax = metric_vs_parameter(res, "tenure_mediator").axes[0]
    assert "tenure diplomat" in ax.get_xlabel()
    # the table (summary.csv) names both parameters the factor moves, in columns and labels
    assert derived.columns[:4].tolist() == ["design_point", "tenure_mediator", "tenure_diplomat", "label"]
    assert derived["tenure_diplomat"].tolist() == [12, 48]
    assert derived["label"].tolist() == [f"tenure mediator = {v} months, tenure diplomat = {v} months" for v in (12, 48)]
    pooled = durability_table(res, by="tenure_mediator")
    assert pooled.columns[:3].tolist() == ["tenure_mediator", "tenure_diplomat", "label"]


def test_bad_arguments_from_python_are_refused_in_one_line(two_hazards):
    res = load_results(two_hazards)
    factor = res.factors[0]
    a, b = res.levels(factor)[:2]
    for call, message in [
        (lambda: durability_table(res, horizon="60"), "horizon = '60' is not allowed; expected a number above 0 "
                                                      "(without quotes)"),
        (lambda: durability_table(res, alpha=1.5), "alpha = 1.5 is not allowed; expected a number above 0 and at "
                                                   "most 1"),
        (lambda: hazard_ratio(res, factor, per="12"), "per = '12' is not allowed"),
        (lambda: compare(res, factor, a, a), "are the same value of"),
        (lambda: compare(res, factor, a, b, horizon=float("nan")), "horizon = nan is not allowed"),
        (lambda: compare(res, factor, a, b, bootstrap=float("inf")), "bootstrap = inf is not allowed"),
        (lambda: durability_table(res, horizon=float("inf")), "horizon = inf is not allowed"),
    ]:
        with pytest.raises(InputError, match=re.escape(message)):
            call()


def test_a_comparison_says_its_own_confidence_level_and_names_the_follow_up(two_hazards):
    res = load_results(two_hazards)
    factor = res.factors[0]
    a, b = res.levels(factor)[:2]
    c = compare(res, factor, b, a, metric="p_agreement", alpha=0.1)
    assert c.level == pytest.approx(0.9) and "90% CI" in str(c)
    text = str(compare(res, factor, b, a, metric="rmst_followup"))
    assert f"within its {res.followup_months:g}-month follow-up" in text and "follow-up-month" not in text


def test_the_reports_hazard_ratio_step_never_goes_beyond_the_range_swept(tmp_path):
    from peacesim.sweep_plots import _per

    narrow = load_results(synthetic(tmp_path / "narrow", {"defection_rate": [0.0, 0.0205]}, lambda v: 1 / 30, reps=5))
    wide = load_results(synthetic(tmp_path / "wide", {"tenure_mediator": [12, 48]}, lambda v: 1 / 30, reps=5))
    overlap = load_results(synthetic(tmp_path / "overlap", {"handover_overlap": [0, 3]}, lambda v: 1 / 30, reps=5))
    assert _per("defection_rate", narrow) == pytest.approx(0.0205)
    assert _per("tenure_mediator", wide) == 12.0 and _per("handover_overlap", overlap) == 3.0


def test_series_carry_the_run_id_of_their_run(tmp_path):
    """A sweep's monthly series join the runs table by run_id, as the episodes do."""
    from results_helpers import tiny

    from peacesim.sweep import run_experiment

    out = tmp_path / "res"
    run_experiment(tiny(tmp_path, reps=3, months=12, series="true"), out=out, executor="serial", progress=False)
    res = load_results(out)
    assert res.series is not None and res.series.columns[-1] == "run_id"
    assert len(res.series) == 12 * len(res.runs)
    joined = res.series.merge(res.runs[["run_id", "design_point", "replicate"]], on="run_id",
                              suffixes=("", "_run"), validate="many_to_one")
    assert (joined["design_point"] == joined["design_point_run"]).all()
    assert (joined["replicate"] == joined["replicate_run"]).all()
    assert sorted(res.series.groupby("run_id").size().unique()) == [12]


def test_compare_takes_a_whole_number_as_the_bootstraps_seed(two_hazards):
    """rng: a Generator or a whole number that seeds one, as elsewhere; anything else is one line."""
    import numpy as np

    res = load_results(two_hazards)
    seeded = compare(res, "handover_quality", 0.8, 0.2, rng=5)
    same = compare(res, "handover_quality", 0.8, 0.2, rng=np.random.default_rng(5))
    assert (seeded.low, seeded.high) == (same.low, same.high)
    for bad in (-1, 1.5, "5", True):
        with pytest.raises(InputError, match=r"^rng = .* is not allowed; expected a numpy Generator"):
            compare(res, "handover_quality", 0.8, 0.2, rng=bad)


def test_design_rows_that_leave_a_factor_to_the_scenario_count_at_its_value(tmp_path):
    """[[design]] rows that do not set coordination ran with the scenario's 'hierarchical': they
    count there in levels, tables and comparisons, not dropped as a missing value."""
    from peacesim.sweep import run_experiment

    exp = tmp_path / "design.toml"
    exp.write_text("""
[experiment]
scenario = "reference"
replicates = 4
master_seed = 5
months = 60
keep_series = true
[[design]]
tenure_mediator = 12
handover_quality = 0.2
[[design]]
tenure_mediator = 48
[[design]]
coordination = "network"
""")
    run_experiment(exp, out=tmp_path / "out", executor="serial", progress=False)
    res = load_results(tmp_path / "out")
    points = res.runs.drop_duplicates("design_point").set_index("design_point")
    assert points["coordination"].tolist() == ["hierarchical", "hierarchical", "network"]  # the scenario's
    scenario = peacesim.load_scenario("reference").params
    assert points["handover_quality"].tolist() == [0.2, scenario["handover_quality"], scenario["handover_quality"]]
    assert points["tenure_mediator"].dtype == np.int64
    assert points["tenure_mediator"].tolist() == [12, 48, scenario["tenure_mediator"]]
    assert sorted(res.levels("coordination")) == ["hierarchical", "network"]
    table = durability_table(res, by="coordination").set_index("coordination")
    assert table.loc["hierarchical", "n_runs"] == 8 and table.loc["network", "n_runs"] == 4
    raw = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert raw["coordination"].isna().sum() == 8  # the file keeps what the design set
    # the monthly series have the same values, so that a filter on them finds the same runs
    series = res.series.merge(res.runs[["run_id", "coordination", "tenure_mediator"]], on="run_id",
                              suffixes=("", "_run"))
    assert (series["coordination"] == series["coordination_run"]).all()
    assert (series["tenure_mediator"] == series["tenure_mediator_run"]).all()
    assert len(res.series[res.series["coordination"] == "hierarchical"]) == 8 * 60


def test_compare_refuses_to_fix_the_factor_it_compares(two_hazards):
    res = load_results(two_hazards)
    with pytest.raises(InputError, match=r"^where\['handover_quality'\]: handover_quality is the factor compared"):
        compare(res, "handover_quality", 0.8, 0.2, where={"handover_quality": 0.8})
