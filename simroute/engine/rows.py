"""The rows the engine writes: one packed row per routing attempt, one per call a cloud PBX answered.

The layout belongs to the engine, the stage that writes it; :mod:`simroute.records` reads it.
"""

from __future__ import annotations

import struct

import numpy as np

__all__ = [
    "FIELDS",
    "ROW",
    "ROW_DTYPE",
    "PBX_FIELDS",
    "OPEN_FIELDS",
    "REDIAL_FIELDS",
    "STOPS",
    "RETRIES",
    "IN_ORBIT",
]

#: The numbers the engine writes per attempt, in order. trunk -1: refused before any trunk.
FIELDS = (
    "call_id",
    "routing_attempt",
    "did",
    "caller",
    "ingress_pop",
    "trunk",
    "time_start",
    "time_connect",
    "time_end",
    "cause",
    "channel",
)

#: Each field's type in a packed row: little-endian, no padding. ``channel``: the DID channel kind the
#: call held (-1: none).
ROW_DTYPE = np.dtype(
    [
        ("call_id", "<i8"),
        ("routing_attempt", "<i4"),
        ("did", "<i4"),
        ("caller", "<i8"),
        ("ingress_pop", "<i4"),
        ("trunk", "<i4"),
        ("time_start", "<f8"),
        ("time_connect", "<f8"),
        ("time_end", "<f8"),
        ("cause", "<i4"),
        ("channel", "<i4"),
    ]
)
#: How the engine packs a row (the same layout as ROW_DTYPE).
ROW = struct.Struct("<qiiqiidddii")
assert ROW_DTYPE.names == FIELDS and ROW_DTYPE.itemsize == ROW.size

#: What the engine writes per call that a cloud PBX answered (queue entry, exit and how it left).
PBX_FIELDS = (
    "call_id",
    "trunk",
    "time_arrival",
    "time_answer",
    "time_queued",
    "time_left",
    "outcome",
    "time_end",
)

#: What the engine writes per try of a caller of a redialling DID (``traffic.redial``), as float64: the
#: try's call, its caller (the call id of the caller's first try), its try number (1: the first), its
#: arrival, the caller's first arrival, its end, how it ended (an index in codes.REDIAL_CLASSES), what the
#: caller does next (STOPS, RETRIES, IN_ORBIT) and until when the caller waits to try again (the next
#: try's arrival; the horizon for IN_ORBIT; the end itself for STOPS).
REDIAL_FIELDS = (
    "call_id",
    "caller_id",
    "try",
    "time_arrival",
    "time_first_arrival",
    "time_end",
    "outcome",
    "next",
    "orbit_end",
)
#: What a caller does after a try: stops (its last try), tries again, or still waits to when the run ends
STOPS, RETRIES, IN_ORBIT = 0, 1, 2

#: What the engine tells its sink, float64, of each call still in flight when it hands a chunk over (what
#: the call holds since when): its attempt in progress holds ``trunk`` since ``time_start``; a cloud-PBX
#: caller queued at ``time_queued`` (NaN: never) and left the queue at ``time_left`` (NaN: not yet).
OPEN_FIELDS = (
    "did",
    "ingress_pop",
    "channel",
    "trunk",
    "time_arrival",
    "time_start",
    "time_queued",
    "time_left",
    "pbx_outcome",
)
