"""``peacesim compare``: the words of report.md, on results made by hand (no model runs)."""

from __future__ import annotations

import re

import pytest

from test_compare import NO_WORLDS, _fabricated, _ranked, _spec

from peacesim.comparison import analyse


def _one_world(key, r):
    return _ranked(key, r, 0)


def _thin_baseline(key, r):
    """The baseline signs one agreement, in one seed of twelve: too few to measure its durability."""
    return (r < 1, 30, True) if key == "as_is" else _ranked(key, r, 0)


def test_a_comparison_without_uncertain_conditions_speaks_of_seeds_not_of_worlds(tmp_path):
    """Without [uncertain] conditions there is one world: the report said that the worlds and seeds
    were drawn again ('2,000 re-draws of the simulated worlds and seeds'), that the pigeonhole
    bootstrap draws the worlds again, that the boxes are read from '1 sampled worlds', '3 strategies
    x 1 worlds', and the note of a measure with too few agreements '... of the resamples of worlds
    and seeds ... and 1 of the 1 worlds'."""
    from peacesim.comparison_report import build_document, headline

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    assert spec.worlds == 1
    for outcome in (_one_world, _thin_baseline):
        res = analyse(spec, _fabricated(spec, outcome, 12))
        md = build_document(res).markdown()
        for wrong in ("worlds and seeds", "worlds and the seeds", "1 worlds", "of the 1 worlds", "in every world",
                      "sampled worlds", "worlds, where there are fewer"):
            assert wrong not in md, (wrong, [line for line in md.splitlines() if wrong in line])
        assert "3 strategies x 1 world x 12 seeds" in md
        assert "when the seeds were drawn again" in md
    res = analyse(spec, _fabricated(spec, _one_world, 12))
    assert re.search(r"came first in \d+% of 300 re-draws of the seeds\.$", headline(res)), headline(res)
    res = analyse(spec, _fabricated(spec, _thin_baseline, 12))
    note = res.value("as_is", "rmst")["note"]
    assert note == ("too few agreements to measure: in 36% of the resamples of the seeds none was signed or none was "
                    "followed for five years (1 agreement in 1 of the 12 seeds, 0 of them followed for five years)")


def test_a_comparison_with_worlds_still_speaks_of_worlds_and_seeds(tmp_path):
    from peacesim.comparison_report import build_document

    from test_compare import SMALL, _fabricated_worlds

    spec = _spec(tmp_path, SMALL, seeds=12)
    res = analyse(spec, _fabricated_worlds(spec, _ranked, 12))
    md = build_document(res).markdown()
    assert "when the worlds and seeds were drawn again" in md
    assert "3 strategies x 5 worlds x 12 seeds" in md
    assert "The pigeonhole bootstrap (Owen 2007) draws the worlds and the seeds again" in md
    assert "The best strategy and the runner-up are picked from these same runs" in md  # (ranked: both named)


_HOSTILE = (NO_WORLDS
            .replace('title = "Small comparison"', 'title = "Small <b>comparison</b> &amp; [more](http://example.com)"')
            .replace('title = "Every mediator on its own"',
                     'title = "<script>alert(1)</script> <b>x</b> every mediator on its own"')
            .replace('short = "every mediator on its own"', 'short = "*each* mediator_ on its ~~own~~"')
            .replace('description = "No coordination."',
                     'description = """# No coordination ![t](http://example.com/t.png) `code` $x$\n> quoted\n"""')
            .replace('source = "seed 003, Challenge 1"', 'source = "1. seed 003 <!-- hidden --> &#60;i&#62;"'))


