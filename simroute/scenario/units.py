"""Durations as planners write them: ``90s``, ``10m``, ``2h``, ``250ms`` or plain seconds.

Every duration inside simroute is a float number of seconds; this module is the one place that turns
text into seconds, so a scenario file and the command line agree on what ``4h`` means.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration", "format_duration"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(ms|s|min|m|h|d)?\s*$")


def parse_duration(value: object) -> float:
    """Seconds from a number or a string such as ``"90s"``, ``"10m"``, ``"2h"``.

    >>> parse_duration("2h"), parse_duration("90s"), parse_duration(45)
    (7200.0, 90.0, 45.0)
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 90s, 10m or 2h, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError(f"a duration must be finite, got {value!r}") from None
    elif isinstance(value, str):
        match = _PATTERN.match(value)
        if match is None:
            raise ValueError(
                f"expected a duration such as 90s, 10m, 2h or a number of seconds, got {value!r}"
            )
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"expected a duration such as 90s, 10m or 2h, got {type(value).__name__}")
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be finite, got {value!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


def format_duration(seconds: float) -> str:
    """The shortest exact unit form of ``seconds`` (``7200`` -> ``"2h"``), for tables and messages."""
    for unit, size in (("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and (seconds / size).is_integer():
            return f"{int(seconds / size)}{unit}"
    return f"{seconds:g}s"
