"""Closed-form teletraffic results for validating simroute and for quick sizing.

A correct simulator must reproduce these numbers within its confidence interval,
so they are the oracles of the validation tests; planners can also use them to
size trunks and agent groups without running a simulation.

Notation: ``traffic`` A = lambda * h erlang (arrival rate times mean holding
time), ``circuits``/``agents`` n.  Sources: V. B. Iversen, *Teletraffic
Engineering and Network Planning* (ITU-D); ITU-T E.520-E.524; Eick, Massey &
Whitt (1993) for Mt/G/inf.

Exact results (usable as test oracles): Erlang B and its inverses, Erlang C,
Erlang A (numerically exact birth-death solution), Riordan's overflow moments,
the strict priority chain, ringing timeout and the Mt/M/inf means, and the
M/M/c/c retrial queue (a truncated CTMC solved numerically: numpy and scipy,
imported only by that function).
Approximations (reports only, never test oracles): the equivalent random
theory (Wilkinson/Rapp), Hayward's method, and the Extended Erlang B
(Jewett & Shrago), which the retrial queue approaches when retrials are slow.

Pure Python on purpose: only :mod:`math` is needed, so the module adds no
runtime dependency.  Every function raises :class:`ValueError` naming the
offending parameter and its value when an input is out of range, NaN, or of
the wrong kind.
"""

from __future__ import annotations

import math
import numbers
from typing import Sequence

__all__ = [
    "erlang_b",
    "erlang_b_traffic",
    "erlang_b_circuits",
    "erlang_b_real",
    "erlang_c",
    "erlang_c_mean_wait",
    "erlang_c_service_level",
    "erlang_a",
    "overflow_moments",
    "equivalent_random",
    "hayward_blocking",
    "priority_chain",
    "priority_chain_loss",
    "ringing_timeout_probability",
    "mt_g_inf_mean_piecewise",
    "mt_g_inf_mean_sinusoidal",
    "extended_erlang_b",
    "retrial_queue",
]

# Relative accuracy targets of the iterative algorithms.
_ROOT_TOL = 1e-15  # relative step at which erlang_b_traffic stops
_SERIES_EPS = 1e-16
_FPMIN = 1e-300
_TINY = 5e-324  # smallest positive double
_ERLANG_A_TAIL = 1e-17  # truncate the Erlang A chain when the tail is below this share
_ERLANG_A_MAX_STATES = 10_000_000


# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------
def _real(
    name: str, value, *, positive: bool = False, allow_inf: bool = False, minimum: float | None = 0.0
) -> float:
    """Return ``value`` as float or raise ValueError naming the parameter."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    x = float(value)
    if math.isnan(x):
        raise ValueError(f"{name} must not be NaN, got {value!r}")
    if math.isinf(x) and not (allow_inf and x > 0):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and not x > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    if minimum is not None and x < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {value!r}")
    return x


def _count(name: str, value, minimum: int = 0) -> int:
    """Return ``value`` as int (integral floats accepted) or raise ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        k = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value).is_integer():
        k = int(float(value))
    else:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if k < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return k


def _probability(name: str, value, *, low_open: bool, high_open: bool) -> float:
    x = _real(name, value)
    lo_ok = x > 0.0 if low_open else x >= 0.0
    hi_ok = x < 1.0 if high_open else x <= 1.0
    if not (lo_ok and hi_ok):
        interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return x


# --------------------------------------------------------------------------
# Erlang B
# --------------------------------------------------------------------------
def _erlang_b(a: float, n: int) -> float:
    """Unchecked recursion; never uses factorials, so it cannot overflow."""
    b = 1.0
    for k in range(1, n + 1):
        ab = a * b
        b = ab / (k + ab)
    return b


