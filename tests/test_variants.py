"""Correct variants prove the absence of false alarms, as faults prove detection: the suites pass
on every profile of the mock (no MUST failure, no advisory finding but the profile's own), the
mock's profiles really differ from the default, and a run leaves every ad group as it found it."""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess

import httpx
import pytest

from conformance.mock.profiles import CATALOGUE, DEFAULT
from conformance.mock.replies import Reply
from conformance.mock.server import MockServer
from tests.conftest import run_suite

TOKEN = "variant-token-7c6b5a"


def as_target(server: MockServer) -> list[str]:
    """The suite's options for a standalone mock: its URL, token and every ad group, and its other
    identities (another account's token and groups, a token without ad_campaign:update)."""
    return [
        f"--base-url={server.url}",
        f"--api-token={TOKEN}",
        f"--peer-api-token={server.api.peer_token}",
        f"--read-only-api-token={server.api.read_only_token}",
        *[f"--ad-group-id={group.id}" for group in server.api.dataset],
        *[f"--foreign-ad-group-id={group.id}" for group in server.api.foreign],
    ]


def test_the_catalogue_holds_at_least_ten_correct_variants():
    variants = [name for name in CATALOGUE if name != DEFAULT.name]
    assert len(variants) >= 10, variants
    for profile in CATALOGUE.values():
        assert profile.reading.endswith("."), profile.name


@pytest.mark.parametrize("profile", [name for name in CATALOGUE if name != DEFAULT.name])
def test_every_variant_differs_from_the_default_mock(profile):
    """A variant that answers like the default proves nothing: one script, two transcripts."""

    def transcript(server: MockServer) -> list:
        group = server.api.dataset[0].id
        auth = {"Authorization": f"Bearer {TOKEN}", "Accept-Encoding": "gzip"}
        seen = []
        with httpx.Client(base_url=server.url, timeout=10) as http:
            requests = [("POST", f"/ad_groups/{group}/unpause", auth, b"")] * 2
            requests += [
                ("POST", f"/ad_groups/{group}/unpause", {**auth, "Api-Version-Date": "2026-06-20"}, b"")
            ]
            requests += [("POST", f"/ad_groups/{group}/unpause", {}, b"")]
            requests += [("GET", f"/ad_groups/{group}/unpause", auth, b"")]
            requests += [("POST", f"/ad_groups/{group}/unpause", auth, b"{}")]
            requests += [("POST", "/ad_groups/" + "x" * 300 + "/unpause", auth, b"")]
            requests += [("POST", f"/ad_groups/{group}/unpause", auth, b"")] * 60  # past a rate limit
            for method, path, headers, content in requests:
                response = http.request(method, path, headers=headers, content=content)
                seen.append((response.status_code, sorted(response.headers.items()), response.content))
        return [(status, [(k, v) for k, v in headers if k != "date"], body) for status, headers, body in seen]

    default = MockServer(TOKEN).start()
    variant = MockServer(TOKEN, profile=CATALOGUE[profile]).start()
    try:
        assert transcript(variant) != transcript(default), f"{profile} answers exactly like the default mock"
    finally:
        default.stop()
        variant.stop()


def run_against(server: MockServer, tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, dict]:
    """The suites against a standalone mock, as a user runs them against staging (--base-url, so
    the remote default --concurrency 8 and the census/restore of a target the run does not own)."""
    verdicts_path = tmp_path / "verdicts.json"
    completed = run_suite(*as_target(server), f"--verdicts-json={verdicts_path}", *args, timeout=600)
    assert verdicts_path.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed, json.loads(verdicts_path.read_text())


