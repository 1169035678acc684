"""An actor field set for every actor of a kind (``party.strength``) and for one of them
(``party[1].strength``) in the same run is refused wherever the two come together: ``--set`` and
overrides from Python, an experiment's ``[parameters]``, a ``[[design]]`` row, the factors of
``[vary]``, ``[parameters]`` beside ``[vary]`` or ``[[design]]``, a sensitivity analysis's factors
and its ``[parameters]``. Applied together, the one applied later would silently replace the other.
So is a sensitivity factor that a planned ``set`` intervention sets (the same at every sample point
from its month on). Each refusal is one line naming the place, both names as written and what to
do; the command exits with status 2 and writes nothing.

What is not an overlap is still allowed: different actors (``party[1]``, ``party[2]``), different
fields, different design rows, and an override of a field the scenario file sets per actor.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from peacesim import InputError, load_scenario, run_scenario
from peacesim.cli import main
from peacesim.experiment import experiment_from_dict, load_experiment
from peacesim.scenario import first_overlap, overlap, setting_subject
from peacesim.sensitivity import load_sensitivity

EXPERIMENT = """\
[experiment]
scenario = "reference"
replicates = 1
master_seed = 1
months = 12
"""

SENSITIVITY = """\
[experiment]
scenario = "reference"
replicates = 2
master_seed = 1
months = 12

[sensitivity]
method = "morris"
trajectories = 2
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def refused(argv: list[str], folder: Path, capsys) -> str:
    """Run the command in ``folder`` (its output folder inside it); check that it exits with status 2,
    prints one line and writes nothing; return the line."""
    before = sorted(p.name for p in folder.iterdir())
    out = folder / "out"
    code = main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("peacesim: error: ")
    assert "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in folder.iterdir()) == before
    return lines[0]


# --------------------------------------------------------------------------------- the shared rule
def test_the_rule_pairs_a_kind_with_one_of_its_actors_of_the_same_field():
    scen = load_scenario("reference")
    found = overlap("party[1].strength", "party.strength")
    assert found is not None and found.what == "party 1's strength"
    assert found.refusal() == ("party[1].strength and party.strength both set party 1's strength; give one of them "
                               "(or set each party by number: party[N].strength)")
    assert overlap("mediator.skill", "mediator[2].skill", scen).what == "mediator 2's skill"
    assert overlap("party[1].strength", "party[01].strength").refusal().endswith("give one of them")
    for a, b in [("party[1].strength", "party[2].strength"), ("party.strength", "party.strength"),
                 ("party.strength", "spoiler.capacity"), ("party.strength", "party[1].at_table"),
                 ("handover_quality", "handover_quality"), ("intervention.cut.month", "intervention.cut.months")]:
        assert overlap(a, b) is None, (a, b)
    # an index the scenario does not have is refused in its own words where it is applied
    assert overlap("mediator[9].skill", "mediator.skill", scen) is None
    assert first_overlap(["party[1].strength", "pain_decay", "party[2].strength", "party.strength"]).second == \
        "party.strength"
    assert setting_subject("mediator[2].lead") == "mediator.lead" and setting_subject("pain_decay") == "pain_decay"


