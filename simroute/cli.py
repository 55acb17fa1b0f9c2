"""The ``simroute`` command: a thin shell over the Python API (:mod:`simroute.api`)."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import api
from .errors import SimrouteError
from .outputs import to_json, write_json, write_records
from .report import kpi_table
from .scenario import Scenario
from .units import parse_duration

__all__ = ["main"]


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simroute", description="Simulate DIDWW-style inbound call routing.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a scenario and print its KPI table")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="folder for attempts records and summary.json")
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--duration", type=_duration, help="override the scenario's duration (e.g. 8h)")
    run.add_argument("--json", action="store_true", help="print summary.json instead of the table")
    run.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto",
                     help="records file format (auto: Parquet when pyarrow is installed, else CSV)")
    sub.add_parser("schema", help="print the scenario JSON Schema (for editors)")
    return parser


def _run(args) -> int:
    result = api.simulate(args.scenario, seed=args.seed, duration=args.duration)
    if args.out is not None:
        write_records(result.attempts, args.out, "attempts", args.format)
        write_json(result.summary, args.out / "summary.json")
    print(to_json(result.summary) if args.json else kpi_table(result.summary), end="\n" if not args.json else "")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "schema":
            print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
            return 0
        return _run(args)
    except SimrouteError as exc:
        print(f"simroute: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("simroute: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
