"""The bundled quickstart scenario at length: groups, priorities, POPs, number lists, answer delays,
SIP errors and faults, at the file's own rate (only ``duration`` stretched), and its replications on
one and two processes."""

from __future__ import annotations

import math

from .harness import timed

QUICKSTART = "scenarios/quickstart.yaml"


def _stretched(calls: int) -> dict:
    import yaml

    import simroute

    with open(QUICKSTART) as fh:
        data = yaml.safe_load(fh)
    scenario = simroute.load_scenario(QUICKSTART)
    rate = sum(d.traffic.base_rate for d in scenario.dids if d.traffic is not None)  # calls per second
    data["duration"] = math.ceil(calls / rate / 3600.0) * 3600.0
    return data


def quickstart(calls: int, seed: int) -> dict:
    """One run of the stretched quickstart, records kept. Calls = every offered call, warm-up included."""
    import simroute

    warm = dict(_stretched(2000), duration=3600.0)
    simroute.simulate(simroute.load_scenario(warm), seed=seed)
    scenario = simroute.load_scenario(_stretched(calls))
    t = timed(lambda: simroute.simulate(scenario, seed=seed))
    result = t.value
    return {
        **t.fields(),
        "calls": len(result.calls),
        "rows": len(result.records),
        "loss_probability": result.summary["kpis"]["loss_probability"],
    }


def replications(calls: int, seed: int, jobs: int, n: int = 8) -> dict:
    """``n`` replications of the stretched quickstart on ``jobs`` local processes (pool start included)."""
    import simroute

    scenario = simroute.load_scenario(_stretched(calls))
    t = timed(lambda: simroute.simulate(scenario, seed=seed, replications=n, jobs=jobs))
    return {**t.fields(), "calls": len(t.value.calls) * n, "jobs": jobs, "replications": n}
