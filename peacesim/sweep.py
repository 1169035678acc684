"""Experiment execution (DESIGN.md section 8, second layer).

Runs are grouped into batches of about a second and handed to an executor: ``serial`` (in this
process), ``processes`` (a pool of local worker processes kept for the whole sweep) or ``dask``
(a Dask LocalCluster, or an existing cluster by scheduler address). Every batch's results are
written to ``parts/`` as soon as it finishes, each file atomically and with a checksum
(:mod:`peacesim.store`), so a killed sweep loses at most the batches in flight (Ctrl-C keeps them:
it stops handing out batches and waits for the running ones); running the same command again
skips what is done. An experiment that differs from the stored one only by a larger
``replicates`` extends the stored sweep: only the new replicates are run (:mod:`peacesim.store`).
When all runs are done the parts are checked and merged into
``runs.parquet``, ``episodes.parquet`` and (if kept) ``series.parquet``, sorted by design point
and replicate, so that every executor writes the same tables.

What the runner guarantees (docs/RESULTS.md says it for users):

* one sweep at a time per results folder (an advisory lock that ends with its process);
* only peacesim's own files are replaced or removed, and only inside the folder named;
* a damaged part or table is set aside and its runs are run again; the sweep is complete only
  when every run of the design is stored exactly once;
* a run that kills its worker process is retried once alone in a fresh process and, if it kills
  that one too, recorded as failed with its seed; the sweep goes on;
* a file-system fault (read-only, no space, permission) stops the sweep with one line, the
  manifest says "stopped", and the same command resumes.
"""

from __future__ import annotations

import errno
import functools
import math
import os
import platform
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor
from concurrent.futures import wait as cf_wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from . import budget, fsutil
from .errors import InputError, InputNote, StorageError
from .experiment import Experiment, RunSpec, load_experiment, point_scenario
from .parts import Part, PartBuilder, own_episode_row
from .scenario import Scenario
from .params import as_whole, check_flags
from .simulate import run_scenario
from .store import ResultStore

__all__ = ["run_experiment", "SweepResult", "SweepInterrupted", "SweepFailed", "run_batch", "EXECUTORS",
           "ResultStore"]

EXECUTORS = ("serial", "processes", "dask")
BATCH_SECONDS = 1.0
MERGE_ROUNDS = 3  # times the runs of parts found damaged at the merge are run again before giving up


class SweepInterrupted(Exception):
    """The sweep was stopped (Ctrl-C); what finished is saved and the same command resumes."""

    def __init__(self, done: int, total: int, out: Path):
        super().__init__(f"interrupted: {done} of {total} runs are saved in {out}; run the same command again to resume")
        self.done, self.total, self.out = done, total, out


class SweepFailed(Exception):
    """The sweep could not go on (its executor was lost); what finished is saved."""

    def __init__(self, why: str, done: int, total: int, out: Path):
        hint = "once the scheduler is running again" if "scheduler" in why else "(with fewer --workers if memory ran out)"
        super().__init__(f"{why}: {done} of {total} runs are saved in {out}; run the same command again to resume "
                         + hint)
        self.done, self.total, self.out = done, total, out


def _worker_lost(exc: BaseException) -> str | None:
    """Why a batch did not come back, if ``exc`` says its worker process was lost, else None."""
    from concurrent.futures.process import BrokenProcessPool

    if isinstance(exc, BrokenProcessPool):
        return "a worker process stopped abruptly (killed, or out of memory)"
    if type(exc).__name__ == "KilledWorker":  # dask, after its own retries
        return f"Dask lost the workers running a batch ({exc})"
    from concurrent.futures import CancelledError

    if isinstance(exc, CancelledError) and type(exc).__module__.startswith("distributed"):
        # the client cancels every future when it loses the scheduler (it stopped, or its machine)
        if "connection" in str(exc):
            return "the connection to the Dask scheduler was lost"
        return "Dask cancelled the batches in flight"
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
    #: seconds spent in each phase: ``pool start`` (the executor's workers), ``open`` (locking,
    #: checking what is stored, the manifest), ``runs`` (handing out batches until the last is
    #: back; ``writing parts`` is the part of it this process spent writing them), ``merge``,
    #: ``finish`` (the manifest, removing the parts), ``pool stop``
    timings: dict[str, float] = field(default_factory=dict)
    #: the replicates of the stored sweep this one extended, or None
    extended_from: int | None = None


# ------------------------------------------------------------------------------------ one batch
_last_cast: list = [None]  # (base, design point, values, scenario) of the last design point run here


