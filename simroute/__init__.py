"""simroute: a discrete-event simulator of DIDWW-style inbound call routing for capacity planners.

>>> import simroute
>>> result = simroute.simulate("scenarios/quickstart.yaml")   # doctest: +SKIP
>>> result.summary["kpis"]["completion_rate"]                   # doctest: +SKIP
"""

from . import theory
from .api import Comparison, compare, simulate, size, sweep
from .errors import ScenarioError, SimrouteError
from .kpis.result import Result
from .scenario.schema import Scenario, load_scenario

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


def __getattr__(name: str):
    """``simroute.plot`` (matplotlib figures) is imported on first use: ``import simroute`` stays light."""
    if name == "plot":
        from .report import plots

        return plots
    if name == "write_report":
        from .report.html import write_report

        return write_report
    raise AttributeError(f"module 'simroute' has no attribute {name!r}")
