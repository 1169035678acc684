"""The experiment layer: design, seeds, executors, storage, resume, failures and bad input."""

import hashlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.feather as feather
import pytest

import peacesim
from peacesim.analysis import load_results
from peacesim.errors import InputError
from peacesim.experiment import derive_seeds, load_experiment
from peacesim.sweep import run_experiment

SMALL = """
[experiment]
title = "small"
question = "does handover matter?"
scenario = "reference"
replicates = {reps}
master_seed = 11
months = {months}
keep_series = {series}

[vary]
handover_quality = [0.1, 0.8]
"""


def write_exp(tmp_path, reps=5, months=120, series="true", name="small.toml", text=None):
    p = tmp_path / name
    p.write_text(text if text is not None else SMALL.format(reps=reps, months=months, series=series))
    return p


def tree_digest(folder: Path) -> dict:
    """Every file's checksum, but the lock file's (whose holder changes)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".peacesim.lock"}


def test_seeds_are_spawned_per_replicate_and_shared_across_design_points(tmp_path):
    exp = load_experiment(write_exp(tmp_path, reps=4))
    runs = exp.runs()
    assert len(runs) == 8
    by_rep = {}
    for r in runs:
        by_rep.setdefault(r.replicate, set()).add(r.seed)
    assert all(len(s) == 1 for s in by_rep.values())  # common random numbers
    assert len({next(iter(s)) for s in by_rep.values()}) == 4  # replicates differ
    expected = [int(c.generate_state(1, dtype=np.uint64)[0] >> 1) for c in np.random.SeedSequence(11).spawn(4)]
    assert exp.seeds == expected == derive_seeds(11, 4)
    assert derive_seeds(12, 4) != expected


def test_linked_parameters_and_ranges(tmp_path):
    text = """
[experiment]
scenario = "reference"
replicates = 2
master_seed = 3
[vary.tenure]
parameters = ["tenure_mediator", "tenure_diplomat"]
range = [6, 60]
steps = 4
[vary]
coordination = ["none", "network"]
"""
    exp = load_experiment(write_exp(tmp_path, text=text))
    assert exp.columns == ["tenure_mediator", "tenure_diplomat", "coordination"]
    assert len(exp.design) == 8
    assert all(d["tenure_mediator"] == d["tenure_diplomat"] for d in exp.design)
    assert sorted({d["tenure_mediator"] for d in exp.design}) == [6, 24, 42, 60]


def test_a_range_gives_its_values_as_written(tmp_path):
    """range = [0.1, 0.9] in 5 steps is 0.1, 0.3, 0.5, 0.7, 0.9: the values the tables show and a
    comparison names, not linspace's 0.30000000000000004."""
    text = """
[experiment]
scenario = "reference"
replicates = 1
master_seed = 3
[vary]
handover_quality = { range = [0.1, 0.9], steps = 5 }
trust_drift = { range = [0.001, 0.1], steps = 3, log = true }
"""
    exp = load_experiment(write_exp(tmp_path, text=text))
    assert sorted({d["handover_quality"] for d in exp.design}) == [0.1, 0.3, 0.5, 0.7, 0.9]
    assert sorted({d["trust_drift"] for d in exp.design}) == [0.001, 0.01, 0.1]


def test_an_episodes_own_value_of_a_factor_is_kept_beside_the_designs(tmp_path):
    """coordination varied, and an intervention switching every run to 'network' at month 12: the
    episodes' coordination is the design's value (as in runs.parquet), their own at signature is
    coordination_at_signature, as a re-run of the run gives it."""
    text = """
[experiment]
scenario = "reference"
replicates = 8
master_seed = 5
months = 120
[vary]
coordination = ["hierarchical", "none"]
[[intervention]]
month = 12
kind = "coordination"
strategy = "network"
"""
    out = tmp_path / "o"
    run_experiment(write_exp(tmp_path, text=text), executor="serial", out=out, progress=False)
    eps = pd.read_parquet(out / "episodes.parquet")
    cols = list(eps.columns)
    assert cols.count("coordination") == 1 and cols.index("coordination_at_signature") > cols.index("episode")
    signed_late = eps[eps["signed_month"] > 12]
    assert len(signed_late) and set(signed_late["coordination_at_signature"]) == {"network"}
    assert set(eps["coordination"]) == {"hierarchical", "none"}
    assert eps["coordination_at_signature"].dtype == object  # as RESULTS.md gives it
    row = signed_late.iloc[0]
    again = peacesim.experiment_as_swept(out).rerun(int(row["design_point"]), int(row["replicate"]))
    assert again.episodes["coordination"].iloc[int(row["episode"]) - 1] == row["coordination_at_signature"]
    res = load_results(out)
    assert "coordination_at_signature" in res.episodes.columns


