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
from .counting import RowColumns, one_of

__all__ = ["Occupancy", "OccupancyTally", "KINDS", "held_intervals", "congestion_caps", "queue_caps"]

#: The kinds of entity whose channels are counted, in the order of the tables
KINDS = ("trunk", "did", "group", "pop", "shared", "metered", "queue", "agents")

_REFUSED = sorted(codes.REFUSED_BEFORE_SEIZURE)
_BEFORE_GROUP = sorted(codes.REFUSED_BEFORE_GROUP)
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
        return _sorted([starts[keep]], [ends[keep]])

    @classmethod
    def from_key(cls, starts: np.ndarray, ends: np.ndarray) -> Occupancy:
        occ = cls.__new__(cls)
        occ._sweep(starts, ends)
        return occ

    def _sweep(self, starts: np.ndarray, ends: np.ndarray) -> None:
        times, level = _events(starts, ends)
        settled = np.ones(len(times), bool)
        np.not_equal(times[1:], times[:-1], out=settled[:-1])
        if not settled.all():  # (continuous times seldom tie)
            times, level = times[settled], level[settled]
        self.times, self.level = times, np.asarray(level, np.float64)
        self._gaps = np.subtract(self.times[1:], self.times[:-1])  # the length of each segment but the last
        self._area = np.zeros(len(self.times) or 1)  # area up to each event time
        np.cumsum(self._gaps * self.level[:-1], out=self._area[1:])
        self._at_cap: dict[int, np.ndarray] = {}

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

    def peaks(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """:meth:`peak` of each window ``[a[k], b[k])``: the level at its start and at every event in it."""
        times, level = self.times, self.level
        inside = np.searchsorted(times, np.concatenate((a, b))).tolist()
        before = np.searchsorted(times, a, side="right") - 1
        peaks = np.where(before >= 0, level[np.maximum(before, 0)], 0.0)
        for k, (i, j) in enumerate(zip(inside[: len(a)], inside[len(a) :])):
            if j > i:
                peaks[k] = max(peaks[k], level[i:j].max())
        return peaks

    def seconds_at_or_above(self, cap: int, a: float, b: float):
        """Seconds of ``[a, b)`` with at least ``cap`` channels busy."""
        if cap >= UNLIMITED or not len(self.times):
            return 0.0
        # the segments that overlap [a, b): from the last event at or before a to the last before b,
        # the first and the last cut at a and b
        times, level = self.times, self.level
        i = max(int(np.searchsorted(times, a, side="right")) - 1, 0)
        j = int(np.searchsorted(times, b))
        if j <= i:
            return 0.0
        if cap not in self._at_cap:  # every segment's length at cap (0 below), once per sweep
            self._at_cap[cap] = self._gaps * (level[:-1] >= cap)
        seconds = np.empty(j - i)
        seconds[:-1] = self._at_cap[cap][i : j - 1]
        if j - i > 1:
            seconds[0] = (min(max(times[i + 1], a), b) - min(max(times[i], a), b)) * (level[i] >= cap)
        seconds[-1] = (b - min(max(times[j - 1], a), b)) * (level[j - 1] >= cap)
        return seconds.sum()

    def time_at_or_above(self, cap: int, a: float, b: float) -> float:
        """Fraction of ``[a, b)`` with at least ``cap`` channels busy (time congestion)."""
        return float(self.seconds_at_or_above(cap, a, b) / (b - a))


def _sorted(starts: list[np.ndarray], ends: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The parts of the starts and of the ends joined in new arrays, and sorted: the starts by numpy's
    fastest sort (the values alone matter, so an unstable sort will do), the ends by timsort, which
    mostly only checks them (a chunk's rows are written as they end, and the calls in flight end at the
    hand-over, after them)."""
    s, e = (np.concatenate(parts) if len(parts) > 1 else parts[0].copy() for parts in (starts, ends))
    s.sort()
    e.sort(kind="stable")
    return s, e


_ONE = np.uint64(1)


def _events(starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted ``starts`` and sorted ``ends`` merged into one time line: the times, and the level after
    each event (+1 a start, -1 an end; at equal times only the level after the last counts).

    Positive times are merged as integers: a float's bits, shifted left with the event's kind in the
    low bit, sort as the times do, so one sort of two sorted runs (timsort: a linear merge) carries each
    event's kind along; three times as fast as the argsort it replaces (65,536 intervals: 1.9 ms, not
    5.7). Other times (zero, negative) take that argsort."""
    n = len(starts)
    if n and starts[0] > 0:  # then every start and end is a positive number (ends > starts)
        bits = np.concatenate((starts, ends)).view(np.uint64)
        bits <<= _ONE
        bits[:n] |= _ONE
        bits.sort(kind="stable")
        step = bits.view(np.int64) & 1  # 1 a start, 0 an end: made +1 and -1, summed in place
        step <<= 1
        step -= 1
        bits >>= _ONE
        return bits.view(np.float64), np.cumsum(step, out=step)
    times = np.concatenate((starts, ends))
    order = np.argsort(times, kind="stable")  # two sorted runs: a merge
    return times[order], np.cumsum(np.where(order < n, 1.0, -1.0))


class Held(NamedTuple):
    """What held one channel of an entity of one kind: per interval, the entity and its start and end."""

    entity: np.ndarray
    starts: np.ndarray
    ends: np.ndarray


def _held(index, starts, ends, keep=None) -> Held:
    if keep is None or keep.all():
        return Held(index, starts, ends)
    return Held(index[keep], starts[keep], ends[keep])


def held_intervals(net, rows: RowColumns, pbx: np.ndarray, open_calls: np.ndarray | None = None, now=None):
    """Per kind (:data:`KINDS`), the intervals that held a channel: from finished attempt rows (a call's
    own intervals from its last row), cloud-PBX rows, and the calls still in flight at ``now``
    (``open_calls``: rows of :data:`~simroute.engine.rows.OPEN_FIELDS`), whose intervals end at ``now``.

    A call holds its DID from arrival to its end unless the DID refused it (number list, DID cap), and its
    group likewise unless the group cap refused it too; an attempt holds a trunk channel unless it was
    refused before seizing one.
    """
    return {kind: _joined(parts) for kind, parts in held_parts(net, rows, pbx, open_calls, now).items()}


def held_parts(net, rows: RowColumns, pbx: np.ndarray, open_calls: np.ndarray | None = None, now=None):
    """:func:`held_intervals` in the parts they come from (rows, cloud-PBX rows, calls in flight), not
    joined: what :class:`OccupancyTally` takes, which joins each set of intervals once, to sort it."""
    did_group = np.asarray(net.did_group + [-1], dtype=np.int64)
    did_cg = np.asarray(net.did_capacity_group + [-1], dtype=np.int64)
    seized = (rows.trunk >= 0) & ~one_of(rows.cause, _REFUSED)
    parts: dict[str, list[Held]] = {kind: [] for kind in KINDS}
    parts["trunk"].append(_held(rows.trunk, rows.start, rows.end, seized))
    last = rows.last
    every = bool(last.all())  # each call one attempt: no copy of its columns

    def of_last(column):
        return column if every else column[last]

    did, cause, trunk = of_last(rows.did), of_last(rows.cause), of_last(rows.trunk)
    arrival, end, channel = of_last(rows.arrival), of_last(rows.end), of_last(rows.channel)
    reached = (trunk >= 0) | (of_last(rows.attempt) > 1)  # a call's first attempt reached a trunk
    did_held = reached | ~one_of(cause, _BEFORE_GROUP)
    parts["did"].append(_held(did, arrival, end, did_held))
    if len(net.group_names):
        group = did_group[did]
        group_held = (group >= 0) & did_held & (reached | (cause != codes.GROUP_CAPACITY))
        parts["group"].append(_held(group, arrival, end, group_held))
    parts["pop"].append(_held(of_last(rows.pop), arrival, end))
    if len(net.capacity_group_names):
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
        parts["pop"].append(_held(o[:, _OPEN["ingress_pop"]].astype(np.int64), o_arrival, until))
        for kind, code in (("shared", codes.CHANNEL_SHARED), ("metered", codes.CHANNEL_METERED)):
            parts[kind].append(_held(did_cg[o_did], o_arrival, until, o_channel == code))
        queued, left = o[:, _OPEN["time_queued"]], o[:, _OPEN["time_left"]]
        parts["queue"].append(
            _held(o_trunk, queued, np.where(np.isnan(left), until, left), ~np.isnan(queued))
        )
        parts["agents"].append(_held(o_trunk, left, until, o[:, _OPEN["pbx_outcome"]] == codes.PBX_SERVED))
    return {kind: [p for p in held if len(p.entity)] for kind, held in parts.items()}


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
        self._starts = np.asarray([a for a, _ in windows], float)
        self._ends = np.asarray([b for _, b in windows], float)
        self.caps = congestion_caps(net)
        self.sizes = {kind: len(self.caps[kind]) for kind in KINDS}
        #: windows from this index on count trunks only (a run's clock hours and intervals, which the
        #: busy hour and the interval rows read only the trunks of), so thousands of DIDs cost one
        #: sweep per chunk, not one per hour
        self.detailed = len(windows) if detailed is None else detailed
        # per kind, per window (trunks: every window; other kinds: the detailed ones), per entity:
        # channel-seconds, peak, seconds at cap
        self._sums = {
            kind: np.zeros((len(windows) if kind == "trunk" else self.detailed, n, 3))
            for kind, n in self.sizes.items()
        }

    def add(self, held: dict[str, list[Held]], span: tuple[float, float] = (-math.inf, math.inf)) -> None:
        """Add the intervals of the span ``[t0, t1)`` (clipped to it), per kind in parts
        (:func:`held_parts`)."""
        t0, t1 = span
        starts, ends = np.maximum(self._starts, t0), np.minimum(self._ends, t1)
        every = np.flatnonzero(starts < ends)  # the windows that overlap the span, clipped to it
        detailed = every[every < self.detailed]
        sweeps = _Sweeps(span)
        for kind, n in self.sizes.items():
            h = held[kind]
            parts = every if kind == "trunk" else detailed
            if not n or not h or not len(parts):
                continue
            a, b = starts[parts], ends[parts]
            bounds = list(zip(a.tolist(), b.tolist()))
            caps, sums = self.caps[kind], self._sums[kind]
            # per entity, its starts and its ends in parts: one entity's as they come, else joined to
            # be split (one stable sort)
            if n == 1:
                per_entity = [([p.starts for p in h], [p.ends for p in h])]
            else:
                per_entity = [([s], [e]) for s, e in split(_joined(h), n)]
            for i, (s, e) in enumerate(per_entity):
                if not sum(map(len, s)):
                    continue
                occ = sweeps.get(s, e)
                if not len(occ.times):
                    continue
                sums[parts, i, 0] += occ.seconds(a, b)
                peaks = occ.peaks(a, b)
                sums[parts, i, 1] = np.maximum(sums[parts, i, 1], peaks)
                if caps[i] < UNLIMITED:  # a window that never reached the cap has no second at it
                    sums[parts, i, 2] += [
                        occ.seconds_at_or_above(caps[i], wa, wb) if peak >= caps[i] else 0.0
                        for (wa, wb), peak in zip(bounds, peaks.tolist())
                    ]

    def table(self, w: int, kinds=KINDS) -> dict[str, np.ndarray]:
        """Window ``w``'s rows of (carried erlangs, peak, time congestion) per kind (zeros for the kinds
        a window past ``detailed`` does not count)."""
        a, b = self.windows[w]
        out = {}
        for kind in kinds:
            sums = self._sums[kind]
            table = sums[w].copy() if w < len(sums) else np.zeros(sums.shape[1:])
            table[:, 0] /= b - a
            table[:, 2] /= b - a
            out[kind] = table
        return out


class _Sweeps:
    """One sweep per distinct set of intervals within a span, clipped to it: a DID alone on its trunk
    and POP holds the same intervals at all three (in the same order, else with equal sorted starts and
    ends)."""

    def __init__(self, span: tuple[float, float] = (-math.inf, math.inf)) -> None:
        self.t0, self.t1 = span
        self._by_id: dict = {}
        self._by_order: dict = {}
        self._by_key: dict = {}

    def get(self, starts: list[np.ndarray], ends: list[np.ndarray]) -> Occupancy:
        """The sweep of the intervals of one entity, their starts and ends in parts."""
        same = self._by_id.get(ids := tuple(map(id, starts + ends)))
        if same is not None:  # the very arrays (a DID's and its POP's when nothing refused a call)
            return same[1]
        occ = self._get(starts, ends)
        self._by_id[ids] = (starts + ends, occ)  # holds the arrays, so their ids stay theirs
        return occ

    def _get(self, starts: list[np.ndarray], ends: list[np.ndarray]) -> Occupancy:
        t0, t1 = self.t0, self.t1
        kept_starts, kept_ends = [], []
        for s, e in zip(starts, ends):
            keep = e > s  # clipped to the span, the interval still holds something
            if t0 > -math.inf:
                keep &= e > t0
            if t1 < math.inf:
                keep &= s < t1
            if not keep.all():
                s, e = s[keep], e[keep]
            if len(s):
                kept_starts.append(s)
                kept_ends.append(e)
        if not kept_starts:
            return _NONE
        # the same intervals in the same parts and order: the same sweep, found without sorting
        ordered = tuple(
            (len(s), float(s[0]), float(s[-1]), float(e[0]), float(e[-1]))
            for s, e in zip(kept_starts, kept_ends)
        )
        for s_parts, e_parts, occ in self._by_order.get(ordered, ()):
            if all(map(np.array_equal, s_parts + e_parts, kept_starts + kept_ends)):
                return occ
        key = _sorted(kept_starts, kept_ends)
        if t0 > -math.inf:  # clipped once sorted: the order stays
            np.maximum(key[0], t0, out=key[0])
        if t1 < math.inf:
            np.minimum(key[1], t1, out=key[1])
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
        self._by_order.setdefault(ordered, []).append((kept_starts, kept_ends, occ))
        return occ


#: what no interval holds: no event, no channel-second
_NONE = Occupancy.from_key(np.zeros(0), np.zeros(0))
