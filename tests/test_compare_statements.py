"""``peacesim compare``: what the report states agrees with the numbers behind it - the direction
of a trend whichever way the ranking measure is better, a bound rather than a point where no
agreement relapsed, what pairing bought, and sentences that read for one strategy or one world.

Results are made by hand (no model runs) and analysed as a comparison would be.
"""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from test_compare import NO_WORLDS, SMALL, _fabricated, _spec

from peacesim.analysis import results_from_frames
from peacesim.comparison import analyse


def _violence_worlds(spec, R):
    """Every strategy signs agreements; 'verified' has the lowest violence, by a lead that shrinks
    as forum_shopping rises (0.2 x (0.5 - forum_shopping)); the baseline is the runner-up."""
    runs, eps = [], []
    S = len(spec.keys)
    for w, world in enumerate(spec.world_values()):
        fs = world["forum_shopping"]
        for s, key in enumerate(spec.keys):
            for r in range(R):
                violence = {"as_is": 0.30, "crowded": 0.34, "verified": 0.30 - 0.2 * (0.5 - fs)}[key] + 0.001 * r
                runs.append({"design_point": w * S + s, "replicate": r, "seed": 100 + r, "status": "ok",
                             "months": 240, "followup_months": 120, "agreement_reached": True,
                             "months_to_first_agreement": 20.0 + r, "mean_violence": violence})
                eps.append({"design_point": w * S + s, "replicate": r, "signed_month": 20 + r,
                            "months_survived": 10 + 7 * r + w, "relapsed": r % 2 == 0})
    return results_from_frames(pd.DataFrame(runs), pd.DataFrame(eps), {"factors": []})


def test_a_trend_has_the_sign_of_the_lead_where_lower_is_better(tmp_path):
    """Ranked by violence (lower is better): the best strategy's lead shrinks as forum_shopping
    rises. The table of trends, its caption ('positive, the lead grows'), trends.csv and the
    sentence must all say so; the correlation was that of best minus runner-up, which has the
    opposite sign of the lead when lower is better, so the table said the lead grows."""
    from peacesim.comparison_report import build_document, trend_sentences

    text = SMALL.replace("master_seed = 7\n", 'master_seed = 7\nrank_by = "violence"\n')
    spec = _spec(tmp_path, text, seeds=3, worlds=12)
    res = analyse(spec, _violence_worlds(spec, 3))
    assert res.best == "verified" and res.runner_up == "as_is"
    t = res.trends.set_index("condition")
    assert t.loc["forum_shopping", "rank_correlation"] < -0.9  # the lead shrinks as forum shopping rises
    assert t.loc["forum_shopping", "p_holm"] < 0.05
    label = t.loc["forum_shopping", "meaning"]  # "monthly chance that a party ... moves to another table"
    said = [s for s in trend_sentences(res) if label in s]
    assert len(said) == 1 and " shrinks as " in said[0] and "rank correlation of -" in said[0], said
    md = build_document(res).markdown()
    row = re.search(rf"^\| {re.escape(label)} \| ([+-]\d\.\d\d) \|", md, flags=re.M)  # the trend table's row
    assert row is not None and row.group(1).startswith("-"), row  # negative, as the sentence says
    assert "positive, the lead grows as the condition rises" in md


def test_a_trend_keeps_its_sign_where_higher_is_better(tmp_path):
    """The same lead, ranked by a measure where higher is better, is the plain difference."""
    from peacesim.comparison import _trends

    spec = _spec(tmp_path, SMALL, seeds=3, worlds=12)
    worlds = pd.DataFrame(spec.world_values())
    worlds["difference"] = 5 - 4 * worlds["forum_shopping"]  # best minus runner-up, falling with forum shopping
    worlds["measured"] = True
    assert _trends(spec, worlds).set_index("condition").loc["forum_shopping", "rank_correlation"] == pytest.approx(-1)


def _never_relapses(key, r):
    """'verified' signs in every seed and no agreement of it relapses; the others relapse."""
    if key == "verified":
        return True, 120, False
    if key == "crowded":
        return True, 20 + 5 * r, True
    return True, 10 + 3 * r, True


