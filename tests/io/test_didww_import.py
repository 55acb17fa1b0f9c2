"""simroute import didww: DIDWW's own documents become scenarios that load and run, field for field."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import pytest
import yaml

import simroute
from simroute.cli import main
from simroute.io.didww import DidwwWarning, import_documents, write_scenario
from simroute.io.jsonapi import DocumentError
from simroute.scenario.schema import load_scenario
from tests.paths import ROOT

HERE = ROOT / "tests" / "fixtures" / "didww"
JAVA = HERE / "java-sdk/src/test/resources/fixtures"
GO = HERE / "go-sdk/testdata/fixtures"
PHP = HERE / "php-sdk-cassettes/tests/fixtures"
TRUNKS = JAVA / "voice_in_trunks/index.json"

# DIDWW's re-routing code ids and their SIP codes, transcribed from the reference table (§4.1), not
# from the importer: 1505 is the ringing timeout.
SIP_OF_ID = dict(
    zip(
        [56, 57, 58, 59, 60, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83]
        + [84, 86, 87, 88, 89, 90, 91, 92, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108],
        [400, 401, 402, 403, 404, 408, 409, 410, 412, 413, 414, 415, 416, 417, 420, 421, 422, 423, 424]
        + [428, 429, 433, 436, 437, 438, 480, 482, 483, 484, 485, 486, 487, 488, 494, 500, 501, 502, 503]
        + [504, 505, 513, 580, 600, 603, 604, 606],
    )
)
SIP_OF_ID[1505] = "ringing_timeout"

RELEVANT = {
    "voice_in_trunks",
    "voice_in_trunk_groups",
    "pops",
    "dids",
    "capacity_pools",
    "shared_capacity_groups",
}


def _types(doc: dict) -> set[str]:
    data = doc.get("data")
    items = data if isinstance(data, list) else [data] if data else []
    return {r.get("type") for r in items + doc.get("included", [])}


def _cassette_bodies():
    """(name, status, body) of every JSON response recorded in the php-sdk cassettes."""
    for path in sorted(PHP.glob("*.yml")):
        for i, entry in enumerate(yaml.safe_load(path.read_text())):
            body = entry["response"].get("body")
            if body:
                yield f"{path.stem}[{i}]", int(entry["response"]["status"]["code"]), json.loads(body)


def _response_fixtures():
    """Every JSON response body of the copied SDK fixtures that holds a resource simroute imports."""
    for path in sorted([*JAVA.rglob("*.json"), *GO.rglob("*.json")]):
        if path.stem.endswith("_request") or "exports" in path.parts:
            continue
        doc = json.loads(path.read_text())
        if isinstance(doc, dict) and _types(doc) & RELEVANT:
            yield pytest.param(path, id=str(path.relative_to(HERE)))


def _quiet_import(docs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DidwwWarning)
        return import_documents(docs)


def _run_checks(scenario: dict, docs: list):
    """The scenario loads and runs a day; each DID gets calls, answered unless it has no channel."""
    loaded = load_scenario(scenario)
    result = simroute.simulate(loaded, seed=1, duration="24h")
    per_did = result.summary["dids"]
    for did in loaded.dids:
        stats = per_did[did.number]
        assert stats["offered"] > 0, did.number  # 240 expected a day at the default 10/h
        no_channel = (
            did.channels_included == 0 and not did.dedicated_channels and not did.shared_capacity_group
        )
        assert (stats["answered"] == 0) == no_channel, (did.number, stats)


@pytest.mark.parametrize("path", list(_response_fixtures()))
def test_every_sdk_fixture_imports_loads_and_runs(path):
    doc = json.loads(path.read_text())
    if "dids/unassign_ecs" in str(path):  # its number is scrubbed upstream ('437xxxxxxxxx'): refused
        with pytest.raises(DocumentError, match=r"/data/attributes/number"):
            import_documents([path])
        return
    docs = [path] if "voice_in_trunks" in _types(doc) else [TRUNKS, path]
    _run_checks(_quiet_import(docs), docs)


@pytest.mark.parametrize(
    "name,status,body", list(_cassette_bodies()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_recorded_sandbox_response_imports_or_is_refused(name, status, body):
    if status >= 400:
        with pytest.raises(DocumentError, match=r"/errors: an API error response.*422"):
            import_documents([body])
        return
    if not _types(body) & RELEVANT:
        return
    docs = [body] if "voice_in_trunks" in _types(body) else [json.loads(TRUNKS.read_text()), body]
    _run_checks(_quiet_import(docs), docs)


# --- field by field --------------------------------------------------------------------------------


def _account() -> list[dict]:
    """A small account in DIDWW's documents: three trunks (two pinned), a group, two DIDs, capacity."""
    sip = json.loads((JAVA / "voice_in_trunks/create_sip_with_rerouting.json").read_text())["data"]

    def trunk(tid, name, priority, weight, cap, timeout, code_ids, pop, prefix):
        t = copy.deepcopy(sip)
        t["id"], t["attributes"]["name"] = tid, name
        t["attributes"].update(priority=priority, weight=weight, capacity_limit=cap, ringing_timeout=timeout)
        t["attributes"]["cli_prefix"] = prefix
        t["attributes"]["configuration"]["attributes"]["rerouting_disconnect_code_ids"] = code_ids
        t["relationships"] = {
            "pop": {"data": {"type": "pops", "id": pop} if pop else None},
            "voice_in_trunk_group": {"data": {"type": "voice_in_trunk_groups", "id": "g1"}},
        }
        return t

    trunks = {
        "data": [
            trunk("t1", "office FRA", 1, 70, 30, 20, [58, 59, 1505], "p-fra", "+"),
            trunk("t2", "office AMS", 1, 30, None, 30, None, "p-ams", None),
            trunk("t3", "backup", 5, 65535, 4, None, [84, 97, 100, 1505], None, "00"),
        ],
        "included": [
            {"id": "p-fra", "type": "pops", "attributes": {"name": "DE, FRA"}},
            {"id": "p-ams", "type": "pops", "attributes": {"name": "NL, AMS"}},
        ],
    }
    group = {
        "data": {
            "id": "g1",
            "type": "voice_in_trunk_groups",
            "attributes": {"name": "office", "capacity_limit": 40},
        }
    }
    did = json.loads((JAVA / "dids/show.json").read_text())["data"]
    d1, d2 = copy.deepcopy(did), copy.deepcopy(did)
    d1["id"], d1["attributes"]["number"] = "d1", "4930123456"
    d1["attributes"].update(capacity_limit=12, channels_included_count=2, dedicated_channels_count=3)
    d1["relationships"] = {
        "voice_in_trunk_group": {"data": {"type": "voice_in_trunk_groups", "id": "g1"}},
        "capacity_pool": {"data": {"type": "capacity_pools", "id": "cp"}},
        "shared_capacity_group": {"data": {"type": "shared_capacity_groups", "id": "scg"}},
    }
    d2["id"], d2["attributes"]["number"] = "d2", "4930999999"
    d2["attributes"].update(capacity_limit=None, channels_included_count=2, dedicated_channels_count=0)
    d2["relationships"] = {"voice_in_trunk": {"data": {"type": "voice_in_trunks", "id": "t3"}}}
    pool = json.loads((JAVA / "capacity_pools/show.json").read_text())["data"]
    pool["id"], pool["relationships"] = "cp", {}
    scg = {
        "id": "scg",
        "type": "shared_capacity_groups",
        "attributes": {"name": "shared DE", "shared_channels_count": 6, "metered_channels_count": 10},
        "relationships": {"capacity_pool": {"data": {"type": "capacity_pools", "id": "cp"}}},
    }
    return [trunks, group, {"data": [d1, d2], "included": [pool, scg]}]


