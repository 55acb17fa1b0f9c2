"""Pictures of a run or a sweep, as matplotlib Figures (``simroute.plot.*``).

Each function takes a :class:`~simroute.kpis.result.Result`, the folder ``simroute run --out`` wrote, or a
:class:`~simroute.report.data.ReportData`, and returns a :class:`matplotlib.figure.Figure` built without
pyplot, so it works headless (no display, no global figure state) and in a notebook alike. Intervals are
the summary's own half-widths; theory values come from :mod:`simroute.theory`, never from the simulator.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .. import theory as _theory
from ..errors import SimrouteError
from ..kpis import periods
from ..scenario import clock
from .data import ReportData, as_data

__all__ = [
    "busy_channels",
    "erlang_b_reference",
    "failover",
    "intervals",
    "load_share",
    "outcomes",
    "post_dial_delay",
    "sweep",
    "theory_check",
]

_KIND_TITLE = {"trunk": "trunks", "group": "trunk groups", "did": "DIDs"}


def _figure(width=9.0, height=4.0, rows=1, cols=1, **kw):
    fig = Figure(figsize=(width, height), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False, **kw)
    return fig, axes


def _empty(title: str, why: str) -> Figure:
    """A figure that says why it has nothing to show (a run without records, a KPI that is absent)."""
    fig, ax = _figure(6, 1.6)
    ax[0, 0].axis("off")
    ax[0, 0].text(0.5, 0.5, f"{title}: {why}", ha="center", va="center", wrap=True)
    return fig


def _caps(data: ReportData) -> dict[str, int]:
    """The configured cap of each trunk, group and DID (``kind:name``), where one is set."""
    s = data.scenario
    if s is None:
        return {}
    caps = {f"trunk:{t.name}": t.capacity_limit for t in s.trunks}
    caps |= {f"group:{g.name}": g.capacity_limit for g in s.trunk_groups}
    caps |= {f"did:{d.number}": d.capacity_limit for d in s.dids}
    return {k: v for k, v in caps.items() if v is not None}


def fault_label(f) -> str:
    """``POP FRA down``, ``trunk pbx-ams answers 503``: what a scheduled fault does, in words."""
    what = f"POP {f.pop}" if f.pop else f"trunk {f.trunk}"
    effect = {"down": "down", "respond": f"answers {f.code}", "channels": f"{f.channels} channels"}
    return f"{what} {effect[f.effect]}"


def fault_windows(data: ReportData) -> list[tuple[float, float, str]]:
    """``(start, end, label)`` of each scheduled fault within the run, clipped to its end."""
    s = data.scenario
    if s is None:
        return []
    horizon = data.summary["duration"]
    return [
        (f.at, min(f.at + f.duration, horizon), fault_label(f))
        for f in s.faults
        if f.at is not None and f.duration is not None and f.at < horizon  # random outages: no window
    ]


def _shade_faults(ax, data: ReportData, unit: float) -> None:
    colours = ("tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive")
    for i, (a, b, label) in enumerate(fault_windows(data)):
        ax.axvspan(a / unit, b / unit, color=colours[i % len(colours)], alpha=0.15, label=label)


def _time_unit(seconds: float) -> tuple[float, str]:
    return (86400.0, "days") if seconds > 3 * 86400 else (3600.0, "hours")


def busy_channels(source, kinds=("trunk", "group", "did")) -> Figure:
    """Busy channels over time per trunk, group and DID (one panel per kind), each against its cap
    (dashed, same colour), with the scenario's fault windows shaded and the warm-up greyed."""
    data = as_data(source)
    conc = data.concurrency
    if conc is None:
        return _empty("busy channels", "this run kept no attempt records")
    kinds = [k for k in kinds if any(c.startswith(f"{k}:") for c in conc.columns)]
    unit, label = _time_unit(data.summary["duration"])
    caps = _caps(data)
    fig, axes = _figure(9, 2.6 * len(kinds), rows=len(kinds), sharex=True)
    x = conc.index.to_numpy(float) / unit
    for ax, kind in zip(axes[:, 0], kinds):
        for i, col in enumerate(c for c in conc.columns if c.startswith(f"{kind}:")):
            colour = f"C{i % 10}"
            ax.step(x, conc[col].to_numpy(), where="post", color=colour, label=col.split(":", 1)[1])
            if col in caps:
                ax.axhline(caps[col], color=colour, linestyle="--", linewidth=1)
        _shade_faults(ax, data, unit)
        warmup = data.summary.get("warmup", 0) or 0
        if warmup:
            ax.axvspan(0, warmup / unit, color="grey", alpha=0.1, label="warm-up")
        ax.set_ylabel("busy channels")
        ax.set_title(f"{_KIND_TITLE[kind]} (dashed: cap)", loc="left", fontsize="medium")
        ax.legend(fontsize="small", loc="upper right", ncols=2)
        ax.set_ylim(bottom=0)
    axes[-1, 0].set_xlabel(label)
    return fig