def _scenario(base: Scenario, spec: RunSpec) -> Scenario:
    """The scenario of a run's design point, made once for the runs of that point that follow each
    other (a batch's runs are in design order). The model only reads its scenario. (The entry is
    read and replaced whole, so Dask's threads may share it.)"""
    last = _last_cast[0]
    if last is not None and last[0] is base and last[1] == spec.design_point and last[2] == spec.values:
        return last[3]
    scen = point_scenario(base, spec.design_point, spec.values)
    _last_cast[0] = (base, spec.design_point, dict(spec.values), scen)
    return scen


def run_one(base: Scenario, spec: RunSpec, columns: list[str], outcomes: tuple[str, ...], keep_series: bool):
    """Run one design point and replicate; a run that raises is recorded with its error.

    Returns the run's outcome row (a dict), its episode rows (dicts that hold the run's keys) and
    its series as ``(data, columns)``, the model's array of months x columns, or None."""
    row: dict[str, Any] = {"design_point": spec.design_point, "replicate": spec.replicate, "seed": spec.seed}
    for c in columns:
        row[c] = spec.values.get(c)
    episodes: list[dict[str, Any]] = []
    series = None
    try:
        scen = _scenario(base, spec)
        result = run_scenario(scen, seed=spec.seed)
        out = result.outcome
        row.update(status="ok", error="", months=scen.params["months"], followup_months=scen.params["followup_months"])
        for k in outcomes:
            row[k] = out[k]
        keys = {k: row[k] for k in ("design_point", "replicate", "seed", *columns)}
        # A varied parameter that is also an episode attribute (coordination) has the design's value;
        # the agreement's own is kept as coordination_at_signature.
        episodes = [own_episode_row(e, keys) for e in result.episode_rows()]
        if keep_series:
            series = (result._series_data, result._series_columns)
    except Exception as exc:  # recorded, and the sweep goes on
        row.update(status="failed", error=f"{type(exc).__name__}: {exc}", months=base.params["months"],
                   followup_months=base.params["followup_months"])
        for k in outcomes:
            row[k] = None
    return row, episodes, series


def _failed_row(base: Scenario, spec: RunSpec, columns: list[str], outcomes: tuple[str, ...], error: str) -> dict:
    """The row of a run that did not finish: its keys and seed, why, and no outcomes."""
    row: dict[str, Any] = {"design_point": spec.design_point, "replicate": spec.replicate, "seed": spec.seed}
    for c in columns:
        row[c] = spec.values.get(c)
    row.update(status="failed", error=error, months=base.params["months"], followup_months=base.params["followup_months"])
    for k in outcomes:
        row[k] = None
    return row


