"""Routing decisions that need no clock: attempt order, re-route or stop, number-list match.

Pure functions of their inputs (random draws are passed in), so each rule is tested alone and with
hypothesis; the engine only calls them.
"""

from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

__all__ = [
    "Bucket",
    "buckets",
    "attempt_order",
    "first_choice_probabilities",
    "should_reroute",
    "NumberListMatcher",
]


class Bucket(NamedTuple):
    """Members of one priority, sorted by weight ascending (weight-0 first), as Yeti's RFC 2782 sort."""

    trunks: tuple[int, ...]
    weights: tuple[int, ...]


def buckets(members: Sequence[tuple[int, int, int]]) -> tuple[Bucket, ...]:
    """Priority buckets, lowest priority first, from ``(trunk, priority, weight)`` triples.

    Ties in weight keep the order of the members in the file (a stable sort), so the order is explicit.
    """
    by_priority: dict[int, list[tuple[int, int]]] = {}
    for trunk, priority, weight in members:
        by_priority.setdefault(priority, []).append((weight, trunk))
    out = []
    for priority in sorted(by_priority):
        rows = sorted(by_priority[priority], key=lambda wt: wt[0])
        out.append(Bucket(tuple(t for _, t in rows), tuple(w for w, _ in rows)))
    return tuple(out)


def attempt_order(groups: Sequence[Bucket], uniform: Callable[[], float]) -> list[int]:
    """Trunks in the order a call tries them: priority ascending, RFC 2782 weighted order within one.

    Per draw: running sums of the remaining weights, ``r`` uniform on the integers ``0..total``; the first
    member whose running sum reaches ``r`` goes next. A weight-0 member is picked only when ``r == 0``
    (chance ``1/(total+1)``): RFC 2782's "very small chance".
    """
    order: list[int] = []
    for bucket in groups:
        trunks = bucket.trunks
        if len(trunks) == 1:
            order.append(trunks[0])
            continue
        remaining, weights = list(trunks), list(bucket.weights)
        while remaining:
            total = sum(weights)
            r = int(uniform() * (total + 1))
            running = 0
            i = 0
            for i, w in enumerate(weights):  # noqa: B007 - the index that stops the loop is the pick
                running += w
                if running >= r:
                    break
            order.append(remaining.pop(i))
            weights.pop(i)
    return order


def first_choice_probabilities(bucket: Bucket) -> dict[int, float]:
    """Exact chance that each member of ``bucket`` is tried first under :func:`attempt_order`.

    With ``r`` uniform on ``0..W`` the first member in weight order wins ``w + 1`` of the ``W + 1``
    values, every other member ``w``: weights 70/30 give 70/101 and 31/101, within ``1/(W+1)`` of the
    weight shares that RFC 2782 aims at.
    """
    total = sum(bucket.weights)
    probs = {t: w / (total + 1) for t, w in zip(bucket.trunks, bucket.weights)}
    probs[bucket.trunks[0]] += 1 / (total + 1)
    return probs


def should_reroute(
    cause: int, reroute: frozenset, attempt: int, order_length: int, max_attempts: int
) -> bool:
    """Try the next trunk? Only on a cause in the trunk's list, while trunks and attempts remain.

    ``attempt`` counts from 1 (the attempt that just ended).
    """
    return cause in reroute and attempt < order_length and attempt < max_attempts


class NumberListMatcher:
    """An inbound number list: ``exact`` (whole number) or ``prefix`` (longest prefix wins) matching."""

    __slots__ = ("_exact", "_prefixes", "_lengths", "_default_allows")

    def __init__(self, mode: str, items: Sequence[tuple[str, bool]], default_allows: bool):
        table = {number: allows for number, allows in items}
        self._exact = table if mode == "exact" else None
        self._prefixes = table if mode == "prefix" else None
        self._lengths = sorted({len(n) for n in table}, reverse=True)
        self._default_allows = default_allows

    def allows(self, number: str) -> bool:
        """True when the call may go on, False when the list rejects it."""
        if self._exact is not None:
            return self._exact.get(number, self._default_allows)
        table = self._prefixes or {}
        for length in self._lengths:
            if length <= len(number):
                hit = table.get(number[:length])
                if hit is not None:
                    return hit
        return self._default_allows
