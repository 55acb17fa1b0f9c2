"""Call detail records: one row per routing attempt, as DIDWW writes one CDR per attempt.

The engine packs each row's numbers onto one flat buffer of float64s (88 bytes a row, no Python object
per row); :class:`Records` views it as columns and, only when asked, builds pandas tables with DIDWW's CDR
fields (routing_attempt, is_last_cdr, disconnect code and reason, initiator...).
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from . import codes
from .errors import SimrouteError
from .network import Network

__all__ = ["FIELDS", "PBX_FIELDS", "Records", "Calls", "CallRecords", "pbx_table"]

#: The numbers the engine writes per attempt, in order. trunk -1: refused before any trunk.
FIELDS = ("call_id", "routing_attempt", "did", "caller", "ingress_pop", "trunk",
          "time_start", "time_connect", "time_end", "cause", "channel")

#: What the engine writes per call that a cloud PBX answered (queue entry, exit and how it left).
PBX_FIELDS = ("call_id", "trunk", "time_arrival", "time_answer", "time_queued", "time_left", "outcome", "time_end")


class Records:
    """The attempt rows of one run as numpy columns, sorted by call and attempt.

    ``is_last`` given (a chunk streamed in the order written, whose last rows the live tally flagged)
    keeps the rows in their order instead.
    """

    def __init__(self, rows: array, net: Network, is_last: np.ndarray | None = None):
        self.net = net
        flat = np.frombuffer(rows, dtype=np.float64) if len(rows) else np.zeros(0)
        table = flat.reshape(-1, len(FIELDS))
        if is_last is None:  # rows come in the order calls ended: put them in call and attempt order
            table = np.take(table, _call_order(table), axis=0)

        def column(i, dtype=None):
            return table[:, i].copy() if dtype is None else table[:, i].astype(dtype)

        self.call_id = column(0, np.int64)
        self.routing_attempt = column(1, np.int32)
        self.did = column(2, np.int32)
        self.caller = column(3, np.int64)
        self.ingress_pop = column(4, np.int32)
        self.trunk = column(5, np.int32)
        self.time_start = column(6)
        self.time_connect = column(7)
        self.time_end = column(8)
        self.cause = column(9, np.int32)
        self.channel = column(10, np.int32)  # the DID channel kind the call held, -1: none
        if is_last is None:
            is_last = np.ones(len(table), dtype=bool)
            if len(table):
                is_last[:-1] = self.call_id[1:] != self.call_id[:-1]
        self.is_last = np.asarray(is_last, dtype=bool)
        self.nbytes = flat.nbytes

    def __len__(self) -> int:
        return len(self.call_id)

    @cached_property
    def per_call(self) -> Calls:
        """The rows seen one call at a time (what the calls table and the KPIs both read)."""
        last = np.flatnonzero(self.is_last)
        first = np.concatenate(([0], last[:-1] + 1)) if last.size else last
        return Calls(first=first, last=last, arrival=self.time_start[first],
                     end=np.maximum.reduceat(self.time_end, first) if first.size else np.zeros(0),
                     did=self.did[first], pop=self.ingress_pop[first], channel=self.channel[first],
                     cause=self.cause[last], attempts=self.routing_attempt[last])

    pbx: np.ndarray = np.zeros((0, len(PBX_FIELDS)))  # rows of PBX_FIELDS, set by the run

    def egress_pop(self) -> np.ndarray:
        """The POP each attempt left from: the trunk's pinned POP, or the ingress POP for Auto."""
        pinned = np.asarray(self.net.trunk_pop + [-1], dtype=np.int32)[self.trunk]
        out = np.where(pinned >= 0, pinned, self.ingress_pop)
        return np.where(self.trunk >= 0, out, -1)

    def attempts_frame(self) -> pd.DataFrame:
        """One row per attempt, with DIDWW's CDR fields where they apply."""
        net = self.net
        info = {c: codes.cause_info(int(c)) for c in np.unique(self.cause)}
        group_names = np.asarray(net.group_names + [""], dtype=object)
        trunk_names = np.asarray(net.trunk_names + [""], dtype=object)
        pop_names = np.asarray(net.pop_names + [""], dtype=object)
        did_group = np.asarray(net.did_group, dtype=np.int32)[self.did]
        duration = np.where(np.isnan(self.time_connect), 0.0, self.time_end - self.time_connect)
        return pd.DataFrame({
            "call_id": self.call_id,
            "routing_attempt": self.routing_attempt,
            "is_last_cdr": self.is_last,
            "did": np.asarray(net.did_numbers, dtype=object)[self.did],
            "caller": self.caller.astype(str),
            "ingress_pop": pop_names[self.ingress_pop],
            "egress_pop": pop_names[self.egress_pop()],
            "trunk": trunk_names[self.trunk],
            "trunk_group": group_names[did_group],
            "time_start": self.time_start,
            "time_connect": self.time_connect,
            "time_end": self.time_end,
            "duration": duration,
            "disconnect_code": [info[c].sip_code for c in self.cause],
            "cause": self.cause,
            "reason": [info[c].reason for c in self.cause],
            "initiator": [info[c].initiator for c in self.cause],
            "channel": np.asarray([*codes.CHANNEL_KINDS, ""], dtype=object)[self.channel],
        })

    def calls_frame(self) -> pd.DataFrame:
        """One row per call: where it came in, how many attempts, how it ended."""
        c, net = self.per_call, self.net
        answered = c.cause == codes.ANSWERED
        trunk_names = np.asarray(net.trunk_names + [""], dtype=object)
        outcome = {k: codes.outcome_name(int(k)) for k in np.unique(c.cause)}
        return pd.DataFrame({
            "call_id": self.call_id[c.first],
            "did": np.asarray(net.did_numbers, dtype=object)[c.did],
            "caller": self.caller[c.first].astype(str),
            "ingress_pop": np.asarray(net.pop_names, dtype=object)[c.pop],
            "time_arrival": c.arrival,
            "attempts": c.attempts,
            "outcome": [outcome[k] for k in c.cause],
            "answered": answered,
            "trunk": np.where(answered, trunk_names[self.trunk[c.last]], ""),
            "channel": np.asarray([*codes.CHANNEL_KINDS, ""], dtype=object)[c.channel],
            "time_connect": self.time_connect[c.last],
            "time_end": c.end,
            "post_dial_delay": self.time_connect[c.last] - c.arrival,
        })


