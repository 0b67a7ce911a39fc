"""Bearer auth: anything but a valid 'Bearer <token>' gets 401 with the envelope, never 2xx; the
token is compared exactly (every near-miss a careless comparison accepts is refused)."""

from __future__ import annotations

import pytest

from conformance.adgroups import refusals
from conformance.contract.endpoints import unpause_path, version_header
from conformance.judge.checks import error_violations, violation


@pytest.mark.rule("AUTH-401", "ERR-ENVELOPE", "AUTH-CHALLENGE", "AUTH-TRIMMED")
@pytest.mark.parametrize("case", refusals.CREDENTIAL_CASES)
def test_bad_credentials_get_401(api, target, verdicts, version, case):
    """Each near-miss of the configured token (refusals.credentials) is refused; one that is not a
    well-formed Bearer credential at all (RFC 6750 §3.1: invalid_request), or the token in a query
    string a target refuses on its own, may get 400 instead. The exact token with whitespace around
    it, accepted by a target that trims (a 2xx, or the 409/422 a valid token gets for a group that is
    not paused), is a SHOULD finding (AUTH-TRIMMED), never AUTH-401."""
    given = refusals.credentials(target.token)[case]
    if case == "token-other-case" and target.token.swapcase() == target.token:
        pytest.skip("not exercised: the configured token has no letters, so no other case of it")
    headers = {**given.headers, **version_header(version)}
    exchange = api.post(unpause_path(target.ad_group_ids[0]) + given.query, headers=headers)
    # accepted: a 2xx, or the state refusal a valid token gets (409/422: the group is not paused)
    if (
        given.trimmed
        and exchange.status is not None
        and (200 <= exchange.status < 300 or exchange.status in (409, 422))
    ):
        found = [violation("AUTH-TRIMMED", f"answered {exchange.status}: the token was trimmed and accepted")]
        verdicts.judge(found, exchange, f"credentials: {case}", version)
        return
    found = error_violations(exchange, "AUTH-401", [400, 401] if given.also_400 else [401])
    if exchange.status == 401 and not exchange.header("www-authenticate"):
        found.append(violation("AUTH-CHALLENGE", "a 401 without a WWW-Authenticate challenge"))
    verdicts.judge(found, exchange, f"credentials: {case}", version)


@pytest.mark.rule("AUTH-401", "ERR-ENVELOPE")
def test_bad_token_and_bad_version_get_400_or_401(api, target, verdicts):
    """Two faults at once: the docs give no order, so either rejection is right."""
    headers = {"Authorization": "Bearer not-the-token-0000", **version_header("1999-01-01")}
    exchange = api.post(unpause_path(target.ad_group_ids[0]), headers=headers)
    verdicts.judge(
        error_violations(exchange, "AUTH-401", [400, 401]),
        exchange,
        "bad token and unregistered version",
        "unregistered",
    )
