"""KPIs from the attempt records: counts over calls that arrive after the warm-up, time averages over
the window from the end of the warm-up to the horizon.

Pure numpy on columns; nothing here knows the engine. Every ratio whose denominator is zero is None
(JSON null) rather than a made-up 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..engine.network import UNLIMITED
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
    PBX_COLUMNS,
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
    count_pbx,
    count_rows,
)
from .redial import count_redial, empty_counts, redial_kpis

__all__ = [
    "Occupancy",
    "Tallies",
    "assemble",
    "congestion_caps",
    "holding_intervals",
    "tallies_from_records",
    "summarize",
    "prepare",
]

_REFUSED = np.array(sorted(codes.REFUSED_BEFORE_SEIZURE))
_BEFORE_GROUP = np.array(sorted(codes.REFUSED_BEFORE_GROUP))


class Occupancy:
    """Channels busy over time, from the intervals ``[start, end)`` that each hold one channel.

    It depends only on the sorted starts and the sorted ends (``key``), so two sets of intervals with
    equal keys share one sweep. The level is kept only after the last event at each distinct time: at
    equal times releases count before seizures, as the engine frees a channel before it is reused, so no
    level in between can be a peak.
    """

    def __init__(self, starts: np.ndarray, ends: np.ndarray):
        self._sweep(*self.key_of(starts, ends))

    @staticmethod
    def key_of(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sorted starts and sorted ends of the intervals that hold something (non-zero length)."""
        keep = ends > starts
        # stable: a merge sort, linear on the runs the rows come in (ends in the order written, call
        # arrivals in call order)
        return np.sort(starts[keep], kind="stable"), np.sort(ends[keep], kind="stable")

    @classmethod
    def from_key(cls, starts: np.ndarray, ends: np.ndarray) -> Occupancy:
        occ = cls.__new__(cls)
        occ._sweep(starts, ends)
        return occ

    def _sweep(self, starts: np.ndarray, ends: np.ndarray) -> None:
        n = len(starts)
        times = np.concatenate((starts, ends))
        order = np.argsort(times, kind="stable")  # two sorted runs: a merge
        times = times[order]
        level = np.cumsum(np.where(order < n, 1.0, -1.0))
        settled = np.append(times[1:] != times[:-1], True) if len(times) else np.zeros(0, bool)
        self.times, self.level = times[settled], level[settled]
        gaps = np.diff(self.times, append=self.times[-1] if len(self.times) else 0.0)
        self._area = np.concatenate(([0.0], np.cumsum(self.level * gaps)[:-1]))  # area up to each event time

    def area(self, t: np.ndarray | float) -> np.ndarray:
        """Channel-seconds from time 0 up to ``t`` (piecewise linear between events)."""
        if not len(self.times):
            return np.zeros_like(np.asarray(t, float))
        return np.asarray(np.interp(t, self.times, self._area, left=0.0))

    def mean(self, a: float, b: float) -> float:
        """Time-average busy channels over ``[a, b)`` (carried erlangs)."""
        return float((self.area(b) - self.area(a)) / (b - a))

    def level_at(self, t: float) -> float:
        i = np.searchsorted(self.times, t, side="right") - 1
        return float(self.level[i]) if i >= 0 else 0.0

    def peak(self, a: float = -np.inf, b: float = np.inf) -> int:
        """Most channels busy at once within ``[a, b)``."""
        levels = self.level[
            np.searchsorted(self.times, a) : np.searchsorted(self.times, b)
        ]  # events in [a, b)
        start = self.level_at(a) if np.isfinite(a) else 0.0
        return int(max(start, levels.max() if levels.size else 0.0))

    def time_at_or_above(self, cap: int, a: float, b: float) -> float:
        """Fraction of ``[a, b)`` with at least ``cap`` channels busy (time congestion)."""
        if cap >= UNLIMITED or not len(self.times):
            return 0.0
        # the segments that overlap [a, b): from the last event at or before a to the last before b
        i = max(int(np.searchsorted(self.times, a, side="right")) - 1, 0)
        j = int(np.searchsorted(self.times, b))
        seg_start = np.clip(self.times[i:j], a, b)
        seg_end = np.clip(np.append(self.times[i + 1 : j], b), a, b)
        return float(((seg_end - seg_start) * (self.level[i:j] >= cap)).sum() / (b - a))


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


def _window_table(occupancies: list[Occupancy], caps, a: float, b: float) -> np.ndarray:
    """Carried erlangs, peak and time congestion over ``[a, b)``, one row per entity."""
    out = np.zeros((len(caps), 3))
    for i, (occ, cap) in enumerate(zip(occupancies, caps)):
        out[i] = occ.mean(a, b), occ.peak(a, b), occ.time_at_or_above(cap, a, b)
    return out