def erlang_b(traffic: float, circuits: int) -> float:
    """Blocking probability of an Erlang loss system M/G/c/c.

    Uses the stable recursion B(A,0)=1, B(A,k)=A*B/(k+A*B).  By insensitivity
    the result holds for any holding-time distribution with the given mean.
    """
    a = _real("traffic", traffic)
    n = _count("circuits", circuits)
    return _erlang_b(a, n)


def erlang_b_traffic(blocking: float, circuits: int) -> float:
    """Offered traffic (erlang) at which ``circuits`` circuits block ``blocking``.

    Inverts Erlang B by safeguarded Newton iteration on log B versus log A
    (concave and increasing, d log B / d log A = c - A(1-B)) inside the
    guaranteed bracket (b*c!)^(1/c) <= A <= c/(1-b); relative accuracy ~1e-14.
    ``blocking`` = 0 gives 0.0; ``circuits`` must be >= 1 (zero circuits
    always block).
    """
    b = _probability("blocking", blocking, low_open=False, high_open=True)
    c = _count("circuits", circuits, minimum=1)
    if b == 0.0:
        return 0.0
    log_b = math.log(b)

    def g(a: float) -> tuple[float, float]:
        bb = _erlang_b(a, c)
        if bb == 0.0:
            return -math.inf, c - a
        ratio = bb / b  # log of the ratio keeps full relative precision
        val = math.log(ratio) if 0.0 < ratio < math.inf else math.log(bb) - log_b
        return val, c - a * (1.0 - bb)

    # B(A,c) <= A^c/c!  gives a lower bound; carried A(1-B) <= c an upper one.
    # The factors 1/2 and 2 keep the bracket valid despite rounding.  Newton
    # steps are taken in log A but applied multiplicatively to A itself, so
    # the result is not limited by the precision of log A.
    log_lo = (log_b + math.lgamma(c + 1)) / c - math.log(2.0)
    log_hi = math.log(2.0 * c / (1.0 - b))
    lo = math.exp(log_lo)  # may underflow to 0.0, still a valid lower bound
    hi = math.exp(log_hi)
    a = max(math.exp(0.5 * (log_lo + log_hi)), _TINY)
    for _ in range(300):
        val, slope = g(a)
        if val == 0.0:
            return a
        if val < 0.0:
            lo, log_lo = a, math.log(a)
        else:
            hi, log_hi = a, math.log(a)
        step = -val / slope if (math.isfinite(val) and slope > 0.0) else math.nan
        a_new = a * math.exp(step) if abs(step) < 700.0 else math.nan
        if abs(step) <= _ROOT_TOL and a_new > 0.0:
            return a_new  # converged (the bracket test could fail by rounding)
        if not lo < a_new < hi:  # Newton left the bracket: bisect in log A
            a_new = max(math.exp(0.5 * (log_lo + log_hi)), _TINY)
            step = math.log(a_new) - math.log(a)
        a = a_new
        if abs(step) <= _ROOT_TOL or hi <= lo * (1.0 + _ROOT_TOL):
            break
    return a


def erlang_b_circuits(traffic: float, blocking: float) -> int:
    """Fewest circuits n with B(traffic, n) <= ``blocking`` (a sizing rule)."""
    a = _real("traffic", traffic)
    target = _probability("blocking", blocking, low_open=True, high_open=False)
    b = 1.0
    k = 0
    while b > target:
        k += 1
        ab = a * b
        b = ab / (k + ab)
    return k


