"""The scenario file: pydantic models of POPs, number lists, trunks, groups, DIDs, traffic and faults.

Validation runs in two stages, as in Ciw: each object on its own (types, ranges, unknown keys), then the
cross-references between them (every name used must exist). Both stages report the file and the path of
the field (``trunks[1].capacity_limit``), never a traceback.
"""

from __future__ import annotations

import re
import reprlib
import unicodedata
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from ..errors import ScenarioError
from . import clock, codes
from .distributions import Distribution, Duration, DurationInput, PositiveDuration
from .units import parse_duration

__all__ = [
    "Scenario",
    "Pop",
    "Pbx",
    "CapacityPool",
    "SharedCapacityGroup",
    "NumberList",
    "NumberListItem",
    "Endpoint",
    "Trunk",
    "Member",
    "TrunkGroup",
    "Route",
    "Callers",
    "Step",
    "Redial",
    "Traffic",
    "Did",
    "Fault",
    "Settings",
    "profile_period",
    "load_scenario",
]

MAX_ENTRY_PROBLEMS = 50  # bad entries of one list reported one by one, at most


def _digits(value: object) -> object:
    """An unquoted phone number comes from YAML as an int (the safe loader lets through only plain
    decimal, so its text is the number's digits); a phone number is text."""
    return str(value) if type(value) is int and value > 0 else value


_DigitsText = Annotated[str, Field(pattern=r"^[0-9]+$", max_length=32)]
_PrefixText = Annotated[str, Field(pattern=r"^[1-9][0-9]{0,10}$")]  # E.164: no leading 0, room for 4 digits
_CliPrefixText = Annotated[str, Field(pattern=r"^[0-9+]*$", max_length=7)]
_Whole = Annotated[int, Field(ge=1)]
# a phone number is text, also written unquoted as a whole number (the JSON Schema says both)
Digits = Annotated[_DigitsText, BeforeValidator(_digits, json_schema_input_type=Union[_DigitsText, _Whole])]
CallerPrefix = Annotated[
    _PrefixText, BeforeValidator(_digits, json_schema_input_type=Union[_PrefixText, _Whole])
]
CliPrefix = Annotated[
    _CliPrefixText, BeforeValidator(_digits, json_schema_input_type=Union[_CliPrefixText, _Whole])
]


def _visible_name(value: str) -> str:
    """A name is one line of visible text: every message and table that shows it shows what it is."""
    if not value.strip():
        raise ValueError("a name must hold visible characters, not only spaces")
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            what = "a control character (line break, tab, escape...)"
            if unicodedata.category(char) == "Cf":
                what = "an invisible character (zero-width or text-direction override)"
            raise ValueError(f"a name must not contain {what}: U+{ord(char):04X}")
    return value


Name = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_visible_name)]
Probability = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Share = Annotated[float, Field(ge=0, le=1e9, allow_inf_nan=False)]
Rate = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def _warmup(value: object) -> object:
    """A warm-up is a duration, or ``auto`` (chosen from the run by MSER-5)."""
    if value == "auto":
        return value
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise ValueError(f"{exc} (or auto)") from None


Warmup = Annotated[
    Union[float, Literal["auto"]],
    BeforeValidator(_warmup, json_schema_input_type=Union[DurationInput, Literal["auto"]]),
]


def _codes(value: object) -> object:
    """SIP codes as keys (``{486: 0.5}``; JSON spells them ``"486"``): one spelling of each code."""
    if not isinstance(value, dict):
        return value
    out: dict = {}
    spelled: dict = {}
    for key, share in value.items():
        code = int(key) if isinstance(key, str) and key.isascii() and key.isdigit() else key
        if code in out and not isinstance(code, bool):
            raise ValueError(f"code {code} is given twice ({spelled[code]!r} and {key!r})")
        out[code], spelled[code] = share, key
    return out


def _no_items() -> list:
    """An empty list, as a ``default_factory``: a Python function, not ``list``, because pydantic reads
    every factory's signature, and a builtin's is parsed from its text (milliseconds at start-up)."""
    return []


def _no_keys() -> dict:
    """An empty mapping, as a ``default_factory`` (not ``dict``: see :func:`_no_items`)."""
    return {}


class _Model(BaseModel):
    """Every scenario object. ``strict``: a number is a number, not the text ``"40"`` nor the YAML
    boolean ``yes`` (which pydantic would read as 1), at any depth (lists, mappings, unions).
    ``defer_build``: a model's validator is built on its first use, so that loading a scenario builds
    :class:`Scenario`'s alone, not one more for every model inside it (start-up)."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, strict=True, defer_build=True
    )


class Pop(_Model):
    """A DIDWW point of presence; ``ingress_share`` is the part of each DID's calls it receives."""

    name: Name
    region: str | None = None
    ingress_share: Share = 1.0


