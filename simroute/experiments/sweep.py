"""A sweep: the grid of every combination of the varied fields, each point run with replications on
common random numbers, as one tidy table (a row per point, every KPI with its interval).

Finished points go to a journal (``points.jsonl`` in the output folder) the moment they are complete, so
an interrupted sweep keeps them and ``resume`` runs only the points still missing. The journal starts with
a fingerprint of the sweep (scenario, grid, seed, run length, replications, precision): resuming a
different sweep into the same folder is refused rather than mixed.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..engine.network import compile_network
from ..errors import SimrouteError
from ..scenario.schema import Scenario
from .intervals import estimates
from .precision import Precision, Rounds, run_rounds
from .replications import replications_table
from .vary import FieldPath, apply, parse_values, resolve

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Grid", "SweepSpec", "grid", "run_sweep", "JOURNAL"]

JOURNAL = "points.jsonl"


@dataclass(frozen=True)
class Grid:
    """The varied fields (resolved paths) and every combination of their values, in order."""

    paths: tuple[FieldPath, ...]
    points: tuple[tuple, ...]

    @property
    def columns(self) -> list[str]:
        return [p.text for p in self.paths]


def grid(scenario: Scenario, vary) -> Grid:
    """``vary``: ``{path: values}`` or ``[(path, values)]``; values a list or a ``20:60:5`` text."""
    pairs = list(vary.items()) if isinstance(vary, dict) else list(vary)
    if not pairs:
        raise SimrouteError("a sweep needs at least one --vary PATH=VALUES")
    paths: list[FieldPath] = []
    lists: list[list] = []
    for path, values in pairs:
        resolved = resolve(scenario, path)
        if resolved.text in [p.text for p in paths]:
            raise SimrouteError(f"--vary {path}: the same field is varied twice")
        paths.append(resolved)
        lists.append(parse_values(values) if isinstance(values, str) else list(values))
    return Grid(tuple(paths), tuple(itertools.product(*lists)))


@dataclass(frozen=True)
class SweepSpec:
    """Everything that decides a sweep's numbers (and so its journal's fingerprint)."""

    scenario: Scenario
    grid: Grid
    seed: int
    horizon: float
    warmup: float
    rounds: Rounds
    confidence: float
    precision: Precision | None

    def fingerprint(self) -> str:
        text = json.dumps(
            {
                "scenario": self.scenario.model_dump(mode="json"),
                "vary": [
                    [p.text, [list(pt)[i] for pt in self.grid.points]] for i, p in enumerate(self.grid.paths)
                ],
                "seed": self.seed,
                "horizon": self.horizon,
                "warmup": self.warmup,
                "rounds": [self.rounds.first, self.rounds.size, self.rounds.budget],
                "confidence": self.confidence,
                "precision": None if self.precision is None else repr(self.precision),
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def point_row(spec: SweepSpec, values: tuple, summaries: list[dict], precision: dict | None) -> dict:
    """The tidy row of one point: its values, replications, and per KPI the mean, low and high."""
    frame = replications_table(summaries)
    table = estimates(frame, spec.confidence)
    row: dict = dict(zip(spec.grid.columns, values))
    row["replications"] = len(summaries)
    if precision is not None:
        row["precision_met"] = precision["met"]
    few = [str(kpi) for kpi in table.index[table["method"] != "t"]]
    row["few_events"] = ";".join(few)
    for kpi, r in table.iterrows():
        row[kpi] = _plain(r["mean"])
        row[f"{kpi}.low"] = _plain(r["low"])
        row[f"{kpi}.high"] = _plain(r["high"])
    return row


def _plain(value):
    value = float(value)
    return None if not np.isfinite(value) else value


class Journal:
    """Finished points of one sweep, one JSON line each, appended and flushed as they finish."""

    def __init__(self, folder: Path | None, fingerprint: str, resume: bool):
        self.rows: dict[int, dict] = {}
        self.path = None if folder is None else Path(folder) / JOURNAL
        if self.path is None:
            if resume:
                raise SimrouteError("--resume continues the sweep saved in --out: give its folder")
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists() and resume:
            self._read(fingerprint)
        elif self.path.exists() and self.path.stat().st_size:
            raise SimrouteError(
                f"{self.path}: a sweep was already saved here; use --resume to continue it, "
                "or another --out folder"
            )
        if not self.rows:
            with open(self.path, "w", encoding="utf-8") as f:
                f.write(json.dumps({"sweep": fingerprint}) + "\n")

    def _read(self, fingerprint: str) -> None:
        assert self.path is not None
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            head = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            head = {}
        if head.get("sweep") != fingerprint:
            raise SimrouteError(
                f"{self.path}: saved by a different sweep (scenario, grid, seed or run length changed); "
                "give another --out folder to start afresh"
            )
        for line in lines[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:  # the last line of a run killed while writing it
                continue
            self.rows[int(entry["point"])] = entry["row"]

    def add(self, index: int, row: dict) -> None:
        self.rows[index] = row
        if self.path is not None:
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"point": index, "row": row}) + "\n")
                f.flush()
                os.fsync(f.fileno())


def run_sweep(
    spec: SweepSpec,
    executor,
    *,
    out: Path | None = None,
    resume: bool = False,
    progress=None,
    on_point: Callable[[int, dict], None] | None = None,
) -> pd.DataFrame:
    """Run the points of ``spec`` not yet in the journal and return the whole table, in grid order.

    ``progress`` (a :class:`~simroute.experiments.progress.Progress`) advances per replication;
    ``on_point(index, row)`` is called as each point finishes (and may raise to stop the sweep).
    """
    journal = Journal(out, spec.fingerprint(), resume)
    todo = [i for i in range(len(spec.grid.points)) if i not in journal.rows]
    networks: dict = {}
    for i in todo:
        values = spec.grid.points[i]
        variant = apply(spec.scenario, list(zip(spec.grid.paths, values)))
        networks[i] = compile_network(variant)
    windows = [(spec.warmup, spec.horizon)]
    states: dict[int, dict | None] = {}

    def decide(key, summaries):
        if spec.precision is None:
            return True
        met, report = spec.precision.narrow_enough(replications_table([s[0] for s in summaries]))
        states[key] = {"met": met, "kpis": report}
        return met

    def finished(key, summaries):
        row = point_row(spec, spec.grid.points[key], [s[0] for s in summaries], states.get(key))
        journal.add(key, row)
        if on_point is not None:
            on_point(key, row)

    run_rounds(
        networks,
        np.random.SeedSequence(spec.seed),
        spec.horizon,
        windows,
        spec.rounds,
        decide,
        executor,
        finished,
        on_replication=None if progress is None else progress.advance,
        on_round=None if progress is None else progress.grow,
    )
    import pandas as pd

    rows = [journal.rows[i] for i in range(len(spec.grid.points))]
    frame = pd.DataFrame(rows)
    frame.index.name = "point"
    frame.attrs["resumed_points"] = len(spec.grid.points) - len(todo)
    return frame
