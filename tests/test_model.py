"""Model-level tests: reproducibility, every shipped scenario, funding gaps, rotation, outputs."""

import numpy as np
import pandas as pd
import pytest


import peacesim
from peacesim import rules
from peacesim.agents import ALLOWED_TRANSITIONS, Phase
from peacesim.funding import FundingStreams
from peacesim.model import PeaceModel
from peacesim.records import EPISODE_COLUMNS
from peacesim.scenario import list_scenarios
from peacesim.simulate import prepare

SCENARIOS = [p.stem for p in list_scenarios()]


def test_six_scenarios_are_shipped():
    assert "reference" in SCENARIOS
    assert len(SCENARIOS) >= 6


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_scenario_runs_to_the_horizon(name):
    r = peacesim.run_scenario(name, seed=3)
    months = r.params["months"]
    assert len(r.series) == months
    assert r.series["month"].tolist() == list(range(1, months + 1))
    assert r.series["violence"].between(0, 1).all()
    assert r.series["trust_parties"].between(0, 1).all()
    assert set(r.episodes.columns) == set(EPISODE_COLUMNS)
    assert r.outcome["n_agreements"] == len(r.episodes)


def test_same_seed_same_run_and_different_seeds_differ():
    a = peacesim.run_scenario("reference", seed=11)
    b = peacesim.run_scenario("reference", seed=11)
    c = peacesim.run_scenario("reference", seed=12)
    pd.testing.assert_frame_equal(a.series, b.series)
    pd.testing.assert_frame_equal(a.episodes, b.episodes)
    pd.testing.assert_frame_equal(a.events, b.events)
    assert a.outcome == b.outcome
    assert not a.series["violence"].equals(c.series["violence"])


def test_months_and_overrides_apply():
    r = peacesim.run_scenario("reference", seed=1, months=36, overrides={"coordination": "none"})
    assert len(r.series) == 36
    assert r.params["coordination"] == "none"
    r2 = peacesim.run_scenario("reference", seed=1, months=36, overrides=["mediator.skill=0.9"])
    assert r2.params["months"] == 36


def _phase_codes(series):
    return [Phase[p.upper()] for p in series["phase"].astype(str)]


@pytest.mark.parametrize("seed", range(8))
def test_phases_move_only_along_allowed_transitions(seed):
    r = peacesim.run_scenario("reference", seed=seed)
    codes = _phase_codes(r.series)
    for a, b in zip(codes, codes[1:]):
        assert a == b or b in ALLOWED_TRANSITIONS[a], (a, b)


def test_episodes_are_consistent_with_the_series():
    found = False
    for seed in range(30):
        r = peacesim.run_scenario("reference", seed=seed)
        for e in r.episodes.itertuples():
            found = True
            assert e.months_survived == e.end_month - e.signed_month
            assert e.relapsed != e.censored
            s = r.series.set_index("month")
            assert s.loc[e.signed_month, "phase"] == "implementation"
            if e.relapsed:
                assert s.loc[e.end_month, "phase"] == "conflict"
            if e.consolidated:
                assert e.months_survived >= r.params["followup_months"]
        if found and r.outcome["n_relapses"]:
            break
    assert found, "no agreement in 30 reference runs"


def test_an_actor_in_a_funding_gap_does_nothing():
    """A mediator whose grant has lapsed builds no trust and opens no talks."""
    scen = prepare("reference", overrides={"grant_length": 1, "renewal_probability": 0.0, "gap_months": 36.0})
    model = PeaceModel(scen, rng=5)
    ngo = next(m for m in model.mediators if m.name == "the mediation NGO")
    for _ in range(30):
        model.step()
        if not ngo.active:
            break
    assert not ngo.active
    col_before = model.trust.matrix[:, ngo.idx].copy()
    model.coordination.refresh()
    model.coordination.form()
    assert all(ngo not in tb.members for tb in model.tables)
    model.facilitate()
    # facilitation left the NGO's relationships untouched
    np.testing.assert_array_equal(model.trust.matrix[:, ngo.idx], col_before)


def test_tables_re_form_when_funding_changes_who_is_active_and_only_then():
    model = PeaceModel("reference", rng=2, months=40)
    model.step()
    tables = list(model.tables)
    # a local mechanism's grant changing leaves every table as it was
    model.local.funding_changed(model.funding.funded)
    model.coordination.check()
    model.coordination.form()
    assert model.tables == tables and all(a is b for a, b in zip(model.tables, tables, strict=True))
    # a mediator losing its money is a different set of tables, whatever else happened
    ngo = next(m for m in model.mediators if m.name == "the mediation NGO")
    model.cut_funding(ngo, model.month, 12)
    model.coordination.form()
    assert all(ngo not in tb.members for tb in model.tables)
    assert any(ngo in tb.members for tb in tables)
    # and a refresh (a rotation, a parameter) always re-forms them
    before = list(model.tables)
    model.coordination.refresh()
    model.coordination.form()
    assert not any(a is b for a, b in zip(model.tables, before, strict=True))


