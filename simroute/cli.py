"""The ``simroute`` command: a thin shell over the Python API (:mod:`simroute.api`)."""

from __future__ import annotations

if __name__ == "__main__":  # python -m simroute.cli: Ctrl-C during the imports below ends quietly too
    from simroute.console import guard_start_up

    guard_start_up()

import argparse
import math
import os
import signal
import sys
import threading
from pathlib import Path

from . import api
from .errors import ScenarioError, SimrouteError
from .experiments.budget import add_budget_arguments, check_budget
from .experiments.executors import cores
from .io.files import OutputSet, checkpoint, printable, records_path, to_json, write_json, write_records
from .report.tables import interval_table, kpi_table, sizing_text, sweep_table
from .scenario.schema import Scenario, load_scenario
from .scenario.units import parse_duration

__all__ = ["main"]


MAX_ERROR_LINES = 50  # a file with thousands of problems should not flood the terminal


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _interval(text: str) -> float:
    """``--interval``: a duration above zero."""
    value = _duration(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a duration longer than zero (such as 1h), got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"a seed is between 0 and 2**63-1, got {value}")
    return value


def _at_least(low: int):
    """An argparse type: a whole number of at least ``low``."""

    def whole(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return whole


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < 1:  # NaN too
        raise argparse.ArgumentTypeError(
            f"a confidence level is between 0 and 1 (such as 0.95), got {text!r}"
        )
    return value


class _Parser(argparse.ArgumentParser):
    """Usage mistakes as one ``simroute: error:`` line and exit 2, like every other error."""

    def error(self, message: str):
        print(
            f"simroute: error: {printable(self.prog)}: {printable(message)} (see {self.prog} --help)",
            file=sys.stderr,
        )
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="simroute", description="Simulate DIDWW-style inbound call routing.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="simulate a scenario and print its KPI table")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--out", type=Path, help="folder for attempts records and summary.json")
    _add_overrides(run, "print summary.json instead of the table")
    run.add_argument(
        "--format",
        choices=["auto", "csv", "parquet"],
        default="auto",
        help="records file format (auto: Parquet when pyarrow is installed, else CSV)",
    )
    run.add_argument(
        "--records",
        choices=["attempts", "calls", "none", "stream"],
        default="attempts",
        help="keep every attempt (default), one row per call, none (KPIs counted live, memory "
        "flat), or stream the attempts to --out in chunks while the run goes",
    )
    run.add_argument(
        "--cdr-format",
        choices=["simroute", "didww"],
        default="simroute",
        help="didww: write the attempts to --out as cdr.csv, a DIDWW 2026-style export (simroute fit "
        "reads it)",
    )
    _add_statistics(run)
    run.add_argument(
        "--batches",
        type=_at_least(2),
        help="batch means over one long run instead of replications (2 or more)",
    )
    run.add_argument(
        "--interval",
        type=_interval,
        help="also give the KPIs per interval of the local clock (e.g. 1h, 15m): a table after the KPIs, "
        "intervals in summary.json and intervals.csv with --out",
    )
    run.add_argument(
        "--tune-heap",
        action="store_true",
        help="let this process keep freed heap for reuse (glibc malloc thresholds; faster long runs)",
    )
    run.add_argument("--report", type=Path, metavar="HTML", help="also write a self-contained HTML report")
    run.add_argument("--kpi", action="append", help="KPI watched by --precision (default loss_probability)")
    _add_run_length(run)
    _add_execution(run)
    add_budget_arguments(run)
    cmp = sub.add_parser("compare", help="compare two variants on common random numbers")
    cmp.add_argument("a", type=Path, help="scenario A (the baseline)")
    cmp.add_argument("b", type=Path, help="scenario B (the variant)")
    _add_overrides(cmp, "print the comparison as JSON")
    _add_statistics(cmp, default_replications=20, least=2)
    add_budget_arguments(cmp)
    swp = sub.add_parser("sweep", help="run a grid of variants (every combination of --vary values)")
    swp.add_argument("scenario", type=Path, help="scenario YAML file")
    swp.add_argument(
        "--vary",
        action="append",
        required=True,
        metavar="PATH=VALUES",
        help="a field by names and its values: trunks.pbx-fra.capacity_limit=20:60:5 (or 20,30,40); "
        "repeat for a grid",
    )
    swp.add_argument("--out", type=Path, help="folder for the table (sweep.parquet/.csv) and finished points")
    swp.add_argument("--resume", action="store_true", help="continue the sweep saved in --out")
    swp.add_argument("--format", choices=["auto", "csv", "parquet"], default="auto", help="table file format")
    swp.add_argument("--kpi", action="append", help="KPI shown (and watched by --precision); repeatable")
    _add_overrides(swp, "print the table as JSON records")
    _add_statistics(swp)
    _add_run_length(swp)
    _add_execution(swp)
    add_budget_arguments(swp)
    siz = sub.add_parser("size", help="the smallest value of a field that meets a KPI target with confidence")
    siz.add_argument("scenario", type=Path, help="scenario YAML file")
    siz.add_argument(
        "--vary", required=True, metavar="PATH", help="the field to size, e.g. trunks.pbx-fra.capacity_limit"
    )
    siz.add_argument(
        "--target",
        required=True,
        metavar="KPI<=X",
        help="e.g. blocking_probability<=0.01, trunks.pbx-fra.attempt_blocking<=0.01 (or >=)",
    )
    siz.add_argument("--resilience", action="store_true", help="also with each POP and each trunk down (N-1)")
    siz.add_argument(
        "--cost", action="store_true", help="the cheapest value meeting the target (costs.total)"
    )
    _add_overrides(siz, "print the answer as JSON")
    _add_statistics(siz)
    siz.add_argument(
        "--max-replications", type=int, metavar="N", help="budget of replications per value (default 40)"
    )
    _add_execution(siz)
    add_budget_arguments(siz)
    _add_import(sub)
    rep = sub.add_parser("report", help="write a self-contained HTML report of a `run --out` folder")
    rep.add_argument("results", type=Path, help="the folder `simroute run --out` wrote")
    rep.add_argument("-o", "--output", type=Path, default=Path("report.html"), help="HTML file to write")
    reg = sub.add_parser(
        "regress", help="compare scenarios' KPIs with a committed baseline (exit 1 if worse)"
    )
    reg.add_argument(
        "scenarios", type=Path, nargs="*", help="scenario files (default: those the baseline names)"
    )
    reg.add_argument(
        "--baseline", type=Path, default=Path("reports/baseline.json"), help="baseline JSON file"
    )
    reg.add_argument("--update-baseline", action="store_true", help="run and rewrite the baseline instead")
    reg.add_argument(
        "--fail-on", nargs="+", metavar="KPI", help="only these KPIs gate (paths, names or globs)"
    )
    reg.add_argument("--out", type=Path, help="folder for regression.md and .html (default: the baseline's)")
    reg.add_argument(
        "--replications", type=int, help="replications per scenario (default: the baseline's, or 8)"
    )
    reg.add_argument("--seed", type=_seed, help="override the seeds (default: the baseline's)")
    reg.add_argument("--duration", type=_duration, help="override the run length (default: the baseline's)")
    reg.add_argument("--confidence", type=float, default=0.95, help="1 - family-wise false alarm rate")
    sub.add_parser("schema", help="print the scenario JSON Schema (for editors)")
    val = sub.add_parser(
        "validate", help="run the built-in validation suite against exact teletraffic results"
    )
    val.add_argument("--quick", action="store_true", help="a few cases with fewer replications (seconds)")
    val.add_argument("--jobs", type=_at_least(1), default=1, help="local processes for replications")
    val.add_argument("--quiet", action="store_true", help="no progress bar")
    cc = sub.add_parser("crosscheck", help="run a scenario on Kamailio and SIPp over loopback and compare")
    cc.add_argument("scenario", type=Path, help="a scenario within the lab's subset (see README)")
    cc.add_argument("--sip", action="store_true", required=True, help="the SIP lab (Kamailio and SIPp)")
    cc.add_argument("--seconds", type=float, default=60.0, help="seconds of arrivals (default 60)")
    cc.add_argument("--rate-scale", type=float, default=1.0, help="multiply every DID's call rate")
    cc.add_argument("--seed", type=int, default=1, help="seed of the trace and of the replications")
    cc.add_argument("--replications", type=int, default=20, help="simroute's replications of the trace")
    cc.add_argument(
        "--emit", type=Path, help="keep the generated configuration, scenarios, trace and logs here"
    )
    cc.add_argument("--json", action="store_true", help="print the side-by-side table as JSON")
    return parser


