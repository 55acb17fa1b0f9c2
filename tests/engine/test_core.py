"""The engine against exact answers: Erlang B, weighted split, re-routing, timeouts, number lists,
caps at every event, and POP outages. Statistical checks are seeded and use the interval in tests/stats.py."""

import math

import numpy as np
import pytest

import simroute
from simroute import theory
from simroute.scenario import codes

from ..builders import busy_scenario, single_trunk, two_trunks
from ..paths import SCENARIOS
from ..stats import assert_binomial, assert_covers


def test_erlang_b_15_circuits_at_8_108_erlang_lose_one_percent():
    """(a) Loss over 20 independent replications against B(8.108, 15) = 0.0100."""
    scenario = simroute.load_scenario(single_trunk(15, 8.108))
    losses = [simroute.simulate(scenario, seed=s).summary["kpis"]["loss_probability"] for s in range(20)]
    exact = theory.erlang_b(8.108, 15)
    assert exact == pytest.approx(0.0100, abs=5e-5)
    assert_covers(losses, exact, what="Erlang B loss")


def test_weighted_pair_first_choice_shares():
    """(b) 70/30 weights: first-choice shares within their interval of 0.7/0.3, DIDWW's documented
    proportional rule (Yeti's integer draw, ``settings.weight_draw: yeti``, would give 70/101, 31/101)."""
    result = simroute.simulate(SCENARIOS / "weighted-pair.yaml")
    trunks = result.summary["trunks"]
    selected = result.summary["groups"]["pair"]["offered"]
    for name, share in (("big", 0.7), ("small", 0.3)):
        firsts = round(trunks[name]["first_choice_share"] * selected)
        assert_binomial(firsts, selected, share, what=name)
        assert trunks[name]["weight_share"] == share


@pytest.mark.parametrize("codes_list, rerouted", [([503], True), ("didww_default", False)])
def test_primary_answering_503(codes_list, rerouted):
    """(c) 503 re-routes to the secondary only when 503 is in the primary's list."""
    scenario = two_trunks(primary={"rerouting_codes": codes_list, "endpoint": {"responses": {503: 1.0}}})
    result = simroute.simulate(scenario, seed=1)
    k, trunks = result.summary["kpis"], result.summary["trunks"]
    assert k["offered"] > 400
    assert trunks["primary"]["answered"] == 0
    if rerouted:
        assert k["answered"] == k["offered"] == trunks["secondary"]["answered"]
        assert k["attempts_per_call"] == 2.0
    else:
        assert k["outcomes"] == {"sip_503": k["offered"]}
        assert trunks["secondary"]["attempts"] == 0


@pytest.mark.parametrize("codes_list, rerouted", [(["ringing_timeout"], True), ("none", False)])
def test_ringing_timeout_reroutes(codes_list, rerouted):
    """(d) A primary that answers after 30 s with a 10 s ringing timeout ends with 1505 each time."""
    scenario = two_trunks(
        primary={"ringing_timeout": "10s", "rerouting_codes": codes_list, "endpoint": {"answer_delay": "30s"}}
    )
    result = simroute.simulate(scenario, seed=2)
    att = result.attempts
    first = att[att.routing_attempt == 1]
    assert (first.cause == codes.RINGING_TIMEOUT).all()
    assert ((first.time_end - first.time_start).round(9) == 10.0).all()  # the channel was held while ringing
    assert (first.disconnect_code == 487).all() and (first.reason == "Ringing timeout").all()
    k = result.summary["kpis"]
    if rerouted:
        assert k["answered"] == k["offered"]
        assert result.summary["kpis"]["post_dial_delay_mean"] == pytest.approx(10.0)
    else:
        assert k["outcomes"] == {"ringing_timeout": k["offered"]}


def test_ringing_timeout_probability_is_exp_minus_t_over_r():
    """P(timeout) = exp(-T/r) for exponential answer delay with mean r."""
    scenario = single_trunk(
        None,
        2.0,
        duration="20h",
        endpoint={"answer_delay": {"dist": "exponential", "mean": "8s"}},
        ringing_timeout="12s",
    )
    result = simroute.simulate(scenario, seed=3)
    t = result.summary["trunks"]["t"]
    n = t["attempts"]
    assert_binomial(round(t["timeout_fraction"] * n), n, math.exp(-12 / 8), what="timeout fraction")


def test_number_list_blocks_by_longest_prefix():
    """(e) 1900 is rejected but 19005 is allowed; every caller's fate follows the list."""
    result = simroute.simulate(SCENARIOS / "spam-list.yaml")
    calls = result.calls
    rejected = calls.outcome == "number_list_reject"
    blocked = (
        calls.caller.str.startswith("1900") & ~calls.caller.str.startswith("19005")
    ) | calls.caller.str.startswith("447700900")
    assert blocked.sum() > 100 and (calls.caller.str.startswith("19005")).sum() > 50
    assert (rejected == blocked).all()
    att = result.attempts
    assert (
        att[att.cause == codes.NUMBER_LIST_REJECT].time_end
        == att[att.cause == codes.NUMBER_LIST_REJECT].time_start
    ).all()


