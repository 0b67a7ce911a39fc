"""What the run reports: redacted failure texts (a verdict, a target error, or an error of the
suite itself), Allure labels, attachments and environment, every test's outcome gathered across
xdist workers, ``verdicts.json``, the terminal summary and the exit status."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path

import allure
import pytest

from conformance.client.http import ApiClient
from conformance.judge import coverage, drift
from conformance.judge.checks import JUDGED_ON_EVERY_RESPONSE
from conformance.judge.notes import NoteKind
from conformance.plugin.failures import (
    EXIT_NOT_RESTORED,
    EXIT_SUITE_ERROR,
    SUITE_ERROR,
    TARGET_ERROR,
    error_line,
    raised_by_suite,
    redact_report,
    rule_ids_of,
    stopped_by_target,
    verdicts_in,
    version_of,
)
from conformance.plugin.keys import (
    CLIENT,
    COVERAGE,
    FINDINGS,
    MIRROR,
    NOTES,
    OUTCOMES,
    RUN_COVERAGE,
    RUN_DRIFT,
    RUN_REQUESTS,
    STARTED,
    STOPPED_WHEN_BROKEN,
    TARGET,
    VERDICTS,
    WAIVERS,
)
from conformance.plugin.summary import HEADLINE, rerun_command, run_context, write_allure_context
from conformance.plugin.target import shown_url
from conformance.plugin.titles import allure_title, tell_the_verdict
from conformance.plugin.waiving import note_waivers, waive
from conformance.plugin.xdist import WORKER_TOTALS, hand_back, is_worker, process_name
from conformance.report import drift_page
from conformance.report.notes import note_sections
from conformance.report.verdict import verdict_line


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(OutcomeRecorder(config), "conformance-outcomes")


def say(config: pytest.Config, lines: list[str], red: bool = True) -> None:
    """Lines to the terminal now, past output capturing (a census can run inside a fixture)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None:
        return
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        reporter.ensure_newline()
        for line in lines:
            reporter.write_line(line, red=red, bold=red)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Innermost: redacts before allure-pytest and junitxml read the report, attaches exchanges."""
    report = yield
    waive(item, report, call)
    if VERDICTS in item.config.stash:
        target = item.config.stash[TARGET]
        rerun = rerun_command(item.config, item) if report.failed or hasattr(report, "wasxfail") else ""
        redact_report(item, report, call, item.config.stash[VERDICTS].redact, not target.embedded, rerun)
    client = item.config.stash.get(CLIENT, None)
    found = verdicts_in(call.excinfo.value) if call.excinfo is not None else []
    shown = next((verdict.exchange for verdict in found if verdict.exchange is not None), None)
    broken = sorted({v.rule for verdict in found for v in verdict.violations})
    if report.when == "call" or (report.when == "setup" and not report.passed):
        tell_the_verdict(item, broken)
    if report.when == "call" and client is not None and (report.failed or hasattr(report, "wasxfail")):
        redact = item.config.stash[VERDICTS].redact
        violations = [str(v) for verdict in found for v in verdict.violations]
        if violations:
            allure.attach(
                redact("\n".join(violations)), name="violations", attachment_type=allure.attachment_type.TEXT
            )
        # the exchange the verdict is on first (it may be a body an earlier test obtained), then
        # the test's last others
        exchanges = [e for e in client.exchanges[-6:] if e is not shown]
        exchanges = [shown, *exchanges[-5:]] if shown is not None else exchanges
        for number, exchange in enumerate(exchanges, 1):
            allure.attach(
                exchange.curl(redact), name=f"{number}. curl", attachment_type=allure.attachment_type.TEXT
            )
            allure.attach(
                exchange.describe_request(redact),
                name=f"{number}. request",
                attachment_type=allure.attachment_type.TEXT,
            )
            allure.attach(
                exchange.describe_response(redact),
                name=f"{number}. response",
                attachment_type=allure.attachment_type.TEXT,
            )
    return report


class OutcomeRecorder:
    """Outermost makereport: sees the final outcome (after xfail handling) and puts it, with the
    SHOULD findings and notes made meanwhile, on the report; logreport collects them. Reports
    travel from xdist workers to the controller, so the outcomes and findings of every worker are
    gathered where the files are written (a worker's totals travel once, at its end: xdist.py).
    A class, because a module defines a hook only once."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.findings_reported = 0
        self.notes_reported = 0

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        verdicts = item.config.stash.get(VERDICTS, None)
        if hasattr(report, "wasxfail") and verdicts is not None:
            report.wasxfail = verdicts.redact(report.wasxfail)
        client = item.config.stash.get(CLIENT, None)
        if verdicts is not None:
            report.conformance_findings = [f.record() for f in verdicts.findings[self.findings_reported :]]
            self.findings_reported = len(verdicts.findings)
            report.conformance_notes = verdicts.notes[self.notes_reported :]
            self.notes_reported = len(verdicts.notes)
        if report.when == "call" or report.failed or report.skipped:
            # a conformance test (the suites' tests all use the target's client), not a self-test
            conformance_test = call.excinfo is not None and "api" in getattr(item, "fixturenames", ())
            # hypothesis may group several failures (distinct bugs, or a flaky one): every rule of each
            found = verdicts_in(call.excinfo.value) if call.excinfo is not None else []
            broken = sorted({v.rule for verdict in found for v in verdict.violations})
            declared = rule_ids_of(item) + (
                list(JUDGED_ON_EVERY_RESPONSE) if "api" in getattr(item, "fixturenames", ()) else []
            )
            report.conformance_outcome = {
                "test": item.nodeid,
                "title": allure_title(item, broken) or item.name,  # its Allure page's, for the matrix's links
                "when": report.when,
                "outcome": "waived"
                if getattr(report, "conformance_waived", None)
                else "xfailed"
                if hasattr(report, "wasxfail")
                else SUITE_ERROR
                if report.failed and conformance_test and raised_by_suite(call.excinfo.value)
                else TARGET_ERROR
                if report.failed and conformance_test and stopped_by_target(call.excinfo.value)
                else report.outcome,
                "rules": broken,
                # each broken rule's first violation, as the matrix shows it (redacted, one line)
                "first": {
                    rule_id: verdicts.redact(
                        next(str(v) for f in found for v in f.violations if v.rule == rule_id)
                    )[:300]
                    for rule_id in broken
                }
                if verdicts is not None
                else {},
                # why it failed without a rule: the suite's exception, or the target error that stopped it
                "error": verdicts.redact(error_line(call.excinfo.value))
                if conformance_test and verdicts is not None
                else "",
                "version": version_of(item),
                "requests_so_far": client.count if client else 0,
                "seconds_so_far": round(time.monotonic() - item.config.stash[STARTED], 3),
                "process": process_name(item.config),  # "main", or the xdist worker (gw0, gw1…)
                "start": report.start,  # epoch seconds: comparable across xdist workers
                "stop": report.stop,
                "waived_by": getattr(report, "conformance_waived", []),
                "declared": declared,
                # a skipped test judged none of its rules; a passing one may say it had none to judge
                "not_judged": declared
                if report.skipped
                else item.config.stash[VERDICTS].unjudged_by(item.nodeid),
            }
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        stash = self.config.stash
        if getattr(report, "conformance_outcome", None):
            stash.setdefault(OUTCOMES, []).append(report.conformance_outcome)
        stash.setdefault(FINDINGS, []).extend(getattr(report, "conformance_findings", []))
        stash.setdefault(NOTES, []).extend(getattr(report, "conformance_notes", []))


SIDE_EFFECT = "side-effect checks"  # counted among the kinds above too: not a kind of its own
RETRIED = "retried"  # of the kinds above, sent again after a 429's or a 503's Retry-After


def counts_of(client: ApiClient | None) -> dict[str, int]:
    if client is None:
        return {}
    return {**client.counts, SIDE_EFFECT: client.side_effect_requests, RETRIED: client.retried}


def final_exit_status(session: pytest.Session, exitstatus: int) -> int:
    """A run that passed or failed on the rules is no verdict when an ad group was not left as
    found (EXIT_NOT_RESTORED) or the suite itself raised (EXIT_SUITE_ERROR); a dry run sent nothing."""
    config = session.config
    target = config.stash.get(TARGET, None)
    if exitstatus == pytest.ExitCode.INTERRUPTED and config.stash.get(STOPPED_WHEN_BROKEN, False):
        # stopped on purpose once the rules asked for were broken: ends as the verdicts say
        exitstatus = pytest.ExitCode.TESTS_FAILED if session.testsfailed else pytest.ExitCode.OK
    if target is not None and target.dry_run and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        exitstatus = pytest.ExitCode.OK
    elif exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        if any(note["kind"] == NoteKind.RESTORE_FAILED for note in config.stash.get(NOTES, [])):
            exitstatus = EXIT_NOT_RESTORED
        elif any(o["outcome"] == SUITE_ERROR for o in config.stash.get(OUTCOMES, [])):
            exitstatus = EXIT_SUITE_ERROR
        elif any(note["kind"] == NoteKind.WATCHED_CHANGED for note in config.stash.get(NOTES, [])):
            exitstatus = pytest.ExitCode.TESTS_FAILED  # a group no request was sent changed: a MUST
        elif any(note["kind"] == NoteKind.WAIVER_EXPIRED for note in config.stash.get(NOTES, [])):
            exitstatus = pytest.ExitCode.TESTS_FAILED  # an accepted failure's time is up
    session.exitstatus = exitstatus
    return int(exitstatus)


def totals_of(config: pytest.Config) -> dict:
    """This process's requests by kind, 200 bodies by documented branch, and drift, so far."""
    mirror = config.stash.get(MIRROR, None)
    return {
        "requests": counts_of(config.stash.get(CLIENT, None)),
        "coverage": config.stash[COVERAGE].snapshot() if COVERAGE in config.stash else {},
        "drift": mirror.snapshot() if mirror is not None else None,
    }


def requests_by_kind(totals: list[dict]) -> dict[str, int]:
    summed = {"unpause": 0, "pause": 0, "read": 0, "other": 0}
    for each in totals:
        for kind, number in each["requests"].items():
            summed[kind] = summed.get(kind, 0) + number
    return summed


def requests_sent(kinds: dict[str, int]) -> int:
    return sum(number for kind, number in kinds.items() if kind not in (SIDE_EFFECT, RETRIED))


@pytest.hookimpl(trylast=True)  # after session's restore, and after the session fixtures' teardown
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    recorder = config.pluginmanager.get_plugin("conformance-outcomes")
    verdicts = config.stash.get(VERDICTS, None)
    unreported = verdicts.notes[recorder.notes_reported :] if verdicts and recorder else []
    if is_worker(config):
        # its outcomes reached the controller with each report; what it noted after its last test
        # (the restore of its embedded mock) goes with its totals
        hand_back(config, {**totals_of(config), "notes": unreported})
        return
    target = config.stash.get(TARGET, None)
    workers = config.stash.get(WORKER_TOTALS, {})
    totals = [totals_of(config), *workers.values()]
    config.stash[RUN_REQUESTS] = requests_by_kind(totals)
    if COVERAGE in config.stash:
        config.stash[RUN_COVERAGE] = coverage.merge([each["coverage"] for each in totals if each["coverage"]])
    if target is not None and target.compare_base_url:
        config.stash[RUN_DRIFT] = drift.merge([each["drift"] for each in totals if each["drift"]])
    # notes made outside any test (the census, the restore) reach no report
    config.stash.setdefault(NOTES, []).extend(unreported)
    for worker in sorted(workers):
        config.stash[NOTES].extend(workers[worker].get("notes", []))
    if verdicts is not None and recorder is not None:
        recorder.notes_reported = len(verdicts.notes)
    note_waivers(config)
    exitstatus = final_exit_status(session, exitstatus)
    alluredir = config.getoption("allure_report_dir", None)
    if alluredir and TARGET in config.stash:
        write_allure_context(config, Path(alluredir))
    kinds = config.stash[RUN_REQUESTS]
    run_verdicts = {
        "exitstatus": int(exitstatus),
        "outcomes": config.stash.get(OUTCOMES, []),
        "findings": config.stash.get(FINDINGS, []),
        "notes": config.stash.get(NOTES, []),
        "requests": requests_sent(kinds),
        "requests_by_kind": kinds,
        "coverage": config.stash.get(RUN_COVERAGE, {}),
        "compare": shown_url(target.compare_base_url) if target and target.compare_base_url else None,
        "drift": config.stash.get(RUN_DRIFT, None),
        "waivers": [waiver.record() for waiver in config.stash.get(WAIVERS, [])],
    }
    if target is not None:
        state, line = verdict_line(run_verdicts)
        run_verdicts["run"] = {**run_context(config), "headline": line, "state": state.value}
        config.stash[HEADLINE] = (state, line)
    path = config.getoption("verdicts_json")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(run_verdicts, handle, indent=1)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    kinds = config.stash.get(RUN_REQUESTS, {})
    if requests_sent(kinds):
        terminalreporter.write_line(
            f"requests: {requests_sent(kinds)} (unpause {kinds['unpause']}, pause {kinds['pause']}, "
            f"read {kinds['read']}, other {kinds['other']})"
            + (
                f"; of them, {kinds[SIDE_EFFECT]} for the side-effect checks (BEH-REFUSAL-INERT)"
                if kinds.get(SIDE_EFFECT)
                else ""
            )
            + (
                f"; {kinds[RETRIED]} sent again after a 429 or 503 with Retry-After (the target said 'not now')"
                if kinds.get(RETRIED)
                else ""
            )
        )
    errors = [o for o in config.stash.get(OUTCOMES, []) if o["outcome"] == SUITE_ERROR]
    if errors:
        terminalreporter.section(
            f"SUITE ERRORS: raised inside the suite, not verdicts on the target (exit {EXIT_SUITE_ERROR})",
            red=True,
        )
        for outcome in errors:
            terminalreporter.write_line(f"{outcome['test']} ({outcome['when']}): {outcome.get('error', '')}")
    run_coverage = config.stash.get(RUN_COVERAGE, None)
    if run_coverage and run_coverage["bodies"]:
        terminalreporter.write_line(coverage.summary_line(run_coverage))
        gaps = coverage.gap_lines(run_coverage)
        if gaps:
            terminalreporter.section(
                "Documented branches never exercised (their rules were not judged on them)"
            )
            for line in gaps:
                terminalreporter.write_line(line)
    run_drift, target = config.stash.get(RUN_DRIFT, None), config.stash.get(TARGET, None)
    if run_drift is not None and target is not None and target.compare_base_url:
        compare = shown_url(target.compare_base_url)
        terminalreporter.write_line(drift_page.summary(run_drift, compare))
        drifted = drift_page.lines(run_drift)
        if drifted:
            terminalreporter.section(
                f"Drift between the target and {compare} (answers that differ)", yellow=True
            )
            for line in drifted[:50]:
                terminalreporter.write_line(line)
            if len(drifted) > 50:
                terminalreporter.write_line(f"… {len(drifted) - 50} more in reports/drift.md")
    notes = config.stash.get(NOTES, [])
    each_restore = (
        target is None
        or not target.embedded
        or config.get_verbosity() > 0
        or any(note["kind"] == NoteKind.RESTORE_FAILED for note in notes)
    )
    for heading, lines in note_sections(notes, each_restore):
        terminalreporter.section(heading, yellow=heading.startswith("Ad groups not"), red="FAILED" in heading)
        for line in lines:
            terminalreporter.write_line(line)
    findings = config.stash.get(FINDINGS, [])
    if not findings:
        return
    terminalreporter.section("advisory findings (SHOULD rules; --strict makes them fail)")
    for finding in findings[:50]:
        terminalreporter.write_line(f"{finding['rule']} [{finding['version']}] {finding['message']}")
    if len(findings) > 50:
        terminalreporter.write_line(f"… {len(findings) - 50} more")