def _ctrl_c_possible() -> bool:
    """Could a KeyboardInterrupt here have come from Ctrl-C? Only in the main thread of a process
    that does not ignore SIGINT: worker processes ignore it, and Dask runs tasks in threads."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return False
    return signal.getsignal(signal.SIGINT) is not signal.SIG_IGN


def run_batch(base: Scenario, specs: list[RunSpec], columns: list[str], outcomes: tuple[str, ...],
              keep_series: bool) -> Part:
    """Run a batch of runs; the unit of work an executor receives.

    Returns a :class:`~peacesim.parts.Part`: the batch's tables, built once for the batch and
    encoded as the part's files here where it ran, and the seconds the batch took, from which the
    sweep sizes the batches that follow. A run that calls ``sys.exit`` is recorded as failed, like
    one that raises. A KeyboardInterrupt that is Ctrl-C (in the process running a serial sweep)
    ends the batch early with ``interrupted`` set and the runs before it kept; raised by a run's
    own code elsewhere, it fails that run."""
    from .words import words

    t0 = time.perf_counter()
    part = PartBuilder(columns)
    interrupted = False
    for spec in specs:
        try:
            r, e, s = run_one(base, spec, columns, outcomes, keep_series)
        except SystemExit as exc:
            r, e, s = _failed_row(base, spec, columns, outcomes,
                                  f"SystemExit: the run called sys.exit({words(exc.code)})"), [], None
        except KeyboardInterrupt:
            if _ctrl_c_possible():
                interrupted = True
                break
            r, e, s = _failed_row(base, spec, columns, outcomes,
                                  "KeyboardInterrupt: raised by the run itself (worker processes ignore Ctrl-C)"), [], None
        part.add(r, e, s)
    built = part.build(interrupted=interrupted)
    built.seconds = time.perf_counter() - t0
    return built


def _death(exitcode: int | None) -> str:
    if exitcode is None:
        return "it did not finish"
    if exitcode < 0:
        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            return f"killed by signal {-exitcode}"
    return f"exit code {exitcode}"


def _death_result(base: Scenario, spec: RunSpec, columns: list[str], outcomes: tuple[str, ...], why: str) -> Part:
    error = (f"WorkerDied: the worker process running this run died with its batch, and again when the run was "
             f"retried alone in a fresh process ({why})")
    part = PartBuilder(columns)
    part.add(_failed_row(base, spec, columns, outcomes, error), [])
    return part.build()


# ------------------------------------------------------------------------------------ executors
class _Serial:
    """Runs batches in this process, one at a time."""

    workers = 1
    breaks_all = False

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

    def restart(self) -> None:
        pass

    def isolate(self, base, specs, columns, outcomes, keep_series):
        for spec in specs:
            yield spec, run_batch(base, [spec], columns, outcomes, keep_series), ""

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


@contextmanager
def _fork_quietly():
    with warnings.catch_warnings():
        # Python counts the native threads of numpy's and scipy's OpenBLAS and of pyarrow's
        # allocator; they survive fork (pthread_atfork), unlike Python threads, which
        # start_method() rules out.
        warnings.filterwarnings("ignore", message=r".*is multi-threaded, use of fork\(\)", category=DeprecationWarning)
        yield


class _Processes:
    """A pool of local worker processes, kept for the whole sweep (and replaced if it breaks)."""

    breaks_all = True  # a worker that dies breaks the pool: every batch in flight fails with it

    def __init__(self, workers: int, method: str | None = None):
        self.workers = workers
        self._method = method
        self._procs: list = []  # the worker processes, kept by stop() for kill()
        self.pool = None
        self._start()

    def _start(self) -> None:
        import multiprocessing

        self.method = self._method or start_method()
        ctx = multiprocessing.get_context(self.method)
        if self.method == "forkserver":
            # The fork server imports peacesim once; workers forked from it start warm.
            ctx.set_forkserver_preload(["peacesim.sweep"])
        parent = os.getpid() if self.method == "fork" else None
        self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx, initializer=_worker_init,
                                        initargs=(parent,))
        # Start every worker now (with "fork" before the pool's own thread exists).
        with _fork_quietly():
            self._warm = [self.pool.submit(_ready) for _ in range(self.workers)]

    def submit(self, fn, *args):
        if self.pool is None:
            self._start()
        return self.pool.submit(fn, *args)

    def wait_any(self, pending):
        done, rest = cf_wait(pending, return_when=FIRST_COMPLETED)
        return done, rest

    def stop(self, pending) -> set:
        """Drop the batches not started yet; return those still running."""
        for f in pending:
            f.cancel()
        if self.pool is None:
            return set()
        self._procs = list((getattr(self.pool, "_processes", None) or {}).values())  # shutdown forgets them
        self.pool.shutdown(wait=False, cancel_futures=True)
        return {f for f in pending if not f.done()}

    def wait_all(self, running) -> None:
        cf_wait(running)

    def kill(self) -> None:
        """Stop the workers at once (their batches are lost)."""
        for p in self._procs or (getattr(self.pool, "_processes", None) or {}).values():
            p.terminate()

    def results(self, pending) -> list:
        """The results of the ``pending`` batches that finished without an error."""
        return [f.result() for f in pending if f.done() and not f.cancelled() and f.exception() is None]

    def restart(self) -> None:
        """Drop a pool that broke; a new one starts with the next batch. In between, this process
        runs no thread of the pool's, so that the runs retried alone can be forked."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def isolate(self, base, specs, columns, outcomes, keep_series):
        """Run each of ``specs`` alone in a fresh process, ``workers`` at a time; yield (spec, result,
        why) with result None (and why it died) for a run whose process died."""
        import multiprocessing
        from multiprocessing.connection import wait as mp_wait

        method = self._method or start_method()
        ctx = multiprocessing.get_context(method)
        parent = os.getpid() if method == "fork" else None
        queue = list(specs)
        running: dict = {}  # connection -> (process, spec)
        try:
            while queue or running:
                while queue and len(running) < self.workers:
                    spec = queue.pop(0)
                    recv, send = ctx.Pipe(duplex=False)
                    proc = ctx.Process(target=_isolated_main, args=(send, parent, base, spec, columns, outcomes,
                                                                      keep_series), daemon=True)
                    with _fork_quietly():
                        proc.start()
                    send.close()
                    running[recv] = (proc, spec)
                ready = set(mp_wait([*running, *(p.sentinel for p, _ in running.values())]))
                for conn, (proc, spec) in list(running.items()):
                    if conn not in ready and proc.sentinel not in ready:
                        continue
                    result = None
                    try:
                        if conn.poll():
                            result = conn.recv()
                    except (EOFError, OSError):
                        result = None
                    proc.join(10)
                    if proc.is_alive():
                        proc.kill()
                        proc.join()
                    conn.close()
                    del running[conn]
                    yield spec, result, "" if result is not None else _death(proc.exitcode)
        finally:
            for conn, (proc, _) in running.items():
                proc.kill()
                proc.join()
                conn.close()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _isolated_main(conn, parent: int | None, base, spec, columns, outcomes, keep_series) -> None:
    _worker_init(parent)
    conn.send(run_batch(base, [spec], columns, outcomes, keep_series))
    conn.close()


