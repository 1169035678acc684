"""Bad input is refused at the edge with one clear line, through the command line and through Python.

Each case edits a copy of scenarios/reference.toml (or gives a bad option) and checks that:
the command exits with status 2; stderr is exactly one line starting ``peacesim: error:`` that names
the file or option, the field and the bad value (and the allowed range where there is one); there
is no traceback; and nothing is written, neither to ``--out`` nor to the default results folder.
The Python API raises :class:`peacesim.InputError` with the same facts.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import peacesim
from peacesim import InputError, load_scenario, run_scenario
from peacesim.params import REGISTRY
from peacesim.scenario import resolve_scenario

REFERENCE = resolve_scenario("reference").read_text(encoding="utf-8")
HQ = REGISTRY["handover_quality"]
MONTHS = REGISTRY["months"]
SKILL_LINE = REFERENCE.splitlines().index("skill = 0.7") + 1  # the UN envoy's skill, made malformed below


def edit(old: str, new: str) -> Callable[[str], str]:
    """A replacement in the reference file's text that must actually apply."""

    def apply(text: str) -> str:
        assert text.count(old) == 1, f"reference.toml changed: {old!r} no longer found exactly once"
        return text.replace(old, new)

    return apply


@dataclass
class Case:
    """One bad input.

    ``file_edit`` makes a bad scenario file ``bad.toml`` from the reference text (``None``: use the
    shipped reference). ``scenario`` overrides what is passed as SCENARIO. ``cli`` are extra
    options; ``api`` the keyword arguments to :func:`run_scenario`. ``expect`` are texts the message
    must contain, with ``{file}`` standing for the scenario file's path; ``api_expect`` replaces
    them for the Python API where the option's name differs.
    """

    id: str
    expect: list[str]
    file_edit: Callable[[str], str] | None = None
    scenario: str | None = None
    cli: list[str] = field(default_factory=list)
    api: dict = field(default_factory=dict)
    api_expect: list[str] | None = None
    known_bug: str = ""  # reason for a strict xfail until peacesim is fixed