def _occupancies(rec: Records, held: _Held, call_cg: np.ndarray) -> dict[str, list[Occupancy]]:
    """Busy channels over the whole run per trunk, DID, group, POP, capacity group (shared and metered
    channels) and cloud PBX (queue and agents): what every window's time averages read.

    A set of intervals met before reuses its sweep (a DID alone on its trunk and POP holds the same
    intervals at all three): the very arrays by identity, else equal sorted starts and ends.
    """
    c, net = rec.per_call, rec.net
    intervals = holding_intervals(rec, held)
    for kind, code in (("shared", codes.CHANNEL_SHARED), ("metered", codes.CHANNEL_METERED)):
        intervals[kind] = [
            (c.arrival[(c.channel == code) & (call_cg == g)], c.end[(c.channel == code) & (call_cg == g)])
            for g in range(len(net.capacity_group_names))
        ]
    intervals["queue"], intervals["agents"] = _pbx_intervals(net, rec.pbx)
    by_id: dict = {}
    by_key: dict = {}

    def occupancy(starts, ends) -> Occupancy:
        same = by_id.get((id(starts), id(ends)))
        if same is not None:
            return same[2]
        key = Occupancy.key_of(starts, ends)
        digest = (len(key[0]), float(key[0].sum()), float(key[1].sum()))  # sums of sorted arrays: exact
        occ = next(
            (
                o
                for s, e, o in by_key.get(digest, ())
                if np.array_equal(s, key[0]) and np.array_equal(e, key[1])
            ),
            None,
        )
        if occ is None:
            occ = Occupancy.from_key(*key)
            by_key.setdefault(digest, []).append((*key, occ))
        by_id[id(starts), id(ends)] = (starts, ends, occ)  # holds the arrays, so their ids stay theirs
        return occ

    return {kind: [occupancy(starts, ends) for starts, ends in iv] for kind, iv in intervals.items()}


def congestion_caps(net) -> dict[str, list[int]]:
    """The cap each entity's time congestion is measured against (unlimited: none)."""
    n_trunks = len(net.trunk_names)
    return {
        "trunk": net.trunk_cap,
        "did": net.did_cap,
        "group": net.group_cap,
        "pop": [UNLIMITED] * len(net.pop_names),
        "shared": net.capacity_group_shared,
        "metered": net.capacity_group_metered,
        "queue": queue_caps(net),
        "agents": [UNLIMITED] * n_trunks,
    }


class _Held(NamedTuple):
    seized: np.ndarray  # per row
    reached: np.ndarray  # per call: its first attempt got to a trunk
    did_held: np.ndarray  # per call
    call_group: np.ndarray  # per call: its DID's trunk group, -1 none
    grouped: np.ndarray  # per call: counted at its group (not refused at the DID)
    group_held: np.ndarray  # per call


class _Run(NamedTuple):
    """What every window of one run reads: the rows as the counting rule reads them, and the occupancy
    sweeps."""

    rows: RowColumns
    occupied: dict[str, list[Occupancy]]


def _run(rec: Records) -> _Run:
    held = _held(rec)
    call_cg = np.asarray(rec.net.did_capacity_group + [-1], dtype=np.int64)[rec.per_call.did]
    return _Run(row_columns(rec), _occupancies(rec, held, call_cg))


def _held(rec: Records) -> _Held:
    """Which rows held a trunk channel and which calls held their DID and their group.

    A call holds its DID from arrival to its end unless the DID refused it (number list, DID cap), and its
    group likewise unless the group cap refused it too; an attempt holds a trunk channel unless it was
    refused before seizing one. The KPIs and :meth:`Result.concurrency` both count from these.
    """
    c, net = rec.per_call, rec.net
    trunk, cause = rec.written("trunk"), rec.written("cause")
    reached = trunk[c.first] >= 0
    first_cause = cause[c.first]
    did_held = reached | ~np.isin(first_cause, _BEFORE_GROUP)
    call_group = np.asarray(net.did_group + [-1], dtype=np.int64)[c.did]
    grouped = (call_group >= 0) & did_held
    group_held = grouped & (reached | (first_cause != codes.GROUP_CAPACITY))
    seized = (trunk >= 0) & ~np.isin(cause, _REFUSED)
    return _Held(seized, reached, did_held, call_group, grouped, group_held)


