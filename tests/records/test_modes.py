"""records='none' and 'calls' count KPIs while the run goes; they must give the KPIs that the attempt
records give for the same seed (two independent computations of the same numbers)."""

import math

import numpy as np
import pytest

import simroute
from simroute.experiments.intervals import flatten
from simroute.kpis.tally import QuantileSketch

from ..builders import busy_scenario
from ..paths import SCENARIOS

SKETCH_ACCURACY = QuantileSketch().accuracy * (1 + 1e-9)  # the sketch's bound, plus float rounding

CASES = [
    SCENARIOS / "quickstart.yaml",
    SCENARIOS / "pop-outage.yaml",
    SCENARIOS / "spam-list.yaml",
    busy_scenario(),
    SCENARIOS / "pstn-fallback.yaml",
    SCENARIOS / "contact-centre.yaml",
    SCENARIOS / "redial.yaml",
]


def assert_same_kpis(a: dict, b: dict):
    fa, fb = flatten(a), flatten(b)
    assert fa.keys() == fb.keys()
    for key, value in fa.items():
        if key[-1] == "post_dial_delay_p95":  # the KPI window's and the busy hour's
            continue  # a streaming sketch: checked against the order statistic below
        other = fb[key]
        if math.isnan(value):
            assert math.isnan(other), key
        elif float(value).is_integer() and key[-1] not in ("carried_erlangs", "time_congestion"):
            assert value == other, key
        else:
            assert other == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.mark.parametrize(
    "scenario",
    CASES,
    ids=["quickstart", "pop-outage", "spam-list", "busy", "pstn-fallback", "contact-centre", "redial"],
)
def test_live_tally_matches_records(scenario):
    full = simroute.simulate(scenario, seed=3)
    for mode in ("none", "calls"):
        live = simroute.simulate(scenario, seed=3, records=mode)
        assert_same_kpis(full.summary, live.summary)
        # the sketch's 95th percentile is within 0.1 % of the lower order statistic at that rank
        calls = full.calls
        pdd = np.sort(
            calls[calls.answered & (calls.time_arrival >= full.scenario.warmup)].post_dial_delay.to_numpy()
        )
        exact = pdd[math.floor(0.95 * (len(pdd) - 1))]
        assert live.summary["kpis"]["post_dial_delay_p95"] == pytest.approx(exact, rel=SKETCH_ACCURACY)


def test_calls_mode_keeps_the_same_call_rows():
    full = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=4)
    calls = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=4, records="calls")
    assert calls.calls.reset_index(drop=True).equals(full.calls.reset_index(drop=True))
    with pytest.raises(simroute.SimrouteError, match="records='calls'"):
        _ = calls.attempts
    none = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=4, records="none")
    with pytest.raises(simroute.SimrouteError, match="records='none'"):
        _ = none.calls


def test_batch_means_and_replications_in_live_mode():
    a = simroute.simulate(SCENARIOS / "erlang-b.yaml", duration="30h", batches=5)
    b = simroute.simulate(SCENARIOS / "erlang-b.yaml", duration="30h", batches=5, records="none")
    assert_same_kpis(
        {k: a.summary[k] for k in ("kpis", "trunks")}, {k: b.summary[k] for k in ("kpis", "trunks")}
    )
    r1 = simroute.simulate(SCENARIOS / "quickstart.yaml", replications=3)
    r2 = simroute.simulate(SCENARIOS / "quickstart.yaml", replications=3, records="none")
    assert r1.summary["kpis"]["answered"] == r2.summary["kpis"]["answered"]


def test_sketch_accuracy_on_a_known_sample():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.lognormal(1, 1.5, 20_000), np.zeros(50)])
    sketch = QuantileSketch(accuracy=0.001)
    for batch in np.array_split(rng.permutation(values), 100):  # more parts than it keeps unjoined
        sketch.add_many(batch)
    ordered = np.sort(values)
    for q in (0.0, 0.001, 0.5, 0.95, 0.999, 1.0):
        exact = ordered[math.floor(q * (len(values) - 1))]
        assert sketch.quantile(q) == pytest.approx(exact, rel=SKETCH_ACCURACY, abs=0.0)
    assert QuantileSketch().quantile(0.5) is None


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_streamed_records_equal_kept_records(tmp_path, monkeypatch, suffix):
    """Records streamed in many small chunks are the kept records, and the KPIs are the same."""
    import pandas as pd

    import simroute.records.stream

    if suffix == "parquet":
        pytest.importorskip("pyarrow")
    monkeypatch.setattr(simroute.records.stream, "CHUNK_ROWS", 97)
    kept = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=8)
    target = tmp_path / f"attempts.{suffix}"
    streamed = simroute.simulate(SCENARIOS / "quickstart.yaml", seed=8, stream_to=target)
    assert_same_kpis(kept.summary["trunks"], streamed.summary["trunks"])
    frame = pd.read_csv(target, keep_default_na=False) if suffix == "csv" else pd.read_parquet(target)
    frame = frame.sort_values(["call_id", "routing_attempt"]).reset_index(drop=True)
    expected = kept.attempts
    assert len(frame) == len(expected) > 97 * 10
    for column in ("call_id", "routing_attempt", "is_last_cdr", "trunk", "cause", "reason", "initiator"):
        assert (frame[column].astype(str).values == expected[column].astype(str).values).all(), column
    assert np.allclose(frame.time_end, expected.time_end, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left behind


def test_cli_records_options(tmp_path, capsys):
    import json

    from simroute.cli import main

    quickstart = str(SCENARIOS / "quickstart.yaml")
    assert main(["run", quickstart, "--json"]) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(["run", quickstart, "--json", "--records", "none"]) == 0
    assert_same_kpis(full, json.loads(capsys.readouterr().out))
    out = tmp_path / "stream"
    assert main(["run", quickstart, "--records", "stream", "--out", str(out), "--format", "csv"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "attempts.csv",
        "manifest.json",
        "scenario.json",
        "summary.json",
    ]
    assert main(["run", quickstart, "--records", "stream"]) == 2
    assert "--out" in capsys.readouterr().err
    out = tmp_path / "calls"
    assert (
        main(
            [
                "run",
                quickstart,
                "--records",
                "calls",
                "--replications",
                "3",
                "--out",
                str(out),
                "--format",
                "csv",
            ]
        )
        == 0
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "calls.csv",
        "manifest.json",
        "replications.csv",
        "scenario.json",
        "summary.json",
    ]
