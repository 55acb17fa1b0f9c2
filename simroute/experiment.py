"""Running a scenario many times: seeds for replications, local or distributed execution, and the
aggregation of their summaries into means and confidence intervals.

Replication ``i`` of a run with seed ``s`` uses the ``i``-th child of ``SeedSequence(s)``, whoever runs it:
serial, local processes, or any ``concurrent.futures.Executor`` (a Dask client's ``get_executor()`` for a
cluster) give the same numbers.
"""
from __future__ import annotations

from concurrent.futures import Executor, ProcessPoolExecutor

import numpy as np
import pandas as pd

from .engine import AuditedEngine, Engine
from .intervals import COUNT_PREFIXES, flatten, mean_and_half_width, unflatten
from .metrics import summarize
from .network import compile_network
from .records import Records
from .scenario import Scenario

__all__ = ["replication_seeds", "run_once", "run_many", "aggregate"]


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """Independent seeds of ``n`` replications, spawned from one SeedSequence."""
    return np.random.SeedSequence(seed).spawn(n)


def run_once(scenario: Scenario, seed, horizon: float, windows: list[tuple[float, float]], keep: bool = False,
             audit: bool = False):
    """One simulation: the KPI summaries over each ``(start, end)`` window, and the records if ``keep``."""
    net = compile_network(scenario)
    engine = (AuditedEngine if audit else Engine)(net, seed, horizon)
    records = Records(engine.run(), net)
    summaries = [summarize(records, a, b) for a, b in windows]
    return summaries, (records if keep else None), (engine.events_checked if audit else None)


def _summaries_only(args):
    return run_once(*args)[0]


def run_many(scenario: Scenario, seeds: list, horizon: float, windows, *, jobs: int = 1,
             executor: Executor | None = None):
    """Replication 0 in this process (its records are kept), the others serially or on an executor.

    Returns the list of per-replication summary lists and replication 0's records.
    """
    first, records, _ = run_once(scenario, seeds[0], horizon, windows, keep=True)
    rest = [(scenario, s, horizon, windows) for s in seeds[1:]]
    if not rest:
        return [first], records
    if executor is not None:
        others = list(executor.map(_summaries_only, rest))
    elif jobs > 1:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            others = list(pool.map(_summaries_only, rest))
    else:
        others = [_summaries_only(args) for args in rest]
    return [first, *others], records


def aggregate(summaries: list[dict], confidence: float) -> tuple[dict, dict, pd.DataFrame]:
    """Mean tree, half-width tree and the per-replication table (one row each) of KPI summaries."""
    rows = [flatten(s) for s in summaries]
    paths = list(dict.fromkeys(p for row in rows for p in row))
    frame = pd.DataFrame([[row.get(p, np.nan) for p in paths] for row in rows],
                         columns=[".".join(map(str, p)) for p in paths])
    for p, column in zip(paths, frame.columns):
        if column.startswith(COUNT_PREFIXES):  # an outcome missing from a replication happened 0 times
            frame[column] = frame[column].fillna(0.0)
    mean, half = mean_and_half_width(frame, confidence)

    def tree(values):
        return unflatten({p: (None if pd.isna(values[c]) else float(values[c])) for p, c in zip(paths, frame.columns)})

    frame.index.name = "replication"
    return tree(mean), tree(half), frame
