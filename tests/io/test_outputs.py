"""The output folder and the command line's edges (issue 11 items 1, 8, 10, 13, 14; 5's last resort).

A failed write (a full disk) exits 2 with one line and leaves the previous run's files; a folder holds
one run's files as a set (a manifest written last, stale files of an earlier run removed, an unwritable
folder found before the run); bad option values are one line and exit 2; a reader that goes away ends
the run quietly; a run with no traffic keeps every KPI key under replications and batches.
"""

from __future__ import annotations

import errno
import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

import simroute
from simroute import api
from simroute.cli import main
from simroute.experiments.intervals import flatten

from ..paths import SCENARIOS

QUICKSTART = SCENARIOS / "quickstart.yaml"
ZERO = """\
name: zero
duration: 1h
trunks:
  - name: t
dids:
  - number: "4930111"
    route: {trunk: t}
"""


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def one_error_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("simroute: error: "), err
    assert "Traceback" not in err
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture()
def previous(tmp_path) -> tuple[Path, dict[str, bytes]]:
    out = tmp_path / "out"
    code, _, err = run("run", QUICKSTART, "--duration", "40m", "--out", out)
    assert code == 0, err
    return out, snapshot(out)


# ------------------------------------------------------------------------- 11.1: a full disk


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
@pytest.mark.parametrize("where", ["last-write", "close"])
def test_a_failed_write_of_streamed_records_exits_2_and_keeps_the_previous_files(
    previous, monkeypatch, fmt, where
):
    out, before = previous
    if fmt == "parquet":
        import pyarrow.parquet as pq

        name = "close" if where == "close" else "write_table"
        monkeypatch.setattr(pq.ParquetWriter, name, _enospc)
    else:
        if where == "close":
            pytest.skip("CSV chunks are appended and closed by pandas at each write")
        monkeypatch.setattr(pd.DataFrame, "to_csv", _enospc)
    code, stdout, err = run("run", QUICKSTART, "--records", "stream", "--out", out, "--format", fmt)
    assert code == 2 and stdout == ""
    assert "No space left on device" in one_error_line(err)
    assert snapshot(out) == before


def test_a_full_disk_while_writing_kept_records_keeps_the_previous_files(previous, monkeypatch):
    out, before = previous
    monkeypatch.setattr(pd.DataFrame, "to_csv", _enospc)
    code, _, err = run("run", QUICKSTART, "--out", out, "--format", "csv")
    assert code == 2 and "No space left" in one_error_line(err)
    assert snapshot(out) == before


# ------------------------------------------------------------------- 11.10: one run's set of files


def test_files_of_an_earlier_run_do_not_stay_beside_a_new_summary(tmp_path):
    out = tmp_path / "out"
    assert (
        run(
            "run",
            QUICKSTART,
            "--duration",
            "40m",
            "--records",
            "calls",
            "--replications",
            "2",
            "--out",
            out,
            "--format",
            "csv",
        )[0]
        == 0
    )
    assert {"calls.csv", "replications.csv"} <= set(snapshot(out))
    assert run("run", QUICKSTART, "--duration", "40m", "--out", out, "--format", "csv")[0] == 0
    names = sorted(snapshot(out))
    assert names == [
        "attempts.csv",
        "concurrency.csv",
        "intervals.csv",
        "manifest.json",
        "scenario.json",
        "summary.json",
    ], names
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert summary["files"] == [n for n in names if n != "manifest.json"] == sorted(manifest["files"])
    assert manifest["run"]["scenario"] == "quickstart" and manifest["run"]["duration"] == 2400


def test_files_from_before_manifests_are_replaced_too(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "attempts.parquet").write_bytes(b"old")
    (out / "replications.csv").write_text("old\n")
    (out / "notes.txt").write_text("mine\n")  # not simroute's: left alone
    assert run("run", QUICKSTART, "--duration", "40m", "--out", out, "--format", "csv")[0] == 0
    assert sorted(snapshot(out)) == [
        "attempts.csv",
        "concurrency.csv",
        "intervals.csv",
        "manifest.json",
        "notes.txt",
        "scenario.json",
        "summary.json",
    ]


