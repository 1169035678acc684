"""Results that cannot be lost or misplaced: fault injection on the sweep runner and its folders.

Each class of failure has a test here (or, for a run that kills its worker, in test_sweep.py):
two sweeps on one folder, a SIGKILL (its workers and its lock), folders peacesim does not own,
paths that would lead out of the folder named, damaged parts and tables (cut short, or changed
and still parseable), a run that calls sys.exit or raises KeyboardInterrupt, a read-only folder,
a full disk (a small tmpfs where this may mount one, and a patched write everywhere), the size
budget, and input that was accepted but wrong. Every test checks the files, not only the exit
status, and every one fails on the runner as it was before these guarantees.
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from test_sweep import _patch_run, tree_digest, write_exp

import peacesim.sweep as sweep
from peacesim.errors import InputError, StorageError
from peacesim.experiment import load_experiment
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


# ================================================================== one sweep at a time
def test_a_second_sweep_on_a_busy_folder_is_refused_and_names_the_first(tmp_path):
    exp = tiny(tmp_path, reps=10)
    out = tmp_path / "busy"
    go = tmp_path / "go"  # the first sweep waits at its ninth run until the test says go
    code = _patch_run(f"spec.design_point == 0 and spec.replicate == 8 and not os.path.exists({str(go)!r})",
                      f"while not os.path.exists({str(go)!r}): time.sleep(0.01)") + f"""
from peacesim.cli import main
sys.exit(main(["sweep", {str(exp)!r}, "--executor", "serial", "--out", {str(out)!r}, "--quiet", "--no-figures"]))
"""
    first = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_parts(out)
        second = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures")
        assert first.poll() is None
        assert second.returncode == 1
        line = one_line(second)
        assert f"{out}: another peacesim sweep, process {first.pid}" in line and "is using this folder" in line
        go.touch()
        _, err = first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, err
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 20 and not runs.duplicated(["design_point", "replicate"]).any()
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"
    assert json.loads((out / ".peacesim.lock").read_text() or "null") is None  # released, no stale holder


def test_a_lock_held_in_this_process_refuses_a_sweep_too(tmp_path):
    from peacesim.fsutil import FolderLock

    exp = tiny(tmp_path)
    out = tmp_path / "o"
    out.mkdir()
    lock = FolderLock(out, "sweep").acquire()
    try:
        with pytest.raises(StorageError, match=f"process {os.getpid()}"):
            run_experiment(exp, executor="serial", out=out, progress=False)
    finally:
        lock.release()
    assert run_experiment(exp, executor="serial", out=out, progress=False).ran == 8


def test_the_pid_file_lock_where_flock_is_missing(tmp_path, monkeypatch):
    import peacesim.fsutil as fsutil

    monkeypatch.setattr(fsutil, "fcntl", None)
    a = fsutil.FolderLock(tmp_path, "sweep").acquire()
    with pytest.raises(StorageError, match=f"process {os.getpid()}"):
        fsutil.FolderLock(tmp_path, "sweep").acquire()
    a.release()
    # a holder that was killed left its pid file: a process that no longer exists holds nothing
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".peacesim.pid").write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    fsutil.FolderLock(tmp_path, "sweep").acquire().release()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_after_sigkill_the_workers_exit_and_the_folder_is_free_to_resume(tmp_path):
    exp = tiny(tmp_path, reps=10)
    out = tmp_path / "killed"
    # from its fourth replicate on, every run waits (until the sweep is killed)
    code = _patch_run("spec.replicate >= 3", "time.sleep(3600)") + f"""