def _inv_b_fraction(a: float, f: float) -> float:
    """1/B(a, f) for 0 <= f < 1 and a > 0 via the incomplete gamma function.

    1/B(A,x) = A*int_0^inf e^{-At}(1+t)^x dt = e^A A^{-x} Gamma(x+1, A).
    Series for the lower incomplete gamma when A < x+2, Lentz continued
    fraction for the upper one otherwise (Numerical Recipes gser/gcf).
    """
    s = f + 1.0
    if f == 0.0:
        return 1.0
    if a < s + 1.0:
        term = 1.0 / s
        total = term
        ap = s
        for _ in range(1000):
            ap += 1.0
            term *= a / ap
            total += term
            if abs(term) < abs(total) * _SERIES_EPS:
                break
        # e^A A^{-f} (Gamma(s) - e^{-A} A^s * total)
        return math.exp(a - f * math.log(a) + math.lgamma(s)) - a * total
    bcf = a + 1.0 - s
    c = 1.0 / _FPMIN
    d = 1.0 / bcf
    h = d
    for i in range(1, 10_000):
        an = -i * (i - s)
        bcf += 2.0
        d = an * d + bcf
        if abs(d) < _FPMIN:
            d = _FPMIN
        c = bcf + an / c
        if abs(c) < _FPMIN:
            c = _FPMIN
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _SERIES_EPS:
            break
    # Gamma(s, A) = e^{-A} A^s h  =>  e^A A^{-f} Gamma(s, A) = A h
    return a * h


def erlang_b_real(traffic: float, circuits_real: float) -> float:
    """Erlang B continued to a real number of circuits (needed by ERT/Hayward).

    Method: the integral representation 1/B(A,x) = A*int_0^inf e^{-At}(1+t)^x dt,
    evaluated in closed form as e^A A^{-f} Gamma(f+1, A) for the fractional part
    f of x (incomplete gamma by series / continued fraction, ~1e-14 relative),
    then the ordinary recursion is applied for the integer part.  Agrees with
    :func:`erlang_b` at integer ``circuits_real``.
    """
    a = _real("traffic", traffic)
    x = _real("circuits_real", circuits_real)
    whole = math.floor(x)
    frac = x - whole
    if a == 0.0:
        return 1.0 if x == 0.0 else 0.0
    b = 1.0 / _inv_b_fraction(a, frac)
    for k in range(1, whole + 1):
        ab = a * b
        b = ab / (k + frac + ab)
    return b


# --------------------------------------------------------------------------
# Erlang C
# --------------------------------------------------------------------------
def erlang_c(traffic: float, agents: int) -> float:
    """Probability of waiting in M/M/n with infinite patience (Erlang C).

    Computed from Erlang B as C = n*B/(n - A(1-B)).  Returns 1.0 when
    ``traffic`` >= ``agents`` (the queue is unstable: every caller waits).
    """
    a = _real("traffic", traffic)
    n = _count("agents", agents)
    if a >= n:
        return 1.0
    b = _erlang_b(a, n)
    return n * b / (n - a * (1.0 - b))


def erlang_c_mean_wait(traffic: float, agents: int, mean_service: float) -> float:
    """Mean wait over all callers in M/M/n: C*h/(n-A); ``inf`` if A >= n."""
    a = _real("traffic", traffic)
    n = _count("agents", agents)
    h = _real("mean_service", mean_service, positive=True)
    if a >= n:
        return math.inf
    return erlang_c(a, n) * h / (n - a)


def erlang_c_service_level(traffic: float, agents: int, mean_service: float, threshold: float) -> float:
    """P(wait <= threshold) in M/M/n: 1 - C*exp(-(n-A)*t/h); 0.0 if A >= n."""
    a = _real("traffic", traffic)
    n = _count("agents", agents)
    h = _real("mean_service", mean_service, positive=True)
    t = _real("threshold", threshold, allow_inf=True)
    if a >= n:
        return 0.0
    return 1.0 - erlang_c(a, n) * math.exp(-(n - a) * t / h)