CASES = [
    Case("unknown-parameter-in-file", ["{file}", "parameters.handover_qualty"],
         file_edit=edit('coordination = "hierarchical"', 'coordination = "hierarchical"\nhandover_qualty = 0.5')),
    Case("wrong-type-in-file", ["{file}", "handover_quality", "'high'", HQ.allowed()],
         file_edit=edit('coordination = "hierarchical"', 'coordination = "hierarchical"\nhandover_quality = "high"')),
    Case("out-of-bounds-in-file", ["{file}", "handover_quality", "1.5", HQ.allowed()],
         file_edit=edit('coordination = "hierarchical"', 'coordination = "hierarchical"\nhandover_quality = 1.5')),
    Case("wrong-choice-in-file", ["{file}", "coordination", "'anarchic'", "hierarchical"],
         file_edit=edit('coordination = "hierarchical"', 'coordination = "anarchic"')),
    Case("malformed-toml", ["{file}", "not valid TOML", f"line {SKILL_LINE}"],
         file_edit=edit("skill = 0.7\n", "skill = = 0.7\n")),
    Case("missing-file", ["{file}", "not found"], scenario="{dir}/no_such_file.toml"),
    Case("unknown-scenario-name", ["referense", "no such scenario", "reference"], scenario="referense"),
    Case("unknown-set-name", ["--set", "handover_qualty"], cli=["--set", "handover_qualty=0.5"],
         api={"overrides": ["handover_qualty=0.5"]}, api_expect=["overrides:", "handover_qualty"]),
    Case("set-without-equals", ["--set", "'handover_quality'", "name=value"], cli=["--set", "handover_quality"],
         api={"overrides": ["handover_quality"]}, api_expect=["overrides:", "'handover_quality'", "name=value"]),
    Case("set-out-of-bounds", ["--set", "handover_quality", "1.5", HQ.allowed()],
         cli=["--set", "handover_quality=1.5"], api={"overrides": ["handover_quality=1.5"]},
         api_expect=["overrides:", "handover_quality", "1.5", HQ.allowed()]),
    Case("set-unknown-actor-field", ["--set", "charisma", "mediator"], cli=["--set", "mediator.charisma=1"],
         api={"overrides": ["mediator.charisma=1"]}, api_expect=["overrides:", "charisma", "mediator"]),
    Case("unknown-actor-field-in-file", ["{file}", "mediator #1", "'charisma'", "skill"],
         file_edit=edit('kind = "un"\nskill = 0.7', 'kind = "un"\nskill = 0.7\ncharisma = 0.9')),
    Case("bias-toward-no-party", ["{file}", "the neighbouring state", "bias_toward", "'the rebels'", "the government"],
         file_edit=edit('bias_toward = "the government"', 'bias_toward = "the rebels"')),
    Case("two-leads", ["{file}", "mediator", "lead = true", "2 mediators"],
         file_edit=edit('kind = "regional"\n', 'kind = "regional"\nlead = true\n')),
    Case("one-party-at-table", ["{file}", "party", "at_table = true", "found 1"],
         file_edit=edit("grievances = 0.7\nproscribed = true\n", "grievances = 0.7\nproscribed = true\nat_table = false\n")),
    Case("negative-seed", ["--seed", "'-1'", ">= 0"], cli=["--seed", "-1"], api={"seed": -1},
         api_expect=["seed = -1", ">= 0"]),
    Case("seed-not-a-number", ["--seed", "'one'", ">= 0"], cli=["--seed", "one"], api={"seed": "one"},
         api_expect=["seed = 'one'", ">= 0"]),
    Case("months-out-of-bounds", ["--months", "months = 5", MONTHS.allowed()], cli=["--months", "5"],
         api={"months": 5}, api_expect=["months = 5", MONTHS.allowed()]),
    Case("months-not-a-number", ["--months", "months = 'many'", MONTHS.allowed()], cli=["--months", "many"],
         api={"months": "many"}, api_expect=["months = 'many'", MONTHS.allowed()]),
    Case("months-infinite", ["--months", "months = inf", MONTHS.allowed()], cli=["--months", "inf"],
         api={"months": float("inf")}, api_expect=["months = inf", MONTHS.allowed()]),
]


def params(cases: list[Case]) -> list:
    return [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.known_bug, strict=True)] if c.known_bug else [])
            for c in cases]


def materialise(case: Case, tmp_path: Path) -> tuple[str, dict[str, str]]:
    """Write the case's scenario file if it has one; return SCENARIO and the {file}/{dir} values."""
    scen_dir = tmp_path / "scenarios"
    scen_dir.mkdir()
    if case.file_edit is not None:
        bad = scen_dir / "bad.toml"
        bad.write_text(case.file_edit(REFERENCE), encoding="utf-8")
        scenario = str(bad)
    elif case.scenario is not None:
        scenario = case.scenario.format(dir=scen_dir)
    else:
        scenario = "reference"
    return scenario, {"file": scenario, "dir": str(scen_dir)}


def expected(texts: list[str], subst: dict[str, str]) -> list[str]:
    return [t.replace("{file}", subst["file"]) for t in texts]


