"""The summary's KPIs from a window's tallies (counts over calls that arrive in the window, time averages
over it), whichever way they were counted (:mod:`.tally`).

Pure numpy on columns; nothing here knows the engine. Every ratio whose denominator is zero is None
(JSON null) rather than a made-up 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..records.attempts import Records
from ..scenario import codes
from . import costs
from .counting import (
    ABANDONED,
    ANSWERED,
    ATTEMPTS,
    BLOCKED,
    DONE,
    ENTERED,
    ERRORS,
    FIRST,
    IN_QUEUE_AT_END,
    OFFERED,
    REACHED,
    SEIZED,
    SERVED,
    TIMEOUTS,
    VOICEMAIL,
    WAIT_ALL,
    WAIT_SERVED,
    WAITED,
    WITHIN_SL,
    Counts,
    RowColumns,
)
from .redial import redial_kpis

__all__ = ["Tallies", "assemble", "row_columns", "mean_agents"]


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


# columns of each Tallies.occupancy table
CARRIED, PEAK, CONGESTION = range(3)


@dataclass
class Tallies:
    """What the KPIs of one window are made of, whether counted from records or accumulated live.

    Count tables have one row per trunk / DID / group / POP; ``occupancy`` maps ``trunk``, ``did``,
    ``group`` and ``pop`` to rows of (carried erlangs, peak, time congestion).
    """

    outcomes: dict[int, int]
    trunk: np.ndarray
    did: np.ndarray
    group: np.ndarray
    pop: np.ndarray
    attempts_on_trunks: int
    pdd_sum: float
    pdd_count: int
    pdd_p95: float | None
    occupancy: dict[str, np.ndarray] = field(default_factory=dict)
    window: tuple[float, float] = (0.0, 0.0)
    trunk_seconds: np.ndarray | None = None  # connected seconds of answered attempts, per trunk
    metered_seconds: np.ndarray | None = None  # call seconds on metered channels, per capacity group
    metered_calls: np.ndarray | None = None
    pbx: np.ndarray | None = None  # cloud-PBX queue counts, per trunk
    redial: np.ndarray | None = None  # counts of callers who redial (kpis.redial), None: no DID redials

    @classmethod
    def of(cls, c: Counts, pdd_p95, occupancy, window, pbx, redial=None) -> Tallies:
        """A window's tallies from its counts, its post-dial delay percentile and its occupancy."""
        return cls(
            outcomes=c.outcome_counts(),
            trunk=c.trunk,
            did=c.did,
            group=c.group,
            pop=c.pop,
            attempts_on_trunks=c.attempts_on_trunks,
            pdd_sum=c.pdd_sum,
            pdd_count=c.pdd_count,
            pdd_p95=pdd_p95,
            occupancy=occupancy,
            window=window,
            trunk_seconds=c.trunk_seconds,
            metered_seconds=c.metered_seconds,
            metered_calls=c.metered_calls,
            pbx=pbx,
            redial=redial,
        )


def assemble(net, t: Tallies) -> dict:
    """The ``kpis``, ``trunks``, ``groups``, ``dids`` and ``pops`` parts of summary.json."""
    offered = int(t.did[:, OFFERED].sum())
    answered = int(t.did[:, DONE].sum())
    outcomes: dict[str, int] = {}
    classes = dict.fromkeys(codes.CALL_CLASSES, 0)
    for cause, count in t.outcomes.items():
        if count:
            name = codes.outcome_name(int(cause))
            outcomes[name] = outcomes.get(name, 0) + int(count)
            classes[codes.call_class(int(cause))] += int(count)
    # answered by a cloud PBX but never by an agent: the caller abandoned or left a voicemail
    # (abandoned, voicemail, or still waiting at the end): entered its queue, never served
    unserved = int(t.pbx[:, ENTERED].sum() - t.pbx[:, SERVED].sum()) if t.pbx is not None else 0
    kpis = {
        "offered": offered,
        "answered": answered,
        "completion_rate": _ratio(answered, offered),
        "loss_probability": _ratio(offered - answered, offered),
        "blocked": classes["blocked"],
        "blocking_probability": _ratio(classes["blocked"], offered),
        "rejected": classes["rejected"],
        "failed": classes["failed"],
        "served": answered - unserved,
        "served_rate": _ratio(answered - unserved, offered),
        "outcomes": dict(sorted(outcomes.items())),
        "attempts_per_call": _ratio(t.attempts_on_trunks, t.did[:, REACHED].sum()),
        "post_dial_delay_mean": _ratio(t.pdd_sum, t.pdd_count),
        "post_dial_delay_p95": t.pdd_p95,
    }
    if t.redial is not None:  # only where callers redial: a scenario without redial keeps its summary
        kpis.update(redial_kpis(t.redial, t.window))

    def occupancy(kind, i, congestion=True):
        row = t.occupancy[kind][i]
        out = {"carried_erlangs": float(row[CARRIED]), "peak_concurrent": int(row[PEAK])}
        if congestion:
            out["time_congestion"] = float(row[CONGESTION])
        return out

    trunks = {}
    for i, name in enumerate(net.trunk_names):
        c = t.trunk[i]
        selected = sum(t.did[d, REACHED] for d in net.trunk_dids[i])
        trunks[name] = {
            "attempts": int(c[ATTEMPTS]),
            "answered": int(c[ANSWERED]),
            "first_choice_share": _ratio(c[FIRST], selected),
            "answered_share": _ratio(c[ANSWERED], selected),
            "weight_share": net.weight_share[i],
            "weight_share_in_priority": net.weight_share_in_priority[i],
            "attempt_blocking": _ratio(c[BLOCKED], c[ATTEMPTS]),
            "error_fraction": _ratio(c[ERRORS], c[SEIZED]),
            "timeout_fraction": _ratio(c[TIMEOUTS], c[SEIZED] - c[ERRORS]),
            **occupancy("trunk", i),
        }

    def entity(kind, table, i, congestion=True):
        return {
            "offered": int(table[i, OFFERED]),
            "answered": int(table[i, DONE]),
            **occupancy(kind, i, congestion),
        }

    for i in net.pbx_trunks:
        trunks[net.trunk_names[i]]["queue"] = _queue_kpis(net, t, i)
    return {
        "kpis": kpis,
        "trunks": trunks,
        "groups": {name: entity("group", t.group, g) for g, name in enumerate(net.group_names)},
        "dids": {number: entity("did", t.did, d) for d, number in enumerate(net.did_numbers)},
        "pops": {name: entity("pop", t.pop, p, congestion=False) for p, name in enumerate(net.pop_names)},
        "capacity_groups": {name: _capacity_kpis(t, g) for g, name in enumerate(net.capacity_group_names)},
        "costs": costs.assemble(net, t, answered),
    }


