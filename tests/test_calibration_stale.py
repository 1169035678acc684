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
