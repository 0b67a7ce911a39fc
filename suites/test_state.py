"""State: unpause activates and echoes the id; a group that is not paused may answer 200 or a refusal;
concurrent unpauses are safe; created_at never moves.

The docs do not say what unpausing a group that is not paused answers: 200 (idempotent, status
unchanged) and a refusal with the error envelope (409, the SDKs' one typed error for unpause, or
422, which they map too) both conform (state.REFUSALS).
"""

from __future__ import annotations

import time

import pytest

from conformance.adgroups import census, state
from conformance.client.http import Exchange
from conformance.contract import invariants, rules
from conformance.contract.endpoints import unpause_path, version_header
from conformance.judge.checks import body_of, json_violations, violation
from conformance.runner import engines


@pytest.mark.rule("BEH-ID-ECHO")
def test_returned_id_is_the_requested_id(specimens, target, verdicts, version):
    attempts = [specimens.unpause(group_id, version, "VER-SHAPE") for group_id in target.ad_group_ids]
    for unpaused in verdicts.exercised(attempts, "a 200 unpause"):
        body = unpaused.body
        found = []  # a body that is not JSON is ERR-JSON's (the body rules), not an id to compare
        if body is not None and body.get("id") != unpaused.group_id:
            found.append(
                violation("BEH-ID-ECHO", f"asked for {unpaused.group_id}, got id {body.get('id')!r}")
            )
        verdicts.judge(found, unpaused.shown, f"ad group {unpaused.group_id}", version)


@pytest.mark.rule("BEH-ACTIVATES", "BEH-CREATED-STABLE")
@pytest.mark.usefixtures("use_pause")
def test_paused_ad_group_becomes_active(api, specimens, target, verdicts, version):
    """Pause (set-up), then unpause: 200 and active. created_at is the same instant in the body
    seen before, in the pause's and in the unpause's: a transition moves updated_at only."""

    def pause_then_unpause(group_id: str) -> tuple[state.Obtained, Exchange | None]:
        paused = state.pause_first(api, group_id)  # set-up
        if paused.not_exercised is not None:
            return paused, None
        return paused, api.post(unpause_path(group_id), headers={**api.auth, **version_header(version)})

    # different groups cannot interfere: their set-up and unpause overlap, each group's in order
    results = dict(
        engines.run_all(lambda g: (g, pause_then_unpause(g)), target.ad_group_ids, target.concurrency)
    )
    for paused in verdicts.exercised([paused for paused, _ in results.values()], "paused"):
        exchange = results[paused.group_id][1]
        body = body_of(exchange) or {}
        found = json_violations(exchange)
        if exchange.status != 200:
            found.append(
                violation("BEH-ACTIVATES", f"unpause of a paused ad group answered {exchange.status}")
            )
        elif body_of(exchange) is not None and body.get("status") != "active":
            found.append(violation("BEH-ACTIVATES", f"paused before, {body.get('status')!r} after unpause"))
        seen = specimens.unpause(paused.group_id, version, "VER-SHAPE").body or {}
        found += created_at_moves(
            paused.group_id,
            [
                ("before", seen),
                ("pause", paused.body or {}),
                ("unpause", body if exchange.status == 200 else {}),
            ],
        )
        verdicts.judge(found, exchange, f"ad group {paused.group_id}, paused then unpaused", version)


def created_at_moves(group_id: str, bodies: list[tuple[str, dict]]) -> list[rules.Violation]:
    instants = [
        (where, body.get("created_at"), invariants.instant(body.get("created_at"))) for where, body in bodies
    ]
    instants = [entry for entry in instants if entry[2] is not None]
    if len({instant for _, _, instant in instants}) <= 1:
        return []
    shown = ", ".join(f"{where}: {value}" for where, value, _ in instants)
    return [violation("BEH-CREATED-STABLE", f"{group_id}: created_at moved ({shown})")]


@pytest.mark.rule("BEH-ACTIVATES")
def test_unpause_never_reports_paused(specimens, target, verdicts, version):
    attempts = [specimens.unpause(group_id, version, "VER-SHAPE") for group_id in target.ad_group_ids]
    for unpaused in verdicts.exercised(attempts, "a 200 unpause"):
        found = []
        if (unpaused.body or {}).get("status") == "paused":
            found.append(violation("BEH-ACTIVATES", "a 200 unpause reports status 'paused'"))
        verdicts.judge(found, unpaused.shown, f"ad group {unpaused.group_id}", version)


