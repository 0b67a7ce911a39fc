"""Side-by-side benchmark, one command: ``python benchmarks/run.py [--repeat 5]``.

Against one standalone mock process (requests counted server-side), in one run, it measures:
  (a) the suite's property-based phase (suites/test_properties.py, positive mode, one version),
      in one process and split over the cores with xdist (-n <cores>);
  (b) schemathesis's ``st run`` CLI on the same operation, same checks, same number of cases;
  (c) a raw httpx keep-alive loop sending as many requests as (a)'s large run: the floor;
  (d) the example and invariant suites (everything but the property-based tests, i.e. without
      test_properties.py and the @given header test in test_versioning.py): their own time
      (pytest's per-test times: set-up, call, teardown) per request, against the floor of the
      same requests (recorded by benchmarks/record_requests.py) replayed by a bare httpx client;
  (e) the full default run (``pytest suites``, embedded mock, quick profile): wall time;
  (f) the mock's throughput against a minimal Starlette handler returning a constant body;
  (g) generation alone: schemathesis's strategy drawn in-process with no request (a floor for
      any tool built on it, st included).

``python benchmarks/run.py --latency [ARGS]`` runs benchmarks/latency.py instead: the same kind of
side-by-side figures against the mock behind a proxy that holds each response 0, 50 or 150 ms.

Throughput of (a) and (b) is marginal: each command runs twice, with --small and --large cases,
and cases per second = (large - small) / (phase(large) - phase(small)), where a phase is the
tool's own account of its testing: st run's JUnit time for the operation; for the suite, the
earliest start to the latest stop of its property tests (pytest's report times, across xdist
workers). Interpreter start-up, imports and xdist's worker spawning fall outside the phases, and
what stays inside at a fixed cost (schema loading, strategy building) cancels out in the
difference; start-up is printed on its own. Ratios are taken within each round, then the median
over --repeat rounds is reported with the rounds' range; prints them against the targets and
writes reports/benchmarks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from harness import CHECKS, ROOT, junit_test_seconds, suite_phase_seconds

from conformance.contract import openapi
from conformance.mock.dataset import build_dataset
from conformance.tools.mutation import suite_command

TOKEN = "benchmark-token"
VERSION = "2026-06-20"
HEADERS = {"Authorization": f"Bearer {TOKEN}", "Api-Version-Date": VERSION}
PY = sys.executable
MINIMAL_APP = """
import sys, socket, uvicorn
from starlette.responses import Response
BODY = open(sys.argv[2], "rb").read()
async def app(scope, receive, send):
    if scope["type"] == "http":
        await Response(BODY, media_type="application/json")(scope, receive, send)
s = socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1); s.bind(("127.0.0.1", int(sys.argv[1])))
uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")).run(sockets=[s])
"""
TARGETS = {
    "suite / st run, cases per second (one process)": ("ratio_suite_over_st_cases_per_s", ">=", 2.0),
    "suite / st run, cases per second (xdist, all cores)": (
        "ratio_suite_xdist_over_st_cases_per_s",
        ">=",
        2.0,
    ),
    "example suites / raw loop, time per request": ("ratio_examples_over_raw_time_per_request", "<=", 1.5),
    "full default run, seconds": ("full_default_run_s", "<=", 20.0),
    "mock / minimal Starlette, requests per second": ("ratio_mock_over_minimal_rps", ">=", 0.8),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """A server subprocess on a free loopback port, up before the constructor returns."""

    def __init__(self, command: list[str], port: int, probe: str):
        self.port = port
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}{probe}", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{command} did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> int:
        return httpx.get(f"{self.url}/__stats").json()["requests"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def timed(command: list[str], **extra_env: str) -> float:
    # run as ./run runs them: bytecode caching on (see the comment in ./run)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | extra_env
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{command[:4]}… exited {completed.returncode}:\n{completed.stdout[-2000:]}")
    return seconds


def measure(mock: Server, command: list[str], **extra_env: str) -> tuple[float, int]:
    """Wall seconds and requests the mock received."""
    before = mock.requests()
    seconds = timed(command, **extra_env)
    return seconds, mock.requests() - before


def raw_loop(url: str, path: str, count: int) -> float:
    """Seconds for ``count`` keep-alive POSTs, nothing else: the floor."""
    with httpx.Client() as client:
        client.post(url + path, headers=HEADERS)
        started = time.perf_counter()
        for _ in range(count):
            client.post(url + path, headers=HEADERS)
        return time.perf_counter() - started


def raw_replay(recorded: list[list]) -> float:
    """Seconds to send exactly the recorded requests again, in order, with a bare keep-alive client."""
    with httpx.Client() as client:
        started = time.perf_counter()
        for method, url, headers, body in recorded:
            raw = {name: value.encode("latin-1") for name, value in headers.items()}
            client.request(method, url, headers=raw, content=body.encode("latin-1"))
        return time.perf_counter() - started


def generation_seconds_per_case(spec: Path, cases: int) -> float:
    """schemathesis's positive strategy for the operation, drawn with no request, in-process."""
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings

    operation = schemathesis.openapi.from_path(spec)["/ad_groups/{id}/unpause"]["POST"]
    strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE)
    drawn = []

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def draw(case):
        drawn.append(case)

    draw()  # warm-up: strategy construction and caches
    drawn.clear()
    started = time.perf_counter()
    draw()
    return (time.perf_counter() - started) / len(drawn)


def marginal(small: dict, large: dict, cases: tuple[int, int]) -> dict:
    """Per-case figures from two run sizes: what one more case costs, fixed costs cancelled out."""
    seconds = large["phase_s"] - small["phase_s"]
    requests = large["requests"] - small["requests"]
    return {
        "cases_per_s": (cases[1] - cases[0]) / seconds,
        "requests_per_s": requests / seconds,
        "s_per_request": seconds / requests,
        "startup_s": large["wall_s"] - large["phase_s"],
        "phase_large_s": large["phase_s"],
        "whole_command_large_s": large["wall_s"],
        "requests_large": large["requests"],
    }


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5, help="rounds; medians are reported (default 5)")
    parser.add_argument("--small", type=int, default=50, help="cases in the small run (default 50)")
    parser.add_argument("--large", type=int, default=450, help="cases in the large run (default 450)")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "reports" / "benchmarks.json", help="the JSON written"
    )
    args = parser.parse_args()
    if args.repeat < 1 or not 0 < args.small < args.large:
        parser.error("needs --repeat >= 1 and 0 < --small < --large")
    return args


