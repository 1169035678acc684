"""What an earlier calibration left in the folder: ``calibrate --fresh`` removes all of it (and only
what peacesim wrote), a calibration with other settings is refused in one line instead of reusing or
replacing it silently, and a calibration without ``--patterns`` leaves no pattern table behind.

Every calibration here is tiny: one parameter, two points, two replicates, a 36-month horizon and
the share reaching agreement as the only target (it can be computed at any point, so with a large
cutoff every point stays and every wave runs). The pattern checks are replaced by a stand-in that
writes what the quick validation writes at a point (a validation folder holding a sweep) from one
short run.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from peacesim import fsutil
from peacesim.calibration import DEFAULT_TARGETS, calibrate
from peacesim.cli import main
from peacesim.errors import InputError
from peacesim.experiment import experiment_from_dict
from peacesim.sweep import run_experiment

AGREEMENT = DEFAULT_TARGETS[2]
assert AGREEMENT.key == "agreement"
TINY = dict(ranges={"ripeness_threshold": (0.3, 0.55)}, targets=[AGREEMENT], waves=1, points=2, replicates=2,
            cutoff=100, months=36, executor="serial")
REFUSAL_END = "; use --fresh to replace it (only peacesim's files are removed) or --out to choose another folder"


@pytest.fixture
def quick_patterns(monkeypatch):
    """The quick validation at a point, as a stand-in: the folders it writes, from one short run."""
    import peacesim.validation as validation

    def validate(*, out, overrides, **_):
        fsutil.claim_and_mark(Path(out), "validation")
        raw = {"experiment": {"title": "p1", "scenario": "reference", "replicates": 1, "master_seed": 101,
                              "months": 12}, "design": [overrides]}
        run_experiment(experiment_from_dict(raw, default_name="p1_relapse_share"), executor="serial",
                       out=Path(out) / "quick" / "p1_relapse_share", progress=False)
        return [SimpleNamespace(number=1, estimate=SimpleNamespace(value=0.3), expected="positive", pointing=True,
                                passed=True)]

    monkeypatch.setattr(validation, "validate", validate)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` (hidden ones too) with its size and modification time."""
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


#: the marker and the lock file that a folder of peacesim's keeps
PEACESIMS = {fsutil.MARKER, fsutil.LOCK}


# ------------------------------------------------------------------------------------ --fresh
def test_fresh_removes_the_waves_and_pattern_checks_an_earlier_calibration_wrote_and_nothing_else(
        tmp_path, quick_patterns):
    first = calibrate(out=tmp_path, **{**TINY, "waves": 3, "patterns": 1})
    assert len(first.waves) == 3 and len(first.patterns) == 1
    assert (tmp_path / "patterns.csv").is_file() and any((tmp_path / "patterns").glob("point-*/quick/p1_*/*.parquet"))
    # files of the user's: beside the calibration, inside a wave's folder, and a folder named like a wave
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "wave-2" / "mine.txt").write_text("mine")
    (tmp_path / "wave-9").mkdir()
    (tmp_path / "wave-9" / "mine.txt").write_text("mine")

    again = calibrate(out=tmp_path, fresh=True, **TINY)
    assert [(w.ran, w.skipped) for w in again.waves] == [(4, 0)]
    assert not (tmp_path / "patterns.csv").exists() and not (tmp_path / "patterns").exists()
    assert not (tmp_path / "wave-3").exists()
    # wave 2's runs are gone; the user's file stays (in a folder that is still peacesim's, holding no runs)
    assert {p.name for p in (tmp_path / "wave-2").iterdir()} - PEACESIMS == {"mine.txt"}
    assert (tmp_path / "wave-2" / "mine.txt").read_text() == "mine"
    assert (tmp_path / "notes.txt").read_text() == "mine" and (tmp_path / "wave-9" / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "calibration.json", "calibration.md", "notes.txt", "nroy.png", "wave-1", "wave-2", "wave-9", "waves.csv"]
    assert list(pd.read_csv(tmp_path / "waves.csv")["wave"]) == [1, 1]
    report = (tmp_path / "calibration.md").read_text()
    assert "patterns.csv" not in report and "wave-2" not in report
    record = json.loads((tmp_path / "calibration.json").read_text())
    assert record["status"] == "complete" and record["outputs"] == ["calibration.md", "nroy.png", "waves.csv"]
    assert record["waves"] == ["wave-1"]
    # the inventory in the marker names what peacesim wrote, never the user's files
    listed = fsutil.read_marker(tmp_path)["files"]
    assert "notes.txt" not in listed and "wave-9" not in listed and "wave-1" in listed


