"""A refused request changes nothing: every request the suite sends that must be refused (and every
one the target chooses to refuse) is sent at one paused ad group, which must still be paused after.

test_auth, test_versioning and test_errors judge these requests' answers; here only their effect
is judged. Two batches: first the requests the contract refuses, then those a target may accept
or refuse (a body, a query string, an Idempotency-Key), of which only the refused ones count; a
batch every request of which was accepted witnesses nothing (said in the notes).
"""

from __future__ import annotations

import pytest

from conformance.adgroups import refusals, state
from conformance.contract import schemas
from conformance.judge.checks import violation
from conformance.judge.notes import NoteKind


@pytest.mark.rule("BEH-REFUSAL-INERT", "AUTHZ-NEAR-MISS-ID")
@pytest.mark.usefixtures("use_pause")
def test_a_refused_request_changes_nothing(api, observer, target, verdicts):
    version = schemas.latest_version().name
    (paused,) = verdicts.exercised([state.first_pausable(api, target.ad_group_ids)], "paused")
    witness = refusals.Witness(api, observer, paused, target.concurrency)
    if witness.lag_measured:
        verdicts.note(NoteKind.READ_LAG, "read", witness.lag_measured)
    group_id = paused.group_id
    batches = [
        witness.check("requests the contract refuses", refusals.must_refuse(api, group_id, version)),
        witness.check("inputs the target may refuse", refusals.may_refuse(api, group_id, version)),
    ]
    exercised = [batch for batch in batches if batch.not_exercised is None]
    if not exercised:
        pytest.skip(f"not exercised: {batches[0].not_exercised}")
    for batch in batches:
        if batch.not_exercised is not None:
            verdicts.note(
                NoteKind.SIDE_EFFECTS_UNCHECKED, batch.batch, f"{batch.batch}: {batch.not_exercised}"
            )
    # a 2xx to an id that only resembles the witness's is a failure whatever the group did after it
    found = [
        violation("AUTHZ-NEAR-MISS-ID", f"{refusal.name} ({refusal.path}) answered {exchange.status}")
        for batch in batches
        for refusal, exchange in batch.accepted
        if refusal.name.startswith(refusals.NEAR_MISS_ID)
        and exchange.status is not None
        and 200 <= exchange.status < 300
    ]
    for batch in exercised:
        if not batch.suspects:
            continue
        names = ", ".join(f"{refusal.name} ({exchange.status})" for refusal, exchange in batch.suspects[:5])
        more = f" and {len(batch.suspects) - 5} more" if len(batch.suspects) > 5 else ""
        found.append(
            violation(
                "BEH-REFUSAL-INERT",
                f"{group_id} was paused, then refused: {names}{more}; after it, not paused "
                f"({batch.observation.how})",
            )
        )
    shown = next((batch.suspects[0][1] for batch in exercised if batch.suspects), None) or next(
        (e for b in batches for r, e in b.accepted if r.name.startswith(refusals.NEAR_MISS_ID)), None
    )
    refused = sum(len(batch.refused) for batch in exercised)
    verdicts.judge(found, shown, f"{refused} refused requests at paused ad group {group_id}", "all")