class _Dask:
    """A Dask cluster: a LocalCluster started here, or an existing one at ``scheduler``."""

    breaks_all = False  # Dask reschedules the other tasks of a lost worker itself

    def __init__(self, workers: int, scheduler: str | None):
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - dask is a dependency
            raise InputError("--executor dask needs dask.distributed, which is not installed") from None
        self.cluster = None
        self._quieted = None
        if scheduler:
            import logging

            # A scheduler lost mid-sweep is said in one line (SweepFailed); the client's own log of
            # its attempts to reconnect, with their tracebacks, is not shown as well
            log = logging.getLogger("distributed.client")
            self._quieted = (log, log.level)
            log.setLevel(logging.CRITICAL)
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                self._restore_log()
                raise InputError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({exc})") from None
            try:
                _check_cluster_model(self.client, scheduler)
            except BaseException:
                self.close()
                raise
        else:
            import dask

            # Without a dashboard nobody sees the workers' statistical profiler or GIL monitor,
            # which sample the running task every few milliseconds.
            # Its processes are started with Ctrl-C ignored, which they keep: the sweep's own
            # process handles it (as with _worker_init).
            # A batch whose worker dies is retried once in a fresh worker before Dask gives up on it
            # (then its runs are retried one by one, see _Sweep).
            with dask.config.set({"distributed.worker.profile.enabled": False,
                                  "distributed.admin.system-monitor.gil.enabled": False,
                                  "distributed.scheduler.allowed-failures": 1}), _sigint_ignored():
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                            dashboard_address=None)
            # (its worker processes watch their parent themselves and exit when it dies)
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
        done = []
        for f in pending:
            if f.status == "finished":
                try:
                    done.append(f.result())
                except Exception:  # the scheduler is gone: its result cannot be fetched, it runs again
                    pass
        return done

    def restart(self) -> None:
        pass

    def isolate(self, base, specs, columns, outcomes, keep_series):
        """Each run alone as its own task (Dask retries it once more in a fresh worker)."""
        from dask.distributed import as_completed

        futs = {self.client.submit(run_batch, base, [s], columns, outcomes, keep_series, pure=False): s for s in specs}
        try:
            for fut in as_completed(list(futs)):
                try:
                    yield futs[fut], fut.result(), ""
                except Exception as exc:
                    if _worker_lost(exc) is None:
                        raise
                    yield futs[fut], None, "Dask lost its worker"
        finally:
            for fut in futs:
                fut.cancel()

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            try:
                if self.cluster is not None:
                    self.cluster.close()
            finally:
                self._restore_log()

    def _restore_log(self) -> None:
        if self._quieted is not None:
            log, level = self._quieted
            log.setLevel(level)
            self._quieted = None


def _check_cluster_model(client, scheduler: str) -> None:
    """Refuse an existing cluster whose workers cannot run this model or run another version of it
    (their results would be mixed with this version's without a word). Workers that join after
    the sweep has started are not checked."""
    here = model_digest()
    try:
        theirs = client.run(model_digest)
    except Exception as exc:  # the workers' own error: peacesim not installed there, or broken
        # (an error in unpickling the call on the worker comes back wrapped in a plain Exception)
        detail = str(exc) if type(exc) is Exception else f"{type(exc).__name__}: {exc}"
        raise InputError(f"--scheduler {scheduler}: a worker cannot run peacesim's model ({fsutil.cut(detail, 120)}); "
                         "install this version of peacesim on every worker") from None
    # (a cluster with no workers yet, one that adds them on demand, has none to ask)
    other = sorted(addr for addr, digest in theirs.items() if digest != here)
    if other:
        shown = ", ".join(other[:3]) + (", ..." if len(other) > 3 else "")
        raise InputError(f"--scheduler {scheduler}: {len(other)} of {len(theirs)} workers run another version of "
                         f"peacesim's model ({shown}); install this version on every worker (model digest "
                         f"{here[:12]} here)")


