"""The budget covers what a run really costs (issue 11 items 5-7): peak memory by records mode and
processes, every kind of event (random faults, cloud-PBX shifts), and no set-up or summary cost
quadratic in the members of a trunk group.

The bytes-per-row constants are checked against a measurement of this machine (peak RSS growth per
row, in a fresh interpreter): a constant below what is measured would let a run die of MemoryError
after minutes, one far above it would refuse runs that fit.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from contextlib import redirect_stderr, redirect_stdout

import pytest

import simroute
from simroute.cli import main
from simroute.engine.network import Network, compile_network
from simroute.experiments import budget
from simroute.experiments.budget import (
    BASE_BYTES,
    BYTES_PER_ROW,
    BudgetError,
    check_budget,
    estimate_events,
    estimate_memory,
    parse_bytes,
)

from ..paths import ROOT, SCENARIOS

ERLANG_B = SCENARIOS / "erlang-b.yaml"


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------------------- 11.5: memory


def test_a_run_that_cannot_fit_is_refused_before_it_starts_with_the_alternatives(monkeypatch):
    def never(*_a, **_k):
        raise AssertionError("the run started")

    monkeypatch.setattr(simroute.api, "simulate", never)
    code, out, err = run("run", ERLANG_B, "--duration", "90000h", "--max-memory", "2G")
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    for words in (
        "GiB of memory expected",
        "--records none",
        "--records stream",
        "--duration",
        "--max-memory",
    ):
        assert words in err, err


def test_the_estimate_follows_the_records_mode_and_the_processes():
    rows = estimate_memory(ERLANG_B, "90000h")[1]
    assert 14e6 < rows < 15e6  # 8.108 erlangs of 3-minute calls for 90,000 h: 14.6 million calls
    attempts = estimate_memory(ERLANG_B, "90000h", "attempts")[0]
    calls = estimate_memory(ERLANG_B, "90000h", "calls")[0]
    none = estimate_memory(ERLANG_B, "90000h", "none")[0]
    stream = estimate_memory(ERLANG_B, "90000h", "stream")[0]
    assert none == BASE_BYTES < stream < calls < attempts
    assert attempts == pytest.approx(BASE_BYTES + rows * BYTES_PER_ROW["attempts"])
    four, _, processes = estimate_memory(ERLANG_B, "900h", "attempts", replications=4, jobs=4)
    one = estimate_memory(ERLANG_B, "900h", "attempts")[0]
    assert processes == 4 and four > 3.9 * one  # the first replication here, three in workers


def test_replications_and_compare_are_covered(monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 4 * 2**30)
    with pytest.raises(BudgetError, match="processes at once"):
        check_budget(ERLANG_B, "9000h", replications=8, jobs=8)
    check_budget(ERLANG_B, "9000h")  # one run of the same fits
    code, _, err = run("compare", ERLANG_B, ERLANG_B, "--duration", "90000h", "--max-memory", "1G")
    assert code == 2 and "memory expected" in err


def test_max_memory_overrides_the_machine(monkeypatch):
    monkeypatch.setattr(budget, "available_memory", lambda: 2**30)
    with pytest.raises(BudgetError, match="0.8 of the 1.0 GiB available"):
        check_budget(ERLANG_B, "20000h")
    check_budget(ERLANG_B, "20000h", max_memory=64 * 2**30)
    assert parse_bytes("4G") == 4 * 2**30 and parse_bytes("512MiB") == 512 * 2**20
    with pytest.raises(ValueError):
        parse_bytes("lots")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc")
def test_the_process_limit_counts():
    """A run started under ``ulimit -v`` sees that limit, not the machine's memory."""
    code = textwrap.dedent(
        """
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, resource.RLIM_INFINITY))
        from simroute.experiments.budget import available_memory
        print(available_memory())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) <= 3 * 2**30


PROBE = textwrap.dedent(
    """
    import json, sys
    import simroute
    def kib(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1])
    mode = sys.argv[1]
    simroute.simulate("{path}", duration="10h", records=mode)  # imports and warm-up
    open("/proc/self/clear_refs", "w").write("5")
    base = kib("VmRSS")
    result = simroute.simulate("{path}", duration="800h", records=mode)
    rows = result.summary["kpis"]["offered"] if mode == "calls" else len(result.records)
    print(json.dumps({{"per_row": (kib("VmHWM") - base) * 1024 / rows}}))
    """
)


@pytest.mark.skipif(not os.path.exists("/proc/self/clear_refs"), reason="needs Linux peak-RSS reset")
@pytest.mark.parametrize("mode", ["attempts", "calls"])
def test_bytes_per_row_constants_stay_true_to_the_measured_peak(mode):
    code = PROBE.format(path=ERLANG_B)
    done = subprocess.run(
        [sys.executable, "-c", code, mode],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0 and "clear_refs" in done.stderr:
        pytest.skip("peak-RSS reset not permitted here")
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout)["per_row"]
    assert measured <= BYTES_PER_ROW[mode] <= 3 * max(measured, 50), (mode, measured, BYTES_PER_ROW[mode])


# ---------------------------------------------------------------------- 11.6: every kind of event


def _scenario(**extra) -> dict:
    data = {
        "name": "events",
        "duration": "3000d",
        "trunks": [{"name": "t"}],
        "dids": [{"number": "4930111", "route": {"trunk": "t"}}],
    }
    data.update(extra)
    return data


def test_random_faults_count_in_the_estimate():
    data = _scenario(faults=[{"trunk": "t", "mtbf": "100ms", "mttr": "100ms"}])
    expected_outages = 3000 * 86400 / 0.2
    assert estimate_events(data) >= 2 * expected_outages
    with pytest.raises(BudgetError):
        check_budget(data)


def test_cloud_pbx_shifts_count_in_the_estimate():
    data = _scenario(duration="3000000d")
    data["trunks"] = [{"name": "t", "kind": "pbx", "pbx": {"agents": list(range(1, 25))}}]
    assert estimate_events(data) >= 24 * 3_000_000
    with pytest.raises(BudgetError):
        check_budget(data)


# -------------------------------------------------------------- 11.7: linear in the group size


def test_the_per_trunk_summary_does_not_scan_every_route_for_every_trunk(monkeypatch):
    members = 400
    data = {
        "name": "wide",
        "duration": "1m",
        "trunks": [{"name": f"t{i}"} for i in range(members)],
        "trunk_groups": [{"name": "g", "members": [{"trunk": f"t{i}"} for i in range(members)]}],
        "dids": [{"number": f"49301{d}", "route": {"group": "g"}} for d in range(3)],
    }
    calls = []
    original = Network.route_trunks

    def counted(self, did):
        calls.append(did)
        return original(self, did)

    monkeypatch.setattr(Network, "route_trunks", counted)
    simroute.simulate(data)
    assert len(calls) <= 10 * 3, len(calls)  # a few per DID, not one per trunk and DID (1,200)
    net = compile_network(simroute.load_scenario(data))
    assert [len(d) for d in net.trunk_dids] == [3] * members