# --------------------------------------------------------------------------
# Erlang A
# --------------------------------------------------------------------------
def erlang_a(arrival_rate: float, mean_service: float, agents: int, mean_patience: float) -> dict:
    """M/M/n+M (Erlang A): exponential patience, callers abandon while queued.

    Solved exactly from the birth-death chain (birth rate lambda, death rate
    k*mu for k <= n and n*mu + (k-n)*theta above), truncated once the
    remaining tail is below 1e-17 of the sums.  Returns a dict with
    ``p_wait`` (an arrival finds all agents busy), ``p_abandon`` =
    theta*E[queue]/lambda, ``mean_wait`` (over all callers, E[queue]/lambda by
    Little) and ``mean_queue``.  ``mean_patience`` may be ``math.inf``
    (Erlang C) when the load is below ``agents``.
    """
    lam = _real("arrival_rate", arrival_rate, positive=True)
    h = _real("mean_service", mean_service, positive=True)
    n = _count("agents", agents)
    patience = _real("mean_patience", mean_patience, positive=True, allow_inf=True)
    mu = 1.0 / h
    theta = 0.0 if math.isinf(patience) else 1.0 / patience
    if theta == 0.0 and lam >= n * mu:
        raise ValueError(
            f"mean_patience={mean_patience!r} with arrival_rate*mean_service="
            f"{lam * h!r} >= agents={n}: infinite patience needs traffic < agents"
        )
    if theta > 0.0 and (lam - n * mu) / theta > _ERLANG_A_MAX_STATES:
        raise ValueError(
            f"mean_patience={mean_patience!r} too large for the overload: the "
            f"queue would exceed {_ERLANG_A_MAX_STATES} states"
        )

    b = _erlang_b(lam * h, n)  # = pi_n / sum_{k<=n} pi_k
    # Terms relative to pi_n for states n, n+1, ...; rescaled to avoid overflow.
    t = 1.0
    tail = 1.0
    queue = 0.0
    log_scale = 0.0
    rescale = 1e250
    j = 0
    while True:
        j += 1
        if j > _ERLANG_A_MAX_STATES:
            raise ValueError(
                f"mean_patience={mean_patience!r}: Erlang A chain did not "
                f"converge within {_ERLANG_A_MAX_STATES} states"
            )
        r = lam / (n * mu + j * theta)
        t *= r
        tail += t
        queue += j * t
        if t > rescale:
            t /= rescale
            tail /= rescale
            queue /= rescale
            log_scale += math.log(rescale)
        if r < 1.0:
            rest_tail = t * r / (1.0 - r)
            rest_queue = t * (j * r / (1.0 - r) + r / (1.0 - r) ** 2)
            if rest_tail <= _ERLANG_A_TAIL * tail and rest_queue <= _ERLANG_A_TAIL * queue:
                break
    scale = math.exp(-log_scale)
    denom = (1.0 - b) * scale + tail * b
    if b == 0.0 or denom == 0.0:
        p_wait = 0.0
        mean_queue = 0.0
    else:
        p_wait = tail * b / denom
        mean_queue = queue * b / denom
    return {
        "p_wait": min(1.0, p_wait),
        "p_abandon": min(1.0, theta * mean_queue / lam),
        "mean_wait": mean_queue / lam,
        "mean_queue": mean_queue,
    }


# --------------------------------------------------------------------------
# overflow traffic
# --------------------------------------------------------------------------
def overflow_moments(traffic: float, circuits: int) -> tuple[float, float]:
    """Mean and variance of the traffic overflowing ``circuits`` (Riordan).

    m = A*B(A,c), v = m*(1 - m + A/(c+1-A+m)).  Exact; v > m for A, c > 0:
    overflow is peaked and must never be modelled as fresh Poisson.
    """
    a = _real("traffic", traffic)
    c = _count("circuits", circuits)
    m = a * _erlang_b(a, c)
    v = m * (1.0 - m + a / (c + 1.0 - a + m))
    return m, v


