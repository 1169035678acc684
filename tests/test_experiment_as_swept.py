"""A sweep's results folder gives back the experiment it ran (peacesim.experiment_as_swept(folder)), whose
rerun gives the folder's rows exactly, and refuses in one line what would give other runs."""

import hashlib
import json
import shutil

import pandas as pd
import pytest

import peacesim
from peacesim.errors import InputError
from peacesim.sweep import run_experiment

EXPERIMENT = """
[experiment]
name = "as_swept"
scenario = "scen.toml"
replicates = 2
months = 48
master_seed = 5

[parameters]
handover_quality = 0.3

[vary]
coordination = ["none", "contact_group"]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    """An experiment file beside its own scenario file, swept once."""
    tmp = tmp_path_factory.mktemp("as_swept")
    shutil.copy(peacesim.scenario.resolve_scenario("reference"), tmp / "scen.toml")
    (tmp / "exp.toml").write_text(EXPERIMENT, encoding="utf-8")
    out = tmp / "out"
    run_experiment(tmp / "exp.toml", executor="serial", out=out, progress=False)
    return tmp, out


def copy_of(swept, tmp_path):
    """A copy of the experiment, its scenario and its results, to change without touching the others."""
    src, out = swept
    for name in ("exp.toml", "scen.toml"):
        shutil.copy(src / name, tmp_path / name)
    shutil.copytree(out, tmp_path / "out")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    manifest["experiment_file"] = manifest["experiment_file_resolved"] = str(tmp_path / "exp.toml")
    manifest["scenario_file"] = str(tmp_path / "scen.toml")
    (tmp_path / "out" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return tmp_path / "exp.toml", tmp_path / "scen.toml", tmp_path / "out"


def outcomes_match(result, row, runs):
    return all(v == getattr(row, k) or (pd.isna(v) and pd.isna(getattr(row, k)))
               for k, v in result.outcome.items() if k in runs.columns)


def test_the_folder_gives_the_experiment_as_swept_even_after_its_file_was_edited(swept, tmp_path):
    exp_file, _, out = copy_of(swept, tmp_path)
    runs = pd.read_parquet(out / "runs.parquet")
    # the file is edited after the sweep: the file's experiment now makes other runs
    exp_file.write_text(EXPERIMENT.replace("handover_quality = 0.3", "handover_quality = 0.9")
                        .replace("months = 48", "months = 36"), encoding="utf-8")
    edited = peacesim.load_experiment(exp_file)
    as_swept = peacesim.experiment_as_swept(out)
    assert as_swept.fixed == {"handover_quality": 0.3} and edited.fixed == {"handover_quality": 0.9}
    assert as_swept.path == str(exp_file)
    for row in runs.itertuples():
        again = as_swept.rerun(row.design_point, row.replicate)
        assert len(again.series) == 48
        assert outcomes_match(again, row, runs), row
    assert len(edited.rerun(0, 0).series) == 36


def test_a_changed_scenario_file_or_model_is_refused_in_one_line(swept, tmp_path):
    _, scen_file, out = copy_of(swept, tmp_path)
    text = scen_file.read_text(encoding="utf-8")
    scen_file.write_text(text + "\n# edited\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"the scenario file .*scen\.toml has changed since the sweep read it") as e:
        peacesim.experiment_as_swept(out)
    assert "\n" not in str(e.value)
    scen_file.write_text(text, encoding="utf-8")
    peacesim.experiment_as_swept(out)  # as it was: accepted again
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["model_digest"] = "0" * 64
    manifest["git_commit"] = "abcdef0123456789"
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InputError, match=r"the sweep ran another version of the model \(peacesim at git commit "
                                         r"abcdef012345; model digest 000000000000, this one [0-9a-f]{12}\)"):
        peacesim.experiment_as_swept(out)


def test_folders_that_are_not_a_file_swept_are_refused_in_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty: not a sweep's results folder; a sweep's results folder holds "
                                         "manifest.json, and this one has none"):
        peacesim.experiment_as_swept(empty)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match=r"manifest\.json: cannot be read as a sweep's manifest"):
        peacesim.experiment_as_swept(bad)
    (bad / "manifest.json").write_text(json.dumps({"schema": "something else"}), encoding="utf-8")
    with pytest.raises(InputError, match="not the manifest of a sweep"):
        peacesim.experiment_as_swept(bad)
    (bad / "manifest.json").write_text(json.dumps({"experiment_digest": "x", "experiment_text": ""}), encoding="utf-8")
    with pytest.raises(InputError, match="made in Python, not read from a file"):
        peacesim.experiment_as_swept(bad)
    text = "Experiment(name='wave 1', design=[...])"  # a calibration wave's: the repr of an object, not a file
    (bad / "manifest.json").write_text(json.dumps({"experiment_digest": "x", "experiment_text": text,
                                                   "experiment_sha256": hashlib.sha256(text.encode()).hexdigest()}),
                                       encoding="utf-8")
    with pytest.raises(InputError, match="the sweep ran an experiment made in Python .*, not an experiment file"):
        peacesim.experiment_as_swept(bad)
    with pytest.raises(InputError, match="the sweep ran an experiment made in Python"):
        peacesim.experiment_as_swept(bad / "manifest.json")  # the manifest named: its folder
    with pytest.raises(InputError, match="no such folder"):
        peacesim.experiment_as_swept(tmp_path / "nothing here")
    for bad in (5, "", "a\x00b", b"out"):
        with pytest.raises(InputError, match="is not allowed; expected the path of a sweep's results folder"):
            peacesim.experiment_as_swept(bad)


def test_an_edited_manifest_is_refused(swept, tmp_path):
    _, _, out = copy_of(swept, tmp_path)
    path = out / "manifest.json"
    kept = json.loads(path.read_text(encoding="utf-8"))
    manifest = dict(kept, experiment_text=kept["experiment_text"].replace("months = 48", "months = 12"))
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InputError, match="experiment_text is not the text the sweep read .*the manifest was edited"):
        peacesim.experiment_as_swept(out)
    manifest = dict(kept, experiment_digest="0" * 64)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(InputError, match="the experiment its text makes is not the one the sweep ran"):
        peacesim.experiment_as_swept(out)


def test_a_results_folder_is_not_an_experiment_file(swept, tmp_path):
    from results_helpers import main

    _, _, out = copy_of(swept, tmp_path)
    with pytest.raises(InputError, match="a results folder, not an experiment file; give the experiment file"):
        peacesim.load_experiment(out)
    done = main("sweep", out, "--executor", "serial", cwd=tmp_path)
    assert done.returncode == 2 and "a results folder, not an experiment file" in done.stderr
    assert not (tmp_path / "results").exists()
    # the same for a sensitivity analysis (named by the folder's bare name, it was 'no such
    # sensitivity experiment')
    from peacesim.sensitivity import load_sensitivity

    with pytest.raises(InputError, match="a results folder, not a sensitivity experiment file; give the experiment"):
        load_sensitivity(out)
    done = main("sensitivity", out.name, "--executor", "serial", cwd=out.parent)
    assert done.returncode == 2 and "a results folder, not a sensitivity experiment file" in done.stderr
    assert done.stderr.count("\n") == 1


def test_the_folder_is_read_the_same_from_any_folder(tmp_path, monkeypatch):
    """An experiment swept by its relative path, with its scenario beside it, is made again from
    elsewhere (the scenario is found from the experiment file's folder, not the current one), and
    with the project moved (found from the current folder as the sweep found it)."""
    project = tmp_path / "project"
    (project / "my").mkdir(parents=True)
    shutil.copy(peacesim.scenario.resolve_scenario("reference"), project / "my" / "scen.toml")
    (project / "my" / "exp.toml").write_text(EXPERIMENT.replace("months = 48", "months = 12"), encoding="utf-8")
    monkeypatch.chdir(project)
    run_experiment("my/exp.toml", executor="serial", out="out", progress=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "scen.toml").write_text("# another scenario of the same name\n", encoding="utf-8")
    monkeypatch.chdir(elsewhere)
    assert peacesim.experiment_as_swept(project / "out").scenario_path == str(project / "my" / "scen.toml")
    moved = tmp_path / "moved"
    project.rename(moved)
    monkeypatch.chdir(moved)
    exp = peacesim.experiment_as_swept("out")
    assert exp.scenario_path == str(moved / "my" / "scen.toml")
    runs = pd.read_parquet("out/runs.parquet")
    row = next(runs.itertuples())
    assert outcomes_match(exp.rerun(row.design_point, row.replicate), row, runs)
    (moved / "my" / "scen.toml").unlink()
    with pytest.raises(InputError, match=r"the scenario 'scen\.toml' the sweep read is not found"):
        peacesim.experiment_as_swept("out")


SENSITIVITY = """
[experiment]
title = "t"
scenario = "reference"
replicates = 2
master_seed = 7
months = 36

[parameters]
handover_quality = 0.3

[sensitivity]
method = "morris"
parameters = ["ripeness_threshold", "pain_per_violence", "coordination"]
trajectories = 2
outcomes = ["total_violence"]
resamples = 100
"""


def test_a_sensitivity_analysis_s_folder_and_its_pilot_s_give_the_sample_they_ran(tmp_path):
    from peacesim.sensitivity import run_pilot, run_sensitivity

    path = tmp_path / "sens.toml"
    path.write_text(SENSITIVITY, encoding="utf-8")
    run_sensitivity(path, executor="serial", out=tmp_path / "sens", replicates=3, progress=False, figures=False)
    run_pilot(path, points=8, replicates=4, executor="serial", out=tmp_path / "pilot", progress=False)
    for folder in (tmp_path / "sens", tmp_path / "pilot"):
        runs = pd.read_parquet(folder / "runs.parquet")
        exp = peacesim.experiment_as_swept(folder)
        assert exp.replicates == runs.replicate.nunique() and len(exp.design) == runs.design_point.nunique()
        assert exp.fixed == {"handover_quality": 0.3}
        for row in runs.iloc[::5].itertuples():
            again = exp.rerun(row.design_point, row.replicate)
            assert again.seed == row.seed and len(again.series) == 36
            assert outcomes_match(again, row, runs), (folder.name, row)


def test_a_shipped_experiment_s_short_name_is_still_the_shipped_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "staff_rotation").mkdir()  # a folder of that name here does not hide the shipped file
    assert peacesim.load_experiment("staff_rotation").path.endswith("staff_rotation.toml")


def test_peacesim_rerun_writes_a_row_as_peacesim_run_writes_a_run(swept, tmp_path):
    from results_helpers import main

    _, _, out = copy_of(swept, tmp_path)
    runs = pd.read_parquet(out / "runs.parquet")
    row = runs[(runs.design_point == 1) & (runs.replicate == 1)].iloc[0]
    done = main("rerun", out, "--design-point", " 1", "--replicate", "1", "--no-figure", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Design point 1 (coordination = 'contact_group'), replicate 1" in done.stdout
    folder = tmp_path / "results" / "out-point1-replicate1"
    outcome = json.loads((folder / "outcome.json").read_text(encoding="utf-8"))
    assert outcome["inputs"]["seed"] == int(row.seed) and outcome["inputs"]["values"] == {"coordination": "contact_group"}
    for k in ("agreement_reached", "n_agreements", "total_violence"):
        assert outcome["outcome"][k] == pytest.approx(row[k]), k
    assert not (folder / "timeline.png").exists()
    for args, message in (((out, "--design-point", "2", "--replicate", "0"),
                           "--design-point '2' is not allowed; .* has design points 0 to 1: expected a whole number from 0 to 1"),
                          ((out, "--design-point", "0", "--replicate", "two"),
                           "--replicate 'two' is not allowed; .* has replicates 0 to 1"),
                          ((out, "--design-point", "\u00b2", "--replicate", "0"),  # a digit to str.isdigit
                           "--design-point '\u00b2' is not allowed; .* has design points 0 to 1"),
                          ((tmp_path / "exp.toml", "--design-point", "0", "--replicate", "0"),
                           "exp.toml: a file, not a folder; give a sweep's results folder, which holds "
                           "manifest.json"),
                          ((tmp_path / "nowhere", "--design-point", "0", "--replicate", "0"),
                           "nowhere: no such folder; give a sweep's results folder")):
        done = main("rerun", *args, cwd=tmp_path)
        assert done.returncode == 2 and done.stdout == ""
        assert re_search(message, done.stderr) and done.stderr.count("\n") == 1, done.stderr


def test_peacesim_rerun_from_inside_the_sweep_folder_writes_beside_it(swept, tmp_path):
    """'peacesim rerun .' run inside the sweep's folder puts the run beside the folder, not a
    results/ folder into it."""
    from results_helpers import main

    _, _, out = copy_of(swept, tmp_path)
    before = sorted(p.name for p in out.iterdir())
    done = main("rerun", ".", "--design-point", "0", "--replicate", "1", "--no-figure", cwd=out)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == before
    assert (tmp_path / "out-point0-replicate1" / "outcome.json").is_file()


def re_search(pattern, text):
    import re

    return re.search(pattern, text)


def test_rerun_is_refused_when_the_model_changed_after_the_experiment_was_made_from_the_folder(swept, monkeypatch):
    """The model's source edited while the experiment is held (a notebook kept open across an update):
    rerun says so in one line instead of giving a run that is not the row."""
    from peacesim import sweep

    _, out = swept
    exp = peacesim.experiment_as_swept(out)
    then = sweep.model_digest()
    row = pd.read_parquet(out / "runs.parquet").iloc[3]
    assert outcomes_match(exp.rerun(row.design_point, row.replicate), row, pd.read_parquet(out / "runs.parquet"))
    monkeypatch.setattr(sweep, "model_digest", lambda: "f" * 64)
    with pytest.raises(InputError) as refused:
        exp.rerun(row.design_point, row.replicate)
    said = str(refused.value)
    assert "\n" not in said
    assert said == (f"{out}: the model has changed since the sweep (model digest {then[:12]} then, ffffffffffff now), "
                    "so a run again here would not be the row's; rerun it with the peacesim that made the folder")
