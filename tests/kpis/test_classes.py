"""Blocking apart from rejection and failure (a full endpoint or queue has its own cause, seen as 486),
served calls of a cloud PBX, and the records saying which calls count in the KPI window."""

import math

import pytest

import simroute
from simroute.experiments.intervals import flatten
from simroute.scenario import codes

from ..paths import SCENARIOS


def assert_same_counts(a: dict, b: dict):
    """Every KPI of the two summaries equal (time averages to rounding; the p95 sketch aside)."""
    fa, fb = flatten(a), flatten(b)
    assert fa.keys() == fb.keys()
    for key, value in fa.items():
        if key[-1] != "post_dial_delay_p95":  # the KPI window's and the busy hour's sketch
            assert fb[key] == pytest.approx(value, rel=1e-9, abs=1e-12) or math.isnan(value), key


def mixed_scenario(busy_code=486):
    """A DID whose calls are refused by a number list, blocked by a full endpoint (10 channels under a
    30-channel trunk), and failed by a random 486 and 603 from the same endpoint."""
    return {
        "name": "mixed",
        "duration": "3h",
        "warmup": "20m",
        "number_lists": [{"name": "spam", "items": [{"number": "1900", "action": "reject"}]}],
        "trunks": [
            {
                "name": "pbx",
                "capacity_limit": 30,
                "rerouting_codes": "none",
                "number_list": "spam",
                "endpoint": {
                    "channels": 10,
                    "busy_code": busy_code,
                    "answer_delay": "2s",
                    "responses": {486: 0.03, 603: 0.02},
                },
            }
        ],
        "dids": [
            {
                "number": "4930123",
                "route": {"trunk": "pbx"},
                "channels_included": 40,
                "traffic": {
                    "erlangs": 10,
                    "holding_time": {"dist": "exponential", "mean": "3m"},
                    "callers": {"prefix_shares": {"1900": 0.05}},
                },
            }
        ],
    }


def test_blocking_rejection_and_failure_are_told_apart():
    result = simroute.simulate(mixed_scenario(), seed=2)
    k = result.summary["kpis"]
    calls = result.calls[result.calls.in_window]
    # each class counted from the call records, by outcome name
    assert k["blocked"] == (calls.outcome == "endpoint_full").sum() > 50
    assert k["rejected"] == (calls.outcome == "number_list_reject").sum() > 10
    assert k["failed"] == calls.outcome.isin(["sip_486", "sip_603"]).sum() > 10
    assert k["blocked"] + k["rejected"] + k["failed"] + k["answered"] == k["offered"] == len(calls)
    assert k["blocking_probability"] == pytest.approx(k["blocked"] / k["offered"])
    assert k["loss_probability"] == pytest.approx(1 - k["completion_rate"])
    # the endpoint's own full state is shown to the caller as 486, like a random 486, yet kept apart
    att = result.attempts
    assert set(att[att.cause == codes.ENDPOINT_FULL].disconnect_code) == {486}
    assert set(att[att.cause == 486].disconnect_code) == {486}
    assert k["outcomes"]["endpoint_full"] == k["blocked"] and k["outcomes"]["sip_486"] > 0


def test_cause_sets_are_disjoint_and_cover_the_capacity_causes():
    sets = [codes.BLOCKING_CAUSES, codes.REJECTED_CAUSES]
    assert not sets[0] & sets[1]
    assert codes.ANSWERED not in sets[0] | sets[1]
    for cause in (
        codes.DID_CAPACITY,
        codes.NO_CHANNEL,
        codes.GROUP_CAPACITY,
        codes.TRUNK_CAPACITY,
        codes.ENDPOINT_FULL,
        codes.QUEUE_FULL,
    ):
        assert codes.call_class(cause) == "blocked"
    for cause in (486, 603, 503, codes.RINGING_TIMEOUT, codes.TIMER_B, codes.POP_DOWN):
        assert codes.call_class(cause) == "failed"
    assert codes.call_class(codes.NUMBER_LIST_REJECT) == "rejected"
    assert (
        codes.cause_info(codes.ENDPOINT_FULL).sip_code == codes.cause_info(codes.QUEUE_FULL).sip_code == 486
    )


