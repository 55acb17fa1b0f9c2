"""Running a scenario many times: seeds for replications, local or distributed execution, and the
aggregation of their summaries into means and confidence intervals.

Replication ``i`` of a run with seed ``s`` uses the ``i``-th child of ``SeedSequence(s)``, whoever runs it:
serial, local processes, or any ``concurrent.futures.Executor`` (a Dask client's ``get_executor()`` for a
cluster) give the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..engine.core import AuditedEngine, Engine
from ..engine.network import Network, compile_network
from ..engine.redial import redialling
from ..engine.ticks import follow_progress
from ..kpis import periods
from ..kpis.redial import redial_table
from ..kpis.tally import LiveTally
from ..records.attempts import CallRecords, Records, pbx_table
from ..records.kept import KeptRows
from ..records.stream import RecordStream
from ..scenario.schema import Scenario
from .intervals import COUNT_PREFIXES, estimates, flatten, labels, unflatten

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import pandas as pd

__all__ = ["replication_seeds", "run_once", "run_many", "aggregate", "replications_table"]


def replication_seeds(seed: int, n: int) -> list[np.random.SeedSequence]:
    """Independent seeds of ``n`` replications, spawned from one SeedSequence."""
    return np.random.SeedSequence(seed).spawn(n)


RECORDS = ("attempts", "calls", "none")
#: Steps of a single run's progress bar (each a hundredth of the horizon)
PROGRESS_STEPS = 100
E = TypeVar("E", bound=Engine)


def run_once(
    scenario: Scenario | Network,
    seed,
    horizon: float,
    windows: list[tuple[float, float]],
    keep: bool = False,
    audit: bool = False,
    records: str = "attempts",
    stream_to=None,
    progress: Callable[[int], None] | None = None,
    interval: float | None = None,
):
    """One simulation: the KPI summaries over each ``(start, end)`` window, and the records if ``keep``.

    Each summary has its window's ``busy_hour``; with ``interval`` (seconds) the first also has
    ``intervals``, the KPIs per interval of the local clock (:mod:`simroute.kpis.periods`).
    ``records="attempts"`` keeps every attempt row and computes KPIs from them; ``"calls"`` and ``"none"``
    count KPIs while the run goes (memory flat in the number of calls), keeping one row per call or none.
    ``stream_to`` (a .csv or .parquet path) writes the attempt records there in chunks as the run goes,
    with KPIs counted live, so a run of any length keeps its records without holding them.
    ``scenario`` may be an already compiled :class:`Network` (what tasks on other processes carry).
    ``progress`` is called with 1 at each hundredth of the horizon (a progress bar for one long run).
    """
    if records not in RECORDS:
        raise ValueError(f"records must be one of {', '.join(RECORDS)}, got {records!r}")
    net = scenario if isinstance(scenario, Network) else compile_network(scenario)
    counted, hours = periods.live_windows(windows, interval, net.scenario.clock_phase)
    if records == "attempts" and stream_to is None:
        tally = LiveTally(net, counted, exact_pdd=True, detailed=len(windows))
        sink = KeptRows(tally)
        engine = _followed((AuditedEngine if audit else Engine)(net, seed, horizon, sink), horizon, progress)
        engine.run()
        kept = Records(sink.rows, net)
        kept.pbx = pbx_table(sink.pbx_rows)
        if redialling(net.scenario):
            kept.redial = redial_table(sink.redial_rows)
        summaries = periods.from_tally(net, tally, windows, hours, interval)
        checked = engine.events_checked if isinstance(engine, AuditedEngine) else None
        return summaries, (kept if keep else None), checked
    tally = LiveTally(
        net, counted, keep_calls=records == "calls" and stream_to is None, detailed=len(windows)
    )
    if stream_to is not None:
        with RecordStream(tally, stream_to) as stream:
            _followed(Engine(net, seed, horizon, stream), horizon, progress).run()
        return periods.from_tally(net, tally, windows, hours, interval), None, None
    _followed(Engine(net, seed, horizon, tally), horizon, progress).run()
    summaries = periods.from_tally(net, tally, windows, hours, interval)
    calls = CallRecords(tally.calls, net, tally.links) if tally.calls is not None else None
    return summaries, (calls if keep else None), None


def _followed(engine: E, horizon: float, progress: Callable[[int], None] | None) -> E:
    if progress is not None:
        follow_progress(engine.clock, horizon, progress, PROGRESS_STEPS)
    return engine


def _summaries_only(args):
    scenario, seed, horizon, windows, records = args
    return run_once(scenario, seed, horizon, windows, records=records)[0]


def _leave_interrupts_to_the_parent() -> None:
    """A local worker ignores Ctrl-C (the terminal sends it to the whole process group): the parent
    reports it once and stops the workers, instead of each printing a traceback."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_many(
    scenario: Scenario,
    seeds: list,
    horizon: float,
    windows,
    *,
    jobs: int = 1,
    executor: Executor | None = None,
    records: str = "attempts",
    on_replication=None,
    interval: float | None = None,
):
    """Replication 0 in this process (its records are kept), the others serially or on an executor,
    which works on them while this process runs replication 0. Tasks carry the compiled network (not
    the scenario), so no worker compiles it again; ``on_replication()`` is called as each is taken in.

    Returns the list of per-replication summary lists and replication 0's records; with ``interval``,
    replication 0's summary has its KPIs per interval (as its records, the others' are not kept).
    """
    network = compile_network(scenario)
    rest = [(network, s, horizon, windows, records) for s in seeds[1:]]
    tick = on_replication or (lambda: None)
    pool = executor
    if pool is None and jobs > 1 and rest:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_leave_interrupts_to_the_parent)
    try:
        futures = [pool.submit(_summaries_only, args) for args in rest] if pool is not None else []
        first, kept, _ = run_once(
            network, seeds[0], horizon, windows, keep=True, records=records, interval=interval
        )
        tick()
        others = []
        for i, args in enumerate(rest):
            others.append(futures[i].result() if pool is not None else _summaries_only(args))
            tick()
    except BaseException:  # Ctrl-C, an error: stop the local workers now, not after their replications
        if pool is not None and executor is None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
        raise
    finally:
        if pool is not None and executor is None:
            pool.shutdown(cancel_futures=True)
    return [first, *others], kept


