"""The event loop: the only module that knows SimPy.

No SimPy process per call: a call is a small list moved along by timeout callbacks (attempt end, hang-up),
so the per-call cost is a few list operations. Each finished attempt appends one row of numbers to a
flat ``array('d')`` (see :mod:`simroute.records`), never a Python object per row. Random numbers come in
numpy batches from named streams.
"""
from __future__ import annotations

import bisect
import math
from array import array

import simpy
from simpy.events import Timeout

from . import codes
from .network import Network, is_instant, outcome_table
from .routing import attempt_order, should_reroute
from .streams import Streams, batched
from .traffic import CallerMix, arrival_times, rate_breakpoints

__all__ = ["Engine", "AuditedEngine", "CapacityViolation"]

NAN = math.nan
ANSWERED, RINGING_TIMEOUT, TIMER_B = codes.ANSWERED, codes.RINGING_TIMEOUT, codes.TIMER_B
# positions in a call's state list (a list, not an object: cheapest to make and to index)
CID, DID, CALLER, INGRESS, ORDER, K, HOLD, START, CAUSE, EP, MAXA, CALLERNUM = range(12)


class Engine:
    """Runs one replication of a compiled :class:`~simroute.network.Network` with one seed."""

    def __init__(self, net: Network, seed: int, duration: float):
        self.net = net
        self.duration = duration
        self.env = simpy.Environment()
        self.rows = array("d")
        self._n_calls = 0
        streams = Streams(seed)
        s = net.scenario
        n_trunks = len(net.trunk_names)

        self.trunk_busy = [0] * n_trunks
        self.group_busy = [0] * len(net.group_names)
        self.did_busy = [0] * len(net.did_numbers)
        self.endpoint_busy = [0] * n_trunks
        self.endpoint_cap = list(net.endpoint_cap)
        self.pop_down = [0] * len(net.pop_names)
        self.link_down = [0] * n_trunks
        self.respond_fault: list[tuple[int, float] | None] = [None] * n_trunks
        self._respond_active: list[list[tuple[int, float]]] = [[] for _ in range(n_trunks)]
        self._channel_faults: list[list[int]] = [[] for _ in range(n_trunks)]
        self._pop_cum: list[float] = []
        self._refresh_pops()

        self._pop_u = batched(lambda n, r=streams.get("ingress"): r.random(n))
        self._route_u = batched(lambda n, r=streams.get("routing"): r.random(n))
        self._fault_u = batched(lambda n, r=streams.get("faults"): r.random(n))
        self._outcome_u, self._answer_delay, self._reject_delay, self._outcomes = [], [], [], []
        for name, ep in zip(net.trunk_names, net.endpoints):
            self._outcome_u.append(batched(lambda n, r=streams.get("codes", name): r.random(n)))
            self._answer_delay.append(_sampler(ep.answer_delay, streams.get("answer", name)))
            self._reject_delay.append(_sampler(ep.reject_delay, streams.get("reject", name)))
            self._outcomes.append(outcome_table(ep))

        self._hold, self._callers = [], []
        for i, d in enumerate(s.dids):
            tr = d.traffic
            if tr is None:
                self._hold.append(None)
                self._callers.append(None)
                continue
            self._hold.append(_sampler(tr.holding_time, streams.get("holding", d.number)))
            c = tr.callers
            mix = CallerMix(list(c.prefix_shares), list(c.prefix_shares.values()),
                            c.default_prefix if c.default_prefix is not None else d.number[:2], c.length,
                            streams.get("callers", d.number))
            self._callers.append(batched(mix.draw, 1024))
            times, rates = rate_breakpoints(tr, duration)
            batches = arrival_times(times, rates, duration, streams.get("arrivals", d.number))
            self.env.process(self._arrivals(i, batches))
        for fault in net.faults:
            self.env.process(self._fault(fault))
        self._inter_pop = s.settings.inter_pop_delay

    # -- arrivals -----------------------------------------------------------------------------------
    def _arrivals(self, did, batches):
        env = self.env
        offer = self._offer
        for batch in batches:
            for t in batch.tolist():
                yield Timeout(env, t - env._now)
                offer(did)

    def _offer(self, d):
        """A call arrives: DID number list, DID cap, group cap, then its first attempt."""
        net = self.net
        now = self.env._now
        cid = self._n_calls
        self._n_calls = cid + 1
        caller = self._callers[d]()
        callernum = float(caller)
        u = self._pop_u() * self._pop_cum[-1]
        ingress = bisect.bisect_right(self._pop_cum, u)
        hold = self._hold[d]()
        did_list = net.did_list[d]
        if did_list is not None and not did_list.allows(caller):
            self.rows.extend((cid, 1, d, callernum, ingress, -1, now, NAN, now, codes.NUMBER_LIST_REJECT))
            return
        did_busy = self.did_busy
        if did_busy[d] >= net.did_cap[d]:
            self.rows.extend((cid, 1, d, callernum, ingress, -1, now, NAN, now, codes.DID_CAPACITY))
            return
        did_busy[d] += 1
        g = net.did_group[d]
        if g >= 0:
            if self.group_busy[g] >= net.group_cap[g]:
                did_busy[d] -= 1
                self.rows.extend((cid, 1, d, callernum, ingress, -1, now, NAN, now, codes.GROUP_CAPACITY))
                return
            self.group_busy[g] += 1
            order = attempt_order(net.group_buckets[g], self._route_u)
            max_attempts = net.group_max_attempts[g]
        else:
            order = (net.did_trunk[d],)
            max_attempts = 1
        self._attempt([cid, d, caller, ingress, order, 0, hold, now, 0, False, max_attempts, callernum])

    # -- attempts -----------------------------------------------------------------------------------
    def _attempt(self, call):
        """Try ``call``'s next trunk: instant refusals loop on; otherwise schedule the attempt's end."""
        net = self.net
        env = self.env
        trunk_busy = self.trunk_busy
        order = call[ORDER]
        while True:
            now = env._now
            k = call[K]
            t = order[k]
            ingress = call[INGRESS]
            lst = net.trunk_list[t]
            egress = net.trunk_pop[t]
            if egress < 0:
                egress = ingress
            if lst is not None and not lst.allows(net.cli_prefix[t] + call[CALLER]):
                cause = codes.NUMBER_LIST_REJECT
            elif trunk_busy[t] >= net.trunk_cap[t]:
                cause = codes.TRUNK_CAPACITY
            elif self.pop_down[egress]:
                cause = codes.POP_DOWN
            else:
                break
            self.rows.extend((call[CID], k + 1, call[DID], call[CALLERNUM], ingress, t, now, NAN, now, cause))
            if should_reroute(cause, net.reroute[t], k + 1, len(order), call[MAXA]):
                call[K] = k + 1
                continue
            self._end_call(call)
            return

        trunk_busy[t] += 1
        timeout = net.ringing_timeout[t]
        took_endpoint = False
        if self.link_down[t]:
            cause, delay = TIMER_B, net.timer_b[t]
        elif self.endpoint_busy[t] >= self.endpoint_cap[t]:
            cause, delay = net.endpoints[t].busy_code, self._reject_delay[t]()
        else:
            took_endpoint = True
            self.endpoint_busy[t] += 1
            fault = self.respond_fault[t]
            if fault is not None and self._fault_u() < fault[1]:
                cause, delay = fault[0], self._reject_delay[t]()
            else:
                cum, what = self._outcomes[t]
                u = self._outcome_u[t]()
                i = bisect.bisect_right(cum, u)
                cause = what[i] if i < len(what) else RINGING_TIMEOUT
                if cause == ANSWERED:
                    delay = self._answer_delay[t]()
                elif cause == TIMER_B:
                    delay = net.timer_b[t]
                elif cause == RINGING_TIMEOUT:
                    delay = timeout
                else:
                    delay = self._reject_delay[t]()
            if egress != ingress:
                delay += self._inter_pop
        if delay > timeout:
            cause, delay = RINGING_TIMEOUT, timeout
        call[START] = now
        call[CAUSE] = cause
        call[EP] = took_endpoint
        Timeout(env, delay, call).callbacks.append(self._attempt_end)

    def _attempt_end(self, event):
        call = event._value
        now = self.env._now
        k = call[K]
        t = call[ORDER][k]
        cause = call[CAUSE]
        if cause == ANSWERED:
            hold = call[HOLD]
            self.rows.extend((call[CID], k + 1, call[DID], call[CALLERNUM], call[INGRESS], t, call[START], now,
                              now + hold, ANSWERED))
            Timeout(self.env, hold, call).callbacks.append(self._hang_up)
            return
        self.trunk_busy[t] -= 1
        if call[EP]:
            self.endpoint_busy[t] -= 1
        self.rows.extend((call[CID], k + 1, call[DID], call[CALLERNUM], call[INGRESS], t, call[START], NAN, now,
                          cause))
        if should_reroute(cause, self.net.reroute[t], k + 1, len(call[ORDER]), call[MAXA]):
            call[K] = k + 1
            self._attempt(call)
        else:
            self._end_call(call)

    def _hang_up(self, event):
        call = event._value
        t = call[ORDER][call[K]]
        self.trunk_busy[t] -= 1
        if call[EP]:
            self.endpoint_busy[t] -= 1
        self._end_call(call)

    def _end_call(self, call):
        d = call[DID]
        self.did_busy[d] -= 1
        g = self.net.did_group[d]
        if g >= 0:
            self.group_busy[g] -= 1

    # -- faults -------------------------------------------------------------------------------------
    def _fault(self, f):
        env = self.env
        yield env.timeout(f.start)
        self._apply(f, +1)
        yield env.timeout(f.end - f.start)
        self._apply(f, -1)

    def _apply(self, f, sign):
        if f.kind == "pop":
            self.pop_down[f.target] += sign
            self._refresh_pops()
        elif f.effect == "down":
            self.link_down[f.target] += sign
        elif f.effect == "respond":
            active = self._respond_active[f.target]
            active.append((f.code, f.probability)) if sign > 0 else active.remove((f.code, f.probability))
            self.respond_fault[f.target] = active[-1] if active else None
        else:
            active = self._channel_faults[f.target]
            active.append(f.channels) if sign > 0 else active.remove(f.channels)
            base = self.net.endpoint_cap[f.target]
            self.endpoint_cap[f.target] = min([base, *active])

    def _refresh_pops(self):
        """Cumulative ingress shares over the POPs that are up (a down POP's share moves to the rest)."""
        shares = [0.0 if down else s for s, down in zip(self.net.pop_shares, self.pop_down)]
        if sum(shares) <= 0:  # every POP down: calls still arrive somewhere; keep the configured split
            shares = list(self.net.pop_shares)
        acc, cum = 0.0, []
        for s in shares:
            acc += s
            cum.append(acc)
        self._pop_cum = cum

    # -- run ----------------------------------------------------------------------------------------
    def run(self) -> array:
        """Simulate arrivals up to the horizon, then let every call in progress finish."""
        self.env.run()
        return self.rows


