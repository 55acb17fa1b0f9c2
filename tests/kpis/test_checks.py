"""Warnings in the summary: set-ups and results a planner could read wrongly, and none without cause
in the bundled scenarios."""

import pytest

import simroute

from ..paths import SCENARIOS


def scenario(**changes):
    base = {
        "name": "w",
        "duration": "2h",
        "warmup": "10m",
        "capacity_pools": [{"name": "pool"}],
        "trunks": [{"name": "t", "capacity_limit": 20}],
        "dids": [
            {
                "number": "4930",
                "route": {"trunk": "t"},
                "channels_included": 2,
                "dedicated_channels": 30,
                "capacity_pool": "pool",
                "traffic": {"erlangs": 5, "holding_time": {"dist": "exponential", "mean": "2m"}},
            }
        ],
    }
    base.update(changes)
    return base


def warnings_of(data, **kwargs):
    return simroute.simulate(data, seed=1, **kwargs).summary["warnings"]


def test_a_quiet_scenario_has_no_warnings():
    assert warnings_of(scenario()) == []


def test_a_did_without_channel_model_warns():
    data = scenario()
    for key in ("channels_included", "dedicated_channels", "capacity_pool"):
        del data["dids"][0][key]
    (warning,) = warnings_of(data)
    assert "DID 4930 has no channel model" in warning and "unlimited channels assumed" in warning


def test_a_trunk_cap_above_its_endpoint_channels_warns():
    data = scenario(trunks=[{"name": "t", "capacity_limit": 20, "endpoint": {"channels": 8}}])
    (warning,) = warnings_of(data)
    assert "capacity_limit 20 exceeds its endpoint's 8 channels" in warning
    same = [{"name": "t", "capacity_limit": 12, "endpoint": {"channels": 12}}]
    assert warnings_of(scenario(trunks=same)) == []


def test_explicit_ingress_shares_that_do_not_add_up_to_one_warn():
    two = [{"name": "FRA", "ingress_share": 0.6}, {"name": "AMS", "ingress_share": 0.6}]
    (warning,) = warnings_of(scenario(pops=two))
    assert "add up to 1.2, not 1" in warning and "FRA 50.0%" in warning
    assert (
        warnings_of(
            scenario(pops=[{"name": "FRA", "ingress_share": 0.7}, {"name": "AMS", "ingress_share": 0.3}])
        )
        == []
    )
    assert warnings_of(scenario(pops=[{"name": "FRA"}, {"name": "AMS"}])) == []  # absent: relative, equal


def test_a_trunk_often_at_its_cap_warns():
    data = scenario(trunks=[{"name": "t", "capacity_limit": 5}])
    warnings = warnings_of(data)
    assert len(warnings) == 1 and "trunk t is at its capacity_limit" in warnings[0]
    at_cap = simroute.simulate(data, seed=1).summary["trunks"]["t"]["time_congestion"]
    assert at_cap > 0.05 and f"{at_cap:.1%}" in warnings[0]


def test_a_ringing_timeout_ending_many_attempts_warns():
    slow = {"answer_delay": {"dist": "exponential", "mean": "20s"}}
    data = scenario(trunks=[{"name": "t", "capacity_limit": 20, "ringing_timeout": "10s", "endpoint": slow}])
    (warning,) = warnings_of(data)
    assert "the ringing timeout (10s) ends" in warning
    # replicated: from the means
    assert any("ringing timeout" in w for w in warnings_of(data, replications=2))


def test_the_cli_prints_warnings_after_the_table(capsys, tmp_path):
    import yaml

    from simroute.cli import main

    path = tmp_path / "w.yaml"
    path.write_text(yaml.safe_dump(scenario(trunks=[{"name": "t", "capacity_limit": 5}])))
    assert main(["run", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.index("warnings:") > out.index("trunks:")
    assert "  - trunk t is at its capacity_limit" in out


#: What each bundled scenario may warn about, and why (a warning with a cause the scenario shows).
EXPECTED = {
    "failover-chain.yaml": {
        "trunk primary is at its capacity_limit": "sequential hunting: the chain overflows by design",
        "trunk secondary is at its capacity_limit": "sequential hunting: the chain overflows by design",
        "trunk tertiary is at its capacity_limit": "sequential hunting: the chain overflows by design",
    },
    "pstn-fallback.yaml": {
        "trunk office-pbx: capacity_limit 8 exceeds": "the office PBX is full before the trunk: 486, to PSTN",
        "trunk office-pbx: the ringing timeout": "15 % of calls go unanswered at the office: rung out",
        "trunk duty-mobile: the ringing timeout": "the duty mobile misses 20 %: rung out",
    },
    "sip-lab.yaml": {  # the SIP cross-check's lab: Kamailio and SIPp have no DIDWW channels to match
        "DID 493012345600 has no channel model": "the lab checks routing only, against Kamailio",
        "trunk ringer: the ringing timeout": "the ringer answers 40 %: it is there to ring out",
        "trunk backup is at its capacity_limit": "the backup's limit of 2 binds by design",
    },
    "quickstart.yaml": {
        "trunk backup-sip: the ringing timeout": "the backup answers 90 %: the rest ring out",
    },
    "redial.yaml": {  # an overloaded hotline: its callers redial because the trunks are full
        "trunk primary is at its capacity_limit": "11 erlang on 12 channels: blocking is the subject",
        "trunk backup is at its capacity_limit": "the 4-channel backup takes the overflow",
        "trunk backup: the ringing timeout": "the backup's far end answers 90 %: the rest ring out",
    },
}


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenarios_warn_only_with_cause(path):
    warnings = simroute.simulate(path, duration="8h", records="none").summary["warnings"]
    allowed = EXPECTED.get(path.name, {})
    unexpected = [w for w in warnings if not any(w.startswith(prefix) for prefix in allowed)]
    assert unexpected == []
    if path.name != "sip-lab.yaml":  # every bundled DID has a DIDWW channel model
        assert not any("has no channel model" in w for w in warnings)
