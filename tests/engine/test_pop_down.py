"""A trunk pinned to a POP that is down: the call goes on to the next trunk (settings.reroute_on_pop_down)."""

import pytest

import simroute
from simroute.scenario import codes
from simroute.scenario.safeyaml import load_file

from ..paths import SCENARIOS


def pop_outage(rerouting_codes, **settings):
    data = load_file(SCENARIOS / "pop-outage.yaml")
    data["trunks"][0]["rerouting_codes"] = rerouting_codes
    if settings:
        data["settings"] = settings
    return data


def test_didww_default_codes_keep_completion_within_one_percent_of_conservative():
    """Today 503 (not in didww_default) ended every call to the FRA-pinned trunk: 0.81 against 0.996."""
    default = simroute.simulate(pop_outage("didww_default")).summary["kpis"]
    conservative = simroute.simulate(pop_outage("conservative")).summary["kpis"]
    assert abs(default["completion_rate"] - conservative["completion_rate"]) <= 0.01
    assert "pop_down" not in default["outcomes"]  # no call ended on the down POP


@pytest.mark.parametrize("codes_list, lost", [("didww_default", True), ([503], False)])
def test_when_the_setting_is_off_only_503_in_the_list_covers_a_down_pop(codes_list, lost):
    summary = simroute.simulate(pop_outage(codes_list, reroute_on_pop_down=False)).summary["kpis"]
    assert (summary["outcomes"].get("pop_down", 0) > 100) == lost


def test_the_attempt_fails_with_its_own_cause_and_the_next_trunk_answers():
    attempts = simroute.simulate(pop_outage("none")).attempts
    on_down = attempts[attempts["cause"] == codes.POP_DOWN]
    assert len(on_down) > 100 and set(on_down["trunk"]) == {"pbx-fra"}
    assert (on_down["disconnect_code"] == 503).all()
    nxt = attempts.merge(on_down[["call_id"]], on="call_id")
    second = nxt[nxt["routing_attempt"] == 2]
    assert len(second) == len(on_down) and set(second["trunk"]) == {"pbx-auto"}
