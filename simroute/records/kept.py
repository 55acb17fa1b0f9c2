"""Records kept in memory while a tally counts them: the sink of a run with ``records="attempts"``.

The engine hands its rows over in chunks as in every other run; this sink passes each chunk on to the
tally (the KPIs, counted once per chunk) and appends it to one buffer, so the KPIs of a kept run need no
pass over all its rows afterwards and its memory peak stays close to the 64 bytes a row.
"""

from __future__ import annotations

from array import array

__all__ = ["KeptRows"]


class KeptRows:
    """A sink for the engine's rows (a RowSink): ``tally.take`` each chunk, and keep every row."""

    def __init__(self, tally):
        self.tally = tally
        self.chunk_rows: int = tally.chunk_rows
        self.rows = bytearray()
        self.pbx_rows = array("d")
        self.redial_rows = array("d")

    def take(self, rows: bytes, pbx_rows: bytes, open_calls: bytes, now: float | None) -> None:
        self.tally.take(rows, pbx_rows, open_calls, now)
        self.rows += rows
        self.pbx_rows.frombytes(pbx_rows)

    def take_redial(self, rows: bytes) -> None:
        self.tally.take_redial(rows)
        self.redial_rows.frombytes(rows)
