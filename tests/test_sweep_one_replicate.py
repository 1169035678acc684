"""A sweep of one replicate extended to more: what is said of the earlier replicate is plain English
('the first replicate', not 'the first 1 replicates')."""

from __future__ import annotations

import pytest

from peacesim.analysis import load_results
from peacesim.errors import InputError
from peacesim.sweep import run_experiment
from peacesim.sweep_plots import plot_results
from results_helpers import interrupted, quick_figures, tiny  # noqa: F401  (a fixture)


def test_an_unfinished_extension_of_one_replicate_says_the_first_replicate(tmp_path, monkeypatch, quick_figures):
    out = tmp_path / "o"
    run_experiment(tiny(tmp_path, reps=1, months=60), executor="serial", out=out, progress=False)
    plot_results(out)
    exp = tiny(tmp_path, reps=6, months=60)
    for _ in range(2):  # the note is read back by the next session
        interrupted(exp, out, monkeypatch, after=1)
        note = (out / "report.md").read_text(encoding="utf-8").split("\n\n", 1)[0]
        assert note.startswith("> **Not up to date:** this report, summary.csv and the figures describe the first "
                               "replicate. The sweep is being extended to 6 replicates")
    with pytest.raises(InputError) as info:
        load_results(out)
    msg = str(info.value)
    assert "while being extended from 1 to 6 replicates; the tables there are still those of the first replicate" in msg
    assert "1 replicates" not in msg
    run_experiment(exp, executor="serial", out=out, progress=False)
    note = (out / "report.md").read_text(encoding="utf-8").split("\n\n", 1)[0]
    assert note.startswith("> **Not up to date:** this report, summary.csv and the figures describe the first "
                           "replicate. The sweep has since been extended to 6 replicates")