class NumberListItem(_Model):
    """A number or prefix and its action; with DIDWW's length rules the item qualifies only for numbers
    whose length is within ``number_min_length``..``number_max_length`` (absent: no bound)."""

    number: Digits
    action: Literal["allow", "reject"]
    number_min_length: int | None = Field(default=None, ge=0, le=100)
    number_max_length: int | None = Field(default=None, ge=0, le=100)

    @model_validator(mode="after")
    def _lengths(self):
        lo, hi = self.number_min_length, self.number_max_length
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"number_min_length {lo} is above number_max_length {hi}")
        return self


class NumberList(_Model):
    """An allow/deny list on the caller number; ``prefix`` mode: the longest matching prefix wins."""

    name: Name
    mode: Literal["exact", "prefix"] = "prefix"
    default_action: Literal["allow", "reject"] = "allow"
    items: list[NumberListItem] = Field(default_factory=_no_items, max_length=100_000)


class Endpoint(_Model):
    """What the far side does with an INVITE: answer after a delay, reject with a code, or stay silent."""

    channels: int | None = Field(default=None, ge=1, le=1_000_000)
    answer_probability: Probability = 1.0
    answer_delay: Distribution = Field(default=0.0, validate_default=True)
    responses: dict[int, Probability] = Field(default_factory=_no_keys)
    no_response: Probability = 0.0
    reject_delay: Distribution = Field(default=0.0, validate_default=True)
    busy_code: int = Field(default=486, ge=400, le=699)

    _one_spelling = field_validator("responses", mode="before")(_codes)

    @field_validator("responses")
    @classmethod
    def _sip_errors(cls, value: dict[int, float]) -> dict[int, float]:
        for code in value:
            if not 400 <= code <= 699:
                raise ValueError(f"response code {code} is not a SIP error code (400-699)")
        return value

    @model_validator(mode="after")
    def _mix_fits(self):
        total = sum(self.responses.values()) + self.no_response
        if total > 1 + 1e-12:
            raise ValueError(f"responses and no_response add up to {total:g}, more than 1")
        return self


DAY, WEEK = clock.DAY, clock.WEEK
#: a profile has at most one value a minute over a week
MAX_PROFILE = 7 * 1440


