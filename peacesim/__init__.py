"""peacesim: agent-based simulation of peace-process dynamics, built on Mesa.

Quick start::

    import peacesim
    result = peacesim.run_scenario("reference", seed=1)
    result.series        # one row per month
    result.episodes      # one row per agreement, with censoring
    result.outcome       # per-run summary
    print("\\n".join(result.narrative()))

The public names are imported on first use (PEP 562), so ``import peacesim`` and the commands
that only read scenarios and the parameter registry do not pay for Mesa, pandas, SciPy and the
sweep machinery (about 2 s); ``from peacesim import run_scenario`` works as before.
"""

import importlib as _importlib
import importlib.util as _importlib_util
import typing as _typing

if _typing.TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from .comparison import compare
    from .errors import InputError
    from .experiment import experiment_as_swept, load_experiment
    from .model import PeaceModel
    from .params import REGISTRY
    from .result import RunResult
    from .scenario import Scenario, list_scenarios, load_scenario
    from .sensitivity import run_sensitivity
    from .simulate import run_scenario
    from .sweep import run_experiment

__version__ = "0.1.0"

# public name -> the module of this package that defines it
_EXPORTS = {
    "compare": "comparison",
    "InputError": "errors",
    "load_experiment": "experiment",
    "experiment_as_swept": "experiment",
    "PeaceModel": "model",
    "REGISTRY": "params",
    "RunResult": "result",
    "Scenario": "scenario",
    "list_scenarios": "scenario",
    "load_scenario": "scenario",
    "run_scenario": "simulate",
    "run_experiment": "sweep",
    "run_sensitivity": "sensitivity",
}

__all__ = [
    "compare",
    "InputError",
    "load_experiment",
    "experiment_as_swept",
    "PeaceModel",
    "REGISTRY",
    "RunResult",
    "Scenario",
    "list_scenarios",
    "load_scenario",
    "run_scenario",
    "run_experiment",
    "run_sensitivity",
    "__version__",
]


def __getattr__(name: str) -> object:
    """Import a public name, or a submodule (``peacesim.sweep``), the first time it is asked for."""
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(_importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later look-ups do not come here again
        return value
    if not name.startswith("_") and _importlib_util.find_spec(f"{__name__}.{name}") is not None:
        # 'import peacesim; peacesim.scenario.scenario_dir()' worked when this file imported
        # everything eagerly; importing a submodule also binds it here
        return _importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
