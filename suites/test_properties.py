"""Property-based: schemathesis generates unpause requests from the per-version OpenAPI built
from the schemas; each is sent with the suite's client and judged by schemathesis's built-in
checks plus the catalogue's body rules (a custom check)."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import assume
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from conformance.contract import schemas
from conformance.contract.endpoints import VERSION_HEADER, unpause_path
from conformance.judge.checks import json_violations, still_echoed, violation, with_other_credentials
from conformance.judge.schemathesis_checks import (
    BUILT_IN_CHECKS,
    as_response,
    catalogue_rules_check,
    catalogue_violations,
    operation,
    wire_value,
)


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
        content = kwargs.get("data") or b""
        try:
            exchange = api.request(case.method, path, headers=headers, content=content)
        except httpx.LocalProtocolError:
            assume(False)  # not a request HTTP can carry (e.g. a control character in a header)
        context = f"generated {mode.value} request, {version}"
        found = json_violations(exchange)
        if any(v.rule == "EXP-NO-CREDENTIALS" for v in found):
            # a generated credential may read as the server's own words ("unauthorized"): the echo
            # stands only if the same request with other credentials is answered without them
            other = api.request(
                case.method, path, headers=with_other_credentials(headers, exchange), content=content
            )
            found = [v for v in found if v.rule != "EXP-NO-CREDENTIALS"] + still_echoed(exchange, other)
        try:
            exchange.json()
        except ValueError:  # no JSON to give schemathesis: the body's verdict is ERR-JSON's
            verdicts.judge(found, exchange, context, version)
            return
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
            probe = api.request(case.method, path, headers=without, content=content)
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
