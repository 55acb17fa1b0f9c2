"""The event budget (simroute/budget.py): the expected number of calls is the integral of the arrival rate,
exactly for hand-computed cases and within a Poisson interval of what the engine generates; a run above
the budget raises a BudgetError that says what to do, unless confirmed."""

from __future__ import annotations

import math

import pytest
from scipy import stats

import simroute
from simroute.errors import SimrouteError
from simroute.experiments.budget import (
    DEFAULT_BUDGET,
    EVENTS_PER_CALL,
    BudgetError,
    add_budget_arguments,
    check_budget,
    estimate_events,
    expected_calls,
    parse_events,
)

from ..stats import LEVEL


def scenario(*traffics, duration="10h", faults=()):
    return {
        "name": "budget",
        "duration": duration,
        "trunks": [{"name": "t"}],
        "dids": [
            {"number": f"49{i}", "route": {"trunk": "t"}, **({"traffic": tr} if tr else {})}
            for i, tr in enumerate(traffics)
        ],
        "faults": list(faults),
    }


RATE = {"calls_per_hour": 360, "holding_time": "1m"}


@pytest.mark.parametrize(
    "traffic, duration, calls",
    [
        (RATE, "10h", 3600),
        ({"erlangs": 6, "holding_time": "2m"}, "1h", 180),  # 6 erlangs of 2 min: 3 calls a minute
        ({"erlangs": 6, "holding_time": {"dist": "exponential", "mean": 120}}, "30m", 90),
        (
            {
                "steps": [{"at": 0, "calls_per_hour": 60}, {"at": "1h", "calls_per_hour": 120}],
                "holding_time": "1m",
            },
            "3h",
            300,
        ),
        (
            {"steps": [{"at": "1h", "calls_per_hour": 60}], "holding_time": "1m"},
            "3h",
            120,
        ),  # nothing before the step
        (
            {
                "steps": [{"at": 0, "calls_per_hour": 60}, {"at": "5h", "calls_per_hour": 6000}],
                "holding_time": "1m",
            },
            "2h",
            120,
        ),  # a step after the end
        (
            {"calls_per_hour": 100, "profile": [float(h) for h in range(24)], "holding_time": "1m"},
            2.5 * 3600,
            100 * (0 + 1 + 0.5 * 2),
        ),
        (
            {"calls_per_hour": 100, "profile": [float(h) for h in range(24)], "holding_time": "1m"},
            50.5 * 3600,
            100 * (2 * 276 + 0 + 1 + 0.5 * 2),
        ),  # two days, two hours and a half
        (None, "10h", 0),  # a DID without traffic
    ],
)
def test_expected_calls_are_the_integral_of_the_rate(traffic, duration, calls):
    s = scenario(traffic, duration=duration)
    assert expected_calls(s) == pytest.approx(calls)
    assert estimate_events(s) == math.ceil(calls * EVENTS_PER_CALL)


def test_dids_add_up_and_faults_count_two_events():
    faults = [{"trunk": "t", "at": "1h", "duration": "1h"}, {"trunk": "t", "at": "2h", "duration": "1h"}]
    s = scenario(RATE, RATE, None, faults=faults)
    assert expected_calls(s) == pytest.approx(7200)
    assert estimate_events(s) == 7200 * EVENTS_PER_CALL + 4


def test_duration_override_as_text_or_seconds():
    s = scenario(RATE)
    assert expected_calls(s, "1h") == pytest.approx(360)
    assert expected_calls(s, 1800) == pytest.approx(180)
    assert expected_calls(simroute.load_scenario(s), "2h") == pytest.approx(720)


