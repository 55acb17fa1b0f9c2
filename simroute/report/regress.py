"""Regression reports: run scenarios with fixed seeds and replications, compare every KPI with a
committed baseline, and say which changed for the worse, so CI can fail a change that hurts.

The rule (README, "Regression reports"): per KPI, the difference of the replication means is tested with
Welch's t (the baseline stores each KPI's mean, standard deviation and replications), and the p-values
of all KPIs compared in one run are corrected with Holm's step-down method, so that the chance of any
false alarm across the whole report is at most ``1 - confidence`` (family-wise). A KPI fixed by the
configuration (:data:`EXACT`) is compared exactly; keys added or removed are information, not failures.
"""

from __future__ import annotations

import fnmatch
import json
import math
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import SimrouteError
from ..experiments.replications import replication_seeds, replications_table, run_many
from ..io.files import atomic_path, write_json
from ..scenario.schema import load_scenario
from .format import column_decimals, format_cell, is_count

__all__ = [
    "EXACT",
    "FORMAT",
    "Change",
    "Regression",
    "compare_to_baseline",
    "direction",
    "measure",
    "run_regress",
    "write_outputs",
]

FORMAT = "simroute-regress-baseline/1"
#: KPIs the configuration fixes (no randomness): compared exactly.
EXACT = frozenset(
    {
        "weight_share",
        "weight_share_in_priority",
        "dedicated_channels_cost",
        "months",
        "service_level_threshold",
    }
)
#: Which way is worse, by the KPI's last name; KPIs not named here are reported as changed, not gated.
LOWER_IS_BETTER = frozenset(
    {
        "loss_probability",
        "blocking_probability",
        "first_attempt_blocking",
        "retry_blocking",
        "final_blocking",
        "caller_loss_probability",
        "retrial_rate",
        "tries_per_caller",
        "mean_retry_orbit",
        "rejected",
        "failed",
        "attempt_blocking",
        "error_fraction",
        "timeout_fraction",
        "time_congestion",
        "shared_time_congestion",
        "post_dial_delay_mean",
        "post_dial_delay_p95",
        "attempts_per_call",
        "abandonment_rate",
        "abandoned",
        "voicemail_rate",
        "average_speed_of_answer",
        "mean_wait",
        "p_wait",
        "mean_queue_length",
        "cost",
        "total",
        "per_answered_call",
    }
)
HIGHER_IS_BETTER = frozenset(
    {"completion_rate", "served_rate", "service_level", "caller_completion_rate", "caller_served_rate"}
)
MAX_DURATION = 6 * 3600.0  # a regression run is short: the scenario's own length, at most this


def direction(path: str) -> int:
    """+1 when a higher value is better, -1 when lower is better, 0 when neither is (load, shares)."""
    parts = path.split(".")
    leaf = parts[-1]
    if "outcomes" in parts[:-1]:
        return 1 if leaf == "answered" else -1  # every other outcome is a call lost one way or another
    if leaf in HIGHER_IS_BETTER:
        return 1
    if leaf in LOWER_IS_BETTER:
        return -1
    return 0


def measure(scenario_path, seed: int | None, replications: int, duration: float | None) -> dict:
    """Run one scenario ``replications`` times (seeds spawned from ``seed``, KPIs counted live) and
    return its baseline entry: settings and, per KPI, mean, standard deviation and replications."""
    scenario = load_scenario(scenario_path)
    if scenario.warmup == "auto":  # a regression compares like with like: one fixed warm-up
        raise SimrouteError(f"{scenario_path}: warmup: give regress a fixed warm-up (not auto)")
    seed = scenario.seed if seed is None else int(seed)
    warmup = float(scenario.warmup)
    horizon = min(scenario.duration, MAX_DURATION) if duration is None else float(duration)
    if horizon <= warmup:
        horizon = warmup + min(scenario.duration - warmup, MAX_DURATION)
    runs, _ = run_many(
        scenario, replication_seeds(seed, replications), horizon, [(warmup, horizon)], records="none"
    )
    frame = replications_table([r[0] for r in runs])
    kpis = {}
    for col in frame.columns:
        x = pd.to_numeric(frame[col], errors="coerce").dropna().to_numpy(float)
        if len(x) == 0:
            continue
        kpis[col] = {"mean": float(x.mean()), "sd": float(x.std(ddof=1)) if len(x) > 1 else 0.0, "n": len(x)}
    return {
        "name": scenario.name,
        "file": str(scenario_path),
        "seed": seed,
        "replications": replications,
        "duration": horizon,
        "warmup": warmup,
        "kpis": kpis,
    }


