"""Helpers of the fault-injection tests of results folders (test_results_safety, test_results_faults, and
the full-disk tests of the commands that write figures and reports)."""

from __future__ import annotations

import errno
import io
import os
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

import peacesim.sweep as sweep
from peacesim import fsutil
from peacesim.sweep import run_experiment

TINY = """
[experiment]
title = "tiny"
scenario = "reference"
replicates = {reps}
master_seed = 7
months = {months}
keep_series = {series}

[vary]
handover_quality = [0.1, 0.8]
"""


#: A Morris screening of two parameters, two trajectories of 24 months: 12 runs in a second or two.
SMALL_MORRIS = """
[experiment]
title = "Full disk"
scenario = "reference"
replicates = 2
master_seed = 5
months = 24

[sensitivity]
method = "morris"
parameters = ["ripeness_threshold", "pain_per_violence"]
trajectories = 2
outcomes = ["total_violence"]
resamples = 100
"""


def tiny(tmp_path: Path, reps: int = 4, months: int = 24, series: str = "false", name: str = "tiny.toml") -> Path:
    p = tmp_path / name
    p.write_text(TINY.format(reps=reps, months=months, series=series))
    return p


def cli(*args, cwd=None, timeout=120) -> subprocess.CompletedProcess:
    """``python -m peacesim ARGS`` in a new process (where a test needs a process of its own)."""
    return subprocess.run([sys.executable, "-m", "peacesim", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def main(*args, cwd=None) -> subprocess.CompletedProcess:
    """The ``peacesim`` command's entry point, run in this process (no start-up cost)."""
    from peacesim.cli import main as entry

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with redirect_stdout(out), redirect_stderr(err):
            code = entry([str(a) for a in args])
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def one_line(proc: subprocess.CompletedProcess) -> str:
    """The single line of stderr, checked: no traceback, the peacesim prefix."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("peacesim: error: "), lines[0]
    return lines[0]


def tables(out: Path) -> dict[str, pd.DataFrame]:
    return {k: pd.read_parquet(out / f"{k}.parquet") for k in ("runs", "episodes")
            if (out / f"{k}.parquet").exists()}


def assert_same_results(a: Path, b: Path) -> None:
    ta, tb = tables(a), tables(b)
    assert set(ta) == set(tb) == {"runs", "episodes"}
    for k in ta:
        pd.testing.assert_frame_equal(ta[k], tb[k])


@pytest.fixture
def reference(tmp_path):
    """An undisturbed sweep of ``tiny(reps=6, months=120, series=true)``, to compare repaired sweeps with."""
    exp = tiny(tmp_path, reps=6, months=120, series="true")
    out = tmp_path / "reference"
    run_experiment(exp, executor="serial", out=out, progress=False)
    return exp, out


def interrupted(exp: Path, out: Path, monkeypatch, after: int = 3) -> int:
    """A sweep stopped by Ctrl-C after ``after`` batches were written; returns the runs saved."""
    real = sweep.ResultStore.write_part
    calls = []

    def write_part(self, batch):
        calls.append(1)
        if len(calls) == after + 1:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(sweep.ResultStore, "write_part", write_part)
    with pytest.raises(sweep.SweepInterrupted) as info:
        run_experiment(exp, executor="serial", out=out, progress=False)
    monkeypatch.setattr(sweep.ResultStore, "write_part", real)
    return info.value.done


def wait_for_parts(out: Path, n: int = 1, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline and len(list((out / "parts").glob("runs-*.arrow"))) < n:
        time.sleep(0.02)
    assert len(list((out / "parts").glob("runs-*.arrow"))) >= n, "the sweep wrote no part in time"


def children(pid: int) -> list[int]:
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                ppid = int(Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                found.append(int(d))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def quick_figures(monkeypatch):
    import peacesim.sweep_plots as sp

    monkeypatch.setattr(sp, "_DPI", 20)


def _can_mount() -> bool:
    return sys.platform.startswith("linux") and os.geteuid() == 0 and shutil.which("mount") is not None


@pytest.fixture
def tmpfs(tmp_path):
    """A small tmpfs of our own (root only), and a function to remount it with other options."""
    if not _can_mount():
        pytest.skip("mounting a tmpfs needs root on Linux")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mnt)], capture_output=True).returncode:
        pytest.skip("this machine does not let us mount a tmpfs")

    def remount(opts: str) -> None:
        subprocess.run(["mount", "-o", f"remount,{opts}", str(mnt)], check=True, capture_output=True)

    try:
        yield mnt, remount
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@contextmanager
def held_lock(folder: Path, kind: str = "sweep"):
    """``folder`` (created if need be) with peacesim's lock on it held by this process for the block."""
    from peacesim.fsutil import FolderLock

    folder.mkdir(exist_ok=True)
    lock = FolderLock(folder, kind).acquire()
    try:
        yield folder
    finally:
        lock.release()


def full_disk_for(monkeypatch, suffixes: str | tuple[str, ...]) -> None:
    """Every file peacesim writes whose name ends with one of ``suffixes`` meets a full disk."""
    real = fsutil.atomic_write

    def write(path, data, **kw):
        if str(path).endswith(suffixes):
            raise fsutil.storage_error(OSError(errno.ENOSPC, "No space left on device"), path, "write")
        return real(path, data, **kw)

    monkeypatch.setattr(fsutil, "atomic_write", write)
