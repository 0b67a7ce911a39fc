"""Who may unpause: another account's token reaches none of the configured ad groups, this
account's token reaches none of another account's, and a token without ad_campaign:update pauses
and unpauses nothing. Each refusal is judged by its answer and by what it did: the group is read
back (or observed) with the run's own token.

The identities come from --peer-api-token, --read-only-api-token and --foreign-ad-group-id (the
embedded mock makes its own), each proved before use (conformance.adgroups.identities); another account's
groups are sent only requests that change nothing even where wrongly allowed."""

from __future__ import annotations

import time

import pytest

from conformance.adgroups import state
from conformance.adgroups.census import lenient_body
from conformance.adgroups.identities import NO_SUCH_GROUP, PEER, READ_ONLY, Identity
from conformance.contract import schemas
from conformance.contract.endpoints import pause_path, read_path, unpause_path, version_header
from conformance.judge.checks import error_violations, violation
from conformance.judge.notes import NoteKind


def proven(identities: dict[str, Identity], name: str) -> Identity:
    identity = identities[name]
    if not identity.proven:
        pytest.skip(f"not exercised: the {name} token is not proved ({identity.how})")
    return identity


def refused_both_ways(api, observer, verdicts, target, caller: Identity, rule: str, expected: list[int]):
    """``caller`` sends an unpause to a paused group and a pause to an active one (each set up with
    the run's token); each answer must be in ``expected`` with the envelope, and each group is seen
    after it as it was. Returns the violations and the exchange to show."""
    version = schemas.latest_version().name
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids)], "paused")
    group_id = paused.group_id
    measured = observer.measure_lag(group_id, paused.exchange)
    if measured:
        verdicts.note(NoteKind.READ_LAG, "read", measured)
    started = time.monotonic()
    unpause = api.post(unpause_path(group_id), headers={**caller.auth, **version_header(version)})
    found = error_violations(unpause, rule, expected)
    seen = observer.still_paused(group_id, paused.exchange, started)
    if seen.paused is False:
        found.append(
            violation(
                rule, f"the {caller.name} token's unpause of paused {group_id} activated it ({seen.how})"
            )
        )
    active = api.post(unpause_path(group_id), headers=api.auth)  # set-up: the run's own unpause
    if active.status != 200 or (lenient_body(active) or {}).get("status") != state.ACTIVE:
        return found, unpause
    pause = api.post(pause_path(group_id), headers={**caller.auth, **version_header(version)})
    found += error_violations(pause, rule, expected)
    status, how = observer.read_status(group_id, active)
    if status == state.PAUSED:
        found.append(
            violation(rule, f"the {caller.name} token's pause of active {group_id} paused it ({how})")
        )
    return found, next((e for e in (unpause, pause) if e.status not in expected), unpause)


@pytest.mark.rule("AUTHZ-PEER", "ERR-ENVELOPE")
@pytest.mark.usefixtures("use_pause")
def test_another_account_reaches_no_configured_group(api, observer, identities, target, verdicts):
    """Another account's token: its unpause, pause and read of a configured group get 404 or 403
    with the envelope, and the group is as it was, read back with the run's own token."""
    peer = proven(identities, PEER)
    found, shown = refused_both_ways(api, observer, verdicts, target, peer, "AUTHZ-PEER", [403, 404])
    read = api.request("GET", read_path(target.ad_group_ids[0]), headers=peer.auth)
    found += error_violations(read, "AUTHZ-PEER", [403, 404])
    verdicts.judge(found, shown, "another account's token at a configured ad group", "all")


@pytest.mark.rule("AUTHZ-SCOPE", "ERR-ENVELOPE")
@pytest.mark.usefixtures("use_pause")
def test_a_token_without_update_permission_pauses_and_unpauses_nothing(
    api, observer, identities, target, verdicts
):
    """A token of this account without ad_campaign:update: its unpause and pause get 403 (401 is
    accepted) with the envelope, and change nothing."""
    read_only = proven(identities, READ_ONLY)
    found, shown = refused_both_ways(api, observer, verdicts, target, read_only, "AUTHZ-SCOPE", [401, 403])
    verdicts.judge(found, shown, "a token without ad_campaign:update", "all")


