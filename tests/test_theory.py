"""Tests of simroute.theory: published digits, identities and exact special cases."""

import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simroute import theory
from simroute.theory import (
    equivalent_random,
    erlang_a,
    erlang_b,
    erlang_b_circuits,
    erlang_b_real,
    erlang_b_traffic,
    erlang_c,
    erlang_c_mean_wait,
    erlang_c_service_level,
    hayward_blocking,
    mt_g_inf_mean_piecewise,
    mt_g_inf_mean_sinusoidal,
    overflow_moments,
    priority_chain,
    priority_chain_loss,
    ringing_timeout_probability,
)

FAST = settings(max_examples=100, deadline=None)

traffic_st = st.floats(min_value=0.01, max_value=300.0, allow_nan=False)
circuits_st = st.integers(min_value=0, max_value=300)
pos_circuits_st = st.integers(min_value=1, max_value=300)


def test_all_exports_exist():
    for name in theory.__all__:
        assert callable(getattr(theory, name))


# ---------------------------------------------------------------- published digits
def test_fifteen_circuits_at_one_percent_carry_8_108_erlang():
    assert round(erlang_b_traffic(0.01, 15), 3) == 8.108


def test_erlang_b_published_values():
    assert round(erlang_b(5, 5), 6) == 0.284868
    assert round(erlang_b(5, 6), 6) == 0.191847
    assert erlang_b(20, 10) == pytest.approx(0.5379631686320729, rel=1e-12)
    assert erlang_b(200, 190) == pytest.approx(0.08869684386923561, rel=1e-12)


def test_erlang_b_edge_cases():
    assert erlang_b(0, 0) == 1.0
    assert erlang_b(0, 3) == 0.0
    assert erlang_b(7.5, 0) == 1.0
    assert erlang_b(3, 1) == pytest.approx(3 / 4)
    assert erlang_b(5, 5.0) == erlang_b(5, 5)  # integral floats accepted


def test_erlang_b_circuits_sizing_example():
    assert erlang_b_circuits(8.108, 0.01) == 15
    assert erlang_b_circuits(0.0, 0.5) == 1
    assert erlang_b_circuits(10.0, 1.0) == 0


def test_erlang_b_traffic_edge_cases():
    assert erlang_b_traffic(0.0, 4) == 0.0
    # c = 1: B = A/(1+A), so A = b/(1-b)
    assert erlang_b_traffic(0.25, 1) == pytest.approx(1 / 3, rel=1e-14)
    assert erlang_b_traffic(1e-200, 1) == pytest.approx(1e-200, rel=1e-14)


# ---------------------------------------------------------------- Erlang B identities
@FAST
@given(traffic_st, circuits_st)
def test_erlang_b_decreasing_in_circuits(a, c):
    assert erlang_b(a, c + 1) <= erlang_b(a, c)


@FAST
@given(traffic_st, st.floats(min_value=1e-6, max_value=50.0), circuits_st)
def test_erlang_b_increasing_in_traffic(a, da, c):
    assert erlang_b(a + da, c) >= erlang_b(a, c)


@FAST
@given(traffic_st, pos_circuits_st)
def test_erlang_b_traffic_inverts_erlang_b(a, c):
    b = erlang_b(a, c)
    assume(b > 1e-280)
    a_back = erlang_b_traffic(b, c)
    assert erlang_b(a_back, c) == pytest.approx(b, rel=1e-11)
    # d log B / d log A = c - A(1-B) >= ~c^2/A, so A is well conditioned here
    assert a_back == pytest.approx(a, rel=1e-9)


@FAST
@given(st.floats(min_value=1e-12, max_value=0.999), pos_circuits_st)
def test_erlang_b_of_erlang_b_traffic_is_target(b, c):
    assert erlang_b(erlang_b_traffic(b, c), c) == pytest.approx(b, rel=1e-11)


@FAST
@given(traffic_st, st.floats(min_value=1e-9, max_value=1.0))
def test_erlang_b_circuits_is_smallest(a, b):
    n = erlang_b_circuits(a, b)
    assert erlang_b(a, n) <= b
    if n > 0:
        assert erlang_b(a, n - 1) > b


@FAST
@given(traffic_st, circuits_st)
def test_erlang_b_real_matches_integer(a, c):
    assert erlang_b_real(a, c) == pytest.approx(erlang_b(a, c), rel=1e-6)


