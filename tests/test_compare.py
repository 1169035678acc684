"""``peacesim compare``: the paired statistics against hand-computed cases, PRIM on a planted box,
a small real comparison end to end (command line and Python), degenerate cases and bad files.

Every run writes only into pytest's temporary folders. The real comparison is made once for the
module, on the reference scenario with few seeds and a short horizon.
"""

from __future__ import annotations

import html.parser
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import peacesim
from peacesim import cli, paired
from peacesim.analysis import km_summary, results_from_frames
from peacesim.comparison import MEASURES, analyse, comparison_from_dict, list_comparisons, load_comparison
from peacesim.errors import InputError
from peacesim.prim import find_boxes

# ------------------------------------------------------------------------------------------ paired statistics


def test_km_with_weights_matches_a_hand_computed_curve():
    # durations 2, 3, 3, 5, 8 months; relapses at 2, 3 and 5; one censored at 3 and one at 8.
    # S(2) = 4/5 = 0.8; S(3) = 0.8 * 3/4 = 0.6 (the one censored at 3 is still at risk at 3);
    # S(5) = 0.6 * 1/2 = 0.3. Area under S up to 6: 2*1 + 1*0.8 + 2*0.6 + 1*0.3 = 4.3.
    t = np.array([2, 3, 3, 5, 8.0])
    e = np.array([True, True, False, True, False])
    s, r = paired.km(t, e, np.zeros(5, int), np.arange(5), paired.point(1, 5), horizon=6)
    assert s[0] == pytest.approx(0.3)
    assert r[0] == pytest.approx(4.3)
    # a resample that draws the first agreement twice and the last not at all
    d = paired.Draws(np.ones((1, 1)), np.array([[2.0, 1, 1, 1, 0]]))
    s, r = paired.km(t, e, np.zeros(5, int), np.arange(5), d, horizon=6)
    # weights 2, 1, 1, 1, 0: S(2) = 1 - 2/5 = 0.6; S(3) = 0.6 * (1 - 1/3) = 0.4; S(5) = 0.4 * (1 - 1/1)
    # = 0, so the curve is identified (it reached zero) although nobody was followed to 6.
    # Area: 2*1 + 1*0.6 + 2*0.4 + 1*0 = 3.4.
    assert s[0] == pytest.approx(0.0)
    assert r[0] == pytest.approx(3.4)


def test_km_is_not_identified_beyond_the_longest_follow_up():
    t = np.array([2.0, 4.0])
    e = np.array([True, False])
    s, r = paired.km(t, e, np.zeros(2, int), np.arange(2), paired.point(1, 2), horizon=6)
    assert math.isnan(s[0]) and math.isnan(r[0])


def test_km_agrees_with_lifelines_on_random_data():
    rng = np.random.default_rng(5)
    t = rng.integers(0, 120, 400).astype(float)
    e = rng.random(400) < 0.6
    s, r = paired.km(t, e, np.zeros(400, int), np.arange(400), paired.point(1, 400), horizon=60)
    ref = km_summary(t, e, horizon=60, rmst_to=[60])
    assert s[0] == pytest.approx(ref["survival_at"], abs=1e-12)
    assert r[0] == pytest.approx(ref["rmst_60"], abs=1e-9)


def test_bootstrap_of_two_seeds_gives_the_enumerated_interval():
    # Paired differences 1 and 3 on two seeds. The resamples are {1,1}, {1,3}, {3,1}, {3,3}: the
    # mean difference is 1 with chance 1/4, 2 with chance 1/2 and 3 with chance 1/4, so the 95%
    # percentile interval is exactly [1, 3].
    a = np.array([[5.0, 9.0]])
    b = np.array([[4.0, 6.0]])
    ok = np.ones((1, 2), bool)
    d = paired.draws(1, 2, 4000, np.random.default_rng(1))
    diff = paired.block_mean(a, ok, d) - paired.block_mean(b, ok, d)
    assert set(np.round(diff, 12)) == {1.0, 2.0, 3.0}
    assert np.mean(diff == 2.0) == pytest.approx(0.5, abs=0.03)
    assert paired.interval(diff) == (1.0, 3.0)


def test_paired_interval_matches_the_hand_computed_standard_error_and_is_narrower_than_unpaired():
    # Two strategies measured on the same 400 seeds share most of their noise (common random
    # numbers): a = u + 0.3 + small noise, b = u + small noise. The bootstrap standard error of a
    # mean is sd/sqrt(n) (population sd); by hand, paired: sd(a - b)/sqrt(n); unpaired:
    # sqrt(var(a) + var(b))/sqrt(n).
    rng = np.random.default_rng(11)
    n = 400
    u = rng.normal(0, 1.0, n)
    a = (u + 0.3 + rng.normal(0, 0.1, n))[None, :]
    b = (u + rng.normal(0, 0.1, n))[None, :]
    ok = np.ones((1, n), bool)
    d = paired.draws(1, n, 4000, np.random.default_rng(2))
    pair = paired.block_mean(a, ok, d) - paired.block_mean(b, ok, d)
    d2 = paired.draws(1, n, 4000, np.random.default_rng(3))
    unpair = paired.block_mean(a, ok, d) - paired.block_mean(b, ok, d2)
    diff = float((a - b).mean())
    se = float(np.std(a - b)) / math.sqrt(n)
    se_u = math.sqrt(float(np.var(a)) + float(np.var(b))) / math.sqrt(n)
    lo, hi = paired.interval(pair)
    assert lo == pytest.approx(diff - 1.96 * se, abs=0.15 * 1.96 * se)
    assert hi == pytest.approx(diff + 1.96 * se, abs=0.15 * 1.96 * se)
    ulo, uhi = paired.interval(unpair)
    assert (uhi - ulo) / (hi - lo) == pytest.approx(se_u / se, rel=0.15)
    assert (uhi - ulo) / (hi - lo) > 5  # what common random numbers buy here


def test_pigeonhole_weights_are_world_count_times_seed_count():
    rng = np.random.default_rng(4)
    x = rng.random((3, 4))
    ok = np.ones((3, 4), bool)
    ok[1, 2] = False  # a failed block carries no weight
    d = paired.draws(3, 4, 50, rng)
    got = paired.block_mean(x, ok, d)
    for b in range(d.n):
        w = np.outer(d.cw[b], d.cr[b]) * ok
        want = (w * x).sum() / w.sum() if w.sum() else np.nan
        assert got[b] == pytest.approx(want, nan_ok=True)


def test_holm_against_a_hand_computed_case():
    # sorted 0.01, 0.03, 0.04 -> 3*0.01 = 0.03, 2*0.03 = 0.06, 1*0.04 = 0.04 -> running max 0.06
    assert paired.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    out = paired.holm([0.2, float("nan"), 0.01])
    assert out[0] == pytest.approx(0.2) and math.isnan(out[1]) and out[2] == pytest.approx(0.02)


def test_p_value_agrees_with_the_percentile_interval():
    # bootstrap differences ~ N(1.96, 1): 2.5% of them are at or below 0, so p = 2 * 0.025
    v = np.random.default_rng(0).normal(1.96, 1, 20000)
    assert paired.p_value(1.96, v) == pytest.approx(0.05, abs=0.005)
    lo, hi = paired.interval(v)
    assert lo == pytest.approx(0.0, abs=0.05)
    # hand count: 3 of 9 resamples at or below 0 -> 2 * (3 + 1) / (9 + 1) = 0.8
    assert paired.p_value(1.0, np.array([-1, 0, 0, 1, 2, 3, 4, 5, 6.0])) == pytest.approx(0.8)
    assert paired.p_value(0.0, np.zeros(10)) == 1.0
    assert math.isnan(paired.p_value(float("nan"), v))


def test_latin_hypercube_puts_one_point_in_every_slice():
    u = paired.latin_hypercube(20, 3, np.random.default_rng(9))
    for j in range(3):
        assert sorted(np.floor(u[:, j] * 20).astype(int)) == list(range(20))


# ------------------------------------------------------------------------------------------ PRIM


def planted(n=500, seed=3, noise=0.04):
    rng = np.random.default_rng(seed)
    # EMA Workbench drops a column called 'scenario' by itself; here it is a real condition.
    x = pd.DataFrame({"scenario": rng.random(n), "b": rng.random(n), "c": rng.random(n), "d": rng.random(n)})
    y = ((x["scenario"] > 0.6) & (x["b"] < 0.3)).to_numpy()
    flip = rng.random(n) < noise
    return x, np.where(flip, ~y, y)


def test_prim_recovers_a_planted_box():
    x, y = planted()
    boxes = find_boxes(x, y)
    assert boxes
    b = boxes[0]
    lims = {lim.name: lim for lim in b.limits}
    assert set(lims) == {"scenario", "b"}
    assert lims["scenario"].low_restricted and not lims["scenario"].high_restricted
    assert lims["scenario"].low == pytest.approx(0.6, abs=0.05)
    assert lims["b"].high_restricted and not lims["b"].low_restricted
    assert lims["b"].high == pytest.approx(0.3, abs=0.05)
    assert b.density > 0.8 and b.coverage > 0.7
    inside = b.contains(x)
    assert b.n == inside.sum() and b.k == y[inside].sum()


def test_prim_refuses_a_non_binary_outcome_and_accepts_arrays():
    x, y = planted(n=200)
    with pytest.raises(InputError, match="binary"):
        find_boxes(x, np.linspace(0, 1, 200))
    boxes = find_boxes(x.to_numpy(), y.astype(int))
    assert boxes and {lim.name for lim in boxes[0].limits} <= {"x0", "x1", "x2", "x3"}
    assert find_boxes(x, np.zeros(200, bool)) == []


