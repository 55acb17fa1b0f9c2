"""The ``simroute`` command: the KPI table, --json, --seed, --duration, --out files, errors and schema.

Most tests call ``simroute.cli.main`` in-process (fast); one runs the installed console script."""

import json
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pandas as pd
import pytest
import yaml

from .commands import run_cli as run

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"

KPI_KEYS = {
    "offered",
    "answered",
    "completion_rate",
    "loss_probability",
    "outcomes",
    "attempts_per_call",
    "post_dial_delay_mean",
    "post_dial_delay_p95",
}
TRUNK_KEYS = {
    "attempts",
    "answered",
    "first_choice_share",
    "answered_share",
    "weight_share",
    "attempt_blocking",
    "carried_erlangs",
    "time_congestion",
    "peak_concurrent",
    "timeout_fraction",
    "error_fraction",
}
ENTITY_KEYS = {"offered", "answered", "carried_erlangs", "peak_concurrent"}
CDR_COLUMNS = [
    "call_id",
    "routing_attempt",
    "is_last_cdr",
    "did",
    "caller",
    "ingress_pop",
    "egress_pop",
    "trunk",
    "trunk_group",
    "time_start",
    "time_connect",
    "time_end",
    "duration",
    "disconnect_code",
    "reason",
    "initiator",
]


@pytest.fixture(scope="module")
def json_run(tmp_path_factory):
    """quickstart with --json and --out, once for the module: (stdout, out folder)."""
    folder = tmp_path_factory.mktemp("out")
    code, out, err = run("run", QUICKSTART, "--json", "--out", folder)
    assert code == 0, err
    assert err == ""
    return out, folder


@pytest.fixture(scope="module")
def summary(json_run):
    return json.loads(json_run[0])


def broken_quickstart(folder, *mutations):
    data = yaml.safe_load(QUICKSTART.read_text(encoding="utf-8"))
    for mutate in mutations:
        mutate(data)
    path = folder / "broken.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------- table


def test_run_prints_the_kpi_table():
    code, out, err = run("run", QUICKSTART)
    assert code == 0, err
    assert err == ""
    assert "completion_rate" in out
    assert "outcomes" in out
    for trunk in ("pbx-fra", "pbx-ams", "backup-sip"):
        assert trunk in out
    for entity in ("office", "493012345678", "FRA", "AMS"):
        assert entity in out
    assert "quickstart" in out and "seed 7" in out
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# ------------------------------------------------------------------------------------------------ json


def test_json_has_every_key(summary):
    assert {"kpis", "trunks", "groups", "dids", "pops"} <= set(summary)
    assert KPI_KEYS <= set(summary["kpis"])
    assert set(summary["trunks"]) == {"pbx-fra", "pbx-ams", "backup-sip"}
    for name, trunk in summary["trunks"].items():
        assert TRUNK_KEYS <= set(trunk), name
    assert set(summary["groups"]) == {"office"}
    assert set(summary["dids"]) == {"493012345678"}
    assert set(summary["pops"]) == {"FRA", "AMS"}
    for table in ("groups", "dids", "pops"):
        for name, entry in summary[table].items():
            assert ENTITY_KEYS <= set(entry), (table, name)


def test_json_records_the_run_settings(summary):
    assert summary["scenario"] == "quickstart"
    assert summary["seed"] == 7
    assert summary["duration"] == 14400
    assert summary["warmup"] == 1800


def test_outcomes_add_up_to_offered(summary):
    k = summary["kpis"]
    assert k["offered"] > 0
    assert sum(k["outcomes"].values()) == k["offered"]
    assert k["outcomes"].get("answered", 0) == k["answered"]
    assert k["completion_rate"] == pytest.approx(k["answered"] / k["offered"])
    assert k["completion_rate"] + k["loss_probability"] == pytest.approx(1.0)
    assert all(isinstance(v, int) and v >= 0 for v in k["outcomes"].values())


