"""Validation against exact teletraffic results: a built-in suite of scenarios with closed-form answers.

Each :class:`Case` is a scenario (built here as a dict and loaded with :func:`simroute.load_scenario`)
whose KPIs have exact values from :mod:`simroute.theory`: Erlang B at several loads, insensitivity to
the holding-time distribution, several DIDs sharing a trunk, a weighted split with and without failover,
a strict priority chain, re-routing on a load-independent error rate, ringing timeouts and a
time-varying (Mt/M/inf) load, and callers who redial (the M/M/c/c retrial queue, and Extended Erlang B at
long retrial delays). A case runs ``replications`` independent replications
(:func:`simroute.simulate`); each :class:`Check` extracts one number per replication from the
replication table (one row of dotted KPI paths such as ``kpis.loss_probability``) and compares its mean
with the exact value:

    z = (mean - theory) / se,    se = sd / sqrt(R)   (sd over the R replications),

and the check passes when ``|z| <= Z_THRESHOLD`` (4). For a normal estimate that is a false-failure
chance of 6e-5 per check; with R replications the statistic is Student-t with R - 1 degrees of freedom,
so the chance is P(|t_{R-1}| > 4): 1.2e-4 at R = 100, 2.1e-4 at R = 50, 7.6e-4 at R = 20. Every case
has a fixed seed, so a run is repeatable. Warm-ups are at least 20 mean holding times (4 h, i.e. 80, for
the heavy-tailed holding times; the time-varying case's oracle includes the start from empty).

``run_suite(quick=False)`` runs everything (about a minute on 2 cores); ``quick=True`` a few cases with
fewer replications, fast enough for the test suite. ``simroute validate`` prints the table.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from . import theory
from .api import simulate
from .experiments.intervals import t_quantile
from .scenario.schema import Scenario, load_scenario

__all__ = [
    "Z_THRESHOLD",
    "Check",
    "Case",
    "suite",
    "run_case",
    "judge",
    "evaluate",
    "run_suite",
    "with_theory",
    "format_table",
    "window_mean_busy",
    "window_arrivals",
    "sinusoid_steps",
]

#: A check passes when |mean - theory| <= Z_THRESHOLD standard errors.
Z_THRESHOLD = 4.0
#: Level of the ``ci95`` column (the half-width printed next to each simulated mean).
CONFIDENCE = 0.95

Extract = Callable[[pd.Series], float]


@dataclass(frozen=True)
class Check:
    """One KPI of a case: ``extract`` maps a replication's row of KPIs to a number, ``theory`` is exact."""

    kpi: str
    extract: Extract
    theory: float


@dataclass(frozen=True)
class Case:
    """A scenario with exact answers: what it shows, its checks, and how many replications it needs."""

    name: str
    description: str
    scenario: Scenario
    checks: tuple[Check, ...]
    replications: int
    seed: int


# --------------------------------------------------------------------------------------------------
# extractors: one number per replication from a row of the replication table
# --------------------------------------------------------------------------------------------------
def column(path: str) -> Extract:
    """The KPI at ``path`` (e.g. ``kpis.loss_probability``) as it is."""

    def extract(row: pd.Series) -> float:
        return float(row[path])

    extract.__doc__ = path
    return extract


def did_loss(number: str) -> Extract:
    """A DID's loss in one replication: 1 - answered / offered."""

    def extract(row: pd.Series) -> float:
        offered = row[f"dids.{number}.offered"]
        return 1.0 - row[f"dids.{number}.answered"] / offered if offered > 0 else math.nan

    return extract


# --------------------------------------------------------------------------------------------------
# scenario builders
# --------------------------------------------------------------------------------------------------
HOLD = 180.0  # mean holding time (s) of most cases
EXP_HOLD = {"dist": "exponential", "mean": HOLD}


def _hours(h: float) -> str:
    return f"{h:g}h"


def _traffic(erlangs: float, holding) -> dict:
    return {"erlangs": erlangs, "holding_time": holding}


