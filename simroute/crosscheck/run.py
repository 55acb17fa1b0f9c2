"""``simroute crosscheck``: the same scenario on Kamailio and SIPp over loopback and in simroute, both
read into attempt records and counted by the same code.

Steps: the lab model of the scenario (refused outside the subset); a trace with margins; the files
(Kamailio config, SIPp scenarios, the trace for SIPp and for simroute's replay), written to ``emit``
if given; the real run (bounded in time; every process stopped by its PID on exit, Ctrl-C included);
the simulation's replications of the same trace; the side-by-side table.
"""

from __future__ import annotations

import math
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..experiments.replications import replication_seeds, run_once
from ..kpis.tally import summarize
from ..records.attempts import Records, pbx_table
from ..scenario.schema import Scenario, load_scenario
from . import kamailio, sipp
from .compare import lab_counts, side_by_side
from .lab import Lab, lab_of
from .logs import read_kamailio, read_sipp_stats
from .processes import LabError, Processes, free_udp_ports
from .trace import CAP_MARGIN, Trace, draw_trace, without

__all__ = ["Crosscheck", "crosscheck", "emit_files"]

LEAD_IN = 2.0  # seconds between SIPp's start and the trace's time 0
LAUNCH_RATE = 200  # calls per second at which SIPp starts calls ahead of their arrival


@dataclass
class Crosscheck:
    table: pd.DataFrame
    trace: Trace
    anomalies: dict
    sipp: dict
    folder: Path

    @property
    def agrees(self) -> bool:
        return bool(self.table["agrees"].all()) and not any(self.anomalies.values())


def replay_scenario(lab: Lab, paths: dict[str, Path]) -> Scenario:
    """The lab's scenario with each DID's traffic replaced by its trace."""
    data = lab.scenario.model_dump(mode="json", exclude_none=True)
    for d in data["dids"]:
        d["traffic"] = {"replay": str(paths[d["number"]])}
    data["warmup"] = 0
    return load_scenario(data, name=f"{lab.scenario.name} (replay)")


def _horizon(trace: Trace, lab: Lab) -> float:
    last = max((c.arrival for c in trace.calls), default=0.0)
    return last + 1.0


def _simulate(scenario: Scenario, lab: Lab, horizon: float, replications: int, seed: int) -> list[Records]:
    runs = []
    for s in replication_seeds(seed, replications):
        _, kept, _ = run_once(scenario, s, horizon, [(0.0, horizon)], keep=True)
        runs.append(kept)
    return runs


def _close_calls(rec: Records, lab: Lab) -> set[int]:
    """Calls whose attempt on a capped trunk starts within CAP_MARGIN of a release on that trunk while
    it is at its cap: such an outcome would be decided by timer jitter, not by the trace."""
    close: set[int] = set()
    call, trunk, cause, start, end = rec.call_id, rec.trunk, rec.cause, rec.time_start, rec.time_end
    for t in lab.trunks:
        if t.capacity >= 10**9:
            continue
        on = trunk == t.index
        held = on & (rec.cause != 1510)
        releases = np.sort(end[held])
        tries = np.flatnonzero(on)
        if not len(releases):
            continue
        for i in tries:
            j = np.searchsorted(releases, start[i])
            near = [releases[k] for k in (j - 1, j) if 0 <= k < len(releases)]
            if any(abs(r - start[i]) < CAP_MARGIN for r in near):
                close.add(int(call[i]))
    del cause
    return close


def settle(lab: Lab, trace: Trace, folder: Path, seed: int, replications: int, passes: int = 4) -> Trace:
    """Drop calls that meet a capacity limit too near a release, in any replication, until none does."""
    for _ in range(passes):
        paths = trace.write_replay(folder)
        scenario = replay_scenario(lab, paths)
        drop: set[int] = set()
        for rec in _simulate(scenario, lab, _horizon(trace, lab), replications, seed):
            drop |= _close_calls(rec, lab)
        if not drop:
            return trace
        trace = without(trace, drop)
    return trace


def kpi_rows(summary: dict, lab: Lab) -> dict[str, float]:
    """summary.json's KPIs that the lab can show, from simroute's own KPI code (kpis.metrics)."""
    k = summary["kpis"]
    out = {
        f"kpis.{name}": k[name]
        for name in ("completion_rate", "attempts_per_call")
        if k.get(name) is not None
    }
    for t in lab.trunks:
        share = summary["trunks"][t.name].get("answered_share")
        if share is not None:
            out[f"trunks.{t.name}.answered_share"] = share
    return {key: float(v) for key, v in out.items()}


