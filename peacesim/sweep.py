"""Experiment execution and storage (DESIGN.md section 8, second layer).

Runs are grouped into batches of about a second and handed to an executor: ``serial`` (in this
process), ``processes`` (a pool of local worker processes kept for the whole sweep) or ``dask``
(a Dask LocalCluster, or an existing cluster by scheduler address). Every batch's results are
written to ``parts/`` as soon as it finishes, each file atomically, so a killed sweep loses at most
the batches in flight (Ctrl-C keeps them: it stops handing out batches and waits for the running
ones); running the same command again skips what is done. When all runs
are done the parts are merged into ``runs.parquet``, ``episodes.parquet`` and (if kept)
``series.parquet``, sorted by design point and replicate, so that every executor writes the same
tables.
"""

from __future__ import annotations

import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
import warnings
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import InputError
from .experiment import Experiment, RunSpec, load_experiment
from .records import EPISODE_COLUMNS
from .simulate import run_scenario
from .scenario import Scenario

__all__ = ["run_experiment", "SweepResult", "SweepInterrupted", "SweepFailed", "run_batch", "EXECUTORS"]

EXECUTORS = ("serial", "processes", "dask")
BATCH_SECONDS = 1.0
_OUR_FILES = ("runs.parquet", "episodes.parquet", "series.parquet", "manifest.json", "summary.csv", "report.md")
_OUR_DIRS = ("parts", "figures", "unreadable-parts")


class SweepInterrupted(Exception):
    """The sweep was stopped (Ctrl-C); what finished is saved and the same command resumes."""

    def __init__(self, done: int, total: int, out: Path):
        super().__init__(f"interrupted: {done} of {total} runs are saved in {out}; run the same command again to resume")
        self.done, self.total, self.out = done, total, out


class SweepFailed(Exception):
    """A worker process stopped abruptly (killed, out of memory); what finished is saved."""

    def __init__(self, why: str, done: int, total: int, out: Path):
        super().__init__(f"{why}: {done} of {total} runs are saved in {out}; run the same command again to resume "
                         "(with fewer --workers if memory ran out)")
        self.done, self.total, self.out = done, total, out


def _worker_lost(exc: BaseException) -> str | None:
    """Why the sweep cannot go on, if ``exc`` says a worker process was lost, else None."""
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, BrokenProcessPool):
        return "a worker process stopped abruptly (killed, or out of memory)"
    if type(exc).__name__ == "KilledWorker":  # dask, after its own retries
        return f"Dask lost the workers running a batch several times ({exc})"
    return None


@dataclass
class SweepResult:
    """What a sweep did: where the results are and how many runs ran, failed or were already done."""

    out: Path
    total: int
    ran: int
    skipped: int
    failed: int
    seconds: float


# ------------------------------------------------------------------------------------ one batch
def run_one(base: Scenario, spec: RunSpec, columns: list[str], outcomes: tuple[str, ...], keep_series: bool):
    """Run one design point and replicate; a run that raises is recorded with its error."""
    row: dict[str, Any] = {"design_point": spec.design_point, "replicate": spec.replicate, "seed": spec.seed}
    for c in columns:
        row[c] = spec.values.get(c)
    episodes: list[dict[str, Any]] = []
    series = None
    try:
        scen = base.with_overrides(spec.values, where=f"design point {spec.design_point}").cast()
        result = run_scenario(scen, seed=spec.seed)
        out = result.outcome
        row.update(status="ok", error="", months=scen.params["months"], followup_months=scen.params["followup_months"])
        for k in outcomes:
            row[k] = out[k]
        keys = {k: row[k] for k in ("design_point", "replicate", "seed", *columns)}
        # A varied parameter that is also an episode attribute (coordination) is stored once.
        episodes = [{**e, **keys} for e in result.episode_rows()]
        if keep_series:
            series = result.series.copy()
            series["phase"] = series["phase"].astype(str)
            for k, v in reversed(list(keys.items())):
                series.insert(0, k, v)
    except Exception as exc:  # recorded, and the sweep goes on
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}", months=base.params["months"],
                   followup_months=base.params["followup_months"])
        for k in outcomes:
            row[k] = None
    return row, episodes, series


