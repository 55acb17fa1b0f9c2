"""What a set-up costs over the simulated window: PSTN forwarding and metered minutes at their rates,
and monthly channel prices pro-rated to the window ([I]: ``settings.days_per_month`` days a month)."""

from __future__ import annotations

__all__ = ["assemble"]


def assemble(net, t, answered: int) -> dict:
    """The ``costs`` part of summary.json from a window's tallies."""
    s = net.scenario
    a, b = t.window
    months = (b - a) / (s.settings.days_per_month * 86400.0)
    trunks = {}
    for i, name in enumerate(net.trunk_names):
        if net.trunk_kind[i] == "pstn":
            minutes = float(t.trunk_seconds[i]) / 60
            trunks[name] = {
                "minutes": minutes,
                "rate_per_minute": net.trunk_rate[i],
                "cost": minutes * net.trunk_rate[i],
            }
    groups = {}
    for g, name in enumerate(net.capacity_group_names):
        pool = net.pools[net.capacity_group_pool[g]]
        minutes = float(t.metered_seconds[g]) / 60
        shared = net.capacity_group_shared[g] * pool.shared_monthly_price * months
        groups[name] = {
            "metered_minutes": minutes,
            "metered_cost": minutes * pool.metered_rate,
            "shared_channels_cost": shared,
            "cost": minutes * pool.metered_rate + shared,
        }
    dids = {}
    for d, number in enumerate(net.did_numbers):
        if net.did_dedicated[d]:
            price = net.pools[net.did_pool[d]].dedicated_monthly_price
            dids[number] = {"dedicated_channels_cost": net.did_dedicated[d] * price * months}
    total = (
        sum(x["cost"] for x in trunks.values())
        + sum(x["cost"] for x in groups.values())
        + sum(x["dedicated_channels_cost"] for x in dids.values())
    )
    return {
        "currency": s.settings.currency,
        "months": months,
        "trunks": trunks,
        "capacity_groups": groups,
        "dids": dids,
        "total": total,
        "per_answered_call": total / answered if answered else None,
    }