def emit_files(lab: Lab, trace: Trace, folder: Path) -> dict:
    """Write everything the lab runs into ``folder``; returns the ports chosen."""
    folder.mkdir(parents=True, exist_ok=True)
    proxy, caller, *trunk_ports = free_udp_ports(2 + len(lab.trunks))
    ports = {t.name: p for t, p in zip(lab.trunks, trunk_ports)}
    (folder / "dispatcher.list").write_text(kamailio.dispatcher_list(lab, ports))
    (folder / "kamailio.cfg").write_text(kamailio.config(lab, proxy, ports, str(folder.resolve())))
    final = set()
    for t in lab.trunks:
        codes_t = trace.error_codes(t.name)
        final |= set(codes_t)
        (folder / f"uas-{t.name}.xml").write_text(sipp.uas(t.name, codes_t))
    (folder / "uac.xml").write_text(sipp.uac(lab, sorted(final | {408, 480, 487, 500, 503})))
    trace.write_sipp(folder / "trace.inf", LEAD_IN)
    trace.write_replay(folder)
    return {"proxy": proxy, "caller": caller, "trunks": ports}


def run_lab(lab: Lab, trace: Trace, folder: Path, ports: dict, budget: float) -> Path:
    """Run Kamailio, one SIPp far end per trunk and the SIPp caller; returns Kamailio's log."""
    with Processes(folder) as procs:
        procs.start(
            "kamailio",
            ["kamailio", "-f", str(folder / "kamailio.cfg"), "-DD", "-E", "-w", str(folder)],
            "kamailio.log",
        )
        for t in lab.trunks:
            procs.start(
                f"SIPp far end {t.name}",
                [
                    "sipp",
                    "-sf",
                    f"uas-{t.name}.xml",
                    "-i",
                    "127.0.0.1",
                    "-p",
                    str(ports["trunks"][t.name]),
                    "-nostdin",
                    "-nd",
                    "-trace_err",
                ],
                f"uas-{t.name}.out",
            )
        deadline = time.monotonic() + 10
        log = folder / "kamailio.log"
        while "listening on" not in (log.read_text(errors="replace").lower() if log.exists() else ""):
            procs.check_alive()
            if time.monotonic() > deadline:
                raise LabError(f"Kamailio did not start listening within 10 s (see {log})")
            time.sleep(0.1)
        procs.check_alive()
        n = len(trace.calls)
        caller = procs.start(
            "SIPp caller",
            [
                "sipp",
                "-sf",
                "uac.xml",
                "-inf",
                "trace.inf",
                "-i",
                "127.0.0.1",
                "-p",
                str(ports["caller"]),
                "-m",
                str(n),
                "-r",
                str(LAUNCH_RATE),
                "-l",
                str(n + 10),
                "-nostdin",
                "-trace_err",
                "-trace_stat",
                "-stf",
                "caller-stats.csv",
                "-fd",
                "1",
                f"127.0.0.1:{ports['proxy']}",
            ],
            "caller.out",
        )
        procs.wait(caller, "the SIPp caller", budget)
        time.sleep(0.5)  # let the proxy write its last log lines
    return log


def crosscheck(
    scenario,
    *,
    seconds: float = 60.0,
    rate_scale: float = 1.0,
    seed: int = 1,
    replications: int = 20,
    max_hold: float = 20.0,
    emit: Path | None = None,
) -> Crosscheck:
    """Run the cross-check (see the module docstring); ``emit`` keeps the lab's files there."""
    scenario = load_scenario(scenario)
    lab = lab_of(scenario)
    if not (0 < seconds <= 600):
        raise LabError(f"--seconds must be in (0, 600], got {seconds:g}")
    if not (0 < rate_scale <= 100) or not math.isfinite(rate_scale):
        raise LabError(f"--rate-scale must be in (0, 100], got {rate_scale:g}")
    work = Path(emit) if emit is not None else Path(tempfile.mkdtemp(prefix="simroute-crosscheck-"))
    work.mkdir(parents=True, exist_ok=True)
    trace = draw_trace(lab, seconds, rate_scale, seed, max_hold)
    trace = settle(lab, trace, work, seed, replications)
    ports = emit_files(lab, trace, work)
    longest = max(c.hold for c in trace.calls) if trace.calls else 0.0
    budget = LEAD_IN + seconds + longest + sum(t.ringing_timeout for t in lab.trunks) + 30.0
    log = run_lab(lab, trace, work, ports, budget)
    net_scenario = replay_scenario(lab, trace.write_replay(work))
    simulated = _simulate(net_scenario, lab, _horizon(trace, lab), replications, seed)
    real, anomalies = read_kamailio(log, trace, simulated[0].net, LEAD_IN)
    real.pbx = pbx_table(array("d"))
    window = [(0.0, _horizon(trace, lab))]
    table = side_by_side(
        {**lab_counts(real, lab), **kpi_rows(summarize(real, window)[0], lab)},
        [{**lab_counts(r, lab), **kpi_rows(summarize(r, window)[0], lab)} for r in simulated],
    )
    stats_path = work / "caller-stats.csv"
    sipp_stats = read_sipp_stats(stats_path) if stats_path.exists() else {}
    if sipp_stats.get("created", len(trace.calls)) != len(trace.calls):
        anomalies["calls_not_placed"] = len(trace.calls) - sipp_stats.get("created", 0)
    return Crosscheck(table, trace, anomalies, sipp_stats, work)
