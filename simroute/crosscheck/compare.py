"""One set of counts for both runs, and the rule that says whether they agree.

:func:`lab_counts` reads attempt records, the real run's and the simulation's alike. The simulation
replays the same trace in ``R`` replications whose only randomness left is the weighted draw (DIDWW's
rule: a new random order per call); Kamailio's dispatcher follows a fixed cycle through a 100-slot
table and fails over within a priority in list order. A quantity that is the same in every replication
is settled by the trace and must agree exactly; one that varies must lie within the prediction interval
of the replications (Student-t, ``mean ± t·sd·sqrt(1 + 1/R)``). The check is one verdict over all the
quantities that vary, so its level is family-wise: each of the ``k`` is checked at ``1 - 0.001 / k``
(Bonferroni), and a run that routes as simroute does passes all of them together with probability at
least 99.9 %. (Kamailio's own draws are not seeded: its dispatcher shuffles its table at start-up.)
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from ..records.attempts import Records
from ..scenario import codes
from .lab import Lab

__all__ = ["LEVEL", "lab_counts", "forbidden_paths", "side_by_side"]

#: Family-wise level of the agreement over every quantity that varies
LEVEL = 0.999


def lab_counts(rec: Records, lab: Lab) -> dict[str, float]:
    """Per trunk: INVITEs received, answered, failed over on each code, ringing timeouts, refused at
    the capacity limit; and per run: calls, answered calls, attempts."""
    trunk, cause, last = rec.trunk, rec.cause, rec.is_last
    out: dict[str, float] = {
        "calls": float(np.count_nonzero(last)),
        "answered": float(np.count_nonzero(last & (cause == codes.ANSWERED))),
    }
    error_codes = sorted({int(c) for c in np.unique(cause) if 400 <= c <= 699})
    for t in lab.trunks:
        on = trunk == t.index
        name = t.name
        out[f"{name}.invites"] = float(np.count_nonzero(on & (cause != codes.TRUNK_CAPACITY)))
        out[f"{name}.answered"] = float(np.count_nonzero(on & (cause == codes.ANSWERED)))
        out[f"{name}.ringing_timeouts"] = float(np.count_nonzero(on & (cause == codes.RINGING_TIMEOUT)))
        out[f"{name}.capacity_refusals"] = float(np.count_nonzero(on & (cause == codes.TRUNK_CAPACITY)))
        for c in error_codes:
            out[f"{name}.failover_{c}"] = float(np.count_nonzero(on & (cause == c) & ~last))
        out[f"{name}.failover_timeout"] = float(
            np.count_nonzero(on & (cause == codes.RINGING_TIMEOUT) & ~last)
        )
    for key, value in forbidden_paths(rec, lab).items():
        out[f"forbidden.{key}"] = float(value)
    return out


def forbidden_paths(rec: Records, lab: Lab) -> dict[str, int]:
    """Paths the configuration forbids, counted (each must be 0): going on after a cause the trunk does
    not re-route on, more attempts than ``max_attempts``, a trunk of an earlier priority tried after one
    of a later priority, a trunk tried twice in one call."""
    by_index = {t.index: t for t in lab.trunks}
    call, attempt, trunk, cause, last = rec.call_id, rec.routing_attempt, rec.trunk, rec.cause, rec.is_last
    after_final = over_max = out_of_order = twice = 0
    for i in range(len(call)):
        t = by_index.get(int(trunk[i]))
        if attempt[i] > lab.max_attempts:
            over_max += 1
        if i + 1 < len(call) and not last[i] and t is not None:
            c = int(cause[i])
            moves = (
                c in t.reroute_codes
                or (c == codes.RINGING_TIMEOUT and t.reroute_timeout)
                or (c == codes.TRUNK_CAPACITY and t.reroute_capacity)
            )
            if not moves:
                after_final += 1
            nxt = by_index.get(int(trunk[i + 1]))
            if nxt is not None and nxt.priority < t.priority:
                out_of_order += 1
    start = 0
    while start < len(call):
        end = start
        while not last[end]:
            end += 1
        tried = trunk[start : end + 1]
        twice += len(tried) - len(set(tried.tolist()))
        start = end + 1
    return {
        "after_final_cause": after_final,
        "over_max_attempts": over_max,
        "earlier_priority_later": out_of_order,
        "trunk_tried_twice": twice,
    }


def side_by_side(real: dict[str, float], simulated: list[dict[str, float]]) -> pd.DataFrame:
    """One row per quantity: Kamailio's count, the replications' mean, the tolerance, and whether they
    agree."""
    keys = list(dict.fromkeys([*real, *(k for s in simulated for k in s)]))
    r = len(simulated)
    columns = {key: np.array([s.get(key, 0.0) for s in simulated]) for key in keys}
    varying = sum(not _settled(v) for v in columns.values())
    each = 1 - (1 - LEVEL) / max(varying, 1)  # Bonferroni: the family of varying quantities at LEVEL
    q = float(stats.t.ppf(0.5 + each / 2, r - 1)) if r > 1 else math.inf
    rows = []
    for key in keys:
        values = columns[key]
        mean = float(values.mean())
        settled = _settled(values)
        sd = 0.0 if settled or r < 2 else float(values.std(ddof=1))
        tolerance = 0.0 if settled else q * sd * math.sqrt(1 + 1 / r)
        kam = real.get(key, 0.0)
        rows.append(
            {
                "quantity": key,
                "kamailio": kam,
                "simroute": mean,
                "difference": kam - mean,
                "tolerance": tolerance,
                "exact": settled,
                "agrees": abs(kam - mean) <= tolerance + 1e-9 * max(1.0, abs(mean)),
            }
        )
    return pd.DataFrame(rows)


def _settled(values: np.ndarray) -> bool:
    """The same in every replication: settled by the trace."""
    mean = float(values.mean())
    return float(values.max() - values.min()) <= 1e-12 * max(1.0, abs(mean))
