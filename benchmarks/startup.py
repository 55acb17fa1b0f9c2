"""Start-up: the CPU a planner waits for before and around a small run.

Each case's child starts one more interpreter (the command measured) and reads its CPU time and peak
RSS from ``resource.getrusage(RUSAGE_CHILDREN)``, so the figure is that command's alone, imports included.
The command runs once untimed first, so that it then starts with compiled byte code, as installed.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time

HEAVY = ("pandas", "scipy", "matplotlib")


def _installed_env(cache: str) -> dict:
    """The environment of a command as an installed simroute runs: byte code compiled once and reused
    (pip compiles it on install), kept in ``cache`` so that no .pyc is written into the tree. Without
    it, a checkout run with PYTHONDONTWRITEBYTECODE compiles every simroute module on every start."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    return env


def _measure(cmd: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        env = _installed_env(cache)
        subprocess.run(cmd, capture_output=True, text=True, env=env)  # untimed: compiles the byte code
        return _timed(cmd, env)


def _timed(cmd: list[str], env: dict) -> dict:
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    peak = r1.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return {"seconds": wall, "cpu_seconds": cpu, "command_peak_rss_bytes": peak, "stdout": proc.stdout}


def cli_run(scenario: str = "scenarios/quickstart.yaml") -> dict:
    """``simroute run scenarios/quickstart.yaml`` (the table printed, nothing written): goal < 0.45 s CPU."""
    out = _measure([sys.executable, "-m", "simroute.cli", "run", scenario])
    out.pop("stdout")
    return {**out, "rss_before_bytes": None}


def import_simroute(module: str = "simroute") -> dict:
    """``python -c "import simroute"``: CPU, and which of pandas/scipy/matplotlib the import pulled in."""
    code = f"import sys, {module}; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = _measure([sys.executable, "-c", code])
    heavy = out.pop("stdout").strip()
    return {**out, "heavy_modules_imported": heavy.split(",") if heavy else [], "rss_before_bytes": None}


def python_bare() -> dict:
    """``python -c pass``: the interpreter's own start-up, for scale."""
    out = _measure([sys.executable, "-c", "pass"])
    out.pop("stdout")
    return {**out, "rss_before_bytes": None}