def equivalent_random(mean: float, variance: float) -> tuple[float, float]:
    """APPROXIMATION (Wilkinson's equivalent random theory, Rapp's formula).

    Returns (A*, c*): Poisson traffic A* offered to c* (real-valued) circuits
    whose overflow has roughly the given mean and variance:
    A* = v + 3z(z-1), z = v/m, c* = A*(m+z)/(m+z-1) - m - 1.  For reports
    and dimensioning only, never as a test oracle.  Needs peaked traffic
    (variance >= mean > 0).
    """
    m = _real("mean", mean, positive=True)
    v = _real("variance", variance, positive=True)
    if v < m:
        raise ValueError(
            f"variance must be >= mean (peaked traffic) for equivalent_random, "
            f"got variance={variance!r} < mean={mean!r}"
        )
    z = v / m
    a_star = v + 3.0 * z * (z - 1.0)
    c_star = a_star * (m + z) / (m + z - 1.0) - m - 1.0
    return a_star, max(0.0, c_star)


def hayward_blocking(mean: float, variance: float, circuits: float) -> float:
    """APPROXIMATION (Hayward): blocking of non-Poisson traffic, B(m/z, c/z).

    z = variance/mean is the peakedness; uses :func:`erlang_b_real`.  Good
    enough for reports, never a test oracle.
    """
    m = _real("mean", mean, positive=True)
    v = _real("variance", variance, positive=True)
    c = _real("circuits", circuits)
    z = v / m
    return erlang_b_real(m / z, c / z)


# --------------------------------------------------------------------------
# strict priority chain (sequential hunting)
# --------------------------------------------------------------------------
def _cumulative_blockings(a: float, capacities: Sequence[int]) -> list[float]:
    """B(A, C_0=0), B(A, C_1), ..., B(A, C_K) in one pass of the recursion."""
    caps = [_count(f"capacities[{i}]", c) for i, c in enumerate(capacities)]
    out = [1.0]
    b = 1.0
    k = 0
    for cap in caps:
        for _ in range(cap):
            k += 1
            ab = a * b
            b = ab / (k + ab)
        out.append(b)
    return out


def priority_chain(traffic: float, capacities: Sequence[int]) -> list[float]:
    """Carried traffic (erlang) per trunk of a strict sequential-hunting chain.

    With cumulative capacities C_k, trunk k carries A*[B(A,C_{k-1}) - B(A,C_k)];
    exact for Poisson arrivals and any holding-time distribution.
    """
    a = _real("traffic", traffic)
    bs = _cumulative_blockings(a, capacities)
    return [a * (bs[i] - bs[i + 1]) for i in range(len(bs) - 1)]


def priority_chain_loss(traffic: float, capacities: Sequence[int]) -> float:
    """Loss probability of the whole chain: B(A, sum of capacities)."""
    a = _real("traffic", traffic)
    return _cumulative_blockings(a, capacities)[-1]


# --------------------------------------------------------------------------
# ringing and time-varying load
# --------------------------------------------------------------------------
def ringing_timeout_probability(timeout: float, mean_answer_delay: float) -> float:
    """P(exponential answer delay exceeds the ringing timeout) = exp(-T/r)."""
    t = _real("timeout", timeout, allow_inf=True)
    r = _real("mean_answer_delay", mean_answer_delay, positive=True)
    return math.exp(-t / r)


def mt_g_inf_mean_piecewise(
    times: Sequence[float], rates: Sequence[float], mean_holding: float, t: float
) -> float:
    """Mean busy circuits at time t, Mt/M/inf, piecewise-constant arrival rate.

    ``rates[i]`` applies on [times[i], times[i+1]) and the last rate forever;
    the system is empty at times[0] (0.0 is returned before it).  Exact
    solution of m' = lambda - m/h on each piece.  Busy circuits are Poisson
    with this mean, which is why a varying load blocks more than its average.
    """
    h = _real("mean_holding", mean_holding, positive=True)
    now = _real("t", t, minimum=None)
    if len(times) != len(rates):
        raise ValueError(f"times and rates must have the same length, got {len(times)} and {len(rates)}")
    if len(times) == 0:
        raise ValueError("times must not be empty, got []")
    ts = [_real(f"times[{i}]", x, minimum=None) for i, x in enumerate(times)]
    lams = [_real(f"rates[{i}]", x) for i, x in enumerate(rates)]
    for i in range(1, len(ts)):
        if not ts[i] > ts[i - 1]:
            raise ValueError(
                f"times must be strictly increasing, got times[{i}]={times[i]!r} after {times[i - 1]!r}"
            )
    if now <= ts[0]:
        return 0.0
    m = 0.0
    for i, (start, lam) in enumerate(zip(ts, lams)):
        end = ts[i + 1] if i + 1 < len(ts) else math.inf
        stop = min(end, now)
        decay = math.exp(-(stop - start) / h)
        m = m * decay - lam * h * math.expm1(-(stop - start) / h)
        if now <= end:
            break
    return m


