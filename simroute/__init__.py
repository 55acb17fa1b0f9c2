"""simroute: a discrete-event simulator of DIDWW-style inbound call routing for capacity planners.

>>> import simroute
>>> result = simroute.simulate("scenarios/quickstart.yaml")   # doctest: +SKIP
>>> result.summary["kpis"]["completion_rate"]                   # doctest: +SKIP
"""

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for type checkers; at run time the names load on first use (below)
    from . import theory
    from .api import Comparison, compare, simulate, size, sweep
    from .errors import ScenarioError, SimrouteError
    from .kpis.result import Result
    from .scenario.schema import Scenario, load_scenario

#: Where each public name lives. ``import simroute`` itself imports nothing heavy, so that the command
#: line is listening for Ctrl-C before numpy and pandas load (see :mod:`simroute.console`).
_LAZY = {
    "theory": ".theory",
    "Comparison": ".api",
    "compare": ".api",
    "simulate": ".api",
    "size": ".api",
    "sweep": ".api",
    "ScenarioError": ".errors",
    "SimrouteError": ".errors",
    "Result": ".kpis.result",
    "Scenario": ".scenario.schema",
    "load_scenario": ".scenario.schema",
    "plot": ".report.plots",  # matplotlib figures, imported on first use
    "write_report": ".report.html",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'simroute' has no attribute {name!r}")
    module = importlib.import_module(_LAZY[name], __name__)
    value = module if name in ("theory", "plot") else getattr(module, name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_LAZY])


__all__ = [
    "Comparison",
    "Result",
    "Scenario",
    "ScenarioError",
    "SimrouteError",
    "compare",
    "plot",
    "write_report",
    "load_scenario",
    "simulate",
    "size",
    "sweep",
    "theory",
]
__version__ = "0.1.0"
