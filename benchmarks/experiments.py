"""Benchmark of issue 13 (not a test): replications on 2 processes against 1, and the time of sizing the
quickstart's pbx-fra for 1 % attempt blocking with --resilience.

    python benchmarks/experiments.py [--rounds 3] [--hours 40] [--skip-sizing]

The speed-up is the ratio of the two wall times within the same round (interleaved, order alternating),
median over rounds, so a machine that is busy for a while slows both sides alike. The machine's load
average is printed with the figures: on a shared machine the ratio is only as good as the idle cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import simroute  # noqa: E402


def replications(jobs: int, hours: float, n: int) -> float:
    scenario = simroute.load_scenario(ROOT / "scenarios" / "erlang-b.yaml")
    began = time.perf_counter()
    simroute.simulate(scenario, duration=f"{hours:g}h", replications=n, jobs=jobs, records="none")
    return time.perf_counter() - began


def sizing(jobs: int | None) -> tuple[float, dict]:
    began = time.perf_counter()
    answer = simroute.size(
        ROOT / "scenarios" / "quickstart.yaml",
        "trunks.pbx-fra.capacity_limit",
        "trunks.pbx-fra.attempt_blocking<=0.01",
        resilience=True,
        jobs=jobs,
    )
    return time.perf_counter() - began, answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hours", type=float, default=400.0, help="length of each replication")
    parser.add_argument("--replications", type=int, default=8)
    parser.add_argument("--skip-sizing", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    ratios = []
    for r in range(args.rounds):
        order = (1, 2) if r % 2 == 0 else (2, 1)
        times = {jobs: replications(jobs, args.hours, args.replications) for jobs in order}
        ratios.append(times[1] / times[2])
        print(
            f"round {r}: {args.replications} replications of {args.hours:g} h: 1 process {times[1]:.2f} s, "
            f"2 processes {times[2]:.2f} s, speed-up {ratios[-1]:.2f}x"
        )
    print(f"replications on 2 processes vs 1: median speed-up {statistics.median(ratios):.2f}x")
    if not args.skip_sizing:
        seconds, answer = sizing(2)
        values = {f["failure"]: f["value"] for f in answer["failures"]}
        runs = sum(p["replications"] for p in answer["points"]) + sum(
            p["replications"] for f in answer["failures"] for p in f["points"]
        )
        print(
            f"size quickstart pbx-fra for attempt_blocking<=0.01 with --resilience on 2 processes: "
            f"{seconds:.1f} s, {runs} replications of 4 h; value {answer['value']} "
            f"(normal {answer['normal']['value']}, binding {answer['binding']}: {values})"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
