"""Replications in rounds, for one point or many: run a round, look, decide, run another if needed.

A stopping rule looks only at whole rounds, on the replications in their index order, so the decision (and
every number after it) is the same whether the replications ran in this process, on a pool or on a Dask
cluster, in whatever order they finished. A rule says when the intervals are narrow enough
(:class:`Precision`), or anything else (sizing stops when a target is decided); every rule also stops at
the budget of replications, and says which of the two happened.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SimrouteError
from .intervals import estimates
from .replications import run_once
from .targets import kpi_column

if TYPE_CHECKING:
    from concurrent.futures import Executor

__all__ = ["Precision", "Rounds", "run_rounds", "run_indexes", "replication_task"]


def replication_task(args):
    """One replication on any process: ``(network, seed, horizon, windows)`` -> its window summaries."""
    network, seed, horizon, windows = args
    return run_once(network, seed, horizon, windows, records="none")[0]


@dataclass(frozen=True)
class Precision:
    """Stop once every KPI in ``kpis`` has an interval half-width at most ``relative`` times its mean
    (or at most ``absolute``): the ``--precision`` and ``--precision-abs`` options."""

    kpis: tuple[str, ...]
    relative: float | None = None
    absolute: float | None = None
    confidence: float = 0.95

    def __post_init__(self):
        if (self.relative is None) == (self.absolute is None):
            raise SimrouteError("give one of --precision (relative) or --precision-abs")
        limit = self.relative if self.relative is not None else self.absolute
        if not limit or limit <= 0:
            raise SimrouteError(f"the precision must be above 0, got {limit}")

    def narrow_enough(self, frame) -> tuple[bool, dict]:
        """Whether every target KPI is precise enough in ``frame`` (one row per replication), and each
        KPI's half-width against its allowance."""
        table = estimates(frame, self.confidence)
        report, ok = {}, True
        for name in self.kpis:
            kpi = kpi_column(name, table.index)
            half, mean = float(table["half_width"][kpi]), float(table["mean"][kpi])
            allowed = self.absolute if self.absolute is not None else (self.relative or 0.0) * abs(mean)
            good = bool(np.isfinite(half) and half <= allowed and (self.absolute is not None or mean))
            report[kpi] = {"half_width": half, "allowed": allowed, "met": good}
            ok &= good
        return ok, report


@dataclass
class Rounds:
    """How many replications per round and at most: ``first`` (the first round), ``size`` (each later
    round) and ``budget`` (all rounds together)."""

    first: int
    size: int
    budget: int

    def __post_init__(self):
        if self.first < 2 and self.budget > self.first:
            raise SimrouteError("rounds of replications need at least 2 in the first round")
        if self.budget < self.first:
            raise SimrouteError(
                f"the replication budget ({self.budget}) is below the first round ({self.first})"
            )

    def next_round(self, done: int) -> int:
        return max(0, min(self.size, self.budget - done)) if done else self.first


def run_rounds(
    points: dict[Hashable, object],
    seed_sequence: np.random.SeedSequence,
    horizon: float,
    windows: list,
    rounds: Rounds,
    decide: Callable[[Hashable, list], bool],
    executor: Executor | None,
    on_point: Callable[[Hashable, list], None],
    on_replication: Callable[[], None] | None = None,
    on_round: Callable[[int], None] | None = None,
) -> None:
    """Run every point (a compiled network) in rounds until ``decide(key, summaries)`` is true or its
    budget is spent, then call ``on_point(key, summaries)``; ``summaries[i]`` is replication ``i``'s list of
    window summaries, with seed child ``i`` at every point (common random numbers across points).

    Tasks of all points are in flight together, so workers stay busy across points; a point's next round
    is submitted as soon as its previous round is complete and looked at.
    """
    seeds = seed_sequence.spawn(rounds.budget)
    results: dict[Hashable, dict[int, list]] = {key: {} for key in points}
    queued: list[tuple[Hashable, int]] = []

    def schedule(key) -> bool:
        done = len(results[key])
        more = rounds.next_round(done)
        if more == 0:
            return False
        if done and on_round is not None:
            on_round(more)
        queued.extend((key, i) for i in range(done, done + more))
        return True

    def finished(key):
        got = results[key]
        ordered = [got[i] for i in range(len(got))]
        if not decide(key, ordered) and schedule(key):
            return
        on_point(key, ordered)

    for key in points:
        schedule(key)
    if executor is None:
        while queued:
            key, i = queued.pop(0)
            results[key][i] = replication_task((points[key], seeds[i], horizon, windows))
            if on_replication is not None:
                on_replication()
            if not any(k == key for k, _ in queued):  # the round of this point is complete
                finished(key)
        return
    from concurrent.futures import FIRST_COMPLETED, wait

    pending: dict = {}
    waiting = {key: 0 for key in points}

    def submit_queued():
        while queued:
            key, i = queued.pop(0)
            future = executor.submit(replication_task, (points[key], seeds[i], horizon, windows))
            pending[future] = (key, i)
            waiting[key] += 1

    submit_queued()
    try:
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in sorted(done, key=lambda f: pending[f][1]):
                key, i = pending.pop(future)
                results[key][i] = future.result()
                waiting[key] -= 1
                if on_replication is not None:
                    on_replication()
                if waiting[key] == 0:
                    finished(key)
            submit_queued()
    finally:
        for future in pending:
            future.cancel()


def run_indexes(network, seed_sequence: np.random.SeedSequence, indexes, horizon, windows, executor) -> list:
    """Replications ``indexes`` (seed children by index) of one network, returned in index order."""
    indexes = list(indexes)
    seeds = seed_sequence.spawn(max(indexes) + 1) if indexes else []
    tasks = [(network, seeds[i], horizon, windows) for i in indexes]
    if executor is None:
        return [replication_task(t) for t in tasks]
    return list(executor.map(replication_task, tasks))
