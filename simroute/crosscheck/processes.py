"""The lab's processes: Kamailio and SIPp on 127.0.0.1, started on free ports and always stopped.

Every process is started in its own session and stopped by its PID when the lab closes, on success,
error or Ctrl-C alike; every wait is bounded in time.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from ..errors import SimrouteError

__all__ = ["LabError", "free_udp_ports", "Processes", "tools_missing"]

KAMAILIO = "kamailio"
SIPP = "sipp"


class LabError(SimrouteError):
    """The lab could not run (a tool missing, a process that died, a bounded wait that ran out)."""


def tools_missing() -> list[str]:
    """The lab's programs not found on PATH (or in /usr/sbin, where Debian puts kamailio)."""
    missing = []
    for tool in (KAMAILIO, SIPP):
        if shutil.which(tool) is None and shutil.which(tool, path="/usr/sbin:/sbin") is None:
            missing.append(tool)
    return missing


def _binary(tool: str) -> str:
    found = shutil.which(tool) or shutil.which(tool, path="/usr/sbin:/sbin")
    if found is None:
        raise LabError(f"{tool} is not installed (Debian: apt-get install kamailio sip-tester)")
    return found


def free_udp_ports(n: int) -> list[int]:
    """``n`` distinct UDP ports on 127.0.0.1 that are free now (never 5060)."""
    socks: list[socket.socket] = []
    ports: list[int] = []
    try:
        while len(ports) < n:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
            socks.append(s)
            if port != 5060:
                ports.append(port)
    finally:
        for s in socks:
            s.close()
    return ports


class Processes:
    """A context that starts the lab's processes and stops every one of them on exit."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def __enter__(self) -> Processes:
        return self

    def __exit__(self, *exc) -> None:
        self.stop_all()

    def start(self, name: str, argv: list[str], log: str) -> subprocess.Popen:
        argv = [_binary(argv[0]), *argv[1:]]
        out = open(self.folder / log, "wb")  # noqa: SIM115 - closed when the process is reaped
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.folder,
            start_new_session=True,
        )
        out.close()
        self.procs.append((name, proc))
        return proc

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                raise LabError(f"{name} exited early with code {proc.returncode} (see {self.folder})")

    def wait(self, proc: subprocess.Popen, name: str, timeout: float) -> int:
        """Wait at most ``timeout`` s for ``proc``; a lab that runs over is stopped and refused."""
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise LabError(f"{name} did not finish within {timeout:.0f} s (see {self.folder})") from None

    def stop_all(self, grace: float = 3.0) -> None:
        """SIGTERM to every process group still running, SIGKILL after ``grace`` seconds."""
        for _, proc in self.procs:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for _, proc in self.procs:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=5)
