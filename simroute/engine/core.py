"""The event loop: the only module that knows SimPy.

No SimPy process per call, and no SimPy event object per step: a call in flight is one slotted object
that SimPy schedules directly as its own event (attempt end, hang-up), through :mod:`.clock`, the one
module that touches SimPy's internals. Each finished attempt packs one 64-byte row onto a bytearray
(:mod:`.rows`), never a Python object per row; an engine given a :class:`~.sink.RowSink` hands them over
in chunks, with the calls then in flight. Random numbers come in numpy batches from named streams.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import math
from array import array
from heapq import heappush
from typing import NamedTuple

from ..scenario import codes
from ..scenario.replay import ANSWER, REJECT, RING, caller_text
from .clock import NORMAL, Clock, Wakeup
from .network import UNLIMITED, Network, outcome_table
from .pbx import CloudPbx
from .redial import Redialer, redialling
from .routing import format_cli, should_reroute
from .rows import ROW
from .sink import RowSink
from .streams import CallWords, Streams, batched, no_delay, sampler
from .traffic import CallerMix, arrival_times, rate_breakpoints

__all__ = ["Engine", "AuditedEngine", "CapacityViolation", "TrunkStatic", "DidStatic"]

NAN = math.nan
ANSWERED, RINGING_TIMEOUT, TIMER_B = codes.ANSWERED, codes.RINGING_TIMEOUT, codes.TIMER_B
NO_CHANNEL, NONE_FREE = codes.CHANNEL_NONE, codes.CHANNEL_NONE_FREE
INCLUDED, DEDICATED, SHARED = codes.CHANNEL_INCLUDED, codes.CHANNEL_DEDICATED, codes.CHANNEL_SHARED
METERED = codes.CHANNEL_METERED


class _Call(Wakeup):
    """A call in progress. It is also the SimPy event that wakes it (attempt end, hang-up), rescheduled
    through the clock: one object per call in flight, none per event, none per record.

    Every field is set here, when the call arrives; the engine and the cloud PBX then move it on.
    """

    __slots__ = (
        "cid",  # call id, 0.. in order of arrival
        "did",  # DID index
        "caller",  # calling number
        "ingress",  # ingress POP index
        "order",  # the trunks tried so far, in order (a group's order grows by one on each re-route)
        "k",  # index in ``order`` of the attempt in progress (0: the first)
        "hold",  # holding time once answered (seconds)
        "channel",  # DID channel kind held (codes.CHANNEL_*)
        "arrival",  # arrival time
        "start",  # start of the attempt in progress
        "cause",  # how the attempt in progress ends (known when it is scheduled)
        "took_endpoint",  # the attempt holds one of the far end's counted channels
        "connect",  # answer time (NaN until answered)
        "queued_at",  # cloud PBX: time the caller joined the queue (NaN: not yet, or never)
        "left_at",  # cloud PBX: time the caller left the queue (NaN: not yet)
        "pbx_outcome",  # cloud PBX: codes.PBX_WAITING until the caller leaves the queue, then how
        "pbx_deadline",  # cloud PBX: what happens at the caller's deadline unless an agent comes first
        "trace_i",  # the call's row in its DID's replayed trace, -1: not replayed
    )

    def __init__(self, cid, did, caller, ingress, order, hold, channel, now, trace_i):
        self.at = now
        self.cid, self.did, self.caller, self.ingress = cid, did, caller, ingress
        self.order, self.k, self.hold = order, 0, hold
        self.channel, self.arrival, self.start, self.cause = channel, now, now, 0
        self.took_endpoint, self.connect = False, NAN
        self.queued_at = self.left_at = NAN
        self.pbx_outcome = self.pbx_deadline = codes.PBX_WAITING
        self.trace_i = trace_i


class _Arrivals(Wakeup):
    """A DID's arrival stream, rescheduled on the clock's calendar at each next arrival time."""

    __slots__ = ("did", "next_time")

    def __init__(self, did, next_time):
        self.did = did
        self.next_time = next_time


class TrunkStatic(NamedTuple):
    """What an attempt reads of its trunk, in one tuple (the hot path unpacks it in this order)."""

    number_list: object  # NumberListMatcher or None
    pop: int  # pinned egress POP, -1: the ingress POP
    cap: int  # channel capacity
    ringing_timeout: float
    pbx: CloudPbx | None
    counts_endpoint: bool  # the far end's channels can run out
    outcome_draw: object  # uniform batch of the far end's response, None: answers every call
    answer_delay: object  # sampler
    setup_delay: object  # sampler of the PSTN post-dial delay, or None


class DidStatic(NamedTuple):
    """What a call's arrival reads of its DID, in one tuple (the hot path unpacks it in this order)."""

    callers: object  # batched draw of calling numbers
    holding: object  # sampler of holding times
    number_list: object  # NumberListMatcher or None
    cap: int  # channel capacity
    channel_limited: bool  # the DID has a channel model (included, dedicated, shared, metered)
    group: int  # trunk group index, -1: routed directly
    direct: tuple  # the one-trunk attempt order of a directly routed DID
    attempts: int  # attempts a call may make (its group's max_attempts and trunks; 1 routed directly)


