"""Which cases run, at which sizes, and what is made of their rounds (medians, ratios within a round).

The shapes of issue 12 (trunks per group, DIDs, records kept vs none, horizon, start-up) are all the
M/M/110/110 model of :mod:`benchmarks.models` spread differently, so each is reported as its cost per
call and peak RSS against the one-trunk case of the same round.
"""

from __future__ import annotations

from .harness import Case, median, ratio_per_round, values

SIZES = {
    # speed: the Erlang B run against the baselines; shape: every shape case; horizons: run once each
    "full": {
        "speed": 1_000_000,
        "shape": 200_000,
        "horizons": (5_000_000, 10_000_000),
        "quickstart": 100_000,
    },
    "quick": {"speed": 200_000, "shape": 50_000, "horizons": (500_000, 1_000_000), "quickstart": 20_000},
}
GROUPS = (1, 10, 100)
DIDS = (1, 100, 1000, 10_000)
REFERENCE = "one_trunk"


def _sim(name: str, **params) -> Case:
    return Case(name, "benchmarks.simulate", "simroute_model", params)


def round_cases(mode: str, seed: int, replications: bool = False) -> list[Case]:
    size = SIZES[mode]
    speed, shape = size["speed"], size["shape"]
    cases = [
        Case("simpy_loop", "benchmarks.baselines", "simpy_loop", {"calls": speed, "seed": seed}),
        _sim("erlang_b", calls=speed, seed=seed),
        Case("ciw", "benchmarks.baselines", "ciw_model", {"calls": speed, "seed": seed}),
        _sim(REFERENCE, calls=shape, seed=seed, setup=True),
    ]
    cases += [_sim(f"group_{g}", calls=shape, seed=seed, group=g) for g in GROUPS]
    cases += [_sim(f"dids_{n}", calls=shape, seed=seed, dids=n, setup=True) for n in DIDS if n > 1]
    cases += [
        _sim(f"none_dids_{n}", calls=shape, seed=seed, dids=n, records="none", setup=True) for n in DIDS
    ]
    cases += [
        Case("quickstart", "benchmarks.realistic", "quickstart", {"calls": size["quickstart"], "seed": seed}),
        Case("cli_run", "benchmarks.startup", "cli_run"),
        Case("import_simroute", "benchmarks.startup", "import_simroute", {"module": "simroute"}),
        Case("import_cli", "benchmarks.startup", "import_simroute", {"module": "simroute.cli"}),
        Case("python_bare", "benchmarks.startup", "python_bare"),
    ]
    if replications:
        for jobs in (1, 2):
            params = {"calls": size["quickstart"] // 2, "seed": seed, "jobs": jobs}
            cases.append(Case(f"replications_jobs{jobs}", "benchmarks.realistic", "replications", params))
    return cases


def once_cases(mode: str, seed: int) -> list[Case]:
    """Long horizons, run once each after the rounds (the speed case is the shortest horizon)."""
    horizons = SIZES[mode]["horizons"]
    module, func = "benchmarks.simulate", "simroute_model"
    cases = [Case(f"horizon_{n}", module, func, {"calls": n, "seed": seed}, 3600) for n in horizons]
    params = {"calls": horizons[-1], "seed": seed, "records": "none"}
    cases.append(Case(f"none_horizon_{horizons[-1]}", module, func, params, 3600))
    return cases


def _stats(rounds: list[dict], case: str) -> dict:
    keys = (
        "seconds",
        "cpu_seconds",
        "calls",
        "calls_per_s",
        "cpu_calls_per_s",
        "us_per_call",
        "us_per_call_after_setup",
        "setup_seconds",
        "setup_cpu_seconds",
        "load_seconds",
        "loss_probability",
        "peak_rss_bytes",
        "peak_rss_delta_bytes",
        "peak_rss_delta_bytes_per_row",
        "stored_bytes_per_row",
        "rows",
        "command_peak_rss_bytes",
        "other_load_cores",
    )
    out = {}
    for key in keys:
        vs = [v for v in values(rounds, case, key) if v is not None]
        if vs:
            out[key] = median(vs)
            if key in ("calls_per_s", "cpu_calls_per_s", "us_per_call", "cpu_seconds"):
                out[key + "_min"], out[key + "_max"] = min(vs), max(vs)
    errors = [r["cases"][case]["error"] for r in rounds if "error" in r["cases"].get(case, {})]
    if errors:
        out["errors"] = errors
    skipped = [r["cases"][case]["skipped"] for r in rounds if "skipped" in r["cases"].get(case, {})]
    if skipped:
        out["skipped"] = skipped[0]
    return out


def summarize(rounds: list[dict], once: dict) -> dict:
    """Medians per case, and the ratios the issue's goals are stated in (each within a round first)."""
    names = list(rounds[0]["cases"]) if rounds else []
    cases = {name: _stats(rounds, name) for name in names}
    for name, result in once.items():
        cases[name] = _stats([{"cases": {name: result}}], name)

    def within(num: str, den: str, key: str) -> float | None:
        return median(ratio_per_round(rounds, num, den, key))

    ratios = {
        "erlang_b_vs_simpy_loop": within("erlang_b", "simpy_loop", "cpu_calls_per_s"),
        "erlang_b_vs_ciw": within("erlang_b", "ciw", "cpu_calls_per_s"),
        "erlang_b_vs_simpy_loop_wall": within("erlang_b", "simpy_loop", "calls_per_s"),
        "erlang_b_vs_ciw_wall": within("erlang_b", "ciw", "calls_per_s"),
    }
    shapes = {}
    for name in (
        [f"group_{g}" for g in GROUPS] + [f"dids_{n}" for n in DIDS[1:]] + [f"none_dids_{n}" for n in DIDS]
    ):
        shapes[name] = {
            "us_per_call_vs_one_trunk": within(name, REFERENCE, "us_per_call"),
            "peak_rss_vs_one_trunk": within(name, REFERENCE, "peak_rss_bytes"),
        }
    for n in DIDS:
        kept = REFERENCE if n == 1 else f"dids_{n}"
        shapes[f"none_dids_{n}"]["us_per_call_vs_kept"] = within(f"none_dids_{n}", kept, "us_per_call")
    return {"cases": cases, "ratios": ratios, "shapes": shapes}
