"""Confidence intervals for statistical tests: the tolerance comes from the data, at a stated level.

Each check passes when the exact value lies inside the Student-t (or normal) interval at
LEVEL = 0.9999 (|z| <= ~3.9), so a correct simulator fails a check about once in 10,000 runs; every
check is seeded, so a run is repeatable.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _stats

LEVEL = 0.9999


def t_half_width(samples, level: float = LEVEL) -> tuple[float, float]:
    """Mean and half-width of the Student-t interval over independent replications."""
    x = np.asarray(samples, dtype=float)
    n = len(x)
    q = _stats.t.ppf(0.5 + level / 2, n - 1)
    return float(x.mean()), float(q * x.std(ddof=1) / math.sqrt(n))


def assert_covers(samples, exact: float, level: float = LEVEL, what: str = "") -> None:
    mean, half = t_half_width(samples, level)
    assert abs(mean - exact) <= half, (
        f"{what}: replications give {mean:.6f} ± {half:.6f} ({level:.2%}), exact {exact:.6f}"
    )


def assert_binomial(successes: int, trials: int, p: float, level: float = LEVEL, what: str = "") -> None:
    """Independent Bernoulli trials (e.g. per-call routing draws): normal interval around p."""
    z = _stats.norm.ppf(0.5 + level / 2)
    half = z * math.sqrt(p * (1 - p) / trials)
    share = successes / trials
    assert abs(share - p) <= half, f"{what}: {share:.5f} vs exact {p:.5f} ± {half:.5f} ({level:.2%})"