#: Events between two looks at whether a chunk of rows is full (a sink's chunk_rows if smaller)
LOOK_EVERY = 4096


class Engine:
    """Runs one replication of a compiled :class:`~simroute.network.Network` with one seed.

    Without a ``sink`` it keeps every row and :meth:`run` returns them; with one it hands them over in
    chunks while it runs (and :meth:`run` returns the sink).
    """

    def __init__(self, net: Network, seed, duration: float, sink: RowSink | None = None):
        # the set-up makes a few small objects per DID, and Python's cyclic collector would walk the
        # whole heap several times meanwhile for nothing to free (a quarter of the set-up of 10,000 DIDs)
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._set_up(net, seed, duration, sink)
        finally:
            if collecting:
                gc.enable()

    def _set_up(self, net: Network, seed, duration: float, sink: RowSink | None) -> None:
        self.net = net
        self._did_group = net.did_group  # bound: read as a call ends and re-routes
        self.sink = sink
        self.duration = duration
        self.clock = clock = Clock()
        self.env = clock.env
        self._schedule_in, self._schedule_at = clock.schedule_in, clock.schedule_at
        # the clock's heap and id counter, for the two events every call has (arrival and hang-up):
        # Clock.schedule_at inlined saves a call per event
        self._heap, self._next_id = clock.heap, clock.next_id
        self._calendar, self._schedule_arrival = clock.calendar, clock.schedule_arrival
        # SimPy iterates an event's callbacks: a tuple made once serves every event (no list per event)
        self._on_arrive, self._on_conclude, self._on_hang_up = self._event_callbacks()
        #: attempt rows, packed in the ROW layout onto one bytearray (struct packing is about three times
        #: cheaper than array.extend); an engine with a sink hands them over in chunks
        self.rows = bytearray()
        self._write = self.rows.extend
        self._pack = ROW.pack
        #: cloud-PBX rows (PBX_FIELDS, one per call a PBX answered)
        self.pbx_rows = array("d")
        self._call_ids = itertools.count().__next__
        streams = Streams(seed)
        s = net.scenario
        n_trunks = len(net.trunk_names)

        self.trunk_busy = [0] * n_trunks
        self.group_busy = [0] * len(net.group_names)
        self.did_busy = [0] * len(net.did_numbers)
        self.pop_busy = [0] * len(net.pop_names)  # calls in progress by ingress POP
        n_capacity_groups = len(net.capacity_group_names)
        self.included_busy = [0] * len(net.did_numbers)
        self.dedicated_busy = [0] * len(net.did_numbers)
        self.shared_busy = [0] * n_capacity_groups
        self.metered_busy = [0] * n_capacity_groups
        self.queue_busy = [0] * n_trunks  # callers waiting for an agent, per cloud-PBX trunk
        self.agents_busy = [0] * n_trunks  # agents talking, per cloud-PBX trunk
        self.endpoint_busy = [0] * n_trunks
        self.endpoint_cap = list(net.endpoint_cap)
        #: faults in effect (outages, forced responses, channel limits): while none is, an attempt skips
        #: every fault check
        self._faults_on = 0
        self.pop_down = [0] * len(net.pop_names)
        self.link_down = [0] * n_trunks
        self.respond_fault: list[tuple[int, float] | None] = [None] * n_trunks
        self._respond_active: list[list[tuple[int, float]]] = [[] for _ in range(n_trunks)]
        self._channel_faults: list[list[int]] = [[] for _ in range(n_trunks)]
        self._pop_cum: list[float] = []
        self._refresh_pops()

        self._pop_u = batched(streams.get("ingress").random)
        # a call's first routing draw: one per arrival at a DID routed to a group, whatever becomes of the
        # call; its later draws are keyed by the call (common random numbers: a cap changed in a variant
        # moves no other call's draws)
        self._route_u = batched(streams.get("routing").random)
        self._call_words = CallWords(streams.get("routing", "calls"))
        self._fault_u = batched(streams.get("faults").random)
        self._outcome_u, self._answer_delay, self._reject_delay, self._outcomes = [], [], [], []
        for name, ep in zip(net.trunk_names, net.endpoints):
            cum, what = outcome_table(ep)
            certain = what[-1] == ANSWERED and cum[0] == 0.0 and cum[-1] == 1.0  # answers every call
            self._outcome_u.append(None if certain else batched(streams.get("codes", name).random))
            self._answer_delay.append(sampler(ep.answer_delay, streams.get("answer", name)))
            self._reject_delay.append(sampler(ep.reject_delay, streams.get("reject", name)))
            self._outcomes.append((cum, what))
        # an endpoint's channels are counted only where they can run out (a limit, or a fault that sets one)
        limited = {f.target for f in net.faults if f.kind == "trunk" and f.effect == "channels"}
        self._counts_endpoint = [cap < UNLIMITED or t in limited for t, cap in enumerate(net.endpoint_cap)]
        self._setup_delay = [
            None if dist is None else sampler(dist, streams.get("post_dial_delay", name))
            for name, dist in zip(net.trunk_names, net.setup_delay)
        ]
        self._pbx = [
            None if model is None else CloudPbx(self, t, model, streams) for t, model in enumerate(net.pbx)
        ]
        #: callers who try again (None: no DID redials, and no call pays for it)
        self._redial = Redialer(self, streams) if redialling(s) else None

        self._trunk_static = [
            TrunkStatic(*fields)
            for fields in zip(
                net.trunk_list,
                net.trunk_pop,
                net.trunk_cap,
                net.ringing_timeout,
                self._pbx,
                self._counts_endpoint,
                self._outcome_u,
                self._answer_delay,
                self._setup_delay,
            )
        ]
        self._hold: list = []
        self._callers: list = []
        #: per DID, the next replayed call's row in its trace (None: not replayed), and per DID the
        #: trace's verdicts by trunk index
        self._trace_next: list = [None] * len(s.dids)
        self._verdicts: list[dict] = [{} for _ in s.dids]
        self._traces = [None if d.traffic is None else d.traffic.trace for d in s.dids]
        random_dids = [d.number for d, trace in zip(s.dids, self._traces) if d.traffic and trace is None]
        streams.prefetch(("holding", "callers", "arrivals"), random_dids)  # thousands of DIDs: at once
        self._streams = streams
        phase = s.clock_phase  # computed from start_time on each read
        for i, (d, trace) in enumerate(zip(s.dids, self._traces)):
            tr = d.traffic
            if tr is None:
                self._hold.append(None)
                self._callers.append(None)
                continue
            if trace is not None:
                self._replay(i, d, trace, duration, streams)
                continue
            self._hold.append(None)  # drawn from the DID's first call on (_first_call)
            self._callers.append(None)
            times, rates, period = rate_breakpoints(tr, duration, s.traffic_scale, phase)
            batches = arrival_times(times, rates, duration, streams.get("arrivals", d.number), period)
            self._next_arrival(_Arrivals(i, itertools.chain.from_iterable(batches).__next__))
        self._did_static = [
            DidStatic(*fields)
            for fields in zip(
                self._callers,
                self._hold,
                net.did_list,
                net.did_cap,
                net.did_channel_limited,
                net.did_group,
                [(t,) for t in net.did_trunk],
                [net.call_attempts(d) for d in range(len(net.did_numbers))],
            )
        ]
        for i, fault in enumerate(net.faults):
            rng = streams.get("faults", str(i))
            self.env.process(self._random_fault(fault, rng) if fault.mtbf else self._fault(fault))
        self._inter_pop = s.settings.inter_pop_delay

    def _replay(self, i: int, d, trace, duration: float, streams) -> None:
        """DID ``i``'s calls from its trace: arrivals, holding times, callers and endpoint verdicts."""
        self._hold.append(iter(trace.durations.tolist()).__next__)
        callers = trace.caller_codes(i)
        if callers is None:
            self._callers.append(_caller_draw(d, streams))
        else:
            self._callers.append(iter(callers.tolist()).__next__)
        self._trace_next[i] = itertools.count().__next__
        self._verdicts[i] = {self.net.trunk_names.index(name): v for name, v in trace.verdicts.items()}
        times = trace.times[trace.times < duration]
        self._next_arrival(_Arrivals(i, iter(times.tolist()).__next__))

    def _verdict(self, call, t: int, timeout: float):
        """The trace's (cause, delay) for ``call`` on trunk ``t``, or None where it gives none."""
        v = self._verdicts[call.did].get(t)
        if v is None:
            return None
        kind = v[0][call.trace_i]
        if kind == ANSWER:
            return ANSWERED, float(v[2][call.trace_i])
        if kind == REJECT:
            return int(v[1][call.trace_i]), float(v[2][call.trace_i])
        if kind == RING:
            return RINGING_TIMEOUT, timeout
        return None

    def _presented_cli(self, t: int, call) -> str:
        """The caller as trunk ``t`` presents it, what its number list reads: CLI format, then prefix."""
        net = self.net
        text = self.caller_text(call.caller)
        if net.cli_format[t] != "raw":
            text = format_cli(text, net.cli_format[t], net.did_country[call.did])
        return net.cli_prefix[t] + text

    def caller_text(self, caller: int) -> str:
        """The caller as the text a number list reads (a replayed caller keeps its own text)."""
        return str(caller) if caller >= 0 else caller_text(self._traces, caller)

    def _event_callbacks(self):
        """What runs when a DID's next call arrives, an attempt ends, a call hangs up."""
        return self.callbacks(self._arrive), self.callbacks(self._conclude), self.callbacks(self._hang_up)

    def callbacks(self, handler) -> tuple:
        """The callbacks of an event that runs ``handler``; the audited engine adds its check after it,
        so every event (the cloud PBX's too) gets it."""
        return (handler,)

    # -- arrivals -----------------------------------------------------------------------------------
    def _next_arrival(self, source):
        try:
            t = source.next_time()
        except StopIteration:
            return
        source.callbacks = self._on_arrive
        self._schedule_arrival(source, t)

    def _arrive(self, source):
        """A call arrives: DID number list, DID cap, channels, group cap, then its first attempt; and
        the DID's next arrival is scheduled."""
        d = source.did
        now = source.at
        try:
            t = source.next_time()
        except StopIteration:
            pass
        else:
            source.callbacks = self._on_arrive
            source.at = t
            heappush(self._calendar, (t, NORMAL, self._next_id(), source))  # Clock.schedule_arrival
        cid = self._call_ids()
        callers, holding, _, _, _, g, _, _ = self._did_static[d]
        if callers is None:
            callers, holding = self._first_call(d)
        caller = callers()
        u = self._route_u() if g >= 0 else 0.0
        pop_cum = self._pop_cum
        ingress = bisect.bisect_right(pop_cum, self._pop_u() * pop_cum[-1]) if len(pop_cum) > 1 else 0
        self._admit(cid, d, caller, ingress, u, holding(), now)

    def _first_call(self, d: int):
        """DID ``d``'s first call: its caller and holding-time draws start (a DID that never gets a call
        costs no generator, so thousands of quiet DIDs set up fast)."""
        did, streams = self.net.scenario.dids[d], self._streams
        assert did.traffic is not None  # only a DID with traffic has calls
        callers = _caller_draw(did, streams)
        holding = sampler(did.traffic.holding_time, streams.get("holding", did.number))
        self._did_static[d] = self._did_static[d]._replace(callers=callers, holding=holding)
        return callers, holding

    def _admit(self, cid, d, caller, ingress, u, hold, now):
        """A call (fresh, or a caller's next try) meets its DID: number list, DID cap, channels, group cap,
        then its first attempt. ``u``: its first routing draw."""
        _, _, did_list, did_cap, channel_limited, g, direct, _ = self._did_static[d]
        next_row = self._trace_next[d]
        trace_i = -1 if next_row is None else next_row()  # a refused call uses up its trace row too
        if did_list is not None and not did_list.allows(self.caller_text(caller)):
            self._refuse(cid, d, caller, ingress, now, codes.NUMBER_LIST_REJECT, NO_CHANNEL)
            return
        did_busy = self.did_busy
        if did_busy[d] >= did_cap:
            self._refuse(cid, d, caller, ingress, now, codes.DID_CAPACITY, NO_CHANNEL)
            return
        channel = self._take_channel(d) if channel_limited else NO_CHANNEL
        if channel == NONE_FREE:
            self._refuse(cid, d, caller, ingress, now, codes.NO_CHANNEL, NO_CHANNEL)
            return
        did_busy[d] += 1
        self.pop_busy[ingress] += 1
        if g >= 0:
            net = self.net
            if self.group_busy[g] >= net.group_cap[g]:
                did_busy[d] -= 1
                self.pop_busy[ingress] -= 1
                self._release_channel(d, channel)
                self._refuse(cid, d, caller, ingress, now, codes.GROUP_CAPACITY, channel)
                return
            self.group_busy[g] += 1
            order = [net.group_router[g].first(u)]
        else:
            order = direct
        self._attempt(_Call(cid, d, caller, ingress, order, hold, channel, now, trace_i))

    def _refuse(self, cid, d, caller, ingress, now, cause, channel) -> None:
        """The call is refused before any trunk: its one row (trunk -1)."""
        self._write(self._pack(cid, 1, d, caller, ingress, -1, now, NAN, now, cause, channel))
        if self._redial is not None:
            self._redial.refused(cid, d, caller, now, cause)

    def _take_channel(self, d) -> int:
        """The first free DID channel kind in DIDWW's order (included, dedicated, shared, metered), or
        CHANNEL_NONE_FREE."""
        net = self.net
        if self.included_busy[d] < net.did_included[d]:
            self.included_busy[d] += 1
            return INCLUDED
        if self.dedicated_busy[d] < net.did_dedicated[d]:
            self.dedicated_busy[d] += 1
            return DEDICATED
        g = net.did_capacity_group[d]
        if g >= 0:
            if self.shared_busy[g] < net.capacity_group_shared[g]:
                self.shared_busy[g] += 1
                return SHARED
            if self.metered_busy[g] < net.capacity_group_metered[g]:
                self.metered_busy[g] += 1
                return METERED
        return NONE_FREE

    def _release_channel(self, d, channel) -> None:
        if channel == NO_CHANNEL:
            return
        if channel == INCLUDED:
            self.included_busy[d] -= 1
        elif channel == DEDICATED:
            self.dedicated_busy[d] -= 1
        elif channel == SHARED:
            self.shared_busy[self.net.did_capacity_group[d]] -= 1
        else:
            self.metered_busy[self.net.did_capacity_group[d]] -= 1

    # -- attempts -----------------------------------------------------------------------------------
    def _attempt(self, call):
        """Try ``call``'s next trunk: instant refusals loop on; otherwise schedule the attempt's end."""
        net = self.net
        trunk_busy = self.trunk_busy
        order = call.order
        now = call.at
        ingress = call.ingress
        while True:
            k = call.k
            t = order[k]
            lst, egress, cap, timeout, pbx, counts_endpoint, draw, answer_delay, setup = self._trunk_static[t]
            if egress < 0:
                egress = ingress
            if lst is not None and not lst.allows(self._presented_cli(t, call)):
                cause = codes.NUMBER_LIST_REJECT
            elif trunk_busy[t] >= cap:
                cause = codes.TRUNK_CAPACITY
            elif self._faults_on and self.pop_down[egress]:
                cause = codes.POP_DOWN
            else:
                break
            self._write(
                self._pack(
                    call.cid, k + 1, call.did, call.caller, ingress, t, now, NAN, now, cause, call.channel
                )
            )
            if should_reroute(cause, net.reroute[t], k + 1, self._did_static[call.did].attempts):
                call.k = k + 1
                self._next_trunk(call)
                continue
            call.cause = cause
            self._end_call(call)
            return

        trunk_busy[t] += 1
        took_endpoint = False
        if self._faults_on and self.link_down[t]:
            cause, delay = TIMER_B, net.timer_b[t]
        else:
            fault = self.respond_fault[t] if self._faults_on else None
            if fault is not None and self._fault_u() < fault[1]:
                cause, delay = fault[0], self._reject_delay[t]()
            elif pbx is not None:
                cause, delay = pbx.admit()
            elif counts_endpoint and self.endpoint_busy[t] >= self.endpoint_cap[t]:
                cause, delay = codes.ENDPOINT_FULL, self._reject_delay[t]()  # seen as busy_code
            else:
                if counts_endpoint:
                    took_endpoint = True
                    self.endpoint_busy[t] += 1
                if call.trace_i >= 0 and (verdict := self._verdict(call, t, timeout)) is not None:
                    cause, delay = verdict
                elif draw is None:
                    cause, delay = ANSWERED, (answer_delay() if answer_delay is not no_delay else 0.0)
                else:
                    cum, what = self._outcomes[t]
                    i = bisect.bisect_right(cum, draw())
                    cause = what[i] if i < len(what) else RINGING_TIMEOUT
                    if cause == ANSWERED:
                        delay = answer_delay()
                    elif cause == TIMER_B:
                        delay = net.timer_b[t]
                    elif cause == RINGING_TIMEOUT:
                        delay = timeout
                    else:
                        delay = self._reject_delay[t]()
            if setup is not None:  # the PSTN termination's post-dial delay
                delay += setup()
            if egress != ingress:
                delay += self._inter_pop
        if delay > timeout:
            cause, delay = RINGING_TIMEOUT, timeout
        call.start = now
        call.took_endpoint = took_endpoint
        if delay:
            call.cause = cause
            call.callbacks = self._on_conclude
            call.at = at = now + delay
            heappush(self._heap, (at, NORMAL, self._next_id(), call))  # Clock.schedule_at, inlined
        elif cause == ANSWERED and pbx is None:  # answered at once: _conclude inlined
            call.connect = now
            call.callbacks = self._on_hang_up
            call.at = at = now + call.hold
            heappush(self._heap, (at, NORMAL, self._next_id(), call))  # Clock.schedule_at, inlined
        else:  # refused at once: no event needed
            call.cause = cause
            self._conclude(call)

    def _conclude(self, call):
        """The attempt's outcome is known: hold the call, or release and re-route or end it."""
        now = call.at
        k = call.k
        t = call.order[k]
        cause = call.cause
        if cause == ANSWERED:
            call.connect = now
            pbx = self._pbx[t]
            if pbx is not None:  # the cloud PBX decides when the call ends
                pbx.answered(call)
                return
            call.callbacks = self._on_hang_up
            self._schedule_at(call, now + call.hold)
            return
        self._release_trunk(call, t)
        self._write(
            self._pack(
                call.cid,
                k + 1,
                call.did,
                call.caller,
                call.ingress,
                t,
                call.start,
                NAN,
                now,
                cause,
                call.channel,
            )
        )
        if should_reroute(cause, self.net.reroute[t], k + 1, self._did_static[call.did].attempts):
            call.k = k + 1
            self._next_trunk(call)
            self._attempt(call)
        else:
            self._end_call(call)

    def _next_trunk(self, call) -> None:
        """Draw the call's next trunk (attempt orders grow one trunk at a time, when a call re-routes)."""
        order, cid, words = call.order, call.cid, self._call_words
        router = self.net.group_router[self._did_group[call.did]]
        order.append(router.next(order, lambda: words(cid, len(order))))

    def _hang_up(self, call):
        """An answered call ends: its attempt row is written now that its end is known."""
        t = call.order[call.k]
        self._write(
            self._pack(
                call.cid,
                call.k + 1,
                call.did,
                call.caller,
                call.ingress,
                t,
                call.start,
                call.connect,
                call.at,
                ANSWERED,
                call.channel,
            )
        )
        self._release_trunk(call, t)
        self._end_call(call)

    def _release_trunk(self, call, t) -> None:
        """Release the trunk channel (and far-end channel) that the call's attempt held."""
        self.trunk_busy[t] -= 1
        if call.took_endpoint:
            self.endpoint_busy[t] -= 1

    def _end_call(self, call):
        """Release what the call held for its whole life: DID, POP, group and DID channel."""
        d = call.did
        self.did_busy[d] -= 1
        self.pop_busy[call.ingress] -= 1
        g = self._did_group[d]
        if g >= 0:
            self.group_busy[g] -= 1
        if call.channel != NO_CHANNEL:
            self._release_channel(d, call.channel)
        if self._redial is not None:
            self._redial.ended(call)

    @property
    def redial_rows(self) -> array:
        """One row per try of a redialling DID's callers (REDIAL_FIELDS); empty without redial."""
        return self._redial.rows if self._redial is not None else array("d")

    # -- faults -------------------------------------------------------------------------------------
    def _fault(self, f):
        env = self.env
        yield env.timeout(f.start)
        self._apply(f, +1)
        yield env.timeout(f.end - f.start)
        self._apply(f, -1)

    def _random_fault(self, f, rng):
        """Outages at exponential times (mean ``mtbf`` up, ``mttr`` down) until the horizon."""
        env = self.env
        while True:
            yield env.timeout(rng.exponential(f.mtbf))
            if env.now >= self.duration:
                return
            self._apply(f, +1)
            yield env.timeout(rng.exponential(f.mttr))
            self._apply(f, -1)

    def _apply(self, f, sign):
        self._faults_on += sign
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
    def run(self):
        """Simulate arrivals up to the horizon, then let every call in progress finish."""
        if self.sink is None:
            self.clock.run()
            self._close_queues()
            return self.rows
        self._chunk_bytes = self.sink.chunk_rows * ROW.size
        self.clock.run(self._look, max(1, min(LOOK_EVERY, self.sink.chunk_rows)))
        self._close_queues()
        self._hand_over(None)
        return self.sink

    def _look(self) -> None:
        if len(self.rows) >= self._chunk_bytes:
            self._hand_over(self.clock.now())

    def _hand_over(self, now: float | None) -> None:
        """Give the rows written so far to the sink, with the calls in flight at ``now`` (None: the end,
        none left), and start a new chunk."""
        assert self.sink is not None
        open_calls = self._in_flight() if now is not None else b""
        self.sink.take(bytes(self.rows), self.pbx_rows.tobytes(), open_calls, now)
        del self.rows[:]
        del self.pbx_rows[:]
        if self._redial is not None:
            self.sink.take_redial(self._redial.rows.tobytes())
            del self._redial.rows[:]

    def _in_flight(self) -> bytes:
        """The calls in progress as OPEN_FIELDS rows: those with an event pending, and the callers waiting
        in a cloud PBX's queue (who have none of their own)."""
        calls = [entry[3] for entry in self._heap if isinstance(entry[3], _Call)]
        for pbx in self._pbx:
            if pbx is not None:
                calls += [c for c in pbx.queue if c.pbx_outcome == codes.PBX_WAITING]
        out = array("d")
        for c in calls:
            out.extend(
                (c.did, c.ingress, c.channel, c.order[c.k], c.arrival, c.start, c.queued_at, c.left_at)
            )
            out.append(c.pbx_outcome)
        return out.tobytes()

    def _close_queues(self) -> float:
        """When no event is left, callers may still wait in a cloud PBX's queue (no patience, no agent
        coming): they leave it at the horizon (or the last event, if later), so every call is counted.
        Returns that time."""
        end = max(self.duration, self.clock.now())
        for pbx in self._pbx:
            if pbx is not None:
                pbx.close(end)
        return end


