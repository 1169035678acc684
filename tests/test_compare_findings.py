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