def _add_import(sub) -> None:
    imp = sub.add_parser("import", help="write a scenario from another system's configuration")
    kinds = imp.add_subparsers(dest="source", required=True)
    didww = kinds.add_parser(
        "didww", help="DIDWW API JSON:API documents (trunks, groups, POPs, DIDs, capacity)"
    )
    didww.add_argument("files", type=Path, nargs="+", help="JSON:API documents, in any combination and order")
    didww.add_argument("-o", "--output", type=Path, help="scenario YAML to write (default: standard output)")
    didww.add_argument(
        "--traffic",
        type=Path,
        help="a traffic.yaml from simroute fit: its DIDs' traffic and trunks' endpoints",
    )
    fit = sub.add_parser(
        "fit", help="fit traffic and endpoint behaviour from a CDR export (DIDWW or plain CSV)"
    )
    fit.add_argument("cdr", type=Path, help="CDR export, .csv or .csv.gz (DIDWW 2017 or 2026 columns)")
    fit.add_argument("-o", "--output", type=Path, help="traffic YAML to write (default: standard output)")
    fit.add_argument("--resolution", default="15min", help="interval of the arrival counts (default 15min)")
    fit.add_argument(
        "--duration-rounding",
        choices=["ceil", "round", "floor"],
        default="ceil",
        help="how the export made whole seconds of durations (default ceil: billed per started second)",
    )
    fit.add_argument("--alpha", type=float, default=0.01, help="level of the goodness-of-fit tests (0.01)")


