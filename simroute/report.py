"""Readable text tables of a summary, for the terminal."""
from __future__ import annotations

import pandas as pd

__all__ = ["kpi_table"]

_TRUNK_COLUMNS = ["attempts", "answered", "first_choice_share", "weight_share", "answered_share",
                  "attempt_blocking", "error_fraction", "timeout_fraction", "carried_erlangs", "peak_concurrent",
                  "time_congestion"]
_SHORT = {"first_choice_share": "first", "weight_share": "weight", "answered_share": "ans_share",
          "attempt_blocking": "blocking", "error_fraction": "errors", "timeout_fraction": "timeouts",
          "carried_erlangs": "erlangs", "peak_concurrent": "peak", "time_congestion": "congestion"}


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def _table(rows: dict, columns: list[str] | None = None) -> str:
    frame = pd.DataFrame.from_dict(rows, orient="index")
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    return frame.rename(columns=_SHORT).map(_fmt).to_string()


def kpi_table(summary: dict) -> str:
    """The summary as plain-text tables: call KPIs, outcomes, trunks, groups, DIDs, POPs."""
    k = summary["kpis"]
    window = summary["duration"] - summary["warmup"]
    lines = [f"scenario {summary['scenario']}  seed {summary['seed']}  "
             f"window {summary['warmup']:g}s..{summary['duration']:g}s ({window / 3600:.2f} h after warm-up)", ""]
    for key in ("offered", "answered", "completion_rate", "loss_probability", "attempts_per_call",
                "post_dial_delay_mean", "post_dial_delay_p95"):
        lines.append(f"  {key:<22} {_fmt(k[key])}")
    lines += ["", "outcomes:"] + [f"  {name:<22} {count}" for name, count in k["outcomes"].items()]
    for title, key, columns in (("trunks", "trunks", _TRUNK_COLUMNS), ("groups", "groups", None),
                                ("DIDs", "dids", None), ("POPs", "pops", None)):
        if summary[key]:
            lines += ["", f"{title}:", _table(summary[key], columns)]
    return "\n".join(lines)
