"""Delivery beyond SIP and DIDWW's channel model: cloud-PBX queues against Erlang C and A, shared
channels against Erlang B, the channel order, PSTN forwarding, voicemail and costs."""

import numpy as np
import pytest

import simroute
from simroute import theory
from simroute.scenario import codes

from ..paths import SCENARIOS
from ..stats import assert_covers


def contact_centre(agents, erlangs, patience=None, **pbx):
    model = {"agents": agents, **pbx}
    if patience is not None:
        model["patience"] = {"dist": "exponential", "mean": patience}
    return {
        "name": "queue",
        "duration": "21h",
        "warmup": "1h",
        "trunks": [{"name": "cloud", "kind": "pbx", "pbx": model}],
        "dids": [
            {
                "number": "18005550100",
                "route": {"trunk": "cloud"},
                "traffic": {"erlangs": erlangs, "holding_time": {"dist": "exponential", "mean": 180}},
            }
        ],
    }


def replicate(scenario, kpi_paths, n=20, seed=1):
    result = simroute.simulate(scenario, replications=n, seed=seed)
    return {path: result.replications[path].to_numpy() for path in kpi_paths}


def test_cloud_pbx_with_infinite_patience_is_erlang_c():
    """M/M/5 at 3.5 erlang: waiting probability and mean wait (infinite patience, no IVR)."""
    q = "trunks.cloud.queue."
    runs = replicate(contact_centre(5, 3.5), [q + "p_wait", q + "mean_wait", q + "abandonment_rate"])
    assert_covers(runs[q + "p_wait"], theory.erlang_c(3.5, 5), what="P(wait)")
    assert_covers(runs[q + "mean_wait"], theory.erlang_c_mean_wait(3.5, 5, 180.0), what="mean wait")
    assert (runs[q + "abandonment_rate"] == 0).all()


def test_cloud_pbx_with_exponential_patience_is_erlang_a():
    """M/M/4+M at 4.5 erlang (overloaded) with mean patience 120 s: abandonment and mean wait."""
    q = "trunks.cloud.queue."
    runs = replicate(contact_centre(4, 4.5, patience=120), [q + "abandonment_rate", q + "mean_wait"], seed=2)
    exact = theory.erlang_a(4.5 / 180, 180.0, 4, 120.0)
    assert_covers(runs[q + "abandonment_rate"], exact["p_abandon"], what="abandonment")
    assert_covers(runs[q + "mean_wait"], exact["mean_wait"], what="mean wait")


def test_voicemail_after_max_wait_and_a_full_queue_answers_busy():
    """One agent busy for 10 minutes a call: callers wait 5 min, then voicemail; a queue of 2 refuses more."""
    scenario = contact_centre(1, 6.0, max_wait="5m", queue_capacity=2, voicemail_time="40s")
    scenario["dids"][0]["traffic"]["holding_time"] = "10m"
    result = simroute.simulate(scenario, seed=3)
    queue = result.summary["trunks"]["cloud"]["queue"]
    assert queue["voicemail"] > 50 and queue["abandoned"] == 0
    assert queue["entered"] == queue["served"] + queue["voicemail"]
    pbx = result.records.pbx
    voicemail = pbx[pbx[:, 6] == codes.PBX_VOICEMAIL]
    assert np.allclose(voicemail[:, 5] - voicemail[:, 4], 300.0)  # left the queue at max_wait
    assert np.allclose(voicemail[:, 7] - voicemail[:, 5], 40.0)  # then 40 s of voicemail
    assert result.summary["kpis"]["outcomes"]["queue_full"] > 100  # queue full: busy (486)
    assert (result.attempts[result.attempts.cause == codes.QUEUE_FULL].disconnect_code == 486).all()
    assert queue["peak_queue_length"] <= 2
    served = pbx[pbx[:, 6] == codes.PBX_SERVED]
    a, b = result.scenario.warmup, result.duration
    busy = (np.minimum(served[:, 7], b) - np.maximum(served[:, 5], a)).clip(min=0).sum() / (b - a)
    assert (
        queue["agent_occupancy"] == pytest.approx(busy) and 0.9 < busy <= 1.0
    )  # one agent, nearly always talking


def shared_group(c, a1, a2, metered=0):
    group = {"name": "shared", "capacity_pool": "pool", "shared_channels": c}
    if metered:
        group["metered_channels"] = metered
    return {
        "name": "shared",
        "duration": "41h",
        "warmup": "1h",
        "capacity_pools": [{"name": "pool", "metered_rate": 0.01, "shared_monthly_price": 6.0}],
        "shared_capacity_groups": [group],
        "trunks": [{"name": "t1"}, {"name": "t2"}],
        "dids": [
            {
                "number": "4930111",
                "route": {"trunk": "t1"},
                "channels_included": 0,
                "shared_capacity_group": "shared",
                "traffic": {"erlangs": a1, "holding_time": {"dist": "exponential", "mean": 120}},
            },
            {
                "number": "4930222",
                "route": {"trunk": "t2"},
                "channels_included": 0,
                "shared_capacity_group": "shared",
                "traffic": {"erlangs": a2, "holding_time": {"dist": "deterministic", "value": 300}},
            },
        ],
    }


def test_two_dids_sharing_a_capacity_group_see_erlang_b_of_the_sum():
    result = simroute.simulate(shared_group(10, 2.5, 3.5), replications=20, seed=4)
    loss = result.replications["kpis.loss_probability"].to_numpy()
    assert_covers(loss, theory.erlang_b(6.0, 10), what="shared group loss")
    assert set(result.summary["kpis"]["outcomes"]) == {"answered", "no_channel"}