def test_funding_streams_core_always_funded_and_gaps_reopen():
    from peacesim.streams import Stream

    fs = FundingStreams([True, False, False], 3, rng=Stream(0), setup=Stream(1))
    seen_gap = seen_resume = False
    for month in range(1, 200):
        lapsed, resumed = fs.step(month, 3, renewal=0.3, gap_months=2.0, contingency=0.0)
        assert fs.funded[0]
        for i in lapsed:
            assert not fs.funded[i]
            seen_gap = True
        for i in resumed:
            assert fs.funded[i]
            seen_resume = True
    assert seen_gap and seen_resume


def test_full_renewal_or_contingency_means_no_gap():
    from peacesim.streams import Stream

    for kwargs in (dict(renewal=1.0, contingency=0.0), dict(renewal=0.0, contingency=1.0)):
        fs = FundingStreams([False] * 5, 2, rng=Stream(1), setup=Stream(2))
        for month in range(1, 100):
            lapsed, _ = fs.step(month, 2, gap_months=3.0, **kwargs)
            assert not lapsed
        assert all(fs.funded)


def test_rotation_keeps_the_retained_share_of_capital():
    scen = prepare("reference")
    model = PeaceModel(scen, rng=2)
    envoy = model.mediators[0]
    base = model.p.trust_baseline
    model.trust.set(0, envoy.idx, 0.9)
    model.rotate(envoy)
    share = model._retained
    assert model.trust[0, envoy.idx] == pytest.approx(base + share * (0.9 - base))
    # the successor arrives with the newcomer's knowledge plus what the handover passes on
    p = model.p
    briefed = p.newcomer_knowledge + (1 - p.newcomer_knowledge) * rules.EXPLICIT_KNOWLEDGE_SHARE * p.handover_quality
    assert envoy.knowledge == pytest.approx(briefed + (1 - briefed) * p.handover_overlap / p.context_ramp_months)
    assert envoy.months_in_post == 0
    ev = model.events.items[-1]
    assert ev[1] == "rotation" and ev[2][0] == envoy.name


def test_a_whole_team_staying_loses_no_relationships_but_complete_notes_alone_do_not_keep_them():
    scen = prepare("reference", overrides={"team_continuity": 1.0})
    model = PeaceModel(scen, rng=2)
    envoy = model.mediators[0]
    model.trust.set(1, envoy.idx, 0.8)
    model.rotate(envoy)
    assert model.trust[1, envoy.idx] == pytest.approx(0.8)
    scen = prepare("reference", overrides={"handover_quality": 1.0, "team_continuity": 0.0, "handover_overlap": 0})
    model = PeaceModel(scen, rng=2)
    envoy = model.mediators[0]
    model.trust.set(1, envoy.idx, 0.8)
    model.rotate(envoy)
    base = model.p.trust_baseline
    assert model.trust[1, envoy.idx] == pytest.approx(base + model.p.institutional_share * (0.8 - base))
    assert envoy.knowledge < 1.0


def test_excluded_party_is_recorded_as_left_out():
    for seed in range(40):
        r = peacesim.run_scenario("reference", seed=seed)
        if len(r.episodes):
            e = r.episodes.iloc[0]
            assert "the splinter faction" in e.left_out.split(";")
            assert "the splinter faction" not in e.signatories.split(";")
            return
    pytest.fail("no agreement in 40 runs")


def test_ten_times_the_actors_runs():
    from peacesim.scenario import load_scenario

    scen = load_scenario("reference")
    for kind in ("spoiler", "mediator", "diplomat"):
        base = scen.actors[kind]
        scen.actors[kind] = [dict(a, name=f"{a['name']} {k}", lead=(a.get("lead", False) and k == 0)) if kind == "mediator"
                             else dict(a, name=f"{a['name']} {k}") for k in range(10) for a in base]
    for a in scen.actors["local"]:
        a["count"] *= 10
    r = peacesim.run_scenario(scen, seed=1, months=60)
    assert len(r.series) == 60


