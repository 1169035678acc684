"""Ctrl-C while 'peacesim sweep' draws its figures, after every run is stored: one line says the
sweep is complete and how to draw the figures, rather than a bare 'interrupted'."""

from __future__ import annotations

from peacesim.cli import main

EXPERIMENT = """
[experiment]
title = "Figures interrupted"
scenario = "reference"
replicates = 2
master_seed = 3
months = 24

[vary]
handover_quality = [0.1, 0.8]
"""


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