def run_batch(base: Scenario, specs: list[RunSpec], columns: list[str], outcomes: tuple[str, ...],
              keep_series: bool) -> dict[str, Any]:
    """Run a batch of runs; the unit of work an executor receives.

    Returns the runs' rows, their episodes, their series (or None) and the seconds the batch took
    where it ran, from which the sweep sizes the batches that follow."""
    t0 = time.perf_counter()
    runs, episodes, series = [], [], []
    for spec in specs:
        r, e, s = run_one(base, spec, columns, outcomes, keep_series)
        runs.append(r)
        episodes.extend(e)
        if s is not None:
            series.append(s)
    return {"runs": runs, "episodes": episodes, "series": pd.concat(series, ignore_index=True) if series else None,
            "seconds": time.perf_counter() - t0}


# ------------------------------------------------------------------------------------ executors
class _Serial:
    """Runs batches in this process, one at a time."""

    workers = 1

    def submit(self, fn, *args):
        return _Done(fn(*args))

    def wait_any(self, pending):
        return set(pending), set()

    def stop(self, pending) -> set:
        return set()

    def wait_all(self, running) -> None:
        pass

    def kill(self) -> None:
        pass

    def results(self, pending) -> list:
        return [f.result() for f in pending]

    def close(self) -> None:
        pass


class _Done:
    def __init__(self, value):
        self._value = value

    def result(self):
        return self._value


def start_method() -> str:
    """How worker processes are started: ``fork`` where that is safe, else ``forkserver``/``spawn``.

    ``fork`` starts a worker in milliseconds with the model already imported (a ``forkserver``
    first starts a fresh interpreter and imports peacesim, about 0.7 s). It is used on Linux when
    the calling program runs no Python thread besides the main one - a forked child can deadlock
    on a lock another thread held - so a sweep started from a notebook kernel or a web server
    gets a ``forkserver``. (The native threads of OpenBLAS and of pyarrow's allocator prepare for
    fork themselves.) Neither changes the global start method of the calling program.
    """
    import _thread
    import multiprocessing
    import threading

    methods = multiprocessing.get_all_start_methods()
    # _thread._count() also sees threads started without the threading module (pytest-xdist's)
    single = threading.active_count() == 1 and getattr(_thread, "_count", lambda: 0)() == 0
    if sys.platform == "linux" and "fork" in methods and single:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


class _Processes:
    """A pool of local worker processes, kept for the whole sweep."""

    def __init__(self, workers: int, method: str | None = None):
        import multiprocessing

        self.workers = workers
        self.method = method or start_method()
        self._procs: list = []  # the worker processes, kept by stop() for kill()
        ctx = multiprocessing.get_context(self.method)
        if self.method == "forkserver":
            # The fork server imports peacesim once; workers forked from it start warm.
            ctx.set_forkserver_preload(["peacesim.sweep"])
        self.pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
        # Start every worker now (with "fork" before the pool's own thread exists).
        with warnings.catch_warnings():
            # Python counts the native threads of numpy's and scipy's OpenBLAS and of pyarrow's
            # allocator; they survive fork (pthread_atfork), unlike Python threads, which
            # start_method() rules out.
            warnings.filterwarnings("ignore", message=r".*is multi-threaded, use of fork\(\)",
                                    category=DeprecationWarning)
            self._warm = [self.pool.submit(_ready) for _ in range(workers)]

    def submit(self, fn, *args):
        return self.pool.submit(fn, *args)

    def wait_any(self, pending):
        done, rest = cf_wait(pending, return_when=FIRST_COMPLETED)
        return done, rest

    def stop(self, pending) -> set:
        """Drop the batches not started yet; return those still running."""
        for f in pending:
            f.cancel()
        self._procs = list((getattr(self.pool, "_processes", None) or {}).values())  # shutdown forgets them
        self.pool.shutdown(wait=False, cancel_futures=True)
        return {f for f in pending if not f.done()}

    def wait_all(self, running) -> None:
        cf_wait(running)

    def kill(self) -> None:
        """Stop the workers at once (their batches are lost)."""
        for p in self._procs:
            p.terminate()

    def results(self, pending) -> list:
        """The results of the ``pending`` batches that finished without an error."""
        return [f.result() for f in pending if f.done() and not f.cancelled() and f.exception() is None]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """A Dask cluster: a LocalCluster started here, or an existing one at ``scheduler``."""

    def __init__(self, workers: int, scheduler: str | None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is a dependency
            raise InputError("--executor dask needs dask.distributed, which is not installed") from None
        self.cluster = None
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise InputError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
        else:
            import dask

            # Without a dashboard nobody sees the workers' statistical profiler or GIL monitor,
            # which sample the running task every few milliseconds.
            # Its processes are started with Ctrl-C ignored, which they keep: the sweep's own
            # process handles it (as with _worker_init).
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.admin.system-monitor.gil.enabled": False}), _sigint_ignored():
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None)
            self.client = Client(self.cluster)
        info = self.client.scheduler_info()
        self.workers = max(1, len(info.get("workers", {})))

    def submit(self, fn, *args):
        return self.client.submit(fn, *args, pure=False)

    def wait_any(self, pending):
        from dask.distributed import wait

        res = wait(list(pending), return_when="FIRST_COMPLETED")
        return set(res.done), set(res.not_done)

    def stop(self, pending) -> set:
        # Dask does not tell queued tasks from running ones: all of them finish (2 per worker).
        return {f for f in pending if f.status == "pending"}

    def wait_all(self, running) -> None:
        from dask.distributed import wait

        wait(list(running))

    def kill(self) -> None:
        pass

    def results(self, pending) -> list:
        return [f.result() for f in pending if f.status == "finished"]

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def _ready() -> bool:
    return True


