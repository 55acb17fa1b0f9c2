"""Import a DIDWW account: JSON:API documents of trunks, trunk groups, POPs, DIDs and capacity become a
scenario, so a planner does not retype the account.

The API holds the routing set-up (topology, priorities, weights, caps, ringing timeouts, re-routing codes,
pinned POPs, CLI settings, PSTN destinations, DID capacity). It does not hold the traffic or what the far
ends do: those get the defaults in :data:`DEFAULTS`, listed at the top of the written file.
"""

from __future__ import annotations

import reprlib
import warnings
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..scenario import codes
from ..scenario.schema import load_scenario
from .files import atomic_path
from .jsonapi import DocumentError, Stored, read_documents

__all__ = [
    "import_documents",
    "write_scenario",
    "scenario_text",
    "Imported",
    "DidwwWarning",
    "DEFAULTS",
    "REROUTING_IDS",
]


class DidwwWarning(UserWarning):
    """Something in the documents simroute skips (an unknown attribute, an unrouted DID...)."""


#: [V] DIDWW's re-routing disconnect code ids -> SIP code (1505: DIDWW's internal Ringing timeout): the
#: scenario's own table, so the loader and the importer read the same ids.
REROUTING_IDS: dict[int, int] = codes.DIDWW_REROUTING_IDS

#: What the API does not hold, filled in on import (and listed at the top of the written file).
DEFAULTS = {
    "duration": "24h",
    "traffic": {"calls_per_hour": 10, "holding_time": {"dist": "exponential", "mean": "3m"}},
}

_DEFAULT_NOTES = [
    "duration: 24h; seed: 0; one replication",
    "traffic per DID: 10 calls/hour, Poisson, exponential holding time of mean 3 min "
    "(fit real traffic from a CDR export: simroute fit CDR.csv.gz)",
    "endpoints: none, so every trunk answers each call at once (add endpoint: blocks, or fit them)",
    "POP ingress: each imported POP gets an equal share of every DID's calls",
    "rerouting_disconnect_code_ids null or absent: no rerouting_codes key, so settings.rerouting_codes "
    "(didww_default: DIDWW's SDK default list) applies [I]",
    "imported code lists also re-route on trunk capacity overflow (capacity_limit), as Yeti's "
    "'try next route' [I]",
    "trunk group max_attempts: 10 (Yeti's default) [I]; PSTN rate_per_minute: 0 (not in the API)",
]


# --- attribute models (strict: a number given as text, a boolean for a number are errors) -----------