def _ci(data: ReportData, *path):
    node = data.summary.get("ci95") or {}
    for p in path:
        node = node.get(p) if isinstance(node, dict) else None
        if node is None:
            return None
    return node


def load_share(source) -> Figure:
    """Per trunk: the share of calls tried on it first (with its interval) against the configured
    weight share, and the share of answers it carried."""
    data = as_data(source)
    trunks = data.summary["trunks"]
    names = list(trunks)
    y = np.arange(len(names))
    fig, axes = _figure(8, 0.7 + 0.55 * len(names))
    ax = axes[0, 0]
    for offset, key, label in (
        (-0.2, "first_choice_share", "tried first"),
        (0.2, "answered_share", "answered on it"),
    ):
        vals = [trunks[n].get(key) or 0.0 for n in names]
        err = [_ci(data, "trunks", n, key) or 0.0 for n in names] if data.confidence else None
        ax.barh(y + offset, vals, height=0.38, xerr=err, capsize=3, label=label)
    weights = [trunks[n].get("weight_share") for n in names]
    wy = [i for i, w in enumerate(weights) if w is not None]
    ax.scatter([weights[i] for i in wy], [y[i] - 0.2 for i in wy], marker="D", color="black", zorder=3)
    ax.scatter([], [], marker="D", color="black", label="weight share (configured)")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.05)
    ax.set_xlabel("share of calls" + (f" ({data.confidence:.0%} CI)" if data.confidence else ""))
    ax.legend(fontsize="small", loc="lower right")
    return fig


def outcomes(source) -> Figure:
    """How calls ended: one bar per final outcome, with its interval when replicated."""
    data = as_data(source)
    counts = data.summary["kpis"].get("outcomes") or {}
    if not counts:
        return _empty("outcomes", "no call was offered")
    names = sorted(counts, key=lambda n: -counts[n])
    fig, axes = _figure(8, 0.7 + 0.4 * len(names))
    ax = axes[0, 0]
    values = [counts[n] for n in names]
    err = None
    if data.confidence:  # an interval reaching below 0 is drawn to 0: no count is negative
        half = [_ci(data, "kpis", "outcomes", n) or 0.0 for n in names]
        err = [[min(h, v) for h, v in zip(half, values)], half]
    colours = ["tab:green" if n == "answered" else "tab:red" for n in names]
    ax.barh(names, values, xerr=err, capsize=3, color=colours)
    ax.set_xscale("symlog", linthresh=10)
    ax.invert_yaxis()
    ax.set_xlabel("calls (log scale above 10)")
    return fig


def _in_window(data: ReportData, attempts: pd.DataFrame) -> pd.Series:
    """Which attempts belong to calls counted in the KPI window."""
    if "in_window" in attempts.columns:
        return attempts["in_window"].astype(bool)
    warmup = data.summary.get("warmup", 0) or 0
    first = attempts.groupby("call_id")["time_start"].transform("min")
    return first >= warmup


def failover(source) -> Figure:
    """Failover flows per trunk: for each attempt number, how many attempts on the trunk were answered,
    handed on to the next trunk, or ended the call unanswered."""
    data = as_data(source)
    att = data.attempts
    if att is None or att.empty:
        return _empty("failover flows", "this run kept no attempt records")
    att = att[_in_window(data, att) & (att["trunk"].astype(str) != "")]
    flow = np.where(
        att["disconnect_code"].to_numpy() == 200,
        "answered",
        np.where(att["is_last_cdr"].to_numpy(bool), "ended the call", "failed over"),
    )
    table = pd.crosstab([att["trunk"], att["routing_attempt"]], flow)
    trunks = list(dict.fromkeys(att["trunk"]))
    fig, axes = _figure(3.2 * len(trunks), 3.2, cols=len(trunks), sharey=True)
    colour = {"answered": "tab:green", "failed over": "tab:orange", "ended the call": "tab:red"}
    for ax, trunk in zip(axes[0], trunks):
        part = table.loc[trunk]
        bottom = np.zeros(len(part))
        for outcome in ("answered", "failed over", "ended the call"):
            if outcome in part.columns:
                v = part[outcome].to_numpy()
                ax.bar(part.index.astype(str), v, bottom=bottom, color=colour[outcome], label=outcome)
                bottom += v
        ax.set_title(trunk, fontsize="medium")
        ax.set_xlabel("attempt number")
    axes[0, 0].set_ylabel("attempts (first replication)")
    handles = {h.get_label(): h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]}
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=3, fontsize="small")
    return fig


