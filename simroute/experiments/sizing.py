"""Sizing: the smallest value of a field (channels, agents...) for which a target holds with confidence.

A value *meets* the target when the unfavourable end of the KPI's interval does (the upper end for
``<=``); it *fails* when even the favourable end misses; otherwise more replications are run, in rounds,
up to the budget, after which an undecided value counts as not meeting (not shown to meet). The search
assumes the KPI improves as the value grows. It starts where :mod:`simroute.theory` puts the answer when a
closed form applies (Erlang B for a trunk's channels, Erlang C or A for a cloud PBX's agents), steps away
from the start with doubling steps until it has a value that fails below one that meets, then bisects.

Every interval a decision is taken on is at a per-look confidence of ``1 - (1 - confidence) / looks``
(``looks``: the rounds a value may get), so the chance of ever calling a value good that is not stays
below the stated level however many rounds it took (Bonferroni over the looks).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import theory
from ..engine.network import compile_network
from ..errors import SimrouteError
from ..scenario.schema import Scenario
from .intervals import estimates
from .precision import Rounds, run_indexes
from .replications import replications_table
from .targets import Target, kpi_column
from .vary import FieldPath, apply, field_minimum

__all__ = ["SizingSpec", "Evaluation", "Sizing", "size_for", "theory_start", "failures_of", "MAX_POINTS"]

#: Values a search may evaluate before it stops with what it knows.
MAX_POINTS = 24
#: Larger values in a row that leave the KPI no better, after which the search upwards gives up.
STALLED = 3


@dataclass(frozen=True)
class SizingSpec:
    scenario: Scenario
    path: FieldPath
    target: Target
    seed: int
    horizon: float
    warmup: float
    rounds: Rounds
    confidence: float
    max_points: int = MAX_POINTS

    @property
    def looks(self) -> int:
        extra = self.rounds.budget - self.rounds.first
        return 1 + (math.ceil(extra / self.rounds.size) if extra > 0 else 0)

    @property
    def look_confidence(self) -> float:
        return 1 - (1 - self.confidence) / self.looks


@dataclass
class Evaluation:
    """One value tried: the KPI's mean and interval on ``replications``, and the verdict."""

    value: int
    replications: int
    mean: float | None
    low: float | None
    high: float | None
    bound: float | None  # the unfavourable end
    verdict: str  # "meets", "fails", "undecided" (budget spent: counts as not meeting)
    interval: str  # "t" or "pooled" (few events)
    cost: float | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class Sizing:
    """The smallest value found to meet the target (None: none up to ``limit``) and every point tried."""

    value: int | None
    evaluation: Evaluation | None
    points: list[Evaluation] = field(default_factory=list)
    note: str = ""
    start: int | None = None
    start_from: str = ""


def _number(value) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def judge(target: Target, summaries: list[dict], confidence: float, with_cost: bool = False) -> Evaluation:
    frame = replications_table(summaries)
    table = estimates(frame, confidence)
    kpi = kpi_column(target.kpi, table.index)
    row = table.loc[kpi]
    mean, low, high = _number(row["mean"]), _number(row["low"]), _number(row["high"])
    if mean is None:  # the KPI is undefined (nothing reached it): nothing can violate the target
        verdict, bound = "meets", None
    else:
        bound = target.unfavourable(low if low is not None else mean, high if high is not None else mean)
        good = target.favourable(low if low is not None else mean, high if high is not None else mean)
        if target.met_by(bound):
            verdict = "meets"
        elif not target.met_by(good):
            verdict = "fails"
        else:
            verdict = "undecided"
    cost = None
    if with_cost:
        if "costs.total" not in table.index:
            raise SimrouteError("--cost: this scenario's summary has no costs")
        cost = _number(table.loc["costs.total", "mean"])
    return Evaluation(0, len(summaries), mean, low, high, bound, verdict, str(row["method"]), cost)


def evaluate(
    spec: SizingSpec,
    scenario: Scenario,
    value: int,
    executor,
    cache: dict,
    with_cost: bool = False,
    on_replications: Callable[[int], None] | None = None,
) -> Evaluation:
    """Run ``value`` in rounds until its verdict is decided or the budget is spent (reusing ``cache``)."""
    variant = apply(scenario, [(spec.path, value)])
    key = (variant.model_dump_json(), spec.seed, spec.horizon, spec.warmup)
    summaries = cache.setdefault(key, [])
    network = compile_network(variant)
    windows = [(spec.warmup, spec.horizon)]
    n = spec.rounds.first
    while True:
        if len(summaries) < n:
            todo = range(len(summaries), n)
            got = run_indexes(
                network, np.random.SeedSequence(spec.seed), todo, spec.horizon, windows, executor
            )
            summaries.extend(s[0] for s in got)
            if on_replications is not None:
                on_replications(len(todo))
        result = judge(spec.target, summaries[:n], spec.look_confidence, with_cost)
        if result.verdict != "undecided" or n >= spec.rounds.budget:
            result.value = value
            return result
        n = min(spec.rounds.budget, n + spec.rounds.size)


