"""Accepted failures in the run: a failure live waivers cover reported as waived, and what became of
each waiver (used, unused, expired) as the run's notes."""

from __future__ import annotations

import pytest

from conformance.judge import waivers
from conformance.plugin.failures import raised_by_suite, verdicts_in, version_of
from conformance.plugin.keys import NOTES, OUTCOMES, STARTED_AT, WAIVERS


def waive(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo) -> None:
    """A failed test every violation of which a live waiver covers is waived: reported as skipped
    with the waivers' reasons (pytest's xfailed, Allure's skipped), its outcome 'waived', never
    'passed'. Inside allure-pytest and junitxml, so they record it as waived too."""
    accepted = item.config.stash.get(WAIVERS, [])
    if not accepted or report.when != "call" or not report.failed or call.excinfo is None:
        return
    if raised_by_suite(call.excinfo.value):
        return  # an error of the suite is never waived: it is no verdict
    found = verdicts_in(call.excinfo.value)
    violations = [v for verdict in found for v in verdict.violations]
    today = item.config.stash[STARTED_AT].date()
    used = waivers.waiving(accepted, violations, version_of(item), today)
    if used is None:
        return
    report.outcome = "skipped"
    report.wasxfail = "WAIVED " + "; ".join(waiver.line() for waiver in used)
    report.conformance_waived = [waiver.index for waiver in used]


def note_waivers(config: pytest.Config) -> None:
    """Each waiver as a note of the run, by what became of it (the controller's, at the end)."""
    accepted = config.stash.get(WAIVERS, [])
    used = {index for outcome in config.stash.get(OUTCOMES, []) for index in outcome.get("waived_by", [])}
    today = config.stash[STARTED_AT].date()
    for kind, lines in waivers.summary(accepted, used, today).items():
        config.stash.setdefault(NOTES, []).extend(
            {"kind": kind.value, "group": str(number), "text": line} for number, line in enumerate(lines)
        )
