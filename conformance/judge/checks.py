"""Assertion helpers, one per response envelope (web-platform-tests style).

Every failure message starts with the rule id, names the version, shows the request as curl
(token redacted) and the offending part of the response. SHOULD rules do not fail: they are
recorded as advisory findings (they fail only with --strict).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import json
import re
import secrets
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from conformance.client.http import Exchange
from conformance.client.redaction import Redactor
from conformance.contract import invariants, rules, schemas
from conformance.judge.notes import NoteKind


class RuleFailure(AssertionError):
    """A MUST rule (or, under --strict, a SHOULD rule) is broken."""

    def __init__(
        self, violations: list[rules.Violation], exchange: Exchange | None, redact: Redactor, context: str
    ):
        self.violations = violations
        self.exchange = exchange  # the exchange the verdict is on: the report attaches it first
        self.redact = redact
        self.context = context
        super().__init__(self.describe())

    def describe(self, curl: bool = True) -> str:
        """The verdict as a report shows it: each rule with its quote, the first violations, the
        request (a curl line, or only its method and path where ``curl`` is False: the embedded
        mock's port is gone once the run ends) and the response, pretty-printed and cut short."""
        redact, exchange = self.redact, self.exchange
        ids = sorted({v.rule for v in self.violations})
        lines = [f"{', '.join(ids)}: {self.context}"]
        catalogue = rules.catalogue()
        for rule_id in ids:
            rule = catalogue[rule_id]
            lines.append(f"  [{rule.level}] {rule.id}: {rule.text}")
            lines.append(f'    docs: "{rule.quote}" ({rule.source})')
        lines += [f"  - {redact(str(v))}" for v in self.violations[:SHOWN_VIOLATIONS]]
        if len(self.violations) > SHOWN_VIOLATIONS:
            lines.append(
                f"  … and {len(self.violations) - SHOWN_VIOLATIONS} more violations (every one in the "
                "test's 'violations' attachment)"
            )
        if exchange is not None:
            if curl:
                lines.append(f"  request: {exchange.curl(redact)}")
            else:
                lines.append(f"  request: {exchange.method} {redact(urlsplit(exchange.url).path)}")
            lines.append(f"  response: {_summary(exchange, redact)}")
        return "\n".join(lines)


SHOWN_VIOLATIONS = 5  # a failure's text shows this many violations and counts the rest


class AdvisoryFinding(pytest.xfail.Exception):
    """SHOULD rules broken (and not --strict): the test is reported as xfailed, an advisory finding.
    A value like RuleFailure: the report reads its rules and exchange, never the xfail text."""

    def __init__(self, violations: list[rules.Violation], exchange: Exchange | None, redact: Redactor):
        ids = ", ".join(sorted({v.rule for v in violations}))
        super().__init__(redact(f"SHOULD {ids} (advisory finding): {violations[0].message}"))
        self.violations = violations
        self.exchange = exchange


def verdict_of(error: BaseException) -> RuleFailure | AdvisoryFinding | None:
    """The verdict an exception is, if it is one."""
    return error if isinstance(error, (RuleFailure, AdvisoryFinding)) else None


def _summary(exchange: Exchange, redact: Redactor, lines: int = 20, width: int = 160) -> str:
    """The response's status line, then its body: JSON pretty-printed, at most ``lines`` lines of
    at most ``width`` characters, with what was cut said."""
    head = f"HTTP {exchange.status} {exchange.content_type or '(no content type)'}"
    try:
        text = json.dumps(exchange.json(), indent=2, ensure_ascii=False)
    except ValueError:
        text = exchange.response_body[:4000].decode("utf-8", "replace")
    body = text.splitlines() or [""]
    shown = [line if len(line) <= width else line[: width - 1] + "…" for line in body[:lines]]
    if len(body) > lines:
        shown.append(f"… {len(body) - lines} more lines ({len(exchange.response_body)} bytes in all)")
    return redact("\n".join([head, *("    " + line for line in shown)]))


@dataclass
class Finding:
    rule: str
    version: str
    message: str
    curl: str
    violation: rules.Violation | None = field(default=None, repr=False)  # not in the files

    def record(self) -> dict[str, str]:
        """As the reports and verdicts.json carry it (and xdist sends it to the controller)."""
        return {"rule": self.rule, "version": self.version, "message": self.message, "curl": self.curl}


class Verdicts:
    """Collects SHOULD findings for the terminal summary and the reports."""

    def __init__(self, strict: bool, redact: Redactor):
        self.strict = strict
        self.redact = redact
        self.findings: list[Finding] = []
        self.notes: list[dict[str, str]] = []  # census, not exercised, restored: one each
        self.lock = threading.Lock()
        self.cases_of_one_test = False  # set by deferring(): advisory findings wait for the test's end
        self.deferred: list[rules.Violation] = []  # what this object deferred since deferring() began
        self.unjudged: dict[str, list[str]] = {}  # test -> rules it declares and had nothing to judge

    def not_judged(self, rule_id: str) -> None:
        """The running test declares ``rule_id`` and had nothing to judge it on this time (ERR-ALLOW
        without a 405): verdicts.json lists it under the test's "not_judged"."""
        with self.lock:
            self.unjudged.setdefault(CURRENT_TEST.get(), []).append(rule_id)

    def unjudged_by(self, test: str) -> list[str]:
        with self.lock:
            return self.unjudged.pop(test, [])

    def view(self) -> Verdicts:
        """The same findings, notes and lock, with a deferral of its own: for a test that runs
        beside the others (a property-based test run ahead), so that its deferring() neither holds
        back another test's findings nor ends with them."""
        twin = copy.copy(self)
        twin.cases_of_one_test, twin.deferred = False, []
        return twin

    def note(self, kind: NoteKind, group_id: str, text: str, **facts) -> None:
        """A fact of the run that is no verdict (a group not exercised, a restore): the first of each
        kind per group (a group not exercised says why once, not once per test)."""
        # plain values: notes cross to the xdist controller, whose serializer knows no enum
        entry = {"kind": NoteKind(kind).value, "group": group_id, "text": self.redact(text), **facts}
        entry["test"] = CURRENT_TEST.get()  # the test that made it ("": the session), from any thread
        with self.lock:
            if not any((n["kind"], n["group"]) == (kind, group_id) for n in self.notes):
                self.notes.append(entry)

    def judge(
        self,
        violations: Iterable[rules.Violation],
        exchange: Exchange | None,
        context: str,
        version: str,
    ):
        """Fail on MUST violations (RuleFailure); record SHOULD ones, and report them as an
        AdvisoryFinding (inside deferring(): at the test's end), or fail on them too under --strict."""
        violations = list(violations)
        catalogue = rules.catalogue()
        blocking = [v for v in violations if catalogue[v.rule].blocking or self.strict]
        advisory = [v for v in violations if v not in blocking]
        if advisory:
            curl = exchange.curl(self.redact) if exchange else ""
            with self.lock:
                self.findings += [Finding(v.rule, version, self.redact(v.message), curl, v) for v in advisory]
                if self.cases_of_one_test:
                    self.deferred += advisory
        if blocking:
            raise RuleFailure(blocking, exchange, self.redact, context)
        if advisory and not self.cases_of_one_test:
            raise AdvisoryFinding(advisory, exchange, self.redact)

    @contextlib.contextmanager
    def deferring(self):
        """Around a test of many cases (property-based, state machines): a SHOULD finding on one
        case is recorded and the cases go on; the test ends as an AdvisoryFinding of them all.
        A MUST failure (or any SHOULD one under --strict) still fails the case at once."""
        self.deferred, self.cases_of_one_test = [], True
        try:
            yield
        finally:
            self.cases_of_one_test = False
        found = list(self.deferred)
        if found:
            raise AdvisoryFinding(found, None, self.redact)

    def exercised(self, attempts: list, what: str) -> list:
        """The attempts that reached the state a check needs; the others are noted once as not
        exercised (neither passed nor failed), and when none is left the test is skipped, saying why."""
        usable = [a for a in attempts if a.not_exercised is None]
        for attempt in attempts:
            if attempt.not_exercised is not None:
                kind = NOT_EXERCISED_KIND.get(what, NoteKind.NOT_EXERCISED)
                self.note(kind, attempt.group_id, f"{attempt.group_id}: {attempt.not_exercised}")
        if attempts and not usable:
            pytest.skip(
                f"not exercised: no ad group could be brought to {what} ({attempts[0].not_exercised})"
            )
        return usable


def violation(rule_id: str, message: str) -> rules.Violation:
    if rule_id not in rules.catalogue():
        raise KeyError(f"unknown rule {rule_id}: not in schemas/rules.yaml")
    return rules.Violation(rule_id, message)


# the test being run (its node id), set at its start: what a test tells the plugin through
# Verdicts (a rule it had nothing to judge) is kept under it
CURRENT_TEST: contextvars.ContextVar[str] = contextvars.ContextVar("current_test", default="")

# json_violations() judges these on every exchange of every test, whatever rule the test names
JUDGED_ON_EVERY_RESPONSE = (
    "ERR-JSON",
    "ERR-JSON-UNIQUE",
    "ERR-NO-5XX",
    "EXP-NO-CREDENTIALS",
    "EXP-NO-STACK",
    "EXP-NO-PUBLIC-CACHE",
)

# how a stack trace or a source path reads in the languages servers are written in
STACK_TRACE = re.compile(
    r"Traceback \(most recent call last\)"  # Python
    r"|File \"[^\"]+\.py\", line \d+"
    r"|\bat [\w$.<>]+\([\w$]+\.(?:java|kt|scala):\d+\)"  # JVM
    r"|\bat .+\.(?:js|mjs|cjs|ts):\d+:\d+"  # Node
    r"|goroutine \d+ \[|\.go:\d+ \+0x"  # Go
    r"|\.rb:\d+:in `"  # Ruby
    r"|(?:in|at) /[\w./-]+\.php(?: on line |:)\d+"  # PHP
    r"|\b(?:/usr|/home|/var|/opt|/app|/srv|/src)/[\w.-]+/[\w./-]+\.(?:py|rb|js|ts|go|java|php|cs)\b"
    r"|[A-Z]:\\[\w\\ .-]+\.(?:cs|java|py)\b"
)
CREDENTIAL_SCHEMES = ("bearer", "basic", "token")


def sent_credentials(exchange: Exchange) -> list[str]:
    """The credentials the request carried (the Authorization value without its scheme, an API key
    header, an access_token in the query), at least 8 characters long: shorter ones match by chance."""
    found = []
    for name, value in exchange.request_headers:
        if name.lower() in ("authorization", "x-api-key"):
            parts = value.strip().split(None, 1)
            if len(parts) == 2 and parts[0].lower() in CREDENTIAL_SCHEMES:
                value = parts[1]
            found.append(value.strip())
    query = urlsplit(exchange.url).query
    found += [v for k, v in parse_qsl(query, keep_blank_values=True) if k == "access_token"]
    return [credential for credential in dict.fromkeys(found) if len(credential) >= 8]


def _wire(text: str) -> bytes:
    """Text as the wire carries it (httpx reads header values as latin-1)."""
    return text.encode("latin-1", "replace")


def _carried(exchange: Exchange) -> bytes:
    """What a response carries where a credential would show: its body and its header values."""
    return exchange.response_body + b"\n" + _wire(" ".join(value for _, value in exchange.response_headers))


def echoed_credentials(exchange: Exchange) -> list[str]:
    """The request's credentials its response carries (body or headers), but for those the request
    also sent as data, which an answer may name (a 404 its id): a generated request can carry the
    same string as its credential and its id (hypothesis reuses values)."""
    as_data = _wire(unquote(urlsplit(exchange.url).path)) + exchange.request_body
    carried = _carried(exchange)
    return [c for c in sent_credentials(exchange) if _wire(c) not in as_data and _wire(c) in carried]


def with_other_credentials(headers: dict[str, str | bytes], exchange: Exchange) -> dict[str, str | bytes]:
    """The headers a request was sent with (``exchange`` its record), each credential replaced by
    random characters of its length: a text the answer carries whatever was sent is the server's
    own words, not the credential echoed (a generated token that reads "unauthorized")."""
    replaced = dict(headers)
    for credential in sent_credentials(exchange):
        other = secrets.token_hex(len(credential))[: len(credential)]
        for name, value in replaced.items():
            if isinstance(value, bytes):  # a non-ASCII value, as the wire carries it
                replaced[name] = value.replace(_wire(credential), other.encode())
            else:
                replaced[name] = value.replace(credential, other)
    return replaced


def still_echoed(exchange: Exchange, other: Exchange) -> list[rules.Violation]:
    """EXP-NO-CREDENTIALS where ``exchange`` carries a credential ``other`` (the same request with
    other credentials, ``with_other_credentials``) does not: it came from the request."""
    carried = _carried(other)
    if any(_wire(credential) not in carried for credential in echoed_credentials(exchange)):
        return [violation("EXP-NO-CREDENTIALS", "the response carries the credentials the request sent")]
    return []


def exposure_violations(exchange: Exchange) -> list[rules.Violation]:
    """EXP-NO-CREDENTIALS, EXP-NO-STACK and EXP-NO-PUBLIC-CACHE for any response."""
    if exchange.status is None:
        return []
    found = []
    body = exchange.response_body
    echoed = echoed_credentials(exchange)
    if echoed:
        where = "body" if _wire(echoed[0]) in body else "headers"
        found.append(
            violation("EXP-NO-CREDENTIALS", f"the response's {where} carry the credentials the request sent")
        )
    if exchange.status >= 400:
        match = STACK_TRACE.search(body[:100_000].decode("utf-8", "replace"))
        if match:
            found.append(
                violation(
                    "EXP-NO-STACK",
                    f"an error answer carries a stack trace or source path: {match.group(0)[:80]!r}",
                )
            )
    if 200 <= exchange.status < 300:
        directives = [d.strip().lower() for d in (exchange.header("cache-control") or "").split(",")]
        if "public" in directives:
            found.append(
                violation(
                    "EXP-NO-PUBLIC-CACHE",
                    f"a {exchange.status} to an authenticated {exchange.method} is 'Cache-Control: "
                    f"{exchange.header('cache-control')}': a shared cache may store it and serve it to others",
                )
            )
    return found


def json_violations(exchange: Exchange) -> list[rules.Violation]:
    """ERR-JSON, ERR-JSON-UNIQUE and ERR-NO-5XX for any response, and what it may not expose."""
    found = exposure_violations(exchange)
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
    tolerance: invariants.Tolerance,
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
        return invariants.instant(value)
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


# what a test needed of a group -> the kind of note a group that could not give it gets
NOT_EXERCISED_KIND = {"a 200 unpause": NoteKind.NOT_EXERCISED, "paused": NoteKind.NOT_PAUSABLE}
