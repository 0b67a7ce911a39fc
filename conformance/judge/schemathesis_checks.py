"""schemathesis as the property-based tests use it: the operation built from the contract, each
exchange handed to its checks as it was sent and received, the catalogue's body rules as a check
of its own, and its failures named by the catalogue rules they witness."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus

import schemathesis
from requests import PreparedRequest
from requests.structures import CaseInsensitiveDict
from schemathesis.core.failures import AcceptedNegativeData, CustomFailure, FailureGroup, ServerError
from schemathesis.openapi.checks import IgnoredAuth, JsonSchemaError
from schemathesis.specs.openapi import checks as openapi_checks

from conformance.contract import invariants, openapi, rules, schemas
from conformance.judge.checks import violation

# schemathesis's checks that judge the cases this test generates (its fuzzing phase); the other
# two, missing_required_header and unsupported_method, judge only the coverage phase's cases (here a
# missing Api-Version-Date is VER-DEFAULT, and other methods are ERR-METHOD's example tests).
# ignored_auth is not among them: it re-sends through its own requests session, past the suite's
# limits (size, deadline, budget, redaction), so the test makes the same probe with the suite's client.
# content_type_conformance is not either: it accepts only the media types the document lists, and
# ERR-JSON accepts every JSON one (application/problem+json too), so the test judges every response
# with the same json_violations as the example tests.
BUILT_IN_CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


class RuleBroken(AssertionError):
    """The catalogue's body rules, broken, as the custom check raises them: schemathesis keeps
    the exception (CustomFailure.exception), so the verdict is read from it, not from its text."""

    def __init__(self, violations: list[rules.Violation]):
        super().__init__("; ".join(map(str, violations)))
        self.violations = violations


@cache
def operation(version: str, ids: tuple[str, ...], extra_inputs: bool):
    schema = schemathesis.openapi.from_dict(openapi.build(version, list(ids), extra_inputs))
    return schema["/ad_groups/{id}/unpause"]["POST"]


def as_response(exchange) -> schemathesis.Response:
    """The exchange as schemathesis's checks take it, built directly: going through httpx.Response
    and requests' prepare() re-parses what was already parsed (~0.3 ms a case)."""
    request = PreparedRequest()
    request.method = exchange.method
    request.url = exchange.url
    request.headers = CaseInsensitiveDict(exchange.request_headers)
    request.body = exchange.request_body or None
    headers: dict[str, list[str]] = {}
    for name, value in exchange.response_headers:
        headers.setdefault(name.lower(), []).append(value)  # repeated headers stay repeated
    response = schemathesis.Response(
        status_code=exchange.status,
        headers=headers,
        content=exchange.response_body,
        request=request,
        elapsed=exchange.elapsed,
        verify=True,
        message=REASONS.get(exchange.status, ""),
    )
    # the suite's strict parse (no NaN, bounded depth, any number of digits), so that no check
    # re-parses the body its own, laxer way; only bodies that parsed reach the checks
    response._deserialized = exchange.json()
    return response


REASONS = {status.value: status.phrase for status in HTTPStatus}


def wire_value(value: object) -> str | bytes:
    """A header value as the wire carries it: HTTP strips the outer whitespace of field values, and
    a non-ASCII value (a negative case's token, say) travels as its UTF-8 bytes (obs-text)."""
    text = str(value).strip()
    return text if text.isascii() else text.encode("utf-8")


def catalogue_rules_check(version: str, tolerance: invariants.Tolerance):
    """The catalogue's body rules (beyond the schema) as a schemathesis check."""

    @schemathesis.check
    def catalogue_body_rules(ctx, response, case):
        if response.status_code != 200:
            return None
        body = response.json()  # the suite's parse (as_response)
        found = rules.version_leak_violations(schemas.versions()[version], body)
        found += rules.invariant_violations(schemas.versions()[version], body, tolerance)
        if found:  # SHOULD ones too: the test's judge records them, or fails on them under --strict
            raise RuleBroken(found)
        return True

    return catalogue_body_rules


# schemathesis failure classes -> the catalogue rule they witness
RULE_OF_FAILURE = {
    AcceptedNegativeData: "VER-UNKNOWN-400",
    IgnoredAuth: "AUTH-401",
    ServerError: "ERR-NO-5XX",
}


def catalogue_violations(failure: AssertionError | FailureGroup, exchange, version: str):
    """Name the catalogue rules a schemathesis failure witnesses (precisely, for 200 bodies)."""
    found = []
    for error in getattr(failure, "exceptions", None) or [failure]:
        kind = type(error).__name__
        message = str(error).strip().splitlines()[0] if str(error).strip() else kind
        broken = error.exception if isinstance(error, CustomFailure) else error
        if isinstance(broken, RuleBroken):
            found += broken.violations
        elif isinstance(error, JsonSchemaError) and exchange.status == 200:
            found += rules.schema_violations(schemas.versions()[version], exchange.json())
        elif isinstance(error, JsonSchemaError):
            found.append(violation("SCHEMA-TYPE", f"{kind}: {message}"))
        elif type(error) in RULE_OF_FAILURE:
            found.append(violation(RULE_OF_FAILURE[type(error)], f"{kind}: {message}"))
        else:
            status = exchange.status or 0
            rule_id = (
                "ERR-NO-5XX"
                if status >= 500
                else {403: "AUTH-401", 405: "ERR-METHOD"}.get(status, "VER-SHAPE")
            )
            found.append(violation(rule_id, f"{kind}: {message}"))
    return found or [violation("VER-SHAPE", str(failure))]
