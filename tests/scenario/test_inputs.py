"""Inputs that used to pass silently with another meaning (issue 11 items 2-4, 11, 12; issue 10 items 10-11).

Each test here failed on the code before the fix: YAML 1.1 number forms rewrote phone numbers, booleans
and text passed as numbers inside nested values, one key in two spellings lost an entry, extreme
distribution parameters gave NaN times, the API took any seed, names could hide or forge text, and the
printed JSON Schema refused every bundled scenario.
"""

from __future__ import annotations

import copy
import decimal
import json
import math
from pathlib import Path

import jsonschema
import numpy as np
import pytest
import yaml

import simroute
from simroute.scenario import safeyaml
from simroute.scenario.distributions import MAX_CV, MAX_TIME
from simroute.scenario.schema import Scenario

from ..commands import run_cli
from ..paths import SCENARIOS

BASE = {
    "name": "inputs",
    "duration": "10m",
    "trunks": [
        {
            "name": "t",
            "capacity_limit": 5,
            "endpoint": {"answer_delay": {"dist": "exponential", "mean": "3s"}, "responses": {486: 0.1}},
        }
    ],
    "dids": [
        {
            "number": "4930111",
            "route": {"trunk": "t"},
            "traffic": {"calls_per_hour": 100, "holding_time": "2m"},
        }
    ],
}


def base() -> dict:
    return copy.deepcopy(BASE)


def refusal(data, label="in.yaml") -> simroute.ScenarioError:
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.load_scenario(data, name=label)
    return info.value


def yaml_refusal(tmp_path: Path, text: str) -> str:
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.load_scenario(path)
    assert len(str(info.value).splitlines()) == 1
    return str(info.value)


def scenario_text(**number_fields: str) -> str:
    """BASE as YAML with the given fields written verbatim (unquoted)."""
    did = number_fields.get("number", '"4930111"')
    dst = number_fields.get("dst")
    trunk = "  - name: t\n" + (f"    kind: pstn\n    dst: {dst}\n" if dst else "")
    return (
        "name: inputs\nduration: 10m\ntrunks:\n"
        + trunk
        + f"dids:\n  - number: {did}\n    route: {{trunk: t}}\n"
        f"    traffic: {{calls_per_hour: {number_fields.get('rate', '100')}, holding_time: 2m}}\n"
    )


# ------------------------------------------------------------------- 11.3: YAML 1.1 number forms


@pytest.mark.parametrize(
    "text, reading",
    [
        ("0201234567", "33896823"),  # octal
        ("1:30", "90"),  # sexagesimal
        ("0x1F", "31"),
        ("0b101", "5"),
        ("1_000", "1000"),
        ("+4930111", "4930111"),
        ("089", "text"),  # not octal: YAML reads it as the text 089, a phone number would keep it
    ],
)
def test_unquoted_numbers_other_than_plain_decimal_are_refused_saying_to_quote(tmp_path, text, reading):
    for field in ("number", "dst"):
        message = yaml_refusal(tmp_path, scenario_text(**{field: text}))
        assert "quote it" in message and reading in message and "line " in message, message


@pytest.mark.parametrize("text", ["1:30", "0x10", "1_00", "0o17", "010"])
def test_numeric_fields_take_plain_decimal_only(tmp_path, text):
    message = yaml_refusal(tmp_path, scenario_text(rate=text))
    assert "quote it" in message or "calls_per_hour" in message, message