def test_written_scenario_equals_the_documents_field_by_field(tmp_path):
    docs = _account()
    target = write_scenario(import_documents(docs), tmp_path / "account.yaml")
    scenario = load_scenario(target)
    pops = {p["id"]: p["attributes"]["name"] for p in docs[0]["included"]}
    assert [p.name for p in scenario.pops] == list(pops.values())
    trunks = {t.name: t for t in scenario.trunks}
    (group,) = scenario.trunk_groups
    members = {m.trunk: m for m in group.members}
    assert group.name == docs[1]["data"]["attributes"]["name"]
    assert group.capacity_limit == docs[1]["data"]["attributes"]["capacity_limit"]
    for doc in docs[0]["data"]:
        a = doc["attributes"]
        t = trunks[a["name"]]
        assert t.capacity_limit == a["capacity_limit"]
        assert t.ringing_timeout == a["ringing_timeout"]
        assert t.cli_prefix == (a["cli_prefix"] or None)
        pop = doc["relationships"]["pop"]["data"]
        assert t.pop == (pops[pop["id"]] if pop else None)
        assert members[a["name"]].priority == a["priority"]
        assert members[a["name"]].weight == a["weight"]
        ids = a["configuration"]["attributes"]["rerouting_disconnect_code_ids"]
        if ids is None:
            assert t.rerouting_codes is None  # settings.rerouting_codes (didww_default) applies
        else:
            assert set(t.rerouting_codes) == {SIP_OF_ID[i] for i in ids} | {"capacity_limit"}
        assert t.sip_timer_b == a["configuration"]["attributes"]["sip_timer_b"] / 1000
    dids = {d.number: d for d in scenario.dids}
    for doc in docs[2]["data"]:
        a = doc["attributes"]
        d = dids[a["number"]]
        assert d.capacity_limit == a["capacity_limit"]
        assert d.channels_included == a["channels_included_count"]
        assert d.dedicated_channels == a["dedicated_channels_count"]
    assert dids["4930123456"].route.group == "office"
    assert dids["4930123456"].shared_capacity_group == "shared DE"
    assert dids["4930123456"].capacity_pool == "Standard"
    assert dids["4930999999"].route.trunk == "backup"
    (scg,) = scenario.shared_capacity_groups
    assert (scg.shared_channels, scg.metered_channels, scg.capacity_pool) == (6, 10, "Standard")
    (pool,) = scenario.capacity_pools
    assert pool.metered_rate == 1.0 and pool.dedicated_monthly_price == 15.0
    # the header lists the defaults the API does not hold
    head = target.read_text().split("\nname:")[0]
    assert "traffic per DID" in head and "endpoints" in head and "rerouting_disconnect_code_ids null" in head