def test_numpy_integer_seeds_are_accepted():
    a = peacesim.run_scenario("reference", seed=np.int64(4), months=24)
    b = peacesim.run_scenario("reference", seed=4, months=24)
    pd.testing.assert_frame_equal(a.series, b.series)
    assert a.seed == 4 and type(a.seed) is int


def test_setting_a_field_of_a_kind_the_scenario_lacks_is_an_error():
    from peacesim.errors import InputError
    from peacesim.scenario import load_scenario

    scen = load_scenario("reference")
    scen.actors["spoiler"] = []
    with pytest.raises(InputError, match="no spoiler actors"):
        scen.with_overrides({"spoiler.capacity": 0.5})


def test_unknown_parameter_suggests_the_closest_name():
    from peacesim.errors import InputError

    with pytest.raises(InputError, match="did you mean 'handover_quality'"):
        peacesim.run_scenario("reference", seed=1, overrides={"handover_qualty": 0.5})


def test_override_of_one_actor_by_index():
    from peacesim.errors import InputError
    from peacesim.scenario import load_scenario

    scen = load_scenario("reference").with_overrides({"party[2].strength": 0.9})
    assert scen.actors["party"][1]["strength"] == 0.9
    assert scen.actors["party"][0]["strength"] != 0.9
    with pytest.raises(InputError, match="N must be from 1 to 3"):
        load_scenario("reference").with_overrides({"party[4].strength": 0.9})


@pytest.mark.parametrize("scenario,overrides", [("reference", {}), ("reference", {"coordination": "none"}),
                                                ("crowded_field", {}), ("contact_group", {}),
                                                ("mali_regional", {"coordination": "network"})])
def test_large_cast_array_updates_give_the_same_runs_as_value_by_value(monkeypatch, scenario, overrides):
    """Facilitation, diplomacy, the mean trust between the parties, each party's perception of it
    and the local aggregates work large casts with array operations and small ones value by value;
    forced onto the array path, small casts give the same runs bit for bit."""
    import peacesim.diplomacy as diplomacy
    import peacesim.facilitation as facilitation
    import peacesim.local_mechanisms as local
    import peacesim.model as model
    import peacesim.trust as trust

    plan = ["10:pressure:party=" + PeaceModel(scenario, rng=0).parties[1].name + ",strength=0.5,months=30",
            "40:incentives:party=" + PeaceModel(scenario, rng=0).parties[0].name + ",strength=0.5,months=30"]
    runs = []
    for size in (None, 0):
        if size is not None:
            for mod in (diplomacy, facilitation, local, trust):
                monkeypatch.setattr(mod, "ARRAY_SIZE", size)
            monkeypatch.setattr(model, "PERCEPTION_ARRAY_SIZE", size)
        m = PeaceModel(scenario, rng=5, overrides=overrides, interventions=plan)
        assert (m.diplomacy._arrays is not None) == (size == 0)
        assert (m.trust._pair_index is not None) == (size == 0)
        m.run()
        assert (m._perception[2] is not None) == (size == 0)
        runs.append(m)
    a, b = runs
    np.testing.assert_array_equal(a.recorder.data, b.recorder.data)
    assert a.events.items == b.events.items
    np.testing.assert_array_equal(a.trust.values, b.trust.values)


def test_a_newcomer_learning_the_context_takes_the_lead_back_when_it_is_again_the_most_effective():
    """Without a designated lead, the most effective mediator leads (skill x knowledge + leverage):
    a rotated envoy loses the lead and takes it back in the month its knowledge makes it the most
    effective again, whether or not anyone's funding changed meanwhile."""
    m = PeaceModel("reference", rng=4, overrides={"mediator.lead": False, "coordination": "contact_group",
                                                  "newcomer_knowledge": 0.1, "context_ramp_months": 12,
                                                  "tenure_mediator": 600})
    m.step()
    score = {x.name: x.skill * x.knowledge + x.leverage for x in m.mediators}
    first = m.coordination.tables[0].leader
    assert first.name == max(score, key=score.get)
    m.rotate(first)
    switched_back = None
    for _ in range(14):
        m.step()
        active = [x for x in m.mediators if m.funding.funded[x.stream]]
        best = max(active, key=lambda x: x.skill * x.knowledge + x.leverage)
        assert m.coordination.tables[0].leader is best
        if best is first and switched_back is None:
            switched_back = m.month
    assert switched_back is not None and switched_back > 2


