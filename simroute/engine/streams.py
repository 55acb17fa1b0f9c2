"""Named random streams: one numpy Generator per source of randomness and entity.

A stream's seed depends only on the run's seed and the stream's name (``arrivals/493012345678``), not
on the order of trunks in the file nor on how many numbers other streams drew. So two variants of a
scenario (a capacity changed, a trunk added) see the same arrivals and the same far-end behaviour:
common random numbers, which make what-if differences sharp.
"""

from __future__ import annotations

import itertools
import zlib

import numpy as np

from ..scenario.distributions import is_instant

__all__ = ["Streams", "batched", "sampler"]


class Streams:
    """Factory of Generators for one run: ``streams.get("holding", did.number)``."""

    def __init__(self, seed: int | np.random.SeedSequence):
        self._root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)

    def get(self, source: str, entity: str = "") -> np.random.Generator:
        key = zlib.crc32(f"{source}/{entity}".encode())  # stable across runs, unlike hash()
        seq = np.random.SeedSequence(self._root.entropy, spawn_key=(*self._root.spawn_key, key))
        return np.random.Generator(np.random.PCG64(seq))


def batched(draw, size: int = 4096):
    """The ``__next__`` of an endless iterator over ``draw(size)`` batches, as plain Python numbers.

    ``draw`` is e.g. ``lambda n: rng.exponential(180.0, n)`` (an array or a list). The iterator is
    itertools' chain over the batches, so a value costs one ``next()`` in C: no Python frame per value,
    which is what makes per-call random numbers cheap.
    """

    def batch() -> list:
        values = draw(size)
        return values if isinstance(values, list) else values.tolist()

    return itertools.chain.from_iterable(iter(batch, _NEVER)).__next__


_NEVER = object()  # the sentinel no batch equals: the iterator of batches never ends


def sampler(dist, rng: np.random.Generator):
    """A ``next()`` over batches of ``dist`` (a distribution model), or a constant 0 for a zero delay."""
    if is_instant(dist):
        return no_delay
    return batched(lambda n: dist.sample(rng, n))


def no_delay() -> float:
    return 0.0