def _table(summaries: list[dict]) -> tuple[pd.DataFrame, list[tuple]]:
    """The per-replication table (one row of numeric KPIs each) and the summary path of each column."""
    import pandas as pd  # here, not at the top: a single run needs no DataFrame

    rows = [flatten(s) for s in summaries]
    paths = list(dict.fromkeys(p for row in rows for p in row))
    frame = pd.DataFrame(
        [[row.get(p, np.nan) for p in paths] for row in rows], columns=[".".join(map(str, p)) for p in paths]
    )
    counts = [c for c in frame.columns if c.startswith(COUNT_PREFIXES)]
    frame[counts] = frame[counts].fillna(0.0)  # an outcome missing from a replication happened 0 times
    frame.index.name = "replication"
    return frame, paths


def replications_table(summaries: list[dict]) -> pd.DataFrame:
    """One row of numeric KPIs per replication (or batch), columns named by dotted summary path."""
    return _table(summaries)[0]


def aggregate(summaries: list[dict], confidence: float) -> tuple[dict, dict, pd.DataFrame, dict]:
    """Mean tree, half-width tree, the per-replication table (one row each) of KPI summaries, and the
    KPIs whose replications saw too few events for a Student-t interval (dotted path -> its pooled
    events, trials-based interval ``low``/``high`` and method); their half-width is None, their mean
    the pooled proportion."""
    busy = any("busy_hour" in s for s in summaries)
    # a window without a whole clock hour has no busy hour: its mean is over the windows that have one
    summaries = [{k: v for k, v in s.items() if not (k == "busy_hour" and v is None)} for s in summaries]
    frame, paths = _table(summaries)
    table = estimates(frame, confidence)
    mean, half = table["mean"], table["half_width"].astype(float)
    few = {}
    for column in table.index[table["method"] != "t"]:
        row = table.loc[column]
        few[column] = {
            "events": float(row["events"]),
            "low": float(row["low"]),
            "high": float(row["high"]),
            "method": "quasi-Poisson on pooled counts",
        }
        half[column] = math.nan

    empty = {p for summary in summaries for p in _empty_tables(summary)}

    def tree(values, extra=None):
        leaves = {
            p: (None if np.isnan(values[c]) else float(values[c])) for p, c in zip(paths, frame.columns)
        }
        result = unflatten({**leaves, **(extra or {})})
        for path in sorted(empty):  # a table with no entries in every run (no outcome at all) stays, empty
            node = result
            for key in path:
                node = node.setdefault(key, {})
        return result

    texts: dict = {}
    for summary in reversed(summaries):  # the first that has a text (a busy hour's start) gives it
        texts.update(labels(summary))
    means, halves = tree(mean, texts), tree(half)
    if busy:
        means.setdefault("busy_hour", None)
        halves.setdefault("busy_hour", None)
    return means, halves, frame, few


def _empty_tables(summary: dict, prefix: tuple = ()):
    """Paths of the empty mappings of a summary (``kpis.outcomes`` of a run with no calls)."""
    for key, value in summary.items():
        if isinstance(value, dict):
            if value:
                yield from _empty_tables(value, (*prefix, key))
            else:
                yield (*prefix, key)
