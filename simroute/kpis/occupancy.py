"""Channel occupancy (carried erlangs, peak, time at cap), one definition for kept and live runs.

Something holds a channel over an interval ``[start, end)``: an attempt that seized a trunk; a call at its
DID, group, ingress POP and DID channel; a caller in a cloud PBX's queue; an agent talking. A run is cut
into *spans* at the moments its engine hands rows over. A span's intervals are those that ended in it
(the rows of the chunk) and those still open at its end (the calls in flight, which the engine describes
at hand-over), clipped to the span; a sweep over them gives each window's channel-seconds, peak and
seconds at cap, and spans add up. Records kept whole are one span (nothing clipped), a live run many, so
both ways compute the same numbers with the same code, without looking at any counter per event.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..engine.network import UNLIMITED
from ..engine.rows import OPEN_FIELDS
from ..scenario import codes
from .counting import RowColumns

__all__ = ["Occupancy", "OccupancyTally", "KINDS", "held_intervals", "congestion_caps", "queue_caps"]

#: The kinds of entity whose channels are counted, in the order of the tables
KINDS = ("trunk", "did", "group", "pop", "shared", "metered", "queue", "agents")

_REFUSED = np.array(sorted(codes.REFUSED_BEFORE_SEIZURE))
_BEFORE_GROUP = np.array(sorted(codes.REFUSED_BEFORE_GROUP))
_OPEN = {name: i for i, name in enumerate(OPEN_FIELDS)}


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

    def seconds(self, a: float, b: float):
        """Channel-seconds within ``[a, b)``."""
        return self.area(b) - self.area(a)

    def mean(self, a: float, b: float) -> float:
        """Time-average busy channels over ``[a, b)`` (carried erlangs)."""
        return float(self.seconds(a, b) / (b - a))

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

    def seconds_at_or_above(self, cap: int, a: float, b: float):
        """Seconds of ``[a, b)`` with at least ``cap`` channels busy."""
        if cap >= UNLIMITED or not len(self.times):
            return 0.0
        # the segments that overlap [a, b): from the last event at or before a to the last before b
        i = max(int(np.searchsorted(self.times, a, side="right")) - 1, 0)
        j = int(np.searchsorted(self.times, b))
        seg_start = np.clip(self.times[i:j], a, b)
        seg_end = np.clip(np.append(self.times[i + 1 : j], b), a, b)
        return ((seg_end - seg_start) * (self.level[i:j] >= cap)).sum()

    def time_at_or_above(self, cap: int, a: float, b: float) -> float:
        """Fraction of ``[a, b)`` with at least ``cap`` channels busy (time congestion)."""
        return float(self.seconds_at_or_above(cap, a, b) / (b - a))


class Held(NamedTuple):
    """What held one channel of an entity of one kind: per interval, the entity and its start and end."""

    entity: np.ndarray
    starts: np.ndarray
    ends: np.ndarray


def _held(index, starts, ends, keep=None) -> Held:
    if keep is None:
        return Held(np.asarray(index, np.int64), starts, ends)
    return Held(np.asarray(index, np.int64)[keep], starts[keep], ends[keep])


def held_intervals(net, rows: RowColumns, pbx: np.ndarray, open_calls: np.ndarray | None = None, now=None):
    """Per kind (:data:`KINDS`), the intervals that held a channel: from finished attempt rows (a call's
    own intervals from its last row), cloud-PBX rows, and the calls still in flight at ``now``
    (``open_calls``: rows of :data:`~simroute.engine.rows.OPEN_FIELDS`), whose intervals end at ``now``.

    A call holds its DID from arrival to its end unless the DID refused it (number list, DID cap), and its
    group likewise unless the group cap refused it too; an attempt holds a trunk channel unless it was
    refused before seizing one.
    """
    did_group = np.asarray(net.did_group + [-1], dtype=np.int64)
    did_cg = np.asarray(net.did_capacity_group + [-1], dtype=np.int64)
    seized = (rows.trunk >= 0) & ~np.isin(rows.cause, _REFUSED)
    parts: dict[str, list[Held]] = {kind: [] for kind in KINDS}
    parts["trunk"].append(_held(rows.trunk, rows.start, rows.end, seized))
    last = rows.last
    did, cause, trunk = rows.did[last], rows.cause[last], rows.trunk[last]
    arrival, end, channel = rows.arrival[last], rows.end[last], rows.channel[last]
    reached = (trunk >= 0) | (rows.attempt[last] > 1)  # a call's first attempt reached a trunk
    did_held = reached | ~np.isin(cause, _BEFORE_GROUP)
    group = did_group[did]
    group_held = (group >= 0) & did_held & (reached | (cause != codes.GROUP_CAPACITY))
    parts["did"].append(_held(did, arrival, end, did_held))
    parts["group"].append(_held(group, arrival, end, group_held))
    parts["pop"].append(_held(rows.pop[last], arrival, end))
    for kind, code in (("shared", codes.CHANNEL_SHARED), ("metered", codes.CHANNEL_METERED)):
        parts[kind].append(_held(did_cg[did], arrival, end, channel == code))
    if len(pbx):
        p_trunk = pbx[:, 1].astype(np.int64)
        queued, left, outcome, p_end = pbx[:, 4], pbx[:, 5], pbx[:, 6], pbx[:, 7]
        parts["queue"].append(_held(p_trunk, queued, left))
        parts["agents"].append(_held(p_trunk, left, p_end, outcome == codes.PBX_SERVED))
    if open_calls is not None and len(open_calls):
        o = open_calls
        o_did, o_trunk = o[:, _OPEN["did"]].astype(np.int64), o[:, _OPEN["trunk"]].astype(np.int64)
        o_arrival, o_channel = o[:, _OPEN["time_arrival"]], o[:, _OPEN["channel"]]
        until = np.full(len(o), float(now))
        parts["trunk"].append(_held(o_trunk, o[:, _OPEN["time_start"]], until))  # in flight: seized
        parts["did"].append(_held(o_did, o_arrival, until))  # in flight: past its DID and group caps
        o_group = did_group[o_did]
        parts["group"].append(_held(o_group, o_arrival, until, o_group >= 0))
        parts["pop"].append(_held(o[:, _OPEN["ingress_pop"]], o_arrival, until))
        for kind, code in (("shared", codes.CHANNEL_SHARED), ("metered", codes.CHANNEL_METERED)):
            parts[kind].append(_held(did_cg[o_did], o_arrival, until, o_channel == code))
        queued, left = o[:, _OPEN["time_queued"]], o[:, _OPEN["time_left"]]
        parts["queue"].append(_held(o_trunk, queued, np.where(np.isnan(left), until, left)))
        parts["agents"].append(_held(o_trunk, left, until, o[:, _OPEN["pbx_outcome"]] == codes.PBX_SERVED))
    return {kind: _joined(held) for kind, held in parts.items()}


def _joined(parts: list[Held]) -> Held:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        empty = np.zeros(0)
        return Held(np.zeros(0, np.int64), empty, empty)
    return Held(*(np.concatenate(columns) for columns in zip(*parts)))


def split(held: Held, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (starts, ends) per entity ``0..n-1``: one stable sort rather than a mask per entity, and the
    arrays themselves when one entity holds them all."""
    if n == 1:  # every index is 0
        return [(held.starts, held.ends)]
    small = np.uint16 if n <= np.iinfo(np.uint16).max else np.int64
    order = np.argsort(held.entity.astype(small), kind="stable")  # 16-bit keys: a radix sort, linear
    bounds = np.searchsorted(held.entity[order], np.arange(n + 1))
    s, e = held.starts[order], held.ends[order]
    return [(s[i:j], e[i:j]) for i, j in zip(bounds[:-1], bounds[1:])]


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


