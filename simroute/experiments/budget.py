"""How much work a run asks for, before it starts: the expected number of events, against a budget.

A typo such as ``duration: 80d`` for ``8d`` or ``calls_per_hour: 5000000`` makes a run take hours and
(with records kept) gigabytes, with nothing on screen to say why. :func:`check_budget` estimates the
events from the traffic alone (no simulation: the expected number of calls is the integral of each
DID's arrival rate over the run, steps and profiles included, as the engine draws it) and refuses a
run above the budget unless the user confirms (``--yes``).
"""

from __future__ import annotations

import math
import sys

from ..engine.traffic import expected_arrivals, rate_breakpoints
from ..errors import SimrouteError
from ..scenario.units import format_duration, parse_duration

__all__ = [
    "BudgetError",
    "DEFAULT_BUDGET",
    "EVENTS_PER_CALL",
    "expected_calls",
    "estimate_events",
    "check_budget",
    "add_budget_arguments",
    "parse_events",
]

#: Events a run may schedule before it needs confirmation (about a minute of simulation on a laptop).
DEFAULT_BUDGET = 50_000_000

#: Events per offered call, on average: the arrival, an attempt's end, the hang-up (more with re-routing).
EVENTS_PER_CALL = 3

_MAX = sys.maxsize


class BudgetError(SimrouteError):
    """A run expected to take more events than its budget; ``estimate`` and ``budget`` are the numbers."""

    def __init__(self, message: str, estimate: int, budget: int):
        self.estimate = estimate
        self.budget = budget
        super().__init__(message)


def _horizon(scenario, duration) -> float:
    if duration is None:
        return float(scenario.duration)
    return parse_duration(duration)


def _integral(traffic, horizon: float, scale: float = 1.0) -> float:
    """Expected arrivals in ``[0, horizon)``: the integral of the DID's arrival rate as the engine
    draws it (profiles at any resolution, steps repeating or not, ``traffic_scale``)."""
    if horizon <= 0:
        return 0.0
    if traffic.trace is not None:  # a replay: its calls before the horizon, exactly
        return float((traffic.trace.times < horizon).sum())
    times, rates, period = rate_breakpoints(traffic, horizon, scale)
    return expected_arrivals(times, rates, period, horizon)


def expected_calls(scenario, duration=None) -> float:
    """Expected calls offered over the run (all DIDs), from the traffic alone; may be ``inf``.

    ``scenario``: a :class:`~simroute.scenario.Scenario` (or anything ``load_scenario`` accepts);
    ``duration``: seconds or a duration text, overriding the scenario's.
    """
    from ..scenario.schema import load_scenario

    scenario = load_scenario(scenario)
    horizon = _horizon(scenario, duration)
    total = 0.0
    for did in scenario.dids:
        if did.traffic is not None:
            total += _integral(did.traffic, horizon, scenario.traffic_scale)
    return total


def estimate_events(scenario, duration=None) -> int:
    """Expected events of one run: :data:`EVENTS_PER_CALL` per expected call, plus two per fault window.

    An estimate for a budget, not a prediction to the event: re-routing adds an event per extra attempt.
    Saturates at ``sys.maxsize`` (a rate or duration near the float limit).
    """
    from ..scenario.schema import load_scenario

    scenario = load_scenario(scenario)
    events = expected_calls(scenario, duration) * EVENTS_PER_CALL + 2 * len(scenario.faults)
    if not math.isfinite(events) or events >= _MAX:
        return _MAX
    return int(math.ceil(events))


def check_budget(
    scenario,
    duration=None,
    budget: int | None = DEFAULT_BUDGET,
    yes: bool = False,
    *,
    replications: int | None = None,
    label: str | None = None,
) -> int:
    """The estimate of :func:`estimate_events` times the replications (``replications``, or the scenario's
    own when None); raises :class:`BudgetError` when it is above ``budget``, unless ``yes`` (the user
    confirmed) or ``budget`` is None (no limit). ``label`` names the scenario in the message (its file).
    """
    from ..scenario.schema import load_scenario

    scenario = load_scenario(scenario)
    per_run = estimate_events(scenario, duration)
    runs = max(int(scenario.replications if replications is None else replications), 1)
    estimate = per_run * runs if per_run < _MAX // runs else _MAX
    if yes or budget is None or estimate <= budget:
        return estimate
    horizon = _horizon(scenario, duration)
    calls = expected_calls(scenario, duration)
    how = f"{_count(calls)} calls in {_span(horizon)}"
    if runs > 1:
        how += f", {runs} replications"
    where = label if label is not None else scenario.name
    raise BudgetError(
        f"{where}: {'' if estimate >= _MAX else 'about '}{_count(estimate)} events expected ({how}), "
        f"more than the budget of {_count(budget)}; "
        f"use a shorter --duration, --records none to keep only the KPIs, a larger --max-events, "
        f"or --yes to run it anyway",
        estimate,
        budget,
    )


def _span(seconds: float) -> str:
    return format_duration(seconds) if seconds < 1e9 else f"{seconds:.3g}s"


def _count(n: float) -> str:
    if not math.isfinite(n) or n >= _MAX:
        return f"more than {_MAX:.1e}"
    return f"{n:,.0f}" if n < 1e12 else f"{n:.2e}"


_SUFFIXES = {"k": 10**3, "m": 10**6, "g": 10**9}


def parse_events(text: str) -> int:
    """An event count from the command line: ``50000000``, ``50_000_000``, ``5e7``, ``50M``, ``2G``."""
    raw = text.strip().lower().replace("_", "").replace(",", "")
    scale = _SUFFIXES.get(raw[-1:], 1)
    if scale != 1:
        raw = raw[:-1]
    try:
        value = float(raw) * scale
    except ValueError:
        raise ValueError(f"expected a number of events such as 50000000, 5e7 or 50M, got {text!r}") from None
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"the event budget must be at least 1, got {text!r}")
    return int(min(value, _MAX))


def add_budget_arguments(parser) -> None:
    """``--max-events`` and ``--yes`` on an argparse (sub)parser, for :func:`check_budget`."""
    import argparse

    def events(text):
        try:
            return parse_events(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parser.add_argument(
        "--max-events",
        type=events,
        default=DEFAULT_BUDGET,
        metavar="N",
        help=f"refuse a run expected to take more than N events (default {DEFAULT_BUDGET:,}; "
        "e.g. 2e8 or 200M)",
    )
    parser.add_argument("--yes", action="store_true", help="run even when the estimate is above --max-events")
