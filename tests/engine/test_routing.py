"""Routing decisions alone: attempt order, re-route rule, number lists (pure functions)."""

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simroute.engine.routing import (
    Bucket,
    NumberListMatcher,
    attempt_order,
    buckets,
    first_choice_probabilities,
    should_reroute,
)
from simroute.scenario import codes

from ..stats import assert_binomial

members = st.lists(st.tuples(st.integers(0, 5), st.integers(0, 65535)), min_size=1, max_size=8).map(
    lambda rows: [(i, p, w) for i, (p, w) in enumerate(rows)]
)


@given(members, st.integers(0, 2**32 - 1))
def test_order_is_a_permutation_in_priority_order(rows, seed):
    rng = np.random.default_rng(seed)
    order = attempt_order(buckets(rows), rng.random)
    assert sorted(order) == [t for t, _, _ in rows]  # every trunk once, none twice
    priority = {t: p for t, p, _ in rows}
    assert [priority[t] for t in order] == sorted(priority[t] for t in order)  # never inverted


@given(members)
def test_first_choice_probabilities_sum_to_one(rows):
    for bucket in buckets(rows):
        probs = first_choice_probabilities(bucket, "yeti")
        assert sum(probs.values()) == pytest.approx(1.0)
        total = sum(bucket.weights)
        for t, w in zip(bucket.trunks, bucket.weights):  # within 1/(W+1) of the weight share
            share = w / total if total else 1 / len(bucket.trunks)
            assert abs(probs[t] - share) <= 1 / (total + 1) + 1e-12


@pytest.mark.parametrize("rule", ["proportional", "yeti"])
@pytest.mark.parametrize("weights", [(70, 30), (1, 1, 2), (65535, 65535), (5, 0, 5), (100, 10, 1)])
def test_first_choice_frequencies_match_rfc2782(weights, rule):
    rng = np.random.default_rng(sum(weights))
    bucket = buckets([(i, 1, w) for i, w in enumerate(weights)])[0]
    n = 20_000
    firsts = Counter(attempt_order((bucket,), rng.random, rule)[0] for _ in range(n))
    for t, p in first_choice_probabilities(bucket, rule).items():
        assert_binomial(firsts[t], n, p, what=f"weights {weights}, trunk {t}")


@pytest.mark.parametrize("rule, p_zero", [("yeti", 1 / 201), ("proportional", 0.1 / 200.1)])
def test_weight_zero_is_rarely_first(rule, p_zero):
    rng = np.random.default_rng(7)
    bucket = buckets([(0, 1, 0), (1, 1, 100), (2, 1, 100)])[0]
    n = 50_000
    firsts = Counter(attempt_order((bucket,), rng.random, rule)[0] for _ in range(n))
    assert first_choice_probabilities(bucket, rule)[0] == pytest.approx(p_zero)
    assert_binomial(firsts[0], n, p_zero, what="weight 0 first")
    # but it is still tried, last, when the others fail
    orders = Counter(tuple(attempt_order((bucket,), rng.random, rule)) for _ in range(2000))
    assert sum(c for o, c in orders.items() if o[-1] == 0) > 1900


def test_equal_weights_tie_break_is_file_order():
    assert buckets([(5, 1, 10), (3, 1, 10), (9, 0, 1)]) == (Bucket((9,), (1,)), Bucket((5, 3), (10, 10)))


def test_reroute_only_on_listed_codes_and_while_trunks_remain():
    listed = codes.reroute_causes([408, 503, "ringing_timeout"])
    assert should_reroute(503, listed, attempt=1, order_length=3, max_attempts=10)
    assert should_reroute(codes.POP_DOWN, listed, 1, 3, 10)  # a down POP is seen as 503
    assert should_reroute(codes.TIMER_B, listed, 1, 3, 10)  # Timer B is seen as 408
    assert should_reroute(codes.RINGING_TIMEOUT, listed, 1, 3, 10)
    assert not should_reroute(486, listed, 1, 3, 10)  # a code outside the list stops the call
    assert not should_reroute(codes.TRUNK_CAPACITY, listed, 1, 3, 10)
    assert not should_reroute(503, listed, 3, 3, 10)  # no trunk left
    assert not should_reroute(503, listed, 2, 3, 2)  # max_attempts reached


@given(st.sampled_from(sorted(codes.REROUTABLE_SIP_CODES)), st.sampled_from(list(codes.PRESETS)))
def test_presets(code, preset):
    causes = codes.reroute_causes(codes.PRESETS[preset])
    if preset == "none":
        assert not causes
    if preset == "didww_default":
        assert (code in causes) == (code not in (401, 503))
        assert codes.RINGING_TIMEOUT in causes and codes.NUMBER_LIST_REJECT not in causes


def test_number_list_longest_prefix_wins():
    m = NumberListMatcher("prefix", [("1900", False), ("19005", True), ("447700900", False)], True)
    assert not m.allows("19001234567")
    assert m.allows("19005123456")
    assert not m.allows("447700900123")
    assert m.allows("447700901123")
    assert m.allows("1212555")


def test_number_list_exact_and_default_reject():
    m = NumberListMatcher("exact", [("4930123", True)], False)
    assert m.allows("4930123")
    assert not m.allows("49301234")


@given(
    st.lists(st.tuples(st.text("0123456789", min_size=1, max_size=6), st.booleans()), max_size=12),
    st.text("0123456789", min_size=1, max_size=12),
    st.booleans(),
)
@settings(max_examples=200)
def test_prefix_match_equals_brute_force(items, number, default):
    table = dict(items)
    m = NumberListMatcher("prefix", list(table.items()), default)
    hits = [p for p in table if number.startswith(p)]
    expected = table[max(hits, key=len)] if hits else default
    assert m.allows(number) == expected
