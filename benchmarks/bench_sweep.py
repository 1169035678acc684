"""Speed of the experiment runner (a benchmark, not a test).

Measures, side by side in one invocation, on the same experiment (the reference scenario,
``handover_quality`` at 4 levels x N replicates, seeds from the experiment's master seed):

1. runner overhead: ``run_experiment(executor="serial")`` against a plain loop over the same
   runs (``PeaceModel(scenario, rng=seed).run()`` + ``build_outcome`` + the episodes list);
   target: under 5 %;
2. parallel speed-up: ``run_experiment(executor="processes", workers=2)`` and
   ``executor="dask"`` (a LocalCluster with 2 workers) against the serial runner;
   target: at least 1.85x on 2 cores at 600 runs;
3. the machine's ceiling: the plain loop forked into 2 processes that split the runs and send
   their results back once at the end - what 2 cores give with no runner at all (two busy cores
   are each slower than one: shared caches and memory, clock speed, neighbours on a virtual
   machine);
4. other tools running the same model on the same runs (same parameter values, same seeds),
   2 processes each: ``mesa.batch_run`` (a thin PeaceModel subclass with a DataCollector that
   collects the per-run outcome at the end) and EMA Workbench's ``MultiprocessingEvaluator``
   (a function model ``f(handover_quality, seed) -> outcome dict``; optional extra ``bench``).

Every measurement runs in a fresh Python process started by this script (after its imports,
so the timings hold the work and the start of any worker pool, not the interpreter's start),
so no tool inherits another's worker pools, threads or multiprocessing start method
(``mesa.batch_run`` forces the global start method to "spawn"). The measurements are
interleaved - each repeat runs every method once, in a rotated order - and medians over the
repeats are reported, with ratios taken within each repeat. Every method's per-run outcomes
are hashed, so the table also says whether all of them made the same runs with the same results.

    .venv/bin/python benchmarks/bench_sweep.py [--replicates N] [--repeats K] [--skip-ema]
        [--skip-batch-run] [--skip-dask] [--quiet-wait S] [--retries N] [--budget MIN]

Other processes on a shared machine distort parallel timings: before each measurement the script
waits briefly for idle cores, estimates how many cores other processes used during it, measures
again when that was 0.3 or more (``--retries``, within ``--budget`` minutes) and flags the
ratios that stayed disturbed. With the defaults (4 x 150 = 600 runs of ~30 ms, 3 repeats) it
takes about 6 minutes on an idle 2-core machine and up to about 10 on a busy one. EMA Workbench
is optional: ``.venv/bin/pip install -e '.[bench]'`` (tested with ema_workbench 3.0).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import importlib.util
import json
import logging
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

# Imported at the top on purpose: worker processes started with "spawn" or "forkserver" import
# this file as __mp_main__, and they need the model anyway. Nothing runs at import time.
import mesa

from peacesim.experiment import OUTCOME_KEYS, Experiment, experiment_from_dict
from peacesim.model import PeaceModel
from peacesim.records import PHASE_LABELS, build_outcome

FACTOR = "handover_quality"
LEVELS = [0.1, 0.4, 0.7, 1.0]
MASTER_SEED = 20260517
WORKERS = 2
DISTURBED = 0.3  # cores used by other processes during a measurement from which it counts as disturbed
METHODS = ("plain", "ceiling", "serial", "processes", "dask", "batch_run", "ema")
LABELS = {
    "plain": "plain loop (1 process)",
    "ceiling": "2 plain loops at once",
    "serial": "peacesim serial",
    "processes": "peacesim processes",
    "dask": "peacesim dask",
    "batch_run": "mesa.batch_run",
    "ema": "EMA MultiprocessingEvaluator",
}


def experiment_dict(replicates: int, levels: int = len(LEVELS)) -> dict:
    return {
        "experiment": {"name": "bench_sweep", "scenario": "reference", "replicates": replicates,
                       "master_seed": MASTER_SEED, "keep_series": False},
        "vary": {FACTOR: LEVELS[:levels]},
    }


def make_experiment(replicates: int, levels: int = len(LEVELS)) -> Experiment:
    return experiment_from_dict(experiment_dict(replicates, levels), where="<bench_sweep>")


@functools.cache
def base_scenario():
    """The experiment's base scenario (with its fixed overrides), built once per process."""
    return make_experiment(1).base()


