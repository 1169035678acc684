"""The size budget: how big a scenario, a design and a sweep may be, checked before the first run.

A typo can ask for a million local mechanisms (a trust matrix of 7 TiB), a range of ten million
steps, or a sweep whose merged tables do not fit in memory. Each is refused up front with one line
that gives the size asked for and the limit, instead of running for minutes and then failing.
The limits are far above what the model is meant for (DESIGN.md section 2: tens of actors, "stay
correct and fast at 10x that").
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from .experiment import Experiment
    from .scenario import Scenario

__all__ = ["MAX_ACTORS", "MAX_LEVELS", "MAX_DESIGN_POINTS", "MAX_RUNS", "actor_count", "check_scenario",
           "check_levels", "check_design_points", "check_runs", "check_memory", "run_bytes", "merge_bytes",
           "physical_memory"]

#: Actors in one run, each local mechanism counted (the trust matrix is actors x actors).
MAX_ACTORS = 2_000
#: Values of one factor (a range's steps).
MAX_LEVELS = 10_000
#: Design points of one experiment (each is validated before the first run, about 1 ms each).
MAX_DESIGN_POINTS = 20_000
#: Runs of one experiment (design points x replicates).
MAX_RUNS = 2_000_000
#: Share of the machine's memory a sweep may expect to use.
MEMORY_SHARE = 0.8
#: Runs of the largest batch a sweep hands out (peacesim.sweep sizes batches to about a second).
MAX_BATCH_RUNS = 1000

_SERIES_BASE_COLUMNS = 17  # month, phase and the model-wide series (records.Recorder.BASE)
_SERIES_PER_PARTY = 4


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def actor_count(scen: Scenario) -> int:
    """Actors of a run: parties, spoilers, mediators (as ``mediators`` casts them), diplomats and
    every local mechanism."""
    a = scen.actors
    mediators = scen.params.get("mediators") or len(a["mediator"])
    return (len(a["party"]) + len(a["spoiler"]) + mediators + len(a["diplomat"])
            + sum(int(x.get("count", 1)) for x in a["local"]))


def run_bytes(scen: Scenario) -> int:
    """Memory one run needs, roughly: the trust matrix and its temporaries, and the monthly series."""
    n = actor_count(scen)
    months = int(scen.params.get("months", 240))
    parties = len(scen.actors["party"])
    return 8 * (4 * n * n + months * (_SERIES_BASE_COLUMNS + _SERIES_PER_PARTY * parties)) + 50 * 2**20


def check_scenario(scen: Scenario, *, where: str) -> None:
    """Refuse a scenario with more actors than :data:`MAX_ACTORS`."""
    n = actor_count(scen)
    if n > MAX_ACTORS:
        raise InputError(f"{where}: the scenario has {n:,} actors (local mechanisms counted one by one); at most "
                         f"{MAX_ACTORS:,} are allowed (its trust matrix alone would take {_size(8.0 * n * n)})")


def check_levels(n: int, *, where: str) -> None:
    if n > MAX_LEVELS:
        raise InputError(f"{where}: {n:,} values; at most {MAX_LEVELS:,} are allowed for one factor")


def check_design_points(n: int, *, where: str) -> None:
    if n > MAX_DESIGN_POINTS:
        raise InputError(f"{where}: the design has {n:,} design points; at most {MAX_DESIGN_POINTS:,} are allowed "
                         "(each is checked before the first run)")


def check_runs(n_points: int, replicates: int, *, where: str) -> None:
    n = n_points * replicates
    if n > MAX_RUNS:
        raise InputError(f"{where}: {n_points:,} design points x {replicates:,} replicates = {n:,} runs; at most "
                         f"{MAX_RUNS:,} runs are allowed in one experiment (split it into several)")


def physical_memory() -> int | None:
    """Bytes of memory this process may use: the machine's, or the limit of its container (cgroup)
    where that is lower; None where the system does not say."""
    try:
        mem = int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None
    for limit in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit, encoding="ascii") as fh:
                text = fh.read().strip()
        except OSError:
            continue
        if text.isdigit() and 0 < int(text) < mem:
            mem = int(text)
        break
    return mem


def merge_bytes(exp: Experiment) -> int:
    """Memory the merge of the finished parts into the final tables needs, roughly.

    The merge is streamed (:mod:`peacesim.merge`): it holds a part or two (a batch has at most
    :data:`MAX_BATCH_RUNS` runs), a row group of each table being written and a few integers per
    run, whatever the number of runs."""
    from .merge import ROW_GROUP_BYTES

    scen = exp.base()
    per_run = (8 + len(exp.columns) + len(exp.outcomes)) * 8
    per_run += 3 * (25 + len(exp.columns)) * 8  # episodes: a few agreements per run
    if exp.keep_series:
        months = int(scen.params.get("months", 240))
        parties = len(scen.actors["party"])
        per_run += months * (3 + len(exp.columns) + _SERIES_BASE_COLUMNS + _SERIES_PER_PARTY * parties) * 8
    part = min(exp.n_runs, MAX_BATCH_RUNS) * per_run
    # a part received and one read back, the row groups (about 4x their size while encoded),
    # ~200 bytes of bookkeeping per run, and Arrow's and the interpreter's own
    return 2 * part + 6 * ROW_GROUP_BYTES + 200 * exp.n_runs + 64 * 2**20


def check_memory(exp: Experiment, workers: int, *, local_workers: bool = True, where: str = "") -> None:
    """Refuse a sweep whose runs (``workers`` at a time on this machine) or whose merge are expected to
    need more than :data:`MEMORY_SHARE` of this machine's memory."""
    mem = physical_memory()
    if mem is None:
        return
    limit = MEMORY_SHARE * mem
    where = f"{where}: " if where else ""
    merge = merge_bytes(exp)
    if merge > limit:
        hint = "; set keep_series = false or split the experiment" if exp.keep_series else "; split the experiment"
        raise InputError(f"{where}{exp.n_runs:,} runs would need about {_size(merge)} of memory to merge their "
                         f"tables; this machine has {_size(mem)} and a sweep may use at most {_size(limit)}{hint}")
    if local_workers:
        per_run = run_bytes(exp.base())
        need = per_run * max(1, workers)
        if need > limit:
            raise InputError(f"{where}{workers} workers would need about {_size(need)} of memory ({_size(per_run)} "
                             f"per run); this machine has {_size(mem)} and a sweep may use at most {_size(limit)}; "
                             "use fewer --workers")