def test_kpis_are_consistent_across_tables(summary):
    k = summary["kpis"]
    assert summary["dids"]["493012345678"]["offered"] == k["offered"]
    assert summary["groups"]["office"]["offered"] == k["offered"]
    assert sum(p["offered"] for p in summary["pops"].values()) == k["offered"]
    assert sum(t["answered"] for t in summary["trunks"].values()) == k["answered"]
    for name, trunk in summary["trunks"].items():
        assert 0 <= trunk["answered"] <= trunk["attempts"], name
        for share in (
            "first_choice_share",
            "answered_share",
            "attempt_blocking",
            "time_congestion",
            "timeout_fraction",
            "error_fraction",
        ):
            assert trunk[share] is None or 0 <= trunk[share] <= 1, (name, share)
    caps = {"pbx-fra": 30, "pbx-ams": 20, "backup-sip": 10}
    for name, cap in caps.items():
        assert summary["trunks"][name]["peak_concurrent"] <= cap
    assert summary["groups"]["office"]["peak_concurrent"] <= 55


# --------------------------------------------------------------------------------------- seed, duration


def test_seed_override_changes_the_result_and_is_recorded(summary):
    code, out, err = run("run", QUICKSTART, "--json", "--seed", 11)
    assert code == 0, err
    other = json.loads(out)
    assert other["seed"] == 11
    assert summary["seed"] == 7
    assert other["kpis"] != summary["kpis"]


def test_duration_override(summary):
    code, out, err = run("run", QUICKSTART, "--json", "--duration", "1h")
    assert code == 0, err
    short = json.loads(out)
    assert short["duration"] == 3600
    assert short["warmup"] == 1800
    assert short["seed"] == 7
    assert 0 < short["kpis"]["offered"] < summary["kpis"]["offered"]


def test_duration_shorter_than_warmup_is_a_clean_error():
    code, out, err = run("run", QUICKSTART, "--duration", "10m")
    assert code == 2
    assert err.startswith("simroute: error:")
    assert "warm" in err


def test_negative_seed_is_a_clean_error():
    code, out, err = run("run", QUICKSTART, "--seed", -1)
    assert code == 2
    assert "seed" in err


# ------------------------------------------------------------------------------------------------ --out


def test_out_writes_summary_and_attempts(json_run, summary):
    out, folder = json_run
    summary_file = folder / "summary.json"
    assert summary_file.read_text(encoding="utf-8") == out
    records = sorted(folder.glob("attempts.*"))
    assert [p.suffix for p in records] in ([".csv"], [".parquet"])
    frame = pd.read_parquet(records[0]) if records[0].suffix == ".parquet" else pd.read_csv(records[0])
    assert [c for c in CDR_COLUMNS if c not in frame.columns] == []
    assert len(frame) >= summary["kpis"]["offered"]
    assert set(frame["trunk"].dropna()) <= set(summary["trunks"])
    assert frame["routing_attempt"].min() == 1
    # exactly one last CDR per call
    last = frame[frame["is_last_cdr"].astype(bool)]
    assert last["call_id"].is_unique
    assert set(last["call_id"]) == set(frame["call_id"])


def test_out_leaves_no_temporary_files(json_run):
    _, folder = json_run
    names = sorted(p.name for p in folder.iterdir())
    assert [n for n in names if n.startswith(".")] == []
    assert "summary.json" in names


def test_same_seed_gives_identical_summary_bytes(json_run, tmp_path):
    _, first = json_run
    code, _, err = run("run", QUICKSTART, "--out", tmp_path)
    assert code == 0, err
    assert (tmp_path / "summary.json").read_bytes() == (first / "summary.json").read_bytes()


def test_out_creates_missing_folders(tmp_path):
    folder = tmp_path / "a" / "b"
    code, _, err = run("run", QUICKSTART, "--duration", "1h", "--out", folder, "--format", "csv")
    assert code == 0, err
    assert (folder / "summary.json").is_file()
    assert (folder / "attempts.csv").is_file()
    assert json.loads((folder / "summary.json").read_text(encoding="utf-8"))["duration"] == 3600


