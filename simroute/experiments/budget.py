"""How much work a run asks for, before it starts: the expected events and peak memory, against budgets.

A typo such as ``duration: 80d`` for ``8d`` or ``calls_per_hour: 5000000`` makes a run take hours and
(with records kept) gigabytes, with nothing on screen to say why. :func:`check_budget` estimates the
events from the traffic alone (no simulation: the expected number of calls is the integral of each
DID's arrival rate over the run, steps and profiles included, as the engine draws it) and refuses a
run above the budget unless the user confirms (``--yes``). It also estimates the run's peak memory from
the rows its records mode keeps (bytes per row measured, :data:`BYTES_PER_ROW`) times the processes
that run at once, and refuses a run whose estimate is above :data:`MEMORY_SHARE` of the memory it may
use (the smaller of the machine's memory and the process's limits), unless ``--max-memory`` says how
much it may use.
"""

from __future__ import annotations

import math
import os
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
    "BYTES_PER_ROW",
    "BASE_BYTES",
    "MEMORY_SHARE",
    "estimate_memory",
    "available_memory",
    "parse_bytes",
]

#: Events a run may schedule before it needs confirmation (about a minute of simulation on a laptop).
DEFAULT_BUDGET = 50_000_000

#: Events per offered call, on average: the arrival, an attempt's end, the hang-up (more with re-routing).
EVENTS_PER_CALL = 3

_MAX = sys.maxsize

#: Peak bytes per attempt row (``attempts``, ``stream``) or per call (``calls``) of each records mode,
#: measured as the peak-RSS growth of an 800-hour Erlang B run (140,000 rows) per row: 298 B for
#: attempts, 356 B per call for calls, most of it the few tens of MB a chunk's KPIs take whatever the
#: length (a million kept rows peak at about 100 B each). tests/experiments/test_memory_budget.py
#: measures each mode again and fails when a constant falls below what is measured, or far above it.
#: ``none`` counts live: flat in the calls.
BYTES_PER_ROW = {"attempts": 450, "calls": 400, "stream": 700, "none": 0}
#: Peak bytes of a run apart from its rows: the interpreter, numpy, pandas, the compiled network.
BASE_BYTES = 160 * 2**20
#: What a replication's kept records hold per row once its KPIs are computed, while the others run.
KEPT_BYTES_PER_ROW = 70
#: Rows per call: one attempt each, and half a row more for a call routed to a trunk group (re-routing).
ROWS_PER_GROUP_CALL = 1.5
#: The share of the available memory a run may be expected to use before it is refused.
MEMORY_SHARE = 0.8


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


def _integral(traffic, horizon: float, scale: float = 1.0, phase: float = 0.0) -> float:
    """Expected arrivals in ``[0, horizon)``: the integral of the DID's arrival rate as the engine
    draws it (profiles at any resolution on the local clock, steps repeating or not, ``traffic_scale``)."""
    if horizon <= 0:
        return 0.0
    if traffic.trace is not None:  # a replay: its calls before the horizon, exactly
        return float((traffic.trace.times < horizon).sum())
    times, rates, period = rate_breakpoints(traffic, horizon, scale, phase)
    return expected_arrivals(times, rates, period, horizon)


def _tries(traffic) -> float:
    """Expected tries per fresh caller: 1 without redial; with it, the tries of a caller whose every try
    fails (the traffic alone cannot say how many fail, so a budget takes the most a caller can try)."""
    return 1.0 if traffic.redial is None else traffic.redial.expected_tries()


def expected_calls(scenario, duration=None) -> float:
    """Expected calls offered over the run (all DIDs, every try of a redialling caller counted: see
    :func:`_tries`), from the traffic alone; may be ``inf``.

    ``scenario``: a :class:`~simroute.scenario.Scenario` (or anything ``load_scenario`` accepts);
    ``duration``: seconds or a duration text, overriding the scenario's.
    """
    from ..scenario.schema import load_scenario

    scenario = load_scenario(scenario)
    horizon = _horizon(scenario, duration)
    total = 0.0
    for did in scenario.dids:
        if did.traffic is not None:
            total += _integral(did.traffic, horizon, scenario.traffic_scale, scenario.clock_phase) * _tries(
                did.traffic
            )
    return total


