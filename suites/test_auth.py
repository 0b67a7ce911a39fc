"""Bearer auth: anything but a valid 'Bearer <token>' gets 401 with the envelope, never 2xx."""

from __future__ import annotations

import pytest

from conformance.checks import error_violations, violation
from conformance.endpoints import unpause_path, version_header


def bad_credentials(token: str) -> dict[str, dict[str, str]]:
    return {
        "missing": {},
        "empty": {"Authorization": ""},  # 'Bearer ' is the same on the wire: HTTP strips trailing spaces
        "bearer-without-token": {"Authorization": "Bearer"},
        "token-without-scheme": {"Authorization": token},
        "basic-scheme": {"Authorization": f"Basic {token}"},
        "token-scheme": {"Authorization": f"Token {token}"},
        "invalid-token": {"Authorization": "Bearer not-the-token-0000"},
        "token-with-suffix": {"Authorization": f"Bearer {token}x"},
        "token-prefix": {"Authorization": f"Bearer {token[:-1]}"},
    }


CASES = list(bad_credentials("T"))


@pytest.mark.rule("AUTH-401", "ERR-ENVELOPE", "AUTH-CHALLENGE")
@pytest.mark.parametrize("case", CASES)
def test_bad_credentials_get_401(api, target, verdicts, version, case):
    headers = {**bad_credentials(target.token)[case], **version_header(version)}
    exchange = api.post(unpause_path(target.ad_group_ids[0]), headers=headers)
    found = error_violations(exchange, "AUTH-401", [401])
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