def test_prim_finds_no_box_in_noise():
    rng = np.random.default_rng(8)
    x = pd.DataFrame({"a": rng.random(60), "b": rng.random(60)})
    assert find_boxes(x, rng.random(60) < 0.3) == []


# ------------------------------------------------------------------------------------------ a real comparison

SMALL = """
[comparison]
title = "Small comparison"
question = "Which strategy keeps agreements longest in the reference scenario?"
scenario = "reference"
baseline = "as_is"
seeds = 8
worlds = 5
months = 240
master_seed = 7
bootstrap = 300

[uncertain]
forum_shopping = [0.1, 0.5]
spoiler = { capacity = [0.1, 0.5] }

[strategy.as_is]
title = "The reference process"
description = "Nothing changes."
source = "seed 003, Rationale"

[strategy.crowded]
title = "Every mediator on its own"
short = "every mediator on its own"
description = "No coordination."
source = "seed 003, Challenge 1"
coordination = "none"

[strategy.verified]
title = "Verification and long grants"
short = "verification"
description = "A verification mechanism; longer grants; the armed group's supporters talk through the lead."
source = "seed 001, operational activities"
verification = true
grant_length = 24
lead = "the mediation NGO"
[strategy.verified.actor."the regional organisation"]
skill = 0.7
[[strategy.verified.intervention]]
month = 6
kind = "link_local"
count = 3
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    base = tmp_path_factory.mktemp("compare")
    path = base / "small.toml"
    path.write_text(SMALL, encoding="utf-8")
    out = base / "out"
    rc = cli.main(["compare", str(path), "--out", str(out), "--executor", "serial", "--quiet"])
    assert rc == 0
    return path, out


def test_the_command_writes_a_report_and_the_tables(small, capsys):
    path, out = small
    for name in ("report.html", "report.md", "summary.csv", "differences.csv", "hazard_ratios.csv", "worlds.csv",
                 "boxes.csv", "comparison.json", "figures/km.png", "figures/differences.png",
                 "figures/measures.png", "runs/runs.parquet", "runs/manifest.json"):
        assert (out / name).is_file(), name
    data = json.loads((out / "comparison.json").read_text(), parse_constant=lambda c: pytest.fail(c))
    # the worlds are drawn by whether the best strategy did better than the runner-up: only where
    # two strategies could be ranked
    assert (out / "figures" / "worlds.png").is_file() == (_measured(out) >= 2)
    assert data["schema"] == "peacesim comparison" and data["runs"] == 3 * 10 * 4
    assert data["command"] == f"peacesim compare {path} --out {out}"


def _measured(out):
    """How many strategies of a comparison's summary.csv have a value of the ranking measure."""
    data = json.loads((out / "comparison.json").read_text())
    t = pd.read_csv(out / "summary.csv")
    return int(np.isfinite(t.loc[t["measure"] == data["rank_by"], "estimate"].to_numpy(float)).sum())


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k in ("src", "href", "data", "action", "srcset", "poster") and v is not None:
                self.refs.append((tag, k, v))


def test_the_html_report_is_self_contained(small):
    _, out = small
    text = (out / "report.html").read_text(encoding="utf-8")
    p = _Refs()
    p.feed(text)
    p.close()
    assert p.tags.count("img") == len(list((out / "figures").glob("*.png"))) >= 3
    assert all(v.startswith("data:image/png;base64,") for _, _, v in p.refs), p.refs
    assert not re.search(r"(https?:)?//[\w.-]+\.\w", text.replace("data:image/png;base64,", ""))
    assert "@import" not in text and "url(" not in text and "<script" not in text
    for heading in ("The question", "The answer in short", "The strategies", "Ranked table", "Findings",
                    "When the ranking would change", "Caveats", "How to reproduce this report"):
        assert f">{heading}<" in text
    assert "not a forecast" in text


def test_the_numbers_match_an_independent_recomputation(small):
    """Shares from the runs table itself and RMST from lifelines' Kaplan-Meier (analysis.km_summary)."""
    path, out = small
    spec = load_comparison(path)
    runs = pd.read_parquet(out / "runs" / "runs.parquet")
    eps = pd.read_parquet(out / "runs" / "episodes.parquet")
    summary = pd.read_csv(out / "summary.csv")
    S = len(spec.strategies)
    for s, key in enumerate(spec.keys):
        mine = runs[runs["design_point"] % S == s]
        row = summary[(summary["strategy"] == key) & (summary["measure"] == "agreement")].iloc[0]
        assert row["estimate"] == pytest.approx(mine["agreement_reached"].mean())
        row = summary[(summary["strategy"] == key) & (summary["measure"] == "violence")].iloc[0]
        assert row["estimate"] == pytest.approx(mine["mean_violence"].mean())
        e = eps[eps["design_point"] % S == s]
        k = km_summary(e["months_survived"], e["relapsed"], horizon=60, rmst_to=[60])
        row = summary[(summary["strategy"] == key) & (summary["measure"] == "rmst")].iloc[0]
        if isinstance(row["note"], str) and row["note"].startswith("too few agreements to measure"):
            # signed in too few seeds or worlds for an interval (the rule has its own test)
            assert math.isnan(row["estimate"]) and math.isnan(row["low"])
            assert f"in {e['replicate'].nunique()} of the {spec.seeds} seeds" in row["note"], row["note"]
        elif math.isfinite(k["rmst_60"]):
            assert row["estimate"] == pytest.approx(k["rmst_60"])
        else:
            assert math.isnan(row["estimate"]) and isinstance(row["note"], str) and row["note"]
        holds = (e["months_survived"] > 60) | ((e["months_survived"] >= 60) & ~e["relapsed"].astype(bool))
        held = holds.groupby([e["design_point"], e["replicate"]]).any()
        row = summary[(summary["strategy"] == key) & (summary["measure"] == "durable")].iloc[0]
        assert row["estimate"] == pytest.approx(held.reindex(
            pd.MultiIndex.from_frame(mine[["design_point", "replicate"]]), fill_value=False).mean())
        for _, r in summary[summary["strategy"] == key].iterrows():
            if math.isfinite(r["estimate"]) and math.isfinite(r["low"]):
                assert r["low"] - 1e-9 <= r["estimate"] <= r["high"] + 1e-9, (key, r["measure"])


def test_every_strategy_ran_on_the_same_seeds_in_the_same_worlds(small):
    path, out = small
    spec = load_comparison(path)
    runs = pd.read_parquet(out / "runs" / "runs.parquet")
    S = len(spec.strategies)
    runs["world"] = runs["design_point"] // S
    assert (runs.groupby("replicate")["seed"].nunique() == 1).all()
    for c in ("forum_shopping", "spoiler.capacity"):
        assert (runs.groupby("world")[c].nunique() == 1).all()
        assert runs.groupby("world")[c].first().nunique() == spec.worlds
    # a strategy's intervention is switched on in its own design points only
    col = "intervention.verified-link_local.enabled"
    on = runs[runs[col].eq(True)]
    assert set(on["design_point"] % S) == {spec.keys.index("verified")}


def test_differences_are_paired_and_corrected_for_many_comparisons(small):
    _, out = small
    d = pd.read_csv(out / "differences.csv")
    summary = pd.read_csv(out / "summary.csv").set_index(["strategy", "measure"])
    for _, r in d.iterrows():
        a, b = summary.loc[(r["strategy"], r["measure"]), "estimate"], summary.loc[(r["versus"], r["measure"]),
                                                                                   "estimate"]
        if math.isfinite(a) and math.isfinite(b):
            assert r["difference"] == pytest.approx(a - b)
    for m, g in d.groupby("measure"):
        p = g["p"].to_numpy(float)
        assert g["p_holm"].to_numpy(float) == pytest.approx(paired.holm(p), nan_ok=True)
    h = pd.read_csv(out / "hazard_ratios.csv")
    assert set(h["strategy"]) == {"crowded", "verified"} and (h["versus"] == "as_is").all()
    fitted = h[h["hr"].notna() & h["low"].notna()]
    assert ((fitted["low"] <= fitted["hr"]) & (fitted["hr"] <= fitted["high"])).all()


def test_running_again_resumes_and_gives_the_same_numbers(small):
    path, out = small
    res = peacesim.compare(path, out=out, executor="serial", progress=False, report=False)
    assert res.provenance["runs_this_session"] == 0
    before = pd.read_csv(out / "summary.csv", keep_default_na=False, na_values=[""])
    before["note"] = before["note"].fillna("")
    pd.testing.assert_frame_equal(res.table.reset_index(drop=True)[before.columns],
                                  before, check_dtype=False)


def test_the_report_states_the_findings_with_intervals(small):
    path, out = small
    text = (out / "report.md").read_text(encoding="utf-8")
    assert re.search(r"\(95% interval [\d.]+-[\d.]+( months|%)\)", text)
    assert "first in" in text and "bootstrap resamples" in text
    assert f"peacesim compare {path}" in text
    assert not re.search(r"\bnan\b", text, flags=re.I)


def test_a_folder_peacesim_did_not_write_is_refused(tmp_path, small, capsys):
    path, _ = small
    (tmp_path / "notes.txt").write_text("mine")
    rc = cli.main(["compare", str(path), "--out", str(tmp_path), "--executor", "serial", "--quiet"])
    assert rc == 2
    assert "did not write" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ------------------------------------------------------------------------------------------ degenerate cases