def _ready() -> bool:
    return True


def _worker_init(parent: int | None = None) -> None:
    """Set up a worker process: it ignores Ctrl-C, drops the parent's lock files, exits when its
    parent process dies, and keeps the garbage collector off the objects it started with."""
    # Ctrl-C reaches every process of the terminal's process group; the sweep's own process
    # handles it (it stops handing out batches and keeps those that finish), so workers ignore it.
    import gc

    from .lifeline import die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fsutil.close_inherited()
    die_with_parent(parent)
    # The modules and objects a worker starts with (Mesa, pandas, pyarrow: some 100,000 tracked
    # objects) live as long as it does; frozen, they are not traversed again by the full
    # collections the runs' garbage sets off (one in some 200 reference runs, 65 ms: 0.3 ms a run).
    gc.collect()
    gc.freeze()


@contextmanager
def _sigint_ignored():
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def check_executor(kind: str, workers: int | None, scheduler: str | None) -> int:
    """Check the executor options (before anything is written); the number of workers."""
    if kind not in EXECUTORS:
        raise InputError(f"--executor {fsutil.cut(str(kind))!r} is not allowed; expected one of {', '.join(EXECUTORS)}")
    if workers is not None:
        from .words import words

        whole = as_whole(workers)
        if whole is None or whole < 1:
            raise InputError(f"--workers {fsutil.cut(words(workers))} is not allowed; expected a whole number of at "
                             "least 1" + (" (a number, not a text)" if isinstance(workers, str) else ""))
        workers = whole
    if scheduler and kind != "dask":
        raise InputError("--scheduler is only used with --executor dask")
    if kind == "serial" and workers is not None and workers > 1:  # it would be ignored without a word
        raise InputError(f"--workers {workers} is not used with --executor serial, which runs one run at a time; "
                         "leave --workers out or use --executor processes")
    return 1 if kind == "serial" else workers or os.cpu_count() or 1


def _executor(kind: str, workers: int | None, scheduler: str | None):
    n = check_executor(kind, workers, scheduler)
    if kind == "serial":
        return _Serial()
    if kind == "processes":
        return _Processes(n)
    return _Dask(n, scheduler)


# ------------------------------------------------------------------------------------ provenance
#: The modules a run's results depend on (everything simulate.run_scenario imports; a test keeps
#: this list complete).
_MODEL_FILES = ("agents.py", "agreement.py", "budget.py", "diplomacy.py", "errors.py", "events.py", "facilitation.py",
                "funding.py", "interventions.py", "local_mechanisms.py", "model.py", "negotiation.py", "params.py",
                "records.py", "result.py", "rules.py", "scenario.py", "simulate.py", "spoilers.py", "streams.py",
                "tables.py", "trust.py", "words.py")


def model_digest() -> str:
    """Hash of the source of the model itself: results made by another version are not mixed in."""
    import hashlib

    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _MODEL_FILES:
        h.update(name.encode())
        h.update((here / name).read_bytes())
    return h.hexdigest()


def _git_commit(here: Path | None = None) -> str:
    here = here or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        return out.stdout.strip() if out.returncode == 0 else "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _git_dirty(here: Path | None = None) -> bool | None:
    """Whether the package's tracked files differ from the commit in ``git_commit`` (uncommitted
    changes: the results may not be reproducible from the commit alone); None outside a git
    checkout. Untracked files are not counted. One ``git status`` of the package folder only, a
    few milliseconds."""
    here = here or Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", "."], cwd=here,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def _resolved(path: str) -> str:
    """The absolute path of a file named relative to the working directory ('' if it is not a file)."""
    try:
        p = Path(path)
        return str(p.resolve()) if path and p.is_file() else ""
    except (OSError, ValueError):
        return ""


