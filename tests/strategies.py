"""Hypothesis strategies: valid scenario dicts that exercise every routing feature at once, small enough
that one example simulates in a few milliseconds.

Every scenario drawn here must load (``tests/engine/test_invariants.py`` checks that too): the strategy is a
model of the schema's valid space, not of its errors (``tests/scenario/test_fuzz.py`` draws those).
"""

from __future__ import annotations

from hypothesis import strategies as st

from simroute.scenario import codes

PRESETS = sorted(codes.PRESETS)
SIP_CODES = sorted(codes.REROUTABLE_SIP_CODES)
NAMES = sorted(codes.NAMED)
#: Caller prefixes the number lists and the caller mixes share, so lists actually match some callers.
PREFIXES = ["1900", "19005", "44", "4930", "49", "7"]


def _probabilities(draw, n: int, total_max: float = 1.0) -> list[float]:
    """``n`` probabilities whose sum is at most ``total_max`` (round numbers: shrinking stays tidy)."""
    raw = [draw(st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.5, 1.0])) for _ in range(n)]
    total = sum(raw)
    if total > total_max:
        raw = [p * total_max / total for p in raw]
    return [min(p, 1.0) for p in raw]


@st.composite
def distributions(draw, low: float = 0.0, high: float = 30.0, positive: bool = False):
    """A time distribution in every written form (a plain duration, each ``dist``), with values in range."""
    lo = max(low, 0.1) if positive else low
    value = st.floats(min_value=lo, max_value=high, allow_nan=False, allow_infinity=False)
    mean = st.floats(min_value=max(lo, 0.1), max_value=high, allow_nan=False, allow_infinity=False)
    kind = draw(
        st.sampled_from(
            [
                "plain",
                "text",
                "exponential",
                "deterministic",
                "lognormal",
                "uniform",
                "empirical",
                "hyperexponential",
            ]
        )
    )
    if kind == "plain":
        return draw(value)
    if kind == "text":
        return f"{draw(st.integers(min_value=int(lo) + (1 if positive else 0), max_value=int(high)))}s"
    if kind == "exponential":
        return {"dist": "exponential", "mean": draw(mean)}
    if kind == "deterministic":
        return {"dist": "deterministic", "value": draw(value)}
    if kind == "lognormal":
        spread = draw(st.sampled_from(["sd", "cv"]))
        return {"dist": "lognormal", "mean": draw(mean), spread: draw(st.floats(0, 3))}
    if kind == "uniform":
        a, b = sorted([draw(value), draw(value)])
        return {"dist": "uniform", "low": a, "high": b}
    if kind == "empirical":
        values = draw(st.lists(value, min_size=1, max_size=4))
        if draw(st.booleans()):
            weights = draw(st.lists(st.integers(0, 3), min_size=len(values), max_size=len(values)))
            if sum(weights) == 0:
                weights[0] = 1
            return {"dist": "empirical", "values": values, "weights": weights}
        return {"dist": "empirical", "values": values}
    n = draw(st.integers(1, 3))
    probs = [1.0 / n] * n
    probs[-1] = 1.0 - sum(probs[:-1])
    return {"dist": "hyperexponential", "means": [draw(mean) for _ in range(n)], "probs": probs}


def rerouting_codes():
    """A trunk's re-routing list: absent, a preset, or a list of DIDWW codes and names."""
    entry = st.one_of(st.sampled_from(SIP_CODES), st.sampled_from(NAMES))
    return st.one_of(st.none(), st.sampled_from(PRESETS), st.lists(entry, max_size=8, unique=True))


