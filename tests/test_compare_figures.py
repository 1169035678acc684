"""``peacesim compare``: what its figures show, on results made by hand (no model runs)."""

from __future__ import annotations

import io

import numpy as np
from test_compare import NO_WORLDS, _fabricated, _spec, _tied

from peacesim.comparison import analyse


def _pixels_of(png: bytes, colour: str, tol: int = 40) -> int:
    """How many pixels of a PNG are close to ``colour`` ('#rrggbb')."""
    from matplotlib import image

    img = (image.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)
    want = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img - want).max(axis=-1) <= tol).sum())


def test_survival_curves_that_coincide_can_both_be_seen_and_are_said_to_coincide(tmp_path):
    """'crowded' and 'verified' hold their agreements the same months in every run: their
    Kaplan-Meier curves were drawn one over the other in the same solid style, and the one drawn
    first could not be seen anywhere in km.png. Each strategy now has a line style of its own, the
    legend says which curve is the same as which, and so does the caption."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from peacesim.comparison_report import _COLOURS, _png, build_document, km_figure

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    res = analyse(spec, _fabricated(spec, _tied, 12))
    fig = km_figure(res)
    FigureCanvasAgg(fig)
    ax = fig.axes[0]
    lines = {line.get_label().split(" (")[0]: line for line in ax.get_lines() if not line.get_label().startswith("_")}
    crowded, verified = lines["Every mediator on its own"], lines["Verification and long grants"]
    assert crowded._unscaled_dash_pattern != verified._unscaled_dash_pattern  # (offset, on-off sequence)
    labels = [t.get_text().replace("\n", " ") for t in (fig.legends or [ax.get_legend()])[0].get_texts()]
    assert any("the same curve as 'Every mediator on its own'" in t for t in labels), labels
    # the curves drawn first and last are both in the picture (their colours, outside the legend too)
    png = _png(fig)
    for colour in (_COLOURS[1], _COLOURS[2]):  # 'crowded' and 'verified', in the order of the file
        assert _pixels_of(png, colour) > 400, colour
    md = build_document(res).markdown()
    assert ("The curves of 'Every mediator on its own' and 'Verification and long grants' are the same month by "
            "month") in md


def test_survival_curves_that_differ_are_not_said_to_coincide(tmp_path):
    from peacesim.comparison_report import build_document, km_figure

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    res = analyse(spec, _fabricated(spec, lambda key, r: (True, {"as_is": 10, "crowded": 20, "verified": 30}[key]
                                                          + 3 * r, r % 2 == 0), 12))
    fig = km_figure(res)
    labels = [t.get_text() for t in (fig.legends or [fig.axes[0].get_legend()])[0].get_texts()]
    assert not any("the same curve" in t for t in labels), labels
    assert "are the same month by month" not in build_document(res).markdown()


def test_survival_curves_that_differ_only_in_when_agreements_were_censored_are_said_to_coincide(tmp_path):
    """No agreement of 'crowded' or 'verified' relapsed, and both were followed up to month 111:
    both curves are flat at 100% to month 111 and lie one on the other, but the months at which
    their agreements were censored differ, and the curves were not said to be the same."""
    from peacesim.comparison_report import build_document, km_figure

    def held(key, r):
        if key == "as_is":
            return True, 10 + 3 * r, True
        return True, (100 + r) if key == "crowded" else (111 if r % 2 else 105), False

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    res = analyse(spec, _fabricated(spec, held, 12))
    fig = km_figure(res)
    labels = [t.get_text().replace("\n", " ") for t in fig.legends[0].get_texts()]
    assert sum("the same curve as" in t for t in labels) == 1, labels
    assert "are the same month by month" in build_document(res).markdown()


def test_an_estimate_of_100_percent_is_drawn_whole_and_the_worlds_legend_quotes_the_runner_up(tmp_path):
    """Every run reached an agreement: the dot of 100% stood on the right edge of its panel of
    measures.png and was cut in half. The legend of worlds.png named the runner-up by its title
    in the middle of a sentence ('it did not do better than A verification ...')."""
    from test_compare import SMALL, _fabricated_worlds, _ranked

    from peacesim.comparison_report import measures_figure, worlds_figure

    spec = _spec(tmp_path, SMALL, seeds=12)
    res = analyse(spec, _fabricated_worlds(spec, _ranked, 12))
    fig = measures_figure(res)
    agreement = fig.axes[0]
    dots = [line for line in agreement.get_lines() if line.get_marker() == "o"]
    assert dots and all(float(line.get_xdata()[0]) == 100.0 for line in dots)
    assert agreement.get_xlim()[1] == 100.0
    assert not any(line.get_clip_on() for line in dots)
    fig = worlds_figure(res)
    labels = [t.get_text().replace("\n", " ") for t in fig.legends[0].get_texts()]
    runner = spec.strategy(res.runner_up).title
    assert f"it did not do better than '{runner}'" in labels, labels


def test_an_agreement_still_holding_when_its_follow_up_ended_is_marked_on_its_curve(tmp_path):
    """A curve flat at 100% that ends at month 16 (one agreement, still holding when its run ended)
    lay under the others at 100% with nothing to show where it ended. Survival plots mark each
    censored agreement with a tick on its curve; km.png now does, and its caption says so."""
    from matplotlib.colors import to_hex

    from peacesim.comparison_report import _colour, build_document, km_figure

    def few(key, r):
        if key == "crowded":
            return r == 0, 16, False
        return True, 20 + 3 * r, key == "as_is" or r % 2 == 0

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    res = analyse(spec, _fabricated(spec, few, 12))
    ax = km_figure(res).axes[0]
    colour = _colour(res)["crowded"]
    ticks = [line for line in ax.get_lines() if line.get_marker() == "|" and to_hex(line.get_color()) == colour]
    assert len(ticks) == 1 and list(ticks[0].get_xdata()) == [16.0] and list(ticks[0].get_ydata()) == [1.0]
    verified = [line for line in ax.get_lines() if line.get_marker() == "|"
                and to_hex(line.get_color()) == _colour(res)["verified"]]
    assert len(verified) == 1 and len(verified[0].get_xdata()) == 6  # its six agreements that did not relapse
    assert "a short upright tick marks each month at which one was" in build_document(res).markdown()


def test_three_curves_that_coincide_are_not_said_to_be_two(tmp_path):
    """Three strategies with the same agreements: the caption said 'so both can be seen'."""
    from peacesim.comparison_report import km_coincide_words, km_figure

    spec = _spec(tmp_path, NO_WORLDS, seeds=12)
    res = analyse(spec, _fabricated(spec, lambda key, r: (True, 30 + 5 * r, r % 2 == 0), 12))
    words = km_coincide_words(res)
    assert words == (" The curves of 'The reference process', 'Every mediator on its own' and 'Verification and long "
                     "grants' are the same month by month: they lie on top of each other, each in a line style of its "
                     "own so that every one can be seen, and the legend says which is the same as which."), words
    labels = [t.get_text().replace("\n", " ") for t in km_figure(res).legends[0].get_texts()]
    assert sum("; the same curve as '" in t for t in labels) == 2, labels


def test_with_no_agreement_at_all_the_survival_figure_says_why_it_is_empty(tmp_path):
    """No run of any strategy signed an agreement: km.png was an empty frame under a caption that
    described curves, ticks and a dotted line."""
    import pandas as pd

    from peacesim.analysis import results_from_frames
    from peacesim.comparison_report import build_document, km_figure

    spec = _spec(tmp_path, NO_WORLDS, seeds=6)
    runs = [{"design_point": s, "replicate": r, "seed": 100 + r, "status": "ok", "months": 240,
             "followup_months": 120, "agreement_reached": False, "months_to_first_agreement": None,
             "mean_violence": 0.1} for s in range(3) for r in range(6)]
    eps = pd.DataFrame({"design_point": pd.Series([], dtype=int), "replicate": pd.Series([], dtype=int),
                        "signed_month": pd.Series([], dtype=int), "months_survived": pd.Series([], dtype=float),
                        "relapsed": pd.Series([], dtype=bool)})
    res = analyse(spec, results_from_frames(pd.DataFrame(runs), eps, {"factors": []}))
    texts = [t.get_text() for t in km_figure(res).axes[0].texts]
    assert "No agreement was signed under any strategy:\nthere is no curve to draw." in texts
    md = build_document(res).markdown()
    assert ("*How long agreements hold: no agreement was signed in any run under any strategy, so there is no curve to "
            "draw.*") in md
    assert "a short upright tick" not in md
    # nor, with no strategy ranked, does the report speak of a best strategy and a runner-up it never names
    assert "The best strategy and the runner-up are picked" not in md
