"""Readable text tables of a summary, for the terminal: ``mean ± half-width`` when replicated.

Numbers follow :mod:`simroute.report.format` (decimals the interval supports, counts as integers, one
number of decimals down a column); tables are cut into blocks that fit :data:`WIDTH` columns, and the
short column names are explained once, at the end.
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from .format import column_decimals, format_cell, format_column, is_count

if TYPE_CHECKING:  # the KPI table is laid out without pandas: a single run never imports it
    import pandas as pd

__all__ = [
    "ABBREVIATIONS",
    "WIDTH",
    "comparison_table",
    "entity_columns",
    "entity_table",
    "kpi_rows",
    "kpi_table",
    "crosscheck_table",
    "sweep_table",
    "sizing_text",
    "interval_table",
]

WIDTH = 100

TRUNK_COLUMNS = [
    "attempts",
    "answered",
    "first_choice_share",
    "weight_share",
    "answered_share",
    "attempt_blocking",
    "error_fraction",
    "timeout_fraction",
    "carried_erlangs",
    "peak_concurrent",
    "time_congestion",
]
QUEUE_COLUMNS = [
    "entered",
    "served",
    "abandoned",
    "voicemail",
    "service_level",
    "average_speed_of_answer",
    "abandonment_rate",
    "agent_occupancy",
    "mean_queue_length",
    "peak_queue_length",
]
#: Short column names of the tables and the KPI each stands for (printed once under the tables).
ABBREVIATIONS = {
    "average_speed_of_answer": "asa",
    "abandonment_rate": "abandon%",
    "agent_occupancy": "occupancy",
    "mean_queue_length": "queue",
    "peak_queue_length": "queue_peak",
    "service_level": "SL",
    "shared_carried_erlangs": "shared_erl",
    "metered_carried_erlangs": "metered_erl",
    "shared_time_congestion": "shared_full",
    "metered_minutes": "metered_min",
    "first_choice_share": "first",
    "weight_share": "weight",
    "weight_share_in_priority": "weight_prio",
    "answered_share": "ans_share",
    "attempt_blocking": "blocking",
    "blocking_probability": "blocking",
    "error_fraction": "errors",
    "timeout_fraction": "timeouts",
    "carried_erlangs": "erlangs",
    "peak_concurrent": "peak",
    "time_congestion": "congestion",
}
#: The call KPIs in the order a planner reads them; any other scalar KPI follows in the summary's order.
CALL_KPIS = (
    "offered",
    "answered",
    "completion_rate",
    "loss_probability",
    "blocking_probability",
    "rejected",
    "failed",
    "served_rate",
    "attempts_per_call",
    "post_dial_delay_mean",
    "post_dial_delay_p95",
)


def _num(value) -> str:
    if value is None or (isinstance(value, float) and value != value):  # None or NaN: not defined
        return "-"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 10:
            return f"{value:.0f}"
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def _scalar(v) -> bool:
    return v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))


def kpi_rows(kpis: dict, halves: dict | None, prefix: str = "kpis") -> list[tuple[str, str]]:
    """``(name, text)`` of the scalar call KPIs, each with the decimals its own interval supports."""
    halves = halves or {}
    names = [k for k in CALL_KPIS if k in kpis] + [
        k for k, v in kpis.items() if k not in CALL_KPIS and _scalar(v)
    ]
    return [
        (k, format_column([kpis[k]], [halves.get(k)], is_count(f"{prefix}.{k}"))[0])
        for k in names
        if _scalar(kpis[k])
    ]


def entity_columns(rows: dict, halves: dict | None, columns: list[str] | None = None) -> dict[str, list[str]]:
    """One formatted column per numeric KPI of a per-entity table (trunks, groups...): ``{kpi: [cell,
    ...]}``, the ``columns`` first when given; a KPI missing from a row is ``-``."""
    present = list(dict.fromkeys(k for row in rows.values() for k in row))
    keep = [c for c in (columns or []) if c in present] + [c for c in present if c not in (columns or [])]
    halves = halves or {}
    out = {}
    for col in keep:
        values = [_plain(row.get(col)) for row in rows.values()]
        if not all(_scalar(v) for v in values):
            continue  # a nested table (a cloud PBX queue) or text: not a column of numbers
        hw = [_plain((halves.get(r) or {}).get(col)) for r in rows] if halves else None
        out[col] = format_column(values, hw, is_count(col))
    return out


def _plain(v):
    """A cell as a Python number (or None): NaN from a missing key becomes None."""
    if v is None:
        return None
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, float) and v != v:
        return None
    return v


def _blocks(index: list[str], columns: dict[str, list[str]], width: int = WIDTH) -> str:
    """Right-aligned columns under their names, cut into blocks no wider than ``width``."""
    lead = max([len(i) for i in index] + [0]) + 2
    widths = {c: max([len(c)] + [len(x) for x in cells]) for c, cells in columns.items()}
    blocks: list[list[str]] = []
    current: list[str] = []
    used = lead
    for c in columns:
        if current and used + 2 + widths[c] > width:
            blocks.append(current)
            current, used = [], lead
        current.append(c)
        used += 2 + widths[c]
    if current:
        blocks.append(current)
    out = []
    for cols in blocks:
        lines = [" " * lead + "".join(f"  {c:>{widths[c]}}" for c in cols)]
        for r, name in enumerate(index):
            lines.append(f"  {name:<{lead - 2}}" + "".join(f"  {columns[c][r]:>{widths[c]}}" for c in cols))
        out.append("\n".join(lines))
    return "\n\n".join(out)


def entity_table(rows: dict, halves: dict | None, columns: list[str] | None = None, used=None) -> str:
    """A per-entity table, its long KPI names shortened (``used`` collects the short names shown)."""
    cols = entity_columns(rows, halves, columns)
    if used is not None:
        used.update(k for k in cols if k in ABBREVIATIONS)
    return _blocks([str(i) for i in rows], {ABBREVIATIONS.get(k, k): v for k, v in cols.items()})


def _legend(used: set[str]) -> list[str]:
    """One line (wrapped between pairs, never inside one) naming what each short column stands for."""
    lines, line = [""], "columns:"
    for k in sorted(used, key=lambda k: ABBREVIATIONS[k]):
        pair = f" {ABBREVIATIONS[k]} = {k},"
        if len(line) + len(pair) > WIDTH:
            lines.append(line)
            line = " "
        line += pair
    return lines + [line.rstrip(",")] if used else []


def _warning_text(w) -> str:
    if isinstance(w, dict):
        return w.get("message") or ", ".join(f"{k}={v}" for k, v in w.items())
    return str(w)


def kpi_table(summary: dict) -> str:
    """The summary as plain-text tables: call KPIs, outcomes, trunks, groups, DIDs, POPs, warnings."""
    k = summary["kpis"]
    ci = summary.get("ci95") or {}
    kci = ci.get("kpis", {})
    window = summary["duration"] - summary["warmup"]
    head = (
        f"scenario {summary['scenario']}  seed {summary['seed']}  "
        f"window {summary['warmup']:g}s..{summary['duration']:g}s ({window / 3600:.2f} h after warm-up)"
    )
    if "replications" in summary:
        head += f"\n{summary['replications']} replications: mean ± {summary['confidence']:.0%} CI half-width"
    elif "batches" in summary:
        head += f"\n{summary['batches']} batch means: mean ± {summary['confidence']:.0%} CI half-width"
    lines = [head, ""]
    lines += [f"  {name:<24} {text}" for name, text in kpi_rows(k, kci)]
    for key, title in (("outcomes", "outcomes"), ("caller_outcomes", "caller outcomes (redial)")):
        outcomes = k.get(key) or {}
        if outcomes:
            names = list(outcomes)
            cells = format_column(
                [outcomes[n] for n in names], [(kci.get(key) or {}).get(n) for n in names], count=True
            )
            lines += ["", f"{title}:"] + [f"  {n:<24} {c}" for n, c in zip(names, cells)]
    busy = summary.get("busy_hour")
    if isinstance(busy, dict):
        bci = ci.get("busy_hour") or {}
        bk = busy.get("kpis", busy)
        start, days = busy.get("start"), busy.get("days")
        title = "busy hour" + (f" {start} local time" if isinstance(start, str) else "")
        if isinstance(days, (int, float)) and days > 1:
            title += f", mean of {days:g} days"
        lines += ["", f"{title}:"] + [
            f"  {name:<24} {text}" for name, text in kpi_rows(bk, bci.get("kpis", bci), "busy_hour")
        ]
    used: set[str] = set()
    for title, key, columns in (
        ("trunks", "trunks", TRUNK_COLUMNS),
        ("groups", "groups", None),
        ("DIDs", "dids", None),
        ("POPs", "pops", None),
        ("capacity groups", "capacity_groups", None),
    ):
        if summary.get(key):
            lines += ["", f"{title}:", entity_table(summary[key], ci.get(key), columns, used)]
    queues = {name: t["queue"] for name, t in summary["trunks"].items() if "queue" in t}
    if queues:
        halves = {name: (ci.get("trunks", {}).get(name) or {}).get("queue") for name in queues}
        lines += ["", "cloud PBX queues:", entity_table(queues, halves, QUEUE_COLUMNS, used)]
    lines += _costs(summary, ci)
    few = summary.get("few_events")
    if few:
        level = f"{summary['confidence']:.0%}"
        lines += ["", f"too few events for mean ± half-width; {level} interval on pooled counts instead:"]
        for kpi, row in few.items():
            low, high = format_column([row["low"], row["high"]], count=is_count(kpi))
            lines.append(f"  {kpi:<40} [{low}, {high}]  {row['events']:.0f} events")
    lines += _legend(used)
    warnings = summary.get("warnings") or []
    if warnings:
        lines += ["", "warnings:"] + [
            textwrap.fill(_warning_text(w), WIDTH, initial_indent="  - ", subsequent_indent="    ")
            for w in warnings
        ]
    return "\n".join(lines)


def _costs(summary: dict, ci: dict) -> list[str]:
    costs = summary.get("costs")
    if not costs or not costs.get("total"):
        return []
    cci = ci.get("costs", {})
    lines = ["", f"costs ({costs['currency']}, {costs['months']:.3f} months):"]
    rows: dict[str, dict] = {}
    halves: dict[str, dict] = {}
    for name, row in costs.get("trunks", {}).items():
        rows[f"PSTN {name}"] = {"minutes": row["minutes"], "cost": row["cost"]}
        halves[f"PSTN {name}"] = {"cost": (cci.get("trunks", {}).get(name) or {}).get("cost")}
    for name, row in costs.get("capacity_groups", {}).items():
        rows[f"channels {name}"] = {"minutes": row["metered_minutes"], "cost": row["cost"]}
        halves[f"channels {name}"] = {"cost": (cci.get("capacity_groups", {}).get(name) or {}).get("cost")}
    for number, row in costs.get("dids", {}).items():
        rows[f"dedicated {number}"] = {"minutes": None, "cost": row["dedicated_channels_cost"]}
    rows["total"] = {"minutes": None, "cost": costs["total"]}
    halves["total"] = {"cost": cci.get("total")}
    rows["per answered call"] = {"minutes": None, "cost": costs["per_answered_call"]}
    halves["per answered call"] = {"cost": cci.get("per_answered_call")}
    cols = {
        "minutes": format_column([r["minutes"] for r in rows.values()]),
        "cost": format_column(
            [r["cost"] for r in list(rows.values())[:-1]], [halves.get(n, {}).get("cost") for n in rows][:-1]
        )
        + format_column([costs["per_answered_call"]], [cci.get("per_answered_call")]),
    }
    lines.append(_blocks(list(rows), cols))
    return lines


def comparison_table(
    table: pd.DataFrame, confidence: float, replications: int | None = None, warnings=()
) -> str:
    """B minus A per KPI, with the paired and the unpaired half-widths; significant rows marked ``*``.

    Each row is a different KPI, so each row has its own decimals: those its intervals support. A
    half-width that cannot be had (fewer than 2 replications with the KPI defined) is left out and an
    undefined value is ``-``, never ``nan``; ``replications`` and ``warnings`` are stated.
    """
    index: list[str] = []
    cells: dict[str, list[str]] = {"A": [], "B": [], "B - A": [], "unpaired ±": [], "": []}
    for kpi, r in table.iterrows():
        if r["a"] == r["b"] and r["paired_half_width"] in (0, None):
            continue
        paired, unpaired = _plain(r["paired_half_width"]), _plain(r["unpaired_half_width"])
        d = column_decimals([_plain(r["difference"])], [paired, unpaired], is_count(str(kpi)))
        index.append(str(kpi))
        cells["A"].append(format_cell(_plain(r["a"]), None, d))
        cells["B"].append(format_cell(_plain(r["b"]), None, d))
        cells["B - A"].append(format_cell(_plain(r["difference"]), paired, d))
        cells["unpaired ±"].append(format_cell(unpaired, None, d))
        cells[""].append("*" if r["significant"] else "")
    runs = f"{replications} replications each, " if replications else ""
    note = f"differences with {confidence:.0%} paired CI ({runs}common random numbers); * the CI excludes 0"
    lines = [note, _blocks(index, cells) if index else "(no KPI differs)"]
    lines += [f"warning: {w}" for w in warnings]
    return "\n".join(lines)


def crosscheck_table(check) -> str:
    """The SIP cross-check side by side: Kamailio's count, simroute's mean, difference and tolerance."""
    t = check.table
    lines = [
        f"SIP cross-check: {len(check.trace.calls)} calls of the trace, Kamailio and SIPp vs simroute "
        f"({check.folder})",
        f"{'quantity':<34}{'kamailio':>10}{'simroute':>10}{'diff':>9}{'tolerance':>11}  ok",
    ]
    for row in t.itertuples():
        ratio = row.quantity.startswith(("kpis.", "trunks."))
        kam = f"{row.kamailio:.3f}" if ratio else f"{row.kamailio:.0f}"
        sim = f"{row.simroute:.3f}" if ratio else f"{row.simroute:.1f}"
        diff = f"{row.difference:.3f}" if ratio else f"{row.difference:.1f}"
        tol = "exact" if row.exact else (f"±{row.tolerance:.3f}" if ratio else f"±{row.tolerance:.1f}")
        lines.append(
            f"{row.quantity:<34}{kam:>10}{sim:>10}{diff:>9}{tol:>11}  {'yes' if row.agrees else 'NO'}"
        )
    for name, count in check.anomalies.items():
        if count:
            lines.append(f"anomaly: {name} = {count}")
    lines.append("agree" if check.agrees else "DISAGREE: see the rows marked NO")
    return "\n".join(lines)


def _interval(row, kpi: str) -> str:
    import pandas as pd

    low, high = row.get(f"{kpi}.low"), row.get(f"{kpi}.high")
    value = row.get(kpi)
    if value is None or pd.isna(value):
        return "-"
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return _num(float(value))
    if kpi in str(row.get("few_events") or "").split(";"):  # an interval on pooled counts, not ±
        return f"{_num(float(value))} [{_num(float(low))}, {_num(float(high))}] few events"
    return f"{_num(float(value))} ± {_num((float(high) - float(low)) / 2)}"


def sweep_table(table: pd.DataFrame, varied: list[str], kpis: list[str]) -> str:
    """A sweep's table for the terminal: the varied fields, replications, and the chosen KPIs with their
    intervals (``[low, high] few events`` where the interval is on pooled counts)."""
    import pandas as pd

    shown = [k if k in table.columns else f"kpis.{k}" for k in kpis]
    rows = []
    for _, r in table.iterrows():
        row = {v: r[v] for v in varied}
        row["reps"] = r["replications"]
        if "precision_met" in table.columns:
            row["precise"] = "yes" if r["precision_met"] else "no (budget)"
        for kpi in shown:
            row[kpi] = _interval(r, kpi)
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False)


def _verdict(value, bound, note=None) -> str:
    if value is None:
        return f"not met ({note})" if note else "not met within the search"
    return f"{value:g}" + (f" (bound {_num(bound)})" if bound is not None else "")


def sizing_text(answer: dict) -> str:
    """A sizing answer for the terminal: the value, the bound it met, the points tried, the failures."""
    conf = answer["confidence"]
    lines = [
        f"{answer['path']} = {_verdict(answer['value'], answer['bound'], answer.get('note'))}",
        f"target {answer['target']} met by the unfavourable end of the {conf:.0%} interval "
        f"({answer['look_confidence']:.2%} at each look); started from {answer['start']['from']}",
    ]
    if "failures" in answer:
        lines.append(f"without failures: {_verdict(answer['normal']['value'], answer['normal']['bound'])}")
        lines.append("N-1 (each for the whole run):")
        for f in answer["failures"]:
            mark = "  <- binding" if f["failure"] == answer["binding"] else ""
            lines.append(f"  {f['failure']:<28} {_verdict(f['value'], f['bound'], f.get('note'))}{mark}")
    lines.append("points tried (no failure):")
    for p in answer["points"]:
        lines.append(
            f"  {p['value']:>8g}  {p['verdict']:<9} {_num(p['mean'])} [{_num(p['low'])}, {_num(p['high'])}]"
            f"  {p['replications']} replications{' (few events)' if p['interval'] != 't' else ''}"
            + (f"  cost {_num(p['cost'])}" if p.get("cost") is not None else "")
        )
    return "\n".join(lines)


def interval_table(frame: pd.DataFrame) -> str:
    """The KPIs per interval (:meth:`~simroute.kpis.result.Result.intervals`) as text: one row per
    interval, named by its local start time; trunk columns as ``<trunk>.erlangs`` and ``.peak``."""
    days = {t.date() for t in frame.index}
    times = [f"{t:%Y-%m-%d %H:%M}" if len(days) > 1 else f"{t:%H:%M}" for t in frame.index]
    columns = {}
    for col in (c for c in frame.columns if c not in ("start", "end")):
        *trunk, key = col.split(".")
        columns[".".join([*trunk, ABBREVIATIONS.get(key, key)])] = format_column(
            frame[col].tolist(), count=is_count(col)
        )
    return _blocks(times, columns)