@st.composite
def endpoints(draw):
    """What the far side does: channels, answer probability and delay, a response mix, silence."""
    codes_ = draw(st.lists(st.sampled_from(SIP_CODES + [486, 503, 603, 480]), max_size=3, unique=True))
    probs = _probabilities(draw, len(codes_) + 1, total_max=draw(st.sampled_from([0.3, 0.9, 1.0])))
    endpoint = {
        "channels": draw(st.one_of(st.none(), st.integers(1, 4))),
        "answer_probability": draw(st.sampled_from([0.0, 0.3, 0.8, 1.0])),
        "answer_delay": draw(distributions(high=40.0)),
        "responses": dict(zip(codes_, probs[:-1])),
        "no_response": probs[-1],
        "reject_delay": draw(distributions(high=5.0)),
    }
    if draw(st.booleans()):
        endpoint["busy_code"] = draw(st.sampled_from([486, 480, 503, 600]))
    return {k: v for k, v in endpoint.items() if v is not None and draw(st.integers(0, 5)) > 0}


@st.composite
def scenarios(draw, max_trunks: int = 6, max_minutes: int = 20):
    """A valid scenario dict: 1-``max_trunks`` trunks, groups, DIDs, lists, POPs and faults, all small."""
    duration = draw(st.integers(2, max_minutes)) * 60.0
    warmup = draw(st.sampled_from([0.0, 0.0, 60.0, duration / 2]))

    n_pops = draw(st.integers(1, 3))
    shares = [draw(st.sampled_from([0.0, 0.3, 1.0, 2.0])) for _ in range(n_pops)]
    if sum(shares) == 0:
        shares[0] = 1.0
    pops = [{"name": f"P{i}", "ingress_share": s} for i, s in enumerate(shares)]
    pop_names = [p["name"] for p in pops]

    n_lists = draw(st.integers(0, 2))
    number_lists = []
    for i in range(n_lists):
        mode = draw(st.sampled_from(["prefix", "exact"]))
        numbers = draw(
            st.lists(st.sampled_from(PREFIXES + ["490000000001", "1900123456"]), max_size=4, unique=True)
        )
        number_lists.append(
            {
                "name": f"L{i}",
                "mode": mode,
                "default_action": draw(st.sampled_from(["allow", "allow", "reject"])),
                "items": [
                    {"number": n, "action": draw(st.sampled_from(["allow", "reject"]))} for n in numbers
                ],
            }
        )
    list_names = [nl["name"] for nl in number_lists]
    maybe_list = st.one_of(st.none(), st.sampled_from(list_names)) if list_names else st.none()

    n_trunks = draw(st.integers(1, max_trunks))
    trunks = []
    for i in range(n_trunks):
        trunk = {
            "name": f"t{i}",
            "pop": draw(st.one_of(st.none(), st.sampled_from(pop_names))),
            "capacity_limit": draw(st.one_of(st.none(), st.integers(1, 5))),
            "ringing_timeout": draw(st.one_of(st.none(), st.integers(1, 32), st.floats(1.0, 32.0))),
            "rerouting_codes": draw(rerouting_codes()),
            "number_list": draw(maybe_list),
            "cli_prefix": draw(st.one_of(st.none(), st.sampled_from(["", "+", "00", "1"]))),
            "sip_timer_b": draw(st.one_of(st.none(), st.sampled_from([0.5, 2.0, 8.0, 32.0]))),
            "endpoint": draw(st.one_of(st.none(), endpoints(), endpoints())),
        }
        trunks.append({k: v for k, v in trunk.items() if v is not None})
    trunk_names = [t["name"] for t in trunks]

    # each trunk is in one group at most: deal the trunks out, some to no group
    slots = [draw(st.sampled_from([0, 0, 0, 1, 2, -1])) for _ in trunk_names]
    trunk_groups = []
    for g in range(3):
        members = [
            {
                "trunk": name,
                "priority": draw(st.integers(0, 3)),
                "weight": draw(st.sampled_from([0, 1, 2, 70])),
            }
            for name, slot in zip(trunk_names, slots)
            if slot == g
        ]
        if not members:
            continue
        for m in members:  # defaults are valid too
            if draw(st.integers(0, 4)) == 0:
                del m["priority"]
            if draw(st.integers(0, 4)) == 0:
                del m["weight"]
        group = {
            "name": f"g{g}",
            "members": members,
            "capacity_limit": draw(st.one_of(st.none(), st.integers(1, 6))),
            "max_attempts": draw(st.one_of(st.none(), st.integers(1, 6))),
        }
        trunk_groups.append({k: v for k, v in group.items() if v is not None})
    group_names = [g["name"] for g in trunk_groups]

    n_dids = draw(st.integers(1, 3))
    dids = []
    for i in range(n_dids):
        if group_names and draw(st.integers(0, 3)) > 0:
            route = {"group": draw(st.sampled_from(group_names))}
        else:
            route = {"trunk": draw(st.sampled_from(trunk_names))}
        did = {
            "number": f"49{30 + i}{draw(st.integers(0, 999)):03d}",
            "route": route,
            "capacity_limit": draw(st.one_of(st.none(), st.integers(1, 6))),
            "number_list": draw(maybe_list),
            "traffic": draw(traffic(duration)),
        }
        dids.append({k: v for k, v in did.items() if v is not None})

    faults = []
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.floats(0.0, duration))
        length = draw(st.floats(1.0, duration))
        if draw(st.booleans()):
            faults.append(
                {"pop": draw(st.sampled_from(pop_names)), "at": at, "duration": length, "effect": "down"}
            )
            continue
        effect = draw(st.sampled_from(["down", "respond", "channels"]))
        fault = {"trunk": draw(st.sampled_from(trunk_names)), "at": at, "duration": length, "effect": effect}
        if effect == "respond":
            fault["code"] = draw(st.sampled_from([486, 500, 503, 603]))
            fault["probability"] = draw(st.sampled_from([0.1, 0.5, 1.0]))
        elif effect == "channels":
            fault["channels"] = draw(st.integers(0, 3))
        faults.append(fault)

    settings = {}
    if draw(st.booleans()):
        settings = {
            "platform_ringing_timeout": draw(st.integers(1, 40)),
            "inter_pop_delay": draw(st.sampled_from([0.0, 0.04, 2.0])),
            "rerouting_codes": draw(st.sampled_from(PRESETS)),
        }

    scenario = {
        "name": "hypothesis",
        "duration": duration,
        "warmup": warmup,
        "seed": draw(st.integers(0, 2**32)),
        "pops": pops,
        "number_lists": number_lists,
        "trunks": trunks,
        "trunk_groups": trunk_groups,
        "dids": dids,
        "faults": faults,
        "settings": settings,
    }
    return {k: v for k, v in scenario.items() if v not in ([], {})}


