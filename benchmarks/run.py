#!/usr/bin/env python
"""Speed benchmark of simroute against baselines measured in the same run (not part of the test suite).

    python benchmarks/run.py [--rounds N] [--quick] [--big] [--out PATH]
    python benchmarks/run.py --profile [--quick]

Each round runs, in this order: a minimal SimPy loop, simroute on an Erlang B scenario, Ciw on the same
M/M/110/110 model (skipped when ``ciw`` is not importable), simroute on the bundled quickstart scenario
made longer, and 8 replications of that scenario on 1 and on 2 processes. Ratios are taken within a round,
then the median over rounds is reported. After the rounds: memory probes in child processes (records per
attempt, records="none" peak RSS at two run lengths, and with ``--big`` a 10-million-call run), then a
targets block. ``--profile`` only profiles one Erlang B run and prints the top functions. See README.md.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as _dt
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import simpy
import yaml

import simroute

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
QUICKSTART = ROOT / "scenarios" / "quickstart.yaml"

# --- the Erlang B model: M/M/110/110 at 100 erlang ------------------------------------------------------
CHANNELS = 110
ERLANGS = 100.0
MEAN_HOLD = 180.0  # seconds
RATE = ERLANGS / MEAN_HOLD  # calls per second (2000 calls/hour)
CALLS = {"full": 200_000, "quick": 30_000}  # offered calls wanted per Erlang B run
REALISTIC_CALLS = {"full": 100_000, "quick": 15_000}  # offered calls wanted per quickstart run
BATCH = 8192  # numpy draws per batch in the SimPy loop
REPLICATIONS = 8  # replications per run in the jobs=1 vs jobs=2 benchmark
REPLICATION_CALLS = {"full": 120_000, "quick": 15_000}  # offered calls per replication (quickstart)
NONE_CALLS = {"full": (200_000, 1_000_000), "quick": (30_000, 150_000)}  # records="none" memory runs
BIG_CALLS = 10_000_000  # --big: one metrics-only Erlang B run of this many calls

# --- targets (printed at the end and written to results.json) -----------------------------------------
TARGET_VS_SIMPY = 0.6  # simroute Erlang B calls/s / SimPy loop calls/s (stretch 1.0)
STRETCH_VS_SIMPY = 1.0
TARGET_VS_CIW = 10.0  # simroute Erlang B calls/s / Ciw calls/s
TARGET_REALISTIC = 100_000.0  # simroute quickstart calls/s
TARGET_BYTES_PER_ROW = 100.0  # record bytes per attempt row (at most)
TARGET_BIG_RSS_MB = 300.0  # peak RSS of the 10M-call records="none" run, MB = 10**6 bytes


def erlang_b(a: float, n: int) -> float:
    """Blocking of M/G/n/n at ``a`` erlang (the stable recursion; independent of simroute.theory)."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


# --- simroute ------------------------------------------------------------------------------------------
_ENGINE_SECONDS: list[float] = []


