"""The command line run inside the test process (no interpreter start-up per case), its output
captured: one helper for every test file that calls ``simroute``."""

from __future__ import annotations

import contextlib
import io

from simroute.cli import main


def run_cli(*argv) -> tuple[int | str | None, str, str]:
    """``main(argv)`` with its output captured: (exit code, stdout, stderr); argparse exits count too."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code
    return code, out.getvalue(), err.getvalue()