def single_trunk(
    erlangs: float,
    circuits: int,
    holding=None,
    *,
    warmup_h: float = 1.0,
    window_h: float = 40.0,
    name: str = "single-trunk",
) -> dict:
    """One DID on one trunk of ``circuits`` channels that answers at once; no re-routing."""
    return {
        "name": name,
        "warmup": _hours(warmup_h),
        "duration": _hours(warmup_h + window_h),
        "trunks": [{"name": "trunk", "capacity_limit": circuits, "rerouting_codes": "none"}],
        "dids": [
            {"number": "100", "route": {"trunk": "trunk"}, "traffic": _traffic(erlangs, holding or EXP_HOLD)}
        ],
    }


def _group(
    name: str, members: list[dict], trunks: list[dict], traffic: dict, *, warmup_h: float, window_h: float
) -> dict:
    return {
        "name": name,
        "warmup": _hours(warmup_h),
        "duration": _hours(warmup_h + window_h),
        "trunks": trunks,
        "trunk_groups": [{"name": "g", "members": members}],
        "dids": [{"number": "100", "route": {"group": "g"}, "traffic": traffic}],
    }


# --------------------------------------------------------------------------------------------------
# the cases
# --------------------------------------------------------------------------------------------------
def erlang_b_case(erlangs: float, circuits: int, *, replications: int, window_h: float, seed: int) -> Case:
    scenario = load_scenario(
        single_trunk(erlangs, circuits, window_h=window_h), name=f"erlang-b {erlangs:g}/{circuits}"
    )
    exact = theory.erlang_b(erlangs, circuits)
    return Case(
        name=f"erlang-b-{erlangs:g}-{circuits}",
        description=f"one trunk of {circuits} channels offered {erlangs:g} erl (exponential holding, mean "
        f"{HOLD:g}s): loss = B({erlangs:g}, {circuits})",
        scenario=scenario,
        checks=(
            Check("kpis.loss_probability", column("kpis.loss_probability"), exact),
            Check(
                "trunks.trunk.carried_erlangs",
                column("trunks.trunk.carried_erlangs"),
                erlangs * (1.0 - exact),
            ),
        ),
        replications=replications,
        seed=seed,
    )


# Holding-time distributions of mean 180 s for the insensitivity cases (CV <= 3, see theory.md).
# hyper-exponential: 90% mean 100 s, 10% mean 900 s: mean 180 s, CV 2.13.
INSENSITIVE = {
    "deterministic": {"dist": "deterministic", "value": HOLD},
    "lognormal": {"dist": "lognormal", "mean": HOLD, "cv": 2},
    "hyperexponential": {"dist": "hyperexponential", "means": [100, 900], "probs": [0.9, 0.1]},
}


def insensitivity_case(
    kind: str, *, erlangs: float = 20.0, circuits: int = 25, replications: int, window_h: float, seed: int
) -> Case:
    holding = INSENSITIVE[kind]
    # heavy tails: 4 h of warm-up (80 mean holding times, 16 means of the hyper-exponential's slow phase)
    scenario = load_scenario(
        single_trunk(erlangs, circuits, holding, warmup_h=4.0, window_h=window_h),
        name=f"insensitivity {kind}",
    )
    exact = theory.erlang_b(erlangs, circuits)
    return Case(
        name=f"insensitive-{kind}",
        description=f"{erlangs:g} erl on {circuits} channels with {kind} holding times of mean {HOLD:g}s: "
        f"loss = B({erlangs:g}, {circuits}) whatever the distribution",
        scenario=scenario,
        checks=(Check("kpis.loss_probability", column("kpis.loss_probability"), exact),),
        replications=replications,
        seed=seed,
    )


