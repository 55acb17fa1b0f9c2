"""Trace replay: a DID's calls read from a file instead of drawn from a random process.

A trace is a CSV with ``time_start`` (seconds from the run's time 0) and ``duration`` (holding
seconds), optionally ``caller`` (kept as the text it is: ``+49...``, a leading 0, ``anonymous``) and
one ``endpoint.<trunk>`` column per trunk whose far end the trace decides: ``answer <delay>``,
``reject <code> <delay>`` or ``ring`` (past the ringing timeout); an empty cell leaves that call to the
trunk's endpoint model. The file is read when the scenario is loaded and travels inside it (a Dask
worker needs no shared filesystem); every replication replays the same calls, and only the randomness
the trace does not fix (routing draws, endpoints without a verdict) differs.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = [
    "caller_text",
    "ReplayTrace",
    "ANSWER",
    "REJECT",
    "RING",
    "NO_VERDICT",
    "read_trace",
    "TraceProblem",
]

#: Verdict kinds in a trace's endpoint columns.
NO_VERDICT, ANSWER, REJECT, RING = 0, 1, 2, 3
MAX_ROWS = 10_000_000


class TraceProblem(ValueError):
    """A trace that cannot be read: the message names the row and column."""


@dataclass(frozen=True)
class ReplayTrace:
    """One DID's replayed calls, in arrival order."""

    path: str
    times: np.ndarray  # float64, non-decreasing
    durations: np.ndarray  # float64
    callers: list[str] | None  # None: the DID's caller model draws them
    verdicts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: per trunk name: (kind int8, SIP code int32, delay float64), one entry per call

    def __len__(self) -> int:
        return len(self.times)

    def caller_codes(self, did_index: int) -> np.ndarray | None:
        """The callers as the int64 the records hold: a plain number as itself (digits, no leading 0),
        any other text as ``-(1 + did_index * 2**32 + row)``, which :func:`caller_text` turns back."""
        if self.callers is None:
            return None
        out = np.empty(len(self.callers), dtype=np.int64)
        for k, text in enumerate(self.callers):
            plain = text.isdigit() and text.isascii() and not text.startswith("0") and len(text) <= 18
            out[k] = int(text) if plain else -(1 + (did_index << 32) + k)
        return out


def _number(text: str, row: int, column: str, *, allow_zero: bool = True) -> float:
    try:
        value = float(text)
    except ValueError:
        raise TraceProblem(f"row {row}, {column}: {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise TraceProblem(f"row {row}, {column}: {text!r} must be a finite number of seconds >= 0")
    return value


def _verdict(text: str, row: int, column: str) -> tuple[int, int, float]:
    parts = text.split()
    if not parts:
        return NO_VERDICT, 0, 0.0
    kind = parts[0].lower()
    if kind == "answer" and len(parts) == 2:
        return ANSWER, 200, _number(parts[1], row, column)
    if kind == "reject" and len(parts) == 3:
        code = parts[1]
        if not (code.isdigit() and 400 <= int(code) <= 699):
            raise TraceProblem(f"row {row}, {column}: {code!r} is not a SIP error code (400-699)")
        return REJECT, int(code), _number(parts[2], row, column)
    if kind == "ring" and len(parts) == 1:
        return RING, 0, 0.0
    raise TraceProblem(
        f"row {row}, {column}: {text!r} is not 'answer <delay>', 'reject <code> <delay>' or 'ring'"
    )


def read_trace(path: Path, did: str | None = None) -> ReplayTrace:
    """Read and check a plain replay CSV (see the module docstring), or DID ``did``'s calls in a DIDWW
    CDR export (:func:`simroute.scenario.trace.didww_replay`; any file without a ``time_start`` column)."""
    if not _plain(path):
        from .trace import TraceError, didww_replay

        try:
            export = didww_replay(path, did or "", (ANSWER, REJECT, RING))
        except TraceError as exc:
            raise TraceProblem(str(exc).removeprefix(f"{path}: ")) from None
        return ReplayTrace(str(path), *export)
    try:
        f = open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise TraceProblem(f"cannot read the trace: {exc.strerror}") from None
    with f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise TraceProblem("the trace is empty (no header row)") from None
        except (UnicodeDecodeError, csv.Error) as exc:
            raise TraceProblem(f"the trace is not a UTF-8 CSV ({exc})") from None
        missing = [c for c in ("time_start", "duration") if c not in header]
        if missing:
            raise TraceProblem(
                f"the trace lacks the column(s) {', '.join(missing)} (has: {', '.join(header)})"
            )
        unknown = [
            c
            for c in header
            if c not in ("time_start", "duration", "caller") and not c.startswith("endpoint.")
        ]
        if unknown:
            raise TraceProblem(
                f"unknown column(s) {', '.join(unknown)}: expected time_start, duration, caller, "
                "endpoint.<trunk>"
            )
        at = {c: header.index(c) for c in header}
        trunks = [c.split(".", 1)[1] for c in header if c.startswith("endpoint.")]
        times: list[float] = []
        durations: list[float] = []
        callers: list[str] = []
        kinds: dict[str, list] = {t: [[], [], []] for t in trunks}
        try:
            for row, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    raise TraceProblem(f"row {row}: {len(cells)} cells for {len(header)} columns")
                if len(times) >= MAX_ROWS:
                    raise TraceProblem(f"more than {MAX_ROWS:,} calls")
                times.append(_number(cells[at["time_start"]], row, "time_start"))
                durations.append(_number(cells[at["duration"]], row, "duration"))
                if "caller" in at:
                    callers.append(cells[at["caller"]].strip())
                for t in trunks:
                    column = f"endpoint.{t}"
                    k, code, delay = _verdict(cells[at[column]], row, column)
                    kinds[t][0].append(k)
                    kinds[t][1].append(code)
                    kinds[t][2].append(delay)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise TraceProblem(f"the trace is not a UTF-8 CSV ({exc})") from None
    arrivals = np.asarray(times, dtype=np.float64)
    order = np.argsort(arrivals, kind="stable")
    verdicts = {
        name: (
            np.asarray(k, np.int8)[order],
            np.asarray(c, np.int32)[order],
            np.asarray(d, np.float64)[order],
        )
        for name, (k, c, d) in kinds.items()
    }
    return ReplayTrace(
        path=str(path),
        times=arrivals[order],
        durations=np.asarray(durations, dtype=np.float64)[order],
        callers=[callers[i] for i in order] if callers else None,
        verdicts=verdicts,
    )


def _plain(path: Path) -> bool:
    """Whether a trace is a plain CSV: not gzip, and no DIDWW ``Date/Time ...`` column in its header."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return True  # read_trace reports it
    if head[:2] == b"\x1f\x8b":
        return False
    first = [c.strip().strip('"') for c in head.split(b"\n", 1)[0].decode("utf-8", "replace").split(",")]
    return not any(c.startswith("Date/Time") for c in first)  # DIDWW's exports start with their times


def caller_text(traces: list[ReplayTrace | None], code: int) -> str:
    """A caller as text: a non-negative code is the number itself; a negative one names a replayed
    caller (``traces``: each DID's trace, by DID index)."""
    if code >= 0:
        return str(code)
    did, row = divmod(-code - 1, 1 << 32)
    trace = traces[did] if did < len(traces) else None
    if trace is None or trace.callers is None or row >= len(trace.callers):
        return ""
    return trace.callers[row]
