"""The live tally: one counting rule over chunks of rows, and a level observer that looks only at the
counters an event moved (so its cost does not grow with idle entities)."""

import pytest

import simroute
from simroute.engine.core import LiveEngine
from simroute.engine.network import compile_network
from simroute.kpis import tally as tally_module
from simroute.kpis.metrics import assemble
from simroute.kpis.tally import LiveTally
from simroute.scenario.schema import load_scenario

from ..builders import busy_scenario
from ..engine.test_delivery import shared_group
from ..paths import SCENARIOS
from ..records.test_modes import assert_same_kpis

SCENES = {
    "quickstart": SCENARIOS / "quickstart.yaml",
    "busy": busy_scenario(),
    "contact-centre": SCENARIOS / "contact-centre.yaml",
    "pop-outage": SCENARIOS / "pop-outage.yaml",
    "shared-metered": shared_group(4, 2.5, 3.5, metered=2),
}


class CheckedEngine(LiveEngine):
    """After every event, every busy counter must equal what the observer last saw: the counters an
    event moves are exactly those its call (or its cloud PBX) holds."""

    events = 0

    def _observe(self, event):
        super()._observe(event)
        self.events += 1
        for kind, (busy, seen) in enumerate(zip(self._busy, self._levels.last)):
            assert busy == seen, (type(event).__name__, self._levels.KINDS[kind])


def _run(scenario, engine=LiveEngine, chunk_rows=None, seed=2):
    scen = load_scenario(scenario)
    net = compile_network(scen)
    tally = LiveTally(net, [(scen.warmup, scen.duration)])
    if chunk_rows:
        tally.chunk_rows = chunk_rows
    eng = engine(net, seed, scen.duration, tally, tally.levels)
    eng.run()
    return assemble(net, tally.tallies(0)), eng


@pytest.mark.parametrize("name", list(SCENES))
def test_observer_sees_every_counter_an_event_moves(name):
    _summary, engine = _run(SCENES[name], CheckedEngine)
    assert engine.events > 1000


def test_counting_in_small_chunks_equals_counting_at_once():
    whole, _ = _run(SCENES["busy"])
    chunked, _ = _run(SCENES["busy"], chunk_rows=37)
    assert_same_kpis(whole, chunked)
    assert whole["kpis"]["post_dial_delay_p95"] == chunked["kpis"]["post_dial_delay_p95"]


def test_idle_dids_cost_the_observer_nothing(monkeypatch):
    """1000 DIDs, one with traffic: the observer looks at as many counters as with that DID alone."""
    one = {
        "name": "one",
        "duration": "2h",
        "warmup": 0,
        "trunks": [{"name": "t", "capacity_limit": 5}],
        "dids": [
            {
                "number": "441234500000",
                "route": {"trunk": "t"},
                "traffic": {"erlangs": 4, "holding_time": {"dist": "exponential", "mean": 120}},
            }
        ],
    }
    many = {
        **one,
        "dids": one["dids"]
        + [{"number": str(441234500001 + i), "route": {"trunk": "t"}} for i in range(999)],
    }
    looked = []
    original = tally_module.Levels._change

    def counted(self, kind, i, now):
        looked.append(kind)
        return original(self, kind, i, now)

    monkeypatch.setattr(tally_module.Levels, "_change", counted)
    a, _ = _run(one)
    n_one = len(looked)
    looked.clear()
    b, _ = _run(many)
    assert n_one > 1000 and len(looked) == n_one
    assert a["kpis"] == b["kpis"]


def test_records_none_keeps_no_row():
    """The live tally keeps counts, not rows: at the end no call is left open and no row is kept, and
    its KPIs are those of the kept records."""
    scen = load_scenario(SCENES["busy"])
    net = compile_network(scen)
    tally = LiveTally(net, [(scen.warmup, scen.duration)])
    LiveEngine(net, 1, scen.duration, tally, tally.levels).run()
    assert tally.calls is None and tally._open == {}
    full = simroute.simulate(SCENES["busy"], seed=1)
    assert_same_kpis({"kpis": full.summary["kpis"]}, {"kpis": assemble(net, tally.tallies(0))["kpis"]})
