"""Start-up time of the ``peacesim`` command (a benchmark, not a test).

Each command runs as a fresh process, the way a user types it, with its output thrown away; the
wall time of the whole process is measured. Commands are interleaved and every repeat rotates
their order, so a burst of load from a neighbour is spread over all of them. The table gives the
median and the range (min-max) over the repeats, the median CPU time (user + system) of the
process, which a busy machine inflates much less than the wall time, and the machine's load
average before and after.

Targets (issue 10): a command that does not run the model (``--help``, ``scenarios``, ``params``,
``show``, ``interventions``, ``COMMAND --help``, their bad-input errors) in under 0.3 s;
``run reference --out DIR`` (a run with all its files and the timeline figure) in under 1.5 s.
Rows marked "floor" are not peacesim commands but what they cannot go below: the interpreter
alone, and the imports a run needs (Mesa, which pulls in pandas, SciPy and networkx, and
matplotlib for the figure).

``--importtime`` adds, from one more run of each command with ``-X importtime``, the time spent
importing and which of the heavy libraries were imported at all.

``--baseline DIR`` measures a second version of the code in the same interleaved repeats: DIR holds
its ``peacesim`` package with ``scenarios/`` and ``experiments/`` beside it, for example::

    mkdir /tmp/before && git archive COMMIT peacesim scenarios experiments | tar -x -C /tmp/before
    .venv/bin/python benchmarks/bench_startup.py --baseline /tmp/before

    .venv/bin/python benchmarks/bench_startup.py [--repeats N] [--importtime] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

LIGHT_TARGET = 0.3
RUN_TARGET = 1.5
HEAVY = ("mesa", "pandas", "scipy", "matplotlib", "dask", "lifelines", "SALib", "tqdm", "pyarrow", "networkx")

# (label, arguments after 'peacesim', target in seconds, exit status); {out} becomes a fresh folder
COMMANDS: list[tuple[str, list[str], float | None, int]] = [
    ("--help", ["--help"], LIGHT_TARGET, 0),
    ("--version", ["--version"], LIGHT_TARGET, 0),
    ("scenarios", ["scenarios"], LIGHT_TARGET, 0),
    ("params", ["params"], LIGHT_TARGET, 0),
    ("show reference", ["show", "reference"], LIGHT_TARGET, 0),
    ("interventions", ["interventions"], LIGHT_TARGET, 0),
    ("run --help", ["run", "--help"], LIGHT_TARGET, 0),
    ("sweep --help", ["sweep", "--help"], LIGHT_TARGET, 0),
    ("show nosuch (error)", ["show", "nosuch"], LIGHT_TARGET, 2),
    ("params --group x (error)", ["params", "--group", "x"], LIGHT_TARGET, 2),
    ("run nosuch (error)", ["run", "nosuch"], LIGHT_TARGET, 2),
    ("run reference --out DIR", ["run", "reference", "--out", "{out}"], RUN_TARGET, 0),
    ("run reference --no-figure", ["run", "reference", "--no-figure", "--out", "{out}"], None, 0),
]

# (label, python -c code): what the commands cannot go below
FLOORS: list[tuple[str, str]] = [
    ("floor: python -c pass", "pass"),
    ("floor: import peacesim", "import peacesim"),
    ("floor: import mesa", "import mesa"),
    ("floor: import mesa, matplotlib.figure", "import mesa, matplotlib.figure"),
]


def peacesim_command() -> list[str]:
    """The installed console script beside this interpreter, else ``python -m peacesim``."""
    script = Path(sys.executable).with_name("peacesim")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "peacesim"]


def environment(pythonpath: str | None, importtime: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if importtime:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    env.setdefault("COLUMNS", "100")
    return env


def argv_for(kind: str, payload: list[str] | str, out: Path) -> list[str]:
    if kind == "floor":
        return [sys.executable, "-c", str(payload)]
    return [*peacesim_command(), *(a.replace("{out}", str(out)) for a in payload)]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed_run(argv: list[str], env: dict[str, str], cwd: Path, status: int) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one process, in seconds; a command that does not
    exit with ``status`` stops the benchmark (a broken command would look fast)."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if proc.returncode != status:
        sys.exit(f"{' '.join(argv)}: exit status {proc.returncode}, expected {status}\n"
                 f"{proc.stderr.decode(errors='replace')}")
    return wall, cpu


def import_profile(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, list[str]]:
    """Seconds spent importing (top-level modules' cumulative times) and the heavy libraries imported."""
    proc = subprocess.run(argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True, check=False)
    total, seen = 0, set()
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        _, cumulative, name = line.split(":", 1)[1].split("|")
        top = name.rstrip()
        if not top.startswith("  "):  # not indented: imported by the program, not by another module
            total += int(cumulative)
        seen.add(top.strip().split(".")[0])
    return total / 1e6, [m for m in HEAVY if m in seen]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10, help="runs of each command; medians reported (default 10)")
    ap.add_argument("--importtime", action="store_true",
                    help="also profile each command's imports once with -X importtime")
    ap.add_argument("--baseline", metavar="DIR", default=None,
                    help="also measure the peacesim package in DIR (put first on PYTHONPATH), interleaved")
    ap.add_argument("--no-floors", action="store_true", help="skip the rows that are not peacesim commands")
    args = ap.parse_args()

    versions = [("this", None)]
    if args.baseline:
        base = Path(args.baseline).resolve()
        if not (base / "peacesim" / "__init__.py").is_file():
            ap.error(f"--baseline {base}: no peacesim package in it")
        versions.insert(0, ("baseline", str(base)))

    jobs = [(label, "peacesim", argv, target, status) for label, argv, target, status in COMMANDS]
    if not args.no_floors:
        jobs += [(label, "floor", code, None, 0) for label, code in FLOORS]
    # the floors do not depend on the version, except the one that imports peacesim
    cases = [(j, v) for j in jobs for v in versions
             if not (j[1] == "floor" and v[0] == "baseline" and "peacesim" not in j[2])]

    times: dict[tuple[str, str], list[tuple[float, float]]] = {(j[0], v[0]): [] for j, v in cases}
    work = Path(tempfile.mkdtemp(prefix="peacesim-bench-startup-"))
    load_before = os.getloadavg()
    started = time.perf_counter()
    try:
        for r in range(args.repeats):
            shift = r % len(cases)
            for (label, kind, payload, _, status), (vname, vpath) in cases[shift:] + cases[:shift]:
                out = work / f"out-{vname}"
                shutil.rmtree(out, ignore_errors=True)
                times[(label, vname)].append(timed_run(argv_for(kind, payload, out), environment(vpath), work, status))
        profiles = {}
        if args.importtime:
            for (label, kind, payload, _, _), (vname, vpath) in cases:
                out = work / f"out-{vname}"
                shutil.rmtree(out, ignore_errors=True)
                argv = argv_for(kind, payload, out)
                profiles[(label, vname)] = import_profile(argv, environment(vpath, importtime=True), work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()

    print(f"peacesim start-up: {platform.python_implementation()} {platform.python_version()}, mesa "
          f"{metadata.version('mesa')}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}")
    print(f"{args.repeats} interleaved repeats of each, fresh processes ({' '.join(peacesim_command())}), "
          f"{time.perf_counter() - started:.0f} s in all")
    print(f"load average (1, 5, 15 min): before {', '.join(f'{x:.2f}' for x in load_before)}; "
          f"after {', '.join(f'{x:.2f}' for x in load_after)}")
    print()
    head = ["command", "version", "median s", "min-max s", "cpu s", "target", "met"]
    if args.importtime:
        head[-1:-1] = ["imports s", "heavy modules imported"]
    rows = []
    for (label, _, _, target, _), (vname, _) in cases:
        ts = [wall for wall, _ in times[(label, vname)]]
        med = statistics.median(ts)
        cpu = statistics.median(c for _, c in times[(label, vname)])
        verdict = "" if target is None else ("yes" if med < target else "no")
        row = [label, vname, f"{med:.3f}", f"{min(ts):.3f}-{max(ts):.3f}", f"{cpu:.3f}",
               "" if target is None else f"< {target:g}", verdict]
        if args.importtime:
            seconds, heavy = profiles[(label, vname)]
            row[-1:-1] = [f"{seconds:.3f}", ", ".join(heavy) or "none"]
        rows.append(row)
    if not args.baseline:
        head.pop(1)
        rows = [[r[0], *r[2:]] for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())


if __name__ == "__main__":
    main()
