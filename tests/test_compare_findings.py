"""``peacesim compare``: sentences of the report and the differences behind them, on results made
by hand (no model runs) and analysed as a comparison would be."""

from __future__ import annotations

from test_compare import NO_WORLDS, SMALL, _fabricated, _fabricated_worlds, _ranked, _spec, _tied

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


def _beyond_edges(fig):
    """How far (in inches) what a figure draws reaches beyond its edges: left, bottom, right, top."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.canvas.draw()
    drawn = fig.get_tightbbox(fig.canvas.get_renderer())
    w, h = fig.get_size_inches()
    return [round(max(0.0, v), 2) for v in (-drawn.x0, -drawn.y0, drawn.x1 - w, drawn.y1 - h)]


def _relapsing(key, r):
    return True, {"as_is": 10, "crowded": 20, "verified": 30}[key] + 3 * r, r % 2 == 0


def test_the_figures_keep_their_words_inside_them_with_long_strategy_titles(tmp_path):
    """With a strategy titled as long as the shipped 'A contact group around one facilitator
    (Mindanao)', the title of the figure of differences ran off its right edge ('right of
    zero is bette'); a longer title squeezed the plot out of the figure."""
    from peacesim.comparison_report import differences_figure, km_figure, measures_figure, worlds_figure

    for title in ("A contact group around one facilitator (Mindanao)",
                  "Verification, long grants, a lead mediator named by every party and local mechanisms "
                  "linked to the talks from the first month"):
        text = NO_WORLDS.replace('title = "Verification and long grants"', f'title = "{title}"')
        spec = _spec(tmp_path, text, seeds=6)
        res = analyse(spec, _fabricated(spec, _relapsing, 6))
        worlds = _spec(tmp_path, SMALL.replace('title = "Verification and long grants"', f'title = "{title}"'),
                       seeds=6, worlds=12)
        res_worlds = analyse(worlds, _fabricated_worlds(worlds, _ranked, 6))
        assert res_worlds.best == "verified"
        for fig in (differences_figure(res), measures_figure(res), km_figure(res), worlds_figure(res_worlds)):
            assert _beyond_edges(fig) == [0, 0, 0, 0], (title, fig.axes[0].get_title())


def test_a_lead_that_is_the_scenarios_own_is_named_as_such(tmp_path):
    """A strategy whose only change is the scenario's own lead was refused as 'the same changes as
    strategy.as_is' without saying why; beside a real change it was described as a change."""
    import pytest

    from peacesim.errors import InputError

    own = ('\n[strategy.own_lead]\ntitle = "The envoy leads"\ndescription = "-"\nsource = "-"\n'
           'lead = "the UN envoy"\n')
    with pytest.raises(InputError, match=r"strategy\.own_lead makes the same changes as strategy\.as_is \(lead = "
                                         r"'the UN envoy' is the scenario's own value\); each strategy must differ"):
        _spec(tmp_path, NO_WORLDS + own)
    spec = _spec(tmp_path, NO_WORLDS + own + "grant_length = 24\n")
    assert spec.strategy("own_lead").changes[0] == "the UN envoy leads the coordinated process (as in the scenario)"
    assert spec.strategy("verified").changes[0] == "the mediation NGO leads the coordinated process"


def test_a_strategy_name_with_an_accent_is_refused_saying_which_letters_are_allowed(tmp_path):
    """'négociation' is a word of letters, which the refusal said were allowed."""
    import pytest

    from peacesim.errors import InputError

    text = NO_WORLDS + ('\n[strategy."négociation"]\ntitle = "Négociation à Genève"\ndescription = "-"\n'
                        'source = "-"\ngrant_length = 24\n')
    with pytest.raises(InputError) as err:
        _spec(tmp_path, text)
    said = str(err.value)
    assert "strategy name 'négociation' is not allowed" in said and "a-z and A-Z without accents" in said
    assert "\n" not in said
    spec = _spec(tmp_path, text.replace('[strategy."négociation"]', "[strategy.negociation]"))
    assert spec.strategy("negociation").title == "Négociation à Genève"


