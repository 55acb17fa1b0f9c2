"""The SIP cross-check: the subset it refuses, the files it writes, the counts it compares, and (where
Kamailio and SIPp are installed: .ci/run installs them) the real run on scenarios/sip-lab.yaml."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import simroute
from simroute.crosscheck import kamailio, sipp
from simroute.crosscheck.compare import forbidden_paths, lab_counts, side_by_side
from simroute.crosscheck.lab import CrosscheckError, lab_of
from simroute.crosscheck.processes import free_udp_ports, tools_missing
from simroute.crosscheck.trace import MARGIN, draw_trace
from simroute.engine.rows import ROW
from simroute.records.attempts import Records
from simroute.scenario import codes

from ..paths import SCENARIOS

LAB = SCENARIOS / "sip-lab.yaml"


def lab_dict():
    import yaml

    return yaml.safe_load(LAB.read_text())


def test_the_bundled_lab_is_in_the_subset():
    lab = lab_of(simroute.load_scenario(LAB))
    assert [t.name for t in lab.trunks] == ["big", "small", "ringer", "backup"]
    assert lab.priorities() == [1, 2, 3]
    small = next(t for t in lab.trunks if t.name == "small")
    assert 503 in small.reroute_codes and small.reroute_timeout and small.reroute_capacity
    backup = next(t for t in lab.trunks if t.name == "backup")
    assert backup.capacity == 2 and not backup.reroute_codes


@pytest.mark.parametrize(
    "change, feature",
    [
        (
            lambda d: d.setdefault("faults", []).append(
                {"pop": "AUTO", "effect": "down", "at": "1m", "duration": "1m"}
            ),
            "faults",
        ),
        (lambda d: d["trunks"][0].update(kind="pstn", dst="4915112345678"), "kind 'pstn'"),
        (lambda d: d["trunks"][0]["endpoint"].update(no_response=0.1), "no_response"),
        (lambda d: d["trunks"][0]["endpoint"].update(channels=5), "endpoint.channels"),
        (lambda d: d["dids"][0].update(capacity_limit=3), "capacity_limit"),
        (lambda d: d["trunk_groups"][0].update(capacity_limit=3), "capacity_limit"),
    ],
)
def test_features_outside_the_subset_are_refused_by_name(change, feature):
    data = lab_dict()
    change(data)
    with pytest.raises(CrosscheckError, match=feature):
        lab_of(simroute.load_scenario(data))


def test_weights_become_whole_percentages():
    assert kamailio.percentages([70, 30]) == [70, 30]
    assert kamailio.percentages([1, 1, 1]) == [34, 33, 33]
    assert kamailio.percentages([65535, 0]) == [99, 1]
    assert sum(kamailio.percentages([5, 3, 2, 7, 11])) == 100


def test_generated_files_name_every_trunk_and_code():
    lab = lab_of(simroute.load_scenario(LAB))
    ports = dict(zip([t.name for t in lab.trunks], free_udp_ports(4)))
    assert 5060 not in ports.values()
    listing = kamailio.dispatcher_list(lab, ports)
    assert listing.count("\n1 sip:") == 2 and "weight=70;trunk=big" in listing and "\n3 sip:" in listing
    cfg = kamailio.config(lab, 40000, ports, "/tmp/x")
    assert "listen=udp:127.0.0.1:40000" in cfg and "t_set_fr($avp(tmo), $avp(tmo))" in cfg
    assert '$avp(trunk) == "small"' in cfg and '$var(cause) == "503"' in cfg
    assert "$avp(cap) = 2" in cfg  # the backup's dialog-profile limit
    uas = sipp.uas("small", [503])
    assert 'header="X-V-small:"' in uas and "503 Service Unavailable" in uas
    assert "X-V-ringer: [field6]" in sipp.uac(lab, [480, 503])


def test_the_trace_keeps_its_margins():
    lab = lab_of(simroute.load_scenario(LAB))
    trace = draw_trace(lab, seconds=600, rate_scale=1.0, seed=3, max_hold=20)
    timeouts = {t.name: t.ringing_timeout for t in lab.trunks}
    for call in trace.calls:
        for name, v in call.verdicts.items():
            if v.kind in ("answer", "reject"):
                assert v.delay <= timeouts[name] - MARGIN + 1e-9
    kinds = {v.kind for c in trace.calls for v in c.verdicts.values()}
    assert kinds == {"answer", "reject", "ring"}


def _records(rows, net):
    buf = bytearray()
    for r in rows:
        buf += ROW.pack(*r)
    return Records(bytes(buf), net)


def test_forbidden_paths_are_counted():
    scenario = simroute.load_scenario(LAB)
    lab = lab_of(scenario)
    net = simroute.simulate(scenario, seed=1, duration="1m").network
    nan = float("nan")
    big, small, ringer, backup = (t.index for t in lab.trunks)
    rows = [
        # call 0: backup (no re-routing) refused at capacity, then goes on anyway; and out of order
        (0, 1, 0, 1, 0, backup, 0.0, nan, 0.0, codes.TRUNK_CAPACITY, -1),
        (0, 2, 0, 1, 0, big, 0.0, 1.0, 5.0, codes.ANSWERED, -1),
        # call 1: a legal path big 486 -> small 503 -> ringer timeout -> backup answers
        (1, 1, 0, 1, 0, big, 1.0, nan, 1.2, 486, -1),
        (1, 2, 0, 1, 0, small, 1.2, nan, 1.3, 503, -1),
        (1, 3, 0, 1, 0, ringer, 1.3, nan, 7.3, codes.RINGING_TIMEOUT, -1),
        (1, 4, 0, 1, 0, backup, 7.3, 8.3, 20.0, codes.ANSWERED, -1),
    ]
    rec = _records(rows, net)
    found = forbidden_paths(rec, lab)
    assert found == {
        "after_final_cause": 1,
        "over_max_attempts": 0,
        "earlier_priority_later": 1,
        "trunk_tried_twice": 0,
    }
    counts = lab_counts(rec, lab)
    assert counts["big.failover_486"] == 1 and counts["small.failover_503"] == 1
    assert counts["ringer.failover_timeout"] == 1 and counts["backup.capacity_refusals"] == 1
    assert counts["backup.invites"] == 1 and counts["answered"] == 2


def test_agreement_is_exact_where_the_replications_agree_and_within_the_interval_elsewhere():
    sims = [{"a": 5.0, "b": float(x)} for x in np.random.default_rng(1).normal(50, 3, 20).round()]
    table = side_by_side({"a": 5.0, "b": 52.0}, sims).set_index("quantity")
    assert table.loc["a", "exact"] and table.loc["a", "agrees"]
    assert not table.loc["b", "exact"] and table.loc["b", "agrees"]
    assert not side_by_side({"a": 6.0, "b": 52.0}, sims).set_index("quantity").loc["a", "agrees"]
    assert not side_by_side({"a": 5.0, "b": 90.0}, sims).set_index("quantity").loc["b", "agrees"]


def test_the_cli_refuses_a_scenario_outside_the_subset(tmp_path):
    from simroute.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text((SCENARIOS / "pstn-fallback.yaml").read_text())
    assert main(["crosscheck", str(bad), "--sip"]) == 2


MISSING = tools_missing()


@pytest.mark.skipif(bool(MISSING), reason=f"not installed here: {', '.join(MISSING)} (.ci/run installs them)")
def test_kamailio_and_sipp_agree_with_simroute_on_the_bundled_lab(tmp_path, capsys):
    """The real run: 30 s of arrivals at 2 calls/s on loopback (about a minute in all, bounded)."""
    from simroute.crosscheck.run import crosscheck

    check = crosscheck(LAB, seconds=30, seed=11, replications=20, emit=tmp_path / "lab")
    table = check.table.set_index("quantity")
    print(check.table.to_string())
    assert not any(check.anomalies.values()), check.anomalies
    assert table.loc["calls", "kamailio"] == len(check.trace.calls) > 30
    for key in ("after_final_cause", "over_max_attempts", "earlier_priority_later", "trunk_tried_twice"):
        assert table.loc[f"forbidden.{key}", "kamailio"] == 0
    assert table.loc["ringer.ringing_timeouts", "exact"]  # settled by the trace, compared exactly
    assert check.agrees, table[~table["agrees"]].to_string()
    assert (tmp_path / "lab" / "kamailio.cfg").exists() and (tmp_path / "lab" / "trace.inf").exists()
    assert shutil.which("kamailio") or shutil.which("kamailio", path="/usr/sbin")


def test_the_level_is_family_wise_over_the_quantities_that_vary():
    from scipy import stats

    rng = np.random.default_rng(2)
    sims = [
        {"fixed": 3.0, **{f"q{i}": float(x) for i, x in enumerate(rng.normal(50, 3, 10))}} for _ in range(20)
    ]
    table = side_by_side({"fixed": 3.0}, sims).set_index("quantity")
    sd = np.std([s["q0"] for s in sims], ddof=1)
    each = 1 - 0.001 / 10  # ten quantities vary; the settled one does not count
    expected = stats.t.ppf(0.5 + each / 2, 19) * sd * np.sqrt(1 + 1 / 20)
    assert table.loc["q0", "tolerance"] == pytest.approx(expected, rel=1e-12)
    assert table.loc["fixed", "tolerance"] == 0.0