def put_back_foreign(api, peer: Identity, group_id: str, was: str, verdicts) -> list:
    """Another account's group that a request the run sent wrongly reached: read again with its
    owner's token and, where it changed, put back with that token; where that fails, the run fails
    loudly (exit 6), naming it."""
    now = (lenient_body(api.request("GET", read_path(group_id), headers=peer.auth)) or {}).get("status")
    if now in (was, None):
        return []
    action = pause_path if was == state.PAUSED else unpause_path
    back = api.post(action(group_id), headers=peer.auth)
    if back.status == 200 and (lenient_body(back) or {}).get("status") == was:
        verdicts.note(
            NoteKind.RESTORED,
            group_id,
            f"restored: {group_id} (another account's) -> {was}, with its owner's token",
        )
    else:
        verdicts.note(
            NoteKind.RESTORE_FAILED,
            group_id,
            f"RESTORE FAILED: {group_id} (ANOTHER ACCOUNT'S) -> {was} (its owner's token answered {back.status}); now {now}",
        )
    return [
        violation(
            "AUTHZ-FOREIGN", f"{group_id} (another account's) was {was}; the run's token changed it to {now}"
        )
    ]


@pytest.mark.rule("AUTHZ-FOREIGN", "AUTHZ-EXISTENCE", "ERR-ENVELOPE")
def test_this_account_reaches_no_foreign_group(api, identities, observer, target, verdicts):
    """Each --foreign-ad-group-id is sent, with the run's own token, only what changes nothing even
    where wrongly allowed: an unpause where the peer's token reads it active, a pause where paused,
    else a read (where the target has one: without it, a group whose status no read told is sent
    nothing). Each gets 404 or 403 with the envelope, and the same status as an id no account has
    (SHOULD: a different one tells which ids exist elsewhere)."""
    if not target.foreign_ad_group_ids:
        pytest.skip("not exercised: no --foreign-ad-group-id given")
    peer = identities[PEER]
    found, shown, sent = [], None, 0
    for group_id in target.foreign_ad_group_ids:
        seen = (
            lenient_body(api.request("GET", read_path(group_id), headers=peer.auth)) if peer.proven else None
        )
        status = (seen or {}).get("status") if (seen or {}).get("id") == group_id else None
        if status == state.ACTIVE:
            method, path = "POST", unpause_path
        elif status == state.PAUSED:
            method, path = "POST", pause_path
        elif observer.reads is True:
            method, path = "GET", read_path
        else:  # a read is no route here, and anything else might change another account's group
            continue
        sent += 1
        exchange = api.request(method, path(group_id), headers=api.auth)
        found += error_violations(exchange, "AUTHZ-FOREIGN", [403, 404])
        if status in (state.ACTIVE, state.PAUSED) and exchange.status is not None and exchange.status < 300:
            found += put_back_foreign(api, peer, group_id, status, verdicts)
        unknown = api.request(method, path(NO_SUCH_GROUP), headers=api.auth)
        if exchange.status in (403, 404) and unknown.status != exchange.status:
            found.append(
                violation(
                    "AUTHZ-EXISTENCE",
                    f"{method} {path(group_id)} (another account's) answered {exchange.status}, an id no "
                    f"account has {unknown.status}",
                )
            )
        shown = shown if shown is not None and shown.status not in (403, 404) else exchange
    if not sent:
        pytest.skip(
            "not exercised: no read told a foreign group's status and the target has no read, so nothing "
            "that changes nothing could be sent to one"
        )
    verdicts.judge(found, shown, f"{sent} ad groups of another account", "all")
