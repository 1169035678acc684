"""A model people can drive: Mesa-native stepping, the series so far, the network snapshot, a
SolaraViz page that constructs, steps, resets and reads the model (no browser), and the random
streams that keep comparisons on common random numbers."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import peacesim
from peacesim.errors import InputError
from peacesim.model import PeaceModel
from peacesim.streams import PROCESSES, RandomStreams


# ------------------------------------------------------------------ construction and stepping
def test_the_constructor_takes_a_name_a_path_or_a_scenario_and_keyword_inputs():
    a = PeaceModel("reference", rng=5, overrides={"coordination": "none"}, months=36)
    b = PeaceModel(peacesim.scenario.scenario_dir() / "reference.toml", rng=5, overrides=["coordination=none"],
                   months=36)
    c = PeaceModel(peacesim.load_scenario("reference").with_overrides({"coordination": "none", "months": 36}), rng=5)
    for m in (a, b, c):
        m.run()
    np.testing.assert_array_equal(a.recorder.data, b.recorder.data)
    np.testing.assert_array_equal(a.recorder.data, c.recorder.data)
    assert a.months == 36 and a.p.coordination == "none"


def test_without_a_seed_one_is_drawn_and_recorded():
    a = PeaceModel("reference")
    b = PeaceModel("reference", rng=a.seed)
    assert isinstance(a.seed, int) and a.seed >= 0
    for _ in range(24):
        a.step()
        b.step()
    np.testing.assert_array_equal(a.recorder.data[:24], b.recorder.data[:24])


@pytest.mark.parametrize("bad", [-1, 2.5, "seven", True])
def test_a_bad_seed_is_refused(bad):
    with pytest.raises(InputError, match="rng = .* is not allowed; expected the run's seed"):
        PeaceModel("reference", rng=bad)


def test_a_seed_typed_as_text_in_a_form_is_accepted():
    assert PeaceModel("reference", rng="42").seed == 42


def test_running_turns_false_at_the_horizon_and_the_agreement_in_force_is_censored_once():
    # find a seed whose agreement is still in force at a short horizon
    for seed in range(60):
        m = PeaceModel("reference", rng=seed, months=160)
        while m.running:
            assert m.month < 160
            m.step()
        if m.episodes and m.episodes[-1].end_cause == "censored at the horizon":
            break
    else:
        pytest.fail("no run with an agreement in force at the horizon")
    assert m.month == 160 and m.steps == 160 and not m.running
    n = len(m.episodes)
    rows = m.recorder.rows
    for _ in range(5):  # stepping past the horizon is harmless
        m.step()
    m.run()
    m.close()
    assert m.month == 160 and m.recorder.rows == rows and len(m.episodes) == n
    assert sum(e.end_cause == "censored at the horizon" for e in m.episodes) == 1
    assert m.agreement is None


def test_stepping_by_hand_equals_running_and_run_scenario():
    a = PeaceModel("reference", rng=17)
    while a.running:
        a.step()
    b = PeaceModel("reference", rng=17)
    b.run()
    r = peacesim.run_scenario("reference", seed=17)
    np.testing.assert_array_equal(a.recorder.data, b.recorder.data)
    pd.testing.assert_frame_equal(peacesim.RunResult.from_model(a).series, r.series)
    assert a.events.items == b.events.items
    assert (a.steps, a.time) == (b.steps, b.time) == (240, 240.0)


def test_run_after_some_steps_and_stepping_after_run_keep_mesa_time_consistent():
    a = PeaceModel("reference", rng=5, months=30)
    for _ in range(7):
        a.step()
    a.run()
    assert (a.steps, a.time, a.month) == (30, 30.0, 30)
    a.step()  # past the horizon: Mesa's clock moves on, the model does nothing
    assert (a.steps, a.time, a.month) == (31, 31.0, 30)
    b = PeaceModel("reference", rng=5, months=30)
    while b.running:
        b.step()
    np.testing.assert_array_equal(a.recorder.data, b.recorder.data)


def test_run_goes_through_mesa_events_when_the_user_scheduled_some():
    m = PeaceModel("reference", rng=3, months=12)
    seen = []

    def note():
        seen.append((m.time, m.month))

    m.schedule_event(note, at=5.5)
    m.run()
    assert seen == [(5.5, 5)]
    assert (m.steps, m.time, m.month) == (12, 12.0, 12)


def test_the_series_so_far_is_readable_at_every_step_like_a_datacollector():
    m = PeaceModel("reference", rng=3)
    for month in range(1, 31):
        m.step()
        df = m.datacollector.get_model_vars_dataframe()
        assert len(df) == month and df.index[-1] == month
        assert df["violence"].iloc[-1] == pytest.approx(m.violence)
        assert df["trust_parties"].iloc[-1] == pytest.approx(m.trust_parties)
    m.run()
    full = peacesim.run_scenario("reference", seed=3).series.set_index("month")
    pd.testing.assert_frame_equal(m.datacollector.get_model_vars_dataframe(), full)
    assert m.datacollector.model_vars["violence"] == full["violence"].tolist()
    agents = m.datacollector.get_agent_vars_dataframe()
    assert agents.index.names == ["Step", "AgentID"]
    assert len(agents) == 240 * len(m.parties)
    gov = agents.xs(m.parties[0].unique_id, level="AgentID")
    assert gov["ripeness"].tolist() == full[f"ripeness_{m.recorder.party_slugs[0]}"].tolist()


def test_a_result_read_before_the_horizon_counts_the_agreement_in_force_as_it_stands():
    """The dashboard reads results mid-run: an agreement in force is an episode censored at the
    model's month, so the outcome says an agreement was reached; at the horizon nothing changes."""
    from peacesim.result import RunResult

    m = PeaceModel("reference", rng=0)
    while m.running and m.agreement is None:
        m.step()
    assert m.agreement is not None, "seed 0 reaches an agreement"
    signed = m.month
    for _ in range(3):
        m.step()
    r = RunResult.from_model(m)
    assert r.outcome["agreement_reached"] and r.outcome["n_agreements"] == len(m.episodes) + 1
    last = r.episodes.iloc[-1]
    assert (last["signed_month"], last["end_month"], last["censored"], last["relapsed"]) == (signed, m.month, True, False)
    assert last["end_cause"] == "still in force"
    assert m.agreement is not None and m.episodes == m.implementation.episodes  # the model itself is untouched
    m.run()
    done = RunResult.from_model(m)
    assert done.outcome == peacesim.run_scenario("reference", seed=0).outcome
    assert done.episodes.iloc[-1]["end_cause"] != "still in force"