def _erlang_b_real_quadrature(a, x, steps=20000):
    """Independent check: 1/B = int_0^inf e^{-u}(1+u/a)^x du by Simpson's rule."""
    upper = 60.0 + 4.0 * x
    h = upper / steps
    total = 0.0
    for i in range(steps + 1):
        u = i * h
        w = 1 if i in (0, steps) else (4 if i % 2 else 2)
        total += w * math.exp(-u + x * math.log1p(u / a))
    return 1.0 / (total * h / 3.0)


@pytest.mark.parametrize("a,x", [(0.5, 0.3), (2.0, 1.5), (5.0, 4.7), (12.0, 10.25), (40.0, 37.9)])
def test_erlang_b_real_matches_integral_representation(a, x):
    assert erlang_b_real(a, x) == pytest.approx(_erlang_b_real_quadrature(a, x), rel=1e-8)


@FAST
@given(traffic_st, st.floats(min_value=0.0, max_value=299.0))
def test_erlang_b_real_is_monotone_and_between_integers(a, x):
    lower, upper = math.floor(x), math.floor(x) + 1
    b = erlang_b_real(a, x)
    assert erlang_b(a, upper) * (1 - 1e-12) <= b <= erlang_b(a, lower) * (1 + 1e-12)
    assert erlang_b_real(a, x + 0.5) <= b * (1 + 1e-12)


def test_erlang_b_real_zero_traffic():
    assert erlang_b_real(0.0, 0.0) == 1.0
    assert erlang_b_real(0.0, 2.5) == 0.0


# ---------------------------------------------------------------- Erlang C
@FAST
@given(traffic_st, pos_circuits_st)
def test_erlang_c_identity_and_bound(a, n):
    assume(a < n)
    b = erlang_b(a, n)
    c = erlang_c(a, n)
    assert c >= b * (1 - 1e-12)
    assert c == pytest.approx(n * b / (n - a * (1 - b)), rel=1e-12)
    assert 0.0 <= c <= 1.0


def test_erlang_c_textbook_formula():
    a, n = 8.0, 10
    top = a**n / math.factorial(n) * n / (n - a)
    expected = top / (sum(a**k / math.factorial(k) for k in range(n)) + top)
    assert erlang_c(a, n) == pytest.approx(expected, rel=1e-12)
    assert erlang_c_mean_wait(a, n, 180.0) == pytest.approx(expected * 180.0 / (n - a), rel=1e-12)
    assert erlang_c_service_level(a, n, 180.0, 20.0) == pytest.approx(
        1 - expected * math.exp(-(n - a) * 20.0 / 180.0), rel=1e-12
    )


def test_erlang_c_overload_and_zero_traffic():
    assert erlang_c(10, 10) == 1.0
    assert erlang_c(12.5, 10) == 1.0
    assert erlang_c(0, 3) == 0.0
    assert erlang_c_mean_wait(10, 10, 60) == math.inf
    assert erlang_c_service_level(11, 10, 60, 20) == 0.0
    assert erlang_c_service_level(5, 10, 60, 0) == pytest.approx(1 - erlang_c(5, 10))


# ---------------------------------------------------------------- Erlang A
@FAST
@given(
    st.floats(min_value=0.05, max_value=0.95),
    st.integers(min_value=1, max_value=100),
    st.floats(min_value=1.0, max_value=300.0),
)
def test_erlang_a_with_huge_patience_approaches_erlang_c(rho, n, h):
    a = rho * n
    res = erlang_a(a / h, h, n, 1e9 * h)
    assert res["p_wait"] == pytest.approx(erlang_c(a, n), rel=1e-5, abs=1e-12)
    assert res["mean_wait"] == pytest.approx(erlang_c_mean_wait(a, n, h), rel=1e-5, abs=1e-12)
    assert res["p_abandon"] < 1e-6


def test_erlang_a_infinite_patience_is_erlang_c():
    res = erlang_a(3.0, 1.0, 5, math.inf)
    assert res["p_wait"] == pytest.approx(erlang_c(3, 5), rel=1e-12)
    assert res["mean_wait"] == pytest.approx(erlang_c_mean_wait(3, 5, 1.0), rel=1e-12)
    assert res["p_abandon"] == 0.0


