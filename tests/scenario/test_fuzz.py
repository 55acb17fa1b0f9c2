"""Bad input, generated and collected: every kind gets a ScenarioError with one line per problem that names
the file (and the field where there is one), exit code 2 from the command line, never a traceback, and
never more memory than the input deserves.

Generated (about 4,700 inputs per run, mostly through ``simroute.load_scenario`` for speed, a sample through
``simroute.cli.main``): random bytes, random YAML-ish text, mutations of a scenario that uses every
feature (wrong types, negative / zero / huge / NaN / infinite numbers, unknown keys, duplicate and dangling
names), and YAML built to hurt (alias bombs, deep nesting, several documents, duplicate keys, tags). The
nastiest are also files under ``tests/corpus/``, each run through the command line.
"""

from __future__ import annotations

import copy
import math
import os
import re
import tracemalloc
import typing

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter, ValidationError

import simroute
from simroute.scenario import safeyaml
from simroute.scenario.schema import Scenario

from ..commands import run_cli
from ..paths import CORPUS

FUZZ = settings(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

#: A scenario that uses every feature, so that mutations reach every field.
RICH = {
    "name": "rich",
    "description": "every feature",
    "duration": "20m",
    "warmup": "2m",
    "seed": 5,
    "replications": 1,
    "settings": {
        "platform_ringing_timeout": "25s",
        "inter_pop_delay": 0.05,
        "rerouting_codes": "conservative",
    },
    "pops": [{"name": "FRA", "region": "eu", "ingress_share": 0.6}, {"name": "AMS", "ingress_share": 0.4}],
    "number_lists": [
        {
            "name": "spam",
            "mode": "prefix",
            "default_action": "allow",
            "items": [{"number": "1900", "action": "reject"}, {"number": "19005", "action": "allow"}],
        },
        {
            "name": "vip",
            "mode": "exact",
            "default_action": "reject",
            "items": [{"number": "4930123", "action": "allow"}],
        },
    ],
    "trunks": [
        {
            "name": "pbx-fra",
            "kind": "sip",
            "pop": "FRA",
            "capacity_limit": 5,
            "ringing_timeout": "20s",
            "rerouting_codes": [408, 480, 503, "ringing_timeout", "capacity_limit"],
            "number_list": "spam",
            "cli_prefix": "+",
            "sip_timer_b": "8s",
            "endpoint": {
                "channels": 4,
                "answer_probability": 0.9,
                "answer_delay": {"dist": "lognormal", "mean": "6s", "sd": "4s"},
                "responses": {486: 0.05, 603: 0.01},
                "no_response": 0.02,
                "reject_delay": {"dist": "uniform", "low": 0.1, "high": 2},
                "busy_code": 486,
            },
        },
        {
            "name": "pbx-ams",
            "pop": "AMS",
            "capacity_limit": 3,
            "rerouting_codes": "didww_default",
            "endpoint": {
                "answer_delay": {"dist": "exponential", "mean": "5s"},
                "reject_delay": {"dist": "empirical", "values": [1, 2, 3], "weights": [1, 2, 1]},
            },
        },
        {
            "name": "backup",
            "ringing_timeout": 30,
            "endpoint": {"answer_delay": {"dist": "hyperexponential", "means": [2, 20], "probs": [0.9, 0.1]}},
        },
    ],
    "trunk_groups": [
        {
            "name": "office",
            "capacity_limit": 6,
            "max_attempts": 3,
            "members": [
                {"trunk": "pbx-fra", "priority": 1, "weight": 70},
                {"trunk": "pbx-ams", "priority": 1, "weight": 30},
                {"trunk": "backup", "priority": 2, "weight": 1},
            ],
        }
    ],
    "dids": [
        {
            "number": "493012345678",
            "route": {"group": "office"},
            "capacity_limit": 8,
            "number_list": "spam",
            "traffic": {
                "calls_per_hour": 200,
                "holding_time": {"dist": "exponential", "mean": "3m"},
                "profile": [1.0] * 24,
                "callers": {
                    "prefix_shares": {"1900": 0.02, "19005": 0.01},
                    "default_prefix": "49",
                    "length": 12,
                },
            },
        },
        {
            "number": "4930999",
            "route": {"trunk": "backup"},
            "traffic": {
                "steps": [{"at": 0, "calls_per_hour": 30}, {"at": "10m", "calls_per_hour": 60}],
                "holding_time": "90s",
            },
        },
        {
            "number": "4930888",
            "route": {"trunk": "pbx-ams"},
            "traffic": {"erlangs": 1.5, "holding_time": {"dist": "deterministic", "value": "2m"}},
        },
    ],
    "faults": [
        {"pop": "FRA", "at": "5m", "duration": "2m", "effect": "down"},
        {
            "trunk": "pbx-ams",
            "at": "8m",
            "duration": "3m",
            "effect": "respond",
            "code": 503,
            "probability": 0.5,
        },
        {"trunk": "pbx-fra", "at": "12m", "duration": "2m", "effect": "channels", "channels": 1},
        {"trunk": "backup", "at": "15m", "duration": "1m", "effect": "down"},
    ],
}

#: References: (path of the name field, the table it must name).
REFERENCES = [
    (("trunks", 0, "pop"), "POP"),
    (("trunks", 0, "number_list"), "number list"),
    (("trunk_groups", 0, "members", 1, "trunk"), "trunk"),
    (("dids", 0, "route", "group"), "trunk group"),
    (("dids", 1, "route", "trunk"), "trunk"),
    (("dids", 0, "number_list"), "number list"),
    (("faults", 0, "pop"), "POP"),
    (("faults", 1, "trunk"), "trunk"),
]
NAMED_LISTS = ["pops", "number_lists", "trunks", "trunk_groups", "dids"]


def rich():
    return copy.deepcopy(RICH)


def render(parts) -> str:
    """A path as simroute reports it: ``trunks[1].capacity_limit``."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def walk(node, prefix=()):
    """Every (path, value) in a scenario dict, subtrees included."""
    yield prefix, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, prefix + (index,))


ALL_PATHS = [p for p, _ in walk(RICH) if p]
MAPPING_PATHS = [p for p, v in walk(RICH) if isinstance(v, dict)]
NUMERIC_PATHS = [
    p
    for p, v in walk(RICH)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and p[-1] not in ("number",)
]


def get(data, path):
    for part in path:
        data = data[part]
    return data


def put(data, path, value):
    get(data, path[:-1])[path[-1]] = value


def assert_clean_error(error: simroute.ScenarioError, label: str) -> None:
    """One line per problem, each naming the file; no traceback, no library internals."""
    text = str(error)
    assert error.problems, "a ScenarioError carries at least one problem"
    assert error.source == label
    lines = text.splitlines()
    assert len(lines) == len(error.problems), text[:2000]
    for (field, message), line in zip(error.problems, lines):
        assert line.startswith(f"{label}: "), line[:300]
        assert message and "\n" not in message and "\r" not in message, (field, message[:300])
    assert "Traceback" not in text and 'File "' not in text


def load_error(source, label=None) -> simroute.ScenarioError | None:
    """Load ``source``; return its ScenarioError, or None when it loaded. Anything else fails the test."""
    try:
        simroute.load_scenario(source, **({"name": label} if label else {}))
    except simroute.ScenarioError as error:
        assert_clean_error(error, label or str(source))
        return error
    return None


def peak_memory(action):
    """``action()``'s result and the most memory (bytes) Python allocated while it ran."""
    tracemalloc.start()
    try:
        result = action()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def blames(error, path) -> bool:
    """The error names ``path`` or a field containing it (a whole-object check), or the whole file."""
    where = render(path)
    return any(
        p == ""
        or where == p
        or where.startswith(p + ".")
        or where.startswith(p + "[")
        or p.startswith(where + ".")
        or p.startswith(where + "[")
        for p, _ in error.problems
    )


def assert_cli_refuses(path) -> str:
    code, out, err = run_cli("run", path)
    assert code == 2, (code, err[-2000:])
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert lines and lines[0].startswith(f"simroute: error: {path}: "), err[:500]
    assert all(str(path) in line for line in lines), err[:2000]
    return err


def test_rich_scenario_is_valid_and_runs():
    """The base of every mutation below must itself be valid (or the mutations prove nothing)."""
    assert load_error(rich(), "rich.yaml") is None
    result = simroute.simulate(rich(), audit=True)
    assert result.summary["kpis"]["offered"] > 20
    assert len(NUMERIC_PATHS) > 40 and len(MAPPING_PATHS) > 30


# ------------------------------------------------------------------------------ random bytes and text


@settings(FUZZ, max_examples=400)
@given(blob=st.binary(max_size=2000))
def test_random_bytes_are_a_clean_error(tmp_path, blob):
    path = tmp_path / "random.yaml"
    path.write_bytes(blob)
    assert load_error(path) is not None


YAMLISH = st.lists(
    st.sampled_from(
        [
            "name",
            "trunks",
            "dids",
            ":",
            ": ",
            "-",
            "- ",
            "\n",
            "  ",
            "\t",
            "[",
            "]",
            "{",
            "}",
            ",",
            "&a ",
            "*a",
            "*b",
            "&b ",
            "<<: ",
            "!!str ",
            "!!int ",
            "!!float ",
            "!!binary ",
            "!!set ",
            "!!python/object:os.system ",
            "!foo ",
            "? ",
            "---\n",
            "...\n",
            "%YAML 1.1\n",
            "'",
            '"',
            "#",
            "|",
            ">",
            "1e400",
            ".nan",
            ".inf",
            "-.inf",
            "0x",
            "0o",
            "1:2:3",
            "2024-13-45",
            "~",
            "null",
            "yes",
            "no",
            "\x00",
            "\x1b",
            "\ufeff",
            "é",
            "\U0001f600",
            "999999999999999999999",
            "duration: ",
            "capacity_limit: ",
            "route: {group: x}",
            "number: ",
            "-1",
            "0",
            "1e308",
            "\\",
            "%",
            "@",
            "`",
        ]
    ),
    max_size=60,
).map("".join)


@settings(FUZZ, max_examples=400)
@given(text=YAMLISH)
def test_random_yaml_like_text_is_a_clean_error(tmp_path, text):
    path = tmp_path / "yamlish.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    assert load_error(path) is not None  # none of these can be a scenario (no trunks, no dids)


# ----------------------------------------------------------------------------------- mutated scenarios

BAD_VALUES = st.one_of(
    st.sampled_from(
        [
            None,
            True,
            False,
            "",
            " ",
            "x" * 5000,
            -1,
            0,
            -0.0,
            1e308,
            -1e308,
            10**30,
            -(10**30),
            math.nan,
            math.inf,
            -math.inf,
            [],
            {},
            [1, 2],
            {"a": 1},
            "nan",
            "inf",
            "-inf",
            "1e999",
            "-5s",
            "ten",
            "1h2m",
            [None],
            {None: 1},
            {1.5: 2},
            2**63,
            2**64,
            32768,
            65536,
            0.5,
            1.5,
            1e-320,
        ]
    ),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
)


def mutate(data, kind, path, value, name):
    """Apply one mutation; returns the path that must be blamed when the mutation is always an error."""
    if kind == "set":
        put(data, path, value)
        return None
    if kind == "delete":
        del get(data, path[:-1])[path[-1]]
        return None
    if kind == "unknown_key":
        get(data, path)[name] = value
        return path + (name,)
    if kind == "duplicate":
        table = data[path[0]]
        table.append(copy.deepcopy(table[0]))
        return (path[0], len(table) - 1)
    if kind == "dangling":
        ref, _ = path
        put(data, ref, "no-such-" + name)
        return ref
    raise AssertionError(kind)


MUTATIONS = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(ALL_PATHS), BAD_VALUES, st.just("")),
    st.tuples(st.just("delete"), st.sampled_from(ALL_PATHS), st.none(), st.just("")),
    st.tuples(
        st.just("unknown_key"),
        st.sampled_from(MAPPING_PATHS),
        BAD_VALUES,
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12),
    ),
    st.tuples(st.just("duplicate"), st.sampled_from([(t,) for t in NAMED_LISTS]), st.none(), st.just("")),
    st.tuples(st.just("dangling"), st.sampled_from(REFERENCES), st.none(), st.text(min_size=1, max_size=8)),
)