@pytest.mark.parametrize("profile", list(CATALOGUE))
@pytest.mark.subprocess
def test_a_correct_variant_passes_and_is_left_as_found(tmp_path, profile):
    """No MUST failure and no advisory finding but the profile's own, exit 0, and every ad group's
    status after the run is its status before (one 'restored' line each, none failed)."""
    server = MockServer(TOKEN, profile=CATALOGUE[profile]).start()
    try:
        before, foreign_before = server.api.statuses(), server.api.foreign_statuses()
        completed, verdicts = run_against(server, tmp_path)
        after, foreign_after = server.api.statuses(), server.api.foreign_statuses()
    finally:
        server.stop()
    assert foreign_after == foreign_before, "another account's ad group changed"
    proved = [n["text"] for n in verdicts["notes"] if n["kind"] == "identity"]
    assert len(proved) == 2, proved
    assert all(" token proved: " in text for text in proved), proved
    false_alarms = [
        o for o in verdicts["outcomes"] if o["outcome"] in ("failed", "target error", "suite error")
    ]
    # each with its first violation per rule and its error: the stdout's tail is mostly the restore
    assert false_alarms == [], (
        f"{profile}: false alarms (MUST failures or suite errors on a correct server):\n"
        + "\n".join(f"{o['test']}: {o['first']} {o['error']}" for o in false_alarms)
        + f"\n{completed.stdout[-4000:]}"
    )
    advisory = {finding["rule"] for finding in verdicts["findings"]}
    assert advisory <= set(CATALOGUE[profile].advisory), f"{profile}: unexpected advisory findings {advisory}"
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert after == before, {g: (before[g], after[g]) for g in before if before[g] != after[g]}
    restored = [n for n in verdicts["notes"] if n["kind"] == "restored"]
    assert len(restored) == len(before), completed.stdout[-3000:]
    assert not [n for n in verdicts["notes"] if n["kind"] == "restore-failed"]


@pytest.mark.subprocess
def test_no_restore_leaves_the_groups_as_the_run_changed_them():
    server = MockServer(TOKEN).start()
    try:
        before = server.api.statuses()
        completed = run_suite(*as_target(server), "--no-restore", timeout=600)
        after = server.api.statuses()
    finally:
        server.stop()
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert "restored: " not in completed.stdout
    assert after != before  # the run unpaused paused groups and, as asked, did not pause them again


@pytest.mark.subprocess
def test_a_failed_restore_is_loud(tmp_path):
    """Pausing is down (503) when the restore comes: a warning section naming each group it could
    not pause again, and the same in verdicts.json (the report's entry)."""
    server = MockServer(TOKEN).start()

    def pausing_is_down(group, fault):
        raise Reply(503, "unavailable", "Pausing is down.")

    server.api.pause = pausing_is_down
    verdicts_path = tmp_path / "verdicts.json"
    try:
        completed = run_suite(
            *as_target(server),
            f"--verdicts-json={verdicts_path}",
            "-k",
            "test_unknown_id_gets_404",  # sends no pause: only the census changes the groups
            timeout=600,
        )
    finally:
        server.stop()
    assert "RESTORE FAILED: ad groups NOT left as the run found them" in completed.stdout, completed.stdout[
        -3000:
    ]
    paused_before = [group.id for group in server.api.dataset if group.status == "paused"]
    failed = [n for n in json.loads(verdicts_path.read_text())["notes"] if n["kind"] == "restore-failed"]
    assert sorted(n["group"] for n in failed) == sorted(paused_before)
    for group_id in paused_before:
        assert f"RESTORE FAILED: {group_id} -> paused (pause answered 503" in completed.stdout


# a correct server whose updated_at cannot tell the census anything: it has no read, and stamps
# updated_at on every call (a no-op unpause too)
UNREADABLE = dataclasses.replace(
    CATALOGUE["stamp-every-call"], name="stamp-every-call-no-read", read_endpoint=False
)


