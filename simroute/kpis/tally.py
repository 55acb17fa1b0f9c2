"""KPIs accumulated while the simulation runs, for runs too long to keep records (``records="none"``).

:class:`LiveTally` is the sink a live engine hands its rows to, a chunk at a time: it counts each chunk
with the same rule as kept records (:func:`~.counting.count_rows`) and keeps only the counts. Whether a
row is its call's last follows from the row alone (the same pure re-routing rule the engine applies);
the arrival of a call with more attempts to come is kept until its last row. Channel occupancy comes
from the engine's own busy counters through :class:`Levels`, which looks only at the counters the event
moved. Memory is flat in the number of calls; the 95th percentile of post-dial delay comes from a
log-bucket sketch with a stated relative accuracy.

The windows asked for may overlap (the KPI window, its clock hours, the intervals of ``--interval``):
the tally counts the disjoint pieces their edges cut the time axis into, and a window's tallies are the
sum of its pieces (peaks their maximum, sketches merged).
"""

from __future__ import annotations

import itertools
import math
from array import array
from bisect import bisect_left, bisect_right

import numpy as np

from ..engine.network import Network
from ..engine.redial import redialling
from ..engine.rows import PBX_FIELDS, REDIAL_FIELDS, ROW_DTYPE
from ..scenario import codes
from .counting import PBX_COLUMNS, Counts, RowColumns, count_pbx, count_rows, window_of
from .metrics import Tallies, congestion_caps
from .redial import count_redial, empty_counts, redial_table

__all__ = ["LiveTally", "Levels", "QuantileSketch", "last_rows", "pieces"]

#: the redial columns holding the earliest and the latest time a window can count a try by
_REDIAL_EARLY = [REDIAL_FIELDS.index(f) for f in ("time_arrival", "time_first_arrival", "time_end")]
_REDIAL_LATE = [REDIAL_FIELDS.index(f) for f in ("time_arrival", "orbit_end")]


class QuantileSketch:
    """Streaming quantiles of positive numbers, each within ``accuracy`` (relative) of the true order
    statistic: log-spaced buckets, as DDSketch does. Zeros are counted apart."""

    def __init__(self, accuracy: float = 0.001):
        self.accuracy = accuracy
        self._gamma = (1 + accuracy) / (1 - accuracy)
        self._log_gamma = math.log(self._gamma)
        self._buckets: dict[int, int] = {}
        self._zeros = 0
        self.count = 0

    def add(self, x: float) -> None:
        self.count += 1
        if x <= 0:
            self._zeros += 1
            return
        key = math.ceil(math.log(x) / self._log_gamma)
        self._buckets[key] = self._buckets.get(key, 0) + 1

    def add_many(self, values: np.ndarray) -> None:
        """Add every value of an array (bucket keys counted with one bincount, no sort)."""
        values = np.asarray(values, float)
        if not values.size:
            return
        self.count += int(values.size)
        positive = values[values > 0]
        self._zeros += int(values.size - positive.size)
        if not positive.size:
            return
        keys = np.ceil(np.log(positive) / self._log_gamma).astype(np.int64)
        low = int(keys.min())
        counts = np.bincount(keys - low)
        buckets = self._buckets
        for offset in np.flatnonzero(counts).tolist():
            key = low + offset
            buckets[key] = buckets.get(key, 0) + int(counts[offset])

    def merge(self, other: QuantileSketch) -> None:
        """Add ``other``'s values (a sketch of the same accuracy): the buckets add up."""
        self.count += other.count
        self._zeros += other._zeros
        for key, n in other._buckets.items():
            self._buckets[key] = self._buckets.get(key, 0) + n

    def quantile(self, q: float) -> float | None:
        """The value at rank ``q * (count - 1)`` (lower order statistic), or None when empty."""
        if not self.count:
            return None
        rank = math.floor(q * (self.count - 1))
        seen = self._zeros
        if rank < seen:
            return 0.0
        for key in sorted(self._buckets):
            seen += self._buckets[key]
            if rank < seen:
                return 2 * self._gamma**key / (self._gamma + 1)
        return None  # pragma: no cover - ranks above count are impossible


class _Reroute:
    """The engine's re-routing rule over columns: per row, whether the call goes on to another trunk."""

    def __init__(self, net: Network):
        self.codes = np.asarray(sorted(set().union(*net.reroute)) or [-1], dtype=np.int64)
        table = np.zeros((len(net.trunk_names) + 1, len(self.codes)), dtype=bool)
        for t, causes in enumerate(net.reroute):
            table[t, np.searchsorted(self.codes, sorted(causes))] = True
        self.table = table  # last row: trunk -1 (refused before any trunk) never re-routes
        self.route_length = np.asarray(
            [len(net.route_trunks(d)) for d in range(len(net.did_numbers))], dtype=np.int64
        )
        self.max_attempts = np.asarray(
            [net.group_max_attempts[g] if g >= 0 else 1 for g in net.did_group], dtype=np.int64
        )

    def __call__(self, trunk, cause, attempt, did) -> np.ndarray:
        at = np.minimum(np.searchsorted(self.codes, cause), len(self.codes) - 1)
        listed = (self.codes[at] == cause) & self.table[trunk, at]
        return listed & (attempt < self.route_length[did]) & (attempt < self.max_attempts[did])