s.run_experiment({str(exp)!r}, executor="processes", workers=2, out={str(out)!r}, progress=False)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    kids: list[int] = []
    try:
        wait_for_parts(out)
        kids = children(proc.pid)
        assert len(kids) >= 2, "no worker processes found"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 10
        while time.time() < deadline and any(alive(k) for k in kids):
            time.sleep(0.05)
        assert not [k for k in kids if alive(k)], "worker processes outlived the sweep they worked for"
    finally:
        for k in kids:
            if alive(k):
                os.kill(k, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    # the lock went with the process: the same sweep resumes at once
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped > 0 and res.skipped + res.ran == 20
    fresh = tmp_path / "fresh"
    run_experiment(exp, executor="serial", out=fresh, progress=False)
    assert_same_results(out, fresh)


# ================================================================== only our files, only where asked
def test_fresh_refuses_a_folder_that_peacesim_did_not_write(tmp_path):
    exp = tiny(tmp_path)
    folder = tmp_path / "my-analysis"
    (folder / "figures").mkdir(parents=True)
    (folder / "figures" / "plot.png").write_bytes(b"my figure")
    (folder / "report.md").write_text("my report")
    (folder / "summary.csv").write_text("a,b\n1,2\n")
    (folder / "manifest.json").write_text(json.dumps({"name": "my own analysis", "status": "complete"}))
    before = tree_digest(folder)
    for extra in ([], ["--fresh"]):
        r = main("sweep", exp, "--out", folder, "--executor", "serial", "--no-figures", *extra)
        assert r.returncode == 2
        line = one_line(r)
        assert "did not write" in line and "--fresh" not in line
        assert tree_digest(folder) == before and not (folder / ".peacesim.lock").exists()


@pytest.mark.parametrize("damage", ["corrupt", "a JSON list", "missing"])
def test_fresh_works_on_a_folder_of_ours_whose_manifest_is_damaged(tmp_path, damage):
    exp = tiny(tmp_path)
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    (out / "notes.txt").write_text("mine")  # a user's file in our folder: never removed
    manifest = out / "manifest.json"
    if damage == "corrupt":
        manifest.write_text('{"name": "tiny", "status": "compl')
    elif damage == "a JSON list":
        manifest.write_text("[1, 2, 3]")
    else:
        manifest.unlink()
    r = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures")
    assert r.returncode == 2
    line = one_line(r)
    assert "manifest.json" in line and "--fresh" in line and "removes only peacesim's files" in line
    r = main("sweep", exp, "--out", out, "--executor", "serial", "--fresh", "--no-figures", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads(manifest.read_text())["status"] == "complete"
    assert len(pd.read_parquet(out / "runs.parquet")) == 8
    assert (out / "notes.txt").read_text() == "mine"


@pytest.fixture
def quick_figures(monkeypatch):
    import peacesim.sweep_plots as sp

    monkeypatch.setattr(sp, "_DPI", 20)


def test_fresh_removes_the_figures_peacesim_drew_and_nothing_else(tmp_path, quick_figures):
    from peacesim.sweep_plots import plot_results

    exp = tiny(tmp_path)
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    drawn = plot_results(out)
    (out / "figures" / "mine.png").write_bytes(b"mine")
    (out / "my notes.md").write_text("mine")
    run_experiment(exp, executor="serial", out=out, progress=False, fresh=True)
    assert not [p for p in drawn if p.exists()]
    assert (out / "figures" / "mine.png").read_bytes() == b"mine" and (out / "my notes.md").read_text() == "mine"
    assert json.loads((out / ".peacesim").read_text())["plot_files"] == []


@pytest.mark.parametrize("case", ["a user's folder", "a sweep's folder"])
def test_run_out_refuses_a_folder_holding_files_it_did_not_write(tmp_path, case):
    folder = tmp_path / "data"
    if case == "a user's folder":
        folder.mkdir()
        (folder / "series.csv").write_text("my,own,series\n")
    else:
        run_experiment(tiny(tmp_path), executor="serial", out=folder, progress=False)
    before = tree_digest(folder)
    r = main("run", "reference", "--months", "24", "--no-figure", "--out", folder)
    assert r.returncode == 2
    line = one_line(r)
    assert str(folder) in line and ("did not write" in line or "a sweep's results" in line)
    assert tree_digest(folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["data", *(["tiny.toml"] if "sweep" in case else [])])


@pytest.mark.parametrize("command", ["run", "sweep"])
@pytest.mark.parametrize("out", ["", "/"])
def test_out_refuses_the_empty_path_and_the_root(tmp_path, command, out):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    root_before = sorted(os.listdir("/"))
    args = ["run", "reference", "--months", "24", "--no-figure"] if command == "run" else \
        ["sweep", tiny(tmp_path), "--executor", "serial"]
    r = main(*args, "--out", out, cwd=cwd)
    assert r.returncode == 2
    line = one_line(r)
    assert ("an empty path is not allowed" if out == "" else "the root of the file system") in line
    assert list(cwd.iterdir()) == [] and sorted(os.listdir("/")) == root_before


def test_out_below_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    for args in (["sweep", tiny(tmp_path), "--executor", "serial"], ["run", "reference", "--months", "24"]):
        r = main(*args, "--out", tmp_path / "afile" / "sub")
        assert r.returncode == 2 and "afile" in one_line(r)
    assert (tmp_path / "afile").read_text() == "x"


@pytest.mark.parametrize("name", ["../../escaped", "ABSOLUTE"])
def test_an_experiment_name_is_a_folder_name_never_a_path(tmp_path, name):
    if name == "ABSOLUTE":
        name = str(tmp_path / "absolute-target")
    exp = tmp_path / "e.toml"
    exp.write_text(TINY.format(reps=2, months=24, series="false").replace('title = "tiny"', f"name = {json.dumps(name)}"))
    cwd = tmp_path / "a" / "b"
    cwd.mkdir(parents=True)
    r = main("sweep", exp, "--executor", "serial", "--no-figures", cwd=cwd)
    assert r.returncode == 0, r.stderr
    made = list((cwd / "results").iterdir())
    assert len(made) == 1 and (made[0] / "runs.parquet").is_file()
    assert "/" not in made[0].name and ".." not in made[0].name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "e.toml"]  # nothing written beside the cwd
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b"]


def _crafted(tmp_path: Path, factor: str) -> Path:
    """A results folder whose manifest names a factor that would be a path in a file name."""
    out = tmp_path / "results" / "crafted"
    run_experiment(tiny(tmp_path), executor="serial", out=out, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    for name in ("runs", "episodes"):
        df = pd.read_parquet(out / f"{name}.parquet").rename(columns={"handover_quality": factor})
        df.to_parquet(out / f"{name}.parquet")
    m["factors"] = [factor]
    m.pop("tables")  # a crafted folder would not keep checksums that give it away
    (out / "manifest.json").write_text(json.dumps(m))
    # the folders the old file names would have walked through
    (out / "figures" / "durability_vs_x").mkdir(parents=True)
    (out / "figures" / "agreement_vs_x").mkdir(parents=True)
    return out


def test_plot_never_writes_outside_the_results_folder(tmp_path, quick_figures):
    from peacesim.sweep_plots import plot_results

    out = _crafted(tmp_path, "x/../../../escaped")
    outside = {p for p in tmp_path.rglob("*") if out not in p.parents and p != out}
    written = plot_results(out)
    assert {p for p in tmp_path.rglob("*") if out not in p.parents and p != out} == outside
    assert all(out in p.resolve().parents for p in written)
    figs = sorted(p.name for p in (out / "figures").iterdir() if p.is_file())
    assert "durability_vs_x_escaped.png" in figs and "agreement_vs_x_escaped.png" in figs


def test_plot_refuses_a_figures_link_a_foreign_folder_and_a_foreign_file(tmp_path):
    from peacesim.sweep_plots import plot_results

    # figures/ as a link out of the folder
    out = tmp_path / "o"
    run_experiment(tiny(tmp_path), executor="serial", out=out, progress=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (out / "figures").symlink_to(elsewhere, target_is_directory=True)
    r = main("plot", out)
    assert r.returncode == 2 and "figures" in one_line(r)
    assert list(elsewhere.iterdir()) == []
    # a folder that is not peacesim's, with results-like tables and the user's report.md
    foreign = tmp_path / "foreign"
    shutil.copytree(out, foreign, symlinks=True)
    (foreign / ".peacesim").unlink()
    m = json.loads((foreign / "manifest.json").read_text())
    (foreign / "manifest.json").write_text(json.dumps({k: m[k] for k in ("name", "factors", "replicates")}))
    (foreign / "report.md").write_text("my report")
    with pytest.raises(InputError, match="not a peacesim results folder"):
        plot_results(foreign)
    assert (foreign / "report.md").read_text() == "my report"
    # our folder, where the user left a report.md of their own
    (out / "figures").unlink()
    (out / "report.md").write_text("my report")
    with pytest.raises(InputError, match="report.md: exists and was not written by peacesim"):
        plot_results(out)
    assert (out / "report.md").read_text() == "my report"
    assert not (out / "figures").exists()


# ================================================================== checked parts and tables
def _rewrite_part(path: Path, change) -> None:
    """Replace an Arrow part by a valid Arrow file with changed contents (it still parses)."""
    df = feather.read_table(path).to_pandas()
    feather.write_feather(pa.Table.from_pandas(change(df), preserve_index=False), path, compression="uncompressed")


@pytest.mark.parametrize("kind", ["runs", "episodes", "series"])
def test_a_damaged_part_that_still_parses_is_set_aside_and_rerun(tmp_path, monkeypatch, reference, kind):
    exp, ref = reference
    out = tmp_path / "damaged"
    interrupted(exp, out, monkeypatch, after=2)
    part = sorted((out / "parts").glob(f"{kind}-*.arrow"))[0]

    def garbage(df):
        if kind == "runs":
            df["design_point"] = 977  # keys and outcomes that are not the design's
            df["total_violence"] = -1.0
        elif kind == "episodes":
            df["months_survived"] = df["months_survived"].astype(str)  # a column of another type
        else:
            df["violence"] = df["violence"] + 1.0
        return df

    _rewrite_part(part, garbage)
    r = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures")
    assert r.returncode == 0, r.stderr
    warning = [ln for ln in r.stderr.splitlines() if ln.startswith("peacesim: warning:")]
    assert len(warning) == 1 and part.name in warning[0] and "unreadable-parts" in warning[0]
    assert "Traceback" not in r.stderr
    assert (out / "unreadable-parts" / part.name).is_file()
    assert_same_results(out, ref)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "series.parquet"), pd.read_parquet(ref / "series.parquet"))
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_a_record_edited_or_lost_sets_its_batch_aside(tmp_path, monkeypatch, reference):
    exp, ref = reference
    out = tmp_path / "records"
    interrupted(exp, out, monkeypatch, after=3)
    records = sorted((out / "parts").glob("batch-*.json"))
    edited = json.loads(records[0].read_text())
    edited["keys"] = [[0, 0, 1]]  # still valid JSON, no longer what was written
    records[0].write_text(json.dumps(edited))
    records[1].unlink()
    with pytest.warns(RuntimeWarning) as caught:
        res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert len([w for w in caught if "unreadable-parts" in str(w.message)]) == 2
    assert res.ran + res.skipped == 12
    assert_same_results(out, ref)


def test_a_batch_of_runs_that_are_not_the_design_is_set_aside(tmp_path, monkeypatch, reference):
    # parts written whole, with valid checksums, but of runs the experiment does not have
    exp, ref = reference
    out = tmp_path / "keys"
    interrupted(exp, out, monkeypatch, after=1)
    store = sweep.ResultStore(out, load_experiment(exp))
    store.open(False)
    try:
        store.scan()
        row = {"design_point": 0, "replicate": 5, "seed": 123, "handover_quality": 0.1, "status": "ok", "error": ""}
        store.write_part({"runs": [row], "episodes": [], "series": None, "seconds": 0.0})
    finally:
        store.close()
    with pytest.warns(RuntimeWarning, match="not the run's seed"):
        run_experiment(exp, executor="serial", out=out, progress=False)
    assert_same_results(out, ref)


def test_a_part_that_goes_bad_before_the_merge_is_rerun_before_the_sweep_is_complete(tmp_path, monkeypatch,
                                                                                  reference):
    exp, ref = reference
    out = tmp_path / "late"
    real = sweep.ResultStore.merge
    calls = []

    def merge(self, manifest):
        calls.append(1)
        if len(calls) == 1:  # damaged after it was written and checked: the merge must notice
            part = sorted(self.parts.glob("runs-*.arrow"))[0]
            part.write_bytes(part.read_bytes()[:-7] + b"garbage")
        return real(self, manifest)

    monkeypatch.setattr(sweep.ResultStore, "merge", merge)
    with pytest.warns(RuntimeWarning, match="checksum differs"):
        res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert len(calls) == 2 and res.ran > 12  # the runs of the damaged batch ran twice
    assert_same_results(out, ref)
    assert json.loads((out / "manifest.json").read_text())["runs_done"] == 12


@pytest.mark.parametrize("damage", ["cut short", "changed and still parses"])
def test_damaged_final_tables_are_refused_by_plot_and_repaired_by_the_same_sweep(tmp_path, reference, damage):
    from peacesim.sweep_plots import plot_results

    exp, ref = reference
    out = tmp_path / "final"
    shutil.copytree(ref, out)
    path = out / ("runs.parquet" if damage == "cut short" else "episodes.parquet")
    if damage == "cut short":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        df = pd.read_parquet(path)
        df["months_survived"] = df["months_survived"] * 0 + 1
        df.to_parquet(path)
    with pytest.raises(InputError, match=f"{path.name}: damaged|{path.name}: cannot be read"):
        plot_results(out)
    r = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures", "--quiet")
    assert r.returncode == 0, r.stderr
    warning = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(warning) == 1 and warning[0].startswith("peacesim: warning:") and "unreadable-parts" in warning[0]
    assert_same_results(out, ref)


# ================================================================== runs that exit or are interrupted
@pytest.mark.skipif(sys.platform != "linux", reason="the failure is patched into forked workers")
@pytest.mark.parametrize("executor", ["serial", "processes"])
@pytest.mark.parametrize("raised", ["sys.exit(3)", "raise KeyboardInterrupt"])
def test_sys_exit_or_keyboardinterrupt_inside_a_run(tmp_path, executor, raised):
    exp = tiny(tmp_path, reps=10)
    out = tmp_path / "o"
    code = _patch_run("spec.design_point == 0 and spec.replicate == 3", raised) + f"""
from peacesim.cli import main
sys.exit(main(["sweep", {str(exp)!r}, "--executor", {executor!r}, "--workers", "2", "--out", {str(out)!r},
               "--quiet", "--no-figures"]))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    m = json.loads((out / "manifest.json").read_text())
    if raised.startswith("raise") and executor == "serial":
        # in the process running the sweep, a KeyboardInterrupt is Ctrl-C: stop, keep what is done
        assert proc.returncode == 130 and "run the same command again to resume" in proc.stderr
        assert m["status"] == "interrupted" and 3 <= m["runs_done"] < 20
        return
    # a run that calls sys.exit (anywhere), or raises KeyboardInterrupt in a worker (which ignores
    # Ctrl-C), is a failed run; the sweep goes on
    assert proc.returncode == 0, proc.stderr
    assert m["status"] == "complete" and m["runs_failed"] == 1
    runs = pd.read_parquet(out / "runs.parquet")
    bad = runs[runs.status == "failed"]
    assert list(zip(bad.design_point, bad.replicate)) == [(0, 3)]
    assert bad.error.iloc[0].startswith("SystemExit" if "exit" in raised else "KeyboardInterrupt")


def test_retry_failed_runs_them_again_and_failed_rows_keep_the_column_types(tmp_path, monkeypatch):
    exp = tiny(tmp_path, reps=3)
    bad_seed = load_experiment(exp).seeds[1]

    class Flaky(sweep.PeaceModel):
        def run(self):
            if self._seed == bad_seed:
                raise ValueError("boom")
            super().run()

    out = tmp_path / "o"
    monkeypatch.setattr(sweep, "PeaceModel", Flaky)
    assert run_experiment(exp, executor="serial", out=out, progress=False).failed == 2
    runs = pd.read_parquet(out / "runs.parquet")
    clean = tmp_path / "clean"
    monkeypatch.undo()
    run_experiment(exp, executor="serial", out=clean, progress=False)
    ref = pd.read_parquet(clean / "runs.parquet")
    # whole numbers stay whole numbers and true/false stays true/false next to the failed rows
    for col in ("n_agreements", "months_in_conflict", "rotations"):
        assert pd.api.types.is_integer_dtype(runs[col]) and pd.api.types.is_integer_dtype(ref[col]), col
    assert pd.api.types.is_bool_dtype(runs["agreement_reached"])
    assert runs.loc[runs.status == "failed", "n_agreements"].isna().all()
    # a rerun does not retry them; --retry-failed does, and replaces their rows
    assert run_experiment(exp, executor="serial", out=out, progress=False).ran == 0
    res = run_experiment(exp, executor="serial", out=out, progress=False, retry_failed=True)
    assert res.ran == 2 and res.failed == 0 and res.skipped == 4
    assert_same_results(out, clean)
    r = main("sweep", exp, "--out", out, "--executor", "serial", "--retry-failed", "--no-figures")
    assert r.returncode == 0 and "0 runs done" in r.stdout


# ================================================================== file-system faults
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


def test_a_full_disk_stops_the_sweep_in_one_line_and_the_same_command_resumes(tmp_path, tmpfs):
    mnt, remount = tmpfs
    remount("size=192k")
    exp = tiny(tmp_path, reps=12, months=120, series="true")
    out = mnt / "sweep"
    r = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures", "--quiet")
    assert r.returncode == 1
    line = one_line(r)
    assert "No space left on device" in line and "free some space and run the same command again" in line
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "stopped" and "No space left on device" in m["error"]
    assert not [p for p in out.rglob("*.tmp")], "a half-written file was left behind"
    remount("size=16m")
    r = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures")
    assert r.returncode == 0, r.stderr
    fresh = tmp_path / "fresh"
    run_experiment(exp, executor="serial", out=fresh, progress=False)
    assert_same_results(out, fresh)


def test_a_read_only_folder_is_one_line_and_the_same_command_resumes(tmp_path, monkeypatch):
    exp = tiny(tmp_path, reps=6)
    if _can_mount():
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mnt)]).returncode:
            pytest.skip("cannot mount a tmpfs")
        out = mnt / "o"

        def read_only(on: bool) -> None:
            subprocess.run(["mount", "-o", "remount," + ("ro" if on else "rw"), str(mnt)], check=True)
        cause = "Read-only file system"
    elif os.geteuid() != 0:
        mnt = None
        out = tmp_path / "o"

        def read_only(on: bool) -> None:
            for p in [out, *out.rglob("*")]:
                if p.is_dir():
                    p.chmod(0o555 if on else 0o755)
        cause = "Permission denied"
    else:
        pytest.skip("root ignores permissions, and no tmpfs can be mounted here")
    try:
        saved = interrupted(exp, out, monkeypatch, after=2)
        before = tree_digest(out)
        read_only(True)
        r = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures")
        assert r.returncode == 1
        line = one_line(r)
        assert str(out) in line and cause in line
        assert tree_digest(out) == before
        read_only(False)
        r = main("sweep", exp, "--out", out, "--executor", "serial", "--no-figures")
        assert r.returncode == 0, r.stderr
        assert f"{saved} were already done" in r.stdout
        assert len(pd.read_parquet(out / "runs.parquet")) == 12
    finally:
        if mnt is not None:
            subprocess.run(["umount", str(mnt)], capture_output=True)


@pytest.mark.parametrize("where", ["a part", "the merge"])
def test_no_space_left_by_a_patched_write(tmp_path, monkeypatch, reference, where):
    # the same fault as a full disk, on any machine: the rename that would put a file in place fails
    exp, ref = reference
    out = tmp_path / "full"
    real = os.replace
    calls = []

    def replace(src, dst, *a, **k):
        name = Path(dst).name
        if (name.startswith("runs-") if where == "a part" else name == "series.parquet"):
            calls.append(1)
            if len(calls) >= (3 if where == "a part" else 1):
                raise OSError(errno.ENOSPC, "No space left on device", str(dst))
        return real(src, dst, *a, **k)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(StorageError, match="No space left on device") as info:
        run_experiment(exp, executor="serial", out=out, progress=False)
    monkeypatch.setattr(os, "replace", real)
    message = str(info.value)
    assert "\n" not in message and "run the same command again to resume" in message
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "stopped"
    assert not [p for p in out.rglob("*.tmp")]
    run_experiment(exp, executor="serial", out=out, progress=False)
    assert_same_results(out, ref)


# ================================================================== the size budget
def test_a_million_local_mechanisms_are_refused_up_front(tmp_path):
    from peacesim.scenario import resolve_scenario

    text = resolve_scenario("reference").read_text()
    text += "".join(f'\n[[local]]\nname = "village council {i}"\ncount = 1000\n' for i in range(1000))
    scen = tmp_path / "huge.toml"
    scen.write_text(text)
    t0 = time.time()
    r = cli("run", scen, "--out", tmp_path / "o", timeout=60)
    assert r.returncode == 2 and time.time() - t0 < 30
    line = one_line(r)
    assert re.search(r"the scenario has 1,00\d,\d\d\d actors", line) and "at most 2,000" in line and "TiB" in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("case", ["steps", "design points", "runs"])
def test_designs_over_the_budget_are_refused_before_validation(tmp_path, case):
    body = {
        "steps": "[vary]\nhandover_quality = { range = [0, 1], steps = 10000000 }",
        "design points": "[vary]\nhandover_quality = { range = [0, 1], steps = 50 }\n"
                         "trust_drift = { range = [0, 0.5], steps = 50 }\npain_decay = { range = [0, 0.5], steps = 50 }",
        "runs": "[vary]\nhandover_quality = { range = [0, 1], steps = 5 }",
    }[case]
    reps = 1_000_000 if case == "runs" else 2
    exp = tmp_path / "big.toml"
    exp.write_text(f'[experiment]\nscenario = "reference"\nreplicates = {reps}\nmaster_seed = 1\n{body}\n')
    t0 = time.time()
    r = cli("sweep", exp, "--out", tmp_path / "o", "--executor", "serial", timeout=60)
    assert r.returncode == 2 and time.time() - t0 < 30
    line = one_line(r)
    assert {"steps": "from 2 to 10,000", "design points": "125,000 design points; at most 20,000",
            "runs": "5,000,000 runs; at most 2,000,000"}[case] in line
    assert not (tmp_path / "o").exists()


def test_a_sweep_whose_merge_would_not_fit_in_memory_is_refused(tmp_path, monkeypatch):
    import peacesim.budget as budget

    monkeypatch.setattr(budget, "physical_memory", lambda: 256 * 2**20)
    exp = tiny(tmp_path, reps=2_000, months=240, series="true")
    with pytest.raises(InputError, match=r"4,000 runs would need about .* MiB of memory to merge .* set keep_series = false"):
        run_experiment(exp, executor="serial", out=tmp_path / "o", progress=False)
    assert not (tmp_path / "o").exists()


# ================================================================== input accepted but wrong
def _scenario_with(tmp_path: Path, old: str, new: str) -> Path:
    from peacesim.scenario import resolve_scenario

    text = resolve_scenario("reference").read_text()
    assert text.count(old) >= 1
    p = tmp_path / "s.toml"
    p.write_text(text.replace(old, new, 1))
    return p


@pytest.mark.parametrize("name, expect", [
    ('""', "name = '' is not allowed; expected a non-empty text"),
    ('"   "', "name = '   ' is not allowed; expected a non-empty text"),
    ('"the government;the rebels"', "';' separates actor names in the event log"),
    ('"two\\nlines"', "line break"),
])
def test_actor_names_that_would_break_the_outputs_are_refused(tmp_path, name, expect):
    scen = _scenario_with(tmp_path, 'name = "the government"', f"name = {name}")
    r = main("run", scen, "--months", "24", "--out", tmp_path / "o")
    assert r.returncode == 2
    line = one_line(r)
    assert str(scen) in line and "party #1" in line and expect in line
    assert not (tmp_path / "o").exists()


EXPERIMENTS = {
    "identical design rows": ('[[design]]\nhandover_quality = 0.1\n[[design]]\nhandover_quality = 0.8\n'
                              '[[design]]\nhandover_quality = 0.1\n',
                              "design rows 1 and 3 are the same (handover_quality = 0.1)"),
    "varied and fixed": ('[parameters]\nhandover_quality = 0.5\n[vary]\nhandover_quality = [0.1, 0.8]\n',
                         "handover_quality is set in [parameters] (handover_quality = 0.5) and varied in [vary]"),
    "design row and fixed": ('[parameters]\nmediators = 3\n[[design]]\nmediators = 2\n[[design]]\nmediators = 4\n',
                             "mediators is set in [parameters] (mediators = 3) and varied in [[design]]"),
    "months twice": ('months = 48\n[parameters]\nmonths = 60\n', "months is set both as experiment.months = 48"),
    "collapsing range": ('[vary]\ntenure_mediator = { range = [6, 7], steps = 5 }\n',
                         "range = [6, 7] with steps = 5 gives only 2 distinct whole numbers ([6, 7])"),
    "a true in TOML words": ('[vary]\nhandover_quality = [true, 0.8]\n', "handover_quality = true is not allowed"),
    "a date in TOML words": ('[vary]\nhandover_quality = [1979-05-27, 0.8]\n',
                             "handover_quality = 1979-05-27 is not allowed"),
    "a missing field": ('', "experiment.replicates is missing"),
    "a long value cut": (f'[vary]\nhandover_quality = ["{"x" * 100_000}"]\n', "(100,000 characters)"),
}


@pytest.mark.parametrize("case", sorted(EXPERIMENTS))
def test_experiment_input_that_was_accepted_but_wrong(tmp_path, case):
    body, expect = EXPERIMENTS[case]
    head = '[experiment]\nscenario = "reference"\nreplicates = 2\nmaster_seed = 1\n'
    if case == "a missing field":
        head = head.replace("replicates = 2\n", "")
    if case == "months twice":
        head += body.split("\n", 1)[0] + "\n"
        body = body.split("\n", 1)[1]
    exp = tmp_path / "e.toml"
    exp.write_text(head + body)
    r = main("sweep", exp, "--out", tmp_path / "o", "--executor", "serial")
    assert r.returncode == 2
    line = one_line(r)
    assert str(exp) in line and expect in line, line
    assert "True" not in line and "None" not in line and "datetime" not in line
    assert len(line) < 400
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option, typed", [("--set", "handover_quality=1.50"), ("--months", "1e9")])
def test_command_line_values_are_quoted_as_typed(tmp_path, option, typed):
    r = main("run", "reference", option, typed, "--out", tmp_path / "o")
    assert r.returncode == 2
    line = one_line(r)
    assert f"= {typed.split('=')[-1]} is not allowed" in line


# ================================================================== the same with Dask (slow: a cluster starts)
def _dask_env(tmp_path: Path, condition: str, action: str) -> dict:
    """Environment that makes every Dask worker patch its runs at start (a worker preload)."""
    pre = tmp_path / "dask_preload.py"
    # (a worker may load its preloads twice: the patch is applied once)
    patch = _patch_run(condition, action).replace("real = s.run_one", "real = getattr(s.run_one, 'real', s.run_one)")
    pre.write_text(patch + "run_one.real = real\n")
    return dict(os.environ, DASK_DISTRIBUTED__WORKER__PRELOAD=json.dumps([str(pre)]))


@pytest.mark.slow
def test_dask_a_run_that_kills_its_worker_is_recorded_as_failed(tmp_path):
    exp = tiny(tmp_path, reps=6)
    out = tmp_path / "o"
    env = _dask_env(tmp_path, "spec.design_point == 1 and spec.replicate == 4", "os._exit(9)")
    r = subprocess.run([sys.executable, "-m", "peacesim", "sweep", str(exp), "--executor", "dask", "--workers", "2",
                        "--out", str(out), "--quiet", "--no-figures"], capture_output=True, text=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    runs = pd.read_parquet(out / "runs.parquet")
    bad = runs[runs.status == "failed"]
    assert list(zip(bad.design_point, bad.replicate)) == [(1, 4)] and "WorkerDied" in bad.error.iloc[0]
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_dask_workers_exit_when_the_sweep_is_killed(tmp_path):
    exp = tiny(tmp_path, reps=10)
    out = tmp_path / "o"
    env = _dask_env(tmp_path, "spec.replicate >= 3", "time.sleep(3600)")
    proc = subprocess.Popen([sys.executable, "-m", "peacesim", "sweep", str(exp), "--executor", "dask", "--workers", "2",
                             "--out", str(out), "--quiet", "--no-figures"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids: list[int] = []
    try:
        wait_for_parts(out, timeout=120)
        kids = children(proc.pid)
        assert kids
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 20
        while time.time() < deadline and any(alive(k) for k in kids):
            time.sleep(0.1)
        assert not [k for k in kids if alive(k)]
    finally:
        for k in kids:
            if alive(k):
                os.kill(k, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped > 0 and res.skipped + res.ran == 20
