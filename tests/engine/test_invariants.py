"""Invariants that hold for every valid scenario, checked on random ones (tests/strategies.py).

Each example runs on the audited engine (every cap checked after every event) and then its records are
checked against the scenario: one outcome per call, attempts numbered 1, 2, 3..., one last CDR per call,
times in order, re-routing only on causes in the trunk's list (and always on them while trunks and
attempts remain), no trunk twice, priorities never decreasing, at most ``max_attempts``, the summary's
per-trunk counts equal to the records', and every cap respected again from the records alone.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import simroute
from simroute.scenario import codes

from ..strategies import scenarios

INSTANT = codes.REFUSED_BEFORE_SEIZURE | codes.REFUSED_ON_ARRIVAL  # refusals that take no time
EPS = 1e-9


def check_invariants(data: dict, result) -> None:
    scenario, net = result.scenario, result.network
    att, calls, summary = result.attempts, result.calls, result.summary
    k = summary["kpis"]
    warmup, horizon = scenario.warmup, result.duration

    # ------------------------------------------------------------------ calls and outcomes
    assert len(calls) == att.call_id.nunique()
    in_window = calls[(calls.time_arrival >= warmup) & (calls.time_arrival < horizon)]
    assert k["offered"] == len(in_window)
    assert sum(k["outcomes"].values()) == k["offered"], k["outcomes"]
    assert k["answered"] == int(in_window.answered.sum()) == k["outcomes"].get("answered", 0)
    assert sorted(k["outcomes"].items()) == sorted(in_window.outcome.value_counts().to_dict().items())
    assert (calls.time_arrival >= 0).all() and (calls.time_arrival < horizon).all(), (
        "a call arrived outside the run"
    )

    # ------------------------------------------------------------------ CDR numbering
    grouped = att.groupby("call_id", sort=True)
    assert grouped.is_last_cdr.sum().eq(1).all(), "is_last_cdr must be set once per call"
    stats = grouped.routing_attempt.agg(["min", "max", "count"])
    assert (stats["min"] == 1).all() and (stats["max"] == stats["count"]).all(), (
        "routing_attempt must count 1, 2, 3..."
    )
    assert not att.duplicated(["call_id", "routing_attempt"]).any()
    last = att[att.is_last_cdr]
    assert (last.routing_attempt.to_numpy() == stats["max"].to_numpy()).all(), (
        "the last CDR is the last attempt"
    )

    # ------------------------------------------------------------------ times
    start, connect, end = att.time_start.to_numpy(), att.time_connect.to_numpy(), att.time_end.to_numpy()
    assert (start <= end + EPS).all()
    has_connect = ~np.isnan(connect)
    assert (
        (start[has_connect] <= connect[has_connect] + EPS) & (connect[has_connect] <= end[has_connect] + EPS)
    ).all()
    answered_rows = att.cause.to_numpy() == codes.ANSWERED
    assert (has_connect == answered_rows).all(), "time_connect is set exactly on answered attempts"
    # attempts of one call follow each other: each starts when the previous one ended
    prev_end = grouped.time_end.shift(1).to_numpy()
    follow = ~np.isnan(prev_end)
    assert np.allclose(start[follow], prev_end[follow], atol=1e-6), (
        "a re-route starts when the last attempt ends"
    )
    instant = att.cause.isin(INSTANT).to_numpy()
    assert np.allclose(start[instant], end[instant]), "refusals before a channel take no time"

    # ------------------------------------------------------------------ routing per call
    trunk_index = {name: i for i, name in enumerate(net.trunk_names)}
    group_of_did = {d["number"]: d["route"].get("group") for d in data["dids"]}
    trunk_of_did = {d["number"]: d["route"].get("trunk") for d in data["dids"]}
    members = {
        g["name"]: {m["trunk"]: m.get("priority", 1) for m in g["members"]}
        for g in data.get("trunk_groups", [])
    }
    max_attempts = {g["name"]: g.get("max_attempts", 10) for g in data.get("trunk_groups", [])}
    timeouts = net.ringing_timeout

    for call_id, rows in grouped:
        number = rows.did.iat[0]
        trunks = rows.trunk.tolist()
        causes = rows.cause.tolist()
        group = group_of_did[number]
        allowed = list(members[group]) if group else [trunk_of_did[number]]
        limit = min(max_attempts[group], len(allowed)) if group else 1
        assert len(rows) <= limit, (call_id, len(rows), limit)
        if trunks[0] == "":  # refused before any trunk: DID list, DID cap, group cap
            assert len(rows) == 1 and causes[0] in codes.REFUSED_ON_ARRIVAL, (call_id, causes)
            continue
        assert "" not in trunks, (call_id, trunks)
        assert set(trunks) <= set(allowed), (call_id, trunks, allowed)
        assert len(set(trunks)) == len(trunks), f"call {call_id} tried a trunk twice: {trunks}"
        if group:
            priorities = [members[group][t] for t in trunks]
            assert priorities == sorted(priorities), f"call {call_id}: priorities {priorities} go down"
        for i, (t, cause) in enumerate(zip(trunks, causes)):
            reroute = net.reroute[trunk_index[t]]
            if i < len(trunks) - 1:
                assert cause in reroute, (
                    f"call {call_id} re-routed from {t} on {cause}, not in {sorted(reroute)}"
                )
            else:  # the call stopped: on a cause that does not re-route, or out of trunks or attempts
                assert cause not in reroute or len(trunks) == limit, (call_id, t, cause, len(trunks), limit)
        # ringing: never longer than the trunk's timeout, exactly the timeout when it fired
        span = (rows.time_end - rows.time_start).to_numpy()
        conn = (rows.time_connect - rows.time_start).to_numpy()
        for t, cause, s, c in zip(trunks, causes, span, conn):
            timeout = timeouts[trunk_index[t]]
            if cause == codes.RINGING_TIMEOUT:
                assert math.isclose(s, timeout, abs_tol=1e-6), (call_id, t, s, timeout)
            elif cause == codes.ANSWERED:
                assert c <= timeout + 1e-6, (call_id, t, c, timeout)
            else:
                assert s <= timeout + 1e-6, (call_id, t, cause, s, timeout)

    # ------------------------------------------------------------------ the summary against the records
    window_ids = set(in_window.call_id)
    mine = att[att.call_id.isin(window_ids) & (att.trunk != "")]
    per_trunk = {name: row["attempts"] for name, row in summary["trunks"].items()}
    assert sum(per_trunk.values()) == len(mine)
    counted = mine.trunk.value_counts().to_dict()
    answered = mine[mine.cause == codes.ANSWERED].trunk.value_counts().to_dict()
    for name, row in summary["trunks"].items():
        assert row["attempts"] == counted.get(name, 0), name
        assert row["answered"] == answered.get(name, 0), name
        assert 0 <= row["answered"] <= row["attempts"], name
    assert sum(row["answered"] for row in summary["trunks"].values()) == k["answered"]
    reached = mine.call_id.nunique()
    assert k["attempts_per_call"] == (pytest.approx(len(mine) / reached) if reached else None)

    # ------------------------------------------------------------------ caps, again, from the records alone
    seized = (att.trunk != "") & ~att.cause.isin(INSTANT)
    for name, cap in zip(net.trunk_names, net.trunk_cap):
        held = att[seized & (att.trunk == name)]
        assert peak(held.time_start, held.time_end) <= cap, ("trunk", name)
    kept = calls[
        ~calls.outcome.isin(["number_list_reject", "did_capacity", "no_channel"]) | (calls.attempts > 1)
    ]
    for number, cap in zip(net.did_numbers, net.did_cap):
        held = kept[kept.did == number]
        assert peak(held.time_arrival, held.time_end) <= cap, ("did", number)
    for g, (name, cap) in enumerate(zip(net.group_names, net.group_cap)):
        numbers = [n for n, gi in zip(net.did_numbers, net.did_group) if gi == g]
        held = kept[kept.did.isin(numbers) & (kept.outcome != "group_capacity")]
        assert peak(held.time_arrival, held.time_end) <= cap, ("group", name)


def peak(starts, ends) -> int:
    """Most intervals open at once; at equal times an end comes before a start (a freed channel is reused)."""
    starts, ends = np.asarray(starts, float), np.asarray(ends, float)
    keep = ends > starts
    times = np.concatenate((starts[keep], ends[keep]))
    delta = np.concatenate((np.ones(keep.sum()), -np.ones(keep.sum())))
    order = np.lexsort((delta, times))
    return int(np.cumsum(delta[order]).max()) if times.size else 0


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=scenarios())
def test_invariants_hold_on_random_scenarios(data):
    scenario = simroute.load_scenario(data, name="hypothesis.yaml")  # the strategy draws valid scenarios only
    result = simroute.simulate(scenario, audit=True)  # raises CapacityViolation if a cap is ever exceeded
    assert result.events_checked is not None
    check_invariants(data, result)


# ---------------------------------------------------------------------------------- the checks can fail


def _busy_pair():
    return {
        "name": "pair",
        "duration": "20m",
        "seed": 3,
        "trunks": [
            {
                "name": "a",
                "capacity_limit": 2,
                "rerouting_codes": [486, "capacity_limit"],
                "endpoint": {"responses": {486: 0.5}, "answer_delay": "2s"},
            },
            {"name": "b", "capacity_limit": 2, "rerouting_codes": "none"},
        ],
        "trunk_groups": [
            {"name": "g", "members": [{"trunk": "a", "priority": 1}, {"trunk": "b", "priority": 2}]}
        ],
        "dids": [
            {
                "number": "4930111",
                "route": {"group": "g"},
                "traffic": {"calls_per_hour": 600, "holding_time": "1m"},
            }
        ],
    }


def test_a_busy_pair_passes_and_reroutes():
    data = _busy_pair()
    result = simroute.simulate(data, audit=True)
    check_invariants(data, result)
    assert (result.attempts.routing_attempt == 2).sum() > 20  # re-routing happened, and was checked


@pytest.mark.parametrize("corrupt", ["drop_reroute_code", "swap_priorities", "lower_cap", "break_count"])
def test_the_checks_catch_a_wrong_record(corrupt):
    """Tamper with a correct run's view of the world: each check must notice."""
    data = _busy_pair()
    result = simroute.simulate(data)
    if corrupt == "drop_reroute_code":  # pretend 486 is not in a's list: the re-routes become illegal
        a = result.network.trunk_names.index("a")
        result.network.reroute[a] = frozenset(result.network.reroute[a] - {486})
    elif corrupt == "swap_priorities":
        data["trunk_groups"][0]["members"][0]["priority"] = 3
    elif corrupt == "lower_cap":
        b = result.network.trunk_names.index("b")
        result.network.trunk_cap[b] = 1
    else:
        result.summary["kpis"]["outcomes"]["answered"] += 1
    with pytest.raises(AssertionError):
        check_invariants(data, result)


