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

__all__ = [
    "Occupancy",
    "Tallies",
    "assemble",
    "congestion_caps",
    "holding_intervals",
    "tallies_from_records",
    "summarize",
]

_REFUSED = np.array([codes.NUMBER_LIST_REJECT, codes.TRUNK_CAPACITY, codes.POP_DOWN])
_BEFORE_GROUP = np.array([codes.NUMBER_LIST_REJECT, codes.DID_CAPACITY])


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
        return np.sort(starts[keep]), np.sort(ends[keep])

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


# columns of Tallies.trunk
ATTEMPTS, ANSWERED, FIRST, BLOCKED, SEIZED, ERRORS, TIMEOUTS = range(7)
# columns of Tallies.did, .group, .pop
OFFERED, DONE, REACHED = range(3)
# columns of each Tallies.occupancy table
CARRIED, PEAK, CONGESTION = range(3)
# columns of Tallies.pbx (one row per trunk; zero for trunks that are not cloud PBXs)
PBX_COLUMNS = (
    "entered",
    "waited",
    "served",
    "abandoned",
    "voicemail",
    "within_sl",
    "wait_all",
    "wait_served",
    "in_queue_at_end",
)
ENTERED, WAITED, SERVED, ABANDONED, VOICEMAIL, WITHIN_SL, WAIT_ALL, WAIT_SERVED, IN_QUEUE_AT_END = range(
    len(PBX_COLUMNS)
)


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


