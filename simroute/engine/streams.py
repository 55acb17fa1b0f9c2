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
    """Factory of Generators for one run: ``streams.get("holding", did.number)``.

    Stream ``source/entity`` is PCG64 seeded by ``SeedSequence(seed's entropy, spawn_key=(*seed's spawn
    key, crc32 of the name))``. Numpy builds one such SeedSequence in about 35 us, which thousands of
    DIDs with three streams each turn into seconds of set-up; :meth:`prefetch` derives many at once
    (:func:`seed_states`, the same words, tested) and :meth:`get` then hands them out.
    """

    def __init__(self, seed: int | np.random.SeedSequence):
        self._root = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self._ready: dict[str, np.ndarray] = {}

    def _spawn_key(self, source: str, entity: str) -> tuple[int, ...]:
        key = zlib.crc32(f"{source}/{entity}".encode())  # stable across runs, unlike hash()
        return (*self._root.spawn_key, key)  # as prefetch makes it

    def get(self, source: str, entity: str = "") -> np.random.Generator:
        words = self._ready.pop(f"{source}/{entity}", None)
        if words is not None:
            return np.random.Generator(np.random.PCG64(_Seeded(words)))  # type: ignore[arg-type]
        seq = np.random.SeedSequence(self._root.entropy, spawn_key=self._spawn_key(source, entity))
        return np.random.Generator(np.random.PCG64(seq))

    def prefetch(self, sources, entities) -> None:
        """Derive the seeds of every ``source/entity`` stream at once, for :meth:`get` to use."""
        names = [f"{source}/{entity}" for source in sources for entity in entities]
        if names:
            crc = np.fromiter((zlib.crc32(name.encode()) for name in names), np.uint32, len(names))
            words = seed_states(self._root.entropy, self._root.spawn_key, crc)
            self._ready.update(zip(names, words))


class _Seeded(np.random.bit_generator.ISeedSequence):
    """A SeedSequence whose state words were derived already (PCG64 reads 4 uint64)."""

    def __init__(self, words: np.ndarray):
        self.words = words

    def generate_state(self, n_words, dtype=np.uint32):
        assert n_words == 4 and np.dtype(dtype) == np.uint64
        return self.words.copy()


_MASK32 = 0xFFFFFFFF
_INIT_A, _MULT_A, _INIT_B, _MULT_B = 0x43B0D7E5, 0x931E8875, 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R, _POOL = 0xCA01F9DD, 0x4973F715, 4


def _words(n: int) -> list[int]:
    """An int as numpy's SeedSequence reads it: 32-bit words, least significant first (0: one word)."""
    out = [n & _MASK32]
    n >>= 32
    while n:
        out.append(n & _MASK32)
        n >>= 32
    return out


def seed_states(entropy, root_key: tuple[int, ...], names: np.ndarray) -> np.ndarray:
    """``SeedSequence(entropy, spawn_key=(*root_key, name)).generate_state(4, np.uint64)`` for every
    32-bit ``name`` hash, at once: numpy's SeedSequence algorithm (its hashmix and mix over a pool of 4
    words) on columns, one per name."""
    run = [w for e in (entropy if isinstance(entropy, (list, tuple)) else [entropy]) for w in _words(int(e))]
    run += [0] * (_POOL - len(run))  # with a spawn key, the run's entropy is padded to the pool size
    n = len(names)
    root = [w for k in root_key for w in _words(int(k))]
    entropy_words = [np.full(n, w, np.uint32) for w in run + root] + [np.asarray(names, np.uint32)]
    h = _INIT_A

    def hashmix(value):
        nonlocal h
        value = value ^ np.uint32(h)
        h = (h * _MULT_A) & _MASK32
        value = value * np.uint32(h)
        return value ^ (value >> np.uint32(16))

    def mix(x, y):
        r = x * np.uint32(_MIX_L) - y * np.uint32(_MIX_R)
        return r ^ (r >> np.uint32(16))

    pool = [hashmix(entropy_words[i]) for i in range(_POOL)]
    for src in range(_POOL):
        for dst in range(_POOL):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for word in entropy_words[_POOL:]:
        for dst in range(_POOL):
            pool[dst] = mix(pool[dst], hashmix(word))
    h = _INIT_B
    state = []
    for i in range(2 * _POOL):  # 8 words of 32 bits: 4 of 64
        value = pool[i % _POOL] ^ np.uint32(h)
        h = (h * _MULT_B) & _MASK32
        value = value * np.uint32(h)
        state.append(value ^ (value >> np.uint32(16)))
    low, high = np.stack(state[0::2], axis=1), np.stack(state[1::2], axis=1)
    return low.astype(np.uint64) | (high.astype(np.uint64) << np.uint64(32))


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