def two_dids_case(*, replications: int, window_h: float, seed: int) -> Case:
    a1, a2, c = 6.0, 6.0, 15
    data = {
        "name": "two DIDs one trunk",
        "warmup": "4h",
        "duration": _hours(4 + window_h),
        "trunks": [{"name": "trunk", "capacity_limit": c, "rerouting_codes": "none"}],
        "dids": [
            {
                "number": "101",
                "route": {"trunk": "trunk"},
                "traffic": _traffic(a1, {"dist": "exponential", "mean": 120}),
            },
            {
                "number": "102",
                "route": {"trunk": "trunk"},
                "traffic": _traffic(a2, {"dist": "lognormal", "mean": 300, "cv": 1.5}),
            },
        ],
    }
    exact = theory.erlang_b(a1 + a2, c)
    return Case(
        name="two-dids-one-trunk",
        description=f"DIDs of {a1:g} erl (exponential, mean 120s) and {a2:g} erl "
        f"(lognormal, mean 300s, CV 1.5) share {c} channels: each DID and the total lose B({a1 + a2:g}, {c})",
        scenario=load_scenario(data, name="two-dids"),
        checks=(
            Check("dids.101 loss", did_loss("101"), exact),
            Check("dids.102 loss", did_loss("102"), exact),
            Check("kpis.loss_probability", column("kpis.loss_probability"), exact),
        ),
        replications=replications,
        seed=seed,
    )


WEIGHTS = (70, 30)
SPLIT_CAPS = (15, 8)


def _split_scenario(rerouting, *, erlangs: float, window_h: float, name: str) -> dict:
    trunks = [
        {"name": "big", "capacity_limit": SPLIT_CAPS[0], "rerouting_codes": rerouting},
        {"name": "small", "capacity_limit": SPLIT_CAPS[1], "rerouting_codes": rerouting},
    ]
    members = [
        {"trunk": "big", "priority": 1, "weight": WEIGHTS[0]},
        {"trunk": "small", "priority": 1, "weight": WEIGHTS[1]},
    ]
    return _group(name, members, trunks, _traffic(erlangs, EXP_HOLD), warmup_h=1.0, window_h=window_h)


def split_no_failover_case(*, erlangs: float = 20.0, replications: int, window_h: float, seed: int) -> Case:
    # DIDWW's documented rule: a member is picked first with chance w / W
    shares = [w / sum(WEIGHTS) for w in WEIGHTS]
    blocking = [theory.erlang_b(erlangs * s, c) for s, c in zip(shares, SPLIT_CAPS)]
    loss = sum(s * b for s, b in zip(shares, blocking))
    checks = [Check("kpis.loss_probability", column("kpis.loss_probability"), loss)]
    for name, s, b in zip(("big", "small"), shares, blocking):
        checks += [
            Check(f"trunks.{name}.first_choice_share", column(f"trunks.{name}.first_choice_share"), s),
            Check(f"trunks.{name}.attempt_blocking", column(f"trunks.{name}.attempt_blocking"), b),
        ]
    return Case(
        name="weighted-split-no-failover",
        description=f"weights {WEIGHTS[0]}/{WEIGHTS[1]} at one priority, "
        f"capacities {SPLIT_CAPS[0]}/{SPLIT_CAPS[1]}, "
        f"no re-routing, {erlangs:g} erl: trunk i gets Poisson traffic A*p_i (p_i = w_i/W, the "
        f"documented first-pick chance {shares[0]:.4f}/{shares[1]:.4f}), loss = sum p_i B(A p_i, c_i)",
        scenario=load_scenario(
            _split_scenario("none", erlangs=erlangs, window_h=window_h, name="split"),
            name="split-no-failover",
        ),
        checks=tuple(checks),
        replications=replications,
        seed=seed,
    )


def split_failover_case(*, erlangs: float = 20.0, replications: int, window_h: float, seed: int) -> Case:
    total = sum(SPLIT_CAPS)
    exact = theory.erlang_b(erlangs, total)
    return Case(
        name="weighted-split-failover",
        description=f"weights {WEIGHTS[0]}/{WEIGHTS[1]} at one priority, "
        f"capacities {SPLIT_CAPS[0]}/{SPLIT_CAPS[1]}, "
        f"re-routing on capacity_limit, {erlangs:g} erl: the pair is one pool, "
        f"loss = B({erlangs:g}, {SPLIT_CAPS[0]}+{SPLIT_CAPS[1]})",
        scenario=load_scenario(
            _split_scenario(["capacity_limit"], erlangs=erlangs, window_h=window_h, name="split-failover"),
            name="split-failover",
        ),
        checks=(Check("kpis.loss_probability", column("kpis.loss_probability"), exact),),
        replications=replications,
        seed=seed,
    )


