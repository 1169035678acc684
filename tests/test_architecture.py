"""The shape of the package: module-level imports form no cycle, the layers import forward only
(scenario -> model -> records -> result -> narrative and figures; design -> execution -> analysis),
and the commands that do not run the model do not import it (nor pandas, SciPy, matplotlib, Dask)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import peacesim

PACKAGE = Path(peacesim.__file__).parent


def module_imports() -> dict[str, set[str]]:
    """For every module, the package modules it imports when it is imported (not inside functions,
    not under TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.glob("*.py"):
        name = path.stem
        deps: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            for sub in ast.walk(node) if isinstance(node, (ast.If, ast.Try)) else [node]:
                if isinstance(sub, ast.ImportFrom) and sub.level == 1:
                    if sub.module:
                        deps.add(sub.module.split(".")[0])
                    else:
                        deps.update(a.name for a in sub.names)
        graph[name] = deps - {name}
    return graph


def test_module_imports_form_no_cycle():
    graph = module_imports()
    state: dict[str, int] = {}
    cycles = []

    def visit(n, path):
        state[n] = 1
        for m in sorted(graph.get(n, ())):
            if state.get(m) == 1:
                cycles.append(path[path.index(m):] + [m] if m in path else [n, m])
            elif state.get(m) is None:
                visit(m, path + [m])
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n, [n])
    assert not cycles, f"import cycles: {cycles}"


def test_layers_import_forward_only():
    graph = module_imports()
    # what reads the model's results never reaches back into the model
    for reader in ("records", "result", "narrative", "plotting", "output", "events"):
        assert "model" not in graph[reader], reader
    assert graph["narrative"] <= {"events"}, graph["narrative"]
    assert "narrative" not in graph["records"] and "narrative" not in graph["result"]
    # the model does no I/O, plotting or analysis
    for part in ("model", "agents", "agreement", "negotiation", "tables", "trust", "funding", "spoilers",
                 "local_mechanisms", "streams", "rules"):
        assert not graph[part] & {"output", "plotting", "sweep", "analysis", "sweep_plots", "cli", "narrative"}, part
    # design does not import execution; execution does not import analysis
    assert "sweep" not in graph["experiment"]
    assert not graph["sweep"] & {"analysis", "sweep_plots", "validation"}


def all_imports(name: str) -> set[str]:
    """Every package module ``name`` imports anywhere: in functions and for type checking too."""
    deps = set()
    for sub in ast.walk(ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))):
        if isinstance(sub, ast.ImportFrom) and sub.level == 1:
            deps.update([sub.module.split(".")[0]] if sub.module else [a.name for a in sub.names])
    return deps - {name}


def test_the_narrative_and_the_records_do_not_import_each_other_even_lazily():
    assert all_imports("narrative") <= {"events"}, all_imports("narrative")
    assert not all_imports("records") & {"narrative", "result", "plotting", "output"}
    assert not all_imports("events") & {"narrative", "records", "result", "model"}


def test_the_model_digest_covers_every_module_a_run_depends_on():
    """Results of another model version are not resumed: the digest must see every module that
    simulate.run_scenario imports, directly or not."""
    from peacesim.sweep import _MODEL_FILES

    graph = module_imports()
    needed, todo = set(), ["simulate"]
    while todo:
        n = todo.pop()
        if n not in needed:
            needed.add(n)
            todo.extend(graph.get(n, ()))
    assert {f"{n}.py" for n in needed} <= set(_MODEL_FILES), sorted({f"{n}.py" for n in needed} - set(_MODEL_FILES))


# ---------------------------------------------------------------------------------------------
# Start-up: commands that do not run the model import none of the heavy libraries
# ---------------------------------------------------------------------------------------------
#: Libraries a command that does not run the model must not import: together they take about 2 s
#: to import (Mesa alone pulls in pandas, SciPy and networkx). numpy is here too: nothing that
#: only reads scenarios and the registry needs it. (Speed itself is measured in
#: benchmarks/bench_startup.py, never in the tests.)
HEAVY = ("mesa", "pandas", "numpy", "scipy", "matplotlib", "dask", "distributed", "lifelines", "SALib", "tqdm",
         "pyarrow", "networkx")

