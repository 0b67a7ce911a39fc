"""What a failure is and shows: a rule verdict (RuleFailure, AdvisoryFinding), a target error,
or an error raised by the suite itself, which is never reported as the target's failure; and the
redaction every report passes through before anyone reads it."""

from __future__ import annotations

import pytest

from conformance.client.http import TargetError, TargetStopped
from conformance.client.redaction import Redactor
from conformance.judge.checks import AdvisoryFinding, RuleFailure, verdict_of
from conformance.report.verdict import State


def redact_report(
    item: pytest.Item,
    report: pytest.TestReport,
    call: pytest.CallInfo,
    redact: Redactor,
    curl: bool = True,
    rerun: str = "",
) -> None:
    """The last line of defence: no secret in tracebacks, falsifying examples or captured output.
    A verdict shows without the traceback, its curl line where ``curl`` (a target that outlives
    the run), and ends with ``rerun``, the command that reproduces it.

    Runs innermost (trylast), so allure-pytest and junitxml read the redacted texts."""
    error = call.excinfo.value if call.excinfo is not None else None
    verdict = verdict_text(error, curl) if error is not None else None
    if verdict is not None:
        if rerun:
            verdict += f"\n\nrerun: {rerun}"
        report.longrepr = redact(verdict)  # the verdict alone: the traceback is the suite's, not news
    elif error is not None and report.failed and "api" in getattr(item, "fixturenames", ()):
        report.longrepr = (
            "SUITE ERROR: raised inside the conformance suite, not a verdict on the target "
            f"(exit {EXIT_SUITE_ERROR}); please report it with the traceback below\n\n{report.longrepr}"
        )
    if isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:  # a skip: (path, line, reason)
        path, line, reason = report.longrepr
        report.longrepr = (path, line, redact(reason))  # still a tuple: junitxml and xdist read it so
    elif report.longrepr is not None:
        text = str(report.longrepr)
        if redact(text) != text:
            report.longrepr = redact(text)
    report.sections = [(name, redact(content)) for name, content in report.sections]
    if hasattr(report, "wasxfail"):
        report.wasxfail = redact(report.wasxfail)
    for leaf in leaves(error) if error is not None else []:
        if isinstance(leaf, RuleFailure):  # what allure-pytest shows is the exception's own text
            leaf.args = (redact(leaf.describe(curl) + (f"\n\nrerun: {rerun}" if rerun else "")),)
    if error is not None and any(isinstance(arg, str) and redact(arg) != arg for arg in error.args):
        error.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in error.args)


def rule_ids_of(item: pytest.Item) -> list[str]:
    """The rules a test declares (its rule markers), and the one it is parametrized by."""
    ids = [rule for marker in item.iter_markers("rule") for rule in marker.args]
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "rule_id" in callspec.params:
        ids.append(callspec.params["rule_id"])
    return ids


def version_of(item: pytest.Item) -> str | None:
    """The version a test judges (its 'version' parameter); None for a test of every version."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("version") if callspec is not None else None


def leaves(error: BaseException) -> list[BaseException]:
    """The exceptions inside an exception group (hypothesis reports several failures, or a flaky
    one, as a group), flattened; a plain exception is its own leaf."""
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in leaves(inner)]
    return [error]


# a test's outcome when the suite itself raised (no verdict on the target); a plain str: outcomes
# cross to the xdist controller, whose serializer knows no enum
SUITE_ERROR = State.SUITE_ERROR.value
TARGET_ERROR = State.TARGET_ERROR.value  # the target gave no usable answer: no rule was judged
# exit statuses of a run that is no verdict (pytest's own: 0 passed, 1 failed, 2 interrupted,
# 3 internal error, 4 usage error, 5 no tests)
EXIT_SUITE_ERROR = 3  # a test ended in an exception raised by the suite, not a rule or the target
EXIT_NOT_RESTORED = 6  # an ad group's status before the run is unknown, or its restore failed


def unwrapped(error: BaseException) -> list[BaseException]:
    """The leaves of ``error`` (``leaves``), each target stop as the target error it carries."""
    return [leaf.error if isinstance(leaf, TargetStopped) else leaf for leaf in leaves(error)]


def verdicts_in(error: BaseException) -> list[RuleFailure | AdvisoryFinding]:
    """The rule verdicts an exception carries (inside whatever groups hypothesis wraps them in)."""
    return [verdict for leaf in leaves(error) if (verdict := verdict_of(leaf)) is not None]


def raised_by_suite(error: BaseException) -> bool:
    """Neither a rule verdict nor a target error (inside whatever groups hypothesis wraps them in)."""
    found = unwrapped(error)
    return not found or not all(isinstance(leaf, (RuleFailure, TargetError)) for leaf in found)


def stopped_by_target(error: BaseException) -> bool:
    """Only target errors, no rule verdict (inside whatever groups hypothesis wraps them in)."""
    found = unwrapped(error)
    return bool(found) and all(isinstance(leaf, TargetError) for leaf in found)


def error_line(error: BaseException) -> str:
    """The first line of each exception the suite raised, or of each target error (a test the target
    stopped names no rule: this line says why); none for a rule verdict."""
    found = unwrapped(error)
    shown = found if raised_by_suite(error) else [leaf for leaf in found if isinstance(leaf, TargetError)]
    return "; ".join(
        dict.fromkeys(
            f"{type(leaf).__name__}: {str(leaf).strip().splitlines()[0] if str(leaf).strip() else ''}"
            for leaf in shown
        )
    )


def verdict_text(error: BaseException, curl: bool = True) -> str | None:
    """What a failure shows: each rule verdict (rule, level, quote, violations, curl, response, and
    hypothesis's falsifying example where there is one), and a target error as one line. None for
    anything else: an error in the suite itself keeps its traceback."""
    if raised_by_suite(error):
        return None
    found = unwrapped(error)
    targets = [leaf for leaf in found if isinstance(leaf, TargetError)]
    if targets and len(targets) == len(found):
        return f"TargetError: {targets[0]}"
    parts = []
    for leaf in dict.fromkeys(found):
        if isinstance(leaf, TargetError):
            parts.append(f"TargetError: {leaf}")
            continue
        # hypothesis's example and the engines' own note (engines.Memory.settle), not its hints
        notes = [
            note for note in getattr(leaf, "__notes__", []) if note.startswith(("Falsifying", "Not shrunk"))
        ]
        text = leaf.describe(curl) if isinstance(leaf, RuleFailure) else str(leaf)
        parts.append("\n".join([text, *notes]))
    return "\n\n".join(parts)