def _worker_init() -> None:
    # Ctrl-C reaches every process of the terminal's process group; the sweep's own process
    # handles it (it stops handing out batches and keeps those that finish), so workers ignore it.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def _sigint_ignored():
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _executor(kind: str, workers: int | None, scheduler: str | None):
    if kind not in EXECUTORS:
        raise InputError(f"--executor {kind!r} is not allowed; expected one of {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError(f"--workers {workers!r} is not allowed; expected a whole number of at least 1")
    if scheduler and kind != "dask":
        raise InputError("--scheduler is only used with --executor dask")
    n = workers or os.cpu_count() or 1
    if kind == "serial":
        return _Serial()
    if kind == "processes":
        return _Processes(n)
    return _Dask(n, scheduler)


# ------------------------------------------------------------------------------------ storage
class ResultStore:
    """The results folder of one experiment: parts written as batches finish, merged at the end."""

    def __init__(self, out: Path, exp: Experiment):
        self.out = out
        self.exp = exp
        self.parts = out / "parts"

    def open(self, fresh: bool) -> None:
        """Check the folder belongs to this experiment (or clear it with ``fresh``) and create it."""
        out = self.out
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out}: exists and is not a folder")
        manifest = out / "manifest.json"
        if out.exists() and any(out.iterdir()):
            if not manifest.is_file():
                raise InputError(f"--out {out}: the folder is not empty and holds no peacesim manifest.json; "
                                 "choose another folder")
            try:
                old = json.loads(manifest.read_text())
            except (OSError, ValueError) as exc:
                raise InputError(f"{manifest}: unreadable manifest ({exc}); use --fresh to start over") from None
            if old.get("experiment_digest") != self.exp.digest() and not fresh:
                raise InputError(
                    f"--out {out}: the results there belong to a different experiment "
                    f"({old.get('name', '?')!r}, or its experiment or scenario file has changed); "
                    "use --fresh to replace them or --out to choose another folder")
            if old.get("model_digest") != model_digest() and not fresh:
                raise InputError(
                    f"--out {out}: the results there were made by a different version of the model "
                    f"(peacesim {old.get('peacesim_version', '?')}, commit {str(old.get('git_commit', '?'))[:10]}); "
                    "use --fresh to rerun them or --out to choose another folder")
            if fresh:
                for name in _OUR_FILES:
                    (out / name).unlink(missing_ok=True)
                for name in _OUR_DIRS:
                    shutil.rmtree(out / name, ignore_errors=True)
        out.mkdir(parents=True, exist_ok=True)
        self.parts.mkdir(exist_ok=True)

    def _tables(self, kind: str, columns: list[str] | None = None) -> list:
        """The stored table of ``kind`` (if a sweep finished before) and its parts, as Arrow tables."""
        import pyarrow.parquet as pq

        tables = []
        final = self.out / f"{kind}.parquet"
        if final.is_file():
            tables.append(pq.read_table(final, columns=columns))
        if self.parts.is_dir():
            # .parquet parts come from earlier peacesim versions (a sweep they left unfinished)
            for path in sorted([*self.parts.glob(f"{kind}-*.arrow"), *self.parts.glob(f"{kind}-*.parquet")]):
                try:
                    tables.append(_read_part(path, columns))
                except (OSError, ValueError) as exc:  # ArrowInvalid is a ValueError
                    self._set_aside(path, exc)
        return tables

    def _set_aside(self, path: Path, exc: Exception) -> None:
        """Move an unreadable part (cut short when the machine went down) and the other parts of
        its batch to ``unreadable-parts/``, so that the batch's runs are run again."""
        tag = path.name.split("-", 1)[1].rsplit(".", 1)[0]
        aside = self.out / "unreadable-parts"
        aside.mkdir(exist_ok=True)
        for p in self.parts.glob(f"*-{tag}.*"):
            p.replace(aside / p.name)
        warnings.warn(f"{path}: unreadable ({exc}); its batch was moved to {aside} and its runs will be run again",
                      RuntimeWarning, stacklevel=3)

    def done(self) -> set[tuple[int, int]]:
        """(design point, replicate) of every run already stored."""
        keys: set[tuple[int, int]] = set()
        for kind in ("episodes", "series"):  # a batch with an unreadable part is not done
            self._tables(kind, ["design_point"])
        for t in self._tables("runs", ["design_point", "replicate"]):
            keys.update(zip(t.column("design_point").to_pylist(), t.column("replicate").to_pylist()))
        return keys

    def write_part(self, batch: dict[str, Any]) -> None:
        """Store one finished batch: episodes and series first, the runs file last (it marks done).

        Parts are uncompressed Arrow IPC files (a fraction of a millisecond each, so that the
        process collecting the results takes little CPU from the workers); the merge turns them
        into parquet tables."""
        import pyarrow as pa

        tag = uuid.uuid4().hex[:12]
        cols = ["design_point", "replicate", "seed", *self.exp.columns]
        if batch["episodes"]:
            names = _episode_columns(cols)
            _write_part(pa.Table.from_pylist([{c: e.get(c) for c in names} for e in batch["episodes"]]),
                        self.parts / f"episodes-{tag}.arrow")
        if batch["series"] is not None:
            _write_part(pa.Table.from_pandas(batch["series"], preserve_index=False), self.parts / f"series-{tag}.arrow")
        _write_part(pa.Table.from_pylist(batch["runs"]), self.parts / f"runs-{tag}.arrow")

    def merge(self) -> dict[str, int]:
        """Merge everything into the final tables, sorted, and remove the parts."""
        import pyarrow as pa

        counts = {}
        order = ["design_point", "replicate"]
        for kind in ("runs", "episodes", "series"):
            tables = [t for t in self._tables(kind) if t.num_rows]
            if not tables:
                if kind == "episodes":
                    cols = _episode_columns(["design_point", "replicate", "seed", *self.exp.columns])
                    _write_parquet(pd.DataFrame(columns=cols), self.out / "episodes.parquet")
                counts[kind] = 0
                continue
            # A part whose optional outcomes are all missing (no agreement in a batch) has null
            # columns; they take the type of the other parts.
            df = pa.concat_tables(tables, promote_options="permissive").to_pandas()
            keys = order + (["episode"] if kind == "episodes" else ["month"] if kind == "series" else [])
            df = df.drop_duplicates(subset=keys, keep="last").sort_values(keys, kind="stable").reset_index(drop=True)
            _write_parquet(df, self.out / f"{kind}.parquet")
            counts[kind] = len(df)
        shutil.rmtree(self.parts, ignore_errors=True)
        return counts

    def write_manifest(self, data: dict[str, Any]) -> None:
        _write_text(self.out / "manifest.json", json.dumps(data, indent=1, default=_json_default) + "\n")


