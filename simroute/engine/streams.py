"""Named random streams: one numpy Generator per source of randomness and entity.

A stream's seed depends only on the run's seed and the stream's name (``arrivals/493012345678``), not
on the order of trunks in the file nor on how many numbers other streams drew. So two variants of a
scenario (a capacity changed, a trunk added) see the same arrivals and the same far-end behaviour:
common random numbers, which make what-if differences sharp.
"""

from __future__ import annotations

import hashlib
import itertools
import struct
import zlib

import numpy as np

from ..errors import SimrouteError
from ..scenario.distributions import is_instant

__all__ = ["Streams", "CallWords", "batched", "sampler"]


class Streams:
    """Factory of Generators for one run: ``streams.get("holding", did.number)``."""

    def __init__(self, seed: int | np.random.SeedSequence):
        self._root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)

    def get(self, source: str, entity: str = "") -> np.random.Generator:
        key = zlib.crc32(f"{source}/{entity}".encode())  # stable across runs, unlike hash()
        seq = np.random.SeedSequence(self._root.entropy, spawn_key=(*self._root.spawn_key, key))
        return np.random.Generator(np.random.PCG64(seq))


class CallWords:
    """Random words keyed by ``(call id, pick)``: what a call draws never depends on what other calls drew.

    The BLAKE2b hash (the standard library's) of the stream's 16-byte key and the two numbers gives 8
    words of 64 bits: a counter-based stream, like Philox, at a fraction of the cost of making a numpy
    generator per call. Used for the draws a call makes after its first, which only calls that
    re-route need.
    """

    __slots__ = ("_key",)

    def __init__(self, rng: np.random.Generator):
        self._key = rng.bytes(16)

    def __call__(self, call: int, pick: int) -> tuple[int, ...]:
        return _EIGHT_WORDS(hashlib.blake2b(self._key + _KEY_PAIR(call, pick), digest_size=64).digest())


_KEY_PAIR = struct.Struct("<qq").pack
_EIGHT_WORDS = struct.Struct("<8Q").unpack


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

    def draw(n):
        values = dist.sample(rng, n)
        if not np.isfinite(values).all():  # one check per batch: a NaN time would corrupt every count
            bad = values[~np.isfinite(values)][0]
            raise SimrouteError(
                f"a {dist.dist} distribution ({dist.model_dump(by_alias=True)}) drew the time {bad}: "
                "its parameters are too extreme to simulate"
            )
        return values

    return batched(draw, first=64 if dist.splittable() else None)


def no_delay() -> float:
    return 0.0