def _two_seeds(key, r):
    """Every strategy signs in both seeds; 'verified' holds longer in both (no run of it relapses
    before the baseline's)."""
    return True, {"as_is": 10, "crowded": 12, "verified": 30}[key] + 3 * r, True


def test_two_seeds_cannot_make_a_difference_clear(tmp_path):
    """With two seeds in one world, every re-draw of a difference that has the same sign in both
    seeds has that sign: the interval missed zero, p was 0.007 (0.001 with 2,000 re-draws) and the
    difference was called clear, and the strategy ranked first, on two random courses of events.
    No test over two runs can tell that from chance (flipping the signs of their differences gives
    p = 0.5 at the least): p is at least 2 / 2^runs, and the report says why."""
    from peacesim.comparison_report import build_document, finding, headline

    spec = _spec(tmp_path, NO_WORLDS, seeds=2)
    res = analyse(spec, _fabricated(spec, _two_seeds, 2))
    assert res.best == "verified" and res.rank_probability["verified"] == 1.0
    line = headline(res)
    assert line.startswith("No strategy is clearly first: ") and "only 2 runs of each strategy" in line, line
    d = res.differences.set_index(["strategy", "measure"]).loc[("verified", "months_to_agreement")]
    assert d["difference"] == 0.0  # the same months to agreement: nothing to say there
    r = res.differences.set_index(["strategy", "measure"]).loc[("verified", "rmst")]
    assert r["low"] > 0  # every re-draw puts 'verified' ahead
    assert r["p"] == 0.5 and not r["clear"]
    said = finding(res, "rmst", "verified", "as_is", r)
    assert "not a clear difference" in said and "only 2 runs of each strategy" in said, said
    assert "only just misses zero" not in said
    md = build_document(res).markdown()
    assert not [line for line in md.splitlines() if line.startswith("|") and "✓" in line]
    assert not [line for line in md.splitlines() if line.startswith("- ") and ", a clear difference" in line]


def test_enough_seeds_keep_the_resampled_p_value(tmp_path):
    import pytest

    from peacesim.comparison_report import headline

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    res = analyse(spec, _fabricated(spec, _two_seeds, 12))
    assert headline(res).startswith("Ranked first: verification")
    r = res.differences.set_index(["strategy", "measure"]).loc[("verified", "rmst")]
    assert r["p"] == pytest.approx(2 / (spec.bootstrap + 1)) and r["least_p"] < r["p"] and r["clear"]


def test_too_few_months_are_refused_naming_the_months_as_typed(tmp_path):
    """months = 30 was refused as 'comparison.horizon_months = 60 is not shorter than ...', a field
    the file did not have."""
    import pytest

    from peacesim.errors import InputError

    with pytest.raises(InputError) as err:
        _spec(tmp_path, NO_WORLDS.replace("months = 240\n", "months = 30\n"))
    said = str(err.value)
    assert "comparison.months = 30 is not allowed" in said and "horizon_months" in said and "60" in said, said
    with pytest.raises(InputError, match=r"comparison\.horizon_months = 36 is not shorter than the horizon of the runs"):
        _spec(tmp_path, NO_WORLDS.replace("months = 240\n", "months = 30\nhorizon_months = 36\n"))