def _spec(tmp_path, text=SMALL, **sizes):
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    return load_comparison(path, **sizes)


def test_degenerate_results_give_stated_answers_not_nan(tmp_path):
    """Fabricated results: no agreement at all under one strategy, every agreement consolidated
    under another, and a baseline whose agreements all relapse."""
    text = SMALL.replace("worlds = 5\n", "").replace("[uncertain]\nforum_shopping = [0.1, 0.5]\n"
                                                     "spoiler = { capacity = [0.1, 0.5] }\n", "")
    spec = _spec(tmp_path, text, seeds=6)
    S, R = 3, 6
    runs, eps = [], []
    for s, key in enumerate(spec.keys):
        for r in range(R):
            agree = key != "crowded"
            runs.append({"design_point": s, "replicate": r, "seed": 100 + r, "status": "ok", "months": 150,
                         "followup_months": 120, "agreement_reached": agree,
                         "months_to_first_agreement": 20.0 + r if agree else None, "mean_violence": 0.1 * (s + 1)})
            if key == "as_is":
                eps.append({"design_point": s, "replicate": r, "signed_month": 20 + r, "months_survived": 5 + r,
                            "relapsed": True})
            elif key == "verified":
                eps.append({"design_point": s, "replicate": r, "signed_month": 20 + r, "months_survived": 120,
                            "relapsed": False})
    results = results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), {"factors": []})
    res = analyse(spec, results)
    t = res.table.set_index(["strategy", "measure"])
    assert t.loc[("crowded", "agreement"), "estimate"] == 0.0
    assert t.loc[("crowded", "agreement"), "note"] == "no run reached an agreement within 240 months"
    assert 0 < t.loc[("crowded", "agreement"), "high"] < 1  # an exact bound, not a collapsed interval
    assert math.isnan(t.loc[("crowded", "survival"), "estimate"])
    assert "no agreement was signed" in t.loc[("crowded", "survival"), "note"]
    assert t.loc[("verified", "survival"), "estimate"] == 1.0
    assert t.loc[("verified", "survival"), "note"] == "no agreement relapsed within five years"
    assert t.loc[("verified", "survival"), "low"] == pytest.approx((0.025) ** (1 / 6))
    assert t.loc[("as_is", "survival"), "note"] == "every agreement relapsed within five years"
    for _, r in res.table.iterrows():  # every missing number says why
        if any(not math.isfinite(float(r[c])) for c in ("estimate", "low", "high")):
            assert r["note"], (r["strategy"], r["measure"])
    for _, r in res.differences.iterrows():
        if not math.isfinite(float(r["difference"])):
            assert r["note"].startswith("cannot be compared"), r["note"]
    h = res.hazard.set_index("strategy")
    assert "no agreement was signed" in h.loc["crowded", "note"]
    assert h.loc["verified", "hr"] == 0.0 and "no agreement relapsed" in h.loc["verified", "note"]
    assert res.best == "verified"
    assert "no uncertain conditions" in res.discovery_note
    from peacesim.comparison_report import build_document

    md = build_document(res).markdown()
    assert not re.search(r"\bnan\b", md, flags=re.I)
    assert "no run reached an agreement within 240 months" in md


def test_agreements_of_one_seed_are_too_few_to_measure_durability(tmp_path):
    """Agreements signed in one seed only (in every world) leave a measure over agreements without
    a value in every resample that drops that seed (a third of them): an interval over the other
    resamples has no width and would call any difference clear, so the measure is not given."""
    text = SMALL.replace("worlds = 5\n", "").replace("[uncertain]\nforum_shopping = [0.1, 0.5]\n"
                                                     "spoiler = { capacity = [0.1, 0.5] }\n", "")
    spec = _spec(tmp_path, text, seeds=10)
    runs, eps = [], []
    for s, key in enumerate(spec.keys):
        for r in range(10):
            agree = key != "verified" or r == 3  # the 'verified' strategy: one seed's agreement
            runs.append({"design_point": s, "replicate": r, "seed": 100 + r, "status": "ok", "months": 150,
                         "followup_months": 120, "agreement_reached": agree,
                         "months_to_first_agreement": 20.0 + r if agree else None, "mean_violence": 0.1})
            if agree:
                eps.append({"design_point": s, "replicate": r, "signed_month": 20 + r, "months_survived": 2 + 7 * r,
                            "relapsed": 2 + 7 * r < 60})
    res = analyse(spec, results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), {"factors": []}))
    t = res.table.set_index(["strategy", "measure"])
    for m in ("rmst", "survival"):
        row = t.loc[("verified", m)]
        assert math.isnan(row["estimate"]) and math.isnan(row["low"]), m
        assert row["note"].startswith("too few agreements to measure: in "), row["note"]
        assert "(1 agreement in 1 of the 10 seeds, 0 of them followed for five years)" in row["note"], \
            row["note"]
        assert math.isfinite(t.loc[("as_is", m), "estimate"]) and t.loc[("as_is", m), "low"] < t.loc[("as_is", m), "high"]
    d = res.differences.set_index(["strategy", "measure"])
    assert math.isnan(d.loc[("verified", "rmst"), "difference"])
    assert d.loc[("verified", "rmst"), "note"].startswith("cannot be compared") and not d.loc[("verified", "rmst"), "clear"]


# ------------------------------------------------------------------------------------------ bad files


