"""Arrival times and caller numbers of a DID's calls.

Arrivals are a Poisson process whose rate is piecewise constant in time (a constant rate, a profile of
multipliers over equal intervals repeating daily or weekly, or explicit steps, optionally repeating).
They are drawn exactly by inversion: unit-rate Poisson times mapped through the inverse of the
cumulative rate, in numpy batches.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..scenario.schema import Traffic, profile_period

__all__ = ["rate_breakpoints", "on_clock", "expected_arrivals", "arrival_times", "piece_size", "CallerMix"]


def rate_breakpoints(
    traffic: Traffic, horizon: float, scale: float = 1.0, phase: float = 0.0
) -> tuple[np.ndarray, np.ndarray, float | None]:
    """``(times, rates, period)``: calls per second ``rates[i]`` from ``times[i]`` until ``times[i+1]``;
    with a ``period`` (a profile, or steps that repeat) the pattern repeats every period, else it holds
    to the horizon. ``scale`` (the scenario's ``traffic_scale``) multiplies every rate. A profile follows
    the local clock: ``phase`` is the scenario's ``clock_phase`` (time 0 after local Monday midnight);
    steps are times after time 0."""
    if traffic.steps is not None:
        period = traffic.repeat
        steps = [s for s in traffic.steps if period is not None or s.at < horizon]
        times = [s.at for s in steps]
        rates = [s.calls_per_hour / 3600.0 * scale for s in steps]
        if not times or times[0] > 0:
            # before the first step: nothing, or in a repeating schedule the last step's rate (it wraps)
            before = rates[-1] if period is not None and rates else 0.0
            times, rates = [0.0, *times], [before, *rates]
        return np.asarray(times, float), np.asarray(rates, float), period
    base = traffic.base_rate * scale
    if traffic.profile is None:
        return np.zeros(1), np.array([base]), None
    n = len(traffic.profile)
    cycle = profile_period(n)
    assert cycle is not None  # the schema refuses other lengths
    with np.errstate(over="ignore"):  # absurd rates saturate to inf (the event budget refuses them)
        shaped = base * np.asarray(traffic.profile, float)
    times, shaped = on_clock(np.arange(n) * (cycle / n), shaped, cycle, phase)
    return times, shaped, cycle


def on_clock(times: np.ndarray, rates: np.ndarray, period: float, phase: float):
    """A periodic pattern given on the local clock (``times`` after the period's start), as breakpoints
    after time 0, which is ``phase`` seconds after such a start."""
    phase = phase % period
    if not phase:
        return times, rates
    edges = np.unique(np.append((times - phase) % period, 0.0))
    which = np.searchsorted(times, (edges + phase) % period, side="right") - 1
    return edges, rates[which]


def expected_arrivals(times: np.ndarray, rates: np.ndarray, period: float | None, horizon: float) -> float:
    """The integral of the rate over ``[0, horizon)``: the expected number of arrivals (whole periods
    counted off first, so a year of a weekly profile costs one week's sum)."""
    if horizon <= 0:
        return 0.0
    if period is None:
        edges = np.minimum(np.append(times, math.inf), horizon)
        return float(np.sum(_area(rates, np.diff(edges))))
    edges = np.append(times, period)
    cycles, rest = divmod(horizon, period)
    per_cycle = float(np.sum(_area(rates, np.diff(edges))))
    partial = float(np.sum(_area(rates, np.diff(np.minimum(edges, rest)))))
    return (cycles * per_cycle if cycles else 0.0) + partial


def _area(rates: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Rate times width, where a zero width counts nothing even at an infinite rate."""
    with np.errstate(invalid="ignore", over="ignore"):
        return np.where(widths > 0, rates * widths, 0.0)


def arrival_times(
    times: np.ndarray,
    rates: np.ndarray,
    horizon: float,
    rng: np.random.Generator,
    period: float | None = None,
    batch: int = 8192,
):
    """Yield memoryviews of arrival times in ``[0, horizon)``, increasing (iterating one gives floats).

    Unit-rate Poisson points on the cumulative-rate axis are mapped back through its inverse; with a
    period, whole periods are counted off first, so a long horizon costs no more memory than a day.
    The points are summed in blocks of ``batch`` from each block's start, and a block is drawn in pieces
    sized to the calls the DID expects (:func:`piece_size`): a quiet DID holds a few hundred bytes, not
    a block, and the numbers are those of whole blocks bit for bit (the running sum carries over).
    """
    shape, piece = _shape(times.tobytes(), rates.tobytes(), horizon, period, batch)
    if shape is None:
        return
    t = 0.0  # position on the unit-rate (Lambda) axis at the start of the block
    while True:
        running = 0.0
        for _ in range(batch // piece):
            keep, done, running, last = _piece(rng.exponential(1.0, piece), running, t, shape)
            if keep.size:
                yield memoryview(keep)
            if done:  # the points increase: none after this one lands before the horizon
                return
        t = last


@lru_cache(maxsize=256)
def _shape(times: bytes, rates: bytes, horizon: float, period: float | None, batch: int):
    """What every piece of a rate pattern reads, and its piece size; computed once per distinct pattern
    (thousands of DIDs often share a few), None for a pattern with no arrivals. Read-only arrays."""
    rates_ = np.frombuffer(rates)
    end = period if period is not None else horizon
    edges = np.append(np.frombuffer(times), end)
    cumulative = np.concatenate(([0.0], np.cumsum(rates_ * np.diff(edges))))  # Lambda at each edge
    per_cycle = cumulative[-1]
    if per_cycle <= 0:
        return None, 0
    piece = piece_size(per_cycle * (horizon / end if period is not None else 1.0), batch)
    for a in (edges, cumulative):
        a.flags.writeable = False
    return (edges, cumulative, rates_, per_cycle, end, horizon, period, bool((rates_ > 0).all())), piece


def piece_size(expected: float, batch: int) -> int:
    """How many unit-rate points to draw at a time for a stream expecting ``expected`` points: the
    power of two above it with some room (at least 64), at most ``batch``, and dividing ``batch``."""
    piece = 64
    while piece < batch and piece < 1.25 * expected + 16:
        piece *= 2
    return piece if piece <= batch and batch % piece == 0 else batch


def _piece(draws: np.ndarray, running: float, t: float, shape):
    """Arrival times of one piece of a block: ``(kept, reached_the_end, running_sum, last_point)``.

    ``draws[0] += running`` continues the block's cumulative sum exactly as one ``np.cumsum`` over the
    block would (add.accumulate adds left to right). Temporaries end with the call: a suspended stream
    keeps only what it yielded.
    """
    edges, cumulative, rates, per_cycle, end, horizon, period, positive = shape
    draws[0] += running
    partial = np.cumsum(draws)
    unit = t + partial
    if period is None and len(rates) == 1 and edges[0] == 0.0 and positive and math.isfinite(per_cycle):
        # a constant rate from time 0: the general formula below reduces to unit / rate bit for bit
        # (its other terms add or subtract exact zeros), at half the numpy calls per piece, which is
        # most of the set-up of thousands of DIDs
        done = unit >= per_cycle
        return (unit / rates[0])[~done], bool(done.any()), float(partial[-1]), float(unit[-1])
    cycle = np.floor(unit / per_cycle) if period is not None else np.zeros_like(unit)
    rest = np.maximum(unit - cycle * per_cycle, 0.0)
    # a segment of zero rate has equal cumulative values at both ends: searchsorted with
    # side='right' skips it, so no arrival lands where the rate is zero.
    seg = np.minimum(np.searchsorted(cumulative, rest, side="right") - 1, len(rates) - 1)
    if positive:  # no zero rate to divide by (np.errstate costs more than a small piece's arithmetic)
        arrivals = cycle * end + edges[seg] + (rest - cumulative[seg]) / rates[seg]
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            arrivals = cycle * end + edges[seg] + (rest - cumulative[seg]) / rates[seg]
    done = ~(arrivals < horizon) if period is not None else unit >= per_cycle
    return arrivals[~done], bool(done.any()), float(partial[-1]), float(unit[-1])


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