def _worlds_covered_by_the_legend(fig):
    """The worlds (points) of the worlds figure drawn under its legend."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legends = [lg for lg in [ax.get_legend(), *fig.legends] if lg is not None]
    assert legends
    boxes = [lg.get_window_extent(renderer) for lg in legends]
    covered = []
    for col in ax.collections:
        for x, y in ax.transData.transform(np.asarray(col.get_offsets(), dtype=float)):
            covered += [(x, y) for b in boxes if b.x0 <= x <= b.x1 and b.y0 <= y <= b.y1]
    return covered


def test_the_legend_of_the_worlds_figure_hides_no_world(tmp_path):
    """With the legend inside the plot, a world of the shipped fragile_implementation comparison
    (10 worlds) was drawn under it; with 100 worlds several were."""
    from peacesim.comparison_report import worlds_figure

    spec = _spec(tmp_path, SMALL, seeds=3, worlds=100)
    res = analyse(spec, _fabricated_worlds(spec, _ranked, 3))
    fig = worlds_figure(res)
    assert _worlds_covered_by_the_legend(fig) == []
    assert _beyond_edges(fig) == [0, 0, 0, 0]


def test_a_share_that_is_not_every_run_is_not_printed_as_100_percent():
    """199 runs of 200 reaching an agreement were printed '100% (95% interval 97-100%)', beside
    strategies under which every run did (100%, with its exact bound) and in sentences such as
    'came first in 100% of the re-draws'."""
    from peacesim.comparison_report import _pct, fmt_interval, fmt_value

    assert fmt_value("agreement", 0.995) == "99.5%"
    assert fmt_value("agreement", 1.0) == "100%" and fmt_value("agreement", 0.0) == "0%"
    assert fmt_value("durable", 0.004) == "0.4%"
    assert fmt_value("agreement", 0.9996) == "99.96%"
    assert fmt_value("agreement", 0.58) == "58%"
    assert fmt_interval("agreement", 0.97, 0.999) == "97-99.9%"
    assert fmt_interval("agreement", 0.97, 1.0) == "97-100%"
    assert _pct(0.9995) == "99.95%" and _pct(0.95) == "95%"


def test_a_comparison_without_uncertain_conditions_says_so_once(tmp_path):
    """'No uncertain conditions were sampled.' was followed by the same words again as the first
    line of the list below it."""
    from peacesim.comparison_report import build_document

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    res = analyse(spec, _fabricated(spec, _two_seeds, 12))
    assert res.best == "verified"
    md = build_document(res).markdown()
    section = md.split("## When the ranking would change")[1].split("\n## ")[0]
    assert section.count("No uncertain conditions were sampled") == 1, section
    assert "the comparison holds for the scenario as written" in section


def test_how_to_read_says_that_a_handful_of_runs_ranks_nothing_first(tmp_path):
    """'How to read this report' gave the conditions for 'ranked first' without the one about a
    handful of runs, which the answer applies."""
    from peacesim.comparison_report import build_document

    spec = _spec(tmp_path, NO_WORLDS, seeds=2)
    md = build_document(analyse(spec, _fabricated(spec, _two_seeds, 2))).markdown()
    reading = md.split("## How to read this report")[1].split("\n## ")[0]
    assert "nor where there were five runs of each strategy or fewer" in reading


def _late(key, r):
    """'verified' signs late: its agreements are still holding when their runs end, after 30 months."""
    if key == "verified":
        return True, 30, False
    return True, 10 + 3 * r, True


def test_the_column_of_agreements_holding_five_years_says_how_a_late_agreement_counts(tmp_path):
    """An agreement signed less than five years before its run ended, still holding, counts as not
    having held five years; the column's description did not say so."""
    from peacesim.comparison_report import build_document

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    res = analyse(spec, _fabricated(spec, _late, 6))
    assert res.value("verified", "durable")["estimate"] == 0.0
    md = build_document(res).markdown()
    assert ("agreement holds five years: the share of all runs in which an agreement is signed and then holds five "
            "years within the 240 months simulated (one signed less than five years before the end of its run counts "
            "as not having held, as that could not be seen)") in md


def test_the_unpaired_interval_allows_for_an_exact_bound_as_the_paired_one_does(tmp_path):
    """Verification's agreements never relapse (100% surviving, the same in every re-draw): the
    paired interval of its difference from the baseline allows for the exact bound (47 to 100
    percentage points), but the unpaired one was 100 to 100, drawn in the figure of differences as
    a thin line narrower than the thick bar it is said to be wider than."""
    from peacesim.comparison_report import build_document

    text = NO_WORLDS.replace("master_seed = 7\n", 'master_seed = 7\nrank_by = "survival"\n')
    spec = _spec(tmp_path, text, seeds=12)
    from test_compare_statements import _never_relapses

    res = analyse(spec, _fabricated(spec, _never_relapses, 12))
    d = res.differences.set_index(["strategy", "measure"])
    for k in ("verified", "crowded"):
        r = d.loc[(k, "survival")]
        assert r["bound"]
        assert r["unpaired_low"] <= r["low"] and r["unpaired_high"] >= r["high"], r
    md = build_document(res).markdown()
    assert "where a strategy's value was the same in every re-draw, both allow for its exact bound" in md


