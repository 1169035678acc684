"""docs/COMPARE.md says what peacesim compare refuses in texts and what km.png draws, with the
numbers the code uses."""

from __future__ import annotations

import re
from pathlib import Path

import peacesim
from peacesim import comparison, comparison_report

DOC = (Path(peacesim.__file__).parent.parent / "docs" / "COMPARE.md").read_text(encoding="utf-8")
WORDS = " ".join(DOC.split())


def test_the_refusals_of_texts_are_documented():
    assert f"longer than {comparison.MAX_TITLE} characters" in WORDS
    assert "control character but line breaks and tabs" in WORDS
    assert "Two strategies may not share a name" in WORDS
    # the example refusal is the one the code gives
    try:
        comparison._text({"title": "A network\x1b[2J"}, "title", "x.toml: strategy.network")
    except peacesim.errors.InputError as exc:
        said = str(exc)
    assert said.split(": ", 1)[1] in DOC


def test_km_png_is_documented_as_drawn():
    n_styles, n_colours = len(comparison_report._DASHES), len(comparison_report._COLOURS)
    words = {10: "ten", 11: "eleven"}
    assert f"a colour repeats only after {words[n_colours]} strategies, a line style after {words[n_styles]}" in WORDS
    assert re.search(r"tick on a curve marks each month at which an agreement was still holding", WORDS)
    assert "the same curve as" in WORDS and "there is no curve to draw" in WORDS
    assert f"lines of at most {comparison_report._LEGEND} characters" in WORDS
