"""From Python, fresh, retry_failed, progress, quick and figures that are not True or False are
refused in one line before anything is touched: fresh="no" counted as true and removed the stored
results."""

from __future__ import annotations

import textwrap

import pytest

from peacesim.calibration import calibrate
from peacesim.errors import InputError
from peacesim.sensitivity import run_pilot, run_sensitivity
from peacesim.sweep import run_experiment
from peacesim.validation import validate
from results_helpers import SMALL_MORRIS, tiny

def tree_digest_of(folder):
    """Every file's checksum, but the lock file's."""
    import hashlib

    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".peacesim.lock"}


MORRIS = SMALL_MORRIS


def test_fresh_no_does_not_remove_the_stored_runs(tmp_path):
    exp, out = tiny(tmp_path, reps=2), tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    before = tree_digest_of(out)
    with pytest.raises(InputError) as info:
        run_experiment(exp, executor="serial", out=out, progress=False, fresh="no")
    assert str(info.value) == "fresh = 'no' is not allowed; expected True or False"
    assert tree_digest_of(out) == before
    again = run_experiment(exp, executor="serial", out=out, progress=False, fresh=False)
    assert again.ran == 0 and again.skipped == 4


@pytest.mark.parametrize("call, message", [
    (lambda p, o: run_experiment(p["sweep"], executor="serial", out=o, progress="no"),
     "progress = 'no' is not allowed; expected True or False"),
    (lambda p, o: run_experiment(p["sweep"], executor="serial", out=o, retry_failed=1),
     "retry_failed = 1 is not allowed; expected True or False"),
    (lambda p, o: run_sensitivity(p["sens"], executor="serial", out=o, fresh="no"),
     "fresh = 'no' is not allowed; expected True or False"),
    (lambda p, o: run_sensitivity(p["sens"], executor="serial", out=o, figures="no"),
     "figures = 'no' is not allowed; expected True or False"),
    (lambda p, o: run_pilot(p["sens"], executor="serial", out=o, fresh="false"),
     "fresh = 'false' is not allowed; expected True or False"),
    (lambda p, o: calibrate(out=o, fresh="false"), "fresh = 'false' is not allowed; expected True or False"),
    (lambda p, o: validate(out=o, quick="yes"), "quick = 'yes' is not allowed; expected True or False"),
])
def test_flags_that_are_not_true_or_false_are_refused_before_anything_is_written(tmp_path, call, message):
    paths = {"sweep": tiny(tmp_path, reps=2), "sens": tmp_path / "sens.toml"}
    paths["sens"].write_text(textwrap.dedent(MORRIS))
    out = tmp_path / "o"
    with pytest.raises(InputError) as info:
        call(paths, out)
    assert str(info.value) == message
    assert not out.exists()