def mt_g_inf_mean_sinusoidal(
    mean_rate: float, amplitude: float, period: float, mean_holding: float, t: float
) -> float:
    """Periodic steady-state mean busy circuits, Mt/M/inf, sinusoidal arrivals.

    lambda(t) = mean_rate*(1 + a*sin(2*pi*t/P)); with w = 2*pi/P,
    m(t) = mean_rate*h*[1 + a*(sin(wt) - wh*cos(wt))/(1 + (wh)^2)].
    The peak lags and is damped relative to lambda(t)*h.
    """
    lam = _real("mean_rate", mean_rate)
    a = _real("amplitude", amplitude, minimum=-1.0)
    if a > 1.0:
        raise ValueError(f"amplitude must be in [-1, 1], got {amplitude!r}")
    p = _real("period", period, positive=True)
    h = _real("mean_holding", mean_holding, positive=True)
    now = _real("t", t, minimum=None)
    w = 2.0 * math.pi / p
    wh = w * h
    return lam * h * (1.0 + a * (math.sin(w * now) - wh * math.cos(w * now)) / (1.0 + wh * wh))


# --------------------------------------------------------------------------
# callers who redial
# --------------------------------------------------------------------------
def extended_erlang_b(traffic: float, circuits: int, recall: float, *, tol: float = 1e-13) -> dict:
    """Extended Erlang B (Jewett & Shrago): blocked traffic comes back with the recall factor ``recall``
    (the share of blocked tries that try again) until the offered traffic settles.

    A_0 = ``traffic`` (fresh erlang); A_{k+1} = A_0 + recall * B(A_k, c) * A_k. Returns ``offered`` (fresh
    plus retried erlang), ``blocking`` (per try), ``retried`` and ``lost`` erlang, and per fresh caller
    ``caller_loss`` = lost / A_0. An approximation (retries are taken as Poisson, as if long delayed).
    """
    a0 = _real("traffic", traffic)
    n = _count("circuits", circuits)
    r = _probability("recall", recall, low_open=False, high_open=True)
    a = a0
    for _ in range(1_000_000):
        b = _erlang_b(a, n)
        nxt = a0 + r * b * a
        if abs(nxt - a) <= tol * max(1.0, a):
            a = nxt
            break
        a = nxt
    b = _erlang_b(a, n)
    lost = (1.0 - r) * b * a
    return {
        "offered": a,
        "blocking": b,
        "retried": r * b * a,
        "lost": lost,
        "caller_loss": lost / a0 if a0 > 0 else 0.0,
        "carried": a * (1.0 - b),
    }


