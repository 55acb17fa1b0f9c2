"""Traffic profiles at any resolution repeating daily or weekly, repeating steps, agent profiles at the
same resolutions, and traffic_scale: arrivals stay an exact non-homogeneous Poisson process."""

import math

import numpy as np
import pytest
from scipy import stats

import simroute
from simroute.errors import ScenarioError
from simroute.experiments.budget import expected_calls
from simroute.kpis.metrics import mean_agents
from simroute.scenario import codes

from ..stats import LEVEL


def assert_poisson(count: int, mean: float, what: str = "") -> None:
    """A Poisson count inside its normal interval at LEVEL (means here are in the hundreds or more)."""
    z = stats.norm.ppf(0.5 + LEVEL / 2)
    assert abs(count - mean) <= z * math.sqrt(mean), f"{what}: {count} arrivals, expected {mean:.1f}"


def one_did(traffic: dict, duration="3d", **top) -> dict:
    return {
        "name": "profile",
        "duration": duration,
        "trunks": [{"name": "t"}],
        "dids": [
            {"number": "4930100", "route": {"trunk": "t"}, "traffic": {"holding_time": "1m", **traffic}}
        ],
        **top,
    }


def arrivals(scenario) -> np.ndarray:
    return np.sort(simroute.simulate(scenario).calls["time_arrival"].to_numpy())


def test_a_quarter_hour_profile_repeats_every_day():
    """96 values: calls only in quarter-hours 5 and 80 of each day, at 4x and 1x of 400 calls/h."""
    profile = [0.0] * 96
    profile[5], profile[80] = 4.0, 1.0
    scenario = one_did({"calls_per_hour": 400, "profile": profile})
    t = arrivals(scenario)
    quarter = (t % 86400 // 900).astype(int)
    assert set(quarter) == {5, 80}
    assert_poisson(int((quarter == 5).sum()), 3 * 400 * 4 / 4, "quarter 5")
    assert_poisson(int((quarter == 80).sum()), 3 * 400 / 4, "quarter 80")
    assert expected_calls(scenario) == pytest.approx(3 * 400 * 5 / 4)


def test_a_weekly_hourly_profile():
    """168 values: a week of hours; only Tuesday 10:00-11:00 (hour 34) has calls."""
    profile = [0.0] * 168
    profile[34] = 1.0
    scenario = one_did({"calls_per_hour": 600, "profile": profile}, duration="14d")
    t = arrivals(scenario)
    assert set((t % 604800 // 3600).astype(int)) == {34}
    assert_poisson(len(t), 2 * 600, "two Tuesdays")
    assert expected_calls(scenario) == pytest.approx(1200)
    assert expected_calls(scenario, duration="8d") == pytest.approx(600)  # the second Tuesday is day 8


@pytest.mark.parametrize("n", [25, 100, 169, 11])
def test_a_profile_of_another_length_is_refused_with_the_field_named(n):
    with pytest.raises(ScenarioError, match=r"dids\[0\]\.traffic\.profile.*divides 1440"):
        simroute.load_scenario(one_did({"calls_per_hour": 10, "profile": [1.0] * n}))


def test_steps_repeat_daily_and_wrap_around():
    """Steps at 6h (300/h) and 18h (0) repeating every day: before 6h the last step's 0 holds."""
    steps = [{"at": "6h", "calls_per_hour": 300}, {"at": "18h", "calls_per_hour": 0}]
    scenario = one_did({"steps": steps, "repeat": "1d"})
    t = arrivals(scenario)
    hour = t % 86400 / 3600
    assert hour.min() >= 6 and hour.max() < 18
    assert (t > 2 * 86400).sum() > 0  # today the schedule ran once: nothing after the first day's 18h
    assert_poisson(len(t), 3 * 12 * 300, "three days")
    assert expected_calls(scenario) == pytest.approx(3 * 12 * 300)


def test_repeat_needs_steps_below_the_period():
    steps = [{"at": 0, "calls_per_hour": 10}, {"at": "25h", "calls_per_hour": 5}]
    with pytest.raises(ScenarioError, match=r"dids\[0\]\.traffic.*below"):
        simroute.load_scenario(one_did({"steps": steps, "repeat": "1d"}))


def test_traffic_scale_multiplies_every_did():
    base = one_did({"calls_per_hour": 500}, duration="4h")
    scaled = {**base, "traffic_scale": 1.5}
    assert expected_calls(scaled) == pytest.approx(1.5 * expected_calls(base)) == pytest.approx(3000)
    assert_poisson(simroute.simulate(scaled).summary["kpis"]["offered"], 3000, "scaled")
    with pytest.raises(ScenarioError, match="traffic_scale"):
        simroute.load_scenario({**base, "traffic_scale": -1})


def test_agents_follow_a_half_hour_profile():
    """48 half-hour counts: 0 agents until 06:00, then 4; the PBX serves no one before 06:00."""
    agents = [0] * 12 + [4] * 36
    scenario = {
        "name": "pbx",
        "duration": "1d",
        "trunks": [{"name": "cloud", "kind": "pbx", "pbx": {"agents": agents}}],
        "dids": [
            {
                "number": "18005550100",
                "route": {"trunk": "cloud"},
                "traffic": {"calls_per_hour": 40, "holding_time": "2m"},
            }
        ],
    }
    model = simroute.load_scenario(scenario).trunks[0].pbx
    assert model.agents_interval == 1800 and model.agents_at(12) == 4 and model.agents_at(48 + 11) == 0
    assert mean_agents(model, 0, 86400) == pytest.approx(3.0)
    assert mean_agents(model, 3 * 3600, 9 * 3600) == pytest.approx(2.0)
    result = simroute.simulate(scenario)
    queue = result.summary["trunks"]["cloud"]["queue"]
    assert queue["agents_on_duty"] == pytest.approx(3.0)
    talk = result.records.pbx
    served = talk[talk[:, 6] == codes.PBX_SERVED]
    assert queue["served"] > 0 and len(served) > 0
    # callers who arrived at night waited for 06:00: no agent took a call before then
    assert served[:, 5].min() >= 6 * 3600
    assert (served[:, 2] < 6 * 3600).any()  # though some had arrived before
