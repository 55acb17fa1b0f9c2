"""KPIs per interval of the local clock, the busy hour, and the scenario's start_time (issue 10 item 6)."""

import json

import numpy as np
import pytest

import simroute
from simroute.errors import ScenarioError
from simroute.kpis.periods import hour_windows, interval_windows
from simroute.kpis.tally import pieces

from ..paths import SCENARIOS


def test_intervals_are_cut_on_the_local_clock():
    # time 0 at 08:30 local: cuts at 09:00, 10:00... i.e. 30 min, 90 min... after time 0
    assert interval_windows((0.0, 3 * 3600.0), 3600.0, 8.5 * 3600) == [
        (0.0, 1800.0),
        (1800.0, 5400.0),
        (5400.0, 9000.0),
        (9000.0, 10800.0),
    ]
    assert hour_windows((600.0, 3 * 3600.0), 0.0) == [(3600.0, 7200.0), (7200.0, 10800.0)]
    assert interval_windows((0.0, 3600.0), 900.0, 0.0)[-1] == (2700.0, 3600.0)


def test_overlapping_windows_are_counted_as_disjoint_pieces():
    cut, of = pieces([(100.0, 400.0), (0.0, 200.0), (200.0, 300.0), (500.0, 600.0)])
    assert cut == [(0.0, 100.0), (100.0, 200.0), (200.0, 300.0), (300.0, 400.0), (500.0, 600.0)]
    assert [list(r) for r in of] == [[1, 2, 3], [0, 1], [2], [4]]


def test_interval_table_adds_up_to_the_summary_and_names_the_busy_hour():
    result = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=1)
    s, table = result.summary, result.intervals("1h")
    assert table.offered.sum() == s["kpis"]["offered"] and table.answered.sum() == s["kpis"]["answered"]
    assert table.blocked.sum() == s["kpis"]["blocked"]
    weights = (table.end - table.start) / (s["duration"] - s["warmup"])
    for name, trunk in s["trunks"].items():
        assert (table[f"{name}.carried_erlangs"] * weights).sum() == pytest.approx(trunk["carried_erlangs"])
        assert table[f"{name}.peak_concurrent"].max() == trunk["peak_concurrent"]
    # the busy hour is the whole clock hour with the most carried traffic, with that hour's KPIs
    whole = table[(table.end - table.start) == 3600]
    best = whole.loc[whole.carried_erlangs.idxmax()]
    busy = s["busy_hour"]
    assert busy["start"] == f"{best.name:%H:%M}" and busy["days"] == 1
    assert busy["carried_erlangs"] == pytest.approx(best.carried_erlangs)
    assert busy["offered"] == best.offered and busy["blocking_probability"] == best.blocking_probability
    quarter = result.intervals("15min")
    assert len(quarter) == 14 and quarter.offered.sum() == s["kpis"]["offered"]


def test_busy_hour_is_averaged_over_days():
    result = simroute.simulate(SCENARIOS / "contact-centre.yaml", seed=3)
    table = result.intervals("1h")
    busy = result.summary["busy_hour"]
    assert busy["days"] == 2
    hour = table[[f"{t:%H:%M}" == busy["start"] for t in table.index]]
    assert len(hour) == 2
    assert busy["carried_erlangs"] == pytest.approx(hour.carried_erlangs.mean())
    assert busy["offered"] == pytest.approx(hour.offered.mean())
    whole = table[(table.end - table.start) == 3600]
    by_hour = whole.groupby(lambda t: t.hour).carried_erlangs.mean()
    assert by_hour.idxmax() == int(busy["start"][:2])


def one_hour_of_traffic(start_time=None, **pbx):
    """Calls only in local hour 10; time 0 at ``start_time``."""
    profile = [0.0] * 24
    profile[10] = 1.0
    scenario = {
        "name": "clock",
        "duration": "6h",
        "trunks": [{"name": "t"}],
        "dids": [
            {
                "number": "4930",
                "route": {"trunk": "t"},
                "channels_included": 100,
                "traffic": {"calls_per_hour": 600, "holding_time": "1m", "profile": profile},
            }
        ],
    }
    if pbx:
        scenario["trunks"] = [{"name": "t", "kind": "pbx", "pbx": pbx}]
    if start_time is not None:
        scenario["start_time"] = start_time
    return scenario


def test_daily_profiles_and_staffing_follow_the_local_clock_of_start_time():
    result = simroute.simulate(one_hour_of_traffic("2025-03-10 08:00 Europe/Berlin"), seed=1)
    arrivals = result.calls.time_arrival
    assert len(arrivals) > 400
    assert arrivals.min() >= 2 * 3600 and arrivals.max() < 3 * 3600  # 10:00-11:00 local
    assert result.summary["busy_hour"]["start"] == "10:00"
    assert result.summary["start_time"] == "2025-03-10T08:00:00+01:00"
    assert result.intervals("1h").index[0].isoformat() == "2025-03-10T08:00:00+01:00"
    midnight = simroute.simulate(one_hour_of_traffic(), seed=1)  # default: midnight UTC, hour 10 is later
    assert len(midnight.calls) == 0 and midnight.summary["start_time"] == "2026-01-05T00:00:00+00:00"
    agents = [0] * 24
    agents[9] = 10
    staffed = simroute.simulate(
        one_hour_of_traffic("2025-03-10T08:00:00+00:00", agents=agents, patience="30s"), seed=1
    )
    queue = staffed.summary["trunks"]["t"]["queue"]
    assert queue["agents_on_duty"] == pytest.approx(10 / 6)  # one local hour (09:00) of the six staffed
    assert queue["served"] == 0  # the calls come at 10:00, when no agent is on duty


