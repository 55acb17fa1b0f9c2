"""The Python API that notebooks and the command line share: load a scenario, simulate, read results."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from .engine import AuditedEngine, Engine
from .metrics import Occupancy, summarize
from .network import Network, compile_network
from .records import Records
from .scenario import Scenario, load_scenario

__all__ = ["Result", "simulate"]


@dataclass
class Result:
    """What one run produced: ``summary`` (the summary.json dict) and the records as tables."""

    scenario: Scenario
    network: Network
    records: Records
    seed: int
    duration: float
    summary: dict = field(repr=False)

    @cached_property
    def attempts(self) -> pd.DataFrame:
        """One row per routing attempt (DIDWW's CDR fields)."""
        return self.records.attempts_frame()

    @cached_property
    def calls(self) -> pd.DataFrame:
        """One row per offered call."""
        return self.records.calls_frame()

    @property
    def trunks(self) -> pd.DataFrame:
        """Per-trunk KPIs, one row per trunk."""
        return pd.DataFrame.from_dict(self.summary["trunks"], orient="index").rename_axis("trunk")

    def concurrency(self, freq: str = "1min") -> pd.DataFrame:
        """Average busy channels per interval of ``freq``, one column per trunk, group and DID."""
        step = pd.Timedelta(freq).total_seconds()
        if step <= 0:
            raise ValueError(f"freq must be a positive interval, got {freq!r}")
        edges = np.arange(0.0, self.duration + step / 2, step)
        if edges[-1] < self.duration:
            edges = np.append(edges, self.duration)
        columns = {}
        for name, occ in self._occupancies().items():
            columns[name] = np.diff(occ.area(edges)) / np.diff(edges)
        index = pd.to_timedelta(edges[:-1], unit="s")
        return pd.DataFrame(columns, index=pd.Index(index, name="time"))

    def _occupancies(self) -> dict[str, Occupancy]:
        rec, net = self.records, self.network
        out = {}
        calls = self.calls
        for t, name in enumerate(net.trunk_names):
            mine = (rec.trunk == t) & ~np.isnan(rec.time_end)
            out[f"trunk:{name}"] = Occupancy(rec.time_start[mine], rec.time_end[mine])
        held = calls[~calls["outcome"].isin(["number_list_reject", "did_capacity"]) | (calls["attempts"] > 1)]
        for d, number in enumerate(net.did_numbers):
            mine = held[held["did"] == number]
            out[f"did:{number}"] = Occupancy(mine["time_arrival"].to_numpy(), mine["time_end"].to_numpy())
        for g, name in enumerate(net.group_names):
            numbers = [net.did_numbers[d] for d in range(len(net.did_numbers)) if net.did_group[d] == g]
            mine = held[held["did"].isin(numbers) & (held["outcome"] != "group_capacity")]
            out[f"group:{name}"] = Occupancy(mine["time_arrival"].to_numpy(), mine["time_end"].to_numpy())
        return out


def simulate(scenario, seed: int | None = None, duration: float | str | None = None, *,
             audit: bool = False) -> Result:
    """Run ``scenario`` (a path, a dict or a :class:`Scenario`) once and return its :class:`Result`.

    ``seed`` and ``duration`` override the file's; ``audit=True`` checks every cap after every event
    (slower; for tests).
    """
    from .units import parse_duration

    scenario = load_scenario(scenario)
    seed = scenario.seed if seed is None else int(seed)
    horizon = scenario.duration if duration is None else parse_duration(duration)
    if scenario.warmup >= horizon:
        raise ValueError(f"duration ({horizon:g}s) must be longer than the warm-up ({scenario.warmup:g}s)")
    net = compile_network(scenario)
    engine = (AuditedEngine if audit else Engine)(net, seed, horizon)
    records = Records(engine.run(), net)
    summary = {
        "scenario": scenario.name,
        "seed": seed,
        "duration": horizon,
        "warmup": scenario.warmup,
        **summarize(records, scenario.warmup, horizon),
    }
    result = Result(scenario, net, records, seed, horizon, summary)
    if audit:
        result.events_checked = engine.events_checked
    return result