@pytest.mark.subprocess
def test_a_census_that_cannot_know_refuses_to_guess_and_fails_the_run(tmp_path):
    """Before the first test the run says which groups' status it cannot know: it learned that on
    one group, sent no other group anything that changes state, and leaves those out of the run. At
    the end it pauses or unpauses none it cannot know, names the one it changed with what it is now,
    and exits 6; a status the user declares is restored as declared."""
    server = MockServer(TOKEN, profile=UNREADABLE).start()
    paused = [group.id for group in server.api.dataset if group.status == "paused"]
    try:
        before = server.api.statuses()
        completed, verdicts = run_against(server, tmp_path, f"--ad-group-status={paused[0]}=paused")
        after = server.api.statuses()
    finally:
        server.stop()
    assert completed.returncode == 6, completed.stdout[-3000:]
    lines = completed.stdout.splitlines()
    first_test = next(i for i, line in enumerate(lines) if re.match(r"[.FEsxX]+ +\[", line))  # -q progress
    assert any("status before the run UNKNOWN" in line for line in lines[:first_test]), completed.stdout[
        :3000
    ]
    assert any("the target stamps every call" in line for line in lines[:first_test])
    assert any("left out of the run, sent nothing that changes state" in line for line in lines[:first_test])
    unknown = {n["group"] for n in verdicts["notes"] if n["kind"] == "restore-failed"}
    assert len(unknown) == 1, unknown
    (changed,) = unknown
    assert before[changed] in ("active", "paused")
    assert {g for g in before if after[g] != before[g]} <= {changed}, (
        "a group other than the one checked changed"
    )
    assert after[changed] == "active", "a group whose status was unknown was paused on a guess"
    assert after[paused[0]] == "paused", "the declared status is the one restored"
    assert "RESTORE FAILED: ad groups NOT left as the run found them" in completed.stdout
    assert f"RESTORE FAILED: {changed} -> unknown (not touched" in completed.stdout
    assert "now active, as far as the run knows" in completed.stdout
    untouched = [
        g for g, status in before.items() if status in ("active", "paused") and g not in (changed, paused[0])
    ]
    assert untouched, "the dataset has other groups the census could have changed"
    for group_id in untouched:
        assert (
            f"restored: {group_id} -> as found (the run sent it nothing that changes state"
            in completed.stdout
        )


@pytest.mark.subprocess
def test_without_a_read_the_census_checks_updated_at_and_restores_every_group(tmp_path):
    """no-read-endpoint: the census reads each status from an unpause, after checking on one group
    that a no-op unpause leaves updated_at and an activation moves it (whole-second stamps)."""
    server = MockServer(TOKEN, profile=CATALOGUE["no-read-endpoint"]).start()
    try:
        before = server.api.statuses()
        completed, verdicts = run_against(server, tmp_path, "-k", "test_unknown_id_gets_404")
        after = server.api.statuses()
    finally:
        server.stop()
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert after == before
    census = {n["group"]: n["text"] for n in verdicts["notes"] if n["kind"] == "census"}
    assert "a second unpause left updated_at as it was, pause then unpause moved it" in census["updated_at"]
    for group_id, status in before.items():
        assert census[group_id].startswith(f"{status} before the run") or status not in ("active", "paused")


@pytest.mark.subprocess
def test_a_dry_run_sends_nothing_and_lists_each_group(tmp_path):
    server = MockServer(TOKEN).start()
    try:
        completed = run_suite(*as_target(server), "--dry-run", timeout=600)
        requests = server.api.requests
    finally:
        server.stop()
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert requests == 0
    for group in server.api.dataset:
        assert f"  at the end: POST /ad_groups/{group.id}/pause if it was paused" in completed.stdout


@pytest.mark.subprocess
def test_a_body_the_census_cannot_parse_strictly_is_read_leniently_and_restored(tmp_path):
    """Bodies with a byte order mark fail ERR-JSON (the verdict stays strict), yet the census reads
    each status and the restore leaves every group as found: exit 1, not 6."""
    server = MockServer(TOKEN, profile=CATALOGUE["no-read-endpoint"]).start()
    base_url = f"{server.url}/__faults/byte-order-mark"
    store = server.api.store("byte-order-mark")
    before = {group_id: group.status for group_id, group in store.groups.items()}
    verdicts_path = tmp_path / "verdicts.json"
    try:
        completed = run_suite(
            f"--base-url={base_url}",
            f"--api-token={TOKEN}",
            *[f"--ad-group-id={group.id}" for group in server.api.dataset],
            f"--verdicts-json={verdicts_path}",
            timeout=600,
        )
        after = {group_id: group.status for group_id, group in store.groups.items()}
    finally:
        server.stop()
    verdicts = json.loads(verdicts_path.read_text())
    assert completed.returncode == 1, completed.stdout[-3000:]
    assert "ERR-JSON" in {rule for o in verdicts["outcomes"] for rule in o["rules"]}
    assert not [n for n in verdicts["notes"] if n["kind"] == "restore-failed"], completed.stdout[-3000:]
    assert after == before