def test_varying_an_episode_attribute_stores_it_once(tmp_path):
    text = """
[experiment]
scenario = "reference"
replicates = 3
master_seed = 5
[vary]
coordination = ["none", "contact_group"]
mediators = [2, 4]
"""
    out = tmp_path / "o"
    run_experiment(write_exp(tmp_path, text=text), executor="serial", out=out, progress=False)
    eps = pd.read_parquet(out / "episodes.parquet")
    assert list(eps.columns).count("coordination") == 1
    assert set(eps["coordination"]) <= {"none", "contact_group"}
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 12 and set(runs["mediators"]) == {2, 4}


def test_explicit_design_rows(tmp_path):
    text = """
[experiment]
scenario = "reference"
replicates = 2
master_seed = 3
[[design]]
coordination = "none"
mediators = 6
[[design]]
coordination = "contact_group"
mediators = 6
"""
    exp = load_experiment(write_exp(tmp_path, text=text))
    assert exp.design == [{"coordination": "none", "mediators": 6}, {"coordination": "contact_group", "mediators": 6}]


@pytest.fixture(scope="module")
def serial_results(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serial")
    exp = write_exp(tmp, reps=6)
    res = run_experiment(exp, executor="serial", out=tmp / "out", progress=False)
    return exp, tmp / "out", res


def test_serial_sweep_writes_tidy_tables_and_manifest(serial_results):
    exp_path, out, res = serial_results
    assert res.total == 12 and res.ran == 12 and res.failed == 0
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 12
    assert list(runs[["design_point", "replicate"]].itertuples(index=False, name=None)) == [
        (d, r) for d in range(2) for r in range(6)]
    assert set(runs["handover_quality"]) == {0.1, 0.8}
    assert (runs["status"] == "ok").all()
    # each row's seed reproduces the run exactly
    row = runs.iloc[7]
    direct = peacesim.run_scenario("reference", seed=int(row.seed), months=120,
                                   overrides={"handover_quality": row.handover_quality})
    assert direct.outcome["n_agreements"] == row.n_agreements
    assert direct.outcome["total_violence"] == pytest.approx(row.total_violence)
    eps = pd.read_parquet(out / "episodes.parquet")
    assert len(eps) == runs["n_agreements"].sum()
    series = pd.read_parquet(out / "series.parquet")
    assert len(series) == 12 * 120
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["runs_done"] == 12 and m["runs_failed"] == 0
    assert m["master_seed"] == 11 and len(m["seeds"]) == 6
    assert m["experiment_text"] == exp_path.read_text()
    assert "scenario_sha256" in m and "numpy" in m["versions"] and "git_commit" in m
    # the experiment file as it was given, and where it is
    assert m["experiment_file"] == str(exp_path)
    assert m["experiment_file_resolved"] == str(exp_path.resolve()) and Path(m["experiment_file_resolved"]).is_absolute()
    assert m["git_dirty"] in (True, False, None)
    assert (m["git_dirty"] is None) == (m["git_commit"] == "unknown")
    assert not (out / "parts").exists()


def test_manifest_keeps_a_relative_experiment_path_and_its_absolute_path(tmp_path, monkeypatch):
    exp = write_exp(tmp_path, reps=1, months=24, series="false")
    monkeypatch.chdir(tmp_path)
    run_experiment("small.toml", executor="serial", out=tmp_path / "rel", progress=False)
    m = json.loads((tmp_path / "rel" / "manifest.json").read_text())
    assert m["experiment_file"] == "small.toml"
    assert m["experiment_file_resolved"] == str(exp.resolve())


def test_processes_and_dask_give_identical_results(serial_results, tmp_path):
    exp_path, out, _ = serial_results
    for executor in ("processes", "dask"):
        other = tmp_path / executor
        run_experiment(exp_path, executor=executor, workers=2, out=other, progress=False)
        for kind in ("runs", "episodes", "series"):
            pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                          pd.read_parquet(other / f"{kind}.parquet"))


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_a_single_threaded_program_forks_its_workers_with_identical_results(serial_results, tmp_path):
    # a fresh interpreter: the test process itself runs pytest-xdist's threads
    exp_path, out, _ = serial_results
    other = tmp_path / "forked"
    code = ("import peacesim.sweep as s\n"
            "class P(s._Processes):\n"
            "    def __init__(self, *a, **k):\n"
            "        super().__init__(*a, **k)\n"
            "        print(self.method)\n"
            "s._Processes = P\n"
            f"s.run_experiment({str(exp_path)!r}, executor='processes', workers=2, out={str(other)!r}, "
            "progress=False)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["fork"]
    for kind in ("runs", "episodes", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(other / f"{kind}.parquet"))


def test_forkserver_workers_give_identical_results(serial_results, tmp_path, monkeypatch):
    if "forkserver" not in multiprocessing.get_all_start_methods():
        pytest.skip("forkserver is not available here")
    import peacesim.sweep as sweep

    monkeypatch.setattr(sweep, "start_method", lambda: "forkserver")
    exp_path, out, _ = serial_results
    other = tmp_path / "forkserver"
    run_experiment(exp_path, executor="processes", workers=2, out=other, progress=False)
    for kind in ("runs", "episodes", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(other / f"{kind}.parquet"))


@pytest.mark.parametrize("thread", ["threading", "_thread", None])
def test_workers_are_forked_only_from_a_single_threaded_program(thread):
    # in a fresh interpreter: the test process itself runs pytest-xdist's threads
    start = {"threading": "import threading; threading.Thread(target=e.wait).start()\n",
             # a low-level thread is counted once it runs
             "_thread": "import _thread, time; _thread.start_new_thread(e.wait, ()); time.sleep(0.2)\n",
             None: ""}[thread]
    code = ("import sys, threading\nimport peacesim.sweep as s\ne = threading.Event()\n" + start
            + "print(s.start_method())\ne.set()\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    method = proc.stdout.strip()
    if thread is not None:
        assert method in ("forkserver", "spawn")
    else:
        assert method == ("fork" if sys.platform == "linux" else method)


def test_rerun_of_a_complete_sweep_does_nothing(serial_results):
    exp_path, out, _ = serial_results
    before = pd.read_parquet(out / "runs.parquet")
    res = run_experiment(exp_path, executor="serial", out=out, progress=False)
    assert res.ran == 0 and res.skipped == 12
    pd.testing.assert_frame_equal(before, pd.read_parquet(out / "runs.parquet"))


def test_a_killed_sweep_resumes_and_matches_an_uninterrupted_one(tmp_path):
    exp = write_exp(tmp_path, reps=30, months=240, series="false")
    out = tmp_path / "killed"
    code = (f"import peacesim.sweep as s; s.BATCH_SECONDS = 0.05; "
            f"s.run_experiment({str(exp)!r}, executor='serial', out={str(out)!r}, progress=False)")
    proc = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("runs-*.arrow"))) < 2:
        time.sleep(0.02)
    proc.kill()
    proc.wait()
    parts = list((out / "parts").glob("runs-*.arrow"))
    assert parts, "the sweep wrote no part before it was killed"
    saved = sum(feather.read_table(p).num_rows for p in parts)
    assert 0 < saved < 60
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped == saved and res.ran == 60 - saved
    fresh = tmp_path / "fresh"
    run_experiment(exp, executor="serial", out=fresh, progress=False)
    for kind in ("runs", "episodes"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(fresh / f"{kind}.parquet"))


