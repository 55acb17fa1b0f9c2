"""The KPI counting rule, once: what each attempt row adds to the counts of its call's window.

Both ways of running use it. Kept records are one chunk (every row of the run); a live run counts the
chunks its sink receives (a few tens of thousands of rows at a time) and keeps only the counts. The rule
works on numpy columns, and each count is a sum over rows, so counting chunk by chunk gives the same
counts as counting all rows at once (float sums up to their order). A chunk is counted into every piece
of time its calls arrived in at once: one bincount per count over (piece, entity), not one pass per
piece (a chunk of a long run spans tens of clock hours).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..scenario import codes

__all__ = [
    "one_of",
    "Counts",
    "PieceCounts",
    "RowColumns",
    "count_rows",
    "window_of",
    "TRUNK_COLUMNS",
    "ENTITY_COLUMNS",
    "ATTEMPTS",
    "ANSWERED",
    "FIRST",
    "BLOCKED",
    "SEIZED",
    "ERRORS",
    "TIMEOUTS",
    "OFFERED",
    "DONE",
    "REACHED",
    "PBX_COLUMNS",
    "count_pbx",
]

# columns of Counts.trunk (and Tallies.trunk)
TRUNK_COLUMNS = ("attempts", "answered", "first", "blocked", "seized", "errors", "timeouts")
ATTEMPTS, ANSWERED, FIRST, BLOCKED, SEIZED, ERRORS, TIMEOUTS = range(len(TRUNK_COLUMNS))
# columns of Counts.did, .group, .pop (groups and POPs use the first two)
ENTITY_COLUMNS = ("offered", "answered", "reached")
OFFERED, DONE, REACHED = range(len(ENTITY_COLUMNS))

_REFUSED = sorted(codes.REFUSED_BEFORE_SEIZURE)
_BEFORE_GROUP = sorted(codes.REFUSED_BEFORE_GROUP)
# how an attempt on a trunk ended, one way each (the columns of Counts.trunk are sums of these)
_ENDINGS = ("answered", "timeout", "error", "blocked", "refused")
_ANSWERED, _TIMEOUT, _ERROR, _BLOCKED, _REFUSED_OTHERWISE = range(len(_ENDINGS))


def one_of(values: np.ndarray, among) -> np.ndarray:
    """Per value, whether it is one of the few codes ``among``: a comparison each (np.isin builds a
    lookup table over the codes' range: ten times as long for three codes and 65,536 rows)."""
    found = np.zeros(len(values), bool)
    for code in among:
        found |= values == code
    return found


class RowColumns(NamedTuple):
    """Attempt rows as columns (any order), with each row's call arrival and whether it is its call's
    last attempt: the two facts that depend on a call's other rows."""

    attempt: np.ndarray
    did: np.ndarray
    pop: np.ndarray
    trunk: np.ndarray
    start: np.ndarray
    connect: np.ndarray
    end: np.ndarray
    cause: np.ndarray
    channel: np.ndarray
    arrival: np.ndarray
    last: np.ndarray


@dataclass
class Counts:
    """The counts of one window, summed over the rows of the calls that arrived in it."""

    trunk: np.ndarray
    did: np.ndarray
    group: np.ndarray
    pop: np.ndarray
    outcomes: dict[int, int]  # calls per final cause code (sparse: a long run keeps many windows)
    attempts_on_trunks: int = 0
    pdd_sum: float = 0.0
    pdd_count: int = 0
    trunk_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metered_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metered_calls: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @classmethod
    def empty(cls, net) -> Counts:
        n_trunks, n_cg = len(net.trunk_names), len(net.capacity_group_names)
        return cls(
            trunk=np.zeros((n_trunks, len(TRUNK_COLUMNS)), np.int64),
            did=np.zeros((len(net.did_numbers), 3), np.int64),
            group=np.zeros((len(net.group_names), 2), np.int64),
            pop=np.zeros((len(net.pop_names), 2), np.int64),
            outcomes={},
            trunk_seconds=np.zeros(n_trunks),
            metered_seconds=np.zeros(n_cg),
            metered_calls=np.zeros(n_cg, np.int64),
        )

    def add(self, other: Counts) -> None:
        """Add ``other``'s counts (a window made of several counted pieces)."""
        for name in ("trunk", "did", "group", "pop", "trunk_seconds", "metered_seconds", "metered_calls"):
            getattr(self, name).__iadd__(getattr(other, name))
        for code, n in other.outcomes.items():
            self.outcomes[code] = self.outcomes.get(code, 0) + n
        self.attempts_on_trunks += other.attempts_on_trunks
        self.pdd_sum += other.pdd_sum
        self.pdd_count += other.pdd_count

    def outcome_counts(self) -> dict[int, int]:
        return {code: n for code, n in sorted(self.outcomes.items()) if n}


#: Columns of the cloud-PBX counts (one row per trunk; zero for trunks that are not cloud PBXs)
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


def count_pbx(net, table: np.ndarray, mask: np.ndarray, counts: np.ndarray) -> None:
    """Add the cloud-PBX rows (PBX_FIELDS columns) that ``mask`` selects to ``counts`` (PBX_COLUMNS)."""
    rows = table[mask]
    if not len(rows):
        return
    trunk = rows[:, 1].astype(np.int64)
    wait = rows[:, 5] - rows[:, 4]
    outcome = rows[:, 6]
    served = outcome == codes.PBX_SERVED
    threshold = np.asarray([0.0 if m is None else m.service_level_threshold for m in net.pbx])[trunk]
    columns = [
        np.ones(len(rows)),
        wait > 0,
        served,
        outcome == codes.PBX_ABANDONED,
        outcome == codes.PBX_VOICEMAIL,
        served & (wait <= threshold),
        wait,
        np.where(served, wait, 0.0),
        outcome == codes.PBX_IN_QUEUE_AT_END,
    ]
    n = len(net.trunk_names)
    for k, values in enumerate(columns):
        counts[:, k] += np.bincount(trunk, weights=np.asarray(values, float), minlength=n)


def window_of(edges: tuple[np.ndarray, np.ndarray], t: np.ndarray) -> np.ndarray:
    """Per time, the index of the window ``[a, b)`` holding it, -1 for none (``edges``: the windows'
    starts and ends, as arrays, the windows in order and disjoint)."""
    starts, ends = edges
    w = np.searchsorted(starts, t, side="right") - 1
    inside = (w >= 0) & (t < ends[np.maximum(w, 0)])
    return np.where(inside, w, -1)


class PieceCounts:
    """The counts of every piece of time a tally's windows are cut into: each count one array with the
    piece first, so a chunk of rows adds to all its pieces with one bincount a count (a window's counts
    are the sum of its pieces, :meth:`window`)."""

    def __init__(self, net, pieces: int):
        n_trunks, n_cg = len(net.trunk_names), len(net.capacity_group_names)
        self.net = net
        self.trunk = np.zeros((pieces, n_trunks, len(TRUNK_COLUMNS)), np.int64)
        self.did = np.zeros((pieces, len(net.did_numbers), len(ENTITY_COLUMNS)), np.int64)
        self.group = np.zeros((pieces, len(net.group_names), 2), np.int64)
        self.pop = np.zeros((pieces, len(net.pop_names), 2), np.int64)
        self.outcomes: list[dict[int, int]] = [{} for _ in range(pieces)]
        self.attempts_on_trunks = np.zeros(pieces, np.int64)
        self.pdd_sum = np.zeros(pieces)
        self.pdd_count = np.zeros(pieces, np.int64)
        self.trunk_seconds = np.zeros((pieces, n_trunks))
        self.metered_seconds = np.zeros((pieces, n_cg))
        self.metered_calls = np.zeros((pieces, n_cg), np.int64)

    def window(self, parts) -> Counts:
        """The counts of the window made of the pieces ``parts``: added piece by piece, in order (the
        float sums in the order of the pieces, as a window's time goes)."""
        total = Counts.empty(self.net)
        for p in parts:
            total.add(
                Counts(
                    trunk=self.trunk[p],
                    did=self.did[p],
                    group=self.group[p],
                    pop=self.pop[p],
                    outcomes=self.outcomes[p],
                    attempts_on_trunks=int(self.attempts_on_trunks[p]),
                    pdd_sum=float(self.pdd_sum[p]),
                    pdd_count=int(self.pdd_count[p]),
                    trunk_seconds=self.trunk_seconds[p],
                    metered_seconds=self.metered_seconds[p],
                    metered_calls=self.metered_calls[p],
                )
            )
        return total


class _Keyed:
    """The pieces that some rows fall in, numbered ``0..k-1`` in order, and each row's number: a count
    per (piece, entity) is then one bincount of ``k * size`` bins, however many pieces a tally has."""

    def __init__(self, piece: np.ndarray, pieces: int):
        seen = np.bincount(piece, minlength=pieces) > 0
        self.present = np.flatnonzero(seen)
        self.local = (np.cumsum(seen) - 1)[piece] if len(self.present) > 1 else np.zeros_like(piece)

    def count(self, keys: np.ndarray, size: int, weights=None) -> np.ndarray:
        """Rows (or their ``weights``) per bin, as a table of one row per present piece."""
        k = len(self.present)
        return np.bincount(keys, weights, minlength=k * size).reshape(k, size)


def _key(local: np.ndarray, size: int, index: np.ndarray) -> np.ndarray:
    """Per row, its bin among ``size`` per piece (``local``: its piece's number; one entity: no sum)."""
    return local if size == 1 else local * size + index


def _add_outcomes(outcomes: list[dict[int, int]], keyed: _Keyed, final: np.ndarray, local) -> None:
    """Add the calls ending with each cause code in ``final`` to their piece's ``outcomes``."""
    if not len(final):
        return
    seen = np.bincount(final) > 0  # the codes present, numbered in order
    codes_seen = np.flatnonzero(seen)
    index = (np.cumsum(seen) - 1)[final]
    table = keyed.count(local * len(codes_seen) + index, len(codes_seen))
    for k, j in zip(*(axis.tolist() for axis in np.nonzero(table))):
        into = outcomes[keyed.present[k]]
        code = int(codes_seen[j])
        into[code] = into.get(code, 0) + int(table[k, j])


def count_rows(net, rows: RowColumns, piece: np.ndarray, c: PieceCounts) -> list[tuple[int, np.ndarray]]:
    """Add each row to the counts of its call's piece of time (``piece``: per row an index into ``c``,
    -1 for none): each count one bincount over (piece, entity).

    Returns per piece with answered calls its post-dial delays (in row order), for the percentile.
    """
    if len(piece) and int(piece.min()) < 0:
        inside = piece >= 0
        rows = RowColumns(*(column[inside] for column in rows))
        piece = piece[inside]
    if not len(piece):
        return []
    keyed = _Keyed(piece, len(c.pdd_sum))
    present = keyed.present
    n_trunks, n_dids, n_pops = len(net.trunk_names), len(net.did_numbers), len(net.pop_names)
    trunk, cause = rows.trunk, rows.cause
    on = trunk >= 0
    every_on = bool(on.all())

    def of_on(column):
        return column if every_on else column[on]

    local_on, cause_on = of_on(keyed.local), of_on(cause)
    at = _key(local_on, n_trunks, of_on(trunk))  # the (piece, trunk) of each attempt on a trunk
    # each attempt on a trunk ends one way, and is its call's first or not: one bincount over (piece,
    # trunk, ending, first) holds every column of Counts.trunk
    answered_on = cause_on == codes.ANSWERED
    ending = np.full(len(cause_on), _ERROR, np.int8)
    ending[cause_on == codes.RINGING_TIMEOUT] = _TIMEOUT
    ending[answered_on] = _ANSWERED
    ending[one_of(cause_on, _REFUSED)] = _REFUSED_OTHERWISE
    ending[cause_on == codes.TRUNK_CAPACITY] = _BLOCKED
    first_on = of_on(rows.attempt) == 1
    ending *= 2
    ending += first_on
    by = keyed.count(at * (2 * len(_ENDINGS)) + ending, n_trunks * 2 * len(_ENDINGS))
    by = by.reshape(len(present), n_trunks, len(_ENDINGS), 2)
    ended = by.sum(axis=3)
    seized = ended[..., _ANSWERED] + ended[..., _TIMEOUT] + ended[..., _ERROR]
    c.trunk[present] += np.stack(  # in TRUNK_COLUMNS' order
        [
            ended.sum(axis=2),
            ended[..., _ANSWERED],
            by[..., 1].sum(axis=2),
            ended[..., _BLOCKED],
            seized,
            ended[..., _ERROR],
            ended[..., _TIMEOUT],
        ],
        axis=2,
    )
    c.attempts_on_trunks[present] += by.sum(axis=(1, 2, 3))
    end_on, connect_on = of_on(rows.end), of_on(rows.connect)
    c.trunk_seconds[present] += keyed.count(at[answered_on], n_trunks, (end_on - connect_on)[answered_on])
    reached = local_on[first_on] * n_dids + of_on(rows.did)[first_on]
    c.did[present, :, REACHED] += keyed.count(reached, n_dids)

    # per call: its last row
    last = rows.last
    every_last = bool(last.all())

    def of_last(column):
        return column if every_last else column[last]

    d, final, pop, local = of_last(rows.did), of_last(cause), of_last(rows.pop), of_last(keyed.local)
    arrival, end, channel = of_last(rows.arrival), of_last(rows.end), of_last(rows.channel)
    answered = final == codes.ANSWERED
    _add_outcomes(c.outcomes, keyed, final, local)
    for table, index, size in ((c.did, d, n_dids), (c.pop, pop, n_pops)):
        keys = _key(local, size, index)
        table[present, :, OFFERED] += keyed.count(keys, size)
        done = keyed.count(keys[answered], size)
        table[present, :, DONE] += done
    c.pdd_count[present] += done.sum(axis=1)  # the calls answered
    n_groups = len(net.group_names)
    if n_groups:
        group = np.asarray(net.did_group + [-1], dtype=np.int64)[d]
        # a call refused at its DID never reached its group
        grouped = (group >= 0) & ~((of_last(trunk) < 0) & one_of(final, _BEFORE_GROUP))
        keys = local[grouped] * n_groups + group[grouped]
        c.group[present, :, OFFERED] += keyed.count(keys, n_groups)
        c.group[present, :, DONE] += keyed.count(keys[answered[grouped]], n_groups)
    pdd = (of_last(rows.connect) - arrival)[answered]
    pdd_at = local[answered]
    metered = channel == codes.CHANNEL_METERED
    if metered.any():
        cg = np.asarray(net.did_capacity_group + [-1], dtype=np.int64)[d[metered]]
        n_cg = len(net.capacity_group_names)
        keys = local[metered] * n_cg + cg
        c.metered_seconds[present] += keyed.count(keys, n_cg, (end - arrival)[metered])
        c.metered_calls[present] += keyed.count(keys, n_cg)
    # the delays per piece, in row order: one stable sort of the pieces (a radix sort for 16-bit keys)
    if len(present) == 1:
        groups = [(int(present[0]), pdd)]
    else:
        order = np.argsort(pdd_at.astype(np.uint16) if len(present) < 1 << 16 else pdd_at, kind="stable")
        bounds = np.searchsorted(pdd_at[order], np.arange(len(present) + 1)).tolist()
        groups = [(int(p), pdd[order[i:j]]) for p, i, j in zip(present.tolist(), bounds[:-1], bounds[1:])]
    for p, values in groups:
        c.pdd_sum[p] += float(values.sum())  # pairwise, per piece and chunk: the order the sums always had
    return groups
