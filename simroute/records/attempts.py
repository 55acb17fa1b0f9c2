"""Call detail records: one row per routing attempt, as DIDWW writes one CDR per attempt.

The engine packs each row onto one flat buffer in :data:`ROW`'s layout (64 bytes a row: integers as
integers, times as float64; no Python object per row). :class:`Records` reads it as numpy columns and,
only when asked, builds pandas tables with DIDWW's CDR fields (routing_attempt, is_last_cdr, disconnect
code and reason, initiator...).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np

from ..engine.network import Network
from ..engine.rows import FIELDS, PBX_FIELDS, ROW, ROW_DTYPE
from ..errors import SimrouteError
from ..scenario import codes
from ..scenario.replay import caller_text

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CALL_FIELDS",
    "FIELDS",
    "ROW",
    "ROW_DTYPE",
    "PBX_FIELDS",
    "Records",
    "Calls",
    "CallRecords",
    "pbx_table",
]

#: The fields of the call rows kept with ``records="calls"``, in order.
CALL_FIELDS = (
    "call_id",
    "did",
    "caller",
    "ingress_pop",
    "time_arrival",
    "attempts",
    "trunk",
    "time_connect",
    "time_end",
    "cause",
    "channel",
)


def caller_texts(net: Network, callers: np.ndarray) -> np.ndarray:
    """Callers as text: numbers as themselves, replayed callers as the trace wrote them."""
    out = callers.astype(str).astype(object)
    replayed = callers < 0
    if replayed.any():
        traces = [None if d.traffic is None else d.traffic.trace for d in net.scenario.dids]
        out[replayed] = [caller_text(traces, int(c)) for c in callers[replayed]]
    return out


class _Column:
    """A field's column in call and attempt order, gathered from the packed rows on first use."""

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, rec, owner=None):
        if rec is None:
            return self
        values = rec.written(self.name)[rec._order]
        rec.__dict__[self.name] = values  # cached: the instance's attribute now shadows this descriptor
        return values


