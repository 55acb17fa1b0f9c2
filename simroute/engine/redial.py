"""Callers who redial: after a try that ended in one of the DID's ``redial.after`` classes, the caller
tries again with the chance of that try's number, after the redial delay.

Why a module of its own: the engine only tells it where a call ends (:meth:`Redialer.ended`,
:meth:`Redialer.refused`); the redialer decides, schedules the next try as an event of its own and hands
it back to the engine's admission (``Engine._admit``) as a new call with the same caller number. Each try
writes one row (:data:`~.rows.REDIAL_FIELDS`): its caller (the id of the caller's first call), its try
number, how it ended and what the caller does next, so every KPI of callers is a sum over rows.

Every draw comes from streams of its own (``redial/<did>``, ``redial_delay/<did>``...): a scenario
without redial draws exactly what it drew before, and with redial the fresh calls keep their numbers.
"""

from __future__ import annotations

import bisect
from array import array
from typing import NamedTuple

from ..scenario import codes
from .clock import Wakeup
from .rows import IN_ORBIT, RETRIES, STOPS
from .streams import batched, sampler

__all__ = ["Redialer", "Retry"]

NAN = float("nan")


class Retry(Wakeup):
    """A caller's next try, scheduled at its time."""

    __slots__ = ("did", "caller_id", "caller", "tries", "first_arrival")

    def __init__(self, callbacks, did, caller_id, caller, tries, first_arrival):
        self.callbacks = callbacks
        self.did = did
        self.caller_id, self.caller, self.tries, self.first_arrival = caller_id, caller, tries, first_arrival


class _Plan(NamedTuple):
    """A redialling DID's rule and its draws."""

    after: frozenset  # indices in codes.REDIAL_CLASSES that make a caller try again
    causes: frozenset  # and single causes that do (outcome names in ``after``)
    rule: object  # the schema's Redial (chance of another try after try k)
    decide: object  # uniform draws: another try or not
    delay: object  # sampler of the time to the next try
    holding: object  # sampler of a retry's holding time (the DID's holding-time distribution)
    ingress: object  # uniform draws: a retry's ingress POP
    route: object  # uniform draws: a retry's first trunk in its group


class Redialer:
    """The redial rules of one run's DIDs, the tries in flight and the rows they write."""

    def __init__(self, engine, streams):
        self.engine = engine
        self.horizon = engine.duration
        self.rows = array("d")
        self._open: dict[int, tuple[int, int, float]] = {}  # retry call id -> (caller id, try, first arrival)
        self._on_retry = engine.callbacks(self._retry)
        self._plans: list[_Plan | None] = []
        for d in engine.net.scenario.dids:
            rule = None if d.traffic is None else d.traffic.redial
            if rule is None:
                self._plans.append(None)
                continue
            n = d.number
            self._plans.append(
                _Plan(
                    frozenset(codes.REDIAL_CLASSES.index(n) for n in rule.after if n in codes.REDIAL_CLASSES),
                    frozenset(codes.outcome_cause(n) for n in rule.after if n not in codes.REDIAL_CLASSES),
                    rule,
                    batched(streams.get("redial", n).random, 1024),
                    sampler(rule.delay, streams.get("redial_delay", n)),
                    sampler(d.traffic.holding_time, streams.get("redial_holding", n)),
                    batched(streams.get("redial_ingress", n).random, 1024),
                    batched(streams.get("redial_routing", n).random, 1024),
                )
            )

    def refused(self, cid: int, d: int, caller: int, now: float, cause: int) -> None:
        """A try refused before any trunk (number list, DID or group cap, no DID channel)."""
        if self._plans[d] is not None:
            self._decide(cid, d, caller, now, now, cause, codes.PBX_WAITING)

    def ended(self, call) -> None:
        """A try that got past its DID has ended (answered and hung up, or its last attempt failed)."""
        if self._plans[call.did] is not None:
            connected = call.connect == call.connect  # not NaN: answered
            cause = codes.ANSWERED if connected else call.cause
            self._decide(call.cid, call.did, call.caller, call.arrival, call.at, cause, call.pbx_outcome)

    def _decide(self, cid, d, caller, arrival, end, cause, pbx_outcome) -> None:
        """Write the try's row, and schedule the caller's next try if the caller makes one."""
        plan = self._plans[d]
        assert plan is not None
        caller_id, tries, first_arrival = self._open.pop(cid, (cid, 1, arrival))
        klass = codes.redial_class(cause, pbx_outcome)
        nxt, orbit_end = STOPS, end
        if klass in plan.after or cause in plan.causes:
            p = plan.rule.chance(tries)
            if p > 0.0 and (p >= 1.0 or plan.decide() < p):
                at = end + plan.delay()
                if at < self.horizon:
                    nxt, orbit_end = RETRIES, at
                    retry = Retry(self._on_retry, d, caller_id, caller, tries + 1, first_arrival)
                    self.engine._schedule_at(retry, at)
                else:  # no try starts after the horizon: the caller is still waiting then
                    nxt, orbit_end = IN_ORBIT, max(end, self.horizon)
        self.rows.extend((cid, caller_id, tries, arrival, first_arrival, end, klass, nxt, orbit_end))

    def _retry(self, retry: Retry) -> None:
        """The caller tries again: a new call, admitted as a fresh one is (number list, caps, channels)."""
        engine = self.engine
        d, now = retry.did, retry.at
        plan = self._plans[d]
        assert plan is not None
        cid = engine._call_ids()
        self._open[cid] = (retry.caller_id, retry.tries, retry.first_arrival)
        u = plan.route() if engine.net.did_group[d] >= 0 else 0.0
        pop_cum = engine._pop_cum
        ingress = bisect.bisect_right(pop_cum, plan.ingress() * pop_cum[-1]) if len(pop_cum) > 1 else 0
        engine._admit(cid, d, retry.caller, ingress, u, plan.holding(), now)


def redialling(scenario) -> bool:
    """Whether any DID of ``scenario`` has callers who redial (only then are redial rows and KPIs made)."""
    return any(d.traffic is not None and d.traffic.redial is not None for d in scenario.dids)