def _ctrl_c_as_in_a_terminal():
    """In the child before it starts: Ctrl-C acts as in a terminal even when the tests themselves
    were started with it ignored (a background job of a non-interactive shell ignores SIGINT, and
    a process started with SIGINT ignored keeps ignoring it, as it should)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_saves_what_is_done_and_says_how_to_resume(tmp_path):
    exp = write_exp(tmp_path, reps=60, months=240, series="false")
    out = tmp_path / "int"
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "peacesim", "sweep", str(exp), "--executor", "serial",
                             "--out", str(out), "--quiet"], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=env, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "parts").glob("runs-*.arrow")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "run the same command again to resume" in err
    assert "Traceback" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and 0 < m["runs_done"] < 120
    # plotting the unfinished folder says how far the sweep got and how to finish it
    plot = subprocess.run([sys.executable, "-m", "peacesim", "plot", str(out)], capture_output=True, text=True)
    assert plot.returncode == 2
    assert f"the sweep was interrupted ({m['runs_done']} of 120 runs done)" in plot.stderr
    assert "run the same 'peacesim sweep' command again to finish it" in plot.stderr
    assert "runs.parquet is missing" not in plot.stderr


def _rows_in_parts(out: Path) -> int:
    rows = 0
    for p in (out / "parts").glob("runs-*.arrow"):
        try:
            rows += feather.read_table(p).num_rows
        except (OSError, ValueError):  # being replaced right now
            pass
    return rows


def test_ctrl_c_in_a_terminal_keeps_the_batches_in_progress_and_resumes(tmp_path):
    # Ctrl-C in a terminal signals the whole process group: the sweep and its worker processes.
    exp = write_exp(tmp_path, reps=100, months=240, series="false")
    out = tmp_path / "int"
    cmd = [sys.executable, "-m", "peacesim", "sweep", str(exp), "--executor", "processes", "--workers", "2",
           "--out", str(out), "--quiet"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("runs-*.arrow"))) < 3:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    saved_then = _rows_in_parts(out)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and saved_then < m["runs_done"] < 200  # the batches in flight were kept
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped == m["runs_done"] and res.ran == 200 - m["runs_done"]
    assert len(pd.read_parquet(out / "runs.parquet")) == 200


def _patch_run(condition: str, action: str) -> str:
    """Start of a program whose runs do ``action`` when ``condition`` holds (forked workers inherit it)."""
    return f"""