def test_documents_in_any_order_give_the_same_scenario():
    docs = _account()
    forward = import_documents(docs)
    backward = import_documents(docs[::-1])
    key = lambda s: {k: sorted(map(json.dumps, v)) if isinstance(v, list) else v for k, v in s.items()}  # noqa: E731
    assert key(forward) == key(backward)


def test_a_later_document_updates_an_earlier_one():
    docs = _account()
    update = {"data": {"id": "t1", "type": "voice_in_trunks", "attributes": {"capacity_limit": 99}}}
    scenario = load_scenario(import_documents([*docs, update]))
    assert {t.name: t.capacity_limit for t in scenario.trunks}["office FRA"] == 99


def test_unknown_attributes_warn_once_each():
    docs = _account()
    for t in docs[0]["data"]:
        t["attributes"]["brand_new_field"] = 1
        t["attributes"]["configuration"]["attributes"]["another_new_one"] = True
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import_documents(docs)
    messages = [str(w.message) for w in caught if issubclass(w.category, DidwwWarning)]
    assert sum("'brand_new_field'" in m for m in messages) == 1
    assert sum("'another_new_one'" in m for m in messages) == 1
    assert any("/data/0/attributes/brand_new_field" in m for m in messages)
    assert any("/data/0/attributes/configuration/attributes/another_new_one" in m for m in messages)


def test_a_relationship_to_a_missing_resource_names_it():
    docs = _account()
    docs[0]["data"][0]["relationships"]["pop"]["data"]["id"] = "p-nowhere"
    with pytest.raises(
        DocumentError, match=r"/data/0/relationships/pop/data: .*pops p-nowhere.*in none of the documents"
    ):
        import_documents(docs)


