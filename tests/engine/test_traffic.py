"""Arrival processes: constant, hourly profile and steps are Poisson with the right rate in each interval."""

import numpy as np
import pytest
from scipy import stats

import simroute
from simroute.engine.traffic import CallerMix, arrival_times, rate_breakpoints
from simroute.scenario.schema import Traffic

from ..paths import SCENARIOS
from ..stats import LEVEL


def counts_per_bin(traffic, horizon, edges, seed=0):
    times, rates, period = rate_breakpoints(traffic, horizon)
    arrivals = np.concatenate(list(arrival_times(times, rates, horizon, np.random.default_rng(seed), period)))
    assert np.all(np.diff(arrivals) > 0) and arrivals.min() >= 0 and arrivals.max() < horizon
    return np.histogram(arrivals, bins=edges)[0]


def assert_poisson_counts(counts, expected):
    """Each bin's count is Poisson(expected): a chi-square over all bins at LEVEL."""
    expected = np.asarray(expected, float)
    chi2 = (((counts - expected) ** 2) / expected).sum()
    assert chi2 <= stats.chi2.ppf(LEVEL, len(counts)), (chi2, len(counts))


def test_hourly_profile_repeats_daily():
    profile = [0.0] * 6 + [1.0] * 6 + [3.0] * 6 + [0.5] * 6
    traffic = Traffic(calls_per_hour=200, holding_time="3m", profile=profile)
    counts = counts_per_bin(traffic, 3 * 86400, np.arange(0, 3 * 86400 + 1, 3600))
    expected = 200 * np.tile(profile, 3)
    assert counts[expected == 0].sum() == 0  # no call where the rate is zero
    assert_poisson_counts(counts[expected > 0], expected[expected > 0])


def test_steps_at_quarter_hour_resolution():
    steps = [
        {"at": f"{15 * i}m", "calls_per_hour": r}
        for i, r in enumerate([100, 400, 0, 800, 200, 50, 300, 1000])
    ]
    traffic = Traffic(steps=steps, holding_time="2m")
    counts = counts_per_bin(traffic, 2 * 3600, np.arange(0, 2 * 3600 + 1, 900), seed=1)
    expected = np.array([100, 400, 0, 800, 200, 50, 300, 1000]) / 4
    assert counts[2] == 0
    assert_poisson_counts(counts[expected > 0], expected[expected > 0])


def test_erlangs_means_rate_times_holding():
    assert Traffic(erlangs=10, holding_time={"dist": "exponential", "mean": "2m"}).base_rate == pytest.approx(
        10 / 120
    )


def test_steps_starting_late_are_silent_before():
    traffic = Traffic(steps=[{"at": "1h", "calls_per_hour": 3600}], holding_time="1m")
    counts = counts_per_bin(traffic, 7200, [0, 3600, 7200])
    assert counts[0] == 0 and counts[1] > 3000


def test_caller_mix_shares_and_lengths():
    mix = CallerMix(["1900", "447700900"], [0.1, 0.05], "49", 12, np.random.default_rng(3))
    numbers = [str(n) for n in mix.draw(100_000)]
    # each number has the requested length, or its prefix plus at least four random digits
    assert all(len(n) == (13 if n.startswith("447700900") else 12) for n in numbers)
    share_1900 = sum(n.startswith("1900") for n in numbers) / len(numbers)
    share_447 = sum(n.startswith("447700900") for n in numbers) / len(numbers)
    half = stats.norm.ppf(0.5 + LEVEL / 2) * np.sqrt(0.1 * 0.9 / 1e5)
    assert abs(share_1900 - 0.1) <= half
    assert abs(share_447 - 0.05) <= stats.norm.ppf(0.5 + LEVEL / 2) * np.sqrt(0.05 * 0.95 / 1e5)
    assert sum(n.startswith("49") for n in numbers) / len(numbers) > 0.8


def test_concurrency_profile_matches_carried_erlangs():
    result = simroute.simulate(SCENARIOS / "quickstart.yaml")
    conc = result.concurrency("15min")
    assert len(conc) == 16 and conc.index[1] == np.timedelta64(15, "m")
    after_warmup = conc.iloc[2:]  # warm-up is the first 30 minutes
    trunk = result.summary["trunks"]["pbx-fra"]["carried_erlangs"]
    assert after_warmup["trunk:pbx-fra"].mean() == pytest.approx(trunk, rel=1e-9)
    assert after_warmup["group:office"].mean() == pytest.approx(
        result.summary["groups"]["office"]["carried_erlangs"], rel=1e-9
    )
    assert (conc.max() <= pd_caps(result)).all()


def pd_caps(result):
    caps = {f"trunk:{t}": c for t, c in zip(result.network.trunk_names, result.network.trunk_cap)}
    caps.update({f"did:{d}": c for d, c in zip(result.network.did_numbers, result.network.did_cap)})
    caps.update({f"group:{g}": c for g, c in zip(result.network.group_names, result.network.group_cap)})
    import pandas as pd

    return pd.Series(caps)