@pytest.mark.parametrize("case", params(CASES))
def test_cli_refuses_bad_input(case, tmp_path):
    scenario, subst = materialise(case, tmp_path)
    out = tmp_path / "out"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.run(
        [sys.executable, "-m", "peacesim", "run", scenario, *case.cli, "--out", str(out)],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    message = lines[0]
    assert message.startswith("peacesim: error: ")
    for text in expected(case.expect, subst):
        assert text in message, f"{text!r} missing from: {message}"
    assert proc.stdout == ""
    assert not out.exists()
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("case", params([c for c in CASES if c.id in ("negative-seed", "set-out-of-bounds", "two-leads")]))
def test_cli_bad_input_creates_no_default_results_folder(case, tmp_path):
    scenario, _ = materialise(case, tmp_path)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    proc = subprocess.run([sys.executable, "-m", "peacesim", "run", scenario, *case.cli],
                          capture_output=True, text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("case", params(CASES))
def test_python_api_refuses_bad_input(case, tmp_path):
    scenario, subst = materialise(case, tmp_path)
    kwargs = {"seed": 1, **case.api}
    with pytest.raises(InputError) as info:
        run_scenario(scenario, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    for text in expected(case.api_expect or case.expect, subst):
        assert text in message, f"{text!r} missing from: {message}"


@pytest.mark.parametrize("case", params([c for c in CASES if c.file_edit is not None or c.scenario is not None]))
def test_load_scenario_refuses_bad_file(case, tmp_path):
    scenario, subst = materialise(case, tmp_path)
    with pytest.raises(InputError) as info:
        load_scenario(scenario)
    for text in expected(case.expect, subst):
        assert text in str(info.value)


def test_input_error_is_a_value_error():
    # callers that catch ValueError keep working; the CLI relies on the specific class
    assert issubclass(peacesim.InputError, ValueError)


def test_out_is_a_file(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder")
    proc = subprocess.run([sys.executable, "-m", "peacesim", "run", "reference", "--out", str(target)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [f"peacesim: error: --out: {target} exists and is not a folder"]
    assert target.read_text() == "not a folder"


def test_params_unknown_group():
    proc = subprocess.run([sys.executable, "-m", "peacesim", "params", "--group", "nonsense"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2
    assert proc.stderr.startswith("peacesim: error: --group: 'nonsense'") and len(proc.stderr.splitlines()) == 1


def test_show_unknown_scenario():
    proc = subprocess.run([sys.executable, "-m", "peacesim", "show", "referense"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stderr.startswith("peacesim: error: referense: no such scenario")


# ------------------------------------------------------------------ values from Python, as a notebook gives them
def test_numpy_numbers_are_taken_as_the_numbers_they_are():
    """A notebook's values are often numpy scalars: a whole numpy number is a whole number, a numpy
    boolean a boolean, in the horizon, overrides, intervention months and the runner's options."""
    import numpy as np

    from peacesim.interventions import Planned
    from peacesim.model import PeaceModel
    from peacesim.sweep import check_executor

    plain = run_scenario("reference", seed=3, months=24, overrides={"handover_quality": 0.5, "tenure_mediator": 30,
                                                                     "party[3].at_table": False})
    typed = run_scenario("reference", seed=3, months=np.int64(24),
                         overrides={"handover_quality": np.float32(0.5), "tenure_mediator": np.int64(30),
                                    "party[3].at_table": np.bool_(False)})
    assert typed.outcome == plain.outcome
    m = PeaceModel("reference", rng=1, months=24, interventions=[Planned(np.int64(3), "attack", {"spoiler": ""})])
    m.run()
    assert m.applied_interventions[0]["month"] == 3 and type(m.applied_interventions[0]["month"]) is int
    assert check_executor("processes", np.int64(2), None) == 2
    with pytest.raises(InputError, match="handover_quality = true is not allowed"):
        run_scenario("reference", seed=3, months=24, overrides={"handover_quality": np.True_})


@pytest.mark.parametrize("overrides", [{"handover_quality": 10**400}, {"months": 10**400}])
def test_a_number_too_large_for_a_float_is_refused_in_one_line(overrides):
    name = next(iter(overrides))
    with pytest.raises(InputError, match=rf"{name} = 1000000000.*\(401 characters\) is not allowed; expected"):
        run_scenario("reference", seed=1, overrides=overrides)


@pytest.mark.parametrize("month", [0, -7, 2.5, True, "3"])
def test_a_planned_intervention_given_from_python_needs_a_whole_month_from_one(month):
    from peacesim.interventions import Planned
    from peacesim.model import PeaceModel

    plan = [Planned(5, "attack", {"spoiler": ""}), Planned(month, "attack", {"spoiler": ""})]
    with pytest.raises(InputError, match=r"^interventions: intervention 'attack' .*: month = .* is not allowed; "
                                         r"expected a whole number from 1 to 240$"):
        PeaceModel("reference", rng=1, interventions=plan)


@pytest.mark.parametrize("name,why", [("X;Y", "';' separates actor names"), ("X\nY", "a line break"),
                                      ("x" * 201, "at most 200 characters"),
                                      ("UN envoy", "too close to the actor 'the UN envoy'"),
                                      ("The UN Envoy", "too close to the actor 'the UN envoy'")])
def test_a_mediator_added_by_an_intervention_follows_the_scenario_s_rules_for_names(name, why):
    from peacesim.model import PeaceModel

    m = PeaceModel("reference", rng=1)
    with pytest.raises(InputError, match=why):
        m.intervene("add_mediator", name=name)
    with pytest.raises(InputError, match=why):
        PeaceModel("reference", rng=1, interventions=[{"month": 5, "kind": "add_mediator", "name": name}])
    assert len(m.mediators) == 3


def test_copies_of_mediators_may_not_take_another_actor_s_name(tmp_path):
    path = tmp_path / "named.toml"
    path.write_text(REFERENCE.replace('name = "the regional organisation"', 'name = "the UN envoy 2"'), encoding="utf-8")
    scen = load_scenario(path)
    with pytest.raises(InputError, match="mediators = 4 would name a copy 'the UN envoy 2', which another actor"):
        run_scenario(scen, seed=1, months=24, overrides={"mediators": 4})


@pytest.mark.parametrize("options", [{"executor": "bogus"}, {"workers": 0}, {"executor": "dask", "scheduler": "bogus"}])
def test_a_comparison_with_bad_runner_options_writes_nothing(tmp_path, options):
    from peacesim.comparison import compare

    out = tmp_path / "cmp"
    with pytest.raises(InputError, match="--executor 'bogus'|--workers 0|--scheduler bogus"):
        compare("crowded_field", seeds=2, worlds=2, out=out, progress=False, **options)
    assert not out.exists()


@pytest.mark.parametrize("change,message", [
    (lambda s: s.params.__setitem__("coordination", "bogus"), "parameters: coordination = 'bogus' is not allowed"),
    (lambda s: s.params.__setitem__("months", 5), "parameters: months = 5 is not allowed"),
    (lambda s: s.params.__setitem__("tenure_mediator", 0), "tenure_mediator = 0 is not allowed"),
    (lambda s: s.actors["party"][0].__setitem__("strength", -3), "party #1: strength = -3 is not allowed"),
    (lambda s: s.actors["mediator"][0].__setitem__("colour", "blue"), "unknown field 'colour'"),
    (lambda s: s.interventions.append({"month": 3}), "is not a planned intervention"),
])
def test_a_scenario_object_changed_after_loading_is_checked_again_before_it_runs(change, message):
    scen = load_scenario("reference")
    change(scen)
    with pytest.raises(InputError, match=r"reference.toml \(as changed after loading\): .*" + message):
        run_scenario(scen, seed=1, months=24)


def test_a_scenario_object_changed_validly_runs_as_its_file_would():
    scen = load_scenario("reference")
    scen.params["handover_quality"] = 0.9
    edited = load_scenario("reference").with_overrides({"handover_quality": 0.9})
    assert run_scenario(scen, seed=2, months=36).outcome == run_scenario(edited, seed=2, months=36).outcome


@pytest.mark.parametrize("overrides,message", [
    ([("coordination", "none")], "is not of the form name=value"), ({1: 0.5}, "a parameter's name must be a text"),
    (5, "expected a mapping of names to values or a list"), ("coordination=none", "expected a mapping"),
    ([None], "is not of the form name=value"),
])
def test_overrides_of_the_wrong_shape_are_refused_in_one_line(overrides, message):
    with pytest.raises(InputError, match=message):
        run_scenario("reference", seed=1, months=24, overrides=overrides)


def test_overrides_may_be_any_mapping():
    import types

    plain = run_scenario("reference", seed=1, months=24, overrides={"coordination": "none"})
    proxy = run_scenario("reference", seed=1, months=24, overrides=types.MappingProxyType({"coordination": "none"}))
    assert plain.outcome == proxy.outcome


def test_a_scenario_file_saved_with_a_byte_order_mark_reads_as_without(tmp_path):
    path = tmp_path / "notepad.toml"
    path.write_bytes(b"\xef\xbb\xbf" + REFERENCE.encode("utf-8"))
    assert load_scenario(path).params == load_scenario("reference").params


def test_the_story_s_options_and_a_repeated_argument_are_checked():
    result = run_scenario("reference", seed=1, months=60)
    assert len(result.narrative(limit=3)) == 3 and result.narrative(limit=0) == []
    for kw, message in (({"limit": "5"}, "limit = '5' is not allowed"), ({"limit": -1}, "limit = -1 is not allowed"),
                        ({"kinds": {"rotations"}}, "did you mean 'rotation'"),
                        ({"kinds": "signed"}, "expected a set of event kinds")):
        with pytest.raises(InputError, match=message):
            result.narrative(**kw)
    with pytest.raises(InputError, match="months is given twice"):
        peacesim.interventions.parse_cli("5:cut_funding:actor=the UN envoy,months=12,months=3")
    with pytest.raises(InputError, match="months is given twice: months = 24 and overrides months = 36"):
        run_scenario("reference", seed=1, months=24, overrides={"months": 36})


@pytest.mark.parametrize("out", [5, b"folder"])
def test_an_output_folder_that_is_not_a_path_is_refused(tmp_path, out):
    from peacesim.output import write_run

    with pytest.raises(InputError, match="expected a folder's path"):
        write_run(run_scenario("reference", seed=1, months=24), out)


@pytest.mark.parametrize("change,message", [
    (lambda s: s.params.__setitem__("months", 5.5), "months = 5.5 is not allowed"),
    (lambda s: s.actors["spoiler"][0].__setitem__("name", "a;b"), "';' separates actor names"),
    (lambda s: s.params.__setitem__("handover_quality", lambda: 0.5), "handover_quality = <function"),
    (lambda s: setattr(s, "interventions", None), "interventions = nothing must be a list"),
])
def test_a_changed_scenario_is_checked_also_on_its_way_through_with_overrides_and_cast(change, message):
    from peacesim.model import PeaceModel

    scen = load_scenario("reference")
    change(scen)
    for make in (lambda: scen.with_overrides({"mediators": 3}), lambda: scen.cast(), lambda: PeaceModel(scen)):
        with pytest.raises(InputError, match=message):
            make()


def test_an_experiment_with_its_own_interventions_is_not_checked_again_at_every_run(tmp_path, monkeypatch):
    from peacesim import scenario as scenario_module
    from peacesim.experiment import experiment_from_dict
    from peacesim.sweep import run_experiment

    raw = {"experiment": {"title": "t", "scenario": "reference", "replicates": 3, "master_seed": 1, "months": 24},
           "intervention": [{"month": 5, "kind": "attack"}]}
    exp = experiment_from_dict(raw)
    calls = []
    real = scenario_module.scenario_from_dict
    monkeypatch.setattr(scenario_module, "scenario_from_dict", lambda *a, **k: calls.append(1) or real(*a, **k))
    run_experiment(exp, executor="serial", out=tmp_path / "o", progress=False)
    assert calls == []


def test_a_sensitivity_loaded_without_checking_its_points_still_runs(tmp_path):
    from peacesim.sensitivity import load_sensitivity

    spec = load_sensitivity("sensitivity_morris", check_points=False)
    spec.runs.check_unchanged()  # made from the checked file: runnable
