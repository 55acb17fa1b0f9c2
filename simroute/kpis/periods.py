"""KPIs per interval of the local clock, and the busy hour: the clock hour with the most carried traffic.

Intervals cut the KPI window at the multiples of the interval after local Monday midnight (time 0 is
the scenario's ``start_time``; for an interval that divides a day, at the multiples after local
midnight), so the first and last may be shorter. The busy hour is the 60-minute window starting on the
hour with the most carried traffic (trunk channels busy, ringing included); over a run of several days
each hour of the day is averaged over the days it is wholly inside the KPI window, and its KPIs are
the average of those days' KPIs (ITU-T's time-consistent busy hour).

Every records mode counts the same windows with the same rule: a :class:`~.tally.LiveTally` counts the
hours and the intervals beside the KPI windows (:func:`live_windows`, :func:`from_tally`), chunk by chunk
while a run goes, or whole attempt records at once (:func:`from_records`).
"""

from __future__ import annotations

import math

from ..scenario import clock
from .metrics import CARRIED, assemble, row_columns
from .redial import INTERVAL_KEYS
from .tally import LiveTally

__all__ = [
    "HOUR",
    "interval_windows",
    "hour_windows",
    "busy_windows",
    "busy_hour",
    "interval_rows",
    "from_records",
    "live_windows",
    "from_tally",
    "frame",
]

HOUR = 3600.0
_BUSY_TRUNK_KEYS = ("carried_erlangs", "peak_concurrent", "time_congestion")


def interval_windows(window: tuple[float, float], step: float, phase: float) -> list[tuple[float, float]]:
    """``window`` cut at the multiples of ``step`` on the local clock (``phase``: the scenario's
    ``clock_phase``, seconds from local Monday midnight to time 0)."""
    a, b = window
    first = math.floor((a + phase) / step) + 1
    cuts = [k * step - phase for k in range(first, math.ceil((b + phase) / step))]
    edges = [a, *(c for c in cuts if a < c < b), b]
    return list(zip(edges[:-1], edges[1:]))


def hour_windows(window: tuple[float, float], phase: float) -> list[tuple[float, float]]:
    """The whole clock hours inside ``window``."""
    return [(a, b) for a, b in interval_windows(window, HOUR, phase) if abs(b - a - HOUR) < 1e-6]


def busy_windows(hours: list[tuple[float, float]], carried, phase: float) -> list[tuple[float, float]]:
    """The busy hour's windows, one per day: of ``hours``, those of the hour of the day with the
    highest mean ``carried`` traffic (trunk erlangs of each hour) over its days; ties go to the hour
    that comes first in the run."""
    by_slot: dict[int, list[int]] = {}
    for i, (a, _) in enumerate(hours):
        by_slot.setdefault(round((a + phase) / HOUR) % 24, []).append(i)
    if not by_slot:
        return []
    means = {s: sum(carried[i] for i in idx) / len(idx) for s, idx in by_slot.items()}
    best = max(means, key=lambda s: (means[s], -by_slot[s][0]))
    return [hours[i] for i in by_slot[best]]


def _carried(summary: dict) -> float:
    return float(sum(t["carried_erlangs"] for t in summary["trunks"].values()))


def _mean(trees: list[dict]) -> dict:
    """The average of each numeric leaf over ``trees`` (over those that have a number; None if none)."""
    if len(trees) == 1:  # one day: the KPIs as they are (counts stay whole numbers)
        return trees[0]
    out: dict = {}
    for key, first in trees[0].items():
        values = [t.get(key) for t in trees]
        if isinstance(first, dict):
            out[key] = _mean([v if isinstance(v, dict) else {} for v in values])
        else:
            numbers = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            out[key] = sum(numbers) / len(numbers) if numbers else None
    return out


def busy_hour(start_time, chosen: list[tuple[float, float]], summaries: list[dict]) -> dict | None:
    """The busy hour entry of the summary from the summaries of its ``chosen`` windows (one a day);
    None when the KPI window holds no whole clock hour."""
    if not chosen:
        return None
    kpis = [k for k, v in summaries[0]["kpis"].items() if not isinstance(v, dict)]  # but outcome tables
    first = clock.local_time(start_time, chosen[0][0])
    return {
        "start": f"{first:%H:%M}",
        "days": len(chosen),
        "carried_erlangs": sum(_carried(s) for s in summaries) / len(summaries),
        **_mean([{k: s["kpis"][k] for k in kpis} for s in summaries]),
        "trunks": _mean(
            [
                {name: {k: t[k] for k in _BUSY_TRUNK_KEYS} for name, t in s["trunks"].items()}
                for s in summaries
            ]
        ),
    }