def test_cli_import_then_run(tmp_path, capsys):
    paths = []
    for i, doc in enumerate(_account()):
        paths.append(tmp_path / f"doc{i}.json")
        paths[-1].write_text(json.dumps(doc))
    out = tmp_path / "scenario.yaml"
    assert main(["import", "didww", *map(str, paths), "-o", str(out)]) == 0
    assert main(["run", str(out), "--duration", "2h", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["trunks"]) == {"office FRA", "office AMS", "backup"}


# --- bad input: one line, exit 2 -------------------------------------------------------------------


def _bad(tmp_path, name: str, content: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize(
    "name,content,expected",
    [
        ("truncated.json", (JAVA / "voice_in_trunks/index.json").read_text()[:500], "invalid JSON at line"),
        ("empty.json", "", "the file is empty"),
        ("error.json", (GO / "exports/create_error_unauthorized.json").read_text(), "/errors: an API error"),
        ("list.json", "[1, 2]", "not a JSON:API document: expected an object"),
        ("nodata.json", '{"meta": {}}', "no 'data' member"),
        ("binary.json", b"\x1f\x8b\x08\x00garbage", "not UTF-8"),
        (
            "types.json",
            json.dumps(
                {"data": {"id": "x", "type": "voice_in_trunks", "attributes": {"name": "a", "priority": "1"}}}
            ),
            "/data/attributes/priority: input should be a valid integer",
        ),
        (
            "range.json",
            json.dumps(
                {
                    "data": {
                        "id": "x",
                        "type": "voice_in_trunks",
                        "attributes": {"name": "a", "ringing_timeout": 90},
                    }
                }
            ),
            "/data/attributes/ringing_timeout",
        ),
        (
            "dst.json",
            json.dumps(
                {
                    "data": {
                        "id": "x",
                        "type": "voice_in_trunks",
                        "attributes": {
                            "name": "a",
                            "configuration": {"type": "pstn_configurations", "attributes": {"dst": 4930}},
                        },
                    }
                }
            ),
            "/data/attributes/configuration/attributes/dst: input should be a valid string",
        ),
        (
            "badid.json",
            json.dumps({"data": {"id": 5, "type": "voice_in_trunks"}}),
            "/data/id: input should be a valid string",
        ),
        (
            "codes.json",
            json.dumps(
                {
                    "data": {
                        "id": "x",
                        "type": "voice_in_trunks",
                        "attributes": {
                            "name": "a",
                            "configuration": {
                                "type": "sip_configurations",
                                "attributes": {"rerouting_disconnect_code_ids": [56, 4242]},
                            },
                        },
                    }
                }
            ),
            "/data/attributes/configuration/attributes/rerouting_disconnect_code_ids/1: 4242 is not",
        ),
    ],
)
def test_bad_documents_get_one_line_and_exit_2(tmp_path, capsys, name, content, expected):
    path = _bad(tmp_path, name, content)
    assert main(["import", "didww", str(path), "-o", str(tmp_path / "out.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"simroute: error: {path}: ") and expected in err, err
    assert not (tmp_path / "out.yaml").exists()


def test_a_recorded_422_is_refused():
    bodies = [(n, b) for n, status, b in _cassette_bodies() if status == 422]
    assert bodies, "the cassettes hold a 422 response"
    for _, body in bodies:
        with pytest.raises(DocumentError, match="422"):
            import_documents([body])


def test_a_pools_shared_groups_take_the_pool_from_the_pools_side():
    """capacity_pools/show.json includes its shared capacity groups, linked from the pool only."""
    scenario = load_scenario(_quiet_import([TRUNKS, JAVA / "capacity_pools/show.json"]))
    pool = json.loads((JAVA / "capacity_pools/show.json").read_text())["data"]["attributes"]["name"]
    assert scenario.shared_capacity_groups
    assert {g.capacity_pool for g in scenario.shared_capacity_groups} == {pool}
    assert [p.name for p in scenario.capacity_pools] == [pool]


def test_older_voip_configurations_import_as_sip_trunks_with_a_warning():
    doc = json.loads((JAVA / "voice_in_trunks/create_sip_with_rerouting.json").read_text())
    doc["data"]["attributes"]["configuration"] = {"type": "iax2_configurations", "attributes": {"host": "x"}}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scenario = load_scenario(import_documents([doc]))
    assert scenario.trunks[0].kind == "sip"
    assert any("iax2_configurations trunks are modelled as SIP" in str(w.message) for w in caught)
    doc["data"]["attributes"]["configuration"]["type"] = "carrier_pigeon_configurations"
    with pytest.raises(DocumentError, match=r"/data/attributes/configuration/type: configuration type"):
        import_documents([doc])
