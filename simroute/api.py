"""The Python API that notebooks and the command line share: simulate a scenario (once, replicated or
by batch means) and compare two variants on common random numbers."""

from __future__ import annotations

from concurrent.futures import Executor
from functools import partial
from typing import Any

from .engine.network import compile_network
from .errors import ScenarioError
from .experiments.intervals import mean_and_half_width, t_quantile
from .experiments.replications import aggregate, replication_seeds, replications_table, run_many, run_once
from .kpis.result import Result
from .scenario.schema import load_scenario
from .scenario.units import parse_duration

__all__ = ["simulate", "compare", "Comparison"]


def _prepare(scenario, seed, duration):
    scenario = load_scenario(scenario)
    seed = scenario.seed if seed is None else int(seed)
    horizon = scenario.duration if duration is None else parse_duration(duration)
    if scenario.warmup >= horizon:
        raise ScenarioError(
            scenario.name,
            [("duration", f"must be longer than the warm-up ({horizon:g}s <= {scenario.warmup:g}s)")],
        )
    return scenario, seed, horizon


def simulate(
    scenario,
    seed: int | None = None,
    duration: float | str | None = None,
    *,
    replications: int | None = None,
    batches: int | None = None,
    confidence: float = 0.95,
    jobs: int = 1,
    executor: Executor | None = None,
    records: str = "attempts",
    stream_to=None,
    audit: bool = False,
) -> Result:
    """Run ``scenario`` (a path, a dict or a Scenario) and return its :class:`Result`.

    ``seed`` and ``duration`` override the file's. With ``replications`` (or the file's
    ``replications``) above 1, the summary holds means and a ``ci95`` tree of Student-t half-widths at
    ``confidence``; ``batches`` instead splits one long run after the warm-up into equal batches (batch
    means). ``jobs`` runs replications in local processes; ``executor`` on any Executor (e.g. Dask's).
    ``audit=True`` checks every cap after every event (slower; for tests).
    """
    scenario, seed, horizon = _prepare(scenario, seed, duration)
    n = replications if replications is not None else scenario.replications
    header = {"scenario": scenario.name, "seed": seed, "duration": horizon, "warmup": scenario.warmup}
    if batches:
        return _batch_means(scenario, seed, horizon, batches, confidence, header, records)
    if stream_to is not None and (n > 1 or batches):
        raise ValueError("stream_to writes the records of a single run: drop replications/batches")
    if n <= 1:
        (summary,), kept, checked = run_once(
            scenario,
            seed,
            horizon,
            [(scenario.warmup, horizon)],
            keep=True,
            audit=audit,
            records=records,
            stream_to=stream_to,
        )
        return Result(
            scenario,
            compile_network(scenario),
            kept,
            seed,
            horizon,
            {**header, **summary},
            partial(replications_table, [summary]),  # a DataFrame only when asked (pandas is slow to import)
            checked,
        )
    runs, kept = run_many(
        scenario,
        replication_seeds(seed, n),
        horizon,
        [(scenario.warmup, horizon)],
        jobs=jobs,
        executor=executor,
        records=records,
    )
    mean, half, frame = aggregate([r[0] for r in runs], confidence)
    summary = {**header, "replications": n, "confidence": confidence, **mean, "ci95": half}
    return Result(scenario, compile_network(scenario), kept, seed, horizon, summary, frame)


def _batch_means(scenario, seed, horizon, batches, confidence, header, records) -> Result:
    if batches < 2:
        raise ValueError(f"batches must be at least 2, got {batches}")
    length = (horizon - scenario.warmup) / batches
    windows = [(scenario.warmup + i * length, scenario.warmup + (i + 1) * length) for i in range(batches)]
    summaries, kept, _ = run_once(scenario, seed, horizon, windows, keep=True, records=records)
    mean, half, frame = aggregate(summaries, confidence)
    frame.index.name = "batch"
    summary = {**header, "batches": batches, "confidence": confidence, **mean, "ci95": half}
    return Result(scenario, compile_network(scenario), kept, seed, horizon, summary, frame)


class Comparison:
    """Two variants run on the same random numbers: per-KPI difference (B minus A) with paired and
    unpaired confidence intervals. ``table`` is a DataFrame indexed by KPI path."""

    def __init__(self, a: Result, b: Result, confidence: float):
        import pandas as pd

        self.a, self.b, self.confidence = a, b, confidence
        common = [c for c in a.replications.columns if c in b.replications.columns]
        fa, fb = a.replications[common], b.replications[common]
        diff = fb - fa
        mean_diff, paired = mean_and_half_width(diff, confidence)
        na, nb = fa.notna().sum(), fb.notna().sum()
        va, vb = fa.var(ddof=1) / na, fb.var(ddof=1) / nb
        welch_df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        unpaired = (
            pd.Series(
                {
                    c: t_quantile(confidence, float(welch_df[c])) if welch_df[c] > 0 else float("nan")
                    for c in common
                }
            )
            * (va + vb) ** 0.5
        )
        self.table = pd.DataFrame(
            {
                "a": fa.mean(),
                "b": fb.mean(),
                "difference": mean_diff,
                "paired_half_width": paired,
                "unpaired_half_width": unpaired,
            }
        )
        self.table["significant"] = (self.table["difference"].abs() > self.table["paired_half_width"]).fillna(
            False
        )
        self.table.index.name = "kpi"


def compare(
    a,
    b,
    replications: int = 20,
    seed: int | None = None,
    duration: float | str | None = None,
    *,
    confidence: float = 0.95,
    jobs: int = 1,
    executor: Executor | None = None,
) -> Comparison:
    """Run variants ``a`` and ``b`` with the same replication seeds (common random numbers)."""
    scenario_a = load_scenario(a)
    seed = scenario_a.seed if seed is None else seed
    if replications < 2:
        raise ValueError(f"compare needs at least 2 replications, got {replications}")
    kwargs: dict[str, Any] = dict(
        seed=seed,
        duration=duration,
        replications=replications,
        confidence=confidence,
        jobs=jobs,
        executor=executor,
    )
    return Comparison(simulate(scenario_a, **kwargs), simulate(b, **kwargs), confidence)
