"""The KPI counting rule, once: what each attempt row adds to the counts of its call's window.

Both ways of running use it. Kept records are one chunk (every row of the run); a live run counts the
chunks its sink receives (a few tens of thousands of rows at a time) and keeps only the counts. The rule
works on numpy columns, needs no sort, and each count is a sum over rows, so counting chunk by chunk
gives the same counts as counting all rows at once (float sums up to their order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..scenario import codes

__all__ = [
    "Counts",
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

_REFUSED = np.array(sorted(codes.REFUSED_BEFORE_SEIZURE))
_BEFORE_GROUP = np.array(sorted(codes.REFUSED_BEFORE_GROUP))


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


def window_of(windows: list[tuple[float, float]], t: np.ndarray) -> np.ndarray:
    """Per time, the index of the window ``[a, b)`` holding it, -1 for none."""
    starts = np.asarray([a for a, _ in windows])
    ends = np.asarray([b for _, b in windows])
    w = np.searchsorted(starts, t, side="right") - 1
    inside = (w >= 0) & (t < ends[np.maximum(w, 0)])
    return np.where(inside, w, -1)


def _add_outcomes(outcomes: dict[int, int], final: np.ndarray) -> None:
    """Add the calls ending with each cause code in ``final`` to ``outcomes``."""
    counts = np.bincount(final) if len(final) else np.zeros(0, np.int64)
    for code in np.flatnonzero(counts).tolist():
        outcomes[code] = outcomes.get(code, 0) + int(counts[code])


def count_rows(net, rows: RowColumns, mask: np.ndarray, c: Counts) -> np.ndarray:
    """Add the rows that ``mask`` selects (the rows of calls arriving in ``c``'s window) to ``c``.

    Returns the post-dial delays of the calls answered, for the percentile (a sketch or exact).
    """
    n_trunks = len(net.trunk_names)
    trunk, cause = rows.trunk[mask], rows.cause[mask]
    on = trunk >= 0
    t_on, cause_on = trunk[on], cause[on]
    answered_on = cause_on == codes.ANSWERED
    timeout_on = cause_on == codes.RINGING_TIMEOUT
    seized_on = ~np.isin(cause_on, _REFUSED)
    first_on = rows.attempt[mask][on] == 1

    def per_trunk(m=None, weights=None):
        return np.bincount(t_on if m is None else t_on[m], minlength=n_trunks, weights=weights)

    c.trunk += np.stack(
        [
            per_trunk(),
            per_trunk(answered_on),
            per_trunk(first_on),
            per_trunk(cause_on == codes.TRUNK_CAPACITY),
            per_trunk(seized_on),
            per_trunk(seized_on & ~answered_on & ~timeout_on),
            per_trunk(timeout_on),
        ],
        axis=1,
    )
    c.attempts_on_trunks += int(on.sum())
    end_on, connect_on = rows.end[mask][on], rows.connect[mask][on]
    c.trunk_seconds += per_trunk(answered_on, (end_on - connect_on)[answered_on])
    did = rows.did[mask]
    c.did[:, REACHED] += np.bincount(did[on][first_on], minlength=len(net.did_numbers))

    # per call: its last row
    last = rows.last[mask]
    d, final, pop = did[last], cause[last], rows.pop[mask][last]
    arrival, end, channel = rows.arrival[mask][last], rows.end[mask][last], rows.channel[mask][last]
    answered = final == codes.ANSWERED
    _add_outcomes(c.outcomes, final)
    for table, index, size in ((c.did, d, len(net.did_numbers)), (c.pop, pop, len(net.pop_names))):
        table[:, OFFERED] += np.bincount(index, minlength=size)
        table[:, DONE] += np.bincount(index[answered], minlength=size)
    group = np.asarray(net.did_group + [-1], dtype=np.int64)[d]
    # a call refused at its DID never reached its group
    grouped = (group >= 0) & ~((trunk[last] < 0) & np.isin(final, _BEFORE_GROUP))
    c.group[:, OFFERED] += np.bincount(group[grouped], minlength=len(net.group_names))
    c.group[:, DONE] += np.bincount(group[grouped & answered], minlength=len(net.group_names))
    pdd = (rows.connect[mask][last] - arrival)[answered]
    c.pdd_sum += float(pdd.sum())
    c.pdd_count += int(pdd.size)
    metered = channel == codes.CHANNEL_METERED
    if metered.any():
        cg = np.asarray(net.did_capacity_group + [-1], dtype=np.int64)[d[metered]]
        n_cg = len(net.capacity_group_names)
        c.metered_seconds += np.bincount(cg, minlength=n_cg, weights=(end - arrival)[metered])
        c.metered_calls += np.bincount(cg, minlength=n_cg)
    return pdd