@dataclass
class Change:
    scenario: str
    kpi: str
    baseline: float | None
    now: float | None
    difference: float = math.nan
    half_width: float = math.nan  # of the difference, at the unadjusted level
    p: float = math.nan  # Holm-adjusted
    exact: bool = False
    verdict: str = ""  # worse, better, changed, same


@dataclass
class Regression:
    """The outcome of one regression run: every KPI compared, and what is information only."""

    confidence: float
    changes: list[Change]
    info: list[str] = field(default_factory=list)
    gated: set[tuple[str, str]] = field(default_factory=set)
    tested: int = 0

    @property
    def regressions(self) -> list[Change]:
        """Significant changes that gate: worse, or (a KPI named by --fail-on without a direction) any."""
        return [
            c
            for c in self.changes
            if (c.scenario, c.kpi) in self.gated
            and (c.verdict == "worse" or (c.verdict == "changed" and direction(c.kpi) == 0))
        ]

    def of(self, verdict: str) -> list[Change]:
        return [c for c in self.changes if c.verdict == verdict]


def _welch(a: dict, b: dict, confidence: float) -> tuple[float, float]:
    """Two-sided p-value and half-width (at ``confidence``) of the difference of two means."""
    va, vb = a["sd"] ** 2 / a["n"], b["sd"] ** 2 / b["n"]
    se = math.sqrt(va + vb)
    d = b["mean"] - a["mean"]
    if se == 0:
        same = math.isclose(a["mean"], b["mean"], rel_tol=1e-9, abs_tol=1e-12)
        return (1.0 if same else 0.0), 0.0
    parts = [v**2 / (s["n"] - 1) for v, s in ((va, a), (vb, b)) if s["n"] > 1 and v > 0]
    df = (va + vb) ** 2 / sum(parts) if parts else 1.0
    return float(2 * stats.t.sf(abs(d) / se, df)), float(stats.t.ppf(0.5 + confidence / 2, df) * se)


