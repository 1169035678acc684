"""The sweep's survival statistics where they are easy to get wrong: few agreements, a follow-up
shorter than the follow-up period, and runs paired by seed (common random numbers).

Everything here is built from synthetic tables with known structure (no model runs), so each test
takes well under a second.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter
from scipy import stats

from peacesim import validation
from peacesim.analysis import (
    MIN_CLUSTERS,
    compare,
    durability_table,
    hazard_ratio,
    km_summary,
    load_results,
    results_from_frames,
)
from peacesim.errors import InputError
from peacesim.sweep import _git_dirty
from peacesim.sweep_plots import metric_vs_parameter, plot_results

DOCS = Path(__file__).resolve().parents[1] / "docs"


def frames(design: list[dict], seeds: list[int], episode, *, months: int = 240, followup: int = 120,
           reached=lambda dp, s: True) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Runs and episodes of a sweep: every design point is run with every seed (replicate k has
    seed ``seeds[k]`` everywhere, as in a sweep). ``episode(dp, values, k)`` gives one agreement's
    ``(signed_month, months_survived, relapsed)``; ``reached(dp, k)`` whether the run signs one."""
    runs, eps = [], []
    for dp, values in enumerate(design):
        for k, seed in enumerate(seeds):
            ok = bool(reached(dp, k))
            row = {"design_point": dp, "replicate": k, "seed": seed, **values, "status": "ok", "error": "",
                   "months": months, "followup_months": followup, "agreement_reached": ok,
                   "months_to_first_agreement": math.nan}
            if ok:
                signed, held, relapsed = episode(dp, values, k)
                row["months_to_first_agreement"] = float(signed)
                eps.append({"design_point": dp, "replicate": k, "seed": seed, "episode": 0, "signed_month": signed,
                            "months_survived": float(held), "relapsed": bool(relapsed),
                            "consolidated": (not relapsed) and held >= followup})
            runs.append(row)
    manifest = {"name": "syn", "title": "Synthetic", "factors": list(design[0]),
                "design": [{"design_point": i, "values": v} for i, v in enumerate(design)],
                "replicates": len(seeds), "master_seed": 3, "scenario": "synthetic",
                "schema": "peacesim sweep manifest", "status": "complete"}
    return pd.DataFrame(runs), pd.DataFrame(eps, columns=["design_point", "replicate", "seed", "episode",
                                                          "signed_month", "months_survived", "relapsed",
                                                          "consolidated"]), manifest


def write(path: Path, runs: pd.DataFrame, eps: pd.DataFrame, manifest: dict) -> Path:
    path.mkdir(parents=True)
    runs.to_parquet(path / "runs.parquet")
    eps.to_parquet(path / "episodes.parquet")
    (path / "manifest.json").write_text(json.dumps(manifest))
    (path / ".peacesim").write_text(json.dumps({"peacesim": "sweep results", "format": 2, "plot_files": []}))
    return path


HQ = [{"handover_quality": 0.1}, {"handover_quality": 0.8}]


# ---------------------------------------------------------------------------------------------
# 1. a handful of agreements: no zero-width intervals, "not estimable" below MIN_CLUSTERS
# ---------------------------------------------------------------------------------------------
def test_threshold_is_the_one_validation_uses():
    assert MIN_CLUSTERS == validation.MIN_CLUSTERS == 20


def test_median_interval_does_not_collapse_when_one_agreement_is_at_risk():
    # a design point of five agreements, one followed past 70 months, relapsing at 109
    s = km_summary([109, 59, 19, 70, 18], [True, False, False, False, False], horizon=60, rmst_to=(60,))
    assert s["median"] == 109
    # one agreement at risk cannot pin the median down: the interval is open above and reaches back
    # to where the curve could already be below one half
    assert math.isinf(s["median_high"])
    assert s["median_low"] < 60
    # no relapse by 60 months among 5 agreements: the RMST is 60 but not known to be 60
    assert s["rmst_60"] == 60 and math.isnan(s["rmst_60_se"])
    assert s["rmst_60_low"] == pytest.approx(60 * 0.025 ** (1 / 2))  # 2 followed 60 months, 0 events
    assert s["rmst_60_high"] == 60


def test_rmst_without_a_relapse_has_the_exact_lower_bound_not_zero_width():
    s = km_summary([70.0] * 30 + [65.0] * 10, [False] * 40, rmst_to=(60,))
    assert s["rmst_60"] == 60
    assert s["rmst_60_low"] == pytest.approx(60 * 0.025 ** (1 / 40)) and s["rmst_60_low"] < 59
    with_events = km_summary([10.0, 30.0] + [70.0] * 38, [True, True] + [False] * 38, rmst_to=(60,))
    assert with_events["rmst_60_se"] > 0  # the Greenwood variance where it is not degenerate


