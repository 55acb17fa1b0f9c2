"""KPIs accumulated chunk by chunk while the simulation runs: the one way every run counts its KPIs.

:class:`LiveTally` is the sink an engine hands its rows to (a RowSink), a chunk at a time, whether the
rows are then kept (:class:`~simroute.records.kept.KeptRows`), streamed to a file or dropped: it counts
each chunk with :func:`~.counting.count_rows` and adds its channel occupancy with :mod:`.occupancy`
(the intervals that ended in the chunk and those still open), keeping only the counts. Whether a row is
its call's last follows from the row alone (the same pure re-routing rule the engine applies); the
arrival of a call with more attempts to come is kept until its last row. Memory is flat in the number
of calls; the 95th percentile of post-dial delay is exact when the records are kept, else from a
log-bucket sketch with a stated relative accuracy.

The windows asked for may overlap (the KPI window, its clock hours, the intervals of ``--interval``):
the tally counts the disjoint pieces their edges cut the time axis into, and a window's counts are the
sum of its pieces (sketches merged); its occupancy is swept over the window itself.
"""

from __future__ import annotations

import math
from array import array
from bisect import bisect_left, bisect_right

import numpy as np

from ..engine.network import Network
from ..engine.redial import redialling
from ..engine.rows import OPEN_FIELDS, PBX_FIELDS, REDIAL_FIELDS, ROW_DTYPE
from ..records.attempts import Records
from ..scenario import codes
from .counting import PBX_COLUMNS, PieceCounts, RowColumns, count_pbx, count_rows, window_of
from .metrics import Tallies, assemble, row_columns
from .occupancy import OccupancyTally, held_parts
from .redial import count_redial, empty_counts, redial_table

__all__ = ["LiveTally", "QuantileSketch", "last_rows", "pieces", "quantile", "summarize"]

#: the redial columns holding the earliest and the latest time a window can count a try by
_REDIAL_EARLY = [REDIAL_FIELDS.index(f) for f in ("time_arrival", "time_first_arrival", "time_end")]
_REDIAL_LATE = [REDIAL_FIELDS.index(f) for f in ("time_arrival", "orbit_end")]


class QuantileSketch:
    """Streaming quantiles of positive numbers, each within ``accuracy`` (relative) of the true order
    statistic: log-spaced buckets, as DDSketch does. Zeros are counted apart.

    The buckets are kept as arrays (distinct keys, counts), a part per batch added, joined when a
    quantile is asked for (or parts pile up): adding a chunk's values runs no Python per bucket.
    """

    def __init__(self, accuracy: float = 0.001):
        self.accuracy = accuracy
        self._gamma = (1 + accuracy) / (1 - accuracy)
        self._log_gamma = math.log(self._gamma)
        self._parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._zeros = 0
        self.count = 0

    def add_many(self, values: np.ndarray) -> None:
        """Add every value of an array (bucket keys counted with one bincount, no sort)."""
        values = np.asarray(values, float)
        self.add_keys(self.keys(values[values > 0]), len(values))

    def keys(self, positive: np.ndarray) -> np.ndarray:
        """The bucket key of each positive value."""
        return np.ceil(np.log(positive) / self._log_gamma).astype(np.int64)

    def add_keys(self, keys: np.ndarray, values: int) -> None:
        """Add ``values`` values: those with these bucket ``keys``, the others zeros."""
        self.count += values
        self._zeros += values - len(keys)
        if not len(keys):
            return
        low = int(keys.min())
        counts = np.bincount(keys - low)
        present = np.flatnonzero(counts)
        self._add_part((present + low, counts[present]))

    def merge(self, other: QuantileSketch) -> None:
        """Add ``other``'s values (a sketch of the same accuracy): the buckets add up."""
        self.count += other.count
        self._zeros += other._zeros
        for part in other._parts:
            self._add_part(part)

    def _add_part(self, part: tuple[np.ndarray, np.ndarray]) -> None:
        self._parts.append(part)
        if len(self._parts) > 32:
            self._parts = [_joined_buckets(self._parts)]

    def quantile(self, q: float) -> float | None:
        """The value at rank ``q * (count - 1)`` (lower order statistic), or None when empty."""
        if not self.count:
            return None
        rank = math.floor(q * (self.count - 1))
        if rank < self._zeros:
            return 0.0
        keys, counts = _joined_buckets(self._parts)
        at = int(np.searchsorted(np.cumsum(counts), rank - self._zeros, side="right"))  # its bucket
        if at >= len(keys):  # pragma: no cover - ranks above count are impossible
            return None
        return 2 * self._gamma ** int(keys[at]) / (self._gamma + 1)


