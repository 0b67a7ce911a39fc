"""Unknown and malformed ids, other methods, request bodies: 4xx with the envelope, never 5xx."""

from __future__ import annotations

import pytest

from conformance.checks import error_violations, json_violations, violation
from conformance.endpoints import unpause_path, version_header


@pytest.mark.rule("ERR-NOT-FOUND", "ERR-ENVELOPE")
def test_unknown_id_gets_404(api, verdicts, version):
    exchange = api.post(
        unpause_path("adgrp_doesnotexist000"), headers={**api.auth, **version_header(version)}
    )
    verdicts.judge(
        error_violations(exchange, "ERR-NOT-FOUND", [404]), exchange, "unknown ad group id", version
    )


MALFORMED_IDS = {
    "very-long": "/ad_groups/" + "a" * 5000 + "/unpause",
    "unicode": "/ad_groups/" + "adgrp_%C3%A9%E2%9C%93%F0%9F%98%80" + "/unpause",
    "encoded-slash": "/ad_groups/adgrp_a%2Fb/unpause",
    "empty-segment": "/ad_groups//unpause",
    "dot-dot": "/ad_groups/%2E%2E/unpause",
    "null-byte": "/ad_groups/adgrp_%00/unpause",
}


@pytest.mark.rule("ERR-NOT-FOUND")
@pytest.mark.parametrize("case", list(MALFORMED_IDS))
def test_malformed_id_gets_4xx(api, verdicts, version, case):
    exchange = api.post(MALFORMED_IDS[case], headers={**api.auth, **version_header(version)})
    verdicts.judge(
        error_violations(exchange, "ERR-NOT-FOUND", range(400, 500)),
        exchange,
        f"malformed id: {case}",
        version,
    )


@pytest.mark.rule("ERR-METHOD", "ERR-ALLOW")
@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
def test_other_methods_get_405(api, target, verdicts, method):
    exchange = api.request(method, unpause_path(target.ad_group_ids[0]), headers=api.auth)
    found = error_violations(exchange, "ERR-METHOD", [404, 405])
    allowed = {m.strip().upper() for m in (exchange.header("allow") or "").split(",")}
    if exchange.status == 405 and "POST" not in allowed:
        found.append(
            violation("ERR-ALLOW", f"a 405 whose Allow ({exchange.header('allow')!r}) does not list POST")
        )
    verdicts.judge(found, exchange, f"{method} on unpause", "all")


BODIES = {
    "json-object": (b'{"status": "paused"}', "application/json"),
    "json-garbage": (b'{"unterminated', "application/json"),
    "form": (b"status=paused", "application/x-www-form-urlencoded"),
    "binary": (bytes(range(256)), "application/octet-stream"),
}


@pytest.mark.rule("ERR-METHOD")
@pytest.mark.parametrize("case", list(BODIES))
def test_request_body_is_ignored_or_rejected(api, target, verdicts, version, case):
    content, content_type = BODIES[case]
    headers = {**api.auth, **version_header(version), "Content-Type": content_type}
    exchange = api.post(unpause_path(target.ad_group_ids[0]), headers=headers, content=content)
    found = json_violations(exchange)
    if exchange.status is not None and not (exchange.status == 200 or 400 <= exchange.status < 500):
        found.append(
            violation(
                "ERR-METHOD", f"a request body got {exchange.status}: ignore it (200) or reject it (4xx)"
            )
        )
    verdicts.judge(found, exchange, f"request body: {case}", version)
