"""Fit traffic and endpoint behaviour from a CDR export: what ``simroute fit`` writes.

Per DID: the call rate with its exact Poisson interval, a chi-square test of whether a constant rate fits
the counts per ``resolution`` interval, and when it does not an hourly profile (a trace of whole days)
or steps (a shorter one); the holding-time distribution. Per trunk: the answer-delay distribution and
the response-code mix, as an ``endpoint`` block.

Durations come as whole seconds (billed per started second by default [I]): each is the interval of
true values it stands for, so the models are fitted to the interval midpoints (the mean is not biased by
half a second) and compared on the exact likelihood of the rounded data. The criterion, stated in each
fit: the lower AIC of exponential and lognormal, unless that model's chi-square goodness of fit on the
rounded counts has p < ``alpha``; then the empirical distribution.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

from ..errors import SimrouteError
from ..scenario.units import parse_duration
from .cdr import answered_rows, group_calls, read_cdr
from .files import atomic_path

__all__ = ["fit_cdr", "fit_durations", "ROUNDING", "write_fit"]

#: Where a billed whole second ``d`` puts the true duration: (d + low, d + high].
ROUNDING = {"ceil": (-1.0, 0.0), "round": (-0.5, 0.5), "floor": (0.0, 1.0)}
MIN_FIT = 20  # fewer values than this: an exponential of their mean, no model choice
MAX_EMPIRICAL = 2000  # distinct values kept in an empirical distribution


def _r(x: float, digits: int = 4) -> float:
    return float(f"{x:.{digits}g}") if math.isfinite(x) else float("nan")


def _gof(dist, d: np.ndarray, high: float, params: int) -> tuple[float, float]:
    """Chi-square goodness of fit of a frozen ``dist`` to rounded values ``d`` (bins at their quantiles)."""
    k = int(min(20, max(len(d) // 10, 3)))
    edges = np.unique(np.quantile(d, np.linspace(0, 1, k + 1)))
    if len(edges) < 3:
        return float("nan"), float("nan")
    inner = edges[1:-1]
    observed = np.bincount(np.searchsorted(inner, d, side="left"), minlength=len(inner) + 1)
    cdf = np.concatenate(([0.0], dist.cdf(inner + high), [1.0]))
    expected = np.diff(cdf) * len(d)
    # chi-square needs about 5 expected per bin: merge each thin bin into the next (the last backwards)
    obs, exp = [], []
    o_acc = e_acc = 0.0
    for o, e in zip(observed, expected):
        o_acc, e_acc = o_acc + o, e_acc + e
        if e_acc >= 5:
            obs.append(o_acc)
            exp.append(e_acc)
            o_acc = e_acc = 0.0
    if obs and e_acc > 0:
        obs[-1] += o_acc
        exp[-1] += e_acc
    observed, expected = np.asarray(obs), np.asarray(exp)
    if len(observed) < 2:
        return float("nan"), float("nan")
    expected *= observed.sum() / expected.sum()
    df = len(observed) - 1 - params
    if df < 1:
        return float("nan"), float("nan")
    result = stats.chisquare(observed, expected, ddof=params)
    return float(result.statistic), float(result.pvalue)


def fit_durations(values, rounding: str = "ceil", alpha: float = 0.01, level: float = 0.95) -> dict:
    """Choose a distribution for whole-second durations ``values``: returns ``{"dist": {...}, "report":
    {...}}`` with the scenario distribution and the evidence (AIC, chi-square, p-values, mean and CI)."""
    d = np.asarray(values, dtype=float)
    low, high = ROUNDING[rounding]
    mid = np.maximum(d + (low + high) / 2, 0.0)
    n = len(d)
    report: dict = {"n": n, "rounding": rounding}
    if n == 0:
        return {"dist": None, "report": report}
    mean = float(mid.mean())
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * mid.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    report.update(mean=_r(mean, 6), mean_ci=[_r(mean - half, 6), _r(mean + half, 6)], level=level)
    if mid.max() <= 0:
        report.update(chosen="deterministic", criterion="every value is 0")
        return {"dist": 0.0, "report": report}
    if n < MIN_FIT:
        report.update(
            chosen="exponential", criterion=f"fewer than {MIN_FIT} values: exponential of their mean"
        )
        return {"dist": {"dist": "exponential", "mean": _r(mean, 6)}, "report": report}
    values_, counts = np.unique(d, return_counts=True)
    lo = np.maximum(values_ + low, 0.0)
    hi = values_ + high
    candidates = {}
    fitted = {"exponential": stats.expon(scale=mean)}
    positive = mid[mid > 0]
    if len(positive) == n:
        shape, _, scale = stats.lognorm.fit(mid, floc=0)
        fitted["lognormal"] = stats.lognorm(shape, scale=scale)
    for name, dist in fitted.items():
        k = 1 if name == "exponential" else 2
        p = np.clip(dist.cdf(hi) - dist.cdf(lo), 1e-300, None)
        loglik = float(np.sum(counts * np.log(p)))
        chi2, pvalue = _gof(dist, d, high, k)
        candidates[name] = {"aic": _r(2 * k - 2 * loglik, 8), "chi2": _r(chi2), "p_value": _r(pvalue)}
    best = min(candidates, key=lambda c: candidates[c]["aic"])
    report["candidates"] = candidates
    report["criterion"] = (
        f"lowest AIC of exponential and lognormal, unless its chi-square goodness of fit has p < {alpha:g}: "
        "then empirical"
    )
    p_best = candidates[best]["p_value"]
    if not (p_best < alpha):  # a NaN p (too few distinct values to test) keeps the parametric choice
        report["chosen"] = best
        if best == "exponential":
            return {"dist": {"dist": "exponential", "mean": _r(mean, 6)}, "report": report}
        dist = fitted["lognormal"]
        return {
            "dist": {"dist": "lognormal", "mean": _r(float(dist.mean()), 6), "sd": _r(float(dist.std()), 6)},
            "report": report,
        }
    report["chosen"] = "empirical"
    mids, weights = np.unique(mid, return_counts=True)
    if len(mids) > MAX_EMPIRICAL:  # keep the distribution's shape in MAX_EMPIRICAL quantiles
        mids = np.quantile(mid, (np.arange(MAX_EMPIRICAL) + 0.5) / MAX_EMPIRICAL)
        weights = np.ones(MAX_EMPIRICAL, dtype=np.int64)
    return {
        "dist": {"dist": "empirical", "values": [_r(v, 6) for v in mids], "weights": weights.tolist()},
        "report": report,
    }


def _poisson_ci(count: int, level: float) -> tuple[float, float]:
    """Exact (Garwood) interval of a Poisson mean from one count."""
    a = 1 - level
    lo = stats.chi2.ppf(a / 2, 2 * count) / 2 if count > 0 else 0.0
    return float(lo), float(stats.chi2.ppf(1 - a / 2, 2 * count + 2) / 2)


def _traffic(arrivals, holding, t0, t1, step, rounding, alpha, level) -> tuple[dict, dict]:
    n = len(arrivals)
    span = t1 - t0
    hours = span / 3600.0
    edges = t0 + np.arange(0, span + step / 2, step)
    counts = np.histogram(arrivals, edges)[0]
    lo, hi = _poisson_ci(n, level)
    rate = n / hours
    report: dict = {
        "calls": n,
        "calls_per_hour": _r(rate, 6),
        "calls_per_hour_ci": [_r(lo / hours, 6), _r(hi / hours, 6)],
        "level": level,
        "rates_per_hour": [_r(c * 3600.0 / step, 6) for c in counts],
    }
    test = stats.chisquare(counts) if len(counts) > 1 and n > 0 else None
    constant = test is None or not (float(test.pvalue) < alpha)
    report["constant_rate_test"] = {
        "test": "chi-square of the counts per interval against a constant rate",
        "intervals": len(counts),
        "chi2": _r(float(test.statistic)) if test else None,
        "p_value": _r(float(test.pvalue)) if test else None,
        "constant": constant,
        "alpha": alpha,
    }
    holding_fit = fit_durations(holding, rounding, alpha, level)
    report["holding_time"] = holding_fit["report"]
    traffic: dict = {"calls_per_hour": _r(rate, 6)}
    if not constant:
        days = span / 86400.0
        if days >= 1 and abs(days - round(days)) < 1e-9:
            hour = ((np.asarray(arrivals) - t0) // 3600 % 24).astype(int)
            per_hour = np.bincount(hour, minlength=24)
            profile = per_hour * 24.0 / max(n, 1)
            cis = [stats.binomtest(int(k), n).proportion_ci(level) for k in per_hour]
            traffic["profile"] = [_r(m, 5) for m in profile]
            report["profile_ci"] = [[_r(c.low * 24, 5), _r(c.high * 24, 5)] for c in cis]
            report["profile_hour_0"] = "the window's start"
        else:
            del traffic["calls_per_hour"]
            traffic["steps"] = [
                {"at": _r(i * step, 8), "calls_per_hour": _r(c * 3600.0 / step, 6)}
                for i, c in enumerate(counts)
            ]
    dist = holding_fit["dist"]
    traffic["holding_time"] = dist if dist is not None else {"dist": "exponential", "mean": 180.0}
    if dist is None:
        report["holding_time"]["note"] = "no answered call: the default 3 min exponential stands in"
    return traffic, report


def _endpoint(rows: pd.DataFrame, answered: np.ndarray, rounding: str, alpha: float, level: float):
    initiator = rows["initiator"].str.lower() if "initiator" in rows else pd.Series("", index=rows.index)
    response = rows["response"].str.lower() if "response" in rows else pd.Series("", index=rows.index)
    code = rows["code"] if "code" in rows else pd.Series(np.nan, index=rows.index)
    timeout = response.str.contains("ringing timeout").to_numpy() & ~answered
    no_answer = response.str.contains("transaction timeout").to_numpy() & ~answered & ~timeout
    far = (initiator == "destination").to_numpy() & ~answered & ~timeout & ~no_answer
    far &= code.between(400, 699).to_numpy()
    seized = int(answered.sum() + timeout.sum() + no_answer.sum() + far.sum())
    mix = (
        pd.Series(
            1, index=[f"{int(c)} {r}".strip() for c, r in zip(code.fillna(0), rows.get("response", ""))]
        )
        .groupby(level=0)
        .sum()
    )
    report: dict = {
        "attempts": len(rows),
        "answered": int(answered.sum()),
        "ringing_timeouts": int(timeout.sum()),
        "no_response": int(no_answer.sum()),
        "response_mix": {k: _r(v / len(rows), 6) for k, v in mix.sort_values(ascending=False).items()},
        "note": "endpoint shares are over attempts that reached the far end (answered, a far-end code, "
        "no response, a ringing timeout); DIDWW's own refusals (capacity, POP) are left out",
    }
    endpoint: dict = {}
    if seized:
        responses = code[far].astype(int).value_counts()
        endpoint["responses"] = {int(c): _r(k / seized, 6) for c, k in responses.sort_index().items()}
        if no_answer.any():
            endpoint["no_response"] = _r(no_answer.sum() / seized, 6)
        rest = answered.sum() + timeout.sum()
        if rest:
            endpoint["answer_probability"] = _r(answered.sum() / rest, 6)
    if "connect" in rows and answered.any():
        delay = np.round(rows["connect"].to_numpy()[answered] - rows["start"].to_numpy()[answered])
        fit = fit_durations(np.maximum(delay, 0), "round", alpha, level)
        report["answer_delay"] = fit["report"]
        report["answer_delay"]["note"] = "from second-resolution timestamps, treated as rounded to the second"
        endpoint["answer_delay"] = fit["dist"]
    return endpoint, report


def fit_cdr(
    source,
    resolution: str | float = "15min",
    rounding: str = "ceil",
    alpha: float = 0.01,
    level: float = 0.95,
) -> dict:
    """The ``traffic.yaml`` content fitted from a CDR export: ``dids`` (number, traffic), ``trunks``
    (name, endpoint) and ``fit`` (the evidence: intervals, tests, candidates, the criterion)."""
    if rounding not in ROUNDING:
        raise SimrouteError(f"--duration-rounding: expected one of {', '.join(ROUNDING)}, got {rounding!r}")
    step = parse_duration(resolution) if isinstance(resolution, str) else float(resolution)
    if step <= 0:
        raise SimrouteError(f"--resolution must be a positive duration, got {resolution!r}")
    cdr, fmt = read_cdr(source)
    if not len(cdr):
        raise SimrouteError(f"{source}: the export has a header but no CDR rows")
    call = group_calls(cdr)
    answered = answered_rows(cdr)
    first = np.full(call.max() + 1, -1)
    order = np.lexsort((cdr["attempt"].to_numpy() if "attempt" in cdr else np.zeros(len(cdr)), cdr["start"]))
    for i in order[::-1]:
        first[call[i]] = i
    arrivals = cdr["start"].to_numpy()[first]
    calls_did = cdr["did"].to_numpy()[first]
    t0 = math.floor(arrivals.min() / step) * step
    t1 = (math.floor(arrivals.max() / step) + 1) * step
    out: dict = {"dids": [], "trunks": []}
    diag: dict = {
        "source": str(source),
        "format": fmt,
        "attempts": len(cdr),
        "calls": int(len(first)),
        "window": {"start": _stamp(t0, fmt), "end": _stamp(t1, fmt), "seconds": t1 - t0},
        "resolution_seconds": step,
        "dids": {},
        "trunks": {},
    }
    duration = cdr["duration"].to_numpy()
    for number in sorted(set(calls_did)):
        mine = calls_did == number
        rows = np.isin(call, np.flatnonzero(mine)) & answered
        traffic, report = _traffic(arrivals[mine], duration[rows], t0, t1, step, rounding, alpha, level)
        out["dids"].append({"number": str(number), "traffic": traffic})
        diag["dids"][str(number)] = report
    key = "trunk" if "trunk" in cdr else "destination" if "destination" in cdr else None
    if key is not None:
        for name in sorted(n for n in set(cdr[key]) if n):
            rows = (cdr[key] == name).to_numpy()
            endpoint, report = _endpoint(cdr[rows], answered[rows], rounding, alpha, level)
            out["trunks"].append({"name": name, "endpoint": endpoint})
            diag["trunks"][name] = report
    out["fit"] = diag
    return out


def _stamp(seconds: float, fmt: str) -> str | float:
    if fmt == "plain":
        return seconds
    return pd.Timestamp(seconds, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M:%S")


def _clean(value):
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def fit_text(fitted: dict) -> str:
    """``traffic.yaml``: the scenario blocks first, the evidence under ``fit:``."""
    from .didww import _Dumper  # one YAML style for what simroute writes

    header = (
        "# Fitted by simroute fit. dids[].traffic and trunks[].endpoint are scenario blocks (paste them,\n"
        "# or: simroute import didww ... --traffic this-file); fit: holds the evidence, not scenario keys.\n"
    )
    return header + yaml.dump(_clean(fitted), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)


def write_fit(fitted: dict, target) -> Path:
    target = Path(target)
    with atomic_path(target) as tmp:
        tmp.write_text(fit_text(fitted), encoding="utf-8")
    return target


def apply_fit(scenario: dict, fitted) -> dict:
    """A copy of ``scenario`` with the traffic of each DID and the endpoint of each trunk that ``fitted``
    (a dict, or a traffic.yaml path) holds, matched by number and name; the others keep their own."""
    import warnings

    if not isinstance(fitted, dict):
        from ..scenario import safeyaml

        label = str(fitted)
        try:
            fitted = safeyaml.load_file(Path(fitted))
        except safeyaml.SafeYamlError as exc:
            raise SimrouteError(f"{label}: {exc}") from None
        if not isinstance(fitted, dict) or not isinstance(fitted.get("dids", []), list):
            raise SimrouteError(f"{label}: not a traffic file of simroute fit (no dids: list)")
    traffic = {str(d["number"]): d["traffic"] for d in fitted.get("dids", []) if "number" in d}
    endpoints = {t["name"]: t["endpoint"] for t in fitted.get("trunks", []) if "name" in t}
    out = dict(scenario)
    out["dids"] = [{**d, "traffic": traffic.get(d["number"], d.get("traffic"))} for d in scenario["dids"]]
    out["trunks"] = [
        {**t, "endpoint": endpoints[t["name"]]} if t["name"] in endpoints and t.get("kind") != "pbx" else t
        for t in scenario["trunks"]
    ]
    unused = sorted(set(traffic) - {d["number"] for d in scenario["dids"]})
    if unused:
        warnings.warn(
            f"fitted traffic of DIDs not in the scenario, unused: {', '.join(unused[:10])}", stacklevel=2
        )
    return out
