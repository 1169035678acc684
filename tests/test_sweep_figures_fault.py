"""A full disk while 'peacesim sweep' draws its figures (after every run is stored), or while
'peacesim plot' draws them, says in its one line that the runs are kept and what to do next; so
does Ctrl-C while they are drawn, rather than a bare 'interrupted'."""

from __future__ import annotations

from peacesim.cli import main
from results_helpers import full_disk_for

EXPERIMENT = """
[experiment]
title = "Figures on a full disk"
scenario = "reference"
replicates = 2
master_seed = 3
months = 24

[vary]
handover_quality = [0.1, 0.8]
"""


def test_a_full_disk_while_drawing_the_figures_says_the_sweep_is_complete(tmp_path, monkeypatch, capsys):
    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    out = tmp_path / "out"
    full_disk_for(monkeypatch, ".png")
    assert main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"peacesim: error: {out / 'figures'}/")
    assert err.endswith(f": cannot write: No space left on device; the sweep is complete in {out}: free some space "
                        f"and draw the figures with 'peacesim plot {out}'\n")
    assert main(["plot", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.endswith(f"; the sweep's runs in {out} are unchanged: free some space and run the same command "
                        "again\n")
    monkeypatch.undo()
    assert main(["plot", str(out)]) == 0


def test_ctrl_c_while_drawing_the_figures_says_the_sweep_is_complete(tmp_path, monkeypatch, capsys):
    import peacesim.sweep_plots as sweep_plots

    path = tmp_path / "exp.toml"
    path.write_text(EXPERIMENT)
    out = tmp_path / "out"

    def pressed(folder):
        raise KeyboardInterrupt

    monkeypatch.setattr(sweep_plots, "plot_results", pressed)
    status = main(["sweep", str(path), "--out", str(out), "--executor", "serial", "--quiet"])
    err = capsys.readouterr().err
    assert status == 130
    assert err == (f"peacesim: interrupted while drawing the figures; the sweep is complete in {out}: draw them with "
                   f"'peacesim plot {out}'\n")
    assert (out / "runs.parquet").is_file()