def test_no_cap_is_ever_exceeded():
    """(f) Checked after every event by the audited engine, and again from the records."""
    result = simroute.simulate(busy_scenario(), seed=5, audit=True)
    assert result.events_checked > 5000
    rec, net = result.records, result.network
    from simroute.kpis.occupancy import Occupancy

    peaks = []
    for t, cap in enumerate(net.trunk_cap):
        held = (rec.trunk == t) & ~np.isin(rec.cause, list(codes.REFUSED_BEFORE_SEIZURE))
        peaks.append(Occupancy(rec.time_start[held], rec.time_end[held]).peak())
        assert peaks[-1] <= cap, (t, peaks[-1], cap)
    assert peaks[1:] == net.trunk_cap[1:]  # b and c reach their caps
    assert peaks[0] >= 10  # a's 10-channel PBX fills; its 486s hold a trunk channel only for the POP hop
    outcomes = result.summary["kpis"]["outcomes"]
    assert {"trunk_capacity", "group_capacity", "did_capacity"} <= set(outcomes)
    calls = result.calls
    for d, cap in zip(net.did_numbers, net.did_cap):
        mine = calls[(calls.did == d) & ~calls.outcome.isin(["did_capacity"])]
        assert Occupancy(mine.time_arrival.to_numpy(), mine.time_end.to_numpy()).peak() <= cap


def test_records_add_up():
    """Every offered call has one outcome; attempts count 1, 2, 3...; is_last_cdr once per call."""
    result = simroute.simulate(busy_scenario(), seed=6)
    att, calls, k = result.attempts, result.calls, result.summary["kpis"]
    assert sum(k["outcomes"].values()) == k["offered"]
    assert att.groupby("call_id").is_last_cdr.sum().eq(1).all()
    counts = att.groupby("call_id").routing_attempt.agg(["min", "max", "count"])
    assert (counts["min"] == 1).all() and (counts["max"] == counts["count"]).all()
    assert (att.time_start <= att.time_end).all()
    connected = att.dropna(subset=["time_connect"])
    assert (
        (connected.time_start <= connected.time_connect) & (connected.time_connect <= connected.time_end)
    ).all()
    assert not att[att.trunk != ""].groupby("call_id").trunk.apply(lambda s: s.duplicated().any()).any()
    per_trunk = sum(t["attempts"] for t in result.summary["trunks"].values())
    window = calls[(calls.time_arrival >= 600) & (calls.time_arrival < 3 * 3600)].call_id
    on_trunk = att[att.call_id.isin(window) & (att.trunk != "")]
    assert per_trunk == len(on_trunk) > 0
    assert k["attempts_per_call"] == pytest.approx(len(on_trunk) / on_trunk.call_id.nunique())
    assert len(calls) == att.call_id.nunique()


def test_pop_outage_moves_ingress_to_the_other_pop():
    """(g) While FRA is down (3h..4h) no call arrives there and the FRA-pinned trunk answers 503."""
    result = simroute.simulate(SCENARIOS / "pop-outage.yaml")
    calls, att = result.calls, result.attempts
    during = calls[(calls.time_arrival >= 3 * 3600) & (calls.time_arrival < 4 * 3600)]
    before = calls[calls.time_arrival < 3 * 3600]
    assert len(during) > 400
    assert (during.ingress_pop == "AMS").all()
    assert_binomial(int((before.ingress_pop == "FRA").sum()), len(before), 0.5, what="FRA share before")
    window = att[(att.time_start >= 3 * 3600) & (att.time_start < 4 * 3600) & (att.trunk == "pbx-fra")]
    assert (
        len(window) > 400 and (window.cause == codes.POP_DOWN).all() and (window.disconnect_code == 503).all()
    )
    assert during.answered.mean() > 0.95  # conservative re-routes 503 to the Auto trunk
    assert (during[during.answered].trunk == "pbx-auto").all()


def test_same_seed_same_summary_and_crn_across_variants():
    a = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=9)
    b = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=9)
    assert a.summary == b.summary
    assert simroute.simulate(SCENARIOS / "quickstart.yaml", seed=10).summary != a.summary
    bigger = simroute.load_scenario(SCENARIOS / "quickstart.yaml")
    data = bigger.model_dump(by_alias=True, exclude_none=True)
    data["trunks"][0]["capacity_limit"] = 5
    c = simroute.simulate(data, seed=9)
    # common random numbers: a capacity change leaves the arrival sequence and callers untouched
    assert a.calls.time_arrival.equals(c.calls.time_arrival)
    assert a.calls.caller.equals(c.calls.caller)
    assert c.summary["kpis"]["answered"] < a.summary["kpis"]["answered"]


def test_random_pop_outages_take_the_expected_share_of_time():
    """A POP down at random (MTBF 2h, MTTR 20m) is down mttr/(mtbf+mttr) of the time: no call arrives
    there then, so its share of ingress drops from 1/2 to (1/2)(1 - 1/7)."""
    scenario = {
        "name": "random-outage",
        "duration": "100h",
        "pops": [{"name": "FRA", "ingress_share": 1}, {"name": "AMS", "ingress_share": 1}],
        "trunks": [{"name": "t"}],
        "dids": [
            {
                "number": "4930111",
                "route": {"trunk": "t"},
                "traffic": {"calls_per_hour": 300, "holding_time": "30s"},
            }
        ],
        "faults": [{"pop": "FRA", "mtbf": "2h", "mttr": "20m"}],
    }
    shares = []
    for seed in range(10):
        pops = simroute.simulate(scenario, seed=seed, records="none").summary["pops"]
        shares.append(pops["FRA"]["offered"] / (pops["FRA"]["offered"] + pops["AMS"]["offered"]))
    assert_covers(shares, 0.5 * (1 - 20 / 140), what="FRA share under random outages")


def test_simpy_heap_layout_matches_the_inlined_schedule():
    """The engine pushes (time, priority, id, event) onto SimPy's heap itself: check SimPy still does."""
    import simpy

    env = simpy.Environment()
    event = env.event()
    env.schedule(event, 1, 5.0)
    entry = env._queue[0]
    assert len(entry) == 4 and entry[0] == 5.0 and entry[1] == 1 and entry[3] is event
    assert isinstance(entry[2], int)
