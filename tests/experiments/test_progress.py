"""A single long run reports its progress through simulated time without changing a number."""

import io

import pandas as pd
import pytest

import simroute
from simroute.engine.core import Engine
from simroute.engine.network import compile_network
from simroute.engine.ticks import follow_progress
from simroute.experiments.progress import Progress
from simroute.experiments.replications import PROGRESS_STEPS, run_once
from simroute.scenario.schema import load_scenario
from tests.builders import busy_scenario


def test_ticks_report_every_step_of_the_horizon_and_change_no_record():
    net = compile_network(load_scenario(busy_scenario()))
    horizon = 3 * 3600.0
    plain = Engine(net, 7, horizon).run()
    followed = Engine(net, 7, horizon)
    seen: list[float] = []
    follow_progress(followed.clock, horizon, lambda n: seen.append(followed.clock.now()), steps=12)
    rows = followed.run()
    assert bytes(rows) == bytes(plain)
    assert len(plain) > 0
    assert seen == pytest.approx([horizon * k / 12 for k in range(1, 13)])


@pytest.mark.parametrize("records", ["attempts", "none"])
def test_a_followed_run_gives_the_same_summary(records):
    scenario = load_scenario(busy_scenario())
    window = [(scenario.warmup, 3 * 3600.0)]
    steps: list[int] = []
    plain = run_once(scenario, 3, 3 * 3600.0, window, records=records)[0]
    followed = run_once(scenario, 3, 3 * 3600.0, window, records=records, progress=steps.append)[0]
    assert followed == plain
    assert sum(steps) == PROGRESS_STEPS


def test_follow_progress_refuses_no_steps():
    net = compile_network(load_scenario(busy_scenario()))
    with pytest.raises(ValueError, match="steps"):
        follow_progress(Engine(net, 1, 10.0).clock, 10.0, lambda n: None, steps=0)


def test_simulate_with_a_bar_gives_the_same_result():
    shown = simroute.simulate(busy_scenario(), seed=5, progress=True)
    hidden = simroute.simulate(busy_scenario(), seed=5, progress=False)
    assert shown.summary == hidden.summary
    pd.testing.assert_frame_equal(shown.attempts, hidden.attempts)


def test_a_bar_off_a_terminal_is_not_drawn(monkeypatch):
    monkeypatch.setattr("sys.stderr", io.StringIO())  # a pipe or a log file: not a terminal
    with Progress(10, "runs") as bar:
        assert not bar.shown
    with Progress(10, "runs", show=True) as bar:
        assert bar.shown
