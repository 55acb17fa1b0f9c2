"""The Python API that notebooks and the command line share: simulate a scenario (once, replicated or
by batch means) and compare two variants on common random numbers."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from .engine.heap import keep_freed_memory
from .engine.network import compile_network
from .errors import ScenarioError
from .experiments.budget import estimate_events
from .experiments.executors import executor_for
from .experiments.intervals import mean_and_half_width, t_quantile
from .experiments.precision import Precision, Rounds, run_rounds
from .experiments.progress import LONG_RUN_EVENTS, Progress
from .experiments.replications import (
    PROGRESS_STEPS,
    aggregate,
    replication_seeds,
    replications_table,
    run_many,
    run_once,
)
from .experiments.warmup import PILOTS, choose_warmup
from .io.files import write_records
from .kpis.checks import summary_warnings
from .kpis.redial import single_try_columns
from .kpis.result import Result
from .report.tables import comparison_table
from .scenario.schema import load_scenario
from .scenario.units import parse_duration

if TYPE_CHECKING:
    from concurrent.futures import Executor

    import pandas as pd

    from .experiments.sizing import Sizing

__all__ = ["simulate", "compare", "Comparison", "sweep", "size", "check_arguments"]


#: Replications per point of a sweep or sizing when neither the call nor the scenario asks for more.
DEFAULT_REPLICATIONS = 5
#: What --precision watches when no --kpi is named.
DEFAULT_PRECISION_KPIS = ("kpis.loss_probability",)


RECORDS = ("attempts", "calls", "none")
_WHERE = "simulate()"


def _whole(value, name: str, low: int, high: int | None = None) -> int:
    """An int argument (numpy integers are their value; a bool, a float or text is refused)."""
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(_WHERE, [(name, f"expected a whole number, got {value!r}")])
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ScenarioError(_WHERE, [(name, f"must be {bounds}, got {value}")])
    return value


def check_arguments(
    seed=None, duration=None, replications=None, batches=None, confidence=0.95, jobs=1, records="attempts"
) -> None:
    """Refuse a bad argument of :func:`simulate` or :func:`compare` as the file loader refuses a bad
    field: a :class:`~simroute.errors.ScenarioError` naming it, never a silent reading."""
    if seed is not None:
        _whole(seed, "seed", 0, 2**63 - 1)
    if duration is not None:
        try:
            seconds = parse_duration(duration)
        except ValueError as exc:
            raise ScenarioError(_WHERE, [("duration", str(exc))]) from None
        if seconds <= 0:
            raise ScenarioError(_WHERE, [("duration", f"must be longer than zero, got {duration!r}")])
    if replications is not None:
        _whole(replications, "replications", 1, 100_000)
    if batches is not None:
        _whole(batches, "batches", 2, 100_000)
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ScenarioError(
            _WHERE, [("confidence", f"must be a number between 0 and 1 (such as 0.95), got {confidence!r}")]
        )
    if jobs is not None:  # None: the API chooses (a pool when the work pays)
        _whole(jobs, "jobs", 1, 1024)
    if records not in RECORDS:
        raise ScenarioError(_WHERE, [("records", f"must be one of {', '.join(RECORDS)}, got {records!r}")])


def _interval(interval) -> float | None:
    """``simulate(interval=)`` in seconds (a duration text or a number), refused naming the argument."""
    if interval is None:
        return None
    try:
        step = parse_duration(interval)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(_WHERE, [("interval", str(exc))]) from None
    if not 0 < step < float("inf"):
        raise ScenarioError(_WHERE, [("interval", f"must be a duration longer than zero, got {interval!r}")])
    return step


def _prepare(scenario, seed, duration):
    scenario = load_scenario(scenario)
    seed = scenario.seed if seed is None else _whole(seed, "seed", 0, 2**63 - 1)
    horizon = scenario.duration if duration is None else parse_duration(duration)
    if scenario.warmup != "auto" and scenario.warmup >= horizon:
        raise ScenarioError(
            scenario.name,
            [("duration", f"must be longer than the warm-up ({horizon:g}s <= {scenario.warmup:g}s)")],
        )
    return scenario, seed, horizon


def _auto_warmup(scenario, seed, horizon, replications: int):
    """The scenario with ``warmup: auto`` replaced by the MSER-5 choice, and how it was chosen (None
    when the scenario gives its warm-up)."""
    if scenario.warmup != "auto":
        return scenario, None
    seeds = replication_seeds(seed, min(replications, PILOTS)) if replications > 1 else [seed]
    chosen = choose_warmup(compile_network(scenario), seeds, horizon)
    return scenario.model_copy(update={"warmup": chosen["warmup"]}), chosen


def simulate(
    scenario,
    seed: int | None = None,
    duration: float | str | None = None,
    *,
    replications: int | None = None,
    batches: int | None = None,
    confidence: float = 0.95,
    jobs: int | None = None,
    executor: Executor | None = None,
    records: str = "attempts",
    stream_to=None,
    audit: bool = False,
    tune_heap: bool = False,
    precision: float | None = None,
    precision_abs: float | None = None,
    kpis: list[str] | None = None,
    max_replications: int | None = None,
    cluster: str | None = None,
    progress: bool | None = False,
    interval: float | str | None = None,
) -> Result:
    """Run ``scenario`` (a path, a dict or a Scenario) and return its :class:`Result`.

    ``seed`` and ``duration`` override the file's. With ``replications`` (or the file's
    ``replications``) above 1, the summary holds means and a ``ci95`` tree of Student-t half-widths at
    ``confidence``; ``batches`` instead splits one long run after the warm-up into equal batches (batch
    means). ``jobs`` runs replications in local processes (default: all cores when the work makes a
    pool pay, else this one); ``executor`` on any Executor, ``cluster`` on a Dask scheduler.
    ``precision`` (relative) or ``precision_abs`` adds rounds of ``replications`` (default 5) until
    the ``kpis`` (default ``kpis.loss_probability``) are that precise, or ``max_replications`` are spent;
    ``summary["precision"]`` says which. ``interval`` (``"1h"``, ``"15m"``) adds the KPIs per interval
    of the local clock (``summary["intervals"]``, as a table :meth:`Result.intervals`), counted in every
    records mode; every summary names its ``busy_hour``. ``audit=True`` checks every cap after every
    event (slower; for tests). ``tune_heap=True`` sets the C allocator's thresholds for this whole
    process so that runs reuse freed heap (glibc only; see :mod:`simroute.engine.heap`): an opt-in,
    since it changes the process, not just the run. ``progress`` draws a bar with an ETA on standard
    error (``None``: when it is a terminal and the work is long, over replications, or through simulated
    time for a single run of more than 3 million events); a bar changes no number.
    """
    check_arguments(seed, duration, replications, batches, confidence, jobs, records)
    if tune_heap:
        keep_freed_memory()
    scenario, seed, horizon = _prepare(scenario, seed, duration)
    rule = _precision(precision, precision_abs, kpis, confidence)
    if rule is not None and (batches or stream_to is not None):
        raise ValueError("precision adds replications: drop batches and stream_to")
    rounds = _rounds(scenario, replications, precision if rule is None else 1.0, max_replications)
    n = replications if replications is not None else scenario.replications
    if rule is not None:
        n = rounds.first
    step = _interval(interval)
    scenario, chosen = _auto_warmup(scenario, seed, horizon, 1 if batches else n)
    header = {
        "scenario": scenario.name,
        "seed": seed,
        "duration": horizon,
        "warmup": scenario.warmup,
        "start_time": scenario.start_time.isoformat(),
    }
    if chosen is not None:
        header["warmup_auto"] = chosen
    if step is not None:
        header["interval"] = step
    if batches is not None or n <= 1:
        if progress is None and estimate_events(scenario, horizon) < LONG_RUN_EVENTS:
            progress = False  # a short single run draws no bar
        with Progress(PROGRESS_STEPS, "%", progress, "simulating") as bar:
            along = bar.advance if bar.shown else None
            if batches is not None:
                return _batch_means(
                    scenario, seed, horizon, batches, confidence, header, records, stream_to, along, step
                )
            return _single_run(scenario, seed, horizon, header, records, stream_to, audit, along, step)
    if stream_to is not None and n > 1:
        raise ScenarioError(
            _WHERE,
            [("replications", f"records streamed to a file are those of one run, got {n} replications")],
        )
    events = estimate_events(scenario, horizon) * n
    with executor_for(jobs, cluster, executor, events) as pool, Progress(n, "replications", progress) as bar:
        if rule is not None:
            runs, kept, header["precision"] = _until_precise(
                scenario, seed, horizon, rounds, rule, pool, bar, records, step
            )
            n = len(runs)
        else:
            runs, kept = run_many(
                scenario,
                replication_seeds(seed, n),
                horizon,
                [(scenario.warmup, horizon)],
                executor=pool,
                records=records,
                on_replication=bar.advance,
                interval=step,
            )
    mean, half, frame, few = aggregate([r[0] for r in runs], confidence)
    summary = {**header, "replications": n, "confidence": confidence, **mean, "ci95": half}
    if few:
        summary["few_events"] = few
    if step is not None:  # those of the first replication, as its records
        summary["intervals"] = runs[0][0]["intervals"]
    return _result(scenario, kept, seed, horizon, summary, frame)


def _result(scenario, kept, seed, horizon, summary: dict, table, checked=None) -> Result:
    """A run's :class:`Result`, its summary ending with the warnings of its set-up and KPIs (of the
    means when replicated; :mod:`simroute.kpis.checks`)."""
    net = compile_network(scenario)
    summary["warnings"] = summary_warnings(net, summary)
    return Result(scenario, net, kept, seed, horizon, summary, table, checked)


def _until_precise(scenario, seed, horizon, rounds, rule, executor, bar, records, step=None):
    """Replications in rounds until ``rule`` holds or the budget is spent (decided between whole rounds
    on replications in index order); replication 0 is then run again to keep its records."""
    state: dict = {}

    def decide(_key, summaries):
        met, report = rule.narrow_enough(replications_table([s[0] for s in summaries]))
        state.update(met=met, kpis=report)
        return met

    done: dict = {}
    run_rounds(
        {0: compile_network(scenario)},
        np.random.SeedSequence(seed),
        horizon,
        [(scenario.warmup, horizon)],
        rounds,
        decide,
        executor,
        lambda _key, summaries: done.update(runs=summaries),
        on_replication=bar.advance,
        on_round=bar.grow,
    )
    runs = done["runs"]
    first, kept, _ = run_once(
        scenario,
        replication_seeds(seed, 1)[0],
        horizon,
        [(scenario.warmup, horizon)],
        keep=True,
        records=records,
        interval=step,
    )
    runs[0] = first
    report = {
        "met": state["met"],
        "relative": rule.relative,
        "absolute": rule.absolute,
        "kpis": state["kpis"],
        "replications": len(runs),
        "budget": rounds.budget,
        "stopped": "interval narrow enough" if state["met"] else "replication budget spent",
    }
    return runs, kept, report


def _single_run(scenario, seed, horizon, header, records, stream_to, audit, progress, step=None) -> Result:
    (summary,), kept, checked = run_once(
        scenario,
        seed,
        horizon,
        [(scenario.warmup, horizon)],
        keep=True,
        audit=audit,
        records=records,
        stream_to=stream_to,
        progress=progress,
        interval=step,
    )
    return _result(
        scenario,
        kept,
        seed,
        horizon,
        {**header, **summary},
        partial(replications_table, [summary]),  # a DataFrame only when asked (pandas is slow to import)
        checked,
    )


def _batch_means(
    scenario, seed, horizon, batches, confidence, header, records, stream_to=None, progress=None, step=None
) -> Result:
    length = (horizon - scenario.warmup) / batches
    windows = [(scenario.warmup + i * length, scenario.warmup + (i + 1) * length) for i in range(batches)]
    summaries, kept, _ = run_once(
        scenario,
        seed,
        horizon,
        windows,
        keep=True,
        records=records,
        stream_to=stream_to,
        progress=progress,
        interval=step,
    )
    mean, half, frame, few = aggregate(summaries, confidence)
    frame.index.name = "batch"
    summary = {**header, "batches": batches, "confidence": confidence, **mean, "ci95": half}
    if few:
        summary["few_events"] = few
    if step is not None:  # over the span of the batches
        summary["intervals"] = summaries[0]["intervals"]
    return _result(scenario, kept, seed, horizon, summary, frame)


class Comparison:
    """Two variants run on the same random numbers: per-KPI difference (B minus A) with paired and
    unpaired confidence intervals. ``table`` is a DataFrame indexed by KPI path.

    A KPI that exists in one variant only (a trunk only B has) is 0 in the other, but for the caller KPIs
    of redial: a variant without redial has them as every call a caller's only try (``fresh_offered`` its
    offered calls, ``caller_loss_probability`` its ``loss_probability``...). ``replications`` is the
    number of replications of each variant; ``warnings`` says what makes the two hard to compare (KPI
    windows that differ).
    """

    def __init__(self, a: Result, b: Result, confidence: float):
        import pandas as pd

        self.a, self.b, self.confidence = a, b, confidence
        ra, rb = a.replications, b.replications
        if "kpis.fresh_offered" in rb.columns and "kpis.fresh_offered" not in ra.columns:
            ra = ra.assign(**single_try_columns(ra))  # redial off against on: each call is a caller
        elif "kpis.fresh_offered" in ra.columns and "kpis.fresh_offered" not in rb.columns:
            rb = rb.assign(**single_try_columns(rb))
        columns = list(dict.fromkeys([*ra.columns, *rb.columns]))
        fa = ra.reindex(columns=columns, fill_value=0.0)
        fb = rb.reindex(columns=columns, fill_value=0.0)
        self.replications = int(min(len(fa), len(fb)))
        self.warnings: list[str] = []
        if a.window != b.window:
            self.warnings.append(
                f"the KPI windows differ (A {a.window[0]:g}s..{a.window[1]:g}s, B {b.window[0]:g}s.."
                f"{b.window[1]:g}s): counts are over different lengths of time"
            )
        diff = fb - fa
        mean_diff, paired = mean_and_half_width(diff, confidence)
        mean_a, mean_b = fa.mean(), fb.mean()
        # where no replication has the KPI defined in both, the difference is still the one of the means
        mean_diff = mean_diff.where(mean_diff.notna(), mean_b - mean_a)
        na, nb = fa.notna().sum(), fb.notna().sum()
        va, vb = fa.var(ddof=1) / na, fb.var(ddof=1) / nb
        welch_df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
        unpaired = (
            pd.Series(
                {
                    c: t_quantile(confidence, float(welch_df[c])) if welch_df[c] > 0 else float("nan")
                    for c in columns
                }
            )
            * (va + vb) ** 0.5
        )
        unpaired = unpaired.where((va + vb) != 0, 0.0)  # both constant: no spread at all
        self.table = pd.DataFrame(
            {
                "a": mean_a,
                "b": mean_b,
                "difference": mean_diff,
                "paired_half_width": paired,
                "unpaired_half_width": unpaired,
            }
        )
        self.table["significant"] = (self.table["difference"].abs() > self.table["paired_half_width"]).fillna(
            False
        )
        self.table.index.name = "kpi"

    def text(self) -> str:
        """The comparison as a terminal table, with its number of replications and warnings."""
        return comparison_table(self.table, self.confidence, self.replications, self.warnings)


def compare(
    a,
    b,
    replications: int = 20,
    seed: int | None = None,
    duration: float | str | None = None,
    *,
    confidence: float = 0.95,
    jobs: int = 1,
    executor: Executor | None = None,
) -> Comparison:
    """Run variants ``a`` and ``b`` with the same replication seeds (common random numbers)."""
    check_arguments(seed, duration, replications, None, confidence, jobs)
    if replications < 2:
        raise ScenarioError(
            "compare()", [("replications", f"a comparison needs at least 2 replications, got {replications}")]
        )
    scenario_a = load_scenario(a)
    seed = scenario_a.seed if seed is None else seed
    kwargs: dict[str, Any] = dict(
        seed=seed,
        duration=duration,
        replications=replications,
        confidence=confidence,
        jobs=jobs,
        executor=executor,
    )
    return Comparison(simulate(scenario_a, **kwargs), simulate(b, **kwargs), confidence)


def _rounds(scenario, replications, precision, max_replications) -> Rounds:
    first = replications if replications is not None else max(scenario.replications, DEFAULT_REPLICATIONS)
    if precision is None:
        return Rounds(first, first, first)
    return Rounds(first, first, max_replications if max_replications is not None else 20 * first)


def _precision(precision, precision_abs, kpis, confidence, columns=None) -> Precision | None:
    if precision is None and precision_abs is None:
        return None
    names = tuple(kpis or DEFAULT_PRECISION_KPIS)
    return Precision(names, precision, precision_abs, confidence)


def sweep(
    scenario,
    vary,
    *,
    replications: int | None = None,
    seed: int | None = None,
    duration: float | str | None = None,
    confidence: float = 0.95,
    precision: float | None = None,
    precision_abs: float | None = None,
    kpis: list[str] | None = None,
    max_replications: int | None = None,
    jobs: int | None = None,
    cluster: str | None = None,
    executor: Executor | None = None,
    out=None,
    resume: bool = False,
    format: str = "auto",
    progress: bool | None = False,
    on_point=None,
) -> pd.DataFrame:
    """Run every combination of the ``vary`` values (``{path: values}``, values a list or ``"20:60:5"``)
    with ``replications`` each on common random numbers, and return the tidy table: one row per point,
    the varied fields, then per KPI its mean, ``.low`` and ``.high`` (the interval at ``confidence``).

    ``precision`` (relative) or ``precision_abs`` runs each point in rounds of ``replications`` until the
    ``kpis`` (default ``kpis.loss_probability``) are that precise, or ``max_replications`` are spent.
    ``out`` (a folder) keeps each finished point as it completes (``points.jsonl``) and the table
    (``sweep.parquet`` or ``.csv``); ``resume=True`` runs only the points it does not hold yet. ``jobs``,
    ``cluster`` (a Dask scheduler address) or ``executor`` choose where replications run; by default a
    local pool of all cores when the work makes it pay.
    """
    scenario, seed, horizon = _prepare(scenario, seed, duration)
    from .experiments.sweep import SweepSpec, grid, run_sweep  # here: a plain run never needs them

    the_grid = grid(scenario, vary)
    rounds = _rounds(scenario, replications, precision, max_replications)
    scenario, _ = _auto_warmup(scenario, seed, horizon, rounds.first)  # chosen on the scenario as given
    rule = _precision(precision, precision_abs, kpis, confidence)
    spec = SweepSpec(scenario, the_grid, seed, horizon, scenario.warmup, rounds, confidence, rule)
    events = estimate_events(scenario, horizon) * rounds.first * len(the_grid.points)
    total = rounds.first * len(the_grid.points)
    with executor_for(jobs, cluster, executor, events) as pool, Progress(total, "runs", progress) as bar:
        table = run_sweep(spec, pool, out=out, resume=resume, progress=bar, on_point=on_point)
    if out is not None:
        write_records(table, out, "sweep", format)
    return table


#: Sizing's default rounds: 5 replications, then 5 more at a time, at most 40 per value.
SIZING_ROUNDS = (5, 5, 40)


def size(
    scenario,
    vary: str,
    target: str,
    *,
    replications: int | None = None,
    max_replications: int | None = None,
    seed: int | None = None,
    duration: float | str | None = None,
    confidence: float = 0.95,
    resilience: bool = False,
    cost: bool = False,
    jobs: int | None = None,
    cluster: str | None = None,
    executor: Executor | None = None,
    progress: bool | None = False,
    cache: dict | None = None,
) -> dict:
    """The smallest value of the field ``vary`` (``trunks.pbx-fra.capacity_limit``) for which
    ``target`` (``"blocking_probability<=0.01"``, any summary KPI, ``<=`` or ``>=``) holds with
    confidence: the interval's unfavourable bound meets it.

    Returns ``{"path", "value", "target", "kpi", "bound", "points", ...}``; with ``resilience`` also
    ``failures`` (each POP and each trunk down for the whole run: the value each needs) and ``binding``
    (the failure needing the most), and ``value`` is then the one that holds under every failure. With
    ``cost``, the cheapest value meeting the target (``costs.total``) among the smallest and the next
    few. ``cache`` (a dict) keeps replications between calls on the same scenario and seed.
    """
    scenario, seed, horizon = _prepare(scenario, seed, duration)
    from .experiments.sizing import SizingSpec, failures_of, size_for, with_failure
    from .experiments.targets import parse_target
    from .experiments.vary import resolve

    path = resolve(scenario, vary)
    goal = parse_target(target)
    first = replications if replications is not None else max(scenario.replications, SIZING_ROUNDS[0])
    budget = max_replications if max_replications is not None else max(SIZING_ROUNDS[2], first)
    rounds = Rounds(first, first, budget)
    scenario, chosen = _auto_warmup(scenario, seed, horizon, first)  # chosen on the scenario as given
    spec = SizingSpec(scenario, path, goal, seed, horizon, scenario.warmup, rounds, confidence)
    cache = {} if cache is None else cache
    cases = [("none", scenario)]
    if resilience:
        cases += [
            (label, with_failure(scenario, fault, label)) for label, fault in failures_of(scenario, horizon)
        ]
    events = estimate_events(scenario, horizon) * first * 6 * len(cases)
    results: dict[str, Sizing] = {}
    with (
        executor_for(jobs, cluster, executor, events) as pool,
        Progress(first * 6 * len(cases), "runs", progress) as bar,
    ):
        for label, variant in cases:
            near = results["none"].value if label != "none" else None
            results[label] = size_for(
                spec, variant, pool, cache, cost=cost, on_replications=lambda n: bar.advance(n), near=near
            )
    base = results["none"]
    kpi = _kpi_name(base, goal)
    answer = {
        "path": path.text,
        "value": base.value,
        "target": str(goal),
        "kpi": kpi,
        "bound": base.evaluation.bound if base.evaluation is not None else None,
        "confidence": confidence,
        "look_confidence": spec.look_confidence,
        "replications": {"first": rounds.first, "round": rounds.size, "budget": rounds.budget},
        "start": {"value": base.start, "from": base.start_from},
        "warmup": scenario.warmup,
        "points": [e.as_dict() for e in base.points],
    }
    if chosen is not None:
        answer["warmup_auto"] = chosen
    if base.note:
        answer["note"] = base.note
    if base.value is not None and base.evaluation is not None and cost:
        answer["cost"] = base.evaluation.cost
    if resilience:
        found = {label: r for label, r in results.items() if label != "none"}
        answer["failures"] = [
            {
                "failure": label,
                "value": r.value,
                "bound": r.evaluation.bound if r.evaluation is not None else None,
                "points": [e.as_dict() for e in r.points],
                **({"note": r.note} if r.note else {}),
            }
            for label, r in found.items()
        ]
        unmet = [label for label, r in found.items() if r.value is None]
        met = {label: r.value for label, r in found.items() if r.value is not None}
        binding = unmet[0] if unmet else (max(met, key=lambda label: met[label]) if met else None)
        answer["binding"] = binding
        answer["normal"] = {"value": base.value, "bound": answer["bound"]}
        if base.value is None or unmet:
            answer["value"] = None
        else:
            answer["value"] = max([base.value, *met.values()])
            if binding is not None and met[binding] >= base.value:
                evaluation = found[binding].evaluation
                answer["bound"] = evaluation.bound if evaluation is not None else None
    return answer


def _kpi_name(found, goal) -> str:
    return goal.kpi if "." in goal.kpi else f"kpis.{goal.kpi}"
