"""The benchmark's tables and targets, as Markdown (printed, and pasted by ``--readme`` into README.md)."""

from __future__ import annotations

from .models import CHANNELS, ERLANGS
from .suite import DIDS, GROUPS, REFERENCE, SIZES


def _f(value, spec: str = ",.0f", none: str = "-") -> str:
    return none if value is None else format(value, spec)


def _mb(value) -> str:
    return _f(None if value is None else value / 1e6, ",.0f")


def targets(summary: dict, mode: str) -> list[dict]:
    """The issue's goals, each with what was measured and whether it is met (None: not measured)."""
    c, r, s = summary["cases"], summary["ratios"], summary["shapes"]
    speed, first = SIZES[mode]["speed"], SIZES[mode]["horizons"][0]

    def get(case, key):
        return c.get(case, {}).get(key)

    items = [
        ("simroute Erlang B / SimPy loop (calls/s)", r["erlang_b_vs_simpy_loop"], ">=", 0.8, ""),
        ("simroute Erlang B / Ciw (calls/s)", r["erlang_b_vs_ciw"], ">=", 10.0, ""),
        ("100 trunks: cost per call / one trunk", s["group_100"]["us_per_call_vs_one_trunk"], "<=", 2.5, ""),
        ("1000 DIDs: cost per call / one DID", s["dids_1000"]["us_per_call_vs_one_trunk"], "<=", 2.0, ""),
        ("1000 DIDs: peak RSS", _div(get("dids_1000", "peak_rss_bytes"), 1e6), "<=", 400.0, "MB"),
        ("10,000 DIDs: set-up", get("dids_10000", "setup_seconds"), "<", 1.0, "s"),
    ]
    for n in DIDS:
        ratio = s[f"none_dids_{n}"]["us_per_call_vs_kept"]
        items.append((f"records none / kept, {n:,} DIDs: cost per call", ratio, "<=", 1.0, ""))
    items += [
        (
            f"peak RSS per kept row at {speed:,} calls",
            get("erlang_b", "peak_rss_delta_bytes_per_row"),
            "<=",
            150.0,
            "B",
        ),
        (
            f"peak RSS per kept row at {first:,} calls",
            get(f"horizon_{first}", "peak_rss_delta_bytes_per_row"),
            "<=",
            150.0,
            "B",
        ),
        ("`simroute run scenarios/quickstart.yaml` CPU", get("cli_run", "cpu_seconds"), "<", 0.45, "s"),
    ]
    out = []
    for name, measured, op, goal, unit in items:
        met = (
            None
            if measured is None
            else (measured >= goal if op == ">=" else measured <= goal if op == "<=" else measured < goal)
        )
        out.append({"name": name, "measured": measured, "op": op, "target": goal, "unit": unit, "met": met})
    return out


def _div(a, b):
    return None if a is None else a / b


def _row(*cells) -> str:
    return "| " + " | ".join(cells) + " |"


def _speed(c: dict, r: dict, size: dict) -> list[str]:
    lines = [
        "| run | calls | calls per CPU second (min-max) | calls/s wall | loss |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, name in (
        ("minimal SimPy loop", "simpy_loop"),
        ("simroute, one trunk", "erlang_b"),
        ("Ciw", "ciw"),
    ):
        x = c.get(name, {})
        if "skipped" in x:
            lines.append(_row(label, f"skipped: {x['skipped']}", "", "", ""))
            continue
        spread = f"{_f(x.get('cpu_calls_per_s_min'))}-{_f(x.get('cpu_calls_per_s_max'))}"
        lines.append(
            _row(
                label,
                _f(x.get("calls")),
                f"{_f(x.get('cpu_calls_per_s'))} ({spread})",
                _f(x.get("calls_per_s")),
                _f(x.get("loss_probability"), ".4f"),
            )
        )
    lines += [
        "",
        f"simroute / SimPy loop **{_f(r['erlang_b_vs_simpy_loop'], '.2f')}x**, simroute / Ciw "
        f"**{_f(r['erlang_b_vs_ciw'], '.1f')}x** at {size['speed']:,} calls (medians of the per-round "
        "ratios of calls per CPU second; of wall-clock calls/s: "
        f"{_f(r['erlang_b_vs_simpy_loop_wall'], '.2f')}x "
        f"and {_f(r['erlang_b_vs_ciw_wall'], '.1f')}x).",
    ]
    return lines


