"""Results that cannot be misplaced: one sweep at a time, only peacesim's files, only where asked.

Fault injection on the runner's folders: two sweeps on one folder, a SIGKILL (its workers and its
lock), folders peacesim does not own, the empty path and the root, names that would be paths, a
crafted folder given to 'peacesim plot', and input that was accepted but wrong. Every test checks
the files, not only the exit status; test_results_faults.py has the faults of the files themselves.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from results_helpers import (TINY, alive, assert_same_results, children, held_lock, main, one_line, quick_figures, tiny,
                             wait_for_parts)
from test_sweep import _patch_run, tree_digest

import peacesim.sweep as sweep
from peacesim.analysis import load_results
from peacesim.errors import InputError, StorageError
from peacesim.sweep import run_experiment

__all__ = ["quick_figures"]  # a fixture


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
        plot = main("plot", out)  # nor may a plot write into it meanwhile
        assert plot.returncode == 1 and f"process {first.pid}" in one_line(plot)
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
    exp = tiny(tmp_path)
    with held_lock(tmp_path / "o") as out:
        with pytest.raises(StorageError, match=f"process {os.getpid()}"):
            run_experiment(exp, executor="serial", out=out, progress=False)
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
def _kill_and_check_workers_exit(proc: subprocess.Popen, out: Path, *, min_workers: int, seconds: float,
                                 parts_timeout: float | None = None) -> None:
    """Once ``proc``'s sweep has written parts, SIGKILL it and check that its worker processes
    exit within ``seconds``; whatever happens, leave no process behind."""
    kids: list[int] = []
    try:
        if parts_timeout is None:
            wait_for_parts(out)
        else:
            wait_for_parts(out, timeout=parts_timeout)
        kids = children(proc.pid)
        assert len(kids) >= min_workers, "no worker processes found"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + seconds
        while time.time() < deadline and any(alive(k) for k in kids):
            time.sleep(0.05)
        assert not [k for k in kids if alive(k)], "worker processes outlived the sweep they worked for"
    finally:
        for k in kids:
            if alive(k):
                os.kill(k, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()


def test_after_sigkill_the_workers_exit_and_the_folder_is_free_to_resume(tmp_path):
    exp = tiny(tmp_path, reps=10)
    out = tmp_path / "killed"
    # from its fourth replicate on, every run waits (until the sweep is killed)
    code = _patch_run("spec.replicate >= 3", "time.sleep(3600)") + f"""
s.run_experiment({str(exp)!r}, executor="processes", workers=2, out={str(out)!r}, progress=False)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    _kill_and_check_workers_exit(proc, out, min_workers=2, seconds=10)
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
def test_out_refuses_the_empty_path_and_the_root(tmp_path, monkeypatch, command, out):
    import peacesim.output

    cwd = tmp_path / "cwd"
    cwd.mkdir()

    def never(*args, **kwargs):  # should a refusal ever be lost, this test still writes nothing into '/'
        raise AssertionError("peacesim went on to write results")

    monkeypatch.setattr(peacesim.output, "write_run", never)
    monkeypatch.setattr(sweep, "ResultStore", never)
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
    "reversed range": ('[vary]\nhandover_quality = { range = [0.8, 0.2], steps = 3 }\n',
                       "the low end must be below the high end"),
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
    _kill_and_check_workers_exit(proc, out, min_workers=1, seconds=20, parts_timeout=120)
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped > 0 and res.skipped + res.ran == 20


@pytest.mark.parametrize("case", ["a user's folder", "an empty folder", "a run's folder"])
def test_plot_refuses_a_folder_that_is_not_a_sweep_s_without_writing_in_it(tmp_path, case):
    folder = tmp_path / "f"
    if case == "a run's folder":
        assert main("run", "reference", "--months", "24", "--no-figure", "--out", folder).returncode == 0
    else:
        folder.mkdir()
        if case == "a user's folder":
            (folder / "photo.jpg").write_bytes(b"mine")
    before = tree_digest(folder)
    r = main("plot", folder)
    said = "holds one run's results" if case == "a run's folder" else "is not a peacesim results folder"
    assert r.returncode == 2 and said in one_line(r)
    assert tree_digest(folder) == before and not (folder / ".peacesim.lock").exists()


