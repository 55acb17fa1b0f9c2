"""One self-contained HTML page per run: scenario and topology, KPI tables with intervals, the plots
(PNG embedded as data URIs), the summary's warnings. No script, no stylesheet or font fetched: the file
reads the same from disk, from a mail attachment or behind a firewall."""

from __future__ import annotations

import base64
import io
from html import escape
from pathlib import Path

from ..io.files import atomic_path
from . import plots
from .data import ReportData, as_data
from .format import format_column
from .tables import TRUNK_COLUMNS, entity_columns, kpi_rows

__all__ = ["render", "write_report", "PLOTS"]

#: The plots of a report, in reading order: (title, function).
PLOTS = (
    ("Busy channels against caps", plots.busy_channels),
    ("KPIs per interval, busy hour", plots.intervals),
    ("Load share per trunk against weight share", plots.load_share),
    ("How calls ended", plots.outcomes),
    ("Failover flows per trunk", plots.failover),
    ("Post-dial delay", plots.post_dial_delay),
)

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.92em}
th,td{border:1px solid #ddd;padding:.25em .6em}th{background:#f3f3f3;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.warn{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em 1em}
.muted{color:#666}figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}
"""


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _table(header: list[str] | None, rows: list[list[str]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header or [])
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="n">{escape(c)}</td>' if i >= numeric_from else f"<td>{escape(c)}</td>"
            for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    thead = f"<thead><tr>{head}</tr></thead>" if header else ""
    return f"<table>{thead}<tbody>{body}</tbody></table>"


def _entity_table(rows: dict, halves: dict | None, columns=None) -> str:
    cols = entity_columns(rows, halves, columns)
    names = [str(n) for n in rows]
    return _table(["", *cols], [[n, *(cols[c][i] for c in cols)] for i, n in enumerate(names)])


def _summary_section(data: ReportData) -> str:
    s = data.summary
    window = s["duration"] - s["warmup"]
    facts = [
        ("scenario", str(s["scenario"])),
        ("seed", str(s["seed"])),
        (
            "duration",
            f"{s['duration'] / 3600:g} h, warm-up {s['warmup'] / 3600:g} h ({window / 3600:g} h counted)",
        ),
    ]
    if "replications" in s:
        facts.append(
            ("statistics", f"{s['replications']} replications, mean ± {s['confidence']:.0%} CI half-width")
        )
    elif "batches" in s:
        facts.append(
            ("statistics", f"{s['batches']} batch means, mean ± {s['confidence']:.0%} CI half-width")
        )
    else:
        facts.append(("statistics", "a single run (no confidence interval)"))
    if data.scenario is not None and data.scenario.description:
        facts.append(("description", data.scenario.description.strip()))
    return _table(None, [list(f) for f in facts], numeric_from=99)


def _clock(seconds: float) -> str:
    """A time into the run as ``h:mm`` (``d h:mm`` past a day), as a planner reads a schedule."""
    minutes = round(seconds / 60)
    days, rest = divmod(minutes, 1440)
    text = f"{rest // 60}:{rest % 60:02d}"
    return f"day {days} {text}" if days else text


def _topology(data: ReportData) -> str:
    sc = data.scenario
    if sc is None:
        return '<p class="muted">The results folder holds no scenario.json: topology not shown.</p>'
    parts = [
        "<h3>POPs</h3>",
        _table(["POP", "ingress share"], [[p.name, f"{p.ingress_share:g}"] for p in sc.pops]),
    ]
    trunk_rows = []
    for t in sc.trunks:
        e = t.endpoint
        trunk_rows.append(
            [
                t.name,
                t.kind,
                t.pop or "auto",
                "-" if t.capacity_limit is None else str(t.capacity_limit),
                "-" if e is None or e.channels is None else str(e.channels),
                "-" if t.ringing_timeout is None else f"{t.ringing_timeout:g} s",
                t.number_list or "-",
            ]
        )
    parts += [
        "<h3>Trunks</h3>",
        _table(
            ["trunk", "kind", "POP", "capacity limit", "endpoint channels", "ringing timeout", "number list"],
            trunk_rows,
        ),
    ]
    if sc.trunk_groups:
        shares = data.summary.get("trunks", {})
        members = [(g, m) for g in sc.trunk_groups for m in g.members]
        share_cells = format_column([shares.get(m.trunk, {}).get("weight_share") for _, m in members])
        rows = [
            [
                g.name,
                "-" if g.capacity_limit is None else str(g.capacity_limit),
                m.trunk,
                str(m.priority),
                str(m.weight),
                share,
            ]
            for (g, m), share in zip(members, share_cells)
        ]
        parts += [
            "<h3>Trunk groups</h3>",
            _table(["group", "capacity limit", "member", "priority", "weight", "weight share"], rows),
        ]
    did_rows = []
    for d in sc.dids:
        traffic = d.traffic
        load = "-"
        if traffic is not None:
            load = (
                f"{traffic.erlangs:g} erlang"
                if traffic.erlangs is not None
                else f"{traffic.calls_per_hour or 0:g} calls/h"
            )
            if traffic.profile or traffic.steps:
                load += " (varies over time)"
        route = f"group {d.route.group}" if d.route.group else f"trunk {d.route.trunk}"
        did_rows.append([d.number, route, "-" if d.capacity_limit is None else str(d.capacity_limit), load])
    parts += ["<h3>DIDs</h3>", _table(["DID", "route", "capacity limit", "offered load"], did_rows)]
    if sc.faults:
        rows = [
            [plots.fault_label(f), _clock(f.at), _clock(f.at + f.duration)]
            if f.at is not None and f.duration is not None
            else [f"{'POP ' + str(f.pop) if f.pop else 'trunk ' + str(f.trunk)} random outages",
                  f"mtbf {f.mtbf:g} s", f"mttr {f.mttr:g} s"]
            for f in sc.faults
        ]  # fmt: skip
        parts += ["<h3>Faults</h3>", _table(["fault", "from", "to"], rows)]
    return "\n".join(parts)


def _kpi_section(data: ReportData) -> str:
    s = data.summary
    ci = s.get("ci95") or {}
    ref = plots.erlang_b_reference(data)
    rows = []
    for name, text in kpi_rows(s["kpis"], ci.get("kpis")):
        theory = ""
        if ref is not None and ref["kpi"] == name:
            theory = f"{ref['theory']:.4f} ({ref['why']})"
        rows.append([name, text, theory])
    header = ["KPI", "value" + (" (mean ± half-width)" if ci else ""), "theory"]
    if ref is None:
        rows = [r[:2] for r in rows]
        header = header[:2]
    out = [_table(header, rows)]
    for key, title, unit in (
        ("outcomes", "Outcomes", "calls"),
        ("caller_outcomes", "Caller outcomes", "callers"),
    ):
        outcomes = s["kpis"].get(key) or {}
        if outcomes:
            names = list(outcomes)
            cells = format_column(
                [outcomes[n] for n in names],
                [(ci.get("kpis", {}).get(key) or {}).get(n) for n in names],
                True,
            )
            out += [f"<h3>{title}</h3>", _table(["outcome", unit], [[n, c] for n, c in zip(names, cells)])]
    busy = s.get("busy_hour")
    if isinstance(busy, dict):
        bk = busy.get("kpis", busy)
        bci = (ci.get("busy_hour") or {}).get("kpis", ci.get("busy_hour"))
        out += [
            "<h3>Busy hour</h3>",
            _table(["KPI", "value"], [list(r) for r in kpi_rows(bk, bci, "busy_hour")]),
        ]
    for title, key, columns in (
        ("Trunks", "trunks", TRUNK_COLUMNS),
        ("Trunk groups", "groups", None),
        ("DIDs", "dids", None),
        ("POPs", "pops", None),
        ("Capacity groups", "capacity_groups", None),
    ):
        if s.get(key):
            out += [f"<h3>{title}</h3>", _entity_table(s[key], ci.get(key), columns)]
    return "\n".join(out)


def _warnings(summary: dict) -> str:
    warnings = summary.get("warnings") or []
    if not warnings:
        return '<p class="muted">No warnings.</p>'
    items = "".join(
        f"<li>{escape(w.get('message', str(w)) if isinstance(w, dict) else str(w))}</li>" for w in warnings
    )
    return f'<div class="warn"><ul>{items}</ul></div>'


def render(source, title: str | None = None) -> str:
    """The report of ``source`` (a Result, a results folder or a ReportData) as one HTML string."""
    data = as_data(source)
    name = str(data.summary["scenario"])
    figures = []
    plot_list = list(PLOTS)
    if plots.erlang_b_reference(data) is not None:
        plot_list.append(("Simulated against theory", plots.theory_check))
    for caption, fn in plot_list:
        fig = fn(data)
        figures.append(
            f'<figure><img src="{_png(fig)}" alt="{escape(caption)}">'
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{escape(title or f'simroute report: {name}')}</title>",
            f"<style>{_STYLE}</style></head><body>",
            f"<h1>{escape(title or f'simroute report: {name}')}</h1>",
            _summary_section(data),
            "<h2>Warnings</h2>",
            _warnings(data.summary),
            "<h2>KPIs</h2>",
            _kpi_section(data),
            "<h2>Plots</h2>",
            *figures,
            "<h2>Scenario topology</h2>",
            _topology(data),
            '<p class="muted">Counts are whole calls; every other number has the decimals its confidence '
            "interval supports, the same down a column.</p>",
            "</body></html>",
            "",
        ]
    )


def write_report(source, target, title: str | None = None) -> Path:
    """Write :func:`render`'s page to ``target`` atomically (a complete file or none)."""
    text = render(source, title)
    with atomic_path(Path(target)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(target)
