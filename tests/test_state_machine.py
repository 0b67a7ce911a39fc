"""The model-based state machine: passes on the clean mock in both state readings and both
profiles, alone catches the faults only a sequence reaches, shows the shortest sequence (at most
five steps) in the failure, and skips with the reason under --no-use-pause."""

from __future__ import annotations

import re

import pytest

from conformance.mock.faults import CATALOGUE as FAULTS
from tests.conftest import run_suite

pytestmark = pytest.mark.subprocess  # every test here starts a process

SEQUENCE_FAULTS = ["forgets-unpause-after-two-pauses", "second-pause-recreates"]


def machine(*args: str):
    return run_suite("-k", "state_machine", *args, timeout=300)


@pytest.mark.parametrize("profile", ["default", "conflict"])
@pytest.mark.parametrize("hypothesis_profile", ["quick", "thorough"])
def test_the_machine_passes_on_the_clean_mock(profile, hypothesis_profile):
    completed = machine(f"--mock-profile={profile}", f"--hypothesis-profile={hypothesis_profile}")
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "1 passed" in completed.stdout


@pytest.mark.parametrize(
    ("profile", "concurrency"),
    [("default", 1), ("conflict", 1), ("default", 4)],  # 4: a machine on each of 4 groups, in threads
)
@pytest.mark.parametrize("fault", SEQUENCE_FAULTS)
def test_the_machine_alone_catches_a_sequence_fault_and_shows_a_short_sequence(
    suite_run_once, fault, profile, concurrency
):
    # the same fixed run for either concurrency of the machine: run once
    fixed = suite_run_once(
        "-k", "not state_machine", f"--mock-fault={fault}", f"--mock-profile={profile}", timeout=300
    )
    assert fixed.returncode == 0, f"a fixed test caught {fault}: the machine is not needed for it"
    completed = machine(
        f"--mock-fault={fault}",
        f"--mock-profile={profile}",
        "--hypothesis-profile=quick",
        f"--concurrency={concurrency}",
    )
    assert completed.returncode == 1, completed.stdout[-3000:]
    (rule,) = FAULTS[fault].rules
    verdict = re.search(rf"^{rule}: ad group \S+, after (.+?): ", completed.stdout, re.MULTILINE)
    assert verdict, completed.stdout[-3000:]
    steps = verdict.group(1).split(" → ")
    assert steps[0] == "unpause(start)"
    assert steps.count("pause") >= 2  # what the fault needs: two pauses in a row
    assert len(steps) <= 5, steps
    assert "Traceback" not in completed.stdout  # the verdict, not the machine's frames


def test_the_machine_skips_with_the_reason_without_pause():
    completed = machine("--no-use-pause", "-rs")
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "--no-use-pause forbids it" in completed.stdout
