"""A full disk while 'peacesim sweep' draws its figures (after every run is stored), or while
'peacesim plot' draws them, says in its one line that the runs are kept and what to do next."""

from __future__ import annotations

import errno

from peacesim import fsutil
from peacesim.cli import main

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
    real = fsutil.atomic_write

    def write(target, data, **kw):
        if str(target).endswith(".png"):
            raise fsutil.storage_error(OSError(errno.ENOSPC, "No space left on device"), target, "write")
        return real(target, data, **kw)

    monkeypatch.setattr(fsutil, "atomic_write", write)
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
