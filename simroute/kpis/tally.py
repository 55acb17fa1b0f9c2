"""KPIs accumulated while the simulation runs, for runs too long to keep records (``records="none"``).

:class:`LiveTally` stands where the engine writes attempt rows: instead of storing a row it counts it
into the window its call arrived in. Whether a row is its call's last follows from the row alone (the
same pure re-routing rule the engine applies), so no per-call state outlives the call. Channel
occupancy comes from the engine's own busy counters through :class:`Levels`. Memory is flat in the
number of calls; the 95th percentile of post-dial delay comes from a log-bucket sketch with a stated
relative accuracy.
"""

from __future__ import annotations

import bisect
import math
from array import array

import numpy as np

from ..engine.network import Network
from ..engine.routing import should_reroute
from ..engine.rows import PBX_FIELDS, ROW
from ..scenario import codes
from .metrics import PBX_COLUMNS, Tallies, congestion_caps, pbx_row_counts

__all__ = ["LiveTally", "Levels", "QuantileSketch"]

_ANSWERED, _TIMEOUT, _TRUNK_FULL = codes.ANSWERED, codes.RINGING_TIMEOUT, codes.TRUNK_CAPACITY
_REFUSED = frozenset({codes.NUMBER_LIST_REJECT, codes.TRUNK_CAPACITY, codes.POP_DOWN})
_BEFORE_GROUP = frozenset({codes.NUMBER_LIST_REJECT, codes.DID_CAPACITY})


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


class _Window:
    """Counters of one window (one list per entity: Python ints are cheapest to bump)."""

    def __init__(self, net: Network):
        self.trunk = [[0] * 7 for _ in net.trunk_names]
        self.did = [[0] * 3 for _ in net.did_numbers]
        self.group = [[0] * 2 for _ in net.group_names]
        self.pop = [[0] * 2 for _ in net.pop_names]
        self.outcomes: dict[int, int] = {}
        self.on_trunk = 0
        self.pdd_sum = 0.0
        self.pdd = QuantileSketch()
        self.trunk_seconds = [0.0] * len(net.trunk_names)
        self.metered_seconds = [0.0] * len(net.capacity_group_names)
        self.metered_calls = [0] * len(net.capacity_group_names)
        self.pbx = np.zeros((len(net.trunk_names), len(PBX_COLUMNS)))


