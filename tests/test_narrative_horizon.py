"""The narrative says what happens within the run: funding gaps, cuts and campaigns that go on past
its last month, gaps ended early, and interventions that change nothing (peacesim.narrative)."""

from __future__ import annotations

import json

import pandas as pd

import peacesim
from peacesim.narrative import render
from peacesim.output import write_run


def events(*rows: tuple[int, str, str, dict]) -> pd.DataFrame:
    return pd.DataFrame({"month": [r[0] for r in rows], "kind": [r[1] for r in rows],
                         "actors": [r[2] for r in rows], "values": [json.dumps(r[3]) for r in rows]})


LAPSE = (6, "funding_lapse", "the mediation NGO", {"months": 15})


def test_a_gap_past_the_end_of_the_run_says_so():
    (line,) = render(events(LAPSE), horizon=12)
    assert "for 15 months, past the end of the run" in line, line


def test_a_gap_ending_on_the_last_month_is_not_past_the_end():
    (line,) = render(events((6, "funding_lapse", "the mediation NGO", {"months": 7})), horizon=12)
    assert "stands idle for 7 months" in line and "past the end" not in line, line


def test_without_the_horizon_a_gap_is_told_by_when_new_money_is_due():
    (line,) = render(events(LAPSE))
    assert "stands idle for" not in line and "no new money is due for 15 months" in line, line


def test_a_gap_that_closes_in_the_run_is_told_by_how_long_it_lasted():
    ev = events(LAPSE, (21, "funding_resumed", "the mediation NGO", {}))
    line = render(ev)[0]
    assert "stands idle for 15 months while" in line, line


def test_a_gap_ended_by_an_intervention_says_when_and_how():
    ev = events(LAPSE, (10, "intervention", "the mediation NGO", {"intervention": "restore_funding",
                                                                    "was_funded": False}))
    line = render(ev, horizon=60)[0]
    assert "15 months" not in line and "until month 10, when its funding is restored" in line, line
    # another actor's restoration does not end this gap
    ev = events(LAPSE, (10, "intervention", "the UN envoy", {"intervention": "restore_funding"}))
    assert "past the end of the run" in render(ev, horizon=12)[0]


def test_programme_gap_cut_and_campaign_past_the_end():
    ev = events((8, "programme_lapse", "", {"months": 9}),
                (9, "intervention", "the UN envoy", {"intervention": "cut_funding", "months": 6}),
                (10, "intervention", "the government", {"intervention": "pressure", "months": 3,
                                                          "strength": 0.5}))
    prog, cut, pressure = render(ev, horizon=12)
    assert "lapses for 9 months, past the end of the run" in prog, prog
    assert "cut for 6 months, past the end of the run" in cut, cut
    assert "for 3 months," in pressure and "past the end" not in pressure, pressure
    prog = render(ev)[0]
    assert "lapses for" not in prog and "no new money due for 9 months" in prog, prog


def test_a_twelve_month_runs_narrative_file_stays_within_the_run(tmp_path):
    result = peacesim.run_scenario("reference", seed=2, months=12)
    files = write_run(result, tmp_path / "out", figure=False)
    text = files["narrative.txt"].read_text(encoding="utf-8")
    for line in text.splitlines():
        if "grant runs out" in line and "stands idle for" in line:
            month = int(line.split(":")[0].split()[1])
            n = int(line.split("stands idle for ")[1].split()[0])
            assert month + n - 1 <= 12 or "past the end of the run" in line, line
    assert "grant runs out" in text  # (the run this test is about has a gap)


def test_interventions_that_change_nothing_say_so():
    ev = events((3, "intervention", "", {"intervention": "protect_local", "count": 0, "group": "", "done": 0}),
                (4, "intervention", "", {"intervention": "coordination", "strategy": "hierarchical",
                                         "was": "hierarchical"}),
                (5, "intervention", "", {"intervention": "link_local", "count": 1, "group": "", "done": 0}),
                (6, "intervention", "", {"intervention": "coordination", "strategy": "none",
                                         "was": "hierarchical"}),
                (7, "intervention", "", {"intervention": "set", "name": "gap_months", "value": 6.0, "was": 6}))
    protect, same, link, switch, same_value = render(ev)
    assert "already protected" not in protect and "no local mechanism is given protection" in protect, protect
    assert "from a hierarchical lead to a hierarchical lead" not in same
    assert "a hierarchical lead, as they already do: nothing changes" in same, same
    assert "left to link" not in link and "no local mechanism is linked" in link, link
    assert "switch from a hierarchical lead to no coordination" in switch, switch
    assert "as it already was: nothing changes" in same_value and "(it was" not in same_value, same_value


def test_the_events_table_is_left_as_it_was():
    ev = pd.DataFrame({"month": [6], "kind": ["funding_lapse"], "actors": ["the NGO"], "values": [{"months": 15}]})
    render(ev, horizon=12)
    assert ev["values"][0] == {"months": 15}


def test_the_summary_counts_months_and_gaps_in_words():
    """The summary read 'months 24 in conflict, 0 in talks' and '0 funding gaps'."""
    from peacesim.narrative import summary

    text = summary(peacesim.run_scenario("reference", seed=3, months=24))
    assert "; 24 months in conflict, none in talks, none implementing an agreement." in text
    assert "no funding gaps for mediators and diplomats" in text and "months 24" not in text


def test_a_whole_runs_story_from_python_says_what_outlasts_it():
    """RunResult.narrative() of a run that reached its horizon tells a gap by the run's end, as
    narrative.txt does; of a model stopped before its horizon, by when new money is due."""
    result = peacesim.run_scenario("reference", seed=5, months=60)  # its NGO's grant runs out in month 60
    (line,) = [x for x in result.narrative() if "grant runs out" in x and x.startswith("Month 60:")]
    assert "for 12 months, past the end of the run" in line and "no new money" not in line, line

    from peacesim.model import PeaceModel
    from peacesim.result import RunResult

    model = PeaceModel("reference", rng=5, months=80)
    for _ in range(60):
        model.step()
    lines = RunResult.from_model(model).narrative()
    (line,) = [x for x in lines if "grant runs out" in x and x.startswith("Month 60:")]
    assert "no new money is due for 12 months" in line and "past the end" not in line, line


def test_a_story_option_that_is_not_true_or_false_is_refused():
    import pytest

    from peacesim.errors import InputError

    result = peacesim.run_scenario("reference", seed=2, months=12)
    assert len(result.narrative(minor=True)) >= len(result.narrative())
    with pytest.raises(InputError, match=r"^minor = 'no' is not allowed; expected True or False$"):
        result.narrative(minor="no")
