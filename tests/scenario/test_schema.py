"""The scenario file: bundled scenarios load, durations and distributions parse, and every mistake a
planner can make is reported as a one-line ScenarioError naming the file and the field path."""

import copy
import math
import re

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simroute
from simroute.scenario.distributions import Deterministic, Exponential, Lognormal
from simroute.scenario.units import parse_duration

from ..paths import SCENARIOS

QUICKSTART = SCENARIOS / "quickstart.yaml"
QUICKSTART_DATA = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))


def quickstart():
    """A fresh, mutable copy of quickstart.yaml as plain data."""
    return copy.deepcopy(QUICKSTART_DATA)


_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _parts(path):
    return [int(index) if index else name for name, index in _TOKEN.findall(path)]


def setp(data, path, value):
    """Set ``data`` at a field path written as simroute reports it (``trunks[1].capacity_limit``)."""
    *head, last = _parts(path)
    for part in head:
        data = data[part]
    data[last] = value


def delp(data, path):
    *head, last = _parts(path)
    for part in head:
        data = data[part]
    del data[last]


def load_text(tmp_path, text, name="scenario.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path, simroute.load_scenario(path)


def scenario_error(tmp_path, data, name="broken.yaml"):
    """Write ``data`` as a YAML file, load it by path, and return (path label, the ScenarioError)."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.load_scenario(path)
    return str(path), info.value


def assert_one_line_per_problem(label, error):
    text = str(error)
    lines = text.splitlines()
    assert error.problems, "a ScenarioError must carry at least one problem"
    assert len(lines) == len(error.problems), text
    for line in lines:
        assert line.startswith(f"{label}: "), line
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "pydantic" not in text.lower()  # no library internals or URLs for the user to decode


# --------------------------------------------------------------------------------------- bundled files


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_scenario_loads(path):
    scenario = simroute.load_scenario(path)
    assert isinstance(scenario, simroute.Scenario)
    assert scenario.name == path.stem
    assert 0 <= scenario.warmup < scenario.duration


def test_bundled_scenarios_exist():
    names = {p.stem for p in SCENARIOS.glob("*.yaml")}
    assert {"quickstart", "erlang-b", "weighted-pair", "failover-chain", "pop-outage", "spam-list"} <= names


def test_quickstart_fields_come_through():
    s = simroute.load_scenario(QUICKSTART)
    assert s.name == "quickstart"
    assert s.duration == 14400.0
    assert s.warmup == 1800.0
    assert s.seed == 7
    assert [p.name for p in s.pops] == ["FRA", "AMS"]
    assert [p.ingress_share for p in s.pops] == [0.6, 0.4]

    trunks = {t.name: t for t in s.trunks}
    assert list(trunks) == ["pbx-fra", "pbx-ams", "backup-sip"]
    fra = trunks["pbx-fra"]
    assert fra.capacity_limit == 30
    assert fra.ringing_timeout == 20.0 and isinstance(fra.ringing_timeout, float)
    assert fra.pop == "FRA"
    assert fra.number_list == "spam"
    assert fra.rerouting_codes == [408, 480, 500, 502, 503, 504, "ringing_timeout", "capacity_limit"]
    assert fra.endpoint.channels == 30
    assert fra.endpoint.responses == {486: 0.02, 603: 0.01}
    assert isinstance(fra.endpoint.answer_delay, Lognormal)
    assert fra.endpoint.answer_delay.mean == 6.0
    assert fra.endpoint.answer_delay.sd == 4.0
    assert trunks["pbx-ams"].rerouting_codes == "didww_default"
    assert trunks["backup-sip"].ringing_timeout == 30.0
    assert trunks["backup-sip"].endpoint.answer_probability == 0.9

    (office,) = s.trunk_groups
    assert office.name == "office"
    assert office.capacity_limit == 55
    assert [(m.trunk, m.priority, m.weight) for m in office.members] == [
        ("pbx-fra", 1, 70),
        ("pbx-ams", 1, 30),
        ("backup-sip", 2, 1),
    ]

    (did,) = s.dids
    assert did.number == "493012345678" and isinstance(did.number, str)
    assert did.route.group == "office" and did.route.trunk is None
    assert did.capacity_limit == 60
    assert did.traffic.calls_per_hour == 500
    assert isinstance(did.traffic.holding_time, Exponential)
    assert did.traffic.holding_time.mean == 180.0
    assert did.traffic.base_rate == pytest.approx(500 / 3600)
    assert did.traffic.callers.prefix_shares == {"1900": 0.02, "447700900": 0.01}

    assert [(f.pop, f.trunk, f.at, f.duration, f.effect) for f in s.faults] == [
        ("FRA", None, 7200.0, 900.0, "down"),
        (None, "pbx-ams", 10800.0, 600.0, "respond"),
    ]
    assert s.faults[1].code == 503 and s.faults[1].probability == 0.5

    assert [item.number for item in s.number_lists[0].items] == ["1900", "447700900"]


def test_load_accepts_a_dict_and_returns_a_scenario_unchanged():
    s = simroute.load_scenario(quickstart())
    assert simroute.load_scenario(s) is s
    assert s == simroute.load_scenario(QUICKSTART)


def test_unquoted_phone_numbers_are_text(tmp_path):
    text = QUICKSTART.read_text(encoding="utf-8").replace('"493012345678"', "493012345678")
    assert "number: 493012345678" in text
    _, s = load_text(tmp_path, text)
    assert s.dids[0].number == "493012345678"


def test_defaults_fill_in_a_minimal_scenario():
    s = simroute.load_scenario(
        {
            "name": "min",
            "duration": "1h",
            "trunks": [{"name": "t"}],
            "dids": [{"number": "1", "route": {"trunk": "t"}}],
        }
    )
    assert s.warmup == 0.0 and s.seed == 0
    assert [p.name for p in s.pops] == ["AUTO"]
    assert s.trunks[0].kind == "sip" and s.trunks[0].capacity_limit is None
    assert s.settings.platform_ringing_timeout == 30.0


# --------------------------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("90s", 90.0),
        ("10m", 600.0),
        ("2h", 7200.0),
        ("250ms", 0.25),
        (45, 45.0),
        (1.5, 1.5),
        ("1d", 86400.0),
        ("5min", 300.0),
        ("0.5h", 1800.0),
        ("30", 30.0),
        (".5s", 0.5),
        (0, 0.0),
    ],
)
def test_parse_duration(text, seconds):
    value = parse_duration(text)
    assert value == seconds
    assert type(value) is float


@pytest.mark.parametrize(
    "bad",
    [
        "ten",
        "-5s",
        "5 parsecs",
        True,
        False,
        math.nan,
        math.inf,
        -math.inf,
        -5,
        -0.5,
        "",
        "5x",
        "1h30m",
        None,
        [5],
        # one grammar (issue 10.11): a number straight before one short unit, nothing else
        " 2 h ",
        "15 min",
        "1 d",
        "20 minutes",
        "2hours",
        "5.",
        "1e3s",
        "+5s",
        "5s ",
    ],
)
def test_bad_durations_raise_value_error_naming_the_value(bad):
    with pytest.raises(ValueError) as info:
        parse_duration(bad)
    message = str(info.value)
    assert "Traceback" not in message
    shown = type(bad).__name__ if isinstance(bad, (list, type(None))) else repr(bad)
    assert shown in message, message


def test_integer_too_large_for_a_float_is_a_value_error():
    with pytest.raises(ValueError, match="finite|large"):
        parse_duration(10**400)


def test_integer_duration_too_large_for_a_float_is_a_scenario_error():
    data = quickstart()
    data["duration"] = 10**400
    with pytest.raises(simroute.ScenarioError, match=r"duration"):
        simroute.load_scenario(data, name="q.yaml")


# ----------------------------------------------------------------------------------------- distributions


def test_plain_durations_are_constants():
    data = quickstart()
    setp(data, "trunks[0].endpoint.answer_delay", "6s")
    setp(data, "trunks[1].endpoint.answer_delay", 2.5)
    setp(data, "dids[0].traffic.holding_time", "3m")
    s = simroute.load_scenario(data)
    delay0, delay1 = s.trunks[0].endpoint.answer_delay, s.trunks[1].endpoint.answer_delay
    holding = s.dids[0].traffic.holding_time
    assert isinstance(delay0, Deterministic) and delay0.value == 6.0
    assert isinstance(delay1, Deterministic) and delay1.value == 2.5
    assert isinstance(holding, Deterministic) and holding.mean == 180.0
    assert np.all(holding.sample(np.random.default_rng(0), 5) == 180.0)


def test_endpoint_delays_default_to_zero_constants():
    data = quickstart()
    delp(data, "trunks[0].endpoint.answer_delay")
    s = simroute.load_scenario(data)
    assert isinstance(s.trunks[0].endpoint.answer_delay, Deterministic)
    assert s.trunks[0].endpoint.answer_delay.value == 0.0
    assert s.trunks[0].endpoint.reject_delay.value == 0.0


@pytest.mark.parametrize("spread", [{"sd": "4s"}, {"cv": 2 / 3}], ids=["sd", "cv"])
def test_lognormal_by_sd_or_by_cv(spread):
    data = quickstart()
    setp(data, "trunks[0].endpoint.answer_delay", {"dist": "lognormal", "mean": "6s", **spread})
    dist = simroute.load_scenario(data).trunks[0].endpoint.answer_delay
    assert isinstance(dist, Lognormal)
    assert dist.mean == 6.0
    draws = dist.sample(np.random.default_rng(1), 400_000)
    assert draws.min() > 0
    assert draws.mean() == pytest.approx(6.0, rel=0.01)
    assert draws.std() == pytest.approx(4.0, rel=0.03)


@pytest.mark.parametrize("spread", [{}, {"sd": "4s", "cv": 0.5}], ids=["neither", "both"])
def test_lognormal_needs_exactly_one_of_sd_or_cv(tmp_path, spread):
    data = quickstart()
    setp(data, "trunks[0].endpoint.answer_delay", {"dist": "lognormal", "mean": "6s", **spread})
    label, error = scenario_error(tmp_path, data)
    assert f"{label}: trunks[0].endpoint.answer_delay: " in str(error)
    assert "sd or cv" in str(error)
    assert_one_line_per_problem(label, error)


def test_unknown_distribution_names_the_field(tmp_path):
    data = quickstart()
    setp(data, "dids[0].traffic.holding_time", {"dist": "gamma", "mean": "3m"})
    label, error = scenario_error(tmp_path, data)
    assert f"{label}: dids[0].traffic.holding_time" in str(error)
    assert_one_line_per_problem(label, error)


# ---------------------------------------------------------------------------------------------- errors


def _second_group(data):
    data["trunk_groups"].append({"name": "other", "members": [{"trunk": "pbx-ams"}]})


def _group_named_like_trunk(data):
    setp(data, "trunk_groups[0].name", "pbx-fra")
    setp(data, "dids[0].route.group", "pbx-fra")


def _unordered_steps(data):
    traffic = data["dids"][0]["traffic"]
    del traffic["calls_per_hour"]
    traffic["steps"] = [{"at": "1h", "calls_per_hour": 100}, {"at": "30m", "calls_per_hour": 200}]


def _equal_steps(data):
    traffic = data["dids"][0]["traffic"]
    del traffic["calls_per_hour"]
    traffic["steps"] = [{"at": "1h", "calls_per_hour": 100}, {"at": "60m", "calls_per_hour": 200}]


MISTAKES = [
    # id, mutation, field path reported (None: the whole file), words the message must contain
    ("capacity-zero", lambda d: setp(d, "trunks[1].capacity_limit", 0), "trunks[1].capacity_limit", ["1"]),
    ("unknown-key", lambda d: setp(d, "trunks[0].capcity", 5), "trunks[0].capcity", ["unknown field"]),
    ("unknown-top-key", lambda d: setp(d, "durration", "1h"), "durration", ["unknown field"]),
    (
        "dangling-group",
        lambda d: setp(d, "dids[0].route.group", "ofice"),
        "dids[0].route.group",
        ["'ofice'", "office"],
    ),
    (
        "unknown-member-trunk",
        lambda d: setp(d, "trunk_groups[0].members[2].trunk", "backup"),
        "trunk_groups[0].members[2].trunk",
        ["'backup'", "backup-sip"],
    ),
    ("unknown-fault-pop", lambda d: setp(d, "faults[0].pop", "LHR"), "faults[0].pop", ["'LHR'", "FRA"]),
    ("unknown-fault-trunk", lambda d: setp(d, "faults[1].trunk", "nope"), "faults[1].trunk", ["'nope'"]),
    ("unknown-trunk-pop", lambda d: setp(d, "trunks[1].pop", "PAR"), "trunks[1].pop", ["'PAR'"]),
    (
        "unknown-number-list",
        lambda d: setp(d, "trunks[0].number_list", "spam2"),
        "trunks[0].number_list",
        ["'spam2'"],
    ),
    (
        "duplicate-trunk",
        lambda d: setp(d, "trunks[1].name", "pbx-fra"),
        "trunks[1].name",
        ["duplicate", "'pbx-fra'", "trunks[0]"],
    ),
    ("trunk-in-two-groups", _second_group, "trunk_groups[1].members[0].trunk", ["'pbx-ams'", "'office'"]),
    ("group-named-like-trunk", _group_named_like_trunk, "trunk_groups[0].name", ["'pbx-fra'", "trunk"]),
    ("pstn-without-dst", lambda d: setp(d, "trunks[0].kind", "pstn"), "trunks[0]", ["needs dst"]),
    ("pbx-without-block", lambda d: setp(d, "trunks[0].kind", "pbx"), "trunks[0]", ["needs a pbx"]),
    ("dst-on-sip", lambda d: setp(d, "trunks[0].dst", "447700900123"), "trunks[0]", ["for kind pstn"]),
    (
        "ringing-timeout-40s",
        lambda d: setp(d, "trunks[0].ringing_timeout", "40s"),
        "trunks[0].ringing_timeout",
        ["1 to 32", "40"],
    ),
    (
        "ringing-timeout-bad-text",
        lambda d: setp(d, "trunks[0].ringing_timeout", "twenty"),
        "trunks[0].ringing_timeout",
        ["'twenty'"],
    ),
    (
        "rerouting-405",
        lambda d: d["trunks"][0]["rerouting_codes"].append(405),
        "trunks[0].rerouting_codes",
        ["405", "re-routing"],
    ),
    (
        "rerouting-unknown-name",
        lambda d: d["trunks"][0]["rerouting_codes"].append("busy"),
        "trunks[0].rerouting_codes",
        ["unknown re-routing name", "'busy'"],
    ),
    (
        "responses-over-one",
        lambda d: setp(d, "trunks[0].endpoint.responses", {486: 0.7, 603: 0.5}),
        "trunks[0].endpoint",
        ["more than 1"],
    ),
    (
        "response-not-sip-error",
        lambda d: setp(d, "trunks[0].endpoint.responses", {200: 0.1}),
        "trunks[0].endpoint.responses",
        ["200"],
    ),
    ("warmup-equals-duration", lambda d: setp(d, "warmup", "4h"), "warmup", ["shorter", "duration"]),
    ("warmup-longer", lambda d: setp(d, "warmup", "5h"), "warmup", ["shorter"]),
    (
        "rate-and-erlangs",
        lambda d: setp(d, "dids[0].traffic.erlangs", 10),
        "dids[0].traffic",
        ["calls_per_hour", "erlangs"],
    ),
    ("no-rate", lambda d: delp(d, "dids[0].traffic.calls_per_hour"), "dids[0].traffic", ["none"]),
    ("steps-decreasing", _unordered_steps, "dids[0].traffic", ["increasing"]),
    ("steps-repeated", _equal_steps, "dids[0].traffic", ["increasing"]),
    (
        "profile-23",
        lambda d: setp(d, "dids[0].traffic.profile", [1.0] * 23),
        "dids[0].traffic.profile",
        ["24", "23"],
    ),
    (
        "profile-negative",
        lambda d: setp(d, "dids[0].traffic.profile", [1.0] * 23 + [-1.0]),
        "dids[0].traffic.profile[23]",
        [],
    ),
    ("route-both", lambda d: setp(d, "dids[0].route.trunk", "pbx-fra"), "dids[0].route", ["exactly one"]),
    ("did-not-digits", lambda d: setp(d, "dids[0].number", "+49301234"), "dids[0].number", []),
    (
        "negative-holding",
        lambda d: setp(d, "dids[0].traffic.holding_time.mean", "-3m"),
        "dids[0].traffic.holding_time.mean",
        ["'-3m'"],
    ),
    (
        "probability-above-one",
        lambda d: setp(d, "trunks[2].endpoint.answer_probability", 1.5),
        "trunks[2].endpoint.answer_probability",
        [],
    ),
    ("pop-fault-respond", lambda d: setp(d, "faults[0].effect", "respond"), "faults[0]", ["POP"]),
    ("seed-negative", lambda d: setp(d, "seed", -1), "seed", []),
    ("no-trunks", lambda d: setp(d, "trunks", []), "trunks", []),
    (
        "prefix-shares-over-one",
        lambda d: setp(d, "dids[0].traffic.callers.prefix_shares", {"1900": 0.8, "44": 0.3}),
        "dids[0].traffic.callers",
        ["more than 1"],
    ),
]


@pytest.mark.parametrize("mutate, path, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_mistakes_name_the_file_and_the_field(tmp_path, mutate, path, words):
    data = quickstart()
    mutate(data)
    label, error = scenario_error(tmp_path, data)
    text = str(error)
    assert error.source == label
    if path is None:
        assert any(p == "" for p, _ in error.problems), error.problems
        assert text.startswith(f"{label}: ")
    else:
        assert any(p == path for p, _ in error.problems), error.problems
        assert f"{label}: {path}: " in text
    for word in words:
        assert word in text, text
    assert_one_line_per_problem(label, error)


def test_dict_source_is_labelled_by_name_or_dict():
    data = quickstart()
    setp(data, "trunks[1].capacity_limit", 0)
    with pytest.raises(simroute.ScenarioError, match=r"^my-plan\.yaml: trunks\[1\]\.capacity_limit: "):
        simroute.load_scenario(data, name="my-plan.yaml")
    with pytest.raises(simroute.ScenarioError, match=r"^<dict>: trunks\[1\]\.capacity_limit: "):
        simroute.load_scenario(data)


def test_scenario_error_is_a_value_error_and_a_simroute_error():
    with pytest.raises(ValueError):
        simroute.load_scenario({"name": "x"})
    assert issubclass(simroute.ScenarioError, simroute.SimrouteError)


def test_broken_yaml_names_the_file_and_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\ntrunks:\n  - name: a\n   capacity_limit: 3\n", encoding="utf-8")
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.load_scenario(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert "YAML" in text
    assert "line 4" in text
    assert_one_line_per_problem(str(path), info.value)


def test_unclosed_bracket_names_a_line(tmp_path):
    path = tmp_path / "unclosed.yaml"
    path.write_text("name: x\ntrunks: [a, b\n", encoding="utf-8")
    with pytest.raises(simroute.ScenarioError, match=r"line \d+") as info:
        simroute.load_scenario(path)
    assert_one_line_per_problem(str(path), info.value)


def test_a_yaml_list_is_not_a_scenario(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- name: x\n- name: y\n", encoding="utf-8")
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.load_scenario(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert "mapping" in text and "list" in text
    assert_one_line_per_problem(str(path), info.value)


def test_a_missing_file(tmp_path):
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.load_scenario(path)
    assert str(info.value) == f"{path}: file not found"
    assert info.value.source == str(path)


def test_a_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.load_scenario(path)
    assert str(info.value).startswith(f"{path}: ")
    assert_one_line_per_problem(str(path), info.value)


# ---------------------------------------------------------------------------------- all problems reported


def test_every_field_problem_is_reported(tmp_path):
    data = quickstart()
    setp(data, "trunks[1].capacity_limit", 0)
    setp(data, "trunk_groups[0].max_attempts", 99)
    setp(data, "trunks[0].ringing_timeout", "40s")
    label, error = scenario_error(tmp_path, data)
    paths = {p for p, _ in error.problems}
    assert {"trunks[1].capacity_limit", "trunk_groups[0].max_attempts", "trunks[0].ringing_timeout"} <= paths
    for path in ("trunks[1].capacity_limit", "trunk_groups[0].max_attempts", "trunks[0].ringing_timeout"):
        assert f"{label}: {path}: " in str(error)
    assert_one_line_per_problem(label, error)


def test_every_reference_problem_is_reported(tmp_path):
    data = quickstart()
    setp(data, "faults[0].pop", "LHR")
    setp(data, "dids[0].route.group", "nope")
    setp(data, "trunk_groups[0].members[1].trunk", "ghost")
    label, error = scenario_error(tmp_path, data)
    paths = {p for p, _ in error.problems}
    assert {"faults[0].pop", "dids[0].route.group", "trunk_groups[0].members[1].trunk"} <= paths
    assert_one_line_per_problem(label, error)


def test_erlangs_with_zero_holding_time_is_reported_not_a_crash():
    data = quickstart()
    traffic = data["dids"][0]["traffic"]
    del traffic["calls_per_hour"]
    traffic.update(erlangs=5, holding_time=0)
    data.update(duration="1h", warmup=0)
    with pytest.raises(simroute.SimrouteError, match=r"holding_time"):
        simroute.simulate(simroute.load_scenario(data, name="q.yaml"))


# -------------------------------------------------------------------------------------------- hypothesis


def _leaves(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _leaves(value, prefix + (index,))
    else:
        yield prefix, node


def _is_numberish(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:  # durations written with units ("4h") and digit strings (phone numbers) take numbers too
        parse_duration(value)
        return True
    except ValueError:
        return False


NUMERIC_FIELDS = [path for path, value in _leaves(QUICKSTART_DATA) if _is_numberish(value)]


def _render(parts):
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def test_numeric_fields_cover_the_interesting_ones():
    rendered = {_render(p) for p in NUMERIC_FIELDS}
    assert {
        "duration",
        "warmup",
        "seed",
        "trunks[0].capacity_limit",
        "trunks[0].ringing_timeout",
        "trunk_groups[0].members[0].weight",
        "dids[0].traffic.calls_per_hour",
        "faults[1].probability",
    } <= rendered


BAD_NUMBERS = st.one_of(
    st.integers(max_value=-1),
    st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 0, 0.0]),
    st.floats(min_value=1e9, max_value=1e308),
    st.integers(min_value=2**31, max_value=10**300),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(NUMERIC_FIELDS), value=BAD_NUMBERS)
def test_bad_numbers_load_or_raise_scenario_error(field, value):
    data = quickstart()
    target = data
    for part in field[:-1]:
        target = target[part]
    target[field[-1]] = value
    try:
        simroute.load_scenario(data, name="fuzz.yaml")
    except simroute.ScenarioError as error:
        where = _render(field)
        assert error.problems
        assert_one_line_per_problem("fuzz.yaml", error)
        # the blame lands on the mutated field or on something containing it (a whole-object check)
        assert any(
            where == p or where.startswith(p + ".") or where.startswith(p + "[") or p == ""
            for p, _ in error.problems
        ), (where, error.problems)