def test_plain_unquoted_phone_numbers_are_read_as_their_text(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(scenario_text(number="4930111", dst="4915112345"), encoding="utf-8")
    scenario = simroute.load_scenario(path)
    assert scenario.dids[0].number == "4930111" and scenario.trunks[0].dst == "4915112345"


def test_number_list_items_prefixes_and_cli_prefix_unquoted():
    data = base()
    data["number_lists"] = [{"name": "l", "items": [{"number": 1900, "action": "reject"}]}]
    data["trunks"][0].update(number_list="l", cli_prefix=49)
    data["dids"][0]["traffic"]["callers"] = {"prefix_shares": {1900: 0.1}, "default_prefix": 49}
    s = simroute.load_scenario(data)
    assert s.number_lists[0].items[0].number == "1900" and s.trunks[0].cli_prefix == "49"
    assert s.dids[0].traffic.callers.prefix_shares == {"1900": 0.1}
    assert s.dids[0].traffic.callers.default_prefix == "49"


def test_list_items_in_yaml_1_1_forms_are_refused(tmp_path):
    text = (
        scenario_text() + "number_lists:\n  - name: l\n    items:\n      - {number: 0201, action: reject}\n"
    )
    assert "quote it" in yaml_refusal(tmp_path, text)


# -------------------------------------------------------------- 11.4: nested booleans, two spellings

NESTED_NUMBERS = {
    "profile": lambda d, v: d["dids"][0]["traffic"].update(profile=[1.0] * 23 + [v]),
    "responses": lambda d, v: d["trunks"][0]["endpoint"].update(responses={486: v}),
    "cv": lambda d, v: d["trunks"][0]["endpoint"].update(
        answer_delay={"dist": "lognormal", "mean": "3s", "cv": v}
    ),
    "probs": lambda d, v: d["trunks"][0]["endpoint"].update(
        answer_delay={"dist": "hyperexponential", "means": [1, 2], "probs": [v, 0]}
    ),
    "weights": lambda d, v: d["trunks"][0]["endpoint"].update(
        answer_delay={"dist": "empirical", "values": [1, 2], "weights": [v, 1]}
    ),
    "pbx.agents": lambda d, v: d["trunks"][0].update(
        kind="pbx", endpoint=None, pbx={"agents": [2] * 23 + [v]}
    ),
    "pbx.agents constant": lambda d, v: d["trunks"][0].update(kind="pbx", endpoint=None, pbx={"agents": v}),
    "weight": lambda d, v: (
        d.update(trunk_groups=[{"name": "g", "members": [{"trunk": "t", "weight": v}]}]),
        d["dids"][0].update(route={"group": "g"}),
    ),
    "capacity_limit": lambda d, v: d["trunks"][0].update(capacity_limit=v),
}


@pytest.mark.parametrize("where", list(NESTED_NUMBERS))
@pytest.mark.parametrize("bad", [True, False, "1", "40"], ids=["yes", "no", "text-1", "text-40"])
def test_booleans_and_text_are_not_numbers_at_any_depth(where, bad):
    data = base()
    NESTED_NUMBERS[where](data, bad)
    data["trunks"][0] = {k: v for k, v in data["trunks"][0].items() if v is not None}
    error = refusal(data)
    field = where.split()[0].split(".")[-1]
    assert any(field in path for path, _ in error.problems), error.problems
    words = "got true" if bad is True else "got false" if bad is False else "got the text"
    assert any(words in message for _, message in error.problems), error.problems


def test_the_same_values_as_numbers_load():
    """The check above refuses the spelling, not the value: 1 and 0 as numbers are fine everywhere."""
    for where, fn in NESTED_NUMBERS.items():
        data = base()
        fn(data, 1 if where not in ("responses", "probs") else 0.5 if where == "responses" else 1)
        data["trunks"][0] = {k: v for k, v in data["trunks"][0].items() if v is not None}
        simroute.load_scenario(data)


def test_one_code_in_two_spellings_is_refused():
    data = base()
    data["trunks"][0]["endpoint"]["responses"] = {486: 0.5, "486": 0.6}
    error = refusal(data)
    assert any("responses" in p and "486 is given twice" in m for p, m in error.problems), error.problems


def test_codes_spelled_as_text_once_are_read_as_codes():
    data = base()
    data["trunks"][0]["endpoint"]["responses"] = {"486": 0.5}  # as JSON writes a mapping's keys
    assert simroute.load_scenario(data).trunks[0].endpoint.responses == {486: 0.5}


def test_one_prefix_in_two_spellings_is_refused():
    data = base()
    data["dids"][0]["traffic"]["callers"] = {"prefix_shares": {49: 0.5, "49": 0.3}}
    error = refusal(data)
    assert any("prefix_shares" in p and "49 is given twice" in m for p, m in error.problems), error.problems


def test_two_spellings_in_a_yaml_file_are_refused(tmp_path):
    text = scenario_text().replace(
        "  - name: t\n", "  - name: t\n    endpoint: {responses: {486: 0.5, '486': 0.4}}\n"
    )
    message = yaml_refusal(tmp_path, text)
    assert "486 is given twice" in message, message


# --------------------------------------------------------- 11.2: extreme distribution parameters


@pytest.mark.parametrize(
    "dist",
    [
        {"dist": "lognormal", "mean": "6s", "cv": 1e200},
        {"dist": "lognormal", "mean": "6s", "cv": MAX_CV * 1.01},
        {"dist": "lognormal", "mean": 1e-300, "sd": "1s"},
        {"dist": "exponential", "mean": 1e300},
        {"dist": "uniform", "low": 0, "high": 1e300},
        {"dist": "empirical", "values": [1, 1e300]},
        {"dist": "hyperexponential", "means": [1, 1e300], "probs": [0.5, 0.5]},
        {"dist": "deterministic", "value": MAX_TIME * 2},
        1e300,
    ],
    ids=lambda d: d["dist"] if isinstance(d, dict) else "constant",
)
def test_distribution_parameters_that_could_overflow_are_refused(dist):
    data = base()
    data["trunks"][0]["endpoint"]["answer_delay"] = dist
    error = refusal(data)
    assert any("answer_delay" in p for p, _ in error.problems), error.problems


def test_the_largest_allowed_parameters_give_finite_samples():
    from simroute.scenario.distributions import Lognormal

    for dist in (
        Lognormal(dist="lognormal", mean=MAX_TIME, cv=MAX_CV),
        Lognormal(dist="lognormal", mean=1e-300, cv=MAX_CV),
    ):
        assert np.isfinite(dist.sample(np.random.default_rng(1), 1_000_000)).all()


def test_the_engine_refuses_a_non_finite_sample():
    """Whatever gets past the ranges (a model built in Python, say), the run stops with a clear error."""
    from simroute.engine.streams import sampler
    from simroute.scenario.distributions import Lognormal

    dist = Lognormal.model_construct(dist="lognormal", mean_=6.0, cv=1e200, sd=None)
    draw = sampler(dist, np.random.default_rng(1))
    with pytest.raises(simroute.SimrouteError, match="lognormal.*too extreme"):
        draw()


def test_the_audited_engine_checks_every_scheduled_time():
    from simroute.engine.core import AuditedEngine, CapacityViolation
    from simroute.engine.network import compile_network

    scenario = simroute.load_scenario(base())
    engine = AuditedEngine(compile_network(scenario), 1, 600.0)
    engine.env._queue.append((math.nan, 1, -1, None))  # as a NaN delay would schedule an event
    with pytest.raises(CapacityViolation, match="scheduled"):
        engine._check()


# ----------------------------------------------------------------------- 11.11: the API's arguments


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"seed": -1}, "seed"),
        ({"seed": "abc"}, "seed"),
        ({"seed": 2**64}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"seed": True}, "seed"),
        ({"duration": "-5s"}, "duration"),
        ({"duration": math.nan}, "duration"),
        ({"records": "bogus"}, "records"),
        ({"confidence": 1.5}, "confidence"),
        ({"confidence": math.nan}, "confidence"),
        ({"confidence": 0}, "confidence"),
        ({"replications": 0}, "replications"),
        ({"replications": -2}, "replications"),
        ({"replications": 2.5}, "replications"),
        ({"batches": 1}, "batches"),
        ({"jobs": 0}, "jobs"),
    ],
)
def test_api_arguments_are_checked_naming_the_argument(kwargs, argument):
    with pytest.raises(simroute.ScenarioError) as info:
        simroute.simulate(base(), **kwargs)
    assert any(path == argument for path, _ in info.value.problems), info.value.problems


