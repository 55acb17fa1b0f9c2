"""Routing decisions that need no clock: attempt order, re-route or stop, number-list match.

Pure functions and small tables of their inputs (random draws are passed in), so each rule is tested
alone and with hypothesis; the engine only calls them.

The attempt order of a call is drawn one trunk at a time, when the call needs it (:class:`GroupRouter`):
a call answered on its first trunk costs one draw and a binary search, whatever the size of its group.
Each next trunk has the distribution it would have in the whole order drawn at once
(:func:`attempt_order`, the reference the tests compare with).
"""

from __future__ import annotations

import bisect
import math
from itertools import accumulate
from typing import Callable, NamedTuple, Sequence

__all__ = [
    "Bucket",
    "buckets",
    "WEIGHT_DRAWS",
    "WEIGHT_ZERO_FRACTION",
    "effective_weights",
    "attempt_order",
    "GroupRouter",
    "first_choice_probabilities",
    "second_choice_probabilities",
    "should_reroute",
    "NumberListMatcher",
    "CLI_FORMATS",
    "format_cli",
]

#: ``settings.weight_draw``: ``proportional`` (DIDWW's documented rule, the default) or ``yeti``
#: (the integer draw of Yeti's ``rank_dns_srv``, simroute's rule before).
WEIGHT_DRAWS = ("proportional", "yeti")

#: Under the proportional rule a weight-0 member counts as this fraction of the smallest positive weight
#: of its priority: RFC 2782's "very small chance". When every weight of a priority is 0, all count alike.
WEIGHT_ZERO_FRACTION = 1e-3

#: Random words a call gets for one pick after its first: tries of the rejection draw, the last one for the
#: exact draw over the members left (see :meth:`GroupRouter.next`).
PICK_WORDS = 8
_2_TO_MINUS_53 = 2.0**-53  # a 64-bit random word's top 53 bits times this: a uniform on [0, 1)


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


def effective_weights(weights: Sequence[int]) -> tuple[float, ...]:
    """The weights the proportional rule draws with: 0 becomes :data:`WEIGHT_ZERO_FRACTION` of the
    smallest positive weight; all zero: all equal (a uniform order)."""
    positive = [w for w in weights if w > 0]
    if not positive:
        return (1.0,) * len(weights)
    zero = min(positive) * WEIGHT_ZERO_FRACTION
    return tuple(float(w) if w > 0 else zero for w in weights)


def _pick(weights: Sequence, u: float, rule: str) -> int:
    """Index of the member drawn with uniform ``u``: ``weights`` are the integer weights (yeti) or the
    effective weights (proportional) of the members still to draw from."""
    if rule == "yeti":
        # running sums of the integer weights, r uniform on 0..total: the first member whose running sum
        # reaches r goes next (weight-0 members only when r == 0)
        return bisect.bisect_left(list(accumulate(weights)), int(u * (sum(weights) + 1)))
    cum = list(accumulate(weights))
    return min(bisect.bisect_right(cum, u * cum[-1]), len(weights) - 1)


def attempt_order(groups: Sequence[Bucket], uniform: Callable[[], float], rule: str = "proportional"):
    """The whole attempt order drawn at once: priority ascending; within a priority each next member is
    drawn from the remaining ones (proportional: with chance effective weight / remaining total)."""
    order: list[int] = []
    for bucket in groups:
        trunks = list(bucket.trunks)
        weights = list(bucket.weights if rule == "yeti" else effective_weights(bucket.weights))
        while len(trunks) > 1:
            i = _pick(weights, uniform(), rule)
            order.append(trunks.pop(i))
            weights.pop(i)
        order.extend(trunks)
    return order


