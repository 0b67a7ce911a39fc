"""The API's idempotency contract (its own public page, in api-docs/README.md): where the target
honours Idempotency-Key (a retry is answered with Idempotent-Replayed: true), a retry replays the
first answer byte for byte and executes nothing; the same key with another request is refused with
400 idempotency_key_mismatch and executes nothing; keys are the caller's own; an unauthenticated
request is not stored. A target that never replays gets one SHOULD finding (IDEM-HONOURED).

Every key sent here is fresh (uuid4): a key reused by accident would judge an old answer."""

from __future__ import annotations

import time
import uuid

import pytest

from conformance.adgroups import state
from conformance.adgroups.census import lenient_body
from conformance.adgroups.identities import PEER
from conformance.client.http import Exchange
from conformance.contract import schemas
from conformance.contract.endpoints import unpause_path, version_header
from conformance.judge.checks import error_violations, violation


def replayed(exchange: Exchange) -> bool:
    return (exchange.header("idempotent-replayed") or "").strip().lower() == "true"


def mismatch(exchange: Exchange, what: str) -> list:
    """IDEM-MISMATCH: 400 with the envelope and error.code idempotency_key_mismatch, not a replay."""
    found = error_violations(exchange, "IDEM-MISMATCH", [400])
    code = ((lenient_body(exchange) or {}).get("error") or {}).get("code")
    if exchange.status == 400 and code != "idempotency_key_mismatch":
        found.append(
            violation("IDEM-MISMATCH", f"{what}: 400 with error.code {code!r}, not idempotency_key_mismatch")
        )
    if replayed(exchange):
        found.append(violation("IDEM-MISMATCH", f"{what}: replayed the stored answer"))
    return found


@pytest.mark.rule("IDEM-HONOURED", "IDEM-REPLAY", "IDEM-MISMATCH", "IDEM-CALLER")
@pytest.mark.usefixtures("use_pause")
def test_a_retry_replays_and_another_request_with_the_key_is_refused(
    api, observer, identities, target, verdicts
):
    """A paused group is unpaused with a fresh key, paused again, and sent: the same unpause with the
    same key (a replay, byte for byte, that leaves it paused), then the key with another version, a
    body, a query and (with the peer's token) another caller; each of the first three a mismatch that
    leaves it paused, the last never this account's stored answer."""
    version = schemas.latest_version().name
    key = str(uuid.uuid4())
    headers = {**api.auth, **version_header(version), "Idempotency-Key": key}
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids)], "paused")
    group_id = paused.group_id
    first = api.post(unpause_path(group_id), headers=headers)
    if first.status != 200:
        pytest.skip(f"not exercised: the keyed unpause answered {first.status} (other rules judge it)")
    again = state.pause_first(api, group_id)  # set-up: paused between the two calls
    if again.not_exercised is not None:
        pytest.skip(f"not exercised: {again.not_exercised}")
    started = time.monotonic()
    retry = api.post(unpause_path(group_id), headers=headers)
    if not replayed(retry):
        found = [
            violation(
                "IDEM-HONOURED",
                f"a retry with the same Idempotency-Key answered {retry.status} without Idempotent-Replayed: true: keys are not honoured",
            )
        ]
        verdicts.judge(found, retry, f"Idempotency-Key retried at {group_id}", version)
        return
    found = []
    if (retry.status, retry.response_body) != (first.status, first.response_body):
        found.append(
            violation(
                "IDEM-REPLAY",
                f"the replay answered {retry.status}, {len(retry.response_body)} bytes; the first {first.status}, {len(first.response_body)} bytes, not byte for byte the same",
            )
        )
    others = {
        "another version": api.post(
            unpause_path(group_id), headers={**headers, **version_header(schemas.default_version().name)}
        ),
        "a body": api.post(
            unpause_path(group_id), headers={**headers, "Content-Type": "application/json"}, content=b"{}"
        ),
        "a query": api.post(unpause_path(group_id) + "?conformance=1", headers=headers),
    }
    for what, exchange in others.items():
        found += mismatch(exchange, f"the same key with {what}")
    seen = observer.still_paused(group_id, again.exchange, started)
    if seen.paused is False:
        found.append(
            violation(
                "IDEM-REPLAY",
                f"{group_id}, paused between the first call and its retries, is not paused after them: one executed ({seen.how})",
            )
        )
    peer = identities[PEER]
    if peer.proven:
        theirs = api.post(
            unpause_path(group_id), headers={**peer.auth, **version_header(version), "Idempotency-Key": key}
        )
        if replayed(theirs) or theirs.response_body == first.response_body:
            found.append(
                violation(
                    "IDEM-CALLER",
                    f"another account's request with this account's key answered {theirs.status} with its stored answer",
                )
            )
    shown = next((e for e in (retry, *others.values()) if e.status not in (200, 400)), retry)
    api.post(unpause_path(group_id), headers=api.auth)  # clean-up: active, as the set-ups of others expect
    verdicts.judge(found, shown, f"Idempotency-Key retried at {group_id}", version)


@pytest.mark.rule("IDEM-UNAUTHENTICATED")
@pytest.mark.usefixtures("use_pause")
def test_an_unauthenticated_request_is_not_stored(api, target, verdicts):
    """An unpause without credentials and a fresh key is refused; the same request with them is
    executed, not answered with the stored refusal."""
    version = schemas.latest_version().name
    key = str(uuid.uuid4())
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids)], "paused")
    path = unpause_path(paused.group_id)
    refused = api.post(path, headers={**version_header(version), "Idempotency-Key": key})
    exchange = api.post(path, headers={**api.auth, **version_header(version), "Idempotency-Key": key})
    found = []
    if refused.status == 401 and (exchange.status == 401 or replayed(exchange)):
        found.append(
            violation(
                "IDEM-UNAUTHENTICATED",
                f"the authenticated request answered {exchange.status}{' (replayed)' if replayed(exchange) else ''}: the unauthenticated one's refusal was stored",
            )
        )
    verdicts.judge(
        found, exchange, f"Idempotency-Key first unauthenticated, then not, at {paused.group_id}", version
    )