def test_fresh_removes_the_waves_beyond_a_smaller_number_of_waves(tmp_path):
    calibrate(out=tmp_path, **{**TINY, "waves": 2})
    assert (tmp_path / "wave-2" / "runs.parquet").is_file()
    calibrate(out=tmp_path, fresh=True, **TINY)
    assert not (tmp_path / "wave-2").exists()
    assert sorted(p.name for p in tmp_path.glob("wave-*")) == ["wave-1"]


def test_a_calibration_without_patterns_after_one_with_them_leaves_no_pattern_table(tmp_path, quick_patterns):
    calibrate(out=tmp_path, **{**TINY, "patterns": 1})
    assert "patterns.csv" in (tmp_path / "calibration.md").read_text()
    res = calibrate(out=tmp_path, **TINY)  # the same waves, reused; only the choice of the point changes
    assert [(w.ran, w.skipped) for w in res.waves] == [(0, 4)]
    assert not (tmp_path / "patterns.csv").exists()
    report = (tmp_path / "calibration.md").read_text()
    assert "patterns.csv" not in report and "## The nine patterns" not in report
    record = json.loads((tmp_path / "calibration.json").read_text())
    assert "patterns.csv" not in record["outputs"] and record["patterns"] == 0 and record["chosen_by"] == "I_max"


# ------------------------------------------------------------------------------------ other settings
@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration")
    calibrate(out=out, **TINY)
    return out


@pytest.mark.parametrize(("change", "old", "new"), [
    ({"ranges": {"ripeness_threshold": (0.3, 0.6)}},
     "ranges['ripeness_threshold'] = (0.3, 0.55)", "ranges['ripeness_threshold'] = (0.3, 0.6)"),
    ({"ranges": {"ripeness_threshold": (0.3, 0.55), "negotiation_rate": (0.1, 0.35)}},
     "no range for negotiation_rate", "ranges['negotiation_rate'] = (0.1, 0.35)"),
    ({"ranges": {"negotiation_rate": (0.1, 0.35)}},
     "ranges['ripeness_threshold'] = (0.3, 0.55)", "no range for ripeness_threshold"),
    ({"points": 3}, "points = 2", "points = 3"),
    ({"replicates": 3}, "replicates = 2", "replicates = 3"),
    ({"seed": 7}, "seed = 2026", "seed = 7"),
    ({"cutoff": 50}, "cutoff = 100", "cutoff = 50"),
    ({"months": 48}, "months = 36", "months = 48"),
    ({"months": None}, "months = 36", "the scenario's horizon (240 months)"),
    ({"targets": [dataclasses.replace(AGREEMENT, z=0.5)]},
     "target agreement (z = 0.65, obs_sd = 0.1, disc_sd = 0.05", "target agreement (z = 0.5, obs_sd = 0.1"),
    ({"targets": [AGREEMENT, DEFAULT_TARGETS[3]]}, "no target talks_months", "target talks_months (z = 18"),
])
def test_a_calibration_with_other_settings_is_refused_in_one_line_and_nothing_is_written(stored, change, old, new):
    before = snapshot(stored)
    with pytest.raises(InputError) as refused:
        calibrate(out=stored, **{**TINY, **change})
    said = str(refused.value)
    assert "\n" not in said
    assert said.startswith(f"--out {stored}: holds a calibration made with {old}") and said.endswith(REFUSAL_END)
    assert f"; this one asks for {new}" in said
    assert snapshot(stored) == before


def test_more_waves_reuse_the_stored_ones_and_fewer_are_refused(tmp_path):
    """A calibration's first waves do not depend on how many follow: more waves extend a stored
    calibration; fewer would leave waves its report does not describe, and are refused."""
    calibrate(out=tmp_path, **TINY)
    res = calibrate(out=tmp_path, **{**TINY, "waves": 2})
    assert [(w.ran, w.skipped) for w in res.waves] == [(0, 4), (8, 0)]
    assert json.loads((tmp_path / "calibration.json").read_text())["settings"]["waves"] == 2
    before = snapshot(tmp_path)
    with pytest.raises(InputError) as refused:
        calibrate(out=tmp_path, **TINY)
    said = str(refused.value)
    assert said.startswith(f"--out {tmp_path}: holds a calibration made with waves = 2; this one asks for waves = 1")
    assert snapshot(tmp_path) == before


def test_no_months_is_the_scenario_s_horizon_given(tmp_path):
    calibrate(out=tmp_path, **{**TINY, "months": None})
    res = calibrate(out=tmp_path, **{**TINY, "months": 240})
    assert [(w.ran, w.skipped) for w in res.waves] == [(0, 4)]


