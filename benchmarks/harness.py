"""The benchmark harness: every case in a fresh process, rounds interleaved, medians, ratios within a round.

A case is a function ``case(**params) -> dict`` in one of the benchmark modules. The harness runs it in
a new interpreter (``python -m benchmarks.harness MODULE FUNC PARAMS``), so nothing one case imported,
cached or allocated is seen by the next: peak memory is the case's own (``resource.getrusage`` in the
child) and import costs land where they belong. Each round runs every case once, in an order rotated
by one per round, so drift and neighbours do not favour one case; ratios to a reference case are taken
within the round, then the median over rounds is reported.
"""

from __future__ import annotations

import dataclasses
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

__all__ = [
    "Case",
    "Timed",
    "machine",
    "median",
    "run_rounds",
    "timed",
    "write_json_atomic",
]


@dataclasses.dataclass(frozen=True)
class Case:
    """One benchmark: ``module.func(**params)`` run in a fresh process; ``name`` keys its results."""

    name: str
    module: str
    func: str
    params: dict = dataclasses.field(default_factory=dict)
    timeout: float = 1800.0


# --- in the child ---------------------------------------------------------------------------------------
def _rss_bytes() -> int | None:
    """Resident size now (Linux /proc/self/statm), or None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # kilobytes on Linux, bytes on macOS


@dataclasses.dataclass
class Timed:
    """What :func:`timed` measured around the timed part of a case."""

    value: Any
    seconds: float
    cpu_seconds: float
    rss_before_bytes: int | None

    def fields(self) -> dict:
        return {
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "rss_before_bytes": self.rss_before_bytes,
        }


def timed(fn: Callable[[], Any]) -> Timed:
    """Run ``fn`` once: wall and CPU seconds, and the resident size just before (the peak comes after)."""
    before = _rss_bytes()
    c0, t0 = time.process_time(), time.perf_counter()
    value = fn()
    t1, c1 = time.perf_counter(), time.process_time()
    return Timed(value, t1 - t0, c1 - c0, before)


def _child_main(argv: list[str]) -> int:
    module_name, func, params = argv
    import importlib

    fn = getattr(importlib.import_module(module_name), func)
    out = fn(**json.loads(params))
    out["peak_rss_bytes"] = _peak_rss_bytes()
    before = out.get("rss_before_bytes")
    if before is not None:
        out["peak_rss_delta_bytes"] = max(0, out["peak_rss_bytes"] - before)
        if out.get("rows"):
            out["peak_rss_delta_bytes_per_row"] = out["peak_rss_delta_bytes"] / out["rows"]
    if out.get("calls"):  # per-call cost from CPU time: steadier than wall time on a shared machine
        out["calls_per_s"] = out["calls"] / out["seconds"]
        out["cpu_calls_per_s"] = out["calls"] / out["cpu_seconds"]
        out["us_per_call"] = 1e6 * out["cpu_seconds"] / out["calls"]
    sys.stdout.write("\n" + json.dumps(out) + "\n")
    return 0


# --- in the parent --------------------------------------------------------------------------------------
def _machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy (all CPUs, /proc/stat), or None off Linux."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    except (OSError, ValueError):
        return None
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_case(case: Case, tree: Path) -> dict:
    """Run ``case`` in a fresh interpreter with ``tree`` (the simroute checkout under test) first on the path.

    Adds ``other_load_cores``: the machine's busy CPU time minus the child's, over the wall time (what
    other processes took meanwhile; on 2 shared cores, anything above ~0.2 distorts the figure).
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(tree), str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "benchmarks.harness", case.module, case.func, json.dumps(case.params)]
    busy0, cpu0, t0 = _machine_busy_seconds(), _children_cpu_seconds(), time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=case.timeout, env=env, cwd=tree)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {case.timeout:g} s"}
    wall = time.perf_counter() - t0
    busy1, cpu1 = _machine_busy_seconds(), _children_cpu_seconds()
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["process_seconds"] = wall
    out["process_cpu_seconds"] = cpu1 - cpu0
    if busy0 is not None and busy1 is not None:
        out["other_load_cores"] = max(0.0, (busy1 - busy0) - (cpu1 - cpu0)) / wall
    return out


def run_rounds(
    cases: list[Case], rounds: int, tree: Path, progress: Callable[[str], None] = print
) -> list[dict]:
    """``rounds`` rounds of every case, each in a fresh process; round ``r`` starts at case ``r``."""
    out = []
    for r in range(rounds):
        shift = r % len(cases) if cases else 0
        order = cases[shift:] + cases[:shift]
        load_before = os.getloadavg()
        results = {}
        for case in order:
            results[case.name] = run_case(case, tree)
            progress(f"  round {r + 1}/{rounds} {case.name}: {brief(results[case.name])}")
        out.append(
            {
                "round": r + 1,
                "order": [c.name for c in order],
                "loadavg_before": list(load_before),
                "loadavg_after": list(os.getloadavg()),
                "cases": results,
            }
        )
    return out


def brief(result: dict) -> str:
    if "error" in result:
        return "FAILED: " + result["error"]
    parts = [f"{result['seconds']:.2f} s"]
    if result.get("calls"):
        parts.append(f"{result['calls']:,} calls, {result['us_per_call']:.2f} us/call")
    parts.append(f"peak RSS {result['peak_rss_bytes'] / 1e6:.0f} MB")
    if result.get("other_load_cores") is not None:
        parts.append(f"other load {result['other_load_cores']:.2f} cores")
    return ", ".join(parts)


# --- summaries ------------------------------------------------------------------------------------------
def median(values: Iterable[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return statistics.median(kept) if kept else None


def values(rounds: list[dict], case: str, key: str) -> list[float | None]:
    """``key`` of ``case`` in every round (None where the case failed or lacks it)."""
    return [r["cases"].get(case, {}).get(key) for r in rounds]


def ratio_per_round(rounds: list[dict], num: str, den: str, key: str) -> list[float | None]:
    """``num``'s ``key`` over ``den``'s, within each round."""
    out = []
    for a, b in zip(values(rounds, num, key), values(rounds, den, key)):
        out.append(a / b if a is not None and b else None)
    return out


def machine() -> dict:
    import platform

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "loadavg": list(os.getloadavg()),
    }


def write_json_atomic(path: Path, data: dict) -> None:
    """Temp file in the same folder, then ``os.replace``: never a half-written results file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