def test_survival_band_after_the_last_agreement_at_risk_relapses_is_not_a_point():
    s = km_summary([10.0, 20.0, 30.0], [True, True, True], horizon=40)
    assert s["survival_at"] == 0.0
    # 0 of the 1 agreement at risk survived: the exact upper bound is 0.975 of the band before it
    assert s["survival_at_high"] > 0.2 and s["survival_at_low"] == 0.0


def test_durability_is_not_estimable_with_agreements_from_fewer_than_min_clusters_seeds(tmp_path):
    rng = np.random.default_rng(5)
    runs, eps, m = frames(HQ, list(range(100, 110)),
                          lambda dp, v, k: (50, float(rng.integers(10, 120)), bool(rng.random() < 0.5)))
    res = results_from_frames(runs, eps, m)
    table = durability_table(res)
    assert (table["n_seeds_with_agreement"] == 10).all() and not table["durability_estimable"].any()
    for col in ("relapse_share", "relapse_share_low", "rmst", "rmst_low", "rmst_high", "median_durability",
                "median_durability_high", "rmst_followup"):
        assert table[col].isna().all(), col
    assert table["median_reached"].isna().all()
    # the share reaching agreement is per run and stays
    assert table["p_agreement"].notna().all()
    forced = durability_table(res, min_clusters=1)
    assert forced["durability_estimable"].all() and forced["rmst"].notna().all()


def test_pooled_design_points_count_shared_seeds_once():
    # two design points pooled by handover quality share their 15 seeds: 15 independent units, not 30
    design = [{"handover_quality": q, "coordination": c} for q in (0.1, 0.8) for c in ("none", "network")]
    rng = np.random.default_rng(2)
    runs, eps, m = frames(design, list(range(15)), lambda dp, v, k: (40, float(rng.integers(5, 120)), True))
    res = results_from_frames(runs, eps, m)
    pooled = durability_table(res, by="handover_quality")
    assert (pooled["n_episodes"] == 30).all() and (pooled["n_seeds_with_agreement"] == 15).all()
    assert not pooled["durability_estimable"].any()


def test_report_says_not_estimable_instead_of_a_zero_width_interval(tmp_path):
    runs, eps, m = frames(HQ, list(range(10)), lambda dp, v, k: (200 if k else 57, 109 if k == 0 else 18 + k,
                                                                  k == 0),
                          reached=lambda dp, k: k < 5)
    path = write(tmp_path / "few", runs, eps, m)
    plot_results(path)
    report = (path / "report.md").read_text()
    rows = [line for line in report.splitlines() if line.startswith("| handover quality")]
    assert len(rows) == 2
    for line in rows:
        assert line.count("not estimable") == 3
        assert "(60.0–60.0)" not in line and "109 (109–109)" not in line
    assert "fewer than 20 seeds" in report
    # the share reaching an agreement is compared although durability cannot be: paired by seed
    c = compare(load_results(path), "handover_quality", 0.8, 0.1, metric="p_agreement")
    assert (f"{100 * c.estimate_a:.0f}% of runs reached an agreement with handover quality = 0.8 and "
            f"{100 * c.estimate_b:.0f}% with handover quality = 0.1: a difference of {100 * c.difference:+.1f} "
            "percentage points") in report
    # a hazard ratio without an interval is not given as a finding
    assert not re.search(r"Hazard ratio of relapse per [^:]*: \d\.\d\d;", report)


# ---------------------------------------------------------------------------------------------
# 2. a median not reached is longer than the longest follow-up, not than the follow-up period
# ---------------------------------------------------------------------------------------------
def short_runs(tmp_path: Path) -> Path:
    # 90-month runs: agreements signed at month 49 or later are followed at most 41 months
    rng = np.random.default_rng(9)

    def episode(dp, v, k):
        signed = int(rng.integers(49, 80))
        return signed, 90 - signed, False

    runs, eps, m = frames(HQ, list(range(30)), episode, months=90)
    return write(tmp_path / "short", runs, eps, m)


def test_a_heat_map_cell_that_is_not_estimable_says_so():
    from peacesim.sweep_plots import heatmap

    design = [{"handover_quality": h, "team_continuity": c} for h in (0.1, 0.8) for c in (0.2, 0.9)]
    runs, eps, m = frames(design, list(range(10)), lambda dp, v, k: (40, float(10 + 7 * k), k % 2 == 0))
    res = results_from_frames(runs, eps, m)
    fig = heatmap(res, "handover_quality", "team_continuity", metric="rmst")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts.count("not estimable\n(agreements from\nfewer than 20 seeds)") == 4
    share = heatmap(res, "handover_quality", "team_continuity", metric="p_agreement")
    assert not any("not estimable" in t.get_text() for t in share.axes[0].texts)  # counts runs: estimable