# ------------------------------------------------------------------------------ a) --set, overrides
def test_run_refuses_a_kind_and_one_actor_of_the_same_field(tmp_path):
    out = tmp_path / "o1"
    proc = subprocess.run([sys.executable, "-m", "peacesim", "run", "reference", "--months", "12", "--no-figure",
                           "--quiet", "--out", str(out), "--set", "party[1].strength=0.9", "--set",
                           "party.strength=0.2"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == ("peacesim: error: --set: party[1].strength and party.strength both set party 1's "
                                   "strength; give one of them (or set each party by number: party[N].strength)")
    assert proc.stdout == ""
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("sets", [["party.strength=0.2", "party[1].strength=0.9"],
                                  ["mediator[2].skill=0.5", "mediator.skill=0.6"],
                                  ["party[1].strength=0.9", "party[01].strength=0.2"]])
def test_run_refuses_either_order_and_an_index_written_two_ways(tmp_path, capsys, sets):
    line = refused(["run", "reference", "--months", "12", "--no-figure", "--quiet",
                    *[x for s in sets for x in ("--set", s)]], tmp_path, capsys)
    first, second = (s.partition("=")[0] for s in sets)
    assert f"--set: {first} and {second} both set " in line and "give one of them" in line


def test_an_index_out_of_range_is_refused_as_such(tmp_path, capsys):
    line = refused(["run", "reference", "--months", "12", "--no-figure", "--quiet", "--set", "mediator[9].skill=0.5",
                    "--set", "mediator.skill=0.6"], tmp_path, capsys)
    assert "mediator[9].skill: the scenario has 3 mediator actors; N must be from 1 to 3" in line


def test_overrides_from_python_are_refused_too():
    with pytest.raises(InputError, match=r"party\[1\]\.strength and party\.strength both set party 1's strength"):
        run_scenario("reference", seed=1, months=12, overrides={"party[1].strength": 0.9, "party.strength": 0.2})
    with pytest.raises(InputError, match=r"^overrides: local\.linked and local\[2\]\.linked both set local 2's linked"):
        load_scenario("reference").with_overrides({"local.linked": True, "local[2].linked": False})


def test_different_actors_or_fields_in_one_run_are_allowed():
    scen = load_scenario("reference").with_overrides(["party[1].strength=0.9", "party[2].strength=0.2",
                                                      "mediator.skill=0.5", "mediator[1].leverage=0.3"], where="--set")
    assert [p["strength"] for p in scen.actors["party"][:2]] == [0.9, 0.2]


# ------------------------------------------------------------------------------ b) c) experiments
def test_a_design_row_setting_both_is_refused(tmp_path, capsys):
    path = write(tmp_path, "b.toml", EXPERIMENT + """
[[design]]
"party[1].strength" = 0.9
"party.strength" = 0.2

[[design]]
"party[1].strength" = 0.8
"party.strength" = 0.2
""")
    line = refused(["sweep", str(path)], tmp_path, capsys)
    assert line == (f"peacesim: error: {path}: design row 1: party[1].strength and party.strength both set party 1's "
                    "strength; give one of them (or set each party by number: party[N].strength)")


def test_a_fixed_actor_and_the_kind_varied_is_refused_like_the_same_name(tmp_path, capsys):
    path = write(tmp_path, "c.toml", EXPERIMENT + """
[parameters]
"party[1].strength" = 0.9

[vary]
"party.strength" = [0.2, 0.3]
""")
    line = refused(["sweep", str(path)], tmp_path, capsys)
    assert line == (f"peacesim: error: {path}: party[1].strength is set in [parameters] (party[1].strength = 0.9) "
                    "and party.strength is varied in [vary]; both set party 1's strength, and the varied values would "
                    "replace the fixed one; remove one of them (or set each party by number: party[N].strength)")


@pytest.mark.parametrize("body, expect", [
    ('[parameters]\n"party.strength" = 0.5\n\n[vary]\n"party[2].strength" = [0.2, 0.3]\n',
     "party.strength is set in [parameters] (party.strength = 0.5) and party[2].strength is varied in [vary]; "
     "both set party 2's strength"),
    ('[parameters]\n"party.strength" = 0.5\n\n[[design]]\n"party[2].strength" = 0.2\n\n[[design]]\n'
     '"party[2].strength" = 0.3\n',
     "party.strength is set in [parameters] (party.strength = 0.5) and party[2].strength is varied in [[design]]"),
    ('[parameters]\n"mediator[2].skill" = 0.5\n"mediator.skill" = 0.6\n',
     "[parameters]: mediator[2].skill and mediator.skill both set mediator 2's skill"),
    ('[vary]\n"mediator[2].skill" = [0.2, 0.3]\n"mediator.skill" = [0.5, 0.6]\n',
     "[vary]: mediator[2].skill and mediator.skill both set mediator 2's skill"),
    ('[vary.strengths]\nparameters = ["party.strength", "party[1].strength"]\nvalues = [0.2, 0.3]\n',
     "[vary]: party.strength and party[1].strength both set party 1's strength"),
], ids=["fixed kind, varied actor", "fixed kind, actor in design rows", "both in [parameters]", "both in [vary]",
        "both in one factor"])
def test_every_other_meeting_of_the_two_in_an_experiment_is_refused(tmp_path, body, expect):
    path = write(tmp_path, "x.toml", EXPERIMENT + body)
    with pytest.raises(InputError) as info:
        load_experiment(path)
    assert str(info.value).startswith(f"{path}: ") and expect in str(info.value)
    assert "\n" not in str(info.value)


def test_what_is_not_an_overlap_still_loads(tmp_path):
    # the scenario's file sets each party's strength: [vary] of party.strength applies on top of it
    exp = load_experiment(write(tmp_path, "ok.toml", EXPERIMENT + '[vary]\n"party.strength" = [0.2, 0.3]\n'))
    assert exp.n_runs == 2
    # different actors, and the kind and one actor in different design rows (different runs)
    meta = {"scenario": "reference", "replicates": 1, "master_seed": 1, "months": 12}
    exp = experiment_from_dict({"experiment": meta, "parameters": {"party[1].strength": 0.9},
                                "design": [{"party[2].strength": 0.2}, {"party[2].strength": 0.3},
                                           {"spoiler.capacity": 0.4}]})
    assert len(exp.design) == 3
    exp = experiment_from_dict({"experiment": meta, "design": [{"party[1].strength": 0.9}, {"party.strength": 0.2}]})
    assert len(exp.design) == 2


# ------------------------------------------------------------------------------- d) sensitivity
def test_sensitivity_factors_of_a_kind_and_one_of_its_actors_are_refused(tmp_path, capsys):
    path = write(tmp_path, "d.toml",
                 SENSITIVITY + 'parameters = ["pain_decay", "party[1].strength", "party.strength"]\n')
    line = refused(["sensitivity", str(path)], tmp_path, capsys)
    assert line == (f"peacesim: error: {path}: sensitivity.parameters: party[1].strength and party.strength both set "
                    "party 1's strength; give one of them (or set each party by number: party[N].strength)")


def test_a_sensitivity_factor_beside_a_fixed_actor_setting_is_refused(tmp_path):
    path = write(tmp_path, "d.toml", SENSITIVITY + 'parameters = ["pain_decay", "party[1].strength"]\n\n'
                 '[parameters]\n"party.strength" = 0.5\n')
    with pytest.raises(InputError, match=r"sensitivity\.parameters: party\[1\]\.strength and party\.strength, fixed in "
                                         r"\[parameters\] \(party\.strength = 0\.5\), both set party 1's strength; a "
                                         "factor varies, so remove one of them"):
        load_sensitivity(path, sample=False)


SET_PAIN_DECAY = """
[[intervention]]
month = 6
kind = "set"
name = "pain_decay"
value = 0.1
label = "calm"
"""


def test_a_sensitivity_factor_that_a_set_intervention_sets_is_refused(tmp_path, capsys):
    path = write(tmp_path, "d.toml", SENSITIVITY + 'parameters = ["pain_decay", "party[1].strength"]\n'
                 + SET_PAIN_DECAY)
    line = refused(["sensitivity", str(path)], tmp_path, capsys)
    assert line == (f"peacesim: error: {path}: sensitivity.parameters: pain_decay is a factor, and the intervention "
                    "'calm' sets it to 0.1 from month 6 on, the same at every sample point; remove the factor from "
                    "sensitivity.parameters, or remove the intervention or switch it off in [parameters] "
                    '("intervention.calm.enabled" = false)')
    numeric = write(tmp_path, "n.toml", SENSITIVITY + 'parameters = "numeric"\n' + SET_PAIN_DECAY)
    with pytest.raises(InputError, match=r'pain_decay is a factor.*leave the factor out \(sensitivity\.exclude = '
                                         r'\["pain_decay"\]\)'):
        load_sensitivity(numeric, sample=False)


def test_a_set_intervention_switched_off_or_of_another_parameter_is_allowed(tmp_path):
    off = write(tmp_path, "off.toml", SENSITIVITY + 'parameters = ["pain_decay", "party[1].strength"]\n\n'
                '[parameters]\n"intervention.calm.enabled" = false\n' + SET_PAIN_DECAY)
    assert load_sensitivity(off, sample=False).design.method == "morris"
    other = write(tmp_path, "other.toml", SENSITIVITY + 'parameters = ["fight_intensity", "party[1].strength"]\n'
                  + SET_PAIN_DECAY)
    assert load_sensitivity(other, sample=False).design.method == "morris"
