"""Weights split traffic in proportion (DIDWW's documented rule), drawn lazily, with sharp common random
numbers; the Yeti integer draw stays as ``settings.weight_draw: yeti``."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chisquare

import simroute
from simroute.engine.network import compile_network
from simroute.engine.routing import (
    WEIGHT_ZERO_FRACTION,
    Bucket,
    GroupRouter,
    attempt_order,
    buckets,
    effective_weights,
    first_choice_probabilities,
    second_choice_probabilities,
)
from simroute.scenario import codes

from ..stats import LEVEL, assert_binomial

EXAMPLES = 40
#: one chi-square test per hypothesis example: a family-wise level of 1 - LEVEL split over the examples
PER_EXAMPLE_ALPHA = (1 - LEVEL) / EXAMPLES


def chi_square_p(counts: Counter, probs: dict, n: int) -> float:
    """p-value of observed counts against exact probabilities; cells expecting fewer than 5 are pooled."""
    impossible = [k for k in probs if probs[k] == 0]
    if any(counts.get(k, 0) for k in impossible) or set(counts) - set(probs):
        return 0.0  # a draw that cannot happen happened
    keys = sorted((k for k in probs if probs[k] > 0), key=lambda k: -probs[k])
    big = [k for k in keys if probs[k] * n >= 5]
    small = [k for k in keys if probs[k] * n < 5]
    observed = [counts.get(k, 0) for k in big]
    expected = [probs[k] * n for k in big]
    if small:
        observed.append(sum(counts.get(k, 0) for k in small))
        expected.append(sum(probs[k] for k in small) * n)
    if len(observed) < 2:  # one cell holds everything: the count must be all of them
        return 1.0 if observed[0] == n else 0.0
    expected = np.asarray(expected) * n / sum(expected)  # rounding of the exact sum to 1
    return float(chisquare(observed, expected).pvalue)


def lazy_choices(bucket: Bucket, n: int, seed: int, rule="proportional"):
    """First and second trunks of ``n`` calls, each drawn lazily as the engine does."""
    router = GroupRouter((bucket,), rule)
    rng = np.random.default_rng(seed)
    firsts, seconds = Counter(), Counter()
    for _ in range(n):
        order = [router.first(rng.random())]
        firsts[order[0]] += 1
        if router.size > 1:
            seconds[
                router.next(order, lambda: tuple(int(w) for w in rng.integers(0, 2**64, 8, np.uint64)))
            ] += 1
    return firsts, seconds


weight_sets = st.lists(st.integers(0, 65535), min_size=1, max_size=8)


@settings(max_examples=EXAMPLES, derandomize=True, deadline=None)
@given(weight_sets)
def test_first_choice_is_proportional_for_any_weights(weights):
    """Chi-square of 3000 lazy first picks against effective weight / total, one test per example."""
    bucket = buckets([(i, 1, w) for i, w in enumerate(weights)])[0]
    probs = first_choice_probabilities(bucket)
    eff = dict(zip(bucket.trunks, effective_weights(bucket.weights)))
    for t, p in probs.items():
        assert p == pytest.approx(eff[t] / sum(eff.values()))
    n = 3000
    router = GroupRouter((bucket,))
    rng = np.random.default_rng(sum(weights) * 31 + len(weights))
    firsts = Counter(router.first(u) for u in rng.random(n))
    assert chi_square_p(firsts, probs, n) > PER_EXAMPLE_ALPHA, (weights, firsts, probs)


def test_the_documented_rule_itself():
    """w / W when no weight is 0; 0 weighs 1/1000 of the smallest positive weight; all 0: uniform."""
    b = Bucket((0, 1, 2), (2, 3, 5))
    assert first_choice_probabilities(b) == pytest.approx({0: 0.2, 1: 0.3, 2: 0.5})
    b = Bucket((0, 1, 2), (0, 10, 30))
    zero = 10 * WEIGHT_ZERO_FRACTION
    assert first_choice_probabilities(b) == pytest.approx(
        {0: zero / (40 + zero), 1: 10 / (40 + zero), 2: 30 / (40 + zero)}
    )
    assert first_choice_probabilities(Bucket((4, 5, 6, 7), (0, 0, 0, 0))) == pytest.approx(
        dict.fromkeys((4, 5, 6, 7), 0.25)
    )
    # second choice: weight / remaining total after the first
    b = Bucket((0, 1, 2), (2, 3, 5))
    second = second_choice_probabilities(b)
    expected = {
        j: sum(p * (w[j] / (10 - w[i])) for i, p in enumerate((0.2, 0.3, 0.5)) if i != j)
        for j in range(3)
        for w in [(2, 3, 5)]
    }
    assert second == pytest.approx(expected)


@pytest.mark.parametrize("rule", ["proportional", "yeti"])
@pytest.mark.parametrize(
    "weights", [(5, 3, 2), (1, 1), (0, 0, 0), (0, 100, 100), (70, 30), (1, 65535, 7, 7, 300)]
)
def test_lazy_first_and_second_choices_match_the_exact_probabilities(weights, rule):
    """The lazy draw (first at arrival, next on re-route) against the exact chances; and the eager whole
    order drawn at once against the same chances (it is the same law)."""
    bucket = buckets([(i, 1, w) for i, w in enumerate(weights)])[0]
    n = 4000
    firsts, seconds = lazy_choices(bucket, n, seed=len(weights) * 7 + sum(weights), rule=rule)
    alpha = (1 - LEVEL) / 4  # four chi-square tests in this case
    assert chi_square_p(firsts, first_choice_probabilities(bucket, rule), n) > alpha, firsts
    assert chi_square_p(seconds, second_choice_probabilities(bucket, rule), n) > alpha, seconds
    rng = np.random.default_rng(99)
    eager = [attempt_order((bucket,), rng.random, rule) for _ in range(n)]
    assert chi_square_p(Counter(o[0] for o in eager), first_choice_probabilities(bucket, rule), n) > alpha
    assert chi_square_p(Counter(o[1] for o in eager), second_choice_probabilities(bucket, rule), n) > alpha


def test_lazy_orders_are_permutations_in_priority_order():
    bks = buckets([(0, 1, 5), (1, 1, 0), (2, 2, 9), (3, 2, 9), (4, 2, 1), (5, 3, 0)])
    router = GroupRouter(bks)
    rng = np.random.default_rng(5)
    for _ in range(300):
        order = [router.first(rng.random())]
        while len(order) < router.size:
            order.append(
                router.next(order, lambda: tuple(int(w) for w in rng.integers(0, 2**64, 8, np.uint64)))
            )
        assert sorted(order) == list(range(6))
        assert set(order[:2]) == {0, 1} and set(order[2:5]) == {2, 3, 4} and order[5] == 5


def group_scenario(weights, rule=None, priorities=None, **extra):
    names = [f"t{i}" for i in range(len(weights))]
    priorities = priorities or [1] * len(weights)
    data = {
        "name": "weights",
        "duration": "4h",
        "seed": 11,
        "trunks": [{"name": n} for n in names],
        "trunk_groups": [
            {
                "name": "g",
                "members": [
                    {"trunk": n, "weight": w, "priority": p} for n, w, p in zip(names, weights, priorities)
                ],
            }
        ],
        "dids": [
            {
                "number": "4930100",
                "route": {"group": "g"},
                "traffic": {"calls_per_hour": 3000, "holding_time": "1m"},
            }
        ],
        **extra,
    }
    if rule:
        data["settings"] = {"weight_draw": rule}
    return data


@pytest.mark.parametrize(
    "weights, shares",
    [((5, 3, 2), (0.5, 0.3, 0.2)), ((1, 1), (0.5, 0.5)), ((0, 0), (0.5, 0.5)), ((0, 0, 0, 0), (0.25,) * 4)],
)
def test_simulated_first_choice_shares_are_the_weight_shares(weights, shares):
    """Today's draw gave 5/3/2 -> 0.45/0.27/0.27, 1:1 -> 0.67/0.33, all-zero -> everything to one."""
    summary = simroute.simulate(group_scenario(weights)).summary
    selected = summary["groups"]["g"]["offered"]
    for i, share in enumerate(shares):
        trunk = summary["trunks"][f"t{i}"]
        assert trunk["weight_share"] == pytest.approx(share)
        assert_binomial(round(trunk["first_choice_share"] * selected), selected, share, what=f"t{i}")


