"""State: unpause activates, echoes the id, is idempotent, and survives concurrent calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from conformance.checks import body_of, json_violations, violation
from conformance.endpoints import pause, unpause_path, version_header


@pytest.mark.rule("BEH-ID-ECHO")
def test_returned_id_is_the_requested_id(api, target, verdicts, version):
    for group_id in target.ad_group_ids:
        exchange = api.post(unpause_path(group_id), headers={**api.auth, **version_header(version)})
        body = body_of(exchange) or {}
        found = json_violations(exchange)
        if exchange.status == 200 and body.get("id") != group_id:
            found.append(violation("BEH-ID-ECHO", f"asked for {group_id}, got id {body.get('id')!r}"))
        verdicts.judge(found, exchange, f"ad group {group_id}", version)


@pytest.mark.rule("BEH-ACTIVATES")
@pytest.mark.usefixtures("use_pause")
def test_paused_ad_group_becomes_active(api, target, verdicts, version):
    for group_id in target.ad_group_ids:
        before = body_of(pause(api, group_id)) or {}
        exchange = api.post(unpause_path(group_id), headers={**api.auth, **version_header(version)})
        body = body_of(exchange) or {}
        found = json_violations(exchange)
        if exchange.status != 200:
            found.append(violation("BEH-ACTIVATES", f"unpause answered {exchange.status}"))
        elif body.get("status") == "paused":
            found.append(violation("BEH-ACTIVATES", "a 200 unpause reports status 'paused'"))
        elif before.get("status") == "paused" and body.get("status") != "active":
            found.append(violation("BEH-ACTIVATES", f"paused before, {body.get('status')!r} after unpause"))
        verdicts.judge(found, exchange, f"ad group {group_id} ({before.get('status')} before)", version)


@pytest.mark.rule("BEH-ACTIVATES")
def test_unpause_never_reports_paused(api, target, verdicts, version):
    for group_id in target.ad_group_ids:
        exchange = api.post(unpause_path(group_id), headers={**api.auth, **version_header(version)})
        found = json_violations(exchange)
        if exchange.status == 200 and (body_of(exchange) or {}).get("status") == "paused":
            found.append(violation("BEH-ACTIVATES", "a 200 unpause reports status 'paused'"))
        verdicts.judge(found, exchange, f"ad group {group_id}", version)


@pytest.mark.rule("BEH-IDEMPOTENT")
def test_unpausing_twice_is_idempotent(api, target, verdicts, version):
    headers = {**api.auth, **version_header(version)}
    for group_id in target.ad_group_ids:
        first = api.post(unpause_path(group_id), headers=headers)
        second = api.post(unpause_path(group_id), headers=headers)
        found = json_violations(first) + json_violations(second)
        one, two = body_of(first) or {}, body_of(second) or {}
        if (first.status, second.status) != (200, 200):
            found.append(
                violation("BEH-IDEMPOTENT", f"answered {first.status} then {second.status}, not 200 twice")
            )
        elif (one.get("id"), one.get("status")) != (two.get("id"), two.get("status")):
            found.append(
                violation(
                    "BEH-IDEMPOTENT",
                    f"{one.get('id')}/{one.get('status')} then {two.get('id')}/{two.get('status')}",
                )
            )
        verdicts.judge(found, second, f"ad group {group_id}, unpaused twice", version)


CONCURRENT_CALLS = 8


@pytest.mark.rule("BEH-CONCURRENT")
@pytest.mark.usefixtures("use_pause")
def test_concurrent_unpauses(api, target, verdicts, version):
    group_id = target.ad_group_ids[0]
    pause(api, group_id)
    headers = {**api.auth, **version_header(version)}
    with ThreadPoolExecutor(CONCURRENT_CALLS) as pool:
        exchanges = list(
            pool.map(lambda _: api.post(unpause_path(group_id), headers=headers), range(CONCURRENT_CALLS))
        )
    found = []
    for exchange in exchanges:
        if exchange.status not in (200, 409):
            found.append(violation("BEH-CONCURRENT", f"a concurrent unpause answered {exchange.status}"))
    final = api.post(unpause_path(group_id), headers=headers)
    final_status = (body_of(final) or {}).get("status")
    if final.status != 200 or final_status not in ("active", "rejected"):
        found.append(
            violation(
                "BEH-CONCURRENT", f"after the storm: {final.status}, status {final_status!r}, not active"
            )
        )
    shown = next((e for e in exchanges if e.status not in (200, 409)), final)
    verdicts.judge(found, shown, f"{CONCURRENT_CALLS} concurrent unpauses of {group_id}", version)