def test_numpy_scalars_and_decimals_in_a_scenario_are_their_value():
    data = base()
    data["trunks"][0]["capacity_limit"] = np.int64(5)
    data["dids"][0]["traffic"]["calls_per_hour"] = decimal.Decimal("100.5")
    data["seed"] = np.uint32(7)
    s = simroute.load_scenario(data)
    assert s.trunks[0].capacity_limit == 5 and type(s.trunks[0].capacity_limit) is int
    assert s.dids[0].traffic.calls_per_hour == 100.5 and s.seed == 7
    r = simroute.simulate(data, seed=np.int64(3), duration="1m")
    assert r.summary["seed"] == 3


def test_numpy_booleans_are_refused_as_numbers():
    data = base()
    data["trunks"][0]["capacity_limit"] = np.bool_(True)
    error = refusal(data)
    assert any("capacity_limit" in p and "got true" in m for p, m in error.problems)
    with pytest.raises(simroute.ScenarioError, match="seed"):
        simroute.simulate(base(), seed=np.bool_(True))


# ---------------------------------------------------------------------- 11.12: terminal safety


@pytest.mark.parametrize(
    "name",
    ["   ", "\t", "a\u202eb", "a\u200bb", "\u2066x\u2069", "x\u200d", "\ufeffx", "a\x1b[31mb", "a\nb"],
    ids=["spaces", "tab", "rlo", "zwsp", "isolate", "zwj", "bom", "ansi", "newline"],
)
def test_invisible_and_whitespace_only_names_are_refused(name):
    for where in ("scenario", "trunk"):
        data = base()
        if where == "scenario":
            data["name"] = name
        else:
            data["trunks"][0]["name"] = name
            data["dids"][0]["route"]["trunk"] = name
        error = refusal(data)
        assert any(p.endswith("name") for p, _ in error.problems), error.problems
        assert all(c.isprintable() for c in str(error).replace("\n", "")), repr(str(error))