def profile_period(n: int) -> float | None:
    """The period ``n`` equal intervals cover: a day when ``n`` divides the day into whole minutes
    (24, 48, 96, 288, 1440...), a week when ``n`` is 7 times such a number (168, 672...); else None.
    The two never overlap (1440 has no factor 7), so a length means one thing."""
    if n > 0 and 1440 % n == 0:
        return DAY
    if n > 0 and n % 7 == 0 and 1440 % (n // 7) == 0:
        return WEEK
    return None


def _check_profile(values: list | None, what: str) -> list | None:
    if values is not None and profile_period(len(values)) is None:
        raise ValueError(
            f"{what} has {len(values)} values: give equal intervals of a day (a number of values that "
            "divides 1440: 24 hourly, 48, 96 quarter-hours, 288...) or of a week (7 times that: 168, 672...)"
        )
    return values


class Pbx(_Model):
    """phone.systems cloud PBX: answers, plays an IVR, queues callers for agents (who talk for the DID's
    holding time); callers abandon after their patience; after ``max_wait`` the call goes to voicemail."""

    agents: Union[
        Annotated[int, Field(ge=0, le=100_000)],
        Annotated[list[Annotated[int, Field(ge=0, le=100_000)]], Field(min_length=1, max_length=MAX_PROFILE)],
    ]
    answer_delay: Distribution = Field(default=0.0, validate_default=True)
    ivr: Distribution = Field(default=0.0, validate_default=True)
    queue_capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    patience: Distribution | None = None
    max_wait: PositiveDuration | None = None
    voicemail_time: Distribution = Field(default=30.0, validate_default=True)
    service_level_threshold: PositiveDuration = 20.0
    busy_code: int = Field(default=486, ge=400, le=699)

    @field_validator("agents")
    @classmethod
    def _resolution(cls, value):
        return value if isinstance(value, int) else _check_profile(value, "agents")

    @property
    def agents_interval(self) -> float:
        """Seconds between changes of the agent count (the profile's interval; a day for a constant)."""
        if isinstance(self.agents, int):
            return DAY
        period = profile_period(len(self.agents))
        assert period is not None  # checked by the validator
        return period / len(self.agents)

    def agents_at(self, interval: int) -> int:
        """Agents on duty in interval ``interval`` since time 0 (a constant, or a repeating profile of
        counts per equal interval of a day or a week)."""
        return self.agents if isinstance(self.agents, int) else self.agents[interval % len(self.agents)]


class Trunk(_Model):
    """An inbound trunk (DIDWW ``voice_in_trunks``): ``sip`` to a PBX, ``pstn`` forwarding to a phone
    number (``dst``, billed per minute), or ``pbx`` into a phone.systems cloud PBX (``pbx:``)."""

    name: Name
    kind: Literal["sip", "pstn", "pbx"] = "sip"
    description: str | None = None
    dst: Digits | None = None
    rate_per_minute: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    post_dial_delay: Distribution = Field(default=0.0, validate_default=True)
    pbx: Pbx | None = None
    pop: Name | None = None
    capacity_limit: int | None = Field(default=None, ge=1, le=32767)
    ringing_timeout: Duration | None = None
    rerouting_codes: Union[
        Literal["didww_default", "all", "none", "conservative"], list[Union[int, str]], None
    ] = None
    number_list: Name | None = None
    cli_format: Literal["raw", "e164", "local"] = "raw"
    cli_prefix: CliPrefix | None = None
    sip_timer_b: PositiveDuration = 8.0
    endpoint: Endpoint | None = None

    @model_validator(mode="after")
    def _kind_fields(self):
        if self.kind == "pstn" and self.dst is None:
            raise ValueError("a pstn trunk needs dst, the number calls are forwarded to (E.164 without +)")
        pstn_only = self.dst is not None or self.rate_per_minute or self.post_dial_delay.mean
        if self.kind != "pstn" and pstn_only:
            raise ValueError(f"dst, rate_per_minute and post_dial_delay are for kind pstn, not {self.kind}")
        if self.kind == "pbx" and self.pbx is None:
            raise ValueError("a pbx trunk needs a pbx: block (agents, queue, patience...)")
        if self.kind != "pbx" and self.pbx is not None:
            raise ValueError(f"pbx: is for kind pbx, not {self.kind}")
        if self.kind == "pbx" and self.endpoint is not None:
            raise ValueError("a pbx trunk is answered by its pbx: block, not an endpoint")
        return self

    @field_validator("ringing_timeout")
    @classmethod
    def _didww_range(cls, value: float | None) -> float | None:
        if value is not None and not 1 <= value <= 32:
            raise ValueError(f"ringing_timeout must be 1 to 32 seconds as DIDWW allows, got {value:g}s")
        return value

    @field_validator("rerouting_codes", mode="before")
    @classmethod
    def _known_codes(cls, value):
        """One clear message per bad entry, before pydantic tries each member of the union."""
        if value is None:
            return value
        if isinstance(value, str):
            if value not in codes.PRESETS:
                raise ValueError(
                    f"unknown preset {reprlib.repr(value)} (presets: {', '.join(codes.PRESETS)}; "
                    "or a list of codes)"
                )
            return value
        if not isinstance(value, list):
            raise ValueError(f"expected a preset name or a list of codes, got {type(value).__name__}")
        bad = []  # every bad entry, one line each (load_scenario splits the lines into problems)
        for i, entry in enumerate(value):
            if isinstance(entry, str) and entry not in codes.NAMED:
                bad.append(
                    f"entry {i}: unknown re-routing name {reprlib.repr(entry)} "
                    f"(names: {', '.join(codes.NAMED)})"
                )
            elif isinstance(entry, bool) or not isinstance(entry, (int, str)):
                bad.append(
                    f"entry {i}: expected a SIP code, a DIDWW code id or a name, got {reprlib.repr(entry)}"
                )
            elif (
                isinstance(entry, int)
                and entry not in codes.REROUTABLE_SIP_CODES
                and entry not in codes.DIDWW_REROUTING_IDS
            ):
                bad.append(
                    f"entry {i}: {entry} is neither a SIP code nor an id of DIDWW's re-routing "
                    "disconnect codes (ids 56-108, 1505)"
                )
        if bad:
            raise ValueError("\n".join(bad[:MAX_ENTRY_PROBLEMS]))
        return value


class Member(_Model):
    """A trunk in a group: lower ``priority`` first, ``weight`` orders within a priority (RFC 2782)."""

    trunk: Name
    priority: int = Field(default=1, ge=0, le=65535)
    weight: int = Field(default=65535, ge=0, le=65535)


class TrunkGroup(_Model):
    """An inbound trunk group (``voice_in_trunk_groups``) with its own simultaneous-call cap."""

    name: Name
    capacity_limit: int | None = Field(default=None, ge=1, le=32767)
    max_attempts: int = Field(default=10, ge=1, le=30)
    members: list[Member] = Field(min_length=1)


class Route(_Model):
    """Where a DID's calls go: exactly one of a trunk or a trunk group."""

    trunk: Name | None = None
    group: Name | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        if (self.trunk is None) == (self.group is None):
            raise ValueError("give exactly one of trunk or group")
        return self


class Callers(_Model):
    """Who calls: shares of caller prefixes (to exercise number lists); the rest dial from
    ``default_prefix``."""

    prefix_shares: dict[CallerPrefix, Probability] = Field(default_factory=_no_keys)
    default_prefix: CallerPrefix | None = None
    length: int = Field(default=12, ge=4, le=15)

    @field_validator("prefix_shares", mode="before")
    @classmethod
    def _keys_as_text(cls, value):
        if not isinstance(value, dict):
            return value
        out: dict = {}
        spelled: dict = {}
        for key, share in value.items():
            text = _digits(key)
            if text in out:
                raise ValueError(f"prefix {text} is given twice ({spelled[text]!r} and {key!r})")
            out[text], spelled[text] = share, key
        return out

    @model_validator(mode="after")
    def _shares_fit(self):
        total = sum(self.prefix_shares.values())
        if total > 1 + 1e-12:
            raise ValueError(f"prefix_shares add up to {total:g}, more than 1")
        return self


class Step(_Model):
    at: Duration
    calls_per_hour: Rate


#: Outcome classes of a try after which a caller may try again (:data:`simroute.scenario.codes.REDIAL_AFTER`).
RedialClass = Literal["blocking", "busy", "no_answer", "rejected", "failed", "abandoned", "voicemail"]
assert RedialClass.__args__ == codes.REDIAL_AFTER  # type: ignore[attr-defined]
#: A single outcome of ``kpis.outcomes`` after which a caller may try again (finer than a class).
RedialOutcome = Union[
    Literal[
        "trunk_capacity",
        "group_capacity",
        "did_capacity",
        "no_channel",
        "endpoint_full",
        "queue_full",
        "ringing_timeout",
        "no_response",
        "pop_down",
        "number_list_reject",
    ],
    Annotated[str, Field(pattern=r"^sip_[3-6][0-9][0-9]$")],
]


class Redial(_Model):
    """Callers who try again: after a try that ended in a class (or a single outcome) of ``after``, another
    try follows with
    ``probability[k-1]`` after try k (the last value repeats), ``delay`` later; ``max_tries`` counts every
    try, the first included (absent: no limit). Why: retries add load exactly when the trunks are full."""

    after: list[Union[RedialClass, RedialOutcome]] = Field(min_length=1, max_length=100)
    max_tries: int | None = Field(default=None, ge=1, le=1000)
    probability: list[Probability] = Field(min_length=1, max_length=1000)
    delay: Distribution

    @field_validator("after")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        twice = sorted({v for v in value if value.count(v) > 1})
        if twice:
            raise ValueError(f"names {', '.join(twice)} more than once")
        return value

    @field_validator("probability")
    @classmethod
    def _ends(cls, value: list[float], info) -> list[float]:
        if value[-1] >= 1.0 and info.data.get("max_tries") is None:
            raise ValueError(
                "the last probability is 1 and there is no max_tries: a blocked caller would try forever "
                "(give max_tries, or a last probability below 1)"
            )
        return value

    def chance(self, tries: int) -> float:
        """The chance of another try after try number ``tries`` (from 1)."""
        if self.max_tries is not None and tries >= self.max_tries:
            return 0.0
        return self.probability[min(tries, len(self.probability)) - 1]

    def expected_tries(self, p_fail: float = 1.0) -> float:
        """Expected tries of one caller whose every try ends in an ``after`` class with chance ``p_fail``
        (1: the most a caller can try, what a budget assumes)."""
        total, reach, k = 0.0, 1.0, 1
        while reach > 1e-9 and k <= (self.max_tries or 100_000):
            total += reach
            reach *= p_fail * self.chance(k)
            k += 1
        return total


class Traffic(_Model):
    """Poisson arrivals at a rate (``calls_per_hour`` or ``erlangs``), optionally shaped over time; or
    the calls of a trace file (``replay``, see :mod:`simroute.scenario.replay`)."""

    calls_per_hour: Rate | None = None
    erlangs: Rate | None = None
    holding_time: Distribution | None = None
    replay: Annotated[str, Field(min_length=1, max_length=4096)] | None = None
    profile: list[Rate] | None = Field(default=None, min_length=1, max_length=MAX_PROFILE)
    steps: list[Step] | None = Field(default=None, min_length=1, max_length=100_000)
    repeat: PositiveDuration | None = None
    callers: Callers = Field(default_factory=Callers)
    redial: Redial | None = None
    _trace: Any = PrivateAttr(default=None)  # the ReplayTrace, read by load_scenario

    @property
    def trace(self):
        """The replayed calls (:class:`~simroute.scenario.replay.ReplayTrace`), or None."""
        return self._trace

    @model_validator(mode="after")
    def _one_rate(self):
        if self.replay is not None:
            extra = [
                k
                for k in ("calls_per_hour", "erlangs", "steps", "profile", "repeat", "holding_time")
                if getattr(self, k) is not None
            ]
            if extra:
                raise ValueError(f"replay gives the calls and their durations: drop {', '.join(extra)}")
            if self.redial is not None:
                raise ValueError(
                    "a replayed trace holds its callers' retries as calls of their own: drop redial"
                )
            return self
        if self.holding_time is None:
            raise ValueError("holding_time is required (unless the calls come from a replay trace)")
        given = [k for k in ("calls_per_hour", "erlangs", "steps") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"give exactly one of calls_per_hour, erlangs or steps (got {', '.join(given) or 'none'})"
            )
        if self.erlangs is not None and self.holding_time.mean <= 0:
            raise ValueError("holding_time must have a mean above zero when erlangs is given")
        if self.steps is not None:
            if self.profile is not None:
                raise ValueError("give either steps or profile, not both")
            times = [s.at for s in self.steps]
            if times != sorted(times) or len(set(times)) != len(times):
                raise ValueError("steps must be in strictly increasing order of at")
            if self.repeat is not None and times[-1] >= self.repeat:
                raise ValueError(
                    f"steps repeat every {self.repeat:g}s, so every step's at must be below it "
                    f"(the last is at {times[-1]:g}s)"
                )
        elif self.repeat is not None:
            raise ValueError("repeat is for steps (a profile repeats by itself)")
        return self

    @field_validator("profile")
    @classmethod
    def _resolution(cls, value):
        return _check_profile(value, "profile")

    @property
    def base_rate(self) -> float:
        """Calls per second before any profile (the first step's rate for stepped traffic; a replay's
        calls over the span of its trace)."""
        if self.replay is not None:
            trace = self._trace
            if trace is None or not len(trace):
                return 0.0
            return len(trace) / max(float(trace.times[-1]), 1.0)
        if self.erlangs is not None:
            assert self.holding_time is not None
            return self.erlangs / self.holding_time.mean
        if self.calls_per_hour is not None:
            return self.calls_per_hour / 3600.0
        assert self.steps is not None  # the model validator requires one of the three forms
        return self.steps[0].calls_per_hour / 3600.0


class CapacityPool(_Model):
    """Where dedicated and shared channels come from, with their prices and the metered rate."""

    name: Name
    metered_rate: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    dedicated_monthly_price: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    shared_monthly_price: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0


class SharedCapacityGroup(_Model):
    """Flat-rate channels shared by its DIDs, and pay-per-minute metered channels (at most 1000)."""

    name: Name
    capacity_pool: Name
    shared_channels: int = Field(default=0, ge=0, le=1_000_000)
    metered_channels: int | None = Field(default=None, ge=0, le=1000)

    @model_validator(mode="after")
    def _some_channels(self):
        if self.shared_channels + (self.metered_channels or 0) < 1:
            raise ValueError("a shared capacity group needs at least one shared or metered channel")
        return self


class Did(_Model):
    """A phone number, where its calls go, its caps, its channels and the traffic it receives.

    Channels as DIDWW sells them: ``channels_included`` (2 with a "2 included" plan), ``dedicated_channels``
    (from ``capacity_pool``), a ``shared_capacity_group``; each call takes the first free channel in the
    order included, dedicated, shared, metered. A DID that states none of these has unlimited channels.
    """

    number: Digits
    route: Route
    capacity_limit: int | None = Field(default=None, ge=1, le=1_000_000)
    number_list: Name | None = None
    channels_included: int | None = Field(default=None, ge=0, le=1_000_000)
    dedicated_channels: int | None = Field(default=None, ge=0, le=1_000_000)
    capacity_pool: Name | None = None
    shared_capacity_group: Name | None = None
    traffic: Traffic | None = None

    @property
    def channel_limited(self) -> bool:
        return not (
            self.channels_included is None
            and self.dedicated_channels is None
            and self.shared_capacity_group is None
        )


class Fault(_Model):
    """A failure on a POP or a trunk: a scheduled window (``at``, ``duration``) or random outages
    (``mtbf``, ``mttr``: exponential times between failures and to repair, starting up).

    ``down``: a POP takes no calls and its pinned trunks fail with 503; a trunk's link times out
    (Timer B, 408). ``respond``: the trunk answers ``code`` with ``probability``. ``channels``: the
    trunk's endpoint has only ``channels`` channels.
    """

    pop: Name | None = None
    trunk: Name | None = None
    at: Duration | None = None
    duration: PositiveDuration | None = None
    mtbf: PositiveDuration | None = None
    mttr: PositiveDuration | None = None
    effect: Literal["down", "respond", "channels"] = "down"
    code: int | None = Field(default=None, ge=400, le=699)
    probability: Probability = 1.0
    channels: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _coherent(self):
        if (self.pop is None) == (self.trunk is None):
            raise ValueError("give exactly one of pop or trunk")
        scheduled, random = (self.at, self.duration), (self.mtbf, self.mttr)
        if not (None not in scheduled and random == (None, None)) and not (
            None not in random and scheduled == (None, None)
        ):
            raise ValueError(
                "give either at and duration (a scheduled window) or mtbf and mttr (random outages)"
            )
        if self.pop is not None and self.effect != "down":
            raise ValueError(f"a POP fault can only be effect: down, got {self.effect!r}")
        if self.effect == "respond" and self.code is None:
            raise ValueError("effect: respond needs a code")
        if self.effect == "channels" and self.channels is None:
            raise ValueError("effect: channels needs channels")
        return self


class Settings(_Model):
    """Platform behaviour DIDWW does not document [I]: each is a modelling assumption with a default."""

    platform_ringing_timeout: Duration = Field(default=30.0, description="used when a trunk has none [I]")
    inter_pop_delay: Duration = Field(default=0.04, description="extra delay of a pinned POP hop [I]")
    rerouting_codes: Literal["didww_default", "all", "none", "conservative"] = "didww_default"
    reroute_on_pop_down: bool = Field(
        default=True,
        description="an attempt to a trunk pinned to a POP that is down fails with its own cause (1520) "
        "and the call goes on to the next trunk, whatever the trunk's rerouting_codes; false: only when "
        "503 is in the list [I]",
    )
    weight_draw: Literal["proportional", "yeti"] = Field(
        default="proportional",
        description="how weights order the trunks of one priority: proportional (DIDWW's documented "
        "rule [V]) or yeti (Yeti's integer draw [I])",
    )
    currency: str = Field(default="USD", max_length=8)
    days_per_month: Annotated[float, Field(gt=0, allow_inf_nan=False)] = Field(
        default=30.0, description="pro-rates monthly channel prices over the simulated window [I]"
    )


class Scenario(_Model):
    """A whole routing set-up and the traffic offered to it, as a planner writes it in YAML."""

    name: Name
    description: str | None = None
    duration: PositiveDuration
    warmup: Warmup = Field(
        default=0.0, description="time before the KPIs start, or auto (chosen by MSER-5 from the run)"
    )
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    start_time: Annotated[datetime, BeforeValidator(clock.parse_start_time, json_schema_input_type=str)] = (
        Field(
            default=clock.DEFAULT_START,
            description="time 0 on the local clock: date, time and time zone "
            "('2025-03-10 08:00 Europe/Berlin'); profiles and agent staffing follow it",
        )
    )
    traffic_scale: Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)] = 1.0
    replications: int = Field(default=1, ge=1, le=100_000)
    settings: Settings = Field(default_factory=Settings)
    capacity_pools: list[CapacityPool] = Field(default_factory=_no_items)
    shared_capacity_groups: list[SharedCapacityGroup] = Field(default_factory=_no_items)
    pops: list[Pop] = Field(default_factory=lambda: [Pop(name="AUTO")], min_length=1)
    number_lists: list[NumberList] = Field(default_factory=_no_items)
    trunks: list[Trunk] = Field(min_length=1)
    trunk_groups: list[TrunkGroup] = Field(default_factory=_no_items)
    dids: list[Did] = Field(min_length=1)
    faults: list[Fault] = Field(default_factory=_no_items)

    @property
    def clock_phase(self) -> float:
        """Seconds from the local Monday midnight before time 0 to time 0 (where profiles start)."""
        return clock.week_phase(self.start_time)