def _install_engine_timer() -> bool:
    """Time Engine construction + run inside simulate() by swapping in a timing subclass (this process only).

    The subclass replaces ``Engine`` in whichever of ``simroute.experiments.replications`` /
    ``simroute.api`` holds it
    (the module that constructs it for ``records="attempts"``). Returns False (no engine-only number) if
    simroute's internals no longer look as expected.
    """
    import importlib

    modules = []
    for name in ("simroute.experiments.replications", "simroute.api"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if isinstance(getattr(module, "Engine", None), type):
            modules.append(module)
    if not modules:
        return False
    base = modules[0].Engine

    class TimedEngine(base):
        def __init__(self, *args, **kwargs):
            self._bench_t0 = time.perf_counter()
            super().__init__(*args, **kwargs)

        def run(self):
            out = super().run()
            _ENGINE_SECONDS.append(time.perf_counter() - self._bench_t0)
            return out

    TimedEngine.__name__ = TimedEngine.__qualname__ = base.__name__
    for module in modules:
        if module.Engine is base:
            module.Engine = TimedEngine
    return True


def erlangb_scenario_dict(duration: float, seed: int) -> dict:
    return {
        "name": "bench-erlang-b",
        "description": f"M/M/{CHANNELS}/{CHANNELS} at {ERLANGS:g} erlang",
        "duration": duration,
        "warmup": 0,
        "seed": seed,
        "trunks": [{"name": "t", "capacity_limit": CHANNELS, "rerouting_codes": "none"}],
        "dids": [
            {
                "number": "441234567890",
                "route": {"trunk": "t"},
                "traffic": {"erlangs": ERLANGS, "holding_time": {"dist": "exponential", "mean": MEAN_HOLD}},
            }
        ],
    }


def realistic_scenario_dict(target_calls: int) -> tuple[dict, float]:
    """quickstart.yaml with its duration stretched so a run offers about ``target_calls`` calls.

    Only ``duration`` changes: the rate (500 calls/hour), caps, endpoints, number lists, faults and
    warm-up stay as in the file, so the mix of outcomes stays the realistic one (raising calls_per_hour
    instead would push 55 channels into heavy overload and turn the run into a blocking test).
    """
    data = yaml.safe_load(QUICKSTART.read_text())
    scen = simroute.load_scenario(QUICKSTART)
    rate = sum(d.traffic.base_rate for d in scen.dids if d.traffic is not None)  # calls per second
    duration = float(np.ceil(target_calls / rate / 3600.0)) * 3600.0
    data["duration"] = duration
    return data, duration


def run_simroute(scenario, seed: int) -> dict:
    n_engine = len(_ENGINE_SECONDS)
    t0 = time.perf_counter()
    result = simroute.simulate(scenario, seed=seed)
    wall = time.perf_counter() - t0
    engine = _ENGINE_SECONDS[-1] if len(_ENGINE_SECONDS) > n_engine else None
    calls = len(result.calls)  # every offered call, warm-up included (outside the timing)
    kpis = result.summary["kpis"]
    out = {
        "seconds": wall,
        "engine_seconds": engine,
        "calls": calls,
        "calls_per_s": calls / wall,
        "engine_calls_per_s": calls / engine if engine else None,
        "attempt_rows": len(result.records),
        "record_bytes": int(result.records.nbytes),
        "offered_after_warmup": kpis["offered"],
        "loss_probability": kpis["loss_probability"],
    }
    return out


def _machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (all CPUs, /proc/stat), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system  # children: the pool, once joined


def run_replications(scenario, seed: int, jobs: int) -> dict:
    """``REPLICATIONS`` replications of ``scenario`` on ``jobs`` local processes (records: the default).

    Also estimates the CPU taken by other processes meanwhile (machine busy time minus this process's and
    its children's), in cores: on 2 cores, anything above ~0.2 eats directly into the jobs=2 speed-up.
    """
    busy0, own0 = _machine_busy_seconds(), _own_cpu_seconds()
    t0 = time.perf_counter()
    result = simroute.simulate(scenario, seed=seed, replications=REPLICATIONS, jobs=jobs)
    wall = time.perf_counter() - t0
    busy1, own1 = _machine_busy_seconds(), _own_cpu_seconds()
    other = (
        max(0.0, (busy1 - busy0) - (own1 - own0)) / wall if busy0 is not None and busy1 is not None else None
    )
    calls = len(result.calls) * REPLICATIONS  # replication 0's offered calls (warm-up included) x n
    return {
        "jobs": jobs,
        "replications": REPLICATIONS,
        "seconds": wall,
        "approx_calls": calls,
        "calls_per_s": calls / wall,
        "offered_after_warmup_mean": result.summary["kpis"]["offered"],
        "cpu_seconds": own1 - own0,
        "other_load_cores": other,
    }


def replications_round(scenario, seed: int, round_index: int) -> dict:
    """jobs=1 and jobs=2 on the same seed; the order alternates between rounds to cancel drift."""
    order = (1, 2) if round_index % 2 == 0 else (2, 1)
    runs = {jobs: run_replications(scenario, seed, jobs) for jobs in order}
    return {
        "order": list(order),
        "jobs1": runs[1],
        "jobs2": runs[2],
        "speedup": runs[1]["seconds"] / runs[2]["seconds"],
    }


# --- baseline 1: a minimal SimPy loop ------------------------------------------------------------------
def run_simpy_loop(horizon: float, seed: int) -> dict:
    """One arrival process, numpy batches, a Timeout + callback per carried call, an integer channel count."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    state = {"busy": 0, "offered": 0, "blocked": 0}

    def release(_event):
        state["busy"] -= 1

    def arrivals(env):
        busy_cap = CHANNELS
        timeout = env.timeout
        while True:
            gaps = rng.exponential(1.0 / RATE, BATCH).tolist()
            holds = rng.exponential(MEAN_HOLD, BATCH).tolist()
            for gap, hold in zip(gaps, holds):
                if env.now + gap >= horizon:
                    return
                yield timeout(gap)
                state["offered"] += 1
                if state["busy"] < busy_cap:
                    state["busy"] += 1
                    timeout(hold).callbacks.append(release)
                else:
                    state["blocked"] += 1

    t0 = time.perf_counter()
    env.process(arrivals(env))
    env.run()  # like simroute: arrivals stop at the horizon, calls in progress finish
    wall = time.perf_counter() - t0
    calls = state["offered"]
    return {
        "seconds": wall,
        "calls": calls,
        "calls_per_s": calls / wall,
        "loss_probability": state["blocked"] / calls if calls else None,
    }


# --- baseline 2: Ciw -----------------------------------------------------------------------------------
def ciw_module():
    try:
        import ciw  # noqa: F401
    except ImportError:
        return None
    return ciw


def run_ciw(ciw, horizon: float, seed: int) -> dict:
    network = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=RATE)],
        service_distributions=[ciw.dists.Exponential(rate=1.0 / MEAN_HOLD)],
        number_of_servers=[CHANNELS],
        queue_capacities=[0],
    )
    ciw.seed(seed)
    t0 = time.perf_counter()
    sim = ciw.Simulation(network)
    sim.simulate_until_max_time(horizon)  # stops at the horizon (calls in progress are not finished)
    wall = time.perf_counter() - t0
    records = sim.get_all_records(only=["service", "rejection"], include_incomplete=True)
    blocked = sum(1 for r in records if r.record_type == "rejection")
    calls = len(records)
    return {
        "seconds": wall,
        "calls": calls,
        "calls_per_s": calls / wall,
        "loss_probability": blocked / calls if calls else None,
    }


# --- memory --------------------------------------------------------------------------------------------
def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def memory_probe(duration: float, seed: int) -> dict:
    """Run in a fresh child process: peak RSS delta of one simulate, then tracemalloc peak of another."""
    scenario = simroute.load_scenario(erlangb_scenario_dict(duration, seed))
    simroute.simulate(simroute.load_scenario(erlangb_scenario_dict(3600.0, seed)), seed=seed)  # warm imports
    out: dict = {}
    rss_ok = False
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS (VmHWM) mark
        rss_ok = True
    except OSError:
        pass
    base = _status_kib("VmRSS")
    result = simroute.simulate(scenario, seed=seed)
    rows = len(result.records)
    if rss_ok and base is not None:
        hwm = _status_kib("VmHWM")
        out["rss_peak_delta_bytes"] = (hwm - base) * 1024
        out["rss_peak_delta_bytes_per_row"] = (hwm - base) * 1024 / rows
    del result
    tracemalloc.start()
    result = simroute.simulate(scenario, seed=seed)
    retained, peak = tracemalloc.get_traced_memory()  # retained: what the Result still holds
    tracemalloc.stop()
    rows = len(result.records)
    out.update(
        {
            "attempt_rows": rows,
            "record_bytes": int(result.records.nbytes),
            "record_bytes_per_row": result.records.nbytes / rows,
            "tracemalloc_peak_bytes": peak,
            "tracemalloc_peak_bytes_per_row": peak / rows,
            "tracemalloc_retained_bytes": retained,
            "tracemalloc_retained_bytes_per_row": retained / rows,
        }
    )
    return out


def _peak_rss_kib() -> tuple[int, str]:
    """This process's peak resident size so far: VmHWM (Linux), else getrusage's ru_maxrss."""
    hwm = _status_kib("VmHWM")
    if hwm is not None:
        return hwm, "VmHWM"
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (maxrss // 1024 if sys.platform == "darwin" else maxrss), "ru_maxrss"  # bytes on macOS


def none_probe(calls: int, seed: int) -> dict:
    """Run in a fresh child process: one Erlang B simulate of ``calls`` offered calls, records="none".

    Reports the whole process's peak RSS (imports included, nothing else run before) and its RSS just
    before the call, so both the absolute peak and what the run added are visible.
    """
    duration = calls / RATE
    scenario = simroute.load_scenario(erlangb_scenario_dict(duration, seed))
    rss_before = _status_kib("VmRSS")
    t0 = time.perf_counter()
    result = simroute.simulate(scenario, seed=seed, records="none")
    wall = time.perf_counter() - t0
    peak_kib, source = _peak_rss_kib()
    offered = result.summary["kpis"]["offered"]  # warm-up 0: every offered call
    return {
        "calls_wanted": calls,
        "duration_s": duration,
        "calls": offered,
        "seconds": wall,
        "calls_per_s": offered / wall,
        "loss_probability": result.summary["kpis"]["loss_probability"],
        "peak_rss_bytes": peak_kib * 1024,
        "peak_rss_source": source,
        "rss_before_bytes": rss_before * 1024 if rss_before is not None else None,
        "peak_rss_delta_bytes": (peak_kib - rss_before) * 1024 if rss_before is not None else None,
    }


def _child(flag: str, arg: str, timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), flag, arg]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    if proc.returncode != 0:
        return {
            "error": proc.stderr.strip().splitlines()[-1]
            if proc.stderr.strip()
            else f"exit {proc.returncode}"
        }
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_in_child(duration: float, seed: int) -> dict:
    return _child("--_memory-probe", f"{duration}:{seed}", 600)


def none_in_child(calls: int, seed: int, timeout: float = 600) -> dict:
    return _child("--_none-probe", f"{calls}:{seed}", timeout)


# --- profile -------------------------------------------------------------------------------------------
def profile_erlangb(calls: int, seed: int, top: int = 15) -> None:
    """cProfile one Erlang B simulate (records kept, as in the rounds); print the top functions by tottime."""
    horizon = float(np.ceil(calls / RATE / 3600.0)) * 3600.0
    simroute.simulate(simroute.load_scenario(erlangb_scenario_dict(3600.0, 0)), seed=0)  # warm-up
    scenario = simroute.load_scenario(erlangb_scenario_dict(horizon, seed))
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    result = simroute.simulate(scenario, seed=seed)
    profiler.disable()
    wall = time.perf_counter() - t0
    n = len(result.calls)
    print(
        f"cProfile of one simroute Erlang B run: {n:,} calls, {wall:.2f} s under the profiler "
        f"({n / wall:,.0f} calls/s; profiling slows it down); top {top} by tottime"
    )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    start = text.find("   ncalls")  # drop pstats' header lines, keep the table
    print(text[start:].rstrip() if start >= 0 else text.rstrip())


# --- reporting -----------------------------------------------------------------------------------------
def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(value, spec=",.0f", none="-"):
    return none if value is None else format(value, spec)


def write_json_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual mode
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=5, help="rounds (each runs every benchmark once); default 5"
    )
    parser.add_argument("--quick", action="store_true", help="~30k calls per Erlang B run instead of ~200k")
    parser.add_argument(
        "--out", type=Path, default=HERE / "results.json", help="where to write the JSON results"
    )
    parser.add_argument("--seed", type=int, default=1000, help="seed of round 1 (round i uses seed + i - 1)")
    parser.add_argument(
        "--big",
        action="store_true",
        help=f"also run one {BIG_CALLS:,}-call records='none' Erlang B run in a child process "
        "(~1-2 min) and report its wall time and peak RSS",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="only cProfile one Erlang B run (~200k calls; --quick ~30k), print the top 15 "
        "functions by tottime and exit (results.json is not written)",
    )
    parser.add_argument("--_memory-probe", dest="memory_probe", help=argparse.SUPPRESS)
    parser.add_argument("--_none-probe", dest="none_probe", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_probe:
        duration, seed = args.memory_probe.split(":")
        print(json.dumps(memory_probe(float(duration), int(seed))))
        return 0
    if args.none_probe:
        calls, seed = args.none_probe.split(":")
        print(json.dumps(none_probe(int(calls), int(seed))))
        return 0
    if args.profile:
        profile_erlangb(CALLS["quick" if args.quick else "full"], args.seed)
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.rounds < 5:
        print(f"note: {args.rounds} round(s); medians and ratios are meant to be read from 5 or more")

    mode = "quick" if args.quick else "full"
    horizon = float(np.ceil(CALLS[mode] / RATE / 3600.0)) * 3600.0  # whole hours; 100 h in full mode
    realistic, realistic_duration = realistic_scenario_dict(REALISTIC_CALLS[mode])
    realistic_scenario = simroute.load_scenario(realistic)
    replicated, replicated_duration = realistic_scenario_dict(REPLICATION_CALLS[mode])
    replicated_scenario = simroute.load_scenario(replicated)
    engine_timer = _install_engine_timer()
    ciw = ciw_module()
    load_before = os.getloadavg()

    print(
        f"simroute benchmark ({mode}): {args.rounds} round(s); Erlang B M/M/{CHANNELS}/{CHANNELS} at "
        f"{ERLANGS:g} erlang over {horizon / 3600:g} h (~{RATE * horizon:,.0f} calls); quickstart over "
        f"{realistic_duration / 3600:g} h; {REPLICATIONS} replications x quickstart over "
        f"{replicated_duration / 3600:g} h on jobs=1 and jobs=2"
        + (f"; --big: {BIG_CALLS:,} calls" if args.big else "")
    )
    print(
        f"python {platform.python_version()}, simroute {simroute.__version__}, simpy {simpy.__version__}, "
        f"numpy {np.__version__}, "
        f"ciw {getattr(ciw, '__version__', '?') if ciw else 'not importable: skipped'}; "
        f"{os.cpu_count()} CPU(s), load {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
    )

    # untimed warm-up: imports, first-call caches
    short = 3600.0
    run_simpy_loop(short, 0)
    simroute.simulate(simroute.load_scenario(erlangb_scenario_dict(short, 0)), seed=0)
    if ciw:
        run_ciw(ciw, short, 0)
    warm = dict(realistic, duration=4 * 3600.0)
    simroute.simulate(simroute.load_scenario(warm), seed=0)
    simroute.simulate(simroute.load_scenario(warm), seed=0, replications=2, jobs=2)
    _ENGINE_SECONDS.clear()

    rounds = []
    for i in range(args.rounds):
        seed = args.seed + i
        row = {"round": i + 1, "seed": seed}
        row["simpy_loop"] = run_simpy_loop(horizon, seed)
        scenario = simroute.load_scenario(erlangb_scenario_dict(horizon, seed))  # loading is not timed
        row["simroute_erlangb"] = run_simroute(scenario, seed)
        row["ciw"] = run_ciw(ciw, horizon, seed) if ciw else None
        row["simroute_realistic"] = run_simroute(realistic_scenario, seed)
        row["replications"] = replications_round(replicated_scenario, seed, i)
        sr = row["simroute_erlangb"]["calls_per_s"]
        row["ratio_simroute_erlangb_vs_simpy_loop"] = sr / row["simpy_loop"]["calls_per_s"]
        row["ratio_simroute_erlangb_vs_ciw"] = sr / row["ciw"]["calls_per_s"] if ciw else None
        eng = row["simroute_erlangb"]["engine_calls_per_s"]
        row["ratio_simroute_erlangb_engine_vs_simpy_loop"] = (
            eng / row["simpy_loop"]["calls_per_s"] if eng else None
        )
        rounds.append(row)
        print(
            f"  round {i + 1}/{args.rounds}: simpy loop {row['simpy_loop']['calls_per_s']:,.0f}, "
            f"simroute erlang b {sr:,.0f}, ciw {fmt(row['ciw'] and row['ciw']['calls_per_s'])}, "
            f"simroute realistic {row['simroute_realistic']['calls_per_s']:,.0f} calls/s; "
            f"{REPLICATIONS} replications {row['replications']['jobs1']['seconds']:.2f} s on 1 process, "
            f"{row['replications']['jobs2']['seconds']:.2f} s on 2 (x{row['replications']['speedup']:.2f}; "
            f"other load meanwhile {fmt(row['replications']['jobs2']['other_load_cores'], '.2f')} cores)",
            flush=True,
        )

    memory = memory_in_child(horizon, args.seed)
    small_calls, large_calls = NONE_CALLS[mode]
    print(
        f"  records='none' memory runs in child processes: {small_calls:,} and {large_calls:,} calls"
        + (f", then {BIG_CALLS:,} (--big)" if args.big else ""),
        flush=True,
    )
    none_small = none_in_child(small_calls, args.seed)
    none_large = none_in_child(large_calls, args.seed)
    big = none_in_child(BIG_CALLS, args.seed, timeout=3600) if args.big else None

    def col(name, key="calls_per_s"):
        return [r[name][key] if r[name] else None for r in rounds]

    blocking_theory = erlang_b(ERLANGS, CHANNELS)
    medians = {
        "simpy_loop_calls_per_s": median(col("simpy_loop")),
        "simroute_erlangb_calls_per_s": median(col("simroute_erlangb")),
        "simroute_erlangb_engine_calls_per_s": median(col("simroute_erlangb", "engine_calls_per_s")),
        "ciw_calls_per_s": median(col("ciw")),
        "simroute_realistic_calls_per_s": median(col("simroute_realistic")),
        "simroute_realistic_engine_calls_per_s": median(col("simroute_realistic", "engine_calls_per_s")),
    }
    ratios = {
        "simroute_erlangb_vs_simpy_loop": median(r["ratio_simroute_erlangb_vs_simpy_loop"] for r in rounds),
        "simroute_erlangb_vs_ciw": median(r["ratio_simroute_erlangb_vs_ciw"] for r in rounds),
        "simroute_erlangb_engine_vs_simpy_loop": median(
            r["ratio_simroute_erlangb_engine_vs_simpy_loop"] for r in rounds
        ),
        "replications_jobs2_vs_jobs1_speedup": median(r["replications"]["speedup"] for r in rounds),
    }
    rep_j1 = [r["replications"]["jobs1"]["seconds"] for r in rounds]
    rep_j2 = [r["replications"]["jobs2"]["seconds"] for r in rounds]
    first = rounds[0]["simroute_erlangb"]
    bytes_per_row = first["record_bytes"] / first["attempt_rows"]
    load_after = os.getloadavg()

    # --- table ---------------------------------------------------------------------------------------
    lines = [
        "",
        f"{'benchmark':<28}{'calls/run':>11}{'median calls/s':>16}{'min':>11}{'max':>11}{'loss':>9}",
    ]
    theory_note = f"(Erlang B theory: loss {blocking_theory:.4f})"
    for label, name, key in [
        ("SimPy loop (baseline)", "simpy_loop", "calls_per_s"),
        ("simroute Erlang B", "simroute_erlangb", "calls_per_s"),
        ("  engine only", "simroute_erlangb", "engine_calls_per_s"),
        ("Ciw (baseline)", "ciw", "calls_per_s"),
        ("simroute quickstart", "simroute_realistic", "calls_per_s"),
        ("  engine only", "simroute_realistic", "engine_calls_per_s"),
    ]:
        values = [v for v in col(name, key) if v is not None]
        if not values:
            lines.append(f"{label:<28}{'skipped' if name == 'ciw' else 'n/a':>11}")
            continue
        calls = median(col(name, "calls"))
        loss = median(col(name, "loss_probability"))
        lines.append(
            f"{label:<28}{calls:>11,.0f}{median(values):>16,.0f}{min(values):>11,.0f}"
            f"{max(values):>11,.0f}{fmt(loss, '.4f'):>9}"
        )
    lines += [
        f"{theory_note}",
        "",
        "ratios (median of per-round ratios; >1 means simroute is faster):",
        f"  simroute Erlang B / SimPy loop          {fmt(ratios['simroute_erlangb_vs_simpy_loop'], '.3f')}",
        "  simroute Erlang B engine / SimPy loop   "
        f"{fmt(ratios['simroute_erlangb_engine_vs_simpy_loop'], '.3f')}",
        f"  simroute Erlang B / Ciw                 "
        f"{fmt(ratios['simroute_erlangb_vs_ciw'], '.3f', none='skipped (ciw not importable)')}",
        "",
        "memory (Erlang B run):",
        f"  records: {bytes_per_row:.1f} bytes per attempt row ({first['attempt_rows']:,} rows, "
        f"{first['record_bytes'] / 2**20:.1f} MiB)",
    ]
    if "error" in memory:
        lines.append(f"  memory probe failed: {memory['error']}")
    else:
        lines.append(
            f"  tracemalloc peak: {memory['tracemalloc_peak_bytes'] / 2**20:.1f} MiB = "
            f"{memory['tracemalloc_peak_bytes_per_row']:.0f} bytes per attempt row"
        )
        lines.append(
            f"  held by the Result after the run: {memory['tracemalloc_retained_bytes'] / 2**20:.1f} MiB = "
            f"{memory['tracemalloc_retained_bytes_per_row']:.0f} bytes per attempt row"
        )
        if "rss_peak_delta_bytes" in memory:
            lines.append(
                f"  peak RSS delta:   {memory['rss_peak_delta_bytes'] / 2**20:.1f} MiB = "
                f"{memory['rss_peak_delta_bytes_per_row']:.0f} bytes per attempt row"
            )

    def rss_line(label, probe):
        if probe is None:
            return None
        if "error" in probe:
            return f"  {label}: failed: {probe['error']}"
        delta = probe["peak_rss_delta_bytes"]
        return (
            f"  {label}: {probe['calls']:>11,} calls {probe['seconds']:7.2f} s {probe['calls_per_s']:>9,.0f} "
            f"calls/s  peak RSS {probe['peak_rss_bytes'] / 1e6:6.1f} MB"
            + (f" (run added {delta / 1e6:.1f} MB)" if delta is not None else "")
        )

    flat = (
        none_large["peak_rss_bytes"] / none_small["peak_rss_bytes"]
        if "error" not in none_small and "error" not in none_large
        else None
    )
    lines += [
        "",
        "records='none' (metrics only), each in a fresh child process, Erlang B:",
        rss_line("small", none_small),
        rss_line("large", none_large),
    ]
    if flat is not None:
        lines.append(
            f"  peak RSS large / small: {flat:.3f} for {large_calls / small_calls:g}x the calls "
            "(1.0 = flat in the number of calls)"
        )
    if big is not None:
        lines.append(rss_line("--big", big))
    lines += [
        "",
        f"replications: {REPLICATIONS} x quickstart over {replicated_duration / 3600:g} h "
        f"(~{median(r['replications']['jobs1']['approx_calls'] for r in rounds) / REPLICATIONS:,.0f} "
        "calls each), "
        f"same seed, {os.cpu_count()} CPU(s):",
        f"  jobs=1 median {median(rep_j1):.2f} s (min {min(rep_j1):.2f}, max {max(rep_j1):.2f})",
        f"  jobs=2 median {median(rep_j2):.2f} s (min {min(rep_j2):.2f}, max {max(rep_j2):.2f})",
        f"  speed-up jobs=2 / jobs=1 (median of per-round ratios): "
        f"{ratios['replications_jobs2_vs_jobs1_speedup']:.2f} (ideal 2.00 on 2 idle cores)",
    ]
    other = [r["replications"]["jobs2"]["other_load_cores"] for r in rounds]
    if all(o is not None for o in other):
        busy = [r for r, o in zip(rounds, other) if o > 0.2]
        clean = [r["replications"]["speedup"] for r, o in zip(rounds, other) if o <= 0.2]
        lines.append(
            f"  other processes' CPU during jobs=2: {min(other):.2f}-{max(other):.2f} cores; "
            f"{len(busy)} of {len(rounds)} round(s) above 0.2 cores"
            + (f"; median speed-up of the other rounds {median(clean):.2f}" if busy and clean else "")
        )
        ratios["replications_speedup_rounds_other_load_le_0_2"] = median(clean)
    lines.append(
        f"load average before/after: {load_before[0]:.2f} / {load_after[0]:.2f} on {os.cpu_count()} CPU(s)"
    )

    # --- targets -------------------------------------------------------------------------------------
    def target(name, measured, goal, op, unit="", stretch=None, skipped=None):
        if measured is None:
            met = None
        else:
            met = measured >= goal if op == ">=" else measured <= goal if op == "<=" else measured < goal
        entry = {"name": name, "measured": measured, "target": goal, "op": op, "unit": unit, "met": met}
        if stretch is not None:
            entry["stretch"] = stretch
            entry["stretch_met"] = None if measured is None else measured >= stretch
        if measured is None:
            entry["skipped"] = skipped
        return entry

    big_rss = big["peak_rss_bytes"] / 1e6 if big and "error" not in big else None
    targets = [
        target(
            "simroute Erlang B / SimPy loop (calls/s ratio)",
            ratios["simroute_erlangb_vs_simpy_loop"],
            TARGET_VS_SIMPY,
            ">=",
            stretch=STRETCH_VS_SIMPY,
        ),
        target(
            "simroute Erlang B / Ciw (calls/s ratio)",
            ratios["simroute_erlangb_vs_ciw"],
            TARGET_VS_CIW,
            ">=",
            skipped="ciw not importable",
        ),
        target(
            "simroute quickstart calls/s",
            medians["simroute_realistic_calls_per_s"],
            TARGET_REALISTIC,
            ">=",
            "calls/s",
        ),
        target("record bytes per attempt row", bytes_per_row, TARGET_BYTES_PER_ROW, "<=", "bytes"),
        target(
            f"{BIG_CALLS // 10**6}M-call records='none' peak RSS",
            big_rss,
            TARGET_BIG_RSS_MB,
            "<",
            "MB",
            skipped=f"run failed: {big['error']}" if big and "error" in big else "not run (use --big)",
        ),
    ]
    lines += ["", "targets:"]
    for t in targets:
        spec = ".3f" if t["unit"] == "" else ",.0f" if t["unit"] == "calls/s" else ".1f"
        measured = (
            t["skipped"] if t["measured"] is None else f"{format(t['measured'], spec)} {t['unit']}".strip()
        )
        goal = f"{t['op']} {format(t['target'], ',g')} {t['unit']}".strip()
        verdict = "-" if t["met"] is None else "MET" if t["met"] else "NOT MET"
        if t.get("stretch") is not None and t["measured"] is not None:
            goal += f" (stretch {t['stretch']:g})"
            verdict += f", stretch {'MET' if t['stretch_met'] else 'NOT MET'}"
        lines.append(f"  {t['name']:<46} {goal:<24} {measured:<30} {verdict}")
    print("\n".join(lines))

    results = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": mode,
        "rounds_requested": args.rounds,
        "machine": {
            "python": platform.python_version(),
            "implementation": platform.python_implementation(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "loadavg_before": list(load_before),
            "loadavg_after": list(load_after),
        },
        "versions": {
            "simroute": simroute.__version__,
            "simpy": simpy.__version__,
            "numpy": np.__version__,
            "ciw": getattr(ciw, "__version__", None) if ciw else None,
        },
        "ciw_skipped": ciw is None,
        "engine_timing": engine_timer,
        "model": {
            "erlangb": {
                "channels": CHANNELS,
                "erlangs": ERLANGS,
                "mean_holding_s": MEAN_HOLD,
                "rate_per_s": RATE,
                "horizon_s": horizon,
                "expected_calls": RATE * horizon,
                "erlang_b_loss_theory": blocking_theory,
            },
            "realistic": {
                "source": "scenarios/quickstart.yaml",
                "duration_s": realistic_duration,
                "changed": ["duration"],
            },
            "replications": {
                "source": "scenarios/quickstart.yaml",
                "duration_s": replicated_duration,
                "replications": REPLICATIONS,
                "jobs": [1, 2],
                "records": "attempts",
            },
            "records_none": {
                "model": "erlangb",
                "calls": [small_calls, large_calls],
                "big_calls": BIG_CALLS if args.big else None,
            },
        },
        "rounds": rounds,
        "medians": medians,
        "ratios": ratios,
        "memory": {"erlangb_record_bytes_per_row": bytes_per_row, **memory},
        "records_none": {
            "small": none_small,
            "large": none_large,
            "peak_rss_large_over_small": flat,
            "big": big,
        },
        "targets": targets,
    }
    write_json_atomic(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