@pytest.mark.parametrize("a,n", [(20.0, 18), (5.0, 8), (50.0, 40), (150.0, 160)])
def test_erlang_a_patience_equal_to_service_is_poisson(a, n):
    # theta = mu makes the death rate k*mu in every state: M/M/inf, N ~ Poisson(A)
    res = erlang_a(a / 2.0, 2.0, n, 2.0)
    kmax = int(a + 40 * math.sqrt(a) + 50)
    pk = [math.exp(-a + k * math.log(a) - math.lgamma(k + 1)) for k in range(kmax)]
    queue = sum((k - n) * p for k, p in enumerate(pk) if k > n)
    assert res["p_wait"] == pytest.approx(sum(pk[n:]), rel=1e-10)
    assert res["mean_queue"] == pytest.approx(queue, rel=1e-10)
    assert res["p_abandon"] == pytest.approx(0.5 * queue / (a / 2.0), rel=1e-10)
    assert res["mean_wait"] == pytest.approx(queue / (a / 2.0), rel=1e-10)


def test_erlang_a_overload_is_stable_and_fluid_like():
    # 1000 calls/s on 900 agents: about 10 % must abandon
    res = erlang_a(1000.0, 1.0, 900, 10.0)
    assert res["p_wait"] == pytest.approx(1.0, abs=1e-6)
    assert res["p_abandon"] == pytest.approx(0.1, rel=1e-2)
    assert set(res) == {"p_wait", "p_abandon", "mean_wait", "mean_queue"}


# ---------------------------------------------------------------- priority chain, overflow
@FAST
@given(traffic_st, st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=6))
def test_priority_chain_conserves_traffic(a, caps):
    carried = priority_chain(a, caps)
    loss = priority_chain_loss(a, caps)
    assert len(carried) == len(caps)
    assert all(x >= 0.0 for x in carried)
    assert loss == pytest.approx(erlang_b(a, sum(caps)), rel=1e-12)
    assert sum(carried) == pytest.approx(a * (1 - erlang_b(a, sum(caps))), rel=1e-9, abs=1e-12)


def test_priority_chain_first_trunk_is_erlang_b():
    carried = priority_chain(10.0, [8, 4])
    assert carried[0] == pytest.approx(10.0 * (1 - erlang_b(10.0, 8)))
    assert carried[1] == pytest.approx(10.0 * (erlang_b(10.0, 8) - erlang_b(10.0, 12)))
    assert priority_chain(10.0, []) == []
    assert priority_chain_loss(10.0, []) == 1.0


@FAST
@given(traffic_st, pos_circuits_st)
def test_overflow_is_peaked(a, c):
    m, v = overflow_moments(a, c)
    assume(m > 1e-250)
    assert m == pytest.approx(a * erlang_b(a, c), rel=1e-12)
    assert v >= m
    assert v / m > 1.0


def test_overflow_moments_special_cases():
    assert overflow_moments(0.0, 5) == (0.0, 0.0)
    m, v = overflow_moments(4.0, 0)  # nothing is carried: the overflow is the Poisson input
    assert m == pytest.approx(4.0) and v == pytest.approx(4.0)


def test_equivalent_random_is_a_sane_approximation():
    # Poisson input (z = 1) maps to zero circuits
    a_star, c_star = equivalent_random(5.0, 5.0)
    assert a_star == pytest.approx(5.0) and c_star == pytest.approx(0.0, abs=1e-12)
    # Rapp's approximation roughly recovers the true (A, c) of an overflow stream
    m, v = overflow_moments(50.0, 45)
    a_star, c_star = equivalent_random(m, v)
    assert a_star >= v
    assert a_star == pytest.approx(50.0, rel=0.1) and c_star == pytest.approx(45.0, rel=0.1)


def test_hayward_reduces_to_erlang_b_for_poisson():
    assert hayward_blocking(7.0, 7.0, 10) == pytest.approx(erlang_b(7.0, 10), rel=1e-12)
    peaked = hayward_blocking(7.0, 14.0, 10)
    assert peaked > erlang_b(7.0, 10)


def test_approximations_are_labelled_in_docstrings():
    assert "APPROXIMATION" in equivalent_random.__doc__
    assert "APPROXIMATION" in hayward_blocking.__doc__


# ---------------------------------------------------------------- ringing, time-varying load
def test_ringing_timeout_probability():
    assert ringing_timeout_probability(30.0, 10.0) == pytest.approx(math.exp(-3.0))
    assert ringing_timeout_probability(0.0, 10.0) == 1.0
    assert ringing_timeout_probability(math.inf, 10.0) == 0.0


@FAST
@given(
    st.floats(min_value=0.0, max_value=50.0),
    st.floats(min_value=1.0, max_value=1e5),
    st.floats(min_value=0.1, max_value=1e4),
    st.floats(min_value=-1e6, max_value=1e6),
)
def test_sinusoidal_with_zero_amplitude_is_lambda_h(lam, period, h, t):
    assert mt_g_inf_mean_sinusoidal(lam, 0.0, period, h, t) == pytest.approx(lam * h, rel=1e-12)