def test_months_held_without_any_relapse_get_a_bound_not_an_interval_of_no_width(tmp_path):
    """Six seeds, no relapse: every re-draw gives 60 months, so the resampled interval was
    '60.0-60.0 months', as if certain. The share surviving five years has the exact bound
    0.025^(1/6); the months held are at least 60 times it."""
    from peacesim.comparison_report import build_document

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, _never_relapses, 6))
    r = res.value("verified", "rmst")
    share = 0.025 ** (1 / 6)
    assert res.value("verified", "survival")["low"] == pytest.approx(share)
    assert r["estimate"] == 60.0 and r["high"] == 60.0
    assert r["low"] == pytest.approx(60 * share) and r["low"] < 60
    assert r["note"] == "no agreement relapsed within five years"
    md = build_document(res).markdown()
    assert "60.0-60.0" not in md
    assert f"60.0 months of its first five years (95% interval {60 * share:.1f}-60.0 months" in md


def test_months_held_with_relapses_keep_their_resampled_interval(tmp_path):
    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, _never_relapses, 6))
    r = res.value("crowded", "rmst")
    assert r["note"] == "" and r["low"] < r["estimate"] < r["high"] < 60


def _gain_sentence(res):
    from peacesim.comparison_report import _pairing_gain

    return _pairing_gain(res)


@pytest.mark.parametrize("paired, unpaired, expected", [
    ((1.0, 3.0), (0.0, 8.0), "is 4.0 times narrower than if each strategy had run on seeds of its own"),
    ((1.0, 3.0), (0.98, 3.02), "did not narrow"),
    ((0.0, 4.0), (1.0, 3.0), "did not narrow"),
])
def test_what_pairing_bought_is_not_called_narrower_where_it_is_not(tmp_path, paired, unpaired, expected):
    """The report said '1.0 times narrower' where the paired interval was as wide as the unpaired
    one, and '0.5 times narrower' where it was wider."""
    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, _never_relapses, 6))
    assert res.best == "verified"
    d = res.differences
    at = (d["strategy"] == "verified") & (d["measure"] == spec.rank_by)
    d.loc[at, ["low", "high"]] = paired
    d.loc[at, ["unpaired_low", "unpaired_high"]] = unpaired
    d.loc[at, "bound"] = ""  # (verification's months held are fixed in these runs: nothing would be said)
    said = _gain_sentence(res)
    assert expected in said, said
    assert ("times narrower" in said) == (expected.endswith("seeds of its own")), said
    if "did not narrow" in said:
        wider = (unpaired[1] - unpaired[0]) < (paired[1] - paired[0])
        assert ("wider than" in said) == wider and ("about as wide as" in said) != wider, said


def test_the_findings_read_for_one_strategy_against_the_baseline_and_one_world(tmp_path):
    """Two strategies, no uncertain conditions: not 'each of the 1 strategy', nor 'in each of the
    1 world'."""
    from peacesim.comparison_report import build_document

    a = NO_WORLDS.index("[strategy.verified]")
    spec = _spec(tmp_path, NO_WORLDS[:a], seeds=6)
    res = analyse(spec, _fabricated(spec, _never_relapses, 6))
    md = build_document(res).markdown()
    findings = md[md.index("## Findings\n"):md.index("## Figures\n")]
    assert "each of the 1 " not in findings and "of the 1 world" not in findings
    assert "Every strategy ran on the same 6 seeds, so each comparison is like for like" in findings
    assert "with one strategy compared with the baseline there are no other comparisons" in findings
    assert not math.isnan(float(res.difference("crowded", "rmst")["difference"]))


def test_a_small_difference_in_words_is_not_printed_as_zero():
    """An interval ending just above zero read '0.021 lower to 0.000 higher', as if it ended at zero;
    the tables' cells already said '+0.0003'."""
    from peacesim.comparison_report import fmt_difference, fmt_difference_interval

    assert fmt_difference_interval("violence", -0.0211, 0.000318) == "0.021 lower to 0.0003 higher"
    assert fmt_difference("rmst", 0.02) == "0.02 months more"
    assert fmt_difference("months_to_agreement", -0.04) == "0.04 months sooner"
    assert fmt_difference("violence", -0.0123) == "0.012 lower" and fmt_difference("rmst", -3.24) == "3.2 months less"


