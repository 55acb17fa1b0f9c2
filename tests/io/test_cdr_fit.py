"""DIDWW-format CDRs out, and simroute fit reading them (and DIDWW's own exports) back."""

from __future__ import annotations

import gzip
import math
import pickle

import numpy as np
import pandas as pd
import pytest
import yaml

import simroute
from simroute.cli import main
from simroute.io.cdr import DEFAULT_START, DIDWW_2026_COLUMNS, group_calls, read_cdr, write_didww
from simroute.io.fit import fit_cdr
from tests.paths import ROOT
from tests.stats import LEVEL, assert_binomial

GO_EXPORT = ROOT / "tests/fixtures/didww/go-sdk/testdata/fixtures/exports/download.csv"
PROFILE = [0.2, 0.2, 0.2, 0.2, 0.3, 0.5, 0.8, 1.2, 1.6, 1.8, 1.8, 1.6, 1.4, 1.5, 1.7, 1.7, 1.5, 1.3, 1.0, 0.8]
PROFILE += [0.6, 0.4, 0.3, 0.2]
BASE, MEAN_HOLD, TIMEOUT, DELAY, P_ANSWER, P_BUSY = 200.0, 180.0, 20.0, 4.0, 0.9, 0.05


def _scenario(profile=PROFILE, holding=None) -> dict:
    traffic = {
        "calls_per_hour": BASE,
        "holding_time": holding or {"dist": "lognormal", "mean": MEAN_HOLD, "sd": 120},
    }
    if profile is not None:
        traffic["profile"] = profile
    return {
        "name": "round trip",
        "duration": "24h",
        "seed": 11,
        "trunks": [
            {
                "name": "office",
                "ringing_timeout": TIMEOUT,
                "rerouting_codes": ["ringing_timeout", 486],
                "endpoint": {
                    "answer_probability": P_ANSWER,
                    "answer_delay": {"dist": "exponential", "mean": DELAY},
                    "responses": {486: P_BUSY, 603: 0.01},
                },
            },
            {"name": "backup"},
        ],
        "trunk_groups": [
            {"name": "g", "members": [{"trunk": "office", "priority": 1}, {"trunk": "backup", "priority": 2}]}
        ],
        "dids": [{"number": "4930123456", "route": {"group": "g"}, "traffic": traffic}],
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A day of the round-trip scenario, written as DIDWW's export (gzip)."""
    result = simroute.simulate(_scenario())
    path = write_didww(result, tmp_path_factory.mktemp("cdr") / "cdr.csv.gz")
    return result, path


def test_the_export_has_didww_columns_in_order_and_billed_seconds(exported):
    result, path = exported
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert tuple(frame.columns) == DIDWW_2026_COLUMNS
    assert len(frame) == len(result.attempts)
    answered = frame["Disconnect Code"] == "200"
    billed = frame["Duration (sec)"].astype(int)
    true = result.attempts["duration"].to_numpy()
    assert (billed[answered].to_numpy() == np.ceil(true[answered.to_numpy()])).all()  # per started second
    assert (billed[~answered] == 0).all()
    first = pd.Timestamp(DEFAULT_START, tz="UTC") + pd.Timedelta(
        seconds=math.floor(result.attempts["time_start"][0])
    )
    assert frame["Date/Time Start (UTC)"][0] == first.strftime("%Y-%m-%d %H:%M:%S")
    reasons = set(frame["Response"])
    assert {"Ringing timeout", "Busy Here", "Decline"} <= reasons
    assert set(frame.loc[frame["Response"] == "Ringing timeout", "Disconnect Initiator"]) == {"Switch"}
    assert frame["Source"].str.fullmatch(r"[0-9]+").all()


def test_attempts_are_grouped_into_the_calls_that_made_them(exported):
    result, path = exported
    cdr, fmt = read_cdr(path)
    assert fmt == "didww-2026"
    call = group_calls(cdr)
    assert call.max() + 1 == len(result.calls)
    # the same partition as the simulator's own call ids (attempt rows are in the same order)
    ids = result.attempts["call_id"].to_numpy()
    assert len(set(zip(call, ids))) == len(result.calls)


def test_fit_recovers_rate_profile_and_mean_holding_time_within_their_intervals(exported):
    _, path = exported
    fitted = fit_cdr(path, resolution="15min", level=LEVEL, alpha=1 - LEVEL)
    (did,) = fitted["fit"]["dids"].values()
    mean_profile = sum(PROFILE) / 24
    lo, hi = did["calls_per_hour_ci"]
    assert lo <= BASE * mean_profile <= hi, (lo, BASE * mean_profile, hi)
    assert not did["constant_rate_test"]["constant"]
    (block,) = fitted["dids"]
    assert len(block["traffic"]["profile"]) == 24
    for hour, ((lo, hi), p) in enumerate(zip(did["profile_ci"], PROFILE)):
        assert lo <= p / mean_profile <= hi, (hour, lo, p / mean_profile, hi)
    lo, hi = did["holding_time"]["mean_ci"]
    assert lo <= MEAN_HOLD <= hi, (lo, hi)
    assert did["holding_time"]["chosen"] == "lognormal"
    assert block["traffic"]["holding_time"]["dist"] == "lognormal"


def test_whole_seconds_are_corrected_by_half_a_second(exported):
    """Billed per started second, the raw mean is half a second high: the fit removes exactly that."""
    _, path = exported
    cdr, _ = read_cdr(path)
    raw = cdr.loc[cdr["code"] == 200, "duration"].mean()
    report = fit_cdr(path)["fit"]["dids"]["4930123456"]["holding_time"]
    assert report["mean"] == pytest.approx(raw - 0.5, abs=1e-3)


def test_trunk_endpoint_is_recovered(exported):
    _, path = exported
    fitted = fit_cdr(path, level=LEVEL)
    office = {t["name"]: t["endpoint"] for t in fitted["trunks"]}["office"]
    report = fitted["fit"]["trunks"]["office"]
    n = report["attempts"]  # office has no capacity limit: every attempt reaches its endpoint
    assert_binomial(round(office["responses"][486] * n), n, P_BUSY, what="486 share")
    ringing = report["answered"] + report["ringing_timeouts"]
    expected = P_ANSWER * (1 - math.exp(-TIMEOUT / DELAY))  # answers after the timeout are timeouts
    assert_binomial(report["answered"], ringing, expected, what="answer probability")
    lo, hi = report["answer_delay"]["mean_ci"]
    # answers are the delays below the timeout: the exponential's mean truncated at TIMEOUT
    truncated = DELAY - TIMEOUT * math.exp(-TIMEOUT / DELAY) / (1 - math.exp(-TIMEOUT / DELAY))
    assert lo <= truncated <= hi, (lo, truncated, hi)


def test_a_constant_rate_is_recognised_and_exponential_chosen(tmp_path):
    result = simroute.simulate(_scenario(profile=None, holding={"dist": "exponential", "mean": MEAN_HOLD}))
    path = write_didww(result, tmp_path / "cdr.csv")
    fitted = fit_cdr(path, level=LEVEL, alpha=1 - LEVEL)
    (did,) = fitted["fit"]["dids"].values()
    assert did["constant_rate_test"]["constant"]
    (block,) = fitted["dids"]
    assert "profile" not in block["traffic"] and "steps" not in block["traffic"]
    assert block["traffic"]["holding_time"]["dist"] == "exponential"
    lo, hi = did["calls_per_hour_ci"]
    assert lo <= BASE <= hi


def test_cli_run_didww_cdrs_then_fit_without_options(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(_scenario()))
    assert (
        main(
            [
                "run",
                str(scenario),
                "--duration",
                "6h",
                "--out",
                str(tmp_path / "out"),
                "--cdr-format",
                "didww",
            ]
        )
        == 0
    )
    assert (tmp_path / "out" / "cdr.csv").exists() and not (tmp_path / "out" / "attempts.parquet").exists()
    assert main(["fit", str(tmp_path / "out" / "cdr.csv"), "-o", str(tmp_path / "traffic.yaml")]) == 0
    fitted = yaml.safe_load((tmp_path / "traffic.yaml").read_text())
    # a trace shorter than a day with a varying rate: steps at the resolution, which a scenario loads
    traffic = fitted["dids"][0]["traffic"]
    assert len(traffic["steps"]) == 24
    merged = _scenario()
    merged["dids"][0]["traffic"] = traffic
    merged["trunks"][0]["endpoint"] = fitted["trunks"][1]["endpoint"]
    simroute.load_scenario(merged)


def test_didww_sdk_export_and_a_2017_export_are_read(tmp_path):
    cdr, fmt = read_cdr(GO_EXPORT)
    assert fmt == "didww-go-sdk" and cdr["source"][0] == "+1234567890" and cdr["duration"][0] == 295
    header = (
        "Date/Time (UTC),Source,DID,Destination,Duration (secs),Disconnect Initiator,Disconnect Code,"
        "Response,TollFree Amount (USD),Termination Amount (USD),Metered Channels Amount (USD),Customer ID,"
        "Sell Amount (Points)\n"
    )
    rows = [
        "2017-06-26 01:11:42,0049301,97286259404,sip:a@example.com,0,Destination,486,Busy Here,0,0,0,1,0",
        "2017-06-26 01:11:45,0049301,97286259404,sip:b@example.com,61,Destination,200,OK,0,0,0,1,0",
        "2017-06-26 01:30:00,0049301,97286259404,sip:a@example.com,30,Destination,200,OK,0,0,0,1,0",
        "2017-06-26 01:31:00,,97286259404,sip:a@example.com,0,Destination,404,Not Found,0,0,0,1,0",
    ]
    path = tmp_path / "old.csv.gz"
    path.write_bytes(gzip.compress((header + "\n".join(rows) + "\n").encode()))
    cdr, fmt = read_cdr(path)
    assert fmt == "didww-2017"
    assert list(cdr["source"]) == ["0049301", "0049301", "0049301", ""]  # callers stay strings
    assert list(group_calls(cdr)) == [0, 0, 1, 2]  # a retry 3 s after a 486 is the same call
    fitted = fit_cdr(path, resolution="1h")
    assert fitted["fit"]["calls"] == 3
    assert {t["name"] for t in fitted["trunks"]} == {"sip:a@example.com", "sip:b@example.com"}


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("unknown.csv", b"when,who\n1,2\n", "not a known CDR export"),
        ("empty.csv", b"", "the file is empty"),
        ("fake.csv.gz", b"Date/Time (UTC),DID\n", "not a gzip file"),
        ("cut.csv.gz", gzip.compress(b"Date/Time (UTC),DID,Duration (secs)\n" * 50)[:30], "damaged gzip"),
        (
            "partial.csv",
            b"Date/Time Start (UTC),Date/Time End (UTC),Source\n2026-01-01 00:00:00,2026-01-01 00:00:01,1\n",
            "lacks 'Destination DID'",
        ),
        (
            "baddate.csv",
            b"Date/Time (UTC),DID,Duration (secs)\nyesterday,1,2\n",
            "row 2, column 'Date/Time (UTC)'",
        ),
        ("header.csv", b"Date/Time (UTC),DID,Duration (secs)\n", "no CDR rows"),
    ],
)
def test_bad_cdr_files_get_one_line_and_exit_2(tmp_path, capsys, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    assert main(["fit", str(path), "-o", str(tmp_path / "t.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and str(path) in err, err
    assert not (tmp_path / "t.yaml").exists()


def test_the_error_lists_the_required_columns(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_bytes(b"a,b\n1,2\n")
    main(["fit", str(path)])
    err = capsys.readouterr().err
    for column in ("Date/Time Start (UTC)", "Destination DID", "Date/Time (UTC)", "Duration (secs)"):
        assert column in err


# --- replaying DIDWW exports -----------------------------------------------------------------------


def _two_dids() -> dict:
    s = _scenario(profile=None)
    s["duration"] = "3h"
    second = {
        **s["dids"][0],
        "number": "4930999999",
        "traffic": {**s["dids"][0]["traffic"], "calls_per_hour": 60},
    }
    s["dids"].append(second)
    return s


def test_replaying_didww_cdrs_gives_the_same_offered_calls_call_for_call(tmp_path):
    original = simroute.simulate(_two_dids())
    write_didww(original, tmp_path / "traces" / "cdr.csv.gz")
    replay = _two_dids()
    for did in replay["dids"]:
        did["traffic"] = {"replay": "traces/cdr.csv.gz"}  # relative: against the scenario file
    path = tmp_path / "replay.yaml"
    path.write_text(yaml.safe_dump(replay))
    want = original.calls.sort_values(["did", "time_arrival"], kind="stable")
    loaded = pickle.loads(pickle.dumps(simroute.load_scenario(path)))  # as a Dask worker receives it
    (tmp_path / "traces" / "cdr.csv.gz").unlink()  # the trace travels inside the scenario
    for seed in (1, 2):  # the same calls in every replication
        got = simroute.simulate(loaded, seed=seed).calls.sort_values(["did", "time_arrival"], kind="stable")
        assert len(got) == len(want)
        assert list(got["did"]) == list(want["did"])
        assert (
            got["time_arrival"].to_numpy() == np.floor(want["time_arrival"].to_numpy())
        ).all()  # to the second
        assert list(got["caller"]) == list(want["caller"])
        # the export's endpoint verdicts replay too: every call ends as it did
        assert list(got["outcome"]) == list(want["outcome"])


def test_a_replayed_export_keeps_callers_as_text(tmp_path):
    header = ",".join(DIDWW_2026_COLUMNS) + "\n"
    rows = [
        [
            "2026-03-02 10:00:00",
            "2026-03-02 10:00:02",
            "2026-03-02 10:01:00",
            "Success",
            "+4930111",
            "",
            "4930123",
        ],
        ["2026-03-02 10:05:00", "", "2026-03-02 10:05:01", "Failed", "0049301", "", "4930123"],
        ["2026-03-02 10:06:00", "2026-03-02 10:06:01", "2026-03-02 10:07:00", "Success", "", "", "4930123"],
    ]
    tails = [["58", "1", "200", "OK", "Origination", "t"], ["0", "1", "486", "Busy Here", "Destination", "t"]]
    tails.append(["59", "1", "200", "OK", "Origination", "t"])
    lines = [",".join(r + t + ["", "", "", "0", "0"]) for r, t in zip(rows, tails)]
    (tmp_path / "cdr.csv").write_text(header + "\n".join(lines) + "\n")
    (tmp_path / "s.yaml").write_text(
        "name: r\nduration: 1d\ntrunks: [{name: t, rerouting_codes: none}]\n"
        "dids: [{number: '4930123', route: {trunk: t}, traffic: {replay: cdr.csv}}]\n"
    )
    a = simroute.simulate(tmp_path / "s.yaml").attempts
    assert list(a["caller"]) == ["+4930111", "0049301", ""]
    assert list(a["time_start"]) == [36000.0, 36300.0, 36360.0]  # from midnight UTC of the first call
    assert list(a["cause"]) == [200, 486, 200]
    assert list(a["duration"]) == [58.0, 0.0, 59.0]


def test_replaying_a_did_the_export_lacks_is_one_clear_line(tmp_path, capsys):
    write_didww(simroute.simulate(_two_dids(), duration="10m"), tmp_path / "cdr.csv")
    s = _two_dids()
    s["dids"][0]["number"] = "4930555"
    s["dids"][0]["traffic"] = {"replay": "cdr.csv"}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(s))
    assert main(["run", str(tmp_path / "s.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dids[0].traffic.replay" in err and "no call to DID 4930555" in err