def _fit(args) -> int:
    from .io import fit

    fitted = fit.fit_cdr(
        args.cdr, resolution=args.resolution, rounding=args.duration_rounding, alpha=args.alpha
    )
    if args.output is None:
        print(fit.fit_text(fitted), end="")
    else:
        fit.write_fit(fitted, args.output)
    return 0


def _import(args) -> int:
    import warnings

    from .io import didww

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", didww.DidwwWarning)
        scenario = didww.import_documents(args.files)
        if args.traffic is not None:
            from .io.fit import apply_fit

            fitted = apply_fit(scenario, args.traffic)
            scenario = didww.Imported(fitted, [*scenario.notes, f"traffic and endpoints from {args.traffic}"])
    for w in caught:
        print(f"simroute: warning: {w.message}", file=sys.stderr)
    if args.output is None:
        print(didww.scenario_text(scenario), end="")
    else:
        didww.write_scenario(scenario, args.output)
    return 0


def _add_overrides(parser, json_help: str):
    parser.add_argument("--seed", type=_seed, help="override the scenario's seed (compare: both use A's)")
    parser.add_argument("--duration", type=_duration, help="override the scenario's duration (e.g. 8h)")
    parser.add_argument("--json", action="store_true", help=json_help)


def _add_statistics(parser, default_replications=None, least=1):
    parser.add_argument(
        "--replications",
        type=_at_least(least),
        default=default_replications,
        help=f"independent replications (mean ± CI half-width; at least {least})",
    )
    parser.add_argument(
        "--confidence", type=_confidence, default=0.95, help="confidence level of the intervals (0 to 1)"
    )
    parser.add_argument(
        "--jobs", type=_at_least(1), help="local processes for replications (default: all cores)"
    )


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value


def _add_run_length(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--precision",
        type=_positive,
        metavar="REL",
        help="add rounds of replications until every watched KPI's half-width is at most REL x its mean",
    )
    group.add_argument(
        "--precision-abs",
        type=_positive,
        metavar="ABS",
        help="add rounds of replications until every watched KPI's half-width is at most ABS",
    )
    parser.add_argument(
        "--max-replications", type=int, metavar="N", help="budget of replications for --precision"
    )