def test_a_difference_with_a_value_no_redraw_varies_allows_for_its_exact_bound(tmp_path):
    """Under 'verified' no agreement relapses, so every re-draw gives it 60 months held: the
    re-drawn differences carried none of that value's uncertainty, and 27.5 months more than
    'crowded' read as clear (20.8 to 34.2 months), although the 60 months rest on six seeds (the
    table's bound is 32.4-60.0, and crowded's interval reaches 39.2). The interval now reaches from
    one strategy's interval to the other's, and the sentence says why. Against the baseline (at
    most 21.5 months) the interval stays above zero; so does that of the share surviving five
    years, 100% against the baseline's 0% (each with its exact bound): the bounds do not overlap.
    (Six runs of each strategy are too few for either to be clear among two comparisons.)"""
    from peacesim.comparison_report import finding

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, _never_relapses, 6))
    t = res.table.set_index(["strategy", "measure"])
    pw = res.pairwise.set_index(["strategy", "versus", "measure"])
    r = pw.loc[("crowded", "verified", "rmst")]
    assert r["bound"] == "verified"
    assert r["high"] >= t.loc[("crowded", "rmst"), "high"] - t.loc[("verified", "rmst"), "low"] - 1e-9
    assert r["low"] < 0 < r["high"] and not r["clear"]
    bvr = res.best_vs_runner.set_index("measure").loc["rmst"]
    assert res.runner_up == "crowded" and bvr["bound"] == "verified" and not bvr["clear"]
    said = finding(res, "rmst", "verified", "crowded", bvr)
    assert "not a clear difference (the interval includes zero)" in said
    assert "under verification the value was the same in every re-draw" in said and "exact bound" in said
    d = res.differences.set_index(["strategy", "measure"])
    b = d.loc[("verified", "rmst")]
    # the interval excludes zero; six runs of each strategy support p = 2 / 2^6 at the least, which
    # Holm's correction for two comparisons takes above 0.05 (test_compare_findings: a handful of runs)
    assert b["bound"] == "verified" and b["low"] > 0 and b["p"] == b["least_p"] == 2 / 2 ** 6 and not b["clear"]
    s = d.loc[("verified", "survival")]
    assert s["bound"] == "verified as_is"  # 100% against 0%, neither varied by any re-draw
    assert s["low"] == pytest.approx(t.loc[("verified", "survival"), "low"] - t.loc[("as_is", "survival"), "high"])
    assert s["low"] > 0 and s["p"] == s["least_p"] and not s["clear"]
    c = d.loc[("crowded", "violence")]  # the same in every run: no difference, nothing widened
    assert c["bound"] == "" and c["low"] == c["high"] == 0.0
    from peacesim.comparison_report import build_document

    md = build_document(res).markdown()  # the table of differences says its intervals are not all paired only
    assert "where a strategy's value was the same in every re-draw, the interval allows for its exact bound" in md


def _nearly_tied(key, r):
    """'verified' never relapses; 'crowded' relapses only late, in half the seeds; the baseline soon."""
    if key == "verified":
        return True, 120, False
    if key == "crowded":
        return True, (55 + r) if r % 2 == 0 else 120, r % 2 == 0
    return True, 10 + 3 * r, True


def test_a_lead_resting_on_a_value_no_redraw_varies_is_not_called_ranked_first(tmp_path):
    """'verified' comes first in nearly every re-draw because its value (60 months held, no
    relapse) never varies; against the runner-up that lead is not clear once its exact bound is
    allowed for, so the answer does not call it ranked first."""
    from peacesim.comparison_report import build_document, headline

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, _nearly_tied, 6))
    assert res.best == "verified" and res.runner_up == "crowded"
    assert res.rank_probability["verified"] >= 0.95
    bvr = res.best_vs_runner.set_index("measure").loc["rmst"]
    assert bvr["bound"] == "verified" and not bvr["clear"]
    line = headline(res)
    assert line.startswith("No strategy is clearly first: ") and "exact bound" in line, line
    assert "Ranked first" not in build_document(res).markdown()


@pytest.mark.parametrize("rank_by, side", [("violence", "left"), ("rmst", "right")])
def test_the_figure_of_differences_says_which_side_of_zero_is_better(tmp_path, rank_by, side):
    """Violence minus the baseline's: below zero is better, which neither the figure nor its caption
    said (the reader of a figure of 'months held' learns the opposite)."""
    from peacesim.comparison_report import build_document, differences_figure

    text = NO_WORLDS.replace("master_seed = 7\n", f'master_seed = 7\nrank_by = "{rank_by}"\n')
    spec = _spec(tmp_path, text, seeds=6)
    res = analyse(spec, _fabricated(spec, _never_relapses, 6))
    md = build_document(res).markdown()
    assert f"minus 'The reference process' ({side} of zero: the strategy does better than the baseline)" in md
    assert differences_figure(res).axes[0].get_title().endswith(f"{side} of zero is better")


def test_sizes_given_with_a_loaded_comparison_are_refused_not_ignored(tmp_path):
    """compare(spec, seeds=20) ran the spec's own 6 seeds and said nothing: the 20 were ignored."""
    import peacesim
    from peacesim.errors import InputError

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"^seeds=20 given with a comparison already loaded \(6 seeds, 1 world\)"):
        peacesim.compare(spec, seeds=20, out=out, executor="serial", progress=False)
    assert not out.exists()  # refused before anything was written