def test_sinusoidal_solves_the_ode():
    lam, a, period, h = 2.0, 0.6, 3600.0, 180.0
    w = 2 * math.pi / period
    for t in (0.0, 500.0, 1234.5, 3000.0):
        m = mt_g_inf_mean_sinusoidal(lam, a, period, h, t)
        eps = 1e-2
        dm = (
            mt_g_inf_mean_sinusoidal(lam, a, period, h, t + eps)
            - mt_g_inf_mean_sinusoidal(lam, a, period, h, t - eps)
        ) / (2 * eps)
        assert dm == pytest.approx(lam * (1 + a * math.sin(w * t)) - m / h, abs=1e-6)


@FAST
@given(
    st.floats(min_value=0.01, max_value=50.0),
    st.floats(min_value=0.1, max_value=500.0),
    st.floats(min_value=-100.0, max_value=100.0),
)
def test_piecewise_with_one_rate_converges_to_lambda_h(lam, h, t0):
    steady = mt_g_inf_mean_piecewise([t0], [lam], h, t0 + 40 * h)
    assert steady == pytest.approx(lam * h, rel=1e-12)
    # exact transient from empty: m(t) = lambda*h*(1 - exp(-t/h))
    assert mt_g_inf_mean_piecewise([t0], [lam], h, t0 + h) == pytest.approx(
        lam * h * (1 - math.exp(-1.0)), rel=1e-12
    )
    assert mt_g_inf_mean_piecewise([t0], [lam], h, t0 - 1.0) == 0.0


def test_piecewise_two_steps_exact():
    h = 2.0
    m1 = 3.0 * h * (1 - math.exp(-5.0 / h))
    expected = 1.0 * h + (m1 - 1.0 * h) * math.exp(-4.0 / h)
    got = mt_g_inf_mean_piecewise([0.0, 5.0], [3.0, 1.0], h, 9.0)
    assert got == pytest.approx(expected, rel=1e-12)
    # a rate of zero drains the system exponentially
    assert mt_g_inf_mean_piecewise([0.0, 5.0], [3.0, 0.0], h, 9.0) == pytest.approx(
        m1 * math.exp(-2.0), rel=1e-12
    )


def test_piecewise_staircase_approaches_sinusoidal_steady_state():
    lam, a, period, h = 1.0, 0.8, 100.0, 10.0
    steps_per_period, periods = 400, 8
    dt = period / steps_per_period
    times = [i * dt for i in range(steps_per_period * periods)]
    rates = [lam * (1 + a * math.sin(2 * math.pi * (t + dt / 2) / period)) for t in times]
    for t in (periods * period - 37.0, periods * period - 80.0):
        assert mt_g_inf_mean_piecewise(times, rates, h, t) == pytest.approx(
            mt_g_inf_mean_sinusoidal(lam, a, period, h, t), rel=2e-4
        )