def test_a_result_reports_the_parameters_the_run_began_with():
    from peacesim.result import RunResult
    from peacesim.scenario import load_scenario

    scen = load_scenario("reference")
    m = PeaceModel(scen, rng=5)
    assert m.scenario_spec is scen  # the model keeps the caller's object: changing it must not change the report
    used = m.p.handover_quality
    scen.params["handover_quality"] = used + 0.123  # the caller's object changed after the model was built
    m.run()
    assert RunResult.from_model(m).params["handover_quality"] == used


def test_an_intervention_by_hand_that_would_leave_a_planned_one_impossible_is_refused():
    """As in one plan: a third party the plan restores may not be withdrawn first, and a mediator
    may not be added under a name the plan adds later (the replay of the session would be refused)."""
    m = PeaceModel("reference", rng=7, months=36,
                   interventions=[{"month": 20, "kind": "restore_funding", "actor": "the UN envoy"},
                                  {"month": 25, "kind": "add_mediator", "name": "the late envoy"}])
    for _ in range(9):
        m.step()
    with pytest.raises(InputError, match=r"^withdraw at month 10: not possible, because the "
                                         r"planned intervention 'restore_funding' of month 20 .*has withdrawn"):
        m.intervene("withdraw", actor="the UN envoy")
    with pytest.raises(InputError, match="planned intervention 'add_mediator' of month 25 .*already an actor's name"):
        m.intervene("add_mediator", name="the late envoy")
    assert not any(tp.withdrawn for tp in m.third_parties) and len(m.mediators) == 3
    m.intervene("withdraw", actor="the mediation NGO")  # the plan does not name it
    for _ in range(11):
        m.step()
    m.intervene("withdraw", actor="the UN envoy")  # month 21: the plan's restoring is behind
    m.run()
    assert [x["kind"] for x in m.applied_interventions] == ["withdraw", "restore_funding", "withdraw", "add_mediator"]