def _joined_buckets(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Parts of (distinct keys, counts) as one, keys in order."""
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    keys, index = np.unique(np.concatenate([k for k, _ in parts]), return_inverse=True)
    counts = np.bincount(index, weights=np.concatenate([c for _, c in parts]), minlength=len(keys))
    return keys, counts.astype(np.int64)  # float sums of whole numbers below 2**53: exact


class _Reroute:
    """The engine's re-routing rule over columns: per row, whether the call goes on to another trunk."""

    def __init__(self, net: Network):
        self.codes = np.asarray(sorted(set().union(*net.reroute)) or [-1], dtype=np.int64)
        table = np.zeros((len(net.trunk_names) + 1, len(self.codes)), dtype=bool)
        for t, causes in enumerate(net.reroute):
            table[t, np.searchsorted(self.codes, sorted(causes))] = True
        self.table = table  # last row: trunk -1 (refused before any trunk) never re-routes
        #: per DID, how many attempts a call may make (Network.call_attempts, the one rule)
        self.attempts = np.asarray([net.call_attempts(d) for d in range(len(net.did_numbers))], np.int64)
        #: no trunk re-routes on any cause, or no call has a second trunk: every row is its call's last
        self.never = not table.any() or not (self.attempts > 1).any()

    def __call__(self, trunk, cause, attempt, did) -> np.ndarray:
        at = np.minimum(np.searchsorted(self.codes, cause), len(self.codes) - 1)
        listed = (self.codes[at] == cause) & self.table[trunk, at]
        return listed & (attempt < self.attempts[did])


def last_rows(reroute: _Reroute, trunk, cause, attempt, did) -> np.ndarray:
    """Per row: is it its call's last attempt (answered, refused before a trunk, or not re-routed)."""
    if reroute.never:
        return np.ones(len(cause), bool)
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
    """A sink for the engine's rows (a RowSink) that counts them instead of keeping them.

    ``exact_pdd``: keep every answered call's post-dial delay for an exact percentile (8 bytes a call:
    what a run that keeps its records can afford), instead of the sketch. ``detailed``: windows from
    this index on get the occupancy of trunks only (see :class:`~.occupancy.OccupancyTally`).
    """

    #: rows per chunk: at least ``chunk_rows``, and ``rows_per_entity`` per DID and trunk, up to
    #: ``max_chunk_rows`` (64 MB of rows), since each chunk sweeps every entity's occupancy: with thousands
    #: of DIDs that per-entity work, not the rows, would otherwise dominate (set in ``__init__``)
    chunk_rows = 1 << 16
    rows_per_entity = 256
    max_chunk_rows = 1 << 20

    def __init__(
        self,
        net: Network,
        windows: list[tuple[float, float]],
        keep_calls: bool = False,
        exact_pdd: bool = False,
        detailed: int | None = None,
    ):
        self.net = net
        self.windows = windows
        entities = len(net.did_numbers) + len(net.trunk_names)
        self.chunk_rows = min(max(self.chunk_rows, self.rows_per_entity * entities), self.max_chunk_rows)
        self._pieces, self._of = pieces(windows)
        self._starts, self._ends = [a for a, _ in self._pieces], [b for _, b in self._pieces]
        self._edges = (np.asarray(self._starts, float), np.asarray(self._ends, float))
        n = len(self._pieces)
        self._counts = PieceCounts(net, n)
        self._pdd = [QuantileSketch() for _ in range(n)]
        self._pdd_values: list[list[np.ndarray]] | None = [[] for _ in range(n)] if exact_pdd else None
        self._pbx = [np.zeros((len(net.trunk_names), len(PBX_COLUMNS))) for _ in range(n)]
        self._open = _Arrivals()  # of the calls with attempts still to come
        self._reroute = _Reroute(net)
        self.calls = array("d") if keep_calls else None
        self.occupancy = OccupancyTally(net, windows, detailed)
        self._span_start = -math.inf  # the previous hand-over
        self._redial = [empty_counts() for _ in range(n)] if redialling(net.scenario) else None
        #: with calls kept and redial: per try its call id, its caller's first call id and its try number
        self.links = array("d") if keep_calls and self._redial is not None else None

    def take(self, rows: bytes, pbx_rows: bytes, open_calls: bytes = b"", now: float | None = None):
        """A chunk of the engine's rows (RowSink); returns, per attempt row, whether it is its call's last."""
        table = np.frombuffer(rows, dtype=ROW_DTYPE)
        columns = self._columns(table)
        if self.calls is not None:
            self._keep_calls(table[columns.last], columns.arrival[columns.last])
        pbx = np.frombuffer(pbx_rows, dtype=np.float64).reshape(-1, len(PBX_FIELDS))
        in_flight = np.frombuffer(open_calls, dtype=np.float64).reshape(-1, len(OPEN_FIELDS))
        self.add(columns, pbx, in_flight, now)
        return columns.last

    def add(self, columns: RowColumns, pbx: np.ndarray, in_flight=None, now: float | None = None) -> None:
        """Count rows (with their calls' arrivals and last flags) and cloud-PBX rows; add the occupancy
        of the span from the previous hand-over to ``now`` (None: to the end of the run)."""
        delays = count_rows(self.net, columns, window_of(self._edges, columns.arrival), self._counts)
        if self._pdd_values is not None:
            for p, pdd in delays:
                self._pdd_values[p].append(pdd)
        elif delays:  # the bucket keys of the whole chunk at once, then each piece's
            every = np.concatenate([pdd for _, pdd in delays])
            positive = every > 0
            keys = np.zeros(len(every), np.int64)
            keys[positive] = self._pdd[0].keys(every[positive])
            at = 0
            for p, pdd in delays:
                piece = slice(at, at + len(pdd))
                self._pdd[p].add_keys(keys[piece][positive[piece]], len(pdd))
                at += len(pdd)
        if len(pbx):
            for p, rows_of_p in _by_piece(window_of(self._edges, pbx[:, 2])):
                count_pbx(self.net, pbx, rows_of_p, self._pbx[p])
        end = math.inf if now is None else now
        held = held_parts(self.net, columns, pbx, in_flight, end)
        self.occupancy.add(held, (self._span_start, end))
        self._span_start = end

    def take_redial(self, rows: bytes) -> None:
        """Count a chunk of redial rows into each window (RowSink)."""
        self.add_redial(redial_table(rows))

    def add_redial(self, table: np.ndarray) -> None:
        if self._redial is None:
            return
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

    def _columns(self, table: np.ndarray) -> RowColumns:
        """The rows as the counting rule reads them: each row's call arrival, and whether it is the last."""
        attempt = table["routing_attempt"]
        trunk, cause, did = table["trunk"], table["cause"], table["did"]
        last = last_rows(self._reroute, trunk, cause, attempt, did)
        start = table["time_start"].copy()
        arrival = self._open.arrivals(table["call_id"], start, attempt, last)
        return RowColumns(
            attempt=attempt,
            did=did,
            pop=table["ingress_pop"],
            trunk=trunk,
            start=start,
            connect=table["time_connect"],
            end=table["time_end"],
            cause=cause,
            channel=table["channel"],
            arrival=arrival,
            last=last,
        )

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

    def pdd_p95(self, parts) -> float | None:
        """The 95th percentile of post-dial delay over these pieces (exact, or the sketches merged)."""
        if self._pdd_values is None:
            pdd = QuantileSketch()
            for p in parts:
                pdd.merge(self._pdd[p])
            return pdd.quantile(0.95)
        values = [v for p in parts for v in self._pdd_values[p]]
        every = np.concatenate(values) if values else np.zeros(0)
        return quantile(every, 0.95) if every.size else None

    def tallies(self, w: int) -> Tallies:
        """Window ``w``'s counts in the form :func:`simroute.kpis.metrics.assemble` reads: the sum of
        its pieces; its occupancy swept over the window."""
        parts = self._of[w]
        counts, pbx = self._counts.window(parts), np.zeros_like(self._pbx[0])
        redial = None if self._redial is None else empty_counts()
        for p in parts:
            pbx += self._pbx[p]
            if redial is not None and self._redial is not None:
                redial += self._redial[p]
        window = self.windows[w]
        return Tallies.of(counts, self.pdd_p95(parts), self.occupancy.table(w), window, pbx, redial)


class _Arrivals:
    """The arrival of each call with attempts still to come (its first attempt's start), as arrays sorted
    by call id: a chunk's later attempts find theirs with one searchsorted, not a dict lookup per row."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, np.int64)
        self.times = np.zeros(0)

    def __len__(self) -> int:
        return len(self.ids)

    def arrivals(self, cid, start, attempt, last) -> np.ndarray:
        """Per row of a chunk (in the order written), its call's arrival; remembers the calls it opens
        and forgets those it ends."""
        opening = (attempt == 1) & ~last
        later = attempt > 1
        if not later.any():
            if opening.any():
                self._remember(cid[opening], start[opening])
            return start  # a call's first attempt starts when it arrives
        self._remember(cid[opening], start[opening])
        at = np.searchsorted(self.ids, cid[later])
        if not np.array_equal(self.ids[np.minimum(at, len(self.ids) - 1)], cid[later]):
            raise AssertionError("a later attempt of a call whose first attempt was never seen")
        arrival = start.copy()
        arrival[later] = self.times[at]
        kept = np.ones(len(self.ids), bool)
        kept[at[last[later]]] = False
        self.ids, self.times = self.ids[kept], self.times[kept]
        return arrival

    def _remember(self, ids, times) -> None:
        if not len(ids):
            return
        ids, times = np.concatenate((self.ids, ids)), np.concatenate((self.times, times))
        order = np.argsort(ids)
        self.ids, self.times = ids[order], times[order]


def _by_piece(piece: np.ndarray):
    """``(p, rows)`` per piece ``p`` that some row falls in (``rows``: their indices, in order)."""
    order = np.argsort(piece, kind="stable")
    sorted_piece = piece[order]
    present, first = np.unique(sorted_piece, return_index=True)
    bounds = np.append(first, len(order))
    for p, i, j in zip(present.tolist(), bounds[:-1].tolist(), bounds[1:].tolist()):
        if p >= 0:
            yield p, order[i:j]


def quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (its default, linear method) bit for bit, for finite values: numpy's
    own function imports numpy.ma on first use, a tenth of a small run's start-up."""
    n = len(values)
    virtual = (n - 1) * q
    lo = math.floor(virtual)
    hi = min(lo + 1, n - 1)
    part = np.partition(values, (lo, hi))
    a, b, gamma = float(part[lo]), float(part[hi]), virtual - lo
    diff = b - a
    return b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma  # numpy's _lerp


def summarize(rec: Records, windows: list[tuple[float, float]]) -> list[dict]:
    """KPIs of each window ``[a, b)`` from whole attempt records (one chunk: rows read from elsewhere,
    such as a SIP lab's log, whose calls' last rows come from the rows themselves, not the rule)."""
    tally = LiveTally(rec.net, windows, exact_pdd=True)
    tally.add(row_columns(rec), rec.pbx)
    if rec.redial is not None:
        tally.add_redial(rec.redial)
    return [assemble(rec.net, tally.tallies(w)) for w in range(len(windows))]