class LiveTally:
    """A sink for the engine's attempt rows that counts them instead of keeping them (a RowSink)."""

    chunk_rows = 1 << 16

    def __init__(self, net: Network, windows: list[tuple[float, float]], keep_calls: bool = False):
        self.net = net
        self.windows = windows
        self._starts = [a for a, _ in windows]
        self._counts = [_Window(net) for _ in windows]
        self._open: dict[int, tuple[float, int]] = {}  # calls with attempts still to come
        self._route_length = [len(net.route_trunks(d)) for d in range(len(net.did_numbers))]
        self._max_attempts = [net.group_max_attempts[g] if g >= 0 else 1 for g in net.did_group]
        self.calls = array("d") if keep_calls else None
        self.levels = Levels(net, windows)
        self.pbx_rows = _PbxRows(self)

    def take(self, rows: bytes, pbx_rows: bytes) -> None:
        """A chunk of the engine's rows (RowSink)."""
        self.take_rows(rows)
        self.take_pbx(pbx_rows)

    def take_rows(self, rows: bytes) -> list[bool]:
        """Count a chunk of packed attempt rows; per row, whether it is its call's last."""
        return [self.extend(row) for row in ROW.iter_unpack(rows)]

    def take_pbx(self, pbx_rows: bytes) -> None:
        flat = np.frombuffer(pbx_rows, dtype=np.float64)
        for row in flat.reshape(-1, len(PBX_FIELDS)).tolist():
            self.pbx_rows.extend(row)

    def _window(self, t: float) -> int:
        w = bisect.bisect_right(self._starts, t) - 1
        return w if w >= 0 and t < self.windows[w][1] else -1

    def extend(self, row) -> bool:
        """Count one attempt row (the engine calls this where it would append to its buffer); True when
        it is its call's last."""
        cid, k, d, caller, ingress, t, ts, tc, te, cause, channel = row
        last = (
            cause == _ANSWERED
            or t < 0
            or not should_reroute(cause, self.net.reroute[t], k, self._route_length[d], self._max_attempts[d])
        )
        if k == 1:
            arrival, w = ts, self._window(ts)
            if not last:
                self._open[cid] = (arrival, w)
        else:
            arrival, w = self._open.pop(cid) if last else self._open[cid]
        if w >= 0:
            c = self._counts[w]
            if t >= 0:
                row_counts = c.trunk[t]
                row_counts[0] += 1
                c.on_trunk += 1
                if k == 1:
                    row_counts[2] += 1
                    c.did[d][2] += 1
                if cause == _TRUNK_FULL:
                    row_counts[3] += 1
                elif cause not in _REFUSED:
                    row_counts[4] += 1
                    if cause == _ANSWERED:
                        row_counts[1] += 1
                    elif cause == _TIMEOUT:
                        row_counts[6] += 1
                    else:
                        row_counts[5] += 1
            if last:
                answered = cause == _ANSWERED
                c.outcomes[cause] = c.outcomes.get(cause, 0) + 1
                for table, i in ((c.did, d), (c.pop, ingress)):
                    table[i][0] += 1
                    table[i][1] += answered
                g = self.net.did_group[d]
                if g >= 0 and not (t < 0 and cause in _BEFORE_GROUP):
                    c.group[g][0] += 1
                    c.group[g][1] += answered
                if answered:
                    c.pdd_sum += tc - arrival
                    c.pdd.add(tc - arrival)
                    c.trunk_seconds[t] += te - tc
                if channel == 3:
                    cg = self.net.did_capacity_group[d]
                    c.metered_seconds[cg] += te - arrival
                    c.metered_calls[cg] += 1
        if last and self.calls is not None:
            self.calls.extend(
                (cid, d, caller, ingress, arrival, k, t if cause == _ANSWERED else -1, tc, te, cause, channel)
            )
        return last

    def tallies(self, w: int) -> Tallies:
        """Window ``w``'s counts in the form :func:`simroute.metrics.assemble` reads."""
        c = self._counts[w]
        return Tallies(
            outcomes=dict(c.outcomes),
            trunk=np.array(c.trunk, dtype=np.int64).reshape(-1, 7),
            did=np.array(c.did, dtype=np.int64).reshape(-1, 3),
            group=np.array(c.group, dtype=np.int64).reshape(-1, 2),
            pop=np.array(c.pop, dtype=np.int64).reshape(-1, 2),
            attempts_on_trunks=c.on_trunk,
            pdd_sum=c.pdd_sum,
            pdd_count=c.pdd.count,
            pdd_p95=c.pdd.quantile(0.95),
            occupancy=self.levels.table(w),
            window=self.windows[w],
            trunk_seconds=np.asarray(c.trunk_seconds),
            pbx=c.pbx,
            metered_seconds=np.asarray(c.metered_seconds),
            metered_calls=np.asarray(c.metered_calls),
        )


class _PbxRows:
    """Where the engine writes cloud-PBX rows in a live run: counted into the call's window."""

    def __init__(self, tally: LiveTally):
        self.tally = tally

    def extend(self, row) -> None:
        cid, trunk, arrival, answer, queued, left, outcome, end = row
        w = self.tally._window(arrival)
        if w >= 0:
            self.tally._counts[w].pbx[int(trunk)] += pbx_row_counts(
                self.tally.net, int(trunk), queued, left, int(outcome)
            )


class Levels:
    """Time-weighted channel statistics per window, from busy counters observed after every event.

    The engine calls :meth:`boundary` at each window's start and end, so that per event only the level
    held since the last change is added to the current window (no window arithmetic per event).
    """

    KINDS = ("trunk", "did", "group", "pop", "shared", "metered", "queue", "agents")

    def __init__(self, net: Network, windows: list[tuple[float, float]]):
        self.windows = windows
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
            self.done[self.current] = (self.area, self.at_cap, self.peak)
        self.current = next((w for w, (a, b) in enumerate(self.windows) if a <= now < b), -1)
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

    def _advance(self, kind: int, i: int, now: float) -> None:
        """Add the level held since the last change to the current window."""
        dt = now - self.since[kind][i]
        if dt > 0 and self.current >= 0:
            level = self.last[kind][i]
            self.area[kind][i] += level * dt
            if level >= self.caps[kind][i]:
                self.at_cap[kind][i] += dt
        self.since[kind][i] = now

    def table(self, w: int) -> dict[str, np.ndarray]:
        a, b = self.windows[w]
        area, at_cap, peak = self.done[w]
        return {
            name: np.column_stack(
                [
                    np.asarray(area[k], float) / (b - a),
                    np.asarray(peak[k], float),
                    np.asarray(at_cap[k], float) / (b - a),
                ]
            ).reshape(len(self.caps[k]), 3)
            for k, name in enumerate(self.KINDS)
        }
