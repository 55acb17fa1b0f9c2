"""One ``simroute.simulate`` of a benchmark model, run in the child process of a case.

Shared by the case modules: warm the imports on a tiny run (untimed), load the scenario (timed apart),
optionally time a set-up probe (the same scenario over one simulated second: building the network, the
streams and the engine, and the KPIs of nothing), then time the run itself.
"""

from __future__ import annotations

from .harness import timed
from .models import SEED, erlang_b_dict


def simroute_model(
    calls: int,
    seed: int = SEED,
    dids: int = 1,
    group: int = 0,
    records: str = "attempts",
    setup: bool = False,
) -> dict:
    import simroute

    simroute.simulate(simroute.load_scenario(erlang_b_dict(2000, seed)), seed=seed, records=records)  # warm
    data = erlang_b_dict(calls, seed, dids=dids, group=group)
    loaded = timed(lambda: simroute.load_scenario(data))
    scenario = loaded.value
    out: dict = {"load_seconds": loaded.seconds}
    if setup:
        probe = timed(lambda: simroute.simulate(scenario, seed=seed, duration=1.0, records=records))
        out["setup_seconds"], out["setup_cpu_seconds"] = probe.seconds, probe.cpu_seconds
    t = timed(lambda: simroute.simulate(scenario, seed=seed, records=records))
    result = t.value
    kpis = result.summary["kpis"]
    out.update(t.fields())
    out["calls"] = kpis["offered"]  # warm-up 0: every offered call
    out["loss_probability"] = kpis["loss_probability"]
    if records == "attempts":
        out["rows"] = len(result.records)
        out["stored_bytes_per_row"] = result.records.nbytes / len(result.records)
    if setup:
        out["us_per_call_after_setup"] = (
            1e6 * max(0.0, t.cpu_seconds - out["setup_cpu_seconds"]) / out["calls"]
        )
    out["version"] = simroute.__version__
    return out
