"""Sweeps: fields by names (and helpful errors), the grid on common random numbers, the tidy table, the
journal that lets an interrupted sweep resume, the same numbers on one process, a pool and Dask."""

import json

import pandas as pd
import pytest

import simroute
from simroute.cli import main
from simroute.errors import SimrouteError
from simroute.experiments.intervals import estimates
from simroute.experiments.sweep import JOURNAL
from simroute.experiments.vary import VaryError, apply, parse_values, resolve

from ..paths import SCENARIOS

QUICKSTART = SCENARIOS / "quickstart.yaml"


def single_trunk(channels=10, erlangs=6.0, hours=2.0):
    return {
        "name": "single",
        "duration": 3600 * hours + 1800,
        "warmup": "30m",
        "seed": 11,
        "trunks": [{"name": "t", "capacity_limit": channels, "rerouting_codes": "none"}],
        "dids": [
            {
                "number": "1",
                "route": {"trunk": "t"},
                "traffic": {"erlangs": erlangs, "holding_time": {"dist": "exponential", "mean": 180}},
            }
        ],
    }


@pytest.fixture(scope="module")
def quickstart():
    return simroute.load_scenario(QUICKSTART)


@pytest.mark.parametrize(
    "path, message",
    [
        (
            "trunks.pbx-frx.capacity_limit",
            "no trunk named 'pbx-frx' in trunks (known: pbx-fra, pbx-ams, backup-sip)",
        ),
        ("trunks.pbx-fra.capacty_limit", "trunks.pbx-fra has no field 'capacty_limit' (fields: name, kind,"),
        ("pops.MUC.ingress_share", "no pop named 'MUC' in pops (known: FRA, AMS)"),
        ("dids.4930.traffic.calls_per_hour", "no did named '4930' in dids (known: 493012345678)"),
        (
            "trunk_groups.office.members.pbx-xx.weight",
            "no member named 'pbx-xx' in trunk_groups.office.members",
        ),
        ("trunks.pbx-fra", "pbx-fra is a block of fields"),
        ("trunks.pbx-fra.capacity_limit.x", "trunks.pbx-fra.capacity_limit is a value"),
    ],
)
def test_a_bad_path_names_the_wrong_part_and_what_exists(quickstart, path, message):
    with pytest.raises(VaryError) as err:
        resolve(quickstart, path)
    assert message in str(err.value)


def test_paths_address_fields_by_names(quickstart):
    for path, value, read in [
        ("trunks.pbx-fra.capacity_limit", 42, lambda s: s.trunks[0].capacity_limit),
        ("dids.493012345678.traffic.calls_per_hour", 900, lambda s: s.dids[0].traffic.calls_per_hour),
        ("trunk_groups.office.members.pbx-ams.weight", 5, lambda s: s.trunk_groups[0].members[1].weight),
        ("pops.FRA.ingress_share", 0.25, lambda s: s.pops[0].ingress_share),
        ("faults.0.duration", 60, lambda s: s.faults[0].duration),
    ]:
        assert read(apply(quickstart, [(resolve(quickstart, path), value)])) == value


def test_a_value_the_scenario_refuses_is_reported_like_a_bad_file(quickstart):
    with pytest.raises(SimrouteError, match="trunks.0.capacity_limit|trunks\\[0\\].capacity_limit"):
        apply(quickstart, [(resolve(quickstart, "trunks.pbx-fra.capacity_limit"), 0)])


def test_values_are_lists_or_inclusive_ranges():
    assert parse_values("20,30,40") == [20, 30, 40]
    assert parse_values("20:60:10") == [20, 30, 40, 50, 60]
    assert parse_values("1:3") == [1, 2, 3]
    assert parse_values("0.5:1:0.25") == [0.5, 0.75, 1.0]
    for bad in ("", "5:1", "1:5:0", "a:b"):
        with pytest.raises(VaryError):
            parse_values(bad)


def test_sweep_table_has_a_row_per_point_with_intervals_on_common_random_numbers():
    table = simroute.sweep(
        single_trunk(),
        {"trunks.t.capacity_limit": [8, 12], "trunks.t.description": ["a", "b"]},
        replications=4,
        jobs=1,
    )
    assert list(table["trunks.t.capacity_limit"]) == [8, 8, 12, 12]
    assert (table["replications"] == 4).all()
    for kpi in ("kpis.loss_probability", "trunks.t.carried_erlangs"):
        assert (table[f"{kpi}.low"] <= table[kpi]).all() and (table[kpi] <= table[f"{kpi}.high"]).all()
    # a field that changes nothing gives the very same numbers: every point runs replication i on seed i
    numbers = table.drop(columns=["trunks.t.description"])
    pd.testing.assert_series_equal(numbers.iloc[0], numbers.iloc[1], check_names=False)
    assert table.loc[0, "kpis.loss_probability"] > table.loc[2, "kpis.loss_probability"]  # 8 vs 12 channels


def test_dask_cluster_gives_byte_identical_results_to_a_serial_run(tmp_path):
    distributed = pytest.importorskip("distributed")
    vary = {"trunks.t.capacity_limit": [7, 9, 11]}
    serial = simroute.sweep(
        single_trunk(hours=1), vary, replications=3, jobs=1, out=tmp_path / "serial", format="csv"
    )
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        dask = simroute.sweep(
            single_trunk(hours=1),
            vary,
            replications=3,
            cluster=cluster.scheduler_address,
            out=tmp_path / "dask",
            format="csv",
        )
    pd.testing.assert_frame_equal(serial, dask, check_exact=True)
    assert (tmp_path / "serial" / "sweep.csv").read_bytes() == (tmp_path / "dask" / "sweep.csv").read_bytes()


