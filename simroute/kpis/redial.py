"""KPIs of callers who redial: first tries against retries, and what became of each caller.

One counting rule for kept records and live runs alike: every count is a sum over the engine's redial
rows (one per try, :data:`~simroute.engine.rows.REDIAL_FIELDS`), so chunks add up to the whole. Per-try
counts take a try's window from its own arrival (as every existing KPI counts calls); caller counts
take it from the caller's first arrival and are read off the caller's last row, which says how the
caller ended. The orbit (callers waiting to try again) is a time average: each row that retries holds
one caller from its end to the next try (or to the horizon), and its overlap with the window counts.
"""

from __future__ import annotations

import numpy as np

from ..engine.rows import IN_ORBIT, REDIAL_FIELDS, RETRIES, STOPS
from ..scenario import codes

__all__ = [
    "REDIAL_COLUMNS",
    "CALLER_OUTCOMES",
    "INTERVAL_KEYS",
    "count_redial",
    "redial_kpis",
    "redial_table",
    "single_try_columns",
]

#: The caller outcomes: how a caller's last try ended, or ``in_orbit_at_horizon`` (still waiting to try
#: again when the run ends). Every fresh caller is in exactly one.
CALLER_OUTCOMES = (*codes.REDIAL_CLASSES, "in_orbit_at_horizon")
#: The caller KPIs that each interval row (``Result.intervals``) carries beside offered and blocking
INTERVAL_KEYS = (
    "fresh_offered",
    "retries",
    "first_attempt_blocking",
    "caller_loss_probability",
    "mean_retry_orbit",
)
#: Columns of a window's redial counts: per-try counts, caller counts, then one per caller outcome.
REDIAL_COLUMNS = ("fresh", "retries", "first_blocked", "retry_blocked", "caller_tries", "orbit_seconds")
FRESH, RETRIED, FIRST_BLOCKED, RETRY_BLOCKED, CALLER_TRIES, ORBIT_SECONDS = range(len(REDIAL_COLUMNS))
_WIDTH = len(REDIAL_COLUMNS) + len(CALLER_OUTCOMES)
_BLOCKING = codes.REDIAL_CLASSES.index("blocking")
#: caller outcomes whose last try was answered (by a person or by a cloud PBX): completed calls
_ANSWERED = tuple(
    codes.REDIAL_CLASSES.index(c) for c in ("answered", "abandoned", "voicemail", "in_queue_at_end")
)
_CALL_ID, _CALLER, _TRY, _ARRIVAL, _FIRST, _END, _OUTCOME, _NEXT, _ORBIT_END = range(len(REDIAL_FIELDS))


def redial_table(rows) -> np.ndarray:
    """Redial rows (a float64 buffer) as a 2-D array, one row per try (columns: REDIAL_FIELDS)."""
    flat = np.frombuffer(rows, dtype=np.float64) if len(rows) else np.zeros(0)
    return flat.reshape(-1, len(REDIAL_FIELDS))


def empty_counts() -> np.ndarray:
    return np.zeros(_WIDTH)


def count_redial(table: np.ndarray, a: float, b: float, counts: np.ndarray) -> None:
    """Add the redial rows of ``table`` to the counts (:func:`empty_counts`) of the window ``[a, b)``."""
    if not len(table):
        return
    tries, outcome, nxt = table[:, _TRY], table[:, _OUTCOME], table[:, _NEXT]
    arrival, first = table[:, _ARRIVAL], table[:, _FIRST]
    inside = (arrival >= a) & (arrival < b)
    fresh = inside & (tries == 1)
    retry = inside & (tries > 1)
    blocked = outcome == _BLOCKING
    counts[FRESH] += np.count_nonzero(fresh)
    counts[RETRIED] += np.count_nonzero(retry)
    counts[FIRST_BLOCKED] += np.count_nonzero(fresh & blocked)
    counts[RETRY_BLOCKED] += np.count_nonzero(retry & blocked)
    last = (nxt != RETRIES) & (first >= a) & (first < b)  # each caller's last row
    counts[CALLER_TRIES] += float(tries[last].sum())
    kinds = np.where(nxt[last] == IN_ORBIT, len(codes.REDIAL_CLASSES), outcome[last]).astype(np.int64)
    counts[len(REDIAL_COLUMNS) :] += np.bincount(kinds, minlength=len(CALLER_OUTCOMES))
    waiting = nxt != STOPS
    start, end = np.maximum(table[waiting, _END], a), np.minimum(table[waiting, _ORBIT_END], b)
    counts[ORBIT_SECONDS] += float(np.clip(end - start, 0.0, None).sum())


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def redial_kpis(counts: np.ndarray, window: tuple[float, float]) -> dict:
    """The caller KPIs of one window (see README, summary.json), added to ``kpis``."""
    fresh = counts[FRESH]
    outcomes = counts[len(REDIAL_COLUMNS) :]
    completed = float(outcomes[list(_ANSWERED)].sum())
    a, b = window
    return {
        "fresh_offered": int(fresh),
        "retries": int(counts[RETRIED]),
        "retrial_rate": _ratio(counts[RETRIED], fresh),
        "first_attempt_blocking": _ratio(counts[FIRST_BLOCKED], fresh),
        "retry_blocking": _ratio(counts[RETRY_BLOCKED], counts[RETRIED]),
        "final_blocking": _ratio(outcomes[_BLOCKING], fresh),
        "tries_per_caller": _ratio(counts[CALLER_TRIES], fresh),
        "mean_retry_orbit": float(counts[ORBIT_SECONDS]) / (b - a) if b > a else None,
        "caller_completion_rate": _ratio(completed, fresh),
        "caller_loss_probability": _ratio(fresh - completed, fresh),
        "caller_served_rate": _ratio(outcomes[0], fresh),
        "caller_outcomes": {name: int(n) for name, n in sorted(zip(CALLER_OUTCOMES, outcomes.tolist())) if n},
    }


def single_try_columns(frame) -> dict:
    """The caller KPIs of a run in which nobody redials, from its per-try columns (a replication table:
    ``kpis.offered``...): every call is a fresh caller's only try. So that ``compare`` of redial off
    against redial on compares callers with callers, not with zeros. (``caller_outcomes`` are left out:
    a call's outcome names no caller class one to one.)"""
    out = {}
    for head in ("kpis", "busy_hour"):
        if f"{head}.offered" not in frame.columns:
            continue

        def per_try(key: str, head: str = head):
            return frame[f"{head}.{key}"]

        offered = per_try("offered")
        some = offered > 0
        zero = offered * 0.0
        out.update(
            {
                f"{head}.fresh_offered": offered,
                f"{head}.retries": zero,
                f"{head}.retrial_rate": zero.where(some),
                f"{head}.first_attempt_blocking": per_try("blocking_probability"),
                f"{head}.retry_blocking": zero.where(offered < 0),  # no retries: undefined
                f"{head}.final_blocking": per_try("blocking_probability"),
                f"{head}.tries_per_caller": (zero + 1.0).where(some),
                f"{head}.mean_retry_orbit": zero,
                f"{head}.caller_completion_rate": per_try("completion_rate"),
                f"{head}.caller_loss_probability": per_try("loss_probability"),
                f"{head}.caller_served_rate": per_try("served_rate"),
            }
        )
    return out