def test_median_not_reached_gives_the_longest_follow_up(tmp_path):
    path = short_runs(tmp_path)
    res = load_results(path)
    table = durability_table(res)
    assert table["durability_estimable"].all()
    assert (table["longest_followup"] <= 41).all()
    assert np.isinf(table["median_durability"]).all() and not table["median_reached"].any()
    plot_results(path)
    report = (path / "report.md").read_text()
    for _, r in table.iterrows():
        assert f"not reached (> {r['longest_followup']:g})" in report
    assert "(> 120)" not in report and "end of follow-up (120 months)" not in report
    summary = pd.read_csv(path / "summary.csv")
    assert (summary["longest_followup"] == table["longest_followup"]).all()


def test_km_curves_mark_a_group_with_agreements_from_too_few_seeds(tmp_path):
    from peacesim.sweep_plots import km_curves

    # 0.1: agreements in 5 seeds (too few); 0.8: in all 30
    runs, eps, m = frames(HQ, list(range(30)), lambda dp, v, k: (20, 10 + 3 * k, k % 2 == 0),
                          reached=lambda dp, k: dp == 1 or k < 5)
    ax = km_curves(results_from_frames(runs, eps, m), ci=True).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    labels = [" ".join(lab.split()) for lab in labels]  # long labels wrap over lines
    assert any("0.1" in lab and "from 5 seeds: not estimable" in lab for lab in labels), labels
    assert not any("0.8" in lab and "not estimable" in lab for lab in labels), labels
    assert len(ax.collections) >= 1 and len([c for c in ax.collections if c.get_alpha() == 0.15]) == 1  # one band


def test_a_pooled_share_counts_runs_of_one_seed_as_correlated():
    from peacesim.analysis import clustered_share, wilson_interval

    # one run per seed: the Wilson interval itself
    assert clustered_share([True] * 5 + [False] * 5, range(10)) == wilson_interval(5, 10)
    # 10 seeds x 4 pooled design points, agreement all-or-nothing by seed: about 10 cases, not 40
    # (9 with the small-sample factor G/(G-1) of the clustered variance)
    seeds = np.repeat(np.arange(10), 4)
    r = np.repeat([1, 0, 1, 0, 0, 1, 0, 0, 1, 0], 4).astype(bool)
    p, lo, hi = clustered_share(r, seeds)
    assert p == 0.4 and (lo, hi) == pytest.approx(wilson_interval(0.4 * 9, 9)[1:])
    assert hi - lo > wilson_interval(16, 40)[2] - wilson_interval(16, 40)[1]
    assert clustered_share([False] * 40, seeds)[2] == pytest.approx(wilson_interval(0, 10)[2])
    # runs of one seed that disagree as much as independent runs: never narrower than the binomial
    alt = np.tile([True, False], 20)
    assert clustered_share(alt, seeds) == pytest.approx(wilson_interval(20, 40))
    # and the by= table uses it
    runs, eps, m = frames([{"handover_quality": q, "coordination": c} for q in (0.1, 0.8) for c in ("a", "b")],
                          list(range(10)), lambda dp, v, k: (20, 50, False),
                          reached=lambda dp, k: k in (0, 2, 5, 8))
    t = durability_table(results_from_frames(runs, eps, m), by="handover_quality")
    expected = wilson_interval(0.4 * 9, 9)
    assert list(t["p_agreement_low"]) == pytest.approx([expected[1]] * 2)
    assert list(t["p_agreement_high"]) == pytest.approx([expected[2]] * 2)


def test_figure_marks_a_median_not_reached_at_the_longest_follow_up(tmp_path):
    res = load_results(short_runs(tmp_path))
    fig = metric_vs_parameter(res, "handover_quality", metric="median")
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    longest = durability_table(res)["longest_followup"]
    assert sorted(texts) == sorted(f"> {v:g}" for v in longest)
    legend = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "not reached" in legend and "120" not in legend


# ---------------------------------------------------------------------------------------------
# 10. runs paired by seed
# ---------------------------------------------------------------------------------------------
def paired_share_frames(n_seeds: int = 30):
    """Whether a run signs depends mostly on its seed (shared at both values), a little on the value."""
    rng = np.random.default_rng(4)
    propensity = rng.random(n_seeds)
    lift = {0.1: 0.0, 0.8: 0.12}
    design = [{"handover_quality": q, "coordination": c} for q in (0.1, 0.8) for c in ("none", "network")]
    noise = rng.random((len(design), n_seeds)) * 0.01

    def reached(dp, k):
        return propensity[k] + lift[design[dp]["handover_quality"]] + noise[dp, k] > 0.55

    return frames(design, [1000 + k for k in range(n_seeds)], lambda dp, v, k: (30, 100, False), reached=reached)