def retrial_queue(
    arrival_rate: float,
    mean_service: float,
    circuits: int,
    retry_probability: float,
    mean_retrial_delay: float,
    *,
    tail: float = 1e-12,
    max_orbit: int = 100_000,
) -> dict:
    """The M/M/c/c retrial queue, exactly (a CTMC truncated where the orbit's tail is below ``tail``).

    Fresh calls arrive at ``arrival_rate`` and hold a circuit for an exponential time of mean
    ``mean_service``; a try that finds all ``circuits`` busy joins the orbit with ``retry_probability``
    (else the caller gives up), and each caller in the orbit tries again after an exponential delay of
    mean ``mean_retrial_delay``. State (busy circuits n, callers in orbit j).

    Returns per fresh caller ``first_attempt_blocking`` (PASTA: P(n = c)), ``retrial_rate`` (retries per
    fresh call), ``retry_blocking`` (blocked retries / retries), ``caller_loss`` (fresh callers who give up
    after a blocked try), ``tries_per_caller``; and the time averages ``mean_orbit``, ``carried``.
    """
    lam = _real("arrival_rate", arrival_rate, positive=True)
    h = _real("mean_service", mean_service, positive=True)
    c = _count("circuits", circuits, minimum=1)
    p = _probability("retry_probability", retry_probability, low_open=False, high_open=False)
    if p == 1.0 and arrival_rate * mean_service >= circuits:
        raise ValueError(
            "with retry_probability 1 the offered traffic must be below the circuits (else the orbit grows)"
        )
    theta = 1.0 / _real("mean_retrial_delay", mean_retrial_delay, positive=True)
    import numpy as np
    from scipy.sparse.linalg import spsolve

    mu = 1.0 / h
    orbit = 16
    while True:
        size = (c + 1) * (orbit + 1)
        q = _retrial_generator(lam, mu, c, p, theta, orbit)
        a = q.T.tolil()
        a[0, :] = 1.0  # replace one balance equation by the normalisation
        rhs = np.zeros(size)
        rhs[0] = 1.0
        pi = np.maximum(spsolve(a.tocsr(), rhs), 0.0)
        pi /= pi.sum()
        grid = pi.reshape(orbit + 1, c + 1)  # [j, n]
        if grid[-1].sum() < tail or orbit >= max_orbit:
            break
        orbit *= 2
    j = np.arange(orbit + 1)[:, None]
    full = grid[:, c]
    mean_orbit = float((j[:, 0] * grid.sum(axis=1)).sum())
    retries = theta * mean_orbit  # per unit time
    blocked_retries = theta * float((j[:, 0] * full).sum())
    blocking = float(full.sum())
    gave_up = (1.0 - p) * (lam * blocking + blocked_retries)
    return {
        "first_attempt_blocking": blocking,
        "retrial_rate": retries / lam,
        "retry_blocking": blocked_retries / retries if retries > 0 else 0.0,
        "caller_loss": gave_up / lam,
        "tries_per_caller": 1.0 + retries / lam,
        "mean_orbit": mean_orbit,
        "carried": float((np.arange(c + 1) * grid.sum(axis=0)).sum()),
        "orbit_truncated_at": orbit,
    }


def _retrial_generator(lam: float, mu: float, c: int, p: float, theta: float, orbit: int):
    """The retrial queue's generator over states (n busy, j in orbit), j truncated at ``orbit``."""
    import numpy as np
    from scipy.sparse import coo_matrix

    size = (c + 1) * (orbit + 1)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for j in range(orbit + 1):
        for n in range(c + 1):
            here = j * (c + 1) + n
            moves = []
            if n < c:
                moves.append((here + 1, lam))  # a fresh call takes a circuit
                if j > 0:
                    moves.append((here + 1 - (c + 1), j * theta))  # a retry takes one
            else:
                if j < orbit:
                    moves.append((here + (c + 1), lam * p))  # blocked, joins the orbit
                if j > 0:
                    moves.append((here - (c + 1), j * theta * (1.0 - p)))  # a blocked retry gives up
            if n > 0:
                moves.append((here - 1, n * mu))  # a call ends
            for there, r in moves:
                if r > 0:
                    rows.append(here)
                    cols.append(there)
                    vals.append(r)
    q = coo_matrix((vals, (rows, cols)), shape=(size, size)).tocsr()
    out = np.asarray(q.sum(axis=1)).ravel()
    return q - coo_matrix((out, (range(size), range(size))), shape=(size, size)).tocsr()