def priority_chain_case(*, replications: int, window_h: float, seed: int) -> Case:
    erlangs, caps, names = 15.0, (10, 5, 5), ("primary", "secondary", "tertiary")
    trunks = [
        {"name": n, "capacity_limit": c, "rerouting_codes": ["capacity_limit"]} for n, c in zip(names, caps)
    ]
    members = [{"trunk": n, "priority": i + 1} for i, n in enumerate(names)]
    data = _group(
        "priority chain",
        members,
        trunks,
        _traffic(erlangs, {"dist": "exponential", "mean": 150}),
        warmup_h=1.0,
        window_h=window_h,
    )
    carried = theory.priority_chain(erlangs, caps)
    checks = [
        Check(f"trunks.{n}.carried_erlangs", column(f"trunks.{n}.carried_erlangs"), x)
        for n, x in zip(names, carried)
    ]
    checks.append(
        Check(
            "kpis.loss_probability",
            column("kpis.loss_probability"),
            theory.priority_chain_loss(erlangs, caps),
        )
    )
    return Case(
        name="priority-chain",
        description=f"strict priority chain {'+'.join(map(str, caps))} channels at {erlangs:g} erl "
        f"(sequential hunting): trunk k carries A[B(A,C_k-1) - B(A,C_k)], loss B(A, {sum(caps)})",
        scenario=load_scenario(data, name="priority-chain"),
        checks=tuple(checks),
        replications=replications,
        seed=seed,
    )


def error_reroute_case(*, replications: int, window_h: float, seed: int) -> Case:
    erlangs, p, c2 = 20.0, 0.3, 8
    trunks: list[dict] = [
        {"name": "first", "rerouting_codes": [503], "endpoint": {"responses": {503: p}}},
        {"name": "second", "capacity_limit": c2, "rerouting_codes": "none"},
    ]
    members = [{"trunk": "first", "priority": 1}, {"trunk": "second", "priority": 2}]
    data = _group(
        "error re-route", members, trunks, _traffic(erlangs, EXP_HOLD), warmup_h=1.0, window_h=window_h
    )
    b2 = theory.erlang_b(erlangs * p, c2)
    return Case(
        name="error-reroute",
        description=f"an unlimited trunk answering 503 with probability {p:g} re-routes to a second trunk of "
        f"{c2} channels ({erlangs:g} erl): loss = p B(A p, c2)",
        scenario=load_scenario(data, name="error-reroute"),
        checks=(
            Check("kpis.loss_probability", column("kpis.loss_probability"), p * b2),
            Check("trunks.first.error_fraction", column("trunks.first.error_fraction"), p),
            Check("trunks.second.attempt_blocking", column("trunks.second.attempt_blocking"), b2),
        ),
        replications=replications,
        seed=seed,
    )