class Records:
    """The attempt rows of one run as numpy columns, sorted by call and attempt.

    The KPIs read the rows as written (:meth:`written`, :attr:`per_call`): counts and holding intervals
    do not depend on row order, so a run's summary needs no sort. The sorted columns are gathered on
    first use. ``is_last`` given (a chunk streamed in the order written, whose last rows the live tally
    flagged) keeps the rows in their order instead.
    """

    call_id, routing_attempt, did, caller, ingress_pop, trunk = (_Column() for _ in range(6))
    time_start, time_connect, time_end, cause, channel = (_Column() for _ in range(5))

    def __init__(self, rows, net: Network, is_last: np.ndarray | None = None):
        """``rows``: a buffer of rows packed with :data:`ROW`, in the order attempts ended."""
        self.net = net
        self._rows = np.frombuffer(rows, dtype=ROW_DTYPE)
        self._given_last = None if is_last is None else np.asarray(is_last, dtype=bool)
        self._written: dict[str, np.ndarray] = {}
        self.nbytes = self._rows.nbytes

    def __len__(self) -> int:
        return len(self._rows)

    def written(self, name: str) -> np.ndarray:
        """Field ``name``'s column in the order the rows were written."""
        column = self._written.get(name)
        if column is None:
            column = self._written[name] = self._rows[name].copy()  # contiguous: read many times
        return column

    def trim(self) -> None:
        """Drop the working columns and the per-call view that computing KPIs built (both are rebuilt on
        demand), so that kept records hold their packed rows and what was asked for, nothing more."""
        self._written.clear()
        self.__dict__.pop("per_call", None)

    @cached_property
    def _order(self):
        return slice(None) if self._given_last is not None else _call_order(self._rows)

    @cached_property
    def is_last(self) -> np.ndarray:
        """Per sorted row: is it its call's last attempt (DIDWW's is_last_cdr)."""
        if self._given_last is not None:
            return self._given_last
        last = np.ones(len(self), dtype=bool)
        if len(self):
            last[:-1] = self.call_id[1:] != self.call_id[:-1]
        return last

    @cached_property
    def per_call(self) -> Calls:
        """One entry per call, indexed by call id (ids run 0..n-1); row indices are in written order."""
        cid, attempt = self.written("call_id"), self.written("routing_attempt")
        attempts = np.bincount(cid) if len(cid) else np.zeros(0, dtype=np.int64)
        is_first, is_last = attempt == 1, attempt == attempts[cid]
        n = len(attempts)
        if (
            attempts.min(initial=1) < 1
            or np.count_nonzero(is_first) != n
            or np.count_nonzero(is_last) != n
            or self._given_last is not None
        ):
            raise SimrouteError(
                "per-call views need the whole run's rows, numbered 0..n-1 by call and 1..k by attempt"
            )
        first, last = np.empty(n, dtype=np.int64), np.empty(n, dtype=np.int64)
        first[cid[is_first]] = np.flatnonzero(is_first)
        last[cid[is_last]] = np.flatnonzero(is_last)
        # whole rows, one gather each (np.take: indexing a structured array is ten times slower); most
        # calls have one attempt, and then one gather serves both
        at_first = np.take(self._rows, first)
        at_last = at_first if len(cid) == n else np.take(self._rows, last)

        # a call's attempts follow one another, so its last one ends it
        return Calls(
            first=first,
            last=last,
            row_call=cid,
            arrival=at_first["time_start"].copy(),
            end=at_last["time_end"].copy(),
            did=at_first["did"].copy(),
            pop=at_first["ingress_pop"].copy(),
            channel=at_first["channel"].copy(),
            cause=at_last["cause"].copy(),
            attempts=attempts.astype(np.int32),
        )

    pbx: np.ndarray = np.zeros((0, len(PBX_FIELDS)))  # rows of PBX_FIELDS, set by the run
    #: rows of REDIAL_FIELDS, one per try of a redialling DID's callers, set by the run; None: no DID redials
    redial: np.ndarray | None = None

    def caller_links(self) -> tuple[np.ndarray, np.ndarray] | None:
        """Per call (by call id): the id of its caller's first call and its try number (1: the first);
        None without redial. A retry is a call of its own that points at the call its caller began with."""
        if self.redial is None:
            return None
        n = len(self.per_call.first)
        first, tries = np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64)
        cid = self.redial[:, 0].astype(np.int64)
        first[cid] = self.redial[:, 1].astype(np.int64)
        tries[cid] = self.redial[:, 2].astype(np.int64)
        return first, tries

    def egress_pop(self) -> np.ndarray:
        """The POP each attempt left from: the trunk's pinned POP, or the ingress POP for Auto."""
        pinned = np.asarray(self.net.trunk_pop + [-1], dtype=np.int32)[self.trunk]
        out = np.where(pinned >= 0, pinned, self.ingress_pop)
        return np.where(self.trunk >= 0, out, -1)

    def attempts_frame(self) -> pd.DataFrame:
        """One row per attempt, with DIDWW's CDR fields where they apply."""
        import pandas as pd

        net = self.net
        info = {c: codes.cause_info(int(c)) for c in np.unique(self.cause)}
        group_names = np.asarray(net.group_names + [""], dtype=object)
        trunk_names = np.asarray(net.trunk_names + [""], dtype=object)
        pop_names = np.asarray(net.pop_names + [""], dtype=object)
        did_group = np.asarray(net.did_group, dtype=np.int32)[self.did]
        duration = np.where(np.isnan(self.time_connect), 0.0, self.time_end - self.time_connect)
        frame = pd.DataFrame(
            {
                "call_id": self.call_id,
                "routing_attempt": self.routing_attempt,
                "is_last_cdr": self.is_last,
                "did": np.asarray(net.did_numbers, dtype=object)[self.did],
                "caller": caller_texts(self.net, self.caller),
                "ingress_pop": pop_names[self.ingress_pop],
                "egress_pop": pop_names[self.egress_pop()],
                "trunk": trunk_names[self.trunk],
                "trunk_group": group_names[did_group],
                "time_start": self.time_start,
                "time_connect": self.time_connect,
                "time_end": self.time_end,
                "duration": duration,
                "disconnect_code": _disconnect_codes(net, self.cause, self.trunk, info),
                "cause": self.cause,
                "reason": [info[c].reason for c in self.cause],
                "initiator": [info[c].initiator for c in self.cause],
                "channel": np.asarray([*codes.CHANNEL_KINDS, ""], dtype=object)[self.channel],
            }
        )
        return self._with_links(frame, self.call_id)

    def _with_links(self, frame: pd.DataFrame, call_id: np.ndarray) -> pd.DataFrame:
        """With redial, the columns ``first_call_id`` (the caller's first call) and ``try`` (its number)."""
        links = self.caller_links()
        if links is not None:
            frame["first_call_id"] = links[0][call_id]
            frame["try"] = links[1][call_id]
        return frame

    def calls_frame(self) -> pd.DataFrame:
        """One row per call: where it came in, how many attempts, how it ended."""
        import pandas as pd

        c, net, w = self.per_call, self.net, self.written
        answered = c.cause == codes.ANSWERED
        trunk_names = np.asarray(net.trunk_names + [""], dtype=object)
        outcome = {k: codes.outcome_name(int(k)) for k in np.unique(c.cause)}
        frame = pd.DataFrame(
            {
                "call_id": np.arange(len(c.first)),
                "did": np.asarray(net.did_numbers, dtype=object)[c.did],
                "caller": caller_texts(self.net, w("caller")[c.first]),
                "ingress_pop": np.asarray(net.pop_names, dtype=object)[c.pop],
                "time_arrival": c.arrival,
                "attempts": c.attempts,
                "outcome": [outcome[k] for k in c.cause],
                "answered": answered,
                "trunk": np.where(answered, trunk_names[w("trunk")[c.last]], ""),
                "channel": np.asarray([*codes.CHANNEL_KINDS, ""], dtype=object)[c.channel],
                "time_connect": w("time_connect")[c.last],
                "time_end": c.end,
                "post_dial_delay": w("time_connect")[c.last] - c.arrival,
            }
        )
        return self._with_links(frame, np.arange(len(c.first)))


