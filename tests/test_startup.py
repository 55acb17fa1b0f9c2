"""Start-up: importing simroute or its command line pulls in none of the heavy libraries (pandas, scipy,
matplotlib); they load when a DataFrame, a quantile or a plot is asked for. Checked in a fresh
interpreter by what is in ``sys.modules`` (a behaviour, not a timing)."""

import json
import subprocess
import sys

import pytest

from .paths import SCENARIOS

HEAVY = ("pandas", "scipy", "matplotlib")


def _loaded_after(code: str) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["simroute", "simroute.cli"])
def test_importing_loads_no_heavy_library(module):
    assert _loaded_after(f"import {module}") == []


def test_a_single_run_and_its_table_load_no_heavy_library():
    code = (
        "import contextlib, io, simroute.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    simroute.cli.main(['run', {str(SCENARIOS / 'quickstart.yaml')!r}, '--duration', '1h'])"
    )
    assert _loaded_after(code) == []


def test_a_dataframe_asked_for_loads_pandas():
    code = (
        "import simroute\n"
        f"r = simroute.simulate({str(SCENARIOS / 'quickstart.yaml')!r}, duration='1h')\n"
        "assert len(r.attempts) > 0 and len(r.replications) == 1"
    )
    assert _loaded_after(code) == ["pandas"]