def _bad(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


BAD = [
    ("unknown section", lambda t: t + "\n[extra]\nx = 1\n", "unknown section [extra]"),
    ("not TOML", lambda t: t + "\n[[[", "not valid TOML"),
    ("bad baseline", lambda t: _bad(t, 'baseline = "as_is"', 'baseline = "as_it_is"'),
     "comparison.baseline = 'as_it_is' is not one of the strategies"),
    ("too few seeds", lambda t: _bad(t, "seeds = 8", "seeds = 1"),
     "comparison.seeds = 1 is not allowed; expected a whole number from 2"),
    ("unknown parameter", lambda t: _bad(t, "verification = true", "verifcation = true"),
     "strategy.verified: unknown parameter 'verifcation' (did you mean 'verification'?)"),
    ("value out of bounds", lambda t: _bad(t, "grant_length = 24", "grant_length = 0"),
     "strategy.verified: grant_length = 0 is not allowed; expected a whole number from 1 to 120"),
    ("lead not a mediator", lambda t: _bad(t, 'lead = "the mediation NGO"', 'lead = "the militia"'),
     "strategy.verified.lead = 'the militia' is not a mediator of the scenario"),
    ("unknown actor", lambda t: _bad(t, 'actor."the regional organisation"', 'actor."the regional body"'),
     "strategy.verified.actor: 'the regional body' is not an actor of the scenario"),
    ("reversed range", lambda t: _bad(t, "forum_shopping = [0.1, 0.5]", "forum_shopping = [0.5, 0.1]"),
     "uncertain.forum_shopping = [0.5, 0.1] is not allowed; the low end must be below the high end"),
    ("range out of bounds", lambda t: _bad(t, "forum_shopping = [0.1, 0.5]", "forum_shopping = [0.1, 1.5]"),
     "forum_shopping = 1.5 is not allowed; expected a number from 0 to 1"),
    ("choice as condition", lambda t: _bad(t, "forum_shopping = [0.1, 0.5]", 'coordination = ["none", "network"]'),
     "only numbers can be uncertain conditions"),
    ("strategy sets a condition", lambda t: _bad(t, 'coordination = "none"', 'coordination = "none"\nforum_shopping = 0.2'),
     "strategy.crowded: forum_shopping is also an uncertain condition"),
    ("bad intervention", lambda t: _bad(t, 'kind = "link_local"', 'kind = "link_locals"'),
     "kind = 'link_locals' is not an intervention (did you mean 'link_local'?)"),
    ("two identical strategies", lambda t: _bad(t, "verification = true\ngrant_length = 24\nlead = \"the mediation NGO\"\n"
                                                   "[strategy.verified.actor.\"the regional organisation\"]\nskill = 0.7\n"
                                                   "[[strategy.verified.intervention]]\nmonth = 6\nkind = \"link_local\"\n"
                                                   "count = 3\n", 'coordination = "none"\n'),
     "strategy.verified makes the same changes as strategy.crowded"),
    ("missing source", lambda t: _bad(t, 'source = "seed 003, Challenge 1"\n', ""),
     "strategy.crowded.source is missing"),
    ("horizon past follow-up", lambda t: _bad(t, "bootstrap = 300", "bootstrap = 300\nhorizon_months = 130"),
     "comparison.horizon_months = 130 is longer than the follow-up of agreements"),
    ("worlds without conditions", lambda t: _bad(t, "[uncertain]\nforum_shopping = [0.1, 0.5]\n"
                                                    "spoiler = { capacity = [0.1, 0.5] }\n", ""),
     "comparison.worlds = 5: worlds are draws of the [uncertain] conditions"),
    ("lead left out by the number of mediators", lambda t: _bad(t, "grant_length = 24", "grant_length = 24\nmediators = 1"),
     "strategy.verified.lead = 'the mediation NGO': with mediators = 1 only the first 1 of the scenario's mediators"),
    ("missing baseline", lambda t: _bad(t, 'baseline = "as_is"\n', ""),
     "comparison.baseline is missing; name the strategy the others are compared with: as_is, crowded, verified"),
    ("missing [comparison] header", lambda t: _bad(t, "[comparison]\n", ""),
     "title is outside any section; the file must start with a [comparison] header"),
    ("intervention past the horizon", lambda t: _bad(t, "month = 6", "month = 400"),
     "strategy.verified: intervention 'link_local' (month 400, link_local): month = 400 is past the horizon; "
     "allowed: 1 to 240"),
]


@pytest.mark.parametrize("case,mutate,expected", BAD, ids=[b[0] for b in BAD])
def test_a_bad_comparison_file_is_refused_with_one_line(tmp_path, capsys, case, mutate, expected):
    path = tmp_path / "bad.toml"
    path.write_text(mutate(SMALL), encoding="utf-8")
    out = tmp_path / "out"
    rc = cli.main(["compare", str(path), "--out", str(out), "--executor", "serial", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("peacesim: error: "), err
    assert str(path) in lines[0]
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err
    assert not out.exists()  # nothing written


def test_bad_options_are_refused_with_one_line(capsys):
    assert cli.main(["compare", "crowded_field", "--seeds", "x"]) == 2
    assert capsys.readouterr().err.strip() == "peacesim: error: --seeds 'x' is not allowed; expected a whole number"
    assert cli.main(["compare", "crowded_field", "--worlds", "0"]) == 2
    assert "--worlds 0 is not allowed" in capsys.readouterr().err
    assert cli.main(["compare", "no_such_comparison"]) == 2
    assert "no such comparison; shipped comparisons are: crowded_field" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------ the shipped files


def test_the_shipped_comparisons_are_valid_and_cite_the_seeds():
    paths = list_comparisons()
    assert {p.stem for p in paths} >= {"crowded_field", "fragile_implementation"}
    for path in paths:
        spec = load_comparison(path)
        assert len(spec.strategies) >= 6 and spec.conditions and spec.worlds >= 20
        for s in spec.strategies:
            assert re.search(r"seed 00[0-4]", s.source), (path.stem, s.key)
            assert s.description and s.changes
        titles = " ".join(s.title for s in spec.strategies)
        for word in ("hierarchical", "network", "contact group", "OECD", "Mediation Support Network"):
            assert word.lower() in titles.lower(), (path.stem, word)


def test_the_shipped_comparisons_are_listed(capsys):
    assert cli.main(["compare", "--list"]) == 0
    out = capsys.readouterr().out
    assert "crowded_field" in out and "fragile_implementation" in out


def test_the_comparison_is_exported_and_measures_are_declared():
    assert peacesim.compare.__module__ == "peacesim.comparison"
    assert set(MEASURES) == {"agreement", "months_to_agreement", "durable", "survival", "rmst", "violence"}
    raw = {"comparison": {"title": "t", "question": "q", "scenario": "reference", "baseline": "a", "seeds": 2,
                          "master_seed": 1},
           "strategy": {"a": {"title": "A", "description": "d", "source": "seed 003"},
                        "b": {"title": "B", "description": "d", "source": "seed 003", "coordination": "none"}}}
    spec = comparison_from_dict(raw)
    assert spec.worlds == 1 and spec.world_values() == [{}]
    assert spec.experiment().n_runs == 4
    # the number of mediators and the spoiler strategy are strategy changes like any other
    raw["strategy"]["b"].update(mediators=5, spoiler_strategy="coercion", lead="the regional organisation")
    spec = comparison_from_dict(raw)
    b = spec.strategy("b")
    assert b.overrides["mediators"] == 5 and b.overrides["mediator[3].lead"] is True
    assert b.overrides["mediator[1].lead"] is False  # the scenario's own lead gives way
    cast = spec.scenario.with_overrides(b.overrides).cast()
    assert len(cast.actors["mediator"]) == 5 and [m["name"] for m in cast.actors["mediator"] if m["lead"]] == \
        ["the regional organisation"]


def test_trends_find_a_condition_that_drives_the_lead(tmp_path):
    from peacesim.comparison import _trends

    spec = _spec(tmp_path, worlds=40)
    rng = np.random.default_rng(2)
    worlds = pd.DataFrame(spec.world_values())
    worlds["difference"] = -3 * worlds["forum_shopping"] + rng.normal(0, 0.05, len(worlds))
    worlds["measured"] = True
    t = _trends(spec, worlds).set_index("condition")
    assert t.loc["forum_shopping", "rank_correlation"] < -0.8 and t.loc["forum_shopping", "p_holm"] < 0.01
    assert t.loc["spoiler.capacity", "p_holm"] > 0.05
    assert t.loc["forum_shopping", "p_holm"] == pytest.approx(min(1, 2 * t.loc["forum_shopping", "p"]))


def test_a_second_comparison_on_the_same_folder_is_refused(small, capsys):
    from peacesim import fsutil

    path, out = small
    before = {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file()}
    with fsutil.FolderLock(out, "comparison"):
        rc = cli.main(["compare", str(path), "--out", str(out), "--executor", "serial", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "is using this folder" in err, err
    assert {p: p.stat().st_mtime_ns for p in out.iterdir() if p.is_file() and p.name != ".peacesim.lock"} == \
        {p: m for p, m in before.items() if p.name != ".peacesim.lock"}


def test_runs_of_other_sizes_are_not_mixed_in(small, capsys):
    path, out = small
    before = (out / "summary.csv").read_bytes()
    rc = cli.main(["compare", str(path), "--out", str(out), "--seeds", "3", "--executor", "serial", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert ("holds the runs of another version of this comparison (5 worlds x 8 seeds; now 5 worlds x 3 seeds)" in err
            and "--fresh" in err)
    assert (out / "summary.csv").read_bytes() == before


_PROBE = """
import contextlib, io, json, sys
from peacesim.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    try:
        status = main(json.loads(sys.argv[1]))
    except SystemExit as exc:
        status = exc.code
heavy = ("mesa", "pandas", "numpy", "scipy", "matplotlib", "lifelines", "ema_workbench", "dask", "pyarrow")
print(json.dumps({"status": status, "imported": sorted({m.split('.')[0] for m in sys.modules} & set(heavy))}))
"""


@pytest.mark.parametrize(("argv", "status"), [
    (["compare", "--help"], 0),
    (["compare", "--list"], 0),
    (["compare", "no_such_comparison"], 2),
    (["compare", "crowded_field", "--seeds", "x"], 2),
], ids=lambda x: " ".join(x) if isinstance(x, list) else repr(x))
def test_listing_and_refusing_import_no_numerical_library(argv, status, tmp_path):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got == {"status": status, "imported": []}
    assert list(tmp_path.iterdir()) == []


def test_a_file_refused_for_its_layout_imports_no_numerical_library(tmp_path):
    import subprocess
    import sys

    path = tmp_path / "bad.toml"
    path.write_text(SMALL + "\n[extra]\nx = 1\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(["compare", str(path)])], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300)
    got = json.loads(proc.stdout.splitlines()[-1])
    assert got == {"status": 2, "imported": []}


# ------------------------------------------------------------------------------------------ honest verdicts

NO_WORLDS = SMALL.replace("worlds = 5\n", "").replace("[uncertain]\nforum_shopping = [0.1, 0.5]\n"
                                                     "spoiler = { capacity = [0.1, 0.5] }\n", "")


def _fabricated(spec, outcome, R):
    """Results made by hand: ``outcome(key, r)`` gives (agreement reached, months survived, relapsed)
    for strategy ``key`` and replicate ``r`` (one world)."""
    runs, eps = [], []
    for s, key in enumerate(spec.keys):
        for r in range(R):
            agree, survived, relapsed = outcome(key, r)
            runs.append({"design_point": s, "replicate": r, "seed": 100 + r, "status": "ok", "months": 240,
                         "followup_months": 120, "agreement_reached": agree,
                         "months_to_first_agreement": 20.0 + r if agree else None, "mean_violence": 0.1})
            if agree:
                eps.append({"design_point": s, "replicate": r, "signed_month": 20 + r, "months_survived": survived,
                            "relapsed": relapsed})
    return results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), {"factors": []})


def _tied(key, r):
    """'crowded' and 'verified' give the same runs; the baseline's agreements relapse sooner."""
    if key == "as_is":
        return True, 10 + 3 * r, True
    return True, 30 + 5 * r, r % 2 == 0


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_a_tie_is_reported_as_a_tie_whatever_the_order_of_the_file(tmp_path, order):
    from peacesim.comparison_report import build_document, headline, rank_labels

    text = NO_WORLDS
    if order == "reversed":  # the two tied strategies swapped in the file
        a, b = text.index("[strategy.crowded]"), text.index("[strategy.verified]")
        text = text[:a] + text[b:] + "\n" + text[a:b]
    spec = _spec(tmp_path, text, seeds=12)
    res = analyse(spec, _fabricated(spec, _tied, 12))
    assert sorted(res.leaders) == ["crowded", "verified"]
    assert res.rank_probability["crowded"] == pytest.approx(0.5)
    assert res.rank_probability["verified"] == pytest.approx(0.5)
    assert res.rank_probability["as_is"] == 0.0 and res.rank_resamples == spec.bootstrap
    line = headline(res)
    assert line.startswith("No single strategy ranks first: ") and "cannot tell them apart" in line
    assert "Ranked first" not in build_document(res).markdown()
    labels = rank_labels(res)
    assert labels["crowded"] == labels["verified"] == "1=" and labels["as_is"] == "3"


def test_nothing_measurable_names_no_winner(tmp_path):
    from peacesim.comparison_report import answer_lines, build_document, rank_labels

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)  # ranked by agreements holding five years (the default)
    res = analyse(spec, _fabricated(spec, lambda key, r: (True, 5 + r, True) if r == 0 else (False, 0, False), 6))
    assert not res.ranked  # the ranking measure is over agreements: one seed's agreements are too few to measure
    lines = answer_lines(res)
    assert lines[0].startswith("No strategy can be ranked by ") and len(lines) == 1
    assert set(rank_labels(res).values()) == {"-"}
    md = build_document(res).markdown()
    assert "Ranked first" not in md and "| - |" in md


def test_one_measurable_strategy_is_not_ranked_first_over_strategies_that_could_not_be_measured(tmp_path):
    from peacesim.comparison_report import answer_lines, build_document

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    # only 'verified' reaches agreements; under the others nothing can be measured over agreements
    res = analyse(spec, _fabricated(spec, lambda key, r: (key == "verified", 30 + 5 * r, r % 3 == 0), 12))
    assert res.measured == ["verified"]
    assert all(math.isnan(v) for v in res.rank_probability.values()) and res.rank_resamples == 0
    lines = answer_lines(res)
    assert len(lines) == 1 and lines[0].startswith("The strategies cannot be ranked by ")
    assert "Ranked first" not in build_document(res).markdown()


def test_hazard_ratios_need_enough_seeds_and_relapses(tmp_path):
    spec = _spec(tmp_path, NO_WORLDS, seeds=12)

    def outcome(key, r):
        if key == "as_is":
            return True, 10 + 3 * r, True  # 12 relapses
        if key == "crowded":
            return True, 30 + 5 * r, r % 2 == 0  # 6 relapses
        return True, 30 + 5 * r, r < 2  # 2 relapses

    h = analyse(spec, _fabricated(spec, outcome, 12)).hazard.set_index("strategy")
    # 12 seeds: a hazard ratio, but no interval or p-value from standard errors clustered by seed
    assert math.isfinite(h.loc["crowded", "hr"]) and h.loc["crowded", "hr"] < 1
    assert math.isnan(h.loc["crowded", "low"]) and math.isnan(h.loc["crowded", "p"])
    assert "in 12 of the 12 seeds" in h.loc["crowded", "note"] and "at least 20 such seeds" in h.loc["crowded", "note"]
    # two relapses are too few for a hazard ratio at all
    assert math.isnan(h.loc["verified", "hr"])
    assert h.loc["verified", "note"].startswith("not estimable: only 2 agreements relapsed")

    spec20 = _spec(tmp_path, NO_WORLDS, seeds=24)
    h20 = analyse(spec20, _fabricated(spec20, outcome, 24)).hazard.set_index("strategy")
    assert math.isfinite(h20.loc["crowded", "low"]) and h20.loc["crowded", "low"] < h20.loc["crowded", "high"]
    assert h20.loc["crowded", "note"] == ""

    def few(key, r):  # 24 seeds in the design, but agreements under 'crowded' in 8 of them
        if key == "crowded":
            return (r < 8), 30 + 5 * r, True
        return outcome(key, r)

    h8 = analyse(spec20, _fabricated(spec20, few, 24)).hazard.set_index("strategy")
    assert math.isfinite(h8.loc["crowded", "hr"]) and math.isnan(h8.loc["crowded", "low"])
    assert "in 8 of the 24 seeds" in h8.loc["crowded", "note"]


def test_an_exact_bound_counts_seeds_not_world_seed_blocks(tmp_path):
    """No agreement under a strategy in 5 worlds x 4 seeds: 20 blocks, but runs sharing a seed share
    their random numbers, so the bound is the one for 4 independent cases, not 20."""
    from peacesim.comparison import _exact_share_bound

    spec = _spec(tmp_path, SMALL, seeds=4)
    W, R = spec.worlds, 4
    runs = []
    for w in range(W):
        for s, key in enumerate(spec.keys):
            for r in range(R):
                agree = key != "crowded"
                runs.append({"design_point": w * len(spec.keys) + s, "replicate": r, "seed": 100 + r, "status": "ok",
                             "months": 240, "followup_months": 120, "agreement_reached": agree,
                             "months_to_first_agreement": 30.0 if agree else None, "mean_violence": 0.1})
    eps = [{"design_point": r["design_point"], "replicate": r["replicate"], "signed_month": 30, "months_survived": 100,
            "relapsed": False} for r in runs if r["agreement_reached"]]
    res = analyse(spec, results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), {"factors": []}))
    t = res.table.set_index(["strategy", "measure"])
    assert t.loc[("crowded", "agreement"), "high"] == pytest.approx(_exact_share_bound(4))
    assert t.loc[("crowded", "agreement"), "high"] > 0.5  # 1 - 0.025^(1/4) = 0.60, not 0.17 for 20 blocks
    assert t.loc[("as_is", "agreement"), "low"] == pytest.approx(1 - _exact_share_bound(4))


def test_one_threshold_of_seeds_for_clustered_errors():
    from peacesim import analysis, comparison, validation

    assert comparison.MIN_HAZARD_SEEDS == analysis.MIN_CLUSTERS == validation.MIN_CLUSTERS


def test_agreements_in_one_world_of_several_count_as_one_independent_case():
    from peacesim.comparison import _counts

    es = pd.DataFrame({"world": [0] * 30, "seed": range(30), "months_survived": [100.0] * 30,
                       "relapsed": [False] * 30})
    assert _counts(es, 60, n_worlds=25)["followed_units"] == 1  # not 30: one world's conditions
    assert _counts(es, 60, n_worlds=1)["followed_units"] == 30  # one world in the design: the seeds


def _row(low, high, p, p_holm=None, k=1):
    return pd.Series({"low": low, "high": high, "p": p, "p_holm": p if p_holm is None else p_holm, "n_compared": k,
                      "difference": (low + high) / 2, "note": ""})


def test_the_verdict_agrees_with_the_interval():
    from peacesim.comparison_report import _verdict

    assert _verdict(_row(-0.0183, 0.02, 0.6)) == "not a clear difference (the interval includes zero)"
    # the percentile interval just misses zero while the bootstrap p-value is 0.051: not called clear,
    # and not said to include zero
    v = _verdict(_row(-18.3, -0.048, 0.051))
    assert v.startswith("not a clear difference (the interval only just misses zero") and "includes" not in v
    assert _verdict(_row(-18.3, -2.0, 0.01)) == "a clear difference"
    assert _verdict(_row(-18.3, -2.0, 0.01, p_holm=0.03, k=3)).startswith("a clear difference, also after")
    assert _verdict(_row(-18.3, -2.0, 0.02, p_holm=0.06, k=3)).startswith("a difference that is no longer clear")
    # a p-value below 0.05 with an interval touching zero is not clear either
    assert _verdict(_row(-18.3, 0.0, 0.049)) == "not a clear difference (the interval includes zero)"


def test_differences_are_in_words_without_a_negative_zero():
    from peacesim.comparison_report import fmt_difference_interval, fmt_interval

    assert fmt_difference_interval("violence", -0.088, -0.039) == "0.039 lower to 0.088 lower"
    assert fmt_difference_interval("rmst", -7.2, 6.1) == "7.2 months less to 6.1 months more"
    assert fmt_difference_interval("months_to_agreement", -18.3, -0.048) == "0.05 months sooner to 18.3 months sooner"
    assert fmt_difference_interval("agreement", 0.03, 0.25) == "3 percentage points more to 25 percentage points more"
    assert fmt_difference_interval("agreement", 0.0, 0.25) == "0 to 25 percentage points more"
    # a bound near zero keeps its sign with a decimal more, rather than reading as a zero
    assert fmt_interval("rmst", -0.04, 10.0, difference=True) == "-0.04 to +10.0 months"
    assert fmt_interval("agreement", -0.004, 0.1, difference=True) == "-0.4 to +10 percentage points"
    assert fmt_interval("agreement", -0.000001, 0.1, difference=True) == "+0 to +10 percentage points"


def test_months_to_agreement_says_how_runs_without_one_count(small):
    from peacesim.comparison_report import _clause

    assert "counting a run that reaches none as its full length" in _clause("months_to_agreement", "233.2 months", 60)


def test_strategies_get_colours_a_reader_tells_apart():
    from matplotlib.colors import to_rgb

    from peacesim.comparison_report import _COLOURS

    rgb = np.array([to_rgb(c) for c in _COLOURS])
    d = np.sqrt(((rgb[:, None, :] - rgb[None, :, :]) ** 2).sum(axis=2))
    assert len(_COLOURS) == 10 and d[np.triu_indices(10, 1)].min() > 0.2


def test_the_report_traces_its_inputs_and_says_no_box_when_there_is_none(small):
    path, out = small
    md = (out / "report.md").read_text(encoding="utf-8")
    import hashlib

    digest = hashlib.sha256(path.read_text(encoding="utf-8").encode()).hexdigest()[:16]
    assert f"comparison file {path.resolve()} (SHA-256 {digest}); scenario 'reference'" in md
    doc = json.loads((out / "comparison.json").read_text(encoding="utf-8"))
    assert ("dashed rectangle" in md) == bool(doc.get("boxes"))  # the caption names a box only when there is one


def test_every_pair_is_compared_and_agrees_with_the_baseline_differences(small):
    _, out = small
    pw = pd.read_csv(out / "pairwise.csv")
    dif = pd.read_csv(out / "differences.csv")
    assert len(pw) == 3 * len(MEASURES)
    for _, g in pw.groupby("measure"):  # Holm's family: the pairs of the measure that have a p-value
        assert set(g["n_compared"]) == {int(np.isfinite(g["p"]).sum())}
    assert set(pw["n_compared"]) >= {3}
    for _, d in dif.iterrows():  # a pair with the baseline is the baseline difference, the other way round
        q = pw[(pw["measure"] == d["measure"]) & (pw["strategy"] == "as_is") & (pw["versus"] == d["strategy"])].iloc[0]
        if math.isfinite(d["difference"]):
            assert q["difference"] == pytest.approx(-d["difference"])
            assert q["low"] == pytest.approx(-d["high"]) and q["high"] == pytest.approx(-d["low"])
            assert q["p_holm"] >= q["p"]
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "## Every pair of strategies" in md


def test_a_folder_given_as_the_comparison_file_is_refused(tmp_path, capsys):
    rc = cli.main(["compare", str(tmp_path), "--out", str(tmp_path / "out"), "--executor", "serial", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "is a folder, not a comparison file" in err and len(err.strip().splitlines()) == 1


def test_editing_words_or_the_analysis_reuses_the_runs_and_a_new_strategy_does_not(small, tmp_path, capsys):
    from peacesim.comparison import check_stored

    path, out = small
    text = path.read_text(encoding="utf-8")
    worded = tmp_path / "worded.toml"
    worded.write_text(text.replace('title = "Small comparison"', 'title = "A small comparison, retitled"')
                      .replace("bootstrap = 300", "bootstrap = 400\nrank_by = \"violence\""), encoding="utf-8")
    spec = load_comparison(worded)
    check_stored(out, spec, spec.experiment())  # not refused: the same runs
    changed = tmp_path / "changed.toml"
    changed.write_text(_bad(text, "grant_length = 24", "grant_length = 12"), encoding="utf-8")
    spec = load_comparison(changed)
    with pytest.raises(InputError, match="holds the runs of another version of this comparison"):
        check_stored(out, spec, spec.experiment())


# ------------------------------------------------------------------------------------------ words for policy staff


def _fabricated_worlds(spec, outcome, R):
    """Like :func:`_fabricated`, in every world of ``spec``: ``outcome(key, r, w)``."""
    runs, eps = [], []
    S = len(spec.keys)
    for w in range(spec.worlds):
        for s, key in enumerate(spec.keys):
            for r in range(R):
                agree, survived, relapsed = outcome(key, r, w)
                runs.append({"design_point": w * S + s, "replicate": r, "seed": 100 + r, "status": "ok",
                             "months": 240, "followup_months": 120, "agreement_reached": agree,
                             "months_to_first_agreement": 20.0 + r if agree else None,
                             "mean_violence": 0.1 + 0.01 * s})
                if agree:
                    eps.append({"design_point": w * S + s, "replicate": r, "signed_month": 20 + r,
                                "months_survived": survived, "relapsed": relapsed})
    return results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), {"factors": []})


def _ranked(key, r, w):
    """Agreements under every strategy in every seed: 'verified' holds longest, the baseline least."""
    if key == "as_is":
        return True, 8 + 3 * r + w, True
    if key == "crowded":
        return True, 20 + 5 * r + w, r % 2 == 0
    return True, 30 + 6 * r + 2 * w, r % 3 == 0


def _section(md, heading, until):
    return md[md.index(f"## {heading}\n"):md.index(f"## {until}\n")]


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    spec = _spec(tmp_path_factory.mktemp("ranked"), SMALL, seeds=12)
    return analyse(spec, _fabricated_worlds(spec, _ranked, 12))


#: Words a director should not have to know: the opening of a report says the same in plain words.
_JARGON = ("RMST", "restricted mean", "bootstrap", "resample", "Holm", "hazard", "Kaplan", "Cox", "PRIM", "CI ",
           "Spearman", "Latin hypercube", "censor", "pigeonhole")


def test_the_opening_a_director_reads_is_in_plain_words(small, ranked):
    """The question, the answer in short and how to read the report use none of the technical terms
    (RMST, bootstrap resamples, Holm's correction, hazard ratio, ...); the methods name each of
    them, lower down."""
    from peacesim.comparison_report import JARGON, answer_lines, build_document, headline

    assert set(_JARGON) <= set(JARGON)

    _, out = small
    for res, md in ((ranked, build_document(ranked).markdown()), (None, (out / "report.md").read_text("utf-8"))):
        opening = md[:md.index("## The strategies\n")]
        used = [w for w in _JARGON if w.lower() in opening.lower()]
        assert not used, used
        assert "## The answer in short" in opening and "## How to read this report" in opening
        methods = _section(md, "Methods in brief", "How to reproduce this report")
        for term in ("RMST", "bootstrap", "Holm", "Kaplan-Meier", "Cox", "PRIM", "Latin hypercube", "Spearman"):
            assert term in methods, term
    assert len(ranked.measured) == 3
    lines = answer_lines(ranked)
    assert lines[0] == headline(ranked)
    assert any("allowing for the number of comparisons made" in line for line in lines)
    assert "re-draws of the simulated worlds and seeds" in lines[0]
    text = " ".join(lines)
    assert not [w for w in JARGON if w.lower() in text.lower()]
    assert re.search(r"\(95% interval [\d.]+-[\d.]+ months\)", text)  # every figure keeps its interval


def test_a_hazard_ratio_without_an_interval_is_not_printed_as_a_bare_number(tmp_path):
    from peacesim.comparison_report import build_document

    def outcome(key, r):
        if key == "as_is":
            return True, 10 + 3 * r, True
        if key == "crowded":
            return True, 30 + 5 * r, r % 2 == 0
        return True, 30 + 5 * r, r < 2

    def hazard_rows(res):
        """The hazard table's rows by strategy, as {column: cell}."""
        lines = build_document(res).markdown().splitlines()
        top = next(i for i, line in enumerate(lines) if line.startswith("| strategy |") and "| hazard ratio" in line)
        header = [c.strip() for c in lines[top].strip("| ").split(" | ")]
        rows = {}
        for line in lines[top + 2:]:
            if not line.startswith("| "):
                break
            cells = [c.strip() for c in line.strip("| ").split(" | ")]
            rows[cells[0]] = dict(zip(header, cells))
        return rows

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)  # 12 seeds: an estimate, too few for an interval
    res = analyse(spec, _fabricated(spec, outcome, 12))
    hr = float(res.hazard.set_index("strategy").loc["crowded", "hr"])
    row = hazard_rows(res)["Every mediator on its own"]
    cell = next(v for k, v in row.items() if k.startswith("hazard ratio"))
    assert not re.search(r"\d", cell) and "no interval" in cell  # the estimate is not in the column
    assert row["note"].startswith(f"point estimate {hr:.2f}, not a finding because it has no interval or p-value: ")
    assert "in 12 of the 12 seeds" in row["note"] and row["p, adjusted"] == "-"
    assert (row["agreements"], row["relapses"]) == ("12", "6")
    assert hazard_rows(res)["Verification and long grants"]["hazard ratio (95% interval)"] == "not estimable"

    spec = _spec(tmp_path, NO_WORLDS, seeds=24)  # 24 seeds: the estimate with its interval
    res = analyse(spec, _fabricated(spec, outcome, 24))
    h = res.hazard.set_index("strategy").loc["crowded"]
    cell = hazard_rows(res)["Every mediator on its own"]["hazard ratio (95% interval)"]
    assert cell == f"{h['hr']:.2f} ({h['low']:.2f}-{h['high']:.2f})"


def test_the_worlds_are_searched_only_for_a_ranking_that_was_made(small, ranked):
    """Where the ranking measure can be measured under one strategy only, there is no runner-up:
    the report says so instead of drawing the worlds by an arbitrary one, and lists the pairs that
    cannot be compared in one sentence."""
    from peacesim.comparison_report import build_document

    _, out = small
    assert _measured(out) == 1
    md = (out / "report.md").read_text(encoding="utf-8")
    section = _section(md, "When the ranking would change", "How fast agreements break down: hazard ratios")
    assert "no ranking whose changes could be traced" in section and "worlds.png" not in section
    pairs = _section(md, "Every pair of strategies", "Figures")
    assert "not measurable" not in pairs and "None of the 3 pairs can be compared" in pairs
    doc = build_document(ranked)
    assert "worlds.png" in doc.figures
    assert "did better than the runner-up" in _section(doc.markdown(), "When the ranking would change",
                                                       "How fast agreements break down: hazard ratios")


def test_a_note_given_for_several_measures_is_said_once(small):
    _, out = small
    md = (out / "report.md").read_text(encoding="utf-8")
    notes = _section(md, "Ranked table", "Findings").split("Notes:")[1]
    items = [line for line in notes.splitlines() if line.startswith("- ")]
    assert len(items) == len({line.split(": ", 1)[1] for line in items})  # no reason repeated
    assert "agreements surviving five years and months held in first five years" in notes
    assert "resamples" not in notes and "re-draws of the simulated worlds and seeds" in notes


def test_the_trend_table_needs_as_many_worlds_as_the_search_for_conditions(tmp_path, ranked):
    """With fewer worlds than the search for conditions needs, the report says so and shows no
    table of rank correlations (a p-value over five worlds reads as more than it is); with
    enough, it shows one."""
    from peacesim.comparison import MIN_WORLDS_DISCOVERY
    from peacesim.comparison_report import build_document

    heading = "rank correlation with the lead of"
    assert ranked.spec.worlds < MIN_WORLDS_DISCOVERY and len(ranked.trends)
    md = build_document(ranked).markdown()
    assert heading not in md
    assert f"at least {MIN_WORLDS_DISCOVERY} are needed to search for the conditions" in md
    spec = _spec(tmp_path, SMALL, seeds=6, worlds=MIN_WORLDS_DISCOVERY)
    md = build_document(analyse(spec, _fabricated_worlds(spec, _ranked, 6))).markdown()
    assert heading in md


def _outputs(out):
    from peacesim.comparison import OUTPUT_FILES

    return {n: (out / n).read_bytes() for n in OUTPUT_FILES if (out / n).exists()}


def test_an_analysis_cut_short_leaves_the_earlier_one_whole(small, tmp_path, monkeypatch):
    """Tables and report are worked out before any is written: stopped while the report is drawn,
    the folder keeps the earlier analysis, not new tables beside an old report."""
    import shutil

    import peacesim.comparison_report as report

    path, out = small
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    before = _outputs(mine)
    assert {"report.md", "summary.csv", "figures/km.png"} <= set(before)
    changed = tmp_path / "h36.toml"
    changed.write_text(path.read_text(encoding="utf-8").replace("months = 240\n", "months = 240\nhorizon_months = 36\n"),
                       encoding="utf-8")

    def stop(result):
        raise KeyboardInterrupt

    monkeypatch.setattr(report, "build_document", stop)
    with pytest.raises(KeyboardInterrupt):
        peacesim.compare(changed, out=mine, executor="serial", progress=False)
    assert _outputs(mine) == before
    monkeypatch.undo()
    peacesim.compare(changed, out=mine, executor="serial", progress=False)
    after = _outputs(mine)
    assert set(after) == set(before) and after["summary.csv"] != before["summary.csv"]
    assert after["report.md"] != before["report.md"]
    # without a report, an old report stays only while the tables it was written from are unchanged
    peacesim.compare(changed, out=mine, executor="serial", progress=False, report=False)
    assert (mine / "report.md").read_bytes() == after["report.md"]
    peacesim.compare(path, out=mine, executor="serial", progress=False, report=False)
    assert not (mine / "report.md").exists() and not (mine / "figures" / "km.png").exists()
    assert (mine / "summary.csv").read_bytes() == before["summary.csv"]


def test_fresh_removes_the_earlier_outputs_before_its_runs(small, tmp_path, monkeypatch):
    import shutil

    import peacesim.sweep as sweep

    path, out = small
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    (mine / "my notes.txt").write_text("mine", encoding="utf-8")

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep, "run_experiment", stop)
    with pytest.raises(KeyboardInterrupt):
        peacesim.compare(path, out=mine, executor="serial", progress=False, fresh=True)
    assert _outputs(mine) == {}  # no report of runs that are being replaced
    assert (mine / "my notes.txt").read_text(encoding="utf-8") == "mine"


def test_differences_at_rounding_level_are_zero_and_decide_nothing():
    """Equal survival computed in another order can differ in the last bits; the sign of that
    noise must not make a difference 'clear' nor move a p-value."""
    a = np.array([0.013794088247893760, 0.5, 0.2, np.nan, 0.3])
    b = np.array([0.013794088247893766, 0.5, 0.1, 0.4, 0.3 + 1e-17])
    d = paired.difference(a, b)
    assert d[0] == 0.0 and d[1] == 0.0 and d[2] == pytest.approx(0.1) and np.isnan(d[3]) and d[4] == 0.0
    assert paired.difference(1e-20, 0.0) == 1e-20  # a real difference however small, against zero
    rng = np.random.default_rng(1)
    same = rng.uniform(0.01, 0.06, 2000)
    noisy = same * (1 + rng.choice([-1, 0, 1], 2000) * 2e-16)
    boot = paired.difference(same + rng.uniform(0, 0.05, 2000) * (rng.random(2000) < 0.5), noisy)
    assert boot.min() == 0.0  # the resamples with no real difference are exactly zero
    lo, _ = paired.interval(boot)
    assert lo == 0.0 and not (lo > 0)


def test_a_bound_that_is_not_zero_is_not_printed_as_zero():
    from peacesim.comparison_report import _signed

    assert _signed(0.04, 0) == "+0.04" and _signed(-0.004, 1) == "-0.004" and _signed(0.0, 0) == "+0"
    assert _signed(-0.0, 1) == "+0.0" and _signed(2.4, 0) == "+2" and _signed(1e-9, 0) == "+0"


def test_the_command_to_reproduce_works_from_any_folder(small, tmp_path, monkeypatch):
    import shlex

    from peacesim.comparison import command_line, default_out

    path, out = small
    spec = load_comparison(path)
    cmd = shlex.split(command_line(spec, Path("rel out")))
    assert cmd[:3] == ["peacesim", "compare", str(path.resolve())]
    assert cmd[cmd.index("--out") + 1] == str(Path("rel out").resolve())
    monkeypatch.chdir(tmp_path)
    shipped = load_comparison("crowded_field", seeds=4)
    cmd = shlex.split(command_line(shipped, None))
    assert cmd == ["peacesim", "compare", "crowded_field", "--seeds", "4", "--out",
                   str((tmp_path / default_out(shipped)).resolve())]


def test_a_strategy_that_changes_nothing_is_refused_and_an_own_value_is_said_to_be_one(tmp_path):
    noop = SMALL + ('\n[strategy.noop]\ntitle = "Twelve-month grants"\ndescription = "As now."\nsource = "-"\n'
                    'grant_length = 12\ncoordination = "hierarchical"\n')
    with pytest.raises(InputError, match=r"strategy\.noop makes the same changes as strategy\.as_is \(grant_length = "
                                         r"12, coordination = 'hierarchical' are the scenario's own values\); each "
                                         r"strategy must differ"):
        _spec(tmp_path, noop)
    same = SMALL.replace('coordination = "none"\n', 'coordination = "none"\ngrant_length = 12\n', 1)
    with pytest.raises(InputError, match=r"strategy\.twin makes the same changes as strategy\.crowded; each"):
        _spec(tmp_path, same + '\n[strategy.twin]\ntitle = "Twin"\ndescription = "-"\nsource = "-"\n'
                               'coordination = "none"\n')
    spec = _spec(tmp_path, same)
    assert "length of a project grant: 12 months (as in the scenario)" in spec.strategy("crowded").changes


def test_a_lone_measurable_strategy_is_not_ranked_first_of_anything(tmp_path):
    """When the ranking measure can be measured under one strategy only, nothing is ranked: no
    place, no share of first places, no runner-up in the tables."""
    from peacesim.comparison import table_files
    from peacesim.comparison_report import build_document, rank_labels

    spec = _spec(tmp_path, SMALL, seeds=8)

    def only_verified(key, r, w):
        return (True, 70 + r + w, r % 3 == 0) if key == "verified" else (False, 0, False)

    res = analyse(spec, _fabricated_worlds(spec, only_verified, 8))
    assert res.measured == ["verified"]
    assert set(rank_labels(res).values()) == {"-"}
    assert all(math.isnan(p) for p in res.rank_probability.values()) and res.rank_resamples == 0
    doc = json.loads(table_files(res)["comparison.json"])
    assert doc["best"] == "verified" and doc["runner_up"] is None and doc["best_vs_runner_up"] == []
    md = build_document(res).markdown()
    assert "'-' throughout: fewer than two strategies could be measured" in md
    assert "| 1 |" not in md


def _one_source(res):
    """The best and the runner-up as the Python result, comparison.json, the table of best against
    runner-up, the worlds and the report all give them: the first two measured strategies, None
    where there are not that many, never 'None' in the words."""
    from peacesim.comparison import table_files
    from peacesim.comparison_report import answer_lines, build_document

    measured = res.measured
    assert res.best == (measured[0] if measured else None)
    assert res.runner_up == (measured[1] if len(measured) >= 2 else None)
    files = table_files(res)
    doc = json.loads(files["comparison.json"])
    assert (doc["best"], doc["runner_up"]) == (res.best, res.runner_up)
    assert [(r["strategy"], r["versus"], r["measure"]) for r in doc["best_vs_runner_up"]] == \
        list(zip(res.best_vs_runner["strategy"], res.best_vs_runner["versus"], res.best_vs_runner["measure"]))
    bvr = res.best_vs_runner
    assert list(bvr.columns) == list(res.pairwise.columns)
    if res.runner_up is None:
        assert bvr.empty
        assert not res.worlds["measured"].any() and res.worlds["runner_up"].isna().all() and not res.boxes
        assert "no ranking to explain" in res.discovery_note
        assert not res.worlds["best_does_better"].any()
        assert not pd.read_csv(io.StringIO(files["worlds.csv"]))["runner_up"].notna().any()
    else:
        assert set(bvr["strategy"]) == {res.best} and set(bvr["versus"]) == {res.runner_up}
    md = build_document(res).markdown()
    for text in [md, *answer_lines(res), res.discovery_note]:
        assert not re.search(r"\bNone\b(?! of)", text), re.search(r".{80}\bNone\b(?! of).{80}", text, flags=re.S)


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_nothing_measurable_has_no_best_and_no_runner_up_in_python_as_in_the_files(tmp_path, order):
    """With the ranking measure measurable under no strategy, the result names no best strategy
    and no runner-up - not the first two of the file - and the worlds compare nothing."""
    from peacesim.comparison_report import box_sentences, headline, trend_sentences, worlds_figure

    text = SMALL
    if order == "reversed":
        a, b = text.index("[strategy.as_is]"), text.index("[strategy.crowded]")
        text = text[:a] + text[b:] + "\n" + text[a:b]
    spec = _spec(tmp_path, text, seeds=8)

    def one_seed(key, r, w):  # one seed's agreements under every strategy: too few to measure
        return (True, 5 + r + w, True) if r == 0 else (False, 0, False)

    res = analyse(spec, _fabricated_worlds(spec, one_seed, 8))
    assert res.measured == [] and not res.ranked
    assert res.best is None and res.runner_up is None and res.leaders == []
    _one_source(res)
    assert worlds_figure(res) is None and trend_sentences(res) == []
    assert [line.lower() for line in box_sentences(res)] == [res.discovery_note.lower() + "."]  # the reason only
    assert headline(res).startswith("No strategy can be ranked by ") and "under every strategy, " in headline(res)


@pytest.mark.parametrize("order", ["as listed", "reversed"])
def test_a_lone_measurable_strategy_is_best_with_no_runner_up_in_python_as_in_the_files(tmp_path, order):
    """With the ranking measure measurable under one strategy only, it is the best and there is no
    runner-up: not an unmeasured strategy the file lists first, nor a comparison with it."""
    from peacesim.comparison_report import answer_lines, box_sentences, trend_sentences, worlds_figure

    text = SMALL
    if order == "reversed":
        a, b = text.index("[strategy.crowded]"), text.index("[strategy.verified]")
        text = text[:a] + text[b:] + "\n" + text[a:b]
    spec = _spec(tmp_path, text, seeds=8)

    def only_verified(key, r, w):
        return (True, 70 + r + w, r % 3 == 0) if key == "verified" else (False, 0, False)

    res = analyse(spec, _fabricated_worlds(spec, only_verified, 8))
    assert res.measured == ["verified"]
    assert res.best == "verified" and res.runner_up is None and res.leaders == ["verified"]
    _one_source(res)
    assert res.worlds["best"].notna().all()  # the best's own value in every world, compared with nothing
    assert "only under verification" in res.discovery_note
    assert worlds_figure(res) is None and trend_sentences(res) == []
    assert [line.lower() for line in box_sentences(res)] == [res.discovery_note.lower() + "."]  # the reason only
    assert len(answer_lines(res)) == 1


def test_two_measured_strategies_are_the_best_and_the_runner_up_everywhere(tmp_path, ranked):
    _one_source(ranked)
    assert (ranked.best, ranked.runner_up) == tuple(ranked.ranking[:2])
    spec = _spec(tmp_path, SMALL, seeds=8)

    def two(key, r, w):
        return (True, 70 + r + w, r % 3 == 0) if key != "as_is" else (False, 0, False)

    res = analyse(spec, _fabricated_worlds(spec, two, 8))
    assert res.runner_up is not None and "as_is" not in (res.best, res.runner_up)
    _one_source(res)
    assert res.worlds["measured"].all()


def test_a_misspelt_title_is_named_and_options_without_a_comparison_are_refused(tmp_path, capsys):
    with pytest.raises(InputError, match=r"strategy\.crowded\.title is missing \(.*strategy\.crowded\.titel is there: "
                                         r"a misspelling of title\?\); give a plain-language title"):
        _spec(tmp_path, SMALL.replace('title = "Every mediator on its own"', 'titel = "Every mediator on its own"'))
    assert cli.main(["compare", "--out", str(tmp_path / "x")]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "--out given but no comparison named" in line and not (tmp_path / "x").exists()


def test_runs_of_another_model_version_are_refused_naming_the_folder_given_and_nothing_is_said_first(
        small, tmp_path, capsys):
    import shutil

    path, out = small
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    manifest = mine / "runs" / "manifest.json"
    m = json.loads(manifest.read_text(encoding="utf-8"))
    m["model_digest"] = "0" * 64
    manifest.write_text(json.dumps(m), encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["compare", str(path), "--out", str(mine), "--executor", "serial"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no header before a refusal
    [line] = captured.err.strip().splitlines()
    assert f"--out {mine}: the runs there ({mine / 'runs'}) were made by a different version of the model" in line


def test_a_linked_figures_folder_is_refused_and_nothing_beyond_it_is_removed(small, tmp_path):
    import shutil

    path, out = small
    mine = tmp_path / "out"
    shutil.copytree(out, mine)
    elsewhere = tmp_path / "my pictures"
    elsewhere.mkdir()
    for name in ("km.png", "worlds.png", "mine.png"):
        (elsewhere / name).write_bytes(b"mine")
    shutil.rmtree(mine / "figures")
    (mine / "figures").symlink_to(elsewhere, target_is_directory=True)
    for fresh in (True, False):
        with pytest.raises(InputError, match=r"figures: is not a plain folder \(a link or a file\)"):
            peacesim.compare(path, out=mine, executor="serial", progress=False, fresh=fresh)
        assert sorted(p.name for p in elsewhere.iterdir()) == ["km.png", "mine.png", "worlds.png"]
        assert all(p.read_bytes() == b"mine" for p in elsewhere.iterdir())


def test_values_equal_up_to_rounding_share_a_place_and_unmeasured_strategies_no_share(tmp_path, ranked):
    from peacesim.comparison import table_files
    from peacesim.comparison_report import rank_labels

    import copy

    res = copy.copy(ranked)  # the module's result is shared: change a copy
    res.table = ranked.table.copy()
    top = res.best
    i = res.table.index[(res.table["strategy"] == top) & (res.table["measure"] == res.spec.rank_by)][0]
    other = res.ranking[1]
    j = res.table.index[(res.table["strategy"] == other) & (res.table["measure"] == res.spec.rank_by)][0]
    res.table.loc[j, "estimate"] = np.nextafter(float(res.table.loc[i, "estimate"]), -np.inf)
    labels = rank_labels(res)
    assert labels[top] == labels[other] == "1=" and set(res.leaders) == {top, other}

    spec = _spec(tmp_path, SMALL, seeds=8)

    def two(key, r, w):
        return (True, 70 + r + w, r % 3 == 0) if key != "as_is" else (False, 0, False)

    res = analyse(spec, _fabricated_worlds(spec, two, 8))
    assert "as_is" not in res.measured and len(res.measured) == 2
    doc = json.loads(table_files(res)["comparison.json"])
    assert doc["rank_probability"]["as_is"] is None
    assert sum(v for v in doc["rank_probability"].values() if v is not None) == pytest.approx(1.0)


def test_a_comparison_built_in_python_has_no_file_in_its_command():
    import tomllib

    from peacesim.comparison import command_line

    spec = comparison_from_dict(tomllib.loads(SMALL))
    # no file to name: the placeholder as it is, not made into a path of the current folder
    assert command_line(spec, None).startswith("peacesim compare '<comparison>' --out /")


def test_an_agreement_relapsing_in_its_horizon_month_has_not_held_in_either_measure(tmp_path):
    """'Holds five years' counts as the Kaplan-Meier share does: an agreement that relapsed in its
    sixtieth month did not hold five years; one still holding at sixty months did."""
    text = SMALL.replace("worlds = 5\n", "").replace("[uncertain]\nforum_shopping = [0.1, 0.5]\n"
                                                     "spoiler = { capacity = [0.1, 0.5] }\n", "")
    spec = _spec(tmp_path, text, seeds=6)
    assert spec.horizon == 60
    runs, eps = [], []
    for s, key in enumerate(spec.keys):
        for r in range(6):
            runs.append({"design_point": s, "replicate": r, "seed": 100 + r, "status": "ok", "months": 150,
                         "followup_months": 120, "agreement_reached": True, "months_to_first_agreement": 20.0 + r,
                         "mean_violence": 0.1})
            # the first strategy's agreements all relapse in their sixtieth month; the others' hold
            # sixty months and are then cut short by the end of the run, still in force
            eps.append({"design_point": s, "replicate": r, "signed_month": 90, "months_survived": 60,
                        "relapsed": s == 0})
    res = analyse(spec, results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), {"factors": []}))
    t = res.table.set_index(["strategy", "measure"])
    first, other = spec.keys[0], spec.keys[1]
    assert t.loc[(first, "survival"), "estimate"] == 0.0 and t.loc[(first, "durable"), "estimate"] == 0.0
    assert t.loc[(other, "survival"), "estimate"] == 1.0 and t.loc[(other, "durable"), "estimate"] == 1.0


def test_a_rank_correlation_over_few_worlds_has_its_exact_p_value():
    """Four worlds in perfect rank order: p is 1/12 (2 of the 24 orders are as extreme), not the 0
    of scipy's t approximation; up to nine worlds, p is the exact permutation p-value."""
    from scipy.stats import spearmanr

    from peacesim.comparison import _spearman_p

    x, y = [0.1, 0.4, 0.5, 0.9], [1.0, 2.0, 5.0, 7.0]
    r = spearmanr(x, y)
    assert r.pvalue == 0.0 and _spearman_p(x, y, r.statistic, r.pvalue) == pytest.approx(1 / 12)
    rng = np.random.default_rng(4)
    x = rng.normal(size=7)
    y = np.round(x + rng.normal(size=7), 1)
    r = spearmanr(x, y)
    import itertools

    every = [spearmanr(x, y[list(order)]).statistic for order in itertools.permutations(range(7))]
    exact = np.mean(np.abs(every) >= abs(r.statistic) - 1e-12)
    assert _spearman_p(x, y, r.statistic, r.pvalue) == pytest.approx(exact)
    big = rng.normal(size=12)
    assert _spearman_p(big, big, 1.0, 0.0) == pytest.approx(2 / math.factorial(12))