class Bench:
    """What every round measures against: the standalone mock, the minimal server, the suite's
    options for that target, and the scratch files the measured commands write."""

    def __init__(self, scratch: Path, workers: int):
        self.workers = workers
        self.ids = [g.id for g in build_dataset(0)]
        mock_port = free_port()
        self.mock = Server(
            [PY, "-m", "conformance.mock", "--port", str(mock_port), "--token", TOKEN], mock_port, "/__stats"
        )
        self.target = [
            *["--base-url", self.mock.url, "--api-token", TOKEN],
            *[f"--ad-group-id={i}" for i in self.ids],
            *["--api-version", VERSION, "-p", "no:cacheprovider", "-q", "-o", "addopts=--strict-markers"],
        ]
        self.spec = scratch / "openapi.json"
        self.spec.write_text(json.dumps(openapi.build(VERSION, self.ids)))
        self.junit, self.verdicts, self.st_junit = (
            scratch / n for n in ("junit.xml", "verdicts.json", "st-junit.xml")
        )
        self.recording = scratch / "requests.json"
        self.path = f"/ad_groups/{self.ids[0]}/unpause"
        body = scratch / "body.json"
        body.write_bytes(httpx.post(self.mock.url + self.path, headers=HEADERS).content)
        (scratch / "minimal.py").write_text(MINIMAL_APP)
        minimal_port = free_port()
        self.minimal = Server(
            [PY, str(scratch / "minimal.py"), str(minimal_port), str(body)], minimal_port, "/"
        )

    def stop(self) -> None:
        self.minimal.stop()
        self.mock.stop()

    def suite_property(self, cases: int, *extra: str) -> dict:
        command = [
            *[PY, "-m", "pytest", "suites/test_properties.py", "-k", "positive"],
            *["--hypothesis-profile=verdict", f"--max-examples={cases}", *self.target, *extra],
            f"--verdicts-json={self.verdicts}",
        ]
        seconds, requests = measure(self.mock, command)
        return {"wall_s": seconds, "requests": requests, "phase_s": suite_phase_seconds(self.verdicts)}

    def st_run(self, cases: int) -> dict:
        command = [
            *[
                str(Path(PY).parent / "st"),
                "run",
                str(self.spec),
                "--url",
                self.mock.url,
                "--mode",
                "positive",
            ],
            *["--phases", "fuzzing", "-n", str(cases), "--no-shrink", "--workers", "1"],
            *["--checks", CHECKS],
            *["-H", f"Authorization: Bearer {TOKEN}", "-H", f"Api-Version-Date: {VERSION}"],
            *["--report", "junit", "--report-junit-path", str(self.st_junit)],
        ]
        seconds, requests = measure(self.mock, command)
        return {"wall_s": seconds, "requests": requests, "phase_s": junit_test_seconds(self.st_junit)}

    def examples(self, row: dict) -> None:
        """The example suites' time per request, against the very same requests replayed raw."""
        command = [PY, "-m", "pytest", "suites", "--deselect", "suites/test_properties.py", *self.target]
        command += [
            "--deselect",
            "suites/test_versioning.py::test_arbitrary_unregistered_values_are_rejected",
        ]
        command += [f"--junitxml={self.junit}", "-p", "record_requests"]
        recorder_env = {"PYTHONPATH": str(ROOT / "benchmarks"), "BENCHMARK_RECORD": str(self.recording)}
        seconds, requests = measure(self.mock, command, **recorder_env)
        recorded = json.loads(self.recording.read_text())
        assert len(recorded) == requests, (len(recorded), requests)
        row["examples_whole_command_s"] = seconds
        row["examples_requests"] = requests
        row["examples_s_per_request"] = junit_test_seconds(self.junit) / requests
        # the floor: the very same requests replayed, three times (a sub-second loop is at
        # the mercy of the scheduler); the mock's state follows the same pause/unpause path
        replays = 3
        replayed = sum(raw_replay(recorded) for _ in range(replays))
        row["raw_examples_s_per_request"] = replayed / (replays * requests)

    def one_round(self, cases: tuple[int, int]) -> dict[str, float]:
        row: dict[str, float] = {}
        for name, make in (
            ("suite", self.suite_property),
            ("suite_xdist", lambda n: self.suite_property(n, "-n", str(self.workers), "--dist", "loadgroup")),
            ("st_run", self.st_run),
        ):
            figures = marginal(make(cases[0]), make(cases[1]), cases)
            row.update({f"{name}_{key}": value for key, value in figures.items()})
        # as many requests as the suite's large run sent; the median of 5 loops, since one
        # loop of a few hundred requests lasts a fraction of a second
        raw_count = int(row["suite_requests_large"])
        loops = [raw_loop(self.mock.url, self.path, raw_count) for _ in range(5)]
        row["raw_s_per_request"] = statistics.median(loops) / raw_count
        self.examples(row)
        row["full_default_run_s"] = timed(suite_command(profile="quick"))
        # interleaved, so a burst of noise on the machine hits both servers alike
        mock_s = minimal_s = 0.0
        for _ in range(4):
            mock_s += raw_loop(self.mock.url, self.path, 1000)
            minimal_s += raw_loop(self.minimal.url, "/", 1000)
        row["mock_rps"], row["minimal_rps"] = 4000 / mock_s, 4000 / minimal_s
        return row