def _full_disk_at(name, monkeypatch):
    """Make writing the analysis file ``name`` fail as on a full disk."""
    import errno

    from peacesim import comparison

    real = comparison._stage

    def stage(path, data):
        if path.name.startswith(f".{name}."):
            raise OSError(errno.ENOSPC, "No space left on device")
        real(path, data)

    monkeypatch.setattr(comparison, "_stage", stage)


def test_a_full_disk_while_the_analysis_is_written_leaves_the_earlier_one_whole(tmp_path, monkeypatch):
    """The tables were put in place one by one, so a full disk at report.html left new tables
    beside the old report, which the documentation says cannot happen."""
    import pytest

    from peacesim.comparison import write_outputs
    from peacesim.errors import StorageError

    out = tmp_path / "out"
    out.mkdir()
    write_outputs(out, {"summary.csv": "old", "report.md": "old", "report.html": "old"})
    _full_disk_at("report.html", monkeypatch)
    with pytest.raises(StorageError, match="report.html: cannot write: No space left on device"):
        write_outputs(out, {"summary.csv": "new", "report.md": "new", "report.html": "new"})
    assert {p.name: p.read_text() for p in out.iterdir()} == {"summary.csv": "old", "report.md": "old",
                                                               "report.html": "old"}


def test_a_full_disk_after_the_runs_says_they_are_saved_and_what_to_do(tmp_path, monkeypatch, capsys):
    from peacesim import cli

    text = NO_WORLDS.replace("seeds = 8\n", "seeds = 2\n").replace("months = 240\n", "months = 72\n")
    path = tmp_path / "c.toml"
    path.write_text(text)
    _full_disk_at("report.html", monkeypatch)
    out = tmp_path / "out"
    assert cli.main(["compare", str(path), "--out", str(out), "--quiet", "--executor", "serial"]) != 0
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert "report.html: cannot write: No space left on device" in err
    assert f"all 6 runs are saved in {out / 'runs'}" in err and "free some space and run the same command again" in err
    assert not (out / "summary.csv").exists()  # nothing of the analysis put in place


def test_an_unknown_actor_is_refused_with_every_name_and_the_likely_one(tmp_path):
    """In a scenario with many actors the list of allowed names was cut after 300 characters
    ("'the... (560 characters)"), so the name needed could not be read off it."""
    import pytest

    from peacesim.errors import InputError

    text = NO_WORLDS.replace("[strategy.verified.actor.\"the regional organisation\"]",
                             "[strategy.verified.actor.\"the regional organsation\"]")
    assert text != NO_WORLDS
    with pytest.raises(InputError) as err:
        _spec(tmp_path, text)
    said = str(err.value)
    assert "'the regional organsation' is not an actor of the scenario (did you mean 'the regional organisation'?)" \
        in said, said
    assert "characters)" not in said and "\n" not in said
    from peacesim.scenario import load_scenario

    for entries in load_scenario("reference").actors.values():
        for a in entries:
            assert repr(a["name"]) in said


def test_every_actor_of_a_large_scenario_is_listed_when_one_is_unknown(tmp_path):
    import pytest

    from peacesim.errors import InputError
    from peacesim.scenario import load_scenario

    text = ('[comparison]\ntitle = "t"\nquestion = "q"\nscenario = "contact_group"\nbaseline = "as_is"\nseeds = 4\n'
            'master_seed = 1\n\n[strategy.as_is]\ntitle = "As it is"\ndescription = "-"\nsource = "-"\n\n'
            '[strategy.gulf]\ntitle = "Gulf"\ndescription = "-"\nsource = "-"\n'
            '[strategy.gulf.actor."the Gulf state"]\nrole = "supportive"\n')
    with pytest.raises(InputError) as err:
        _spec(tmp_path, text)
    said = str(err.value)
    assert "(did you mean 'the Gulf contact-group state'?)" in said, said
    assert "characters)" not in said
    names = [a["name"] for entries in load_scenario("contact_group").actors.values() for a in entries]
    assert len(", ".join(map(repr, names))) > 300
    assert all(repr(n) in said for n in names)
