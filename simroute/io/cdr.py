"""DIDWW-format CDRs out: a run's attempts written as DIDWW's 2026 export, so that the tools that read
DIDWW's exports (``simroute fit`` among them) read simroute's too. Reading lives in
:mod:`simroute.scenario.trace`, which a scenario's replayed traffic uses as well.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario import clock, codes
from ..scenario.trace import FORMATS, TraceError, answered_rows, group_calls, read_cdr
from .files import atomic_path

__all__ = [
    "CdrError",
    "FORMATS",
    "DIDWW_2026_COLUMNS",
    "DEFAULT_START",
    "read_cdr",
    "answered_rows",
    "group_calls",
    "didww_frame",
    "write_didww",
]

CdrError = TraceError

#: Where simulated time 0 falls when the scenario names no ``start_time``.
DEFAULT_START = f"{clock.DEFAULT_START:%Y-%m-%d %H:%M:%S}"  # the scenario's own default, in UTC

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

# --- writing ---------------------------------------------------------------------------------------


def _start_time(scenario) -> pd.Timestamp:
    value = getattr(scenario, "start_time", None)  # a Scenario's (zone aware), else the default
    stamp = pd.Timestamp(value if value is not None else clock.DEFAULT_START)
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
