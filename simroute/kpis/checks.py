"""Warnings a summary carries (``summary["warnings"]``): set-ups and results a planner could read
wrongly, each one line of text, printed after the KPI table.

Some follow from the scenario alone (a DID without a channel model, a trunk's cap above its endpoint's
channels, ingress shares given that are not fractions), some from the run's KPIs (a trunk at its cap
often, a ringing timeout that ends many attempts).
"""

from __future__ import annotations

__all__ = ["AT_CAP_LIMIT", "TIMEOUT_LIMIT", "summary_warnings"]

#: A trunk at its capacity_limit more than this fraction of the time is worth a warning.
AT_CAP_LIMIT = 0.05
#: A ringing timeout ending more than this fraction of a trunk's ringing attempts is worth a warning.
TIMEOUT_LIMIT = 0.10


def _scenario_warnings(net) -> list[str]:
    s = net.scenario
    out = []
    for d in s.dids:
        if not d.channel_limited:
            out.append(
                f"DID {d.number} has no channel model (channels_included, dedicated_channels or "
                "shared_capacity_group): unlimited channels assumed"
            )
    for t, busy in zip(s.trunks, net.busy_code):
        channels = t.endpoint.channels if t.endpoint is not None else None
        if t.capacity_limit is not None and channels is not None and t.capacity_limit > channels:
            out.append(
                f"trunk {t.name}: capacity_limit {t.capacity_limit} exceeds its endpoint's {channels} "
                f"channels: calls beyond {channels} are refused by the endpoint ({busy}, endpoint full), "
                "not by the trunk's limit"
            )
    explicit = [p for p in s.pops if "ingress_share" in p.model_fields_set]
    total = sum(p.ingress_share for p in s.pops)
    if explicit and abs(total - 1.0) > 1e-9:
        split = ", ".join(f"{p.name} {p.ingress_share / total:.1%}" for p in s.pops)
        out.append(f"POP ingress shares add up to {total:g}, not 1: used as relative weights ({split})")
    return out


def summary_warnings(net, summary: dict) -> list[str]:
    """The warnings of a run of ``net`` whose summary (its ``trunks`` part: the means when replicated) is
    ``summary``."""
    out = _scenario_warnings(net)
    for name, timeout in zip(net.trunk_names, net.ringing_timeout):
        trunk = summary["trunks"][name]
        at_cap = trunk.get("time_congestion")
        if at_cap is not None and at_cap > AT_CAP_LIMIT:
            out.append(
                f"trunk {name} is at its capacity_limit {at_cap:.1%} of the time "
                f"(more than {AT_CAP_LIMIT:.0%})"
            )
        cut = trunk.get("timeout_fraction")
        if cut is not None and cut > TIMEOUT_LIMIT:
            out.append(
                f"trunk {name}: the ringing timeout ({timeout:g}s) ends {cut:.1%} of the attempts that "
                f"rang (more than {TIMEOUT_LIMIT:.0%})"
            )
    return out