def _split(
    index: np.ndarray, held: np.ndarray | None, n: int, starts: np.ndarray, ends: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (starts, ends) that ``held`` selects, per entity ``index`` in ``0..n-1``: one stable sort
    rather than a mask per entity, and the arrays themselves when one entity holds them all."""
    if held is not None and not held.all():
        index, starts, ends = index[held], starts[held], ends[held]
    if n == 1:  # every index is 0
        return [(starts, ends)]
    small = np.uint16 if n <= np.iinfo(np.uint16).max else np.int64
    order = np.argsort(index.astype(small), kind="stable")  # 16-bit keys: a radix sort, linear
    bounds = np.searchsorted(index[order], np.arange(n + 1))
    s, e = starts[order], ends[order]
    return [(s[i:j], e[i:j]) for i, j in zip(bounds[:-1], bounds[1:])]


def holding_intervals(
    rec: Records, held: _Held | None = None
) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per trunk, DID, group and POP: the ``(starts, ends)`` of what held one of its channels."""
    c, net, w = rec.per_call, rec.net, rec.written
    h = _held(rec) if held is None else held
    return {
        "trunk": _split(w("trunk"), h.seized, len(net.trunk_names), w("time_start"), w("time_end")),
        "did": _split(c.did, h.did_held, len(net.did_numbers), c.arrival, c.end),
        "group": _split(h.call_group, h.group_held, len(net.group_names), c.arrival, c.end),
        "pop": _split(c.pop, None, len(net.pop_names), c.arrival, c.end),
    }


def row_columns(rec: Records) -> RowColumns:
    """The kept rows as the counting rule reads them, with each row's call arrival and last flag."""
    c, w = rec.per_call, rec.written
    attempt = w("routing_attempt")
    return RowColumns(
        attempt=attempt,
        did=w("did"),
        pop=w("ingress_pop"),
        trunk=w("trunk"),
        connect=w("time_connect"),
        end=w("time_end"),
        cause=w("cause"),
        channel=w("channel"),
        arrival=c.arrival[c.row_call],
        last=attempt == c.attempts[c.row_call],
    )


def tallies_from_records(rec: Records, a: float, b: float, run: _Run | None = None) -> Tallies:
    """Count a window's KPIs from attempt records (calls arriving in ``[a, b)``; time averages over it).
    ``run``: what the windows of one run share, made once (see :func:`summarize`)."""
    net = rec.net
    run = _run(rec) if run is None else run
    rows = run.rows
    counts = Counts.empty(net)
    pdd = count_rows(net, rows, (rows.arrival >= a) & (rows.arrival < b), counts)
    pbx = np.zeros((len(net.trunk_names), len(PBX_COLUMNS)))
    arrival = rec.pbx[:, 2]
    count_pbx(net, rec.pbx, (arrival >= a) & (arrival < b), pbx)
    caps = congestion_caps(net)
    redial = None
    if rec.redial is not None:
        redial = empty_counts()
        count_redial(rec.redial, a, b, redial)
    return Tallies.of(
        counts,
        float(np.quantile(pdd, 0.95)) if pdd.size else None,
        {kind: _window_table(run.occupied[kind], caps[kind], a, b) for kind in caps},
        (a, b),
        pbx,
        redial,
    )


def queue_caps(net) -> list[int]:
    """Per trunk, how many callers its cloud PBX lets wait (unlimited for other trunks)."""
    return [UNLIMITED if m is None or m.queue_capacity is None else m.queue_capacity for m in net.pbx]


def _pbx_intervals(net, table: np.ndarray):
    """Per trunk: callers waiting in its cloud PBX's queue, and agents talking."""
    n_trunks = len(net.trunk_names)
    trunk = table[:, 1].astype(np.int64)
    queued, left, outcome, end = table[:, 4], table[:, 5], table[:, 6], table[:, 7]
    served = outcome == codes.PBX_SERVED
    queue_iv = [(queued[trunk == i], left[trunk == i]) for i in range(n_trunks)]
    agent_iv = [(left[(trunk == i) & served], end[(trunk == i) & served]) for i in range(n_trunks)]
    return queue_iv, agent_iv


def summarize(rec: Records, windows: list[tuple[float, float]], run: _Run | None = None) -> list[dict]:
    """KPIs of each window ``[a, b)`` from attempt records (the run's occupancy sweeps made once, or
    ``run`` as :func:`prepare` made it)."""
    run = _run(rec) if run is None else run
    return [assemble(rec.net, tallies_from_records(rec, a, b, run)) for a, b in windows]


def prepare(rec: Records) -> _Run:
    """What every window of one run reads (the rows, the occupancy sweeps), for several calls of
    :func:`summarize` or for reading the sweeps themselves (``.occupied``)."""
    return _run(rec)
