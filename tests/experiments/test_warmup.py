"""``warmup: auto``: MSER-5 picks the warm-up from the run's own output, says what it chose, and a run that
starts empty no longer reports its carried load low."""

import numpy as np
import pytest

import simroute
from simroute.experiments.warmup import mser

from ..stats import LEVEL, assert_covers, t_half_width

EMPTY_START = {
    "name": "from empty",
    "duration": "1h",
    "warmup": "auto",
    "seed": 2,
    "trunks": [{"name": "t", "rerouting_codes": "none"}],  # unlimited: carries all 25 erlang (M/M/inf)
    "dids": [
        {
            "number": "1",
            "route": {"trunk": "t"},
            "traffic": {"erlangs": 25, "holding_time": {"dist": "exponential", "mean": 180}},
        }
    ],
}


def test_mser_drops_a_transient_and_keeps_a_stationary_series():
    rng = np.random.default_rng(1)
    t = np.arange(400)
    transient = 10 * (1 - np.exp(-t / 20)) + rng.normal(0, 0.5, t.size)
    drop, settled = mser(transient)
    assert settled and 40 <= drop <= 150 and drop % 5 == 0
    drop, settled = mser(rng.normal(0, 1, 400))
    assert drop < 100


def test_auto_warmup_removes_the_low_bias_of_a_start_from_empty():
    """1 h at 25 erlang from empty: without warm-up the carried load averages 25 (1 - h/T) = 23.75
    (5 % low), which the interval at LEVEL excludes; with ``warmup: auto`` it covers 25."""
    auto = simroute.simulate(EMPTY_START, replications=60, records="none")
    chosen = auto.summary["warmup_auto"]
    assert chosen["method"] == "MSER-5" and chosen["settled"]
    assert 0 < auto.summary["warmup"] == chosen["warmup"] < 1800
    assert_covers(
        auto.replications["dids.1.carried_erlangs"], 25.0, what="carried erlangs after auto warm-up"
    )
    cold = simroute.simulate({**EMPTY_START, "warmup": 0}, replications=60, records="none")
    mean, half = t_half_width(cold.replications["dids.1.carried_erlangs"], LEVEL)
    assert mean + half < 25.0  # the test can see the bias it removes
    assert mean == pytest.approx(25 * (1 - 180 / 3600), abs=half)


def test_cli_run_reports_the_chosen_warmup(tmp_path, capsys):
    import json

    from simroute.cli import main

    path = tmp_path / "s.yaml"
    path.write_text(json.dumps(EMPTY_START))
    assert main(["run", str(path), "--json", "--records", "none"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (
        summary["warmup_auto"]["method"] == "MSER-5" and summary["warmup"] == summary["warmup_auto"]["warmup"]
    )