def ringing_timeout_case(*, replications: int, window_h: float, seed: int) -> Case:
    # (ringing timeout T, mean answer delay r) per trunk, both re-routing on ringing_timeout, no caps
    spec = {"first": (8.0, 10.0), "second": (10.0, 6.0)}
    trunks = [
        {
            "name": n,
            "ringing_timeout": t,
            "rerouting_codes": ["ringing_timeout"],
            "endpoint": {"answer_delay": {"dist": "exponential", "mean": r}},
        }
        for n, (t, r) in spec.items()
    ]
    members = [{"trunk": n, "priority": i + 1} for i, n in enumerate(spec)]
    traffic = {"calls_per_hour": 600, "holding_time": {"dist": "exponential", "mean": 60}}
    data = _group("ringing timeout", members, trunks, traffic, warmup_h=0.5, window_h=window_h)
    q = {n: theory.ringing_timeout_probability(t, r) for n, (t, r) in spec.items()}
    checks = [
        Check(f"trunks.{n}.timeout_fraction", column(f"trunks.{n}.timeout_fraction"), q[n]) for n in spec
    ]
    checks.append(
        Check("kpis.completion_rate", column("kpis.completion_rate"), 1.0 - q["first"] * q["second"])
    )
    return Case(
        name="ringing-timeout",
        description="two unlimited trunks in priority order, exponential answer delays (mean 10s, 6s) "
        "against ringing timeouts (8s, 10s), re-routing on ringing_timeout: each times out with "
        "q = exp(-T/r), completion = 1 - q1 q2",
        scenario=load_scenario(data, name="ringing-timeout"),
        checks=tuple(checks),
        replications=replications,
        seed=seed,
    )


# time-varying load: a sinusoid of period 24 h drawn as 5-minute steps, Mt/M/inf
TV_STEP = 300.0
TV_PERIOD = 86400.0
TV_HOLD = 900.0
TV_MEAN_ERLANGS = 100.0
TV_AMPLITUDE = 0.6
TV_DAYS = 3
TV_WINDOW = (45 * 3600.0, 51 * 3600.0)  # the steepest rise of day 3 (the rate crosses its mean at 48 h)


def sinusoid_steps(
    mean_rate: float = TV_MEAN_ERLANGS / TV_HOLD,
    amplitude: float = TV_AMPLITUDE,
    period: float = TV_PERIOD,
    step: float = TV_STEP,
    days: int = TV_DAYS,
) -> tuple[np.ndarray, np.ndarray]:
    """Step start times (s) and rates (calls/s): the sinusoid sampled at each step's midpoint.

    The steps are the arrival rate; the sinusoid only gives them their shape.
    """
    times = np.arange(0.0, days * period, step)
    rates = mean_rate * (1.0 + amplitude * np.sin(2 * math.pi * (times + step / 2) / period))
    return times, rates


def window_mean_busy(
    times: Sequence[float], rates: Sequence[float], holding: float, start: float, end: float
) -> float:
    """Time-average of :func:`theory.mt_g_inf_mean_piecewise` over ``[start, end)``, integrated numerically.

    Composite Simpson on a grid that includes every rate change inside the window (m(t) is smooth between
    them) with steps of at most ``holding / 20`` (relative error below 1e-7).
    """
    times = [float(t) for t in times]
    rates = [float(r) for r in rates]
    knots = sorted({float(start), float(end), *(t for t in times if start < t < end)})
    total = 0.0
    for a, b in zip(knots[:-1], knots[1:]):
        n = 2 * max(1, math.ceil((b - a) / (holding / 20) / 2))  # an even number of sub-intervals
        xs = np.linspace(a, b, n + 1)
        ys = np.array([theory.mt_g_inf_mean_piecewise(times, rates, holding, x) for x in xs])
        total += (b - a) / n / 3 * (ys[0] + ys[-1] + 4 * ys[1:-1:2].sum() + 2 * ys[2:-1:2].sum())
    return total / (end - start)


def window_arrivals(times: Sequence[float], rates: Sequence[float], start: float, end: float) -> float:
    """Expected arrivals in ``[start, end)`` of a Poisson process with piecewise-constant rate."""
    edges = np.append(np.asarray(times, float), np.inf)
    overlap = np.clip(np.minimum(edges[1:], end) - np.maximum(edges[:-1], start), 0.0, None)
    return float(np.dot(overlap, rates))


