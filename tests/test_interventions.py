"""Interventions: each does what its declaration says, every entry point applies it the same way,
and bad input is one line naming where, what and what is allowed."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import peacesim
from peacesim import cli
from peacesim.errors import InputError
from peacesim.interventions import INTERVENTIONS, Planned, parse_cli
from peacesim.model import PeaceModel
from peacesim.params import ACTOR_FIELDS

NGO = "the mediation NGO"
ENVOY = "the UN envoy"


def stepped(model: PeaceModel, months: int) -> PeaceModel:
    for _ in range(months):
        model.step()
    return model


def kinds_at(model: PeaceModel, month: int) -> list[str]:
    return [e[1] for e in model.events.items if e[0] == month]


# ------------------------------------------------------------------ declarations
def test_every_intervention_is_declared_with_meaning_source_and_typed_arguments():
    assert {"rotate", "cut_funding", "restore_funding", "add_mediator", "withdraw", "coordination", "attack",
            "pressure", "incentives", "link_local", "protect_local", "set"} <= set(INTERVENTIONS)
    for kind, spec in INTERVENTIONS.items():
        assert spec.kind == kind and spec.meaning and spec.source
        for name, p in spec.args.items():
            assert p.name == name and p.meaning, (kind, name)
            assert p.kind in ("float", "int", "bool", "choice", "str"), (kind, name)
    # add_mediator takes every field of a [[mediator]] entry (its kind as 'organisation')
    assert len(INTERVENTIONS["add_mediator"].args) == len(ACTOR_FIELDS["mediator"])
    assert "organisation" in INTERVENTIONS["add_mediator"].args


# ------------------------------------------------------------------ what each one does
def test_rotate_replaces_the_person_now_and_keeps_the_rotation_share_of_capital():
    m = stepped(PeaceModel("reference", rng=3), 20)
    envoy = m.actor(ENVOY)
    person, rotations = envoy.person, m.counters["rotations"]
    base = m.p.trust_baseline
    before = m.trust.matrix[0, envoy.idx]
    m.intervene("rotate", actor="UN envoy")  # the article may be left out
    assert envoy.person == person + 1 and envoy.months_in_post == 0
    assert m.trust.matrix[0, envoy.idx] == pytest.approx(base + m._retained * (before - base))
    assert m.counters["rotations"] == rotations + 1 and m.counters["interventions"] == 1
    assert kinds_at(m, 21) == ["intervention", "rotation"]  # the decision, then what it cost
    assert m.applied_interventions == [{"month": 21, "kind": "rotate", "actor": ENVOY}]


def test_cut_funding_idles_the_actor_for_its_months_then_it_works_again():
    m = stepped(PeaceModel("reference", rng=3, overrides={"renewal_probability": 1.0}), 10)
    ngo = m.actor(NGO)
    assert ngo.active
    m.intervene("cut_funding", actor=NGO, months=6)
    m.step()  # month 11
    assert not ngo.active and all(ngo not in tb.members for tb in m.tables)
    stepped(m, 4)  # months 12..15
    assert not ngo.active
    m.step()  # month 16 = 11 + 5: still in the gap
    m.step()  # month 17 = 11 + 6: the gap closes
    assert ngo.active
    resumed = [e for e in m.events.items if e[1] == "funding_resumed" and e[2] == (NGO,)]
    assert resumed and resumed[-1][0] == 17


def test_cut_until_restored_and_restore():
    m = stepped(PeaceModel("reference", rng=4), 5)
    envoy = m.actor(ENVOY)  # core-funded: never lapses by itself
    m.intervene("cut_funding", actor=ENVOY)
    stepped(m, 30)
    assert not envoy.active
    m.intervene("restore_funding", actor=ENVOY)
    m.step()
    assert envoy.active
    stepped(m, 60)
    assert envoy.active  # a restored core stream stays funded


def test_add_mediator_joins_the_field_with_newcomer_knowledge_and_may_take_the_lead():
    m = stepped(PeaceModel("reference", rng=5), 12)
    n_actors = m.n_actors
    m.intervene("add_mediator", name="the Swiss envoy", organisation="state", skill=0.8, lead=True)
    swiss = m.actor("the Swiss envoy")
    assert swiss in m.mediators and swiss.active and swiss.lead
    assert not m.actor(ENVOY).lead
    assert swiss.knowledge == pytest.approx(m.p.newcomer_knowledge)
    assert m.n_actors == n_actors + 1 == len(m.agents) and m.trust.matrix.shape == (n_actors + 1, n_actors + 1)
    m.step()
    assert m.tables and m.tables[0].leader is swiss  # hierarchical: the designated lead leads
    m.run()
    assert m.month == 240


def test_withdraw_leaves_the_post_vacant_for_good():
    m = stepped(PeaceModel("reference", rng=6), 30)
    ngo = m.actor(NGO)
    m.intervene("withdraw", actor=NGO)
    persons = ngo.person
    stepped(m, 100)
    assert not ngo.active and ngo.withdrawn
    assert ngo.person == persons  # no one is posted there any more
    assert all(ngo not in tb.members for tb in m.tables)
    # trust in the vacant post fades toward the baseline
    assert abs(m.trust.matrix[0, ngo.idx] - m.p.trust_baseline) < 0.02
    with pytest.raises(InputError, match="has withdrawn"):
        m.intervene("restore_funding", actor=NGO)
    assert m.network().nodes[NGO]["vacant"]


def test_coordination_switch_reforms_the_tables_next_month():
    m = stepped(PeaceModel("reference", rng=7, overrides={"renewal_probability": 1.0}), 6)
    assert len(m.tables) == 1 and m.tables[0].coordinated
    m.intervene("coordination", strategy="none")
    m.step()
    assert m.p.coordination == "none"
    assert len(m.tables) == m.mediators_active and not any(tb.coordinated for tb in m.tables)
    ev = [e for e in m.events.items if e[1] == "intervention"][-1]
    assert ev[3]["was"] == "hierarchical" and ev[3]["strategy"] == "none"


def test_a_staged_attack_happens_that_month():
    m = stepped(PeaceModel("reference", rng=8), 14)
    attacks = m.counters["attacks"]
    m.intervene("attack", spoiler="the jihadist cell")
    m.step()
    assert m.counters["attacks"] >= attacks + 1
    at15 = [e for e in m.events.items if e[0] == 15]
    assert at15[0][1] == "intervention"
    assert any(e[1] == "attack" and e[2] == ("the jihadist cell",) for e in at15)
    # without a name, the spoiler with the most capacity
    m.intervene("attack")
    assert m.events.items[-2][2] == (max(m.spoilers, key=lambda s: s.capacity).name,)


def test_pressure_adds_pain_only_for_its_months():
    kw = dict(rng=9, overrides={"pressure_rate": 0.2})
    a, b = PeaceModel("reference", **kw), PeaceModel("reference", **kw)
    b.intervene("pressure", party="the armed group", strength=1.0, months=3)
    stepped(a, 3)
    stepped(b, 3)
    armed = 1
    assert b.parties[armed].pain > a.parties[armed].pain
    assert b.pressure[armed] == pytest.approx(a.pressure[armed] + 0.2)
    stepped(a, 1)
    stepped(b, 1)
    assert b.pressure[armed] == pytest.approx(a.pressure[armed])  # month 4: over


def test_incentives_enter_the_way_out():
    a, b = PeaceModel("reference", rng=10), PeaceModel("reference", rng=10)
    b.intervene("incentives", party="the government", strength=0.4, months=2)
    a.step()
    b.step()
    assert b.incentives[0] == pytest.approx(min(1.0, a.incentives[0] + 0.4))
    assert b.parties[0].way_out > a.parties[0].way_out


def test_link_and_protect_local_mechanisms():
    m = PeaceModel("reference", rng=11, overrides={"target_risk": 0.5})
    linked = m.locals_linked
    m.intervene("link_local", count=3, group="community dispute-resolution committees")
    assert m.locals_linked == linked + 3
    m.intervene("protect_local")
    assert all(m.local.protected)
    m.run()
    assert not any(e[1] == "local_targeted" for e in m.events.items)
    done = [e[3]["done"] for e in m.events.items if e[1] == "intervention"]
    assert done == [3, 12]


def test_set_changes_a_parameter_from_that_month_on():
    m = stepped(PeaceModel("reference", rng=12), 50)
    m.intervene("set", name="post_signature_support", value=0.1)
    assert m.p.post_signature_support == 0.1
    m.intervene("set", name="team_continuity", value=1.0)
    assert m._retained == pytest.approx(1.0)  # derived quantities follow
    ev = [e for e in m.events.items if e[1] == "intervention"]
    assert ev[0][3]["was"] == 0.6 and ev[0][3]["value"] == 0.1
    assert m.scenario_spec.params["post_signature_support"] == 0.6  # the inputs are not rewritten


def test_set_trust_baseline_moves_what_trust_drifts_toward():
    a = stepped(PeaceModel("reference", rng=12, overrides={"coordination": "none"}), 30)
    b = stepped(PeaceModel("reference", rng=12, overrides={"coordination": "none"}), 30)
    b.intervene("set", name="trust_baseline", value=0.9)
    assert b.trust.baseline == 0.9 and a.trust.baseline == pytest.approx(0.306)
    ngo = a.actor(NGO).idx
    assert a.trust.get(0, ngo) == b.trust.get(0, ngo)
    stepped(a, 1), stepped(b, 1)
    # one month's drift: T + drift * (baseline - T), from the same value toward two baselines
    t0 = a.trust.get(0, ngo)
    assert b.trust.get(0, ngo) > t0
    drift = a.p.trust_drift
    assert b.trust.get(0, ngo) - t0 == pytest.approx(drift * (0.9 - 0.306), rel=0.2)


def test_more_blamed_attacks_than_the_block_holds_shift_no_later_month_of_draws():
    """Retaliation for a fourth blamed attack in a month draws from a stream of its own: the
    implementation stream still gives one block a month (docs/ODD.md 4.9)."""
    from peacesim.agents import IMPLEMENTATION
    from peacesim.agreement import BLAMED_ATTACKS_DRAWN

    for seed in range(40):
        m = PeaceModel("reference", rng=seed, overrides={"attribution_without": 0.0,
                                                         "attribution_with_verification": 0.0})
        while m.running and m.phase is not IMPLEMENTATION:
            m.step()
        if m.running and m.month < m.months - 2:
            break
    else:
        pytest.fail("no run reached implementation")
    before = m.streams.retaliation.getstate()
    spoiler = m.spoilers[0].name
    for _ in range(BLAMED_ATTACKS_DRAWN + 2):
        m.intervene("attack", spoiler=spoiler)
    m.step()
    assert m.phase is not IMPLEMENTATION or m.implementation.blamed_attacks == 0
    assert sum(1 for e in m.events.items if e[0] == m.month and e[1] == "attack") >= BLAMED_ATTACKS_DRAWN + 2
    block = m.implementation.block()
    assert m.streams.implementation.getstate()[1] == block * m.month
    assert m.streams.retaliation.getstate() != before


def test_interventions_are_in_the_narrative_the_summary_and_the_figure(tmp_path):
    r = peacesim.run_scenario("reference", seed=7, interventions=["24:cut_funding:actor=the mediation NGO,months=12",
                                                                    "60:rotate:actor=the UN envoy"])
    lines = r.narrative()
    assert "Month 24: Intervention: the mediation NGO's funding is cut for 12 months" in "\n".join(lines)
    assert any(x.startswith("Month 60: Intervention: the UN envoy is rotated out now") for x in lines)
    from peacesim.narrative import summary
    assert "Interventions: 2 (month 24: cut funding; month 60: rotate)." in summary(r)
    from peacesim.plotting import INTERVENTION_COLOUR, plot_timeline
    fig = plot_timeline(r)
    marks = {a.get_gid() for ax in fig.axes for a in ax.lines if (a.get_gid() or "").startswith("intervention:")}
    assert marks == {"intervention:24", "intervention:60"}
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "cut funding: mediation NGO" in texts and "rotate: UN envoy" in texts
    from matplotlib.colors import to_rgb

    strip = next(ax for ax in fig.axes if ax.get_label() == "events")
    stars = [c for c in strip.collections if np.allclose(c.get_facecolor()[0][:3], to_rgb(INTERVENTION_COLOUR))]
    # on their lines, at the start of their months (month m spans m - 0.5 to m + 0.5, as the phases do)
    assert len(stars) == 1 and sorted(stars[0].get_offsets()[:, 0].tolist()) == [23.5, 59.5]
    assert "interventions" in [t.get_text() for t in strip.get_yticklabels()]
    # without interventions the figure has no intervention marks and no row for them
    plain = plot_timeline(peacesim.run_scenario("reference", seed=7))
    strip = next(ax for ax in plain.axes if ax.get_label() == "events")
    assert "interventions" not in [t.get_text() for t in strip.get_yticklabels()]
    assert not any((a.get_gid() or "").startswith("intervention") for ax in plain.axes for a in ax.lines)


# ------------------------------------------------------------------ the same run from every entry point
PLAN = [{"month": 18, "kind": "cut_funding", "actor": NGO, "months": 9},
        {"month": 40, "kind": "add_mediator", "name": "the Nordic envoy", "organisation": "state", "skill": 0.7},
        {"month": 40, "kind": "pressure", "party": "the armed group", "strength": 0.8, "months": 12},
        {"month": 75, "kind": "rotate", "actor": "the Nordic envoy"},
        {"month": 90, "kind": "set", "name": "post_signature_support", "value": 0.3}]
CLI_PLAN = ["18:cut_funding:actor=the mediation NGO,months=9",
            "40:add_mediator:name=the Nordic envoy,organisation=state,skill=0.7",
            "40:pressure:party=the armed group,strength=0.8,months=12",
            "75:rotate:actor=the Nordic envoy",
            "90:set:name=post_signature_support,value=0.3"]


def _toml_value(v):
    return json.dumps(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else repr(v)


def scenario_with_plan(tmp_path):
    text = (peacesim.scenario.scenario_dir() / "reference.toml").read_text()
    for x in PLAN:
        text += "\n[[intervention]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in x.items())
    path = tmp_path / "planned.toml"
    path.write_text(text)
    return path


def test_the_same_run_from_a_file_the_command_line_python_and_stepping(tmp_path):
    seed = 7
    from_file = peacesim.run_scenario(scenario_with_plan(tmp_path), seed=seed)
    from_dicts = peacesim.run_scenario("reference", seed=seed, interventions=PLAN)
    from_texts = peacesim.run_scenario("reference", seed=seed, interventions=CLI_PLAN)
    model = PeaceModel("reference", rng=seed)
    for month in range(1, 241):
        for x in (x for x in PLAN if x["month"] == month):
            args = {k: v for k, v in x.items() if k not in ("month", "kind")}
            model.intervene(x["kind"], **args)
        model.step()
    stepping = peacesim.RunResult.from_model(model)
    out = tmp_path / "cli"
    assert cli.main(["run", "reference", "--seed", str(seed), "--quiet", "--no-figure", "--out", str(out),
                     *[f"--intervene={t}" for t in CLI_PLAN]]) == 0
    for other in (from_dicts, from_texts, stepping):
        pd.testing.assert_frame_equal(from_file.series, other.series)
        pd.testing.assert_frame_equal(from_file.episodes, other.episodes)
        pd.testing.assert_frame_equal(from_file.events, other.events)
        assert from_file.outcome == other.outcome
    assert from_file.outcome["interventions"] == 5
    pd.testing.assert_frame_equal(pd.read_csv(out / "series.csv"),
                                  pd.read_csv(pd.io.common.StringIO(from_file.series.to_csv(index=False))))
    doc = json.loads((out / "outcome.json").read_text())
    assert doc["inputs"]["intervene"] == CLI_PLAN
    # a plan differs from no plan (the interventions do something)
    plain = peacesim.run_scenario("reference", seed=seed)
    assert not plain.series["trust_parties"].equals(from_file.series["trust_parties"])


def test_interventions_are_applied_before_the_month_and_identical_to_calling_between_steps():
    a = PeaceModel("reference", rng=2, interventions=["30:link_local:count=2"])
    b = PeaceModel("reference", rng=2)
    stepped(a, 29)
    stepped(b, 29)
    b.intervene("link_local", count=2)
    a.step()
    b.step()
    assert a.events.items == b.events.items
    np.testing.assert_array_equal(a.recorder.data[:30], b.recorder.data[:30])


# ------------------------------------------------------------------ bad input, as one line
BAD_CLI = {
    "unknown kind": ("24:teleport:actor=the UN envoy", "kind = 'teleport' is not an intervention; allowed: rotate,"),
    "misspelt kind": ("24:rotat:actor=the UN envoy", "(did you mean 'rotate'?)"),
    "unknown actor": ("24:rotate:actor=the Pope", "actor = 'the Pope' is not a mediator or diplomat of the scenario;"
                                                  " allowed: 'the UN envoy'"),
    "party as third party": ("24:rotate:actor=the government", "is not a mediator or diplomat"),
    "past the horizon": ("300:rotate:actor=the UN envoy", "month = 300 is past the horizon; allowed: 1 to 240"),
    "month zero": ("0:rotate:actor=the UN envoy", "month = 0 is not allowed; months count from 1, the run's first "
                                                  "month, to its horizon"),
    "wrong argument": ("24:rotate:person=the UN envoy", "rotate has no argument 'person'; allowed: actor"),
    "missing argument": ("24:rotate", "rotate needs actor = ..."),
    "out of bounds": ("24:pressure:party=the government,strength=2", "strength = 2 is not allowed; expected a "
                                                                      "number from 0 to 1"),
    "wrong type": ("24:cut_funding:actor=the UN envoy,months=soon", "months = 'soon' is not allowed"),
    "bad syntax": ("24-rotate", "is not of the form MONTH:KIND[:ARG=VALUE,ARG=VALUE...]"),
    "fixed parameter": ("24:set:name=months,value=100", "cannot change during a run: the horizon is fixed"),
    "unknown parameter": ("24:set:name=handover_qualty,value=0.5", "(did you mean 'handover_quality'?)"),
    "bad strategy": ("24:coordination:strategy=anarchy", "strategy = 'anarchy' is not allowed; expected one of"),
    "no local group": ("24:link_local:group=village elders", "group = 'village elders' is not a [[local]] entry"),
    "duplicate name": ("24:add_mediator:name=the UN envoy", "is already an actor's name"),
}


@pytest.mark.parametrize("case", sorted(BAD_CLI))
def test_bad_intervention_on_the_command_line_is_one_line_and_writes_nothing(case, tmp_path, capsys):
    text, expected = BAD_CLI[case]
    out = tmp_path / "out"
    code = cli.main(["run", "reference", "--out", str(out), "--intervene", text])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("peacesim: error: --intervene") and err.count("\n") == 1, err
    assert expected in err, err
    assert not out.exists()


def test_withdrawn_actor_named_later_in_a_plan_is_refused():
    with pytest.raises(InputError, match=r"intervention 'rotate' \(month 50, rotate\): rotate: actor = 'the mediation "
                                         r"NGO' has withdrawn from the field earlier"):
        PeaceModel("reference", rng=1, interventions=["40:withdraw:actor=the mediation NGO",
                                                      "50:rotate:actor=the mediation NGO"])


def test_a_mediator_added_earlier_in_the_plan_can_be_named_later():
    m = PeaceModel("reference", rng=1, interventions=["70:rotate:actor=the Nordic envoy",
                                                      "40:add_mediator:name=the Nordic envoy"])
    m.run()
    assert [x["kind"] for x in m.applied_interventions] == ["add_mediator", "rotate"]


def test_bad_intervention_in_a_scenario_file_names_the_file_and_the_entry(tmp_path):
    text = (peacesim.scenario.scenario_dir() / "reference.toml").read_text()
    path = tmp_path / "bad.toml"
    path.write_text(text + '\n[[intervention]]\nmonth = 12\nkind = "rotate"\nactor = "the UN envoy"\nmood = "grim"\n')
    r = subprocess.run([sys.executable, "-m", "peacesim", "run", str(path), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert r.stderr.startswith(f"peacesim: error: {path}: intervention #1 (month 12): rotate has no argument 'mood'")
    assert not (tmp_path / "o").exists()
    path.write_text(text + '\n[[intervention]]\nmonth = 999\nkind = "rotate"\nactor = "the UN envoy"\n')
    r = subprocess.run([sys.executable, "-m", "peacesim", "run", str(path), "--out", str(tmp_path / "o")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "month = 999 is past the horizon; allowed: 1 to 240" in r.stderr
    path.write_text(text + '\n[[intervention]]\nkind = "rotate"\nactor = "the UN envoy"\n')
    with pytest.raises(InputError, match=r"intervention #1: missing month"):
        peacesim.load_scenario(path)


def test_intervening_after_the_horizon_or_with_bad_arguments_from_python():
    m = PeaceModel("reference", rng=1, months=24)
    with pytest.raises(InputError, match="cut_funding has no argument 'month'"):
        m.intervene("cut_funding", actor=NGO, month=3)
    m.run()
    with pytest.raises(InputError, match=r"^rotate at month 25: the run has ended \(month 24 of 24\)"):
        m.intervene("rotate", actor=ENVOY)  # in words a trainer reads on the page, not Python's


def test_cli_text_round_trip():
    x = parse_cli("36:cut_funding:actor=the mediation NGO,months=12")
    assert x == Planned(36, "cut_funding", {"actor": NGO, "months": 12}, origin=x.origin)
    assert parse_cli(x.cli()).args == x.args
    assert x.as_dict() == {"month": 36, "kind": "cut_funding", "actor": NGO, "months": 12}


def test_peacesim_interventions_lists_every_kind_and_one_in_detail(capsys):
    assert cli.main(["interventions"]) == 0
    out = capsys.readouterr().out
    for kind in INTERVENTIONS:
        assert f"\n{kind}\n" in out
    assert cli.main(["interventions", "pressure"]) == 0
    out = capsys.readouterr().out
    assert "strength" in out and "0 .. 1; default 0.5" in out and "rotate" not in out
    assert cli.main(["interventions", "teleport"]) == 2


# ------------------------------------------------------------------ experiments vary interventions like factors
EXPERIMENT = """
[experiment]
title = "cutting the NGO's grant"
scenario = "reference"
replicates = 3
master_seed = 5
months = 96