def last_rows(reroute: _Reroute, trunk, cause, attempt, did) -> np.ndarray:
    """Per row: is it its call's last attempt (answered, refused before a trunk, or not re-routed)."""
    return (cause == codes.ANSWERED) | (trunk < 0) | ~reroute(trunk, cause, attempt, did)


def pieces(windows: list[tuple[float, float]]) -> tuple[list[tuple[float, float]], list[range]]:
    """The disjoint pieces that the edges of ``windows`` (which may overlap) cut the time they cover
    into, in order, and per window the range of its pieces."""
    union: list[list[float]] = []  # the windows merged where they overlap or touch
    for a, b in sorted(windows):
        if union and a <= union[-1][1]:
            union[-1][1] = max(union[-1][1], b)
        else:
            union.append([a, b])
    ends = [b for _, b in union]
    edges = sorted({t for window in windows for t in window})
    covered = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if a >= union[bisect_left(ends, b)][0]]
    starts = [a for a, _ in covered]
    return covered, [range(bisect_left(starts, a), bisect_left(starts, b)) for a, b in windows]


class LiveTally:
    """A sink for the engine's rows (a RowSink) that counts them instead of keeping them."""

    chunk_rows = 1 << 16

    def __init__(self, net: Network, windows: list[tuple[float, float]], keep_calls: bool = False):
        self.net = net
        self.windows = windows
        self._pieces, self._of = pieces(windows)
        self._starts, self._ends = [a for a, _ in self._pieces], [b for _, b in self._pieces]
        n = len(self._pieces)
        self._counts = [Counts.empty(net) for _ in range(n)]
        self._pdd = [QuantileSketch() for _ in range(n)]
        self._pbx = [np.zeros((len(net.trunk_names), len(PBX_COLUMNS))) for _ in range(n)]
        self._open: dict[int, float] = {}  # arrival of the calls with attempts still to come
        self._reroute = _Reroute(net)
        self.calls = array("d") if keep_calls else None
        self.levels = Levels(net, self._pieces)
        self._redial = [empty_counts() for _ in range(n)] if redialling(net.scenario) else None
        #: with calls kept and redial: per try its call id, its caller's first call id and its try number
        self.links = array("d") if keep_calls and self._redial is not None else None

    def take(self, rows: bytes, pbx_rows: bytes) -> None:
        """A chunk of the engine's rows (RowSink)."""
        self.take_rows(rows)
        self.take_pbx(pbx_rows)

    def take_rows(self, rows: bytes) -> np.ndarray:
        """Count a chunk of packed attempt rows; per row, whether it is its call's last."""
        table = np.frombuffer(rows, dtype=ROW_DTYPE)
        cid, attempt = table["call_id"], table["routing_attempt"]
        trunk, cause, did = table["trunk"], table["cause"], table["did"]
        last = last_rows(self._reroute, trunk, cause, attempt, did)
        arrival = table["time_start"].copy()  # a call's first attempt starts when it arrives
        opening = (attempt == 1) & ~last
        if opening.any():
            self._open.update(zip(cid[opening].tolist(), arrival[opening].tolist()))
        later = attempt > 1
        if later.any():
            open_calls = self._open
            arrival[later] = [open_calls[c] for c in cid[later].tolist()]
            for c in cid[later & last].tolist():
                del open_calls[c]
        columns = RowColumns(
            attempt=attempt,
            did=did,
            pop=table["ingress_pop"],
            trunk=trunk,
            connect=table["time_connect"],
            end=table["time_end"],
            cause=cause,
            channel=table["channel"],
            arrival=arrival,
            last=last,
        )
        for p, rows_of_p in _by_piece(window_of(self._pieces, arrival)):
            self._pdd[p].add_many(count_rows(self.net, columns, rows_of_p, self._counts[p]))
        if self.calls is not None:
            self._keep_calls(table[last], arrival[last])
        return last

    def _keep_calls(self, ends: np.ndarray, arrival: np.ndarray) -> None:
        """One row per call (CALL_FIELDS), from its last attempt."""
        answered = ends["cause"] == codes.ANSWERED
        rows = np.column_stack(
            [
                ends["call_id"],
                ends["did"],
                ends["caller"],
                ends["ingress_pop"],
                arrival,
                ends["routing_attempt"],
                np.where(answered, ends["trunk"], -1),
                ends["time_connect"],
                ends["time_end"],
                ends["cause"],
                ends["channel"],
            ]
        ).astype(np.float64)
        assert self.calls is not None
        self.calls.frombytes(rows.tobytes())

    def take_pbx(self, pbx_rows: bytes) -> None:
        """Count a chunk of cloud-PBX rows into their calls' windows."""
        table = np.frombuffer(pbx_rows, dtype=np.float64).reshape(-1, len(PBX_FIELDS))
        if not len(table):
            return
        for p, rows_of_p in _by_piece(window_of(self._pieces, table[:, 2])):
            count_pbx(self.net, table, rows_of_p, self._pbx[p])

    def take_redial(self, rows: bytes) -> None:
        """Count a chunk of redial rows into each window (RowSink)."""
        if self._redial is None:
            return
        table = redial_table(rows)
        if len(table):
            # the pieces this chunk can add to: from its earliest time (a caller's first arrival, a
            # try's end) to its latest (an arrival, the end of a wait to try again)
            lo, hi = float(table[:, _REDIAL_EARLY].min()), float(table[:, _REDIAL_LATE].max())
            first, last = bisect_right(self._ends, lo), bisect_right(self._starts, hi)
            for p in range(first, last):
                a, b = self._pieces[p]
                count_redial(table, a, b, self._redial[p])
        if self.links is not None:
            self.links.frombytes(np.ascontiguousarray(table[:, :3]).tobytes())

    def tallies(self, w: int) -> Tallies:
        """Window ``w``'s counts in the form :func:`simroute.kpis.metrics.assemble` reads: the sum of
        its pieces."""
        parts = self._of[w]
        counts, pdd, pbx = Counts.empty(self.net), QuantileSketch(), np.zeros_like(self._pbx[0])
        redial = None if self._redial is None else empty_counts()
        for p in parts:
            counts.add(self._counts[p])
            pdd.merge(self._pdd[p])
            pbx += self._pbx[p]
            if redial is not None and self._redial is not None:
                redial += self._redial[p]
        window = self.windows[w]
        return Tallies.of(counts, pdd.quantile(0.95), self.levels.table(parts), window, pbx, redial)