def test_fresh_and_resuming_leave_a_users_series_table_where_the_sweep_keeps_no_series(tmp_path):
    exp = tiny(tmp_path)  # keep_series = false
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    (out / "series.parquet").write_bytes(b"mine")
    runs = (out / "runs.parquet").read_bytes()
    run_experiment(exp, executor="serial", out=out, progress=False)  # resumes: nothing to run, nothing set aside
    assert (out / "runs.parquet").read_bytes() == runs and not (out / "unreadable-parts").exists()
    run_experiment(exp, executor="serial", out=out, progress=False, fresh=True)
    assert (out / "series.parquet").read_bytes() == b"mine"
    assert len(pd.read_parquet(out / "runs.parquet")) == 8
    from peacesim.analysis import load_results

    assert load_results(out).series is None  # not the sweep's: never read as its results


def test_fresh_where_no_manifest_can_be_read_removes_every_table_so_none_is_mixed_in(tmp_path):
    from peacesim.analysis import load_results

    out = tmp_path / "o"
    run_experiment(tiny(tmp_path, series="true", name="a.toml"), executor="serial", out=out, progress=False)
    assert (out / "series.parquet").exists()
    (out / "manifest.json").write_text("{broken")
    other = tiny(tmp_path, series="false", name="b.toml")
    other.write_text(other.read_text().replace("master_seed = 7", "master_seed = 8"))
    run_experiment(other, executor="serial", out=out, progress=False, fresh=True)
    assert not (out / "series.parquet").exists() and load_results(out).series is None
    assert not (out / "unreadable-parts").exists()


def test_a_file_system_fault_nobody_foresaw_is_still_one_line(tmp_path):
    long = tmp_path / ("x" * 300 + ".toml")
    for args in (("run", long), ("show", long), ("run", "reference", "--months", "24", "--out", tmp_path / ("y" * 300))):
        r = main(*args)
        assert r.returncode in (1, 2) and "File name too long" in one_line(r)
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    r = main("run", "reference", "--months", "24", "--out", tmp_path / "loop1")
    assert r.returncode in (1, 2) and ("loop" in one_line(r) or "Too many levels" in one_line(r))


def test_validate_refuses_an_invalid_scenario_before_writing_anything(tmp_path):
    from peacesim.scenario import resolve_scenario

    bad = tmp_path / "bad.toml"
    bad.write_text(resolve_scenario("reference").read_text().replace("track = 2", "track = 7", 1))
    r = main("validate", "--quick", "--only", "1", "--executor", "serial", "--scenario", bad, "--out", tmp_path / "v")
    assert r.returncode == 2 and "track = 7 is not allowed" in one_line(r)
    assert not (tmp_path / "v").exists()


def test_a_run_that_cannot_replace_its_marker_replaces_nothing_and_names_it(tmp_path):
    out = tmp_path / "o"
    assert main("run", "reference", "--months", "24", "--out", out).returncode == 0
    before = (out / "outcome.json").read_bytes()
    (out / ".peacesim").unlink()
    (out / ".peacesim").mkdir()
    r = main("run", "reference", "--months", "24", "--seed", "8", "--no-figure", "--out", out)
    # refused before anything is written: what stands where the marker goes is not peacesim's file
    assert r.returncode == 2 and one_line(r).endswith(f"{out / '.peacesim'}: is not a file peacesim wrote (a folder); "
                                                      "peacesim does not replace it: remove it or choose another folder")
    assert (out / "outcome.json").read_bytes() == before and (out / "timeline.png").exists()