def test_an_unwritable_out_is_found_before_the_run(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("x")

    def never(*_a, **_k):
        raise AssertionError("the simulation ran before --out was checked")

    monkeypatch.setattr(api, "simulate", never)
    for out in (blocker, blocker / "sub"):
        code, _, err = run("run", QUICKSTART, "--out", out)
        assert code == 2
        one_error_line(err)


def test_the_same_run_gives_the_same_manifest(tmp_path):
    for name in ("a", "b"):
        assert (
            run("run", QUICKSTART, "--duration", "40m", "--out", tmp_path / name, "--format", "csv")[0] == 0
        )
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")


# ---------------------------------------------------------------------- 11.13: option values


@pytest.mark.parametrize(
    "args",
    [
        ("run", QUICKSTART, "--batches", "1"),
        ("run", QUICKSTART, "--batches", "-3"),
        ("run", QUICKSTART, "--replications", "0"),
        ("run", QUICKSTART, "--replications", "-2"),
        ("run", QUICKSTART, "--confidence", "1.5"),
        ("run", QUICKSTART, "--confidence", "nan"),
        ("run", QUICKSTART, "--confidence", "0"),
        ("run", QUICKSTART, "--jobs", "0"),
        ("run", QUICKSTART, "--records", "stream", "--replications", "3", "--out", "OUT"),
        ("compare", QUICKSTART, QUICKSTART, "--replications", "1"),
        ("compare", QUICKSTART, QUICKSTART, "--confidence", "nan"),
        ("run", QUICKSTART, "--max-memory", "lots"),
    ],
    ids=lambda a: " ".join(str(x) for x in a[2:] if not isinstance(x, Path)),
)
def test_bad_option_values_are_one_line_and_exit_2(tmp_path, args):
    args = [tmp_path / "out" if a == "OUT" else a for a in args]
    code, out, err = run(*args)
    assert code == 2 and out == ""
    one_error_line(err)
    assert not (tmp_path / "out").exists()


def test_streamed_records_with_batches_are_written(tmp_path):
    out = tmp_path / "out"
    code, _, err = run(
        "run", QUICKSTART, "--records", "stream", "--batches", "3", "--out", out, "--format", "csv"
    )
    assert code == 0, err
    frame = pd.read_csv(out / "attempts.csv")
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["batches"] == 3 and frame["call_id"].nunique() > 0
    assert {"attempts.csv", "replications.csv", "summary.json"} <= set(summary["files"])


class _GoneReader(io.StringIO):
    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def test_a_reader_that_goes_away_ends_the_run_quietly():
    err = io.StringIO()
    with redirect_stdout(_GoneReader()), redirect_stderr(err):
        code = main(["run", str(QUICKSTART), "--duration", "40m"])
    assert code == 141 and err.getvalue() == ""


def test_out_of_memory_anyway_is_one_line_and_exit_2(monkeypatch):
    def exhausted(*_a, **_k):
        raise MemoryError

    monkeypatch.setattr(api, "simulate", exhausted)
    code, _, err = run("run", QUICKSTART)
    assert code == 2 and "--records none" in one_error_line(err)


# ------------------------------------------------------------ 11.8: zero traffic, every KPI key


@pytest.mark.parametrize(
    "how", [("--replications", "2"), ("--batches", "3")], ids=["replications", "batches"]
)
def test_zero_traffic_keeps_every_kpi_key(tmp_path, how):
    path = tmp_path / "zero.yaml"
    path.write_text(ZERO, encoding="utf-8")
    code, out, err = run("run", path, "--json")
    assert code == 0, err
    single = json.loads(out)
    code, out, err = run("run", path, "--json", *how, "--out", tmp_path / "out")
    assert code == 0, err
    many = json.loads(out)
    assert many["kpis"]["outcomes"] == {} and many["kpis"]["offered"] == 0
    assert set(flatten(single["kpis"])) <= set(flatten(many["kpis"]))
    assert set(single) - {"files"} <= set(many)
    leaves = [v for v in many["kpis"].values() if not isinstance(v, dict)]
    assert all(v is None or math.isfinite(v) for v in leaves), many["kpis"]
    code, out, _ = run("run", path, *how)
    assert code == 0 and "offered" in out  # the table too (it failed on the missing outcomes)


def test_zero_traffic_through_the_api():
    result = simroute.simulate(
        {
            "name": "z",
            "duration": "1h",
            "trunks": [{"name": "t"}],
            "dids": [{"number": "1", "route": {"trunk": "t"}}],
        },
        replications=2,
    )
    assert result.summary["kpis"]["outcomes"] == {} and result.summary["ci95"]["kpis"]["outcomes"] == {}