def _recall(scenario: Scenario, trunk: str) -> float | None:
    """The recall factor of the callers routed straight to ``trunk`` (their chance of another try after a
    blocked first one), or None when none of them redials: with redial, Erlang B on the fresh traffic
    is no start, since the retries add load."""
    rules = [
        d.traffic.redial
        for d in scenario.dids
        if d.route.trunk == trunk and d.traffic is not None and d.traffic.redial is not None
    ]
    if not rules:
        return None
    return max(r.chance(1) if "blocking" in r.after else 0.0 for r in rules)


def _offered_erlangs(scenario: Scenario, trunk: str) -> tuple[float, float] | None:
    """Erlangs and mean holding time offered straight to ``trunk`` (DIDs routed to it alone, steady
    traffic), or None when its traffic comes through a group or changes over time."""
    erlangs, rate = 0.0, 0.0
    for did in scenario.dids:
        if did.route.trunk != trunk:
            if did.route.group is not None:
                group = next(g for g in scenario.trunk_groups if g.name == did.route.group)
                if any(m.trunk == trunk for m in group.members):
                    return None
            continue
        t = did.traffic
        if t is None:
            continue
        if t.holding_time is None:
            return None
        if t.steps is not None:
            return None
        peak = max(t.profile) if t.profile is not None else 1.0  # size for the busiest hour
        rate += t.base_rate * peak
        erlangs += t.base_rate * peak * t.holding_time.mean
    if rate <= 0:
        return None
    return erlangs, erlangs / rate


def theory_start(scenario: Scenario, path: FieldPath, target: Target) -> tuple[int | None, str]:
    """Where the closed forms put the answer, and which one: Erlang B for a trunk's ``capacity_limit``
    under a blocking target, Erlang C (or Erlang A with exponential patience) for a cloud PBX's
    ``agents`` under a queue target. ``(None, reason)`` when none applies."""
    trunk_index = next((s for s in path.steps[1:2]), None) if path.steps[:1] == ("trunks",) else None
    if trunk_index is None:
        return None, "no closed form for this field"
    trunk = scenario.trunks[trunk_index]
    offered = _offered_erlangs(scenario, trunk.name)
    if offered is None:
        return None, f"no closed form: {trunk.name}'s traffic comes through a group or changes in steps"
    erlangs, hold = offered
    leaf = target.kpi.rsplit(".", 1)[-1]
    recall = _recall(scenario, trunk.name)
    if recall is not None and path.field == "capacity_limit" and target.op == "<=" and 0 < target.bound < 1:
        metric = {"blocking_probability": "blocking", "loss_probability": "blocking"}.get(leaf)
        metric = "caller_loss" if leaf in ("caller_loss_probability", "final_blocking") else metric
        if metric is not None:
            for n in range(1, 100_000):
                if theory.extended_erlang_b(erlangs, n, recall)[metric] <= target.bound:
                    return n, f"Extended Erlang B at {erlangs:.4g} fresh erlang, recall {recall:g}"
        return None, "no closed form for this target with redial"
    if (
        path.field == "capacity_limit"
        and target.op == "<="
        and leaf
        in (
            "loss_probability",
            "blocking_probability",
            "attempt_blocking",
            "time_congestion",
        )
    ):
        if not 0 < target.bound < 1:
            return None, "no closed form for this bound"
        return theory.erlang_b_circuits(erlangs, target.bound), f"Erlang B at {erlangs:.4g} erlang"
    if path.field == "agents" and trunk.pbx is not None:
        pbx = trunk.pbx
        patience = pbx.patience.mean if pbx.patience is not None else math.inf
        for n in range(max(1, math.floor(erlangs)), 100_000):
            if patience < math.inf:
                got = theory.erlang_a(erlangs / hold, hold, n, patience)
                value = {"abandonment_rate": got["p_abandon"], "average_speed_of_answer": got["mean_wait"]}
                how = "Erlang A"
            elif n > erlangs:
                value = {
                    "service_level": theory.erlang_c_service_level(
                        erlangs, n, hold, pbx.service_level_threshold
                    ),
                    "average_speed_of_answer": theory.erlang_c_mean_wait(erlangs, n, hold),
                }
                how = "Erlang C"
            else:
                continue
            if leaf not in value:
                return math.floor(erlangs) + 1, f"{how}: the load {erlangs:.4g} erlang plus one"
            if target.met_by(value[leaf]):
                return n, f"{how} at {erlangs:.4g} erlang"
    return None, "no closed form for this field and target"


