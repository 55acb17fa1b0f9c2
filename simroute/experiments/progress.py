"""A progress bar with an ETA for long work (replications, sweep points, sizing, validation).

Shown on standard error only when it is a terminal; quiet otherwise (a pipe, a log file, CI) or when
asked. tqdm draws it and estimates the time left from the rate so far.
"""

from __future__ import annotations

import sys

__all__ = ["Progress", "LONG_RUN_EVENTS"]

#: A single run expected to take more events than this (a few seconds of simulation) shows a bar
LONG_RUN_EVENTS = 3_000_000


class Progress:
    """``with Progress(total, "points") as bar: bar.advance()``; ``show=None`` means "when on a terminal"."""

    def __init__(self, total: int, unit: str, show: bool | None = None, description: str | None = None):
        if show is None:
            show = sys.stderr.isatty()
        self._bar = None
        if show and total > 0:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit=f" {unit}", desc=description, file=sys.stderr, leave=False)

    @property
    def shown(self) -> bool:
        """Whether a bar is drawn (so that work can skip reporting to one that is not)."""
        return self._bar is not None

    def advance(self, n: int = 1, note: str | None = None) -> None:
        if self._bar is not None:
            if note is not None:
                self._bar.set_postfix_str(note, refresh=False)
            self._bar.update(n)

    def grow(self, n: int) -> None:
        """More work than first counted (another round of replications)."""
        if self._bar is not None:
            self._bar.total += n
            self._bar.refresh()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.close()