def test_a_weekly_profile_starts_on_local_monday_midnight():
    week = [0.0] * 7
    week[2] = 1.0  # Wednesday
    scenario = one_hour_of_traffic("2025-03-11 12:00 UTC")  # a Tuesday noon
    scenario["duration"] = "3d"
    scenario["dids"][0]["traffic"]["profile"] = week
    arrivals = simroute.simulate(scenario, seed=2).calls.time_arrival
    assert len(arrivals) > 1000
    assert arrivals.min() >= 12 * 3600 and arrivals.max() < 36 * 3600  # Wednesday 00:00-24:00


def test_a_bad_start_time_names_the_field():
    for bad, why in (
        ("2025-02-30", "not a valid date"),
        ("tomorrow", "expected a date and time"),
        ("2025-03-10 08:00 Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        ("2025-03-10T08:00+01:00 Europe/Berlin", "not both"),
    ):
        with pytest.raises(ScenarioError, match=f"start_time: .*{why}"):
            simroute.load_scenario({**one_hour_of_traffic(), "start_time": bad})
    with pytest.raises(ScenarioError, match="interval"):
        simroute.simulate(one_hour_of_traffic(), interval="0s")


@pytest.mark.parametrize("mode", ["none", "calls"])
def test_busy_hour_and_intervals_are_the_same_in_live_runs(mode):
    kept = simroute.simulate(SCENARIOS / "contact-centre.yaml", seed=2, duration="30h", interval="2h")
    live = simroute.simulate(
        SCENARIOS / "contact-centre.yaml", seed=2, duration="30h", interval="2h", records=mode
    )
    a, b = kept.summary["busy_hour"], live.summary["busy_hour"]
    assert a["start"] == b["start"] and a["days"] == b["days"]
    for key in ("offered", "answered", "blocked", "served", "carried_erlangs", "blocking_probability"):
        assert b[key] == pytest.approx(a[key], rel=1e-9), key
    ta, tb = kept.intervals("2h"), live.intervals("2h")
    assert list(ta.index) == list(tb.index) and len(ta) == 15
    for column in ta.columns:
        assert np.allclose(ta[column].astype(float), tb[column].astype(float), rtol=1e-9, equal_nan=True), (
            column
        )
    with pytest.raises(simroute.SimrouteError, match="intervals of 1h need attempt records"):
        live.intervals("1h")


def test_replications_average_the_busy_hour_with_an_interval():
    result = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=4, replications=3, interval="1h")
    s = result.summary
    assert isinstance(s["busy_hour"]["start"], str) and s["ci95"]["busy_hour"]["carried_erlangs"] > 0
    assert "busy_hour.blocking_probability" in result.replications.columns
    means = result.replications["busy_hour.carried_erlangs"].mean()
    assert s["busy_hour"]["carried_erlangs"] == pytest.approx(means)
    assert len(s["intervals"]) == 4 and s["interval"] == 3600


def test_cli_prints_and_writes_the_intervals(tmp_path, capsys):
    from simroute.cli import main

    quickstart = str(SCENARIOS / "quickstart.yaml")
    assert main(["run", quickstart, "--interval", "1h", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "per interval of 3600s" in out and "busy hour " in out
    assert (tmp_path / "out" / "intervals.csv").read_text().count("\n") == 5  # header + 4 intervals
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert len(summary["intervals"]) == 4 and summary["busy_hour"]["start"] in ("01:00", "02:00", "03:00")
    assert main(["run", quickstart, "--interval", "0s"]) != 0


def test_the_busy_hour_covers_the_redial_kpis_in_every_records_mode():
    kept = simroute.simulate(SCENARIOS / "redial.yaml", seed=1, duration="4h", interval="30m")
    live = simroute.simulate(SCENARIOS / "redial.yaml", seed=1, duration="4h", interval="30m", records="none")
    a, b = kept.summary["busy_hour"], live.summary["busy_hour"]
    assert a["start"] == b["start"] and a["fresh_offered"] > 0 and a["retries"] > 0
    for key in ("fresh_offered", "retries", "retrial_rate", "final_blocking", "mean_retry_orbit"):
        assert b[key] == pytest.approx(a[key], rel=1e-9), key
    assert list(kept.intervals("30m").offered) == list(live.intervals("30m").offered)


def test_didww_format_cdrs_stamp_utc_from_the_local_start_time():
    from simroute.io.cdr import didww_frame

    result = simroute.simulate(one_hour_of_traffic("2025-03-10 08:00 Europe/Berlin"), seed=1)
    first = didww_frame(result).iloc[0]["Date/Time Start (UTC)"]
    arrival = int(result.calls.time_arrival.min())  # 10:00 local = 09:00 UTC, 2 h after time 0
    assert first == f"2025-03-10 {7 + arrival // 3600:02d}:{arrival % 3600 // 60:02d}:{arrival % 60:02d}"
