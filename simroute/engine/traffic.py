"""Arrival times and caller numbers of a DID's calls.

Arrivals are a Poisson process whose rate is piecewise constant in time (a constant rate, 24 hourly
multipliers repeating daily, or explicit steps). They are drawn exactly by inversion: unit-rate Poisson
times mapped through the inverse of the cumulative rate, in numpy batches.
"""

from __future__ import annotations

import numpy as np

from ..scenario.schema import Traffic

__all__ = ["rate_breakpoints", "arrival_times", "CallerMix"]


def rate_breakpoints(traffic: Traffic, horizon: float) -> tuple[np.ndarray, np.ndarray, float | None]:
    """``(times, rates, period)``: calls per second ``rates[i]`` from ``times[i]`` until ``times[i+1]``;
    with a ``period`` (a daily profile) the pattern repeats every period, else it holds to the horizon."""
    if traffic.steps is not None:
        times = [s.at for s in traffic.steps if s.at < horizon]
        rates = [s.calls_per_hour / 3600.0 for s in traffic.steps if s.at < horizon]
        if not times or times[0] > 0:
            times, rates = [0.0, *times], [0.0, *rates]
        return np.asarray(times, float), np.asarray(rates, float), None
    base = traffic.base_rate
    if traffic.profile is None:
        return np.zeros(1), np.array([base]), None
    return np.arange(24) * 3600.0, base * np.asarray(traffic.profile, float), 86400.0


def arrival_times(
    times: np.ndarray,
    rates: np.ndarray,
    horizon: float,
    rng: np.random.Generator,
    period: float | None = None,
    batch: int = 8192,
):
    """Yield arrays of arrival times in ``[0, horizon)``, increasing, batch by batch.

    Unit-rate Poisson points on the cumulative-rate axis are mapped back through its inverse; with a
    period, whole periods are counted off first, so a long horizon costs no more memory than a day.
    """
    end = period if period is not None else horizon
    edges = np.append(times, end)
    cumulative = np.concatenate(([0.0], np.cumsum(rates * np.diff(edges))))  # Lambda at each edge
    per_cycle = cumulative[-1]
    if per_cycle <= 0:
        return
    t = 0.0  # position on the unit-rate (Lambda) axis
    while True:
        unit = t + np.cumsum(rng.exponential(1.0, batch))
        t = unit[-1]
        cycle = np.floor(unit / per_cycle) if period is not None else np.zeros_like(unit)
        rest = np.maximum(unit - cycle * per_cycle, 0.0)
        # a segment of zero rate has equal cumulative values at both ends: searchsorted with
        # side='right' skips it, so no arrival lands where the rate is zero.
        seg = np.minimum(np.searchsorted(cumulative, rest, side="right") - 1, len(rates) - 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            arrivals = cycle * end + edges[seg] + (rest - cumulative[seg]) / rates[seg]
        done = ~(arrivals < horizon) if period is not None else unit >= per_cycle
        keep = arrivals[~done]
        if keep.size:
            yield keep
        if done.any():
            return


class CallerMix:
    """Caller numbers: a share of calls from each listed prefix, the rest from a default prefix.

    Numbers are integers (E.164 digits without '+', at most 15 digits, an int64 in the records).
    """

    def __init__(
        self,
        prefixes: list[str],
        shares: list[float],
        default_prefix: str,
        length: int,
        rng: np.random.Generator,
    ):
        prefixes = [*prefixes, default_prefix]
        widths = np.array([max(length - len(p), 4) for p in prefixes])
        self._scale = 10**widths  # room for the random digits after each prefix
        self._base = np.array([int(p) for p in prefixes], dtype=np.int64) * self._scale
        self._cum = np.cumsum([*shares, max(0.0, 1.0 - sum(shares))])
        self._cum[-1] = 1.0
        self._rng = rng

    def draw(self, n: int) -> np.ndarray:
        """``n`` caller numbers as int64."""
        which = np.searchsorted(self._cum, self._rng.random(n), side="right")
        which = np.minimum(which, len(self._base) - 1)
        suffix = (self._rng.random(n) * self._scale[which]).astype(np.int64)
        return self._base[which] + suffix
