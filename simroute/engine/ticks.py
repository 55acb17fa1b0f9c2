"""Progress through simulated time, so that one long run can show a progress bar.

A tick is an engine event that changes no state: it only reports that another step of the horizon has
passed. Events run in the order of their time and then of their scheduling, and a tick touches no
counter and draws no random number, so a run with ticks gives the same records as one without (tested).
"""

from __future__ import annotations

from collections.abc import Callable

from .clock import Clock, Wakeup

__all__ = ["follow_progress"]


class _Tick(Wakeup):
    __slots__ = ("clock", "report", "step", "left")

    def __init__(self, clock: Clock, report: Callable[[int], None], step: float, left: int, t: float):
        self.callbacks = (self._fire,)
        self.clock, self.report, self.step, self.left = clock, report, step, left
        clock.schedule_at(self, t)

    def _fire(self, _event) -> None:
        self.report(1)
        if self.left > 1:
            _Tick(self.clock, self.report, self.step, self.left - 1, self.at + self.step)


def follow_progress(clock: Clock, horizon: float, report: Callable[[int], None], steps: int = 100) -> None:
    """Call ``report(1)`` each time simulated time passes another ``horizon / steps`` (``steps`` calls in
    all, the last at the horizon)."""
    if steps < 1 or not horizon > 0:
        raise ValueError(f"progress needs steps >= 1 and a positive horizon, got {steps} and {horizon}")
    step = horizon / steps
    _Tick(clock, report, step, steps, step)
