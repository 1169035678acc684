"""A file-system fault while a sensitivity analysis writes its tables, figures and report, after
every run was stored: one line that says the runs are kept and to run the same command again."""

from __future__ import annotations

import errno
import textwrap

import pytest

from peacesim.errors import StorageError
from peacesim.sensitivity import run_pilot, run_sensitivity
from results_helpers import SMALL_MORRIS, full_disk_for

BODY = SMALL_MORRIS


def test_a_full_disk_while_writing_the_analysis_says_the_runs_are_kept_and_to_run_again(tmp_path, monkeypatch):
    path = tmp_path / "sens.toml"
    path.write_text(textwrap.dedent(BODY))
    out = tmp_path / "out"
    full_disk_for(monkeypatch, ("indices.csv",))
    with pytest.raises(StorageError) as info:
        run_sensitivity(path, executor="serial", out=out, progress=False, figures=False)
    msg = str(info.value)
    assert "\n" not in msg and info.value.errno == errno.ENOSPC
    assert "indices.csv: cannot write: No space left on device" in msg
    assert f"all 12 runs are saved in {out}" in msg
    assert "free some space and run the same command again (the runs are not run again)" in msg
    monkeypatch.undo()
    again = run_sensitivity(path, executor="serial", out=out, progress=False, figures=False)
    assert again.ran == 0 and again.skipped == 12 and (out / "indices.csv").is_file()


def test_a_full_disk_while_writing_the_pilot_says_the_runs_are_kept_and_to_run_again(tmp_path, monkeypatch):
    path = tmp_path / "sens.toml"
    path.write_text(textwrap.dedent(BODY))
    full_disk_for(monkeypatch, ("pilot.csv",))
    with pytest.raises(StorageError) as info:
        run_pilot(path, points=8, replicates=4, executor="serial", out=tmp_path / "pilot", progress=False)
    msg = str(info.value)
    assert "\n" not in msg and "pilot.csv: cannot write" in msg
    assert "all 32 runs are saved in" in msg and "run the same command again" in msg


def test_ctrl_c_during_the_analysis_says_the_runs_are_kept_and_to_run_again(tmp_path, monkeypatch, capsys):
    import peacesim.sensitivity as sensitivity
    from peacesim.cli import main

    path = tmp_path / "sens.toml"
    path.write_text(textwrap.dedent(BODY))
    out = tmp_path / "out"
    real = sensitivity.write_outputs

    def pressed(*args, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(sensitivity, "write_outputs", pressed)
    status = main(["sensitivity", str(path), "--out", str(out), "--executor", "serial", "--quiet", "--no-figures"])
    err = capsys.readouterr().err
    assert status == 130
    assert err == (f"peacesim: interrupted during the analysis: all 12 runs are saved in {out}; run the same command "
                   "again to analyse them (the runs are not run again)\n")
    monkeypatch.setattr(sensitivity, "write_outputs", real)
    again = run_sensitivity(path, executor="serial", out=out, progress=False, figures=False)
    assert again.ran == 0 and again.skipped == 12 and (out / "indices.csv").is_file()

    monkeypatch.setattr(sensitivity, "_write_pilot", pressed)
    status = main(["sensitivity", str(path), "--pilot", "--pilot-points", "8", "--pilot-replicates", "4",
                   "--out", str(tmp_path / "pilot"), "--executor", "serial", "--quiet"])
    assert status == 130 and "interrupted during the analysis: all 32 runs are saved in" in capsys.readouterr().err


def test_a_folder_refused_is_said_without_first_announcing_the_runs(tmp_path, capsys):
    """As with 'peacesim sweep': the line saying what will run comes only once the folder is known
    to hold no other experiment's runs, so a refusal is not preceded by it."""
    from peacesim.cli import main

    path = tmp_path / "sens.toml"
    path.write_text(textwrap.dedent(BODY))
    other = tmp_path / "other.toml"
    other.write_text(textwrap.dedent(BODY).replace("master_seed = 5", "master_seed = 6"))
    out = tmp_path / "out"
    assert main(["sensitivity", str(path), "--out", str(out), "--executor", "serial", "--quiet", "--no-figures"]) == 0
    assert capsys.readouterr().out.startswith("Full disk: Morris, 2 factors")
    for extra in ([], ["--pilot", "--pilot-points", "8", "--pilot-replicates", "4"]):
        assert main(["sensitivity", str(other), "--out", str(out), "--executor", "serial", "--quiet", *extra]) == 2
        said = capsys.readouterr()
        assert said.out == "" and "belong to a different experiment" in said.err
