"""Side-by-side benchmark, one command: ``python benchmarks/run.py [--repeat 5] [--examples 200]``.

Against the same standalone mock process (requests counted server-side), in one run, it measures:
  (a) the suite's property-based phase (suites/test_properties.py, positive mode, one version);
  (b) schemathesis's ``st run`` CLI on the same operation, same checks, same number of cases;
  (c) a raw httpx keep-alive loop sending as many requests as (a): the floor;
  (d) the example and invariant suites (everything but properties): cost per request vs (c);
  (e) the full default run (``pytest suites``, embedded mock, quick profile): wall time;
  (f) the mock's throughput vs a minimal Starlette handler returning a constant body.
Medians of --repeat runs; prints the ratios and writes reports/benchmarks.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance import openapi  # noqa: E402
from conformance.mock.dataset import build_dataset  # noqa: E402
from conformance.mutation import suite_command  # noqa: E402

TOKEN = "benchmark-token"
VERSION = "2026-06-20"
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


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Process:
    def __init__(self, command: list[str], port: int):
        self.port = port
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"{self.url}/__stats", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"{command} did not start")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> int:
        return httpx.get(f"{self.url}/__stats").json()["requests"]

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def timed(command: list[str]) -> float:
    # run as ./run runs them: bytecode caching on (see the comment in ./run)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    subprocess.run(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=env
    )
    return time.perf_counter() - started


def measure(mock: Process, command: list[str]) -> tuple[float, int]:
    before = mock.requests()
    seconds = timed(command)
    return seconds, mock.requests() - before


def raw_loop(url: str, path: str, count: int) -> float:
    with httpx.Client() as client:
        headers = {"Authorization": f"Bearer {TOKEN}", "Api-Version-Date": VERSION}
        client.post(url + path, headers=headers)
        started = time.perf_counter()
        for _ in range(count):
            client.post(url + path, headers=headers)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ids = [g.id for g in build_dataset(0)]
    port = free_port()
    mock = Process([PY, "-m", "conformance.mock", "--port", str(port), "--token", TOKEN], port)
    target = [
        "--base-url",
        mock.url,
        "--api-token",
        TOKEN,
        *[f"--ad-group-id={i}" for i in ids],
        "--api-version",
        VERSION,
        "-p",
        "no:cacheprovider",
        "-q",
        "-o",
        "addopts=--strict-markers",
    ]
    examples = 200  # the 'benchmark' hypothesis profile
    with tempfile.TemporaryDirectory() as scratch:
        spec = Path(scratch) / "openapi.json"
        spec.write_text(json.dumps(openapi.build(VERSION, ids)))
        suite_property = [
            PY,
            "-m",
            "pytest",
            "suites/test_properties.py",
            "-k",
            "positive",
            "--hypothesis-profile=benchmark",
            *target,
        ]
        st_run = [
            str(Path(PY).parent / "st"),
            "run",
            str(spec),
            "--url",
            mock.url,
            "--mode",
            "positive",
            "--phases",
            "fuzzing",
            "-n",
            str(examples),
            "--no-shrink",
            "-H",
            f"Authorization: Bearer {TOKEN}",
            "-H",
            f"Api-Version-Date: {VERSION}",
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
            "ignored_auth",
            "--workers",
            "1",
        ]
        examples_suites = [PY, "-m", "pytest", "suites", "-k", "not properties", *target]
        full_run = suite_command(profile="quick")
        rows: dict[str, list[float]] = {
            k: []
            for k in (
                "suite_property_s",
                "suite_property_requests",
                "st_run_s",
                "st_run_requests",
                "raw_s",
                "examples_s",
                "examples_requests",
                "raw_examples_s",
                "full_run_s",
                "mock_rps",
                "minimal_rps",
            )
        }
        body = Path(scratch) / "body.json"
        body.write_bytes(
            httpx.post(
                f"{mock.url}/ad_groups/{ids[0]}/unpause",
                headers={"Authorization": f"Bearer {TOKEN}", "Api-Version-Date": VERSION},
            ).content
        )
        minimal_port = free_port()
        (Path(scratch) / "minimal.py").write_text(MINIMAL_APP)
        minimal = subprocess.Popen([PY, str(Path(scratch) / "minimal.py"), str(minimal_port), str(body)])
        time.sleep(1.5)
        try:
            for round_number in range(args.repeat):
                seconds, requests = measure(mock, suite_property)
                rows["suite_property_s"].append(seconds)
                rows["suite_property_requests"].append(requests)
                seconds, requests = measure(mock, st_run)
                rows["st_run_s"].append(seconds)
                rows["st_run_requests"].append(requests)
                rows["raw_s"].append(
                    raw_loop(
                        mock.url, f"/ad_groups/{ids[0]}/unpause", int(rows["suite_property_requests"][-1])
                    )
                )
                seconds, requests = measure(mock, examples_suites)
                rows["examples_s"].append(seconds)
                rows["examples_requests"].append(requests)
                rows["raw_examples_s"].append(raw_loop(mock.url, f"/ad_groups/{ids[0]}/unpause", requests))
                rows["full_run_s"].append(timed(full_run))
                n = 3000
                rows["mock_rps"].append(n / raw_loop(mock.url, f"/ad_groups/{ids[0]}/unpause", n))
                rows["minimal_rps"].append(n / raw_loop(f"http://127.0.0.1:{minimal_port}", "/", n))
                print(f"round {round_number + 1}/{args.repeat} done", file=sys.stderr)
        finally:
            minimal.terminate()
            mock.stop()
    median = {k: statistics.median(v) for k, v in rows.items()}
    suite_cases_per_s = examples / median["suite_property_s"]  # one positive test, one version
    st_cases_per_s = examples / median["st_run_s"]
    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "repeat": args.repeat,
        "examples_per_run": examples,
        "medians": median,
        "suite_property_cases_per_s": suite_cases_per_s,
        "suite_property_requests_per_s": median["suite_property_requests"] / median["suite_property_s"],
        "st_run_cases_per_s": st_cases_per_s,
        "st_run_requests_per_s": median["st_run_requests"] / median["st_run_s"],
        "raw_requests_per_s": median["suite_property_requests"] / median["raw_s"],
        "ratio_suite_over_st_cases_per_s": suite_cases_per_s / st_cases_per_s,
        "ratio_suite_over_raw_time_per_request": (
            median["suite_property_s"] / median["suite_property_requests"]
        )
        / (median["raw_s"] / median["suite_property_requests"]),
        "ratio_examples_over_raw_time_per_request": (median["examples_s"] / median["examples_requests"])
        / (median["raw_examples_s"] / median["examples_requests"]),
        "full_default_run_s": median["full_run_s"],
        "ratio_mock_over_minimal_rps": median["mock_rps"] / median["minimal_rps"],
    }
    out = ROOT / "reports" / "benchmarks.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    for key, value in results.items():
        if key != "medians":
            print(f"{key:45} {value:.3f}" if isinstance(value, float) else f"{key:45} {value}")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