import os, sys, time
import peacesim.sweep as s
real = s.run_one
def run_one(base, spec, *args):
    if {condition}:
        {action}
    return real(base, spec, *args)
s.run_one = run_one
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the slow run is patched into forked workers")
def test_ctrl_c_twice_stops_at_once_even_during_a_slow_run(tmp_path):
    exp = write_exp(tmp_path, reps=100, months=240, series="false")
    out = tmp_path / "slow"
    code = _patch_run("spec.replicate == 20", "time.sleep(60)") + f"""
from peacesim.cli import main
sys.exit(main(["sweep", {str(exp)!r}, "--workers", "2", "--out", {str(out)!r}, "--no-figures"]))
"""
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=_ctrl_c_as_in_a_terminal)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((out / "parts").glob("runs-*.arrow"))) < 3:
        time.sleep(0.02)
    time.sleep(1.0)  # a worker is now in the slow run
    os.killpg(proc.pid, signal.SIGINT)
    time.sleep(0.5)
    t0 = time.time()
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert time.time() - t0 < 15, "the second Ctrl-C did not stop the sweep at once"
    assert proc.returncode == 130, err
    assert "press Ctrl-C again to stop at once" in err and "Traceback" not in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and 0 < m["runs_done"] < 200


@pytest.mark.skipif(sys.platform != "linux", reason="the failure is patched into forked workers")
@pytest.mark.parametrize("death", ["os._exit(9)", "__import__('ctypes').string_at(0)"], ids=["killed", "segfault"])
def test_a_run_that_kills_its_worker_is_recorded_as_failed_and_the_sweep_goes_on(tmp_path, death):
    # A run that takes its worker process down (a segfault, the out-of-memory killer) breaks the
    # pool. The batches in flight are run again one run at a time, each alone in a fresh process;
    # the run that kills that process too is recorded as failed with its seed, and the sweep
    # completes. Before, the sweep stopped at the same batch on every resume.
    exp = write_exp(tmp_path, reps=12, months=60, series="false")
    out = tmp_path / "lost"
    code = _patch_run("spec.design_point == 1 and spec.replicate == 5", death) + f"""
s.run_experiment({str(exp)!r}, executor="processes", workers=2, out={str(out)!r}, progress=False)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["runs_done"] == 24 and m["runs_failed"] == 1
    runs = pd.read_parquet(out / "runs.parquet")
    failed = runs[runs.status == "failed"]
    assert list(zip(failed.design_point, failed.replicate)) == [(1, 5)]
    assert failed.seed.iloc[0] == load_experiment(exp).seeds[5]
    assert "died" in failed.error.iloc[0] and "fresh process" in failed.error.iloc[0]
    # every other run is exactly what an undisturbed sweep gives
    clean = tmp_path / "clean"
    run_experiment(exp, executor="serial", out=clean, progress=False)
    ref = pd.read_parquet(clean / "runs.parquet")
    keep = ~((ref.design_point == 1) & (ref.replicate == 5))
    pd.testing.assert_frame_equal(runs[keep.to_numpy()].reset_index(drop=True)[ref.columns],
                                  ref[keep].reset_index(drop=True), check_dtype=False)
    # the failed run is not run again on its own, only with --retry-failed
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.ran == 0 and res.skipped == 24


def test_an_unreadable_part_is_set_aside_and_its_runs_are_run_again(tmp_path, monkeypatch):
    import peacesim.sweep as sweep

    exp = write_exp(tmp_path, reps=10, months=120, series="true")
    out = tmp_path / "cut"
    real = sweep.ResultStore.write_part
    calls = []

    def write_part(self, batch):  # Ctrl-C after a few batches, leaving their parts behind
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(sweep.ResultStore, "write_part", write_part)
    with pytest.raises(sweep.SweepInterrupted):
        run_experiment(exp, executor="serial", out=out, progress=False)
    monkeypatch.setattr(sweep.ResultStore, "write_part", real)
    part = sorted((out / "parts").glob("series-*.arrow"))[0]
    part.write_bytes(part.read_bytes()[:100])  # cut short, as by a machine going down
    with pytest.warns(RuntimeWarning, match="unreadable"):
        res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.ran > 0 and res.skipped + res.ran == 20
    assert part.name in {p.name for p in (out / "unreadable-parts").iterdir()}
    fresh = tmp_path / "fresh"
    run_experiment(exp, executor="serial", out=fresh, progress=False)
    for kind in ("runs", "episodes", "series"):
        pd.testing.assert_frame_equal(pd.read_parquet(out / f"{kind}.parquet"),
                                      pd.read_parquet(fresh / f"{kind}.parquet"))


def test_parts_left_by_an_earlier_version_are_resumed(tmp_path, monkeypatch):
    # earlier versions wrote parquet parts; an unfinished sweep of theirs resumes without rerunning them
    import peacesim.sweep as sweep

    exp = write_exp(tmp_path, reps=10, months=120, series="false")
    out = tmp_path / "old"
    real = sweep.ResultStore.write_part
    calls = []

    def write_part(self, batch):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(sweep.ResultStore, "write_part", write_part)
    with pytest.raises(sweep.SweepInterrupted) as info:
        run_experiment(exp, executor="serial", out=out, progress=False)
    monkeypatch.setattr(sweep.ResultStore, "write_part", real)
    # what an earlier version left: parquet parts without records, no marker, no checksums
    for p in (out / "parts").glob("*.arrow"):
        feather.read_table(p).to_pandas().to_parquet(p.with_suffix(".parquet"), index=False)
        p.unlink()
    for p in (out / "parts").glob("batch-*.json"):
        p.unlink()
    (out / ".peacesim").unlink()
    m = json.loads((out / "manifest.json").read_text())
    for key in ("schema", "format", "tables"):
        m.pop(key, None)
    (out / "manifest.json").write_text(json.dumps(m))
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped == info.value.done > 0 and res.ran == 20 - res.skipped


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(tmp_path, monkeypatch):
    import peacesim.simulate as simulate

    exp = load_experiment(write_exp(tmp_path, reps=3, series="false"))
    bad_seed = exp.seeds[1]

    class Flaky(simulate.PeaceModel):
        def run(self):
            if self.seed == bad_seed:
                raise ValueError("boom")
            super().run()

    monkeypatch.setattr(simulate, "PeaceModel", Flaky)
    res = run_experiment(exp, executor="serial", out=tmp_path / "o", progress=False)
    assert res.failed == 2  # replicate 1 at both design points
    runs = pd.read_parquet(tmp_path / "o" / "runs.parquet")
    failed = runs[runs.status == "failed"]
    assert list(failed.replicate) == [1, 1]
    assert (failed.seed == bad_seed).all()
    assert failed.error.str.contains("ValueError: boom").all()
    assert (runs[runs.status == "ok"].n_agreements >= 0).all()
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["runs_failed"] == 2


# ------------------------------------------------------------------ bad input
BAD = {
    "malformed": "[experiment\nscenario = 'reference'",
    "unknown parameter": SMALL.format(reps=2, months=24, series="false").replace("handover_quality =", "handover_qualty ="),
    "out of bounds": SMALL.format(reps=2, months=24, series="false").replace("[0.1, 0.8]", "[0.1, 1.8]"),
    "wrong type": SMALL.format(reps=2, months=24, series="false").replace("replicates = 2", "replicates = 'many'"),
    "unknown scenario": SMALL.format(reps=2, months=24, series="false").replace('"reference"', '"nowhere"'),
    "unknown field": SMALL.format(reps=2, months=24, series="false").replace("master_seed", "master_sead"),
}
EXPECT = {
    "malformed": "not valid TOML",
    "unknown parameter": "handover_qualty",
    "out of bounds": "1.8",
    "wrong type": "replicates",
    "unknown scenario": "nowhere",
    "unknown field": "master_sead",
}


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "peacesim", *map(str, args)], capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_experiment_files_are_refused_in_one_line(tmp_path, case):
    exp = write_exp(tmp_path, text=BAD[case])
    out = tmp_path / "out"
    r = _cli("sweep", exp, "--out", out, "--executor", "serial")
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("peacesim: error:")
    assert str(exp) in lines[0] and EXPECT[case] in lines[0]
    assert "Traceback" not in r.stderr
    assert not out.exists()
    with pytest.raises(InputError):
        load_experiment(exp)


def test_unreachable_scheduler_is_refused(tmp_path):
    exp = write_exp(tmp_path, reps=2, months=24)
    out = tmp_path / "out"
    r = _cli("sweep", exp, "--out", out, "--executor", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert r.returncode == 2
    assert r.stderr.startswith("peacesim: error: --scheduler tcp://127.0.0.1:9: cannot reach")
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_results_of_another_experiment_are_left_untouched(serial_results, tmp_path):
    _, out, _ = serial_results
    other = write_exp(tmp_path, reps=3, months=48, name="other.toml")
    before = tree_digest(out)
    r = _cli("sweep", other, "--out", out, "--executor", "serial")
    assert r.returncode == 2
    assert "belong to a different experiment" in r.stderr and "--fresh" in r.stderr
    assert tree_digest(out) == before


def test_fresh_replaces_results(tmp_path):
    a = write_exp(tmp_path, reps=2, months=24, name="a.toml")
    b = write_exp(tmp_path, reps=3, months=24, name="b.toml")
    out = tmp_path / "o"
    run_experiment(a, executor="serial", out=out, progress=False)
    run_experiment(b, executor="serial", out=out, progress=False, fresh=True)
    assert len(pd.read_parquet(out / "runs.parquet")) == 6


def test_bad_executor_options():
    with pytest.raises(InputError, match="--workers"):
        run_experiment("staff_rotation", executor="processes", workers=0, out="/nonexistent/x", progress=False)
    with pytest.raises(InputError, match="--scheduler is only used"):
        run_experiment("staff_rotation", executor="serial", scheduler="tcp://x:1", out="/nonexistent/x",
                       progress=False)


def test_shipped_experiments_load():
    for name in ("staff_rotation", "parallel_mediators", "funding_continuity"):
        exp = load_experiment(name)
        assert exp.n_runs >= 1000
        assert exp.question


@pytest.mark.parametrize("reps", [2, 3], ids=["resumed", "extended"])
def test_results_of_another_model_version_are_neither_resumed_nor_extended(tmp_path, reps):
    exp = write_exp(tmp_path, reps=2, months=24, series="false")
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    m = json.loads((out / "manifest.json").read_text())
    m["model_digest"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(m))
    before = tree_digest(out)
    with pytest.raises(InputError, match="different version of the model"):
        run_experiment(write_exp(tmp_path, reps=reps, months=24, series="false"), executor="serial", out=out,
                       progress=False)
    assert tree_digest(out) == before
    assert json.loads((out / ".peacesim.lock").read_text() or "null") is None  # released, no stale holder
    run_experiment(exp, executor="serial", out=out, progress=False, fresh=True)


@pytest.mark.parametrize("change", [lambda e: setattr(e, "replicates", 5),
                                    lambda e: e.design[0].__setitem__("handover_quality", 7.0),
                                    lambda e: e.scenario.params.__setitem__("coordination", "bogus")])
def test_an_experiment_object_changed_after_it_was_checked_is_refused_before_anything_runs(tmp_path, change):
    from peacesim.errors import InputError
    from peacesim.experiment import load_experiment

    exp = load_experiment(write_exp(tmp_path, reps=2, months=24))
    change(exp)
    out = tmp_path / "o"
    with pytest.raises(InputError, match="this Experiment object was changed"):
        run_experiment(exp, executor="serial", out=out, progress=False)
    assert not out.exists()


# ------------------------------------------------------------------ more replicates
def _kinds(out: Path) -> dict[str, pd.DataFrame]:
    return {k: pd.read_parquet(out / f"{k}.parquet") for k in ("runs", "episodes", "series")
            if (out / f"{k}.parquet").exists()}


def _same_as_fresh(tmp_path: Path, exp: Path, out: Path) -> None:
    """The tables of ``out`` equal, row for row, those of a fresh sweep of ``exp`` into another folder."""
    fresh = tmp_path / "fresh"
    run_experiment(exp, executor="serial", out=fresh, progress=False, fresh=True)
    got, want = _kinds(out), _kinds(fresh)
    assert set(got) == set(want)
    for kind in want:
        pd.testing.assert_frame_equal(got[kind], want[kind])


def test_the_seed_of_a_replicate_does_not_depend_on_how_many_there_are():
    assert derive_seeds(11, 3) == derive_seeds(11, 40)[:3]
    assert derive_seeds(2**63 - 1, 1) == derive_seeds(2**63 - 1, 7)[:1]


def test_more_replicates_extend_a_finished_sweep_and_match_a_fresh_one(tmp_path, capsys):
    exp = write_exp(tmp_path, reps=3, months=120, series="true")
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    first = json.loads((out / "manifest.json").read_text())
    exp = write_exp(tmp_path, reps=5, months=120, series="true")
    capsys.readouterr()
    with pytest.warns(peacesim.errors.InputNote) as noted:
        res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert [str(w.message) for w in noted] == [
        f"extending the sweep in {out} from 3 to 5 replicates: 6 stored runs are reused, 4 will run"]
    assert capsys.readouterr().err == ""  # a library says it as a warning, not on stderr
    assert (res.total, res.skipped, res.ran, res.extended_from) == (10, 6, 4, 3)
    runs = pd.read_parquet(out / "runs.parquet")
    assert list(runs[["design_point", "replicate"]].itertuples(index=False, name=None)) == [
        (d, r) for d in range(2) for r in range(5)]
    _same_as_fresh(tmp_path, exp, out)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "complete" and m["replicates"] == 5 and m["runs_total"] == m["runs_done"] == 10
    assert m["seeds"] == derive_seeds(11, 5) and m["experiment_text"] == exp.read_text()
    [ext] = m["extended"]
    assert ext["from_replicates"] == 3 and ext["to_replicates"] == 5 and ext["runs_reused"] == 6
    assert ext["status_before"] == "complete" and ext["experiment_digest_before"] == first["experiment_digest"]
    assert not (out / "parts").exists() and not (out / "unreadable-parts").exists()
    # run again: complete, nothing to do, the record of the extension kept
    again = run_experiment(exp, executor="serial", out=out, progress=False)
    assert again.ran == 0 and again.extended_from is None
    last = json.loads((out / "manifest.json").read_text())
    assert last["extended"] == [ext]
    # three sessions made the folder; the first one's start is kept
    assert first["sessions"] == 1 and first["first_started"] == first["started"]
    assert last["sessions"] == 3 and last["first_started"] == first["started"]


def _interrupt_after(monkeypatch, batches: int):
    import peacesim.sweep as sweep

    real = sweep.ResultStore.write_part
    calls = []

    def write_part(self, batch):
        calls.append(1)
        if len(calls) == batches + 1:
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(sweep.ResultStore, "write_part", write_part)
    return lambda: monkeypatch.setattr(sweep.ResultStore, "write_part", real)


def test_an_interrupted_sweep_given_more_replicates_reuses_its_parts(tmp_path, monkeypatch):
    import peacesim.sweep as sweep

    exp = write_exp(tmp_path, reps=6, months=120, series="false")
    out = tmp_path / "o"
    restore = _interrupt_after(monkeypatch, 2)
    with pytest.raises(sweep.SweepInterrupted) as info:
        run_experiment(exp, executor="serial", out=out, progress=False)
    restore()
    saved = info.value.done
    assert 0 < saved < 12 and not (out / "runs.parquet").exists()
    exp = write_exp(tmp_path, reps=9, months=120, series="false")
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped == saved and res.ran == 18 - saved and res.extended_from == 6
    assert not (out / "unreadable-parts").exists()  # the earlier parts were taken, not set aside
    m = json.loads((out / "manifest.json").read_text())
    assert [(e["from_replicates"], e["status_before"], e["runs_reused"]) for e in m["extended"]] == [
        (6, "interrupted", saved)]
    _same_as_fresh(tmp_path, exp, out)


def test_an_interrupted_extension_resumes_and_can_be_extended_again(tmp_path, monkeypatch):
    import peacesim.sweep as sweep

    exp = write_exp(tmp_path, reps=2, months=120, series="true")
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    exp = write_exp(tmp_path, reps=8, months=120, series="true")
    restore = _interrupt_after(monkeypatch, 1)
    with pytest.raises(sweep.SweepInterrupted) as info:
        run_experiment(exp, executor="serial", out=out, progress=False)
    restore()
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["replicates"] == 8 and m["runs_done"] == info.value.done
    assert 4 < info.value.done <= 12  # (a batch is at most half of what is left)
    # the earlier sweep's tables stay, recorded, until the extension's merge replaces them, and
    # are not read as the extended sweep's
    assert len(pd.read_parquet(out / "runs.parquet")) == 4
    with pytest.raises(InputError, match="interrupted while being extended from 2 to 8 replicates; the tables there "
                                         "are still those of the 2 replicates"):
        load_results(out)
    back = write_exp(tmp_path, reps=2, months=120, series="true")  # going back is refused, and says why
    with pytest.raises(InputError, match=f"are being extended from 2 to 8 replicates \\(not finished: "
                                         f"{info.value.done} of 16 runs done\\) and the experiment now asks for 2"):
        run_experiment(back, executor="serial", out=out, progress=False)
    exp = write_exp(tmp_path, reps=8, months=120, series="true")
    # resumed as it is: the earlier tables and the new parts are kept
    restore = _interrupt_after(monkeypatch, 1)
    with pytest.raises(sweep.SweepInterrupted) as again:
        run_experiment(exp, executor="serial", out=out, progress=False)
    restore()
    assert info.value.done < again.value.done < 16
    # and extended once more before it finished
    exp = write_exp(tmp_path, reps=10, months=120, series="true")
    res = run_experiment(exp, executor="serial", out=out, progress=False)
    assert res.skipped == again.value.done and res.ran == 20 - again.value.done and res.extended_from == 8
    assert not (out / "unreadable-parts").exists()
    m = json.loads((out / "manifest.json").read_text())
    assert [(e["from_replicates"], e["to_replicates"]) for e in m["extended"]] == [(2, 8), (8, 10)]
    assert m["status"] == "complete" and m["replicates"] == 10
    _same_as_fresh(tmp_path, exp, out)


def test_the_report_of_the_earlier_replicates_says_so_while_an_extension_is_unfinished(tmp_path, monkeypatch):
    import peacesim.sweep as sweep
    from peacesim.sweep_plots import plot_results

    exp = write_exp(tmp_path, reps=2, months=60, series="false")
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    plot_results(out)
    report = out / "report.md"
    before = report.read_text(encoding="utf-8")
    exp = write_exp(tmp_path, reps=8, months=60, series="false")
    for _ in range(2):  # cut short twice: the note is said once
        restore = _interrupt_after(monkeypatch, 1)
        with pytest.raises(sweep.SweepInterrupted):
            run_experiment(exp, executor="serial", out=out, progress=False)
        restore()
        text = report.read_text(encoding="utf-8")
        note, rest = text.split("\n\n", 1)
        assert note.startswith("> **Not up to date:** this report, summary.csv and the figures describe the first 2 "
                               "replicates. The sweep is being extended to 8 replicates") and rest == before
    exp = write_exp(tmp_path, reps=9, months=60, series="false")  # extended again before it finished
    run_experiment(exp, executor="serial", out=out, progress=False)
    note, rest = report.read_text(encoding="utf-8").split("\n\n", 1)
    assert note == ("> **Not up to date:** this report, summary.csv and the figures describe the first 2 replicates. "
                    f"The sweep has since been extended to 9 replicates; to draw them again, run `peacesim plot {out}`.")
    assert rest == before
    plot_results(out)
    assert "Not up to date" not in report.read_text(encoding="utf-8")
    # a report that is not peacesim's is never touched
    report.write_text("my notes\n", encoding="utf-8")
    marker = json.loads((out / ".peacesim").read_text())
    marker["plot_files"] = [f for f in marker["plot_files"] if f != "report.md"]
    (out / ".peacesim").write_text(json.dumps(marker))
    exp = write_exp(tmp_path, reps=10, months=60, series="false")
    run_experiment(exp, executor="serial", out=out, progress=False)
    assert report.read_text(encoding="utf-8") == "my notes\n"


def test_fewer_replicates_are_refused_in_one_line_and_nothing_changes(tmp_path):
    exp = write_exp(tmp_path, reps=3, months=24, series="false")
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    before = tree_digest(out)
    exp = write_exp(tmp_path, reps=2, months=24, series="false")
    r = _cli("sweep", exp, "--out", out, "--executor", "serial", "--no-figures")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    [line] = r.stderr.strip().splitlines()
    assert ("the results there have 3 replicates and the experiment now asks for 2; stored runs are not dropped: "
            "set replicates = 3") in line and "--fresh" in line
    assert tree_digest(out) == before


@pytest.mark.parametrize("change", [("master_seed = 11", "master_seed = 12"),
                                    ("[0.1, 0.8]", "[0.1, 0.9]"),
                                    ('title = "small"', 'title = "small, more"'),
                                    ("months = 24", "months = 36"),
                                    ("keep_series = false", "keep_series = true"),
                                    ("[vary]", "# an edited note\n[vary]")])
def test_more_replicates_with_any_other_change_are_refused_as_before(tmp_path, change):
    exp = write_exp(tmp_path, reps=2, months=24, series="false")
    out = tmp_path / "o"
    run_experiment(exp, executor="serial", out=out, progress=False)
    before = tree_digest(out)
    text = SMALL.format(reps=4, months=24, series="false")
    assert change[0] in text
    exp = write_exp(tmp_path, text=text.replace(*change))
    with pytest.raises(InputError, match="belong to a different experiment"):
        run_experiment(exp, executor="serial", out=out, progress=False)
    assert tree_digest(out) == before


def test_a_row_of_the_tables_is_run_again_exactly_with_the_experiments_horizon_parameters_and_interventions(
        tmp_path):
    text = """
