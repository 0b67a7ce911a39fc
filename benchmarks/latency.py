"""Latency benchmark, side by side in one run: ``python benchmarks/latency.py [--repeat 3]``
(also ``python benchmarks/run.py --latency``; ``--in-turn`` and ``--xdist N`` time the full runs
with --no-overlap and with -n N too, side by side).

One standalone mock, and in front of it a loopback proxy that holds every response for 0, 50 or
150 ms (a staging API a network away). At each latency, in each round, it measures:
  - the suite's full run (``pytest suites --base-url <proxy>``), quick and thorough profiles: wall
    time and peak RSS;
  - the property-based phase (suites/test_properties.py, positive, one version) against ``st run``
    on the same operation with the same number of cases: cases per second, from each tool's own
    account of its testing (the suite's first start to last stop; st's JUnit time);
  - the full quick run against three of the mock's faults: wall time over the clean run's, and
    peak RSS.
Medians over the rounds with their range; the targets; everything in reports/latency.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import (
    CHECKS,
    CONCURRENCY,
    IDS,
    ROOT,
    TOKEN,
    LatencyProxy,
    junit_test_seconds,
    measured,
    suite_against,
    suite_phase_seconds,
)

from conformance.contract import openapi
from conformance.mock.server import MockServer

VERSION = "2026-06-20"
FAULTS = ("ctr-as-percent", "auth-any-bearer", "unknown-version-served-latest")


def property_phases(url: str, cases: int, scratch: Path) -> tuple[float, float]:
    """(suite, st run) seconds of testing for ``cases`` cases of the same operation."""
    verdicts = scratch / "property.json"
    subprocess.run(
        suite_against(
            url,
            "suites/test_properties.py",
            "-k",
            "positive",
            f"--api-version={VERSION}",
            f"--max-examples={cases}",
            "--no-restore",
            f"--verdicts-json={verdicts}",
            profile="verdict",
        ),
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    spec = scratch / "openapi.json"
    spec.write_text(json.dumps(openapi.build(VERSION, IDS[:5])))
    junit = scratch / "st.xml"
    subprocess.run(
        [
            *[str(Path(sys.executable).parent / "st"), "run", str(spec), "--url", url, "--mode", "positive"],
            *["--phases", "fuzzing", "-n", str(cases), "--no-shrink", "--workers", "1", "--checks", CHECKS],
            *["-H", f"Authorization: Bearer {TOKEN}", "-H", f"Api-Version-Date: {VERSION}"],
            *["--report", "junit", "--report-junit-path", str(junit)],
        ],
        cwd=scratch,
        capture_output=True,
        check=False,
    )
    return suite_phase_seconds(verdicts), junit_test_seconds(junit)


def property_cases_per_second(url: str, cases: int, scratch: Path) -> tuple[float, float]:
    """(suite, st run) marginal cases per second: each tool runs a fifth of the cases and all of
    them, and the difference cancels what a phase costs whatever its size (schema, strategies)."""
    small = max(1, cases // 5)
    suite_small, st_small = property_phases(url, small, scratch)
    suite_large, st_large = property_phases(url, cases, scratch)
    return (cases - small) / (suite_large - suite_small), (cases - small) / (st_large - st_small)


def one_round(
    delays: list[float], cases: int, runs: list[tuple[str, str, list[str]]], faults: list[str]
) -> dict:
    mock = MockServer(TOKEN).start()
    rounds: dict[str, dict] = {}
    try:
        for delay in delays:
            proxy = LatencyProxy(mock.port, delay)
            figures: dict[str, float] = {}
            try:
                for name, profile, extra in runs:
                    with tempfile.TemporaryDirectory() as scratch:
                        verdicts = Path(scratch) / "full.json"
                        wall, peak, completed = measured(
                            suite_against(proxy.url, f"--verdicts-json={verdicts}", *extra, profile=profile)
                        )
                        requests = json.loads(verdicts.read_text())["requests"] if verdicts.exists() else 0
                    figures[f"full_{name}_s"], figures[f"full_{name}_rss_mb"] = wall, peak
                    figures[f"full_{name}_exit"] = completed.returncode
                    figures[f"full_{name}_requests"] = requests
                    # the round-trip floor: every request waits its latency, CONCURRENCY at a time
                    # (under xdist too: the workers share --concurrency)
                    figures[f"full_{name}_floor_s"] = requests * delay / CONCURRENCY
                with tempfile.TemporaryDirectory() as scratch:
                    suite, st = property_cases_per_second(proxy.url, cases, Path(scratch))
                figures["property_suite_cases_per_s"], figures["property_st_cases_per_s"] = suite, st
                figures["property_ratio"] = suite / st
                # fault runs are quick ones: timed against the clean quick run, so only with it
                for fault in faults if "full_quick_s" in figures else []:
                    wall, peak, _ = measured(suite_against(f"{proxy.url}/__faults/{fault}"))
                    figures[f"fault_{fault}_ratio"] = wall / figures["full_quick_s"]
                    figures[f"fault_{fault}_rss_mb"] = peak
            finally:
                proxy.stop()
            rounds[f"{delay * 1000:g}ms"] = figures
    finally:
        mock.stop()
    return rounds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/latency.py", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="rounds; medians are reported (default 3)")
    parser.add_argument("--latency", type=float, action="append", help="ms per response (default 0, 50, 150)")
    parser.add_argument("--cases", type=int, default=300, help="cases for the property phase comparison")
    parser.add_argument(
        "--profile", action="append", help="hypothesis profiles of the full run (default quick, thorough)"
    )
    parser.add_argument(
        "--xdist",
        type=int,
        default=0,
        help="also time each full run with -n N --dist loadgroup (named PROFILE_nN)",
    )
    parser.add_argument(
        "--in-turn",
        action="store_true",
        help="also time each full run with --no-overlap: the property tests in their turn (PROFILE_in_turn)",
    )
    parser.add_argument("--fault", action="append", help=f"faults to time (default {', '.join(FAULTS)})")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "latency.json")
    args = parser.parse_args(argv)
    delays = [ms / 1000 for ms in (args.latency or [0, 50, 150])]
    profiles, faults = args.profile or ["quick", "thorough"], args.fault or list(FAULTS)
    runs = [(profile, profile, []) for profile in profiles]
    if args.in_turn:
        runs += [(f"{profile}_in_turn", profile, ["--no-overlap"]) for profile in profiles]
    if args.xdist:
        xdist = ["-n", str(args.xdist), "--dist", "loadgroup"]
        runs += [(f"{profile}_n{args.xdist}", profile, xdist) for profile in profiles]
    rounds = [one_round(delays, args.cases, runs, faults) for _ in range(args.repeat)]
    summary: dict[str, dict[str, list[float]]] = {}
    for result in rounds:
        for latency, figures in result.items():
            for key, value in figures.items():
                summary.setdefault(latency, {}).setdefault(key, []).append(value)
    print(f"{'latency':>8} {'figure':34} {'median':>10} {'range':>20}")
    medians: dict[str, dict[str, float]] = {}
    for latency, figures in summary.items():
        for key, values in figures.items():
            median = statistics.median(values)
            medians.setdefault(latency, {})[key] = median
            print(f"{latency:>8} {key:34} {median:10.2f} {min(values):9.2f}–{max(values):<9.2f}")
    zero = medians.get("0ms", {})
    print("targets:")
    for latency, figures in medians.items():
        for profile, _, _ in runs:
            if latency != "0ms" and zero:
                ratio = figures[f"full_{profile}_s"] / zero[f"full_{profile}_s"]
                medians[latency][f"full_{profile}_over_0ms"] = ratio
                print(
                    f"  {latency}: full {profile} run / at 0 ms = {ratio:.2f} (target <= 3, stretch <= 1.5)"
                )
                floor = figures[f"full_{profile}_floor_s"]
                if floor:
                    over_floor = figures[f"full_{profile}_s"] / floor
                    medians[latency][f"full_{profile}_over_floor"] = over_floor
                    print(
                        f"  {latency}: full {profile} run {figures[f'full_{profile}_s']:.1f} s for "
                        f"{figures[f'full_{profile}_requests']:.0f} requests, round-trip floor {floor:.1f} s "
                        f"(requests x latency / {CONCURRENCY}): {over_floor:.2f}x (target <= 1.25)"
                    )
                    if zero:  # where the floor alone is over 3x the 0 ms run, "<= 3" cannot be met
                        print(
                            f"  {latency}: the floor alone is {floor / zero[f'full_{profile}_s']:.2f}x the "
                            f"{profile} run at 0 ms"
                        )
        fault_ratios = [
            figures[f"fault_{fault}_ratio"] for fault in faults if f"fault_{fault}_ratio" in figures
        ]
        worst_rss = max(value for key, value in figures.items() if key.endswith("_rss_mb"))
        if fault_ratios:  # timed against the quick profile's clean run, so only when it ran
            print(f"  {latency}: worst faulty / clean wall = {max(fault_ratios):.2f} (target <= 1.5)")
        print(f"  {latency}: peak RSS of any run's largest process = {worst_rss:.0f} MB (target <= 250)")
        print(
            f"  {latency}: property phase suite / st run = {figures['property_ratio']:.2f} (target >= 5 at 50 ms)"
        )
    # every clean run is against a correct mock: one that failed is a false alarm, whatever its time
    false_alarms = [
        f"{latency} {key.removesuffix('_exit')} (round {number})"
        for number, result in enumerate(rounds, 1)
        for latency, figures in result.items()
        for key, value in figures.items()
        if key.startswith("full_") and key.endswith("_exit") and value != 0
    ]
    print(f"  clean runs that failed (false alarms): {', '.join(false_alarms) or 'none'} (target: none)")
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps({"rounds": rounds, "medians": medians}, indent=1))
    return 1 if false_alarms else 0


if __name__ == "__main__":
    raise SystemExit(main())
