"""Unknown and malformed ids, other methods, request bodies, query strings, Idempotency-Key: 4xx with
the envelope or (where the input may be ignored) the normal answer, never 5xx."""

from __future__ import annotations

import pytest

from conformance.adgroups import refusals, state
from conformance.contract.endpoints import unpause_path, version_header
from conformance.judge.checks import error_violations, json_violations, violation


@pytest.mark.rule("ERR-NOT-FOUND", "ERR-ENVELOPE")
def test_unknown_id_gets_404(api, verdicts, version):
    exchange = api.post(
        unpause_path("adgrp_doesnotexist000"), headers={**api.auth, **version_header(version)}
    )
    verdicts.judge(
        error_violations(exchange, "ERR-NOT-FOUND", [404]), exchange, "unknown ad group id", version
    )


@pytest.mark.rule("ERR-NOT-FOUND")
@pytest.mark.parametrize("case", list(refusals.MALFORMED_IDS))
def test_malformed_id_gets_4xx(api, verdicts, version, case):
    exchange = api.post(refusals.MALFORMED_IDS[case], headers={**api.auth, **version_header(version)})
    verdicts.judge(
        error_violations(exchange, "ERR-NOT-FOUND", range(400, 500)),
        exchange,
        f"malformed id: {case}",
        version,
    )


@pytest.mark.rule("ERR-METHOD", "ERR-ALLOW")
@pytest.mark.parametrize("method", refusals.OTHER_METHODS)
def test_other_methods_get_405(api, target, verdicts, method):
    exchange = api.request(method, unpause_path(target.ad_group_ids[0]), headers=api.auth)
    found = error_violations(exchange, "ERR-METHOD", [404, 405])
    allowed = {m.strip().upper() for m in (exchange.header("allow") or "").split(",")}
    if exchange.status != 405:
        verdicts.not_judged("ERR-ALLOW")  # a 404 (no such route) has no Allow to judge
    elif "POST" not in allowed:
        found.append(
            violation("ERR-ALLOW", f"a 405 whose Allow ({exchange.header('allow')!r}) does not list POST")
        )
    verdicts.judge(found, exchange, f"{method} on unpause", "all")


def ignored_or_refused(exchange, rule_id: str, what: str):
    """The normal answer of an unpause (200, or a refusal of the group's state), or a 4xx with the
    envelope: both readings of an input the docs do not define (see the rule)."""
    if exchange.status is not None and 400 <= exchange.status < 500 and not state.refused(exchange):
        return error_violations(exchange, rule_id, range(400, 500))
    found = json_violations(exchange)
    if exchange.status != 200 and not state.refused(exchange):
        found.append(violation(rule_id, f"{what} got {exchange.status}: ignore it or refuse it with a 4xx"))
    elif state.refused(exchange):
        found += state.conflict_violations(exchange)
    return found


@pytest.mark.rule("ERR-METHOD", "ERR-ENVELOPE")
@pytest.mark.parametrize("case", list(refusals.BODIES))
def test_request_body_is_ignored_or_rejected(api, target, verdicts, version, case):
    content, content_type = refusals.BODIES[case]
    headers = {**api.auth, **version_header(version), "Content-Type": content_type}
    exchange = api.post(unpause_path(target.ad_group_ids[0]), headers=headers, content=content)
    verdicts.judge(
        ignored_or_refused(exchange, "ERR-METHOD", "a request body"),
        exchange,
        f"request body: {case}",
        version,
    )


@pytest.mark.rule("ERR-EXTRA-INPUT", "ERR-ENVELOPE")
@pytest.mark.parametrize("case", list(refusals.QUERIES))
def test_query_string_is_ignored_or_refused(api, target, verdicts, version, case):
    query = refusals.QUERIES[case]
    exchange = api.post(
        unpause_path(target.ad_group_ids[0]) + query, headers={**api.auth, **version_header(version)}
    )
    verdicts.judge(
        ignored_or_refused(exchange, "ERR-EXTRA-INPUT", f"query {query!r}"),
        exchange,
        f"query: {case}",
        version,
    )


@pytest.mark.rule("ERR-EXTRA-INPUT", "ERR-ENVELOPE")
@pytest.mark.parametrize("case", refusals.IDEMPOTENCY_KEY_CASES)
def test_idempotency_key_is_ignored_or_refused(api, target, verdicts, version, case):
    headers = {**api.auth, **version_header(version), "Idempotency-Key": refusals.idempotency_keys()[case]}
    exchange = api.post(unpause_path(target.ad_group_ids[0]), headers=headers)
    verdicts.judge(
        ignored_or_refused(exchange, "ERR-EXTRA-INPUT", "an Idempotency-Key"),
        exchange,
        f"Idempotency-Key: {case}",
        version,
    )