def test_a_full_endpoint_shows_the_configured_busy_code_and_reroutes_on_it():
    scenario = mixed_scenario(busy_code=480)
    scenario["trunks"][0]["rerouting_codes"] = [480]
    scenario["trunks"].append({"name": "spare"})
    scenario["trunk_groups"] = [
        {"name": "g", "members": [{"trunk": "pbx", "priority": 1}, {"trunk": "spare", "priority": 2}]}
    ]
    scenario["dids"][0]["route"] = {"group": "g"}
    result = simroute.simulate(scenario, seed=2)
    att = result.attempts
    full = att[att.cause == codes.ENDPOINT_FULL]
    assert len(full) > 50 and set(full.disconnect_code) == {480}
    assert not full.is_last_cdr.any()  # each went on to the spare trunk
    assert result.summary["kpis"]["blocked"] == 0


@pytest.mark.parametrize("mode", ["none", "calls"])
def test_new_kpis_are_the_same_in_both_records_modes(mode):
    for scenario in (mixed_scenario(), SCENARIOS / "contact-centre.yaml"):
        kept = simroute.simulate(scenario, seed=5, duration="8h")
        live = simroute.simulate(scenario, seed=5, duration="8h", records=mode)
        assert_same_counts(kept.summary, live.summary)
        for key in ("blocked", "rejected", "failed", "served", "served_rate", "blocking_probability"):
            assert live.summary["kpis"][key] == kept.summary["kpis"][key], key


def test_cloud_pbx_served_rate_counts_abandoned_and_voicemail_callers_as_not_served():
    result = simroute.simulate(SCENARIOS / "contact-centre.yaml", seed=1, duration="1d")
    k = result.summary["kpis"]
    queue = result.summary["trunks"]["sales-cloud"]["queue"]
    assert queue["abandoned"] > 0
    unserved = queue["abandoned"] + queue["voicemail"] + queue["in_queue_at_end"]
    assert k["served"] == k["answered"] - unserved
    assert k["served"] == queue["served"]  # every answered call entered the queue
    assert k["served_rate"] == pytest.approx(k["served"] / k["offered"])
    assert k["served_rate"] < k["completion_rate"]


def test_a_full_queue_is_blocking_with_its_own_cause():
    scenario = {
        "name": "small-queue",
        "duration": "6h",
        "warmup": "30m",
        "trunks": [{"name": "cloud", "kind": "pbx", "pbx": {"agents": 2, "queue_capacity": 1}}],
        "dids": [
            {
                "number": "18005550100",
                "route": {"trunk": "cloud"},
                "traffic": {"erlangs": 3, "holding_time": {"dist": "exponential", "mean": 120}},
            }
        ],
    }
    result = simroute.simulate(scenario, seed=4)
    k = result.summary["kpis"]
    assert k["outcomes"]["queue_full"] == k["blocked"] > 100
    att = result.attempts
    assert set(att[att.cause == codes.QUEUE_FULL].disconnect_code) == {486}


def test_records_say_which_calls_count_in_the_kpi_window():
    """result.calls and result.attempts flag the calls of the KPI window, and agree with summary.json."""
    result = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=1)
    s, calls, att = result.summary, result.calls, result.attempts
    inside = calls[calls.in_window]
    assert 0 < len(inside) < len(calls)  # the warm-up's calls are there, flagged out
    assert (calls.in_window == (calls.time_arrival >= s["warmup"])).all()
    assert len(inside) == s["kpis"]["offered"]
    assert inside.answered.sum() == s["kpis"]["answered"]
    assert inside.outcome.value_counts().to_dict() == s["kpis"]["outcomes"]
    counted = att[att.in_window & (att.trunk != "")]
    for name, trunk in s["trunks"].items():
        assert (counted.trunk == name).sum() == trunk["attempts"], name
    # an attempt counts with its call, even when the attempt itself starts later
    flags = att.groupby("call_id").in_window.agg(["min", "max"])
    assert (flags["min"] == flags["max"]).all()
    assert (att.set_index("call_id").in_window.groupby(level=0).first() == calls.in_window.values).all()
