"""Interrupted runs: ``simroute run --out DIR`` killed with SIGINT or SIGTERM, while it simulates or while it
writes, leaves DIR holding the complete previous outputs (or, for a file it had already replaced, the
complete new one), or nothing when there was nothing: never a partial file, never a temporary file.

Each case starts the command line as a subprocess on a scenario big enough that writing its records
takes about a second, watches DIR for the temporary file that ``outputs.atomic_path`` creates, and sends
the signal while it exists (or, for the simulation phase, before any file is written).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

BIG = """\
name: big
duration: 1h
seed: 1
trunks:
  - name: t
    rerouting_codes: none
dids:
  - number: "4930111"
    route: {trunk: t}
    traffic: {calls_per_hour: 200000, holding_time: 10s}
"""
OUTPUTS = ("attempts.csv", "concurrency.csv", "scenario.json", "summary.json")
#: "simulating": a 10 h run (2 million calls, many seconds) interrupted 1.5 s in; "writing": the 1 h run,
#: whose 200,000 records take about a second to write.
PHASE_OPTIONS = {"simulating": ("--duration", "10h"), "writing": ()}


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "big.yaml"
    path.write_text(BIG, encoding="utf-8")
    return path


def command(scenario: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "simroute.cli",
        "run",
        str(scenario),
        "--out",
        str(out),
        "--format",
        "csv",
        *extra,
    ]


def previous_run(scenario: Path, out: Path) -> dict[str, bytes]:
    """A complete earlier run in ``out`` (a short one, so its files differ from the big run's)."""
    done = subprocess.run(
        command(scenario, out, "--duration", "30s"), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return {name: (out / name).read_bytes() for name in OUTPUTS}


def temporaries(out: Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".")] if out.exists() else []


def interrupt(cmd: list[str], out: Path, sig: int, phase: str) -> subprocess.Popen:
    """Start ``cmd``; send ``sig`` while a temporary output exists ("writing") or after start-up but
    before any output is written ("simulating"); return the finished process."""
    # a shell that started the tests in the background has them ignore SIGINT, and children inherit
    # that: give the run the default disposition, as it has when started from a terminal
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    try:
        if phase == "simulating":
            time.sleep(1.5)  # imports done, simulation under way (it takes several seconds)
            assert proc.poll() is None, "the run finished before it could be interrupted"
            assert temporaries(out) == [], "writing had already started"
        else:
            # the records' temporary file: it lives for about a second (summary.json's for microseconds,
            # too short to signal reliably before the process has finished)
            while not any(name.startswith(".attempts.csv.") for name in temporaries(out)):
                assert proc.poll() is None, "the run finished before a temporary file was seen"
                assert time.monotonic() < deadline
                time.sleep(0.002)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc


def assert_previous_or_complete(out: Path, before: dict[str, bytes] | None) -> None:
    names = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert temporaries(out) == [], f"temporary files left behind: {temporaries(out)}"
    if before is None:  # nothing was there: nothing, or complete new files
        assert set(names) <= set(OUTPUTS), names
    else:
        assert names == sorted(OUTPUTS), names
    for name in names:
        now = (out / name).read_bytes()
        if before is not None and now == before[name]:
            continue
        # a replaced (or new) file must be complete
        if name.endswith(".json"):
            json.loads(now)
        else:
            assert now.endswith(b"\n"), f"{name} does not end with a newline"
            lines = now.splitlines()
            assert len(lines) > 1 and lines[-1].count(b",") == lines[0].count(b","), (
                f"{name}: last row cut short"
            )


def interrupted_run(scenario: Path, tmp_path: Path, sig: int, phase: str, prepopulated: bool):
    """Run and interrupt until the signal lands before the run ends (it can come a moment too late, when
    the records finish writing just as the test sees their temporary file): at most three tries."""
    for attempt in range(3):
        out = tmp_path / f"out{attempt}"
        before = previous_run(scenario, out) if prepopulated else None
        proc = interrupt(command(scenario, out, *PHASE_OPTIONS[phase]), out, sig, phase)
        if proc.returncode != 0:
            return proc, out, before
    pytest.fail("three runs finished before the signal reached them")


@pytest.mark.parametrize("phase", ["simulating", "writing"])
@pytest.mark.parametrize("prepopulated", [True, False], ids=["previous-run", "empty"])
def test_sigint_leaves_previous_outputs_or_nothing(big, tmp_path, phase, prepopulated):
    proc, out, before = interrupted_run(big, tmp_path, signal.SIGINT, phase, prepopulated)
    assert proc.returncode == 130, proc.stderr.read()[-2000:]
    err = proc.stderr.read()
    assert "Traceback" not in err and "interrupted" in err, err[-2000:]
    assert_previous_or_complete(out, before)
    if phase == "writing" and before is not None:
        assert (out / "attempts.csv").read_bytes() == before["attempts.csv"], "interrupted while writing it"


def test_sigterm_while_simulating_leaves_previous_outputs(big, tmp_path):
    proc, out, before = interrupted_run(big, tmp_path, signal.SIGTERM, "simulating", True)
    assert proc.returncode == 128 + signal.SIGTERM
    assert_previous_or_complete(out, before)
    assert {name: (out / name).read_bytes() for name in OUTPUTS} == before


def test_sigterm_while_writing_leaves_no_temporary_file(big, tmp_path):
    proc, out, before = interrupted_run(big, tmp_path, signal.SIGTERM, "writing", True)
    assert proc.returncode == 128 + signal.SIGTERM
    assert_previous_or_complete(out, before)


def test_the_check_notices_a_partial_or_temporary_file(tmp_path):
    """The checks above can fail: a cut-short file and a leftover temporary file are both caught."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "summary.json").write_text('{"a": 1}\n', encoding="utf-8")
    (out / "attempts.csv").write_bytes(b"a,b,c\n1,2,3\n4,5")
    with pytest.raises(AssertionError, match="newline|cut short"):
        assert_previous_or_complete(out, None)
    (out / "attempts.csv").write_bytes(b"a,b,c\n1,2,3\n")
    assert_previous_or_complete(out, None)
    (out / ".attempts.csv.x1y2.tmp").write_bytes(b"a,b")
    with pytest.raises(AssertionError, match="temporary"):
        assert_previous_or_complete(out, None)
