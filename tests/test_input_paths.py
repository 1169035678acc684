"""Which file a path written inside another file names."""

from __future__ import annotations

import pytest

from peacesim import InputError
from peacesim.experiment import load_experiment
from peacesim.scenario import resolve_scenario

EXPERIMENT = """[experiment]
title = "tiny"
question = "q?"
scenario = "mine.toml"
replicates = 2
master_seed = 5

[parameters]
months = 24

[vary]
handover_quality = [0.1, 0.8]
"""


def _setup(tmp_path, monkeypatch, *, same: bool):
    reference = resolve_scenario("reference").read_text(encoding="utf-8")
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "e.toml").write_text(EXPERIMENT, encoding="utf-8")
    (tmp_path / "exp" / "mine.toml").write_text(reference, encoding="utf-8")
    (tmp_path / "mine.toml").write_text(reference if same else reference.replace("skill = 0.7", "skill = 0.2", 1),
                                        encoding="utf-8")
    monkeypatch.chdir(tmp_path)


def test_a_scenario_named_by_an_experiment_that_two_folders_hold_differently_is_refused(tmp_path, monkeypatch):
    """The copy in the current folder was read without a word: the same command gave other results
    when run from another folder."""
    _setup(tmp_path, monkeypatch, same=False)
    with pytest.raises(InputError, match=r"mine.toml: two different scenario files have this name, .*mine.toml \(from "
                                         r"the current folder\) and .*exp/mine.toml \(beside the file that names it\)"):
        load_experiment("exp/e.toml")


def test_the_same_file_in_both_folders_is_read(tmp_path, monkeypatch):
    _setup(tmp_path, monkeypatch, same=True)
    assert load_experiment("exp/e.toml").n_runs == 4
