"""A calibration run again on a model that has changed since its waves were stored runs them again,
and says why in one line per wave, rather than redoing the work silently."""

from __future__ import annotations

from peacesim import sweep
from peacesim.calibration import DEFAULT_TARGETS, calibrate

AGREEMENT = DEFAULT_TARGETS[2]
TINY = dict(ranges={"ripeness_threshold": (0.3, 0.55)}, targets=[AGREEMENT], waves=2, points=2, replicates=2,
            cutoff=100, months=36, executor="serial")


def test_waves_run_again_after_the_model_changed_are_said_in_one_line_each(tmp_path, monkeypatch, capsys):
    calibrate(out=tmp_path, **TINY)
    again = calibrate(out=tmp_path, **TINY)
    assert [(w.ran, w.skipped) for w in again.waves] == [(0, 4), (0, 8)]
    assert "run again" not in capsys.readouterr().err  # nothing redone, nothing said

    real = sweep.model_digest()
    monkeypatch.setattr(sweep, "model_digest", lambda: "f" * 64)  # the model's source edited since
    res = calibrate(out=tmp_path, **TINY)
    assert [(w.ran, w.skipped) for w in res.waves] == [(4, 0), (8, 0)]
    said = [line for line in capsys.readouterr().err.splitlines() if "run again" in line]
    assert said == [
        f"calibration: wave 1 in {tmp_path / 'wave-1'} is run again: the model has changed since its 4 stored runs "
        f"were made (model digest {real[:12]} then, ffffffffffff now)",
        f"calibration: wave 2 in {tmp_path / 'wave-2'} is run again: the model has changed since its 8 stored runs "
        f"were made (model digest {real[:12]} then, ffffffffffff now)"]

    res = calibrate(out=tmp_path, fresh=True, **TINY)  # --fresh: everything runs again, as asked, without a note
    assert "run again" not in capsys.readouterr().err


def test_a_full_disk_while_writing_the_report_says_the_runs_are_kept_and_to_run_again(tmp_path, monkeypatch):
    import pytest

    from peacesim.errors import StorageError
    from results_helpers import full_disk_for

    full_disk_for(monkeypatch, "nroy.png")
    kw = {**TINY, "waves": 1}
    with pytest.raises(StorageError) as info:
        calibrate(out=tmp_path, **kw)
    assert str(info.value) == (f"{tmp_path / 'nroy.png'}: cannot write: No space left on device; every run of the "
                               f"calibration is saved in {tmp_path}, only its tables, figure and report could not be "
                               "written: free some space and run the same command again (the runs are not run again)")
    monkeypatch.undo()
    assert [(w.ran, w.skipped) for w in calibrate(out=tmp_path, **kw).waves] == [(0, 4)]


def test_a_calibration_stopped_before_the_end_does_not_say_running(tmp_path, monkeypatch):
    import json

    import pytest

    import peacesim.calibration as calibration
    from peacesim.sweep import SweepInterrupted

    real = calibration.run_experiment

    def second_wave_interrupted(exp, **kw):
        if kw["out"].name == "wave-2":
            raise SweepInterrupted(3, exp.n_runs, kw["out"])
        return real(exp, **kw)

    monkeypatch.setattr(calibration, "run_experiment", second_wave_interrupted)
    with pytest.raises(SweepInterrupted):
        calibrate(out=tmp_path, **TINY)
    record = json.loads((tmp_path / "calibration.json").read_text())
    assert record["status"] == "interrupted" and "stopped" in record
    monkeypatch.undo()
    calibrate(out=tmp_path, **TINY)  # the same command finishes it
    assert json.loads((tmp_path / "calibration.json").read_text())["status"] == "complete"