def _disconnect_codes(net: Network, cause: np.ndarray, trunk: np.ndarray, info: dict) -> np.ndarray:
    """The SIP code each attempt's caller saw: a full endpoint or queue shows its trunk's busy code."""
    shown = np.array([info[c].sip_code for c in cause], dtype=np.int64)
    busy = np.isin(cause, codes.SHOWN_AS_BUSY_CODE)
    if busy.any():
        shown[busy] = np.asarray(net.busy_code, dtype=np.int64)[trunk[busy]]
    return shown


def _call_order(table: np.ndarray) -> np.ndarray:
    """The row order by call id, then attempt: a counting sort, since call ids run 0..n-1 and a call's
    attempts 1..k (a stable argsort on the call id when the rows are not so numbered)."""
    n = len(table)
    cid = table["call_id"]
    attempt = table["routing_attempt"].astype(np.int64)
    if n and cid.min() >= 0 and attempt.min() >= 1:
        counts = np.bincount(cid)
        pos = (np.cumsum(counts) - counts)[cid] + attempt - 1
        if pos.max() < n:
            order = np.full(n, -1, dtype=np.int64)
            order[pos] = np.arange(n)
            if order.min() >= 0:  # every position filled once: the numbering was as expected
                return order
    return np.argsort(cid, kind="stable")


def _by_call_id(cid: np.ndarray) -> np.ndarray:
    """The order of rows by call id: a counting sort when the ids are 0..n-1 (each once)."""
    n = len(cid)
    ids = cid.astype(np.int64)
    if n and ids.min() == 0 and ids.max() == n - 1:
        order = np.full(n, -1, dtype=np.int64)
        order[ids] = np.arange(n)
        if order.min() >= 0:
            return order
    return np.argsort(cid, kind="stable")


@dataclass(frozen=True)
class Calls:
    """Per call (by call id): its first and last attempt rows (written order), arrival, end (its last
    attempt's end), DID, ingress POP, DID channel kind, final cause and number of attempts; and the call
    of each written row."""

    first: np.ndarray
    last: np.ndarray
    row_call: np.ndarray
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

    def __init__(self, rows: array, net: Network, links: array | None = None):
        """``links``: with redial, per try (float64 triples) its call id, its caller's first call id and
        its try number."""
        self.net = net
        flat = np.frombuffer(rows, dtype=np.float64) if len(rows) else np.zeros(0)
        self.table = flat.reshape(-1, len(CALL_FIELDS))
        self.table = self.table[_by_call_id(self.table[:, 0])]
        self.nbytes = flat.nbytes
        self.links = None if links is None else np.frombuffer(links, dtype=np.float64).reshape(-1, 3)

    def __len__(self) -> int:
        return len(self.table)

    def attempts_frame(self):
        raise SimrouteError(
            "this run kept one record per call (records='calls'); run with records='attempts' "
            "for attempt records"
        )

    def calls_frame(self) -> pd.DataFrame:
        """The same table as :meth:`Records.calls_frame`."""
        import pandas as pd

        net, t = self.net, self.table
        cause = t[:, 9].astype(np.int32)
        answered = cause == codes.ANSWERED
        trunk_names = np.asarray(net.trunk_names + [""], dtype=object)
        outcome = {c: codes.outcome_name(int(c)) for c in np.unique(cause)}
        frame = pd.DataFrame(
            {
                "call_id": t[:, 0].astype(np.int64),
                "did": np.asarray(net.did_numbers, dtype=object)[t[:, 1].astype(np.int64)],
                "caller": caller_texts(self.net, t[:, 2].astype(np.int64)),
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
            }
        )
        if self.links is not None:  # the columns Records.calls_frame adds with redial
            n = len(t)
            first, tries = np.arange(n, dtype=np.int64), np.ones(n, dtype=np.int64)
            cid = self.links[:, 0].astype(np.int64)
            first[cid], tries[cid] = self.links[:, 1].astype(np.int64), self.links[:, 2].astype(np.int64)
            frame["first_call_id"], frame["try"] = first, tries
        return frame
