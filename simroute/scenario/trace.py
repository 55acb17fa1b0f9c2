"""Traces: CDR exports (DIDWW's 2017 and 2026 column sets, plain CSV or gzip) read into one row per
routing attempt, and the attempts grouped into calls. ``simroute fit`` estimates from them; a DID's
``traffic: {replay: path}`` replays one.

DIDWW writes one CDR per routing attempt. The 2026 exports number them (``Attempt``); the 2017 export does
not, so there a row continues the previous call of the same DID and caller when that call's last attempt
failed and began at most :data:`ATTEMPT_GAP` seconds earlier [I].
"""

from __future__ import annotations

import gzip
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SimrouteError

__all__ = [
    "TraceError",
    "Format",
    "FORMATS",
    "read_cdr",
    "answered_rows",
    "group_calls",
    "ATTEMPT_GAP",
    "didww_replay",
]

#: [I] Longest gap between a failed attempt's start and the next attempt of the same call (2017 format):
#: DIDWW's longest ringing timeout (32 s) plus Timer B (8 s).
ATTEMPT_GAP = 40.0
MAX_BYTES = 2 * 1024**3


class TraceError(SimrouteError):
    """A CDR file that cannot be read: ``file: what is wrong`` on one line."""

    def __init__(self, source: str, message: str):
        self.source = source
        super().__init__(f"{source}: {message}")


@dataclass(frozen=True)
class Format:
    """A DIDWW export's column set: canonical field -> the header names it has had."""

    name: str
    columns: dict[str, tuple[str, ...]]
    required: tuple[str, ...]


FORMATS = (
    Format(
        "didww-2026",
        {
            "start": ("Date/Time Start (UTC)",),
            "connect": ("Date/Time Connect (UTC)",),
            "end": ("Date/Time End (UTC)",),
            "status": ("Status",),
            "source": ("Source", "Source Number (as it reached DIDWW)"),
            "did": ("Destination DID",),
            "duration": ("Duration (sec)",),
            "attempt": ("Attempt",),
            "code": ("Disconnect Code",),
            "response": ("Response",),
            "initiator": ("Disconnect Initiator",),
            "trunk": ("Voice IN Trunk",),
            "destination": ("Destination",),
            "group": ("Trunk Group",),
        },
        ("start", "end", "did"),
    ),
    Format(
        "didww-2017",
        {
            "start": ("Date/Time (UTC)",),
            "source": ("Source",),
            "did": ("DID",),
            "destination": ("Destination",),
            "duration": ("Duration (secs)",),
            "initiator": ("Disconnect Initiator",),
            "code": ("Disconnect Code",),
            "response": ("Response",),
        },
        ("start", "did", "duration"),
    ),
    Format(
        "didww-go-sdk",  # the Go SDK's test export (synthetic-looking, but DIDWW's own)
        {
            "start": ("Date/Time Start (UTC)",),
            "connect": ("Date/Time Answer (UTC)",),
            "end": ("Date/Time End (UTC)",),
            "duration": ("Duration",),
            "did": ("DID Number",),
            "trunk": ("Trunk",),
            "source": ("CLI",),
            "initiator": ("Disconnect Initiator",),
            "code": ("Disconnect Code",),
            "response": ("Disconnect Reason",),
        },
        ("start", "did", "duration"),
    ),
    Format(
        "plain",  # a trace written by hand: seconds from the start, duration, caller
        {
            "start": ("time_start",),
            "duration": ("duration",),
            "source": ("caller",),
            "did": ("did",),
        },
        ("start", "duration"),
    ),
)