[experiment]
name = "rerun"
scenario = "crowded_field"
replicates = 2
months = 60
master_seed = 11

[parameters]
handover_quality = 0.3

[[intervention]]
label = "cut"
month = 12
kind = "cut_funding"
actor = "the UN envoy"
months = 12

[vary]
coordination = ["none", "hierarchical"]
"intervention.cut.enabled" = [true, false]
"""
    path = tmp_path / "rerun.toml"
    path.write_text(text)
    out = tmp_path / "out"
    run_experiment(path, executor="serial", out=out, progress=False)
    runs = pd.read_parquet(out / "runs.parquet")
    episodes = pd.read_parquet(out / "episodes.parquet")
    exp = peacesim.load_experiment(path)
    for row in runs.itertuples():
        again = exp.rerun(row.design_point, row.replicate)  # numpy integers, as the table holds them
        assert len(again.series) == 60
        for k, v in again.outcome.items():
            if k in runs.columns:
                assert v == getattr(row, k) or (pd.isna(v) and pd.isna(getattr(row, k))), (row, k)
        stored = episodes[(episodes.design_point == row.design_point) & (episodes.replicate == row.replicate)]
        assert again.episodes["months_survived"].tolist() == stored["months_survived"].tolist()
    with_cut = runs[runs["intervention.cut.enabled"]].iloc[0]
    assert [a["kind"] for a in exp.rerun(with_cut.design_point, with_cut.replicate).interventions] == ["cut_funding"]
    without = runs[~runs["intervention.cut.enabled"]].iloc[0]
    assert exp.rerun(without.design_point, without.replicate).interventions == []
    for bad, message in (((4, 0), "design_point = 4 is not allowed; expected a whole number from 0 to 3"),
                         ((0, 2), "replicate = 2 is not allowed; expected a whole number from 0 to 1"),
                         ((True, 0), "design_point = true is not allowed")):
        with pytest.raises(InputError, match=message):
            exp.rerun(*bad)