def add_ratios(rounds: list[dict[str, float]]) -> None:
    """Ratios within a round: both sides measured minutes apart at most."""
    for row in rounds:
        row["ratio_suite_over_st_cases_per_s"] = row["suite_cases_per_s"] / row["st_run_cases_per_s"]
        row["ratio_suite_xdist_over_st_cases_per_s"] = (
            row["suite_xdist_cases_per_s"] / row["st_run_cases_per_s"]
        )
        row["ratio_suite_over_raw_time_per_request"] = row["suite_s_per_request"] / row["raw_s_per_request"]
        row["ratio_examples_over_raw_time_per_request"] = (
            row["examples_s_per_request"] / row["raw_examples_s_per_request"]
        )
        row["ratio_mock_over_minimal_rps"] = row["mock_rps"] / row["minimal_rps"]


def summarize(args: argparse.Namespace, rounds: list[dict], generation: float, workers: int) -> dict:
    median = {key: statistics.median(row[key] for row in rounds) for key in rounds[0]}
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat,
        "cases": {"small": args.small, "large": args.large},
        "xdist_workers": workers,
        "generation_only_ms_per_case": generation * 1000,
        **{
            key: median[key]
            for key in (
                "suite_cases_per_s",
                "suite_requests_per_s",
                "suite_xdist_cases_per_s",
                "st_run_cases_per_s",
                "st_run_requests_per_s",
            )
        },
        "raw_requests_per_s": 1 / median["raw_s_per_request"],
        **{key: median[key] for key in median if key.startswith("ratio_")},
        "full_default_run_s": median["full_default_run_s"],
        "medians": median,
        "rounds": rounds,
    }


def print_results(args: argparse.Namespace, results: dict) -> None:
    rounds, median = results["rounds"], results["medians"]
    spread = {key: (min(row[key] for row in rounds), max(row[key] for row in rounds)) for key in rounds[0]}
    print(f"{results['machine']}; medians of {args.repeat} rounds; {args.small} and {args.large} cases")
    for key, value in results.items():
        if isinstance(value, float):
            low, high = spread.get(key, (value, value))
            print(f"  {key:45} {value:10.3f}   (rounds: {low:.3f} to {high:.3f})")
    startup = {name: median[f"{name}_startup_s"] for name in ("suite", "suite_xdist", "st_run")}
    print(
        "  start-up, seconds (outside the phases): " + ", ".join(f"{k} {v:.2f}" for k, v in startup.items())
    )
    print("targets:")
    for label, (key, sense, bound) in TARGETS.items():
        value, (low, high) = results[key], spread[key]
        met = value >= bound if sense == ">=" else value <= bound
        print(
            f"  {'met    ' if met else 'NOT met'} {label}: {value:.2f}, rounds {low:.2f} to {high:.2f} (target {sense} {bound:g})"
        )
    print(f"written to {args.out}")


def main() -> int:
    if sys.argv[1:2] == ["--latency"]:
        # the latency benchmark (a proxy holding each response 0, 50, 150 ms): benchmarks/latency.py
        from latency import main as latency_main

        return latency_main(sys.argv[2:])
    args = arguments()
    workers = max(2, os.cpu_count() or 2)
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as scratch:
        bench = Bench(Path(scratch), workers)
        try:
            for number in range(args.repeat):
                rounds.append(bench.one_round((args.small, args.large)))
                print(f"round {number + 1}/{args.repeat} done", file=sys.stderr)
        finally:
            bench.stop()
        generation = generation_seconds_per_case(bench.spec, args.large)
    add_ratios(rounds)
    results = summarize(args, rounds, generation, workers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print_results(args, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
