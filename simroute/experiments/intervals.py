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

__all__ = ["flatten", "labels", "unflatten", "t_quantile", "mean_and_half_width", "COUNT_PREFIXES"]

#: Leaves under these keys are counts that are absent when zero (an outcome that never happened).
COUNT_PREFIXES = ("kpis.outcomes.",)
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