def test_user_text_in_report_md_is_shown_as_written_not_as_markup(tmp_path):
    """Titles, the question, descriptions and sources went into report.md as typed, so a title
    '<script>alert(1)</script> <b>x</b>' was a script and bold text for a Markdown viewer, a
    description '![t](http://...)' an image fetched from the network, and a source '1. ...' a
    numbered list. Each is escaped now and reads as written; report.html escaped them already."""
    from peacesim.comparison_report import build_document, md_text

    spec = _spec(tmp_path, _HOSTILE, seeds=12)
    res = analyse(spec, _fabricated(spec, _one_world, 12))
    doc = build_document(res)
    md = doc.markdown()
    for markup in ("<script>", "<b>", "](http", "<!--", "&amp;", "&#60;"):
        assert not re.search(r"(?<!\\)" + re.escape(markup), md), markup  # (escaped: '\\<b>')
    assert "### \\<script>alert(1)\\</script> \\<b>x\\</b> every mediator on its own" in md
    assert "\\*each\\* mediator\\_ on its \\~\\~own\\~\\~" in md
    assert "\\# No coordination !\\[t\\](http://example.com/t.png) \\`code\\` \\$x\\$ > quoted" in md
    assert "Source: 1. seed 003 \\<!-- hidden --> \\&#60;i\\&#62;" in md
    assert md.startswith("# Small \\<b>comparison\\</b> \\&amp; \\[more\\](http://example.com)\n")
    markdown_it = pytest.importorskip("markdown_it")
    page = markdown_it.MarkdownIt("commonmark").enable("table").enable("strikethrough").render(md)
    for markup in ("<script", "<b>", "<em>each", "<s>", "<a ", "<code>alert", "<blockquote", "<ol", "<!--"):
        assert markup not in page, markup
    assert [m for m in re.findall(r'<img src="([^"]*)"', page) if not m.startswith("figures/")] == []
    # what a reader sees is what was typed
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;x&lt;/b&gt; every mediator on its own" in page
    assert "*each* mediator_ on its ~~own~~" in page
    assert "Source: 1. seed 003 &lt;!-- hidden --&gt; &amp;#60;i&amp;#62;" in page
    # plain words, and the report's own marks, are left alone
    for plain in ("Under verification, 100% of runs reach an agreement", "58.1 (50.0-60.0) *", "p < 0.001",
                  "rank_by", "McKay, Beckman & Conover 1979"):
        assert md_text(plain) == plain


def test_a_command_holding_backquotes_stays_inside_its_code_block(tmp_path):
    from peacesim.comparison_report import Doc

    doc = Doc("t")
    doc.code("peacesim compare 'a```b.toml'")
    md = doc.markdown()
    assert "````\npeacesim compare 'a```b.toml'\n````" in md


def test_one_uncertain_condition_is_not_said_to_be_allowed_for_as_many(tmp_path):
    """With one uncertain condition the report said 'after allowing for the 1 condition examined'
    and 'adjusted for the 1 condition examined (Holm's correction)': there is nothing to allow for."""
    from test_compare import SMALL, _bad, _fabricated_worlds

    from peacesim.comparison_report import build_document, trend_sentences

    spec = _spec(tmp_path, _bad(SMALL, "spoiler = { capacity = [0.1, 0.5] }\n", ""), seeds=12, worlds=12)
    res = analyse(spec, _fabricated_worlds(spec, _ranked, 12))
    md = build_document(res).markdown()
    assert "1 condition" not in md, [line for line in md.splitlines() if "1 condition" in line]
    assert trend_sentences(res) == ["The monthly chance that a party facing a hard moment moves to another table does "
                                    "not clearly go with a larger or smaller lead of verification over every mediator "
                                    "on its own."]
    assert "| condition | rank correlation with the lead of verification | p |" in md
    assert "(only one condition could be examined, so there is nothing to adjust for)" in md


def test_a_short_name_with_a_capital_article_reads_in_lower_case_inside_sentences(tmp_path):
    """short = "The contact group" read 'Under verification, ... against ... under The contact group'."""
    from test_compare import SMALL, _bad

    spec = _spec(tmp_path, _bad(SMALL, 'short = "every mediator on its own"', 'short = "The mediators on their own"'))
    assert spec.strategy("crowded").called == "the mediators on their own"
    assert spec.strategy("verified").called == "verification"
    assert spec.strategy("as_is").called == "the reference process"  # from its title