MUST_FAIL = ("unknown_key", "duplicate", "dangling")


@settings(FUZZ, max_examples=1500)
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=3))
def test_mutated_scenarios_load_or_name_the_field(mutations):
    """Wrong values anywhere either load (a value that happens to be valid) or name the field; an unknown
    key, a duplicate name or a dangling reference is always refused and always named."""
    data = rich()
    must_fail = []
    # the mutations that are always errors go last, so that a later one cannot undo them
    for kind, path, value, name in sorted(mutations, key=lambda m: m[0] in MUST_FAIL):
        try:
            if kind == "unknown_key" and (name in known_keys() or not isinstance(get(data, path), dict)):
                continue
            blame = mutate(data, kind, path, value, name)
        except (
            KeyError,
            IndexError,
            TypeError,
            AttributeError,
        ):  # an earlier mutation removed or replaced the spot
            continue
        if blame is not None:
            must_fail.append(blame)
    error = load_error(data, "fuzz.yaml")
    event("refused" if error is not None else "loaded")
    if must_fail:
        assert error is not None, f"accepted a scenario with {must_fail}"
    if must_fail and all(m[0] in MUST_FAIL for m in mutations):
        assert any(blames(error, p) for p in must_fail), (must_fail, error.problems[:5])


@settings(FUZZ, max_examples=300)
@given(mutations=st.lists(MUTATIONS, min_size=1, max_size=2), flow=st.booleans())
def test_mutated_scenario_files_load_or_name_the_file(tmp_path, mutations, flow):
    """The same mutations written as YAML files: the path reaches the message, the YAML reader holds."""
    data = rich()
    for kind, path, value, name in mutations:
        try:
            mutate(data, kind, path, value, name)
        except (KeyError, IndexError, TypeError, AttributeError):
            continue
    path = tmp_path / "mutated.yaml"
    try:
        text = yaml.safe_dump(data, sort_keys=False, default_flow_style=flow, allow_unicode=True)
    except yaml.YAMLError:
        return
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    event("refused" if load_error(path) is not None else "loaded")


