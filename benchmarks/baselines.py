"""The baselines simroute is measured against in the same round: a minimal SimPy loop and Ciw.

Both simulate the M/M/110/110 model of :mod:`benchmarks.models`; each runs in its own process.
"""

from __future__ import annotations

from .harness import timed
from .models import CHANNELS, MEAN_HOLD, RATE, duration_for

BATCH = 8192  # numpy draws per batch in the SimPy loop


def simpy_loop(calls: int, seed: int) -> dict:
    """The leanest reasonable SimPy program: one arrival process, numpy batches, a Timeout and a
    callback per carried call, an integer channel count. Arrivals stop at the horizon and calls in
    progress finish (as in simroute). Timed: building and running the environment."""
    import numpy as np
    import simpy

    horizon = duration_for(calls)
    rng = np.random.default_rng(seed)
    state = {"busy": 0, "offered": 0, "blocked": 0}

    def release(_event):
        state["busy"] -= 1

    def arrivals(env):
        timeout = env.timeout
        while True:
            gaps = rng.exponential(1.0 / RATE, BATCH).tolist()
            holds = rng.exponential(MEAN_HOLD, BATCH).tolist()
            for gap, hold in zip(gaps, holds):
                if env.now + gap >= horizon:
                    return
                yield timeout(gap)
                state["offered"] += 1
                if state["busy"] < CHANNELS:
                    state["busy"] += 1
                    timeout(hold).callbacks.append(release)
                else:
                    state["blocked"] += 1

    def run():
        env = simpy.Environment()
        env.process(arrivals(env))
        env.run()

    t = timed(run)
    return {
        **t.fields(),
        "calls": state["offered"],
        "loss_probability": state["blocked"] / state["offered"],
        "version": simpy.__version__,
    }


def ciw_model(calls: int, seed: int) -> dict:
    """Ciw on the same model (``queue_capacities=[0]``: a blocked call is rejected). Timed: building the
    Simulation and running it to the horizon. Calls = service + rejection records, incomplete included."""
    try:
        import ciw
    except ImportError:
        return {"skipped": "ciw not importable", "seconds": 0.0, "rss_before_bytes": None}
    horizon = duration_for(calls)
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=RATE)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_HOLD)],
        number_of_servers=[CHANNELS],
        queue_capacities=[0],
    )
    ciw.seed(seed)

    def run():
        sim = ciw.Simulation(network)
        sim.simulate_until_max_time(horizon)
        return sim

    t = timed(run)
    records = t.value.get_all_records(only=["service", "rejection"], include_incomplete=True)
    blocked = sum(1 for r in records if r.record_type == "rejection")
    return {
        **t.fields(),
        "calls": len(records),
        "loss_probability": blocked / len(records),
        "version": getattr(ciw, "__version__", None),
    }
