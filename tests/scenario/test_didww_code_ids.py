"""Re-routing codes written as DIDWW's own ids (56 for 400 ... 108 for 606, 1505 ringing timeout)."""

import pytest

import simroute
from simroute.errors import ScenarioError
from simroute.scenario import codes

from ..builders import two_trunks


def test_the_id_table_covers_every_reroutable_code_once():
    sip = [v for k, v in codes.DIDWW_REROUTING_IDS.items() if k != 1505]
    assert sorted(sip) == sorted(codes.REROUTABLE_SIP_CODES)  # 46 SIP codes, each one id
    assert codes.DIDWW_REROUTING_IDS[56] == 400 and codes.DIDWW_REROUTING_IDS[108] == 606
    assert codes.DIDWW_REROUTING_IDS[90] == 486 and codes.DIDWW_REROUTING_IDS[100] == 503
    assert codes.DIDWW_REROUTING_IDS[1505] == codes.RINGING_TIMEOUT


@pytest.mark.parametrize("sip", sorted(codes.REROUTABLE_SIP_CODES))
def test_an_id_means_its_sip_code(sip):
    ident = next(k for k, v in codes.DIDWW_REROUTING_IDS.items() if v == sip)
    assert codes.reroute_causes([ident]) == codes.reroute_causes([sip])


def test_1505_means_ringing_timeout():
    assert codes.reroute_causes([1505]) == codes.reroute_causes(["ringing_timeout"])
    # the SDK default list as DIDWW's API returns it: every id but 57 (401) and 100 (503)
    sdk_default = [k for k in codes.DIDWW_REROUTING_IDS if k not in (57, 100)]
    preset = codes.reroute_causes(codes.PRESETS["didww_default"] - {"capacity_limit"})
    assert codes.reroute_causes(sdk_default) == preset


@pytest.mark.parametrize("written", [[90], [486]])
def test_a_scenario_with_ids_routes_as_with_sip_codes(written):
    """The primary answers 486 to every call: id 90 re-routes exactly as 486 does."""
    scenario = two_trunks(primary={"rerouting_codes": written, "endpoint": {"responses": {486: 1.0}}})
    k = simroute.simulate(scenario, seed=3).summary["kpis"]
    assert k["completion_rate"] == 1.0


def test_an_unknown_id_is_refused_with_the_field_named():
    scenario = two_trunks(primary={"rerouting_codes": [61]})  # 405: not selectable in DIDWW
    with pytest.raises(ScenarioError, match=r"trunks\[0\]\.rerouting_codes.*61"):
        simroute.load_scenario(scenario)