def test_the_network_snapshot_has_every_actor_and_directed_trust():
    m = PeaceModel("reference", rng=4, overrides={"grant_length": 1, "renewal_probability": 0.0, "gap_months": 36.0})
    for _ in range(12):
        m.step()
    m.intervene("withdraw", actor="the regional organisation")
    m.step()
    g = m.network()
    assert isinstance(g, nx.DiGraph) and g.graph["month"] == 13
    assert g.number_of_nodes() == m.n_actors
    kinds = nx.get_node_attributes(g, "kind")
    assert sorted(set(kinds.values())) == ["diplomat", "local", "mediator", "party", "spoiler"]
    ngo = g.nodes["the mediation NGO"]
    assert ngo["funded"] is m.actor("the mediation NGO").active
    assert g.nodes["the regional organisation"]["vacant"] and g.nodes["the regional organisation"]["state"] == "withdrawn"
    gov, armed = m.parties[0], m.parties[1]
    assert g.edges[gov.name, armed.name]["trust"] == pytest.approx(m.trust.matrix[gov.idx, armed.idx])
    assert g.edges[armed.name, gov.name]["trust"] == pytest.approx(m.trust.matrix[armed.idx, gov.idx])
    non_local = len(m.parties) + len(m.spoilers) + len(m.third_parties)
    assert g.number_of_edges() == non_local * (non_local - 1)
    assert all(0.0 <= t <= 1.0 for _, _, t in g.edges(data="trust"))


# ------------------------------------------------------------------ a SolaraViz page, without a browser
def test_a_solaraviz_page_constructs_steps_to_the_horizon_resets_and_reads_the_model():
    import ipyvuetify as vw
    import solara
    from mesa.visualization import SolaraViz, make_plot_component

    plan = [{"month": 30, "kind": "cut_funding", "actor": "the mediation NGO", "months": 6}]
    model = solara.reactive(PeaceModel("reference", rng=7, interventions=plan))
    params = {
        "scenario_ref": {"type": "Select", "value": "reference", "values": [p.stem for p in peacesim.list_scenarios()],
                         "label": "Scenario"},
        "rng": {"type": "InputText", "value": 7, "label": "Seed"},
        "interventions": plan,  # a fixed parameter: passed as it is on every reset
    }
    @solara.component
    def Page():
        # A Solara server puts every page in an AppLayout, which holds SolaraViz's sidebar.
        with solara.AppLayout():
            SolaraViz(model, components=[make_plot_component(["violence", "trust_parties"])], model_params=params,
                      render_interval=60, name="peacesim")

    _, rc = solara.render(Page(), handle_error=False)
    step = rc.find(vw.Btn, children=["Step"])
    first = model.value
    for _ in range(4):
        step.widget.click()
    assert first.month == 240 and not first.running
    series = first.datacollector.get_model_vars_dataframe()
    assert len(series) == 240
    assert first.applied_interventions[0]["month"] == 30
    rc.find(vw.Btn, children=["Reset"]).widget.click()
    again = model.value
    assert again is not first and again.month == 0 and again.running and again.seed == 7
    assert again.scenario_spec.name == "reference" and again.plan[0].kind == "cut_funding"
    for _ in range(4):
        rc.find(vw.Btn, children=["Step"]).widget.click()
    pd.testing.assert_frame_equal(again.datacollector.get_model_vars_dataframe(), series)


# ------------------------------------------------------------------ random streams
def test_each_process_has_its_own_stream_spawned_from_the_seed():
    s = RandomStreams(11)
    streams = [s[name] for name in PROCESSES]
    assert len({id(x) for x in streams}) == len(PROCESSES)
    firsts = [x.random() for x in streams]
    assert len(set(firsts)) == len(firsts)
    t = RandomStreams(11)
    assert [t[name].random() for name in PROCESSES] == firsts
    shared = RandomStreams(11, shared=True)
    assert len({id(shared[name]) for name in PROCESSES}) == 1


def _states(model):
    return {name: model.streams[name].getstate() for name in PROCESSES}


def test_an_intervention_changes_only_the_draws_of_what_it_touches():
    a = PeaceModel("reference", rng=21)
    b = PeaceModel("reference", rng=21, interventions=["20:cut_funding:actor=the mediation NGO,months=30",
                                                       "25:attack:spoiler=the militia"])
    for _ in range(120):
        a.step()
        b.step()
    sa, sb = _states(a), _states(b)
    # the month's blocks of draws are the same in both runs, whatever happened in them
    for name in ("fighting", "spoilers", "custody", "local", "negotiation", "implementation", "setup"):
        assert sa[name] == sb[name], name
    assert sa["interventions"] != sb["interventions"]  # the staged attack drew from its own stream
    assert not np.array_equal(a.recorder.data, b.recorder.data)  # and the runs do differ


