"""Determinism: the same scenario and seed give the same bytes (summary.json and the attempt records) run
after run, under any PYTHONHASHSEED, serial or in parallel, and as the pinned golden file.

The golden file
---------------
``tests/golden/summary.json`` is summary.json of ``tests/golden/scenario.yaml`` as the code computed it when
the file was written. A change in those bytes means the simulator now answers differently: a bug, or an
intended change of the model, of the random streams or of the summary's keys. When (and only when) the
change is intended, regenerate it and commit it with the change that explains it::

    SIMROUTE_REGENERATE_GOLDEN=1 python -m pytest tests/test_determinism.py -k golden

(the test then writes the file and is skipped; run it again without the variable to see it pass). NumPy
does not promise identical random streams across its own versions for every distribution, so an upgrade
of numpy can also move the golden numbers: check the difference is statistical noise, then regenerate.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import simroute
from simroute.io.files import to_json, write_records

GOLDEN = Path(__file__).resolve().parent / "golden"
SCENARIO = GOLDEN / "scenario.yaml"
SUMMARY = GOLDEN / "summary.json"


def records_bytes(result, folder: Path) -> bytes:
    """The attempts CSV exactly as ``simroute run --out`` writes it."""
    return write_records(result.attempts, folder, "attempts", "csv").read_bytes()


def test_same_seed_same_bytes_in_one_process(tmp_path):
    a = simroute.simulate(SCENARIO, seed=11)
    b = simroute.simulate(SCENARIO, seed=11)
    assert to_json(a.summary) == to_json(b.summary)
    assert records_bytes(a, tmp_path / "a") == records_bytes(b, tmp_path / "b")
    c = simroute.simulate(SCENARIO, seed=12)  # and the seed matters (the comparison can fail)
    assert to_json(c.summary) != to_json(a.summary)
    assert records_bytes(c, tmp_path / "c") != records_bytes(a, tmp_path / "a")


def test_same_bytes_under_any_pythonhashseed(tmp_path):
    """Three interpreters with different string hashing: identical summary.json and attempts.csv."""
    digests = {}
    for hashseed in ("0", "1", "4242"):
        out = tmp_path / f"h{hashseed}"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "simroute.cli",
                "run",
                str(SCENARIO),
                "--out",
                str(out),
                "--format",
                "csv",
                "--seed",
                "3",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        digests[hashseed] = {
            name: hashlib.sha256((out / name).read_bytes()).hexdigest()
            for name in ("summary.json", "attempts.csv")
        }
    assert len({json.dumps(d, sort_keys=True) for d in digests.values()}) == 1, digests


def test_serial_and_parallel_replications_agree():
    serial = simroute.simulate(SCENARIO, replications=4, jobs=1)
    parallel = simroute.simulate(SCENARIO, replications=4, jobs=2)
    assert to_json(serial.summary) == to_json(parallel.summary)
    assert serial.replications.equals(parallel.replications)
    assert serial.replications.shape[0] == 4
    assert serial.replications.iloc[0].equals(serial.replications.iloc[0])
    assert not serial.replications.iloc[0].equals(serial.replications.iloc[1])  # replications differ


def test_metrics_only_runs_are_deterministic_too():
    """records='none' counts KPIs live (tests/records/test_modes.py compares them with the records');
    its bytes must repeat as well."""
    a = to_json(simroute.simulate(SCENARIO, records="none").summary)
    assert a == to_json(simroute.simulate(SCENARIO, records="none").summary)


def test_golden_summary_json():
    produced = to_json(simroute.simulate(SCENARIO).summary)
    if os.environ.get("SIMROUTE_REGENERATE_GOLDEN"):
        SUMMARY.write_text(produced, encoding="utf-8", newline="\n")
        pytest.skip(f"regenerated {SUMMARY}")
    expected = SUMMARY.read_bytes().decode("utf-8")
    if produced != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(True), produced.splitlines(True), "golden/summary.json", "now", n=1
            )
        )
        pytest.fail(
            "summary.json of tests/golden/scenario.yaml changed (regenerate only if intended, see this "
            f"module's docstring):\n{diff[:5000]}"
        )
