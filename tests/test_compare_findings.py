"""``peacesim compare``: sentences of the report and the differences behind them, on results made
by hand (no model runs) and analysed as a comparison would be."""

from __future__ import annotations

from test_compare import NO_WORLDS, _fabricated, _spec, _tied

from peacesim.comparison import analyse


def test_a_tie_on_the_ranking_measure_reads_as_a_sentence(tmp_path):
    """The tie was said as 'gave the same the average months an agreement holds ...'."""
    from peacesim.comparison_report import headline

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    line = headline(analyse(spec, _fabricated(spec, _tied, 12)))
    assert "the same the " not in line, line
    assert "gave the same value of the average months an agreement holds in its first five years (" in line, line


def _both_hold(key, r):
    """No agreement of 'verified' or of 'crowded' relapses, but their agreements differ ('crowded'
    signs in half the seeds only and is followed for other lengths); the baseline's relapse."""
    if key == "verified":
        return True, 120, False
    if key == "crowded":
        return r % 2 == 0, 90 + r, False
    return True, 10 + 3 * r, True


def test_two_values_no_redraw_varies_are_not_said_to_be_the_same_in_every_run(tmp_path):
    """Both strategies hold 60 months of 60 in every re-draw because none of their agreements
    relapsed, not because their runs were alike: the difference was reported as 'no difference in
    any resample: the two strategies gave the same value in every run', with an interval 0 to 0.
    It allows for both exact bounds instead, as a difference with one such value does."""
    from peacesim.comparison_report import build_document

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, _both_hold, 6))
    t = res.table.set_index(["strategy", "measure"])
    pw = res.pairwise.set_index(["strategy", "versus", "measure"])
    for m in ("rmst", "survival"):
        r = pw.loc[("crowded", "verified", m)]
        assert r["difference"] == 0.0
        assert r["note"] == "", r["note"]
        assert r["bound"] == "crowded verified"
        assert r["low"] == t.loc[("crowded", m), "low"] - t.loc[("verified", m), "high"] < 0
        assert r["high"] == t.loc[("crowded", m), "high"] - t.loc[("verified", m), "low"] > 0
        assert not r["clear"]
    md = build_document(res).markdown()
    said = [line for line in md.splitlines() if "of its first five years (95% interval" in line]
    assert said and not [line for line in said if "same value in every run" in line], said


def test_strategies_with_the_same_runs_still_have_no_difference_in_any_resample(tmp_path):
    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, lambda key, r: (True, 120, False) if key != "as_is"
                                    else (True, 10 + 3 * r, True), 6))
    r = res.pairwise.set_index(["strategy", "versus", "measure"]).loc[("crowded", "verified", "rmst")]
    assert r["note"].startswith("no difference in any resample") and r["bound"] == ""
    assert r["low"] == r["high"] == 0.0