@functools.cache
def _versions() -> dict[str, str]:
    """Versions of Python and the packages results depend on (read once per process: reading a
    package's metadata takes a few milliseconds each)."""
    out = {"python": platform.python_version()}
    for pkg in ("peacesim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "lifelines", "SALib", "dask", "distributed"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


# ------------------------------------------------------------------------------------ the sweep
def run_experiment(experiment: str | Path | Experiment, *, executor: str = "processes", workers: int | None = None,
                   scheduler: str | None = None, out: str | Path | None = None, fresh: bool = False,
                   retry_failed: bool = False, progress: bool = True,
                   announce: Callable[[], None] | None = None) -> SweepResult:
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
        Results folder (default ``results/<experiment name>``, the name made a safe folder name).
    fresh:
        Remove peacesim's results from the folder and start over, instead of resuming.
    retry_failed:
        Run again the runs stored as failed (their rows are replaced).
    announce:
        Called once the folder is open and its stored runs are known to belong to the experiment,
        before any run starts (the command line says what it will run there, not before a refusal).

    Raises
    ------
    InputError
        Bad options, a folder that is not peacesim's, results of another experiment (one that
        differs only by a larger ``replicates`` is extended instead; a smaller one is refused), a
        sweep over the size budget.
    StorageError
        The file system refused a read or a write, or another sweep is using the folder; the
        manifest then says "stopped" (where it can be written) and the same call resumes.
    SweepInterrupted
        Ctrl-C; what finished is saved.
    """
    check_flags(fresh=fresh, retry_failed=retry_failed, progress=progress)
    exp = experiment if isinstance(experiment, Experiment) else load_experiment(experiment)
    exp.check_unchanged()
    out_dir = fsutil.check_out_path(out) if out is not None else Path("results") / fsutil.slug(exp.name, "experiment")
    n_workers = check_executor(executor, workers, scheduler)
    budget.check_memory(exp, n_workers, local_workers=not (executor == "dask" and scheduler), where=exp.path)
    fsutil.claim(out_dir, "sweep")  # refuse a folder that is not peacesim's, or in use, before starting workers
    if out_dir.is_dir():
        fsutil.FolderLock(out_dir, "sweep").probe()
    store = ResultStore(out_dir, exp)
    t0 = time.perf_counter()
    ex = _executor(executor, workers, scheduler)  # validates options (and reaches dask) before writing
    clock = _Clock()
    clock.laps["pool start"] = time.perf_counter() - t0
    started = fsutil.now()
    try:
        previous = store.open(fresh)
        try:
            result = _sweep(exp, store, ex, executor, started, t0, retry_failed, progress, clock, announce,
                            previous)
        finally:
            store.close()
    finally:
        clock.lap("finish")
        ex.close()
        clock.lap("pool stop")
    result.seconds = time.perf_counter() - t0
    return result


def _sweep(exp: Experiment, store: ResultStore, ex, executor: str, started: str, t0: float, retry_failed: bool,
           progress: bool, clock: _Clock, announce: Callable[[], None] | None = None,
           previous: dict[str, Any] | None = None) -> SweepResult:
    manifest = _manifest(exp, executor, ex.workers, started)
    # ``started`` and ``finished`` are this session's; the first session's start and the number of
    # sessions are carried over from the manifest the folder held (resumed, extended or rerun)
    first, sessions = started, 1
    if isinstance(previous, dict):
        first = previous.get("first_started", previous.get("started"))
        first = first if isinstance(first, str) else started
        n = previous.get("sessions")
        sessions = (n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1) + 1
    manifest.update(first_started=first, sessions=sessions)
    if store.extensions:  # in every manifest written from now on (a fault while scanning writes one)
        manifest["extended"] = store.extensions
    sweep = _Sweep(exp, store, ex, manifest, clock)
    try:
        status = store.scan()
        todo = np.flatnonzero((status == store.MISSING) | ((status == store.FAILED) if retry_failed else False))
        skipped = exp.n_runs - len(todo)
        if announce is not None:
            announce()
        if store.extension is not None:
            store.extension["runs_reused"] = skipped
            # a note (the command shows it unless --quiet; from Python, a warning), never a print
            warnings.warn(f"extending the sweep in {store.out} from {store.extension['from_replicates']} to "
                          f"{exp.replicates} replicates: {skipped} stored runs are reused, {len(todo)} will run",
                          InputNote, stacklevel=2)
            store.mark_report_outdated()
        manifest.update(status="running", runs_total=exp.n_runs, runs_done=int(np.count_nonzero(status)))
        store.write_manifest(manifest)
        sweep.bar = _progress(exp, len(todo), skipped, progress)
        clock.lap("open")
        counts: dict[str, int] = {}
        for _ in range(MERGE_ROUNDS):
            try:
                sweep.run(todo)
                clock.lap("runs")
            except KeyboardInterrupt:
                sweep.bar.close()
                n_done = _save_what_finished(ex, store, set(sweep.pending) | sweep.unwritten, manifest,
                                             "interrupted", progress)
                raise SweepInterrupted(n_done, exp.n_runs, store.out) from None
            except Exception as exc:
                why = _worker_lost(exc)
                if why is None:
                    raise
                sweep.bar.close()
                n_done = _save_what_finished(ex, store, set(sweep.pending), manifest, "stopped", False, error=why)
                raise SweepFailed(why, n_done, exp.n_runs, store.out) from None
            if store.sources and all(s.name == "final" for s in store.sources) and not store.pending_tables:
                counts = {"failed": int(sum(len(s.failed) for s in store.sources)),
                          "episodes": int(store.tables.get("episodes.parquet", {}).get("rows", 0))}
                break  # complete already: nothing to merge
            try:
                counts, missing = store.merge(manifest)
                clock.lap("merge")
            except KeyboardInterrupt:  # the parts stay until the merged tables are recorded: nothing is lost
                sweep.bar.close()
                n_done = _record_stop(store, [], manifest, "interrupted")
                raise SweepInterrupted(n_done, exp.n_runs, store.out) from None
            if not len(missing):
                break
            # a part went bad after it was checked: its runs are run again
            todo = missing
            sweep.bar = _progress(exp, len(todo), exp.n_runs - len(todo), progress)
        else:
            raise StorageError(f"{store.out}: parts were found damaged {MERGE_ROUNDS} times while merging; the disk "
                               "may be failing; run the same command again to resume")
        sweep.bar.close()
    except (StorageError, OSError) as exc:
        err = fsutil.storage_error(exc) if not isinstance(exc, StorageError) else exc
        if sweep.bar is not None:
            sweep.bar.close()
        _stop_on_fault(ex, sweep)
        raise _fault_message(err, store, manifest, exp) from None
    manifest.update(status="complete", finished=fsutil.now(), runs_done=exp.n_runs,
                    runs_failed=int(counts.get("failed", 0)), episodes=counts.get("episodes", manifest.get("episodes", 0)),
                    seconds_this_session=round(time.perf_counter() - t0, 3))
    manifest.pop("error", None)
    try:
        store.write_manifest(manifest)
        store.remove_parts()
        store.mark_report_outdated(finished=True)
    except StorageError as exc:
        raise _fault_message(exc, store, manifest, exp) from None
    return SweepResult(store.out, exp.n_runs, sweep.ran, skipped, sweep.failed, time.perf_counter() - t0,
                       clock.laps, store.extension["from_replicates"] if store.extension is not None else None)


class _Clock:
    """Seconds spent in each phase of a sweep (:attr:`SweepResult.timings`)."""

    def __init__(self):
        self.laps: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.laps[phase] = self.laps.get(phase, 0.0) + now - self._t
        self._t = now

    def add(self, phase: str, seconds: float) -> None:
        self.laps[phase] = self.laps.get(phase, 0.0) + seconds


class _Sweep:
    """The loop of one session: hands batches to the executor, writes what comes back, and deals
    with lost workers (see :meth:`run`)."""

    def __init__(self, exp: Experiment, store: ResultStore, ex, manifest: dict[str, Any], clock: _Clock):
        self.exp, self.store, self.ex, self.manifest = exp, store, ex, manifest
        self.base = exp.base()
        self.tail = (exp.columns, exp.outcomes, exp.keep_series)
        self.pending: dict = {}  # future -> its runs
        self.unwritten: set = set()
        self.ran = self.failed = 0
        self.spent = self.measured = 0.0
        self.bar = None
        self.clock = clock

    def _write(self, result: Part) -> None:
        t = time.perf_counter()
        self.store.write_part(result)
        self.clock.add("writing parts", time.perf_counter() - t)
        n = result.n
        self.ran += n
        self.spent += result.seconds
        self.measured += n if result.seconds else 0
        self.failed += result.n_failed
        self.bar.update(n)

    def _size(self, left: int) -> int:
        # The first batches are small; the time they take where they ran sizes the following ones
        # to about BATCH_SECONDS each, shrinking towards the end so that the workers finish together
        # (guided scheduling).
        w = self.ex.workers
        if self.measured:
            size = max(1, min(budget.MAX_BATCH_RUNS, int(BATCH_SECONDS * self.measured / max(self.spent, 1e-9))))
            return max(1, min(size, math.ceil(left / (2 * w))))
        return max(1, min(3, math.ceil(left / (2 * w))))

    def run(self, todo: np.ndarray) -> None:
        """Run ``todo`` (runs by index in design order). A batch whose worker process died is not
        lost: its runs are run again one by one, each alone in a fresh process (:meth:`_isolate`);
        a run that kills that process too is recorded as failed with its seed."""
        todo = np.asarray(todo, dtype=np.int64)
        at = 0  # the runs before todo[at] are handed out
        suspects: list[RunSpec] = []
        limit = 2 * self.ex.workers
        while at < len(todo) or self.pending or suspects:
            if suspects and not self.pending:
                self._isolate(suspects)
                suspects = []
                continue
            if not suspects:
                handing = at
                try:
                    while at < len(todo) and len(self.pending) < limit:
                        k = self._size(len(todo) - at)
                        batch = [self.exp.run(i) for i in todo[at:at + k]]
                        handing = at
                        fut = self.ex.submit(run_batch, self.base, batch, *self.tail)
                        at += k
                        self.pending[fut] = batch
                        if isinstance(fut, _Done) and fut.result().interrupted:
                            break  # Ctrl-C during a serial run: hand out nothing more
                except Exception as exc:  # the pool broke before it took the batch
                    if _worker_lost(exc) is None:
                        raise
                    at = handing
                    self._broken(suspects)
                    continue
            finished, _ = self.ex.wait_any(set(self.pending))
            self.unwritten = set(finished)
            broken = interrupted = False
            for fut in finished:
                specs = self.pending.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:
                    if _worker_lost(exc) is None:
                        raise
                    self.unwritten.discard(fut)
                    suspects.extend(specs)
                    broken = broken or self.ex.breaks_all
                    continue
                self._write(result)
                self.unwritten.discard(fut)
                interrupted = interrupted or result.interrupted
            if interrupted:  # Ctrl-C during a run of a serial sweep: the runs before it are saved
                raise KeyboardInterrupt
            if broken:
                self._broken(suspects)

    def _broken(self, suspects: list[RunSpec]) -> None:
        """The pool lost a worker: keep the batches that finished, suspect the others, new pool."""
        self.ex.wait_all(set(self.pending))
        for fut, specs in list(self.pending.items()):
            try:
                result = fut.result()
            except Exception as exc:
                if _worker_lost(exc) is None:
                    raise
                suspects.extend(specs)
                continue
            self._write(result)
        self.pending = {}
        self.ex.restart()

    def _isolate(self, suspects: list[RunSpec]) -> None:
        for spec, result, why in self.ex.isolate(self.base, suspects, *self.tail):
            if result is None:
                result = _death_result(self.base, spec, *self.tail[:2], why)
            self._write(result)


def _stop_on_fault(ex, sweep: _Sweep) -> None:
    """After a file-system fault: nothing more can be written, so the workers stop at once."""
    try:
        ex.stop(set(sweep.pending))
        ex.kill()
    except Exception:  # pragma: no cover - stopping is best effort
        pass


_HINTS = {errno.ENOSPC: "free some space", errno.EROFS: "make the folder writable",
          errno.EACCES: "fix the folder's permissions", errno.EPERM: "fix the folder's permissions",
          getattr(errno, "EDQUOT", -1): "free some space (the disk quota is reached)"}


def _fault_message(err: StorageError, store: ResultStore, manifest: dict[str, Any], exp: Experiment) -> StorageError:
    """The one-line message of a file-system fault during a sweep, after recording "stopped"."""
    try:
        n_done = store.n_stored()
    except Exception:  # pragma: no cover
        n_done = 0
    recorded = True
    try:
        manifest.update(status="stopped", runs_done=n_done, stopped=fsutil.now(), error=str(err))
        store.write_manifest(manifest)
    except Exception:
        recorded = False
    if err.advised:
        return err
    hint = _HINTS.get(err.errno or 0, "fix the cause")
    note = "" if recorded else " (the manifest could not be updated either)"
    return StorageError(f"{err}; {n_done} of {exp.n_runs} runs are saved in {store.out}{note}; {hint} and run the "
                        "same command again to resume", err.errno)


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
        n_done = store.n_stored()
        manifest.update(status=status, runs_done=n_done, **{status: fsutil.now()}, **extra)
        store.write_manifest(manifest)
    return n_done


def _manifest(exp: Experiment, executor: str, workers: int, started: str) -> dict[str, Any]:
    import peacesim

    return {
        "schema": "peacesim sweep manifest",
        "name": exp.name,
        "title": exp.title,
        "question": exp.question,
        "peacesim_version": peacesim.__version__,
        "git_commit": _git_commit(),
        "git_dirty": _git_dirty(),
        "experiment_file": exp.path,
        "experiment_file_resolved": _resolved(exp.path),
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
        "versions": dict(_versions()),
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
