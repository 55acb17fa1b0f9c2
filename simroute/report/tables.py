"""Readable text tables of a summary, for the terminal: ``mean ± half-width`` when replicated."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["kpi_table", "comparison_table", "crosscheck_table", "sweep_table", "sizing_text"]

_TRUNK_COLUMNS = [
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
_QUEUE_COLUMNS = [
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
_SHORT = {
    "average_speed_of_answer": "asa",
    "abandonment_rate": "abandoned%",
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
    "answered_share": "ans_share",
    "attempt_blocking": "blocking",
    "error_fraction": "errors",
    "timeout_fraction": "timeouts",
    "carried_erlangs": "erlangs",
    "peak_concurrent": "peak",
    "time_congestion": "congestion",
}


def _num(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if value.is_integer() and abs(value) >= 10:
            return f"{value:.0f}"
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def _fmt(value, half=None) -> str:
    if half is None or value is None:
        return _num(value)
    return f"{_num(value)} ± {_num(float(half))}"


def _column(values: list) -> list:
    """A column's cells as a DataFrame built from the rows would hold them: a number missing from some
    rows (or ``None`` among numbers) makes the column float with NaN; other columns keep their objects."""
    present = [v for v in values if v is not _MISSING]
    if present and all(isinstance(v, bool) for v in present):
        return values if len(present) == len(values) else [math.nan if v is _MISSING else v for v in values]
    numeric = all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in present)
    if numeric and any(v is not None for v in present):
        if len(present) == len(values) and all(isinstance(v, int) for v in present):
            return values
        return [math.nan if v is _MISSING or v is None else float(v) for v in values]
    return [math.nan if v is _MISSING else v for v in values]


def _text(index: list[str], columns: dict[str, list[str]]) -> str:
    """Plain text laid out as pandas' ``to_string`` lays out text cells: the index left-aligned, each
    cell right-aligned with one leading space under its column's name, columns one space apart."""
    width = max((len(i) for i in index), default=0)
    widths = {name: max([len(name), *(len(v) + 1 for v in cells)]) for name, cells in columns.items()}
    head = " " * width + "".join(" " + name.rjust(widths[name]) for name in columns)
    body = [
        row.ljust(width) + "".join(" " + cells[i].rjust(widths[name]) for name, cells in columns.items())
        for i, row in enumerate(index)
    ]
    return "\n".join([head, *body])


def _table(rows: dict, halves: dict | None, columns: list[str] | None = None) -> str:
    names = list(dict.fromkeys(col for row in rows.values() for col in row))
    if columns:
        names = [c for c in columns if c in names]
    halves = halves or {}
    index = list(rows)
    text = {}
    for col in names:
        cells = _column([rows[r].get(col, _MISSING) for r in index])
        text[_SHORT.get(col, col)] = [
            _fmt(value, (halves.get(r) or {}).get(col)) for r, value in zip(index, cells)
        ]
    return _text([str(i) for i in index], text)


_MISSING = object()  # a key absent from a row (a NaN cell), unlike a present None


def kpi_table(summary: dict) -> str:
    """The summary as plain-text tables: call KPIs, outcomes, trunks, groups, DIDs, POPs."""
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
    for key in (
        "offered",
        "answered",
        "completion_rate",
        "loss_probability",
        "attempts_per_call",
        "post_dial_delay_mean",
        "post_dial_delay_p95",
    ):
        lines.append(f"  {key:<22} {_fmt(k[key], kci.get(key))}")
    lines += ["", "outcomes:"] + [
        f"  {name:<22} {_fmt(count, kci.get('outcomes', {}).get(name))}"
        for name, count in k["outcomes"].items()
    ]
    for title, key, columns in (
        ("trunks", "trunks", _TRUNK_COLUMNS),
        ("groups", "groups", None),
        ("DIDs", "dids", None),
        ("POPs", "pops", None),
        ("capacity groups", "capacity_groups", None),
    ):
        if summary.get(key):
            lines += ["", f"{title}:", _table(summary[key], ci.get(key), columns)]
    queues = {name: t["queue"] for name, t in summary["trunks"].items() if "queue" in t}
    if queues:
        halves = {name: (ci.get("trunks", {}).get(name) or {}).get("queue") for name in queues}
        lines += ["", "cloud PBX queues:", _table(queues, halves, _QUEUE_COLUMNS)]
    costs = summary.get("costs")
    if costs and costs["total"]:
        cci = ci.get("costs", {})
        lines += ["", f"costs ({costs['currency']}, {costs['months']:.3f} months):"]
        for name, row in costs.get("trunks", {}).items():
            half = (cci.get("trunks", {}).get(name) or {}).get("cost")
            lines.append(f"  PSTN {name:<24} {_fmt(row['minutes'])} min  {_fmt(row['cost'], half)}")
        for name, row in costs.get("capacity_groups", {}).items():
            half = (cci.get("capacity_groups", {}).get(name) or {}).get("cost")
            lines.append(
                f"  channels {name:<20} {_fmt(row['metered_minutes'])} metered min  {_fmt(row['cost'], half)}"
            )
        for number, row in costs.get("dids", {}).items():
            lines.append(f"  dedicated {number:<19} {_fmt(row['dedicated_channels_cost'])}")
        lines.append(
            f"  total {_fmt(costs['total'], cci.get('total'))}  per answered call "
            f"{_fmt(costs['per_answered_call'], cci.get('per_answered_call'))}"
        )
    few = summary.get("few_events")
    if few:
        level = f"{summary['confidence']:.0%}"
        lines += ["", f"too few events for mean ± half-width; {level} interval on pooled counts instead:"]
        for kpi, row in few.items():
            lines.append(f"  {kpi:<40} [{_num(row['low'])}, {_num(row['high'])}]  {row['events']:.0f} events")
    return "\n".join(lines)


def comparison_table(table: pd.DataFrame, confidence: float) -> str:
    """B minus A per KPI, with the paired and the unpaired half-widths; significant rows marked ``*``."""
    import pandas as pd

    rows = []
    for kpi, r in table.iterrows():
        if r["a"] == r["b"] and r["paired_half_width"] in (0, None):
            continue
        rows.append(
            {
                "kpi": kpi,
                "A": _num(r["a"]),
                "B": _num(r["b"]),
                "B - A": f"{_num(r['difference'])} ± {_num(r['paired_half_width'])}",
                "unpaired ±": _num(r["unpaired_half_width"]),
                "": "*" if r["significant"] else "",
            }
        )
    frame = pd.DataFrame(rows)
    note = f"differences with {confidence:.0%} paired CI (common random numbers); * the CI excludes 0"
    return note + "\n" + (frame.to_string(index=False) if rows else "(no KPI differs)")


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
