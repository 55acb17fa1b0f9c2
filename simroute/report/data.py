"""What a plot or a report reads, from a live :class:`~simroute.kpis.result.Result` or from the folder
``simroute run --out`` wrote (summary.json, scenario.json, concurrency.csv, intervals.csv, the records):
one shape for both, so the report of a folder shows the same pictures as the report of the run itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import SimrouteError
from ..io.files import atomic_path
from ..kpis.result import Result
from ..scenario.schema import Scenario, load_scenario

__all__ = [
    "write_report_inputs",
    "ReportData",
    "as_data",
    "concurrency_step",
    "load_folder",
    "scenario_json",
    "CONCURRENCY_FILE",
    "INTERVALS_FILE",
]

SCENARIO_FILE = "scenario.json"
CONCURRENCY_FILE = "concurrency.csv"
INTERVALS_FILE = "intervals.csv"
_STEPS = ("1min", "5min", "15min", "1h", "6h", "1D")
MAX_POINTS = 1000  # a year at one point a minute would be half a million points per line


def concurrency_step(duration: float) -> str:
    """The finest of 1 min, 5 min, 15 min, 1 h, 6 h, 1 day giving at most :data:`MAX_POINTS` points."""
    for step in _STEPS:
        if duration / pd.Timedelta(step).total_seconds() <= MAX_POINTS:
            return step
    return _STEPS[-1]


def scenario_json(scenario: Scenario) -> dict:
    """The scenario as plain JSON data that :func:`load_scenario` reads back into an equal Scenario."""
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)


@dataclass
class ReportData:
    """Everything a report shows. Only ``summary`` is always there; the rest is None when the run did
    not keep it (``records='none'``, or a folder written without it)."""

    summary: dict
    scenario: Scenario | None = None
    concurrency: pd.DataFrame | None = None  # busy channels, index seconds, columns ``trunk:NAME``...
    attempts: pd.DataFrame | None = None
    calls: pd.DataFrame | None = None
    replications: pd.DataFrame | None = None
    result: Result | None = None
    #: KPIs per interval of the local clock (:meth:`Result.intervals`: the run's ``--interval``, else 1 h)
    intervals: pd.DataFrame | None = None

    @property
    def confidence(self) -> float | None:
        return self.summary.get("confidence") if self.summary.get("ci95") else None


def _seconds_index(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    frame.index = pd.Index(pd.to_timedelta(frame.index).total_seconds(), name="seconds")
    return frame


def from_result(result: Result) -> ReportData:
    """A report's view of a run in memory (records read only if it kept them)."""
    conc = attempts = calls = None
    if result.records is not None:
        try:
            conc = _seconds_index(result.concurrency(concurrency_step(result.duration)))
        except SimrouteError:  # call records hold no holding intervals per trunk
            conc = None
        try:
            attempts = result.attempts
        except SimrouteError:
            attempts = None
        calls = result.calls
    reps = result.replications if result.replications is not None and len(result.replications) > 1 else None
    return ReportData(
        result.summary, result.scenario, conc, attempts, calls, reps, result, _intervals(result)
    )


def _intervals(result: Result) -> pd.DataFrame | None:
    """The run's KPIs per interval: at its own ``interval`` when it was given one, else hourly from the
    attempt records; None when it has neither."""
    step = result.summary.get("interval")
    try:
        return result.intervals(f"{step}s" if step else "1h")
    except SimrouteError:
        return None


def as_data(source) -> ReportData:
    """A :class:`ReportData` from a Result, a ReportData, or a results folder (path)."""
    if isinstance(source, ReportData):
        return source
    if isinstance(source, Result):
        return from_result(source)
    if isinstance(source, (str, Path)):
        return load_folder(source)
    raise TypeError(f"expected a Result, a ReportData or a results folder, got {type(source).__name__}")


def _read_table(folder: Path, stem: str) -> pd.DataFrame | None:
    for suffix, reader in ((".parquet", pd.read_parquet), (".csv", pd.read_csv)):
        path = folder / f"{stem}{suffix}"
        if path.is_file():
            if stem in ("attempts", "calls") and suffix == ".csv":
                text = {"did": str, "caller": str, "channel": str, "trunk": str}
                return pd.read_csv(path, dtype=text, keep_default_na=False)
            return reader(path)
    return None


def load_folder(folder) -> ReportData:
    """Read what ``simroute run --out FOLDER`` wrote; only summary.json is required."""
    folder = Path(folder)
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise SimrouteError(f"{folder}: no summary.json here (give the folder of a `simroute run --out`)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SimrouteError(f"{summary_path}: not valid JSON ({exc})") from None
    if not isinstance(summary, dict) or "kpis" not in summary:
        raise SimrouteError(f"{summary_path}: not a simroute summary (no 'kpis')")
    scenario = None
    if (folder / SCENARIO_FILE).is_file():
        scenario = load_scenario(json.loads((folder / SCENARIO_FILE).read_text(encoding="utf-8")))
    conc = None
    if (folder / CONCURRENCY_FILE).is_file():
        conc = pd.read_csv(folder / CONCURRENCY_FILE, index_col=0)
        conc.index.name = "seconds"
    reps = _read_table(folder, "replications")
    if reps is not None and "replication" in reps.columns:
        reps = reps.set_index("replication")
    attempts, calls = _read_table(folder, "attempts"), _read_table(folder, "calls")
    if calls is None and attempts is not None:
        calls = calls_from_attempts(attempts)
    intervals = None
    if (folder / INTERVALS_FILE).is_file():
        intervals = pd.read_csv(folder / INTERVALS_FILE, index_col=0)
        intervals.index = pd.DatetimeIndex(pd.to_datetime(intervals.index), name="time")
    return ReportData(summary, scenario, conc, attempts, calls, reps, intervals=intervals)


def calls_from_attempts(attempts: pd.DataFrame) -> pd.DataFrame:
    """The per-call columns a report plots, from attempt rows (a call arrives when its first attempt
    starts, and is answered on the attempt with code 200)."""
    by_call = attempts.groupby("call_id", sort=True)
    answered_rows = attempts[attempts["disconnect_code"] == 200].set_index("call_id")
    calls = pd.DataFrame({"time_arrival": by_call["time_start"].min()})
    calls["answered"] = calls.index.isin(answered_rows.index)
    connect = answered_rows["time_connect"].reindex(calls.index)
    calls["post_dial_delay"] = connect - calls["time_arrival"]
    return calls.reset_index()


def write_report_inputs(result: Result, folder) -> None:
    """Beside summary.json, what a later ``simroute report FOLDER`` needs that the summary lacks: the
    scenario (topology, caps, faults), the KPIs per interval (:func:`_intervals`) and, when attempts
    were kept, busy channels over time."""
    folder = Path(folder)
    with atomic_path(folder / SCENARIO_FILE) as tmp:
        tmp.write_text(json.dumps(scenario_json(result.scenario), indent=2) + "\n", encoding="utf-8")
    data = from_result(result)
    if data.concurrency is not None:
        with atomic_path(folder / CONCURRENCY_FILE) as tmp:
            data.concurrency.to_csv(tmp, float_format="%.6g")
    if data.intervals is not None:
        with atomic_path(folder / INTERVALS_FILE) as tmp:
            data.intervals.to_csv(tmp)