@pytest.mark.parametrize(
    "file_name", ["evil\nsimroute: error: forged.yaml", "ansi\x1b[2J\x1b[31m.yaml", "bidi\u202eLMY.yaml"]
)
def test_a_file_name_cannot_forge_lines_or_reach_the_terminal_raw(tmp_path, file_name):
    path = tmp_path / file_name
    path.write_text("name: x\nduration: 1h\n", encoding="utf-8")  # no trunks, no dids: refused
    code, out, err = run_cli("run", path)
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert all(line.startswith("simroute: error: ") for line in lines), lines
    assert not any("forged" in line and line.startswith("simroute: error: forged") for line in lines)
    assert all(c.isprintable() for c in err.replace("\n", "")), repr(err)
    missing = tmp_path / (file_name + ".missing")
    code, _, err = run_cli("run", missing)
    assert code == 2 and len(err.splitlines()) == 1 and all(c.isprintable() for c in err[:-1]), repr(err)


# ------------------------------------------------------------ 10.10: the JSON Schema = the loader


def printed_schema() -> dict:
    code, out, _ = run_cli("schema")
    assert code == 0
    return json.loads(out)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_bundled_scenario_validates_against_the_printed_schema(path):
    validator = jsonschema.Draft202012Validator(printed_schema())
    data = json.loads(json.dumps(safeyaml.load_file(path)))  # what an editor sees: JSON's keys are text
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []
    simroute.load_scenario(path)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d["trunks"][0].update(capacity_limit="10"),
        lambda d: d["trunks"][0].update(capacity_limit=True),
        lambda d: d.update(duration="15 min"),
        lambda d: d.update(duration="0s"),
        lambda d: d["dids"][0].update(number="+4930"),
        lambda d: d["trunks"][0]["endpoint"].update(answer_delay="2 s"),
        lambda d: d.update(surprise=1),
    ],
    ids=["text-number", "bool-number", "spaced-duration", "zero-duration", "plus-number", "dist", "unknown"],
)
def test_the_schema_and_the_loader_refuse_alike(mutate):
    data = base()
    mutate(data)
    schema_errors = list(jsonschema.Draft202012Validator(printed_schema()).iter_errors(data))
    assert schema_errors, "the schema accepted it"
    refusal(data)


def test_the_schema_accepts_the_forms_the_loader_accepts():
    data = base()
    data["dids"][0]["number"] = 4930111  # unquoted phone number
    data["trunks"][0]["endpoint"]["answer_delay"] = "2.5s"  # a constant written as a duration
    data["trunks"][0]["endpoint"]["reject_delay"] = 1  # a constant in seconds
    data["trunks"][0]["endpoint"]["responses"] = {"486": 0.1}
    jsonschema.validate(data, printed_schema(), cls=jsonschema.Draft202012Validator)
    simroute.load_scenario(data)


# ----------------------------------------------------------------------------- 10.11: strict types


def test_every_bad_item_of_a_list_is_reported():
    data = base()
    data["trunks"][0]["rerouting_codes"] = [408, "nope", 999, 480, "also-not", True]
    error = refusal(data)
    bad = [m for p, m in error.problems if p == "trunks[0].rerouting_codes"]
    assert [m.split(":")[0] for m in bad] == ["entry 1", "entry 2", "entry 4", "entry 5"], error.problems
    data = base()
    data["dids"][0]["traffic"]["profile"] = [1, "x", 1, True] + [1] * 20
    paths = [p for p, _ in refusal(data).problems]
    assert "dids[0].traffic.profile[1]" in paths and "dids[0].traffic.profile[3]" in paths, paths


def test_scenario_json_schema_is_json_schema():
    jsonschema.Draft202012Validator.check_schema(Scenario.model_json_schema(by_alias=True))


def test_yaml_sexagesimal_in_a_duration_is_refused(tmp_path):
    text = scenario_text().replace("duration: 10m", "duration: 1:30")
    assert "quote it" in yaml_refusal(tmp_path, text)


def test_safe_loader_quoted_and_tagged_forms_are_kept():
    assert safeyaml.load("a: '0201234567'\nb: !!int 0x1F\nc: -12\nd: 0.5\n") == {
        "a": "0201234567",
        "b": 31,
        "c": -12,
        "d": 0.5,
    }
    assert yaml.safe_load("a: 0201234567")["a"] == 33896823  # what YAML 1.1 itself does
