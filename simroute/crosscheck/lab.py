"""What a loopback SIP lab can express of a scenario, and the lab model made of it.

The subset: DIDs routed to one trunk group of SIP trunks with priorities, weights, capacity limits,
ringing timeouts and re-routing codes, whose endpoints answer after a delay, reject with a code mix or
ring past the timeout, with the DIDs' holding times. Anything else is refused with the feature named.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..engine.network import UNLIMITED, compile_network
from ..errors import SimrouteError
from ..scenario import codes
from ..scenario.schema import Scenario

__all__ = ["CrosscheckError", "LabTrunk", "Lab", "lab_of"]


class CrosscheckError(SimrouteError):
    """A scenario the SIP lab cannot express (the message names the feature)."""


@dataclass(frozen=True)
class LabTrunk:
    name: str
    index: int  # the trunk's index in the compiled network
    priority: int
    weight: int
    capacity: int  # UNLIMITED when the trunk has no capacity_limit
    ringing_timeout: float
    reroute_codes: frozenset[int]  # SIP codes that move the call on
    reroute_timeout: bool
    reroute_capacity: bool


@dataclass(frozen=True)
class Lab:
    scenario: Scenario
    group: str
    trunks: tuple[LabTrunk, ...]  # in the group's member order
    max_attempts: int

    def priorities(self) -> list[int]:
        return sorted({t.priority for t in self.trunks})


def _refuse(feature: str) -> CrosscheckError:
    return CrosscheckError(f"the SIP cross-check cannot express {feature}")


def lab_of(scenario: Scenario) -> Lab:
    """The lab model of ``scenario``, or :class:`CrosscheckError` naming what is outside the subset."""
    s = scenario
    if s.faults:
        raise _refuse("faults (POP or trunk outages, forced responses)")
    if len(s.pops) > 1:
        raise _refuse("more than one POP")
    if s.number_lists:
        raise _refuse("number lists")
    if len(s.trunk_groups) != 1:
        raise _refuse(f"{len(s.trunk_groups)} trunk groups (exactly one is needed)")
    group = s.trunk_groups[0]
    if group.capacity_limit is not None:
        raise _refuse(f"trunk_groups[{group.name}].capacity_limit")
    if getattr(s, "capacity_pools", None) or getattr(s, "shared_capacity_groups", None):
        raise _refuse("capacity pools and shared capacity groups")
    for d in s.dids:
        where = f"dids[{d.number}]"
        if d.route.group != group.name:
            raise _refuse(f"{where}.route: a DID not routed to the group {group.name!r}")
        for field in (
            "capacity_limit",
            "number_list",
            "channels_included",
            "dedicated_channels",
            "shared_capacity_group",
        ):
            if getattr(d, field, None) is not None:
                raise _refuse(f"{where}.{field}")
        if d.traffic is None:
            raise _refuse(f"{where} without traffic")
    net = compile_network(s)
    by_name = {t.name: t for t in s.trunks}
    trunks = []
    for m in group.members:
        t = by_name[m.trunk]
        where = f"trunks[{t.name}]"
        if t.kind != "sip":
            raise _refuse(f"{where}.kind {t.kind!r} (SIP trunks only)")
        if t.pop is not None:
            raise _refuse(f"{where}.pop (a pinned POP)")
        for field in ("number_list", "cli_prefix"):
            if getattr(t, field, None):
                raise _refuse(f"{where}.{field}")
        ep = t.endpoint
        if ep is not None:
            if ep.channels is not None:
                raise _refuse(f"{where}.endpoint.channels")
            if ep.no_response:
                raise _refuse(f"{where}.endpoint.no_response (Timer B)")
        i = net.trunk_names.index(t.name)
        reroute = net.reroute[i]
        sip = frozenset(c for c in reroute if 400 <= c <= 699)
        trunks.append(
            LabTrunk(
                name=t.name,
                index=i,
                priority=m.priority,
                weight=m.weight,
                capacity=int(net.trunk_cap[i]),
                ringing_timeout=float(net.ringing_timeout[i]),
                reroute_codes=sip,
                reroute_timeout=codes.RINGING_TIMEOUT in reroute,
                reroute_capacity=codes.TRUNK_CAPACITY in reroute,
            )
        )
    names = [t.name for t in trunks]
    if len(set(names)) != len(names):
        raise _refuse("a trunk listed twice in the group")
    for lt in trunks:
        if lt.capacity < UNLIMITED and lt.capacity > 1000:
            raise _refuse(f"trunks[{lt.name}].capacity_limit above 1000 in a loopback lab")
    return Lab(scenario=s, group=group.name, trunks=tuple(trunks), max_attempts=group.max_attempts)
