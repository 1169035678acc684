"""A full disk while a sensitivity analysis writes its Parquet tables is one line in the system's
words, as for every other file: pyarrow's own wording ('Error writing bytes to file. Detail:
[errno 28] ...') is not shown."""

from __future__ import annotations

import errno
import textwrap

import pandas as pd
import pytest

from peacesim.errors import StorageError
from peacesim.merge import plain_os_error
from peacesim.sensitivity import run_sensitivity
from results_helpers import SMALL_MORRIS, main, one_line

BODY = SMALL_MORRIS

#: What pyarrow raises when the disk is full under a Parquet file it writes (pyarrow 15 to 21).
ARROW_FULL = "Error writing bytes to file. Detail: [errno 28] No space left on device"


def arrow_full_disk(monkeypatch, suffix: str) -> None:
    real = pd.DataFrame.to_parquet

    def to_parquet(self, path, *args, **kw):
        if str(path).endswith(".tmp") and f"{suffix}." in str(path):
            raise OSError(errno.ENOSPC, ARROW_FULL)
        return real(self, path, *args, **kw)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)


@pytest.mark.parametrize("table", ["indices.parquet", "noise.parquet", "points.parquet"])
def test_a_full_disk_under_a_parquet_table_of_the_analysis_is_said_in_plain_words(tmp_path, monkeypatch, table):
    path = tmp_path / "sens.toml"
    path.write_text(textwrap.dedent(BODY))
    out = tmp_path / "out"
    arrow_full_disk(monkeypatch, table)
    with pytest.raises(StorageError) as info:
        run_sensitivity(path, executor="serial", out=out, progress=False, figures=False)
    msg = str(info.value)
    assert "\n" not in msg and info.value.errno == errno.ENOSPC
    assert f"{out / table}: cannot write: No space left on device; all 12 runs are saved in {out}" in msg
    assert "Detail" not in msg and "Error writing bytes" not in msg
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_the_command_says_it_in_one_line(tmp_path, monkeypatch):
    path = tmp_path / "sens.toml"
    path.write_text(textwrap.dedent(BODY))
    out = tmp_path / "out"
    arrow_full_disk(monkeypatch, "noise.parquet")
    proc = main("sensitivity", path, "--out", out, "--executor", "serial", "--quiet", "--no-figures")
    line = one_line(proc)
    assert proc.returncode == 1
    assert f"{out / 'noise.parquet'}: cannot write: No space left on device;" in line and "Detail" not in line


def test_plain_os_error_keeps_other_errors_as_they_are():
    assert str(plain_os_error(OSError(errno.ENOSPC, ARROW_FULL))) == "[Errno 28] No space left on device"
    assert plain_os_error(OSError("IOError: Detail: [errno 30] Read-only file system")).errno == errno.EROFS
    denied = PermissionError(errno.EACCES, "Permission denied", "x")
    assert plain_os_error(denied) is denied
    other = OSError("not a file-system fault")
    assert plain_os_error(other) is other
