"""DIDWW CDR exports: read the 2017 and 2026 column sets (plain CSV or gzip), group routing attempts into
calls, and write a run's attempts in DIDWW's 2026 export format, so the same tools read both.

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
from ..scenario import codes
from .files import atomic_path

__all__ = [
    "CdrError",
    "FORMATS",
    "DIDWW_2026_COLUMNS",
    "DEFAULT_START",
    "read_cdr",
    "group_calls",
    "didww_frame",
    "write_didww",
]

#: Where simulated time 0 falls when the scenario names no ``start_time``.
DEFAULT_START = "2026-01-05 00:00:00"
#: [I] Longest gap between a failed attempt's start and the next attempt of the same call (2017 format):
#: DIDWW's longest ringing timeout (32 s) plus Timer B (8 s).
ATTEMPT_GAP = 40.0
MAX_BYTES = 2 * 1024**3


class CdrError(SimrouteError):
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

#: DIDWW's 2026-04-16 export columns, in order, as the writer writes them.
DIDWW_2026_COLUMNS = (
    "Date/Time Start (UTC)",
    "Date/Time Connect (UTC)",
    "Date/Time End (UTC)",
    "Status",
    "Source",
    "Source Name",
    "Destination DID",
    "Duration (sec)",
    "Attempt",
    "Disconnect Code",
    "Response",
    "Disconnect Initiator",
    "Voice IN Trunk",
    "Destination",
    "Trunk Group",
    "Capacity Group",
    "Toll-free (USD)",
    "PSTN (USD)",
)


def _text(path: Path, label: str) -> str:
    """The file's text, gunzipped when it is gzip (by its first bytes, whatever its name)."""
    try:
        size = path.stat().st_size
        raw = path.read_bytes() if size <= MAX_BYTES else b""
    except OSError as exc:
        raise CdrError(label, f"cannot read the file ({exc.strerror or exc})") from None
    if size > MAX_BYTES:
        raise CdrError(label, f"the file is over {MAX_BYTES >> 30} GiB")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            raise CdrError(label, f"a damaged gzip file ({exc})") from None
    elif path.name.endswith(".gz"):
        raise CdrError(label, "not a gzip file, though its name ends in .gz")
    if not raw.strip():
        raise CdrError(label, "the file is empty (expected a CDR export with a header line)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CdrError(label, f"not UTF-8 text (byte {exc.start}): expected a CSV export") from None


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
    raise CdrError(
        label, f"not a known CDR export: the header has no known column set{closest}; required: {need}"
    )


def _times(values: pd.Series, label: str, column: str) -> np.ndarray:
    """UTC timestamps as seconds since the epoch (NaN where empty)."""
    text = values.fillna("").str.strip()
    parsed = pd.to_datetime(text.where(text != "", None), utc=True, errors="coerce", format="mixed")
    bad = parsed.isna() & (text != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CdrError(label, f"row {row + 2}, column {column!r}: not a date/time: {text.iloc[row][:40]!r}")
    return (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def _numbers(values: pd.Series, label: str, column: str) -> np.ndarray:
    out = pd.to_numeric(values.fillna("").str.strip().replace("", None), errors="coerce")
    bad = out.isna() & values.notna() & (values.str.strip() != "")
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise CdrError(label, f"row {row + 2}, column {column!r}: not a number: {values.iloc[row][:40]!r}")
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
        raise CdrError(label, f"not a readable CSV ({' '.join(str(exc).split())[:200]})") from None
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
            raise CdrError(
                label, f"{fmt.name}: needs {fmt.columns['duration'][0]!r} or both connect and end times"
            )
        out["duration"] = np.where(np.isnan(out["connect"]), 0.0, np.ceil(out["end"] - out["connect"]))
    if out["start"].isna().any():
        row = int(np.flatnonzero(out["start"].isna().to_numpy())[0])
        raise CdrError(label, f"row {row + 2}: no start time")
    if (out["duration"] < 0).any():
        row = int(np.flatnonzero((out["duration"] < 0).to_numpy())[0])
        raise CdrError(label, f"row {row + 2}: a negative duration")
    return out.reset_index(drop=True), fmt.name


def answered_rows(cdr: pd.DataFrame) -> np.ndarray:
    """Which attempts were answered: SIP 200, else (no code column) a billed duration above zero."""
    if "code" in cdr:
        return (cdr["code"] == 200).to_numpy()
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


# --- writing ---------------------------------------------------------------------------------------


def _start_time(scenario) -> pd.Timestamp:
    value = getattr(scenario, "start_time", None)
    stamp = pd.Timestamp(value if value is not None else DEFAULT_START)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def didww_frame(result) -> pd.DataFrame:
    """A run's attempts as a DIDWW 2026-style export: DIDWW's columns in order, UTC timestamps to the
    second from the scenario's ``start_time``, durations billed per started second [I], DIDWW's reasons."""
    a = result.attempts
    scenario = result.scenario
    origin = _start_time(scenario)
    answered = (a["cause"] == codes.ANSWERED).to_numpy()

    def stamp(seconds) -> pd.Series:
        values = origin + pd.to_timedelta(np.floor(np.asarray(seconds, dtype=float)), unit="s")
        return pd.Series(values).dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")

    billed = np.where(answered, np.ceil(np.round(a["duration"].to_numpy(), 9)), 0).astype(np.int64)
    trunks = {t.name: t for t in scenario.trunks}
    pstn_rate = a["trunk"].map(lambda n: trunks[n].rate_per_minute if n in trunks else 0.0).to_numpy()
    dst = a["trunk"].map(lambda n: trunks[n].dst or "" if n in trunks else "")
    shared = {d.number: d.shared_capacity_group or "" for d in scenario.dids}
    capacity_group = np.where(a["channel"].isin(["shared", "metered"]), a["did"].map(shared).fillna(""), "")
    return pd.DataFrame(
        {
            "Date/Time Start (UTC)": stamp(a["time_start"]),
            "Date/Time Connect (UTC)": stamp(np.where(answered, a["time_connect"], np.nan)),
            "Date/Time End (UTC)": stamp(a["time_end"]),
            "Status": np.where(answered, "Success", "Failed"),  # [I] DIDWW's status words are not documented
            "Source": a["caller"].to_numpy(),
            "Source Name": "",
            "Destination DID": a["did"].to_numpy(),
            "Duration (sec)": billed,
            "Attempt": a["routing_attempt"].to_numpy(),
            "Disconnect Code": a["disconnect_code"].to_numpy(),
            "Response": a["reason"].to_numpy(),
            "Disconnect Initiator": a["initiator"].to_numpy(),
            "Voice IN Trunk": a["trunk"].to_numpy(),
            "Destination": dst.to_numpy(),
            "Trunk Group": a["trunk_group"].to_numpy(),
            "Capacity Group": capacity_group,
            "Toll-free (USD)": "0.0000",
            "PSTN (USD)": [f"{x:.4f}" for x in billed * pstn_rate / 60.0],
        },
        columns=list(DIDWW_2026_COLUMNS),
    )


def write_didww(result, target) -> Path:
    """Write :func:`didww_frame` as CSV (gzip when ``target`` ends in ``.gz``), atomically."""
    target = Path(target)
    frame = didww_frame(result)
    with atomic_path(target) as tmp:
        frame.to_csv(tmp, index=False, compression="gzip" if target.name.endswith(".gz") else None)
    return target