def _add_execution(parser):
    parser.add_argument(
        "--cluster", metavar="ADDRESS", help="run on a Dask distributed scheduler (tcp://host:8786)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _sweep(args) -> int:
    from .experiments.sweep import grid  # here: a plain run never needs them
    from .experiments.vary import parse_vary

    scenario = load_scenario(args.scenario)
    vary = [parse_vary(text) for text in args.vary]
    points = len(grid(scenario, vary).points)
    first = args.replications or max(scenario.replications, api.DEFAULT_REPLICATIONS)
    check_budget(
        scenario,
        args.duration,
        args.max_events,
        args.yes,
        replications=first * points,
        label=str(args.scenario),
        records="none",  # points keep no records: only their KPIs come back
        jobs=args.jobs or cores(),
    )
    table = api.sweep(
        scenario,
        vary,
        replications=args.replications,
        seed=args.seed,
        duration=args.duration,
        confidence=args.confidence,
        precision=args.precision,
        precision_abs=args.precision_abs,
        kpis=args.kpi,
        max_replications=args.max_replications,
        jobs=args.jobs if args.jobs is not None or args.cluster else cores(),
        cluster=args.cluster,
        out=args.out,
        resume=args.resume,
        format=args.format,
        progress=False if args.quiet else None,
    )
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(sweep_table(table, [p for p, _ in vary], args.kpi or list(api.DEFAULT_PRECISION_KPIS)))
    return 0


def _size(args) -> int:
    scenario = load_scenario(args.scenario)
    first = args.replications or max(scenario.replications, api.SIZING_ROUNDS[0])
    check_budget(
        scenario,
        args.duration,
        args.max_events,
        args.yes,
        replications=first,
        label=str(args.scenario),
        records="none",  # sizing runs keep no records: only their KPIs come back
        jobs=args.jobs or cores(),
    )
    answer = api.size(
        scenario,
        args.vary,
        args.target,
        replications=args.replications,
        max_replications=args.max_replications,
        seed=args.seed,
        duration=args.duration,
        confidence=args.confidence,
        resilience=args.resilience,
        cost=args.cost,
        jobs=args.jobs if args.jobs is not None or args.cluster else cores(),
        cluster=args.cluster,
        progress=False if args.quiet else None,
    )
    print(to_json(answer) if args.json else sizing_text(answer), end="" if args.json else "\n")
    return 0


def _run(args) -> int:
    records = args.records
    if records == "stream":
        if args.out is None:
            raise SimrouteError("--records stream writes the records to --out: give an output folder")
        if (args.replications or 1) > 1:
            raise SimrouteError(
                "--records stream writes the records of one run: drop --replications, or use "
                "--records none to count replications' KPIs without records"
            )
    if args.cdr_format == "didww" and (args.out is None or args.records != "attempts"):
        raise SimrouteError(
            "--cdr-format didww writes every attempt to --out: give --out, with --records attempts"
        )
    scenario = load_scenario(args.scenario)
    check_budget(
        scenario,
        args.duration,
        args.max_events,
        args.yes,
        replications=1 if args.batches else args.replications,
        label=printable(args.scenario),
        records=records,
        jobs=args.jobs or cores(),
        max_memory=args.max_memory,
    )
    if args.out is None:
        result = _simulate(args, scenario, records)
        summary = result.summary
    else:
        with OutputSet(args.out) as out:  # the folder is checked (and staged) before the run
            result = _simulate(args, scenario, records, out)
            files = []
            if records == "stream":
                files.append(out.files[0])
            elif args.cdr_format == "didww":
                from .io.cdr import write_didww

                write_didww(result, out.stage / "cdr.csv")
                files.append("cdr.csv")
            elif records == "attempts":
                files.append(write_records(result.attempts, out.stage, "attempts", args.format).name)
            elif records == "calls":
                files.append(write_records(result.calls, out.stage, "calls", args.format).name)
            if len(result.replications) > 1:
                files.append(
                    write_records(result.replications.reset_index(), out.stage, "replications", "csv").name
                )
            from .report.data import write_report_inputs  # pandas, only when writing files

            write_report_inputs(result, out.stage)
            files = sorted({*files, *out.staged_files()})
            for name in files:
                out.path(name)
            summary = {**result.summary, "files": sorted([*files, "summary.json"])}
            write_json(summary, out.path("summary.json"))
            out.commit({k: result.summary.get(k) for k in ("scenario", "seed", "duration", "warmup")})
    if args.report is not None:
        from .report.html import write_report  # matplotlib only when a report is asked for

        write_report(result, args.report)
    if args.json:
        print(to_json(summary), end="")
        return 0
    print(kpi_table(summary))
    if args.interval:
        print(f"\nper interval of {args.interval:g}s (local time):")
        print(interval_table(result.intervals(f"{args.interval}s")))
    return 0


def _simulate(args, scenario, records: str, out: OutputSet | None = None):
    stream_to = None
    if records == "stream" and out is not None:
        stream_to, records = out.path(records_path(out.folder, "attempts", args.format).name), "attempts"
    checkpoint("simulating")
    return api.simulate(
        scenario,
        seed=args.seed,
        duration=args.duration,
        replications=args.replications,
        batches=args.batches,
        confidence=args.confidence,
        jobs=args.jobs or cores(),
        records=records,
        stream_to=stream_to,
        tune_heap=args.tune_heap,
        precision=args.precision,
        precision_abs=args.precision_abs,
        kpis=args.kpi,
        max_replications=args.max_replications,
        cluster=args.cluster,
        progress=False if args.quiet or args.json else None,
        interval=args.interval,
    )


def _compare(args) -> int:
    for path in (args.a, args.b):
        check_budget(
            load_scenario(path),
            args.duration,
            args.max_events,
            args.yes,
            replications=args.replications,
            label=printable(path),
            records="attempts",
            jobs=args.jobs or cores(),
            max_memory=args.max_memory,
        )
    comparison = api.compare(
        args.a,
        args.b,
        replications=args.replications,
        seed=args.seed,
        duration=args.duration,
        confidence=args.confidence,
        jobs=args.jobs or cores(),
    )
    if args.json:
        print(comparison.table.reset_index().to_json(orient="records", indent=2))
    else:
        print(comparison.text())
    return 0


def _crosscheck(args) -> int:
    from .crosscheck.run import crosscheck
    from .report.tables import crosscheck_table

    result = crosscheck(
        args.scenario,
        seconds=args.seconds,
        rate_scale=args.rate_scale,
        seed=args.seed,
        replications=args.replications,
        emit=args.emit,
    )
    if args.json:
        print(result.table.to_json(orient="records", indent=2))
    else:
        print(crosscheck_table(result))
    return 0 if result.agrees else 1


def _report(args) -> int:
    from .report.html import write_report

    write_report(args.results, args.output)
    print(f"wrote {args.output}")
    return 0


def _regress(args) -> int:
    from .report import regress

    outcome = regress.run_regress(
        args.scenarios,
        args.baseline,
        update=args.update_baseline,
        replications=args.replications,
        seed=args.seed,
        duration=args.duration,
        confidence=args.confidence,
        fail_on=args.fail_on,
    )
    if outcome is None:
        print(f"wrote {args.baseline}")
        return 0
    md, html = regress.write_outputs(outcome, args.out or args.baseline.parent, args.baseline)
    print(regress.summary_line(outcome))
    print(f"wrote {md} and {html}")
    return 1 if outcome.regressions else 0


def _validate(args) -> int:
    from . import validation

    cases = validation.suite(args.quick)
    table = validation.run_suite(cases=cases, jobs=args.jobs, progress=False if args.quiet else None)
    print(validation.format_table(table, cases))
    return 0 if table["passed"].all() else 1


def _terminate(signum, _frame):
    """SIGTERM ends the run like Ctrl-C: unwinding deletes any temporary output file."""
    raise SystemExit(128 + signum)


def _error(line: str) -> None:
    print(f"simroute: error: {printable(line)}", file=sys.stderr)


def _schema(_args) -> int:
    import json

    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))
    return 0


