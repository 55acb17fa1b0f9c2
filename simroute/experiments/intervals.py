"""Confidence intervals over replications, for every numeric KPI of a summary.

A summary is a tree of dicts; its numeric leaves are flattened to dotted keys
(``trunks.pbx-fra.carried_erlangs``), averaged over replications, and given a Student-t half-width. The
mean and half-width trees keep the summary's shape, so ``ci95`` mirrors ``kpis``, ``trunks``...
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "flatten",
    "labels",
    "unflatten",
    "t_quantile",
    "mean_and_half_width",
    "estimates",
    "pooled_interval",
    "dispersion",
    "COUNT_PREFIXES",
    "PROPORTIONS",
    "FEW_EVENTS",
]

#: Leaves under these keys are counts that are absent when zero (an outcome that never happened).
COUNT_PREFIXES = ("kpis.outcomes.", "kpis.caller_outcomes.")
_SEP = "\x1f"  # joins path parts internally: names may contain dots


def flatten(tree: dict, prefix: tuple = ()) -> dict[tuple, float]:
    """Numeric leaves of ``tree`` keyed by their path (None becomes NaN; text and lists are skipped)."""
    out: dict[tuple, float] = {}
    for key, value in tree.items():
        path = (*prefix, key)
        if isinstance(value, dict):
            out.update(flatten(value, path))
        elif value is None:
            out[path] = math.nan
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[path] = float(value)
    return out


def labels(tree: dict, prefix: tuple = ()) -> dict[tuple, str]:
    """Text leaves of ``tree`` (a currency, a name) keyed by their path: they stay as they are."""
    out: dict[tuple, str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(labels(value, (*prefix, key)))
        elif isinstance(value, str):
            out[(*prefix, key)] = value
    return out


def unflatten(leaves: dict[tuple, object]) -> dict:
    """The tree back from path-keyed leaves."""
    tree: dict = {}
    for path, value in leaves.items():
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return tree


def t_quantile(confidence: float, df: float) -> float:
    """Student-t quantile of a two-sided interval at ``confidence`` with ``df`` degrees of freedom."""
    from scipy.special import stdtrit  # imported when first needed (scipy.stats would cost 0.5 s more)

    return float(stdtrit(df, 0.5 + confidence / 2)) if df > 0 else math.nan


def mean_and_half_width(frame: pd.DataFrame, confidence: float) -> tuple[pd.Series, pd.Series]:
    """Per column: the mean over rows (replications) and the Student-t half-width (NaN below 2 values)."""
    import pandas as pd

    n = frame.notna().sum()
    constant = (
        frame.max() == frame.min()
    )  # a configured value (weight_share): exact, not summed with rounding
    mean = frame.mean().where(~constant, frame.max())
    sd = frame.std(ddof=1).where(~constant, 0.0)
    q = pd.Series(
        {c: t_quantile(confidence, int(k) - 1) if k >= 2 else math.nan for c, k in n.items()}, dtype=float
    )
    return mean, q * sd / np.sqrt(n.where(n > 0))


#: Proportion KPIs (leaf name) and the count beside them that is their number of trials: a replication's
#: events are ``value * trials``. These are the KPIs whose interval falls back to pooled counts when
#: the replications saw too few events.
PROPORTIONS = {
    "loss_probability": "offered",
    "completion_rate": "offered",
    "blocking_probability": "offered",
    "served_rate": "offered",
    "first_attempt_blocking": "fresh_offered",
    "retry_blocking": "retries",
    "final_blocking": "fresh_offered",
    "caller_completion_rate": "fresh_offered",
    "caller_loss_probability": "fresh_offered",
    "caller_served_rate": "fresh_offered",
    "attempt_blocking": "attempts",
    "error_fraction": "attempts",
    "timeout_fraction": "attempts",
}
#: Below this many events (or non-events) in all replications together, a Student-t interval on the
#: per-replication proportions does not hold (it collapses to "0 ± 0" when no replication saw one).
FEW_EVENTS = 10
#: Resources whose time at capacity makes their blocked attempts come in bursts, and the count of
#: attempts (or calls) that reach them.
_CONGESTED = {"trunks": "attempts", "groups": "offered", "dids": "offered"}
_CALL_LEVEL = ("loss_probability", "completion_rate", "blocking_probability", "served_rate")


def _pooled(frame: pd.DataFrame, column: str) -> tuple[float, float] | None:
    """Events and trials of a proportion column summed over replications (None if not a proportion)."""
    head, _, leaf = column.rpartition(".")
    trials_column = f"{head}.{PROPORTIONS[leaf]}" if leaf in PROPORTIONS else None
    if trials_column not in frame.columns:
        return None
    value, trials = frame[column].to_numpy(float), frame[trials_column].to_numpy(float)
    ok = np.isfinite(value) & np.isfinite(trials)
    events = float(np.round(value[ok] * trials[ok]).sum())
    return events, float(trials[ok].sum())


def _burst_dispersion(frame: pd.DataFrame, congestion: str, count: str) -> float:
    """Variance over mean of the blocked attempts at a resource, from its time at capacity.

    Attempts arrive as a Poisson stream (nearly), so those blocked in a replication are Poisson given
    the time ``F`` the resource spent full (PASTA): Var(X) = E[X] + rate**2 Var(F), a dispersion of
    ``1 + attempts * Var(tc) / E[tc]`` in terms of the time congestion ``tc`` and the attempts per
    replication. Time at capacity is measured continuously, so this holds up when almost no attempt was
    blocked, where the blocked counts themselves say nothing about their spread.
    """
    tc, n = frame[congestion].to_numpy(float), frame[count].to_numpy(float)
    ok = np.isfinite(tc) & np.isfinite(n)
    if ok.sum() < 2 or tc[ok].mean() <= 0:
        return 1.0
    return 1.0 + n[ok].mean() * tc[ok].var(ddof=1) / tc[ok].mean()


def dispersion(frame: pd.DataFrame, column: str) -> float:
    """How much more the pooled events of ``column`` vary than independent trials would (at least 1).

    The largest of: the spread between replications (Pearson's chi-square over its degrees of freedom);
    for a trunk's ``attempt_blocking``, the burstiness its time at capacity implies; for a call-level KPI,
    the burstiest resource of the scenario (every trunk, group and DID with a time congestion)."""
    pooled = _pooled(frame, column)
    if pooled is None:
        return 1.0
    events, trials = pooled
    head, _, leaf = column.rpartition(".")
    value = frame[column].to_numpy(float)
    n = frame[f"{head}.{PROPORTIONS[leaf]}"].to_numpy(float)
    ok = np.isfinite(value) & np.isfinite(n) & (n > 0)
    p = events / trials
    found = [1.0]
    if ok.sum() >= 2 and 0 < p < 1:
        x = np.round(value[ok] * n[ok])
        found.append(float(((x - n[ok] * p) ** 2 / (n[ok] * p * (1 - p))).sum() / (ok.sum() - 1)))
    if leaf == "attempt_blocking" and f"{head}.time_congestion" in frame.columns:
        found.append(_burst_dispersion(frame, f"{head}.time_congestion", f"{head}.attempts"))
    if head == "kpis" and leaf in _CALL_LEVEL:
        for c in frame.columns:
            kind, _, rest = c.partition(".")
            if kind in _CONGESTED and c.endswith(".time_congestion"):
                count = c[: -len("time_congestion")] + _CONGESTED[kind]
                if count in frame.columns:
                    found.append(_burst_dispersion(frame, c, count))
    return max(found)


def pooled_interval(frame: pd.DataFrame, column: str, confidence: float) -> tuple[float, float]:
    """An interval for a proportion from its events pooled over replications, for when they are few.

    The pooled events are treated as over-dispersed Poisson counts (quasi-Poisson): with dispersion
    ``D`` (:func:`dispersion`), ``events / D`` behave as Poisson counts, whose exact (Garwood) interval,
    scaled back by ``D / trials``, is the interval. Applied to the rarer side (a completion rate near 1
    is judged on its failures)."""
    from scipy.special import gammaincinv

    pooled = _pooled(frame, column)
    if pooled is None:
        raise ValueError(f"{column} is not a proportion with its trials beside it")
    events, trials = pooled
    flip = events > trials - events
    rare = trials - events if flip else events
    d = dispersion(frame, column)
    alpha = 1 - confidence
    effective = rare / d
    low = 0.0 if effective <= 0 else float(gammaincinv(effective, alpha / 2)) * d / trials
    high = min(1.0, float(gammaincinv(effective + 1, 1 - alpha / 2)) * d / trials)
    return (1 - high, 1 - low) if flip else (low, high)


def estimates(frame: pd.DataFrame, confidence: float) -> pd.DataFrame:
    """Per KPI column of ``frame`` (one row per replication): ``mean``, ``half_width``, ``low``, ``high``,
    ``method`` (``t``: Student-t over replications; ``pooled``: too few events, see
    :func:`pooled_interval`) and ``events`` (pooled events of a proportion, else NaN)."""
    import pandas as pd

    mean, half = mean_and_half_width(frame, confidence)
    rows = {}
    for column in frame.columns:
        m, h = float(mean[column]), float(half[column])
        low, high, method, events = m - h, m + h, "t", math.nan
        pooled = _pooled(frame, column)
        if pooled is not None:
            events, trials = pooled
            if trials > 0 and min(events, trials - events) < FEW_EVENTS and len(frame) >= 2:
                low, high = pooled_interval(frame, column, confidence)
                method, m = "pooled", events / trials
                h = (high - low) / 2
        rows[column] = {
            "mean": m,
            "half_width": h,
            "low": low,
            "high": high,
            "method": method,
            "events": events,
        }
    columns = ["mean", "half_width", "low", "high", "method", "events"]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = "kpi"
    return table