[[intervention]]
label = "cut"
month = 24
kind = "cut_funding"
actor = "the mediation NGO"
months = 24

[vary]
"intervention.cut.enabled" = [true, false]
"intervention.cut.month" = [12, 36]
"""


def test_an_experiment_varies_an_intervention_with_and_without_and_its_month(tmp_path):
    from peacesim.experiment import load_experiment
    from peacesim.sweep import run_experiment

    path = tmp_path / "cut.toml"
    path.write_text(EXPERIMENT)
    exp = load_experiment(path)
    assert exp.columns == ["intervention.cut.enabled", "intervention.cut.month"]
    run_experiment(exp, executor="serial", out=tmp_path / "o", progress=False)
    runs = pd.read_parquet(tmp_path / "o" / "runs.parquet")
    assert len(runs) == 12 and (runs.status == "ok").all()
    assert (runs.loc[runs["intervention.cut.enabled"], "interventions"] == 1).all()
    assert (runs.loc[~runs["intervention.cut.enabled"], "interventions"] == 0).all()
    # each run is the run_scenario of its design point: the month of the cut is the factor's
    row = runs[(runs["intervention.cut.enabled"]) & (runs["intervention.cut.month"] == 36)].iloc[0]
    r = peacesim.run_scenario("reference", seed=int(row.seed), months=96, interventions=[
        {"month": 36, "kind": "cut_funding", "actor": NGO, "months": 24}])
    assert r.outcome["funding_gaps"] == row.funding_gaps and r.outcome["total_violence"] == row.total_violence


MONTH_FACTOR = '"intervention.cut.month" = [12, 36]'
ENABLED_FACTOR = '"intervention.cut.enabled" = [true, false]'


@pytest.mark.parametrize("old,new,expected", [
    (MONTH_FACTOR, '"intervention.cat.month" = [12, 36]', "no intervention is labelled 'cat'; labels: 'cut'"),
    (MONTH_FACTOR, '"intervention.cut.colour" = [1, 2]', "cut_funding has no argument 'colour'"),
    (MONTH_FACTOR, '"intervention.cut.month" = [12, 500]', "month = 500 is past the horizon; allowed: 1 to 96"),
    (ENABLED_FACTOR, '"intervention.cut.enabled" = [true, "sometimes"]', "enabled = 'sometimes' is not allowed"),
    ('actor = "the mediation NGO"', 'actor = "the Pope"', "actor = 'the Pope' is not a mediator or diplomat"),
])
def test_bad_intervention_factors_are_refused_before_any_run(tmp_path, old, new, expected, capsys):
    text = EXPERIMENT.replace(old, new)
    path = tmp_path / "bad.toml"
    path.write_text(text)
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("peacesim: error:") and err.count("\n") == 1 and expected in err, err
    assert not (tmp_path / "o").exists()


def test_show_lists_a_scenarios_planned_interventions(tmp_path, capsys):
    path = scenario_with_plan(tmp_path)
    assert cli.main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Interventions planned" in out
    # with the labels --set intervention.LABEL.FIELD needs ('show' gave none)
    assert "month   18  [cut_funding]  cut_funding:actor=the mediation NGO,months=9" in out
    assert "month   90  [set]  set:name=post_signature_support,value=0.3" in out
    assert "--set intervention.LABEL.FIELD=VALUE" in out


def test_the_timeline_names_interventions_as_written_within_its_first_panel(tmp_path):
    """Names keep their capitals and accents; a month's labels fit the panel they are written in."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from peacesim.plotting import plot_timeline

    r = peacesim.run_scenario("crowded_field", seed=1, interventions=[
        "25:coordination:strategy=contact_group", "25:withdraw:actor=UN envoy",
        "25:withdraw:actor=Gulf mediating state", "30:add_mediator:name=l'envoyé spécial de l'UA",
        "40:set:name=post_signature_support,value=0.3"])
    fig = plot_timeline(r)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    panel = fig.axes[0].get_window_extent()
    texts = {t.get_text(): t for t in fig.axes[0].texts}
    assert any(x.startswith("add mediator: l'envoyé spé") for x in texts)  # accents and capitals kept
    assert any(x.startswith("3 interventions: ") for x in texts)
    assert any(x.startswith("post signature support = 0.3") for x in texts)
    for text, t in texts.items():
        box = t.get_window_extent(canvas.get_renderer())
        assert box.y0 >= panel.y0 - 1, text  # not written down into the panel below


