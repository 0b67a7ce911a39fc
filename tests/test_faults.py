"""The fault catalogue is complete and real, and the suites catch every fault (mutation score)."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from conformance.contract import invariants, rules, schemas
from conformance.contract.invariants import instant
from conformance.mock import profiles
from conformance.mock.app import PEER, READ_ONLY, derived_token
from conformance.mock.dataset import build_foreign
from conformance.mock.faults import CATALOGUE
from conformance.mock.server import MockServer
from conformance.tools import mutation
from conformance.tools.forkserver import ForkServers

SUITES = Path(__file__).resolve().parent.parent / "suites"
TOKEN = "fault-probe-token"


def rules_named_by_suites() -> set[str]:
    """The rules the suites' tests name in their rule marks, read from the marks themselves."""
    named = set()
    for path in SUITES.glob("test_*.py"):
        spec = importlib.util.spec_from_file_location(f"suites_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, test in vars(module).items():
            if name.startswith("test_") and callable(test):
                named |= {
                    rule
                    for mark in getattr(test, "pytestmark", [])
                    if mark.name == "rule"
                    for rule in mark.args
                }
    return named


def test_every_fault_names_existing_rules():
    for fault in CATALOGUE.values():
        assert fault.rules, f"{fault.name} names no rule"
        assert set(fault.rules) <= set(rules.catalogue()), fault.name
        assert fault.description.endswith("."), fault.name


def test_the_catalogue_holds_every_fault_the_readme_counts():
    assert len(CATALOGUE) == 100  # README: "100 faults"; a new fault updates both


def test_every_rule_has_a_check_and_a_fault():
    checked = rules_named_by_suites() | {r for v in schemas.versions() for r in rules.body_rule_ids(v)}
    from conformance.judge.checks import JUDGED_ON_EVERY_RESPONSE

    checked |= set(JUDGED_ON_EVERY_RESPONSE)
    faulted = {rule for fault in CATALOGUE.values() for rule in fault.rules}
    for rule_id in rules.catalogue():
        assert rule_id in checked, f"{rule_id} has no check in suites/ or conformance/contract/rules.py"
        assert rule_id in faulted, f"{rule_id} has no fault in the mock's catalogue to prove it can fail"


def test_every_body_check_is_in_the_catalogue():
    assert set(invariants.BODY_CHECKS) <= set(rules.catalogue())
    for rule in rules.catalogue().values():
        assert rule.level in ("MUST", "SHOULD"), rule.id
        assert rule.quote, rule.id
        assert rule.text, rule.id
        assert set(rule.versions) <= set(schemas.versions()), rule.id


def transcript(base: str, ids: list[str]) -> list:
    """A fixed script of requests covering every hook point, normalised for comparison."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    steps = []
    with httpx.Client(base_url=base, timeout=10) as http:

        def record(response):
            try:
                body = response.json()
            except ValueError:
                body = response.text
            if isinstance(body, dict) and "updated_at" in body:
                # the instant varies run to run; its order against created_at and now does not
                updated, created = instant(body["updated_at"]), instant(body.get("created_at"))
                body = dict(
                    body,
                    updated_at=(updated >= created, updated <= datetime.now(UTC))
                    if updated and created
                    else body["updated_at"],
                )
            steps.append(
                (
                    response.status_code,
                    response.headers.get("content-type"),
                    response.headers.get("www-authenticate"),
                    response.headers.get("allow"),
                    response.headers.get("cache-control"),
                    json.dumps(body, sort_keys=True),
                    response.content.startswith(b"\xef\xbb\xbf"),  # httpx's json() skips a byte order mark
                    len(re.findall(rb'"status"\s*:', response.content)),  # json keeps one of two members
                )
            )

        for group_id in ids:
            record(http.post(f"/ad_groups/{group_id}/pause", headers=auth))
            record(http.post(f"/ad_groups/{group_id}/unpause", headers=auth))
            for version in schemas.versions():
                record(
                    http.post(f"/ad_groups/{group_id}/unpause", headers={**auth, "Api-Version-Date": version})
                )
        first = ids[0]
        for headers in (
            {},
            {"Authorization": "Bearer wrong"},
            {"Authorization": TOKEN},
            {**auth, "Api-Version-Date": "1999-01-01"},
            {**auth, "Api-Version-Date": "2026-06-20-9"},
        ):
            record(http.post(f"/ad_groups/{first}/unpause", headers=headers))
        record(http.post(f"/ad_groups/{first}/unpause", headers={"Authorization": f"Bearer {TOKEN.upper()}"}))
        record(
            http.post(
                f"/ad_groups/{first}/unpause",
                headers={"Authorization": f"Bearer {TOKEN}\xa0".encode("latin-1")},
            )
        )
        record(http.post(f"/ad_groups/{first}/unpause?foo=bar", headers=auth))
        # refusals at a paused group, then its status: a refusal must have changed nothing
        for refused in ({"Authorization": "Bearer wrong"}, {**auth, "Api-Version-Date": "1999-01-01"}):
            http.post(f"/ad_groups/{first}/pause", headers=auth)
            http.post(f"/ad_groups/{first}/unpause", headers=refused)
            record(http.get(f"/ad_groups/{first}", headers=auth))
        # an activation moves updated_at past the pause's
        paused = http.post(f"/ad_groups/{first}/pause", headers=auth).json()
        time.sleep(0.01)
        activated = http.post(f"/ad_groups/{first}/unpause", headers=auth).json()
        steps.append(
            (
                "activation moves updated_at",
                instant(activated["updated_at"]) > instant(paused["updated_at"]),
            )
        )
        # what else a request reaches and writes: a near-miss id, a body naming fields, other identities
        record(http.post(f"/ad_groups/{first.swapcase()}/unpause", headers=auth))
        record(http.post(f"/ad_groups/{first}/pause", headers=auth))
        record(http.post(f"/ad_groups/{first}/unpause", headers=auth, content=b'{"title": "assigned"}'))
        record(http.get(f"/ad_groups/{first}", headers=auth))
        peer = {"Authorization": f"Bearer {derived_token(TOKEN, PEER)}"}
        read_only = {"Authorization": f"Bearer {derived_token(TOKEN, READ_ONLY)}"}
        foreign = build_foreign(0)[0].id
        for headers, path in ((peer, f"/ad_groups/{first}"), (auth, f"/ad_groups/{foreign}")):
            record(http.get(path, headers=headers))
            record(http.post(f"{path}/pause", headers=headers))
        record(http.post(f"/ad_groups/{first}/pause", headers=auth))
        record(http.post(f"/ad_groups/{first}/unpause", headers=read_only))
        record(http.get(f"/ad_groups/{first}", headers=auth))
        # an Idempotency-Key: unauthenticated, first, retried after a pause, with another version, another caller
        keyed = {"Idempotency-Key": "transcript-key"}
        record(http.post(f"/ad_groups/{first}/unpause", headers=keyed))
        record(http.post(f"/ad_groups/{first}/unpause", headers={**auth, **keyed}))
        http.post(f"/ad_groups/{first}/pause", headers=auth)
        record(http.post(f"/ad_groups/{first}/unpause", headers={**auth, **keyed}))
        record(http.get(f"/ad_groups/{first}", headers=auth))
        record(
            http.post(
                f"/ad_groups/{first}/unpause", headers={**auth, **keyed, "Api-Version-Date": "2026-06-20"}
            )
        )
        record(http.post(f"/ad_groups/{first}/unpause", headers={**peer, **keyed}))
        record(http.post("/ad_groups/adgrp_unknown/unpause", headers=auth))
        # an unpause of one group, and another paused group's status after it
        http.post(f"/ad_groups/{ids[-1]}/pause", headers=auth)
        http.post(f"/ad_groups/{first}/pause", headers=auth)
        http.post(f"/ad_groups/{first}/unpause", headers=auth)
        record(http.get(f"/ad_groups/{ids[-1]}", headers=auth))
        record(http.post("/ad_groups/" + "x" * 300 + "/unpause", headers=auth))
        record(http.get(f"/ad_groups/{first}/unpause", headers=auth))
        record(http.post(f"/ad_groups/{first}/unpause", headers=auth, content=b"{}"))
        http.post(f"/ad_groups/{first}/pause", headers=auth)
        with ThreadPoolExecutor(4) as pool:
            storm = list(
                pool.map(
                    lambda _: http.post(f"/ad_groups/{first}/unpause", headers=auth).status_code, range(4)
                )
            )
        steps.append(("storm", sorted(storm)))
        # two pauses in a row, then an unpause: the sequence only the state machine explores
        for action in ("pause", "pause", "unpause"):
            record(http.post(f"/ad_groups/{first}/{action}", headers=auth))
    return steps


@pytest.fixture(scope="module")
def fresh_mock():
    """``fresh_mock()``: a mock in its first state, so no transcript starts from what another
    fault's left; all stopped together at the end (each stop waits out a tick of its loop)."""
    started: list[MockServer] = []

    def start() -> MockServer:
        started.append(MockServer(TOKEN, seed=0).start())
        return started[-1]

    yield start
    for server in started:
        server.server.should_exit = True
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def correct_transcript(fresh_mock) -> list:
    server = fresh_mock()
    return transcript(server.url, [group.id for group in server.api.dataset])


@pytest.mark.parametrize("fault", list(CATALOGUE))
def test_every_fault_changes_the_response(fresh_mock, correct_transcript, fault):
    server = fresh_mock()
    broken = transcript(f"{server.url}/__faults/{fault}", [group.id for group in server.api.dataset])
    assert broken != correct_transcript, f"{fault}: {CATALOGUE[fault].description} made no visible difference"


@pytest.mark.subprocess
@pytest.mark.mutation
def test_suites_pass_on_the_clean_mock(fork_servers):
    (clean,) = mutation.evaluate([None], servers=fork_servers)
    assert clean.detected, f"the clean mock fails the suites: {clean.caught}"


SHARDS = 8  # the mutation score in shards: xdist spreads the suite runs (one per fault) over the cores


@pytest.mark.parametrize("profile", ["default", "conflict"])
@pytest.mark.parametrize("shard", range(SHARDS))
@pytest.mark.subprocess
@pytest.mark.mutation
def test_suites_catch_every_fault(shard, profile, fork_servers):
    """The mutation score: every fault caught, by every rule it is documented to break, whether
    the server reads a state conflict as 200 (default) or as 409 (conflict). Under conflict a fault
    that is nothing but that reading (a second unpause answering 409) does not apply."""
    faults = sorted(CATALOGUE)[shard::SHARDS]
    # each fault's run narrowed to the tests that judge its rules, whole where they miss it
    verdicts = mutation.evaluate(faults, profile=profile, by_rule=True, servers=fork_servers)
    missed = [
        (v.fault, v.expected, v.caught, v.exit_code) for v in verdicts if v.applicable and not v.detected
    ]
    assert missed == [], (
        f"{profile}: faults not caught by the rules they break (fault, expected, caught): {missed}"
    )
    if profile == "default":
        assert all(v.applicable for v in verdicts)


@pytest.mark.subprocess
@pytest.mark.mutation
def test_only_the_conflict_reading_itself_is_not_applicable_under_conflict(fork_servers):
    (verdict,) = mutation.evaluate(
        ["second-unpause-409"], profile="conflict", by_rule=True, servers=fork_servers
    )
    assert not verdict.applicable
    assert [f for f in CATALOGUE if set(CATALOGUE[f].rules) <= {"BEH-IDEMPOTENT"}] == ["second-unpause-409"]


def test_every_profile_names_real_rules_for_what_it_excuses():
    catalogue = rules.catalogue()
    for profile in profiles.PROFILES:
        unknown = (set(profile.advisory) | set(profile.unjudgeable)) - set(catalogue)
        assert not unknown, f"{profile.name}: not in schemas/rules.yaml: {unknown}"


@pytest.mark.subprocess
@pytest.mark.mutation
def test_a_rule_excused_by_its_profile_counts_only_where_no_test_judged_it(fork_servers):
    """405-without-allow under strict-requests (no 405 at all): not applicable, as the run shows no
    test judged ERR-ALLOW. Under the default mock, where 405s come, the same fault is caught, and
    without the profile's declaration nothing is excused, whatever the run judged."""
    (strict,) = mutation.evaluate(
        ["405-without-allow"], profile="strict-requests", by_rule=True, servers=fork_servers
    )
    assert strict.unjudgeable == ["ERR-ALLOW"]
    assert not strict.applicable
    (default,) = mutation.evaluate(["405-without-allow"], by_rule=True, servers=fork_servers)
    assert default.unjudgeable == []
    assert default.applicable
    assert default.detected, default
    (rejected,) = mutation.evaluate(
        ["rejected-activated"], profile="strict-requests", by_rule=True, servers=fork_servers
    )
    assert rejected.unjudgeable == []  # strict-requests has a read endpoint: BEH-REJECTED-STAYS is judged
    assert rejected.detected, rejected


@pytest.mark.subprocess
@pytest.mark.mutation
def test_a_forked_run_reaches_the_verdict_a_fresh_one_does():
    """The fork server's runs (the mutation self-test's) judge as a fresh interpreter does: the
    same exit status and rules, on a fault and on the clean mock, one server for both."""
    with ForkServers(mutation.ROOT) as servers:
        forked = mutation.run_suites("ctr-as-percent", [], servers=servers)
        clean = mutation.run_suites(None, [], servers=servers)
    fresh = mutation.run_suites("ctr-as-percent", [])
    assert (forked.exit_code, forked.caught) == (fresh.exit_code, fresh.caught) == (1, ["INV-CTR"])
    assert clean.detected, clean
