"""simroute: a discrete-event simulator of DIDWW-style inbound call routing for capacity planners.

>>> import simroute
>>> result = simroute.simulate("scenarios/quickstart.yaml")   # doctest: +SKIP
>>> result.summary["kpis"]["completion_rate"]                   # doctest: +SKIP
"""
from .api import Comparison, compare, simulate
from .results import Result
from .errors import ScenarioError, SimrouteError
from .scenario import Scenario, load_scenario

__all__ = ["Comparison", "Result", "Scenario", "ScenarioError", "SimrouteError", "compare", "load_scenario",
           "simulate"]
__version__ = "0.1.0"
