"""A validation run again on a model that has changed since its checks were stored runs them again
and says so in one line per check folder, as a calibration does for its waves."""

from __future__ import annotations

import json

from peacesim import sweep
from peacesim.validation import validate


def test_checks_run_again_after_the_model_changed_are_said_in_one_line(tmp_path, monkeypatch, capsys):
    kw = dict(quick=True, only=[9], out=tmp_path, executor="serial", progress=False, figures=False)
    validate(**kw)
    validate(**kw)
    assert "run again" not in capsys.readouterr().err  # reused: nothing said
    real = sweep.model_digest()
    folder = tmp_path / "quick" / "p9_stalemate"
    n = json.loads((folder / "manifest.json").read_text())["runs_done"]
    monkeypatch.setattr(sweep, "model_digest", lambda: "e" * 64)
    validate(**kw)
    said = [line for line in capsys.readouterr().err.splitlines() if "run again" in line]
    assert n > 0 and said == [f"validation: {folder} is run again: the model has changed since its {n} stored runs "
                              f"were made (model digest {real[:12]} then, eeeeeeeeeeee now)"]
