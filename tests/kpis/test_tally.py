"""The tally: one counting rule and one occupancy sweep over chunks of rows, with the calls in flight at
each hand-over (so nothing runs per event, and idle entities cost nothing)."""

import numpy as np
import pytest

import simroute
from simroute.engine.core import Engine
from simroute.engine.network import compile_network
from simroute.engine.rows import OPEN_FIELDS
from simroute.kpis import occupancy as occupancy_module
from simroute.kpis.metrics import assemble
from simroute.kpis.tally import LiveTally
from simroute.scenario import codes
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


class CheckedEngine(Engine):
    """At every hand-over, the calls the engine says are in flight hold exactly what its busy counters
    count: the snapshot the occupancy sweep closes each span with misses no call and counts none twice."""

    handovers = 0

    def _hand_over(self, now):
        if now is not None:
            o = np.frombuffer(self._in_flight(), dtype=np.float64).reshape(-1, len(OPEN_FIELDS))
            col = {name: o[:, i] for i, name in enumerate(OPEN_FIELDS)}
            net = self.net

            def per(index, n, mask=None):
                index = index.astype(int) if mask is None else index[mask].astype(int)
                return np.bincount(index, minlength=n).tolist()

            did = col["did"].astype(int)
            group = np.asarray(net.did_group + [-1])[did]
            cg = np.asarray(net.did_capacity_group + [-1])[did]
            n_t, n_cg = len(net.trunk_names), len(net.capacity_group_names)
            waiting = ~np.isnan(col["time_queued"]) & np.isnan(col["time_left"])
            served = col["pbx_outcome"] == codes.PBX_SERVED
            assert per(col["trunk"], n_t) == self.trunk_busy
            assert per(did, len(net.did_numbers)) == self.did_busy
            assert per(col["ingress_pop"], len(net.pop_names)) == self.pop_busy
            assert per(group, len(net.group_names), group >= 0) == self.group_busy
            assert per(cg, n_cg, col["channel"] == codes.CHANNEL_SHARED) == self.shared_busy
            assert per(cg, n_cg, col["channel"] == codes.CHANNEL_METERED) == self.metered_busy
            assert per(col["trunk"], n_t, waiting) == self.queue_busy
            assert per(col["trunk"], n_t, served) == self.agents_busy
            self.handovers += 1
        super()._hand_over(now)


def _run(scenario, engine=Engine, chunk_rows=None, seed=2):
    scen = load_scenario(scenario)
    net = compile_network(scen)
    tally = LiveTally(net, [(scen.warmup, scen.duration)])
    if chunk_rows:
        tally.chunk_rows = chunk_rows
    eng = engine(net, seed, scen.duration, tally)
    eng.run()
    return assemble(net, tally.tallies(0)), eng


@pytest.mark.parametrize("name", list(SCENES))
def test_calls_in_flight_hold_what_the_counters_count(name):
    _summary, engine = _run(SCENES[name], CheckedEngine, chunk_rows=50)
    assert engine.handovers > 10


def test_counting_in_small_chunks_equals_counting_at_once():
    whole, _ = _run(SCENES["busy"])
    chunked, _ = _run(SCENES["busy"], chunk_rows=37)
    assert_same_kpis(whole, chunked)
    assert whole["kpis"]["post_dial_delay_p95"] == chunked["kpis"]["post_dial_delay_p95"]


def test_idle_dids_cost_the_tally_nothing(monkeypatch):
    """1000 DIDs, one with traffic: as many occupancy sweeps as with that DID alone, and the same KPIs."""
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
    swept = []
    original = occupancy_module.Occupancy.from_key.__func__

    def counted(cls, starts, ends):
        swept.append(len(starts))
        return original(cls, starts, ends)

    monkeypatch.setattr(occupancy_module.Occupancy, "from_key", classmethod(counted))
    a, _ = _run(one, chunk_rows=50)
    n_one = len(swept)
    swept.clear()
    b, _ = _run(many, chunk_rows=50)
    assert n_one >= 3 and len(swept) == n_one
    assert a["kpis"] == b["kpis"]


def test_records_none_keeps_no_row():
    """The live tally keeps counts, not rows: at the end no call is left open and no row is kept, and
    its KPIs are those of the kept records."""
    scen = load_scenario(SCENES["busy"])
    net = compile_network(scen)
    tally = LiveTally(net, [(scen.warmup, scen.duration)])
    Engine(net, 1, scen.duration, tally).run()
    assert tally.calls is None and len(tally._open) == 0
    full = simroute.simulate(SCENES["busy"], seed=1)
    assert_same_kpis({"kpis": full.summary["kpis"]}, {"kpis": assemble(net, tally.tallies(0))["kpis"]})


def test_kept_records_counted_in_small_chunks_equal_one_chunk(monkeypatch):
    """A kept run's KPIs are counted chunk by chunk while it runs: many spans give one span's numbers
    (counts exactly, times up to the order of their sums; the exact percentile exactly)."""
    whole = simroute.simulate(SCENES["busy"], seed=4)
    monkeypatch.setattr(LiveTally, "chunk_rows", 37)
    monkeypatch.setattr(LiveTally, "rows_per_entity", 0)
    chunked = simroute.simulate(SCENES["busy"], seed=4)
    assert_same_kpis(whole.summary, chunked.summary)
    assert whole.summary["kpis"]["post_dial_delay_p95"] == chunked.summary["kpis"]["post_dial_delay_p95"]
    assert len(whole.records) == len(chunked.records) > 37 * 10


def test_chunks_grow_with_the_entities_they_sweep(monkeypatch):
    """Each chunk sweeps every DID's and trunk's occupancy: thousands of DIDs get longer chunks (so the
    per-entity work stays small against the rows), up to a cap of 64 MB of rows."""

    def chunk(dids):
        traffic = {"erlangs": 1.0, "holding_time": {"dist": "exponential", "mean": 180}}
        numbers = [
            {"number": f"4412{i:08d}", "route": {"trunk": "t"}, "traffic": traffic} for i in range(dids)
        ]
        scenario = load_scenario({"name": "many", "duration": 60, "trunks": [{"name": "t"}], "dids": numbers})
        return LiveTally(compile_network(scenario), [(0.0, 60.0)]).chunk_rows

    assert chunk(1) == LiveTally.chunk_rows == 1 << 16
    assert chunk(1000) == 1001 * LiveTally.rows_per_entity
    assert LiveTally.max_chunk_rows == 1 << 20
    monkeypatch.setattr(LiveTally, "max_chunk_rows", 300_000)
    assert chunk(2000) == 300_000


def test_exact_percentile_is_numpys_bit_for_bit():
    from simroute.kpis.tally import quantile

    rng = np.random.default_rng(8)
    for n in (1, 2, 3, 20, 21, 1000, 12345):
        for values in (rng.lognormal(1.0, 1.0, n), np.round(rng.random(n) * 10, 1)):
            for q in (0.95, 0.5, 0.05, 0.99):
                assert quantile(values.copy(), q) == float(np.quantile(values, q)), (n, q)