class GroupRouter:
    """A trunk group's attempt order, drawn lazily: :meth:`first` at arrival, :meth:`next` on re-route.

    ``size`` is the number of trunks on the route (an order never has more).
    """

    __slots__ = ("size", "rule", "_buckets", "_starts", "_eff", "_cum", "_total", "_first_single")

    def __init__(self, groups: Sequence[Bucket], rule: str = "proportional"):
        if rule not in WEIGHT_DRAWS:
            raise ValueError(f"unknown weight draw {rule!r}")
        self.rule = rule
        self._buckets = tuple(groups)
        self._starts = list(accumulate((len(b.trunks) for b in groups), initial=0))[:-1]
        self.size = sum(len(b.trunks) for b in groups)
        self._eff = [effective_weights(b.weights) for b in groups]
        #: running weights per priority, and what a uniform is scaled by (W + 1 for Yeti's r on 0..W)
        self._cum: list[list[float]]
        if rule == "yeti":
            self._cum = [[float(c) for c in accumulate(b.weights)] for b in groups]
            self._total = [float(sum(b.weights) + 1) for b in groups]
        else:
            self._cum = [list(accumulate(eff)) for eff in self._eff]
            self._total = [c[-1] for c in self._cum]
        first = groups[0].trunks
        self._first_single = first[0] if len(first) == 1 else None

    def first(self, u: float) -> int:
        """The first trunk, from one uniform: O(log n) in the members of the first priority."""
        if self._first_single is not None:
            return self._first_single
        return self._draw(0, u)

    def _draw(self, b: int, u: float) -> int:
        trunks = self._buckets[b].trunks
        if self.rule == "yeti":
            i = bisect.bisect_left(self._cum[b], int(u * self._total[b]))
        else:
            i = min(bisect.bisect_right(self._cum[b], u * self._total[b]), len(trunks) - 1)
        return trunks[i]

    def next(self, order: Sequence[int], words: Callable[[], Sequence[int]]) -> int:
        """The trunk after ``order`` (the trunks tried so far, in order; fewer than ``size``).

        ``words()`` gives :data:`PICK_WORDS` random 64-bit words for this pick; it is called only when a
        draw is needed. Proportional rule: draws from the whole priority, rejecting members already
        tried (each accepted draw has chance weight / remaining total), then, if every try hit a tried
        member, one exact draw over the members left: no work in proportion to the group while a try
        succeeds.
        """
        n = len(order)
        b = bisect.bisect_right(self._starts, n) - 1
        trunks = self._buckets[b].trunks
        tried = order[self._starts[b] :]
        if not tried:
            return trunks[0] if len(trunks) == 1 else self._draw(b, (words()[0] >> 11) * _2_TO_MINUS_53)
        if len(trunks) - len(tried) == 1:
            return next(t for t in trunks if t not in tried)
        us = words()
        if self.rule == "proportional":
            cum, total, last = self._cum[b], self._total[b] * _2_TO_MINUS_53, len(trunks) - 1
            for w in us[:-1]:
                t = trunks[min(bisect.bisect_right(cum, (w >> 11) * total), last)]
                if t not in tried:
                    return t
        weights = self._buckets[b].weights if self.rule == "yeti" else self._eff[b]
        left = [(t, w) for t, w in zip(trunks, weights) if t not in tried]
        return left[_pick([w for _, w in left], (us[-1] >> 11) * _2_TO_MINUS_53, self.rule)][0]


def first_choice_probabilities(bucket: Bucket, rule: str = "proportional") -> dict[int, float]:
    """Exact chance that each member of ``bucket`` is tried first among its priority.

    Proportional: effective weight / total (w / W when no weight is 0). Yeti: with ``r`` uniform on
    ``0..W`` the first member in weight order wins ``w + 1`` of the ``W + 1`` values, every other member
    ``w`` (70/30 give 70/101 and 31/101); all weights 0: the first member always.
    """
    if rule == "yeti":
        total = sum(bucket.weights)
        probs = {t: w / (total + 1) for t, w in zip(bucket.trunks, bucket.weights)}
        probs[bucket.trunks[0]] += 1 / (total + 1)
        return probs
    eff = effective_weights(bucket.weights)
    eff_total = math.fsum(eff)
    return {t: w / eff_total for t, w in zip(bucket.trunks, eff)}