def _loc(parts) -> str:
    """``('trunks', 1, 'capacity_limit')`` -> ``trunks[1].capacity_limit``; drops union tags."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _UNION_TAGS or part.startswith("function-"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out


_UNION_TAGS = {
    "exponential",
    "deterministic",
    "lognormal",
    "uniform",
    "empirical",
    "hyperexponential",
    "str",
    "int",
    "list[union[int,str]]",
    "literal['didww_default','all','none','conservative']",
}


_NUMBER_TYPES = {"int_type": "a whole number", "float_type": "a number"}


def _message(error: Any) -> str:
    msg = error["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    kind = error["type"]
    if kind == "extra_forbidden":
        msg = "unknown field (check its spelling)"
    elif kind in _NUMBER_TYPES:
        value = error.get("input")
        want = _NUMBER_TYPES[kind]
        if isinstance(value, bool):
            msg = f"expected {want}, got {str(value).lower()} (YAML reads yes, no, on, off as true, false)"
        elif isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+[eE][-+]?[0-9]+", value):
            msg = (
                f"expected {want}, got the text {reprlib.repr(value)} (YAML 1.1 reads an exponent "
                "without a decimal point as text: write it as 1.0e+5)"
            )
        elif isinstance(value, str):
            msg = f"expected {want}, got the text {reprlib.repr(value)} (write the number without quotes)"
        elif isinstance(value, float) and kind == "int_type":
            msg = f"expected a whole number, got {value!r}"
        else:
            msg = f"expected {want}, got {type(value).__name__}"
    elif kind == "string_type" and isinstance(error.get("input"), (int, float)):
        msg = f"expected text, got the number {error['input']!r} (quote it)"
    return msg


def _plain(value: object, memo: dict | None = None) -> object:
    """A scenario given as Python data, with numpy scalars and Decimals made plain numbers: accepted as
    their value (an integral ``np.int64`` or ``Decimal`` as an int, a finite one as a float), while
    ``np.bool_`` becomes a bool, which the number fields then refuse as any boolean. What needs no
    change is returned as it is (a shared subtree is visited once, never copied)."""
    memo = {} if memo is None else memo
    if isinstance(value, (dict, list, tuple)):
        if id(value) in memo:
            return memo[id(value)]
        memo[id(value)] = value  # a structure that holds itself stays as it is (pydantic refuses it)
        if isinstance(value, dict):
            items = [(_plain(k, memo), _plain(v, memo)) for k, v in value.items()]
            same = all(a is k and b is v for (a, b), (k, v) in zip(items, value.items()))
            result: object = value if same else dict(items)
        else:
            elements = [_plain(v, memo) for v in value]
            same = all(a is b for a, b in zip(elements, value))
            result = value if same else elements
        memo[id(value)] = result
        return result
    if isinstance(value, Decimal):
        if not value.is_finite():
            return float(value)  # refused by every number field: no NaN or infinity
        return int(value) if value == value.to_integral_value() else float(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return value.item()  # np.int64 -> int, np.float64 -> float, np.bool_ -> bool, np.str_ -> str
    return value


def _references(s: Scenario) -> list[tuple[str, str]]:
    """Second stage: unique names and every name used pointing at something that exists."""
    problems: list[tuple[str, str]] = []

    def unique(items, key, where, what):
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            value = key(item)
            if value in seen:
                problems.append(
                    (f"{where}[{i}].{what}", f"duplicate {what} {value!r} (also at {where}[{seen[value]}])")
                )
            seen.setdefault(value, i)
        return seen

    if s.traffic_scale != 1 and any(d.traffic is not None and d.traffic.replay for d in s.dids):
        problems.append(
            ("traffic_scale", "a replayed trace's calls are as recorded: traffic_scale must be 1 with replay")
        )
    if s.warmup != "auto" and s.warmup >= s.duration:
        problems.append(("warmup", f"must be shorter than duration ({s.warmup:g}s >= {s.duration:g}s)"))
    pops = unique(s.pops, lambda p: p.name, "pops", "name")
    lists = unique(s.number_lists, lambda n: n.name, "number_lists", "name")
    trunks = unique(s.trunks, lambda t: t.name, "trunks", "name")
    groups = unique(s.trunk_groups, lambda g: g.name, "trunk_groups", "name")
    unique(s.dids, lambda d: d.number, "dids", "number")
    for i, g in enumerate(s.trunk_groups):
        if g.name in trunks:  # DIDWW: one namespace for trunks and trunk groups
            problems.append((f"trunk_groups[{i}].name", f"{g.name!r} is also a trunk's name"))
    if sum(p.ingress_share for p in s.pops) <= 0:
        problems.append(("pops", "ingress_share must be above zero for at least one POP"))
    for i, nl in enumerate(s.number_lists):
        unique(nl.items, lambda it: it.number, f"number_lists[{i}].items", "number")

    def exists(name, table, path, what):
        if name is not None and name not in table:
            known = ", ".join(sorted(table)) or "none defined"  # names are single-line (Name's pattern)
            problems.append((path, f"no {what} named {name!r} (known: {known})"))

    for i, t in enumerate(s.trunks):
        exists(t.pop, pops, f"trunks[{i}].pop", "POP")
        exists(t.number_list, lists, f"trunks[{i}].number_list", "number list")
    owner: dict[str, str] = {}
    for i, g in enumerate(s.trunk_groups):
        for j, m in enumerate(g.members):
            path = f"trunk_groups[{i}].members[{j}].trunk"
            exists(m.trunk, trunks, path, "trunk")
            if m.trunk in owner:
                where = "this group" if owner[m.trunk] == g.name else f"group {owner[m.trunk]!r}"
                problems.append(
                    (
                        path,
                        f"trunk {m.trunk!r} is already a member of {where} (a trunk is in one group at most)",
                    )
                )
            owner.setdefault(m.trunk, g.name)
    for i, d in enumerate(s.dids):
        exists(d.route.trunk, trunks, f"dids[{i}].route.trunk", "trunk")
        exists(d.route.group, groups, f"dids[{i}].route.group", "trunk group")
        exists(d.number_list, lists, f"dids[{i}].number_list", "number list")
    pools = unique(s.capacity_pools, lambda c: c.name, "capacity_pools", "name")
    capacity_groups = unique(s.shared_capacity_groups, lambda c: c.name, "shared_capacity_groups", "name")
    for i, scg in enumerate(s.shared_capacity_groups):
        exists(scg.capacity_pool, pools, f"shared_capacity_groups[{i}].capacity_pool", "capacity pool")
    for i, d in enumerate(s.dids):
        exists(d.capacity_pool, pools, f"dids[{i}].capacity_pool", "capacity pool")
        exists(
            d.shared_capacity_group,
            capacity_groups,
            f"dids[{i}].shared_capacity_group",
            "shared capacity group",
        )
        if d.dedicated_channels and d.capacity_pool is None:
            problems.append(
                (f"dids[{i}].capacity_pool", "dedicated channels come from a capacity pool: name one")
            )
    for i, f in enumerate(s.faults):
        exists(f.pop, pops, f"faults[{i}].pop", "POP")
        exists(f.trunk, trunks, f"faults[{i}].trunk", "trunk")
    return problems


def load_scenario(source: "str | Path | dict | Scenario", *, name: str | None = None) -> Scenario:
    """A validated :class:`Scenario` from a YAML file path, a dict, or a Scenario (returned as is).

    Raises :class:`~simroute.errors.ScenarioError` naming the file and each bad field.
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        data, label = _plain(source), name or "<dict>"
    else:
        path = Path(source)
        label = name or str(path)
        data = _read_yaml(path, label)
    if data is None:
        raise ScenarioError(label, [("", "the file is empty")])
    if not isinstance(data, dict):
        raise ScenarioError(
            label, [("", f"expected a mapping of scenario fields at the top, got {type(data).__name__}")]
        )
    base = Path(source).parent if not isinstance(source, dict) else Path.cwd()
    data = _absolute_replays(data, base)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [(_loc(e["loc"]), line) for e in exc.errors() for line in _message(e).splitlines()]
        raise ScenarioError(label, problems) from None
    problems = _references(scenario) or _read_replays(scenario)
    if problems:
        raise ScenarioError(label, problems)
    return scenario


