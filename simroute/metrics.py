"""KPIs from the attempt records: counts over calls that arrive after the warm-up, time averages over
the window from the end of the warm-up to the horizon.

Pure numpy on columns; nothing here knows the engine. Every ratio whose denominator is zero is None
(JSON null) rather than a made-up 0.
"""
from __future__ import annotations

import numpy as np

from . import codes
from .network import UNLIMITED
from .records import Records

__all__ = ["Occupancy", "summarize"]

_REFUSED = np.array([codes.NUMBER_LIST_REJECT, codes.TRUNK_CAPACITY, codes.POP_DOWN])
_BEFORE_GROUP = np.array([codes.NUMBER_LIST_REJECT, codes.DID_CAPACITY])


class Occupancy:
    """Channels busy over time, from the intervals ``[start, end)`` that each hold one channel.

    At equal times releases come before seizures, as the engine frees a channel before it is reused.
    """

    def __init__(self, starts: np.ndarray, ends: np.ndarray):
        keep = ends > starts
        times = np.concatenate((starts[keep], ends[keep]))
        delta = np.concatenate((np.ones(keep.sum()), -np.ones(keep.sum())))
        order = np.lexsort((delta, times))
        self.times = times[order]
        self.level = np.cumsum(delta[order])
        gaps = np.diff(self.times, append=self.times[-1] if len(self.times) else 0.0)
        self._area = np.concatenate(([0.0], np.cumsum(self.level * gaps)[:-1]))  # area up to each event time

    def area(self, t: np.ndarray | float) -> np.ndarray:
        """Channel-seconds from time 0 up to ``t`` (piecewise linear between events)."""
        if not len(self.times):
            return np.zeros_like(np.asarray(t, float))
        return np.interp(t, self.times, self._area, left=0.0)

    def mean(self, a: float, b: float) -> float:
        """Time-average busy channels over ``[a, b)`` (carried erlangs)."""
        return float((self.area(b) - self.area(a)) / (b - a))

    def level_at(self, t: float) -> float:
        i = np.searchsorted(self.times, t, side="right") - 1
        return float(self.level[i]) if i >= 0 else 0.0

    def peak(self, a: float = -np.inf, b: float = np.inf) -> int:
        """Most channels busy at once within ``[a, b)``."""
        inside = (self.times >= a) & (self.times < b)
        levels = self.level[inside]
        start = self.level_at(a) if np.isfinite(a) else 0.0
        return int(max(start, levels.max() if levels.size else 0.0))

    def time_at_or_above(self, cap: int, a: float, b: float) -> float:
        """Fraction of ``[a, b)`` with at least ``cap`` channels busy (time congestion)."""
        if cap >= UNLIMITED or not len(self.times):
            return 0.0
        seg_start = np.clip(self.times, a, b)
        seg_end = np.clip(np.append(self.times[1:], b), a, b)
        return float(((seg_end - seg_start) * (self.level >= cap)).sum() / (b - a))


def _ratio(num: float, den: float) -> float | None:
    return float(num) / float(den) if den else None


def _quantile(values: np.ndarray, q: float) -> float | None:
    return float(np.quantile(values, q)) if values.size else None


def _mean(values: np.ndarray) -> float | None:
    return float(values.mean()) if values.size else None


