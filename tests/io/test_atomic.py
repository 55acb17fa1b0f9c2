"""Interrupted runs: ``simroute run --out DIR`` stopped by SIGINT or SIGTERM at any moment, from the
start-up imports to the renaming of its files, ends with one line (``simroute: interrupted``, exit 130;
SIGTERM exit 143), no traceback, and leaves DIR holding one run's complete set of files: the previous
run's (or nothing) when the signal came before the new set was committed, the new run's when it came
during the commit (which holds signals back until the set is complete). Never a partial or temporary
file, never a new file beside an old summary.

No sleep-and-hope: each case runs the command with ``SIMROUTE_PAUSE_AT=phase``
(:func:`simroute.io.files.checkpoint`), which writes a marker file when the run is in that phase and
waits there; the test sends its signal only once the marker exists, so a loaded machine cannot make the
signal arrive in another phase.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from simroute.cli import main

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")

SMALL = """\
name: small
duration: 10m
seed: 1
trunks:
  - name: t
    rerouting_codes: none
dids:
  - number: "4930111"
    route: {trunk: t}
    traffic: {calls_per_hour: 3000, holding_time: 10s}
"""
PHASES = ("start-up", "simulating", "writing", "committing")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return path


def command(scenario: Path, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "simroute",
        "run",
        str(scenario),
        "--out",
        str(out),
        "--format",
        "csv",
        *extra,
    ]


def files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())} if out.exists() else {}


def previous_run(scenario: Path, out: Path) -> dict[str, bytes]:
    """A complete earlier run in ``out``: calls records and replications, so that every file differs
    in name or content from the interrupted run's (attempts records, one run)."""
    args = command(scenario, out, "--duration", "5m", "--records", "calls", "--replications", "2")[3:]
    assert main(args) == 0  # in this process: no second interpreter start-up per case
    before = files(out)
    assert {"calls.csv", "replications.csv", "summary.json", "manifest.json"} <= set(before), sorted(before)
    return before


def interrupt(cmd: list[str], tmp_path: Path, sig: int, phase: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` paused at ``phase``; once its marker file is there, send ``sig``; the finished run."""
    marker = tmp_path / f"reached-{phase}"
    marker.unlink(missing_ok=True)
    env = {**os.environ, "SIMROUTE_PAUSE_AT": phase, "SIMROUTE_PAUSE_FILE": str(marker)}
    # a shell that started the tests in the background has them ignore SIGINT, and children inherit
    # that: give the run the default disposition, as it has when started from a terminal
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():  # the explicit sign that the run is in the phase under test
            assert proc.poll() is None, f"the run ended before reaching {phase}: {proc.stderr.read()}"
            assert time.monotonic() < deadline, f"{phase} not reached in 300 s"
            time.sleep(0.01)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(cmd, proc.returncode, "", err)


def assert_one_run(out: Path) -> dict:
    """``out`` holds one run's complete set: its manifest names exactly the files there, with their
    sizes and digests, and summary.json names the same set. Returns the manifest."""
    names = sorted(p.name for p in out.iterdir())
    assert not [n for n in names if n.startswith(".")], f"temporary files left behind: {names}"
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted([*manifest["files"], "manifest.json"]) == names, (names, manifest["files"])
    for name, info in manifest["files"].items():
        data = (out / name).read_bytes()
        assert len(data) == info["bytes"] and hashlib.sha256(data).hexdigest() == info["sha256"], name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert sorted(summary["files"]) == sorted(manifest["files"]), (summary["files"], manifest["files"])
    return manifest


@pytest.mark.parametrize("phase", PHASES[:3])
@pytest.mark.parametrize("prepopulated", [True, False], ids=["previous-run", "empty"])
def test_sigint_before_the_commit_leaves_the_previous_set_or_nothing(small, tmp_path, phase, prepopulated):
    out = tmp_path / "out"
    before = previous_run(small, out) if prepopulated else {}
    done = interrupt(command(small, out), tmp_path, signal.SIGINT, phase)
    assert done.returncode == 130, done.stderr[-2000:]
    assert done.stderr == "simroute: interrupted\n", done.stderr[-2000:]
    assert files(out) == before
    if prepopulated:
        assert_one_run(out)


@pytest.mark.parametrize("phase", PHASES[:3])
def test_sigterm_before_the_commit_leaves_the_previous_set(small, tmp_path, phase):
    out = tmp_path / "out"
    before = previous_run(small, out)
    done = interrupt(command(small, out), tmp_path, signal.SIGTERM, phase)
    assert done.returncode == 128 + signal.SIGTERM, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    assert files(out) == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_commit_waits_for_the_whole_new_set(small, tmp_path, sig):
    """The signal lands just after the first file's rename: the commit completes first, then the run
    ends as interrupted; the folder holds the new run's files only (the earlier run's calls.csv and
    replications.csv are gone), never a new attempts.csv beside an old summary.json."""
    out = tmp_path / "out"
    before = previous_run(small, out)
    done = interrupt(command(small, out), tmp_path, sig, "committing")
    assert done.returncode == (130 if sig == signal.SIGINT else 128 + sig), done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    manifest = assert_one_run(out)
    assert sorted(manifest["files"]) == [
        "attempts.csv",
        "concurrency.csv",
        "intervals.csv",
        "scenario.json",
        "summary.json",
    ]
    assert files(out)["summary.json"] != before["summary.json"]


def test_the_checks_notice_a_mismatched_or_temporary_file(small, tmp_path):
    """The checks above can fail: a file the manifest does not name, a changed file, a temporary file."""
    out = tmp_path / "out"
    previous_run(small, out)
    assert_one_run(out)
    (out / "attempts.csv").write_bytes(b"a,b\n")
    with pytest.raises(AssertionError):
        assert_one_run(out)
    (out / "attempts.csv").unlink()
    (out / "calls.csv").write_bytes(b"changed\n")
    with pytest.raises(AssertionError):
        assert_one_run(out)
    (out / ".simroute-x.tmp").mkdir()
    with pytest.raises(AssertionError, match="temporary"):
        assert_one_run(out)
