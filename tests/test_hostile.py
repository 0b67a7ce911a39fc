"""The suite keeps its head when the target does not: every hostile mode ends in bounded time,
with pytest's 'tests failed' exit code, a one-line reason, no hang and no token in the output."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from conformance.mutation import run_suite
from tests.hostile import MODES, HostileServer, refused_port

TOKEN = "hostile-run-token-5e4d3c2b1a"
REQUEST_TIMEOUT = 0.5
GLOBAL_BUDGET = 60  # seconds a whole hostile run may take, far above what a bounded run needs


def run_suites(
    base_url: str, *args: str, timeout: float = GLOBAL_BUDGET
) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    completed = run_suite(
        f"--base-url={base_url}",
        f"--api-token={TOKEN}",
        "--ad-group-id=adgrp_1",
        "--ad-group-id=adgrp_2",
        f"--request-timeout={REQUEST_TIMEOUT}",
        "--time-budget=8",
        *args,
        timeout=timeout,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_BASE_URL"},
    )
    return completed, time.monotonic() - started


@pytest.fixture(params=MODES)
def hostile(request):
    server = HostileServer(request.param)
    yield server
    server.stop()


def test_hostile_target_gives_a_bounded_failing_run(hostile):
    completed, seconds = run_suites(hostile.url)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 1, f"{hostile.mode}: exit {completed.returncode}\n{output[-3000:]}"
    assert seconds < GLOBAL_BUDGET
    assert TOKEN not in output, f"{hostile.mode}: the token leaked"
    assert "INTERNALERROR" not in output
    summary = [line for line in completed.stdout.splitlines() if line.startswith("FAILED ")]
    assert summary, output[-2000:]
    assert all(len(line) < 400 for line in summary), "each failure has a one-line reason"


TRANSPORT_MODES = {"hang", "drip", "reset", "close-mid-body", "huge-body", "bad-gzip"}


@pytest.mark.parametrize("mode", sorted(TRANSPORT_MODES))
def test_transport_failures_are_target_errors_not_contract_verdicts(mode):
    server = HostileServer(mode)
    try:
        completed, _ = run_suites(server.url, "-k", "test_unknown_id_gets_404")
    finally:
        server.stop()
    assert completed.returncode == 1
    assert "TargetError: " in completed.stdout, completed.stdout[-2000:]
    assert "RuleFailure" not in completed.stdout


def test_the_circuit_breaker_bounds_a_hanging_target():
    server = HostileServer("hang")
    try:
        completed, seconds = run_suites(server.url)
    finally:
        server.stop()
    # three timeouts open the breaker; everything after fails at once
    assert server.requests <= 4, server.requests
    assert "requests in a row got no usable response" in completed.stdout
    assert seconds < 20


def test_rate_limited_target_is_retried_after_retry_after():
    server = HostileServer("rate-limited")
    try:
        # --no-restore: no census either, so the one test's request and its retries are all there is
        completed, seconds = run_suites(server.url, "-k", "test_unknown_id_gets_404 and 2025", "--no-restore")
    finally:
        server.stop()
    assert server.requests == 4, "one request and three retries, each after Retry-After: 1"
    assert seconds >= 3
    assert completed.returncode == 1


def test_huge_body_is_not_read_into_memory():
    server = HostileServer("huge-body")
    try:
        completed, _ = run_suites(
            server.url, "-k", "test_unknown_id_gets_404 and 2025", "--max-body-bytes=100000"
        )
    finally:
        server.stop()
    assert "body larger than the 100000-byte cap" in completed.stdout


def test_unreachable_target_is_one_message_and_one_exit():
    completed, seconds = run_suites(f"http://127.0.0.1:{refused_port()}")
    assert completed.returncode == 1
    assert completed.stdout.count("target unreachable") == 1, completed.stdout
    assert "FAILED" not in completed.stdout
    assert seconds < 15


def test_production_guard_refuses_a_host_off_the_allowlist_before_any_request():
    completed, _ = run_suites("http://staging.conformance.invalid")
    assert completed.returncode == 4  # pytest's usage error: nothing ran
    assert "refusing to run: staging.conformance.invalid is not loopback" in completed.stderr
    assert "--allow-host staging.conformance.invalid" in completed.stderr
    assert "target unreachable" not in completed.stdout, "no connection was even attempted"


def test_allow_host_lets_it_through():
    completed, _ = run_suites(
        "http://staging.conformance.invalid", "--allow-host=staging.conformance.invalid"
    )
    assert "refusing to run" not in completed.stderr
    assert "target unreachable" in completed.stdout  # it went on, to a host that does not resolve