def test_channel_order_is_kept_at_every_admission_and_metered_is_overflow():
    """Included, dedicated, shared, metered: checked at every admission by the audited engine."""
    scenario = shared_group(4, 3.0, 3.0, metered=3)
    scenario["dids"][0].update(channels_included=2, dedicated_channels=1, capacity_pool="pool")
    result = simroute.simulate(scenario, seed=5, audit=True)
    assert result.events_checked > 1000
    calls = result.calls
    kinds = calls[calls.outcome != "no_channel"].channel.value_counts()
    assert set(kinds.index) == {"included", "dedicated", "shared", "metered"}
    assert (calls[calls.did == "4930222"].channel != "included").all()  # the second DID has none of its own
    # a call took a metered channel only when every shared channel was busy at its arrival
    shared = calls[calls.channel == "shared"]
    for t in calls[calls.channel == "metered"].time_arrival:
        busy = ((shared.time_arrival < t) & (shared.time_end > t)).sum()
        assert busy == 4
    group = result.summary["capacity_groups"]["shared"]
    assert group["shared_peak"] == 4 and 0 < group["metered_peak"] <= 3


def test_pstn_fallback_costs_add_up():
    result = simroute.simulate(SCENARIOS / "pstn-fallback.yaml")
    att, costs = result.attempts, result.summary["costs"]
    late = att.call_id.isin(result.calls[result.calls.time_arrival >= result.scenario.warmup].call_id)
    mobile = att[late & (att.trunk == "duty-mobile") & (att.cause == codes.ANSWERED)]
    assert len(mobile) > 20
    minutes = (mobile.time_end - mobile.time_connect).sum() / 60
    assert costs["trunks"]["duty-mobile"]["minutes"] == pytest.approx(minutes)
    assert costs["trunks"]["duty-mobile"]["cost"] == pytest.approx(minutes * 0.045)
    calls = result.calls[result.calls.time_arrival >= result.scenario.warmup]
    metered = calls[calls.channel == "metered"]
    metered_minutes = (metered.time_end - metered.time_arrival).sum() / 60
    group = costs["capacity_groups"]["support-shared"]
    assert group["metered_minutes"] == pytest.approx(metered_minutes) and metered_minutes > 0
    months = (result.duration - result.scenario.warmup) / (30 * 86400)
    assert group["shared_channels_cost"] == pytest.approx(4 * 7.5 * months)
    total = costs["trunks"]["duty-mobile"]["cost"] + group["cost"]
    assert costs["total"] == pytest.approx(total)
    assert costs["per_answered_call"] == pytest.approx(total / result.summary["kpis"]["answered"])
    # the post-dial delay of the PSTN termination is part of the mobile's answer time
    first_mobile = att[(att.trunk == "duty-mobile") & (att.cause == codes.ANSWERED)]
    assert ((first_mobile.time_connect - first_mobile.time_start) >= 2.0).all()


def test_a_did_with_no_channel_fields_is_unlimited_and_zero_included_takes_no_call():
    base = shared_group(2, 1.0, 1.0)
    base["dids"][0] = {
        k: v for k, v in base["dids"][0].items() if k not in ("channels_included", "shared_capacity_group")
    }
    base["dids"][1]["shared_capacity_group"] = None
    base["dids"][1] = {k: v for k, v in base["dids"][1].items() if v is not None}
    result = simroute.simulate(base, duration="5h", seed=6)
    outcomes = result.summary["dids"]
    assert outcomes["4930111"]["answered"] == outcomes["4930111"]["offered"] > 0  # no channel fields
    assert outcomes["4930222"]["answered"] == 0 < outcomes["4930222"]["offered"]  # "0 included" alone


def test_callers_never_served_are_counted_in_every_records_mode(tmp_path):
    """Issue 11 item 9: no agents, a queue of 100, no patience: the callers still waiting when nothing
    else can happen leave the queue at the horizon (in_queue_at_end) and count as offered calls, the same
    in every records mode; none is lost from the counts and the default run does not stop."""
    scenario = {
        "name": "no-agents",
        "duration": "5h",
        "warmup": 0,
        "seed": 5,
        "trunks": [{"name": "cloud", "kind": "pbx", "pbx": {"agents": 0, "queue_capacity": 100}}],
        "dids": [
            {
                "number": "18005550100",
                "route": {"trunk": "cloud"},
                "traffic": {"calls_per_hour": 30, "holding_time": {"dist": "exponential", "mean": 180}},
            }
        ],
    }
    kept = simroute.simulate(scenario, audit=True)  # the audit also checks every channel is given back
    offered = kept.summary["kpis"]["offered"]
    assert offered == len(kept.calls) > 100
    queue = kept.summary["trunks"]["cloud"]["queue"]
    assert queue["entered"] == queue["in_queue_at_end"] == 100
    assert queue["served"] == queue["abandoned"] == queue["voicemail"] == 0
    assert kept.summary["kpis"]["outcomes"] == {"answered": 100, "queue_full": offered - 100}
    assert kept.summary["kpis"]["served"] == 0  # the 100 answered are still waiting: none served
    assert (kept.records.pbx[:, 5] == 5 * 3600.0).all()  # they leave the queue at the horizon
    assert queue["peak_queue_length"] == 100
    for mode in ("calls", "none"):
        live = simroute.simulate(scenario, records=mode)
        assert live.summary["kpis"] == kept.summary["kpis"], mode
        # time averages to rounding: a live run adds them up hour by hour (for the busy hour)
        got = live.summary["trunks"]["cloud"]["queue"]
        assert got.keys() == queue.keys(), mode
        for key, value in queue.items():
            assert got[key] == (value if value is None else pytest.approx(value, rel=1e-12)), (mode, key)
    streamed = simroute.simulate(scenario, stream_to=tmp_path / "attempts.csv")
    assert streamed.summary["kpis"] == kept.summary["kpis"]