def test_a_local_pool_gives_the_same_table_as_one_process():
    vary = {"trunks.t.capacity_limit": [7, 9]}
    serial = simroute.sweep(single_trunk(hours=1), vary, replications=3, jobs=1)
    pool = simroute.sweep(single_trunk(hours=1), vary, replications=3, jobs=2)
    pd.testing.assert_frame_equal(serial, pool, check_exact=True)


class Stop(KeyboardInterrupt):
    pass


def test_an_interrupted_sweep_resumes_without_rerunning_finished_points(tmp_path):
    vary = {"trunks.t.capacity_limit": [6, 8, 10, 12]}
    out = tmp_path / "run"
    seen = []

    def interrupt_after_two(index, row):
        seen.append(index)
        if len(seen) == 2:
            raise Stop  # what Ctrl-C does, at an explicit point

    with pytest.raises(Stop):
        simroute.sweep(
            single_trunk(hours=1), vary, replications=3, jobs=1, out=out, on_point=interrupt_after_two
        )
    journal = (out / JOURNAL).read_text().splitlines()
    assert len(journal) == 1 + 2 and not (out / "sweep.parquet").exists()
    again = []
    table = simroute.sweep(
        single_trunk(hours=1),
        vary,
        replications=3,
        jobs=1,
        out=out,
        resume=True,
        on_point=lambda i, row: again.append(i),
    )
    assert sorted(again) == [2, 3] and table.attrs["resumed_points"] == 2
    whole = simroute.sweep(single_trunk(hours=1), vary, replications=3, jobs=1)
    pd.testing.assert_frame_equal(table, whole, check_exact=True)
    # a different sweep into the same folder is refused, not mixed
    with pytest.raises(SimrouteError, match="saved by a different sweep"):
        simroute.sweep(single_trunk(hours=1), vary, replications=4, jobs=1, out=out, resume=True)
    with pytest.raises(SimrouteError, match="already saved here"):
        simroute.sweep(single_trunk(hours=1), vary, replications=3, jobs=1, out=out)


def test_precision_stops_at_the_first_round_whose_interval_is_narrow_enough():
    table = simroute.sweep(
        single_trunk(channels=8, hours=1),
        {"trunks.t.capacity_limit": [8]},
        replications=4,
        precision=0.15,
        kpis=["loss_probability"],
        max_replications=200,
        jobs=1,
    )
    n = int(table.loc[0, "replications"])
    assert table.loc[0, "precision_met"] and 4 < n < 200 and n % 4 == 0
    runs = simroute.simulate(single_trunk(channels=8, hours=1), replications=n).replications

    def narrow(k):
        row = estimates(runs.iloc[:k], 0.95).loc["kpis.loss_probability"]
        return row["half_width"] <= 0.15 * row["mean"]

    assert narrow(n) and not narrow(n - 4)
    half = (table.loc[0, "kpis.loss_probability.high"] - table.loc[0, "kpis.loss_probability.low"]) / 2
    assert half <= 0.15 * table.loc[0, "kpis.loss_probability"]


def test_cli_sweep_prints_json_records_and_writes_the_table(tmp_path, capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(json.dumps(single_trunk(hours=1)))
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            str(scenario),
            "--vary",
            "trunks.t.capacity_limit=6:10:2",
            "--replications",
            "2",
            "--jobs",
            "1",
            "--json",
            "--out",
            str(out),
            "--format",
            "csv",
        ]
    )
    assert code == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["trunks.t.capacity_limit"] for r in records] == [6, 8, 10]
    assert sorted(p.name for p in out.iterdir()) == [JOURNAL, "sweep.csv"]
    assert main(["sweep", str(scenario), "--vary", "trunks.x.capacity_limit=1,2", "--jobs", "1"]) == 2
    assert "no trunk named 'x'" in capsys.readouterr().err


def test_run_precision_reports_whether_the_interval_got_narrow_enough():
    result = simroute.simulate(
        single_trunk(channels=8, hours=1),
        replications=4,
        precision_abs=0.015,
        kpis=["loss_probability"],
        jobs=1,
    )
    report = result.summary["precision"]
    assert report["met"] and report["stopped"] == "interval narrow enough"
    assert result.summary["replications"] == report["replications"] == len(result.replications)
    assert result.summary["ci95"]["kpis"]["loss_probability"] <= 0.015 and report["replications"] % 4 == 0
    tight = simroute.simulate(
        single_trunk(channels=8, hours=1), replications=4, precision=1e-4, max_replications=8, jobs=1
    )
    assert not tight.summary["precision"]["met"] and tight.summary["replications"] == 8
    assert tight.summary["precision"]["stopped"] == "replication budget spent"


@pytest.mark.parametrize(
    "command",
    [
        ["sweep", SCENARIOS / "erlang-b.yaml", "--vary", "trunks.trunk.capacity_limit=14,15"],
        [
            "size",
            SCENARIOS / "erlang-b.yaml",
            "--vary",
            "trunks.trunk.capacity_limit",
            "--target",
            "loss_probability<=0.01",
        ],
    ],
    ids=["sweep", "size"],
)
def test_points_that_keep_no_records_pass_the_memory_check(command, capsys):
    """Sweep points and sizing runs keep only their KPIs: a run far too long to keep its records in
    memory is stopped by the event budget (it asks for --yes), not refused for memory."""
    code = main([str(a) for a in command] + ["--duration", "20000d", "--replications", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert "events expected" in err
    assert "memory" not in err