def test_weight_share_across_the_group_and_within_the_priority():
    net = compile_network(simroute.load_scenario(group_scenario((70, 30, 1, 3), priorities=[1, 1, 2, 2])))
    assert net.weight_share == pytest.approx([0.7, 0.3, 0.0, 0.0])
    assert net.weight_share_in_priority == pytest.approx([0.7, 0.3, 0.25, 0.75])
    yeti = compile_network(simroute.load_scenario(group_scenario((70, 30, 1, 3), "yeti", [1, 1, 2, 2])))
    # Yeti sorts by weight ascending: 30 first (31 of 101 values of r), 70 (70 of 101)
    assert yeti.weight_share == pytest.approx([70 / 101, 31 / 101, 0.0, 0.0])
    assert yeti.weight_share_in_priority == pytest.approx([70 / 101, 31 / 101, 2 / 5, 3 / 5])
    summary = simroute.simulate(group_scenario((70, 30, 1, 3), priorities=[1, 1, 2, 2])).summary
    assert summary["trunks"]["t2"]["weight_share_in_priority"] == pytest.approx(0.25)


def test_yeti_draw_is_kept_as_an_option():
    """The integer draw: 1:1 gives the first listed member 2/3 of first choices."""
    summary = simroute.simulate(group_scenario((1, 1), "yeti")).summary
    selected = summary["groups"]["g"]["offered"]
    assert summary["trunks"]["t0"]["weight_share"] == pytest.approx(2 / 3)
    assert_binomial(
        round(summary["trunks"]["t0"]["first_choice_share"] * selected), selected, 2 / 3, what="t0"
    )


