"""Start-up: importing simroute or its command line pulls in none of the heavy libraries (pandas, scipy,
matplotlib), nor a single run the machinery of process pools; they load when a DataFrame, a quantile, a
plot or a pool is asked for. Checked in a fresh interpreter by what is in ``sys.modules`` (a behaviour,
not a timing); and the command's environment keeps what the user set."""

import json
import os
import subprocess
import sys

import pytest

from simroute import console

from .paths import SCENARIOS

HEAVY = ("pandas", "scipy", "matplotlib")


def _loaded_after(code: str, watched: tuple[str, ...] = HEAVY) -> list[str]:
    probe = f"import sys, json\n{code}\nprint(json.dumps([m for m in {watched!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("module", ["simroute", "simroute.cli"])
def test_importing_loads_no_heavy_library(module):
    assert _loaded_after(f"import {module}") == []


_SINGLE_RUN = (
    "import contextlib, io, simroute.cli\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    f"    simroute.cli.main(['run', {str(SCENARIOS / 'quickstart.yaml')!r}, '--duration', '1h'])"
)


def test_a_single_run_and_its_table_load_no_heavy_library():
    assert _loaded_after(_SINGLE_RUN) == []


def test_a_single_run_starts_no_pool_machinery():
    assert _loaded_after(_SINGLE_RUN, ("concurrent.futures", "multiprocessing")) == []


def test_a_dataframe_asked_for_loads_pandas():
    code = (
        "import simroute\n"
        f"r = simroute.simulate({str(SCENARIOS / 'quickstart.yaml')!r}, duration='1h')\n"
        "assert len(r.attempts) > 0 and len(r.replications) == 1"
    )
    assert _loaded_after(code) == ["pandas"]


_START_UP_ENV = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")


def test_the_command_asks_for_one_blas_thread_and_keeps_pydantic_plugins(monkeypatch):
    for name in (*_START_UP_ENV, "PYDANTIC_DISABLE_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    console._lean_start_up()
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    assert "PYDANTIC_DISABLE_PLUGINS" not in os.environ


@pytest.mark.parametrize("name", ["OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"])
def test_the_command_keeps_the_threads_a_user_chose(monkeypatch, name):
    for other in _START_UP_ENV:
        monkeypatch.delenv(other, raising=False)
    monkeypatch.setenv(name, "4")
    console._lean_start_up()
    assert {n: os.environ.get(n) for n in _START_UP_ENV} == {**dict.fromkeys(_START_UP_ENV), name: "4"}