def _absolute_replays(data: dict, base: Path) -> dict:
    """The data with every ``dids[i].traffic.replay`` path made absolute against ``base`` (the
    scenario file's folder), so that a scenario rebuilt from its dump finds the same file."""
    dids = data.get("dids")
    if not isinstance(dids, list) or not any(
        isinstance(d, dict)
        and isinstance(d.get("traffic"), dict)
        and isinstance(d["traffic"].get("replay"), str)
        for d in dids
    ):
        return data
    out = []
    for d in dids:
        if (
            isinstance(d, dict)
            and isinstance(d.get("traffic"), dict)
            and isinstance(d["traffic"].get("replay"), str)
        ):
            path = Path(d["traffic"]["replay"])
            d = {**d, "traffic": {**d["traffic"], "replay": str(path if path.is_absolute() else base / path)}}
        out.append(d)
    return {**data, "dids": out}


def _read_replays(scenario: Scenario) -> list[tuple[str, str]]:
    """Read every replayed trace into its scenario (problems name the DID, the file, row and column)."""
    from .replay import TraceProblem, read_trace  # imported here: only replaying scenarios need it

    problems = []
    trunks = {t.name for t in scenario.trunks}
    for i, d in enumerate(scenario.dids):
        if d.traffic is None or d.traffic.replay is None:
            continue
        where = f"dids[{i}].traffic.replay"
        try:
            trace = read_trace(Path(d.traffic.replay), d.number)
        except TraceProblem as exc:
            problems.append((where, f"{d.traffic.replay}: {exc}"))
            continue
        unknown = sorted(set(trace.verdicts) - trunks)
        if unknown:
            problems.append(
                (where, f"{d.traffic.replay}: endpoint column(s) for unknown trunk(s) {', '.join(unknown)}")
            )
        d.traffic._trace = trace
    return problems


def _read_yaml(path: Path, label: str) -> object:
    """The file's one YAML document, read within :data:`simroute.safeyaml.LIMITS` (size, depth, aliases)."""
    from . import safeyaml  # imported here: this function is the only user

    try:
        return safeyaml.load_file(path)
    except safeyaml.SafeYamlError as exc:
        raise ScenarioError(label, [("", str(exc))]) from None