@settings(FUZZ, max_examples=100)
@given(
    mutation=st.one_of(
        st.tuples(
            st.just("set"),
            st.sampled_from(NUMERIC_PATHS),
            st.sampled_from([math.nan, math.inf, -math.inf]),
            st.just(""),
        ),
        st.tuples(
            st.just("unknown_key"), st.sampled_from(MAPPING_PATHS), st.integers(), st.just("zzz_unknown")
        ),
        st.tuples(st.just("duplicate"), st.sampled_from([(t,) for t in NAMED_LISTS]), st.none(), st.just("")),
        st.tuples(st.just("dangling"), st.sampled_from(REFERENCES), st.none(), st.just("ghost")),
    )
)
def test_command_line_refuses_bad_files_with_exit_2(tmp_path, mutation):
    """A sample through ``simroute run``: exit code 2, the file named on every line, nothing on stdout."""
    data = rich()
    kind, path, value, name = mutation
    mutate(data, kind, path, value, name)
    target = tmp_path / "bad.yaml"
    target.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    err = assert_cli_refuses(target)
    if kind == "set":
        assert render(path) in err or any(render(path).startswith(p) for p in ("pops", "trunks")), err[:500]


# --------------------------------------------------------------------------------- NaN and infinity


@pytest.mark.parametrize("path", NUMERIC_PATHS, ids=render)
def test_nan_and_infinity_are_refused_in_every_numeric_field(path):
    for bad in (math.nan, math.inf, -math.inf):
        data = rich()
        put(data, path, bad)
        error = load_error(data, "nan.yaml")
        assert error is not None, f"{render(path)} accepted {bad}"
        assert blames(error, path), (render(path), error.problems)