class _Attrs(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


Count = Annotated[int, Field(ge=0)]
Cap = Annotated[int, Field(ge=1, le=32767)]  # [V] DIDWW's range for trunk and group capacity_limit
Label = Annotated[str, Field(min_length=1, max_length=100)]
U16 = Annotated[int, Field(ge=0, le=65535)]
Price = Annotated[str | float | int, Field()]


class Configuration(_Attrs):
    type: str
    attributes: dict[str, Any] = {}


_SIP_USED = {"sip_timer_b", "rerouting_disconnect_code_ids"}
#: [V] every other SIP configuration attribute DIDWW documents: known, not modelled.
_SIP_KNOWN = set(
    "host port username transport_protocol_id network_protocol_priority resolve_ruri use_did_in_ruri "
    "codec_ids rx_dtmf_format_id tx_dtmf_format_id auth_enabled auth_user auth_password auth_from_user "
    "auth_from_domain enabled_sip_registration incoming_auth_username incoming_auth_password sst_enabled "
    "sst_min_timer sst_max_timer sst_session_expires sst_refresh_method_id sst_accept_501 "
    "dns_srv_failover_timer rtp_ping rtp_timeout force_symmetric_rtp symmetric_rtp_ignore_rtcp "
    "allowed_rtp_ips media_encryption_mode stir_shaken_mode diversion_relay_policy diversion_inject_mode "
    "cnam_lookup max_transfers max_30x_redirects".split()
)


#: Trunk configurations of older API versions (2017-09-18), imported as SIP trunks.
_VOIP_CONFIGURATIONS = {"iax2_configurations", "h323_configurations"}


class SipConfiguration(_Attrs):
    sip_timer_b: Annotated[int, Field(ge=1)] | None = None  # milliseconds
    rerouting_disconnect_code_ids: list[int] | None = None


class PstnConfiguration(_Attrs):
    dst: Annotated[str, Field(pattern=r"^\+?[0-9]{1,32}$")]


class TrunkAttributes(_Attrs):
    name: Label
    description: str | None = None
    priority: U16 = 1
    weight: U16 = 65535
    capacity_limit: Cap | None = None
    ringing_timeout: Annotated[int, Field(ge=1, le=32)] | None = None  # [V] 2026-11-19: 1 to 32 s
    cli_format: Literal["raw", "e164", "local"] | None = None
    cli_prefix: str | None = None
    configuration: Configuration | None = None
    created_at: Any = None
    external_reference_id: Any = None


class GroupAttributes(_Attrs):
    name: Label
    capacity_limit: Cap | None = None
    created_at: Any = None
    external_reference_id: Any = None


class PopAttributes(_Attrs):
    name: Label


class DidAttributes(_Attrs):
    number: Annotated[str, Field(pattern=r"^\+?[0-9]{1,32}$")]
    capacity_limit: Annotated[int, Field(ge=1)] | None = None
    channels_included_count: Count | None = None
    dedicated_channels_count: Count | None = None
    blocked: bool | None = None
    terminated: bool | None = None
    awaiting_registration: bool | None = None
    description: Any = None
    created_at: Any = None
    expires_at: Any = None
    billing_cycles_count: Any = None
    external_reference_id: Any = None
    pending_removal: Any = None
    dedicated_channels_qty: Any = None


class PoolAttributes(_Attrs):
    name: Label
    metered_rate: Price | None = None
    monthly_price: Price | None = None
    setup_price: Any = None
    renew_date: Any = None
    total_channels_count: Any = None
    assigned_channels_count: Any = None
    minimum_limit: Any = None
    minimum_qty_per_order: Any = None


class ScgAttributes(_Attrs):
    name: Label
    shared_channels_count: Count = 0
    metered_channels_count: Count | None = None
    created_at: Any = None
    external_reference_id: Any = None


_MODELS: dict[str, type[_Attrs]] = {
    "voice_in_trunks": TrunkAttributes,
    "voice_in_trunk_groups": GroupAttributes,
    "pops": PopAttributes,
    "dids": DidAttributes,
    "capacity_pools": PoolAttributes,
    "shared_capacity_groups": ScgAttributes,
}
#: Resource types of older API versions (2017-09-18) under their current names.
_ALIASES = {"trunks": "voice_in_trunks", "trunk_groups": "voice_in_trunk_groups"}


class _Import:
    """One import: the merged resources, their validated attributes, and the warnings given once each."""

    def __init__(self, store: dict[tuple[str, str], Stored]):
        self.store = store
        self.attrs: dict[tuple[str, str], Any] = {}
        self.notes: list[str] = []
        self._warned: set[tuple] = set()
        for key, item in store.items():
            model = _MODELS.get(item.type)
            if model is None:
                self.warn(
                    ("type", item.type),
                    item.source,
                    item.pointer,
                    f"resources of type {item.type!r} are not imported",
                )
                continue
            self.attrs[key] = self.validate(model, item.attributes, item)

    def warn(self, key: tuple, source: str, where: str, message: str) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        text = f"{source}: {where}: {message}" if where else f"{source}: {message}"
        self.notes.append(text)
        warnings.warn(text, DidwwWarning, stacklevel=4)

    def validate(self, model, values: dict, item: Stored, prefix: tuple = ()):
        try:
            parsed = model.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            loc = [p for p in error["loc"] if not str(p).startswith(("function-", "union["))]
            head = loc[0] if loc else None
            source, where = item.where(prefix[0] if prefix else str(head))
            if not prefix and head is not None and head not in item.origin:
                where += "/attributes"
            tail = [*prefix[1:], *loc] if prefix else loc[1:]
            tail = tail if error["type"] != "missing" else tail[:-1]
            where += "".join(f"/{p}" for p in tail)
            if error["type"] == "missing":
                message = f"{item.label}: missing attribute {loc[-1]!r}"
            else:
                message = (
                    f"{error['msg'][0].lower()}{error['msg'][1:]} (got {reprlib.repr(error.get('input'))})"
                )
            raise DocumentError(source, where, message) from None
        for extra in parsed.model_extra or {}:
            source, where = item.where(prefix[0] if prefix else extra)
            if prefix:
                where += "".join(f"/{p}" for p in (*prefix[1:], extra))
            self.warn(
                (item.type, *prefix, extra),
                source,
                where,
                f"unknown attribute {extra!r} of {item.type} skipped",
            )
        return parsed

    def target(self, item: Stored, names: tuple[str, ...], kind: str) -> list[Stored] | None:
        """The resources a relationship points at (None when no document loaded it); a pointer to a
        resource not in the documents is an error naming it."""
        for name in names:
            rel = item.relationships.get(name)
            if rel is None or not rel.loaded:
                continue
            found = []
            for link in rel.targets:
                link_type = _ALIASES.get(link.type, link.type)
                if link_type != kind:
                    source, where = item.where(name)
                    raise DocumentError(
                        source, where + "/data", f"expected a {kind} resource, got {link.type}"
                    )
                other = self.store.get((link_type, link.id))
                if other is None:
                    source, where = item.where(name)
                    raise DocumentError(
                        source,
                        where + "/data",
                        f"{item.label} refers to {link.type} {link.id}, which is in none of the "
                        f"documents: add a document holding it (or fetch with ?include={name})",
                    )
                found.append(other)
            return found
        return None

    def of(self, kind: str) -> list[Stored]:
        return [item for key, item in self.store.items() if item.type == kind and key in self.attrs]


def _unique(name: str, taken: set[str]) -> str:
    out, n = name, 2
    while out in taken:
        out, n = f"{name} ({n})", n + 1
    taken.add(out)
    return out


def _money(value, item: Stored, attribute: str) -> float:
    if value is None:
        return 0.0
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        source, where = item.where(attribute)
        raise DocumentError(source, where, f"expected a decimal amount, got {reprlib.repr(value)}") from None
    if not amount.is_finite() or amount < 0:
        source, where = item.where(attribute)
        raise DocumentError(source, where, f"expected an amount of 0 or more, got {value}")
    return float(amount)


def _rerouting(imp: _Import, item: Stored, sip: SipConfiguration):
    ids = sip.rerouting_disconnect_code_ids
    if ids is None:
        return None
    entries: list[int | str] = []
    for i, code_id in enumerate(ids):
        sip_code = REROUTING_IDS.get(code_id)
        if sip_code is None:
            source, where = item.where("configuration")
            raise DocumentError(
                source,
                f"{where}/attributes/rerouting_disconnect_code_ids/{i}",
                f"{code_id} is not one of DIDWW's re-routing disconnect code ids (56-108, 1505)",
            )
        entry: int | str = "ringing_timeout" if sip_code == codes.RINGING_TIMEOUT else sip_code
        if entry not in entries:
            entries.append(entry)
    return [*entries, "capacity_limit"]


def _trunk(imp: _Import, item: Stored, attrs: TrunkAttributes, name: str, pops: dict[str, str]) -> dict:
    out: dict[str, Any] = {"name": name}
    if attrs.description:
        out["description"] = attrs.description
    config = attrs.configuration
    if config is None:
        imp.warn(
            ("noconfig", item.id),
            *item.where(),
            f"trunk {attrs.name!r} has no configuration: imported as SIP",
        )
        config_type = "sip_configurations"
    else:
        config_type = config.type
    if config_type == "pstn_configurations":
        pstn = imp.validate(
            PstnConfiguration, config.attributes if config else {}, item, ("configuration", "attributes")
        )
        out["kind"] = "pstn"
        out["dst"] = pstn.dst.lstrip("+")
    elif config_type == "sip_configurations":
        values = config.attributes if config is not None else {}
        unused = {k: v for k, v in values.items() if k in _SIP_KNOWN}
        sip = imp.validate(
            SipConfiguration,
            {k: v for k, v in values.items() if k not in unused},
            item,
            ("configuration", "attributes"),
        )
        if sip.sip_timer_b is not None:
            out["sip_timer_b"] = f"{sip.sip_timer_b}ms"
        codes_ = _rerouting(imp, item, sip)
        if codes_ is not None:
            out["rerouting_codes"] = codes_
    elif config_type in _VOIP_CONFIGURATIONS:
        # [V] older API versions also had IAX2 and H.323 trunks: routing treats them as any VoIP trunk
        imp.warn(
            ("voip", config_type),
            *item.where("configuration"),
            f"{config_type} trunks are modelled as SIP trunks (routing, caps and timeouts; not signalling)",
        )
    else:
        source, where = item.where("configuration")
        raise DocumentError(
            source,
            where + "/type",
            f"configuration type {config_type!r} is not one simroute models (sip_configurations, "
            f"pstn_configurations, {', '.join(sorted(_VOIP_CONFIGURATIONS))})",
        )
    pop = imp.target(item, ("pop",), "pops")
    if pop:
        out["pop"] = pops[pop[0].id]
    if attrs.capacity_limit is not None:
        out["capacity_limit"] = attrs.capacity_limit
    if attrs.ringing_timeout is not None:
        out["ringing_timeout"] = attrs.ringing_timeout
    if attrs.cli_prefix:
        out["cli_prefix"] = attrs.cli_prefix
    if attrs.cli_format is not None and "cli_format" in _trunk_fields():
        out["cli_format"] = attrs.cli_format
    return out


def _trunk_fields() -> set[str]:
    from ..scenario.schema import Trunk

    return set(Trunk.model_fields)


def import_documents(paths_or_dicts) -> "Imported":
    """A scenario dict from DIDWW JSON:API documents (file paths, or parsed dicts), in any combination
    and order. Unknown attributes are skipped with a :class:`DidwwWarning` each; a malformed document
    or a relationship to a resource in none of them raises :class:`~simroute.io.jsonapi.DocumentError`.

    The returned dict's ``notes`` are the warnings, for the written file's header.
    """
    one = isinstance(paths_or_dicts, (str, Path, dict))
    sources = [paths_or_dicts] if one else list(paths_or_dicts)
    if not sources:
        raise DocumentError("simroute import didww", "", "no documents given")
    store, labels = read_documents(sources, _ALIASES)
    imp = _Import(store)
    taken: set[str] = set()
    pops = {p.id: _unique(imp.attrs[(p.type, p.id)].name, taken) for p in imp.of("pops")}
    member_of = _membership(imp)
    names: set[str] = set()
    trunk_names: dict[str, str] = {}
    trunks = []
    for item in imp.of("voice_in_trunks"):
        attrs = imp.attrs[(item.type, item.id)]
        trunk_names[item.id] = name = _named(imp, item, attrs.name, names, "trunk")
        trunks.append(_trunk(imp, item, attrs, name, pops))
    if not trunks:
        raise DocumentError(
            ", ".join(labels), "", "no voice_in_trunks in the documents: a scenario needs a trunk"
        )
    groups, group_names = _groups(imp, member_of, trunk_names, names)
    capacity = _Capacity(imp)
    dids = [
        did
        for item in imp.of("dids")
        if (did := _did(imp, item, trunk_names, group_names, capacity)) is not None
    ]
    if not dids:
        targets: list[dict[str, str]] = [{"group": g["name"]} for g in groups]
        targets += [{"trunk": trunk_names[t.id]} for t in imp.of("voice_in_trunks") if t.id not in member_of]
        imp.warn(
            ("placeholders",),
            ", ".join(labels),
            "",
            f"no routed DID in the documents: {len(targets)} placeholder DID(s) (990000000001...), one "
            "per trunk group and per trunk outside a group, with unlimited channels",
        )
        dids = [
            {"number": f"99{i + 1:010d}", "route": route, "traffic": DEFAULTS["traffic"]}
            for i, route in enumerate(targets)
        ]
    scenario: dict[str, Any] = {
        "name": "DIDWW import",
        "description": f"imported by simroute import didww from {', '.join(Path(x).name for x in labels)}",
        "duration": DEFAULTS["duration"],
    }
    if pops:
        scenario["pops"] = [{"name": n} for n in pops.values()]
    if capacity.pools:
        scenario["capacity_pools"] = capacity.pools
    if capacity.groups:
        scenario["shared_capacity_groups"] = capacity.groups
    scenario["trunks"] = trunks
    if groups:
        scenario["trunk_groups"] = groups
    scenario["dids"] = dids
    load_scenario(scenario, name="imported scenario")  # what we write must load
    return Imported(scenario, notes=imp.notes)


def _named(imp: _Import, item: Stored, name: str, taken: set[str], what: str) -> str:
    """A name not used yet (trunks and groups share one namespace, as in DIDWW's API since 2026-11)."""
    out = _unique(name, taken)
    if out != name:
        imp.warn(
            ("rename", item.id), *item.where("name"), f"{what} name {name!r} is taken: imported as {out!r}"
        )
    return out


def _membership(imp: _Import) -> dict[str, str]:
    """Trunk id -> group id, from either side (a trunk's voice_in_trunk_group, a group's voice_in_trunks)."""
    member_of: dict[str, str] = {}
    for group in imp.of("voice_in_trunk_groups"):
        for trunk in imp.target(group, ("voice_in_trunks", "trunks"), "voice_in_trunks") or []:
            member_of[trunk.id] = group.id
    for trunk in imp.of("voice_in_trunks"):
        linked = imp.target(trunk, ("voice_in_trunk_group", "trunk_group"), "voice_in_trunk_groups")
        if linked:
            if member_of.get(trunk.id, linked[0].id) != linked[0].id:
                source, where = trunk.where("voice_in_trunk_group")
                raise DocumentError(
                    source,
                    where,
                    f"trunk {trunk.id} is in group {linked[0].id} here, in group {member_of[trunk.id]} in "
                    "another document",
                )
            member_of[trunk.id] = linked[0].id
    return member_of


def _groups(imp: _Import, member_of, trunk_names, names) -> tuple[list[dict], dict[str, str]]:
    groups: list[dict] = []
    group_names: dict[str, str] = {}
    for item in imp.of("voice_in_trunk_groups"):
        attrs = imp.attrs[(item.type, item.id)]
        members = [t for t in imp.of("voice_in_trunks") if member_of.get(t.id) == item.id]
        if not members:
            imp.warn(
                ("empty", item.id),
                *item.where(),
                f"trunk group {attrs.name!r}: none of its trunks is in the documents; left out",
            )
            continue
        group_names[item.id] = name = _named(imp, item, attrs.name, names, "trunk group")
        group: dict[str, Any] = {"name": name}
        if attrs.capacity_limit is not None:
            group["capacity_limit"] = attrs.capacity_limit
        group["members"] = []
        for t in members:
            trunk = imp.attrs[(t.type, t.id)]
            group["members"].append(
                {"trunk": trunk_names[t.id], "priority": trunk.priority, "weight": trunk.weight}
            )
        groups.append(group)
    return groups, group_names


class _Capacity:
    """Capacity pools and shared capacity groups, and which group each DID draws on."""

    def __init__(self, imp: _Import):
        self.imp = imp
        self.pools: list[dict] = []
        self.pool_names: dict[str, str] = {}
        self.groups: list[dict] = []
        self.group_names: dict[str, str] = {}
        self.group_of_did: dict[str, str] = {}
        self.pool_of_group: dict[str, str] = {}  # a pool's shared_capacity_groups: the other side
        for item in imp.of("capacity_pools"):
            for scg in imp.target(item, ("shared_capacity_groups",), "shared_capacity_groups") or []:
                self.pool_of_group[scg.id] = item.id
            pool = imp.attrs[(item.type, item.id)]
            self.pool_names[item.id] = name = _unique(pool.name, set(self.pool_names.values()))
            price = _money(pool.monthly_price, item, "monthly_price")
            self.pools.append(
                {
                    "name": name,
                    "metered_rate": _money(pool.metered_rate, item, "metered_rate"),
                    "dedicated_monthly_price": price,
                    "shared_monthly_price": price,
                }
            )
        for item in imp.of("shared_capacity_groups"):
            scg = imp.attrs[(item.type, item.id)]
            self.group_names[item.id] = name = _unique(scg.name, set(self.group_names.values()))
            out: dict[str, Any] = {
                "name": name,
                "capacity_pool": self.pool_for(item, f"shared capacity group {scg.name!r}"),
                "shared_channels": scg.shared_channels_count,
            }
            if scg.metered_channels_count is not None:
                out["metered_channels"] = scg.metered_channels_count
            self.groups.append(out)
            for did in imp.target(item, ("dids",), "dids") or []:
                self.group_of_did[did.id] = item.id

    def pool_for(self, item: Stored, who: str) -> str:
        found = self.imp.target(item, ("capacity_pool",), "capacity_pools")
        if found:
            return self.pool_names[found[0].id]
        if item.id in self.pool_of_group:
            return self.pool_names[self.pool_of_group[item.id]]
        name = f"capacity pool of {who}"
        if name not in self.pool_names.values():
            self.imp.warn(
                ("nopool", item.id),
                *item.where(),
                f"{who}: its capacity_pool is in none of the documents: {name!r}, without prices, stands in",
            )
            self.pool_names[f"placeholder:{item.id}"] = name
            self.pools.append({"name": name})
        return name


def _did(imp: _Import, item: Stored, trunk_names, group_names, capacity: _Capacity) -> dict | None:
    """A scenario DID, or None for one that takes no calls (blocked, terminated) or is routed nowhere."""
    attrs = imp.attrs[(item.type, item.id)]
    number = attrs.number.lstrip("+")
    trunk = imp.target(item, ("voice_in_trunk", "trunk"), "voice_in_trunks")
    group = imp.target(item, ("voice_in_trunk_group", "trunk_group"), "voice_in_trunk_groups")
    state = [s for s in ("blocked", "terminated", "awaiting_registration") if getattr(attrs, s)]
    if state:
        imp.warn(
            ("state", item.id),
            *item.where(state[0]),
            f"DID {number} is {state[0]}: it takes no calls; left out",
        )
        return None
    if trunk and group:
        source, where = item.where("voice_in_trunk")
        raise DocumentError(source, where, f"DID {number} is routed to a trunk and a trunk group at once")
    if not trunk and not group:
        why = (
            "is routed nowhere (voice_in_trunk and voice_in_trunk_group are null)"
            if trunk is not None or group is not None
            else "has no voice_in_trunk or voice_in_trunk_group in the documents"
        )
        imp.warn(("unrouted", item.id), *item.where(), f"DID {number} {why}: left out")
        return None
    if group and group[0].id not in group_names:
        source, where = item.where("voice_in_trunk_group")
        raise DocumentError(
            source,
            where,
            f"DID {number} routes to trunk group {group[0].id}, none of whose trunks is in the documents",
        )
    did: dict[str, Any] = {
        "number": number,
        "route": {"trunk": trunk_names[trunk[0].id]}
        if trunk
        else {"group": group_names[(group or [])[0].id]},
    }
    if attrs.capacity_limit is not None:
        did["capacity_limit"] = attrs.capacity_limit
    if attrs.channels_included_count is not None:
        did["channels_included"] = attrs.channels_included_count
    if attrs.dedicated_channels_count is not None:
        did["dedicated_channels"] = attrs.dedicated_channels_count
    linked = imp.target(item, ("shared_capacity_group",), "shared_capacity_groups")
    scg = linked[0].id if linked else capacity.group_of_did.get(item.id)
    if scg is not None:
        did["shared_capacity_group"] = capacity.group_names[scg]
    if attrs.dedicated_channels_count or imp.target(item, ("capacity_pool",), "capacity_pools"):
        did["capacity_pool"] = capacity.pool_for(item, f"DID {number}")
    if attrs.channels_included_count == 0 and not attrs.dedicated_channels_count and scg is None:
        imp.warn(
            ("nochannel", item.id),
            *item.where(),
            f"DID {number} has no included, dedicated or shared channel: DIDWW refuses its calls "
            f"(cause {codes.NO_CHANNEL})",
        )
    did["traffic"] = DEFAULTS["traffic"]
    return did


class _Dumper(yaml.SafeDumper):
    """Lists of plain values (code lists, profiles) on one line; everything else in block style."""


def _list(dumper: yaml.SafeDumper, data: list):
    flow = all(isinstance(v, (int, float, str)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _list)


class Imported(dict):
    """A scenario dict (it loads as any other) that also carries ``notes``: the import's warnings."""

    def __init__(self, scenario: dict, notes: list[str]):
        super().__init__(scenario)
        self.notes = list(notes)


def scenario_text(scenario: dict) -> str:
    """The YAML of an imported scenario, with the defaults used and the import's warnings at the top."""
    lines = ["# Imported from DIDWW by simroute import didww.", "# Not in the API, so set to defaults here:"]
    lines += [f"#   - {note}" for note in _DEFAULT_NOTES]
    notes = getattr(scenario, "notes", [])
    if notes:
        lines.append("# Skipped or stood in at import:")
        lines += [f"#   - {' '.join(str(n).splitlines())}" for n in notes]
    body = yaml.dump(dict(scenario), Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    return "\n".join(lines) + "\n" + body


def write_scenario(scenario: dict, target) -> Path:
    """Write an imported scenario (see :func:`scenario_text`) atomically to ``target``."""
    text = scenario_text(scenario)
    with atomic_path(Path(target)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