def crn_scenario(variant: dict) -> dict:
    """Three unlimited trunks but one; a 503 burst on t2 makes calls re-route (second draws)."""
    data = group_scenario((5, 3, 2), duration="2h")
    data["trunks"] = [
        {"name": "t0", "capacity_limit": variant.get("t0_cap"), "rerouting_codes": [503, "capacity_limit"]},
        {"name": "t1", "rerouting_codes": [503, "capacity_limit"]},
        {"name": "t2", "rerouting_codes": [503, "capacity_limit"]},
    ]
    data["trunks"] = [{k: v for k, v in t.items() if v is not None} for t in data["trunks"]]
    data["trunk_groups"][0]["capacity_limit"] = variant.get("group_cap")
    data["trunk_groups"][0] = {k: v for k, v in data["trunk_groups"][0].items() if v is not None}
    data["faults"] = [{"trunk": "t2", "effect": "respond", "code": 503, "at": "30m", "duration": "1h"}]
    return data


@pytest.mark.parametrize("variant", [{"group_cap": 40}, {"t0_cap": 20}])
def test_a_cap_changed_in_one_variant_moves_no_other_calls_routing(variant):
    """Common random numbers: the calls that never meet the changed cap try the same trunks in order."""
    a = simroute.simulate(crn_scenario({}), seed=4).attempts
    b = simroute.simulate(crn_scenario(variant), seed=4).attempts
    met = b.loc[b["cause"].isin([codes.GROUP_CAPACITY, codes.TRUNK_CAPACITY]), "call_id"].unique()
    assert 50 < len(met) < 0.3 * b["call_id"].nunique()  # the cap bites, but not on most calls
    rerouted = a.loc[a["routing_attempt"] > 1, "call_id"].unique()
    assert len(rerouted) > 100  # second draws are exercised

    def orders(frame):
        kept = frame[~frame["call_id"].isin(met)]
        return kept.groupby("call_id")["trunk"].agg(tuple)

    oa, ob = orders(a), orders(b)
    assert oa.index.equals(ob.index)
    assert (oa == ob).all(), f"{int((oa != ob).sum())} calls routed differently"