def second_choice_probabilities(bucket: Bucket, rule: str = "proportional") -> dict[int, float]:
    """Exact chance that each member is the second tried in its priority (by the first pick's law)."""
    out = dict.fromkeys(bucket.trunks, 0.0)
    if len(bucket.trunks) < 2:
        return out
    eff = effective_weights(bucket.weights)
    for i, p in enumerate(first_choice_probabilities(bucket, rule).values()):
        rest = [j for j in range(len(bucket.trunks)) if j != i]
        if rule == "yeti":
            sub = Bucket(tuple(bucket.trunks[j] for j in rest), tuple(bucket.weights[j] for j in rest))
            cond = first_choice_probabilities(sub, "yeti")
        else:  # the effective weights stay those of the whole priority
            total = sum(eff[j] for j in rest)
            cond = {bucket.trunks[j]: eff[j] / total for j in rest}
        for s, q in cond.items():
            out[s] += p * q
    return out


def should_reroute(
    cause: int, reroute: frozenset, attempt: int, order_length: int, max_attempts: int | None = None
) -> bool:
    """Try the next trunk? Only on a cause in the trunk's list, while trunks and attempts remain.

    ``attempt`` counts from 1 (the attempt that just ended); ``order_length`` is the number of trunks on
    the route (with ``max_attempts`` absent: the attempts the call may make, both limits in one).
    """
    if max_attempts is not None and attempt >= max_attempts:
        return False
    return cause in reroute and attempt < order_length


class NumberListMatcher:
    """An inbound number list: ``exact`` (whole number) or ``prefix`` (longest prefix wins) matching.

    ``items`` are ``(number, allows)`` or ``(number, allows, min_length, max_length)``: with DIDWW's
    length rules an item qualifies only for numbers whose length is within them (None: no bound), and
    in prefix mode the longest qualifying prefix wins.
    """

    __slots__ = ("_exact", "_prefixes", "_lengths", "_default_allows", "_bounds")

    def __init__(self, mode: str, items: Sequence[tuple], default_allows: bool):
        table = {item[0]: item[1] for item in items}
        bounds = {
            item[0]: (item[2] or 0, _NO_BOUND if item[3] is None else item[3])
            for item in items
            if len(item) > 2 and (item[2] is not None or item[3] is not None)
        }
        self._bounds = bounds  # empty: no item has a length rule (the common, faster case)
        self._exact = table if mode == "exact" else None
        self._prefixes = table if mode == "prefix" else None
        self._lengths = sorted({len(n) for n in table}, reverse=True)
        self._default_allows = default_allows

    def _qualifies(self, item: str, number: str) -> bool:
        lo, hi = self._bounds.get(item, (0, _NO_BOUND))
        return lo <= len(number) <= hi

    def allows(self, number: str) -> bool:
        """True when the call may go on, False when the list rejects it."""
        bounded = bool(self._bounds)
        if self._exact is not None:
            hit = self._exact.get(number)
            if hit is None or (bounded and not self._qualifies(number, number)):
                return self._default_allows
            return hit
        table = self._prefixes or {}
        for length in self._lengths:
            if length <= len(number):
                prefix = number[:length]
                hit = table.get(prefix)
                if hit is not None and (not bounded or self._qualifies(prefix, number)):
                    return hit
        return self._default_allows


_NO_BOUND = 10**9

CLI_FORMATS = ("raw", "e164", "local")


def format_cli(number: str, cli_format: str, country_code: str) -> str:
    """The caller number as a trunk with ``cli_format`` presents it (and its number list reads it).

    ``raw``: unchanged. ``e164``: international digits without '+': a leading '+' is dropped, a leading
    ``00`` (international prefix) is dropped, a single leading ``0`` (national prefix) is replaced by
    ``country_code`` (the DID's country); simroute's generated callers are already E.164, so for them
    ``e164`` equals ``raw``. ``local``: from the E.164 form, a number of the DID's own country loses its
    country code and gets the national prefix ``0`` (4930123 -> 030123 for a German DID); any other
    keeps its country code after the international prefix ``00`` (1212555... -> 001212555...).
    """
    if cli_format == "raw":
        return number
    digits = number[1:] if number.startswith("+") else number
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = country_code + digits[1:]
    if cli_format == "e164":
        return digits
    if country_code and digits.startswith(country_code):
        return "0" + digits[len(country_code) :]
    return "00" + digits