@pytest.mark.parametrize("text", [".nan", ".NaN", ".inf", "-.inf", "+.inf", ".Inf"])
def test_yaml_nan_and_infinity_literals_are_refused(tmp_path, text):
    for field in ("duration", "seed"):
        body = yaml.safe_dump(rich(), sort_keys=False).replace(f"\n{field}: ", f"\n{field}: {text} #", 1)
        path = tmp_path / "nan.yaml"
        path.write_text(body, encoding="utf-8")
        error = load_error(path)
        assert error is not None and blames(error, (field,)), (field, text)


def _models(root=Scenario) -> list[type[BaseModel]]:
    """Every pydantic model reachable from the scenario's fields."""
    seen: list[type[BaseModel]] = []

    def visit(tp):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp not in seen:
                seen.append(tp)
                for f in tp.model_fields.values():
                    visit(f.annotation)
            return
        for arg in typing.get_args(tp):
            visit(arg)

    visit(root)
    return seen


def known_keys() -> set[str]:
    """Every field name (and alias) of every model: an 'unknown key' mutation must avoid these."""
    if not _KNOWN:
        for model in _models():
            for name, info in model.model_fields.items():
                _KNOWN.add(name)
                if info.alias:
                    _KNOWN.add(info.alias)
    return _KNOWN


_KNOWN: set[str] = set()


