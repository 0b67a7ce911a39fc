"""The plugin is the `conformance` pytest11 entry point: it lists its options everywhere and acts
only on a run of the suites, so a run of the self-tests builds no target and starts no mock."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