def test_no_figure_removes_only_a_figure_an_earlier_run_wrote(tmp_path):
    out = tmp_path / "o"
    assert main("run", "reference", "--months", "24", "--out", out).returncode == 0
    assert main("run", "reference", "--months", "24", "--no-figure", "--out", out).returncode == 0
    assert not (out / "timeline.png").exists()  # the earlier run's figure: it would not match this run
    (out / "timeline.png").write_bytes(b"mine")
    assert main("run", "reference", "--months", "24", "--no-figure", "--out", out).returncode == 0
    assert (out / "timeline.png").read_bytes() == b"mine"


def test_a_run_with_its_figure_does_not_replace_a_figure_of_the_users(tmp_path):
    out = tmp_path / "o"
    assert main("run", "reference", "--months", "24", "--no-figure", "--out", out).returncode == 0
    (out / "timeline.png").write_bytes(b"mine")
    before = (out / "outcome.json").read_bytes()
    r = main("run", "reference", "--months", "24", "--seed", "8", "--out", out)
    assert r.returncode == 2 and one_line(r).endswith(
        f"{out / 'timeline.png'}: exists and was not written by peacesim (the run in this folder did not write it); "
        "peacesim does not replace it: move it away or choose another folder")
    assert (out / "timeline.png").read_bytes() == b"mine" and (out / "outcome.json").read_bytes() == before
    (out / "timeline.png").unlink()  # moved away: the run goes ahead, with its figure
    assert main("run", "reference", "--months", "24", "--seed", "8", "--out", out).returncode == 0
    assert (out / "timeline.png").read_bytes()[:4] == b"\x89PNG"


# ================================================================== a sweep given more replicates
def _extended_tiny(tmp_path: Path, reps: int, months: int = 120) -> tuple[Path, Path]:
    """A finished sweep of ``tiny(reps=2)`` and the same experiment file now asking for ``reps``."""
    out = tmp_path / "o"
    run_experiment(tiny(tmp_path, reps=2, months=months, series="true"), executor="serial", out=out, progress=False)
    return tiny(tmp_path, reps=reps, months=months, series="true"), out


def _fresh_copy(tmp_path: Path, exp: Path) -> Path:
    fresh = tmp_path / "fresh"
    run_experiment(exp, executor="serial", out=fresh, progress=False)
    return fresh


def test_an_extension_cut_short_while_its_tables_are_put_in_place_resumes_whole(tmp_path, monkeypatch):
    import peacesim.merge as merge

    exp, out = _extended_tiny(tmp_path, reps=5)
    (out / "notes.txt").write_text("mine")
    (out / "parts").mkdir(exist_ok=True)
    (out / "parts" / "keep.txt").write_text("mine too")
    real = merge.StagedFile.put_in_place
    calls = []

    def put_in_place(self):  # Ctrl-C once runs.parquet is replaced, before episodes.parquet is
        calls.append(self.path.name)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self)

    monkeypatch.setattr(merge.StagedFile, "put_in_place", put_in_place)
    with pytest.raises(sweep.SweepInterrupted):
        run_experiment(exp, executor="serial", out=out, progress=False)
    monkeypatch.setattr(merge.StagedFile, "put_in_place", real)
    assert calls == ["runs.parquet", "episodes.parquet"]
    assert len(pd.read_parquet(out / "runs.parquet")) == 10 and json.loads(
        (out / "manifest.json").read_text())["status"] == "interrupted"
    # new runs beside the earlier episodes: the tables are not read as results until finished
    with pytest.raises(InputError, match="stopped while it wrote its tables"):
        load_results(out)
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.ran == 0 and not (out / "unreadable-parts").exists()
    assert_same_results(out, _fresh_copy(tmp_path, exp))
    assert (out / "notes.txt").read_text() == "mine" and (out / "parts" / "keep.txt").read_text() == "mine too"