@pytest.mark.rule("BEH-NOT-PAUSED", "BEH-IDEMPOTENT")
def test_unpausing_a_group_that_is_not_paused(specimens, api, target, verdicts, version):
    """After a 200 unpause the group is not paused: unpausing it again answers 200 with the same id
    and status, or a refusal (409, 422) with the envelope (both conform, BEH-NOT-PAUSED); only 200 is
    idempotent, which the docs do not promise (BEH-IDEMPOTENT, advisory). The first unpause is each
    group's obtained 200 (unpause, or pause then unpause where unpause is refused)."""
    headers = {**api.auth, **version_header(version)}
    attempts = [specimens.unpause(group_id, version, "VER-SHAPE") for group_id in target.ad_group_ids]
    exercised = [a for a in verdicts.exercised(attempts, "a 200 unpause") if a.exchange is not None]
    if not exercised:
        pytest.skip("not exercised: no ad group answered unpause with a 200 (the shape tests say why)")
    # different groups cannot interfere: the second unpauses overlap
    seconds = engines.run_all(
        lambda first: api.post(unpause_path(first.group_id), headers=headers), exercised, target.concurrency
    )
    for first, second in zip(exercised, seconds, strict=True):
        one, two = first.body or {}, body_of(second) or {}
        found = json_violations(second)
        if state.refused(second):
            found += state.conflict_violations(second)
            found.append(
                violation(
                    "BEH-IDEMPOTENT",
                    f"unpausing a group that is not paused answered {second.status}, not 200",
                )
            )
        elif second.status != 200:
            found.append(violation("BEH-NOT-PAUSED", f"answered {second.status}, not 200, 409 or 422"))
        elif body_of(second) is not None and (one.get("id"), one.get("status")) != (
            two.get("id"),
            two.get("status"),
        ):
            found.append(
                violation(
                    "BEH-NOT-PAUSED",
                    f"{one.get('id')}/{one.get('status')} then {two.get('id')}/{two.get('status')}",
                )
            )
        verdicts.judge(found, second, f"ad group {first.group_id}, unpaused again", version)


CONCURRENT_CALLS = 8


@pytest.mark.rule("BEH-CONCURRENT")
@pytest.mark.usefixtures("use_pause")
def test_concurrent_unpauses(api, target, verdicts, version):
    """Eight unpauses of one paused group at once: each 200 or a refusal (409, 422), none 5xx, and
    afterwards the group is no longer paused (a 200 reporting active, or a refusal: not paused)."""
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids)], "paused")
    group_id = paused.group_id
    headers = {**api.auth, **version_header(version)}
    exchanges, found = state.burst(api, group_id, headers, CONCURRENT_CALLS)
    final = api.post(unpause_path(group_id), headers=headers)
    final_status = (body_of(final) or {}).get("status")
    found += json_violations(final)
    unreadable = final.status == 200 and body_of(final) is None  # ERR-JSON's, reported above
    if not (state.refused(final) or (final.status == 200 and final_status == "active") or unreadable):
        found.append(
            violation(
                "BEH-CONCURRENT",
                f"after the storm an unpause answered {final.status} with status {final_status!r}: "
                "still paused, or not an answer the docs allow",
            )
        )
    shown = next((e for e in exchanges if e.status != 200 and not state.refused(e)), final)
    verdicts.judge(found, shown, f"{CONCURRENT_CALLS} concurrent unpauses of {group_id}", version)


@pytest.mark.rule("BEH-REJECTED-STAYS")
def test_unpause_leaves_a_group_that_cannot_be_activated(specimens, status_before, target, verdicts, version):
    """A group the census read (or the user declared) as neither paused nor active (rejected, say)
    is not made active by unpause: its first unpause answers 200 with another status, or a
    refusal. Only groups known before the run count: a 200 'active' alone cannot tell."""
    known = [g for g in target.ad_group_ids if g in census.unmovable(status_before)]
    if not known:
        pytest.skip(
            "not exercised: no ad group known before the run (GET /ad_groups/{id}, or --ad-group-status) "
            "to be neither paused nor active"
        )
    found = []
    attempts = [specimens.unpause(group_id, version, "VER-SHAPE") for group_id in known]
    for unpaused in attempts:
        first = unpaused.route[0] if unpaused.route else None
        if first is None or first.status != 200:
            continue  # a refusal (or another answer, which other rules judge): not activated by it
        if (body_of(first) or {}).get("status") == state.ACTIVE:
            found.append(
                violation(
                    "BEH-REJECTED-STAYS",
                    f"{unpaused.group_id} was {status_before[unpaused.group_id]!r} before the run; "
                    "unpause answered 200 'active'",
                )
            )
    shown = next((a.route[0] for a in attempts if a.route), None)
    verdicts.judge(found, shown, f"{len(known)} ad groups neither paused nor active", version)


@pytest.mark.rule("BEH-UPDATED-MOVES")
@pytest.mark.usefixtures("use_pause")
def test_activation_moves_updated_at(api, target, verdicts):
    """Pause (set-up), a second later unpause: the activation's updated_at is past the pause's
    (one second apart, so a target that stamps whole seconds shows the move too)."""
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids)], "paused")
    time.sleep(census.SECOND)
    exchange = api.post(unpause_path(paused.group_id), headers=api.auth)
    found = json_violations(exchange)
    body = body_of(exchange) or {}
    if exchange.status != 200 or body.get("status") != state.ACTIVE:
        pytest.skip(f"not exercised: the unpause answered {exchange.status} (BEH-ACTIVATES judges it)")
    paused_at = invariants.instant((paused.body or {}).get("updated_at"))
    activated_at = invariants.instant(body.get("updated_at"))
    if paused_at is not None and activated_at is not None and activated_at <= paused_at:
        found.append(
            violation(
                "BEH-UPDATED-MOVES",
                f"paused at updated_at {paused.body['updated_at']}, activated {census.SECOND} s later "
                f"with updated_at {body['updated_at']}",
            )
        )
    verdicts.judge(found, exchange, f"ad group {paused.group_id}, paused then unpaused", "all")