#: Each subcommand's handler (the parser names the same commands)
_COMMANDS = {
    "run": _run,
    "compare": _compare,
    "sweep": _sweep,
    "size": _size,
    "validate": _validate,
    "crosscheck": _crosscheck,
    "import": _import,
    "fit": _fit,
    "report": _report,
    "regress": _regress,
    "schema": _schema,
}


def main(argv: list[str] | None = None) -> int:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
        signal.signal(signal.SIGINT, signal.default_int_handler)  # the start-up guard's job is done
    try:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help (0) or a usage error, already reported on one line (2)
            return exc.code if isinstance(exc.code, int) else 2
        return _COMMANDS[args.command](args)
    except ScenarioError as exc:  # one line per problem, each made printable (names, paths, values)
        lines = str(exc).splitlines()
        for line in lines[:MAX_ERROR_LINES]:
            _error(line)
        if len(lines) > MAX_ERROR_LINES:
            _error(f"{exc.source}: ... and {len(lines) - MAX_ERROR_LINES} more problems")
        return 2
    except SimrouteError as exc:
        _error(" ".join(str(exc).splitlines()))
        return 2
    except BrokenPipeError:  # simroute run ... | head: the reader has gone; end quietly
        _quiet_stdout()
        return 128 + signal.SIGPIPE
    except OSError as exc:  # an output folder that is a file, a disk that is full...
        where = f"{exc.filename}: " if exc.filename else ""
        _error(f"{where}{exc.strerror or exc}")
        return 2
    except MemoryError:
        _error(
            "out of memory: use --records none (KPIs only) or --records stream --out DIR (records to a "
            "file as the run goes), or a shorter --duration"
        )
        return 2
    except KeyboardInterrupt:
        print("simroute: interrupted", file=sys.stderr)
        return 130


def _quiet_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not complain either."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