def test_audited_engine_notices_a_cap_breach(monkeypatch):
    """The audit is live: an engine that forgets to count a trunk seizure is caught at the next event."""
    from simroute.engine.core import CapacityViolation, Engine

    original = Engine._conclude

    def leaky(self, call):  # release a trunk channel twice on every failed attempt
        original(self, call)
        if call.cause != codes.ANSWERED:
            self.trunk_busy[call.order[call.k]] -= 1

    monkeypatch.setattr(Engine, "_conclude", leaky)
    with pytest.raises(CapacityViolation):
        simroute.simulate(_busy_pair(), audit=True)


def test_audited_engine_notices_a_channel_never_given_back(monkeypatch):
    """A hang-up that keeps its trunk channel breaches no cap on an unlimited trunk, but the run's end
    finds it still held."""
    from simroute.engine.core import CapacityViolation, Engine

    original = Engine._hang_up

    def keeps_channel(self, call):
        original(self, call)
        self.trunk_busy[call.order[call.k]] += 1

    data = {
        "name": "leak",
        "duration": "1h",
        "seed": 1,
        "trunks": [{"name": "t"}],
        "dids": [
            {"number": "4930", "route": {"trunk": "t"}, "traffic": {"erlangs": 2, "holding_time": "60s"}}
        ],
    }
    simroute.simulate(data, audit=True)  # the honest engine ends with nothing held
    monkeypatch.setattr(Engine, "_hang_up", keeps_channel)
    with pytest.raises(CapacityViolation, match="still held"):
        simroute.simulate(data, audit=True)


def test_no_call_arrives_after_the_horizon_with_steps_beyond_it():
    data = {
        "name": "late",
        "duration": "10m",
        "trunks": [{"name": "t"}],
        "dids": [
            {
                "number": "4930",
                "route": {"trunk": "t"},
                "traffic": {
                    "steps": [{"at": 0, "calls_per_hour": 600}, {"at": "2h", "calls_per_hour": 0}],
                    "holding_time": "1m",
                },
            }
        ],
    }
    result = simroute.simulate(data)
    assert (result.calls.time_arrival < 600).all(), result.calls.time_arrival.max()
