"""The shape of the package: module-level imports form no cycle, and the layers import forward only
(scenario -> model -> records -> result -> narrative and figures; design -> execution -> analysis)."""

from __future__ import annotations

import ast
from pathlib import Path

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