def test_a_condition_in_months_is_given_with_its_unit(tmp_path):
    """'length of a project grant' ranged '6 to 48', and a box said it 'is at least 24', with no
    word of what: months."""
    from types import SimpleNamespace

    from test_compare import SMALL, _bad, _fabricated_worlds

    from peacesim.comparison_report import _limit_words, build_document

    spec = _spec(tmp_path, _bad(SMALL, "spoiler = { capacity = [0.1, 0.5] }", "gap_months = [1, 9]"), seeds=4)
    res = analyse(spec, _fabricated_worlds(spec, _ranked, 4))
    md = build_document(res).markdown()
    gap = next(c for c in spec.conditions if c.name == "gap_months")
    assert f"| {gap.label} | 1 to 9 months |" in md
    assert "| 0.1 to 0.5 |" in md  # a share keeps no unit
    low = SimpleNamespace(low=4.0, high=9.0, low_restricted=True, high_restricted=False)
    assert _limit_words(low, gap).endswith(" is at least 4 months")
    one = SimpleNamespace(low=1.0, high=1.0, low_restricted=False, high_restricted=True)
    assert _limit_words(one, gap).endswith(" is at most 1 month")


def test_the_worlds_figure_says_which_worlds_it_leaves_out(tmp_path):
    """In a world where the runner-up signed no agreement the two cannot be compared, and the world
    is not drawn: 'Each point is a world' under nine points of ten worlds."""
    from test_compare import SMALL, _fabricated_worlds

    from peacesim.comparison_report import build_document

    def outcome(key, r, w):
        if key == "crowded" and w == 0:  # the runner-up signs nothing in the first world
            return False, 0, False
        return _ranked(key, r, w)

    spec = _spec(tmp_path, SMALL, seeds=12)
    res = analyse(spec, _fabricated_worlds(spec, outcome, 12))
    assert (res.best, res.runner_up) == ("verified", "crowded")
    assert int((~res.worlds["measured"].astype(bool)).sum()) == 1
    md = build_document(res).markdown()
    assert ("The one world in which the two could not be compared on the average months an agreement holds in its "
            "first five years is not shown.*") in md


def test_too_few_worlds_compared_says_of_how_many(tmp_path):
    """'The ranking measure could be computed in only 9 worlds' for 10 worlds sampled."""
    from test_compare import SMALL, _fabricated_worlds

    def outcome(key, r, w):
        return (False, 0, False) if key == "crowded" and w == 0 else _ranked(key, r, w)

    spec = _spec(tmp_path, SMALL, seeds=12, worlds=10)
    res = analyse(spec, _fabricated_worlds(spec, outcome, 12))
    assert (res.best, res.runner_up) == ("verified", "crowded")
    assert res.discovery_note == ("the ranking measure could be computed in only 9 of the 10 worlds; too few to search "
                                  "for conditions (at least 10 are needed)")


def test_a_note_shared_by_several_strategies_is_said_once(tmp_path):
    """Every run of every strategy reached an agreement: the notes under the ranked table said
    'every run reached an agreement' once for each strategy (seven times in a run of the shipped
    fragile_implementation)."""
    from test_compare import _tied

    from peacesim.comparison_report import build_document

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    md = build_document(analyse(spec, _fabricated(spec, _tied, 12))).markdown()
    notes = md[md.index("Notes:"):md.index("## Findings")]
    assert "- Every strategy, reach an agreement: every run reached an agreement." in notes, notes
    assert notes.count("every run reached an agreement") == 1

    def two(key, r):  # the baseline misses an agreement in one seed
        return (r > 0, 20, True) if key == "as_is" else _tied(key, r)

    md = build_document(analyse(spec, _fabricated(spec, two, 12))).markdown()
    notes = md[md.index("Notes:"):md.index("## Findings")]
    assert ("- Every mediator on its own and Verification and long grants, reach an agreement: every run reached an "
            "agreement.") in notes, notes
