"""Property-based: schemathesis generates unpause requests from the per-version OpenAPI built
from the schemas; each is sent with the suite's client and judged by schemathesis's built-in
checks plus the catalogue's body rules (a custom check)."""

from __future__ import annotations

from functools import cache
from http import HTTPStatus

import httpx
import pytest
import schemathesis
from hypothesis import assume
from hypothesis import strategies as st
from requests import PreparedRequest
from requests.structures import CaseInsensitiveDict
from schemathesis import GenerationMode
from schemathesis.core.failures import AcceptedNegativeData, CustomFailure, FailureGroup, ServerError
from schemathesis.openapi.checks import IgnoredAuth, JsonSchemaError
from schemathesis.specs.openapi import checks as openapi_checks

from conformance.contract import invariants, openapi, rules, schemas
from conformance.contract.endpoints import VERSION_HEADER, unpause_path
from conformance.judge.checks import json_violations, violation

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


@pytest.mark.rule(
    "SCHEMA-REQUIRED", "SCHEMA-TYPE", "SCHEMA-ENUM", "VER-UNKNOWN-400", "AUTH-401", "ERR-NO-5XX"
)
@pytest.mark.parametrize(
    "mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["positive", "negative"]
)
def test_generated_requests_conform(api, target, verdicts, tolerance, version, mode, run_property):
    # negative cases negate the version header alone: negating an undocumented query or header
    # would make a request the docs accept, which the test would throw away
    unpause = operation(version, tuple(target.property_ids), mode is GenerationMode.POSITIVE)
    custom = catalogue_rules_check(version, tolerance)
    registered = set(schemas.versions())
    auth_probed: list[bool] = []  # like `st run`, one unauthenticated re-send per operation (any shard)

    # negative cases are about the version header: an id is valid whatever it is, so a negated id is
    # a case the docs accept and the test would throw away (a third of the negative draws)
    fixed = {"path_parameters": {"id": target.property_ids[0]}} if mode is GenerationMode.NEGATIVE else {}

    def generated_request_conforms(case, configured_id, with_token):
        sent_version = (case.headers or {}).get(VERSION_HEADER)
        if mode is GenerationMode.NEGATIVE:
            # the docs make these valid requests, whatever this version's document says: no header gets
            # the default shape (VER-DEFAULT), and another registered version gets its own shape
            assume(sent_version is not None and str(sent_version).strip() not in registered)
        if configured_id is not None:
            case.path_parameters["id"] = configured_id
        if with_token:
            case.headers["Authorization"] = f"Bearer {target.token}"
        kwargs = case.as_transport_kwargs(base_url=api.base_url)
        headers = {name: wire_value(value) for name, value in (kwargs.get("headers") or {}).items()}
        # the id as one percent-encoded segment, whatever schemathesis drew: its formatted_path
        # leaves '/', '?', '#' and dot segments as they are, and the request would leave the endpoint
        path = unpause_path(str(case.path_parameters["id"]))
        query = kwargs.get("params") or {}
        if query:  # generated parameters unpause does not take (ERR-EXTRA-INPUT: ignored or refused)
            path += "?" + str(httpx.QueryParams({str(k): str(v) for k, v in query.items()}))
        try:
            exchange = api.request(case.method, path, headers=headers, content=kwargs.get("data") or b"")
        except httpx.LocalProtocolError:
            assume(False)  # not a request HTTP can carry (e.g. a control character in a header)
        context = f"generated {mode.value} request, {version}"
        try:
            exchange.json()
        except ValueError:  # no JSON to give schemathesis: the body's verdict is ERR-JSON's
            verdicts.judge(json_violations(exchange), exchange, context, version)
            return
        found = json_violations(exchange)
        try:
            case.validate_response(
                as_response(exchange),
                checks=BUILT_IN_CHECKS,
                additional_checks=[custom],
                transport_kwargs={"base_url": api.base_url},
            )
        except (AssertionError, FailureGroup) as failure:
            found += catalogue_violations(failure, exchange, version)
        shown = exchange
        if with_token and exchange.status == 200 and not auth_probed:
            auth_probed.append(True)  # list.append is atomic: shards in threads probe once between them
            without = {name: value for name, value in headers.items() if name.lower() != "authorization"}
            probe = api.request(case.method, path, headers=without, content=kwargs.get("data") or b"")
            if probe.status != 401:
                found.append(
                    violation("AUTH-401", f"the same request without credentials answered {probe.status}")
                )
                shown = probe
        verdicts.judge(found, shown, context, version)

    run_property(
        generated_request_conforms,
        case=unpause.as_strategy(generation_mode=mode, **fixed),
        configured_id=st.none() | st.sampled_from(target.property_ids),  # half the cases: a real ad group
        with_token=st.integers(0, 9).map(bool),  # nine cases in ten carry the valid token
    )
