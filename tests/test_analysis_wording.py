"""Plain English in the words the analysis puts on figures, reports and comparisons."""

from __future__ import annotations

import math

import pytest

from peacesim.analysis import METRICS, Comparison, months_text


@pytest.mark.parametrize("n, text", [(1, "1 month"), (60, "60 months"), (1.5, "1.5 months"), (0.5, "0.5 months")])
def test_months_text_says_month_for_one(n, text):
    assert months_text(n) == text


def test_metric_labels_say_one_month_not_one_months():
    assert METRICS["relapse"].text(1) == "share of agreements that relapse within 1 month"
    assert METRICS["relapse"].text(60) == "share of agreements that relapse within 60 months"
    assert METRICS["rmst"].text(1) == "mean months an agreement holds, within its first 1 month (RMST)"
    assert METRICS["rmst_followup"].text(60, 120) == ("mean months an agreement holds, within its 120-month "
                                                     "follow-up (RMST)")
    for m in METRICS.values():
        assert "1 months" not in m.text(1, 1)


def test_a_comparison_at_a_one_month_horizon_says_one_month():
    c = Comparison(factor="handover_quality", a=0.8, b=0.1, metric="relapse", estimate_a=0.1, estimate_b=0.2,
                   difference=-0.1, low=math.nan, high=math.nan, p=math.nan, n_a=10, n_b=10, horizon=1.0,
                   note="not estimable: no agreement relapsed within 1 month at either value")
    text = str(c)
    assert text.startswith("share of agreements that relapse within 1 month:")
    assert "1 months" not in text