INTEGER_WORLDS = NO_WORLDS.replace("master_seed = 7\n", "master_seed = 1\nworlds = 4\n") + """
[uncertain]
handover_overlap = [0, 2]
relapse_months = [1, 3]
"""


def test_whole_number_conditions_that_allow_the_worlds_are_not_refused(tmp_path):
    """Four worlds of two whole-number conditions with 3 x 3 = 9 combinations: with master seed 1
    the Latin hypercube repeated a world, and the file was refused as asking for 'more than the
    distinct combinations' allow, which it did not. The sample is drawn again instead; a sample
    without repeats (master seed 2) is the one it always was."""
    import numpy as np

    from peacesim import paired
    from peacesim.comparison import LHS_STREAM
    from peacesim.errors import InputError

    spec = _spec(tmp_path, INTEGER_WORLDS)
    worlds = spec.world_values()
    assert len({tuple(sorted(w.items())) for w in worlds}) == 4 == spec.worlds
    for c in spec.conditions:  # still a Latin hypercube sample of whole values in the ranges
        assert all(c.low <= w[c.name] <= c.high and w[c.name] == int(w[c.name]) for w in worlds)
    assert len(spec.experiment().design) == 4 * len(spec.strategies)
    other = _spec(tmp_path, INTEGER_WORLDS.replace("master_seed = 1\n", "master_seed = 2\n"))
    u = paired.latin_hypercube(4, 2, np.random.default_rng(np.random.SeedSequence([2, LHS_STREAM])))
    assert other.world_values() == [{c.name: c.value(u[w, j]) for j, c in enumerate(other.conditions)}
                                    for w in range(4)]
    with pytest.raises(InputError, match=r"comparison\.worlds = 10 is more than the 9 distinct combinations"):
        _spec(tmp_path, INTEGER_WORLDS.replace("worlds = 4\n", "worlds = 10\n"))
    with pytest.raises(InputError, match=r"^--worlds 12 is more than the 9 distinct combinations"):
        _spec(tmp_path, INTEGER_WORLDS, worlds=12)


def test_a_condition_that_is_not_a_range_is_refused_in_words_that_read(tmp_path):
    """'expected [low, high], two numbers within a number from 0 to 1' did not read."""
    from peacesim.errors import InputError

    text = SMALL.replace("forum_shopping = [0.1, 0.5]", 'forum_shopping = "wide"')
    with pytest.raises(InputError, match=r"uncertain\.forum_shopping = 'wide' is not allowed; expected \[low, high\], "
                                         r"each a number from 0 to 1$"):
        _spec(tmp_path, text)


def test_trends_over_fewer_compared_worlds_than_the_search_needs_are_not_reported(tmp_path):
    """Ten worlds sampled, the ranking measure comparable in only nine: the report said 'too few to
    search for conditions' and then reported the trends over those nine worlds all the same."""
    from test_compare import _fabricated_worlds, _ranked

    from peacesim.comparison import MIN_WORLDS_DISCOVERY
    from peacesim.comparison_report import build_document, trend_sentences

    spec = _spec(tmp_path, SMALL, seeds=6, worlds=MIN_WORLDS_DISCOVERY)
    res = analyse(spec, _fabricated_worlds(spec, _ranked, 6))
    heading = "rank correlation with the lead of"
    assert trend_sentences(res) and heading in build_document(res).markdown()  # ten worlds compared: reported
    res.trends["worlds"] = MIN_WORLDS_DISCOVERY - 1  # as if one world could not be compared
    assert trend_sentences(res) == []
    assert heading not in build_document(res).markdown()


def test_a_broken_scenario_is_named_from_the_field_that_points_to_it(tmp_path):
    """A comparison whose scenario file is broken was refused naming only the scenario file, not
    the comparison file nor its field."""
    from peacesim.errors import InputError

    (tmp_path / "broken.toml").write_text('[scenario]\ntitle = 5\n', encoding="utf-8")
    text = SMALL.replace('scenario = "reference"', 'scenario = "broken.toml"')
    with pytest.raises(InputError) as err:
        _spec(tmp_path, text)
    said = str(err.value)
    assert said.startswith(f"{tmp_path / 'c.toml'}: comparison.scenario = 'broken.toml': "), said
    assert said.endswith("scenario.title = 5 must be a text") and "\n" not in said