def post_dial_delay(source) -> Figure:
    """Distribution of post-dial delay (arrival to answer) of answered calls, mean and p95 marked."""
    data = as_data(source)
    calls = data.calls
    if calls is None or "post_dial_delay" not in calls.columns:
        return _empty("post-dial delay", "this run kept no call records")
    warmup = data.summary.get("warmup", 0) or 0
    pdd = calls.loc[calls["answered"].astype(bool) & (calls["time_arrival"] >= warmup), "post_dial_delay"]
    if pdd.empty:
        return _empty("post-dial delay", "no call was answered")
    fig, axes = _figure(8, 3.2)
    ax = axes[0, 0]
    ax.hist(pdd.to_numpy(), bins=min(60, max(10, int(math.sqrt(len(pdd))))), color="tab:blue", alpha=0.8)
    k = data.summary["kpis"]
    for key, style, label in (
        ("post_dial_delay_mean", "-", "mean"),
        ("post_dial_delay_p95", "--", "95th percentile"),
    ):
        if k.get(key) is not None:
            ax.axvline(k[key], color="black", linestyle=style, label=f"{label} {k[key]:.1f} s")
    ax.set_xlabel("post-dial delay (s)")
    ax.set_ylabel("answered calls (first replication)")
    ax.legend(fontsize="small")
    return fig


def _interval_frame(data: ReportData, freq: str) -> pd.DataFrame | None:
    """The KPIs per interval the run gives (:meth:`Result.intervals`): at ``freq`` when it kept its
    attempt records, else at the run's own ``--interval`` (in memory, or intervals.csv of a folder)."""
    if data.result is not None:
        try:
            return data.result.intervals(freq)
        except SimrouteError:
            pass
    return data.intervals


def _busy_hours(summary: dict) -> list[tuple[float, float]]:
    """The windows of the summary's busy hour (that clock hour on each day of the KPI window)."""
    busy = summary.get("busy_hour")
    if not isinstance(busy, dict) or not isinstance(busy.get("start"), str) or "start_time" not in summary:
        return []
    start = clock.parse_start_time(summary["start_time"])
    window = (float(summary.get("warmup") or 0), float(summary["duration"]))
    return [
        (a, b)
        for a, b in periods.hour_windows(window, clock.week_phase(start))
        if f"{clock.local_time(start, a):%H:%M}" == busy["start"]
    ]


def intervals(source, freq: str = "1h") -> Figure:
    """KPIs per interval of the local clock over the KPI window (:meth:`Result.intervals`): calls
    offered and answered, carried erlangs in all and per trunk, and the summary's busy hour shaded."""
    data = as_data(source)
    frame = _interval_frame(data, freq)
    if frame is None or frame.empty:
        return _empty("KPIs per interval", "the run kept no attempt records: run it with --interval")
    warmup = data.summary.get("warmup", 0) or 0
    unit, label = _time_unit(data.summary["duration"])
    fig, axes = _figure(9, 4.8, rows=2, sharex=True)
    top, bottom = axes[0, 0], axes[1, 0]
    edges = np.append(frame["start"].to_numpy(float), float(frame["end"].iloc[-1]))
    widths = np.diff(edges)
    step = float(np.median(widths))  # a shorter first or last interval is drawn at the same rate
    for key in ("offered", "answered"):
        top.stairs(frame[key].to_numpy(float) * step / widths, edges / unit, label=key, linewidth=1.5)
    top.set_ylabel(f"calls per {step / 60:g} min")
    top.set_ylim(bottom=0)
    top.legend(fontsize="small", loc="lower right")
    bottom.stairs(frame["carried_erlangs"].to_numpy(float), edges / unit, label="carried (all trunks)")
    for col in (c for c in frame.columns if c.endswith(".carried_erlangs")):
        bottom.stairs(
            frame[col].to_numpy(float), edges / unit, linewidth=0.8, label=col[: -len(".carried_erlangs")]
        )
    bottom.set_ylabel("erlangs")
    bottom.set_ylim(bottom=0)
    bottom.legend(fontsize="small", ncols=2, loc="lower right")
    busy = _busy_hours(data.summary)
    for ax in (top, bottom):
        if warmup:
            ax.axvspan(0, warmup / unit, color="grey", alpha=0.1)
        for a, b in busy:
            ax.axvspan(a / unit, b / unit, color="gold", alpha=0.35)
    if busy:
        title = f"busy hour {data.summary['busy_hour']['start']} local time (shaded gold)"
        top.set_title(title, loc="left", fontsize="medium")
    bottom.set_xlabel(label)
    return fig


