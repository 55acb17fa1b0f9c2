"""Trace replay: a DID's calls from a file, the same calls in every replication, callers kept as the
text they are, endpoint verdicts from the trace, and clear errors for a bad trace."""

from __future__ import annotations

import pickle

import pytest

import simroute
from simroute.experiments.budget import expected_calls
from simroute.scenario import codes

TRACE = """time_start,duration,caller,endpoint.t
1.0,10,+491234,answer 2.0
2.5,5,0301234,reject 486 0.5
3.0,5,anonymous,ring
100,20,4930999,
"""


def scenario(folder, trace=TRACE, name="trace.csv"):
    (folder / "calls").mkdir(exist_ok=True)
    (folder / "calls" / name).write_text(trace)
    path = folder / "replay.yaml"
    path.write_text(
        "name: replay\nduration: 1h\n"
        "trunks:\n  - {name: t, ringing_timeout: 10s, rerouting_codes: none, endpoint: {answer_delay: 1s}}\n"
        f"dids:\n  - {{number: '4930123', route: {{trunk: t}}, traffic: {{replay: calls/{name}}}}}\n"
    )
    return path


def test_replayed_calls_keep_their_times_durations_callers_and_verdicts(tmp_path, monkeypatch):
    monkeypatch.chdir("/")  # the trace's path resolves against the scenario file, not the working folder
    result = simroute.simulate(scenario(tmp_path), seed=1)
    a = result.attempts
    assert list(a["caller"]) == ["+491234", "0301234", "anonymous", "4930999"]
    assert list(a["time_start"]) == [1.0, 2.5, 3.0, 100.0]
    assert list(a["cause"]) == [200, 486, 1505, 200]
    assert list(a["time_connect"].fillna(-1)) == [3.0, -1, -1, 101.0]  # the trace's 2 s; the model's 1 s
    assert list(a["time_end"]) == [13.0, 3.0, 13.0, 121.0]


def test_every_replication_replays_the_same_calls(tmp_path):
    many = simroute.simulate(scenario(tmp_path), seed=3, replications=4)
    assert set(many.replications["kpis.offered"]) == {4.0}
    assert set(many.replications["kpis.answered"]) == {2.0}


def test_the_trace_travels_inside_the_scenario(tmp_path):
    loaded = simroute.load_scenario(scenario(tmp_path))
    (tmp_path / "calls" / "trace.csv").unlink()  # a worker without the file still has the calls
    copy = pickle.loads(pickle.dumps(loaded))
    assert len(copy.dids[0].traffic.trace) == 4
    assert simroute.simulate(copy, seed=1).summary["kpis"]["offered"] == 4


def test_the_event_budget_counts_the_trace(tmp_path):
    assert expected_calls(simroute.load_scenario(scenario(tmp_path)), duration="50s") == 3


@pytest.mark.parametrize(
    "trace, message",
    [
        ("time_start,duration\n1.0,abc\n", "row 2, duration: 'abc' is not a number"),
        ("time_start,duration\n-1,3\n", "row 2, time_start"),
        ("duration\n3\n", "lacks the column"),
        ("time_start,duration,who\n1,2,x\n", "unknown column"),
        ("time_start,duration,endpoint.t\n1,2,reject 200 1\n", "not a SIP error code"),
        ("time_start,duration,endpoint.t\n1,2,maybe\n", "is not 'answer <delay>'"),
        ("time_start,duration,endpoint.nope\n1,2,ring\n", "unknown trunk"),
        ("", "empty"),
    ],
)
def test_a_bad_trace_is_refused_naming_the_file_row_and_column(tmp_path, trace, message):
    with pytest.raises(simroute.ScenarioError, match="dids\\[0\\].traffic.replay") as err:
        simroute.load_scenario(scenario(tmp_path, trace))
    assert message in str(err.value) and "trace.csv" in str(err.value)


def test_replay_excludes_a_rate(tmp_path):
    path = scenario(tmp_path)
    path.write_text(
        path.read_text().replace("{replay: calls/trace.csv}", "{replay: calls/trace.csv, calls_per_hour: 5}")
    )
    with pytest.raises(simroute.ScenarioError, match="drop calls_per_hour"):
        simroute.load_scenario(path)


def test_a_call_refused_at_its_did_uses_up_its_own_trace_row(tmp_path):
    """Each replayed call keeps its own row's verdict, even when an earlier call was refused before any
    trunk (here by the DID's cap of one call at a time)."""
    trace = "time_start,duration,endpoint.t\n1.0,50,answer 1\n2.0,5,reject 503 0.5\n60.0,5,reject 486 0.5\n"
    path = scenario(tmp_path, trace)
    path.write_text(path.read_text().replace("traffic: {replay", "capacity_limit: 1, traffic: {replay"))
    a = simroute.simulate(path, seed=1).attempts
    assert list(a["time_start"]) == [1.0, 2.0, 60.0]
    assert list(a["cause"]) == [200, codes.DID_CAPACITY, 486]  # not the refused call's 503
