"""peacesim: agent-based simulation of peace-process dynamics, built on Mesa.

Quick start::

    import peacesim
    result = peacesim.run_scenario("reference", seed=1)
    result.series        # one row per month
    result.episodes      # one row per agreement, with censoring
    result.outcome       # per-run summary
    print("\\n".join(result.narrative()))
"""

from .errors import InputError
from .model import PeaceModel
from .params import REGISTRY
from .result import RunResult
from .scenario import Scenario, list_scenarios, load_scenario
from .simulate import run_scenario
from .sweep import run_experiment

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "PeaceModel",
    "REGISTRY",
    "RunResult",
    "Scenario",
    "list_scenarios",
    "load_scenario",
    "run_scenario",
    "run_experiment",
    "__version__",
]
