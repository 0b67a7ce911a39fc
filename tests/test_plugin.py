"""The plugin is the `conformance` pytest11 entry point: it lists its options everywhere and acts
only on a run of the suites, so a run of the self-tests builds no target and starts no mock."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_suite

pytestmark = pytest.mark.subprocess  # every test here starts a process

ROOT = Path(__file__).resolve().parent.parent
HEADER = "conformance 0.1.0: target embedded mock"


def collect(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "acts"),
    [
        (["suites"], True),
        (["suites/test_auth.py::test_bad_credentials_get_401"], True),
        (["tests/test_rules.py"], False),
    ],
)
def test_the_plugin_acts_only_on_a_run_of_the_suites(args, acts):
    completed = collect(*args)
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert (HEADER in completed.stdout) == acts, completed.stdout[:1500]


def test_its_options_are_listed_by_help_outside_the_suites_too():
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "--api-token" in completed.stdout
    assert "--mock-fault" in completed.stdout


def pytest_run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_list_faults_and_list_profiles_name_every_entry_with_a_line_each_and_exit_0():
    from conformance.mock.faults import CATALOGUE
    from conformance.mock.profiles import CATALOGUE as PROFILES

    completed = pytest_run("suites", "--list-faults", "--list-profiles")
    assert completed.returncode == 0, completed.stderr[-2000:]
    listed = {line.split()[0] for line in completed.stdout.splitlines() if line.startswith("  ")}
    assert listed == set(CATALOGUE) | set(PROFILES)
    assert "test session starts" not in completed.stdout, "nothing runs"


@pytest.mark.parametrize(
    ("option", "name", "close"),
    [
        ("--mock-fault", "ctr-percent", "ctr-as-percent"),
        ("--mock-profile", "conflicts", "conflict"),
        ("--rule", "INV-CTR-RANGE", "INV-CTR"),
    ],
)
def test_an_unknown_name_is_a_usage_error_listing_the_valid_ones(option, name, close):
    from conformance.mock.faults import CATALOGUE
    from conformance.mock.profiles import CATALOGUE as PROFILES

    completed = pytest_run("suites", f"{option}={name}")
    assert completed.returncode == 4
    from conformance.contract.rules import catalogue

    known = {"--mock-fault": CATALOGUE, "--mock-profile": PROFILES, "--rule": catalogue()}[option]
    assert f"Did you mean {close}" in completed.stderr
    assert all(other in completed.stderr for other in known)


def test_rule_keeps_only_the_tests_that_judge_it_and_still_catches_its_fault():
    """--rule: the tests that declare the rule (or judge it on every response) run, no other; the
    census and restore run as always, and a fault of that rule still fails the run naming it."""
    collected = collect("suites", "--rule=INV-CTR", "-q")
    kept = [line for line in collected.stdout.splitlines() if "::" in line]
    assert kept, collected.stdout[-2000:]
    assert all("INV-CTR" in line for line in kept), kept
    assert "deselected" in collected.stdout
    completed = pytest_run("suites", "--rule=INT-OTHER-GROUPS", "--mock-fault=unpause-activates-campaign")
    assert completed.returncode == 1, completed.stdout[-2000:]
    assert "FAILED: MUST INT-OTHER-GROUPS" in completed.stdout


@pytest.mark.parametrize(
    ("rule", "fault", "status", "verdict"),
    [
        ("ERR-JSON", "success-as-html", 1, "FAILED: MUST ERR-JSON"),
        ("EXP-NO-PUBLIC-CACHE", "public-cache", 0, "1 advisory (SHOULD EXP-NO-PUBLIC-CACHE"),
    ],
)
def test_stop_when_broken_ends_early_with_the_verdict_s_exit_status(rule, fault, status, verdict):
    """Stopped once the rule is broken: fewer tests than --rule selects, the verdict line, and the
    verdict's exit status (pytest's own for an interrupted run is 2). Both forked, verdict profile."""
    whole = run_suite(f"--rule={rule}", f"--mock-fault={fault}")
    stopped = run_suite(f"--rule={rule}", "--stop-when-broken", f"--mock-fault={fault}")
    assert stopped.returncode == whole.returncode == status, stopped.stdout[-2000:]
    assert "--stop-when-broken: " + rule + " broken" in stopped.stdout
    assert verdict in stopped.stdout.splitlines()[-1]
    ran = [int(n) for n in re.findall(r"(\d+) (?:passed|failed|xfailed)", stopped.stdout.splitlines()[-2])]
    ran_whole = [
        int(n) for n in re.findall(r"(\d+) (?:passed|failed|xfailed)", whole.stdout.splitlines()[-2])
    ]
    assert sum(ran) < sum(ran_whole)


@pytest.mark.parametrize(("ci", "profile"), [("true", "thorough"), (None, "quick"), ("false", "quick")])
def test_a_run_under_ci_defaults_to_the_thorough_profile(monkeypatch, ci, profile):
    """CI=true makes an unpinned run thorough (the self-tests' own suite runs drop CI: tests/conftest.py)."""
    from conformance.plugin import options

    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert options.default_profile() == profile
