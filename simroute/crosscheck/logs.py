"""Kamailio's routing log and SIPp's statistics, read back into simroute's attempt records.

The proxy writes one ``SRX|EVENT|time|call-id|...`` line per routing event (see kamailio.py). Each
attempt becomes one packed row in the engine's layout, so the real run's KPIs come from the very code
that computes the simulation's.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

from ..engine.network import Network
from ..engine.rows import ROW
from ..records.attempts import Records
from ..scenario import codes
from .processes import LabError
from .trace import Trace

__all__ = ["read_kamailio", "read_sipp_stats"]


def _call_number(call_id: str) -> int:
    """SIPp's Call-ID is ``<n>-<pid>@<ip>``: n counts calls from 1 in the injection file's order."""
    return int(call_id.split("-", 1)[0]) - 1


def read_kamailio(path: Path, trace: Trace, net: Network, lead_in: float) -> tuple[Records, dict]:
    """The attempt records of the real run, on the trace's clock (time 0 = the trace's time 0).

    Returns the records and what the log showed beyond them: calls that never arrived, attempts with no
    outcome, answered calls whose BYE never came.
    """
    events: dict[int, list[list[str]]] = {}
    epoch = None
    for line in Path(path).read_text(errors="replace").splitlines():
        at = line.find("SRX|")
        if at < 0:
            continue
        parts = line[at:].split("|")
        if len(parts) < 4:
            continue
        n = _call_number(parts[3])
        events.setdefault(n, []).append(parts[1:])
        if parts[1] == "ARRIVE" and n < len(trace.calls):
            start = float(parts[2]) - trace.calls[n].arrival
            epoch = start if epoch is None else min(epoch, start)
    if epoch is None:
        raise LabError(f"{path}: Kamailio logged no call (did SIPp reach it?)")
    trunk_index = {name: i for i, name in enumerate(net.trunk_names)}
    did_index = {number: i for i, number in enumerate(net.did_numbers)}
    rows = bytearray()
    anomalies = {"missing_calls": 0, "attempts_without_outcome": 0, "answered_without_bye": 0}
    for n, call in enumerate(trace.calls):
        evs = events.get(n)
        if not evs:
            anomalies["missing_calls"] += 1
            continue
        d = did_index[call.did]
        caller = int(call.caller) if call.caller.isdigit() else -1
        open_: dict[int, list] = {}
        end = None
        for ev in evs:
            kind, t = ev[0], float(ev[1]) - epoch
            if kind == "END":
                end = t
            elif kind in ("TRY", "CAP", "FAIL", "ANSWER"):
                k, trunk = int(ev[3]), trunk_index[ev[4]]
                if kind == "CAP":
                    rows += ROW.pack(n, k, d, caller, 0, trunk, t, math.nan, t, codes.TRUNK_CAPACITY, -1)
                elif kind == "TRY":
                    open_[k] = [trunk, t, math.nan]
                elif kind == "ANSWER" and k in open_:
                    open_[k][2] = t
                elif kind == "FAIL" and k in open_:
                    trunk, start, _ = open_.pop(k)
                    cause = codes.RINGING_TIMEOUT if ev[5] == "timeout" else int(ev[5])
                    rows += ROW.pack(n, k, d, caller, 0, trunk, start, math.nan, t, cause, -1)
        for k, (trunk, start, connect) in sorted(open_.items()):
            if math.isnan(connect):
                anomalies["attempts_without_outcome"] += 1
                continue
            if end is None:
                anomalies["answered_without_bye"] += 1
                end = connect + call.hold
            rows += ROW.pack(n, k, d, caller, 0, trunk, start, connect, end, codes.ANSWERED, -1)
    return Records(bytes(rows), net), anomalies


def read_sipp_stats(path: Path) -> dict[str, int]:
    """The caller's final counters from SIPp's ``-trace_stat`` file (its last row)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f, delimiter=";"))
    if len(rows) < 2:
        raise LabError(f"{path}: SIPp wrote no statistics")
    head, last = rows[0], rows[-1]
    pick = {"TotalCallCreated": "created", "SuccessfulCall(C)": "successful", "FailedCall(C)": "failed"}
    return {name: int(last[head.index(col)]) for col, name in pick.items() if col in head}