def assemble(net, t: Tallies) -> dict:
    """The ``kpis``, ``trunks``, ``groups``, ``dids`` and ``pops`` parts of summary.json."""
    offered = int(t.did[:, OFFERED].sum())
    answered = int(t.did[:, DONE].sum())
    outcomes: dict[str, int] = {}
    for cause, count in t.outcomes.items():
        if count:
            name = codes.outcome_name(int(cause))
            outcomes[name] = outcomes.get(name, 0) + int(count)
    kpis = {
        "offered": offered,
        "answered": answered,
        "completion_rate": _ratio(answered, offered),
        "loss_probability": _ratio(offered - answered, offered),
        "outcomes": dict(sorted(outcomes.items())),
        "attempts_per_call": _ratio(t.attempts_on_trunks, t.did[:, REACHED].sum()),
        "post_dial_delay_mean": _ratio(t.pdd_sum, t.pdd_count),
        "post_dial_delay_p95": t.pdd_p95,
    }

    def occupancy(kind, i, congestion=True):
        row = t.occupancy[kind][i]
        out = {"carried_erlangs": float(row[CARRIED]), "peak_concurrent": int(row[PEAK])}
        if congestion:
            out["time_congestion"] = float(row[CONGESTION])
        return out

    trunks = {}
    for i, name in enumerate(net.trunk_names):
        c = t.trunk[i]
        selected = sum(t.did[d, REACHED] for d in range(len(net.did_numbers)) if i in net.route_trunks(d))
        trunks[name] = {
            "attempts": int(c[ATTEMPTS]),
            "answered": int(c[ANSWERED]),
            "first_choice_share": _ratio(c[FIRST], selected),
            "answered_share": _ratio(c[ANSWERED], selected),
            "weight_share": net.weight_share[i],
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
    agents_on_duty = mean_agents(model, *t.window)
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


def mean_agents(model, a: float, b: float) -> float:
    """Time-average number of agents on duty over ``[a, b)`` (counts change on the hour)."""
    if isinstance(model.agents, int):
        return float(model.agents)
    hourly = np.asarray(model.agents, float)
    day = np.concatenate(([0.0], np.cumsum(hourly) * 3600.0))  # agent-seconds into the day, hour by hour

    def agent_seconds(t: float) -> float:  # from time 0 to t, whole days first
        days, rest = divmod(t, 86400.0)
        hour = int(rest // 3600)
        return days * day[-1] + day[hour] + (rest - hour * 3600.0) * hourly[hour % 24]

    return (agent_seconds(b) - agent_seconds(a)) / (b - a)


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
    for kind, code in (("shared", 2), ("metered", 3)):
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
    """What every window of one run reads: who held what, capacity groups by call, the occupancy sweeps."""

    held: _Held
    call_cg: np.ndarray
    occupied: dict[str, list[Occupancy]]


def _run(rec: Records) -> _Run:
    held = _held(rec)
    call_cg = np.asarray(rec.net.did_capacity_group + [-1], dtype=np.int64)[rec.per_call.did]
    return _Run(held, call_cg, _occupancies(rec, held, call_cg))


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
    order = np.argsort(index, kind="stable")
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


def tallies_from_records(rec: Records, a: float, b: float, run: _Run | None = None) -> Tallies:
    """Count a window's KPIs from attempt records (calls arriving in ``[a, b)``; time averages over it).
    ``run``: what the windows of one run share, made once (see :func:`summarize`)."""
    net, c, w = rec.net, rec.per_call, rec.written
    run = _run(rec) if run is None else run
    seized, reached, _did_held, call_group, grouped, _group_held = run.held
    call_cg = run.call_cg
    rows_trunk, rows_cause = w("trunk"), w("cause")
    n_trunks, n_dids, n_groups = len(net.trunk_names), len(net.did_numbers), len(net.group_names)
    arrival, call_end, final = c.arrival, c.end, c.cause
    in_window = (arrival >= a) & (arrival < b)
    answered = final == codes.ANSWERED
    att_in = in_window[c.row_call]  # a call's attempts count with the call
    counted = att_in & (rows_trunk >= 0)
    trunk_of = rows_trunk[counted]
    cause_of = rows_cause[counted]
    seized_of = seized[counted]

    def per_trunk(mask=None):
        return np.bincount(trunk_of if mask is None else trunk_of[mask], minlength=n_trunks)

    answered_of = cause_of == codes.ANSWERED
    timeout_of = cause_of == codes.RINGING_TIMEOUT
    trunk = np.stack(
        [
            per_trunk(),
            per_trunk(answered_of),
            per_trunk(w("routing_attempt")[counted] == 1),
            per_trunk(cause_of == codes.TRUNK_CAPACITY),
            per_trunk(seized_of),
            per_trunk(seized_of & ~answered_of & ~timeout_of),
            per_trunk(timeout_of),
        ],
        axis=1,
    )

    def per(index, size, extra=()):
        cols = [
            np.bincount(index[in_window], minlength=size),
            np.bincount(index[in_window & answered], minlength=size),
        ]
        cols += [np.bincount(index[in_window & m], minlength=size) for m in extra]
        return np.stack(cols, axis=1)

    group = np.stack(
        [
            np.bincount(call_group[grouped & in_window], minlength=n_groups),
            np.bincount(call_group[grouped & in_window & answered], minlength=n_groups),
        ],
        axis=1,
    )
    pdd = (w("time_connect")[c.last] - arrival)[answered & in_window]
    per_cause = np.bincount(final[in_window])  # causes are small non-negative codes: no sort needed
    outcomes = {int(code): int(per_cause[code]) for code in np.flatnonzero(per_cause)}

    # delivery and channels: connected time per trunk, metered channel time, cloud-PBX queues
    answered_rows = counted & (rows_cause == codes.ANSWERED)
    trunk_seconds = np.bincount(
        rows_trunk[answered_rows],
        minlength=n_trunks,
        weights=(w("time_end") - w("time_connect"))[answered_rows],
    )
    n_cg = len(net.capacity_group_names)
    metered = (c.channel == 3) & in_window
    metered_seconds = np.bincount(call_cg[metered], minlength=n_cg, weights=(call_end - arrival)[metered])
    metered_calls = np.bincount(call_cg[metered], minlength=n_cg)
    caps = congestion_caps(net)
    return Tallies(
        outcomes=outcomes,
        trunk=trunk,
        did=per(c.did, n_dids, (reached,)),
        group=group,
        pop=per(c.pop, len(net.pop_names)),
        attempts_on_trunks=int(counted.sum()),
        pdd_sum=float(pdd.sum()),
        pdd_count=int(pdd.size),
        pdd_p95=float(np.quantile(pdd, 0.95)) if pdd.size else None,
        occupancy={kind: _window_table(run.occupied[kind], caps[kind], a, b) for kind in caps},
        window=(a, b),
        trunk_seconds=trunk_seconds,
        metered_seconds=metered_seconds,
        metered_calls=metered_calls,
        pbx=_pbx_counts(net, rec.pbx, a, b),
    )


def queue_caps(net) -> list[int]:
    """Per trunk, how many callers its cloud PBX lets wait (unlimited for other trunks)."""
    return [UNLIMITED if m is None or m.queue_capacity is None else m.queue_capacity for m in net.pbx]


def pbx_row_counts(net, trunk: int, queued: float, left: float, outcome: int) -> np.ndarray:
    """One cloud-PBX call's contribution to the Tallies.pbx columns."""
    wait = left - queued
    served = outcome == codes.PBX_SERVED
    return np.array(
        [
            1,
            wait > 0,
            served,
            outcome == codes.PBX_ABANDONED,
            outcome == codes.PBX_VOICEMAIL,
            served and wait <= net.pbx[trunk].service_level_threshold,
            wait,
            wait if served else 0.0,
            outcome == codes.PBX_IN_QUEUE_AT_END,
        ]
    )


def _pbx_counts(net, table: np.ndarray, a: float, b: float) -> np.ndarray:
    """Queue counts (Tallies.pbx) of the cloud-PBX calls that arrived in ``[a, b)``."""
    counts = np.zeros((len(net.trunk_names), len(PBX_COLUMNS)))
    arrival = table[:, 2]
    for row in table[(arrival >= a) & (arrival < b)]:
        counts[int(row[1])] += pbx_row_counts(net, int(row[1]), row[4], row[5], int(row[6]))
    return counts


def _pbx_intervals(net, table: np.ndarray):
    """Per trunk: callers waiting in its cloud PBX's queue, and agents talking."""
    n_trunks = len(net.trunk_names)
    trunk = table[:, 1].astype(np.int64)
    queued, left, outcome, end = table[:, 4], table[:, 5], table[:, 6], table[:, 7]
    served = outcome == codes.PBX_SERVED
    queue_iv = [(queued[trunk == i], left[trunk == i]) for i in range(n_trunks)]
    agent_iv = [(left[(trunk == i) & served], end[(trunk == i) & served]) for i in range(n_trunks)]
    return queue_iv, agent_iv


def summarize(rec: Records, windows: list[tuple[float, float]]) -> list[dict]:
    """KPIs of each window ``[a, b)`` from attempt records (the run's occupancy sweeps made once)."""
    run = _run(rec)
    return [assemble(rec.net, tallies_from_records(rec, a, b, run)) for a, b in windows]