def test_the_same_settings_given_in_other_forms_reuse_the_calibration(stored):
    res = calibrate(out=stored, **{**TINY, "ranges": {"ripeness_threshold": [0.30, 0.55]}, "seed": np.int64(2026),
                                   "cutoff": 100.0, "months": np.int64(36)})
    assert [(w.ran, w.skipped) for w in res.waves] == [(0, 4)]


def test_a_folder_whose_settings_were_not_recorded_is_refused_unless_fresh(tmp_path):
    """A calibration written before the settings were recorded (or whose record was removed)."""
    calibrate(out=tmp_path, **{**TINY, "waves": 2})
    (tmp_path / "calibration.json").unlink(missing_ok=True)
    fsutil.write_marker(tmp_path, "calibration", format=1)  # the marker of those versions: no inventory
    before = snapshot(tmp_path)
    with pytest.raises(InputError) as refused:
        calibrate(out=tmp_path, **{**TINY, "waves": 2})
    said = str(refused.value)
    assert "\n" not in said and said.startswith(f"--out {tmp_path}: holds a calibration whose settings were not "
                                                "recorded (calibration.json is missing")
    assert said.endswith("use --fresh to start over (it removes only peacesim's files) or --out to choose another "
                         "folder")
    assert snapshot(tmp_path) == before
    calibrate(out=tmp_path, fresh=True, **TINY)
    assert sorted(p.name for p in tmp_path.glob("wave-*")) == ["wave-1"]


def test_an_unreadable_record_is_refused_unless_fresh(tmp_path):
    calibrate(out=tmp_path, **TINY)
    (tmp_path / "calibration.json").write_text("{ cut short")
    with pytest.raises(InputError) as refused:
        calibrate(out=tmp_path, **TINY)
    said = str(refused.value)
    assert "\n" not in said and said.startswith(f"{tmp_path / 'calibration.json'}: unreadable (")
    assert "peacesim cannot tell which settings made the calibration there; use --fresh" in said
    res = calibrate(out=tmp_path, fresh=True, **TINY)
    assert [(w.ran, w.skipped) for w in res.waves] == [(4, 0)]
    assert json.loads((tmp_path / "calibration.json").read_text())["status"] == "complete"


def test_a_file_of_the_users_at_a_name_calibrate_writes_is_never_replaced_or_removed(tmp_path):
    calibrate(out=tmp_path, **TINY)
    (tmp_path / "patterns.csv").write_text("mine")  # not in the inventory: the user's
    calibrate(out=tmp_path, **TINY)
    calibrate(out=tmp_path, fresh=True, **TINY)
    assert (tmp_path / "patterns.csv").read_text() == "mine"
    before = snapshot(tmp_path)
    with pytest.raises(InputError, match=r"patterns\.csv: exists and was not written by peacesim; move it away"):
        calibrate(out=tmp_path, **{**TINY, "patterns": 1})
    assert snapshot(tmp_path) == before


# ------------------------------------------------------------------------------------ the command
def test_the_command_refuses_other_settings_in_one_line_before_saying_anything(tmp_path, capsys):
    out = tmp_path / "c"
    common = ["--waves", "1", "--points", "2", "--replicates", "2", "--executor", "serial", "--quiet",
              "--out", str(out)]
    assert main(["calibrate", "--param", "ripeness_threshold:0.3:0.55", *common]) == 0
    capsys.readouterr()
    before = snapshot(out)
    assert main(["calibrate", "--param", "ripeness_threshold:0.3:0.6", *common]) == 2
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.splitlines() == [
        f"peacesim: error: --out {out}: holds a calibration made with --param ripeness_threshold:0.3:0.55; this one "
        f"asks for --param ripeness_threshold:0.3:0.6{REFUSAL_END}"]
    assert main(["calibrate", "--param", "ripeness_threshold:0.3:0.55", *common[:-2], "--seed", "7",
                 "--out", str(out)]) == 2
    assert "holds a calibration made with --seed 2026; this one asks for --seed 7;" in capsys.readouterr().err
    assert snapshot(out) == before
    # the same values typed otherwise are the same calibration: every run is reused
    assert main(["calibrate", "--param", "ripeness_threshold:0.30:0.550", *common]) == 0
    assert snapshot(out).keys() == before.keys()
    assert [(k, v) for k, v in snapshot(out).items() if k.startswith("wave-1/") and k.endswith(".parquet")] == \
           [(k, v) for k, v in before.items() if k.startswith("wave-1/") and k.endswith(".parquet")]
    capsys.readouterr()
    assert main(["calibrate", "--param", "ripeness_threshold:0.3:0.6", *common, "--fresh"]) == 0
    assert pd.read_csv(out / "waves.csv")["ripeness_threshold"].between(0.3, 0.6).all()
