"""Random batches sized to the stream: a quiet DID draws small pieces, with the very numbers a full
batch would give (results unchanged, bit for bit), and holds only those pieces while it waits."""

import numpy as np
import pytest

from simroute.engine.streams import batched, sampler
from simroute.engine.traffic import arrival_times, piece_size
from simroute.scenario.schema import Traffic

DISTS = [
    {"dist": "exponential", "mean": 180},
    {"dist": "deterministic", "value": 30},
    {"dist": "lognormal", "mean": 120, "cv": 1.5},
    {"dist": "uniform", "low": 10, "high": 500},
    {"dist": "empirical", "values": [30, 60, 300], "weights": [1, 2, 3]},
    {"dist": "empirical", "values": [30, 60, 300]},
    {"dist": "hyperexponential", "means": [60, 600], "probs": [0.7, 0.3]},
]


def _dist(spec):
    return Traffic(calls_per_hour=1, holding_time=spec).holding_time


@pytest.mark.parametrize("spec", DISTS, ids=lambda s: s["dist"] + ("-w" if "weights" in s else ""))
def test_splittable_says_whether_batches_may_be_cut(spec):
    dist = _dist(spec)
    whole = dist.sample(np.random.default_rng(5), 1000)
    rng = np.random.default_rng(5)
    cut = np.concatenate([dist.sample(rng, n) for n in (1, 63, 64, 128, 744)])
    assert (whole.tobytes() == cut.tobytes()) is dist.splittable()


@pytest.mark.parametrize("spec", DISTS, ids=lambda s: s["dist"] + ("-w" if "weights" in s else ""))
def test_a_sampler_yields_the_numbers_of_full_batches(spec):
    dist = _dist(spec)
    rng = np.random.default_rng(9)
    full = np.concatenate([dist.sample(rng, 4096) for _ in range(3)]).tolist()
    draw = sampler(dist, np.random.default_rng(9))
    values = [draw() for _ in range(10_000)]
    assert values == full[:10_000] and all(type(v) is float for v in values)


def _reference_arrivals(rate, horizon, seed, block=8192):
    """Constant rate: unit-rate points summed block by block, over the rate, kept below the horizon."""
    rng, t, out = np.random.default_rng(seed), 0.0, []
    while True:
        unit = t + np.cumsum(rng.exponential(1.0, block))
        t = unit[-1]
        out += (unit[unit < rate * horizon] / rate).tolist()
        if unit[-1] >= rate * horizon:
            return out


@pytest.mark.parametrize("calls", [3, 200, 5000, 30_000])
def test_arrival_pieces_give_the_arrivals_of_whole_blocks(calls):
    rate, horizon = 0.5, calls / 0.5
    pieces = list(arrival_times(np.zeros(1), np.array([rate]), horizon, np.random.default_rng(1)))
    got = [x for piece in pieces for x in piece]
    assert got == _reference_arrivals(rate, horizon, 1)
    assert max(len(p) for p in pieces) <= piece_size(calls, 8192)  # a quiet DID holds a small piece


def test_batched_grows_from_first_to_size_and_keeps_arrays_compact():
    sizes = []

    def draw(n):
        sizes.append(n)
        return np.arange(n, dtype=np.int64)

    take = batched(draw, size=256, first=64)
    values = [take() for _ in range(64 + 128 + 256 + 256 + 1)]
    assert sizes == [64, 128, 256, 256, 256] and all(type(v) is int for v in values)


def test_piece_size_follows_the_expected_calls():
    assert piece_size(0, 8192) == 64
    assert piece_size(200, 8192) == 512  # room for a busy stretch: 1.25 x expected + 16
    assert piece_size(5000, 8192) == 8192
    assert piece_size(1e9, 8192) == 8192
    assert 8192 % piece_size(700, 8192) == 0