CASES = {
    "constant": {"calls_per_hour": 3000, "holding_time": "1m"},
    "erlangs": {"erlangs": 40, "holding_time": {"dist": "lognormal", "mean": "2m", "cv": 1.2}},
    "steps": {
        "steps": [
            {"at": "10m", "calls_per_hour": 1200},
            {"at": "50m", "calls_per_hour": 6000},
            {"at": "70m", "calls_per_hour": 0},
            {"at": "80m", "calls_per_hour": 2400},
        ],
        "holding_time": "30s",
    },
    "profile": {"calls_per_hour": 1000, "profile": [0, 0.5, 4, 1, 2, 3] * 4, "holding_time": "1m"},
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_the_engine_offers_what_the_estimate_expects(name):
    """Calls the engine generates ~ Poisson(expected): inside the 99.99 % interval (seeded, so repeatable)."""
    s = scenario(CASES[name], dict(CASES[name]), duration="2h")
    expected = expected_calls(s)
    n = len(simroute.simulate(s, seed=7).calls)
    lo, hi = stats.poisson.interval(LEVEL, expected)
    assert lo <= n <= hi, (name, n, expected)


def test_the_estimate_is_not_a_tautology():
    """Doubling the rate moves the engine's count out of the first estimate's interval."""
    s = scenario({"calls_per_hour": 6000, "holding_time": "1m"}, duration="2h")
    expected = expected_calls(s)
    double = scenario({"calls_per_hour": 12000, "holding_time": "1m"}, duration="2h")
    n = len(simroute.simulate(double, seed=7).calls)
    lo, hi = stats.poisson.interval(LEVEL, expected)
    assert not lo <= n <= hi


def test_over_budget_is_an_error_that_says_what_to_do():
    s = scenario({"calls_per_hour": 5_000_000, "holding_time": "3m"}, duration="8h")
    with pytest.raises(BudgetError) as info:
        check_budget(s, None, DEFAULT_BUDGET, False)
    error = info.value
    assert isinstance(error, SimrouteError)
    assert error.estimate == 40_000_000 * EVENTS_PER_CALL and error.budget == DEFAULT_BUDGET
    text = str(error)
    assert "\n" not in text
    assert "120,000,000 events" in text and "40,000,000 calls in 8h" in text and "50,000,000" in text
    for hint in ("--records none", "--duration", "--yes", "--max-events"):
        assert hint in text, hint


def test_confirmation_or_a_larger_budget_lets_it_run():
    s = scenario({"calls_per_hour": 5_000_000, "holding_time": "3m"}, duration="8h")
    assert check_budget(s, None, DEFAULT_BUDGET, True) == 120_000_000
    assert check_budget(s, None, 200_000_000, False) == 120_000_000
    assert check_budget(s, None, None, False) == 120_000_000
    assert check_budget(s, "1h", DEFAULT_BUDGET, False) == 15_000_000  # a shorter duration fits


def test_replications_multiply_the_estimate():
    s = scenario({"calls_per_hour": 1_000_000, "holding_time": "3m"}, duration="5h")
    assert check_budget(s, None, DEFAULT_BUDGET, False) == 15_000_000
    with pytest.raises(BudgetError, match="4 replications"):
        check_budget(s, None, DEFAULT_BUDGET, False, replications=4)
    with pytest.raises(BudgetError, match="5 replications"):  # the scenario's own count by default
        check_budget({**s, "replications": 5}, None, DEFAULT_BUDGET, False)
    assert check_budget({**s, "replications": 5}, None, DEFAULT_BUDGET, False, replications=1) == 15_000_000


@pytest.mark.parametrize(
    "traffic",
    [
        {"calls_per_hour": 1e308, "holding_time": "1m"},
        {"calls_per_hour": 1e308, "profile": [1e308] * 24, "holding_time": "1m"},
        {
            "steps": [{"at": 0, "calls_per_hour": 1e308}, {"at": 1e300, "calls_per_hour": 1e308}],
            "holding_time": "1m",
        },
    ],
)
def test_absurd_numbers_saturate_quickly_instead_of_crashing(traffic):
    s = scenario(traffic, duration=1e308)
    assert estimate_events(s) == estimate_events(s) > DEFAULT_BUDGET
    with pytest.raises(BudgetError, match="more than"):
        check_budget(s, None, DEFAULT_BUDGET, False, replications=100)


@pytest.mark.parametrize(
    "text, value",
    [
        ("50000000", 50_000_000),
        ("50_000_000", 50_000_000),
        ("5e7", 50_000_000),
        ("50M", 50_000_000),
        ("2g", 2_000_000_000),
        ("1.5k", 1500),
        ("1e999", None),
        ("0", None),
        ("-5", None),
        ("nan", None),
        ("inf", None),
        ("lots", None),
        ("", None),
    ],
)
def test_parse_events(text, value):
    if value is None:
        with pytest.raises(ValueError):
            parse_events(text)
    else:
        assert parse_events(text) == value


def test_budget_arguments_on_a_parser():
    import argparse

    parser = argparse.ArgumentParser()
    add_budget_arguments(parser)
    args = parser.parse_args([])
    assert args.max_events == DEFAULT_BUDGET and args.yes is False
    args = parser.parse_args(["--max-events", "200M", "--yes"])
    assert args.max_events == 200_000_000 and args.yes is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--max-events", "zero"])


# ----------------------------------------------------------------- the command line (wiring pending)


def _cli(*argv):
    import contextlib
    import io

    from simroute.cli import main

    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, err.getvalue()


def test_command_line_refuses_a_run_over_budget_and_yes_confirms(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(scenario(RATE, duration="1h")), encoding="utf-8")  # ~1,080 events
    code, err = _cli("run", path, "--max-events", "100")
    assert code == 2 and "events expected" in err and "--yes" in err, err
    code, err = _cli("run", path, "--max-events", "100", "--yes")
    assert code == 0, err
    code, err = _cli("run", path)  # far below the default budget
    assert code == 0, err


def test_the_estimate_counts_every_try_of_redialling_callers():
    """With redial the budget counts tries: a caller whose every try fails (the far end always busy)
    makes 1 + 0.5 + 0.25 + 0.125 tries on average (max_tries 4), and the engine's calls lie in the 99.99 %
    normal interval of a compound Poisson count (variance: fresh callers times E[tries squared])."""
    redial = {"after": ["busy"], "probability": [0.5], "delay": "1s", "max_tries": 4}
    traffic = {"calls_per_hour": 3000, "holding_time": "1m", "redial": redial}
    s = scenario(traffic, duration="2h")
    s["trunks"] = [{"name": "t", "endpoint": {"responses": {486: 1.0}}}]
    tries = {1: 0.5, 2: 0.25, 3: 0.125, 4: 0.125}  # P(a caller makes exactly k tries)
    mean_tries = sum(k * p for k, p in tries.items())
    assert mean_tries == pytest.approx(1.875)
    fresh = 6000
    assert expected_calls(s) == pytest.approx(fresh * mean_tries)
    n = len(simroute.simulate(s, seed=7).calls)
    half = stats.norm.ppf(0.5 + LEVEL / 2) * math.sqrt(fresh * sum(k * k * p for k, p in tries.items()))
    assert abs(n - fresh * mean_tries) <= half, (n, fresh * mean_tries, half)
