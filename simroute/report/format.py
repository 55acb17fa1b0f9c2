"""How a number is written in every table (terminal and HTML): no more digits than its interval supports.

One rule, used by both: a column of one quantity gets one number of decimals, the most that any of its
confidence intervals supports (the half-width to two significant digits when they read 10 to 34, else
to one), counts are integers, and a column without intervals (a single run) shows three significant
digits of its largest value.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["COUNT_KEYS", "MAX_DECIMALS", "column_decimals", "format_cell", "format_column", "is_count"]

#: KPI names that count something (calls, attempts, channels at a peak): always shown as integers.
COUNT_KEYS = frozenset(
    {
        "offered",
        "answered",
        "attempts",
        "entered",
        "served",
        "abandoned",
        "voicemail",
        "rejected",
        "failed",
        "blocked",
        "calls",
        "metered_calls",
        "peak_concurrent",
        "peak_queue_length",
        "shared_peak",
        "metered_peak",
        "replications",
        "batches",
    }
)
MAX_DECIMALS = 6  # a half-width of 1e-9 should not print a wall of digits
SIGNIFICANT = 2  # digits of a half-width that starts with 10..34 (one digit from 35 up)
PLAIN_SIGNIFICANT = 3  # digits of a column's largest value when it has no interval


def is_count(path: str) -> bool:
    """Whether the KPI at ``path`` (``trunks.pbx-fra.answered``, ``kpis.outcomes.sip_486``) is a count."""
    parts = path.split(".")
    return parts[-1] in COUNT_KEYS or "outcomes" in parts[:-1] or parts[-1].startswith("peak")


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _decimals_for_half(half: float) -> int:
    """Decimals that show ``half`` to two significant digits when they read 10 to 34, else to one (the
    Particle Data Group's rule, simplified): ``± 0.017``, ``± 0.09``, ``± 95``, never a trailing guess."""
    exponent = math.floor(math.log10(abs(half)))
    leading = int(abs(half) / 10 ** (exponent - 1))  # the first two significant digits, 10..99
    digits = SIGNIFICANT if leading < 35 else 1
    return min(MAX_DECIMALS, max(0, digits - 1 - exponent))


def column_decimals(values: Iterable, halves: Iterable | None = None, count: bool = False) -> int:
    """The decimals of one column: 0 for counts; else the most that any row's interval supports; else
    (no interval in the column) three significant digits of its largest value."""
    if count:
        return 0
    values = list(values)
    supported = [_decimals_for_half(h) for h in (halves or []) if _finite(h) and h > 0]
    if supported:
        return max(supported)
    finite = [abs(v) for v in values if _finite(v) and v != 0]
    if not finite:
        return 0
    if all(float(v).is_integer() for v in finite):
        return 0
    biggest = max(finite)
    return min(MAX_DECIMALS, max(0, PLAIN_SIGNIFICANT - 1 - math.floor(math.log10(biggest))))


def format_cell(value, half=None, decimals: int = 0) -> str:
    """``value`` (and ``± half`` when given) with ``decimals``; ``-`` for an undefined value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, str):
        return value
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]  # -0.000 reads as a sign that is not there
    if half is not None and _finite(half):
        text += f" ± {half:.{decimals}f}"
    return text


def format_column(values: Sequence, halves: Sequence | None = None, count: bool = False) -> list[str]:
    """A whole column at once: the same decimals down it."""
    decimals = column_decimals(values, halves, count)
    halves = list(halves) if halves is not None else [None] * len(values)
    return [format_cell(v, h, decimals) for v, h in zip(values, halves)]
