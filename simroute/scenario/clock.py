"""The scenario's clock: simulated time 0 is ``start_time``, a date, a time of day and a time zone.

Traffic profiles, agent staffing, KPI intervals and the busy hour read the local clock from it: a daily
profile's first value is local midnight, a weekly one's Monday midnight. The UTC offset in force at
``start_time`` holds for the whole run (a daylight-saving change during a run does not shift the
profile) [I].
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["DEFAULT_START", "DAY", "WEEK", "parse_start_time", "week_phase", "local_time"]

DAY, WEEK = 86400.0, 604800.0

#: Time 0 when a scenario gives no ``start_time``: midnight UTC of a Monday, the time 0 that
#: DIDWW-format CDRs (io/cdr.py) assume too.
DEFAULT_START = datetime(2026, 1, 5, tzinfo=timezone.utc)

_FORM = re.compile(
    r"(?P<when>\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:Z|[+-]\d{2}:?\d{2})?)"
    r"(?: +(?P<zone>\S+))?"
)
_EXAMPLE = "'2025-03-10 08:00 Europe/Berlin', '2025-03-10T08:00:00+01:00' or '2025-03-10'"


def parse_start_time(value: object) -> datetime:
    """A time-zone aware datetime from ``2025-03-10`` (midnight), ``2025-03-10 08:00``,
    ``2025-03-10T08:00:00+01:00`` or ``2025-03-10 08:00 Europe/Berlin`` (an IANA zone after a space);
    no zone and no offset is UTC. YAML may already have read it as a date or a datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    if not isinstance(value, str):
        raise ValueError(f"expected a date and time such as {_EXAMPLE}, got {value!r}")
    match = _FORM.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"expected a date and time such as {_EXAMPLE}, got {value!r}")
    try:
        when = datetime.fromisoformat(match["when"].replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a valid date and time ({exc})") from None
    zone = match["zone"]
    if zone is None:
        return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
    if when.tzinfo is not None:
        raise ValueError(f"{value!r}: give a UTC offset or a time zone name, not both")
    if zone in ("UTC", "Z"):
        return when.replace(tzinfo=timezone.utc)
    try:
        return when.replace(tzinfo=ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {zone!r} (an IANA name such as Europe/Berlin, or UTC)") from None


def _fixed(start: datetime) -> timezone:
    """The offset in force at ``start``, held for the whole run."""
    return timezone(start.utcoffset() or timedelta(0))


def week_phase(start: datetime) -> float:
    """Seconds from the local Monday midnight before ``start`` to ``start``: where on the local clock
    time 0 falls (modulo a day: seconds after local midnight)."""
    local = start.astimezone(_fixed(start))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return local.weekday() * DAY + (local - midnight).total_seconds()


def local_time(start: datetime, t: float) -> datetime:
    """The local clock at simulated time ``t`` (the offset of ``start`` throughout)."""
    return (start + timedelta(seconds=t)).astimezone(_fixed(start))