def _by_piece(piece: np.ndarray):
    """``(p, rows)`` per piece ``p`` that some row falls in (``rows``: their indices, in order)."""
    order = np.argsort(piece, kind="stable")
    sorted_piece = piece[order]
    present, first = np.unique(sorted_piece, return_index=True)
    bounds = np.append(first, len(order))
    for p, i, j in zip(present.tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
        if p >= 0:
            yield p, order[i:j]


class Levels:
    """Time-weighted channel statistics per window, from busy counters observed after every event.

    The engine calls :meth:`boundary` at each window's start and end, so that per event only the level
    held since the last change is added to the current window (no window arithmetic per event).
    """

    KINDS = ("trunk", "did", "group", "pop", "shared", "metered", "queue", "agents")

    def __init__(self, net: Network, windows: list[tuple[float, float]]):
        self.windows = windows
        self._starts = [a for a, _ in windows]
        caps = congestion_caps(net)
        self.caps = [list(caps[k]) for k in self.KINDS]
        # the kinds whose counters can move: some entity exists, and queues and agents only with a cloud PBX
        pbx = bool(net.pbx_trunks)
        self.active = [
            k
            for k, name in enumerate(self.KINDS)
            if self.caps[k] and (pbx or name not in ("queue", "agents"))
        ]
        self.last = [[0] * len(c) for c in self.caps]
        self.since = [[0.0] * len(c) for c in self.caps]
        self.current = -1  # the window the clock is in, -1 outside every window
        self._fresh()
        self.done: dict[int, tuple] = {}

    def _fresh(self):
        self.area = [[0.0] * len(c) for c in self.caps]
        self.at_cap = [[0.0] * len(c) for c in self.caps]
        self.peak = [list(levels) for levels in self.last]  # the levels in force when a window opens

    def boundary_times(self) -> list[float]:
        """Times at which :meth:`boundary` must be called, in order."""
        return sorted({t for window in self.windows for t in window})

    def boundary(self, now: float) -> None:
        """Close the current window at ``now`` and open the one starting there (if any)."""
        for kind, last in enumerate(self.last):
            for i in range(len(last)):
                self._advance(kind, i, now)
        if self.current >= 0:
            # one flat array each (a long run keeps a window an hour): every kind's entities in a row
            self.done[self.current] = tuple(
                np.fromiter(itertools.chain.from_iterable(part), float)
                for part in (self.area, self.at_cap, self.peak)
            )
        w = bisect_right(self._starts, now) - 1  # the windows are disjoint and in order
        self.current = w if w >= 0 and now < self.windows[w][1] else -1
        self._fresh()

    def observe(self, now: float, busy: list[list[int]]) -> None:
        """Account for every counter that changed since the last look (cheap when none did)."""
        inside = self.current >= 0
        for kind in self.active:
            levels, last = busy[kind], self.last[kind]
            if levels == last:
                continue
            since, area, at_cap, peak, caps = (
                self.since[kind],
                self.area[kind],
                self.at_cap[kind],
                self.peak[kind],
                self.caps[kind],
            )
            for i, new in enumerate(levels):
                old = last[i]
                if new != old:
                    if inside:  # _advance inlined: this runs after every event
                        dt = now - since[i]
                        area[i] += old * dt
                        if old >= caps[i]:
                            at_cap[i] += dt
                        if new > peak[i]:
                            peak[i] = new
                    since[i] = now
                    last[i] = new

    # the kinds' indices in KINDS (and in the engine's list of busy counters)
    TRUNK, DID, GROUP, POP, SHARED, METERED, QUEUE, AGENTS = range(8)

    def watch(self, busy: list[list[int]], net: Network) -> None:
        """Observe these busy counters (the engine's, in KINDS order) through :meth:`moved`."""
        self.busy = busy
        self._did_group = net.did_group
        self._did_cg = net.did_capacity_group
        self._pbx_trunks = frozenset(net.pbx_trunks)

    def moved(self, now: float, call) -> None:
        """After an event that moved ``call``: account for the counters that event can have changed,
        the call's own (its trunks so far, DID, group, POP, shared or metered channels) and its cloud
        PBX's queue and agents. Cost independent of how many entities there are."""
        d, k = call.did, call.k
        busy, last = self.busy, self.last
        t = call.order[k]
        # the three counters every event of a call can move, compared first (the common case: all moved)
        if busy[0][t] != last[0][t]:
            self._change(0, t, now)
        if busy[1][d] != last[1][d]:
            self._change(1, d, now)
        p = call.ingress
        if busy[3][p] != last[3][p]:
            self._change(3, p, now)
        if k:  # re-routed: the trunks tried before
            for u in call.order[:k]:
                if busy[0][u] != last[0][u]:
                    self._change(0, u, now)
        g = self._did_group[d]
        if g >= 0 and busy[2][g] != last[2][g]:
            self._change(2, g, now)
        channel = call.channel
        if channel == codes.CHANNEL_SHARED or channel == codes.CHANNEL_METERED:
            kind = 4 if channel == codes.CHANNEL_SHARED else 5
            cg = self._did_cg[d]
            if busy[kind][cg] != last[kind][cg]:
                self._change(kind, cg, now)
        if self._pbx_trunks and t in self._pbx_trunks:
            self.pbx_moved(now, t)

    def pbx_moved(self, now: float, t: int) -> None:
        """After an event of trunk ``t``'s cloud PBX: its queue and agents."""
        busy, last = self.busy, self.last
        for kind in (6, 7):
            if busy[kind][t] != last[kind][t]:
                self._change(kind, t, now)

    def _change(self, kind: int, i: int, now: float) -> None:
        """Counter ``i`` of ``kind`` moved: add the level it held until ``now`` to the current window."""
        new = self.busy[kind][i]
        last = self.last[kind]
        if self.current >= 0:
            old = last[i]
            dt = now - self.since[kind][i]
            self.area[kind][i] += old * dt
            if old >= self.caps[kind][i]:
                self.at_cap[kind][i] += dt
            if new > self.peak[kind][i]:
                self.peak[kind][i] = new
        self.since[kind][i] = now
        last[i] = new

    def _advance(self, kind: int, i: int, now: float) -> None:
        """Add the level held since the last change to the current window."""
        dt = now - self.since[kind][i]
        if dt > 0 and self.current >= 0:
            level = self.last[kind][i]
            self.area[kind][i] += level * dt
            if level >= self.caps[kind][i]:
                self.at_cap[kind][i] += dt
        self.since[kind][i] = now

    def table(self, windows: range) -> dict[str, np.ndarray]:
        """Carried erlangs, peak and time congestion per entity over consecutive ``windows``."""
        a, b = self.windows[windows[0]][0], self.windows[windows[-1]][1]
        done = [self.done[w] for w in windows]
        area = np.sum([d[0] for d in done], axis=0) / (b - a)
        at_cap = np.sum([d[1] for d in done], axis=0) / (b - a)
        peak = np.max([d[2] for d in done], axis=0)
        table, at = {}, 0
        for k, name in enumerate(self.KINDS):
            n = len(self.caps[k])
            table[name] = np.column_stack([area[at : at + n], peak[at : at + n], at_cap[at : at + n]])
            at += n
        return table