# ---------------------------------------------------------------- input validation
@pytest.mark.parametrize(
    "call,pattern",
    [
        (lambda: erlang_b(-1.0, 5), r"traffic.*-1\.0"),
        (lambda: erlang_b(float("nan"), 5), r"traffic.*nan"),
        (lambda: erlang_b(math.inf, 5), r"traffic.*inf"),
        (lambda: erlang_b(5.0, -2), r"circuits.*-2"),
        (lambda: erlang_b(5.0, 2.5), r"circuits.*2\.5"),
        (lambda: erlang_b(5.0, float("nan")), r"circuits.*nan"),
        (lambda: erlang_b(5.0, True), r"circuits.*True"),
        (lambda: erlang_b("5", 3), r"traffic.*'5'"),
        (lambda: erlang_b_traffic(1.0, 5), r"blocking.*1\.0"),
        (lambda: erlang_b_traffic(-0.1, 5), r"blocking.*-0\.1"),
        (lambda: erlang_b_traffic(0.01, 0), r"circuits.*0"),
        (lambda: erlang_b_circuits(5.0, 0.0), r"blocking.*0\.0"),
        (lambda: erlang_b_circuits(-5.0, 0.1), r"traffic.*-5\.0"),
        (lambda: erlang_b_real(5.0, -0.5), r"circuits_real.*-0\.5"),
        (lambda: erlang_c(5.0, 1.5), r"agents.*1\.5"),
        (lambda: erlang_c_mean_wait(5.0, 6, 0.0), r"mean_service.*0\.0"),
        (lambda: erlang_c_service_level(5.0, 6, 1.0, -1.0), r"threshold.*-1\.0"),
        (lambda: erlang_a(0.0, 1.0, 5, 1.0), r"arrival_rate.*0\.0"),
        (lambda: erlang_a(1.0, 1.0, 5, -2.0), r"mean_patience.*-2\.0"),
        (lambda: erlang_a(10.0, 1.0, 5, math.inf), r"mean_patience.*inf"),
        (lambda: overflow_moments(5.0, -1), r"circuits.*-1"),
        (lambda: equivalent_random(5.0, 2.0), r"variance.*2\.0"),
        (lambda: equivalent_random(0.0, 2.0), r"mean.*0\.0"),
        (lambda: hayward_blocking(5.0, 0.0, 3), r"variance.*0\.0"),
        (lambda: priority_chain(5.0, [3, -1]), r"capacities\[1\].*-1"),
        (lambda: ringing_timeout_probability(10.0, 0.0), r"mean_answer_delay.*0\.0"),
        (lambda: mt_g_inf_mean_piecewise([0.0, 0.0], [1.0, 2.0], 1.0, 3.0), r"times.*increasing"),
        (lambda: mt_g_inf_mean_piecewise([0.0], [1.0, 2.0], 1.0, 3.0), r"same length"),
        (lambda: mt_g_inf_mean_piecewise([0.0], [-1.0], 1.0, 3.0), r"rates\[0\].*-1\.0"),
        (lambda: mt_g_inf_mean_sinusoidal(1.0, 1.5, 10.0, 1.0, 0.0), r"amplitude.*1\.5"),
        (lambda: mt_g_inf_mean_sinusoidal(1.0, 0.5, 0.0, 1.0, 0.0), r"period.*0\.0"),
    ],
)
def test_bad_input_raises_value_error_naming_parameter(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


# ---------------------------------------------------------------- callers who redial
def test_retrial_queue_without_retries_is_erlang_b():
    from simroute.theory import erlang_b, retrial_queue

    r = retrial_queue(8.108 / 180, 180, 15, 0.0, 60)
    assert r["first_attempt_blocking"] == pytest.approx(erlang_b(8.108, 15), rel=1e-10)
    assert r["caller_loss"] == pytest.approx(erlang_b(8.108, 15), rel=1e-10)
    assert r["retrial_rate"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("lam, theta", [(0.5, 0.8), (0.3, 5.0), (0.8, 0.2)])
def test_retrial_queue_matches_the_m_m_1_retrial_closed_form(lam, theta):
    """M/M/1 with the classical retrial policy (Falin & Templeton 1997): server busy rho, mean orbit
    rho (rho + lambda/theta) / (1 - rho)."""
    from simroute.theory import retrial_queue

    r = retrial_queue(lam, 1.0, 1, 1.0, 1.0 / theta, tail=1e-15)
    rho = lam
    assert r["carried"] == pytest.approx(rho, rel=1e-9)
    assert r["mean_orbit"] == pytest.approx(rho * (rho + lam / theta) / (1 - rho), rel=1e-7)
    assert r["caller_loss"] == pytest.approx(0.0, abs=1e-12)


def test_slow_retrials_approach_extended_erlang_b():
    from simroute.theory import extended_erlang_b, retrial_queue

    slow = retrial_queue(10 / 180, 180, 10, 0.7, 180 * 200)
    eeb = extended_erlang_b(10, 10, 0.7)
    assert slow["first_attempt_blocking"] == pytest.approx(eeb["blocking"], rel=2e-3)
    assert slow["caller_loss"] == pytest.approx(eeb["caller_loss"], rel=2e-3)


def test_extended_erlang_b_settles_on_its_fixed_point():
    from simroute.theory import erlang_b, extended_erlang_b

    r = extended_erlang_b(12.0, 10, 0.6)
    assert r["offered"] == pytest.approx(12.0 + 0.6 * erlang_b(r["offered"], 10) * r["offered"], rel=1e-10)
    assert r["carried"] + r["lost"] == pytest.approx(12.0, rel=1e-9)  # every fresh erlang is carried or lost
    assert extended_erlang_b(12.0, 10, 0.0)["blocking"] == pytest.approx(erlang_b(12.0, 10), rel=1e-12)
    with pytest.raises(ValueError, match="recall"):
        extended_erlang_b(12.0, 10, 1.0)