def test_leverage_moves_a_dependent_party_more_than_a_strong_one():
    """A leverage-heavy table's push closes a share of the gap to full ripeness that grows with the
    party's dependence (1 - strength): a side that can win alone is moved less (Touval & Zartman)."""
    from peacesim.negotiation import Negotiation

    m = PeaceModel("reference", rng=1)
    strong, weak = m.parties[0], m.parties[1]
    strong.ripeness = weak.ripeness = 0.3
    strong.strength, weak.strength = 0.9, 0.2
    assert Negotiation._pushed(strong, 0.5) == pytest.approx(0.3 + 0.5 * 0.1 * 0.7)
    assert Negotiation._pushed(weak, 0.5) == pytest.approx(0.3 + 0.5 * 0.8 * 0.7)
    assert Negotiation._pushed(weak, 0.0) == 0.3


def test_series_columns_of_accented_and_non_latin_party_names(tmp_path):
    """Accents are dropped from a party's column name; a name with no Latin letter is called by its
    place among the parties, not 'actor' (which said nothing of which party it was)."""
    from peacesim.records import unique_slugs

    assert unique_slugs(["the Ejército del Pueblo", "ကချင်", "ยะลา", "the armed group"]) == [
        "ejercito_del_pueblo", "party2", "party3", "armed_group"]
    assert unique_slugs(["Party 2", "ကချင်"]) == ["party_2", "party2"]
    text = (peacesim.scenario.scenario_dir() / "reference.toml").read_text(encoding="utf-8")
    text = text.replace('"the government"', '"the Gobierno de Unión"').replace('"the armed group"', '"ကချင်"')
    path = tmp_path / "renamed.toml"
    path.write_text(text, encoding="utf-8")
    series = peacesim.run_scenario(str(path), seed=3, months=12).series
    parties = [c[len("ripeness_"):] for c in series.columns if c.startswith("ripeness_")]
    assert parties == ["gobierno_de_union", "party2", "splinter_faction"]


def test_series_columns_are_unique_when_a_name_looks_like_a_numbered_one(tmp_path):
    """'the armed group' and 'the armed-group' give one slug; the second was numbered 'armed_group_2',
    the slug of a third party called 'armed group 2', and series.csv had two columns of each name."""
    from peacesim.records import unique_slugs

    assert unique_slugs(["armed group 2", "the armed group", "the armed-group"]) == [
        "armed_group_2", "armed_group", "armed_group_3"]
    assert unique_slugs(["the armed group", "the armed-group", "armed group 2"]) == [
        "armed_group", "armed_group_3", "armed_group_2"]
    assert unique_slugs(["x", "X", "x!"]) == ["x", "x_2", "x_3"]
    text = (peacesim.scenario.scenario_dir() / "reference.toml").read_text(encoding="utf-8")
    text = text.replace('"the government"', '"armed group 2"').replace('"the splinter faction"', '"the armed-group"')
    path = tmp_path / "look_alike.toml"
    path.write_text(text, encoding="utf-8")
    series = peacesim.run_scenario(str(path), seed=3, months=12).series
    assert series.columns.is_unique
    assert [c for c in series.columns if c.startswith("pain_")] == [
        "pain_armed_group_2", "pain_armed_group", "pain_armed_group_3"]


def test_a_scenario_files_own_seed_is_the_models_when_none_is_given(tmp_path):
    """A file with 'seed = 7' (a dashboard session's re-run file) gives the run of seed 7 from
    Python too, as 'peacesim run FILE' does; a seed given still wins, and a file without one
    draws from entropy."""
    from peacesim.scenario import scenario_dir

    text = (scenario_dir() / "reference.toml").read_text(encoding="utf-8")
    seeded = tmp_path / "seeded.toml"
    seeded.write_text(text.replace("[scenario]\n", "[scenario]\nseed = 7\n", 1), encoding="utf-8")
    m = PeaceModel(seeded, months=24)
    assert m.seed == 7
    m.run()
    ref = PeaceModel("reference", rng=7, months=24)
    ref.run()
    assert np.array_equal(m.recorder.data, ref.recorder.data)
    assert PeaceModel(seeded, rng=3).seed == 3
    assert PeaceModel("reference").seed != PeaceModel("reference").seed


def test_a_run_without_agreement_has_typed_episode_columns():
    """An empty episodes table has the types of a full one, so runs' tables concatenate cleanly."""
    import warnings

    none = peacesim.run_scenario("reference", seed=7).episodes
    some = peacesim.run_scenario("reference", seed=1).episodes
    assert len(none) == 0 and len(some) > 0
    assert list(none.columns) == EPISODE_COLUMNS and none.dtypes.to_dict() == some.dtypes.to_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # pandas warns when it concatenates an all-object empty table
        both = pd.concat([none, some])
    assert both.dtypes.to_dict() == some.dtypes.to_dict()
