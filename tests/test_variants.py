"""Correct variants prove the absence of false alarms, as faults prove detection: the suites pass
on every profile of the mock (no MUST failure, no advisory finding but the profile's own), the
mock's profiles really differ from the default, and a run leaves every ad group as it found it."""

from __future__ import annotations

import json

import httpx
import pytest

from conformance.mock.app import Reply
from conformance.mock.profiles import CATALOGUE, DEFAULT
from conformance.mock.server import MockServer
from conformance.mutation import run_suite

TOKEN = "variant-token-7c6b5a"


def as_target(server: MockServer) -> list[str]:
    """The suite's options for a standalone mock: its URL, token and every ad group."""
    return [f"--base-url={server.url}", f"--api-token={TOKEN}"] + [
        f"--ad-group-id={group.id}" for group in server.api.dataset
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


@pytest.mark.parametrize("profile", list(CATALOGUE))
def test_the_suites_raise_no_false_alarm_on_a_correct_variant(tmp_path, profile):
    verdicts_path = tmp_path / "verdicts.json"
    completed = run_suite(f"--verdicts-json={verdicts_path}", f"--mock-profile={profile}", timeout=600)
    assert verdicts_path.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    verdicts = json.loads(verdicts_path.read_text())
    failed = [o["test"] for o in verdicts["outcomes"] if o["outcome"] == "failed"]
    assert failed == [], (
        f"{profile}: false alarms (MUST failures on a correct server):\n{completed.stdout[-4000:]}"
    )
    advisory = {finding["rule"] for finding in verdicts["findings"]}
    assert advisory <= set(CATALOGUE[profile].advisory), f"{profile}: unexpected advisory findings {advisory}"
    assert completed.returncode == 0, completed.stdout[-3000:]


@pytest.mark.parametrize("profile", ["default", "conflict"])
def test_a_run_leaves_every_ad_group_as_it_found_it(profile):
    """Against a standalone mock (a target the run does not own), every status after the run is
    the status before it, and the run says so one line per group."""
    server = MockServer(TOKEN, profile=CATALOGUE[profile]).start()
    try:
        before = server.api.statuses()
        completed = run_suite(*as_target(server), timeout=600)
        after = server.api.statuses()
    finally:
        server.stop()
    assert completed.returncode == 0, completed.stdout[-3000:]
    assert after == before, {g: (before[g], after[g]) for g in before if before[g] != after[g]}
    restored = [line for line in completed.stdout.splitlines() if line.startswith("restored: ")]
    assert len(restored) == len(before), completed.stdout[-3000:]
    assert "RESTORE FAILED" not in completed.stdout


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
