"""Drift between two targets: the same mock twice shows none; a mock with a fault shows drift
exactly under the fault's rules; the conflict reading shows drift on status and no rule failure.
The second target is left as found, and its token appears nowhere."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.mock.faults import CATALOGUE as FAULTS
from conformance.mock.profiles import CATALOGUE as PROFILES
from conformance.mock.server import MockServer
from conformance.report import drift_page
from tests.conftest import run_suite

pytestmark = pytest.mark.subprocess  # every test here starts a process

COMPARE_TOKEN = "tkn-5e4d3c2b1a-9f8e7d"
ROOT = Path(__file__).resolve().parent.parent


def compared(tmp_path, compare_url: str, *extra: str) -> tuple[dict, object]:
    verdicts = tmp_path / "verdicts.json"
    completed = run_suite(
        f"--verdicts-json={verdicts}",
        "--hypothesis-profile=verdict",
        f"--compare-base-url={compare_url}",
        f"--compare-api-token={COMPARE_TOKEN}",
        *extra,
        timeout=300,
    )
    assert verdicts.exists(), completed.stdout[-3000:] + completed.stderr[-2000:]
    assert COMPARE_TOKEN[4:20] not in completed.stdout + completed.stderr + verdicts.read_text()
    return json.loads(verdicts.read_text()), completed


@pytest.fixture
def compare_mock():
    servers = []

    def start(profile: str = "default") -> MockServer:
        server = MockServer(COMPARE_TOKEN, seed=0, profile=PROFILES[profile]).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def test_the_same_mock_twice_shows_no_drift_and_is_left_as_found(tmp_path, compare_mock):
    server = compare_mock()
    before = server.api.statuses()
    data, completed = compared(tmp_path, server.url)
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert data["drift"]["mirrored"] > 100
    assert data["drift"]["entries"] == [], drift_page.lines(data["drift"])
    assert "drift against http://127.0.0.1:" in completed.stdout
    assert ": none in " in completed.stdout
    assert server.api.statuses() == before


@pytest.mark.parametrize("fault", ["ctr-as-percent", "wrong-id-echo", "unknown-version-served-latest"])
def test_a_fault_on_the_second_target_drifts_exactly_under_its_rules(tmp_path, compare_mock, fault):
    server = compare_mock()
    data, completed = compared(tmp_path, f"{server.url}/__faults/{fault}")
    assert completed.returncode == 0, completed.stdout[-3000:]  # the target itself conforms
    drifting = {entry["rule"] for entry in data["drift"]["entries"]}
    assert drifting == set(FAULTS[fault].rules), drift_page.lines(data["drift"])
    assert "Drift between the target and" in completed.stdout


def test_the_conflict_reading_drifts_on_status_and_breaks_no_rule(tmp_path, compare_mock):
    server = compare_mock("conflict")
    before = server.api.statuses()
    data, completed = compared(tmp_path, server.url)
    assert completed.returncode == 0, completed.stdout[-3000:]
    entries = data["drift"]["entries"]
    assert entries, "the conflict reading answers 409 where the default answers 200"
    assert {entry["aspect"] for entry in entries} == {"status"}, drift_page.lines(data["drift"])
    assert ("200", "409") in {(entry["target"], entry["compare"]) for entry in entries}
    assert server.api.statuses() == before


def test_compare_options_are_checked_before_any_request(tmp_path, compare_mock):
    server = compare_mock()
    cases = [
        ([f"--compare-base-url={server.url}"], "needs --compare-api-token"),
        ([f"--compare-api-token={COMPARE_TOKEN}", "--compare-ad-group-id=x"], "without --compare-base-url"),
        (
            [
                f"--compare-base-url={server.url}",
                f"--compare-api-token={COMPARE_TOKEN}",
                "--compare-ad-group-id=x",
            ],
            "one --compare-ad-group-id per ad group",
        ),
        (
            [f"--compare-base-url=http://user:pw@{server.url[7:]}", f"--compare-api-token={COMPARE_TOKEN}"],
            "carries credentials",
        ),
        (
            ["--compare-base-url=http://203.0.113.9", f"--compare-api-token={COMPARE_TOKEN}"],
            "not on the allowlist",
        ),
    ]
    for args, message in cases:
        completed = run_suite(*args, timeout=120)
        assert completed.returncode == 4, (args, completed.stdout[-1500:], completed.stderr[-1500:])
        assert message in completed.stdout + completed.stderr, (args, completed.stderr[-1500:])


def test_the_drift_benchmark_runs_end_to_end():
    completed = subprocess.run(
        [sys.executable, "benchmarks/drift.py", "--repeat", "1", "--latency", "0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert re.search(r"^alone: median [\d.]+ s", completed.stdout, re.MULTILINE), completed.stdout
    assert re.search(r"^mirrored / alone at 0 ms a response: [\d.]+$", completed.stdout, re.MULTILINE)


@pytest.mark.parametrize("mode", ["hang", "deep-json", "gzip-bomb-without-token", "echo-credentials"])
def test_a_hostile_second_target_costs_its_own_requests_never_the_run(tmp_path, mode):
    """The target conforms; whatever the second one does, the run passes, in bounded time, with the
    second target's failure said once and no credential of either in any output."""
    from tests.hostile import HostileServer

    server = HostileServer(mode)
    try:
        data, completed = compared(tmp_path, server.url, "--request-timeout=2", "--no-restore")
    finally:
        server.stop()
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "INTERNALERROR" not in completed.stdout + completed.stderr
    assert data["drift"]["entries"] or data["drift"]["stopped"], mode
