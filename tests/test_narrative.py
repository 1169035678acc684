"""The event log as plain-language narrative, and the run summary (peacesim.narrative)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pandas as pd
import pytest

import peacesim
from peacesim.events import EVENT_KINDS
from peacesim.narrative import KIND_INFO, current_leads, is_key_event, render, render_event, summary

PACKAGE = Path(peacesim.__file__).parent
SOURCES = {path.name: path.read_text(encoding="utf-8") for path in sorted(PACKAGE.glob("*.py"))}
SEEDS = range(0, 41)
ADD_CALL = r"\bevents\.add\(\s*[^,()]+,\s*[\"']([A-Za-z_]+)[\"']"


def model_kinds_by_regex() -> set[str]:
    """Every kind passed to events.add(...) anywhere in the package."""
    return {k for text in SOURCES.values() for k in re.findall(ADD_CALL, text)}


def model_event_calls() -> list[tuple[str, int | None, list[str]]]:
    """(kind, number of actors if a literal tuple, keyword names) of every events.add call."""
    calls = []
    for text in SOURCES.values():
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "add"):
                continue
            target = node.func.value
            if not (isinstance(target, ast.Attribute) and target.attr == "events"):
                continue
            kind = node.args[1].value if len(node.args) > 1 and isinstance(node.args[1], ast.Constant) else None
            actors = node.args[2] if len(node.args) > 2 else None
            n_actors = len(actors.elts) if isinstance(actors, ast.Tuple) else None
            calls.append((kind, n_actors, [k.arg for k in node.keywords]))
    return calls


@pytest.fixture(scope="module")
def runs():
    return {s: peacesim.run_scenario("reference", seed=s) for s in SEEDS}


@pytest.fixture(scope="module")
def agreement_run(runs):
    for s, r in runs.items():
        if r.outcome["agreement_reached"]:
            return r
    pytest.skip("no reference run in seeds 0..40 reached an agreement")


@pytest.fixture(scope="module")
def sample_events(runs):
    """Events from reference runs plus a crowded field (which has leaks, collapses, forum shifts)."""
    frames = [r.events for r in list(runs.values())[:8]]
    frames += [peacesim.run_scenario("crowded_field", seed=s).events for s in range(3)]
    frames += [peacesim.run_scenario("fragile_implementation", seed=s).events for s in range(2)]
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------- coverage of kinds
def test_every_kind_emitted_by_the_model_is_declared_and_has_a_template():
    kinds = model_kinds_by_regex()
    calls = sum(len(re.findall(r"\bevents\.add\(", text)) for text in SOURCES.values())
    assert calls > 20
    # Every call must name its kind as a string literal, so the regex sees all of them.
    assert sum(len(re.findall(ADD_CALL, text)) for text in SOURCES.values()) == calls
    undeclared = kinds - set(EVENT_KINDS)
    assert not undeclared, f"event kinds emitted but not declared in EVENT_KINDS: {sorted(undeclared)}"
    assert set(KIND_INFO) == set(EVENT_KINDS), "every declared event kind has exactly one narrative template"
    for kind, (template, key) in KIND_INFO.items():
        assert callable(template) and isinstance(key, bool), kind


def test_the_log_refuses_an_undeclared_kind():
    from peacesim.events import EventLog

    with pytest.raises(KeyError, match="not declared"):
        EventLog().add(3, "earthquake", ())


def test_key_kinds_named_in_the_design_are_key():
    for kind in ("talks_open", "signed", "relapse", "consolidated", "talks_collapse", "premature_proposal",
                 "attack", "forum_shift", "leak", "funding_lapse", "milestone", "violation",
                 "lead_rotation_setback", "programme_lapse"):
        assert KIND_INFO[kind][1], kind
    for kind in ("local_funding_lapse", "funding_resumed", "local_linked", "dispute_resolved"):
        assert not KIND_INFO[kind][1], kind


def test_every_model_event_call_renders_with_its_own_keywords():
    """Synthetic events built from each events.add call in the package render cleanly."""
    fill = {"scope": "ceasefire", "left_out": "the splinter faction", "why": "the armed group walked away",
            "cause": "sustained violence between signatories", "read_as": "limited", "true_type": "total",
            "phase": "talks", "verification": True, "guarantee": False, "attributed": False,
            "person": 3, "months": 4, "count": 2, "tables": 3}
    names = ["the UN envoy", "the armed group", "the government"]
    for kind, n_actors, keywords in model_event_calls():
        assert kind is not None
        actors = ";".join(names[: n_actors or 0])
        values = {k: fill.get(k, 0.4567) for k in keywords}
        line = render_event(37, kind, actors, values)
        assert line.startswith("Month 37: "), line
        body = line[len("Month 37: "):]
        assert body[0].isupper(), line
        assert body.endswith("."), line
        for bad in ("{", "}", "None", "nan", "?"):
            assert bad not in body, (kind, line)
        # any share or trust number given is written out (0.4567 -> 0.46 or 46%)
        if any(fill.get(k) is None for k in keywords):
            assert "0.46" in body or "46%" in body or "46 percentage" in body, line


def test_every_event_of_real_runs_renders_with_its_month(sample_events):
    kinds_seen = set()
    lines = render(sample_events, minor=True)
    assert len(lines) == len(sample_events)
    for line, (month, kind) in zip(lines, zip(sample_events["month"], sample_events["kind"])):
        kinds_seen.add(kind)
        assert line.startswith(f"Month {int(month)}: "), line
        body = line.split(": ", 1)[1]
        assert body[0].isupper(), line
        assert "None" not in body and "nan" not in body and "{" not in body, line
    assert {"signed", "attack", "rotation", "talks_open"} <= kinds_seen


def test_actor_names_appear_in_their_lines(sample_events):
    for month, kind, actors, values in sample_events.itertuples(index=False):
        if kind not in ("attack", "violation", "funding_lapse", "premature_proposal", "local_linked", "forum_shift"):
            continue
        line = render_event(month, kind, actors, values).lower()
        for name in [a for a in actors.split(";") if a]:
            assert name.lower() in line, (kind, line)


# ----------------------------------------------------------------------------- content
def test_signed_line_names_signatories_and_mediator(agreement_run):
    ep = agreement_run.episodes.iloc[0]
    ev = agreement_run.events
    signed = ev[ev["kind"] == "signed"]
    assert len(signed) == len(agreement_run.episodes)
    lines = render(ev, kinds={"signed"})
    assert len(lines) == len(signed)
    first = lines[0]
    assert first.startswith(f"Month {int(ep['signed_month'])}: ")
    for name in ep["signatories"].split(";"):
        assert name in first or name[0].upper() + name[1:] in first
    assert ep["mediator"] in first
    for name in filter(None, ep["left_out"].split(";")):
        assert f"{name} is left out" in first or f"{name} are left out" in first
    assert ep["scope"] in first


def test_relapse_and_consolidation_lines(runs):
    saw = set()
    for r in runs.values():
        for _, e in r.episodes.iterrows():
            if e["relapsed"]:
                at = f"Month {int(e['end_month'])}:"
                lines = [x for x in render(r.events, kinds={"relapse"}) if x.startswith(at)]
                assert lines and "breaks down" in lines[0] and str(e["end_cause"]) in lines[0]
                saw.add("relapse")
            elif e["consolidated"]:
                at = f"Month {int(e['end_month'])}:"
                lines = [x for x in render(r.events, kinds={"consolidated"}) if x.startswith(at)]
                assert lines and "consolidates" in lines[0]
                saw.add("consolidated")
    assert saw, "no episode in seeds 0..40 ended (relapse or consolidation)"


def test_rotation_line_reports_share_and_trust():
    line = render_event(37, "rotation", "the UN envoy;the armed group",
                        {"share": 0.58, "before": 0.62, "after": 0.41, "person": 2})
    assert line.startswith("Month 37: The UN envoy rotates out")
    assert "58%" in line
    assert "trust from the armed group falls from 0.62 to 0.41" in line
    same = render_event(5, "rotation", "the donor state;the government",
                        {"share": 0.7, "before": 0.25, "after": 0.25, "person": 2})
    assert "stays at 0.25" in same and "falls" not in same


def test_wrong_and_right_diagnoses_read_differently():
    wrong = render_event(3, "diagnosis", "the UN envoy;the militia", {"read_as": "limited", "true_type": "total"})
    right = render_event(3, "diagnosis", "the UN envoy;the militia", {"read_as": "total", "true_type": "total"})
    assert "misreads the militia as a limited spoiler" in wrong and "a total one" in wrong
    assert "correctly" in right and "a total spoiler" in right


def test_capitalisation_only_at_sentence_start():
    line = render_event(9, "violation", "the government", {"commitment": 0.31})
    assert line == "Month 9: The government violates the agreement (its commitment is down to 0.31); " \
                   "the other signatories trust it less."


# ----------------------------------------------------------------------------- filtering
def test_minor_events_hidden_by_default_and_key_events_kept(runs):
    r = next(r for r in runs.values() if (r.events["kind"] == "local_funding_lapse").any())
    ev = r.events
    default = render(ev)
    everything = render(ev, minor=True)
    assert len(everything) == len(ev)
    assert len(default) < len(everything)
    assert not any("Funding lapses for" in x for x in default)
    for kind, (_, key) in KIND_INFO.items():
        n = int((ev["kind"] == kind).sum())
        if key and n:
            shown = render(ev, kinds={kind})
            assert len(shown) == n
            assert all(x in default for x in shown), kind
    # default lines are exactly the key events, in order
    keep = [is_key_event(k, a, lead) for k, a, lead in zip(ev["kind"], ev["actors"], current_leads(ev))]
    assert len(default) == sum(keep)


def test_kinds_and_limit(runs):
    r = max(runs.values(), key=lambda x: len(x.events))
    ev = r.events
    only = render(ev, kinds={"local_linked"})  # a minor kind is shown when asked for by name
    assert len(only) == int((ev["kind"] == "local_linked").sum())
    assert all(" links " in x for x in only)
    assert render(ev, limit=3) == render(ev)[:3]
    assert render(ev, limit=0) == []
    assert render(ev, kinds=set()) == []
    assert render(ev.iloc[0:0]) == []


def test_rotation_of_the_lead_is_key_only_while_it_leads():
    ev = pd.DataFrame({
        "month": [1, 2, 3, 4, 5, 6],
        "kind": ["rotation", "talks_open", "rotation", "rotation", "talks_collapse", "rotation"],
        "actors": ["the UN envoy;the government", "the UN envoy", "the UN envoy;the government",
                   "the mediation NGO;the government", "", "the UN envoy;the government"],
        "values": [{"share": 0.6, "before": 0.5, "after": 0.4, "person": 2}, {"ripeness": 0.4, "tables": 1},
                   {"share": 0.6, "before": 0.5, "after": 0.4, "person": 3},
                   {"share": 0.6, "before": 0.5, "after": 0.4, "person": 2},
                   {"why": "the armed group walked away"}, {"share": 0.6, "before": 0.5, "after": 0.4, "person": 4}],
    })
    months = [int(x.split(":")[0].split()[1]) for x in render(ev)]
    assert months == [2, 3, 5]
    assert len(render(ev, minor=True)) == 6


def test_values_as_json_text_render_the_same(agreement_run):
    ev = agreement_run.events
    as_text = ev.assign(values=[json.dumps(v) for v in ev["values"]])
    assert render(as_text, minor=True) == render(ev, minor=True)


def test_unknown_kind_is_shown_not_dropped():
    ev = pd.DataFrame({"month": [4], "kind": ["brand_new_kind"], "actors": ["the government"],
                       "values": [{"level": 0.5}]})
    (line,) = render(ev)
    assert line.startswith("Month 4: ") and "the government" in line


def test_run_result_narrative_uses_render(agreement_run):
    assert agreement_run.narrative() == render(agreement_run.events)
    assert agreement_run.narrative(limit=2) == render(agreement_run.events)[:2]


# ----------------------------------------------------------------------------- summary
def test_summary_of_a_run_with_an_agreement(agreement_run):
    r = agreement_run
    o = r.outcome
    text = summary(r)
    assert f"'{r.scenario}'" in text and f"seed {r.seed}" in text and f"{r.months} months" in text
    assert "Agreement reached: yes" in text
    assert f"month {o['months_to_first_agreement']}" in text
    assert f"{o['mean_violence']:.2f}" in text
    assert ("Peace consolidated: yes" in text) == bool(o["consolidated"])
    n_rel = o["n_relapses"]
    assert (f"{n_rel} relapse" if n_rel else "no relapses") in text
    # one line per agreement episode
    assert sum(1 for x in text.splitlines() if re.match(r"\s*Agreement \d+ \(", x)) == o["n_agreements"]
    assert f"{o['rotations']} staff rotation" in text
    assert f"{o['funding_gaps']} funding gap" in text


def test_summary_of_a_run_without_agreement():
    r = peacesim.run_scenario("reference", seed=1, overrides={"ripeness_threshold": 0.95})
    assert not r.outcome["agreement_reached"]
    text = summary(r)
    assert "Agreement reached: no" in text
    assert "Peace consolidated: no" in text
    assert len(text.splitlines()) >= 5


def test_summary_partway_speaks_of_the_month_reached_not_the_horizon():
    """The dashboard's debrief may be exported at any month: before the first month nothing is
    claimed, and an agreement in force is in force at that month, not 'at the horizon'."""
    from peacesim.model import PeaceModel
    from peacesim.result import RunResult

    m = PeaceModel("reference", rng=1)
    text = summary(RunResult.from_model(m))
    assert text.splitlines() == ["Scenario 'reference', seed 1: month 0 of 240.", "No month has been run yet."]
    for seed in range(30):
        m = PeaceModel("reference", rng=seed)
        while m.running and m.agreement is None:
            m.step()
        if m.running:
            break
    else:
        pytest.fail("no run with an agreement in force before the horizon")
    for _ in range(3):
        m.step()
    text = summary(RunResult.from_model(m))
    assert f"month {m.month} of 240" in text and "horizon" not in text and "never signed" not in text
    assert f"in force at month {m.month}, after " in text


def test_summary_says_one_year_not_one_years():
    """A one-year run, a dashboard at month 12, an agreement signed in month 12 or 13."""
    from peacesim.model import PeaceModel
    from peacesim.result import RunResult

    r = peacesim.run_scenario("reference", seed=7, months=12)
    assert summary(r).splitlines()[0] == "Scenario 'reference', seed 7: 12 months (1 year)."
    m = PeaceModel("reference", rng=7)
    for _ in range(12):
        m.step()
    assert summary(RunResult.from_model(m)).splitlines()[0] == ("Scenario 'reference', seed 7: month 12 of 240 "
                                                                "(1 year so far).")
    assert "years" in summary(peacesim.run_scenario("reference", seed=7, months=24)).splitlines()[0]
    assert "(1.1 years)" in summary(peacesim.run_scenario("reference", seed=7, months=13)).splitlines()[0]


def test_summary_of_talks_that_never_opened_reads_as_english():
    r = peacesim.run_scenario("reference", seed=7, months=12)
    assert r.outcome["talks_opened"] == 0
    [line] = [x for x in summary(r).splitlines() if x.startswith("Talks:")]
    assert line.startswith("Talks: never opened; no premature proposals cost trust; the main parties were never "
                           "ripe together: by its own ripeness the least ripe of the 2 reached at most 0.")
    assert line.endswith(", below 0.46, the ripeness at which a party accepts talks with even chance.")
    ripeness = r.series[["ripeness_government", "ripeness_armed_group"]].min(axis=1)
    assert f"at most {ripeness.max():.2f} (month {int(r.series['month'][ripeness.idxmax()])})" in line
    r = peacesim.run_scenario("reference", seed=7)
    [line] = [x for x in summary(r).splitlines() if x.startswith("Talks:")]
    assert line.startswith(f"Talks: opened {r.outcome['talks_opened']} times, ")


def test_summary_says_none_where_a_count_is_zero():
    r = peacesim.run_scenario("reference", seed=7, months=12)
    lines = summary(r).splitlines()
    assert r.outcome["foiled"] == 0
    [spoilers] = [x for x in lines if x.startswith("Spoilers and violations:")]
    assert "carried out and none foiled by early warning" in spoilers and " 0 " not in spoilers
    [third] = [x for x in lines if x.startswith("Third parties:")]
    assert third.endswith(", none for the implementation programme after signature.")


def test_summary_says_nothing_of_ripeness_where_the_parties_were_ripe_together():
    """Where the least ripe main party passed the threshold and still no talks opened, the summary
    gives no reason it cannot show; partway through a run, talks are 'not opened yet'."""
    from peacesim.model import PeaceModel
    from peacesim.result import RunResult

    r = peacesim.run_scenario("reference", seed=1, months=12, overrides={"ripeness_threshold": 0.05})
    ripe = r.series[["ripeness_government", "ripeness_armed_group"]].min(axis=1).max() >= 0.05
    [line] = [x for x in summary(r).splitlines() if x.startswith("Talks:")]
    assert ripe and "never ripe together" not in line
    m = PeaceModel("reference", rng=7)
    for _ in range(6):
        m.step()
    [line] = [x for x in summary(RunResult.from_model(m)).splitlines() if x.startswith("Talks:")]
    assert line.startswith("Talks: not opened yet; ")


def test_the_ripeness_that_fell_short_is_told_apart_from_the_threshold():
    """A peak of 0.4585 against 0.459 is not 'at most 0.46, below 0.46'."""
    import pandas as pd

    from peacesim.narrative import _never_ripe_together

    class Run:
        actors = {"party": [{"at_table": True}, {"at_table": True}]}
        params = {"ripeness_threshold": 0.459}

    series = pd.DataFrame({"month": [1, 2], "ripeness_a": [0.4585, 0.2], "ripeness_b": [0.6, 0.1]})
    text = _never_ripe_together(Run(), series)
    assert "at most 0.4585 (month 1), below 0.4590," in text, text  # as many digits as tell them apart
