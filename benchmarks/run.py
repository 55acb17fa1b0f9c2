#!/usr/bin/env python
"""simroute's benchmark: the shapes planners use, each case in a fresh process, against baselines
measured in the same round (not part of the test suite). See benchmarks/README.md.

    python benchmarks/run.py [--quick] [--rounds N] [--out PATH] [--readme README.md] [--tree PATH]
    python -m benchmarks ...            (the same)
    python -m benchmarks --profile      (cProfile one Erlang B run, nothing else)
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import os
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import harness, report, suite  # noqa: E402

README_BEGIN = "<!-- benchmark:begin (python -m benchmarks --readme README.md writes this part) -->"
README_END = "<!-- benchmark:end -->"


def _paste(readme: Path, lines: list[str]) -> None:
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"{readme}: no benchmark markers ({README_BEGIN} ... {README_END})")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(head + README_BEGIN + "\n" + "\n".join(lines) + "\n" + README_END + tail)


def profile(calls: int, seed: int, top: int = 20) -> None:
    """cProfile one simroute Erlang B run (records kept) in this process; print the top by tottime."""
    import cProfile
    import pstats

    import simroute
    from benchmarks.models import erlang_b_dict

    simroute.simulate(simroute.load_scenario(erlang_b_dict(2000, seed)), seed=seed)
    scenario = simroute.load_scenario(erlang_b_dict(calls, seed))
    profiler = cProfile.Profile()
    profiler.enable()
    simroute.simulate(scenario, seed=seed)
    profiler.disable()
    pstats.Stats(profiler).strip_dirs().sort_stats("tottime").print_stats(top)


def _heavy_modules(rounds: list[dict]) -> dict:
    out = {}
    for name in ("import_simroute", "import_cli"):
        found = [r["cases"][name].get("heavy_modules_imported") for r in rounds if name in r["cases"]]
        if found and found[0] is not None:
            out[name] = ", ".join(found[0])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes: a few minutes instead of ~15")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the interleaved cases (default 5)")
    parser.add_argument("--seed", type=int, default=1000, help="seed of every case")
    parser.add_argument("--only", help="comma-separated case names (the others are skipped)")
    parser.add_argument("--no-horizons", action="store_true", help="skip the long runs after the rounds")
    parser.add_argument(
        "--replications", action="store_true", help="also 8 replications on 1 and 2 processes"
    )
    parser.add_argument("--timeout", type=float, help="seconds a case may take (default 1800; horizons 3600)")
    parser.add_argument("--tree", type=Path, default=harness.ROOT, help="the simroute checkout to measure")
    parser.add_argument("--out", type=Path, default=harness.HERE / "results.json", help="results JSON")
    parser.add_argument("--readme", type=Path, help="write the tables between the markers of this file")
    parser.add_argument("--profile", action="store_true", help="only cProfile one Erlang B run, print, exit")
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    if args.profile:
        profile(suite.SIZES[mode]["speed"], args.seed)
        return 0
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    tree = args.tree.resolve()
    cases = suite.round_cases(mode, args.seed, replications=args.replications)
    once = [] if args.no_horizons else suite.once_cases(mode, args.seed)
    if args.timeout:
        cases = [dataclasses.replace(c, timeout=args.timeout) for c in cases]
        once = [dataclasses.replace(c, timeout=args.timeout) for c in once]
    if args.only:
        wanted = set(args.only.split(","))
        cases, once = [c for c in cases if c.name in wanted], [c for c in once if c.name in wanted]
    meta: dict = {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="minutes"),
        "mode": mode,
        "rounds": args.rounds,
        "tree": str(tree),
        "machine": harness.machine(),
    }
    meta["loadavg_before"] = meta["machine"]["loadavg"]
    print(
        f"simroute benchmark ({mode}): {args.rounds} round(s) of {len(cases)} cases, then {len(once)} "
        f"once; tree {tree}; load {meta['loadavg_before'][0]:.2f}",
        flush=True,
    )
    rounds = harness.run_rounds(cases, args.rounds, tree, progress=lambda s: print(s, flush=True))
    once_results = {}
    for case in once:
        once_results[case.name] = harness.run_case(case, tree)
        print(f"  once {case.name}: {harness.brief(once_results[case.name])}", flush=True)
    summary = suite.summarize(rounds, once_results)
    meta["loadavg_after"] = list(os.getloadavg())
    other = [x.get("other_load_cores") for r in rounds for x in r["cases"].values()]
    other += [x.get("other_load_cores") for x in once_results.values()]
    other = [o for o in other if o is not None]
    meta["other_load_cores_median"] = statistics.median(other) if other else None
    meta["other_load_cores_max"] = max(other) if other else None
    meta["heavy_modules"] = _heavy_modules(rounds)
    meta["targets"] = report.targets(summary, mode)
    lines = report.markdown(summary, meta)
    print("\n" + "\n".join(lines))
    harness.write_json_atomic(args.out, {**meta, **summary, "rounds_raw": rounds, "once_raw": once_results})
    print(f"\nwrote {args.out}")
    if args.readme:
        _paste(args.readme, lines)
        print(f"updated {args.readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