def _shapes(c: dict, s: dict, size: dict) -> list[str]:
    lines = [
        f"Shapes at {size['shape']:,} calls, against the one-trunk case of the same round (cost per call "
        "= CPU time of the whole `simulate` call over the calls, set-up included):",
        "",
        "| shape | us per call | x one trunk | peak RSS MB | x one trunk | set-up s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    ref = c.get(REFERENCE, {})
    lines.append(
        _row(
            "one DID, one trunk",
            _f(ref.get("us_per_call"), ".2f"),
            "1",
            _mb(ref.get("peak_rss_bytes")),
            "1",
            _f(ref.get("setup_seconds"), ".2f"),
        )
    )
    rows = [(f"group of {g} trunk{'s' * (g > 1)}, one priority", f"group_{g}") for g in GROUPS]
    rows += [(f"{n:,} DIDs", f"dids_{n}") for n in DIDS[1:]]
    rows += [(f"`records: none`, {n:,} DID{'s' * (n > 1)}", f"none_dids_{n}") for n in DIDS]
    for label, name in rows:
        x, sh = c.get(name, {}), s[name]
        if "us_per_call" not in x:
            lines.append(_row(label, f"failed: {x.get('errors', ['not run'])[0]}", "", "", "", ""))
            continue
        extra = f" ({_f(sh['us_per_call_vs_kept'], '.2f')}x kept)" if "us_per_call_vs_kept" in sh else ""
        lines.append(
            _row(
                label,
                _f(x.get("us_per_call"), ".2f") + extra,
                _f(sh["us_per_call_vs_one_trunk"], ".2f"),
                _mb(x.get("peak_rss_bytes")),
                _f(sh["peak_rss_vs_one_trunk"], ".2f"),
                _f(x.get("setup_seconds"), ".2f"),
            )
        )
    return lines


def _horizons(c: dict, size: dict) -> list[str]:
    lines = [
        "Memory over the horizon (one run each; peak bytes per row = the run's peak RSS minus the RSS "
        "just before it, over the attempt rows; stored = the packed rows a Result keeps):",
        "",
        "| run | calls | us per call | peak RSS MB | peak bytes per row | stored bytes per row |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    names = [("records kept", "erlang_b")] + [("records kept", f"horizon_{n}") for n in size["horizons"]]
    names.append(("`records: none`", f"none_horizon_{size['horizons'][-1]}"))
    for label, name in names:
        x = c.get(name, {})
        if "us_per_call" not in x:
            lines.append(_row(label, f"failed: {x.get('errors', ['not run'])[0]}", "", "", "", ""))
            continue
        lines.append(
            _row(
                label,
                _f(x.get("calls")),
                _f(x.get("us_per_call"), ".2f"),
                _mb(x.get("peak_rss_bytes")),
                _f(x.get("peak_rss_delta_bytes_per_row")),
                _f(x.get("stored_bytes_per_row")),
            )
        )
    return lines


def _startup(c: dict, heavy: dict) -> list[str]:
    lines = ["| start-up | CPU s (min-max) | peak RSS MB |", "|---|---:|---:|"]
    none = "none of pandas/scipy/matplotlib"
    for label, name in (
        ("`simroute run scenarios/quickstart.yaml`", "cli_run"),
        (f"`import simroute` (pulls in: {heavy.get('import_simroute') or none})", "import_simroute"),
        (f"`import simroute.cli` (pulls in: {heavy.get('import_cli') or none})", "import_cli"),
        ("`python -c pass`", "python_bare"),
    ):
        x = c.get(name, {})
        spread = f"{_f(x.get('cpu_seconds_min'), '.2f')}-{_f(x.get('cpu_seconds_max'), '.2f')}"
        lines.append(
            _row(label, f"{_f(x.get('cpu_seconds'), '.2f')} ({spread})", _mb(x.get("command_peak_rss_bytes")))
        )
    return lines


def markdown(summary: dict, meta: dict) -> list[str]:
    """The README's performance tables, from one benchmark run."""
    c, r, s = summary["cases"], summary["ratios"], summary["shapes"]
    mode, size = meta["mode"], SIZES[meta["mode"]]
    load = meta["loadavg_before"], meta["loadavg_after"]
    lines = [
        f"Measured {meta['date']} by `python -m benchmarks{' --quick' if mode == 'quick' else ''}` "
        f"({meta['rounds']} rounds, every case in a fresh process, rounds interleaved, medians; ratios "
        f"taken within each round), {meta['machine']['cpu_count']} CPUs, load average "
        f"{load[0][0]:.2f} before and {load[1][0]:.2f} after (other processes took "
        f"{_f(meta['other_load_cores_median'], '.2f')} cores during the median case). Model: "
        f"M/M/{CHANNELS}/{CHANNELS} at {ERLANGS:g} erlang, records kept unless said.",
        "",
    ]
    lines += _speed(c, r, size) + [""] + _shapes(c, s, size) + [""] + _horizons(c, size) + [""]
    lines += _startup(c, meta.get("heavy_modules", {}))
    q = c.get("quickstart", {})
    lines += [
        "",
        f"The quickstart scenario stretched to {_f(q.get('calls'))} calls runs at "
        f"{_f(q.get('calls_per_s'))} calls/s.",
    ]
    if "replications_jobs1" in c and "replications_jobs2" in c:
        j1, j2 = c["replications_jobs1"].get("seconds"), c["replications_jobs2"].get("seconds")
        if j1 and j2:
            lines.append(
                f"Eight replications: {j1:.2f} s on one process, {j2:.2f} s on two ({j1 / j2:.2f}x)."
            )
    lines += ["", "| goal | measured | met |", "|---|---:|---|"]
    for t in meta["targets"]:
        spec = ".2f" if t["unit"] in ("", "s") else ",.0f"
        measured = "-" if t["measured"] is None else f"{format(t['measured'], spec)} {t['unit']}".strip()
        verdict = "-" if t["met"] is None else "yes" if t["met"] else "**no**"
        lines.append(_row(f"{t['name']} {t['op']} {t['target']:g} {t['unit']}".rstrip(), measured, verdict))
    return lines