def _text(path: Path, label: str) -> str:
    """The file's text, gunzipped when it is gzip (by its first bytes, whatever its name)."""
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_BYTES else b""
    except OSError as exc:
        raise TraceError(label, f"cannot read the file ({exc.strerror or exc})") from None
    if size > MAX_BYTES:
        raise TraceError(label, f"the file is over {MAX_BYTES >> 30} GiB")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise TraceError(label, f"a damaged gzip file ({exc})") from None
    elif path.name.endswith(".gz"):
        raise TraceError(label, "not a gzip file, though its name ends in .gz")
    if not raw.strip():
        raise TraceError(label, "the file is empty (expected a CDR export with a header line)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TraceError(label, f"not UTF-8 text (byte {exc.start}): expected a CSV export") from None


def _detect(header: list[str], label: str) -> tuple[Format, dict[str, str]]:
    """The format whose required columns the header has (first match), and canonical -> header name."""
    present = set(header)
    best = None
    for fmt in FORMATS:
        mapping = {
            field: next(n for n in names if n in present)
            for field, names in fmt.columns.items()
            if any(n in present for n in names)
        }
        missing = [f for f in fmt.required if f not in mapping]
        if not missing:
            return fmt, mapping
        score = len(mapping)
        if best is None or score > best[0]:
            best = (score, fmt, missing)
    need = "; ".join(
        f"{fmt.name}: " + ", ".join(" or ".join(repr(n) for n in fmt.columns[f]) for f in fmt.required)
        for fmt in FORMATS
    )
    assert best is not None
    closest = ""
    if best[0]:
        lacking = ", ".join(repr(best[1].columns[f][0]) for f in best[2])
        closest = f" (closest: {best[1].name}, which lacks {lacking})"
    raise TraceError(
        label, f"not a known CDR export: the header has no known column set{closest}; required: {need}"
    )


def _times(values: pd.Series, label: str, column: str) -> np.ndarray:
    """UTC timestamps as seconds since the epoch (NaN where empty)."""
    text = values.fillna("").str.strip()
    parsed = pd.to_datetime(text.where(text != "", None), utc=True, errors="coerce", format="mixed")
    bad = parsed.isna() & (text != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise TraceError(label, f"row {row + 2}, column {column!r}: not a date/time: {text.iloc[row][:40]!r}")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _numbers(values: pd.Series, label: str, column: str) -> np.ndarray:
    out = pd.to_numeric(values.fillna("").str.strip().replace("", None), errors="coerce")
    bad = out.isna() & values.notna() & (values.str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise TraceError(label, f"row {row + 2}, column {column!r}: not a number: {values.iloc[row][:40]!r}")
    return out.to_numpy(dtype=float)


def read_cdr(source) -> tuple[pd.DataFrame, str]:
    """A CDR export as one row per attempt with canonical columns (``start``, ``end``, ``connect`` as
    UTC seconds since the epoch, or seconds from 0 for a plain trace; ``did``, ``source``, ``trunk``,
    ``response``, ``initiator`` as text; ``duration``, ``attempt``, ``code`` as numbers), and the
    format's name. Columns a format lacks are absent; extra columns are ignored. Callers stay the strings
    they are."""
    path = Path(source)
    label = str(source)
    text = _text(path, label)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[])
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise TraceError(label, f"not a readable CSV ({' '.join(str(exc).split())[:200]})") from None
    header = [c.strip() for c in frame.columns]
    frame.columns = header
    fmt, mapping = _detect(header, label)
    out = pd.DataFrame(index=frame.index)
    for field, column in mapping.items():
        values = frame[column].astype(str)
        if field in ("start", "end", "connect"):
            if fmt.name == "plain":
                out[field] = _numbers(values, label, column)
            else:
                out[field] = _times(values, label, column)
        elif field in ("duration", "attempt", "code"):
            out[field] = _numbers(values, label, column)
        else:
            out[field] = values.str.strip()
    if "did" not in out:
        out["did"] = ""
    if "source" not in out:
        out["source"] = ""
    if "duration" not in out:
        if "connect" not in out:
            raise TraceError(
                label, f"{fmt.name}: needs {fmt.columns['duration'][0]!r} or both connect and end times"
            )
        out["duration"] = np.where(np.isnan(out["connect"]), 0.0, np.ceil(out["end"] - out["connect"]))
    if out["start"].isna().any():
        row = int(np.flatnonzero(out["start"].isna().to_numpy())[0])
        raise TraceError(label, f"row {row + 2}: no start time")
    if (out["duration"] < 0).any():
        row = int(np.flatnonzero((out["duration"] < 0).to_numpy())[0])
        raise TraceError(label, f"row {row + 2}: a negative duration")
    return out.reset_index(drop=True), fmt.name


def answered_rows(cdr: pd.DataFrame) -> np.ndarray:
    """Which attempts were answered: SIP 200, else (no code) a billed duration above zero."""
    if "code" in cdr:
        code = cdr["code"].to_numpy()
        return (code == 200) | (np.isnan(code) & (cdr["duration"].to_numpy() > 0))
    if "connect" in cdr:
        return cdr["connect"].notna().to_numpy()
    return (cdr["duration"] > 0).to_numpy()


def group_calls(cdr: pd.DataFrame) -> np.ndarray:
    """The call number of each attempt row (0..n-1 in order of first attempt)."""
    n = len(cdr)
    order = np.lexsort(
        (cdr["attempt"].to_numpy() if "attempt" in cdr else np.zeros(n), cdr["start"].to_numpy())
    )
    call = np.full(n, -1, dtype=np.int64)
    answered = answered_rows(cdr)
    did, source, start = cdr["did"].to_numpy(), cdr["source"].to_numpy(), cdr["start"].to_numpy()
    attempt = cdr["attempt"].to_numpy() if "attempt" in cdr else None
    open_calls: dict[tuple, list[list]] = {}  # (did, source) -> [call, last attempt, its start, answered]
    calls = 0
    for i in order:
        key = (did[i], source[i])
        chain = open_calls.get(key)
        joined = -1
        if chain:
            last = chain[-1]
            if attempt is not None:
                k = attempt[i]
                if not math.isnan(k) and k > 1:
                    for entry in reversed(chain):
                        if entry[1] == k - 1:
                            joined = entry[0]
                            entry[1], entry[2], entry[3] = k, start[i], answered[i]
                            break
            elif not last[3] and start[i] - last[2] <= ATTEMPT_GAP:
                joined = last[0]
                last[2], last[3] = start[i], answered[i]
        if joined < 0:
            joined, calls = calls, calls + 1
            entry = [joined, attempt[i] if attempt is not None else 1, start[i], answered[i]]
            open_calls.setdefault(key, []).append(entry)
            if len(open_calls[key]) > 8:  # only the latest calls of a caller can still be continued
                del open_calls[key][0]
        call[i] = joined
    return call


# --- replay ----------------------------------------------------------------------------------------


def didww_replay(path: Path, did: str, kinds: tuple[int, int, int]):
    """DID ``did``'s calls in a DIDWW export, for :func:`simroute.scenario.replay.read_trace`:
    ``(times, durations, callers, verdicts)``. Times count from midnight UTC of the export's first call
    (every DID of one file on one clock); a call's duration is its answered attempt's billed seconds (0
    when the export shows it unanswered); callers stay text. ``verdicts`` holds, per trunk, what its far
    end did with each call in the export (answer after the connect delay, a far-end code after the
    attempt's length, a ringing timeout), so replayed attempts meet the same endpoints; DIDWW's own
    refusals (capacity, a POP) are no verdict and are decided by the simulation again. ``kinds``: the
    verdict kinds' numbers for answer, reject and ring (:mod:`simroute.scenario.replay` defines them)."""
    ANSWER, REJECT, RING = kinds

    label = str(path)
    cdr, fmt = read_cdr(path)
    if not len(cdr):
        raise TraceError(label, "the export has a header but no CDR rows")
    origin = math.floor(float(cdr["start"].min()) / 86400.0) * 86400.0
    if (cdr["did"] != "").any():
        mine = (cdr["did"] == did).to_numpy()
        if not mine.any():
            known = ", ".join(sorted(set(cdr["did"]))[:5])
            raise TraceError(label, f"no call to DID {did} in the export (it has calls to {known})")
        cdr = cdr[mine].reset_index(drop=True)
    call = group_calls(cdr)
    n = int(call.max()) + 1
    start = cdr["start"].to_numpy() - origin
    first = np.full(n, -1, dtype=np.int64)
    for i in np.argsort(start, kind="stable")[::-1]:
        first[call[i]] = i
    answered = answered_rows(cdr)
    durations = np.zeros(n)
    durations[call[answered]] = cdr["duration"].to_numpy()[answered]
    order = np.argsort(start[first], kind="stable")
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    verdicts = {}
    if "trunk" in cdr:
        response = cdr["response"].str.lower() if "response" in cdr else pd.Series("", index=cdr.index)
        far = (cdr["initiator"].str.lower() == "destination").to_numpy() if "initiator" in cdr else None
        code = cdr["code"].to_numpy() if "code" in cdr else np.full(len(cdr), np.nan)
        end = cdr["end"].to_numpy() - origin if "end" in cdr else start
        connect = cdr["connect"].to_numpy() - origin if "connect" in cdr else np.full(len(cdr), np.nan)
        timeout = response.str.contains("ringing timeout").to_numpy()
        for name in sorted(t for t in set(cdr["trunk"]) if t):
            kind, codes_, delays = np.zeros(n, np.int8), np.zeros(n, np.int32), np.zeros(n)
            for i in np.flatnonzero((cdr["trunk"] == name).to_numpy()):
                k = rank[call[i]]
                if answered[i] and not math.isnan(connect[i]):
                    kind[k], codes_[k], delays[k] = ANSWER, 200, max(connect[i] - start[i], 0.0)
                elif timeout[i]:
                    kind[k] = RING
                elif far is not None and far[i] and 400 <= code[i] <= 699:
                    kind[k], codes_[k], delays[k] = REJECT, int(code[i]), max(end[i] - start[i], 0.0)
            verdicts[name] = (kind, codes_, delays)
    callers = [str(c) for c in cdr["source"].to_numpy()[first][order]]
    return start[first][order], durations[order], callers, verdicts
