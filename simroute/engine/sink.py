"""What an engine hands its rows to, in chunks while it runs: the interface declared here, so that the
tally, the kept records and the record stream implement it by name."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RowSink"]


class RowSink(Protocol):
    """Takes the engine's rows in chunks, in the order they were written.

    ``rows``: attempt rows packed in :data:`~.rows.ROW`'s layout; ``pbx_rows``: cloud-PBX rows, float64
    in :data:`~.rows.PBX_FIELDS` order; ``open_calls``: the calls still in flight at ``now``, float64 in
    :data:`~.rows.OPEN_FIELDS` order (what they hold since when). The engine looks every few thousand
    events and hands a chunk over once it holds ``chunk_rows`` attempt rows; once more when the run ends,
    with no call in flight and ``now`` None.
    """

    chunk_rows: int

    def take(self, rows: bytes, pbx_rows: bytes, open_calls: bytes, now: float | None) -> None: ...

    def take_redial(self, rows: bytes) -> None:
        """Redial rows (float64 in :data:`~.rows.REDIAL_FIELDS` order), handed over with each chunk of a
        run in which some DID redials."""
        ...