def _capacity_kpis(t: Tallies, g: int) -> dict:
    shared, metered = t.occupancy["shared"][g], t.occupancy["metered"][g]
    assert t.metered_calls is not None and t.metered_seconds is not None
    return {
        "shared_carried_erlangs": float(shared[CARRIED]),
        "shared_peak": int(shared[PEAK]),
        "shared_time_congestion": float(shared[CONGESTION]),
        "metered_carried_erlangs": float(metered[CARRIED]),
        "metered_peak": int(metered[PEAK]),
        "metered_calls": int(t.metered_calls[g]),
        "metered_minutes": float(t.metered_seconds[g]) / 60,
    }


def _queue_kpis(net, t: Tallies, i: int) -> dict:
    """Contact-centre KPIs of a cloud PBX: service level, speed of answer, abandonment, occupancy."""
    assert t.pbx is not None
    q = t.pbx[i]
    model = net.pbx[i]
    agents_on_duty = mean_agents(model, *t.window, phase=net.scenario.clock_phase)
    agents_busy = float(t.occupancy["agents"][i][CARRIED])
    return {
        "entered": int(q[ENTERED]),
        "served": int(q[SERVED]),
        "abandoned": int(q[ABANDONED]),
        "voicemail": int(q[VOICEMAIL]),
        "in_queue_at_end": int(q[IN_QUEUE_AT_END]),
        "p_wait": _ratio(q[WAITED], q[ENTERED]),
        "service_level": _ratio(q[WITHIN_SL], q[ENTERED]),
        "service_level_threshold": model.service_level_threshold,
        "average_speed_of_answer": _ratio(q[WAIT_SERVED], q[SERVED]),
        "mean_wait": _ratio(q[WAIT_ALL], q[ENTERED]),
        "abandonment_rate": _ratio(q[ABANDONED], q[ENTERED]),
        "voicemail_rate": _ratio(q[VOICEMAIL], q[ENTERED]),
        "agents_on_duty": agents_on_duty,
        "agent_occupancy": _ratio(agents_busy, agents_on_duty),
        "mean_queue_length": float(t.occupancy["queue"][i][CARRIED]),
        "peak_queue_length": int(t.occupancy["queue"][i][PEAK]),
    }


def mean_agents(model, a: float, b: float, phase: float = 0.0) -> float:
    """Time-average number of agents on duty over ``[a, b)`` (counts change at each interval of the
    agents' profile, repeating daily or weekly on the local clock; ``phase``: the scenario's
    ``clock_phase``)."""
    if isinstance(model.agents, int):
        return float(model.agents)
    counts = np.asarray(model.agents, float)
    step = model.agents_interval
    cycle = np.concatenate(([0.0], np.cumsum(counts) * step))  # agent-seconds into the cycle
    period = step * len(counts)

    def agent_seconds(t: float) -> float:  # from time 0 to t, whole cycles first
        cycles, rest = divmod(t, period)
        k = min(int(rest // step), len(counts) - 1)
        return cycles * cycle[-1] + cycle[k] + (rest - k * step) * counts[k]

    return (agent_seconds(b + phase) - agent_seconds(a + phase)) / (b - a)


def row_columns(rec: Records) -> RowColumns:
    """The kept rows as the counting rule reads them, with each row's call arrival and last flag."""
    c, w = rec.per_call, rec.written
    attempt = w("routing_attempt")
    return RowColumns(
        attempt=attempt,
        did=w("did"),
        pop=w("ingress_pop"),
        trunk=w("trunk"),
        start=w("time_start"),
        connect=w("time_connect"),
        end=w("time_end"),
        cause=w("cause"),
        channel=w("channel"),
        arrival=c.arrival[c.row_call],
        last=attempt == c.attempts[c.row_call],
    )
