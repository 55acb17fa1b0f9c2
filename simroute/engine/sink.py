"""What a run that does not keep its rows gives them to: the interfaces a :class:`~.core.LiveEngine`
writes to, declared here so that the live tally and the record stream implement them by name."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RowSink", "LevelObserver"]


class RowSink(Protocol):
    """Takes the engine's rows in chunks, in the order they were written.

    ``rows``: attempt rows packed in :data:`~.rows.ROW`'s layout; ``pbx_rows``: cloud-PBX rows, float64
    in :data:`~.rows.PBX_FIELDS` order. The engine hands a chunk over once it holds ``chunk_rows``
    attempt rows (checked after each event) and once more when the run ends.
    """

    chunk_rows: int

    def take(self, rows: bytes, pbx_rows: bytes) -> None: ...

    def take_redial(self, rows: bytes) -> None:
        """Redial rows (float64 in :data:`~.rows.REDIAL_FIELDS` order), handed over with each chunk of a
        run in which some DID redials."""
        ...


class LevelObserver(Protocol):
    """Watches the engine's busy counters (per trunk, DID, group, POP, capacity group's shared and
    metered channels, cloud-PBX queue and agents, in that order) for time-weighted KPIs."""

    def boundary_times(self) -> list[float]:
        """Times at which the engine must call :meth:`boundary`, in order."""
        ...

    def boundary(self, now: float) -> None:
        """A KPI window starts or ends at ``now``."""
        ...

    def watch(self, busy: list[list[int]], net) -> None:
        """The counters to observe (called once, before the run)."""
        ...

    def moved(self, now: float, call) -> None:
        """After an event that moved ``call`` (its trunks, DID, group, POP, channels, cloud PBX)."""
        ...

    def pbx_moved(self, now: float, trunk: int) -> None:
        """After an event of ``trunk``'s cloud PBX alone (a shift change)."""
        ...

    def observe(self, now: float, busy: list[list[int]]) -> None:
        """Look at every counter (at the end of the run)."""
        ...