def test_an_extension_stopped_by_sigint_resumes_and_matches_a_fresh_sweep(tmp_path):
    exp, out = _extended_tiny(tmp_path, reps=40, months=240)
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "peacesim", "sweep", str(exp), "--executor", "serial", "--out",
                             str(out), "--no-figures"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        wait_for_parts(out)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "peacesim: note: extending the sweep in" in err and "from 2 to 40 replicates: 4 stored runs are reused, 76 will run" in err
    assert "run the same command again to resume" in err and "Traceback" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["replicates"] == 40 and 4 < m["runs_done"] < 80
    r = main("sweep", exp, "--executor", "serial", "--out", out, "--quiet", "--no-figures")
    assert r.returncode == 0 and "extending" not in r.stderr
    assert f"{80 - m['runs_done']} runs done" in r.stdout and f"{m['runs_done']} were already done" in r.stdout
    assert_same_results(out, _fresh_copy(tmp_path, exp))


def test_an_extension_waits_for_the_lock_like_any_sweep(tmp_path):
    exp, out = _extended_tiny(tmp_path, reps=3, months=24)
    before = tree_digest(out)
    with held_lock(out):
        with pytest.raises(StorageError, match=f"process {os.getpid()}"):
            run_experiment(exp, executor="serial", out=out, progress=False)
    assert tree_digest(out) == before
    assert run_experiment(exp, executor="serial", out=out, progress=False).extended_from == 2


def test_an_extension_stopped_by_a_fault_before_its_first_run_keeps_the_stored_runs(tmp_path, monkeypatch):
    import errno

    exp, out = _extended_tiny(tmp_path, reps=4, months=24)
    real = sweep.ResultStore.scan

    def scan(self):  # the disk refuses a read while the stored runs are checked
        raise StorageError(f"{self.out}/runs.parquet: cannot read: Input/output error", errno.EIO)

    monkeypatch.setattr(sweep.ResultStore, "scan", scan)
    with pytest.raises(StorageError, match="run the same command again to resume"):
        run_experiment(exp, executor="serial", out=out, progress=False)
    monkeypatch.setattr(sweep.ResultStore, "scan", real)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "stopped" and m["replicates"] == 4
    assert [(e["from_replicates"], e["to_replicates"]) for e in m["extended"]] == [(2, 4)]
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert (res.skipped, res.ran) == (4, 4) and not (out / "unreadable-parts").exists()
    assert_same_results(out, _fresh_copy(tmp_path, exp))


def test_no_other_sweep_takes_the_folder_between_the_runs_and_the_figures(tmp_path, monkeypatch, quick_figures):
    """'peacesim sweep' holds its folder from its runs to its figures: a second process that tries
    the folder while the figures are about to be drawn is refused (it got in, and could wipe it
    with --fresh)."""
    import peacesim.cli as cli_module

    out = tmp_path / "o"
    tried = []
    drawn = cli_module._plot

    def plot(path):
        code = ("import sys; from pathlib import Path; from peacesim.fsutil import FolderLock\n"
                "from peacesim.errors import StorageError\n"
                "try:\n    FolderLock(Path(sys.argv[1]), 'sweep').acquire()\nexcept StorageError as e:\n"
                "    print(e); sys.exit(3)\n")
        tried.append(subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                                    timeout=60))
        drawn(path)

    monkeypatch.setattr(cli_module, "_plot", plot)
    r = main("sweep", tiny(tmp_path, reps=2, months=12), "--executor", "serial", "--quiet", "--out", out)
    assert r.returncode == 0, r.stderr
    (other,) = tried
    assert other.returncode == 3 and "another peacesim sweep, process" in other.stdout, other
    assert "is using this folder" in other.stdout
    assert (out / "report.md").is_file()
    # and once the command is over, the folder is free
    assert main("sweep", tiny(tmp_path, reps=2, months=12), "--executor", "serial", "--quiet", "--no-figures",
                "--out", out).returncode == 0
