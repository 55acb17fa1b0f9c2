"""Disconnect causes: every attempt ends in exactly one, and a trunk's re-routing list is a set of them.

A *cause* is what ended an attempt. Far-end SIP responses are their own SIP code (486, 503...).
DIDWW's internal conditions get ids above 999 (1505 "Ringing timeout" is DIDWW's own id; the others
follow the Yeti softswitch DIDWW runs on, or are simroute's where nothing is documented, marked [I]).
Each cause maps to the SIP code the caller or the CDR sees, a reason text and an initiator.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "Cause",
    "CAUSES",
    "ANSWERED",
    "RINGING_TIMEOUT",
    "TRUNK_CAPACITY",
    "GROUP_CAPACITY",
    "DID_CAPACITY",
    "NUMBER_LIST_REJECT",
    "TIMER_B",
    "POP_DOWN",
    "NO_CHANNEL",
    "REFUSED_BEFORE_SEIZURE",
    "REFUSED_BEFORE_GROUP",
    "REFUSED_ON_ARRIVAL",
    "CHANNEL_KINDS",
    "CHANNEL_INCLUDED",
    "CHANNEL_DEDICATED",
    "CHANNEL_SHARED",
    "CHANNEL_METERED",
    "CHANNEL_NONE",
    "CHANNEL_NONE_FREE",
    "PBX_WAITING",
    "PBX_SERVED",
    "PBX_ABANDONED",
    "PBX_VOICEMAIL",
    "PBX_IN_QUEUE_AT_END",
    "ENDPOINT_FULL",
    "QUEUE_FULL",
    "BLOCKING_CAUSES",
    "REJECTED_CAUSES",
    "call_class",
    "BUSY_CAUSES",
    "NO_ANSWER_CAUSES",
    "REDIAL_CLASSES",
    "REDIAL_AFTER",
    "redial_class",
    "outcome_cause",
    "REROUTABLE_SIP_CODES",
    "DIDWW_REROUTING_IDS",
    "PRESETS",
    "cause_info",
    "outcome_name",
    "reroute_causes",
]


class Cause(NamedTuple):
    sip_code: int
    reason: str
    initiator: str  # "Destination" (far end), "Switch" (DIDWW), "Origination" (the caller)
    outcome: str  # the KPI bucket for calls that end on it


ANSWERED = 200
RINGING_TIMEOUT = 1505  # [V] DIDWW id; Yeti sends 487 to the caller [I]
TRUNK_CAPACITY = 1510  # [I] Yeti "Vendor gateway overloaded" (480), action "try next route"
GROUP_CAPACITY = 1511  # [I] simroute: trunk group capacity_limit reached
DID_CAPACITY = 1512  # [I] simroute: DID capacity_limit reached
NUMBER_LIST_REJECT = 8002  # [I] Yeti "Source number blacklisted" (403)
TIMER_B = 130  # [I] Yeti "SIP transaction timeout": no response within sip_timer_b (408)
POP_DOWN = 1520  # [I] simroute: egress POP out of service (503)
NO_CHANNEL = 1513  # [V] "requires additional Capacity to receive inbound calls"; code [I] (480)
ENDPOINT_FULL = 1530  # [I] simroute: every channel of the trunk's endpoint busy (its busy_code, 486)
QUEUE_FULL = 1531  # [I] simroute: the cloud PBX's queue has no room (its busy_code, 486)

_INTERNAL = {
    RINGING_TIMEOUT: Cause(487, "Ringing timeout", "Switch", "ringing_timeout"),
    TRUNK_CAPACITY: Cause(480, "Trunk capacity limit reached", "Switch", "trunk_capacity"),
    GROUP_CAPACITY: Cause(480, "Trunk group capacity limit reached", "Switch", "group_capacity"),
    DID_CAPACITY: Cause(480, "DID capacity limit reached", "Switch", "did_capacity"),
    NUMBER_LIST_REJECT: Cause(403, "Source number rejected by number list", "Switch", "number_list_reject"),
    TIMER_B: Cause(408, "SIP transaction timeout (no response)", "Switch", "no_response"),
    POP_DOWN: Cause(503, "Egress POP down", "Switch", "pop_down"),
    NO_CHANNEL: Cause(
        480, "No DID channel free (included, dedicated, shared, metered)", "Switch", "no_channel"
    ),
    ENDPOINT_FULL: Cause(486, "Endpoint channels all busy", "Destination", "endpoint_full"),
    QUEUE_FULL: Cause(486, "Cloud PBX queue full", "Destination", "queue_full"),
}

#: Causes shown to the caller as the trunk's ``busy_code`` (486 unless the endpoint or PBX sets another).
SHOWN_AS_BUSY_CODE = (ENDPOINT_FULL, QUEUE_FULL)

#: Final causes of calls lost for lack of a channel at some level: DID channels and cap, trunk group,
#: trunk, capacity group (via the DID's channels), the endpoint's channels, a full cloud-PBX queue.
#: More channels (or a larger queue) would have carried them.
BLOCKING_CAUSES = frozenset(
    {DID_CAPACITY, NO_CHANNEL, GROUP_CAPACITY, TRUNK_CAPACITY, ENDPOINT_FULL, QUEUE_FULL}
)
#: Final causes of calls a number list refused on purpose.
REJECTED_CAUSES = frozenset({NUMBER_LIST_REJECT})
#: How a call ended, for the KPIs: every final cause is in exactly one class; ``failed`` is every cause
#: neither answered, blocking nor rejected (far-end error codes, Timer B, ringing timeout, POP down).
CALL_CLASSES = ("answered", "blocked", "rejected", "failed")


def call_class(cause: int) -> str:
    """The class (:data:`CALL_CLASSES`) of a call that ended on ``cause``."""
    if cause == ANSWERED:
        return "answered"
    if cause in BLOCKING_CAUSES:
        return "blocked"
    if cause in REJECTED_CAUSES:
        return "rejected"
    return "failed"


_SIP_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    424: "Bad Location Information",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    480: "Temporarily Unavailable",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
}

CAUSES: dict[int, Cause] = {ANSWERED: Cause(200, "Answered", "Origination", "answered"), **_INTERNAL}

#: Internal causes that a SIP code in a re-routing list also covers [I].
_SEEN_AS_SIP = (TIMER_B, POP_DOWN)

#: Causes that refuse an attempt at its trunk before a channel is seized (no channel held, no time
#: spent): not counted as seized in a trunk's error and timeout fractions.
REFUSED_BEFORE_SEIZURE = frozenset({NUMBER_LIST_REJECT, TRUNK_CAPACITY, POP_DOWN})
#: Causes that refuse a call at its DID, before it is counted as offered to its trunk group (and before
#: it holds its DID).
REFUSED_BEFORE_GROUP = frozenset({NUMBER_LIST_REJECT, DID_CAPACITY})
#: Causes that end a call before any trunk is tried (its one row has trunk -1).
REFUSED_ON_ARRIVAL = frozenset({NUMBER_LIST_REJECT, DID_CAPACITY, GROUP_CAPACITY, NO_CHANNEL})

#: Channel kinds a call can hold on its DID, in DIDWW's order of use; a row's ``channel`` field is an
#: index into this tuple, or CHANNEL_NONE.
CHANNEL_KINDS = ("included", "dedicated", "shared", "metered")
CHANNEL_INCLUDED, CHANNEL_DEDICATED, CHANNEL_SHARED, CHANNEL_METERED = range(len(CHANNEL_KINDS))
#: The call holds no DID channel (its DID has no channel model)
CHANNEL_NONE = -1
#: Every channel kind of the DID is in use: the call is refused (NO_CHANNEL); never written to a row
CHANNEL_NONE_FREE = -2

#: How a call that a cloud PBX answered left its queue (PBX_WAITING: in the IVR or the queue, not yet).
#: PBX_IN_QUEUE_AT_END: still waiting when nothing else was left to happen (no patience, no agent coming):
#: it leaves the queue then, at the horizon at the earliest, so that it is counted.
PBX_WAITING, PBX_SERVED, PBX_ABANDONED, PBX_VOICEMAIL, PBX_IN_QUEUE_AT_END = 0, 1, 2, 3, 4

#: [V] The SIP codes DIDWW lets a trunk re-route on (its "Rerouting Disconnect Codes", ids 56-108).
REROUTABLE_SIP_CODES = frozenset(
    {
        400,
        401,
        402,
        403,
        404,
        408,
        409,
        410,
        412,
        413,
        414,
        415,
        416,
        417,
        420,
        421,
        422,
        423,
        424,
        428,
        429,
        433,
        436,
        437,
        438,
        480,
        482,
        483,
        484,
        485,
        486,
        487,
        488,
        494,
        500,
        501,
        502,
        503,
        504,
        505,
        513,
        580,
        600,
        603,
        604,
        606,
    }
)

#: [V] DIDWW's own ids of its re-routing disconnect codes (``rerouting_disconnect_code_ids`` in the API,
#: Yeti's ``class4.disconnect_code`` keys): id -> the SIP code it stands for, and 1505 -> the ringing
#: timeout cause. An id and its SIP code mean the same thing in a ``rerouting_codes`` list.
DIDWW_REROUTING_IDS: dict[int, int] = {
    56: 400, 57: 401, 58: 402, 59: 403, 60: 404, 64: 408, 65: 409, 66: 410, 67: 412, 68: 413,
    69: 414, 70: 415, 71: 416, 72: 417, 73: 420, 74: 421, 75: 422, 76: 423, 77: 424, 78: 428,
    79: 429, 80: 433, 81: 436, 82: 437, 83: 438, 84: 480, 86: 482, 87: 483, 88: 484, 89: 485,
    90: 486, 91: 487, 92: 488, 96: 494, 97: 500, 98: 501, 99: 502, 100: 503, 101: 504, 102: 505,
    103: 513, 104: 580, 105: 600, 106: 603, 107: 604, 108: 606,
    1505: RINGING_TIMEOUT,
}  # fmt: skip

#: Names usable in ``rerouting_codes`` besides SIP codes.
NAMED = {
    "ringing_timeout": RINGING_TIMEOUT,
    "capacity_limit": TRUNK_CAPACITY,
    # a reject by the trunk's own number list: in no preset, so a caller a list stops is not handed to a
    # backup trunk without a list unless the scenario asks for it
    "number_list_reject": NUMBER_LIST_REJECT,
}

#: Presets for ``rerouting_codes``. ``didww_default`` is the SDKs' default list (every code but 401
#: and 503, plus Ringing timeout) [V]; capacity overflow re-routes as Yeti's "try next route" [I].
PRESETS: dict[str, frozenset] = {
    "didww_default": frozenset(REROUTABLE_SIP_CODES - {401, 503}) | {"ringing_timeout", "capacity_limit"},
    "all": frozenset(REROUTABLE_SIP_CODES) | {"ringing_timeout", "capacity_limit"},
    "none": frozenset(),
    "conservative": frozenset(
        {408, 480, 500, 501, 502, 503, 504, 505, 513, 580, "ringing_timeout", "capacity_limit"}
    ),
}


def cause_info(cause: int) -> Cause:
    """The SIP code, reason, initiator and outcome bucket of a cause id."""
    known = CAUSES.get(cause)
    if known is not None:
        return known
    reason = _SIP_REASONS.get(cause, "SIP error")
    return Cause(cause, reason, "Destination", f"sip_{cause}")


def outcome_name(cause: int) -> str:
    """The outcome bucket a call ending on ``cause`` is counted in (``answered``, ``sip_486``...)."""
    return cause_info(cause).outcome


def reroute_causes(entries) -> frozenset[int]:
    """Cause ids that send a call on to the next trunk, from SIP codes, DIDWW's code ids and names.

    A DIDWW id means its SIP code (90 is 486, 1505 the ringing timeout). A SIP code covers the far
    end's response and the internal conditions that DIDWW reports as that code (408 covers Timer B,
    503 covers a down POP) [I]; ``ringing_timeout``, ``capacity_limit`` and ``number_list_reject`` (a
    reject by the trunk's own number list, in no preset) are named.
    """
    causes: set[int] = set()
    for entry in entries:
        if isinstance(entry, str):
            causes.add(NAMED[entry])
            continue
        entry = DIDWW_REROUTING_IDS.get(entry, entry)
        causes.add(entry)
        causes.update(c for c in _SEEN_AS_SIP if _INTERNAL[c].sip_code == entry)
    return frozenset(causes)


#: Far-end busy answers (486 Busy Here, 600 Busy Everywhere): what a busy line looks like to a caller.
#: A full endpoint or cloud-PBX queue shows the same code but is blocking (ENDPOINT_FULL, QUEUE_FULL).
BUSY_CAUSES = frozenset({486, 600})
#: Tries nobody answered: the ringing timeout, and no response at all (Timer B).
NO_ANSWER_CAUSES = frozenset({RINGING_TIMEOUT, TIMER_B})

#: How one try of a redialling caller ended, for ``traffic.redial.after`` and the caller KPIs. Every try is
#: in exactly one: ``answered`` (and, at a cloud PBX, served by an agent), ``blocking``
#: (:data:`BLOCKING_CAUSES`), ``busy``, ``no_answer``, ``rejected`` (:data:`REJECTED_CAUSES`), ``failed``
#: (any other failure), and for cloud-PBX callers ``abandoned``, ``voicemail`` and ``in_queue_at_end``.
REDIAL_CLASSES = (
    "answered",
    "blocking",
    "busy",
    "no_answer",
    "rejected",
    "failed",
    "abandoned",
    "voicemail",
    "in_queue_at_end",
)
#: The classes a scenario may name in ``redial.after`` (a caller served, or still queued at the end,
#: has no reason to call again).
REDIAL_AFTER = REDIAL_CLASSES[1:-1]
_PBX_CLASS = {
    PBX_SERVED: 0,
    PBX_ABANDONED: REDIAL_CLASSES.index("abandoned"),
    PBX_VOICEMAIL: REDIAL_CLASSES.index("voicemail"),
    PBX_IN_QUEUE_AT_END: REDIAL_CLASSES.index("in_queue_at_end"),
}


def redial_class(cause: int, pbx_outcome: int = 0) -> int:
    """The index in :data:`REDIAL_CLASSES` of a try that ended on ``cause`` (and, when a cloud PBX
    answered it, left its queue as ``pbx_outcome``, a PBX_* code; PBX_WAITING: no cloud PBX)."""
    if cause == ANSWERED:
        return _PBX_CLASS.get(pbx_outcome, 0)
    if cause in BLOCKING_CAUSES:
        return 1
    if cause in BUSY_CAUSES:
        return 2
    if cause in NO_ANSWER_CAUSES:
        return 3
    if cause in REJECTED_CAUSES:
        return 4
    return 5


def outcome_cause(name: str) -> int | None:
    """The cause of a single outcome name (``trunk_capacity``, ``ringing_timeout``, ``sip_503``...), the
    names of ``kpis.outcomes``; None for a name that is no outcome."""
    for cause, info in _INTERNAL.items():
        if info.outcome == name:
            return cause
    if name.startswith("sip_") and name[4:].isdigit() and 300 <= int(name[4:]) <= 699:
        return int(name[4:])
    return None
