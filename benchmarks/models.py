"""The benchmark models: M/M/110/110 at 100 erlang, spread over N DIDs or a group of G trunks.

Every shape offers the same traffic to the same 110 channels, so the loss is Erlang B's in all of them
(a check that they simulate the same model) and a difference in cost per call is the shape's alone.
"""

from __future__ import annotations

CHANNELS = 110
ERLANGS = 100.0
MEAN_HOLD = 180.0  # seconds
RATE = ERLANGS / MEAN_HOLD  # calls per second (2000 calls/hour)
SEED = 1000


def duration_for(calls: int) -> float:
    """Seconds of simulated time in which the model offers ``calls`` calls on average."""
    return calls / RATE


def erlang_b_dict(calls: int, seed: int = SEED, dids: int = 1, group: int = 0) -> dict:
    """The scenario dict: ``dids`` DIDs sharing the 100 erlang equally, routed to one trunk of 110
    channels, or (``group`` > 0) to a group of ``group`` trunks in one priority, equal weights, each
    trunk able to take all 110 channels and the group capped at 110 (so the first attempt carries the
    call, as in most real groups). Exponential holding time of mean 180 s, warm-up 0."""
    if group:
        trunks = [
            {"name": f"t{i}", "capacity_limit": CHANNELS, "rerouting_codes": "none"} for i in range(group)
        ]
        groups = [
            {
                "name": "g",
                "capacity_limit": CHANNELS,
                "members": [{"trunk": f"t{i}", "priority": 1, "weight": 1} for i in range(group)],
            }
        ]
        route = {"group": "g"}
    else:
        trunks = [{"name": "t", "capacity_limit": CHANNELS, "rerouting_codes": "none"}]
        groups = []
        route = {"trunk": "t"}
    traffic = {"erlangs": ERLANGS / dids, "holding_time": {"dist": "exponential", "mean": MEAN_HOLD}}
    return {
        "name": f"erlang-b-{dids}-dids-{group or 1}-trunks",
        "duration": duration_for(calls),
        "warmup": 0,
        "seed": seed,
        "trunks": trunks,
        "trunk_groups": groups,
        "dids": [{"number": f"4412{i:08d}", "route": route, "traffic": traffic} for i in range(dids)],
    }