@st.composite
def traffic(draw, duration: float):
    """Arrivals that stay modest (at most ~300 calls per DID), as a rate, erlangs or steps within the run."""
    holding = draw(distributions(low=1.0, high=300.0, positive=True))
    kind = draw(st.sampled_from(["calls_per_hour", "erlangs", "steps"]))
    out = {"holding_time": holding}
    if kind == "calls_per_hour":
        out["calls_per_hour"] = draw(st.sampled_from([30, 120, 600, 0]))
    elif kind == "erlangs":
        out["erlangs"] = draw(st.sampled_from([0.5, 2.0, 5.0]))
        out["holding_time"] = {"dist": "exponential", "mean": draw(st.sampled_from([30, 60, 120]))}
    else:
        times = sorted(set(draw(st.lists(st.floats(0.0, duration * 0.99), min_size=1, max_size=4))))
        out["steps"] = [{"at": t, "calls_per_hour": draw(st.sampled_from([0, 60, 600]))} for t in times]
    if kind != "steps" and draw(st.integers(0, 3)) == 0:
        out["profile"] = [draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])) for _ in range(24)]
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(PREFIXES), max_size=3, unique=True))
        shares = _probabilities(draw, len(chosen))
        callers = {"prefix_shares": dict(zip(chosen, shares))}
        if draw(st.booleans()):
            callers["default_prefix"] = draw(st.sampled_from(["49", "1", "44"]))
        if draw(st.booleans()):
            callers["length"] = draw(st.integers(4, 15))
        out["callers"] = callers
    return out
