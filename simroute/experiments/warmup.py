"""``warmup: auto``: the warm-up chosen from the run's own output by MSER-5 (White, 1997).

A run that starts empty carries less than its steady load for its first holding times. MSER-5 looks at the
output series (here: the erlangs carried over all DIDs in each of :data:`WINDOWS` equal windows), averages
it in batches of 5, and drops the leading batches ``d`` that minimise the marginal standard error of what
is left, ``sum((b[d:] - mean(b[d:]))**2) / (n - d)**2``, searching ``d`` over the first half of the run
(a minimum in the second half means the run is too short to tell, and is reported as such). With several
replications the series is their average over the first :data:`PILOTS` of them (replicated MSER), so one
warm-up serves them all and every executor picks the same.
"""

from __future__ import annotations

import numpy as np

from .replications import run_once

__all__ = ["WINDOWS", "PILOTS", "BATCH", "mser", "choose_warmup"]

WINDOWS = 200  # observations of the series over the run
BATCH = 5  # MSER-5: batch means of 5 observations
PILOTS = 5  # replications whose average series decides


def mser(series, batch: int = BATCH) -> tuple[int, bool]:
    """Observations to drop from the start of ``series`` (a multiple of ``batch``), and whether the
    minimum fell inside the first half (False: the series is too short to settle)."""
    x = np.asarray(series, dtype=float)
    n = len(x) // batch
    if n < 4:
        return 0, False
    b = x[: n * batch].reshape(n, batch).mean(axis=1)
    stats = []
    for d in range(n - 1):
        rest = b[d:]
        stats.append(((rest - rest.mean()) ** 2).sum() / (n - d) ** 2)
    d = int(np.argmin(stats[: n // 2 + 1]))
    settled = int(np.argmin(stats)) <= n // 2
    return d * batch, settled


def _carried(summary: dict) -> float:
    return float(sum(d.get("carried_erlangs") or 0.0 for d in summary.get("dids", {}).values()))


def choose_warmup(network, seeds: list, horizon: float) -> dict:
    """Run the pilot replications with the series' windows and return the chosen warm-up and how."""
    length = horizon / WINDOWS
    windows = [(i * length, (i + 1) * length) for i in range(WINDOWS)]
    series = np.zeros(WINDOWS)
    for seed in seeds[:PILOTS]:
        summaries = run_once(network, seed, horizon, windows, records="none")[0]
        series += [_carried(s) for s in summaries]
    series /= max(1, min(len(seeds), PILOTS))
    drop, settled = mser(series)
    return {
        "method": "MSER-5",
        "warmup": drop * length,
        "series": f"erlangs carried by all DIDs in {WINDOWS} windows of {length:g}s",
        "replications": min(len(seeds), PILOTS),
        "settled": settled,
    }