# ----------------------------------------------------------------------------- result digest
def _norm(key: str, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if key == "final_phase":
        return str(value)
    if isinstance(value, float):  # parquet holds integer outcomes with gaps as floats
        value = round(value, 9)
        return int(value) if value.is_integer() else value
    return int(value)


def digest(rows) -> str:
    """Order-free hash of (factor value, seed, every outcome) over all runs."""
    lines = sorted(
        json.dumps([round(float(level), 9), int(seed)] + [_norm(k, out[k]) for k in OUTCOME_KEYS])
        for level, seed, out in rows
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- the methods
def _plain_loop(exp: Experiment, share: int = 0, shares: int = 1) -> list:
    """Every ``shares``-th run of the experiment, starting at ``share``, in this process."""
    base = exp.base()
    results = []
    i = 0
    for point in exp.design:
        scen = base.with_overrides(point).cast()
        for r in range(exp.replicates):
            if i % shares == share:
                seed = exp.seeds[r]
                model = PeaceModel(scen, rng=seed)
                model.run()
                results.append((point[FACTOR], seed, build_outcome(model), list(model.episodes)))
            i += 1
    return results


def measure_plain(exp: Experiment, tmp: Path):
    t0 = time.perf_counter()
    results = _plain_loop(exp)
    seconds = time.perf_counter() - t0
    return seconds, digest((level, seed, out) for level, seed, out, _ in results)


def measure_ceiling(exp: Experiment, tmp: Path):
    """What 2 cores give without any runner: the plain loop forked into WORKERS processes, each
    doing every WORKERS-th run, results sent back once at the end. No tool can do better; the
    gap to 2x is what the machine itself loses when both cores work (shared caches, memory,
    clock speed, neighbours on a virtual machine)."""
    import pickle

    t0 = time.perf_counter()
    children = []
    for k in range(WORKERS):
        r, w = os.pipe()
        with warnings.catch_warnings():  # about the native threads of OpenBLAS and pyarrow's allocator
            warnings.filterwarnings("ignore", message=r".*is multi-threaded", category=DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: its share of the runs, then its results through the pipe
            os.close(r)
            rows = [(level, seed, out) for level, seed, out, _ in _plain_loop(exp, k, WORKERS)]
            with os.fdopen(w, "wb") as f:
                f.write(pickle.dumps(rows))
            os._exit(0)
        os.close(w)
        children.append((pid, r))
    rows = []
    for pid, r in children:
        with os.fdopen(r, "rb") as f:
            rows += pickle.loads(f.read())
        os.waitpid(pid, 0)
    seconds = time.perf_counter() - t0
    if len(rows) != exp.n_runs:
        raise RuntimeError(f"the forked loops returned {len(rows)} of {exp.n_runs} runs")
    return seconds, digest(rows)


def _measure_runner(exp: Experiment, tmp: Path, executor: str):
    import pandas as pd

    from peacesim.sweep import run_experiment

    if executor == "dask":
        import dask.distributed  # noqa: F401  (imported here, untimed, like every other tool's imports)

    t0 = time.perf_counter()
    res = run_experiment(exp, executor=executor, workers=None if executor == "serial" else WORKERS,
                         out=tmp / "out", progress=False, fresh=True)
    seconds = time.perf_counter() - t0
    runs = pd.read_parquet(tmp / "out" / "runs.parquet")
    if res.failed or len(runs) != exp.n_runs:
        raise RuntimeError(f"{res.failed} runs failed, {len(runs)} of {exp.n_runs} stored")
    rows = runs.to_dict("records")
    PHASES.update(getattr(res, "timings", {}))
    return seconds, digest((r[FACTOR], r["seed"], r) for r in rows)


PHASES: dict[str, float] = {}  # the runner's SweepResult.timings of the last measurement in this process


def measure_serial(exp, tmp):
    return _measure_runner(exp, tmp, "serial")


def measure_processes(exp, tmp):
    return _measure_runner(exp, tmp, "processes")


def measure_dask(exp, tmp):
    return _measure_runner(exp, tmp, "dask")


class BatchPeaceModel(PeaceModel):
    """PeaceModel for ``mesa.batch_run``: scenario overrides as keyword parameters, the seed as
    ``rng``, and a DataCollector that collects the per-run outcome (and episodes) once, after the
    last month - the same work as the plain loop."""

    def __init__(self, rng=None, **overrides):
        super().__init__(base_scenario().with_overrides(overrides).cast(), rng=rng)
        self._outcome: dict = {}
        reporters = {k: functools.partial(_outcome_value, k) for k in OUTCOME_KEYS}
        reporters["episodes"] = functools.partial(_outcome_value, "episodes")
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    def step(self) -> None:
        super().step()
        if not self.running and not self._outcome:  # the horizon: the agreement in force is censored
            self._outcome = {**build_outcome(self), "episodes": list(self.episodes)}
            self.datacollector.collect(self)


def _outcome_value(key, model):
    return model._outcome[key]


def measure_batch_run(exp: Experiment, tmp: Path):
    from mesa.batchrunner import batch_run

    if exp.fixed or exp.months is not None or any(len(f.parameters) != 1 for f in exp.factors):
        raise RuntimeError("the batch_run wrapper handles a full factorial of single parameters only")
    params = {f.parameters[0]: [v[0] for v in f.values] for f in exp.factors}
    t0 = time.perf_counter()
    rows = batch_run(BatchPeaceModel, parameters=params, rng=list(exp.seeds), number_processes=WORKERS,
                     max_steps=base_scenario().params["months"], data_collection_period=-1,
                     display_progress=False)
    seconds = time.perf_counter() - t0
    if len(rows) != exp.n_runs:
        raise RuntimeError(f"batch_run returned {len(rows)} rows for {exp.n_runs} runs")
    return seconds, digest((r[FACTOR], r["rng"], r) for r in rows)


def ema_function(handover_quality: float, seed: int) -> dict:
    """The model as EMA Workbench's function model: parameters in, outcome dict out."""
    model = PeaceModel(base_scenario().with_overrides({FACTOR: handover_quality}).cast(), rng=int(seed))
    model.run()
    out = build_outcome(model)
    _episodes = list(model.episodes)  # the same work; EMA keeps scalar outcomes only
    out["final_phase"] = PHASE_LABELS.index(out["final_phase"])  # ScalarOutcome needs a number
    first = out["months_to_first_agreement"]
    out["months_to_first_agreement"] = math.nan if first is None else float(first)
    return out


def measure_ema(exp: Experiment, tmp: Path):
    from ema_workbench import (IntegerParameter, Model, MultiprocessingEvaluator, RealParameter, ScalarOutcome,
                               ema_logging)

    try:
        from ema_workbench import Sample  # 3.x
    except ImportError:  # 2.x calls a point in parameter space a Scenario
        from ema_workbench import Scenario as Sample

    ema_logging.log_to_stderr(logging.WARNING)
    model = Model("peacesim", function=ema_function)
    model.uncertainties = [RealParameter(FACTOR, 0.0, 1.0), IntegerParameter("seed", 0, 2**63 - 1)]
    model.outcomes = [ScalarOutcome(k) for k in OUTCOME_KEYS]
    samples = [Sample(**{FACTOR: s.values[FACTOR], "seed": s.seed}) for s in exp.runs()]
    t0 = time.perf_counter()
    with MultiprocessingEvaluator(model, n_processes=WORKERS) as evaluator:
        experiments, outcomes = evaluator.perform_experiments(scenarios=samples)
    seconds = time.perf_counter() - t0
    if len(experiments) != exp.n_runs:
        raise RuntimeError(f"EMA returned {len(experiments)} experiments for {exp.n_runs} runs")
    rows = []
    for i, (level, seed) in enumerate(zip(experiments[FACTOR], experiments["seed"])):
        out = {k: outcomes[k][i] for k in OUTCOME_KEYS}
        out["final_phase"] = PHASE_LABELS[int(out["final_phase"])]
        rows.append((level, seed, out))
    return seconds, digest(rows)


MEASURE = {"plain": measure_plain, "ceiling": measure_ceiling, "serial": measure_serial, "processes": measure_processes,
           "dask": measure_dask, "batch_run": measure_batch_run, "ema": measure_ema}


def child(method: str, replicates: int, fixed_runs: int = 0) -> None:
    """One measurement in this (fresh) process; prints one JSON line. With ``fixed_runs``, a small
    sweep of that many runs (2 design points) for the fixed costs, after a plain loop over the same
    runs in this process (what the runs themselves take)."""
    exp = make_experiment(replicates) if not fixed_runs else make_experiment(max(1, fixed_runs // 2), levels=2)
    tmp = Path(tempfile.mkdtemp(prefix=f"bench_sweep_{method}_"))
    plain = None
    try:
        if fixed_runs:
            plain, _ = measure_plain(exp, tmp)
        seconds, dig = MEASURE[method](exp, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"method": method, "seconds": seconds, "runs": exp.n_runs, "digest": dig, "plain": plain,
                      "timings": PHASES}), flush=True)


# ----------------------------------------------------------------------------- the parent
def _busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (all cores), or None without psutil."""
    try:
        import psutil
    except ImportError:
        return None
    t = psutil.cpu_times()
    return t.user + t.nice + t.system + getattr(t, "irq", 0.0) + getattr(t, "softirq", 0.0) + getattr(t, "steal", 0.0)


def _sample_tree(pid: int, seen: dict) -> None:
    """Record the CPU seconds of a process and all its descendants (last value seen per process)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return
    for p in procs:
        try:
            t = p.cpu_times()
            seen[(p.pid, p.create_time())] = t.user + t.system
        except psutil.Error:
            pass


def others_load(seconds: float = 1.0) -> float | None:
    """Cores kept busy by other processes over the next ``seconds`` (this script idles meanwhile)."""
    b0 = _busy_seconds()
    time.sleep(seconds)
    b1 = _busy_seconds()
    return None if b0 is None or b1 is None else max(0.0, (b1 - b0) / seconds)


def wait_for_quiet(max_wait: float, threshold: float = DISTURBED) -> float:
    """Wait (up to ``max_wait`` seconds) until other processes use less than ``threshold`` cores."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        load = others_load(1.0)
        if load is None or load < threshold:
            break
    return time.perf_counter() - t0


def run_child(method: str, replicates: int, timeout: float, fixed_runs: int = 0) -> dict:
    """Run one measurement in a fresh process; also estimate the CPU other processes used meanwhile
    (machine-wide busy CPU minus the measurement's own process tree, sampled with psutil)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--child", method, "--replicates", str(replicates)]
    if fixed_runs:
        cmd += ["--fixed-runs", str(fixed_runs)]
    have_psutil = _busy_seconds() is not None
    seen: dict = {}
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0, b0 = time.perf_counter(), _busy_seconds()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, start_new_session=True)
        while proc.poll() is None:
            if have_psutil:
                _sample_tree(proc.pid, seen)
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, 9)  # the measurement's own process group (it started in a new session)
                proc.wait()
                return {"method": method, "error": f"no result within {timeout:.0f} s (stopped)"}
            time.sleep(0.2)
        wall, b1 = time.perf_counter() - t0, _busy_seconds()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            if have_psutil and b0 is not None and b1 is not None:
                result["others"] = max(0.0, (b1 - b0 - sum(seen.values())) / wall)
            return result
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    tail = " | ".join(ln.strip() for ln in lines[-3:]) if lines else f"exit code {proc.returncode}, no output"
    return {"method": method, "error": tail}


def machine() -> str:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{os.cpu_count()} logical cores ({usable} usable), {cpu}; {platform.platform()}; "
            f"Python {platform.python_version()}")


def versions() -> str:
    from importlib import metadata

    out = []
    for pkg in ("peacesim", "mesa", "dask", "distributed", "ema_workbench"):
        try:
            out.append(f"{pkg} {metadata.version(pkg)}")
        except metadata.PackageNotFoundError:
            out.append(f"{pkg} (not installed)")
    return ", ".join(out)


def median(xs):
    return statistics.median(xs) if xs else math.nan


PHASE_ORDER = ("pool start", "open", "runs", "writing parts", "merge", "finish", "pool stop")


def print_phases(phases: dict[str, list[dict[str, float]]], n_runs: int) -> None:
    """Where the runner's time went (SweepResult.timings), medians over the repeats."""
    if not phases:
        return
    print()
    print(f"Where the runner's time goes, {n_runs} runs (seconds, medians over the repeats; 'writing parts' is")
    print("the part of 'runs' this process spent writing the batches that came back):")
    print(f"  {'method':<22}" + "".join(f"{p:>15}" for p in PHASE_ORDER) + f"{'besides runs':>15}")
    for m, ts in phases.items():
        row = {p: median([t.get(p, 0.0) for t in ts]) for p in PHASE_ORDER}
        besides = median([sum(v for k, v in t.items() if k not in ("runs", "writing parts")) for t in ts])
        print(f"  {LABELS[m]:<22}" + "".join(f"{row[p]:>15.3f}" for p in PHASE_ORDER) + f"{besides:>15.3f}")


FIXED_SIZES = (2, 10)


def fixed_costs(methods: list[str], args, problems: dict[str, str]) -> float:
    """What a sweep costs besides its runs: sweeps of 2 and 10 runs (2 design points), each in a fresh
    process after a plain loop over the same runs there; the fixed cost is the sweep's time minus
    the plain loop's divided by the processes that share the runs (1 serial, else min(2, runs)).
    Returns the seconds spent waiting for a quiet machine."""
    cases = [(m, n) for n in FIXED_SIZES for m in methods]
    got: dict[tuple[str, int], list[dict]] = {c: [] for c in cases}
    waited = 0.0
    print()
    print(f"fixed costs: sweeps of {' and '.join(map(str, FIXED_SIZES))} runs, {args.fixed_repeats} repeats, "
          "interleaved ...", flush=True)
    for rep in range(args.fixed_repeats):
        order = cases[rep % len(cases):] + cases[: rep % len(cases)]
        for m, n in order:
            if args.quiet_wait > 0:
                waited += wait_for_quiet(min(args.quiet_wait, 3.0))
            r = run_child(m, 1, timeout=300, fixed_runs=n)
            if "error" in r:
                problems[f"{m}-fixed"] = f"{LABELS[m]}, fixed cost with {n} runs: {r['error']}"
                continue
            got[(m, n)].append(r)
    print("Fixed costs (seconds; median and min-max over the repeats): 'sweep' is the whole call, 'runs alone'")
    print("the same runs in a plain loop divided by the processes sharing them, 'fixed' the difference; for")
    print("peacesim also the phases outside the runs (pool start + open + merge + finish + pool stop).")
    head = f"  {'method':<30} {'runs':>4} {'sweep':>7} {'runs alone':>10} {'fixed (min-max)':>22} {'outside runs':>13}"
    print(head)
    for (m, n), rs in got.items():
        if not rs:
            continue
        share = 1 if m == "serial" else min(WORKERS, n)
        fixed = [r["seconds"] - r["plain"] / share for r in rs]
        outside = [sum(v for k, v in r["timings"].items() if k not in ("runs", "writing parts"))
                   for r in rs if r.get("timings")]
        out_s = f"{median(outside):13.3f}" if outside else f"{'-':>13}"
        print(f"  {LABELS[m]:<30} {n:>4} {median([r['seconds'] for r in rs]):7.3f} "
              f"{median([r['plain'] / share for r in rs]):10.3f} {median(fixed):7.3f} "
              f"({min(fixed):6.3f} to {max(fixed):6.3f}) {out_s}")
    return waited


def main() -> None:
    doc = __doc__ or "Speed of the experiment runner."
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=150,
                    help=f"replicates per design point ({len(LEVELS)} design points; default 150 = 600 runs)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of every measurement; medians are reported (default 3)")
    ap.add_argument("--skip-ema", action="store_true", help="leave out EMA Workbench")
    ap.add_argument("--skip-batch-run", action="store_true", help="leave out mesa.batch_run")
    ap.add_argument("--skip-dask", action="store_true", help="leave out the dask executor")
    ap.add_argument("--quiet-wait", type=float, default=10.0,
                    help="before each measurement, wait up to this many seconds for other processes to "
                         "leave the cores idle (default 10; 0 to not wait)")
    ap.add_argument("--retries", type=int, default=2,
                    help="measure again (up to this many times) when other processes used 0.3 cores or more "
                         "during a measurement, keeping the least disturbed one (default 2)")
    ap.add_argument("--budget", type=float, default=5.0,
                    help="minutes of measuring after which no more waiting or retrying is done (default 5)")
    ap.add_argument("--fixed-repeats", type=int, default=5,
                    help="repeats of the fixed-cost sweeps (2 and 10 runs; default 5, 0 to leave them out)")
    ap.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    ap.add_argument("--fixed-runs", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.replicates < 1 or args.repeats < 1:
        ap.error("--replicates and --repeats must be at least 1")
    if args.child:
        child(args.child, args.replicates, args.fixed_runs)
        return

    exp = make_experiment(args.replicates)
    n_runs = exp.n_runs
    print(f"machine: {machine()}")
    print(f"versions: {versions()}")
    print(f"experiment: scenario 'reference', {FACTOR} = {LEVELS}, {args.replicates} replicates "
          f"= {n_runs} runs, master seed {MASTER_SEED}; {WORKERS} workers for the parallel methods; "
          f"{args.repeats} repeats, interleaved")
    load = others_load(1.0)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          + (f"; cores busy with other processes now: {load:.2f}" if load is not None else ""))

    methods = [m for m in METHODS
               if not (m == "ema" and args.skip_ema) and not (m == "batch_run" and args.skip_batch_run)
               and not (m == "dask" and args.skip_dask)]
    problems: dict[str, str] = {}
    if "ema" in methods and importlib.util.find_spec("ema_workbench") is None:
        problems["ema"] = ("ema_workbench is not installed in this environment "
                           "(.venv/bin/pip install -e '.[bench]')")
        methods.remove("ema")

    # Warm-up and smoke test: every method once on a small experiment (fills caches, checks it runs).
    warm_reps = 2
    print(f"warm-up: each method once on {len(LEVELS) * warm_reps} runs ...", flush=True)
    for m in list(methods):
        r = run_child(m, warm_reps, timeout=300)
        if "error" in r:
            problems[m] = f"failed on the warm-up: {r['error']}"
            methods.remove(m)

    times: dict[str, list[float]] = {m: [] for m in methods}
    others: dict[str, list[float]] = {m: [] for m in methods}
    digests: dict[str, set[str]] = {m: set() for m in methods}
    per_repeat: list[dict[str, float]] = []
    per_repeat_others: list[dict[str, float]] = []
    phases: dict[str, list[dict[str, float]]] = {}
    waited = 0.0
    retried = 0
    t_all = time.perf_counter()
    timeout = 600.0  # per measurement; tightened to 10x the plain loop once that is known
    for rep in range(args.repeats):
        order = methods[rep % len(methods):] + methods[: rep % len(methods)]
        this: dict[str, float] = {}
        this_others: dict[str, float] = {}
        for m in order:
            r: dict = {}
            for attempt in range(1 + max(0, args.retries)):
                in_budget = time.perf_counter() - t_all < 60 * args.budget
                if args.quiet_wait > 0 and in_budget:
                    waited += wait_for_quiet(args.quiet_wait)
                got = run_child(m, args.replicates, timeout=timeout)
                if "error" in got:
                    r = got
                    break
                if not r or got.get("others", 0.0) < r.get("others", 0.0):
                    r = got
                if got.get("others", 0.0) < DISTURBED or time.perf_counter() - t_all >= 60 * args.budget:
                    break
                retried += 1
            if "error" in r:
                problems[m] = f"failed in repeat {rep + 1}: {r['error']}"
                continue
            times[m].append(r["seconds"])
            digests[m].add(r["digest"])
            if r.get("timings"):
                phases.setdefault(m, []).append(r["timings"])
            this[m] = r["seconds"]
            if "others" in r:
                others[m].append(r["others"])
                this_others[m] = r["others"]
            if m == "plain":
                timeout = max(120.0, 10 * r["seconds"])
        per_repeat.append(this)
        per_repeat_others.append(this_others)
        print(f"repeat {rep + 1}/{args.repeats}: "
              + ", ".join(f"{m} {this[m]:.2f}s" + (f" (others {this_others[m]:.2f})" if m in this_others else "")
                          for m in order if m in this), flush=True)
    wall = time.perf_counter() - t_all

    def quiet(rep: int, m: str) -> bool:
        o = per_repeat_others[rep].get(m)
        return o is None or o < DISTURBED

    def ratios(num: str, den: str) -> tuple[list[float], bool]:
        """Per-repeat ratios num/den from the repeats where neither was disturbed (True), else from all."""
        both = [i for i, p in enumerate(per_repeat) if num in p and den in p]
        calm = [i for i in both if quiet(i, num) and quiet(i, den)]
        use = calm or both
        return [per_repeat[i][num] / per_repeat[i][den] for i in use], bool(calm)

    ref_digest = next(iter(digests.get("plain", set())), None)
    print()
    print(f"Results: {n_runs} runs of the reference scenario. 'quiet' = the measurements during which other")
    print(f"processes used < {DISTURBED} cores (n of them, their median); 'all' = median (min-max) of every repeat;")
    print("'others' = median cores used by other processes during the measurements.")
    head = (f"{'method':<30} {'procs':>5} {'quiet n':>7} {'quiet s':>8} {'runs/s':>7} "
            f"{'all s (min-max)':>22} {'others':>6}  {'same runs & outcomes'}")
    print(head)
    print("-" * len(head))
    for m in METHODS:
        if not times.get(m):
            continue
        ts = times[m]
        qs = [p[m] for i, p in enumerate(per_repeat) if m in p and quiet(i, m)]
        procs = 1 if m in ("plain", "serial") else WORKERS
        same = ("reference" if m == "plain" else
                "yes" if ref_digest and digests[m] == {ref_digest} else
                f"NO ({', '.join(sorted(digests[m]))} vs {ref_digest})")
        oth = f"{median(others[m]):.2f}" if others[m] else "?"
        q_s = f"{median(qs):8.2f} {n_runs / median(qs):7.1f}" if qs else f"{'-':>8} {'-':>7}"
        print(f"{LABELS[m]:<30} {procs:>5} {len(qs):>7} {q_s} "
              f"{median(ts):>7.2f} ({min(ts):6.2f}-{max(ts):6.2f}) {oth:>6}  {same}")
    print()
    print("Ratios: median of the per-repeat ratios (min to max, n repeats), from the repeats in which neither")
    print("measurement was disturbed by other processes; from all repeats, and flagged, when there was none.")

    def line(text: str, num: str, den: str, *, fmt: str = "{:.2f}x", shift: float = 0.0,
             target: str = "", ok=None) -> None:
        rs, calm = ratios(num, den)
        rs = [x + shift for x in rs]
        if not rs:
            return
        med = median(rs)
        verdict = ""
        if ok is not None:
            verdict = f"  {target}: " + ("meets target" if ok(med) else "MISSES target")
        if not calm:
            verdict += "  (UNRELIABLE: other processes were using the cores in every repeat)"
        spread = f" ({fmt.format(min(rs))} to {fmt.format(max(rs))}, n={len(rs)})" if len(rs) > 1 else " (n=1)"
        print(f"  {text:<56} {fmt.format(med):>7}{spread}{verdict}")

    line("runner overhead: serial runner vs plain loop", "serial", "plain", fmt="{:+.1%}", shift=-1.0,
         target="target < +5%", ok=lambda x: x < 0.05)
    line(f"speed-up: peacesim processes ({WORKERS}) vs serial runner", "serial", "processes",
         target="target >= 1.85x", ok=lambda x: x >= 1.85)
    line(f"speed-up: peacesim dask ({WORKERS}) vs serial runner", "serial", "dask",
         target="target >= 1.85x", ok=lambda x: x >= 1.85)
    line(f"speed-up: {WORKERS} plain loops at once vs plain loop (the machine's ceiling)", "plain", "ceiling")
    line(f"speed-up: peacesim processes ({WORKERS}) vs plain loop", "plain", "processes")
    line(f"speed-up: mesa.batch_run ({WORKERS}) vs plain loop", "plain", "batch_run")
    line(f"speed-up: EMA MultiprocessingEvaluator ({WORKERS}) vs plain loop", "plain", "ema")
    line("runs/s peacesim processes / the ceiling", "ceiling", "processes")
    line("runs/s mesa.batch_run / the ceiling", "ceiling", "batch_run")
    line("runs/s EMA / the ceiling", "ceiling", "ema")
    line("runs/s peacesim processes / mesa.batch_run", "batch_run", "processes")
    line("runs/s peacesim processes / EMA", "ema", "processes")
    line("runs/s peacesim dask / mesa.batch_run", "batch_run", "dask")
    line("runs/s peacesim dask / EMA", "ema", "dask")

    print_phases(phases, n_runs)
    if args.fixed_repeats > 0:
        waited += fixed_costs([m for m in ("serial", "processes", "dask", "ema") if m in methods], args, problems)

    print()
    print("Notes")
    print("  - Each measurement runs in a fresh process; its time excludes interpreter start and imports but")
    print("    includes starting and stopping the tool's worker pool: peacesim 'processes' a pool of forked")
    print("    workers (this process is single-threaded; see peacesim.sweep.start_method), dask a LocalCluster,")
    print("    mesa.batch_run a 'spawn' Pool (it forces 'spawn'), EMA a default-context Pool ('fork' on Linux,")
    print("    Python 3.12); for the peacesim runner also writing the parts, merging them into parquet tables")
    print("    and writing the manifest.")
    print("  - The plain loop keeps the outcomes and episodes in memory and writes nothing.")
    print("  - mesa.batch_run runs a PeaceModel subclass (overrides as keywords, seed as rng) whose DataCollector")
    print("    collects build_outcome() and the episodes once, after the last month. EMA runs a function")
    print("    f(handover_quality, seed) returning build_outcome() with final_phase as its index and a missing")
    print("    months_to_first_agreement as NaN (ScalarOutcome takes numbers only); it builds the episodes")
    print("    list but cannot return it as a scalar outcome.")
    print("  - 'others' is machine-wide busy CPU minus the measurement's own processes (sampled every 0.2 s);")
    print("    on this shared machine a parallel measurement that had to share its cores runs slower, so")
    print(f"    a measurement during which they used {DISTURBED} cores or more is taken again (--retries) and the")
    print("    least disturbed one kept.")
    if any(digests[m] - {ref_digest} for m in digests if m != "plain") or len(digests.get("plain", ())) > 1:
        print("  - Some methods produced other outcomes than the plain loop for the same runs: if the peacesim")
        print("    sources were edited while this ran, measure again on a fixed copy of the code.")
    for m, why in problems.items():
        label = LABELS.get(m, m)
        print(f"  - {label}: NOT MEASURED ({why})" if not times.get(m) else f"  - {label}: {why}")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; measuring took "
          f"{wall / 60:.1f} min, of which {waited:.0f} s waiting for the machine to be quiet; "
          f"{retried} measurement(s) taken again because other processes disturbed them")


if __name__ == "__main__":
    main()
