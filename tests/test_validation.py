"""The built-in validation suite (simroute.validation, ``simroute validate``): the quick suite passes, and
the z test does fail when the oracle is wrong, so a passing suite means something."""

import math

import numpy as np
import pytest

from simroute import theory, validation
from simroute.cli import main

from .stats import assert_covers

COLUMNS = ["case", "kpi", "simulated", "ci95", "theory", "z", "passed"]


def test_quick_suite_passes_from_the_command_line(capsys):
    code = main(["validate", "--quick"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FAIL" not in out
    checks = [c for case in validation.suite(quick=True) for c in case.checks]
    assert f"{len(checks)} checks in 4 cases: {len(checks)} passed, 0 failed" in out
    assert "wall time" in out and "|z| <= 4" in out


def test_run_suite_returns_one_row_per_check():
    cases = validation.suite(quick=True)
    table = validation.run_suite(quick=True, jobs=2)
    assert list(table.columns) == COLUMNS
    assert len(table) == sum(len(c.checks) for c in cases)
    assert table["passed"].all(), validation.format_table(table)
    assert (table["ci95"] > 0).all() and np.isfinite(table["z"]).all()
    assert table.attrs["wall_time"] > 0
    # z is (mean - theory) / se, and the 95 % half-width is t(0.975, R-1) * se
    from scipy import stats

    r = {c.name: c.replications for c in cases}
    se = table["ci95"] / [stats.t.ppf(0.975, r[name] - 1) for name in table["case"]]
    assert np.allclose(table["z"], (table["simulated"] - table["theory"]) / se)


@pytest.fixture(scope="module")
def erlang_b_samples():
    """The quick Erlang B case (8.108 erl on 15 channels) and its per-replication KPIs."""
    case = validation.suite(quick=True)[0]
    assert case.name == "erlang-b-8.108-15"
    return case, validation.run_case(case)


def test_a_wrong_oracle_is_detected(erlang_b_samples):
    """B(A, c+1) instead of B(A, c): the same replications that pass against the truth fail the z test."""
    case, values = erlang_b_samples
    right = theory.erlang_b(8.108, 15)
    wrong = theory.erlang_b(8.108, 16)
    assert validation.judge(values["kpis.loss_probability"], right)["passed"]
    verdict = validation.judge(values["kpis.loss_probability"], wrong)
    assert not verdict["passed"] and verdict["z"] > validation.Z_THRESHOLD
    rows = validation.evaluate(validation.with_theory(case, "kpis.loss_probability", wrong), values)
    assert [r["passed"] for r in rows] == [False, True]  # the carried-traffic check keeps its true oracle


def test_validate_exits_1_when_a_check_fails(monkeypatch, capsys):
    case = validation.suite(quick=True)[0]
    broken = validation.with_theory(case, "kpis.loss_probability", theory.erlang_b(8.108, 16))
    monkeypatch.setattr(validation, "suite", lambda quick=False: [broken])
    assert main(["validate"]) == 1
    out = capsys.readouterr().out
    assert "FAIL" in out and "1 failed" in out


def test_judge_edge_cases():
    assert validation.judge([1.0, 1.0, 1.0], 1.0)["passed"]  # no spread, right value
    assert not validation.judge([1.0, 1.0, 1.0], 0.9)["passed"]  # no spread, wrong value: z infinite
    assert not validation.judge([0.1, math.nan, 0.2], 0.15)["passed"]  # an undefined replication
    assert not validation.judge([0.1], 0.1)["passed"]  # one replication has no standard error
    x = [0.0, 1.0, 2.0, 3.0]
    se = np.std(x, ddof=1) / 2
    v = validation.judge(x, 1.5 + 4.0001 * se)
    assert not v["passed"] and v["z"] == pytest.approx(-4.0001)
    with pytest.raises(KeyError):
        validation.with_theory(validation.suite(quick=True)[0], "no.such.kpi", 0.0)


def _exact_window_mean(times, rates, h, start, end):
    """Independent oracle: the exact integral of the Mt/M/inf mean, piece by piece."""
    edges = [*times[1:], math.inf]
    m, area = 0.0, 0.0
    for s, e, lam in zip(times, edges, rates):
        for a, b in ((s, min(e, start)), (max(s, start), min(e, end))):
            if b <= a:
                continue
            inside = a >= start
            d = b - a
            if inside:
                area += lam * h * d + (m - lam * h) * h * -math.expm1(-d / h)
            m = lam * h + (m - lam * h) * math.exp(-d / h)
        if e >= end:
            break
    return area / (end - start)


def test_window_mean_busy_matches_the_exact_integral():
    rng = np.random.default_rng(5)
    times = np.cumsum(rng.uniform(60, 900, 40)) - 60
    times[0] = 0.0
    rates = rng.uniform(0.0, 0.3, 40)
    for start, end in ((0.0, 3000.0), (1234.5, 9876.0), (times[5], times[30])):
        got = validation.window_mean_busy(times, rates, 400.0, start, end)
        assert got == pytest.approx(_exact_window_mean(list(times), list(rates), 400.0, start, end), rel=1e-7)
    # constant rate from an empty start: m(t) = A (1 - e^{-t/h})
    got = validation.window_mean_busy([0.0], [0.1], 100.0, 0.0, 500.0)
    assert got == pytest.approx(10.0 * (1 - 100.0 / 500.0 * -math.expm1(-5.0)), rel=1e-7)


def test_window_arrivals_integrates_the_rate():
    assert validation.window_arrivals([0.0, 10.0, 20.0], [1.0, 2.0, 0.5], 5.0, 25.0) == pytest.approx(
        5 + 20 + 2.5
    )


def test_time_varying_case_is_not_the_naive_average():
    """The window sits on the steep rise of the load: the Mt/M/inf lag puts its mean ~3.5 % below
    mean rate x holding time, many standard errors of the check, so a simulator without the lag fails it."""
    case = validation.time_varying_case(replications=2, seed=0)
    busy = case.checks[0].theory
    assert busy < 0.97 * validation.TV_MEAN_ERLANGS
    times, rates = validation.sinusoid_steps()
    assert len(times) == 3 * 24 * 12 and rates.min() > 0

    # the steps' exact mean follows the sinusoid's periodic steady state (the steps are its shape)
    def steady(t):
        return theory.mt_g_inf_mean_sinusoidal(
            validation.TV_MEAN_ERLANGS / validation.TV_HOLD,
            validation.TV_AMPLITUDE,
            validation.TV_PERIOD,
            validation.TV_HOLD,
            t,
        )

    for t in (46 * 3600.0, 49 * 3600.0):
        assert theory.mt_g_inf_mean_piecewise(times, rates, validation.TV_HOLD, t) == pytest.approx(
            steady(t), rel=2e-3
        )
    grid = np.linspace(*validation.TV_WINDOW, 4001)
    assert busy == pytest.approx(np.trapezoid([steady(t) for t in grid], grid) / np.ptp(grid), rel=1e-4)


@pytest.fixture(scope="module")
def retrial_samples():
    """The retrial-queue case (4 erl on 5 channels, retry chance 0.6, 60 s delays), seeded."""
    case = validation.retrial_case(replications=20, window_h=20, seed=171)
    return case, validation.run_case(case)


def test_redial_matches_the_retrial_queue_ctmc(retrial_samples):
    """Every caller KPI within its 99.99 % Student-t interval (tests/stats.py) of the exact CTMC value."""
    case, values = retrial_samples
    for check in case.checks:
        assert_covers(values[check.kpi], check.theory, what=check.kpi)


def test_short_retrial_delays_are_not_extended_erlang_b(retrial_samples):
    """The same replications against Extended Erlang B's per-try blocking fail: with one-minute delays
    the retries meet the congestion that blocked them, which the Poisson recall assumption ignores."""
    _, values = retrial_samples
    eeb = theory.extended_erlang_b(4.0, 5, 0.6)
    verdict = validation.judge(values["kpis.retry_blocking"], eeb["blocking"])
    assert not verdict["passed"] and verdict["z"] > 10


def test_long_retrial_delays_approach_extended_erlang_b():
    case = validation.long_delay_case(replications=10, window_h=100, seed=172)
    values = validation.run_case(case)
    for check in case.checks:
        assert_covers(values[check.kpi], check.theory, what=check.kpi)
    # and the exact queue at that delay is as close to Extended Erlang B as the case says
    exact = theory.retrial_queue(8.0 / 180, 180, 10, 0.8, 7200)
    eeb = theory.extended_erlang_b(8.0, 10, 0.8)
    per_try = (exact["first_attempt_blocking"] + exact["retrial_rate"] * exact["retry_blocking"]) / (
        exact["tries_per_caller"]
    )
    assert abs(per_try - eeb["blocking"]) < 0.002
    assert abs(exact["retrial_rate"] - eeb["retried"] / 8.0) < 0.002
    assert abs(exact["caller_loss"] - eeb["caller_loss"]) < 0.002
