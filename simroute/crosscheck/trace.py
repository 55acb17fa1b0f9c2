"""The lab's trace: each call's arrival, holding time and every trunk's verdict, drawn once from the
scenario and then played by both sides (SIPp's caller and far ends, simroute's trace replay).

Margins keep each outcome settled by the trace rather than by timer jitter on a loaded machine: an
answer comes at least ``MARGIN`` seconds before the trunk's ringing timeout, a ring lasts past it, and
(see :func:`without_close_calls`) no call meets a capacity limit within ``MARGIN`` of a release.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..engine.network import outcome_table
from ..scenario import codes
from .lab import Lab

__all__ = ["MARGIN", "Verdict", "Call", "Trace", "draw_trace"]

MARGIN = 2.0  # seconds between an outcome and the timer that would change it
CAP_MARGIN = 1.0  # seconds between a call meeting a capacity limit and a release on that trunk
MIN_HOLD = 0.5  # a shorter call could send BYE before its ACK is through


@dataclass(frozen=True)
class Verdict:
    """What one trunk's far end does with one call: ``kind`` answer / reject / ring."""

    kind: str
    code: int = 0
    delay: float = 0.0

    def replay_text(self) -> str:
        if self.kind == "answer":
            return f"answer {self.delay:.3f}"
        if self.kind == "reject":
            return f"reject {self.code} {self.delay:.3f}"
        return "ring"

    def sipp_text(self) -> str:
        letter = {"answer": "a", "reject": "e", "ring": "r"}[self.kind]
        return f"{letter} {self.code or 200} {int(round(self.delay * 1000))}"


@dataclass(frozen=True)
class Call:
    arrival: float
    hold: float
    did: str
    caller: str
    verdicts: dict[str, Verdict]


@dataclass
class Trace:
    calls: list[Call]
    trunks: list[str]
    dids: list[str] = field(default_factory=list)

    def error_codes(self, trunk: str) -> list[int]:
        return sorted({c.verdicts[trunk].code for c in self.calls if c.verdicts[trunk].kind == "reject"})

    def write_replay(self, folder: Path) -> dict[str, Path]:
        """One replay CSV per DID (time_start, duration, caller, endpoint.<trunk> ...)."""
        paths = {}
        for did in self.dids:
            path = Path(folder) / f"trace-{did}.csv"
            with open(path, "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["time_start", "duration", "caller", *[f"endpoint.{t}" for t in self.trunks]])
                for c in self.calls:
                    if c.did == did:
                        w.writerow(
                            [
                                f"{c.arrival:.3f}",
                                f"{c.hold:.3f}",
                                c.caller,
                                *[c.verdicts[t].replay_text() for t in self.trunks],
                            ]
                        )
            paths[did] = path
        return paths

    def write_sipp(self, path: Path, lead_in: float) -> None:
        """SIPp's injection file: arrival (ms since SIPp started), hold (ms), DID, caller, verdicts."""
        lines = ["SEQUENTIAL"]
        for c in self.calls:
            fields = [
                str(int(round((c.arrival + lead_in) * 1000))),
                str(int(round(c.hold * 1000))),
                c.did,
                c.caller,
                *[c.verdicts[t].sipp_text() for t in self.trunks],
            ]
            lines.append(";".join(fields) + ";")
        Path(path).write_text("\n".join(lines) + "\n")


def _verdict(endpoint, timeout: float, rng: np.random.Generator) -> Verdict:
    if endpoint is None:
        return Verdict("answer", 0, 0.0)
    cum, what = outcome_table(endpoint)
    u = rng.random()
    i = int(np.searchsorted(cum, u, side="right"))
    cause = what[i] if i < len(what) else codes.RINGING_TIMEOUT
    latest = max(timeout - MARGIN, 0.0)
    if cause == codes.ANSWERED:
        delay = float(endpoint.answer_delay.sample(rng, 1)[0])
        if delay < timeout:
            return Verdict("answer", 200, min(delay, latest))
        return Verdict("ring")
    if cause == codes.RINGING_TIMEOUT:
        return Verdict("ring")
    delay = float(endpoint.reject_delay.sample(rng, 1)[0])
    return Verdict("reject", int(cause), min(delay, latest))


def draw_trace(lab: Lab, seconds: float, rate_scale: float, seed: int, max_hold: float) -> Trace:
    """Poisson arrivals at each DID's base rate times ``rate_scale`` over ``seconds``, holding times from
    the DID's distribution (cut to ``max_hold`` so the lab drains quickly), verdicts per trunk."""
    rng = np.random.default_rng(seed)
    s = lab.scenario
    endpoints = {t.name: t.endpoint for t in s.trunks}
    calls = []
    for d in s.dids:
        assert d.traffic is not None and d.traffic.holding_time is not None
        rate = d.traffic.base_rate * rate_scale
        n = int(rng.poisson(rate * seconds))
        times = np.sort(rng.uniform(0.0, seconds, n))
        holds = np.clip(d.traffic.holding_time.sample(rng, n), MIN_HOLD, max_hold)
        for k, (t, h) in enumerate(zip(times, holds)):
            verdicts = {lt.name: _verdict(endpoints[lt.name], lt.ringing_timeout, rng) for lt in lab.trunks}
            caller = f"49{int(rng.integers(10**9, 10**10))}"
            calls.append(Call(float(round(t, 3)), float(round(h, 3)), d.number, caller, verdicts))
            del k
    calls.sort(key=lambda c: c.arrival)
    return Trace(calls, [t.name for t in lab.trunks], [d.number for d in s.dids])


def without(trace: Trace, drop: set[int]) -> Trace:
    """The trace less the calls at the given positions."""
    return Trace([c for i, c in enumerate(trace.calls) if i not in drop], trace.trunks, trace.dids)