def test_share_reaching_agreement_is_compared_paired_by_seed():
    runs, eps, m = paired_share_frames()
    res = results_from_frames(runs, eps, m)
    c = compare(res, "handover_quality", 0.8, 0.1, metric="p_agreement")
    assert c.paired and c.n_seeds == 30 and "paired" in c.note
    # the paired t test on the per-seed shares, by hand
    share = runs.groupby(["handover_quality", "seed"])["agreement_reached"].mean()
    a, b = share.loc[0.8].to_numpy(float), share.loc[0.1].to_numpy(float)
    d = a - b
    assert c.difference == pytest.approx(d.mean())
    assert c.p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
    assert (c.low, c.high) == pytest.approx((d.mean() - half, d.mean() + half))
    # one run per seed and value; the same runs with distinct seeds at the two values are not
    # paired, and their interval is wider: here it cannot tell the values apart
    where = {"coordination": "none"}
    one = compare(res, "handover_quality", 0.8, 0.1, metric="p_agreement", where=where)
    unpaired = runs.assign(seed=runs["seed"] + 10_000 * runs["design_point"])
    u = compare(results_from_frames(unpaired, eps.assign(seed=eps["seed"] + 10_000 * eps["design_point"]), m),
                "handover_quality", 0.8, 0.1, metric="p_agreement", where=where)
    assert one.paired and not u.paired and "unpaired" in u.note
    assert u.difference == pytest.approx(one.difference)
    assert (one.high - one.low) < 0.75 * (u.high - u.low)
    assert one.low > 0 > u.low


def test_a_share_that_differs_equally_on_every_seed_gets_no_zero_width_interval():
    runs, eps, m = paired_share_frames()
    res = results_from_frames(runs.assign(agreement_reached=runs["handover_quality"] == 0.8), eps, m)
    c = compare(res, "handover_quality", 0.8, 0.1, metric="p_agreement")
    assert c.difference == 1.0 and math.isnan(c.low) and math.isnan(c.high)
    assert c.p == pytest.approx(2 * 0.5 ** 30) and "on every one of the 30 seeds" in c.note
    same = compare(results_from_frames(runs.assign(agreement_reached=True), eps, m), "handover_quality", 0.8, 0.1,
                   metric="p_agreement")
    assert same.difference == 0.0 and math.isnan(same.low) and same.p == 1.0


def test_median_interval_counts_agreements_at_risk_not_only_those_followed_past():
    """Forty agreements all still holding at 120 months: the median is not reached, and so is its
    lower limit (the exact bound for 0 relapses among the 40 followed to 120 months is 0.91, far
    above one half), not 120."""
    k = km_summary([120.0] * 40, [False] * 40, horizon=60)
    assert math.isinf(k["median"]) and math.isinf(k["median_low"])
    assert k["survival_at_low"] == pytest.approx(0.025 ** (1 / 40))


def test_rmst_of_a_curve_that_falls_to_zero_has_an_interval():
    """Every agreement relapses in month 3: Greenwood's variance is 0, yet 20 agreements cannot
    show that none would have held longer; the interval is the area under the exact band."""
    k = km_summary([3.0] * 20, [True] * 20, rmst_to=[60])
    assert k["rmst_60"] == pytest.approx(3.0) and math.isnan(k["rmst_60_se"])
    assert k["rmst_60_low"] == pytest.approx(3 * 0.025 ** (1 / 20))
    assert k["rmst_60_high"] == pytest.approx(3 + 57 * (1 - 0.025 ** (1 / 20)))


def paired_survival_frames(n_seeds: int):
    """An agreement's months held depend on its seed (shared) and 1.4 times longer at 0.8."""
    rng = np.random.default_rng(8)
    base = rng.exponential(40, n_seeds)

    def episode(dp, v, k):
        held = base[k] * (1.4 if v["handover_quality"] == 0.8 else 1.0)
        return 20, min(held, 120.0), held < 120

    return frames(HQ, list(range(500, 500 + n_seeds)), episode)


