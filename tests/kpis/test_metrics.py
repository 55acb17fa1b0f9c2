"""Occupancy (busy channels over time) against a brute-force count, the records' call order, and the
allocator settings runs rely on."""

from __future__ import annotations

import platform
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simroute.engine.heap import keep_freed_memory
from simroute.kpis.occupancy import Occupancy, _events
from simroute.records.attempts import ROW_DTYPE, _call_order


def busy_at(starts, ends, t):
    """Channels held at time ``t``: intervals ``[start, end)`` covering it (a release at t comes first)."""
    return int(((starts <= t) & (t < ends)).sum())


intervals = st.lists(st.tuples(st.integers(0, 12), st.integers(0, 4)), max_size=30).map(
    lambda pairs: (np.array([float(s) for s, _ in pairs]), np.array([float(s + d) for s, d in pairs]))
)


@settings(max_examples=300)
@given(intervals, st.integers(0, 14), st.integers(1, 6))
def test_occupancy_matches_brute_force_on_integer_times(iv, a, width):
    """Integer times make ties (a release and a seizure at the same instant) the common case."""
    starts, ends = iv
    occ = Occupancy(starts, ends)
    b = a + width
    grid = np.arange(a, b, 0.5)  # levels are constant between integer times
    levels = [busy_at(starts, ends, t) for t in grid]
    assert occ.peak(a, b) == max(levels)
    assert occ.level_at(a) == busy_at(starts, ends, a)
    assert np.isclose(occ.mean(a, b), np.mean(levels))
    assert np.isclose(occ.time_at_or_above(2, a, b), np.mean([v >= 2 for v in levels]))


@settings(max_examples=200)
@given(intervals, st.floats(0.5, 100.0))
def test_the_integer_merge_of_positive_times_is_the_argsort_merge(iv, scale):
    """Positive times merge as integers (their bits); the times and settled levels are the argsort's."""
    starts, ends = iv
    keep = ends > starts
    s, e = np.sort((starts[keep] + 1) * scale), np.sort((ends[keep] + 1) * scale)
    times, level = _events(s, e)
    order = np.argsort(np.concatenate((s, e)), kind="stable")
    expected_times = np.concatenate((s, e))[order]
    expected_level = np.cumsum(np.where(order < len(s), 1.0, -1.0))
    last = np.append(times[1:] != times[:-1], True)[: len(times)]
    assert np.array_equal(times, expected_times)
    assert np.array_equal(level[last], expected_level[last])


@settings(max_examples=300)
@given(intervals, st.floats(-2.0, 14.0), st.floats(0.1, 6.0), st.integers(1, 3))
def test_seconds_at_cap_are_the_segment_sum_bit_for_bit(iv, a, width, cap):
    """The seconds at cap of a window: the sum over its segments, each cut at the window's edges (the
    segment lengths at cap are computed once a sweep; the sum is the same array's)."""
    starts, ends = iv
    occ, b = Occupancy(starts, ends), a + width
    if not len(occ.times):
        return
    i = max(int(np.searchsorted(occ.times, a, side="right")) - 1, 0)
    j = int(np.searchsorted(occ.times, b))
    seg_start = np.clip(occ.times[i:j], a, b)
    seg_end = np.clip(np.append(occ.times[i + 1 : j], b), a, b)
    assert occ.seconds_at_or_above(cap, a, b) == ((seg_end - seg_start) * (occ.level[i:j] >= cap)).sum()


def test_a_channel_released_and_reseized_at_one_instant_counts_once():
    occ = Occupancy(np.array([0.0, 5.0]), np.array([5.0, 9.0]))
    assert occ.peak() == 1
    assert occ.peak(5.0, 6.0) == 1


def test_window_starting_on_releases_sees_the_level_after_them():
    """Two calls end at t=5: a window from 5 on never has more than the one call left."""
    occ = Occupancy(np.array([0.0, 1.0, 2.0]), np.array([5.0, 5.0, 8.0]))
    assert occ.peak(0.0, 5.0) == 3
    assert occ.peak(5.0, 10.0) == 1


def rows(call_ids, attempts) -> np.ndarray:
    table = np.zeros(len(call_ids), dtype=ROW_DTYPE)
    table["call_id"], table["routing_attempt"] = call_ids, attempts
    return table


def test_call_order_sorts_by_call_then_attempt():
    rng = np.random.default_rng(3)
    attempts = rng.integers(1, 4, 50)
    pairs = np.array([(c, k) for c, n in enumerate(attempts) for k in range(1, n + 1)])
    shuffled = rows(*pairs.T)[rng.permutation(len(pairs))]
    ordered = shuffled[_call_order(shuffled)]
    assert np.array_equal(ordered["call_id"], pairs[:, 0]) and np.array_equal(
        ordered["routing_attempt"], pairs[:, 1]
    )


def test_call_order_falls_back_to_a_stable_sort_when_numbering_has_gaps():
    assert _call_order(rows([7, 2, 7], [1, 1, 2])).tolist() == [1, 0, 2]  # call ids not 0..n-1


def test_allocator_settings_are_taken_on_glibc():
    """The heap keeps freed blocks for the next run (engine.heap); glibc's mallopt must accept that."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        pytest.skip("glibc only")
    assert keep_freed_memory() is True