class CapacityViolation(AssertionError):
    """Raised by :class:`AuditedEngine` when a channel count leaves ``0..cap``."""


class AuditedEngine(Engine):
    """An engine that checks every cap after every event; for tests, slower than :class:`Engine`."""

    def _check(self):
        net = self.net
        for name, busy, cap in (("trunk", self.trunk_busy, net.trunk_cap), ("group", self.group_busy, net.group_cap),
                                ("did", self.did_busy, net.did_cap),
                                ("endpoint", self.endpoint_busy, net.endpoint_cap)):
            for i, (b, c) in enumerate(zip(busy, cap)):
                if not 0 <= b <= c:
                    raise CapacityViolation(f"{name} {i}: {b} busy, cap {c}, at t={self.env.now}")
        self.events_checked += 1

    events_checked = 0

    def _offer(self, d):
        super()._offer(d)
        self._check()

    def _attempt_end(self, event):
        super()._attempt_end(event)
        self._check()

    def _hang_up(self, event):
        super()._hang_up(event)
        self._check()


def _sampler(dist, rng):
    """A ``next()`` over batches of ``dist``, or a constant function for a zero delay."""
    if is_instant(dist):
        return _zero
    return batched(lambda n: dist.sample(rng, n))


def _zero() -> float:
    return 0.0