def test_survival_measures_are_compared_with_a_paired_bootstrap_over_seeds():
    runs, eps, m = paired_survival_frames(40)
    res = results_from_frames(runs, eps, m)
    c = compare(res, "handover_quality", 0.8, 0.1, metric="rmst")
    assert c.paired and c.n_seeds == 40 and "bootstrap" in c.note
    table = durability_table(res).set_index("handover_quality")
    # the point estimates are the Kaplan-Meier RMSTs of the two values
    assert c.estimate_a == pytest.approx(table.loc[0.8, "rmst"])
    assert c.estimate_b == pytest.approx(table.loc[0.1, "rmst"])
    # every seed holds longer at 0.8: paired, the difference is clear; unpaired it is not
    assert c.low > 0 and c.p < 0.01
    u = compare(results_from_frames(runs.assign(seed=runs["seed"] * 10 + runs["design_point"]),
                                    eps.assign(seed=eps["seed"] * 10 + eps["design_point"]), m),
                "handover_quality", 0.8, 0.1, metric="rmst")
    assert not u.paired and (u.high - u.low) > 2 * (c.high - c.low)
    # unpaired, each value's standard error is the clustered one of the durability table
    ut = durability_table(results_from_frames(runs.assign(seed=runs["seed"] * 10 + runs["design_point"]),
                                              eps.assign(seed=eps["seed"] * 10 + eps["design_point"]), m))
    se = ut.set_index("handover_quality")["rmst_se"]
    half = stats.norm.ppf(0.975) * math.hypot(se.loc[0.8], se.loc[0.1])
    assert (u.low, u.high) == pytest.approx((u.difference - half, u.difference + half))
    assert "clustered by seed" in u.note
    # reproducible: the bootstrap is seeded from the master seed
    again = compare(res, "handover_quality", 0.8, 0.1, metric="rmst")
    assert (again.low, again.high) == (c.low, c.high)


def test_survival_comparison_with_few_seeds_says_why_it_gives_none():
    runs, eps, m = paired_survival_frames(12)
    c = compare(results_from_frames(runs, eps, m), "handover_quality", 0.8, 0.1, metric="relapse")
    assert c.paired and c.n_seeds == 12
    assert math.isnan(c.low) and math.isnan(c.high) and math.isnan(c.p)
    assert "12 seeds" in c.note and "20" in c.note
    assert "12 seeds" in str(c)


def shared_seed_cox_frames(n_seeds: int):
    """Agreements at coordination 'none' and 'network' are copies of each other (same seed, same
    months held): the second factor adds runs but no information."""
    rng = np.random.default_rng(6)
    base = rng.exponential(30, n_seeds)
    design = [{"handover_quality": q, "coordination": c} for q in (0.1, 0.8) for c in ("none", "network")]

    # the same draws at both coordination values: drawn from the seed and the handover quality
    def episode_shared(dp, v, k):
        r = np.random.default_rng([k, int(v["handover_quality"] * 10)])
        held = base[k] * (2.0 if v["handover_quality"] == 0.8 else 1.0) * r.uniform(0.5, 1.5)
        return 10, min(held, 120.0), held < 120

    return frames(design, list(range(n_seeds)), episode_shared)


def test_hazard_ratio_is_clustered_by_seed_where_seeds_are_shared():
    runs, eps, m = shared_seed_cox_frames(60)
    res = results_from_frames(runs, eps, m)
    hr = hazard_ratio(res, "handover_quality", per=0.7).iloc[0]
    assert hr["cluster"] == "seed" and hr["n_clusters"] == 60 and hr["n_runs"] == 240
    # clustered by seed, the copies add nothing: the standard error is that of one coordination value
    one = res.runs[res.runs["coordination"] == "none"]
    alone = results_from_frames(runs[runs["coordination"] == "none"],
                                eps[eps["design_point"].isin(one["design_point"])],
                                {**m, "factors": ["handover_quality"]})
    ref = hazard_ratio(alone, "handover_quality", per=0.7).iloc[0]
    assert hr["coef"] == pytest.approx(ref["coef"], rel=1e-6)
    assert hr["se"] == pytest.approx(ref["se"], rel=0.1)
    # it is lifelines' sandwich variance clustered by seed; clustered by run it is not the same
    e = res.ok_episodes
    df = pd.DataFrame({"T": e["months_survived"].to_numpy(), "E": e["relapsed"].to_numpy(),
                       "x": e["handover_quality"].to_numpy() / 0.7, "stratum": (e["coordination"] == "none").to_numpy(int)})

    def se(cluster):
        fit = CoxPHFitter().fit(df.assign(c=cluster), "T", "E", cluster_col="c", strata=["stratum"])
        return fit.summary.loc["x", "se(coef)"]

    assert hr["se"] == pytest.approx(se(e["seed"].to_numpy()), rel=1e-9)
    assert abs(se(e["run_id"].to_numpy()) / hr["se"] - 1) > 0.2