def estimate_events(scenario, duration=None) -> int:
    """Expected events of one run: :data:`EVENTS_PER_CALL` per expected call, plus every other kind of
    event: two per scheduled fault window, two per expected outage of a random fault (one every
    ``mtbf + mttr`` on average), and each cloud-PBX staffing change (one per interval of its agents).

    An estimate for a budget, not a prediction to the event: re-routing adds an event per extra attempt.
    Saturates at ``sys.maxsize`` (a rate or duration near the float limit).
    """
    from ..scenario.schema import load_scenario

    scenario = load_scenario(scenario)
    horizon = _horizon(scenario, duration)
    events = expected_calls(scenario, duration) * EVENTS_PER_CALL + _other_events(scenario, horizon)
    if not math.isfinite(events) or events >= _MAX:
        return _MAX
    return int(math.ceil(events))


def _other_events(scenario, horizon: float) -> float:
    """Events that are not calls: faults starting and ending, cloud-PBX agents changing shift."""
    events = 0.0
    for fault in scenario.faults:
        if fault.mtbf is not None:
            events += 2 * (horizon / (fault.mtbf + fault.mttr) + 1)
        else:
            events += 2
    for trunk in scenario.trunks:
        agents = trunk.pbx.agents if trunk.pbx is not None else None
        if isinstance(agents, list) and agents:
            events += horizon / (86400.0 / len(agents)) + 1
    return events


def _expected_rows(scenario, duration, records: str) -> float:
    """Rows the records mode holds at its peak: attempts (a call to a group counts
    :data:`ROWS_PER_GROUP_CALL`), calls, or a stream's buffer (at most one chunk)."""
    if records == "none":
        return 0.0
    horizon = _horizon(scenario, duration)
    calls = rows = 0.0
    for did in scenario.dids:
        if did.traffic is not None:
            n = _integral(did.traffic, horizon) * _tries(did.traffic)
            calls += n
            rows += n * (ROWS_PER_GROUP_CALL if did.route.group is not None else 1.0)
    if records == "calls":
        return calls
    if records == "stream":
        from ..records.stream import CHUNK_ROWS

        return min(rows, float(CHUNK_ROWS))
    return rows


def estimate_memory(scenario, duration=None, records: str = "attempts", replications: int = 1, jobs: int = 1):
    """Expected peak bytes of a run (all its processes): each process that runs at once holds
    :data:`BASE_BYTES` and its rows at :data:`BYTES_PER_ROW`; with replications run one after another,
    the first one's kept records stay while the others run. Returns ``(bytes, rows, processes)``."""
    from ..scenario.schema import load_scenario

    scenario = load_scenario(scenario)
    rows = _expected_rows(scenario, duration, records)
    runs = max(int(replications or 1), 1)
    processes = 1 + min(jobs, runs - 1) if jobs > 1 and runs > 1 else 1
    per_process = BASE_BYTES + rows * BYTES_PER_ROW.get(records, BYTES_PER_ROW["attempts"])
    kept = rows * KEPT_BYTES_PER_ROW if runs > 1 and processes == 1 else 0.0
    total = per_process * processes + kept
    return (total if math.isfinite(total) else float(_MAX)), rows, processes


def available_memory() -> int | None:
    """The memory this process may use: the smaller of the machine's memory and the process's limits
    (``RLIMIT_AS``, ``RLIMIT_DATA``, the cgroup's ``memory.max``); None when none can be read."""
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    try:
        import resource

        for which in (resource.RLIMIT_AS, resource.RLIMIT_DATA):
            soft = resource.getrlimit(which)[0]
            if soft != resource.RLIM_INFINITY and soft > 0:
                limits.append(soft)
    except (ImportError, ValueError, OSError):
        pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = open(path, encoding="ascii").read().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            limits.append(int(text))
    return min(limits) if limits else None


def _check_memory(scenario, duration, records, runs, jobs, max_memory, where) -> None:
    estimate, rows, processes = estimate_memory(scenario, duration, records, runs, jobs)
    if max_memory is not None:
        limit, of = max_memory, f"--max-memory {_bytes(max_memory)}"
    else:
        available = available_memory()
        if available is None:
            return
        limit, of = MEMORY_SHARE * available, f"{MEMORY_SHARE:g} of the {_bytes(available)} available"
    if estimate <= limit:
        return
    what = f"{_count(rows)} {'calls' if records == 'calls' else 'attempt rows'} kept"
    if processes > 1:
        what += f", {processes} processes at once"
    raise BudgetError(
        f"{where}: about {_bytes(estimate)} of memory expected ({what}), more than {of}; use "
        "--records none to keep only the KPIs, --records stream --out DIR to write the records as the run "
        "goes, a shorter --duration, fewer --jobs, or --max-memory SIZE to allow more",
        int(estimate),
        int(limit),
    )