def time_varying_case(*, replications: int, seed: int) -> Case:
    times, rates = sinusoid_steps()
    start, end = TV_WINDOW
    data = {
        "name": "time-varying load",
        "warmup": start,
        "duration": end,
        "trunks": [{"name": "trunk", "rerouting_codes": "none"}],
        "dids": [
            {
                "number": "100",
                "route": {"trunk": "trunk"},
                "traffic": {
                    "steps": [
                        {"at": float(t), "calls_per_hour": float(r * 3600)} for t, r in zip(times, rates)
                    ],
                    "holding_time": {"dist": "exponential", "mean": TV_HOLD},
                },
            }
        ],
    }
    scenario = load_scenario(data, name="time-varying")
    # the steps as the engine reads them, in calls per second
    traffic = scenario.dids[0].traffic
    assert traffic is not None and traffic.steps is not None
    exact_times = [s.at for s in traffic.steps]
    exact_rates = [s.calls_per_hour / 3600.0 for s in traffic.steps]
    busy = window_mean_busy(exact_times, exact_rates, TV_HOLD, start, end)
    return Case(
        name="time-varying-mt-m-inf",
        description=f"a sinusoidal load (mean {TV_MEAN_ERLANGS:g} erl, amplitude {TV_AMPLITUDE:g}, "
        f"period 24h) as 5-minute steps on an unlimited trunk, exponential holding of mean {TV_HOLD:g}s: "
        f"carried "
        f"erlangs over {start / 3600:g}h..{end / 3600:g}h = window average of the exact piecewise "
        f"Mt/M/inf mean; offered = the integral of the rate",
        scenario=scenario,
        checks=(
            Check("dids.100.carried_erlangs", column("dids.100.carried_erlangs"), busy),
            Check(
                "kpis.offered", column("kpis.offered"), window_arrivals(exact_times, exact_rates, start, end)
            ),
        ),
        replications=replications,
        seed=seed,
    )


def _redial_trunk(erlangs, circuits, p, delay, *, warmup_h, window_h, name) -> Scenario:
    """One trunk that answers at once; a blocked caller tries again with chance ``p`` after an exponential
    delay of mean ``delay`` seconds, any number of times (the M/M/c/c retrial queue)."""
    data = single_trunk(erlangs, circuits, warmup_h=warmup_h, window_h=window_h, name=name)
    data["dids"][0]["traffic"]["redial"] = {
        "after": ["blocking"],
        "probability": [p],
        "delay": {"dist": "exponential", "mean": delay},
    }
    return load_scenario(data, name=name)


def retrial_case(
    *, erlangs=4.0, circuits=5, p=0.6, delay=60.0, replications: int, window_h: float, seed: int
) -> Case:
    """Callers who redial against the exact M/M/c/c retrial queue (truncated CTMC, theory.retrial_queue)."""
    exact = theory.retrial_queue(erlangs / HOLD, HOLD, circuits, p, delay)
    checks = (
        ("first_attempt_blocking", "first_attempt_blocking"),
        ("retry_blocking", "retry_blocking"),
        ("retrial_rate", "retrial_rate"),
        ("final_blocking", "caller_loss"),
        ("tries_per_caller", "tries_per_caller"),
        ("mean_retry_orbit", "mean_orbit"),
    )
    return Case(
        name=f"retrial-{erlangs:g}-{circuits}",
        description=f"{erlangs:g} erl of fresh calls on {circuits} channels; a blocked try is retried with "
        f"chance {p:g} after an exponential delay of mean {delay:g}s: the M/M/c/c retrial queue (CTMC)",
        scenario=_redial_trunk(
            erlangs, circuits, p, delay, warmup_h=1.0, window_h=window_h, name="retrial queue"
        ),
        checks=tuple(Check(f"kpis.{k}", column(f"kpis.{k}"), exact[t]) for k, t in checks),
        replications=replications,
        seed=seed,
    )