def test_hazard_ratio_with_few_seeds_has_no_interval_and_says_why():
    runs, eps, m = shared_seed_cox_frames(12)
    hr = hazard_ratio(results_from_frames(runs, eps, m), "handover_quality").iloc[0]
    assert math.isfinite(hr["hr"]) and hr["n_clusters"] == 12
    assert all(math.isnan(hr[c]) for c in ("hr_low", "hr_high", "p", "se"))
    assert "12 seeds" in hr["note"] and "20" in hr["note"]


def test_hazard_ratio_counts_the_seeds_at_each_value_it_compares():
    """25 seeds in all, but the agreements at 'none' come from 5: that row has no interval."""
    rng = np.random.default_rng(11)
    held = rng.exponential(30, 25)
    design = [{"coordination": c} for c in ("hierarchical", "none")]
    runs, eps, m = frames(design, list(range(25)), lambda dp, v, k: (10, min(held[k] * (1 + dp), 120.0),
                                                                    held[k] * (1 + dp) < 120),
                          reached=lambda dp, k: dp == 0 or k < 5)
    hr = hazard_ratio(results_from_frames(runs, eps, m), "coordination").iloc[0]
    assert hr["level"] == "none" and math.isfinite(hr["hr"]) and hr["n_clusters"] == 25
    assert all(math.isnan(hr[c]) for c in ("hr_low", "hr_high", "p", "se"))
    assert "come from 5 seeds" in hr["note"] and "20" in hr["note"]
    # with the agreements at both values from 25 seeds each, the interval is given
    runs, eps, m = frames(design, list(range(25)), lambda dp, v, k: (10, min(held[k] * (1 + dp), 120.0),
                                                                    held[k] * (1 + dp) < 120))
    hr = hazard_ratio(results_from_frames(runs, eps, m), "coordination").iloc[0]
    assert math.isfinite(hr["hr_low"]) and hr["note"] == ""


# ---------------------------------------------------------------------------------------------
# 11. every column of summary.csv is documented
# ---------------------------------------------------------------------------------------------
def test_every_summary_column_is_documented_in_results_md(tmp_path):
    path = short_runs(tmp_path)
    plot_results(path)
    columns = pd.read_csv(path / "summary.csv", nrows=0).columns
    text = (DOCS / "RESULTS.md").read_text()
    section = text[text.index("## The columns of summary.csv"):]
    section = section[:section.index("\n## ", 3)] if "\n## " in section[3:] else section
    documented = set(re.findall(r"`([a-z_]+)`", section))
    factors = {"handover_quality", "design_point", "label"}
    missing = [c for c in columns if c not in documented and c not in factors]
    assert not missing, f"summary.csv columns not described in docs/RESULTS.md: {missing}"
    assert "design_point" in documented and "label" in documented


# ---------------------------------------------------------------------------------------------
# 15. an unfinished sweep folder says so
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("status, words", [
    ("interrupted", ["was interrupted", "273 of 288 runs done", "run the same 'peacesim sweep' command again"]),
    ("stopped", ["stopped (disk full)", "273 of 288 runs done", "run the same 'peacesim sweep' command again"]),
    ("running", ["did not finish", "288 runs", "run the same 'peacesim sweep' command again"]),
])
def test_plot_of_an_unfinished_sweep_says_how_to_finish_it(tmp_path, status, words):
    path = tmp_path / "unfinished"
    (path / "parts").mkdir(parents=True)
    (path / "manifest.json").write_text(json.dumps({
        "schema": "peacesim sweep manifest", "name": "staff24", "factors": ["tenure_mediator"],
        "status": status, "runs_total": 288, "runs_done": 273, "error": "disk full"}))
    (path / ".peacesim").write_text(json.dumps({"peacesim": "sweep results", "format": 2, "plot_files": []}))
    with pytest.raises(InputError) as e:
        plot_results(path)
    msg = str(e.value)
    assert "\n" not in msg and "runs.parquet is missing" not in msg
    for w in words:
        assert w in msg


# ---------------------------------------------------------------------------------------------
# 14. provenance: uncommitted changes of the package
# ---------------------------------------------------------------------------------------------
def test_git_dirty_sees_uncommitted_changes_of_tracked_files_only(tmp_path):
    repo = tmp_path / "repo"
    pkg = repo / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "model.py").write_text("x = 1\n")
    (repo / "other.py").write_text("y = 1\n")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=repo, check=True)
    assert _git_dirty(pkg) is False
    (pkg / "notes.txt").write_text("untracked\n")
    (repo / "other.py").write_text("y = 2\n")  # outside the package
    assert _git_dirty(pkg) is False
    (pkg / "model.py").write_text("x = 2\n")
    assert _git_dirty(pkg) is True
    outside = tmp_path / "plain"
    outside.mkdir()
    assert _git_dirty(outside) is None