def erlang_b_reference(source) -> dict | None:
    """Erlang B beside the simulated loss where it applies exactly: one DID with a constant Poisson
    load, routed to one trunk with a cap, no caps elsewhere, no number lists, endpoint errors or
    faults. Returns ``{"kpi", "simulated", "half_width", "theory", "why"}`` or None."""
    data = as_data(source)
    s = data.scenario
    if s is None or len(s.dids) != 1 or len(s.trunks) != 1 or s.faults or s.number_lists:
        return None
    did, trunk = s.dids[0], s.trunks[0]
    t = did.traffic
    if t is None or t.profile or t.steps or trunk.capacity_limit is None or trunk.kind != "sip":
        return None
    e = trunk.endpoint
    if did.capacity_limit is not None or did.number_list or did.shared_capacity_group:
        return None
    if e is not None and (e.responses or e.no_response or e.answer_probability < 1 or e.channels):
        return None
    if trunk.ringing_timeout is not None or s.trunk_groups:
        return None
    hold = _mean(t.holding_time)
    if hold is None:
        return None
    traffic = t.erlangs if t.erlangs is not None else (t.calls_per_hour or 0) * hold / 3600
    return {
        "kpi": "loss_probability",
        "simulated": data.summary["kpis"].get("loss_probability"),
        "half_width": _ci(data, "kpis", "loss_probability"),
        "theory": _theory.erlang_b(traffic, trunk.capacity_limit),
        "why": f"Erlang B, {traffic:g} erlang on {trunk.capacity_limit} channels",
    }


def _mean(dist) -> float | None:
    if isinstance(dist, (int, float)):
        return float(dist)
    mean = getattr(dist, "mean", None)
    value = mean() if callable(mean) else mean
    return float(value) if isinstance(value, (int, float)) else None


def theory_check(source) -> Figure:
    """The simulated KPI (with its interval) beside the closed-form value, where one applies."""
    ref = erlang_b_reference(source)
    if ref is None or ref["simulated"] is None:
        return _empty("theory", "no closed form applies to this scenario")
    fig, axes = _figure(6, 1.8)
    ax = axes[0, 0]
    ax.barh([1], [ref["simulated"]], xerr=[ref["half_width"] or 0], capsize=4, color="tab:blue")
    ax.barh([0], [ref["theory"]], color="tab:grey")
    ax.set_yticks([1, 0], ["simulated", "theory"])
    ax.set_xlabel(f"{ref['kpi']} ({ref['why']})")
    return fig


def _band(frame: pd.DataFrame, kpi: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The interval of ``kpi`` per row: ``KPI.low``/``KPI.high`` columns (simroute.sweep's), or a
    half-width column (``KPI_half_width``, ``KPI.half_width``)."""
    if f"{kpi}.low" in frame.columns and f"{kpi}.high" in frame.columns:
        return frame[f"{kpi}.low"].to_numpy(float), frame[f"{kpi}.high"].to_numpy(float)
    for name in (f"{kpi}_half_width", f"{kpi}.half_width"):
        if name in frame.columns:
            y, h = frame[kpi].to_numpy(float), frame[name].to_numpy(float)
            return y - h, y + h
    return None


def sweep(frame: pd.DataFrame, kpi: str, by: str | None = None, target: float | None = None, theory=None):
    """A sweep's KPI against the varied parameter, with its interval as a band, the target as a line
    and, when ``theory`` (a function of the parameter, e.g. ``lambda c: simroute.theory.erlang_b(8.1,
    c)``) is given, the closed form beside it. ``frame`` is ``simroute.sweep(...)``'s table (one row per
    point, the varied paths first); ``by`` the varied column (default: the first column)."""
    if kpi not in frame.columns:
        raise KeyError(f"no column {kpi!r} in the sweep (columns: {', '.join(map(str, frame.columns))})")
    by = frame.columns[0] if by is None else by
    ordered = frame.sort_values(by)
    x, y = ordered[by].to_numpy(float), ordered[kpi].to_numpy(float)
    fig, axes = _figure(7, 3.6)
    ax = axes[0, 0]
    ax.plot(x, y, marker="o", label="simulated")
    band = _band(ordered, kpi)
    if band is not None:
        ax.fill_between(x, band[0], band[1], alpha=0.25, label="confidence interval")
    if theory is not None:
        grid = np.unique(x)
        ax.plot(grid, [theory(v) for v in grid], linestyle=":", marker="x", color="black", label="theory")
    if target is not None:
        ax.axhline(target, color="tab:red", linestyle="--", label=f"target {target:g}")
    ax.set_xlabel(str(by))
    ax.set_ylabel(kpi)
    ax.legend(fontsize="small")
    return fig
