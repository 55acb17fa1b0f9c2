"""The scenario compiled into integer-indexed tables, which the engine and the metrics share.

Names become indices once, here, so the event loop compares integers and reads lists instead of
looking up models; unlimited caps become a large number so that admission is one comparison.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property

from ..errors import ScenarioError
from ..scenario import codes
from ..scenario.distributions import is_instant
from ..scenario.schema import Endpoint, Scenario
from .routing import Bucket, GroupRouter, NumberListMatcher, buckets, first_choice_probabilities

__all__ = ["Network", "UNLIMITED", "compile_network"]

UNLIMITED = 2**62


@cache
def _no_endpoint() -> Endpoint:
    """What a trunk without ``endpoint:`` answers with; made on first use, not at import (its
    validator is built then, a few ms a run that gives every trunk an endpoint need not spend)."""
    return Endpoint()


@dataclass(frozen=True)
class FaultWindow:
    kind: str  # "pop" or "trunk"
    target: int
    start: float
    end: float
    effect: str  # "down", "respond", "channels"
    code: int
    probability: float
    channels: int
    mtbf: float = 0.0  # random outages instead of the window when above 0
    mttr: float = 0.0


@dataclass
class Network:
    """Indices and per-entity tables of one scenario."""

    scenario: Scenario
    pop_names: list[str]
    pop_shares: list[float]
    trunk_names: list[str]
    trunk_cap: list[int]
    trunk_pop: list[int]  # -1: Auto (egress where the call came in)
    ringing_timeout: list[float]
    timer_b: list[float]
    reroute: list[frozenset]
    trunk_list: list[NumberListMatcher | None]
    cli_prefix: list[str]
    cli_format: list[str]  # raw, e164, local (routing.format_cli)
    did_country: list[str]  # each DID's E.164 country code ("" unless a trunk formats the CLI)
    endpoints: list[Endpoint]
    endpoint_cap: list[int]
    busy_code: list[int]  # per trunk: the SIP code a caller sees when its endpoint or PBX queue is full
    trunk_group: list[int]  # -1: in no group
    group_names: list[str]
    group_cap: list[int]
    group_max_attempts: list[int]
    group_buckets: list[tuple[Bucket, ...]]
    group_router: list[GroupRouter]  # draws each call's attempt order, one trunk at a time
    group_attempts: list[int]  # attempts a call may make: trunks on the route, at most max_attempts
    #: per trunk, the exact chance it is tried first: across its whole group (0 below the first
    #: priority), and within its own priority among calls whose attempts reach it
    weight_share: list[float | None]
    weight_share_in_priority: list[float | None]
    did_numbers: list[str]
    did_group: list[int]  # -1: routed to a single trunk
    did_trunk: list[int]  # -1: routed to a group
    did_cap: list[int]
    did_list: list[NumberListMatcher | None]
    faults: list[FaultWindow] = field(default_factory=list)
    # delivery kinds
    trunk_kind: list[str] = field(default_factory=list)
    trunk_rate: list[float] = field(default_factory=list)  # PSTN forwarding, per minute
    setup_delay: list = field(default_factory=list)  # PSTN post-dial delay distribution or None
    pbx: list = field(default_factory=list)  # phone.systems model or None
    # DID channels, in DIDWW's order included -> dedicated -> shared -> metered
    did_channel_limited: list[bool] = field(default_factory=list)
    did_included: list[int] = field(default_factory=list)
    did_dedicated: list[int] = field(default_factory=list)
    did_capacity_group: list[int] = field(default_factory=list)  # -1: none
    did_pool: list[int] = field(default_factory=list)  # -1: none
    capacity_group_names: list[str] = field(default_factory=list)
    capacity_group_shared: list[int] = field(default_factory=list)
    capacity_group_metered: list[int] = field(default_factory=list)
    capacity_group_pool: list[int] = field(default_factory=list)
    pools: list = field(default_factory=list)

    @property
    def pbx_trunks(self) -> list[int]:
        return [t for t, model in enumerate(self.pbx) if model is not None]

    def call_attempts(self, did: int) -> int:
        """How many attempts a call to ``did`` may make: its route's trunks, at most its group's
        ``max_attempts`` (1 routed directly to a trunk)."""
        g = self.did_group[did]
        return 1 if g < 0 else self.group_attempts[g]

    def route_trunks(self, did: int) -> list[int]:
        """Every trunk a call to ``did`` may try."""
        g = self.did_group[did]
        if g < 0:
            return [self.did_trunk[did]]
        return [t for b in self.group_buckets[g] for t in b.trunks]

    @cached_property
    def trunk_dids(self) -> list[list[int]]:
        """For each trunk, the DIDs whose calls may try it: one pass over the routes (linear in the
        group members), so per-trunk KPIs need not scan every route for every trunk."""
        dids: list[list[int]] = [[] for _ in self.trunk_names]
        for d in range(len(self.did_numbers)):
            for t in dict.fromkeys(self.route_trunks(d)):
                dids[t].append(d)
        return dids


def _matcher(nl) -> NumberListMatcher:
    items = [
        (item.number, item.action == "allow", item.number_min_length, item.number_max_length)
        for item in nl.items
    ]
    return NumberListMatcher(nl.mode, items, nl.default_action == "allow")


def _cap(value: int | None) -> int:
    return UNLIMITED if value is None else value


def compile_network(s: Scenario) -> Network:
    """Index a validated scenario (names already checked to exist)."""
    pops = {p.name: i for i, p in enumerate(s.pops)}
    lists = {nl.name: _matcher(nl) for nl in s.number_lists}
    trunks = {t.name: i for i, t in enumerate(s.trunks)}
    groups = {g.name: i for i, g in enumerate(s.trunk_groups)}

    trunk_group = [-1] * len(s.trunks)
    weight_share: list[float | None] = [None] * len(s.trunks)
    in_priority: list[float | None] = [None] * len(s.trunks)
    rule = s.settings.weight_draw
    group_buckets = []
    for gi, g in enumerate(s.trunk_groups):
        triples = [(trunks[m.trunk], m.priority, m.weight) for m in g.members]
        group_buckets.append(buckets(triples))
        for b, bucket in enumerate(group_buckets[-1]):
            for t, p in first_choice_probabilities(bucket, rule).items():
                trunk_group[t] = gi
                in_priority[t] = p
                weight_share[t] = p if b == 0 else 0.0
    for d in s.dids:  # a trunk routed to directly, in no group, takes every call it is offered
        if d.route.trunk is not None and weight_share[trunks[d.route.trunk]] is None:
            weight_share[trunks[d.route.trunk]] = in_priority[trunks[d.route.trunk]] = 1.0
    routers = [GroupRouter(b, rule) for b in group_buckets]
    # DIDWW presents a pinned POP as redundancy: a down POP moves the call on, unless the scenario says not
    pop_down = frozenset({codes.POP_DOWN}) if s.settings.reroute_on_pop_down else frozenset()

    endpoints = [t.endpoint or _no_endpoint() for t in s.trunks]
    busy_codes = [t.pbx.busy_code if t.pbx is not None else e.busy_code for t, e in zip(s.trunks, endpoints)]
    faults = []
    for f in s.faults:
        kind, target = ("pop", pops[f.pop]) if f.pop is not None else ("trunk", trunks[str(f.trunk)])
        start = f.at or 0.0
        faults.append(
            FaultWindow(
                kind,
                target,
                start,
                start + (f.duration or 0.0),
                f.effect,
                f.code or 0,
                f.probability,
                f.channels if f.channels is not None else 0,
                f.mtbf or 0.0,
                f.mttr or 0.0,
            )
        )
    pools = {p.name: i for i, p in enumerate(s.capacity_pools)}
    capacity_groups = {g.name: i for i, g in enumerate(s.shared_capacity_groups)}
    return Network(
        scenario=s,
        trunk_kind=[t.kind for t in s.trunks],
        trunk_rate=[t.rate_per_minute for t in s.trunks],
        setup_delay=[None if is_instant(t.post_dial_delay) else t.post_dial_delay for t in s.trunks],
        pbx=[t.pbx for t in s.trunks],
        did_channel_limited=[d.channel_limited for d in s.dids],
        did_included=[d.channels_included or 0 for d in s.dids],
        did_dedicated=[d.dedicated_channels or 0 for d in s.dids],
        did_capacity_group=[
            capacity_groups[d.shared_capacity_group] if d.shared_capacity_group else -1 for d in s.dids
        ],
        did_pool=[pools[d.capacity_pool] if d.capacity_pool else -1 for d in s.dids],
        capacity_group_names=[g.name for g in s.shared_capacity_groups],
        capacity_group_shared=[g.shared_channels for g in s.shared_capacity_groups],
        capacity_group_metered=[g.metered_channels or 0 for g in s.shared_capacity_groups],
        capacity_group_pool=[pools[g.capacity_pool] for g in s.shared_capacity_groups],
        pools=list(s.capacity_pools),
        pop_names=[p.name for p in s.pops],
        pop_shares=[p.ingress_share for p in s.pops],
        trunk_names=[t.name for t in s.trunks],
        trunk_cap=[_cap(t.capacity_limit) for t in s.trunks],
        trunk_pop=[pops[t.pop] if t.pop is not None else -1 for t in s.trunks],
        ringing_timeout=[
            t.ringing_timeout if t.ringing_timeout is not None else s.settings.platform_ringing_timeout
            for t in s.trunks
        ],
        timer_b=[t.sip_timer_b for t in s.trunks],
        reroute=[
            _reroute_set(t.rerouting_codes, s.settings.rerouting_codes, busy) | pop_down
            for t, busy in zip(s.trunks, busy_codes)
        ],
        busy_code=busy_codes,
        trunk_list=[lists[t.number_list] if t.number_list else None for t in s.trunks],
        cli_prefix=[t.cli_prefix or "" for t in s.trunks],
        cli_format=[t.cli_format for t in s.trunks],
        did_country=_countries(s),
        endpoints=endpoints,
        endpoint_cap=[_cap(e.channels) for e in endpoints],
        trunk_group=trunk_group,
        group_names=[g.name for g in s.trunk_groups],
        group_cap=[_cap(g.capacity_limit) for g in s.trunk_groups],
        group_max_attempts=[g.max_attempts for g in s.trunk_groups],
        group_buckets=group_buckets,
        group_router=routers,
        group_attempts=[min(r.size, g.max_attempts) for r, g in zip(routers, s.trunk_groups)],
        weight_share=weight_share,
        weight_share_in_priority=in_priority,
        did_numbers=[d.number for d in s.dids],
        did_group=[groups[d.route.group] if d.route.group else -1 for d in s.dids],
        did_trunk=[trunks[d.route.trunk] if d.route.trunk else -1 for d in s.dids],
        did_cap=[_cap(d.capacity_limit) for d in s.dids],
        did_list=[lists[d.number_list] if d.number_list else None for d in s.dids],
        faults=faults,
    )


def _countries(s: Scenario) -> list[str]:
    """Each DID's E.164 country calling code (phonenumbers' table), needed only when some trunk with a
    number list has a ``cli_format`` of ``e164`` or ``local``."""
    if all(t.cli_format == "raw" or t.number_list is None for t in s.trunks):
        return [""] * len(s.dids)
    import phonenumbers  # imported here: only scenarios that format the CLI need it

    out, problems = [], []
    for i, d in enumerate(s.dids):
        try:
            out.append(str(phonenumbers.parse("+" + d.number).country_code))
        except phonenumbers.NumberParseException:
            out.append("")
            problems.append(
                (f"dids[{i}].number", f"{d.number} has no E.164 country code (cli_format needs it)")
            )
    if problems:
        raise ScenarioError(s.name, problems)
    return out


def _reroute_set(value, default: str, busy_code: int) -> frozenset:
    if value is None:
        value = default
    entries = codes.PRESETS[value] if isinstance(value, str) else value
    causes = codes.reroute_causes(entries)
    if busy_code in causes:  # a full endpoint or queue is seen as the trunk's busy code
        causes = causes | frozenset(codes.SHOWN_AS_BUSY_CODE)
    return causes


def outcome_table(endpoint: Endpoint) -> tuple[list[float], list[int]]:
    """Cumulative probabilities and what each slice means for the far end's first reaction.

    Slices in order: each response code, then no response (Timer B), then answer; what is left rings
    until the ringing timeout. A single uniform draw picks a slice.
    """
    cum, what = [], []
    acc = 0.0
    for code, p in endpoint.responses.items():
        acc += p
        cum.append(acc)
        what.append(code)
    acc += endpoint.no_response
    cum.append(acc)
    what.append(codes.TIMER_B)
    acc += (1.0 - acc) * endpoint.answer_probability
    cum.append(acc)
    what.append(codes.ANSWERED)
    return cum, what