def _holds_non_finite(value) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(_holds_non_finite(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_non_finite(v) for v in value)
    if isinstance(value, BaseModel):
        return any(_holds_non_finite(getattr(value, k)) for k in type(value).model_fields)
    return False


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_no_field_of_any_model_accepts_nan_or_infinity():
    """Field by field, on every model of the schema (new fields included): NaN and +-inf in any shape
    (a number, in a list, as a dict value, as a number text) never validate to a non-finite value."""
    accepted = []
    for model in _models():
        for name, info in model.model_fields.items():
            adapter = TypeAdapter(typing.Annotated[info.annotation, info])
            for bad in (math.nan, math.inf, -math.inf):
                for shape in (bad, [bad], [bad] * 24, {1: bad}, {"1": bad}, str(bad), f"{bad}s"):
                    try:
                        value = adapter.validate_python(shape)
                    except (ValidationError, ValueError, TypeError):
                        continue
                    if _holds_non_finite(value):
                        accepted.append(f"{model.__name__}.{name} <- {shape!r}")
    assert len(_models()) > 10
    assert accepted == [], accepted


# ---------------------------------------------------------------------------- unknown, duplicate, dangling


@pytest.mark.parametrize("name", ["\r", "a\nb", "x\u2028y"], ids=["cr", "lf", "u2028"])
def test_a_name_with_a_line_break_stays_on_one_line(name):
    data = rich()
    data["trunks"][0]["name"] = name  # the group, a DID and a fault now name a trunk that is gone
    error = load_error(data, "names.yaml")
    assert error is not None


@pytest.mark.parametrize("table", NAMED_LISTS)
def test_duplicate_names_are_refused(table):
    data = rich()
    data[table].append(copy.deepcopy(data[table][0]))
    error = load_error(data, "dup.yaml")
    assert error is not None
    assert blames(error, (table, len(data[table]) - 1)), error.problems


@pytest.mark.parametrize("ref, what", REFERENCES, ids=lambda r: render(r) if isinstance(r, tuple) else r)
def test_dangling_references_name_the_field_and_what_is_missing(ref, what):
    data = rich()
    put(data, ref, "ghost")
    error = load_error(data, "dangling.yaml")
    assert error is not None
    assert (render(ref), error.problems[0][1]) in error.problems
    assert f"no {what} named 'ghost'" in str(error)


@pytest.mark.parametrize("path", MAPPING_PATHS, ids=render)
def test_unknown_keys_are_refused_everywhere(path):
    data = rich()
    get(data, path)["zzz_unknown"] = 1
    error = load_error(data, "unknown.yaml")
    assert error is not None, render(path)
    assert any("zzz_unknown" in p for p, _ in error.problems), error.problems


# --------------------------------------------------------------------------- YAML built to hurt


def billion_laughs(levels: int, fanout: int) -> str:
    lines = [f"l0: &l0 [{', '.join(['lol'] * fanout)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fanout)}]")
    return "\n".join(lines) + "\n"


@settings(FUZZ, max_examples=120)
@given(
    levels=st.integers(2, 12), fanout=st.integers(2, 12), anchor_kind=st.sampled_from(["seq", "map", "merge"])
)
def test_alias_expansion_is_bounded(tmp_path, levels, fanout, anchor_kind):
    """An alias counts as everything it repeats: past the limit the file is refused, quickly and cheaply."""
    if anchor_kind == "seq":
        text = billion_laughs(levels, fanout)
    elif anchor_kind == "map":
        text = "m0: &m0 {a: lol, b: lol}\n" + "".join(
            f"m{i}: &m{i} {{{', '.join(f'k{j}: *m{i - 1}' for j in range(fanout))}}}\n"
            for i in range(1, levels)
        )
    else:
        text = "m0: &m0 {a: lol, b: lol}\n" + "".join(
            f"m{i}: &m{i} {{<<: *m{i - 1}, {', '.join(f'k{j}: *m{i - 1}' for j in range(fanout))}}}\n"
            for i in range(1, levels)
        )
    expanded = _expanded_size(text)
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    error, peak = peak_memory(lambda: load_error(path))
    assert peak < 20 * 2**20, f"{peak / 2**20:.1f} MiB for a {len(text)}-byte file"
    assert error is not None  # never a scenario
    if expanded > safeyaml.LIMITS.max_nodes:
        assert "YAML too large" in str(error), (expanded, str(error)[:300])
    else:
        assert "YAML too large" not in str(error)


def _expanded_size(text: str) -> int:
    """Nodes of the document with every alias expanded, counted on PyYAML's node graph (memoised)."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    memo: dict[int, int] = {}

    def size(node):
        if id(node) in memo:
            return memo[id(node)]
        if isinstance(node, yaml.ScalarNode):
            n = 1
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(size(c) for c in node.value)
        else:
            n = 1 + sum(size(k) + size(v) for k, v in node.value)
        memo[id(node)] = n
        return n

    return size(root)


@settings(FUZZ, max_examples=100)
@given(
    depth=st.integers(1, 3000),
    style=st.sampled_from(["flow_list", "flow_map", "block_map", "block_list"]),
    closed=st.booleans(),
)
def test_nesting_depth_is_bounded(tmp_path, depth, style, closed):
    if style == "flow_list":
        text = "[" * depth + ("]" * depth if closed else "")
    elif style == "flow_map":
        text = "{a: " * depth + "1" + ("}" * depth if closed else "")
    elif style == "block_map":
        text = "".join("  " * i + "a:\n" for i in range(depth)) + "  " * depth + "1\n"
    else:
        text = "".join("  " * i + "-\n" for i in range(depth)) + "  " * depth + "1\n"
    path = tmp_path / "deep.yaml"
    path.write_text(text, encoding="utf-8")
    error = load_error(path)
    assert error is not None
    if depth > safeyaml.LIMITS.max_depth:
        # our limit, or PyYAML's own (6.0.4 has one) when the parser meets it first
        assert "YAML too deep" in str(error) or "maximum nesting depth" in str(error)


STRUCTURAL = [
    ("multi_document", "name: a\n---\nname: b\n", "second YAML document"),
    ("explicit_documents", "--- \nname: a\n...\n---\nname: b\n", "second YAML document"),
    ("duplicate_top_key", "name: a\nduration: 1h\nname: b\n", "duplicate key 'name'"),
    (
        "duplicate_nested_key",
        "trunks:\n  - name: a\n    capacity_limit: 1\n    capacity_limit: 2\n",
        "duplicate key",
    ),
    ("duplicate_merge_key", "a: &a {x: 1}\nb: &b {x: 2}\nc:\n  <<: *a\n  <<: *b\n", "duplicate merge key"),
    ("recursive_alias", "trunks: &t [*t]\n", "contains it"),
    ("recursive_map", "a: &m {b: *m}\n", "contains it"),
    ("undefined_alias", "trunks: *nothing\n", "undefined alias"),
    ("python_tag", "name: !!python/object/apply:os.system ['echo pwned']\n", "not supported"),
    ("custom_tag", "name: !secret x\n", "not supported"),
    ("set_tag", "trunks: !!set {a, b}\n", "not supported"),
    ("long_int", "seed: 1" + "0" * 5000 + "\n", "a number of 5,001 characters"),
    ("long_sexagesimal", "seed: 1" + ":00" * 20000 + "\n", "a number of"),
    ("long_float", "duration: 1." + "5" * 5000 + "\n", "a number of"),
    ("explicit_long_int", "seed: !!int '" + "9" * 5000 + "'\n", "a number of"),
    ("bad_date", "name: x\nduration: 2024-13-45\n", "cannot read '2024-13-45'"),
    ("bad_bool", "seed: !!bool maybe\n", "cannot read 'maybe'"),
    ("bad_timestamp", "seed: !!timestamp yesterday\n", "cannot read 'yesterday'"),
    ("bad_base64", "name: !!binary 'a'\n", "base64"),
    ("unhashable_key", "? [a, b]\n: 1\n", "mapping key"),
    ("merge_scalar", "a:\n  <<: 5\n", "merge key"),
    ("control_char", "name: a\x07b\n", "not valid YAML"),
    ("nul", "name: a\x00b\n", "not valid YAML"),
    ("tab_indent", "trunks:\n\t- name: a\n", "not valid YAML"),
    ("unclosed_quote", "name: 'abc\n", "not valid YAML"),
]


@pytest.mark.parametrize("name, text, words", STRUCTURAL, ids=[s[0] for s in STRUCTURAL])
def test_structural_yaml_problems_are_one_clean_line(tmp_path, name, text, words):
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    error = load_error(path)
    assert error is not None
    assert len(error.problems) == 1 and error.problems[0][0] == ""
    assert words in str(error), str(error)[:300]
    if "YAML" in words or "not supported" in words or "duplicate" in words:
        assert "line " in str(error)


def test_not_utf8_and_other_encodings(tmp_path):
    for name, blob in [
        ("latin1", "name: caf\xe9\n".encode("latin-1")),
        ("utf16", "name: x\n".encode("utf-16")),
        ("utf32", "name: x\n".encode("utf-32")),
    ]:
        path = tmp_path / f"{name}.yaml"
        path.write_bytes(blob)
        error = load_error(path)
        assert error is not None and "UTF-8" in str(error), str(error)


@pytest.mark.parametrize(
    "text", ["", "\n\n", "# only a comment\n", "---\n", "...\n", "---\n...\n", "~\n", "null\n"]
)
def test_empty_documents_say_so(tmp_path, text):
    path = tmp_path / "empty.yaml"
    path.write_text(text, encoding="utf-8")
    error = load_error(path)
    assert error is not None and "empty" in str(error)


def test_a_folder_is_not_a_scenario(tmp_path):
    error = load_error(tmp_path)
    assert error is not None and "folder" in str(error)


# ---------------------------------------------------------------------------------------- big files


def test_a_1_gib_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(1 << 30)  # sparse: 1 GiB long, no disk used
    error, peak = peak_memory(lambda: load_error(path))
    assert peak < 2**20, f"{peak} bytes read for a file that should not be read"
    assert error is not None and "1,024.0 MiB" in str(error) and "50.0 MiB" in str(error), str(error)
    assert_cli_refuses(path)


def test_the_size_limit_is_configurable(tmp_path, monkeypatch):
    path = tmp_path / "rich.yaml"
    path.write_text(yaml.safe_dump(RICH), encoding="utf-8")
    assert load_error(path) is None
    size = path.stat().st_size
    monkeypatch.setattr(safeyaml, "LIMITS", safeyaml.Limits(max_bytes=size - 1))
    error = load_error(path)
    assert error is not None and "more than the" in str(error)
    monkeypatch.setattr(safeyaml, "LIMITS", safeyaml.Limits(max_bytes=size))
    assert load_error(path) is None
    assert safeyaml.Limits().max_bytes == 50 * 2**20  # the default


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_endless_devices_stop_at_the_limit(monkeypatch):
    """A path with no size (a device, a pipe) is read up to the limit and refused past it."""
    monkeypatch.setattr(safeyaml, "LIMITS", safeyaml.Limits(max_bytes=2**20))
    error = load_error("/dev/zero")
    assert error is not None and "more than the 1.0 MiB" in str(error)


def test_node_limit_applies_without_aliases(monkeypatch, tmp_path):
    path = tmp_path / "wide.yaml"
    path.write_text("x: [" + ", ".join(["0"] * 5000) + "]\n", encoding="utf-8")
    monkeypatch.setattr(safeyaml, "LIMITS", safeyaml.Limits(max_nodes=4000))
    assert "YAML too large" in str(load_error(path))
    monkeypatch.setattr(safeyaml, "LIMITS", safeyaml.Limits(max_nodes=6000))
    assert "YAML too large" not in str(load_error(path))


def test_a_large_honest_file_loads_in_proportion(tmp_path):
    """A 25,000-entry number list loads, in memory proportional to the file (tracemalloc is slow)."""
    data = rich()
    data["number_lists"][0]["items"] = [{"number": str(10**6 + i), "action": "reject"} for i in range(25_000)]
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    size = path.stat().st_size
    value, peak = peak_memory(lambda: safeyaml.load_file(path))
    assert len(value["number_lists"][0]["items"]) == 25_000
    assert peak < 20 * size, f"{peak / size:.1f} times the file's {size} bytes"


# -------------------------------------------------------------------- the safe loader equals safe_load

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=False, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "on", "1:30", "0x1f", "0o17", "2024-01-02", "1e3", "~", "<<", "="]),
)
DATA = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=8), st.integers(-5, 5)), children, max_size=4),
    ),
    max_leaves=30,
)


@settings(FUZZ, max_examples=200)
@given(data=DATA, share=st.booleans(), flow=st.sampled_from([None, True, False]))
def test_safe_loader_builds_what_safe_load_builds(data, share, flow):
    """Documents as safe_dump writes them (anchors and aliases where an object repeats): same data."""
    if share and isinstance(data, (list, dict)):
        data = {"first": data, "second": data, "inner": [data, {"again": data}]}  # safe_dump adds anchors
    text = yaml.safe_dump(data, default_flow_style=flow, allow_unicode=True)
    expected = yaml.safe_load(text)
    try:
        built = safeyaml.load(text, safeyaml.Limits(max_nodes=10**7))
    except safeyaml.SafeYamlError as error:  # text such as 089 that safe_dump leaves unquoted
        assert "unquoted is read by YAML 1.1 as text" in str(error), str(error)
        event("refused: number-like text")
        return
    assert built == expected


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n",
        "a: &a {x: 1}\nb: &b {x: 2, z: 3}\nc:\n  <<: [*a, *b]\n  w: 0\n",
        "a: &a {x: 1}\nc: {<<: {<<: *a, y: 2}, z: 3}\n",
        "a: &s 5\nb: [*s, *s]\n",
        "k: &k key\nd: {*k : v}\n",
        "= : 1\n",
        "'<<': 1\n",
        "a: !!str 5\nb: !!float 1\nc: !!int '7'\n",
        "a: !!int 0x1F\nb: 0o17\nc: !!int 1_000\nd: !!int 1:30\ne: '0x1F'\n",
        "a: 2024-01-02\nb: 2024-01-02 10:20:30\n",
        "a: !!binary aGVsbG8=\n",
        "a: |\n  text\n  more\nb: >\n  folded\n",
        "%YAML 1.1\n---\na: 1\n...\n",
        "\ufeffa: 1\n",
    ],
)
def test_safe_loader_matches_safe_load_on_merges_tags_and_styles(text):
    assert safeyaml.load(text) == yaml.safe_load(text)


# ------------------------------------------------------------------------------------------ the corpus

CORPUS_FILES = (
    sorted(p for p in CORPUS.iterdir() if p.is_file() and p.suffix == ".yaml") if CORPUS.is_dir() else []
)


def test_the_corpus_is_there():
    assert len(CORPUS_FILES) >= 20, [p.name for p in CORPUS_FILES]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.name)
def test_corpus_files_are_refused_by_the_command_line(path):
    err, peak = peak_memory(lambda: assert_cli_refuses(path))
    assert peak < 50 * 2**20, f"{path.name}: {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize("name, text, words", STRUCTURAL, ids=[s[0] for s in STRUCTURAL])
def test_the_pure_python_parser_gives_the_same_refusals(monkeypatch, name, text, words):
    """Without libyaml (``yaml.CSafeLoader`` missing) the same inputs get the same kind of message."""
    monkeypatch.setattr(safeyaml, "_Loader", yaml.SafeLoader)
    with pytest.raises(safeyaml.SafeYamlError) as info:
        safeyaml.load(text)
    if words not in ("not valid YAML",):
        assert words in str(info.value), str(info.value)[:300]


def test_error_messages_do_not_echo_unbounded_input():
    big_list = ["x"] * 1_000_000
    for value in ("y" * 100_000, [big_list], [None, big_list]):
        data = rich()
        data["trunks"][0]["rerouting_codes"] = value
        error = load_error(data, "echo.yaml")
        assert error is not None
        assert all(len(message) < 1000 for _, message in error.problems), [len(m) for _, m in error.problems]


# --------------------------------------------------- valid-looking extremes: refused or run, never crash


def _extreme(mutate_fn):
    data = rich()
    data.update(duration="5m", warmup=0)
    mutate_fn(data)
    return data


EXTREMES = {
    "zero_rates": lambda d: [did["traffic"].update(calls_per_hour=0) for did in d["dids"][:1]],
    "huge_holding_time": lambda d: d["dids"][0]["traffic"].update(holding_time=1e300),
    "huge_delays": lambda d: d["trunks"][0]["endpoint"].update(answer_delay=1e300, reject_delay=1e300),
    "huge_lognormal_cv": lambda d: d["dids"][0]["traffic"].update(
        holding_time={"dist": "lognormal", "mean": "3m", "cv": 1e200}
    ),
    "every_pop_down": lambda d: d.update(
        faults=[{"pop": "FRA", "at": 0, "duration": "1h"}, {"pop": "AMS", "at": 0, "duration": "1h"}]
    ),
    "zero_channels_fault": lambda d: d["faults"][2].update(at=0, duration="1h", channels=0),
    "far_future_fault": lambda d: d["faults"][0].update(at=1e300, duration=1e300),
    "zero_weights": lambda d: [m.update(weight=0) for m in d["trunk_groups"][0]["members"]],
    "huge_ingress_shares": lambda d: [p.update(ingress_share=1.7e308) for p in d["pops"]],
    "huge_empirical_weights": lambda d: d["trunks"][1]["endpoint"].update(
        reject_delay={"dist": "empirical", "values": [1, 2], "weights": [1.7e308, 1.7e308]},
        responses={486: 1.0},
    ),
}


@pytest.mark.parametrize(
    "fn", [v if hasattr(v, "marks") else pytest.param(v) for v in EXTREMES.values()], ids=list(EXTREMES)
)
def test_extreme_but_valid_numbers_are_refused_or_run(fn):
    data = _extreme(fn)
    try:
        scenario = simroute.load_scenario(data, name="extreme.yaml")
    except simroute.ScenarioError as error:
        assert_clean_error(error, "extreme.yaml")
        return
    try:
        result = simroute.simulate(scenario, audit=True)
    except simroute.SimrouteError:
        return
    assert sum(result.summary["kpis"]["outcomes"].values()) == result.summary["kpis"]["offered"]


@settings(FUZZ, max_examples=300)
@given(text=st.text(st.characters(exclude_categories=()), max_size=200))
def test_any_text_loads_or_gives_one_clean_line(text):
    """The loader on its own (as the API's text path would use it): data or a SafeYamlError, nothing else."""
    try:
        safeyaml.load(text)
    except safeyaml.SafeYamlError as error:
        assert len(str(error).splitlines()) == 1 and str(error)


# ------------------------------------------ issue 11: classes that used to pass with another meaning

#: Every number inside the rich scenario, nested ones included (profile items, probs, weights, the
#: values of ``responses``), with the spellings of a YAML boolean or a number as text put in its place.
NOT_NUMBERS = st.sampled_from([True, False, np.bool_(True), "1", "0", "40", "yes", "1e3"])


#: Fields that are durations: text is their grammar ("1" is a second), a boolean is not.
DURATION_KEYS = {"inter_pop_delay", "platform_ringing_timeout", "ringing_timeout", "low", "high", "at"}
DURATION_KEYS |= {"values", "means", "value", "mean", "sd", "duration", "warmup", "holding_time"}


@settings(FUZZ, max_examples=400)
@given(path=st.sampled_from(NUMERIC_PATHS), value=NOT_NUMBERS)
def test_booleans_and_text_are_refused_at_any_depth(path, value):
    if isinstance(value, str) and DURATION_KEYS & set(path[-2:]):
        value = True
    data = rich()
    put(data, path, value)
    error = load_error(data, "nested.yaml")
    assert error is not None, f"{render(path)} accepted {value!r}"
    assert blames(error, path), (render(path), error.problems[:3])


#: Mappings whose keys have two spellings (a number, or the same digits as text).
SPELLED = [
    (("trunks", 0, "endpoint", "responses"), lambda k: [k, str(k)], st.sampled_from([486, 603, 480, 404])),
    (
        ("dids", 0, "traffic", "callers", "prefix_shares"),
        lambda k: [k, str(k)],
        st.integers(1, 10**10),
    ),
]


@settings(FUZZ, max_examples=200)
@given(
    which=st.sampled_from(range(len(SPELLED))),
    data=st.data(),
    shares=st.tuples(st.floats(0, 0.4), st.floats(0, 0.4)),
    order=st.booleans(),
)
def test_one_key_in_two_spellings_is_refused(which, data, shares, order):
    path, spellings, keys = SPELLED[which]
    key = data.draw(keys)
    first, second = spellings(key)[:: 1 if order else -1]
    scenario = rich()
    put(scenario, path, {first: shares[0], second: shares[1]})
    error = load_error(scenario, "spelled.yaml")
    assert error is not None and blames(error, path), (path, key)
    assert any("given twice" in message for _, message in error.problems), error.problems


#: YAML 1.1 numbers that are not plain decimal: octal, hex, binary, underscores, sexagesimal, signs,
#: and digit strings with a leading 0 (read as text, not as the number they show).
YAML11_NUMBERS = st.one_of(
    st.integers(1, 10**9).map(lambda n: "0" + format(n, "o")),
    st.integers(0, 10**9).map(lambda n: "0x" + format(n, "X")),
    st.integers(0, 10**6).map(lambda n: "0b" + format(n, "b")),
    st.integers(1000, 10**9).map(lambda n: f"{n:_}"),
    st.tuples(st.integers(1, 99), st.integers(0, 59)).map(lambda t: f"{t[0]}:{t[1]:02d}"),
    st.integers(1, 10**9).map(lambda n: f"+{n}"),
    st.integers(0, 10**9).map(lambda n: f"0{n}89"),
)
#: Where to write them unquoted: phone numbers and numeric fields alike.
YAML11_FIELDS = [
    ("number:", "dids"),
    ("calls_per_hour:", "traffic"),
    ("capacity_limit:", "trunk"),
    ("seed:", ""),
]


@settings(FUZZ, max_examples=400)
@given(text=YAML11_NUMBERS, field=st.sampled_from([f for f, _ in YAML11_FIELDS]))
def test_yaml_1_1_numbers_are_refused_saying_to_quote(tmp_path, text, field):
    body = yaml.safe_dump(rich(), sort_keys=False, width=1000)
    start = re.search(rf"(?m)^\s*(- )?{field} ", body).end()
    end = body.index("\n", start)
    path = tmp_path / "yaml11.yaml"
    path.write_text(body[:start] + text + body[end:], encoding="utf-8")
    error = load_error(path)
    assert error is not None and len(error.problems) == 1, text
    assert "quote it" in error.problems[0][1], error.problems


#: Distribution parameters from the whole float range.
EXTREME_FLOATS = st.one_of(
    st.floats(min_value=1e-320, max_value=1.7e308),
    st.sampled_from([1e-320, 5e-324, 1e-300, 1e9, 1.0000001e9, 1e200, 1.7e308]),
)
DISTRIBUTIONS = st.one_of(
    st.builds(lambda m, cv: {"dist": "lognormal", "mean": m, "cv": cv}, EXTREME_FLOATS, EXTREME_FLOATS),
    st.builds(lambda m, sd: {"dist": "lognormal", "mean": m, "sd": sd}, EXTREME_FLOATS, EXTREME_FLOATS),
    st.builds(lambda m: {"dist": "exponential", "mean": m}, EXTREME_FLOATS),
    st.builds(
        lambda lo, hi: {"dist": "uniform", "low": min(lo, hi), "high": max(lo, hi)},
        EXTREME_FLOATS,
        EXTREME_FLOATS,
    ),
    st.builds(lambda v: {"dist": "empirical", "values": v}, st.lists(EXTREME_FLOATS, min_size=1, max_size=4)),
    st.builds(
        lambda a, b: {"dist": "hyperexponential", "means": [a, b], "probs": [0.5, 0.5]},
        EXTREME_FLOATS,
        EXTREME_FLOATS,
    ),
    st.builds(lambda v: {"dist": "deterministic", "value": v}, EXTREME_FLOATS),
)


@settings(FUZZ, max_examples=300)
@given(dist=DISTRIBUTIONS)
def test_extreme_distribution_parameters_are_refused_or_give_finite_times(dist):
    data = rich()
    data["trunks"][0]["endpoint"]["answer_delay"] = dist
    error = load_error(data, "extreme.yaml")
    if error is not None:
        assert blames(error, ("trunks", 0, "endpoint", "answer_delay")), error.problems[:3]
        event("refused")
        return
    event("loaded")
    model = Scenario.model_validate(data).trunks[0].endpoint.answer_delay
    samples = model.sample(np.random.default_rng(0), 2_000)
    assert np.isfinite(samples).all() and (samples >= 0).all(), dist