def summarize(rec: Records, warmup: float, horizon: float) -> dict:
    """The ``kpis``, ``trunks``, ``groups``, ``dids`` and ``pops`` parts of summary.json."""
    net = rec.net
    first = np.flatnonzero(rec.routing_attempt == 1)
    last = np.flatnonzero(rec.is_last)
    arrival = rec.time_start[first]
    call_end = np.maximum.reduceat(rec.time_end, first) if first.size else np.zeros(0)
    in_window = (arrival >= warmup) & (arrival < horizon)
    final = rec.cause[last]
    answered = final == codes.ANSWERED
    call_did = rec.did[first]
    call_pop = rec.ingress_pop[first]

    # attempts that belong to a call arriving in the window (a call's attempts count with the call)
    call_index = np.repeat(np.arange(first.size), np.diff(np.append(first, len(rec))))
    att_in = in_window[call_index]
    on_trunk = rec.trunk >= 0
    first_trunk = np.full(first.size, -1, dtype=np.int32)
    first_trunk[call_index[on_trunk & (rec.routing_attempt == 1)]] = rec.trunk[on_trunk & (rec.routing_attempt == 1)]
    reached_trunk = first_trunk >= 0

    offered = int(in_window.sum())
    n_answered = int((answered & in_window).sum())
    outcome_counts: dict[str, int] = {}
    for cause, count in zip(*np.unique(final[in_window], return_counts=True)):
        name = codes.outcome_name(int(cause))
        outcome_counts[name] = outcome_counts.get(name, 0) + int(count)
    pdd = (rec.time_connect[last] - arrival)[answered & in_window]
    kpis = {
        "offered": offered,
        "answered": n_answered,
        "completion_rate": _ratio(n_answered, offered),
        "loss_probability": _ratio(offered - n_answered, offered),
        "outcomes": dict(sorted(outcome_counts.items())),
        "attempts_per_call": _ratio((on_trunk & att_in).sum(), (reached_trunk & in_window).sum()),
        "post_dial_delay_mean": _mean(pdd),
        "post_dial_delay_p95": _quantile(pdd, 0.95),
    }

    def occupancy_kpis(starts, ends, cap=UNLIMITED):
        occ = Occupancy(starts, ends)
        return {"carried_erlangs": occ.mean(warmup, horizon), "peak_concurrent": occ.peak(warmup, horizon),
                "time_congestion": occ.time_at_or_above(cap, warmup, horizon)}

    seized = on_trunk & ~np.isin(rec.cause, _REFUSED)
    errors = seized & (rec.cause != codes.ANSWERED) & (rec.cause != codes.RINGING_TIMEOUT)
    timeouts = rec.cause == codes.RINGING_TIMEOUT
    trunks = {}
    for t, name in enumerate(net.trunk_names):
        mine = rec.trunk == t
        here = mine & att_in
        routes_here = np.isin(call_did, [d for d in range(len(net.did_numbers)) if t in net.route_trunks(d)])
        selected = (reached_trunk & in_window & routes_here).sum()
        n_seized = (here & seized).sum()
        n_errors = (here & errors).sum()
        trunks[name] = {
            "attempts": int(here.sum()),
            "answered": int((here & (rec.cause == codes.ANSWERED)).sum()),
            "first_choice_share": _ratio(((first_trunk == t) & in_window).sum(), selected),
            "answered_share": _ratio((here & (rec.cause == codes.ANSWERED)).sum(), selected),
            "weight_share": net.weight_share[t],
            "attempt_blocking": _ratio((here & (rec.cause == codes.TRUNK_CAPACITY)).sum(), here.sum()),
            "error_fraction": _ratio(n_errors, n_seized),
            "timeout_fraction": _ratio((here & timeouts).sum(), n_seized - n_errors),
            **occupancy_kpis(rec.time_start[mine & seized], rec.time_end[mine & seized], net.trunk_cap[t]),
        }

    # a call holds its DID and group channels from arrival to its last attempt's end (or hang-up)
    did_level_reject = (rec.trunk[first] < 0) & np.isin(rec.cause[first], _BEFORE_GROUP)
    group_reject = (rec.trunk[first] < 0) & (rec.cause[first] == codes.GROUP_CAPACITY)
    call_group = np.asarray(net.did_group, dtype=np.int32)[call_did] if first.size else np.zeros(0, np.int32)

    def entity(mask, hold_mask, cap=UNLIMITED):
        return {"offered": int((mask & in_window).sum()), "answered": int((mask & in_window & answered).sum()),
                **occupancy_kpis(arrival[hold_mask], call_end[hold_mask], cap)}

    groups = {name: entity((call_group == g) & ~did_level_reject, (call_group == g) & ~did_level_reject & ~group_reject,
                           net.group_cap[g])
              for g, name in enumerate(net.group_names)}
    dids = {number: entity(call_did == d, (call_did == d) & ~did_level_reject, net.did_cap[d])
            for d, number in enumerate(net.did_numbers)}
    pops = {name: entity(call_pop == p, call_pop == p) for p, name in enumerate(net.pop_names)}
    for table in (pops,):
        for row in table.values():
            row.pop("time_congestion")
    return {"kpis": kpis, "trunks": trunks, "groups": groups, "dids": dids, "pops": pops}