def check_budget(
    scenario,
    duration=None,
    budget: int | None = DEFAULT_BUDGET,
    yes: bool = False,
    *,
    replications: int | None = None,
    label: str | None = None,
    records: str = "attempts",
    jobs: int = 1,
    max_memory: int | None = None,
    memory: bool = True,
) -> int:
    """The estimate of :func:`estimate_events` times the replications (``replications``, or the scenario's
    own when None); raises :class:`BudgetError` when it is above ``budget``, unless ``yes`` (the user
    confirmed) or ``budget`` is None (no limit). ``label`` names the scenario in the message (its file).

    Before that, the peak memory of the run (:func:`estimate_memory`, for ``records`` mode and ``jobs``
    processes) must be within ``max_memory`` bytes, or :data:`MEMORY_SHARE` of :func:`available_memory`
    when it is None; ``memory=False`` skips this check.
    """
    from ..scenario.schema import load_scenario

    scenario = load_scenario(scenario)
    per_run = estimate_events(scenario, duration)
    runs = max(int(scenario.replications if replications is None else replications), 1)
    estimate = per_run * runs if per_run < _MAX // runs else _MAX
    where = label if label is not None else scenario.name
    if memory:
        _check_memory(scenario, duration, records, runs, jobs, max_memory, where)
    if yes or budget is None or estimate <= budget:
        return estimate
    horizon = _horizon(scenario, duration)
    calls = expected_calls(scenario, duration)
    how = f"{_count(calls)} calls in {_span(horizon)}"
    if runs > 1:
        how += f", {runs} replications"
    raise BudgetError(
        f"{where}: {'' if estimate >= _MAX else 'about '}{_count(estimate)} events expected ({how}), "
        f"more than the budget of {_count(budget)}; "
        f"use a shorter --duration, --records none to keep only the KPIs, a larger --max-events, "
        f"or --yes to run it anyway",
        estimate,
        budget,
    )


def _bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:,.1f} {unit}"
    return f"{n:,.0f} bytes"


def _scaled(raw: str, suffixes: dict[str, int], problem: str) -> float:
    """A number with an optional one-letter suffix from ``suffixes`` (``4g``, ``50m``); ``problem`` is
    the message when it is not one."""
    scale = suffixes.get(raw[-1:], 1)
    if scale != 1:
        raw = raw[:-1]
    try:
        return float(raw) * scale
    except ValueError:
        raise ValueError(problem) from None


_BYTE_SUFFIXES = {"k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_bytes(text: str) -> int:
    """A memory size from the command line: ``4G``, ``512M``, ``1.5g``, ``4GiB`` or plain bytes."""
    raw = text.strip().lower().replace("_", "").removesuffix("ib").removesuffix("b")
    value = _scaled(raw, _BYTE_SUFFIXES, f"expected a memory size such as 4G, 512M or 2.5GiB, got {text!r}")
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"a memory size must be at least 1 byte, got {text!r}")
    return int(min(value, _MAX))


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
    value = _scaled(raw, _SUFFIXES, f"expected a number of events such as 50000000, 5e7 or 50M, got {text!r}")
    if not math.isfinite(value) or value < 1:
        raise ValueError(f"the event budget must be at least 1, got {text!r}")
    return int(min(value, _MAX))


def add_budget_arguments(parser) -> None:
    """``--max-events``, ``--yes`` and ``--max-memory`` on an argparse (sub)parser (:func:`check_budget`)."""
    import argparse

    def option(parse):
        """``parse`` as an argparse type: its ValueError becomes argparse's one-line usage error."""

        def parsed(text):
            try:
                return parse(text)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(str(exc)) from None

        return parsed

    parser.add_argument(
        "--max-events",
        type=option(parse_events),
        default=DEFAULT_BUDGET,
        metavar="N",
        help=f"refuse a run expected to take more than N events (default {DEFAULT_BUDGET:,}; "
        "e.g. 2e8 or 200M)",
    )
    parser.add_argument("--yes", action="store_true", help="run even when the estimate is above --max-events")

    parser.add_argument(
        "--max-memory",
        type=option(parse_bytes),
        default=None,
        metavar="SIZE",
        help=f"memory the run may use (e.g. 8G; default {MEMORY_SHARE:g} of the machine's memory or the "
        "process's limit, whichever is smaller); a run expected to need more is refused before it starts",
    )