class CapacityViolation(AssertionError):
    """Raised by :class:`AuditedEngine` when a channel count leaves ``0..cap``."""


class AuditedEngine(Engine):
    """An engine that checks every cap after every event; for tests, slower than :class:`Engine`."""

    events_checked = 0

    def callbacks(self, handler) -> tuple:
        return handler, self._check

    def _check(self, _event=None):
        net = self.net
        now = self.clock.now()
        for entry in self.clock.heap + self.clock.calendar:  # every time scheduled: finite, not past
            if not now <= entry[0] < math.inf:
                raise CapacityViolation(f"an event is scheduled at t={entry[0]}, at t={now}")
        for name, busy, cap in (
            ("trunk", self.trunk_busy, net.trunk_cap),
            ("group", self.group_busy, net.group_cap),
            ("did", self.did_busy, net.did_cap),
            ("endpoint", self.endpoint_busy, net.endpoint_cap),
        ):
            for i, (b, c) in enumerate(zip(busy, cap)):
                if not 0 <= b <= c:
                    raise CapacityViolation(f"{name} {i}: {b} busy, cap {c}, at t={self.env.now}")
        for name, busy, cap in (
            ("shared", self.shared_busy, net.capacity_group_shared),
            ("metered", self.metered_busy, net.capacity_group_metered),
        ):
            for i, (b, c) in enumerate(zip(busy, cap)):
                if not 0 <= b <= c:
                    raise CapacityViolation(f"{name} channels of capacity group {i}: {b} busy of {c}")
        if min(self.pop_busy) < 0 or sum(self.pop_busy) != sum(self.did_busy):
            raise CapacityViolation(
                f"calls by POP {self.pop_busy} do not add up to calls by DID {self.did_busy}"
            )
        self.events_checked += 1

    def run(self):
        """Run, then check that every call gave back all it held: each way a call ends releases the same."""
        rows = super().run()
        held = {
            "trunk": self.trunk_busy,
            "group": self.group_busy,
            "did": self.did_busy,
            "pop": self.pop_busy,
            "endpoint": self.endpoint_busy,
            "included": self.included_busy,
            "dedicated": self.dedicated_busy,
            "shared": self.shared_busy,
            "metered": self.metered_busy,
            "queue": self.queue_busy,
            "agents": self.agents_busy,
        }
        left = {name: busy for name, busy in held.items() if any(busy)}
        if left:
            raise CapacityViolation(f"channels still held after the last call ended: {left}")
        return rows

    def _take_channel(self, d) -> int:
        """Check DIDWW's order at every admission: the channel taken is the first kind with one free."""
        net, g = self.net, self.net.did_capacity_group[d]
        free = [
            self.included_busy[d] < net.did_included[d],
            self.dedicated_busy[d] < net.did_dedicated[d],
            g >= 0 and self.shared_busy[g] < net.capacity_group_shared[g],
            g >= 0 and self.metered_busy[g] < net.capacity_group_metered[g],
        ]
        expected = free.index(True) if any(free) else -2
        taken = super()._take_channel(d)
        if taken != expected:
            raise CapacityViolation(
                f"DID {d} took channel kind {taken} while kind {expected} was the first free"
            )
        self.admissions_checked += 1
        return taken

    admissions_checked = 0


def _caller_draw(d, streams):
    """A batched draw of DID ``d``'s calling numbers from its caller model (prefix shares, default prefix)."""
    c = d.traffic.callers
    prefix = c.default_prefix if c.default_prefix is not None else (d.number.lstrip("0")[:2] or "1")
    mix = CallerMix(
        list(c.prefix_shares),
        list(c.prefix_shares.values()),
        prefix,
        c.length,
        streams.get("callers", d.number),
    )
    return batched(mix.draw, 1024)