# ---------------------------------------------------------------------------------------------
# 16. durability intervals clustered by seed: pooled design points and runs with several agreements
# ---------------------------------------------------------------------------------------------
POOLED = [{"handover_quality": 0.5, "coordination": c} for c in ("none", "hierarchical", "network", "contact_group")]
_BAND = ("relapse_share_low", "relapse_share_high", "rmst_se", "rmst_low", "rmst_high", "median_durability_low",
         "median_durability_high", "months_to_agreement_low", "months_to_agreement_high")


def seed_copies(n_seeds: int = 40, rng_seed: int = 4) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Four design points whose runs are copies of each other: a run's agreement (and whether and
    when it signs one) depends on its seed only, so runs that share a seed are perfectly correlated."""
    rng = np.random.default_rng(rng_seed)
    signed = rng.integers(10, 150, n_seeds)
    held = np.minimum(np.round(rng.exponential(70, n_seeds)) + 1, 240 - signed)
    relapsed = held < np.minimum(120, 240 - signed)
    held = np.minimum(held, 120)
    reached = rng.random(n_seeds) < 0.8
    return frames(POOLED, list(range(100, 100 + n_seeds)),
                  lambda dp, v, k: (int(signed[k]), float(held[k]), bool(relapsed[k])),
                  reached=lambda dp, k: bool(reached[k]))


def test_pooled_copies_of_a_design_point_have_its_intervals_not_narrower_ones():
    runs, eps, m = seed_copies()
    res = results_from_frames(runs, eps, m)
    one = durability_table(res).iloc[0]
    pooled = durability_table(res, by="handover_quality").iloc[0]
    assert pooled["n_episodes"] == 4 * one["n_episodes"]
    assert pooled["n_seeds_with_agreement"] == one["n_seeds_with_agreement"]
    assert 0 < one["relapse_share"] < 1 and one["n_relapses"] > 5 and one["durability_estimable"]
    # four copies of each seed add no information: the pooled row has the intervals of one design point
    for col in ("relapse_share", "rmst", "median_durability", "months_to_agreement", *_BAND):
        assert pooled[col] == pytest.approx(one[col], rel=1e-9), col
    # treated as independent (Greenwood), the copies would halve the interval's width
    naive = km_summary(eps["months_survived"], eps["relapsed"], horizon=60, rmst_to=(60,))
    assert naive["rmst_60_se"] == pytest.approx(one["rmst_se"] / 2, rel=1e-9)
    assert (naive["survival_at_high"] - naive["survival_at_low"]) < 0.6 * (one["relapse_share_high"]
                                                                        - one["relapse_share_low"])
    # the share reaching agreement counts the seeds too
    assert (pooled["p_agreement_low"], pooled["p_agreement_high"]) == pytest.approx(
        (one["p_agreement_low"], one["p_agreement_high"]), abs=0.02)


def test_exact_bounds_of_pooled_copies_count_seeds_not_agreements():
    # no relapse within 60 months among 4 x 30 agreements of 30 seeds: 30 independent trials, not 120
    runs, eps, m = frames(POOLED, list(range(30)), lambda dp, v, k: (20, 100.0 + k, False))
    pooled = durability_table(results_from_frames(runs, eps, m), by="handover_quality").iloc[0]
    assert pooled["relapse_share"] == 0 and pooled["relapse_share_low"] == 0
    assert pooled["relapse_share_high"] == pytest.approx(1 - 0.025 ** (1 / 30))
    assert pooled["rmst"] == 60 and math.isnan(pooled["rmst_se"])
    assert pooled["rmst_low"] == pytest.approx(60 * 0.025 ** (1 / 30))
    # and where the curve falls to zero, the exact upper bound counts the seeds at risk at the drop
    s = km_summary([10.0, 20.0, 30.0] * 4, [True] * 12, horizon=40, clusters=[1, 2, 3] * 4)
    assert s["survival_at"] == 0 and s["survival_at_high"] > km_summary([10.0, 20.0, 30.0] * 4, [True] * 12,
                                                                       horizon=40)["survival_at_high"]


def test_independent_seeds_give_intervals_close_to_greenwood():
    # one agreement per seed: the clustered intervals are Greenwood's, exactly
    rng = np.random.default_rng(8)
    t = np.round(rng.exponential(50, 150)) + 1
    c = rng.integers(20, 121, 150)
    d, e = np.minimum(t, c), t <= c
    plain = km_summary(d, e, horizon=60, rmst_to=(60, 100))
    clustered = km_summary(d, e, horizon=60, rmst_to=(60, 100), clusters=np.arange(150) * 7)
    assert all(math.isfinite(v) for v in plain.values())
    assert clustered == pytest.approx(plain, rel=1e-12)
    # four design points whose runs are independent although they share seeds: close to Greenwood
    pooled_eps = frames(POOLED, list(range(60)), lambda dp, v, k: (20, float(min(round(rng.exponential(50)) + 1, 120)),
                                                                 bool(rng.random() < 0.7)))[1]
    pooled_eps["relapsed"] &= pooled_eps["months_survived"] < 120
    greenwood = km_summary(pooled_eps["months_survived"], pooled_eps["relapsed"], horizon=60, rmst_to=(60,))
    robust = km_summary(pooled_eps["months_survived"], pooled_eps["relapsed"], horizon=60, rmst_to=(60,),
                        clusters=pooled_eps["seed"])
    assert robust["rmst_60_se"] == pytest.approx(greenwood["rmst_60_se"], rel=0.15)
    width = robust["survival_at_high"] - robust["survival_at_low"]
    assert width == pytest.approx(greenwood["survival_at_high"] - greenwood["survival_at_low"], rel=0.15)


def test_clustered_band_covers_the_truth_where_greenwood_does_not():
    """Agreements of 4 pooled design points share their seed's frailty (gamma, variance 2).
    Greenwood's band of S(60) counts 4 x 60 independent agreements and covers the truth in about
    78% of samples (75% to 81% over other streams); the band clustered by seed in about 93%
    (91% to 96%)."""
    from peacesim.analysis import _at, _band, _fit_km

    rng = np.random.default_rng(21)
    lam, theta, n_seeds, reps = 1 / 60, 2.0, 60, 150
    truth = (1 + theta * lam * 60) ** (-1 / theta)  # E[exp(-lam * Z * 60)], Z ~ Gamma(1/theta, theta)
    seeds = np.repeat(np.arange(n_seeds), 4)
    covered = {"greenwood": 0, "clustered": 0}
    for _ in range(reps):
        z = np.repeat(rng.gamma(1 / theta, theta, n_seeds), 4)
        t, c = rng.exponential(1 / (lam * z)), rng.uniform(20, 150, 4 * n_seeds)
        kmf = _fit_km(np.minimum(t, c), t <= c)
        for name, clusters in (("greenwood", None), ("clustered", seeds)):
            low, high = _at(_band(kmf, 0.05, clusters=clusters), 60)
            covered[name] += bool(low <= truth <= high)
    assert covered["greenwood"] / reps < 0.86
    assert covered["clustered"] / reps > 0.9


def test_km_figure_draws_the_tables_clustered_band(tmp_path):
    from peacesim.sweep_plots import km_curves

    runs, eps, m = seed_copies()
    res = results_from_frames(runs, eps, m)
    ax = km_curves(res, by="handover_quality", ci=True).axes[0]
    bands = [c for c in ax.collections if c.get_alpha() == 0.15]
    assert len(bands) == 1
    y = np.concatenate([p.vertices[:, 1] for p in bands[0].get_paths()])
    row = durability_table(res, by="handover_quality").iloc[0]
    naive = km_summary(eps["months_survived"], eps["relapsed"], horizon=60)
    assert np.isclose(y, 1 - row["relapse_share_high"]).any() and np.isclose(y, 1 - row["relapse_share_low"]).any()
    assert not np.isclose(y, naive["survival_at_low"]).any()


def test_km_curves_by_two_factors_say_what_a_faint_curve_is():
    from peacesim.sweep_plots import km_curves

    design = [{"handover_quality": h, "team_continuity": c} for h in (0.1, 0.8) for c in (0.2, 0.9)]
    runs, eps, m = frames(design, list(range(10)), lambda dp, v, k: (40, float(10 + 7 * k), k % 2 == 0))
    fig = km_curves(results_from_frames(runs, eps, m))
    texts = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "faint, no band: agreements from\nfewer than 20 seeds (not estimable)" in texts


def test_a_durability_panel_with_nothing_estimable_says_so_where_the_lines_would_be():
    from peacesim.sweep_plots import metric_vs_parameter

    runs, eps, m = frames(HQ, list(range(10)), lambda dp, v, k: (40, float(10 + 7 * k), k % 2 == 0))
    res = results_from_frames(runs, eps, m)
    texts = [t.get_text() for t in metric_vs_parameter(res, "handover_quality", metric="rmst").axes[0].texts]
    assert "not estimable at any setting:\nagreements come from fewer than 20 seeds" in texts
    share = metric_vs_parameter(res, "handover_quality", metric="p_agreement").axes[0].texts
    assert not any("not estimable" in t.get_text() for t in share)