def _holm(p: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (valid under any dependence between the KPIs)."""
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def _matches(patterns: list[str], scenario: str, kpi: str) -> bool:
    leaf = kpi.rsplit(".", 1)[-1]
    return any(
        fnmatch.fnmatchcase(kpi, p) or fnmatch.fnmatchcase(f"{scenario}:{kpi}", p) or p == leaf
        for p in patterns
    )


def compare_to_baseline(
    baseline: dict, current: dict, confidence: float = 0.95, fail_on: list[str] | None = None
) -> Regression:
    """Every KPI of ``current`` (scenario name -> entry, as :func:`measure` returns) against the
    baseline's, Holm-corrected over all the KPIs tested."""
    changes: list[Change] = []
    info: list[str] = []
    base = baseline.get("scenarios", {})
    for name in sorted(set(base) - set(current)):
        info.append(f"scenario {name}: in the baseline, not run now")
    tests: list[tuple[Change, float]] = []
    for name, entry in current.items():
        if name not in base:
            info.append(f"scenario {name}: not in the baseline (new; add it with --update-baseline)")
            continue
        old = base[name]
        for key in ("seed", "replications", "duration"):
            if old.get(key) != entry.get(key):
                info.append(f"scenario {name}: {key} {entry.get(key)} (baseline {old.get(key)})")
        a, b = old["kpis"], entry["kpis"]
        for kpi in sorted(set(a) - set(b)):
            info.append(f"{name}: {kpi} removed since the baseline")
        for kpi in sorted(set(b) - set(a)):
            info.append(f"{name}: {kpi} added since the baseline")
        for kpi in [k for k in b if k in a]:
            c = Change(name, kpi, a[kpi]["mean"], b[kpi]["mean"], b[kpi]["mean"] - a[kpi]["mean"])
            if kpi.rsplit(".", 1)[-1] in EXACT:
                c.exact = True
                same = math.isclose(c.baseline, c.now, rel_tol=1e-9, abs_tol=1e-12)  # type: ignore[arg-type]
                c.p, c.half_width = (1.0 if same else 0.0), 0.0
                changes.append(c)
                continue
            p, c.half_width = _welch(a[kpi], b[kpi], confidence)
            tests.append((c, p))
            changes.append(c)
    for (c, _), adjusted in zip(tests, _holm([p for _, p in tests])):
        c.p = adjusted
    for c in changes:
        significant = c.p <= 1 - confidence
        sign = direction(c.kpi) * np.sign(c.difference)
        c.verdict = (
            "same" if not significant else ("better" if sign > 0 else "worse" if sign < 0 else "changed")
        )
    gated = {
        (c.scenario, c.kpi)
        for c in changes
        if (fail_on and _matches(fail_on, c.scenario, c.kpi)) or (not fail_on and direction(c.kpi) != 0)
    }
    return Regression(confidence, changes, info, gated, len(tests))


def run_regress(
    scenarios: list,
    baseline_path,
    *,
    update: bool = False,
    replications: int | None = None,
    seed: int | None = None,
    duration: float | None = None,
    confidence: float = 0.95,
    fail_on: list[str] | None = None,
) -> Regression | None:
    """Run ``scenarios`` (default: those the baseline names) with the baseline's settings (seed,
    replications, duration; ``seed`` etc. override) and compare; with ``update``, rewrite the baseline
    instead and return None."""
    baseline_path = Path(baseline_path)
    baseline = None
    if baseline_path.is_file():
        try:
            baseline = json.loads(baseline_path.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise SimrouteError(f"{baseline_path}: not valid JSON ({exc})") from None
        if baseline.get("format") != FORMAT:
            raise SimrouteError(f"{baseline_path}: not a simroute regression baseline (format {FORMAT})")
    elif not update:
        raise SimrouteError(f"{baseline_path}: no baseline here (make one with --update-baseline)")
    if not scenarios:
        if baseline is None:
            raise SimrouteError("give the scenarios to run (no baseline lists them yet)")
        scenarios = [s["file"] for s in baseline["scenarios"].values()]
    current = {}
    for path in scenarios:
        name = load_scenario(path).name
        old = (baseline or {}).get("scenarios", {}).get(name, {}) if not update else {}
        entry = measure(
            path,
            seed if seed is not None else old.get("seed"),
            replications or old.get("replications") or 8,
            duration if duration is not None else old.get("duration"),
        )
        if name in current:
            raise SimrouteError(f"{path}: a second scenario named {name!r} (names key the baseline)")
        current[name] = entry
    if update:
        write_json({"format": FORMAT, "scenarios": current}, baseline_path)
        return None
    assert baseline is not None
    return compare_to_baseline(baseline, current, confidence, fail_on)


# ------------------------------------------------------------------------------------------------ output


def _rows(changes: list[Change]) -> list[list[str]]:
    rows = []
    for c in changes:
        d = column_decimals([c.difference], [c.half_width] if c.half_width else None, is_count(c.kpi))
        if not c.half_width:
            d = max(d, column_decimals([c.baseline, c.now]))
        change = format_cell(c.difference, None if c.exact else c.half_width, d)
        rows.append(
            [
                c.scenario,
                c.kpi,
                format_cell(c.baseline, None, d),
                format_cell(c.now, None, d),
                change,
                "exact" if c.exact else f"{c.p:.2g}",
            ]
        )
    return rows


HEADER = ["scenario", "KPI", "baseline", "now", "change ± half-width", "p (Holm)"]


def _rule(r: Regression) -> str:
    return (
        f"Welch t-test per KPI on the replication means, Holm-corrected over the {r.tested} KPIs tested "
        f"(family-wise level {1 - r.confidence:.0%}); half-widths at {r.confidence:.0%} before correction; "
        "configuration-fixed KPIs (weight shares, fixed costs) compared exactly."
    )


def _verdict_line(r: Regression) -> str:
    worse = r.regressions
    return (
        f"**{'FAIL' if worse else 'PASS'}**: {len(worse)} significant regression(s), {len(r.of('better'))} "
        f"improvement(s), {len(r.of('changed'))} other change(s), {len(r.changes)} KPIs compared."
    )


def to_markdown(r: Regression, baseline_path) -> str:
    lines = [
        "# simroute regression report",
        "",
        f"Baseline: `{baseline_path}`. {_rule(r)}",
        "",
        _verdict_line(r),
    ]
    for title, group in (
        ("Worse", r.of("worse")),
        ("Better", r.of("better")),
        ("Changed (no better or worse)", r.of("changed")),
    ):
        lines += ["", f"## {title}", ""]
        if not group:
            lines.append("None.")
            continue
        lines += ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        lines += ["| " + " | ".join(row) + " |" for row in _rows(group)]
    lines += ["", "## Information", ""] + ([f"- {i}" for i in r.info] or ["None."])
    return "\n".join(lines) + "\n"


def _cell(i: int, text: str) -> str:
    return f'<td class="n">{escape(text)}</td>' if i > 1 else f"<td>{escape(text)}</td>"


def to_html(r: Regression, baseline_path) -> str:
    parts = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        "<title>simroute regression report</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px}table{border-collapse:"
        "collapse}th,td{border:1px solid #ddd;padding:.2em .6em}td.n{text-align:right}</style></head><body>",
        "<h1>simroute regression report</h1>",
        f"<p>Baseline: <code>{escape(str(baseline_path))}</code>. {escape(_rule(r))}</p>",
        f"<p><b>{escape(_verdict_line(r).replace('**', ''))}</b></p>",
    ]
    for title, group in (
        ("Worse", r.of("worse")),
        ("Better", r.of("better")),
        ("Changed (no better or worse)", r.of("changed")),
    ):
        parts.append(f"<h2>{escape(title)}</h2>")
        if not group:
            parts.append("<p>None.</p>")
            continue
        head = "".join(f"<th>{escape(h)}</th>" for h in HEADER)
        body = "".join(
            "<tr>" + "".join(_cell(i, x) for i, x in enumerate(row)) + "</tr>" for row in _rows(group)
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    items = "".join(f"<li>{escape(i)}</li>" for i in r.info) or "<li>None.</li>"
    parts += [f"<h2>Information</h2><ul>{items}</ul>", "</body></html>", ""]
    return "\n".join(parts)


def write_outputs(r: Regression, folder, baseline_path) -> tuple[Path, Path]:
    """``folder/regression.md`` and ``folder/regression.html``, each written atomically."""
    folder = Path(folder)
    md, html = folder / "regression.md", folder / "regression.html"
    with atomic_path(md) as tmp:
        tmp.write_text(to_markdown(r, baseline_path), encoding="utf-8")
    with atomic_path(html) as tmp:
        tmp.write_text(to_html(r, baseline_path), encoding="utf-8")
    return md, html


def summary_line(r: Regression) -> str:
    """One line per regression for the terminal, then the verdict."""
    lines = [
        f"worse: {c.scenario}: {c.kpi} {c.baseline:.6g} -> {c.now:.6g} (p {c.p:.2g})" for c in r.regressions
    ]
    return "\n".join([*lines, _verdict_line(r).replace("**", "")])
