"""Number lists with DIDWW's length rules, a trunk's cli_format applied before its list, and a
trunk-list reject that re-routes only when the trunk's rerouting_codes name number_list_reject."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import simroute
from simroute.engine.routing import NumberListMatcher, format_cli
from simroute.scenario import codes

from ..builders import two_trunks


def test_an_item_qualifies_only_within_its_lengths():
    m = NumberListMatcher("prefix", [("1900", False, 10, 11), ("19", True, None, None)], True)
    assert not m.allows("1900123456")  # 10 digits: the 1900 item qualifies
    assert m.allows("19001234")  # 8 digits: it does not, the shorter prefix 19 wins
    assert m.allows("190012345678")  # 12 digits: neither bound
    exact = NumberListMatcher("exact", [("4930123", False, 8, None)], True)
    assert exact.allows("4930123")  # 7 digits, below the item's minimum


@given(
    st.lists(
        st.tuples(
            st.text("0123456789", min_size=1, max_size=5),
            st.booleans(),
            st.none() | st.integers(0, 12),
            st.none() | st.integers(0, 12),
        ),
        max_size=10,
        unique_by=lambda item: item[0],
    ),
    st.text("0123456789", min_size=1, max_size=12),
    st.booleans(),
)
@settings(max_examples=200)
def test_length_rules_equal_brute_force(items, number, default):
    m = NumberListMatcher("prefix", items, default)
    hits = [
        (p, allows)
        for p, allows, lo, hi in items
        if number.startswith(p) and (lo or 0) <= len(number) <= (100 if hi is None else hi)
    ]
    expected = max(hits, key=lambda h: len(h[0]))[1] if hits else default
    assert m.allows(number) == expected


@pytest.mark.parametrize(
    "number, fmt, cc, shown",
    [
        ("493012345", "raw", "49", "493012345"),
        ("493012345", "e164", "49", "493012345"),
        ("03012345", "e164", "49", "493012345"),  # a national number gets the DID's country code
        ("+493012345", "e164", "49", "493012345"),
        ("00493012345", "e164", "49", "493012345"),
        ("493012345", "local", "49", "03012345"),  # own country: national prefix 0
        ("12125550100", "local", "49", "0012125550100"),  # another country: international prefix 00
        ("12125550100", "local", "1", "02125550100"),
    ],
)
def test_cli_format(number, fmt, cc, shown):
    assert format_cli(number, fmt, cc) == shown


def listed(cli_format=None, rerouting=None, items=None, default_action="allow"):
    """Callers all from Berlin (4930...); the primary trunk's list rejects the local form 030."""
    scenario = two_trunks(
        primary={
            "number_list": "berlin",
            **({"cli_format": cli_format} if cli_format else {}),
            **({"rerouting_codes": rerouting} if rerouting else {}),
        }
    )
    scenario["number_lists"] = [
        {
            "name": "berlin",
            "mode": "prefix",
            "default_action": default_action,
            "items": items or [{"number": "030", "action": "reject"}],
        }
    ]
    scenario["dids"][0]["traffic"]["callers"] = {"default_prefix": "4930", "length": 11}
    return scenario


def test_the_list_reads_the_formatted_cli():
    local = simroute.simulate(listed("local")).summary["kpis"]
    raw = simroute.simulate(listed("raw")).summary["kpis"]
    assert local["outcomes"] == {"number_list_reject": local["offered"]}  # 030... rejected
    assert raw["completion_rate"] == 1.0  # 4930... does not start with 030


def test_length_rules_in_a_scenario():
    items = [{"number": "4930", "action": "reject", "number_min_length": 12}]
    k = simroute.simulate(listed(items=items)).summary["kpis"]
    assert k["completion_rate"] == 1.0  # callers have 11 digits: the item does not qualify
    items = [{"number": "4930", "action": "reject", "number_max_length": 11}]
    k = simroute.simulate(listed(items=items)).summary["kpis"]
    assert k["outcomes"] == {"number_list_reject": k["offered"]}


@pytest.mark.parametrize(
    "rerouting, goes_on",
    [("didww_default", False), ("all", False), (["number_list_reject"], True), ([486, 59], False)],
)
def test_a_trunk_list_reject_goes_on_only_when_the_trunk_names_it(rerouting, goes_on):
    """Today a trunk-list reject always ended the call; 403 (id 59) is the far end's 403, not the list."""
    result = simroute.simulate(listed("local", rerouting))
    k = result.summary["kpis"]
    if goes_on:
        assert k["completion_rate"] == 1.0
        assert result.summary["trunks"]["secondary"]["answered"] == k["offered"]
    else:
        assert k["outcomes"] == {"number_list_reject": k["offered"]}
    rows = result.attempts
    first = rows[rows["routing_attempt"] == 1]
    assert (first["cause"] == codes.NUMBER_LIST_REJECT).all() and set(first["trunk"]) == {"primary"}


def test_number_list_reject_is_in_no_preset():
    for preset in codes.PRESETS.values():
        assert codes.NUMBER_LIST_REJECT not in codes.reroute_causes(preset)
