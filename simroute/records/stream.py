"""Attempt records streamed to a file in chunks, for runs too long to hold their records in memory.

The sink counts every row into a live tally (the KPIs) and buffers it; every ``chunk_rows`` rows the
buffer becomes a CDR table and is appended to a temporary file (Parquet with pyarrow, else CSV), which
is renamed into place only when the run completes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..engine.rows import FIELDS, ROW
from ..io.files import atomic_path
from .attempts import Records

__all__ = ["RecordStream", "CHUNK_ROWS"]

CHUNK_ROWS = 500_000  # rows per chunk: 32 MB of buffer, then a table of that many rows


class RecordStream:
    """A sink for the engine's attempt rows (a RowSink): tally, buffer, and append to ``target`` chunk by
    chunk. Cloud-PBX rows are counted, not streamed."""

    def __init__(self, tally, target: Path, chunk_rows: int | None = None):
        self.tally = tally
        self.target = Path(target)
        self.fmt = self.target.suffix.lstrip(".")
        if self.fmt not in ("csv", "parquet"):
            raise ValueError(f"records file must end in .csv or .parquet, got {self.target.name!r}")
        rows_per_chunk = chunk_rows or CHUNK_ROWS
        self.chunk_rows = min(tally.chunk_rows, rows_per_chunk)  # what the engine hands over at a time
        self._chunk = rows_per_chunk * ROW.size
        self._rows = bytearray()
        self._last = bytearray()
        self._context = None
        self._tmp = None
        self._writer = None
        self.rows_written = 0

    def __enter__(self):
        self._context = atomic_path(self.target)
        self._tmp = self._context.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            if exc[0] is None:
                self._flush()
            if self._writer is not None:
                self._writer.close()
            elif exc[0] is None and not self.rows_written:
                self._tmp.write_text(",".join(FIELDS) + "\n")
        except BaseException as error:  # a failed last write: the target keeps its previous content
            self._context.__exit__(type(error), error, error.__traceback__)
            raise
        return self._context.__exit__(*exc)

    def take(self, rows: bytes, pbx_rows: bytes, open_calls: bytes, now: float | None) -> None:
        """A chunk of the engine's rows: count them, buffer them, write a chunk when the buffer is full."""
        self._last += self.tally.take(rows, pbx_rows, open_calls, now).tobytes()
        self._rows += rows
        if len(self._rows) >= self._chunk:
            self._flush()

    def take_redial(self, rows: bytes) -> None:
        """Redial rows: counted, not streamed."""
        self.tally.take_redial(rows)

    def _flush(self) -> None:
        if not self._rows:
            return
        frame = Records(
            self._rows, self.tally.net, is_last=np.frombuffer(bytes(self._last), dtype=np.uint8)
        ).attempts_frame()
        if self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._tmp, table.schema)
            self._writer.write_table(table)  # type: ignore[attr-defined]
        else:
            frame.to_csv(self._tmp, mode="a", header=self.rows_written == 0, index=False, float_format="%.6f")
        self.rows_written += len(frame)
        self._rows = bytearray()
        self._last = bytearray()
