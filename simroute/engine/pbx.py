"""phone.systems delivery: a cloud PBX that answers, plays an IVR and queues callers for its agents.

Callers wait first-come first-served; one whose patience runs out hangs up (abandons); one still waiting
at ``max_wait`` goes to voicemail (handled by the system, not by an agent). Agents talk for the call's
holding time and come on and off duty by the intervals of their profile on the local clock. The engine
drives it: the PBX schedules its own events through the engine's scheduler and hangs calls up through
the engine, so it needs no SimPy.
"""

from __future__ import annotations

import math
from collections import deque

from ..scenario import codes
from ..scenario.schema import Pbx
from .clock import Wakeup
from .streams import sampler

__all__ = ["CloudPbx"]


class _Wake(Wakeup):
    """A one-off event of the PBX on ``trunk``: a caller's deadline (``payload``: the call), or the hour
    when the agent count changes (``payload``: the hour)."""

    __slots__ = ("payload", "trunk")

    def __init__(self, callbacks, payload, trunk):
        self.callbacks = callbacks
        self.payload = payload
        self.trunk = trunk


class CloudPbx:
    """The queue and agents behind one ``kind: pbx`` trunk."""

    def __init__(self, engine, trunk: int, model: Pbx, streams):
        name = engine.net.trunk_names[trunk]
        self.engine = engine
        self.trunk = trunk
        self.model = model
        self._answer = sampler(model.answer_delay, streams.get("pbx_answer", name))
        self._ivr = sampler(model.ivr, streams.get("ivr", name))
        self._patience = (
            None if model.patience is None else sampler(model.patience, streams.get("patience", name))
        )
        self._voicemail = sampler(model.voicemail_time, streams.get("voicemail", name))
        self._max_wait = math.inf if model.max_wait is None else model.max_wait
        self._capacity = math.inf if model.queue_capacity is None else model.queue_capacity
        # staffing follows the local clock: interval k of the agents' profile starts k intervals after
        # the local Monday midnight before time 0, which is ``phase`` seconds before it
        self._phase = engine.net.scenario.clock_phase
        first = int(self._phase // model.agents_interval)
        self.on_duty = model.agents_at(first)
        self.queue: deque = deque()
        self.in_ivr = 0
        self._after_ivr = engine.callbacks(self._queue_up)
        self._after_talk = engine.callbacks(self._talked)
        self._after_voicemail = engine.callbacks(self._finish)
        self._on_deadline = engine.callbacks(self._deadline)
        self._on_shift = engine.callbacks(self._shift)
        if not isinstance(model.agents, int):
            self._next_shift(first + 1)

    # -- the INVITE ----------------------------------------------------------------------------------
    def admit(self) -> tuple[int, float]:
        """Answer (after the PBX's answer delay), or refuse (queue full) when the queue has no room."""
        free = self.on_duty - self.engine.agents_busy[self.trunk]
        if self.in_ivr + self.engine.queue_busy[self.trunk] >= max(free, 0) + self._capacity:
            return codes.QUEUE_FULL, 0.0  # the caller sees the PBX's busy_code
        return codes.ANSWERED, self._answer()

    def answered(self, call) -> None:
        """The PBX has answered ``call``: IVR first, then the queue."""
        self.in_ivr += 1
        ivr = self._ivr()
        if ivr:
            call.callbacks = self._after_ivr
            self.engine._schedule_in(call, ivr)
        else:
            self._queue_up(call)

    # -- the queue -----------------------------------------------------------------------------------
    def _queue_up(self, call) -> None:
        self.in_ivr -= 1
        now = call.at
        call.queued_at = now
        if self.on_duty - self.engine.agents_busy[self.trunk] > 0:
            self._serve(call, now)
            return
        self.queue.append(call)
        self.engine.queue_busy[self.trunk] += 1
        patience = self._patience() if self._patience is not None else math.inf
        deadline = min(patience, self._max_wait)
        if deadline < math.inf:
            call.pbx_deadline = codes.PBX_ABANDONED if patience < self._max_wait else codes.PBX_VOICEMAIL
            self.engine._schedule_in(_Wake(self._on_deadline, call, self.trunk), deadline)

    def _serve(self, call, now) -> None:
        self.engine.agents_busy[self.trunk] += 1
        call.left_at = now
        call.pbx_outcome = codes.PBX_SERVED
        call.callbacks = self._after_talk
        self.engine._schedule_at(call, now + call.hold)

    def _talked(self, call) -> None:
        self.engine.agents_busy[self.trunk] -= 1
        self._serve_waiting(call.at)
        self._finish(call)

    def _serve_waiting(self, now: float) -> None:
        """Free agents take the longest-waiting callers (callers who already left are skipped)."""
        engine, queue = self.engine, self.queue
        while queue and self.on_duty - engine.agents_busy[self.trunk] > 0:
            call = queue.popleft()
            if call.pbx_outcome != codes.PBX_WAITING:  # abandoned or in voicemail already
                continue
            engine.queue_busy[self.trunk] -= 1
            self._serve(call, now)

    def _deadline(self, wake) -> None:
        call = wake.payload
        if call.pbx_outcome != codes.PBX_WAITING:  # an agent took it first
            return
        now = call.at = wake.at  # the call's latest moment
        self.engine.queue_busy[self.trunk] -= 1
        call.left_at = now
        call.pbx_outcome = call.pbx_deadline
        if call.pbx_outcome == codes.PBX_VOICEMAIL:
            call.callbacks = self._after_voicemail
            self.engine._schedule_in(call, self._voicemail())
        else:
            self._finish(call)

    def _finish(self, call) -> None:
        engine = self.engine
        engine.pbx_rows.extend(
            (
                call.cid,
                self.trunk,
                call.arrival,
                call.connect,
                call.queued_at,
                call.left_at,
                call.pbx_outcome,
                call.at,
            )
        )
        engine._hang_up(call)

    def close(self, end: float) -> None:
        """The run has nothing left to do and these callers still wait (no patience, no agent coming):
        each leaves the queue at ``end`` (PBX_IN_QUEUE_AT_END) and hangs up, so every call is counted."""
        while self.queue:
            call = self.queue.popleft()
            if call.pbx_outcome != codes.PBX_WAITING:  # left already
                continue
            self.engine.queue_busy[self.trunk] -= 1
            call.at = call.left_at = end
            call.pbx_outcome = codes.PBX_IN_QUEUE_AT_END
            self._finish(call)

    # -- agents on duty by the interval of their profile ---------------------------------------------
    def _next_shift(self, k: int, now: float = 0.0) -> None:
        start = k * self.model.agents_interval - self._phase  # interval k's start after time 0
        self.engine._schedule_in(_Wake(self._on_shift, k, self.trunk), start - now)

    def _shift(self, wake) -> None:
        k = wake.payload
        self.on_duty = self.model.agents_at(k)
        self._serve_waiting(wake.at)
        if (k + 1) * self.model.agents_interval - self._phase < self.engine.duration:
            self._next_shift(k + 1, wake.at)