def queue_caps(net) -> list[int]:
    """Per trunk, how many callers its cloud PBX lets wait (unlimited for other trunks)."""
    return [UNLIMITED if m is None or m.queue_capacity is None else m.queue_capacity for m in net.pbx]


class OccupancyTally:
    """Per window and kind, channel-seconds, peak and seconds at cap of every entity, summed over spans.

    :meth:`add` takes one span's intervals; :meth:`table` gives a window's (carried erlangs, peak, time
    congestion) per entity. A span that covers the whole run is swept once per set of intervals, and its
    figures are those of one sweep over the run.
    """

    def __init__(self, net, windows: list[tuple[float, float]], detailed: int | None = None):
        self.windows = windows
        self.caps = congestion_caps(net)
        self.sizes = {kind: len(self.caps[kind]) for kind in KINDS}
        #: windows from this index on count trunks only (a run's clock hours and intervals, which the
        #: busy hour and the interval rows read only the trunks of), so thousands of DIDs cost one
        #: sweep per chunk, not one per hour
        self.detailed = len(windows) if detailed is None else detailed
        # per window, per kind: columns channel-seconds, peak, seconds at cap
        self._sums = [{k: np.zeros((n, 3)) for k, n in self.sizes.items()} for _ in windows]

    def add(self, held: dict[str, Held], span: tuple[float, float] = (-math.inf, math.inf)) -> None:
        """Add the intervals of the span ``[t0, t1)`` (clipped to it)."""
        t0, t1 = span
        every = [(w, max(a, t0), min(b, t1)) for w, (a, b) in enumerate(self.windows)]
        every = [(w, a, b) for w, a, b in every if a < b]
        detailed = [(w, a, b) for w, a, b in every if w < self.detailed]
        sweeps = _Sweeps()
        for kind, n in self.sizes.items():
            h = held[kind]
            parts = every if kind == "trunk" else detailed
            if not n or not len(h.entity) or not parts:
                continue
            if math.isfinite(t0) or math.isfinite(t1):
                h = Held(h.entity, np.maximum(h.starts, t0), np.minimum(h.ends, t1))
            caps = self.caps[kind]
            for i, (starts, ends) in enumerate(split(h, n)):
                if not len(starts):
                    continue
                occ = sweeps.get(starts, ends)
                if not len(occ.times):
                    continue
                for w, a, b in parts:
                    row = self._sums[w][kind][i]
                    row[0] += occ.seconds(a, b)
                    row[1] = max(row[1], occ.peak(a, b))
                    row[2] += occ.seconds_at_or_above(caps[i], a, b)

    def table(self, w: int) -> dict[str, np.ndarray]:
        """Window ``w``'s rows of (carried erlangs, peak, time congestion) per kind."""
        a, b = self.windows[w]
        out = {}
        for kind, sums in self._sums[w].items():
            table = sums.copy()
            table[:, 0] /= b - a
            table[:, 2] /= b - a
            out[kind] = table
        return out


class _Sweeps:
    """One sweep per distinct set of intervals within a span: a DID alone on its trunk and POP holds the
    same intervals at all three (the very arrays by identity, else equal sorted starts and ends)."""

    def __init__(self) -> None:
        self._by_id: dict = {}
        self._by_key: dict = {}

    def get(self, starts: np.ndarray, ends: np.ndarray) -> Occupancy:
        same = self._by_id.get((id(starts), id(ends)))
        if same is not None:
            return same[2]
        key = Occupancy.key_of(starts, ends)
        digest = (len(key[0]), float(key[0].sum()), float(key[1].sum()))  # sums of sorted arrays: exact
        occ = next(
            (
                o
                for s, e, o in self._by_key.get(digest, ())
                if np.array_equal(s, key[0]) and np.array_equal(e, key[1])
            ),
            None,
        )
        if occ is None:
            occ = Occupancy.from_key(*key)
            self._by_key.setdefault(digest, []).append((*key, occ))
        self._by_id[id(starts), id(ends)] = (starts, ends, occ)  # holds the arrays, so their ids stay theirs
        return occ
