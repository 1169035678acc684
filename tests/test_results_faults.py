"""Results that cannot be lost: damaged parts and tables, runs that exit, file-system faults, size.

Fault injection: parts and tables cut short or changed while still parseable, records edited or
lost, runs that are not the design's, a part that goes bad before the merge, sys.exit and
KeyboardInterrupt inside a run, failed runs retried, a read-only folder, a full disk (a small
tmpfs where this machine lets us mount one, and a patched write everywhere), the size budget.
(A run that kills its worker process is in test_sweep.py.)
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from results_helpers import _can_mount, assert_same_results, cli, interrupted, main, one_line, reference, tiny, tmpfs
from test_sweep import _patch_run, tree_digest

import peacesim.sweep as sweep
from peacesim.errors import InputError, StorageError
from peacesim.experiment import load_experiment
from peacesim.sweep import run_experiment

__all__ = ["reference", "tmpfs"]  # fixtures


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
    workers = ["--workers", "2"] if executor == "processes" else []  # serial refuses more than one
    code = _patch_run("spec.design_point == 0 and spec.replicate == 3", raised) + f"""
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if started with Ctrl-C ignored
from peacesim.cli import main
sys.exit(main(["sweep", {str(exp)!r}, "--executor", {executor!r}, *{workers!r}, "--out", {str(out)!r},
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
    real = sweep.run_one

    def flaky(base, spec, columns, outcomes, keep_series):  # replicate 1 fails, as a run that raises does
        if spec.seed == bad_seed:
            return sweep._failed_row(base, spec, columns, outcomes, "ValueError: boom"), [], None
        return real(base, spec, columns, outcomes, keep_series)

    out = tmp_path / "o"
    monkeypatch.setattr(sweep, "run_one", flaky)
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


def test_a_lock_file_that_is_a_link_is_never_written_through(tmp_path):
    """A folder received from elsewhere may hold a .peacesim.lock that links to a user's file: it is
    not taken for an empty folder, and a lock is never opened through it."""
    from peacesim.fsutil import LOCK, FolderLock

    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    exp = tiny(tmp_path, reps=2, months=12)
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / LOCK).symlink_to(notes)
    r = main("sweep", exp, "--out", fresh, "--executor", "serial", "--quiet", "--no-figures")
    assert r.returncode == 2 and "holds files peacesim did not write (.peacesim.lock)" in one_line(r)
    ours = tmp_path / "ours"
    assert main("sweep", exp, "--out", ours, "--executor", "serial", "--quiet", "--no-figures").returncode == 0
    (ours / LOCK).unlink()
    (ours / LOCK).symlink_to(notes)
    for args in (("plot", ours), ("sweep", exp, "--out", ours, "--executor", "serial", "--quiet", "--no-figures")):
        r = main(*args)
        assert r.returncode == 1 and one_line(r).endswith(
            f"{ours / LOCK}: is a link, not peacesim's lock file; peacesim does not write through it: remove it or "
            "choose another folder")
    (ours / LOCK).unlink()
    (ours / LOCK).mkdir()
    with pytest.raises(StorageError, match="is not a plain file"):
        FolderLock(ours).acquire()
    assert notes.read_text() == "my notes"


def test_a_manifest_that_is_not_utf8_is_refused_in_one_line_and_fresh_starts_over(tmp_path):
    exp = tiny(tmp_path, reps=2, months=12)
    out = tmp_path / "out"
    args = ("sweep", exp, "--out", out, "--executor", "serial", "--quiet", "--no-figures")
    assert main(*args).returncode == 0
    (out / "manifest.json").write_bytes(b"\xff\xfe{")
    r = main(*args)
    assert r.returncode == 2 and "manifest.json: unreadable ('utf-8' codec can't decode" in one_line(r)
    r = main(*args, "--fresh")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "manifest.json").read_text())["status"] == "complete"


def test_default_folder_names_keep_letters_and_never_share_a_folder_between_names_in_other_scripts():
    from peacesim.fsutil import slug

    assert slug("résultats été", "experiment") == "resultats_ete"
    assert slug("../../x", "experiment") == "x" and slug("/etc/passwd", "experiment") == "etc_passwd"
    assert slug("..", "experiment") == slug(" ", "experiment") == "experiment"
    japanese, greek = slug("日本語", "experiment"), slug("ειρήνη", "experiment")
    assert japanese.startswith("experiment-") and greek != japanese and greek != "experiment"
    assert slug("日本語", "experiment") == japanese  # the same name, the same folder
    # names that differ only in letters of another script do not share a folder either
    assert len({slug("peace 日本", "x"), slug("peace 中国", "x"), slug("peace", "x")}) == 3
    assert slug("peace 日本", "x").startswith("peace-") and slug("Łódź", "x").startswith("odz-")
    assert slug("a\udcffb.toml", "x")  # a file name that is not UTF-8 (surrogate escapes) is no crash
