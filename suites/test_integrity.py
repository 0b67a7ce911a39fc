"""What else a request changed: an unpause changes its group's status, updated_at and what
delivery moves, nothing else, and no other group; a request body naming writable fields changes
none of them."""

from __future__ import annotations

import json

import pytest

from conformance.adgroups import state
from conformance.client.http import ApiClient, Exchange
from conformance.contract import schemas
from conformance.contract.endpoints import read_path, unpause_path, version_header
from conformance.judge import integrity
from conformance.judge.checks import body_of, json_violations, violation


@pytest.mark.rule("INT-OTHER-FIELDS")
@pytest.mark.usefixtures("use_pause")
def test_unpause_changes_no_setting_of_its_group(api, target, verdicts, version):
    """Pause (set-up, answered in this version), then unpause: every field the schema does not mark
    x-changed-by-unpause is as the pause answered it."""
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids, version)], "paused")
    exchange = api.post(unpause_path(paused.group_id), headers={**api.auth, **version_header(version)})
    found = json_violations(exchange)
    after = body_of(exchange)
    if exchange.status != 200 or after is None:
        pytest.skip(f"not exercised: the unpause answered {exchange.status} (BEH-ACTIVATES judges it)")
    found += integrity.changed_settings(schemas.versions()[version], paused.body or {}, after)
    verdicts.judge(found, exchange, f"ad group {paused.group_id}, paused then unpaused", version)


def observed(api: ApiClient, observer, group_id: str, version: str, answer: Exchange) -> dict | None:
    """The group's body after ``answer``: its own where it is a 200, else a read where the target
    has one, else the next unpause's (which may activate it: the restore puts it back)."""
    if answer.status == 200:
        return body_of(answer)
    headers = {**api.auth, **version_header(version)}
    if observer.reads is not False:
        read = api.request("GET", read_path(group_id), headers=headers)
        if read.status == 200 and body_of(read) is not None:
            return body_of(read)
    again = api.post(unpause_path(group_id), headers=headers)
    return body_of(again) if again.status == 200 else None


@pytest.mark.rule("INT-BODY-IGNORED")
@pytest.mark.usefixtures("use_pause")
def test_a_request_body_assigns_no_field(api, observer, target, verdicts, version):
    """A paused group is sent an unpause whose JSON body names writable fields (integrity.assignment):
    answered 200 or refused, none of them takes the value sent."""
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids, version)], "paused")
    headers = {**api.auth, **version_header(version), "Content-Type": "application/json"}
    sent = integrity.assignment(version)
    content = json.dumps(sent).encode()
    exchange = api.post(unpause_path(paused.group_id), headers=headers, content=content)
    after = observed(api, observer, paused.group_id, version, exchange)
    if after is None:
        pytest.skip(f"not exercised: {paused.group_id}'s fields could not be seen after the request")
    found = integrity.assigned(paused.body or {}, after, sent)
    verdicts.judge(
        found, exchange, f"ad group {paused.group_id}, paused, then an unpause with a body", version
    )


@pytest.mark.rule("INT-OTHER-GROUPS")
@pytest.mark.usefixtures("use_pause")
def test_an_unpause_changes_no_other_group(api, observer, status_before, target, verdicts):
    """The watched groups (paused before the run and set apart: no test sends them anything; one in
    the campaign of a group of the run where there is one) are read: still paused (no earlier request
    of the run changed them), and still paused after a pause and an unpause of another group (of
    that campaign first)."""
    watched = target.watched_ad_group_ids
    if not watched:
        pytest.skip(
            "not exercised: no paused group could be set apart to watch (it takes a read, and four groups)"
        )
    found = [
        violation(
            "INT-OTHER-GROUPS",
            f"{group_id} was paused before the run and no test sent it anything; now {status!r}",
        )
        for group_id in watched
        if (status := observer.read_status(group_id)[0]) not in (state.PAUSED, None)
    ]
    # a neighbour first: a group in a watched group's campaign (a campaign-wide resume reaches it)
    ours = [g for g in target.watched_neighbours if g in target.ad_group_ids]
    (paused,) = verdicts.exercised([state.first_pausable(api, [*ours, *target.ad_group_ids])], "paused")
    exchange = api.post(unpause_path(paused.group_id), headers=api.auth)
    for group_id in watched:
        status, how = observer.read_status(group_id)  # after the lag measured (a replica shows it late)
        if status not in (state.PAUSED, None):
            found.append(
                violation(
                    "INT-OTHER-GROUPS", f"unpausing {paused.group_id} left {group_id} {status!r} ({how})"
                )
            )
    verdicts.judge(
        found, exchange, f"{len(watched)} watched ad groups around an unpause of {paused.group_id}", "all"
    )