def long_delay_case(
    *, erlangs=8.0, circuits=10, p=0.8, delay=7200.0, replications: int, window_h: float, seed: int
) -> Case:
    """Long retrial delays (40 holding times): the retries reach the trunk as a nearly steady Poisson
    stream, which is what Extended Erlang B assumes. At this delay the exact retrial queue is within
    0.002 of it on every KPI checked (theory.retrial_queue), below a replication set's standard error."""
    eeb = theory.extended_erlang_b(erlangs, circuits, p)
    warmup_h = 12.0  # the orbit settles in a few retrial delays (its relaxation time is about 2.4 h here)
    return Case(
        name=f"extended-erlang-b-{erlangs:g}-{circuits}",
        description=f"{erlangs:g} erl on {circuits} channels, a blocked try retried with chance {p:g} after "
        f"{delay / 3600:g} h on average: per-try blocking, retries and caller loss approach Extended "
        f"Erlang B (recall factor {p:g})",
        scenario=_redial_trunk(
            erlangs, circuits, p, delay, warmup_h=warmup_h, window_h=window_h, name="long retrial delays"
        ),
        checks=(
            Check("kpis.blocking_probability", column("kpis.blocking_probability"), eeb["blocking"]),
            Check("kpis.retrial_rate", column("kpis.retrial_rate"), eeb["retried"] / erlangs),
            Check("kpis.final_blocking", column("kpis.final_blocking"), eeb["caller_loss"]),
        ),
        replications=replications,
        seed=seed,
    )


def suite(quick: bool = False) -> list[Case]:
    """The validation cases; ``quick`` a subset with fewer replications for the test suite."""
    if quick:
        return [
            erlang_b_case(8.108, 15, replications=20, window_h=50, seed=101),
            insensitivity_case("hyperexponential", replications=20, window_h=20, seed=111),
            split_failover_case(replications=20, window_h=20, seed=122),
            ringing_timeout_case(replications=20, window_h=4, seed=151),
        ]
    r = 100
    return [
        erlang_b_case(8.108, 15, replications=r, window_h=40, seed=101),
        erlang_b_case(20, 25, replications=r, window_h=40, seed=102),
        erlang_b_case(50, 55, replications=r, window_h=20, seed=103),
        insensitivity_case("deterministic", replications=r, window_h=40, seed=112),
        insensitivity_case("lognormal", replications=r, window_h=40, seed=113),
        insensitivity_case("hyperexponential", replications=r, window_h=40, seed=111),
        two_dids_case(replications=r, window_h=40, seed=114),
        split_no_failover_case(replications=r, window_h=40, seed=121),
        split_failover_case(replications=r, window_h=40, seed=122),
        priority_chain_case(replications=r, window_h=40, seed=131),
        error_reroute_case(replications=r, window_h=40, seed=141),
        ringing_timeout_case(replications=r, window_h=10, seed=151),
        time_varying_case(replications=50, seed=161),
        retrial_case(replications=r, window_h=40, seed=171),
        long_delay_case(replications=30, window_h=100, seed=172),
    ]


# --------------------------------------------------------------------------------------------------
# running and judging
# --------------------------------------------------------------------------------------------------
def run_case(case: Case, jobs: int = 1) -> pd.DataFrame:
    """The case's replications: one row per replication, one column per check (its ``kpi``)."""
    result = simulate(case.scenario, seed=case.seed, replications=case.replications, jobs=jobs)
    frame = result.replications
    if len(frame) != case.replications:  # pragma: no cover - a broken replication runner
        raise RuntimeError(f"{case.name}: expected {case.replications} replications, got {len(frame)}")
    return pd.DataFrame({c.kpi: [c.extract(row) for _, row in frame.iterrows()] for c in case.checks})