def test_a_strategy_changes_only_the_draws_of_what_it_touches():
    a = PeaceModel("reference", rng=22, overrides={"coordination": "hierarchical"})
    b = PeaceModel("reference", rng=22, overrides={"coordination": "contact_group"})
    for _ in range(240):
        a.step()
        b.step()
    sa, sb = _states(a), _states(b)
    for name in ("fighting", "spoilers", "custody", "local", "negotiation", "implementation"):
        assert sa[name] == sb[name], name


def test_with_one_shared_stream_the_same_change_shifts_every_draw():
    a = PeaceModel("reference", rng=21, shared_stream=True)
    b = PeaceModel("reference", rng=21, shared_stream=True,
                   interventions=["20:cut_funding:actor=the mediation NGO,months=30", "25:attack:spoiler=the militia"])
    for _ in range(120):
        a.step()
        b.step()
    assert a.streams.fighting.getstate() != b.streams.fighting.getstate()


def test_a_block_stream_gives_the_numbers_random_random_would_in_the_same_order():
    """Blocks made in bulk (numpy's MT19937 seeded as random.Random seeds) are random.Random's own
    numbers, through refills and single draws between blocks, for seeds of every length."""
    import random

    from peacesim.streams import BlockStream, stream_seed

    seeds = [0, 1, 2**32 - 1, 2**32, 12345678901234567890, stream_seed(np.random.SeedSequence(7))]
    for seed in seeds:
        s, r = BlockStream(seed, months=3), random.Random(seed)
        got, want = [], []
        for k in (5, 1, 7, 0, 40, 3, 200, 2):  # the first block sets the first fill: later ones refill
            got += list(s.uniforms(k))
            want += [r.random() for _ in range(k)]
            got.append(s.random())
            want.append(r.random())
        assert got == want
        assert s.getstate() == (seed, len(want))


def test_without_numpy_legacy_seeding_the_stream_falls_back_to_random_random(monkeypatch):
    import random

    import peacesim.streams as streams

    engine = streams.threading.local()
    engine.bits = False  # what the first fill leaves when numpy cannot seed an MT19937 the legacy way
    monkeypatch.setattr(streams, "_ENGINE", engine)
    s = streams.BlockStream(99, months=2)
    r = random.Random(99)
    assert list(s.uniforms(10)) + [s.random()] == [r.random() for _ in range(11)]


@pytest.mark.parametrize("scenario", ["reference", "crowded_field"])
def test_a_model_pickled_or_copied_mid_run_goes_on_exactly_as_the_original(scenario):
    """Checkpointing a run (pickle) or copying it (deepcopy) keeps everything it needs: the trust
    values' row views and the block streams' numbers are made again, the same ones."""
    import copy
    import pickle

    import peacesim.diplomacy as diplomacy
    import peacesim.facilitation as facilitation
    import peacesim.model as model
    import peacesim.trust as trust

    for size in (64, 0):  # value by value, and with the large casts' array operations
        facilitation.ARRAY_SIZE = diplomacy.ARRAY_SIZE = trust.ARRAY_SIZE = model.PERCEPTION_ARRAY_SIZE = size
        try:
            a = PeaceModel(scenario, rng=9, interventions=["30:add_mediator:name=the late envoy,lead=false"])
            for _ in range(40):
                a.step()
            b = pickle.loads(pickle.dumps(a))
            c = copy.deepcopy(a)
            for m in (a, b, c):
                m.run()
            np.testing.assert_array_equal(a.recorder.data, b.recorder.data)
            np.testing.assert_array_equal(a.recorder.data, c.recorder.data)
            assert a.events.items == b.events.items == c.events.items
        finally:
            facilitation.ARRAY_SIZE = diplomacy.ARRAY_SIZE = trust.ARRAY_SIZE = model.PERCEPTION_ARRAY_SIZE = 64


def test_a_block_stream_makes_a_very_long_run_s_numbers_in_doubling_steps_not_all_at_once():
    import random

    from peacesim.streams import FIRST_FILL_MAX, BlockStream

    s, r = BlockStream(5, months=10**6), random.Random(5)
    first = list(s.uniforms(500))
    assert s._n <= FIRST_FILL_MAX  # not 500 x a million numbers at the first draw
    assert first == [r.random() for _ in range(500)]