def _call_order(table: np.ndarray) -> np.ndarray:
    """The row order by call id, then attempt: a counting sort, since call ids run 0..n-1 and a call's
    attempts 1..k (a stable argsort on the call id when the rows are not so numbered)."""
    n = len(table)
    cid = table[:, 0].astype(np.int64)
    attempt = table[:, 1].astype(np.int64)
    if n and cid.min() >= 0 and attempt.min() >= 1:
        counts = np.bincount(cid)
        pos = (np.cumsum(counts) - counts)[cid] + attempt - 1
        if pos.max() < n:
            order = np.full(n, -1, dtype=np.int64)
            order[pos] = np.arange(n)
            if order.min() >= 0:  # every position filled once: the numbering was as expected
                return order
    return np.argsort(table[:, 0], kind="stable")


@dataclass(frozen=True)
class Calls:
    """Per call (in call order): its first and last attempt rows, arrival, end (its last attempt's end),
    DID, ingress POP, DID channel kind, final cause and number of attempts."""

    first: np.ndarray
    last: np.ndarray
    arrival: np.ndarray
    end: np.ndarray
    did: np.ndarray
    pop: np.ndarray
    channel: np.ndarray
    cause: np.ndarray
    attempts: np.ndarray


def pbx_table(rows: array) -> np.ndarray:
    """The cloud-PBX rows of a run as a 2-D array (columns: PBX_FIELDS)."""
    flat = np.frombuffer(rows, dtype=np.float64) if len(rows) else np.zeros(0)
    return flat.reshape(-1, len(PBX_FIELDS))


class CallRecords:
    """One row per call, kept by a live tally when ``records="calls"`` (no attempt rows)."""

    def __init__(self, rows: array, net: Network):
        from .tally import CALL_FIELDS

        self.net = net
        flat = np.frombuffer(rows, dtype=np.float64) if len(rows) else np.zeros(0)
        self.table = flat.reshape(-1, len(CALL_FIELDS))
        self.table = self.table[np.argsort(self.table[:, 0], kind="stable")]
        self.nbytes = flat.nbytes

    def __len__(self) -> int:
        return len(self.table)

    def attempts_frame(self):
        raise SimrouteError("this run kept one record per call (records='calls'); run with records='attempts' "
                            "for attempt records")

    def calls_frame(self) -> pd.DataFrame:
        """The same table as :meth:`Records.calls_frame`."""
        net, t = self.net, self.table
        cause = t[:, 9].astype(np.int32)
        answered = cause == codes.ANSWERED
        trunk_names = np.asarray(net.trunk_names + [""], dtype=object)
        outcome = {c: codes.outcome_name(int(c)) for c in np.unique(cause)}
        return pd.DataFrame({
            "call_id": t[:, 0].astype(np.int64),
            "did": np.asarray(net.did_numbers, dtype=object)[t[:, 1].astype(np.int64)],
            "caller": t[:, 2].astype(np.int64).astype(str),
            "ingress_pop": np.asarray(net.pop_names, dtype=object)[t[:, 3].astype(np.int64)],
            "time_arrival": t[:, 4],
            "attempts": t[:, 5].astype(np.int32),
            "outcome": [outcome[c] for c in cause],
            "answered": answered,
            "trunk": trunk_names[t[:, 6].astype(np.int64)],
            "channel": np.asarray([*codes.CHANNEL_KINDS, ""], dtype=object)[t[:, 10].astype(np.int64)],
            "time_connect": t[:, 7],
            "time_end": t[:, 8],
            "post_dial_delay": t[:, 7] - t[:, 4],
        })