def test_out_that_is_a_file_is_a_clean_error(tmp_path):
    target = tmp_path / "taken"
    target.write_text("not a folder", encoding="utf-8")
    code, _, err = run("run", QUICKSTART, "--duration", "1h", "--out", target)
    assert code == 2
    assert err.startswith("simroute: error:")
    assert str(target) in err


# ---------------------------------------------------------------------------------------------- errors


def test_bad_scenario_exits_2_naming_file_and_field(tmp_path):
    path = broken_quickstart(tmp_path, lambda d: d["trunks"][1].update(capacity_limit=0))
    code, out, err = run("run", path)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"simroute: error: {path}: trunks[1].capacity_limit: ")
    assert "Traceback" not in err


def test_every_problem_line_starts_with_simroute_error(tmp_path):
    path = broken_quickstart(
        tmp_path,
        lambda d: d["trunks"][1].update(capacity_limit=0),
        lambda d: d["trunks"][0].update(capcity=3),
    )
    code, _, err = run("run", path)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert all(line.startswith(f"simroute: error: {path}: ") for line in lines), err


def test_every_problem_is_on_stderr(tmp_path):
    path = broken_quickstart(
        tmp_path,
        lambda d: d["trunks"][1].update(capacity_limit=0),
        lambda d: d["trunks"][0].update(capcity=3),
    )
    code, out, err = run("run", path)
    assert code == 2
    assert out == ""
    assert "trunks[1].capacity_limit" in err
    assert "trunks[0].capcity" in err
    assert len(err.splitlines()) == 2
    assert str(path) in err
    assert "Traceback" not in err


def test_missing_scenario_file(tmp_path):
    path = tmp_path / "nope.yaml"
    code, _, err = run("run", path)
    assert code == 2
    assert err == f"simroute: error: {path}: file not found\n"


def test_broken_yaml_exits_2(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\n  trunks: [\n", encoding="utf-8")
    code, _, err = run("run", path)
    assert code == 2
    assert err.startswith(f"simroute: error: {path}: ")
    assert "line" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("value", ["ten", "-5s", "5 parsecs"])
def test_bad_duration_option_is_an_argparse_error(value):
    code, out, err = run("run", QUICKSTART, f"--duration={value}")
    assert code == 2
    assert out == ""
    assert "--duration" in err
    assert repr(value) in err
    assert "Traceback" not in err


def test_missing_command_is_an_argparse_error():
    code, _, err = run()
    assert code == 2
    assert err.startswith("simroute: error: ") and "--help" in err and len(err.splitlines()) == 1


# ---------------------------------------------------------------------------------------------- schema


def test_schema_prints_json_schema():
    code, out, err = run("schema")
    assert code == 0, err
    schema = json.loads(out)
    assert {"trunks", "dids", "trunk_groups", "pops", "duration"} <= set(schema["properties"])
    assert "name" in schema["required"]
    assert schema["additionalProperties"] is False


# ------------------------------------------------------------------------------------ real console script


def _console_script():
    found = shutil.which("simroute")
    if found:
        return found
    candidate = Path(sysconfig.get_path("scripts")) / "simroute"
    return str(candidate) if candidate.exists() else None


def test_installed_console_script_runs(tmp_path):
    script = _console_script()
    assert script is not None, "the `simroute` console script is not installed (pip install -e .)"
    done = subprocess.run(
        [script, "run", str(QUICKSTART), "--duration", "1h"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "completion_rate" in done.stdout
    assert "outcomes" in done.stdout
    assert "pbx-fra" in done.stdout
    assert "window 1800s..3600s" in done.stdout


def test_booleans_are_not_numbers_and_error_output_is_capped(tmp_path):
    data = yaml.safe_load(QUICKSTART.read_text())
    data["trunks"][0]["capacity_limit"] = True  # YAML's "yes"
    for i in range(120):
        data[f"typo{i}"] = 1
    path = tmp_path / "many.yaml"
    path.write_text(yaml.safe_dump(data))
    code, _, err = run("run", path)
    lines = err.splitlines()
    assert code == 2 and len(lines) == 51 and lines[-1].endswith("... and 71 more problems")
    assert any("trunks[0].capacity_limit: expected a whole number, got true" in line for line in lines)
