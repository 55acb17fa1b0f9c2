"""The engine's one door into SimPy's internals: the event heap, the event ids and the success flag.

The engine schedules its own slotted objects as SimPy events (no SimPy Event object per step) and
pushes the two events every call has straight onto the environment's heap, which saves a Python call
per event. That relies on SimPy 4's private layout, named here and nowhere else:

- ``Environment._queue``: a heap of ``(time, priority, event id, event)`` tuples;
- ``Environment._eid``: the counter that numbers events in the order they were scheduled;
- ``Environment._now``: the current time, set by ``Environment.step`` from the entry it pops;
- ``Event._ok``: read by ``step`` after the callbacks ran (True: the event succeeded).

:meth:`Clock.run` is ``Environment.run()`` with ``step`` inlined (the same pop, the same callbacks, the
same failure rule), which saves two Python calls per event: about a tenth of a run.

Arrivals wait on a heap of their own, the *calendar* (:meth:`Clock.schedule_arrival`), with ids from
the same counter, and :meth:`Clock.run` takes the earlier of the two heads. Entries are ordered by
``(time, priority, id)`` on both heaps, so the events run in exactly the order one heap would give; but
the main heap then holds only the calls in progress, and an arrival's push and pop go through a heap of
one entry per DID instead of one entry per call in flight (a heap operation costs one tuple comparison
per level: about a tenth of a one-DID run).

``tests/engine/test_clock.py`` checks this layout against the installed SimPy, and ``pyproject.toml``
pins SimPy to the major version it checks. Every engine event carries ``at``, the time it was scheduled
for, so handlers read the time from their event instead of from the environment.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappop, heappush
from itertools import repeat

import simpy

__all__ = ["Clock", "Wakeup", "NORMAL", "SIMPY_MAJOR"]

#: SimPy's priority for ordinary events (``simpy.events.NORMAL``)
NORMAL = 1
#: The SimPy major version whose internals this module uses
SIMPY_MAJOR = 4


class Wakeup:
    """Base of the engine's own events: the fields SimPy's ``step`` reads (``callbacks``, ``_ok``) and
    ``at``, the time the event was scheduled for."""

    __slots__ = ("callbacks", "at")
    callbacks: tuple | None
    at: float
    _ok = True  # what Environment.step reads of an event that succeeded


class Clock:
    """A SimPy environment with the engine's fast paths into its heap.

    ``heap`` and ``next_id`` are handed to the engine so that the hottest call sites can inline
    :meth:`schedule_at` as ``heappush(heap, (t, NORMAL, next_id(), event))``.
    """

    __slots__ = ("env", "heap", "calendar", "next_id")

    def __init__(self) -> None:
        env = simpy.Environment()
        self.env = env
        self.heap: list = env._queue
        #: the arrivals' own heap, in the same entry layout (only :meth:`run` looks at it)
        self.calendar: list = []
        self.next_id: Callable[[], int] = env._eid.__next__

    def now(self) -> float:
        """The current simulated time."""
        return self.env._now

    def schedule_at(self, event: Wakeup, t: float) -> None:
        """Run ``event``'s callbacks at absolute time ``t`` (after events already due at ``t``)."""
        event.at = t
        heappush(self.heap, (t, NORMAL, self.next_id(), event))

    def schedule_in(self, event: Wakeup, delay: float) -> None:
        """Run ``event``'s callbacks ``delay`` seconds from now (``now + delay``, as SimPy computes it)."""
        t = self.env._now + delay
        event.at = t
        heappush(self.heap, (t, NORMAL, self.next_id(), event))

    def schedule_arrival(self, event: Wakeup, t: float) -> None:
        """:meth:`schedule_at` for an arrival: onto the calendar, run by :meth:`run` in the same order."""
        event.at = t
        heappush(self.calendar, (t, NORMAL, self.next_id(), event))

    def run(self, hook: Callable[[], None] | None = None, every: int = 4096) -> None:
        """Process events until none is left, as ``Environment.run()`` does (the calendar's included);
        with ``hook``, call it between events after every ``every`` events (a live engine hands its rows
        over there)."""
        env, heap, calendar = self.env, self.heap, self.calendar
        steps = repeat(None) if hook is None else repeat(None, every)
        while heap or calendar:
            for _ in steps:
                if calendar and (not heap or calendar[0] < heap[0]):
                    env._now, _, _, event = heappop(calendar)
                elif heap:
                    env._now, _, _, event = heappop(heap)  # Environment.step from here on
                else:
                    break
                callbacks, event.callbacks = event.callbacks, None
                for callback in callbacks:
                    callback(event)
                if not event._ok and not hasattr(event, "_defused"):
                    # a failed event nobody defused (a fault process that raised): crash as SimPy does
                    exc = type(event._value)(*event._value.args)
                    exc.__cause__ = event._value
                    raise exc
            if hook is not None:
                hook()
                steps = repeat(None, every)