def interval_rows(start_time, windows: list[tuple[float, float]], summaries: list[dict]) -> list[dict]:
    """One row of KPIs per interval: offered, answered, blocking, carried erlangs, per-trunk peak."""
    rows = []
    for (a, b), s in zip(windows, summaries):
        k = s["kpis"]
        rows.append(
            {
                "start": a,
                "end": b,
                "time": clock.local_time(start_time, a).isoformat(),
                "offered": k["offered"],
                "answered": k["answered"],
                "blocked": k["blocked"],
                "blocking_probability": k["blocking_probability"],
                **{key: k[key] for key in INTERVAL_KEYS if key in k},  # callers who redial
                "carried_erlangs": _carried(s),
                "trunks": {
                    name: {"carried_erlangs": t["carried_erlangs"], "peak_concurrent": t["peak_concurrent"]}
                    for name, t in s["trunks"].items()
                },
            }
        )
    return rows


def from_records(rec, windows: list[tuple[float, float]], interval: float | None = None) -> list[dict]:
    """Summaries of ``windows`` from whole attempt records, each with its ``busy_hour``, the first also
    with its ``intervals`` when ``interval`` (seconds) is given: the records counted at once by the tally
    a run counts its chunks with."""
    counted, hours = live_windows(windows, interval, rec.net.scenario.clock_phase)
    tally = LiveTally(rec.net, counted, exact_pdd=True, detailed=len(windows))
    tally.add(row_columns(rec), rec.pbx)
    if rec.redial is not None:
        tally.add_redial(rec.redial)
    return from_tally(rec.net, tally, windows, hours, interval)


def live_windows(windows, interval: float | None, phase: float):
    """What a live tally counts: the KPI ``windows``, then the whole hours of each, then the intervals
    of their span (with ``interval``). Returns the list and the hours of each KPI window. Only the
    trunks' occupancy of the hours and intervals is read (a tally's ``detailed``: the KPI windows)."""
    hours = [hour_windows(w, phase) for w in windows]
    cuts = interval_windows((windows[0][0], windows[-1][1]), interval, phase) if interval else []
    return [*windows, *(h for each in hours for h in each), *cuts], hours


def from_tally(net, tally, windows, hours, interval: float | None) -> list[dict]:
    """The summaries of a live run's KPI ``windows`` as :func:`from_records` gives them, from a tally
    of the windows :func:`live_windows` listed."""
    start, phase = net.scenario.start_time, net.scenario.clock_phase
    summaries = [assemble(net, tally.tallies(w)) for w in range(len(windows))]
    at = len(windows)
    for summary, own in zip(summaries, hours):
        index = dict(zip(own, range(at, at + len(own))))
        at += len(own)
        # the hours' carried traffic alone (their occupancy): only the busy hour's KPIs are assembled
        carried = [float(tally.occupancy.table(index[h], ("trunk",))["trunk"][:, CARRIED].sum()) for h in own]
        chosen = busy_windows(own, carried, phase)
        summary["busy_hour"] = busy_hour(
            start, chosen, [assemble(net, tally.tallies(index[h])) for h in chosen]
        )
    if interval:
        cuts = tally.windows[at:]
        rows = [assemble(net, tally.tallies(w)) for w in range(at, len(tally.windows))]
        summaries[0]["intervals"] = interval_rows(start, cuts, rows)
    return summaries


def frame(rows: list[dict]):
    """The interval rows as a DataFrame indexed by local time: one column per KPI, and per trunk
    ``<trunk>.carried_erlangs`` and ``<trunk>.peak_concurrent``."""
    import pandas as pd

    flat = []
    for row in rows:
        out = {k: v for k, v in row.items() if k not in ("trunks", "time")}
        for name, t in row["trunks"].items():
            out.update({f"{name}.{k}": v for k, v in t.items()})
        flat.append(out)
    index = pd.DatetimeIndex([pd.Timestamp(r["time"]) for r in rows], name="time")
    return pd.DataFrame(flat, index=index)