@pytest.mark.parametrize("key, typo", [("kind", "kynd"), ("month", "mnth")])
def test_a_misspelt_kind_or_month_of_a_planned_intervention_is_named(tmp_path, key, typo):
    text = (peacesim.scenario.scenario_dir() / "reference.toml").read_text(encoding="utf-8")
    path = tmp_path / "k.toml"
    path.write_text(text + '\n[[intervention]]\nmonth = 5\nkind = "rotate"\nactor = "UN envoy"\n'.replace(
        f"\n{key} =", f"\n{typo} ="), encoding="utf-8")
    with pytest.raises(InputError, match=rf"intervention #1: missing {key} = \.\.\. \({typo} = .* is there: a "
                                         rf"misspelling of {key}\?\)"):
        peacesim.load_scenario(path)


@pytest.mark.parametrize("typed", ["--5", "\u00b2", "-0"])
def test_odd_month_texts_on_the_command_line_are_one_line(typed, tmp_path, capsys):
    assert cli.main(["run", "reference", "--months", "12", "--out", str(tmp_path / "o"), f"--intervene={typed}:rotate"]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert "month = " in line and "Traceback" not in line


def test_a_real_argument_is_not_taken_for_a_misspelt_month():
    from peacesim.interventions import parse_plan

    with pytest.raises(InputError) as info:
        parse_plan([{"kind": "cut_funding", "months": 12, "actor": "UN envoy"}], where="f.toml")
    assert "missing month = ..." in str(info.value) and "misspelling" not in str(info.value)


def test_a_name_holding_a_comma_on_the_command_line_is_refused_saying_where_it_can_be_given():
    """An actor's name may hold a comma ('the NGO, Inc'), but --intervene separates its arguments
    with commas: the refusal says so and where such a name can be given."""
    from peacesim.interventions import parse_cli

    with pytest.raises(InputError) as err:
        parse_cli("24:rotate:actor=the NGO, Inc")
    msg = str(err.value)
    assert "'Inc' is not of the form ARG=VALUE" in msg
    assert "actor = 'the NGO, Inc' cannot be given here" in msg and "[[intervention]] table" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("text", ["24:rotete:actor=" + "x" * 5000, "24:rotate:act" + "x" * 5000 + "=3",
                                  "24:rotate:" + "x" * 5000])
def test_a_very_long_intervene_text_is_quoted_by_its_start_and_length(text):
    """A pasted 5,000-character text was echoed whole, twice, in its one-line refusal."""
    with pytest.raises(InputError) as err:
        parse_cli(text)
    msg = str(err.value)
    assert len(msg) < 600 and f"({len(text):,} characters)" in msg and "\n" not in msg


@pytest.mark.parametrize("text, suggested", [
    ("24:pressure:party=goverment", "the government"),
    ("24:rotate:actor=UN envoi", "the UN envoy"),
    ("24:link_local:group=communty dispute resolution", None),
])
def test_a_misspelt_actor_in_an_intervention_gets_the_likely_name(text, suggested):
    from peacesim.interventions import parse_cli
    from peacesim.model import PeaceModel

    with pytest.raises(InputError) as e:
        PeaceModel("reference", rng=1, interventions=[parse_cli(text)])
    message = str(e.value)
    assert "\n" not in message and "allowed:" in message
    if suggested:
        assert f"(did you mean '{suggested}'?)" in message


def test_a_misspelt_lead_in_a_comparison_gets_the_likely_name(tmp_path):
    from peacesim.comparison import load_comparison

    path = tmp_path / "c.toml"
    path.write_text("""
[comparison]
title = "t"
question = "q"
scenario = "crowded_field"
baseline = "as_is"
seeds = 2
master_seed = 1
[strategy.as_is]
title = "As is"
description = "d"
source = "s"
[strategy.led]
title = "Led"
description = "d"
source = "s"
lead = "the UN envoi"
""")
    with pytest.raises(InputError, match=r"strategy\.led\.lead = 'the UN envoi' is not a mediator of the scenario "
                                         r"\(did you mean 'the UN envoy'\?\); allowed: "):
        load_comparison(path)


def test_two_interventions_of_which_only_the_last_counts_are_noted_once(tmp_path, capsys):
    """Two funding cuts of one actor, or two coordination switches, in one month: only the last
    takes effect, and 'peacesim run' says so; two pressure campaigns add up, and are not noted."""
    args = ["run", "reference", "--months", "36", "--no-figure", "--out", str(tmp_path / "o"),
            "--intervene", "24:cut_funding:actor=the UN envoy,months=6",
            "--intervene", "24:cut_funding:actor=UN envoy,months=12",
            "--intervene", "24:pressure:party=the government", "--intervene", "24:pressure:party=the government"]
    assert cli.main(args) == 0
    notes = [x for x in capsys.readouterr().err.splitlines() if x.startswith("peacesim: note:")]
    assert notes == ["peacesim: note: --intervene '24:cut_funding:actor=UN envoy,months=12': intervention "
                     "'cut_funding' (month 24, cut_funding): 2 funding cuts of 'the UN envoy' in month 24; only the "
                     "last listed takes effect (give one, or put them in different months)"]
    args = ["run", "reference", "--months", "36", "--no-figure", "--out", str(tmp_path / "o2"),
            "--intervene", "6:set:name=coordination,value=network", "--intervene", "6:coordination:strategy=none"]
    assert cli.main(args) == 0
    notes = [x for x in capsys.readouterr().err.splitlines() if x.startswith("peacesim: note:")]
    assert len(notes) == 1 and "2 changes of the coordination strategy in month 6" in notes[0]
    import warnings

    from peacesim.interventions import parse_cli
    from peacesim.model import PeaceModel

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the model itself (and a sweep's workers) says nothing
        PeaceModel("reference", rng=1, interventions=[parse_cli("30:coordination:strategy=none"),
                                                      parse_cli("30:coordination:strategy=network")])


def test_a_funding_cut_during_a_gap_is_not_a_second_gap():
    """Two cuts of one actor in one month (or a cut while its grant has lapsed) make one gap."""
    from peacesim.model import PeaceModel

    once = PeaceModel("reference", rng=2, months=24)
    twice = PeaceModel("reference", rng=2, months=24)
    for _ in range(12):
        once.step()
        twice.step()
    assert not once.funding.streams.in_gap[once.actor("the UN envoy").stream]
    before = once.counters["funding_gaps"]
    once.intervene("cut_funding", actor="the UN envoy", months=6)
    twice.intervene("cut_funding", actor="the UN envoy", months=3)
    twice.intervene("cut_funding", actor="the UN envoy", months=6)
    assert once.counters["funding_gaps"] == twice.counters["funding_gaps"] == before + 1