def _episode_columns(keys: list[str]) -> list[str]:
    return keys + [c for c in EPISODE_COLUMNS if c not in keys]


@contextmanager
def _atomic(path: Path):
    """Yield a temporary name beside ``path``; once written, it replaces ``path`` in one step."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    yield tmp
    os.replace(tmp, path)


def _write_part(table, path: Path) -> None:
    import pyarrow.feather as feather

    with _atomic(path) as tmp:
        feather.write_feather(table, tmp, compression="uncompressed")


def _read_part(path: Path, columns: list[str] | None = None):
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    if path.suffix == ".parquet":
        return pq.read_table(path, columns=columns)
    return feather.read_table(path, columns=columns, memory_map=False)


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    with _atomic(path) as tmp:
        df.to_parquet(tmp, index=False)


def _write_text(path: Path, text: str) -> None:
    with _atomic(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _json_default(x):
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"cannot write {type(x).__name__} to JSON")


#: The modules a run's results depend on (everything simulate.run_scenario imports; a test keeps
#: this list complete).
_MODEL_FILES = ("agents.py", "agreement.py", "errors.py", "events.py", "funding.py", "interventions.py",
                "local_mechanisms.py", "model.py", "negotiation.py", "params.py", "records.py", "result.py",
                "rules.py", "scenario.py", "simulate.py", "spoilers.py", "streams.py", "tables.py", "trust.py")


def model_digest() -> str:
    """Hash of the source of the model itself: results made by another version are not mixed in."""
    import hashlib

    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _MODEL_FILES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()


def _git_commit() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("peacesim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "lifelines", "SALib", "dask", "distributed"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ------------------------------------------------------------------------------------ the sweep
def run_experiment(experiment: str | Path | Experiment, *, executor: str = "processes", workers: int | None = None,
                   scheduler: str | None = None, out: str | Path | None = None, fresh: bool = False,
                   progress: bool = True) -> SweepResult:
    """Run every run of an experiment that is not stored yet, and merge the results.

    Parameters
    ----------
    experiment:
        A shipped experiment's short name, a path to its TOML file, or an :class:`Experiment`.
    executor:
        ``"serial"``, ``"processes"`` (default: all cores) or ``"dask"``.
    workers:
        Number of worker processes (default: the number of cores).
    scheduler:
        Address of an existing Dask scheduler (``tcp://host:port``); with ``executor="dask"`` and
        no scheduler, a LocalCluster is started.
    out:
        Results folder (default ``results/<experiment name>``).
    fresh:
        Replace whatever results the folder holds instead of resuming.
    """
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    out_dir = Path(out) if out is not None else Path("results") / exp.name
    store = ResultStore(out_dir, exp)
    ex = _executor(executor, workers, scheduler)  # validates options (and reaches dask) before writing
    base = exp.base()
    columns = exp.columns
    started = _now()
    t0 = time.perf_counter()
    try:
        store.open(fresh)
        done = store.done()
        todo = [s for s in exp.runs() if (s.design_point, s.replicate) not in done]
        manifest = _manifest(exp, executor, ex.workers, started)
        manifest.update(status="running", runs_total=exp.n_runs, runs_done=len(done))
        store.write_manifest(manifest)
        bar = _progress(exp, len(todo), len(done), progress)
        failed = ran = 0
        pending: set = set()
        unwritten: set = set()
        try:
            # The first batches are small; the time they take where they ran sizes the following
            # ones to about BATCH_SECONDS each, shrinking towards the end so that the workers
            # finish together (guided scheduling).
            rest = todo
            limit = 2 * ex.workers
            spent = measured = 0.0
            while rest or pending:
                while rest and len(pending) < limit:
                    if measured:
                        size = max(1, min(1000, int(BATCH_SECONDS * measured / max(spent, 1e-9))))
                        k = max(1, min(size, math.ceil(len(rest) / (2 * ex.workers))))
                    else:
                        k = max(1, min(3, math.ceil(len(rest) / (2 * ex.workers))))
                    batch, rest = rest[:k], rest[k:]
                    pending.add(ex.submit(run_batch, base, batch, columns, exp.outcomes, exp.keep_series))
                finished, pending = ex.wait_any(pending)
                unwritten = set(finished)
                lost = None
                for fut in finished:
                    try:
                        result = fut.result()
                    except Exception as exc:  # a lost worker; the other finished batches are kept first
                        if _worker_lost(exc) is None:
                            raise
                        lost = lost or exc
                        unwritten.discard(fut)
                        continue
                    store.write_part(result)
                    unwritten.discard(fut)
                    n = len(result["runs"])
                    ran += n
                    spent += result["seconds"]
                    measured += n
                    failed += sum(r["status"] != "ok" for r in result["runs"])
                    bar.update(n)
                if lost is not None:
                    raise lost
        except KeyboardInterrupt:
            bar.close()
            n_done = _save_what_finished(ex, store, pending | unwritten, manifest, "interrupted", progress)
            raise SweepInterrupted(n_done, exp.n_runs, out_dir) from None
        except Exception as exc:
            why = _worker_lost(exc)
            if why is None:
                raise
            bar.close()
            n_done = _save_what_finished(ex, store, pending, manifest, "stopped", False, error=why)
            raise SweepFailed(why, n_done, exp.n_runs, out_dir) from None
        bar.close()
    finally:
        ex.close()
    try:
        counts = store.merge()
    except KeyboardInterrupt:  # the parts stay until the merged tables are written: nothing is lost
        n_done = _record_stop(store, [], manifest, "interrupted")
        raise SweepInterrupted(n_done, exp.n_runs, out_dir) from None
    runs = pd.read_parquet(out_dir / "runs.parquet", columns=["status"])
    manifest.update(status="complete", finished=_now(), runs_done=int(len(runs)),
                    runs_failed=int((runs["status"] != "ok").sum()), episodes=counts.get("episodes", 0),
                    seconds_this_session=round(time.perf_counter() - t0, 3))
    store.write_manifest(manifest)
    return SweepResult(out_dir, exp.n_runs, ran, exp.n_runs - len(todo), failed, time.perf_counter() - t0)


def _save_what_finished(ex, store: ResultStore, pending: set, manifest: dict[str, Any], status: str,
                        tell: bool, **extra) -> int:
    """Stop handing out batches, keep those that finish and record how far the sweep got.

    Batches not started are dropped; running ones are waited for (a second or so) unless Ctrl-C
    is pressed again, which stops the workers at once. Writing is shielded from Ctrl-C."""
    running = ex.stop(pending)
    if running:
        if tell:
            print(f"stopping: waiting for {len(running)} batch(es) in progress to finish; press Ctrl-C again "
                  "to stop at once", file=sys.stderr, flush=True)
        try:
            ex.wait_all(running)
        except KeyboardInterrupt:
            ex.kill()
    return _record_stop(store, ex.results(pending), manifest, status, **extra)


def _record_stop(store: ResultStore, results: list, manifest: dict[str, Any], status: str, **extra) -> int:
    """Write the finished ``results`` and the manifest with ``status``, shielded from Ctrl-C;
    return the number of runs stored."""
    with _sigint_ignored():
        for result in results:
            store.write_part(result)
        n_done = len(store.done())
        manifest.update(status=status, runs_done=n_done, **{status: _now()}, **extra)
        store.write_manifest(manifest)
    return n_done


def _manifest(exp: Experiment, executor: str, workers: int, started: str) -> dict[str, Any]:
    import peacesim

    return {
        "name": exp.name,
        "title": exp.title,
        "question": exp.question,
        "peacesim_version": peacesim.__version__,
        "git_commit": _git_commit(),
        "experiment_file": exp.path,
        "experiment_text": exp.source_text,
        "experiment_sha256": _sha(exp.source_text),
        "scenario": exp.scenario.name,
        "scenario_file": exp.scenario_path,
        "scenario_text": exp.scenario_text,
        "scenario_sha256": _sha(exp.scenario_text),
        "experiment_digest": exp.digest(),
        "model_digest": model_digest(),
        "master_seed": exp.master_seed,
        "replicates": exp.replicates,
        "seeds": exp.seeds,
        "factors": [f.parameters[0] for f in exp.factors] or exp.columns,
        "factor_parameters": {f.name: list(f.parameters) for f in exp.factors},
        "design": [{"design_point": i, "values": v} for i, v in enumerate(exp.design)],
        "fixed": exp.fixed,
        "keep_series": exp.keep_series,
        "outcomes": list(exp.outcomes),
        "executor": executor,
        "workers": workers,
        "versions": _versions(),
        "platform": platform.platform(),
        "started": started,
    }


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


def _progress(exp: Experiment, todo: int, done: int, enabled: bool):
    from tqdm import tqdm

    class Bar(tqdm):
        # no monitor thread: it would outlive the bar, and a sweep started later in this process
        # could then not fork its workers (see start_method)
        monitor_interval = 0

    return Bar(total=todo, unit="run", desc=exp.name, disable=not enabled or todo == 0, file=sys.stderr,
                dynamic_ncols=True, smoothing=0.1,
                postfix=f"{done} already done" if done else None)
