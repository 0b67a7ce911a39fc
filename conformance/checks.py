"""Assertion helpers, one per response envelope (web-platform-tests style).

Every failure message starts with the rule id, names the version, shows the request as curl
(token redacted) and the offending part of the response. SHOULD rules do not fail: they are
recorded as advisory findings (they fail only with --strict).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

import pytest

from conformance import rules, schemas
from conformance.http import Exchange, Redactor


class RuleFailure(AssertionError):
    """A MUST rule (or, under --strict, a SHOULD rule) is broken."""

    def __init__(
        self, violations: list[rules.Violation], exchange: Exchange | None, redact: Redactor, context: str
    ):
        self.violations = violations
        self.exchange = exchange  # the exchange the verdict is on: the report attaches it first
        ids = sorted({v.rule for v in violations})
        lines = [f"{', '.join(ids)}: {context}"]
        catalogue = rules.catalogue()
        for rule_id in ids:
            rule = catalogue[rule_id]
            lines.append(f"  [{rule.level}] {rule.id}: {rule.text}")
            lines.append(f'    docs: "{rule.quote}" ({rule.source})')
        lines += [f"  - {redact(str(v))}" for v in violations[:25]]
        if len(violations) > 25:
            lines.append(f"  … and {len(violations) - 25} more")
        if exchange is not None:
            lines.append(f"  request: {exchange.curl(redact)}")
            lines.append(f"  response: {_summary(exchange, redact)}")
        super().__init__("\n".join(lines))


def _summary(exchange: Exchange, redact: Redactor, limit: int = 600) -> str:
    body = exchange.response_body[:limit].decode("utf-8", "replace")
    more = " …" if len(exchange.response_body) > limit else ""
    return redact(f"HTTP {exchange.status} {exchange.content_type or '(no content type)'} {body}{more}")


@dataclass
class Finding:
    rule: str
    version: str
    message: str
    curl: str


class Verdicts:
    """Collects SHOULD findings for the terminal summary and the reports."""

    def __init__(self, strict: bool, redact: Redactor):
        self.strict = strict
        self.redact = redact
        self.findings: list[Finding] = []
        self.notes: list[dict[str, str]] = []  # census, not exercised, restored: one each
        self.lock = threading.Lock()
        self.local = threading.local()

    def take_shown(self) -> Exchange | None:
        """The exchange the last verdict on this thread showed (and forget it)."""
        shown, self.local.shown = getattr(self.local, "shown", None), None
        return shown

    def note(self, kind: str, group_id: str, text: str) -> None:
        """A fact of the run that is no verdict (a group not exercised, a restore): the first of each
        kind per group (a group not exercised says why once, not once per test)."""
        entry = {"kind": kind, "group": group_id, "text": self.redact(text)}
        with self.lock:
            if not any((n["kind"], n["group"]) == (kind, group_id) for n in self.notes):
                self.notes.append(entry)

    def judge(
        self, violations: Iterable[rules.Violation], exchange: Exchange | None, context: str, version: str
    ):
        """Fail on MUST violations; record SHOULD ones (and fail on them too under --strict)."""
        violations = list(violations)
        self.local.shown = exchange  # the report attaches it, though an earlier test may have sent it
        catalogue = rules.catalogue()
        blocking = [v for v in violations if catalogue[v.rule].blocking or self.strict]
        advisory = [v for v in violations if v not in blocking]
        if advisory:
            curl = exchange.curl(self.redact) if exchange else ""
            with self.lock:
                self.findings += [Finding(v.rule, version, self.redact(v.message), curl) for v in advisory]
        if blocking:
            raise RuleFailure(blocking, exchange, self.redact, context)
        if advisory:
            ids = ", ".join(sorted({v.rule for v in advisory}))
            pytest.xfail(self.redact(f"SHOULD {ids} (advisory finding): {advisory[0].message}"))

    def exercised(self, attempts: list, what: str) -> list:
        """The attempts that reached the state a check needs; the others are noted once as not
        exercised (neither passed nor failed), and when none is left the test is skipped, saying why."""
        usable = [a for a in attempts if a.not_exercised is None]
        for attempt in attempts:
            if attempt.not_exercised is not None:
                self.note("not-exercised", attempt.group_id, f"{attempt.group_id}: {attempt.not_exercised}")
        if attempts and not usable:
            pytest.skip(
                f"not exercised: no ad group could be brought to {what} ({attempts[0].not_exercised})"
            )
        return usable


def violation(rule_id: str, message: str) -> rules.Violation:
    assert rule_id in rules.catalogue(), f"unknown rule {rule_id}"
    return rules.Violation(rule_id, message)


# json_violations() judges these on every exchange of every test, whatever rule the test names
JUDGED_ON_EVERY_RESPONSE = ("ERR-JSON", "ERR-JSON-UNIQUE", "ERR-NO-5XX")


def json_violations(exchange: Exchange) -> list[rules.Violation]:
    """ERR-JSON, ERR-JSON-UNIQUE and ERR-NO-5XX for any response."""
    found = []
    if exchange.status is not None and exchange.status >= 500:
        found.append(violation("ERR-NO-5XX", f"answered {exchange.status}"))
    media_type = exchange.content_type.split(";")[0].strip().lower()
    if not (media_type == "application/json" or media_type.endswith("+json")):
        found.append(violation("ERR-JSON", f"content type {exchange.content_type or '(none)'!r} is not JSON"))
    try:
        exchange.json()
    except (ValueError, UnicodeDecodeError) as error:
        found.append(violation("ERR-JSON", f"body is not valid JSON: {error}"))
    duplicated = exchange.duplicate_names()
    if duplicated:
        found.append(
            violation(
                "ERR-JSON-UNIQUE",
                f"an object carries {', '.join(map(repr, duplicated[:5]))} more than once: which one a "
                "client reads depends on its parser",
            )
        )
    return found


def error_violations(exchange: Exchange, rule_id: str, expected: Iterable[int]) -> list[rules.Violation]:
    """Status in ``expected`` (under ``rule_id``), a JSON body, and the error envelope."""
    expected = tuple(expected)
    found = json_violations(exchange)
    if exchange.status not in expected:
        found.append(
            violation(rule_id, f"answered {exchange.status}, expected {' or '.join(map(str, expected))}")
        )
    if exchange.status is not None and 400 <= exchange.status < 500:
        try:
            body = exchange.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        found += [violation("ERR-ENVELOPE", e) for e in schemas.error_envelope_errors(body)]
    return found


def success_violations(
    exchange: Exchange,
    version: schemas.Version,
    tolerance: rules.Tolerance,
    *,
    status_rule: str,
    rule_ids: Iterable[str] | None = None,
) -> list[rules.Violation]:
    """A 200 (else ``status_rule`` breaks) with a JSON body; then the body rules of ``version``
    (all of them, or only ``rule_ids``)."""
    found = json_violations(exchange)
    if exchange.status != 200:
        found.append(violation(status_rule, f"unpause answered {exchange.status}, not 200"))
        return found
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        return found
    return found + rules.body_violations(
        version, body, tolerance, None if rule_ids is None else set(rule_ids)
    )


def body_of(exchange: Exchange) -> dict | None:
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _comparable(concept: str, value):
    """Normalise a shared value: instants for timestamps, numbers as floats."""
    if concept == "created_at":
        return rules._instant(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return round(float(value), 6)
    return value


def disagreements(
    first: schemas.Version,
    first_body: dict,
    other: schemas.Version,
    other_body: dict,
    concepts: Iterable[str],
) -> list[rules.Violation]:
    """XVER-CONSISTENT between two bodies of one ad group in two versions, on the shared concepts
    given; a status only one of the two enums has cannot be compared."""
    statuses = set(first.schema["properties"]["status"]["enum"]) & set(
        other.schema["properties"]["status"]["enum"]
    )
    found = []
    for concept in concepts:
        a, b = first.shared(first_body, concept), other.shared(other_body, concept)
        if concept == "status" and not {a, b} <= statuses:
            continue
        if _comparable(concept, a) != _comparable(concept, b):
            found.append(
                violation("XVER-CONSISTENT", f"{concept}: {first.name} says {a!r}, {other.name} says {b!r}")
            )
    return found
