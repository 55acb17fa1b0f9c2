"""The ``simroute`` console command's first steps: Ctrl-C ends quietly even while Python imports numpy,
pandas and the rest (seconds on a loaded machine), before :mod:`simroute.cli` can catch anything; and
the environment is set so that those imports start no work the command does not use."""

from __future__ import annotations

import os
import signal
import sys
import threading

__all__ = ["main", "guard_start_up"]


def _interrupted(signum, _frame):  # pragma: no cover - exercised in a subprocess
    """Nothing is written yet during start-up: say so and leave at once (no traceback from an import)."""
    if signum == signal.SIGINT:
        os.write(2, b"simroute: interrupted\n")
        os._exit(130)
    os._exit(128 + signum)


#: Set for the command's process (and its workers) unless the user set any of them: OpenBLAS reads the
#: first three. Its threads, one a core, start with numpy and spin for work no command gives them (a
#: run does no linear algebra): tens of ms of CPU, a tenth of a small run's.
_ONE_BLAS_THREAD = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def _lean_start_up() -> None:
    """What the command's environment saves at start-up, before numpy and pydantic load."""
    if not any(name in os.environ for name in _ONE_BLAS_THREAD):
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
    # (pydantic's plugin scan, about 10 ms, stays: a user's pydantic plugin must not go quiet in the CLI)


def guard_start_up() -> None:
    """Until :func:`simroute.cli.main` takes over, SIGINT and SIGTERM end the process in one line."""
    _lean_start_up()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _interrupted)
        signal.signal(signal.SIGTERM, _interrupted)
        from .io.files import checkpoint  # a leaf module: no numpy, no pandas

        checkpoint("start-up")


def main() -> int:
    guard_start_up()
    import importlib

    # the heavy imports; by name, so that simroute.cli may import this module for its own start-up
    return importlib.import_module("simroute.cli").main()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
