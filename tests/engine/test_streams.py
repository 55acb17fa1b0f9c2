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


@pytest.mark.parametrize(
    "seed",
    [1000, 0, 2**70 + 5, np.random.SeedSequence(7).spawn(3)[2], np.random.SeedSequence()],
    ids=["int", "zero", "wide", "spawned", "os-entropy"],
)
def test_prefetched_streams_are_the_streams_numpy_seeds(seed):
    """Streams.prefetch derives many seeds at once (numpy's SeedSequence algorithm on columns): every
    generator it hands out has the state numpy's own SeedSequence gives the same name."""
    from simroute.engine.streams import Streams

    names = [f"4412{i:08d}" for i in range(300)] + ["", "x/y"]
    plain, fetched = Streams(seed), Streams(seed)
    fetched.prefetch(("arrivals", "holding"), names)
    for source in ("arrivals", "holding"):
        for name in names:
            a, b = plain.get(source, name), fetched.get(source, name)
            assert a.bit_generator.state == b.bit_generator.state, (source, name)
    assert fetched._ready == {}  # each prefetched seed is used once, then numpy's path again


def test_constant_rate_pieces_equal_the_general_formula_bit_for_bit():
    """The constant-rate shortcut of arrival pieces gives the general inversion's numbers exactly."""
    from simroute.engine import traffic

    times, rates = np.zeros(1), np.array([0.37])
    shape, piece = traffic._shape(times.tobytes(), rates.tobytes(), 9000.0, None, 8192)
    general = (*shape[:-1], False)  # not "positive": the general formula (with its zero-rate guard)
    draws = np.random.default_rng(3).exponential(1.0, 4096)
    for running, t in ((0.0, 0.0), (12.5, 100.25)):
        fast = traffic._piece(draws.copy(), running, t, shape)
        slow = traffic._piece(draws.copy(), running, t, general)
        assert np.array_equal(fast[0], slow[0]) and fast[1:] == slow[1:]
        assert len(fast[0]) > 0