def judge(
    values, theory_value: float, threshold: float = Z_THRESHOLD, confidence: float = CONFIDENCE
) -> dict:
    """Mean over replications, its CI half-width, z = (mean - theory)/se and pass (|z| <= threshold).

    A replication whose KPI is undefined (NaN) makes the check fail: the exact value is defined.
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    defined = bool(n >= 2 and np.isfinite(x).all())
    mean = float(x.mean()) if n else math.nan
    se = float(x.std(ddof=1) / math.sqrt(n)) if defined else math.nan
    if not defined:
        z = math.nan
    elif se > 0:
        z = (mean - theory_value) / se
    else:  # every replication gave the same number
        z = 0.0 if mean == theory_value else math.copysign(math.inf, mean - theory_value)
    half = t_quantile(confidence, n - 1) * se if defined else math.nan
    return {
        "simulated": mean,
        "ci95": half,
        "theory": float(theory_value),
        "z": z,
        "passed": bool(defined and abs(z) <= threshold),
    }


def evaluate(case: Case, values: pd.DataFrame) -> list[dict]:
    """One result row per check of ``case`` from its per-replication values (:func:`run_case`)."""
    return [{"case": case.name, "kpi": c.kpi, **judge(values[c.kpi], c.theory)} for c in case.checks]


def run_suite(
    quick: bool = False, jobs: int = 1, cases: Sequence[Case] | None = None, progress: bool | None = False
) -> pd.DataFrame:
    """Run the suite (or ``cases``): one row per check with columns case, kpi, simulated, ci95, theory, z,
    passed. ``attrs['wall_time']`` holds the seconds it took. ``progress=None`` shows a bar with an ETA
    on a terminal."""
    from .experiments.progress import Progress

    began = time.perf_counter()
    rows = []
    chosen = list(suite(quick) if cases is None else cases)
    with Progress(len(chosen), "cases", progress, "validate") as bar:
        for case in chosen:
            rows += evaluate(case, run_case(case, jobs))
            bar.advance(note=case.name)
    table = pd.DataFrame(rows, columns=["case", "kpi", "simulated", "ci95", "theory", "z", "passed"])
    table.attrs["wall_time"] = time.perf_counter() - began
    return table


def with_theory(case: Case, kpi: str, value: float) -> Case:
    """A copy of ``case`` whose check ``kpi`` expects ``value`` (e.g. a deliberately wrong oracle)."""
    if all(c.kpi != kpi for c in case.checks):
        raise KeyError(f"{case.name} has no check {kpi!r}")
    return replace(case, checks=tuple(replace(c, theory=value) if c.kpi == kpi else c for c in case.checks))


def _decimals(half: float) -> int:
    """Decimals that show a half-width to two significant digits (4 when it is zero or undefined)."""
    if not (isinstance(half, float) and math.isfinite(half) and half > 0):
        return 4
    return max(0, 1 - math.floor(math.log10(half)))


def _num(x: float, decimals: int) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.{decimals}f}"


def format_table(table: pd.DataFrame, cases: Sequence[Case] | None = None) -> str:
    """The results as text: simulated mean ± 95 % half-width, theory, z and PASS/FAIL per check."""
    decimals = [_decimals(h) for h in table["ci95"]]
    shown = pd.DataFrame(
        {
            "case": table["case"],
            "kpi": table["kpi"],
            "simulated ± ci95": [
                f"{_num(m, d)} ± {_num(h, d)}" for m, h, d in zip(table["simulated"], table["ci95"], decimals)
            ],
            "theory": [_num(t, d + 1) for t, d in zip(table["theory"], decimals)],
            "z": [f"{z:+.2f}" if np.isfinite(z) else str(z) for z in table["z"]],
            "result": np.where(table["passed"], "pass", "FAIL"),
        }
    )
    left = {c: (lambda w: lambda v: v.ljust(w))(shown[c].str.len().max()) for c in ("case", "kpi")}
    failed = int((~table["passed"]).sum())
    finite = table["z"].abs()[np.isfinite(table["z"])]
    lines = [
        f"validation against exact results: pass when |z| <= {Z_THRESHOLD:g}, "
        f"z = (mean - theory) / standard error over replications",
        "",
        shown.to_string(index=False, formatters=left, justify="left"),
        "",
        f"{len(table)} checks in {table['case'].nunique()} cases: "
        f"{len(table) - failed} passed, {failed} failed; "
        f"largest |z| = {finite.max():.2f}"
        if len(finite)
        else f"{len(table)} checks: none defined",
    ]
    if cases:
        lines += ["", "cases:"] + [
            f"  {c.name} ({c.replications} replications): {c.description}" for c in cases
        ]
    if "wall_time" in table.attrs:
        lines += ["", f"wall time {table.attrs['wall_time']:.1f} s"]
    return "\n".join(lines)
