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


def batched(draw, size: int = 4096, first: int | None = None):
    """The ``__next__`` of an endless iterator over ``draw(n)`` batches, as plain Python numbers.

    ``draw`` is e.g. ``lambda n: rng.exponential(180.0, n)`` (an array or a list). The iterator is
    itertools' chain over the batches, so a value costs one ``next()`` in C: no Python frame per value,
    which is what makes per-call random numbers cheap. An array batch is kept as the array (8 bytes a
    value, read through a memoryview), not as a list of Python floats (32 or more).

    With ``first``, the batches start at ``first`` values and double up to ``size``: a stream that is
    read a few times holds a few values, not a full batch. Only for a ``draw`` whose numbers do not
    depend on how they are split into calls (see ``splittable`` of the distributions).
    """
    sizes = itertools.repeat(size) if first is None else _doubling(first, size)
    return itertools.chain.from_iterable(map(_values, map(draw, sizes))).__next__


def _doubling(first: int, size: int):
    n = max(1, min(first, size))
    while n < size:
        yield n
        n *= 2
    yield from itertools.repeat(size)


def _values(batch):
    """What a batch is iterated as: a list as it is, an array through a memoryview (Python numbers)."""
    return batch if isinstance(batch, list) else memoryview(np.ascontiguousarray(batch))


def sampler(dist, rng: np.random.Generator):
    """A ``next()`` over batches of ``dist`` (a distribution model), or a constant 0 for a zero delay."""
    if is_instant(dist):
        return no_delay
    return batched(lambda n: dist.sample(rng, n), first=64 if dist.splittable() else None)


def no_delay() -> float:
    return 0.0
