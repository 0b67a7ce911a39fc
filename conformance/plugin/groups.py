"""Each ad group's status before the run (the census, said at once where it is unknown) and
putting it back after the last test, for the target and a drift run's second target."""

from __future__ import annotations

from dataclasses import replace

import pytest

from conformance.adgroups import census, restore
from conformance.client.http import ApiClient
from conformance.judge.notes import NoteKind
from conformance.plugin.keys import BEFORE, CENSUS_FACTS, TARGET, VERDICTS
from conformance.plugin.reporting import say
from conformance.plugin.target import neighbours, to_watch


def take_census(
    config: pytest.Config,
    client: ApiClient,
    group_ids: list[str] | None = None,
    key: pytest.StashKey[dict] = BEFORE,
    who: str = "",
) -> None:
    """Each group's status before the run, into ``key``; ``who`` names a second target in the notes.
    A status the census cannot know is said at once, before the first test."""
    target = config.stash[TARGET]
    declared = target.declared if not who else {}
    group_ids = group_ids or [*target.ad_group_ids, *target.watched_ad_group_ids]
    before, check = census.census(client, group_ids, target.concurrency, declared, target.use_pause)
    config.stash[key] = before
    if key is BEFORE:
        reads = True if any(was.read for was in before.values()) else None
        statuses = {was.group_id: was.status for was in before.values()}
        config.stash[CENSUS_FACTS] = {"reads": reads, "calibration": check, "statuses": statuses}
    verdicts = config.stash[VERDICTS]
    if check is not None:
        verdicts.note(NoteKind.CENSUS, who + "updated_at", f"{who}what updated_at tells: {check.how}")
    for was in before.values():
        verdicts.note(
            NoteKind.CENSUS, who + was.group_id, f"{who}{was.status or 'unknown'} before the run ({was.how})"
        )
    # the embedded mock's every status is its dataset's, and a drift run's second target is sent
    # what the first is: what the census cannot know there, tests still reach
    if target.embedded or key is not BEFORE:
        for was in before.values():
            was.untouched = False
    untouched = [was.group_id for was in before.values() if was.untouched]
    if untouched:
        leave_out(config, untouched)
        config.stash[CENSUS_FACTS]["left_out"] = untouched  # and every xdist worker's target
    target = config.stash[TARGET]
    if key is BEFORE and not target.embedded and not target.watched_ad_group_ids:
        statuses = {g: was.status for g, was in before.items()}
        campaigns = {g: was.campaign for g, was in before.items() if was.campaign}
        read = {g for g, was in before.items() if was.read}
        watched = to_watch(target.ad_group_ids, statuses, read, campaigns)
        beside = neighbours(target.ad_group_ids, watched, campaigns)
        config.stash[TARGET] = target.watching(watched, beside)
        config.stash[CENSUS_FACTS]["watched"] = watched  # and every xdist worker's
        config.stash[CENSUS_FACTS]["neighbours"] = beside
    unknown = [was for was in before.values() if was.status is None and not was.untouched]
    if untouched:
        say(
            config,
            [
                f"census: {who}{len(untouched)} ad group(s) left out of the run, sent nothing that changes "
                f"state (the census learned on {unknown[0].group_id if unknown else 'another group'} that "
                "it cannot know a status without a read); declare their statuses with --ad-group-status "
                "ID=STATUS to include them",
                *(f"  {group_id}" for group_id in untouched),
            ],
        )
    if unknown:
        lines = [
            f"census: {who}status before the run UNKNOWN for {len(unknown)} ad group(s): none will be "
            "paused or unpaused at the end, and the run will fail (exit 6); declare a status you know "
            "with --ad-group-status ID=STATUS"
        ]
        if check is not None and not check.trusted:
            lines.append(f"  what updated_at tells: {check.how}")
        lines += [f"  {was.group_id}: {was.how}" for was in unknown]
        say(config, lines)


def leave_out(config: pytest.Config, group_ids: list[str]) -> None:
    """The run's target without ``group_ids`` (and their drift pairs): no test sends them anything."""
    target = config.stash[TARGET]
    kept = [index for index, group_id in enumerate(target.ad_group_ids) if group_id not in group_ids]
    config.stash[TARGET] = replace(
        target,
        ad_group_ids=[target.ad_group_ids[index] for index in kept],
        compare_ad_group_ids=[
            target.compare_ad_group_ids[index] for index in kept if index < len(target.compare_ad_group_ids)
        ],
        property_ad_group_ids=[g for g in target.property_ad_group_ids if g not in group_ids],
    )


def restore_groups(
    config: pytest.Config, client: ApiClient, key: pytest.StashKey[dict] = BEFORE, who: str = ""
) -> None:
    before = config.stash.get(key, None)
    if before is None:
        return
    del config.stash[key]
    verdicts = config.stash[VERDICTS]
    watched = config.stash[TARGET].watched_ad_group_ids if key is BEFORE else []
    for group_id in watched:  # what the restore would put back unseen: said first (INT-OTHER-GROUPS)
        now, how = census.read(client, group_id)
        if now is not None and group_id in before and now != before[group_id].status:
            verdicts.note(
                NoteKind.WATCHED_CHANGED,
                group_id,
                f"INT-OTHER-GROUPS: {group_id} was {before[group_id].status} before the run and no request of "
                f"the run was sent to it; at its end {how} (restored below)",
            )
    for restored in restore.restore_all(client, before, config.stash[TARGET].concurrency, client.last_seen):
        kind = NoteKind.RESTORED if restored.ok else NoteKind.RESTORE_FAILED
        verdicts.note(kind, who + restored.group_id, who + restored.line(), verified=restored.verified)