def size_for(
    spec: SizingSpec,
    scenario: Scenario,
    executor,
    cache: dict,
    *,
    cost: bool = False,
    cost_span: int = 8,
    on_replications=None,
    near: int | None = None,
) -> Sizing:
    """The search on ``scenario`` (the spec's, or one with a failure added); ``near`` (the answer
    without failures) is where a search with a failure starts when no closed form applies."""
    path = spec.path
    lowest = field_minimum(path)
    lowest = int(lowest) if lowest is not None else 0
    start, start_from = theory_start(scenario, path, spec.target)
    if start is None and near is not None:
        start, start_from, step = near, "the answer without failures", 1
    elif start is None:
        current = _current(scenario, path)
        start = current if isinstance(current, int) and current >= lowest else max(lowest, 1)
        start_from = f"the scenario's value ({start_from})"
        step = max(1, start // 4)
    elif start is not None:
        step = 1
    start = max(start, lowest)
    tried: dict[int, Evaluation] = {}

    def ev(value: int) -> Evaluation:
        if value not in tried:
            if len(tried) >= spec.max_points:
                raise _Budget()
            tried[value] = evaluate(spec, scenario, value, executor, cache, cost, on_replications)
        return tried[value]

    good = fail = None
    note = ""
    try:
        if ev(start).verdict == "meets":
            good, v = start, start
            while good > lowest:
                v = max(lowest, good - step)
                if ev(v).verdict == "meets":
                    good, step = v, step * 2
                else:
                    fail = v
                    break
        else:
            fail = start
            limit = _maximum(path)
            stalled = 0
            while good is None:
                v = fail + step
                if limit is not None and v > limit:
                    if fail >= limit:
                        note = f"not met at the largest value allowed ({limit})"
                        break
                    v = limit
                before = tried[fail].mean
                if ev(v).verdict == "meets":
                    good = v
                else:
                    after = tried[v].mean
                    better = (
                        before is not None
                        and after is not None
                        and (after < before if spec.target.op == "<=" else after > before)
                    )
                    stalled = 0 if better else stalled + 1
                    if stalled >= STALLED:
                        note = f"the KPI did not improve over {STALLED} larger values (up to {v})"
                        break
                    fail, step = v, step * 2
        while good is not None and fail is not None and good - fail > 1:
            mid = (good + fail) // 2
            if ev(mid).verdict == "meets":
                good = mid
            else:
                fail = mid
        if cost and good is not None:
            best = good
            for v in range(good + 1, good + cost_span + 1):
                if limit_reached(path, v):
                    break
                e = ev(v)
                if (
                    e.verdict == "meets"
                    and e.cost is not None
                    and (tried[best].cost is None or e.cost < (tried[best].cost or 0.0))
                ):
                    best = v
            good = best
    except _Budget:
        note = f"search budget of {spec.max_points} values spent"
    points = [tried[v] for v in sorted(tried)]
    return Sizing(good, tried.get(good) if good is not None else None, points, note, start, start_from)


class _Budget(Exception):
    pass


def limit_reached(path: FieldPath, value: int) -> bool:
    top = _maximum(path)
    return top is not None and value > top


def _maximum(path: FieldPath) -> int | None:
    for meta in path.model.model_fields[path.field].metadata:
        bound = getattr(meta, "le", None)
        if bound is not None:
            return int(bound)
    return None


def _current(scenario: Scenario, path: FieldPath):
    node: Any = scenario
    for step in path.steps:
        node = node[step] if isinstance(step, int) else getattr(node, step, None)
        if node is None:
            return None
    return node


def failures_of(scenario: Scenario, horizon: float) -> list[tuple[str, dict]]:
    """N-1: each POP down and each trunk down in turn, for the whole run."""
    out = []
    if len(scenario.pops) > 1:
        for pop in scenario.pops:
            out.append((f"pop {pop.name} down", {"pop": pop.name, "at": 0.0, "duration": horizon}))
    for trunk in scenario.trunks:
        out.append((f"trunk {trunk.name} down", {"trunk": trunk.name, "at": 0.0, "duration": horizon}))
    return out


def with_failure(scenario: Scenario, fault: dict, label: str) -> Scenario:
    from ..scenario.schema import load_scenario

    data = scenario.model_dump(mode="json", by_alias=True)
    data["faults"] = [*data["faults"], {**fault, "effect": "down"}]
    return load_scenario(data, name=f"{scenario.name} with {label}")