# Run in a fresh interpreter: import peacesim, then run ``main(argv)`` (if argv is not null) with
# its output swallowed; print the exit status and which heavy libraries ended up in sys.modules.
_PROBE = """
import contextlib, io, json, sys
argv, heavy = json.loads(sys.argv[1]), json.loads(sys.argv[2])
import peacesim
status = None
if argv is not None:
    from peacesim.cli import main
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            status = main(argv)
        except SystemExit as exc:  # --help, --version and argparse's own errors
            status = exc.code
print(json.dumps({"status": status, "imported": sorted({m.split('.')[0] for m in sys.modules} & set(heavy))}))
"""


def probe(argv: list[str] | None, cwd: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argv), json.dumps(HEAVY)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])


@pytest.mark.parametrize(("argv", "status"), [
    (None, None),  # import peacesim alone
    (["--help"], 0),
    (["--version"], 0),
    (["scenarios"], 0),
    (["params"], 0),
    (["params", "--group", "funding"], 0),
    (["show", "reference"], 0),
    (["interventions"], 0),
    (["interventions", "rotate"], 0),
    (["run", "--help"], 0),
    (["sweep", "--help"], 0),
    (["validate", "--help"], 0),
    # bad input is refused before anything heavy is imported
    (["nosuch"], 2),
    (["show", "nosuch"], 2),
    (["params", "--group", "nosuch"], 2),
    (["interventions", "nosuch"], 2),
    (["run", "nosuch"], 2),
    (["run", "reference", "--seed", "x"], 2),
    (["run", "reference", "--set", "nosuch=1"], 2),
    (["run", "reference", "--intervene", "5:nosuch"], 2),
], ids=lambda x: " ".join(x) if isinstance(x, list) else repr(x))
def test_a_command_that_does_not_run_the_model_imports_no_heavy_library(argv, status, tmp_path):
    got = probe(argv, tmp_path)
    assert got["status"] == status, got
    assert got["imported"] == [], f"{argv} imported {got['imported']}"
    assert list(tmp_path.iterdir()) == []  # and wrote nothing


def test_the_probe_sees_heavy_imports_and_a_run_draws_only_when_asked(tmp_path):
    """The check above can fail: a run imports Mesa (and pandas with it); without its figure it
    does not import matplotlib."""
    got = probe(["run", "reference", "--months", "24", "--no-figure", "--quiet", "--out", str(tmp_path / "r")],
                tmp_path)
    assert got["status"] == 0
    assert {"mesa", "pandas", "numpy"} <= set(got["imported"]), got
    assert "matplotlib" not in got["imported"]
    assert not {"dask", "distributed", "lifelines", "SALib"} & set(got["imported"]), got


def test_the_public_names_are_imported_on_first_use_and_stay_the_same_objects():
    import importlib

    from peacesim import InputError, run_scenario

    assert set(peacesim.__all__) <= set(dir(peacesim))
    for name in peacesim.__all__:
        assert getattr(peacesim, name) is not None
    for name, module in peacesim._EXPORTS.items():
        assert getattr(peacesim, name) is getattr(importlib.import_module(f"peacesim.{module}"), name), name
    assert set(peacesim._EXPORTS) | {"__version__"} == set(peacesim.__all__)
    assert run_scenario is importlib.import_module("peacesim.simulate").run_scenario
    assert InputError is importlib.import_module("peacesim.errors").InputError
    assert peacesim.scenario is importlib.import_module("peacesim.scenario")  # submodules, as before
    with pytest.raises(AttributeError, match="no attribute 'nosuch'"):
        peacesim.nosuch  # noqa: B018
    with pytest.raises(ImportError):
        exec("from peacesim import nosuch", {})
