"""Durations as planners write them: ``90s``, ``10m``, ``2h``, ``250ms`` or plain seconds.

Every duration inside simroute is a float number of seconds; this module is the one place that turns
text into seconds, so a scenario file, the Python API and the command line agree on what ``4h`` means.

The one grammar: a number of seconds (``45``, ``2.5``), or a decimal number written straight before one
unit, ``ms``, ``s``, ``m`` (or ``min``), ``h`` or ``d`` (``250ms``, ``1.5h``, ``7d``): no space, no
sign, no exponent, no unit names spelled out.
"""

from __future__ import annotations

import math
import re

__all__ = ["parse_duration", "format_duration", "DURATION_PATTERN"]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"([0-9]+(?:\.[0-9]+)?|\.[0-9]+)(ms|s|min|m|h|d)?")
#: The same grammar as a JSON Schema ``pattern`` (for editors; ``simroute schema``).
DURATION_PATTERN = "^" + _PATTERN.pattern + "$"
_GRAMMAR = (
    "a number of seconds, or a number and a unit (ms, s, m or min, h, d) without a space, such as 90s, 2.5h"
)


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
        match = _PATTERN.fullmatch(value)
        if match is None:
            raise ValueError(f"expected a duration: {_GRAMMAR}; got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    else:
        raise ValueError(f"expected a duration ({_GRAMMAR}), got {type(value).__name__}")
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
